/*
 * store_lease.c — one owner per store: the lease a daemon holds while it
 * serves a store (store.h, docs/daemon.md).
 *
 * Local directory: an exclusive flock(2) on "<bucket dir>/.lh-<name>.lock",
 * taken with LOCK_NB and held by an open descriptor (O_CLOEXEC) for the
 * life of the lease. The kernel drops it when the descriptor closes, and
 * so when the process dies however it dies (kill -9, a crash): a lock never
 * outlives its daemon and there is nothing to expire. The file holds the
 * owner's text (rewritten by lh_store_lease_set_owner) so a refused
 * contender can name the holder. The file is never unlinked: unlinking a
 * lock file lets two processes lock two different inodes.
 *
 * Any other backend (S3): the object "_lease/<name>.json"
 *   {"instance": "...", "owner": <owner text>, "ttl_secs": N,
 *    "renewed_at": "...", "expires_at": "..."}
 * created with put_if_absent, taken over once expires_at has passed with
 * replace_if on the token read, and renewed by the holder (the caller's
 * heartbeat, every lh_store_lease_renew_secs) with replace_if on its own
 * token. After writing, the acquirer waits LEASE_SETTLE_MS and reads the
 * object again: on servers that ignore If-None-Match / If-Match the
 * backend's HEAD-and-compare leaves a window of about one round trip in
 * which two contenders both write; the later write wins and the earlier
 * one sees it on the re-read and backs off. What this cannot guarantee
 * without conditional writes enforced by the server, and never with
 * clocks that disagree (expiry is judged on the contender's clock against
 * the holder's expires_at), is written in docs/daemon.md.
 *
 * Threads: a lease object is called from one thread at a time (the
 * holder's heartbeat); the store under it (borrowed) may serve any number
 * of other threads meanwhile (store.h). Nothing here is shared between
 * leases.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LEASE_SETTLE_MS 750
#define LEASE_DEFAULT_TTL 30
#define LEASE_OWNER_MAX 4096
/* how often a contender retries a held local lock before giving up: a
 * CLI's lh_store_lease_probe holds a shared lock for microseconds */
#define LOCAL_TRIES 5

struct lh_store_lease {
    struct lh_store *st;
    char name[64];
    int fd;             /* local: the locked descriptor; -1 otherwise */
    unsigned ttl;       /* remote */
    char instance[40];  /* remote: ours */
    char token[LH_STORE_TOKEN_MAX];
    char *owner;
};

static bool is_local(const struct lh_store *st)
{
    return strcmp(lh_store_kind(st), "local") == 0;
}

/* Checks a lease name; the holder text starts empty. */
static enum lh_status name_ok(const char *name, char *holder, size_t holder_cap,
                              struct lh_error *err)
{
    if (holder && holder_cap)
        holder[0] = '\0';
    if (!name || !*name || strlen(name) >= 64)
        return lh_error_set(err, LH_E_INVAL, "lease name must be 1..63 bytes");
    return lh_store_name_check(name, err);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void copy_holder(char *holder, size_t cap, const char *text, size_t n)
{
    if (!holder || !cap)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(holder, text, n);
    holder[n] = '\0';
    /* one line: the owner text is JSON, but never trust a file */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)holder[i] < 0x20)
            holder[i] = ' ';
}

/* ------------------------------------------------------------------ local */

static char *lock_path(struct lh_store *st, const char *name)
{
    const char *root = lh_store_local_root(st);
    size_t n = strlen(root) + strlen(name) + 16;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.lh-%s.lock", root, name);
    return p;
}

static void read_fd(int fd, char *holder, size_t cap)
{
    char buf[LEASE_OWNER_MAX];
    ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
    if (r < 0)
        r = 0;
    copy_holder(holder, cap, buf, (size_t)r);
}

