/*
 * table.c — the dataset's Iceberg table, committed with the catalog record
 * (ingest_int.h; protocol in docs/iceberg.md "Commit").
 *
 * Each catalog version N is Iceberg snapshot N (snapshot id and sequence
 * number N). Before the catalog's compare-and-swap a run writes its
 * manifest, manifest list and table metadata under names unique to the run
 * (tag = the run directory's "{millis}-{rand}"):
 *
 *   metadata/manifest-{N}-{tag}.avro, metadata/snap-{N}-{tag}.avro,
 *   metadata/{N:05}-{tag}.metadata.json
 *
 * and the catalog version records that metadata key (metadata_location):
 * the swap is the one commit point. Only the winner then copies the
 * metadata to v{N}.metadata.json and moves version-hint.text, so the
 * file-based layout is never ahead of the catalog; a loser deletes its
 * files. lh_ingest_table_sync rolls a missed hint forward and gives a
 * dataset published before Iceberg metadata existed its table.
 *
 * The base table comes from the base version's metadata_location; a
 * dataset without one is described from its catalog record (every kept
 * version a snapshot, each part's footer read once for row count and
 * statistics, `schema.name-mapping.default` for parts without field ids).
 *
 * Threads: the run thread's (like the store handles it uses).
 */
#include "ingest/ingest.h"
#include "ingest_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX_MAX 300

struct part_info {
    const char *key;
    uint64_t size;
    int64_t rows;
    struct lh_iceberg_column_stats *stats;
    size_t nstats;
};

struct ingest_table {
    struct lh_store_set *set;
    struct lh_store *primary;
    char dataset[256];
    char prefix[PREFIX_MAX]; /* datasets/{name} */
    char location[LH_STORE_KEY_MAX * 2];
    char tag[64];
    struct lh_arena arena; /* lives as long as the run */

    /* the base table (loaded or built), replaced by each prepare */
    struct lh_iceberg_loaded base;
    bool have_base;
    struct lh_arena build; /* built descriptions (no metadata yet) */

    /* the run's columns (a copy: the source's schema dies with the source) */
    struct lh_schema schema;
    struct lh_iceberg_column *cols;
    int32_t *ids, *elem_ids;
    bool ids_set;
    int32_t last_column_id;
    struct lh_iceberg_schema run_schema; /* schema_id decided by stage */
    char *schema_json;
    struct lh_parquet_kv kv;

    struct part_info *parts;
    size_t nparts;

    /* staged */
    char metadata_key[LH_STORE_KEY_MAX];
    char manifest_key[LH_STORE_KEY_MAX];
    char list_key[LH_STORE_KEY_MAX];
    uint64_t version;
    bool staged;
    struct lh_iceberg_garbage garbage;
    bool have_garbage;
    char **old_metadata; /* metadata keys of versions retention drops */
    size_t nold;
};

static const char *arena_dup(struct lh_arena *a, const char *s)
{
    return lh_arena_strndup(a, s, strlen(s));
}

enum lh_status ingest_table_create(struct lh_store_set *set, const char *dataset, const char *tag,
                                   struct ingest_table **out, struct lh_error *err)
{
    struct ingest_table *t = calloc(1, sizeof *t);
    if (!t)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    t->set = set;
    t->primary = lh_store_set_primary(set);
    snprintf(t->dataset, sizeof t->dataset, "%s", dataset);
    snprintf(t->prefix, sizeof t->prefix, "datasets/%s", dataset);
    snprintf(t->tag, sizeof t->tag, "%s", tag);
    lh_arena_init(&t->arena, 0);
    lh_arena_init(&t->build, 0);
    if (!lh_iceberg_location(t->primary, t->prefix, t->location, sizeof t->location)) {
        free(t);
        return lh_error_set(err, LH_E_INVAL, "dataset %s: no Iceberg table location for the store",
                            dataset);
    }
    *out = t;
    return LH_OK;
}

static void old_metadata_free(struct ingest_table *t)
{
    for (size_t i = 0; i < t->nold; i++)
        free(t->old_metadata[i]);
    free(t->old_metadata);
    t->old_metadata = NULL;
    t->nold = 0;
}

void ingest_table_destroy(struct ingest_table *t)
{
    if (!t)
        return;
    if (t->have_base)
        lh_iceberg_loaded_reset(&t->base);
    if (t->have_garbage)
        lh_iceberg_garbage_reset(&t->garbage);
    old_metadata_free(t);
    lh_arena_reset(&t->build);
    lh_arena_reset(&t->arena);
    free(t->schema_json);
    free(t->parts);
    free(t);
}

void ingest_fault(int step)
{
    const char *v = getenv("LAKEHOUSE_FAULT_COMMIT_STEP");
    int64_t n;
    if (v && lh_parse_i64(v, &n) && n == step) {
        lh_warn("LAKEHOUSE_FAULT_COMMIT_STEP=%d: exiting at commit step %d", step, step);
        _exit(86);
    }
}

/* ------------------------------------------------------------ footers */

struct tail_input {
    const uint8_t *tail;
    size_t len;
    uint64_t size;
};

