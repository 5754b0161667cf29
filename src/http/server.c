/*
 * server.c — the libmicrohttpd glue: listening socket, per-request state,
 * body accumulation under the limit, one log line and one metric per
 * request, and graceful stop.
 *
 * Threading: MHD's internal thread pool, each thread with its own epoll
 * set (MHD_USE_AUTO picks epoll on Linux). Idle and slow connections sit in
 * epoll and cost a slot and their read buffer, never a thread; limits on
 * connections (total and per address), per-connection memory and an idle
 * timeout bound what a hostile client can hold. Handlers run on pool
 * threads and share one store set and one catalog (srv->set, srv->cat),
 * which any number of threads may call at once (store.h, catalog.h).
 *
 * Long handlers (routes marked HTTP_RUN_QUERY: POST /api/sql) do not run
 * on those threads: once the body is in, the connection is suspended and
 * the request goes to the query pool (qpool.c); the worker writes the
 * response and resumes the connection, and libmicrohttpd calls on_request
 * once more to send it. A full pool answers 429 with Retry-After at once.
 *
 * The query string is parsed here, from the URI log callback that
 * libmicrohttpd calls with the raw request target before it splits the
 * arguments itself (see on_uri: its own split could hang the connection).
 *
 * Stop: quiesce (close the listening socket), wait for the in-flight count
 * to reach zero or the grace deadline, stop the query pool (waiting queries
 * get 503, running ones finish within the SQL time limit; every suspended
 * connection is resumed), then stop the daemon, which closes idle
 * keep-alive connections.
 */
#include "http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the catalog */

/* The store set (the daemon's, or one of our own) and the one catalog on
 * it that every handler uses: both may be called from any thread at once. */
static enum lh_status catalog_open(struct lh_http_server *srv, struct lh_error *err)
{
    enum lh_status s;
    srv->set = srv->hooks.store;
    if (!srv->set) {
        struct lh_store_options so = {.create = true};
        const char *root =
            srv->cfg.store_url && srv->cfg.store_url[0] ? srv->cfg.store_url : srv->cfg.data_dir;
        if ((s = lh_store_set_open(root, srv->cfg.buckets_config, &so, &srv->set, err)) != LH_OK)
            return s;
        srv->own_set = true;
    }
    struct lh_catalog_options co = {.keep_versions = srv->cfg.keep_versions};
    return lh_catalog_open(srv->set, &co, &srv->cat, err);
}

/* ------------------------------------------------------------ create */

static const char *copy_str(struct lh_http_server *srv, const char *s)
{
    return s ? lh_app_config_strdup(&srv->cfg, s) : NULL;
}

enum lh_status lh_http_server_create(const struct lh_app_config *cfg,
                                     const struct lh_http_hooks *hooks,
                                     struct lh_app_metrics *metrics, struct lh_http_server **out,
                                     struct lh_error *err)
{
    struct lh_http_server *srv = calloc(1, sizeof *srv);
    enum lh_status s;
    if (!srv)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    srv->listen_fd = -1;
    pthread_mutex_init(&srv->inflight_mu, NULL);
    lh_cond_init_mono(&srv->inflight_cv);

    srv->cfg = *cfg;
    lh_arena_init(&srv->cfg.arena, 1u << 20);
    srv->cfg.listen = copy_str(srv, cfg->listen ? cfg->listen : LH_APP_DEFAULT_LISTEN);
    srv->cfg.data_dir = copy_str(srv, cfg->data_dir);
    srv->cfg.store_url = copy_str(srv, cfg->store_url);
    srv->cfg.buckets_config = copy_str(srv, cfg->buckets_config);
    srv->cfg.token = copy_str(srv, cfg->token);
    srv->cfg.secret_key_path = copy_str(srv, cfg->secret_key_path);
    if (!srv->cfg.listen) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    /* a setting left 0 takes its default */
#define OR_DEFAULT(setting, value)                                                                 \
    (srv->cfg.setting = srv->cfg.setting ? srv->cfg.setting : (value))
    OR_DEFAULT(body_limit, LH_APP_DEFAULT_BODY_LIMIT);
    OR_DEFAULT(threads, 4);
    OR_DEFAULT(connection_limit, 4096);
    OR_DEFAULT(per_ip_limit, 1024);
    OR_DEFAULT(timeout_secs, 30);
    OR_DEFAULT(shutdown_secs, 30);
    OR_DEFAULT(connection_memory, 64u << 10);
    OR_DEFAULT(sql_workers, 4);
    OR_DEFAULT(sql_queue, 16);
#undef OR_DEFAULT
    srv->cfg.allowed_hosts = NULL;
    srv->cfg.nallowed_hosts = 0;
    for (size_t i = 0; i < cfg->nallowed_hosts; i++)
        if ((s = lh_app_config_allow_host(&srv->cfg, cfg->allowed_hosts[i], err)) != LH_OK)
            goto fail;
    if (hooks)
        srv->hooks = *hooks;
    srv->runner = srv->hooks.runner;
    srv->runs = srv->hooks.runs;
    if (metrics) {
        srv->metrics = metrics;
    } else {
        if ((s = lh_app_metrics_create(&srv->metrics, err)) != LH_OK)
            goto fail;
        srv->own_metrics = true;
    }
    if ((s = catalog_open(srv, err)) != LH_OK)
        goto fail;
    *out = srv;
    return LH_OK;
fail:
    lh_http_server_destroy(srv);
    return s;
}

