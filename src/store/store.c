/*
 * store.c — the object store front: URL dispatch, key validation, listing
 * helpers and the named bucket set. Backends live in store_local.c and
 * store_s3.c behind the vtable of store_int.h.
 *
 * Error messages name keys relative to the bucket, never a path of the
 * host: they reach API error bodies and run records. Every failed call of
 * a local bucket goes through tidy(), which cuts the bucket's directory
 * (and the random suffix of a temporary name) out of the message, so
 * "write /srv/lake/primary/_runs/a/r.json.tmp-Xy12Ab: No space left on
 * device" becomes "write _runs/a/r.json: No space left on device".
 */
#include "store_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ keys */

enum lh_status lh_store_key_check(const char *key, struct lh_error *err)
{
    if (!key)
        return lh_error_set(err, LH_E_INVAL, "missing object key");
    size_t n = strlen(key);
    if (n == 0 || n > LH_STORE_KEY_MAX)
        return lh_error_set(err, LH_E_INVAL, "object key length %zu is outside 1..%d", n,
                            LH_STORE_KEY_MAX);
    if (key[0] == '/')
        return lh_error_set(err, LH_E_INVAL, "object key '%s' is an absolute path", key);
    if (key[n - 1] == '/')
        return lh_error_set(err, LH_E_INVAL, "object key '%s' ends with '/'", key);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return lh_error_set(err, LH_E_INVAL,
                                "object key contains a control character or backslash at byte %zu",
                                i);
    }
    const char *seg = key;
    while (seg) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return lh_error_set(err, LH_E_INVAL,
                                "object key '%s' has an empty, '.' or '..' segment", key);
        if (len >= 4 && strncmp(seg, ".lh-", 4) == 0)
            return lh_error_set(err, LH_E_INVAL, "object key '%s' uses the reserved '.lh-' prefix",
                                key);
        bool tmp = false;
        for (size_t i = 0; i + 5 <= len && !tmp; i++)
            tmp = memcmp(seg + i, ".tmp-", 5) == 0;
        if (tmp)
            return lh_error_set(err, LH_E_INVAL,
                                "object key '%s' contains the reserved '.tmp-' marker", key);
        seg = slash ? slash + 1 : NULL;
    }
    return LH_OK;
}

enum lh_status lh_store_name_check(const char *name, struct lh_error *err)
{
    if (!name || !*name)
        return lh_error_set(err, LH_E_INVAL, "empty name");
    size_t n = strlen(name);
    if (n > 200)
        return lh_error_set(err, LH_E_INVAL, "name is %zu bytes, over the 200 byte limit", n);
    if (name[0] == '.')
        return lh_error_set(err, LH_E_INVAL, "name '%s' starts with '.'", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return lh_error_set(err, LH_E_INVAL,
                                "name contains '%c' (allowed: letters, digits, '.', '_', '-')",
                                c >= 0x20 && c < 0x7f ? (char)c : '?');
    }
    if (strstr(name, ".tmp-"))
        return lh_error_set(err, LH_E_INVAL, "name '%s' contains the reserved '.tmp-'", name);
    return LH_OK;
}

/* ------------------------------------------------------------------ lists */

bool lh_store_list_add(struct lh_store_list *l, const char *key, size_t klen, uint64_t size)
{
    struct lh_store_entry *ni = lh_array_grow(l->items, &l->cap_, l->count, sizeof *ni, 64);
    if (!ni)
        return false;
    l->items = ni;
    char *k = lh_arena_strndup(&l->arena, key, klen);
    if (!k)
        return false;
    l->items[l->count].key = k;
    l->items[l->count].size = size;
    l->count++;
    return true;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct lh_store_entry *)a)->key, ((const struct lh_store_entry *)b)->key);
}

void lh_store_list_sort(struct lh_store_list *l)
{
    if (l->count > 1)
        qsort(l->items, l->count, sizeof *l->items, entry_cmp);
}

void lh_store_list_reset(struct lh_store_list *l)
{
    if (!l)
        return;
    free(l->items);
    lh_arena_reset(&l->arena);
    l->items = NULL;
    l->count = l->cap_ = 0;
}

/* ------------------------------------------------------------------ dispatch */

