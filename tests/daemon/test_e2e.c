/*
 * test_e2e.c — the daemon end to end: `lakehouse serve` with its scheduler
 * and API against real PostgreSQL and MariaDB servers (ctest fixtures).
 *
 *   live_mariadb / live_pg  the reference's live check: a 2-second interval
 *                           schedule created through the API; after the first
 *                           automatic run a row is added and a value changed;
 *                           a later automatic run's dataset has 11 rows and
 *                           the new value (API, `lakehouse sql`, DuckDB).
 *   routes                  every schedule route and error, redaction in
 *                           every answer, pagination, /api/ingest, /api/sql,
 *                           /api/cron/next, metrics, the dashboard.
 *   busy                    run-now while running (409 + active run id),
 *                           delete while running (the run finishes, the
 *                           schedule stays gone).
 *   restart                 SIGTERM mid-run (recorded cancelled, previous
 *                           version intact, exit 0); restart keeps schedules
 *                           and history; the sealed DSN still works.
 *   kill9                   kill -9 mid-run: previous version intact and
 *                           readable; leftover parts swept on the next start.
 *   cli                     `lakehouse schedule add` against a running daemon
 *                           takes effect at once (the schedule runs).
 * Deadlines are generous and only bound the polling; nothing asserts timing.
 */
#include "daemon.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char pg_dsn[512], pg_super[512], my_dsn[512], my_socket[512];
static const char *const PW = "pw-lh-S3cret";

static void env_value(const char *file, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    size_t kl = strlen(key);
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            char *v = line + kl + 1;
            v[strcspn(v, "\n")] = '\0';
            size_t n = strlen(v);
            if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
                v[n - 1] = '\0';
                v++;
            }
            snprintf(out, cap, "%s", v);
        }
    }
    if (f)
        fclose(f);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Runs a command, returns its stdout (malloc'd). */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    if (p) {
        size_t n = fread(out, 1, 65535, p);
        out[n] = '\0';
        pclose(p);
    }
    return out;
}

static void psql(const char *sql)
{
    assert_int_equal(sh("/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 '%s' -c \"%s\" "
                        ">/dev/null",
                        pg_super, sql),
                     0);
}

static void mysql_exec(const char *sql)
{
    assert_int_equal(
        sh("mariadb --no-defaults -uroot --socket='%s' lhtest -e \"%s\"", my_socket, sql), 0);
}

/* ------------------------------------------------------------ API helpers */

/* Sends and parses the answer (NULL when not JSON). Every answer is checked
 * for the test password: no route may ever return it. */
static json_t *api(struct daemon *d, const char *method, const char *path, const char *body,
                   long *status)
{
    struct reply r;
    assert_true(http_do(d, method, path, body ? "application/json" : NULL, NULL, body,
                        body ? strlen(body) : 0, &r));
    if (strstr(r.body, PW))
        fail_msg("%s %s leaked the password: %s", method, path, r.body);
    *status = r.status;
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    reply_free(&r);
    return j;
}

static json_t *get_ok(struct daemon *d, const char *path)
{
    long st;
    json_t *j = api(d, "GET", path, NULL, &st);
    if (st != 200)
        fail_msg("GET %s: %ld", path, st);
    return j;
}

static int64_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Polls GET /api/schedules/{id} until run_count >= n (60 s at most). */
static json_t *wait_runs(struct daemon *d, const char *id, int64_t n)
{
    char path[256];
    snprintf(path, sizeof path, "/api/schedules/%s", id);
    for (int i = 0; i < 600; i++) {
        json_t *s = get_ok(d, path);
        if (jint(s, "run_count") >= n && !json_is_true(json_object_get(s, "running")))
            return s;
        json_decref(s);
        usleep(100000);
    }
    fail_msg("schedule %s never reached %lld runs", id, (long long)n);
    return NULL;
}

/* Waits until the schedule has a run in flight; returns its run id. */
static void wait_running(struct daemon *d, const char *id, char *rid, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "/api/schedules/%s", id);
    for (int i = 0; i < 600; i++) {
        json_t *s = get_ok(d, path);
        bool run = json_is_true(json_object_get(s, "running"));
        if (run)
            snprintf(rid, cap, "%s", jstr(s, "active_run_id"));
        json_decref(s);
        if (run)
            return;
        usleep(50000);
    }
    fail_msg("schedule %s never started running", id);
}

