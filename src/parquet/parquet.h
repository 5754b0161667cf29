/*
 * parquet.h — the Parquet module's whole public interface.
 *
 * Writer: column batches (core/batch.h) in, a Parquet file out through a
 * sink callback, one row group at a time. Memory is bounded by one row
 * group's encoded pages plus one page of staging per column, whatever the
 * table size or the size of its values: when the buffered size passes
 * options.row_group_bytes (or the row count passes options.row_group_rows)
 * the row group is written to the sink, and options.memory_bytes sizes
 * all of these against one budget.
 *
 * Reader: opens a file (or memory, or any random-access input), parses and
 * checks the footer, exposes schema, row groups, column chunk metadata and
 * statistics, and decodes a column chunk back into an lh_array.
 *
 * Threads: a writer or reader belongs to one thread at a time; distinct
 * objects are independent. A writer may run one compression thread of its
 * own (options.compress_thread), which it starts and joins itself.
 */
#ifndef LH_PARQUET_H
#define LH_PARQUET_H

#include "core/core.h"

/* Values match parquet.thrift CompressionCodec. */
enum lh_parquet_codec {
    LH_PQ_UNCOMPRESSED = 0,
    LH_PQ_SNAPPY = 1,
    LH_PQ_GZIP = 2,
    LH_PQ_LZO = 3,
    LH_PQ_BROTLI = 4,
    LH_PQ_LZ4 = 5,
    LH_PQ_ZSTD = 6,
    LH_PQ_LZ4_RAW = 7,
};
const char *lh_parquet_codec_name(enum lh_parquet_codec c); /* "ZSTD", ... */
/* Parses "zstd", "snappy", "none"/"uncompressed" (case-insensitive). */
bool lh_parquet_codec_parse(const char *s, enum lh_parquet_codec *out);

/* ------------------------------------------------------------------ writer */

struct lh_parquet_kv {
    const char *key;
    const char *value;
};

struct lh_parquet_writer_options {
    enum lh_parquet_codec codec; /* ZSTD, SNAPPY or UNCOMPRESSED; default ZSTD */
    int zstd_level;              /* default 3 */
    uint64_t row_group_bytes;    /* flush a row group past this buffered size; default 64 MiB */
    int64_t row_group_rows;      /* ... or past this many rows; default 1,048,576 */
    uint32_t page_bytes;         /* target uncompressed data page size; default 1 MiB */
    uint32_t dict_max_bytes;     /* dictionary falls back to PLAIN past this; default 1 MiB */
    bool dictionary;             /* try RLE_DICTIONARY; default true */
    /* false (default): the writer picks per column from what its pages
     * show — DELTA_BINARY_PACKED for INT32/INT64 pages where that is no
     * larger than PLAIN + codec, and UNCOMPRESSED chunks for columns the
     * codec shrinks by less than 3 % (docs/parquet.md). true: PLAIN or
     * RLE_DICTIONARY and `codec` on every page. */
    bool fixed_encodings;
    /* One budget for all of the writer's buffers; 0: none (the sizes
     * above apply as given). With a budget, the row group's compressed
     * pages get at most half of it, and each column's page staging and
     * dictionary at most a quarter of it divided by the column count (not
     * below 8 KiB): a table of hundreds of columns gets smaller pages, not
     * more memory. Pages are cut by bytes, so one huge value makes a page
     * of its own and its row group ends right after it. */
    uint64_t memory_bytes;
    /* Compress pages on a thread of the writer's own (up to 8 pages, and
     * an eighth of memory_bytes or 8 MiB, in flight), overlapping the
     * caller's reading; default true (false in a zeroed struct). The file
     * is the same either way. */
    bool compress_thread;
    const struct lh_parquet_kv *kv; /* key/value metadata, copied; may be NULL */
    size_t nkv;
    /* Parquet field ids (SchemaElement.field_id), e.g. Iceberg column ids:
     * one per schema field, copied; NULL = none. An id <= 0 writes none.
     * element_field_ids: for list fields, the id of the list's element
     * (ignored for other fields); may be NULL. */
    const int32_t *field_ids;
    const int32_t *element_field_ids;
};
void lh_parquet_writer_options_init(struct lh_parquet_writer_options *o);

/* Receives the file's bytes in order. Returning non-OK aborts the writer:
 * every later call fails with that error. */
typedef enum lh_status (*lh_parquet_sink_fn)(void *ctx, const void *p, size_t n,
                                             struct lh_error *err);

struct lh_parquet_writer;

/* schema is copied (names included). opt may be NULL for defaults.
 * Caller frees *out with lh_parquet_writer_destroy. */
enum lh_status lh_parquet_writer_create(const struct lh_schema *schema,
                                        const struct lh_parquet_writer_options *opt,
                                        lh_parquet_sink_fn sink, void *sink_ctx,
                                        struct lh_parquet_writer **out, struct lh_error *err);
/* Encodes the batch (borrowed; no pointer into it is kept). May write a
 * finished row group to the sink. Checks the batch against the schema
 * (NULL in a required column, offsets out of range, decimal out of its
 * precision) and fails with LH_E_INVAL naming the column and row. */
enum lh_status lh_parquet_writer_add_batch(struct lh_parquet_writer *w, const struct lh_batch *b,
                                           struct lh_error *err);
/* Ends the current row group now (no-op when it is empty). */
enum lh_status lh_parquet_writer_flush(struct lh_parquet_writer *w, struct lh_error *err);
/* Flushes and writes the footer. The writer accepts nothing afterwards. */
enum lh_status lh_parquet_writer_close(struct lh_parquet_writer *w, struct lh_error *err);
void lh_parquet_writer_destroy(struct lh_parquet_writer *w);

