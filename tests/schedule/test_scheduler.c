/*
 * test_scheduler.c — the scheduler's rules, each driven by a fake clock and
 * a fake job over a real local-directory store. The timer thread and the
 * workers are real threads; time only moves when a test moves it, and
 * lh_scheduler_quiesce waits until the scheduler has acted on it, so no
 * test sleeps or asserts on real time (the last test uses the real clock
 * with a generous deadline only as a hang guard).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schedule/schedule.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S INT64_C(1000000)
#define T0 (INT64_C(1776371764) * S) /* 2026-04-16T20:36:04Z */
#define NB 8

struct beh {
    char id[32];
    bool gate;   /* block until released or cancelled */
    bool fail;   /* report an error quoting the DSN */
    bool latin1; /* with fail: a Latin-1 message too long to store whole */
    int release; /* gated runs allowed to finish */
    bool hold_event; /* on_event of its finished runs blocks until released */
    int event_release, events;
    uint32_t prev[16]; /* prev_failures of each finished-run event */
    int calls;
    enum lh_run_reason reasons[16];
    uint32_t attempts[16];
    int64_t started[16];
};

struct fx {
    char dir[64];
    struct lh_store *st;
    struct lh_schedule_store *ss;
    struct lh_schedule_key key;
    struct lh_scheduler *sch;
    /* fake clock */
    pthread_mutex_t clock_mu;
    int64_t now;
    struct lh_sched_clock clock;
    /* fake job */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct beh beh[NB];
    int calls, cur, max_cur, hook_calls, paused_events, finished_events;
    char last_dsn[256];
};

static int64_t fake_now(void *ctx)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->clock_mu);
    int64_t v = f->now;
    pthread_mutex_unlock(&f->clock_mu);
    return v;
}

static void fake_wait(void *ctx, pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    (void)ctx, (void)deadline;
    pthread_cond_wait(cv, mu); /* only a kick moves us: time is the test's */
}

static struct beh *beh_for(struct fx *f, const char *id)
{
    for (int i = 0; i < NB; i++)
        if (strcmp(f->beh[i].id, id) == 0)
            return &f->beh[i];
    for (int i = 0; i < NB; i++)
        if (!f->beh[i].id[0]) {
            snprintf(f->beh[i].id, sizeof f->beh[i].id, "%.31s", id);
            return &f->beh[i];
        }
    return NULL;
}

struct jobrun {
    struct fx *f;
    bool cancelled;
};

static void hook(void *ctx)
{
    struct jobrun *jr = ctx;
    pthread_mutex_lock(&jr->f->mu);
    jr->cancelled = true;
    jr->f->hook_calls++;
    pthread_cond_broadcast(&jr->f->cv);
    pthread_mutex_unlock(&jr->f->mu);
}

static void job(void *ctx, const struct lh_schedule *def, struct lh_run_info *run,
                struct lh_run_result *out)
{
    struct fx *f = ctx;
    struct jobrun jr = {f, false};
    pthread_mutex_lock(&f->mu);
    struct beh *b = beh_for(f, def->id);
    if (b->calls < 16) {
        b->reasons[b->calls] = run->reason;
        b->attempts[b->calls] = run->attempt;
        b->started[b->calls] = run->started_at_us;
    }
    b->calls++;
    f->calls++;
    snprintf(f->last_dsn, sizeof f->last_dsn, "%s", run->dsn);
    if (++f->cur > f->max_cur)
        f->max_cur = f->cur;
    pthread_cond_broadcast(&f->cv);
    if (b->gate) {
        pthread_mutex_unlock(&f->mu);
        lh_run_set_cancel_hook(run, hook, &jr);
        pthread_mutex_lock(&f->mu);
        while (!b->release && !jr.cancelled)
            pthread_cond_wait(&f->cv, &f->mu);
        if (!jr.cancelled)
            b->release--;
        pthread_mutex_unlock(&f->mu);
        lh_run_set_cancel_hook(run, NULL, NULL);
        pthread_mutex_lock(&f->mu);
    }
    bool fail = b->fail;
    f->cur--;
    pthread_mutex_unlock(&f->mu);
    if (jr.cancelled) {
        out->status = LH_E_CANCELLED;
        snprintf(out->message, sizeof out->message, "query cancelled");
    } else if (fail && b->latin1) {
        /* a server speaking Latin-1, then 'é' repeated past every buffer */
        out->status = LH_E_SOURCE;
        size_t n = (size_t)snprintf(out->message, sizeof out->message, "erreur: acc\xe8s refus\xe9 ");
        while (n + 2 < sizeof out->message) {
            out->message[n++] = '\xc3';
            out->message[n++] = '\xa9';
        }
        out->message[n] = '\0';
    } else if (fail) {
        out->status = LH_E_CONNECT;
        snprintf(out->message, sizeof out->message, "cannot connect to %s: refused", run->dsn);
    } else {
        out->status = LH_OK;
        out->rows = 11;
        out->has_rows = true;
        out->bytes = 2048;
    }
}

