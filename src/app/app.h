/*
 * app.h — the daemon's wiring, between the modules and their front ends
 * (http, cli): its configuration, its metrics and its job runner (the
 * bridge from schedules and one-shot requests to ingest).
 *
 * Objects:
 *   struct lh_app_config    caller storage: every setting of `lakehouse
 *                           serve`, filled from defaults, a JSON file, the
 *                           LAKEHOUSE_* environment and flags, in that order;
 *   struct lh_app_metrics   a thread-safe Prometheus registry (counters and
 *                           gauges with labels, histograms with buckets);
 *                           other modules feed it through the run API below;
 *   struct lh_app_jobs      what one ingest job needs (store, retention,
 *                           metrics), for the scheduler and for inline runs.
 *
 * Threads: config functions belong to the caller's thread. Metrics functions
 * may be called from any thread. Job functions from any thread.
 *
 * Docs: docs/ARCHITECTURE.md (where app sits), docs/http.md (config keys,
 * metrics), docs/daemon.md (start-up and shutdown).
 */
#ifndef LH_APP_H
#define LH_APP_H

#include "core/core.h"

#include "catalog/catalog.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"

/* ------------------------------------------------------------ config */

/* Webhook events (docs/webhooks.md); a webhook subscribes to a set. */
enum {
    LH_APP_WEBHOOK_RUN_FAILED = 1u << 0,      /* a run ended failed or timed out */
    LH_APP_WEBHOOK_RUN_RECOVERED = 1u << 1,   /* a success after failed runs */
    LH_APP_WEBHOOK_SCHEDULE_PAUSED = 1u << 2, /* auto-pause after failed runs */
    LH_APP_WEBHOOK_SCHEMA_CHANGED = 1u << 3,  /* a published version changed the schema */
    LH_APP_WEBHOOK_ALL = 0xfu,
};
#define LH_APP_WEBHOOKS_MAX 32

/* One endpoint of the "webhooks" config key. Strings borrowed (the
 * config's arena). */
struct lh_app_webhook {
    const char *url;       /* http:// or https:// */
    const char *secret;    /* the HMAC-SHA256 key; never logged */
    unsigned events;       /* LH_APP_WEBHOOK_* bits; never 0 */
    unsigned timeout_secs; /* per request; 0 = 10 */
    unsigned max_attempts; /* tries before giving up; 0 = 5 */
    /* Only events of these schedules: ids or fnmatch(3) patterns
     * ("orders-*"); nschedules 0 = every schedule. */
    const char *const *schedules;
    size_t nschedules;
};

#define LH_APP_DEFAULT_LISTEN "127.0.0.1:8080"
#define LH_APP_DEFAULT_BODY_LIMIT ((size_t)1 << 20)

/* Routes that answer without a token when one is configured. */
enum {
    LH_APP_OPEN_HEALTH = 1u << 0,  /* GET /api/health */
    LH_APP_OPEN_METRICS = 1u << 1, /* GET /metrics */
    LH_APP_OPEN_OPENAPI = 1u << 2, /* GET /api/openapi.json */
};

