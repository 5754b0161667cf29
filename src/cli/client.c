/*
 * client.c — a minimal HTTP client (libcurl) for the CLI talking to a
 * running daemon: one request, JSON in and out, bounded answer.
 *
 * Every request says X-Lakehouse-Client, which the daemon wants on every
 * state-changing request a browser could otherwise send cross-site.
 *
 * Threads: any; each call uses its own easy handle. curl_global_init is
 * done once (pthread_once) since the CLI is single-threaded at that point.
 */
#include "cli.h"

#include "schedule/schedule.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    struct lh_buf *b = ud;
    size_t n = sz * nm;
    lh_buf_append(b, p, n);
    return lh_buf_ok(b) ? n : 0;
}

enum lh_status lh_cli_client_request(const char *url, const char *method, const char *token,
                                      const char *body, long timeout_ms, long *status,
                                      struct lh_buf *out, struct lh_error *err)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char line[1200];
    enum lh_status s = LH_OK;
    *status = 0;
    if (!c)
        return lh_error_set(err, LH_E_NOMEM, "cannot create an HTTP client");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");
    /* the daemon refuses a bodiless POST/PUT/DELETE without it (what a web
     * page on another site could send; docs/http.md "Browsers") */
    h = curl_slist_append(h, "X-Lakehouse-Client: lakehouse-cli");
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (token && token[0]) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
        lh_schedule_wipe(line, sizeof line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        s = lh_error_set(err, LH_E_CONNECT, "%s: %s", url, curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        lh_buf_cstr(out);
        if (!lh_buf_ok(out))
            s = lh_error_set(err, LH_E_TOOBIG, "%s: answer too large", url);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return s;
}
