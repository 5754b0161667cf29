/*
 * routes_schedules.c — /api/schedules... (create, list, read, replace,
 * delete, run now, run history) and /api/cron/next (the dashboard's cron
 * preview).
 *
 * The schedule store and the scheduler come from the daemon (hooks); the
 * schedule routes answer 404 (no route) when a server has none. Every
 * schedule leaves here through http_schedule_json(): the sealed secret is
 * dropped, the DSN is the redacted display form and every string is
 * redacted once more (http_redact_text, the rule of http_json_redact), so
 * no response can carry a password. GET reads are written straight from
 * the store under its lock (lh_schedule_store_visit/each): no copy of the
 * 12 KB definition, no jansson tree, nothing to wipe.
 *
 * Decisions (docs/http.md):
 *   - DELETE removes the definition at once (204); a run in flight is not
 *     cancelled but finishes, its record joins the history, and the
 *     schedule never fires again. The run history stays in the store.
 *   - PUT replaces the user-settable fields (kind, trigger, enabled, retry,
 *     timeout_secs, catch_up, description, auto_pause_after); run state is
 *     kept. A kind.dsn equal to the stored redacted DSN keeps the stored
 *     password.
 *
 * Handlers run on the server's pool threads; the store and the scheduler
 * are thread-safe.
 */
#include "http_int.h"

#include "schedule/schedule.h"

#include <stdlib.h>
#include <string.h>

static bool sched_enabled(const struct lh_http_server *srv)
{
    return srv->hooks.schedules && srv->hooks.scheduler;
}

/* Fields a client may not set: state owned by the scheduler. */
static const char *const state_fields[] = {
    "created_at",  "next_run_at",          "last_run_at", "last_outcome",
    "run_count",   "failure_count",        "consecutive_failures",
    "retry_state", "running",              "active_run_id", "active_run",
};

/* http_redact_text as a schedule writer filter. */
static size_t redact_filter(void *ctx, const char *s, char *dst, size_t cap)
{
    (void)ctx;
    return http_redact_text(s, dst, cap);
}

enum lh_status http_schedule_json(const struct lh_schedule *d, const char *active_run_id,
                                  struct lh_buf *out, struct lh_error *err)
{
    const struct lh_schedule_json_opts o = {
        .omit_secret = true, /* the ciphertext is nobody's business */
        .filter = redact_filter,
        .run_state = true,
        .running = active_run_id != NULL,
        .active_run_id = active_run_id,
    };
    return lh_schedule_to_json_compact(d, &o, out, err);
}

/* Writes schedules into a response body; a visitor of the store. */
struct doc_writer {
    struct lh_http_server *srv;
    struct lh_scheduler *sched; /* may be NULL */
    const char *rid;            /* sched NULL: the active run id looked up before, or NULL */
    struct lh_buf *out;
    size_t count;      /* documents written */
    enum lh_status st; /* of the last document */
    struct lh_error err;
};

/* One schedule, after a ',' from the second on. A schedule that cannot be
 * encoded (a string that is not UTF-8) is left out, as jansson did; a
 * broken body stops the walk. Called under the store's lock: it takes the
 * scheduler's (lock order store -> scheduler; the scheduler never calls the
 * store while holding its own). */
static bool doc_write(void *ctx, const struct lh_schedule *d)
{
    struct doc_writer *w = ctx;
    char rid[LH_RUN_ID_MAX];
    const char *active = w->rid;
    if (w->sched)
        active = lh_scheduler_active_run(w->sched, d->id, rid) ? rid : NULL;
    size_t mark = w->out->len;
    if (w->count)
        lh_buf_append_u8(w->out, ',');
    w->st = http_schedule_json(d, active, w->out, &w->err);
    if (w->st == LH_OK && w->out->len > mark && w->out->data[w->out->len - 1] == '}') {
        /* "active_run": the run in the registry's shape, or null (the
         * registry's locks are leaves: fine under the store's lock) */
        struct lh_app_run_view v;
        json_t *run = NULL;
        /* only for a schedule the scheduler says is busy: a list of
         * 10,000 idle schedules costs no registry lookup */
        if (active && lh_app_runs_peek(w->srv->runs, active, &v))
            run = http_run_json(w->srv, &v);
        char *text = run ? json_dumps(run, JSON_COMPACT) : NULL;
        json_decref(run);
        w->out->len--;
        lh_buf_append_str(w->out, ",\"active_run\":");
        lh_buf_append_str(w->out, text ? text : "null");
        lh_buf_append_u8(w->out, '}');
        free(text);
    }
    if (w->st == LH_OK) {
        w->count++;
        return true;
    }
    if (!lh_buf_ok(w->out))
        return false;
    w->out->len = mark;
    return true;
}

