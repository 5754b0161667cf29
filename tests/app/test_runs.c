#define _GNU_SOURCE /* memmem */
/*
 * test_runs.c — the live run registry (src/app/runs.c) in process, over a
 * real local-directory schedule store: the view of a run as it moves from
 * queued to recorded, its log (secrets scrubbed as values, words kept;
 * head and tail kept under the caps), its log written beside the record
 * and pruned with it, cancels (once; 409-worthy when finished), eviction
 * of old finished runs, listing and the run gauges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/app.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    struct lh_store *st;
    struct lh_schedule_store *ss;
    struct lh_schedule_key key;
    struct lh_app_runs *runs;
};

static int setup_keep(void **state, unsigned keep)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-runs-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct lh_store_options o = {.create = true};
    struct lh_error err;
    if (lh_store_open(f->dir, &o, &f->st, &err) != LH_OK)
        return -1;
    if (lh_schedule_key_from_text(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &f->key, &err))
        return -1;
    struct lh_schedule_store_options so = {.key = &f->key, .runs_keep = keep};
    if (lh_schedule_store_open(f->st, &so, &f->ss, &err) != LH_OK)
        return -1;
    if (lh_app_runs_create(f->ss, &f->runs, &err) != LH_OK)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_keep(state, 0);
}

static int setup_keep3(void **state)
{
    return setup_keep(state, 3);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lh_app_runs_destroy(f->runs);
    lh_schedule_store_close(f->ss);
    lh_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* The run's log as one text (malloc'd) and its line count. */
static char *log_of(struct fx *f, const char *rid, size_t *lines, bool *complete)
{
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, 8u << 20);
    assert_int_equal(lh_app_runs_log(f->runs, rid, &b, complete, &err), LH_OK);
    *lines = 0;
    for (size_t i = 0; i < b.len; i++)
        *lines += b.data[i] == '\n';
    lh_buf_cstr(&b);
    size_t n;
    return (char *)lh_buf_take(&b, &n);
}

static const char *const DSN = "postgresql://etl:Secr3t-pw@db.example:5432/shop";

