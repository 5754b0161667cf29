/*
 * test_write.c — the Parquet writer as a whole, without a reader: batch
 * validation, row group splitting by rows and by bytes, bounded memory,
 * sink failures (sticky, no crash), the atomic-file sink, the file frame
 * (magic, footer length, created_by) and option defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "parquet/parquet.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A sink into memory that can be told to fail after some bytes. */
struct msink {
    struct lh_buf b;
    uint64_t fail_after; /* 0: never */
    int calls_after_fail;
    bool failed;
};

static enum lh_status msink_fn(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    struct msink *m = ctx;
    if (m->failed)
        m->calls_after_fail++;
    if (m->fail_after && m->b.len + n > m->fail_after) {
        m->failed = true;
        return lh_error_set(err, LH_E_NOSPC, "disk full (test sink)");
    }
    lh_buf_append(&m->b, p, n);
    return LH_OK;
}

/* Deterministic columns: an int64, a nullable string, a nullable decimal. */
static const struct lh_field fields3[] = {
    {.name = "id", .type = LH_T_INT64},
    {.name = "name", .type = LH_T_STRING, .nullable = true},
    {.name = "amount", .type = LH_T_DECIMAL, .precision = 9, .scale = 2, .nullable = true},
};
static const struct lh_schema schema3 = {3, fields3};

struct data3 {
    int64_t *id;
    int32_t *off;
    char *heap;
    int32_t *amount;
    uint8_t *valid;
    struct lh_array cols[3];
    struct lh_batch b;
};

static void data3_make(struct data3 *d, int64_t n, int64_t base, int strlen_each)
{
    d->id = malloc((size_t)n * 8 + 8);
    d->off = malloc((size_t)(n + 1) * 4);
    d->heap = malloc((size_t)n * (size_t)strlen_each + 1);
    d->amount = malloc((size_t)n * 4 + 4);
    d->valid = calloc((size_t)(n + 7) / 8 + 1, 1);
    uint64_t x = (uint64_t)base * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        d->id[i] = base + i;
        d->off[i] = (int32_t)(i * strlen_each);
        for (int k = 0; k < strlen_each; k++)
            d->heap[i * strlen_each + k] = (char)('a' + (x >> ((k * 3 + 20) % 60)) % 26);
        d->amount[i] = (int32_t)((x >> 33) % 1000000);
        lh_bit_set(d->valid, i, (x >> 60) != 0);
    }
    d->off[n] = (int32_t)(n * strlen_each);
    d->cols[0] = (struct lh_array){.length = n, .values = d->id};
    d->cols[1] = (struct lh_array){
        .length = n, .offsets = d->off, .data = (uint8_t *)d->heap, .validity = d->valid};
    d->cols[2] = (struct lh_array){.length = n, .values = d->amount, .validity = d->valid};
    d->b = (struct lh_batch){n, d->cols};
}

static void data3_free(struct data3 *d)
{
    free(d->id), free(d->off), free(d->heap), free(d->amount), free(d->valid);
}

static const void *find(const void *hay, size_t n, const void *needle, size_t m)
{
    const uint8_t *h = hay;
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(h + i, needle, m) == 0)
            return h + i;
    return NULL;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------ options */

static void test_options_defaults(void **state)
{
    (void)state;
    struct lh_parquet_writer_options o;
    memset(&o, 0xAB, sizeof o);
    lh_parquet_writer_options_init(&o);
    assert_int_equal(o.codec, LH_PQ_ZSTD);
    assert_int_equal(o.zstd_level, 3);
    assert_int_equal(o.row_group_bytes, 64u << 20);
    assert_int_equal(o.row_group_rows, 1048576);
    assert_int_equal(o.page_bytes, 1u << 20);
    assert_int_equal(o.dict_max_bytes, 1u << 20);
    assert_true(o.dictionary);
    assert_null(o.kv);
    assert_int_equal(o.nkv, 0);
}

/* ------------------------------------------------------------ file frame */

