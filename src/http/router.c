/*
 * router.c — transport-free request processing: authentication, routing
 * with path parameters, validation, JSON bodies and error responses.
 *
 * The raw path is split on '/' *before* percent-decoding, so an encoded
 * slash ("%2F") stays inside its segment and can never add a level; "." and
 * ".." segments are refused outright, and every parameter a handler turns
 * into a key is checked with lh_store_name_check. Bytes here come from the
 * network: each is bounded (HTTP_MAX_PATH, HTTP_MAX_SEGMENTS) and nothing is
 * asserted on.
 *
 * Browsers (issue 12, item 7): with no token (the default) a web page on
 * any site could otherwise drive the daemon — a cross-site form or
 * fetch() POST needs no preflight when its body is text/plain or a form,
 * and DNS rebinding lets a page on a foreign name read every answer. So
 * every request must name this server in Host (http_host_allowed), and
 * every state-changing request (any method but GET/HEAD) must be one a
 * browser only sends from this server's own pages: no cross-site
 * Sec-Fetch-Site, an Origin (when sent) that names this server, and a
 * JSON Content-Type, an X-Lakehouse-Client header or an Authorization
 * header — none of which a page on another origin can send without a CORS
 * preflight, which this server never grants.
 *
 * Called on the server's pool threads; everything is per request except the
 * read-only route tables.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct http_route_table *const http_route_tables[] = {
    &http_routes_core,
    &http_routes_catalog,
    &http_routes_schedules,
    &http_routes_cron,
    &http_routes_ingest,
    &http_routes_runs,
    &http_routes_iceberg,
    &http_routes_web,
    NULL,
};

/* ------------------------------------------------------------ req / resp */

void http_req_init(struct http_req *req, struct lh_http_server *srv)
{
    memset(req, 0, sizeof *req);
    req->srv = srv;
    req->route_name = "unmatched";
    lh_arena_init(&req->arena, 4u << 20);
}

void http_req_reset(struct http_req *req)
{
    if (req->json)
        json_decref(req->json);
    req->json = NULL;
    lh_arena_reset(&req->arena);
}

void http_resp_init(struct http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    lh_buf_init(&resp->body, 64u << 20);
}

void http_resp_reset(struct http_resp *resp)
{
    if (resp->later && resp->later_drop)
        resp->later_drop(resp->later_arg);
    resp->later = NULL;
    lh_buf_reset(&resp->body);
}

static int dump_cb(const char *p, size_t n, void *data)
{
    lh_buf_append(data, p, n);
    return lh_buf_ok(data) ? 0 : -1;
}

void http_resp_json(struct http_resp *resp, unsigned status, json_t *doc)
{
    lh_buf_clear(&resp->body);
    resp->status = status;
    resp->content_type = "application/json";
    if (!doc ||
        json_dump_callback(doc, dump_cb, &resp->body, JSON_COMPACT | JSON_ENCODE_ANY) != 0 ||
        !lh_buf_ok(&resp->body)) {
        lh_buf_clear(&resp->body);
        resp->status = 500;
        lh_buf_append_str(&resp->body, "{\"error\":\"cannot encode response\"}");
    }
    lh_buf_append_u8(&resp->body, '\n');
    json_decref(doc);
}

void http_resp_error(struct http_resp *resp, unsigned status, const char *field, const char *fmt,
                     ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    /* messages may quote client bytes: jansson refuses invalid UTF-8, so
     * fall back to a generic text rather than failing the response */
    json_t *m = json_string(msg);
    json_object_set_new(o, "error", m ? m : json_string("invalid request"));
    if (field) {
        json_t *f = json_string(field);
        json_object_set_new(o, "field", f ? f : json_string("?"));
    }
    http_resp_json(resp, status, o);
}

void http_resp_status_error(struct http_resp *resp, enum lh_status s, const char *field,
                            const char *msg)
{
    unsigned st;
    switch (s) {
    case LH_E_INVAL:
    case LH_E_FORMAT:
        st = 400;
        break;
    case LH_E_NOTFOUND:
        st = 404;
        break;
    case LH_E_EXISTS:
    case LH_E_CONFLICT:
    case LH_E_STATE:
        st = 409;
        break;
    case LH_E_TOOBIG:
        st = 413;
        break;
    case LH_E_TIMEOUT:
        st = 504;
        break;
    case LH_E_UNSUPPORTED:
        st = 501;
        break;
    case LH_E_CONNECT:
    case LH_E_IO:
        st = 503;
        break;
    default:
        st = 500;
        break;
    }
    http_resp_error(resp, st, st < 500 ? field : NULL, "%s", msg);
}

