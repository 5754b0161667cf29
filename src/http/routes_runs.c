/*
 * routes_runs.c — /api/runs: every run, live or finished, in one shape
 * (docs/runs.md, docs/http.md "Runs").
 *
 *   GET  /api/runs[?state=&schedule=&limit=]  live runs and the recent
 *                                              history, newest first
 *   GET  /api/runs/{run_id}                   one run
 *   GET  /api/runs/{run_id}/log               its log
 *   POST /api/runs/{run_id}/cancel            a user's cancel: 202, or 409
 *                                              when it already ended
 *
 * Everything comes from app's run registry (srv->runs: the daemon's, or
 * the server's own when it runs without one), which reads finished runs
 * back from the run history. Every message and log line leaves through
 * http_redact_text and http_mask_secrets: a DSN's password and the
 * daemon's token are masked as values, never a word around them.
 *
 * Handlers run on the server's pool threads; the registry is thread-safe.
 */
#include "http_int.h"

#include "ingest/ingest.h"

#include <stdlib.h>
#include <string.h>

/* RFC 3339 with microseconds, always: "2026-12-07T17:01:02.123456Z". */
static json_t *time_json(int64_t us)
{
    if (!us)
        return json_null();
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    char b[48], out[64];
    lh_time_format_iso(secs * 1000000, b, sizeof b);
    size_t n = strlen(b);
    if (n && b[n - 1] == 'Z')
        b[n - 1] = '\0';
    snprintf(out, sizeof out, "%s.%06dZ", b, (int)(us - secs * 1000000));
    return json_string(out);
}

void http_mask_secrets(const struct lh_http_server *srv, char *s, size_t cap)
{
    if (srv->cfg.token && srv->cfg.token[0])
        lh_redact_secret(s, cap, srv->cfg.token);
}

/* A text as the API shows it: DSN passwords and the token masked. */
static json_t *text_json(const struct lh_http_server *srv, const char *s)
{
    size_t n = strlen(s);
    size_t need = http_redact_text(s, NULL, 0);
    size_t cap = (need == SIZE_MAX ? n : need) + 1;
    char *buf = malloc(cap);
    json_t *r = NULL;
    if (buf) {
        if (need == SIZE_MAX)
            memcpy(buf, s, n + 1);
        else
            http_redact_text(s, buf, cap);
        http_mask_secrets(srv, buf, cap);
        lh_utf8_sanitize(buf);
        r = json_string(buf);
        free(buf);
    }
    return r ? r : json_string("");
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *http_run_json(const struct lh_http_server *srv, const struct lh_app_run_view *v)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "run_id", json_string(v->run_id));
    json_object_set_new(o, "schedule_id", str_or_null(v->schedule_id));
    json_object_set_new(o, "dataset", str_or_null(v->dataset));
    json_object_set_new(o, "reason", json_string(v->reason));
    json_object_set_new(o, "state", json_string(lh_app_run_state_name(v->state)));
    json_object_set_new(o, "phase",
                        v->state == LH_APP_RUN_RUNNING && v->phase >= 0
                            ? json_string(lh_ingest_phase_name((enum lh_ingest_phase)v->phase))
                            : json_null());
    json_object_set_new(o, "rows", json_integer(v->rows));
    json_object_set_new(o, "bytes", json_integer((json_int_t)v->bytes));
    json_object_set_new(o, "estimated_rows",
                        v->estimated_rows >= 0 ? json_integer(v->estimated_rows) : json_null());
    json_object_set_new(o, "rows_per_sec", json_real(v->rows_per_sec));
    json_object_set_new(o, "elapsed_secs", json_real(v->elapsed_secs));
    json_object_set_new(o, "started_at", time_json(v->started_at_us));
    json_object_set_new(o, "finished_at", time_json(v->finished_at_us));
    json_object_set_new(o, "cancel_requested", json_boolean(v->cancel_requested));
    json_object_set_new(o, "message", text_json(srv, v->message));
    json_object_set_new(o, "version", v->version ? json_integer((json_int_t)v->version)
                                                 : json_null());
    json_object_set_new(o, "status",
                        v->status >= 0
                            ? json_string(lh_run_status_name((enum lh_run_status)v->status))
                            : json_null());
    return o;
}

/* The {run_id} of the path; a malformed one names no run (404). */
static const char *param_run(struct http_req *req, struct http_resp *resp)
{
    const char *id = http_param(req, "run_id");
    if (!id || !lh_run_id_valid(id)) {
        http_resp_error(resp, 404, "run_id", "no run '%.60s'", id ? id : "");
        return NULL;
    }
    return id;
}

static void run_error(struct http_resp *resp, const struct lh_error *err)
{
    if (err->status == LH_E_NOTFOUND)
        http_resp_error(resp, 404, "run_id", "%s", err->msg);
    else
        http_resp_status_error(resp, err->status, NULL, err->msg);
}