static void on_event(void *ctx, const struct lh_sched_event *ev)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (ev->kind == LH_SCHED_EVENT_AUTO_PAUSED) {
        f->paused_events++;
    } else {
        struct beh *b = beh_for(f, ev->run->schedule_id);
        if (b->events < 16)
            b->prev[b->events] = ev->prev_failures;
        b->events++;
        pthread_cond_broadcast(&f->cv);
        while (b->hold_event && !b->event_release)
            pthread_cond_wait(&f->cv, &f->mu);
        if (b->hold_event)
            b->event_release--;
        f->finished_events++;
    }
    pthread_mutex_unlock(&f->mu);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-sched-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct lh_store_options o = {.create = true};
    struct lh_error err;
    if (lh_store_open(f->dir, &o, &f->st, &err) != LH_OK)
        return -1;
    if (lh_schedule_key_from_text(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &f->key, &err))
        return -1;
    struct lh_schedule_store_options so = {.key = &f->key};
    if (lh_schedule_store_open(f->st, &so, &f->ss, &err) != LH_OK)
        return -1;
    pthread_mutex_init(&f->clock_mu, NULL);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->now = T0;
    f->clock = (struct lh_sched_clock){fake_now, fake_wait, f};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->sch) {
        pthread_mutex_lock(&f->mu);
        for (int i = 0; i < NB; i++)
            f->beh[i].release = 100;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        lh_scheduler_stop(f->sch, 0);
    }
    lh_schedule_store_close(f->ss);
    lh_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void start(struct fx *f, unsigned limit)
{
    struct lh_scheduler_options o = {
        .store = f->ss,
        .job = job,
        .job_ctx = f,
        .clock = &f->clock,
        .max_concurrent = limit,
        .seed = 42,
        .on_event = on_event,
        .event_ctx = f,
    };
    struct lh_error err;
    assert_int_equal(lh_scheduler_start(&o, &f->sch, &err), LH_OK);
}

static void advance_to(struct fx *f, int64_t t, unsigned running)
{
    pthread_mutex_lock(&f->clock_mu);
    f->now = t;
    pthread_mutex_unlock(&f->clock_mu);
    lh_scheduler_kick(f->sch);
    lh_scheduler_quiesce(f->sch, running);
}

static void advance(struct fx *f, int64_t secs, unsigned running)
{
    advance_to(f, fake_now(f) + secs * S, running);
}

/* Waits (hang guard only) until the job was entered n times in total. */
static void wait_calls(struct fx *f, int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&f->mu);
    while (f->calls < n)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&f->mu);
            fail_msg("job not called %d times (got %d)", n, f->calls);
        }
    pthread_mutex_unlock(&f->mu);
}

static void release(struct fx *f, const char *id, int n)
{
    pthread_mutex_lock(&f->mu);
    beh_for(f, id)->release += n;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static struct beh *B(struct fx *f, const char *id)
{
    pthread_mutex_lock(&f->mu);
    struct beh *b = beh_for(f, id);
    pthread_mutex_unlock(&f->mu);
    return b;
}

static int calls_of(struct fx *f, const char *id)
{
    pthread_mutex_lock(&f->mu);
    int n = beh_for(f, id)->calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void add(struct fx *f, const char *id, int64_t secs, void (*tweak)(struct lh_schedule *))
{
    struct lh_schedule d;
    struct lh_error err;
    lh_schedule_init(&d, id, fake_now(f));
    d.kind = LH_SCHED_MYSQL;
    snprintf(d.dsn, sizeof d.dsn, "mysql://etl:Pa55word-x@db:3306/shop");
    snprintf(d.table, sizeof d.table, "customers");
    d.trigger.interval_secs = secs;
    if (tweak)
        tweak(&d);
    if (lh_schedule_store_create(f->ss, &d, &err) != LH_OK)
        fail_msg("create %s: %s", id, err.msg);
}

static struct lh_schedule get(struct fx *f, const char *id)
{
    struct lh_schedule d;
    struct lh_error err;
    assert_int_equal(lh_schedule_store_get(f->ss, id, &d, &err), LH_OK);
    return d;
}

static struct lh_run_record *runs(struct fx *f, const char *id, size_t *n)
{
    struct lh_run_record *v;
    size_t total;
    struct lh_error err;
    assert_int_equal(lh_schedule_store_runs(f->ss, id, NULL, 50, &v, n, &total, &err), LH_OK);
    return v;
}

/* ------------------------------------------------------------------ tests */

static void test_first_run_due_at_once(void **state)
{
    struct fx *f = *state;
    add(f, "a", 3600, NULL);
    start(f, 2);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "a"), 1);
    assert_int_equal(B(f, "a")->reasons[0], LH_RUN_SCHEDULE);
    /* the job saw the full DSN; everything stored is redacted */
    assert_string_equal(f->last_dsn, "mysql://etl:Pa55word-x@db:3306/shop");
    struct lh_schedule d = get(f, "a");
    assert_int_equal(d.run_count, 1);
    assert_int_equal(d.next_run_at_us, T0 + 3600 * S);
    assert_string_equal(d.last_outcome.message, "rows=11 dataset=customers bytes=2048");
    assert_true(d.last_outcome.has_rows && d.last_outcome.rows == 11);
    struct lh_scheduler_stats st;
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 3600 * S);
    /* a schedule added while running is due at once too */
    add(f, "b", 60, NULL);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "b"), 1);
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 60 * S);
}

