/*
 * store_local.c — the local directory backend: one directory per bucket,
 * keys are relative paths below it.
 *
 * put / upload: core's atomic file (temp "<path>.tmp-XXXXXX" in the same
 * directory, fsync, rename, directory fsync), so a reader sees the old or
 * the new object, never a prefix, and a failed write leaves the old one.
 * put_if_absent: the temp file is link()ed to the final name; link fails
 * with EEXIST atomically, so of two creators exactly one wins.
 * replace_if: an exclusive flock on "<root>/.lh-locks/<sha256(key)>" held
 * while the current content is hashed, compared with the caller's token and
 * replaced. The token is the sha256 of the content. Locks are per open file
 * description, so this is safe across processes and threads.
 * delete is a plain unlink (no lock, so deleting parts and events leaves no
 * lock files behind); a delete racing a replace_if of the same key may be
 * undone by it — records are never deleted while being updated.
 *
 * Threads: struct local is written once at open (url, root) and only read
 * after; every call keeps its paths, descriptors and buffers to itself, and
 * the temporary names come from mkstemp, so any number of threads may call
 * one store at once. The flock of replace_if is taken on a descriptor of
 * the call's own, so two threads of one process exclude each other just as
 * two processes do.
 */
#include "store_int.h"

#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
    struct lh_store base;
    char *root;
};

struct local_upload {
    struct lh_store_upload base;
    struct lh_atomic_file f;
};

/* The file of key under the store's root (caller frees); NULL, err set,
 * when out of memory. */
static char *key_path(struct lh_store *st, const char *key, struct lh_error *err)
{
    const struct local *l = (const struct local *)st;
    size_t n = strlen(l->root) + strlen(key) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", l->root, key);
    else
        lh_error_set(err, LH_E_NOMEM, "out of memory");
    return p;
}

static enum lh_status mkparent(const char *path, struct lh_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return LH_OK;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    struct stat st;
    enum lh_status s = LH_OK;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        s = lh_mkdir_p(dir, err);
    free(dir);
    return s;
}

static void local_close(struct lh_store *st)
{
    struct local *l = (struct local *)st;
    free(l->root);
    free(l->base.url);
    free(l);
}

static enum lh_status local_get(struct lh_store *st, const char *key, size_t max, uint8_t **out,
                                size_t *len, char *token, struct lh_error *err)
{
    char *path = key_path(st, key, err);
    if (!path)
        return LH_E_NOMEM;
    enum lh_status s = lh_file_read_all(path, max, out, len, err);
    if (s == LH_E_NOTFOUND)
        lh_error_set(err, LH_E_NOTFOUND, "object %s not found", key);
    else if (s == LH_E_INVAL) { /* a directory (or a device) where an object should be */
        struct stat sb;
        bool isdir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
        s = lh_error_set(err, LH_E_FORMAT, "%s is a %s, not an object", key,
                         isdir ? "directory" : "special file");
    }
    if (s == LH_OK && token)
        lh_sha256_hex(*out, *len, token);
    free(path);
    return s;
}

static enum lh_status local_get_range(struct lh_store *st, const char *key, uint64_t off,
                                      void *buf, size_t n, struct lh_error *err)
{
    char *path = key_path(st, key, err);
    if (!path)
        return LH_E_NOMEM;
    enum lh_status s = LH_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s = errno == ENOENT ? lh_error_set(err, LH_E_NOTFOUND, "object %s not found", key)
                            : lh_error_errno(err, errno, "open %s", path);
        goto fail;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            s = lh_error_errno(err, errno, "read %s", path);
            goto fail;
        }
        if (r == 0) {
            s = lh_error_set(err, LH_E_FORMAT, "object %s ends before byte %" PRIu64, key,
                             off + n);
            goto fail;
        }
        got += (size_t)r;
    }
fail:
    if (fd >= 0)
        close(fd);
    free(path);
    return s;
}

