/*
 * test_dsn.c — core's DSN parser (lh_dsn_parse) and scrubbers
 * (lh_redact_secret, lh_redact_text, lh_redact_scrub), one row a case.
 * The asterisk rows used to hang the source's scrubber (issue 12 item 6):
 * ctest gives this test a TIMEOUT so a loop fails instead of hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/core.h"

#include <stdio.h>
#include <string.h>

static const char *const CANARY = "canary-PW";

static void part_str(const struct lh_dsn *d, struct lh_dsn_part p, char *out, size_t cap)
{
    if (!p.p)
        snprintf(out, cap, "(none)");
    else
        lh_dsn_decode(d, p, out, cap);
}

static void test_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *dsn;
        enum lh_status st;
        const char *user, *password, *hosts, *db; /* decoded; "(none)" when absent */
        unsigned port;
        const char *msg; /* refusals: a word the message must hold */
    } cases[] = {
        /* the canary: libpq would read password "Zq7", host "canary-PW@127.0.0.1" */
        {"postgresql://canary:Zq7@canary-PW@127.0.0.1:1/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%40"},
        {"postgresql://canary:Zq7%40canary-PW@127.0.0.1:1/db", LH_OK, "canary", "Zq7@canary-PW",
         "127.0.0.1:1", "db", 1, NULL},
        /* mysql: our own client, a host has no '@': the last '@' ends the user info */
        {"mysql://canary:Zq7@canary-PW@127.0.0.1:1/db", LH_OK, "canary", "Zq7@canary-PW",
         "127.0.0.1:1", "db", 1, NULL},
        {"host=127.0.0.1 port=1 user=canary password=Zq7@canary-PW dbname=db", LH_OK, "canary",
         "Zq7@canary-PW", "127.0.0.1", "db", 0, NULL},
        /* libpq's reading where it is unambiguous */
        {"postgresql://u:1?a=w@h", LH_OK, "u", "1?a=w", "h", "(none)", 0, NULL},
        {"postgresql://u:p:q@h/db", LH_OK, "u", "p:q", "h", "db", 0, NULL},
        {"postgresql://u:p@h1:1,h2:2/db", LH_OK, "u", "p", "h1:1,h2:2", "db", 1, NULL},
        {"postgresql://[::1]:5/db", LH_OK, "(none)", "(none)", "[::1]:5", "db", 5, NULL},
        {"postgresql://u:p@/db?host=/tmp", LH_OK, "u", "p", "", "db", 0, NULL},
        {"postgres://u@h/db?password=x%20y&sslmode=require", LH_OK, "u", "x y", "h", "db", 0,
         NULL},
        {"postgresql://u:@h/db", LH_OK, "u", "", "h", "db", 0, NULL},
        {"postgresql:///db", LH_OK, "(none)", "(none)", "", "db", 0, NULL},
        {"host=h password='a b\\'c' dbname=d", LH_OK, "(none)", "a b'c", "h", "d", 0, NULL},
        {"host=h password=a\\ b", LH_OK, "(none)", "a b", "h", "(none)", 0, NULL},
        {"host = h password = '' ", LH_OK, "(none)", "", "h", "(none)", 0, NULL},
        /* what would put part of a password in a host, port, database or name */
        {"postgresql://u:pa/ss@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%2F"},
        {"postgresql://u:12/w@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%2F"},
        {"postgresql://u:a@b/c@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%40"},
        {"mysql://u:pa/ss@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%2F"},
        {"postgresql://u:pw", LH_E_INVAL, 0, 0, 0, 0, 0, "user:password@host"},
        {"postgresql://u:p@h:abc/db", LH_E_INVAL, 0, 0, 0, 0, 0, "port"},
        {"postgresql://u:p@h:0/db", LH_E_INVAL, 0, 0, 0, 0, 0, "port"},
        {"postgresql://u:p@h:65536/db", LH_E_INVAL, 0, 0, 0, 0, 0, "port"},
        {"postgresql://u:50%@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%25"},
        {"postgresql://u:p%zz@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%25"},
        {"postgresql://u:p%00@h/db", LH_E_INVAL, 0, 0, 0, 0, 0, "%25"},
        {"postgresql://h/db?sslmode", LH_E_INVAL, 0, 0, 0, 0, 0, "key=value"},
        {"postgresql://u@[::1/db", LH_E_INVAL, 0, 0, 0, 0, 0, "]"},
        {"host=h password=a b", LH_E_INVAL, 0, 0, 0, 0, 0, "quotes"},
        {"host=h password='abc", LH_E_INVAL, 0, 0, 0, 0, 0, "closing quote"},
        {"=x", LH_E_INVAL, 0, 0, 0, 0, 0, "name"},
        {"", LH_E_INVAL, 0, 0, 0, 0, 0, "empty"},
        {"localhost", LH_E_INVAL, 0, 0, 0, 0, 0, "neither"},
        {"u:secretpw@tcp(h:3306)/db", LH_E_INVAL, 0, 0, 0, 0, 0, "neither"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_dsn d;
        struct lh_error err = {0};
        enum lh_status st = lh_dsn_parse(cases[i].dsn, &d, &err);
        if (st != cases[i].st)
            fail_msg("%s: %s (%s)", cases[i].dsn, lh_status_str(st), err.msg);
        if (st != LH_OK) {
            if (!strstr(err.msg, cases[i].msg))
                fail_msg("%s: message '%s' lacks '%s'", cases[i].dsn, err.msg, cases[i].msg);
            /* the refusal quotes nothing of the DSN */
            static const char *const bits[] = {"canary-PW", "Zq7", "pa/ss", "ss@", "w@h",
                                               "abc", "50%", "secretpw"};
            for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++)
                if (strstr(cases[i].dsn, bits[b]) && strstr(err.msg, bits[b]))
                    fail_msg("%s: message quotes '%s': %s", cases[i].dsn, bits[b], err.msg);
            continue;
        }
        char got[256];
#define CHECK(field, part)                                                                         \
    part_str(&d, part, got, sizeof got);                                                           \
    if (strcmp(got, cases[i].field) != 0)                                                          \
        fail_msg("%s: " #field " = '%s', want '%s'", cases[i].dsn, got, cases[i].field);
        CHECK(user, d.user)
        CHECK(password, lh_dsn_password(&d))
        CHECK(hosts, d.hosts)
        CHECK(db, d.db)
#undef CHECK
        assert_int_equal(d.port, cases[i].port);
    }
}

