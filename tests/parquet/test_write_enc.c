/*
 * test_write_enc.c — the writer's building blocks against hand-computed
 * bytes: the RLE/bit-packed hybrid (Encodings.md), the Thrift compact
 * encoder, statistics ordering per logical type, decimal widths and the
 * dictionary hash table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "write_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ RLE hybrid */

struct rle_case {
    const char *name;
    int width;
    uint32_t vals[24];
    size_t nvals;
    uint8_t want[16];
    size_t nwant;
};

static const struct rle_case rle_cases[] = {
    {"empty", 1, {0}, 0, {0}, 0},
    {"rle run of ten ones", 1, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, {0x14, 0x01}, 2},
    /* Encodings.md: 0..7 at width 3 bit-packed is 10001000 11000110 11111010 */
    {"spec bit-packed 0..7", 3, {0, 1, 2, 3, 4, 5, 6, 7}, 8, {0x03, 0x88, 0xC6, 0xFA}, 4},
    {"short literal padded", 2, {1, 2, 3}, 3, {0x03, 0x39, 0x00}, 3},
    {"short run stays rle", 1, {1, 1, 1}, 3, {0x06, 0x01}, 2},
    {"run then run", 1, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, 11, {0x10, 0x00, 0x06, 0x01}, 4},
    {"run then literal",
     2,
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3},
     12,
     {0x14, 0x01, 0x03, 0x0E, 0x00},
     5},
    {"width 0", 0, {0, 0, 0, 0, 0}, 5, {0x0A}, 1},
    {"two-byte value",
     10,
     {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000},
     9,
     {0x12, 0xE8, 0x03},
     3},
    {"literal group then run",
     1,
     {0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1},
     16,
     {0x03, 0xAA, 0x10, 0x01},
     4},
};

static void test_rle_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rle_cases / sizeof rle_cases[0]; i++) {
        const struct rle_case *c = &rle_cases[i];
        struct lh_buf out;
        lh_buf_init(&out, 0);
        struct pq_rle e;
        pq_rle_init(&e, &out, c->width);
        for (size_t k = 0; k < c->nvals; k++)
            pq_rle_put(&e, c->vals[k]);
        pq_rle_finish(&e);
        print_message("case %s\n", c->name);
        assert_true(lh_buf_ok(&out));
        assert_int_equal(out.len, c->nwant);
        if (c->nwant)
            assert_memory_equal(out.data, c->want, c->nwant);
        lh_buf_reset(&out);
    }
}

static void test_rle_long_literal(void **state)
{
    (void)state;
    /* 64 groups of alternating bits: a literal run holds at most 63 groups
     * (one-byte header 0x7F), the 64th starts a new run. */
    struct lh_buf out;
    lh_buf_init(&out, 0);
    struct pq_rle e;
    pq_rle_init(&e, &out, 1);
    for (int i = 0; i < 512; i++)
        pq_rle_put(&e, (uint32_t)(i & 1));
    pq_rle_finish(&e);
    assert_int_equal(out.len, 66);
    assert_int_equal(out.data[0], 0x7F);
    for (int i = 1; i <= 63; i++)
        assert_int_equal(out.data[i], 0xAA);
    assert_int_equal(out.data[64], 0x03);
    assert_int_equal(out.data[65], 0xAA);
    lh_buf_reset(&out);
}

/* An independent decoder for the round-trip property. */
static size_t rle_decode(const uint8_t *p, size_t n, int w, uint32_t *out, size_t max)
{
    size_t pos = 0, cnt = 0;
    while (pos < n) {
        uint64_t h = 0;
        int shift = 0;
        while (p[pos] & 0x80)
            h |= (uint64_t)(p[pos++] & 0x7F) << shift, shift += 7;
        h |= (uint64_t)p[pos++] << shift;
        if (h & 1) {
            size_t nv = (size_t)(h >> 1) * 8;
            uint64_t acc = 0;
            int bits = 0;
            for (size_t k = 0; k < nv; k++) {
                while (bits < w) {
                    acc |= (uint64_t)p[pos++] << bits;
                    bits += 8;
                }
                if (cnt < max)
                    out[cnt] = (uint32_t)(acc & ((w == 32) ? 0xFFFFFFFFu : ((1u << w) - 1)));
                cnt++;
                acc >>= w;
                bits -= w;
            }
        } else {
            uint32_t v = 0;
            for (int k = 0; k < (w + 7) / 8; k++)
                v |= (uint32_t)p[pos++] << (8 * k);
            for (uint64_t k = 0; k < (h >> 1); k++, cnt++)
                if (cnt < max)
                    out[cnt] = v;
        }
    }
    return cnt;
}

