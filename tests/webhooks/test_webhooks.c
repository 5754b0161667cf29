/*
 * test_webhooks.c — webhook configuration and delivery in process, against
 * receivers on loopback (receiver.c):
 *
 *   config_*        the "webhooks" key: a good file; each bad field is one
 *                   error naming it (unknown key, unknown event, a URL that
 *                   is not http/https, no secret); the secret is never in
 *                   an error; secret_file.
 *   each_event      the scheduler's events through lh_app_scheduler_event
 *                   (the daemon's hook) and a schema change through
 *                   lh_app_webhooks_schema_changed: run_failed (failed and
 *                   timeout), run_recovered, schedule_paused, schema_changed
 *                   arrive signed (HMAC-SHA256 of the exact body with the
 *                   secret), with their payload; a cancelled run and a
 *                   plain success send nothing; a webhook subscribed to
 *                   run_failed gets only those, one subscribed to other
 *                   schedules (fnmatch patterns) nothing.
 *   retry           500, 500, 200: three tries of the same delivery (same
 *                   id, body, signature), delivered once.
 *   give_up         400 is not retried; 429 is.
 *   silent          a receiver that never answers: emitting returns at
 *                   once; another webhook's deliveries go on meanwhile;
 *                   shutdown waits shutdown_ms, then drops it.
 *   queue_full      the queue drops its oldest delivery when full.
 *   metrics         lakehouse_webhook_deliveries_total{outcome}.
 * Deadlines only guard hangs; no assertion is on time.
 */
#include "app/app.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"

#include "receiver.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const SECRET = "s3cr3t-hook-key-Zq";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads text as a config file; returns the status, err filled. */
static enum lh_status load(struct lh_app_config *c, const char *text, struct lh_error *err)
{
    char path[] = "/tmp/lh-wh-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, text);
    lh_app_config_init(c);
    enum lh_status s = lh_app_config_load(c, path, err);
    unlink(path);
    return s;
}

static void test_config_good(void **state)
{
    (void)state;
    struct lh_app_config c;
    struct lh_error err;
    char sf[] = "/tmp/lh-wh-secret-XXXXXX";
    int fd = mkstemp(sf);
    assert_true(fd >= 0);
    close(fd);
    write_file(sf, "from-a-file\n");
    char text[1024];
    snprintf(text, sizeof text,
             "{\"webhooks\": [{\"url\": \"https://hooks.example.com/lh\", \"secret\": \"%s\","
             " \"events\": [\"run_failed\", \"schedule_paused\"], \"timeout_secs\": 3,"
             " \"max_attempts\": 2, \"schedules\": [\"orders-*\", \"sales\"]},"
             " {\"url\": \"http://127.0.0.1:9/x\", \"secret_file\": \"%s\"}]}",
             SECRET, sf);
    if (load(&c, text, &err) != LH_OK)
        fail_msg("%s", err.msg);
    unlink(sf);
    assert_int_equal(c.nwebhooks, 2);
    assert_string_equal(c.webhooks[0].url, "https://hooks.example.com/lh");
    assert_string_equal(c.webhooks[0].secret, SECRET);
    assert_int_equal(c.webhooks[0].events,
                     LH_APP_WEBHOOK_RUN_FAILED | LH_APP_WEBHOOK_SCHEDULE_PAUSED);
    assert_int_equal(c.webhooks[0].timeout_secs, 3);
    assert_int_equal(c.webhooks[0].max_attempts, 2);
    assert_int_equal(c.webhooks[0].nschedules, 2);
    assert_string_equal(c.webhooks[0].schedules[0], "orders-*");
    assert_string_equal(c.webhooks[0].schedules[1], "sales");
    assert_int_equal(c.webhooks[1].nschedules, 0); /* every schedule */
    assert_string_equal(c.webhooks[1].secret, "from-a-file");
    assert_int_equal(c.webhooks[1].events, LH_APP_WEBHOOK_ALL); /* events left out: all */
    lh_app_config_reset(&c);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* in the error */
    } cases[] = {
        {"{\"webhooks\": {}}", "\"webhooks\": expected an array"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\", \"sekret\": 1}]}",
         "unknown config key \"webhooks[0].sekret\""},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"events\": [\"run_failed\", \"run_fail\"]}]}",
         "unknown event \"run_fail\""},
        {"{\"webhooks\": [{\"url\": \"ftp://h/x\", \"secret\": \"S3CRET-X\"}]}",
         "\"webhooks[0].url\": expected an http:// or https:// URL"},
        {"{\"webhooks\": [{\"url\": \"http://h/a b\", \"secret\": \"S3CRET-X\"}]}",
         "\"webhooks[0].url\""},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\"},"
         " {\"url\": \"http://h/y\"}]}",
         "\"webhooks[1]\": \"secret\" (or \"secret_file\") is required"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"\"}]}",
         "\"webhooks[0].secret\": expected a non-empty string"},
        {"{\"webhooks\": [{\"secret\": \"S3CRET-X\"}]}", "\"url\" is required"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\", \"events\": []}]}",
         "\"webhooks[0].events\": expected a non-empty array"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"schedules\": []}]}",
         "\"webhooks[0].schedules\": expected 1 to 1000"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"schedules\": [\"a\", 1]}]}",
         "\"webhooks[0].schedules\": expected non-empty strings"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"max_attempts\": 0}]}",
         "\"webhooks[0].max_attempts\": at least 1"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"timeout_secs\": 0}]}",
         "\"webhooks[0].timeout_secs\": at least 1"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"timeout_secs\": 301}]}",
         "\"webhooks[0].timeout_secs\": expected a non-negative integer up to 300"},
        {"{\"webhooks\": [{\"url\": \"http://h/x\", \"secret\": \"S3CRET-X\","
         " \"secret_file\": \"/nonexistent\"}]}",
         "not both"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_app_config c;
        struct lh_error err;
        if (load(&c, cases[i].text, &err) == LH_OK)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: error \"%s\" does not say \"%s\"", i, err.msg, cases[i].want);
        if (strstr(err.msg, "S3CRET-X"))
            fail_msg("case %zu: the error shows the secret: %s", i, err.msg);
        lh_app_config_reset(&c);
    }
}

