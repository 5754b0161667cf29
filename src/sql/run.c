/*
 * run.c — one user statement on an engine, and the serialized results of
 * POST /api/sql and `lakehouse sql --format csv|json|ndjson`.
 *
 * A statement is prepared (one statement only: DuckDB refuses to prepare
 * several), its prepared type must be SELECT or EXPLAIN (DESCRIBE, SHOW and
 * SUMMARIZE are SELECTs to DuckDB) — the type DuckDB parsed, not the text —
 * and it runs inside a transaction that is always rolled back, so not even
 * EXPLAIN ANALYZE of something else leaves a trace. The watchdog is armed
 * with the time limit for prepare and execution; results stream chunk by
 * chunk and stop at the row limit (one row more tells "truncated") or the
 * byte limit.
 *
 * Threads: the engine's thread; DuckDB's own workers run the plan.
 */
#include "sql_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void watchdog_arm(struct lh_sql_engine *e, int64_t deadline_ns)
{
    pthread_mutex_lock(&e->mu);
    e->deadline_ns = deadline_ns;
    e->timed_out = false;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static bool watchdog_disarm(struct lh_sql_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->deadline_ns = 0;
    bool fired = e->timed_out;
    e->timed_out = false;
    pthread_mutex_unlock(&e->mu);
    return fired;
}

static bool timed_out(struct lh_sql_engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool t = e->timed_out;
    pthread_mutex_unlock(&e->mu);
    return t;
}

static enum lh_status internal_query(struct lh_sql_engine *e, const char *q)
{
    struct ddb_result r;
    memset(&r, 0, sizeof r);
    int rc = e->d->duckdb_query(e->con, q, &r);
    e->d->duckdb_destroy_result(&r);
    return rc == DDB_SUCCESS ? LH_OK : LH_E_INTERNAL;
}

/* A DuckDB error message as our one line: its first line, without the
 * "LINE 1: ..." caret context that follows. */
static enum lh_status ddb_error(struct lh_sql_engine *e, int type, const char *msg,
                                struct lh_error *err)
{
    if (timed_out(e) || type == DDB_ERR_INTERRUPT)
        return lh_error_set(err, LH_E_TIMEOUT, "query time limit of %u ms exceeded",
                            e->opt.timeout_ms);
    if (e->scan_err.status != LH_OK) {
        *err = e->scan_err;
        return err->status;
    }
    if (!msg)
        msg = "DuckDB failed without a message";
    size_t n = strcspn(msg, "\n");
    if (type == DDB_ERR_OUT_OF_MEMORY)
        return lh_error_set(err, LH_E_INVAL, "%.*s (the SQL memory limit is %" PRIu64 " MiB)",
                            (int)n, msg, e->opt.memory_limit >> 20);
    return lh_error_set(err, LH_E_INVAL, "%.*s", (int)n, msg);
}

/* Skips blanks and SQL comments. */
static const char *skip_blank(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

static bool keyword_at(const char *p, const char *kw)
{
    size_t n = strlen(kw);
    return strncasecmp(p, kw, n) == 0 && !(p[n] == '_' || (p[n] >= '0' && p[n] <= '9') ||
                                           ((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z'));
}

/* EXPLAIN is a query only when what it explains is one: EXPLAIN ANALYZE
 * (and its option-list form) runs the inner statement, whatever it is, so
 * it is refused; for plain EXPLAIN the inner statement is prepared on its
 * own and must be a SELECT by DuckDB's parse. */
static enum lh_status explain_check(struct lh_sql_engine *e, const char *sql, struct lh_error *err)
{
    const char *p = skip_blank(sql);
    if (!keyword_at(p, "EXPLAIN"))
        return lh_error_set(err, LH_E_INVAL,
                            "this EXPLAIN form is not allowed: write EXPLAIN SELECT ...");
    p = skip_blank(p + 7);
    if (keyword_at(p, "ANALYZE") || keyword_at(p, "ANALYSE") || *p == '(')
        return lh_error_set(err, LH_E_INVAL,
                            "EXPLAIN ANALYZE is not allowed (it runs the statement): use EXPLAIN "
                            "or run the query");
    ddb_prepared inner = NULL;
    int rc = e->d->duckdb_prepare(e->con, p, &inner);
    int type = rc == DDB_SUCCESS ? e->d->duckdb_prepared_statement_type(inner) : 0;
    e->d->duckdb_destroy_prepare(&inner);
    if (type != DDB_STMT_SELECT)
        return lh_error_set(err, LH_E_INVAL,
                            "only queries can be explained: lakehouse SQL is read-only");
    return LH_OK;
}

static size_t value_bytes(const struct lh_sql_value *v)
{
    return v->kind >= LH_SQL_NUMBER ? v->n + 2 : 8;
}

enum lh_status lh_sql_run(struct lh_sql_engine *e, const char *sql, uint64_t limit,
                          const struct lh_sql_sink *sink, struct lh_sql_result_info *info,
                          struct lh_error *err)
{
    const struct lh_ddb *d = e->d;
    int64_t t0 = lh_time_mono_ns();
    ddb_prepared st = NULL;
    struct ddb_result res;
    bool have_res = false, in_tx = false;
    struct lh_sql_column *cols = NULL;
    struct lh_sql_ctype *types = NULL;
    struct lh_sql_value *vals = NULL;
    size_t ncols = 0;
    struct lh_buf scratch;
    lh_buf_init(&scratch, 0);
    enum lh_status s = LH_OK;
    memset(info, 0, sizeof *info);
    memset(&res, 0, sizeof res);
    lh_error_clear(err);
    lh_error_clear(&e->scan_err);
    if (limit == 0 || limit > e->opt.max_rows)
        limit = e->opt.max_rows;
    size_t len = strlen(sql);
    if (len > e->opt.max_sql_length) {
        s = lh_error_set(err, LH_E_INVAL, "statement is %zu bytes, the limit is %zu", len,
                         e->opt.max_sql_length);
        goto out;
    }
    if (internal_query(e, "BEGIN TRANSACTION") != LH_OK) {
        s = lh_error_set(err, LH_E_INTERNAL, "duckdb: cannot begin a transaction");
        goto out;
    }
    in_tx = true;
    watchdog_arm(e, t0 + (int64_t)e->opt.timeout_ms * 1000000);
    if (d->duckdb_prepare(e->con, sql, &st) != DDB_SUCCESS) {
        s = ddb_error(e, 0, d->duckdb_prepare_error(st), err);
        goto out;
    }
    int type = d->duckdb_prepared_statement_type(st);
    if (type != DDB_STMT_SELECT && type != DDB_STMT_EXPLAIN) {
        s = lh_error_set(err, LH_E_INVAL,
                         "only queries are allowed (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, "
                         "EXPLAIN): lakehouse SQL is read-only");
        goto out;
    }
    if (type == DDB_STMT_EXPLAIN && (s = explain_check(e, sql, err)) != LH_OK)
        goto out;
    have_res = true;
    if (d->duckdb_execute_prepared_streaming(st, &res) != DDB_SUCCESS) {
        s = ddb_error(e, d->duckdb_result_error_type(&res), d->duckdb_result_error(&res), err);
        goto out;
    }
    ncols = (size_t)d->duckdb_column_count(&res);
    cols = calloc(ncols + 1, sizeof *cols);
    types = calloc(ncols + 1, sizeof *types);
    vals = calloc(ncols + 1, sizeof *vals);
    if (!cols || !types || !vals) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncols && s == LH_OK; i++) {
        ddb_ltype lt = d->duckdb_column_logical_type(&res, i);
        s = lh_sql_ctype_init(d, lt, &types[i], err);
        d->duckdb_destroy_logical_type(&lt);
        const char *nm = d->duckdb_column_name(&res, i);
        cols[i].name = nm ? nm : "";
        cols[i].type = types[i].name;
    }
    if (s != LH_OK || (s = sink->columns(sink->ctx, cols, ncols, err)) != LH_OK)
        goto out;
    size_t bytes = 0;
    for (;;) {
        ddb_chunk ch = d->duckdb_fetch_chunk(res);
        if (!ch) {
            const char *m = d->duckdb_result_error(&res);
            if (m || timed_out(e))
                s = ddb_error(e, d->duckdb_result_error_type(&res), m, err);
            break;
        }
        uint64_t n = d->duckdb_data_chunk_get_size(ch);
        ddb_vector *vec = calloc(ncols + 1, sizeof *vec);
        if (!vec) {
            d->duckdb_destroy_data_chunk(&ch);
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            break;
        }
        for (size_t c = 0; c < ncols; c++)
            vec[c] = d->duckdb_data_chunk_get_vector(ch, c);
        for (uint64_t r = 0; r < n && s == LH_OK; r++) {
            if (info->rows >= limit) {
                info->truncated = true;
                break;
            }
            lh_buf_clear(&scratch);
            for (size_t c = 0; c < ncols; c++)
                lh_sql_value_get(d, &types[c], vec[c], r, &scratch, &vals[c]);
            if (!lh_buf_ok(&scratch)) {
                s = lh_error_set(err, LH_E_NOMEM, "out of memory");
                break;
            }
            lh_sql_value_fix(vals, ncols, &scratch);
            for (size_t c = 0; c < ncols; c++)
                bytes += value_bytes(&vals[c]);
            if (bytes > e->opt.max_output) {
                s = lh_error_set(err, LH_E_INVAL,
                                 "result is larger than %zu bytes: add a LIMIT or select fewer "
                                 "columns",
                                 e->opt.max_output);
                break;
            }
            if ((s = sink->row(sink->ctx, vals, ncols, err)) != LH_OK)
                break;
            info->rows++;
        }
        free(vec);
        d->duckdb_destroy_data_chunk(&ch);
        if (s != LH_OK || info->truncated)
            break;
    }
out:
    if (watchdog_disarm(e) && s != LH_OK && s != LH_E_TIMEOUT) /* reported as another error */
        s = lh_error_set(err, LH_E_TIMEOUT, "query time limit of %u ms exceeded",
                         e->opt.timeout_ms);
    if (have_res)
        d->duckdb_destroy_result(&res);
    if (st)
        d->duckdb_destroy_prepare(&st);
    for (size_t i = 0; types && i < ncols; i++)
        lh_sql_ctype_free(d, &types[i]);
    free(types);
    free(cols);
    free(vals);
    lh_buf_reset(&scratch);
    if (in_tx && internal_query(e, "ROLLBACK") != LH_OK && s == LH_OK)
        s = lh_error_set(err, LH_E_INVAL, "the statement ended the engine's transaction");
    info->elapsed_ms = (double)(lh_time_mono_ns() - t0) / 1e6;
    return s;
}

/* ------------------------------------------------------------------ serializers */

struct ser {
    struct lh_buf *out;
    enum lh_sql_format fmt;
    size_t max, limit;
    const struct lh_sql_column *cols;
    size_t ncols;
    uint64_t rows;
};

static void json_value(struct lh_buf *b, const struct lh_sql_value *v)
{
    char t[40];
    switch (v->kind) {
    case LH_SQL_BOOL:
        lh_buf_append_str(b, v->i ? "true" : "false");
        break;
    case LH_SQL_INT:
        lh_buf_printf(b, "%" PRId64, v->i);
        break;
    case LH_SQL_REAL:
        if (v->d != v->d || v->d - v->d != 0)
            lh_buf_append_str(b, "null");
        else
            lh_buf_append(b, t, lh_sql_fmt_double(v->d, t, sizeof t));
        break;
    case LH_SQL_NUMBER:
    case LH_SQL_JSON:
        lh_buf_append(b, v->p, v->n);
        break;
    case LH_SQL_TEXT:
        lh_buf_json_str(b, v->p, v->n);
        break;
    case LH_SQL_BLOB:
        lh_buf_append_u8(b, '"');
        lh_buf_append_hex(b, v->p, v->n);
        lh_buf_append_u8(b, '"');
        break;
    default:
        lh_buf_append_str(b, "null");
        break;
    }
}

static enum lh_status ser_check(struct ser *x, struct lh_error *err)
{
    if (!lh_buf_ok(x->out) || x->out->len > x->max)
        return lh_error_set(err, LH_E_INVAL,
                            "result is larger than %zu bytes: add a LIMIT or select fewer columns",
                            x->limit);
    return LH_OK;
}

static enum lh_status ser_columns(void *ctx, const struct lh_sql_column *cols, size_t n,
                                  struct lh_error *err)
{
    struct ser *x = ctx;
    struct lh_buf *b = x->out;
    x->cols = cols;
    x->ncols = n;
    if (x->fmt == LH_SQL_FORMAT_JSON) {
        lh_buf_append_str(b, "{\"columns\":[");
        for (size_t i = 0; i < n; i++) {
            lh_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
            lh_buf_json_str(b, cols[i].name, strlen(cols[i].name));
            lh_buf_append_str(b, ",\"type\":");
            lh_buf_json_str(b, cols[i].type, strlen(cols[i].type));
            lh_buf_append_u8(b, '}');
        }
        lh_buf_append_str(b, "],\"rows\":[");
    } else if (x->fmt == LH_SQL_FORMAT_CSV) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            size_t nl = strlen(cols[i].name);
            lh_buf_csv_str(b, cols[i].name, nl, nl == 0); /* "" tells empty from NULL */
        }
        lh_buf_append_u8(b, '\n');
    }
    return ser_check(x, err);
}

static enum lh_status ser_row(void *ctx, const struct lh_sql_value *v, size_t n,
                              struct lh_error *err)
{
    struct ser *x = ctx;
    struct lh_buf *b = x->out;
    char t[40];
    if (x->fmt == LH_SQL_FORMAT_JSON) {
        lh_buf_append_str(b, x->rows ? ",[" : "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            json_value(b, &v[i]);
        }
        lh_buf_append_u8(b, ']');
    } else if (x->fmt == LH_SQL_FORMAT_NDJSON) {
        lh_buf_append_u8(b, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            lh_buf_json_str(b, x->cols[i].name, strlen(x->cols[i].name));
            lh_buf_append_u8(b, ':');
            json_value(b, &v[i]);
        }
        lh_buf_append_str(b, "}\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            switch (v[i].kind) {
            case LH_SQL_BOOL:
                lh_buf_append_str(b, v[i].i ? "true" : "false");
                break;
            case LH_SQL_INT:
                lh_buf_printf(b, "%" PRId64, v[i].i);
                break;
            case LH_SQL_REAL:
                lh_buf_append(b, t, lh_sql_fmt_double(v[i].d, t, sizeof t));
                break;
            case LH_SQL_NUMBER:
                lh_buf_append(b, v[i].p, v[i].n);
                break;
            case LH_SQL_TEXT:
            case LH_SQL_JSON:
                lh_buf_csv_str(b, v[i].p, v[i].n, v[i].n == 0); /* "" is no NULL */
                break;
            case LH_SQL_BLOB:
                lh_buf_append_hex(b, v[i].p, v[i].n);
                break;
            default:
                break;
            }
        }
        lh_buf_append_u8(b, '\n');
    }
    x->rows++;
    return ser_check(x, err);
}

enum lh_status lh_sql_execute(struct lh_sql_engine *e, const char *sql, uint64_t limit,
                              enum lh_sql_format fmt, struct lh_buf *out, struct lh_error *err)
{
    struct ser x = {
        .out = out, .fmt = fmt, .max = out->len + e->opt.max_output, .limit = e->opt.max_output};
    struct lh_sql_sink sink = {.ctx = &x, .columns = ser_columns, .row = ser_row};
    struct lh_sql_result_info info;
    enum lh_status s = lh_sql_run(e, sql, limit, &sink, &info, err);
    if (s != LH_OK)
        return s;
    if (fmt == LH_SQL_FORMAT_JSON)
        lh_buf_printf(out, "],\"truncated\":%s,\"elapsed_ms\":%.3f}",
                      info.truncated ? "true" : "false", info.elapsed_ms);
    if (!lh_buf_ok(out))
        return lh_error_set(err, LH_E_INVAL, "result does not fit the output buffer");
    return LH_OK;
}
