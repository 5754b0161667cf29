/*
 * catalog.c — dataset records with compare-and-swap updates.
 *
 * Every mutation is a function that edits a jansson tree; catalog_update()
 * wraps it in the read / mutate / compare-and-swap / retry loop:
 *
 *   get _catalog/{name}.json with its token (absent: start from {})
 *   mutate(tree)                      pure: no store writes in here
 *   put_if_absent (new) or replace_if (token)
 *   on LH_E_EXISTS / LH_E_CONFLICT: back off a little and start over
 *
 * Side effects that depend on the committed record (events, deleting
 * objects dropped by retention) run after the swap succeeded, from what the
 * mutation recorded in its context, so a retried attempt never leaves
 * duplicates behind. A crash between the swap and those effects leaves at
 * worst unreferenced objects (garbage, never a broken version) or a missing
 * event.
 *
 * Threads: struct lh_catalog is the store set (thread-safe, store.h) and
 * settings written at open, plus the back-off seed, an atomic. Every call
 * keeps its tree, buffers and record to itself, so one catalog serves any
 * number of threads at once; the compare-and-swap orders their updates of
 * one record exactly as it orders two processes'.
 */
#include "catalog_int.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CATALOG_PREFIX "_catalog/"
#define EVENTS_PREFIX "_events/"

struct lh_catalog {
    struct lh_store_set *set;
    struct lh_store *primary;
    unsigned keep, retries;
    size_t max_record;
    _Atomic uint64_t seed; /* the only field written after open */
};

enum lh_status lh_catalog_open(struct lh_store_set *set, const struct lh_catalog_options *opt,
                               struct lh_catalog **out, struct lh_error *err)
{
    *out = NULL;
    struct lh_catalog *c = calloc(1, sizeof *c);
    if (!c)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    c->set = set;
    c->primary = lh_store_set_primary(set);
    c->keep = opt && opt->keep_versions ? opt->keep_versions : 5;
    c->retries = opt && opt->max_retries ? opt->max_retries : 200;
    c->max_record = opt && opt->max_record ? opt->max_record : (16u << 20);
    atomic_init(&c->seed, (uint64_t)lh_time_mono_ns() ^ ((uint64_t)getpid() << 32));
    *out = c;
    return LH_OK;
}

void lh_catalog_close(struct lh_catalog *cat)
{
    free(cat);
}

/* ------------------------------------------------------------------ helpers */

static void now_iso(char out[40])
{
    lh_time_format_iso(lh_time_wall_us(), out, 40);
}

static void iso_or_now(int64_t us, char out[40])
{
    lh_time_format_iso(us ? us : lh_time_wall_us(), out, 40);
}

static enum lh_status record_key(const char *name, char *key, size_t cap, struct lh_error *err)
{
    enum lh_status s = lh_store_name_check(name, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "dataset name");
        return s;
    }
    snprintf(key, cap, CATALOG_PREFIX "%s.json", name);
    return LH_OK;
}

void lh_catalog_schema_fingerprint(const struct lh_catalog_column *cols, size_t n, char out[65])
{
    struct lh_sha256 c;
    uint8_t d[32];
    lh_sha256_init(&c);
    for (size_t i = 0; i < n; i++) {
        const char *parts[2] = {cols[i].name ? cols[i].name : "",
                                cols[i].data_type ? cols[i].data_type : ""};
        for (int k = 0; k < 2; k++) {
            uint32_t l = (uint32_t)strlen(parts[k]);
            uint8_t lb[4] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
            lh_sha256_update(&c, lb, 4);
            lh_sha256_update(&c, parts[k], l);
        }
        uint8_t nb = cols[i].nullable ? 1 : 0;
        lh_sha256_update(&c, &nb, 1);
    }
    lh_sha256_final(&c, d);
    lh_sha256_tohex(d, out);
}

