/*
 * iceberg_int.h — private to src/iceberg.
 *
 * avro.c: an Avro object container file writer. libavro (Avro's C library)
 * parses the record schema and encodes each record; the container framing
 * (magic, header map, sync marker, one data block) is written here because
 * libavro's own file writer can neither keep the Iceberg `field-id`
 * attributes in the header's schema nor add the key/value metadata Iceberg
 * requires (schema, partition-spec, format-version, content…). The header
 * carries the schema text exactly as given, so field ids survive.
 */
#ifndef LH_ICEBERG_INT_H
#define LH_ICEBERG_INT_H

#include <avro.h>

#include "iceberg.h"

/* Cap on one manifest or manifest list, written or read. */
#define ICE_AVRO_MAX (256u << 20)

struct ice_avro {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value; /* the record being filled */
    bool have_value;
    struct lh_buf block; /* encoded records */
    int64_t count;
    const char *schema_json;
    size_t schema_len;
};

/* Parses schema_json (kept borrowed until finish). */
enum lh_status ice_avro_init(struct ice_avro *a, const char *schema_json, struct lh_error *err);
/* The record to fill for the next append: reset, every union set to null. */
avro_value_t *ice_avro_record(struct ice_avro *a);
/* Encodes the record into the block. */
enum lh_status ice_avro_append(struct ice_avro *a, struct lh_error *err);
/* Writes the whole container file to out: header with avro.schema,
 * avro.codec "null" and meta, sync marker (derived from seed), the block. */
enum lh_status ice_avro_finish(struct ice_avro *a, const struct lh_parquet_kv *meta, size_t nmeta,
                               const char *seed, struct lh_buf *out, struct lh_error *err);
void ice_avro_free(struct ice_avro *a);

/* Field helpers: get a named field of a record (asserts the schema has it). */
avro_value_t ice_avro_field(avro_value_t *rec, const char *name);
/* Sets a named long, int or string field of a record. */
void ice_avro_set_long(avro_value_t *rec, const char *name, int64_t v);
void ice_avro_set_int(avro_value_t *rec, const char *name, int32_t v);
void ice_avro_set_string(avro_value_t *rec, const char *name, const char *v);
/* Sets a ["null", T] union to its non-null branch and returns that branch. */
avro_value_t ice_avro_some(avro_value_t *u);

#endif
