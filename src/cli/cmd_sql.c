/*
 * cmd_sql.c — `lakehouse sql "SELECT ..." [--format table|csv|json|ndjson]
 *             [--limit N] [--timeout MS] [--data DIR | --store URL] [--config FILE]`.
 *
 * Reads the store directly through an SQL engine (src/sql/sql.h), so it
 * works with or without a running daemon. The table format is psql-like:
 * a header, a separator, numbers right-aligned, NULL shown as "NULL", and a
 * "(N rows)" footer. Errors are one line: "lakehouse: sql: <message>".
 */
#include "cli.h"
#include "sql/sql.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: lakehouse sql \"SELECT ...\" [--format table|csv|json|ndjson] [--limit N]\n"
    "                     [--timeout MS] [--data DIR | --store URL] [--config FILE]\n"
    "\n"
    "Runs one read-only SQL statement (DuckDB dialect) over the catalog's\n"
    "datasets: each dataset is a table named after it (current version);\n"
    "\"name@N\" is version N. See docs/sql.md.\n"
    "\n"
    "  --format F      table (default), csv, json or ndjson\n"
    "  --limit N       at most N rows (default: all)\n"
    "  --timeout MS    query time limit (default 30000)\n"
    "  --data DIR      local data directory (default $LAKEHOUSE_DATA or ./lakehouse-data)\n"
    "  --store URL     s3://bucket/prefix\n"
    "  --config FILE   JSON file naming extra buckets\n";

struct table {
    const struct lh_sql_column *cols;
    size_t ncols;
    char **names;
    char ***cells; /* rows x cols */
    bool *right;
    size_t nrows, cap;
    bool oom;
};

static char *cell_text(const struct lh_sql_value *v)
{
    char t[48];
    switch (v->kind) {
    case LH_SQL_NULL: return strdup("NULL");
    case LH_SQL_BOOL: return strdup(v->i ? "true" : "false");
    case LH_SQL_INT: snprintf(t, sizeof t, "%" PRId64, v->i); return strdup(t);
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
        static const char hx[] = "0123456789abcdef";
        const uint8_t *p = v->p;
        s[0] = '\\', s[1] = 'x';
        for (size_t i = 0; i < v->n; i++)
            s[2 + 2 * i] = hx[p[i] >> 4], s[3 + 2 * i] = hx[p[i] & 15];
        s[2 + 2 * v->n] = '\0';
        return s;
    }
    default: {
        char *s = malloc(v->n + 1);
        if (!s)
            return NULL;
        const char *p = v->p;
        for (size_t i = 0; i < v->n; i++) /* keep one cell on one line */
            s[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
        s[v->n] = '\0';
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
    if (t->nrows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        char ***nr = realloc(t->cells, nc * sizeof *nr);
        if (!nr)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        t->cells = nr;
        t->cap = nc;
    }
    char **row = calloc(n + 1, sizeof *row);
    if (!row)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    t->cells[t->nrows++] = row;
    for (size_t i = 0; i < n; i++) {
        if (!(row[i] = cell_text(&v[i])))
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        if (v[i].kind == LH_SQL_INT || v[i].kind == LH_SQL_REAL || v[i].kind == LH_SQL_NUMBER)
            t->right[i] = true;
    }
    return LH_OK;
}

/* Display width: UTF-8 code points. */
static int width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(int n)
{
    for (; n > 0; n--)
        fputc(' ', stdout);
}

static void tbl_print(const struct table *t, bool truncated)
{
    int *w = calloc(t->ncols + 1, sizeof *w);
    if (!w)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = width(t->names[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            int k = width(t->cells[r][c]);
            w[c] = k > w[c] ? k : w[c];
        }
    }
    for (size_t c = 0; c < t->ncols; c++) { /* header centred like psql */
        int k = width(t->names[c]), l = (w[c] - k) / 2;
        fputs(c ? "| " : " ", stdout);
        pad(l);
        fputs(t->names[c], stdout);
        pad(w[c] - k - l);
        fputs(c + 1 < t->ncols ? " " : "\n", stdout);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        fputs(c ? "+" : "", stdout);
        for (int k = 0; k < w[c] + 2; k++)
            fputc('-', stdout);
    }
    fputc('\n', stdout);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r][c];
            int k = width(v);
            fputs(c ? "| " : " ", stdout);
            if (t->right[c])
                pad(w[c] - k);
            fputs(v, stdout);
            if (c + 1 < t->ncols) {
                if (!t->right[c])
                    pad(w[c] - k);
                fputc(' ', stdout);
            }
        }
        fputc('\n', stdout);
    }
    printf("(%zu row%s%s)\n", t->nrows, t->nrows == 1 ? "" : "s",
           truncated ? ", truncated by --limit" : "");
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
}

