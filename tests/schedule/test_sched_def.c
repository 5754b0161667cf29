/*
 * test_sched_def.c — schedule definitions: the reference's JSON loads
 * unchanged, round trips keep every field, unknown fields are tolerated,
 * validation names the field, DSN secrets are sealed, run records, backoff
 * bounds and how a finished run moves a schedule on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schedule/schedule.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct lh_schedule_key key_a, key_b;

static int setup(void **state)
{
    (void)state;
    struct lh_error err;
    if (lh_schedule_key_from_text(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key_a, &err) !=
        LH_OK)
        return -1;
    if (lh_schedule_key_from_text("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", &key_b, &err) !=
        LH_OK)
        return -1;
    return 0;
}

static int64_t iso(const char *s)
{
    int64_t us;
    if (lh_time_parse_iso(s, &us, NULL) != LH_OK)
        fail_msg("bad time %s", s);
    return us;
}

/* s with the first `from` replaced by `to`; caller frees. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *o = malloc(n);
    snprintf(o, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return o;
}

static char *to_json(const struct lh_schedule *d)
{
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, 0);
    assert_int_equal(lh_schedule_to_json(d, &b, &err), LH_OK);
    lh_buf_cstr(&b);
    size_t n;
    return (char *)lh_buf_take(&b, &n);
}

/* DESIGN.md §3, with last_outcome.at a real time (the document's "..." is
 * an elision that the reference's chrono rejects too; see below). */
static const char design_json[] =
    "{\n"
    "  \"id\": \"customers-hourly\",\n"
    "  \"kind\": {\"type\": \"mysql\", \"dsn\": \"mysql://user:pass@host:3306/shop\",\n"
    "           \"table\": \"customers\", \"dataset_name\": null, \"batch_size\": null,\n"
    "           \"order_by\": null},\n"
    "  \"trigger\": {\"type\": \"interval\", \"secs\": 3600},\n"
    "  \"enabled\": true,\n"
    "  \"created_at\": \"2026-04-16T20:36:04Z\",\n"
    "  \"created_by\": \"ops\",\n"
    "  \"next_run_at\": \"2026-04-16T20:36:04Z\",\n"
    "  \"last_run_at\": null,\n"
    "  \"last_outcome\": {\"at\": \"2026-04-16T20:37:00Z\", \"success\": true, \"message\": "
    "\"rows=11 dataset=customers bytes=2048\",\n"
    "                   \"rows\": 11, \"duration_secs\": 0.42},\n"
    "  \"run_count\": 0,\n"
    "  \"failure_count\": 0\n"
    "}\n";

static void test_design_json_loads(void **state)
{
    (void)state;
    struct lh_schedule d;
    struct lh_error err;
    bool sealed;
    assert_int_equal(
        lh_schedule_from_json(design_json, strlen(design_json), &key_a, &d, &sealed, &err), LH_OK);
    assert_true(sealed);
    assert_string_equal(d.id, "customers-hourly");
    assert_int_equal(d.kind, LH_SCHED_MYSQL);
    assert_string_equal(d.dsn, "mysql://user:***@host:3306/shop");
    assert_true(strncmp(d.dsn_secret, "v1:", 3) == 0);
    assert_string_equal(d.table, "customers");
    assert_string_equal(d.dataset_name, "");
    assert_false(d.has_batch_size);
    assert_int_equal(d.trigger.kind, LH_TRIGGER_INTERVAL);
    assert_int_equal(d.trigger.interval_secs, 3600);
    assert_int_equal(d.trigger.anchor, LH_ANCHOR_COMPLETION);
    assert_true(d.enabled);
    assert_int_equal(d.created_at_us, iso("2026-04-16T20:36:04Z"));
    assert_string_equal(d.created_by, "ops");
    assert_int_equal(d.next_run_at_us, iso("2026-04-16T20:36:04Z"));
    assert_false(d.has_last_run);
    assert_true(d.last_outcome.present && d.last_outcome.success);
    assert_string_equal(d.last_outcome.message, "rows=11 dataset=customers bytes=2048");
    assert_true(d.last_outcome.has_rows);
    assert_int_equal(d.last_outcome.rows, 11);
    assert_true(d.last_outcome.duration_secs > 0.419 && d.last_outcome.duration_secs < 0.421);
    /* defaults of the additions */
    assert_int_equal(d.retry.max_attempts, LH_RETRY_DEFAULT_ATTEMPTS);
    assert_int_equal(d.catch_up, LH_CATCH_UP_ONCE);
    assert_int_equal(d.mode, LH_SCHED_OVERWRITE);
    assert_int_equal(d.timeout_secs, 0);

    char full[LH_SCHEDULE_DSN_MAX];
    assert_int_equal(lh_schedule_dsn_reveal(&d, &key_a, full, sizeof full, &err), LH_OK);
    assert_string_equal(full, "mysql://user:pass@host:3306/shop");

    /* re-written: the password bytes are gone from the file */
    char *j = to_json(&d);
    assert_null(strstr(j, ":pass@"));
    assert_non_null(strstr(j, "\"dsn\": \"mysql://user:***@host:3306/shop\""));
    assert_non_null(strstr(j, "\"duration_secs\": 0.42"));
    free(j);

    /* the document's literal "..." is refused, naming the field */
    char *lit = replace(design_json, "2026-04-16T20:37:00Z", "...");
    assert_int_equal(lh_schedule_from_json(lit, strlen(lit), &key_a, &d, NULL, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "last_outcome.at"));
    free(lit);
}

/* Files shaped as the reference writes them (serde_json to_vec_pretty). */
struct ref_case {
    const char *json;
    const char *id;
    enum lh_schedule_source kind;
    enum lh_trigger_kind trig;
    const char *dsn_shown; /* dsn after loading */
    bool sealed;
    bool has_last_run;
    uint64_t runs, failures;
};

