/*
 * manage.c — dataset management that touches ingest's key layout:
 * rolling a dataset back to an earlier version, and removing a dataset
 * with everything it has in the store (ingest.h).
 *
 * Rollback publishes version N+1 whose parts are version V's, exactly as
 * a run publishes (table.c, docs/iceberg.md "Commit"): the Iceberg
 * snapshot N+1 is staged under names unique to the rollback, listing V's
 * data files again (nothing is rewritten), the catalog's compare-and-swap
 * on the current version is the commit point, then the winner moves
 * v{N+1}.metadata.json and version-hint.text; a lost swap unstages and
 * tries again on the new current version.
 *
 * Remove deletes the catalog record first (the commit point: after it no
 * reader finds the dataset), then every object under datasets/{name}/ in
 * the primary bucket (run directories, parts, the Iceberg metadata) and
 * the parts the record listed in other buckets. A crash in between leaves
 * objects that no record names; lh_ingest_sweep (run by the daemon's
 * start-up for every dataset directory) removes them once no live run
 * holds them.
 *
 * Threads: the caller's; the store set and catalog are thread-safe.
 */
#include "ingest/ingest.h"
#include "ingest_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLLBACK_ATTEMPTS 100

/* The footer bytes of a part (what ingest_table_part_add wants): the
 * footer, its length and "PAR1". *out freed with free(). */
enum lh_status ingest_part_tail_read(struct lh_store *st, const char *key, uint64_t size,
                                     uint8_t **out, size_t *len, struct lh_error *err)
{
    uint8_t end[8];
    if (size < 12)
        return lh_error_set(err, LH_E_FORMAT, "part %s is too small to be Parquet", key);
    enum lh_status s = lh_store_get_range(st, key, size - 8, end, 8, err);
    if (s != LH_OK)
        return s;
    uint32_t flen =
        (uint32_t)end[0] | (uint32_t)end[1] << 8 | (uint32_t)end[2] << 16 | (uint32_t)end[3] << 24;
    if (memcmp(end + 4, "PAR1", 4) != 0 || (uint64_t)flen + 12 > size || flen > (64u << 20))
        return lh_error_set(err, LH_E_FORMAT, "part %s has no valid Parquet footer", key);
    uint8_t *b = malloc((size_t)flen + 8);
    if (!b)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    s = lh_store_get_range(st, key, size - 8 - flen, b, (size_t)flen + 8, err);
    if (s != LH_OK) {
        free(b);
        return s;
    }
    *out = b;
    *len = (size_t)flen + 8;
    return LH_OK;
}

enum lh_status ingest_store_read(void *ctx, uint64_t off, void *buf, size_t n, struct lh_error *err)
{
    struct ingest_store_input *si = ctx;
    return lh_store_get_range(si->st, si->key, off, buf, n, err);
}

static const struct lh_catalog_version_info *version_find(const struct lh_catalog_record *rec,
                                                          uint64_t v)
{
    for (size_t i = 0; i < rec->nversions; i++)
        if (rec->versions[i].version == v)
            return &rec->versions[i];
    return NULL;
}

/* Why version v cannot be rolled back to, or LH_OK. */
static enum lh_status rollback_check(struct lh_store_set *set, const char *dataset,
                                     const struct lh_catalog_record *rec, uint64_t v,
                                     const struct lh_catalog_version_info **out,
                                     struct lh_error *err)
{
    const struct lh_catalog_version_info *vi = version_find(rec, v);
    uint64_t newest = 0;
    for (size_t i = 0; i < rec->nversions; i++)
        if (rec->versions[i].version > newest)
            newest = rec->versions[i].version;
    if (!vi && v > 0 && v < newest && rec->nversions)
        return lh_error_set(err, LH_E_NOTFOUND,
                            "dataset %s: version %" PRIu64 " was removed by retention (its parts "
                            "are deleted); versions kept: %" PRIu64 "..%" PRIu64,
                            dataset, v, rec->versions[0].version, newest);
    if (!vi)
        return lh_error_set(err, LH_E_NOTFOUND,
                            "dataset %s has no version %" PRIu64 " (versions kept: %" PRIu64
                            "..%" PRIu64 ")",
                            dataset, v, rec->nversions ? rec->versions[0].version : 0, newest);
    for (size_t i = 0; i < vi->nobjects; i++) {
        struct lh_store *st;
        uint64_t size;
        enum lh_status s = lh_store_set_get(set, vi->objects[i].bucket, &st, err);
        if (s == LH_OK)
            s = lh_store_stat(st, vi->objects[i].key, &size, err);
        if (s == LH_E_NOTFOUND)
            return lh_error_set(err, LH_E_NOTFOUND,
                                "dataset %s: version %" PRIu64 " cannot be restored: its part %s "
                                "is gone from the store",
                                dataset, v, vi->objects[i].key);
        if (s != LH_OK)
            return s;
        if (strcmp(vi->objects[i].bucket, "primary") != 0)
            return lh_error_set(err, LH_E_UNSUPPORTED,
                                "dataset %s: version %" PRIu64 " has parts in bucket %s; "
                                "rollback restores versions whose parts are in primary",
                                dataset, v, vi->objects[i].bucket);
    }
    *out = vi;
    return LH_OK;
}

