/*
 * engine.c — one sandboxed in-memory DuckDB database over a snapshot of the
 * catalog (docs/sql.md).
 *
 * Create: read every catalog record; for each dataset, the local path of
 * every part of every retained version (S3 objects: a path in the part
 * cache, fetched when a statement needs it). Then, on a fresh database
 * opened with our memory limit, thread count and extension autoload and
 * autoinstall off:
 *   SET allowed_paths = [every part path];  SET TimeZone = 'UTC';
 *   CREATE VIEW "name" AS SELECT * FROM read_parquet([current parts]);  (per dataset)
 *   SET enable_external_access = false;  SET lock_configuration = true;
 * From then on DuckDB opens no file but those parts (its file system checks
 * every open against allowed_paths), loads no extension and refuses every
 * SET. "name@N" is no view: a replacement scan (DuckDB calls it for a table
 * name it does not know) answers it with read_parquet([version N's parts]).
 *
 * Every version's parts go through lh_sql_version_ready before DuckDB sees
 * them: S3 parts are fetched into the cache, and part_check compares each
 * file with its catalog object (size today). A dataset whose current
 * version fails gets no view; a statement naming it gets that error.
 *
 * The watchdog thread of an engine sleeps until the armed deadline and
 * calls duckdb_interrupt on the connection (run.c arms it per statement).
 *
 * Threads: the engine belongs to one thread at a time (its store set may
 * be shared, store.h);
 * the watchdog only touches the deadline under mu and calls
 * duckdb_interrupt, which DuckDB allows from any thread.
 */
#include "sql_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ text helpers */

/* s between two q, an inner q doubled: SQL's quoting of both kinds. */
static void sql_quoted(struct lh_buf *b, const char *s, char q)
{
    lh_buf_append_u8(b, (uint8_t)q);
    for (; *s; s++) {
        if (*s == q)
            lh_buf_append_u8(b, (uint8_t)q);
        lh_buf_append_u8(b, (uint8_t)*s);
    }
    lh_buf_append_u8(b, (uint8_t)q);
}

static void sql_literal(struct lh_buf *b, const char *s)
{
    sql_quoted(b, s, '\'');
}

static void sql_ident(struct lh_buf *b, const char *s)
{
    sql_quoted(b, s, '"');
}

/* Runs setup SQL (ours, never the user's). */
static enum lh_status setup_query(struct lh_sql_engine *e, struct lh_buf *q, struct lh_error *err)
{
    lh_buf_cstr(q);
    if (!lh_buf_ok(q))
        return lh_error_set(err, LH_E_NOMEM, "out of memory building the engine's setup");
    struct ddb_result r;
    memset(&r, 0, sizeof r);
    enum lh_status s = LH_OK;
    if (e->d->duckdb_query(e->con, (const char *)q->data, &r) != DDB_SUCCESS) {
        const char *m = e->d->duckdb_result_error(&r);
        s = lh_error_set(err, LH_E_INTERNAL, "duckdb setup: %s", m ? m : "failed");
    }
    e->d->duckdb_destroy_result(&r);
    return s;
}

/* ------------------------------------------------------------------ parts */

/* The one place a part is checked before DuckDB reads it: the file must be
 * a regular file of the catalog's size. Extend here (checksums). */
/* Parts whose checksum was verified in this process, keyed by path and
 * the file's identity (device, inode, size, mtime): DuckDB does not check
 * page CRCs, so a part's whole content is checked once against the
 * catalog's CRC-32 before DuckDB reads it, and again only when the file
 * changed. Shared by every engine of the process (the daemon opens one
 * per request), bounded, and reset whole when full. */
struct verified {
    uint64_t hash; /* 0: empty slot */
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    uint32_t crc;
};
#define VERIFIED_SLOTS 65536
static struct verified *verified_tab;
static size_t verified_n;
static pthread_mutex_t verified_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t parts_checked; /* under verified_mu */

uint64_t lh_sql_parts_checked(void)
{
    pthread_mutex_lock(&verified_mu);
    uint64_t n = parts_checked;
    pthread_mutex_unlock(&verified_mu);
    return n;
}

static uint64_t verified_key(const char *path)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *path; path++)
        h = (h ^ (uint8_t)*path) * 1099511628211ull;
    return h ? h : 1;
}

static bool verified_same(const struct verified *v, uint64_t h, const struct stat *st, uint32_t crc)
{
    return v->hash == h && v->dev == st->st_dev && v->ino == st->st_ino &&
           v->size == st->st_size &&
           v->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
           v->crc == crc;
}

