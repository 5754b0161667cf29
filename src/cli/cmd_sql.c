/*
 * cmd_sql.c — `lakehouse sql`: read-only DuckDB SQL over the store's
 * datasets (src/sql/sql.h, docs/sql.md), without needing a daemon.
 *
 * Where the statements come from: the argument; `-f FILE`; standard input
 * when it is not a terminal; else an interactive prompt (libedit: line
 * editing, history in ~/.lakehouse_sql_history). File and stdin text is
 * split into statements at `;` outside quotes, dollar quotes and comments;
 * they run one after the other and the first error stops (exit 1). At the
 * prompt a statement ends with `;`, an error is printed and the session goes
 * on; `.quit`, `\q` or end of input leaves.
 *
 * Output formats: table (psql-like: centred header, numbers right-aligned,
 * widths measured in terminal columns so wide characters line up, NULL as
 * "NULL", a "(N rows)" footer), csv, json, ndjson (lh_sql_execute) and
 * markdown (a GitHub table, numbers right-aligned). Errors are one line:
 * "lakehouse: sql: <message>".
 */
#include "cli.h"
#include "sql/sql.h"

#include <editline/readline.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *usage =
    "usage: lakehouse sql [\"SELECT ...\" | -f FILE] [--format table|csv|json|ndjson|markdown]\n"
    "                     [--limit N] [--timeout MS] [--memory-limit SIZE] [--threads N]\n"
    "                     [--data DIR | --store URL] [--config FILE]\n"
    "\n"
    "Runs read-only SQL (DuckDB's dialect) over the catalog's datasets: each\n"
    "dataset is a table named after it (current version); \"name@N\" is version N;\n"
    "SHOW TABLES, DESCRIBE name and SUMMARIZE name work. With no statement and\n"
    "no -f, statements are read from standard input, or from a prompt when it is\n"
    "a terminal (end each with ';', leave with .quit). See docs/sql.md.\n"
    "\n"
    "  -f FILE             run the statements of FILE (stops at the first error)\n"
    "  --format F          table (default), csv, json, ndjson or markdown\n"
    "  --json              the same as --format json\n"
    "  --limit N           at most N rows per statement (default: all)\n"
    "  --timeout MS        time limit per statement (default 30000)\n"
    "  --memory-limit SIZE DuckDB's memory limit (default 1GiB)\n"
    "  --threads N         DuckDB worker threads (default 2)\n"
    "  --data DIR          local data directory (default $LAKEHOUSE_DATA or ./lakehouse-data)\n"
    "  --store URL         s3://bucket/prefix\n"
    "  --config FILE       JSON file naming extra buckets\n"
    "\n"
    "SQL needs DuckDB's libduckdb.so (scripts/install-deps.sh installs it;\n"
    "LAKEHOUSE_DUCKDB points at another).\n";

enum out_format { OUT_TABLE, OUT_MARKDOWN, OUT_ENGINE };

/* ------------------------------------------------------------------ display width */

/* Terminal columns of code point c: 0 for combining marks and zero-width
 * characters, 2 for East Asian wide and fullwidth forms and emoji. */
