/*
 * table.c — writing an Iceberg v2 table's metadata tree through the store.
 *
 * lh_iceberg_table_write works in three steps, and writes nothing until the
 * first has passed:
 *   1. check the description and group every snapshot's files into
 *      manifests, one per adding snapshot (struct mf);
 *   2. write the manifests of new snapshots, then their manifest lists
 *      (reused manifests are only stat'ed for their length);
 *   3. create v{N}.metadata.json (put_if_absent: a version is never
 *      replaced) and work out what the expired snapshots alone referenced.
 * version-hint.text is the caller's commit point (lh_iceberg_version_hint_set).
 *
 * Field ids of the manifest and manifest-list Avro schemas are the spec's
 * (format/spec.md, "Manifests" and "Manifest Lists", v2 columns).
 */
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "iceberg_int.h"

/* manifest_entry for an unpartitioned table, v2. */
static const char MANIFEST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
    "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
    "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
    "\"field-id\":4},"
    "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
    "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
    "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
    "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[]},"
    "\"field-id\":102},"
    "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
    "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
    "{\"name\":\"column_sizes\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\","
    "\"items\":{\"type\":\"record\",\"name\":\"k117_v118\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":117},"
    "{\"name\":\"value\",\"type\":\"long\",\"field-id\":118}]}}],\"default\":null,"
    "\"field-id\":108},"
    "{\"name\":\"value_counts\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\","
    "\"items\":{\"type\":\"record\",\"name\":\"k119_v120\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":119},"
    "{\"name\":\"value\",\"type\":\"long\",\"field-id\":120}]}}],\"default\":null,"
    "\"field-id\":109},"
    "{\"name\":\"null_value_counts\",\"type\":[\"null\",{\"type\":\"array\","
    "\"logicalType\":\"map\",\"items\":{\"type\":\"record\",\"name\":\"k121_v122\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":121},"
    "{\"name\":\"value\",\"type\":\"long\",\"field-id\":122}]}}],\"default\":null,"
    "\"field-id\":110},"
    "{\"name\":\"lower_bounds\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\","
    "\"items\":{\"type\":\"record\",\"name\":\"k126_v127\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":126},"
    "{\"name\":\"value\",\"type\":\"bytes\",\"field-id\":127}]}}],\"default\":null,"
    "\"field-id\":125},"
    "{\"name\":\"upper_bounds\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\","
    "\"items\":{\"type\":\"record\",\"name\":\"k129_v130\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":129},"
    "{\"name\":\"value\",\"type\":\"bytes\",\"field-id\":130}]}}],\"default\":null,"
    "\"field-id\":128}"
    "]},\"field-id\":2}]}";

/* manifest_file, v2 (no partition summaries: the table is unpartitioned). */
static const char MANIFEST_LIST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
    "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
    "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
    "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
    "{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
    "{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
    "{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
    "{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
    "{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
    "{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
    "{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
    "{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
    "{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514}]}";

/* One manifest: the files snapshot `added_id` added. */
struct mf {
    int64_t added_id, seq;
    const struct lh_iceberg_snapshot *owner; /* NULL when that snapshot is not described */
    const struct lh_iceberg_data_file **files;
    size_t nfiles;
    int64_t rows;
    uint64_t length;
    bool live; /* listed by a kept snapshot */
    char name[160]; /* file name under metadata/ */
    char key[LH_STORE_KEY_MAX];
};

struct job {
    struct lh_store *st;
    const struct lh_iceberg_table *t;
    struct lh_arena arena;
    struct mf *mfs;
    size_t nmfs;
    const int64_t *keep;
    size_t nkeep;
};

static bool kept(const struct job *j, int64_t id)
{
    if (!j->keep)
        return true;
    for (size_t i = 0; i < j->nkeep; i++)
        if (j->keep[i] == id)
            return true;
    return false;
}

static struct mf *mf_find(struct job *j, int64_t added_id)
{
    for (size_t i = 0; i < j->nmfs; i++)
        if (j->mfs[i].added_id == added_id)
            return &j->mfs[i];
    return NULL;
}

static const struct lh_iceberg_snapshot *snap_find(const struct lh_iceberg_table *t, int64_t id)
{
    for (size_t i = 0; i < t->nsnapshots; i++)
        if (t->snapshots[i].snapshot_id == id)
            return &t->snapshots[i];
    return NULL;
}

const struct lh_iceberg_schema *lh_iceberg_table_schema(const struct lh_iceberg_table *t,
                                                        int32_t id)
{
    for (size_t i = 0; i < t->nschemas; i++)
        if (t->schemas[i].schema_id == id)
            return &t->schemas[i];
    return NULL;
}

static size_t key_of(const struct lh_iceberg_table *t, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/metadata/%s", t->key_prefix, name);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* A tag is [A-Za-z0-9-]{1,64}: it goes into file names and URIs as is. */
static bool tag_ok(const char *tag)
{
    size_t n = strlen(tag);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((tag[i] >= 'a' && tag[i] <= 'z') || (tag[i] >= 'A' && tag[i] <= 'Z') ||
              (tag[i] >= '0' && tag[i] <= '9') || tag[i] == '-'))
            return false;
    return true;
}

