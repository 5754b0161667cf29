/*
 * ddb.h — private to src/sql: our own declarations of the part of DuckDB's
 * C API the engine uses, and the table of function pointers that ddb.c
 * fills from libduckdb.so with dlopen/dlsym at run time.
 *
 * Nothing here includes DuckDB's header: the types are written from the
 * documented C API (https://duckdb.org/docs/stable/clients/c/api), only
 * the members and enum values the engine reads. Handles are opaque
 * pointers. Every struct whose layout matters (duckdb_result, the string
 * and list entries, hugeint, interval) is written out in full, in the
 * documented order, because DuckDB writes into it.
 *
 * Threads: lh_ddb_load may be called from any thread; the table it returns
 * is immutable and process-wide once loaded (the library is never closed).
 */
#ifndef LH_SQL_DDB_H
#define LH_SQL_DDB_H

#include "core/core.h"

#include <stdbool.h>
#include <stdint.h>

/* The pinned package (scripts/install-deps.sh) and the oldest accepted. */
#define LH_DUCKDB_MIN_VERSION "1.5.6"
#ifndef LH_DUCKDB_DEFAULT_PATH
#define LH_DUCKDB_DEFAULT_PATH "/usr/local/lib/lakehouse/libduckdb.so"
#endif

typedef uint64_t ddb_idx;
typedef void *ddb_database;      /* duckdb_database */
typedef void *ddb_connection;    /* duckdb_connection */
typedef void *ddb_config;        /* duckdb_config */
typedef void *ddb_prepared;      /* duckdb_prepared_statement */
typedef void *ddb_chunk;         /* duckdb_data_chunk */
typedef void *ddb_vector;        /* duckdb_vector */
typedef void *ddb_ltype;         /* duckdb_logical_type */
typedef void *ddb_value;         /* duckdb_value */
typedef void *ddb_rscan_info;    /* duckdb_replacement_scan_info */

enum { DDB_SUCCESS = 0, DDB_ERROR = 1 }; /* duckdb_state */

/* duckdb_type: the values the engine distinguishes. */
enum ddb_type {
    DDB_BOOLEAN = 1, DDB_TINYINT = 2, DDB_SMALLINT = 3, DDB_INTEGER = 4, DDB_BIGINT = 5,
    DDB_UTINYINT = 6, DDB_USMALLINT = 7, DDB_UINTEGER = 8, DDB_UBIGINT = 9, DDB_FLOAT = 10,
    DDB_DOUBLE = 11, DDB_TIMESTAMP = 12, DDB_DATE = 13, DDB_TIME = 14, DDB_INTERVAL = 15,
    DDB_HUGEINT = 16, DDB_VARCHAR = 17, DDB_BLOB = 18, DDB_DECIMAL = 19, DDB_TIMESTAMP_S = 20,
    DDB_TIMESTAMP_MS = 21, DDB_TIMESTAMP_NS = 22, DDB_ENUM = 23, DDB_LIST = 24, DDB_STRUCT = 25,
    DDB_MAP = 26, DDB_UUID = 27, DDB_UNION = 28, DDB_BIT = 29, DDB_TIME_TZ = 30,
    DDB_TIMESTAMP_TZ = 31, DDB_UHUGEINT = 32, DDB_ARRAY = 33, DDB_SQLNULL = 36,
};

/* duckdb_statement_type: the query statements lakehouse accepts. DESCRIBE,
 * SHOW and SUMMARIZE are SELECT statements to DuckDB. */
enum { DDB_STMT_SELECT = 1, DDB_STMT_EXPLAIN = 4 };

/* duckdb_error_type values the engine maps to its own statuses. */
enum { DDB_ERR_INTERRUPT = 29, DDB_ERR_OUT_OF_MEMORY = 33, DDB_ERR_PERMISSION = 34 };

/* duckdb_result: six members, the last one DuckDB's. */
struct ddb_result {
    ddb_idx column_count_, row_count_, rows_changed_;
    void *columns_;
    char *error_message_;
    void *internal_data;
};

/* duckdb_string_t: 16 bytes; when length <= 12 the bytes are inlined
 * right after the length (over prefix and ptr), else ptr points at them. */
struct ddb_string {
    uint32_t length;
    char prefix[4];
    const char *ptr;
};

struct ddb_list_entry {
    uint64_t offset, length;
};
struct ddb_hugeint {
    uint64_t lower;
    int64_t upper;
};
struct ddb_interval {
    int32_t months, days;
    int64_t micros;
};

typedef void (*ddb_rscan_cb)(ddb_rscan_info info, const char *table_name, void *data);

