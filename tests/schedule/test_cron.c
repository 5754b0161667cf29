/*
 * test_cron.c — cron parsing, next-fire times across daylight-saving
 * changes, and the TZif reader.
 *
 * The expected instants are literals worked out from the zone rules and
 * cross-checked against python3's zoneinfo with a brute-force minute walk;
 * each row is (expression, zone, from, next fire times...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schedule/schedule.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t iso(const char *s)
{
    int64_t us;
    struct lh_error err;
    lh_error_clear(&err);
    if (lh_time_parse_iso(s, &us, &err) != LH_OK)
        fail_msg("bad test time %s: %s", s, err.msg);
    return us / 1000000;
}

static const char *fmt(int64_t secs, char *buf)
{
    lh_time_format_iso(secs * 1000000, buf, 48);
    return buf;
}

static const struct lh_tz *zone(const char *name)
{
    const struct lh_tz *tz = NULL;
    struct lh_error err;
    lh_error_clear(&err);
    if (lh_tz_load(name, &tz, &err) != LH_OK)
        fail_msg("load %s: %s", name, err.msg);
    return tz;
}

/* ------------------------------------------------------------------ next */

struct next_case {
    const char *expr, *tz, *from;
    const char *want[8];
};

static const struct next_case next_cases[] = {
    {"0 2 * * *",
     "America/New_York",
     "2026-03-07T12:00:00Z",
     {"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-10T06:00:00Z"}},
    {"30 2 * * *",
     "America/New_York",
     "2026-03-07T12:00:00Z",
     {"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
    {"*/30 * * * *",
     "America/New_York",
     "2026-03-08T06:00:00Z",
     {"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",
      "2026-03-08T08:00:00Z"}},
    {"0 * * * *",
     "America/New_York",
     "2026-03-08T05:30:00Z",
     {"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
    {"30 1 * * *",
     "America/New_York",
     "2026-03-07T12:00:00Z",
     {"2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"}},
    {"30 1 * * *",
     "America/New_York",
     "2026-10-31T12:00:00Z",
     {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"}},
    {"0 * * * *",
     "America/New_York",
     "2026-11-01T04:30:00Z",
     {"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z",
      "2026-11-01T08:00:00Z"}},
    {"*/30 * * * *",
     "America/New_York",
     "2026-11-01T04:45:00Z",
     {"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
      "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
    {"0 2 * * *",
     "America/New_York",
     "2026-10-31T12:00:00Z",
     {"2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z"}},
    {"30 2 * * *",
     "America/New_York",
     "2026-10-31T12:00:00Z",
     {"2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"}},
    {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", {"2026-11-02T06:30:00Z"}},
    {"30 2 * * *",
     "America/New_York",
     "2040-03-10T12:00:00Z",
     {"2040-03-11T07:00:00Z", "2040-03-12T06:30:00Z"}},
    {"0 * * * *",
     "America/New_York",
     "2040-11-04T04:30:00Z",
     {"2040-11-04T05:00:00Z", "2040-11-04T06:00:00Z", "2040-11-04T07:00:00Z",
      "2040-11-04T08:00:00Z"}},
    {"30 1 * * *",
     "Europe/London",
     "2026-03-28T12:00:00Z",
     {"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
    {"*/30 * * * *",
     "Europe/London",
     "2026-03-29T00:15:00Z",
     {"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z",
      "2026-03-29T02:00:00Z"}},
    {"0 1 * * *",
     "Europe/London",
     "2026-10-24T12:00:00Z",
     {"2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z", "2026-10-27T01:00:00Z"}},
    {"0 * * * *",
     "Europe/London",
     "2026-10-24T23:30:00Z",
     {"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z",
      "2026-10-25T03:00:00Z"}},
    {"*/30 * * * *",
     "Australia/Lord_Howe",
     "2026-04-04T13:50:00Z",
     {"2026-04-04T14:00:00Z", "2026-04-04T14:30:00Z", "2026-04-04T15:00:00Z",
      "2026-04-04T15:30:00Z", "2026-04-04T16:00:00Z", "2026-04-04T16:30:00Z"}},
    {"45 1 * * *",
     "Australia/Lord_Howe",
     "2026-04-04T00:00:00Z",
     {"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
    {"0 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-03T00:00:00Z",
     {"2026-10-03T15:30:00Z", "2026-10-04T15:00:00Z", "2026-10-05T15:00:00Z"}},
    {"15 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-03T00:00:00Z",
     {"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
    {"30 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-03T00:00:00Z",
     {"2026-10-03T15:30:00Z", "2026-10-04T15:30:00Z"}},
    {"0 * * * *",
     "Australia/Lord_Howe",
     "2026-10-03T13:30:00Z",
     {"2026-10-03T14:30:00Z", "2026-10-03T16:00:00Z", "2026-10-03T17:00:00Z"}},
    {"*/15 * * * *",
     "Australia/Lord_Howe",
     "2026-10-03T15:10:00Z",
     {"2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z",
      "2026-10-03T16:00:00Z"}},
    {"0 0 * * *",
     "Africa/Cairo",
     "2026-04-22T12:00:00Z",
     {"2026-04-22T22:00:00Z", "2026-04-23T22:00:00Z", "2026-04-24T21:00:00Z"}},
    {"30 0 * * *",
     "Africa/Cairo",
     "2026-04-23T12:00:00Z",
     {"2026-04-23T22:00:00Z", "2026-04-24T21:30:00Z"}},
    {"0 * * * *",
     "Africa/Cairo",
     "2026-04-23T20:30:00Z",
     {"2026-04-23T21:00:00Z", "2026-04-23T22:00:00Z", "2026-04-23T23:00:00Z"}},
    {"0 0 * * *",
     "Africa/Cairo",
     "2026-10-28T12:00:00Z",
     {"2026-10-28T21:00:00Z", "2026-10-29T22:00:00Z", "2026-10-30T22:00:00Z"}},
    {"0 23 * * *",
     "Africa/Cairo",
     "2026-10-28T12:00:00Z",
     {"2026-10-28T20:00:00Z", "2026-10-29T20:00:00Z", "2026-10-30T21:00:00Z"}},
    {"0 * * * *",
     "Africa/Cairo",
     "2026-10-29T19:30:00Z",
     {"2026-10-29T20:00:00Z", "2026-10-29T21:00:00Z", "2026-10-29T22:00:00Z",
      "2026-10-29T23:00:00Z"}},
    {"30 23 * * *",
     "Africa/Cairo",
     "2026-10-29T12:00:00Z",
     {"2026-10-29T20:30:00Z", "2026-10-30T21:30:00Z"}},
    {"0 2 * * *",
     "Asia/Kolkata",
     "2026-03-07T12:00:00Z",
     {"2026-03-07T20:30:00Z", "2026-03-08T20:30:00Z"}},
    {"*/45 9-10 * * 1-5",
     "Asia/Kolkata",
     "2026-06-05T00:00:00Z",
     {"2026-06-05T03:30:00Z", "2026-06-05T04:15:00Z", "2026-06-05T04:30:00Z",
      "2026-06-05T05:15:00Z", "2026-06-08T03:30:00Z"}},
    {"0 2 * * *", "UTC", "2026-03-07T12:00:00Z", {"2026-03-08T02:00:00Z", "2026-03-09T02:00:00Z"}},
    {"0 * * * *",
     "UTC",
     "2026-11-01T04:30:00Z",
     {"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"}},
    {"0 0 1 1 *", "UTC", "2026-06-01T00:00:00Z", {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
    {"59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", {"2027-12-31T23:59:00Z"}},
    {"0 0 1 1 *",
     "America/New_York",
     "2026-12-31T12:00:00Z",
     {"2027-01-01T05:00:00Z", "2028-01-01T05:00:00Z"}},
    {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
    {"0 0 29 2 *", "Asia/Kolkata", "2028-02-28T00:00:00Z", {"2028-02-28T18:30:00Z"}},
    {"0 12 28-31 2 *",
     "UTC",
     "2028-02-27T00:00:00Z",
     {"2028-02-28T12:00:00Z", "2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z"}},
    {"0 0 13 * 5",
     "UTC",
     "2026-03-01T00:00:00Z",
     {"2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z",
      "2026-03-27T00:00:00Z", "2026-04-03T00:00:00Z"}},
    {"0 0 1,15 * 1",
     "UTC",
     "2026-06-01T00:00:00Z",
     {"2026-06-08T00:00:00Z", "2026-06-15T00:00:00Z", "2026-06-22T00:00:00Z",
      "2026-06-29T00:00:00Z", "2026-07-01T00:00:00Z", "2026-07-06T00:00:00Z"}},
    {"0 0 */10 * 1",
     "UTC",
     "2026-06-01T00:00:00Z",
     {"2026-08-31T00:00:00Z", "2026-09-21T00:00:00Z", "2026-12-21T00:00:00Z"}},
    {"0 0 1 * */3",
     "UTC",
     "2026-06-01T00:00:00Z",
     {"2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z"}},
    {"0 0 * * 7", "UTC", "2026-06-01T00:00:00Z", {"2026-06-07T00:00:00Z", "2026-06-14T00:00:00Z"}},
    {"0 0 * * 5-7",
     "UTC",
     "2026-06-01T00:00:00Z",
     {"2026-06-05T00:00:00Z", "2026-06-06T00:00:00Z", "2026-06-07T00:00:00Z",
      "2026-06-12T00:00:00Z"}},
    {"0 0 29 2 1",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z"}},
    {"0 9 * jan-mar/2 mon-fri",
     "UTC",
     "2026-01-29T00:00:00Z",
     {"2026-01-29T09:00:00Z", "2026-01-30T09:00:00Z", "2026-03-02T09:00:00Z"}},
    {"0 0 1 JUN,Dec *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-06-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-06-01T00:00:00Z"}},
    {"10-50/20 8 * * *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-01T08:10:00Z", "2026-01-01T08:30:00Z", "2026-01-01T08:50:00Z",
      "2026-01-02T08:10:00Z"}},
    {"5/20 8 * * *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-01T08:05:00Z", "2026-01-01T08:25:00Z", "2026-01-01T08:45:00Z",
      "2026-01-02T08:05:00Z"}},
    {"* * * * *",
     "UTC",
     "2026-01-01T00:00:30Z",
     {"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"}},
    {"0 0,12 1 */3 *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-01T12:00:00Z", "2026-04-01T00:00:00Z", "2026-04-01T12:00:00Z",
      "2026-07-01T00:00:00Z"}},
    {"0 22 * * SUN",
     "Europe/London",
     "2026-03-28T00:00:00Z",
     {"2026-03-29T21:00:00Z", "2026-04-05T21:00:00Z"}},
    /* @-macros, from Wednesday 2026-06-03 10:20 */
    {"@yearly", "UTC", "2026-06-03T10:20:00Z", {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
    {"@annually", "UTC", "2026-06-03T10:20:00Z", {"2027-01-01T00:00:00Z"}},
    {"@monthly", "UTC", "2026-06-03T10:20:00Z", {"2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"}},
    {"@weekly", "UTC", "2026-06-03T10:20:00Z", {"2026-06-07T00:00:00Z", "2026-06-14T00:00:00Z"}},
    {"@daily", "UTC", "2026-06-03T10:20:00Z", {"2026-06-04T00:00:00Z", "2026-06-05T00:00:00Z"}},
    {"@midnight", "Asia/Kolkata", "2026-06-03T10:20:00Z", {"2026-06-03T18:30:00Z"}},
    {"  @HOURLY ", "UTC", "2026-06-03T10:20:00Z", {"2026-06-03T11:00:00Z", "2026-06-03T12:00:00Z"}},
    /* @hourly is a wildcard job (cronie sets HR_STAR): both 01:00s */
    {"@hourly",
     "America/New_York",
     "2026-11-01T04:30:00Z",
     {"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"}},
    /* @daily is fixed: 00:00 in Cairo on the spring-forward Friday fires at 01:00 */
    {"@daily", "Africa/Cairo", "2026-04-23T12:00:00Z", {"2026-04-23T22:00:00Z"}},
    /* tabs and runs of spaces separate fields */
    {"0\t12  *  *\t*", "UTC", "2026-06-03T10:20:00Z", {"2026-06-03T12:00:00Z"}},
    /* exclusive: a fire exactly at --from is not returned */
    {"0 12 * * *", "UTC", "2026-06-03T12:00:00Z", {"2026-06-04T12:00:00Z"}},
    /* AND mode with a rare match: Sunday 29 February, inside the horizon */
    {"0 0 29 2 */7", "UTC", "2027-06-01T00:00:00Z", {"2032-02-29T00:00:00Z"}},
};

static void test_next_table(void **state)
{
    (void)state;
    char b1[48], b2[48];
    for (size_t i = 0; i < sizeof next_cases / sizeof next_cases[0]; i++) {
        const struct next_case *c = &next_cases[i];
        struct lh_cron cron;
        struct lh_error err;
        lh_error_clear(&err);
        if (lh_cron_parse(&cron, c->expr, &err) != LH_OK)
            fail_msg("row %zu '%s': %s", i, c->expr, err.msg);
        const struct lh_tz *tz = zone(c->tz);
        int64_t t = iso(c->from);
        for (int k = 0; k < 8 && c->want[k]; k++) {
            int64_t next = 0;
            if (lh_cron_next(&cron, tz, t, &next, &err) != LH_OK)
                fail_msg("row %zu '%s' %s #%d: %s", i, c->expr, c->tz, k, err.msg);
            if (next != iso(c->want[k]))
                fail_msg("row %zu '%s' %s from %s #%d: got %s want %s", i, c->expr, c->tz,
                         fmt(t, b1), k, fmt(next, b2), c->want[k]);
            t = next;
        }
    }
}

static void test_next_search_bound(void **state)
{
    (void)state;
    struct lh_cron cron;
    struct lh_error err;
    lh_error_clear(&err);
    /* Sunday 29 February: 2032 is more than five years after 2026-01-01 */
    assert_int_equal(lh_cron_parse(&cron, "0 0 29 2 */7", &err), LH_OK);
    int64_t next = 0;
    assert_int_equal(lh_cron_next(&cron, NULL, iso("2026-01-01T00:00:00Z"), &next, &err),
                     LH_E_NOTFOUND);
    assert_string_equal(err.msg, "cron: no fire time within 5 years");
    /* absurd instants are refused, not overflowed */
    assert_int_equal(lh_cron_next(&cron, NULL, INT64_MAX, &next, &err), LH_E_INVAL);
    assert_int_equal(lh_cron_next(&cron, NULL, INT64_MIN, &next, &err), LH_E_INVAL);
}

/* ------------------------------------------------------------------ parse */

struct parse_case {
    const char *expr;
    uint64_t minutes;
    uint32_t hours, dom;
    uint16_t months;
    uint8_t dow, flags;
};

#define ALL_MIN ((UINT64_C(1) << 60) - 1)
#define ALL_HR ((UINT32_C(1) << 24) - 1)
#define ALL_DOM (((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MON ((uint16_t)(((1u << 12) - 1) << 1))
#define ALL_DOW 0x7f
#define STARS (LH_CRON_MIN_STAR | LH_CRON_HR_STAR | LH_CRON_DOM_STAR | LH_CRON_DOW_STAR)

static const struct parse_case parse_cases[] = {
    {"* * * * *", ALL_MIN, ALL_HR, ALL_DOM, ALL_MON, ALL_DOW, STARS},
    {"0 0 1 1 0", 1, 1, 1u << 1, 1u << 1, 1, 0},
    {"*/15 * * * *", 1 | 1ull << 15 | 1ull << 30 | 1ull << 45, ALL_HR, ALL_DOM, ALL_MON, ALL_DOW,
     STARS},
    {"10-50/20 1-3,5 * * *", 1ull << 10 | 1ull << 30 | 1ull << 50, 0x2e, ALL_DOM, ALL_MON, ALL_DOW,
     LH_CRON_DOM_STAR | LH_CRON_DOW_STAR},
    {"50/5 23 * * *", 1ull << 50 | 1ull << 55, 1u << 23, ALL_DOM, ALL_MON, ALL_DOW,
     LH_CRON_DOM_STAR | LH_CRON_DOW_STAR},
    {"0 0 */10 * *", 1, 1, 1u << 1 | 1u << 11 | 1u << 21 | 1u << 31, ALL_MON, ALL_DOW,
     LH_CRON_DOM_STAR | LH_CRON_DOW_STAR},
    {"0 0 1 Jan-MAR,dec Sun,sat", 1, 1, 2, 0x000e | 0x1000, 0x41, 0},
    {"0 0 1 * 7", 1, 1, 2, ALL_MON, 1, 0},
    {"0 0 1 * 5-7", 1, 1, 2, ALL_MON, 0x61, 0},
    {"0 0 1 * */2", 1, 1, 2, ALL_MON, 0x55, LH_CRON_DOW_STAR},
    {"0 0 1 * mon/2", 1, 1, 2, ALL_MON, 0x2a | 0x01, 0},
    {"59 23 31 12 6", 1ull << 59, 1u << 23, 1u << 31, 1u << 12, 1u << 6, 0},
    {"* 2 * * *", ALL_MIN, 4, ALL_DOM, ALL_MON, ALL_DOW,
     LH_CRON_MIN_STAR | LH_CRON_DOM_STAR | LH_CRON_DOW_STAR},
    {"@weekly", 1, 1, ALL_DOM, ALL_MON, 1, LH_CRON_DOM_STAR},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        struct lh_cron cron;
        struct lh_error err;
        lh_error_clear(&err);
        if (lh_cron_parse(&cron, c->expr, &err) != LH_OK)
            fail_msg("'%s': %s", c->expr, err.msg);
        if (cron.minutes != c->minutes || cron.hours != c->hours || cron.dom != c->dom ||
            cron.months != c->months || cron.dow != c->dow || cron.flags != c->flags)
            fail_msg("'%s': got min=%llx hr=%x dom=%x mon=%x dow=%x flags=%x", c->expr,
                     (unsigned long long)cron.minutes, cron.hours, cron.dom, cron.months, cron.dow,
                     cron.flags);
    }
    struct lh_cron cron;
    assert_int_equal(lh_cron_parse(&cron, "*/5 3 * * *", NULL), LH_OK);
    assert_true(lh_cron_is_wildcard(&cron));
    assert_int_equal(lh_cron_parse(&cron, "0 */2 * * *", NULL), LH_OK);
    assert_true(lh_cron_is_wildcard(&cron));
    assert_int_equal(lh_cron_parse(&cron, "0-59 0-23 * * *", NULL), LH_OK);
    assert_false(lh_cron_is_wildcard(&cron)); /* same minutes, but not starred */
}

struct err_case {
    const char *expr, *msg;
};

static const struct err_case err_cases[] = {
    {"0 0 32 * *", "cron: day-of-month: 32 out of range 1-31"},
    {"0 0 0 * *", "cron: day-of-month: 0 out of range 1-31"},
    {"60 * * * *", "cron: minute: 60 out of range 0-59"},
    {"0 24 * * *", "cron: hour: 24 out of range 0-23"},
    {"0 0 * 13 *", "cron: month: 13 out of range 1-12"},
    {"0 0 * 0 *", "cron: month: 0 out of range 1-12"},
    {"0 0 * * 8", "cron: day-of-week: 8 out of range 0-7"},
    {"99999999999999999999 * * * *", "cron: minute: 99999999999999999999 out of range 0-59"},
    {"0 0 30 2 *", "cron: day-of-month: '30' never occurs in month '2'"},
    {"0 0 31 4,6,9,11 *", "cron: day-of-month: '31' never occurs in month '4,6,9,11'"},
    {"0 0 30,31 feb *", "cron: day-of-month: '30,31' never occurs in month 'feb'"},
    {"0 0 31 2 */2", "cron: day-of-month: '31' never occurs in month '2'"},
    {"* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
    {"* * * * * *",
     "cron: expected 5 fields (minute hour day-of-month month day-of-week), found 6"},
    {"", "cron: empty expression"},
    {"   ", "cron: empty expression"},
    {"@reboot", "cron: unknown macro '@reboot'"},
    {"@daily *", "cron: unknown macro '@daily *'"},
    {"5-1 * * * *", "cron: minute: range 5-1 is backwards"},
    {"*/0 * * * *", "cron: minute: step 0 out of range 1-60"},
    {"*/61 * * * *", "cron: minute: step 61 out of range 1-60"},
    {"0 */ * * *", "cron: hour: missing step in '*/'"},
    {"1,,2 * * * *", "cron: minute: empty list element"},
    {"1, * * * *", "cron: minute: empty list element"},
    {"1-x * * * *", "cron: minute: unexpected 'x' in '1-x'"},
    {"1x * * * *", "cron: minute: unexpected 'x' in '1x'"},
    {"** * * * *", "cron: minute: unexpected '*' in '**'"},
    {"0 0 * foo *", "cron: month: unknown name 'foo'"},
    {"0 0 * * monday", "cron: day-of-week: unknown name 'monday'"},
    {"0 mon * * *", "cron: hour: unexpected 'm' in 'mon'"},
    {"0 0 * jan- *", "cron: month: missing value in 'jan-'"},
    {"0 0 * * -1", "cron: day-of-week: unexpected '-' in '-1'"},
    {"0 0 \x01 * *", "cron: day-of-month: unexpected byte 0x01 in '\x01'"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        struct lh_cron cron;
        struct lh_error err;
        lh_error_clear(&err);
        enum lh_status st = lh_cron_parse(&cron, err_cases[i].expr, &err);
        if (st != LH_E_INVAL || strcmp(err.msg, err_cases[i].msg) != 0)
            fail_msg("'%s': status %d message '%s', want '%s'", err_cases[i].expr, (int)st, err.msg,
                     err_cases[i].msg);
    }
    char big[LH_CRON_EXPR_MAX + 10];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct lh_cron cron;
    assert_int_equal(lh_cron_parse(&cron, big, NULL), LH_E_INVAL);
    assert_int_equal(lh_cron_parse(&cron, NULL, NULL), LH_E_INVAL);
}

/* ------------------------------------------------------------------ zones */

struct local_case {
    const char *tz, *utc;
    int32_t offset;
    bool dst;
};

static const struct local_case local_cases[] = {
    {"America/New_York", "2026-03-08T06:59:59Z", -5 * 3600, false},
    {"America/New_York", "2026-03-08T07:00:00Z", -4 * 3600, true},
    {"America/New_York", "2026-11-01T05:59:59Z", -4 * 3600, true},
    {"America/New_York", "2026-11-01T06:00:00Z", -5 * 3600, false},
    {"America/New_York", "2050-07-01T00:00:00Z", -4 * 3600, true}, /* footer rule */
    {"America/New_York", "2050-12-01T00:00:00Z", -5 * 3600, false},
    {"America/New_York", "1800-01-01T00:00:00Z", -17762, false}, /* LMT */
    {"Australia/Lord_Howe", "2026-04-04T14:59:59Z", 11 * 3600, true},
    {"Australia/Lord_Howe", "2026-04-04T15:00:00Z", 10 * 3600 + 1800, false},
    {"Australia/Lord_Howe", "2026-10-03T15:30:00Z", 11 * 3600, true},
    {"Africa/Cairo", "2026-04-23T21:59:59Z", 2 * 3600, false},
    {"Africa/Cairo", "2026-04-23T22:00:00Z", 3 * 3600, true},
    {"Africa/Cairo", "2026-10-29T21:00:00Z", 2 * 3600, false},
    {"Asia/Kolkata", "2026-06-01T00:00:00Z", 5 * 3600 + 1800, false},
    {"Asia/Kolkata", "2100-06-01T00:00:00Z", 5 * 3600 + 1800, false},
    {"Europe/London", "2026-07-01T00:00:00Z", 3600, true},
    {"UTC", "2026-07-01T00:00:00Z", 0, false},
};

struct l2u_case {
    const char *tz, *local; /* wall time written as if UTC */
    int n;
    const char *u0, *u1;
};

static const struct l2u_case l2u_cases[] = {
    {"America/New_York", "2026-03-08T01:59:00Z", 1, "2026-03-08T06:59:00Z", NULL},
    {"America/New_York", "2026-03-08T02:30:00Z", 0, "2026-03-08T07:00:00Z", NULL},
    {"America/New_York", "2026-03-08T03:00:00Z", 1, "2026-03-08T07:00:00Z", NULL},
    {"America/New_York", "2026-11-01T01:30:00Z", 2, "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"},
    {"America/New_York", "2026-11-01T02:00:00Z", 1, "2026-11-01T07:00:00Z", NULL},
    {"America/New_York", "2045-11-05T01:00:00Z", 2, "2045-11-05T05:00:00Z", "2045-11-05T06:00:00Z"},
    {"Australia/Lord_Howe", "2026-10-04T02:15:00Z", 0, "2026-10-03T15:30:00Z", NULL},
    {"Australia/Lord_Howe", "2026-04-05T01:45:00Z", 2, "2026-04-04T14:45:00Z",
     "2026-04-04T15:15:00Z"},
    {"Africa/Cairo", "2026-04-24T00:00:00Z", 0, "2026-04-23T22:00:00Z", NULL},
    {"Africa/Cairo", "2026-10-29T23:00:00Z", 2, "2026-10-29T20:00:00Z", "2026-10-29T21:00:00Z"},
    {"Africa/Cairo", "2026-10-30T00:00:00Z", 1, "2026-10-29T22:00:00Z", NULL},
    {"Asia/Kolkata", "2026-03-08T02:30:00Z", 1, "2026-03-07T21:00:00Z", NULL},
    {"Europe/London", "2026-03-29T01:30:00Z", 0, "2026-03-29T01:00:00Z", NULL},
    {"Europe/London", "2026-10-25T01:30:00Z", 2, "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
};

static void test_tz_conversions(void **state)
{
    (void)state;
    char b1[48];
    for (size_t i = 0; i < sizeof local_cases / sizeof local_cases[0]; i++) {
        const struct local_case *c = &local_cases[i];
        struct lh_tz_local l;
        lh_tz_to_local(zone(c->tz), iso(c->utc), &l);
        if (l.offset != c->offset || l.is_dst != c->dst || l.local != iso(c->utc) + c->offset)
            fail_msg("%s %s: offset %d dst %d", c->tz, c->utc, l.offset, l.is_dst);
    }
    for (size_t i = 0; i < sizeof l2u_cases / sizeof l2u_cases[0]; i++) {
        const struct l2u_case *c = &l2u_cases[i];
        int64_t u[2] = {0, 0};
        int n = lh_tz_local_to_utc(zone(c->tz), iso(c->local), u);
        if (n != c->n || u[0] != iso(c->u0) || (c->u1 && u[1] != iso(c->u1)))
            fail_msg("%s local %s: n=%d u0=%s", c->tz, c->local, n, fmt(u[0], b1));
    }
    assert_string_equal(lh_tz_name(zone("Europe/London")), "Europe/London");
    assert_string_equal(lh_tz_name(lh_tz_utc()), "UTC");
}

static void test_tz_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum lh_status st;
    } cases[] = {
        {"../etc/passwd", LH_E_INVAL},
        {"/etc/localtime", LH_E_INVAL},
        {"America/../../etc", LH_E_INVAL},
        {"America//New_York", LH_E_INVAL},
        {"./UTC", LH_E_INVAL},
        {"", LH_E_INVAL},
        {"Europe/Berlin\n", LH_E_INVAL},
        {"Europe/Ber lin", LH_E_INVAL},
        {"America/", LH_E_INVAL},
        {"Mars/Olympus_Mons", LH_E_NOTFOUND},
        {"America", LH_E_NOTFOUND},
        {"Etc/GMT+5", LH_OK},
        {"America/Argentina/Buenos_Aires", LH_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct lh_tz *tz = NULL;
        struct lh_error err;
        lh_error_clear(&err);
        enum lh_status st = lh_tz_load(cases[i].name, &tz, &err);
        if (st != cases[i].st)
            fail_msg("'%s': status %d (%s)", cases[i].name, (int)st, err.msg);
        assert_true((st == LH_OK) == (tz != NULL));
    }
    struct lh_tz_local l;
    lh_tz_to_local(zone("Etc/GMT+5"), 0, &l);
    assert_int_equal(l.offset, -5 * 3600);
    /* the same zone loads once: same handle */
    assert_ptr_equal(zone("Europe/London"), zone("Europe/London"));
}

/* A hand-made "slim" v2 file: no transitions at all, only the footer rule
 * EST5EDT,M3.2.0,M11.1.0, so every answer comes from the POSIX TZ string. */
static size_t slim_file(uint8_t *out, const char *footer)
{
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        memcpy(out + n, "TZif2", 5);
        memset(out + n + 5, 0, 39);
        out[n + 39] = 1; /* typecnt */
        out[n + 43] = 4; /* charcnt */
        n += 44;
        static const uint8_t type[6] = {0xff, 0xff, 0xb9, 0xb0, 0, 0}; /* -18000, std */
        memcpy(out + n, type, 6);
        memcpy(out + n + 6, "EST", 4);
        n += 10;
    }
    size_t fl = strlen(footer);
    out[n++] = '\n';
    memcpy(out + n, footer, fl);
    n += fl;
    out[n++] = '\n';
    return n;
}

static void test_tz_footer_only(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = slim_file(buf, "EST5EDT,M3.2.0,M11.1.0");
    struct lh_tz *tz = NULL;
    struct lh_error err;
    lh_error_clear(&err);
    assert_int_equal(lh_tz_parse(buf, n, "Slim/New_York", &tz, &err), LH_OK);
    struct lh_cron cron;
    assert_int_equal(lh_cron_parse(&cron, "30 2 * * *", &err), LH_OK);
    int64_t next;
    assert_int_equal(lh_cron_next(&cron, tz, iso("2026-03-07T12:00:00Z"), &next, &err), LH_OK);
    assert_int_equal(next, iso("2026-03-08T07:00:00Z"));
    assert_int_equal(lh_cron_parse(&cron, "0 * * * *", &err), LH_OK);
    assert_int_equal(lh_cron_next(&cron, tz, iso("2026-11-01T05:00:00Z"), &next, &err), LH_OK);
    assert_int_equal(next, iso("2026-11-01T06:00:00Z"));
    lh_tz_destroy(tz);

    /* Southern hemisphere, 30-minute DST, v3 time past 24h: parse and answer */
    n = slim_file(buf, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
    assert_int_equal(lh_tz_parse(buf, n, "Slim/Lord_Howe", &tz, &err), LH_OK);
    struct lh_tz_local l;
    lh_tz_to_local(tz, iso("2026-04-04T14:59:59Z"), &l);
    assert_int_equal(l.offset, 11 * 3600);
    lh_tz_to_local(tz, iso("2026-04-04T15:00:00Z"), &l);
    assert_int_equal(l.offset, 10 * 3600 + 1800);
    lh_tz_destroy(tz);
    n = slim_file(buf, "EET-2EEST,M4.5.5/0,M10.5.4/24");
    assert_int_equal(lh_tz_parse(buf, n, "Slim/Cairo", &tz, &err), LH_OK);
    lh_tz_to_local(tz, iso("2026-10-29T20:59:59Z"), &l);
    assert_int_equal(l.offset, 3 * 3600);
    lh_tz_to_local(tz, iso("2026-10-29T21:00:00Z"), &l);
    assert_int_equal(l.offset, 2 * 3600);
    lh_tz_destroy(tz);

    /* and through TZDIR */
    char dir[] = "/tmp/lh_tzdir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128], path[160];
    snprintf(sub, sizeof sub, "%s/Test", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/Zone", sub);
    n = slim_file(buf, "EST5EDT,M3.2.0,M11.1.0");
    assert_int_equal(lh_file_write_atomic(path, buf, n, &err), LH_OK);
    const char *old = getenv("TZDIR");
    setenv("TZDIR", dir, 1);
    const struct lh_tz *ctz = NULL;
    assert_int_equal(lh_tz_load("Test/Zone", &ctz, &err), LH_OK);
    lh_tz_to_local(ctz, iso("2026-07-01T00:00:00Z"), &l);
    assert_int_equal(l.offset, -4 * 3600);
    assert_int_equal(lh_tz_load("America/New_York", &ctz, &err), LH_E_NOTFOUND);
    if (old)
        setenv("TZDIR", old, 1);
    else
        unsetenv("TZDIR");
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* A version-1 file (32-bit times, no footer): one transition, EST -> EDT
 * at 2026-03-08T07:00:00Z (0x69AD1E70), then EDT for ever. */
static void test_tz_v1(void **state)
{
    (void)state;
    static const uint8_t v1[] = {
        'T',  'Z',  'i',  'f',  0,   0,   0,   0, 0, 0, 0,    0,    0,    0,    0, 0, 0,
        0,    0,    0,    0,    0,   0,   0,   0, 0, 0, 0,    0,    0,    0,    0, 0, 0,
        0,    1,    0,    0,    0,   2,   0,   0, 0, 8, 0x69, 0xad, 0x1e, 0x70, /* transition time
                                                                                 */
        1,                                                                      /* -> type 1 */
        0xff, 0xff, 0xb9, 0xb0, 0,   0, /* type 0: -18000 EST */
        0xff, 0xff, 0xc7, 0xc0, 1,   4, /* type 1: -14400 EDT */
        'E',  'S',  'T',  0,    'E', 'D', 'T', 0,
    };
    struct lh_tz *tz = NULL;
    struct lh_error err;
    lh_error_clear(&err);
    assert_int_equal(lh_tz_parse(v1, sizeof v1, "v1", &tz, &err), LH_OK);
    struct lh_tz_local l;
    lh_tz_to_local(tz, iso("2026-03-08T06:59:59Z"), &l);
    assert_int_equal(l.offset, -18000);
    assert_false(l.is_dst);
    lh_tz_to_local(tz, iso("2026-03-08T07:00:00Z"), &l);
    assert_int_equal(l.offset, -14400);
    assert_true(l.is_dst);
    lh_tz_to_local(tz, iso("2030-12-01T00:00:00Z"), &l); /* no footer: last type stays */
    assert_int_equal(l.offset, -14400);
    lh_tz_destroy(tz);
    /* a transition type past the type count is refused */
    uint8_t bad[sizeof v1];
    memcpy(bad, v1, sizeof v1);
    bad[48] = 2;
    assert_int_equal(lh_tz_parse(bad, sizeof bad, "v1", &tz, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "transition type 2 out of range"));
}

static void test_tz_bad_files(void **state)
{
    (void)state;
    uint8_t *data = NULL;
    size_t len = 0;
    struct lh_error err;
    lh_error_clear(&err);
    assert_int_equal(
        lh_file_read_all("/usr/share/zoneinfo/America/New_York", 1 << 20, &data, &len, &err),
        LH_OK);
    struct lh_tz *tz = NULL;
    assert_int_equal(lh_tz_parse(data, len, "NY", &tz, &err), LH_OK);
    lh_tz_destroy(tz);
    /* every truncation fails cleanly (the footer's closing newline is last) */
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact-size copy: ASan sees overreads */
        memcpy(copy, data, n);
        tz = NULL;
        if (lh_tz_parse(copy, n, "NY", &tz, &err) == LH_OK)
            fail_msg("truncated to %zu bytes parsed", n);
        assert_null(tz);
        free(copy);
    }
    /* corrupt bytes: parse or fail, but never crash or loop; what parses answers */
    struct lh_cron cron;
    assert_int_equal(lh_cron_parse(&cron, "*/30 * * * *", &err), LH_OK);
    uint32_t seed = 12345;
    for (int round = 0; round < 3000; round++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % len] = (uint8_t)(seed >> 3);
        }
        tz = NULL;
        if (lh_tz_parse(copy, len, "x", &tz, &err) == LH_OK) {
            int64_t next, u[2];
            struct lh_tz_local l;
            lh_tz_to_local(tz, iso("2026-03-08T07:00:00Z"), &l);
            (void)lh_tz_local_to_utc(tz, l.local, u);
            if (lh_cron_next(&cron, tz, iso("2026-11-01T05:00:00Z"), &next, &err) == LH_OK)
                assert_true(next > iso("2026-11-01T05:00:00Z"));
            lh_tz_destroy(tz);
        }
        free(copy);
    }
    static const char *const garbage[] = {
        "",
        "TZif",
        "TZif2",
        "TZif5xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "not a zone file at all, just some text that is long enough for a header",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        assert_int_not_equal(
            lh_tz_parse((const uint8_t *)garbage[i], strlen(garbage[i]), "g", &tz, &err), LH_OK);
        assert_int_equal(err.status, LH_E_FORMAT);
    }
    /* a bad footer is rejected with the reason */
    uint8_t buf[256];
    size_t n = slim_file(buf, "EST5EDT,M13.2.0,M11.1.0");
    assert_int_equal(lh_tz_parse(buf, n, "bad", &tz, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "bad TZ footer"));
    free(data);
}

/* Zones are loaded and used from several threads at once. */
static void *tz_thread(void *arg)
{
    static const char *const names[] = {"America/New_York", "Africa/Cairo", "Australia/Lord_Howe",
                                        "Asia/Kolkata", "Europe/Paris"};
    const struct lh_tz **seen = arg;
    struct lh_cron cron;
    if (lh_cron_parse(&cron, "0 * * * *", NULL) != LH_OK)
        return (void *)1;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 5; i++) {
            const struct lh_tz *tz = NULL;
            if (lh_tz_load(names[i], &tz, NULL) != LH_OK)
                return (void *)1;
            seen[i] = tz;
            int64_t next;
            if (lh_cron_next(&cron, tz, 1793500000 + round * 3600, &next, NULL) != LH_OK)
                return (void *)1;
        }
    }
    return NULL;
}

static void test_tz_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    const struct lh_tz *seen[4][5];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, tz_thread, seen[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        assert_int_equal(pthread_join(th[i], &rv), 0);
        assert_null(rv);
    }
    for (int i = 1; i < 4; i++)
        for (int z = 0; z < 5; z++)
            assert_ptr_equal(seen[i][z], seen[0][z]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),    cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_next_table),     cmocka_unit_test(test_next_search_bound),
        cmocka_unit_test(test_tz_conversions), cmocka_unit_test(test_tz_names),
        cmocka_unit_test(test_tz_footer_only), cmocka_unit_test(test_tz_v1),
        cmocka_unit_test(test_tz_bad_files),   cmocka_unit_test(test_tz_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