static enum lh_status write_fd(int fd, const char *owner, struct lh_error *err)
{
    size_t n = strlen(owner);
    if (ftruncate(fd, 0) != 0)
        return lh_error_errno(err, errno, "lease file: truncate");
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(fd, owner + off, n - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return lh_error_errno(err, errno, "lease file: write");
        off += (size_t)w;
    }
    return LH_OK;
}

static enum lh_status local_acquire(struct lh_store_lease *l, char *holder, size_t cap,
                                    struct lh_error *err)
{
    char *path = lock_path(l->st, l->name);
    if (!path)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = LH_OK;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (fd < 0)
        return lh_error_errno(err, errno, "lease .lh-%s.lock: open", l->name);
    for (int i = 0;; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            s = lh_error_errno(err, errno, "lease .lh-%s.lock: lock", l->name);
            goto fail;
        }
        if (i + 1 >= LOCAL_TRIES) {
            read_fd(fd, holder, cap);
            s = lh_error_set(err, LH_E_EXISTS, "lease '%s' is held by another process", l->name);
            goto fail;
        }
        sleep_ms(100);
    }
    s = write_fd(fd, l->owner, err);
    if (s != LH_OK)
        goto fail;
    l->fd = fd;
    return LH_OK;
fail:
    close(fd);
    return s;
}

static enum lh_status local_probe(struct lh_store *st, const char *name, bool *held,
                                  char *holder, size_t cap, struct lh_error *err)
{
    char *path = lock_path(st, name);
    if (!path)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) {
        if (errno == ENOENT)
            return LH_OK; /* never taken */
        return lh_error_errno(err, errno, "lease .lh-%s.lock: open", name);
    }
    enum lh_status s = LH_OK;
    for (;;) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
            flock(fd, LOCK_UN);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK) {
            *held = true;
            read_fd(fd, holder, cap);
        } else {
            s = lh_error_errno(err, errno, "lease .lh-%s.lock: lock", name);
        }
        break;
    }
    close(fd);
    return s;
}

/* ------------------------------------------------------------------ remote */

static void lease_key(const char *name, char *key, size_t cap)
{
    snprintf(key, cap, "_lease/%s.json", name);
}

struct remote_view {
    json_t *doc;
    const char *instance;
    int64_t expires_us;
};

/* Parses a lease object; a damaged one counts as expired (it cannot name
 * a live holder) but is reported in the log. */
static void view_parse(const char *key, const uint8_t *p, size_t n, struct remote_view *v)
{
    memset(v, 0, sizeof *v);
    v->doc = json_loadb((const char *)p, n, 0, NULL);
    const char *exp = json_string_value(json_object_get(v->doc, "expires_at"));
    v->instance = json_string_value(json_object_get(v->doc, "instance"));
    struct lh_error e;
    if (!exp || !v->instance || lh_time_parse_iso(exp, &v->expires_us, &e) != LH_OK) {
        lh_warn("lease %s is damaged; treating it as expired", key);
        v->expires_us = 0;
        v->instance = NULL;
    }
}

/* Reads and parses the lease object at key (tok, may be NULL, gets its
 * version); v->doc is the caller's to json_decref when this returns LH_OK.
 * LH_E_NOTFOUND when there is none. */
static enum lh_status view_read(struct lh_store *st, const char *key, char *tok,
                                struct remote_view *v, struct lh_error *err)
{
    uint8_t *p = NULL;
    size_t n = 0;
    enum lh_status s = lh_store_get(st, key, 64u << 10, &p, &n, tok, err);
    if (s == LH_OK)
        view_parse(key, p, n, v);
    free(p);
    return s;
}

/* The holder's owner text of a lease object, for a refusal. */
static void view_holder(const struct remote_view *v, char *holder, size_t cap)
{
    json_t *o = json_object_get(v->doc, "owner");
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (t) {
        copy_holder(holder, cap, t, strlen(t));
        free(t);
    } else {
        copy_holder(holder, cap, "", 0);
    }
}

