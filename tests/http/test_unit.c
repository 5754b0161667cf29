/*
 * test_unit.c — src/http in process, no sockets: the metrics registry and
 * its text format, config loading and precedence, percent-decoding, the
 * bearer check, the router (head + run) over a scratch catalog, and the
 * embedded OpenAPI document against the router's tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static bool has_line(const struct lh_buf *b, const char *line)
{
    size_t n = strlen(line);
    const char *p = (const char *)b->data, *end = p + b->len;
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        size_t l = q ? (size_t)(q - p) : (size_t)(end - p);
        if (l == n && memcmp(p, line, n) == 0)
            return true;
        p += l + 1;
    }
    return false;
}

/* ------------------------------------------------------------ metrics */

static void test_metrics_render(void **state)
{
    (void)state;
    struct lh_app_metrics *m;
    struct lh_error err;
    assert_int_equal(lh_app_metrics_create(&m, &err), LH_OK);
    const char *rs[2] = {"/api/health", "200"};
    lh_app_metrics_add(m, "lakehouse_http_requests_total", rs, 1);
    lh_app_metrics_add(m, "lakehouse_http_requests_total", rs, 2);
    lh_app_metrics_add(m, "lakehouse_http_requests_total", rs, -5);  /* counters never fall */
    lh_app_metrics_set(m, "lakehouse_http_requests_total", rs, 100); /* wrong type: ignored */
    lh_app_metrics_add(m, "no_such_metric", NULL, 1);
    lh_app_metrics_run_started(m);
    lh_app_metrics_run_started(m);
    lh_app_metrics_run_finished(m, "hourly \"q\"\\\n", "success", 11, 2048, 0.42);
    lh_app_metrics_run_finished(m, "nightly", "failure", 0, 0, 75);
    lh_app_metrics_schedule_times(m, "nightly", 1776390964000000, 0);
    lh_app_metrics_schedule_times(m, "gone", 1776390964000000, 1776390000500000);
    lh_app_metrics_schedule_forget(m, "gone");

    struct lh_buf b;
    lh_buf_init(&b, 0);
    lh_app_metrics_render(m, &b);
    assert_true(lh_buf_ok(&b));
    static const char *want[] = {
        "# TYPE lakehouse_http_requests_total counter",
        "lakehouse_http_requests_total{route=\"/api/health\",status=\"200\"} 3",
        "lakehouse_runs_total{schedule=\"hourly \\\"q\\\"\\\\\\n\",outcome=\"success\"} 1",
        "lakehouse_runs_total{schedule=\"nightly\",outcome=\"failure\"} 1",
        "lakehouse_rows_ingested_total 11",
        "lakehouse_bytes_written_total 2048",
        "lakehouse_runs_in_flight 0",
        "# TYPE lakehouse_run_duration_seconds histogram",
        "lakehouse_run_duration_seconds_bucket{le=\"0.1\"} 0",
        "lakehouse_run_duration_seconds_bucket{le=\"0.5\"} 1",
        "lakehouse_run_duration_seconds_bucket{le=\"60\"} 1",
        "lakehouse_run_duration_seconds_bucket{le=\"120\"} 2",
        "lakehouse_run_duration_seconds_bucket{le=\"+Inf\"} 2",
        "lakehouse_run_duration_seconds_sum 75.42",
        "lakehouse_run_duration_seconds_count 2",
        "lakehouse_schedule_next_run_timestamp_seconds{schedule=\"nightly\"} 1776390964",
        "# TYPE lakehouse_schedule_last_success_timestamp_seconds gauge",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_line(&b, want[i]))
            fail_msg("missing line %s in\n%.*s", want[i], (int)b.len, (char *)b.data);
    lh_buf_cstr(&b);
    assert_null(strstr((char *)b.data, "gone"));
    assert_null(strstr((char *)b.data, "last_success_timestamp_seconds{"));
    lh_buf_reset(&b);

    static const char *const lbl[] = {"kind"};
    static const double bk[] = {1, 2};
    assert_int_equal(lh_app_metrics_register(m, "lakehouse_runs_total", "", LH_APP_COUNTER, NULL,
                                              0, NULL, 0, &err),
                     LH_E_EXISTS);
    assert_int_equal(lh_app_metrics_register(m, "9bad", "", LH_APP_GAUGE, NULL, 0, NULL, 0, &err),
                     LH_E_INVAL);
    static const char *const le[] = {"le"};
    assert_int_equal(lh_app_metrics_register(m, "x_h", "", LH_APP_HISTOGRAM, le, 1, bk, 2, &err),
                     LH_E_INVAL);
    static const double down[] = {2, 1};
    assert_int_equal(
        lh_app_metrics_register(m, "x_h", "", LH_APP_HISTOGRAM, lbl, 1, down, 2, &err),
        LH_E_INVAL);
    assert_int_equal(
        lh_app_metrics_register(m, "x_h", "help\nwith \\", LH_APP_HISTOGRAM, lbl, 1, bk, 2, &err),
        LH_OK);
    const char *v[1] = {"a"};
    lh_app_metrics_observe(m, "x_h", v, 1.5);
    lh_buf_init(&b, 0);
    lh_app_metrics_render(m, &b);
    assert_true(has_line(&b, "# HELP x_h help\\nwith \\\\"));
    assert_true(has_line(&b, "x_h_bucket{kind=\"a\",le=\"1\"} 0"));
    assert_true(has_line(&b, "x_h_bucket{kind=\"a\",le=\"2\"} 1"));
    assert_true(has_line(&b, "x_h_count{kind=\"a\"} 1"));
    lh_buf_reset(&b);
    lh_app_metrics_destroy(m);
}

