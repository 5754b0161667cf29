/*
 * test_trigger.c — lh_trigger_next: interval (completion and fixed
 * anchors) and cron triggers. Each row: trigger, completed_at,
 * previous_target, now -> expected next (seconds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schedule/schedule.h"

#include <string.h>

static int64_t iso(const char *s)
{
    int64_t us;
    if (lh_time_parse_iso(s, &us, NULL) != LH_OK)
        fail_msg("bad test time %s", s);
    return us / 1000000;
}

struct interval_case {
    const char *what;
    enum lh_interval_anchor anchor;
    int64_t secs, completed, target, now, want;
};

static const struct interval_case interval_cases[] = {
    /* the reference: since last completion, however long the run took */
    {"completion, quick run", LH_ANCHOR_COMPLETION, 120, 1000, 990, 1000, 1120},
    {"completion, slow run", LH_ANCHOR_COMPLETION, 60, 5000, 1000, 5000, 5060},
    {"completion, 1h", LH_ANCHOR_COMPLETION, 3600, 7205, 7200, 7205, 10805},
    /* fixed: stays on the grid of the previous target */
    {"fixed, quick run", LH_ANCHOR_FIXED, 1800, 1805, 1800, 1805, 3600},
    {"fixed, finished early", LH_ANCHOR_FIXED, 60, 1000, 1000, 1000, 1060},
    /* the run overran two ticks (3600, 5400): they are skipped, not queued */
    {"fixed, overran", LH_ANCHOR_FIXED, 1800, 5500, 1800, 5500, 7200},
    /* now exactly on a tick: that tick counts as passed */
    {"fixed, now on a tick", LH_ANCHOR_FIXED, 1800, 5400, 1800, 5400, 7200},
    /* daemon down for a day: first tick after now, no burst */
    {"fixed, long downtime", LH_ANCHOR_FIXED, 3600, 0, 0, 86400 * 3 + 10, 86400 * 3 + 3600},
    /* previous target in the future (clock stepped back): next is one step on */
    {"fixed, clock stepped back", LH_ANCHOR_FIXED, 60, 500, 1000, 500, 1060},
    {"fixed, negative epoch", LH_ANCHOR_FIXED, 7, -100, -100, -50, -44},
};

static void test_interval_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof interval_cases / sizeof interval_cases[0]; i++) {
        const struct interval_case *c = &interval_cases[i];
        struct lh_trigger t;
        memset(&t, 0, sizeof t);
        t.kind = LH_TRIGGER_INTERVAL;
        t.interval_secs = c->secs;
        t.anchor = c->anchor;
        int64_t next = 0;
        struct lh_error err;
        lh_error_clear(&err);
        if (lh_trigger_next(&t, c->completed, c->target, c->now, &next, &err) != LH_OK)
            fail_msg("%s: %s", c->what, err.msg);
        if (next != c->want)
            fail_msg("%s: got %lld want %lld", c->what, (long long)next, (long long)c->want);
        if (c->anchor == LH_ANCHOR_FIXED) {
            assert_true(next > c->now);
            assert_int_equal((next - c->target) % c->secs, 0);
        }
    }
}

static void test_interval_errors(void **state)
{
    (void)state;
    struct lh_trigger t;
    memset(&t, 0, sizeof t);
    t.kind = LH_TRIGGER_INTERVAL;
    int64_t next;
    struct lh_error err;
    lh_error_clear(&err);
    const int64_t bad[] = {0, -5, LH_INTERVAL_MAX_SECS + 1, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t.interval_secs = bad[i];
        assert_int_equal(lh_trigger_next(&t, 0, 0, 0, &next, &err), LH_E_INVAL);
    }
    assert_non_null(strstr(err.msg, "out of range"));
    t.interval_secs = LH_INTERVAL_MAX_SECS;
    t.anchor = LH_ANCHOR_FIXED;
    assert_int_equal(lh_trigger_next(&t, 0, 0, 0, &next, &err), LH_OK);
    assert_int_equal(next, LH_INTERVAL_MAX_SECS);
    assert_int_equal(lh_trigger_next(&t, 0, INT64_MAX, 0, &next, &err), LH_E_INVAL);
    t.anchor = (enum lh_interval_anchor)7;
    assert_int_equal(lh_trigger_next(&t, 0, 0, 0, &next, &err), LH_E_INVAL);
}

struct cron_case {
    const char *expr, *tz, *completed, *target, *now, *want;
};

static const struct cron_case cron_cases[] = {
    /* ordinary: next after the run */
    {"0 * * * *", "UTC", "2026-06-01T10:00:04Z", "2026-06-01T10:00:00Z", "2026-06-01T10:00:04Z",
     "2026-06-01T11:00:00Z"},
    /* the run overran 11:00 and 12:00: those are skipped */
    {"0 * * * *", "UTC", "2026-06-01T12:20:00Z", "2026-06-01T10:00:00Z", "2026-06-01T12:20:00Z",
     "2026-06-01T13:00:00Z"},
    /* fired a little early (clock skew): still the next one, not the same one */
    {"0 * * * *", "UTC", "2026-06-01T09:59:59Z", "2026-06-01T10:00:00Z", "2026-06-01T09:59:59Z",
     "2026-06-01T11:00:00Z"},
    /* wildcard across fall-back in New York: 01:00 EDT, then 01:00 EST */
    {"0 * * * *", "America/New_York", "2026-11-01T05:00:02Z", "2026-11-01T05:00:00Z",
     "2026-11-01T05:00:02Z", "2026-11-01T06:00:00Z"},
    /* fixed-time across fall-back: not again at 01:30 EST */
    {"30 1 * * *", "America/New_York", "2026-11-01T05:30:09Z", "2026-11-01T05:30:00Z",
     "2026-11-01T05:30:09Z", "2026-11-02T06:30:00Z"},
    /* spring-forward: 02:30 does not exist, fires at 03:00 EDT */
    {"30 2 * * *", "America/New_York", "2026-03-07T07:30:05Z", "2026-03-07T07:30:00Z",
     "2026-03-07T07:30:05Z", "2026-03-08T07:00:00Z"},
};

static void test_cron_trigger(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cron_cases / sizeof cron_cases[0]; i++) {
        const struct cron_case *c = &cron_cases[i];
        struct lh_trigger t;
        struct lh_error err;
        lh_error_clear(&err);
        memset(&t, 0, sizeof t);
        t.kind = LH_TRIGGER_CRON;
        assert_int_equal(lh_cron_parse(&t.cron, c->expr, &err), LH_OK);
        assert_int_equal(lh_tz_load(c->tz, &t.tz, &err), LH_OK);
        int64_t next = 0;
        assert_int_equal(
            lh_trigger_next(&t, iso(c->completed), iso(c->target), iso(c->now), &next, &err),
            LH_OK);
        if (next != iso(c->want))
            fail_msg("row %zu %s: got %lld want %s", i, c->expr, (long long)next, c->want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_table),
        cmocka_unit_test(test_interval_errors),
        cmocka_unit_test(test_cron_trigger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