static void test_rle_roundtrip(void **state)
{
    (void)state;
    static const int widths[] = {1, 2, 3, 5, 8, 13, 17, 24, 32};
    uint32_t seed = 12345;
    enum { N = 5000 };
    uint32_t *vals = malloc(N * sizeof *vals), *back = malloc((N + 8) * sizeof *back);
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        int w = widths[wi];
        uint32_t mask = w == 32 ? 0xFFFFFFFFu : (1u << w) - 1;
        for (int i = 0; i < N;) {
            seed = seed * 1103515245u + 12345u;
            uint32_t v = (seed >> 3) & mask;
            int run = (seed >> 28) < 4 ? (int)(seed >> 20) % 40 + 1 : 1; /* mixed runs */
            for (int k = 0; k < run && i < N; k++)
                vals[i++] = v;
        }
        struct lh_buf out;
        lh_buf_init(&out, 0);
        struct pq_rle e;
        pq_rle_init(&e, &out, w);
        /* half through put, half through put_run, to cover both paths */
        for (int i = 0; i < N;) {
            int j = i;
            while (j < N && vals[j] == vals[i])
                j++;
            if (i % 2)
                pq_rle_put_run(&e, vals[i], (uint64_t)(j - i));
            else
                for (int k = i; k < j; k++)
                    pq_rle_put(&e, vals[k]);
            i = j;
        }
        pq_rle_finish(&e);
        size_t got = rle_decode(out.data, out.len, w, back, N + 8);
        assert_true(got >= N && got < N + 8); /* padding of the last group only */
        assert_memory_equal(back, vals, N * sizeof *vals);
        lh_buf_reset(&out);
    }
    free(vals);
    free(back);
}

/* Bitmap patterns of the level tests: what a validity bitmap looks like
 * in real tables (no NULL, all NULL, one in 20, alternating, long runs of
 * each, noise). */
enum bits_pattern { BP_VALID, BP_NULL, BP_ALT, BP_ONE_IN_20, BP_RANDOM, BP_RUNS, BP_COUNT };

static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static void make_bits(uint8_t *bits, int64_t n, enum bits_pattern p, uint32_t *seed)
{
    memset(bits, 0, (size_t)(n + 7) / 8 + 1);
    bool run_v = true;
    int64_t run_left = 0;
    for (int64_t i = 0; i < n; i++) {
        bool v = true;
        switch (p) {
        case BP_VALID:
            break;
        case BP_NULL:
            v = false;
            break;
        case BP_ALT:
            v = i & 1;
            break;
        case BP_ONE_IN_20:
            v = i % 20 != 7;
            break;
        case BP_RANDOM:
            v = lcg(seed) & 1;
            break;
        case BP_RUNS:
            if (run_left == 0) {
                run_v = !run_v;
                run_left = 1 + lcg(seed) % 70;
            }
            run_left--;
            v = run_v;
            break;
        case BP_COUNT:
            break;
        }
        if (v)
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
}

/* pq_rle_put_bits against the value-at-a-time encoder: the same bytes for
 * every pattern, length (multiples of 8 and not), start offset inside the
 * bitmap and way of cutting the bits into calls (a page cut anywhere, a
 * group left half full by the previous call), mixed with pq_rle_put and
 * pq_rle_put_run calls that leave the encoder in any state; and the bytes
 * decode (independent decoder above) to the bitmap's bits. */
static void test_rle_put_bits(void **state)
{
    (void)state;
    enum { MAXN = 3000 };
    uint8_t bits[MAXN / 8 + 2];
    uint32_t *back = malloc((MAXN + 64) * sizeof *back);
    uint32_t seed = 777;
    static const int64_t lens[] = {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 511, 513, 1000, 2999};
    int cases = 0;
    for (int p = 0; p < BP_COUNT; p++) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            for (int trial = 0; trial < 12; trial++, cases++) {
                int64_t n = lens[li];
                make_bits(bits, MAXN, (enum bits_pattern)p, &seed);
                int64_t off = trial < 4 ? trial : (int64_t)(lcg(&seed) % 16); /* start bit */
                if (off + n > MAXN)
                    off = MAXN - n;
                struct lh_buf want, got;
                lh_buf_init(&want, 0);
                lh_buf_init(&got, 0);
                struct pq_rle ew, eg;
                pq_rle_init(&ew, &want, 1);
                pq_rle_init(&eg, &got, 1);
                /* a prefix of a few values in any state: a run, a partial
                 * group, an open literal */
                int pre = trial % 3 == 0 ? 0 : (int)(lcg(&seed) % 30);
                for (int k = 0; k < pre; k++) {
                    uint32_t v = lcg(&seed) & 1;
                    pq_rle_put(&ew, v);
                    pq_rle_put(&eg, v);
                }
                for (int64_t i = off; i < off + n; i++)
                    pq_rle_put(&ew, lh_bit_get(bits, i));
                /* the same bits in calls of random sizes (trial 0: one call) */
                for (int64_t i = off; i < off + n;) {
                    int64_t k = trial == 0 ? n : 1 + (int64_t)(lcg(&seed) % 100);
                    if (k > off + n - i)
                        k = off + n - i;
                    if (trial % 4 == 3 && k < 10) {
                        /* some pieces through put_run, as a bitmap-less
                         * batch would go */
                        for (int64_t j = i; j < i + k; j++)
                            pq_rle_put_run(&eg, lh_bit_get(bits, j), 1);
                    } else {
                        pq_rle_put_bits(&eg, bits, i, k);
                    }
                    i += k;
                }
                pq_rle_finish(&ew);
                pq_rle_finish(&eg);
                assert_true(lh_buf_ok(&want) && lh_buf_ok(&got));
                if (got.len != want.len || (want.len && memcmp(got.data, want.data, want.len)))
                    fail_msg("pattern %d n %lld off %lld trial %d: bytes differ", p, (long long)n,
                             (long long)off, trial);
                size_t cnt = rle_decode(got.data, got.len, 1, back, MAXN + 64);
                assert_true(cnt >= (size_t)(pre + n) && cnt < (size_t)(pre + n + 8));
                for (int64_t i = 0; i < n; i++)
                    if (back[pre + i] != (uint32_t)lh_bit_get(bits, off + i))
                        fail_msg("pattern %d n %lld: level %lld decodes wrong", p, (long long)n,
                                 (long long)i);
                lh_buf_reset(&want);
                lh_buf_reset(&got);
            }
        }
    }
    print_message("%d bitmaps encoded\n", cases);
    free(back);
}

