/*
 * test_redact.c — lh_redact_dsn over every DSN form a user may type, and the
 * SHA-256 used for fingerprints (FIPS 180-4 test vectors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in;
    const char *want;
    const char *secret; /* must never appear in the output (NULL: none) */
} redact_cases[] = {
    {"mysql://u:secret@h/db", "mysql://u:***@h/db", "secret"},
    {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db", "secret"},
    {"mysql://u@h/db", "mysql://u@h/db", NULL},
    {"postgres://h:5432/db", "postgres://h:5432/db", NULL},
    {"postgres://h/db", "postgres://h/db", NULL},
    {"postgres://u:p%40ss%3Aw@h/db", "postgres://u:***@h/db", "p%40ss"},
    {"postgres://u:p@ss@h/db", "postgres://u:***@h/db", "p@ss"},
    {"postgres://u:p:a:ss@h/db", "postgres://u:***@h/db", "p:a:ss"},
    {"postgres://u:pa/ss@h/db", "postgres://u:***@h/db", "pa/ss"},
    {"postgres://u:hunter2@[::1]:5432/db", "postgres://u:***@[::1]:5432/db", "hunter2"},
    {"postgres://[2001:db8::1]:5432/db", "postgres://[2001:db8::1]:5432/db", NULL},
    {"postgres://u@[::1]/db", "postgres://u@[::1]/db", NULL},
    {"postgres://u:@h/db", "postgres://u:***@h/db", NULL},
    {"postgres://h/db?user=u&password=topsecret", "postgres://h/db?user=u&password=***",
     "topsecret"},
    {"postgres://h/db?PASSWORD=topsecret&sslmode=require",
     "postgres://h/db?PASSWORD=***&sslmode=require", "topsecret"},
    {"mysql://u:pw1@h/db?sslpassword=pw2", "mysql://u:***@h/db?sslpassword=***", "pw"},
    /* an '@' after the host is refused by the parser (it could be a
     * password's tail): the redactor then masks up to the last '@' */
    {"postgres://u:pw1@h/db?application_name=a@b", "postgres://u:***@b", "pw1"},
    {"postgres://u:pw1@h/db?application_name=a%40b", "postgres://u:***@h/db?application_name=a%40b",
     "pw1"},
    /* the canary of issue 12: libpq would read the host "canary-PW@127.0.0.1" */
    {"postgresql://canary:Zq7@canary-PW@127.0.0.1:1/db", "postgresql://canary:***@127.0.0.1:1/db",
     "canary-PW"},
    {"mysql://canary:Zq7@canary-PW@127.0.0.1:1/db", "mysql://canary:***@127.0.0.1:1/db", "Zq7"},
    {"host=127.0.0.1 user=canary password=Zq7@canary-PW dbname=db",
     "host=127.0.0.1 user=canary password=*** dbname=db", "Zq7"},
    {"postgres://u:1?a=w@h", "postgres://u:***@h", "?a=w"},
    {"postgres://u:pa/ss", "postgres://u:***", "pa/ss"},
    {"postgres://u:***@h/db", "postgres://u:***@h/db", NULL},
    {"postgres://u:**@h/db", "postgres://u:***@h/db", NULL},
    {"jdbc:postgresql://h:5432/db?user=u&password=zz9",
     "jdbc:postgresql://h:5432/db?user=u&password=***", "zz9"},
    {"host=h port=5432 user=u password=secret dbname=d",
     "host=h port=5432 user=u password=*** dbname=d", "secret"},
    {"host=h password='s e c\\'r' dbname=d", "host=h password='***' dbname=d", "s e c"},
    {"host=h password = spaced dbname=d", "host=h password = *** dbname=d", "spaced"},
    {"password=first", "password=***", "first"},
    {"host=localhost dbname=shop", "host=localhost dbname=shop", NULL},
    {"u:gosecret@tcp(127.0.0.1:3306)/shop", "u:***@tcp(127.0.0.1:3306)/shop", "gosecret"},
    {"postgres://:onlypw@h/db", "postgres://:***@h/db", "onlypw"},
    {"mysql://u:p@ss:w@rd@[fe80::1%25eth0]:3306/db", "mysql://u:***@[fe80::1%25eth0]:3306/db",
     "rd@"},
    {"host=h dbname=d sslpassword=x1 password=x2", "host=h dbname=d sslpassword=*** password=***",
     "x"},
    {"localhost", "localhost", NULL},
    {"", "", NULL},
    {"garbage = = password", "***", "password"},
};

static void test_redact_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof redact_cases / sizeof redact_cases[0]; i++) {
        char out[256];
        size_t n = lh_redact_dsn(redact_cases[i].in, out, sizeof out);
        if (strcmp(out, redact_cases[i].want) != 0)
            fail_msg("case %zu: %s -> %s (want %s)", i, redact_cases[i].in, out,
                     redact_cases[i].want);
        assert_int_equal(n, strlen(out));
        if (redact_cases[i].secret)
            assert_null(strstr(out, redact_cases[i].secret));
    }
}

static void test_redact_truncates(void **state)
{
    (void)state;
    char out[8];
    size_t n = lh_redact_dsn("mysql://u:secret@host/db", out, sizeof out);
    assert_int_equal(n, strlen("mysql://u:***@host/db"));
    assert_int_equal(strlen(out), 7);
    assert_string_equal(out, "mysql:/");
    assert_int_equal(lh_redact_dsn("x", NULL, 0), 1);
}

static void log_line(char *line, size_t cap, const char *secret, const char *dsn, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    lh_redact_log_line(line, cap, secret, dsn, fmt, ap);
    va_end(ap);
}

/* lh_redact_log_line: control characters as spaces, the secret and the
 * DSN's password masked, a cut line says how long it was. */
static void test_redact_log_line(void **state)
{
    (void)state;
    char line[4096];
    log_line(line, sizeof line, "tok3n", "postgres://u:pw9@h/db", "a\tb\nc %s tok3n pw9 %d", "x",
             7);
    assert_string_equal(line, "a b c x *** *** 7");
    char big[6000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_line(line, sizeof line, NULL, NULL, "%s", big);
    assert_int_equal(strlen(line), sizeof line - 32 + strlen("... (5999 bytes in all)"));
    assert_non_null(strstr(line, "yyy... (5999 bytes in all)"));
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    lh_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    lh_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    lh_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces */
    struct lh_sha256 c;
    uint8_t d[32];
    char *a = malloc(1000);
    assert_non_null(a);
    memset(a, 'a', 1000);
    lh_sha256_init(&c);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t k = step < left ? step : left;
        if (k > 1000)
            k = 1000;
        lh_sha256_update(&c, a, k);
        left -= k;
        step = step % 997 + 13;
    }
    lh_sha256_final(&c, d);
    lh_sha256_tohex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_table),
        cmocka_unit_test(test_redact_truncates),
        cmocka_unit_test(test_redact_log_line),
        cmocka_unit_test(test_sha256_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