static int cp_width(uint32_t c)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},   {0x064B, 0x065F},
        {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},   {0x200B, 0x200F},
        {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xE0100, 0xE01EF},
    };
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
        {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x26AA, 0x26AB},
        {0x26BD, 0x26BE},   {0x26F5, 0x26F5},   {0x2705, 0x2705},   {0x2728, 0x2728},
        {0x274C, 0x274C},   {0x2753, 0x2755},   {0x2795, 0x2797},   {0x2B1B, 0x2B1C},
        {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
        {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
        {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},
        {0x16FE0, 0x16FE4}, {0x17000, 0x18AFF}, {0x1B000, 0x1B16F}, {0x1F004, 0x1F004},
        {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251},
        {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F900, 0x1F9FF},
        {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (c >= zero[i][0] && c <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (c >= wide[i][0] && c <= wide[i][1])
            return 2;
    return 1;
}

/* Display width of UTF-8 text (an invalid byte counts one column). */
static int width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int w = 0;
    while (*p) {
        uint32_t c = *p;
        int len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (len > 1) {
            c &= 0x3Fu >> (len - 1);
            for (int i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80) {
                    len = 1, c = '?';
                    break;
                }
                c = c << 6 | (p[i] & 0x3F);
            }
        }
        w += cp_width(c);
        p += len;
    }
    return w;
}

/* ------------------------------------------------------------------ table / markdown */

struct table {
    char **names;
    char ***cells; /* rows x cols */
    bool *right;
    size_t ncols, nrows, cap;
    bool markdown;
};

static char *cell_text(const struct lh_sql_value *v, bool markdown)
{
    char t[48];
    switch (v->kind) {
    case LH_SQL_NULL:
        return strdup("NULL");
    case LH_SQL_BOOL:
        return strdup(v->i ? "true" : "false");
    case LH_SQL_INT:
        snprintf(t, sizeof t, "%" PRId64, v->i);
        return strdup(t);
    case LH_SQL_REAL:
        for (int p = 15; p <= 17; p++) {
            snprintf(t, sizeof t, "%.*g", p, v->d);
            if (strtod(t, NULL) == v->d)
                break;
        }
        return strdup(t);
    case LH_SQL_BLOB: {
        char *s = malloc(v->n * 2 + 3);
        if (!s)
            return NULL;
        s[0] = '\\', s[1] = 'x';
        lh_hex_encode(v->p, v->n, s + 2, v->n * 2 + 1);
        return s;
    }
    default: {
        /* one cell on one line; markdown escapes its column separator */
        const char *p = v->p;
        size_t extra = 0;
        for (size_t i = 0; markdown && i < v->n; i++)
            extra += p[i] == '|';
        char *s = malloc(v->n + extra + 1);
        if (!s)
            return NULL;
        size_t k = 0;
        for (size_t i = 0; i < v->n; i++) {
            if (markdown && p[i] == '|')
                s[k++] = '\\';
            s[k++] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
        }
        s[k] = '\0';
        return s;
    }
    }
}

static enum lh_status tbl_columns(void *ctx, const struct lh_sql_column *cols, size_t n,
                                  struct lh_error *err)
{
    struct table *t = ctx;
    t->ncols = n;
    t->names = calloc(n + 1, sizeof *t->names);
    t->right = calloc(n + 1, sizeof *t->right);
    if (!t->names || !t->right)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(t->names[i] = strdup(cols[i].name)))
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
    return LH_OK;
}

static enum lh_status tbl_row(void *ctx, const struct lh_sql_value *v, size_t n,
                              struct lh_error *err)
{
    struct table *t = ctx;
    char ***nr = lh_array_grow(t->cells, &t->cap, t->nrows, sizeof *nr, 64);
    if (!nr)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    t->cells = nr;
    char **row = calloc(n + 1, sizeof *row);
    if (!row)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    t->cells[t->nrows++] = row;
    for (size_t i = 0; i < n; i++) {
        if (!(row[i] = cell_text(&v[i], t->markdown)))
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        if (v[i].kind == LH_SQL_INT || v[i].kind == LH_SQL_REAL || v[i].kind == LH_SQL_NUMBER)
            t->right[i] = true;
    }
    return LH_OK;
}

static void pad(int n, FILE *f)
{
    for (; n > 0; n--)
        fputc(' ', f);
}

static int *col_widths(const struct table *t, int min)
{
    int *w = calloc(t->ncols + 1, sizeof *w);
    for (size_t c = 0; w && c < t->ncols; c++) {
        w[c] = width(t->names[c]);
        w[c] = w[c] < min ? min : w[c];
        for (size_t r = 0; r < t->nrows; r++) {
            int k = width(t->cells[r][c]);
            w[c] = k > w[c] ? k : w[c];
        }
    }
    return w;
}