static void test_file_frame(void **state)
{
    (void)state;
    static const enum lh_parquet_codec codecs[] = {LH_PQ_ZSTD, LH_PQ_SNAPPY, LH_PQ_UNCOMPRESSED};
    for (size_t ci = 0; ci < 3; ci++) {
        struct msink m = {0};
        lh_buf_init(&m.b, 0);
        struct lh_parquet_writer_options o;
        lh_parquet_writer_options_init(&o);
        o.codec = codecs[ci];
        struct lh_parquet_kv kv[] = {{"origin", "unit-test"}, {"k2", ""}};
        o.kv = kv;
        o.nkv = 2;
        struct lh_parquet_writer *w;
        struct lh_error err;
        assert_int_equal(lh_parquet_writer_create(&schema3, &o, msink_fn, &m, &w, &err), LH_OK);
        struct data3 d;
        data3_make(&d, 5000, 0, 7);
        assert_int_equal(lh_parquet_writer_add_batch(w, &d.b, &err), LH_OK);
        assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
        struct lh_parquet_writer_stats st;
        lh_parquet_writer_stats(w, &st);
        assert_int_equal(st.rows, 5000);
        assert_int_equal(st.row_groups, 1);
        assert_int_equal(st.bytes_written, m.b.len);
        assert_int_equal(st.buffered_bytes, 0);
        /* PAR1 ... footer, 4-byte footer length, PAR1 */
        assert_true(m.b.len > 12);
        assert_memory_equal(m.b.data, "PAR1", 4);
        assert_memory_equal(m.b.data + m.b.len - 4, "PAR1", 4);
        uint32_t flen = rd32(m.b.data + m.b.len - 8);
        assert_true(flen > 0 && flen < m.b.len - 12);
        const uint8_t *footer = m.b.data + m.b.len - 8 - flen;
        const char *cb = "lakehouse version " LH_VERSION " (build ";
        assert_non_null(find(footer, flen, cb, strlen(cb)));
        assert_non_null(find(footer, flen, "unit-test", 9));
        assert_non_null(find(footer, flen, "amount", 6));
        /* the writer refuses anything after close */
        assert_int_equal(lh_parquet_writer_add_batch(w, &d.b, &err), LH_E_STATE);
        assert_int_equal(lh_parquet_writer_close(w, &err), LH_E_STATE);
        lh_parquet_writer_destroy(w);
        data3_free(&d);
        lh_buf_reset(&m.b);
    }
}

static void test_empty_file(void **state)
{
    (void)state;
    /* no batch at all, then an empty batch: a valid file with no row group */
    for (int k = 0; k < 2; k++) {
        struct msink m = {0};
        lh_buf_init(&m.b, 0);
        struct lh_parquet_writer *w;
        struct lh_error err;
        assert_int_equal(lh_parquet_writer_create(&schema3, NULL, msink_fn, &m, &w, &err), LH_OK);
        if (k == 1) {
            struct lh_array cols[3] = {{0}};
            struct lh_batch b = {0, cols};
            int32_t off0 = 0;
            cols[1].offsets = &off0;
            assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
        }
        assert_int_equal(lh_parquet_writer_flush(w, &err), LH_OK);
        assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
        struct lh_parquet_writer_stats st;
        lh_parquet_writer_stats(w, &st);
        assert_int_equal(st.row_groups, 0);
        assert_int_equal(st.rows, 0);
        assert_memory_equal(m.b.data, "PAR1", 4);
        assert_memory_equal(m.b.data + m.b.len - 4, "PAR1", 4);
        assert_int_equal(rd32(m.b.data + m.b.len - 8), m.b.len - 12);
        lh_parquet_writer_destroy(w);
        lh_buf_reset(&m.b);
    }
}

/* ------------------------------------------------------------ validation */

struct bad_case {
    const char *name;
    struct lh_field field;
    int kind;                  /* which malformed array to build */
    const char *want1, *want2; /* substrings of the message */
};

