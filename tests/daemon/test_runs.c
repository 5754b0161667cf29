/*
 * test_runs.c — runs you can watch, cancel and read (issue 14), end to end:
 * the real `lakehouse serve` against the real PostgreSQL of the ctest
 * fixture, driven through the HTTP API only.
 *
 *   watch_cancel_reading  a schedule over a view that sleeps per row: seen
 *                         through GET /api/runs?state=running, /api/runs/{id}
 *                         (phase reading, rows growing), the schedule's
 *                         active_run and /metrics; cancelled through the
 *                         API: state cancelled, nothing published (catalog
 *                         version unchanged), not a failure (auto_pause_after
 *                         1 does not pause it), the log has its lines (live
 *                         and on disk beside the record), a second cancel
 *                         is a 409.
 *   cancel_connecting     a source that accepts and never answers: the run
 *                         sits in connecting; POST /api/schedules/{id}/cancel.
 *   queued                one scheduler worker and one runner thread: a
 *                         run-now and a one-shot ingest wait as `queued` and
 *                         are cancelled there (never started, recorded).
 *   oneshot               POST /api/ingest answers 202 with the run; it is
 *                         polled to success, recorded under _runs/_ingest/
 *                         with its log; ?wait=true keeps the old answer.
 *   messages_whole        "password authentication failed for user ..." and
 *                         "table password_resets not found" come back whole
 *                         through the run, the schedule and the log, while
 *                         the DSN's password never appears (API, log files).
 *
 * Cancel latencies (request to state cancelled, as the API sees it) are
 * printed, never asserted: "runs: cancel latency <phase>: N ms".
 */
#include "daemon.h"

#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char pg_dsn[512], pg_super[512], pg_pw[128];
static char work[600];
static int ndir;

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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ API helpers */

/* Sends and parses the answer (NULL when not JSON). No answer may carry the
 * test password. */
static json_t *api(struct daemon *d, const char *method, const char *path, const char *body,
                   long *status)
{
    struct reply r;
    assert_true(http_do(d, method, path, body ? "application/json" : NULL, NULL, body,
                        body ? strlen(body) : 0, &r));
    if (strstr(r.body, pg_pw))
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
    if (st != 200 || !j)
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

static json_t *get_run(struct daemon *d, const char *rid)
{
    char path[200];
    snprintf(path, sizeof path, "/api/runs/%s", rid);
    return get_ok(d, path);
}

/* Polls the run until its state is `state` (60 s at most); returns it. */
static json_t *wait_state(struct daemon *d, const char *rid, const char *state)
{
    for (int i = 0; i < 6000; i++) {
        json_t *r = get_run(d, rid);
        if (strcmp(jstr(r, "state"), state) == 0)
            return r;
        json_decref(r);
        usleep(10000);
    }
    fail_msg("run %s never became %s", rid, state);
    return NULL;
}

/* Polls until the run is running in `phase` with more than min_rows rows. */
static json_t *wait_phase(struct daemon *d, const char *rid, const char *phase, int64_t min_rows)
{
    for (int i = 0; i < 3000; i++) {
        json_t *r = get_run(d, rid);
        if (strcmp(jstr(r, "state"), "running") == 0 && strcmp(jstr(r, "phase"), phase) == 0 &&
            jint(r, "rows") > min_rows)
            return r;
        json_decref(r);
        usleep(20000);
    }
    fail_msg("run %s never was %s past %lld rows", rid, phase, (long long)min_rows);
    return NULL;
}

/* Cancels through path, then measures until the run reads cancelled. */
static json_t *cancel_and_wait(struct daemon *d, const char *path, const char *rid,
                               const char *phase)
{
    long st;
    double t0 = now_ms();
    json_t *c = api(d, "POST", path, NULL, &st);
    if (st != 202)
        fail_msg("POST %s: %ld", path, st);
    assert_string_equal(jstr(c, "run_id"), rid);
    assert_true(json_is_true(json_object_get(c, "cancel_requested")));
    json_decref(c);
    json_t *r = wait_state(d, rid, "cancelled");
    printf("runs: cancel latency %s: %.0f ms\n", phase, now_ms() - t0);
    fflush(stdout);
    return r;
}

/* replace_source: the slow view writes into a dataset whose version 1 came
 * from runs_base */
static void post_schedule(struct daemon *d, const char *id, const char *dsn, const char *table,
                          const char *dataset, const char *extra)
{
    char body[2048];
    long st;
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"%s\","
             "\"dataset_name\":\"%s\",\"batch_size\":100,\"replace_source\":true},"
             "\"trigger\":{\"type\":\"interval\","
             "\"secs\":3600}%s}",
             id, dsn, table, dataset, extra ? extra : "");
    json_t *j = api(d, "POST", "/api/schedules", body, &st);
    if (st != 201)
        fail_msg("POST schedule %s: %ld", id, st);
    json_decref(j);
}

