/*
 * batch.h — column batches: the currency between source, parquet and sql.
 *
 * A batch is a set of equally long column arrays laid out like Arrow's
 * columnar format: one typed value array per column, an optional validity
 * bitmap, and for variable-length values an offsets array into one byte
 * heap. Producers (a database source, the Parquet reader) fill them; the
 * Parquet writer encodes them immediately and keeps no pointer into them,
 * so a producer may reuse its buffers for the next batch.
 *
 * Value layout by type (the C type stored per slot in `values`):
 *
 *   LH_T_BOOL                         uint8_t, 0 or 1
 *   LH_T_INT8/16/32                   int32_t
 *   LH_T_UINT8/16/32                  uint32_t
 *   LH_T_INT64 / LH_T_UINT64          int64_t / uint64_t
 *   LH_T_FLOAT / LH_T_DOUBLE          float / double
 *   LH_T_DATE                         int32_t, days since 1970-01-01
 *   LH_T_TIMESTAMP                    int64_t, microseconds since the epoch
 *                                     (UTC when the field's ts_utc is set,
 *                                     else local wall time as written)
 *   LH_T_TIME                         int64_t, microseconds since midnight
 *   LH_T_DECIMAL precision <= 9       int32_t unscaled
 *   LH_T_DECIMAL precision <= 18      int64_t unscaled
 *   LH_T_DECIMAL precision <= 38      lh_i128 unscaled (native two's complement)
 *   LH_T_UUID                         16 bytes, in the order they are printed
 *   LH_T_FIXED                        field.fixed_len bytes
 *   LH_T_STRING/JSON/ENUM/BINARY      offsets[i]..offsets[i+1] into data
 *                                     (STRING, JSON and ENUM hold UTF-8)
 *
 * A slot whose validity bit is clear is NULL; whatever its value slot holds
 * is ignored (offsets still have to be monotonic). validity == NULL means no
 * NULLs. Bit i is (validity[i >> 3] >> (i & 7)) & 1, as in Arrow.
 *
 * A list field (field.is_list) holds, per row, a list of elements of
 * field.type: list_offsets[i]..list_offsets[i+1] index into `child`, an
 * array of the element type with its own validity (element NULLs).
 */
#ifndef LH_BATCH_H
#define LH_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef __int128 lh_i128;

/* Each type: its enum name, its name in text, and the bytes of a value slot
 * (the table above; 0 for variable-length types and for FIXED and DECIMAL,
 * whose width the field gives). */
#define LH_TYPE_MAP(X)                                                                             \
    X(LH_T_BOOL, "bool", 1)                                                                        \
    X(LH_T_INT8, "int8", 4)                                                                        \
    X(LH_T_INT16, "int16", 4)                                                                      \
    X(LH_T_INT32, "int32", 4)                                                                      \
    X(LH_T_INT64, "int64", 8)                                                                      \
    X(LH_T_UINT8, "uint8", 4)                                                                      \
    X(LH_T_UINT16, "uint16", 4)                                                                    \
    X(LH_T_UINT32, "uint32", 4)                                                                    \
    X(LH_T_UINT64, "uint64", 8)                                                                    \
    X(LH_T_FLOAT, "float", 4)                                                                      \
    X(LH_T_DOUBLE, "double", 8)                                                                    \
    X(LH_T_STRING, "string", 0)                                                                    \
    X(LH_T_JSON, "json", 0)                                                                        \
    X(LH_T_ENUM, "enum", 0)                                                                        \
    X(LH_T_BINARY, "binary", 0)                                                                    \
    X(LH_T_UUID, "uuid", 16)                                                                       \
    X(LH_T_FIXED, "fixed", 0)                                                                      \
    X(LH_T_DECIMAL, "decimal", 0)                                                                  \
    X(LH_T_DATE, "date", 4)                                                                        \
    X(LH_T_TIMESTAMP, "timestamp", 8)                                                              \
    X(LH_T_TIME, "time", 8)

enum lh_type {
#define LH_X_TYPE(name, text, width) name,
    LH_TYPE_MAP(LH_X_TYPE)
#undef LH_X_TYPE
        LH_T_COUNT_
};

/* "int64", "decimal", ... (static text). */
const char *lh_type_name(enum lh_type t);

/* One column's description. `name` is borrowed by whoever holds the field
 * (the Parquet writer copies what it keeps). */
struct lh_field {
    const char *name;
    enum lh_type type;
    bool nullable;         /* may rows be NULL */
    bool is_list;          /* values are lists of `type` */
    bool element_nullable; /* lists: may elements be NULL */
    bool ts_utc;           /* TIMESTAMP/TIME: instant in UTC (isAdjustedToUTC) */
    uint8_t precision;     /* DECIMAL: 1..38 */
    uint8_t scale;         /* DECIMAL: 0..precision */
    uint32_t fixed_len;    /* FIXED: bytes per value (UUID is always 16) */
};

struct lh_schema {
    size_t nfields;
    const struct lh_field *fields; /* borrowed */
};

/* One column's values in a batch (or a list's elements). All borrowed. */
struct lh_array {
    int64_t length;
    const uint8_t *validity;         /* NULL: no NULLs */
    const void *values;              /* fixed-width types */
    const int32_t *offsets;          /* variable-length types: length + 1 entries */
    const uint8_t *data;             /* variable-length bytes */
    const int32_t *list_offsets;     /* list fields: length + 1 entries into child */
    const struct lh_array *child;    /* list fields: the elements */
};

struct lh_batch {
    int64_t num_rows;
    const struct lh_array *cols; /* one per schema field, borrowed */
};

/* Bytes per value slot for fixed-width types; 0 for variable-length ones. */
size_t lh_type_width(const struct lh_field *f);

static inline bool lh_bit_get(const uint8_t *bits, int64_t i)
{
    return bits == NULL || ((bits[i >> 3] >> (i & 7)) & 1);
}
static inline void lh_bit_set(uint8_t *bits, int64_t i, bool v)
{
    if (v)
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

#endif