/* pq_rle_put_many (the dictionary indices of a page) against the
 * value-at-a-time encoder: the same bytes for every width 0..32, for runs
 * of every length around the 8-value group and long literal stretches
 * (past the 63-group header), fed in pieces of random sizes. */
static void test_rle_put_many(void **state)
{
    (void)state;
    enum { N = 4000 };
    uint32_t *vals = malloc(N * sizeof *vals);
    uint32_t seed = 99;
    for (int w = 0; w <= 32; w++) {
        uint32_t mask = w == 32 ? 0xFFFFFFFFu : (1u << w) - 1;
        for (int i = 0; i < N;) {
            uint32_t v = lcg(&seed) * 2654435761u & mask;
            int run = lcg(&seed) % 3 == 0 ? (int)(lcg(&seed) % 20) + 1 : 1;
            if (i > N / 2 && i < N / 2 + 700)
                run = 1; /* a long literal stretch */
            for (int k = 0; k < run && i < N; k++)
                vals[i++] = v;
        }
        struct lh_buf want, got;
        lh_buf_init(&want, 0);
        lh_buf_init(&got, 0);
        struct pq_rle ew, eg;
        pq_rle_init(&ew, &want, w);
        pq_rle_init(&eg, &got, w);
        for (int i = 0; i < N; i++)
            pq_rle_put(&ew, vals[i]);
        for (int i = 0; i < N;) {
            int k = 1 + (int)(lcg(&seed) % 300);
            if (k > N - i)
                k = N - i;
            pq_rle_put_many(&eg, vals + i, (size_t)k);
            i += k;
        }
        pq_rle_finish(&ew);
        pq_rle_finish(&eg);
        assert_true(lh_buf_ok(&want) && lh_buf_ok(&got));
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        lh_buf_reset(&want);
        lh_buf_reset(&got);
    }
    free(vals);
}

static void test_bit_width(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        int w;
    } t[] = {{0, 0}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {255, 8}, {256, 9}, {0xFFFFFFFF, 32}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(pq_rle_bit_width(t[i].v), t[i].w);
}

/* ------------------------------------------------------------ thrift */