static char *remote_doc(const struct lh_store_lease *l)
{
    int64_t now = lh_time_wall_us();
    char at[48], exp[48];
    lh_time_format_iso(now, at, sizeof at);
    lh_time_format_iso(now + (int64_t)l->ttl * 1000000, exp, sizeof exp);
    json_t *owner = json_loads(l->owner, JSON_DECODE_ANY, NULL);
    if (!owner)
        owner = json_string(l->owner);
    json_t *o = json_pack("{s:s, s:o, s:I, s:s, s:s}", "instance", l->instance, "owner", owner,
                          "ttl_secs", (json_int_t)l->ttl, "renewed_at", at, "expires_at", exp);
    char *t = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    return t;
}

static enum lh_status remote_acquire(struct lh_store_lease *l, char *holder, size_t cap,
                                     struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    lease_key(l->name, key, sizeof key);
    lh_random_hex(l->instance, 16);
    enum lh_status s = LH_OK;
    for (int attempt = 0; attempt < 3; attempt++) {
        char tok[LH_STORE_TOKEN_MAX] = "";
        struct remote_view v;
        s = view_read(l->st, key, tok, &v, err);
        if (s != LH_OK && s != LH_E_NOTFOUND)
            return s;
        bool absent = s == LH_E_NOTFOUND;
        if (!absent) {
            if (v.instance && v.expires_us > lh_time_wall_us()) {
                view_holder(&v, holder, cap);
                json_decref(v.doc);
                return lh_error_set(err, LH_E_EXISTS, "lease '%s' is held by another daemon",
                                    l->name);
            }
            json_decref(v.doc);
        }
        char *doc = remote_doc(l);
        if (!doc)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        s = absent ? lh_store_put_if_absent(l->st, key, doc, strlen(doc), err)
                   : lh_store_replace_if(l->st, key, doc, strlen(doc), tok, NULL, err);
        free(doc);
        if (s == LH_E_EXISTS || s == LH_E_CONFLICT || s == LH_E_NOTFOUND)
            continue; /* someone else moved first: look again */
        if (s != LH_OK)
            return s;
        /* a server that ignores conditional headers may have let a second
         * contender write at the same moment: the later write wins */
        sleep_ms(LEASE_SETTLE_MS);
        s = view_read(l->st, key, l->token, &v, err);
        if (s != LH_OK)
            return s;
        bool mine = v.instance && strcmp(v.instance, l->instance) == 0;
        if (!mine)
            view_holder(&v, holder, cap);
        json_decref(v.doc);
        if (mine)
            return LH_OK;
        return lh_error_set(err, LH_E_EXISTS,
                            "lease '%s' was taken by another daemon at the same moment", l->name);
    }
    if (s == LH_OK || s == LH_E_EXISTS || s == LH_E_CONFLICT || s == LH_E_NOTFOUND)
        s = lh_error_set(err, LH_E_CONFLICT, "lease '%s': still contended after 3 attempts",
                         l->name);
    return s;
}

static enum lh_status remote_renew(struct lh_store_lease *l, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    lease_key(l->name, key, sizeof key);
    char *doc = remote_doc(l);
    if (!doc)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    char nt[LH_STORE_TOKEN_MAX] = "";
    enum lh_status s = lh_store_replace_if(l->st, key, doc, strlen(doc), l->token, nt, err);
    free(doc);
    if (s == LH_E_CONFLICT || s == LH_E_NOTFOUND)
        return lh_error_set(err, LH_E_STATE,
                            "lease '%s' was taken over or removed by another process", l->name);
    if (s != LH_OK)
        return s;
    if (nt[0]) {
        memcpy(l->token, nt, sizeof nt);
        return LH_OK;
    }
    uint8_t *p = NULL;
    size_t n;
    s = lh_store_get(l->st, key, 64u << 10, &p, &n, l->token, err);
    free(p);
    return s;
}