int lh_cmd_sql(int argc, char **argv)
{
    const char *data = NULL, *store_url = NULL, *config = NULL, *sql = NULL, *format = "table";
    const char *limit_s = NULL, *timeout_s = NULL;
    if (lh_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--data") == 0      ? &data
                            : strcmp(a, "--store") == 0   ? &store_url
                            : strcmp(a, "--config") == 0  ? &config
                            : strcmp(a, "--format") == 0  ? &format
                            : strcmp(a, "--limit") == 0   ? &limit_s
                            : strcmp(a, "--timeout") == 0 ? &timeout_s
                                                          : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                lh_cli_error("sql: %s needs a value", a);
                return 2;
            }
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            lh_cli_error("sql: unknown option '%s' (see 'lakehouse sql --help')", a);
            return 2;
        } else if (!sql) {
            sql = a;
        } else {
            lh_cli_error("sql: give the statement as one argument (quote it)");
            return 2;
        }
    }
    if (!sql) {
        lh_cli_error("sql: missing statement (see 'lakehouse sql --help')");
        return 2;
    }
    if (data && store_url) {
        lh_cli_error("sql: give --data or --store, not both");
        return 2;
    }
    enum lh_sql_format fmt = LH_SQL_FORMAT_JSON;
    bool table = strcmp(format, "table") == 0;
    if (!table && !lh_sql_format_parse(format, &fmt)) {
        lh_cli_error("sql: unknown format '%s' (table, csv, json or ndjson)", format);
        return 2;
    }
    int64_t limit = 0, timeout = 0;
    if (limit_s && (!lh_parse_i64(limit_s, &limit) || limit <= 0)) {
        lh_cli_error("sql: --limit needs a positive number");
        return 2;
    }
    if (timeout_s && (!lh_parse_i64(timeout_s, &timeout) || timeout <= 0 || timeout > 86400000)) {
        lh_cli_error("sql: --timeout needs milliseconds (1..86400000)");
        return 2;
    }
    const char *root = store_url ? store_url : data ? data : getenv("LAKEHOUSE_DATA");
    if (!root || !*root)
        root = "./lakehouse-data";
    struct stat sb;
    if (strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("sql: data directory %s does not exist", root);
        return 1;
    }
    struct lh_sql_options o = {.timeout_ms = (uint32_t)timeout,
                               .max_rows = UINT64_MAX / 2,
                               .max_output = SIZE_MAX / 4};
    struct lh_sql_engine *e = NULL;
    struct lh_error err;
    int rc = 1;
    struct lh_buf out;
    lh_buf_init(&out, 0);
    struct table t = {0};
    if (lh_sql_engine_open(store_url ? store_url : data, config, &o, &e, &err) != LH_OK) {
        lh_cli_error("sql: %s", err.msg);
        goto done;
    }
    if (table) {
        struct lh_sql_sink sink = {.ctx = &t, .columns = tbl_columns, .row = tbl_row};
        struct lh_sql_result_info info;
        if (lh_sql_run(e, sql, (uint64_t)limit, &sink, &info, &err) != LH_OK) {
            lh_cli_error("sql: %s", err.msg);
            goto done;
        }
        tbl_print(&t, info.truncated);
    } else {
        if (lh_sql_execute(e, sql, (uint64_t)limit, fmt, &out, &err) != LH_OK) {
            lh_cli_error("sql: %s", err.msg);
            goto done;
        }
        fwrite(out.data, 1, out.len, stdout);
        if (fmt == LH_SQL_FORMAT_JSON)
            fputc('\n', stdout);
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    tbl_free(&t);
    lh_buf_free(&out);
    lh_sql_engine_destroy(e);
    return rc;
}