struct lh_app_config {
    const char *listen;          /* "host:port", "[v6]:port"; port 0 picks a free one */
    const char *data_dir;        /* local data directory; NULL = $LAKEHOUSE_DATA or default */
    const char *store_url;       /* s3://bucket/prefix; wins over data_dir */
    const char *buckets_config;  /* JSON file with a "buckets" object, or NULL */
    const char *token;           /* bearer token; NULL or "" = no authentication */
    const char *secret_key_path; /* for DSN encryption (used by the scheduler) */
    unsigned open_routes;        /* LH_APP_OPEN_* bits; default health | metrics */
    bool log_json;               /* JSON lines instead of text */
    size_t body_limit;           /* bytes; 0 = LH_APP_DEFAULT_BODY_LIMIT */
    unsigned workers;            /* scheduler: concurrent runs; 0 = 4 */
    unsigned keep_versions;      /* catalog retention; 0 = catalog default (5) */
    unsigned threads;            /* HTTP pool threads; 0 = 4 */
    unsigned connection_limit;   /* open connections; 0 = 4096 */
    unsigned per_ip_limit;       /* connections per client address; 0 = 1024 */
    unsigned timeout_secs;       /* idle connection timeout; 0 = 30 */
    unsigned shutdown_secs;      /* grace for in-flight requests on stop; 0 = 30 */
    unsigned grace_secs;         /* scheduler: grace for running jobs on stop; 0 = 30 */
    int64_t sweep_after_secs;    /* start-up sweep: leftovers older than this; <0 = 600 */
    unsigned ingest_timeout_secs;/* POST /api/ingest statement timeout; 0 = 300 */
    size_t connection_memory;    /* per-connection header/read buffer; 0 = 64 KiB */
    unsigned sql_workers;        /* query pool: POST /api/sql statements at once; 0 = 4 */
    unsigned sql_queue;          /* query pool: statements waiting (more: 429); 0 = 16 */
    /* Host names (with or without ":port") that may reach the API besides
     * the listen address and localhost/127.0.0.1/[::1]; "*" allows any.
     * Strings in the arena; docs/http.md "Browsers". */
    const char **allowed_hosts;
    size_t nallowed_hosts;
    uint64_t sql_memory_limit;   /* POST /api/sql: DuckDB memory_limit per query; 0 = 1 GiB */
    unsigned sql_threads;        /* POST /api/sql: DuckDB threads per query; 0 = 2 */
    unsigned sql_timeout_ms;     /* POST /api/sql: time limit; 0 = 30,000 */
    uint64_t sql_max_rows;       /* POST /api/sql: row cap; 0 = 100,000 */
    const char *sql_cache_dir;   /* where S3 datasets' parts are cached; NULL = default */
    unsigned lease_ttl_secs;     /* the store's daemon lease; 0 = the store's default */
    const struct lh_app_webhook *webhooks; /* in the arena; docs/webhooks.md */
    size_t nwebhooks;
    struct lh_arena arena;       /* owns strings read from the file or environment */
};

/* init: the defaults; reset: releases what it holds and restores them. */
void lh_app_config_init(struct lh_app_config *c);
void lh_app_config_reset(struct lh_app_config *c);
/* Reads a JSON config file (keys: docs/http.md). Unknown keys are errors
 * naming the key; a file holding "buckets" becomes buckets_config. */
enum lh_status lh_app_config_load(struct lh_app_config *c, const char *path,
                                   struct lh_error *err) LH_NODISCARD;
/* Applies LAKEHOUSE_LISTEN, LAKEHOUSE_DATA, LAKEHOUSE_STORE, LAKEHOUSE_TOKEN,
 * LAKEHOUSE_LOG_FORMAT, LAKEHOUSE_BODY_LIMIT, LAKEHOUSE_WORKERS,
 * LAKEHOUSE_SECRET_KEY_FILE, LAKEHOUSE_HTTP_THREADS, LAKEHOUSE_ALLOWED_HOSTS
 * (comma-separated; replaces the file's list) when set. */
enum lh_status lh_app_config_apply_env(struct lh_app_config *c,
                                        struct lh_error *err) LH_NODISCARD;
/* Copies s into the config's arena (for flags that outlive argv). NULL on OOM. */
const char *lh_app_config_strdup(struct lh_app_config *c, const char *s);
/* Appends one allowed_hosts entry (copied; checked: a host name, IPv4,
 * [IPv6], optional ":port", or "*"). */