static enum lh_status tail_read(void *ctx, uint64_t off, void *buf, size_t n, struct lh_error *err)
{
    struct tail_input *ti = ctx;
    uint64_t start = ti->size - ti->len;
    if (off == 0 && n == 4) { /* the leading magic, written long ago */
        memcpy(buf, "PAR1", 4);
        return LH_OK;
    }
    if (off < start || off + n > ti->size)
        return lh_error_set(err, LH_E_INTERNAL, "footer read outside the captured tail");
    memcpy(buf, ti->tail + (off - start), n);
    return LH_OK;
}

/* Row count and statistics of one part from its footer (info). */
static enum lh_status part_fill(struct lh_arena *a, const struct lh_iceberg_schema *schema,
                                const struct lh_parquet_file_info *info, struct part_info *p,
                                struct lh_error *err)
{
    p->rows = info->num_rows;
    return lh_iceberg_stats_from_parquet(schema, info, a, &p->stats, &p->nstats, err);
}

enum lh_status ingest_table_part_add(struct ingest_table *t, const char *key, uint64_t size,
                                     const uint8_t *tail, size_t tail_len, struct lh_error *err)
{
    struct part_info *np = realloc(t->parts, (t->nparts + 1) * sizeof *np);
    if (!np)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    t->parts = np;
    struct part_info *p = &t->parts[t->nparts];
    *p = (struct part_info){.key = arena_dup(&t->arena, key), .size = size};
    if (!p->key)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    struct tail_input ti = {tail, tail_len, size};
    struct lh_parquet_input in = {&ti, size, tail_read};
    struct lh_parquet_reader *r = NULL;
    enum lh_status s = lh_parquet_reader_open(&in, &r, err);
    if (s == LH_OK)
        s = part_fill(&t->arena, &t->run_schema, lh_parquet_reader_info(r), p, err);
    lh_parquet_reader_close(r);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "statistics of %s", key);
    t->nparts++;
    return LH_OK;
}

void ingest_table_part_drop(struct ingest_table *t, const char *key)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (strcmp(t->parts[i].key, key) == 0) {
            memmove(&t->parts[i], &t->parts[i + 1], (t->nparts - i - 1) * sizeof *t->parts);
            t->nparts--;
            return;
        }
}

/* ------------------------------------------------------------ building */

