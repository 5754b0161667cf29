/*
 * scheduler.c — the timer thread, the worker pool and the recorders.
 *
 * One timer thread sleeps until the earliest of: the first due time in a
 * min-heap of schedules (keyed by next_run_at), the timeout of a running
 * job, or the end of the stop grace period. It is woken (condition
 * variable, CLOCK_MONOTONIC) when a schedule is added, changed or deleted
 * (the store's listener), run manually, or a run finishes. There is no
 * polling tick; the only cap on a sleep is one hour, so a wall-clock step
 * is noticed within the hour.
 *
 * Due schedules are handed to a fixed pool of max_concurrent workers (by
 * the timer, or by a worker whose job just returned: it takes the next due
 * schedule itself, see after_job). A schedule is in the heap only while it is busy (dispatched and not yet
 * recorded), so a run in flight is never started twice (single-flight). A
 * worker reads the definition from the store (memory), reveals the DSN and
 * calls the job; when the job returns its worker slot is free at once and
 * the run goes to a small pool of recorder threads, which record it
 * (lh_schedule_store_record_run computes the next due time, retries and
 * auto-pause: a run record and a schedule file, both fsynced), send the
 * events and put the schedule back into the heap. Recording is not a run:
 * the limit on concurrent runs counts jobs, and a burst of due schedules
 * no longer waits behind fsyncs (issue 5: fire lateness p99 was 0.55 s
 * with 570 fires a second when workers recorded).
 *
 * Unrecorded runs: when the store could not write a run (a full disk) it
 * keeps the outcome in memory (keep_unrecorded); a recorder tries to write
 * what is pending before each record, and the timer thread wakes a
 * recorder to try again every flush_retry_secs until nothing is pending,
 * and once more at stop.
 *
 * Slots (one per schedule id) live until the scheduler is destroyed, so a
 * pointer to one stays valid while the lock is dropped; a deleted schedule
 * only marks its slot.
 *
 * Locks: s->mu guards every field of the scheduler and its slots. A run's
 * ctl->mu guards its cancel hook and is held while the hook runs. Order:
 * never take s->mu while holding ctl->mu; never call the store or the job
 * while holding s->mu.
 */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP (glibc) */
#include "schedule_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Recorder threads: enough to overlap the fsyncs of run records of
 * different schedules (the store's handle pool allows 8 for a local store;
 * other backends serialise their I/O anyway). */
#define RECORDERS 4
#define POOL_MAX 64
#define RECORD_DEFER_NS (50 * INT64_C(1000000))

struct lh_run_ctl {
    pthread_mutex_t mu;
    bool cancelled;
    void (*hook)(void *ctx);
    void *hook_ctx;
};

struct slot {
    char id[LH_SCHEDULE_ID_MAX + 1];
    int64_t due_us; /* INT64_MAX: not scheduled */
    size_t heap_idx;
    enum lh_run_reason reason; /* of the next run */
    uint32_t attempt;
    int64_t target_us;
    int64_t timeout_secs;
    bool deleted;
    bool manual;  /* a run-now is queued; run_id is its id */
    bool running; /* dispatched, not yet recorded (single-flight) */
    bool in_job;  /* its job holds a worker slot (s->run) */
    bool timed_out, stop_cancelled, cancel_sent;
    bool user_cancelled; /* lh_scheduler_cancel: recorded cancelled, no failure */
    int64_t started_us, timeout_at_us;
    char run_id[LH_RUN_ID_MAX];
    struct lh_run_ctl ctl;
    struct pending *pend; /* the finished run waiting for a recorder */
    struct slot *rnext;   /* the recorder queue */
    /* Failed or timed-out runs since the last success, as this scheduler
     * recorded them. Unlike the definition's consecutive_failures (the
     * auto-pause streak) a resume does not clear it, so the first success
     * after an auto-pause and a resume still reports prev_failures > 0.
     * Starts at 0: after a restart consecutive_failures stands in. */
    uint32_t fail_streak;
};

/* What a worker hands to a recorder: the run and the definition it ran. */
struct pending {
    struct lh_run_record rec;
    struct lh_schedule def;
    bool have_def;
    uint64_t rnd;
    int64_t now;
    int64_t queued_ns; /* monotonic, when the job returned */
};

struct lh_scheduler {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* timer thread (CLOCK_MONOTONIC) */
    pthread_cond_t work_cv; /* workers */
    pthread_cond_t idle_cv; /* quiesce */
    struct lh_sched_clock clock;
    struct lh_schedule_store *store;
    lh_scheduler_job_fn job;
    void *job_ctx;
    void (*on_event)(void *ctx, const struct lh_sched_event *ev);
    void *event_ctx;
    unsigned limit;

    struct slot **slots;
    size_t nslots, capslots;
    struct slot **index; /* open addressing by id hash; capindex a power of 2 */
    size_t capindex;
    struct slot **heap;
    size_t nheap;
    struct slot **queue; /* ring, capacity limit */
    size_t qhead, qlen;
    struct slot **run; /* slots whose job is running, capacity limit */
    unsigned running;
    struct slot *rq_head, *rq_tail; /* finished runs waiting for a recorder */
    struct pending *pool[POOL_MAX]; /* free pending records */
    unsigned npool;
    unsigned recording;             /* runs between their job's end and their record */
    pthread_cond_t rec_cv;          /* recorders */
    bool recorders_exit;
    pthread_t *recorders;
    unsigned nrecorders;

    bool stopping, cancelled_all, workers_exit, kicked, sleeping;
    bool timer_done; /* the timer thread has exited (stop): nobody reads kicked */
    int64_t flush_at_us;    /* when a recorder retries unrecorded runs; INT64_MAX none */
    int64_t flush_every_us; /* flush_retry_secs */
    bool flush_wanted;      /* a recorder should flush now */
    int64_t grace_deadline_us, next_wake_us;
    uint64_t started, finished, rng;
    uint32_t seq;
    pthread_t timer;
    pthread_t *workers;
    unsigned nworkers;
    bool timer_started;
};