static void fixed(struct lh_schedule *d)
{
    d->trigger.anchor = LH_ANCHOR_FIXED;
}

static void test_interval_anchors_and_single_flight(void **state)
{
    struct fx *f = *state;
    add(f, "completion", 60, NULL);
    add(f, "fixed", 60, fixed);
    B(f, "completion")->gate = true;
    B(f, "fixed")->gate = true;
    start(f, 4);
    wait_calls(f, 2);
    lh_scheduler_quiesce(f->sch, 2);
    /* both runs take 150 s: two more due times pass while they run */
    advance(f, 150, 2);
    assert_int_equal(calls_of(f, "completion"), 1); /* single-flight */
    assert_int_equal(calls_of(f, "fixed"), 1);
    struct lh_scheduler_stats st;
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.started, 2);
    release(f, "completion", 1);
    release(f, "fixed", 1);
    lh_scheduler_quiesce(f->sch, 0);
    /* completion: 150 + 60; fixed: the grid T0+60k, ticks 60 and 120 skipped */
    assert_int_equal(get(f, "completion").next_run_at_us, T0 + 210 * S);
    assert_int_equal(get(f, "fixed").next_run_at_us, T0 + 180 * S);
    assert_int_equal(calls_of(f, "fixed"), 1);
    /* quick runs from here: fixed at 180, completion at 210 */
    release(f, "fixed", 10);
    release(f, "completion", 10);
    advance_to(f, T0 + 180 * S, 0);
    assert_int_equal(calls_of(f, "fixed"), 2);
    assert_int_equal(calls_of(f, "completion"), 1);
    advance_to(f, T0 + 210 * S, 0);
    assert_int_equal(calls_of(f, "completion"), 2);
    assert_int_equal(get(f, "fixed").next_run_at_us, T0 + 240 * S);
    assert_int_equal(get(f, "completion").next_run_at_us, T0 + 270 * S);
}

static void disabled(struct lh_schedule *d)
{
    d->enabled = false;
}

static void test_run_now(void **state)
{
    struct fx *f = *state;
    add(f, "off", 60, disabled);
    start(f, 2);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "off"), 0);
    struct lh_scheduler_stats st;
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, INT64_MAX);
    B(f, "off")->gate = true;
    char rid[LH_RUN_ID_MAX], rid2[LH_RUN_ID_MAX];
    bool already;
    struct lh_error err;
    assert_int_equal(lh_scheduler_run_now(f->sch, "off", rid, &already, &err), LH_OK);
    assert_false(already);
    wait_calls(f, 1);
    lh_scheduler_quiesce(f->sch, 1);
    assert_int_equal(B(f, "off")->reasons[0], LH_RUN_MANUAL);
    /* while it runs: no second run, the active one is reported */
    assert_int_equal(lh_scheduler_run_now(f->sch, "off", rid2, &already, &err), LH_OK);
    assert_true(already);
    assert_string_equal(rid, rid2);
    lh_scheduler_quiesce(f->sch, 1);
    assert_int_equal(calls_of(f, "off"), 1);
    release(f, "off", 1);
    lh_scheduler_quiesce(f->sch, 0);
    struct lh_schedule d = get(f, "off");
    assert_false(d.enabled);
    assert_int_equal(d.run_count, 1);
    assert_int_equal(d.next_run_at_us, T0); /* the timetable is untouched */
    size_t n;
    struct lh_run_record *v = runs(f, "off", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].run_id, rid);
    assert_int_equal(v[0].reason, LH_RUN_MANUAL);
    free(v);
    assert_int_equal(lh_scheduler_run_now(f->sch, "nope", rid, &already, &err), LH_E_NOTFOUND);
}

static void test_concurrency_limit(void **state)
{
    struct fx *f = *state;
    const char *ids[] = {"c1", "c2", "c3", "c4", "c5"};
    for (int i = 0; i < 5; i++) {
        add(f, ids[i], 3600, NULL);
        B(f, ids[i])->gate = true;
    }
    start(f, 2);
    wait_calls(f, 2);
    lh_scheduler_quiesce(f->sch, 2);
    struct lh_scheduler_stats st;
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.running, 2);
    assert_int_equal(st.queued, 3);
    assert_int_equal(f->calls, 2);
    for (int i = 0; i < 5; i++)
        release(f, ids[i], 1);
    wait_calls(f, 5);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(f->max_cur, 2);
    for (int i = 0; i < 5; i++)
        assert_int_equal(calls_of(f, ids[i]), 1);
}

