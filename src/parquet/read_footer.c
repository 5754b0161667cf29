/*
 * read_footer.c — opening a Parquet file: magic, footer, FileMetaData, and
 * the mapping of the schema onto lakehouse column types.
 *
 * Ownership: the reader owns one arena holding the footer bytes and every
 * structure lh_parquet_reader_info() hands out (names, stats, chunk infos);
 * statistics point straight into the footer copy. The arena is capped so a
 * footer cannot make us allocate much more than its own size.
 *
 * Trust: the footer length is checked against the file size before it is
 * read, every list count against the bytes that remain before anything is
 * allocated, and every offset/size of a column chunk against the file size.
 * Structure problems are LH_E_FORMAT; columns lakehouse cannot represent
 * (maps, structs, nested lists, FLOAT16, INTERVAL) are LH_E_UNSUPPORTED
 * naming the column.
 *
 * Threads: a reader belongs to one thread at a time.
 */
#include "read_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PQ_MAX_FOOTER (64u << 20)
#define PQ_MAX_SCHEMA_DEPTH 16

/* One SchemaElement as it came off the wire. */
struct pq_selem {
    const uint8_t *name;
    uint32_t name_len;
    int32_t type; /* -1 when absent */
    int32_t type_length;
    int32_t repetition; /* -1 when absent */
    int32_t num_children; /* -1 when absent */
    int32_t converted;  /* -1 when absent */
    int32_t scale, precision;
    /* LogicalType, 0 when absent */
    int logical;
    int32_t lt_scale, lt_precision;
    bool lt_utc;
    int lt_unit; /* 1 millis, 2 micros, 3 nanos */
    int lt_bits;
    bool lt_signed;
};

/* ColumnMetaData fields the reader checks beyond lh_parquet_chunk_info. */
struct pq_rawchunk {
    int32_t type;
    bool has_meta;
    bool external;
    const uint8_t *min_old, *max_old;
    uint32_t min_old_len, max_old_len;
    bool has_old, has_new;
};

struct parse {
    struct pq_tc tc;
    struct lh_arena *arena;
    struct lh_error *err;
    struct pq_selem *elems;
    uint32_t nelems;
    size_t nleaves;
    bool schema_seen;
    struct lh_parquet_row_group_info *rgs;
    struct pq_rawchunk *raw; /* nrgs * nleaves */
    uint32_t nrgs;
    int64_t num_rows;
    bool has_num_rows;
    struct lh_parquet_kv *kv;
    uint32_t nkv;
    const uint8_t *created_by;
    uint32_t created_by_len;
};

static void *palloc(struct parse *ps, size_t n, size_t size)
{
    if (ps->tc.failed)
        return NULL;
    if (size && n > SIZE_MAX / size) {
        pq_tc_fail(&ps->tc, "allocation overflow");
        return NULL;
    }
    void *p = lh_arena_alloc(ps->arena, n * size != 0 ? n * size : 1);
    if (!p)
        pq_tc_fail(&ps->tc, "footer needs more than the reader's memory cap");
    return p;
}

/* --------------------------------------------------------- LogicalType */

static void parse_time_unit(struct pq_tc *r, int *unit)
{
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        if (id >= 1 && id <= 3 && t == PQ_TC_STRUCT)
            *unit = id;
        pq_tc_skip(r, t);
    }
    pq_tc_struct_end(r);
}

