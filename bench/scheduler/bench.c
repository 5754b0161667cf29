/*
 * bench/scheduler/bench.c — the scheduler benchmark of issue 5 (not a test).
 *
 * N schedules (default 10,000) in a local store in DIR, created through
 * lh_schedule_store_create, against a no-op job, on the real scheduler
 * thread and the real clock:
 *   - HOT (default 2,000) interval schedules, 1-10 s (half completion, half
 *     fixed anchor), first due spread over [Tf, Tf + interval);
 *   - 100 cron "* * * * *" schedules, first due at the first minute after Tf
 *     (a burst: 100 schedules due at the same second);
 *   - the rest are not due during the bench (first due after its end):
 *     intervals 11 s - 1 h (log-uniform) and cron expressions "*\/5 * * * *",
 *     "0 * * * *" and fixed daily times in several zones.
 *
 * Phases: create the schedules; start the scheduler; (1) idle: getrusage
 * user+sys over IDLE seconds while nothing is due; (2) fires: from Tf for
 * FIRE seconds, each job records its start, and lateness = job start - due
 * time (the schedule's next_run_at, whole seconds). Lateness is split into
 * dispatch (timer thread: started_at - due, which includes waiting for a
 * free worker) and pickup (worker: job start - started_at, which includes
 * reading the definition from the store's memory). Recording (a recorder
 * thread: the queue, then the run record, history trim and schedule file,
 * fsynced) is timed from the job's end to the on_event callback.
 *
 *   scheduler_bench DIR [N] [HOT] [IDLE_SECS] [FIRE_SECS] [WORKERS] [SEED]
 * Prints a table and the goal checks; exit status 0 even when a goal is
 * missed (it is a measurement), 1 on a setup error.
 */
#include "core/core.h"
#include "schedule/schedule.h"
#include "store/store.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_FIRES 400000
#define CRON_BURST 100

enum cls { CLS_HOT, CLS_BURST, CLS_OTHER, NCLS };
static const char *const cls_name[NCLS] = {"interval 1-10s", "cron burst", "other"};

struct fire {
    int64_t due_us, started_us, job_start_us, job_end_us, recorded_us;
    uint8_t cls;
};

static struct fire *g_fires;
static atomic_size_t g_nfires;
static atomic_size_t g_dropped;
static int64_t g_window_end_us; /* fires due at or after this are not counted */
static _Thread_local struct fire *t_last;