enum lh_status lh_store_open(const char *url, const struct lh_store_options *opt,
                             struct lh_store **out, struct lh_error *err)
{
    static const struct lh_store_options none;
    *out = NULL;
    if (!opt)
        opt = &none;
    if (!url || !*url)
        return lh_error_set(err, LH_E_INVAL, "empty store URL");
    if (strncmp(url, "s3://", 5) == 0) {
        const char *b = url + 5;
        const char *slash = strchr(b, '/');
        size_t blen = slash ? (size_t)(slash - b) : strlen(b);
        if (blen < 3 || blen > 63)
            return lh_error_set(err, LH_E_INVAL, "%s: S3 bucket name must be 3..63 characters",
                                url);
        for (size_t i = 0; i < blen; i++) {
            char c = b[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                return lh_error_set(err, LH_E_INVAL, "%s: invalid S3 bucket name", url);
        }
        char bucket[64];
        memcpy(bucket, b, blen);
        bucket[blen] = '\0';
        const char *prefix = slash ? slash + 1 : "";
        size_t pl = strlen(prefix);
        while (pl > 0 && prefix[pl - 1] == '/')
            pl--;
        char *pfx = strndup(prefix, pl);
        if (!pfx)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        enum lh_status s = LH_OK;
        if (pl > 0)
            s = lh_store_key_check(pfx, err);
        if (s == LH_OK)
            s = lh_store_s3_open(url, bucket, pfx, opt, out, err);
        free(pfx);
        return s;
    }
    if (strstr(url, "://") && strncmp(url, "file://", 7) != 0)
        return lh_error_set(err, LH_E_UNSUPPORTED,
                            "%s: unsupported store URL (use a directory, file:// or s3://)", url);
    const char *dir = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
    if (!*dir)
        return lh_error_set(err, LH_E_INVAL, "%s: empty directory", url);
    return lh_store_local_open(url, dir, opt, out, err);
}

void lh_store_close(struct lh_store *st)
{
    if (st)
        st->vt->close(st);
}

const char *lh_store_kind(const struct lh_store *st)
{
    return st->vt->kind;
}

const char *lh_store_url(const struct lh_store *st)
{
    return st->url;
}

static enum lh_status into(struct lh_buf *b, char *out, size_t cap, struct lh_error *err)
{
    lh_buf_cstr(b);
    enum lh_status s = LH_OK;
    if (!lh_buf_ok(b) || b->len >= cap)
        s = lh_error_set(err, LH_E_TOOBIG, "store location longer than %zu bytes", cap);
    else
        memcpy(out, b->data, b->len + 1);
    lh_buf_reset(b);
    return s;
}

/* A backend's text answer (fn: location, local_dir) into out. */
static enum lh_status text_of(const struct lh_store *st,
                              enum lh_status (*fn)(const struct lh_store *, struct lh_buf *,
                                                   struct lh_error *),
                              char *out, size_t cap, struct lh_error *err)
{
    struct lh_buf b;
    lh_buf_init(&b, 16384);
    enum lh_status s = fn(st, &b, err);
    if (s != LH_OK) {
        lh_buf_reset(&b);
        return s;
    }
    return into(&b, out, cap, err);
}

enum lh_status lh_store_location(const struct lh_store *st, char *out, size_t cap,
                                 struct lh_error *err)
{
    return text_of(st, st->vt->location, out, cap, err);
}

enum lh_status lh_store_local_dir(const struct lh_store *st, char *out, size_t cap,
                                  struct lh_error *err)
{
    if (!st->vt->local_dir)
        return lh_error_set(err, LH_E_UNSUPPORTED, "%s is not a directory on this machine",
                            st->url);
    return text_of(st, st->vt->local_dir, out, cap, err);
}

/* Removes every occurrence of dir (followed by '/', or whole) from msg,
 * and the "XXXXXX" of ".tmp-XXXXXX" temporary names. */
static void cut_dir(char *msg, size_t cap, const char *dir)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    char out[sizeof((struct lh_error *)0)->msg];
    size_t o = 0;
    for (const char *p = msg; *p && o + 1 < sizeof out;) {
        if (dl && strncmp(p, dir, dl) == 0) {
            if (p[dl] == '/') {
                p += dl + 1;
                continue;
            }
            if (p[dl] == '\0' || p[dl] == ' ' || p[dl] == ':' || p[dl] == ',') {
                const char *w = "the store directory";
                for (; *w && o + 1 < sizeof out; w++)
                    out[o++] = *w;
                p += dl;
                continue;
            }
        }
        if (strncmp(p, ".tmp-", 5) == 0) {
            size_t k = 5;
            while (k < 11 && p[k] && p[k] != ' ' && p[k] != ':' && p[k] != '\'' && p[k] != ',')
                k++;
            p += k;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    snprintf(msg, cap, "%s", out);
}

static enum lh_status tidy(const struct lh_store *st, enum lh_status s, struct lh_error *err)
{
    if (s != LH_OK && err && strcmp(st->vt->kind, "local") == 0)
        cut_dir(err->msg, sizeof err->msg, lh_store_local_root(st));
    return s;
}

#define CHECK_KEY(key)                                                                             \
    do {                                                                                           \
        enum lh_status ks_ = lh_store_key_check(key, err);                                         \
        if (ks_ != LH_OK)                                                                          \
            return ks_;                                                                            \
    } while (0)

enum lh_status lh_store_get(struct lh_store *st, const char *key, size_t max, uint8_t **out,
                            size_t *len, char *token, struct lh_error *err)
{
    *out = NULL;
    *len = 0;
    if (token)
        token[0] = '\0';
    CHECK_KEY(key);
    return tidy(st, st->vt->get(st, key, max ? max : LH_STORE_GET_DEFAULT_MAX, out, len, token, err), err);
}

enum lh_status lh_store_get_range(struct lh_store *st, const char *key, uint64_t off, void *buf,
                                  size_t n, struct lh_error *err)
{
    CHECK_KEY(key);
    if (n == 0)
        return LH_OK;
    if (off > UINT64_MAX - n)
        return lh_error_set(err, LH_E_INVAL, "range of %s out of bounds", key);
    return tidy(st, st->vt->get_range(st, key, off, buf, n, err), err);
}

enum lh_status lh_store_stat(struct lh_store *st, const char *key, uint64_t *size,
                             struct lh_error *err)
{
    CHECK_KEY(key);
    return tidy(st, st->vt->stat(st, key, size, err), err);
}

enum lh_status lh_store_put(struct lh_store *st, const char *key, const void *p, size_t n,
                            struct lh_error *err)
{
    CHECK_KEY(key);
    return tidy(st, st->vt->put(st, key, p, n, err), err);
}

enum lh_status lh_store_put_if_absent(struct lh_store *st, const char *key, const void *p, size_t n,
                                      struct lh_error *err)
{
    CHECK_KEY(key);
    return tidy(st, st->vt->put_if_absent(st, key, p, n, err), err);
}

enum lh_status lh_store_replace_if(struct lh_store *st, const char *key, const void *p, size_t n,
                                   const char *token, char *new_token, struct lh_error *err)
{
    if (new_token)
        new_token[0] = '\0';
    CHECK_KEY(key);
    if (!token || !*token)
        return lh_error_set(err, LH_E_INVAL, "replace of %s without a version token", key);
    return tidy(st, st->vt->replace_if(st, key, p, n, token, new_token, err), err);
}

enum lh_status lh_store_delete(struct lh_store *st, const char *key, struct lh_error *err)
{
    CHECK_KEY(key);
    return tidy(st, st->vt->del(st, key, err), err);
}

/* A list or sweep prefix stays inside the bucket. */
static enum lh_status prefix_check(const char *prefix, struct lh_error *err)
{
    if (strlen(prefix) > LH_STORE_KEY_MAX)
        return lh_error_set(err, LH_E_INVAL, "prefix too long");
    for (const char *c = prefix; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '\\')
            return lh_error_set(err, LH_E_INVAL, "prefix contains a control character");
    if (prefix[0] == '/' || strstr(prefix, "../") || strcmp(prefix, "..") == 0)
        return lh_error_set(err, LH_E_INVAL, "prefix '%s' escapes the bucket", prefix);
    return LH_OK;
}

enum lh_status lh_store_list(struct lh_store *st, const char *prefix, struct lh_store_list *out,
                             struct lh_error *err)
{
    memset(out, 0, sizeof *out);
    lh_arena_init(&out->arena, 0);
    if (!prefix)
        prefix = "";
    enum lh_status s = prefix_check(prefix, err);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "list");
    s = tidy(st, st->vt->list(st, prefix, out, err), err);
    if (s != LH_OK) {
        lh_store_list_reset(out);
        lh_arena_init(&out->arena, 0);
        return s;
    }
    lh_store_list_sort(out);
    return LH_OK;
}

enum lh_status lh_store_sweep(struct lh_store *st, const char *prefix, lh_store_sweep_fn dead,
                              void *ctx, struct lh_store_sweep_stats *stats, struct lh_error *err)
{
    struct lh_store_sweep_stats none;
    if (!stats)
        stats = &none;
    memset(stats, 0, sizeof *stats);
    if (!prefix)
        prefix = "";
    enum lh_status s = prefix_check(prefix, err);
    if (s != LH_OK)
        return s;
    return tidy(st, st->vt->sweep(st, prefix, dead, ctx, stats, err), err);
}

enum lh_status lh_store_upload_begin(struct lh_store *st, const char *key,
                                     struct lh_store_upload **up, struct lh_error *err)
{
    *up = NULL;
    CHECK_KEY(key);
    return tidy(st, st->vt->upload_begin(st, key, up, err), err);
}

enum lh_status lh_store_upload_write(struct lh_store_upload *up, const void *p, size_t n,
                                     struct lh_error *err)
{
    enum lh_status s = tidy(up->st, up->st->vt->upload_write(up, p, n, err), err);
    if (s == LH_OK)
        up->size += n;
    return s;
}

enum lh_status lh_store_upload_commit(struct lh_store_upload *up, struct lh_error *err)
{
    struct lh_store *st = up->st; /* commit frees up */
    return tidy(st, st->vt->upload_commit(up, err), err);
}

void lh_store_upload_abort(struct lh_store_upload *up)
{
    if (up)
        up->st->vt->upload_abort(up);
}

uint64_t lh_store_upload_size(const struct lh_store_upload *up)
{
    return up->size;
}

/* ------------------------------------------------------------------ bucket set */

struct bucket {
    char *name;
    struct lh_store *st;
};

struct lh_store_set {
    char *root;
    bool root_is_s3;
    struct lh_store_options opt;
    pthread_mutex_t mu; /* b, n, cap (see the top) */
    struct bucket *b;
    size_t n, cap;
    struct lh_store *primary; /* set at open, never changes */
};

static enum lh_status set_add(struct lh_store_set *set, const char *name, struct lh_store *st,
                              struct lh_error *err)
{
    struct bucket *nb = lh_array_grow(set->b, &set->cap, set->n, sizeof *nb, 4);
    if (!nb)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    set->b = nb;
    set->b[set->n].name = strdup(name);
    if (!set->b[set->n].name)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    set->b[set->n].st = st;
    set->n++;
    return LH_OK;
}

static struct lh_store *set_find(struct lh_store_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->b[i].name, name) == 0)
            return set->b[i].st;
    return NULL;
}