static void *hammer(void *arg)
{
    struct lh_app_metrics *m = arg;
    const char *v[2] = {"r", "200"};
    for (int i = 0; i < 20000; i++) {
        lh_app_metrics_add(m, "lakehouse_http_requests_total", v, 1);
        lh_app_metrics_observe(m, "lakehouse_run_duration_seconds", NULL, 1);
    }
    return NULL;
}

static void test_metrics_threads(void **state)
{
    (void)state;
    struct lh_app_metrics *m;
    struct lh_error err;
    assert_int_equal(lh_app_metrics_create(&m, &err), LH_OK);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, m), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct lh_buf b;
    lh_buf_init(&b, 0);
    lh_app_metrics_render(m, &b);
    assert_true(has_line(&b, "lakehouse_http_requests_total{route=\"r\",status=\"200\"} 80000"));
    assert_true(has_line(&b, "lakehouse_run_duration_seconds_count 80000"));
    lh_buf_reset(&b);
    lh_app_metrics_destroy(m);
}

/* ------------------------------------------------------------ config */

struct cfg_case {
    const char *json;
    enum lh_status status;
    const char *err_has;
};

static void test_config_file(void **state)
{
    (void)state;
    static const struct cfg_case cases[] = {
        {"{\"listen\":\"0.0.0.0:9000\",\"token\":\"abc\",\"body_limit\":\"2MiB\","
         "\"workers\":8,\"retention\":{\"keep_versions\":3},\"log_format\":\"json\","
         "\"auth_open\":[\"/api/health\"],\"secret_key_path\":\"/k\","
         "\"http\":{\"threads\":2,\"connection_limit\":10,\"per_ip_limit\":5,"
         "\"timeout_secs\":7,\"shutdown_secs\":3,\"connection_memory\":\"32KiB\"},"
         "\"sql\":{\"memory_limit\":\"512MiB\",\"threads\":3,\"timeout_ms\":9000,"
         "\"max_rows\":1000,\"cache_dir\":\"/var/cache/lh\"}}",
         LH_OK, NULL},
        {"{\"sql\":{\"memory\":1}}", LH_E_INVAL, "sql.memory"},
        {"{\"sql\":{\"threads\":-1}}", LH_E_INVAL, "sql.threads"},
        {"{\"tokne\":\"x\"}", LH_E_INVAL, "tokne"},
        {"{\"http\":{\"thread\":1}}", LH_E_INVAL, "http.thread"},
        {"{\"listen\":8080}", LH_E_INVAL, "listen"},
        {"{\"body_limit\":-1}", LH_E_INVAL, "body_limit"},
        {"{\"auth_open\":[\"/api/datasets\"]}", LH_E_INVAL, "/api/datasets"},
        {"{\"log_format\":\"xml\"}", LH_E_INVAL, "xml"},
        {"{\"retention\":{\"keep\":1}}", LH_E_INVAL, "retention"},
        {"[1]", LH_E_FORMAT, "object"},
        {"{\"listen\":", LH_E_FORMAT, "line"},
        {"{\"buckets\":{\"arch\":{\"url\":\"/tmp/x\"}}}", LH_OK, NULL},
        {"{\"allowed_hosts\":[\"lh.example.com\",\"10.0.0.5:8080\",\"[::1]:9\",\"*\"],"
         "\"sql\":{\"timeout_ms\":5000},\"http\":{\"sql_workers\":3,\"sql_queue\":7}}",
         LH_OK, NULL},
        {"{\"allowed_hosts\":\"lh.example.com\"}", LH_E_INVAL, "allowed_hosts"},
        {"{\"allowed_hosts\":[\"http://lh.example.com\"]}", LH_E_INVAL, "http://lh.example.com"},
        {"{\"allowed_hosts\":[\"lh:0\"]}", LH_E_INVAL, "lh:0"},
        {"{\"allowed_hosts\":[\"a b\"]}", LH_E_INVAL, "a b"},
        {"{\"allowed_hosts\":[\"[::1\"]}", LH_E_INVAL, "[::1"},
        {"{\"allowed_hosts\":[5]}", LH_E_INVAL, "allowed_hosts"},
        {"{\"http\":{\"sql_workers\":-1}}", LH_E_INVAL, "http.sql_workers"},
        {"{\"sql\":{\"timeout_ms\":\"x\"}}", LH_E_INVAL, "sql.timeout_ms"},
        {"{\"sql\":5}", LH_E_INVAL, "sql"},
        {"{\"sql\":{\"cache_dir\":5}}", LH_E_INVAL,
         "config key \"sql.cache_dir\": expected a path"},
        {"{\"sql\":{\"cache\":\"/x\"}}", LH_E_INVAL, "unknown config key \"sql.cache\""},
        {"{\"http\":{\"cache_dir\":\"/x\"}}", LH_E_INVAL, "unknown config key \"http.cache_dir\""},
        {"{\"http\":[]}", LH_E_INVAL, "config key \"http\": expected an object"},
        {"{\"log_format\":1}", LH_E_INVAL, "config key \"log_format\": expected a string"},
        {"{\"token_file\":1}", LH_E_INVAL, "config key \"token_file\": expected a string"},
        {"{\"store\":1}", LH_E_INVAL, "config key \"store\": expected a string"},
    };
    char path[300];
    snprintf(path, sizeof path, "%s/c.json", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].json, f);
        fclose(f);
        struct lh_app_config c;
        struct lh_error err;
        lh_app_config_init(&c);
        enum lh_status s = lh_app_config_load(&c, path, &err);
        if (s != cases[i].status)
            fail_msg("case %zu: %s: status %d (%s)", i, cases[i].json, s, s ? err.msg : "ok");
        if (cases[i].err_has && !strstr(err.msg, cases[i].err_has))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].err_has);
        if (i == 0) {
            assert_string_equal(c.listen, "0.0.0.0:9000");
            assert_string_equal(c.token, "abc");
            assert_int_equal(c.body_limit, 2u << 20);
            assert_int_equal(c.workers, 8);
            assert_int_equal(c.keep_versions, 3);
            assert_true(c.log_json);
            assert_int_equal(c.open_routes, LH_APP_OPEN_HEALTH);
            assert_int_equal(c.threads, 2);
            assert_int_equal(c.connection_limit, 10);
            assert_int_equal(c.per_ip_limit, 5);
            assert_int_equal(c.timeout_secs, 7);
            assert_int_equal(c.shutdown_secs, 3);
            assert_int_equal(c.connection_memory, 32u << 10);
            assert_int_equal(c.sql_memory_limit, 512u << 20);
            assert_int_equal(c.sql_threads, 3);
            assert_int_equal(c.sql_timeout_ms, 9000);
            assert_int_equal(c.sql_max_rows, 1000);
            assert_string_equal(c.sql_cache_dir, "/var/cache/lh");
            /* the environment overrides the file */
            setenv("LAKEHOUSE_LISTEN", "127.0.0.1:7000", 1);
            setenv("LAKEHOUSE_TOKEN", "envtok", 1);
            setenv("LAKEHOUSE_LOG_FORMAT", "text", 1);
            setenv("LAKEHOUSE_BODY_LIMIT", "4096", 1);
            assert_int_equal(lh_app_config_apply_env(&c, &err), LH_OK);
            assert_string_equal(c.listen, "127.0.0.1:7000");
            assert_string_equal(c.token, "envtok");
            assert_false(c.log_json);
            assert_int_equal(c.body_limit, 4096);
            setenv("LAKEHOUSE_BODY_LIMIT", "lots", 1);
            assert_int_equal(lh_app_config_apply_env(&c, &err), LH_E_INVAL);
            unsetenv("LAKEHOUSE_LISTEN");
            unsetenv("LAKEHOUSE_TOKEN");
            unsetenv("LAKEHOUSE_LOG_FORMAT");
            unsetenv("LAKEHOUSE_BODY_LIMIT");
        }
        if (strstr(cases[i].json, "buckets"))
            assert_string_equal(c.buckets_config, path);
        if (s == LH_OK && strstr(cases[i].json, "allowed_hosts")) {
            assert_int_equal(c.nallowed_hosts, 4);
            assert_string_equal(c.allowed_hosts[1], "10.0.0.5:8080");
            assert_int_equal(c.sql_timeout_ms, 5000);
            assert_int_equal(c.sql_workers, 3);
            assert_int_equal(c.sql_queue, 7);
            setenv("LAKEHOUSE_ALLOWED_HOSTS", "a.example,b.example:1", 1);
            assert_int_equal(lh_app_config_apply_env(&c, &err), LH_OK);
            assert_int_equal(c.nallowed_hosts, 2);
            assert_string_equal(c.allowed_hosts[1], "b.example:1");
            setenv("LAKEHOUSE_ALLOWED_HOSTS", "a.example,bad host", 1);
            assert_int_equal(lh_app_config_apply_env(&c, &err), LH_E_INVAL);
            assert_non_null(strstr(err.msg, "LAKEHOUSE_ALLOWED_HOSTS"));
            unsetenv("LAKEHOUSE_ALLOWED_HOSTS");
        }
        lh_app_config_reset(&c);
    }
    unlink(path);
}

