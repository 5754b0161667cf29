/*
 * write_int.h — private to the Parquet writer (write*.c): the Thrift
 * compact encoder, the RLE/bit-packed hybrid encoder, the per-chunk
 * dictionary and the statistics accumulator. Exposed here (not in
 * parquet.h) so the unit tests can check each piece against hand-computed
 * bytes.
 */
#ifndef LH_PARQUET_WRITE_INT_H
#define LH_PARQUET_WRITE_INT_H

#include "parquet_int.h"

/* ------------------------------------------------------------ thrift */

/* Thrift compact protocol writer over an lh_buf. Errors are sticky: a
 * failed append (or nesting deeper than PQ_TW_DEPTH) breaks the buffer and
 * every later call is a no-op; the caller checks lh_buf_ok() once. */
#define PQ_TW_DEPTH 16
struct pq_tw {
    struct lh_buf *b;
    int depth;
    int16_t last[PQ_TW_DEPTH]; /* last field id per open struct */
};

void pq_tw_init(struct pq_tw *t, struct lh_buf *b);
void pq_tw_i32(struct pq_tw *t, int16_t id, int32_t v);
void pq_tw_i64(struct pq_tw *t, int16_t id, int64_t v);
void pq_tw_i16(struct pq_tw *t, int16_t id, int16_t v);
void pq_tw_i8(struct pq_tw *t, int16_t id, int8_t v);
void pq_tw_bool(struct pq_tw *t, int16_t id, bool v);
void pq_tw_bin(struct pq_tw *t, int16_t id, const void *p, size_t n);
void pq_tw_str(struct pq_tw *t, int16_t id, const char *s);
/* A struct-valued field: begin writes the header and opens a scope. */
void pq_tw_struct_begin(struct pq_tw *t, int16_t id);
void pq_tw_struct_end(struct pq_tw *t); /* writes STOP, closes the scope */
/* An empty struct field ({} — e.g. StringType inside the LogicalType union). */
void pq_tw_empty(struct pq_tw *t, int16_t id);
/* List field header; the elements follow with pq_tw_elem_* calls. */
void pq_tw_list_begin(struct pq_tw *t, int16_t id, enum pq_tc_type elem, uint32_t n);
void pq_tw_elem_i32(struct pq_tw *t, int32_t v);
void pq_tw_elem_bin(struct pq_tw *t, const void *p, size_t n);
void pq_tw_elem_struct_begin(struct pq_tw *t); /* a struct list element */
/* Top-level struct (no field header): begin/end pair. */
void pq_tw_root_begin(struct pq_tw *t);
/* Raw bytes (a pre-encoded list element). */
void pq_tw_raw(struct pq_tw *t, const void *p, size_t n);

/* ------------------------------------------------------------ RLE hybrid */

/* Streaming RLE/bit-packed hybrid encoder (Encodings.md). Values of
 * `width` bits (0..32) go in; runs of >= 8 equal values become RLE runs,
 * everything else groups of 8 bit-packed values. Output is appended to
 * *out (no length prefix). */
struct pq_rle {
    struct lh_buf *out;
    int width;
    uint32_t buf[8];
    int nbuf;
    uint32_t cur;
    uint64_t repeat;
    uint32_t lit_groups; /* bit-packed groups in the open literal run */
    size_t lit_hdr;      /* offset of its header byte, SIZE_MAX when none */
};

void pq_rle_init(struct pq_rle *e, struct lh_buf *out, int width);
void pq_rle_put(struct pq_rle *e, uint32_t v);
void pq_rle_put_run(struct pq_rle *e, uint32_t v, uint64_t n);
/* pq_rle_put of v[0..n), in one call (the dictionary indices of a page). */
void pq_rle_put_many(struct pq_rle *e, const uint32_t *v, size_t n);
/* Width 1 only: bits [from, from + n) of a validity bitmap (LSB first) as
 * n values; the same bytes as pq_rle_put of each bit, a group at a time. */
void pq_rle_put_bits(struct pq_rle *e, const uint8_t *bits, int64_t from, int64_t n);
void pq_rle_finish(struct pq_rle *e); /* flushes; e may be re-inited after */
int pq_rle_bit_width(uint64_t max_value);

/* ------------------------------------------------------------ statistics */

enum pq_stat_kind {
    PQ_SK_BOOL, /* false < true */
    PQ_SK_I32,  /* signed 32 */
    PQ_SK_U32,  /* unsigned 32 */
    PQ_SK_I64,
    PQ_SK_U64,
    PQ_SK_F32, /* NaN ignored, -0.0/+0.0 per the spec */
    PQ_SK_F64,
    PQ_SK_BYTES, /* bytewise unsigned lexicographic (strings, binary, UUID, FLBA) */
    PQ_SK_I128,  /* signed two's complement (FLBA decimals), kept as lh_i128 */
};

struct pq_stats {
    enum pq_stat_kind kind;
    bool has; /* at least one comparable value seen */
    union {
        int64_t i;
        uint64_t u;
        double d;
        lh_i128 x;
    } min, max;
    struct lh_buf bmin, bmax; /* PQ_SK_BYTES */
    size_t plen;              /* bytes bmin and bmax have in common at their start */
    uint64_t pmin, pmax;      /* their next 8 bytes, big-endian, zero-padded */
};