struct lh_parquet_writer_stats {
    int64_t rows;            /* rows accepted so far */
    uint64_t bytes_written;  /* bytes handed to the sink */
    int32_t row_groups;      /* row groups written */
    uint64_t buffered_bytes; /* encoded bytes held for the current row group */
};
void lh_parquet_writer_stats(const struct lh_parquet_writer *w, struct lh_parquet_writer_stats *s);

/* Sink that writes to an lh_atomic_file (ctx is a struct lh_atomic_file *). */
enum lh_status lh_parquet_sink_atomic_file(void *ctx, const void *p, size_t n,
                                           struct lh_error *err);

/* ------------------------------------------------------------------ reader */

/* Random-access input. read_at must fill exactly n bytes or fail. */
struct lh_parquet_input {
    void *ctx;
    uint64_t size;
    enum lh_status (*read_at)(void *ctx, uint64_t off, void *buf, size_t n,
                              struct lh_error *err);
};

/* Physical types, values as in parquet.thrift Type. */
enum lh_parquet_physical {
    LH_PQ_BOOLEAN = 0,
    LH_PQ_INT32 = 1,
    LH_PQ_INT64 = 2,
    LH_PQ_INT96 = 3,
    LH_PQ_FLOAT = 4,
    LH_PQ_DOUBLE = 5,
    LH_PQ_BYTE_ARRAY = 6,
    LH_PQ_FIXED_LEN_BYTE_ARRAY = 7,
};

/* Statistics of a column chunk. min/max are Parquet PLAIN-encoded values
 * of the physical type (for BYTE_ARRAY: the bytes without length prefix). */
struct lh_parquet_stats {
    bool has_null_count;
    int64_t null_count;
    bool has_min_max;
    const uint8_t *min; /* owned by the reader */
    uint32_t min_len;
    const uint8_t *max;
    uint32_t max_len;
};

struct lh_parquet_chunk_info {
    enum lh_parquet_codec codec;
    uint32_t encodings;           /* bit (1 << parquet Encoding value) per encoding listed */
    int64_t num_values;           /* including NULLs (and list elements) */
    int64_t total_compressed_size;
    int64_t total_uncompressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* -1 when absent */
    struct lh_parquet_stats stats;
};

struct lh_parquet_row_group_info {
    int64_t num_rows;
    int64_t total_byte_size;
    const struct lh_parquet_chunk_info *chunks; /* one per leaf column */
};

/* What the footer says about one leaf column, beyond its lh_field. */
struct lh_parquet_column_info {
    enum lh_parquet_physical physical;
    int32_t type_length;       /* FIXED_LEN_BYTE_ARRAY */
    int32_t converted_type;    /* parquet.thrift ConvertedType, -1 when absent */
    char logical[64];          /* logical type as text: "STRING", "DECIMAL(12,2)",
                                  "TIMESTAMP(MICROS,true)", "" when none */
    int16_t max_def_level;
    int16_t max_rep_level;
    char path[256];            /* dotted path in the schema, e.g. "tags.list.element" */
};

struct lh_parquet_file_info {
    struct lh_schema schema;   /* one field per top-level column, mapped to lh types */
    const struct lh_parquet_column_info *columns; /* one per field */
    int64_t num_rows;
    int32_t num_row_groups;
    const struct lh_parquet_row_group_info *row_groups;
    const char *created_by;    /* "" when absent */
    size_t nkv;
    const struct lh_parquet_kv *kv;
};

struct lh_parquet_reader;

/* Opens and checks the footer. Every length in the file is checked against
 * the file size and sane maxima before anything is allocated; a file that is
 * not Parquet, truncated or corrupt fails with LH_E_FORMAT and a message.
 * A column whose type lakehouse cannot represent fails with LH_E_UNSUPPORTED
 * naming the column. Caller frees *out with lh_parquet_reader_close. */
enum lh_status lh_parquet_reader_open(const struct lh_parquet_input *in,
                                      struct lh_parquet_reader **out, struct lh_error *err);
enum lh_status lh_parquet_reader_open_file(const char *path, struct lh_parquet_reader **out,
                                           struct lh_error *err);
/* p must outlive the reader. */
enum lh_status lh_parquet_reader_open_mem(const void *p, size_t n, struct lh_parquet_reader **out,
                                          struct lh_error *err);
void lh_parquet_reader_close(struct lh_parquet_reader *r);

/* Borrowed; valid until close. */
const struct lh_parquet_file_info *lh_parquet_reader_info(const struct lh_parquet_reader *r);

/* Decodes column `col` of row group `rg` into *out, in the batch.h layout.
 * Every buffer is allocated from `arena` (caller owns it; an arena cap
 * bounds what a corrupt file can make us allocate). */
enum lh_status lh_parquet_reader_read_column(struct lh_parquet_reader *r, int32_t rg, size_t col,
                                             struct lh_arena *arena, struct lh_array *out,
                                             struct lh_error *err);

/* Formats a statistics value (PLAIN bytes of the column's physical type) as
 * text for the column's logical type: "42", "2026-04-16", "12.50",
 * "2026-04-16T20:36:04Z", quoted-free UTF-8 for strings, hex for binary.
 * Returns the length written (truncated to cap - 1). */
size_t lh_parquet_format_stat(const struct lh_field *f, const struct lh_parquet_column_info *ci,
                              const uint8_t *v, uint32_t len, char *out, size_t cap);

#endif