static void fresh_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s-%d", work, name, ++ndir);
    sh("rm -rf '%s'", out);
    mkdir(out, 0700);
}

static void start(struct daemon *d, const char *data, const char *const *env)
{
    const char *args[] = {"--data", data, NULL};
    assert_true(daemon_start(d, args, env));
}

/* The run's log lines joined by '\n' (malloc'd); *complete its flag. */
static char *log_text(struct daemon *d, const char *rid, bool *complete)
{
    char path[200];
    snprintf(path, sizeof path, "/api/runs/%s/log", rid);
    json_t *l = get_ok(d, path);
    assert_string_equal(jstr(l, "run_id"), rid);
    *complete = json_is_true(json_object_get(l, "complete"));
    size_t i;
    json_t *line;
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    json_array_foreach(json_object_get(l, "lines"), i, line)
    {
        assert_non_null(json_string_value(json_object_get(line, "at")));
        assert_non_null(json_string_value(json_object_get(line, "level")));
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s\n",
                                jstr(line, "message"));
    }
    json_decref(l);
    return out;
}

static char *file_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *b = calloc(1, 1 << 20);
    size_t n = fread(b, 1, (1 << 20) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* The catalog's current version of dataset (0 when none). */
static int64_t current_version(struct daemon *d, const char *dataset)
{
    char path[200];
    long st;
    snprintf(path, sizeof path, "/api/datasets/%s", dataset);
    json_t *j = api(d, "GET", path, NULL, &st);
    int64_t v = st == 200 ? jint(j, "current_version") : 0;
    json_decref(j);
    return v;
}

/* One-shot ingest of `table` into dataset, synchronously. */
static void ingest_wait(struct daemon *d, const char *table, const char *dataset)
{
    char body[1024];
    long st;
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"%s\",\"dataset_name\":\"%s\"}",
             pg_dsn, table, dataset);
    json_t *j = api(d, "POST", "/api/ingest?wait=true", body, &st);
    if (st != 200)
        fail_msg("POST /api/ingest?wait=true: %ld", st);
    json_decref(j);
}

/* ------------------------------------------------------------ tests */

