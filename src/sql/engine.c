/*
 * engine.c — one read-only SQLite connection over the catalog: sandbox,
 * per-statement tables, statement execution and result serializers.
 *
 * Tables: a statement is prepared; when SQLite answers "no such table: X"
 * and X is a dataset ("orders") or a dataset version ("orders@3"), the
 * engine creates temp."X" with the lakehouse module and prepares again
 * (each missing table once). Tables are dropped when the next statement
 * starts, so every statement reads the catalog as it is then, and unused
 * datasets cost nothing (no footer is read for a table nobody names).
 *
 * Sandbox (docs/sql.md): an authorizer that allows SELECT, reading,
 * recursive CTEs, functions (minus load_extension and fts3_tokenizer) and a
 * few argument-less introspection pragmas, and refuses everything else
 * with a message naming it; our own CREATE/DROP VIRTUAL TABLE run with the
 * `internal` flag set. Extension loading off, defensive mode on, triggers
 * and views off, untrusted schema, double-quoted strings off, no attached
 * databases, tight length limits, a progress handler enforcing the time
 * limit, a row limit with a truncated flag, exactly one statement, and
 * sqlite3_stmt_readonly() as a last check.
 *
 * Threads: an engine belongs to one thread at a time (the SQLite handle is
 * opened NOMUTEX for that reason).
 */
#include "sql_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 64

struct tables {
    char *names[MAX_TABLES];
    size_t n;
};

struct engine_priv {
    struct lh_sql_engine e;
    struct tables t;
};

static const char *action_name(int a)
{
    switch (a) {
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_TRANSACTION: return "transactions";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE";
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE";
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX: return "CREATE INDEX";
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE: return "CREATE TABLE";
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW: return "CREATE VIEW";
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TRIGGER";
    default: return "this statement";
    }
}

static int authorizer(void *ud, int action, const char *a3, const char *a4, const char *db,
                      const char *trigger)
{
    (void)db, (void)trigger;
    struct lh_sql_engine *e = ud;
    if (e->internal)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (a4 && (sqlite3_stricmp(a4, "load_extension") == 0 ||
                   sqlite3_stricmp(a4, "fts3_tokenizer") == 0)) {
            snprintf(e->denied, sizeof e->denied,
                     "function %s() is not allowed in lakehouse SQL", a4);
            return SQLITE_DENY;
        }
        return SQLITE_OK;
    case SQLITE_PRAGMA: {
        static const char *const ok[] = {"table_info", "table_xinfo", "function_list",
                                         "collation_list", "pragma_list"};
        for (size_t i = 0; a3 && i < sizeof ok / sizeof ok[0]; i++) /* table_*: the arg is a name */
            if (sqlite3_stricmp(a3, ok[i]) == 0 && (!a4 || i < 2))
                return SQLITE_OK;
        snprintf(e->denied, sizeof e->denied,
                 "PRAGMA %s%s%s is not allowed: lakehouse SQL is read-only", a3 ? a3 : "",
                 a4 ? "=" : "", a4 ? a4 : "");
        return SQLITE_DENY;
    }
    default:
        if (!e->denied[0] && a3 && (action == SQLITE_INSERT || action == SQLITE_UPDATE ||
                                    action == SQLITE_DELETE) &&
            (strcmp(a3, "sqlite_master") == 0 || strcmp(a3, "sqlite_temp_master") == 0))
            snprintf(e->denied, sizeof e->denied,
                     "schema changes (CREATE, DROP, ALTER) are not allowed: lakehouse SQL is "
                     "read-only");
        if (!e->denied[0]) /* keep the first refusal: it names what the user wrote */
            snprintf(e->denied, sizeof e->denied, "%s is not allowed: lakehouse SQL is read-only",
                 action_name(action));
        return SQLITE_DENY;
    }
}

static int progress(void *ud)
{
    struct lh_sql_engine *e = ud;
    if (e->deadline_ns && lh_time_mono_ns() > e->deadline_ns) {
        e->timed_out = true;
        return 1;
    }
    return 0;
}

