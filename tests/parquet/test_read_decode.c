/*
 * test_read_decode.c — the reader's decoders against hand-built bytes:
 * Thrift compact protocol (including skipping unknown fields and the
 * limits), RLE/bit-packing hybrid, legacy BIT_PACKED, DELTA_BINARY_PACKED
 * (the examples of Encodings.md) and BYTE_STREAM_SPLIT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "read_int.h"

#define MAXB 64

/* ------------------------------------------------------------ RLE hybrid */

struct rle_case {
    const char *name;
    uint8_t bytes[MAXB];
    size_t len;
    int bw;
    size_t n;
    enum lh_status st;
    uint32_t want[16];
};

static const struct rle_case rle_cases[] = {
    {"rle run", {0x08, 0x05}, 2, 3, 4, LH_OK, {5, 5, 5, 5}},
    /* Encodings.md: 0..7 bit-packed with width 3. */
    {"bit-packed spec example", {0x03, 0x88, 0xC6, 0xFA}, 4, 3, 8, LH_OK, {0, 1, 2, 3, 4, 5, 6, 7}},
    {"rle then bit-packed", {0x04, 0x01, 0x03, 0x88, 0xC6, 0xFA}, 6, 3, 5, LH_OK, {1, 1, 0, 1, 2}},
    {"two-byte run value", {0x06, 0x34, 0x12}, 3, 13, 3, LH_OK, {0x1234, 0x1234, 0x1234}},
    {"width 0", {0x10}, 1, 0, 8, LH_OK, {0}},
    {"partial last group", {0x03, 0xFF}, 2, 1, 5, LH_OK, {1, 1, 1, 1, 1}},
    {"truncated bit-packed", {0x03, 0x88}, 2, 3, 8, LH_E_FORMAT, {0}},
    {"truncated header", {0x80}, 1, 3, 1, LH_E_FORMAT, {0}},
    {"missing run value", {0x08}, 1, 3, 4, LH_E_FORMAT, {0}},
    {"run value too wide", {0x08, 0x09}, 2, 3, 4, LH_E_FORMAT, {0}},
    {"too few values", {0x04, 0x01}, 2, 1, 3, LH_E_FORMAT, {0}},
    {"width 33", {0x02, 0}, 2, 33, 1, LH_E_FORMAT, {0}},
};

static void test_rle(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof rle_cases / sizeof rle_cases[0]; c++) {
        const struct rle_case *k = &rle_cases[c];
        uint32_t out[16];
        struct lh_error err = {0};
        enum lh_status st = pq_rle_decode(k->bytes, k->len, k->bw, out, k->n, NULL, &err);
        if (st != k->st)
            fail_msg("%s: status %s (%s)", k->name, lh_status_str(st), err.msg);
        if (st == LH_OK)
            for (size_t i = 0; i < k->n; i++)
                if (out[i] != k->want[i])
                    fail_msg("%s: value %zu is %u, want %u", k->name, i, out[i], k->want[i]);
    }
}

static void test_bitpacked_legacy(void **state)
{
    (void)state;
    /* Encodings.md: 0..7 with width 3, most significant bit first. */
    const uint8_t b[] = {0x05, 0x39, 0x77};
    uint32_t out[8];
    size_t used;
    assert_int_equal(pq_bitpacked_decode(b, 3, 3, out, 8, &used, NULL), LH_OK);
    assert_int_equal(used, 3);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(pq_bitpacked_decode(b, 2, 3, out, 8, &used, NULL), LH_E_FORMAT);
}

/* ------------------------------------------------------------ delta */

struct delta_case {
    const char *name;
    uint8_t bytes[MAXB];
    size_t len;
    size_t n;
    enum lh_status st;
    int64_t want[10];
    size_t used;
};