static bool same_ids(const struct lh_iceberg_schema *a, const struct lh_iceberg_column *cols,
                     size_t n)
{
    if (!a || a->ncolumns != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (a->columns[i].id != cols[i].id || a->columns[i].element_id != cols[i].element_id)
            return false;
    return true;
}

static int64_t version_ms(const struct lh_catalog_version_info *v)
{
    int64_t us = 0;
    struct lh_error e;
    if (!v->created_at || lh_time_parse_iso(v->created_at, &us, &e) != LH_OK)
        return lh_time_wall_us() / 1000;
    return us / 1000;
}

static enum lh_status data_uri(struct ingest_table *t, struct lh_arena *a, const char *bucket,
                               const char *key, const char **out, struct lh_error *err)
{
    struct lh_store *st = t->primary;
    if (bucket && strcmp(bucket, "primary") != 0) {
        enum lh_status s = lh_store_set_get(t->set, bucket, &st, err);
        if (s != LH_OK)
            return s;
    }
    char uri[LH_STORE_KEY_MAX * 2];
    if (!lh_iceberg_location(st, key, uri, sizeof uri))
        return lh_error_set(err, LH_E_INVAL, "part %s: no URI for it in bucket %s", key,
                            bucket ? bucket : "primary");
    if (!(*out = arena_dup(a, uri)))
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    return LH_OK;
}

/* The name mapping for parts without field ids: every column of every
 * schema by name, the newest schema's id winning. */
static char *name_mapping(const struct lh_iceberg_table *tb)
{
    json_t *arr = json_array();
    json_t *seen = json_object();
    for (size_t k = tb->nschemas; k-- > 0;) {
        const struct lh_iceberg_schema *sc = &tb->schemas[k];
        for (size_t i = 0; i < sc->ncolumns; i++) {
            const struct lh_iceberg_column *c = &sc->columns[i];
            if (json_object_get(seen, c->field.name))
                continue;
            json_object_set_new(seen, c->field.name, json_true());
            json_t *e = json_pack("{s:i, s:[s]}", "field-id", (int)c->id, "names", c->field.name);
            if (e && c->element_id > 0)
                json_object_set_new(e, "fields",
                                    json_pack("[{s:i, s:[s]}]", "field-id", (int)c->element_id,
                                              "names", "element"));
            json_array_append_new(arr, e);
        }
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    json_decref(seen);
    return s;
}

/* Describes the table from the catalog record: every version a snapshot,
 * footers read from the store. Snapshots are new (tagged with the run). */
static enum lh_status build_from_record(struct ingest_table *t, const struct lh_catalog_record *rec,
                                        struct lh_error *err)
{
    struct lh_arena *a = &t->base.arena;
    struct lh_iceberg_table *tb = &t->base.table;
    enum lh_status s = LH_OK;
    size_t nv = rec->nversions;
    struct lh_iceberg_snapshot *snaps = lh_arena_alloc(a, (nv + 1) * sizeof *snaps);
    struct lh_iceberg_schema *schemas = lh_arena_alloc(a, (nv + 1) * sizeof *schemas);
    char *uuid = lh_arena_alloc(a, LH_ICEBERG_UUID_LEN + 1);
    if (!snaps || !schemas || !uuid)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    if ((s = lh_iceberg_uuid_generate(uuid, err)) != LH_OK)
        return s;
    *tb = (struct lh_iceberg_table){.location = arena_dup(a, t->location),
                                    .key_prefix = arena_dup(a, t->prefix),
                                    .uuid = uuid,
                                    .schemas = schemas,
                                    .snapshots = snaps};
    size_t nschemas = 0;
    int32_t last = 0;
    const struct lh_catalog_version_info *prev = NULL;
    for (size_t v = 0; v < nv; v++) {
        const struct lh_catalog_version_info *vi = &rec->versions[v];
        struct lh_iceberg_snapshot *sn = &snaps[v];
        size_t nf = vi->nobjects;
        struct lh_iceberg_data_file *files = lh_arena_alloc(a, (nf + 1) * sizeof *files);
        if (!files)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        /* an append: the previous version's parts are a prefix of this one's */
        bool append = prev && prev->nobjects > 0 && prev->nobjects <= nf;
        for (size_t i = 0; append && i < prev->nobjects; i++)
            append = strcmp(prev->objects[i].key, vi->objects[i].key) == 0;
        size_t first_new = 0;
        if (append) {
            memcpy(files, snaps[v - 1].files, prev->nobjects * sizeof *files);
            first_new = prev->nobjects;
        }
        const struct lh_iceberg_schema *sch = nschemas ? &schemas[nschemas - 1] : NULL;
        for (size_t i = first_new; i < nf; i++) {
            const struct lh_catalog_object_info *o = &vi->objects[i];
            struct lh_store *st = t->primary;
            if (o->bucket && strcmp(o->bucket, "primary") != 0 &&
                (s = lh_store_set_get(t->set, o->bucket, &st, err)) != LH_OK)
                return s;
            struct ingest_store_input si = {st, o->key};
            struct lh_parquet_input in = {&si, o->size_bytes, ingest_store_read};
            struct lh_parquet_reader *r = NULL;
            s = lh_parquet_reader_open(&in, &r, err);
            if (s != LH_OK)
                return lh_error_wrap(err, s, "dataset %s version %" PRIu64 ": part %s", t->dataset,
                                     vi->version, o->key);
            const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
            if (i == first_new) {
                /* the version's schema: the first new part's */
                struct lh_iceberg_column *cols =
                    lh_arena_alloc(a, (info->schema.nfields + 1) * sizeof *cols);
                bool names_ok = cols != NULL;
                int32_t l2 = last;
                if (cols)
                    lh_iceberg_schema_assign(sch, &l2, &info->schema, cols);
                for (size_t c = 0; cols && c < info->schema.nfields; c++)
                    names_ok &=
                        (cols[c].field.name = arena_dup(a, info->schema.fields[c].name)) != NULL;
                if (!names_ok) {
                    lh_parquet_reader_close(r);
                    return lh_error_set(err, LH_E_NOMEM, "out of memory");
                }
                if (!same_ids(sch, cols, info->schema.nfields)) {
                    schemas[nschemas] =
                        (struct lh_iceberg_schema){(int32_t)nschemas, info->schema.nfields, cols};
                    sch = &schemas[nschemas++];
                    last = l2;
                }
            }
            struct part_info p = {0};
            s = part_fill(a, sch, info, &p, err);
            lh_parquet_reader_close(r);
            if (s != LH_OK)
                return lh_error_wrap(err, s, "dataset %s part %s", t->dataset, o->key);
            files[i] = (struct lh_iceberg_data_file){.size_bytes = o->size_bytes,
                                                     .record_count = p.rows,
                                                     .added_snapshot_id = (int64_t)vi->version,
                                                     .added_sequence_number = (int64_t)vi->version,
                                                     .stats = p.stats,
                                                     .nstats = p.nstats};
            if ((s = data_uri(t, a, o->bucket, o->key, &files[i].path, err)) != LH_OK)
                return s;
        }
        if (!sch) { /* a version without parts: no schema known yet */
            schemas[nschemas] = (struct lh_iceberg_schema){(int32_t)nschemas, 0, NULL};
            sch = &schemas[nschemas++];
        }
        *sn = (struct lh_iceberg_snapshot){.snapshot_id = (int64_t)vi->version,
                                           .parent_id = prev ? (int64_t)prev->version : 0,
                                           .sequence_number = (int64_t)vi->version,
                                           .timestamp_ms = version_ms(vi),
                                           .op = append ? LH_ICEBERG_APPEND : LH_ICEBERG_OVERWRITE,
                                           .schema_id = sch->schema_id,
                                           .files = files,
                                           .nfiles = nf,
                                           .is_new = true,
                                           .tag = t->tag};
        prev = vi;
    }
    tb->nschemas = nschemas;
    tb->nsnapshots = nv;
    tb->last_column_id = last;
    tb->current_schema_id = nschemas ? (int32_t)nschemas - 1 : 0;
    tb->current_snapshot_id = (int64_t)rec->current_version;
    if (nv) {
        char *nm = name_mapping(tb);
        if (!nm)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        tb->name_mapping = arena_dup(a, nm);
        free(nm);
    }
    t->base.version = (int64_t)rec->current_version;
    return LH_OK;
}

/* The base table as of rec's current version: its metadata, or built. */
static enum lh_status base_load(struct ingest_table *t, const struct lh_catalog_record *rec,
                                struct lh_error *err)
{
    if (t->have_base)
        lh_iceberg_loaded_reset(&t->base);
    t->have_base = true;
    t->base = (struct lh_iceberg_loaded){0};
    lh_arena_init(&t->base.arena, 0);
    const struct lh_catalog_version_info *cv = rec ? lh_catalog_record_current(rec) : NULL;
    if (!cv)
        return LH_OK; /* a new table */
    if (cv->metadata_location) {
        lh_iceberg_loaded_reset(&t->base);
        enum lh_status s = lh_iceberg_table_load_at(t->primary, t->prefix, cv->metadata_location,
                                                    (int64_t)cv->version, &t->base, err);
        if (s == LH_OK && t->base.table.current_snapshot_id == (int64_t)cv->version)
            return LH_OK;
        if (s == LH_OK)
            lh_warn("dataset %s: %s does not describe version %" PRIu64
                    " as its current snapshot; describing the table from the catalog record",
                    t->dataset, cv->metadata_location, cv->version);
        else
            lh_warn("dataset %s: %s; describing the table from the catalog record", t->dataset,
                    err->msg);
        lh_iceberg_loaded_reset(&t->base);
        t->base = (struct lh_iceberg_loaded){0};
        lh_arena_init(&t->base.arena, 0);
    }
    return build_from_record(t, rec, err);
}

enum lh_status ingest_table_prepare(struct ingest_table *t, const struct lh_catalog_record *rec,
                                    const struct lh_schema *schema,
                                    struct lh_parquet_writer_options *wo, struct lh_error *err)
{
    if (!schema) /* a retry: the copy taken by the first call */
        schema = &t->schema;
    enum lh_status s = base_load(t, rec, err);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "dataset %s: Iceberg table", t->dataset);
    const struct lh_iceberg_table *tb = &t->base.table;
    const struct lh_iceberg_schema *cur =
        t->base.version ? lh_iceberg_table_schema(tb, tb->current_schema_id) : NULL;
    size_t n = schema->nfields;
    struct lh_iceberg_column *cols = lh_arena_alloc(&t->arena, (n + 1) * sizeof *cols);
    if (!cols)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    int32_t last = tb->last_column_id;
    lh_iceberg_schema_assign(cur, &last, schema, cols);
    if (t->ids_set) {
        /* a retry on a new base: the parts carry the first ids */
        for (size_t i = 0; i < n; i++)
            if (cols[i].id != t->cols[i].id || cols[i].element_id != t->cols[i].element_id)
                return lh_error_set(err, LH_E_CONFLICT,
                                    "dataset %s: another run changed the table's columns while "
                                    "this run wrote its parts (column %s would get Iceberg field "
                                    "id %d, its parts carry %d); nothing was published (run it "
                                    "again)",
                                    t->dataset, schema->fields[i].name, (int)cols[i].id,
                                    (int)t->cols[i].id);
        t->last_column_id = last;
        return LH_OK;
    }
    struct lh_field *fields = lh_arena_alloc(&t->arena, (n + 1) * sizeof *fields);
    if (!fields)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        fields[i] = schema->fields[i];
        if (!(fields[i].name = arena_dup(&t->arena, schema->fields[i].name)))
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        cols[i].field.name = fields[i].name;
    }
    t->schema = (struct lh_schema){n, fields};
    t->cols = cols;
    t->last_column_id = last;
    t->ids = lh_arena_alloc(&t->arena, (n + 1) * sizeof *t->ids);
    t->elem_ids = lh_arena_alloc(&t->arena, (n + 1) * sizeof *t->elem_ids);
    if (!t->ids || !t->elem_ids)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        t->ids[i] = cols[i].id;
        t->elem_ids[i] = cols[i].element_id;
    }
    /* the schema id it will have (stage decides the same way) */
    int32_t sid = 0;
    if (cur && same_ids(cur, cols, n))
        sid = cur->schema_id;
    else
        for (size_t i = 0; t->base.version && i < tb->nschemas; i++)
            if (tb->schemas[i].schema_id >= sid)
                sid = tb->schemas[i].schema_id + 1;
    t->run_schema = (struct lh_iceberg_schema){sid, n, cols};
    struct lh_buf b;
    lh_buf_init(&b, 0);
    lh_iceberg_schema_json(&t->run_schema, &b);
    lh_buf_append_u8(&b, 0);
    if (!lh_buf_ok(&b)) {
        lh_buf_reset(&b);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    t->schema_json = (char *)b.data; /* the buffer's bytes, NUL-terminated */
    t->kv = (struct lh_parquet_kv){"iceberg.schema", t->schema_json};
    t->ids_set = true;
    wo->field_ids = t->ids;
    wo->element_field_ids = t->elem_ids;
    wo->kv = &t->kv;
    wo->nkv = 1;
    return LH_OK;
}