/* replace_source: the slow schedules write into datasets seeded from
 * another table (seed_version) */
static void post_schedule(struct daemon *d, const char *id, const char *type, const char *dsn,
                          const char *table, const char *dataset, int secs, bool enabled)
{
    char body[2048];
    long st;
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"kind\":{\"type\":\"%s\",\"dsn\":\"%s\",\"table\":\"%s\","
             "\"dataset_name\":\"%s\",\"replace_source\":true},\"trigger\":{\"type\":"
             "\"interval\",\"secs\":%d},"
             "\"enabled\":%s}",
             id, type, dsn, table, dataset, secs, enabled ? "true" : "false");
    json_t *j = api(d, "POST", "/api/schedules", body, &st);
    if (st != 201)
        fail_msg("POST schedule %s: %ld", id, st);
    assert_string_equal(jstr(j, "id"), id);
    assert_non_null(strstr(jstr(json_object_get(j, "kind"), "dsn"), ":***@"));
    json_decref(j);
}

static char work[600];
static int ndir;

static void fresh_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s-%d", work, name, ++ndir);
    sh("rm -rf '%s'", out);
    mkdir(out, 0700);
}

static void start(struct daemon *d, const char *data, const char *config)
{
    const char *args[8] = {"--data", data, NULL, NULL, NULL};
    if (config) {
        args[2] = "--config";
        args[3] = config;
    }
    assert_true(daemon_start(d, args, NULL));
}

/* The dataset's current version's first part, as a file path. */
static void part_path(struct daemon *d, const char *data, const char *dataset, char *out,
                      size_t cap, int64_t *rows, int64_t *version)
{
    char path[256];
    snprintf(path, sizeof path, "/api/datasets/%s", dataset);
    json_t *rec = get_ok(d, path);
    *rows = jint(rec, "row_count");
    *version = jint(rec, "current_version");
    json_t *vers = json_object_get(rec, "versions"), *cur = NULL, *v;
    size_t i;
    json_array_foreach(vers, i, v) if (jint(v, "version") == *version) cur = v;
    assert_non_null(cur);
    json_t *obj = json_array_get(json_object_get(cur, "objects"), 0);
    snprintf(out, cap, "%s/%s/%s", data, jstr(obj, "bucket"), jstr(obj, "key"));
    json_decref(rec);
}

/* ------------------------------------------------------------ live check */

static void live(const char *type, const char *dsn, void (*exec)(const char *), const char *tag)
{
    char data[700], id[64], ds[64], sqlbuf[512];
    struct daemon d;
    fresh_dir(data, sizeof data, tag);
    snprintf(id, sizeof id, "live-%s", tag);
    snprintf(ds, sizeof ds, "live_%s", tag);
    snprintf(sqlbuf, sizeof sqlbuf, "DROP TABLE IF EXISTS %s", ds);
    exec(sqlbuf);
    snprintf(sqlbuf, sizeof sqlbuf,
             "CREATE TABLE %s (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(80))", ds);
    exec(sqlbuf);
    for (int i = 1; i <= 10; i++) {
        snprintf(sqlbuf, sizeof sqlbuf, "INSERT INTO %s VALUES (%d, 'name%d', 'u%d@x.org')", ds, i,
                 i, i);
        exec(sqlbuf);
    }
    start(&d, data, NULL);
    post_schedule(&d, id, type, dsn, ds, ds, 2, true);
    json_t *s = wait_runs(&d, id, 1);
    assert_true(json_is_true(json_object_get(json_object_get(s, "last_outcome"), "success")));
    int64_t after = jint(s, "run_count");
    json_decref(s);

    snprintf(sqlbuf, sizeof sqlbuf, "INSERT INTO %s VALUES (11, 'eleven', 'e@x.org')", ds);
    exec(sqlbuf);
    snprintf(sqlbuf, sizeof sqlbuf, "UPDATE %s SET name = 'changed' WHERE id = 3", ds);
    exec(sqlbuf);
    /* a run that started after the change: two more automatic runs */
    s = wait_runs(&d, id, after + 2);
    assert_true(json_is_true(json_object_get(json_object_get(s, "last_outcome"), "success")));
    json_decref(s);

    char part[1200];
    int64_t rows, version;
    part_path(&d, data, ds, part, sizeof part, &rows, &version);
    assert_int_equal(rows, 11);
    assert_true(version >= 3);

    char *out = capture("%s sql --data '%s' \"SELECT count(*), max(CASE WHEN id = 3 THEN name "
                        "END) FROM %s\" --format csv",
                        LH_TEST_LAKEHOUSE, data, ds);
    if (!strstr(out, "11,changed"))
        fail_msg("lakehouse sql: %s", out);
    free(out);
    if (LH_TEST_NODE[0]) {
        out = capture("'%s' '%s' '%s' 3", LH_TEST_NODE, LH_TEST_DUCKDB_SCRIPT, part);
        if (strncmp(out, "11 changed", 10) != 0)
            fail_msg("duckdb: %s", out);
        free(out);
    }
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
}

