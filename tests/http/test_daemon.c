/*
 * test_daemon.c — the HTTP API end to end: the real `lakehouse serve` on a
 * data directory filled through the catalog API, driven with libcurl.
 * Every route and error status, redaction of DSN passwords in every
 * response, metrics text, auth on and off with config/env/flag precedence,
 * and SIGTERM while a request is in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "daemon.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PASSWORD "hunter2-Zq9"

static char dir[256];
/* A copy of dir for the tests that start their own daemon beside the
 * group's: one daemon per store (docs/daemon.md). */
static char dir2[300];
static struct daemon d;
static unsigned health_calls;

/* Every response body of the suite must be free of the password. */
static void check_clean(const struct reply *r)
{
    if (r->body && strstr(r->body, PASSWORD))
        fail_msg("password leaked in response: %s", r->body);
    if (strstr(r->headers, PASSWORD))
        fail_msg("password leaked in headers");
    /* nor a path of the host (issue 12): keys relative to the store only */
    if (r->body && dir[0] && strstr(r->body, dir))
        fail_msg("the data directory leaked in response: %s", r->body);
}

static int setup_catalog(void)
{
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    struct lh_store *st = lh_store_set_primary(set);
    const struct lh_catalog_column cols[] = {
        {.name = "id", .data_type = "Int64"},
        {.name = "email", .data_type = "Utf8", .nullable = true},
    };
    for (int v = 1; v <= 2; v++) {
        char key[80];
        snprintf(key, sizeof key, "datasets/customers/v%d/part-00000.parquet", v);
        if (lh_store_put(st, key, "PAR1", 4, &err) != LH_OK)
            return -1;
        struct lh_catalog_object o = {.key = key, .size_bytes = 2048};
        struct lh_catalog_lineage lin = {.source_system = "postgres",
                                         .source_file =
                                             "dsn: postgres://etl:" PASSWORD "@db:5432/shop",
                                         .ingest_job = "scheduled-postgres-1"};
        /* v1 was written before sources existed; v2 records one */
        struct lh_catalog_source src = {.system = "postgres",
                                        .host = "db",
                                        .port = 5432,
                                        .database = "shop",
                                        .table = "public.customers",
                                        .mode = "overwrite",
                                        .made_by = "customers-nightly"};
        struct lh_catalog_version_spec sp = {.source = v == 2 ? &src : NULL,
                                             .objects = &o,
                                             .nobjects = 1,
                                             .row_count = (uint64_t)(10 + v),
                                             .run_id = "run-x",
                                             .columns = cols,
                                             .ncolumns = 2,
                                             .lineage = &lin};
        if (lh_catalog_version_register(cat, "customers", &sp, NULL, &err) != LH_OK)
            return -1;
        /* bound after v1: v2 enqueues one dataset_appended event */
        if (v == 1 && lh_catalog_index_bind(cat, "customers", "vec", &err) != LH_OK)
            return -1;
    }
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-http-XXXXXX");
    if (!mkdtemp(dir) || setup_catalog() != 0)
        return -1;
    snprintf(dir2, sizeof dir2, "%s-2", dir);
    char cp[700];
    snprintf(cp, sizeof cp, "cp -a '%s' '%s'", dir, dir2);
    if (system(cp) != 0)
        return -1;
    daemon_log_dir = dir; /* removed with it */
    const char *args[] = {"--data", dir, NULL};
    return daemon_start(&d, args, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = daemon_stop(&d, SIGTERM);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, dir2);
    if (system(cmd) != 0)
        return -1;
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ the table */

struct route_case {
    const char *method, *path, *ctype, *body;
    long status;
    const char *contains; /* substring of the body, or NULL */
};

#define KIND "{\"type\":\"postgres\",\"dsn\":\"postgres://u:p@127.0.0.1:1/d\","
#define SCHED                                                                                      \
    "{\"id\":\"combo\",\"trigger\":{\"type\":\"interval\",\"secs\":60},\"kind\":{\"type\":"        \
    "\"postgres\",\"dsn\":\"postgres://u:p@127.0.0.1:1/d\","
static const struct route_case cases[] = {
    {"GET", "/api/health", NULL, NULL, 200, "\"status\":\"ok\""},
    {"GET", "/api/datasets", NULL, NULL, 200, "\"name\":\"customers\""},
    {"GET", "/api/datasets/customers", NULL, NULL, 200, "\"versions\""},
    {"GET", "/api/datasets/customers", NULL, NULL, 200, "\"email\""},
    {"GET", "/api/datasets/customers", NULL, NULL, 200, "etl:***@db"},
    {"GET", "/api/datasets/customers", NULL, NULL, 200, "\"made_by\":\"customers-nightly\""},
    {"GET", "/api/datasets/customers", NULL, NULL, 200, "\"table\":\"public.customers\""},
    {"GET", "/api/datasets/ghost", NULL, NULL, 404, "\"error\""},
    /* traversal: encoded and literal */
    {"GET", "/api/datasets/..%2F..%2Fetc%2Fpasswd", NULL, NULL, 400, "\"field\":\"name\""},
    {"GET", "/api/datasets/a%2Fb", NULL, NULL, 400, "\"field\":\"name\""},
    {"GET", "/api/datasets/%2e%2e", NULL, NULL, 400, "\"field\":\"name\""},
    {"GET", "/api/datasets/..", NULL, NULL, 400, "\"field\":\"path\""},
    {"GET", "/api/datasets/../../etc/passwd", NULL, NULL, 400, "\"field\":\"path\""},
    {"GET", "/api/datasets/x%zz", NULL, NULL, 400, "\"field\":\"path\""},
    {"GET", "/api/datasets/x%00y", NULL, NULL, 400, "\"field\":\"path\""},
    {"GET", "/api//datasets", NULL, NULL, 400, "\"field\":\"path\""},
    {"GET", "/api/datasets/customers/", NULL, NULL, 200, "\"versions\""},
    /* events */
    {"GET", "/api/events", NULL, NULL, 200, "\"type\":\"dataset_appended\""},
    {"GET", "/api/events?dataset=customers", NULL, NULL, 200, "\"index\":\"vec\""},
    {"GET", "/api/events?dataset=ghost", NULL, NULL, 200, "{\"events\":[]}"},
    {"GET", "/api/events?dataset=..%2Fx", NULL, NULL, 400, "\"field\":\"dataset\""},
    {"POST", "/api/events/customers%2F99-nothing/ack", NULL, NULL, 404, "\"field\":\"id\""},
    {"POST", "/api/events/..%2Fx/ack", NULL, NULL, 400, "\"field\":\"id\""},
    {"POST", "/api/events/noslash/ack", NULL, NULL, 400, "\"field\":\"id\""},
    {"GET", "/api/events/customers%2F1/ack", NULL, NULL, 405, NULL},
    /* indexes */
    {"GET", "/api/indexes", NULL, NULL, 200, "{\"dataset\":\"customers\",\"index\":\"vec\"}"},
    {"GET", "/api/indexes?dataset=customers", NULL, NULL, 200, "\"index\":\"vec\""},
    {"GET", "/api/indexes?dataset=ghost", NULL, NULL, 404, "\"field\":\"dataset\""},
    {"POST", "/api/indexes", "application/json", "{\"index\":\"vec\",\"dataset\":\"customers\"}",
     409, "\"field\":\"index\""},
    {"POST", "/api/indexes", "application/json; charset=utf-8",
     "{\"index\":\"emb\",\"dataset\":\"customers\"}", 201, "\"index\":\"emb\""},
    {"GET", "/api/indexes?dataset=customers", NULL, NULL, 200, "\"index\":\"emb\""},
    {"DELETE", "/api/indexes/customers/emb", NULL, NULL, 204, NULL},
    {"DELETE", "/api/indexes/customers/emb", NULL, NULL, 404, "\"field\":\"index\""},
    {"DELETE", "/api/indexes/ghost/emb", NULL, NULL, 404, "\"error\""},
    {"DELETE", "/api/indexes/customers/..%2Fx", NULL, NULL, 400, "\"field\":\"index\""},
    {"POST", "/api/indexes", "application/json", "{\"index\":\"i\",\"dataset\":\"ghost\"}", 404,
     "\"field\":\"dataset\""},
    {"POST", "/api/indexes", "application/json", "{\"index\":5,\"dataset\":\"customers\"}", 400,
     "\"field\":\"index\""},
    {"POST", "/api/indexes", "application/json", "{\"dataset\":\"customers\"}", 400,
     "\"field\":\"index\""},
    {"POST", "/api/indexes", "application/json", "{\"index\":\"../x\",\"dataset\":\"customers\"}",
     400, "\"field\":\"index\""},
    {"POST", "/api/indexes", "application/json",
     "{\"index\":\"a\",\"dataset\":\"customers\",\"x\":1}", 400, "\"field\":\"x\""},
    {"POST", "/api/indexes", "application/json", "{\"index\":\"a\",", 400, "invalid JSON"},
    {"POST", "/api/indexes", "application/json", "{\"a\":1,\"a\":2}", 400, "invalid JSON"},
    {"POST", "/api/indexes", "application/json", "[1,2]", 400, "JSON object"},
    {"POST", "/api/indexes", "application/json", "", 400, "JSON body is required"},
    {"POST", "/api/indexes", "text/plain", "{\"index\":\"a\",\"dataset\":\"customers\"}", 415,
     "application/json"},
    {"POST", "/api/indexes", "application/x-www-form-urlencoded", "index=a", 415, NULL},
    /* what is copied (issue 15): bad combinations are a 400 naming the field */
    {"POST", "/api/ingest", "application/json",
     KIND "\"table\":\"t\",\"query\":\"SELECT 1\","
          "\"dataset_name\":\"x\"}",
     400, "\"field\":\"kind.query\""},
    {"POST", "/api/ingest", "application/json",
     KIND "\"query\":\"SELECT 1\",\"dataset_name\":\"x\","
          "\"columns\":\"a\"}",
     400, "\"field\":\"kind.columns\""},
    {"POST", "/api/ingest", "application/json",
     KIND "\"query\":\"SELECT 1\",\"dataset_name\":\"x\","
          "\"where\":\"a > 1\"}",
     400, "\"field\":\"kind.where\""},
    {"POST", "/api/ingest", "application/json", KIND "\"query\":\"SELECT 1\"}", 400,
     "\"field\":\"kind.dataset_name\""},
    {"POST", "/api/ingest", "application/json", KIND "\"mode\":\"overwrite\"}", 400,
     "\"field\":\"kind.table\""},
    {"POST", "/api/ingest", "application/json", KIND "\"table\":\"t\",\"columns\":[2]}", 400,
     "\"field\":\"kind.columns\""},
    {"POST", "/api/schedules", "application/json",
     SCHED "\"query\":\"SELECT 1\",\"where\":\"x\","
           "\"dataset_name\":\"q\"}}",
     400, "\"field\":\"kind.where\""},
    {"POST", "/api/schedules", "application/json",
     SCHED "\"table\":\"t\",\"query\":\"SELECT 1\","
           "\"dataset_name\":\"q\"}}",
     400, "\"field\":\"kind.query\""},
    {"POST", "/api/schedules", "application/json", SCHED "\"query\":\"SELECT 1\"}}", 400,
     "\"field\":\"kind.dataset_name\""},
    /* routing errors */
    {"PUT", "/api/datasets", NULL, NULL, 405, "allowed: GET"},
    {"DELETE", "/api/health", NULL, NULL, 405, NULL},
    {"PATCH", "/api/indexes", NULL, NULL, 405, "GET, POST"},
    {"GET", "/api/nothing", NULL, NULL, 404, "\"error\""},
    {"GET", "/nope.txt", NULL, NULL, 404, "\"error\""}, /* "/" is the dashboard */
    {"GET", "/api/openapi.json", NULL, NULL, 200, "\"openapi\""},
    {"GET", "/metrics", NULL, NULL, 200, "# TYPE lakehouse_http_requests_total counter"},
};

static void test_routes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct route_case *c = &cases[i];
        struct reply r;
        if (!http_do(&d, c->method, c->path, c->ctype, NULL, c->body, c->body ? strlen(c->body) : 0,
                     &r))
            fail_msg("case %zu: %s %s: no reply", i, c->method, c->path);
        if (strcmp(c->path, "/api/health") == 0 && strcmp(c->method, "GET") == 0)
            health_calls++;
        check_clean(&r);
        if (r.status != c->status || (c->contains && !strstr(r.body, c->contains)))
            fail_msg("case %zu: %s %s: status %ld (want %ld), body %s", i, c->method, c->path,
                     r.status, c->status, r.body);
        char v[256];
        /* every error is JSON with an "error" member */
        if (r.status >= 400) {
            json_t *j = json_loads(r.body, 0, NULL);
            if (!json_is_string(json_object_get(j, "error")))
                fail_msg("case %zu: error body is not {\"error\":...}: %s", i, r.body);
            json_decref(j);
            assert_true(reply_header(&r, "Content-Type", v, sizeof v));
            assert_string_equal(v, "application/json");
        }
        if (r.status == 405) {
            if (!reply_header(&r, "Allow", v, sizeof v) || !v[0])
                fail_msg("case %zu: 405 without Allow", i);
            if (strstr(v, c->method))
                fail_msg("case %zu: Allow '%s' lists the refused method", i, v);
        }
        if (r.status == 204)
            assert_int_equal(r.len, 0);
        reply_free(&r);
    }
}