/* X(return type, name, parameters): every function the engine calls. */
#define LH_DDB_FUNCS(X)                                                                          \
    X(const char *, duckdb_library_version, (void))                                              \
    X(int, duckdb_create_config, (ddb_config *))                                                 \
    X(int, duckdb_set_config, (ddb_config, const char *, const char *))                          \
    X(void, duckdb_destroy_config, (ddb_config *))                                               \
    X(int, duckdb_open_ext, (const char *, ddb_database *, ddb_config, char **))                 \
    X(void, duckdb_close, (ddb_database *))                                                      \
    X(int, duckdb_connect, (ddb_database, ddb_connection *))                                     \
    X(void, duckdb_disconnect, (ddb_connection *))                                               \
    X(void, duckdb_interrupt, (ddb_connection))                                                  \
    X(void, duckdb_free, (void *))                                                               \
    X(int, duckdb_query, (ddb_connection, const char *, struct ddb_result *))                    \
    X(void, duckdb_destroy_result, (struct ddb_result *))                                        \
    X(const char *, duckdb_result_error, (struct ddb_result *))                                  \
    X(int, duckdb_result_error_type, (struct ddb_result *))                                      \
    X(ddb_idx, duckdb_column_count, (struct ddb_result *))                                       \
    X(const char *, duckdb_column_name, (struct ddb_result *, ddb_idx))                          \
    X(ddb_ltype, duckdb_column_logical_type, (struct ddb_result *, ddb_idx))                     \
    X(int, duckdb_prepare, (ddb_connection, const char *, ddb_prepared *))                       \
    X(const char *, duckdb_prepare_error, (ddb_prepared))                                        \
    X(void, duckdb_destroy_prepare, (ddb_prepared *))                                            \
    X(int, duckdb_prepared_statement_type, (ddb_prepared))                                       \
    X(int, duckdb_execute_prepared_streaming, (ddb_prepared, struct ddb_result *))               \
    X(ddb_chunk, duckdb_fetch_chunk, (struct ddb_result))                                        \
    X(void, duckdb_destroy_data_chunk, (ddb_chunk *))                                            \
    X(ddb_idx, duckdb_data_chunk_get_size, (ddb_chunk))                                          \
    X(ddb_vector, duckdb_data_chunk_get_vector, (ddb_chunk, ddb_idx))                            \
    X(void *, duckdb_vector_get_data, (ddb_vector))                                              \
    X(uint64_t *, duckdb_vector_get_validity, (ddb_vector))                                      \
    X(ddb_vector, duckdb_list_vector_get_child, (ddb_vector))                                    \
    X(ddb_vector, duckdb_struct_vector_get_child, (ddb_vector, ddb_idx))                         \
    X(ddb_vector, duckdb_array_vector_get_child, (ddb_vector))                                   \
    X(int, duckdb_get_type_id, (ddb_ltype))                                                      \
    X(void, duckdb_destroy_logical_type, (ddb_ltype *))                                          \
    X(uint8_t, duckdb_decimal_width, (ddb_ltype))                                                \
    X(uint8_t, duckdb_decimal_scale, (ddb_ltype))                                                \
    X(int, duckdb_decimal_internal_type, (ddb_ltype))                                            \
    X(int, duckdb_enum_internal_type, (ddb_ltype))                                               \
    X(uint32_t, duckdb_enum_dictionary_size, (ddb_ltype))                                        \
    X(char *, duckdb_enum_dictionary_value, (ddb_ltype, ddb_idx))                                \
    X(ddb_ltype, duckdb_list_type_child_type, (ddb_ltype))                                       \
    X(ddb_ltype, duckdb_array_type_child_type, (ddb_ltype))                                      \
    X(ddb_idx, duckdb_array_type_array_size, (ddb_ltype))                                        \
    X(ddb_idx, duckdb_struct_type_child_count, (ddb_ltype))                                      \
    X(char *, duckdb_struct_type_child_name, (ddb_ltype, ddb_idx))                               \
    X(ddb_ltype, duckdb_struct_type_child_type, (ddb_ltype, ddb_idx))                            \
    X(ddb_ltype, duckdb_map_type_key_type, (ddb_ltype))                                          \
    X(ddb_ltype, duckdb_map_type_value_type, (ddb_ltype))                                        \
    X(ddb_idx, duckdb_union_type_member_count, (ddb_ltype))                                      \
    X(char *, duckdb_union_type_member_name, (ddb_ltype, ddb_idx))                               \
    X(ddb_ltype, duckdb_union_type_member_type, (ddb_ltype, ddb_idx))                            \
    X(char *, duckdb_logical_type_get_alias, (ddb_ltype))                                        \
    X(ddb_ltype, duckdb_create_logical_type, (int))                                              \
    X(ddb_value, duckdb_create_varchar, (const char *))                                          \
    X(ddb_value, duckdb_create_list_value, (ddb_ltype, ddb_value *, ddb_idx))                    \
    X(void, duckdb_destroy_value, (ddb_value *))                                                 \
    X(void, duckdb_add_replacement_scan, (ddb_database, ddb_rscan_cb, void *, void (*)(void *))) \
    X(void, duckdb_replacement_scan_set_function_name, (ddb_rscan_info, const char *))           \
    X(void, duckdb_replacement_scan_add_parameter, (ddb_rscan_info, ddb_value))                  \
    X(void, duckdb_replacement_scan_set_error, (ddb_rscan_info, const char *))

struct lh_ddb {
#define LH_DDB_FIELD(ret, name, args) ret(*name) args;
    LH_DDB_FUNCS(LH_DDB_FIELD)
#undef LH_DDB_FIELD
    char version[32]; /* "1.5.6" */
    char path[512];   /* what was loaded */
};

/* The loaded library, loading it on first use: $LAKEHOUSE_DUCKDB, else
 * LH_DUCKDB_DEFAULT_PATH. On failure NULL and err says, in one line, what
 * is missing and how to install it (LH_E_UNSUPPORTED); a later call tries
 * again. */
const struct lh_ddb *lh_ddb_load(struct lh_error *err);

#endif
