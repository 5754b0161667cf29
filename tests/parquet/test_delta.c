/*
 * test_delta.c [DIR] — DELTA_BINARY_PACKED and the per-column codec choice
 * of the writer (issue 18).
 *
 * - The encoder against the spec's two worked examples, byte for byte.
 * - The encoder against our reader's decoder (pq_delta_decode) for INT32
 *   and INT64 over a table of value patterns (sequential, random, negative,
 *   all-equal, INT_MIN/INT_MAX neighbours whose deltas overflow and must
 *   wrap) and counts around the block and miniblock sizes (0, 1, 31..33,
 *   127..130, 257, 1000); every miniblock width within the type's.
 * - The writer: a file of INT32/INT64/DATE/TIMESTAMP/list<int64> columns
 *   with NULLs, row groups of 1153, 1152, 1042, 5, 1, 3000 and 2 rows (pages
 *   of 1024 int64 values, so row-group tails of 129, 128, 18, 5, 1 values),
 *   read back value by value with our reader; the footer shows
 *   DELTA_BINARY_PACKED where the deltas are smaller than PLAIN + zstd,
 *   PLAIN and an UNCOMPRESSED chunk for full-range random INT64 (zstd gains
 *   nothing there), and with fixed_encodings every page PLAIN + zstd as
 *   before. The file is the same with and without the compression thread.
 *   With DIR, the file and the expected values (DIR/expect.json) are left
 *   there for delta_readers.mjs (DuckDB, hyparquet, arrow-rs).
 * - The codec per column: random bools and a dictionary column of random
 *   2-bit indices get UNCOMPRESSED chunks (dictionary page included),
 *   compressible text keeps zstd, and a column that turns compressible
 *   after 8 row groups gets zstd again when it is judged anew; values back
 *   with our reader, the same bytes without the compression thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "parquet/parquet.h"
#include "read_int.h"
#include "write_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *DIR_ARG;

/* ------------------------------------------------------------ encoder */

static void test_spec_examples(void **state)
{
    (void)state;
    struct lh_buf b;
    lh_buf_init(&b, 0);
    /* 1, 2, 3, 4, 5: min delta 1, every width 0, no miniblock bytes */
    const int64_t a[] = {1, 2, 3, 4, 5};
    pq_delta_put_i64(&b, a, 5);
    const uint8_t wa[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof wa);
    assert_memory_equal(b.data, wa, sizeof wa);
    /* 7, 5, 3, 1, 2, 3, 4, 5: min delta -2, relative 0 0 0 3 3 3 3 at 2 bits */
    lh_buf_clear(&b);
    const int32_t c[] = {7, 5, 3, 1, 2, 3, 4, 5};
    pq_delta_put_i32(&b, c, 8);
    const uint8_t wc[] = {0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 0x02, 0, 0,
                          0,    0xc0, 0x3f, 0,    0,    0,    0,    0, 0};
    assert_int_equal(b.len, sizeof wc);
    assert_memory_equal(b.data, wc, sizeof wc);
    lh_buf_reset(&b);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t x = rng_state;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 32);
}

enum pattern { P_SEQ, P_RAND, P_NEG, P_EQUAL, P_EXTREME, P_SMALLRAND, P_DESC, P_COUNT };

static int64_t pattern64(enum pattern p, size_t i)
{
    static const int64_t ext[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, -1,
                                  0,         1,         INT64_MAX,     INT64_MIN,     INT64_MIN};
    switch (p) {
    case P_SEQ:
        return 1000000000000LL + (int64_t)i;
    case P_RAND:
        return (int64_t)rng();
    case P_NEG:
        return -5 - 3 * (int64_t)i - (int64_t)(rng() % 7);
    case P_EQUAL:
        return -42;
    case P_EXTREME:
        return ext[i % 10];
    case P_SMALLRAND:
        return (int64_t)(rng() % 1000001);
    default:
        return INT64_MAX - 17 * (int64_t)i;
    }
}