/* ------------------------------------------------------------ schema change */

/* Appends "; "-separated items to out, ending in "..." when it is full. */
static void change_put(char *out, size_t cap, size_t *len, const char *fmt, ...) LH_PRINTF(4, 5);
static void change_put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    char item[600];
    LH_VFORMAT(item, fmt);
    int n = snprintf(out + *len, cap - *len, "%s%s", *len ? "; " : "", item);
    if (n < 0 || (size_t)n >= cap - *len) {
        if (cap >= 4)
            memcpy(out + cap - 4, "...", 4);
        *len = cap - 1;
        return;
    }
    *len += (size_t)n;
}

/* The previous version's type of a column, as the catalog recorded it
 * (else as the Iceberg schema says). */
static void old_type(const struct lh_catalog_record *rec, const struct lh_iceberg_column *c,
                     char *out, size_t cap)
{
    for (size_t i = 0; rec && i < rec->ncolumns; i++)
        if (rec->columns[i].name && rec->columns[i].data_type &&
            strcmp(rec->columns[i].name, c->field.name) == 0) {
            snprintf(out, cap, "%s", rec->columns[i].data_type);
            return;
        }
    lh_ingest_type_text(&c->field, out, cap);
}

void ingest_table_schema_change(const struct ingest_table *t, const struct lh_catalog_record *rec,
                                char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = '\0';
    if (!t->ids_set || !t->base.version)
        return; /* a new dataset: nothing to compare with */
    const struct lh_iceberg_table *tb = &t->base.table;
    const struct lh_iceberg_schema *cur = lh_iceberg_table_schema(tb, tb->current_schema_id);
    if (!cur)
        return;
    size_t len = 0;
    char tn[96], to[96];
    /* lh_iceberg_schema_assign kept the id of every column of the same
     * name and Iceberg type: a new id is an added or a retyped column */
    for (size_t i = 0; i < t->schema.nfields; i++) {
        const struct lh_field *f = &t->schema.fields[i];
        const struct lh_iceberg_column *same_id = NULL, *same_name = NULL;
        for (size_t k = 0; k < cur->ncolumns; k++) {
            if (cur->columns[k].id == t->cols[i].id)
                same_id = &cur->columns[k];
            if (strcmp(cur->columns[k].field.name, f->name) == 0)
                same_name = &cur->columns[k];
        }
        lh_ingest_type_text(f, tn, sizeof tn);
        if (same_id) {
            if (same_id->field.nullable != f->nullable)
                change_put(out, cap, &len, "%s %s -> %s", f->name,
                           same_id->field.nullable ? "nullable" : "not null",
                           f->nullable ? "nullable" : "not null");
        } else if (same_name) {
            old_type(rec, same_name, to, sizeof to);
            change_put(out, cap, &len, "%s %s -> %s", f->name, to, tn);
        } else {
            change_put(out, cap, &len, "added %s %s", f->name, tn);
        }
    }
    for (size_t k = 0; k < cur->ncolumns; k++) {
        bool kept = false;
        for (size_t i = 0; i < t->schema.nfields && !kept; i++)
            kept = strcmp(cur->columns[k].field.name, t->schema.fields[i].name) == 0;
        if (!kept)
            change_put(out, cap, &len, "dropped %s", cur->columns[k].field.name);
    }
}