static const struct delta_case delta_cases[] = {
    /* Encodings.md example 1: 1 2 3 4 5 (all deltas 1, widths 0). */
    {"spec example 1", {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0}, 10, 5, LH_OK,
     {1, 2, 3, 4, 5}, 10},
    /* Example 2: 7 5 3 1 2 3 4 5: min delta -2, relative 0 0 0 3 3 3 3, width 2. */
    {"spec example 2",
     {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 2, 0, 0, 0, 0xC0, 0x3F, 0, 0, 0, 0, 0, 0},
     18, 8, LH_OK, {7, 5, 3, 1, 2, 3, 4, 5}, 18},
    {"single value, no block", {0x80, 0x01, 0x04, 0x01, 0x7F}, 5, 1, LH_OK, {-64}, 5},
    {"empty", {0x80, 0x01, 0x04, 0x00, 0x00}, 5, 0, LH_OK, {0}, 5},
    {"count disagrees", {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0}, 10, 4, LH_E_FORMAT,
     {0}, 0},
    {"block size not /128", {0x64, 0x04, 0x05, 0x02}, 4, 5, LH_E_FORMAT, {0}, 0},
    {"miniblock not /32", {0x80, 0x01, 0x08, 0x05, 0x02}, 5, 5, LH_E_FORMAT, {0}, 0},
    {"truncated widths", {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0}, 7, 5, LH_E_FORMAT, {0}, 0},
    {"truncated miniblock", {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 2, 0, 0, 0}, 10, 8,
     LH_E_FORMAT, {0}, 0},
    {"width 65", {0x80, 0x01, 0x04, 0x02, 0x02, 0x02, 65, 0, 0, 0, 0}, 11, 2, LH_E_FORMAT, {0},
     0},
    {"truncated header", {0x80, 0x01, 0x04}, 3, 0, LH_E_FORMAT, {0}, 0},
};

static void test_delta(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof delta_cases / sizeof delta_cases[0]; c++) {
        const struct delta_case *k = &delta_cases[c];
        int64_t out[10];
        size_t used = 0;
        struct lh_error err = {0};
        enum lh_status st = pq_delta_decode(k->bytes, k->len, out, k->n, &used, &err);
        if (st != k->st)
            fail_msg("%s: status %s (%s)", k->name, lh_status_str(st), err.msg);
        if (st != LH_OK)
            continue;
        if (used != k->used)
            fail_msg("%s: used %zu bytes, want %zu", k->name, used, k->used);
        for (size_t i = 0; i < k->n; i++)
            if (out[i] != k->want[i])
                fail_msg("%s: value %zu is %lld, want %lld", k->name, i, (long long)out[i],
                         (long long)k->want[i]);
    }
}

/* Wrapping arithmetic: INT64 extremes round-trip through deltas. */
static void test_delta_wrap(void **state)
{
    (void)state;
    /* first = INT64_MAX, then INT64_MIN: delta wraps to 1 with width 0. */
    uint8_t b[32] = {0x80, 0x01, 0x04, 0x02};
    size_t n = 4;
    uint64_t zz = (uint64_t)INT64_MAX << 1; /* zigzag of INT64_MAX */
    while (zz >= 0x80) {
        b[n++] = (uint8_t)(zz | 0x80);
        zz >>= 7;
    }
    b[n++] = (uint8_t)zz;
    b[n++] = 0x02; /* min delta 1 */
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = 0;
    int64_t out[2];
    assert_int_equal(pq_delta_decode(b, n, out, 2, NULL, NULL), LH_OK);
    assert_true(out[0] == INT64_MAX);
    assert_true(out[1] == INT64_MIN);
}

static void test_bss(void **state)
{
    (void)state;
    float in[3] = {1.5f, -2.25f, 1e30f}, out[3];
    uint8_t enc[12];
    const uint8_t *p = (const uint8_t *)in;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 4; k++)
            enc[k * 3 + i] = p[i * 4 + k];
    assert_int_equal(pq_bss_decode(enc, 12, 4, (uint8_t *)out, 3, NULL), LH_OK);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(pq_bss_decode(enc, 11, 4, (uint8_t *)out, 3, NULL), LH_E_FORMAT);
}

/* ------------------------------------------------------------ thrift */

static void test_thrift_struct(void **state)
{
    (void)state;
    /* struct { 1: i32 = -3; 2: bool true; <unknown 5: struct { 1: list<i64>
     * [1,2]; 2: map<binary,struct>{"k": {}} ; 3: double }>; 20 (long form):
     * binary "hi"; 21: i64 300 } */
    const uint8_t b[] = {
        0x15, 0x05,                   /* field 1 i32 zigzag(-3)=5 */
        0x11,                         /* field 2 bool true */
        0x3C,                         /* field 5 struct (unknown) */
        0x19, 0x26, 0x02, 0x04,       /* 1: list of 2 i64: 1, 2 */
        0x1B, 0x01, 0x8C, 0x01, 'k', 0x00, /* 2: map 1 entry binary->struct: "k" {} */
        0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, /* 3: double 1.0 */
        0x00,                         /* end of unknown struct */
        0x08, 0x28, 0x02, 'h', 'i',   /* field 20 binary, long form (zigzag 20 = 40) */
        0x16, 0xD8, 0x04,             /* field 21 i64 zigzag(300)=600 */
        0x00,
    };
    struct pq_tc r;
    struct lh_error err = {0};
    pq_tc_init(&r, b, sizeof b, &err);
    int16_t last = 0, id;
    uint8_t t;
    int32_t f1 = 0;
    bool f2 = false;
    const uint8_t *s = NULL;
    uint32_t sl = 0;
    int64_t f21 = 0;
    int seen = 0;
    pq_tc_struct_begin(&r);
    while (pq_tc_field(&r, &last, &id, &t)) {
        seen++;
        if (id == 1)
            f1 = pq_tc_field_i32(&r, t);
        else if (id == 2)
            f2 = pq_tc_field_bool(&r, t);
        else if (id == 20 && pq_tc_expect(&r, t, PQ_TC_BINARY, "f20"))
            pq_tc_binary(&r, &s, &sl);
        else if (id == 21)
            f21 = pq_tc_field_i64(&r, t);
        else
            pq_tc_skip(&r, t);
    }
    pq_tc_struct_end(&r);
    if (!pq_tc_ok(&r))
        fail_msg("%s", err.msg);
    assert_int_equal(seen, 5);
    assert_int_equal(f1, -3);
    assert_true(f2);
    assert_int_equal(sl, 2);
    assert_memory_equal(s, "hi", 2);
    assert_int_equal(f21, 300);
    assert_ptr_equal(r.p, b + sizeof b);
}