static void test_life_of_a_run(void **state)
{
    struct fx *f = *state;
    struct lh_app_run_view v;
    struct lh_error err;
    char rid[LH_RUN_ID_MAX];
    lh_run_id_make(lh_time_wall_us(), 1, rid);
    struct lh_app_run *r = lh_app_runs_enter(f->runs, rid, "orders", NULL, "manual",
                                             LH_APP_RUN_QUEUED);
    assert_non_null(r);
    /* entering again finds it (the job after the run-now route), fills the dataset */
    struct lh_app_run *again =
        lh_app_runs_enter(f->runs, rid, "orders", "orders_ds", "manual", LH_APP_RUN_RUNNING);
    assert_ptr_equal(again, r);
    lh_app_run_release(again);
    assert_int_equal(lh_app_runs_get(f->runs, rid, &v, &err), LH_OK);
    assert_int_equal(v.state, LH_APP_RUN_QUEUED);
    assert_int_equal(v.phase, -1);
    assert_int_equal(v.started_at_us, 0);
    assert_string_equal(v.dataset, "orders_ds");
    assert_true(lh_app_runs_active(f->runs, "orders", &v));
    lh_app_run_start(r, lh_time_wall_us(), DSN);
    lh_app_run_log(r, LH_LOG_INFO, "connecting to %s", DSN);
    lh_app_run_log_line(r, LH_LOG_ERROR,
                        "FATAL: password authentication failed for user \"etl\" (Secr3t-pw)");
    lh_app_run_log_line(r, LH_LOG_WARN, "table password_resets not found");
    struct lh_ingest_progress p = {LH_INGEST_READING, 10, 2048, 0.5, 1000};
    lh_app_run_progress(r, &p);
    assert_int_equal(lh_app_runs_get(f->runs, rid, &v, &err), LH_OK);
    assert_int_equal(v.state, LH_APP_RUN_RUNNING);
    assert_int_equal(v.phase, LH_INGEST_READING);
    assert_int_equal(v.rows, 10);
    assert_int_equal(v.bytes, 2048);
    assert_int_equal(v.estimated_rows, 1000);
    assert_true(v.live);
    /* the gauges of a running run */
    struct lh_buf m;
    lh_buf_init(&m, 1 << 20);
    lh_app_runs_metrics(f->runs, &m);
    lh_buf_cstr(&m);
    char series[200];
    snprintf(series, sizeof series, "lakehouse_run_rows{schedule=\"orders\",run_id=\"%s\"} 10\n",
             rid);
    assert_non_null(strstr((char *)m.data, series));
    snprintf(series, sizeof series,
             "lakehouse_run_estimated_rows{schedule=\"orders\",run_id=\"%s\"} 1000\n", rid);
    assert_non_null(strstr((char *)m.data, series));
    lh_buf_reset(&m);
    /* the log: the password masked as a value, never the words */
    size_t nl;
    bool complete;
    char *text = log_of(f, rid, &nl, &complete);
    assert_false(complete);
    assert_null(strstr(text, "Secr3t-pw"));
    assert_non_null(strstr(text, "etl:***@db.example"));
    assert_non_null(strstr(text, "password authentication failed for user \\\"etl\\\""));
    assert_non_null(strstr(text, "table password_resets not found"));
    assert_non_null(strstr(text, "\"level\":\"error\""));
    free(text);
    /* the job ends, then the scheduler's record has the last word */
    lh_app_run_finish(r, LH_APP_RUN_FAILED, LH_RUN_FAILED, "boom Secr3t-pw", 0, 0, 0, NULL);
    assert_int_equal(lh_app_runs_get(f->runs, rid, &v, &err), LH_OK);
    assert_int_equal(v.state, LH_APP_RUN_FAILED);
    assert_null(strstr(v.message, "Secr3t-pw"));
    assert_int_equal(v.phase, -1);
    assert_false(lh_app_runs_active(f->runs, "orders", &v));
    struct lh_run_record rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.run_id, sizeof rec.run_id, "%s", rid);
    snprintf(rec.schedule_id, sizeof rec.schedule_id, "orders");
    rec.reason = LH_RUN_MANUAL;
    rec.status = LH_RUN_TIMEOUT;
    rec.started_at_us = lh_time_wall_us() - 1000000;
    rec.finished_at_us = lh_time_wall_us();
    snprintf(rec.message, sizeof rec.message, "timeout: the run passed timeout_secs=1");
    lh_app_runs_recorded(f->runs, &rec);
    assert_int_equal(lh_app_runs_get(f->runs, rid, &v, &err), LH_OK);
    assert_int_equal(v.state, LH_APP_RUN_FAILED);
    assert_int_equal(v.status, LH_RUN_TIMEOUT);
    assert_string_equal(v.message, rec.message);
    /* finished: a cancel is refused, saying how it ended */
    assert_int_equal(lh_app_runs_cancel(f->runs, rid, &v, &err), LH_E_STATE);
    assert_non_null(strstr(err.msg, "already finished (failed)"));
    assert_int_equal(lh_app_runs_cancel(f->runs, "20990101T000000.000000Z-0001", &v, &err),
                     LH_E_NOTFOUND);
    /* the log was written beside the record (no record here: the store
     * has no schedule; the log stands alone) */
    uint8_t *b = NULL;
    size_t n = 0;
    assert_int_equal(lh_schedule_store_get_log(f->ss, "orders", rid, 0, &b, &n, &err), LH_OK);
    assert_non_null(memmem(b, n, "outcome: timeout", 16));
    assert_null(memmem(b, n, "Secr3t-pw", 9));
    free(b);
    text = log_of(f, rid, &nl, &complete);
    assert_true(complete);
    free(text);
    lh_app_run_release(r);
}

static int hook_calls;
static void hook(void *ctx)
{
    (void)ctx;
    hook_calls++;
}