/* Stores source_file with any DSN password redacted. */
static json_t *redacted_source(const char *src)
{
    if (!src)
        return json_string("");
    const char *body = src;
    const char *lead = "";
    if (strncmp(src, "dsn: ", 5) == 0) {
        body = src + 5;
        lead = "dsn: ";
    } else if (!strstr(src, "://") && !strchr(src, '=')) {
        return json_string(src);
    }
    size_t need = lh_redact_dsn(body, NULL, 0) + 1;
    char *buf = malloc(need + 5);
    if (!buf)
        return NULL;
    memcpy(buf, lead, strlen(lead));
    lh_redact_dsn(body, buf + strlen(lead), need);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

/* o[k] = v (takes v) while o is whole; a failure frees o and the result is
 * NULL from then on: a sticky error the caller checks once at the end. */
static json_t *obj_put(json_t *o, const char *k, json_t *v)
{
    if (o && json_object_set_new(o, k, v) == 0)
        return o;
    if (!o)
        json_decref(v);
    json_decref(o);
    return NULL;
}

/* The version's "source" object; only the fields that are set. */
static json_t *source_json(const struct lh_catalog_source *src)
{
    json_t *o = json_object();
    struct {
        const char *k, *v;
    } f[] = {{"system", src->system},
             {"host", src->host},
             {"database", src->database},
             {"table", src->table},
             {"query", src->query},
             {"columns", src->columns},
             {"where", src->where},
             {"mode", src->mode},
             {"cursor_column", src->cursor_column},
             {"made_by", src->made_by},
             {"schema_policy", src->schema_policy}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v)
            o = obj_put(o, f[i].k, json_string(f[i].v));
    /* replace_source goes with the policy (both say how the run was told to
     * treat a change); source_replaced only when it happened */
    if (src->schema_policy)
        o = obj_put(o, "replace_source", json_boolean(src->replace_source));
    if (src->source_replaced)
        o = obj_put(o, "source_replaced", json_true());
    if (src->port)
        o = obj_put(o, "port", json_integer(src->port));
    return o;
}

static json_t *lineage_json(const struct lh_catalog_lineage *l)
{
    char ts[40];
    iso_or_now(l->ingest_timestamp_us, ts);
    json_t *parents = json_array();
    for (size_t i = 0; parents && i < l->nparents; i++)
        json_array_append_new(parents, json_string(l->parent_datasets[i]));
    return json_pack("{s:s, s:o, s:s, s:s, s:o}", "source_system",
                     l->source_system ? l->source_system : "", "source_file",
                     redacted_source(l->source_file), "ingest_job",
                     l->ingest_job ? l->ingest_job : "", "ingest_timestamp", ts, "parent_datasets",
                     parents ? parents : json_array());
}

static uint64_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Makes sure a fresh record has every §4 field. */
static int ensure_shape(json_t *r, const char *name)
{
    int rc = 0;
    if (!json_object_get(r, "name"))
        rc |= json_object_set_new(r, "name", json_string(name));
    if (!json_object_get(r, "schema_fingerprint"))
        rc |= json_object_set_new(r, "schema_fingerprint", json_string(""));
    if (!json_object_get(r, "current_version"))
        rc |= json_object_set_new(r, "current_version", json_integer(0));
    if (!json_is_array(json_object_get(r, "versions")))
        rc |= json_object_set_new(r, "versions", json_array());
    if (!json_object_get(r, "row_count"))
        rc |= json_object_set_new(r, "row_count", json_integer(0));
    if (!json_object_get(r, "sensitivity"))
        rc |= json_object_set_new(r, "sensitivity", json_null());
    if (!json_is_array(json_object_get(r, "columns")))
        rc |= json_object_set_new(r, "columns", json_array());
    if (!json_object_get(r, "lineage"))
        rc |= json_object_set_new(r, "lineage", json_null());
    if (!json_object_get(r, "embeddings_stale"))
        rc |= json_object_set_new(r, "embeddings_stale", json_false());
    if (!json_is_array(json_object_get(r, "index_bindings")))
        rc |= json_object_set_new(r, "index_bindings", json_array());
    rc |= catalog_meta_shape(r);
    return rc;
}

/* ------------------------------------------------------------------ CAS loop */

static void backoff(struct lh_catalog *cat, unsigned attempt)
{
    /* splitmix64 over an atomic Weyl sequence: threads that collide on one
     * record draw different pauses */
    uint64_t z = atomic_fetch_add(&cat->seed, UINT64_C(0x9e3779b97f4a7c15)) +
                 UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    unsigned cap = attempt < 8 ? (200u << attempt) : 50000u; /* microseconds */
    struct timespec ts = {0, (long)(z % cap) * 1000L};
    nanosleep(&ts, NULL);
}

static enum lh_status parse_record(const char *key, const uint8_t *data, size_t len, json_t **out,
                                   struct lh_error *err)
{
    json_error_t je;
    json_t *r = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    if (!r)
        return lh_error_set(err, LH_E_FORMAT, "catalog record %s is corrupt: line %d: %s", key,
                            je.line, je.text);
    if (!json_is_object(r)) {
        json_decref(r);
        return lh_error_set(err, LH_E_FORMAT, "catalog record %s is corrupt: not a JSON object",
                            key);
    }
    *out = r;
    return LH_OK;
}

enum lh_status catalog_update(struct lh_catalog *cat, const char *name, bool create,
                              catalog_mutate_fn fn, void *ctx, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    enum lh_status s = record_key(name, key, sizeof key, err);
    if (s != LH_OK)
        return s;
    for (unsigned attempt = 0; attempt < cat->retries; attempt++) {
        uint8_t *data = NULL;
        size_t len = 0;
        char tok[LH_STORE_TOKEN_MAX];
        json_t *rec = NULL;
        char *out = NULL;
        bool is_new = false;
        s = lh_store_get(cat->primary, key, cat->max_record, &data, &len, tok, err);
        if (s == LH_E_NOTFOUND) {
            if (!create) {
                s = lh_error_set(err, LH_E_NOTFOUND, "dataset '%s' not found", name);
                goto done;
            }
            is_new = true;
            rec = json_object();
            if (!rec) {
                s = lh_error_set(err, LH_E_NOMEM, "out of memory");
                goto done;
            }
        } else if (s != LH_OK) {
            goto done;
        } else {
            s = parse_record(key, data, len, &rec, err);
            if (s != LH_OK)
                goto done;
        }
        if (ensure_shape(rec, name) != 0) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        s = fn(rec, is_new, ctx, err);
        if (s != LH_OK)
            goto done;
        out = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!out) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory serialising %s", key);
            goto done;
        }
        if (strlen(out) > cat->max_record) {
            s = lh_error_set(err, LH_E_TOOBIG, "catalog record %s would pass %zu bytes", key,
                             cat->max_record);
            goto done;
        }
        if (is_new)
            s = lh_store_put_if_absent(cat->primary, key, out, strlen(out), err);
        else
            s = lh_store_replace_if(cat->primary, key, out, strlen(out), tok, NULL, err);
    done:
        free(out);
        json_decref(rec);
        free(data);
        if (s == LH_E_EXISTS || s == LH_E_CONFLICT) {
            lh_debug("catalog %s: changed underneath (attempt %u), retrying", key, attempt + 1);
            backoff(cat, attempt);
            continue;
        }
        return s;
    }
    return lh_error_set(err, LH_E_CONFLICT, "catalog record %s: still contended after %u attempts",
                        key, cat->retries);
}

/* ------------------------------------------------------------------ events */

static enum lh_status event_put(struct lh_catalog *cat, const char *dataset, uint64_t version,
                                const char *type, const char *index, const char *prev_fp,
                                const char *fp, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX], id[400], ts[40];
    if (index)
        snprintf(id, sizeof id, "%s/%020llu-%s-%s", dataset, (unsigned long long)version, type,
                 index);
    else
        snprintf(id, sizeof id, "%s/%020llu-%s", dataset, (unsigned long long)version, type);
    snprintf(key, sizeof key, EVENTS_PREFIX "%s.json", id);
    now_iso(ts);
    json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", id, "type", type, "dataset", dataset,
                          "version", (json_int_t)version, "created_at", ts);
    if (!e)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    if (index)
        json_object_set_new(e, "index_name", json_string(index));
    if (prev_fp) {
        json_object_set_new(e, "previous_fingerprint", json_string(prev_fp));
        json_object_set_new(e, "schema_fingerprint", json_string(fp ? fp : ""));
    }
    char *txt = json_dumps(e, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(e);
    if (!txt)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = lh_store_put_if_absent(cat->primary, key, txt, strlen(txt), err);
    free(txt);
    if (s == LH_E_EXISTS) /* the same event is already pending */
        s = LH_OK;
    return s;
}

/* Lists the keys under prefix into l and returns one zeroed slot of size
 * bytes per key (freed with free()); NULL with *st (and err) set, nothing
 * left to free, when either fails. */
static void *list_alloc(struct lh_catalog *cat, const char *prefix, struct lh_store_list *l,
                        size_t size, enum lh_status *st, struct lh_error *err)
{
    *st = lh_store_list(cat->primary, prefix, l, err);
    if (*st != LH_OK)
        return NULL;
    void *p = calloc(l->count ? l->count : 1, size);
    if (!p) {
        lh_store_list_reset(l);
        *st = lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    return p;
}

static bool copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= cap)
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