/* ------------------------------------------------------------ staging */

static bool in_keep(const int64_t *keep, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i] == id)
            return true;
    return false;
}

enum lh_status ingest_table_stage(struct ingest_table *t, const struct lh_catalog_record *rec,
                                  uint64_t version, bool append, unsigned keep,
                                  const char **metadata_key, struct lh_error *err)
{
    const struct lh_iceberg_table *bt = &t->base.table;
    struct lh_arena a;
    lh_arena_init(&a, 0);
    enum lh_status s = LH_OK;
    t->staged = false;
    if (t->have_garbage) {
        lh_iceberg_garbage_reset(&t->garbage);
        t->have_garbage = false;
    }
    old_metadata_free(t);
    int64_t N = (int64_t)version;
    size_t nb = t->base.version ? bt->nsnapshots : 0;
    struct lh_iceberg_snapshot *snaps = lh_arena_alloc(&a, (nb + 2) * sizeof *snaps);
    struct lh_iceberg_schema *schemas = lh_arena_alloc(&a, (bt->nschemas + 2) * sizeof *schemas);
    int64_t *keepids = lh_arena_alloc(&a, (keep + 2) * sizeof *keepids);
    if (!snaps || !schemas || !keepids) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    /* schemas: the base's, plus the run's when its ids differ */
    size_t ns = t->base.version ? bt->nschemas : 0;
    if (ns)
        memcpy(schemas, bt->schemas, ns * sizeof *schemas);
    const struct lh_iceberg_schema *cur =
        ns ? lh_iceberg_table_schema(bt, bt->current_schema_id) : NULL;
    int32_t sid;
    if (cur && same_ids(cur, t->cols, t->run_schema.ncolumns)) {
        sid = cur->schema_id;
    } else {
        sid = 0;
        for (size_t i = 0; i < ns; i++)
            if (schemas[i].schema_id >= sid)
                sid = schemas[i].schema_id + 1;
        schemas[ns++] = (struct lh_iceberg_schema){sid, t->run_schema.ncolumns, t->cols};
    }
    /* the kept versions after the swap: the newest `keep` of rec's and N */
    size_t nkeep = 0;
    keepids[nkeep++] = N;
    size_t nrv = rec ? rec->nversions : 0;
    for (size_t i = nrv; i-- > 0 && nkeep < keep;)
        keepids[nkeep++] = (int64_t)rec->versions[i].version;
    /* metadata files of the versions retention drops */
    for (size_t i = 0; i < nrv; i++) {
        const struct lh_catalog_version_info *vi = &rec->versions[i];
        if (in_keep(keepids, nkeep, (int64_t)vi->version))
            continue;
        char **no = realloc(t->old_metadata, (t->nold + 2) * sizeof *no);
        if (!no) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        t->old_metadata = no;
        char vk[LH_STORE_KEY_MAX];
        snprintf(vk, sizeof vk, "%s/metadata/v%" PRIu64 ".metadata.json", t->prefix, vi->version);
        if ((no[t->nold] = strdup(vk)))
            t->nold++;
        if (vi->metadata_location && (no[t->nold] = strdup(vi->metadata_location)))
            t->nold++;
    }
    /* snapshots: the base's (all referenced again), then N */
    size_t nsn = 0;
    const struct lh_iceberg_snapshot *parent = NULL;
    for (size_t i = 0; i < nb; i++) {
        snaps[nsn] = bt->snapshots[i];
        if (snaps[nsn].snapshot_id == bt->current_snapshot_id)
            parent = &bt->snapshots[i];
        nsn++;
    }
    size_t ninh = append && parent ? parent->nfiles : 0;
    struct lh_iceberg_data_file *files = lh_arena_alloc(&a, (ninh + t->nparts + 1) * sizeof *files);
    if (!files) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    if (ninh)
        memcpy(files, parent->files, ninh * sizeof *files);
    for (size_t i = 0; i < t->nparts; i++) {
        struct part_info *p = &t->parts[i];
        files[ninh + i] = (struct lh_iceberg_data_file){.size_bytes = p->size,
                                                        .record_count = p->rows,
                                                        .added_snapshot_id = N,
                                                        .added_sequence_number = N,
                                                        .stats = p->stats,
                                                        .nstats = p->nstats};
        if ((s = data_uri(t, &a, "primary", p->key, &files[ninh + i].path, err)) != LH_OK)
            goto done;
    }
    snaps[nsn++] = (struct lh_iceberg_snapshot){.snapshot_id = N,
                                                .parent_id = parent ? parent->snapshot_id : 0,
                                                .sequence_number = N,
                                                .timestamp_ms = lh_time_wall_us() / 1000,
                                                .op = append && parent ? LH_ICEBERG_APPEND
                                                                       : LH_ICEBERG_OVERWRITE,
                                                .schema_id = sid,
                                                .files = files,
                                                .nfiles = ninh + t->nparts,
                                                .is_new = true,
                                                .tag = t->tag};
    char uuid[LH_ICEBERG_UUID_LEN + 1];
    if (!t->base.version && (s = lh_iceberg_uuid_generate(uuid, err)) != LH_OK)
        goto done;
    char mname[160];
    snprintf(mname, sizeof mname, "%05" PRId64 "-%s.metadata.json", N, t->tag);
    struct lh_iceberg_table nt = {
        .location = t->location,
        .key_prefix = t->prefix,
        .uuid = t->base.version ? bt->uuid : uuid,
        .schemas = schemas,
        .nschemas = ns,
        .current_schema_id = sid,
        .last_column_id = t->last_column_id,
        .snapshots = snaps,
        .nsnapshots = nsn,
        .current_snapshot_id = N,
        .metadata_name = mname,
        .name_mapping = t->base.version ? bt->name_mapping : NULL,
    };
    snprintf(t->metadata_key, sizeof t->metadata_key, "%s/metadata/%s", t->prefix, mname);
    snprintf(t->manifest_key, sizeof t->manifest_key, "%s/metadata/manifest-%" PRId64 "-%s.avro",
             t->prefix, N, t->tag);
    snprintf(t->list_key, sizeof t->list_key, "%s/metadata/snap-%" PRId64 "-%s.avro", t->prefix, N,
             t->tag);
    t->version = version;
    t->staged = true; /* from here on, unstage deletes what may be written */
    int64_t t0 = lh_time_mono_ns();
    s = lh_iceberg_table_write(t->primary, &nt, N, keepids, nkeep, &t->garbage, err);
    lh_debug("ingest %s: Iceberg snapshot %" PRId64
             " staged in %.2f ms (%zu new file(s), %zu snapshot(s))",
             t->dataset, N, (double)(lh_time_mono_ns() - t0) / 1e6, t->nparts, nsn);
    if (s != LH_OK) {
        lh_error_prefix(err, "dataset %s: writing Iceberg snapshot %" PRId64, t->dataset, N);
        goto done;
    }
    t->have_garbage = true;
    *metadata_key = t->metadata_key;
done:
    lh_arena_reset(&a);
    return s;
}

