/*
 * resume.c — the resume record of a dataset (docs/ingest.md "Resumable
 * loads"): datasets/{dataset}/_resume.json, what a failed or cancelled
 * ordered load leaves for the next run of the dataset to continue from.
 *
 * It names the finished parts the failed run (and the runs it resumed)
 * committed, the ranges of the key they cover (an ordered load: one range,
 * kept up to its last key; a parallel MySQL load: one range per connection,
 * each kept up to its own last key, or whole), and what must not have
 * changed for the rest to be read on top of them: the source (system,
 * host, database, table, columns, where, order, mode; never a password),
 * the schema fingerprint and the base version. Written with the store's
 * atomic put by the failing run before it drops its lease, so a sweep
 * either sees the run alive or the record that keeps its parts
 * (lh_ingest_sweep treats the record's parts as referenced until the
 * record is older than ingest_resume_max_age_ms). The run that resumes
 * deletes the record after its version is published; a run that finds a
 * record it cannot use deletes it and the parts only it names.
 *
 * Format 2 holds the ranges; a format 1 record (before parallel loads were
 * resumable: one key, "last_key") still reads, as one range kept up to
 * that key, read on one connection.
 *
 * Threads: plain functions on the calling thread's store handle.
 */
#include "ingest_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESUME_FORMAT 2
#define RESUME_MAX_BYTES (64u << 20)
#define RESUME_AGE_ENV "LAKEHOUSE_RESUME_MAX_AGE_SECS"
#define RESUME_AGE_DEFAULT_S (7 * 86400)

static void resume_key(const char *dataset, char *out, size_t cap)
{
    snprintf(out, cap, "datasets/%s/" INGEST_RESUME_NAME, dataset);
}

int64_t ingest_resume_max_age_ms(void)
{
    const char *v = getenv(RESUME_AGE_ENV);
    int64_t n;
    if (!v || !*v)
        return (int64_t)RESUME_AGE_DEFAULT_S * 1000;
    if (!lh_parse_i64(v, &n) || n < 0 || n > 365LL * 86400) {
        lh_warn("%s='%s' is not a number of seconds in 0..31536000; using %d", RESUME_AGE_ENV, v,
                RESUME_AGE_DEFAULT_S);
        return (int64_t)RESUME_AGE_DEFAULT_S * 1000;
    }
    return n * 1000;
}

void ingest_resume_reset(struct ingest_resume *r)
{
    free(r->source);
    free(r->ranges);
    free(r->parts);
    memset(r, 0, sizeof *r);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* An optional key bound: an integer, or null (open). */
static bool jbound(json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    *v = json_is_integer(x) ? (int64_t)json_integer_value(x) : 0;
    return json_is_integer(x);
}

static json_t *jbound_new(bool has, int64_t v)
{
    return has ? json_integer((json_int_t)v) : json_null();
}

/* The ranges of a record, as saved: in key order, disjoint, each
 * bound inside its range, one at least left to read. */
static bool ranges_sound(const struct ingest_resume_range *g, size_t n)
{
    bool left = false;
    for (size_t i = 0; i < n; i++) {
        const struct lh_source_range *r = &g[i].r;
        if (r->has_lo && r->has_hi && r->lo >= r->hi)
            return false;
        if (r->has_after && ((r->has_lo && r->after < r->lo) || (r->has_hi && r->after >= r->hi)))
            return false;
        if (i > 0 && (!g[i - 1].r.has_hi || !r->has_lo || g[i - 1].r.hi > r->lo))
            return false;
        left = left || !g[i].done;
    }
    return n > 0 && left;
}

/* The ranges of o into out: format 2's "ranges", or format 1's one range
 * kept up to "last_key". */
static bool ranges_load(json_t *o, int format, struct ingest_resume *out)
{
    json_t *a = json_object_get(o, "ranges");
    size_t n = format == 1 ? 1 : json_array_size(a);
    if (n == 0 || n > LH_SOURCE_RANGES_MAX)
        return false;
    out->ranges = calloc(n, sizeof *out->ranges);
    if (!out->ranges)
        return false;
    out->nranges = n;
    if (format == 1) {
        out->parallel = 1;
        out->ranges[0].r.has_after = true;
        out->ranges[0].r.after = (int64_t)json_integer_value(json_object_get(o, "last_key"));
        return true;
    }
    json_t *par = json_object_get(o, "parallel");
    out->parallel = (int)json_integer_value(par);
    if (!json_is_integer(par) || (out->parallel != LH_SOURCE_PARALLEL_AUTO &&
                                  (out->parallel < 1 || out->parallel > LH_SOURCE_PARALLEL_MAX)))
        return false;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(a, i);
        struct ingest_resume_range *g = &out->ranges[i];
        g->r.has_lo = jbound(x, "lo", &g->r.lo);
        g->r.has_hi = jbound(x, "hi", &g->r.hi);
        g->r.has_after = jbound(x, "last_key", &g->r.after);
        g->done = json_is_true(json_object_get(x, "done"));
    }
    return ranges_sound(out->ranges, n);
}