static void test_cancel_hook_once(void **state)
{
    struct fx *f = *state;
    struct lh_app_run_view v;
    struct lh_error err;
    char rid[LH_RUN_ID_MAX];
    lh_app_run_id_new(rid);
    assert_true(lh_run_id_valid(rid));
    struct lh_app_run *r = lh_app_runs_enter(f->runs, rid, NULL, "ds", "api", LH_APP_RUN_QUEUED);
    hook_calls = 0;
    lh_app_run_set_cancel(r, hook, NULL);
    assert_int_equal(lh_app_runs_cancel(f->runs, rid, &v, &err), LH_OK);
    assert_true(v.cancel_requested);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(lh_app_runs_cancel(f->runs, rid, &v, &err), LH_OK); /* still running */
    assert_int_equal(hook_calls, 1);
    assert_true(lh_app_run_cancel_requested(r));
    /* a hook registered after the cancel runs at once */
    lh_app_run_set_cancel(r, hook, NULL);
    assert_int_equal(hook_calls, 2);
    lh_app_run_finish(r, LH_APP_RUN_CANCELLED, LH_RUN_CANCELLED, "COPY: cancelled", 0, 0, 0, NULL);
    lh_app_run_record_oneshot(r);
    assert_int_equal(lh_app_runs_get(f->runs, rid, &v, &err), LH_OK);
    assert_string_equal(v.message, "cancelled by a user (COPY: cancelled)");
    lh_app_run_release(r);
    /* recorded under _runs/_ingest/, found by id, shown without a schedule */
    struct lh_run_record rec;
    assert_int_equal(lh_schedule_store_find_run(f->ss, rid, &rec, &err), LH_OK);
    assert_string_equal(rec.schedule_id, LH_RUNS_ONESHOT);
    lh_app_run_view_from_record(&rec, &v);
    assert_string_equal(v.schedule_id, "");
    assert_string_equal(v.reason, "api");
    assert_int_equal(v.state, LH_APP_RUN_CANCELLED);
}

static void test_log_caps(void **state)
{
    struct fx *f = *state;
    char rid[LH_RUN_ID_MAX];
    lh_app_run_id_new(rid);
    struct lh_app_run *r = lh_app_runs_enter(f->runs, rid, "s", NULL, "schedule",
                                             LH_APP_RUN_RUNNING);
    lh_app_run_start(r, lh_time_wall_us(), NULL);
    char line[200];
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof line, "line %05d %s", i,
                 "................................................................................");
        lh_app_run_log_line(r, LH_LOG_INFO, line);
    }
    size_t nl;
    bool complete;
    char *text = log_of(f, rid, &nl, &complete);
    assert_true(nl <= LH_APP_RUN_LOG_LINES + 1); /* + the line saying what was left out */
    assert_non_null(strstr(text, "started: schedule run"));
    assert_non_null(strstr(text, "line 00000 "));
    assert_non_null(strstr(text, "line 00498 ")); /* the head: 500 lines, "started" first */
    assert_null(strstr(text, "line 00499 "));
    assert_non_null(strstr(text, "line(s) left out here"));
    assert_non_null(strstr(text, "line 04999 ")); /* the tail */
    assert_null(strstr(text, "line 03400 "));
    free(text);
    /* long lines: the byte cap holds */
    char big[LH_APP_RUN_LINE_MAX * 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 400; i++)
        lh_app_run_log_line(r, LH_LOG_INFO, big);
    text = log_of(f, rid, &nl, &complete);
    assert_true(strlen(text) < LH_APP_RUN_LOG_BYTES + 200 * 1024); /* text + JSON around it */
    assert_non_null(strstr(text, "line 00000 "));
    free(text);
    lh_app_run_finish(r, LH_APP_RUN_SUCCEEDED, LH_RUN_SUCCESS, "rows=1", 1, 1, 1, "ds");
    lh_app_run_release(r);
}