enum lh_status lh_sql_engine_create(struct lh_store_set *set, const struct lh_sql_options *opt,
                                    struct lh_sql_engine **out, struct lh_error *err)
{
    *out = NULL;
    struct engine_priv *p = calloc(1, sizeof *p);
    if (!p)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    struct lh_sql_engine *e = &p->e;
    enum lh_status s = LH_OK;
    if (opt)
        e->opt = *opt;
    if (!e->opt.timeout_ms)
        e->opt.timeout_ms = 30000;
    if (!e->opt.max_rows)
        e->opt.max_rows = 100000;
    if (!e->opt.max_output)
        e->opt.max_output = 64u << 20;
    if (!e->opt.max_decode)
        e->opt.max_decode = (size_t)1 << 30;
    if (!e->opt.max_length)
        e->opt.max_length = 16 << 20;
    if (!e->opt.max_sql_length)
        e->opt.max_sql_length = 100000;
    e->set = set;
    if ((s = lh_catalog_open(set, NULL, &e->cat, err)) != LH_OK)
        goto fail;
    int rc = sqlite3_open_v2(":memory:", &e->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK) {
        s = lh_error_set(err, LH_E_INTERNAL, "sqlite open: %s",
                         e->db ? sqlite3_errmsg(e->db) : sqlite3_errstr(rc));
        goto fail;
    }
    static const int off[] = {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, SQLITE_DBCONFIG_ENABLE_TRIGGER,
                              SQLITE_DBCONFIG_ENABLE_VIEW, SQLITE_DBCONFIG_TRUSTED_SCHEMA,
                              SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, SQLITE_DBCONFIG_DQS_DML,
                              SQLITE_DBCONFIG_DQS_DDL, SQLITE_DBCONFIG_WRITABLE_SCHEMA};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        sqlite3_db_config(e->db, off[i], 0, (int *)NULL);
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_limit(e->db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(e->db, SQLITE_LIMIT_LENGTH, e->opt.max_length);
    sqlite3_limit(e->db, SQLITE_LIMIT_SQL_LENGTH, e->opt.max_sql_length);
    sqlite3_limit(e->db, SQLITE_LIMIT_COMPOUND_SELECT, 100);
    sqlite3_limit(e->db, SQLITE_LIMIT_EXPR_DEPTH, 200);
    sqlite3_limit(e->db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
    sqlite3_limit(e->db, SQLITE_LIMIT_VARIABLE_NUMBER, 100);
    sqlite3_limit(e->db, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
    if (lh_sql_vtab_register(e) != SQLITE_OK || lh_sql_funcs_register(e->db) != SQLITE_OK) {
        s = lh_error_set(err, LH_E_INTERNAL, "sqlite: %s", sqlite3_errmsg(e->db));
        goto fail;
    }
    sqlite3_set_authorizer(e->db, authorizer, e);
    sqlite3_progress_handler(e->db, 2000, progress, e);
    *out = e;
    return LH_OK;
fail:
    lh_sql_engine_destroy(e);
    return s;
}

enum lh_status lh_sql_engine_open(const char *root, const char *config_path,
                                  const struct lh_sql_options *opt, struct lh_sql_engine **out,
                                  struct lh_error *err)
{
    struct lh_store_set *set;
    *out = NULL;
    enum lh_status s = lh_store_set_open(root, config_path, NULL, &set, err);
    if (s != LH_OK)
        return s;
    if ((s = lh_sql_engine_create(set, opt, out, err)) != LH_OK) {
        lh_store_set_close(set);
        return s;
    }
    (*out)->own_set = true;
    return LH_OK;
}

static void tables_drop(struct engine_priv *p)
{
    struct lh_sql_engine *e = &p->e;
    e->internal = true;
    for (size_t i = 0; i < p->t.n; i++) {
        char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS temp.\"%w\"", p->t.names[i]);
        if (sql && e->db)
            sqlite3_exec(e->db, sql, NULL, NULL, NULL);
        sqlite3_free(sql);
        free(p->t.names[i]);
    }
    p->t.n = 0;
    e->internal = false;
}

void lh_sql_engine_destroy(struct lh_sql_engine *e)
{
    if (!e)
        return;
    struct engine_priv *p = (struct engine_priv *)e;
    tables_drop(p);
    if (e->db)
        sqlite3_close_v2(e->db);
    lh_catalog_close(e->cat);
    if (e->own_set)
        lh_store_set_close(e->set);
    free(p);
}

void lh_sql_engine_stats(const struct lh_sql_engine *e, struct lh_sql_stats *out)
{
    *out = e->stats;
}

bool lh_sql_format_parse(const char *s, enum lh_sql_format *out)
{
    if (strcmp(s, "json") == 0)
        *out = LH_SQL_FORMAT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = LH_SQL_FORMAT_CSV;
    else if (strcmp(s, "ndjson") == 0)
        *out = LH_SQL_FORMAT_NDJSON;
    else
        return false;
    return true;
}

/* ------------------------------------------------------------------ running */

/* Creates temp.name for a missing table; LH_E_NOTFOUND when it is no dataset.
 * With agg_spec, temp.as is the aggregating table over dataset name (agg.c). */
static enum lh_status table_create_as(struct engine_priv *p, const char *name, const char *as,
                                      const char *agg_spec, struct lh_error *err)
{
    struct lh_sql_engine *e = &p->e;
    char ds[256];
    int64_t ver = 0;
    const char *at = strrchr(name, '@');
    size_t dl = at ? (size_t)(at - name) : strlen(name);
    if (dl == 0 || dl >= sizeof ds)
        return lh_error_set(err, LH_E_NOTFOUND, "no dataset %s", name);
    memcpy(ds, name, dl);
    ds[dl] = '\0';
    if (at && (!lh_parse_i64(at + 1, &ver) || ver <= 0))
        return lh_error_set(err, LH_E_INVAL,
                            "table %s: a version is written name@N with N a version number", name);
    struct lh_error ne;
    if (lh_store_name_check(ds, &ne) != LH_OK)
        return lh_error_set(err, LH_E_NOTFOUND, "no dataset %s", ds);
    if (p->t.n >= MAX_TABLES)
        return lh_error_set(err, LH_E_TOOBIG, "more than %d datasets in one statement",
                            MAX_TABLES);
    char *copy = strdup(as);
    char *sql = agg_spec ? sqlite3_mprintf("CREATE VIRTUAL TABLE temp.\"%w\" USING "
                                           "lakehouse(%s, %lld, '%q')",
                                           as, ds, (long long)ver, agg_spec)
                         : sqlite3_mprintf("CREATE VIRTUAL TABLE temp.\"%w\" USING "
                                           "lakehouse(%s, %lld)",
                                           as, ds, (long long)ver);
    if (!copy || !sql) {
        free(copy);
        sqlite3_free(sql);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    lh_error_clear(&e->vt_err);
    e->internal = true;
    int rc = sqlite3_exec(e->db, sql, NULL, NULL, NULL);
    e->internal = false;
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        free(copy);
        if (e->vt_err.status != LH_OK) {
            *err = e->vt_err;
            return err->status;
        }
        return lh_error_set(err, LH_E_INVAL, "%s", sqlite3_errmsg(e->db));
    }
    p->t.names[p->t.n++] = copy;
    return LH_OK;
}

static enum lh_status table_create(struct engine_priv *p, const char *name, struct lh_error *err)
{
    return table_create_as(p, name, name, NULL, err);
}

/* The native aggregate (agg.c): the rewritten statement over a new
 * aggregating table, or NULL to run the statement as written. */
#define AGG_TABLE "lh#agg" /* '#' is in no dataset name */
static sqlite3_stmt *agg_prepare(struct engine_priv *p, const char *sql)
{
    struct lh_sql_engine *e = &p->e;
    struct lh_sql_agg_plan pl;
    if (e->opt.no_native_agg || !lh_sql_agg_plan(sql, AGG_TABLE, &pl))
        return NULL;
    sqlite3_stmt *st = NULL;
    struct lh_error err;
    if (table_create_as(p, pl.table, AGG_TABLE, pl.spec, &err) == LH_OK) {
        e->denied[0] = '\0';
        if (sqlite3_prepare_v3(e->db, pl.sql, -1, 0, &st, NULL) != SQLITE_OK) {
            sqlite3_finalize(st);
            st = NULL;
        }
    }
    lh_sql_agg_plan_free(&pl);
    lh_error_clear(&e->vt_err);
    return st;
}

static enum lh_status sql_error(struct lh_sql_engine *e, int rc, struct lh_error *err)
{
    if (e->timed_out)
        return lh_error_set(err, LH_E_TIMEOUT, "query time limit of %u ms exceeded",
                            e->opt.timeout_ms);
    if ((rc & 0xff) == SQLITE_AUTH && e->denied[0])
        return lh_error_set(err, LH_E_PERM, "%s", e->denied);
    if ((rc & 0xff) == SQLITE_AUTH || strncmp(sqlite3_errmsg(e->db), "not authorized", 14) == 0)
        return lh_error_set(err, LH_E_PERM, "%s (lakehouse SQL is read-only and sandboxed)",
                            sqlite3_errmsg(e->db));
    if (e->vt_err.status != LH_OK)
        return lh_error_set(err, e->vt_err.status, "%s", sqlite3_errmsg(e->db));
    if ((rc & 0xff) == SQLITE_TOOBIG || (rc & 0xff) == SQLITE_NOMEM)
        return lh_error_set(err, LH_E_TOOBIG, "%s", sqlite3_errmsg(e->db));
    return lh_error_set(err, LH_E_INVAL, "%s", sqlite3_errmsg(e->db));
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ';')
            return false;
    return true;
}

static enum lh_status prepare(struct engine_priv *p, const char *sql, sqlite3_stmt **st,
                              struct lh_error *err)
{
    struct lh_sql_engine *e = &p->e;
    const char *tail = NULL;
    *st = NULL;
    for (int attempt = 0; attempt <= MAX_TABLES; attempt++) {
        e->denied[0] = '\0';
        int rc = sqlite3_prepare_v3(e->db, sql, -1, 0, st, &tail);
        if (rc == SQLITE_OK)
            break;
        const char *msg = sqlite3_errmsg(e->db);
        static const char nst[] = "no such table: ";
        if (strncmp(msg, nst, sizeof nst - 1) != 0)
            return sql_error(e, rc, err);
        char name[300];
        snprintf(name, sizeof name, "%s", msg + sizeof nst - 1);
        char orig[400];
        snprintf(orig, sizeof orig, "%s", msg);
        enum lh_status s = table_create(p, name, err);
        if (s == LH_E_NOTFOUND && !strchr(name, '@')) /* not a dataset either */
            return lh_error_set(err, LH_E_INVAL, "%s", orig);
        if (s != LH_OK)
            return s;
    }
    if (!*st) {
        if (tail && !blank(tail))
            return lh_error_set(err, LH_E_INVAL, "could not resolve the tables of this statement");
        return lh_error_set(err, LH_E_INVAL, "empty statement");
    }
    if (tail && !blank(tail)) {
        sqlite3_stmt *st2 = NULL;
        e->internal = false;
        int rc = sqlite3_prepare_v3(e->db, tail, -1, 0, &st2, NULL);
        sqlite3_finalize(st2);
        if (rc != SQLITE_OK || st2) {
            sqlite3_finalize(*st);
            *st = NULL;
            return lh_error_set(err, LH_E_INVAL,
                                "only one statement is allowed (remove what follows the first ';')");
        }
    }
    if (!sqlite3_stmt_readonly(*st)) {
        sqlite3_finalize(*st);
        *st = NULL;
        return lh_error_set(err, LH_E_PERM,
                            "only read-only statements are allowed in lakehouse SQL");
    }
    return LH_OK;
}

static const char *value_type_name(int t)
{
    switch (t) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
    }
}