static void test_thrift_bytes(void **state)
{
    (void)state;
    struct lh_buf b;
    lh_buf_init(&b, 0);
    struct pq_tw t;

    /* scalars with short field headers */
    pq_tw_init(&t, &b);
    pq_tw_root_begin(&t);
    pq_tw_i32(&t, 1, 5);
    pq_tw_bool(&t, 2, true);
    pq_tw_bool(&t, 3, false);
    pq_tw_i64(&t, 4, 300);
    pq_tw_bin(&t, 5, "ab", 2);
    pq_tw_i8(&t, 6, -2);
    pq_tw_struct_end(&t);
    static const uint8_t w1[] = {0x15, 0x0A, 0x11, 0x12, 0x16, 0xD8, 0x04,
                                 0x18, 0x02, 'a',  'b',  0x13, 0xFE, 0x00};
    assert_true(lh_buf_ok(&b));
    assert_int_equal(b.len, sizeof w1);
    assert_memory_equal(b.data, w1, sizeof w1);

    /* long field header (delta > 15, and a backwards id), nested struct */
    lh_buf_clear(&b);
    pq_tw_init(&t, &b);
    pq_tw_root_begin(&t);
    pq_tw_i32(&t, 20, -1);
    pq_tw_i16(&t, 2, 7);
    pq_tw_struct_begin(&t, 3);
    pq_tw_i32(&t, 1, 1);
    pq_tw_struct_end(&t);
    pq_tw_i32(&t, 4, 2);
    pq_tw_empty(&t, 5);
    pq_tw_struct_end(&t);
    static const uint8_t w2[] = {0x05, 0x28, 0x01, 0x04, 0x04, 0x0E, 0x1C, 0x15,
                                 0x02, 0x00, 0x15, 0x04, 0x1C, 0x00, 0x00};
    assert_int_equal(b.len, sizeof w2);
    assert_memory_equal(b.data, w2, sizeof w2);

    /* lists: short header, long header (>= 15 elements), struct elements */
    lh_buf_clear(&b);
    pq_tw_init(&t, &b);
    pq_tw_root_begin(&t);
    pq_tw_list_begin(&t, 1, PQ_TC_I32, 3);
    for (int i = 1; i <= 3; i++)
        pq_tw_elem_i32(&t, i);
    pq_tw_list_begin(&t, 2, PQ_TC_BINARY, 15);
    for (int i = 0; i < 15; i++)
        pq_tw_elem_bin(&t, "x", 1);
    pq_tw_list_begin(&t, 3, PQ_TC_STRUCT, 1);
    pq_tw_elem_struct_begin(&t);
    pq_tw_i32(&t, 1, 0);
    pq_tw_struct_end(&t);
    pq_tw_struct_end(&t);
    uint8_t w3[64];
    size_t n = 0;
    w3[n++] = 0x19, w3[n++] = 0x35, w3[n++] = 0x02, w3[n++] = 0x04, w3[n++] = 0x06;
    w3[n++] = 0x19, w3[n++] = 0xF8, w3[n++] = 0x0F;
    for (int i = 0; i < 15; i++)
        w3[n++] = 0x01, w3[n++] = 'x';
    w3[n++] = 0x19, w3[n++] = 0x1C, w3[n++] = 0x15, w3[n++] = 0x00, w3[n++] = 0x00;
    w3[n++] = 0x00;
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, w3, n);
    lh_buf_reset(&b);
}

static void test_thrift_sticky(void **state)
{
    (void)state;
    /* a capped buffer: the failure sticks and nothing crashes */
    struct lh_buf b;
    lh_buf_init(&b, 8);
    struct pq_tw t;
    pq_tw_init(&t, &b);
    pq_tw_root_begin(&t);
    pq_tw_str(&t, 1, "this is longer than eight bytes");
    assert_false(lh_buf_ok(&b));
    pq_tw_i32(&t, 2, 1);
    pq_tw_struct_end(&t);
    assert_false(lh_buf_ok(&b));
    lh_buf_reset(&b);

    /* nesting deeper than the stack breaks the buffer too */
    lh_buf_init(&b, 0);
    pq_tw_init(&t, &b);
    pq_tw_root_begin(&t);
    for (int i = 0; i < PQ_TW_DEPTH + 2; i++)
        pq_tw_struct_begin(&t, 1);
    assert_false(lh_buf_ok(&b));
    lh_buf_reset(&b);

    /* an unbalanced end as well */
    lh_buf_init(&b, 0);
    pq_tw_init(&t, &b);
    pq_tw_struct_end(&t);
    assert_false(lh_buf_ok(&b));
    lh_buf_reset(&b);
}

/* ------------------------------------------------------------ statistics */