static void parse_logical(struct pq_tc *r, struct pq_selem *e)
{
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        if (t != PQ_TC_STRUCT) {
            pq_tc_skip(r, t);
            continue;
        }
        e->logical = id;
        if (id == PQ_LT_DECIMAL || id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP ||
            id == PQ_LT_INTEGER) {
            pq_tc_struct_begin(r);
            int16_t l2 = 0, id2;
            uint8_t t2;
            while (pq_tc_field(r, &l2, &id2, &t2)) {
                if (id == PQ_LT_DECIMAL && id2 == 1)
                    e->lt_scale = pq_tc_field_i32(r, t2);
                else if (id == PQ_LT_DECIMAL && id2 == 2)
                    e->lt_precision = pq_tc_field_i32(r, t2);
                else if ((id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) && id2 == 1)
                    e->lt_utc = pq_tc_field_bool(r, t2);
                else if ((id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) && id2 == 2 &&
                         t2 == PQ_TC_STRUCT)
                    parse_time_unit(r, &e->lt_unit);
                else if (id == PQ_LT_INTEGER && id2 == 1)
                    e->lt_bits = pq_tc_field_i32(r, t2);
                else if (id == PQ_LT_INTEGER && id2 == 2)
                    e->lt_signed = pq_tc_field_bool(r, t2);
                else
                    pq_tc_skip(r, t2);
            }
            pq_tc_struct_end(r);
        } else {
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
}

static void parse_schema_elem(struct pq_tc *r, struct pq_selem *e)
{
    *e = (struct pq_selem){.type = -1, .repetition = -1, .num_children = -1, .converted = -1};
    bool has_name = false;
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    /* the integer fields, by field id */
    int32_t *const i32[] = {
        [1] = &e->type,      [2] = &e->type_length, [3] = &e->repetition, [5] = &e->num_children,
        [6] = &e->converted, [7] = &e->scale,       [8] = &e->precision};
    while (pq_tc_field(r, &last, &id, &t)) {
        if (id > 0 && (size_t)id < sizeof i32 / sizeof i32[0] && i32[id])
            *i32[id] = pq_tc_field_i32(r, t);
        else if (id == 4)
            has_name |= pq_tc_field_binary(r, t, "SchemaElement.name", &e->name, &e->name_len);
        else if (id == 10 && pq_tc_expect(r, t, PQ_TC_STRUCT, "SchemaElement.logicalType"))
            parse_logical(r, e);
        else
            pq_tc_skip(r, t); /* a no-op once failed */
    }
    pq_tc_struct_end(r);
    if (pq_tc_ok(r) && !has_name)
        pq_tc_fail(r, "schema element without a name");
}

/* --------------------------------------------------------- Statistics */

static void parse_stats(struct pq_tc *r, struct lh_parquet_stats *s, struct pq_rawchunk *raw)
{
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        switch (id) {
        case 1:
            if (pq_tc_field_binary(r, t, "Statistics.max", &raw->max_old, &raw->max_old_len))
                raw->has_old = raw->min_old != NULL;
            break;
        case 2:
            if (pq_tc_field_binary(r, t, "Statistics.min", &raw->min_old, &raw->min_old_len))
                raw->has_old = raw->max_old != NULL;
            break;
        case 3: {
            int64_t v = pq_tc_field_i64(r, t);
            s->has_null_count = v >= 0;
            s->null_count = v >= 0 ? v : 0;
            break;
        }
        case 5:
            pq_tc_field_binary(r, t, "Statistics.max_value", &s->max, &s->max_len);
            break;
        case 6:
            pq_tc_field_binary(r, t, "Statistics.min_value", &s->min, &s->min_len);
            break;
        default:
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
    s->has_min_max = s->min != NULL && s->max != NULL;
    raw->has_new = s->has_min_max;
}

/* --------------------------------------------------------- ColumnChunk */

static void parse_column_meta(struct parse *ps, struct lh_parquet_chunk_info *c,
                              struct pq_rawchunk *raw)
{
    struct pq_tc *r = &ps->tc;
    bool seen[10] = {0};
    int64_t *const i64[] = {[5] = &c->num_values,
                            [6] = &c->total_uncompressed_size,
                            [7] = &c->total_compressed_size,
                            [9] = &c->data_page_offset,
                            [11] = &c->dictionary_page_offset};
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        if (id >= 1 && id <= 9)
            seen[id] = true;
        switch (id) {
        case 1:
            raw->type = pq_tc_field_i32(r, t);
            break;
        case 2: {
            uint8_t et;
            uint32_t n;
            if (!pq_tc_expect(r, t, PQ_TC_LIST, "ColumnMetaData.encodings"))
                break;
            pq_tc_list(r, &et, &n);
            for (uint32_t i = 0; i < n && pq_tc_ok(r); i++) {
                int32_t e = pq_tc_field_i32(r, et);
                if (e >= 0 && e < 32)
                    c->encodings |= 1u << e;
            }
            break;
        }
        case 4: {
            int32_t v = pq_tc_field_i32(r, t);
            if (v < 0 || v > 255)
                pq_tc_fail(r, "compression codec %d invalid", v);
            c->codec = (enum lh_parquet_codec)v;
            break;
        }
        case 5:
        case 6:
        case 7:
        case 9:
        case 11:
            *i64[id] = pq_tc_field_i64(r, t);
            break;
        case 12:
            if (pq_tc_expect(r, t, PQ_TC_STRUCT, "ColumnMetaData.statistics"))
                parse_stats(r, &c->stats, raw);
            break;
        default:
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
    if (!pq_tc_ok(r))
        return;
    static const int required[] = {1, 2, 4, 5, 6, 7, 9};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!seen[required[i]]) {
            pq_tc_fail(r, "ColumnMetaData lacks required field %d", required[i]);
            return;
        }
    }
    if (c->num_values < 0 || c->total_compressed_size < 0 || c->total_uncompressed_size < 0 ||
        c->data_page_offset < 0)
        pq_tc_fail(r, "ColumnMetaData has a negative count, size or offset");
    raw->has_meta = true;
}

static void parse_column_chunk(struct parse *ps, struct lh_parquet_chunk_info *c,
                               struct pq_rawchunk *raw)
{
    struct pq_tc *r = &ps->tc;
    c->dictionary_page_offset = -1;
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        if (id == 1 && t == PQ_TC_BINARY) {
            raw->external = true;
            pq_tc_skip(r, t);
        } else if (id == 3 && pq_tc_expect(r, t, PQ_TC_STRUCT, "ColumnChunk.meta_data")) {
            parse_column_meta(ps, c, raw);
        } else {
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
}

static void parse_row_group(struct parse *ps, struct lh_parquet_row_group_info *rg,
                            struct pq_rawchunk *raw)
{
    struct pq_tc *r = &ps->tc;
    bool has_cols = false, has_rows = false;
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        uint32_t n;
        if (id == 1) {
            if (!pq_tc_struct_list(r, t, "RowGroup.columns", "RowGroup.columns element", &n))
                break;
            if (has_cols || n != ps->nleaves) {
                pq_tc_fail(r, "row group has %u column chunks, schema has %zu columns", n,
                           ps->nleaves);
                break;
            }
            struct lh_parquet_chunk_info *chunks = palloc(ps, n, sizeof *chunks);
            for (uint32_t i = 0; i < n && pq_tc_ok(r); i++)
                parse_column_chunk(ps, &chunks[i], &raw[i]);
            rg->chunks = chunks;
            has_cols = true;
        } else if (id == 2) {
            rg->total_byte_size = pq_tc_field_i64(r, t);
        } else if (id == 3) {
            rg->num_rows = pq_tc_field_i64(r, t);
            has_rows = true;
        } else {
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
    if (!pq_tc_ok(r))
        return;
    if (!has_cols || !has_rows)
        pq_tc_fail(r, "row group lacks columns or num_rows");
    else if (rg->num_rows < 0)
        pq_tc_fail(r, "row group has %lld rows", (long long)rg->num_rows);
    for (size_t i = 0; i < ps->nleaves && pq_tc_ok(r); i++)
        if (!raw[i].has_meta)
            pq_tc_fail(r, "column chunk %zu has no metadata", i);
}

static void parse_kv(struct parse *ps, struct lh_parquet_kv *kv)
{
    struct pq_tc *r = &ps->tc;
    const uint8_t *k = NULL, *v = NULL;
    uint32_t kl = 0, vl = 0;
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        if (id == 1)
            pq_tc_field_binary(r, t, "KeyValue.key", &k, &kl);
        else if (id == 2)
            pq_tc_field_binary(r, t, "KeyValue.value", &v, &vl);
        else
            pq_tc_skip(r, t);
    }
    pq_tc_struct_end(r);
    if (!pq_tc_ok(r))
        return;
    if (!k) {
        pq_tc_fail(r, "key/value metadata without a key");
        return;
    }
    char *ks = lh_arena_strndup(ps->arena, (const char *)k, kl);
    char *vs = lh_arena_strndup(ps->arena, v ? (const char *)v : "", vl);
    if (!ks || !vs)
        pq_tc_fail(r, "footer needs more than the reader's memory cap");
    kv->key = ks;
    kv->value = vs;
}

static void parse_file_meta(struct parse *ps)
{
    struct pq_tc *r = &ps->tc;
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    uint32_t n;
    while (pq_tc_field(r, &last, &id, &t)) {
        switch (id) {
        case 2:
            if (!pq_tc_struct_list(r, t, "FileMetaData.schema", "schema element", &n))
                break;
            if (ps->schema_seen || n == 0) {
                pq_tc_fail(r, "schema is empty or given twice");
                break;
            }
            ps->elems = palloc(ps, n, sizeof *ps->elems);
            for (uint32_t i = 0; i < n && pq_tc_ok(r); i++)
                parse_schema_elem(r, &ps->elems[i]);
            ps->nelems = n;
            ps->schema_seen = true;
            if (pq_tc_ok(r)) {
                int32_t nc = ps->elems[0].num_children;
                if (nc < 0 || (uint32_t)nc > n - 1)
                    pq_tc_fail(r, "schema root has %d children for %u elements", nc, n);
                else
                    ps->nleaves = (size_t)nc; /* checked against the tree later */
            }
            break;
        case 3:
            ps->num_rows = pq_tc_field_i64(r, t);
            ps->has_num_rows = true;
            break;
        case 4:
            if (!pq_tc_struct_list(r, t, "FileMetaData.row_groups", "row group", &n))
                break;
            if (!ps->schema_seen) {
                pq_tc_fail(r, "row groups before the schema");
                break;
            }
            if (n && ps->nleaves > SIZE_MAX / n) {
                pq_tc_fail(r, "too many column chunks");
                break;
            }
            ps->rgs = palloc(ps, n, sizeof *ps->rgs);
            ps->raw = palloc(ps, (size_t)n * ps->nleaves, sizeof *ps->raw);
            for (uint32_t i = 0; i < n && pq_tc_ok(r); i++)
                parse_row_group(ps, &ps->rgs[i], ps->raw + (size_t)i * ps->nleaves);
            ps->nrgs = n;
            break;
        case 5:
            if (!pq_tc_struct_list(r, t, "FileMetaData.key_value_metadata", "key/value", &n))
                break;
            ps->kv = palloc(ps, n, sizeof *ps->kv);
            for (uint32_t i = 0; i < n && pq_tc_ok(r); i++)
                parse_kv(ps, &ps->kv[i]);
            ps->nkv = n;
            break;
        case 6:
            pq_tc_field_binary(r, t, "FileMetaData.created_by", &ps->created_by,
                               &ps->created_by_len);
            break;
        default:
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
    /* after a failure these are no-ops: the first message stays */
    if (!ps->schema_seen || !ps->has_num_rows)
        pq_tc_fail(r, "FileMetaData lacks the schema or num_rows");
    else if (ps->num_rows < 0)
        pq_tc_fail(r, "file has %lld rows", (long long)ps->num_rows);
}

/* --------------------------------------------------------- schema mapping */

static void name_str(const struct pq_selem *e, char *out, size_t cap)
{
    size_t n = e->name_len < cap - 1 ? e->name_len : cap - 1;
    memcpy(out, e->name, n);
    out[n] = '\0';
}

static const char *unit_name(int u)
{
    return u == 1 ? "MILLIS" : u == 2 ? "MICROS" : "NANOS";
}

/* Maps one leaf element onto an lh type. */
static enum lh_status map_leaf(const struct pq_selem *e, const char *col, struct lh_field *f,
                               struct lh_parquet_column_info *ci, struct pq_leaf *lf,
                               struct lh_error *err)
{
    if (e->type < 0 || e->type > LH_PQ_FIXED_LEN_BYTE_ARRAY)
        return lh_error_set(err, LH_E_FORMAT, "column %s: physical type %d invalid", col,
                            e->type);
    enum lh_parquet_physical ph = (enum lh_parquet_physical)e->type;
    ci->physical = ph;
    ci->type_length = e->type_length;
    ci->converted_type = e->converted;
    lf->physical = ph;
    lf->type_length = e->type_length;
    if (ph == LH_PQ_FIXED_LEN_BYTE_ARRAY && (e->type_length <= 0 || e->type_length > (1 << 20)))
        return lh_error_set(err, LH_E_FORMAT, "column %s: FIXED_LEN_BYTE_ARRAY length %d", col,
                            e->type_length);

    /* Normalise the annotation: LogicalType when present, else the
     * ConvertedType equivalent. */
    int lt = e->logical;
    int32_t scale = e->lt_scale, prec = e->lt_precision;
    bool utc = e->lt_utc;
    int unit = e->lt_unit, bits = e->lt_bits;
    bool is_signed = e->lt_signed;
    if (lt == 0 && e->converted >= 0) {
        utc = true;
        switch (e->converted) {
        case PQ_CT_UTF8: lt = PQ_LT_STRING; break;
        case PQ_CT_ENUM: lt = PQ_LT_ENUM; break;
        case PQ_CT_JSON: lt = PQ_LT_JSON; break;
        case PQ_CT_BSON: lt = PQ_LT_BSON; break;
        case PQ_CT_DATE: lt = PQ_LT_DATE; break;
        case PQ_CT_DECIMAL:
            lt = PQ_LT_DECIMAL;
            scale = e->scale;
            prec = e->precision;
            break;
        case PQ_CT_TIME_MILLIS: lt = PQ_LT_TIME; unit = 1; break;
        case PQ_CT_TIME_MICROS: lt = PQ_LT_TIME; unit = 2; break;
        case PQ_CT_TIMESTAMP_MILLIS: lt = PQ_LT_TIMESTAMP; unit = 1; break;
        case PQ_CT_TIMESTAMP_MICROS: lt = PQ_LT_TIMESTAMP; unit = 2; break;
        case PQ_CT_UINT_8: case PQ_CT_UINT_16: case PQ_CT_UINT_32: case PQ_CT_UINT_64:
            lt = PQ_LT_INTEGER;
            is_signed = false;
            bits = 8 << (e->converted - PQ_CT_UINT_8);
            break;
        case PQ_CT_INT_8: case PQ_CT_INT_16: case PQ_CT_INT_32: case PQ_CT_INT_64:
            lt = PQ_LT_INTEGER;
            is_signed = true;
            bits = 8 << (e->converted - PQ_CT_INT_8);
            break;
        case PQ_CT_INTERVAL:
            return lh_error_set(err, LH_E_UNSUPPORTED, "column %s: INTERVAL is not supported",
                                col);
        case PQ_CT_MAP: case PQ_CT_MAP_KEY_VALUE: case PQ_CT_LIST:
            return lh_error_set(err, LH_E_FORMAT, "column %s: group annotation on a leaf", col);
        default:
            break; /* unknown converted type: fall back to the physical type */
        }
    }

    char *lg = ci->logical;
    size_t lgc = sizeof ci->logical;
    bool phys_ok = true;
    f->ts_utc = false;
    switch (lt) {
    case PQ_LT_STRING: case PQ_LT_ENUM: case PQ_LT_JSON: case PQ_LT_BSON:
        f->type = lt == PQ_LT_STRING ? LH_T_STRING : lt == PQ_LT_ENUM ? LH_T_ENUM
                  : lt == PQ_LT_JSON ? LH_T_JSON : LH_T_BINARY;
        snprintf(lg, lgc, "%s", lt == PQ_LT_STRING ? "STRING" : lt == PQ_LT_ENUM ? "ENUM"
                                : lt == PQ_LT_JSON ? "JSON" : "BSON");
        phys_ok = ph == LH_PQ_BYTE_ARRAY;
        break;
    case PQ_LT_UUID:
        f->type = LH_T_UUID;
        f->fixed_len = 16;
        snprintf(lg, lgc, "UUID");
        phys_ok = ph == LH_PQ_FIXED_LEN_BYTE_ARRAY && e->type_length == 16;
        break;
    case PQ_LT_DATE:
        f->type = LH_T_DATE;
        snprintf(lg, lgc, "DATE");
        phys_ok = ph == LH_PQ_INT32;
        break;
    case PQ_LT_DECIMAL:
        if (prec < 1 || prec > 38 || scale < 0 || scale > prec)
            return lh_error_set(err, prec > 38 ? LH_E_UNSUPPORTED : LH_E_FORMAT,
                                "column %s: DECIMAL(%d,%d) out of range", col, prec, scale);
        f->type = LH_T_DECIMAL;
        f->precision = (uint8_t)prec;
        f->scale = (uint8_t)scale;
        snprintf(lg, lgc, "DECIMAL(%d,%d)", prec, scale);
        phys_ok = (ph == LH_PQ_INT32 && prec <= 9) || (ph == LH_PQ_INT64 && prec <= 18) ||
                  (ph == LH_PQ_FIXED_LEN_BYTE_ARRAY && e->type_length <= 16) ||
                  ph == LH_PQ_BYTE_ARRAY;
        break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP: {
        bool time = lt == PQ_LT_TIME;
        const char *what = time ? "TIME" : "TIMESTAMP";
        if (unit < 1 || unit > 3)
            return lh_error_set(err, LH_E_FORMAT, "column %s: %s without a unit", col, what);
        f->type = time ? LH_T_TIME : LH_T_TIMESTAMP;
        f->ts_utc = utc;
        lf->time_unit = (int8_t)unit;
        snprintf(lg, lgc, "%s(%s,%s)", what, unit_name(unit), utc ? "true" : "false");
        /* TIME(MILLIS) is the one kept in an INT32 */
        phys_ok = time && unit == 1 ? ph == LH_PQ_INT32 : ph == LH_PQ_INT64;
        break;
    }
    case PQ_LT_INTEGER:
        if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
            return lh_error_set(err, LH_E_FORMAT, "column %s: INTEGER bit width %d", col, bits);
        snprintf(lg, lgc, "INT(%d,%s)", bits, is_signed ? "true" : "false");
        if (bits == 64) {
            f->type = is_signed ? LH_T_INT64 : LH_T_UINT64;
            phys_ok = ph == LH_PQ_INT64;
        } else {
            static const enum lh_type s[] = {LH_T_INT8, LH_T_INT16, LH_T_INT32};
            static const enum lh_type u[] = {LH_T_UINT8, LH_T_UINT16, LH_T_UINT32};
            int k = bits == 8 ? 0 : bits == 16 ? 1 : 2;
            f->type = is_signed ? s[k] : u[k];
            phys_ok = ph == LH_PQ_INT32;
        }
        break;
    case PQ_LT_FLOAT16:
        return lh_error_set(err, LH_E_UNSUPPORTED, "column %s: FLOAT16 is not supported", col);
    case PQ_LT_MAP: case PQ_LT_LIST:
        return lh_error_set(err, LH_E_FORMAT, "column %s: group annotation on a leaf", col);
    default:
        /* No annotation (or UNKNOWN / one from a newer spec): the physical type. */
        if (lt == PQ_LT_UNKNOWN)
            snprintf(lg, lgc, "UNKNOWN");
        switch (ph) {
        case LH_PQ_BOOLEAN: f->type = LH_T_BOOL; break;
        case LH_PQ_INT32: f->type = LH_T_INT32; break;
        case LH_PQ_INT64: f->type = LH_T_INT64; break;
        case LH_PQ_INT96:
            f->type = LH_T_TIMESTAMP;
            lf->int96 = true;
            break;
        case LH_PQ_FLOAT: f->type = LH_T_FLOAT; break;
        case LH_PQ_DOUBLE: f->type = LH_T_DOUBLE; break;
        case LH_PQ_BYTE_ARRAY: f->type = LH_T_BINARY; break;
        case LH_PQ_FIXED_LEN_BYTE_ARRAY:
            f->type = LH_T_FIXED;
            f->fixed_len = (uint32_t)e->type_length;
            break;
        }
    }
    if (!phys_ok)
        return lh_error_set(err, LH_E_FORMAT, "column %s: %s annotation on physical type %d",
                            col, lg, (int)ph);
    return LH_OK;
}

static void path_add(char *path, size_t cap, const struct pq_selem *e)
{
    size_t len = strlen(path);
    if (len && len + 1 < cap)
        path[len++] = '.';
    size_t n = e->name_len < cap - 1 - len ? e->name_len : cap - 1 - len;
    memcpy(path + len, e->name, n);
    path[len + n] = '\0';
}

static bool is_group(const struct pq_selem *e)
{
    return e->num_children > 0 || e->type < 0;
}

/* Maps the top-level element at *idx (and its subtree) onto one field. */
static enum lh_status map_column(const struct pq_selem *el, uint32_t nel, uint32_t *idx,
                                 struct lh_arena *arena, struct lh_field *f,
                                 struct lh_parquet_column_info *ci, struct pq_leaf *lf,
                                 struct lh_error *err)
{
    uint32_t i = *idx;
    const struct pq_selem *t = &el[i];
    char col[128];
    name_str(t, col, sizeof col);
    char *name = lh_arena_strndup(arena, (const char *)t->name, t->name_len);
    if (!name)
        return lh_error_set(err, LH_E_TOOBIG, "footer needs more than the reader's memory cap");
    f->name = name;
    ci->path[0] = '\0';
    path_add(ci->path, sizeof ci->path, t);
    if (t->repetition < 0 || t->repetition > PQ_REPEATED)
        return lh_error_set(err, LH_E_FORMAT, "column %s: repetition %d invalid", col,
                            t->repetition);

    if (!is_group(t)) {
        *idx = i + 1;
        if (t->num_children == 0 && t->type < 0)
            return lh_error_set(err, LH_E_FORMAT, "column %s: no type", col);
        if (t->repetition == PQ_REPEATED) {
            /* Legacy: a repeated primitive is a non-null list of required values. */
            f->is_list = true;
            lf->max_rep = 1;
            lf->max_def = 1;
            lf->def_list = 0;
            lf->def_elem = 1;
        } else {
            f->nullable = t->repetition == PQ_OPTIONAL;
            lf->max_def = f->nullable ? 1 : 0;
        }
        ci->max_def_level = lf->max_def;
        ci->max_rep_level = lf->max_rep;
        return map_leaf(t, col, f, ci, lf, err);
    }

    /* A group: only LIST of scalars is representable. */
    bool list = t->logical == PQ_LT_LIST || (t->logical == 0 && t->converted == PQ_CT_LIST);
    bool map = t->logical == PQ_LT_MAP || (t->logical == 0 && (t->converted == PQ_CT_MAP ||
                                                               t->converted == PQ_CT_MAP_KEY_VALUE));
    if (!list)
        return lh_error_set(err, LH_E_UNSUPPORTED, "column %s: %s columns are not supported", col,
                            map ? "map" : "struct");
    if (t->num_children != 1 || i + 1 >= nel)
        return lh_error_set(err, LH_E_FORMAT, "column %s: LIST group must have one child", col);
    if (t->repetition == PQ_REPEATED)
        return lh_error_set(err, LH_E_UNSUPPORTED, "column %s: repeated LIST group", col);
    const struct pq_selem *rep = &el[i + 1];
    if (rep->repetition != PQ_REPEATED)
        return lh_error_set(err, LH_E_FORMAT, "column %s: LIST child is not repeated", col);
    path_add(ci->path, sizeof ci->path, rep);
    const struct pq_selem *leaf;
    bool elem_optional;
    if (!is_group(rep)) {
        /* 2-level: the repeated primitive is the element. */
        leaf = rep;
        elem_optional = false;
        *idx = i + 2;
    } else {
        char tuple[160];
        snprintf(tuple, sizeof tuple, "%s_tuple", col);
        bool legacy = rep->num_children != 1 ||
                      (rep->name_len == 5 && memcmp(rep->name, "array", 5) == 0) ||
                      (rep->name_len == strlen(tuple) && memcmp(rep->name, tuple, rep->name_len) == 0);
        if (legacy || i + 2 >= nel)
            return lh_error_set(err, LH_E_UNSUPPORTED,
                                "column %s: lists of structs are not supported", col);
        leaf = &el[i + 2];
        if (is_group(leaf))
            return lh_error_set(err, LH_E_UNSUPPORTED,
                                "column %s: nested lists, maps or structs are not supported", col);
        if (leaf->repetition == PQ_REPEATED)
            return lh_error_set(err, LH_E_UNSUPPORTED, "column %s: nested lists are not supported",
                                col);
        if (leaf->repetition < 0 || leaf->repetition > PQ_REPEATED)
            return lh_error_set(err, LH_E_FORMAT, "column %s: element repetition invalid", col);
        elem_optional = leaf->repetition == PQ_OPTIONAL;
        path_add(ci->path, sizeof ci->path, leaf);
        *idx = i + 3;
    }
    f->is_list = true;
    f->nullable = t->repetition == PQ_OPTIONAL;
    f->element_nullable = elem_optional;
    lf->def_list = f->nullable ? 1 : 0;
    lf->def_elem = (int16_t)(lf->def_list + 1);
    lf->max_def = (int16_t)(lf->def_elem + (elem_optional ? 1 : 0));
    lf->max_rep = 1;
    ci->max_def_level = lf->max_def;
    ci->max_rep_level = lf->max_rep;
    return map_leaf(leaf, col, f, ci, lf, err);
}

/* Skips a subtree that failed to map, so the error names the right thing.
 * Not needed: the first unsupported column ends the open. */

static enum lh_status build_schema(struct lh_parquet_reader *rd, struct parse *ps,
                                   struct lh_error *err)
{
    size_t n = ps->nleaves;
    struct lh_field *fields = lh_arena_alloc(&rd->arena, (n ? n : 1) * sizeof *fields);
    struct lh_parquet_column_info *cis = lh_arena_alloc(&rd->arena, (n ? n : 1) * sizeof *cis);
    struct pq_leaf *leaves = lh_arena_alloc(&rd->arena, (n ? n : 1) * sizeof *leaves);
    if (!fields || !cis || !leaves)
        return lh_error_set(err, LH_E_TOOBIG, "footer needs more than the reader's memory cap");
    uint32_t idx = 1;
    for (size_t c = 0; c < n; c++) {
        if (idx >= ps->nelems)
            return lh_error_set(err, LH_E_FORMAT, "schema: root claims %zu columns, found %zu", n,
                                c);
        enum lh_status st =
            map_column(ps->elems, ps->nelems, &idx, &rd->arena, &fields[c], &cis[c], &leaves[c], err);
        if (st != LH_OK)
            return st;
    }
    if (idx != ps->nelems)
        return lh_error_set(err, LH_E_FORMAT,
                            "schema: %u elements, the tree of %zu columns uses %u", ps->nelems, n,
                            idx);
    rd->info.schema.nfields = n;
    rd->info.schema.fields = fields;
    rd->info.columns = cis;
    rd->leaves = leaves;
    return LH_OK;
}

size_t pq_plain_width(const struct pq_leaf *lf)
{
    switch (lf->physical) {
    case LH_PQ_BOOLEAN: return 1;
    case LH_PQ_INT32: case LH_PQ_FLOAT: return 4;
    case LH_PQ_INT64: case LH_PQ_DOUBLE: return 8;
    case LH_PQ_INT96: return 12;
    case LH_PQ_FIXED_LEN_BYTE_ARRAY: return (size_t)lf->type_length;
    case LH_PQ_BYTE_ARRAY: return 0;
    }
    return 0;
}

static enum lh_status check_row_groups(struct lh_parquet_reader *rd, struct parse *ps,
                                       uint64_t data_end, struct lh_error *err)
{
    int64_t total = 0;
    for (uint32_t g = 0; g < ps->nrgs; g++) {
        struct lh_parquet_row_group_info *rg = &ps->rgs[g];
        if (rg->num_rows > INT64_MAX - total)
            return lh_error_set(err, LH_E_FORMAT, "row counts overflow");
        total += rg->num_rows;
        for (size_t c = 0; c < ps->nleaves; c++) {
            struct lh_parquet_chunk_info *ch = (struct lh_parquet_chunk_info *)&rg->chunks[c];
            struct pq_rawchunk *raw = &ps->raw[(size_t)g * ps->nleaves + c];
            const struct pq_leaf *lf = &rd->leaves[c];
            const char *col = rd->info.schema.fields[c].name;
            if (raw->external)
                return lh_error_set(err, LH_E_UNSUPPORTED,
                                    "column %s: chunk stored in another file", col);
            if (raw->type != (int32_t)lf->physical)
                return lh_error_set(err, LH_E_FORMAT,
                                    "column %s: chunk type %d, schema type %d", col, raw->type,
                                    (int)lf->physical);
            uint64_t start = (uint64_t)ch->data_page_offset;
            if (ch->dictionary_page_offset > 0 && ch->dictionary_page_offset < ch->data_page_offset)
                start = (uint64_t)ch->dictionary_page_offset;
            if (start < 4 || start > data_end ||
                (uint64_t)ch->total_compressed_size > data_end - start)
                return lh_error_set(err, LH_E_FORMAT,
                                    "column %s: chunk at %llu+%lld lies outside the data", col,
                                    (unsigned long long)start,
                                    (long long)ch->total_compressed_size);
            if (!lf->max_rep && ch->num_values != rg->num_rows)
                return lh_error_set(err, LH_E_FORMAT,
                                    "column %s: chunk has %lld values for %lld rows", col,
                                    (long long)ch->num_values, (long long)rg->num_rows);
            if (lf->max_rep && ch->num_values < rg->num_rows)
                return lh_error_set(err, LH_E_FORMAT,
                                    "column %s: list chunk has %lld levels for %lld rows", col,
                                    (long long)ch->num_values, (long long)rg->num_rows);
            /* Statistics: min_value/max_value; the deprecated min/max only
             * where their signed ordering is right for the type. */
            enum lh_type ty = rd->info.schema.fields[c].type;
            bool old_safe = (lf->physical == LH_PQ_BOOLEAN || lf->physical == LH_PQ_INT32 ||
                             lf->physical == LH_PQ_INT64 || lf->physical == LH_PQ_FLOAT ||
                             lf->physical == LH_PQ_DOUBLE) &&
                            ty != LH_T_UINT8 && ty != LH_T_UINT16 && ty != LH_T_UINT32 &&
                            ty != LH_T_UINT64;
            if (!raw->has_new && raw->has_old && old_safe) {
                ch->stats.min = raw->min_old;
                ch->stats.min_len = raw->min_old_len;
                ch->stats.max = raw->max_old;
                ch->stats.max_len = raw->max_old_len;
                ch->stats.has_min_max = true;
            }
            size_t w = pq_plain_width(lf);
            if (ch->stats.has_min_max && w &&
                (ch->stats.min_len != w || ch->stats.max_len != w)) {
                ch->stats.has_min_max = false; /* unusable, not fatal */
                ch->stats.min = ch->stats.max = NULL;
            }
        }
    }
    if (total != ps->num_rows)
        return lh_error_set(err, LH_E_FORMAT, "row groups hold %lld rows, footer says %lld",
                            (long long)total, (long long)ps->num_rows);
    return LH_OK;
}

/* --------------------------------------------------------- open / close */

enum lh_status lh_parquet_reader_open(const struct lh_parquet_input *in,
                                      struct lh_parquet_reader **out, struct lh_error *err)
{
    *out = NULL;
    enum lh_status st;
    struct lh_parquet_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    rd->in = *in;
    rd->fd = -1;
    uint8_t tail[8], head[4];
    if (in->size < 12) {
        st = lh_error_set(err, LH_E_FORMAT, "file of %llu bytes is too short",
                          (unsigned long long)in->size);
        goto fail;
    }
    if ((st = in->read_at(in->ctx, 0, head, 4, err)) != LH_OK ||
        (st = in->read_at(in->ctx, in->size - 8, tail, 8, err)) != LH_OK)
        goto fail;
    if (memcmp(head, LH_PQ_MAGIC, 4) != 0) {
        st = lh_error_set(err, LH_E_FORMAT, "no PAR1 magic at the start");
        goto fail;
    }
    if (memcmp(tail + 4, "PARE", 4) == 0) {
        st = lh_error_set(err, LH_E_UNSUPPORTED, "encrypted Parquet footers are not supported");
        goto fail;
    }
    if (memcmp(tail + 4, LH_PQ_MAGIC, 4) != 0) {
        st = lh_error_set(err, LH_E_FORMAT,
                          "no PAR1 magic at the end; truncated?");
        goto fail;
    }
    uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                    (uint32_t)tail[3] << 24;
    if (flen == 0 || (uint64_t)flen > in->size - 12 || flen > PQ_MAX_FOOTER) {
        st = lh_error_set(err, LH_E_FORMAT,
                          "footer length %u does not fit a file of %llu bytes", flen,
                          (unsigned long long)in->size);
        goto fail;
    }
    /* Everything the footer implies is bounded by a multiple of its size. */
    lh_arena_init(&rd->arena, (size_t)64 * 1024 * 1024 + (size_t)flen * 256);
    uint8_t *fb = lh_arena_alloc(&rd->arena, flen);
    if (!fb) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory for a %u-byte footer", flen);
        goto fail;
    }
    uint64_t foff = in->size - 8 - flen;
    if ((st = in->read_at(in->ctx, foff, fb, flen, err)) != LH_OK)
        goto fail;

    struct parse ps = {.arena = &rd->arena, .err = err};
    pq_tc_init(&ps.tc, fb, flen, err);
    parse_file_meta(&ps);
    if (!pq_tc_ok(&ps.tc)) {
        st = LH_E_FORMAT;
        lh_error_prefix(err, "footer");
        goto fail;
    }
    if ((st = build_schema(rd, &ps, err)) != LH_OK)
        goto fail;
    if ((st = check_row_groups(rd, &ps, foff, err)) != LH_OK)
        goto fail;
    rd->info.num_rows = ps.num_rows;
    rd->info.num_row_groups = (int32_t)ps.nrgs;
    rd->info.row_groups = ps.rgs;
    rd->info.kv = ps.kv;
    rd->info.nkv = ps.nkv;
    rd->info.created_by =
        ps.created_by ? lh_arena_strndup(&rd->arena, (const char *)ps.created_by,
                                         ps.created_by_len)
                      : "";
    if (!rd->info.created_by) {
        st = lh_error_set(err, LH_E_TOOBIG, "footer needs more than the reader's memory cap");
        goto fail;
    }
    if (ps.nrgs > INT32_MAX) {
        st = lh_error_set(err, LH_E_FORMAT, "too many row groups");
        goto fail;
    }
    *out = rd;
    return LH_OK;
fail:
    lh_arena_reset(&rd->arena);
    free(rd);
    return st;
}

void lh_parquet_reader_close(struct lh_parquet_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    lh_arena_reset(&r->arena);
    free(r);
}

const struct lh_parquet_file_info *lh_parquet_reader_info(const struct lh_parquet_reader *r)
{
    return &r->info;
}

static enum lh_status mem_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                                  struct lh_error *err)
{
    struct lh_parquet_reader *r = ctx;
    if (off > r->in.size || n > r->in.size - off)
        return lh_error_set(err, LH_E_FORMAT, "read of %zu bytes at %llu past the end", n,
                            (unsigned long long)off);
    memcpy(buf, r->mem + off, n);
    return LH_OK;
}

/* The input's ctx for mem/file readers is the reader itself, which does not
 * exist until open returns; a small trampoline holds it meanwhile. */
struct own_input {
    const uint8_t *mem;
    int fd;
    uint64_t size;
};

static enum lh_status own_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                                  struct lh_error *err)
{
    const struct own_input *o = ctx;
    if (off > o->size || n > o->size - off)
        return lh_error_set(err, LH_E_FORMAT, "read of %zu bytes at %llu past the end", n,
                            (unsigned long long)off);
    if (o->mem) {
        memcpy(buf, o->mem + off, n);
        return LH_OK;
    }
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = pread(o->fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return lh_error_errno(err, errno, "pread");
        }
        if (k == 0)
            return lh_error_set(err, LH_E_FORMAT, "file shrank while reading");
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return LH_OK;
}

static enum lh_status file_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                                   struct lh_error *err)
{
    struct lh_parquet_reader *r = ctx;
    struct own_input o = {.fd = r->fd, .size = r->in.size};
    return own_read_at(&o, off, buf, n, err);
}

