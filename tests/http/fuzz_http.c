/*
 * fuzz_http.c — libFuzzer target for request parsing, routing and JSON
 * bodies: the exact transport-free path the daemon runs
 * (http_request_head, then http_request_run) on a server that is created
 * but never listens, over a scratch data directory.
 *
 * Input: "METHOD RAWPATH[?QUERY]\nCONTENT-TYPE\nAUTHORIZATION\nBODY...";
 * an empty header line means the header is absent. The first byte of
 * AUTHORIZATION being '!' turns on a token ("t") for that input; an odd
 * last byte adds X-Lakehouse-Client (the cross-site rule). The query goes
 * through http_query_parse, the daemon's own splitter.
 *
 * Invariants checked: a status in 200..599 always comes out, and a JSON
 * response parses as JSON.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct lh_http_server *srv, *srv_auth;
static char dir[64];

static void cleanup(void)
{
    char cmd[128];
    lh_http_server_destroy(srv);
    lh_http_server_destroy(srv_auth);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_http: could not remove %s\n", dir);
}

static void init(void)
{
    snprintf(dir, sizeof dir, "/tmp/lh-fuzz-http-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    struct lh_app_config c;
    struct lh_error err;
    lh_app_config_init(&c);
    c.data_dir = dir;
    c.threads = 1;
    c.body_limit = 4096;
    if (lh_http_server_create(&c, NULL, NULL, &srv, &err) != LH_OK)
        abort();
    c.token = "t";
    if (lh_http_server_create(&c, NULL, NULL, &srv_auth, &err) != LH_OK)
        abort();
    lh_app_config_reset(&c);
    lh_log_set_level(LH_LOG_ERROR);
    atexit(cleanup);
}

/* Splits off one line of [*p, end); returns a NUL-terminated copy in a. */
static char *take_line(struct lh_arena *a, const uint8_t **p, const uint8_t *end)
{
    const uint8_t *q = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = q ? (size_t)(q - *p) : (size_t)(end - *p);
    char *s = lh_arena_alloc(a, n + 1);
    if (s)
        for (size_t i = 0; i < n; i++)
            s[i] = (*p)[i] ? (char)(*p)[i] : ' '; /* C strings cannot hold NUL */
    *p = q ? q + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        init();
    struct lh_arena a;
    lh_arena_init(&a, 1u << 22);
    const uint8_t *p = data, *end = data + size;
    char *line = take_line(&a, &p, end);
    char *ctype = take_line(&a, &p, end);
    char *auth = take_line(&a, &p, end);
    if (!line || !ctype || !auth)
        goto done;
    bool use_auth = auth[0] == '!';
    struct http_req req;
    struct http_resp resp;
    http_req_init(&req, use_auth ? srv_auth : srv);
    http_resp_init(&resp);
    char *sp = strchr(line, ' ');
    req.method = line;
    req.raw_path = "";
    if (sp) {
        *sp = '\0';
        req.raw_path = sp + 1;
    }
    char *q = strchr(req.raw_path, '?');
    if (q) {
        *q++ = '\0';
        http_query_parse(&req, q, strlen(q)); /* the daemon's own splitter */
    }
    /* the cross-site rule lets a state-changing request through to the
     * handlers only with one of these: the last input byte picks */
    req.client = size && (data[size - 1] & 1) ? "fuzz" : NULL;
    req.content_type = ctype[0] ? ctype : NULL;
    req.authorization = auth[0] ? auth + use_auth : NULL;
    req.has_length = true;
    req.content_length = (uint64_t)(end - p);
    req.body = p;
    req.body_len = (size_t)(end - p);
    if (!http_request_head(&req, &resp))
        http_request_run(&req, &resp);
    if (resp.status < 200 || resp.status > 599)
        abort();
    if (resp.content_type && strcmp(resp.content_type, "application/json") == 0 &&
        resp.status != 204 && resp.body.len) {
        json_t *j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
        if (!j)
            abort();
        json_decref(j);
    }
    http_req_reset(&req);
    http_resp_reset(&resp);
done:
    lh_arena_reset(&a);
    return 0;
}
