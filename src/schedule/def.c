/*
 * def.c — schedule definitions: defaults, validation, the JSON shape of the
 * reference (ScheduleDef / ScheduleKind / ScheduleTrigger / RunOutcome) as a
 * superset, run records, and how a finished run moves a schedule on
 * (lh_schedule_apply_run: the reference's record_run plus retries and
 * auto-pause).
 *
 * Pure functions on caller-owned values; any thread. Untrusted JSON is
 * parsed by jansson with a size cap and every field is checked by type and
 * length before it is copied into the fixed-size fields of struct
 * lh_schedule.
 */
#include "schedule_int.h"
#include "store/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ names */

const char *lh_schedule_schema_policy_name(enum lh_schedule_schema_policy p)
{
    static const char *const n[] = {"evolve", "fail", "replace"};
    return (unsigned)p < 3 ? n[p] : "evolve";
}

const char *lh_schedule_mode_name(enum lh_schedule_mode m)
{
    static const char *const n[] = {"overwrite", "append", "incremental"};
    return (unsigned)m < 3 ? n[m] : "overwrite";
}

const char *lh_run_reason_name(enum lh_run_reason r)
{
    static const char *const n[] = {"schedule", "retry", "manual", "catch-up"};
    return (unsigned)r < 4 ? n[r] : "schedule";
}

const char *lh_run_status_name(enum lh_run_status s)
{
    static const char *const n[] = {"success", "failed", "timeout", "cancelled"};
    return (unsigned)s < 4 ? n[s] : "failed";
}

static bool name_lookup(const char *s, const char *const *names, int count, int *out)
{
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    return false;
}

void lh_schedule_init(struct lh_schedule *def, const char *id, int64_t now_us)
{
    memset(def, 0, sizeof *def);
    snprintf(def->id, sizeof def->id, "%s", id ? id : "");
    def->kind = LH_SCHED_POSTGRES;
    def->trigger.kind = LH_TRIGGER_INTERVAL;
    def->trigger.interval_secs = 3600;
    def->trigger.anchor = LH_ANCHOR_COMPLETION;
    def->enabled = true;
    def->created_at_us = now_us;
    def->next_run_at_us = now_us;
    def->retry.max_attempts = LH_RETRY_DEFAULT_ATTEMPTS;
    def->retry.base_secs = LH_RETRY_DEFAULT_BASE;
    def->retry.cap_secs = LH_RETRY_DEFAULT_CAP;
    def->catch_up = LH_CATCH_UP_ONCE;
}

void lh_schedule_label(const struct lh_schedule *def, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%s", def->kind == LH_SCHED_MYSQL ? "mysql" : "postgres",
             def->table[0] ? def->table : def->dataset_name);
}

static void duration_text(int64_t s, char *out, size_t cap)
{
    if (s % 86400 == 0)
        snprintf(out, cap, "%" PRId64 "d", s / 86400);
    else if (s % 3600 == 0)
        snprintf(out, cap, "%" PRId64 "h", s / 3600);
    else if (s % 60 == 0)
        snprintf(out, cap, "%" PRId64 "m", s / 60);
    else
        snprintf(out, cap, "%" PRId64 "s", s);
}

void lh_schedule_trigger_text(const struct lh_schedule *def, char *out, size_t cap)
{
    if (def->trigger.kind == LH_TRIGGER_CRON) {
        snprintf(out, cap, "cron %s%s%s", def->cron_expr, def->tz_name[0] ? " " : "", def->tz_name);
        return;
    }
    char d[32];
    duration_text(def->trigger.interval_secs, d, sizeof d);
    snprintf(out, cap, "every %s%s", d, def->trigger.anchor == LH_ANCHOR_FIXED ? " (fixed)" : "");
}

/* ------------------------------------------------------------------ validation */

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool ident_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