static enum lh_status open_derived(struct lh_store_set *set, const char *name,
                                   struct lh_store **out, struct lh_error *err)
{
    *out = NULL;
    if (set->root_is_s3) {
        if (strcmp(name, "primary") != 0)
            return lh_error_set(err, LH_E_NOTFOUND, "bucket '%s' is not configured", name);
        return lh_store_open(set->root, &set->opt, out, err);
    }
    size_t n = strlen(set->root) + strlen(name) + 2;
    char *dir = malloc(n);
    if (!dir)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    snprintf(dir, n, "%s/%s", set->root, name);
    struct lh_store_options o = set->opt;
    o.create = true;
    enum lh_status s = lh_store_open(dir, &o, out, err);
    free(dir);
    return s;
}

static enum lh_status load_config(struct lh_store_set *set, const char *path, struct lh_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    enum lh_status s = lh_file_read_all(path, 1u << 20, &data, &len, err);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "store config");
    json_error_t je;
    root = json_loadb((const char *)data, len, 0, &je);
    if (!root) {
        s = lh_error_set(err, LH_E_FORMAT, "store config %s: line %d: %s", path, je.line, je.text);
        goto fail;
    }
    json_t *buckets = json_object_get(root, "buckets");
    if (!json_is_object(buckets)) {
        s = lh_error_set(err, LH_E_FORMAT, "store config %s: missing \"buckets\" object", path);
        goto fail;
    }
    const char *name;
    json_t *b;
    json_object_foreach(buckets, name, b)
    {
        s = lh_store_name_check(name, err);
        if (s != LH_OK) {
            lh_error_prefix(err, "store config %s: bucket", path);
            goto fail;
        }
        const char *url = json_string_value(json_object_get(b, "url"));
        if (!json_is_object(b) || !url) {
            s = lh_error_set(err, LH_E_FORMAT, "store config %s: bucket '%s' needs a \"url\"", path,
                             name);
            goto fail;
        }
        if (set_find(set, name)) {
            s = lh_error_set(err, LH_E_FORMAT, "store config %s: bucket '%s' twice", path, name);
            goto fail;
        }
        struct lh_store_options o = set->opt;
        const char *ep = json_string_value(json_object_get(b, "endpoint"));
        const char *rg = json_string_value(json_object_get(b, "region"));
        if (ep)
            o.endpoint = ep;
        if (rg)
            o.region = rg;
        json_t *vh = json_object_get(b, "virtual_host");
        if (json_is_boolean(vh))
            o.virtual_host = json_is_true(vh);
        o.create = true;
        struct lh_store *st = NULL;
        s = lh_store_open(url, &o, &st, err);
        if (s != LH_OK) {
            lh_error_prefix(err, "store config %s: bucket '%s'", path, name);
            goto fail;
        }
        s = set_add(set, name, st, err);
        if (s != LH_OK) {
            lh_store_close(st);
            goto fail;
        }
    }