/* "snap-{S}[-{tag}].avro" */
static void snap_name(const struct lh_iceberg_snapshot *sn, char *out, size_t cap)
{
    if (sn->tag)
        snprintf(out, cap, "snap-%" PRId64 "-%s.avro", sn->snapshot_id, sn->tag);
    else
        snprintf(out, cap, "snap-%" PRId64 ".avro", sn->snapshot_id);
}

/* Everything that goes into the JSON must be UTF-8 (jansson refuses the rest). */
static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    bool ok = j != NULL;
    json_decref(j);
    return ok;
}

static bool uuid_ok(const char *u)
{
    if (!u || strlen(u) != LH_ICEBERG_UUID_LEN)
        return false;
    for (int i = 0; i < LH_ICEBERG_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = u[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ step 1 */

static enum lh_status check_schemas(const struct lh_iceberg_table *t, struct lh_error *err)
{
    if (t->nschemas == 0 || !t->schemas)
        return lh_error_set(err, LH_E_INVAL, "iceberg: the table has no schema");
    for (size_t i = 0; i < t->nschemas; i++) {
        const struct lh_iceberg_schema *s = &t->schemas[i];
        if (s->schema_id < 0 || lh_iceberg_table_schema(t, s->schema_id) != s)
            return lh_error_set(err, LH_E_INVAL, "iceberg: schema id %d negative or repeated",
                                (int)s->schema_id);
        if (s->ncolumns == 0)
            return lh_error_set(err, LH_E_INVAL, "iceberg: schema %d has no column",
                                (int)s->schema_id);
        for (size_t c = 0; c < s->ncolumns; c++) {
            const struct lh_iceberg_column *col = &s->columns[c];
            int32_t ids[2] = {col->id, col->field.is_list ? col->element_id : col->id};
            if (!col->field.name || !col->field.name[0] || !utf8_ok(col->field.name))
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: schema %d column %zu: name empty or not UTF-8",
                                    (int)s->schema_id, c);
            for (int k = 0; k < 2; k++)
                if (ids[k] <= 0 || ids[k] > t->last_column_id)
                    return lh_error_set(err, LH_E_INVAL,
                                        "iceberg: schema %d column %s: field id %d outside "
                                        "1..last_column_id (%d)",
                                        (int)s->schema_id, col->field.name, (int)ids[k],
                                        (int)t->last_column_id);
            if (col->field.is_list && col->element_id == col->id)
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: schema %d column %s: element id equals column id",
                                    (int)s->schema_id, col->field.name);
            for (size_t d = 0; d < c; d++) {
                const struct lh_iceberg_column *o = &s->columns[d];
                if (strcmp(o->field.name, col->field.name) == 0)
                    return lh_error_set(err, LH_E_INVAL, "iceberg: schema %d: column %s twice",
                                        (int)s->schema_id, col->field.name);
                if (o->id == col->id || (o->field.is_list && o->element_id == col->id) ||
                    (col->field.is_list &&
                     (o->id == col->element_id ||
                      (o->field.is_list && o->element_id == col->element_id))))
                    return lh_error_set(err, LH_E_INVAL,
                                        "iceberg: schema %d: columns %s and %s share a field id",
                                        (int)s->schema_id, o->field.name, col->field.name);
            }
        }
    }
    if (!lh_iceberg_table_schema(t, t->current_schema_id))
        return lh_error_set(err, LH_E_INVAL, "iceberg: current schema %d is not in the table",
                            (int)t->current_schema_id);
    return LH_OK;
}

static enum lh_status check_and_group(struct job *j, struct lh_error *err)
{
    const struct lh_iceberg_table *t = j->t;
    if (!t->location || !t->location[0] || t->location[strlen(t->location) - 1] == '/' ||
        !strstr(t->location, "://") || !utf8_ok(t->location))
        return lh_error_set(err, LH_E_INVAL,
                            "iceberg: table location \"%s\" is not an absolute URI without a "
                            "trailing '/'",
                            t->location ? t->location : "");
    enum lh_status s = lh_store_key_check(t->key_prefix ? t->key_prefix : "", err);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "iceberg: table key prefix");
    if (!uuid_ok(t->uuid))
        return lh_error_set(err, LH_E_INVAL,
                            "iceberg: table uuid \"%s\" is not 36 lower-case hex characters with "
                            "dashes",
                            t->uuid ? t->uuid : "");
    if ((s = check_schemas(t, err)) != LH_OK)
        return s;
    for (size_t i = 0; i < t->nsnapshots; i++)
        if (t->snapshots[i].tag && !tag_ok(t->snapshots[i].tag))
            return lh_error_set(err, LH_E_INVAL,
                                "iceberg: snapshot %" PRId64 " tag \"%s\" is not [A-Za-z0-9-]{1,64}",
                                t->snapshots[i].snapshot_id, t->snapshots[i].tag);

    size_t total = 0;
    int64_t prev_seq = 0;
    for (size_t i = 0; i < t->nsnapshots; i++) {
        const struct lh_iceberg_snapshot *sn = &t->snapshots[i];
        if (sn->snapshot_id <= 0 || snap_find(t, sn->snapshot_id) != sn)
            return lh_error_set(err, LH_E_INVAL, "iceberg: snapshot id %" PRId64
                                " not positive or repeated", sn->snapshot_id);
        if (sn->sequence_number <= prev_seq)
            return lh_error_set(err, LH_E_INVAL,
                                "iceberg: snapshot %" PRId64 ": sequence number %" PRId64
                                " does not increase (previous %" PRId64 ")",
                                sn->snapshot_id, sn->sequence_number, prev_seq);
        prev_seq = sn->sequence_number;
        if (!lh_iceberg_table_schema(t, sn->schema_id))
            return lh_error_set(err, LH_E_INVAL,
                                "iceberg: snapshot %" PRId64 ": schema %d is not in the table",
                                sn->snapshot_id, (int)sn->schema_id);
        if (sn->op != LH_ICEBERG_APPEND && sn->op != LH_ICEBERG_OVERWRITE)
            return lh_error_set(err, LH_E_INVAL, "iceberg: snapshot %" PRId64 ": bad operation",
                                sn->snapshot_id);
        total += sn->nfiles;
    }
    if (t->current_snapshot_id > 0 && !snap_find(t, t->current_snapshot_id))
        return lh_error_set(err, LH_E_INVAL,
                            "iceberg: current snapshot %" PRId64 " is not in the table",
                            t->current_snapshot_id);
    if (t->current_snapshot_id > 0 && !kept(j, t->current_snapshot_id))
        return lh_error_set(err, LH_E_INVAL,
                            "iceberg: current snapshot %" PRId64 " cannot be expired",
                            t->current_snapshot_id);

    /* Group: the first snapshot to list a file of A defines manifest A,
     * unless A itself is described (then A's own list does). */
    j->mfs = lh_arena_alloc(&j->arena, (total + 1) * sizeof *j->mfs);
    if (!j->mfs)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    for (size_t i = 0; i < t->nsnapshots; i++) {
        const struct lh_iceberg_snapshot *sn = &t->snapshots[i];
        for (size_t f = 0; f < sn->nfiles; f++) {
            const struct lh_iceberg_data_file *df = &sn->files[f];
            if (!df->path || !strstr(df->path, "://") || !utf8_ok(df->path))
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: snapshot %" PRId64 ": data file path \"%s\" is "
                                    "not an absolute UTF-8 URI",
                                    sn->snapshot_id, df->path ? df->path : "");
            if (df->record_count < 0)
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: %s: negative record count", df->path);
            const struct lh_iceberg_snapshot *owner = snap_find(t, df->added_snapshot_id);
            if (owner && owner->sequence_number > sn->sequence_number)
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: snapshot %" PRId64 " lists %s, added by the later "
                                    "snapshot %" PRId64,
                                    sn->snapshot_id, df->path, df->added_snapshot_id);
            if (owner && owner->sequence_number != df->added_sequence_number)
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: %s: added sequence number %" PRId64
                                    " is not snapshot %" PRId64 "'s (%" PRId64 ")",
                                    df->path, df->added_sequence_number, owner->snapshot_id,
                                    owner->sequence_number);
            if (df->added_snapshot_id <= 0 || df->added_sequence_number <= 0)
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: %s: no adding snapshot or sequence number",
                                    df->path);
            if (mf_find(j, df->added_snapshot_id))
                continue;
            struct mf *m = &j->mfs[j->nmfs++];
            *m = (struct mf){.added_id = df->added_snapshot_id,
                             .seq = df->added_sequence_number,
                             .owner = owner};
            const struct lh_iceberg_snapshot *def = owner ? owner : sn;
            m->files = lh_arena_alloc(&j->arena, (def->nfiles + 1) * sizeof *m->files);
            if (!m->files)
                return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
            for (size_t g = 0; g < def->nfiles; g++)
                if (def->files[g].added_snapshot_id == m->added_id) {
                    m->files[m->nfiles++] = &def->files[g];
                    m->rows += def->files[g].record_count;
                }
            if (df->manifest)
                snprintf(m->name, sizeof m->name, "%s", df->manifest);
            else if (owner && owner->tag)
                snprintf(m->name, sizeof m->name, "manifest-%" PRId64 "-%s.avro", m->added_id,
                         owner->tag);
            else
                snprintf(m->name, sizeof m->name, "manifest-%" PRId64 ".avro", m->added_id);
            if (strchr(m->name, '/') || !utf8_ok(m->name))
                return lh_error_set(err, LH_E_INVAL, "iceberg: manifest name \"%s\"", m->name);
            if (!key_of(t, m->name, m->key, sizeof m->key))
                return lh_error_set(err, LH_E_INVAL, "iceberg: key prefix too long");
        }
    }
    /* Every snapshot holding files of A holds all of them, in A's order:
     * a manifest is reused whole or not at all. */
    size_t *cursor = lh_arena_alloc(&j->arena, (j->nmfs + 1) * sizeof *cursor);
    if (!cursor)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    for (size_t i = 0; i < t->nsnapshots; i++) {
        const struct lh_iceberg_snapshot *sn = &t->snapshots[i];
        memset(cursor, 0, (j->nmfs + 1) * sizeof *cursor);
        for (size_t f = 0; f < sn->nfiles; f++) {
            struct mf *m = mf_find(j, sn->files[f].added_snapshot_id);
            size_t k = (size_t)(m - j->mfs);
            if (cursor[k] >= m->nfiles || strcmp(m->files[cursor[k]]->path, sn->files[f].path))
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: snapshot %" PRId64 " lists %s out of the order or "
                                    "set of files snapshot %" PRId64 " added",
                                    sn->snapshot_id, sn->files[f].path, m->added_id);
            cursor[k]++;
            if (kept(j, sn->snapshot_id))
                m->live = true;
        }
        for (size_t k = 0; k < j->nmfs; k++)
            if (cursor[k] != 0 && cursor[k] != j->mfs[k].nfiles)
                return lh_error_set(err, LH_E_INVAL,
                                    "iceberg: snapshot %" PRId64 " holds %zu of the %zu files "
                                    "snapshot %" PRId64 " added; a manifest is reused whole",
                                    sn->snapshot_id, cursor[k], j->mfs[k].nfiles,
                                    j->mfs[k].added_id);
    }
    for (size_t i = 0; i < t->nsnapshots; i++)
        for (size_t f = 0; f < t->snapshots[i].nfiles; f++)
            for (size_t k = 0; k < t->snapshots[i].files[f].nstats; k++)
                if (t->snapshots[i].files[f].stats[k].field_id <= 0)
                    return lh_error_set(err, LH_E_INVAL,
                                        "iceberg: %s: statistics for field id %d",
                                        t->snapshots[i].files[f].path,
                                        (int)t->snapshots[i].files[f].stats[k].field_id);
    return LH_OK;
}