/* ------------------------------------------------------------ listening */

static enum lh_status parse_listen(const char *listen, char *host, size_t hcap, char *port,
                                   size_t pcap, struct lh_error *err)
{
    const char *colon;
    const char *h = listen, *hend;
    if (listen[0] == '[') {
        hend = strchr(listen, ']');
        if (!hend || hend[1] != ':')
            return lh_error_set(err, LH_E_INVAL, "listen address '%s': expected [v6]:port", listen);
        h = listen + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return lh_error_set(err, LH_E_INVAL, "listen address '%s': expected host:port", listen);
        hend = colon;
    }
    size_t hl = (size_t)(hend - h);
    int64_t p;
    if (hl >= hcap || !lh_parse_i64(colon + 1, &p) || p < 0 || p > 65535)
        return lh_error_set(err, LH_E_INVAL, "listen address '%s': bad host or port", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, pcap, "%d", (int)p);
    return LH_OK;
}

static enum lh_status bind_listen(struct lh_http_server *srv, struct lh_error *err)
{
    char host[256], port[8];
    enum lh_status s = parse_listen(srv->cfg.listen, host, sizeof host, port, sizeof port, err);
    if (s != LH_OK)
        return s;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0)
        return lh_error_set(err, LH_E_INVAL, "listen address '%s': %s", srv->cfg.listen,
                            gai_strerror(rc));
    int fd = -1, last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return lh_error_errno(err, last, "cannot listen on %s", srv->cfg.listen);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            srv->port = ntohs(a->sin6_port);
            snprintf(srv->address, sizeof srv->address, "[%s]:%u", ip, srv->port);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            srv->port = ntohs(a->sin_port);
            snprintf(srv->address, sizeof srv->address, "%s:%u", ip, srv->port);
        }
    }
    srv->listen_fd = fd;
    return LH_OK;
}

/* ------------------------------------------------------------ requests */

struct conn_req {
    struct http_req req;
    struct http_resp resp;
    struct lh_buf body;
    int64_t start_ns;
    size_t discarded;
    bool started;  /* on_request has seen the head */
    bool ran;      /* a query-pool worker wrote resp: send it */
    bool too_big, queued;
    size_t bytes;
    struct MHD_Connection *conn; /* while suspended */
    char logpath[260];
};

/* Keeps the raw bytes: the router splits the path before decoding. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

/* The path for the log line: printable, bounded, without the query. */
static void log_path(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    for (; p && i < n && o + 4 < cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        out[o++] = ch < 0x20 || ch >= 0x7f || ch == '"' ? '?' : (char)ch;
    }
    if (p && i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static struct conn_req *conn_req_new(struct lh_http_server *srv)
{
    struct conn_req *cr = calloc(1, sizeof *cr);
    if (!cr)
        return NULL;
    cr->start_ns = lh_time_mono_ns();
    http_req_init(&cr->req, srv);
    http_resp_init(&cr->resp);
    lh_buf_init(&cr->body, srv->cfg.body_limit);
    pthread_mutex_lock(&srv->inflight_mu);
    srv->inflight++;
    pthread_mutex_unlock(&srv->inflight_mu);
    return cr;
}

/* libmicrohttpd's URI log callback: called with the raw request target
 * once the request line is in, before anything else; what it returns is
 * the request's *con_cls from then on (on_completed frees it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    struct lh_http_server *srv = cls;
    struct conn_req *cr = conn_req_new(srv);
    if (!cr)
        return NULL;
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    log_path(uri, plen, cr->logpath, sizeof cr->logpath);
    if (q) {
        http_query_parse(&cr->req, q + 1, strlen(q + 1));
        /* Next, libmicrohttpd (0.9.75) splits the arguments itself into
         * records in the connection's memory pool, tens of bytes each: a
         * thousand of them exhaust it, and the connection then hangs with
         * no answer until the idle timeout (issue 12, item 11). We have our
         * own copy, so end its query string here. The bytes are its read
         * buffer, which it rewrites in place itself right after this call. */
        if (q[1])
            ((char *)q)[1] = '\0';
    }
    return cr;
}