enum {
    BAD_NULL_REQUIRED,
    BAD_OFFSETS_DECREASE,
    BAD_OFFSETS_NEGATIVE,
    BAD_DECIMAL_HIGH,
    BAD_DECIMAL_LOW,
    BAD_DECIMAL128,
    BAD_INT8_RANGE,
    BAD_UINT16_RANGE,
    BAD_LIST_NULL_ELEMENT,
    BAD_LIST_PAST_CHILD,
    BAD_SHORT_ARRAY,
};

static const struct bad_case bad_cases[] = {
    {"null in required", {.name = "req", .type = LH_T_INT32}, BAD_NULL_REQUIRED, "req", "row 5"},
    {"offsets decrease", {.name = "s", .type = LH_T_STRING}, BAD_OFFSETS_DECREASE, "s", "row 3"},
    {"negative offset", {.name = "s", .type = LH_T_BINARY}, BAD_OFFSETS_NEGATIVE, "s", "negative"},
    {"decimal too big",
     {.name = "d", .type = LH_T_DECIMAL, .precision = 3, .scale = 1},
     BAD_DECIMAL_HIGH,
     "d",
     "row 4"},
    {"decimal too small",
     {.name = "d", .type = LH_T_DECIMAL, .precision = 3, .scale = 1},
     BAD_DECIMAL_LOW,
     "d",
     "row 2"},
    {"decimal128 too big",
     {.name = "big", .type = LH_T_DECIMAL, .precision = 20},
     BAD_DECIMAL128,
     "big",
     "row 1"},
    {"int8 out of range", {.name = "i8", .type = LH_T_INT8}, BAD_INT8_RANGE, "i8", "row 6"},
    {"uint16 out of range", {.name = "u16", .type = LH_T_UINT16}, BAD_UINT16_RANGE, "u16", "row 0"},
    {"null element in non-nullable list",
     {.name = "tags", .type = LH_T_INT32, .is_list = true, .nullable = true},
     BAD_LIST_NULL_ELEMENT,
     "tags",
     "element 2"},
    {"list offsets past child",
     {.name = "tags", .type = LH_T_INT32, .is_list = true},
     BAD_LIST_PAST_CHILD,
     "tags",
     "elements"},
    {"array shorter than batch",
     {.name = "short", .type = LH_T_INT64},
     BAD_SHORT_ARRAY,
     "short",
     "values"},
};