/* Names the calling thread (top -H, perf, gdb). */
static void thread_name(const char *name)
{
#ifdef __linux__
    prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}

/* ------------------------------------------------------------------ clocks */

static int64_t real_now(void *ctx)
{
    (void)ctx;
    return lh_time_wall_us();
}

static void real_wait(void *ctx, pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_us)
{
    (void)ctx;
    const int64_t hour = INT64_C(3600) * 1000000;
    int64_t delta = deadline_us == INT64_MAX ? hour : deadline_us - lh_time_wall_us();
    if (delta <= 0)
        return;
    if (delta > hour)
        delta = hour;
    lh_cond_wait_until(cv, mu, lh_time_mono_ns() + delta * 1000);
}

static const struct lh_sched_clock real_clock = {real_now, real_wait, NULL};

const struct lh_sched_clock *lh_sched_clock_real(void)
{
    return &real_clock;
}

/* ------------------------------------------------------------------ cancel */

bool lh_run_cancelled(const struct lh_run_info *run)
{
    struct lh_run_ctl *c = run->ctl;
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool v = c->cancelled;
    pthread_mutex_unlock(&c->mu);
    return v;
}

void lh_run_set_cancel_hook(struct lh_run_info *run, void (*fn)(void *ctx), void *ctx)
{
    struct lh_run_ctl *c = run->ctl;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->hook = fn;
    c->hook_ctx = ctx;
    if (fn && c->cancelled)
        fn(ctx);
    pthread_mutex_unlock(&c->mu);
}

static void ctl_cancel(struct lh_run_ctl *c)
{
    pthread_mutex_lock(&c->mu);
    if (!c->cancelled) {
        c->cancelled = true;
        if (c->hook)
            c->hook(c->hook_ctx);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------------ heap */

static bool before(const struct slot *a, const struct slot *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && strcmp(a->id, b->id) < 0);
}

static void heap_set(struct lh_scheduler *s, size_t i, struct slot *x)
{
    s->heap[i] = x;
    x->heap_idx = i;
}

static void sift_up(struct lh_scheduler *s, size_t i)
{
    struct slot *x = s->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(x, s->heap[p]))
            break;
        heap_set(s, i, s->heap[p]);
        i = p;
    }
    heap_set(s, i, x);
}

static void sift_down(struct lh_scheduler *s, size_t i)
{
    struct slot *x = s->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        struct slot *best = x;
        if (l < s->nheap && before(s->heap[l], best)) {
            m = l;
            best = s->heap[l];
        }
        if (l + 1 < s->nheap && before(s->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        heap_set(s, i, s->heap[m]);
        i = m;
    }
    heap_set(s, i, x);
}

static void heap_remove(struct lh_scheduler *s, struct slot *x)
{
    size_t i = x->heap_idx;
    if (i == SIZE_MAX)
        return;
    x->heap_idx = SIZE_MAX;
    struct slot *last = s->heap[--s->nheap];
    if (last == x)
        return;
    heap_set(s, i, last);
    sift_up(s, i);
    sift_down(s, last->heap_idx);
}

/* Puts x at due (INT64_MAX removes it). The heap array has room for every
 * slot. */
static void heap_update(struct lh_scheduler *s, struct slot *x, int64_t due)
{
    x->due_us = due;
    if (due == INT64_MAX) {
        heap_remove(s, x);
        return;
    }
    if (x->heap_idx == SIZE_MAX) {
        heap_set(s, s->nheap++, x);
        sift_up(s, x->heap_idx);
    } else {
        sift_up(s, x->heap_idx);
        sift_down(s, x->heap_idx);
    }
}

/* ------------------------------------------------------------------ slots */

/* Slots are found by id through a hash index (start-up inserts every
 * schedule, and each store change looks one up: a linear scan made start-up
 * quadratic, about 1-2 s for 10,000 schedules). Slots are never removed, so
 * the index needs no tombstones; it stays at most half full. */
static size_t id_hash(const char *id)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return (size_t)(h ^ (h >> 32));
}

static void index_put(struct slot **index, size_t cap, struct slot *x)
{
    size_t i = id_hash(x->id) & (cap - 1);
    while (index[i])
        i = (i + 1) & (cap - 1);
    index[i] = x;
}

static struct slot *slot_find(struct lh_scheduler *s, const char *id)
{
    if (!s->capindex)
        return NULL;
    for (size_t i = id_hash(id) & (s->capindex - 1); s->index[i]; i = (i + 1) & (s->capindex - 1))
        if (strcmp(s->index[i]->id, id) == 0)
            return s->index[i];
    return NULL;
}

static struct slot *slot_get(struct lh_scheduler *s, const char *id)
{
    struct slot *x = slot_find(s, id);
    if (x)
        return x;
    if (s->nslots == s->capslots) {
        size_t nc = s->capslots ? s->capslots * 2 : 64;
        struct slot **ns = realloc(s->slots, nc * sizeof *ns);
        struct slot **nh = realloc(s->heap, nc * sizeof *nh);
        if (ns)
            s->slots = ns;
        if (nh)
            s->heap = nh;
        if (!ns || !nh)
            return NULL;
        s->capslots = nc;
    }
    if ((s->nslots + 1) * 2 > s->capindex) {
        size_t nc = s->capindex ? s->capindex * 2 : 128;
        struct slot **ni = calloc(nc, sizeof *ni);
        if (!ni)
            return NULL;
        for (size_t i = 0; i < s->nslots; i++)
            index_put(ni, nc, s->slots[i]);
        free(s->index);
        s->index = ni;
        s->capindex = nc;
    }
    x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    snprintf(x->id, sizeof x->id, "%s", id);
    x->heap_idx = SIZE_MAX;
    x->due_us = INT64_MAX;
    pthread_mutex_init(&x->ctl.mu, NULL);
    s->slots[s->nslots++] = x;
    index_put(s->index, s->capindex, x);
    return x;
}

