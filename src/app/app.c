/*
 * app.c — start-up and shutdown of the daemon (`lakehouse serve` is
 * argument parsing around these calls; app.h).
 *
 * Start-up (docs/daemon.md): resolve the secret key (as the CLI does), take
 * the store's daemon lease (one daemon per store: a second one exits with
 * one line naming the first; the lease dies with the process, and on S3 a
 * heartbeat thread renews it), open the store and the schedule store, sweep leftover parts of killed runs
 * (lh_ingest_sweep, older than sweep_after_secs), start the scheduler (its
 * job is lh_app_scheduler_job: one ingest per run; its events feed the
 * metrics and the per-run log line). The front end then starts the API with
 * the schedule store and the scheduler as hooks and calls lh_app_announce,
 * which writes `_daemon.json` so the CLI finds us.
 *
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked in every thread before any
 * thread starts and taken synchronously with sigwait() in lh_app_wait, so no
 * handler runs in a library's thread. SIGHUP re-reads `_schedules/`
 * (lh_schedule_store_reload). SIGTERM/SIGINT: the front end stops accepting
 * and lets in-flight requests finish, then lh_app_stop runs the scheduler's
 * graceful stop (grace_secs, then the rest is cancelled and recorded as
 * cancelled); lh_app_destroy removes `_daemon.json` (only while it still
 * names our instance) and gives the lease up.
 */
#include "app_int.h"

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

/* Every dataset's Iceberg table in line with its catalog record: a
 * version hint a kill left behind is rolled forward, a dataset published
 * before Iceberg metadata gets its table (lh_ingest_table_sync). */
static void iceberg_sync_all(struct lh_store_set *set, unsigned keep_versions)
{
    struct lh_catalog *cat = NULL;
    struct lh_catalog_summary *ds = NULL;
    size_t n = 0, changed = 0;
    struct lh_error err;
    struct lh_catalog_options co = {.keep_versions = keep_versions};
    if (lh_catalog_open(set, &co, &cat, &err) != LH_OK ||
        lh_catalog_list(cat, &ds, &n, &err) != LH_OK) {
        lh_warn("serve: Iceberg metadata check: %s", err.msg);
        lh_catalog_close(cat);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        bool ch = false;
        if (ds[i].error[0])
            continue;
        if (lh_ingest_table_sync(set, cat, ds[i].name, &ch, &err) != LH_OK)
            lh_warn("serve: %s", err.msg);
        changed += ch;
    }
    if (changed)
        lh_info("serve: Iceberg metadata written or repaired for %zu of %zu dataset(s)", changed,
                n);
    free(ds);
    lh_catalog_close(cat);
}

/* Removes the parts of runs that never published, for every dataset
 * with objects in the store (ingest knows where they are). */
struct sweep_tally {
    struct lh_store_set *set;
    int64_t older_than;
    size_t datasets, total;
};

static bool sweep_one(void *ctx, const char *name)
{
    struct sweep_tally *t = ctx;
    struct lh_error err;
    size_t deleted = 0;
    t->datasets++;
    if (lh_ingest_sweep(t->set, name, t->older_than, &deleted, &err) != LH_OK)
        lh_warn("serve: sweep of dataset %s: %s", name, err.msg);
    t->total += deleted;
    if (deleted)
        lh_info("serve: swept %zu leftover object(s) of dataset %s", deleted, name);
    return true;
}

