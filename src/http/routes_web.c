/*
 * routes_web.c — the dashboard: GET/HEAD / and the embedded files of web/
 * (src/web, lh_web_find), with a strong ETag (304 on If-None-Match),
 * "Cache-Control: no-cache" and, on HTML, a Content-Security-Policy that
 * allows nothing from another origin. The files hold no data, so they
 * answer without a token (router.c: route_is_open).
 */
#include "http_int.h"

#include <string.h>

#include "web/web.h"

static const char csp[] = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                          "script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag)) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return true;
    }
    return false;
}

static void web_file(struct http_req *req, struct http_resp *resp)
{
    const struct lh_web_file *f = lh_web_find(req->raw_path);
    if (!f) {
        http_resp_error(resp, 404, NULL, "no such file");
        return;
    }
    resp->etag = f->etag;
    resp->cache_control = "no-cache";
    if (strncmp(f->content_type, "text/html", 9) == 0)
        resp->csp = csp;
    if (etag_matches(req->if_none_match, f->etag)) {
        lh_buf_clear(&resp->body);
        resp->status = 304;
        return;
    }
    http_resp_text(resp, 200, f->content_type, f->bytes, f->len);
}

static const struct http_route routes[] = {
    {"GET", "/", web_file, HTTP_BODY_NONE},
    {"HEAD", "/", web_file, HTTP_BODY_NONE},
    {"GET", "/{file}", web_file, HTTP_BODY_NONE},
    {"HEAD", "/{file}", web_file, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_web = {"web", routes, sizeof routes / sizeof routes[0],
                                                 NULL};