static bool stopping(struct lh_http_server *srv)
{
    pthread_mutex_lock(&srv->inflight_mu);
    bool st = srv->daemon == NULL || srv->listen_fd < 0;
    pthread_mutex_unlock(&srv->inflight_mu);
    return st;
}

static enum MHD_Result send_response(struct lh_http_server *srv, struct MHD_Connection *c,
                                     struct conn_req *cr)
{
    struct http_resp *r = &cr->resp;
    size_t len = r->status == 204 || r->status == 304 ? 0 : r->body.len;
    struct MHD_Response *mr = MHD_create_response_from_buffer(len, len ? r->body.data : (void *)"",
                                                              MHD_RESPMEM_MUST_COPY);
    if (!mr)
        return MHD_NO;
    if (len || r->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->cache_control ? r->cache_control : "no-store");
    if (r->etag)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->csp)
        MHD_add_response_header(mr, "Content-Security-Policy", r->csp);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    if (r->allow[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->www_authenticate)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"lakehouse\"");
    if (r->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", r->retry_after);
        MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (stopping(srv))
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, r->status, mr);
    MHD_destroy_response(mr);
    cr->queued = ret == MHD_YES;
    cr->bytes = len;
    return ret;
}

static bool parse_length(const char *s, uint64_t *out)
{
    int64_t v;
    if (!s || !lh_parse_i64(s, &v) || v < 0)
        return false;
    *out = (uint64_t)v;
    return true;
}

/* A query-pool job: runs the handler off the HTTP threads, then hands the
 * connection back. cr must not be touched after the resume: the HTTP
 * thread sends the answer and on_completed frees it. */
static void run_queued(void *arg, bool cancelled)
{
    struct conn_req *cr = arg;
    if (cancelled) {
        cr->resp.retry_after = 5;
        http_resp_error(&cr->resp, 503, NULL, "the server is shutting down; retry later");
    } else {
        http_request_run(&cr->req, &cr->resp);
    }
    struct MHD_Connection *c = cr->conn;
    cr->ran = true; /* published by the mutex inside MHD_resume_connection */
    MHD_resume_connection(c);
}

/* The end of a deferred answer (resp.later): on the thread that did the
 * work. Like run_queued, cr must not be touched after the resume. */
static void resume_later(struct http_req *req)
{
    struct conn_req *cr = (struct conn_req *)((char *)req - offsetof(struct conn_req, req));
    struct MHD_Connection *c = cr->conn;
    cr->ran = true; /* published by the mutex inside MHD_resume_connection */
    MHD_resume_connection(c);
}

/* Hands a request whose body is in to the query pool; false when resp
 * was decided here instead (pool full or stopping). */