enum lh_status lh_sql_run(struct lh_sql_engine *e, const char *sql, uint64_t limit,
                          const struct lh_sql_sink *sink, struct lh_sql_result_info *info,
                          struct lh_error *err)
{
    struct engine_priv *p = (struct engine_priv *)e;
    int64_t t0 = lh_time_mono_ns();
    sqlite3_stmt *st = NULL;
    struct lh_sql_column *cols = NULL;
    struct lh_sql_value *vals = NULL;
    enum lh_status s = LH_OK;
    memset(info, 0, sizeof *info);
    memset(&e->stats, 0, sizeof e->stats);
    lh_error_clear(&e->vt_err);
    lh_error_clear(err);
    e->timed_out = false;
    e->deadline_ns = t0 + (int64_t)e->opt.timeout_ms * 1000000;
    if (limit == 0 || limit > e->opt.max_rows)
        limit = e->opt.max_rows;
    tables_drop(p);
    e->agg_abort = false;
    st = agg_prepare(p, sql);
    int rc = SQLITE_DONE;
    if (st) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE && e->agg_abort && !e->timed_out) {
            /* it gave up before any row: run the statement as written */
            sqlite3_finalize(st);
            st = NULL;
            lh_error_clear(&e->vt_err);
            memset(&e->stats, 0, sizeof e->stats); /* count the statement's own work */
        }
    }
    if (!st) {
        if ((s = prepare(p, sql, &st, err)) != LH_OK)
            goto fail;
        rc = sqlite3_step(st);
    }
    int n = sqlite3_column_count(st);
    cols = calloc((size_t)n + 1, sizeof *cols);
    vals = calloc((size_t)n + 1, sizeof *vals);
    if (!cols || !vals) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        cols[i].name = sqlite3_column_name(st, i);
        cols[i].type = sqlite3_column_decltype(st, i);
        if (!cols[i].type)
            cols[i].type = value_type_name(rc == SQLITE_ROW ? sqlite3_column_type(st, i) : 0);
        if (!cols[i].name)
            cols[i].name = "";
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        if ((s = sink->columns(sink->ctx, cols, (size_t)n, err)) != LH_OK)
            goto fail;
    while (rc == SQLITE_ROW) {
        if (info->rows >= limit) {
            info->truncated = true;
            break;
        }
        for (int i = 0; i < n; i++) {
            struct lh_sql_value *v = &vals[i];
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                v->kind = LH_SQL_INT, v->i = sqlite3_column_int64(st, i);
                break;
            case SQLITE_FLOAT:
                v->kind = LH_SQL_REAL, v->d = sqlite3_column_double(st, i);
                break;
            case SQLITE_TEXT:
                v->kind = LH_SQL_TEXT, v->p = sqlite3_column_text(st, i);
                v->n = (size_t)sqlite3_column_bytes(st, i);
                break;
            case SQLITE_BLOB:
                v->kind = LH_SQL_BLOB, v->p = sqlite3_column_blob(st, i);
                v->n = (size_t)sqlite3_column_bytes(st, i);
                break;
            default: v->kind = LH_SQL_NULL; break;
            }
        }
        if ((s = sink->row(sink->ctx, vals, (size_t)n, err)) != LH_OK)
            goto fail;
        info->rows++;
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        s = sql_error(e, rc, err);
        goto fail;
    }