static void test_live_mariadb(void **state)
{
    (void)state;
    live("mysql", my_dsn, mysql_exec, "my");
}

static void test_live_pg(void **state)
{
    (void)state;
    live("postgres", pg_dsn, psql, "pg");
}

/* ------------------------------------------------------------ routes */

static void expect_error(struct daemon *d, const char *method, const char *path, const char *body,
                         long want, const char *field)
{
    long st;
    json_t *j = api(d, method, path, body, &st);
    if (st != want)
        fail_msg("%s %s: %ld, want %ld", method, path, st, want);
    if (want != 204 && !json_is_string(json_object_get(j, "error")))
        fail_msg("%s %s: no error text", method, path);
    if (field && strcmp(jstr(j, "field"), field) != 0)
        fail_msg("%s %s: field '%s', want '%s'", method, path, jstr(j, "field"), field);
    json_decref(j);
}

static void test_routes(void **state)
{
    (void)state;
    char data[700], body[2048];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "routes");
    start(&d, data, NULL);

    /* validation errors name the field */
    struct {
        const char *body;
        const char *field;
    } bad[] = {
        {"{\"id\":\"a b\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://u:p@h/db\",\"table\":"
         "\"t\"},\"trigger\":{\"type\":\"interval\",\"secs\":5}}",
         "id"},
        {"{\"id\":\"x\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"mysql://u:p@h/db\",\"table\":\"t\"},"
         "\"trigger\":{\"type\":\"interval\",\"secs\":5}}",
         "kind.dsn"},
        {"{\"id\":\"x\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://u:p@h/db\",\"table\":"
         "\"t\"},\"trigger\":{\"type\":\"interval\",\"secs\":0}}",
         "trigger.secs"},
        {"{\"id\":\"x\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://u:p@h/db\",\"table\":"
         "\"t\"},\"trigger\":{\"type\":\"cron\",\"expr\":\"61 * * * *\"}}",
         "trigger.expr"},
        {"{\"id\":\"x\",\"kind\":{\"type\":\"oracle\",\"dsn\":\"postgres://u:p@h/db\",\"table\":"
         "\"t\"},\"trigger\":{\"type\":\"interval\",\"secs\":5}}",
         "kind.type"},
        {"{\"id\":\"x\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://u:***@h/db\","
         "\"table\":\"t\"},\"trigger\":{\"type\":\"interval\",\"secs\":5}}",
         "kind.dsn"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(&d, "POST", "/api/schedules", bad[i].body, 400, bad[i].field);
    expect_error(&d, "POST", "/api/schedules", "{not json", 400, NULL);

    /* create (disabled: runs only when asked), duplicate, read, list */
    post_schedule(&d, "r1", "postgres", pg_dsn, "customers", "routes_c", 3600, false);
    snprintf(body, sizeof body,
             "{\"id\":\"r1\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"customers\"},"
             "\"trigger\":{\"type\":\"interval\",\"secs\":60}}",
             pg_dsn);
    expect_error(&d, "POST", "/api/schedules", body, 409, "id");
    expect_error(&d, "GET", "/api/schedules/nope", NULL, 404, NULL);
    expect_error(&d, "DELETE", "/api/schedules/nope", NULL, 404, NULL);
    expect_error(&d, "POST", "/api/schedules/nope/run", NULL, 404, NULL);
    expect_error(&d, "PATCH", "/api/schedules/r1", NULL, 405, NULL);
    expect_error(&d, "DELETE", "/api/schedules", NULL, 405, NULL);
    json_t *list = get_ok(&d, "/api/schedules");
    assert_int_equal(json_array_size(json_object_get(list, "schedules")), 1);
    json_decref(list);

    /* run it three times by hand: history, newest first, in pages of 2 */
    for (int i = 1; i <= 3; i++) {
        json_t *j = api(&d, "POST", "/api/schedules/r1/run", NULL, &st);
        assert_int_equal(st, 202);
        assert_true(strlen(jstr(j, "run_id")) > 10);
        json_decref(j);
        json_decref(wait_runs(&d, "r1", i));
    }
    json_t *p1 = get_ok(&d, "/api/schedules/r1/runs?limit=2");
    json_t *runs1 = json_object_get(p1, "runs");
    assert_int_equal(json_array_size(runs1), 2);
    assert_int_equal(jint(p1, "total"), 3);
    const char *r0 = jstr(json_array_get(runs1, 0), "run_id"),
               *r1 = jstr(json_array_get(runs1, 1), "run_id");
    assert_true(strcmp(r0, r1) > 0);
    assert_string_equal(jstr(json_array_get(runs1, 0), "reason"), "manual");
    assert_int_equal(jint(json_array_get(runs1, 0), "rows"), 10);
    char path[300];
    snprintf(path, sizeof path, "/api/schedules/r1/runs?limit=2&cursor=%s", jstr(p1, "next_cursor"));
    json_t *p2 = get_ok(&d, path);
    assert_int_equal(json_array_size(json_object_get(p2, "runs")), 1);
    assert_true(strcmp(jstr(json_array_get(json_object_get(p2, "runs"), 0), "run_id"), r1) < 0);
    assert_true(json_is_null(json_object_get(p2, "next_cursor")));
    json_decref(p1);
    json_decref(p2);
    expect_error(&d, "GET", "/api/schedules/r1/runs?limit=0", NULL, 400, "limit");

    /* PUT: the redacted DSN sent back keeps the password (the next run works) */
    json_t *cur = get_ok(&d, "/api/schedules/r1");
    json_object_set_new(json_object_get(cur, "trigger"), "secs", json_integer(7200));
    json_object_set_new(cur, "description", json_string("nightly-ish"));
    char *txt = json_dumps(cur, JSON_COMPACT);
    json_t *put = api(&d, "PUT", "/api/schedules/r1", txt, &st);
    assert_int_equal(st, 200);
    assert_int_equal(jint(json_object_get(put, "trigger"), "secs"), 7200);
    assert_string_equal(jstr(put, "description"), "nightly-ish");
    assert_int_equal(jint(put, "run_count"), 3);
    free(txt);
    json_decref(put);
    json_object_set_new(cur, "id", json_string("other"));
    txt = json_dumps(cur, JSON_COMPACT);
    expect_error(&d, "PUT", "/api/schedules/r1", txt, 400, "id");
    free(txt);
    json_decref(cur);
    json_decref(api(&d, "POST", "/api/schedules/r1/run", NULL, &st));
    assert_int_equal(st, 202);
    json_t *s = wait_runs(&d, "r1", 4);
    assert_true(json_is_true(json_object_get(json_object_get(s, "last_outcome"), "success")));
    json_decref(s);

    /* one-shot ingest: success, and a bad password (one line, not echoed) */
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"customers\",\"dataset_name\":"
             "\"oneshot\"}",
             pg_dsn);
    json_t *ing = api(&d, "POST", "/api/ingest?wait=true", body, &st);
    assert_int_equal(st, 200);
    assert_int_equal(jint(ing, "rows"), 10);
    assert_string_equal(jstr(ing, "dataset"), "oneshot");
    json_decref(ing);
    char wrong[600];
    snprintf(wrong, sizeof wrong, "%s", pg_dsn);
    char *pw = strstr(wrong, PW);
    assert_non_null(pw);
    memcpy(pw, "WRONGpassXYZ", strlen(PW)); /* same length */
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"customers\",\"dataset_name\":"
             "\"oneshot\"}",
             wrong);
    struct reply r;
    assert_true(http_do(&d, "POST", "/api/ingest?wait=true", "application/json", NULL, body,
                        strlen(body), &r));
    assert_int_equal(r.status, 502);
    assert_null(strstr(r.body, "WRONGpassXYZ"));
    assert_non_null(strstr(r.body, "\"error\""));
    assert_null(strchr(r.body, '\n') == r.body + r.len - 1 ? NULL : strchr(r.body, '\n'));
    reply_free(&r);
    expect_error(&d, "POST", "/api/ingest", "{\"type\":\"postgres\",\"table\":\"t\"}", 400,
                 "kind.dsn");

    /* SQL as JSON and as CSV */
    json_t *q = api(&d, "POST", "/api/sql", "{\"sql\":\"SELECT count(*) AS n FROM oneshot\"}", &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(json_object_get(q, "rows"), 0), 0)),
                     10);
    json_decref(q);
    const char *qb = "{\"sql\":\"SELECT id FROM oneshot ORDER BY id LIMIT 2\"}";
    assert_true(http_do(&d, "POST", "/api/sql", "application/json", NULL, qb, strlen(qb), &r));
    /* curl sent no Accept: text/csv here; ask again with format */
    reply_free(&r);
    qb = "{\"sql\":\"SELECT id FROM oneshot ORDER BY id LIMIT 2\",\"format\":\"csv\"}";
    assert_true(http_do(&d, "POST", "/api/sql", "application/json", NULL, qb, strlen(qb), &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "id\n1\n2\n");
    reply_free(&r);
    expect_error(&d, "POST", "/api/sql", "{\"sql\":\"DELETE FROM oneshot\"}", 400, "sql");

    /* cron preview */
    json_t *c = get_ok(&d, "/api/cron/next?expr=30%202%20*%20*%20*&tz=America/New_York&count=2"
                           "&from=2026-03-07T12:00:00Z");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "next"), 0)),
                        "2026-03-08T07:00:00Z");
    assert_int_equal(json_array_size(json_object_get(c, "next")), 2);
    json_decref(c);
    expect_error(&d, "GET", "/api/cron/next?expr=61%20*%20*%20*%20*", NULL, 400, "expr");
    expect_error(&d, "GET", "/api/cron/next?expr=@daily&tz=Mars/Olympus", NULL, 400, "tz");

    /* metrics show the runs; health counts the schedule */
    assert_true(http_do(&d, "GET", "/metrics", NULL, NULL, NULL, 0, &r));
    assert_non_null(strstr(r.body, "lakehouse_runs_total{schedule=\"r1\",outcome=\"success\"} 4"));
    assert_non_null(strstr(r.body, "lakehouse_schedule_last_success_timestamp_seconds{schedule=\"r1\"}"));
    assert_non_null(strstr(r.body, "lakehouse_run_duration_seconds_count"));
    reply_free(&r);
    json_t *h = get_ok(&d, "/api/health");
    assert_int_equal(jint(h, "schedules"), 1);
    json_decref(h);

    /* the dashboard, with its ETag */
    assert_true(http_do(&d, "GET", "/", NULL, NULL, NULL, 0, &r));
    if (r.status == 200) {
        char etag[200];
        assert_true(reply_header(&r, "ETag", etag, sizeof etag));
        assert_non_null(strstr(r.body, "<html"));
    } else {
        assert_int_equal(r.status, 404); /* built without src/web */
    }
    reply_free(&r);

    /* delete */
    expect_error(&d, "DELETE", "/api/schedules/r1", NULL, 204, NULL);
    expect_error(&d, "GET", "/api/schedules/r1", NULL, 404, NULL);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
}