static const struct ref_case ref_cases[] = {
    {"{\"id\":\"pg-orders\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgresql://etl:"
     "h%40rd@db:5432/shop\",\"table\":\"public.orders\",\"dataset_name\":\"orders\","
     "\"batch_size\":5000,\"order_by\":\"id\"},\"trigger\":{\"type\":\"interval\",\"secs\":2},"
     "\"enabled\":false,\"created_at\":\"2026-04-16T20:36:04.123456789Z\",\"created_by\":\"\","
     "\"next_run_at\":\"2026-04-16T20:36:06.5Z\",\"last_run_at\":\"2026-04-16T20:36:05.25Z\","
     "\"last_outcome\":{\"at\":\"2026-04-16T20:36:05.25Z\",\"success\":false,\"message\":"
     "\"connect: timeout\",\"rows\":null,\"duration_secs\":1},\"run_count\":7,"
     "\"failure_count\":2}",
     "pg-orders", LH_SCHED_POSTGRES, LH_TRIGGER_INTERVAL, "postgresql://etl:***@db:5432/shop", true,
     true, 7, 2},
    /* the reference's cron variant, optional fields absent (serde defaults) */
    {"{\"id\":\"nightly\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://ro@h/db\",\"table\":"
     "\"t\"},\"trigger\":{\"type\":\"cron\",\"expr\":\"0 2 * * *\"},\"enabled\":true,"
     "\"created_at\":\"2026-01-01T00:00:00Z\",\"next_run_at\":\"2026-01-02T02:00:00Z\"}",
     "nightly", LH_SCHED_MYSQL, LH_TRIGGER_CRON, "mysql://ro@h/db", false, false, 0, 0},
    /* a time with an offset, as chrono accepts */
    {"{\"id\":\"x_1\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mariadb://a:b@h:3307/d\",\"table\":"
     "\"c\",\"dataset_name\":null,\"batch_size\":null,\"order_by\":null},\"trigger\":{\"type\":"
     "\"interval\",\"secs\":86400},\"enabled\":true,\"created_at\":\"2026-04-16T22:36:04+02:00\","
     "\"created_by\":\"api\",\"next_run_at\":\"2026-04-16T20:36:04Z\",\"last_run_at\":null,"
     "\"last_outcome\":null,\"run_count\":0,\"failure_count\":0}",
     "x_1", LH_SCHED_MYSQL, LH_TRIGGER_INTERVAL, "mariadb://a:***@h:3307/d", true, false, 0, 0},
};

static void test_reference_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ref_cases / sizeof ref_cases[0]; i++) {
        const struct ref_case *c = &ref_cases[i];
        struct lh_schedule d, d2;
        struct lh_error err;
        bool sealed;
        if (lh_schedule_from_json(c->json, strlen(c->json), &key_a, &d, &sealed, &err) != LH_OK)
            fail_msg("case %zu: %s", i, err.msg);
        assert_string_equal(d.id, c->id);
        assert_int_equal(d.kind, c->kind);
        assert_int_equal(d.trigger.kind, c->trig);
        assert_string_equal(d.dsn, c->dsn_shown);
        assert_int_equal(sealed, c->sealed);
        assert_int_equal(d.has_last_run, c->has_last_run);
        assert_int_equal(d.run_count, c->runs);
        assert_int_equal(d.failure_count, c->failures);
        /* round trip: serialise, parse, serialise again: identical */
        char *j1 = to_json(&d);
        if (lh_schedule_from_json(j1, strlen(j1), &key_a, &d2, &sealed, &err) != LH_OK)
            fail_msg("case %zu round trip: %s", i, err.msg);
        assert_false(sealed);
        char *j2 = to_json(&d2);
        assert_string_equal(j1, j2);
        assert_int_equal(d2.created_at_us, d.created_at_us);
        assert_int_equal(d2.next_run_at_us, d.next_run_at_us);
        assert_string_equal(d2.dsn_secret, d.dsn_secret);
        free(j1);
        free(j2);
    }
    /* specific values of case 0 */
    struct lh_schedule d;
    assert_int_equal(
        lh_schedule_from_json(ref_cases[0].json, strlen(ref_cases[0].json), &key_a, &d, NULL, NULL),
        LH_OK);
    assert_int_equal(d.created_at_us % 1000000, 123456);
    assert_true(d.has_batch_size && d.batch_size == 5000);
    assert_string_equal(d.order_by, "id");
    assert_string_equal(d.dataset_name, "orders");
    assert_false(d.last_outcome.has_rows);
    assert_true(d.last_outcome.duration_secs == 1.0);
    char full[LH_SCHEDULE_DSN_MAX];
    assert_int_equal(lh_schedule_dsn_reveal(&d, &key_a, full, sizeof full, NULL), LH_OK);
    assert_string_equal(full, "postgresql://etl:h%40rd@db:5432/shop");
}

