/*
 * test_guard.c — what a browser on another site, a DNS-rebinding page and
 * an over-long request line get from the real `lakehouse serve` (issue 12,
 * items 7 and 11), driven with libcurl and raw sockets.
 *
 * Cross-site: every POST/PUT/DELETE a web page on another origin could send
 * without a CORS preflight (text/plain, form and multipart bodies, no body
 * at all), and those carrying a foreign Origin or a cross-site
 * Sec-Fetch-Site, are refused — and the schedule's run does not fire, the
 * event stays pending, nothing is deleted or created. The same requests
 * from the CLI's client (X-Lakehouse-Client), with a JSON body, or with the
 * daemon's own Origin still work; a token keeps working as it did.
 *
 * Host: only the listen address, localhost/127.0.0.1/[::1] with the port
 * and the configured allowed_hosts are answered; any other name gets 421.
 *
 * Request line: a thousand query arguments (which hung the connection for
 * 30 s in libmicrohttpd's own parser) get a JSON 400, an over-long query a
 * JSON 414; too many or too big headers get 431 — each answered, never a
 * silent close. A receive timeout of 10 s catches a hang, not a slow
 * machine.
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static struct daemon d;
static char event_id[300];

/* one dataset with an index bound after v1: v2 leaves a pending event */
static int setup_catalog(void)
{
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    const struct lh_catalog_column cols[] = {{.name = "id", .data_type = "Int64"}};
    for (int v = 1; v <= 2; v++) {
        char key[80];
        snprintf(key, sizeof key, "datasets/customers/v%d/part-00000.parquet", v);
        if (lh_store_put(lh_store_set_primary(set), key, "PAR1", 4, &err) != LH_OK)
            return -1;
        struct lh_catalog_object o = {.key = key, .size_bytes = 4};
        struct lh_catalog_version_spec sp = {
            .objects = &o, .nobjects = 1, .row_count = 1, .run_id = "r", .columns = cols,
            .ncolumns = 1};
        if (lh_catalog_version_register(cat, "customers", &sp, NULL, &err) != LH_OK)
            return -1;
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
    snprintf(dir, sizeof dir, "/tmp/lh-http-guard-XXXXXX");
    if (!mkdtemp(dir) || setup_catalog() != 0)
        return -1;
    daemon_log_dir = dir;
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/serve.json", dir);
    FILE *f = fopen(cfg, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"allowed_hosts\": [\"lakehouse.test\", \"proxy.test:8443\"]}\n");
    fclose(f);
    const char *args[] = {"--data", dir, "--config", cfg, NULL};
    return daemon_start(&d, args, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = daemon_stop(&d, SIGTERM);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return rc == 0 ? 0 : -1;
}

static json_t *get_json(const char *path)
{
    struct reply r;
    assert_true(http_do(&d, "GET", path, NULL, NULL, NULL, 0, &r));
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    reply_free(&r);
    return j;
}

static json_int_t runs_total(const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/api/schedules/%s/runs", id);
    json_t *j = get_json(path);
    json_int_t n = json_integer_value(json_object_get(j, "total"));
    json_decref(j);
    return n;
}

static bool event_pending(const char *id)
{
    json_t *j = get_json("/api/events?dataset=customers");
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e)
        found = found || strcmp(json_string_value(json_object_get(e, "id")), id) == 0;
    json_decref(j);
    return found;
}

/* ------------------------------------------------------------ cross-site */

#define SCHED "csrf-target"

struct attack {
    const char *what, *method, *path; /* path "%s" = the event id, percent-encoded */
    const char *headers[5];
    const char *body;
    long status;
};

static void test_cross_site_refused(void **state)
{
    (void)state;
    char origin_self[160], origin_port[160];
    snprintf(origin_self, sizeof origin_self, "Origin: http://%s", d.addr);
    /* a page served from another port of the same loopback address: same
     * site, other origin */
    snprintf(origin_port, sizeof origin_port, "Origin: http://127.0.0.1:%d", d.port == 1 ? 2 : 1);

    /* the target: a schedule that never fires by itself (disabled; "run
     * now" still fires it; a failed manual run is not retried) */
    const char *def = "{\"id\":\"" SCHED "\",\"kind\":{\"type\":\"postgres\","
                      "\"dsn\":\"postgres://u:pw@127.0.0.1:1/db\",\"table\":\"t\"},"
                      "\"trigger\":{\"type\":\"cron\",\"expr\":\"0 0 1 1 *\"},\"enabled\":false}";
    struct reply r;
    assert_true(http_do(&d, "POST", "/api/schedules", "application/json", NULL, def, strlen(def),
                        &r));
    if (r.status != 201)
        fail_msg("create: %ld %s", r.status, r.body);
    reply_free(&r);

    json_t *ev = get_json("/api/events?dataset=customers");
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(ev, "events"), 0), "id"));
    assert_non_null(id);
    snprintf(event_id, sizeof event_id, "%s", id);
    json_decref(ev);
    char ack[400];
    const char *slash = strchr(event_id, '/');
    assert_non_null(slash);
    snprintf(ack, sizeof ack, "/api/events/%.*s%%2F%s/ack", (int)(slash - event_id), event_id,
             slash + 1);

    const char *run = "/api/schedules/" SCHED "/run";
    const char *one = "/api/schedules/" SCHED;
    const struct attack attacks[] = {
        /* what a form or a no-cors fetch() on another site sends */
        {"text/plain fetch from another port", "POST", run,
         {"Content-Type: text/plain;charset=UTF-8", origin_port, "Sec-Fetch-Site: same-site",
          "Sec-Fetch-Mode: no-cors"},
         "x", 403},
        {"form POST from another site", "POST", run,
         {"Content-Type: application/x-www-form-urlencoded", "Origin: http://evil.test",
          "Sec-Fetch-Site: cross-site"},
         "a=b", 403},
        {"multipart form", "POST", run,
         {"Content-Type: multipart/form-data; boundary=x", "Origin: http://evil.test"},
         "--x--\r\n", 403},
        /* the same without the browser's tell-tale headers (an old browser,
         * a privacy proxy stripping Origin) */
        {"text/plain, no Origin", "POST", run, {"Content-Type: text/plain"}, "x", 403},
        {"form, no Origin", "POST", run, {"Content-Type: application/x-www-form-urlencoded"},
         "a=b", 403},
        {"no body, no headers", "POST", run, {NULL}, NULL, 403},
        /* a custom header does not excuse a foreign origin */
        {"client header, foreign Origin", "POST", run,
         {"X-Lakehouse-Client: x", "Origin: http://evil.test"}, NULL, 403},
        {"client header, other port", "POST", run, {"X-Lakehouse-Client: x", origin_port}, NULL,
         403},
        {"client header, Origin null", "POST", run, {"X-Lakehouse-Client: x", "Origin: null"},
         NULL, 403},
        {"client header, cross-site fetch", "POST", run,
         {"X-Lakehouse-Client: x", "Sec-Fetch-Site: cross-site"}, NULL, 403},
        {"JSON, foreign Origin", "POST", run,
         {"Content-Type: application/json", "Origin: http://evil.test"}, "{}", 403},
        /* the other state-changing routes */
        {"event ack, text/plain", "POST", ack, {"Content-Type: text/plain", origin_port}, "x",
         403},
        {"event ack, no headers", "POST", ack, {NULL}, NULL, 403},
        {"delete, no headers", "DELETE", one, {NULL}, NULL, 403},
        {"delete, form", "DELETE", one, {"Content-Type: application/x-www-form-urlencoded"},
         "a=b", 403},
        {"put, text/plain", "PUT", one, {"Content-Type: text/plain", "Origin: http://evil.test"},
         def, 415},
        {"create, text/plain", "POST", "/api/schedules", {"Content-Type: text/plain"}, def, 415},
        {"index bind, form", "POST", "/api/indexes",
         {"Content-Type: application/x-www-form-urlencoded"}, "index=i&dataset=customers", 415},
        {"index unbind, no headers", "DELETE", "/api/indexes/customers/vec", {NULL}, NULL, 403},
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        const struct attack *a = &attacks[i];
        assert_true(http_do_ex(&d, a->method, a->path, a->headers, a->body,
                               a->body ? strlen(a->body) : 0, &r));
        if (r.status != a->status)
            fail_msg("%s: %s %s -> %ld (want %ld) %s", a->what, a->method, a->path, r.status,
                     a->status, r.body);
        json_t *j = json_loads(r.body, 0, NULL);
        if (!json_is_string(json_object_get(j, "error")))
            fail_msg("%s: not a JSON error: %s", a->what, r.body);
        json_decref(j);
        printf("refused (%ld): %s: %s", r.status, a->what, r.body);
        reply_free(&r);
    }
    /* nothing happened: no run, the event pending, the binding and the
     * schedule still there (read after a pause, as a fired run records
     * asynchronously) */
    usleep(500 * 1000);
    assert_int_equal(runs_total(SCHED), 0);
    json_t *s = get_json("/api/schedules/" SCHED);
    assert_int_equal(json_integer_value(json_object_get(s, "run_count")), 0);
    assert_false(json_is_true(json_object_get(s, "running")));
    json_decref(s);
    assert_true(event_pending(event_id));
    json_t *ix = get_json("/api/indexes?dataset=customers");
    assert_int_equal(json_array_size(json_object_get(ix, "indexes")), 1);
    json_decref(ix);

    /* the daemon's own pages and the CLI's client: the run fires once */
    const char *own[] = {"X-Lakehouse-Client: dashboard", origin_self,
                         "Sec-Fetch-Site: same-origin", NULL};
    assert_true(http_do_ex(&d, "POST", run, own, NULL, 0, &r));
    if (r.status != 202)
        fail_msg("own origin: %ld %s", r.status, r.body);
    reply_free(&r);
    for (int i = 0; runs_total(SCHED) < 1; i++) {
        if (i > 300)
            fail_msg("the allowed run was not recorded within 30 s");
        usleep(100 * 1000);
    }
    usleep(300 * 1000);
    assert_int_equal(runs_total(SCHED), 1);
    /* JSON body, no custom header (a script with curl -H application/json) */
    const char *json_only[] = {"Content-Type: application/json", NULL};
    assert_true(http_do_ex(&d, "POST", ack, json_only, NULL, 0, &r));
    if (r.status != 200)
        fail_msg("ack with a JSON type: %ld %s", r.status, r.body);
    reply_free(&r);
    assert_false(event_pending(event_id));
    /* Sec-Fetch-Site: none is a user typing the URL: fine with the header */
    const char *typed[] = {"X-Lakehouse-Client: x", "Sec-Fetch-Site: none", NULL};
    assert_true(http_do_ex(&d, "DELETE", one, typed, NULL, 0, &r));
    assert_int_equal(r.status, 204);
    reply_free(&r);
}