/* true when (path, file identity, crc) was verified before; with add, records it. */
static bool verified_probe(const char *path, const struct stat *st, uint32_t crc, bool add)
{
    uint64_t h = verified_key(path);
    bool found = false;
    pthread_mutex_lock(&verified_mu);
    if (!verified_tab && add)
        verified_tab = calloc(VERIFIED_SLOTS, sizeof *verified_tab);
    if (verified_tab) {
        if (add && verified_n >= VERIFIED_SLOTS / 2) { /* full: forget everything */
            memset(verified_tab, 0, VERIFIED_SLOTS * sizeof *verified_tab);
            verified_n = 0;
        }
        size_t i = (size_t)(h & (VERIFIED_SLOTS - 1));
        for (; verified_tab[i].hash; i = (i + 1) & (VERIFIED_SLOTS - 1))
            if (verified_same(&verified_tab[i], h, st, crc)) {
                found = true;
                break;
            }
        if (!found && add) {
            parts_checked++;
            verified_tab[i] = (struct verified){
                .hash = h, .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
                .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                .crc = crc};
            verified_n++;
        }
    }
    pthread_mutex_unlock(&verified_mu);
    return found;
}

/* The CRC-32 of a whole local file, read 1 MiB at a time. */
static enum lh_status file_crc(const char *path, uint32_t *crc, struct lh_error *err)
{
    enum { CHUNK_CRC = 1 << 20 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lh_error_set(err, LH_E_IO, "%s", strerror(errno));
    uint8_t *buf = malloc(CHUNK_CRC);
    enum lh_status s = buf ? LH_OK : lh_error_set(err, LH_E_NOMEM, "out of memory");
    uint32_t c = 0;
    while (s == LH_OK) {
        ssize_t n = read(fd, buf, CHUNK_CRC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            s = lh_error_set(err, LH_E_IO, "%s", strerror(errno));
        if (n <= 0)
            break;
        c = lh_crc32(c, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    *crc = c;
    return s;
}

/* Compares the file DuckDB will read with its catalog object: the size
 * always (a stat), the content checksum once per file identity (above).
 * Errors name the dataset, version and part (lh_catalog_object_check). */
/* The size always; the whole-file checksum too when `whole` (once per file
 * identity in the process). */
static enum lh_status part_check(const struct lh_sql_dataset *ds, const struct lh_sql_version *v,
                                 const struct lh_sql_part *p, bool whole, struct lh_error *err)
{
    struct stat st;
    int rc = stat(p->path, &st);
    if (rc != 0 && errno != ENOENT)
        return lh_error_set(err, LH_E_IO, "dataset %s version %" PRIu64 ", part %s: %s", ds->name,
                            v->version, p->key, strerror(errno));
    if (rc != 0 || !S_ISREG(st.st_mode)) /* gone, or something else in its place */
        return lh_catalog_part_missing(ds->name, v->version, p->bucket, p->key, err);
    struct lh_catalog_object_info o = {
        .bucket = p->bucket, .key = p->key, .size_bytes = p->size_bytes, .checksum = p->checksum};
    uint32_t want;
    if ((uint64_t)st.st_size != p->size_bytes || !p->checksum ||
        !lh_catalog_checksum_parse(p->checksum, &want))
        return lh_catalog_object_check(ds->name, v->version, &o, (uint64_t)st.st_size, NULL, err);
    if (!whole || verified_probe(p->path, &st, want, false))
        return LH_OK;
    uint32_t crc;
    enum lh_status s = file_crc(p->path, &crc, err);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "dataset %s version %" PRIu64 ", part %s", ds->name,
                             v->version, p->key);
    if ((s = lh_catalog_object_check(ds->name, v->version, &o, (uint64_t)st.st_size, &crc, err)) !=
        LH_OK)
        return s;
    verified_probe(p->path, &st, want, true);
    return LH_OK;
}

/* Copies an S3 object into the cache unless a copy of the right size is there. */
static enum lh_status part_fetch(struct lh_sql_engine *e, const struct lh_sql_part *p,
                                 struct lh_error *err)
{
    struct stat st;
    if (stat(p->path, &st) == 0 && (uint64_t)st.st_size == p->size_bytes)
        return LH_OK;
    struct lh_store *store;
    enum lh_status s = lh_store_set_get(e->set, p->bucket, &store, err);
    if (s != LH_OK)
        return s;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", p->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if ((s = lh_mkdir_p(dir, err)) != LH_OK)
        return s;
    struct lh_atomic_file f;
    if ((s = lh_atomic_file_open(&f, p->path, err)) != LH_OK)
        return s;
    enum { CHUNK = 8 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        lh_atomic_file_abort(&f);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    for (uint64_t off = 0; off < p->size_bytes && s == LH_OK;) {
        size_t n = p->size_bytes - off < CHUNK ? (size_t)(p->size_bytes - off) : CHUNK;
        s = lh_store_get_range(store, p->key, off, buf, n, err);
        if (s == LH_OK)
            s = lh_atomic_file_write(&f, buf, n, err);
        off += n;
    }
    free(buf);
    if (s == LH_OK)
        s = lh_atomic_file_commit(&f, err);
    if (s != LH_OK) {
        lh_atomic_file_abort(&f);
        lh_error_prefix(err, "caching %s/%s for SQL: ", p->bucket, p->key);
    }
    return s;
}

enum lh_status lh_sql_version_ready(struct lh_sql_engine *e, const struct lh_sql_dataset *ds,
                                    const struct lh_sql_version *v, bool whole,
                                    struct lh_error *err)
{
    for (size_t i = 0; i < v->nparts; i++) {
        enum lh_status s = LH_OK;
        if (v->parts[i].remote)
            s = part_fetch(e, &v->parts[i], err);
        if (s == LH_OK)
            s = part_check(ds, v, &v->parts[i], whole, err);
        if (s != LH_OK)
            return s;
    }
    return LH_OK;
}

/* ------------------------------------------------------------------ catalog snapshot */

struct bucket_dir {
    char name[128];
    char dir[1024]; /* absolute directory (local) or cache directory (S3) */
    bool remote;
};

static void cache_root(const struct lh_sql_options *o, char *out, size_t cap)
{
    const char *c = o->cache_dir && *o->cache_dir ? o->cache_dir : getenv("LAKEHOUSE_SQL_CACHE");
    if (c && *c) {
        snprintf(out, cap, "%s", c);
        return;
    }
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x == '/') {
        snprintf(out, cap, "%s/lakehouse/sql", x);
        return;
    }
    const char *h = getenv("HOME");
    if (h && *h == '/')
        snprintf(out, cap, "%s/.cache/lakehouse/sql", h);
    else
        snprintf(out, cap, "/tmp/lakehouse-sql-cache-%ld", (long)getuid());
}

static enum lh_status bucket_resolve(struct lh_sql_engine *e, const char *bucket,
                                     struct bucket_dir *bd, struct lh_error *err)
{
    struct lh_store *st;
    enum lh_status s = lh_store_set_get(e->set, bucket, &st, err);
    if (s != LH_OK)
        return s;
    snprintf(bd->name, sizeof bd->name, "%s", bucket);
    const char *url = lh_store_url(st);
    s = lh_store_local_dir(st, bd->dir, sizeof bd->dir, err);
    if (s == LH_OK) { /* plain files DuckDB opens where they are */
        bd->remote = false;
        return LH_OK;
    }
    if (s != LH_E_UNSUPPORTED) {
        lh_error_prefix(err, "bucket %s", bucket);
        return s;
    }
    /* remote (S3): <cache>/<first 16 hex of sha256(url)>/<key> */
    char h[65];
    lh_sha256_hex(url, strlen(url), h);
    h[16] = '\0';
    char root[1024];
    snprintf(root, sizeof root, "%s", e->cache_dir);
    if (root[0] != '/') { /* DuckDB matches allowed paths as written: make it absolute */
        char cwd[512];
        if (!getcwd(cwd, sizeof cwd))
            return lh_error_errno(err, errno, "getcwd");
        char abs[1600];
        snprintf(abs, sizeof abs, "%s/%s", cwd, root);
        snprintf(root, sizeof root, "%.1000s", abs);
    }
    snprintf(bd->dir, sizeof bd->dir, "%.1000s/%.16s", root, h);
    bd->remote = true;
    return LH_OK;
}

static enum lh_status snapshot_dataset(struct lh_sql_engine *e, const struct lh_catalog_record *r,
                                       struct lh_sql_dataset *ds, struct bucket_dir *bds,
                                       size_t *nbds, size_t maxb, struct lh_error *err)
{
    struct lh_arena *a = &e->arena;
    ds->name = lh_arena_strndup(a, r->name, strlen(r->name));
    ds->current = r->current_version;
    ds->versions = lh_arena_alloc(a, (r->nversions + 1) * sizeof *ds->versions);
    if (!ds->name || !ds->versions)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->nversions; i++) {
        const struct lh_catalog_version_info *vi = &r->versions[i];
        struct lh_sql_version *v = &ds->versions[ds->nversions++];
        v->version = vi->version;
        v->parts = lh_arena_alloc(a, (vi->nobjects + 1) * sizeof *v->parts);
        if (!v->parts)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        for (size_t k = 0; k < vi->nobjects; k++) {
            const struct lh_catalog_object_info *o = &vi->objects[k];
            const char *bucket = o->bucket && *o->bucket ? o->bucket : "primary";
            struct bucket_dir *bd = NULL;
            for (size_t j = 0; j < *nbds && !bd; j++)
                if (strcmp(bds[j].name, bucket) == 0)
                    bd = &bds[j];
            if (!bd) {
                if (*nbds >= maxb)
                    return lh_error_set(err, LH_E_TOOBIG, "more than %zu buckets", maxb);
                enum lh_status s = bucket_resolve(e, bucket, &bds[*nbds], err);
                if (s != LH_OK)
                    return lh_error_wrap(err, s, "dataset %s version %" PRIu64 ": ", r->name,
                                         vi->version);
                bd = &bds[(*nbds)++];
            }
            struct lh_sql_part *p = &v->parts[v->nparts++];
            char path[2048];
            int n = snprintf(path, sizeof path, "%s/%s", bd->dir, o->key);
            if (n < 0 || (size_t)n >= sizeof path)
                return lh_error_set(err, LH_E_TOOBIG, "part path too long: %s", o->key);
            p->bucket = lh_arena_strndup(a, bucket, strlen(bucket));
            p->key = lh_arena_strndup(a, o->key, strlen(o->key));
            p->path = lh_arena_strndup(a, path, (size_t)n);
            p->size_bytes = o->size_bytes;
            p->checksum = o->checksum ? lh_arena_strndup(a, o->checksum, strlen(o->checksum)) : NULL;
            p->remote = bd->remote;
            if (!p->bucket || !p->key || !p->path)
                return lh_error_set(err, LH_E_NOMEM, "out of memory");
        }
    }
    return LH_OK;
}

static enum lh_status snapshot(struct lh_sql_engine *e, struct lh_error *err)
{
    struct lh_catalog_summary *list = NULL;
    size_t n = 0;
    enum lh_status s = lh_catalog_list(e->cat, &list, &n, err);
    if (s != LH_OK)
        return s;
    struct bucket_dir bds[16];
    size_t nbds = 0;
    e->ds = lh_arena_alloc(&e->arena, (n + 1) * sizeof *e->ds);
    if (!e->ds) {
        free(list);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && s == LH_OK; i++) {
        if (list[i].error[0])
            continue; /* lakehouse datasets shows it; SQL simply has no such table */
        struct lh_catalog_record r;
        struct lh_error re;
        if (lh_catalog_dataset_get(e->cat, list[i].name, &r, &re) != LH_OK)
            continue; /* removed meanwhile, or unreadable: no table */
        struct lh_sql_dataset *ds = &e->ds[e->nds];
        memset(ds, 0, sizeof *ds);
        s = snapshot_dataset(e, &r, ds, bds, &nbds, sizeof bds / sizeof bds[0], err);
        lh_catalog_record_reset(&r);
        if (s == LH_OK)
            e->nds++;
    }
    free(list);
    return s;
}

static const struct lh_sql_version *version_of(const struct lh_sql_dataset *ds, uint64_t v)
{
    for (size_t i = 0; i < ds->nversions; i++)
        if (ds->versions[i].version == v)
            return &ds->versions[i];
    return NULL;
}

/* ------------------------------------------------------------------ "name@N" */

static void replacement_scan(ddb_rscan_info info, const char *table, void *data)
{
    struct lh_sql_engine *e = data;
    const struct lh_ddb *d = e->d;
    const char *at = strrchr(table, '@');
    size_t nl = at ? (size_t)(at - table) : strlen(table);
    const struct lh_sql_dataset *ds = NULL;
    for (size_t i = 0; i < e->nds && !ds; i++)
        if (strlen(e->ds[i].name) == nl && strncmp(e->ds[i].name, table, nl) == 0)
            ds = &e->ds[i];
    for (size_t i = 0; i < e->nds && !ds; i++) /* SQL names are case-insensitive */
        if (strlen(e->ds[i].name) == nl && strncasecmp(e->ds[i].name, table, nl) == 0)
            ds = &e->ds[i];
    struct lh_error err;
    lh_error_clear(&err);
    if (!ds) {
        /* Not a dataset the snapshot could read. A record that exists but is
         * damaged (unparsable, a directory, a dangling current_version)
         * answers with the catalog's error naming it, never "no such table". */
        char name[256];
        struct lh_catalog_record r;
        if (nl < sizeof name) {
            memcpy(name, table, nl);
            name[nl] = '\0';
        }
        if (nl < sizeof name && lh_store_name_check(name, &err) == LH_OK) {
            if (lh_catalog_dataset_get(e->cat, name, &r, &err) == LH_OK)
                lh_catalog_record_reset(&r); /* appeared after the snapshot */
            else if (err.status != LH_E_NOTFOUND && err.status != LH_E_INVAL) {
                e->scan_err = err;
                d->duckdb_replacement_scan_set_error(info, err.msg);
            }
        }
        return; /* not ours: DuckDB says the table does not exist */
    }
    int64_t want = (int64_t)ds->current;
    if (at && (!lh_parse_i64(at + 1, &want) || want <= 0)) {
        lh_error_set(&err, LH_E_INVAL,
                     "table %s: a version is written \"name@N\" with N a version number", table);
    } else if (!at && ds->broken.status != LH_OK) {
        err = ds->broken;
    } else if (!at || (uint64_t)want == ds->current) {
        if (ds->current == 0)
            lh_error_set(&err, LH_E_INVAL, "dataset %s has no version yet", ds->name);
        else if (ds->has_view && !at)
            return;
    }
    const struct lh_sql_version *v = NULL;
    if (err.status == LH_OK && !(v = version_of(ds, (uint64_t)want))) {
        struct lh_buf kept;
        lh_buf_init(&kept, 200);
        for (size_t i = 0; i < ds->nversions; i++)
            lh_buf_printf(&kept, "%s%" PRIu64, i ? ", " : "", ds->versions[i].version);
        lh_buf_cstr(&kept);
        lh_error_set(&err, LH_E_INVAL, "dataset %s has no version %" PRId64 " (versions kept: %s)",
                     ds->name, want,
                     kept.data && lh_buf_ok(&kept) ? (const char *)kept.data : "none");
        lh_buf_reset(&kept);
    }
    if (err.status == LH_OK && v->nparts == 0)
        lh_error_set(&err, LH_E_INVAL, "dataset %s version %" PRId64 " has no parts", ds->name,
                     want);
    if (err.status == LH_OK) /* creating the views: sizes only, the bytes when queried */
        (void)lh_sql_version_ready(e, ds, v, !e->creating_views, &err);
    if (err.status != LH_OK) {
        e->scan_err = err;
        d->duckdb_replacement_scan_set_error(info, err.msg);
        return;
    }
    ddb_ltype vt = d->duckdb_create_logical_type(DDB_VARCHAR);
    ddb_value *vals = calloc(v->nparts, sizeof *vals);
    if (!vals || !vt) {
        free(vals);
        d->duckdb_destroy_logical_type(&vt);
        d->duckdb_replacement_scan_set_error(info, "out of memory");
        return;
    }
    for (size_t i = 0; i < v->nparts; i++)
        vals[i] = d->duckdb_create_varchar(v->parts[i].path);
    ddb_value list = d->duckdb_create_list_value(vt, vals, v->nparts);
    d->duckdb_replacement_scan_set_function_name(info, "read_parquet");
    d->duckdb_replacement_scan_add_parameter(info, list);
    d->duckdb_destroy_value(&list);
    for (size_t i = 0; i < v->nparts; i++)
        d->duckdb_destroy_value(&vals[i]);
    free(vals);
    d->duckdb_destroy_logical_type(&vt);
}

/* ------------------------------------------------------------------ watchdog */

static void *watchdog(void *arg)
{
    struct lh_sql_engine *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->wd_stop) {
        if (!e->deadline_ns) {
            pthread_cond_wait(&e->cv, &e->mu);
            continue;
        }
        int64_t now = lh_time_mono_ns();
        if (now >= e->deadline_ns) {
            e->timed_out = true;
            e->deadline_ns = 0;
            e->d->duckdb_interrupt(e->con);
            continue;
        }
        lh_cond_wait_until(&e->cv, &e->mu, e->deadline_ns);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* ------------------------------------------------------------------ create / destroy */

static enum lh_status database_open(struct lh_sql_engine *e, struct lh_error *err)
{
    const struct lh_ddb *d = e->d;
    ddb_config cfg = NULL;
    if (d->duckdb_create_config(&cfg) != DDB_SUCCESS)
        return lh_error_set(err, LH_E_NOMEM, "duckdb: cannot create a configuration");
    char threads[24], mem[40];
    snprintf(threads, sizeof threads, "%u", e->opt.threads);
    snprintf(mem, sizeof mem, "%" PRIu64 "KiB", (e->opt.memory_limit + 1023) / 1024);
    const char *kv[][2] = {
        {"threads", threads},
        {"memory_limit", mem},
        {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "false"},
        {"allow_community_extensions", "false"},
        {"allow_unsigned_extensions", "false"},
        {"temp_directory", ""}, /* no spilling to disk: the memory limit is the limit */
    };
    enum lh_status s = LH_OK;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && s == LH_OK; i++)
        if (d->duckdb_set_config(cfg, kv[i][0], kv[i][1]) != DDB_SUCCESS)
            s = lh_error_set(err, LH_E_INVAL, "duckdb: cannot set %s to '%s'", kv[i][0], kv[i][1]);
    char *msg = NULL;
    if (s == LH_OK && d->duckdb_open_ext(NULL, &e->db, cfg, &msg) != DDB_SUCCESS) {
        s = lh_error_set(err, LH_E_INTERNAL, "duckdb open: %s", msg ? msg : "failed");
        e->db = NULL;
    }
    d->duckdb_free(msg);
    d->duckdb_destroy_config(&cfg);
    if (s == LH_OK && d->duckdb_connect(e->db, &e->con) != DDB_SUCCESS) {
        e->con = NULL;
        s = lh_error_set(err, LH_E_INTERNAL, "duckdb: cannot connect");
    }
    return s;
}

static enum lh_status sandbox(struct lh_sql_engine *e, struct lh_error *err)
{
    struct lh_buf q;
    lh_buf_init(&q, 0);
    lh_buf_append_str(&q, "SET TimeZone = 'UTC'; SET allowed_paths = [");
    size_t np = 0;
    for (size_t i = 0; i < e->nds; i++)
        for (size_t k = 0; k < e->ds[i].nversions; k++)
            for (size_t j = 0; j < e->ds[i].versions[k].nparts; j++) {
                if (np++)
                    lh_buf_append_u8(&q, ',');
                sql_literal(&q, e->ds[i].versions[k].parts[j].path);
            }
    lh_buf_append_str(&q, "]::VARCHAR[];");
    enum lh_status s = setup_query(e, &q, err);
    e->d->duckdb_add_replacement_scan(e->db, replacement_scan, e, NULL);
    for (size_t i = 0; i < e->nds && s == LH_OK; i++) {
        struct lh_sql_dataset *ds = &e->ds[i];
        const struct lh_sql_version *v = version_of(ds, ds->current);
        if (!v || v->nparts == 0)
            continue; /* no version yet: the replacement scan says so */
        /* The view reads "name@N", which the replacement scan resolves each
         * time a statement binds it: a part's bytes are checked when a
         * statement first reads its dataset, not for every dataset when
         * the engine opens (creating the view reads footers only). */
        if (lh_sql_version_ready(e, ds, v, false, &ds->broken) != LH_OK)
            continue;
        char at[300];
        snprintf(at, sizeof at, "%s@%" PRIu64, ds->name, v->version);
        lh_buf_clear(&q);
        lh_buf_append_str(&q, "CREATE VIEW ");
        sql_ident(&q, ds->name);
        lh_buf_append_str(&q, " AS SELECT * FROM ");
        sql_ident(&q, at);
        struct lh_error ve;
        e->creating_views = true;
        if (setup_query(e, &q, &ve) == LH_OK)
            ds->has_view = true;
        else if (lh_sql_version_ready(e, ds, v, true, &ds->broken) == LH_OK)
            /* the bytes are the catalog's (a damaged footer fails the
             * checksum first, with the error that names the part) */
            lh_error_set(&ds->broken, LH_E_FORMAT, "dataset %s version %" PRIu64 ": %s", ds->name,
                         v->version, e->scan_err.status != LH_OK ? e->scan_err.msg : ve.msg);
        e->creating_views = false;
        lh_error_clear(&e->scan_err);
    }
    if (s == LH_OK) {
        lh_buf_clear(&q);
        lh_buf_append_str(&q, "SET enable_external_access = false; SET lock_configuration = true;");
        s = setup_query(e, &q, err);
    }
    lh_buf_reset(&q);
    return s;
}

enum lh_status lh_sql_engine_create(struct lh_store_set *set, const struct lh_sql_options *opt,
                                    struct lh_sql_engine **out, struct lh_error *err)
{
    *out = NULL;
    const struct lh_ddb *d = lh_ddb_load(err);
    if (!d)
        return err->status;
    struct lh_sql_engine *e = calloc(1, sizeof *e);
    if (!e)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    e->d = d;
    e->set = set;
    lh_arena_init(&e->arena, 0);
    pthread_mutex_init(&e->mu, NULL);
    lh_cond_init_mono(&e->cv);
    if (opt)
        e->opt = *opt;
    /* a zero option takes its default (sql.h) */
#define LH_SQL_DEFAULT(field, value) e->opt.field = e->opt.field ? e->opt.field : (value)
    LH_SQL_DEFAULT(timeout_ms, 30000);
    LH_SQL_DEFAULT(max_rows, 100000);
    LH_SQL_DEFAULT(max_output, 64u << 20);
    LH_SQL_DEFAULT(memory_limit, (uint64_t)1 << 30);
    LH_SQL_DEFAULT(threads, 2);
    LH_SQL_DEFAULT(max_sql_length, 100000);
#undef LH_SQL_DEFAULT
    e->opt.cache_dir = NULL; /* borrowed: resolved now */
    cache_root(opt ? opt : &e->opt, e->cache_dir, sizeof e->cache_dir);
    enum lh_status s;
    if ((s = lh_catalog_open(set, NULL, &e->cat, err)) != LH_OK)
        goto fail;
    if ((s = snapshot(e, err)) != LH_OK)
        goto fail;
    if ((s = database_open(e, err)) != LH_OK)
        goto fail;
    if ((s = sandbox(e, err)) != LH_OK)
        goto fail;
    if (pthread_create(&e->wd, NULL, watchdog, e) != 0) {
        s = lh_error_set(err, LH_E_NOMEM, "cannot start the query watchdog thread");
        goto fail;
    }
    e->wd_started = true;
    *out = e;
    return LH_OK;
fail:
    lh_sql_engine_destroy(e);
    return s;
}

enum lh_status lh_sql_engine_open(const char *root, const char *config_path,
                                  const struct lh_sql_options *opt, struct lh_sql_engine **out,
                                  struct lh_error *err)
{
    struct lh_store_set *set;
    *out = NULL;
    if (!lh_ddb_load(err)) /* before touching the store: the one-line install hint */
        return err->status;
    enum lh_status s = lh_store_set_open(root, config_path, NULL, &set, err);
    if (s != LH_OK)
        return s;
    if ((s = lh_sql_engine_create(set, opt, out, err)) != LH_OK) {
        lh_store_set_close(set);
        return s;
    }
    (*out)->own_set = true;
    return LH_OK;
}

void lh_sql_engine_destroy(struct lh_sql_engine *e)
{
    if (!e)
        return;
    if (e->wd_started)
        lh_thread_stop(e->wd, &e->mu, &e->cv, &e->wd_stop);
    if (e->con)
        e->d->duckdb_disconnect(&e->con);
    if (e->db)
        e->d->duckdb_close(&e->db);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    lh_catalog_close(e->cat);
    if (e->own_set)
        lh_store_set_close(e->set);
    lh_arena_reset(&e->arena);
    free(e);
}

bool lh_sql_format_parse(const char *s, enum lh_sql_format *out)
{
    if (strcmp(s, "json") == 0)
        *out = LH_SQL_FORMAT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = LH_SQL_FORMAT_CSV;
    else if (strcmp(s, "ndjson") == 0)
        *out = LH_SQL_FORMAT_NDJSON;
    else
        return false;
    return true;
}

const char *lh_sql_duckdb_version(struct lh_error *err)
{
    const struct lh_ddb *d = lh_ddb_load(err);
    return d ? d->version : NULL;
}