/* Ends a JSON body written in place, as http_resp_json would. */
static void body_done(struct http_resp *resp, unsigned status)
{
    resp->status = status;
    resp->content_type = "application/json";
    if (!lh_buf_ok(&resp->body)) {
        lh_buf_clear(&resp->body);
        resp->status = 500;
        lh_buf_append_str(&resp->body, "{\"error\":\"cannot encode response\"}");
    }
    lh_buf_append_u8(&resp->body, '\n');
}

static json_t *run_doc(const struct lh_run_record *r)
{
    struct lh_buf b;
    struct lh_error err;
    json_t *doc = NULL;
    lh_buf_init(&b, LH_SCHEDULE_JSON_MAX);
    if (lh_run_record_to_json(r, &b, &err) == LH_OK)
        doc = json_loadb((const char *)b.data, b.len, 0, NULL);
    lh_buf_reset(&b);
    if (doc)
        http_json_redact(doc);
    return doc;
}

/* The {id} of the path: 1..LH_SCHEDULE_ID_MAX bytes, no control bytes and
 * no '/' (the store maps any byte outside [A-Za-z0-9_-] to '_' in keys, so
 * an id can never name another path). */
static const char *param_id(struct http_req *req, struct http_resp *resp)
{
    const char *id = http_param(req, "id");
    if (!id || !id[0] || strlen(id) > LH_SCHEDULE_ID_MAX) {
        http_resp_error(resp, 400, "id", "invalid schedule id");
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\') {
            http_resp_error(resp, 400, "id", "invalid schedule id");
            return NULL;
        }
    return id;
}

static void store_error(struct http_req *req, struct http_resp *resp, const struct lh_error *err,
                        const char *def_field)
{
    http_resp_status_error(resp, err->status, http_msg_field(req, err->msg, def_field), err->msg);
}

/* Schedule id, as the store holds it, into d; false: answered (the error
 * names def_field when its message names no field). */
static bool stored(struct http_req *req, struct http_resp *resp, const char *id,
                   struct lh_schedule *d, const char *def_field)
{
    struct lh_error err;
    if (lh_schedule_store_get(req->srv->hooks.schedules, id, d, &err) == LH_OK)
        return true;
    store_error(req, resp, &err, def_field);
    return false;
}

static bool visit_nothing(void *ctx, const struct lh_schedule *d)
{
    (void)ctx;
    (void)d;
    return true;
}

/* Whether schedule id is in the store, looked up in place (nothing
 * copied); false: answered (404). */
static bool known(struct http_req *req, struct http_resp *resp, const char *id)
{
    struct lh_error err;
    if (lh_schedule_store_visit(req->srv->hooks.schedules, id, visit_nothing, NULL, &err) == LH_OK)
        return true;
    store_error(req, resp, &err, "id");
    return false;
}

/* b's text through the schedule parser: only its fields checked (d NULL) or
 * parsed into d. The text is wiped after (it may hold a password). false:
 * answered (413 too big, 400 otherwise). */