static enum lh_status local_stat(struct lh_store *st, const char *key, uint64_t *size,
                                 struct lh_error *err)
{
    char *path = key_path(st, key, err);
    if (!path)
        return LH_E_NOMEM;
    struct stat sb;
    enum lh_status s = LH_OK;
    if (stat(path, &sb) != 0)
        s = errno == ENOENT ? lh_error_set(err, LH_E_NOTFOUND, "object %s not found", key)
                            : lh_error_errno(err, errno, "stat %s", path);
    else if (!S_ISREG(sb.st_mode))
        s = lh_error_set(err, LH_E_FORMAT, "%s is a %s, not an object", key,
                         S_ISDIR(sb.st_mode) ? "directory" : "special file");
    else
        *size = (uint64_t)sb.st_size;
    free(path);
    return s;
}

static enum lh_status local_put(struct lh_store *st, const char *key, const void *p, size_t n,
                                struct lh_error *err)
{
    char *path = key_path(st, key, err);
    if (!path)
        return LH_E_NOMEM;
    enum lh_status s = mkparent(path, err);
    if (s == LH_OK)
        s = lh_file_write_atomic(path, p, n, err);
    if (s != LH_OK)
        lh_error_prefix(err, "put %s", key);
    free(path);
    return s;
}

static enum lh_status local_put_if_absent(struct lh_store *st, const char *key, const void *p,
                                          size_t n, struct lh_error *err)
{
    struct lh_atomic_file f = {.fd = -1};
    char *path = key_path(st, key, err);
    if (!path)
        return LH_E_NOMEM;
    enum lh_status s = mkparent(path, err);
    if (s != LH_OK)
        goto fail;
    s = lh_atomic_file_open(&f, path, err);
    if (s != LH_OK)
        goto fail;
    s = lh_atomic_file_write(&f, p, n, err);
    if (s != LH_OK)
        goto fail;
    if (fsync(f.fd) != 0) {
        s = lh_error_errno(err, errno, "fsync %s", path);
        goto fail;
    }
    if (link(f.tmp_path, path) != 0) {
        if (errno == EEXIST)
            s = lh_error_set(err, LH_E_EXISTS, "object %s already exists", key);
        else
            s = lh_error_errno(err, errno, "link %s", path);
        goto fail;
    }
    {
        const char *slash = strrchr(path, '/');
        char *dir = strndup(path, (size_t)(slash - path));
        if (dir) {
            s = lh_fsync_dir(dir, err);
            free(dir);
        }
    }
fail:
    if (s != LH_OK && s != LH_E_EXISTS)
        lh_error_prefix(err, "create %s", key);
    lh_atomic_file_abort(&f); /* unlinks the temporary name; the link stays */
    free(path);
    return s;
}

/* Opens and exclusively locks the lock file of key. Returns the fd or -1. */
static int lock_key(struct local *l, const char *key, struct lh_error *err)
{
    char hex[65];
    lh_sha256_hex(key, strlen(key), hex);
    size_t n = strlen(l->root) + 80;
    char *path = malloc(n);
    if (!path) {
        lh_error_set(err, LH_E_NOMEM, "out of memory");
        return -1;
    }
    snprintf(path, n, "%s/.lh-locks", l->root);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        lh_error_errno(err, errno, "mkdir %s", path);
        free(path);
        return -1;
    }
    snprintf(path, n, "%s/.lh-locks/%s", l->root, hex);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        lh_error_errno(err, errno, "open lock %s", path);
        free(path);
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            lh_error_errno(err, errno, "lock %s", path);
            close(fd);
            free(path);
            return -1;
        }
    }
    free(path);
    return fd;
}