/* ------------------------------------------------------------ step 2 */

/* Appends a {key: field_id, value} entry to the array of an Iceberg
 * map<int, ...>; the value is the caller's to set. */
static avro_value_t map_entry(avro_value_t *arr, int32_t field_id)
{
    avro_value_t kv, k;
    avro_value_append(arr, &kv, NULL);
    k = ice_avro_field(&kv, "key");
    avro_value_set_int(&k, field_id);
    return ice_avro_field(&kv, "value");
}

static void set_long_map(avro_value_t *entry, const char *name, const struct lh_iceberg_data_file *df,
                         int which)
{
    bool any = false;
    for (size_t i = 0; i < df->nstats; i++) {
        const struct lh_iceberg_column_stats *s = &df->stats[i];
        int64_t v = which == 0 ? s->size_bytes : which == 1 ? s->value_count : s->null_count;
        any |= v >= 0;
    }
    if (!any)
        return;
    avro_value_t u = ice_avro_field(entry, name), arr = ice_avro_some(&u);
    for (size_t i = 0; i < df->nstats; i++) {
        const struct lh_iceberg_column_stats *s = &df->stats[i];
        int64_t v = which == 0 ? s->size_bytes : which == 1 ? s->value_count : s->null_count;
        if (v < 0)
            continue;
        avro_value_t val = map_entry(&arr, s->field_id);
        avro_value_set_long(&val, v);
    }
}

