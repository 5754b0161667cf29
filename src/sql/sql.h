/*
 * sql.h — the SQL module's whole public interface: read-only DuckDB SQL over
 * the lakehouse's catalog datasets (DESIGN.md §1, issue 16; docs/sql.md).
 *
 * An engine is one in-memory DuckDB database and connection (DuckDB's C API,
 * loaded at run time from libduckdb.so, src/sql/ddb.c) with a catalog
 * snapshot and a sandbox. Every catalog dataset is a view named after it
 * over exactly its current version's parts; "name@N" reads version N. The
 * catalog is read when the engine is created: create an engine per request
 * (or per CLI session) to see new versions.
 *
 * Without libduckdb.so every function here fails with LH_E_UNSUPPORTED and
 * one line saying how to install it; nothing else in lakehouse needs it.
 *
 * Threads: an engine belongs to one thread at a time; the store set it
 * reads through may serve other threads meanwhile (store.h).
 * DuckDB runs each statement on up to `threads` threads of its own.
 */
#ifndef LH_SQL_H
#define LH_SQL_H

#include "core/core.h"
#include "store/store.h"

struct lh_sql_options {
    uint32_t timeout_ms;    /* per statement, enforced with duckdb_interrupt; 0 = 30,000 */
    uint64_t max_rows;      /* hard cap on result rows; 0 = 100,000 */
    size_t max_output;      /* cap on a result's bytes (values in lh_sql_run, the serialized
                               text in lh_sql_execute); 0 = 64 MiB */
    uint64_t memory_limit;  /* DuckDB's memory_limit in bytes; 0 = 1 GiB */
    unsigned threads;       /* DuckDB worker threads; 0 = 2 */
    size_t max_sql_length;  /* bytes of statement text; 0 = 100,000 */
    const char *cache_dir;  /* where parts of S3 datasets are cached; NULL =
                               $LAKEHOUSE_SQL_CACHE, else $XDG_CACHE_HOME/lakehouse/sql,
                               else ~/.cache/lakehouse/sql (docs/sql.md) */
};

struct lh_sql_engine;

/* set is borrowed: it must outlive the engine (other threads may use it
 * meanwhile, store.h). opt may be NULL. Free with lh_sql_engine_destroy. */
enum lh_status lh_sql_engine_create(struct lh_store_set *set, const struct lh_sql_options *opt,
                                    struct lh_sql_engine **out, struct lh_error *err) LH_NODISCARD;
/* Like create over its own store set, opened as lh_store_set_open(root,
 * config_path) does (root NULL: $LAKEHOUSE_DATA or ./lakehouse-data). */
enum lh_status lh_sql_engine_open(const char *root, const char *config_path,
                                  const struct lh_sql_options *opt, struct lh_sql_engine **out,
                                  struct lh_error *err) LH_NODISCARD;
void lh_sql_engine_destroy(struct lh_sql_engine *e);

/* ------------------------------------------------------------- streaming */

enum lh_sql_kind {
    LH_SQL_NULL,
    LH_SQL_BOOL,   /* i is 0 or 1 */
    LH_SQL_INT,    /* i */
    LH_SQL_REAL,   /* d */
    LH_SQL_NUMBER, /* p/n: exact digits of a DECIMAL, HUGEINT or a UBIGINT past 2^63-1 */
    LH_SQL_TEXT,   /* p/n: UTF-8; dates, times, UUIDs and intervals as text too */
    LH_SQL_BLOB,   /* p/n: bytes */
    LH_SQL_JSON,   /* p/n: JSON text (JSON columns; LIST, STRUCT, MAP, ARRAY values) */
};

/* One cell; p is borrowed until the callback returns and is not
 * NUL-terminated. */
struct lh_sql_value {
    enum lh_sql_kind kind;
    int64_t i;
    double d;
    const void *p;
    size_t n;
};

struct lh_sql_column {
    const char *name;
    const char *type; /* DuckDB's type: "BIGINT", "DECIMAL(12,2)", "VARCHAR[]", ... */
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
 * existed. Errors: LH_E_INVAL for SQL errors, sandbox refusals and results
 * past max_output or the memory limit (the message is DuckDB's, or names
 * what was refused), LH_E_TIMEOUT past the time limit, LH_E_FORMAT when a
 * part does not match the catalog, LH_E_UNSUPPORTED without libduckdb.so. */
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
 * and the engine's max_output both apply: LH_E_INVAL past them). In JSON,
 * integers, reals and exact numbers are numbers (non-finite reals null),
 * booleans true/false, BLOBs hex text, nested values JSON.
 * On error out holds whatever was appended before it; discard it. */
enum lh_status lh_sql_execute(struct lh_sql_engine *e, const char *sql, uint64_t limit,
                              enum lh_sql_format fmt, struct lh_buf *out,
                              struct lh_error *err) LH_NODISCARD;

/* "json", "csv", "ndjson" -> format; false otherwise. */
bool lh_sql_format_parse(const char *s, enum lh_sql_format *out);

/* The DuckDB version in use ("1.5.6"), loading the library; NULL and err
 * set (LH_E_UNSUPPORTED, one line with the install hint) when absent. */
const char *lh_sql_duckdb_version(struct lh_error *err);

/* Parts this process has read whole and found to match their catalog
 * checksum (docs/sql.md "Integrity": once per file identity, when a
 * statement first reads the dataset). For tests and metrics. */
uint64_t lh_sql_parts_checked(void);

#endif