static void test_round_trip_every_field(void **state)
{
    (void)state;
    struct lh_schedule d, d2;
    struct lh_error err;
    lh_schedule_init(&d, "all-fields", iso("2026-05-01T10:00:00.5Z"));
    d.kind = LH_SCHED_POSTGRES;
    snprintf(d.dsn, sizeof d.dsn, "postgres://app@db:5432/x?sslmode=require");
    snprintf(d.password_env, sizeof d.password_env, "PGPASS_APP");
    snprintf(d.table, sizeof d.table, "sales.events");
    snprintf(d.dataset_name, sizeof d.dataset_name, "events");
    d.has_batch_size = true;
    d.batch_size = 10000;
    snprintf(d.order_by, sizeof d.order_by, "id");
    d.mode = LH_SCHED_INCREMENTAL;
    snprintf(d.cursor_column, sizeof d.cursor_column, "updated_at");
    d.has_limit = true;
    d.limit = 500;
    d.parallel = 4;
    d.trigger.kind = LH_TRIGGER_CRON;
    snprintf(d.cron_expr, sizeof d.cron_expr, "30 2 * * mon-fri");
    snprintf(d.tz_name, sizeof d.tz_name, "Europe/Berlin");
    d.enabled = false;
    snprintf(d.created_by, sizeof d.created_by, "ops");
    d.has_last_run = true;
    d.last_run_at_us = iso("2026-05-02T00:31:00Z");
    d.last_outcome.present = true;
    d.last_outcome.at_us = d.last_run_at_us;
    d.last_outcome.success = false;
    snprintf(d.last_outcome.message, sizeof d.last_outcome.message, "boom \"quoted\"\n");
    d.last_outcome.duration_secs = 2.5;
    d.run_count = 12;
    d.failure_count = 3;
    d.retry = (struct lh_schedule_retry){5, 10, 600};
    d.timeout_secs = 900;
    d.catch_up = LH_CATCH_UP_SKIP;
    snprintf(d.description, sizeof d.description, "nightly events");
    d.auto_pause_after = 4;
    d.consecutive_failures = 2;
    snprintf(d.paused_reason, sizeof d.paused_reason, "maintenance");
    d.retry_attempt = 2;
    d.retry_target_us = iso("2026-05-02T00:30:00Z");
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    char *j = to_json(&d);
    assert_int_equal(lh_schedule_from_json(j, strlen(j), &key_a, &d2, NULL, &err), LH_OK);
    char *j2 = to_json(&d2);
    assert_string_equal(j, j2);
    assert_string_equal(d2.password_env, "PGPASS_APP");
    assert_int_equal(d2.mode, LH_SCHED_INCREMENTAL);
    assert_string_equal(d2.cursor_column, "updated_at");
    assert_true(d2.has_limit && d2.limit == 500);
    assert_string_equal(d2.tz_name, "Europe/Berlin");
    assert_non_null(d2.trigger.tz);
    assert_int_equal(d2.retry.max_attempts, 5);
    assert_int_equal(d2.retry.base_secs, 10);
    assert_int_equal(d2.retry.cap_secs, 600);
    assert_int_equal(d2.timeout_secs, 900);
    assert_int_equal(d2.catch_up, LH_CATCH_UP_SKIP);
    assert_string_equal(d2.description, "nightly events");
    assert_int_equal(d2.auto_pause_after, 4);
    assert_int_equal(d2.consecutive_failures, 2);
    assert_string_equal(d2.paused_reason, "maintenance");
    assert_int_equal(d2.retry_attempt, 2);
    assert_int_equal(d2.retry_target_us, d.retry_target_us);
    assert_string_equal(d2.last_outcome.message, "boom \"quoted\"\n");
    assert_int_equal(d2.created_at_us, d.created_at_us);
    free(j);
    free(j2);
}

/* kind.query / kind.columns / kind.where: written only when set (a table
 * schedule keeps the reference's shape), read back equal; columns may be a
 * JSON array. */
static void test_query_columns_where(void **state)
{
    (void)state;
    struct lh_schedule d, d2;
    struct lh_error err;
    lh_schedule_init(&d, "q", iso("2026-05-01T10:00:00Z"));
    snprintf(d.dsn, sizeof d.dsn, "postgres://app@db/x");
    snprintf(d.table, sizeof d.table, "\"Mixed Case\"");
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    char *j = to_json(&d);
    assert_null(strstr(j, "\"query\""));
    assert_null(strstr(j, "\"columns\""));
    assert_null(strstr(j, "\"where\""));
    free(j);

    snprintf(d.columns, sizeof d.columns, "id,\"Some Col\"");
    snprintf(d.where, sizeof d.where, "id > 5\n AND region = 'eu'");
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    j = to_json(&d);
    assert_int_equal(lh_schedule_from_json(j, strlen(j), &key_a, &d2, NULL, &err), LH_OK);
    assert_string_equal(d2.columns, d.columns);
    assert_string_equal(d2.where, d.where);
    assert_string_equal(d2.table, d.table);
    free(j);

    d.table[0] = d.columns[0] = d.where[0] = 0;
    snprintf(d.query, sizeof d.query, "SELECT id, sum(x) AS total\nFROM t GROUP BY id");
    snprintf(d.dataset_name, sizeof d.dataset_name, "totals");
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    j = to_json(&d);
    assert_int_equal(lh_schedule_from_json(j, strlen(j), &key_a, &d2, NULL, &err), LH_OK);
    assert_string_equal(d2.query, d.query);
    assert_string_equal(d2.table, "");
    char *j2 = to_json(&d2);
    assert_string_equal(j, j2);
    free(j);
    free(j2);

    const char *arr = "{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\","
                      "\"table\":\"t\",\"columns\":[\"id\",\"name\"]},\"trigger\":{\"type\":"
                      "\"interval\",\"secs\":60},\"enabled\":true,\"created_at\":"
                      "\"2026-01-01T00:00:00Z\",\"next_run_at\":\"2026-01-01T00:00:00Z\"}";
    assert_int_equal(lh_schedule_from_json(arr, strlen(arr), &key_a, &d2, NULL, &err), LH_OK);
    assert_string_equal(d2.columns, "id,name");
    const char *badarr = "{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\","
                         "\"table\":\"t\",\"columns\":[1]},\"trigger\":{\"type\":"
                         "\"interval\",\"secs\":60},\"enabled\":true,\"created_at\":"
                         "\"2026-01-01T00:00:00Z\",\"next_run_at\":\"2026-01-01T00:00:00Z\"}";
    assert_int_not_equal(lh_schedule_from_json(badarr, strlen(badarr), &key_a, &d2, NULL, &err),
                         LH_OK);
    assert_non_null(strstr(err.msg, "kind.columns"));
}

static void test_unknown_fields_tolerated(void **state)
{
    (void)state;
    const char *j = "{\"id\":\"u\",\"future\":{\"a\":[1,2,{}]},\"kind\":{\"type\":\"mysql\","
                    "\"dsn\":\"mysql://r@h/d\",\"table\":\"t\",\"compression\":\"zstd\"},"
                    "\"trigger\":{\"type\":\"interval\",\"secs\":60,\"jitter\":5},"
                    "\"enabled\":true,\"created_at\":\"2026-01-01T00:00:00Z\","
                    "\"next_run_at\":\"2026-01-01T00:00:00Z\",\"owner\":\"x\"}";
    struct lh_schedule d;
    struct lh_error err;
    assert_int_equal(lh_schedule_from_json(j, strlen(j), &key_a, &d, NULL, &err), LH_OK);
    assert_int_equal(d.trigger.interval_secs, 60);
}