/* ------------------------------------------------------------ delivery */

/* Checks one request: the signature is the HMAC-SHA256 of the exact body
 * with secret, the headers, and the common payload. Returns the body
 * parsed (caller decrefs). */
static json_t *check_request(const struct rcv_req *q, const char *secret, const char *event)
{
    uint8_t mac[32];
    char hex[65], want[80];
    lh_hmac_sha256(secret, strlen(secret), q->body, q->len, mac);
    lh_sha256_tohex(mac, hex);
    snprintf(want, sizeof want, "sha256=%s", hex);
    assert_string_equal(q->signature, want);
    assert_string_equal(q->ctype, "application/json");
    assert_string_equal(q->event, event);
    assert_int_equal(strlen(q->delivery), 32);
    assert_string_equal(q->path, "/hook");
    json_error_t je;
    json_t *o = json_loadb(q->body, q->len, 0, &je);
    if (!o)
        fail_msg("body is not JSON: %s: %s", je.text, q->body);
    assert_string_equal(json_string_value(json_object_get(o, "event")), event);
    int64_t us;
    struct lh_error err;
    const char *ts = json_string_value(json_object_get(o, "timestamp"));
    assert_non_null(ts);
    assert_int_equal(lh_time_parse_iso(ts, &us, &err), LH_OK);
    assert_non_null(strchr(ts, 'T'));
    assert_true(ts[strlen(ts) - 1] == 'Z');
    json_t *sch = json_object_get(o, "schedule"), *run = json_object_get(o, "run");
    assert_true(json_is_object(sch));
    assert_true(json_is_object(run));
    assert_string_equal(json_string_value(json_object_get(sch, "id")), "orders-nightly");
    assert_string_equal(json_string_value(json_object_get(sch, "dataset")), "orders");
    for (const char *const *k = (const char *const[]){"run_id", "state", "status", "rows", "bytes",
                                                      "message", "started_at", "finished_at", NULL};
         *k; k++)
        if (!json_object_get(run, *k))
            fail_msg("%s: run has no \"%s\": %s", event, *k, q->body);
    if (strstr(q->body, secret))
        fail_msg("the body holds the secret");
    return o;
}