enum vk { V_INT, V_UINT, V_DBL, V_STR, V_I128 };
struct stat_case {
    const char *name;
    enum pq_stat_kind kind;
    enum vk vk;
    int n;
    int64_t i[6];
    uint64_t u[6];
    double d[6];
    const char *s[6];
    int flba;
    bool has;
    uint8_t min[16], max[16];
    int len; /* bytes of min/max (strings: use smin/smax) */
    const char *smin, *smax;
};

#define LE4(v)                                                                                     \
    {                                                                                              \
        (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)              \
    }

static const struct stat_case stat_cases[] = {
    {"signed int32", PQ_SK_I32, V_INT, 3, .i = {-5, 3, -7}, .has = true, .min = LE4(-7),
     .max = LE4(3), .len = 4},
    {"unsigned int32 compares unsigned", PQ_SK_U32, V_UINT, 3, .u = {1, 0xFFFFFFFFu, 7},
     .has = true, .min = LE4(1), .max = LE4(0xFFFFFFFFu), .len = 4},
    {"unsigned int64 high bit", PQ_SK_U64, V_UINT, 2, .u = {5, 1ULL << 63}, .has = true,
     .min = {5, 0, 0, 0, 0, 0, 0, 0}, .max = {0, 0, 0, 0, 0, 0, 0, 0x80}, .len = 8},
    {"signed int64", PQ_SK_I64, V_INT, 2, .i = {-1, 0}, .has = true,
     .min = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, .max = {0}, .len = 8},
    {"bool", PQ_SK_BOOL, V_INT, 2, .i = {1, 1}, .has = true, .min = {1}, .max = {1}, .len = 1},
    {"double ignores NaN", PQ_SK_F64, V_DBL, 3, .d = {NAN, 2.5, -1.0}, .has = true, .len = 8},
    {"double all NaN has no min/max", PQ_SK_F64, V_DBL, 2, .d = {NAN, NAN}, .has = false},
    {"double zero min is -0.0", PQ_SK_F64, V_DBL, 2, .d = {0.0, 1.0}, .has = true, .len = 8},
    {"double zero max is +0.0", PQ_SK_F64, V_DBL, 2, .d = {-0.0, -1.0}, .has = true, .len = 8},
    {"float mixed zeros", PQ_SK_F32, V_DBL, 2, .d = {-0.0, 0.0}, .has = true, .len = 4},
    {"strings bytewise", PQ_SK_BYTES, V_STR, 4, .s = {"b", "a", "ab", ""}, .has = true, .smin = "",
     .smax = "b"},
    {"strings unsigned bytes", PQ_SK_BYTES, V_STR, 3, .s = {"a", "\xff", "\x7f"}, .has = true,
     .smin = "a", .smax = "\xff"},
    {"decimal flba signed", PQ_SK_I128, V_I128, 3, .i = {-1, 1, -300}, .flba = 2, .has = true,
     .min = {0xFE, 0xD4}, .max = {0x00, 0x01}, .len = 2},
    {"no values", PQ_SK_I32, V_INT, 0, .has = false},
};

static const double dbl_want[][2] = {
    [5] = {-1.0, 2.5}, [7] = {-0.0, 1.0}, [8] = {-1.0, 0.0}, [9] = {-0.0, 0.0}};

static void test_stats_cases(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof stat_cases / sizeof stat_cases[0]; ci++) {
        const struct stat_case *c = &stat_cases[ci];
        print_message("case %s\n", c->name);
        struct pq_stats s;
        pq_stats_init(&s, c->kind);
        for (int k = 0; k < c->n; k++) {
            switch (c->vk) {
            case V_INT:
                pq_stats_int(&s, c->i[k]);
                break;
            case V_UINT:
                pq_stats_uint(&s, c->u[k]);
                break;
            case V_DBL:
                pq_stats_f64(&s, c->d[k]);
                break;
            case V_STR:
                pq_stats_bytes(&s, (const uint8_t *)c->s[k], strlen(c->s[k]));
                break;
            case V_I128:
                pq_stats_i128(&s, c->i[k]);
                break;
            }
        }
        struct lh_buf mn, mx;
        lh_buf_init(&mn, 0);
        lh_buf_init(&mx, 0);
        bool has = pq_stats_encode(&s, c->flba, &mn, &mx);
        assert_int_equal(has, c->has);
        if (has && c->vk == V_STR) {
            assert_int_equal(mn.len, strlen(c->smin));
            assert_int_equal(mx.len, strlen(c->smax));
            assert_memory_equal(mn.data, c->smin, mn.len);
            assert_memory_equal(mx.data, c->smax, mx.len);
        } else if (has && c->vk == V_DBL) {
            assert_int_equal(mn.len, c->len);
            assert_int_equal(mx.len, c->len);
            double lo, hi;
            if (c->len == 4) {
                float f;
                memcpy(&f, mn.data, 4), lo = f;
                memcpy(&f, mx.data, 4), hi = f;
            } else {
                memcpy(&lo, mn.data, 8);
                memcpy(&hi, mx.data, 8);
            }
            assert_true(lo == dbl_want[ci][0] && hi == dbl_want[ci][1]);
            /* the sign of zero matters: compare bit patterns through signbit */
            assert_int_equal(!!signbit(lo), !!signbit(dbl_want[ci][0]));
            assert_int_equal(!!signbit(hi), !!signbit(dbl_want[ci][1]));
        } else if (has) {
            assert_int_equal(mn.len, c->len);
            assert_int_equal(mx.len, c->len);
            assert_memory_equal(mn.data, c->min, (size_t)c->len);
            assert_memory_equal(mx.data, c->max, (size_t)c->len);
        }
        lh_buf_reset(&mn);
        lh_buf_reset(&mx);
        pq_stats_free(&s);
    }
}

