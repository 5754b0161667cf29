/*
 * test_sched_unrecorded.c — runs recorded on a full disk (issue 12, item
 * 14), on a real local-directory store with the core's ENOSPC fault hook:
 *   - with keep_unrecorded (the daemon) a run whose record and schedule
 *     file cannot be written is applied in memory, listed with
 *     `unrecorded` in its place, and written by lh_schedule_store_flush
 *     once writes work again — also when another writer changed the
 *     schedule file meanwhile (its change and the runs both survive);
 *   - without it (the CLI) record_run fails and keeps nothing;
 *   - the error messages name keys, never the store's directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schedule/schedule.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF(id)                                                                                    \
    "{\"id\":\"" id "\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://u@h/db\",\"table\":"      \
    "\"customers\"},\"trigger\":{\"type\":\"interval\",\"secs\":3600},\"enabled\":true,"          \
    "\"created_at\":\"2026-04-16T20:36:04Z\",\"next_run_at\":\"2026-04-16T20:36:04Z\","           \
    "\"last_run_at\":null,\"last_outcome\":null,\"run_count\":0,\"failure_count\":0}"

static char dir[64];
static struct lh_store *st;
static struct lh_schedule_key key;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-unrec-XXXXXX");
    struct lh_store_options o = {.create = true};
    struct lh_error err;
    if (!mkdtemp(dir) || lh_store_open(dir, &o, &st, &err) != LH_OK ||
        lh_schedule_key_from_text(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key, &err))
        return -1;
    const char *j = REF("nightly");
    return lh_store_put(st, "_schedules/nightly.json", j, strlen(j), &err) == LH_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lh_fault_set_enospc_after(0);
    lh_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void make_run(struct lh_run_record *r, int64_t at, uint32_t seq, enum lh_run_status status)
{
    memset(r, 0, sizeof *r);
    lh_run_id_make(at, seq, r->run_id);
    snprintf(r->schedule_id, sizeof r->schedule_id, "nightly");
    r->started_at_us = at - 1000000;
    r->finished_at_us = at;
    r->status = status;
    snprintf(r->message, sizeof r->message, "%s",
             status == LH_RUN_SUCCESS ? "rows=3 dataset=customers bytes=10" : "source went away");
}

static bool on_disk(const char *run_id)
{
    char k[200];
    uint64_t size;
    struct lh_error err;
    snprintf(k, sizeof k, "_runs/nightly/%s.json", run_id);
    return lh_store_stat(st, k, &size, &err) == LH_OK;
}

static void test_cli_keeps_nothing(void **state)
{
    (void)state;
    struct lh_schedule_store *ss;
    struct lh_error err;
    struct lh_schedule_store_options o = {.key = &key};
    assert_int_equal(lh_schedule_store_open(st, &o, &ss, &err), LH_OK);
    struct lh_run_record r;
    make_run(&r, 1000000000000000LL, 1, LH_RUN_FAILED);
    lh_fault_set_enospc_after(1);
    assert_int_equal(lh_schedule_store_record_run(ss, &r, 1, r.finished_at_us, NULL, NULL, &err),
                     LH_E_NOSPC);
    lh_fault_set_enospc_after(0);
    printf("CLI store on a full disk: %s\n", err.msg);
    assert_null(strstr(err.msg, dir));
    assert_null(strstr(err.msg, ".tmp-"));
    assert_non_null(strstr(err.msg, "_runs/nightly/"));
    assert_int_equal(lh_schedule_store_unrecorded(ss), 0);
    struct lh_schedule g;
    assert_int_equal(lh_schedule_store_get(ss, "nightly", &g, &err), LH_OK);
    assert_int_equal(g.failure_count, 0);
    lh_schedule_store_close(ss);
}

static void test_daemon_keeps_and_flushes(void **state)
{
    (void)state;
    struct lh_schedule_store *ss, *cli;
    struct lh_error err;
    struct lh_schedule_store_options o = {.key = &key, .keep_unrecorded = true};
    assert_int_equal(lh_schedule_store_open(st, &o, &ss, &err), LH_OK);
    struct lh_run_record r1, r2;
    make_run(&r1, 1000000100000000LL, 2, LH_RUN_FAILED);
    make_run(&r2, 1000000200000000LL, 3, LH_RUN_SUCCESS);
    r2.has_rows = true;
    r2.rows = 3;

    lh_fault_set_enospc_after(1); /* the disk is full */
    struct lh_schedule g;
    assert_int_equal(lh_schedule_store_record_run(ss, &r1, 1, r1.finished_at_us, &g, NULL, &err),
                     LH_OK);
    assert_int_equal(g.failure_count, 1);
    assert_false(g.last_outcome.success);
    assert_int_equal(lh_schedule_store_record_run(ss, &r2, 2, r2.finished_at_us, &g, NULL, &err),
                     LH_OK);
    assert_int_equal(lh_schedule_store_unrecorded(ss), 2);
    assert_int_equal(lh_schedule_store_get(ss, "nightly", &g, &err), LH_OK);
    assert_int_equal(g.failure_count, 1);
    assert_int_equal(g.run_count, 1);
    assert_true(g.last_outcome.success);
    struct lh_run_record *v;
    size_t n, total;
    assert_int_equal(lh_schedule_store_runs(ss, "nightly", NULL, 10, &v, &n, &total, &err), LH_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_string_equal(v[0].run_id, r2.run_id); /* newest first */
    assert_true(v[0].unrecorded && v[1].unrecorded);
    free(v);
    /* still full: the flush fails and keeps everything */
    assert_int_not_equal(lh_schedule_store_flush(ss, &err), LH_OK);
    printf("flush on a full disk: %s\n", err.msg);
    assert_null(strstr(err.msg, dir));
    assert_int_equal(lh_schedule_store_unrecorded(ss), 2);
    assert_false(on_disk(r1.run_id));

    /* space returns, and another writer (the CLI) pauses the schedule first */
    lh_fault_set_enospc_after(0);
    struct lh_schedule_store_options co = {.key = &key};
    assert_int_equal(lh_schedule_store_open(st, &co, &cli, &err), LH_OK);
    assert_int_equal(lh_schedule_store_set_enabled(cli, "nightly", false, "by the CLI", &err),
                     LH_OK);
    lh_schedule_store_close(cli);
    assert_int_equal(lh_schedule_store_flush(ss, &err), LH_OK);
    assert_int_equal(lh_schedule_store_unrecorded(ss), 0);
    assert_true(on_disk(r1.run_id));
    assert_true(on_disk(r2.run_id));
    assert_int_equal(lh_schedule_store_runs(ss, "nightly", NULL, 10, &v, &n, &total, &err), LH_OK);
    assert_int_equal(n, 2);
    assert_false(v[0].unrecorded || v[1].unrecorded);
    free(v);
    lh_schedule_store_close(ss);
    /* what a fresh reader sees on disk: the CLI's pause and both runs */
    assert_int_equal(lh_schedule_store_open(st, &co, &cli, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(cli, "nightly", &g, &err), LH_OK);
    assert_false(g.enabled);
    assert_string_equal(g.paused_reason, "by the CLI");
    assert_int_equal(g.failure_count, 1);
    assert_int_equal(g.run_count, 1);
    assert_true(g.last_outcome.success);
    lh_schedule_store_close(cli);
}

/* A change made through the store while a run is only in memory, after
 * another writer changed the file: the run is carried onto the file. */
static void test_change_over_dirty(void **state)
{
    (void)state;
    struct lh_schedule_store *ss, *cli;
    struct lh_error err;
    struct lh_schedule_store_options o = {.key = &key, .keep_unrecorded = true};
    struct lh_schedule_store_options co = {.key = &key};
    assert_int_equal(lh_schedule_store_open(st, &o, &ss, &err), LH_OK);
    struct lh_schedule before;
    assert_int_equal(lh_schedule_store_get(ss, "nightly", &before, &err), LH_OK);
    struct lh_run_record r;
    make_run(&r, 1000000300000000LL, 4, LH_RUN_FAILED);
    lh_fault_set_enospc_after(1);
    assert_int_equal(lh_schedule_store_record_run(ss, &r, 3, r.finished_at_us, NULL, NULL, &err),
                     LH_OK);
    lh_fault_set_enospc_after(0);
    assert_int_equal(lh_schedule_store_open(st, &co, &cli, &err), LH_OK);
    struct lh_schedule g;
    assert_int_equal(lh_schedule_store_get(cli, "nightly", &g, &err), LH_OK);
    snprintf(g.description, sizeof g.description, "set by the CLI");
    assert_int_equal(lh_schedule_store_update(cli, &g, r.finished_at_us, &err), LH_OK);
    lh_schedule_store_close(cli);
    /* the daemon resumes the schedule: its write meets the CLI's file */
    assert_int_equal(lh_schedule_store_set_enabled(ss, "nightly", true, NULL, &err), LH_OK);
    assert_int_equal(lh_schedule_store_flush(ss, &err), LH_OK);
    assert_int_equal(lh_schedule_store_unrecorded(ss), 0);
    assert_true(on_disk(r.run_id));
    lh_schedule_store_close(ss);
    assert_int_equal(lh_schedule_store_open(st, &co, &cli, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(cli, "nightly", &g, &err), LH_OK);
    assert_string_equal(g.description, "set by the CLI");
    assert_true(g.enabled);
    assert_int_equal(g.failure_count, before.failure_count + 1);
    lh_schedule_store_close(cli);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_keeps_nothing),
        cmocka_unit_test(test_daemon_keeps_and_flushes),
        cmocka_unit_test(test_change_over_dirty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
