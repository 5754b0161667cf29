/*
 * http_int.h — private to src/http (and its white-box tests).
 *
 * A request is processed in two steps that know nothing of libmicrohttpd,
 * so the fuzz target drives exactly the code the daemon runs:
 *   http_request_head()  once the headers are in: auth, routing (404/405),
 *                        path validation, Content-Type (415) and declared
 *                        length (413) — may answer before any body is read;
 *   http_request_run()   once the body is in: JSON parse (400) and handler.
 * server.c is the libmicrohttpd glue: sockets, body accumulation, limits,
 * per-request log line and metrics, graceful stop.
 *
 * Route tables: each file of routes exports one `struct http_route_table`;
 * http_route_tables[] in router.c lists them. The schedule routes will be
 * one more table whose `enabled` checks that a scheduler is attached.
 */
#ifndef LH_HTTP_INT_H
#define LH_HTTP_INT_H

#include "http.h"

#include "catalog/catalog.h"

#include <jansson.h>
#include <pthread.h>

#define HTTP_MAX_PATH 2048
#define HTTP_MAX_SEGMENTS 16
#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_QUERY 16
#define HTTP_MAX_QUERY_BYTES 8192 /* the query string; longer is 414 */

struct http_req;
struct http_resp;
typedef void (*http_handler_fn)(struct http_req *req, struct http_resp *resp);

/* A route's flags: what body it takes, and where its handler runs.
 * HTTP_RUN_QUERY: on the query pool (qpool.c), with the connection
 * suspended, so a long statement never holds one of the few HTTP threads;
 * a full pool answers 429 with Retry-After. */
enum {
    HTTP_BODY_NONE = 0,
    HTTP_BODY_JSON = 1u << 0,
    HTTP_RUN_QUERY = 1u << 4,
};

struct http_route {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern; /* "/api/datasets/{name}": literal or {param} segments */
    http_handler_fn fn;
    unsigned flags; /* HTTP_BODY_* | HTTP_RUN_* */
};

struct http_route_table {
    const char *name;
    const struct http_route *routes;
    size_t n;
    bool (*enabled)(const struct lh_http_server *srv); /* NULL: always */
};

extern const struct http_route_table http_routes_core;
extern const struct http_route_table http_routes_catalog;
extern const struct http_route_table http_routes_schedules;
extern const struct http_route_table http_routes_cron; /* /api/cron/next */
extern const struct http_route_table http_routes_ingest;    /* /api/ingest, /api/sql */
extern const struct http_route_table http_routes_web;       /* GET / and dashboard files */
extern const struct http_route_table http_routes_iceberg;   /* /iceberg/v1: Iceberg REST catalog */
extern const struct http_route_table http_routes_runs;      /* /api/runs... */
/* NULL-terminated list of every table, in match order. */
extern const struct http_route_table *const http_route_tables[];

struct http_kv {
    const char *key, *value; /* raw (percent-encoded) */
};

struct http_req {
    struct lh_http_server *srv;
    /* inputs (borrowed from the transport) */
    const char *method;
    const char *raw_path; /* no query, not decoded */
    struct http_kv query[HTTP_MAX_QUERY];
    size_t nquery;
    bool query_overflow;
    bool uri_too_long;         /* query string over HTTP_MAX_QUERY_BYTES: 414 */
    const char *host;          /* NULL when absent */
    const char *origin;        /* NULL when absent */
    const char *sec_fetch_site;/* NULL when absent */
    const char *client;        /* X-Lakehouse-Client, NULL when absent */
    const char *content_type;  /* NULL when absent */
    const char *authorization; /* NULL when absent */
    const char *accept;        /* NULL when absent */
    const char *if_none_match; /* NULL when absent */
    bool has_length;
    uint64_t content_length;
    const uint8_t *body;
    size_t body_len;
    /* filled by http_request_head */
    const struct http_route *route;
    const char *route_name; /* pattern, or "unmatched" — the metrics label */
    const char *param_names[HTTP_MAX_PARAMS];
    char *params[HTTP_MAX_PARAMS]; /* decoded, in arena */
    size_t nparams;
    json_t *json; /* parsed body (HTTP_BODY_JSON), owned */
    struct lh_arena arena;
};

