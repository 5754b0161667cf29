/*
 * cmd_serve.c — `lakehouse serve`: the daemon.
 *
 * Settings: defaults < --config FILE (or $LAKEHOUSE_CONFIG) < LAKEHOUSE_*
 * environment < flags. Prints one line on stdout once listening
 * ("lakehouse: listening on http://ADDR") so scripts can wait for it.
 *
 * Start-up (docs/daemon.md): resolve the secret key (as the CLI does), take
 * the store's daemon lease (one daemon per store: a second one exits with
 * one line naming the first; the lease dies with the process, and on S3 a
 * heartbeat thread renews it), open the store and the schedule store, sweep leftover parts of killed runs
 * (lh_ingest_sweep, older than sweep_after_secs), start the scheduler (its
 * job is lh_app_scheduler_job: one ingest per run; its events feed the
 * metrics and the per-run log line), start the API with the schedule store
 * and the scheduler as hooks, write `_daemon.json` (daemon.h) so the CLI
 * finds us, then print the listening line.
 *
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked in every thread before any
 * thread starts and taken synchronously with sigwait() here, so no handler
 * runs in a library's thread. SIGHUP re-reads `_schedules/`
 * (lh_schedule_store_reload). SIGTERM/SIGINT: stop accepting, let in-flight
 * requests finish, then the scheduler's graceful stop (grace_secs, then the
 * rest is cancelled and recorded as cancelled), remove `_daemon.json`
 * (only while it still names our instance), give the lease up, exit 0.
 */
#include "cli.h"
#include "daemon.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *usage =
    "usage: lakehouse serve [--listen HOST:PORT] [--data DIR | --store URL] [--config FILE]\n"
    "                       [--log-format text|json] [--token T | --token-file F]\n"
    "\n"
    "Runs the daemon: the scheduler, the HTTP API and the dashboard.\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; port 0\n"
    "                       picks a free port, printed on start)\n"
    "  --data DIR           local data directory (default $LAKEHOUSE_DATA or\n"
    "                       ./lakehouse-data; created if missing)\n"
    "  --store URL          s3://bucket/prefix instead of a directory\n"
    "  --config FILE        JSON config file (default $LAKEHOUSE_CONFIG); see docs/http.md\n"
    "  --log-format F       text (default) or json lines\n"
    "  --token T            require 'Authorization: Bearer T' (prefer --token-file or\n"
    "                       $LAKEHOUSE_TOKEN: arguments show in ps)\n"
    "  --token-file F       read the token from a file\n"
    "  --body-limit SIZE    largest accepted request body (default 1MiB)\n"
    "\n"
    "Precedence: flags > LAKEHOUSE_* environment > config file > defaults.\n"
    "SIGHUP: re-read the schedules. SIGTERM/SIGINT: stop accepting, finish in-flight\n"
    "requests, give running jobs grace_secs, cancel the rest, exit 0. See docs/daemon.md.\n";

/* What the health hook reads. */
struct serve_state {
    struct lh_schedule_store *ss;
    struct lh_scheduler *sched;
};

/* Counted in place under the store's read lock: nothing is copied. */
static void on_health(void *ctx, uint64_t *schedules, uint64_t *running)
{
    struct serve_state *st = ctx;
    *schedules = lh_schedule_store_count(st->ss);
    struct lh_scheduler_stats ss;
    lh_scheduler_stats(st->sched, &ss);
    *running = ss.running;
}

/* Removes the parts of runs that never published, for every dataset
 * directory in the store (datasets/{name}/...). */
static void sweep_all(struct lh_store_set *set, int64_t older_than)
{
    struct lh_store_list l;
    struct lh_error err;
    if (lh_store_list(lh_store_set_primary(set), "datasets/", &l, &err) != LH_OK) {
        lh_warn("serve: sweep: %s", err.msg);
        return;
    }
    size_t total = 0, datasets = 0;
    char last[LH_STORE_KEY_MAX] = "";
    for (size_t i = 0; i < l.count; i++) {
        const char *k = l.items[i].key + strlen("datasets/");
        size_t n = strcspn(k, "/");
        if (!k[n] || n == 0 || n >= sizeof last)
            continue;
        if (strlen(last) == n && memcmp(last, k, n) == 0)
            continue;
        memcpy(last, k, n);
        last[n] = '\0';
        size_t deleted = 0;
        datasets++;
        if (lh_ingest_sweep(set, last, older_than, &deleted, &err) != LH_OK)
            lh_warn("serve: sweep of dataset %s: %s", last, err.msg);
        total += deleted;
        if (deleted)
            lh_info("serve: swept %zu leftover object(s) of dataset %s", deleted, last);
    }
    lh_store_list_free(&l);
    lh_info("serve: start-up sweep: %zu dataset(s), %zu leftover object(s) removed", datasets,
            total);
}