static json_t *get_json(const char *path, long want)
{
    struct reply r;
    assert_true(http_do(&d, "GET", path, NULL, NULL, NULL, 0, &r));
    check_clean(&r);
    if (r.status != want)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    if (!j)
        fail_msg("GET %s: not JSON: %s", path, je.text);
    reply_free(&r);
    return j;
}

/* One request; the status, and the body as JSON (NULL when not JSON). */
static json_t *send_json(const char *method, const char *path, const char *body, long *status)
{
    struct reply r;
    assert_true(http_do(&d, method, path, "application/json", NULL, body,
                        body ? strlen(body) : 0, &r));
    check_clean(&r);
    *status = r.status;
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    reply_free(&r);
    return j;
}

static int64_t doc_time(json_t *doc, const char *key)
{
    int64_t us = 0;
    const char *s = json_string_value(json_object_get(doc, key));
    if (!s || lh_time_parse_iso(s, &us, NULL) != LH_OK)
        fail_msg("%s: not a time", key);
    return us;
}

#define SDSN "\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://u:p@127.0.0.1:1/d\",\"table\":\"t\"}"

/* Issue 14: a cron schedule first fires at its first cron time, not at
 * creation; an interval one at once unless run_now is false; run_now true
 * runs either at once. */
static void test_schedule_first_run(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int64_t want_delay; /* next_run_at - created_at, seconds; -1: a Berlin 02:00 */
    } c[] = {
        {"{\"id\":\"fr-cron\",\"enabled\":false," SDSN
         ",\"trigger\":{\"type\":\"cron\",\"expr\":\"0 2 * * *\",\"tz\":\"Europe/Berlin\"}}",
         -1},
        {"{\"id\":\"fr-cron-now\",\"enabled\":false,\"run_now\":true," SDSN
         ",\"trigger\":{\"type\":\"cron\",\"expr\":\"0 2 * * *\",\"tz\":\"Europe/Berlin\"}}",
         0},
        {"{\"id\":\"fr-int\",\"enabled\":false," SDSN
         ",\"trigger\":{\"type\":\"interval\",\"secs\":600}}",
         0},
        {"{\"id\":\"fr-int-later\",\"enabled\":false,\"run_now\":false," SDSN
         ",\"trigger\":{\"type\":\"interval\",\"secs\":600}}",
         600},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        long st;
        json_t *j = send_json("POST", "/api/schedules", c[i].body, &st);
        if (st != 201)
            fail_msg("case %zu: %ld", i, st);
        assert_null(json_object_get(j, "run_now")); /* not stored */
        int64_t created = doc_time(j, "created_at"), next = doc_time(j, "next_run_at");
        if (c[i].want_delay >= 0) {
            /* created_at is written to the second, next_run_at too */
            if (llabs((next - created) / 1000000 - c[i].want_delay) > 1)
                fail_msg("case %zu: next_run_at %lld s after creation, want %lld", i,
                         (long long)((next - created) / 1000000), (long long)c[i].want_delay);
        } else {
            const char *n = json_string_value(json_object_get(j, "next_run_at"));
            assert_true(next > created);
            assert_true(next - created <= INT64_C(86400) * 1000000);
            /* 02:00 in Berlin is 01:00 or 00:00 UTC */
            if (!strstr(n, "T01:00:00") && !strstr(n, "T00:00:00"))
                fail_msg("cron next_run_at %s is not 02:00 Europe/Berlin", n);
        }
        json_decref(j);
    }
    const char *const ids[] = {"fr-cron", "fr-cron-now", "fr-int", "fr-int-later"};
    for (size_t i = 0; i < 4; i++) {
        char path[64];
        long st;
        snprintf(path, sizeof path, "/api/schedules/%s", ids[i]);
        json_decref(send_json("DELETE", path, NULL, &st));
        assert_int_equal(st, 204);
    }
}

