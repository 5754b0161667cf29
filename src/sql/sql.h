/*
 * sql.h — the SQL module's whole public interface: read-only SQLite over
 * the lakehouse's catalog datasets (DESIGN.md §1, issue 7; docs/sql.md).
 *
 * An engine is one in-memory SQLite connection with the `lakehouse`
 * virtual-table module, a catalog and a sandbox (authorizer, limits,
 * a time limit). Every catalog dataset is a table named after it (current
 * version); "name@N" is version N. Tables are created on demand per
 * statement, so each statement sees the catalog as it is when it starts.
 *
 * Threads: an engine belongs to one thread at a time, and so does the store
 * set it reads through. The daemon uses one engine per request (or a pool
 * of engines, one in use per thread): lh_sql_engine_open gives an engine
 * its own store set, so engines never share anything mutable. Engines are
 * cheap (an in-memory SQLite handle and an open catalog).
 */
#ifndef LH_SQL_H
#define LH_SQL_H

#include "core/core.h"
#include "store/store.h"

struct lh_sql_options {
    uint32_t timeout_ms;    /* per statement; 0 = 30,000 */
    uint64_t max_rows;      /* hard cap on result rows; 0 = 100,000 */
    size_t max_output;      /* cap on a serialized result (lh_sql_execute); 0 = 64 MiB */
    size_t max_decode;      /* cap on one row group's decoded columns; 0 = 1 GiB */
    int max_length;         /* SQLITE_LIMIT_LENGTH; 0 = 16 MiB */
    int max_sql_length;     /* SQLITE_LIMIT_SQL_LENGTH; 0 = 100,000 */
    bool no_native_agg;     /* run simple GROUP BYs through SQLite's VM too (docs/sql.md) */
    bool no_whole_parts;    /* read every part by ranges, none whole, so no part's checksum
                               is checked; sizes and page CRCs still are (tests) */
};

struct lh_sql_engine;

/* set is borrowed: it must outlive the engine and be used by no other
 * thread meanwhile. opt may be NULL. Free with lh_sql_engine_destroy. */
enum lh_status lh_sql_engine_create(struct lh_store_set *set, const struct lh_sql_options *opt,
                                    struct lh_sql_engine **out, struct lh_error *err) LH_NODISCARD;
/* Like create over its own store set, opened as lh_store_set_open(root,
 * config_path) does (root NULL: $LAKEHOUSE_DATA or ./lakehouse-data). */
enum lh_status lh_sql_engine_open(const char *root, const char *config_path,
                                  const struct lh_sql_options *opt, struct lh_sql_engine **out,
                                  struct lh_error *err) LH_NODISCARD;
void lh_sql_engine_destroy(struct lh_sql_engine *e);

/* ------------------------------------------------------------- streaming */

enum lh_sql_kind { LH_SQL_NULL, LH_SQL_INT, LH_SQL_REAL, LH_SQL_TEXT, LH_SQL_BLOB };

/* One cell; p is borrowed until the callback returns. TEXT is UTF-8 as
 * stored (not NUL-terminated). */
struct lh_sql_value {
    enum lh_sql_kind kind;
    int64_t i;
    double d;
    const void *p;
    size_t n;
};

struct lh_sql_column {
    const char *name;
    const char *type; /* "BIGINT", "DECIMAL(12,2)", "TIMESTAMPTZ", ... for dataset
                         columns; "INTEGER"/"REAL"/"TEXT"/"BLOB"/"NULL" from the
                         first row's value for expressions */
};

/* Callbacks of lh_sql_run. columns comes once, before the first row (also
 * for an empty result). A non-OK return stops the statement with that error. */
struct lh_sql_sink {
    void *ctx;
    enum lh_status (*columns)(void *ctx, const struct lh_sql_column *cols, size_t n,
                              struct lh_error *err);
    enum lh_status (*row)(void *ctx, const struct lh_sql_value *vals, size_t n,
                          struct lh_error *err);
};

struct lh_sql_result_info {
    uint64_t rows;     /* rows handed to the sink */
    bool truncated;    /* more rows existed past the limit */
    double elapsed_ms; /* prepare + run */
};

/* Runs exactly one read-only statement. limit caps the rows delivered
 * (0 or above the engine's max_rows: max_rows); truncated says whether more
 * existed. Errors: LH_E_INVAL for SQL errors and sandbox refusals (the
 * message is SQLite's, or names what was refused), LH_E_TIMEOUT past the
 * time limit, LH_E_NOTFOUND/LH_E_FORMAT/LH_E_IO from the data. */
enum lh_status lh_sql_run(struct lh_sql_engine *e, const char *sql, uint64_t limit,
                          const struct lh_sql_sink *sink, struct lh_sql_result_info *info,
                          struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------- serialized */

enum lh_sql_format {
    LH_SQL_FORMAT_JSON,   /* {"columns":[{"name","type"}],"rows":[[...]],"truncated":b,"elapsed_ms":n} */
    LH_SQL_FORMAT_CSV,    /* RFC 4180, header line, CRLF-free: "\n" line ends; NULL is empty */
    LH_SQL_FORMAT_NDJSON, /* one {"col": value} object per row */
};

/* The function behind POST /api/sql and `lakehouse sql --format`: runs sql
 * (as lh_sql_run) and appends the result to out (caller owns out; its cap
 * and the engine's max_output both apply: LH_E_TOOBIG past them). In JSON,
 * integers and reals are numbers (non-finite reals null), BLOBs hex text.
 * On error out holds whatever was appended before it; discard it. */
enum lh_status lh_sql_execute(struct lh_sql_engine *e, const char *sql, uint64_t limit,
                              enum lh_sql_format fmt, struct lh_buf *out,
                              struct lh_error *err) LH_NODISCARD;

/* "json", "csv", "ndjson" -> format; false otherwise. */
bool lh_sql_format_parse(const char *s, enum lh_sql_format *out);

/* ------------------------------------------------------------- stats */

/* What the last statement read; reset when a statement starts. */
struct lh_sql_stats {
    uint64_t files_opened;      /* part footers read */
    uint64_t row_groups_read;   /* row groups whose rows were scanned */
    uint64_t row_groups_pruned; /* skipped by statistics */
    uint64_t row_groups_skipped;/* skipped by a pushed-down LIMIT/OFFSET */
    uint64_t columns_decoded;   /* column chunks decoded */
    uint64_t rows_scanned;      /* rows handed to SQLite (or aggregated natively) */
    uint64_t grouped_scans;     /* scans that handed rows out grouped (GROUP BY/DISTINCT) */
    uint64_t native_aggs;       /* GROUP BY statements aggregated in C (docs/sql.md) */
};
void lh_sql_engine_stats(const struct lh_sql_engine *e, struct lh_sql_stats *out);

#endif
