/*
 * job_run.h — runs one ingest job for the ingest tests that watch a run
 * (test_parallel.c, test_parallel_my.c, test_resume.c): its outcome, its
 * run log, and a cancel either after some milliseconds (a thread) or once
 * some rows were read (on_progress). Include after <cmocka.h> and
 * "ingest/ingest.h"; header-only like server_env.h.
 */
#ifndef LH_TEST_JOB_RUN_H
#define LH_TEST_JOB_RUN_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct logbuf {
    pthread_mutex_t mu;
    char text[1 << 16];
    size_t len;
};

struct outcome {
    enum lh_status status;
    struct lh_ingest_result res;
    struct lh_error err;
    struct logbuf log;
    double cancel_to_end_s; /* with a timed cancel: from the cancel to the run's end */
    /* internal: the running job, and the row count that cancels it (> 0) */
    struct lh_ingest_job *job;
    int64_t cancel_at_rows;
    int cancel_after_ms;
    int64_t cancel_ns;
};

static inline void on_log(void *ctx, enum lh_log_level level, const char *line)
{
    (void)level;
    struct outcome *o = ctx;
    pthread_mutex_lock(&o->log.mu);
    int n = snprintf(o->log.text + o->log.len, sizeof o->log.text - o->log.len, "%s\n", line);
    if (n > 0 && o->log.len + (size_t)n < sizeof o->log.text)
        o->log.len += (size_t)n;
    pthread_mutex_unlock(&o->log.mu);
}

static inline void on_progress(void *ctx, const struct lh_ingest_progress *p)
{
    struct outcome *o = ctx;
    if (o->cancel_at_rows > 0 && p->rows >= o->cancel_at_rows)
        lh_ingest_cancel(o->job);
}

static inline int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void *cancel_main(void *arg)
{
    struct outcome *o = arg;
    struct timespec ts = {o->cancel_after_ms / 1000, (long)(o->cancel_after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    o->cancel_ns = mono_ns();
    lh_ingest_cancel(o->job);
    return NULL;
}

/* Runs base (on_log, on_progress and progress_ctx replaced) into the data
 * directory data_dir; cancel_after_ms >= 0 cancels it that long after the
 * start, cancel_at_rows > 0 once that many rows were read. */
static inline void job_run(const char *data_dir, const struct lh_ingest_options *base,
                           struct outcome *o, int cancel_after_ms, int64_t cancel_at_rows)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->log.mu, NULL);
    o->cancel_after_ms = cancel_after_ms;
    o->cancel_at_rows = cancel_at_rows;
    struct lh_store_set *set;
    assert_int_equal(lh_store_set_open(data_dir, NULL, NULL, &set, &o->err), LH_OK);
    struct lh_ingest_options opt = *base;
    opt.on_log = on_log;
    opt.on_progress = on_progress;
    opt.progress_ctx = o;
    o->status = lh_ingest_job_create(set, &opt, &o->job, &o->err);
    if (o->status == LH_OK) {
        pthread_t th;
        if (cancel_after_ms >= 0)
            assert_int_equal(pthread_create(&th, NULL, cancel_main, o), 0);
        o->status = lh_ingest_run(o->job, &o->res, &o->err);
        int64_t end = mono_ns();
        if (cancel_after_ms >= 0) {
            pthread_join(th, NULL);
            o->cancel_to_end_s = (double)(end - o->cancel_ns) / 1e9;
        }
        lh_ingest_job_destroy(o->job);
        o->job = NULL;
    }
    lh_store_set_close(set);
    pthread_mutex_destroy(&o->log.mu);
}

/* FNV-1a step: an order-free row hash sums one of these per row. */
static inline uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* How many files below dir match the find(1) name pattern (0 when dir
 * does not exist). */
static inline int count_files(const char *dir, const char *pattern)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "find '%s' -name '%s' 2>/dev/null | wc -l", dir, pattern);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

#endif