static void retrying(struct lh_schedule *d)
{
    d->retry = (struct lh_schedule_retry){3, 10, 1000};
}

static void test_retry_backoff_then_regular(void **state)
{
    struct fx *f = *state;
    add(f, "flaky", 3600, retrying);
    B(f, "flaky")->fail = true;
    start(f, 1);
    lh_scheduler_quiesce(f->sch, 0);
    int64_t prev_end = T0;
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        struct lh_schedule d = get(f, "flaky");
        int64_t lo = 10 * (INT64_C(1) << (attempt - 1)) * S;
        if (d.next_run_at_us < prev_end + lo || d.next_run_at_us >= prev_end + 2 * lo)
            fail_msg("retry %u at +%lld s, want [%lld, %lld)", attempt,
                     (long long)((d.next_run_at_us - prev_end) / S), (long long)(lo / S),
                     (long long)(2 * lo / S));
        assert_int_equal(d.retry_attempt, attempt);
        /* one microsecond early: nothing */
        advance_to(f, d.next_run_at_us - 1, 0);
        assert_int_equal(calls_of(f, "flaky"), (int)attempt);
        advance_to(f, d.next_run_at_us, 0);
        assert_int_equal(calls_of(f, "flaky"), (int)attempt + 1);
        assert_int_equal(B(f, "flaky")->reasons[attempt], LH_RUN_RETRY);
        assert_int_equal(B(f, "flaky")->attempts[attempt], attempt);
        prev_end = d.next_run_at_us;
    }
    /* retries used up: back to the regular trigger */
    struct lh_schedule d = get(f, "flaky");
    assert_int_equal(d.retry_attempt, 0);
    assert_int_equal(d.next_run_at_us, prev_end + 3600 * S);
    assert_int_equal(d.failure_count, 4);
    assert_int_equal(d.consecutive_failures, 4);
    assert_true(d.enabled);
    /* no message or record keeps the password */
    assert_null(strstr(d.last_outcome.message, "Pa55word"));
    if (!strstr(d.last_outcome.message, "etl:***@db"))
        fail_msg("message: %s", d.last_outcome.message);
    size_t n;
    struct lh_run_record *v = runs(f, "flaky", &n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(v[i].message, "Pa55word"));
        assert_int_equal(v[i].status, LH_RUN_FAILED);
    }
    assert_int_equal(v[0].reason, LH_RUN_RETRY);
    assert_int_equal(v[3].reason, LH_RUN_SCHEDULE);
    free(v);
    char raw_key[] = "_schedules/flaky.json";
    uint8_t *raw;
    size_t rl;
    struct lh_error err;
    assert_int_equal(lh_store_get(f->st, raw_key, 0, &raw, &rl, NULL, &err), LH_OK);
    assert_null(strstr((char *)raw, "Pa55word"));
    free(raw);
}

static void autopause(struct lh_schedule *d)
{
    d->retry.max_attempts = 0;
    d->auto_pause_after = 2;
}

static void test_auto_pause(void **state)
{
    struct fx *f = *state;
    add(f, "bad", 60, autopause);
    B(f, "bad")->fail = true;
    start(f, 1);
    lh_scheduler_quiesce(f->sch, 0);
    assert_true(get(f, "bad").enabled);
    advance(f, 60, 0);
    assert_int_equal(calls_of(f, "bad"), 2);
    struct lh_schedule d = get(f, "bad");
    assert_false(d.enabled);
    assert_non_null(strstr(d.paused_reason, "auto-paused after 2 consecutive failed runs"));
    assert_int_equal(f->paused_events, 1);
    assert_int_equal(f->finished_events, 2);
    advance(f, 3600, 0);
    assert_int_equal(calls_of(f, "bad"), 2);
    /* resume: runs again, streak cleared */
    struct lh_error err;
    B(f, "bad")->fail = false;
    assert_int_equal(lh_schedule_store_set_enabled(f->ss, "bad", true, NULL, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "bad"), 3);
    assert_int_equal(get(f, "bad").consecutive_failures, 0);
}

static void no_retry(struct lh_schedule *d)
{
    d->retry.max_attempts = 0;
}

static void pause_at_once(struct lh_schedule *d)
{
    d->retry.max_attempts = 0;
    d->auto_pause_after = 1;
}

/* prev_failures (what a run_recovered alert rests on) counts the failed
 * runs since the last success: 0, 1 for two failures, 2 for the success
 * that ends them, 0 after. A resume clears consecutive_failures (the
 * auto-pause streak) but not that: the first success after an auto-pause
 * and a resume is a recovery too. */
