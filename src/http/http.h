/*
 * http.h — the daemon's REST API.
 *
 * The server is libmicrohttpd with an internal thread pool, each thread
 * polling its own epoll set: an idle or slow connection costs a slot and a
 * little memory, never a thread, so slowloris clients cannot starve
 * /api/health. Routes are tables (method + path pattern + handler) private
 * to this folder; the catalog routes and the core routes (health, metrics,
 * openapi) are built in, the schedule routes plug in as one more table.
 *
 * The configuration (struct lh_app_config) and the metrics registry
 * (struct lh_app_metrics) belong to app (app/app.h), which the server sits
 * on; one object here, struct lh_http_server, the running API.
 *
 * Threads: server create/start/stop/destroy from one thread; handlers run
 * on the server's pool threads.
 *
 * Docs: docs/http.md (routes, errors, auth, config precedence, metrics).
 */
#ifndef LH_HTTP_H
#define LH_HTTP_H

#include "core/core.h"

#include "app/app.h"

/* ------------------------------------------------------------ server */

/* What the daemon around the server provides. Every callback may be NULL
 * and is called from pool threads. */
struct lh_schedule_store; /* schedule/schedule.h */
struct lh_scheduler;
struct lh_store_set; /* store/store.h */

struct lh_http_hooks {
    void *ctx;
    /* GET /api/health: number of schedules and of runs in progress. */
    void (*health)(void *ctx, uint64_t *schedules, uint64_t *running);
    /* The schedule routes (/api/schedules...) answer when both are set;
     * borrowed, they must outlive the server. */
    struct lh_schedule_store *schedules;
    struct lh_scheduler *scheduler;
    /* Runs POST /api/ingest (app.h); borrowed. NULL: the server starts a
     * runner of its own (cfg->threads workers) when it starts. */
    struct lh_app_runner *runner;
    /* The run registry (/api/runs..., active_run, the run gauges of
     * /metrics); borrowed. NULL: the server keeps one of its own (no
     * history) for its own runner's jobs. */
    struct lh_app_runs *runs;
    /* The daemon's store set (store.h; thread-safe), borrowed, outliving
     * the server; the catalog routes open their catalog on it. NULL: the
     * server opens a set of its own from cfg. */
    struct lh_store_set *store;
};

struct lh_http_server;

/* Opens the catalog on hooks->store (or on a store set of its own, creating
 * a local data directory) and prepares the routes; does not listen yet. cfg and hooks are copied
 * (strings too). metrics is borrowed and may be NULL (the server owns one). */
enum lh_status lh_http_server_create(const struct lh_app_config *cfg,
                                     const struct lh_http_hooks *hooks,
                                     struct lh_app_metrics *metrics, struct lh_http_server **out,
                                     struct lh_error *err) LH_NODISCARD;
/* Binds cfg->listen and starts answering. */
enum lh_status lh_http_server_start(struct lh_http_server *srv, struct lh_error *err) LH_NODISCARD;
/* The bound address, "127.0.0.1:43121" (borrowed), and port. */
const char *lh_http_server_address(const struct lh_http_server *srv);
unsigned lh_http_server_port(const struct lh_http_server *srv);
/* The registry in use (borrowed). */
struct lh_app_metrics *lh_http_server_metrics(struct lh_http_server *srv);
/* Graceful stop: stops accepting, lets in-flight requests finish (up to
 * cfg->shutdown_secs), then closes every connection. Returns the number of
 * requests that were still running at the deadline (0 normally). */
unsigned lh_http_server_stop(struct lh_http_server *srv);
void lh_http_server_destroy(struct lh_http_server *srv);

#endif