static void set_bound_map(avro_value_t *entry, const char *name, const struct lh_iceberg_data_file *df,
                          bool upper)
{
    bool any = false;
    for (size_t i = 0; i < df->nstats; i++)
        any |= (upper ? df->stats[i].upper : df->stats[i].lower) != NULL;
    if (!any)
        return;
    avro_value_t u = ice_avro_field(entry, name), arr = ice_avro_some(&u);
    for (size_t i = 0; i < df->nstats; i++) {
        const struct lh_iceberg_column_stats *s = &df->stats[i];
        const uint8_t *p = upper ? s->upper : s->lower;
        uint32_t n = upper ? s->upper_len : s->lower_len;
        if (!p)
            continue;
        avro_value_t val = map_entry(&arr, s->field_id);
        avro_value_set_bytes(&val, (void *)p, n);
    }
}

static enum lh_status put(struct job *j, const char *key, struct lh_buf *b, struct lh_error *err)
{
    enum lh_status s = lh_store_put(j->st, key, b->data, b->len, err);
    if (s != LH_OK)
        lh_error_prefix(err, "iceberg: writing %s", key);
    return s;
}

static enum lh_status write_manifest(struct job *j, struct mf *m, struct lh_error *err)
{
    const struct lh_iceberg_table *t = j->t;
    const struct lh_iceberg_schema *schema = lh_iceberg_table_schema(t, m->owner->schema_id);
    struct ice_avro a;
    struct lh_buf sj, out;
    lh_buf_init(&sj, ICE_AVRO_MAX);
    lh_buf_init(&out, ICE_AVRO_MAX + (1u << 20));
    enum lh_status s = ice_avro_init(&a, MANIFEST_SCHEMA, err);
    if (s != LH_OK)
        goto done;
    for (size_t i = 0; i < m->nfiles; i++) {
        const struct lh_iceberg_data_file *df = m->files[i];
        avro_value_t *e = ice_avro_record(&a);
        avro_value_t v = ice_avro_field(e, "status");
        avro_value_set_int(&v, 1); /* ADDED */
        v = ice_avro_field(e, "snapshot_id");
        v = ice_avro_some(&v);
        avro_value_set_long(&v, m->added_id);
        v = ice_avro_field(e, "sequence_number");
        v = ice_avro_some(&v);
        avro_value_set_long(&v, m->seq);
        v = ice_avro_field(e, "file_sequence_number");
        v = ice_avro_some(&v);
        avro_value_set_long(&v, m->seq);
        avro_value_t d = ice_avro_field(e, "data_file");
        ice_avro_set_int(&d, "content", 0);
        ice_avro_set_string(&d, "file_path", df->path);
        ice_avro_set_string(&d, "file_format", "PARQUET");
        ice_avro_set_long(&d, "record_count", df->record_count);
        ice_avro_set_long(&d, "file_size_in_bytes", (int64_t)df->size_bytes);
        set_long_map(&d, "column_sizes", df, 0);
        set_long_map(&d, "value_counts", df, 1);
        set_long_map(&d, "null_value_counts", df, 2);
        set_bound_map(&d, "lower_bounds", df, false);
        set_bound_map(&d, "upper_bounds", df, true);
        if ((s = ice_avro_append(&a, err)) != LH_OK)
            goto done;
    }
    lh_iceberg_schema_json(schema, &sj);
    lh_buf_cstr(&sj);
    char sid[16];
    snprintf(sid, sizeof sid, "%d", (int)schema->schema_id);
    const struct lh_parquet_kv meta[] = {
        {"schema", lh_buf_ok(&sj) ? (const char *)sj.data : "{}"},
        {"schema-id", sid},
        {"partition-spec", "[]"},
        {"partition-spec-id", "0"},
        {"format-version", "2"},
        {"content", "data"},
    };
    if (!lh_buf_ok(&sj)) {
        s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
        goto done;
    }
    if ((s = ice_avro_finish(&a, meta, sizeof meta / sizeof meta[0], m->key, &out, err)) != LH_OK)
        goto done;
    if ((s = put(j, m->key, &out, err)) != LH_OK)
        goto done;
    m->length = out.len;
done:
    ice_avro_free(&a);
    lh_buf_reset(&sj);
    lh_buf_reset(&out);
    return s;
}