static void tbl_print(const struct table *t, bool truncated, FILE *f)
{
    int *w = col_widths(t, 0);
    if (!w)
        return;
    for (size_t c = 0; c < t->ncols; c++) { /* header centred like psql */
        int k = width(t->names[c]), l = (w[c] - k) / 2;
        fputs(c ? "| " : " ", f);
        pad(l, f);
        fputs(t->names[c], f);
        if (c + 1 < t->ncols) { /* no trailing blanks */
            pad(w[c] - k - l, f);
            fputc(' ', f);
        }
    }
    if (t->ncols)
        fputc('\n', f);
    for (size_t c = 0; c < t->ncols; c++) {
        fputs(c ? "+" : "", f);
        for (int k = 0; k < w[c] + 2; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r][c];
            int k = width(v);
            fputs(c ? "| " : " ", f);
            if (t->right[c])
                pad(w[c] - k, f);
            fputs(v, f);
            if (c + 1 < t->ncols) {
                if (!t->right[c])
                    pad(w[c] - k, f);
                fputc(' ', f);
            }
        }
        fputc('\n', f);
    }
    fprintf(f, "(%zu row%s%s)\n", t->nrows, t->nrows == 1 ? "" : "s",
            truncated ? ", truncated by --limit" : "");
    free(w);
}

static void md_print(const struct table *t, FILE *f)
{
    int *w = col_widths(t, 3);
    if (!w)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        fputs("| ", f);
        fputs(t->names[c], f);
        pad(w[c] - width(t->names[c]), f);
        fputc(' ', f);
    }
    fputs("|\n", f);
    for (size_t c = 0; c < t->ncols; c++) {
        fputs("| ", f);
        for (int k = 0; k < w[c] - (t->right[c] ? 1 : 0); k++)
            fputc('-', f);
        fputs(t->right[c] ? ": " : " ", f);
    }
    fputs("|\n", f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r][c];
            int k = width(v);
            fputs("| ", f);
            if (t->right[c])
                pad(w[c] - k, f);
            fputs(v, f);
            if (!t->right[c])
                pad(w[c] - k, f);
            fputc(' ', f);
        }
        fputs("|\n", f);
    }
    free(w);
}

static void tbl_free(struct table *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            free(t->cells[r][c]);
        free(t->cells[r]);
    }
    for (size_t c = 0; t->names && c < t->ncols; c++)
        free(t->names[c]);
    free(t->names);
    free(t->cells);
    free(t->right);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ statements */

struct session {
    struct lh_sql_engine *e;
    enum out_format out;
    enum lh_sql_format fmt;
    uint64_t limit;
    unsigned done; /* statements printed, for the blank line between tables */
};

/* Runs one statement and prints its result; 0, or 1 after printing the error. */
static int run_one(struct session *ss, const char *sql)
{
    struct lh_error err;
    int rc = 0;
    if (ss->out == OUT_ENGINE) {
        struct lh_buf out;
        lh_buf_init(&out, 0);
        if (lh_sql_execute(ss->e, sql, ss->limit, ss->fmt, &out, &err) != LH_OK) {
            lh_cli_error("sql: %s", err.msg);
            rc = 1;
        } else {
            fwrite(out.data, 1, out.len, stdout);
            if (ss->fmt == LH_SQL_FORMAT_JSON)
                fputc('\n', stdout);
        }
        lh_buf_reset(&out);
        return rc;
    }
    struct table t = {.markdown = ss->out == OUT_MARKDOWN};
    struct lh_sql_sink sink = {.ctx = &t, .columns = tbl_columns, .row = tbl_row};
    struct lh_sql_result_info info;
    if (lh_sql_run(ss->e, sql, ss->limit, &sink, &info, &err) != LH_OK) {
        lh_cli_error("sql: %s", err.msg);
        rc = 1;
    } else {
        if (ss->done++)
            fputc('\n', stdout);
        if (ss->out == OUT_MARKDOWN)
            md_print(&t, stdout);
        else
            tbl_print(&t, info.truncated, stdout);
    }
    tbl_free(&t);
    return rc;
}

/* Length of the first statement of s up to and including its `;` outside
 * quotes ('', "", $tag$...$tag$) and comments; *complete says whether a `;`
 * ended it (else it runs to the end of s). */
