/*
 * load.c — reading a table's current state back from the store, so a
 * commit can be described from what is already there: the schemas with
 * their ids and last-column-id, and every kept snapshot with its files
 * (path, size, record count, adding snapshot), read from the manifest lists
 * and manifests. Statistics are not read back: old manifests are never
 * rewritten, so they are not needed.
 *
 * Only tables this module wrote are expected; anything else that does not
 * parse fails with LH_E_FORMAT naming the object. Every object is read
 * with a size cap.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg_int.h"

#define META_MAX (64u << 20)     /* metadata JSON */

static const char *dup(struct lh_arena *a, const char *s, size_t n)
{
    return lh_arena_strndup(a, s, n);
}

/* Iceberg JSON type -> lakehouse field type (the inverse of type_text;
 * "int" reads back as int32, "long" as int64: same Iceberg type). */
static bool type_parse(const char *t, struct lh_field *f)
{
    static const struct {
        const char *name;
        enum lh_type type;
        bool utc;
    } simple[] = {
        {"boolean", LH_T_BOOL, false},      {"int", LH_T_INT32, false},
        {"long", LH_T_INT64, false},        {"float", LH_T_FLOAT, false},
        {"double", LH_T_DOUBLE, false},     {"string", LH_T_STRING, false},
        {"binary", LH_T_BINARY, false},     {"uuid", LH_T_UUID, false},
        {"date", LH_T_DATE, false},         {"time", LH_T_TIME, false},
        {"timestamp", LH_T_TIMESTAMP, false}, {"timestamptz", LH_T_TIMESTAMP, true},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(t, simple[i].name) == 0) {
            f->type = simple[i].type;
            f->ts_utc = simple[i].utc;
            return true;
        }
    unsigned p, s, l;
    char end;
    if (sscanf(t, "decimal(%u,%u%c", &p, &s, &end) == 3 && end == ')' && p >= 1 && p <= 38 &&
        s <= p) {
        f->type = LH_T_DECIMAL;
        f->precision = (uint8_t)p;
        f->scale = (uint8_t)s;
        return true;
    }
    if (sscanf(t, "fixed[%u%c", &l, &end) == 2 && end == ']' && l >= 1) {
        f->type = LH_T_FIXED;
        f->fixed_len = l;
        return true;
    }
    return false;
}

static enum lh_status bad(struct lh_error *err, const char *key, const char *what)
{
    return lh_error_set(err, LH_E_FORMAT, "iceberg: %s: %s", key, what);
}

static enum lh_status parse_schema(json_t *js, struct lh_arena *a, struct lh_iceberg_schema *out,
                                   const char *key, struct lh_error *err)
{
    json_t *fields = json_object_get(js, "fields");
    if (!json_is_integer(json_object_get(js, "schema-id")) || !json_is_array(fields))
        return bad(err, key, "schema without schema-id or fields");
    size_t n = json_array_size(fields);
    struct lh_iceberg_column *cols = lh_arena_alloc(a, (n + 1) * sizeof *cols);
    if (!cols)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i), *type = json_object_get(f, "type");
        const char *name = json_string_value(json_object_get(f, "name"));
        struct lh_iceberg_column *c = &cols[i];
        if (!name || !json_is_integer(json_object_get(f, "id")))
            return bad(err, key, "schema field without id or name");
        c->id = (int32_t)json_integer_value(json_object_get(f, "id"));
        c->field.name = dup(a, name, strlen(name));
        c->field.nullable = !json_is_true(json_object_get(f, "required"));
        const char *t = json_string_value(type);
        if (json_is_object(type)) {
            const char *kind = json_string_value(json_object_get(type, "type"));
            if (!kind || strcmp(kind, "list") != 0 ||
                !json_is_integer(json_object_get(type, "element-id")))
                return lh_error_set(err, LH_E_UNSUPPORTED,
                                    "iceberg: %s: column %s has a nested type other than a list "
                                    "of primitives",
                                    key, name);
            c->field.is_list = true;
            c->element_id = (int32_t)json_integer_value(json_object_get(type, "element-id"));
            c->field.element_nullable = !json_is_true(json_object_get(type, "element-required"));
            t = json_string_value(json_object_get(type, "element"));
        }
        if (!t || !type_parse(t, &c->field))
            return lh_error_set(err, LH_E_UNSUPPORTED, "iceberg: %s: column %s: type %s", key,
                                name, t ? t : "(nested)");
        if (!c->field.name)
            return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    }
    *out = (struct lh_iceberg_schema){(int32_t)json_integer_value(json_object_get(js, "schema-id")),
                                      n, cols};
    return LH_OK;
}