void http_resp_text(struct http_resp *resp, unsigned status, const char *ctype, const void *p,
                    size_t n)
{
    lh_buf_clear(&resp->body);
    resp->status = status;
    resp->content_type = ctype;
    lh_buf_append(&resp->body, p, n);
}

const char *http_msg_field(struct http_req *req, const char *msg, const char *def)
{
    const char *colon = strstr(msg, ": ");
    if (!colon || colon == msg || colon - msg > 64)
        return def;
    for (const char *p = msg; p < colon; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || *p == '.'))
            return def;
    char *f = lh_arena_strndup(&req->arena, msg, (size_t)(colon - msg));
    return f ? f : def;
}

/* ------------------------------------------------------------ decoding */

char *http_pct_decode(struct lh_arena *a, const char *s, size_t n)
{
    char *out = lh_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return NULL;
            int h = lh_hex_digit(s[i + 1]), l = lh_hex_digit(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return NULL;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (c == '\0') {
            return NULL;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

const char *http_query(struct http_req *req, const char *key, bool *bad)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) != 0)
            continue;
        const char *v = req->query[i].value ? req->query[i].value : "";
        /* '+' means space in a query string */
        size_t n = strlen(v);
        char *tmp = lh_arena_strndup(&req->arena, v, n);
        if (!tmp) {
            *bad = true;
            return NULL;
        }
        for (char *p = tmp; *p; p++)
            if (*p == '+')
                *p = ' ';
        char *d = http_pct_decode(&req->arena, tmp, n);
        if (!d)
            *bad = true;
        return d;
    }
    return NULL;
}

const char *http_param(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->params[i];
    return NULL;
}

const char *http_param_name(struct http_req *req, struct http_resp *resp, const char *name)
{
    const char *v = http_param(req, name);
    struct lh_error err;
    if (!v) {
        http_resp_error(resp, 400, name, "missing path parameter");
        return NULL;
    }
    if (lh_store_name_check(v, &err) != LH_OK) {
        http_resp_error(resp, 400, name, "invalid %s: %s", name, err.msg);
        return NULL;
    }
    return v;
}

/* ------------------------------------------------------------ query */

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}


void http_query_parse(struct http_req *req, const char *qs, size_t n)
{
    if (n > HTTP_MAX_QUERY_BYTES) {
        req->uri_too_long = true;
        return;
    }
    const char *p = qs, *end = qs + n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *item_end = amp ? amp : end;
        if (item_end > p) {
            if (req->nquery == HTTP_MAX_QUERY) {
                req->query_overflow = true;
                return;
            }
            const char *eq = memchr(p, '=', (size_t)(item_end - p));
            char *k = lh_arena_strndup(&req->arena, p, (size_t)((eq ? eq : item_end) - p));
            char *v = eq ? lh_arena_strndup(&req->arena, eq + 1, (size_t)(item_end - eq - 1))
                         : NULL;
            if (!k || (eq && !v)) {
                req->query_overflow = true;
                return;
            }
            req->query[req->nquery++] = (struct http_kv){k, v};
        }
        p = item_end + 1;
    }
}

/* ------------------------------------------------------------ host, origin */

static bool eq_nocase_n(const char *a, size_t an, const char *b)
{
    return strlen(b) == an && strncasecmp(a, b, an) == 0;
}

static bool is_ipv4(const char *s, size_t n)
{
    unsigned parts = 0, digits = 0, val = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            val = val * 10 + (unsigned)(s[i] - '0');
            if (++digits > 3 || val > 255)
                return false;
        } else if (s[i] == '.' && digits) {
            parts++;
            digits = val = 0;
        } else {
            return false;
        }
    }
    return digits && parts == 3;
}

/* "[hex:hex::...]", an IPv6 address in brackets (dotted IPv4 tail too). */
static bool is_ipv6_bracketed(const char *s, size_t n)
{
    if (n < 4 || s[0] != '[' || s[n - 1] != ']')
        return false;
    size_t colons = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == ':')
            colons++;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                   c == '.'))
            return false;
    }
    return colons >= 2;
}

/* Splits "name", "name:port", "[v6]", "[v6]:port" into the name (with
 * brackets) and the port (default_port when absent). false when malformed. */