/* ------------------------------------------------------------ browsers */

/* The Host rule (DNS rebinding) against a server "listening" on a port. */
static void test_host_rule(void **state)
{
    (void)state;
    static const struct {
        const char *listen, *address, *allowed; /* allowed: one entry or NULL */
        const char *host;
        unsigned dport;
        bool ok;
    } cases[] = {
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "127.0.0.1:8080", 80, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost:8080", 80, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "LOCALHOST:8080", 80, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "[::1]:8080", 80, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost:8081", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost", 80, false},
        {"127.0.0.1:80", "127.0.0.1:80", NULL, "localhost", 80, true},
        {"127.0.0.1:443", "127.0.0.1:443", NULL, "localhost", 443, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "evil.example:8080", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost.evil.example:8080", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "10.0.0.5:8080", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, ":8080", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost:", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost:80x", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "localhost:0", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "[::1]x:8080", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", NULL, "[::1", 80, false},
        /* a wildcard listener: any address, no name */
        {":8080", "0.0.0.0:8080", NULL, "10.0.0.5:8080", 80, true},
        {":8080", "0.0.0.0:8080", NULL, "192.168.1.1:8080", 80, true},
        {":8080", "0.0.0.0:8080", NULL, "[fe80::1]:8080", 80, true},
        {":8080", "0.0.0.0:8080", NULL, "10.0.0.5:9090", 80, false},
        {":8080", "0.0.0.0:8080", NULL, "10.0.0.256:8080", 80, false},
        {":8080", "0.0.0.0:8080", NULL, "myhost:8080", 80, false},
        {"[::]:8080", "[::]:8080", NULL, "10.0.0.5:8080", 80, true},
        {"[::]:8080", "[::]:8080", NULL, "[evil.example]:8080", 80, false},
        {"[::]:8080", "[::]:8080", NULL, "[::ffff:10.0.0.5]:8080", 80, true},
        /* the configured listen name */
        {"myhost.lan:8080", "192.168.1.9:8080", NULL, "myhost.lan:8080", 80, true},
        {"myhost.lan:8080", "192.168.1.9:8080", NULL, "192.168.1.9:8080", 80, true},
        {"myhost.lan:8080", "192.168.1.9:8080", NULL, "10.0.0.5:8080", 80, false},
        /* allowed_hosts */
        {"127.0.0.1:8080", "127.0.0.1:8080", "lh.example.com", "lh.example.com", 80, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", "lh.example.com", "LH.example.com:443", 80, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", "lh.example.com", "x.lh.example.com", 80, false},
        {"127.0.0.1:8080", "127.0.0.1:8080", "lh.example.com:8443", "lh.example.com:8443", 80,
         true},
        {"127.0.0.1:8080", "127.0.0.1:8080", "lh.example.com:8443", "lh.example.com", 443,
         false},
        {"127.0.0.1:8080", "127.0.0.1:8080", "lh.example.com:443", "lh.example.com", 443, true},
        {"127.0.0.1:8080", "127.0.0.1:8080", "*", "anything.example:1", 80, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_app_config c;
        struct lh_error err;
        lh_app_config_init(&c);
        c.data_dir = dir;
        c.listen = cases[i].listen;
        if (cases[i].allowed)
            assert_int_equal(lh_app_config_allow_host(&c, cases[i].allowed, &err), LH_OK);
        struct lh_http_server *srv;
        assert_int_equal(lh_http_server_create(&c, NULL, NULL, &srv, &err), LH_OK);
        snprintf(srv->address, sizeof srv->address, "%s", cases[i].address);
        srv->port = (unsigned)strtoul(strrchr(cases[i].address, ':') + 1, NULL, 10);
        bool ok = http_host_allowed(srv, cases[i].host, strlen(cases[i].host), cases[i].dport);
        if (ok != cases[i].ok)
            fail_msg("case %zu: listen %s, Host '%s': %s", i, cases[i].listen, cases[i].host,
                     ok ? "allowed" : "refused");
        lh_http_server_destroy(srv);
        lh_app_config_reset(&c);
    }
}

static void test_query_parse(void **state)
{
    (void)state;
    static const struct {
        const char *qs;
        size_t n;          /* items expected */
        bool overflow;
        const char *k1, *v1; /* the second item, when n >= 2 */
    } cases[] = {
        {"", 0, false, NULL, NULL},
        {"a=1", 1, false, NULL, NULL},
        {"a=1&b=2", 2, false, "b", "2"},
        {"a&b", 2, false, "b", NULL},
        {"a=1&&b=", 2, false, "b", ""},
        {"&&&", 0, false, NULL, NULL},
        {"a=1&b=x%20y+z", 2, false, "b", "x%20y+z"}, /* raw: decoded on use */
        {"a=b=c&d=e", 2, false, "d", "e"},
        {"1&2&3&4&5&6&7&8&9&10&11&12&13&14&15&16", 16, false, "2", NULL},
        {"1&2&3&4&5&6&7&8&9&10&11&12&13&14&15&16&17", 16, true, "2", NULL},
    };
    struct lh_app_config c;
    struct lh_error err;
    lh_app_config_init(&c);
    c.data_dir = dir;
    struct lh_http_server *srv;
    assert_int_equal(lh_http_server_create(&c, NULL, NULL, &srv, &err), LH_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_req req;
        http_req_init(&req, srv);
        http_query_parse(&req, cases[i].qs, strlen(cases[i].qs));
        if (req.nquery != cases[i].n || req.query_overflow != cases[i].overflow)
            fail_msg("case %zu '%s': %zu items%s", i, cases[i].qs, req.nquery,
                     req.query_overflow ? ", overflow" : "");
        if (cases[i].k1) {
            assert_string_equal(req.query[1].key, cases[i].k1);
            if (cases[i].v1)
                assert_string_equal(req.query[1].value, cases[i].v1);
            else
                assert_null(req.query[1].value);
        }
        http_req_reset(&req);
    }
    /* over 8 KiB: 414 from the head */
    static char big[HTTP_MAX_QUERY_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    struct http_req req;
    struct http_resp resp;
    http_req_init(&req, srv);
    http_resp_init(&resp);
    http_query_parse(&req, big, strlen(big));
    assert_true(req.uri_too_long);
    req.method = "GET";
    req.raw_path = "/api/health";
    assert_true(http_request_head(&req, &resp));
    assert_int_equal(resp.status, 414);
    http_req_reset(&req);
    http_resp_reset(&resp);
    lh_http_server_destroy(srv);
    lh_app_config_reset(&c);
}

/* The cross-site rule, one row per request a browser or a client sends. */
static void test_cross_site_rule(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *ctype, *client, *auth, *origin, *sfs, *host;
        unsigned status; /* after head + run */
    } cases[] = {
        {"POST", "/api/events/a%2F1-x/ack", NULL, NULL, NULL, NULL, NULL, NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", "text/plain", NULL, NULL, NULL, NULL, NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, NULL, NULL, NULL, 404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "", NULL, NULL, NULL, NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", "application/json", NULL, NULL, NULL, NULL, NULL,
         404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, NULL, "Bearer x", NULL, NULL, NULL, 404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, "http://localhost:8080", NULL,
         "localhost:8080", 404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, "http://localhost:8080/", NULL,
         NULL, 404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, "http://localhost:9", NULL, NULL,
         403},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, "http://localhost:8080/x", NULL,
         NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, "file://", NULL, NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, "null", NULL, NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, NULL, "same-origin", NULL, 404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, NULL, "none", NULL, 404},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, NULL, "same-site", NULL, 403},
        {"POST", "/api/events/a%2F1-x/ack", NULL, "cli", NULL, NULL, "cross-site", NULL, 403},
        {"DELETE", "/api/indexes/a/b", NULL, NULL, NULL, NULL, NULL, NULL, 403},
        {"DELETE", "/api/indexes/a/b", NULL, "x", NULL, NULL, NULL, NULL, 404},
        /* JSON routes: a form body is 415 before the rule */
        {"POST", "/api/indexes", "application/x-www-form-urlencoded", NULL, NULL, NULL, NULL,
         NULL, 415},
        /* reads are not state changes */
        {"GET", "/api/datasets", NULL, NULL, NULL, "http://evil.example", "cross-site", NULL, 200},
        /* Host, before everything */
        {"GET", "/api/datasets", NULL, NULL, NULL, NULL, NULL, "evil.example:8080", 421},
        {"GET", "/nothing", NULL, NULL, NULL, NULL, NULL, "evil.example:8080", 421},
        {"GET", "/api/datasets", NULL, NULL, NULL, NULL, NULL, "127.0.0.1:8080", 200},
    };
    struct lh_app_config c;
    struct lh_error err;
    lh_app_config_init(&c);
    c.data_dir = dir;
    c.listen = "127.0.0.1:8080";
    struct lh_http_server *srv;
    assert_int_equal(lh_http_server_create(&c, NULL, NULL, &srv, &err), LH_OK);
    snprintf(srv->address, sizeof srv->address, "127.0.0.1:8080");
    srv->port = 8080;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_req req;
        struct http_resp resp;
        http_req_init(&req, srv);
        http_resp_init(&resp);
        req.method = cases[i].method;
        req.raw_path = cases[i].path;
        req.content_type = cases[i].ctype;
        req.client = cases[i].client;
        req.authorization = cases[i].auth;
        req.origin = cases[i].origin;
        req.sec_fetch_site = cases[i].sfs;
        req.host = cases[i].host;
        if (cases[i].ctype && strstr(cases[i].ctype, "json")) {
            req.body = (const uint8_t *)"{}";
            req.body_len = 2;
        }
        if (!http_request_head(&req, &resp))
            http_request_run(&req, &resp);
        lh_buf_cstr(&resp.body);
        if (resp.status != cases[i].status)
            fail_msg("case %zu %s %s: %u (want %u) %s", i, cases[i].method, cases[i].path,
                     resp.status, cases[i].status, (char *)resp.body.data);
        http_req_reset(&req);
        http_resp_reset(&resp);
    }
    lh_http_server_destroy(srv);
    lh_app_config_reset(&c);
}