static void test_prev_failures(void **state)
{
    struct fx *f = *state;
    add(f, "r", 60, no_retry);
    add(f, "p", 60, pause_at_once);
    B(f, "r")->fail = true;
    B(f, "p")->fail = true;
    start(f, 2);
    lh_scheduler_quiesce(f->sch, 0);
    advance(f, 60, 0);
    assert_false(get(f, "p").enabled);
    assert_int_equal(f->paused_events, 1);
    B(f, "r")->fail = false;
    B(f, "p")->fail = false;
    advance(f, 60, 0);
    advance(f, 60, 0);
    struct beh *r = B(f, "r");
    assert_int_equal(r->events, 4);
    assert_int_equal(r->prev[0], 0);
    assert_int_equal(r->prev[1], 1);
    assert_int_equal(r->prev[2], 2);
    assert_int_equal(r->prev[3], 0);
    /* p: one failure, paused; resumed, it runs and succeeds */
    struct lh_error err;
    assert_int_equal(lh_schedule_store_set_enabled(f->ss, "p", true, NULL, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    struct beh *p = B(f, "p");
    assert_int_equal(p->events, 2);
    assert_int_equal(p->prev[0], 0);
    assert_int_equal(p->prev[1], 1);
    assert_int_equal(get(f, "p").consecutive_failures, 0);
}

static void ran_long_ago(struct lh_schedule *d)
{
    d->has_last_run = true;
    d->last_run_at_us = T0 - 10 * 3600 * S;
    d->next_run_at_us = T0 - 9 * 3600 * S - 1800 * S; /* missed ten times */
    d->trigger.interval_secs = 3600;
}

static void ran_long_ago_skip(struct lh_schedule *d)
{
    ran_long_ago(d);
    d->catch_up = LH_CATCH_UP_SKIP;
}

static void test_catch_up_once_vs_skip(void **state)
{
    struct fx *f = *state;
    add(f, "once", 3600, ran_long_ago);
    add(f, "skip", 3600, ran_long_ago_skip);
    start(f, 2);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "once"), 1); /* one run, not ten */
    assert_int_equal(B(f, "once")->reasons[0], LH_RUN_CATCH_UP);
    assert_int_equal(get(f, "once").next_run_at_us, T0 + 3600 * S);
    assert_int_equal(calls_of(f, "skip"), 0);
    /* skip: the first tick of its grid after now (T0 - 9.5h + 10h) */
    assert_int_equal(get(f, "skip").next_run_at_us, T0 + 1800 * S);
    size_t n;
    struct lh_run_record *v = runs(f, "once", &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].reason, LH_RUN_CATCH_UP);
    free(v);
    advance(f, 1800, 0);
    assert_int_equal(calls_of(f, "skip"), 1);
    assert_int_equal(B(f, "skip")->reasons[0], LH_RUN_SCHEDULE);
}

static void timeout30(struct lh_schedule *d)
{
    d->timeout_secs = 30;
    d->retry.max_attempts = 0;
}

static void test_timeout(void **state)
{
    struct fx *f = *state;
    add(f, "slow", 3600, timeout30);
    B(f, "slow")->gate = true;
    start(f, 1);
    wait_calls(f, 1);
    lh_scheduler_quiesce(f->sch, 1);
    struct lh_scheduler_stats st;
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 30 * S); /* the timer wakes for the timeout */
    advance(f, 29, 1);
    assert_int_equal(f->hook_calls, 0);
    advance(f, 1, 0); /* the hook fires, the job returns */
    assert_int_equal(f->hook_calls, 1);
    struct lh_schedule d = get(f, "slow");
    assert_int_equal(d.failure_count, 1);
    assert_false(d.last_outcome.success);
    assert_non_null(strstr(d.last_outcome.message, "timeout"));
    size_t n;
    struct lh_run_record *v = runs(f, "slow", &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].status, LH_RUN_TIMEOUT);
    free(v);
}

static void test_graceful_stop(void **state)
{
    struct fx *f = *state;
    add(f, "quick", 3600, NULL);
    add(f, "stuck", 3600, NULL);
    B(f, "quick")->gate = true;
    B(f, "stuck")->gate = true;
    start(f, 2);
    wait_calls(f, 2);
    lh_scheduler_quiesce(f->sch, 2);
    add(f, "late", 60, NULL); /* due, but no free worker */
    lh_scheduler_quiesce(f->sch, 2);
    lh_scheduler_stop_begin(f->sch, 10);
    lh_scheduler_quiesce(f->sch, 2);
    release(f, "quick", 1); /* finishes within the grace period */
    lh_scheduler_quiesce(f->sch, 1);
    advance(f, 5, 1);
    assert_int_equal(f->hook_calls, 0);
    advance(f, 5, 0); /* grace over: stuck is cancelled */
    assert_int_equal(f->hook_calls, 1);
    lh_scheduler_stop(f->sch, 10);
    f->sch = NULL;
    assert_int_equal(calls_of(f, "late"), 0); /* nothing new fired */
    size_t n;
    struct lh_run_record *v = runs(f, "quick", &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].status, LH_RUN_SUCCESS);
    free(v);
    v = runs(f, "stuck", &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].status, LH_RUN_CANCELLED);
    free(v);
    struct lh_schedule d = get(f, "stuck");
    assert_int_equal(d.failure_count, 0);   /* a stop is not a failure */
    assert_int_equal(d.next_run_at_us, T0); /* still due: the next start runs it */
}