static enum lh_status local_replace_if(struct lh_store *st, const char *key, const void *p,
                                       size_t n, const char *token, char *new_token,
                                       struct lh_error *err)
{
    struct local *l = (struct local *)st;
    uint8_t *cur = NULL;
    size_t cur_len = 0;
    char cur_tok[LH_STORE_TOKEN_MAX];
    char *path = NULL;
    enum lh_status s;
    int fd = lock_key(l, key, err);
    if (fd < 0)
        return err ? err->status : LH_E_IO;
    s = local_get(st, key, SIZE_MAX - 1, &cur, &cur_len, cur_tok, err);
    if (s != LH_OK)
        goto fail;
    if (strcmp(cur_tok, token) != 0) {
        s = lh_error_set(err, LH_E_CONFLICT, "object %s changed since it was read", key);
        goto fail;
    }
    if (!(path = key_path(st, key, err))) {
        s = LH_E_NOMEM;
        goto fail;
    }
    s = lh_file_write_atomic(path, p, n, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "replace %s", key);
        goto fail;
    }
    if (new_token)
        lh_sha256_hex(p, n, new_token);
fail:
    free(cur);
    free(path);
    close(fd); /* releases the flock */
    return s;
}

static enum lh_status local_del(struct lh_store *st, const char *key, struct lh_error *err)
{
    char *path = key_path(st, key, err);
    if (!path)
        return LH_E_NOMEM;
    enum lh_status s = LH_OK;
    if (unlink(path) != 0 && errno != ENOENT)
        s = lh_error_errno(err, errno, "delete %s", key);
    free(path);
    return s;
}

/* Opens dir, one level of a walk at depth: *d NULL and LH_OK when it is
 * not there (or no directory). */
static enum lh_status level_open(const char *dir, int depth, DIR **d, struct lh_error *err)
{
    *d = NULL;
    if (depth > 64)
        return lh_error_set(err, LH_E_TOOBIG, "directory tree under %s is too deep", dir);
    *d = opendir(dir);
    if (!*d && errno != ENOENT && errno != ENOTDIR)
        return lh_error_errno(err, errno, "open directory %s", dir);
    return LH_OK;
}

/* rel = the key of the entry nm of the directory whose key is rel's first
 * base_len bytes; false when out of memory. */
static bool rel_join(struct lh_buf *rel, size_t base_len, const char *nm)
{
    rel->len = base_len;
    if (base_len)
        lh_buf_append_u8(rel, '/');
    lh_buf_append_str(rel, nm);
    lh_buf_cstr(rel);
    return lh_buf_ok(rel);
}

/* "dir/nm", malloc'd; NULL when out of memory. */
static char *child_path(const char *dir, const char *nm)
{
    size_t pn = strlen(dir) + strlen(nm) + 2;
    char *child = malloc(pn);
    if (child)
        snprintf(child, pn, "%s/%s", dir, nm);
    return child;
}

/* Walks dir (relative key rel) adding every regular file whose key starts
 * with prefix. Temporary files and the lock directory are skipped. */
static enum lh_status walk(const char *dir, struct lh_buf *rel, const char *prefix,
                           struct lh_store_list *out, int depth, struct lh_error *err)
{
    DIR *d;
    enum lh_status os = level_open(dir, depth, &d, err);
    if (!d)
        return os;
    enum lh_status s = LH_OK;
    size_t base_len = rel->len;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        if (strncmp(nm, ".lh-", 4) == 0 || strstr(nm, ".tmp-"))
            continue;
        if (!rel_join(rel, base_len, nm)) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory listing %s", dir);
            break;
        }
        const char *key = (const char *)rel->data;
        size_t kl = rel->len, pl = strlen(prefix);
        /* descend only where the prefix can still match */
        bool could = strncmp(key, prefix, kl < pl ? kl : pl) == 0;
        if (!could)
            continue;
        char *child = child_path(dir, nm);
        if (!child) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            break;
        }
        struct stat sb;
        if (lstat(child, &sb) != 0) {
            free(child);
            continue; /* vanished while listing */
        }
        if (S_ISDIR(sb.st_mode)) {
            s = walk(child, rel, prefix, out, depth + 1, err);
        } else if (S_ISREG(sb.st_mode) && kl >= pl) {
            if (!lh_store_list_add(out, key, kl, (uint64_t)sb.st_size))
                s = lh_error_set(err, LH_E_NOMEM, "out of memory listing %s", dir);
        }
        free(child);
        if (s != LH_OK)
            break;
    }
    closedir(d);
    rel->len = base_len;
    return s;
}