static uint64_t g_seed;
static _Thread_local uint64_t t_rng; /* reseeded per schedule: results do not depend on threads */
static uint64_t rnd(void)
{
    uint64_t z = (t_rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static double urand(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int64_t mono_us(void)
{
    return lh_time_mono_ns() / 1000;
}

static double cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long ctx_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

static void sleep_until_wall(int64_t wall_us)
{
    for (;;) {
        int64_t d = wall_us - lh_time_wall_us();
        if (d <= 0)
            return;
        struct timespec ts = {(time_t)(d / 1000000), (long)(d % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The no-op job: notes when it started. */
static void job(void *ctx, const struct lh_schedule *def, struct lh_run_info *run,
                struct lh_run_result *out)
{
    (void)ctx;
    int64_t start = lh_time_wall_us();
    t_last = NULL;
    if (def->next_run_at_us < g_window_end_us) {
        size_t i = atomic_fetch_add(&g_nfires, 1);
        if (i < MAX_FIRES) {
            struct fire *f = &g_fires[i];
            f->due_us = def->next_run_at_us;
            f->started_us = run->started_at_us;
            f->job_start_us = start;
            f->cls = strncmp(def->id, "hot-", 4) == 0    ? CLS_HOT
                     : strncmp(def->id, "burst-", 6) == 0 ? CLS_BURST
                                                          : CLS_OTHER;
            t_last = f;
        } else {
            atomic_fetch_add(&g_dropped, 1);
        }
    }
    out->status = LH_OK;
    out->has_rows = true;
    out->rows = 0;
    if (t_last) {
        /* the run's message names the fire, so on_event (a recorder
         * thread) finds it */
        snprintf(out->message, sizeof out->message, "fire=%zu", (size_t)(t_last - g_fires));
        t_last->job_end_us = lh_time_wall_us();
    }
}

/* Runs on a recorder thread right after record_run. */
static void on_event(void *ctx, const struct lh_sched_event *ev)
{
    (void)ctx;
    size_t i;
    if (ev->kind == LH_SCHED_EVENT_RUN_FINISHED && sscanf(ev->run->message, "fire=%zu", &i) == 1 &&
        i < MAX_FIRES)
        g_fires[i].recorded_us = lh_time_wall_us();
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* p-th percentile (nearest rank) of a sorted array, in ms. */
static double pct(const int64_t *v, size_t n, double p)
{
    if (!n)
        return NAN;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

static void row(const char *name, int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i64);
    printf("  %-34s %7zu %9.3f %9.3f %9.3f %9.3f\n", name, n, pct(v, n, 50), pct(v, n, 99),
           pct(v, n, 99.9), n ? (double)v[n - 1] / 1000.0 : NAN);
}

static const char *const zones[] = {"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
                                    "Australia/Lord_Howe"};

static int make_def(struct lh_schedule *d, size_t i, size_t n_hot, int64_t now_us, int64_t tf_s,
                    int64_t end_s)
{
    char id[64];
    struct lh_error err;
    size_t n_burst = CRON_BURST;
    t_rng = g_seed ^ ((uint64_t)i * UINT64_C(0xd1b54a32d192ed03));
    if (i < n_hot) {
        snprintf(id, sizeof id, "hot-%05zu", i);
        lh_schedule_init(d, id, now_us);
        d->trigger.interval_secs = 1 + (int64_t)(rnd() % 10);
        d->trigger.anchor = (i & 1) ? LH_ANCHOR_FIXED : LH_ANCHOR_COMPLETION;
        d->next_run_at_us = (tf_s + (int64_t)(rnd() % (uint64_t)d->trigger.interval_secs)) * 1000000;
    } else if (i < n_hot + n_burst) {
        snprintf(id, sizeof id, "burst-%05zu", i);
        lh_schedule_init(d, id, now_us);
        d->trigger.kind = LH_TRIGGER_CRON;
        snprintf(d->cron_expr, sizeof d->cron_expr, "* * * * *");
    } else if ((i - n_hot - n_burst) % 8 < 5) {
        /* intervals 11 s .. 1 h, log-uniform; first due after the bench */
        snprintf(id, sizeof id, "ivl-%05zu", i);
        lh_schedule_init(d, id, now_us);
        d->trigger.interval_secs = (int64_t)exp(log(11.0) + urand() * (log(3600.0) - log(11.0)));
        d->trigger.anchor = (i & 1) ? LH_ANCHOR_FIXED : LH_ANCHOR_COMPLETION;
        d->next_run_at_us =
            (end_s + 60 + (int64_t)(rnd() % (uint64_t)d->trigger.interval_secs)) * 1000000;
    } else {
        snprintf(id, sizeof id, "cron-%05zu", i);
        lh_schedule_init(d, id, now_us);
        d->trigger.kind = LH_TRIGGER_CRON;
        uint64_t r = rnd() % 3;
        if (r == 0) {
            snprintf(d->cron_expr, sizeof d->cron_expr, "*/5 * * * *");
        } else if (r == 1) {
            snprintf(d->cron_expr, sizeof d->cron_expr, "0 * * * *");
        } else {
            snprintf(d->cron_expr, sizeof d->cron_expr, "%d %d * * %s", (int)(rnd() % 60),
                     (int)(rnd() % 24), (rnd() & 1) ? "*" : "mon-fri");
            snprintf(d->tz_name, sizeof d->tz_name, "%s",
                     zones[rnd() % (sizeof zones / sizeof zones[0])]);
        }
    }
    snprintf(d->dsn, sizeof d->dsn, "postgres://bench:s3cret-pw@127.0.0.1:5432/bench");
    snprintf(d->table, sizeof d->table, "public.t%zu", i % 50);
    if (d->trigger.kind == LH_TRIGGER_CRON) {
        if (lh_schedule_validate(d, true, &err) != LH_OK) {
            fprintf(stderr, "%s: %s\n", id, err.msg);
            return -1;
        }
        /* the burst fires at the first minute after Tf; the rest after the end */
        int64_t from = strncmp(id, "burst-", 6) == 0 ? tf_s - 1 : end_s + 60, next;
        if (lh_cron_next(&d->trigger.cron, d->trigger.tz, from, &next, &err) != LH_OK) {
            fprintf(stderr, "%s: %s\n", id, err.msg);
            return -1;
        }
        d->next_run_at_us = next * 1000000;
    }
    return 0;
}

/* Creation runs in CREATORS threads, each through its own lh_store and
 * lh_schedule_store on the same directory (one store serialises its writes
 * under its mutex, and every write is fsynced: 10,000 one by one would not
 * fit the time budget). The scheduler then opens a fresh store, which
 * loads every file as a daemon start does. */
#define CREATORS 8

struct creator {
    pthread_t th;
    struct lh_store *st;
    struct lh_schedule_store *ss;
    size_t from, to, n_hot;
    int64_t now_us, tf_s, end_s;
    int rc;
    bool started;
    struct lh_error err;
};

static void *creator_main(void *arg)
{
    struct creator *c = arg;
    struct lh_schedule *d = malloc(sizeof *d);
    c->rc = -1;
    if (!d)
        return NULL;
    for (size_t i = c->from; i < c->to; i++) {
        if (make_def(d, i, c->n_hot, c->now_us, c->tf_s, c->end_s) != 0)
            goto out;
        if (lh_schedule_store_create(c->ss, d, &c->err) != LH_OK) {
            fprintf(stderr, "create %s: %s\n", d->id, c->err.msg);
            goto out;
        }
    }
    c->rc = 0;
out:
    free(d);
    return NULL;
}

/* Creates schedules [from, to) in parallel. */
static int create_range(struct creator *cr, size_t from, size_t to, size_t n_hot, int64_t tf_s,
                        int64_t end_s)
{
    size_t per = (to - from + CREATORS - 1) / CREATORS;
    int64_t now_us = lh_time_wall_us();
    int rc = 0;
    for (int k = 0; k < CREATORS; k++) {
        struct creator *c = &cr[k];
        c->from = from + (size_t)k * per < to ? from + (size_t)k * per : to;
        c->to = c->from + per < to ? c->from + per : to;
        c->n_hot = n_hot;
        c->now_us = now_us;
        c->tf_s = tf_s;
        c->end_s = end_s;
        c->started = pthread_create(&c->th, NULL, creator_main, c) == 0;
        if (!c->started)
            rc = -1;
    }
    for (int k = 0; k < CREATORS; k++) {
        if (!cr[k].started)
            continue;
        pthread_join(cr[k].th, NULL);
        if (cr[k].rc != 0)
            rc = -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s DIR [N=10000] [HOT=2000] [IDLE_SECS=60] [FIRE_SECS=60] "
                "[WORKERS=4] [SEED=42]\n",
                argv[0]);
        return 1;
    }
    const char *dir = argv[1];
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    size_t n_hot = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
    int64_t idle_s = argc > 4 ? strtoll(argv[4], NULL, 10) : 60;
    int64_t fire_s = argc > 5 ? strtoll(argv[5], NULL, 10) : 60;
    unsigned workers = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 10) : 4;
    g_seed = argc > 7 ? strtoull(argv[7], NULL, 10) : 42;
    if (n < n_hot + CRON_BURST || idle_s < 1 || fire_s < 1) {
        fprintf(stderr, "need N >= HOT + %d, IDLE_SECS and FIRE_SECS >= 1\n", CRON_BURST);
        return 1;
    }

    char logpath[4096];
    snprintf(logpath, sizeof logpath, "%s.log", dir);
    FILE *logf = fopen(logpath, "w");
    if (logf)
        lh_log_set_stream(logf);
    lh_log_set_level(LH_LOG_INFO);

    int rc = 1;
    struct creator cr[CREATORS];
    memset(cr, 0, sizeof cr);
    struct lh_store *st = NULL;
    struct lh_schedule_store *ss = NULL;
    struct lh_scheduler *sch = NULL;
    g_fires = calloc(MAX_FIRES, sizeof *g_fires);
    struct lh_error err;
    struct lh_schedule_key key;
    if (!g_fires)
        goto done;
    struct lh_store_options so = {.create = true};
    if (lh_store_open(dir, &so, &st, &err) != LH_OK ||
        lh_schedule_key_from_text(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key, &err) != LH_OK)
        goto fail;
    struct lh_schedule_store_options sso = {.key = &key, .runs_keep = 0};
    for (int k = 0; k < CREATORS; k++) {
        struct lh_store_options co = {.create = true};
        if (lh_store_open(dir, &co, &cr[k].st, &err) != LH_OK ||
            lh_schedule_store_open(cr[k].st, &sso, &cr[k].ss, &err) != LH_OK)
            goto fail;
    }

    /* --- create: the not-due ones first (their cost predicts the rest) */
    printf("scheduler bench: %zu schedules (%zu interval 1-10 s, %d cron burst, %zu not due), "
           "%u workers, idle %llds, fires %llds, store %s\n",
           n, n_hot, CRON_BURST, n - n_hot - CRON_BURST, workers, (long long)idle_s,
           (long long)fire_s, dir);
    fflush(stdout);
    int64_t t_create = mono_us();
    /* not-due ones: first due after the end whatever Tf turns out to be
     * (their base is an upper bound of it: creation takes < 1 h) */
    int64_t end_bound = lh_time_wall_us() / 1000000 + 3600 + idle_s + fire_s;
    if (create_range(cr, n_hot + CRON_BURST, n, n_hot, 0, end_bound) != 0)
        goto done;
    size_t n_cold = n - n_hot - CRON_BURST;
    double per_create_us = n_cold ? (double)(mono_us() - t_create) / (double)n_cold : 2000.0;
    /* Tf: after the due ones' creation (estimated x2 + 3 s), the store load,
     * the scheduler start and a full idle window */
    int64_t hot_est_us = (int64_t)(per_create_us * 2.0 * (double)(n_hot + CRON_BURST)) + 3000000;
    int64_t tf_s = (lh_time_wall_us() + hot_est_us) / 1000000 + idle_s + 4;
    int64_t end_s = tf_s + fire_s;
    g_window_end_us = end_s * 1000000;
    if (create_range(cr, 0, n_hot + CRON_BURST, n_hot, tf_s, end_bound) != 0)
        goto done;
    double create_s = (double)(mono_us() - t_create) / 1e6;
    per_create_us = (double)(mono_us() - t_create) / (double)n;
    for (int k = 0; k < CREATORS; k++) {
        lh_schedule_store_close(cr[k].ss);
        lh_store_close(cr[k].st);
        cr[k].ss = NULL;
        cr[k].st = NULL;
    }

    /* --- load (what a daemon start pays) */
    int64_t t_load = mono_us();
    if (lh_schedule_store_open(st, &sso, &ss, &err) != LH_OK)
        goto fail;
    double load_s = (double)(mono_us() - t_load) / 1e6;

    /* --- start */
    int64_t t_start = mono_us();
    struct lh_scheduler_options o = {.store = ss,
                                     .job = job,
                                     .max_concurrent = workers,
                                     .seed = 7,
                                     .on_event = on_event};
    if (lh_scheduler_start(&o, &sch, &err) != LH_OK)
        goto fail;
    double start_ms = (double)(mono_us() - t_start) / 1e3;
    int64_t t0 = lh_time_wall_us();
    if (t0 / 1000000 + 1 + idle_s >= tf_s) {
        fprintf(stderr, "setup took longer than estimated: no room for the idle window\n");
        goto done;
    }

    /* --- (1) idle */
    sleep_until_wall(t0 + 1000000);
    struct lh_scheduler_stats s0, s1;
    lh_scheduler_stats(sch, &s0);
    double c0 = cpu_secs();
    long x0 = ctx_switches();
    int64_t w0 = mono_us();
    sleep_until_wall(t0 + (1 + idle_s) * 1000000);
    double idle_cpu = cpu_secs() - c0;
    double idle_wall = (double)(mono_us() - w0) / 1e6;
    long idle_cs = ctx_switches() - x0;
    lh_scheduler_stats(sch, &s1);
    double idle_pct = 100.0 * idle_cpu / idle_wall;

    /* --- (2) fires */
    sleep_until_wall(tf_s * 1000000);
    double fc0 = cpu_secs();
    int64_t fw0 = mono_us();
    sleep_until_wall(end_s * 1000000);
    double fire_cpu = cpu_secs() - fc0;
    double fire_wall = (double)(mono_us() - fw0) / 1e6;
    int64_t t_stop = mono_us();
    lh_scheduler_stop(sch, 10);
    sch = NULL;
    double stop_ms = (double)(mono_us() - t_stop) / 1e3;

    /* --- report */
    size_t nf = atomic_load(&g_nfires);
    if (nf > MAX_FIRES)
        nf = MAX_FIRES;
    int64_t *late[NCLS + 1], *disp = malloc((nf + 1) * sizeof *disp),
             *pick = malloc((nf + 1) * sizeof *pick), *rec = malloc((nf + 1) * sizeof *rec),
             *first = malloc((nf + 1) * sizeof *first);
    size_t nl[NCLS + 1] = {0}, nd = 0, nrec = 0, nfirst = 0;
    bool oom = !disp || !pick || !rec || !first;
    for (int c = 0; c <= NCLS; c++) {
        late[c] = malloc((nf + 1) * sizeof *late[c]);
        oom = oom || !late[c];
    }
    if (oom) {
        fprintf(stderr, "scheduler bench: out of memory\n");
        goto report_done;
    }
    /* sort fires by job start to find the first start of each due second */
    double busy_sum = 0;
    for (size_t i = 0; i < nf; i++) {
        struct fire *f = &g_fires[i];
        int64_t l = f->job_start_us - f->due_us;
        late[f->cls][nl[f->cls]++] = l;
        late[NCLS][nl[NCLS]++] = l;
        disp[nd] = f->started_us - f->due_us;
        pick[nd++] = f->job_start_us - f->started_us;
        if (f->recorded_us) {
            rec[nrec++] = f->recorded_us - f->job_end_us;
            busy_sum += (double)(f->job_end_us - f->job_start_us);
        }
    }
    /* the earliest start per due second: the timer's own wake-up latency
     * (due times are whole seconds) */
    if (nf) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < nf; i++) {
            lo = g_fires[i].due_us < lo ? g_fires[i].due_us : lo;
            hi = g_fires[i].due_us > hi ? g_fires[i].due_us : hi;
        }
        size_t nb = (size_t)((hi - lo) / 1000000) + 1;
        int64_t *mn = nb < 1000000 ? malloc(nb * sizeof *mn) : NULL;
        if (mn) {
            for (size_t b = 0; b < nb; b++)
                mn[b] = INT64_MAX;
            for (size_t i = 0; i < nf; i++) {
                size_t b = (size_t)((g_fires[i].due_us - lo) / 1000000);
                int64_t l = g_fires[i].job_start_us - g_fires[i].due_us;
                if (l < mn[b])
                    mn[b] = l;
            }
            for (size_t b = 0; b < nb; b++)
                if (mn[b] != INT64_MAX)
                    first[nfirst++] = mn[b];
            free(mn);
        }
    }

    double offered = (double)CRON_BURST / (double)fire_s;
    {
        struct lh_schedule *d = malloc(sizeof *d);
        for (size_t i = 0; d && i < n_hot; i++)
            if (make_def(d, i, n_hot, 0, tf_s, end_bound) == 0)
                offered += 1.0 / (double)d->trigger.interval_secs;
        free(d);
    }
    double la[3];
    if (getloadavg(la, 3) != 3)
        la[0] = la[1] = la[2] = NAN;
    printf("\nsetup: created %zu schedules in %.1f s (%d threads, %.2f ms of wall each); "
           "store load (open, %zu files) %.2f s; scheduler start %.1f ms; stop %.1f ms\n",
           n, create_s, CREATORS, per_create_us / 1e3, n, load_s, start_ms, stop_ms);
    printf("load average at the end: %.2f %.2f %.2f (%ld cores)\n", la[0], la[1], la[2],
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("\n(1) idle, %zu schedules in the heap, none due: %.1f s wall, %.4f s cpu "
           "(user+sys), %ld context switches, %llu runs started\n",
           n, idle_wall, idle_cpu, idle_cs, (unsigned long long)(s1.started - s0.started));
    printf("\n(2) fires due in [Tf, Tf+%llds): %zu fires (%.1f/s), %zu not counted; "
           "cpu %.1f %% of a core\n",
           (long long)fire_s, nf, (double)nf / fire_wall, atomic_load(&g_dropped),
           100.0 * fire_cpu / fire_wall);
    printf("  %-34s %7s %9s %9s %9s %9s\n", "ms", "n", "p50", "p99", "p99.9", "max");
    row("lateness (job start - due), all", late[NCLS], nl[NCLS]);
    for (int c = 0; c < NCLS; c++)
        if (nl[c]) {
            char nm[64];
            snprintf(nm, sizeof nm, "lateness, %s", cls_name[c]);
            row(nm, late[c], nl[c]);
        }
    row("  dispatch (started_at - due)", disp, nd);
    row("  pickup (job start - started_at)", pick, nd);
    row("earliest start per due second", first, nfirst);
    row("recorded (job end - on_event)", rec, nrec);
    printf("  per run, a worker spends %.3f ms (mean) between the job's start and its end (the "
           "run is recorded by a recorder thread); fires offered %.1f/s (hot: sum of "
           "1/interval), started %.1f/s, %u workers\n",
           nrec ? busy_sum / (double)nrec / 1e3 : NAN, offered, (double)nf / fire_wall, workers);

    qsort(late[NCLS], nl[NCLS], sizeof *late[NCLS], cmp_i64);
    double p99 = pct(late[NCLS], nl[NCLS], 99);
    printf("\ngoal idle cpu < 0.5 %% of a core: %.4f %% -> %s\n", idle_pct,
           idle_pct < 0.5 ? "PASS" : "FAIL");
    printf("goal lateness p99 < 10 ms:       %.3f ms -> %s\n", p99, p99 < 10 ? "PASS" : "FAIL");
    rc = 0;
report_done:
    free(disp);
    free(pick);
    free(rec);
    free(first);
    for (int c = 0; c <= NCLS; c++)
        free(late[c]);
    goto done;
fail:
    fprintf(stderr, "scheduler bench: %s\n", err.msg);
done:
    lh_scheduler_stop(sch, 0);
    for (int k = 0; k < CREATORS; k++) {
        lh_schedule_store_close(cr[k].ss);
        lh_store_close(cr[k].st);
    }
    lh_schedule_store_close(ss);
    lh_store_close(st);
    free(g_fires);
    if (logf) {
        lh_log_set_stream(stderr);
        fclose(logf);
    }
    return rc;
}