static struct lh_schedule *sample_def(void)
{
    struct lh_schedule *d = calloc(1, sizeof *d);
    lh_schedule_init(d, "orders-nightly", lh_time_wall_us());
    d->kind = LH_SCHED_POSTGRES;
    snprintf(d->dsn, sizeof d->dsn, "postgres://lh:***@127.0.0.1:5432/shop");
    snprintf(d->table, sizeof d->table, "orders");
    return d;
}

static struct lh_run_record sample_run(const char *id, enum lh_run_status st, const char *msg)
{
    struct lh_run_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.run_id, sizeof r.run_id, "%s", id);
    snprintf(r.schedule_id, sizeof r.schedule_id, "orders-nightly");
    r.status = st;
    r.started_at_us = lh_time_wall_us() - 2500000;
    r.finished_at_us = lh_time_wall_us();
    r.rows = st == LH_RUN_SUCCESS ? 42 : 0;
    r.has_rows = true;
    r.bytes = st == LH_RUN_SUCCESS ? 4096 : 0;
    snprintf(r.message, sizeof r.message, "%s", msg);
    return r;
}

static void wait_settled(struct lh_app_webhooks *w, uint64_t done)
{
    struct lh_app_webhooks_stats st;
    for (int i = 0; i < 400; i++) {
        lh_app_webhooks_stats(w, &st);
        if (st.delivered + st.failed + st.dropped >= done && st.pending == 0)
            return;
        usleep(50000);
    }
    fail_msg("deliveries did not settle: delivered %llu failed %llu dropped %llu pending %u",
             (unsigned long long)st.delivered, (unsigned long long)st.failed,
             (unsigned long long)st.dropped, st.pending);
}

static const struct rcv_req *find(struct receiver *r, const char *event, int nth)
{
    for (int i = 0; i < r->nreqs; i++)
        if (strcmp(r->reqs[i].event, event) == 0 && nth-- == 0)
            return &r->reqs[i];
    fail_msg("no %s request", event);
    return NULL;
}