enum lh_status lh_parquet_reader_open_mem(const void *p, size_t n, struct lh_parquet_reader **out,
                                          struct lh_error *err)
{
    struct own_input o = {.mem = p, .fd = -1, .size = n};
    struct lh_parquet_input in = {.ctx = &o, .size = n, .read_at = own_read_at};
    enum lh_status st = lh_parquet_reader_open(&in, out, err);
    if (st != LH_OK)
        return st;
    (*out)->mem = p;
    (*out)->in.ctx = *out;
    (*out)->in.read_at = mem_read_at;
    return LH_OK;
}

enum lh_status lh_parquet_reader_open_file(const char *path, struct lh_parquet_reader **out,
                                           struct lh_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lh_error_errno(err, errno, "%s", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        enum lh_status st = lh_error_errno(err, errno, "%s", path);
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return lh_error_set(err, LH_E_INVAL, "%s: not a regular file", path);
    }
    struct own_input o = {.fd = fd, .size = (uint64_t)sb.st_size};
    struct lh_parquet_input in = {.ctx = &o, .size = (uint64_t)sb.st_size, .read_at = own_read_at};
    enum lh_status st = lh_parquet_reader_open(&in, out, err);
    if (st != LH_OK) {
        close(fd);
        return st;
    }
    (*out)->fd = fd;
    (*out)->in.ctx = *out;
    (*out)->in.read_at = file_read_at;
    return LH_OK;
}
