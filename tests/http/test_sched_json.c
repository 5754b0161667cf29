/*
 * test_sched_json.c — the schedule module's one JSON writer, in both its
 * layouts, against jansson: the file layout (lh_schedule_to_json, run
 * records) must be what jansson prints for the same document with the
 * options the files were always written with, and the routes' compact JSON
 * (http_schedule_json over lh_schedule_to_json_compact) what the path it
 * replaced gave: the file loaded back by jansson, redacted with
 * http_json_redact, "running"/"active_run_id" added and dumped compactly.
 * The two must give the same bytes, or both fail, for
 * every schedule: a table of hand-made cases (each optional field, cron and
 * interval, sealed DSN, password_env, last_outcome, retry state, running,
 * strings that trip the secret rule, escapes, non-ASCII, invalid UTF-8,
 * odd reals) and a few thousand seeded random ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http_int.h"

#include "schedule/schedule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the two paths */

/* The route before: copied from routes_schedules.c's schedule_doc(). */
static char *old_doc(const struct lh_schedule *d, const char *rid)
{
    struct lh_schedule *c = malloc(sizeof *c);
    struct lh_buf b;
    struct lh_error err;
    json_t *doc = NULL;
    assert_non_null(c);
    *c = *d;
    c->dsn_secret[0] = '\0';
    lh_buf_init(&b, LH_SCHEDULE_JSON_MAX);
    if (lh_schedule_to_json(c, &b, &err) == LH_OK)
        doc = json_loadb((const char *)b.data, b.len, 0, NULL);
    lh_buf_reset(&b);
    free(c);
    if (!doc)
        return NULL;
    http_json_redact(doc);
    json_object_set_new(doc, "running", json_boolean(rid != NULL));
    json_object_set_new(doc, "active_run_id", rid ? json_string(rid) : json_null());
    char *s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    return s;
}

/* text (a whole file the schedule module wrote) is what jansson prints
 * for the same document with the options the files were always written
 * with: the one writer's file layout has not moved a byte. */
static void check_pretty(const char *text, size_t n, const char *what)
{
    json_t *doc = json_loadb(text, n, 0, NULL);
    if (!doc)
        fail_msg("%s: the file text is not JSON: %.*s", what, (int)n, text);
    char *want = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(doc);
    assert_non_null(want);
    if (n != strlen(want) + 1 || memcmp(text, want, n - 1) != 0 || text[n - 1] != '\n')
        fail_msg("%s: file layout\n got %.*s\nwant %s\n", what, (int)n, text, want);
    free(want);
}

static void check_file(const struct lh_schedule *d, const char *what)
{
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, LH_SCHEDULE_JSON_MAX);
    if (lh_schedule_to_json(d, &b, &err) == LH_OK)
        check_pretty((const char *)b.data, b.len, what);
    lh_buf_reset(&b);
}

/* Compares the two; returns whether the new writer succeeded. */
static bool check_same(const struct lh_schedule *d, const char *rid, const char *what)
{
    check_file(d, what);
    char *want = old_doc(d, rid);
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, 0);
    lh_buf_append_str(&b, "prefix");
    enum lh_status s = http_schedule_json(d, rid, &b, &err);
    lh_buf_cstr(&b);
    if (!want) {
        if (s == LH_OK)
            fail_msg("%s: the old path failed, the new one wrote %s", what, (char *)b.data);
    } else {
        if (s != LH_OK)
            fail_msg("%s: the new writer failed (%s); want %s", what, err.msg, want);
        if (strcmp((char *)b.data + 6, want) != 0)
            fail_msg("%s:\n got %s\nwant %s", what, (char *)b.data + 6, want);
        assert_memory_equal(b.data, "prefix", 6); /* appends, never resets */
        /* and it is JSON with no secret left in it */
        json_t *j = json_loads(want, 0, NULL);
        assert_non_null(j);
        json_decref(j);
    }
    free(want);
    lh_buf_reset(&b);
    return s == LH_OK;
}

/* ------------------------------------------------------------ cases */

static void base(struct lh_schedule *d)
{
    lh_schedule_init(d, "nightly", 1776390964123456);
    snprintf(d->dsn, sizeof d->dsn, "postgres://app:***@db.example:5432/shop");
    snprintf(d->table, sizeof d->table, "public.orders");
}

typedef void (*mutate_fn)(struct lh_schedule *d);

