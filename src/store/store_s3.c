/*
 * store_s3.c — the S3-compatible backend: libcurl with CURLOPT_AWS_SIGV4.
 *
 * One bucket plus a key prefix per store. Addressing is path-style
 * (endpoint/bucket/key) unless virtual_host asks for bucket.host/key.
 * Every payload is hashed and sent as x-amz-content-sha256 so the
 * signature covers the body.
 *
 * Threads: any number at once (store.h). Everything in struct s3 but the
 * handle pool is written once at open and only read after. A request
 * takes an idle curl easy handle from the pool (or makes one), runs, and
 * gives it back (at most POOL_IDLE_MAX stay idle); N threads make N
 * requests at once. An easy handle keeps its connection open between
 * requests (curl_easy_reset leaves it), so a pooled handle comes back
 * with a warm connection. The handles share one CURLSH for the DNS cache
 * and TLS sessions (a new handle resumes a session instead of a full
 * handshake); curl calls the share's lock callbacks around each, and each
 * curl_lock_data has a mutex of its own. The connection cache is not put
 * in the share: libcurl does not support sharing connections between
 * concurrent threads (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT). pool_mu
 * guards the idle list only and is never held across a request.
 *
 * Conditional writes: put_if_absent sends If-None-Match: * and replace_if
 * sends If-Match: <etag>; AWS S3 and recent MinIO enforce them (412 maps to
 * LH_E_EXISTS / LH_E_CONFLICT). Servers that ignore the headers (s3rver)
 * still get a HEAD-and-compare check first, which rejects stale tokens but
 * leaves a small race window between the HEAD and the PUT.
 *
 * Streaming uploads buffer one part (part_size, default 8 MiB); the first
 * full part starts a multipart upload, commit completes it, abort aborts it.
 * An upload that never fills a part is published with a single PUT.
 */
#include "store_int.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#define S3_MAX_PARTS 10000
#define S3_XML_MAX (16u << 20)
/* Idle easy handles kept for reuse; more may be out at once. */
#define POOL_IDLE_MAX 16

struct s3 {
    struct lh_store base;
    char *bucket, *prefix, *endpoint, *region, *ak, *sk, *token;
    char *sigv4;
    bool vhost;
    uint64_t part_size;
    unsigned list_page;
    long timeout;
    long stall; /* seconds without a byte before a request fails */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST]; /* one per curl_lock_data */
    pthread_mutex_t pool_mu;                       /* idle */
    CURL *idle[POOL_IDLE_MAX];
    size_t nidle;
    bool mutexes; /* the mutexes above are initialised */
};

struct s3_part {
    char etag[LH_STORE_TOKEN_MAX];
};

struct s3_upload {
    struct lh_store_upload base;
    char *key; /* full key, prefix included */
    char *upload_id;
    struct lh_buf buf;
    struct s3_part *parts;
    size_t nparts, cap;
};

struct s3_resp {
    long status;
    struct lh_buf body;
    char etag[LH_STORE_TOKEN_MAX];
    uint64_t content_length;
    bool has_length;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------------ handle pool */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    struct s3 *s = ud;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&s->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    struct s3 *s = ud;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&s->share_mu[data]);
}

/* An easy handle for one request: an idle one, else a new one on the
 * share. NULL when out of memory. */
static CURL *handle_take(struct s3 *s)
{
    CURL *c = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (s->nidle > 0)
        c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->pool_mu);
    if (c)
        return c;
    c = curl_easy_init(); /* joins the share for good: curl_easy_reset keeps it */
    if (c && curl_easy_setopt(c, CURLOPT_SHARE, s->share) != CURLE_OK) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    return c;
}

