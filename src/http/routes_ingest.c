/*
 * routes_ingest.c — POST /api/ingest (one-shot ingest) and POST /api/sql.
 *
 * POST /api/ingest (docs/http.md): the body is a schedule "kind"
 * ({"type","dsn","table",...}); the run has a statement timeout
 * (ingest_timeout_secs, default 300 s, or "timeout_secs" in the body).
 * The handler only validates; the run is a job on app's job runner (app.h,
 * lh_app_runner_ingest), a run in the registry like any other. By default
 * the answer is 202 with the run (state queued) at once, and the client
 * polls GET /api/runs/{run_id}; with ?wait=true the answer is the outcome
 * once the run is over, as before runs were observable: the connection is
 * suspended meanwhile (resp.later, server.c), so no HTTP thread waits for
 * it. The DSN exists only in the job's memory; nothing is stored but the
 * dataset version and the run's record and log (scrubbed).
 *
 * POST /api/sql: {"sql": "...", "limit": N, "format": "json"|"csv"} or
 * `Accept: text/csv`; one SQL engine per request over its own store set
 * (engines share nothing; see sql.h), with the time limit
 * sql.timeout_ms. It runs on the query pool (HTTP_RUN_QUERY: server.c,
 * qpool.c), never on an HTTP thread. Every refusal of the statement is a
 * 400 naming "sql" (sql_status): a 5xx means the server failed.
 */
#include "http_int.h"

#include "ingest/ingest.h"
#include "schedule/schedule.h"
#include "sql/sql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One POST /api/ingest between its handler and its answer. Owns def (the
 * full DSN) until the runner takes it. */
struct ingest_call {
    struct http_req *req;
    struct http_resp *resp;
    http_resume_fn resume;
    struct lh_schedule *def;
    char run_id[64];
    int64_t timeout_ms;
    char dsn[sizeof ((struct lh_schedule *)0)->dsn]; /* for scrubbing the message */
};

static void ingest_call_free(void *arg)
{
    struct ingest_call *c = arg;
    lh_schedule_free(c->def);
    lh_schedule_wipe(c->dsn, sizeof c->dsn);
    free(c);
}

/* On a runner thread: the answer, as the handler gave it when it ran the
 * ingest itself. */
static void ingest_done(void *ctx, enum lh_status s, const struct lh_ingest_result *res,
                        const struct lh_error *err)
{
    struct ingest_call *c = ctx;
    struct http_resp *resp = c->resp;
    if (s == LH_E_CANCELLED && !res && strstr(err->msg, "shutting down")) {
        resp->retry_after = 5;
        http_resp_error(resp, 503, NULL, "%s", err->msg);
    } else if (s != LH_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        lh_redact_scrub(msg, sizeof msg, c->dsn); /* belt to the ingest's braces */
        http_mask_secrets(c->req->srv, msg, sizeof msg);
        /* the source is the upstream: its failures are 502, its timeouts 504 */
        unsigned st = s == LH_E_TIMEOUT                       ? 504
                      : s == LH_E_INVAL || s == LH_E_NOTFOUND ? 400
                      : s == LH_E_NOMEM || s == LH_E_INTERNAL ? 500
                                                              : 502;
        lh_warn("ingest (api) run=%s failed: %s", c->run_id, msg);
        http_resp_error(resp, st, st == 400 ? "kind" : NULL, "%s", msg);
    } else {
        lh_info("ingest (api) run=%s %s", c->run_id, res->message);
        json_t *o = json_pack("{s:b, s:I, s:I, s:i, s:s, s:I, s:b, s:I, s:f, s:s, s:s}", "success",
                              1, "rows", (json_int_t)res->rows, "bytes", (json_int_t)res->bytes,
                              "files", res->files, "dataset", res->dataset, "version",
                              (json_int_t)res->version, "published", res->published, "warnings",
                              (json_int_t)res->warnings, "duration_secs", res->duration_s,
                              "run_id", res->run_id, "message", res->message);
        if (o)
            http_json_redact(o);
        http_resp_json(resp, 200, o);
    }
    struct http_req *req = c->req;
    http_resume_fn resume = c->resume;
    ingest_call_free(c);
    resume(req);
}

/* On the HTTP thread, with the connection suspended: hands the ingest to
 * the job runner (app.h). */