/* ------------------------------------------------------------ helpers */

static void test_pct_decode_and_auth(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } dec[] = {
        {"abc", "abc"}, {"a%2Fb", "a/b"}, {"%2e%2E", ".."}, {"%41%42", "AB"}, {"%", NULL},
        {"%4", NULL},   {"%zz", NULL},    {"a%00b", NULL},  {"", ""},         {"%25", "%"},
    };
    struct lh_arena a;
    lh_arena_init(&a, 0);
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        char *o = http_pct_decode(&a, dec[i].in, strlen(dec[i].in));
        if (!dec[i].out)
            assert_null(o);
        else
            assert_string_equal(o, dec[i].out);
    }
    lh_arena_reset(&a);

    static const struct {
        const char *hdr;
        bool ok;
    } au[] = {
        {"Bearer sekrit", true}, {"bearer sekrit", true},   {"Bearer  sekrit", true},
        {"Bearer sekri", false}, {"Bearer sekrit2", false}, {"Bearer ", false},
        {"sekrit", false},       {"Basic sekrit", false},   {NULL, false},
    };
    for (size_t i = 0; i < sizeof au / sizeof au[0]; i++)
        if (http_auth_ok(au[i].hdr, "sekrit") != au[i].ok)
            fail_msg("auth case %zu (%s)", i, au[i].hdr ? au[i].hdr : "NULL");
}

