/*
 * read_int.h — private to the Parquet reader (src/parquet/read*.c).
 *
 * The pieces the reader is built from, exposed here so the unit tests can
 * drive each one with hand-built bytes:
 *
 *   - a Thrift compact protocol decoder over a pointer+length view, with a
 *     sticky error (after the first problem every read returns zero and the
 *     caller checks once), a nesting depth limit and correct skipping of
 *     unknown fields;
 *   - the RLE / bit-packing hybrid, legacy BIT_PACKED, DELTA_BINARY_PACKED
 *     and BYTE_STREAM_SPLIT decoders.
 *
 * Nothing here trusts its input: every count is checked against the bytes
 * that remain before it is used, and problems become LH_E_FORMAT.
 */
#ifndef LH_PARQUET_READ_INT_H
#define LH_PARQUET_READ_INT_H

#include "parquet_int.h"

/* ------------------------------------------------------------ thrift */

#define PQ_TC_MAX_DEPTH 32
#define PQ_TC_MAX_LIST (1u << 24) /* elements in any one list */

struct pq_tc {
    const uint8_t *p;
    const uint8_t *end;
    int depth;
    bool failed;
    struct lh_error *err; /* may be NULL */
};

void pq_tc_init(struct pq_tc *r, const void *p, size_t n, struct lh_error *err);
/* Marks the reader failed with LH_E_FORMAT (first message wins). */
void pq_tc_fail(struct pq_tc *r, const char *fmt, ...) LH_PRINTF(2, 3);
uint64_t pq_tc_varint(struct pq_tc *r);
int64_t pq_tc_i64(struct pq_tc *r);
int32_t pq_tc_i32(struct pq_tc *r); /* zigzag varint, range-checked */
int8_t pq_tc_i8(struct pq_tc *r);
double pq_tc_double(struct pq_tc *r);
/* Binary/string: a view into the input (borrowed). */
void pq_tc_binary(struct pq_tc *r, const uint8_t **p, uint32_t *len);
/* Struct nesting: begin checks the depth limit; end undoes it. */
void pq_tc_struct_begin(struct pq_tc *r);
void pq_tc_struct_end(struct pq_tc *r);
/* Reads the next field header of the current struct. Returns false at the
 * STOP byte or on failure. *last is the previous field id (start with 0).
 * For booleans, *type is PQ_TC_TRUE or PQ_TC_FALSE. */
bool pq_tc_field(struct pq_tc *r, int16_t *last, int16_t *id, uint8_t *type);
/* List or set header: element type and count (count <= remaining bytes and
 * <= PQ_TC_MAX_LIST, so the caller may allocate count elements). */
void pq_tc_list(struct pq_tc *r, uint8_t *elem_type, uint32_t *count);
/* Skips one value of the given type, recursing into containers. */
void pq_tc_skip(struct pq_tc *r, uint8_t type);
/* Reads a field value of an integer type the schema calls i32 (accepts any
 * integer width the peer may have used). */
int32_t pq_tc_field_i32(struct pq_tc *r, uint8_t type);
int64_t pq_tc_field_i64(struct pq_tc *r, uint8_t type);
bool pq_tc_field_bool(struct pq_tc *r, uint8_t type);
/* Checks a field's type; on mismatch marks the reader failed. */
bool pq_tc_expect(struct pq_tc *r, uint8_t type, uint8_t want, const char *what);
/* A binary field (what names it in the error): false, the reader failed,
 * when it is of another wire type. */
bool pq_tc_field_binary(struct pq_tc *r, uint8_t type, const char *what, const uint8_t **p,
                        uint32_t *len);
/* A list<struct> field's header: false, the reader failed, when the field
 * is no list or (count > 0) its elements no structs (elem names them). */
bool pq_tc_struct_list(struct pq_tc *r, uint8_t type, const char *what, const char *elem,
                       uint32_t *count);

static inline bool pq_tc_ok(const struct pq_tc *r)
{
    return !r->failed;
}

/* ------------------------------------------------------------ decoders */

/* Bits needed to store v (0 for 0). */
int pq_bit_width(uint32_t v);

/* RLE / bit-packing hybrid without length prefix: decodes exactly n values
 * of bit width bw (0..32) into out. *used (may be NULL) receives the bytes
 * consumed. */
enum lh_status pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n,
                             size_t *used, struct lh_error *err);
/* Legacy BIT_PACKED levels (most significant bit first), n values. */
enum lh_status pq_bitpacked_decode(const uint8_t *p, size_t len, int bw, uint32_t *out,
                                   size_t n, size_t *used, struct lh_error *err);
/* DELTA_BINARY_PACKED of exactly n values (the header's count must match)
 * into 64-bit out; 32-bit columns truncate (wrapping arithmetic is the same).
 * *used receives the bytes consumed. */
enum lh_status pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n, size_t *used,
                               struct lh_error *err);
/* Reads only the header's value count of a DELTA_BINARY_PACKED stream. */
enum lh_status pq_delta_count(const uint8_t *p, size_t len, uint64_t *count, struct lh_error *err);
/* BYTE_STREAM_SPLIT: n values of width w; len must be n * w. */
enum lh_status pq_bss_decode(const uint8_t *p, size_t len, size_t w, uint8_t *out, size_t n,
                             struct lh_error *err);

/* ------------------------------------------------------------ reader state */

/* Per leaf column (one per top-level field). */
struct pq_leaf {
    enum lh_parquet_physical physical;
    int32_t type_length;
    int16_t max_def, max_rep;
    int16_t def_list;  /* lists: def level at which the list is present (maybe empty) */
    int16_t def_elem;  /* lists: def level at which an element exists (maybe NULL) */
    int8_t time_unit;  /* 0 none, 1 millis, 2 micros, 3 nanos */
    bool int96;
};

/* Width of a PLAIN value of a fixed-width physical type, 0 for BYTE_ARRAY
 * (read_footer.c). */
size_t pq_plain_width(const struct pq_leaf *lf);

struct lh_parquet_reader {
    struct lh_parquet_input in;
    struct lh_arena arena; /* footer and everything info points to */
    struct lh_parquet_file_info info;
    struct pq_leaf *leaves;
    int fd; /* open_file only, else -1 */
    const uint8_t *mem; /* open_mem only */
};

#endif