enum lh_status lh_ingest_rollback(struct lh_store_set *set, struct lh_catalog *cat,
                                  const char *dataset, uint64_t version, uint64_t *published,
                                  struct lh_error *err)
{
    struct lh_catalog_record rec;
    bool have_rec = false;
    struct ingest_table *t = NULL;
    struct lh_catalog_object *objs = NULL;
    struct lh_catalog_column *cols = NULL;
    char *typebuf = NULL;
    struct lh_parquet_reader *rd = NULL;
    enum lh_status s = lh_store_name_check(dataset, err);
    if (s != LH_OK)
        return s;
    struct lh_store *primary = lh_store_set_primary(set);
    char rnd[9], tag[64], run_id[64];
    lh_random_hex(rnd, 4);
    snprintf(tag, sizeof tag, "rollback-%" PRId64 "-%s", lh_time_wall_us() / 1000, rnd);
    snprintf(run_id, sizeof run_id, "rollback-to-v%" PRIu64, version);

    for (unsigned attempt = 1;; attempt++) {
        if (have_rec)
            lh_catalog_record_reset(&rec);
        s = lh_catalog_dataset_get(cat, dataset, &rec, err);
        if (s != LH_OK)
            goto done;
        have_rec = true;
        const struct lh_catalog_version_info *vi = NULL, *cv = lh_catalog_record_current(&rec);
        if ((s = rollback_check(set, dataset, &rec, version, &vi, err)) != LH_OK)
            goto done;
        if (!cv || cv->version == version) {
            s = lh_error_set(err, LH_E_STATE, "dataset %s: version %" PRIu64 " is already current",
                             dataset, version);
            goto done;
        }
        ingest_table_destroy(t);
        t = NULL;
        if ((s = ingest_table_create(set, dataset, tag, &t, err)) != LH_OK)
            goto done;
        /* the restored version's columns: its first part's */
        struct lh_schema none = {0, NULL};
        const struct lh_schema *schema = &none;
        lh_parquet_reader_close(rd);
        rd = NULL;
        if (vi->nobjects) {
            struct ingest_store_input si = {primary, vi->objects[0].key};
            struct lh_parquet_input in = {&si, vi->objects[0].size_bytes, ingest_store_read};
            s = lh_parquet_reader_open(&in, &rd, err);
            if (s != LH_OK) {
                lh_error_prefix(err, "dataset %s version %" PRIu64 ": part %s", dataset, version,
                                vi->objects[0].key);
                goto done;
            }
            schema = &lh_parquet_reader_info(rd)->schema;
        }
        struct lh_parquet_writer_options wo;
        lh_parquet_writer_options_init(&wo);
        if ((s = ingest_table_prepare(t, &rec, schema, &wo, err)) != LH_OK)
            goto done;
        free(objs);
        objs = calloc(vi->nobjects + 1, sizeof *objs);
        if (!objs) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < vi->nobjects; i++) {
            const struct lh_catalog_object_info *o = &vi->objects[i];
            uint8_t *pt = NULL;
            size_t pl = 0;
            s = ingest_part_tail_read(primary, o->key, o->size_bytes, &pt, &pl, err);
            if (s == LH_OK)
                s = ingest_table_part_add(t, o->key, o->size_bytes, pt, pl, err);
            free(pt);
            if (s != LH_OK)
                goto done;
            objs[i] = (struct lh_catalog_object){.bucket = o->bucket,
                                                 .key = o->key,
                                                 .size_bytes = o->size_bytes,
                                                 .checksum = o->checksum};
        }
        /* the record's columns follow the restored schema when it differs */
        struct lh_catalog_version_spec spec = {
            .objects = objs,
            .nobjects = vi->nobjects,
            .schema_fingerprint = vi->schema_fingerprint,
            .row_count = vi->row_count,
            .run_id = run_id,
            .watermark = vi->watermark,
            .check_base = true,
            .base_version = cv->version,
        };
        if (!vi->schema_fingerprint ||
            strcmp(vi->schema_fingerprint, rec.schema_fingerprint) != 0) {
            free(cols);
            free(typebuf);
            cols = calloc(schema->nfields + 1, sizeof *cols);
            typebuf = calloc(schema->nfields + 1, 96);
            if (!cols || !typebuf) {
                s = lh_error_set(err, LH_E_NOMEM, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < schema->nfields; i++) {
                lh_ingest_type_text(&schema->fields[i], typebuf + 96 * i, 96);
                cols[i] = (struct lh_catalog_column){.name = schema->fields[i].name,
                                                     .data_type = typebuf + 96 * i,
                                                     .nullable = schema->fields[i].nullable};
            }
            spec.columns = cols;
            spec.ncolumns = schema->nfields;
            if (!vi->schema_fingerprint || strlen(vi->schema_fingerprint) != 64)
                spec.schema_fingerprint = NULL;
        }
        const char *mkey = NULL;
        uint64_t next = 0;
        for (size_t i = 0; i < rec.nversions; i++)
            if (rec.versions[i].version > next)
                next = rec.versions[i].version;
        s = ingest_table_stage(t, &rec, next + 1, false, lh_catalog_keep_versions(cat), &mkey, err);
        if (s != LH_OK)
            goto done;
        spec.metadata_location = mkey;
        s = lh_catalog_version_register(cat, dataset, &spec, published, err);
        if (s == LH_OK) {
            ingest_table_commit(t);
            goto done;
        }
        ingest_table_unstage(t);
        if (s != LH_E_STATE || attempt >= ROLLBACK_ATTEMPTS)
            goto done;
        lh_debug("rollback %s: a version was published meanwhile, trying again", dataset);
    }
done:
    lh_parquet_reader_close(rd);
    free(objs);
    free(cols);
    free(typebuf);
    ingest_table_destroy(t);
    if (have_rec)
        lh_catalog_record_reset(&rec);
    return s;
}