/* Issue 14: unknown fields at every level are a 400 naming the field, on
 * POST and PUT; the reference's shape and a GET answer fed back pass. */
static void test_schedule_strict_fields(void **state)
{
    (void)state;
    static const struct {
        const char *method, *body, *field;
    } bad[] = {
        {"POST", "{\"id\":\"st\",\"enable\":false," SDSN
                 ",\"trigger\":{\"type\":\"interval\",\"secs\":60}}", "enable"},
        {"POST", "{\"id\":\"st\",\"kind\":{\"type\":\"postgres\",\"dsn\":"
                 "\"postgres://u:p@127.0.0.1:1/d\",\"tabel\":\"t\",\"table\":\"t\"},"
                 "\"trigger\":{\"type\":\"interval\",\"secs\":60}}", "kind.tabel"},
        {"POST", "{\"id\":\"st\"," SDSN
                 ",\"trigger\":{\"type\":\"cron\",\"expr\":\"0 2 * * *\",\"timezone\":\"UTC\"}}",
         "trigger.timezone"},
        {"POST", "{\"id\":\"st\"," SDSN
                 ",\"trigger\":{\"type\":\"interval\",\"secs\":60,\"tz\":\"UTC\"}}", "trigger.tz"},
        {"POST", "{\"id\":\"st\"," SDSN ",\"trigger\":{\"type\":\"interval\",\"secs\":60},"
                 "\"retry\":{\"max_attemps\":2}}", "retry.max_attemps"},
        {"PUT", "{\"id\":\"st-ok\",\"enabel\":true," SDSN
                ",\"trigger\":{\"type\":\"interval\",\"secs\":60}}", "enabel"},
        {"PUT", "{\"id\":\"st-ok\",\"run_now\":true," SDSN
                ",\"trigger\":{\"type\":\"interval\",\"secs\":60}}", "run_now"},
    };
    long st;
    /* the reference's own shape, state fields and all */
    json_t *j = send_json(
        "POST", "/api/schedules",
        "{\"id\":\"st-ok\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"mysql://u:p@127.0.0.1:1/d\","
        "\"table\":\"t\",\"dataset_name\":null,\"batch_size\":null,\"order_by\":null},"
        "\"trigger\":{\"type\":\"interval\",\"secs\":3600},\"enabled\":false,"
        "\"created_at\":\"2026-04-16T20:36:04Z\",\"created_by\":\"ops\","
        "\"next_run_at\":\"2026-04-16T21:36:05Z\",\"last_run_at\":null,\"last_outcome\":null,"
        "\"run_count\":0,\"failure_count\":0}",
        &st);
    if (st != 201)
        fail_msg("reference shape: %ld %s", st,
                 json_string_value(json_object_get(j, "error")) ? json_string_value(json_object_get(j, "error")) : "");
    json_decref(j);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = send_json(bad[i].method,
                      bad[i].method[1] == 'U' ? "/api/schedules/st-ok" : "/api/schedules",
                      bad[i].body, &st);
        const char *f = json_string_value(json_object_get(j, "field"));
        const char *e = json_string_value(json_object_get(j, "error"));
        if (st != 400 || !e || !strstr(e, bad[i].field) || !f ||
            strcmp(f, bad[i].field) != 0)
            fail_msg("case %zu: %ld field %s error %s (want 400 naming %s)", i, st,
                     f ? f : "-", e ? e : "-", bad[i].field);
        json_decref(j);
    }
    /* what GET answers goes back as a PUT unchanged */
    struct reply r;
    assert_true(http_do(&d, "GET", "/api/schedules/st-ok", NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"active_run_id\""));
    char *doc = strdup(r.body);
    reply_free(&r);
    j = send_json("PUT", "/api/schedules/st-ok", doc, &st);
    free(doc);
    if (st != 200)
        fail_msg("GET fed back as PUT: %ld", st);
    json_decref(j);
    json_decref(send_json("DELETE", "/api/schedules/st-ok", NULL, &st));
    assert_int_equal(st, 204);
}

