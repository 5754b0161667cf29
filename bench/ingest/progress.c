/*
 * progress.c — what progress reporting costs an ingest (issue 14): the
 * same table ingested by lh_ingest_run with no callbacks, and with an
 * on_progress that does what `lakehouse ingest` does (a clock read, a
 * throttle, formatting a line every 250 ms) plus an on_log that keeps the
 * run log, alternating, ROUNDS times each; prints rows/s of each run, the
 * medians and their ratio, the callbacks made, and the measured cost of one
 * callback times their number as a share of the run. Run by progress.sh.
 * Not a test: nothing is asserted.
 *
 *   ingest_progress_bench postgres|mysql DSN TABLE DATA_DIR [ROUNDS]
 */
#include "ingest/ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct watch {
    int64_t calls, lines, last_ns;
    char text[256];
};

static void on_progress(void *ctx, const struct lh_ingest_progress *p)
{
    struct watch *w = ctx;
    w->calls++;
    int64_t now = lh_time_mono_ns();
    if (now - w->last_ns < 250000000)
        return;
    w->last_ns = now;
    double rate = p->elapsed_s > 0 ? (double)p->rows / p->elapsed_s : 0;
    snprintf(
        w->text, sizeof w->text, "%s %" PRId64 " rows %.0f rows/s %" PRIu64 " B %.1fs %" PRId64,
        lh_ingest_phase_name(p->phase), p->rows, rate, p->bytes, p->elapsed_s, p->estimated_rows);
}

static void on_log(void *ctx, enum lh_log_level level, const char *line)
{
    struct watch *w = ctx;
    (void)level;
    w->lines++;
    snprintf(w->text, sizeof w->text, "%s", line);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One ingest; returns rows/s (0 on failure), *cpu_rps rows per CPU second
 * of this process (less sensitive than wall time to other load). */
static double one(enum lh_source_kind kind, const char *dsn, const char *table, const char *data,
                  bool watched, struct watch *w, int64_t *rows, double *cpu_rps)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
    if (system(cmd) != 0)
        return 0;
    struct lh_store_set *set;
    struct lh_error err;
    if (lh_store_set_open(data, NULL, NULL, &set, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 0;
    }
    struct lh_ingest_options o = {.kind = kind, .dsn = dsn, .table = table, .dataset = "bench"};
    if (watched) {
        o.on_progress = on_progress;
        o.on_log = on_log;
        o.progress_ctx = w;
    }
    struct lh_ingest_job *job;
    struct lh_ingest_result res;
    double rps = 0;
    if (lh_ingest_job_create(set, &o, &job, &err) == LH_OK) {
        int64_t t0 = lh_time_mono_ns();
        double c0 = cpu_s();
        if (lh_ingest_run(job, &res, &err) == LH_OK) {
            rps = (double)res.rows / ((double)(lh_time_mono_ns() - t0) / 1e9);
            *cpu_rps = (double)res.rows / (cpu_s() - c0);
            *rows = res.rows;
        } else {
            fprintf(stderr, "%s\n", err.msg);
        }
        lh_ingest_job_destroy(job);
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    lh_store_set_close(set);
    return rps;
}

int main(int argc, char **argv)
{
    enum lh_source_kind kind;
    if (argc < 5 || !lh_source_kind_parse(argv[1], &kind)) {
        fprintf(stderr, "usage: %s postgres|mysql DSN TABLE DATA_DIR [ROUNDS]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 5 ? atoi(argv[5]) : 5;
    if (rounds < 1 || rounds > 50)
        rounds = 5;
    double plain[50], watched[50], cplain[50], cwatched[50];
    int64_t rows = 0;
    struct watch w = {0};
    for (int i = 0; i < rounds; i++) {
        /* alternate which goes first, so a warming cache favours neither */
        bool first_watched = i % 2;
        for (int k = 0; k < 2; k++) {
            bool wt = k == 0 ? first_watched : !first_watched;
            struct watch ww = {0};
            double c = 0;
            double r = one(kind, argv[2], argv[3], argv[4], wt, &ww, &rows, &c);
            if (r <= 0)
                return 1;
            if (wt) {
                watched[i] = r;
                cwatched[i] = c;
                w = ww;
            } else {
                plain[i] = r;
                cplain[i] = c;
            }
            printf("%-8s round %d %-12s rows_per_s=%10.0f rows_per_cpu_s=%10.0f\n", argv[1], i + 1,
                   wt ? "callbacks" : "no-callback", r, c);
        }
    }
    qsort(plain, (size_t)rounds, sizeof *plain, cmp_d);
    qsort(watched, (size_t)rounds, sizeof *watched, cmp_d);
    qsort(cplain, (size_t)rounds, sizeof *cplain, cmp_d);
    qsort(cwatched, (size_t)rounds, sizeof *cwatched, cmp_d);
    double mp = plain[rounds / 2], mw = watched[rounds / 2];
    double cp = cplain[rounds / 2], cw = cwatched[rounds / 2];
    /* the callbacks alone: one progress call, measured in a loop */
    struct watch bw = {0};
    struct lh_ingest_progress p = {.phase = LH_INGEST_READING, .rows = 1, .elapsed_s = 1};
    const int64_t N = 10000000;
    int64_t t0 = lh_time_mono_ns();
    for (int64_t i = 0; i < N; i++) {
        p.rows = i;
        on_progress(&bw, &p);
    }
    double ns_per_call = (double)(lh_time_mono_ns() - t0) / (double)N;
    double run_s = (double)rows / mw;
    printf("%-8s rows=%" PRId64 " median no-callback=%.0f rows/s, callbacks=%.0f rows/s, "
           "ratio=%.4f (%+.2f %%)\n",
           argv[1], rows, mp, mw, mw / mp, (mw / mp - 1) * 100);
    printf("%-8s per CPU second of the ingest process: median no-callback=%.0f, callbacks=%.0f, "
           "ratio=%.4f (%+.2f %%)\n",
           argv[1], cp, cw, cw / cp, (cw / cp - 1) * 100);
    printf("%-8s callbacks per run: %" PRId64 " progress, %" PRId64 " log lines; one progress "
           "callback %.1f ns -> %.6f %% of a %.2f s run\n",
           argv[1], w.calls, w.lines, ns_per_call,
           (double)w.calls * ns_per_call / 1e9 / run_s * 100, run_s);
    return 0;
}