enum lh_status lh_catalog_events_list(struct lh_catalog *cat, const char *dataset,
                                      struct lh_catalog_event **out, size_t *n,
                                      struct lh_error *err)
{
    char prefix[LH_STORE_KEY_MAX];
    struct lh_store_list l;
    *out = NULL;
    *n = 0;
    if (dataset) {
        enum lh_status s = lh_store_name_check(dataset, err);
        if (s != LH_OK)
            return s;
        snprintf(prefix, sizeof prefix, EVENTS_PREFIX "%s/", dataset);
    } else {
        snprintf(prefix, sizeof prefix, EVENTS_PREFIX);
    }
    enum lh_status s;
    struct lh_catalog_event *ev = list_alloc(cat, prefix, &l, sizeof *ev, &s, err);
    if (!ev)
        return s;
    size_t k = 0;
    for (size_t i = 0; i < l.count; i++) {
        uint8_t *data;
        size_t len;
        struct lh_error e2;
        if (lh_store_get(cat->primary, l.items[i].key, 1u << 20, &data, &len, NULL, &e2) != LH_OK) {
            if (e2.status != LH_E_NOTFOUND) /* acked meanwhile: fine */
                lh_warn("event %s: %s", l.items[i].key, e2.msg);
            continue;
        }
        json_error_t je;
        json_t *j = json_loadb((const char *)data, len, 0, &je);
        free(data);
        struct lh_catalog_event *e = &ev[k];
        json_t *ver = json_object_get(j, "version");
        bool ok = json_is_object(j) && copy_str(e->id, sizeof e->id, json_object_get(j, "id")) &&
                  copy_str(e->type, sizeof e->type, json_object_get(j, "type")) &&
                  copy_str(e->dataset, sizeof e->dataset, json_object_get(j, "dataset")) &&
                  json_is_integer(ver) && json_integer_value(ver) >= 0;
        if (ok) {
            e->version = (uint64_t)json_integer_value(ver);
            copy_str(e->created_at, sizeof e->created_at, json_object_get(j, "created_at"));
            copy_str(e->index_name, sizeof e->index_name, json_object_get(j, "index_name"));
            copy_str(e->previous_fingerprint, sizeof e->previous_fingerprint,
                     json_object_get(j, "previous_fingerprint"));
            copy_str(e->schema_fingerprint, sizeof e->schema_fingerprint,
                     json_object_get(j, "schema_fingerprint"));
            k++;
        } else {
            lh_warn("event %s is corrupt; skipped", l.items[i].key);
        }
        json_decref(j);
    }
    lh_store_list_reset(&l);
    *out = ev;
    *n = k;
    return LH_OK;
}

enum lh_status lh_catalog_event_ack(struct lh_catalog *cat, const char *id, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    if (!id || !*id || strlen(id) > 400)
        return lh_error_set(err, LH_E_INVAL, "bad event id");
    snprintf(key, sizeof key, EVENTS_PREFIX "%s.json", id);
    enum lh_status s = lh_store_key_check(key, err);
    if (s != LH_OK)
        return s;
    return lh_store_delete(cat->primary, key, err);
}

/* ------------------------------------------------------------------ register */

struct reg_ctx {
    struct lh_catalog *cat;
    const struct lh_catalog_version_spec *spec;
    char fp[65];
    /* filled by the mutation (reset on every attempt) */
    uint64_t version;
    bool schema_changed;
    char prev_fp[65];
    json_t *indexes; /* the names of the bound indexes */
    json_t *dropped; /* the {bucket, key} objects no kept version references */
};

static void reg_reset(struct reg_ctx *c)
{
    json_decref(c->indexes);
    json_decref(c->dropped);
    c->indexes = c->dropped = NULL;
    c->schema_changed = false;
    c->prev_fp[0] = '\0';
    c->version = 0;
}

static bool referenced(json_t *versions, size_t from, const char *bucket, const char *key)
{
    for (size_t i = from; i < json_array_size(versions); i++) {
        json_t *objs = json_object_get(json_array_get(versions, i), "objects");
        for (size_t j = 0; j < json_array_size(objs); j++) {
            json_t *o = json_array_get(objs, j);
            const char *b = json_string_value(json_object_get(o, "bucket"));
            const char *k = json_string_value(json_object_get(o, "key"));
            if (k && strcmp(k, key) == 0 && strcmp(b ? b : "primary", bucket) == 0)
                return true;
        }
    }
    return false;
}