static void test_each_event(void **state)
{
    (void)state;
    struct receiver all, failed_only, other;
    assert_true(receiver_start(&all, false, NULL, 0));
    assert_true(receiver_start(&failed_only, false, NULL, 0));
    assert_true(receiver_start(&other, false, NULL, 0));
    static const char *const orders[] = {"sales", "orders-*"}, *const sales[] = {"sales-*"};
    struct lh_app_webhook hooks[] = {
        {.url = all.url, .secret = SECRET, .events = LH_APP_WEBHOOK_ALL},
        {.url = failed_only.url,
         .secret = "other-key",
         .events = LH_APP_WEBHOOK_RUN_FAILED,
         .schedules = orders,
         .nschedules = 2},
        {.url = other.url, .secret = SECRET, .schedules = sales, .nschedules = 1},
    };
    struct lh_app_metrics *m;
    struct lh_app_webhooks *w;
    struct lh_error err;
    assert_int_equal(lh_app_metrics_create(&m, &err), LH_OK);
    struct lh_app_webhooks_options opt = {.backoff_ms = 20};
    assert_int_equal(lh_app_webhooks_create(hooks, 3, &opt, m, &w, &err), LH_OK);
    struct lh_app_jobs env = {.metrics = m, .webhooks = w};

    struct lh_schedule *def = sample_def();
    struct lh_run_record r1 = sample_run("20261207T170102.000001Z-0001", LH_RUN_FAILED,
                                         "relation \"public.orderz\" does not exist");
    struct lh_sched_event ev = {LH_SCHED_EVENT_RUN_FINISHED, def, &r1, 0};
    def->consecutive_failures = 1;
    lh_app_scheduler_event(&env, &ev); /* run_failed x2 (both webhooks) */
    struct lh_run_record r2 =
        sample_run("20261207T170202.000001Z-0002", LH_RUN_TIMEOUT, "timeout: the run passed");
    ev.run = &r2;
    ev.prev_failures = 1;
    def->consecutive_failures = 2;
    lh_app_scheduler_event(&env, &ev); /* run_failed (timeout) x2 */
    def->enabled = false;
    snprintf(def->paused_reason, sizeof def->paused_reason,
             "auto-paused after 2 consecutive failed runs (last: timeout)");
    ev.kind = LH_SCHED_EVENT_AUTO_PAUSED;
    lh_app_scheduler_event(&env, &ev); /* schedule_paused */
    ev.kind = LH_SCHED_EVENT_RUN_FINISHED;
    struct lh_run_record r3 =
        sample_run("20261207T170302.000001Z-0003", LH_RUN_CANCELLED, "cancelled");
    ev.run = &r3;
    ev.prev_failures = 2;
    lh_app_scheduler_event(&env, &ev); /* nothing: a cancel is no failure */
    struct lh_run_record r4 =
        sample_run("20261207T170402.000001Z-0004", LH_RUN_SUCCESS, "rows=42 dataset=orders");
    ev.run = &r4;
    ev.prev_failures = 2;
    def->enabled = true;
    def->consecutive_failures = 0;
    lh_app_scheduler_event(&env, &ev); /* run_recovered */
    struct lh_run_record r5 =
        sample_run("20261207T170502.000001Z-0005", LH_RUN_SUCCESS, "rows=42 dataset=orders");
    ev.run = &r5;
    ev.prev_failures = 0;
    lh_app_scheduler_event(&env, &ev); /* nothing: an ordinary success */
    struct lh_ingest_result *res = calloc(1, sizeof *res);
    res->rows = 42;
    res->bytes = 4096;
    res->version = 7;
    res->published = true;
    snprintf(res->dataset, sizeof res->dataset, "orders");
    snprintf(res->message, sizeof res->message, "rows=42 dataset=orders bytes=4096");
    snprintf(res->schema_change, sizeof res->schema_change, "added note Utf8");
    struct lh_run_info info = {"20261207T170602.000001Z-0006",
                               LH_RUN_SCHEDULE,
                               0,
                               lh_time_wall_us() - 1000000,
                               NULL,
                               NULL};
    lh_app_webhooks_schema_changed(w, def, &info, res); /* schema_changed */
    res->schema_change[0] = '\0';
    lh_app_webhooks_schema_changed(w, def, &info, res); /* nothing */

    wait_settled(w, 7);
    struct lh_app_webhooks_stats st;
    lh_app_webhooks_stats(w, &st);
    assert_int_equal(st.queued, 7);
    assert_int_equal(st.delivered, 7);
    assert_int_equal(all.nreqs, 5);
    assert_int_equal(failed_only.nreqs, 2);
    assert_int_equal(receiver_count(&failed_only, "run_failed"), 2);
    assert_int_equal(other.nreqs, 0); /* subscribed to other schedules only */

    json_t *o = check_request(find(&all, "run_failed", 0), SECRET, "run_failed");
    json_t *run = json_object_get(o, "run");
    assert_string_equal(json_string_value(json_object_get(run, "run_id")), r1.run_id);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(run, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(run, "message")), r1.message);
    json_decref(o);
    o = check_request(find(&all, "run_failed", 1), SECRET, "run_failed");
    run = json_object_get(o, "run");
    assert_string_equal(json_string_value(json_object_get(run, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(run, "status")), "timeout");
    json_decref(o);
    json_decref(check_request(find(&failed_only, "run_failed", 1), "other-key", "run_failed"));

    o = check_request(find(&all, "schedule_paused", 0), SECRET, "schedule_paused");
    assert_string_equal(json_string_value(json_object_get(o, "paused_reason")),
                        def->paused_reason[0] ? "auto-paused after 2 consecutive failed runs "
                                                "(last: timeout)"
                                              : "");
    assert_false(json_is_true(json_object_get(json_object_get(o, "schedule"), "enabled")));
    json_decref(o);

    o = check_request(find(&all, "run_recovered", 0), SECRET, "run_recovered");
    assert_int_equal(json_integer_value(json_object_get(o, "previous_failures")), 2);
    run = json_object_get(o, "run");
    assert_string_equal(json_string_value(json_object_get(run, "run_id")), r4.run_id);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(run, "rows")), 42);
    assert_int_equal(json_integer_value(json_object_get(run, "bytes")), 4096);
    json_decref(o);

    o = check_request(find(&all, "schema_changed", 0), SECRET, "schema_changed");
    assert_string_equal(json_string_value(json_object_get(o, "schema_change")), "added note Utf8");
    assert_int_equal(json_integer_value(json_object_get(o, "version")), 7);
    run = json_object_get(o, "run");
    assert_string_equal(json_string_value(json_object_get(run, "run_id")), info.run_id);
    json_decref(o);

    /* every delivery has its own id */
    for (int i = 0; i < all.nreqs; i++)
        for (int j = i + 1; j < all.nreqs; j++)
            assert_string_not_equal(all.reqs[i].delivery, all.reqs[j].delivery);

    struct lh_buf b;
    lh_buf_init(&b, 1 << 20);
    lh_app_metrics_render(m, &b);
    lh_buf_cstr(&b);
    if (!strstr((char *)b.data, "lakehouse_webhook_deliveries_total{outcome=\"delivered\"} 7"))
        fail_msg("metrics: %s", (char *)b.data);
    lh_buf_reset(&b);

    lh_app_webhooks_destroy(w);
    lh_app_metrics_destroy(m);
    receiver_stop(&all);
    receiver_stop(&failed_only);
    receiver_stop(&other);
    free(def);
    free(res);
}