static void handle_give(struct s3 *s, CURL *c)
{
    pthread_mutex_lock(&s->pool_mu);
    if (s->nidle < POOL_IDLE_MAX) {
        s->idle[s->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

/* ------------------------------------------------------------------ helpers */

static void uri_encode(struct lh_buf *b, const char *s, bool keep_slash)
{
    static const char hx[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            lh_buf_append_u8(b, c);
        } else {
            lh_buf_append_u8(b, '%');
            lh_buf_append_u8(b, (uint8_t)hx[c >> 4]);
            lh_buf_append_u8(b, (uint8_t)hx[c & 15]);
        }
    }
}

/* Finds the next <tag>value</tag> at or after *pos; advances *pos past it. */
static bool xml_next(const char *x, size_t n, const char *tag, size_t *pos, const char **v,
                     size_t *vl)
{
    char open[64], close_[66];
    int ol = snprintf(open, sizeof open, "<%s>", tag);
    int cl = snprintf(close_, sizeof close_, "</%s>", tag);
    if (ol <= 0 || cl <= 0 || (size_t)ol >= sizeof open || (size_t)cl >= sizeof close_)
        return false;
    for (size_t i = *pos; i + (size_t)ol <= n; i++) {
        if (memcmp(x + i, open, (size_t)ol) != 0)
            continue;
        size_t s = i + (size_t)ol;
        for (size_t j = s; j + (size_t)cl <= n; j++) {
            if (memcmp(x + j, close_, (size_t)cl) == 0) {
                *v = x + s;
                *vl = j - s;
                *pos = j + (size_t)cl;
                return true;
            }
        }
        return false;
    }
    return false;
}

/* Decodes XML entities of [v, v+n) into b. */
static void xml_decode(struct lh_buf *b, const char *v, size_t n)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < n; i++) {
        if (v[i] != '&') {
            lh_buf_append_u8(b, (uint8_t)v[i]);
            continue;
        }
        bool done = false;
        for (size_t k = 0; k < sizeof ents / sizeof ents[0] && !done; k++) {
            size_t el = strlen(ents[k].ent);
            if (i + el <= n && memcmp(v + i, ents[k].ent, el) == 0) {
                lh_buf_append_u8(b, (uint8_t)ents[k].c);
                i += el - 1;
                done = true;
            }
        }
        if (!done && i + 3 < n && v[i + 1] == '#') {
            size_t j = i + 2;
            unsigned long cp = 0;
            bool hex = v[j] == 'x';
            if (hex)
                j++;
            while (j < n && v[j] != ';' && j - i < 12) {
                char c = v[j];
                int d = (c >= '0' && c <= '9')          ? c - '0'
                        : (hex && c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (hex && c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                        : -1;
                if (d < 0)
                    break;
                cp = cp * (hex ? 16 : 10) + (unsigned long)d;
                j++;
            }
            if (j < n && v[j] == ';' && cp > 0 && cp < 0x80) {
                lh_buf_append_u8(b, (uint8_t)cp);
                i = j;
                done = true;
            }
        }
        if (!done)
            lh_buf_append_u8(b, '&');
    }
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct s3_resp *r = ud;
    size_t n = sz * nm;
    lh_buf_append(&r->body, p, n);
    return lh_buf_ok(&r->body) ? n : 0;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct s3_resp *r = ud;
    size_t n = sz * nm;
    if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        size_t i = 5;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t e = n;
        while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
            e--;
        size_t l = e - i < LH_STORE_TOKEN_MAX - 1 ? e - i : LH_STORE_TOKEN_MAX - 1;
        memcpy(r->etag, p + i, l);
        r->etag[l] = '\0';
    } else if (n > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
        uint64_t v = 0;
        bool any = false;
        for (size_t i = 15; i < n; i++) {
            if (p[i] >= '0' && p[i] <= '9') {
                v = v * 10 + (uint64_t)(p[i] - '0');
                any = true;
            } else if (any) {
                break;
            }
        }
        r->content_length = v;
        r->has_length = any;
    }
    return n;
}

struct s3_body {
    const uint8_t *p;
    size_t n, off;
};

static size_t on_read(char *dst, size_t sz, size_t nm, void *ud)
{
    struct s3_body *b = ud;
    size_t want = sz * nm, left = b->n - b->off;
    size_t k = want < left ? want : left;
    memcpy(dst, b->p + b->off, k);
    b->off += k;
    return k;
}

/* key with the store's prefix (caller frees); NULL, err set, when out of
 * memory. */
static char *full_key(const struct s3 *s, const char *key, struct lh_error *err)
{
    size_t n = strlen(s->prefix) + strlen(key) + 2;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s%s%s", s->prefix, *s->prefix ? "/" : "", key);
    else
        lh_error_set(err, LH_E_NOMEM, "out of memory");
    return k;
}

/* Maps an S3 error response to a status with the server's code/message. */
static enum lh_status s3_error(const struct s3 *s, const struct s3_resp *r, const char *what,
                               const char *key, struct lh_error *err)
{
    const char *x = (const char *)r->body.data;
    size_t n = r->body.len, pos = 0;
    const char *code = "", *msg = "";
    size_t cl = 0, ml = 0;
    if (x) {
        xml_next(x, n, "Code", &pos, &code, &cl);
        pos = 0;
        xml_next(x, n, "Message", &pos, &msg, &ml);
    }
    if (cl > 64)
        cl = 64;
    if (ml > 200)
        ml = 200;
    enum lh_status st;
    switch (r->status) {
    case 404:
        st = LH_E_NOTFOUND;
        break;
    case 401:
        st = LH_E_AUTH;
        break;
    case 403:
        st = (cl && (strncmp(code, "SignatureDoesNotMatch", cl) == 0 ||
                     strncmp(code, "InvalidAccessKeyId", cl) == 0))
                 ? LH_E_AUTH
                 : LH_E_PERM;
        break;
    case 409:
    case 412:
        st = LH_E_CONFLICT;
        break;
    case 400:
    case 411:
    case 413:
    case 416:
        st = LH_E_INVAL;
        break;
    case 503:
        st = LH_E_IO;
        break;
    default:
        st = r->status >= 500 ? LH_E_IO : LH_E_INVAL;
    }
    return lh_error_set(err, st, "s3 %s s3://%s/%s: HTTP %ld %.*s%s%.*s", what, s->bucket,
                        key ? key : "", r->status, (int)cl, code, ml ? ": " : "", (int)ml, msg);
}

/* One signed request, one attempt (s3_request below retries). */
static enum lh_status s3_request_once(struct s3 *s, const char *method, const char *key,
                                 const char *query, const void *body, size_t body_len,
                                 const char *const *hdrs, size_t max_resp, struct s3_resp *r,
                                 struct lh_error *err)
{
    struct lh_buf url;
    struct curl_slist *h = NULL;
    CURL *c = NULL;
    enum lh_status st = LH_OK;
    char line[256];
    lh_buf_init(&url, 16384);
    memset(r, 0, sizeof *r);
    lh_buf_init(&r->body, max_resp ? max_resp : S3_XML_MAX);

    const char *ep = s->endpoint;
    const char *hostp = strstr(ep, "://");
    hostp = hostp ? hostp + 3 : ep;
    if (s->vhost) {
        lh_buf_append(&url, ep, (size_t)(hostp - ep));
        lh_buf_append_str(&url, s->bucket);
        lh_buf_append_u8(&url, '.');
        lh_buf_append_str(&url, hostp);
        lh_buf_append_u8(&url, '/');
    } else {
        lh_buf_append_str(&url, ep);
        lh_buf_append_u8(&url, '/');
        lh_buf_append_str(&url, s->bucket);
        lh_buf_append_u8(&url, '/');
    }
    if (key)
        uri_encode(&url, key, true);
    if (query) {
        lh_buf_append_u8(&url, '?');
        lh_buf_append_str(&url, query);
    }
    lh_buf_cstr(&url);
    if (!lh_buf_ok(&url)) {
        st = lh_error_set(err, LH_E_TOOBIG, "s3 request URL too long");
        goto fail;
    }

    char hash[65];
    lh_sha256_hex(body ? body : "", body ? body_len : 0, hash);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hash);
    h = curl_slist_append(h, line);
    if (s->token && *s->token) {
        struct lh_buf tk;
        lh_buf_init(&tk, 8192);
        lh_buf_printf(&tk, "x-amz-security-token: %s", s->token);
        lh_buf_cstr(&tk);
        if (lh_buf_ok(&tk))
            h = curl_slist_append(h, (const char *)tk.data);
        lh_buf_reset(&tk);
    }
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        h = curl_slist_append(h, hdrs[i]);
    h = curl_slist_append(h, "Expect:");
    if (!h) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }

    c = handle_take(s);
    if (!c) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->ak);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->sk);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, s->timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a server that stops answering fails the request in s->stall seconds,
     * not at the whole-request timeout */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->stall);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct s3_body rb = {body, body_len, 0};
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &rb);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "DELETE") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_WRITE_ERROR && !lh_buf_ok(&r->body)) {
        st = lh_error_set(err, LH_E_TOOBIG, "s3 %s s3://%s/%s: response over the %zu byte limit",
                          method, s->bucket, key ? key : "", r->body.max);
        goto fail;
    }
    if (cc != CURLE_OK) {
        enum lh_status cs = cc == CURLE_OPERATION_TIMEDOUT ? LH_E_TIMEOUT
                            : (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
                                ? LH_E_CONNECT
                                : LH_E_IO;
        if (cs == LH_E_TIMEOUT)
            st = lh_error_set(err, cs,
                              "s3 %s %s: no answer (nothing moved for %ld s, or the request "
                              "ran past %ld s); is the endpoint up?",
                              method, s->endpoint, s->stall, s->timeout);
        else
            st = lh_error_set(err, cs, "s3 %s %s: %s", method, s->endpoint,
                              curl_easy_strerror(cc));
        goto fail;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    lh_buf_cstr(&r->body);
fail:
    if (c)
        handle_give(s, c);
    curl_slist_free_all(h);
    lh_buf_reset(&url);
    return st;
}

static void resp_free(struct s3_resp *r)
{
    lh_buf_reset(&r->body);
}

/* One signed request. key is the full key (prefix applied) or NULL for the
 * bucket; query is pre-encoded and sorted, or NULL.
 *
 * S3 answers 500 InternalError and 503 SlowDown ("please try again") now
 * and then; every AWS SDK retries them. A request is retried (3 attempts,
 * 50 then 250 ms apart) when repeating it cannot change its outcome: GET,
 * HEAD and DELETE, and a PUT without a condition (the same bytes again, or
 * one part of a multipart upload). A conditional PUT (If-Match /
 * If-None-Match, the catalog's compare-and-swap) and a POST (completing a
 * multipart upload) are never repeated: the first one may have landed,
 * and its caller knows how to find out. */
static enum lh_status s3_request(struct s3 *s, const char *method, const char *key,
                                 const char *query, const void *body, size_t body_len,
                                 const char *const *hdrs, size_t max_resp, struct s3_resp *r,
                                 struct lh_error *err)
{
    bool idempotent = strcmp(method, "POST") != 0;
    for (size_t i = 0; hdrs && hdrs[i] && idempotent; i++)
        if (strncasecmp(hdrs[i], "If-", 3) == 0)
            idempotent = false;
    static const long pause_ms[] = {50, 250};
    for (unsigned attempt = 0;; attempt++) {
        enum lh_status st =
            s3_request_once(s, method, key, query, body, body_len, hdrs, max_resp, r, err);
        bool again = st == LH_OK && (r->status == 500 || r->status == 502 || r->status == 503 ||
                                     r->status == 504);
        if (!again || !idempotent || attempt >= sizeof pause_ms / sizeof pause_ms[0])
            return st;
        resp_free(r);
        struct timespec ts = {.tv_nsec = pause_ms[attempt] * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ------------------------------------------------------------------ operations */

static void s3_close(struct lh_store *st)
{
    struct s3 *s = (struct s3 *)st;
    for (size_t i = 0; i < s->nidle; i++)
        curl_easy_cleanup(s->idle[i]);
    if (s->share)
        curl_share_cleanup(s->share); /* after every handle that used it */
    if (s->mutexes) {
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&s->share_mu[i]);
        pthread_mutex_destroy(&s->pool_mu);
    }
    char *const text[] = {s->bucket, s->prefix, s->endpoint, s->region,  s->ak,
                          s->sk,     s->token,  s->sigv4,    s->base.url};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        free(text[i]);
    free(s);
}

static enum lh_status s3_get(struct lh_store *st, const char *key, size_t max, uint8_t **out,
                             size_t *len, char *token, struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    struct s3_resp r;
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_request(s, "GET", fk, NULL, NULL, 0, NULL, max, &r, err);
    if (rc == LH_E_TOOBIG)
        lh_error_set(err, LH_E_TOOBIG, "object %s is over the %zu byte limit", key, max);
    if (rc != LH_OK)
        goto fail;
    if (r.status != 200) {
        rc = s3_error(s, &r, "get", fk, err);
        goto fail;
    }
    if (token)
        snprintf(token, LH_STORE_TOKEN_MAX, "%s", r.etag);
    lh_buf_cstr(&r.body);
    if (!r.body.data) {
        *out = calloc(1, 1);
        if (!*out) {
            rc = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
        *len = 0;
    } else {
        *out = lh_buf_take(&r.body, len);
    }
fail:
    resp_free(&r);
    free(fk);
    return rc;
}

static enum lh_status s3_get_range(struct lh_store *st, const char *key, uint64_t off, void *buf,
                                   size_t n, struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    struct s3_resp r;
    char range[80];
    snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-%" PRIu64, off, off + n - 1);
    const char *hdrs[] = {range, NULL};
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_request(s, "GET", fk, NULL, NULL, 0, hdrs, n < 65536 ? 65536 : n, &r,
                                   err);
    if (rc == LH_E_TOOBIG) /* the server ignored Range and sent more */
        lh_error_set(err, LH_E_IO, "s3 get s3://%s/%s: server ignored the Range header",
                     s->bucket, fk);
    if (rc != LH_OK)
        goto fail;
    if (r.status == 404) {
        rc = lh_error_set(err, LH_E_NOTFOUND, "object %s not found", key);
    } else if (r.status == 416) {
        rc = lh_error_set(err, LH_E_FORMAT, "object %s ends before byte %" PRIu64, key, off + n);
    } else if (r.status != 206 && !(r.status == 200 && off == 0)) {
        rc = s3_error(s, &r, "get range", fk, err);
    } else if (r.body.len < n) {
        rc = lh_error_set(err, LH_E_FORMAT, "object %s ends before byte %" PRIu64, key, off + n);
    } else {
        memcpy(buf, r.body.data, n);
    }
fail:
    resp_free(&r);
    free(fk);
    return rc;
}

static enum lh_status s3_head(struct s3 *s, const char *fk, uint64_t *size, char *etag,
                              struct lh_error *err)
{
    struct s3_resp r;
    enum lh_status rc = s3_request(s, "HEAD", fk, NULL, NULL, 0, NULL, 0, &r, err);
    if (rc == LH_OK) {
        if (r.status == 200) {
            if (size)
                *size = r.content_length;
            if (etag)
                snprintf(etag, LH_STORE_TOKEN_MAX, "%s", r.etag);
        } else if (r.status == 404) {
            rc = lh_error_set(err, LH_E_NOTFOUND, "object s3://%s/%s not found", s->bucket, fk);
        } else {
            rc = s3_error(s, &r, "head", fk, err);
        }
    }
    resp_free(&r);
    return rc;
}

static enum lh_status s3_stat(struct lh_store *st, const char *key, uint64_t *size,
                              struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_head(s, fk, size, NULL, err);
    free(fk);
    return rc;
}

static enum lh_status s3_put_full(struct s3 *s, const char *fk, const void *p, size_t n,
                                  const char *cond, enum lh_status on412, char *new_etag,
                                  struct lh_error *err)
{
    struct s3_resp r;
    const char *hdrs[2] = {cond, NULL};
    enum lh_status rc = s3_request(s, "PUT", fk, NULL, p, n, hdrs, 0, &r, err);
    if (rc == LH_OK) {
        if (r.status == 412)
            rc = lh_error_set(err, on412, "object s3://%s/%s: precondition failed (%s)", s->bucket,
                              fk, on412 == LH_E_EXISTS ? "already exists" : "changed");
        else if (r.status != 200)
            rc = s3_error(s, &r, "put", fk, err);
        else if (new_etag)
            snprintf(new_etag, LH_STORE_TOKEN_MAX, "%s", r.etag);
    }
    resp_free(&r);
    return rc;
}

static enum lh_status s3_put(struct lh_store *st, const char *key, const void *p, size_t n,
                             struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_put_full(s, fk, p, n, NULL, LH_E_CONFLICT, NULL, err);
    free(fk);
    return rc;
}

static enum lh_status s3_put_if_absent(struct lh_store *st, const char *key, const void *p,
                                       size_t n, struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_head(s, fk, NULL, NULL, err);
    if (rc == LH_OK) {
        rc = lh_error_set(err, LH_E_EXISTS, "object %s already exists", key);
    } else if (rc == LH_E_NOTFOUND) {
        lh_error_clear(err);
        rc = s3_put_full(s, fk, p, n, "If-None-Match: *", LH_E_EXISTS, NULL, err);
    }
    free(fk);
    return rc;
}

static enum lh_status s3_replace_if(struct lh_store *st, const char *key, const void *p, size_t n,
                                    const char *token, char *new_token, struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    char cur[LH_STORE_TOKEN_MAX], cond[LH_STORE_TOKEN_MAX + 16];
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_head(s, fk, NULL, cur, err);
    if (rc == LH_OK && strcmp(cur, token) != 0)
        rc = lh_error_set(err, LH_E_CONFLICT, "object %s changed since it was read", key);
    if (rc == LH_OK) {
        snprintf(cond, sizeof cond, "If-Match: %s", token);
        rc = s3_put_full(s, fk, p, n, cond, LH_E_CONFLICT, new_token, err);
    }
    free(fk);
    return rc;
}

static enum lh_status s3_del(struct lh_store *st, const char *key, struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    struct s3_resp r;
    char *fk = full_key(s, key, err);
    if (!fk)
        return LH_E_NOMEM;
    enum lh_status rc = s3_request(s, "DELETE", fk, NULL, NULL, 0, NULL, 0, &r, err);
    if (rc == LH_OK && r.status != 204 && r.status != 200 && r.status != 404)
        rc = s3_error(s, &r, "delete", fk, err);
    resp_free(&r);
    free(fk);
    return rc;
}

/* b = the XML text v[0..n) decoded, as a C string; false when it did not fit. */
static bool xml_text(struct lh_buf *b, const char *v, size_t n)
{
    lh_buf_clear(b);
    xml_decode(b, v, n);
    lh_buf_cstr(b);
    return lh_buf_ok(b);
}

/* The first <tag> of x[0..n): its text in *v, *vl. */
static bool xml_field(const char *x, size_t n, const char *tag, const char **v, size_t *vl)
{
    size_t pos = 0;
    return x && xml_next(x, n, tag, &pos, v, vl);
}

/* Whether a listing says there is another page. */
static bool xml_truncated(const char *x, size_t n)
{
    const char *v;
    size_t vl;
    return xml_field(x, n, "IsTruncated", &v, &vl) && vl == 4 && memcmp(v, "true", 4) == 0;
}

/* Appends "name=value&" when the last page left a marker b. */
static void query_marker(struct lh_buf *q, const char *name, struct lh_buf *b)
{
    if (!b->len)
        return;
    lh_buf_printf(q, "%s=", name);
    lh_buf_cstr(b);
    uri_encode(q, (const char *)b->data, false);
    lh_buf_append_u8(q, '&');
}

/* A listing under a prefix, page by page: the query of the next page, the
 * markers the last page left for it (m), the pages fetched, the last answer
 * and where its entries are read (x, n, pos), a decoded key, the prefix in
 * the bucket and how much of a key in the bucket is the store's prefix. */
struct listing {
    struct lh_buf q, kb, m[2];
    int pages;
    struct s3_resp r;
    const char *x;
    size_t n, pos;
    char *fp;
    size_t strip;
};

static enum lh_status listing_begin(struct s3 *s, const char *prefix, struct listing *l,
                                    struct lh_error *err)
{
    *l = (struct listing){0};
    lh_buf_init(&l->q, 16384);
    lh_buf_init(&l->kb, 4096);
    lh_buf_init(&l->m[0], 4096);
    lh_buf_init(&l->m[1], 4096);
    l->strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
    l->fp = full_key(s, prefix, err);
    return l->fp ? LH_OK : LH_E_NOMEM;
}

static void listing_end(struct listing *l)
{
    resp_free(&l->r);
    free(l->fp);
    lh_buf_reset(&l->q);
    lh_buf_reset(&l->kb);
    lh_buf_reset(&l->m[0]);
    lh_buf_reset(&l->m[1]);
}

/* The next page of a listing: GET ?l->q (emptied for the next page's), a
 * 200 answer in l->r, whose entries listing_entry reads. what names the
 * listing in our errors, op in the server's. */
static enum lh_status list_page(struct s3 *s, struct listing *l, const char *what, const char *op,
                                struct lh_error *err)
{
    if (l->pages++ > 1000000)
        return lh_error_set(err, LH_E_TOOBIG, "s3 %s: too many pages", what);
    lh_buf_cstr(&l->q);
    if (!lh_buf_ok(&l->q))
        return lh_error_set(err, LH_E_TOOBIG, "s3 %s: query too long", what);
    resp_free(&l->r);
    enum lh_status rc =
        s3_request(s, "GET", NULL, (const char *)l->q.data, NULL, 0, NULL, 0, &l->r, err);
    if (rc == LH_OK && l->r.status != 200)
        rc = s3_error(s, &l->r, op, l->fp, err);
    lh_buf_clear(&l->q);
    l->x = (const char *)l->r.body.data;
    l->n = l->r.body.len;
    l->pos = 0;
    return rc;
}

/* The page's next <tag> entry. */
static bool listing_entry(struct listing *l, const char *tag, const char **v, size_t *vl)
{
    return l->x && xml_next(l->x, l->n, tag, &l->pos, v, vl);
}

/* An entry's key kv[0..kvl) decoded into l->kb, without the store's
 * prefix; NULL when it does not decode or is not under the prefix. */
static const char *listing_key(struct listing *l, const char *kv, size_t kvl)
{
    if (!xml_text(&l->kb, kv, kvl) || l->kb.len < l->strip)
        return NULL;
    return (const char *)l->kb.data + l->strip;
}

/* The marker <tag> of the page into m (empty when there is none); false
 * when it is missing or empty. */
static bool listing_marker(struct listing *l, const char *tag, struct lh_buf *m)
{
    const char *v;
    size_t vl = 0;
    lh_buf_clear(m);
    if (!xml_field(l->x, l->n, tag, &v, &vl))
        return false;
    xml_decode(m, v, vl);
    return vl > 0;
}

static enum lh_status s3_list(struct lh_store *st, const char *prefix, struct lh_store_list *out,
                              struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    struct listing l;
    struct lh_buf *tok = &l.m[0];
    enum lh_status rc = listing_begin(s, prefix, &l, err);
    while (rc == LH_OK) {
        /* parameters in canonical (sorted) order */
        query_marker(&l.q, "continuation-token", tok);
        lh_buf_printf(&l.q, "list-type=2&max-keys=%u&prefix=", s->list_page);
        uri_encode(&l.q, l.fp, false);
        if ((rc = list_page(s, &l, "list", "list", err)) != LH_OK)
            break;
        const char *v, *kv, *sv;
        size_t vl, kvl, svl;
        while (listing_entry(&l, "Contents", &v, &vl)) {
            if (!xml_field(v, vl, "Key", &kv, &kvl)) {
                rc = lh_error_set(err, LH_E_FORMAT, "s3 list: <Contents> without <Key>");
                goto fail;
            }
            uint64_t size = 0;
            if (xml_field(v, vl, "Size", &sv, &svl))
                for (size_t i = 0; i < svl && sv[i] >= '0' && sv[i] <= '9'; i++)
                    size = size * 10 + (uint64_t)(sv[i] - '0');
            const char *k = listing_key(&l, kv, kvl);
            if (!k) {
                rc = lh_error_set(err, LH_E_FORMAT, "s3 list: bad key in listing");
                goto fail;
            }
            if (lh_store_key_check(k, NULL) != LH_OK)
                continue; /* not ours to hand out */
            if (!lh_store_list_add(out, k, l.kb.len - l.strip, size)) {
                rc = lh_error_set(err, LH_E_NOMEM, "out of memory");
                goto fail;
            }
        }
        if (!xml_truncated(l.x, l.n))
            break;
        if (!listing_marker(&l, "NextContinuationToken", tok))
            rc = lh_error_set(err, LH_E_FORMAT, "s3 list: truncated without a continuation token");
    }
fail:
    listing_end(&l);
    return rc;
}

/* ------------------------------------------------------------------ uploads */

static enum lh_status s3_upload_begin(struct lh_store *st, const char *key,
                                      struct lh_store_upload **upp, struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    struct s3_upload *up = calloc(1, sizeof *up);
    if (!up)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    up->base.st = st;
    up->key = full_key(s, key, err);
    lh_buf_init(&up->buf, (size_t)s->part_size);
    if (!up->key) {
        free(up);
        return LH_E_NOMEM;
    }
    *upp = &up->base;
    return LH_OK;
}

static enum lh_status send_part(struct s3 *s, struct s3_upload *up, struct lh_error *err)
{
    struct s3_resp r;
    enum lh_status rc;
    if (!up->upload_id) {
        rc = s3_request(s, "POST", up->key, "uploads=", NULL, 0, NULL, 0, &r, err);
        if (rc != LH_OK)
            return rc;
        const char *v;
        size_t vl, pos = 0;
        if (r.status != 200) {
            rc = s3_error(s, &r, "create multipart upload", up->key, err);
        } else if (!xml_next((const char *)r.body.data, r.body.len, "UploadId", &pos, &v, &vl) ||
                   vl == 0 || vl > 1024) {
            rc = lh_error_set(err, LH_E_FORMAT, "s3 multipart upload of %s: no UploadId", up->key);
        } else if (!(up->upload_id = strndup(v, vl))) {
            rc = lh_error_set(err, LH_E_NOMEM, "out of memory");
        }
        resp_free(&r);
        if (rc != LH_OK)
            return rc;
    }
    if (up->nparts >= S3_MAX_PARTS)
        return lh_error_set(err, LH_E_TOOBIG, "s3 upload of %s: more than %d parts", up->key,
                            S3_MAX_PARTS);
    struct s3_part *np = lh_array_grow(up->parts, &up->cap, up->nparts, sizeof *np, 16);
    if (!np)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    up->parts = np;
    struct lh_buf q;
    lh_buf_init(&q, 4096);
    lh_buf_printf(&q, "partNumber=%zu&uploadId=", up->nparts + 1);
    uri_encode(&q, up->upload_id, false);
    lh_buf_cstr(&q);
    rc = s3_request(s, "PUT", up->key, (const char *)q.data, up->buf.data, up->buf.len, NULL, 0, &r,
                    err);
    lh_buf_reset(&q);
    if (rc != LH_OK)
        return rc;
    if (r.status != 200 || !r.etag[0]) {
        rc = r.status != 200 ? s3_error(s, &r, "upload part", up->key, err)
                             : lh_error_set(err, LH_E_FORMAT, "s3 upload part: no ETag");
    } else {
        memcpy(up->parts[up->nparts].etag, r.etag, sizeof r.etag);
        up->nparts++;
        lh_buf_clear(&up->buf);
    }
    resp_free(&r);
    return rc;
}

static enum lh_status s3_upload_write(struct lh_store_upload *u, const void *p, size_t n,
                                      struct lh_error *err)
{
    struct s3_upload *up = (struct s3_upload *)u;
    struct s3 *s = (struct s3 *)u->st;
    const uint8_t *c = p;
    while (n > 0) {
        size_t room = (size_t)s->part_size - up->buf.len;
        size_t k = n < room ? n : room;
        lh_buf_append(&up->buf, c, k);
        if (!lh_buf_ok(&up->buf))
            return lh_error_set(err, LH_E_NOMEM, "out of memory buffering an upload part");
        c += k;
        n -= k;
        if (up->buf.len == s->part_size) {
            enum lh_status rc = send_part(s, up, err);
            if (rc != LH_OK)
                return rc;
        }
    }
    return LH_OK;
}

static void upload_free(struct s3_upload *up)
{
    lh_buf_reset(&up->buf);
    free(up->parts);
    free(up->upload_id);
    free(up->key);
    free(up);
}

static void s3_upload_abort(struct lh_store_upload *u)
{
    struct s3_upload *up = (struct s3_upload *)u;
    struct s3 *s = (struct s3 *)u->st;
    if (up->upload_id) {
        struct lh_buf q;
        struct s3_resp r;
        lh_buf_init(&q, 4096);
        lh_buf_append_str(&q, "uploadId=");
        uri_encode(&q, up->upload_id, false);
        lh_buf_cstr(&q);
        if (lh_buf_ok(&q) && s3_request(s, "DELETE", up->key, (const char *)q.data, NULL, 0, NULL,
                                        0, &r, NULL) == LH_OK)
            resp_free(&r);
        lh_buf_reset(&q);
    }
    upload_free(up);
}

static enum lh_status s3_upload_commit(struct lh_store_upload *u, struct lh_error *err)
{
    struct s3_upload *up = (struct s3_upload *)u;
    struct s3 *s = (struct s3 *)u->st;
    enum lh_status rc;
    struct lh_buf x, q;
    struct s3_resp r = {0};
    lh_buf_init(&x, 0);
    lh_buf_init(&q, 4096);
    if (!up->upload_id) {
        rc = s3_put_full(s, up->key, up->buf.data, up->buf.len, NULL, LH_E_CONFLICT, NULL, err);
        goto done;
    }
    if (up->buf.len > 0) {
        rc = send_part(s, up, err);
        if (rc != LH_OK)
            goto done;
    }
    lh_buf_append_str(&x, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < up->nparts; i++) {
        lh_buf_printf(&x, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        for (const char *e = up->parts[i].etag; *e; e++) {
            if (*e == '"')
                lh_buf_append_str(&x, "&quot;");
            else
                lh_buf_append_u8(&x, (uint8_t)*e);
        }
        lh_buf_append_str(&x, "</ETag></Part>");
    }
    lh_buf_append_str(&x, "</CompleteMultipartUpload>");
    lh_buf_append_str(&q, "uploadId=");
    uri_encode(&q, up->upload_id, false);
    lh_buf_cstr(&q);
    if (!lh_buf_ok(&x) || !lh_buf_ok(&q)) {
        rc = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    rc = s3_request(s, "POST", up->key, (const char *)q.data, x.data, x.len, NULL, 0, &r, err);
    if (rc != LH_OK)
        goto done;
    /* A 200 may still carry an <Error> body. */
    if (r.status != 200 || (r.body.data && strstr((const char *)r.body.data, "<Error>")))
        rc = s3_error(s, &r, "complete multipart upload", up->key, err);
done:
    resp_free(&r);
    lh_buf_reset(&x);
    lh_buf_reset(&q);
    if (rc != LH_OK) {
        s3_upload_abort(u);
        return rc;
    }
    upload_free(up);
    return LH_OK;
}

/* ------------------------------------------------------------------ sweep */

static enum lh_status s3_abort_upload(struct s3 *s, const char *fk, const char *upload_id,
                                      struct lh_error *err)
{
    struct lh_buf q;
    struct s3_resp r = {0};
    lh_buf_init(&q, 4096);
    lh_buf_append_str(&q, "uploadId=");
    uri_encode(&q, upload_id, false);
    lh_buf_cstr(&q);
    enum lh_status rc = lh_buf_ok(&q)
                            ? s3_request(s, "DELETE", fk, (const char *)q.data, NULL, 0, NULL, 0,
                                         &r, err)
                            : lh_error_set(err, LH_E_NOMEM, "out of memory");
    /* 404 NoSuchUpload: completed or aborted meanwhile, nothing left */
    if (rc == LH_OK && r.status != 204 && r.status != 200 && r.status != 404)
        rc = s3_error(s, &r, "abort multipart upload", fk, err);
    resp_free(&r);
    lh_buf_reset(&q);
    return rc;
}

/* ListMultipartUploads under the prefix, page by page (key-marker and
 * upload-id-marker); each upload dead() accepts is aborted. */
static enum lh_status s3_sweep(struct lh_store *st, const char *prefix, lh_store_sweep_fn dead,
                               void *ctx, struct lh_store_sweep_stats *stats,
                               struct lh_error *err)
{
    struct s3 *s = (struct s3 *)st;
    struct listing l;
    struct lh_buf *km = &l.m[0], *um = &l.m[1], ub;
    lh_buf_init(&ub, 4096);
    enum lh_status rc = listing_begin(s, prefix, &l, err);
    while (rc == LH_OK) {
        /* parameters in canonical (sorted) order */
        query_marker(&l.q, "key-marker", km);
        lh_buf_printf(&l.q, "max-uploads=%u&prefix=", s->list_page);
        uri_encode(&l.q, l.fp, false);
        lh_buf_append_u8(&l.q, '&');
        query_marker(&l.q, "upload-id-marker", um);
        lh_buf_append_str(&l.q, "uploads=");
        if ((rc = list_page(s, &l, "list uploads", "list multipart uploads", err)) != LH_OK)
            break;
        const char *v, *kv, *iv, *tv;
        size_t vl, kvl, ivl, tvl;
        while (listing_entry(&l, "Upload", &v, &vl)) {
            if (!xml_field(v, vl, "Key", &kv, &kvl) || !xml_field(v, vl, "UploadId", &iv, &ivl)) {
                rc = lh_error_set(err, LH_E_FORMAT,
                                  "s3 list uploads: <Upload> without <Key> or <UploadId>");
                goto fail;
            }
            const char *k = listing_key(&l, kv, kvl);
            if (!xml_text(&ub, iv, ivl) || !k) {
                rc = lh_error_set(err, LH_E_FORMAT, "s3 list uploads: bad key in listing");
                goto fail;
            }
            int64_t started = 0;
            if (xml_field(v, vl, "Initiated", &tv, &tvl) && tvl < 64) {
                char ts[64];
                memcpy(ts, tv, tvl);
                ts[tvl] = '\0';
                if (lh_time_parse_iso(ts, &started, NULL) != LH_OK)
                    started = 0;
            }
            if (lh_store_key_check(k, NULL) != LH_OK)
                continue; /* not ours to judge */
            struct lh_store_pending p = {.key = k, .modified_us = started};
            if (!dead(ctx, &p))
                continue;
            struct lh_error e;
            if (s3_abort_upload(s, (const char *)l.kb.data, (const char *)ub.data, &e) == LH_OK)
                stats->pending++;
            else
                lh_warn("store: could not abort the upload of %s: %s", k, e.msg);
        }
        if (!xml_truncated(l.x, l.n))
            break;
        listing_marker(&l, "NextUploadIdMarker", um);
        if (!listing_marker(&l, "NextKeyMarker", km))
            rc = lh_error_set(err, LH_E_FORMAT, "s3 list uploads: truncated without a marker");
    }
fail:
    listing_end(&l);
    lh_buf_reset(&ub);
    return rc;
}

static enum lh_status s3_location(const struct lh_store *st, struct lh_buf *b,
                                  struct lh_error *err)
{
    (void)err;
    const struct s3 *s = (const struct s3 *)st;
    lh_buf_printf(b, "s3://%s%s%s", s->bucket, *s->prefix ? "/" : "", s->prefix);
    return LH_OK;
}

#define S3_METHOD(m) .m = s3_##m,
static const struct lh_store_vt s3_vt = {.kind = "s3", LH_STORE_METHODS(S3_METHOD)};
#undef S3_METHOD

/* v, else the value of the first of the environment variables e1, e2
 * (e2 may be NULL) that is set; NULL when none is. */
static const char *or_env(const char *v, const char *e1, const char *e2)
{
    if (!v)
        v = getenv(e1);
    if (!v && e2)
        v = getenv(e2);
    return v;
}

static char *dup_or_env(const char *v, const char *env)
{
    v = or_env(v, env, NULL);
    return v ? strdup(v) : NULL;
}

enum lh_status lh_store_s3_open(const char *url, const char *bucket, const char *prefix,
                                const struct lh_store_options *opt, struct lh_store **out,
                                struct lh_error *err)
{
    enum lh_status rc = LH_OK;
    pthread_once(&curl_once, curl_init_once);
    struct s3 *s = calloc(1, sizeof *s);
    if (!s)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    s->base.vt = &s3_vt;
    s->base.url = strdup(url);
    s->bucket = strdup(bucket);
    s->prefix = strdup(prefix);
    const char *region = or_env(opt->region, "AWS_REGION", "AWS_DEFAULT_REGION");
    if (!region)
        region = "us-east-1";
    s->region = strdup(region);
    const char *endpoint = or_env(opt->endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    if (endpoint && *endpoint) {
        size_t el = strlen(endpoint);
        while (el > 0 && endpoint[el - 1] == '/')
            el--;
        s->endpoint = strndup(endpoint, el);
    } else {
        size_t n = strlen(region) + 40;
        s->endpoint = malloc(n);
        if (s->endpoint)
            snprintf(s->endpoint, n, "https://s3.%s.amazonaws.com", region);
    }
    s->ak = dup_or_env(opt->access_key, "AWS_ACCESS_KEY_ID");
    s->sk = dup_or_env(opt->secret_key, "AWS_SECRET_ACCESS_KEY");
    s->token = dup_or_env(opt->session_token, "AWS_SESSION_TOKEN");
    size_t sl = strlen(region) + 20;
    s->sigv4 = malloc(sl);
    if (s->sigv4)
        snprintf(s->sigv4, sl, "aws:amz:%s:s3", region);
    s->vhost = opt->virtual_host;
    s->part_size = opt->part_size ? opt->part_size : (8u << 20);
    s->list_page = opt->list_page ? opt->list_page : 1000;
    s->timeout = opt->timeout_secs ? opt->timeout_secs : 300;
    s->stall = opt->stall_secs > 0 ? opt->stall_secs : 60;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&s->share_mu[i], NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    s->mutexes = true;
    s->share = curl_share_init();
    if (s->share &&
        (curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
         curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
         curl_share_setopt(s->share, CURLSHOPT_USERDATA, s) != CURLSHE_OK ||
         curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
         curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)) {
        rc = lh_error_set(err, LH_E_INTERNAL, "%s: libcurl refused a connection share", url);
        goto fail;
    }
    if (!s->base.url || !s->bucket || !s->prefix || !s->region || !s->endpoint || !s->sigv4 ||
        !s->share) {
        rc = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    if (!s->ak || !s->sk) {
        rc = lh_error_set(err, LH_E_AUTH,
                          "%s: no S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                          url);
        goto fail;
    }
    if (s->part_size < (5u << 20) || s->part_size > (5ull << 30)) {
        rc = lh_error_set(err, LH_E_INVAL, "%s: S3 part size must be 5 MiB..5 GiB", url);
        goto fail;
    }
    if (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0) {
        rc = lh_error_set(err, LH_E_INVAL, "S3 endpoint '%s' must start with http:// or https://",
                          s->endpoint);
        goto fail;
    }
    *out = &s->base;
    return LH_OK;
fail:
    s3_close(&s->base);
    return rc;
}