/* ------------------------------------------------------------ busy */

static void test_busy(void **state)
{
    (void)state;
    char data[700], rid[64], rid2[64];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "busy");
    start(&d, data, NULL);
    post_schedule(&d, "slow1", "postgres", pg_dsn, "slow3", "slow1", 3600, false);
    json_t *j = api(&d, "POST", "/api/schedules/slow1/run", NULL, &st);
    assert_int_equal(st, 202);
    snprintf(rid, sizeof rid, "%s", jstr(j, "run_id"));
    json_decref(j);
    wait_running(&d, "slow1", rid2, sizeof rid2);
    assert_string_equal(rid, rid2);
    j = api(&d, "POST", "/api/schedules/slow1/run", NULL, &st);
    assert_int_equal(st, 202); /* the run in progress is the run asked for */
    assert_true(json_is_true(json_object_get(j, "already_running")));
    assert_string_equal(jstr(j, "run_id"), rid);
    json_decref(j);
    /* delete while running: 204 now; the run finishes; the schedule stays gone */
    expect_error(&d, "DELETE", "/api/schedules/slow1", NULL, 204, NULL);
    expect_error(&d, "GET", "/api/schedules/slow1", NULL, 404, NULL);
    for (int i = 0; i < 600; i++) {
        json_t *h = get_ok(&d, "/api/health");
        int64_t running = jint(h, "running");
        json_decref(h);
        if (running == 0)
            break;
        usleep(100000);
    }
    json_t *h = get_ok(&d, "/api/health");
    assert_int_equal(jint(h, "running"), 0);
    assert_int_equal(jint(h, "schedules"), 0);
    json_decref(h);
    expect_error(&d, "GET", "/api/schedules/slow1", NULL, 404, NULL);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
}

