/*
 * sql_int.h — private to src/sql: the engine as its files share it, the
 * result-value conversion (value.c) and the text formatting (fmt.c).
 */
#ifndef LH_SQL_INT_H
#define LH_SQL_INT_H

#include "catalog/catalog.h"
#include "ddb.h"
#include "sql.h"

#include <pthread.h>

/* One part of one dataset version, as handed to DuckDB. */
struct lh_sql_part {
    const char *bucket, *key; /* catalog object */
    uint64_t size_bytes;      /* catalog's size */
    const char *checksum;     /* catalog's "crc32:…", NULL for parts recorded before checksums */
    const char *path;         /* local file DuckDB reads (the store's file, or the cache copy) */
    bool remote;              /* path is a cache copy of an S3 object */
};

struct lh_sql_version {
    uint64_t version;
    struct lh_sql_part *parts;
    size_t nparts;
};

struct lh_sql_dataset {
    const char *name;
    uint64_t current;
    struct lh_sql_version *versions;
    size_t nversions;
    bool has_view;          /* the current version's view exists */
    struct lh_error broken; /* why there is no view (LH_OK: there is, or the dataset is empty) */
};

struct lh_sql_engine {
    const struct lh_ddb *d;
    ddb_database db;
    ddb_connection con;
    struct lh_store_set *set;
    bool own_set;
    struct lh_catalog *cat;
    struct lh_sql_options opt;
    char cache_dir[1024];
    struct lh_arena arena; /* datasets, versions, parts, paths */
    struct lh_sql_dataset *ds;
    size_t nds;
    struct lh_error scan_err; /* what a replacement scan refused during the last prepare */
    bool creating_views;      /* the scan checks sizes only (views bind, nothing is read) */

    /* the watchdog: interrupts the connection past the deadline */
    pthread_t wd;
    bool wd_started, wd_stop, timed_out;
    int64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none armed */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* engine.c: readies a version's parts for DuckDB (S3: fetch into the cache)
 * and checks each one (part_check): its size, and when `whole` its bytes
 * against the catalog checksum (once per file identity in the process). */
enum lh_status lh_sql_version_ready(struct lh_sql_engine *e, const struct lh_sql_dataset *ds,
                                    const struct lh_sql_version *v, bool whole,
                                    struct lh_error *err);

/* value.c: a result column's type, resolved once per statement. */
struct lh_sql_ctype {
    int id;       /* enum ddb_type */
    int phys;     /* DECIMAL/ENUM: the internal storage type */
    int scale;    /* DECIMAL */
    bool json;    /* VARCHAR with the JSON alias */
    char **dict;  /* ENUM dictionary (duckdb_free'd strings) */
    size_t ndict;
    uint64_t array_size;
    struct lh_sql_ctype *child; /* LIST/ARRAY: 1; STRUCT/UNION/MAP: nchild (MAP: key, value) */
    char **names;               /* STRUCT/UNION member names */
    size_t nchild;
    char name[160];             /* DuckDB's spelling of the type */
};
enum lh_status lh_sql_ctype_init(const struct lh_ddb *d, ddb_ltype t, struct lh_sql_ctype *out,
                                 struct lh_error *err);
void lh_sql_ctype_free(const struct lh_ddb *d, struct lh_sql_ctype *t);
/* Row `row` of vector v as a value; text goes to scratch (the value points
 * into it: call lh_sql_value_fix after the last append of a row). */
void lh_sql_value_get(const struct lh_ddb *d, const struct lh_sql_ctype *t, ddb_vector v,
                      uint64_t row, struct lh_buf *scratch, struct lh_sql_value *out);
/* Turns scratch offsets stored in p into pointers into scratch->data. */
void lh_sql_value_fix(struct lh_sql_value *vals, size_t n, const struct lh_buf *scratch);

/* Shortest text that reads back as the same double ("%.17g" at worst). */
size_t lh_sql_fmt_double(double d, char *out, size_t cap);
size_t lh_sql_fmt_date(int64_t days, char *out, size_t cap);
/* "YYYY-MM-DD HH:MM:SS[.ffffff]" + "+00" when utc (DuckDB's text form). */
size_t lh_sql_fmt_timestamp(int64_t us, bool utc, char *out, size_t cap);
size_t lh_sql_fmt_time(int64_t us, char *out, size_t cap);
size_t lh_sql_fmt_uuid(const uint8_t *b, char *out, size_t cap);

#endif