/* A URI under the table's location -> its store key. */
static bool key_of_uri(const struct lh_iceberg_table *t, const char *uri, char *key, size_t cap)
{
    size_t n = strlen(t->location);
    if (strncmp(uri, t->location, n) != 0 || uri[n] != '/')
        return false;
    int k = snprintf(key, cap, "%s%s", t->key_prefix, uri + n);
    return k > 0 && (size_t)k < cap;
}

/* Opens an Avro object of the store with libavro's reader. */
struct avro_in {
    uint8_t *bytes;
    FILE *fp;
    avro_file_reader_t r;
    avro_value_iface_t *iface;
    avro_value_t v;
    bool have_v;
};

static void avro_in_close(struct avro_in *in)
{
    if (in->have_v)
        avro_value_decref(&in->v);
    if (in->iface)
        avro_value_iface_decref(in->iface);
    if (in->r)
        avro_file_reader_close(in->r); /* closes fp */
    else if (in->fp)
        fclose(in->fp);
    free(in->bytes);
    *in = (struct avro_in){0};
}

static enum lh_status avro_in_open(struct lh_store *st, const char *key, struct avro_in *in,
                                   struct lh_error *err)
{
    *in = (struct avro_in){0};
    size_t n = 0;
    enum lh_status s = lh_store_get(st, key, ICE_AVRO_MAX, &in->bytes, &n, NULL, err);
    if (s != LH_OK)
        return lh_error_wrap(err, s, "iceberg: reading %s", key);
    if (n == 0 || !(in->fp = fmemopen(in->bytes, n, "rb")))
        return bad(err, key, "empty or unreadable Avro file");
    if (avro_file_reader_fp(in->fp, key, 1, &in->r) != 0) {
        in->r = NULL;
        return lh_error_set(err, LH_E_FORMAT, "iceberg: %s: not an Avro file: %s", key,
                            avro_strerror());
    }
    avro_schema_t ws = avro_file_reader_get_writer_schema(in->r);
    in->iface = avro_generic_class_from_schema(ws);
    avro_schema_decref(ws);
    if (!in->iface || avro_generic_value_new(in->iface, &in->v) != 0)
        return lh_error_set(err, LH_E_FORMAT, "iceberg: %s: %s", key, avro_strerror());
    in->have_v = true;
    return LH_OK;
}

/* The next record into in->v: true with one, false at the end or on an
 * error (*s set then). */
static bool avro_in_next(struct avro_in *in, const char *key, enum lh_status *s,
                         struct lh_error *err)
{
    if (*s != LH_OK)
        return false;
    int rc = avro_file_reader_read_value(in->r, &in->v);
    if (rc == 0)
        return true;
    if (rc != EOF)
        *s = lh_error_set(err, LH_E_FORMAT, "iceberg: %s: %s", key, avro_strerror());
    return false;
}

/* Reads a named long/int/string field of a record, looking through unions. */
static bool get_field(avro_value_t *rec, const char *name, avro_value_t *out)
{
    if (avro_value_get_by_name(rec, name, out, NULL) != 0)
        return false;
    if (avro_value_get_type(out) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(out, &b) != 0)
            return false;
        *out = b;
    }
    return true;
}

static bool get_i64(avro_value_t *rec, const char *name, int64_t *v)
{
    avro_value_t f;
    if (!get_field(rec, name, &f))
        return false;
    if (avro_value_get_type(&f) == AVRO_INT32) {
        int32_t x;
        if (avro_value_get_int(&f, &x) != 0)
            return false;
        *v = x;
        return true;
    }
    return avro_value_get_type(&f) == AVRO_INT64 && avro_value_get_long(&f, v) == 0;
}