static void test_decimal_widths(void **state)
{
    (void)state;
    /* minimal bytes for DECIMAL(p): 10^p - 1 must fit in two's complement */
    static const int want[39] = {0,  1,  1,  2,  2,  3,  3,  4,  4,  4,  5,  5,  6,
                                 6,  6,  7,  7,  8,  8,  9,  9,  9,  10, 10, 11, 11,
                                 11, 12, 12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16};
    for (int p = 1; p <= 38; p++)
        assert_int_equal(pq_stats_decimal_len(p), want[p]);
    uint8_t be[16];
    pq_stats_i128_be(-2, 3, be);
    assert_int_equal(be[0], 0xFF), assert_int_equal(be[1], 0xFF), assert_int_equal(be[2], 0xFE);
    pq_stats_i128_be((lh_i128)0x0102, 2, be);
    assert_int_equal(be[0], 0x01), assert_int_equal(be[1], 0x02);
}

/* Byte-string min/max (which first compares the 8 bytes after the min's
 * and max's common start) against a plain memcmp scan: strings that are
 * prefixes of each other, share a start of up to 80 bytes (past the
 * inline compare's 64), differ only past byte 8 of it, hold zero bytes (a
 * zero byte and the end of a string must not look alike) or bytes >= 0x80,
 * in many random orders. */
static void test_stats_bytes_random(void **state)
{
    (void)state;
    uint32_t seed = 4242;
    enum { NV = 400, ML = 100 };
    static uint8_t v[NV][ML];
    size_t len[NV];
    static const uint8_t alpha[] = {0x00, 0x01, 'a', 'b', 0x7F, 0x80, 0xFF};
    for (int round = 0; round < 400; round++) {
        /* rounds of short strings, of ~20-byte shared starts, of ~75 */
        size_t maxlen = round % 3 == 0 ? 20 : round % 3 == 1 ? 40 : ML;
        size_t base = round % 3 == 0 ? 0 : round % 3 == 1 ? 16 : 70;
        struct pq_stats st;
        pq_stats_init(&st, PQ_SK_BYTES);
        size_t lo = 0, hi = 0;
        for (int i = 0; i < NV; i++) {
            len[i] = lcg(&seed) % maxlen;
            size_t shared = base + lcg(&seed) % 12; /* a common start, then noise */
            for (size_t k = 0; k < len[i]; k++)
                v[i][k] = k < shared ? (uint8_t)'a' : alpha[lcg(&seed) % sizeof alpha];
            pq_stats_bytes(&st, v[i], len[i]);
            size_t m = len[i] < len[lo] ? len[i] : len[lo];
            int c = m ? memcmp(v[i], v[lo], m) : 0;
            if (c < 0 || (c == 0 && len[i] < len[lo]))
                lo = (size_t)i;
            m = len[i] < len[hi] ? len[i] : len[hi];
            c = m ? memcmp(v[i], v[hi], m) : 0;
            if (c > 0 || (c == 0 && len[i] > len[hi]))
                hi = (size_t)i;
        }
        assert_int_equal(st.bmin.len, len[lo]);
        assert_int_equal(st.bmax.len, len[hi]);
        if (len[lo])
            assert_memory_equal(st.bmin.data, v[lo], len[lo]);
        if (len[hi])
            assert_memory_equal(st.bmax.data, v[hi], len[hi]);
        pq_stats_free(&st);
    }
}