static enum lh_status reg_mutate(json_t *rec, bool is_new, void *vctx, struct lh_error *err)
{
    struct reg_ctx *c = vctx;
    const struct lh_catalog_version_spec *sp = c->spec;
    (void)is_new;
    reg_reset(c);
    c->indexes = json_array();
    c->dropped = json_array();
    if (!c->indexes || !c->dropped)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    json_t *versions = json_object_get(rec, "versions");
    uint64_t cur = jint(rec, "current_version");
    for (size_t i = 0; i < json_array_size(versions); i++) {
        uint64_t v = jint(json_array_get(versions, i), "version");
        if (v > cur)
            cur = v;
    }
    c->version = cur + 1;
    /* the current version's entry (append/incremental build on it) */
    json_t *curv = NULL;
    for (size_t i = 0; i < json_array_size(versions); i++) {
        json_t *e = json_array_get(versions, i);
        if (jint(e, "version") == jint(rec, "current_version"))
            curv = e;
    }
    if (sp->check_base && jint(rec, "current_version") != sp->base_version)
        return lh_error_set(err, LH_E_STATE,
                            "dataset changed during the run: current version is %llu, the run "
                            "started from %llu",
                            (unsigned long long)jint(rec, "current_version"),
                            (unsigned long long)sp->base_version);
    uint64_t row_count = sp->row_count;
    const char *watermark = sp->watermark;
    if (sp->inherit_objects && curv) {
        row_count += jint(curv, "row_count");
        if (!watermark)
            watermark = json_string_value(json_object_get(curv, "watermark"));
    }
    /* schema change against the previous version */
    const char *prev = json_string_value(json_object_get(rec, "schema_fingerprint"));
    if (cur > 0 && prev && *prev && strcmp(prev, c->fp) != 0) {
        c->schema_changed = true;
        snprintf(c->prev_fp, sizeof c->prev_fp, "%s", prev);
    }
    char ts[40];
    now_iso(ts);
    json_t *objs = json_array();
    if (objs && sp->inherit_objects && curv) {
        json_t *po = json_object_get(curv, "objects");
        for (size_t i = 0; objs && i < json_array_size(po); i++)
            if (json_array_append(objs, json_array_get(po, i)) != 0) {
                json_decref(objs);
                objs = NULL;
            }
    }
    for (size_t i = 0; objs && i < sp->nobjects; i++) {
        char ots[40];
        iso_or_now(sp->objects[i].created_at_us, ots);
        json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "bucket",
                              sp->objects[i].bucket ? sp->objects[i].bucket : "primary", "key",
                              sp->objects[i].key, "size_bytes",
                              (json_int_t)sp->objects[i].size_bytes, "created_at", ots);
        if (sp->objects[i].checksum)
            o = obj_put(o, "checksum", json_string(sp->objects[i].checksum));
        if (!o || json_array_append_new(objs, o) != 0) {
            json_decref(objs);
            objs = NULL;
        }
    }
    json_t *v =
        objs ? json_pack("{s:I, s:s, s:I, s:s, s:s, s:o}", "version", (json_int_t)c->version,
                         "created_at", ts, "row_count", (json_int_t)row_count, "run_id",
                         sp->run_id ? sp->run_id : "", "schema_fingerprint", c->fp, "objects", objs)
             : NULL;
    if (watermark)
        v = obj_put(v, "watermark", json_string(watermark));
    if (sp->metadata_location)
        v = obj_put(v, "metadata_location", json_string(sp->metadata_location));
    if (sp->schema_change && *sp->schema_change)
        v = obj_put(v, "schema_change", json_string(sp->schema_change));
    if (sp->source)
        v = obj_put(v, "source", source_json(sp->source));
    if (!v || json_array_append_new(versions, v) != 0)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    json_object_set_new(rec, "current_version", json_integer((json_int_t)c->version));
    json_object_set_new(rec, "schema_fingerprint", json_string(c->fp));
    json_object_set_new(rec, "row_count", json_integer((json_int_t)row_count));
    json_object_set_new(rec, "embeddings_stale", json_true());
    if (sp->columns) {
        enum lh_status s = catalog_columns_apply(rec, sp->columns, sp->ncolumns, NULL, err);
        if (s != LH_OK)
            return s;
    }
    if (sp->lineage) {
        json_t *l = lineage_json(sp->lineage);
        if (!l)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        json_object_set_new(rec, "lineage", l);
    }
    /* retention: drop the oldest versions past keep; remember objects that
     * no kept version references */
    size_t nv = json_array_size(versions);
    size_t drop = nv > c->cat->keep ? nv - c->cat->keep : 0;
    for (size_t i = 0; i < drop; i++) {
        json_t *ob = json_object_get(json_array_get(versions, i), "objects");
        for (size_t j = 0; j < json_array_size(ob); j++) {
            json_t *o = json_array_get(ob, j);
            const char *b = json_string_value(json_object_get(o, "bucket"));
            const char *k = json_string_value(json_object_get(o, "key"));
            if (!k || referenced(versions, drop, b ? b : "primary", k))
                continue;
            if (json_array_append(c->dropped, o) != 0)
                return lh_error_set(err, LH_E_NOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < drop; i++)
        json_array_remove(versions, 0);
    /* bound indexes get a dataset_appended each */
    json_t *ib = json_object_get(rec, "index_bindings");
    for (size_t i = 0; i < json_array_size(ib); i++) {
        json_t *ix = json_object_get(json_array_get(ib, i), "index_name");
        if (json_is_string(ix) && json_array_append(c->indexes, ix) != 0)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    return LH_OK;
}

enum lh_status lh_catalog_version_register(struct lh_catalog *cat, const char *name,
                                           const struct lh_catalog_version_spec *spec,
                                           uint64_t *version, struct lh_error *err)
{
    struct reg_ctx c = {.cat = cat, .spec = spec};
    enum lh_status s;
    if (spec->schema_fingerprint) {
        if (strlen(spec->schema_fingerprint) != 64)
            return lh_error_set(err, LH_E_INVAL, "schema fingerprint must be 64 hex characters");
        memcpy(c.fp, spec->schema_fingerprint, 65);
    } else {
        lh_catalog_schema_fingerprint(spec->columns, spec->columns ? spec->ncolumns : 0, c.fp);
    }
    /* every part must be in place before the version can become current */
    for (size_t i = 0; i < spec->nobjects; i++) {
        struct lh_store *st;
        uint64_t size;
        const char *b = spec->objects[i].bucket ? spec->objects[i].bucket : "primary";
        uint32_t crc;
        if (spec->objects[i].checksum &&
            !lh_catalog_checksum_parse(spec->objects[i].checksum, &crc))
            return lh_error_set(err, LH_E_INVAL, "dataset %s: part checksum '%s' is not %s", name,
                                spec->objects[i].checksum, "crc32:<8 lowercase hex digits>");
        s = lh_store_set_get(cat->set, b, &st, err);
        if (s == LH_OK)
            s = lh_store_stat(st, spec->objects[i].key, &size, err);
        if (s != LH_OK) {
            lh_error_prefix(err, "dataset %s: part %s/%s is not in place", name, b,
                            spec->objects[i].key ? spec->objects[i].key : "?");
            return s;
        }
    }
    s = catalog_update(cat, name, true, reg_mutate, &c, err);
    if (s != LH_OK)
        goto done;
    if (version)
        *version = c.version;
    /* after the swap: events, then retention deletes */
    struct lh_error e2;
    for (size_t i = 0; i < json_array_size(c.indexes); i++) {
        const char *ix = json_string_value(json_array_get(c.indexes, i));
        if (event_put(cat, name, c.version, "dataset_appended", ix, NULL, NULL, &e2) != LH_OK)
            lh_warn("dataset %s v%llu: event for index %s not written: %s", name,
                    (unsigned long long)c.version, ix, e2.msg);
    }
    if (c.schema_changed &&
        event_put(cat, name, c.version, "schema_changed", NULL, c.prev_fp, c.fp, &e2) != LH_OK)
        lh_warn("dataset %s v%llu: schema_changed event not written: %s", name,
                (unsigned long long)c.version, e2.msg);
    for (size_t i = 0; i < json_array_size(c.dropped); i++) {
        json_t *o = json_array_get(c.dropped, i);
        const char *b = json_string_value(json_object_get(o, "bucket"));
        const char *k = json_string_value(json_object_get(o, "key"));
        struct lh_store *st;
        b = b ? b : "primary";
        if (lh_store_set_get(cat->set, b, &st, &e2) != LH_OK ||
            lh_store_delete(st, k, &e2) != LH_OK)
            lh_warn("dataset %s: retention could not delete %s/%s: %s", name, b, k, e2.msg);
    }
done:
    reg_reset(&c);
    return s;
}

unsigned lh_catalog_keep_versions(const struct lh_catalog *cat)
{
    return cat->keep;
}

struct mloc_ctx {
    uint64_t version;
    const char *location;
};

static enum lh_status mloc_mutate(json_t *rec, bool is_new, void *vctx, struct lh_error *err)
{
    struct mloc_ctx *c = vctx;
    if (is_new || jint(rec, "current_version") != c->version)
        return lh_error_set(err, LH_E_STATE, "version %llu is no longer current",
                            (unsigned long long)c->version);
    json_t *versions = json_object_get(rec, "versions");
    for (size_t i = 0; i < json_array_size(versions); i++) {
        json_t *e = json_array_get(versions, i);
        if (jint(e, "version") == c->version) {
            if (json_object_set_new(e, "metadata_location", json_string(c->location)) != 0)
                return lh_error_set(err, LH_E_NOMEM, "out of memory");
            return LH_OK;
        }
    }
    return lh_error_set(err, LH_E_STATE, "version %llu is not in the record",
                        (unsigned long long)c->version);
}

enum lh_status lh_catalog_version_metadata_set(struct lh_catalog *cat, const char *name,
                                               uint64_t version, const char *metadata_location,
                                               struct lh_error *err)
{
    struct mloc_ctx c = {version, metadata_location};
    return catalog_update(cat, name, false, mloc_mutate, &c, err);
}

/* ------------------------------------------------------------------ metadata */

static enum lh_status meta_mutate(json_t *rec, bool is_new, void *vctx, struct lh_error *err)
{
    const struct lh_catalog_metadata_update *u = vctx;
    (void)is_new;
    if (u->columns) {
        enum lh_status s = catalog_columns_apply(rec, u->columns, u->ncolumns, u->sensitivity, err);
        if (s != LH_OK)
            return s;
    } else if (u->sensitivity) {
        enum lh_sensitivity lv;
        if (!lh_sensitivity_parse(u->sensitivity, &lv))
            return lh_error_set(err, LH_E_INVAL, "unknown sensitivity '%s'", u->sensitivity);
        const char *ss = lh_sensitivity_str(lv);
        json_object_set_new(rec, "sensitivity", ss ? json_string(ss) : json_null());
    }
    if (u->lineage) {
        json_t *l = lineage_json(u->lineage);
        if (!l)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        json_object_set_new(rec, "lineage", l);
    }
    if (u->set_row_count)
        json_object_set_new(rec, "row_count", json_integer((json_int_t)u->row_count));
    return LH_OK;
}

enum lh_status lh_catalog_metadata_update(struct lh_catalog *cat, const char *name,
                                          const struct lh_catalog_metadata_update *u,
                                          struct lh_error *err)
{
    return catalog_update(cat, name, false, meta_mutate, (void *)u, err);
}

static enum lh_status stale_mutate(json_t *rec, bool is_new, void *vctx, struct lh_error *err)
{
    (void)is_new, (void)err;
    json_object_set_new(rec, "embeddings_stale", json_boolean(*(bool *)vctx));
    return LH_OK;
}

enum lh_status lh_catalog_embeddings_stale_set(struct lh_catalog *cat, const char *name, bool stale,
                                               struct lh_error *err)
{
    return catalog_update(cat, name, false, stale_mutate, &stale, err);
}

struct bind_ctx {
    const char *index;
    bool bind;
};

static enum lh_status bind_mutate(json_t *rec, bool is_new, void *vctx, struct lh_error *err)
{
    struct bind_ctx *b = vctx;
    (void)is_new;
    json_t *ib = json_object_get(rec, "index_bindings");
    for (size_t i = 0; i < json_array_size(ib); i++) {
        const char *ix = json_string_value(json_object_get(json_array_get(ib, i), "index_name"));
        if (ix && strcmp(ix, b->index) == 0) {
            if (!b->bind)
                json_array_remove(ib, i);
            return LH_OK;
        }
    }
    if (b->bind) {
        char ts[40];
        now_iso(ts);
        json_t *e = json_pack("{s:s, s:s}", "index_name", b->index, "bound_at", ts);
        if (!e || json_array_append_new(ib, e) != 0)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    return LH_OK;
}

enum lh_status lh_catalog_index_bind(struct lh_catalog *cat, const char *dataset,
                                     const char *index_name, struct lh_error *err)
{
    enum lh_status s = lh_store_name_check(index_name, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "index name");
        return s;
    }
    struct bind_ctx b = {index_name, true};
    return catalog_update(cat, dataset, false, bind_mutate, &b, err);
}

enum lh_status lh_catalog_index_unbind(struct lh_catalog *cat, const char *dataset,
                                       const char *index_name, struct lh_error *err)
{
    enum lh_status s = lh_store_name_check(index_name, err);
    if (s != LH_OK)
        return s;
    struct bind_ctx b = {index_name, false};
    return catalog_update(cat, dataset, false, bind_mutate, &b, err);
}

/* ------------------------------------------------------------------ reading */

struct rd {
    struct lh_arena *a;
    const char *key;
    struct lh_error *err;
    bool bad;
};

/* Marks the reading bad; only the first failure is reported. what is what
 * the field should have been ("a string"); NULL: out of memory. */
static void rd_fail(struct rd *r, const char *field, const char *what)
{
    if (!r->bad && what)
        lh_error_set(r->err, LH_E_FORMAT, "catalog record %s is corrupt: '%s' is not %s", r->key,
                     field, what);
    else if (!r->bad)
        lh_error_set(r->err, LH_E_NOMEM, "out of memory");
    r->bad = true;
}

static const char *rd_str(struct rd *r, json_t *o, const char *field, bool nullable)
{
    json_t *v = json_object_get(o, field);
    if (nullable && (!v || json_is_null(v)))
        return NULL;
    if (!json_is_string(v)) {
        rd_fail(r, field, "a string");
        return "";
    }
    const char *s = lh_arena_strndup(r->a, json_string_value(v), json_string_length(v));
    if (!s)
        rd_fail(r, field, NULL);
    return s ? s : "";
}

static uint64_t rd_u64(struct rd *r, json_t *o, const char *field)
{
    json_t *v = json_object_get(o, field);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        rd_fail(r, field, "a non-negative integer");
        return 0;
    }
    return (uint64_t)json_integer_value(v);
}

static json_t *rd_arr(struct rd *r, json_t *o, const char *field, bool optional)
{
    json_t *v = json_object_get(o, field);
    if (optional && !v)
        return NULL;
    if (!json_is_array(v)) {
        rd_fail(r, field, "an array");
        return NULL;
    }
    return v;
}

static void *rd_alloc(struct rd *r, size_t n, size_t size)
{
    void *p = lh_arena_alloc(r->a, (n ? n : 1) * size);
    if (!p)
        rd_fail(r, NULL, NULL);
    return p;
}

/* One element of a list field: e the JSON element, i its index, slot its
 * place in the list (zeroed). */
typedef void rd_elem_fn(struct rd *r, json_t *e, size_t i, void *slot);

/* The array field of o read into *n elements of size bytes, each by one();
 * the reading stops at the first bad element. */
static void *rd_list(struct rd *r, json_t *o, const char *field, bool optional, size_t size,
                     rd_elem_fn *one, size_t *n)
{
    json_t *a = rd_arr(r, o, field, optional);
    *n = json_array_size(a);
    char *v = rd_alloc(r, *n, size);
    for (size_t i = 0; v && !r->bad && i < *n; i++)
        one(r, json_array_get(a, i), i, v + i * size);
    return v;
}

static void rd_object(struct rd *r, json_t *o, size_t i, void *slot)
{
    struct lh_catalog_object_info *oi = slot;
    (void)i;
    oi->bucket = rd_str(r, o, "bucket", false);
    oi->key = rd_str(r, o, "key", false);
    oi->size_bytes = rd_u64(r, o, "size_bytes");
    oi->created_at = rd_str(r, o, "created_at", true);
    oi->checksum = rd_str(r, o, "checksum", true);
}

static void rd_source(struct rd *r, json_t *so, struct lh_catalog_source *src)
{
    src->system = rd_str(r, so, "system", true);
    src->host = rd_str(r, so, "host", true);
    src->database = rd_str(r, so, "database", true);
    src->table = rd_str(r, so, "table", true);
    src->query = rd_str(r, so, "query", true);
    src->columns = rd_str(r, so, "columns", true);
    src->where = rd_str(r, so, "where", true);
    src->mode = rd_str(r, so, "mode", true);
    src->cursor_column = rd_str(r, so, "cursor_column", true);
    src->made_by = rd_str(r, so, "made_by", true);
    src->schema_policy = rd_str(r, so, "schema_policy", true);
    src->replace_source = json_is_true(json_object_get(so, "replace_source"));
    src->source_replaced = json_is_true(json_object_get(so, "source_replaced"));
    json_t *port = json_object_get(so, "port");
    src->port =
        json_is_integer(port) && json_integer_value(port) > 0 && json_integer_value(port) < 65536
            ? (unsigned)json_integer_value(port)
            : 0;
}

static void rd_version(struct rd *r, json_t *v, size_t i, void *slot)
{
    struct lh_catalog_version_info *vi = slot;
    if (!json_is_object(v)) {
        lh_error_set(r->err, LH_E_FORMAT, "catalog record %s is corrupt: versions[%zu]", r->key, i);
        r->bad = true;
        return;
    }
    vi->version = rd_u64(r, v, "version");
    vi->created_at = rd_str(r, v, "created_at", false);
    vi->row_count = rd_u64(r, v, "row_count");
    vi->run_id = rd_str(r, v, "run_id", true);
    vi->schema_fingerprint = rd_str(r, v, "schema_fingerprint", true);
    vi->watermark =
        json_is_string(json_object_get(v, "watermark")) ? rd_str(r, v, "watermark", true) : NULL;
    vi->metadata_location = json_is_string(json_object_get(v, "metadata_location"))
                                ? rd_str(r, v, "metadata_location", true)
                                : NULL;
    vi->schema_change = rd_str(r, v, "schema_change", true);
    json_t *so = json_object_get(v, "source");
    if (json_is_object(so)) {
        vi->has_source = true;
        rd_source(r, so, &vi->source);
    }
    vi->objects = rd_list(r, v, "objects", false, sizeof *vi->objects, rd_object, &vi->nobjects);
    for (size_t k = 0; !r->bad && k < vi->nobjects; k++)
        vi->size_bytes += vi->objects[k].size_bytes;
}

static void rd_column(struct rd *r, json_t *c, size_t i, void *slot)
{
    struct lh_catalog_column_info *ci = slot;
    (void)i;
    ci->name = rd_str(r, c, "name", false);
    ci->data_type = rd_str(r, c, "data_type", false);
    ci->sensitivity = rd_str(r, c, "sensitivity", true);
    ci->description = rd_str(r, c, "description", true);
    ci->is_pii = json_is_true(json_object_get(c, "is_pii"));
}

static void rd_parent(struct rd *r, json_t *e, size_t i, void *slot)
{
    const char *p = json_string_value(e);
    (void)i;
    *(const char **)slot = lh_arena_strndup(r->a, p ? p : "", p ? strlen(p) : 0);
}

static void rd_index(struct rd *r, json_t *e, size_t i, void *slot)
{
    (void)i;
    *(const char **)slot = rd_str(r, e, "index_name", false);
}

static enum lh_status read_record(const char *key, const uint8_t *data, size_t len,
                                  struct lh_catalog_record *out, struct lh_error *err)
{
    json_t *j = NULL;
    enum lh_status s = parse_record(key, data, len, &j, err);
    if (s != LH_OK)
        return s;
    struct rd r = {&out->arena, key, err, false};
    out->json = lh_arena_strndup(&out->arena, (const char *)data, len);
    out->name = rd_str(&r, j, "name", false);
    out->schema_fingerprint = rd_str(&r, j, "schema_fingerprint", false);
    out->sensitivity = rd_str(&r, j, "sensitivity", true);
    out->current_version = rd_u64(&r, j, "current_version");
    out->row_count = rd_u64(&r, j, "row_count");
    json_t *es = json_object_get(j, "embeddings_stale");
    out->embeddings_stale = json_is_true(es);
    out->versions =
        rd_list(&r, j, "versions", false, sizeof *out->versions, rd_version, &out->nversions);
    out->columns =
        rd_list(&r, j, "columns", false, sizeof *out->columns, rd_column, &out->ncolumns);
    json_t *l = json_object_get(j, "lineage");
    if (json_is_object(l)) {
        out->has_lineage = true;
        out->source_system = rd_str(&r, l, "source_system", true);
        out->source_file = rd_str(&r, l, "source_file", true);
        out->ingest_job = rd_str(&r, l, "ingest_job", true);
        out->ingest_timestamp = rd_str(&r, l, "ingest_timestamp", true);
        out->parent_datasets = rd_list(&r, l, "parent_datasets", true, sizeof *out->parent_datasets,
                                       rd_parent, &out->nparents);
    }
    const struct lh_catalog_version_info *vi = out->versions;
    size_t nv = out->nversions;
    /* the pointer readers follow must lead somewhere */
    if (!r.bad && out->current_version > 0) {
        bool found = false;
        for (size_t i = 0; i < nv && !found; i++)
            found = vi[i].version == out->current_version;
        if (!found) {
            if (nv)
                lh_error_set(err, LH_E_FORMAT,
                             "catalog record %s is damaged: current_version %llu is not in its "
                             "versions list (it holds %llu..%llu)",
                             key, (unsigned long long)out->current_version,
                             (unsigned long long)vi[0].version,
                             (unsigned long long)vi[nv - 1].version);
            else
                lh_error_set(err, LH_E_FORMAT,
                             "catalog record %s is damaged: current_version %llu but its versions "
                             "list is empty",
                             key, (unsigned long long)out->current_version);
            r.bad = true;
        }
    }
    out->indexes =
        rd_list(&r, j, "index_bindings", true, sizeof *out->indexes, rd_index, &out->nindexes);
    if (!r.bad && !catalog_meta_read(j, out)) {
        lh_error_set(err, LH_E_NOMEM, "out of memory");
        r.bad = true;
    }
    json_decref(j);
    if (r.bad)
        return err ? err->status : LH_E_FORMAT;
    return LH_OK;
}

enum lh_status lh_catalog_dataset_get(struct lh_catalog *cat, const char *name,
                                      struct lh_catalog_record *out, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    uint8_t *data = NULL;
    size_t len;
    memset(out, 0, sizeof *out);
    lh_arena_init(&out->arena, 0);
    enum lh_status s = record_key(name, key, sizeof key, err);
    if (s != LH_OK)
        return s;
    s = lh_store_get(cat->primary, key, cat->max_record, &data, &len, NULL, err);
    if (s == LH_E_NOTFOUND)
        return lh_error_set(err, LH_E_NOTFOUND, "dataset '%s' not found", name);
    if (s == LH_E_FORMAT) { /* something that is not an object sits there */
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return lh_error_set(err, LH_E_FORMAT, "catalog record %s is damaged: %s", key, why);
    }
    if (s != LH_OK) {
        lh_error_prefix(err, "catalog record %s", key);
        return s;
    }
    s = read_record(key, data, len, out, err);
    free(data);
    if (s != LH_OK) {
        lh_catalog_record_reset(out);
        lh_arena_init(&out->arena, 0);
    }
    return s;
}

enum lh_status lh_catalog_part_missing(const char *dataset, uint64_t version, const char *bucket,
                                       const char *key, struct lh_error *err)
{
    return lh_error_set(err, LH_E_FORMAT,
                        "dataset %s version %llu is damaged: part %s is missing from %s%s "
                        "(catalog record " CATALOG_PREFIX "%s.json lists it)",
                        dataset, (unsigned long long)version, key, bucket ? "bucket " : "the store",
                        bucket ? bucket : "", dataset);
}

void lh_catalog_record_reset(struct lh_catalog_record *r)
{
    if (r) {
        lh_arena_reset(&r->arena);
        memset(r, 0, sizeof *r);
    }
}

const struct lh_catalog_version_info *lh_catalog_record_current(const struct lh_catalog_record *r)
{
    for (size_t i = r->nversions; i-- > 0;)
        if (r->versions[i].version == r->current_version)
            return &r->versions[i];
    return NULL;
}

/* The description's start and the tags, for one line of the list. */
static void summary_meta(struct lh_catalog_summary *e, const struct lh_catalog_record *r)
{
    size_t n = strlen(r->description), cap = sizeof e->description;
    if (n < cap) {
        memcpy(e->description, r->description, n + 1);
    } else {
        memcpy(e->description, r->description, cap - 4);
        e->description[cap - 4] = '\0';
        lh_utf8_sanitize(e->description); /* drops a character cut in two */
        memcpy(e->description + strlen(e->description), "...", 4);
    }
    size_t at = 0;
    for (size_t i = 0; i < r->ntags; i++) {
        int w = snprintf(e->tags + at, sizeof e->tags - at, "%s%s", i ? "," : "", r->tags[i]);
        if (w < 0 || (size_t)w >= sizeof e->tags - at)
            break;
        at += (size_t)w;
    }
}

static int summary_cmp(const void *a, const void *b)
{
    return strcmp(((const struct lh_catalog_summary *)a)->name,
                  ((const struct lh_catalog_summary *)b)->name);
}

enum lh_status lh_catalog_list(struct lh_catalog *cat, struct lh_catalog_summary **out, size_t *n,
                               struct lh_error *err)
{
    struct lh_store_list l;
    *out = NULL;
    *n = 0;
    enum lh_status s;
    struct lh_catalog_summary *sum = list_alloc(cat, CATALOG_PREFIX, &l, sizeof *sum, &s, err);
    if (!sum)
        return s;
    size_t k = 0;
    const size_t pl = strlen(CATALOG_PREFIX);
    for (size_t i = 0; i < l.count; i++) {
        const char *key = l.items[i].key;
        size_t kl = strlen(key);
        if (kl <= pl + 5 || strcmp(key + kl - 5, ".json") != 0 || strchr(key + pl, '/'))
            continue;
        struct lh_catalog_summary *e = &sum[k++];
        size_t nl = kl - pl - 5;
        if (nl >= sizeof e->name)
            nl = sizeof e->name - 1;
        memcpy(e->name, key + pl, nl);
        e->name[nl] = '\0';
        struct lh_catalog_record r;
        struct lh_error e2;
        if (lh_catalog_dataset_get(cat, e->name, &r, &e2) != LH_OK) {
            snprintf(e->error, sizeof e->error, "%s", e2.msg);
            continue;
        }
        e->current_version = r.current_version;
        e->row_count = r.row_count;
        const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
        e->size_bytes = cv ? cv->size_bytes : 0;
        snprintf(e->sensitivity, sizeof e->sensitivity, "%s", r.sensitivity ? r.sensitivity : "");
        const char *li = r.has_lineage && r.ingest_timestamp ? r.ingest_timestamp
                         : cv                                ? cv->created_at
                                                             : "";
        snprintf(e->last_ingest, sizeof e->last_ingest, "%s", li);
        summary_meta(e, &r);
        lh_catalog_record_reset(&r);
    }
    lh_store_list_reset(&l);
    qsort(sum, k, sizeof *sum, summary_cmp);
    *out = sum;
    *n = k;
    return LH_OK;
}

/* ------------------------------------------------------------------ integrity */

void lh_catalog_checksum_format(uint32_t crc, char out[LH_CATALOG_CHECKSUM_SIZE])
{
    snprintf(out, LH_CATALOG_CHECKSUM_SIZE, "crc32:%08" PRIx32, crc);
}

bool lh_catalog_checksum_parse(const char *s, uint32_t *crc)
{
    if (!s || strncmp(s, "crc32:", 6) != 0 || strlen(s) != 14)
        return false;
    uint32_t v = 0;
    for (const char *p = s + 6; *p; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *crc = v;
    return true;
}

#define DAMAGED_HINT                                                                               \
    "the part is damaged or was replaced: restore it, or re-run the ingest (older versions "       \
    "stay readable as %s@N)"

enum lh_status lh_catalog_object_check(const char *dataset, uint64_t version,
                                       const struct lh_catalog_object_info *o, uint64_t size,
                                       const uint32_t *crc, struct lh_error *err)
{
    if (size != o->size_bytes)
        return lh_error_set(err, LH_E_FORMAT,
                            "dataset %s version %" PRIu64 ", part %s: %" PRIu64
                            " bytes, the catalog recorded %" PRIu64 "; " DAMAGED_HINT,
                            dataset, version, o->key, size, o->size_bytes, dataset);
    if (!crc || !o->checksum)
        return LH_OK;
    uint32_t want;
    if (!lh_catalog_checksum_parse(o->checksum, &want))
        return lh_error_set(err, LH_E_FORMAT,
                            "dataset %s version %" PRIu64 ", part %s: the catalog's checksum "
                            "'%.40s' is not crc32:<8 lowercase hex digits> (the catalog record "
                            "is damaged)",
                            dataset, version, o->key, o->checksum);
    if (*crc != want)
        return lh_error_set(err, LH_E_FORMAT,
                            "dataset %s version %" PRIu64 ", part %s: content checksum "
                            "crc32:%08" PRIx32 ", the catalog recorded %s; " DAMAGED_HINT,
                            dataset, version, o->key, *crc, o->checksum, dataset);
    return LH_OK;
}

#define VERIFY_CHUNK ((size_t)1 << 20)

enum lh_status lh_catalog_object_verify(struct lh_store *st, const char *dataset, uint64_t version,
                                        const struct lh_catalog_object_info *o, bool whole,
                                        struct lh_error *err)
{
    uint64_t size;
    enum lh_status s = lh_store_stat(st, o->key, &size, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "dataset %s version %" PRIu64 ", part %s", dataset, version, o->key);
        return s;
    }
    if (!whole || !o->checksum || size != o->size_bytes)
        return lh_catalog_object_check(dataset, version, o, size, NULL, err);
    uint8_t *buf = malloc(VERIFY_CHUNK);
    if (!buf)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    uint32_t crc = 0;
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < VERIFY_CHUNK ? (size_t)(size - off) : VERIFY_CHUNK;
        if ((s = lh_store_get_range(st, o->key, off, buf, n, err)) != LH_OK) {
            free(buf);
            lh_error_prefix(err, "dataset %s version %" PRIu64 ", part %s", dataset, version,
                            o->key);
            return s;
        }
        crc = lh_crc32(crc, buf, n);
        off += n;
    }
    free(buf);
    return lh_catalog_object_check(dataset, version, o, size, &crc, err);
}