static void test_validation(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof bad_cases / sizeof bad_cases[0]; ci++) {
        const struct bad_case *c = &bad_cases[ci];
        print_message("case %s\n", c->name);
        struct lh_schema sc = {1, &c->field};
        struct msink m = {0};
        lh_buf_init(&m.b, 0);
        struct lh_parquet_writer *w;
        struct lh_error err;
        assert_int_equal(lh_parquet_writer_create(&sc, NULL, msink_fn, &m, &w, &err), LH_OK);

        enum { N = 8 };
        int32_t i32[N] = {1, 2, 3, 4, 5, 6, 7, 8};
        int32_t off[N + 1] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
        lh_i128 i128[N] = {0};
        uint8_t valid[1] = {0xFF}, evalid[1] = {0xFF};
        int32_t lo[N + 1] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
        struct lh_array child = {.length = N, .values = i32, .validity = evalid};
        struct lh_array a = {.length = N, .values = i32};
        switch (c->kind) {
        case BAD_NULL_REQUIRED:
            valid[0] = 0xDF; /* row 5 */
            a.validity = valid;
            break;
        case BAD_OFFSETS_DECREASE:
            off[4] = 1; /* row 3: 3 -> 1 */
            a = (struct lh_array){.length = N, .offsets = off, .data = (const uint8_t *)"abcdefgh"};
            break;
        case BAD_OFFSETS_NEGATIVE:
            off[0] = -1;
            a = (struct lh_array){.length = N, .offsets = off, .data = (const uint8_t *)"abcdefgh"};
            break;
        case BAD_DECIMAL_HIGH:
            i32[4] = 1000; /* precision 3: at most 999 */
            i32[5] = 999;
            break;
        case BAD_DECIMAL_LOW:
            i32[0] = -999;
            i32[2] = -1000;
            break;
        case BAD_DECIMAL128: {
            lh_i128 lim = 1;
            for (int k = 0; k < 20; k++)
                lim *= 10;
            i128[0] = lim - 1;
            i128[1] = lim;
            a.values = i128;
            break;
        }
        case BAD_INT8_RANGE:
            i32[6] = 128;
            i32[7] = -128;
            break;
        case BAD_UINT16_RANGE:
            i32[0] = 65536;
            break;
        case BAD_LIST_NULL_ELEMENT:
            evalid[0] = 0xFB; /* element 2 */
            a = (struct lh_array){.length = N, .list_offsets = lo, .child = &child};
            break;
        case BAD_LIST_PAST_CHILD:
            child.length = 7;
            a = (struct lh_array){.length = N, .list_offsets = lo, .child = &child};
            break;
        case BAD_SHORT_ARRAY:
            a.length = N - 1;
            break;
        }
        struct lh_batch b = {N, &a};
        lh_error_clear(&err);
        assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_E_INVAL);
        print_message("  -> %s\n", err.msg);
        assert_non_null(strstr(err.msg, c->want1));
        assert_non_null(strstr(err.msg, c->want2));
        /* a rejected batch leaves the writer usable and writes nothing */
        struct lh_parquet_writer_stats st;
        lh_parquet_writer_stats(w, &st);
        assert_int_equal(st.rows, 0);
        assert_int_equal(st.buffered_bytes, 0);
        assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
        lh_parquet_writer_destroy(w);
        lh_buf_reset(&m.b);
    }
}

static void test_bad_schema(void **state)
{
    (void)state;
    static const struct lh_field bad[][1] = {
        {{.name = "d", .type = LH_T_DECIMAL, .precision = 39}},
        {{.name = "d", .type = LH_T_DECIMAL, .precision = 5, .scale = 6}},
        {{.name = "f", .type = LH_T_FIXED, .fixed_len = 0}},
        {{.name = "", .type = LH_T_INT32}},
        {{.name = "x", .type = LH_T_COUNT_}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lh_schema sc = {1, bad[i]};
        struct lh_parquet_writer *w = (void *)1;
        struct lh_error err;
        struct msink m = {0};
        assert_int_equal(lh_parquet_writer_create(&sc, NULL, msink_fn, &m, &w, &err), LH_E_INVAL);
        assert_null(w);
        assert_int_equal(m.b.len, 0);
    }
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.codec = LH_PQ_BROTLI;
    struct lh_parquet_writer *w;
    struct lh_error err;
    struct msink m = {0};
    assert_int_equal(lh_parquet_writer_create(&schema3, &o, msink_fn, &m, &w, &err),
                     LH_E_UNSUPPORTED);
}

/* ------------------------------------------------------------ row groups */

struct rg_case {
    const char *name;
    int64_t rg_rows;
    uint64_t rg_bytes;
    int64_t batches[4];
    int nbatch;
    int32_t want_groups; /* -1: only check the byte bound */
};

static const struct rg_case rg_cases[] = {
    {"rows: one batch crosses two boundaries", 1000, 0, {2500, 600}, 2, 4},
    {"rows: exact multiples", 1000, 0, {1000, 1000, 1000}, 3, 3},
    {"rows: many small batches", 300, 0, {100, 100, 100, 100}, 4, 2},
    {"rows: one row per group", 1, 0, {5}, 1, 5},
    {"bytes: 64 KiB groups", 0, 64 << 10, {40000, 40000}, 2, -1},
};

static void test_row_groups(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof rg_cases / sizeof rg_cases[0]; ci++) {
        const struct rg_case *c = &rg_cases[ci];
        print_message("case %s\n", c->name);
        struct msink m = {0};
        lh_buf_init(&m.b, 0);
        struct lh_parquet_writer_options o;
        lh_parquet_writer_options_init(&o);
        if (c->rg_rows)
            o.row_group_rows = c->rg_rows;
        if (c->rg_bytes) {
            o.row_group_bytes = c->rg_bytes;
            o.page_bytes = 8192;
            o.codec = LH_PQ_UNCOMPRESSED;
        }
        struct lh_parquet_writer *w;
        struct lh_error err;
        assert_int_equal(lh_parquet_writer_create(&schema3, &o, msink_fn, &m, &w, &err), LH_OK);
        int64_t base = 0;
        uint64_t max_buffered = 0;
        for (int k = 0; k < c->nbatch; k++) {
            struct data3 d;
            data3_make(&d, c->batches[k], base, 12);
            assert_int_equal(lh_parquet_writer_add_batch(w, &d.b, &err), LH_OK);
            base += c->batches[k];
            struct lh_parquet_writer_stats st;
            lh_parquet_writer_stats(w, &st);
            assert_int_equal(st.rows, base);
            if (st.buffered_bytes > max_buffered)
                max_buffered = st.buffered_bytes;
            /* rows never exceed the row-group cap while buffered */
            if (c->rg_rows)
                assert_true(st.rows - (int64_t)st.row_groups * c->rg_rows <= c->rg_rows);
            data3_free(&d);
        }
        assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
        struct lh_parquet_writer_stats st;
        lh_parquet_writer_stats(w, &st);
        if (c->want_groups >= 0) {
            assert_int_equal(st.row_groups, c->want_groups);
        } else {
            /* ~28 bytes a row: 80,000 rows are ~2.2 MB, so dozens of groups,
             * and the buffered size never goes far past the target */
            print_message("  groups=%d max_buffered=%llu\n", st.row_groups,
                          (unsigned long long)max_buffered);
            assert_true(st.row_groups >= 20);
            assert_true(max_buffered <= c->rg_bytes + c->rg_bytes / 4);
        }
        lh_parquet_writer_destroy(w);
        lh_buf_reset(&m.b);
    }
}

