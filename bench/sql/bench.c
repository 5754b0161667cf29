/*
 * bench/sql/bench.c — lakehouse SQL side of bench/sql/run.sh (not a test).
 *
 *   sql_bench DIR ROWS build    writes dataset `bench` (ROWS rows sorted by id,
 *                               row groups of 131,072 rows) into data dir DIR
 *   sql_bench DIR ROWS run      times the three queries (best of 3) and prints
 *                               one line per query with row groups read/pruned
 *   sql_bench DIR ROWS run SQL  times SQL instead (best of 3), for profiling
 * REPS=N in the environment changes the 3. Each line reports the best wall
 * time (ms=) and the best CPU time (cpu_ms=, user + system).
 *
 * Columns: id BIGINT = i, status VARCHAR = 8 values by a hash of i,
 * amount DECIMAL(12,2) = hash % 1e9 (unscaled), price DOUBLE = hash % 1e6 / 100.
 */
#include "catalog/catalog.h"
#include "parquet/parquet.h"
#include "sql/sql.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* CPU time of this process (user + system), ms: less disturbed than wall
 * time when the machine is shared. */
static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static uint64_t H(uint64_t i, uint64_t s)
{
    return (i * 2654435761u + s) % 4294967296u;
}

static enum lh_status sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    return lh_store_upload_write(ctx, p, n, err);
}

static int build(const char *dir, int64_t rows)
{
    static const char *st[] = {"new", "paid", "shipped", "delivered",
                               "cancelled", "refunded", "returned", "on_hold"};
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "status", .type = LH_T_STRING},
        {.name = "amount", .type = LH_T_DECIMAL, .precision = 12, .scale = 2},
        {.name = "price", .type = LH_T_DOUBLE},
    };
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const char *key = "datasets/bench/v1/part-00000.parquet";
    struct lh_store_upload *up;
    if (lh_store_upload_begin(lh_store_set_primary(set), key, &up, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.row_group_rows = 131072;
    struct lh_parquet_writer *w;
    struct lh_schema sc = {4, f};
    if (lh_parquet_writer_create(&sc, &o, sink, up, &w, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    enum { B = 65536 };
    static int64_t id[B], amt[B];
    static double price[B];
    static int32_t off[B + 1];
    static char heap[B * 10];
    for (int64_t base = 0; base < rows; base += B) {
        int n = (int)(rows - base < B ? rows - base : B);
        int pos = 0;
        for (int r = 0; r < n; r++) {
            uint64_t i = (uint64_t)(base + r);
            id[r] = (int64_t)i;
            amt[r] = (int64_t)(H(i, 4) % 1000000000u);
            price[r] = (double)(H(i, 6) % 1000000u) / 100.0;
            const char *s = st[H(i, 8) % 8];
            size_t l = strlen(s);
            off[r] = pos;
            memcpy(heap + pos, s, l);
            pos += (int)l;
            off[r + 1] = pos;
        }
        struct lh_array a[4] = {{.length = n, .values = id},
                                {.length = n, .offsets = off, .data = (uint8_t *)heap},
                                {.length = n, .values = amt},
                                {.length = n, .values = price}};
        struct lh_batch b = {n, a};
        if (lh_parquet_writer_add_batch(w, &b, &err) != LH_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    if (lh_parquet_writer_close(w, &err) != LH_OK || lh_store_upload_commit(up, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    lh_parquet_writer_destroy(w);
    uint64_t size;
    if (lh_store_stat(lh_store_set_primary(set), key, &size, &err) != LH_OK)
        return 1;
    struct lh_catalog_object obj = {.key = key, .size_bytes = size};
    struct lh_catalog_version_spec sp = {.objects = &obj, .nobjects = 1,
                                         .row_count = (uint64_t)rows, .run_id = "bench"};
    if (lh_catalog_version_register(cat, "bench", &sp, NULL, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("built rows=%" PRId64 " file_bytes=%" PRIu64 "\n", rows, size);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return 0;
}

static enum lh_status nocols(void *c, const struct lh_sql_column *k, size_t n, struct lh_error *e)
{
    (void)c, (void)k, (void)n, (void)e;
    return LH_OK;
}
static enum lh_status onerow(void *c, const struct lh_sql_value *v, size_t n, struct lh_error *e)
{
    (void)v, (void)n, (void)e;
    ++*(uint64_t *)c;
    return LH_OK;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: sql_bench DIR ROWS build|run [SQL]\n");
        return 2;
    }
    int64_t rows = strtoll(argv[2], NULL, 10);
    if (strcmp(argv[3], "build") == 0)
        return build(argv[1], rows);
    char q[4][1024];
    snprintf(q[0], sizeof q[0], "SELECT * FROM bench WHERE id = %" PRId64, rows / 2 + 7);
    snprintf(q[1], sizeof q[1], "SELECT count(*), sum(price) FROM bench WHERE id BETWEEN %" PRId64
             " AND %" PRId64, rows / 3, rows / 3 + rows / 100 - 1);
    snprintf(q[2], sizeof q[2], "SELECT status, count(*), sum(amount) FROM bench GROUP BY status");
    snprintf(q[3], sizeof q[3],
             "SELECT status, count(*), sum(amount) FROM bench GROUP BY ALL ORDER BY 1");
    const char *name[4] = {"point", "range1pct", "groupby", "groupby_dec"};
    int first = 0, nq = 4;
    if (argc == 5) {
        snprintf(q[0], sizeof q[0], "%s", argv[4]);
        name[0] = "custom";
        nq = 1;
    }
    int reps = getenv("REPS") ? atoi(getenv("REPS")) : 3;
    reps = reps > 0 ? reps : 3;
    struct lh_sql_options o = {.timeout_ms = 600000};
    struct lh_sql_engine *e;
    struct lh_error err;
    if (lh_sql_engine_open(argv[1], NULL, &o, &e, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int k = first; k < nq; k++) {
        double best = 1e30, best_cpu = 1e30;
        uint64_t nrows = 0;
        for (int rep = 0; rep < reps; rep++) {
            double c0 = cpu_ms();
            nrows = 0;
            struct lh_sql_sink sink = {.ctx = &nrows, .columns = nocols, .row = onerow};
            struct lh_sql_result_info info;
            if (lh_sql_run(e, q[k], 0, &sink, &info, &err) != LH_OK) {
                fprintf(stderr, "%s: %s\n", q[k], err.msg);
                return 1;
            }
            double c1 = cpu_ms() - c0;
            best = info.elapsed_ms < best ? info.elapsed_ms : best;
            best_cpu = c1 < best_cpu ? c1 : best_cpu;
        }
        printf("lakehouse %s ms=%.3f cpu_ms=%.3f rows=%" PRIu64 "\n", name[k], best, best_cpu,
               nrows);
    }
    lh_sql_engine_destroy(e);
    return 0;
}
