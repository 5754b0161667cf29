/*
 * status.c — status names and error messages (struct lh_error).
 */
#include "core.h"

#include <errno.h>
#include <string.h>

const char *lh_status_str(enum lh_status s)
{
    static const char *const names[] = {
#define LH_X_STR(name, text) text,
        LH_STATUS_MAP(LH_X_STR)
#undef LH_X_STR
    };
    if ((unsigned)s >= LH_STATUS_COUNT_)
        return "unknown status";
    return names[s];
}

void lh_error_clear(struct lh_error *err)
{
    if (!err)
        return;
    err->status = LH_OK;
    err->msg[0] = '\0';
}

enum lh_status lh_error_set(struct lh_error *err, enum lh_status s, const char *fmt, ...)
{
    if (!err)
        return s;
    err->status = s;
    LH_VFORMAT(err->msg, fmt);
    return s;
}

/* Puts "prefix: " before err's message. */
static void prefix_put(struct lh_error *err, const char *prefix)
{
    size_t cap = sizeof err->msg;
    size_t pl = strlen(prefix);
    if (pl > cap - 3)
        pl = cap - 3;
    size_t ml = strlen(err->msg);
    if (pl + 2 + ml > cap - 1)
        ml = cap - 1 - pl - 2;
    memmove(err->msg + pl + 2, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err->msg[pl + 2 + ml] = '\0';
}

void lh_error_prefix(struct lh_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256];
    LH_VFORMAT(prefix, fmt);
    prefix_put(err, prefix);
}

enum lh_status lh_error_wrap(struct lh_error *err, enum lh_status s, const char *fmt, ...)
{
    if (err) {
        char prefix[256];
        LH_VFORMAT(prefix, fmt);
        prefix_put(err, prefix);
    }
    return s;
}

enum lh_status lh_status_from_errno(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
        return LH_E_NOSPC;
    case ENOENT:
    case ENOTDIR:
        return LH_E_NOTFOUND;
    case EEXIST:
        return LH_E_EXISTS;
    case EACCES:
    case EPERM:
    case EROFS:
        return LH_E_PERM;
    case ENOMEM:
        return LH_E_NOMEM;
    case EINVAL:
        return LH_E_INVAL;
    case EFBIG:
        return LH_E_TOOBIG;
    case ETIMEDOUT:
        return LH_E_TIMEOUT;
    default:
        return LH_E_IO;
    }
}

enum lh_status lh_error_errno(struct lh_error *err, int e, const char *fmt, ...)
{
    enum lh_status s = lh_status_from_errno(e);
    if (!err)
        return s;
    char what[384];
    LH_VFORMAT(what, fmt);
    char ebuf[128];
    /* XSI strerror_r (we build with _POSIX_C_SOURCE, not _GNU_SOURCE). */
    if (strerror_r(e, ebuf, sizeof ebuf) != 0)
        snprintf(ebuf, sizeof ebuf, "errno %d", e);
    return lh_error_set(err, s, "%s: %s", what, ebuf);
}