enum lh_status ingest_resume_load(struct lh_store *st, const char *dataset,
                                  struct ingest_resume *out, struct lh_error *err)
{
    memset(out, 0, sizeof *out);
    char key[LH_STORE_KEY_MAX];
    resume_key(dataset, key, sizeof key);
    uint8_t *data = NULL;
    size_t len = 0;
    enum lh_status s = lh_store_get(st, key, RESUME_MAX_BYTES, &data, &len, NULL, err);
    if (s != LH_OK)
        return s;
    json_t *o = json_loadb((const char *)data, len, 0, NULL);
    free(data);
    json_t *parts = json_object_get(o, "parts");
    int format = (int)json_integer_value(json_object_get(o, "format"));
    if (!json_is_object(o) || (format != 1 && format != RESUME_FORMAT) || !json_is_array(parts)) {
        json_decref(o);
        return lh_error_set(err, LH_E_FORMAT, "%s is not a resume record this version reads", key);
    }
    snprintf(out->run_id, sizeof out->run_id, "%s", jstr(o, "run_id"));
    snprintf(out->schema_fp, sizeof out->schema_fp, "%s", jstr(o, "schema_fingerprint"));
    snprintf(out->key_column, sizeof out->key_column, "%s", jstr(o, "key_column"));
    out->created_ms = (int64_t)json_integer_value(json_object_get(o, "created_at_ms"));
    out->base_version = (uint64_t)json_integer_value(json_object_get(o, "base_version"));
    out->rows = (int64_t)json_integer_value(json_object_get(o, "rows"));
    out->source = strdup(jstr(o, "source"));
    size_t n = json_array_size(parts);
    out->parts = calloc(n ? n : 1, sizeof *out->parts);
    if (!out->source || !out->parts) {
        json_decref(o);
        ingest_resume_reset(out);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    if (!ranges_load(o, format, out)) {
        json_decref(o);
        ingest_resume_reset(out);
        return lh_error_set(err, LH_E_FORMAT, "%s has no sound key ranges", key);
    }
    int64_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(parts, i);
        struct ingest_resume_part *rp = &out->parts[i];
        snprintf(rp->key, sizeof rp->key, "%s", jstr(p, "key"));
        snprintf(rp->checksum, sizeof rp->checksum, "%s", jstr(p, "checksum"));
        rp->size = (uint64_t)json_integer_value(json_object_get(p, "size"));
        rp->created_us = (int64_t)json_integer_value(json_object_get(p, "created_us"));
        rp->rows = (int64_t)json_integer_value(json_object_get(p, "rows"));
        rows += rp->rows;
        /* only parts of this dataset's run directories */
        char prefix[LH_STORE_KEY_MAX];
        snprintf(prefix, sizeof prefix, "datasets/%s/run-", dataset);
        if (strncmp(rp->key, prefix, strlen(prefix)) != 0 || strstr(rp->key, "..")) {
            json_decref(o);
            ingest_resume_reset(out);
            return lh_error_set(err, LH_E_FORMAT, "%s names a part outside the dataset", key);
        }
    }
    out->nparts = n;
    json_decref(o);
    if (rows != out->rows || n == 0) {
        ingest_resume_reset(out);
        return lh_error_set(err, LH_E_FORMAT, "%s does not add up", key);
    }
    return LH_OK;
}