static void test_evict_and_list(void **state)
{
    struct fx *f = *state;
    struct lh_app_run_view v;
    struct lh_error err;
    char first[LH_RUN_ID_MAX] = "", rid[LH_RUN_ID_MAX];
    for (int i = 0; i < 250; i++) {
        lh_run_id_make(lh_time_wall_us() + i, (uint32_t)i, rid);
        if (!first[0])
            snprintf(first, sizeof first, "%s", rid);
        struct lh_app_run *r =
            lh_app_runs_enter(f->runs, rid, "many", NULL, "schedule", LH_APP_RUN_RUNNING);
        lh_app_run_finish(r, LH_APP_RUN_SUCCEEDED, LH_RUN_SUCCESS, "ok", 1, 1, 1, "ds");
        lh_app_run_release(r);
        usleep(10); /* finished_at orders the eviction */
    }
    char live[LH_RUN_ID_MAX];
    lh_run_id_make(lh_time_wall_us() + 1000, 999, live);
    struct lh_app_run *r = lh_app_runs_enter(f->runs, live, "many", NULL, "manual",
                                             LH_APP_RUN_QUEUED);
    /* the oldest finished ones left memory (and no history holds them) */
    assert_int_equal(lh_app_runs_get(f->runs, first, &v, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_app_runs_get(f->runs, rid, &v, &err), LH_OK);
    struct lh_app_run_view *l = NULL;
    size_t n = 0;
    enum lh_app_run_state q = LH_APP_RUN_QUEUED;
    assert_int_equal(lh_app_runs_list(f->runs, &q, NULL, 50, &l, &n, &err), LH_OK);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].run_id, live);
    free(l);
    assert_int_equal(lh_app_runs_list(f->runs, NULL, "many", 10, &l, &n, &err), LH_OK);
    assert_int_equal(n, 10);
    assert_string_equal(l[0].run_id, live); /* newest first */
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(l[i - 1].run_id, l[i].run_id) > 0);
    free(l);
    lh_app_run_finish(r, LH_APP_RUN_CANCELLED, LH_RUN_CANCELLED, "x", 0, 0, 0, NULL);
    lh_app_run_release(r);
}

/* runs_keep 3: the logs go with their records. */
static void test_logs_pruned_with_records(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    char ids[5][LH_RUN_ID_MAX];
    for (int i = 0; i < 5; i++) {
        lh_app_run_id_new(ids[i]);
        struct lh_app_run *r =
            lh_app_runs_enter(f->runs, ids[i], NULL, "ds", "api", LH_APP_RUN_RUNNING);
        lh_app_run_finish(r, LH_APP_RUN_SUCCEEDED, LH_RUN_SUCCESS, "ok", 1, 1, 1, "ds");
        lh_app_run_record_oneshot(r);
        lh_app_run_release(r);
        usleep(2);
    }
    struct lh_store_list l;
    assert_int_equal(lh_store_list(f->st, "_runs/_ingest/", &l, &err), LH_OK);
    size_t json = 0, logs = 0;
    for (size_t i = 0; i < l.count; i++) {
        json += strstr(l.items[i].key, ".json") != NULL;
        logs += strstr(l.items[i].key, ".log") != NULL;
        assert_null(strstr(l.items[i].key, ids[0]));
        assert_null(strstr(l.items[i].key, ids[1]));
    }
    lh_store_list_reset(&l);
    assert_int_equal(json, 3);
    assert_int_equal(logs, 3);
    /* the history across schedules, newest first */
    struct lh_run_record *v = NULL;
    size_t n = 0;
    assert_int_equal(lh_schedule_store_recent_runs(f->ss, 10, &v, &n, &err), LH_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].run_id, ids[4]);
    assert_string_equal(v[0].dataset, "ds");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_life_of_a_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_hook_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs_pruned_with_records, setup_keep3, teardown),
    };
    lh_log_set_level(getenv("LH_TEST_DEBUG") ? LH_LOG_DEBUG : LH_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