static void test_event_ack(void **state)
{
    (void)state;
    json_t *ev = get_json("/api/events?dataset=customers", 200);
    json_t *arr = json_object_get(ev, "events");
    assert_true(json_array_size(arr) >= 1);
    const char *id = json_string_value(json_object_get(json_array_get(arr, 0), "id"));
    assert_non_null(id);
    const char *slash = strchr(id, '/');
    assert_non_null(slash);
    /* encoded form */
    char path[600];
    snprintf(path, sizeof path, "/api/events/%.*s%%2F%s/ack", (int)(slash - id), id, slash + 1);
    struct reply r;
    assert_true(http_do(&d, "POST", path, NULL, NULL, NULL, 0, &r));
    check_clean(&r);
    if (r.status != 200 || !strstr(r.body, id))
        fail_msg("ack %s: %ld %s", path, r.status, r.body);
    reply_free(&r);
    /* gone: a second ack, in the literal-slash form, is 404 */
    snprintf(path, sizeof path, "/api/events/%s/ack", id);
    assert_true(http_do(&d, "POST", path, NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 404);
    reply_free(&r);
    json_t *after = get_json("/api/events?dataset=customers", 200);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(after, "events"), i, e)
        assert_string_not_equal(json_string_value(json_object_get(e, "id")), id);
    json_decref(after);
    json_decref(ev);
}