static int32_t pattern32(enum pattern p, size_t i)
{
    static const int32_t ext[] = {INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, -1,
                                  0,         1,         INT32_MAX,     INT32_MIN,     INT32_MIN};
    switch (p) {
    case P_SEQ:
        return 7 + (int32_t)i;
    case P_RAND:
        return (int32_t)(uint32_t)rng();
    case P_NEG:
        return -5 - 3 * (int32_t)i - (int32_t)(rng() % 7);
    case P_EQUAL:
        return -42;
    case P_EXTREME:
        return ext[i % 10];
    case P_SMALLRAND:
        return (int32_t)(rng() % 1000001);
    default:
        return INT32_MAX - 17 * (int32_t)i;
    }
}

/* Walks a stream's blocks and returns the largest miniblock width used. */
static int max_width(const uint8_t *p, size_t len, size_t n)
{
    const uint8_t *q = p, *end = p + len;
    uint64_t hdr[4];
    for (int k = 0; k < 4; k++) {
        hdr[k] = 0;
        for (int s = 0; q < end; s += 7) {
            uint8_t b = *q++;
            hdr[k] |= (uint64_t)(b & 0x7f) << s;
            if (!(b & 0x80))
                break;
        }
    }
    assert_int_equal(hdr[0], 128);
    assert_int_equal(hdr[1], 4);
    assert_int_equal(hdr[2], n);
    int mw = 0;
    for (size_t got = n ? 1 : 0; got < n;) {
        while (q < end && (*q & 0x80))
            q++;
        q++; /* min delta */
        const uint8_t *w = q;
        q += 4;
        for (int m = 0; m < 4 && got < n; m++) {
            mw = w[m] > mw ? w[m] : mw;
            q += 4 * (size_t)w[m];
            got += n - got < 32 ? n - got : 32;
        }
    }
    assert_true(q == end); /* nothing left over, nothing missing */
    return mw;
}

static void test_encoder_roundtrip(void **state)
{
    (void)state;
    static const size_t counts[] = {0, 1, 2, 31, 32, 33, 127, 128, 129, 130, 257, 1000};
    struct lh_buf b;
    lh_buf_init(&b, 0);
    int64_t *v64 = malloc(1000 * sizeof *v64), *out = malloc(1000 * sizeof *out);
    int32_t *v32 = malloc(1000 * sizeof *v32);
    assert_non_null(v64);
    assert_non_null(out);
    assert_non_null(v32);
    struct lh_error err;
    for (int p = 0; p < P_COUNT; p++) {
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            size_t n = counts[ci];
            rng_state = (uint64_t)p * 1000 + ci;
            for (size_t i = 0; i < n; i++) {
                v64[i] = pattern64((enum pattern)p, i);
                v32[i] = pattern32((enum pattern)p, i);
            }
            /* INT64 */
            lh_buf_clear(&b);
            pq_delta_put_i64(&b, v64, n);
            assert_true(lh_buf_ok(&b));
            assert_true(b.len <= pq_delta_bound(n, true));
            assert_true(max_width(b.data, b.len, n) <= 64);
            size_t used = 0;
            assert_int_equal(pq_delta_decode(b.data, b.len, out, n, &used, &err), LH_OK);
            assert_int_equal(used, b.len);
            for (size_t i = 0; i < n; i++)
                if (out[i] != v64[i])
                    fail_msg("int64 pattern %d n %zu: value %zu is %lld, want %lld", p, n, i,
                             (long long)out[i], (long long)v64[i]);
            /* INT32: deltas wrap in 32 bits, no width past 32 */
            lh_buf_clear(&b);
            pq_delta_put_i32(&b, v32, n);
            assert_true(lh_buf_ok(&b));
            assert_true(b.len <= pq_delta_bound(n, false));
            assert_true(max_width(b.data, b.len, n) <= 32);
            assert_int_equal(pq_delta_decode(b.data, b.len, out, n, &used, &err), LH_OK);
            for (size_t i = 0; i < n; i++)
                if ((int32_t)(uint32_t)(uint64_t)out[i] != v32[i])
                    fail_msg("int32 pattern %d n %zu: value %zu is %d, want %d", p, n, i,
                             (int32_t)(uint32_t)(uint64_t)out[i], v32[i]);
            /* sizes: equal values and steps of one take no bits at all */
            if ((p == P_EQUAL || p == P_SEQ) && n > 1)
                assert_true(b.len <= 16 + (n / 128 + 1) * 5);
        }
    }
    free(v64);
    free(v32);
    free(out);
    lh_buf_reset(&b);
}