/* Memory stays bounded by one row group whatever the input size: feed
 * 400 batches and watch buffered_bytes after each. */
static void test_bounded_memory(void **state)
{
    (void)state;
    struct msink m = {0};
    lh_buf_init(&m.b, 0);
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.row_group_bytes = 256 << 10;
    o.page_bytes = 32 << 10;
    struct lh_parquet_writer *w;
    struct lh_error err;
    assert_int_equal(lh_parquet_writer_create(&schema3, &o, msink_fn, &m, &w, &err), LH_OK);
    uint64_t max_buffered = 0;
    for (int k = 0; k < 400; k++) {
        struct data3 d;
        data3_make(&d, 1000, k * 1000, 40);
        assert_int_equal(lh_parquet_writer_add_batch(w, &d.b, &err), LH_OK);
        struct lh_parquet_writer_stats st;
        lh_parquet_writer_stats(w, &st);
        if (st.buffered_bytes > max_buffered)
            max_buffered = st.buffered_bytes;
        data3_free(&d);
        /* the sink got the finished row groups: drop them like a file would */
        m.b.len = 0;
    }
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    struct lh_parquet_writer_stats st;
    lh_parquet_writer_stats(w, &st);
    print_message("groups=%d max_buffered=%llu\n", st.row_groups, (unsigned long long)max_buffered);
    assert_true(st.row_groups > 10);
    assert_true(max_buffered <= o.row_group_bytes + o.row_group_bytes / 4);
    lh_parquet_writer_destroy(w);
    lh_buf_reset(&m.b);
}

/* ------------------------------------------------------------ sink errors */