static bool queue_request(struct lh_http_server *srv, struct MHD_Connection *c,
                          struct conn_req *cr)
{
    if (!srv->qpool || !http_qpool_reserve(srv->qpool)) {
        if (!srv->qpool || stopping(srv)) {
            cr->resp.retry_after = 5;
            http_resp_error(&cr->resp, 503, NULL, "the server is shutting down; retry later");
        } else {
            cr->resp.retry_after = 1;
            http_resp_error(&cr->resp, 429, NULL,
                            "too many queries at once (%u running, %u waiting): retry later",
                            srv->cfg.sql_workers, srv->cfg.sql_queue);
        }
        return false;
    }
    /* suspended before a worker can see it, so its resume always follows */
    cr->conn = c;
    MHD_suspend_connection(c);
    http_qpool_submit(srv->qpool, run_queued, cr);
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct lh_http_server *srv = cls;
    struct conn_req *cr = *con_cls;
    if (!cr) {
        /* on_uri could not allocate: try once more, else hang up */
        cr = conn_req_new(srv);
        if (!cr)
            return MHD_NO;
        *con_cls = cr;
        log_path(url, strlen(url), cr->logpath, sizeof cr->logpath);
    }
    if (!cr->started) {
        cr->started = true;
        struct http_req *req = &cr->req;
        req->method = method;
        req->raw_path = url;
        req->host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        req->origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
        req->sec_fetch_site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
        req->client = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Lakehouse-Client");
        req->content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        req->authorization =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        req->accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        req->if_none_match =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        req->has_length = parse_length(cl, &req->content_length);
        if (http_request_head(req, &cr->resp))
            return send_response(srv, c, cr); /* MHD skips (and closes on) any body */
        return MHD_YES;
    }
    if (cr->ran)
        return send_response(srv, c, cr);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!cr->too_big && cr->body.len + n > srv->cfg.body_limit) {
            cr->too_big = true;
            lh_buf_reset(&cr->body);
        }
        if (cr->too_big) {
            /* a chunked body with no declared length: drain a little, then
             * hang up rather than read an unbounded stream */
            cr->discarded += n;
            return cr->discarded > 4 * srv->cfg.body_limit ? MHD_NO : MHD_YES;
        }
        lh_buf_append(&cr->body, upload_data, n);
        return MHD_YES;
    }
    if (cr->too_big) {
        http_resp_error(&cr->resp, 413, NULL, "request body over the %zu-byte limit",
                        srv->cfg.body_limit);
    } else {
        cr->req.body = cr->body.data;
        cr->req.body_len = cr->body.len;
        if (cr->req.route && (cr->req.route->flags & HTTP_RUN_QUERY)) {
            if (queue_request(srv, c, cr))
                return MHD_YES;
        } else {
            http_request_run(&cr->req, &cr->resp);
            if (cr->resp.later) {
                /* suspended before the work can finish, so its resume
                 * always follows */
                http_later_fn later = cr->resp.later;
                cr->resp.later = NULL;
                cr->conn = c;
                MHD_suspend_connection(c);
                if (!later(&cr->req, &cr->resp, resume_later))
                    resume_later(&cr->req);
                return MHD_YES;
            }
        }
    }
    return send_response(srv, c, cr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    struct lh_http_server *srv = cls;
    struct conn_req *cr = *con_cls;
    if (!cr)
        return;
    *con_cls = NULL;
    double ms = (double)(lh_time_mono_ns() - cr->start_ns) / 1e6;
    const char *path = cr->logpath;
    char status[8];
    unsigned st = cr->queued ? cr->resp.status : 0;
    snprintf(status, sizeof status, "%u", st);
    const char *method = cr->req.method && strlen(cr->req.method) < 16 ? cr->req.method : "?";
    if (cr->queued)
        lh_info("http %s %s %u %zuB %.1fms%s", method, path, st, cr->bytes, ms,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (client went away)");
    else
        lh_info("http %s %s aborted %.1fms", method, path, ms);
    const char *labels[2] = {cr->req.route_name, cr->queued ? status : "aborted"};
    lh_app_metrics_add(srv->metrics, "lakehouse_http_requests_total", labels, 1);

    http_req_reset(&cr->req);
    http_resp_reset(&cr->resp);
    lh_buf_reset(&cr->body);
    free(cr);
    pthread_mutex_lock(&srv->inflight_mu);
    srv->inflight--;
    pthread_cond_broadcast(&srv->inflight_cv);
    pthread_mutex_unlock(&srv->inflight_mu);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) LH_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    lh_debug("http: %s", msg);
}