static bool body_read(struct http_req *req, struct http_resp *resp, json_t *b,
                      struct lh_schedule *d)
{
    struct lh_error err;
    char *text = json_dumps(b, JSON_COMPACT);
    if (!text) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return false;
    }
    size_t len = strlen(text);
    enum lh_status s = d ? lh_schedule_from_json(text, len, NULL, d, NULL, &err)
                         : lh_schedule_json_check_fields(text, len, &err);
    lh_schedule_wipe(text, len);
    free(text);
    if (s != LH_OK)
        http_resp_error(resp, s == LH_E_TOOBIG ? 413 : 400,
                        http_msg_field(req, err.msg, "schedule"), "%s", err.msg);
    return s == LH_OK;
}

/* Parses a request body into *d: unknown fields refused (at any level),
 * state fields dropped, created_at and next_run_at set to now, enabled
 * defaulting to true, id from the path when given. first (POST only; NULL
 * on PUT, where run_now is refused) gets the body's run_now. The DSN stays
 * as sent (the store seals it). false: resp set. */
static bool parse_body(struct http_req *req, struct http_resp *resp, const char *path_id,
                       struct lh_schedule *d, enum lh_first_run *first)
{
    json_t *b = json_deep_copy(req->json);
    char now[48];
    bool ok = false;
    if (!b) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return false;
    }
    json_t *rn = json_object_get(b, "run_now");
    if (rn) {
        if (!first) {
            http_resp_error(resp, 400, "run_now",
                            "run_now: only on create; to run now, POST "
                            "/api/schedules/{id}/run");
            goto done;
        }
        if (!json_is_boolean(rn) && !json_is_null(rn)) {
            http_resp_error(resp, 400, "run_now", "run_now: must be true, false or null");
            goto done;
        }
        *first = json_is_true(rn)    ? LH_FIRST_RUN_NOW
                 : json_is_false(rn) ? LH_FIRST_RUN_LATER
                                     : LH_FIRST_RUN_DEFAULT;
        json_object_del(b, "run_now");
    }
    if (!body_read(req, resp, b, NULL))
        goto done;
    for (size_t i = 0; i < sizeof state_fields / sizeof state_fields[0]; i++)
        json_object_del(b, state_fields[i]);
    json_t *id = json_object_get(b, "id");
    if (path_id) {
        if (id && (!json_is_string(id) || strcmp(json_string_value(id), path_id) != 0)) {
            http_resp_error(resp, 400, "id", "the body's id differs from the path's (ids cannot change)");
            goto done;
        }
        json_object_set_new(b, "id", json_string(path_id));
    }
    lh_time_format_iso(lh_time_wall_us(), now, sizeof now);
    json_object_set_new(b, "created_at", json_string(now));
    json_object_set_new(b, "next_run_at", json_string(now));
    if (!json_object_get(b, "enabled"))
        json_object_set_new(b, "enabled", json_true());
    ok = body_read(req, resp, b, d);
done:
    json_decref(b);
    return ok;
}

static void respond_schedule(struct http_resp *resp, struct lh_http_server *srv, unsigned status,
                             const struct lh_schedule *d)
{
    struct doc_writer w = {srv, srv->hooks.scheduler, NULL, &resp->body, 0, LH_OK, {0}};
    lh_buf_clear(&resp->body);
    doc_write(&w, d);
    if (w.st != LH_OK) {
        http_resp_error(resp, 500, NULL, "cannot encode the schedule");
        return;
    }
    body_done(resp, status);
}

/* ------------------------------------------------------------ handlers */

/* Written straight from the store under its lock: no copies. */
static void list(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    struct doc_writer w = {srv, srv->hooks.scheduler, NULL, &resp->body, 0, LH_OK, {0}};
    lh_buf_clear(&resp->body);
    lh_buf_append_str(&resp->body, "{\"schedules\":[");
    lh_schedule_store_each(srv->hooks.schedules, doc_write, &w);
    lh_buf_append(&resp->body, "]}", 2);
    body_done(resp, 200);
}