static void emit_failed(struct lh_app_webhooks *w, const char *run_id)
{
    struct lh_schedule *def = sample_def();
    struct lh_run_record r = sample_run(run_id, LH_RUN_FAILED, "boom");
    struct lh_sched_event ev = {LH_SCHED_EVENT_RUN_FINISHED, def, &r, 0};
    lh_app_webhooks_sched_event(w, &ev);
    free(def);
}

static void test_retry(void **state)
{
    (void)state;
    static const int script[] = {500, 500, 200};
    struct receiver r;
    assert_true(receiver_start(&r, false, script, 3));
    struct lh_app_webhook h = {.url = r.url, .secret = SECRET};
    struct lh_app_webhooks *w;
    struct lh_error err;
    struct lh_app_webhooks_options o = {.backoff_ms = 50};
    assert_int_equal(lh_app_webhooks_create(&h, 1, &o, NULL, &w, &err), LH_OK);
    emit_failed(w, "20261207T170102.000001Z-0001");
    wait_settled(w, 1);
    struct lh_app_webhooks_stats st;
    lh_app_webhooks_stats(w, &st);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.retried, 2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(r.nreqs, 3);
    for (int i = 1; i < 3; i++) {
        assert_string_equal(r.reqs[i].delivery, r.reqs[0].delivery);
        assert_string_equal(r.reqs[i].signature, r.reqs[0].signature);
        assert_string_equal(r.reqs[i].body, r.reqs[0].body);
    }
    json_decref(check_request(&r.reqs[2], SECRET, "run_failed"));
    /* figures: the gaps between tries (backoff 50 ms, x2, +-25 %) */
    print_message("retry gaps: %.0f ms, %.0f ms\n",
                  (double)(r.reqs[1].at_ns - r.reqs[0].at_ns) / 1e6,
                  (double)(r.reqs[2].at_ns - r.reqs[1].at_ns) / 1e6);
    lh_app_webhooks_destroy(w);
    receiver_stop(&r);
}

static void test_give_up(void **state)
{
    (void)state;
    static const int refuse[] = {400};
    static const int limited[] = {429, 429};
    struct receiver r400, r429, gone;
    assert_true(receiver_start(&r400, false, refuse, 1));
    assert_true(receiver_start(&r429, false, limited, 2));
    assert_true(receiver_start(&gone, false, NULL, 0));
    char gone_url[128];
    snprintf(gone_url, sizeof gone_url, "%s", gone.url);
    receiver_stop(&gone); /* nobody listens there now: connection refused */
    struct lh_app_webhook h[] = {
        {.url = r400.url, .secret = SECRET},
        {.url = r429.url, .secret = SECRET},
        {.url = gone_url, .secret = SECRET, .max_attempts = 3},
    };
    struct lh_app_webhooks *w;
    struct lh_error err;
    struct lh_app_webhooks_options o = {.backoff_ms = 20};
    assert_int_equal(lh_app_webhooks_create(h, 3, &o, NULL, &w, &err), LH_OK);
    emit_failed(w, "20261207T170102.000001Z-0001");
    wait_settled(w, 3);
    struct lh_app_webhooks_stats st;
    lh_app_webhooks_stats(w, &st);
    assert_int_equal(r400.nreqs, 1); /* a 400 is final */
    assert_int_equal(r429.nreqs, 3); /* 429, 429, 200 */
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.failed, 2);  /* the 400, and the refused one after 3 tries */
    assert_int_equal(st.retried, 4); /* 2 x 429, 2 x refused */
    lh_app_webhooks_destroy(w);
    receiver_stop(&r400);
    receiver_stop(&r429);
}

