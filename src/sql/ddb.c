/*
 * ddb.c — loads libduckdb.so at run time (dlopen) and resolves the C API
 * functions listed in ddb.h. lakehouse links nothing of DuckDB: without the
 * library every other command works, and SQL fails with one line saying
 * how to install it (docs/sql.md "Installing DuckDB").
 *
 * Where: $LAKEHOUSE_DUCKDB when set (any libduckdb.so at or above the
 * pinned version), else LH_DUCKDB_DEFAULT_PATH, where
 * scripts/install-deps.sh puts the pinned npm package's library.
 *
 * Threads: one mutex around the first successful load; afterwards the
 * table is read-only and shared. A failed load is not cached, so an
 * operator can install the library without restarting the daemon. The
 * handle is never dlclose'd (DuckDB keeps threads and static state).
 */
#include "ddb.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lh_ddb loaded;
static bool is_loaded;

#define INSTALL_HINT                                                                               \
    "install it with scripts/install-deps.sh (puts the pinned @duckdb/node-bindings-linux-x64 "    \
    "library at " LH_DUCKDB_DEFAULT_PATH                                                           \
    ") or point LAKEHOUSE_DUCKDB at a libduckdb.so >= " LH_DUCKDB_MIN_VERSION

/* "v1.5.6" or "1.5.6-dev12" -> 1005006; 0 when unreadable. */
static long version_number(const char *v)
{
    long part[3] = {0, 0, 0};
    if (*v == 'v')
        v++;
    for (int i = 0; i < 3; i++) {
        char *end;
        part[i] = strtol(v, &end, 10);
        if (end == v || part[i] < 0 || part[i] > 999)
            return 0;
        v = end;
        if (i < 2) {
            if (*v != '.')
                return 0;
            v++;
        }
    }
    return part[0] * 1000000 + part[1] * 1000 + part[2];
}

const struct lh_ddb *lh_ddb_load(struct lh_error *err)
{
    const struct lh_ddb *out = NULL;
    pthread_mutex_lock(&load_mu);
    if (is_loaded) {
        out = &loaded;
        goto done;
    }
    const char *path = getenv("LAKEHOUSE_DUCKDB");
    if (!path || !*path)
        path = LH_DUCKDB_DEFAULT_PATH;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        lh_error_set(err, LH_E_UNSUPPORTED,
                     "SQL needs DuckDB, but %s could not be loaded (%s): " INSTALL_HINT, path,
                     dlerror());
        goto done;
    }
    struct lh_ddb t;
    memset(&t, 0, sizeof t);
    /* dlsym returns void *; the C API's functions are looked up by name and
     * stored with our declared type (POSIX guarantees the conversion). */
#define LH_DDB_SYM(ret, name, args)                                                                \
    *(void **)(&t.name) = dlsym(h, #name);                                                         \
    if (!t.name) {                                                                                 \
        lh_error_set(err, LH_E_UNSUPPORTED,                                                        \
                     "SQL needs DuckDB, but %s has no %s (too old?): " INSTALL_HINT, path, #name); \
        dlclose(h);                                                                                \
        goto done;                                                                                 \
    }
    LH_DDB_FUNCS(LH_DDB_SYM)
#undef LH_DDB_SYM
    const char *v = t.duckdb_library_version();
    if (!v || version_number(v) < version_number(LH_DUCKDB_MIN_VERSION)) {
        lh_error_set(err, LH_E_UNSUPPORTED, "SQL needs DuckDB >= %s, but %s is %s: " INSTALL_HINT,
                     LH_DUCKDB_MIN_VERSION, path, v ? v : "of unknown version");
        dlclose(h);
        goto done;
    }
    snprintf(t.version, sizeof t.version, "%s", *v == 'v' ? v + 1 : v);
    snprintf(t.path, sizeof t.path, "%s", path);
    loaded = t;
    is_loaded = true;
    out = &loaded;
done:
    pthread_mutex_unlock(&load_mu);
    return out;
}