/* ------------------------------------------------------------ writer */

enum {
    C_I64_SEQ,
    C_I64_RAND,
    C_I64_EDGE,
    C_I64_CONST,
    C_I64_NEG,
    C_I32_SEQ,
    C_I32_RAND,
    C_I32_EDGE,
    C_I32_QTY,
    C_TS,
    C_DT,
    C_LI,
    NCOLS
};
static const struct lh_field FIELDS[NCOLS] = {
    {.name = "i64_seq", .type = LH_T_INT64},
    {.name = "i64_rand", .type = LH_T_INT64, .nullable = true},
    {.name = "i64_edge", .type = LH_T_INT64},
    {.name = "i64_const", .type = LH_T_INT64},
    {.name = "i64_neg", .type = LH_T_INT64, .nullable = true},
    {.name = "i32_seq", .type = LH_T_INT32},
    {.name = "i32_rand", .type = LH_T_INT32, .nullable = true},
    {.name = "i32_edge", .type = LH_T_INT32},
    {.name = "i32_qty", .type = LH_T_INT32, .nullable = true},
    {.name = "ts", .type = LH_T_TIMESTAMP, .nullable = true, .ts_utc = true},
    {.name = "dt", .type = LH_T_DATE},
    {.name = "li", .type = LH_T_INT64, .nullable = true, .is_list = true, .element_nullable = true},
};
static const int64_t RG_ROWS[] = {1153, 1152, 1042, 5, 1, 3000, 2};
#define NRG ((int)(sizeof RG_ROWS / sizeof RG_ROWS[0]))

static uint64_t hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static bool is_null(int col, int64_t r)
{
    switch (col) {
    case C_I64_RAND:
        return r % 7 == 3;
    case C_I64_NEG:
        return r % 13 == 0 || (r >= 2100 && r < 2140); /* a run of NULLs too */
    case C_I32_RAND:
        return r % 5 == 1;
    case C_I32_QTY:
    case C_TS:
        return hash64((uint64_t)r * 31 + (uint64_t)col) % 20 == 0; /* 5 % */
    case C_LI:
        return r % 11 == 0;
    default:
        return false;
    }
}

/* INT_MIN/INT_MAX and their neighbours around row 2000 of every 4096, far
 * from the first page, so that the column's deltas are judged smaller
 * than PLAIN + zstd and the overflowing ones go through the encoder. */
static int64_t edge64(int64_t r)
{
    static const int64_t ext[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
                                  -1,        INT64_MIN, INT64_MAX,     0};
    int64_t k = r % 4096 - 2000;
    return k >= 0 && k < 8 ? ext[k] : r * 3;
}

static int32_t edge32(int64_t r)
{
    static const int32_t ext[] = {INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1,
                                  -1,        INT32_MIN, INT32_MAX,     0};
    int64_t k = r % 4096 - 2000;
    return k >= 0 && k < 8 ? ext[k] : (int32_t)(r * 3 - 5000);
}

static int64_t val64(int col, int64_t r)
{
    uint64_t h = hash64((uint64_t)r * 131 + (uint64_t)col);
    switch (col) {
    case C_I64_SEQ:
        return 5000000000LL + r;
    case C_I64_RAND:
        return (int64_t)h;
    case C_I64_EDGE:
        return edge64(r);
    case C_I64_CONST:
        return INT64_MIN + 1;
    case C_I64_NEG:
        return -1000000 - 7 * r - (int64_t)(h % 5);
    case C_TS: /* micros within 2024 */
        return 1704067200000000LL + (int64_t)(h % 31622400000000ULL);
    default:
        return 0;
    }
}