static enum lh_status write_manifest_list(struct job *j, const struct lh_iceberg_snapshot *sn,
                                          struct lh_error *err)
{
    const struct lh_iceberg_table *t = j->t;
    struct ice_avro a;
    struct lh_buf out;
    lh_buf_init(&out, ICE_AVRO_MAX + (1u << 20));
    char name[128], key[LH_STORE_KEY_MAX], uri[LH_STORE_KEY_MAX * 2];
    snap_name(sn, name, sizeof name);
    key_of(t, name, key, sizeof key);
    enum lh_status s = ice_avro_init(&a, MANIFEST_LIST_SCHEMA, err);
    if (s != LH_OK)
        goto done;
    for (size_t f = 0; f < sn->nfiles; f++) {
        struct mf *m = mf_find(j, sn->files[f].added_snapshot_id);
        bool first = true; /* list each manifest once, where its first file is */
        for (size_t g = 0; g < f; g++)
            first &= sn->files[g].added_snapshot_id != m->added_id;
        if (!first)
            continue;
        snprintf(uri, sizeof uri, "%s/metadata/%s", t->location, m->name);
        avro_value_t *e = ice_avro_record(&a);
        ice_avro_set_string(e, "manifest_path", uri);
        ice_avro_set_long(e, "manifest_length", (int64_t)m->length);
        ice_avro_set_int(e, "partition_spec_id", 0);
        ice_avro_set_int(e, "content", 0);
        ice_avro_set_long(e, "sequence_number", m->seq);
        ice_avro_set_long(e, "min_sequence_number", m->seq);
        ice_avro_set_long(e, "added_snapshot_id", m->added_id);
        ice_avro_set_int(e, "added_files_count", (int32_t)m->nfiles);
        ice_avro_set_int(e, "existing_files_count", 0);
        ice_avro_set_int(e, "deleted_files_count", 0);
        ice_avro_set_long(e, "added_rows_count", m->rows);
        ice_avro_set_long(e, "existing_rows_count", 0);
        ice_avro_set_long(e, "deleted_rows_count", 0);
        if ((s = ice_avro_append(&a, err)) != LH_OK)
            goto done;
    }
    char sid[24], pid[24], seq[24];
    snprintf(sid, sizeof sid, "%" PRId64, sn->snapshot_id);
    snprintf(pid, sizeof pid, "%" PRId64, sn->parent_id > 0 ? sn->parent_id : 0);
    snprintf(seq, sizeof seq, "%" PRId64, sn->sequence_number);
    const struct lh_parquet_kv meta[] = {
        {"snapshot-id", sid},
        {"parent-snapshot-id", sn->parent_id > 0 ? pid : "null"},
        {"sequence-number", seq},
        {"format-version", "2"},
    };
    if ((s = ice_avro_finish(&a, meta, 4, key, &out, err)) != LH_OK)
        goto done;
    s = put(j, key, &out, err);
done:
    ice_avro_free(&a);
    lh_buf_reset(&out);
    return s;
}

/* ------------------------------------------------------------ step 3 */

static json_t *jstr_i64(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    return json_string(b);
}