static void test_health_and_openapi(void **state)
{
    (void)state;
    json_t *h = get_json("/api/health", 200);
    health_calls++;
    assert_string_equal(json_string_value(json_object_get(h, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(h, "version")), LH_VERSION);
    assert_true(json_is_integer(json_object_get(h, "schedules")));
    assert_true(json_is_integer(json_object_get(h, "running")));
    json_decref(h);

    json_t *o = get_json("/api/openapi.json", 200);
    json_t *paths = json_object_get(o, "paths");
    /* every route of the issue, including those still to come */
    static const char *want[][2] = {
        {"/api/health", "get"},
        {"/api/schedules", "get"},
        {"/api/schedules", "post"},
        {"/api/schedules/{id}", "get"},
        {"/api/schedules/{id}", "put"},
        {"/api/schedules/{id}", "delete"},
        {"/api/schedules/{id}/run", "post"},
        {"/api/schedules/{id}/runs", "get"},
        {"/api/ingest", "post"},
        {"/api/datasets", "get"},
        {"/api/datasets/{name}", "get"},
        {"/api/events", "get"},
        {"/api/events/{event_id}/ack", "post"},
        {"/api/indexes", "post"},
        {"/api/indexes", "get"},
        {"/api/indexes/{dataset}/{index}", "delete"},
        {"/metrics", "get"},
        {"/api/openapi.json", "get"},
        {"/api/sql", "post"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!json_object_get(json_object_get(paths, want[i][0]), want[i][1]))
            fail_msg("openapi lacks %s %s", want[i][1], want[i][0]);
    json_decref(o);
}

/* A record whose stored lineage carries a password (written behind the
 * catalog's back) still leaves the API redacted. */
static void test_redaction_of_tampered_record(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/primary/_catalog/customers.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) { /* layout differs: find it */
        snprintf(path, sizeof path, "%s/_catalog/customers.json", dir);
        f = fopen(path, "rb");
    }
    assert_non_null(f);
    static char rec[1 << 20];
    size_t n = fread(rec, 1, sizeof rec - 1, f);
    fclose(f);
    rec[n] = '\0';
    char *star = strstr(rec, "etl:***@");
    assert_non_null(star);
    static char out[(1 << 20) + 64];
    snprintf(out, sizeof out, "%.*setl:%s@%s", (int)(star - rec), rec, PASSWORD,
             star + strlen("etl:***@"));
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(out, 1, strlen(out), f);
    fclose(f);

    static const char *paths[] = {"/api/datasets/customers", "/api/datasets", "/api/indexes",
                                  "/api/events"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct reply r;
        assert_true(http_do(&d, "GET", paths[i], NULL, NULL, NULL, 0, &r));
        assert_int_equal(r.status, 200);
        check_clean(&r);
        reply_free(&r);
    }
    /* and the redacted form is still shown */
    struct reply r;
    assert_true(http_do(&d, "GET", "/api/datasets/customers", NULL, NULL, NULL, 0, &r));
    assert_non_null(strstr(r.body, "etl:***@db"));
    reply_free(&r);
}

static void test_body_limit(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 10;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    struct reply r;
    /* declared length over the limit: 413 before the body is read (the
     * request head alone gets the answer) */
    int hfd = raw_connect(&d);
    assert_true(hfd >= 0);
    char h10[256];
    snprintf(h10, sizeof h10,
             "POST /api/indexes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: 10485760\r\n\r\n",
             d.addr);
    assert_true(send(hfd, h10, strlen(h10), MSG_NOSIGNAL) > 0);
    char hr[512] = {0};
    assert_true(recv(hfd, hr, sizeof hr - 1, 0) > 0);
    if (!strstr(hr, " 413 "))
        fail_msg("declared 10 MiB body: %s", hr);
    close(hfd);
    /* and through curl, which waits for 100-continue on a big body */
    assert_true(http_do(&d, "POST", "/api/indexes", "application/json", NULL, big, n, &r));
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "\"error\""));
    reply_free(&r);
    /* exactly at the limit is accepted (and then fails on content: 400) */
    size_t lim = 1u << 20;
    big[lim - 1] = '}';
    assert_true(http_do(&d, "POST", "/api/indexes", "application/json", NULL, big, lim, &r));
    assert_int_equal(r.status, 400);
    reply_free(&r);
    free(big);

    /* a chunked body with no declared length, over the limit */
    int fd = raw_connect(&d);
    assert_true(fd >= 0);
    char head[256];
    snprintf(head, sizeof head,
             "POST /api/indexes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n",
             d.addr);
    assert_true(send(fd, head, strlen(head), MSG_NOSIGNAL) > 0);
    static char chunk[65536 + 16];
    int hl = snprintf(chunk, sizeof chunk, "10000\r\n");
    memset(chunk + hl, 'x', 65536);
    memcpy(chunk + hl + 65536, "\r\n", 2);
    for (int i = 0; i < 20; i++) /* 1.25 MiB */
        if (send(fd, chunk, (size_t)hl + 65536 + 2, MSG_NOSIGNAL) <= 0)
            break;
    send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
    char resp[512] = {0};
    ssize_t got = recv(fd, resp, sizeof resp - 1, 0);
    assert_true(got > 0);
    if (!strstr(resp, " 413 "))
        fail_msg("chunked over the limit: %s", resp);
    close(fd);
}