static enum lh_status local_list(struct lh_store *st, const char *prefix, struct lh_store_list *out,
                                 struct lh_error *err)
{
    struct local *l = (struct local *)st;
    struct lh_buf rel;
    lh_buf_init(&rel, 8192);
    enum lh_status s = walk(l->root, &rel, prefix, out, 0, err);
    lh_buf_reset(&rel);
    return s;
}

/* Sweeps dir (relative key rel): temporary files whose target key starts
 * with prefix and that dead() accepts are unlinked; sub-directories left
 * empty are removed when dead() accepts them. *left counts the entries that
 * stay in dir. Lock files (.lh-*) are never touched. */
static enum lh_status sweep_dir(const char *dir, struct lh_buf *rel, const char *prefix,
                                lh_store_sweep_fn dead, void *ctx,
                                struct lh_store_sweep_stats *stats, size_t *left, int depth,
                                struct lh_error *err)
{
    *left = 0;
    DIR *d;
    enum lh_status os = level_open(dir, depth, &d, err);
    if (!d)
        return os;
    enum lh_status s = LH_OK;
    size_t base_len = rel->len, pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        if (strncmp(nm, ".lh-", 4) == 0) {
            (*left)++;
            continue;
        }
        if (!rel_join(rel, base_len, nm)) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory sweeping %s", dir);
            break;
        }
        const char *key = (const char *)rel->data;
        size_t kl = rel->len;
        char *child = child_path(dir, nm);
        if (!child) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            break;
        }
        struct stat sb;
        bool stays = true;
        if (lstat(child, &sb) != 0) {
            stays = false; /* vanished meanwhile */
        } else if (S_ISDIR(sb.st_mode)) {
            if (strncmp(key, prefix, kl < pl ? kl : pl) == 0) {
                size_t sub_left = 0;
                s = sweep_dir(child, rel, prefix, dead, ctx, stats, &sub_left, depth + 1, err);
                /* rel is back to this entry's key; as a directory key: "a/b/" */
                lh_buf_append_u8(rel, '/');
                lh_buf_cstr(rel);
                if (s == LH_OK && sub_left == 0 && lh_buf_ok(rel) && rel->len >= pl &&
                    strncmp((const char *)rel->data, prefix, pl) == 0) {
                    struct lh_store_pending p = {.key = (const char *)rel->data,
                                                 .modified_us = (int64_t)sb.st_mtime * 1000000};
                    if (dead(ctx, &p) && rmdir(child) == 0) {
                        stats->dirs++;
                        stays = false;
                    }
                }
            }
        } else if (S_ISREG(sb.st_mode) && strstr(nm, ".tmp-")) {
            size_t tl = (size_t)(strstr(key + base_len, ".tmp-") - key);
            if (tl >= pl && strncmp(key, prefix, pl) == 0) {
                rel->data[tl] = '\0'; /* the key the write would have published */
                struct lh_store_pending p = {
                    .key = key,
                    .modified_us = (int64_t)sb.st_mtim.tv_sec * 1000000 +
                                   sb.st_mtim.tv_nsec / 1000,
                    .size = (uint64_t)sb.st_size,
                };
                if (dead(ctx, &p)) {
                    if (unlink(child) == 0) {
                        stats->pending++;
                        stats->bytes += (uint64_t)sb.st_size;
                        stays = false;
                    } else if (errno == ENOENT) {
                        stays = false;
                    } else {
                        lh_warn("store: could not remove %s: %s", child, strerror(errno));
                    }
                }
            }
        }
        free(child);
        if (stays)
            (*left)++;
        if (s != LH_OK)
            break;
    }
    closedir(d);
    rel->len = base_len;
    return s;
}

static enum lh_status local_sweep(struct lh_store *st, const char *prefix, lh_store_sweep_fn dead,
                                  void *ctx, struct lh_store_sweep_stats *stats,
                                  struct lh_error *err)
{
    struct lh_buf rel;
    lh_buf_init(&rel, 8192);
    size_t left = 0;
    enum lh_status s =
        sweep_dir(lh_store_local_root(st), &rel, prefix, dead, ctx, stats, &left, 0, err);
    lh_buf_reset(&rel);
    return s;
}