static void test_silent(void **state)
{
    (void)state;
    struct receiver r, ok;
    assert_true(receiver_start(&r, true, NULL, 0));
    assert_true(receiver_start(&ok, false, NULL, 0));
    struct lh_app_webhook h[] = {
        {.url = r.url, .secret = SECRET, .timeout_secs = 30},
        {.url = ok.url, .secret = SECRET},
    };
    struct lh_app_webhooks *w;
    struct lh_app_metrics *m;
    struct lh_error err;
    assert_int_equal(lh_app_metrics_create(&m, &err), LH_OK);
    struct lh_app_webhooks_options o = {.backoff_ms = 20, .shutdown_ms = 300};
    assert_int_equal(lh_app_webhooks_create(h, 2, &o, m, &w, &err), LH_OK);
    int64_t t0 = lh_time_mono_ns();
    emit_failed(w, "20261207T170102.000001Z-0001");
    int64_t emit_ns = lh_time_mono_ns() - t0;
    emit_failed(w, "20261207T170102.000001Z-0002");
    emit_failed(w, "20261207T170102.000001Z-0003");
    assert_int_equal(receiver_wait(&r, 1, 20), 1); /* it came, and waits for an answer */
    /* the other webhook is not held up by the silent one */
    assert_int_equal(receiver_wait(&ok, 3, 20), 3);
    struct lh_app_webhooks_stats st;
    for (int i = 0; i < 400; i++) {
        lh_app_webhooks_stats(w, &st);
        if (st.delivered == 3)
            break;
        usleep(20000);
    }
    assert_int_equal(st.delivered, 3);
    assert_int_equal(st.pending, 3); /* one in flight, two waiting behind it */
    assert_int_equal(st.failed, 0);
    t0 = lh_time_mono_ns();
    lh_app_webhooks_destroy(w); /* aborts the request at shutdown_ms and drops it */
    print_message("emit: %.3f ms; shutdown with a silent receiver: %.0f ms (shutdown_ms 300, "
                  "request timeout 30 s)\n",
                  (double)emit_ns / 1e6, (double)(lh_time_mono_ns() - t0) / 1e6);
    /* the aborted request and the two behind it are dropped, not retried */
    struct lh_buf b;
    lh_buf_init(&b, 1 << 20);
    lh_app_metrics_render(m, &b);
    lh_buf_cstr(&b);
    if (!strstr((char *)b.data, "lakehouse_webhook_deliveries_total{outcome=\"dropped\"} 3") ||
        strstr((char *)b.data, "outcome=\"retried\""))
        fail_msg("metrics: %s", (char *)b.data);
    lh_buf_reset(&b);
    lh_app_metrics_destroy(m);
    receiver_stop(&r);
    receiver_stop(&ok);
}

static void test_queue_full(void **state)
{
    (void)state;
    struct receiver r;
    assert_true(receiver_start(&r, true, NULL, 0));
    struct lh_app_webhook h = {.url = r.url, .secret = SECRET, .timeout_secs = 30};
    struct lh_app_webhooks *w;
    struct lh_error err;
    struct lh_app_webhooks_options o = {.queue_max = 2, .shutdown_ms = 100};
    assert_int_equal(lh_app_webhooks_create(&h, 1, &o, NULL, &w, &err), LH_OK);
    for (int i = 0; i < 6; i++) {
        char id[40];
        snprintf(id, sizeof id, "20261207T170102.000001Z-%04d", i);
        emit_failed(w, id);
    }
    struct lh_app_webhooks_stats st;
    lh_app_webhooks_stats(w, &st);
    assert_int_equal(st.queued, 6);
    /* at most queue_max waiting, plus one in flight; the rest dropped */
    assert_true(st.pending <= 3);
    assert_int_equal(st.dropped, st.queued - st.pending);
    lh_app_webhooks_destroy(w);
    receiver_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_good), cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_each_event),  cmocka_unit_test(test_retry),
        cmocka_unit_test(test_give_up),     cmocka_unit_test(test_silent),
        cmocka_unit_test(test_queue_full),
    };
    lh_log_set_level(getenv("LH_TEST_DEBUG") ? LH_LOG_DEBUG : LH_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