/* Each line of the exposition is a comment (# HELP / # TYPE) or
 * `name{labels} value`; the health counter matches the calls made. */
static void test_metrics(void **state)
{
    (void)state;
    struct reply r;
    assert_true(http_do(&d, "GET", "/metrics", NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_true(reply_header(&r, "Content-Type", ct, sizeof ct));
    assert_non_null(strstr(ct, "text/plain"));
    assert_non_null(strstr(ct, "version=0.0.4"));
    double health = -1;
    size_t lines = 0;
    for (char *line = r.body, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (!next)
            fail_msg("metrics: last line not terminated");
        *next++ = '\0';
        lines++;
        if (line[0] == '#') {
            if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0)
                fail_msg("metrics: bad comment: %s", line);
            continue;
        }
        char *p = line;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
            fail_msg("metrics: bad name: %s", line);
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '_' || *p == ':')
            p++;
        if (*p == '{') {
            p++;
            while (*p != '}') {
                while ((*p >= 'a' && *p <= 'z') || *p == '_')
                    p++;
                if (p[0] != '=' || p[1] != '"')
                    fail_msg("metrics: bad label: %s", line);
                p += 2;
                while (*p && *p != '"')
                    p += p[0] == '\\' ? 2 : 1;
                if (*p != '"')
                    fail_msg("metrics: unterminated label: %s", line);
                p++;
                if (*p == ',')
                    p++;
                else if (*p != '}')
                    fail_msg("metrics: bad label list: %s", line);
            }
            p++;
        }
        if (*p != ' ')
            fail_msg("metrics: no value: %s", line);
        char *end;
        double v = strtod(p + 1, &end);
        if (end == p + 1 || *end != '\0')
            if (strcmp(p + 1, "+Inf") != 0 && strcmp(p + 1, "NaN") != 0)
                fail_msg("metrics: bad value: %s", line);
        if (strncmp(line, "lakehouse_http_requests_total{route=\"/api/health\",status=\"200\"}",
                    63) == 0)
            health = v;
    }
    assert_true(lines > 20);
    /* one connection is reused, so every earlier request has completed */
    if (health != (double)health_calls)
        fail_msg("health counter %g, calls %u", health, health_calls);
    reply_free(&r);
}

/* ------------------------------------------------------------ auth */

static void expect(struct daemon *dd, const char *path, const char *auth, long want)
{
    struct reply r;
    assert_true(http_do(dd, "GET", path, NULL, auth, NULL, 0, &r));
    if (r.status != want)
        fail_msg("GET %s with %s: %ld (want %ld) %s", path, auth ? auth : "no auth", r.status, want,
                 r.body);
    if (want == 401) {
        char v[128];
        assert_true(reply_header(&r, "WWW-Authenticate", v, sizeof v));
        assert_non_null(strstr(v, "Bearer"));
    }
    reply_free(&r);
}

static void test_auth_flag(void **state)
{
    (void)state;
    struct daemon a;
    const char *args[] = {"--data", dir2, "--token", "tok-123", NULL};
    assert_true(daemon_start(&a, args, NULL));
    expect(&a, "/api/health", NULL, 200);
    expect(&a, "/metrics", NULL, 200);
    expect(&a, "/api/datasets", NULL, 401);
    expect(&a, "/api/datasets", "Bearer tok-12", 401);
    expect(&a, "/api/datasets", "Bearer tok-1234", 401);
    expect(&a, "/api/datasets", "Basic dG9rLTEyMw==", 401);
    expect(&a, "/api/datasets", "Bearer", 401);
    expect(&a, "/api/datasets", "Bearer tok-123", 200);
    expect(&a, "/api/datasets", "bearer tok-123", 200);
    expect(&a, "/api/openapi.json", NULL, 401);
    expect(&a, "/api/nothing", NULL, 401); /* nothing is disclosed before auth */
    expect(&a, "/api/nothing", "Bearer tok-123", 404);
    assert_int_equal(daemon_stop(&a, SIGINT), 0);
}