static void create(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    struct lh_schedule *d = malloc(sizeof *d);
    struct lh_error err;
    if (!d) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return;
    }
    enum lh_first_run first = LH_FIRST_RUN_DEFAULT;
    if (!parse_body(req, resp, NULL, d, &first))
        goto done;
    if (lh_schedule_first_run(d, lh_time_wall_us(), first, &err) != LH_OK) {
        http_resp_error(resp, 400, "trigger.expr", "trigger.expr: %s", err.msg);
        goto done;
    }
    if (d->dsn_secret[0]) {
        http_resp_error(resp, 400, "kind.dsn_secret",
                        "kind.dsn_secret: not accepted on create; send the DSN with its password");
        goto done;
    }
    if (lh_schedule_dsn_redacted(d->dsn)) {
        http_resp_error(resp, 400, "kind.dsn",
                        "kind.dsn: the password is '***' (redacted); send the real password");
        goto done;
    }
    if (!d->created_by[0])
        snprintf(d->created_by, sizeof d->created_by, "api");
    if (lh_schedule_store_create(srv->hooks.schedules, d, &err) != LH_OK) {
        if (err.status == LH_E_EXISTS)
            http_resp_error(resp, 409, "id", "schedule '%s' already exists", d->id);
        else
            store_error(req, resp, &err, NULL);
        goto done;
    }
    if (stored(req, resp, d->id, d, NULL))
        respond_schedule(resp, srv, 201, d);
done:
    lh_schedule_free(d);
}

static void get_one(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_id(req, resp);
    struct lh_error err;
    char rid[LH_RUN_ID_MAX];
    if (!id)
        return;
    /* the run state first, so the store's lock is held only to write */
    bool running = srv->hooks.scheduler && lh_scheduler_active_run(srv->hooks.scheduler, id, rid);
    struct doc_writer w = {srv, NULL, running ? rid : NULL, &resp->body, 0, LH_OK, {0}};
    lh_buf_clear(&resp->body);
    if (lh_schedule_store_visit(srv->hooks.schedules, id, doc_write, &w, &err) != LH_OK) {
        store_error(req, resp, &err, "id");
        return;
    }
    if (w.st != LH_OK) {
        http_resp_error(resp, 500, NULL, "cannot encode the schedule");
        return;
    }
    body_done(resp, 200);
}

static void put_one(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_id(req, resp);
    struct lh_schedule *d = malloc(sizeof *d), *cur = malloc(sizeof *cur);
    struct lh_error err;
    if (!id)
        goto done;
    if (!d || !cur) {
        http_resp_error(resp, 500, NULL, "out of memory");
        goto done;
    }
    if (!stored(req, resp, id, cur, "id"))
        goto done;
    if (!parse_body(req, resp, id, d, NULL))
        goto done;
    /* the DSN came back as we showed it: keep the stored password */
    if (lh_schedule_keep_secret(d, cur, &err) != LH_OK) {
        http_resp_error(resp, 400, http_msg_field(req, err.msg, "kind.dsn"), "%s", err.msg);
        goto done;
    }
    d->next_run_at_us = cur->next_run_at_us;
    if (!d->enabled && !d->paused_reason[0])
        snprintf(d->paused_reason, sizeof d->paused_reason, "paused");
    if (d->enabled)
        d->paused_reason[0] = '\0';
    if (lh_schedule_store_update(srv->hooks.schedules, d, lh_time_wall_us(), &err) != LH_OK) {
        store_error(req, resp, &err, NULL);
        goto done;
    }
    if (stored(req, resp, id, d, "id"))
        respond_schedule(resp, srv, 200, d);
done:
    lh_schedule_free(d);
    lh_schedule_free(cur);
}

static void del_one(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_id(req, resp);
    struct lh_error err;
    bool existed = false;
    if (!id)
        return;
    if (lh_schedule_store_delete(srv->hooks.schedules, id, &existed, &err) != LH_OK) {
        store_error(req, resp, &err, "id");
        return;
    }
    if (!existed) {
        http_resp_error(resp, 404, "id", "no schedule '%s'", id);
        return;
    }
    lh_app_metrics_schedule_forget(srv->metrics, id);
    resp->status = 204;
    lh_buf_clear(&resp->body);
}

