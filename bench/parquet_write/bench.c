/*
 * bench.c — Parquet writer throughput: encodes N rows of a typical table
 * from memory into a zstd file and reports rows/s, MB/s and the file size.
 *
 * The rows come from a deterministic generator whose formulas run.sh
 * repeats in SQL for DuckDB, so both write the same values. Generation is
 * not timed: only lh_parquet_writer_* calls (add_batch, close) are.
 *
 *   parquet_write_bench OUT.parquet [ROWS] [BATCH]
 *
 * Columns (every column but id is NULL when H(i, salt) % 20 == 0, ~5 %):
 *   id bigint = i
 *   qty int = H(i,2) % 100000 - 50000
 *   amount decimal(12,2), unscaled = H(i,4) % 1000000000
 *   price double = (H(i,6) % 1000000) / 100.0
 *   status text = STATUS[H(i,8) % 8]
 *   email text = 'user' || H(i,10) % 100000000 || '@' || DOMAIN[H(i,11) % 4]
 *   created_at timestamptz, us = 1600000000000000 + i * 1000003 + H(i,13) % 1000000
 *   active bool = H(i,15) % 3 == 0
 *   attrs json = '{"k":' || H(i,17) % 1000 || ',"tag":"' || STATUS[H(i,18) % 8] || '"}'
 * with H(i, s) = (i * 2654435761 + s) % 4294967296.
 */
#include "parquet/parquet.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: the figure that survives a busy machine. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *const STATUS[8] = {"new",       "paid",     "shipped",  "delivered",
                                      "cancelled", "refunded", "returned", "on_hold"};
static const char *const DOMAIN[4] = {"example.com", "mail.net", "corp.org", "shop.io"};

static inline int64_t H(int64_t i, int64_t s)
{
    return (i * 2654435761LL + s) % 4294967296LL;
}

struct strcol {
    int32_t *off;
    char *data;
    size_t cap;
};

static enum lh_status file_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    if (fwrite(p, 1, n, ctx) != n)
        return lh_error_set(err, LH_E_IO, "write failed");
    return LH_OK;
}