enum lh_status lh_schedule_validate(struct lh_schedule *def, bool new_id, struct lh_error *err)
{
    size_t idn = strlen(def->id);
    if (idn == 0)
        return lh_error_set(err, LH_E_INVAL, "id: must not be empty");
    if (new_id) {
        if (idn > LH_SCHEDULE_NEW_ID_MAX)
            return lh_error_set(err, LH_E_INVAL, "id: longer than %d characters",
                                LH_SCHEDULE_NEW_ID_MAX);
        for (const char *c = def->id; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
                return lh_error_set(err, LH_E_INVAL,
                                    "id: '%s' may contain only letters, digits, '_' and '-'",
                                    def->id);
        if (strcmp(def->id, LH_RUNS_ONESHOT) == 0)
            return lh_error_set(err, LH_E_INVAL,
                                "id: '%s' is reserved (the history of one-shot ingests)",
                                def->id);
    } else if (has_ctl(def->id)) {
        return lh_error_set(err, LH_E_INVAL, "id: contains control characters");
    }

    const char *dsn = def->dsn;
    if (!dsn[0])
        return lh_error_set(err, LH_E_INVAL, "kind.dsn: must not be empty");
    if (has_ctl(dsn))
        return lh_error_set(err, LH_E_INVAL, "kind.dsn: contains control characters");
    if (def->kind == LH_SCHED_MYSQL) {
        if (!has_prefix(dsn, "mysql://") && !has_prefix(dsn, "mariadb://"))
            return lh_error_set(err, LH_E_INVAL,
                                "kind.dsn: a mysql schedule needs a mysql:// or mariadb:// URL");
    } else if (!has_prefix(dsn, "postgres://") && !has_prefix(dsn, "postgresql://")) {
        return lh_error_set(
            err, LH_E_INVAL,
            "kind.dsn: a postgres schedule needs a postgres:// or postgresql:// URL");
    }
    struct lh_dsn pd;
    struct lh_error pe;
    if (lh_dsn_parse(dsn, &pd, &pe) != LH_OK) /* pe names no part of the dsn */
        return lh_error_set(err, LH_E_INVAL, "kind.dsn: %s",
                            pe.msg + (strncmp(pe.msg, "DSN: ", 5) == 0 ? 5 : 0));
    if (def->dsn_secret[0] && !has_prefix(def->dsn_secret, "v1:"))
        return lh_error_set(err, LH_E_INVAL, "kind.dsn_secret: unknown format (want v1:...)");
    if (def->password_env[0]) {
        if (!ident_ok(def->password_env))
            return lh_error_set(err, LH_E_INVAL,
                                "kind.password_env: '%s' is not an environment variable name",
                                def->password_env);
        if (def->dsn_secret[0])
            return lh_error_set(err, LH_E_INVAL,
                                "kind.password_env: the dsn already carries a password");
    }
    if (!def->table[0] && !def->query[0])
        return lh_error_set(err, LH_E_INVAL, "kind.table: give a table or a query");
    if (def->table[0] && def->query[0])
        return lh_error_set(err, LH_E_INVAL, "kind.query: give a table or a query, not both");
    if (has_ctl(def->table))
        return lh_error_set(err, LH_E_INVAL, "kind.table: contains control characters");
    if (def->query[0] && def->columns[0])
        return lh_error_set(err, LH_E_INVAL,
                            "kind.columns: only with a table (name the columns in the query)");
    if (def->query[0] && def->where[0])
        return lh_error_set(err, LH_E_INVAL,
                            "kind.where: only with a table (put the condition in the query)");
    if (def->query[0] && !def->dataset_name[0])
        return lh_error_set(err, LH_E_INVAL, "kind.dataset_name: required with a query");
    if (has_ctl(def->columns))
        return lh_error_set(err, LH_E_INVAL, "kind.columns: contains control characters");
    /* SQL text may span lines */
    for (const char *p = def->query; *p; p++)
        if (((unsigned char)*p < 0x20 && !strchr("\t\r\n", *p)) || *p == 0x7f)
            return lh_error_set(err, LH_E_INVAL, "kind.query: contains control characters");
    for (const char *p = def->where; *p; p++)
        if (((unsigned char)*p < 0x20 && !strchr("\t\r\n", *p)) || *p == 0x7f)
            return lh_error_set(err, LH_E_INVAL, "kind.where: contains control characters");
    if (def->dataset_name[0] && lh_store_name_check(def->dataset_name, NULL) != LH_OK)
        return lh_error_set(err, LH_E_INVAL,
                            "kind.dataset_name: '%s' may contain only letters, digits, '.', '_' "
                            "and '-' (not starting with '.')",
                            def->dataset_name);
    if (def->has_batch_size && (def->batch_size < 1 || def->batch_size > 100000000))
        return lh_error_set(err, LH_E_INVAL, "kind.batch_size: must be 1-100000000");
    if (def->parallel != LH_SCHEDULE_PARALLEL_AUTO &&
        (def->parallel < 0 || def->parallel > LH_SCHEDULE_PARALLEL_MAX))
        return lh_error_set(err, LH_E_INVAL,
                            "kind.parallel: must be a number from 1 to %d or \"auto\"",
                            LH_SCHEDULE_PARALLEL_MAX);
    if (has_ctl(def->order_by) || has_ctl(def->cursor_column))
        return lh_error_set(err, LH_E_INVAL, "kind.order_by: contains control characters");
    if ((unsigned)def->mode > LH_SCHED_INCREMENTAL)
        return lh_error_set(err, LH_E_INVAL, "kind.mode: unknown mode");
    if (def->mode == LH_SCHED_INCREMENTAL && !def->cursor_column[0])
        return lh_error_set(err, LH_E_INVAL, "kind.cursor_column: required for mode incremental");
    if ((unsigned)def->schema_policy > LH_SCHED_SCHEMA_REPLACE)
        return lh_error_set(err, LH_E_INVAL, "kind.schema_policy: evolve, fail or replace");
    if (def->has_limit && def->limit < 1)
        return lh_error_set(err, LH_E_INVAL, "kind.limit: must be at least 1");

    if (def->trigger.kind == LH_TRIGGER_INTERVAL) {
        if (def->trigger.interval_secs < 1)
            return lh_error_set(err, LH_E_INVAL, "trigger.secs: must be at least 1");
        if (def->trigger.interval_secs > LH_INTERVAL_MAX_SECS)
            return lh_error_set(err, LH_E_INVAL, "trigger.secs: at most %lld",
                                (long long)LH_INTERVAL_MAX_SECS);
        if ((unsigned)def->trigger.anchor > LH_ANCHOR_FIXED)
            return lh_error_set(err, LH_E_INVAL, "trigger.anchor: unknown anchor");
        def->trigger.tz = NULL;
    } else if (def->trigger.kind == LH_TRIGGER_CRON) {
        if (lh_cron_parse(&def->trigger.cron, def->cron_expr, err) != LH_OK) {
            lh_error_prefix(err, "trigger.expr");
            return err ? err->status : LH_E_INVAL;
        }
        const struct lh_tz *tz = lh_tz_utc();
        if (def->tz_name[0] && lh_tz_load(def->tz_name, &tz, err) != LH_OK) {
            lh_error_prefix(err, "trigger.tz");
            return LH_E_INVAL;
        }
        def->trigger.tz = tz;
    } else {
        return lh_error_set(err, LH_E_INVAL, "trigger.type: unknown trigger");
    }

    if (def->retry.max_attempts > 100)
        return lh_error_set(err, LH_E_INVAL, "retry.max_attempts: at most 100");
    if (def->retry.base_secs < 1 || def->retry.base_secs > LH_INTERVAL_MAX_SECS)
        return lh_error_set(err, LH_E_INVAL, "retry.base_secs: must be at least 1");
    if (def->retry.cap_secs < def->retry.base_secs || def->retry.cap_secs > LH_INTERVAL_MAX_SECS)
        return lh_error_set(err, LH_E_INVAL, "retry.cap_secs: must be at least retry.base_secs");
    if (def->timeout_secs < 0 || def->timeout_secs > LH_INTERVAL_MAX_SECS)
        return lh_error_set(err, LH_E_INVAL, "timeout_secs: must be at least 1");
    if ((unsigned)def->catch_up > LH_CATCH_UP_SKIP)
        return lh_error_set(err, LH_E_INVAL, "catch_up: want once or skip");
    if (has_ctl(def->created_by))
        return lh_error_set(err, LH_E_INVAL, "created_by: contains control characters");
    return LH_OK;
}

enum lh_status lh_schedule_first_run(struct lh_schedule *def, int64_t now_us,
                                     enum lh_first_run run_now, struct lh_error *err)
{
    if (run_now == LH_FIRST_RUN_NOW) {
        def->next_run_at_us = now_us;
        return LH_OK;
    }
    if (def->trigger.kind == LH_TRIGGER_CRON) {
        int64_t next = 0;
        enum lh_status s = lh_cron_next(&def->trigger.cron, def->trigger.tz,
                                        lh_sched_floor_div(now_us, 1000000), &next, err);
        if (s != LH_OK)
            return s;
        def->next_run_at_us = next * 1000000;
        return LH_OK;
    }
    def->next_run_at_us = now_us;
    if (run_now == LH_FIRST_RUN_LATER)
        def->next_run_at_us += def->trigger.interval_secs * 1000000;
    return LH_OK;
}

/* ------------------------------------------------------------------ JSON reading */

struct rd {
    struct lh_error *err;
    bool failed;
};

static bool rd_fail(struct rd *r, const char *field, const char *what)
{
    if (!r->failed)
        lh_error_set(r->err, LH_E_FORMAT, "%s: %s", field, what);
    r->failed = true;
    return false;
}

/* String field. Missing or null: "" when nullable, else an error. */
static bool rd_str(struct rd *r, json_t *o, const char *key, const char *field, bool required,
                   char *out, size_t cap)
{
    json_t *v = json_object_get(o, key);
    out[0] = '\0';
    if (!v || json_is_null(v))
        return required ? rd_fail(r, field, "missing") : true;
    if (!json_is_string(v))
        return rd_fail(r, field, "must be a string");
    size_t n = json_string_length(v);
    if (n >= cap)
        return rd_fail(r, field, "too long");
    const char *s = json_string_value(v);
    if (memchr(s, '\0', n))
        return rd_fail(r, field, "contains a NUL byte");
    memcpy(out, s, n + 1);
    return true;
}

/* Boolean field. Missing or null: left as it is when optional, else an error. */
static bool rd_bool(struct rd *r, json_t *o, const char *key, const char *field, bool required,
                    bool *out)
{
    json_t *v = json_object_get(o, key);
    if (!required && (!v || json_is_null(v)))
        return true;
    if (!json_is_boolean(v))
        return rd_fail(r, field, "must be true or false");
    *out = json_is_true(v);
    return true;
}

static bool rd_u64(struct rd *r, json_t *o, const char *key, const char *field, bool *has,
                   uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (has)
        *has = false;
    if (!v || json_is_null(v)) {
        if (!has && v)
            return rd_fail(r, field, "must be a number");
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return rd_fail(r, field, "must be a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    if (has)
        *has = true;
    return true;
}

static bool rd_time(struct rd *r, json_t *o, const char *key, const char *field, bool *has,
                    int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (has)
        *has = false;
    if (!v || json_is_null(v))
        return has ? true : rd_fail(r, field, "missing");
    if (!json_is_string(v) || json_string_length(v) > 64)
        return rd_fail(r, field, "must be an RFC 3339 time");
    if (lh_time_parse_iso(json_string_value(v), out, NULL) != LH_OK)
        return rd_fail(r, field, "must be an RFC 3339 time");
    if (has)
        *has = true;
    return true;
}

static bool rd_enum(struct rd *r, json_t *o, const char *key, const char *field,
                    const char *const *names, int count, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return true; /* keep the default */
    if (!json_is_string(v) || !name_lookup(json_string_value(v), names, count, out))
        return rd_fail(r, field, "unknown value");
    return true;
}

static void rd_outcome(struct rd *r, json_t *o, struct lh_run_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (!o || json_is_null(o))
        return;
    if (!json_is_object(o)) {
        rd_fail(r, "last_outcome", "must be an object");
        return;
    }
    out->present = true;
    rd_time(r, o, "at", "last_outcome.at", NULL, &out->at_us);
    if (!rd_bool(r, o, "success", "last_outcome.success", true, &out->success))
        return;
    json_t *v = json_object_get(o, "message");
    if (!json_is_string(v)) {
        rd_fail(r, "last_outcome.message", "must be a string");
        return;
    }
    /* messages are cut to fit rather than refused */
    snprintf(out->message, sizeof out->message, "%s", json_string_value(v));
    lh_utf8_sanitize(out->message); /* the cut may fall inside a character */
    rd_u64(r, o, "rows", "last_outcome.rows", &out->has_rows, &out->rows);
    v = json_object_get(o, "duration_secs");
    if (!json_is_number(v)) {
        rd_fail(r, "last_outcome.duration_secs", "must be a number");
        return;
    }
    out->duration_secs = json_number_value(v);
}

/* The "type" of a tagged object (kind, trigger): its index in names (in
 * the order of the enum it names), or -1 when it failed. */
static int rd_type(struct rd *r, json_t *o, const char *field, const char *const *names, int count,
                   const char *want)
{
    char type_field[32];
    snprintf(type_field, sizeof type_field, "%s.type", field);
    json_t *t = json_object_get(o, "type"); /* NULL when o is no object */
    int i = -1;
    if (!json_is_object(o))
        rd_fail(r, field, "must be an object");
    else if (!json_is_string(t))
        rd_fail(r, type_field, "missing");
    else if (!name_lookup(json_string_value(t), names, count, &i))
        rd_fail(r, type_field, want);
    return i;
}

static void rd_kind(struct rd *r, json_t *k, struct lh_schedule *d)
{
    static const char *const types[] = {"mysql", "postgres"}; /* enum lh_schedule_source */
    int t = rd_type(r, k, "kind", types, 2, "want mysql or postgres");
    if (t < 0)
        return;
    d->kind = (enum lh_schedule_source)t;
    rd_str(r, k, "dsn", "kind.dsn", true, d->dsn, sizeof d->dsn);
    rd_str(r, k, "table", "kind.table", false, d->table, sizeof d->table);
    rd_str(r, k, "query", "kind.query", false, d->query, sizeof d->query);
    rd_str(r, k, "where", "kind.where", false, d->where, sizeof d->where);
    json_t *cols = json_object_get(k, "columns");
    if (json_is_array(cols)) {
        /* ["a", "b"] is kept as "a,b" */
        size_t i, len = 0;
        json_t *c;
        d->columns[0] = '\0';
        json_array_foreach(cols, i, c)
        {
            const char *cs = json_string_value(c);
            size_t n = cs ? strlen(cs) : 0;
            if (!cs || !n || strchr(cs, ',')) {
                rd_fail(r, "kind.columns", "want column names (strings without ',')");
                break;
            }
            if (len + n + 2 > sizeof d->columns) {
                rd_fail(r, "kind.columns", "too long");
                break;
            }
            if (len)
                d->columns[len++] = ',';
            memcpy(d->columns + len, cs, n + 1);
            len += n;
        }
        if (json_array_size(cols) == 0)
            rd_fail(r, "kind.columns", "must not be empty");
    } else {
        rd_str(r, k, "columns", "kind.columns", false, d->columns, sizeof d->columns);
    }
    rd_str(r, k, "dataset_name", "kind.dataset_name", false, d->dataset_name,
           sizeof d->dataset_name);
    rd_u64(r, k, "batch_size", "kind.batch_size", &d->has_batch_size, &d->batch_size);
    rd_str(r, k, "order_by", "kind.order_by", false, d->order_by, sizeof d->order_by);
    rd_str(r, k, "dsn_secret", "kind.dsn_secret", false, d->dsn_secret, sizeof d->dsn_secret);
    rd_str(r, k, "password_env", "kind.password_env", false, d->password_env,
           sizeof d->password_env);
    static const char *const modes[] = {"overwrite", "append", "incremental"};
    int m = (int)d->mode;
    rd_enum(r, k, "mode", "kind.mode", modes, 3, &m);
    d->mode = (enum lh_schedule_mode)m;
    rd_str(r, k, "cursor_column", "kind.cursor_column", false, d->cursor_column,
           sizeof d->cursor_column);
    rd_u64(r, k, "limit", "kind.limit", &d->has_limit, &d->limit);
    /* a number of connections, or "auto" */
    json_t *pv = json_object_get(k, "parallel");
    d->parallel = 0;
    if (pv && !json_is_null(pv)) {
        if (json_is_string(pv) && strcmp(json_string_value(pv), "auto") == 0)
            d->parallel = LH_SCHEDULE_PARALLEL_AUTO;
        else if (json_is_integer(pv) && json_integer_value(pv) >= 1 &&
                 json_integer_value(pv) <= LH_SCHEDULE_PARALLEL_MAX)
            d->parallel = (int)json_integer_value(pv);
        else
            rd_fail(r, "kind.parallel", "must be a number from 1 to 16 or \"auto\"");
    }
    static const char *const policies[] = {"evolve", "fail", "replace"};
    int sp = (int)d->schema_policy;
    rd_enum(r, k, "schema_policy", "kind.schema_policy", policies, 3, &sp);
    d->schema_policy = (enum lh_schedule_schema_policy)sp;
    rd_bool(r, k, "replace_source", "kind.replace_source", false, &d->replace_source);
    rd_bool(r, k, "no_resume", "kind.no_resume", false, &d->no_resume);
}

static void rd_trigger(struct rd *r, json_t *t, struct lh_schedule *d)
{
    static const char *const types[] = {"interval", "cron"}; /* enum lh_trigger_kind */
    int ty = rd_type(r, t, "trigger", types, 2, "want interval or cron");
    if (ty == LH_TRIGGER_INTERVAL) {
        d->trigger.kind = LH_TRIGGER_INTERVAL;
        uint64_t secs = 0;
        json_t *v = json_object_get(t, "secs");
        if (!v) {
            rd_fail(r, "trigger.secs", "missing");
            return;
        }
        rd_u64(r, t, "secs", "trigger.secs", NULL, &secs);
        d->trigger.interval_secs =
            secs > (uint64_t)LH_INTERVAL_MAX_SECS ? LH_INTERVAL_MAX_SECS + 1 : (int64_t)secs;
        static const char *const anchors[] = {"completion", "fixed"};
        int a = LH_ANCHOR_COMPLETION;
        rd_enum(r, t, "anchor", "trigger.anchor", anchors, 2, &a);
        d->trigger.anchor = (enum lh_interval_anchor)a;
    } else if (ty == LH_TRIGGER_CRON) {
        d->trigger.kind = LH_TRIGGER_CRON;
        rd_str(r, t, "expr", "trigger.expr", true, d->cron_expr, sizeof d->cron_expr);
        rd_str(r, t, "tz", "trigger.tz", false, d->tz_name, sizeof d->tz_name);
    }
}

/* Parses a schedule's JSON text, refusing one larger than any schedule. */
static enum lh_status load_capped(const char *p, size_t n, json_t **root, struct lh_error *err)
{
    if (n > LH_SCHEDULE_JSON_MAX)
        return lh_error_set(err, LH_E_TOOBIG, "schedule JSON larger than %u bytes",
                            LH_SCHEDULE_JSON_MAX);
    json_error_t je;
    *root = json_loadb(p, n, 0, &je);
    if (!*root)
        return lh_error_set(err, LH_E_FORMAT, "not JSON: %s (line %d)", je.text, je.line);
    return LH_OK;
}

/* An optional member object: NULL when missing or null, or (failed) not an object. */
static json_t *rd_opt_object(struct rd *r, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_object(v)) {
        rd_fail(r, key, "must be an object");
        return NULL;
    }
    return v;
}

enum lh_status lh_schedule_from_json(const char *p, size_t n, const struct lh_schedule_key *key,
                                     struct lh_schedule *d, bool *sealed, struct lh_error *err)
{
    if (sealed)
        *sealed = false;
    json_t *root;
    enum lh_status ls = load_capped(p, n, &root, err);
    if (ls != LH_OK)
        return ls;
    struct rd r = {err, false};
    lh_schedule_init(d, "", 0);
    if (!json_is_object(root)) {
        rd_fail(&r, "schedule", "must be a JSON object");
        goto done;
    }
    rd_str(&r, root, "id", "id", true, d->id, sizeof d->id);
    rd_kind(&r, json_object_get(root, "kind"), d);
    rd_trigger(&r, json_object_get(root, "trigger"), d);
    rd_bool(&r, root, "enabled", "enabled", true, &d->enabled);
    rd_time(&r, root, "created_at", "created_at", NULL, &d->created_at_us);
    rd_str(&r, root, "created_by", "created_by", false, d->created_by, sizeof d->created_by);
    rd_time(&r, root, "next_run_at", "next_run_at", NULL, &d->next_run_at_us);
    rd_time(&r, root, "last_run_at", "last_run_at", &d->has_last_run, &d->last_run_at_us);
    rd_outcome(&r, json_object_get(root, "last_outcome"), &d->last_outcome);
    rd_u64(&r, root, "run_count", "run_count", NULL, &d->run_count);
    rd_u64(&r, root, "failure_count", "failure_count", NULL, &d->failure_count);

    json_t *rt = rd_opt_object(&r, root, "retry");
    if (rt) {
        uint64_t a = d->retry.max_attempts, b = (uint64_t)d->retry.base_secs,
                 c = (uint64_t)d->retry.cap_secs;
        rd_u64(&r, rt, "max_attempts", "retry.max_attempts", NULL, &a);
        rd_u64(&r, rt, "base_secs", "retry.base_secs", NULL, &b);
        rd_u64(&r, rt, "cap_secs", "retry.cap_secs", NULL, &c);
        d->retry.max_attempts = a > 1000 ? 1000 : (uint32_t)a;
        d->retry.base_secs = b > (uint64_t)INT32_MAX * 1000 ? 0 : (int64_t)b;
        d->retry.cap_secs = c > (uint64_t)INT32_MAX * 1000 ? 0 : (int64_t)c;
    }
    bool has;
    uint64_t u = 0;
    rd_u64(&r, root, "timeout_secs", "timeout_secs", &has, &u);
    d->timeout_secs = has ? (u > (uint64_t)INT32_MAX * 1000 ? -1 : (int64_t)u) : 0;
    if (has && u == 0)
        rd_fail(&r, "timeout_secs", "must be at least 1 (or null)");
    static const char *const cu[] = {"once", "skip"};
    int c = LH_CATCH_UP_ONCE;
    rd_enum(&r, root, "catch_up", "catch_up", cu, 2, &c);
    d->catch_up = (enum lh_catch_up)c;
    rd_str(&r, root, "description", "description", false, d->description, sizeof d->description);
    rd_u64(&r, root, "auto_pause_after", "auto_pause_after", &has, &u);
    d->auto_pause_after = has ? (u > 1000000 ? 1000000 : (uint32_t)u) : 0;
    rd_u64(&r, root, "consecutive_failures", "consecutive_failures", &has, &u);
    d->consecutive_failures = has ? (u > UINT32_MAX ? UINT32_MAX : (uint32_t)u) : 0;
    rd_str(&r, root, "paused_reason", "paused_reason", false, d->paused_reason,
           sizeof d->paused_reason);
    json_t *rs = rd_opt_object(&r, root, "retry_state");
    if (rs) {
        rd_u64(&r, rs, "attempt", "retry_state.attempt", NULL, &u);
        d->retry_attempt = u > 1000 ? 1000 : (uint32_t)u;
        rd_time(&r, rs, "target", "retry_state.target", NULL, &d->retry_target_us);
    }
done:
    json_decref(root);
    if (r.failed)
        return LH_E_FORMAT;
    if (lh_schedule_validate(d, false, err) != LH_OK) {
        if (err)
            err->status = LH_E_FORMAT;
        return LH_E_FORMAT;
    }
    if (key) {
        bool ch = false;
        enum lh_status s = lh_schedule_seal(d, key, &ch, err);
        if (s != LH_OK)
            return s;
        if (sealed)
            *sealed = ch;
    }
    return LH_OK;
}

/* ------------------------------------------------------------------ strict field check */

/* The names each object of a schedule may carry: what the writers above
 * and below emit, nothing more. "type" of kind and trigger picks the set. */
static const char *const top_fields[] = {
    "id",           "kind",          "trigger",          "enabled",
    "created_at",   "created_by",    "next_run_at",      "last_run_at",
    "last_outcome", "run_count",     "failure_count",    "retry",
    "timeout_secs", "catch_up",      "description",      "auto_pause_after",
    "consecutive_failures",          "paused_reason",    "retry_state",
    "running",      "active_run_id", "active_run", NULL};
static const char *const kind_fields[] = {
    "type",          "dsn",           "table",          "query",      "where",
    "columns",       "dataset_name",  "batch_size",     "order_by",   "dsn_secret",
    "password_env",  "mode",          "cursor_column",  "limit",      "parallel",
    "schema_policy", "replace_source", "no_resume", NULL};
static const char *const interval_fields[] = {"type", "secs", "anchor", NULL};
static const char *const cron_fields[] = {"type", "expr", "tz", NULL};
static const char *const outcome_fields[] = {"at", "success", "message", "rows", "duration_secs",
                                             NULL};
static const char *const retry_fields[] = {"max_attempts", "base_secs", "cap_secs", NULL};
static const char *const retry_state_fields[] = {"attempt", "target", NULL};

/* false (err set) at the first key of o not in names; o may be anything. */
static bool check_keys(json_t *o, const char *prefix, const char *const *names,
                       struct lh_error *err)
{
    if (!json_is_object(o))
        return true; /* the reader reports a wrong type */
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (const char *const *n = names; *n && !known; n++)
            known = strcmp(k, *n) == 0;
        if (known)
            continue;
        char want[400];
        size_t len = 0;
        want[0] = '\0';
        for (const char *const *n = names; *n && len < sizeof want; n++) {
            int w = snprintf(want + len, sizeof want - len, "%s%s", len ? ", " : "", *n);
            if (w < 0)
                break;
            len += (size_t)w;
        }
        lh_error_set(err, LH_E_FORMAT, "%s%s%.*s: unknown field (want one of: %s)", prefix,
                     prefix[0] ? "." : "", 64, k, want);
        return false;
    }
    (void)v;
    return true;
}

enum lh_status lh_schedule_json_check_fields(const char *p, size_t n, struct lh_error *err)
{
    json_t *root;
    enum lh_status ls = load_capped(p, n, &root, err);
    if (ls != LH_OK)
        return ls;
    bool ok = check_keys(root, "", top_fields, err);
    if (ok && json_is_object(root)) {
        ok = check_keys(json_object_get(root, "kind"), "kind", kind_fields, err);
        json_t *t = json_object_get(root, "trigger");
        const char *ty = json_string_value(json_object_get(t, "type"));
        if (ok && ty && strcmp(ty, "cron") == 0)
            ok = check_keys(t, "trigger", cron_fields, err);
        else if (ok && ty && strcmp(ty, "interval") == 0)
            ok = check_keys(t, "trigger", interval_fields, err);
        if (ok)
            ok = check_keys(json_object_get(root, "last_outcome"), "last_outcome",
                            outcome_fields, err);
        if (ok)
            ok = check_keys(json_object_get(root, "retry"), "retry", retry_fields, err);
        if (ok)
            ok = check_keys(json_object_get(root, "retry_state"), "retry_state",
                            retry_state_fields, err);
    }
    json_decref(root);
    return ok ? LH_OK : LH_E_FORMAT;
}

/* ------------------------------------------------------------------ JSON writing */

/* The one schedule writer: no tree, no per-value malloc, two layouts.
 *   file     (lh_schedule_to_json) the store's file: two-space indents,
 *            ": ", reals with 9 significant digits, a final newline;
 *   compact  (lh_schedule_to_json_compact) the API's: no spaces, reals as
 *            the file's text read back and printed with 17 digits.
 * Both are byte for byte what jansson prints (JSON_INDENT(2) |
 * JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9), and JSON_COMPACT after a
 * load of that), which is what the files and the API have always held;
 * tests/http/test_sched_json.c holds them side by side. Sticky: the first
 * error is kept in w->st and every later write is a no-op. */
struct cw {
    struct lh_buf *b;
    const struct lh_schedule_json_opts *o;
    struct lh_error *err;
    enum lh_status st;
    bool first;  /* no ',' before the next key */
    bool pretty; /* the file layout */
    int depth;   /* objects open */
};

static void cw_fail(struct cw *w, enum lh_status st, const char *field, const char *what)
{
    if (w->st == LH_OK)
        w->st = lh_error_set(w->err, st, "%s: %s", field, what);
}

static void cw_lit(struct cw *w, const char *s, size_t n)
{
    if (w->st == LH_OK)
        lh_buf_append(w->b, s, n);
}

#define CW_LIT(w, s) cw_lit((w), (s), sizeof(s) - 1)

/* Escapes as jansson does: \" \\ \b \f \n \r \t, other control bytes as
 * \u00XX; '/', DEL and non-ASCII (already checked) as they are. */
static void cw_escaped(struct cw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    struct lh_buf *b = w->b;
    lh_buf_append_u8(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        lh_buf_append(b, s + run, i - run);
        run = i + 1;
        static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
        const char *k = memchr(from, c, sizeof from - 1);
        char e[6] = {'\\', k ? to[k - from] : 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        lh_buf_append(b, e, k ? 2 : 6);
    }
    lh_buf_append(b, s + run, n - run);
    lh_buf_append_u8(b, '"');
}

/* The file layout's line break before a key or a closing brace. */
static void cw_newline(struct cw *w)
{
    static const char spaces[] = "                ";
    if (w->st != LH_OK || !w->pretty)
        return;
    lh_buf_append_u8(w->b, '\n');
    for (int i = 0; i < w->depth; i++)
        lh_buf_append(w->b, spaces, 2);
}

static void cw_key(struct cw *w, const char *k)
{
    if (w->st != LH_OK)
        return;
    if (!w->first)
        lh_buf_append_u8(w->b, ',');
    w->first = false;
    cw_newline(w);
    lh_buf_append_u8(w->b, '"');
    lh_buf_append_str(w->b, k);
    if (w->pretty)
        lh_buf_append(w->b, "\": ", 3);
    else
        lh_buf_append(w->b, "\":", 2);
}

/* Opens an object: the document's (k NULL) or a member's. */
static void cw_open(struct cw *w, const char *k)
{
    if (k)
        cw_key(w, k);
    CW_LIT(w, "{");
    w->first = true;
    w->depth++;
}

static void cw_close(struct cw *w)
{
    w->depth--;
    cw_newline(w);
    CW_LIT(w, "}");
    w->first = false;
}

static void cw_null(struct cw *w, const char *k)
{
    cw_key(w, k);
    CW_LIT(w, "null");
}

static void cw_bool(struct cw *w, const char *k, bool v)
{
    cw_key(w, k);
    if (v)
        CW_LIT(w, "true");
    else
        CW_LIT(w, "false");
}

static void cw_i64(struct cw *w, const char *k, int64_t v)
{
    char t[24];
    size_t i = sizeof t;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[--i] = '-';
    cw_key(w, k);
    cw_lit(w, t + i, sizeof t - i);
}

static void cw_u64(struct cw *w, const char *k, uint64_t v)
{
    cw_i64(w, k, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v); /* as u64_json */
}

/* A string value: checked like json_string, then filtered. */
static void cw_str(struct cw *w, const char *k, const char *s)
{
    if (w->st != LH_OK)
        return;
    size_t n = strlen(s);
    if (!lh_utf8_valid(s, n)) {
        cw_fail(w, LH_E_FORMAT, k, "not valid UTF-8");
        return;
    }
    cw_key(w, k);
    const struct lh_schedule_json_opts *o = w->o;
    char small[1024], *heap = NULL, *t = small;
    size_t r = o && o->filter ? o->filter(o->filter_ctx, s, small, sizeof small) : SIZE_MAX;
    if (r == SIZE_MAX) {
        cw_escaped(w, s, n);
        return;
    }
    if (r >= sizeof small) {
        t = heap = malloc(r + 1);
        if (t && o->filter(o->filter_ctx, s, t, r + 1) != r)
            t = NULL;
    }
    if (t && lh_utf8_valid(t, r))
        cw_escaped(w, t, r);
    else
        CW_LIT(w, "\"***\"");
    free(heap);
}

static void cw_str_or_null(struct cw *w, const char *k, const char *s)
{
    if (s[0])
        cw_str(w, k, s);
    else
        cw_null(w, k);
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* lh_time_format_iso's text without snprintf for years 0..9999 (the rest
 * goes to it): "2026-04-16T20:36:04Z", ".123456" before the Z when the
 * microseconds are not zero. */
static void cw_time(struct cw *w, const char *k, int64_t us)
{
    char b[48];
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    int64_t days = lh_sched_floor_div(secs, 86400), y;
    int64_t sod = secs - days * 86400;
    unsigned m, d;
    lh_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        lh_time_format_iso(us, b, sizeof b);
    } else {
        memcpy(b, "0000-00-00T00:00:00", 19);
        put2(b, (unsigned)(y / 100));
        put2(b + 2, (unsigned)(y % 100));
        put2(b + 5, m);
        put2(b + 8, d);
        put2(b + 11, (unsigned)(sod / 3600));
        put2(b + 14, (unsigned)(sod / 60 % 60));
        put2(b + 17, (unsigned)(sod % 60));
        size_t n = 19;
        if (frac) {
            b[n++] = '.';
            for (int i = 5; i >= 0; i--, frac /= 10)
                b[n + (size_t)i] = (char)('0' + frac % 10);
            n += 6;
        }
        b[n++] = 'Z';
        b[n] = '\0';
    }
    cw_str(w, k, b);
}

/* jansson's jsonp_dtostr without the dtoa option (Debian's build): "%.*g",
 * ".0" when it would read as an integer, no '+' or leading zeros in the
 * exponent. */
static bool real_text(double v, int prec, char *out, size_t cap)
{
    if (!isfinite(v))
        return false; /* json_real refuses these */
    int r = snprintf(out, cap, "%.*g", prec, v);
    if (r < 0 || (size_t)r >= cap)
        return false;
    size_t len = (size_t)r;
    if (!strchr(out, '.') && !strchr(out, 'e')) {
        if (len + 3 >= cap)
            return false;
        memcpy(out + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(out, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start)
            memmove(start, end, len - (size_t)(end - out) + 1);
    }
    return true;
}

/* A value the schedule may lack: null when it has none. */
static void cw_u64_if(struct cw *w, const char *k, bool has, uint64_t v)
{
    if (has)
        cw_u64(w, k, v);
    else
        cw_null(w, k);
}

static void cw_i64_if(struct cw *w, const char *k, bool has, int64_t v)
{
    if (has)
        cw_i64(w, k, v);
    else
        cw_null(w, k);
}

static void cw_time_if(struct cw *w, const char *k, bool has, int64_t us)
{
    if (has)
        cw_time(w, k, us);
    else
        cw_null(w, k);
}

/* Closes the document; the first error, or out of memory. */
static enum lh_status cw_end(struct cw *w, bool newline)
{
    cw_close(w);
    if (newline)
        CW_LIT(w, "\n");
    if (w->st == LH_OK && !lh_buf_ok(w->b))
        w->st = lh_error_set(w->err, LH_E_NOMEM, "out of memory writing JSON");
    return w->st;
}

/* The store file has the real with 9 digits; a load reads that back and a
 * compact dump prints the double with 17. */
static void cw_real(struct cw *w, const char *k, double v)
{
    char t9[64], t17[64];
    if (!real_text(v, 9, t9, sizeof t9) || !real_text(strtod(t9, NULL), 17, t17, sizeof t17)) {
        cw_fail(w, LH_E_FORMAT, k, "not a finite number");
        return;
    }
    cw_key(w, k);
    const char *t = w->pretty ? t9 : t17;
    cw_lit(w, t, strlen(t));
}

static enum lh_status schedule_write(const struct lh_schedule *d,
                                     const struct lh_schedule_json_opts *o, bool pretty,
                                     struct lh_buf *out, struct lh_error *err)
{
    struct cw w = {out, o, err, LH_OK, true, pretty, 0};
    /* a typical document is under 1 KiB: grow once, not six times */
    if (out->max - out->len >= 1024)
        lh_buf_reserve(out, 1024);
    cw_open(&w, NULL);
    cw_str(&w, "id", d->id);
    cw_open(&w, "kind");
    cw_str(&w, "type", d->kind == LH_SCHED_MYSQL ? "mysql" : "postgres");
    cw_str(&w, "dsn", d->dsn);
    cw_str(&w, "table", d->table);
    if (d->query[0])
        cw_str(&w, "query", d->query);
    if (d->columns[0])
        cw_str(&w, "columns", d->columns);
    if (d->where[0])
        cw_str(&w, "where", d->where);
    cw_str_or_null(&w, "dataset_name", d->dataset_name);
    cw_u64_if(&w, "batch_size", d->has_batch_size, d->batch_size);
    cw_str_or_null(&w, "order_by", d->order_by);
    cw_str_or_null(&w, "dsn_secret", o && o->omit_secret ? "" : d->dsn_secret);
    cw_str_or_null(&w, "password_env", d->password_env);
    cw_str(&w, "mode", lh_schedule_mode_name(d->mode));
    cw_str_or_null(&w, "cursor_column", d->cursor_column);
    cw_u64_if(&w, "limit", d->has_limit, d->limit);
    if (d->parallel < 0)
        cw_str(&w, "parallel", "auto");
    else if (d->parallel > 0)
        cw_u64(&w, "parallel", (uint64_t)d->parallel);
    if (d->schema_policy != LH_SCHED_SCHEMA_EVOLVE)
        cw_str(&w, "schema_policy", lh_schedule_schema_policy_name(d->schema_policy));
    if (d->replace_source)
        cw_bool(&w, "replace_source", true);
    if (d->no_resume)
        cw_bool(&w, "no_resume", true);
    cw_close(&w);
    cw_open(&w, "trigger");
    if (d->trigger.kind == LH_TRIGGER_CRON) {
        cw_str(&w, "type", "cron");
        cw_str(&w, "expr", d->cron_expr);
        cw_str(&w, "tz", d->tz_name[0] ? d->tz_name : "UTC");
    } else {
        cw_str(&w, "type", "interval");
        cw_i64(&w, "secs", d->trigger.interval_secs);
        cw_str(&w, "anchor", d->trigger.anchor == LH_ANCHOR_FIXED ? "fixed" : "completion");
    }
    cw_close(&w);
    cw_bool(&w, "enabled", d->enabled);
    cw_time(&w, "created_at", d->created_at_us);
    cw_str(&w, "created_by", d->created_by);
    cw_time(&w, "next_run_at", d->next_run_at_us);
    cw_time_if(&w, "last_run_at", d->has_last_run, d->last_run_at_us);
    if (d->last_outcome.present) {
        const struct lh_run_outcome *lo = &d->last_outcome;
        cw_open(&w, "last_outcome");
        cw_time(&w, "at", lo->at_us);
        cw_bool(&w, "success", lo->success);
        cw_str(&w, "message", lo->message);
        cw_u64_if(&w, "rows", lo->has_rows, lo->rows);
        cw_real(&w, "duration_secs", lo->duration_secs);
        cw_close(&w);
    } else {
        cw_null(&w, "last_outcome");
    }
    cw_u64(&w, "run_count", d->run_count);
    cw_u64(&w, "failure_count", d->failure_count);
    cw_open(&w, "retry");
    cw_i64(&w, "max_attempts", d->retry.max_attempts);
    cw_i64(&w, "base_secs", d->retry.base_secs);
    cw_i64(&w, "cap_secs", d->retry.cap_secs);
    cw_close(&w);
    cw_i64_if(&w, "timeout_secs", d->timeout_secs != 0, d->timeout_secs);
    cw_str(&w, "catch_up", d->catch_up == LH_CATCH_UP_SKIP ? "skip" : "once");
    cw_str_or_null(&w, "description", d->description);
    cw_i64_if(&w, "auto_pause_after", d->auto_pause_after != 0, d->auto_pause_after);
    cw_i64(&w, "consecutive_failures", d->consecutive_failures);
    cw_str_or_null(&w, "paused_reason", d->paused_reason);
    if (d->retry_attempt) {
        cw_open(&w, "retry_state");
        cw_i64(&w, "attempt", d->retry_attempt);
        cw_time(&w, "target", d->retry_target_us);
        cw_close(&w);
    } else {
        cw_null(&w, "retry_state");
    }
    if (o && o->run_state) {
        cw_bool(&w, "running", o->running);
        if (o->running && o->active_run_id && w.st == LH_OK) {
            size_t n = strlen(o->active_run_id);
            if (!lh_utf8_valid(o->active_run_id, n))
                cw_fail(&w, LH_E_FORMAT, "active_run_id", "not valid UTF-8");
            cw_key(&w, "active_run_id");
            if (w.st == LH_OK)
                cw_escaped(&w, o->active_run_id, n);
        } else {
            cw_null(&w, "active_run_id");
        }
    }
    return cw_end(&w, pretty);
}

enum lh_status lh_schedule_to_json(const struct lh_schedule *d, struct lh_buf *out,
                                   struct lh_error *err)
{
    return schedule_write(d, NULL, true, out, err);
}

enum lh_status lh_schedule_to_json_compact(const struct lh_schedule *d,
                                           const struct lh_schedule_json_opts *o,
                                           struct lh_buf *out, struct lh_error *err)
{
    return schedule_write(d, o, false, out, err);
}

/* ------------------------------------------------------------------ run records */

void lh_run_id_make(int64_t at_us, uint32_t seq, char out[LH_RUN_ID_MAX])
{
    int64_t secs = lh_sched_floor_div(at_us, 1000000);
    int64_t frac = at_us - secs * 1000000;
    char iso[48];
    lh_time_format_iso(secs * 1000000, iso, sizeof iso);
    /* 2026-04-16T20:36:04Z -> 20260416T203604.123456Z-0001: fixed width, so
     * byte order is time order */
    char c[24];
    size_t j = 0;
    for (size_t i = 0; iso[i] && iso[i] != 'Z' && j + 1 < sizeof c; i++)
        if (iso[i] != '-' && iso[i] != ':')
            c[j++] = iso[i];
    c[j] = '\0';
    snprintf(out, LH_RUN_ID_MAX, "%s.%06dZ-%04x", c, (int)frac, (unsigned)(seq & 0xffff));
}

enum lh_status lh_run_record_to_json(const struct lh_run_record *r, struct lh_buf *out,
                                     struct lh_error *err)
{
    struct cw w = {out, NULL, err, LH_OK, true, true, 0};
    cw_open(&w, NULL);
    cw_str(&w, "run_id", r->run_id);
    cw_str(&w, "schedule_id", r->schedule_id);
    if (r->damaged) {
        cw_bool(&w, "damaged", true);
        cw_str(&w, "error", r->message);
    } else {
        cw_str(&w, "reason", lh_run_reason_name(r->reason));
        cw_i64(&w, "attempt", r->attempt);
        cw_time_if(&w, "target", r->target_us != 0, r->target_us);
        cw_time(&w, "started_at", r->started_at_us);
        cw_time(&w, "finished_at", r->finished_at_us);
        cw_real(&w, "duration_secs", (double)(r->finished_at_us - r->started_at_us) / 1e6);
        cw_str(&w, "outcome", lh_run_status_name(r->status));
        cw_bool(&w, "success", r->status == LH_RUN_SUCCESS);
        cw_u64_if(&w, "rows", r->has_rows, r->rows);
        cw_u64(&w, "bytes", r->bytes);
        cw_u64(&w, "warnings", r->warnings);
        cw_str(&w, "message", r->message);
        if (r->status == LH_RUN_SUCCESS)
            cw_null(&w, "error");
        else
            cw_str(&w, "error", r->message);
        /* additions, written when known (docs/runs.md) */
        if (r->dataset[0])
            cw_str(&w, "dataset", r->dataset);
        if (r->version)
            cw_u64(&w, "version", r->version);
        if (r->unrecorded)
            cw_bool(&w, "unrecorded", true);
    }
    return cw_end(&w, true);
}

enum lh_status lh_run_record_from_json(const char *p, size_t n, struct lh_run_record *r,
                                       struct lh_error *err)
{
    if (n > LH_SCHEDULE_JSON_MAX)
        return lh_error_set(err, LH_E_TOOBIG, "run record too large");
    json_error_t je;
    json_t *o = json_loadb(p, n, 0, &je);
    if (!o)
        return lh_error_set(err, LH_E_FORMAT, "not JSON: %s", je.text);
    struct rd rr = {err, false};
    memset(r, 0, sizeof *r);
    if (!json_is_object(o)) {
        rd_fail(&rr, "run", "must be an object");
        goto done;
    }
    rd_str(&rr, o, "run_id", "run_id", true, r->run_id, sizeof r->run_id);
    rd_str(&rr, o, "schedule_id", "schedule_id", true, r->schedule_id, sizeof r->schedule_id);
    static const char *const reasons[] = {"schedule", "retry", "manual", "catch-up"};
    static const char *const st[] = {"success", "failed", "timeout", "cancelled"};
    int v = 0;
    rd_enum(&rr, o, "reason", "reason", reasons, 4, &v);
    r->reason = (enum lh_run_reason)v;
    v = 1;
    rd_enum(&rr, o, "outcome", "outcome", st, 4, &v);
    r->status = (enum lh_run_status)v;
    uint64_t u = 0;
    rd_u64(&rr, o, "attempt", "attempt", NULL, &u);
    r->attempt = u > 1000 ? 1000 : (uint32_t)u;
    bool has;
    rd_time(&rr, o, "target", "target", &has, &r->target_us);
    rd_time(&rr, o, "started_at", "started_at", NULL, &r->started_at_us);
    rd_time(&rr, o, "finished_at", "finished_at", NULL, &r->finished_at_us);
    rd_u64(&rr, o, "rows", "rows", &r->has_rows, &r->rows);
    rd_u64(&rr, o, "bytes", "bytes", NULL, &r->bytes);
    rd_u64(&rr, o, "warnings", "warnings", NULL, &r->warnings);
    json_t *m = json_object_get(o, "message");
    if (json_is_string(m)) {
        snprintf(r->message, sizeof r->message, "%s", json_string_value(m));
        lh_utf8_sanitize(r->message);
    }
    m = json_object_get(o, "dataset");
    if (json_is_string(m)) {
        snprintf(r->dataset, sizeof r->dataset, "%s", json_string_value(m));
        lh_utf8_sanitize(r->dataset);
    }
    rd_u64(&rr, o, "version", "version", NULL, &r->version);
done:
    json_decref(o);
    return rr.failed ? LH_E_FORMAT : LH_OK;
}

bool lh_run_parse_rows(const char *msg, uint64_t *rows)
{
    /* split on whitespace; the first token "rows=N" whose N parses wins */
    const char *p = msg;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        size_t n = (size_t)(p - s);
        if (n > 5 && n < 26 && strncmp(s, "rows=", 5) == 0) {
            char num[24];
            memcpy(num, s + 5, n - 5);
            num[n - 5] = '\0';
            int64_t v;
            if (num[0] != '-' && num[0] != '+' && lh_parse_i64(num, &v) && v >= 0) {
                *rows = (uint64_t)v;
                return true;
            }
        }
    }
    return false;
}

/* ------------------------------------------------------------------ runs move schedules */

int64_t lh_schedule_backoff_secs(const struct lh_schedule_retry *r, uint32_t attempt, uint64_t rnd)
{
    if (attempt < 1)
        attempt = 1;
    int64_t lo = r->base_secs < 1 ? 1 : r->base_secs;
    for (uint32_t i = 1; i < attempt && lo < r->cap_secs; i++)
        lo *= 2;
    if (lo >= r->cap_secs)
        return r->cap_secs;
    /* u in [0,1) from the top 53 bits */
    double u = (double)(rnd >> 11) / 9007199254740992.0;
    int64_t d = lo + (int64_t)((double)lo * u);
    return d > r->cap_secs ? r->cap_secs : d;
}

static int64_t secs_floor(int64_t us)
{
    return lh_sched_floor_div(us, 1000000);
}

/* The regular time (µs) after run, and the target it follows: the first
 * target of a streak of retries, else the run's. */
static enum lh_status next_regular(const struct lh_schedule *def, const struct lh_run_record *run,
                                   int64_t now_us, int64_t *target, int64_t *regular,
                                   struct lh_error *err)
{
    *target = def->retry_attempt ? def->retry_target_us : run->target_us;
    enum lh_status s = lh_trigger_next(&def->trigger, secs_floor(run->finished_at_us),
                                       secs_floor(*target), secs_floor(now_us), regular, err);
    if (s == LH_OK)
        *regular *= 1000000;
    return s;
}

enum lh_status lh_schedule_apply_run(struct lh_schedule *def, const struct lh_run_record *run,
                                     uint64_t rnd, int64_t now_us, bool *auto_paused,
                                     struct lh_error *err)
{
    if (auto_paused)
        *auto_paused = false;
    const bool ok = run->status == LH_RUN_SUCCESS;
    struct lh_run_outcome *o = &def->last_outcome;
    memset(o, 0, sizeof *o);
    o->present = true;
    o->at_us = run->finished_at_us;
    o->success = ok;
    snprintf(o->message, sizeof o->message, "%s", run->message);
    lh_utf8_sanitize(o->message);
    o->has_rows = run->has_rows;
    o->rows = run->rows;
    o->duration_secs = (double)(float)((double)(run->finished_at_us - run->started_at_us) / 1e6);
    def->has_last_run = true;
    def->last_run_at_us = run->finished_at_us;
    if (run->status == LH_RUN_CANCELLED && !run->cancelled_by_user)
        return LH_OK; /* a stop is not the schedule's failure; next_run_at stays due */
    if (run->status == LH_RUN_CANCELLED) {
        /* a user's cancel is no failure and no success: the counters and
         * the failure streak stay, the retries of the streak end, and the
         * schedule waits for its next regular time (a cancelled run-now
         * leaves the timetable alone) */
        if (run->reason == LH_RUN_MANUAL)
            return LH_OK;
        int64_t target, regular;
        enum lh_status s = next_regular(def, run, now_us, &target, &regular, err);
        if (s != LH_OK)
            return s;
        def->retry_attempt = 0;
        def->retry_target_us = 0;
        def->next_run_at_us = regular;
        return LH_OK;
    }
    if (ok) {
        def->run_count++;
        def->consecutive_failures = 0;
    } else {
        def->failure_count++;
        def->consecutive_failures++;
    }
    if (run->reason == LH_RUN_MANUAL) {
        /* a manual run leaves the timetable alone; success ends a streak */
        if (ok)
            def->retry_attempt = 0;
    } else {
        int64_t target, regular;
        enum lh_status s = next_regular(def, run, now_us, &target, &regular, err);
        if (s != LH_OK)
            return s;
        int64_t next = regular;
        if (!ok && def->retry_attempt < def->retry.max_attempts) {
            int64_t b = lh_schedule_backoff_secs(&def->retry, def->retry_attempt + 1, rnd);
            int64_t retry_at = run->finished_at_us + b * 1000000;
            if (retry_at < regular) {
                if (def->retry_attempt == 0)
                    def->retry_target_us = target;
                def->retry_attempt++;
                next = retry_at;
            } else {
                def->retry_attempt = 0; /* the regular trigger comes first */
            }
        } else {
            def->retry_attempt = 0;
        }
        if (!def->retry_attempt)
            def->retry_target_us = 0;
        def->next_run_at_us = next;
    }
    if (!ok && def->auto_pause_after && def->consecutive_failures >= def->auto_pause_after &&
        def->enabled) {
        def->enabled = false;
        def->retry_attempt = 0;
        def->retry_target_us = 0;
        snprintf(def->paused_reason, sizeof def->paused_reason,
                 "auto-paused after %u consecutive failed runs (last: %.400s)",
                 def->consecutive_failures, run->message);
        if (auto_paused)
            *auto_paused = true;
    }
    return LH_OK;
}