/* A run-now accepted while every worker is busy, then a stop: the caller
 * holds its run id, so the run is recorded (cancelled) and never started. */
static void test_stop_records_queued_run_now(void **state)
{
    struct fx *f = *state;
    add(f, "busy", 3600, NULL);
    add(f, "queued", 60, disabled);
    B(f, "busy")->gate = true;
    start(f, 1);
    wait_calls(f, 1);
    lh_scheduler_quiesce(f->sch, 1);
    char rid[LH_RUN_ID_MAX], rid2[LH_RUN_ID_MAX];
    bool already;
    struct lh_error err;
    assert_int_equal(lh_scheduler_run_now(f->sch, "queued", rid, &already, &err), LH_OK);
    assert_false(already);
    lh_scheduler_quiesce(f->sch, 1);
    /* queued behind the limit, but reported as the active run */
    assert_true(lh_scheduler_active_run(f->sch, "queued", rid2));
    assert_string_equal(rid, rid2);
    lh_scheduler_stop_begin(f->sch, 0); /* no grace: busy is cancelled */
    lh_scheduler_stop(f->sch, 0);
    f->sch = NULL;
    assert_int_equal(calls_of(f, "queued"), 0);
    size_t n;
    struct lh_run_record *v = runs(f, "queued", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].run_id, rid);
    assert_int_equal(v[0].status, LH_RUN_CANCELLED);
    assert_int_equal(v[0].reason, LH_RUN_MANUAL);
    assert_non_null(strstr(v[0].message, "had not started"));
    free(v);
    struct lh_schedule d = get(f, "queued");
    assert_int_equal(d.failure_count, 0);
    assert_int_equal(d.run_count, 0);
}

static void streaky(struct lh_schedule *d)
{
    d->retry.max_attempts = 3;
    d->retry.base_secs = 30;
    d->auto_pause_after = 2;
}

/* A user's cancel of a running retry (issue 14): recorded cancelled, not a
 * failure: the streak stays at 1 (no auto-pause at 2), its retries end and
 * the schedule waits for its next regular time instead of firing again. */
static void test_user_cancel_running(void **state)
{
    struct fx *f = *state;
    add(f, "c", 3600, streaky);
    B(f, "c")->fail = true;
    start(f, 1);
    lh_scheduler_quiesce(f->sch, 0);
    struct lh_schedule d = get(f, "c");
    assert_int_equal(d.consecutive_failures, 1);
    assert_int_equal(d.retry_attempt, 1);
    /* the retry runs, gated, and a user cancels it */
    pthread_mutex_lock(&f->mu);
    beh_for(f, "c")->fail = false;
    beh_for(f, "c")->gate = true;
    pthread_mutex_unlock(&f->mu);
    advance_to(f, d.next_run_at_us, 1);
    wait_calls(f, 2);
    char rid[LH_RUN_ID_MAX], active[LH_RUN_ID_MAX];
    struct lh_error err;
    assert_true(lh_scheduler_active_run(f->sch, "c", active));
    assert_int_equal(lh_scheduler_cancel(f->sch, "c", "not-this-run", rid, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_scheduler_cancel(f->sch, "c", active, rid, &err), LH_OK);
    assert_string_equal(rid, active);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(f->hook_calls, 1);
    size_t n;
    struct lh_run_record *v = runs(f, "c", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].run_id, active);
    assert_int_equal(v[0].status, LH_RUN_CANCELLED);
    assert_int_equal(v[0].reason, LH_RUN_RETRY);
    assert_non_null(strstr(v[0].message, "cancelled by a user"));
    free(v);
    d = get(f, "c");
    assert_true(d.enabled);
    assert_int_equal(f->paused_events, 0);
    assert_int_equal(d.consecutive_failures, 1); /* unchanged by the cancel */
    assert_int_equal(d.failure_count, 1);
    assert_int_equal(d.run_count, 0);
    assert_int_equal(d.retry_attempt, 0);
    /* the regular time (interval: an hour after this run), no retry */
    assert_int_equal(d.next_run_at_us, d.last_run_at_us + 3600 * S);
    assert_false(d.last_outcome.success);
    assert_non_null(strstr(d.last_outcome.message, "cancelled by a user"));
    /* not due again before then; nothing left to cancel */
    advance(f, 60, 0);
    assert_int_equal(calls_of(f, "c"), 2);
    assert_false(lh_scheduler_active_run(f->sch, "c", active));
    assert_int_equal(lh_scheduler_cancel(f->sch, "c", NULL, rid, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_scheduler_cancel(f->sch, "ghost", NULL, rid, &err), LH_E_NOTFOUND);
}

/* A run-now waiting for a worker, cancelled: recorded cancelled at once
 * without its job, the schedule free again. */
static void test_user_cancel_queued_run_now(void **state)
{
    struct fx *f = *state;
    add(f, "busy", 3600, NULL);
    add(f, "q", 60, disabled);
    B(f, "busy")->gate = true;
    start(f, 1);
    wait_calls(f, 1);
    lh_scheduler_quiesce(f->sch, 1);
    char rid[LH_RUN_ID_MAX], got[LH_RUN_ID_MAX];
    bool already;
    struct lh_error err;
    assert_int_equal(lh_scheduler_run_now(f->sch, "q", rid, &already, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 1);
    assert_int_equal(lh_scheduler_cancel(f->sch, "q", NULL, got, &err), LH_OK);
    assert_string_equal(got, rid);
    lh_scheduler_quiesce(f->sch, 1); /* recorded while busy still holds the worker */
    assert_false(lh_scheduler_active_run(f->sch, "q", got));
    size_t n;
    struct lh_run_record *v = runs(f, "q", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].run_id, rid);
    assert_int_equal(v[0].status, LH_RUN_CANCELLED);
    assert_int_equal(v[0].reason, LH_RUN_MANUAL);
    assert_non_null(strstr(v[0].message, "before it started"));
    free(v);
    assert_int_equal(calls_of(f, "q"), 0);
    struct lh_schedule d = get(f, "q");
    assert_int_equal(d.failure_count, 0);
    assert_int_equal(d.consecutive_failures, 0);
    /* a new run-now is accepted, and runs once the worker is free */
    assert_int_equal(lh_scheduler_run_now(f->sch, "q", got, &already, &err), LH_OK);
    assert_false(already);
    assert_string_not_equal(got, rid);
    release(f, "busy", 1);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "q"), 1);
}