static void test_sink_failure(void **state)
{
    (void)state;
    static const uint64_t fail_at[] = {1, 4, 100, 5000, 40000, 120000};
    for (size_t ci = 0; ci < sizeof fail_at / sizeof fail_at[0]; ci++) {
        print_message("fail after %llu bytes\n", (unsigned long long)fail_at[ci]);
        struct msink m = {0};
        lh_buf_init(&m.b, 0);
        m.fail_after = fail_at[ci];
        struct lh_parquet_writer_options o;
        lh_parquet_writer_options_init(&o);
        o.row_group_rows = 2000;
        o.codec = LH_PQ_UNCOMPRESSED;
        struct lh_parquet_writer *w = NULL;
        struct lh_error err;
        lh_error_clear(&err);
        enum lh_status s = lh_parquet_writer_create(&schema3, &o, msink_fn, &m, &w, &err);
        if (fail_at[ci] < 4) {
            /* the magic does not fit: create itself fails */
            assert_int_equal(s, LH_E_NOSPC);
            assert_null(w);
            assert_non_null(strstr(err.msg, "disk full"));
            lh_buf_reset(&m.b);
            continue;
        }
        assert_int_equal(s, LH_OK);
        enum lh_status first = LH_OK;
        for (int k = 0; k < 20 && first == LH_OK; k++) {
            struct data3 d;
            data3_make(&d, 1000, k * 1000, 10);
            first = lh_parquet_writer_add_batch(w, &d.b, &err);
            data3_free(&d);
        }
        if (first == LH_OK)
            first = lh_parquet_writer_close(w, &err);
        assert_int_equal(first, LH_E_NOSPC);
        assert_non_null(strstr(err.msg, "disk full"));
        /* every later call fails the same way and never reaches the sink */
        int calls = m.calls_after_fail;
        struct data3 d;
        data3_make(&d, 10, 0, 3);
        lh_error_clear(&err);
        assert_int_equal(lh_parquet_writer_add_batch(w, &d.b, &err), LH_E_NOSPC);
        assert_non_null(strstr(err.msg, "disk full"));
        assert_int_equal(lh_parquet_writer_flush(w, &err), LH_E_NOSPC);
        assert_int_equal(lh_parquet_writer_close(w, &err), LH_E_NOSPC);
        assert_int_equal(m.calls_after_fail, calls);
        data3_free(&d);
        lh_parquet_writer_destroy(w);
        lh_buf_reset(&m.b);
    }
}

/* ------------------------------------------------------------ atomic file */

static void test_atomic_file_sink(void **state)
{
    (void)state;
    char dir[] = "/tmp/lh-test-write-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/part-0.parquet", dir);
    struct lh_atomic_file f;
    struct lh_error err;
    assert_int_equal(lh_atomic_file_open(&f, path, &err), LH_OK);
    struct lh_parquet_writer *w;
    assert_int_equal(
        lh_parquet_writer_create(&schema3, NULL, lh_parquet_sink_atomic_file, &f, &w, &err), LH_OK);
    struct data3 d;
    data3_make(&d, 3000, 0, 5);
    assert_int_equal(lh_parquet_writer_add_batch(w, &d.b, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    assert_int_equal(access(path, F_OK), -1); /* not visible before commit */
    assert_int_equal(lh_atomic_file_commit(&f, &err), LH_OK);
    struct lh_parquet_writer_stats st;
    lh_parquet_writer_stats(w, &st);
    uint8_t *buf;
    size_t len;
    assert_int_equal(lh_file_read_all(path, 1 << 26, &buf, &len, &err), LH_OK);
    assert_int_equal(len, st.bytes_written);
    assert_memory_equal(buf, "PAR1", 4);
    assert_memory_equal(buf + len - 4, "PAR1", 4);
    free(buf);
    lh_parquet_writer_destroy(w);
    data3_free(&d);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults), cmocka_unit_test(test_file_frame),
        cmocka_unit_test(test_empty_file),       cmocka_unit_test(test_validation),
        cmocka_unit_test(test_bad_schema),       cmocka_unit_test(test_row_groups),
        cmocka_unit_test(test_bounded_memory),   cmocka_unit_test(test_sink_failure),
        cmocka_unit_test(test_atomic_file_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
