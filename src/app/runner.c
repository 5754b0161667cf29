/*
 * runner.c — the job runner for one-shot ingests (POST /api/ingest): a few
 * worker threads and a queue, so a long ingest never runs on the thread
 * that asked for it (app.h, "one-shot jobs").
 *
 * A job is one schedule definition run once through lh_app_ingest_def, in a
 * store set of its own, with the run metrics every job gets
 * (lakehouse_runs_in_flight, lakehouse_runs_total{schedule="api-ingest"}).
 * Its done callback runs on the worker; then the definition (it holds the
 * full DSN) is wiped and freed.
 *
 * With a run registry (env->runs) each job is a run there from the moment
 * it is queued: queued, then running with its progress and log, then
 * recorded under `_runs/_ingest/` with its log. A user's cancel of a
 * queued job takes it out of the queue at once (its cancel hook, called
 * by the registry); of a running one, lh_ingest_cancel.
 *
 * Threads: any; one mutex and two condition variables inside. close waits
 * for the running jobs and answers the queued ones LH_E_CANCELLED. Lock
 * order: a run's cancel hook lock (runs.c) -> r->mu.
 */
#include "app_int.h"

#include "ingest/ingest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct job {
    struct job *next;
    struct lh_app_runner *r;
    struct lh_app_run *ar; /* the registry's run; may be NULL */
    struct lh_schedule *def;
    char run_id[64];
    int64_t timeout_ms;
    lh_app_ingest_done_fn done;
    void *ctx;
};

struct lh_app_runner {
    struct lh_app_jobs env;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or closing */
    pthread_cond_t idle; /* a job finished */
    struct job *head, *tail;
    unsigned queued, running;
    bool closing;
    pthread_t *threads;
    unsigned nthreads;
};

static void job_finish(struct job *j)
{
    lh_app_run_release(j->ar);
    lh_schedule_free(j->def);
    free(j);
}

/* A job that never ran (a user's cancel, the runner closing): the run is
 * recorded as cancelled and done hears LH_E_CANCELLED with res NULL. */
static void job_drop(struct job *j, const char *why)
{
    struct lh_error err;
    enum lh_status s = lh_error_set(&err, LH_E_CANCELLED, "%s", why);
    lh_app_run_finish(j->ar, LH_APP_RUN_CANCELLED, LH_RUN_CANCELLED, why, 0, 0, 0, NULL);
    lh_app_run_record_oneshot(j->ar);
    if (j->done)
        j->done(j->ctx, s, NULL, &err);
}

/* The registry's cancel hook of a queued job (its run's hook lock held):
 * out of the queue and answered at once; a job a worker took meanwhile is
 * left to the worker, which sees the cancel. */
static void cancel_queued(void *ctx)
{
    struct job *j = ctx;
    struct lh_app_runner *r = j->r;
    bool found = false;
    pthread_mutex_lock(&r->mu);
    for (struct job **p = &r->head, *prev = NULL; *p; prev = *p, p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            if (r->tail == j)
                r->tail = prev;
            r->queued--;
            found = true;
            break;
        }
    pthread_mutex_unlock(&r->mu);
    if (!found)
        return;
    job_drop(j, "cancelled by a user before it started");
    job_finish(j);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->mu);
}

static void cancel_running(void *ctx)
{
    lh_ingest_cancel(ctx);
}

static void expose_job(void *ctx, struct lh_ingest_job *job)
{
    /* unregistering waits for a cancel in progress, so job can be freed */
    lh_app_run_set_cancel(ctx, job ? cancel_running : NULL, job);
}

static void job_run(struct lh_app_runner *r, struct job *j)
{
    /* from here the worker owns the job: the queued hook is gone (and
     * waited for) before anything else */
    lh_app_run_set_cancel(j->ar, NULL, NULL);
    if (lh_app_run_cancel_requested(j->ar)) {
        job_drop(j, "cancelled by a user before it started");
        return;
    }
    struct lh_ingest_result *res = calloc(1, sizeof *res);
    struct lh_error err;
    enum lh_status s;
    if (!res) {
        s = lh_error_set(&err, LH_E_NOMEM, "out of memory");
        lh_app_run_finish(j->ar, LH_APP_RUN_FAILED, LH_RUN_FAILED, err.msg, 0, 0, 0, NULL);
        lh_app_run_record_oneshot(j->ar);
        if (j->done)
            j->done(j->ctx, s, NULL, &err);
        return;
    }
    lh_app_metrics_run_started(r->env.metrics);
    lh_app_run_start(j->ar, lh_time_wall_us(), j->def->dsn);
    char label[LH_SCHEDULE_NAME_MAX + 16];
    lh_schedule_label(j->def, label, sizeof label);
    lh_app_run_log(j->ar, LH_LOG_INFO, "running %s (one-shot, mode %s, statement timeout %llds)",
                   label, lh_schedule_mode_name(j->def->mode), (long long)(j->timeout_ms / 1000));
    struct lh_app_ingest_obs obs = {lh_app_run_progress, lh_app_run_log_line, j->ar};
    s = lh_app_ingest_def_observed(&r->env, j->def, j->def->dsn, j->run_id, j->timeout_ms,
                                   j->ar ? expose_job : NULL, j->ar, j->ar ? &obs : NULL, res,
                                   &err);
    bool cancelled = s != LH_OK && lh_app_run_cancel_requested(j->ar);
    const char *outcome = s == LH_OK ? "success" : cancelled ? "cancelled" : "failed";
    lh_app_metrics_run_finished(r->env.metrics, "api-ingest", outcome,
                                s == LH_OK && res->rows > 0 ? (uint64_t)res->rows : 0,
                                s == LH_OK ? res->bytes : 0, res->duration_s);
    if (s == LH_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s%s", res->message,
                 res->published ? "" : " (no new rows; nothing published)");
        lh_app_run_finish(j->ar, LH_APP_RUN_SUCCEEDED, LH_RUN_SUCCESS, msg, res->rows, res->bytes,
                          res->published ? res->version : 0, res->dataset);
    } else {
        /* a cancelled run's message says so (lh_app_run_finish) */
        lh_app_run_finish(j->ar, cancelled ? LH_APP_RUN_CANCELLED : LH_APP_RUN_FAILED,
                          cancelled          ? LH_RUN_CANCELLED
                          : s == LH_E_TIMEOUT ? LH_RUN_TIMEOUT
                                              : LH_RUN_FAILED,
                          err.msg, 0, 0, 0, res->dataset);
    }
    lh_app_run_record_oneshot(j->ar);
    if (j->done)
        j->done(j->ctx, s, res, &err);
    free(res);
}

