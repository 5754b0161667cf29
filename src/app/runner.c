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
 * Threads: any; one mutex and two condition variables inside. close waits
 * for the running jobs and answers the queued ones LH_E_CANCELLED.
 */
#include "app_int.h"

#include "ingest/ingest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct job {
    struct job *next;
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
    lh_schedule_wipe(j->def, sizeof *j->def);
    free(j->def);
    free(j);
}

static void job_run(struct lh_app_runner *r, struct job *j)
{
    struct lh_ingest_result *res = calloc(1, sizeof *res);
    struct lh_error err;
    enum lh_status s;
    if (!res) {
        s = lh_error_set(&err, LH_E_NOMEM, "out of memory");
        j->done(j->ctx, s, NULL, &err);
        return;
    }
    lh_app_metrics_run_started(r->env.metrics);
    s = lh_app_ingest_def(&r->env, j->def, j->def->dsn, j->run_id, j->timeout_ms, NULL, NULL, res,
                          &err);
    lh_app_metrics_run_finished(r->env.metrics, "api-ingest", s == LH_OK ? "success" : "failed",
                                s == LH_OK && res->rows > 0 ? (uint64_t)res->rows : 0,
                                s == LH_OK ? res->bytes : 0, res->duration_s);
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
    j->def = def;
    snprintf(j->run_id, sizeof j->run_id, "%s", run_id);
    j->timeout_ms = timeout_ms;
    j->done = done;
    j->ctx = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->closing) {
        pthread_mutex_unlock(&r->mu);
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
        struct lh_error err;
        enum lh_status s =
            lh_error_set(&err, LH_E_CANCELLED, "the server is shutting down; retry later");
        q->done(q->ctx, s, NULL, &err);
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
