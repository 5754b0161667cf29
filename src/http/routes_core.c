/*
 * routes_core.c — routes that touch no storage: health, metrics and the
 * OpenAPI document. Health answers from memory (the hooks' counters) so it
 * stays prompt whatever the store or the scheduler is doing.
 */
#include "http_int.h"

static void health(struct http_req *req, struct http_resp *resp)
{
    uint64_t schedules = 0, running = 0;
    const struct lh_http_hooks *h = &req->srv->hooks;
    if (h->health)
        h->health(h->ctx, &schedules, &running);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "status", "ok", "version", LH_VERSION,
                          "build", LH_BUILD_HASH, "schedules", (json_int_t)schedules, "running",
                          (json_int_t)running);
    http_resp_json(resp, 200, o);
}

static void metrics(struct http_req *req, struct http_resp *resp)
{
    lh_buf_clear(&resp->body);
    lh_app_metrics_render(req->srv->metrics, &resp->body);
    lh_app_runs_metrics(req->srv->runs, &resp->body); /* running runs, read now */
    if (!lh_buf_ok(&resp->body)) {
        http_resp_error(resp, 500, NULL, "metrics too large");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void openapi(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    http_resp_text(resp, 200, "application/json", http_openapi_json, http_openapi_json_len);
}

static const struct http_route routes[] = {
    {"GET", "/api/health", health, HTTP_BODY_NONE},
    {"GET", "/metrics", metrics, HTTP_BODY_NONE},
    {"GET", "/api/openapi.json", openapi, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_core = {"core", routes, sizeof routes / sizeof routes[0],
                                                  NULL};