fail:
    json_decref(root);
    free(data);
    return s;
}

enum lh_status lh_store_set_open(const char *root, const char *config_path,
                                 const struct lh_store_options *opt, struct lh_store_set **out,
                                 struct lh_error *err)
{
    enum lh_status s = LH_OK;
    *out = NULL;
    if (!root || !*root) {
        root = getenv("LAKEHOUSE_DATA");
        if (!root || !*root)
            root = "./lakehouse-data";
    }
    struct lh_store_set *set = calloc(1, sizeof *set);
    if (!set)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    pthread_mutex_init(&set->mu, NULL);
    if (opt)
        set->opt = *opt;
    set->root = strdup(root);
    if (!set->root) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    set->root_is_s3 = strncmp(root, "s3://", 5) == 0;
    if (config_path) {
        s = load_config(set, config_path, err);
        if (s != LH_OK)
            goto fail;
    }
    if (!set_find(set, "primary")) {
        struct lh_store *st = NULL;
        s = open_derived(set, "primary", &st, err);
        if (s != LH_OK)
            goto fail;
        s = set_add(set, "primary", st, err);
        if (s != LH_OK) {
            lh_store_close(st);
            goto fail;
        }
    }
    set->primary = set_find(set, "primary");
    *out = set;
    return LH_OK;
fail:
    lh_store_set_close(set);
    return s;
}