static void list(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    bool bad = false;
    const char *st = http_query(req, "state", &bad);
    const char *sched = http_query(req, "schedule", &bad);
    const char *lim = http_query(req, "limit", &bad);
    struct lh_error err;
    if (bad) {
        http_resp_error(resp, 400, "query", "malformed percent-encoding in the query");
        return;
    }
    enum lh_app_run_state state;
    if (st && !lh_app_run_state_parse(st, &state)) {
        http_resp_error(resp, 400, "state",
                        "state: want queued, running, succeeded, failed or cancelled");
        return;
    }
    int64_t limit = 50;
    if (lim && (!lh_parse_i64(lim, &limit) || limit < 1 || limit > 1000)) {
        http_resp_error(resp, 400, "limit", "limit: want 1-1000");
        return;
    }
    if (sched && (!sched[0] || strlen(sched) > LH_SCHEDULE_ID_MAX)) {
        http_resp_error(resp, 400, "schedule", "schedule: not a schedule id");
        return;
    }
    struct lh_app_run_view *v = NULL;
    size_t n = 0;
    if (lh_app_runs_list(srv->runs, st ? &state : NULL, sched, (size_t)limit, &v, &n, &err) !=
        LH_OK) {
        http_resp_status_error(resp, err.status, NULL, err.msg);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = http_run_json(srv, &v[i]);
        if (o)
            json_array_append_new(arr, o);
    }
    free(v);
    http_resp_json(resp, 200, json_pack("{s:o}", "runs", arr ? arr : json_array()));
}

/* The run of the path through op (lh_app_runs_get or lh_app_runs_cancel),
 * answered with the run as op leaves it (status ok), or with op's error
 * (a run that already ended cannot be cancelled: 409). The run id when the
 * answer is the run, else NULL. */
static const char *run_answer(struct http_req *req, struct http_resp *resp,
                              enum lh_status (*op)(struct lh_app_runs *, const char *,
                                                   struct lh_app_run_view *, struct lh_error *),
                              unsigned ok)
{
    const char *id = param_run(req, resp);
    struct lh_app_run_view *v = id ? malloc(sizeof *v) : NULL;
    struct lh_error err;
    if (!id)
        return NULL;
    if (!v) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return NULL;
    }
    if (op(req->srv->runs, id, v, &err) == LH_OK) {
        http_resp_json(resp, ok, http_run_json(req->srv, v));
    } else {
        run_error(resp, &err);
        id = NULL;
    }
    free(v);
    return id;
}

static void get_one(struct http_req *req, struct http_resp *resp)
{
    run_answer(req, resp, lh_app_runs_get, 200);
}

static void get_log(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *id = param_run(req, resp);
    struct lh_error err;
    bool complete = false;
    if (!id)
        return;
    struct lh_buf b;
    lh_buf_init(&b, 4u << 20);
    if (lh_app_runs_log(srv->runs, id, &b, &complete, &err) != LH_OK) {
        run_error(resp, &err);
        lh_buf_reset(&b);
        return;
    }
    json_t *lines = json_array();
    size_t at = 0;
    while (lines && at < b.len) {
        const uint8_t *nl = memchr(b.data + at, '\n', b.len - at);
        size_t len = nl ? (size_t)(nl - (b.data + at)) : b.len - at;
        json_t *l = json_loadb((const char *)b.data + at, len, 0, NULL);
        at += len + 1;
        json_t *m = json_object_get(l, "message");
        if (!json_is_object(l) || !json_is_string(m)) {
            json_decref(l);
            continue; /* a damaged line of a stored log */
        }
        /* stored lines were scrubbed when written; masked again here */
        json_object_set_new(l, "message", text_json(srv, json_string_value(m)));
        json_array_append_new(lines, l);
    }
    lh_buf_reset(&b);
    http_resp_json(resp, 200,
                   json_pack("{s:s, s:b, s:o}", "run_id", id, "complete", complete, "lines",
                             lines ? lines : json_array()));
}

static void cancel(struct http_req *req, struct http_resp *resp)
{
    const char *id = run_answer(req, resp, lh_app_runs_cancel, 202);
    if (id)
        lh_info("run %s: cancel requested through the API", id);
}

static const struct http_route routes[] = {
    {"GET", "/api/runs", list, HTTP_BODY_NONE},
    {"GET", "/api/runs/{run_id}", get_one, HTTP_BODY_NONE},
    {"GET", "/api/runs/{run_id}/log", get_log, HTTP_BODY_NONE},
    {"POST", "/api/runs/{run_id}/cancel", cancel, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_runs = {"runs", routes, sizeof routes / sizeof routes[0],
                                                  NULL};