static json_t *snapshot_json(struct job *j, const struct lh_iceberg_snapshot *sn)
{
    const struct lh_iceberg_table *t = j->t;
    json_t *o = json_object();
    json_object_set_new(o, "snapshot-id", json_integer(sn->snapshot_id));
    if (sn->parent_id > 0)
        json_object_set_new(o, "parent-snapshot-id", json_integer(sn->parent_id));
    json_object_set_new(o, "sequence-number", json_integer(sn->sequence_number));
    json_object_set_new(o, "timestamp-ms", json_integer(sn->timestamp_ms));
    char uri[LH_STORE_KEY_MAX * 2], name[128];
    snap_name(sn, name, sizeof name);
    snprintf(uri, sizeof uri, "%s/metadata/%s", t->location, name);
    json_object_set_new(o, "manifest-list", json_string(uri));

    int64_t added_files = 0, added_rows = 0, added_size = 0, rows = 0, size = 0;
    for (size_t f = 0; f < sn->nfiles; f++) {
        const struct lh_iceberg_data_file *df = &sn->files[f];
        rows += df->record_count;
        size += (int64_t)df->size_bytes;
        if (df->added_snapshot_id == sn->snapshot_id) {
            added_files++;
            added_rows += df->record_count;
            added_size += (int64_t)df->size_bytes;
        }
    }
    json_t *sum = json_object();
    json_object_set_new(sum, "operation",
                        json_string(sn->op == LH_ICEBERG_APPEND ? "append" : "overwrite"));
    json_object_set_new(sum, "added-data-files", jstr_i64(added_files));
    json_object_set_new(sum, "added-records", jstr_i64(added_rows));
    json_object_set_new(sum, "added-files-size", jstr_i64(added_size));
    const struct lh_iceberg_snapshot *parent = sn->parent_id > 0 ? snap_find(t, sn->parent_id) : NULL;
    if (parent) {
        int64_t del_files = 0, del_rows = 0, del_size = 0;
        for (size_t f = 0; f < parent->nfiles; f++) {
            bool still = false;
            for (size_t g = 0; g < sn->nfiles && !still; g++)
                still = strcmp(parent->files[f].path, sn->files[g].path) == 0;
            if (!still) {
                del_files++;
                del_rows += parent->files[f].record_count;
                del_size += (int64_t)parent->files[f].size_bytes;
            }
        }
        if (del_files > 0) {
            json_object_set_new(sum, "deleted-data-files", jstr_i64(del_files));
            json_object_set_new(sum, "deleted-records", jstr_i64(del_rows));
            json_object_set_new(sum, "removed-files-size", jstr_i64(del_size));
        }
    }
    json_object_set_new(sum, "total-data-files", jstr_i64((int64_t)sn->nfiles));
    json_object_set_new(sum, "total-records", jstr_i64(rows));
    json_object_set_new(sum, "total-files-size", jstr_i64(size));
    json_object_set_new(sum, "total-delete-files", json_string("0"));
    json_object_set_new(sum, "total-position-deletes", json_string("0"));
    json_object_set_new(sum, "total-equality-deletes", json_string("0"));
    json_object_set_new(o, "summary", sum);
    json_object_set_new(o, "schema-id", json_integer(sn->schema_id));
    return o;
}

static enum lh_status metadata_json(struct job *j, char **out, struct lh_error *err)
{
    const struct lh_iceberg_table *t = j->t;
    json_t *root = json_object();
    int64_t last_seq = 0;
    for (size_t i = 0; i < t->nsnapshots; i++)
        if (t->snapshots[i].sequence_number > last_seq)
            last_seq = t->snapshots[i].sequence_number;
    json_object_set_new(root, "format-version", json_integer(2));
    json_object_set_new(root, "table-uuid", json_string(t->uuid));
    json_object_set_new(root, "location", json_string(t->location));
    json_object_set_new(root, "last-sequence-number", json_integer(last_seq));
    json_object_set_new(root, "last-updated-ms",
                        json_integer(t->last_updated_ms > 0 ? t->last_updated_ms
                                                            : lh_time_wall_us() / 1000));
    json_object_set_new(root, "last-column-id", json_integer(t->last_column_id));
    json_object_set_new(root, "current-schema-id", json_integer(t->current_schema_id));
    json_t *schemas = json_array();
    for (size_t i = 0; i < t->nschemas; i++) {
        struct lh_buf b;
        lh_buf_init(&b, 0);
        lh_iceberg_schema_json(&t->schemas[i], &b);
        json_t *sj = lh_buf_ok(&b) ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
        lh_buf_reset(&b);
        if (!sj) {
            json_decref(schemas);
            json_decref(root);
            return lh_error_set(err, LH_E_INTERNAL, "iceberg: schema %d does not serialise",
                                (int)t->schemas[i].schema_id);
        }
        json_array_append_new(schemas, sj);
    }
    json_object_set_new(root, "schemas", schemas);
    json_object_set_new(root, "default-spec-id", json_integer(0));
    /* one unpartitioned spec and one unsorted order, both id 0 */
    json_object_set_new(root, "partition-specs",
                        json_pack("[{s:i, s:[]}]", "spec-id", 0, "fields"));
    json_object_set_new(root, "last-partition-id", json_integer(999)); /* none assigned yet */
    json_object_set_new(root, "default-sort-order-id", json_integer(0));
    json_object_set_new(root, "sort-orders", json_pack("[{s:i, s:[]}]", "order-id", 0, "fields"));
    json_t *props = json_object();
    json_object_set_new(props, "write.format.default", json_string("parquet"));
    json_object_set_new(props, "write.parquet.compression-codec", json_string("zstd"));
    if (t->name_mapping)
        json_object_set_new(props, "schema.name-mapping.default", json_string(t->name_mapping));
    json_object_set_new(root, "properties", props);
    if (t->current_snapshot_id > 0) {
        json_object_set_new(root, "current-snapshot-id", json_integer(t->current_snapshot_id));
        json_t *main_ref = json_object();
        json_object_set_new(main_ref, "snapshot-id", json_integer(t->current_snapshot_id));
        json_object_set_new(main_ref, "type", json_string("branch"));
        json_t *refs = json_object();
        json_object_set_new(refs, "main", main_ref);
        json_object_set_new(root, "refs", refs);
    } else {
        json_object_set_new(root, "refs", json_object());
    }
    json_t *snaps = json_array(), *log = json_array();
    for (size_t i = 0; i < t->nsnapshots; i++) {
        const struct lh_iceberg_snapshot *sn = &t->snapshots[i];
        if (!kept(j, sn->snapshot_id))
            continue;
        json_array_append_new(snaps, snapshot_json(j, sn));
        json_t *e = json_object();
        json_object_set_new(e, "timestamp-ms", json_integer(sn->timestamp_ms));
        json_object_set_new(e, "snapshot-id", json_integer(sn->snapshot_id));
        json_array_append_new(log, e);
    }
    json_object_set_new(root, "snapshots", snaps);
    json_object_set_new(root, "snapshot-log", log);
    json_object_set_new(root, "metadata-log", json_array());
    *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!*out)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory for the metadata JSON");
    return LH_OK;
}