static bool ingest_start(struct http_req *req, struct http_resp *resp, http_resume_fn resume)
{
    struct ingest_call *c = resp->later_arg;
    struct lh_error err;
    resp->later_arg = NULL;
    c->resume = resume;
    if (!req->srv->runner ||
        lh_app_runner_ingest(req->srv->runner, c->def, c->run_id, c->timeout_ms, ingest_done, c,
                             &err) != LH_OK) {
        resp->retry_after = 5;
        http_resp_error(resp, 503, NULL, "the server is shutting down; retry later");
        ingest_call_free(c);
        return false;
    }
    c->def = NULL; /* the runner's now */
    return true;
}

/* Validates the body and leaves the run to ingest_start: the answer comes
 * once the job finished, and no HTTP thread waits for it. */
static void ingest(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    json_t *b = json_deep_copy(req->json);
    struct lh_schedule *d = malloc(sizeof *d);
    struct ingest_call *call = calloc(1, sizeof *call);
    char *text = NULL;
    struct lh_error err;
    if (!b || !d || !call) {
        http_resp_error(resp, 500, NULL, "out of memory");
        goto done;
    }
    bool bad = false;
    const char *w = http_query(req, "wait", &bad);
    bool wait = w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
    if (bad || (w && !wait && strcmp(w, "false") != 0 && strcmp(w, "0") != 0)) {
        http_resp_error(resp, 400, "wait", "wait: want true or false");
        goto done;
    }
    int64_t timeout = srv->cfg.ingest_timeout_secs ? srv->cfg.ingest_timeout_secs : 300;
    json_t *t = json_object_get(b, "timeout_secs");
    if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 86400) {
            http_resp_error(resp, 400, "timeout_secs", "timeout_secs: want 1-86400");
            goto done;
        }
        timeout = json_integer_value(t);
        json_object_del(b, "timeout_secs");
    }
    /* a kind is validated as the kind of a throwaway schedule */
    char now[48];
    lh_time_format_iso(lh_time_wall_us(), now, sizeof now);
    json_t *wrap = json_pack("{s:s, s:O, s:{s:s, s:i}, s:b, s:s, s:s}", "id", "api-ingest", "kind",
                             b, "trigger", "type", "interval", "secs", 3600, "enabled", 1,
                             "created_at", now, "next_run_at", now);
    text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
    json_decref(wrap);
    if (!text) {
        http_resp_error(resp, 500, NULL, "out of memory");
        goto done;
    }
    if (lh_schedule_from_json(text, strlen(text), NULL, d, NULL, &err) != LH_OK) {
        http_resp_error(resp, 400, http_msg_field(req, err.msg, "kind"), "%s", err.msg);
        goto done;
    }
    if (d->dsn_secret[0] || d->password_env[0]) {
        http_resp_error(resp, 400, "kind.dsn",
                        "kind.dsn: a one-shot ingest takes the DSN with its password");
        goto done;
    }
    lh_app_run_id_new(call->run_id);
    if (!wait) {
        /* queued now; the client polls the run */
        if (!srv->runner ||
            lh_app_runner_ingest(srv->runner, d, call->run_id, timeout * 1000, NULL, NULL,
                                 &err) != LH_OK) {
            resp->retry_after = 5;
            http_resp_error(resp, 503, NULL, "the server is shutting down; retry later");
            goto done;
        }
        d = NULL; /* the runner's now */
        struct lh_app_run_view *v = malloc(sizeof *v);
        if (v && lh_app_runs_get(srv->runs, call->run_id, v, &err) == LH_OK)
            http_resp_json(resp, 202, http_run_json(srv, v));
        else
            http_resp_json(resp, 202, json_pack("{s:s}", "run_id", call->run_id));
        free(v);
        goto done;
    }
    call->req = req;
    call->resp = resp;
    call->timeout_ms = timeout * 1000;
    memcpy(call->dsn, d->dsn, sizeof call->dsn);
    call->def = d;
    d = NULL;
    resp->later = ingest_start;
    resp->later_arg = call;
    resp->later_drop = ingest_call_free;
    call = NULL;
done:
    if (text) {
        lh_schedule_wipe(text, strlen(text));
        free(text);
    }
    lh_schedule_free(d);
    if (call)
        ingest_call_free(call);
    json_decref(b);
}