static bool split_hostport(const char *h, size_t n, size_t *name_len, unsigned *port,
                           unsigned default_port)
{
    const char *colon;
    if (n && h[0] == '[') {
        const char *rb = memchr(h, ']', n);
        if (!rb)
            return false;
        *name_len = (size_t)(rb - h) + 1;
        colon = *name_len < n ? h + *name_len : NULL;
        if (colon && *colon != ':')
            return false;
    } else {
        colon = memchr(h, ':', n);
        *name_len = colon ? (size_t)(colon - h) : n;
    }
    if (*name_len == 0)
        return false;
    if (!colon) {
        *port = default_port;
        return true;
    }
    size_t pl = n - (size_t)(colon + 1 - h);
    unsigned v = 0;
    if (pl == 0 || pl > 5)
        return false;
    for (size_t i = 0; i < pl; i++) {
        char c = colon[1 + i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = v;
    return true;
}

bool http_host_allowed(const struct lh_http_server *srv, const char *host, size_t n,
                       unsigned default_port)
{
    size_t nl;
    unsigned port;
    if (!split_hostport(host, n, &nl, &port, default_port))
        return false;
    for (size_t i = 0; i < srv->cfg.nallowed_hosts; i++) {
        const char *e = srv->cfg.allowed_hosts[i];
        size_t el;
        unsigned ep;
        if (strcmp(e, "*") == 0)
            return true;
        if (!split_hostport(e, strlen(e), &el, &ep, 0))
            continue;
        /* an entry without a port allows its name on any port */
        if (el == nl && strncasecmp(e, host, nl) == 0 && (ep == 0 || ep == port))
            return true;
    }
    if (port != srv->port)
        return false;
    if (eq_nocase_n(host, nl, "localhost") || eq_nocase_n(host, nl, "127.0.0.1") ||
        eq_nocase_n(host, nl, "[::1]"))
        return true;
    /* the bound address ("127.0.0.1:8080", "[::1]:8080") and the configured
     * listen host ("myhost:8080") */
    const char *a = srv->address, *ac = strrchr(a, ':');
    if (ac && (size_t)(ac - a) == nl && strncasecmp(a, host, nl) == 0)
        return true;
    const char *l = srv->cfg.listen;
    size_t ll;
    unsigned lp;
    if (l && split_hostport(l, strlen(l), &ll, &lp, 0) && ll == nl && strncasecmp(l, host, nl) == 0)
        return true;
    /* on a wildcard address any of the machine's addresses reaches us; an
     * IP address cannot be rebound (DNS rebinding needs a name) */
    bool wildcard = strncmp(a, "0.0.0.0:", 8) == 0 || strncmp(a, "[::]:", 5) == 0;
    if (wildcard && (is_ipv4(host, nl) || is_ipv6_bracketed(host, nl)))
        return true;
    return false;
}

static bool is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* The Origin of a state-changing request: absent, or http(s)://host[:port]
 * naming this server. */
static bool origin_ok(const struct lh_http_server *srv, const char *origin)
{
    if (!origin)
        return true;
    unsigned dport;
    const char *h;
    if (strncasecmp(origin, "http://", 7) == 0) {
        h = origin + 7;
        dport = 80;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        h = origin + 8;
        dport = 443;
    } else {
        return false; /* "null" (sandboxed frames, file:, data:) and the rest */
    }
    size_t n = strlen(h);
    if (n && h[n - 1] == '/')
        n--;
    return n && !memchr(h, '/', n) && http_host_allowed(srv, h, n, dport);
}

/* Refuses what a browser could send to us from another site; true when
 * resp is decided. */
static bool refuse_cross_site(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    if (is_safe_method(req->method))
        return false;
    const char *sfs = req->sec_fetch_site;
    if (sfs && strcmp(sfs, "same-origin") != 0 && strcmp(sfs, "none") != 0) {
        http_resp_error(resp, 403, NULL,
                        "cross-site request refused (Sec-Fetch-Site: %.20s): only this server's "
                        "own pages and non-browser clients may change things",
                        sfs);
        return true;
    }
    if (!origin_ok(srv, req->origin)) {
        http_resp_error(resp, 403, NULL,
                        "request from origin '%.100s' refused: it is not this server (list its "
                        "host in allowed_hosts to let that page use the API)",
                        req->origin);
        return true;
    }
    if (!(req->client && req->client[0]) && !req->authorization &&
        !is_json_type(req->content_type)) {
        http_resp_error(resp, 403, NULL,
                        "%.16s without a JSON body needs an X-Lakehouse-Client header (any "
                        "value), so that web pages on other sites cannot send it",
                        req->method);
        return true;
    }
    return false;
}

/* ------------------------------------------------------------ auth */

bool http_auth_ok(const char *header, const char *token)
{
    if (!header)
        return false;
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *given = header + 7;
    while (*given == ' ')
        given++;
    /* compare digests so neither the length nor the first differing byte
     * shows in the time taken */
    uint8_t a[32], b[32];
    struct lh_sha256 c;
    lh_sha256_init(&c);
    lh_sha256_update(&c, given, strlen(given));
    lh_sha256_final(&c, a);
    lh_sha256_init(&c);
    lh_sha256_update(&c, token, strlen(token));
    lh_sha256_final(&c, b);
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < 32; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* An error the router answers itself: the /api shape, or under /iceberg
 * the Iceberg spec's with ice_type. */
static void route_error(struct http_resp *resp, bool ice, unsigned status, const char *field,
                        const char *ice_type, const char *fmt, ...) LH_PRINTF(6, 7);

static void route_error(struct http_resp *resp, bool ice, unsigned status, const char *field,
                        const char *ice_type, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ice)
        http_iceberg_error(resp, status, ice_type, "%s", msg);
    else
        http_resp_error(resp, status, field, "%s", msg);
}

/* /iceberg and below: the Iceberg REST catalog, which answers errors in the
 * spec's shape. */
static bool is_iceberg(const char *path)
{
    return strncmp(path, "/iceberg", 8) == 0 && (path[8] == '\0' || path[8] == '/');
}

static bool route_is_open(const struct lh_http_server *srv, const char *path)
{
    unsigned open = srv->cfg.open_routes;
    /* the dashboard's files hold no data: /api/, /iceberg/ and /metrics need
     * a token */
    bool api = strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
               strncmp(path, "/metrics", 8) == 0 || is_iceberg(path);
    if (!api && http_routes_web.n > 0)
        return true;
    return ((open & LH_APP_OPEN_HEALTH) && strcmp(path, "/api/health") == 0) ||
           ((open & LH_APP_OPEN_METRICS) && strcmp(path, "/metrics") == 0) ||
           ((open & LH_APP_OPEN_OPENAPI) && strcmp(path, "/api/openapi.json") == 0);
}

/* ------------------------------------------------------------ routing */

struct seg {
    const char *p;
    size_t n;
};

/* Splits "/a/b/c" into segments. false when malformed (no leading '/',
 * too long, too deep, empty inner segment, "." or ".."). */
static bool split_path(const char *path, struct seg *segs, size_t *nseg, const char **why)
{
    size_t len = strnlen(path, HTTP_MAX_PATH + 1);
    *nseg = 0;
    if (len == 0 || path[0] != '/') {
        *why = "path must start with '/'";
        return false;
    }
    if (len > HTTP_MAX_PATH) {
        *why = "path too long";
        return false;
    }
    if (len == 1)
        return true;
    const char *p = path + 1, *end = path + len;
    while (p <= end) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            q = end;
        size_t n = (size_t)(q - p);
        if (n == 0 && q != end) {
            *why = "empty path segment";
            return false;
        }
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            *why = "'.' and '..' are not allowed in paths";
            return false;
        }
        if (n == 0) /* trailing slash */
            break;
        if (*nseg == HTTP_MAX_SEGMENTS) {
            *why = "path too deep";
            return false;
        }
        segs[(*nseg)++] = (struct seg){p, n};
        p = q + 1;
    }
    return true;
}

