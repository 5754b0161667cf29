/*
 * test_unit.c — source pieces that need no server: DSN redaction, the
 * mysql:// URL parser, decimal text parsing, ORDER BY validation, the
 * password scrubber.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>

#include "source_int.h"

static void test_redact(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
        {"postgres://u@h/db", "postgres://u@h/db"},
        {"mysql://user:p%40ss@host:3306/shop", "mysql://user:***@host:3306/shop"},
        {"mariadb://a:b:c@h/d?socket=/tmp/s", "mariadb://a:***@h/d?socket=/tmp/s"},
        {"mysql://u:pw@with@at@h/d", "mysql://u:***@h/d"},
        {"host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"},
        {"host=h password = 'a b\\' c' dbname=d", "host=h password = '***' dbname=d"},
        {"postgresql://h/db?user=u&password=secret&sslmode=disable",
         "postgresql://h/db?user=u&password=***&sslmode=disable"},
        {"host=h mypassword=x", "host=h mypassword=x"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        lh_redact_dsn(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].want))
            fail_msg("redact(%s) = %s, want %s", cases[i].in, out, cases[i].want);
    }
    /* truncation stays NUL-terminated */
    char small[8];
    lh_redact_dsn("postgresql://u:secret@h/db", small, sizeof small);
    assert_int_equal(strlen(small), 7);
}

static struct lh_source *fake_source(void)
{
    struct lh_source *s = calloc(1, sizeof *s);
    assert_non_null(s);
    lh_arena_init(&s->arena, 1 << 20);
    return s;
}

static void free_fake(struct lh_source *s)
{
    lh_arena_reset(&s->arena);
    free(s);
}