/* Sets the next-run gauges of every schedule (the scheduler's events keep
 * them current after each run). Read in place, under the store's lock. */
static bool seed_one(void *ctx, const struct lh_schedule *d)
{
    int64_t ok = d->last_outcome.present && d->last_outcome.success ? d->last_outcome.at_us : 0;
    lh_app_metrics_schedule_times(ctx, d->id, d->enabled ? d->next_run_at_us : 0, ok);
    return true;
}

static void seed_gauges(struct lh_schedule_store *ss, struct lh_app_metrics *m)
{
    lh_schedule_store_each(ss, seed_one, m);
}

/* The lease heartbeat (S3 and other remote stores): renews the daemon's
 * lease every lh_store_lease_renew_secs on its own store set, and applies a
 * new owner text handed over by the main thread. A lease taken over by
 * another process means another daemon believes it owns the store: this
 * one stops (SIGTERM to itself: the ordinary graceful shutdown). */
struct heartbeat {
    struct lh_store_lease *lease;
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stop;
    char *owner; /* a new owner text to apply, or NULL */
};

static void *heartbeat_main(void *arg)
{
    struct heartbeat *hb = arg;
    unsigned every = lh_store_lease_renew_secs(hb->lease);
    pthread_mutex_lock(&hb->mu);
    struct timespec due;
    clock_gettime(CLOCK_MONOTONIC, &due);
    due.tv_sec += every;
    while (!hb->stop) {
        if (!hb->owner && pthread_cond_timedwait(&hb->cv, &hb->mu, &due) != ETIMEDOUT)
            continue;
        char *owner = hb->owner;
        hb->owner = NULL;
        pthread_mutex_unlock(&hb->mu);
        struct lh_error err;
        enum lh_status s = owner ? lh_store_lease_set_owner(hb->lease, owner, &err)
                                 : lh_store_lease_renew(hb->lease, &err);
        free(owner);
        if (s == LH_E_STATE) {
            lh_logerr("serve: %s: another daemon now owns this store; stopping", err.msg);
            kill(getpid(), SIGTERM);
        } else if (s != LH_OK) {
            lh_warn("serve: lease renewal failed (retrying): %s", err.msg);
        }
        pthread_mutex_lock(&hb->mu);
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += s == LH_OK ? every : (every > 3 ? 3 : every);
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

static bool heartbeat_start(struct heartbeat *hb)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hb->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&hb->mu, NULL);
    hb->running = pthread_create(&hb->thread, NULL, heartbeat_main, hb) == 0;
    return hb->running;
}

/* The owner text once the address is known (the lease names the URL). */
static void heartbeat_owner(struct heartbeat *hb, const char *owner)
{
    struct lh_error err;
    if (!hb->running) {
        if (lh_store_lease_set_owner(hb->lease, owner, &err) != LH_OK)
            lh_warn("serve: cannot update the lease: %s", err.msg);
        return;
    }
    char *c = strdup(owner);
    pthread_mutex_lock(&hb->mu);
    free(hb->owner);
    hb->owner = c;
    pthread_cond_signal(&hb->cv);
    pthread_mutex_unlock(&hb->mu);
}

static void heartbeat_stop(struct heartbeat *hb)
{
    if (!hb->running)
        return;
    pthread_mutex_lock(&hb->mu);
    hb->stop = true;
    pthread_cond_signal(&hb->cv);
    pthread_mutex_unlock(&hb->mu);
    pthread_join(hb->thread, NULL);
    free(hb->owner);
    pthread_cond_destroy(&hb->cv);
    pthread_mutex_destroy(&hb->mu);
    hb->running = false;
}