static void test_params(void **state)
{
    (void)state;
    struct lh_dsn d;
    assert_int_equal(lh_dsn_parse("mysql://u@h/db?socket=%2Frun%2Fm.sock&x=1&socket=/s2", &d, NULL),
                     LH_OK);
    struct lh_dsn_part v = lh_dsn_param(&d, "socket");
    char buf[64];
    lh_dsn_decode(&d, v, buf, sizeof buf);
    assert_string_equal(buf, "/s2"); /* the last one wins, as in libpq */
    assert_null(lh_dsn_param(&d, "nope").p);
    size_t pos = 0, n = 0;
    struct lh_dsn_part k;
    while (lh_dsn_param_next(&d, &pos, &k, &v))
        n++;
    assert_int_equal(n, 3);
    /* a password= parameter wins over the user info (libpq's order) */
    assert_int_equal(lh_dsn_parse("postgresql://u:first@h/db?password=second", &d, NULL), LH_OK);
    lh_dsn_decode(&d, lh_dsn_password(&d), buf, sizeof buf);
    assert_string_equal(buf, "second");
}

/* Secrets of asterisks (and other masks of themselves) end, and a cut
 * message loses the start of the secret it ends in. */
static void test_secret_table(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *secret;
        size_t cap;
        const char *want;
    } cases[] = {
        {"a * b", "*", 64, "a *** b"},
        {"a ** b", "*", 64, "a ****** b"},
        {"a ** b", "**", 64, "a *** b"},
        {"***", "***", 64, "***"},
        {"x***y***z", "***", 64, "x***y***z"},
        {"******", "****", 64, "*****"},
        {"****", "*", 64, "************"},
        {"*****", "*", 8, "*******"},
        {"ab*", "*", 4, "ab*"},
        {"failed for pw-123 at pw-123", "pw-123", 64, "failed for *** at ***"},
        {"short x here", "x", 64, "short *** here"},
        {"no secret", "pw", 64, "no secret"},
        {"empty", "", 64, "empty"},
        {"err: Zq7", "Zq7@canary-PW", 9, "err: ***"},        /* cut: ends in the secret's start */
        {"err: Zq7@canary-PW!", "Zq7@canary-PW", 10, "err: ****"}, /* cut inside it */
        {"héllo wörld", "ö", 64, "héllo w***rld"},
        {"a%b%c", "%", 64, "a***b***c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i].msg);
        if (cases[i].cap < sizeof buf)
            buf[strlen(buf) < cases[i].cap - 1 ? strlen(buf) : cases[i].cap - 1] = '\0';
        lh_redact_secret(buf, cases[i].cap, cases[i].secret);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("case %zu: scrub(%s, %s, cap %zu) = %s, want %s", i, cases[i].msg,
                     cases[i].secret, cases[i].cap, buf, cases[i].want);
    }
}