enum lh_status lh_http_server_start(struct lh_http_server *srv, struct lh_error *err)
{
    enum lh_status s = bind_listen(srv, err);
    if (s != LH_OK)
        return s;
    if (!srv->runs) {
        if ((s = lh_app_runs_create(NULL, &srv->runs, err)) != LH_OK) {
            close(srv->listen_fd);
            srv->listen_fd = -1;
            return s;
        }
        srv->own_runs = true;
    }
    if (!srv->runner) {
        srv->jobs = (struct lh_app_jobs){
            .root = srv->cfg.store_url && srv->cfg.store_url[0] ? srv->cfg.store_url
                                                                : srv->cfg.data_dir,
            .buckets_config = srv->cfg.buckets_config,
            .metrics = srv->metrics,
            .keep_versions = srv->cfg.keep_versions,
            .runs = srv->runs,
            .set = srv->set};
        if ((s = lh_app_runner_create(&srv->jobs, srv->cfg.threads, &srv->runner, err)) !=
            LH_OK) {
            close(srv->listen_fd);
            srv->listen_fd = -1;
            return s;
        }
        srv->own_runner = true;
    }
    if (!srv->qpool &&
        (s = http_qpool_create(srv->cfg.sql_workers, srv->cfg.sql_queue, &srv->qpool, err)) !=
            LH_OK) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
        return s;
    }
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, srv->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
        srv->cfg.connection_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->cfg.per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.timeout_secs, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        srv->cfg.connection_memory, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!d) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
        return lh_error_set(err, LH_E_INTERNAL, "cannot start the HTTP server on %s", srv->address);
    }
    pthread_mutex_lock(&srv->inflight_mu);
    srv->daemon = d;
    pthread_mutex_unlock(&srv->inflight_mu);
    return LH_OK;
}

const char *lh_http_server_address(const struct lh_http_server *srv)
{
    return srv->address;
}

unsigned lh_http_server_port(const struct lh_http_server *srv)
{
    return srv->port;
}

struct lh_app_metrics *lh_http_server_metrics(struct lh_http_server *srv)
{
    return srv->metrics;
}

unsigned lh_http_server_stop(struct lh_http_server *srv)
{
    if (!srv || !srv->daemon)
        return 0;
    MHD_socket lfd = MHD_quiesce_daemon(srv->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd); /* new connections are refused from here on */
    pthread_mutex_lock(&srv->inflight_mu);
    srv->listen_fd = -1; /* responses from now on say Connection: close */
    int64_t dl = lh_time_mono_ns() + (int64_t)srv->cfg.shutdown_secs * 1000000000;
    while (srv->inflight > 0)
        if (lh_cond_wait_until(&srv->inflight_cv, &srv->inflight_mu, dl) == ETIMEDOUT)
            break;
    unsigned left = srv->inflight;
    pthread_mutex_unlock(&srv->inflight_mu);
    /* libmicrohttpd must not stop with a suspended connection: this answers
     * the waiting queries and waits for the running ones, resuming each;
     * then a moment for the HTTP threads to send those answers */
    if ((srv->qpool && http_qpool_load(srv->qpool) > 0) || lh_app_runner_load(srv->runner) > 0) {
        http_qpool_stop(srv->qpool);
        lh_app_runner_close(srv->runner); /* POST /api/ingest: as the queries */
        pthread_mutex_lock(&srv->inflight_mu);
        dl = lh_time_mono_ns() + 2 * INT64_C(1000000000);
        while (srv->inflight > 0)
            if (lh_cond_wait_until(&srv->inflight_cv, &srv->inflight_mu, dl) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&srv->inflight_mu);
    }
    http_qpool_stop(srv->qpool);
    lh_app_runner_close(srv->runner);
    struct MHD_Daemon *d = srv->daemon;
    MHD_stop_daemon(d);
    pthread_mutex_lock(&srv->inflight_mu);
    srv->daemon = NULL;
    pthread_mutex_unlock(&srv->inflight_mu);
    return left;
}

void lh_http_server_destroy(struct lh_http_server *srv)
{
    if (!srv)
        return;
    lh_http_server_stop(srv);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    http_qpool_destroy(srv->qpool);
    srv->qpool = NULL;
    if (srv->own_runner)
        lh_app_runner_destroy(srv->runner);
    srv->runner = NULL;
    if (srv->own_runs)
        lh_app_runs_destroy(srv->runs);
    srv->runs = NULL;
    lh_catalog_close(srv->cat);
    if (srv->own_set)
        lh_store_set_close(srv->set);
    if (srv->own_metrics)
        lh_app_metrics_destroy(srv->metrics);
    lh_arena_reset(&srv->cfg.arena);
    pthread_mutex_destroy(&srv->inflight_mu);
    pthread_cond_destroy(&srv->inflight_cv);
    free(srv);
}