static void test_watch_cancel_reading(void **state)
{
    (void)state;
    char data[700], rid[64], path[300];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "watch");
    start(&d, data, NULL);
    ingest_wait(&d, "runs_base", "rs"); /* version 1 of the dataset */
    assert_int_equal(current_version(&d, "rs"), 1);
    /* a failure would pause it at once: a cancel must not */
    post_schedule(&d, "slow", pg_dsn, "runs_slow", "rs",
                  ",\"auto_pause_after\":1,\"retry\":{\"max_attempts\":0}");
    /* watched through the list of running runs */
    rid[0] = '\0';
    for (int i = 0; i < 3000 && !rid[0]; i++) {
        json_t *l = get_ok(&d, "/api/runs?state=running");
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(l, "runs"), k, r)
        {
            assert_string_equal(jstr(r, "state"), "running");
            if (strcmp(jstr(r, "schedule_id"), "slow") == 0)
                snprintf(rid, sizeof rid, "%s", jstr(r, "run_id"));
        }
        json_decref(l);
        if (!rid[0])
            usleep(20000);
    }
    assert_true(rid[0]);
    json_t *r1 = wait_phase(&d, rid, "reading", 0);
    int64_t rows1 = jint(r1, "rows");
    assert_string_equal(jstr(r1, "dataset"), "rs");
    assert_string_equal(jstr(r1, "reason"), "schedule");
    assert_true(json_is_null(json_object_get(r1, "finished_at")));
    assert_true(json_is_null(json_object_get(r1, "status")));
    assert_false(json_is_true(json_object_get(r1, "cancel_requested")));
    assert_non_null(json_string_value(json_object_get(r1, "started_at")));
    json_decref(r1);
    json_t *r2 = wait_phase(&d, rid, "reading", rows1); /* rows grow */
    assert_true(json_real_value(json_object_get(r2, "elapsed_secs")) > 0);
    json_decref(r2);
    /* the schedule embeds it; /metrics shows its gauges */
    json_t *s = get_ok(&d, "/api/schedules/slow");
    assert_true(json_is_true(json_object_get(s, "running")));
    assert_string_equal(jstr(json_object_get(s, "active_run"), "run_id"), rid);
    assert_string_equal(jstr(json_object_get(s, "active_run"), "state"), "running");
    json_decref(s);
    json_t *sl = get_ok(&d, "/api/schedules");
    json_t *first = json_array_get(json_object_get(sl, "schedules"), 0);
    assert_string_equal(jstr(json_object_get(first, "active_run"), "run_id"), rid);
    json_decref(sl);
    struct reply m;
    assert_true(http_do(&d, "GET", "/metrics", NULL, NULL, NULL, 0, &m));
    char series[200];
    snprintf(series, sizeof series, "lakehouse_run_rows{schedule=\"slow\",run_id=\"%s\"} ", rid);
    assert_non_null(strstr(m.body, series));
    snprintf(series, sizeof series, "lakehouse_run_elapsed_seconds{schedule=\"slow\",run_id=\"%s\"}",
             rid);
    assert_non_null(strstr(m.body, series));
    reply_free(&m);

    /* cancelled through the API while reading */
    snprintf(path, sizeof path, "/api/runs/%s/cancel", rid);
    json_t *c = cancel_and_wait(&d, path, rid, "reading");
    assert_string_equal(jstr(c, "status"), "cancelled");
    assert_true(json_is_null(json_object_get(c, "phase")));
    assert_true(json_is_null(json_object_get(c, "version")));
    assert_non_null(json_string_value(json_object_get(c, "finished_at")));
    assert_non_null(strstr(jstr(c, "message"), "cancelled by a user"));
    json_decref(c);
    /* nothing published; not a failure; no longer active; gauges gone */
    assert_int_equal(current_version(&d, "rs"), 1);
    for (int i = 0; i < 500; i++) { /* the record lands after the state */
        s = get_ok(&d, "/api/schedules/slow");
        bool idle = !json_is_true(json_object_get(s, "running"));
        if (idle)
            break;
        json_decref(s);
        s = NULL;
        usleep(20000);
    }
    assert_non_null(s);
    assert_true(json_is_true(json_object_get(s, "enabled")));
    assert_int_equal(jint(s, "consecutive_failures"), 0);
    assert_int_equal(jint(s, "failure_count"), 0);
    assert_true(json_is_null(json_object_get(s, "active_run")));
    json_decref(s);
    assert_true(http_do(&d, "GET", "/metrics", NULL, NULL, NULL, 0, &m));
    snprintf(series, sizeof series, "run_id=\"%s\"", rid);
    assert_null(strstr(m.body, series));
    reply_free(&m);
    /* the log: live from the registry, and on disk beside the record */
    bool complete = false;
    char *text = log_text(&d, rid, &complete);
    assert_true(complete);
    assert_non_null(strstr(text, "cancel requested by a user"));
    assert_non_null(strstr(text, "outcome: cancelled"));
    free(text);
    char file[900];
    snprintf(file, sizeof file, "%s/primary/_runs/slow/%s.log", data, rid);
    char *disk = file_text(file);
    assert_non_null(disk);
    assert_non_null(strstr(disk, "cancel requested by a user"));
    assert_null(strstr(disk, pg_pw));
    free(disk);
    snprintf(file, sizeof file, "%s/primary/_runs/slow/%s.json", data, rid);
    disk = file_text(file);
    assert_non_null(disk);
    assert_non_null(strstr(disk, "\"outcome\": \"cancelled\""));
    free(disk);
    /* cancelling it again, or the schedule with nothing active: 409 */
    json_t *e = api(&d, "POST", path, NULL, &st);
    assert_int_equal(st, 409);
    assert_non_null(strstr(jstr(e, "error"), "already finished (cancelled)"));
    json_decref(e);
    e = api(&d, "POST", "/api/schedules/slow/cancel", NULL, &st);
    assert_int_equal(st, 409);
    json_decref(e);
    e = api(&d, "POST", "/api/runs/20990101T000000.000000Z-0001/cancel", NULL, &st);
    assert_int_equal(st, 404);
    json_decref(e);
    e = api(&d, "POST", "/api/schedules/nope/cancel", NULL, &st);
    assert_int_equal(st, 404);
    json_decref(e);
    /* listed among finished runs, in one shape */
    json_t *l = get_ok(&d, "/api/runs?state=cancelled&schedule=slow");
    assert_string_equal(jstr(json_array_get(json_object_get(l, "runs"), 0), "run_id"), rid);
    json_decref(l);
    /* after a restart the run and its log come from the history */
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
    start(&d, data, NULL);
    c = get_run(&d, rid);
    assert_string_equal(jstr(c, "state"), "cancelled");
    assert_string_equal(jstr(c, "schedule_id"), "slow");
    json_decref(c);
    text = log_text(&d, rid, &complete);
    assert_true(complete);
    assert_non_null(strstr(text, "outcome: cancelled"));
    free(text);
    daemon_stop(&d, SIGTERM);
}