/* With a token, a bearer header alone still does (a browser cannot send
 * one cross-site without a preflight), and a foreign origin is still out. */
static void test_token_still_works(void **state)
{
    (void)state;
    struct daemon t;
    /* a store of its own: the suite's daemon holds `dir` (one daemon per store) */
    char tdir[300];
    snprintf(tdir, sizeof tdir, "%s/token-store", dir);
    const char *args[] = {"--data", tdir, "--token", "tok-9f", NULL};
    assert_true(daemon_start(&t, args, NULL));
    struct reply r;
    const char *bearer[] = {"Authorization: Bearer tok-9f", NULL};
    assert_true(http_do_ex(&t, "POST", "/api/schedules/ghost/run", bearer, NULL, 0, &r));
    if (r.status != 404) /* through the guard to the handler */
        fail_msg("bearer only: %ld %s", r.status, r.body);
    reply_free(&r);
    const char *nobearer[] = {"X-Lakehouse-Client: x", NULL};
    assert_true(http_do_ex(&t, "POST", "/api/schedules/ghost/run", nobearer, NULL, 0, &r));
    assert_int_equal(r.status, 401);
    reply_free(&r);
    const char *foreign[] = {"Authorization: Bearer tok-9f", "Origin: http://evil.test", NULL};
    assert_true(http_do_ex(&t, "POST", "/api/schedules/ghost/run", foreign, NULL, 0, &r));
    assert_int_equal(r.status, 403);
    reply_free(&r);
    assert_int_equal(daemon_stop(&t, SIGTERM), 0);
}