static enum lh_status remote_probe(struct lh_store *st, const char *name, bool *held,
                                   char *holder, size_t cap, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    lease_key(name, key, sizeof key);
    struct remote_view v;
    enum lh_status s = view_read(st, key, NULL, &v, err);
    if (s == LH_E_NOTFOUND)
        return LH_OK;
    if (s != LH_OK)
        return s;
    if (v.instance && v.expires_us > lh_time_wall_us()) {
        *held = true;
        view_holder(&v, holder, cap);
    }
    json_decref(v.doc);
    return LH_OK;
}

/* ------------------------------------------------------------------ public */

enum lh_status lh_store_lease_acquire(struct lh_store *st, const char *name, const char *owner,
                                      unsigned ttl_secs, struct lh_store_lease **out,
                                      char *holder, size_t holder_cap, struct lh_error *err)
{
    *out = NULL;
    enum lh_status s = name_ok(name, holder, holder_cap, err);
    if (s != LH_OK)
        return s;
    if (!owner || strlen(owner) >= LEASE_OWNER_MAX)
        return lh_error_set(err, LH_E_INVAL, "lease owner text must be under %d bytes",
                            LEASE_OWNER_MAX);
    struct lh_store_lease *l = calloc(1, sizeof *l);
    if (!l || !(l->owner = strdup(owner))) {
        free(l);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    l->st = st;
    l->fd = -1;
    l->ttl = ttl_secs ? ttl_secs : LEASE_DEFAULT_TTL;
    snprintf(l->name, sizeof l->name, "%s", name);
    s = is_local(st) ? local_acquire(l, holder, holder_cap, err)
                     : remote_acquire(l, holder, holder_cap, err);
    if (s != LH_OK) {
        free(l->owner);
        free(l);
        return s;
    }
    *out = l;
    return LH_OK;
}

unsigned lh_store_lease_renew_secs(const struct lh_store_lease *l)
{
    if (l->fd >= 0)
        return 0;
    return l->ttl / 3 ? l->ttl / 3 : 1;
}

enum lh_status lh_store_lease_renew(struct lh_store_lease *l, struct lh_error *err)
{
    if (l->fd >= 0)
        return LH_OK;
    return remote_renew(l, err);
}

enum lh_status lh_store_lease_set_owner(struct lh_store_lease *l, const char *owner,
                                        struct lh_error *err)
{
    if (!owner || strlen(owner) >= LEASE_OWNER_MAX)
        return lh_error_set(err, LH_E_INVAL, "lease owner text must be under %d bytes",
                            LEASE_OWNER_MAX);
    char *c = strdup(owner);
    if (!c)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    free(l->owner);
    l->owner = c;
    if (l->fd >= 0)
        return write_fd(l->fd, l->owner, err);
    return remote_renew(l, err);
}

void lh_store_lease_release(struct lh_store_lease *l)
{
    if (!l)
        return;
    if (l->fd >= 0) {
        close(l->fd); /* drops the flock */
    } else {
        /* delete only while it is still ours */
        char key[LH_STORE_KEY_MAX];
        lease_key(l->name, key, sizeof key);
        struct lh_error e;
        struct remote_view v;
        if (view_read(l->st, key, NULL, &v, &e) == LH_OK) {
            if (v.instance && strcmp(v.instance, l->instance) == 0 &&
                lh_store_delete(l->st, key, &e) != LH_OK)
                lh_warn("lease %s: cannot remove it: %s", key, e.msg);
            json_decref(v.doc);
        }
    }
    free(l->owner);
    free(l);
}

enum lh_status lh_store_lease_probe(struct lh_store *st, const char *name, bool *held,
                                    char *holder, size_t holder_cap, struct lh_error *err)
{
    *held = false;
    enum lh_status s = name_ok(name, holder, holder_cap, err);
    if (s != LH_OK)
        return s;
    return is_local(st) ? local_probe(st, name, held, holder, holder_cap, err)
                        : remote_probe(st, name, held, holder, holder_cap, err);
}
