/*
 * log.c — levelled logging to one stream, text or JSON lines.
 *
 * Each line goes out in one write(2), so concurrent threads never interleave.
 * Callers pass messages that are already redacted: this layer does not know
 * what a password looks like.
 */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum lh_log_level log_level = LH_LOG_INFO;
static bool log_json;
static FILE *log_stream;

void lh_log_set_level(enum lh_log_level lvl)
{
    log_level = lvl;
}

void lh_log_set_json(bool json)
{
    log_json = json;
}

void lh_log_set_stream(FILE *f)
{
    log_stream = f;
}

bool lh_log_enabled(enum lh_log_level lvl)
{
    return lvl >= log_level;
}

const char *lh_log_level_name(enum lh_log_level lvl)
{
    static const char *const names[] = {"debug", "info", "warn", "error"}; /* enum order */
    return (unsigned)lvl < sizeof names / sizeof names[0] ? names[lvl] : "error";
}

/* Appends s JSON-escaped to out[*o..cap-1], stopping short of the end. */
static void json_escape(char *out, size_t cap, size_t *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p && *o + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[(*o)++] = '\\';
            out[(*o)++] = (char)*p;
        } else if (*p < 0x20) {
            memcpy(out + *o, "\\u00", 4);
            out[*o + 4] = hex[*p >> 4];
            out[*o + 5] = hex[*p & 15];
            *o += 6;
        } else {
            out[(*o)++] = (char)*p;
        }
    }
}

/* One line, built on the stack and written with one write(2): no
 * allocation, and no lock of ours around the system call (the scheduler
 * logs every run it starts, from several workers at once). A write of a
 * whole line to a regular file, a pipe (up to PIPE_BUF) or a terminal does
 * not interleave with another thread's. */
void lh_log(enum lh_log_level lvl, const char *fmt, ...)
{
    if (!lh_log_enabled(lvl))
        return;
    char msg[2048];
    LH_VFORMAT(msg, fmt);
    char ts[40];
    lh_time_format_iso(lh_time_wall_us() / 1000 * 1000, ts, sizeof ts);

    char line[2 * sizeof msg + 128];
    size_t o;
    if (log_json) {
        int n = snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
                         lh_log_level_name(lvl));
        o = n > 0 ? (size_t)n : 0;
        json_escape(line, sizeof line - 4, &o, msg);
        memcpy(line + o, "\"}\n", 3);
        o += 3;
    } else {
        int n = snprintf(line, sizeof line, "%s %-5s %s\n", ts, lh_log_level_name(lvl), msg);
        o = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    }
    FILE *f = log_stream ? log_stream : stderr;
    int fd = fileno(f);
    if (fd < 0) {
        pthread_mutex_lock(&log_mu);
        fwrite(line, 1, o, f);
        fflush(f);
        pthread_mutex_unlock(&log_mu);
        return;
    }
    for (size_t w = 0; w < o;) {
        ssize_t r = write(fd, line + w, o - w);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* nowhere to report a failing log */
        w += (size_t)r;
    }
}