/* Issue 14: a new cron schedule first fires at its first cron time (the
 * clock is the argument); an interval one at once unless told later. */
static void test_first_run(void **state)
{
    (void)state;
    struct lh_schedule d;
    struct lh_error err;
    const int64_t now = iso("2026-12-07T12:06:00Z");
    lh_schedule_init(&d, "fr", now);
    d.trigger.kind = LH_TRIGGER_CRON;
    snprintf(d.cron_expr, sizeof d.cron_expr, "0 2 * * *");
    snprintf(d.tz_name, sizeof d.tz_name, "Europe/Berlin");
    snprintf(d.dsn, sizeof d.dsn, "postgres://u@h/d");
    snprintf(d.table, sizeof d.table, "t");
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    assert_int_equal(lh_schedule_first_run(&d, now, LH_FIRST_RUN_DEFAULT, &err), LH_OK);
    assert_true(d.next_run_at_us == iso("2026-12-08T01:00:00Z"));
    assert_int_equal(lh_schedule_first_run(&d, now, LH_FIRST_RUN_LATER, &err), LH_OK);
    assert_true(d.next_run_at_us == iso("2026-12-08T01:00:00Z"));
    assert_int_equal(lh_schedule_first_run(&d, now, LH_FIRST_RUN_NOW, &err), LH_OK);
    assert_true(d.next_run_at_us == now);
    /* on a cron time exactly: the next one, not this instant */
    const int64_t at2 = iso("2026-12-08T01:00:00Z");
    assert_int_equal(lh_schedule_first_run(&d, at2, LH_FIRST_RUN_DEFAULT, &err), LH_OK);
    assert_true(d.next_run_at_us == iso("2026-12-09T01:00:00Z"));

    d.trigger.kind = LH_TRIGGER_INTERVAL;
    d.trigger.interval_secs = 600;
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    assert_int_equal(lh_schedule_first_run(&d, now, LH_FIRST_RUN_DEFAULT, &err), LH_OK);
    assert_true(d.next_run_at_us == now);
    assert_int_equal(lh_schedule_first_run(&d, now, LH_FIRST_RUN_NOW, &err), LH_OK);
    assert_true(d.next_run_at_us == now);
    assert_int_equal(lh_schedule_first_run(&d, now, LH_FIRST_RUN_LATER, &err), LH_OK);
    assert_true(d.next_run_at_us == now + INT64_C(600) * 1000000);
}

/* Issue 14: the strict check of client bodies refuses unknown names at
 * every level and passes every shape we read or write ourselves. */
/* kind.schema_policy and kind.replace_source: defaults not written, the
 * others round-trip (pretty and compact), bad values name the field. */
static void test_schema_policy_replace_source(void **state)
{
    (void)state;
    struct lh_schedule d, d2;
    struct lh_error err;
    lh_schedule_init(&d, "p", iso("2026-05-01T10:00:00Z"));
    snprintf(d.dsn, sizeof d.dsn, "postgres://app@db/x");
    snprintf(d.table, sizeof d.table, "orders");
    assert_int_equal(d.schema_policy, LH_SCHED_SCHEMA_EVOLVE);
    assert_false(d.replace_source);
    char *j = to_json(&d);
    assert_null(strstr(j, "schema_policy"));
    assert_null(strstr(j, "replace_source"));
    assert_null(strstr(j, "no_resume"));
    free(j);
    d.schema_policy = LH_SCHED_SCHEMA_FAIL;
    d.replace_source = true;
    d.no_resume = true;
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    j = to_json(&d);
    assert_non_null(strstr(j, "\"schema_policy\": \"fail\""));
    assert_int_equal(lh_schedule_json_check_fields(j, strlen(j), &err), LH_OK);
    assert_int_equal(lh_schedule_from_json(j, strlen(j), &key_a, &d2, NULL, &err), LH_OK);
    assert_int_equal(d2.schema_policy, LH_SCHED_SCHEMA_FAIL);
    assert_true(d2.replace_source);
    assert_true(d2.no_resume);
    free(j);
    struct lh_buf b;
    lh_buf_init(&b, 1 << 20);
    assert_int_equal(lh_schedule_to_json_compact(&d, NULL, &b, &err), LH_OK);
    assert_int_equal(lh_schedule_from_json((char *)b.data, b.len, &key_a, &d2, NULL, &err), LH_OK);
    assert_int_equal(d2.schema_policy, LH_SCHED_SCHEMA_FAIL);
    assert_true(d2.replace_source);
    assert_true(d2.no_resume);
    lh_buf_reset(&b);

    static const struct {
        const char *kind_extra, *field;
    } bad[] = {{"\"schema_policy\":\"loose\"", "kind.schema_policy"},
               {"\"schema_policy\":1", "kind.schema_policy"},
               {"\"replace_source\":\"yes\"", "kind.replace_source"},
               {"\"no_resume\":1", "kind.no_resume"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[800];
        snprintf(doc, sizeof doc,
                 "{\"id\":\"a\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://h/d\","
                 "\"table\":\"t\",%s},\"trigger\":{\"type\":\"interval\",\"secs\":60},"
                 "\"enabled\":true,\"created_at\":\"2026-01-01T00:00:00Z\","
                 "\"next_run_at\":\"2026-01-01T00:00:00Z\"}",
                 bad[i].kind_extra);
        assert_int_not_equal(lh_schedule_from_json(doc, strlen(doc), &key_a, &d2, NULL, &err),
                             LH_OK);
        if (!strstr(err.msg, bad[i].field))
            fail_msg("%s: %s", bad[i].kind_extra, err.msg);
    }
}

static void test_check_fields(void **state)
{
    (void)state;
    struct lh_error err;
    assert_int_equal(lh_schedule_json_check_fields(design_json, strlen(design_json), &err), LH_OK);
    for (size_t i = 0; i < sizeof ref_cases / sizeof ref_cases[0]; i++)
        if (lh_schedule_json_check_fields(ref_cases[i].json, strlen(ref_cases[i].json), &err) !=
            LH_OK)
            fail_msg("ref case %zu: %s", i, err.msg);
    /* what we write: pretty and compact (with the run state GET adds), for
     * both trigger kinds, retry_state and last_outcome set */
    struct lh_schedule d;
    lh_schedule_init(&d, "w", iso("2026-05-01T10:00:00Z"));
    snprintf(d.dsn, sizeof d.dsn, "postgres://u@h/d");
    snprintf(d.query, sizeof d.query, "SELECT 1");
    snprintf(d.dataset_name, sizeof d.dataset_name, "q");
    d.last_outcome.present = true;
    d.retry_attempt = 1;
    d.timeout_secs = 5;
    d.auto_pause_after = 3;
    for (int k = 0; k < 2; k++) {
        d.trigger.kind = k ? LH_TRIGGER_CRON : LH_TRIGGER_INTERVAL;
        snprintf(d.cron_expr, sizeof d.cron_expr, "0 2 * * *");
        struct lh_buf b;
        lh_buf_init(&b, 1 << 20);
        assert_int_equal(lh_schedule_to_json(&d, &b, &err), LH_OK);
        assert_int_equal(lh_schedule_json_check_fields((char *)b.data, b.len, &err), LH_OK);
        lh_buf_clear(&b);
        const struct lh_schedule_json_opts o = {.run_state = true, .running = true,
                                                .active_run_id = "r1"};
        assert_int_equal(lh_schedule_to_json_compact(&d, &o, &b, &err), LH_OK);
        if (lh_schedule_json_check_fields((char *)b.data, b.len, &err) != LH_OK)
            fail_msg("compact: %s", err.msg);
        lh_buf_reset(&b);
    }
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"id\":\"x\",\"enable\":false}", "enable: unknown field"},
        {"{\"kind\":{\"type\":\"mysql\",\"tabel\":\"t\"}}", "kind.tabel: unknown field"},
        {"{\"trigger\":{\"type\":\"cron\",\"expr\":\"x\",\"secs\":1}}", "trigger.secs: unknown"},
        {"{\"trigger\":{\"type\":\"interval\",\"secs\":1,\"jitter\":5}}", "trigger.jitter:"},
        {"{\"retry\":{\"max_attempts\":1,\"base\":2}}", "retry.base:"},
        {"{\"retry_state\":{\"attempts\":1}}", "retry_state.attempts:"},
        {"{\"last_outcome\":{\"ok\":true}}", "last_outcome.ok:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (lh_schedule_json_check_fields(bad[i].json, strlen(bad[i].json), &err) != LH_E_FORMAT)
            fail_msg("bad case %zu passed", i);
        if (strncmp(err.msg, bad[i].field, strlen(bad[i].field)) != 0)
            fail_msg("bad case %zu: '%s' (want '%s...')", i, err.msg, bad[i].field);
    }
}