struct bad_thrift {
    const char *name;
    uint8_t bytes[MAXB];
    size_t len;
};

static const struct bad_thrift bad_thrift_cases[] = {
    {"no stop", {0x15, 0x02}, 2},
    {"truncated varint", {0x15, 0x80, 0x80}, 3},
    {"binary past end", {0x18, 0x10, 'a'}, 3},
    {"list count past end", {0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0x0F}, 6},
    {"map count past end", {0x1B, 0xFF, 0xFF, 0x03, 0x55}, 5},
    {"unknown type 13", {0x1D, 0x00}, 2},
    {"varint too long", {0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 12},
    {"list element type 0", {0x19, 0x10, 0x00}, 3},
};

static void skip_struct(struct pq_tc *r)
{
    pq_tc_skip(r, PQ_TC_STRUCT);
}

static void test_thrift_bad(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof bad_thrift_cases / sizeof bad_thrift_cases[0]; c++) {
        const struct bad_thrift *k = &bad_thrift_cases[c];
        struct pq_tc r;
        struct lh_error err = {0};
        pq_tc_init(&r, k->bytes, k->len, &err);
        skip_struct(&r);
        if (pq_tc_ok(&r))
            fail_msg("%s: accepted", k->name);
        assert_int_equal(err.status, LH_E_FORMAT);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_thrift_depth(void **state)
{
    (void)state;
    uint8_t b[200];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        b[n++] = 0x1C; /* field 1: struct */
    for (int i = 0; i < 61; i++)
        b[n++] = 0x00;
    struct pq_tc r;
    struct lh_error err = {0};
    pq_tc_init(&r, b, n, &err);
    skip_struct(&r);
    assert_false(pq_tc_ok(&r));
    assert_non_null(strstr(err.msg, "nesting"));

    /* 20 levels is fine. */
    n = 0;
    for (int i = 0; i < 20; i++)
        b[n++] = 0x1C;
    for (int i = 0; i < 21; i++)
        b[n++] = 0x00;
    pq_tc_init(&r, b, n, &err);
    skip_struct(&r);
    assert_true(pq_tc_ok(&r));
    assert_ptr_equal(r.p, b + n);
}

static void test_bit_width(void **state)
{
    (void)state;
    static const struct {
        uint32_t v;
        int w;
    } cases[] = {{0, 0}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {255, 8}, {256, 9}, {0xFFFFFFFF, 32}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(pq_bit_width(cases[i].v), cases[i].w);
}

static void test_format_decimal(void **state)
{
    (void)state;
    static const struct {
        lh_i128 v;
        int scale;
        const char *want;
    } cases[] = {{1250, 2, "12.50"}, {-5, 2, "-0.05"}, {0, 3, "0.000"}, {42, 0, "42"},
                 {-123456789, 9, "-0.123456789"}};
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_decimal_format(cases[i].v, cases[i].scale, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
    lh_i128 big = -(lh_i128)((unsigned __int128)1 << 126);
    lh_decimal_format(big, 10, buf, sizeof buf);
    assert_string_equal(buf, "-8507059173023461586584365185.7942052864");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rle),           cmocka_unit_test(test_bitpacked_legacy),
        cmocka_unit_test(test_delta),         cmocka_unit_test(test_delta_wrap),
        cmocka_unit_test(test_bss),           cmocka_unit_test(test_thrift_struct),
        cmocka_unit_test(test_thrift_bad),    cmocka_unit_test(test_thrift_depth),
        cmocka_unit_test(test_bit_width),     cmocka_unit_test(test_format_decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
