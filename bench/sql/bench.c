/*
 * bench/sql/bench.c — builds the data of bench/sql/run.sh (not a test).
 *
 *   sql_bench DIR ROWS build [RG_ROWS]
 *                               writes into data dir DIR, with our Parquet
 *                               writer, and registers in its catalog:
 *     bench  ROWS rows sorted by id, row groups of RG_ROWS rows (default
 *            131,072; ingest writes 1,048,576):
 *            id BIGINT = i, status VARCHAR = 8 values by a hash of i,
 *            amount DECIMAL(12,2) = hash % 1e9 (unscaled),
 *            price DOUBLE = hash % 1e6 / 100, dim_id BIGINT = hash % 100,000
 *     dim    100,000 rows: id BIGINT = i, region VARCHAR = 16 values,
 *            name VARCHAR = "name-<i>"
 *
 * The queries themselves run through `lakehouse sql` (run.sh).
 */
#include "catalog/catalog.h"
#include "parquet/parquet.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t H(uint64_t i, uint64_t s)
{
    return (i * 2654435761u + s) % 4294967296u;
}

static enum lh_status sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    return lh_store_upload_write(ctx, p, n, err);
}

/* dim: 100,000 rows in one part. */
static int build_dim(struct lh_store *st, struct lh_catalog *cat)
{
    enum { N = 100000 };
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "region", .type = LH_T_STRING},
        {.name = "name", .type = LH_T_STRING},
    };
    static int64_t id[N];
    static int32_t roff[N + 1], noff[N + 1];
    static char rheap[N * 4], nheap[N * 12];
    int rp = 0, np = 0;
    for (int i = 0; i < N; i++) {
        id[i] = i;
        roff[i] = rp;
        rp += snprintf(rheap + rp, 4, "r%02d", (int)(H((uint64_t)i, 12) % 16));
        roff[i + 1] = rp;
        noff[i] = np;
        np += snprintf(nheap + np, 12, "name-%d", i);
        noff[i + 1] = np;
    }
    struct lh_array a[3] = {{.length = N, .values = id},
                            {.length = N, .offsets = roff, .data = (uint8_t *)rheap},
                            {.length = N, .offsets = noff, .data = (uint8_t *)nheap}};
    struct lh_schema sc = {3, f};
    struct lh_batch b = {N, a};
    const char *key = "datasets/dim/v1/part-00000.parquet";
    struct lh_error err;
    struct lh_store_upload *up;
    struct lh_parquet_writer *w;
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    if (lh_store_upload_begin(st, key, &up, &err) != LH_OK ||
        lh_parquet_writer_create(&sc, &o, sink, up, &w, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (lh_parquet_writer_add_batch(w, &b, &err) != LH_OK ||
        lh_parquet_writer_close(w, &err) != LH_OK || lh_store_upload_commit(up, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    lh_parquet_writer_destroy(w);
    uint64_t size;
    if (lh_store_stat(st, key, &size, &err) != LH_OK)
        return 1;
    struct lh_catalog_object obj = {.key = key, .size_bytes = size};
    struct lh_catalog_version_spec sp = {.objects = &obj, .nobjects = 1, .row_count = N,
                                         .run_id = "bench"};
    if (lh_catalog_version_register(cat, "dim", &sp, NULL, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("built dim rows=%d file_bytes=%" PRIu64 "\n", N, size);
    return 0;
}

static int build(const char *dir, int64_t rows, int64_t rg_rows)
{
    static const char *st[] = {"new", "paid", "shipped", "delivered",
                               "cancelled", "refunded", "returned", "on_hold"};
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "status", .type = LH_T_STRING},
        {.name = "amount", .type = LH_T_DECIMAL, .precision = 12, .scale = 2},
        {.name = "price", .type = LH_T_DOUBLE},
        {.name = "dim_id", .type = LH_T_INT64},
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
    o.row_group_rows = rg_rows;
    struct lh_parquet_writer *w;
    struct lh_schema sc = {5, f};
    if (lh_parquet_writer_create(&sc, &o, sink, up, &w, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    enum { B = 65536 };
    static int64_t id[B], amt[B], dim[B];
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
            dim[r] = (int64_t)(H(i, 10) % 100000u);
            const char *s = st[H(i, 8) % 8];
            size_t l = strlen(s);
            off[r] = pos;
            memcpy(heap + pos, s, l);
            pos += (int)l;
            off[r + 1] = pos;
        }
        struct lh_array a[5] = {{.length = n, .values = id},
                                {.length = n, .offsets = off, .data = (uint8_t *)heap},
                                {.length = n, .values = amt},
                                {.length = n, .values = price},
                                {.length = n, .values = dim}};
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
    printf("built bench rows=%" PRId64 " file_bytes=%" PRIu64 "\n", rows, size);
    int rc = build_dim(lh_store_set_primary(set), cat);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return rc;
}

int main(int argc, char **argv)
{
    if ((argc != 4 && argc != 5) || strcmp(argv[3], "build") != 0) {
        fprintf(stderr, "usage: sql_bench DIR ROWS build [ROW_GROUP_ROWS]\n");
        return 2;
    }
    int64_t rg = argc == 5 ? strtoll(argv[4], NULL, 10) : 131072;
    if (rg <= 0) {
        fprintf(stderr, "sql_bench: ROW_GROUP_ROWS must be a positive number of rows\n");
        return 2;
    }
    return build(argv[1], strtoll(argv[2], NULL, 10), rg);
}