/* Deletes the staged files, and with the built base the new files of
 * the migration snapshots that carry the run's tag. */
void ingest_table_unstage(struct ingest_table *t)
{
    if (!t->staged)
        return;
    t->staged = false;
    struct lh_store_list l;
    struct lh_error e;
    char pfx[LH_STORE_KEY_MAX];
    snprintf(pfx, sizeof pfx, "%s/metadata/", t->prefix);
    if (lh_store_list(t->primary, pfx, &l, &e) != LH_OK) {
        lh_warn("ingest %s: could not list %s to remove this run's metadata: %s (a later sweep "
                "removes it)",
                t->dataset, pfx, e.msg);
        return;
    }
    char needle[80];
    snprintf(needle, sizeof needle, "-%s.", t->tag);
    for (size_t i = 0; i < l.count; i++)
        if (strstr(l.items[i].key + strlen(pfx), needle) &&
            lh_store_delete(t->primary, l.items[i].key, &e) != LH_OK)
            lh_warn("ingest %s: could not delete %s: %s (a later sweep removes it)", t->dataset,
                    l.items[i].key, e.msg);
    lh_store_list_reset(&l);
}

void ingest_table_commit(struct ingest_table *t)
{
    struct lh_error e;
    if (!t->staged)
        return;
    t->staged = false;
    int64_t t0 = lh_time_mono_ns();
    if (lh_iceberg_metadata_publish(t->primary, t->prefix, t->metadata_key, (int64_t)t->version,
                                    &e) != LH_OK)
        lh_warn("ingest %s: %s (the next publish or the daemon's start-up repairs it)", t->dataset,
                e.msg);
    ingest_fault(3);
    for (size_t i = 0; t->have_garbage && i < t->garbage.nmetadata_keys; i++)
        if (lh_store_delete(t->primary, t->garbage.metadata_keys[i], &e) != LH_OK)
            lh_warn("ingest %s: retention could not delete %s: %s", t->dataset,
                    t->garbage.metadata_keys[i], e.msg);
    for (size_t i = 0; i < t->nold; i++)
        if (lh_store_delete(t->primary, t->old_metadata[i], &e) != LH_OK)
            lh_warn("ingest %s: retention could not delete %s: %s", t->dataset, t->old_metadata[i],
                    e.msg);
    lh_debug("ingest %s: Iceberg version %" PRIu64 " published in %.2f ms", t->dataset, t->version,
             (double)(lh_time_mono_ns() - t0) / 1e6);
}