static const char *arena_str(struct lh_arena *a, const char *s)
{
    return lh_arena_strndup(a, s, strlen(s));
}

static enum lh_status collect_garbage(struct job *j, struct lh_iceberg_garbage *g,
                                      struct lh_error *err)
{
    const struct lh_iceberg_table *t = j->t;
    size_t total = 0;
    for (size_t i = 0; i < t->nsnapshots; i++)
        total += t->snapshots[i].nfiles;
    g->data_files = lh_arena_alloc(&g->arena, (total + 1) * sizeof *g->data_files);
    g->metadata_keys =
        lh_arena_alloc(&g->arena, (j->nmfs + t->nsnapshots + 1) * sizeof *g->metadata_keys);
    if (!g->data_files || !g->metadata_keys)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    for (size_t i = 0; i < t->nsnapshots; i++) {
        const struct lh_iceberg_snapshot *sn = &t->snapshots[i];
        if (kept(j, sn->snapshot_id))
            continue;
        char name[128], key[LH_STORE_KEY_MAX];
        snap_name(sn, name, sizeof name);
        key_of(t, name, key, sizeof key);
        if (!(g->metadata_keys[g->nmetadata_keys++] = arena_str(&g->arena, key)))
            return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
        for (size_t f = 0; f < sn->nfiles; f++) {
            const char *p = sn->files[f].path;
            struct mf *m = mf_find(j, sn->files[f].added_snapshot_id);
            if (m->live)
                continue; /* a kept snapshot lists the whole manifest, this file included */
            bool seen = false;
            for (size_t k = 0; k < g->ndata_files && !seen; k++)
                seen = strcmp(g->data_files[k], p) == 0;
            if (!seen && !(g->data_files[g->ndata_files++] = arena_str(&g->arena, p)))
                return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
        }
    }
    for (size_t k = 0; k < j->nmfs; k++)
        if (!j->mfs[k].live)
            if (!(g->metadata_keys[g->nmetadata_keys++] = arena_str(&g->arena, j->mfs[k].key)))
                return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    return LH_OK;
}

void lh_iceberg_garbage_reset(struct lh_iceberg_garbage *g)
{
    if (!g)
        return;
    lh_arena_reset(&g->arena);
    *g = (struct lh_iceberg_garbage){0};
}