static uint64_t rng_next(struct lh_scheduler *s)
{
    uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void kick_locked(struct lh_scheduler *s)
{
    s->kicked = true;
    pthread_cond_signal(&s->cv);
}

/* Applies a definition to its slot (locked). */
static void slot_apply(struct lh_scheduler *s, struct slot *x, const struct lh_schedule *def)
{
    x->deleted = false;
    x->timeout_secs = def->timeout_secs;
    if (x->running || x->manual)
        return; /* placed again when the run finishes / keeps the run-now */
    if (!def->enabled) {
        heap_update(s, x, INT64_MAX);
        return;
    }
    x->reason = def->retry_attempt ? LH_RUN_RETRY : LH_RUN_SCHEDULE;
    x->attempt = def->retry_attempt;
    x->target_us = def->next_run_at_us;
    heap_update(s, x, def->next_run_at_us);
}

/* ------------------------------------------------------------------ timer thread */

static void dispatch(struct lh_scheduler *s, struct slot *x, int64_t now, bool wake)
{
    heap_remove(s, x);
    x->due_us = INT64_MAX;
    if (!x->manual)
        lh_run_id_make(now, s->seq++, x->run_id);
    x->manual = false;
    x->running = true;
    x->in_job = true;
    x->timed_out = x->stop_cancelled = x->cancel_sent = x->user_cancelled = false;
    x->started_us = now;
    x->timeout_at_us = x->timeout_secs > 0 ? now + x->timeout_secs * 1000000 : 0;
    pthread_mutex_lock(&x->ctl.mu);
    x->ctl.cancelled = false;
    x->ctl.hook = NULL;
    x->ctl.hook_ctx = NULL;
    pthread_mutex_unlock(&x->ctl.mu);
    s->run[s->running++] = x;
    s->started++;
    s->queue[(s->qhead + s->qlen++) % s->limit] = x;
    if (wake)
        pthread_cond_signal(&s->work_cv);
}

/* A slot holding an accepted run-now that has not started (locked). */
static struct slot *queued_run_now(struct lh_scheduler *s)
{
    for (size_t i = 0; i < s->nheap; i++)
        if (s->heap[i]->manual && !s->heap[i]->running)
            return s->heap[i];
    return NULL;
}

static void *timer_main(void *arg)
{
    struct lh_scheduler *s = arg;
    thread_name("lh-sched-timer");
    struct lh_run_ctl **cancel = calloc(s->limit, sizeof *cancel);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        s->kicked = false;
        const int64_t now = s->clock.now_us(s->clock.ctx);
        size_t ncancel = 0;
        if (s->stopping) {
            /* A run-now that was accepted (its run id handed out) but never
             * started is still recorded, as cancelled: the job is not called. */
            struct slot *q;
            while (s->running < s->limit && (q = queued_run_now(s)) != NULL) {
                dispatch(s, q, now, true);
                q->stop_cancelled = true;
            }
            if (s->running == 0)
                break;
            if (!s->cancelled_all && now >= s->grace_deadline_us) {
                s->cancelled_all = true;
                for (unsigned i = 0; i < s->running; i++) {
                    s->run[i]->stop_cancelled = true;
                    if (!s->run[i]->cancel_sent && cancel) {
                        s->run[i]->cancel_sent = true;
                        cancel[ncancel++] = &s->run[i]->ctl;
                    }
                }
            }
        }
        for (unsigned i = 0; i < s->running; i++) {
            struct slot *x = s->run[i];
            if (x->timeout_at_us && !x->cancel_sent && now >= x->timeout_at_us && cancel) {
                x->timed_out = true;
                x->cancel_sent = true;
                cancel[ncancel++] = &x->ctl;
                lh_warn("schedule %s: run %s passed timeout_secs=%lld; cancelling", x->id,
                        x->run_id, (long long)x->timeout_secs);
            }
        }
        while (!s->stopping && s->nheap && s->heap[0]->due_us <= now && s->running < s->limit)
            dispatch(s, s->heap[0], now, true);
        if (s->flush_at_us <= now) {
            s->flush_at_us = INT64_MAX;
            s->flush_wanted = true;
            pthread_cond_broadcast(&s->rec_cv);
        }
        if (ncancel) {
            /* hooks may block (PQcancel): never under s->mu. Slots outlive
             * this; ctl->mu makes the hook and its unregistering exclusive. */
            pthread_mutex_unlock(&s->mu);
            for (size_t i = 0; i < ncancel; i++)
                ctl_cancel(cancel[i]);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->kicked)
            continue;
        int64_t deadline = INT64_MAX;
        if (!s->stopping && s->nheap && s->running < s->limit)
            deadline = s->heap[0]->due_us;
        for (unsigned i = 0; i < s->running; i++)
            if (s->run[i]->timeout_at_us && !s->run[i]->cancel_sent &&
                s->run[i]->timeout_at_us < deadline)
                deadline = s->run[i]->timeout_at_us;
        if (s->stopping && !s->cancelled_all && s->grace_deadline_us < deadline)
            deadline = s->grace_deadline_us;
        if (s->flush_at_us < deadline)
            deadline = s->flush_at_us;
        s->next_wake_us = deadline;
        s->sleeping = true;
        if (s->rq_head)
            pthread_cond_broadcast(&s->rec_cv); /* nothing to start: record */
        pthread_cond_broadcast(&s->idle_cv);
        s->clock.wait(s->clock.ctx, &s->cv, &s->mu, deadline);
        s->sleeping = false;
    }
    s->sleeping = true;
    s->timer_done = true;
    s->next_wake_us = INT64_MAX;
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
    free(cancel);
    return NULL;
}

/* ------------------------------------------------------------------ workers */

/* The job of x returned (or never started): its worker slot is free. */
static void leave_job(struct lh_scheduler *s, struct slot *x)
{
    if (!x->in_job)
        return;
    for (unsigned i = 0; i < s->running; i++)
        if (s->run[i] == x) {
            s->run[i] = s->run[--s->running];
            break;
        }
    x->in_job = false;
}

/* Hands x's run, finished or cancelled before it started, to the
 * recorders: s->mu held. */