/* ------------------------------------------------------------ router */

struct rcase {
    const char *method, *path, *query_key, *query_val, *ctype, *auth, *body;
    unsigned status;
    const char *field; /* expected "field" of an error, or NULL */
};

static void run_case(struct lh_http_server *srv, const struct rcase *c, size_t i)
{
    struct http_req req;
    struct http_resp resp;
    http_req_init(&req, srv);
    http_resp_init(&resp);
    req.method = c->method;
    req.raw_path = c->path;
    if (c->query_key) {
        req.query[0] = (struct http_kv){c->query_key, c->query_val};
        req.nquery = 1;
    }
    req.content_type = c->ctype;
    req.authorization = c->auth;
    if (c->body) {
        req.has_length = true;
        req.content_length = strlen(c->body);
        req.body = (const uint8_t *)c->body;
        req.body_len = strlen(c->body);
    }
    if (!http_request_head(&req, &resp))
        http_request_run(&req, &resp);
    lh_buf_cstr(&resp.body);
    if (resp.status != c->status)
        fail_msg("case %zu %s %s: %u (want %u) %s", i, c->method, c->path, resp.status, c->status,
                 resp.body.data ? (char *)resp.body.data : "");
    if (c->field) {
        json_t *j = json_loads((char *)resp.body.data, 0, NULL);
        const char *f = json_string_value(json_object_get(j, "field"));
        if (!f || strcmp(f, c->field) != 0)
            fail_msg("case %zu: field %s, want %s", i, f ? f : "none", c->field);
        json_decref(j);
    }
    http_req_reset(&req);
    http_resp_reset(&resp);
}

