/*
 * test_damaged.c — damaged catalog and run records (issue 12, item 13) and
 * host paths in error bodies (item 14), against the real `lakehouse serve`
 * and the CLI:
 *   - a deleted current part, a current_version missing from the versions
 *     list and a catalog record replaced by a directory each give an error
 *     naming the record (or part) and what is wrong — in GET
 *     /api/datasets[/{name}], in POST /api/sql (never "no such table"), in
 *     `lakehouse datasets` / `lakehouse sql`, and in the daemon's log;
 *   - corrupt run records are listed in their place with "damaged" and an
 *     error (never `runs: []` with `total: 5`), in the API and the CLI;
 *   - no error body of these failure cases holds the data directory's
 *     absolute path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "daemon.h"
#include "schedule/schedule.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static struct daemon d;
static unsigned bodies_checked;

/* Every error body of this suite: no absolute path of the host. */
static void check_no_path(const struct reply *r)
{
    bodies_checked++;
    if (r->body && strstr(r->body, dir))
        fail_msg("error body holds the data directory %s: %s", dir, r->body);
}

static void put_file(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/primary/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int register_ds(struct lh_catalog *cat, struct lh_store *st, const char *name)
{
    struct lh_error err;
    const struct lh_catalog_column cols[] = {{.name = "id", .data_type = "Int64"}};
    char key[200];
    snprintf(key, sizeof key, "datasets/%s/run-1-x/part-00000.parquet", name);
    if (lh_store_put(st, key, "PAR1", 4, &err) != LH_OK)
        return -1;
    struct lh_catalog_object o = {.key = key, .size_bytes = 4};
    struct lh_catalog_version_spec sp = {
        .objects = &o, .nobjects = 1, .row_count = 1, .run_id = "r", .columns = cols, .ncolumns = 1};
    return lh_catalog_version_register(cat, name, &sp, NULL, &err) == LH_OK ? 0 : -1;
}

static int damage(void)
{
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    struct lh_store *st = lh_store_set_primary(set);
    const char *names[] = {"gone", "ptr", "asdir", "fine"};
    for (size_t i = 0; i < 4; i++)
        if (register_ds(cat, st, names[i]) != 0)
            return -1;
    /* 1: the current part deleted */
    if (lh_store_delete(st, "datasets/gone/run-1-x/part-00000.parquet", &err) != LH_OK)
        return -1;
    /* 2: current_version pointing past the versions list */
    uint8_t *p;
    size_t n;
    if (lh_store_get(st, "_catalog/ptr.json", 0, &p, &n, NULL, &err) != LH_OK)
        return -1;
    json_t *o = json_loadb((const char *)p, n, 0, NULL);
    free(p);
    json_object_set_new(o, "current_version", json_integer(9));
    char *t = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (lh_store_put(st, "_catalog/ptr.json", t, strlen(t), &err) != LH_OK)
        return -1;
    free(t);
    /* 3: the record replaced by a directory */
    char path[512];
    snprintf(path, sizeof path, "%s/primary/_catalog/asdir.json", dir);
    if (unlink(path) != 0 || mkdir(path, 0755) != 0)
        return -1;
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-damaged-XXXXXX");
    if (!mkdtemp(dir) || damage() != 0)
        return -1;
    daemon_log_dir = dir;
    const char *args[] = {"--data", dir, NULL};
    return daemon_start(&d, args, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = daemon_stop(&d, SIGTERM);
    printf("error bodies checked for host paths: %u\n", bodies_checked);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return rc == 0 ? 0 : -1;
}

static struct reply get(const char *path)
{
    struct reply r;
    assert_true(http_do(&d, "GET", path, NULL, NULL, NULL, 0, &r));
    printf("GET %s -> %ld %s", path, r.status, r.body);
    check_no_path(&r);
    return r;
}

static struct reply sql(const char *q)
{
    char body[512];
    snprintf(body, sizeof body, "{\"sql\": \"%s\"}", q);
    struct reply r;
    assert_true(http_do(&d, "POST", "/api/sql", "application/json", NULL, body, strlen(body), &r));
    printf("SQL %s -> %ld %s", q, r.status, r.body);
    check_no_path(&r);
    return r;
}

/* Runs the CLI; returns the exit code, output (stdout+stderr) in out. */
static int cli(const char *const *args, char *out, size_t cap)
{
    char path[300];
    snprintf(path, sizeof path, "%s/cli.out", dir);
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[32];
        int n = 0;
        argv[n++] = LH_TEST_LAKEHOUSE;
        for (size_t i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        setenv("LAKEHOUSE_SECRET_KEY",
               "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", 1);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(out, 1, cap - 1, f) : 0;
    out[got] = '\0';
    if (f)
        fclose(f);
    printf("lakehouse %s %s -> %d: %s", args[0], args[1], WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool daemon_log_has(const char *needle)
{
    FILE *f = fopen(d.errlog, "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* A deleted current part: the record reads, a query names the part. */
static void test_deleted_part(void **state)
{
    (void)state;
    struct reply r = sql("SELECT * FROM gone");
    assert_null(strstr(r.body, "no such table"));
    assert_non_null(strstr(r.body, "datasets/gone/run-1-x/part-00000.parquet"));
    assert_non_null(strstr(r.body, "missing"));
    assert_non_null(strstr(r.body, "version 1"));
    assert_true(r.status >= 400);
    reply_free(&r);
    char out[8192];
    const char *a[] = {"sql", "SELECT * FROM gone", "--data", dir, NULL};
    assert_int_not_equal(cli(a, out, sizeof out), 0);
    assert_null(strstr(out, "no such table"));
    assert_non_null(strstr(out, "part-00000.parquet is missing"));
}

/* current_version not in the versions list. */
static void test_dangling_current(void **state)
{
    (void)state;
    struct reply r = get("/api/datasets/ptr");
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "_catalog/ptr.json"));
    assert_non_null(strstr(r.body, "current_version 9 is not in its versions list"));
    reply_free(&r);
    r = sql("SELECT * FROM ptr");
    assert_null(strstr(r.body, "no such table"));
    assert_non_null(strstr(r.body, "current_version 9"));
    reply_free(&r);
    r = get("/api/datasets");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "current_version 9 is not in its versions list"));
    reply_free(&r);
    assert_true(daemon_log_has("_catalog/ptr.json is damaged"));
    char out[8192];
    const char *a[] = {"datasets", "ptr", "--data", dir, NULL};
    assert_int_not_equal(cli(a, out, sizeof out), 0);
    assert_non_null(strstr(out, "current_version 9"));
}

/* The record replaced by a directory: not "not found". */
static void test_record_is_directory(void **state)
{
    (void)state;
    struct reply r = get("/api/datasets/asdir");
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "_catalog/asdir.json"));
    assert_non_null(strstr(r.body, "directory"));
    reply_free(&r);
    r = sql("SELECT * FROM asdir");
    assert_null(strstr(r.body, "no such table"));
    assert_non_null(strstr(r.body, "_catalog/asdir.json"));
    reply_free(&r);
    /* an empty directory holds no object: the list does not show it (an
     * S3 store cannot hold one), the datasets beside it are listed */
    r = get("/api/datasets");
    assert_non_null(strstr(r.body, "\"name\":\"fine\""));
    reply_free(&r);
    assert_true(daemon_log_has("_catalog/asdir.json"));
    char out[8192];
    const char *a[] = {"datasets", "asdir", "--data", dir, NULL};
    assert_int_not_equal(cli(a, out, sizeof out), 0);
    assert_non_null(strstr(out, "_catalog/asdir.json"));
    assert_non_null(strstr(out, "directory"));
}

/* Corrupt run records are listed with what is wrong. */
static void test_corrupt_runs(void **state)
{
    (void)state;
    const char *body = "{\"id\": \"hist\", \"kind\": {\"type\": \"postgres\", \"dsn\": "
                       "\"postgresql://u@127.0.0.1:1/db\", \"table\": \"t\"}, \"trigger\": "
                       "{\"type\": \"interval\", \"secs\": 3600}, \"enabled\": false}";
    struct reply r;
    assert_true(http_do(&d, "POST", "/api/schedules", "application/json", NULL, body,
                        strlen(body), &r));
    assert_int_equal(r.status, 201);
    reply_free(&r);
    char p[512];
    snprintf(p, sizeof p, "%s/primary/_runs", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/primary/_runs/hist", dir);
    mkdir(p, 0755);
    for (int i = 0; i < 5; i++) {
        char rel[200];
        struct lh_run_record rec;
        memset(&rec, 0, sizeof rec);
        lh_run_id_make(1700000000000000LL + i * 1000000LL, (uint32_t)i, rec.run_id);
        snprintf(rec.schedule_id, sizeof rec.schedule_id, "hist");
        rec.started_at_us = rec.finished_at_us = 1700000000000000LL + i * 1000000LL;
        rec.status = LH_RUN_SUCCESS;
        snprintf(rel, sizeof rel, "_runs/hist/%s.json", rec.run_id);
        if (i == 1) {
            put_file(rel, "{\"run_id\": tru");
        } else if (i == 3) {
            put_file(rel, "\x01\x02 garbage");
        } else {
            struct lh_buf b;
            struct lh_error err;
            lh_buf_init(&b, 0);
            assert_int_equal(lh_run_record_to_json(&rec, &b, &err), LH_OK);
            lh_buf_cstr(&b);
            put_file(rel, (const char *)b.data);
            lh_buf_reset(&b);
        }
    }
    r = get("/api/schedules/hist/runs");
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    json_t *runs = json_object_get(o, "runs");
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 5);
    assert_int_equal(json_array_size(runs), 5);
    size_t damaged = 0;
    for (size_t i = 0; i < json_array_size(runs); i++) {
        json_t *x = json_array_get(runs, i);
        if (json_is_true(json_object_get(x, "damaged"))) {
            damaged++;
            const char *e = json_string_value(json_object_get(x, "error"));
            assert_non_null(e);
            assert_non_null(strstr(e, "_runs/hist/"));
            assert_non_null(strstr(e, "damaged"));
            assert_null(strstr(e, dir));
        }
    }
    assert_int_equal(damaged, 2);
    json_decref(o);
    reply_free(&r);
    assert_true(daemon_log_has("run record _runs/hist/"));
    char out[16384];
    const char *a[] = {"schedule", "runs", "hist", "--data", dir, NULL};
    assert_int_equal(cli(a, out, sizeof out), 0);
    assert_non_null(strstr(out, "damaged"));
    assert_non_null(strstr(out, "_runs/hist/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deleted_part),
        cmocka_unit_test(test_dangling_current),
        cmocka_unit_test(test_record_is_directory),
        cmocka_unit_test(test_corrupt_runs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