fail:
    sqlite3_finalize(st);
    free(cols);
    free(vals);
    e->deadline_ns = 0;
    info->elapsed_ms = (double)(lh_time_mono_ns() - t0) / 1e6;
    return s;
}

/* ------------------------------------------------------------------ serializers */

struct ser {
    struct lh_buf *out;
    enum lh_sql_format fmt;
    size_t max;
    const struct lh_sql_column *cols;
    size_t ncols;
    uint64_t rows;
};

static void hex(struct lh_buf *b, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        lh_buf_append_u8(b, (uint8_t)hx[p[i] >> 4]);
        lh_buf_append_u8(b, (uint8_t)hx[p[i] & 15]);
    }
}

static void json_value(struct lh_buf *b, const struct lh_sql_value *v)
{
    char t[40];
    switch (v->kind) {
    case LH_SQL_INT: lh_buf_printf(b, "%" PRId64, v->i); break;
    case LH_SQL_REAL:
        if (v->d != v->d || v->d - v->d != 0)
            lh_buf_append_str(b, "null");
        else
            lh_buf_append(b, t, lh_sql_fmt_double(v->d, t, sizeof t));
        break;
    case LH_SQL_TEXT: lh_sql_json_str(b, v->p, v->n); break;
    case LH_SQL_BLOB:
        lh_buf_append_u8(b, '"');
        hex(b, v->p, v->n);
        lh_buf_append_u8(b, '"');
        break;
    default: lh_buf_append_str(b, "null"); break;
    }
}