static void run_now(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_id(req, resp);
    char rid[LH_RUN_ID_MAX] = "";
    bool already = false;
    struct lh_error err;
    if (!id)
        return;
    if (lh_scheduler_run_now(srv->hooks.scheduler, id, rid, &already, &err) != LH_OK) {
        if (err.status == LH_E_STATE)
            http_resp_error(resp, 503, NULL, "%s", err.msg);
        else
            store_error(req, resp, &err, "id");
        return;
    }
    if (!already) /* visible (queued) before a worker takes it */
        lh_app_run_release(
            lh_app_runs_enter(srv->runs, rid, id, NULL, "manual", LH_APP_RUN_QUEUED));
    /* a run in progress is the run asked for: 202 all the same, saying so */
    http_resp_json(resp, 202,
                   json_pack("{s:s, s:s, s:b}", "run_id", rid, "schedule_id", id,
                             "already_running", already));
}

/* POST /api/schedules/{id}/cancel: the active run's cancel (docs/runs.md). */
static void cancel_active(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_id(req, resp);
    char rid[LH_RUN_ID_MAX];
    struct lh_error err;
    if (!id)
        return;
    if (!known(req, resp, id))
        return;
    struct lh_app_run_view *v = malloc(sizeof *v);
    if (!v) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return;
    }
    if (!lh_scheduler_active_run(srv->hooks.scheduler, id, rid)) {
        http_resp_error(resp, 409, NULL, "schedule '%s' has no active run", id);
        goto done;
    }
    enum lh_status s = lh_app_runs_cancel(srv->runs, rid, v, &err);
    if (s == LH_E_NOTFOUND) {
        /* a run the registry never saw: the scheduler alone */
        s = lh_scheduler_cancel(srv->hooks.scheduler, id, rid, NULL, &err);
        if (s == LH_E_NOTFOUND)
            s = lh_error_set(&err, LH_E_STATE, "schedule '%s' has no active run", id);
        memset(v, 0, sizeof *v);
        snprintf(v->run_id, sizeof v->run_id, "%s", rid);
        snprintf(v->schedule_id, sizeof v->schedule_id, "%s", id);
        snprintf(v->reason, sizeof v->reason, "schedule");
        v->state = LH_APP_RUN_RUNNING;
        v->phase = v->status = -1;
        v->estimated_rows = -1;
        v->cancel_requested = true;
    }
    if (s == LH_OK) {
        lh_info("schedule %s: cancel of run %s requested through the API", id, rid);
        http_resp_json(resp, 202, http_run_json(srv, v));
    } else if (s == LH_E_STATE) {
        http_resp_error(resp, 409, NULL, "%s", err.msg);
    } else {
        store_error(req, resp, &err, NULL);
    }
done:
    free(v);
}

static void runs(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_id(req, resp);
    bool bad = false;
    struct lh_error err;
    if (!id)
        return;
    const char *lim = http_query(req, "limit", &bad);
    const char *cursor = http_query(req, "cursor", &bad);
    if (bad) {
        http_resp_error(resp, 400, "query", "malformed percent-encoding in the query");
        return;
    }
    int64_t limit = 20;
    if (lim && (!lh_parse_i64(lim, &limit) || limit < 1 || limit > 1000)) {
        http_resp_error(resp, 400, "limit", "limit: want 1-1000");
        return;
    }
    if (cursor && (!cursor[0] || strlen(cursor) >= LH_RUN_ID_MAX)) {
        http_resp_error(resp, 400, "cursor", "cursor: not a run id");
        return;
    }
    /* a deleted schedule's history stays readable only through the store */
    if (!known(req, resp, id))
        return;
    struct lh_run_record *v = NULL;
    size_t n = 0, total = 0;
    /* one more than asked tells whether another page exists */
    if (lh_schedule_store_runs(srv->hooks.schedules, id, cursor, (size_t)limit + 1, &v, &n, &total,
                               &err) != LH_OK) {
        store_error(req, resp, &err, NULL);
        return;
    }
    bool more = n > (size_t)limit;
    if (more)
        n = (size_t)limit;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *doc = run_doc(&v[i]);
        if (doc)
            json_array_append_new(arr, doc);
    }
    json_t *o = json_pack("{s:o, s:o, s:I}", "runs", arr, "next_cursor",
                          more ? json_string(v[n - 1].run_id) : json_null(), "total",
                          (json_int_t)total);
    free(v);
    http_resp_json(resp, 200, o);
}