static void record_enqueue(struct lh_scheduler *s, struct slot *x, struct pending *p, int64_t now)
{
    p->rnd = rng_next(s);
    p->now = now;
    p->queued_ns = lh_time_mono_ns();
    x->pend = p;
    s->recording++;
    if (s->rq_tail)
        s->rq_tail->rnext = x;
    else
        s->rq_head = x;
    s->rq_tail = x;
}

/* "why (the message as it was)", cut to the message's size. */
static void message_why(char msg[LH_SCHEDULE_MSG_MAX], const char *why)
{
    char m[LH_SCHEDULE_MSG_MAX];
    snprintf(m, sizeof m, "%s (%.1900s)", why, msg);
    memcpy(msg, m, sizeof m);
}

static void finish_slot(struct lh_scheduler *s, struct slot *x)
{
    leave_job(s, x);
    x->running = false;
    s->finished++;
}

/* A worker's buffers, allocated once: the DSN in clear and the job's
 * result. The pending record comes from s->pool (a burst allocates
 * nothing). */
struct worker_buf {
    char dsn[LH_SCHEDULE_DSN_MAX];
    struct lh_run_result res;
};

/* Takes a pending record from the pool (locked); NULL when out of memory. */
static struct pending *pend_get(struct lh_scheduler *s)
{
    if (s->npool)
        return s->pool[--s->npool];
    return malloc(sizeof(struct pending));
}

/* Returns p to the pool (locked); the pool keeps at most a few. */
static void pend_put(struct lh_scheduler *s, struct pending *p)
{
    if (s->npool < POOL_MAX)
        s->pool[s->npool++] = p;
    else
        free(p);
}

/* A schedule is due and not started yet (locked): a burst is being
 * drained, and a recorder holds back for up to RECORD_DEFER_NS (real time,
 * whatever the scheduler's clock) so that its filesystem work and its
 * locks do not slow the starts. Long jobs holding every worker do not hold
 * the records back for longer than that. */
static bool dispatch_pending(struct lh_scheduler *s)
{
    if (s->qlen)
        return true;
    return !s->stopping && s->nheap && s->heap[0]->due_us <= s->clock.now_us(s->clock.ctx);
}

/* Records a finished run (a recorder thread): the run record and the
 * schedule's next due time, the events, then the schedule goes back into
 * the heap. */
static void record_one(struct lh_scheduler *s, struct slot *x, struct pending *p)
{
    struct lh_run_record *rec = &p->rec;
    struct lh_schedule *def = &p->def;
    struct lh_error err;
    bool paused = false;
    enum lh_status rs = LH_E_NOTFOUND;
    /* older runs kept in memory go first, if the store takes them now */
    if (lh_schedule_store_unrecorded(s->store) && lh_schedule_store_flush(s->store, &err) != LH_OK)
        lh_debug("scheduler: runs still unrecorded: %s", err.msg);
    /* the definition as the run started (its consecutive failures: the
     * streak persisted across restarts), or what this scheduler saw when a
     * resume cleared that */
    uint32_t prev_failures = def->consecutive_failures;
    pthread_mutex_lock(&s->mu);
    if (x->fail_streak > prev_failures)
        prev_failures = x->fail_streak;
    pthread_mutex_unlock(&s->mu);
    if (p->have_def) {
        rs = lh_schedule_store_record_run(s->store, rec, p->rnd, p->now, def, &paused, &err);
        if (rs != LH_OK)
            lh_warn("scheduler: record_run(%s): %s", rec->schedule_id, err.msg);
        else if (rec->status != LH_RUN_SUCCESS)
            lh_warn("scheduler: '%s' run %s %s: %s", rec->schedule_id, rec->run_id,
                    lh_run_status_name(rec->status), rec->message);
    }
    /* events before the slot is free: a run counts as finished after them */
    if (s->on_event && rs == LH_OK) {
        struct lh_sched_event ev = {LH_SCHED_EVENT_RUN_FINISHED, def, rec, prev_failures};
        s->on_event(s->event_ctx, &ev);
        if (paused) {
            ev.kind = LH_SCHED_EVENT_AUTO_PAUSED;
            s->on_event(s->event_ctx, &ev);
        }
    }
    if (paused)
        lh_warn("scheduler: '%s' %s", rec->schedule_id, def->paused_reason);
    /* the definition as it is now (another writer may have changed it) */
    bool fresh =
        p->have_def && lh_schedule_store_get(s->store, rec->schedule_id, def, &err) == LH_OK;
    bool unrecorded = lh_schedule_store_unrecorded(s->store) > 0;

    pthread_mutex_lock(&s->mu);
    if (unrecorded && s->flush_at_us == INT64_MAX)
        s->flush_at_us = s->clock.now_us(s->clock.ctx) + s->flush_every_us;
    finish_slot(s, x);
    s->recording--;
    if (rs == LH_OK && rec->status == LH_RUN_SUCCESS)
        x->fail_streak = 0;
    else if (rs == LH_OK && rec->status != LH_RUN_CANCELLED)
        x->fail_streak = prev_failures + (prev_failures < UINT32_MAX);
    else if (rs == LH_OK)
        x->fail_streak = prev_failures;
    if (fresh && !x->deleted) {
        slot_apply(s, x, def);
    } else if (p->have_def && rs != LH_OK && !x->deleted && !x->manual) {
        /* could not record: try again in a minute rather than never */
        x->reason = LH_RUN_SCHEDULE;
        heap_update(s, x, p->now + 60 * INT64_C(1000000));
    }
    kick_locked(s);
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
}