enum lh_status lh_iceberg_table_write(struct lh_store *st, const struct lh_iceberg_table *t,
                                      int64_t version, const int64_t *keep, size_t nkeep,
                                      struct lh_iceberg_garbage *garbage, struct lh_error *err)
{
    struct job j = {.st = st, .t = t, .keep = keep, .nkeep = nkeep};
    lh_arena_init(&j.arena, 0);
    if (garbage) {
        *garbage = (struct lh_iceberg_garbage){0};
        lh_arena_init(&garbage->arena, 0);
    }
    char *json = NULL;
    enum lh_status s = LH_OK;
    if (version < 1) {
        s = lh_error_set(err, LH_E_INVAL, "iceberg: metadata version %" PRId64 " (must be >= 1)",
                         version);
        goto done;
    }
    if ((s = check_and_group(&j, err)) != LH_OK)
        goto done;
    /* A data file a kept snapshot holds is never garbage, even when it was
     * also listed by an expired one: mf.live covers exactly that, since a
     * manifest is reused whole. */
    for (size_t k = 0; k < j.nmfs; k++) {
        struct mf *m = &j.mfs[k];
        if (m->owner && m->owner->is_new) {
            if ((s = write_manifest(&j, m, err)) != LH_OK)
                goto done;
        } else {
            bool needed = false; /* only new manifest lists need the length */
            for (size_t i = 0; i < t->nsnapshots && !needed; i++) {
                const struct lh_iceberg_snapshot *sn = &t->snapshots[i];
                for (size_t f = 0; sn->is_new && f < sn->nfiles && !needed; f++)
                    needed = sn->files[f].added_snapshot_id == m->added_id;
            }
            if (!needed)
                continue;
            s = lh_store_stat(st, m->key, &m->length, err);
            if (s == LH_E_NOTFOUND)
                s = lh_error_set(err, LH_E_STATE,
                                 "iceberg: manifest %s of snapshot %" PRId64 " is missing; "
                                 "describe that snapshot as new to write it",
                                 m->key, m->added_id);
            if (s != LH_OK)
                goto done;
        }
    }
    for (size_t i = 0; i < t->nsnapshots; i++)
        if (t->snapshots[i].is_new && (s = write_manifest_list(&j, &t->snapshots[i], err)) != LH_OK)
            goto done;
    if ((s = metadata_json(&j, &json, err)) != LH_OK)
        goto done;
    char name[160], key[LH_STORE_KEY_MAX];
    if (t->metadata_name)
        snprintf(name, sizeof name, "%s", t->metadata_name);
    else
        snprintf(name, sizeof name, "v%" PRId64 ".metadata.json", version);
    if (strchr(name, '/') || !key_of(t, name, key, sizeof key)) {
        s = lh_error_set(err, LH_E_INVAL, "iceberg: metadata name \"%s\"", name);
        goto done;
    }
    s = lh_store_put_if_absent(st, key, json, strlen(json), err);
    if (s == LH_E_EXISTS) {
        s = lh_error_set(err, LH_E_EXISTS,
                         "iceberg: %s already exists: metadata version %" PRId64
                         " was committed by another writer",
                         key, version);
        goto done;
    }
    if (s != LH_OK) {
        lh_error_prefix(err, "iceberg: writing %s", key);
        goto done;
    }
    if (garbage)
        s = collect_garbage(&j, garbage, err);
done:
    free(json);
    lh_arena_reset(&j.arena);
    if (s != LH_OK && garbage)
        lh_iceberg_garbage_reset(garbage);
    return s;
}

enum lh_status lh_iceberg_version_hint_set(struct lh_store *st, const char *key_prefix,
                                           int64_t version, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX], text[32];
    int n = snprintf(key, sizeof key, "%s/metadata/version-hint.text", key_prefix);
    if (n < 0 || (size_t)n >= sizeof key || version < 1)
        return lh_error_set(err, LH_E_INVAL, "iceberg: bad version hint %" PRId64 " for %s",
                            version, key_prefix);
    int len = snprintf(text, sizeof text, "%" PRId64, version);
    enum lh_status s = lh_store_put(st, key, text, (size_t)len, err);
    if (s != LH_OK)
        lh_error_prefix(err, "iceberg: writing %s", key);
    return s;
}

enum lh_status lh_iceberg_version_hint_get(struct lh_store *st, const char *key_prefix,
                                           int64_t *version, struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    *version = 0;
    int n = snprintf(key, sizeof key, "%s/metadata/version-hint.text", key_prefix);
    if (n < 0 || (size_t)n >= sizeof key)
        return lh_error_set(err, LH_E_INVAL, "iceberg: key prefix too long");
    uint8_t *p = NULL;
    size_t len = 0;
    enum lh_status s = lh_store_get(st, key, 64, &p, &len, NULL, err);
    if (s == LH_E_NOTFOUND) {
        lh_error_clear(err);
        return LH_OK;
    }
    if (s != LH_OK)
        return s;
    char text[65];
    size_t k = 0;
    for (size_t i = 0; i < len && k < 64; i++)
        if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ')
            text[k++] = (char)p[i];
    text[k] = 0;
    free(p);
    if (!lh_parse_i64(text, version) || *version < 1) {
        *version = 0;
        return lh_error_set(err, LH_E_FORMAT, "iceberg: %s holds \"%s\", not a version number",
                            key, text);
    }
    return LH_OK;
}

enum lh_status lh_iceberg_metadata_publish(struct lh_store *st, const char *key_prefix,
                                           const char *metadata_key, int64_t version,
                                           struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    int n = snprintf(key, sizeof key, "%s/metadata/v%" PRId64 ".metadata.json", key_prefix,
                     version);
    if (n < 0 || (size_t)n >= sizeof key || version < 1)
        return lh_error_set(err, LH_E_INVAL, "iceberg: bad metadata version %" PRId64 " for %s",
                            version, key_prefix);
    uint8_t *bytes = NULL;
    size_t len = 0;
    enum lh_status s = LH_OK;
    if (strcmp(key, metadata_key) != 0) {
        s = lh_store_get(st, metadata_key, 64u << 20, &bytes, &len, NULL, err);
        if (s != LH_OK)
            return lh_error_wrap(err, s, "iceberg: reading %s", metadata_key);
        s = lh_store_put(st, key, bytes, len, err);
        free(bytes);
        if (s != LH_OK)
            return lh_error_wrap(err, s, "iceberg: writing %s", key);
    }
    /* never backwards: a later version's winner may have moved it already */
    int64_t cur = 0;
    struct lh_error e2;
    if (lh_iceberg_version_hint_get(st, key_prefix, &cur, &e2) == LH_OK && cur >= version)
        return LH_OK;
    return lh_iceberg_version_hint_set(st, key_prefix, version, err);
}