static void test_router(void **state)
{
    (void)state;
    static const struct rcase cases[] = {
        {"GET", "/api/health", 0, 0, 0, 0, 0, 200, 0},
        {"GET", "/api/health/", 0, 0, 0, 0, 0, 200, 0},
        {"HEAD", "/api/health", 0, 0, 0, 0, 0, 405, 0},
        {"GET", "/api/datasets", 0, 0, 0, 0, 0, 200, 0},
        {"GET", "/api/datasets/nope", 0, 0, 0, 0, 0, 404, "name"},
        {"GET", "/api/datasets/.hidden", 0, 0, 0, 0, 0, 400, "name"},
        {"GET", "/api/datasets/a%2F..%2Fb", 0, 0, 0, 0, 0, 400, "name"},
        {"GET", "/api/datasets/./x", 0, 0, 0, 0, 0, 400, "path"},
        {"GET", "api/datasets", 0, 0, 0, 0, 0, 400, "path"},
        {"GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", 0, 0, 0, 0, 0, 400, "path"},
        {"GET", "/api/events", "dataset", "x%2F..", 0, 0, 0, 400, "dataset"},
        {"GET", "/api/events", "dataset", "%zz", 0, 0, 0, 400, "dataset"},
        {"GET", "/api/events", "other", "1", 0, 0, 0, 200, 0},
        {"POST", "/api/indexes", 0, 0, "application/json", 0, "{\"index\":\"i\"}", 400, "dataset"},
        {"POST", "/api/indexes", 0, 0, "application/jsonx", 0, "{}", 415, 0},
        {"POST", "/api/indexes", 0, 0, NULL, 0, "{}", 415, 0},
        {"POST", "/api/indexes", 0, 0, "Application/JSON", 0, "{\"index\":1}", 400, "index"},
        {"POST", "/api/indexes", 0, 0, "application/json", 0, "\xff\xfe", 400, 0},
        {"PUT", "/api/datasets/a", 0, 0, 0, 0, 0, 405, 0}, /* DELETE is a route (rm) */
        {"DELETE", "/api/indexes/a/b/c", 0, 0, 0, 0, 0, 404, 0},
    };
    struct lh_app_config c;
    struct lh_error err;
    lh_app_config_init(&c);
    c.data_dir = dir;
    c.body_limit = 64;
    struct lh_http_server *srv;
    assert_int_equal(lh_http_server_create(&c, NULL, NULL, &srv, &err), LH_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(srv, &cases[i], i);
    /* over the limit, declared or not */
    static char big[100];
    memset(big, 'x', sizeof big - 1);
    struct rcase over = {"POST", "/api/indexes", 0, 0, "application/json", 0, big, 413, 0};
    run_case(srv, &over, 100);
    lh_http_server_destroy(srv);

    /* with a token: health open, openapi closed unless opened */
    c.token = "tk";
    c.open_routes = LH_APP_OPEN_HEALTH | LH_APP_OPEN_OPENAPI;
    assert_int_equal(lh_http_server_create(&c, NULL, NULL, &srv, &err), LH_OK);
    static const struct rcase auth[] = {
        {"GET", "/api/health", 0, 0, 0, 0, 0, 200, 0},
        {"GET", "/api/openapi.json", 0, 0, 0, 0, 0, 200, 0},
        {"GET", "/metrics", 0, 0, 0, 0, 0, 401, 0},
        {"GET", "/metrics", 0, 0, 0, "Bearer tk", 0, 200, 0},
        {"GET", "/api/datasets/../x", 0, 0, 0, 0, 0, 401, 0},
    };
    for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++)
        run_case(srv, &auth[i], 200 + i);
    lh_http_server_destroy(srv);
    lh_app_config_reset(&c);
}