/* ------------------------------------------------------------ dictionary */

static void test_dict(void **state)
{
    (void)state;
    struct pq_dict d;
    pq_dict_init(&d, 0);
    uint32_t idx;
    bool added;
    static const char *words[] = {"a", "bb", "a", "", "bb", "ccc", ""};
    static const uint32_t want_idx[] = {0, 1, 0, 2, 1, 3, 2};
    static const bool want_added[] = {1, 1, 0, 1, 0, 1, 0};
    for (size_t i = 0; i < 7; i++) {
        assert_true(pq_dict_put(&d, words[i], (uint32_t)strlen(words[i]), &idx, &added));
        assert_int_equal(idx, want_idx[i]);
        assert_int_equal(added, want_added[i]);
    }
    /* the dictionary page body is PLAIN: 4-byte length + bytes */
    static const uint8_t plain[] = {1, 0, 0, 0, 'a', 2, 0, 0, 0,   'b', 'b',
                                    0, 0, 0, 0, 3,   0, 0, 0, 'c', 'c', 'c'};
    assert_int_equal(d.plain.len, sizeof plain);
    assert_memory_equal(d.plain.data, plain, sizeof plain);
    pq_dict_reset(&d);
    assert_true(pq_dict_put(&d, "bb", 2, &idx, &added));
    assert_int_equal(idx, 0);
    assert_true(added);
    pq_dict_free(&d);

    /* fixed width, enough keys to grow the table several times */
    pq_dict_init(&d, 8);
    for (uint64_t round = 0; round < 2; round++) {
        for (uint64_t k = 0; k < 100000; k++) {
            uint64_t v = k * 0x9E3779B97F4A7C15ULL;
            assert_true(pq_dict_put(&d, &v, 8, &idx, &added));
            assert_int_equal(idx, k);
            assert_int_equal(added, round == 0);
        }
    }
    assert_int_equal(d.n, 100000);
    assert_int_equal(d.plain.len, 800000);
    uint32_t len;
    uint64_t v;
    memcpy(&v, pq_dict_entry(&d, 777, &len), 8);
    assert_int_equal(len, 8);
    assert_true(v == 777 * 0x9E3779B97F4A7C15ULL);
    pq_dict_free(&d);
}

/* The batch puts against the one-value put: keys of every length from 0
 * to 70 bytes (the inline compare covers up to 64, memcmp beyond), each
 * also in variants that differ from it in one byte at every position, so a
 * compare that skips a byte or reads past a key gives two keys one index.
 * Same indices, same first-seen PLAIN body; fixed widths 4, 8 and 16 too. */
static void test_dict_batch(void **state)
{
    (void)state;
    enum { MAXK = 70, NK = (MAXK + 1) * (MAXK + 1) };
    int32_t *off = malloc((2 * NK + 1) * sizeof *off);
    uint8_t *heap = malloc((size_t)2 * NK * MAXK + 1);
    enum { NV = 20000 }; /* fixed-width values, below */
    uint32_t *ib = malloc(NV * sizeof *ib), *io = malloc(NV * sizeof *io);
    int64_t nk = 0;
    int32_t pos = 0;
    for (int round = 0; round < 2; round++) /* every key twice: new, then found */
        for (int len = 0; len <= MAXK; len++)
            for (int flip = -1; flip < len; flip++) {
                off[nk++] = pos;
                for (int k = 0; k < len; k++)
                    heap[pos + k] = (uint8_t)('a' + (k * 7 + len) % 26);
                if (flip >= 0)
                    heap[pos + flip] ^= 0x20;
                pos += len;
            }
    off[nk] = pos;
    struct pq_dict one, batch;
    pq_dict_init(&one, 0);
    pq_dict_init(&batch, 0);
    bool added;
    for (int64_t k = 0; k < nk; k++)
        assert_true(
            pq_dict_put(&one, heap + off[k], (uint32_t)(off[k + 1] - off[k]), &io[k], &added));
    /* in uneven runs, as put_values hands them over */
    for (int64_t k = 0; k < nk;) {
        int64_t n = 1 + k % 97;
        if (n > nk - k)
            n = nk - k;
        assert_true(pq_dict_put_bytes(&batch, off + k, heap, n, ib + k));
        k += n;
    }
    assert_int_equal(one.n, nk / 2);
    assert_int_equal(batch.n, nk / 2);
    assert_memory_equal(ib, io, (size_t)nk * sizeof *ib);
    for (int64_t k = 0; k < nk / 2; k++) {
        assert_int_equal(ib[k], k);          /* every key distinct, first seen */
        assert_int_equal(ib[k + nk / 2], k); /* and found again */
    }
    assert_int_equal(batch.plain.len, one.plain.len);
    assert_memory_equal(batch.plain.data, one.plain.data, one.plain.len);
    pq_dict_free(&one);
    pq_dict_free(&batch);

    static const int widths[] = {4, 8, 16};
    for (size_t wi = 0; wi < 3; wi++) {
        int w = widths[wi];
        uint8_t *v = malloc((size_t)NV * (size_t)w);
        for (int k = 0; k < NV; k++)
            for (int b = 0; b < w; b++)
                v[(size_t)k * (size_t)w + (size_t)b] = (uint8_t)(b == w - 1 ? (k % 5000) >> 8
                                                                 : b == 0   ? (k % 5000) & 0xFF
                                                                            : 0x5A);
        pq_dict_init(&one, w);
        pq_dict_init(&batch, w);
        for (int k = 0; k < NV; k++)
            assert_true(pq_dict_put(&one, v + (size_t)k * (size_t)w, (uint32_t)w, &io[k], &added));
        assert_true(pq_dict_put_fixed(&batch, v, 777, ib));
        assert_true(pq_dict_put_fixed(&batch, v + 777 * (size_t)w, NV - 777, ib + 777));
        assert_int_equal(batch.n, 5000);
        assert_memory_equal(ib, io, NV * sizeof *ib);
        assert_int_equal(batch.plain.len, one.plain.len);
        assert_memory_equal(batch.plain.data, one.plain.data, one.plain.len);
        pq_dict_free(&one);
        pq_dict_free(&batch);
        free(v);
    }
    free(off);
    free(heap);
    free(ib);
    free(io);
}