static size_t stmt_len(const char *s, bool *complete)
{
    size_t i = 0;
    *complete = false;
    while (s[i]) {
        char c = s[i];
        if (c == ';') {
            *complete = true;
            return i + 1;
        }
        if (c == '\'' || c == '"') {
            for (i++; s[i]; i++)
                if (s[i] == c) {
                    if (s[i + 1] == c) /* doubled quote */
                        i++;
                    else
                        break;
                }
            if (s[i])
                i++;
        } else if (c == '-' && s[i + 1] == '-') {
            while (s[i] && s[i] != '\n')
                i++;
        } else if (c == '/' && s[i + 1] == '*') {
            const char *end = strstr(s + i + 2, "*/");
            i = end ? (size_t)(end - s) + 2 : strlen(s);
        } else if (c == '$') {
            size_t k = i + 1;
            while (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z'))
                k++;
            if (s[k] != '$') {
                i++;
                continue;
            }
            size_t tag = k - i + 1;
            const char *end = s + k + 1;
            while ((end = strchr(end, '$')) && strncmp(end, s + i, tag) != 0)
                end++;
            i = end ? (size_t)(end - s) + tag : strlen(s);
        } else {
            i++;
        }
    }
    return i;
}

/* Whether s holds nothing but blanks, semicolons and comments. */
static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i++;
        } else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != ';') {
            return false;
        }
    }
    return true;
}

/* Runs every statement of text; stops at the first error (1). */
static int run_text(struct session *ss, const char *text)
{
    const char *p = text;
    while (*p) {
        bool complete;
        size_t n = stmt_len(p, &complete);
        if (!blank(p, n)) {
            char *one = strndup(p, n);
            if (!one) {
                lh_cli_error("sql: out of memory");
                return 1;
            }
            int rc = run_one(ss, one);
            free(one);
            if (rc)
                return rc;
        }
        p += n;
    }
    return 0;
}

static char *read_stream(FILE *f, const char *what)
{
    struct lh_buf b;
    lh_buf_init(&b, 64u << 20);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        lh_buf_append(&b, chunk, n);
    if (ferror(f) || !lh_buf_ok(&b)) {
        lh_cli_error("sql: cannot read %s%s", what, ferror(f) ? "" : " (over 64 MiB)");
        lh_buf_reset(&b);
        return NULL;
    }
    lh_buf_cstr(&b);
    size_t len;
    char *s = (char *)lh_buf_take(&b, &len);
    return s ? s : strdup("");
}

/* The interactive prompt: statements end with ';'; errors do not end it. */
static int prompt(struct session *ss)
{
    char hist[1024] = "";
    const char *home = getenv("HOME");
    if (home && *home) {
        snprintf(hist, sizeof hist, "%s/.lakehouse_sql_history", home);
        read_history(hist);
    }
    const char *ver = lh_sql_duckdb_version(&(struct lh_error){0});
    printf("lakehouse sql (DuckDB %s). End statements with ';'. .quit leaves, SHOW TABLES lists "
           "the datasets.\n",
           ver ? ver : "?");
    struct lh_buf acc;
    lh_buf_init(&acc, 16u << 20);
    for (;;) {
        char *line = readline(acc.len ? "      -> " : "lakehouse> ");
        if (!line) {
            fputc('\n', stdout);
            break;
        }
        const char *t = line + strspn(line, " \t");
        if (acc.len == 0 && (strncmp(t, ".quit", 5) == 0 || strncmp(t, ".exit", 5) == 0 ||
                             strncmp(t, "\\q", 2) == 0)) {
            free(line);
            break;
        }
        if (*t)
            add_history(line);
        if (acc.len)
            lh_buf_append_u8(&acc, '\n');
        lh_buf_append_str(&acc, line);
        free(line);
        lh_buf_cstr(&acc);
        if (!lh_buf_ok(&acc)) {
            lh_cli_error("sql: statement over 16 MiB, discarded");
            lh_buf_clear(&acc);
            continue;
        }
        /* run every complete statement; keep an incomplete tail */
        const char *p = (const char *)acc.data;
        for (;;) {
            bool complete;
            size_t n = stmt_len(p, &complete);
            if (!complete)
                break;
            if (!blank(p, n)) {
                char *one = strndup(p, n);
                if (one)
                    (void)run_one(ss, one);
                free(one);
                fflush(stdout);
            }
            p += n;
        }
        size_t rest = strlen(p);
        if (blank(p, rest))
            rest = 0;
        memmove(acc.data, p, rest);
        acc.len = rest;
    }
    lh_buf_reset(&acc);
    if (hist[0])
        write_history(hist);
    return 0;
}