static void m_none(struct lh_schedule *d)
{
    (void)d;
}

static void m_all_optional(struct lh_schedule *d)
{
    d->kind = LH_SCHED_MYSQL;
    snprintf(d->dsn, sizeof d->dsn, "mysql://root:***@127.0.0.1:3306/shop?ssl-mode=REQUIRED");
    snprintf(d->dataset_name, sizeof d->dataset_name, "orders_v2");
    d->has_batch_size = true;
    d->batch_size = 50000;
    snprintf(d->order_by, sizeof d->order_by, "id");
    snprintf(d->cursor_column, sizeof d->cursor_column, "updated_at");
    d->mode = LH_SCHED_INCREMENTAL;
    d->has_limit = true;
    d->limit = 10;
    d->timeout_secs = 600;
    d->catch_up = LH_CATCH_UP_SKIP;
    snprintf(d->description, sizeof d->description, "orders, every night");
    d->auto_pause_after = 5;
    d->consecutive_failures = 2;
    snprintf(d->paused_reason, sizeof d->paused_reason, "maintenance");
    d->enabled = false;
    snprintf(d->created_by, sizeof d->created_by, "api");
}

static void m_cron_berlin(struct lh_schedule *d)
{
    d->trigger.kind = LH_TRIGGER_CRON;
    snprintf(d->cron_expr, sizeof d->cron_expr, "0 2 * * 1-5");
    snprintf(d->tz_name, sizeof d->tz_name, "Europe/Berlin");
}

static void m_cron_utc(struct lh_schedule *d)
{
    d->trigger.kind = LH_TRIGGER_CRON;
    snprintf(d->cron_expr, sizeof d->cron_expr, "@hourly");
}

static void m_interval_fixed(struct lh_schedule *d)
{
    d->trigger.interval_secs = 90;
    d->trigger.anchor = LH_ANCHOR_FIXED;
}

static void m_sealed(struct lh_schedule *d)
{
    snprintf(d->dsn_secret, sizeof d->dsn_secret, "v1:c2VhbGVkIGJ5dGVzIG9mIHRoZSBEU04=");
}

static void m_password_env(struct lh_schedule *d)
{
    snprintf(d->dsn, sizeof d->dsn, "postgres://app@db/shop");
    snprintf(d->password_env, sizeof d->password_env, "PGPASSWORD");
}

static void m_outcome_ok(struct lh_schedule *d)
{
    d->has_last_run = true;
    d->last_run_at_us = 1776391000000001;
    d->last_outcome.present = true;
    d->last_outcome.at_us = 1776391000000001;
    d->last_outcome.success = true;
    snprintf(d->last_outcome.message, sizeof d->last_outcome.message,
             "rows=1200 dataset=orders bytes=65536");
    d->last_outcome.has_rows = true;
    d->last_outcome.rows = 1200;
    d->last_outcome.duration_secs = 1.2345678901234;
    d->run_count = 41;
}

static void m_outcome_failed(struct lh_schedule *d)
{
    m_outcome_ok(d);
    d->last_outcome.success = false;
    d->last_outcome.has_rows = false;
    snprintf(d->last_outcome.message, sizeof d->last_outcome.message,
             "connect: postgres://app:hunter2@db/shop: connection refused");
    d->last_outcome.duration_secs = 0.1;
    d->failure_count = 3;
    d->consecutive_failures = 3;
    d->retry_attempt = 2;
    d->retry_target_us = 1776390000000000;
}

static void m_secretish_strings(struct lh_schedule *d)
{
    snprintf(d->table, sizeof d->table, "secrets");
    snprintf(d->description, sizeof d->description, "password=hunter2; see user@host");
    snprintf(d->created_by, sizeof d->created_by, "ops\tmysql://x:y@h/db?password=z&pwd=q");
    snprintf(d->paused_reason, sizeof d->paused_reason, "PASS=1 Pwd Secret");
    snprintf(d->order_by, sizeof d->order_by, "a@b");
    snprintf(d->cursor_column, sizeof d->cursor_column, "x pass=y");
    snprintf(d->dataset_name, sizeof d->dataset_name, "key=value&secret_token=abc");
}