static void *worker_main(void *arg)
{
    struct lh_app_runner *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->head && !r->closing)
            pthread_cond_wait(&r->work, &r->mu);
        if (!r->head)
            break;
        struct job *j = r->head;
        r->head = j->next;
        if (!r->head)
            r->tail = NULL;
        r->queued--;
        r->running++;
        pthread_mutex_unlock(&r->mu);
        job_run(r, j);
        job_finish(j);
        pthread_mutex_lock(&r->mu);
        r->running--;
        pthread_cond_broadcast(&r->idle);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

enum lh_status lh_app_runner_create(const struct lh_app_jobs *env, unsigned threads,
                                    struct lh_app_runner **out, struct lh_error *err)
{
    *out = NULL;
    struct lh_app_runner *r = calloc(1, sizeof *r);
    if (!r)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    if (env)
        r->env = *env;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->idle, NULL);
    if (!threads)
        threads = 4;
    r->threads = calloc(threads, sizeof *r->threads);
    if (!r->threads) {
        lh_app_runner_destroy(r);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    for (; r->nthreads < threads; r->nthreads++)
        if (pthread_create(&r->threads[r->nthreads], NULL, worker_main, r) != 0) {
            lh_app_runner_destroy(r);
            return lh_error_set(err, LH_E_INTERNAL, "job runner: cannot start a thread");
        }
    *out = r;
    return LH_OK;
}

enum lh_status lh_app_runner_ingest(struct lh_app_runner *r, struct lh_schedule *def,
                                    const char *run_id, int64_t timeout_ms,
                                    lh_app_ingest_done_fn done, void *ctx, struct lh_error *err)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    j->r = r;
    j->def = def;
    snprintf(j->run_id, sizeof j->run_id, "%s", run_id);
    j->timeout_ms = timeout_ms;
    j->done = done;
    j->ctx = ctx;
    pthread_mutex_lock(&r->mu);
    bool closing = r->closing;
    pthread_mutex_unlock(&r->mu);
    if (closing) {
        free(j);
        return lh_error_set(err, LH_E_STATE, "the server is shutting down; retry later");
    }
    /* in the registry before it can start, so it is never missing */
    j->ar = lh_app_runs_enter(r->env.runs, run_id, NULL,
                              def->dataset_name[0] ? def->dataset_name : def->table, "api",
                              LH_APP_RUN_QUEUED);
    lh_app_run_set_cancel(j->ar, cancel_queued, j);
    pthread_mutex_lock(&r->mu);
    if (r->closing) {
        pthread_mutex_unlock(&r->mu);
        lh_app_run_set_cancel(j->ar, NULL, NULL);
        lh_app_run_finish(j->ar, LH_APP_RUN_CANCELLED, LH_RUN_CANCELLED,
                          "the server is shutting down", 0, 0, 0, NULL);
        lh_app_run_release(j->ar);
        free(j);
        return lh_error_set(err, LH_E_STATE, "the server is shutting down; retry later");
    }
    if (r->tail)
        r->tail->next = j;
    else
        r->head = j;
    r->tail = j;
    r->queued++;
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->mu);
    return LH_OK;
}

unsigned lh_app_runner_load(struct lh_app_runner *r)
{
    if (!r)
        return 0;
    pthread_mutex_lock(&r->mu);
    unsigned n = r->queued + r->running;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void lh_app_runner_close(struct lh_app_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->closing = true;
    struct job *q = r->head;
    r->head = r->tail = NULL;
    r->queued = 0;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->mu);
    while (q) {
        struct job *next = q->next;
        lh_app_run_set_cancel(q->ar, NULL, NULL); /* a user's cancel finds it gone */
        job_drop(q, "the server is shutting down; retry later");
        job_finish(q);
        q = next;
    }
    pthread_mutex_lock(&r->mu);
    while (r->running > 0)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

void lh_app_runner_destroy(struct lh_app_runner *r)
{
    if (!r)
        return;
    lh_app_runner_close(r);
    for (unsigned i = 0; i < r->nthreads; i++)
        pthread_join(r->threads[i], NULL);
    free(r->threads);
    pthread_cond_destroy(&r->idle);
    pthread_cond_destroy(&r->work);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
