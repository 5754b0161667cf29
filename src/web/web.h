/*
 * web.h — the dashboard's files, embedded in the binary.
 *
 * The dashboard (web/: plain HTML, CSS and JavaScript modules, nothing
 * fetched from the internet) is turned into one static table at build time
 * by cmake/embed_web.cmake. The HTTP server serves it: for GET / and every
 * non-/api path it asks lh_web_find and, on a hit, answers with the file's
 * bytes, content type and strong ETag (304 when If-None-Match matches).
 * Suggested headers: "Cache-Control: no-cache" (file names carry no hash,
 * so browsers revalidate with the ETag), "X-Content-Type-Options: nosniff",
 * and on the HTML page a Content-Security-Policy of
 *   default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'
 * (the dashboard uses no inline script or style and no other origin).
 *
 * Everything here is immutable static data: any thread may call anything.
 */
#ifndef LH_WEB_H
#define LH_WEB_H

#include <stddef.h>

struct lh_web_file {
    const char *path;         /* "/index.html", "/app.js": always starts with '/' */
    const char *content_type; /* "text/html; charset=utf-8" ... */
    const unsigned char *bytes;
    size_t len;
    const char *etag;         /* strong, quoted: "\"3f2a...\"" (SHA-256 prefix) */
};

/* The embedded file for a request path, or NULL (answer 404). "/" is
 * "/index.html"; a query string ("?v=1") or fragment is ignored. Only exact
 * names from the table match, so no path can reach outside it. Borrowed,
 * static. path may be NULL. */
const struct lh_web_file *lh_web_find(const char *path);

/* The whole table, for listings and tests: i = 0 .. lh_web_count() - 1. */
size_t lh_web_count(void);
const struct lh_web_file *lh_web_at(size_t i);

#endif