/* A job's message in Latin-1, longer than the stored outcome: the run is
 * still recorded, and what is stored is valid UTF-8 (JSON cannot hold
 * anything else). */
static void test_message_not_utf8(void **state)
{
    struct fx *f = *state;
    add(f, "enc", 3600, NULL);
    B(f, "enc")->fail = true;
    B(f, "enc")->latin1 = true;
    start(f, 1);
    wait_calls(f, 1);
    lh_scheduler_quiesce(f->sch, 0);
    size_t n;
    struct lh_run_record *v = runs(f, "enc", &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].status, LH_RUN_FAILED);
    assert_non_null(strstr(v[0].message, "erreur: acc?s refus? "));
    char copy[LH_SCHEDULE_MSG_MAX];
    snprintf(copy, sizeof copy, "%s", v[0].message);
    assert_int_equal(lh_utf8_sanitize(copy), strlen(v[0].message)); /* already valid */
    free(v);
    struct lh_schedule d = get(f, "enc");
    assert_true(d.last_outcome.present);
    assert_false(d.last_outcome.success);
    snprintf(copy, sizeof copy, "%s", d.last_outcome.message);
    assert_int_equal(lh_utf8_sanitize(copy), strlen(d.last_outcome.message));
    assert_int_equal(d.failure_count, 1);
}

static void later(struct lh_schedule *d)
{
    d->next_run_at_us += 100 * S;
}

static void test_wakeup_on_changes(void **state)
{
    struct fx *f = *state;
    add(f, "a", 3600, later);
    start(f, 1);
    lh_scheduler_quiesce(f->sch, 0);
    struct lh_scheduler_stats st;
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 100 * S);
    /* add: an earlier schedule moves the wake-up, with no time passing */
    struct lh_schedule d;
    struct lh_error err;
    lh_schedule_init(&d, "b", T0);
    d.kind = LH_SCHED_POSTGRES;
    snprintf(d.dsn, sizeof d.dsn, "postgres://u@h/d");
    snprintf(d.table, sizeof d.table, "t");
    d.next_run_at_us = T0 + 50 * S;
    assert_int_equal(lh_schedule_store_create(f->ss, &d, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 50 * S);
    /* change */
    d = get(f, "b");
    d.next_run_at_us = T0 + 30 * S;
    assert_int_equal(lh_schedule_store_update(f->ss, &d, T0, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 30 * S);
    /* delete */
    assert_int_equal(lh_schedule_store_delete(f->ss, "b", NULL, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, T0 + 100 * S);
    /* pause */
    assert_int_equal(lh_schedule_store_set_enabled(f->ss, "a", false, NULL, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.next_wake_us, INT64_MAX);
    assert_int_equal(f->calls, 0);
}

/* Waits (hang guard only) until id's job was entered n times, or its
 * finished-run event was entered n times. */
static void wait_beh(struct fx *f, const char *id, int n, bool events)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&f->mu);
    struct beh *b = beh_for(f, id);
    while ((events ? b->events : b->calls) < n)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&f->mu);
            fail_msg("%s: %s not reached %d", id, events ? "events" : "calls", n);
        }
    pthread_mutex_unlock(&f->mu);
}

/* Lets a's held run-finished events go 200 ms from now (a thread). */
static void *release_events_later(void *arg)
{
    struct fx *f = arg;
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    pthread_mutex_lock(&f->mu);
    beh_for(f, "a")->hold_event = false;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* A job's worker slot is free when the job returns: recording the run (the
 * run record, the schedule file, the events) happens on a recorder thread,
 * and the next due schedule starts meanwhile, even with one worker. The
 * schedule itself stays single-flight until its run is recorded. */