static void csv_field(struct lh_buf *b, const char *s, size_t n, bool force_quote)
{
    bool q = force_quote || n == 0;
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q) {
        lh_buf_append(b, s, n);
        return;
    }
    lh_buf_append_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            lh_buf_append_u8(b, '"');
        lh_buf_append_u8(b, (uint8_t)s[i]);
    }
    lh_buf_append_u8(b, '"');
}

static enum lh_status ser_check(struct ser *x, struct lh_error *err)
{
    if (!lh_buf_ok(x->out) || x->out->len > x->max)
        return lh_error_set(err, LH_E_TOOBIG,
                            "result is larger than %zu bytes: add a LIMIT or select fewer columns",
                            x->max);
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
            lh_sql_json_str(b, cols[i].name, strlen(cols[i].name));
            lh_buf_append_str(b, ",\"type\":");
            lh_sql_json_str(b, cols[i].type, strlen(cols[i].type));
            lh_buf_append_u8(b, '}');
        }
        lh_buf_append_str(b, "],\"rows\":[");
    } else if (x->fmt == LH_SQL_FORMAT_CSV) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            csv_field(b, cols[i].name, strlen(cols[i].name), false);
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
            lh_sql_json_str(b, x->cols[i].name, strlen(x->cols[i].name));
            lh_buf_append_u8(b, ':');
            json_value(b, &v[i]);
        }
        lh_buf_append_str(b, "}\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            switch (v[i].kind) {
            case LH_SQL_INT: lh_buf_printf(b, "%" PRId64, v[i].i); break;
            case LH_SQL_REAL: lh_buf_append(b, t, lh_sql_fmt_double(v[i].d, t, sizeof t)); break;
            case LH_SQL_TEXT: csv_field(b, v[i].p, v[i].n, false); break;
            case LH_SQL_BLOB: hex(b, v[i].p, v[i].n); break;
            default: break;
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
    struct ser x = {.out = out, .fmt = fmt, .max = out->len + e->opt.max_output};
    struct lh_sql_sink sink = {.ctx = &x, .columns = ser_columns, .row = ser_row};
    struct lh_sql_result_info info;
    enum lh_status s = lh_sql_run(e, sql, limit, &sink, &info, err);
    if (s != LH_OK)
        return s;
    if (fmt == LH_SQL_FORMAT_JSON)
        lh_buf_printf(out, "],\"truncated\":%s,\"elapsed_ms\":%.3f}", info.truncated ? "true" : "false",
                      info.elapsed_ms);
    if (!lh_buf_ok(out))
        return lh_error_set(err, LH_E_TOOBIG, "result does not fit the output buffer");
    return LH_OK;
}