/* ------------------------------------------------------------ restart / SIGTERM */

static void write_config(const char *dir, char *out, size_t cap)
{
    snprintf(out, cap, "%s/config.json", dir);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs("{\"grace_secs\": 1, \"sweep_after_secs\": 0}\n", f);
    fclose(f);
}

static void seed_version(struct daemon *d, const char *dataset)
{
    char body[1024];
    long st;
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"customers\",\"dataset_name\":\"%s\"}",
             pg_dsn, dataset);
    json_decref(api(d, "POST", "/api/ingest?wait=true", body, &st));
    assert_int_equal(st, 200);
}

static void check_intact(struct daemon *d, const char *data, const char *dataset)
{
    char part[1200];
    int64_t rows, version;
    part_path(d, data, dataset, part, sizeof part, &rows, &version);
    assert_int_equal(version, 1);
    assert_int_equal(rows, 10);
    char *out = capture("%s sql --data '%s' \"SELECT count(*) FROM %s\" --format csv",
                        LH_TEST_LAKEHOUSE, data, dataset);
    if (!strstr(out, "\n10"))
        fail_msg("lakehouse sql: %s", out);
    free(out);
}

static void test_restart(void **state)
{
    (void)state;
    char data[700], cfg[800], rid[64];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "restart");
    write_config(data, cfg, sizeof cfg);
    start(&d, data, cfg);
    seed_version(&d, "sv");
    post_schedule(&d, "fast", "postgres", pg_dsn, "customers", "fastds", 3600, true);
    json_decref(wait_runs(&d, "fast", 1));
    post_schedule(&d, "slow", "postgres", pg_dsn, "slow30", "sv", 3600, false);
    json_decref(api(&d, "POST", "/api/schedules/slow/run", NULL, &st));
    assert_int_equal(st, 202);
    wait_running(&d, "slow", rid, sizeof rid);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);

    start(&d, data, cfg);
    json_t *list = get_ok(&d, "/api/schedules");
    assert_int_equal(json_array_size(json_object_get(list, "schedules")), 2);
    json_decref(list);
    json_t *runs = get_ok(&d, "/api/schedules/slow/runs");
    json_t *r0 = json_array_get(json_object_get(runs, "runs"), 0);
    assert_string_equal(jstr(r0, "run_id"), rid);
    assert_string_equal(jstr(r0, "outcome"), "cancelled");
    json_decref(runs);
    runs = get_ok(&d, "/api/schedules/fast/runs");
    assert_true(json_array_size(json_object_get(runs, "runs")) >= 1);
    json_decref(runs);
    check_intact(&d, data, "sv");
    /* the sealed DSN still opens after the restart */
    json_t *f = get_ok(&d, "/api/schedules/fast");
    int64_t n = jint(f, "run_count");
    json_decref(f);
    json_decref(api(&d, "POST", "/api/schedules/fast/run", NULL, &st));
    assert_int_equal(st, 202);
    f = wait_runs(&d, "fast", n + 1);
    assert_true(json_is_true(json_object_get(json_object_get(f, "last_outcome"), "success")));
    json_decref(f);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
}