static void *recorder_main(void *arg)
{
    struct lh_scheduler *s = arg;
    thread_name("lh-sched-record");
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct slot *x = s->rq_head;
        if (!x && s->flush_wanted) {
            s->flush_wanted = false;
            pthread_mutex_unlock(&s->mu);
            struct lh_error err;
            if (lh_schedule_store_flush(s->store, &err) != LH_OK)
                lh_warn("scheduler: runs kept in memory still cannot be written: %s", err.msg);
            bool still = lh_schedule_store_unrecorded(s->store) > 0;
            pthread_mutex_lock(&s->mu);
            if (still && s->flush_at_us == INT64_MAX) {
                s->flush_at_us = s->clock.now_us(s->clock.ctx) + s->flush_every_us;
                kick_locked(s);
            }
            continue;
        }
        if (!x) {
            if (s->recorders_exit)
                break; /* nothing left to record */
            pthread_cond_wait(&s->rec_cv, &s->mu);
            continue;
        }
        if (!s->recorders_exit && dispatch_pending(s)) {
            int64_t until = x->pend->queued_ns + RECORD_DEFER_NS;
            if (lh_time_mono_ns() < until) {
                lh_cond_wait_until(&s->rec_cv, &s->mu, until);
                continue;
            }
        }
        s->rq_head = x->rnext;
        if (!s->rq_head)
            s->rq_tail = NULL;
        x->rnext = NULL;
        struct pending *p = x->pend;
        x->pend = NULL;
        pthread_mutex_unlock(&s->mu);
        record_one(s, x, p);
        lh_schedule_wipe(&p->def, sizeof p->def);
        pthread_mutex_lock(&s->mu);
        pend_put(s, p);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Runs the job of x (a worker thread) and hands the run to a recorder.
 * Called with s->mu held, returns with it held; pend (may be NULL: out of
 * memory) and wb are the worker's. */
static void run_one(struct lh_scheduler *s, struct slot *x, struct pending *pend,
                    struct worker_buf *wb)
{
    struct lh_run_record rec;
    memset(&rec, 0, sizeof rec);
    struct lh_schedule *def = pend ? &pend->def : NULL;
    char *dsn = wb ? wb->dsn : NULL;
    struct lh_run_result *res = wb ? &wb->res : NULL;
    struct lh_error err;

    snprintf(rec.run_id, sizeof rec.run_id, "%s", x->run_id);
    snprintf(rec.schedule_id, sizeof rec.schedule_id, "%s", x->id);
    rec.reason = x->reason;
    rec.attempt = x->attempt;
    rec.target_us = x->reason == LH_RUN_MANUAL ? 0 : x->target_us;
    rec.started_at_us = x->started_us;
    const bool never_started = x->stop_cancelled; /* dispatched by the stop only to record it */
    pthread_mutex_unlock(&s->mu);

    if (res)
        memset(res, 0, sizeof *res);
    bool have_def = false, ran = false;
    if (!def || !dsn || !res) {
        snprintf(rec.message, sizeof rec.message, "out of memory");
    } else if (lh_schedule_store_get(s->store, rec.schedule_id, def, &err) != LH_OK) {
        snprintf(rec.message, sizeof rec.message, "%s", err.msg);
    } else if ((have_def = true, never_started)) {
        snprintf(rec.message, sizeof rec.message, "the run had not started");
    } else if ((have_def = true, lh_schedule_dsn_reveal(def, lh_schedule_store_key(s->store), dsn,
                                                        LH_SCHEDULE_DSN_MAX, &err)) != LH_OK) {
        snprintf(rec.message, sizeof rec.message, "%s", err.msg);
    } else {
        char label[LH_SCHEDULE_NAME_MAX + 16];
        lh_schedule_label(def, label, sizeof label);
        lh_info("scheduler: firing '%s' (%s) run %s reason %s", def->id, label, rec.run_id,
                lh_run_reason_name(rec.reason));
        struct lh_run_info info = {rec.run_id,        rec.reason, rec.attempt,
                                   rec.started_at_us, dsn,        &x->ctl};
        res->status = LH_E_INTERNAL;
        s->job(s->job_ctx, def, &info, res);
        lh_run_set_cancel_hook(&info, NULL, NULL);
        ran = true;
        res->message[sizeof res->message - 1] = '\0';
        res->dataset[sizeof res->dataset - 1] = '\0';
        if (res->status == LH_OK) {
            rec.has_rows = res->has_rows;
            rec.rows = res->rows;
            if (!res->message[0])
                snprintf(rec.message, sizeof rec.message, "rows=%llu dataset=%s bytes=%llu",
                         (unsigned long long)res->rows,
                         res->dataset[0]        ? res->dataset
                         : def->dataset_name[0] ? def->dataset_name
                                                : def->table,
                         (unsigned long long)res->bytes);
            else
                snprintf(rec.message, sizeof rec.message, "%s", res->message);
            if (!rec.has_rows)
                rec.has_rows = lh_run_parse_rows(rec.message, &rec.rows);
        } else {
            snprintf(rec.message, sizeof rec.message, "%s",
                     res->message[0] ? res->message : lh_status_str(res->status));
        }
        rec.bytes = res->bytes;
        rec.warnings = res->warnings;
        rec.version = res->status == LH_OK ? res->version : 0;
        snprintf(rec.dataset, sizeof rec.dataset, "%s",
                 res->dataset[0]        ? res->dataset
                 : def->dataset_name[0] ? def->dataset_name
                                        : def->table);
        lh_redact_scrub(rec.message, sizeof rec.message, dsn);
    }
    if (dsn)
        lh_schedule_wipe(dsn, LH_SCHEDULE_DSN_MAX);

    const int64_t now = s->clock.now_us(s->clock.ctx);
    rec.finished_at_us = now;
    pthread_mutex_lock(&s->mu);
    if (x->stop_cancelled) {
        rec.status = LH_RUN_CANCELLED;
        message_why(rec.message, "cancelled: the scheduler stopped");
    } else if (x->user_cancelled && !(ran && res->status == LH_OK)) {
        rec.status = LH_RUN_CANCELLED;
        rec.cancelled_by_user = true;
        message_why(rec.message, "cancelled by a user");
    } else if (x->timed_out) {
        rec.status = LH_RUN_TIMEOUT;
        char why[80];
        snprintf(why, sizeof why, "timeout: the run passed timeout_secs=%lld",
                 (long long)x->timeout_secs);
        message_why(rec.message, why);
    } else {
        rec.status = ran && res->status == LH_OK ? LH_RUN_SUCCESS : LH_RUN_FAILED;
        if (x->user_cancelled && rec.status == LH_RUN_SUCCESS)
            lh_info("scheduler: '%s' run %s: the cancel came after the publish; the run "
                    "succeeded", x->id, x->run_id);
    }
    /* a server's message may be Latin-1, and every cut above may split a
     * character: stored JSON must be valid UTF-8 */
    lh_utf8_sanitize(rec.message);
    if (pend) {
        /* the worker slot is free now; the schedule stays out of the heap
         * (single-flight) until a recorder has recorded the run */
        pend->rec = rec;
        pend->have_def = have_def;
        leave_job(s, x);
        record_enqueue(s, x, pend, now);
        /* during a burst a recorder would only go back to sleep: the
         * timer wakes them when it has nothing to start */
        if (!dispatch_pending(s))
            pthread_cond_signal(&s->rec_cv);
    } else {
        finish_slot(s, x); /* out of memory: nothing to record */
    }
    pthread_cond_broadcast(&s->idle_cv);
}

/* After a job (locked): a worker whose slot is free starts the next due
 * schedule itself, so a burst of due schedules is drained without a round
 * trip through the timer thread for each (two wake-ups, about 50 us each on
 * this VM). Otherwise the timer is told: it recomputes its deadline (a slot
 * is free, a stop may be waiting for the last job). */
static void after_job(struct lh_scheduler *s)
{
    if (!s->stopping && s->nheap && s->running < s->limit && !s->qlen) {
        const int64_t now = s->clock.now_us(s->clock.ctx);
        struct slot *x = s->heap[0];
        if (x->due_us <= now) {
            dispatch(s, x, now, false);
            if (x->timeout_at_us)
                kick_locked(s); /* the timer watches the timeout */
            return;
        }
    }
    kick_locked(s);
}

static void *worker_main(void *arg)
{
    struct lh_scheduler *s = arg;
    thread_name("lh-sched-worker");
    struct worker_buf *wb = malloc(sizeof *wb); /* NULL: each run fails, recorded */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->qlen && !s->workers_exit)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->qlen)
            break;
        struct slot *x = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % s->limit;
        s->qlen--;
        pthread_cond_broadcast(&s->idle_cv);
        if (s->stopping && x->reason == LH_RUN_MANUAL) {
            /* a run-now whose id was handed out: recorded as cancelled,
             * without calling the job (see run_one) */
            x->stop_cancelled = true;
        } else if (s->stopping) {
            /* dispatched but never started: it stays due for the next start */
            finish_slot(s, x);
            s->started--;
            s->finished--;
            kick_locked(s);
            continue;
        }
        run_one(s, x, pend_get(s), wb);
        after_job(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (wb)
        lh_schedule_wipe(wb, sizeof *wb);
    free(wb);
    return NULL;
}