static void m_escapes(struct lh_schedule *d)
{
    snprintf(d->id, sizeof d->id, "we\"ird\\id/\x01\x1f\x7f\n\r\t\b\f end");
    snprintf(d->description, sizeof d->description,
             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xe2\x80\xa8");
    snprintf(d->created_by, sizeof d->created_by, "%s", "");
}

static void m_bad_utf8_message(struct lh_schedule *d)
{
    m_outcome_ok(d);
    snprintf(d->last_outcome.message, sizeof d->last_outcome.message, "cut \xe2\x82");
}

static void m_bad_utf8_surrogate(struct lh_schedule *d)
{
    snprintf(d->description, sizeof d->description, "\xed\xa0\x80");
}

static void m_bad_utf8_overlong(struct lh_schedule *d)
{
    snprintf(d->table, sizeof d->table, "\xc0\xaf");
}

static void m_long_dsn(struct lh_schedule *d)
{
    /* a redacted text longer than the writer's stack buffer */
    int n = snprintf(d->dsn, sizeof d->dsn, "postgres://u:***@h/db?application_name=");
    memset(d->dsn + n, 'a', sizeof d->dsn - (size_t)n - 40);
    snprintf(d->dsn + sizeof d->dsn - 40, 40, "&password=zzz&sslmode=require");
    memset(d->last_outcome.message, 'm', sizeof d->last_outcome.message - 1);
    d->last_outcome.message[sizeof d->last_outcome.message - 1] = '\0';
    memcpy(d->last_outcome.message, "pwd ", 4);
    d->last_outcome.present = true;
}

static void m_big_numbers(struct lh_schedule *d)
{
    d->has_batch_size = true;
    d->batch_size = UINT64_MAX;
    d->has_limit = true;
    d->limit = (uint64_t)INT64_MAX + 1;
    d->run_count = UINT64_MAX;
    d->failure_count = (uint64_t)INT64_MAX;
    d->retry.max_attempts = UINT32_MAX;
    d->retry.base_secs = INT64_MIN;
    d->retry.cap_secs = INT64_MAX;
    d->timeout_secs = -1;
    d->consecutive_failures = UINT32_MAX;
    d->auto_pause_after = UINT32_MAX;
    d->trigger.interval_secs = LH_INTERVAL_MAX_SECS;
    d->created_at_us = -1;
    d->next_run_at_us = 253402300799999999;
}

static void m_extreme_times(struct lh_schedule *d)
{
    m_outcome_failed(d);
    d->created_at_us = INT64_MIN;
    d->next_run_at_us = INT64_MAX;
    d->last_run_at_us = 253402300800000000;     /* year 10000 */
    d->last_outcome.at_us = -62135596800000001; /* just before year 1 */
    d->retry_target_us = -62167219200000000;    /* 0000-01-01 */
}

static const double reals[] = {
    0.0,    -0.0,        1.0,      0.5,     1e-300, 1e300,           1.7976931348623157e308,
    5e-324, 1234567.125, 0.000123, 1e20,    1e16,   123456789012.0,  2.5e-5,
    0.1,    1.0 / 3.0,   -42.75,   99999.5, 1e-4,   9.9999999949e-5,
};

static const struct {
    const char *name;
    mutate_fn fn;
    const char *rid;
} cases[] = {
    {"defaults", m_none, NULL},
    {"defaults running", m_none, "20260416T203604.123456Z-0001"},
    {"every optional field", m_all_optional, NULL},
    {"cron in a zone", m_cron_berlin, NULL},
    {"cron in UTC", m_cron_utc, "20260416T203604.123456Z-0002"},
    {"interval fixed", m_interval_fixed, NULL},
    {"sealed DSN", m_sealed, NULL},
    {"password_env", m_password_env, NULL},
    {"last outcome ok", m_outcome_ok, NULL},
    {"last outcome failed, retrying", m_outcome_failed, "r\"1"},
    {"secret-looking strings", m_secretish_strings, NULL},
    {"escapes and non-ASCII", m_escapes, NULL},
    {"message cut inside a character", m_bad_utf8_message, NULL},
    {"surrogate", m_bad_utf8_surrogate, NULL},
    {"overlong", m_bad_utf8_overlong, NULL},
    {"long DSN and message", m_long_dsn, NULL},
    {"extreme numbers", m_big_numbers, NULL},
    {"times outside years 1-9999", m_extreme_times, NULL},
};

static void test_table(void **state)
{
    (void)state;
    struct lh_schedule *d = malloc(sizeof *d);
    assert_non_null(d);
    size_t ok = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base(d);
        cases[i].fn(d);
        ok += check_same(d, cases[i].rid, cases[i].name);
    }
    assert_int_equal(ok, sizeof cases / sizeof cases[0] - 3); /* the three bad UTF-8 fail */
    free(d);
}