static const char *get_str(avro_value_t *rec, const char *name, struct lh_arena *a)
{
    avro_value_t f;
    const char *s;
    size_t n;
    if (!get_field(rec, name, &f) || avro_value_get_type(&f) != AVRO_STRING ||
        avro_value_get_string(&f, &s, &n) != 0)
        return NULL;
    return dup(a, s, n > 0 ? n - 1 : 0); /* libavro counts the NUL */
}

/* The files of one manifest, appended to *files. */
static enum lh_status read_manifest(struct lh_store *st, const char *key, int64_t added_id,
                                    int64_t seq, struct lh_arena *a, struct lh_buf *files,
                                    struct lh_error *err)
{
    const char *slash = strrchr(key, '/');
    const char *mname = dup(a, slash ? slash + 1 : key, strlen(slash ? slash + 1 : key));
    if (!mname)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
    struct avro_in in;
    enum lh_status s = avro_in_open(st, key, &in, err);
    while (avro_in_next(&in, key, &s, err)) {
        int64_t status = -1, rows = -1, size = -1;
        avro_value_t df;
        struct lh_iceberg_data_file f = {.added_snapshot_id = added_id,
                                         .added_sequence_number = seq,
                                         .manifest = mname};
        if (!get_i64(&in.v, "status", &status) || !get_field(&in.v, "data_file", &df) ||
            !(f.path = get_str(&df, "file_path", a)) || !get_i64(&df, "record_count", &rows) ||
            !get_i64(&df, "file_size_in_bytes", &size) || rows < 0 || size < 0) {
            s = bad(err, key, "manifest entry without status, path, record count or size");
            break;
        }
        if (status == 2)
            continue; /* DELETED entries are history, not content */
        f.record_count = rows;
        f.size_bytes = (uint64_t)size;
        lh_buf_append(files, &f, sizeof f);
    }
    avro_in_close(&in);
    return s;
}

/* Manifests already read by this load: a chain of appends lists the same
 * manifests again in every snapshot, and each is read once. */
struct mf_cache {
    const char **keys;
    size_t *first, *count; /* the manifest's files in `all` */
    size_t n, cap;
    struct lh_buf all; /* struct lh_iceberg_data_file, every manifest read */
};

static enum lh_status read_snapshot_files(struct lh_store *st, const struct lh_iceberg_table *t,
                                          const char *list_uri, struct lh_arena *a,
                                          struct mf_cache *mc, struct lh_iceberg_snapshot *sn,
                                          struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    if (!key_of_uri(t, list_uri, key, sizeof key))
        return lh_error_set(err, LH_E_FORMAT,
                            "iceberg: manifest list %s is not under the table location %s",
                            list_uri, t->location);
    struct avro_in in;
    struct lh_buf files;
    lh_buf_init(&files, ICE_AVRO_MAX);
    enum lh_status s = avro_in_open(st, key, &in, err);
    while (avro_in_next(&in, key, &s, err)) {
        int64_t added = 0, seq = 0;
        const char *path = get_str(&in.v, "manifest_path", a);
        char mkey[LH_STORE_KEY_MAX];
        if (!path || !get_i64(&in.v, "added_snapshot_id", &added) ||
            !get_i64(&in.v, "sequence_number", &seq)) {
            s = bad(err, key, "manifest list entry without path, snapshot or sequence number");
            break;
        }
        if (!key_of_uri(t, path, mkey, sizeof mkey)) {
            s = lh_error_set(err, LH_E_FORMAT, "iceberg: %s: manifest %s is outside the table",
                             key, path);
            break;
        }
        size_t k = 0;
        while (k < mc->n && strcmp(mc->keys[k], mkey) != 0)
            k++;
        if (k == mc->n) {
            if (mc->n == mc->cap) {
                size_t nc = mc->cap ? 2 * mc->cap : 16;
                const char **nk = lh_arena_alloc(a, nc * sizeof *nk);
                size_t *nf = lh_arena_alloc(a, nc * sizeof *nf);
                size_t *nn = lh_arena_alloc(a, nc * sizeof *nn);
                if (!nk || !nf || !nn) {
                    s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
                    break;
                }
                if (mc->n) {
                    memcpy(nk, mc->keys, mc->n * sizeof *nk);
                    memcpy(nf, mc->first, mc->n * sizeof *nf);
                    memcpy(nn, mc->count, mc->n * sizeof *nn);
                }
                mc->keys = nk;
                mc->first = nf;
                mc->count = nn;
                mc->cap = nc;
            }
            size_t before = mc->all.len;
            s = read_manifest(st, mkey, added, seq, a, &mc->all, err);
            if (s != LH_OK)
                break;
            if (!lh_buf_ok(&mc->all)) {
                s = lh_error_set(err, LH_E_TOOBIG, "iceberg: %s lists too many files", key);
                break;
            }
            if (!(mc->keys[k] = dup(a, mkey, strlen(mkey)))) {
                s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
                break;
            }
            mc->first[k] = before / sizeof(struct lh_iceberg_data_file);
            mc->count[k] = (mc->all.len - before) / sizeof(struct lh_iceberg_data_file);
            mc->n++;
        }
        lh_buf_append(&files, mc->all.data + mc->first[k] * sizeof(struct lh_iceberg_data_file),
                      mc->count[k] * sizeof(struct lh_iceberg_data_file));
    }
    avro_in_close(&in);
    if (s == LH_OK && !lh_buf_ok(&files))
        s = lh_error_set(err, LH_E_TOOBIG, "iceberg: %s lists too many files", key);
    if (s == LH_OK) {
        size_t n = files.len / sizeof(struct lh_iceberg_data_file);
        struct lh_iceberg_data_file *arr = lh_arena_alloc(a, files.len + 1);
        if (!arr)
            s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
        else {
            if (n)
                memcpy(arr, files.data, files.len);
            sn->files = arr;
            sn->nfiles = n;
        }
    }
    lh_buf_reset(&files);
    return s;
}