struct invalid_case {
    const char *what;
    void (*mutate)(struct lh_schedule *d);
    const char *want; /* substring of the message */
};

static void m_id_empty(struct lh_schedule *d)
{
    d->id[0] = '\0';
}
static void m_id_char(struct lh_schedule *d)
{
    snprintf(d->id, sizeof d->id, "a/b");
}
static void m_id_long(struct lh_schedule *d)
{
    memset(d->id, 'a', 150);
    d->id[150] = 0;
}
static void m_dsn_scheme(struct lh_schedule *d)
{
    snprintf(d->dsn, sizeof d->dsn, "postgres://h/d");
}
static void m_dsn_empty(struct lh_schedule *d)
{
    d->dsn[0] = 0;
}
static void m_table(struct lh_schedule *d)
{
    d->table[0] = 0;
}
static void m_table_query(struct lh_schedule *d)
{
    snprintf(d->query, sizeof d->query, "SELECT 1");
    snprintf(d->dataset_name, sizeof d->dataset_name, "q");
}
static void m_query_columns(struct lh_schedule *d)
{
    d->table[0] = 0;
    m_table_query(d);
    snprintf(d->columns, sizeof d->columns, "a,b");
}
static void m_query_where(struct lh_schedule *d)
{
    d->table[0] = 0;
    m_table_query(d);
    snprintf(d->where, sizeof d->where, "a > 1");
}
static void m_query_nodataset(struct lh_schedule *d)
{
    d->table[0] = 0;
    snprintf(d->query, sizeof d->query, "SELECT 1");
}
static void m_secs(struct lh_schedule *d)
{
    d->trigger.interval_secs = 0;
}
static void m_cron(struct lh_schedule *d)
{
    d->trigger.kind = LH_TRIGGER_CRON;
    snprintf(d->cron_expr, sizeof d->cron_expr, "61 * * * *");
}
static void m_tz(struct lh_schedule *d)
{
    d->trigger.kind = LH_TRIGGER_CRON;
    snprintf(d->cron_expr, sizeof d->cron_expr, "0 * * * *");
    snprintf(d->tz_name, sizeof d->tz_name, "Mars/Olympus_Mons");
}
static void m_incr(struct lh_schedule *d)
{
    d->mode = LH_SCHED_INCREMENTAL;
}
static void m_retry(struct lh_schedule *d)
{
    d->retry.cap_secs = 1;
}
static void m_dataset(struct lh_schedule *d)
{
    snprintf(d->dataset_name, 32, "../x");
}
static void m_env(struct lh_schedule *d)
{
    snprintf(d->password_env, 32, "1X");
}
static void m_batch(struct lh_schedule *d)
{
    d->has_batch_size = true;
    d->batch_size = 0;
}

