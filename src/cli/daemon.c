/*
 * daemon.c — see daemon.h: the CLI's way to a running daemon (the daemon's
 * side of the file and the lease is in app: app/daemon.c).
 */
#include "daemon.h"

#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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
    char url[1200];
    snprintf(url, sizeof url, "%s/api/health", ref->url);
    /* a health answer is quick; a daemon that does not give one within
     * seconds is reported (ref->problem), not waited for */
    bool ok = lh_cli_client_request(url, "GET", ref->token, NULL, 10000, &st, &b, &err) == LH_OK &&
              st == 200;
    lh_buf_reset(&b);
    return ok;
}

static bool find_file(struct lh_store *st, struct lh_daemon_ref *ref);

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
    if (find_file(st, ref))
        return true;
    /* nobody answered: is the store served all the same? */
    bool held = false;
    char holder[1024], line[400];
    struct lh_error err;
    if (lh_store_lease_probe(st, LH_DAEMON_LEASE, &held, holder, sizeof holder, &err) != LH_OK) {
        snprintf(ref->problem, sizeof ref->problem,
                 "cannot tell whether a daemon serves this store (%.400s); pass --server URL",
                 err.msg);
        return false;
    }
    if (held) {
        lh_daemon_holder_line(holder, line, sizeof line);
        snprintf(ref->problem, sizeof ref->problem,
                 "a daemon serves this store (%s) but cannot be reached (its _daemon.json is "
                 "missing or it did not answer GET /api/health); try again, or pass --server URL",
                 line);
    }
    return false;
}

/* The daemon named by _daemon.json, when it is on this host, alive and
 * answers. */
static bool find_file(struct lh_store *st, struct lh_daemon_ref *ref)
{
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
    return lh_cli_client_request(url, method, ref->token, body, 600000, status, out, err);
}

bool lh_daemon_schedule_path(char *out, size_t cap, const char *id, const char *tail)
{
    size_t o = (size_t)snprintf(out, cap, "/api/schedules/");
    for (const unsigned char *p = (const unsigned char *)id; *p && o + 4 < cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    return snprintf(out + o, cap - o, "%s", tail) < (int)(cap - o);
}

long lh_daemon_request(const struct lh_daemon_ref *ref, const char *what, const char *method,
                       const char *path, const char *body, struct lh_buf *out)
{
    long st = 0;
    struct lh_error err;
    lh_buf_clear(out);
    if (lh_daemon_call(ref, method, path, body, &st, out, &err) != LH_OK) {
        lh_cli_error("%s: daemon at %s: %s", what, ref->url, err.msg);
        return 0;
    }
    if (st < 200 || st > 299) {
        char msg[900];
        lh_daemon_error_text(out, st, msg, sizeof msg);
        lh_cli_error("%s: %s", what, msg);
    }
    return st;
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
