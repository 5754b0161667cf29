/*
 * file.c — durable, atomic file replacement and small file helpers.
 *
 * The contract readers rely on: a path either holds its previous complete
 * content or its new complete content, never a prefix. Data is written to a
 * temporary sibling (same directory, so rename is atomic), fsynced, renamed
 * over the final path, and the directory is fsynced so the rename itself
 * survives a crash. A failed or abandoned write unlinks the temporary.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The ENOSPC fault: read from the environment once (any thread may write
 * the first file), or set by a test. */
static _Atomic uint64_t fault_enospc_after;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
/* LH_FAULT_ENOSPC_WHILE=PATH: every write fails with ENOSPC while PATH
 * exists — a disk that fills up and frees again, for a test that drives a
 * running daemon. */
static const char *fault_enospc_while;

static void fault_env(void)
{
    const char *e = getenv("LH_FAULT_ENOSPC_AFTER");
    int64_t v;
    if (e && lh_parse_i64(e, &v) && v > 0)
        fault_enospc_after = (uint64_t)v;
    e = getenv("LH_FAULT_ENOSPC_WHILE");
    if (e && *e)
        fault_enospc_while = e;
}

void lh_fault_set_enospc_after(uint64_t bytes)
{
    pthread_once(&fault_once, fault_env);
    fault_enospc_after = bytes;
}

static uint64_t fault_limit(void)
{
    pthread_once(&fault_once, fault_env);
    return fault_enospc_after;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *fault_fsync_dir; /* test hook, see core.h */

void lh_fault_set_fsync_dir_fail(const char *substr)
{
    fault_fsync_dir = substr;
}

enum lh_status lh_fsync_dir(const char *dir, struct lh_error *err)
{
    if (fault_fsync_dir && strstr(dir, fault_fsync_dir))
        return lh_error_errno(err, EIO, "fsync directory %s", dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lh_error_errno(err, errno, "open directory %s", dir);
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        return lh_error_errno(err, e, "fsync directory %s", dir);
    }
    close(fd);
    return LH_OK;
}

enum lh_status lh_atomic_file_open(struct lh_atomic_file *f, const char *path,
                                   struct lh_error *err)
{
    f->fd = -1;
    f->written = 0;
    f->path = strdup(path);
    size_t n = strlen(path) + 16;
    f->tmp_path = malloc(n);
    if (!f->path || !f->tmp_path) {
        free(f->path);
        free(f->tmp_path);
        f->path = f->tmp_path = NULL;
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    snprintf(f->tmp_path, n, "%s.tmp-XXXXXX", path);
    f->fd = mkstemp(f->tmp_path);
    if (f->fd < 0) {
        enum lh_status s = lh_error_errno(err, errno, "create temporary file for %s", path);
        free(f->path);
        free(f->tmp_path);
        f->path = f->tmp_path = NULL;
        return s;
    }
    (void)fchmod(f->fd, 0644);
    return LH_OK;
}

enum lh_status lh_atomic_file_write(struct lh_atomic_file *f, const void *p, size_t n,
                                    struct lh_error *err)
{
    if (f->fd < 0)
        return lh_error_set(err, LH_E_STATE, "write to a closed file");
    uint64_t lim = fault_limit();
    if (lim && f->written + n > lim)
        return lh_error_errno(err, ENOSPC, "write %s", f->path);
    if (fault_enospc_while && access(fault_enospc_while, F_OK) == 0)
        return lh_error_errno(err, ENOSPC, "write %s", f->path);
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = write(f->fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return lh_error_errno(err, errno, "write %s", f->path);
        }
        c += w;
        n -= (size_t)w;
        f->written += (uint64_t)w;
    }
    return LH_OK;
}

enum lh_status lh_atomic_file_commit(struct lh_atomic_file *f, struct lh_error *err)
{
    enum lh_status s = LH_OK;
    if (f->fd < 0)
        return lh_error_set(err, LH_E_STATE, "commit of a closed file");
    if (fsync(f->fd) != 0) {
        s = lh_error_errno(err, errno, "fsync %s", f->path);
        goto fail;
    }
    if (close(f->fd) != 0) {
        f->fd = -1;
        s = lh_error_errno(err, errno, "close %s", f->path);
        goto fail;
    }
    f->fd = -1;
    if (rename(f->tmp_path, f->path) != 0) {
        s = lh_error_errno(err, errno, "rename into %s", f->path);
        goto fail;
    }
    char *dir = dir_of(f->path);
    if (!dir) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
    } else {
        s = lh_fsync_dir(dir, err);
        free(dir);
    }
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return s;
fail:
    lh_atomic_file_abort(f);
    return s;
}

void lh_atomic_file_abort(struct lh_atomic_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}

enum lh_status lh_file_write_atomic(const char *path, const void *p, size_t n,
                                    struct lh_error *err)
{
    struct lh_atomic_file f;
    enum lh_status s = lh_atomic_file_open(&f, path, err);
    if (s != LH_OK)
        return s;
    s = lh_atomic_file_write(&f, p, n, err);
    if (s != LH_OK) {
        lh_atomic_file_abort(&f);
        return s;
    }
    return lh_atomic_file_commit(&f, err);
}

enum lh_status lh_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len,
                                struct lh_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lh_error_errno(err, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lh_error_errno(err, e, "stat %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lh_error_set(err, LH_E_INVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return lh_error_set(err, LH_E_TOOBIG, "%s: %lld bytes is over the %zu byte limit", path,
                            (long long)st.st_size, max);
    }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return lh_error_set(err, LH_E_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return lh_error_errno(err, e, "read %s", path);
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return LH_OK;
}

enum lh_status lh_mkdir_p(const char *path, struct lh_error *err)
{
    size_t n = strlen(path);
    if (n == 0)
        return LH_OK;
    char *tmp = strdup(path);
    if (!tmp)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                enum lh_status s = lh_error_errno(err, errno, "mkdir %s", tmp);
                free(tmp);
                return s;
            }
            tmp[i] = c;
        }
    }
    free(tmp);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lh_error_set(err, LH_E_IO, "%s exists and is not a directory", path);
    return LH_OK;
}