/* Error text is shown whole (issue 14): the words "password" and
 * "password_resets" are not secrets; a DSN's password and the daemon's
 * token are, wherever they appear. */
static void test_messages_whole(void **state)
{
    (void)state;
    static const char *const whole[] = {
        "password authentication failed for user \"lh\"",
        "ingest t: postgres 127.0.0.1:5432/db user=lh: authentication failed: connection to "
        "server at \"127.0.0.1\", port 5432 failed: FATAL: password authentication failed for "
        "user \"lh\"",
        "table password_resets not found",
        "Access denied for user 'lh'@'localhost' (using password: YES)",
    };
    char buf[1024];
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        size_t n = http_redact_text(whole[i], buf, sizeof buf);
        if (n != SIZE_MAX && strcmp(buf, whole[i]) != 0)
            fail_msg("changed: %s -> %s", whole[i], buf);
        json_t *o = json_pack("{s:s}", "message", whole[i]);
        http_json_redact(o);
        assert_string_equal(json_string_value(json_object_get(o, "message")), whole[i]);
        json_decref(o);
    }
    /* the values themselves are masked, the words around them kept */
    const char *dsn = "connect postgresql://lh:s3cr3t-Pw@db:5432/x: password authentication failed";
    assert_true(http_redact_text(dsn, buf, sizeof buf) != SIZE_MAX);
    assert_null(strstr(buf, "s3cr3t-Pw"));
    assert_non_null(strstr(buf, "lh:***@db"));
    assert_non_null(strstr(buf, "password authentication failed"));
    /* the run JSON: the token masked as well */
    char mdir[] = "/tmp/lh-http-msg-XXXXXX";
    assert_non_null(mkdtemp(mdir));
    struct lh_app_config c;
    struct lh_error err;
    lh_app_config_init(&c);
    c.data_dir = mdir;
    c.token = "tok-Z9y8x7w6";
    struct lh_http_server *srv;
    assert_int_equal(lh_http_server_create(&c, NULL, NULL, &srv, &err), LH_OK);
    struct lh_app_run_view v;
    memset(&v, 0, sizeof v);
    snprintf(v.run_id, sizeof v.run_id, "20261207T170102.123456Z-0001");
    snprintf(v.reason, sizeof v.reason, "api");
    v.state = LH_APP_RUN_FAILED;
    v.phase = v.status = -1;
    v.estimated_rows = -1;
    snprintf(v.message, sizeof v.message,
             "table password_resets not found (dsn postgresql://lh:s3cr3t-Pw@db/x, header "
             "tok-Z9y8x7w6)");
    json_t *o = http_run_json(srv, &v);
    const char *m = json_string_value(json_object_get(o, "message"));
    assert_non_null(m);
    assert_non_null(strstr(m, "table password_resets not found"));
    assert_null(strstr(m, "s3cr3t-Pw"));
    assert_null(strstr(m, "tok-Z9y8x7w6"));
    assert_true(json_is_null(json_object_get(o, "schedule_id")));
    assert_true(json_is_null(json_object_get(o, "phase")));
    assert_true(json_is_null(json_object_get(o, "estimated_rows")));
    assert_string_equal(json_string_value(json_object_get(o, "state")), "failed");
    json_decref(o);
    lh_http_server_destroy(srv);
    lh_app_config_reset(&c);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", mdir);
    assert_int_equal(system(cmd), 0);
}