enum lh_status ingest_resume_save(struct lh_store *st, const char *dataset,
                                  const struct ingest_resume *r, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    resume_key(dataset, key, sizeof key);
    json_t *parts = json_array();
    for (size_t i = 0; parts && i < r->nparts; i++) {
        const struct ingest_resume_part *p = &r->parts[i];
        json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I}", "key", p->key, "size",
                              (json_int_t)p->size, "checksum", p->checksum, "created_us",
                              (json_int_t)p->created_us, "rows", (json_int_t)p->rows);
        if (!o || json_array_append_new(parts, o) != 0) {
            json_decref(parts);
            parts = NULL;
        }
    }
    json_t *ranges = parts ? json_array() : NULL;
    for (size_t i = 0; ranges && i < r->nranges; i++) {
        const struct lh_source_range *g = &r->ranges[i].r;
        json_t *o = json_pack("{s:o, s:o, s:o, s:b}", "lo", jbound_new(g->has_lo, g->lo), "hi",
                              jbound_new(g->has_hi, g->hi), "last_key",
                              jbound_new(g->has_after, g->after), "done", r->ranges[i].done);
        if (!o || json_array_append_new(ranges, o) != 0) {
            json_decref(ranges);
            ranges = NULL;
        }
    }
    if (!ranges)
        json_decref(parts);
    json_t *o = ranges ? json_pack("{s:i, s:s, s:I, s:s, s:s, s:I, s:s, s:i, s:o, s:I, s:o}",
                                   "format", RESUME_FORMAT, "run_id", r->run_id, "created_at_ms",
                                   (json_int_t)r->created_ms, "source", r->source ? r->source : "",
                                   "schema_fingerprint", r->schema_fp, "base_version",
                                   (json_int_t)r->base_version, "key_column", r->key_column,
                                   "parallel", r->parallel, "ranges", ranges, "rows",
                                   (json_int_t)r->rows, "parts", parts)
                       : NULL;
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = lh_store_put(st, key, text, strlen(text), err);
    free(text);
    return s;
}

static bool referenced(const struct lh_catalog_record *rec, const char *key)
{
    for (size_t i = 0; rec && i < rec->nversions; i++)
        for (size_t j = 0; j < rec->versions[i].nobjects; j++)
            if (strcmp(rec->versions[i].objects[j].bucket, "primary") == 0 &&
                strcmp(rec->versions[i].objects[j].key, key) == 0)
                return true;
    return false;
}

size_t ingest_resume_remove(struct lh_store *st, const char *dataset, const struct ingest_resume *r,
                            const struct lh_catalog_record *rec, bool parts)
{
    char key[LH_STORE_KEY_MAX];
    resume_key(dataset, key, sizeof key);
    struct lh_error e;
    size_t n = 0;
    enum lh_status s = lh_store_delete(st, key, &e);
    if (s != LH_OK && s != LH_E_NOTFOUND) {
        lh_warn("ingest %s: could not delete %s: %s", dataset, key, e.msg);
        return 0; /* the record still keeps its parts: leave them */
    }
    n += s == LH_OK;
    for (size_t i = 0; parts && r && i < r->nparts; i++) {
        if (referenced(rec, r->parts[i].key))
            continue;
        s = lh_store_delete(st, r->parts[i].key, &e);
        if (s == LH_OK)
            n++;
        else if (s != LH_E_NOTFOUND)
            lh_warn("ingest %s: could not delete %s: %s (a later sweep removes it)", dataset,
                    r->parts[i].key, e.msg);
    }
    return n;
}