/* Keys that differ only inside a 3-byte window, at the start, middle or
 * end of keys of many lengths: 200,000 of them give a few keys whose
 * 32-bit hash tags collide, and only the byte compare keeps those apart —
 * a compare that skips or misreads any byte would merge two of them. */
static void test_dict_collisions(void **state)
{
    (void)state;
    enum { NKEYS = 200000 };
    static const int lens[] = {3, 5, 8, 12, 16, 17, 24, 28, 32, 33, 64, 65};
    int32_t *off = malloc((NKEYS + 1) * sizeof *off);
    uint8_t *heap = malloc((size_t)NKEYS * 65);
    uint32_t *idx = malloc(NKEYS * sizeof *idx);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int len = lens[li];
        for (int where = 0; where < 3; where++) {
            int at = where == 0 ? 0 : where == 1 ? (len - 3) / 2 : len - 3;
            for (int k = 0; k < NKEYS; k++) {
                uint8_t *p = heap + (size_t)k * (size_t)len;
                memset(p, 'x', (size_t)len);
                p[at] = (uint8_t)k, p[at + 1] = (uint8_t)(k >> 8), p[at + 2] = (uint8_t)(k >> 16);
                off[k] = k * len;
            }
            off[NKEYS] = NKEYS * len;
            struct pq_dict d;
            for (int fixed = 0; fixed < 2; fixed++) {
                pq_dict_init(&d, fixed ? len : 0);
                bool ok = fixed ? pq_dict_put_fixed(&d, heap, NKEYS, idx)
                                : pq_dict_put_bytes(&d, off, heap, NKEYS, idx);
                assert_true(ok);
                if (d.n != NKEYS)
                    fail_msg("length %d, window at %d, %s: %u entries for %d distinct keys", len,
                             at, fixed ? "fixed" : "bytes", d.n, NKEYS);
                for (int k = 0; k < NKEYS; k++)
                    assert_int_equal(idx[k], k);
                pq_dict_free(&d);
            }
        }
    }
    free(off);
    free(heap);
    free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rle_cases),     cmocka_unit_test(test_rle_long_literal),
        cmocka_unit_test(test_rle_roundtrip), cmocka_unit_test(test_rle_put_bits),
        cmocka_unit_test(test_rle_put_many),  cmocka_unit_test(test_bit_width),
        cmocka_unit_test(test_thrift_bytes),  cmocka_unit_test(test_thrift_sticky),
        cmocka_unit_test(test_stats_cases),   cmocka_unit_test(test_decimal_widths),
        cmocka_unit_test(test_dict),          cmocka_unit_test(test_stats_bytes_random),
        cmocka_unit_test(test_dict_batch),    cmocka_unit_test(test_dict_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