/* A source that takes the connection and never answers: the run waits in
 * connecting until the cancel. */
static void test_cancel_connecting(void **state)
{
    (void)state;
    char data[700], rid[64], dsn[300];
    struct daemon d;
    int pg = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(pg, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(pg, 8), 0);
    assert_int_equal(getsockname(pg, (struct sockaddr *)&sa, &sl), 0);
    snprintf(dsn, sizeof dsn, "postgresql://u:%s@127.0.0.1:%u/db", pg_pw,
             (unsigned)ntohs(sa.sin_port));
    fresh_dir(data, sizeof data, "connecting");
    start(&d, data, NULL);
    post_schedule(&d, "mute", dsn, "t", "mute", NULL);
    rid[0] = '\0';
    for (int i = 0; i < 3000 && !rid[0]; i++) {
        json_t *s = get_ok(&d, "/api/schedules/mute");
        json_t *ar = json_object_get(s, "active_run");
        if (json_is_object(ar) && strcmp(jstr(ar, "phase"), "connecting") == 0)
            snprintf(rid, sizeof rid, "%s", jstr(ar, "run_id"));
        json_decref(s);
        if (!rid[0])
            usleep(20000);
    }
    assert_true(rid[0]);
    int src = accept(pg, NULL, NULL); /* it reached the "server" */
    assert_true(src >= 0);
    usleep(300000);
    json_t *r = get_run(&d, rid);
    assert_string_equal(jstr(r, "phase"), "connecting");
    json_decref(r);
    json_t *c = cancel_and_wait(&d, "/api/schedules/mute/cancel", rid, "connecting");
    assert_string_equal(jstr(c, "status"), "cancelled");
    json_decref(c);
    json_t *s = get_ok(&d, "/api/schedules/mute");
    assert_int_equal(jint(s, "failure_count"), 0);
    json_decref(s);
    close(src);
    close(pg);
    daemon_stop(&d, SIGTERM);
}

/* One scheduler worker and one runner thread, both busy: a run-now and a
 * one-shot ingest wait as queued and are cancelled there. */