static int32_t val32(int col, int64_t r)
{
    uint64_t h = hash64((uint64_t)r * 131 + (uint64_t)col);
    switch (col) {
    case C_I32_SEQ:
        return (int32_t)(r - 100);
    case C_I32_RAND:
        return (int32_t)(uint32_t)h;
    case C_I32_EDGE:
        return edge32(r);
    case C_I32_QTY:
        return (int32_t)(h % 1000001);
    case C_DT:
        return 19723 + (int32_t)(r / 3);
    default:
        return 0;
    }
}

/* list<int64>: row r has r % 4 elements, element k is r * 1000 + k (INT64_MIN
 * at k == 2 on every 9th row), NULL when (r + k) % 5 == 0. */
static int64_t list_len(int64_t r)
{
    return r % 4;
}
static bool elem_null(int64_t r, int64_t k)
{
    return (r + k) % 5 == 0;
}
static int64_t elem_val(int64_t r, int64_t k)
{
    return k == 2 && r % 9 == 0 ? INT64_MIN : r * 1000 + k;
}

static int64_t total_rows(void)
{
    int64_t n = 0;
    for (int g = 0; g < NRG; g++)
        n += RG_ROWS[g];
    return n;
}

static enum lh_status mem_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    (void)err;
    lh_buf_append(ctx, p, n);
    return lh_buf_ok(ctx) ? LH_OK : LH_E_NOMEM;
}

/* Rows [from, to) as one batch (buffers owned by the caller, freed with free). */
struct batch_bufs {
    void *vals[NCOLS];
    uint8_t *valid[NCOLS];
    int32_t *loff;
    int64_t *elems;
    uint8_t *evalid;
    struct lh_array cols[NCOLS], child;
};

static void batch_make(struct batch_bufs *bb, int64_t from, int64_t to)
{
    memset(bb, 0, sizeof *bb);
    int64_t n = to - from, ne = 0;
    for (int c = 0; c < NCOLS; c++) {
        bool w8 = FIELDS[c].type == LH_T_INT64 || FIELDS[c].type == LH_T_TIMESTAMP;
        bb->vals[c] = calloc((size_t)n + 1, w8 ? 8 : 4);
        bb->valid[c] = calloc((size_t)n / 8 + 1, 1);
        assert_non_null(bb->vals[c]);
        assert_non_null(bb->valid[c]);
        for (int64_t i = 0; i < n; i++) {
            int64_t r = from + i;
            lh_bit_set(bb->valid[c], i, !is_null(c, r));
            if (c == C_LI)
                continue;
            if (w8)
                ((int64_t *)bb->vals[c])[i] = is_null(c, r) ? 0 : val64(c, r);
            else
                ((int32_t *)bb->vals[c])[i] = is_null(c, r) ? 0 : val32(c, r);
        }
        bb->cols[c] = (struct lh_array){.length = n,
                                        .validity = FIELDS[c].nullable ? bb->valid[c] : NULL,
                                        .values = bb->vals[c]};
    }
    bb->loff = calloc((size_t)n + 1, sizeof *bb->loff);
    bb->elems = calloc((size_t)n * 4 + 1, sizeof *bb->elems);
    bb->evalid = calloc((size_t)n / 2 + 1, 1);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = from + i;
        bb->loff[i] = (int32_t)ne;
        for (int64_t k = 0; !is_null(C_LI, r) && k < list_len(r); k++, ne++) {
            lh_bit_set(bb->evalid, ne, !elem_null(r, k));
            bb->elems[ne] = elem_null(r, k) ? 0 : elem_val(r, k);
        }
    }
    bb->loff[n] = (int32_t)ne;
    bb->child = (struct lh_array){.length = ne, .validity = bb->evalid, .values = bb->elems};
    bb->cols[C_LI].values = NULL;
    bb->cols[C_LI].list_offsets = bb->loff;
    bb->cols[C_LI].child = &bb->child;
}

static void batch_free(struct batch_bufs *bb)
{
    for (int c = 0; c < NCOLS; c++) {
        free(bb->vals[c]);
        free(bb->valid[c]);
    }
    free(bb->loff);
    free(bb->elems);
    free(bb->evalid);
}

