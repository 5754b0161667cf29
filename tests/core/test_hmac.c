/*
 * test_hmac.c — lh_hmac_sha256 against the seven test cases of RFC 4231
 * (HMAC-SHA-256 rows; case 5 compares the 128-bit truncation the RFC
 * gives), each a row: key, data, expected hex. Cases 6 and 7 use a key
 * longer than the block (hashed first).
 */
#include "core/core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void fill(uint8_t *p, uint8_t v, size_t n)
{
    memset(p, v, n);
}

static void test_rfc4231(void **state)
{
    (void)state;
    uint8_t k0b[20], kaa20[20], k0c[20], kaa131[131], k25[25], ddd[50], dcd[50];
    fill(k0b, 0x0b, sizeof k0b);
    fill(kaa20, 0xaa, sizeof kaa20);
    fill(k0c, 0x0c, sizeof k0c);
    fill(kaa131, 0xaa, sizeof kaa131);
    fill(ddd, 0xdd, sizeof ddd);
    fill(dcd, 0xcd, sizeof dcd);
    for (size_t i = 0; i < sizeof k25; i++)
        k25[i] = (uint8_t)(i + 1);
    static const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char *t7 = "This is a test using a larger than block-size key and a larger than "
                            "block-size data. The key needs to be hashed before being used by "
                            "the HMAC algorithm.";
    const struct {
        const void *key;
        size_t klen;
        const void *data;
        size_t dlen;
        const char *want; /* hex; case 5: the RFC's 128-bit truncation */
    } cases[] = {
        {k0b, 20, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {kaa20, 20, ddd, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {k25, 25, dcd, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {k0c, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"},
        {kaa131, 131, t6, strlen(t6),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {kaa131, 131, t7, strlen(t7),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t mac[32];
        char hex[65];
        lh_hmac_sha256(cases[i].key, cases[i].klen, cases[i].data, cases[i].dlen, mac);
        lh_sha256_tohex(mac, hex);
        size_t n = strlen(cases[i].want);
        if (strncmp(hex, cases[i].want, n) != 0)
            fail_msg("RFC 4231 case %zu: got %s, want %s", i + 1, hex, cases[i].want);
    }
}

/* A 64-byte key is used as is (the boundary between padding and hashing),
 * and an empty key and message are fine. Checked against values computed
 * with Python's hmac module. */
static void test_boundaries(void **state)
{
    (void)state;
    uint8_t k64[64], mac[32];
    char hex[65];
    for (size_t i = 0; i < sizeof k64; i++)
        k64[i] = (uint8_t)i;
    lh_hmac_sha256(k64, sizeof k64, "abc", 3, mac);
    lh_sha256_tohex(mac, hex);
    assert_string_equal(hex, "6ab541b4869dca71c4ca11d8bb1b02533b789a557583161429292c7404bc21f6");
    lh_hmac_sha256("", 0, "", 0, mac);
    lh_sha256_tohex(mac, hex);
    assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
