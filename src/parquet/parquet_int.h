/*
 * parquet_int.h — private to src/parquet: format constants from
 * parquet.thrift and helpers shared by the writer and the reader.
 */
#ifndef LH_PARQUET_INT_H
#define LH_PARQUET_INT_H

#include "parquet.h"

#define LH_PQ_MAGIC "PAR1"

/* parquet.thrift Encoding */
enum pq_encoding {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

/* parquet.thrift PageType */
enum pq_page_type {
    PQ_PAGE_DATA = 0,
    PQ_PAGE_INDEX = 1,
    PQ_PAGE_DICTIONARY = 2,
    PQ_PAGE_DATA_V2 = 3,
};

/* parquet.thrift FieldRepetitionType */
enum pq_repetition {
    PQ_REQUIRED = 0,
    PQ_OPTIONAL = 1,
    PQ_REPEATED = 2,
};

/* parquet.thrift ConvertedType */
enum pq_converted {
    PQ_CT_UTF8 = 0,
    PQ_CT_MAP = 1,
    PQ_CT_MAP_KEY_VALUE = 2,
    PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15,
    PQ_CT_INT_16 = 16,
    PQ_CT_INT_32 = 17,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
    PQ_CT_INTERVAL = 21,
};

/* parquet.thrift LogicalType union field ids */
enum pq_logical {
    PQ_LT_STRING = 1,
    PQ_LT_MAP = 2,
    PQ_LT_LIST = 3,
    PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5,
    PQ_LT_DATE = 6,
    PQ_LT_TIME = 7,
    PQ_LT_TIMESTAMP = 8,
    /* 9 reserved (INTERVAL) */
    PQ_LT_INTEGER = 10,
    PQ_LT_UNKNOWN = 11,
    PQ_LT_JSON = 12,
    PQ_LT_BSON = 13,
    PQ_LT_UUID = 14,
    PQ_LT_FLOAT16 = 15,
};

/* Thrift compact protocol field types. */
enum pq_tc_type {
    PQ_TC_STOP = 0,
    PQ_TC_TRUE = 1,
    PQ_TC_FALSE = 2,
    PQ_TC_I8 = 3,
    PQ_TC_I16 = 4,
    PQ_TC_I32 = 5,
    PQ_TC_I64 = 6,
    PQ_TC_DOUBLE = 7,
    PQ_TC_BINARY = 8,
    PQ_TC_LIST = 9,
    PQ_TC_SET = 10,
    PQ_TC_MAP = 11,
    PQ_TC_STRUCT = 12,
};

/* ------------------------------------------------------------ compression */

/* Upper bound of the compressed size of n bytes. */
size_t pq_compress_bound(enum lh_parquet_codec c, size_t n);
/* Compresses [src, src+n) into dst (capacity dst_cap, at least the bound).
 * *out_len receives the compressed size. UNCOMPRESSED copies. */
enum lh_status pq_compress(enum lh_parquet_codec c, int level, const void *src, size_t n,
                           void *dst, size_t dst_cap, size_t *out_len, struct lh_error *err);
/* Decompresses exactly `expect` bytes (the page header's uncompressed size)
 * into dst; anything else is LH_E_FORMAT. */
enum lh_status pq_decompress(enum lh_parquet_codec c, const void *src, size_t n, void *dst,
                             size_t expect, struct lh_error *err);

/* Compression state kept between pages (a zstd context, whose setup costs
 * about as much as compressing a page). One per writer; destroy is NULL-safe.
 * pq_compress_with(NULL, ...) is pq_compress. */
struct pq_compressor;
struct pq_compressor *pq_compressor_create(void); /* NULL when out of memory */
void pq_compressor_destroy(struct pq_compressor *cz);
enum lh_status pq_compress_with(struct pq_compressor *cz, enum lh_parquet_codec c, int level,
                                const void *src, size_t n, void *dst, size_t dst_cap,
                                size_t *out_len, struct lh_error *err);

/* One piece of a page body (levels, their length prefixes, the values). */
struct pq_part {
    const void *p;
    size_t n;
};
/* Compresses the concatenation of parts[0..nparts) into dst without
 * assembling it first (zstd streams the pieces through one frame); codecs
 * that need one contiguous input use `scratch` for it. The frame is the
 * same as pq_compress_with on the joined bytes would write. */
enum lh_status pq_compress_parts(struct pq_compressor *cz, enum lh_parquet_codec c, int level,
                                 const struct pq_part *parts, size_t nparts, struct lh_buf *scratch,
                                 void *dst, size_t dst_cap, size_t *out_len, struct lh_error *err);

#endif
