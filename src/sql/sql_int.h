/*
 * sql_int.h — private to src/sql: the engine as the virtual tables see it,
 * and the value formatting shared by tables, functions and serializers.
 */
#ifndef LH_SQL_INT_H
#define LH_SQL_INT_H

#include "catalog/catalog.h"
#include "parquet/parquet.h"
#include "sql.h"

#include <sqlite3.h>

struct lh_sql_engine {
    sqlite3 *db;
    struct lh_store_set *set;
    bool own_set;
    struct lh_catalog *cat;
    struct lh_sql_options opt;
    struct lh_sql_stats stats;
    bool internal;        /* our own DDL is running: the authorizer lets it through */
    int64_t deadline_ns;  /* monotonic; 0 = none */
    bool timed_out;
    char denied[256];     /* why the authorizer refused, for the error message */
    struct lh_error vt_err; /* the last error a table raised (status + message) */
    bool agg_abort;         /* a native aggregate gave up: run the statement as written */
};

/* Native GROUP BY (agg.c): a statement of the simple shape described there
 * becomes pl->sql over temp."table_as", an aggregating lakehouse table
 * created with the module arguments (dataset, version, pl->spec). */
#define LH_SQL_AGG_MAX 32       /* select items */
#define LH_SQL_AGG_NAME_MAX 256 /* a name or an item's text */
struct lh_sql_agg_plan {
    char table[LH_SQL_AGG_NAME_MAX]; /* as written: "name" or "name@N" */
    size_t naggs;
    char *spec; /* sqlite3_malloc'd */
    char *sql;
};
bool lh_sql_agg_plan(const char *sql, const char *table_as, struct lh_sql_agg_plan *pl);
void lh_sql_agg_plan_free(struct lh_sql_agg_plan *pl);

/* Registers the `lakehouse` module (vtab.c). SQLite result code. */
int lh_sql_vtab_register(struct lh_sql_engine *e);
/* Registers dec_cmp, dec_sum (funcs.c). SQLite result code. */
int lh_sql_funcs_register(sqlite3 *db);

/* Shortest text that reads back as the same double ("%.17g" at worst). */
size_t lh_sql_fmt_double(double d, char *out, size_t cap);
/* "-12.50" from an unscaled value and scale. */
size_t lh_sql_fmt_decimal(lh_i128 v, int scale, char *out, size_t cap);
size_t lh_sql_fmt_date(int64_t days, char *out, size_t cap);
/* "YYYY-MM-DDTHH:MM:SS[.ffffff]" + "Z" when utc. */
size_t lh_sql_fmt_timestamp(int64_t us, bool utc, char *out, size_t cap);
size_t lh_sql_fmt_time(int64_t us, char *out, size_t cap);
size_t lh_sql_fmt_uuid(const uint8_t *b, char *out, size_t cap);
/* Appends s as a JSON string (invalid UTF-8 bytes become U+FFFD). */
void lh_sql_json_str(struct lh_buf *b, const char *s, size_t n);

#endif