static void test_reals(void **state)
{
    (void)state;
    struct lh_schedule *d = malloc(sizeof *d);
    assert_non_null(d);
    base(d);
    m_outcome_ok(d);
    char name[64];
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        d->last_outcome.duration_secs = reals[i];
        snprintf(name, sizeof name, "duration %.17g", reals[i]);
        assert_true(check_same(d, NULL, name));
    }
    /* json_real refuses these: both paths fail */
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        d->last_outcome.duration_secs = bad[i];
        assert_false(check_same(d, NULL, "non-finite duration"));
    }
    free(d);
}

/* ------------------------------------------------------------ random */

static uint64_t rnd_state = 0x5eed5eed1234ULL;

static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static bool coin(void)
{
    return rnd() & 1;
}

/* Random text from pieces that exercise escaping and the secret rule. */
static void rnd_text(char *out, size_t cap)
{
    static const char *const parts[] = {
        "a",
        "orders",
        " ",
        "://",
        "@",
        "password",
        "PWD",
        "secret",
        "pass=",
        "Pass=x",
        "\"",
        "\\",
        "/",
        "\n",
        "\t",
        "\x01",
        "\x7f",
        "\xc3\xa9",
        "\xf0\x9f\x98\x80",
        "?",
        "&",
        "postgres",
        "mysql",
        ":",
        "u:p@h/db",
        "=",
        "sslmode",
        "***",
        "x y z",
        "%40",
        "#frag",
        "tab\tx",
        "0",
        "-",
        "_",
        "SeCrEt",
        "PASSWORD",
        "pAsS=",
        "pas",
        "secre",
        ":/",
        "//",
        "pw",
        "Pwd",
        "S",
        "P",
        "passwor",
        "ASS=",
        "\xc3\x9f",
    };
    size_t n = 0, k = rnd() % 12;
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        const char *p = parts[rnd() % (sizeof parts / sizeof parts[0])];
        size_t l = strlen(p);
        if (n + l + 1 > cap)
            break;
        memcpy(out + n, p, l + 1);
        n += l;
    }
}

static void rnd_dsn(struct lh_schedule *d)
{
    static const char *const dsns[] = {
        "postgres://app:***@db:5432/shop",
        "postgresql://app@db/shop?sslmode=require",
        "mysql://root:***@127.0.0.1/x?password=abc&ssl=1",
        "mariadb://u:***@[::1]:3306/db",
        "postgres://h/db",
        "postgres://a:***@h/db?application_name=x%20y#frag",
    };
    snprintf(d->dsn, sizeof d->dsn, "%s", dsns[rnd() % 6]);
}