static void write_file(struct lh_buf *out, bool fixed, bool thread)
{
    struct lh_parquet_writer_options opt;
    lh_parquet_writer_options_init(&opt);
    opt.page_bytes = 8192; /* 1024 int64 values a page */
    opt.dictionary = false;
    opt.fixed_encodings = fixed;
    opt.compress_thread = thread;
    struct lh_schema sc = {.fields = FIELDS, .nfields = NCOLS};
    struct lh_parquet_writer *w;
    struct lh_error err;
    lh_buf_init(out, 0);
    assert_int_equal(lh_parquet_writer_create(&sc, &opt, mem_sink, out, &w, &err), LH_OK);
    int64_t row = 0;
    for (int g = 0; g < NRG; g++) {
        int64_t end = row + RG_ROWS[g];
        while (row < end) {
            int64_t to = row + 700 < end ? row + 700 : end; /* batches cross pages */
            struct batch_bufs bb;
            batch_make(&bb, row, to);
            struct lh_batch b = {.num_rows = to - row, .cols = bb.cols};
            assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
            batch_free(&bb);
            row = to;
        }
        assert_int_equal(lh_parquet_writer_flush(w, &err), LH_OK);
    }
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
}

/* Every value of the file read back with our reader equals the formula. */
static void check_values(const struct lh_buf *file)
{
    struct lh_parquet_reader *r;
    struct lh_error err;
    assert_int_equal(lh_parquet_reader_open_mem(file->data, file->len, &r, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
    assert_int_equal(fi->num_row_groups, NRG);
    assert_int_equal(fi->num_rows, total_rows());
    int64_t base = 0;
    for (int g = 0; g < NRG; g++) {
        assert_int_equal(fi->row_groups[g].num_rows, RG_ROWS[g]);
        for (int c = 0; c < NCOLS; c++) {
            struct lh_arena a;
            lh_arena_init(&a, 64u << 20);
            struct lh_array out;
            if (lh_parquet_reader_read_column(r, g, (size_t)c, &a, &out, &err) != LH_OK)
                fail_msg("rg %d column %s: %s", g, FIELDS[c].name, err.msg);
            assert_int_equal(out.length, RG_ROWS[g]);
            for (int64_t i = 0; i < out.length; i++) {
                int64_t row = base + i;
                bool valid = lh_bit_get(out.validity, i);
                if (valid == is_null(c, row))
                    fail_msg("%s row %lld: NULL is %d", FIELDS[c].name, (long long)row, !valid);
                if (!valid)
                    continue;
                if (c == C_LI) {
                    int64_t s = out.list_offsets[i], e = out.list_offsets[i + 1];
                    assert_int_equal(e - s, list_len(row));
                    for (int64_t k = 0; k < e - s; k++) {
                        bool ev = lh_bit_get(out.child->validity, s + k);
                        assert_int_equal(ev, !elem_null(row, k));
                        if (ev && ((const int64_t *)out.child->values)[s + k] != elem_val(row, k))
                            fail_msg("li row %lld element %lld differs", (long long)row,
                                     (long long)k);
                    }
                    continue;
                }
                bool w8 = FIELDS[c].type == LH_T_INT64 || FIELDS[c].type == LH_T_TIMESTAMP;
                int64_t got =
                    w8 ? ((const int64_t *)out.values)[i] : ((const int32_t *)out.values)[i];
                int64_t want = w8 ? val64(c, row) : val32(c, row);
                if (got != want)
                    fail_msg("%s row %lld: %lld, want %lld", FIELDS[c].name, (long long)row,
                             (long long)got, (long long)want);
            }
            lh_arena_reset(&a);
        }
        base += RG_ROWS[g];
    }
    lh_parquet_reader_close(r);
}

static uint32_t enc_of(const struct lh_parquet_file_info *fi, int g, int c)
{
    return fi->row_groups[g].chunks[c].encodings;
}

/* The expected values as JSON text for delta_readers.mjs: per column an
 * array of decimal strings (days for dt, micros for ts), null for NULL,
 * and arrays of those for li. */
static void write_expect(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int64_t n = total_rows();
    fprintf(f, "{\"rows\":%lld,\"cols\":{", (long long)n);
    for (int c = 0; c < NCOLS; c++) {
        fprintf(f, "%s\"%s\":[", c ? "," : "", FIELDS[c].name);
        for (int64_t r = 0; r < n; r++) {
            fputs(r ? "," : "", f);
            if (is_null(c, r)) {
                fputs("null", f);
            } else if (c == C_LI) {
                fputc('[', f);
                for (int64_t k = 0; k < list_len(r); k++) {
                    if (elem_null(r, k))
                        fprintf(f, "%snull", k ? "," : "");
                    else
                        fprintf(f, "%s\"%lld\"", k ? "," : "", (long long)elem_val(r, k));
                }
                fputc(']', f);
            } else {
                bool w8 = FIELDS[c].type == LH_T_INT64 || FIELDS[c].type == LH_T_TIMESTAMP;
                fprintf(f, "\"%lld\"", w8 ? (long long)val64(c, r) : (long long)val32(c, r));
            }
        }
        fputc(']', f);
    }
    fputs("}}\n", f);
    assert_int_equal(fclose(f), 0);
}

static void test_writer_roundtrip(void **state)
{
    (void)state;
    struct lh_buf file, nothread, fixed;
    write_file(&file, false, true);
    check_values(&file);

    struct lh_parquet_reader *r;
    struct lh_error err;
    assert_int_equal(lh_parquet_reader_open_mem(file.data, file.len, &r, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
    const uint32_t dbp = 1u << PQ_ENC_DELTA_BINARY_PACKED, plain = 1u << PQ_ENC_PLAIN;
    /* deltas where they are smaller than PLAIN + zstd: in every row group,
     * the 1-row one included (the choice is kept for the chunks after the
     * probe), INT_MIN/INT_MAX neighbours and lists too */
    static const int delta_cols[] = {C_I64_SEQ, C_I64_EDGE, C_I64_CONST, C_I64_NEG,
                                     C_I32_SEQ, C_I32_EDGE, C_DT,        C_LI};
    for (int g = 0; g < NRG; g++)
        for (size_t k = 0; k < sizeof delta_cols / sizeof delta_cols[0]; k++) {
            int c = delta_cols[k];
            if (c == C_LI && RG_ROWS[g] < 100)
                continue; /* a page of no values (empty lists) is PLAIN: nothing to encode */
            if (!(enc_of(fi, g, c) & dbp) || (enc_of(fi, g, c) & plain))
                fail_msg("row group %d column %s: encodings %#x, want DELTA_BINARY_PACKED only", g,
                         FIELDS[c].name, enc_of(fi, g, c));
        }
    /* full-range random INT64: deltas take 64 bits, PLAIN is smaller, and
     * zstd gains nothing on it: an UNCOMPRESSED chunk */
    assert_true(enc_of(fi, 0, C_I64_RAND) & plain);
    assert_false(enc_of(fi, 0, C_I64_RAND) & dbp);
    assert_int_equal(fi->row_groups[0].chunks[C_I64_RAND].codec, LH_PQ_UNCOMPRESSED);
    assert_int_equal(fi->row_groups[5].chunks[C_I64_RAND].codec, LH_PQ_UNCOMPRESSED);
    /* the sequential ids: a few hundred bytes instead of 8 KiB a page */
    assert_true(fi->row_groups[5].chunks[C_I64_SEQ].total_compressed_size < 600);
    lh_parquet_reader_close(r);

    /* the same file without the compression thread */
    write_file(&nothread, false, false);
    assert_int_equal(nothread.len, file.len);
    assert_memory_equal(nothread.data, file.data, file.len);

    /* fixed_encodings: PLAIN + zstd everywhere, the same values */
    write_file(&fixed, true, true);
    check_values(&fixed);
    assert_int_equal(lh_parquet_reader_open_mem(fixed.data, fixed.len, &r, &err), LH_OK);
    fi = lh_parquet_reader_info(r);
    for (int g = 0; g < NRG; g++)
        for (int c = 0; c < NCOLS; c++) {
            assert_false(enc_of(fi, g, c) & dbp);
            assert_int_equal(fi->row_groups[g].chunks[c].codec, LH_PQ_ZSTD);
        }
    lh_parquet_reader_close(r);
    print_message("delta file %zu bytes, fixed encodings %zu bytes\n", file.len, fixed.len);
    assert_true(file.len < fixed.len);

    if (DIR_ARG) {
        char path[4096];
        snprintf(path, sizeof path, "%s/delta.parquet", DIR_ARG);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(file.data, 1, file.len, f), file.len);
        assert_int_equal(fclose(f), 0);
        snprintf(path, sizeof path, "%s/expect.json", DIR_ARG);
        write_expect(path);
    }
    lh_buf_reset(&file);
    lh_buf_reset(&nothread);
    lh_buf_reset(&fixed);
}

/* ------------------------------------------------------------ codec per column */

/* 12 row groups of 40,000 rows: flag (random bools: 5 KB pages zstd cannot
 * shrink), text (unique e-mail-like strings: zstd shrinks them), cat (4
 * random categories: a tiny dictionary and 2-bit random indices), phase
 * (doubles of random bits in the first 8 row groups, steps of 0.25 after). */
#define CC_RG 12
#define CC_ROWS 40000
enum { CC_FLAG, CC_TEXT, CC_CAT, CC_PHASE, CC_N };
static const struct lh_field CC_FIELDS[CC_N] = {
    {.name = "flag", .type = LH_T_BOOL},
    {.name = "text", .type = LH_T_STRING},
    {.name = "cat", .type = LH_T_STRING},
    {.name = "phase", .type = LH_T_DOUBLE},
};
static const char *const CATS[4] = {"alpha", "beta", "gamma", "delta"};

/* Row r's value of column c into o (at most 64 bytes); its length. */
static size_t cc_value(int c, int64_t r, char *o)
{
    uint64_t h = hash64((uint64_t)r * 7 + (uint64_t)c);
    switch (c) {
    case CC_FLAG:
        o[0] = (char)(h & 1);
        return 1;
    case CC_TEXT:
        return (size_t)snprintf(o, 64, "customer%lld@example.com", (long long)(r * 7919 % 1000003));
    case CC_CAT:
        return (size_t)snprintf(o, 64, "%s", CATS[h % 4]);
    default: {
        double d = (double)r * 0.25;
        if (r < 8 * CC_ROWS)
            memcpy(&d, &h, 8); /* any bits, NaNs included: compared as bits */
        memcpy(o, &d, 8);
        return 8;
    }
    }
}

static void cc_write(struct lh_buf *out, bool thread)
{
    struct lh_parquet_writer_options opt;
    lh_parquet_writer_options_init(&opt);
    opt.page_bytes = 64u << 10;
    opt.compress_thread = thread;
    struct lh_schema sc = {.fields = CC_FIELDS, .nfields = CC_N};
    struct lh_parquet_writer *w;
    struct lh_error err;
    lh_buf_init(out, 0);
    assert_int_equal(lh_parquet_writer_create(&sc, &opt, mem_sink, out, &w, &err), LH_OK);
    uint8_t *flags = malloc(CC_ROWS);
    double *phase = malloc(CC_ROWS * sizeof *phase);
    char *heap[2];
    int32_t *off[2];
    for (int k = 0; k < 2; k++) {
        heap[k] = malloc((size_t)CC_ROWS * 64);
        off[k] = malloc((CC_ROWS + 1) * sizeof(int32_t));
    }
    for (int g = 0; g < CC_RG; g++) {
        struct lh_array cols[CC_N];
        for (int64_t i = 0; i < CC_ROWS; i++) {
            char tmp[64];
            cc_value(CC_FLAG, (int64_t)g * CC_ROWS + i, tmp);
            flags[i] = (uint8_t)tmp[0];
        }
        cols[CC_FLAG] = (struct lh_array){.length = CC_ROWS, .values = flags};
        for (int64_t i = 0; i < CC_ROWS; i++)
            cc_value(CC_PHASE, (int64_t)g * CC_ROWS + i, (char *)&phase[i]);
        cols[CC_PHASE] = (struct lh_array){.length = CC_ROWS, .values = phase};
        for (int k = 0; k < 2; k++) {
            int32_t pos = 0;
            for (int64_t i = 0; i < CC_ROWS; i++) {
                off[k][i] = pos;
                pos += (int32_t)cc_value(CC_TEXT + k, (int64_t)g * CC_ROWS + i, heap[k] + pos);
            }
            off[k][CC_ROWS] = pos;
            cols[CC_TEXT + k] = (struct lh_array){
                .length = CC_ROWS, .offsets = off[k], .data = (const uint8_t *)heap[k]};
        }
        struct lh_batch b = {.num_rows = CC_ROWS, .cols = cols};
        assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
        assert_int_equal(lh_parquet_writer_flush(w, &err), LH_OK);
    }
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
    free(flags);
    free(phase);
    for (int k = 0; k < 2; k++) {
        free(heap[k]);
        free(off[k]);
    }
}

static void test_codec_choice(void **state)
{
    (void)state;
    struct lh_buf file, nothread;
    cc_write(&file, true);
    struct lh_parquet_reader *r;
    struct lh_error err;
    assert_int_equal(lh_parquet_reader_open_mem(file.data, file.len, &r, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
    assert_int_equal(fi->num_row_groups, CC_RG);
    for (int g = 0; g < CC_RG; g++) {
        const struct lh_parquet_chunk_info *ch = fi->row_groups[g].chunks;
        /* random bits: zstd saves nothing, the chunks are stored as they are */
        assert_int_equal(ch[CC_FLAG].codec, LH_PQ_UNCOMPRESSED);
        assert_int_equal(ch[CC_TEXT].codec, LH_PQ_ZSTD);
        /* random 2-bit indices, a dictionary of 4 entries: both uncompressed */
        assert_int_equal(ch[CC_CAT].codec, LH_PQ_UNCOMPRESSED);
        assert_true(ch[CC_CAT].encodings & (1u << PQ_ENC_RLE_DICTIONARY));
        assert_true(ch[CC_CAT].dictionary_page_offset >= 0);
        /* judged again on the 9th chunk: the text that follows compresses */
        assert_int_equal(ch[CC_PHASE].codec, g < 8 ? LH_PQ_UNCOMPRESSED : LH_PQ_ZSTD);
        /* every value back */
        struct lh_arena a;
        lh_arena_init(&a, 64u << 20);
        for (int c = 0; c < CC_N; c++) {
            struct lh_array out;
            assert_int_equal(lh_parquet_reader_read_column(r, g, (size_t)c, &a, &out, &err), LH_OK);
            assert_int_equal(out.length, CC_ROWS);
            for (int64_t i = 0; i < CC_ROWS; i++) {
                char want[64];
                size_t n = cc_value(c, (int64_t)g * CC_ROWS + i, want);
                if (c == CC_FLAG) {
                    assert_int_equal(((const uint8_t *)out.values)[i] != 0, want[0] != 0);
                    continue;
                }
                if (c == CC_PHASE) {
                    assert_memory_equal((const uint8_t *)out.values + 8 * i, want, 8);
                    continue;
                }
                assert_int_equal(out.offsets[i + 1] - out.offsets[i], n);
                assert_memory_equal(out.data + out.offsets[i], want, n);
            }
        }
        lh_arena_reset(&a);
    }
    lh_parquet_reader_close(r);
    cc_write(&nothread, false);
    assert_int_equal(nothread.len, file.len);
    assert_memory_equal(nothread.data, file.data, file.len);
    lh_buf_reset(&file);
    lh_buf_reset(&nothread);
}

int main(int argc, char **argv)
{
    DIR_ARG = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_encoder_roundtrip),
        cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_codec_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
