/*
 * test_crc32.c — lh_crc32 against published check values and against the
 * bit-at-a-time definition, for every alignment, split and tail length of
 * random data (both engines: short inputs take the tables, long ones the
 * folding engine where the CPU has it).
 */
#include "core/core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The definition: reflected polynomial 0xEDB88320, init and xorout ~0. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static void test_crc32_check_values(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint32_t want;
    } cases[] = {
        {"", 0x00000000u},
        {"a", 0xE8B7BE43u},
        {"abc", 0x352441C2u},
        {"123456789", 0xCBF43926u},
        {"The quick brown fox jumps over the lazy dog", 0x414FA339u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(lh_crc32(0, cases[i].in, strlen(cases[i].in)), cases[i].want);
}

static void test_crc32_matches_definition(void **state)
{
    (void)state;
    enum { N = 4096 };
    uint8_t *b = malloc(N + 64);
    assert_non_null(b);
    uint32_t x = 12345;
    for (size_t i = 0; i < N + 64; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 17; off++)
        for (size_t len = 0; len < 300; len += 7)
            assert_int_equal(lh_crc32(0, b + off, len), crc_bitwise(0, b + off, len));
    uint32_t want = crc_bitwise(0, b, N);
    assert_int_equal(lh_crc32(0, b, N), want);
    /* streaming in uneven pieces gives the one-shot value */
    for (size_t step = 1; step < 100; step += 11) {
        uint32_t c = 0;
        for (size_t pos = 0; pos < N; pos += step)
            c = lh_crc32(c, b + pos, pos + step <= N ? step : N - pos);
        assert_int_equal(c, want);
    }
    free(b);
}

/* Long inputs (the folding engine's main loop), every tail length. */
static void test_crc32_long(void **state)
{
    (void)state;
    enum { N = 70000 };
    uint8_t *b = malloc(N);
    assert_non_null(b);
    uint32_t x = 777;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    for (size_t len = N - 200; len <= N; len += 3)
        assert_int_equal(lh_crc32(0, b + N - len, len), crc_bitwise(0, b + N - len, len));
    for (size_t len = 60; len < 400; len++)
        assert_int_equal(lh_crc32(0x12345678u, b + 5, len), crc_bitwise(0x12345678u, b + 5, len));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_values),
        cmocka_unit_test(test_crc32_matches_definition),
        cmocka_unit_test(test_crc32_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