static void rnd_schedule(struct lh_schedule *d)
{
    char id[64];
    snprintf(id, sizeof id, "s-%llx", (unsigned long long)(rnd() & 0xffffff));
    lh_schedule_init(d, id, (int64_t)(rnd() % 4000000000000000ULL));
    if (coin())
        rnd_text(d->id, 64);
    d->kind = coin() ? LH_SCHED_MYSQL : LH_SCHED_POSTGRES;
    rnd_dsn(d);
    rnd_text(d->table, sizeof d->table);
    if (coin())
        rnd_text(d->dataset_name, sizeof d->dataset_name);
    d->has_batch_size = coin();
    d->batch_size = rnd() >> (rnd() % 64);
    if (coin())
        rnd_text(d->order_by, sizeof d->order_by);
    if (coin())
        snprintf(d->dsn_secret, sizeof d->dsn_secret, "v1:%016llx", (unsigned long long)rnd());
    if (coin())
        snprintf(d->password_env, sizeof d->password_env, "PW_%u", (unsigned)(rnd() % 100));
    d->mode = (enum lh_schedule_mode)(rnd() % 3);
    if (coin())
        rnd_text(d->cursor_column, sizeof d->cursor_column);
    d->has_limit = coin();
    d->limit = rnd();
    if (coin()) {
        d->trigger.kind = LH_TRIGGER_CRON;
        rnd_text(d->cron_expr, sizeof d->cron_expr);
        if (coin())
            rnd_text(d->tz_name, sizeof d->tz_name);
    } else {
        d->trigger.interval_secs = (int64_t)(rnd() % 100000) - 10;
        d->trigger.anchor = coin() ? LH_ANCHOR_FIXED : LH_ANCHOR_COMPLETION;
    }
    d->enabled = coin();
    rnd_text(d->created_by, sizeof d->created_by);
    d->next_run_at_us = (int64_t)(rnd() % 4000000000000000ULL) - 1000000000000000LL;
    d->has_last_run = coin();
    d->last_run_at_us = (int64_t)(rnd() % 4000000000000000ULL);
    if (coin()) {
        d->last_outcome.present = true;
        d->last_outcome.at_us = (int64_t)(rnd() % 4000000000000000ULL);
        d->last_outcome.success = coin();
        rnd_text(d->last_outcome.message, sizeof d->last_outcome.message);
        d->last_outcome.has_rows = coin();
        d->last_outcome.rows = rnd();
        switch (rnd() % 4) {
        case 0:
            d->last_outcome.duration_secs = (double)(rnd() % 100000) / 1000.0;
            break;
        case 1: /* as lh_schedule_apply_run stores it */
            d->last_outcome.duration_secs = (double)(float)((double)(rnd() % 10000000000ULL) / 1e6);
            break;
        case 2: {
            uint64_t bits = rnd();
            double v;
            memcpy(&v, &bits, sizeof v);
            d->last_outcome.duration_secs = isfinite(v) ? v : 1.5;
            break;
        }
        default:
            d->last_outcome.duration_secs = ldexp((double)(rnd() % 1000), (int)(rnd() % 80) - 40);
            break;
        }
    }
    d->run_count = rnd() >> (rnd() % 64);
    d->failure_count = rnd() >> (rnd() % 64);
    d->retry.max_attempts = (uint32_t)(rnd() % 101);
    d->retry.base_secs = (int64_t)(rnd() % 1000);
    d->retry.cap_secs = (int64_t)(rnd() % 100000);
    d->timeout_secs = coin() ? 0 : (int64_t)(rnd() % 10000);
    d->catch_up = coin() ? LH_CATCH_UP_SKIP : LH_CATCH_UP_ONCE;
    if (coin())
        rnd_text(d->description, sizeof d->description);
    d->auto_pause_after = coin() ? 0 : (uint32_t)(rnd() % 10);
    d->consecutive_failures = (uint32_t)(rnd() % 20);
    if (coin())
        rnd_text(d->paused_reason, sizeof d->paused_reason);
    if (coin()) {
        d->retry_attempt = (uint32_t)(1 + rnd() % 5);
        d->retry_target_us = (int64_t)(rnd() % 4000000000000000ULL);
    }
}

static void test_random(void **state)
{
    (void)state;
    struct lh_schedule *d = malloc(sizeof *d);
    assert_non_null(d);
    char name[64], rid[LH_RUN_ID_MAX];
    size_t ok = 0, n = 3000;
    for (size_t i = 0; i < n; i++) {
        rnd_schedule(d);
        bool running = coin();
        if (running)
            lh_run_id_make((int64_t)(rnd() % 4000000000000000ULL), (uint32_t)rnd(), rid);
        snprintf(name, sizeof name, "random schedule %zu", i);
        ok += check_same(d, running ? rid : NULL, name);
    }
    assert_int_equal(ok, n); /* the pieces are valid UTF-8: none may fail */
    free(d);
}

/* http_redact_text alone against http_json_redact on one string: the same
 * decision (the secret words in any case, '@', "://") and the same text,
 * and snprintf-like when cut. */
static void check_redact(const char *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "k", json_string(s));
    http_json_redact(o);
    const char *want = json_string_value(json_object_get(o, "k"));
    assert_non_null(want);
    char buf[512];
    size_t r = http_redact_text(s, buf, sizeof buf);
    const char *got = r == SIZE_MAX ? s : buf;
    if (strcmp(got, want) != 0)
        fail_msg("redact '%s': got '%s' want '%s'", s, got, want);
    if (r != SIZE_MAX) {
        assert_int_equal(r, strlen(want));
        for (size_t cap = 0; cap < r + 2 && cap < 40; cap++) {
            char small[48];
            memset(small, '#', sizeof small);
            assert_int_equal(http_redact_text(s, cap ? small : NULL, cap), r);
            if (cap) {
                assert_int_equal(strlen(small), cap - 1 < r ? cap - 1 : r);
                assert_memory_equal(small, want, strlen(small));
            }
        }
    }
    json_decref(o);
}

