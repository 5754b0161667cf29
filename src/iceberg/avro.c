/*
 * avro.c — Avro object container files for Iceberg manifests and manifest
 * lists (see iceberg_int.h for why the framing is ours and the record
 * encoding libavro's).
 *
 * Container layout (Avro spec, "Object Container Files"):
 *   "Obj" 0x01 | metadata map<bytes> | 16-byte sync | blocks
 * and one block is: record count (long) | byte size (long) | records | sync.
 * Everything goes into one block: manifests here hold one snapshot's files.
 * The sync marker is derived from a seed (the object's key), so writing the
 * same content twice gives the same bytes.
 */
#include <assert.h>
#include <string.h>

#include "iceberg_int.h"

static void put_long(struct lh_buf *b, int64_t v)
{
    lh_buf_append_varint(b, lh_zigzag(v));
}

static void put_bytes(struct lh_buf *b, const void *p, size_t n)
{
    put_long(b, (int64_t)n);
    lh_buf_append(b, p, n);
}

static enum lh_status avro_fail(struct lh_error *err, const char *what)
{
    return lh_error_set(err, LH_E_INTERNAL, "iceberg avro: %s: %s", what, avro_strerror());
}

enum lh_status ice_avro_init(struct ice_avro *a, const char *schema_json, struct lh_error *err)
{
    *a = (struct ice_avro){0};
    lh_buf_init(&a->block, ICE_AVRO_MAX);
    a->schema_json = schema_json;
    a->schema_len = strlen(schema_json);
    if (avro_schema_from_json_length(schema_json, a->schema_len, &a->schema) != 0)
        return avro_fail(err, "schema");
    if (!(a->iface = avro_generic_class_from_schema(a->schema)))
        return avro_fail(err, "class");
    if (avro_generic_value_new(a->iface, &a->value) != 0)
        return avro_fail(err, "value");
    a->have_value = true;
    return LH_OK;
}

/* Every union starts as null, so a record only names what it has. */
static void set_nulls(avro_value_t *v)
{
    if (avro_value_get_type(v) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_set_branch(v, 0, &b) == 0)
            avro_value_set_null(&b);
        return;
    }
    if (avro_value_get_type(v) != AVRO_RECORD)
        return;
    size_t n = 0;
    avro_value_get_size(v, &n);
    for (size_t i = 0; i < n; i++) {
        avro_value_t c;
        if (avro_value_get_by_index(v, i, &c, NULL) == 0)
            set_nulls(&c);
    }
}

avro_value_t *ice_avro_record(struct ice_avro *a)
{
    avro_value_reset(&a->value);
    set_nulls(&a->value);
    return &a->value;
}

avro_value_t ice_avro_field(avro_value_t *rec, const char *name)
{
    avro_value_t c = {0};
    int rc = avro_value_get_by_name(rec, name, &c, NULL);
    assert(rc == 0 && "field missing from our own schema");
    (void)rc;
    return c;
}

void ice_avro_set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f = ice_avro_field(rec, name);
    avro_value_set_long(&f, v);
}

void ice_avro_set_int(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f = ice_avro_field(rec, name);
    avro_value_set_int(&f, v);
}

void ice_avro_set_string(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f = ice_avro_field(rec, name);
    avro_value_set_string(&f, v);
}

avro_value_t ice_avro_some(avro_value_t *u)
{
    avro_value_t b = {0};
    int rc = avro_value_set_branch(u, 1, &b);
    assert(rc == 0);
    (void)rc;
    return b;
}

enum lh_status ice_avro_append(struct ice_avro *a, struct lh_error *err)
{
    size_t n = 0;
    if (avro_value_sizeof(&a->value, &n) != 0)
        return avro_fail(err, "record size");
    if (!lh_buf_reserve(&a->block, n))
        return lh_error_set(err, a->block.len + n > ICE_AVRO_MAX ? LH_E_TOOBIG : LH_E_NOMEM,
                            "iceberg avro: a manifest past %u MiB or out of memory",
                            ICE_AVRO_MAX >> 20);
    avro_writer_t w = avro_writer_memory((const char *)a->block.data + a->block.len, (int64_t)n);
    if (!w)
        return avro_fail(err, "writer");
    int rc = avro_value_write(w, &a->value);
    avro_writer_free(w);
    if (rc != 0)
        return avro_fail(err, "encode");
    a->block.len += n;
    a->count++;
    return LH_OK;
}

enum lh_status ice_avro_finish(struct ice_avro *a, const struct lh_parquet_kv *meta, size_t nmeta,
                               const char *seed, struct lh_buf *out, struct lh_error *err)
{
    uint8_t digest[32], sync[16];
    struct lh_sha256 c;
    lh_sha256_init(&c);
    lh_sha256_update(&c, "lakehouse-avro-sync:", 20);
    lh_sha256_update(&c, seed, strlen(seed));
    lh_sha256_update(&c, a->block.data ? (const void *)a->block.data : "", a->block.len);
    lh_sha256_final(&c, digest);
    memcpy(sync, digest, sizeof sync);

    lh_buf_append(out, "Obj\x01", 4);
    put_long(out, (int64_t)(nmeta + 2));
    put_bytes(out, "avro.schema", 11);
    put_bytes(out, a->schema_json, a->schema_len);
    put_bytes(out, "avro.codec", 10);
    put_bytes(out, "null", 4);
    for (size_t i = 0; i < nmeta; i++) {
        put_bytes(out, meta[i].key, strlen(meta[i].key));
        put_bytes(out, meta[i].value, strlen(meta[i].value));
    }
    put_long(out, 0);
    lh_buf_append(out, sync, sizeof sync);
    if (a->count > 0) {
        put_long(out, a->count);
        put_long(out, (int64_t)a->block.len);
        lh_buf_append(out, a->block.data, a->block.len);
        lh_buf_append(out, sync, sizeof sync);
    }
    if (!lh_buf_ok(out) || !lh_buf_ok(&a->block))
        return lh_error_set(err, LH_E_TOOBIG, "iceberg avro: a manifest past %u MiB or out of memory",
                            ICE_AVRO_MAX >> 20);
    return LH_OK;
}

void ice_avro_free(struct ice_avro *a)
{
    if (a->have_value)
        avro_value_decref(&a->value);
    if (a->iface)
        avro_value_iface_decref(a->iface);
    if (a->schema)
        avro_schema_decref(a->schema);
    lh_buf_reset(&a->block);
    *a = (struct ice_avro){0};
}