/* config file < environment < flag; auth_open [] closes health too. */
static void test_auth_precedence(void **state)
{
    (void)state;
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/serve.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "{\"token\": \"from-file\", \"auth_open\": [], \"log_format\": \"json\","
               " \"http\": {\"threads\": 2, \"timeout_secs\": 10}}\n");
    fclose(f);
    struct daemon a;
    const char *args[] = {"--data", dir2, "--config", cfg, NULL};
    assert_true(daemon_start(&a, args, NULL));
    expect(&a, "/api/health", NULL, 401);
    expect(&a, "/metrics", NULL, 401);
    expect(&a, "/api/health", "Bearer from-file", 200);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    /* the JSON log format from the file: one JSON object per line */
    f = fopen(a.errlog, "r");
    assert_non_null(f);
    char line[2048];
    int http_lines = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            fail_msg("log line is not JSON: %s", line);
        const char *msg = json_string_value(json_object_get(j, "msg"));
        if (msg && strncmp(msg, "http GET /api/health 200", 24) == 0)
            http_lines++;
        json_decref(j);
    }
    fclose(f);
    unlink(a.errlog);
    assert_int_equal(http_lines, 1);

    static char env_tok[] = "LAKEHOUSE_TOKEN=from-env";
    const char *env[] = {env_tok, NULL};
    assert_true(daemon_start(&a, args, env));
    expect(&a, "/api/health", "Bearer from-file", 401);
    expect(&a, "/api/health", "Bearer from-env", 200);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);

    const char *args2[] = {"--data", dir2, "--config", cfg, "--token", "from-flag", NULL};
    assert_true(daemon_start(&a, args2, env));
    expect(&a, "/api/health", "Bearer from-env", 401);
    expect(&a, "/api/health", "Bearer from-flag", 200);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    unlink(cfg);
}

static void test_bad_config(void **state)
{
    (void)state;
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/bad.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "{\"listen\": \"127.0.0.1:0\", \"tokne\": \"x\"}\n");
    fclose(f);
    struct daemon a;
    const char *args[] = {"--data", dir2, "--config", cfg, NULL};
    assert_false(daemon_start(&a, args, NULL));
    f = fopen(a.errlog, "r");
    assert_non_null(f);
    char line[1024] = {0};
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "tokne"));
    unlink(a.errlog);
    unlink(cfg);
}

/* ------------------------------------------------------------ shutdown */

/* GET /api/health counts the schedules in place (issue 13, item 6): right
 * after API creates and deletes, and after a SIGHUP reload that finds a
 * file another process wrote. */