/* A handler that answers later (POST /api/ingest) leaves status 0 and sets
 * later: server.c suspends the connection, then calls later(req, resp,
 * resume) on the HTTP thread. later hands the work to another thread and
 * returns true; that thread fills resp and calls resume(req) once, which
 * gives the connection back (the HTTP thread sends resp). false: resp was
 * decided at once. A response dropped before later ran (a test calling
 * http_request_run alone) calls later_drop(later_arg). */
typedef void (*http_resume_fn)(struct http_req *req);
typedef bool (*http_later_fn)(struct http_req *req, struct http_resp *resp, http_resume_fn resume);

struct http_resp {
    unsigned status; /* 0 until decided */
    http_later_fn later;
    void *later_arg;
    void (*later_drop)(void *arg);
    const char *content_type;
    struct lh_buf body;
    char allow[64];        /* 405: Allow header */
    bool www_authenticate; /* 401 */
    const char *etag;          /* static string or NULL */
    const char *cache_control; /* NULL: "no-store" */
    const char *csp;           /* Content-Security-Policy or NULL */
    unsigned retry_after;      /* 429/503: Retry-After seconds, 0 = none */
};

struct lh_http_server {
    struct lh_app_config cfg; /* strings in cfg.arena */
    struct lh_http_hooks hooks;
    struct lh_app_metrics *metrics;
    bool own_metrics;
    /* POST /api/ingest's jobs: hooks.runner, or our own (own_runner) */
    struct lh_app_runner *runner;
    bool own_runner;
    struct lh_app_runs *runs; /* hooks.runs, or our own (own_runs) */
    bool own_runs;
    struct lh_app_jobs jobs; /* what our own runner's jobs use */
    /* the store set (hooks.store, or our own: own_set) and the one catalog
     * on it; every handler thread uses both at once (store.h, catalog.h) */
    struct lh_store_set *set;
    bool own_set;
    struct lh_catalog *cat;
    /* transport (server.c) */
    struct http_qpool *qpool; /* POST /api/sql and other HTTP_RUN_QUERY routes */
    struct MHD_Daemon *daemon;
    int listen_fd;
    char address[300];
    unsigned port;
    pthread_mutex_t inflight_mu;
    pthread_cond_t inflight_cv;
    unsigned inflight;
};

void http_req_init(struct http_req *req, struct lh_http_server *srv);
void http_req_reset(struct http_req *req);
void http_resp_init(struct http_resp *resp);
void http_resp_reset(struct http_resp *resp);

/* Fills req->query from a raw query string (the bytes after '?', not
 * decoded): '&'-separated "key=value" or "key"; empty items skipped. Keys
 * and values are copied into the arena; more than HTTP_MAX_QUERY items set
 * query_overflow, more than HTTP_MAX_QUERY_BYTES sets uri_too_long. */
void http_query_parse(struct http_req *req, const char *qs, size_t n);

/* Does the Host header value (or an Origin's host[:port]) name this
 * server: the listen address, localhost/127.0.0.1/[::1] with its port, any
 * IP address with its port when listening on a wildcard address, or an
 * allowed_hosts entry? default_port: the port a value without one means
 * (80 for Host, 80/443 for an Origin's scheme). */
bool http_host_allowed(const struct lh_http_server *srv, const char *host, size_t n,
                       unsigned default_port);

/* Returns true when resp is decided (error or early answer) and the body
 * must not be read further. */
bool http_request_head(struct http_req *req, struct http_resp *resp);
void http_request_run(struct http_req *req, struct http_resp *resp);