static void test_kill9(void **state)
{
    (void)state;
    char data[700], cfg[800], rid[64];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "kill9");
    write_config(data, cfg, sizeof cfg);
    start(&d, data, cfg);
    seed_version(&d, "kv");
    post_schedule(&d, "slowk", "postgres", pg_dsn, "slow30", "kv", 3600, false);
    json_decref(api(&d, "POST", "/api/schedules/slowk/run", NULL, &st));
    wait_running(&d, "slowk", rid, sizeof rid);
    assert_int_equal(daemon_stop(&d, SIGKILL), -1);

    /* what a killed run leaves: a committed part nobody references */
    char part[1200], left[1600];
    int64_t rows, version;
    start(&d, data, cfg);
    check_intact(&d, data, "kv");
    part_path(&d, data, "kv", part, sizeof part, &rows, &version);
    assert_int_equal(daemon_stop(&d, SIGKILL), -1);
    snprintf(left, sizeof left, "%s/primary/datasets/kv/run-1000-deadbeef", data);
    assert_int_equal(sh("mkdir -p '%s' && cp '%s' '%s/part-00000.parquet'", left, part, left), 0);
    start(&d, data, cfg);
    struct stat sb;
    char leftfile[1700];
    snprintf(leftfile, sizeof leftfile, "%s/part-00000.parquet", left);
    assert_int_not_equal(stat(leftfile, &sb), 0);
    check_intact(&d, data, "kv");
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
}