int lh_cmd_sql(int argc, char **argv)
{
    struct lh_cli_store_args sa = {0};
    const char *sql = NULL, *format = "table";
    const char *limit_s = NULL, *timeout_s = NULL, *file = NULL, *mem_s = NULL, *threads_s = NULL;
    const struct lh_cli_opt opts[] = {{"--format", &format},     {"--limit", &limit_s},
                                      {"--timeout", &timeout_s}, {"--memory-limit", &mem_s},
                                      {"--threads", &threads_s}, {"-f", &file},
                                      {"--file", &file},         {NULL, NULL}};
    if (lh_cli_help(argc, argv, usage))
        return 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = lh_cli_opt_slot(opts, &sa, a);
        if (strcmp(a, "--json") == 0) {
            format = "json";
        } else if (slot) {
            if (i + 1 >= argc) {
                lh_cli_error("sql: %s needs a value", a);
                return 2;
            }
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            lh_cli_error("sql: unknown option '%s' (see 'lakehouse sql --help')", a);
            return 2;
        } else if (!sql) {
            sql = a;
        } else {
            lh_cli_error("sql: give the statement as one argument (quote it)");
            return 2;
        }
    }
    if (sql && file) {
        lh_cli_error("sql: give a statement or -f FILE, not both");
        return 2;
    }
    if (sa.data && sa.store_url) {
        lh_cli_error("sql: give --data or --store, not both");
        return 2;
    }
    struct session ss = {.out = OUT_ENGINE, .fmt = LH_SQL_FORMAT_JSON};
    if (strcmp(format, "table") == 0)
        ss.out = OUT_TABLE;
    else if (strcmp(format, "markdown") == 0)
        ss.out = OUT_MARKDOWN;
    else if (!lh_sql_format_parse(format, &ss.fmt)) {
        lh_cli_error("sql: unknown format '%s' (table, csv, json, ndjson or markdown)", format);
        return 2;
    }
    int64_t limit = 0, timeout = 0, threads = 0;
    uint64_t mem = 0;
    if (limit_s && (!lh_parse_i64(limit_s, &limit) || limit <= 0)) {
        lh_cli_error("sql: --limit needs a positive number");
        return 2;
    }
    if (timeout_s && (!lh_parse_i64(timeout_s, &timeout) || timeout <= 0 || timeout > 86400000)) {
        lh_cli_error("sql: --timeout needs milliseconds (1..86400000)");
        return 2;
    }
    if (mem_s && (!lh_parse_size(mem_s, &mem) || mem < (16u << 20))) {
        lh_cli_error("sql: --memory-limit needs a size of at least 16MiB (e.g. 2GiB)");
        return 2;
    }
    if (threads_s && (!lh_parse_i64(threads_s, &threads) || threads <= 0 || threads > 1024)) {
        lh_cli_error("sql: --threads needs a number from 1 to 1024");
        return 2;
    }
    ss.limit = (uint64_t)limit;
    const char *root = lh_cli_store_root(sa.store_url, sa.data, NULL, NULL);
    struct stat sb;
    if (strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("sql: data directory %s does not exist", root);
        return 1;
    }
    char *text = NULL;
    bool interactive = false;
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f) {
            lh_cli_error("sql: %s: %s", file, strerror(errno));
            return 1;
        }
        text = read_stream(f, file);
        fclose(f);
        if (!text)
            return 1;
    } else if (!sql) {
        if (isatty(STDIN_FILENO)) {
            interactive = true;
        } else if (!(text = read_stream(stdin, "standard input"))) {
            return 1;
        }
    }
    struct lh_sql_options o = {.timeout_ms = (uint32_t)timeout,
                               .max_rows = UINT64_MAX / 2,
                               .max_output = SIZE_MAX / 4,
                               .memory_limit = mem,
                               .threads = (unsigned)threads};
    struct lh_error err;
    int rc = 1;
    if (lh_sql_engine_open(root, sa.config, &o, &ss.e, &err) != LH_OK) {
        lh_cli_error("sql: %s", err.msg);
        goto done;
    }
    if (interactive)
        rc = prompt(&ss);
    else
        rc = sql ? run_one(&ss, sql) : run_text(&ss, text);
    if (fflush(stdout) != 0)
        rc = 1;
done:
    free(text);
    lh_sql_engine_destroy(ss.e);
    return rc;
}