/* ------------------------------------------------------------ Host */

static void test_host(void **state)
{
    (void)state;
    struct {
        char host[160];
        long status;
    } cases[] = {
        {"Host: %s", 200},                     /* the listen address */
        {"Host: localhost:%d", 200},
        {"Host: LocalHost:%d", 200},
        {"Host: 127.0.0.1:%d", 200},
        {"Host: [::1]:%d", 200},
        {"Host: localhost:%d1", 421},          /* another port */
        {"Host: attacker.example:%d", 421},    /* a rebound name */
        {"Host: attacker.example", 421},
        {"Host: 127.0.0.1", 421},              /* port 80 is not ours */
        {"Host: 10.1.2.3:%d", 421},            /* listening on 127.0.0.1 only */
        {"Host: lakehouse.test", 200},         /* allowed_hosts, any port */
        {"Host: LAKEHOUSE.test:1234", 200},
        {"Host: proxy.test:8443", 200},        /* allowed with that port only */
        {"Host: proxy.test:8444", 421},
        {"Host: proxy.test", 421},
        {"Host: lakehouse.test.evil.example", 421},
        {"Host: localhost:99999", 421},
        {"Host: [::1", 421},
    };
    const char *paths[] = {"/api/health", "/api/datasets", "/", "/metrics"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[200];
        const char *h = buf;
        if (strstr(cases[i].host, "%s"))
            snprintf(buf, sizeof buf, "Host: %s", d.addr);
        else if (strstr(cases[i].host, "%d"))
            snprintf(buf, sizeof buf, "%.*s%d%s", (int)(strstr(cases[i].host, "%d") - cases[i].host),
                     cases[i].host, d.port, strstr(cases[i].host, "%d") + 2);
        else
            h = cases[i].host;
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
            const char *hdrs[] = {h, NULL};
            struct reply r;
            assert_true(http_do_ex(&d, "GET", paths[p], hdrs, NULL, 0, &r));
            if (r.status != cases[i].status)
                fail_msg("%s GET %s: %ld (want %ld) %s", h, paths[p], r.status, cases[i].status,
                         r.body);
            if (r.status == 421) {
                json_t *j = json_loads(r.body, 0, NULL);
                assert_true(json_is_string(json_object_get(j, "error")));
                json_decref(j);
            }
            reply_free(&r);
        }
    }
    /* an allowed name is also an allowed Origin */
    const char *proxied[] = {"Host: lakehouse.test", "Origin: https://lakehouse.test",
                             "X-Lakehouse-Client: dashboard", NULL};
    struct reply r;
    assert_true(http_do_ex(&d, "POST", "/api/schedules/ghost/run", proxied, NULL, 0, &r));
    if (r.status != 404)
        fail_msg("allowed origin: %ld %s", r.status, r.body);
    reply_free(&r);
}

