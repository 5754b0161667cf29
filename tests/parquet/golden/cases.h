/*
 * cases.h — the Parquet conformance cases, shared by the golden generator
 * (gen_golden.c: writes each case to a file plus an expected-values JSON
 * for the node checkers) and the C round trip (test_roundtrip.c: writes
 * each case to memory and reads it back with our reader).
 *
 * A case is a schema, writer options and a row count. Every value is a
 * pure function of (case mode, column, row), so a batch covering any row
 * range can be rebuilt at will: the whole table once for the expectations,
 * and the rows of each add_batch call separately for the writer. All
 * memory comes from an arena the caller owns.
 */
#ifndef LH_TEST_GOLDEN_CASES_H
#define LH_TEST_GOLDEN_CASES_H

#include "core/core.h"
#include "parquet.h"

#define GC_MAX_COLS 64

/* How the values of a case are chosen. */
enum gc_mode {
    GC_EDGE,     /* cycle through each type's edge values, NULL every 7th row */
    GC_ALLNULL,  /* every row NULL (nullable columns only) */
    GC_LOWCARD,  /* three distinct values per column: dictionary territory */
    GC_DISTINCT, /* every row different: the dictionary must fall back */
    GC_MIXED,    /* first half LOWCARD, second half DISTINCT */
    GC_ZEROS,    /* float/double only -0.0 and +0.0 (statistics sign rule), else DISTINCT */
    GC_WIDE,     /* DISTINCT values of key % 600: dictionaries with 10-bit indices */
    GC_RUNS,     /* DISTINCT values of key / 50, NULLs in runs of 40: long RLE runs */
};

/* What a case expects of the column chunks' encodings. */
enum gc_dict {
    GC_DICT_ANY,  /* no expectation */
    GC_DICT_NONE, /* dictionary off: no dictionary encoding anywhere */
    GC_DICT_USED, /* low cardinality: non-bool columns are dictionary encoded */
    GC_DICT_PLAIN /* fallback: distinct columns end up with PLAIN pages */
};

struct gc_case {
    const char *name;
    enum gc_mode mode;
    int64_t nrows;
    int nbatches;       /* rows are handed to the writer in this many batches */
    int min_row_groups; /* the file must have at least this many row groups */
    int min_pages;      /* some column chunk must have at least this many data pages */
    enum gc_dict dict;
    bool nullable_only; /* schema keeps only nullable columns */
    struct lh_parquet_writer_options opt;
    size_t nfields;
    struct lh_field fields[GC_MAX_COLS];
};

/* Number of cases, and case i filled into *c (names are static). */
size_t gc_case_count(void);
void gc_case_get(size_t i, struct gc_case *c);

/* Builds column `col` of rows [r0, r1) into *out; all buffers in arena. */
enum lh_status gc_build_column(const struct gc_case *c, size_t col, int64_t r0, int64_t r1,
                               struct lh_arena *arena, struct lh_array *out, struct lh_error *err);
/* Builds all columns of rows [r0, r1). cols must hold c->nfields entries. */
enum lh_status gc_build_batch(const struct gc_case *c, int64_t r0, int64_t r1,
                              struct lh_arena *arena, struct lh_array *cols, struct lh_batch *out,
                              struct lh_error *err);

/* Writes the whole case with lh_parquet_writer to `sink`, in c->nbatches
 * add_batch calls. *stats (may be NULL) receives the writer's statistics
 * after close. */
enum lh_status gc_write_case(const struct gc_case *c, lh_parquet_sink_fn sink, void *sink_ctx,
                             struct lh_parquet_writer_stats *stats, struct lh_error *err);

/* Appends the expected-values JSON for the case, made from the in-memory
 * arrays of the whole table (never through a reader). */
void gc_expected_json(const struct gc_case *c, const struct lh_array *cols, struct lh_buf *out);

/* Canonical text of one non-NULL value (the JSON form without quotes). */
void gc_value_text(const struct lh_field *f, const struct lh_array *a, int64_t i,
                   struct lh_buf *out);

/* Signed 128-bit to decimal text with `scale` digits after the point. */
void gc_i128_text(lh_i128 v, unsigned scale, struct lh_buf *out);

#endif