/* Run records go through the same writer in the file layout. */
static void test_run_records(void **state)
{
    (void)state;
    struct lh_run_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.run_id, sizeof r.run_id, "20261207T170102.123456Z-0001");
    snprintf(r.schedule_id, sizeof r.schedule_id, "orders");
    r.started_at_us = 1796662862123456;
    r.finished_at_us = r.started_at_us + 1234567;
    snprintf(r.message, sizeof r.message, "rows=3 dataset=orders bytes=99 \"q\" \\ \t caf\xc3\xa9");
    struct lh_buf b;
    struct lh_error err;
    for (int k = 0; k < 5; k++) {
        r.status = k == 1 ? LH_RUN_FAILED : k == 2 ? LH_RUN_CANCELLED : LH_RUN_SUCCESS;
        r.has_rows = k != 1;
        r.rows = 3;
        r.target_us = k == 3 ? r.started_at_us - 5 : 0;
        r.version = k >= 3 ? 7 : 0;
        snprintf(r.dataset, sizeof r.dataset, "%s", k >= 3 ? "orders" : "");
        r.unrecorded = k == 4;
        r.damaged = false;
        lh_buf_init(&b, 0);
        assert_int_equal(lh_run_record_to_json(&r, &b, &err), LH_OK);
        check_pretty((const char *)b.data, b.len, "run record");
        struct lh_run_record back;
        assert_int_equal(lh_run_record_from_json((const char *)b.data, b.len, &back, &err), LH_OK);
        assert_string_equal(back.message, r.message);
        assert_int_equal(back.status, r.status);
        assert_int_equal(back.finished_at_us, r.finished_at_us);
        lh_buf_reset(&b);
    }
    r.damaged = true;
    lh_buf_init(&b, 0);
    assert_int_equal(lh_run_record_to_json(&r, &b, &err), LH_OK);
    check_pretty((const char *)b.data, b.len, "damaged run record");
    lh_buf_reset(&b);
    /* a message that is not UTF-8 is refused, naming the field */
    r.damaged = false;
    snprintf(r.message, sizeof r.message, "bad \xff byte");
    lh_buf_init(&b, 0);
    assert_int_equal(lh_run_record_to_json(&r, &b, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "message"));
    lh_buf_reset(&b);
}

static void test_redact_text(void **state)
{
    (void)state;
    static const char *const table[] = {
        "",
        "plain",
        "PASSWORD",
        "my Password is",
        "pwd",
        "PwD",
        "pass=1",
        "PASS=",
        "pass",
        "passwor",
        "secret",
        "SECRET",
        "secre",
        "Secrets",
        "a@b",
        "x://y",
        ":/",
        "://",
        "postgres://u:p@h/db",
        "err: mysql://u:p@h/db?password=z failed",
        "\xc3\x9fpwd",
        "tab\tpostgres://u:pw@h/x",
        "s",
        "p",
        "P=",
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        check_redact(table[i]);
    static const char *const parts[] = {
        "p", "P", "a", "A", "s", "S", "w", "W", "d", "D", "o", "O",        "r", "R",
        "=", "e", "E", "c", "C", "t", "T", ":", "/", "@", " ", "\xc3\xa9", "x", "\t",
    };
    char t[64];
    for (int i = 0; i < 20000; i++) {
        size_t n = 0, k = rnd() % 14;
        for (size_t j = 0; j < k; j++) {
            const char *p = parts[rnd() % (sizeof parts / sizeof parts[0])];
            size_t l = strlen(p);
            memcpy(t + n, p, l);
            n += l;
        }
        t[n] = '\0';
        check_redact(t);
    }
}

/* A body that cannot grow: the writer reports LH_E_NOMEM, not success. */
static void test_buffer_cap(void **state)
{
    (void)state;
    struct lh_schedule *d = malloc(sizeof *d);
    assert_non_null(d);
    base(d);
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, 100);
    assert_int_equal(http_schedule_json(d, NULL, &b, &err), LH_E_NOMEM);
    lh_buf_reset(&b);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),      cmocka_unit_test(test_reals),
        cmocka_unit_test(test_random),     cmocka_unit_test(test_redact_text),
        cmocka_unit_test(test_buffer_cap),  cmocka_unit_test(test_run_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