void lh_store_set_close(struct lh_store_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->b[i].name);
        lh_store_close(set->b[i].st);
    }
    free(set->b);
    free(set->root);
    pthread_mutex_destroy(&set->mu);
    free(set);
}

enum lh_status lh_store_set_get(struct lh_store_set *set, const char *bucket, struct lh_store **out,
                                struct lh_error *err)
{
    *out = NULL;
    enum lh_status s = lh_store_name_check(bucket, err);
    if (s != LH_OK)
        return s;
    /* opening a derived bucket is a mkdir or nothing at all: done under the
     * lock, so two threads asking for a new bucket get the same store */
    pthread_mutex_lock(&set->mu);
    struct lh_store *st = set_find(set, bucket);
    if (st)
        goto done;
    s = open_derived(set, bucket, &st, err);
    if (s != LH_OK) {
        if (err && !set->root_is_s3)
            cut_dir(err->msg, sizeof err->msg, set->root);
        goto done;
    }
    s = set_add(set, bucket, st, err);
    if (s != LH_OK) {
        lh_store_close(st);
        st = NULL;
    }
done:
    pthread_mutex_unlock(&set->mu);
    *out = st;
    return s;
}

struct lh_store *lh_store_set_primary(struct lh_store_set *set)
{
    return set->primary;
}