static const struct invalid_case invalid_cases[] = {
    {"empty id", m_id_empty, "id: must not be empty"},
    {"id charset", m_id_char, "id: 'a/b' may contain only"},
    {"id length", m_id_long, "id: longer than 128"},
    {"dsn scheme", m_dsn_scheme, "kind.dsn: a mysql schedule needs"},
    {"dsn empty", m_dsn_empty, "kind.dsn: must not be empty"},
    {"table", m_table, "kind.table: give a table or a query"},
    {"table and query", m_table_query, "kind.query: give a table or a query, not both"},
    {"query and columns", m_query_columns, "kind.columns: only with a table"},
    {"query and where", m_query_where, "kind.where: only with a table"},
    {"query without dataset", m_query_nodataset, "kind.dataset_name: required with a query"},
    {"secs", m_secs, "trigger.secs: must be at least 1"},
    {"cron", m_cron, "trigger.expr: cron: minute"},
    {"tz", m_tz, "trigger.tz"},
    {"incremental", m_incr, "kind.cursor_column: required"},
    {"retry cap", m_retry, "retry.cap_secs"},
    {"dataset", m_dataset, "kind.dataset_name"},
    {"password_env", m_env, "kind.password_env"},
    {"batch", m_batch, "kind.batch_size"},
};

static void test_validation_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
        struct lh_schedule d;
        struct lh_error err;
        lh_schedule_init(&d, "ok-id", 0);
        d.kind = LH_SCHED_MYSQL;
        snprintf(d.dsn, sizeof d.dsn, "mysql://u@h/db");
        snprintf(d.table, sizeof d.table, "t");
        assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
        invalid_cases[i].mutate(&d);
        if (lh_schedule_validate(&d, true, &err) == LH_OK)
            fail_msg("%s: accepted", invalid_cases[i].what);
        if (!strstr(err.msg, invalid_cases[i].want))
            fail_msg("%s: message '%s' lacks '%s'", invalid_cases[i].what, err.msg,
                     invalid_cases[i].want);
    }
}

struct bad_json_case {
    const char *json, *want;
};

static const struct bad_json_case bad_json[] = {
    {"{", "not JSON"},
    {"[]", "must be a JSON object"},
    {"{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\"},\"trigger\":{\"type\":"
     "\"interval\",\"secs\":1},\"enabled\":true,\"created_at\":\"2026-01-01T00:00:00Z\","
     "\"next_run_at\":\"2026-01-01T00:00:00Z\"}",
     "kind.table: give a table or a query"},
    {"{\"id\":\"a\",\"kind\":{\"type\":\"oracle\",\"dsn\":\"x\",\"table\":\"t\"}}", "kind.type"},
    {"{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\",\"table\":\"t\"},"
     "\"trigger\":{\"type\":\"weekly\"},\"enabled\":true}",
     "trigger.type"},
    {"{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\",\"table\":\"t\"},"
     "\"trigger\":{\"type\":\"interval\",\"secs\":-5},\"enabled\":true}",
     "trigger.secs"},
    {"{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\",\"table\":\"t\"},"
     "\"trigger\":{\"type\":\"interval\",\"secs\":5},\"enabled\":\"yes\"}",
     "enabled"},
    {"{\"id\":\"a\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://h/d\",\"table\":\"t\"},"
     "\"trigger\":{\"type\":\"interval\",\"secs\":5},\"enabled\":true,\"created_at\":\"yesterday\","
     "\"next_run_at\":\"2026-01-01T00:00:00Z\"}",
     "created_at"},
};

/* kind.parallel: a number 1..16 or "auto", strictly; absent is one
 * connection and is not written. */
static void test_parallel_field(void **state)
{
    (void)state;
    static const char head[] = "{\"id\":\"p\",\"kind\":{\"type\":\"postgres\",\"dsn\":"
                               "\"postgresql://h/d\",\"table\":\"t\"";
    static const char tail[] = "},\"trigger\":{\"type\":\"interval\",\"secs\":5},\"enabled\":"
                               "true,\"created_at\":\"2026-01-01T00:00:00Z\",\"next_run_at\":"
                               "\"2026-01-01T00:00:00Z\"}";
    struct {
        const char *value; /* NULL: absent */
        int want;          /* < -1: refused */
    } cases[] = {
        {NULL, 0},        {"null", 0},      {"1", 1},     {"4", 4},    {"16", 16},
        {"\"auto\"", -1}, {"0", -2},        {"17", -2},   {"-1", -2},  {"2.5", -2},
        {"\"4\"", -2},    {"\"AUTO\"", -2}, {"true", -2}, {"[2]", -2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024];
        if (cases[i].value)
            snprintf(json, sizeof json, "%s,\"parallel\":%s%s", head, cases[i].value, tail);
        else
            snprintf(json, sizeof json, "%s%s", head, tail);
        struct lh_schedule d, d2;
        struct lh_error err;
        assert_int_equal(lh_schedule_json_check_fields(json, strlen(json), &err), LH_OK);
        enum lh_status s = lh_schedule_from_json(json, strlen(json), &key_a, &d, NULL, &err);
        if (cases[i].want < -1) {
            if (s == LH_OK)
                fail_msg("parallel %s: accepted", cases[i].value);
            if (!strstr(err.msg, "kind.parallel: must be a number from 1 to 16 or \"auto\""))
                fail_msg("parallel %s: message '%s'", cases[i].value, err.msg);
            continue;
        }
        if (s != LH_OK)
            fail_msg("parallel %s: %s", cases[i].value ? cases[i].value : "absent", err.msg);
        assert_int_equal(d.parallel, cases[i].want);
        assert_int_equal(lh_schedule_validate(&d, false, &err), LH_OK);
        char *j = to_json(&d);
        if (cases[i].want == 0)
            assert_null(strstr(j, "parallel"));
        else if (cases[i].want < 0)
            assert_non_null(strstr(j, "\"parallel\": \"auto\""));
        assert_int_equal(lh_schedule_from_json(j, strlen(j), &key_a, &d2, NULL, &err), LH_OK);
        assert_int_equal(d2.parallel, d.parallel);
        free(j);
    }
    /* the validator refuses what the reader would */
    struct lh_schedule d;
    struct lh_error err;
    lh_schedule_init(&d, "ok-id", 0);
    d.kind = LH_SCHED_POSTGRES;
    snprintf(d.dsn, sizeof d.dsn, "postgresql://h/d");
    snprintf(d.table, sizeof d.table, "t");
    d.parallel = 17;
    assert_int_not_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    assert_non_null(strstr(err.msg, "kind.parallel"));
}