/* ------------------------------------------------------------ request line */

/* Sends req on a fresh connection and reads the answer's head; the
 * status code, or 0 when the connection closed without one. */
static int raw_status(const char *req, size_t n, char *head, size_t cap)
{
    int fd = raw_connect(&d);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)w;
    }
    size_t got = 0;
    head[0] = '\0';
    while (got + 1 < cap) {
        ssize_t k = recv(fd, head + got, cap - 1 - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
        head[got] = '\0';
        if (strstr(head, "\r\n\r\n") && strchr(strstr(head, "\r\n\r\n"), '}'))
            break;
    }
    close(fd);
    return strncmp(head, "HTTP/1.", 7) == 0 ? (int)strtol(head + 9, NULL, 10) : 0;
}

static char *build(size_t cap)
{
    char *p = malloc(cap);
    assert_non_null(p);
    return p;
}

static void test_request_line_limits(void **state)
{
    (void)state;
    char head[4096];
    size_t cap = 1u << 20;
    char *req = build(cap);
    /* N query arguments: 16 are fine, 17 and a thousand are a JSON 400,
     * a query string over 8 KiB a JSON 414; past the connection's buffer
     * libmicrohttpd answers 414 itself (an HTML body) */
    static const struct {
        int nargs;
        int status;
        bool json;
    } qa[] = {{16, 200, true},   {17, 400, true},   {1000, 400, true},
              {1100, 400, true}, {3000, 414, true}, {20000, 414, false}};
    for (size_t i = 0; i < sizeof qa / sizeof qa[0]; i++) {
        size_t o = (size_t)snprintf(req, cap, "GET /api/events?");
        for (int a = 0; a < qa[i].nargs && o < cap - 200; a++)
            o += (size_t)snprintf(req + o, cap - o, "%sa%d=1", a ? "&" : "", a);
        o += (size_t)snprintf(req + o, cap - o,
                              " HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", d.addr);
        int st = raw_status(req, o, head, sizeof head);
        printf("%d query arguments (%zu-byte request): %d\n", qa[i].nargs, o, st);
        if (st != qa[i].status)
            fail_msg("%d query arguments: status %d (want %d): %s", qa[i].nargs, st,
                     qa[i].status, head);
        if (st >= 400 && qa[i].json && !strstr(head, "application/json"))
            fail_msg("%d query arguments: not a JSON error: %s", qa[i].nargs, head);
        if (st == 400 && !strstr(head, "\"field\":\"query\""))
            fail_msg("%d query arguments: no field: %s", qa[i].nargs, head);
    }
    /* a thousand bare arguments ("a&a&a..."), the cheapest for the sender */
    size_t o = (size_t)snprintf(req, cap, "GET /api/health?");
    for (int a = 0; a < 4000; a++)
        o += (size_t)snprintf(req + o, cap - o, "%sa", a ? "&" : "");
    o += (size_t)snprintf(req + o, cap - o, " HTTP/1.1\r\nHost: %s\r\n\r\n", d.addr);
    int st = raw_status(req, o, head, sizeof head);
    if (st != 400)
        fail_msg("4000 bare arguments: %d %s", st, head);

    /* headers over the per-connection memory: answered (431), not closed */
    o = (size_t)snprintf(req, cap, "GET /api/health HTTP/1.1\r\nHost: %s\r\n", d.addr);
    for (int h = 0; h < 3000; h++)
        o += (size_t)snprintf(req + o, cap - o, "X-H%d: y\r\n", h);
    o += (size_t)snprintf(req + o, cap - o, "\r\n");
    st = raw_status(req, o, head, sizeof head);
    if (st != 431)
        fail_msg("3000 headers: %d %s", st, head);
    o = (size_t)snprintf(req, cap, "GET /api/health HTTP/1.1\r\nHost: %s\r\nX-Big: ", d.addr);
    memset(req + o, 'a', 200000);
    o += 200000;
    o += (size_t)snprintf(req + o, cap - o, "\r\n\r\n");
    st = raw_status(req, o, head, sizeof head);
    if (st != 431)
        fail_msg("a 200 kB header: %d %s", st, head);
    /* a request line longer than the connection's buffer */
    o = (size_t)snprintf(req, cap, "GET /api/health?x=");
    memset(req + o, 'a', 200000);
    o += 200000;
    o += (size_t)snprintf(req + o, cap - o, " HTTP/1.1\r\nHost: %s\r\n\r\n", d.addr);
    st = raw_status(req, o, head, sizeof head);
    if (st != 414)
        fail_msg("a 200 kB request line: %d %s", st, head);
    free(req);
    /* and the daemon still answers */
    struct reply r;
    assert_true(http_do(&d, "GET", "/api/health", NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_site_refused),
        cmocka_unit_test(test_token_still_works),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_request_line_limits),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