static void health_hook(void *ctx, uint64_t *schedules, uint64_t *running)
{
    *schedules = *(uint64_t *)ctx;
    *running = 2;
}

static void test_health_hook(void **state)
{
    (void)state;
    struct lh_app_config c;
    struct lh_error err;
    lh_app_config_init(&c);
    c.data_dir = dir;
    uint64_t n = 1000;
    struct lh_http_hooks h = {.ctx = &n, .health = health_hook};
    struct lh_http_server *srv;
    assert_int_equal(lh_http_server_create(&c, &h, NULL, &srv, &err), LH_OK);
    struct http_req req;
    struct http_resp resp;
    http_req_init(&req, srv);
    http_resp_init(&resp);
    req.method = "GET";
    req.raw_path = "/api/health";
    assert_false(http_request_head(&req, &resp));
    http_request_run(&req, &resp);
    lh_buf_cstr(&resp.body);
    assert_non_null(strstr((char *)resp.body.data, "\"schedules\":1000"));
    assert_non_null(strstr((char *)resp.body.data, "\"running\":2"));
    http_req_reset(&req);
    http_resp_reset(&resp);
    lh_http_server_destroy(srv);
    lh_app_config_reset(&c);
}

/* ------------------------------------------------------------ openapi */

static void test_openapi_covers_router(void **state)
{
    (void)state;
    json_error_t je;
    json_t *doc = json_loadb((const char *)http_openapi_json, http_openapi_json_len, 0, &je);
    if (!doc)
        fail_msg("openapi.json: %s (line %d)", je.text, je.line);
    assert_non_null(json_string_value(json_object_get(doc, "openapi")));
    json_t *paths = json_object_get(doc, "paths");
    size_t routes = 0;
    for (size_t t = 0; http_route_tables[t]; t++) {
        const struct http_route_table *tab = http_route_tables[t];
        for (size_t r = 0; r < tab->n; r++) {
            char m[16];
            size_t k = 0;
            for (; tab->routes[r].method[k] && k < sizeof m - 1; k++)
                m[k] = (char)tolower((unsigned char)tab->routes[r].method[k]);
            m[k] = '\0';
            if (!json_is_object(json_object_get(json_object_get(paths, tab->routes[r].pattern), m)))
                fail_msg("openapi lacks %s %s", tab->routes[r].method, tab->routes[r].pattern);
            routes++;
        }
    }
    assert_true(routes >= 11);
    json_decref(doc);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-http-unit-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    lh_log_set_level(LH_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_metrics_threads),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_pct_decode_and_auth),
        cmocka_unit_test(test_router),
        cmocka_unit_test(test_host_rule),
        cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_cross_site_rule),
        cmocka_unit_test(test_health_hook),
        cmocka_unit_test(test_openapi_covers_router),
        cmocka_unit_test(test_messages_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