static void test_text_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"connect postgresql://u:pw@h/db failed", "connect postgresql://u:***@h/db failed"},
        {"\"postgresql://u:pw@h/db\" failed", "\"postgresql://u:***@h/db\" failed"},
        {"host=h password='a b' x", "host=h password='***' x"},
        {"host=h password='a b'c x", "host=h password='***' x"},
        {"failed: host=h password=a b dbname=x", "failed: host=h password=***"},
        {"host=h password='a b' dbname=x", "host=h password='***' dbname=x"}, /* one DSN */
        {"login u:pw@h ok", "login u:***@h ok"},
        {"login \"u:Zq7@canary-PW@h\"", "login \"u:***@h\""},
        {"rows=11 dataset=x bytes=2", "rows=11 dataset=x bytes=2"},
        {"user@example.com said hi", "user@example.com said hi"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256], again[256];
        size_t n = lh_redact_text(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("text(%s) = %s, want %s", cases[i].in, out, cases[i].want);
        assert_int_equal(n, strlen(out));
        lh_redact_text(out, again, sizeof again);
        assert_string_equal(again, out);
    }
}

/* What a message loses, given the DSN it came from. */
static void test_scrub_table(void **state)
{
    (void)state;
    static const struct {
        const char *dsn, *msg;
        const char *gone[3];
    } cases[] = {
        /* refused: every piece of what could be the password */
        {"postgresql://canary:Zq7@canary-PW@127.0.0.1:1/db",
         "could not translate host name \"canary-PW@127.0.0.1\" to address: Zq7",
         {"canary-PW", "Zq7", NULL}},
        {"postgresql://canary:Zq7%40canary-PW@127.0.0.1:1/db",
         "password Zq7@canary-PW or Zq7%40canary-PW", {"canary-PW", "Zq7", NULL}},
        {"mysql://canary:Zq7@canary-PW@127.0.0.1:1/db", "Access denied (using Zq7@canary-PW)",
         {"canary-PW", "Zq7", NULL}},
        {"host=127.0.0.1 user=canary password=Zq7@canary-PW dbname=db",
         "failed: Zq7@canary-PW; dsn was host=x password=Zq7@canary-PW", {"canary-PW", "Zq7", NULL}},
        {"host=h password='a b\\'c d' dbname=x", "bad: a b'c d", {"a b'c d", NULL, NULL}},
        {"postgres://u:***@h/db", "pw *** stays ***", {NULL, NULL, NULL}},
        {"postgres://u:****@h/db", "x**** and ****y", {"****", NULL, NULL}},
        {NULL, "no dsn: password=secret", {"secret", NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", cases[i].msg);
        lh_redact_scrub(buf, sizeof buf, cases[i].dsn);
        for (size_t g = 0; g < 3 && cases[i].gone[g]; g++)
            if (strstr(buf, cases[i].gone[g]))
                fail_msg("case %zu: '%s' left in %s", i, cases[i].gone[g], buf);
    }
    /* the canary's tail, whatever message it is in */
    char buf[64];
    snprintf(buf, sizeof buf, "%s@127.0.0.1", CANARY);
    lh_redact_scrub(buf, sizeof buf, "postgresql://canary:Zq7@canary-PW@127.0.0.1:1/db");
    assert_null(strstr(buf, CANARY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table), cmocka_unit_test(test_params),
        cmocka_unit_test(test_secret_table), cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_scrub_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
