/*
 * daemon.c — the daemon's side of `_daemon.json` and of the store's daemon
 * lease (app.h, app_int.h; docs/daemon.md): instance ids, the lease's owner
 * text and its one-line description, writing and removing the file.
 */
#include "app_int.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void lh_daemon_instance_make(char out[LH_DAEMON_INSTANCE_MAX])
{
    lh_random_hex(out, 16);
}

/* "http://ADDR", a wildcard listen address reached on loopback. */
static void url_of(const char *address, char *url, size_t cap)
{
    if (strncmp(address, "0.0.0.0:", 8) == 0)
        snprintf(url, cap, "http://127.0.0.1:%s", address + 8);
    else if (strncmp(address, "[::]:", 5) == 0)
        snprintf(url, cap, "http://[::1]:%s", address + 5);
    else
        snprintf(url, cap, "http://%s", address);
}

void lh_daemon_owner_text(const char *instance, int64_t started_us, const char *address,
                          char *out, size_t cap)
{
    char host[256] = "", at[48], url[400];
    gethostname(host, sizeof host - 1);
    lh_time_format_iso(started_us, at, sizeof at);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "pid", (json_int_t)getpid(), "host", host,
                          "instance", instance, "started_at", at);
    if (o && address) {
        url_of(address, url, sizeof url);
        json_object_set_new(o, "url", json_string(url));
    }
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(out, cap, "%s", t ? t : "{}");
    free(t);
    json_decref(o);
}

void lh_daemon_holder_line(const char *owner, char *out, size_t cap)
{
    json_t *o = owner ? json_loads(owner, 0, NULL) : NULL;
    json_t *pid = json_object_get(o, "pid");
    const char *host = json_string_value(json_object_get(o, "host"));
    const char *url = json_string_value(json_object_get(o, "url"));
    const char *at = json_string_value(json_object_get(o, "started_at"));
    if (!json_is_integer(pid)) {
        snprintf(out, cap, "a process whose details cannot be read");
    } else {
        snprintf(out, cap, "pid %lld on host %s, %s, started %s",
                 (long long)json_integer_value(pid), host ? host : "?",
                 url ? url : "not listening yet", at ? at : "?");
    }
    json_decref(o);
}

enum lh_status lh_daemon_file_write(struct lh_store *st, const char *address, bool auth,
                                    const char *instance, struct lh_error *err)
{
    char host[256] = "", at[48];
    gethostname(host, sizeof host - 1);
    lh_time_format_iso(lh_time_wall_us(), at, sizeof at);
    char url[400];
    url_of(address, url, sizeof url);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:b, s:s, s:s}", "pid", (json_int_t)getpid(),
                          "host", host, "url", url, "started_at", at, "auth", auth, "version",
                          LH_VERSION, "instance", instance);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!text)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = lh_store_put(st, LH_DAEMON_FILE, text, strlen(text), err);
    free(text);
    return s;
}

void lh_daemon_file_remove(struct lh_store *st, const char *instance)
{
    struct lh_error err;
    uint8_t *p = NULL;
    size_t n = 0;
    if (lh_store_get(st, LH_DAEMON_FILE, 64u << 10, &p, &n, NULL, &err) != LH_OK) {
        if (err.status != LH_E_NOTFOUND)
            lh_warn("serve: cannot read %s: %s", LH_DAEMON_FILE, err.msg);
        return;
    }
    json_t *o = json_loadb((const char *)p, n, 0, NULL);
    free(p);
    const char *who = json_string_value(json_object_get(o, "instance"));
    bool mine = who && strcmp(who, instance) == 0;
    json_decref(o);
    if (!mine) {
        lh_warn("serve: %s names another daemon now; left in place", LH_DAEMON_FILE);
        return;
    }
    if (lh_store_delete(st, LH_DAEMON_FILE, &err) != LH_OK)
        lh_warn("serve: cannot remove %s: %s", LH_DAEMON_FILE, err.msg);
}