static bool wants_csv(const char *accept)
{
    if (!accept)
        return false;
    for (const char *p = accept; *p; p++)
        if (strncasecmp(p, "text/csv", 8) == 0)
            return true;
    return false;
}

/* What the statement's failure means for the client. Everything the
 * engine refuses or cannot compile (syntax, unknown table, read-only and
 * sandbox refusals, size limits) and what it cannot read is reported
 * against the statement: 400 naming "sql". The time limit is 504, a
 * dataset vanishing under it 404, the store failing 503; 500 is left for
 * the engine's own bugs. */
static unsigned sql_status(enum lh_status s)
{
    switch (s) {
    case LH_E_TIMEOUT:
        return 504;
    case LH_E_NOTFOUND:
        return 404;
    case LH_E_IO:
    case LH_E_CONNECT:
    case LH_E_NOSPC:
    case LH_E_NOMEM:
    case LH_E_CANCELLED:
        return 503;
    case LH_E_INTERNAL:
        return 500;
    default: /* LH_E_INVAL, LH_E_PERM, LH_E_UNSUPPORTED, LH_E_TOOBIG, LH_E_FORMAT, ... */
        return 400;
    }
}

static void sql(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *k;
    json_t *v;
    json_object_foreach(req->json, k, v)
    {
        if (strcmp(k, "sql") != 0 && strcmp(k, "limit") != 0 && strcmp(k, "format") != 0) {
            http_resp_error(resp, 400, k, "unknown field '%.64s'", k);
            return;
        }
    }
    json_t *q = json_object_get(req->json, "sql");
    if (!json_is_string(q) || json_string_length(q) == 0) {
        http_resp_error(resp, 400, "sql", "sql: a statement is required");
        return;
    }
    json_t *l = json_object_get(req->json, "limit");
    uint64_t limit = 0;
    if (l && !json_is_null(l)) {
        if (!json_is_integer(l) || json_integer_value(l) < 0) {
            http_resp_error(resp, 400, "limit", "limit: want a non-negative integer");
            return;
        }
        limit = (uint64_t)json_integer_value(l);
    }
    enum lh_sql_format fmt = wants_csv(req->accept) ? LH_SQL_FORMAT_CSV : LH_SQL_FORMAT_JSON;
    json_t *f = json_object_get(req->json, "format");
    if (f && !json_is_null(f) &&
        (!json_is_string(f) || !lh_sql_format_parse(json_string_value(f), &fmt))) {
        http_resp_error(resp, 400, "format", "format: want json, csv or ndjson");
        return;
    }
    struct lh_sql_engine *e = NULL;
    struct lh_error err;
    struct lh_sql_options so = {.timeout_ms = srv->cfg.sql_timeout_ms,
                                .max_rows = srv->cfg.sql_max_rows,
                                .memory_limit = srv->cfg.sql_memory_limit,
                                .threads = srv->cfg.sql_threads,
                                .cache_dir = srv->cfg.sql_cache_dir};
    /* over the daemon's one store set, as every other route (store.h: any
     * thread may call it) */
    if (lh_sql_engine_create(srv->set, &so, &e, &err) != LH_OK) {
        http_resp_status_error(resp, err.status, NULL, err.msg);
        return;
    }
    lh_buf_clear(&resp->body);
    enum lh_status s = lh_sql_execute(e, json_string_value(q), limit, fmt, &resp->body, &err);
    lh_sql_engine_destroy(e);
    if (s != LH_OK) {
        unsigned st = sql_status(s);
        lh_buf_clear(&resp->body);
        if (st >= 500)
            lh_warn("sql (api): %s: %s", lh_status_str(s), err.msg);
        http_resp_error(resp, st, st < 500 ? "sql" : NULL, "%s", err.msg);
        return;
    }
    resp->status = 200;
    resp->content_type = fmt == LH_SQL_FORMAT_CSV      ? "text/csv; charset=utf-8"
                         : fmt == LH_SQL_FORMAT_NDJSON ? "application/x-ndjson"
                                                       : "application/json";
}

static const struct http_route routes[] = {
    {"POST", "/api/ingest", ingest, HTTP_BODY_JSON},
    {"POST", "/api/sql", sql, HTTP_BODY_JSON | HTTP_RUN_QUERY},
};

const struct http_route_table http_routes_ingest = {"ingest", routes,
                                                    sizeof routes / sizeof routes[0], NULL};