/* Matches pattern against segments; literal segments compare raw. */
static bool pattern_match(const char *pattern, const struct seg *segs, size_t nseg)
{
    const char *p = pattern + 1;
    size_t i = 0;
    if (!*p)
        return nseg == 0;
    while (*p) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (i == nseg)
            return false;
        bool param = n >= 2 && p[0] == '{' && p[n - 1] == '}';
        if (!param && (segs[i].n != n || memcmp(segs[i].p, p, n) != 0))
            return false;
        i++;
        p += n;
        if (*p == '/')
            p++;
    }
    return i == nseg;
}

static bool route_enabled(const struct http_route_table *t, const struct lh_http_server *srv)
{
    return !t->enabled || t->enabled(srv);
}

static bool bind_params(struct http_req *req, const char *pattern, const struct seg *segs)
{
    const char *p = pattern + 1;
    size_t i = 0;
    while (*p) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n >= 2 && p[0] == '{' && p[n - 1] == '}' && req->nparams < HTTP_MAX_PARAMS) {
            char *name = lh_arena_strndup(&req->arena, p + 1, n - 2);
            char *val = http_pct_decode(&req->arena, segs[i].p, segs[i].n);
            if (!name || !val)
                return false;
            req->param_names[req->nparams] = name;
            req->params[req->nparams++] = val;
        }
        i++;
        p += n;
        if (*p == '/')
            p++;
    }
    return true;
}