void pq_stats_init(struct pq_stats *s, enum pq_stat_kind kind);
void pq_stats_free(struct pq_stats *s);
void pq_stats_reset(struct pq_stats *s);
/* Typed updates; the caller picks the one for s->kind. */
void pq_stats_int(struct pq_stats *s, int64_t v);   /* BOOL, I32, I64 */
void pq_stats_uint(struct pq_stats *s, uint64_t v); /* U32, U64 */
void pq_stats_f64(struct pq_stats *s, double v);    /* F32, F64 */
void pq_stats_bytes(struct pq_stats *s, const uint8_t *p, size_t n);
void pq_stats_i128(struct pq_stats *s, lh_i128 v);
/* PLAIN-encoded min and max (no length prefix for byte arrays). flba_len is
 * the FIXED_LEN_BYTE_ARRAY width for PQ_SK_I128. false when there is no
 * min/max (no values, or only NaN). */
bool pq_stats_encode(const struct pq_stats *s, int flba_len, struct lh_buf *min,
                     struct lh_buf *max);
/* Big-endian two's complement in n bytes (n <= 16). */
void pq_stats_i128_be(lh_i128 v, int n, uint8_t *out);
/* Minimal FIXED_LEN_BYTE_ARRAY width holding any DECIMAL(precision). */
int pq_stats_decimal_len(int precision);

/* ------------------------------------------------------------ dictionary */

/* Open-addressing hash table over PLAIN-encoded values; the dictionary
 * page body is `plain` itself. width > 0: fixed-width keys of that many
 * bytes; width == 0: BYTE_ARRAY keys (plain holds 4-byte length + bytes,
 * offs[i] is entry i's offset). No allocation per value: three arrays that
 * grow by doubling. */
struct pq_dict {
    int width;
    uint32_t n;      /* entries */
    uint32_t mask;   /* slots - 1 */
    uint64_t *slots; /* (hash32 << 32) | (index + 1); 0 = empty */
    uint32_t *offs;  /* BYTE_ARRAY only */
    uint32_t offs_cap;
    struct lh_buf plain;
};

void pq_dict_init(struct pq_dict *d, int width);
void pq_dict_free(struct pq_dict *d);
void pq_dict_reset(struct pq_dict *d);
/* Index of the value, inserting it when new (*added = true). Returns false
 * on allocation failure. */
bool pq_dict_put(struct pq_dict *d, const void *p, uint32_t n, uint32_t *idx, bool *added);
/* The same for n values at once, indices into idx[0..n): fixed-width keys
 * of d->width bytes each from p, or BYTE_ARRAY values k at data + off[k]
 * of off[k + 1] - off[k] bytes. The values new to the dictionary are its
 * entries from the n it had before, in first-seen order. Returns false on
 * allocation failure. One call per run of values instead of per value. */
bool pq_dict_put_fixed(struct pq_dict *d, const uint8_t *p, int64_t n, uint32_t *idx);
bool pq_dict_put_bytes(struct pq_dict *d, const int32_t *off, const uint8_t *data, int64_t n,
                       uint32_t *idx);
uint64_t pq_dict_hash(const void *p, size_t n);
/* Entry i's value bytes (without the length prefix) and length. */
const uint8_t *pq_dict_entry(const struct pq_dict *d, uint32_t i, uint32_t *len);

/* ------------------------------------------------------------ DELTA_BINARY_PACKED */

/* Appends n values as one DELTA_BINARY_PACKED stream (Encodings.md):
 * blocks of PQ_DELTA_BLOCK values in 4 miniblocks of 32, each miniblock
 * bit-packed at the width of its largest (delta - block minimum). Deltas
 * wrap in the type's width (two's complement, 32 bits for INT32), so any
 * values come back exactly, INT64_MIN next to INT64_MAX included, and no
 * width exceeds the type's. No call per value: deltas, minimum and widths
 * are computed a block at a time, then packed by a loop per miniblock.
 * Broken buffer on allocation failure (sticky, as everywhere here). */
#define PQ_DELTA_BLOCK 128
#define PQ_DELTA_MINI 32
void pq_delta_put_i32(struct lh_buf *out, const int32_t *v, size_t n);
void pq_delta_put_i64(struct lh_buf *out, const int64_t *v, size_t n);
/* Largest stream n values can take (the buffer reserved up front). */
size_t pq_delta_bound(size_t n, bool i64);

/* ------------------------------------------------------------ distinct sketch */

/* Estimates how many distinct values a PLAIN-encoded chunk holds, so that
 * the next chunk of the column can keep its dictionary when the sample
 * judgement got it wrong (values new in the first 8,192 but repeating over
 * the chunk). Hashes below `thresh` are kept, a 1/2^level sample of the
 * distinct values; past PQ_DISTINCT_CAP kept the threshold halves and the
 * sample is thinned. Cost per value: one hash and one compare. */
#define PQ_DISTINCT_CAP 512
struct pq_distinct {
    uint64_t thresh;
    int level;
    uint32_t n;
    uint64_t slots[2 * PQ_DISTINCT_CAP]; /* open addressing, 0 = empty */
};

void pq_distinct_reset(struct pq_distinct *d);
void pq_distinct_insert(struct pq_distinct *d, uint64_t h); /* only when h < thresh */
static inline void pq_distinct_add(struct pq_distinct *d, uint64_t h)
{
    if (h < d->thresh)
        pq_distinct_insert(d, h);
}
uint64_t pq_distinct_estimate(const struct pq_distinct *d);
/* pq_distinct_add of the pq_dict_hash of n values: fixed-width ones at p,
 * or BYTE_ARRAY values k at data + off[k] of off[k + 1] - off[k] bytes. */
void pq_distinct_add_fixed(struct pq_distinct *d, const uint8_t *p, int64_t n, size_t width);
void pq_distinct_add_bytes(struct pq_distinct *d, const int32_t *off, const uint8_t *data,
                           int64_t n);

#endif
