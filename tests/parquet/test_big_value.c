/*
 * test_big_value.c DIR — a value larger than the writer's whole memory
 * budget (issue 18): a 3 MiB string among small ones, written with a
 * 1 MiB budget (pages of ~128 KiB, row groups of 512 KiB). The big value
 * must go through as a page of its own (nothing of it left staged after
 * its batch), and it must read back byte for byte with our reader; big_value.mjs then
 * has DuckDB and arrow-rs read DIR/big.parquet value by value.
 *
 * Values (the same formula in big_value.mjs): row i (0..N) is id i and s =
 * one letter per byte, 'a' + (i * 7 + k * 13 + k / 101) % 26 for byte k,
 * of length 40 + i, except row BIG of BIG_LEN bytes; every 9th s is NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200
#define BIG 77
#define BIG_LEN (3 << 20)

static const char *DIR_ARG;

static enum lh_status file_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    if (fwrite(p, 1, n, ctx) != n)
        return lh_error_set(err, LH_E_IO, "write failed");
    return LH_OK;
}

static size_t value_len(int i)
{
    return i == BIG ? BIG_LEN : (size_t)(40 + i);
}

static void value_fill(int i, uint8_t *o)
{
    size_t n = value_len(i);
    for (size_t k = 0; k < n; k++)
        o[k] = (uint8_t)('a' + ((size_t)i * 7 + k * 13 + k / 101) % 26);
}

static void test_big_value(void **state)
{
    (void)state;
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "s", .type = LH_T_STRING, .nullable = true},
    };
    struct lh_schema sc = {.fields = f, .nfields = 2};
    static int64_t id[N];
    static int32_t off[N + 1];
    static uint8_t valid[N / 8 + 1];
    size_t total = 0;
    for (int i = 0; i < N; i++)
        total += i % 9 ? value_len(i) : 0;
    uint8_t *heap = malloc(total);
    assert_non_null(heap);
    size_t pos = 0;
    for (int i = 0; i < N; i++) {
        id[i] = i;
        off[i] = (int32_t)pos;
        lh_bit_set(valid, i, i % 9 != 0);
        if (i % 9) {
            value_fill(i, heap + pos);
            pos += value_len(i);
        }
    }
    off[N] = (int32_t)pos;
    struct lh_array cols[2] = {
        {.length = N, .values = id},
        {.length = N, .validity = valid, .offsets = off, .data = heap},
    };
    struct lh_batch b = {.num_rows = N, .cols = cols};

    char path[1024];
    snprintf(path, sizeof path, "%s/big.parquet", DIR_ARG);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.memory_bytes = 1u << 20;
    struct lh_parquet_writer *w;
    struct lh_error err;
    lh_error_clear(&err);
    assert_int_equal(lh_parquet_writer_create(&sc, &o, file_sink, fp, &w, &err), LH_OK);
    /* in two batches, the big value in the first */
    struct lh_batch b1 = b;
    b1.num_rows = BIG + 1;
    assert_int_equal(lh_parquet_writer_add_batch(w, &b1, &err), LH_OK);
    struct lh_parquet_writer_stats st;
    lh_parquet_writer_stats(w, &st);
    /* the big value went through as one page: nothing of it is staged */
    assert_true(st.buffered_bytes < (1u << 20));
    int32_t off2[N + 1];
    for (int i = BIG + 1; i <= N; i++)
        off2[i - (BIG + 1)] = off[i];
    uint8_t valid2[N / 8 + 1] = {0};
    for (int i = BIG + 1; i < N; i++)
        lh_bit_set(valid2, i - (BIG + 1), i % 9 != 0);
    struct lh_array cols2[2] = {
        {.length = N - BIG - 1, .values = id + BIG + 1},
        {.length = N - BIG - 1, .validity = valid2, .offsets = off2, .data = heap},
    };
    struct lh_batch b2 = {.num_rows = N - BIG - 1, .cols = cols2};
    assert_int_equal(lh_parquet_writer_add_batch(w, &b2, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
    assert_int_equal(fclose(fp), 0);

    /* our reader: every value back, byte for byte */
    struct lh_parquet_reader *r;
    assert_int_equal(lh_parquet_reader_open_file(path, &r, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
    assert_int_equal(fi->num_rows, N);
    assert_true(fi->num_row_groups >= 1);
    uint8_t *want = malloc(BIG_LEN);
    assert_non_null(want);
    int64_t row = 0;
    for (int32_t g = 0; g < fi->num_row_groups; g++) {
        struct lh_arena a;
        lh_arena_init(&a, (size_t)64 << 20);
        struct lh_array ids, ss;
        assert_int_equal(lh_parquet_reader_read_column(r, g, 0, &a, &ids, &err), LH_OK);
        assert_int_equal(lh_parquet_reader_read_column(r, g, 1, &a, &ss, &err), LH_OK);
        for (int64_t k = 0; k < ids.length; k++, row++) {
            int i = (int)((const int64_t *)ids.values)[k];
            assert_int_equal(i, row);
            if (i % 9 == 0) {
                assert_false(lh_bit_get(ss.validity, k));
                continue;
            }
            assert_true(ss.validity == NULL || lh_bit_get(ss.validity, k));
            size_t n = (size_t)(ss.offsets[k + 1] - ss.offsets[k]);
            assert_int_equal(n, value_len(i));
            value_fill(i, want);
            assert_memory_equal(ss.data + ss.offsets[k], want, n);
        }
        lh_arena_reset(&a);
    }
    assert_int_equal(row, N);
    lh_parquet_reader_close(r);
    free(want);
    free(heap);
}

/* The compression thread changes nothing in the file: the same batches
 * (a mix of compressible and random columns, pages large enough to pick
 * a level) written with and without it give the same bytes. */
static enum lh_status mem_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    (void)err;
    lh_buf_append(ctx, p, n);
    return lh_buf_ok(ctx) ? LH_OK : LH_E_NOMEM;
}

static void write_mixed(bool thread, struct lh_buf *out)
{
    enum { R = 60000 };
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "rnd", .type = LH_T_BINARY},
        {.name = "txt", .type = LH_T_STRING, .nullable = true},
    };
    struct lh_schema sc = {.fields = f, .nfields = 3};
    static int64_t id[R];
    static int32_t ro[R + 1], to[R + 1];
    static uint8_t rh[R * 24], th[R * 16], tv[R / 8 + 1];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < R; i++) {
        id[i] = i;
        ro[i] = i * 24;
        for (int k = 0; k < 24; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            rh[i * 24 + k] = (uint8_t)x;
        }
        to[i] = i * 16;
        snprintf((char *)th + i * 16, 17, "row-%011d", i % 977);
        lh_bit_set(tv, i, i % 13 != 0);
    }
    ro[R] = R * 24, to[R] = R * 16;
    struct lh_array cols[3] = {
        {.length = R, .values = id},
        {.length = R, .offsets = ro, .data = rh},
        {.length = R, .validity = tv, .offsets = to, .data = th},
    };
    struct lh_batch b = {.num_rows = R, .cols = cols};
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.compress_thread = thread;
    o.page_bytes = 100000;
    o.row_group_rows = 25000;
    struct lh_parquet_writer *w;
    struct lh_error err;
    lh_error_clear(&err);
    assert_int_equal(lh_parquet_writer_create(&sc, &o, mem_sink, out, &w, &err), LH_OK);
    for (int k = 0; k < 3; k++)
        assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
}

static void test_thread_same_file(void **state)
{
    (void)state;
    struct lh_buf a, b;
    lh_buf_init(&a, 0);
    lh_buf_init(&b, 0);
    write_mixed(true, &a);
    write_mixed(false, &b);
    assert_true(a.len > 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    lh_buf_reset(&a);
    lh_buf_reset(&b);
}

int main(int argc, char **argv)
{
    DIR_ARG = argc > 1 ? argv[1] : ".";
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_big_value),
                                       cmocka_unit_test(test_thread_same_file)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
