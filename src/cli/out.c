/*
 * out.c — output for people: aligned tables, times in UTC and in a
 * schedule's zone, and numbers a reader takes in at a glance.
 *
 * Nothing meant for people is cut when stdout is not a terminal: a table
 * piped into grep, less or a file carries every cell whole. On a terminal
 * only the last column of a table is shortened to the terminal's width
 * (ending in "..."), since a wrapped table cannot be read; `show` commands
 * and --json never shorten anything. Cells are single lines: a newline in
 * a cell (an error with its cause) is shown as a space.
 *
 * Single-threaded (the CLI's main thread).
 */
#include "cli.h"
#include "schedule/schedule.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int lh_cli_out_width(void)
{
    if (!isatty(STDOUT_FILENO))
        return 0;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int64_t v;
    if (c && lh_parse_i64(c, &v) && v > 0 && v < 100000)
        return (int)v;
    return 80;
}

struct lh_cli_table {
    size_t ncol, ncell, cap;
    const char *const *hdr;
    char **cells; /* row-major, each malloc'd */
    bool broken;
};

struct lh_cli_table *lh_cli_table_create(size_t ncol, const char *const *hdr)
{
    struct lh_cli_table *t = calloc(1, sizeof *t);
    if (t) {
        t->ncol = ncol;
        t->hdr = hdr;
    }
    return t;
}

void lh_cli_table_cell(struct lh_cli_table *t, const char *fmt, ...)
{
    if (!t || t->broken)
        return;
    char **cells = lh_array_grow(t->cells, &t->cap, t->ncell, sizeof *cells, 64);
    if (!cells) {
        t->broken = true;
        return;
    }
    t->cells = cells;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        t->broken = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    for (char *p = s; *p; p++) /* one line per row */
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    t->cells[t->ncell++] = s;
}

/* Display columns of a UTF-8 string (one per code point: good enough for
 * the ids, times and messages shown in tables). */
static size_t cols_of(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* The byte length of the first `cols` display columns of s. */
static size_t bytes_for(const char *s, size_t cols)
{
    size_t n = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == cols)
                break;
            n++;
        }
    }
    return i;
}

bool lh_cli_table_print(struct lh_cli_table *t, FILE *f)
{
    if (!t || t->broken) {
        lh_cli_error("out of memory");
        return false;
    }
    size_t nrow = t->ncell / t->ncol;
    size_t *w = calloc(t->ncol, sizeof *w);
    if (!w) {
        lh_cli_error("out of memory");
        return false;
    }
    for (size_t c = 0; c < t->ncol; c++) {
        w[c] = cols_of(t->hdr[c]);
        for (size_t r = 0; r < nrow; r++) {
            size_t l = cols_of(t->cells[r * t->ncol + c]);
            if (l > w[c])
                w[c] = l;
        }
    }
    int width = f == stdout ? lh_cli_out_width() : 0;
    size_t lead = 0;
    for (size_t c = 0; c + 1 < t->ncol; c++)
        lead += w[c] + 2;
    for (size_t r = 0; r <= nrow; r++) {
        for (size_t c = 0; c < t->ncol; c++) {
            const char *v = r == 0 ? t->hdr[c] : t->cells[(r - 1) * t->ncol + c];
            if (c + 1 < t->ncol) {
                fputs(v, f);
                for (size_t k = cols_of(v); k < w[c] + 2; k++)
                    fputc(' ', f);
                continue;
            }
            size_t room = width > 0 && (size_t)width > lead + 8 ? (size_t)width - lead : 0;
            if (room && cols_of(v) > room)
                fprintf(f, "%.*s...\n", (int)bytes_for(v, room - 3), v);
            else
                fprintf(f, "%s\n", v);
        }
    }
    free(w);
    return true;
}

void lh_cli_table_destroy(struct lh_cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncell; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void lh_cli_time_text(int64_t us, const char *tz_name, char *out, size_t cap)
{
    char utc[48];
    lh_time_format_iso(us - us % 1000000, utc, sizeof utc);
    const struct lh_tz *tz = NULL;
    struct lh_error err;
    if (!tz_name || !tz_name[0] || strcmp(tz_name, "UTC") == 0 ||
        lh_tz_load(tz_name, &tz, &err) != LH_OK) {
        snprintf(out, cap, "%s", utc);
        return;
    }
    struct lh_tz_local loc;
    int64_t secs = us / 1000000 - (us % 1000000 < 0 ? 1 : 0);
    lh_tz_to_local(tz, secs, &loc);
    char l[48];
    lh_time_format_iso(loc.local * 1000000, l, sizeof l); /* YYYY-MM-DDTHH:MM:SSZ */
    int32_t off = loc.offset < 0 ? -loc.offset : loc.offset;
    char offs[16];
    snprintf(offs, sizeof offs, "%c%02d:%02d", loc.offset < 0 ? '-' : '+', (int)(off / 3600),
             (int)(off % 3600 / 60));
    /* the local date only when it is not the UTC date */
    if (strncmp(l, utc, 10) == 0)
        snprintf(out, cap, "%s (%.8s%s %s)", utc, l + 11, offs, tz_name);
    else
        snprintf(out, cap, "%s (%.10s %.8s%s %s)", utc, l, l + 11, offs, tz_name);
}

void lh_cli_duration_text(double secs, char *out, size_t cap)
{
    if (secs < 0)
        secs = 0;
    if (secs < 60) {
        snprintf(out, cap, "%.1fs", secs);
        return;
    }
    uint64_t s = (uint64_t)(secs + 0.5);
    if (s < 3600)
        snprintf(out, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else
        snprintf(out, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
}
