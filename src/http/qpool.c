/*
 * qpool.c — the query pool: a few worker threads and a bounded queue for
 * requests whose handler may run for a long time (POST /api/sql), so they
 * never hold one of libmicrohttpd's few polling threads (issue 12, item 9).
 *
 * server.c suspends the connection of such a request, hands the request to
 * this pool and resumes the connection when the worker has written the
 * response. The pool knows nothing of HTTP: a job is fn(arg).
 *
 * Capacity is threads + queue places. A place is taken by reserve()
 * *before* the connection is suspended and filled by submit() after, so a
 * worker can never resume a connection that is not suspended yet, and
 * submit() cannot fail. Full (or stopping): reserve() says no and the
 * caller answers 429.
 *
 * Threads: any thread may reserve/submit; one mutex guards the ring and
 * the counters; workers run jobs without it. stop() is called by the
 * thread stopping the server: jobs still waiting run fn(arg, true) there
 * (the caller answers 503), running jobs are waited for (each is bounded
 * by the SQL time limit); reserve() says no from then on, and the memory
 * stays valid for the HTTP threads until destroy().
 */
#include "http_int.h"

#include <pthread.h>
#include <stdlib.h>

struct qjob {
    void (*fn)(void *arg, bool cancelled);
    void *arg;
};

struct http_qpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* workers: a job or stop */
    struct qjob *ring;      /* cap entries */
    size_t cap, head, count;/* waiting jobs: ring[head], ... */
    size_t reserved;        /* places taken: waiting + running + reserved-not-submitted */
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

static void *worker(void *p_)
{
    struct http_qpool *p = p_;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->count && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->count) /* stopping and nothing left for workers */
            break;
        struct qjob j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg, false);
        pthread_mutex_lock(&p->mu);
        p->reserved--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

enum lh_status http_qpool_create(unsigned threads, unsigned queue, struct http_qpool **out,
                                 struct lh_error *err)
{
    struct http_qpool *p = calloc(1, sizeof *p);
    if (!p)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    p->cap = (size_t)threads + queue;
    p->ring = calloc(p->cap, sizeof *p->ring);
    p->threads = calloc(threads, sizeof *p->threads);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->ring || !p->threads) {
        http_qpool_destroy(p);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    for (; p->nthreads < threads; p->nthreads++) {
        int rc = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
        if (rc != 0) {
            http_qpool_destroy(p);
            return lh_error_errno(err, rc, "cannot start the query pool's threads");
        }
    }
    *out = p;
    return LH_OK;
}

bool http_qpool_reserve(struct http_qpool *p)
{
    pthread_mutex_lock(&p->mu);
    bool ok = !p->stopping && p->reserved < p->cap;
    if (ok)
        p->reserved++;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void http_qpool_submit(struct http_qpool *p, void (*fn)(void *arg, bool cancelled), void *arg)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        /* destroy() started between reserve and submit: nobody will take it */
        p->reserved--;
        pthread_mutex_unlock(&p->mu);
        fn(arg, true);
        return;
    }
    /* reserved <= cap and every queued job holds a place: there is room */
    p->ring[(p->head + p->count) % p->cap] = (struct qjob){fn, arg};
    p->count++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

unsigned http_qpool_load(struct http_qpool *p)
{
    pthread_mutex_lock(&p->mu);
    unsigned n = (unsigned)p->reserved;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void http_qpool_stop(struct http_qpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->stopping = true;
    /* take the waiting jobs away from the workers */
    size_t n = p->count, head = p->head;
    struct qjob *left = n ? malloc(n * sizeof *left) : NULL;
    for (size_t i = 0; left && i < n; i++)
        left[i] = p->ring[(head + i) % p->cap];
    if (left) {
        p->count = 0;
        p->reserved -= n;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; left && i < n; i++)
        left[i].fn(left[i].arg, true);
    free(left);
    /* without memory for the list the workers run what is left instead */
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void http_qpool_destroy(struct http_qpool *p)
{
    if (!p)
        return;
    http_qpool_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->ring);
    free(p->threads);
    free(p);
}