static void sweep_all(struct lh_store_set *set, int64_t older_than)
{
    struct sweep_tally t = {.set = set, .older_than = older_than};
    struct lh_error err;
    if (lh_ingest_dataset_each(set, sweep_one, &t, &err) != LH_OK) {
        lh_warn("serve: sweep: %s", err.msg);
        return;
    }
    lh_info("serve: start-up sweep: %zu dataset(s), %zu leftover object(s) removed", t.datasets,
            t.total);
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
    int64_t due = lh_time_mono_ns() + (int64_t)every * 1000000000;
    while (!hb->stop) {
        if (!hb->owner && lh_cond_wait_until(&hb->cv, &hb->mu, due) != ETIMEDOUT)
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
        due = lh_time_mono_ns() +
              (int64_t)(s == LH_OK ? every : (every > 3 ? 3 : every)) * 1000000000;
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

static bool heartbeat_start(struct heartbeat *hb)
{
    lh_cond_init_mono(&hb->cv);
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

/* ------------------------------------------------------------ the daemon */

struct lh_app {
    const struct lh_app_config *cfg;
    struct lh_schedule_key key;
    struct lh_store_set *set; /* the daemon's one store set: every thread uses it */
    struct heartbeat hb;
    char instance[LH_DAEMON_INSTANCE_MAX];
    int64_t started_us;
    struct lh_app_metrics *metrics;
    struct lh_schedule_store *ss;
    struct lh_scheduler *sched;
    struct lh_app_jobs jobs;
    struct lh_app_runner *runner; /* one-shot ingests (POST /api/ingest) */
    struct lh_app_runs *runs;     /* every run, live and recent (runs.c) */
    struct lh_app_webhooks *webhooks; /* alerts (webhooks.c) */
    sigset_t stop;
    bool wrote_file;
};

enum lh_status lh_app_start(const struct lh_app_config *cfg, struct lh_app **out,
                            struct lh_error *err)
{
    struct lh_app *app = calloc(1, sizeof *app);
    enum lh_status s;
    *out = NULL;
    if (!app)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    app->cfg = cfg;
    app->started_us = lh_time_wall_us();
    raise_nofile();

    /* block the stop signals before any thread exists, so every thread
     * inherits the mask and only sigwait() in lh_app_wait sees them */
    sigemptyset(&app->stop);
    sigaddset(&app->stop, SIGTERM);
    sigaddset(&app->stop, SIGINT);
    sigaddset(&app->stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &app->stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *root = cfg->store_url && cfg->store_url[0] ? cfg->store_url : cfg->data_dir;
    struct lh_store_options so = {.create = true};
    /* the same key rule as `lakehouse schedule`: LAKEHOUSE_SECRET_KEY, else
     * the key file (secret_key_path / LAKEHOUSE_SECRET_KEY_FILE / default) */
    if ((s = lh_schedule_key_resolve(cfg->secret_key_path, &app->key, err)) != LH_OK ||
        (s = lh_store_set_open(root, cfg->buckets_config, &so, &app->set, err)) != LH_OK)
        goto fail;
    /* one daemon per store, before anything is written to it */
    {
        char owner[1024], holder[1024], line[600];
        lh_daemon_instance_make(app->instance);
        lh_daemon_owner_text(app->instance, app->started_us, NULL, owner, sizeof owner);
        s = lh_store_lease_acquire(lh_store_set_primary(app->set), LH_DAEMON_LEASE, owner,
                                   cfg->lease_ttl_secs, &app->hb.lease, holder, sizeof holder,
                                   err);
        if (s == LH_E_EXISTS) {
            lh_daemon_holder_line(holder, line, sizeof line);
            lh_error_set(err, s,
                         "another daemon already serves this store: %s; stop it first, "
                         "or give this one another --data/--store",
                         line);
            goto fail;
        }
        if (s != LH_OK) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            lh_error_set(err, s, "cannot take the store's daemon lease: %s", msg);
            goto fail;
        }
        if (lh_store_lease_renew_secs(app->hb.lease) && !heartbeat_start(&app->hb)) {
            s = lh_error_set(err, LH_E_INTERNAL, "cannot start the lease heartbeat thread");
            goto fail;
        }
    }
    /* a run the store cannot write (a full disk) is kept in memory and
     * written when space returns, never lost */
    struct lh_schedule_store_options sso = {.key = &app->key, .keep_unrecorded = true};
    if ((s = lh_schedule_store_open(lh_store_set_primary(app->set), &sso, &app->ss, err)) !=
        LH_OK)
        goto fail;
    for (size_t i = 0; lh_schedule_store_problem(app->ss, i); i++)
        lh_warn("serve: skipped: %s", lh_schedule_store_problem(app->ss, i));
    if ((s = lh_app_metrics_create(&app->metrics, err)) != LH_OK)
        goto fail;
    sweep_all(app->set, cfg->sweep_after_secs < 0 ? 600 : cfg->sweep_after_secs);
    iceberg_sync_all(app->set, cfg->keep_versions);

    if ((s = lh_app_runs_create(app->ss, &app->runs, err)) != LH_OK)
        goto fail;
    if ((s = lh_app_webhooks_create(cfg->webhooks, cfg->nwebhooks, NULL, app->metrics,
                                    &app->webhooks, err)) != LH_OK)
        goto fail;
    app->jobs = (struct lh_app_jobs){.root = root,
                                     .buckets_config = cfg->buckets_config,
                                     .metrics = app->metrics,
                                     .keep_versions = cfg->keep_versions,
                                     .runs = app->runs,
                                     .webhooks = app->webhooks,
                                     .set = app->set};
    unsigned flush_retry = 0; /* LAKEHOUSE_FLUSH_RETRY_SECS: tests shorten it */
    {
        int64_t v;
        const char *fe = getenv("LAKEHOUSE_FLUSH_RETRY_SECS");
        if (fe && *fe && lh_parse_i64(fe, &v) && v >= 1 && v <= 3600)
            flush_retry = (unsigned)v;
    }
    struct lh_scheduler_options sopt = {
        .store = app->ss,
        .job = lh_app_scheduler_job,
        .job_ctx = &app->jobs,
        .max_concurrent = cfg->workers,
        .on_event = lh_app_scheduler_event,
        .event_ctx = &app->jobs,
        .flush_retry_secs = flush_retry,
    };
    if ((s = lh_scheduler_start(&sopt, &app->sched, err)) != LH_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        lh_error_set(err, s, "scheduler: %s", msg);
        goto fail;
    }
    lh_app_runs_set_scheduler(app->runs, app->sched);
    seed_gauges(app->ss, app->metrics);
    if ((s = lh_app_runner_create(&app->jobs, cfg->threads, &app->runner, err)) != LH_OK)
        goto fail;
    *out = app;
    return LH_OK;
fail:
    lh_app_destroy(app);
    return s;
}

/* Counted in place under the store's read lock: nothing is copied. */
void lh_app_health(struct lh_app *app, uint64_t *schedules, uint64_t *running)
{
    *schedules = app && app->ss ? lh_schedule_store_count(app->ss) : 0;
    struct lh_scheduler_stats ss = {0};
    if (app && app->sched)
        lh_scheduler_stats(app->sched, &ss);
    *running = ss.running;
}

struct lh_app_parts lh_app_parts(struct lh_app *app)
{
    if (!app)
        return (struct lh_app_parts){0};
    return (struct lh_app_parts){.metrics = app->metrics,
                                 .schedules = app->ss,
                                 .scheduler = app->sched,
                                 .runner = app->runner,
                                 .runs = app->runs,
                                 .store = app->set};
}

void lh_app_announce(struct lh_app *app, const char *address, bool auth)
{
    struct lh_error err;
    char owner[1024];
    lh_daemon_owner_text(app->instance, app->started_us, address, owner, sizeof owner);
    heartbeat_owner(&app->hb, owner);
    if (lh_daemon_file_write(lh_store_set_primary(app->set), address, auth, app->instance,
                             &err) != LH_OK)
        lh_warn("serve: cannot write %s (the CLI will not find this daemon): %s", LH_DAEMON_FILE,
                err.msg);
    else
        app->wrote_file = true;
    lh_info("serve: listening on %s (auth %s, body limit %zu bytes, %u workers, key from %s)",
            address, auth ? "on" : "off", app->cfg->body_limit,
            app->cfg->workers ? app->cfg->workers : 4, app->key.origin);
}

int lh_app_wait(struct lh_app *app)
{
    struct lh_error err;
    int sig = 0;
    for (;;) {
        if (sigwait(&app->stop, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        lh_info("serve: SIGHUP received, re-reading the schedules");
        if (lh_schedule_store_reload(app->ss, &err) != LH_OK)
            lh_warn("serve: reload: %s", err.msg);
    }
    lh_info("serve: %s received, finishing in-flight requests",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return sig;
}

void lh_app_stop(struct lh_app *app)
{
    if (!app || !app->sched)
        return;
    unsigned grace = app->cfg->grace_secs ? app->cfg->grace_secs : 30;
    lh_info("serve: stopping the scheduler (grace %us for running jobs)", grace);
    lh_app_runs_set_scheduler(app->runs, NULL);
    lh_scheduler_stop(app->sched, grace);
    app->sched = NULL;
    lh_info("serve: stopped");
}

void lh_app_destroy(struct lh_app *app)
{
    if (!app)
        return;
    lh_app_runner_destroy(app->runner);
    lh_app_runs_set_scheduler(app->runs, NULL);
    if (app->sched)
        lh_scheduler_stop(app->sched, 0);
    lh_app_webhooks_destroy(app->webhooks); /* no emitter is left; delivers briefly */
    lh_app_runs_destroy(app->runs); /* the scheduler's events use it */
    if (app->wrote_file)
        lh_daemon_file_remove(lh_store_set_primary(app->set), app->instance);
    lh_schedule_store_close(app->ss);
    heartbeat_stop(&app->hb);
    lh_store_lease_release(app->hb.lease); /* last: nothing of ours writes the store now */
    lh_app_metrics_destroy(app->metrics);
    lh_store_set_close(app->set);
    lh_schedule_wipe(&app->key, sizeof app->key);
    free(app);
}