void lh_iceberg_loaded_reset(struct lh_iceberg_loaded *l)
{
    if (!l)
        return;
    lh_arena_reset(&l->arena);
    *l = (struct lh_iceberg_loaded){0};
}

enum lh_status lh_iceberg_table_load(struct lh_store *st, const char *key_prefix,
                                     struct lh_iceberg_loaded *out, struct lh_error *err)
{
    *out = (struct lh_iceberg_loaded){0};
    lh_arena_init(&out->arena, 0);
    int64_t version = 0;
    enum lh_status s = lh_iceberg_version_hint_get(st, key_prefix, &version, err);
    if (s != LH_OK || version == 0)
        return s;
    lh_arena_reset(&out->arena);
    char key[LH_STORE_KEY_MAX];
    snprintf(key, sizeof key, "%s/metadata/v%" PRId64 ".metadata.json", key_prefix, version);
    return lh_iceberg_table_load_at(st, key_prefix, key, version, out, err);
}

enum lh_status lh_iceberg_table_load_at(struct lh_store *st, const char *key_prefix,
                                        const char *metadata_key, int64_t version,
                                        struct lh_iceberg_loaded *out, struct lh_error *err)
{
    *out = (struct lh_iceberg_loaded){0};
    lh_arena_init(&out->arena, 0);
    struct lh_arena *a = &out->arena;
    out->version = version;
    const char *key = metadata_key;
    enum lh_status s;
    struct mf_cache mc = {0};
    lh_buf_init(&mc.all, ICE_AVRO_MAX);
    uint8_t *bytes = NULL;
    size_t n = 0;
    if ((s = lh_store_get(st, key, META_MAX, &bytes, &n, NULL, err)) != LH_OK) {
        lh_error_prefix(err, "iceberg: reading %s", key);
        goto fail;
    }
    json_error_t je;
    json_t *root = json_loadb((const char *)bytes, n, 0, &je);
    free(bytes);
    if (!root) {
        s = lh_error_set(err, LH_E_FORMAT, "iceberg: %s: %s (line %d)", key, je.text, je.line);
        goto fail;
    }
    struct lh_iceberg_table *t = &out->table;
    const char *loc = json_string_value(json_object_get(root, "location"));
    const char *uuid = json_string_value(json_object_get(root, "table-uuid"));
    json_t *schemas = json_object_get(root, "schemas"), *snaps = json_object_get(root, "snapshots");
    if (json_integer_value(json_object_get(root, "format-version")) != 2 || !loc || !uuid ||
        !json_is_array(schemas) || !json_is_integer(json_object_get(root, "last-column-id")) ||
        !json_is_integer(json_object_get(root, "current-schema-id"))) {
        s = bad(err, key, "not a format-version 2 table metadata file");
        goto done;
    }
    t->location = dup(a, loc, strlen(loc));
    t->uuid = dup(a, uuid, strlen(uuid));
    t->key_prefix = dup(a, key_prefix, strlen(key_prefix));
    t->last_column_id = (int32_t)json_integer_value(json_object_get(root, "last-column-id"));
    t->current_schema_id = (int32_t)json_integer_value(json_object_get(root, "current-schema-id"));
    t->last_updated_ms = json_integer_value(json_object_get(root, "last-updated-ms"));
    json_t *cur = json_object_get(root, "current-snapshot-id");
    t->current_snapshot_id = json_is_integer(cur) ? json_integer_value(cur) : 0;
    const char *nm = json_string_value(
        json_object_get(json_object_get(root, "properties"), "schema.name-mapping.default"));
    if (nm && !(t->name_mapping = dup(a, nm, strlen(nm)))) {
        s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
        goto done;
    }
    size_t ns = json_array_size(schemas), nsn = json_array_size(snaps);
    struct lh_iceberg_schema *sch = lh_arena_alloc(a, (ns + 1) * sizeof *sch);
    struct lh_iceberg_snapshot *sn = lh_arena_alloc(a, (nsn + 1) * sizeof *sn);
    if (!sch || !sn || !t->location || !t->uuid || !t->key_prefix) {
        s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++)
        if ((s = parse_schema(json_array_get(schemas, i), a, &sch[i], key, err)) != LH_OK)
            goto done;
    t->schemas = sch;
    t->nschemas = ns;
    for (size_t i = 0; i < nsn; i++) {
        json_t *j = json_array_get(snaps, i);
        const char *list = json_string_value(json_object_get(j, "manifest-list"));
        const char *op =
            json_string_value(json_object_get(json_object_get(j, "summary"), "operation"));
        if (!list || !json_is_integer(json_object_get(j, "snapshot-id")) ||
            !json_is_integer(json_object_get(j, "sequence-number"))) {
            s = bad(err, key, "snapshot without snapshot-id, sequence-number or manifest-list");
            goto done;
        }
        json_t *parent = json_object_get(j, "parent-snapshot-id");
        sn[i] = (struct lh_iceberg_snapshot){
            .snapshot_id = json_integer_value(json_object_get(j, "snapshot-id")),
            .parent_id = json_is_integer(parent) ? json_integer_value(parent) : 0,
            .sequence_number = json_integer_value(json_object_get(j, "sequence-number")),
            .timestamp_ms = json_integer_value(json_object_get(j, "timestamp-ms")),
            .op = op && strcmp(op, "append") == 0 ? LH_ICEBERG_APPEND : LH_ICEBERG_OVERWRITE,
            .schema_id = (int32_t)json_integer_value(json_object_get(j, "schema-id"))};
        {
            /* snap-{S}-{tag}.avro: the tag; snap-{S}.avro: none */
            const char *base = strrchr(list, '/');
            base = base ? base + 1 : list;
            char pre[48];
            snprintf(pre, sizeof pre, "snap-%" PRId64 "-", sn[i].snapshot_id);
            size_t pl = strlen(pre), bl = strlen(base);
            if (strncmp(base, pre, pl) == 0 && bl > pl + 5 &&
                strcmp(base + bl - 5, ".avro") == 0) {
                sn[i].tag = dup(a, base + pl, bl - pl - 5);
                if (!sn[i].tag) {
                    s = lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory");
                    goto done;
                }
            }
        }
        if ((s = read_snapshot_files(st, t, list, a, &mc, &sn[i], err)) != LH_OK)
            goto done;
    }
    t->snapshots = sn;
    t->nsnapshots = nsn;
done:
    json_decref(root);
    lh_buf_reset(&mc.all);
    if (s == LH_OK)
        return LH_OK;
fail:
    lh_buf_reset(&mc.all);
    lh_iceberg_loaded_reset(out);
    return s;
}