/* ------------------------------------------------------------------ public */

static void listener(void *ctx, const char *id)
{
    lh_scheduler_notify(ctx, id);
}

void lh_scheduler_notify(struct lh_scheduler *s, const char *id)
{
    struct lh_schedule *def = malloc(sizeof *def);
    if (!def)
        return;
    struct lh_error err;
    bool found = lh_schedule_store_get(s->store, id, def, &err) == LH_OK;
    pthread_mutex_lock(&s->mu);
    struct slot *x = found ? slot_get(s, id) : slot_find(s, id);
    if (x && found) {
        slot_apply(s, x, def);
    } else if (x) {
        x->deleted = true;
        x->manual = false;
        heap_update(s, x, INT64_MAX);
    }
    kick_locked(s);
    pthread_mutex_unlock(&s->mu);
    free(def);
}

void lh_scheduler_kick(struct lh_scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    kick_locked(s);
    pthread_mutex_unlock(&s->mu);
}

static void destroy(struct lh_scheduler *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        pthread_mutex_destroy(&s->slots[i]->ctl.mu);
        free(s->slots[i]);
    }
    free(s->slots);
    free(s->index);
    free(s->heap);
    free(s->queue);
    free(s->run);
    free(s->workers);
    free(s->recorders);
    for (unsigned i = 0; i < s->npool; i++)
        free(s->pool[i]);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->rec_cv);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Catch-up at start for one definition; returns the due time to use. */
static int64_t start_due(struct lh_scheduler *s, struct slot *x, const struct lh_schedule *d,
                         int64_t now)
{
    if (!d->enabled || d->next_run_at_us > now || !d->has_last_run || d->retry_attempt)
        return d->next_run_at_us;
    if (d->catch_up == LH_CATCH_UP_ONCE) {
        x->reason = LH_RUN_CATCH_UP;
        return d->next_run_at_us;
    }
    /* skip: the first time of the schedule's own grid after now */
    int64_t next = 0;
    int64_t now_s = lh_sched_floor_div(now, 1000000);
    struct lh_error err;
    if (d->trigger.kind == LH_TRIGGER_CRON) {
        if (lh_cron_next(&d->trigger.cron, d->trigger.tz, now_s, &next, &err) != LH_OK)
            return d->next_run_at_us;
        next *= 1000000;
    } else {
        int64_t step = d->trigger.interval_secs * 1000000;
        next = d->next_run_at_us + (lh_sched_floor_div(now - d->next_run_at_us, step) + 1) * step;
    }
    if (lh_schedule_store_reschedule(s->store, d->id, next, &err) != LH_OK)
        lh_warn("scheduler: '%s': %s", d->id, err.msg);
    lh_info("scheduler: '%s' missed %s while down; catch_up skip: next run at %lld", d->id,
            "its run", (long long)(next / 1000000));
    x->target_us = next;
    return next;
}