static void test_queued(void **state)
{
    (void)state;
    char data[700], busy[64], busy2[64], q[64], q2[64], body[1024], path[200];
    struct daemon d;
    long st;
    const char *env[] = {"LAKEHOUSE_WORKERS=1", "LAKEHOUSE_HTTP_THREADS=1", NULL};
    fresh_dir(data, sizeof data, "queued");
    start(&d, data, env);
    post_schedule(&d, "busy", pg_dsn, "runs_slow", "qb", NULL);
    post_schedule(&d, "later", pg_dsn, "runs_base", "ql", ",\"enabled\":false");
    json_t *j = NULL;
    for (int i = 0; i < 3000; i++) {
        j = get_ok(&d, "/api/schedules/busy");
        if (json_is_object(json_object_get(j, "active_run")))
            break;
        json_decref(j);
        j = NULL;
        usleep(20000);
    }
    assert_non_null(j);
    snprintf(busy, sizeof busy, "%s", jstr(json_object_get(j, "active_run"), "run_id"));
    json_decref(j);
    /* the run-now waits for the only worker */
    j = api(&d, "POST", "/api/schedules/later/run", NULL, &st);
    assert_int_equal(st, 202);
    assert_false(json_is_true(json_object_get(j, "already_running")));
    snprintf(q, sizeof q, "%s", jstr(j, "run_id"));
    json_decref(j);
    json_t *r = get_run(&d, q);
    assert_string_equal(jstr(r, "state"), "queued");
    assert_string_equal(jstr(r, "reason"), "manual");
    assert_true(json_is_null(json_object_get(r, "started_at")));
    json_decref(r);
    j = get_ok(&d, "/api/runs?state=queued");
    assert_string_equal(jstr(json_array_get(json_object_get(j, "runs"), 0), "run_id"), q);
    json_decref(j);
    snprintf(path, sizeof path, "/api/runs/%s/cancel", q);
    r = cancel_and_wait(&d, path, q, "queued (scheduler)");
    assert_non_null(strstr(jstr(r, "message"), "before it started"));
    json_decref(r);
    /* the one-shot runner: the first ingest holds its thread, the second waits */
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"runs_slow\",\"dataset_name\":"
             "\"qo\",\"batch_size\":100}",
             pg_dsn);
    j = api(&d, "POST", "/api/ingest", body, &st);
    assert_int_equal(st, 202);
    snprintf(busy2, sizeof busy2, "%s", jstr(j, "run_id"));
    json_decref(j);
    json_decref(wait_state(&d, busy2, "running"));
    j = api(&d, "POST", "/api/ingest", body, &st);
    assert_int_equal(st, 202);
    assert_string_equal(jstr(j, "state"), "queued");
    assert_true(json_is_null(json_object_get(j, "schedule_id")));
    assert_string_equal(jstr(j, "reason"), "api");
    snprintf(q2, sizeof q2, "%s", jstr(j, "run_id"));
    json_decref(j);
    snprintf(path, sizeof path, "/api/runs/%s/cancel", q2);
    r = cancel_and_wait(&d, path, q2, "queued (one-shot)");
    json_decref(r);
    /* the running one-shot, cancelled while reading */
    json_decref(wait_phase(&d, busy2, "reading", 0));
    snprintf(path, sizeof path, "/api/runs/%s/cancel", busy2);
    r = cancel_and_wait(&d, path, busy2, "reading (one-shot)");
    json_decref(r);
    assert_int_equal(current_version(&d, "qo"), 0);
    /* both one-shots recorded under _runs/_ingest/ */
    char file[900];
    snprintf(file, sizeof file, "%s/primary/_runs/_ingest/%s.log", data, busy2);
    for (int i = 0; i < 500 && access(file, F_OK) != 0; i++)
        usleep(10000);
    snprintf(file, sizeof file, "%s/primary/_runs/_ingest/%s.json", data, q2);
    char *t = file_text(file);
    assert_non_null(t);
    assert_non_null(strstr(t, "\"outcome\": \"cancelled\""));
    free(t);
    snprintf(file, sizeof file, "%s/primary/_runs/_ingest/%s.log", data, busy2);
    t = file_text(file);
    assert_non_null(t);
    assert_non_null(strstr(t, "cancel requested by a user"));
    free(t);
    /* the busy scheduled run, cancelled through its schedule */
    r = cancel_and_wait(&d, "/api/schedules/busy/cancel", busy, "reading (scheduled, 2nd)");
    json_decref(r);
    daemon_stop(&d, SIGTERM);
}