static void test_recording_frees_the_worker(void **state)
{
    struct fx *f = *state;
    B(f, "a")->hold_event = true;
    add(f, "a", 60, NULL);
    add(f, "b", 60, NULL);
    start(f, 1);
    /* a ran and is held in its run-finished event (being recorded) */
    wait_beh(f, "a", 1, true);
    /* b starts and finishes on the only worker meanwhile */
    wait_beh(f, "b", 1, false);
    wait_beh(f, "b", 1, true);
    /* b's recording ends right after its event returns: poll for it (1 ms
     * steps; the 20 s limit only guards a hang) */
    struct lh_scheduler_stats st;
    for (int i = 0;; i++) {
        lh_scheduler_stats(f->sch, &st);
        if (st.finished == 1 || i == 20000)
            break;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    assert_int_equal(st.finished, 1);
    assert_int_equal(st.running, 0);
    assert_int_equal(st.recording, 1);
    /* a run-now of a while it is recorded waits for the record (the API
     * already shows that run finished) and then starts a new run, rather
     * than answering "already running" with the finished one */
    char active[LH_RUN_ID_MAX], rid[LH_RUN_ID_MAX];
    bool already = true;
    struct lh_error err;
    assert_true(lh_scheduler_active_run(f->sch, "a", active));
    pthread_t rel;
    assert_int_equal(pthread_create(&rel, NULL, release_events_later, f), 0);
    assert_int_equal(lh_scheduler_run_now(f->sch, "a", rid, &already, &err), LH_OK);
    pthread_join(rel, NULL);
    assert_false(already);
    assert_string_not_equal(rid, active);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(calls_of(f, "a"), 2);
    assert_int_equal(B(f, "a")->reasons[1], LH_RUN_MANUAL);
    size_t n;
    struct lh_run_record *v = runs(f, "a", &n);
    assert_int_equal(n, 2);
    assert_true(strcmp(v[0].run_id, active) == 0 || strcmp(v[1].run_id, active) == 0);
    assert_true(strcmp(v[0].run_id, rid) == 0 || strcmp(v[1].run_id, rid) == 0);
    assert_int_equal(v[0].status, LH_RUN_SUCCESS);
    assert_int_equal(v[1].status, LH_RUN_SUCCESS);
    free(v);
    assert_false(lh_scheduler_active_run(f->sch, "a", active));
    lh_scheduler_stats(f->sch, &st);
    assert_int_equal(st.recording, 0);
    assert_int_equal(st.finished, 3);
}

/* The real clock: a schedule added while the timer sleeps (for an hour)
 * fires promptly. The 20 s deadline in wait_calls only guards a hang. */
static void test_real_clock_wakeup(void **state)
{
    struct fx *f = *state;
    struct lh_schedule d;
    struct lh_error err;
    lh_schedule_init(&d, "hourly", lh_time_wall_us() + 3600 * S);
    d.kind = LH_SCHED_MYSQL;
    snprintf(d.dsn, sizeof d.dsn, "mysql://u@h/d");
    snprintf(d.table, sizeof d.table, "t");
    assert_int_equal(lh_schedule_store_create(f->ss, &d, &err), LH_OK);
    struct lh_scheduler_options o = {.store = f->ss, .job = job, .job_ctx = f, .max_concurrent = 1};
    assert_int_equal(lh_scheduler_start(&o, &f->sch, &err), LH_OK);
    lh_scheduler_quiesce(f->sch, 0);
    assert_int_equal(f->calls, 0);
    lh_schedule_init(&d, "now", lh_time_wall_us());
    d.kind = LH_SCHED_MYSQL;
    snprintf(d.dsn, sizeof d.dsn, "mysql://u@h/d");
    snprintf(d.table, sizeof d.table, "t");
    assert_int_equal(lh_schedule_store_create(f->ss, &d, &err), LH_OK);
    wait_calls(f, 1);
    assert_int_equal(calls_of(f, "now"), 1);
    assert_int_equal(calls_of(f, "hourly"), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_first_run_due_at_once),
        T(test_interval_anchors_and_single_flight),
        T(test_run_now),
        T(test_concurrency_limit),
        T(test_retry_backoff_then_regular),
        T(test_auto_pause),
        T(test_prev_failures),
        T(test_catch_up_once_vs_skip),
        T(test_timeout),
        T(test_graceful_stop),
        T(test_stop_records_queued_run_now),
        T(test_user_cancel_running),
        T(test_user_cancel_queued_run_now),
        T(test_message_not_utf8),
        T(test_wakeup_on_changes),
        T(test_real_clock_wakeup),
        T(test_recording_frees_the_worker),
    };
    lh_log_set_level(getenv("LH_TEST_DEBUG") ? LH_LOG_DEBUG : LH_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