/* ------------------------------------------------------------ sync */

/* The run tag in a staged file's name (manifest-{S}-{tag}.avro,
 * snap-{S}-{tag}.avro, {N}-{tag}.metadata.json), copied to out; false for
 * other names (v{N}.metadata.json, version-hint.text, untagged). */
static bool staged_tag(const char *name, char *out, size_t cap)
{
    const char *p = name, *end = NULL;
    size_t n = strlen(name);
    if (strncmp(p, "manifest-", 9) == 0 || strncmp(p, "snap-", 5) == 0) {
        p += *p == 'm' ? 9 : 5;
        if (n > 5 && strcmp(name + n - 5, ".avro") == 0)
            end = name + n - 5;
    } else if (n > 14 && strcmp(name + n - 14, ".metadata.json") == 0) {
        end = name + n - 14;
    }
    if (!end || !(*p >= '0' && *p <= '9'))
        return false;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    if (p >= end || *p != '-' || (size_t)(end - p - 1) >= cap)
        return false;
    p++;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return true;
}

/* Files staged by runs that never committed (killed before the catalog
 * swap, or a swap lost and the cleanup failed): in metadata/, a file named
 * with a run's tag that no kept version references, once that run is over
 * (no lease left in its run directory; a migration's tag: 10 minutes old).
 * The order matters: list, then keep the files whose run is over, and only
 * then read the record and the current metadata: a run whose lease is
 * gone has finished its commit, so a record read afterwards holds it. */
static void sweep_staged(struct lh_catalog *cat, struct lh_store *primary, const char *dataset,
                         const char *prefix)
{
    struct lh_error e;
    char pfx[LH_STORE_KEY_MAX];
    snprintf(pfx, sizeof pfx, "%s/metadata/", prefix);
    struct lh_store_list l;
    if (lh_store_list(primary, pfx, &l, &e) != LH_OK)
        return;
    bool *cand = calloc(l.count + 1, sizeof *cand);
    size_t ncand = 0;
    int64_t now_ms = lh_time_wall_us() / 1000;
    for (size_t i = 0; cand && i < l.count; i++) {
        char tag[80];
        if (!staged_tag(l.items[i].key + strlen(pfx), tag, sizeof tag))
            continue;
        if (strncmp(tag, "migrate-", 8) == 0) {
            int64_t ms = 0;
            char num[32];
            snprintf(num, sizeof num, "%.*s", (int)strcspn(tag + 8, "-"), tag + 8);
            cand[i] = lh_parse_i64(num, &ms) && now_ms - ms > 600000;
        } else {
            char lease[LH_STORE_KEY_MAX];
            uint64_t sz;
            snprintf(lease, sizeof lease, "%s/run-%s/_lease.json", prefix, tag);
            cand[i] = lh_store_stat(primary, lease, &sz, &e) == LH_E_NOTFOUND;
        }
        ncand += cand[i];
    }
    struct lh_catalog_record rec;
    struct lh_iceberg_loaded cur = {0};
    bool have_rec = false, loaded = false;
    if (!ncand || lh_catalog_dataset_get(cat, dataset, &rec, &e) != LH_OK)
        goto done;
    have_rec = true;
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&rec);
    if (cv && cv->metadata_location) {
        if (lh_iceberg_table_load_at(primary, prefix, cv->metadata_location, (int64_t)cv->version,
                                     &cur, &e) != LH_OK)
            goto done; /* no reference set, no sweep */
        loaded = true;
    }
    size_t removed = 0;
    for (size_t i = 0; i < l.count; i++) {
        if (!cand[i])
            continue;
        const char *name = l.items[i].key + strlen(pfx);
        char nm[200];
        bool ref = false;
        for (size_t v = 0; v < rec.nversions && !ref; v++) {
            const char *ml = rec.versions[v].metadata_location;
            ref = ml && strcmp(ml, l.items[i].key) == 0;
        }
        const struct lh_iceberg_table *tb = &cur.table;
        for (size_t k = 0; loaded && k < tb->nsnapshots && !ref; k++) {
            const struct lh_iceberg_snapshot *sn = &tb->snapshots[k];
            if (sn->tag) {
                snprintf(nm, sizeof nm, "snap-%" PRId64 "-%s.avro", sn->snapshot_id, sn->tag);
                ref = strcmp(nm, name) == 0;
            }
            for (size_t f = 0; f < sn->nfiles && !ref; f++)
                ref = sn->files[f].manifest && strcmp(sn->files[f].manifest, name) == 0;
        }
        if (ref)
            continue;
        if (lh_store_delete(primary, l.items[i].key, &e) == LH_OK)
            removed++;
        else
            lh_warn("dataset %s: could not delete %s: %s", dataset, l.items[i].key, e.msg);
    }
    if (removed)
        lh_info("dataset %s: removed %zu Iceberg file(s) staged by runs that never committed",
                dataset, removed);
