/*
 * test_fullspace.c — a full disk under a running daemon (issue 12, item
 * 14), with the fault knob LH_FAULT_ENOSPC_WHILE (every write fails with
 * ENOSPC while a flag file exists):
 *   - a run that fails while the disk is full keeps its outcome: GET
 *     /api/schedules/{id} shows last_outcome and the counters, its runs
 *     list the run with "unrecorded": true, and once space returns the
 *     record and the schedule file are written;
 *   - the error bodies of the writes refused meanwhile (create, update,
 *     pause, index bind) name no path of the host: not the data directory,
 *     not a temporary name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "daemon.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[256], flag[300], env_flag[400];
static struct daemon d;
static unsigned bodies;

static void check_body(const struct reply *r)
{
    bodies++;
    if (strstr(r->body, dir))
        fail_msg("error body names the data directory %s: %s", dir, r->body);
    if (strstr(r->body, ".tmp-"))
        fail_msg("error body names a temporary file: %s", r->body);
    if (strstr(r->body, "\"/"))
        fail_msg("error body holds an absolute path: %s", r->body);
}

static json_t *get_json(const char *path)
{
    struct reply r;
    assert_true(http_do(&d, "GET", path, NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    reply_free(&r);
    assert_non_null(o);
    return o;
}

static void disk_full(bool full)
{
    if (full) {
        FILE *f = fopen(flag, "w");
        assert_non_null(f);
        fclose(f);
    } else {
        assert_int_equal(unlink(flag), 0);
    }
}

static bool exists(const char *rel)
{
    char p[600];
    struct stat sb;
    snprintf(p, sizeof p, "%s/primary/%s", dir, rel);
    return stat(p, &sb) == 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-full-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(flag, sizeof flag, "%s/disk-full", dir);
    snprintf(env_flag, sizeof env_flag, "LH_FAULT_ENOSPC_WHILE=%s", flag);
    /* a dataset to bind an index to */
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    const char *key = "datasets/orders/run-1-x/part-00000.parquet";
    if (lh_store_put(lh_store_set_primary(set), key, "PAR1", 4, &err) != LH_OK)
        return -1;
    struct lh_catalog_object o = {.key = key, .size_bytes = 4};
    struct lh_catalog_version_spec sp = {.objects = &o, .nobjects = 1, .row_count = 1};
    if (lh_catalog_version_register(cat, "orders", &sp, NULL, &err) != LH_OK)
        return -1;
    lh_catalog_close(cat);
    lh_store_set_close(set);
    daemon_log_dir = dir;
    const char *args[] = {"--data", dir, NULL};
    const char *env[] = {env_flag, "LAKEHOUSE_FLUSH_RETRY_SECS=1", NULL};
    return daemon_start(&d, args, env) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = daemon_stop(&d, SIGTERM);
    printf("error bodies checked: %u\n", bodies);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return rc == 0 ? 0 : -1;
}