/* ------------------------------------------------------------ CLI */

static void test_cli(void **state)
{
    (void)state;
    char data[700];
    struct daemon d;
    fresh_dir(data, sizeof data, "cli");
    start(&d, data, NULL);
    assert_int_equal(sh("%s schedule add clisched --postgres --dsn '%s' --table customers "
                        "--dataset clids --every 1h --data '%s' >/dev/null",
                        LH_TEST_LAKEHOUSE, pg_dsn, data),
                     0);
    /* no restart, no signal: the daemon runs it at once */
    json_t *s = wait_runs(&d, "clisched", 1);
    assert_true(json_is_true(json_object_get(json_object_get(s, "last_outcome"), "success")));
    json_decref(s);
    assert_int_equal(
        sh("%s schedule pause clisched --data '%s' >/dev/null", LH_TEST_LAKEHOUSE, data), 0);
    s = get_ok(&d, "/api/schedules/clisched");
    assert_false(json_is_true(json_object_get(s, "enabled")));
    json_decref(s);
    assert_int_equal(sh("%s schedule run clisched --data '%s' >/dev/null", LH_TEST_LAKEHOUSE, data),
                     0);
    json_decref(wait_runs(&d, "clisched", 2));
    assert_int_equal(sh("%s schedule rm clisched --data '%s' >/dev/null", LH_TEST_LAKEHOUSE, data),
                     0);
    expect_error(&d, "GET", "/api/schedules/clisched", NULL, 404, NULL);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
    /* no daemon: `schedule run` runs inline and prints the outcome */
    assert_int_equal(sh("%s schedule add inl --postgres --dsn '%s' --table customers --every 1h "
                        "--data '%s' >/dev/null",
                        LH_TEST_LAKEHOUSE, pg_dsn, data),
                     0);
    char *out = capture("%s schedule run inl --data '%s'", LH_TEST_LAKEHOUSE, data);
    if (!strstr(out, "rows=10"))
        fail_msg("inline run: %s", out);
    free(out);
}

static int setup(void **state)
{
    (void)state;
    env_value(LH_TEST_PG_ENV, "PG_USER_DSN", pg_dsn, sizeof pg_dsn);
    env_value(LH_TEST_PG_ENV, "PG_SUPER_DSN", pg_super, sizeof pg_super);
    env_value(LH_TEST_MY_ENV, "MY_USER_DSN", my_dsn, sizeof my_dsn);
    env_value(LH_TEST_MY_ENV, "MY_SOCKET", my_socket, sizeof my_socket);
    if (!pg_dsn[0] || !my_dsn[0])
        return -1;
    snprintf(work, sizeof work, "%s", LH_TEST_WORK);
    sh("rm -rf '%s' && mkdir -p '%s'", work, work);
    daemon_log_dir = work;
    /* one key for every daemon and CLI call of this test */
    setenv("LAKEHOUSE_SECRET_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    unsetenv("LAKEHOUSE_SERVER");
    unsetenv("LAKEHOUSE_DATA");
    if (sh("/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 '%s' -c \""
           "DROP TABLE IF EXISTS customers CASCADE;"
           "CREATE TABLE customers (id int primary key, name text, email text);"
           "INSERT INTO customers SELECT g, 'n' || g, 'u' || g || '@x.org' FROM generate_series(1, 10) g;"
           "CREATE VIEW slow3 AS SELECT c.id, c.name FROM customers c, (SELECT pg_sleep(3)) s;"
           "CREATE VIEW slow30 AS SELECT c.id, c.name FROM customers c, (SELECT pg_sleep(30)) s;"
           "\" >/dev/null",
           pg_super) != 0)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_mariadb), cmocka_unit_test(test_live_pg),
        cmocka_unit_test(test_routes),       cmocka_unit_test(test_busy),
        cmocka_unit_test(test_restart),      cmocka_unit_test(test_kill9),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