done:
    if (loaded)
        lh_iceberg_loaded_reset(&cur);
    else
        lh_arena_reset(&cur.arena);
    if (have_rec)
        lh_catalog_record_reset(&rec);
    free(cand);
    lh_store_list_reset(&l);
}

enum lh_status lh_ingest_table_sync(struct lh_store_set *set, struct lh_catalog *cat,
                                    const char *dataset, bool *changed, struct lh_error *err)
{
    bool unasked;
    if (!changed)
        changed = &unasked;
    *changed = false;
    struct lh_catalog_record rec;
    enum lh_status s = lh_catalog_dataset_get(cat, dataset, &rec, err);
    if (s != LH_OK)
        return s;
    struct ingest_table *t = NULL;
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&rec);
    char tag[64];
    if (!cv)
        goto done;
    struct lh_store *primary = lh_store_set_primary(set);
    char prefix[PREFIX_MAX];
    snprintf(prefix, sizeof prefix, "datasets/%s", dataset);
    if (cv->metadata_location) {
        /* roll the file-based layout forward to the catalog's version */
        int64_t hint = 0;
        s = lh_iceberg_version_hint_get(primary, prefix, &hint, err);
        if (s == LH_OK && hint < (int64_t)cv->version) {
            s = lh_iceberg_metadata_publish(primary, prefix, cv->metadata_location,
                                            (int64_t)cv->version, err);
            if (s == LH_OK)
                *changed = true;
        }
        if (s == LH_OK)
            sweep_staged(cat, primary, dataset, prefix);
        goto done;
    }
    /* A table that exists without the catalog naming it (written by other
     * means) is left as it is: the next publish describes the dataset from
     * its record. */
    for (int k = 0; k < 2; k++) {
        struct lh_store *st = primary;
        const char *b = cv->nobjects ? cv->objects[0].bucket : NULL;
        if (k == 1 &&
            (!b || strcmp(b, "primary") == 0 || lh_store_set_get(set, b, &st, err) != LH_OK))
            break;
        int64_t hint = 0;
        if (lh_iceberg_version_hint_get(st, prefix, &hint, err) != LH_OK || hint > 0) {
            s = LH_OK;
            goto done;
        }
    }
    /* no Iceberg metadata yet: describe every kept version, write it, and
     * record it in the current version (a swap on that version) */
    char rnd[9];
    lh_random_hex(rnd, 4);
    snprintf(tag, sizeof tag, "migrate-%" PRId64 "-%s", lh_time_wall_us() / 1000, rnd);
    if ((s = ingest_table_create(set, dataset, tag, &t, err)) != LH_OK)
        goto done;
    t->have_base = true;
    lh_arena_init(&t->base.arena, 0);
    if ((s = build_from_record(t, &rec, err)) != LH_OK)
        goto done;
    struct lh_iceberg_table *tb = &t->base.table;
    char mname[160];
    snprintf(mname, sizeof mname, "%05" PRIu64 "-%s.metadata.json", cv->version, tag);
    tb->metadata_name = mname;
    snprintf(t->metadata_key, sizeof t->metadata_key, "%s/metadata/%s", prefix, mname);
    t->staged = true;
    t->version = cv->version;
    s = lh_iceberg_table_write(primary, tb, (int64_t)cv->version, NULL, 0, NULL, err);
    if (s == LH_OK)
        s = lh_catalog_version_metadata_set(cat, dataset, cv->version, t->metadata_key, err);
    if (s != LH_OK) {
        ingest_table_unstage(t);
        goto done;
    }
    ingest_table_commit(t);
    *changed = true;
done:
    if (s != LH_OK)
        lh_error_prefix(err, "dataset %s: Iceberg metadata", dataset);
    ingest_table_destroy(t);
    lh_catalog_record_reset(&rec);
    return s;
}