#define NCOL 9

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.parquet [ROWS] [BATCH]\n", argv[0]);
        return 2;
    }
    int64_t rows = argc > 2 ? strtoll(argv[2], NULL, 10) : 10000000;
    int64_t bs = argc > 3 ? strtoll(argv[3], NULL, 10) : 65536;
    if (rows <= 0 || bs <= 0)
        return 2;
    struct lh_field f[NCOL] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "qty", .type = LH_T_INT32, .nullable = true},
        {.name = "amount", .type = LH_T_DECIMAL, .precision = 12, .scale = 2, .nullable = true},
        {.name = "price", .type = LH_T_DOUBLE, .nullable = true},
        {.name = "status", .type = LH_T_STRING, .nullable = true},
        {.name = "email", .type = LH_T_STRING, .nullable = true},
        {.name = "created_at", .type = LH_T_TIMESTAMP, .ts_utc = true, .nullable = true},
        {.name = "active", .type = LH_T_BOOL, .nullable = true},
        {.name = "attrs", .type = LH_T_JSON, .nullable = true},
    };
    struct lh_schema schema = {NCOL, f};
    int64_t *id = malloc((size_t)bs * 8), *amount = malloc((size_t)bs * 8),
            *ts = malloc((size_t)bs * 8);
    int32_t *qty = malloc((size_t)bs * 4);
    double *price = malloc((size_t)bs * 8);
    uint8_t *active = malloc((size_t)bs);
    size_t vbytes = ((size_t)bs + 7) / 8;
    uint8_t *valid[NCOL];
    for (int c = 0; c < NCOL; c++)
        valid[c] = malloc(vbytes);
    struct strcol sc[3];
    for (int k = 0; k < 3; k++) {
        sc[k].off = malloc(((size_t)bs + 1) * 4);
        sc[k].cap = (size_t)bs * 40;
        sc[k].data = malloc(sc[k].cap);
    }
    FILE *fp = fopen(argv[1], "wb");
    if (!fp) {
        perror(argv[1]);
        return 1;
    }
    struct lh_parquet_writer *w = NULL;
    struct lh_error err;
    lh_error_clear(&err);
    if (lh_parquet_writer_create(&schema, NULL, file_sink, fp, &w, &err) != LH_OK) {
        fprintf(stderr, "create: %s\n", err.msg);
        return 1;
    }
    int64_t t_enc = 0, c_enc = 0;
    uint64_t in_bytes = 0;
    for (int64_t base = 0; base < rows; base += bs) {
        int64_t n = rows - base < bs ? rows - base : bs;
        for (int c = 0; c < NCOL; c++)
            memset(valid[c], 0xFF, vbytes);
        size_t pos[3] = {0, 0, 0};
        for (int64_t r = 0; r < n; r++) {
            int64_t i = base + r;
            static const int nsalt[NCOL] = {0, 1, 3, 5, 7, 9, 12, 14, 16};
            for (int c = 1; c < NCOL; c++)
                if (H(i, nsalt[c]) % 20 == 0)
                    lh_bit_set(valid[c], r, false);
            id[r] = i;
            qty[r] = (int32_t)(H(i, 2) % 100000 - 50000);
            amount[r] = H(i, 4) % 1000000000;
            price[r] = (double)(H(i, 6) % 1000000) / 100.0;
            ts[r] = 1600000000000000LL + i * 1000003LL + H(i, 13) % 1000000;
            active[r] = H(i, 15) % 3 == 0;
            const char *st = STATUS[H(i, 8) % 8];
            sc[0].off[r] = (int32_t)pos[0];
            sc[1].off[r] = (int32_t)pos[1];
            sc[2].off[r] = (int32_t)pos[2];
            if (lh_bit_get(valid[4], r))
                pos[0] += (size_t)snprintf(sc[0].data + pos[0], 40, "%s", st);
            if (lh_bit_get(valid[5], r))
                pos[1] += (size_t)snprintf(sc[1].data + pos[1], 40, "user%lld@%s",
                                           (long long)(H(i, 10) % 100000000), DOMAIN[H(i, 11) % 4]);
            if (lh_bit_get(valid[8], r))
                pos[2] += (size_t)snprintf(sc[2].data + pos[2], 40, "{\"k\":%lld,\"tag\":\"%s\"}",
                                           (long long)(H(i, 17) % 1000), STATUS[H(i, 18) % 8]);
        }
        for (int k = 0; k < 3; k++)
            sc[k].off[n] = (int32_t)pos[k];
        in_bytes += (uint64_t)n * (8 + 4 + 8 + 8 + 8 + 1 + 3 * 4) + pos[0] + pos[1] + pos[2];
        struct lh_array cols[NCOL] = {
            {.length = n, .values = id},
            {.length = n, .values = qty, .validity = valid[1]},
            {.length = n, .values = amount, .validity = valid[2]},
            {.length = n, .values = price, .validity = valid[3]},
            {.length = n,
             .offsets = sc[0].off,
             .data = (uint8_t *)sc[0].data,
             .validity = valid[4]},
            {.length = n,
             .offsets = sc[1].off,
             .data = (uint8_t *)sc[1].data,
             .validity = valid[5]},
            {.length = n, .values = ts, .validity = valid[6]},
            {.length = n, .values = active, .validity = valid[7]},
            {.length = n,
             .offsets = sc[2].off,
             .data = (uint8_t *)sc[2].data,
             .validity = valid[8]},
        };
        struct lh_batch b = {n, cols};
        int64_t t0 = lh_time_mono_ns(), c0 = cpu_ns();
        enum lh_status s = lh_parquet_writer_add_batch(w, &b, &err);
        t_enc += lh_time_mono_ns() - t0;
        c_enc += cpu_ns() - c0;
        if (s != LH_OK) {
            fprintf(stderr, "add_batch: %s\n", err.msg);
            return 1;
        }
    }
    int64_t t0 = lh_time_mono_ns(), c0 = cpu_ns();
    if (lh_parquet_writer_close(w, &err) != LH_OK || fflush(fp) != 0) {
        fprintf(stderr, "close: %s\n", err.msg);
        return 1;
    }
    t_enc += lh_time_mono_ns() - t0;
    c_enc += cpu_ns() - c0;
    struct lh_parquet_writer_stats st;
    lh_parquet_writer_stats(w, &st);
    lh_parquet_writer_destroy(w);
    fclose(fp);
    double sec = (double)t_enc / 1e9;
    printf("lakehouse: rows=%lld seconds=%.3f cpu_seconds=%.3f rows_per_s=%.0f "
           "input_MB_per_s=%.1f file_bytes=%llu row_groups=%d\n",
           (long long)rows, sec, (double)c_enc / 1e9, (double)rows / sec,
           (double)in_bytes / 1e6 / sec, (unsigned long long)st.bytes_written, st.row_groups);
    for (int c = 0; c < NCOL; c++)
        free(valid[c]);
    for (int k = 0; k < 3; k++)
        free(sc[k].off), free(sc[k].data);
    free(id), free(amount), free(ts), free(qty), free(price), free(active);
    return 0;
}