/* ------------------------------------------------------------------ sweep */

struct sweep_age {
    const char *key; /* NULL: any key under the prefix */
    int64_t cutoff_us;
};

static bool sweep_old(void *vctx, const struct lh_store_pending *p)
{
    const struct sweep_age *a = vctx;
    size_t kl = strlen(p->key);
    if (kl && p->key[kl - 1] == '/')
        return false; /* directories stay */
    return (!a->key || strcmp(p->key, a->key) == 0) && p->modified_us < a->cutoff_us;
}

enum lh_status lh_catalog_sweep(struct lh_catalog *cat, const char *name, int64_t older_than_s,
                                struct lh_store_sweep_stats *stats, struct lh_error *err)
{
    struct lh_store_sweep_stats none, one;
    if (!stats)
        stats = &none;
    memset(stats, 0, sizeof *stats);
    char key[LH_STORE_KEY_MAX], events[LH_STORE_KEY_MAX];
    enum lh_status s = record_key(name, key, sizeof key, err);
    if (s != LH_OK)
        return s;
    snprintf(events, sizeof events, EVENTS_PREFIX "%s/", name);
    struct sweep_age a = {.key = key, .cutoff_us = lh_time_wall_us() - older_than_s * 1000000};
    s = lh_store_sweep(cat->primary, key, sweep_old, &a, &one, err);
    if (s != LH_OK)
        return s;
    stats->pending += one.pending;
    stats->bytes += one.bytes;
    a.key = NULL;
    s = lh_store_sweep(cat->primary, events, sweep_old, &a, &one, err);
    if (s != LH_OK)
        return s;
    stats->pending += one.pending;
    stats->bytes += one.bytes;
    return LH_OK;
}