/* Percent-decodes [s, s+n) into the arena; NULL on bad escapes or %00. */
char *http_pct_decode(struct lh_arena *a, const char *s, size_t n);
/* Decoded query value or NULL; *bad set on a malformed escape. */
const char *http_query(struct http_req *req, const char *key, bool *bad);
/* Decoded path parameter or NULL. */
const char *http_param(const struct http_req *req, const char *name);
/* The path parameter checked as a store name; on failure writes a 400
 * naming `field` and returns NULL. */
const char *http_param_name(struct http_req *req, struct http_resp *resp, const char *name);

/* Responses. The body is replaced. */
void http_resp_json(struct http_resp *resp, unsigned status, json_t *doc); /* steals doc */
void http_resp_error(struct http_resp *resp, unsigned status, const char *field, const char *fmt,
                     ...) LH_PRINTF(4, 5);
void http_resp_status_error(struct http_resp *resp, enum lh_status s, const char *field,
                            const char *msg);
/* The Iceberg REST spec's error shape {"error":{"message","type","code"}}
 * (routes_iceberg.c), for every answer under /iceberg. */
void http_iceberg_error(struct http_resp *resp, unsigned status, const char *type,
                        const char *fmt, ...) LH_PRINTF(4, 5);
void http_resp_text(struct http_resp *resp, unsigned status, const char *ctype, const void *p,
                    size_t n);

/* Constant-time check of an "Authorization: Bearer <token>" value. */
bool http_auth_ok(const char *header, const char *token);

/* The "field" of a validation message "kind.dsn: must ..." (its prefix
 * before ": " when that looks like a field path), else def. */
const char *http_msg_field(struct http_req *req, const char *msg, const char *def);

/* One run as the API shows it (routes_runs.c; docs/runs.md), its message
 * redacted. NULL on out of memory. */
json_t *http_run_json(const struct lh_http_server *srv, const struct lh_app_run_view *v);
/* The secrets a server masks in every text it returns besides DSN
 * passwords: its token (cfg.token). In place. */
void http_mask_secrets(const struct lh_http_server *srv, char *s, size_t cap);

/* Redacts DSN passwords in every string of doc that could carry one. */
void http_json_redact(json_t *doc);
/* One string as http_json_redact leaves it: SIZE_MAX when it may hold no
 * secret (keep s), else the length of the redacted text written to dst
 * like snprintf. */
size_t http_redact_text(const char *s, char *dst, size_t cap);
/* A schedule as the schedule routes show it (routes_schedules.c): no
 * sealed secret, every string redacted, "running": active_run_id != NULL
 * and "active_run_id", compact, appended to out. */
enum lh_status http_schedule_json(const struct lh_schedule *d, const char *active_run_id,
                                  struct lh_buf *out, struct lh_error *err);

/* The embedded OpenAPI document (openapi.json, generated into the build). */
extern const unsigned char http_openapi_json[];
extern const size_t http_openapi_json_len;

/* The query pool (qpool.c): `threads` workers and room for `queue`
 * waiting jobs. reserve() takes a place (false: full or stopping, answer
 * 429); the caller then suspends the connection and submit()s, which
 * cannot fail. A job runs fn(arg, false) on a worker; jobs still waiting at
 * stop run fn(arg, true) on the stopping thread, and stop waits for
 * the running ones. Any thread; one mutex inside. */
struct http_qpool;
enum lh_status http_qpool_create(unsigned threads, unsigned queue, struct http_qpool **out,
                                 struct lh_error *err) LH_NODISCARD;
bool http_qpool_reserve(struct http_qpool *p);
void http_qpool_submit(struct http_qpool *p, void (*fn)(void *arg, bool cancelled), void *arg);
/* Jobs queued or running now (for logs and tests). */
unsigned http_qpool_load(struct http_qpool *p);
/* Refuses new jobs, cancels the waiting ones, joins the workers. */
void http_qpool_stop(struct http_qpool *p);
void http_qpool_destroy(struct http_qpool *p); /* stops first */

/* Server-side lifecycle helpers used by tests and the fuzz target: a server
 * that is created but never started. */

#endif