static void test_bad_json(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        struct lh_schedule d;
        struct lh_error err;
        if (lh_schedule_from_json(bad_json[i].json, strlen(bad_json[i].json), &key_a, &d, NULL,
                                  &err) == LH_OK)
            fail_msg("case %zu accepted", i);
        if (!strstr(err.msg, bad_json[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad_json[i].want);
    }
}

static void test_secrets(void **state)
{
    (void)state;
    struct lh_schedule d;
    struct lh_error err;
    lh_schedule_init(&d, "sec", 0);
    d.kind = LH_SCHED_POSTGRES;
    snprintf(d.dsn, sizeof d.dsn, "postgres://app:S3cr3t-pw@db:5432/x");
    snprintf(d.table, sizeof d.table, "t");
    bool ch;
    assert_int_equal(lh_schedule_seal(&d, &key_a, &ch, &err), LH_OK);
    assert_true(ch);
    assert_string_equal(d.dsn, "postgres://app:***@db:5432/x");
    char *j = to_json(&d);
    assert_null(strstr(j, "S3cr3t"));
    free(j);
    /* sealing twice does nothing */
    assert_int_equal(lh_schedule_seal(&d, &key_a, &ch, &err), LH_OK);
    assert_false(ch);
    char full[LH_SCHEDULE_DSN_MAX];
    assert_int_equal(lh_schedule_dsn_reveal(&d, &key_a, full, sizeof full, &err), LH_OK);
    assert_string_equal(full, "postgres://app:S3cr3t-pw@db:5432/x");
    /* wrong key: a clear error naming the schedule */
    assert_int_equal(lh_schedule_dsn_reveal(&d, &key_b, full, sizeof full, &err), LH_E_AUTH);
    assert_non_null(strstr(err.msg, "schedule 'sec'"));
    assert_non_null(strstr(err.msg, "wrong key"));
    /* a tampered secret */
    struct lh_schedule t = d;
    t.dsn_secret[10] = t.dsn_secret[10] == 'A' ? 'B' : 'A';
    assert_int_not_equal(lh_schedule_dsn_reveal(&t, &key_a, full, sizeof full, &err), LH_OK);

    /* password_env */
    lh_schedule_init(&d, "envpw", 0);
    d.kind = LH_SCHED_POSTGRES;
    snprintf(d.dsn, sizeof d.dsn, "postgres://app@db:5432/x?sslmode=disable");
    snprintf(d.password_env, sizeof d.password_env, "LH_TEST_PW_%d", (int)getpid());
    snprintf(d.table, sizeof d.table, "t");
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    assert_int_equal(lh_schedule_dsn_reveal(&d, NULL, full, sizeof full, &err), LH_E_AUTH);
    assert_non_null(strstr(err.msg, d.password_env));
    setenv(d.password_env, "p@ss:w/rd", 1);
    assert_int_equal(lh_schedule_dsn_reveal(&d, NULL, full, sizeof full, &err), LH_OK);
    assert_string_equal(full, "postgres://app:p%40ss%3Aw%2Frd@db:5432/x?sslmode=disable");
    unsetenv(d.password_env);
    /* env and a password in the dsn at once is refused */
    snprintf(d.dsn, sizeof d.dsn, "postgres://app:x@db/x");
    assert_int_equal(lh_schedule_seal(&d, &key_a, &ch, &err), LH_E_INVAL);
}

static void test_keys(void **state)
{
    (void)state;
    struct lh_schedule_key k1, k2;
    struct lh_error err;
    assert_int_equal(lh_schedule_key_from_text("abc", &k1, &err), LH_E_INVAL);
    assert_int_equal(
        lh_schedule_key_from_text(
            "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &k1, &err),
        LH_E_INVAL);
    assert_memory_equal(key_b.k, "\x20\x21\x22\x23", 4); /* base64 decoded */
    char dir[] = "/tmp/lh-key-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sub/secret.key", dir);
    assert_int_not_equal(lh_schedule_key_file(path, false, &k1, &err), LH_OK);
    assert_int_equal(lh_schedule_key_file(path, true, &k1, &err), LH_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(lh_schedule_key_file(path, true, &k2, &err), LH_OK);
    assert_memory_equal(k1.k, k2.k, 32);
    assert_string_equal(k2.origin, path);
    unlink(path);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    rmdir(sub);
    rmdir(dir);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    struct lh_schedule_retry r = {10, 30, 3600};
    uint64_t x = 12345;
    for (uint32_t n = 1; n <= 10; n++) {
        int64_t lo = 30LL << (n - 1), seen_min = INT64_MAX, seen_max = 0;
        for (int i = 0; i < 200; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t b = lh_schedule_backoff_secs(&r, n, x);
            int64_t want_lo = lo < 3600 ? lo : 3600, want_hi = 2 * lo < 3600 ? 2 * lo : 3600;
            if (b < want_lo || b > want_hi)
                fail_msg("attempt %u: %lld outside [%lld, %lld]", n, (long long)b,
                         (long long)want_lo, (long long)want_hi);
            seen_min = b < seen_min ? b : seen_min;
            seen_max = b > seen_max ? b : seen_max;
        }
        if (2 * lo < 3600) /* jitter really spreads the waits */
            assert_true(seen_max - seen_min > lo / 2);
    }
    assert_int_equal(lh_schedule_backoff_secs(&r, 1, 0), 30);
    assert_int_equal(lh_schedule_backoff_secs(&r, 1, UINT64_MAX), 59);
}

static void test_run_records(void **state)
{
    (void)state;
    struct lh_run_record r = {0}, r2;
    struct lh_error err;
    lh_run_id_make(iso("2026-04-16T20:36:04.000123Z"), 7, r.run_id);
    assert_string_equal(r.run_id, "20260416T203604.000123Z-0007");
    char later[LH_RUN_ID_MAX];
    lh_run_id_make(iso("2026-04-16T20:36:05Z"), 0, later);
    assert_true(strcmp(r.run_id, later) < 0);
    snprintf(r.schedule_id, sizeof r.schedule_id, "s");
    r.reason = LH_RUN_CATCH_UP;
    r.attempt = 0;
    r.started_at_us = iso("2026-04-16T20:36:04Z");
    r.finished_at_us = iso("2026-04-16T20:36:06Z");
    r.status = LH_RUN_TIMEOUT;
    r.bytes = 99;
    r.warnings = 2;
    snprintf(r.message, sizeof r.message, "timeout: x");
    struct lh_buf b;
    lh_buf_init(&b, 0);
    assert_int_equal(lh_run_record_to_json(&r, &b, &err), LH_OK);
    assert_int_equal(lh_run_record_from_json((char *)b.data, b.len, &r2, &err), LH_OK);
    lh_buf_reset(&b);
    assert_string_equal(r2.run_id, r.run_id);
    assert_int_equal(r2.reason, LH_RUN_CATCH_UP);
    assert_int_equal(r2.status, LH_RUN_TIMEOUT);
    assert_int_equal(r2.bytes, 99);
    assert_int_equal(r2.warnings, 2);
    assert_int_equal(r2.finished_at_us, r.finished_at_us);

    static const struct {
        const char *msg;
        bool ok;
        uint64_t rows;
    } rows[] = {
        {"rows=11 dataset=customers bytes=2048", true, 11},
        {"dataset=x rows=0", true, 0},
        {"rows=0 — table empty", true, 0},
        {"rows=abc rows=5", true, 5},
        {"nrows=5", false, 0},
        {"rows=-1", false, 0},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t v = 999;
        assert_int_equal(lh_run_parse_rows(rows[i].msg, &v), rows[i].ok);
        if (rows[i].ok)
            assert_int_equal(v, rows[i].rows);
    }
}

/* apply_run rows: a sequence of outcomes and the next due after each */
static void test_apply_run(void **state)
{
    (void)state;
    struct lh_schedule d;
    struct lh_error err;
    lh_schedule_init(&d, "a", 0);
    d.kind = LH_SCHED_MYSQL;
    snprintf(d.dsn, sizeof d.dsn, "mysql://u@h/d");
    snprintf(d.table, sizeof d.table, "t");
    d.trigger.interval_secs = 3600;
    d.retry = (struct lh_schedule_retry){2, 10, 100};
    d.auto_pause_after = 4;
    assert_int_equal(lh_schedule_validate(&d, true, &err), LH_OK);
    struct lh_run_record r = {0};
    snprintf(r.schedule_id, sizeof r.schedule_id, "a");
    struct {
        enum lh_run_status st;
        enum lh_run_reason reason;
        int64_t at;       /* finished, seconds */
        int64_t lo, hi;   /* next due window, seconds */
        uint32_t attempt; /* retry_attempt after */
        bool paused;
    } steps[] = {
        {LH_RUN_SUCCESS, LH_RUN_SCHEDULE, 100, 3700, 3700, 0, false},
        {LH_RUN_FAILED, LH_RUN_SCHEDULE, 3800, 3810, 3820, 1, false}, /* retry 1: 10..20 */
        {LH_RUN_FAILED, LH_RUN_RETRY, 3815, 3835, 3855, 2, false},    /* retry 2: 20..40 */
        {LH_RUN_FAILED, LH_RUN_RETRY, 3850, 7450, 7450, 0, false},    /* back to regular */
        {LH_RUN_FAILED, LH_RUN_SCHEDULE, 7460, 7470, 7480, 1, true},  /* 4th in a row */
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        r.status = steps[i].st;
        r.reason = steps[i].reason;
        r.target_us = d.next_run_at_us;
        r.started_at_us = steps[i].at * 1000000 - 500000;
        r.finished_at_us = steps[i].at * 1000000;
        snprintf(r.message, sizeof r.message, "step %zu", i);
        bool paused;
        assert_int_equal(lh_schedule_apply_run(&d, &r, 0x9e3779b97f4a7c15ULL * (i + 1),
                                               r.finished_at_us, &paused, &err),
                         LH_OK);
        int64_t next = d.next_run_at_us / 1000000;
        if (next < steps[i].lo || next > steps[i].hi)
            fail_msg("step %zu: next %lld outside [%lld, %lld]", i, (long long)next,
                     (long long)steps[i].lo, (long long)steps[i].hi);
        if (!steps[i].paused)
            assert_int_equal(d.retry_attempt, steps[i].attempt);
        assert_int_equal(paused, steps[i].paused);
    }
    assert_false(d.enabled);
    assert_non_null(strstr(d.paused_reason, "4 consecutive failed runs"));
    assert_int_equal(d.run_count, 1);
    assert_int_equal(d.failure_count, 4);
    /* a manual run does not move the timetable; a cancelled one counts nothing */
    int64_t before = d.next_run_at_us;
    r.reason = LH_RUN_MANUAL;
    r.status = LH_RUN_SUCCESS;
    assert_int_equal(lh_schedule_apply_run(&d, &r, 1, r.finished_at_us, NULL, &err), LH_OK);
    assert_int_equal(d.next_run_at_us, before);
    assert_int_equal(d.run_count, 2);
    assert_int_equal(d.consecutive_failures, 0);
    r.status = LH_RUN_CANCELLED;
    r.reason = LH_RUN_SCHEDULE;
    assert_int_equal(lh_schedule_apply_run(&d, &r, 1, r.finished_at_us, NULL, &err), LH_OK);
    assert_int_equal(d.run_count, 2);
    assert_int_equal(d.failure_count, 4);
    assert_int_equal(d.next_run_at_us, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_json_loads),
        cmocka_unit_test(test_reference_files),
        cmocka_unit_test(test_round_trip_every_field),
        cmocka_unit_test(test_query_columns_where),
        cmocka_unit_test(test_unknown_fields_tolerated),
        cmocka_unit_test(test_first_run),
        cmocka_unit_test(test_schema_policy_replace_source),
        cmocka_unit_test(test_check_fields),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_parallel_field),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_run_records),
        cmocka_unit_test(test_apply_run),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