static void test_url_parse(void **state)
{
    (void)state;
    static const struct {
        const char *dsn;
        enum lh_status st;
        const char *user, *password, *host, *db, *socket;
        unsigned port;
    } cases[] = {
        {"mysql://u:p@h:3307/db", LH_OK, "u", "p", "h", "db", NULL, 3307},
        {"mariadb://u@h/db", LH_OK, "u", NULL, "h", "db", NULL, 0},
        {"mysql://us%3Aer:p%40%2Fss@h/db", LH_OK, "us:er", "p@/ss", "h", "db", NULL, 0},
        {"mysql://u:p@[::1]:3306/db", LH_OK, "u", "p", "::1", "db", NULL, 3306},
        {"mysql://root@localhost/x?socket=%2Frun%2Fm.sock", LH_OK, "root", NULL, "localhost", "x",
         "/run/m.sock", 0},
        {"mysql://root@localhost?socket=/s&password=pw", LH_OK, "root", "pw", "localhost", NULL,
         "/s", 0},
        {"mysql://h", LH_OK, NULL, NULL, "h", NULL, NULL, 0},
        {"mysql://u:p@h:0/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        {"mysql://u:p@h:65536/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        {"mysql://u:p@h:12a/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        /* an unencoded '@' in a MySQL password: the last '@' ends it */
        {"mysql://canary:Zq7@canary-PW@127.0.0.1:1/db", LH_OK, "canary", "Zq7@canary-PW",
         "127.0.0.1", "db", NULL, 1},
        /* an unencoded '/' is refused, not split */
        {"mysql://u:pa/ss@h/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        {"mysql://u:Zq7%40canary-PW@127.0.0.1:1/db", LH_OK, "u", "Zq7@canary-PW", "127.0.0.1",
         "db", NULL, 1},
        {"mysql://u:p%4@h/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        {"mysql://u:p%zz@h/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        {"mysql://u@[::1/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
        {"postgresql://u@h/db", LH_E_INVAL, NULL, NULL, NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_source *s = fake_source();
        struct src_url u;
        struct lh_error err = {0};
        enum lh_status st = src_url_parse(s, cases[i].dsn, &u, &err);
        if (st != cases[i].st)
            fail_msg("%s: status %s (%s)", cases[i].dsn, lh_status_str(st), err.msg);
        if (st == LH_OK) {
#define CHECK(f)                                                                                   \
    if ((cases[i].f == NULL) != (u.f == NULL) || (u.f && strcmp(u.f, cases[i].f)))                 \
        fail_msg("%s: " #f " = %s", cases[i].dsn, u.f ? u.f : "(null)");
            CHECK(user)
            CHECK(password)
            CHECK(host)
            CHECK(db)
            CHECK(socket)
#undef CHECK
                assert_int_equal(u.port, cases[i].port);
        } else {
            assert_null(strstr(err.msg, "p%"));
            assert_null(strstr(err.msg, "canary-PW"));
            assert_null(strstr(err.msg, "ss@"));
        }
        free_fake(s);
    }
}

static void test_decimal_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned prec, scale;
        bool ok;
        int64_t want; /* when it fits */
    } cases[] = {
        {"12.34", 10, 2, true, 1234},
        {"-0.01", 10, 2, true, -1},
        {"0", 5, 0, true, 0},
        {"12.3", 10, 2, true, 1230},
        {"12.340", 10, 2, true, 1234},
        {"12.345", 10, 2, false, 0},
        {"99999999.99", 10, 2, true, 9999999999},
        {"100000000.00", 10, 2, false, 0},
        {"+7", 3, 0, true, 7},
        {"007.5", 3, 1, true, 75},
        {"", 5, 0, false, 0},
        {"-", 5, 0, false, 0},
        {"1e5", 10, 0, false, 0},
        {"1.2.3", 10, 2, false, 0},
        {" 1", 10, 2, false, 0},
        {".5", 3, 1, true, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_i128 v = 0;
        bool ok = src_decimal_parse(cases[i].text, strlen(cases[i].text), cases[i].prec,
                                    cases[i].scale, &v);
        if (ok != cases[i].ok || (ok && v != cases[i].want))
            fail_msg("decimal(%s, %u, %u): ok=%d v=%lld", cases[i].text, cases[i].prec,
                     cases[i].scale, ok, (long long)v);
    }
    /* 38 digits at the edge of int128 */
    lh_i128 v;
    const char *max = "99999999999999999999999999999999999999";
    assert_true(src_decimal_parse(max, strlen(max), 38, 0, &v));
    lh_i128 want = 0;
    for (int k = 0; k < 38; k++)
        want = want * 10 + 9;
    assert_true(v == want);
    const char *over = "999999999999999999999999999999999999990";
    assert_false(src_decimal_parse(over, strlen(over), 38, 0, &v));
}

static void test_order_by(void **state)
{
    (void)state;
    struct lh_field fields[] = {{.name = "id"}, {.name = "Name With Space"}, {.name = "x;y"}};
    static const struct {
        const char *text;
        enum lh_status st;
        size_t n;
        size_t col0;
        bool desc0;
    } cases[] = {
        {"id", LH_OK, 1, 0, false},
        {"id DESC", LH_OK, 1, 0, true},
        {"  id   desc  ", LH_OK, 1, 0, true},
        {"Name With Space asc, id", LH_OK, 2, 1, false},
        {"x;y DESC", LH_OK, 1, 2, true},
        {"ID", LH_E_INVAL, 0, 0, false},
        {"id; DROP TABLE t", LH_E_INVAL, 0, 0, false},
        {"id,", LH_E_INVAL, 0, 0, false},
        {"DESC", LH_E_INVAL, 0, 0, false},
        {"id DESC NULLS FIRST", LH_E_INVAL, 0, 0, false},
        {"(SELECT 1)", LH_E_INVAL, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_source *s = fake_source();
        s->fields = fields;
        s->ncols = 3;
        struct src_order *o;
        size_t n;
        struct lh_error err = {0};
        enum lh_status st = src_parse_order_by(s, cases[i].text, &o, &n, &err);
        if (st != cases[i].st)
            fail_msg("order_by(%s): %s (%s)", cases[i].text, lh_status_str(st), err.msg);
        if (st == LH_OK) {
            assert_int_equal(n, cases[i].n);
            assert_int_equal(o[0].col, cases[i].col0);
            assert_int_equal(o[0].desc, cases[i].desc0);
        }
        free_fake(s);
    }
}

static void test_scrub(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *secret, *want;
    } cases[] = {
        {"failed for pw-123 at pw-123", "pw-123", "failed for *** at ***"},
        {"no secret here", "pw", "no secret here"},
        {"short x here", "x", "short *** here"},
        {"empty", "", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", cases[i].msg);
        lh_redact_secret(buf, sizeof buf, cases[i].secret);
        assert_string_equal(buf, cases[i].want);
    }
}

static void test_kind(void **state)
{
    (void)state;
    enum lh_source_kind k;
    assert_true(lh_source_kind_parse("postgres", &k) && k == LH_SOURCE_POSTGRES);
    assert_true(lh_source_kind_parse("postgresql", &k) && k == LH_SOURCE_POSTGRES);
    assert_true(lh_source_kind_parse("mysql", &k) && k == LH_SOURCE_MYSQL);
    assert_true(lh_source_kind_parse("mariadb", &k) && k == LH_SOURCE_MYSQL);
    assert_false(lh_source_kind_parse("oracle", &k));
    assert_false(lh_source_kind_parse(NULL, &k));
    assert_string_equal(lh_source_kind_name(LH_SOURCE_MYSQL), "mysql");
    /* options are checked before any connection */
    struct lh_source *s;
    struct lh_error err = {0};
    struct lh_source_options opt = {0};
    assert_int_equal(lh_source_open(&s, LH_SOURCE_POSTGRES, "host=/nonexistent", &opt, &err),
                     LH_E_INVAL);
    assert_null(s);
    opt.table = "t";
    opt.cursor_after = "5";
    assert_int_equal(lh_source_open(&s, LH_SOURCE_MYSQL, "mysql://h/d", &opt, &err), LH_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact),        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_decimal_parse), cmocka_unit_test(test_order_by),
        cmocka_unit_test(test_scrub),         cmocka_unit_test(test_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
