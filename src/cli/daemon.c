/*
 * daemon.c — see daemon.h: the daemon file, and the CLI's way to a running
 * daemon.
 */
#include "daemon.h"

#include "http/http.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum lh_status lh_daemon_file_write(struct lh_store *st, const char *address, bool auth,
                                    struct lh_error *err)
{
    char host[256] = "", at[48];
    gethostname(host, sizeof host - 1);
    lh_time_format_iso(lh_time_wall_us(), at, sizeof at);
    char url[400];
    /* a wildcard listen address is reached on loopback */
    if (strncmp(address, "0.0.0.0:", 8) == 0)
        snprintf(url, sizeof url, "http://127.0.0.1:%s", address + 8);
    else if (strncmp(address, "[::]:", 5) == 0)
        snprintf(url, sizeof url, "http://[::1]:%s", address + 5);
    else
        snprintf(url, sizeof url, "http://%s", address);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:b, s:s}", "pid", (json_int_t)getpid(), "host",
                          host, "url", url, "started_at", at, "auth", auth, "version", LH_VERSION);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!text)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = lh_store_put(st, LH_DAEMON_FILE, text, strlen(text), err);
    free(text);
    return s;
}

void lh_daemon_file_remove(struct lh_store *st)
{
    struct lh_error err;
    if (lh_store_delete(st, LH_DAEMON_FILE, &err) != LH_OK)
        lh_warn("serve: cannot remove %s: %s", LH_DAEMON_FILE, err.msg);
}

static void load_token(struct lh_daemon_ref *ref)
{
    const char *t = getenv("LAKEHOUSE_TOKEN");
    ref->token[0] = '\0';
    if (t && *t) {
        snprintf(ref->token, sizeof ref->token, "%s", t);
        return;
    }
    const char *f = getenv("LAKEHOUSE_TOKEN_FILE");
    uint8_t *p = NULL;
    size_t n = 0;
    struct lh_error err;
    if (f && *f && lh_file_read_all(f, sizeof ref->token - 1, &p, &n, &err) == LH_OK) {
        while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        snprintf(ref->token, sizeof ref->token, "%.*s", (int)n, (const char *)p);
    }
    free(p);
}

static bool answers(const struct lh_daemon_ref *ref)
{
    struct lh_buf b;
    long st = 0;
    struct lh_error err;
    lh_buf_init(&b, 64u << 10);
    bool ok = lh_daemon_call(ref, "GET", "/api/health", NULL, &st, &b, &err) == LH_OK && st == 200;
    lh_buf_free(&b);
    return ok;
}

bool lh_daemon_find(struct lh_store *st, const char *server, struct lh_daemon_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    load_token(ref);
    if (!server || !*server)
        server = getenv("LAKEHOUSE_SERVER");
    if (server && *server) {
        size_t n = strlen(server);
        while (n && server[n - 1] == '/')
            n--;
        snprintf(ref->url, sizeof ref->url, "%.*s", (int)n, server);
        ref->explicit_ = true;
        return true; /* asked for explicitly: failures are reported by the call */
    }
    if (!st)
        return false;
    uint8_t *p = NULL;
    size_t n = 0;
    struct lh_error err;
    if (lh_store_get(st, LH_DAEMON_FILE, 64u << 10, &p, &n, NULL, &err) != LH_OK)
        return false;
    json_t *o = json_loadb((const char *)p, n, 0, NULL);
    free(p);
    bool found = false;
    json_t *pid = json_object_get(o, "pid"), *host = json_object_get(o, "host"),
           *url = json_object_get(o, "url");
    if (json_is_integer(pid) && json_is_string(host) && json_is_string(url)) {
        char me[256] = "";
        gethostname(me, sizeof me - 1);
        pid_t id = (pid_t)json_integer_value(pid);
        bool alive = strcmp(me, json_string_value(host)) == 0 && id > 0 &&
                     (kill(id, 0) == 0 || errno == EPERM);
        if (alive) {
            snprintf(ref->url, sizeof ref->url, "%s", json_string_value(url));
            found = answers(ref);
        }
    }
    json_decref(o);
    return found;
}

enum lh_status lh_daemon_call(const struct lh_daemon_ref *ref, const char *method,
                              const char *path, const char *body, long *status,
                              struct lh_buf *out, struct lh_error *err)
{
    char url[1200];
    snprintf(url, sizeof url, "%s%s", ref->url, path);
    return lh_http_client_request(url, method, ref->token, body, 600000, status, out, err);
}

void lh_daemon_error_text(const struct lh_buf *body, long status, char *msg, size_t cap)
{
    json_t *o = body->len ? json_loadb((const char *)body->data, body->len, 0, NULL) : NULL;
    json_t *e = json_object_get(o, "error");
    if (json_is_string(e))
        snprintf(msg, cap, "%s (HTTP %ld)", json_string_value(e), status);
    else
        snprintf(msg, cap, "the daemon answered HTTP %ld", status);
    json_decref(o);
}