static enum lh_status local_upload_begin(struct lh_store *st, const char *key,
                                         struct lh_store_upload **upp, struct lh_error *err)
{
    struct local_upload *up = calloc(1, sizeof *up);
    char *path = key_path(st, key, err);
    enum lh_status s = LH_OK;
    if (!up || !path) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    s = mkparent(path, err);
    if (s == LH_OK)
        s = lh_atomic_file_open(&up->f, path, err);
    if (s != LH_OK)
        goto fail;
    up->base.st = st;
    free(path);
    *upp = &up->base;
    return LH_OK;
fail:
    free(up);
    free(path);
    return s;
}

static enum lh_status local_upload_write(struct lh_store_upload *u, const void *p, size_t n,
                                         struct lh_error *err)
{
    struct local_upload *up = (struct local_upload *)u;
    return lh_atomic_file_write(&up->f, p, n, err);
}

static enum lh_status local_upload_commit(struct lh_store_upload *u, struct lh_error *err)
{
    struct local_upload *up = (struct local_upload *)u;
    enum lh_status s = lh_atomic_file_commit(&up->f, err);
    free(up);
    return s;
}

static void local_upload_abort(struct lh_store_upload *u)
{
    struct local_upload *up = (struct local_upload *)u;
    lh_atomic_file_abort(&up->f);
    free(up);
}

static enum lh_status local_dir(const struct lh_store *st, struct lh_buf *b, struct lh_error *err)
{
    const struct local *l = (const struct local *)st;
    char *abs = realpath(l->root, NULL);
    if (!abs)
        return lh_error_errno(err, errno, "store directory %s", l->root);
    lh_buf_append_str(b, abs);
    free(abs);
    return LH_OK;
}

static enum lh_status local_location(const struct lh_store *st, struct lh_buf *b,
                                     struct lh_error *err)
{
    struct lh_buf d;
    lh_buf_init(&d, 16384);
    enum lh_status s = local_dir(st, &d, err);
    if (s == LH_OK) {
        lh_buf_cstr(&d);
        lh_buf_append_str(b, "file://");
        for (const unsigned char *p = d.data; p && *p; p++) {
            if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                strchr("._~/-", *p))
                lh_buf_append_u8(b, *p);
            else
                lh_buf_printf(b, "%%%02X", *p);
        }
    }
    lh_buf_reset(&d);
    return s;
}

#define LOCAL_METHOD(m) .m = local_##m,
static const struct lh_store_vt local_vt = {
    .kind = "local",
    LH_STORE_METHODS(LOCAL_METHOD)
    /* and the local backend's own */
    .local_dir = local_dir,
};
#undef LOCAL_METHOD

static enum lh_status local_open_at(const char *url, const char *dir, struct lh_store **out,
                                    struct lh_error *err)
{
    struct local *l = calloc(1, sizeof *l);
    if (!l)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    l->base.vt = &local_vt;
    l->base.url = strdup(url);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    l->root = strndup(dir, dl);
    if (!l->base.url || !l->root) {
        local_close(&l->base);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    *out = &l->base;
    return LH_OK;
}

enum lh_status lh_store_local_open(const char *url, const char *dir,
                                   const struct lh_store_options *opt, struct lh_store **out,
                                   struct lh_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT || !opt->create)
            return lh_error_errno(err, errno, "store directory %s", dir);
        enum lh_status s = lh_mkdir_p(dir, err);
        if (s != LH_OK)
            return s;
    } else if (!S_ISDIR(sb.st_mode)) {
        return lh_error_set(err, LH_E_INVAL, "store path %s is not a directory", dir);
    }
    return local_open_at(url, dir, out, err);
}

const char *lh_store_local_root(const struct lh_store *st)
{
    return ((const struct local *)st)->root;
}