static void test_oneshot(void **state)
{
    (void)state;
    char data[700], rid[64], body[1024], file[900];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "oneshot");
    start(&d, data, NULL);
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"runs_base\",\"dataset_name\":"
             "\"os\"}",
             pg_dsn);
    json_t *j = api(&d, "POST", "/api/ingest", body, &st);
    assert_int_equal(st, 202);
    snprintf(rid, sizeof rid, "%s", jstr(j, "run_id"));
    assert_true(rid[0]);
    json_decref(j);
    json_t *r = wait_state(&d, rid, "succeeded");
    assert_string_equal(jstr(r, "status"), "success");
    assert_int_equal(jint(r, "version"), 1);
    assert_int_equal(jint(r, "rows"), 200);
    assert_string_equal(jstr(r, "dataset"), "os");
    json_decref(r);
    /* the record, then the log beside it */
    snprintf(file, sizeof file, "%s/primary/_runs/_ingest/%s.log", data, rid);
    for (int i = 0; i < 500 && access(file, F_OK) != 0; i++)
        usleep(10000);
    assert_int_equal(access(file, F_OK), 0);
    snprintf(file, sizeof file, "%s/primary/_runs/_ingest/%s.json", data, rid);
    assert_int_equal(access(file, F_OK), 0);
    bool complete;
    char *text = log_text(&d, rid, &complete);
    assert_true(complete);
    assert_non_null(strstr(text, "outcome: succeeded"));
    free(text);
    /* ?wait=true: the outcome itself, as before */
    j = api(&d, "POST", "/api/ingest?wait=true", body, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(j, "success")));
    assert_int_equal(jint(j, "version"), 2);
    json_decref(j);
    j = api(&d, "POST", "/api/ingest?wait=maybe", body, &st);
    assert_int_equal(st, 400);
    json_decref(j);
    /* after a restart, from the history */
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
    start(&d, data, NULL);
    r = get_run(&d, rid);
    assert_string_equal(jstr(r, "state"), "succeeded");
    assert_true(json_is_null(json_object_get(r, "schedule_id")));
    assert_string_equal(jstr(r, "reason"), "api");
    assert_int_equal(jint(r, "version"), 1);
    json_decref(r);
    j = get_ok(&d, "/api/runs?limit=2");
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 2);
    json_decref(j);
    j = api(&d, "GET", "/api/runs?state=bogus", NULL, &st);
    assert_int_equal(st, 400);
    json_decref(j);
    j = api(&d, "GET", "/api/runs/nope/log", NULL, &st);
    assert_int_equal(st, 404);
    json_decref(j);
    daemon_stop(&d, SIGTERM);
}