static bool log_has(const char *needle)
{
    FILE *f = fopen(d.errlog, "r");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

static void test_outcome_survives_full_disk(void **state)
{
    (void)state;
    const char *body = "{\"id\": \"nightly\", \"kind\": {\"type\": \"postgres\", \"dsn\": "
                       "\"postgresql://u@127.0.0.1:1/db\", \"table\": \"t\"}, \"trigger\": "
                       "{\"type\": \"interval\", \"secs\": 3600}, \"enabled\": false, "
                       "\"retry\": {\"max_attempts\": 0}}";
    struct reply r;
    assert_true(http_do(&d, "POST", "/api/schedules", "application/json", NULL, body,
                        strlen(body), &r));
    assert_int_equal(r.status, 201);
    reply_free(&r);

    disk_full(true);
    /* writes refused meanwhile: clear errors, no host path */
    const char *other = "{\"id\": \"other\", \"kind\": {\"type\": \"postgres\", \"dsn\": "
                        "\"postgresql://u@127.0.0.1:1/db\", \"table\": \"t\"}, \"trigger\": "
                        "{\"type\": \"interval\", \"secs\": 3600}, \"enabled\": false}";
    struct {
        const char *method, *path, *body;
    } writes[] = {
        {"POST", "/api/schedules", other},
        {"PUT", "/api/schedules/nightly", body},
        {"POST", "/api/indexes", "{\"index\": \"ix\", \"dataset\": \"orders\"}"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        assert_true(http_do(&d, writes[i].method, writes[i].path, "application/json", NULL,
                            writes[i].body, strlen(writes[i].body), &r));
        printf("%s %s on a full disk -> %ld %s", writes[i].method, writes[i].path, r.status,
               r.body);
        assert_true(r.status >= 500);
        assert_non_null(strstr(r.body, "No space left on device"));
        check_body(&r);
        reply_free(&r);
    }

    assert_true(http_do(&d, "POST", "/api/schedules/nightly/run", "application/json", NULL, "{}",
                        2, &r));
    assert_int_equal(r.status, 202);
    json_t *acc = json_loads(r.body, 0, NULL);
    char run_id[64];
    snprintf(run_id, sizeof run_id, "%s", json_string_value(json_object_get(acc, "run_id")));
    json_decref(acc);
    reply_free(&r);

    /* the outcome shows although nothing could be written */
    json_t *s = NULL;
    for (int i = 0; i < 600; i++) {
        s = get_json("/api/schedules/nightly");
        json_t *lo = json_object_get(s, "last_outcome");
        if (json_is_object(lo) && !json_is_true(json_object_get(s, "running")))
            break;
        json_decref(s);
        s = NULL;
        usleep(100000);
    }
    assert_non_null(s);
    char *txt = json_dumps(s, JSON_COMPACT);
    printf("schedule after the run: %s\n", txt);
    free(txt);
    json_t *lo = json_object_get(s, "last_outcome");
    assert_false(json_is_true(json_object_get(lo, "success")));
    assert_int_equal(json_integer_value(json_object_get(s, "failure_count")), 1);
    assert_true(json_is_string(json_object_get(s, "last_run_at")));
    json_decref(s);
    json_t *runs = get_json("/api/schedules/nightly/runs");
    json_t *arr = json_object_get(runs, "runs");
    assert_int_equal(json_array_size(arr), 1);
    assert_int_equal(json_integer_value(json_object_get(runs, "total")), 1);
    json_t *run = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(run, "run_id")), run_id);
    assert_true(json_is_true(json_object_get(run, "unrecorded")));
    assert_string_equal(json_string_value(json_object_get(run, "outcome")), "failed");
    json_decref(runs);
    char rel[300];
    snprintf(rel, sizeof rel, "_runs/nightly/%s.json", run_id);
    assert_false(exists(rel));
    assert_true(log_has("is kept in memory, not written yet"));

    /* space returns: the record and the schedule file are written */
    disk_full(false);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 600 && !exists(rel); i++)
        usleep(100000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("written %.1f s after space returned (retry every 1 s)\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    assert_true(exists(rel));
    for (int i = 0; i < 100; i++) {
        runs = get_json("/api/schedules/nightly/runs");
        run = json_array_get(json_object_get(runs, "runs"), 0);
        bool done = !json_object_get(run, "unrecorded");
        json_decref(runs);
        if (done)
            break;
        usleep(100000);
    }
    runs = get_json("/api/schedules/nightly/runs");
    run = json_array_get(json_object_get(runs, "runs"), 0);
    assert_null(json_object_get(run, "unrecorded"));
    assert_string_equal(json_string_value(json_object_get(run, "run_id")), run_id);
    json_decref(runs);
    /* the schedule file on disk counts the run */
    char p[600];
    snprintf(p, sizeof p, "%s/primary/_schedules/nightly.json", dir);
    json_t *file = NULL;
    for (int i = 0; i < 100; i++) {
        file = json_load_file(p, 0, NULL);
        if (file && json_integer_value(json_object_get(file, "failure_count")) == 1)
            break;
        json_decref(file);
        file = NULL;
        usleep(100000);
    }
    assert_non_null(file);
    assert_false(json_is_true(json_object_get(json_object_get(file, "last_outcome"), "success")));
    json_decref(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcome_survives_full_disk),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
