/*
 * bench_source.c — drains a table through lh_source and prints one line:
 *   <label> rows=N wall_s=W rows_per_s=R cpu_s_per_mrow=C peak_rss_mib=M warnings=K
 * Usage: bench_source postgres|mysql DSN TABLE [BATCH]
 * CPU is this process's user+system time (getrusage), i.e. the client's.
 */
#include "source/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static double tv(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s postgres|mysql DSN TABLE [BATCH]\n", argv[0]);
        return 2;
    }
    enum lh_source_kind kind;
    if (!lh_source_kind_parse(argv[1], &kind))
        return 2;
    int64_t batch = 0;
    if (argc > 4 && !lh_parse_i64(argv[4], &batch)) {
        fprintf(stderr, "bad batch size %s\n", argv[4]);
        return 2;
    }
    struct lh_source_options opt = {.table = argv[3], .batch_size = batch};
    struct lh_error err = {0};
    struct lh_source *s;
    int64_t t0 = lh_time_mono_ns();
    if (lh_source_open(&s, kind, argv[2], &opt, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    const struct lh_batch *b;
    int64_t rows = 0;
    for (;;) {
        if (lh_source_next_batch(s, &b, &err)) {
            fprintf(stderr, "next_batch: %s\n", err.msg);
            return 1;
        }
        if (!b)
            break;
        rows += b->num_rows;
    }
    double wall = (double)(lh_time_mono_ns() - t0) / 1e9;
    struct lh_source_stats st;
    lh_source_stats(s, &st);
    lh_source_close(s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
    printf("source-%s rows=%lld wall_s=%.3f rows_per_s=%.0f cpu_s_per_mrow=%.3f peak_rss_mib=%.1f "
           "warnings=%lld\n",
           argv[1], (long long)rows, wall, (double)rows / wall, cpu / ((double)rows / 1e6),
           (double)ru.ru_maxrss / 1024.0, (long long)st.warnings);
    return 0;
}