enum lh_status lh_app_config_allow_host(struct lh_app_config *c, const char *host,
                                         struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------ metrics */

enum lh_app_metric_type { LH_APP_COUNTER, LH_APP_GAUGE, LH_APP_HISTOGRAM };

struct lh_app_metrics;

/* A registry with the built-in families already registered:
 *   lakehouse_http_requests_total{route,status}         counter
 *   lakehouse_runs_total{schedule,outcome}              counter
 *   lakehouse_rows_ingested_total                       counter
 *   lakehouse_bytes_written_total                       counter
 *   lakehouse_run_duration_seconds                      histogram
 *   lakehouse_runs_in_flight                            gauge
 *   lakehouse_schedule_next_run_timestamp_seconds{schedule}     gauge
 *   lakehouse_schedule_last_success_timestamp_seconds{schedule} gauge
 * Free with lh_app_metrics_destroy. */
enum lh_status lh_app_metrics_create(struct lh_app_metrics **out,
                                      struct lh_error *err) LH_NODISCARD;
void lh_app_metrics_destroy(struct lh_app_metrics *m);

/* Registers a family. name and labels follow Prometheus rules
 * ([a-zA-Z_:][a-zA-Z0-9_:]*); buckets (histograms only) are ascending upper
 * bounds, +Inf implied. LH_E_EXISTS when the name is taken. Strings copied. */
enum lh_status lh_app_metrics_register(struct lh_app_metrics *m, const char *name,
                                        const char *help, enum lh_app_metric_type type,
                                        const char *const *labels, size_t nlabels,
                                        const double *buckets, size_t nbuckets,
                                        struct lh_error *err) LH_NODISCARD;
/* values: one per label of the family (borrowed, copied on first use).
 * Calls naming an unknown family or the wrong type are ignored (metrics must
 * never fail a run); a family holds at most 100,000 series. */
void lh_app_metrics_add(struct lh_app_metrics *m, const char *name, const char *const *values,
                         double v);
void lh_app_metrics_set(struct lh_app_metrics *m, const char *name, const char *const *values,
                         double v);
void lh_app_metrics_observe(struct lh_app_metrics *m, const char *name, const char *const *values,
                             double v);
/* Drops one series (a deleted schedule). */
void lh_app_metrics_remove(struct lh_app_metrics *m, const char *name, const char *const *values);
/* Prometheus text exposition format 0.0.4. Appends to out. */
void lh_app_metrics_render(struct lh_app_metrics *m, struct lh_buf *out);

/* Run observation, for the scheduler (any thread). outcome: "success",
 * "failure", "cancelled"... */
void lh_app_metrics_run_started(struct lh_app_metrics *m);
void lh_app_metrics_run_finished(struct lh_app_metrics *m, const char *schedule,
                                  const char *outcome, uint64_t rows, uint64_t bytes,
                                  double duration_secs);
/* Wall-clock microseconds; 0 leaves that gauge unset/removed. */
void lh_app_metrics_schedule_times(struct lh_app_metrics *m, const char *schedule,
                                    int64_t next_run_us, int64_t last_success_us);
void lh_app_metrics_schedule_forget(struct lh_app_metrics *m, const char *schedule);

/* ------------------------------------------------------------ webhooks */

/* Signed webhook deliveries (webhooks.c, docs/webhooks.md): events are
 * built into one JSON body and queued per webhook (bounded; a full queue
 * drops its oldest delivery with a warning), never sent on the caller's
 * thread; each webhook's delivery thread POSTs them with libcurl, signed
 * with its secret (X-Lakehouse-Signature: sha256=<hex HMAC-SHA256 of the
 * body>), and retries connection errors, 408, 429 and 5xx with exponential
 * backoff and jitter. Counted in lakehouse_webhook_deliveries_total{outcome}.
 * Threads: every function from any thread; destroy once, after the last
 * emit. */
struct lh_app_webhooks;
struct lh_run_info;
struct lh_schedule;
struct lh_sched_event;
struct lh_ingest_result;

struct lh_app_webhooks_options {
    unsigned queue_max;   /* deliveries waiting, per webhook; 0 = 1000 */
    unsigned backoff_ms;  /* first retry after this (x2 each try, +-25 % jitter); 0 = 2000,
                           * or LAKEHOUSE_WEBHOOK_BACKOFF_MS */
    unsigned shutdown_ms; /* destroy delivers for this long, then drops; 0 = 3000 */
};

/* The name of one event bit ("run_failed"...), NULL for anything else;
 * and back: 0 for an unknown name. */
const char *lh_app_webhook_event_name(unsigned event);
unsigned lh_app_webhook_event_parse(const char *name);

/* hooks (copied) may be empty: then nothing is ever queued and no thread
 * runs. metrics may be NULL. o may be NULL (defaults). */
enum lh_status lh_app_webhooks_create(const struct lh_app_webhook *hooks, size_t n,
                                      const struct lh_app_webhooks_options *o,
                                      struct lh_app_metrics *metrics,
                                      struct lh_app_webhooks **out,
                                      struct lh_error *err) LH_NODISCARD;
/* Delivers what is due for up to shutdown_ms, then drops the rest (one
 * warning with the count). NULL is fine. */
void lh_app_webhooks_destroy(struct lh_app_webhooks *w);
/* A scheduler event (lh_sched_event): run_failed (failed or timeout; not
 * cancelled), run_recovered (success with prev_failures > 0),
 * schedule_paused (auto-pause). w may be NULL. */
void lh_app_webhooks_sched_event(struct lh_app_webhooks *w, const struct lh_sched_event *ev);
/* schema_changed, when res->schema_change is not empty: a scheduled run
 * (run) of def published a version whose schema differs. w may be NULL. */
void lh_app_webhooks_schema_changed(struct lh_app_webhooks *w, const struct lh_schedule *def,
                                    const struct lh_run_info *run,
                                    const struct lh_ingest_result *res);

/* Counters since create (tests, /metrics has the same). */
struct lh_app_webhooks_stats {
    uint64_t queued;    /* deliveries queued (event x subscribed webhook) */
    uint64_t delivered; /* a 2xx answer */
    uint64_t retried;   /* tries that failed and were scheduled again */
    uint64_t failed;    /* gave up: a 4xx other than 408/429, or out of tries */
    uint64_t dropped;   /* the queue was full, or shutdown came first */
    unsigned pending;   /* waiting or in flight now */
};
void lh_app_webhooks_stats(struct lh_app_webhooks *w, struct lh_app_webhooks_stats *st);

/* ------------------------------------------------------------ jobs */

/* The bridge from the scheduler to ingest (jobs.c): what `lakehouse serve`
 * passes to lh_scheduler_start, what POST /api/ingest runs and what
 * `lakehouse schedule run` runs inline when no daemon is up. */
struct lh_schedule;
struct lh_run_info;
struct lh_run_result;
struct lh_sched_event;
struct lh_ingest_job;
struct lh_ingest_result;

struct lh_app_runs;
struct lh_store_set;

struct lh_app_jobs {
    const char *root;                /* store URL or data directory; NULL = default */
    const char *buckets_config;      /* may be NULL */
    struct lh_app_metrics *metrics; /* may be NULL */
    unsigned keep_versions;          /* retention of the runs' datasets; 0 = catalog default */
    struct lh_app_runs *runs;        /* the live run registry; may be NULL (none kept) */
    struct lh_app_webhooks *webhooks; /* may be NULL */
    /* The store set every run uses (borrowed; thread-safe, store.h): the
     * daemon's one set. NULL: each run opens one from root and
     * buckets_config (the CLI's inline run). */
    struct lh_store_set *set;
};

/* Runs one ingest as def's kind describes it (source kind, table, dataset,
 * batch size, order, limit, mode, cursor), with the full DSN `dsn`, in
 * env->set (shared by every run at once) or a set opened for the run.
 * statement_timeout_ms <= 0: none. expose (may be NULL) is called with the
 * job once it exists and with NULL before it is destroyed, so another
 * thread may lh_ingest_cancel it in between. err: one line, no password. */
enum lh_status lh_app_ingest_def(const struct lh_app_jobs *env, const struct lh_schedule *def,
                                  const char *dsn, const char *run_id,
                                  int64_t statement_timeout_ms,
                                  void (*expose)(void *ctx, struct lh_ingest_job *job),
                                  void *expose_ctx, struct lh_ingest_result *res,
                                  struct lh_error *err) LH_NODISCARD;
/* Run observation for lh_app_ingest_def_observed: ingest's on_progress and
 * on_log (ingest.h), both may be NULL. */
struct lh_ingest_progress;
struct lh_app_ingest_obs {
    void (*on_progress)(void *ctx, const struct lh_ingest_progress *p);
    void (*on_log)(void *ctx, enum lh_log_level level, const char *line);
    void *ctx;
};
/* lh_app_ingest_def with the run observed (obs may be NULL). */
enum lh_status lh_app_ingest_def_observed(const struct lh_app_jobs *env,
                                          const struct lh_schedule *def, const char *dsn,
                                          const char *run_id, int64_t statement_timeout_ms,
                                          void (*expose)(void *ctx, struct lh_ingest_job *job),
                                          void *expose_ctx, const struct lh_app_ingest_obs *obs,
                                          struct lh_ingest_result *res,
                                          struct lh_error *err) LH_NODISCARD;
/* lh_scheduler_job_fn (ctx: const struct lh_app_jobs *): the run id from
 * the scheduler, timeout_secs as the statement timeout, the run's cancel
 * hook wired to lh_ingest_cancel, lakehouse_runs_in_flight raised. */
void lh_app_scheduler_job(void *ctx, const struct lh_schedule *def, struct lh_run_info *run,
                           struct lh_run_result *out);
/* lh_scheduler_options.on_event (ctx: const struct lh_app_jobs *): the
 * run metrics and one log line per run (schedule, run id, outcome, rows,
 * bytes, duration, redacted message). */
void lh_app_scheduler_event(void *ctx, const struct lh_sched_event *ev);

/* ------------------------------------------------------------ runs */

/* The live run registry (runs.c; docs/runs.md): every run the daemon
 * starts — scheduled, run-now, one-shot — from the moment it is queued
 * until a while after it ended, with its state, phase, progress, log and
 * cancel. Finished runs are kept in memory (the newest 200) and, with a
 * schedule store, in the run history with their logs. Thread-safe: one
 * registry mutex over the list, one mutex per run over its fields (taken
 * after the registry's), one per run over its cancel hook. */

/* X(state, name). One table; the enum and lh_app_run_state_name() both come
 * from it. */
#define LH_APP_RUN_STATE_MAP(X)                                                                    \
    X(LH_APP_RUN_QUEUED, "queued")                                                                 \
    X(LH_APP_RUN_RUNNING, "running")                                                               \
    X(LH_APP_RUN_SUCCEEDED, "succeeded")                                                           \
    X(LH_APP_RUN_FAILED, "failed")                                                                 \
    X(LH_APP_RUN_CANCELLED, "cancelled")

enum lh_app_run_state {
#define LH_X_ENUM(state, name) state,
    LH_APP_RUN_STATE_MAP(LH_X_ENUM)
#undef LH_X_ENUM
        LH_APP_RUN_STATE_COUNT_
};
/* The state's name; "failed" for a value outside the enum. */
const char *lh_app_run_state_name(enum lh_app_run_state s);
/* Parses those names; false when s is none of them. */
bool lh_app_run_state_parse(const char *s, enum lh_app_run_state *out);

#define LH_APP_RUN_ID_MAX LH_RUN_ID_MAX
#define LH_APP_RUN_SCHEDULE_MAX (LH_SCHEDULE_ID_MAX + 1)
#define LH_APP_RUN_MSG_MAX LH_SCHEDULE_MSG_MAX

/* One run as the API shows it, live or finished (a plain value). */
struct lh_app_run_view {
    char run_id[LH_APP_RUN_ID_MAX];
    char schedule_id[LH_APP_RUN_SCHEDULE_MAX]; /* "" = none (a one-shot run) */
    char dataset[256];                         /* "" = unknown */
    char reason[16];                           /* schedule, retry, manual, catch-up, api */
    enum lh_app_run_state state;
    int phase; /* enum lh_ingest_phase while running; -1 none */
    int64_t rows;
    uint64_t bytes;
    int64_t estimated_rows; /* < 0: none */
    double rows_per_sec, elapsed_secs;
    int64_t started_at_us, finished_at_us; /* 0: none */
    bool cancel_requested;
    char message[LH_APP_RUN_MSG_MAX]; /* redacted */
    uint64_t version;                 /* published version; 0: none */
    int status;                       /* enum lh_run_status of the history; -1: none yet */
    bool live;                        /* from the registry, not the history */
};
/* A history record as a view (a one-shot run's `_ingest` becomes ""). */
void lh_app_run_view_from_record(const struct lh_run_record *r, struct lh_app_run_view *v);

struct lh_app_run; /* one run in the registry, counted references */

/* ss (borrowed, may be NULL): where finished runs' records and logs go and
 * where finished runs are looked up. */
enum lh_status lh_app_runs_create(struct lh_schedule_store *ss, struct lh_app_runs **out,
                                  struct lh_error *err) LH_NODISCARD;
void lh_app_runs_destroy(struct lh_app_runs *runs);
/* The scheduler user cancels of scheduled runs go through (borrowed; NULL
 * before it stops). */
void lh_app_runs_set_scheduler(struct lh_app_runs *runs, struct lh_scheduler *sched);

/* The run run_id, created (state `state`, queued or running) when the
 * registry does not hold it yet, else the existing one. schedule_id NULL:
 * a one-shot run. A new reference (lh_app_run_release); NULL when runs is
 * NULL or out of memory (every lh_app_run_* takes NULL and does nothing). */
struct lh_app_run *lh_app_runs_enter(struct lh_app_runs *runs, const char *run_id,
                                     const char *schedule_id, const char *dataset,
                                     const char *reason, enum lh_app_run_state state);
void lh_app_run_release(struct lh_app_run *r);
/* Running from now (phase connecting). dsn (borrowed, may be NULL) is what
 * log lines are scrubbed of until lh_app_run_finish. */
void lh_app_run_start(struct lh_app_run *r, int64_t started_at_us, const char *dsn);
/* ingest's on_progress and on_log, ctx = the run (cheap: a short lock). */
void lh_app_run_progress(void *run, const struct lh_ingest_progress *p);
void lh_app_run_log_line(void *run, enum lh_log_level level, const char *line);
void lh_app_run_log(struct lh_app_run *r, enum lh_log_level level, const char *fmt, ...)
    LH_PRINTF(3, 4);
/* The job's cancel (fn(ctx) on a cancel; NULL unregisters and returns
 * once a running fn returned; called at once when a cancel came first). */
void lh_app_run_set_cancel(struct lh_app_run *r, void (*fn)(void *ctx), void *ctx);
bool lh_app_run_cancel_requested(struct lh_app_run *r);
/* The run ended as its job saw it: state, history status (enum
 * lh_run_status), message (scrubbed here), figures. The log gets the
 * outcome line. A scheduled run's final word is lh_app_runs_recorded. */
void lh_app_run_finish(struct lh_app_run *r, enum lh_app_run_state state, int status,
                       const char *message, int64_t rows, uint64_t bytes, uint64_t version,
                       const char *dataset);
/* A scheduled run was recorded (the scheduler's RUN_FINISHED event): its
 * state and message become the record's, and its log is written beside
 * the record. A run the registry does not hold is ignored. */
void lh_app_runs_recorded(struct lh_app_runs *runs, const struct lh_run_record *rec);
/* A one-shot run that finished: recorded under `_runs/_ingest/` with its
 * log (when the registry has a store). */
void lh_app_run_record_oneshot(struct lh_app_run *r);

/* Reads a run: the registry's, else the history's (LH_E_NOTFOUND). */
enum lh_status lh_app_runs_get(struct lh_app_runs *runs, const char *run_id,
                               struct lh_app_run_view *out, struct lh_error *err) LH_NODISCARD;
/* The registry's run only (no history read: safe under other locks). */
bool lh_app_runs_peek(struct lh_app_runs *runs, const char *run_id, struct lh_app_run_view *out);
/* The queued or running run of a schedule. */
bool lh_app_runs_active(struct lh_app_runs *runs, const char *schedule_id,
                        struct lh_app_run_view *out);
/* Runs newest first (by run id): live ones and the history across
 * schedules, filtered by state (NULL: any) and schedule (NULL: any), at
 * most limit. Caller frees *out with free(). */
enum lh_status lh_app_runs_list(struct lh_app_runs *runs, const enum lh_app_run_state *state,
                                const char *schedule_id, size_t limit,
                                struct lh_app_run_view **out, size_t *n,
                                struct lh_error *err) LH_NODISCARD;
/* A user's cancel (docs/runs.md). LH_OK: requested, *out the run now
 * (cancel_requested); LH_E_NOTFOUND: no such run; LH_E_STATE: it already
 * ended (err: "run X already finished (succeeded)"; *out the run). */
enum lh_status lh_app_runs_cancel(struct lh_app_runs *runs, const char *run_id,
                                  struct lh_app_run_view *out,
                                  struct lh_error *err) LH_NODISCARD;
/* A run's log as JSON lines ({"at","level","message"} each) appended to
 * out; *complete: the run ended (nothing more will come). LH_E_NOTFOUND:
 * no such run; a finished run without a kept log has no lines. */
enum lh_status lh_app_runs_log(struct lh_app_runs *runs, const char *run_id, struct lh_buf *out,
                               bool *complete, struct lh_error *err) LH_NODISCARD;
/* The running runs' gauges (docs/http.md "Metrics") in the Prometheus text
 * format, appended to out. */
void lh_app_runs_metrics(struct lh_app_runs *runs, struct lh_buf *out);

/* A new run id for a run the scheduler does not name (one-shot runs):
 * lh_run_id_make of now, sortable with the scheduler's. */
void lh_app_run_id_new(char out[LH_APP_RUN_ID_MAX]);

/* Log caps of one run: the first LH_APP_RUN_LOG_HEAD lines are kept, then
 * the newest, LH_APP_RUN_LOG_LINES lines and LH_APP_RUN_LOG_BYTES bytes in
 * all; a line is cut at LH_APP_RUN_LINE_MAX bytes. */
#define LH_APP_RUN_LOG_LINES 2000
#define LH_APP_RUN_LOG_HEAD 500
#define LH_APP_RUN_LOG_BYTES (512u * 1024)
#define LH_APP_RUN_LINE_MAX 4096

/* ------------------------------------------------------------ one-shot jobs */

/* The job runner for one-shot ingests (runner.c): POST /api/ingest is a job
 * like a scheduled run, on a worker of its own, never on an HTTP thread.
 * threads: jobs at once (0 = 4); more wait in the queue. Each job counts in
 * lakehouse_runs_in_flight and lakehouse_runs_total{schedule="api-ingest"}
 * (env->metrics, may be NULL). env is copied; its strings are borrowed. */
struct lh_app_runner;
/* Called once per job on a runner thread: s and err as lh_app_ingest_def
 * gives them (LH_E_CANCELLED when the runner closed first; res NULL then). */
typedef void (*lh_app_ingest_done_fn)(void *ctx, enum lh_status s,
                                      const struct lh_ingest_result *res,
                                      const struct lh_error *err);
enum lh_status lh_app_runner_create(const struct lh_app_jobs *env, unsigned threads,
                                    struct lh_app_runner **out, struct lh_error *err) LH_NODISCARD;
/* Queues def (a malloc'd definition with its full DSN) to run once with
 * statement timeout timeout_ms. LH_OK: the runner owns def (wiped and freed
 * after done returns) and done (may be NULL) will be called exactly once.
 * Else (closing: LH_E_STATE) the caller keeps def and done is never called.
 * With env->runs the run is in the registry from now on (queued, then
 * running; a user cancel of a queued job answers done LH_E_CANCELLED with
 * res NULL at once) and recorded under `_runs/_ingest/` when it ends. */
enum lh_status lh_app_runner_ingest(struct lh_app_runner *r, struct lh_schedule *def,
                                    const char *run_id, int64_t timeout_ms,
                                    lh_app_ingest_done_fn done, void *ctx,
                                    struct lh_error *err) LH_NODISCARD;
/* Jobs queued or running now. */
unsigned lh_app_runner_load(struct lh_app_runner *r);
/* Refuses new jobs, answers the queued ones LH_E_CANCELLED, waits for the
 * running ones. */
void lh_app_runner_close(struct lh_app_runner *r);
void lh_app_runner_destroy(struct lh_app_runner *r); /* closes first */

/* ------------------------------------------------------------ the daemon */

/* The running daemon minus its front end (docs/daemon.md): the store's
 * daemon lease, the schedule store, the metrics, the start-up sweep and
 * the scheduler with its ingest jobs. `lakehouse serve` is
 *   lh_app_start, lh_http_server_create/start (hooks from the accessors
 *   below), lh_app_announce, lh_app_wait, lh_http_server_stop,
 *   lh_app_stop, lh_http_server_destroy, lh_app_destroy.
 * Threads: start, announce, wait, stop and destroy from the main thread;
 * the accessors and lh_app_health from any thread. */
struct lh_app;
struct lh_schedule_store;
struct lh_scheduler;

#define LH_DAEMON_FILE "_daemon.json" /* in the primary bucket while the API listens */
#define LH_DAEMON_LEASE "daemon"      /* the store's daemon lease (store.h) */
#define LH_DAEMON_INSTANCE_MAX 40

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread before any thread
 * starts (lh_app_wait takes them), raises the open-file limit, then starts
 * everything but the API (the job runner has cfg->threads workers, as
 * many as the HTTP pool, so as many API ingests run at once as before they
 * moved off the HTTP threads). cfg is borrowed and must outlive the app.
 * LH_E_EXISTS: another daemon holds the store (err names it). */
enum lh_status lh_app_start(const struct lh_app_config *cfg, struct lh_app **out,
                            struct lh_error *err) LH_NODISCARD;
/* The daemon's parts, for its front ends: borrowed, valid until
 * lh_app_destroy (the scheduler until lh_app_stop). */
struct lh_app_parts {
    struct lh_app_metrics *metrics;
    struct lh_schedule_store *schedules;
    struct lh_scheduler *scheduler;
    struct lh_app_runner *runner;
    struct lh_app_runs *runs;
    struct lh_store_set *store; /* the one store set (store.h: any thread may use it) */
};
/* All NULL for a NULL app. */
struct lh_app_parts lh_app_parts(struct lh_app *app);
/* GET /api/health: schedules (counted in place) and runs in progress. */
void lh_app_health(struct lh_app *app, uint64_t *schedules, uint64_t *running);
/* Once the API listens at address: the lease names it, `_daemon.json` is
 * written so the CLI finds the daemon, one log line. */
void lh_app_announce(struct lh_app *app, const char *address, bool auth);
/* Blocks until SIGTERM or SIGINT (returned); SIGHUP re-reads the schedules. */
int lh_app_wait(struct lh_app *app);
/* The scheduler's graceful stop: grace_secs for running jobs, then the
 * rest is cancelled and recorded as cancelled. */
void lh_app_stop(struct lh_app *app);
/* Stops what still runs, removes `_daemon.json` (only while it names this
 * instance), gives the lease up. NULL is fine. */
void lh_app_destroy(struct lh_app *app);

/* "pid 1234 on host h, http://127.0.0.1:8080, started 2026-..." from a
 * daemon lease's owner text (or what of it can be read). */
void lh_daemon_holder_line(const char *owner, char *out, size_t cap);

/* ------------------------------------------------------------ datasets */

/* What lh_app_dataset_remove did. */
struct lh_app_dataset_removal {
    char schedules[2048]; /* ids of the schedules that write to it, comma-separated */
    size_t paused;        /* schedules paused (force) */
    size_t deleted;       /* objects deleted */
};
/* `datasets rm` / DELETE /api/datasets/{name}: LH_E_NOTFOUND when there is
 * no such dataset; LH_E_STATE naming the schedules that write to it (ss,
 * may be NULL: none checked) unless force, which pauses them first
 * (paused_reason names the removal); then lh_ingest_dataset_remove. */
enum lh_status lh_app_dataset_remove(struct lh_store_set *set, struct lh_catalog *cat,
                                     struct lh_schedule_store *ss, const char *name, bool force,
                                     struct lh_app_dataset_removal *out,
                                     struct lh_error *err) LH_NODISCARD;

#endif