static bool dirs_only(void *ctx, const struct lh_store_pending *p)
{
    (void)ctx;
    size_t n = strlen(p->key);
    return n && p->key[n - 1] == '/';
}

enum lh_status lh_ingest_dataset_remove(struct lh_store_set *set, struct lh_catalog *cat,
                                        const char *dataset, size_t *deleted, struct lh_error *err)
{
    if (deleted)
        *deleted = 0;
    struct lh_catalog_record rec;
    enum lh_status s = lh_catalog_dataset_remove(cat, dataset, &rec, err);
    if (s != LH_OK)
        return s;
    size_t n = 0;
    struct lh_error e;
    /* parts the record listed outside the dataset's directory */
    for (size_t i = 0; i < rec.nversions; i++)
        for (size_t j = 0; j < rec.versions[i].nobjects; j++) {
            const struct lh_catalog_object_info *o = &rec.versions[i].objects[j];
            struct lh_store *st;
            if (strcmp(o->bucket, "primary") == 0)
                continue;
            if (lh_store_set_get(set, o->bucket, &st, &e) == LH_OK &&
                lh_store_delete(st, o->key, &e) == LH_OK)
                n++;
            else
                lh_warn("dataset %s removed: part %s/%s not deleted: %s", dataset, o->bucket,
                        o->key, e.msg);
        }
    lh_catalog_record_reset(&rec);
    char prefix[LH_STORE_KEY_MAX];
    snprintf(prefix, sizeof prefix, "datasets/%s/", dataset);
    struct lh_store *st = lh_store_set_primary(set);
    struct lh_store_list l;
    if (lh_store_list(st, prefix, &l, &e) == LH_OK) {
        for (size_t i = 0; i < l.count; i++)
            if (lh_store_delete(st, l.items[i].key, &e) == LH_OK)
                n++;
            else
                lh_warn("dataset %s removed: %s not deleted: %s (the start-up sweep retries)",
                        dataset, l.items[i].key, e.msg);
        lh_store_list_reset(&l);
    } else {
        lh_warn("dataset %s removed: its objects were not listed: %s (the start-up sweep "
                "removes them)",
                dataset, e.msg);
    }
    /* the directories left empty (a local bucket's), the dataset's own too */
    if (lh_store_sweep(st, prefix, dirs_only, NULL, NULL, &e) != LH_OK)
        lh_warn("dataset %s removed: sweep: %s", dataset, e.msg);
    if (deleted)
        *deleted = n;
    return LH_OK;
}