/* Error text whole; the password never. */
static void test_messages_whole(void **state)
{
    (void)state;
    char data[700], wrong[600], body[1024], rid[64], file[900];
    struct daemon d;
    long st;
    fresh_dir(data, sizeof data, "messages");
    start(&d, data, NULL);
    snprintf(wrong, sizeof wrong, "%s", pg_dsn);
    char *pw = strstr(wrong, pg_pw);
    assert_non_null(pw);
    memcpy(pw, "WRONG", 5); /* the same length, another password */
    char wpw[128];
    snprintf(wpw, sizeof wpw, "%.*s", (int)strlen(pg_pw), pw);
    post_schedule(&d, "badpw", wrong, "runs_base", "bp", ",\"retry\":{\"max_attempts\":0}");
    json_t *l = NULL;
    for (int i = 0; i < 3000; i++) {
        l = get_ok(&d, "/api/runs?schedule=badpw&state=failed");
        if (json_array_size(json_object_get(l, "runs")))
            break;
        json_decref(l);
        l = NULL;
        usleep(20000);
    }
    assert_non_null(l);
    json_t *r = json_array_get(json_object_get(l, "runs"), 0);
    snprintf(rid, sizeof rid, "%s", jstr(r, "run_id"));
    const char *msg = jstr(r, "message");
    if (!strstr(msg, "password authentication failed for user \"lh_test\""))
        fail_msg("not whole: %s", msg);
    json_decref(l);
    /* the run reads failed as its job ends; the schedule takes the outcome
     * once the run is recorded, a moment later */
    json_t *s = NULL;
    for (int i = 0; i < 500; i++) {
        s = get_ok(&d, "/api/schedules/badpw");
        if (jstr(json_object_get(s, "last_outcome"), "message")[0])
            break;
        json_decref(s);
        s = NULL;
        usleep(10000);
    }
    assert_non_null(s);
    assert_non_null(strstr(jstr(json_object_get(s, "last_outcome"), "message"),
                           "password authentication failed for user \"lh_test\""));
    json_decref(s);
    bool complete;
    char *text = log_text(&d, rid, &complete);
    assert_non_null(strstr(text, "password authentication failed"));
    assert_null(strstr(text, wpw)); /* the wrong password is a password too */
    free(text);
    snprintf(file, sizeof file, "%s/primary/_runs/badpw/%s.log", data, rid);
    for (int i = 0; i < 500 && access(file, F_OK) != 0; i++)
        usleep(10000);
    char *disk = file_text(file);
    assert_non_null(disk);
    assert_null(strstr(disk, wpw));
    assert_null(strstr(disk, pg_pw));
    free(disk);
    /* a table named like a secret */
    snprintf(body, sizeof body,
             "{\"type\":\"postgres\",\"dsn\":\"%s\",\"table\":\"password_resets\"}", pg_dsn);
    json_t *j = api(&d, "POST", "/api/ingest", body, &st);
    assert_int_equal(st, 202);
    snprintf(rid, sizeof rid, "%s", jstr(j, "run_id"));
    json_decref(j);
    r = wait_state(&d, rid, "failed");
    if (!strstr(jstr(r, "message"), "password_resets not found"))
        fail_msg("not whole: %s", jstr(r, "message"));
    json_decref(r);
    daemon_stop(&d, SIGTERM);
}

static int setup(void **state)
{
    (void)state;
    env_value(LH_TEST_PG_ENV, "PG_USER_DSN", pg_dsn, sizeof pg_dsn);
    env_value(LH_TEST_PG_ENV, "PG_SUPER_DSN", pg_super, sizeof pg_super);
    env_value(LH_TEST_PG_ENV, "PG_PASSWORD", pg_pw, sizeof pg_pw);
    if (!pg_dsn[0] || !pg_pw[0])
        return -1;
    snprintf(work, sizeof work, "%s", LH_TEST_WORK);
    sh("rm -rf '%s' && mkdir -p '%s'", work, work);
    daemon_log_dir = work;
    setenv("LAKEHOUSE_SECRET_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    unsetenv("LAKEHOUSE_SERVER");
    unsetenv("LAKEHOUSE_DATA");
    /* runs_slow: 20,000 rows, a millisecond of sleep each (~25 s in all),
     * so every cancel lands mid-read */
    if (sh("/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 '%s' -c \""
           "DROP TABLE IF EXISTS runs_base, runs_big CASCADE;"
           "CREATE TABLE runs_base AS SELECT g AS id, md5(g::text) AS name "
           "FROM generate_series(1, 200) g;"
           "CREATE TABLE runs_big AS SELECT g AS id, md5(g::text) AS name "
           "FROM generate_series(1, 20000) g;"
           "CREATE VIEW runs_slow AS SELECT b.id, b.name FROM runs_big b, "
           "LATERAL (SELECT pg_sleep(0.001) WHERE b.id IS NOT NULL) s;"
           "GRANT SELECT ON runs_base, runs_big, runs_slow TO lh_test;"
           "\" >/dev/null",
           pg_super) != 0)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_cancel_reading),
        cmocka_unit_test(test_cancel_connecting),
        cmocka_unit_test(test_queued),
        cmocka_unit_test(test_oneshot),
        cmocka_unit_test(test_messages_whole),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