/* Sets *flag under s->mu, wakes the n threads t waiting on cv and joins them. */
static void threads_end(struct lh_scheduler *s, bool *flag, pthread_cond_t *cv, pthread_t *t,
                        unsigned n)
{
    pthread_mutex_lock(&s->mu);
    *flag = true;
    pthread_cond_broadcast(cv);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

enum lh_status lh_scheduler_start(const struct lh_scheduler_options *o, struct lh_scheduler **out,
                                  struct lh_error *err)
{
    *out = NULL;
    if (!o->store || !o->job)
        return lh_error_set(err, LH_E_INVAL, "scheduler: a store and a job are required");
    struct lh_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    s->clock = o->clock ? *o->clock : real_clock;
    s->store = o->store;
    s->job = o->job;
    s->job_ctx = o->job_ctx;
    s->on_event = o->on_event;
    s->event_ctx = o->event_ctx;
    s->limit = o->max_concurrent ? o->max_concurrent : 4;
    s->flush_at_us = INT64_MAX;
    s->flush_every_us = (int64_t)(o->flush_retry_secs ? o->flush_retry_secs : 10) * 1000000;
    s->rng = o->seed ? o->seed : (uint64_t)lh_time_mono_ns() ^ (uint64_t)lh_time_wall_us();
    s->next_wake_us = INT64_MAX;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    /* spin a little before sleeping: s->mu is held for microseconds, and a
     * burst has every worker taking it once per run (a sleep and a wake-up
     * cost more than the critical section; lateness p99 -20 % in the bench) */
#ifdef __GLIBC__
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    lh_cond_init_mono(&s->cv);
    pthread_cond_init(&s->work_cv, NULL);
    lh_cond_init_mono(&s->idle_cv);
    lh_cond_init_mono(&s->rec_cv);
    s->queue = calloc(s->limit, sizeof *s->queue);
    s->run = calloc(s->limit, sizeof *s->run);
    s->workers = calloc(s->limit, sizeof *s->workers);
    s->recorders = calloc(RECORDERS, sizeof *s->recorders);
    struct lh_schedule *defs = NULL;
    size_t n = 0;
    enum lh_status st = LH_OK;
    if (!s->queue || !s->run || !s->workers || !s->recorders) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    st = lh_schedule_store_list(s->store, &defs, &n, err);
    if (st != LH_OK)
        goto fail;
    const int64_t now = s->clock.now_us(s->clock.ctx);
    for (size_t i = 0; i < n; i++) {
        struct slot *x = slot_get(s, defs[i].id);
        if (!x) {
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
        slot_apply(s, x, &defs[i]);
        if (defs[i].enabled) {
            int64_t due = start_due(s, x, &defs[i], now);
            heap_update(s, x, due);
        }
    }
    free(defs);
    defs = NULL;
    for (; s->nworkers < s->limit; s->nworkers++)
        if (pthread_create(&s->workers[s->nworkers], NULL, worker_main, s) != 0) {
            st = lh_error_set(err, LH_E_INTERNAL, "scheduler: cannot start a worker thread");
            goto fail;
        }
    for (; s->nrecorders < RECORDERS; s->nrecorders++)
        if (pthread_create(&s->recorders[s->nrecorders], NULL, recorder_main, s) != 0) {
            st = lh_error_set(err, LH_E_INTERNAL, "scheduler: cannot start a recorder thread");
            goto fail;
        }
    if (pthread_create(&s->timer, NULL, timer_main, s) != 0) {
        st = lh_error_set(err, LH_E_INTERNAL, "scheduler: cannot start the timer thread");
        goto fail;
    }
    s->timer_started = true;
    lh_schedule_store_set_listener(s->store, listener, s);
    lh_info("scheduler: started with %zu schedules, %u workers", n, s->limit);
    *out = s;
    return LH_OK;
fail:
    free(defs);
    threads_end(s, &s->workers_exit, &s->work_cv, s->workers, s->nworkers);
    threads_end(s, &s->recorders_exit, &s->rec_cv, s->recorders, s->nrecorders);
    destroy(s);
    return st;
}

void lh_scheduler_stop_begin(struct lh_scheduler *s, int64_t grace_secs)
{
    int64_t now = s->clock.now_us(s->clock.ctx);
    pthread_mutex_lock(&s->mu);
    if (!s->stopping) {
        s->stopping = true;
        s->grace_deadline_us = now + (grace_secs > 0 ? grace_secs : 0) * 1000000;
    }
    kick_locked(s);
    pthread_mutex_unlock(&s->mu);
}

void lh_scheduler_stop(struct lh_scheduler *s, int64_t grace_secs)
{
    if (!s)
        return;
    lh_schedule_store_set_listener(s->store, NULL, NULL);
    lh_scheduler_stop_begin(s, grace_secs);
    if (s->timer_started)
        pthread_join(s->timer, NULL);
    threads_end(s, &s->workers_exit, &s->work_cv, s->workers, s->nworkers);
    /* every job has returned: the recorders drain what is left, then exit */
    threads_end(s, &s->recorders_exit, &s->rec_cv, s->recorders, s->nrecorders);
    struct lh_error err;
    if (lh_schedule_store_unrecorded(s->store) && lh_schedule_store_flush(s->store, &err) != LH_OK)
        lh_logerr("scheduler: stopping with %zu run(s) not written: %s",
                  lh_schedule_store_unrecorded(s->store), err.msg);
    lh_info("scheduler: stopped (%llu runs)", (unsigned long long)s->finished);
    destroy(s);
}

/* How long a run-now waits for the record of a run that has just ended. */
#define RUN_NOW_RECORD_WAIT_SECS 10

/* A store visitor: the schedule's time limit into *ctx (int64_t). */
static bool timeout_of(void *ctx, const struct lh_schedule *def)
{
    *(int64_t *)ctx = def->timeout_secs;
    return true;
}

enum lh_status lh_scheduler_run_now(struct lh_scheduler *s, const char *id,
                                    char run_id[LH_RUN_ID_MAX], bool *already, struct lh_error *err)
{
    *already = false;
    run_id[0] = '\0';
    /* the one field a manual run needs, read in place: no 12 KB copy */
    int64_t timeout_secs = 0;
    enum lh_status st = lh_schedule_store_visit(s->store, id, timeout_of, &timeout_secs, err);
    if (st != LH_OK)
        return st;
    pthread_mutex_lock(&s->mu);
    struct slot *x = s->stopping ? NULL : slot_get(s, id);
    /* A run whose job has returned (the API already shows it finished) but
     * which a recorder has not written yet still holds the slot. Answering
     * "already running" with that finished run would make a user who just
     * saw it end wait on it again; wait (bounded) for its record instead. */
    if (x && x->running && !x->in_job) {
        int64_t until = lh_time_mono_ns() + RUN_NOW_RECORD_WAIT_SECS * INT64_C(1000000000);
        while (!s->stopping && x->running && !x->in_job &&
               lh_cond_wait_until(&s->idle_cv, &s->mu, until) == 0)
            ;
    }
    const int64_t now = s->clock.now_us(s->clock.ctx);
    if (s->stopping) {
        st = lh_error_set(err, LH_E_STATE, "the scheduler is stopping");
    } else if (!x) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
    } else if (x->running || x->manual) {
        *already = true;
        memcpy(run_id, x->run_id, LH_RUN_ID_MAX);
    } else {
        x->deleted = false;
        x->timeout_secs = timeout_secs;
        x->manual = true;
        x->reason = LH_RUN_MANUAL;
        x->attempt = 0;
        x->target_us = 0;
        lh_run_id_make(now, s->seq++, x->run_id);
        memcpy(run_id, x->run_id, LH_RUN_ID_MAX);
        heap_update(s, x, now);
        kick_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

void lh_scheduler_stats(struct lh_scheduler *s, struct lh_scheduler_stats *st)
{
    const int64_t now = s->clock.now_us(s->clock.ctx);
    pthread_mutex_lock(&s->mu);
    st->running = s->running;
    st->recording = s->recording;
    st->queued = 0;
    for (size_t i = 0; i < s->nheap; i++)
        st->queued += s->heap[i]->due_us <= now;
    st->started = s->started;
    st->finished = s->finished;
    st->next_wake_us = s->next_wake_us;
    st->sleeping = s->sleeping;
    pthread_mutex_unlock(&s->mu);
}

void lh_scheduler_quiesce(struct lh_scheduler *s, unsigned running)
{
    pthread_mutex_lock(&s->mu);
    while (!(s->sleeping && (!s->kicked || s->timer_done) && s->qlen == 0 &&
             s->running == running && s->recording == 0))
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

bool lh_scheduler_active_run(struct lh_scheduler *s, const char *id, char run_id[LH_RUN_ID_MAX])
{
    pthread_mutex_lock(&s->mu);
    struct slot *x = slot_find(s, id);
    bool r = x && (x->running || x->manual);
    if (r)
        memcpy(run_id, x->run_id, LH_RUN_ID_MAX);
    pthread_mutex_unlock(&s->mu);
    return r;
}

enum lh_status lh_scheduler_cancel(struct lh_scheduler *s, const char *id, const char *run_id,
                                   char out_run_id[LH_RUN_ID_MAX], struct lh_error *err)
{
    if (out_run_id)
        out_run_id[0] = '\0';
    /* the definition a queued run-now is recorded against: read before the
     * lock (never call the store while holding s->mu) */
    struct lh_schedule *def = malloc(sizeof *def);
    if (!def)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    struct lh_error gerr;
    bool have_def = lh_schedule_store_get(s->store, id, def, &gerr) == LH_OK;
    const int64_t now = s->clock.now_us(s->clock.ctx);
    struct lh_run_ctl *hook = NULL;
    enum lh_status st = LH_OK;
    pthread_mutex_lock(&s->mu);
    struct slot *x = slot_find(s, id);
    if (!x || (!x->running && !x->manual) || (run_id && strcmp(x->run_id, run_id) != 0)) {
        st = lh_error_set(err, LH_E_NOTFOUND, "schedule '%s' has no active run%s%s", id,
                          run_id ? " " : "", run_id ? run_id : "");
        goto done;
    }
    if (out_run_id)
        memcpy(out_run_id, x->run_id, LH_RUN_ID_MAX);
    if (x->running) {
        if (!x->in_job) {
            st = lh_error_set(err, LH_E_STATE, "run %s already finished (being recorded)",
                              x->run_id);
            goto done;
        }
        if (!x->cancel_sent) {
            x->user_cancelled = true;
            x->cancel_sent = true;
            hook = &x->ctl;
            lh_info("scheduler: '%s' run %s: cancel requested", x->id, x->run_id);
        }
        goto done;
    }
    /* a run-now waiting for a worker: recorded as cancelled by a recorder
     * (as a finished run is), its job never called */
    if (s->stopping) {
        st = lh_error_set(err, LH_E_STATE, "the scheduler is stopping");
        goto done;
    }
    struct pending *p = pend_get(s);
    if (!p) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    heap_remove(s, x);
    x->due_us = INT64_MAX;
    x->manual = false;
    x->running = true; /* single-flight until it is recorded */
    x->started_us = now;
    memset(&p->rec, 0, sizeof p->rec);
    snprintf(p->rec.run_id, sizeof p->rec.run_id, "%s", x->run_id);
    snprintf(p->rec.schedule_id, sizeof p->rec.schedule_id, "%s", x->id);
    p->rec.reason = LH_RUN_MANUAL;
    p->rec.started_at_us = p->rec.finished_at_us = now;
    p->rec.status = LH_RUN_CANCELLED;
    p->rec.cancelled_by_user = true;
    snprintf(p->rec.message, sizeof p->rec.message,
             "cancelled by a user before it started");
    if (have_def)
        p->def = *def;
    p->have_def = have_def;
    s->started++;
    record_enqueue(s, x, p, now);
    pthread_cond_signal(&s->rec_cv);
    lh_info("scheduler: '%s' run %s: cancelled before it started", x->id, x->run_id);
done:
    pthread_mutex_unlock(&s->mu);
    lh_schedule_wipe(def, sizeof *def);
    free(def);
    if (hook)
        ctl_cancel(hook); /* hooks may block (PQcancel): never under s->mu */
    return st;
}