bool http_request_head(struct http_req *req, struct http_resp *resp)
{
    struct lh_http_server *srv = req->srv;
    const char *why = NULL;
    struct seg segs[HTTP_MAX_SEGMENTS];
    size_t nseg;

    if (!req->method || !req->raw_path) {
        http_resp_error(resp, 400, NULL, "malformed request");
        return true;
    }
    /* before anything else: a page on a foreign name (DNS rebinding)
     * learns nothing, not even whether a token is needed */
    if (req->host && !http_host_allowed(srv, req->host, strlen(req->host), 80)) {
        http_resp_error(resp, 421, NULL,
                        "Host '%.100s' does not name this server: use its address or "
                        "localhost, or add the name to allowed_hosts",
                        req->host);
        return true;
    }
    bool ice = is_iceberg(req->raw_path);
    if (srv->cfg.token && srv->cfg.token[0] && !route_is_open(srv, req->raw_path) &&
        !http_auth_ok(req->authorization, srv->cfg.token)) {
        resp->www_authenticate = true;
        route_error(resp, ice, 401, NULL, "NotAuthorizedException", "%s",
                    req->authorization ? "invalid bearer token"
                                       : "missing Authorization: Bearer token");
        return true;
    }
    if (!split_path(req->raw_path, segs, &nseg, &why)) {
        route_error(resp, ice, 400, "path", "BadRequestException", "%s", why);
        return true;
    }
    if (req->uri_too_long) {
        route_error(resp, ice, 414, "query", "BadRequestException", "query string over %d bytes",
                    HTTP_MAX_QUERY_BYTES);
        return true;
    }
    if (req->query_overflow) {
        route_error(resp, ice, 400, "query", "BadRequestException",
                    "too many query parameters (at most %d)", HTTP_MAX_QUERY);
        return true;
    }

    const struct http_route *found = NULL, *any = NULL;
    size_t alen = 0;
    resp->allow[0] = '\0';
    for (size_t t = 0; http_route_tables[t]; t++) {
        const struct http_route_table *tab = http_route_tables[t];
        if (!route_enabled(tab, srv))
            continue;
        for (size_t r = 0; r < tab->n; r++) {
            const struct http_route *rt = &tab->routes[r];
            if (!pattern_match(rt->pattern, segs, nseg))
                continue;
            any = any ? any : rt;
            if (strcmp(rt->method, req->method) == 0 && !found)
                found = rt;
            if (!strstr(resp->allow, rt->method)) {
                int w = snprintf(resp->allow + alen, sizeof resp->allow - alen, "%s%s",
                                 alen ? ", " : "", rt->method);
                if (w > 0 && (size_t)w < sizeof resp->allow - alen)
                    alen += (size_t)w;
            }
        }
    }
    if (!any) {
        if (ice)
            http_iceberg_error(resp, 404, "NotFoundException",
                               "no such endpoint: lakehouse serves the read side of the Iceberg "
                               "REST catalog (docs/iceberg.md)");
        else
            http_resp_error(resp, 404, NULL, "no route for %s", "this path");
        return true;
    }
    req->route_name = any->pattern;
    if (!found) {
        route_error(resp, ice, 405, NULL, "UnsupportedOperationException",
                    "method %s not allowed here (allowed: %s)",
                    strlen(req->method) < 16 ? req->method : "?", resp->allow);
        return true;
    }
    resp->allow[0] = '\0';
    req->route = found;
    if (!bind_params(req, found->pattern, segs)) {
        route_error(resp, ice, 400, "path", "BadRequestException",
                    "malformed percent-encoding in path");
        return true;
    }
    if (req->has_length && req->content_length > srv->cfg.body_limit) {
        http_resp_error(resp, 413, NULL, "request body over the %zu-byte limit",
                        srv->cfg.body_limit);
        return true;
    }
    bool has_body = (req->has_length && req->content_length > 0) || req->content_type;
    if ((found->flags & HTTP_BODY_JSON) && has_body && !is_json_type(req->content_type)) {
        http_resp_error(resp, 415, NULL, "request body must be application/json");
        return true;
    }
    return refuse_cross_site(req, resp);
}