static long health_schedules(struct daemon *a)
{
    struct reply r;
    assert_true(http_do(a, "GET", "/api/health", NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 200);
    json_t *h = json_loads(r.body, 0, NULL);
    assert_non_null(h);
    long n = (long)json_integer_value(json_object_get(h, "schedules"));
    json_decref(h);
    reply_free(&r);
    return n;
}

static void test_health_counts(void **state)
{
    (void)state;
    char hd[300], cmd[1400];
    snprintf(hd, sizeof hd, "%s-health", dir);
    struct daemon a;
    const char *args[] = {"--data", hd, NULL};
    assert_true(daemon_start(&a, args, NULL));
    assert_int_equal(health_schedules(&a), 0);
    const char *ids[] = {"h1", "h2", "h3"};
    for (size_t i = 0; i < 3; i++) {
        char body[400];
        int n = snprintf(body, sizeof body,
                         "{\"id\": \"%s\", \"kind\": {\"type\": \"postgres\", \"dsn\": "
                         "\"postgresql://u@127.0.0.1:1/db\", \"table\": \"t\"}, \"trigger\": "
                         "{\"type\": \"interval\", \"secs\": 3600}, \"enabled\": false}",
                         ids[i]);
        struct reply r;
        assert_true(http_do(&a, "POST", "/api/schedules", "application/json", NULL, body,
                            (size_t)n, &r));
        assert_int_equal(r.status, 201);
        reply_free(&r);
        assert_int_equal(health_schedules(&a), (long)i + 1);
    }
    struct reply r;
    assert_true(http_do(&a, "DELETE", "/api/schedules/h2", NULL, NULL, NULL, 0, &r));
    assert_true(r.status == 200 || r.status == 204);
    reply_free(&r);
    assert_int_equal(health_schedules(&a), 2);
    /* another process's schedule file, then SIGHUP: counted once re-read */
    snprintf(cmd, sizeof cmd, "cp '%s/primary/_schedules/h1.json' '%s/primary/_schedules/h4.json'"
             " && sed -i 's/\"h1\"/\"h4\"/' '%s/primary/_schedules/h4.json'", hd, hd, hd);
    assert_int_equal(system(cmd), 0);
    kill(a.pid, SIGHUP);
    long n = 0;
    for (int i = 0; i < 500 && (n = health_schedules(&a)) != 3; i++)
        usleep(20000);
    assert_int_equal(n, 3);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", hd);
    assert_int_equal(system(cmd), 0);
}

/* POST /api/ingest is a job on app's runner, not work on an HTTP thread
 * (issue 13, item 1): with ONE HTTP thread and an ingest stuck on a source
 * that accepted the connection and says nothing, /api/health answers while
 * the ingest still waits;
 * when the source hangs up, the ingest's own answer comes (502, as before). */
static void test_ingest_off_http_threads(void **state)
{
    (void)state;
    int pg = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(pg >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(pg, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(pg, 4), 0);
    assert_int_equal(getsockname(pg, (struct sockaddr *)&sa, &sl), 0);
    char hd[300], cmd[700];
    snprintf(hd, sizeof hd, "%s-oneshot", dir);
    struct daemon a;
    const char *args[] = {"--data", hd, NULL};
    const char *env[] = {"LAKEHOUSE_HTTP_THREADS=1", NULL};
    assert_true(daemon_start(&a, args, env));

    char body[300], head[600];
    int bl = snprintf(body, sizeof body,
                      "{\"type\":\"postgres\",\"dsn\":\"postgresql://u:secret-pw@127.0.0.1:%u/db\","
                      "\"table\":\"t\",\"timeout_secs\":60}",
                      (unsigned)ntohs(sa.sin_port));
    int hl = snprintf(head, sizeof head,
                      "POST /api/ingest?wait=true HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "X-Lakehouse-Client: test\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
                      a.addr, bl);
    int fd = raw_connect(&a);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
    assert_int_equal(send(fd, body, (size_t)bl, MSG_NOSIGNAL), bl);
    /* the ingest is running once it reached "the source" */
    int src = accept(pg, NULL, NULL);
    assert_true(src >= 0);
    /* the only HTTP thread is free: health answers (curl gives up after 30 s) */
    struct reply r;
    assert_true(http_do(&a, "GET", "/api/health", NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 200);
    reply_free(&r);
    /* ... while the ingest was still waiting for its source (it gives up on
     * its own only after its 10 s connect timeout): no answer yet. On one
     * HTTP thread busy with the ingest, health came only after that. */
    char early[64];
    ssize_t e = recv(fd, early, sizeof early, MSG_DONTWAIT);
    if (e >= 0)
        fail_msg("the ingest answered before its source did (%zd bytes): health waited for it", e);
    /* the source hangs up: the ingest's answer, on the suspended connection */
    close(src);
    char buf[4096] = {0};
    size_t have = 0;
    ssize_t got;
    while (have < sizeof buf - 1 && (got = recv(fd, buf + have, sizeof buf - 1 - have, 0)) > 0)
        have += (size_t)got;
    close(fd);
    if (!strstr(buf, "HTTP/1.1 502") || !strstr(buf, "\"error\"") || strstr(buf, "secret-pw"))
        fail_msg("POST /api/ingest: %s", buf);
    /* counted as a run like any other */
    assert_true(http_do(&a, "GET", "/metrics", NULL, NULL, NULL, 0, &r));
    assert_non_null(strstr(r.body, "lakehouse_runs_total{schedule=\"api-ingest\",outcome=\"failed\"} 1"));
    reply_free(&r);
    close(pg);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", hd);
    assert_int_equal(system(cmd), 0);
}

static void test_sigterm_in_flight(void **state)
{
    (void)state;
    struct daemon a;
    const char *args[] = {"--data", dir2, NULL};
    assert_true(daemon_start(&a, args, NULL));
    const char *body = "{\"index\":\"late\",\"dataset\":\"customers\"}";
    int fd = raw_connect(&a);
    assert_true(fd >= 0);
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST /api/indexes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nExpect: 100-continue\r\n\r\n",
                      a.addr, strlen(body));
    assert_int_equal(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
    /* the 100 Continue proves the server holds the request */
    char buf[1024] = {0};
    ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(got > 0);
    assert_non_null(strstr(buf, "100 Continue"));
    kill(a.pid, SIGTERM);
    /* new connections are refused once the daemon stops accepting */
    for (int i = 0; i < 200; i++) {
        int probe = raw_connect(&a);
        if (probe < 0)
            break;
        close(probe);
        usleep(10000);
    }
    assert_true(raw_connect(&a) < 0);
    assert_int_equal(send(fd, body, strlen(body), MSG_NOSIGNAL), (ssize_t)strlen(body));
    size_t have = 0;
    memset(buf, 0, sizeof buf);
    while (have < sizeof buf - 1 && (got = recv(fd, buf + have, sizeof buf - 1 - have, 0)) > 0)
        have += (size_t)got;
    close(fd);
    if (!strstr(buf, "HTTP/1.1 201") || !strstr(buf, "\"index\":\"late\""))
        fail_msg("in-flight request did not complete: %s", buf);
    assert_int_equal(daemon_stop(&a, 0), 0); /* signal 0: just wait */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_event_ack),
        cmocka_unit_test(test_schedule_first_run),
        cmocka_unit_test(test_schedule_strict_fields),
        cmocka_unit_test(test_health_and_openapi),
        cmocka_unit_test(test_redaction_of_tampered_record),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_auth_flag),
        cmocka_unit_test(test_auth_precedence),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_health_counts),
        cmocka_unit_test(test_ingest_off_http_threads),
        cmocka_unit_test(test_sigterm_in_flight),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