/* GET /api/cron/next?expr=&tz=&count=&from= */
static void cron_next(struct http_req *req, struct http_resp *resp)
{
    bool bad = false;
    const char *expr = http_query(req, "expr", &bad);
    const char *tz = http_query(req, "tz", &bad);
    const char *count = http_query(req, "count", &bad);
    const char *from = http_query(req, "from", &bad);
    struct lh_error err;
    if (bad) {
        http_resp_error(resp, 400, "query", "malformed percent-encoding in the query");
        return;
    }
    if (!expr || !expr[0]) {
        http_resp_error(resp, 400, "expr", "expr: a cron expression is required");
        return;
    }
    if (strlen(expr) > LH_CRON_EXPR_MAX) {
        http_resp_error(resp, 400, "expr", "expr: longer than %d characters", LH_CRON_EXPR_MAX);
        return;
    }
    struct lh_cron c;
    if (lh_cron_parse(&c, expr, &err) != LH_OK) {
        http_resp_error(resp, 400, "expr", "%s", err.msg);
        return;
    }
    const struct lh_tz *zone = lh_tz_utc();
    if (tz && tz[0]) {
        if (strlen(tz) > LH_TZ_NAME_MAX || lh_tz_load(tz, &zone, &err) != LH_OK) {
            http_resp_error(resp, 400, "tz", "tz: unknown time zone '%.*s'", 64, tz);
            return;
        }
    }
    int64_t n = 5;
    if (count && (!lh_parse_i64(count, &n) || n < 1 || n > 100)) {
        http_resp_error(resp, 400, "count", "count: want 1-100");
        return;
    }
    int64_t at = lh_time_wall_us() / 1000000;
    if (from && from[0]) {
        int64_t us;
        if (strlen(from) > 64 || lh_time_parse_iso(from, &us, &err) != LH_OK) {
            http_resp_error(resp, 400, "from", "from: want an RFC 3339 time");
            return;
        }
        at = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    }
    json_t *arr = json_array();
    for (int64_t i = 0; i < n; i++) {
        int64_t next;
        if (lh_cron_next(&c, zone, at, &next, &err) != LH_OK)
            break;
        char b[48];
        lh_time_format_iso(next * 1000000, b, sizeof b);
        json_array_append_new(arr, json_string(b));
        at = next;
    }
    http_resp_json(resp, 200,
                   json_pack("{s:o, s:s, s:s}", "next", arr, "expr", expr, "tz", lh_tz_name(zone)));
}

static const struct http_route routes[] = {
    {"GET", "/api/schedules", list, HTTP_BODY_NONE},
    {"POST", "/api/schedules", create, HTTP_BODY_JSON},
    {"GET", "/api/schedules/{id}", get_one, HTTP_BODY_NONE},
    {"PUT", "/api/schedules/{id}", put_one, HTTP_BODY_JSON},
    {"DELETE", "/api/schedules/{id}", del_one, HTTP_BODY_NONE},
    {"POST", "/api/schedules/{id}/run", run_now, HTTP_BODY_NONE},
    {"POST", "/api/schedules/{id}/cancel", cancel_active, HTTP_BODY_NONE},
    {"GET", "/api/schedules/{id}/runs", runs, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_schedules = {
    "schedules", routes, sizeof routes / sizeof routes[0], sched_enabled};

static const struct http_route cron_routes[] = {
    {"GET", "/api/cron/next", cron_next, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_cron = {"cron", cron_routes,
                                                  sizeof cron_routes / sizeof cron_routes[0], NULL};