void http_request_run(struct http_req *req, struct http_resp *resp)
{
    if (!req->route) {
        http_resp_error(resp, 500, NULL, "no route");
        return;
    }
    if (req->body_len > req->srv->cfg.body_limit) {
        http_resp_error(resp, 413, NULL, "request body over the %zu-byte limit",
                        req->srv->cfg.body_limit);
        return;
    }
    if (req->route->flags & HTTP_BODY_JSON) {
        if (req->body_len == 0) {
            http_resp_error(resp, 400, NULL, "a JSON body is required");
            return;
        }
        if (!is_json_type(req->content_type)) {
            http_resp_error(resp, 415, NULL, "request body must be application/json");
            return;
        }
        json_error_t jerr;
        req->json =
            json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req->json) {
            http_resp_error(resp, 400, NULL, "invalid JSON: %s (line %d, column %d)", jerr.text,
                            jerr.line, jerr.column);
            return;
        }
        if (!json_is_object(req->json)) {
            http_resp_error(resp, 400, NULL, "the body must be a JSON object");
            return;
        }
    }
    req->route->fn(req, resp);
    if (resp->status == 0 && !resp->later)
        http_resp_error(resp, 500, NULL, "handler produced no response");
}

/* ------------------------------------------------------------ redaction */

static bool contains_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return true;
    return false;
}

/* A gate only, for speed: what it lets through goes to lh_redact_text,
 * which masks secret values (a DSN's password, a password-like key='s
 * value, user:pass@host) and never a word: "password authentication
 * failed" and "password_resets" come back whole (issue 14). */
static bool may_hold_secret(const char *s)
{
    return strstr(s, "://") || strchr(s, '@') || contains_nocase(s, "password") ||
           contains_nocase(s, "pwd") || contains_nocase(s, "secret") || contains_nocase(s, "pass=");
}

/* A new string with s redacted (lh_redact_text); never NULL (falls back to
 * "***"). */
static json_t *redacted(const char *s)
{
    size_t need = lh_redact_text(s, NULL, 0);
    char *buf = malloc(need + 1);
    json_t *r = NULL;
    if (buf) {
        lh_redact_text(s, buf, need + 1);
        r = json_string(buf);
        free(buf);
    }
    return r ? r : json_string("***");
}

static bool at_nocase(const char *s, const char *lower)
{
    for (; *lower; s++, lower++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s + ('a' - 'A')) : *s;
        if (c != *lower)
            return false;
    }
    return true;
}

/* may_hold_secret() in one pass (strncasecmp at every byte for each of four
 * needles was most of a schedule document's cost); same answers, which
 * tests/http/test_sched_json.c checks against http_json_redact. */
static bool may_hold_secret_fast(const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '@':
            return true;
        case ':':
            if (s[1] == '/' && s[2] == '/')
                return true;
            break;
        case 'p':
        case 'P':
            if (at_nocase(s + 1, "wd") || at_nocase(s + 1, "ass=") || at_nocase(s + 1, "assword"))
                return true;
            break;
        case 's':
        case 'S':
            if (at_nocase(s + 1, "ecret"))
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

size_t http_redact_text(const char *s, char *dst, size_t cap)
{
    if (!may_hold_secret_fast(s))
        return SIZE_MAX;
    return lh_redact_text(s, dst, cap);
}

/* A member of a document being redacted: the string that replaces it (new
 * reference), or NULL after redacting inside it. */
static json_t *redact_member(json_t *v)
{
    if (json_is_string(v) && may_hold_secret(json_string_value(v)))
        return redacted(json_string_value(v));
    http_json_redact(v);
    return NULL;
}

void http_json_redact(json_t *doc)
{
    const char *k;
    size_t i;
    json_t *v, *r;
    if (json_is_object(doc)) {
        json_object_foreach(doc, k, v)
        {
            if ((r = redact_member(v)))
                json_object_set_new(doc, k, r);
        }
    } else if (json_is_array(doc)) {
        json_array_foreach(doc, i, v)
        {
            if ((r = redact_member(v)))
                json_array_set_new(doc, i, r);
        }
    }
}