/* ------------------------------------------------------------ management */

enum lh_status lh_catalog_object_uri(struct lh_catalog *cat, const struct lh_catalog_object_info *o,
                                     char *out, size_t cap, struct lh_error *err)
{
    struct lh_store *st;
    char root[LH_STORE_KEY_MAX * 2];
    enum lh_status s = lh_store_set_get(cat->set, o->bucket ? o->bucket : "primary", &st, err);
    if (s == LH_OK)
        s = lh_store_location(st, root, sizeof root, err);
    if (s != LH_OK)
        return s;
    int n = snprintf(out, cap, "%s/%s", root, o->key);
    if (n < 0 || (size_t)n >= cap)
        return lh_error_set(err, LH_E_TOOBIG, "the URI of part %s does not fit in %zu bytes",
                            o->key, cap);
    return LH_OK;
}

enum lh_status lh_catalog_dataset_remove(struct lh_catalog *cat, const char *name,
                                         struct lh_catalog_record *out, struct lh_error *err)
{
    struct lh_catalog_record rec;
    char key[LH_STORE_KEY_MAX], events[LH_STORE_KEY_MAX];
    struct lh_store_list l = {0};
    enum lh_status s = record_key(name, key, sizeof key, err);
    if (s != LH_OK)
        return s;
    /* a damaged record can be removed too: only its existence is needed */
    s = lh_catalog_dataset_get(cat, name, &rec, err);
    if (s == LH_E_FORMAT) {
        uint64_t size;
        s = lh_store_stat(cat->primary, key, &size, err);
        if (s == LH_OK)
            lh_arena_init(&rec.arena, 0);
    }
    if (s == LH_E_NOTFOUND)
        return lh_error_set(err, LH_E_NOTFOUND, "dataset '%s' not found", name);
    if (s != LH_OK)
        return s;
    s = lh_store_delete(cat->primary, key, err); /* the commit point */
    if (s != LH_OK) {
        lh_catalog_record_reset(&rec);
        lh_error_prefix(err, "removing catalog record %s", key);
        return s;
    }
    snprintf(events, sizeof events, EVENTS_PREFIX "%s/", name);
    struct lh_error e2;
    if (lh_store_list(cat->primary, events, &l, &e2) == LH_OK) {
        for (size_t i = 0; i < l.count; i++)
            if (lh_store_delete(cat->primary, l.items[i].key, &e2) != LH_OK)
                lh_warn("dataset %s removed: event %s not deleted: %s", name, l.items[i].key,
                        e2.msg);
        lh_store_list_reset(&l);
    } else {
        lh_warn("dataset %s removed: its events were not listed: %s", name, e2.msg);
    }
    if (out)
        *out = rec;
    else
        lh_catalog_record_reset(&rec);
    return LH_OK;
}