/* Raises the open-file soft limit to the hard one: each connection is a
 * descriptor and the connection limit should be the real bound. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int lh_cmd_serve(int argc, char **argv)
{
    if (lh_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *listen = NULL, *data = NULL, *store = NULL, *config = NULL, *logfmt = NULL;
    const char *token = NULL, *token_file = NULL, *body_limit = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--listen") == 0       ? &listen
                            : strcmp(a, "--data") == 0       ? &data
                            : strcmp(a, "--store") == 0      ? &store
                            : strcmp(a, "--config") == 0     ? &config
                            : strcmp(a, "--log-format") == 0 ? &logfmt
                            : strcmp(a, "--token") == 0      ? &token
                            : strcmp(a, "--token-file") == 0 ? &token_file
                            : strcmp(a, "--body-limit") == 0 ? &body_limit
                                                             : NULL;
        if (!slot) {
            lh_cli_error("serve: unknown argument '%s' (see 'lakehouse serve --help')", a);
            return 2;
        }
        if (i + 1 >= argc) {
            lh_cli_error("serve: %s needs a value", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (data && store) {
        lh_cli_error("serve: give --data or --store, not both");
        return 2;
    }
    if (token && token_file) {
        lh_cli_error("serve: give --token or --token-file, not both");
        return 2;
    }

    struct lh_app_config cfg;
    struct lh_http_server *srv = NULL;
    struct lh_error err;
    struct lh_store_set *sched_set = NULL, *main_set = NULL, *lease_set = NULL;
    struct heartbeat hb = {0};
    char instance[LH_DAEMON_INSTANCE_MAX] = "";
    int64_t started_us = lh_time_wall_us();
    struct lh_app_metrics *metrics = NULL;
    struct lh_schedule_key key;
    struct serve_state state = {0};
    bool wrote_file = false;
    int rc = 1;
    memset(&key, 0, sizeof key);
    lh_app_config_init(&cfg);
    if (!config)
        config = getenv("LAKEHOUSE_CONFIG");
    if (config && *config && lh_app_config_load(&cfg, config, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    if (lh_app_config_apply_env(&cfg, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    if (listen)
        cfg.listen = listen;
    if (data) {
        cfg.data_dir = data;
        cfg.store_url = NULL;
    }
    if (store) {
        cfg.store_url = store;
        cfg.data_dir = NULL;
    }
    if (token)
        cfg.token = token;
    if (token_file) {
        uint8_t *t = NULL;
        size_t n = 0;
        if (lh_file_read_all(token_file, 4096, &t, &n, &err) != LH_OK) {
            lh_cli_error("serve: token file: %s", err.msg);
            goto done;
        }
        while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
            t[--n] = '\0';
        cfg.token = lh_app_config_strdup(&cfg, (const char *)t);
        free(t);
    }
    if (body_limit) {
        uint64_t v;
        if (!lh_parse_size(body_limit, &v) || v == 0 || v > (1u << 30)) {
            lh_cli_error("serve: --body-limit: bad size '%s'", body_limit);
            rc = 2;
            goto done;
        }
        cfg.body_limit = (size_t)v;
    }
    if (logfmt) {
        if (strcmp(logfmt, "json") != 0 && strcmp(logfmt, "text") != 0) {
            lh_cli_error("serve: --log-format must be text or json");
            rc = 2;
            goto done;
        }
        cfg.log_json = strcmp(logfmt, "json") == 0;
    }
    lh_log_set_json(cfg.log_json);
    raise_nofile();

    /* block the stop signals before any thread exists, so every thread
     * inherits the mask and only sigwait() below sees them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *root = cfg.store_url && cfg.store_url[0] ? cfg.store_url : cfg.data_dir;
    struct lh_store_options so = {.create = true};
    /* the same key rule as `lakehouse schedule`: LAKEHOUSE_SECRET_KEY, else
     * the key file (secret_key_path / LAKEHOUSE_SECRET_KEY_FILE / default) */
    if (lh_schedule_key_resolve(cfg.secret_key_path, &key, &err) != LH_OK ||
        lh_store_set_open(root, cfg.buckets_config, &so, &sched_set, &err) != LH_OK ||
        lh_store_set_open(root, cfg.buckets_config, &so, &main_set, &err) != LH_OK ||
        lh_store_set_open(root, cfg.buckets_config, &so, &lease_set, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    /* one daemon per store, before anything is written to it */
    {
        char owner[1024], holder[1024], line[600];
        int64_t ttl = 0;
        const char *te = getenv("LAKEHOUSE_LEASE_TTL_SECS");
        if (te && *te && (!lh_parse_i64(te, &ttl) || ttl < 3 || ttl > 3600)) {
            lh_cli_error("serve: LAKEHOUSE_LEASE_TTL_SECS: want 3-3600 seconds, not '%s'", te);
            rc = 2;
            goto done;
        }
        lh_daemon_instance_make(instance);
        lh_daemon_owner_text(instance, started_us, NULL, owner, sizeof owner);
        enum lh_status ls = lh_store_lease_acquire(lh_store_set_primary(lease_set),
                                                   LH_DAEMON_LEASE, owner, (unsigned)ttl,
                                                   &hb.lease, holder, sizeof holder, &err);
        if (ls == LH_E_EXISTS) {
            lh_daemon_holder_line(holder, line, sizeof line);
            lh_cli_error("serve: another daemon already serves this store: %s; stop it first, "
                         "or give this one another --data/--store",
                         line);
            goto done;
        }
        if (ls != LH_OK) {
            lh_cli_error("serve: cannot take the store's daemon lease: %s", err.msg);
            goto done;
        }
        if (lh_store_lease_renew_secs(hb.lease) && !heartbeat_start(&hb)) {
            lh_cli_error("serve: cannot start the lease heartbeat thread");
            goto done;
        }
    }
    /* a run the store cannot write (a full disk) is kept in memory and
     * written when space returns, never lost */
    struct lh_schedule_store_options sso = {.key = &key, .keep_unrecorded = true};
    if (lh_schedule_store_open(lh_store_set_primary(sched_set), &sso, &state.ss, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    for (size_t i = 0; lh_schedule_store_problem(state.ss, i); i++)
        lh_warn("serve: skipped: %s", lh_schedule_store_problem(state.ss, i));
    if (lh_app_metrics_create(&metrics, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    sweep_all(main_set, cfg.sweep_after_secs < 0 ? 600 : cfg.sweep_after_secs);

    struct lh_app_jobs jobs = {root, cfg.buckets_config, metrics, cfg.keep_versions};
    unsigned flush_retry = 0; /* LAKEHOUSE_FLUSH_RETRY_SECS: tests shorten it */
    {
        int64_t v;
        const char *fe = getenv("LAKEHOUSE_FLUSH_RETRY_SECS");
        if (fe && *fe && lh_parse_i64(fe, &v) && v >= 1 && v <= 3600)
            flush_retry = (unsigned)v;
    }
    struct lh_scheduler_options sopt = {
        .store = state.ss,
        .job = lh_app_scheduler_job,
        .job_ctx = &jobs,
        .max_concurrent = cfg.workers,
        .on_event = lh_app_scheduler_event,
        .event_ctx = &jobs,
        .flush_retry_secs = flush_retry,
    };
    if (lh_scheduler_start(&sopt, &state.sched, &err) != LH_OK) {
        lh_cli_error("serve: scheduler: %s", err.msg);
        goto done;
    }
    seed_gauges(state.ss, metrics);

    struct lh_http_hooks hooks = {.ctx = &state,
                                  .health = on_health,
                                  .schedules = state.ss,
                                  .scheduler = state.sched};
    if (lh_http_server_create(&cfg, &hooks, metrics, &srv, &err) != LH_OK ||
        lh_http_server_start(srv, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    bool auth = cfg.token && cfg.token[0];
    {
        char owner[1024];
        lh_daemon_owner_text(instance, started_us, lh_http_server_address(srv), owner,
                             sizeof owner);
        heartbeat_owner(&hb, owner);
    }
    if (lh_daemon_file_write(lh_store_set_primary(main_set), lh_http_server_address(srv), auth,
                             instance, &err) != LH_OK)
        lh_warn("serve: cannot write %s (the CLI will not find this daemon): %s", LH_DAEMON_FILE,
                err.msg);
    else
        wrote_file = true;
    printf("lakehouse: listening on http://%s\n", lh_http_server_address(srv));
    fflush(stdout);
    lh_info("serve: listening on %s (auth %s, body limit %zu bytes, %u workers, key from %s)",
            lh_http_server_address(srv), auth ? "on" : "off", cfg.body_limit,
            cfg.workers ? cfg.workers : 4, key.origin);

    int sig = 0;
    for (;;) {
        if (sigwait(&stop, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        lh_info("serve: SIGHUP received, re-reading the schedules");
        if (lh_schedule_store_reload(state.ss, &err) != LH_OK)
            lh_warn("serve: reload: %s", err.msg);
    }
    lh_info("serve: %s received, finishing in-flight requests",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    unsigned left = lh_http_server_stop(srv);
    if (left)
        lh_warn("serve: %u request(s) still running at the shutdown deadline", left);
    unsigned grace = cfg.grace_secs ? cfg.grace_secs : 30;
    lh_info("serve: stopping the scheduler (grace %us for running jobs)", grace);
    lh_scheduler_stop(state.sched, grace);
    state.sched = NULL;
    lh_info("serve: stopped");
    rc = 0;
done:
    lh_http_server_destroy(srv);
    if (state.sched)
        lh_scheduler_stop(state.sched, 0);
    if (wrote_file)
        lh_daemon_file_remove(lh_store_set_primary(main_set), instance);
    lh_schedule_store_close(state.ss);
    heartbeat_stop(&hb);
    lh_store_lease_release(hb.lease); /* last: nothing of ours writes the store now */
    lh_store_set_close(lease_set);
    lh_app_metrics_destroy(metrics);
    lh_store_set_close(main_set);
    lh_store_set_close(sched_set);
    lh_schedule_wipe(&key, sizeof key);
    lh_app_config_reset(&cfg);
    return rc;
}
