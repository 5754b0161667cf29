/*
 * vtab.c — the `lakehouse` SQLite virtual-table module: one table per
 * dataset version, reading its Parquet parts through the store.
 *
 *   CREATE VIRTUAL TABLE temp."orders@3" USING lakehouse(orders, 3)
 *
 * (the engine issues these itself, per statement; version 0 = current).
 * xCreate reads the catalog record and the first part's footer: the columns
 * are that footer's schema, and every other part must agree (checked when
 * the scan reaches it). Declared types carry the lakehouse type name
 * ("BIGINT", "DECIMAL(12,2)", "TIMESTAMPTZ"), which also fixes SQLite's
 * column affinity (INT → INTEGER, FLOAT/DOUBLE → REAL, VARCHAR → TEXT,
 * BLOB → none, the rest NUMERIC).
 *
 * Integrity (docs/sql.md, "Damaged parts"): part_open compares each
 * part's size with its catalog entry, reads a small part whole and checks
 * its checksum, and names the dataset, version and part in every error a
 * part raises; page CRCs are the reader's.
 *
 * Reading: a cursor walks parts → row groups → rows. A column chunk is
 * decoded (into the cursor's arena, reset per row group) only when SQLite
 * first asks for that column in that row group, so a query decodes only
 * the columns it uses (a subset of colUsed) and count(*) decodes none.
 *
 * Pruning: xBestIndex hands every usable =, <, <=, >, >=, IS, IS NULL,
 * IS NOT NULL and IN constraint to xFilter; before a row group is read its
 * statistics are compared with the constraint values under SQLite's own
 * comparison rules (storage class order, numeric affinity applied to the
 * value for numeric/NUMERIC columns, BINARY collation only). Where the
 * column's SQL representation does not preserve the Parquet order
 * (decimals as text, uint64 past INT64_MAX, lists, JSON, non-MICROS
 * times) nothing is pruned. Pruning only has to be conservative.
 *
 * Row filters: =, <, <=, >, >= and IN on integer, float and bool columns
 * are also checked per row in C (row_passes; `a <= col <= b` on one signed
 * integer column as one bounds check), so rows that cannot match never
 * reach SQLite. The check is SQLite's comparison (same helpers as
 * pruning), and where it is exact by construction (an integer literal,
 * known at plan time through sqlite3_vtab_rhs_value, against an integer
 * column) the constraint is marked omitted and SQLite does not read the
 * column again; every other constraint SQLite re-checks.
 *
 * Grouped scan: for GROUP BY or DISTINCT on one column see grouped_build.
 *
 * Aggregating table: lakehouse(dataset, version, 'spec'), created only by
 * the engine for a simple GROUP BY (agg.c), has the grouping column and one
 * column per aggregate, and yields one row per group (see agg_filter).
 *
 * LIMIT/OFFSET: consumed only when SQLite passes them and nothing else
 * filters or orders the rows (no other constraint, no ORDER BY). OFFSET is
 * then marked omitted (SQLite must not skip the rows a second time) and
 * whole row groups inside it are skipped without decoding.
 *
 * Threads: a table and its cursors belong to the engine's thread.
 */
#include "sql_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define OP_IN 1000 /* an EQ handled all at once (sqlite3_vtab_in) */

enum aff { AFF_NUM, AFF_TEXT, AFF_BLOB };

struct part {
    struct lh_store *st;             /* borrowed from the engine's store set */
    struct lh_catalog_object_info o; /* its catalog entry; strings in the table's arena */
};

/* Parts up to this size are read whole (see part_open). */
#define WHOLE_PART_MAX ((uint64_t)16 << 20)

struct lh_vtab {
    sqlite3_vtab base;
    struct lh_sql_engine *e;
    const char *dataset;
    uint64_t version;
    struct part *parts;
    size_t nparts;
    size_t ncols;
    struct lh_field *fields;               /* names in arena */
    struct lh_parquet_column_info *cinfo;  /* copies */
    uint8_t *aff;
    double *rowbytes; /* decoded bytes per row, estimated from part 0 (grouped scan budget) */
    int64_t est_rows;
    struct lh_arena arena;
    /* aggregating table (agg.c): group by column agg_g, aggregates aggs */
    bool agg;
    int agg_g;
    size_t nagg;
    struct agg_item *aggs;
};

struct agg_item {
    char code; /* C count(*), N count, S sum, T total, A avg, m min, M max */
    int col;   /* -1 for count(*) */
};

struct obj_input {
    struct lh_store *st;
    const char *key;
    uint8_t *whole; /* the part read whole and verified, or NULL; freed by reader_close */
};

struct cons {
    int op, col;
    sqlite3_value **vals; /* dups; IN has several */
    int nvals;
    bool rowf;    /* also checked per row in C (row_passes) */
    bool fast;    /* ... as one int64 comparison with ival */
    int64_t ival;
};

/* Grouped scan (see grouped_build): the selected rows of every row group
 * decoded at once, then handed out grouped (and sorted) by one column. */
#define GEND UINT32_MAX

struct grp_rg {
    struct lh_array *cols; /* ncols; only the used columns are filled */
    uint32_t start, n;     /* global index of row 0; rows */
    int64_t rowid;         /* rowid of row 0 */
};

struct gkey {
    bool used, txt;
    uint64_t h;
    int64_t i;
    const uint8_t *p;
    uint32_t n;
    uint32_t head, tail;
};

struct grouped {
    bool on, desc;
    int col;
    uint64_t used;         /* colUsed */
    struct lh_arena arena; /* decoded columns and next[] */
    struct grp_rg *rgs;
    size_t nrgs, caprgs;
    struct gkey *keys;     /* open addressing; cap a power of two */
    size_t nkeys, capkeys;
    uint32_t *next;        /* per global row: next row with the same key, or GEND */
    size_t capnext;
    uint32_t null_head, null_tail;
    struct gkey **order;   /* keys in output order, NULL for the NULL group */
    size_t norder, pos;
    /* more distinct keys than the key table may hold (max_decode / 16):
     * the selected rows are sorted by key instead (perm, 12 bytes a row) */
    bool many;
    uint32_t *perm, *rgof; /* selected rows in output order; row group of each row */
    size_t nperm;
    uint32_t cur;          /* global index of the current row */
    size_t rg;             /* its row group (index into rgs) */
};

struct lh_cursor {
    sqlite3_vtab_cursor base;
    struct lh_vtab *t;
    struct obj_input in;
    struct lh_parquet_reader *r;
    const struct lh_parquet_file_info *info;
    size_t part;
    int32_t rg;
    int64_t row, rg_rows, rowid;
    bool eof;
    struct lh_arena arena;
    struct lh_array *cols;
    uint8_t *decoded;
    struct cons *cons;
    int ncons;
    int nrowf; /* constraints checked per row in C */
    int rng_col; /* >= 0: every row filter is `rng_lo <= col <= rng_hi` on this INT32/INT64 column */
    int64_t rng_lo, rng_hi;
    int64_t limit, offset, emitted;
    struct lh_buf tmp;
    struct grouped g;
    struct aggst *A; /* aggregating table: the groups */
};

static int agg_filter(struct lh_cursor *c);
static void agg_free(struct lh_cursor *c);
static int agg_column(struct lh_cursor *c, sqlite3_context *ctx, int col);
static enum lh_status agg_spec(struct lh_vtab *t, const char *spec, struct lh_error *err);

static bool grouped_type(const struct lh_field *f);
static bool col_used(uint64_t used, size_t col);
static void grouped_free(struct lh_cursor *c);

/* ------------------------------------------------------------------ helpers */

static int vt_fail(sqlite3_vtab *vt, struct lh_sql_engine *e, const struct lh_error *err)
{
    if (e)
        e->vt_err = *err;
    sqlite3_free(vt->zErrMsg);
    vt->zErrMsg = sqlite3_mprintf("%s", err->msg);
    return SQLITE_ERROR;
}

/* Prefixes err with the dataset, version and part it came from. */
static void part_error(const struct lh_vtab *t, size_t i, struct lh_error *err)
{
    lh_error_prefix(err, "dataset %s version %" PRIu64 ", part %s", t->dataset, t->version,
                    t->parts[i].o.key);
}

static enum lh_status obj_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                                  struct lh_error *err)
{
    struct obj_input *in = ctx;
    return lh_store_get_range(in->st, in->key, off, buf, n, err);
}

/* Opens part i of table t, checked against its catalog entry (docs/sql.md,
 * "Damaged parts"): the object's size always (the stat the reader needs
 * anyway). With `verify`, a part of at most WHOLE_PART_MAX bytes is read
 * whole — one request instead of one per column chunk — its checksum
 * checked, and decoded from memory (in->whole); larger parts are read by
 * ranges and rely on the page CRCs the reader checks. The checks are
 * lh_catalog_object_check's, so any engine can make the same ones. Every
 * error names the dataset, version and part. */
static enum lh_status part_open(struct lh_vtab *t, size_t i, bool verify, struct obj_input *in,
                                struct lh_parquet_reader **r, struct lh_error *err)
{
    const struct part *pt = &t->parts[i];
    *in = (struct obj_input){.st = pt->st, .key = pt->o.key};
    uint64_t size;
    uint8_t *data = NULL;
    size_t len = 0;
    enum lh_status s = lh_store_stat(in->st, in->key, &size, err);
    if (s != LH_OK)
        goto fail_named;
    if (verify && pt->o.checksum && size == pt->o.size_bytes && size <= WHOLE_PART_MAX &&
        !t->e->opt.no_whole_parts) {
        if ((s = lh_store_get(in->st, in->key, (size_t)size, &data, &len, NULL, err)) != LH_OK)
            goto fail_named;
        uint32_t crc = lh_crc32(0, data, len);
        if ((s = lh_catalog_object_check(t->dataset, t->version, &pt->o, len, &crc, err)) != LH_OK)
            goto fail; /* the message names the part */
        s = lh_parquet_reader_open_mem(data, len, r, err);
    } else {
        if ((s = lh_catalog_object_check(t->dataset, t->version, &pt->o, size, NULL, err)) != LH_OK)
            goto fail;
        struct lh_parquet_input pin = {.ctx = in, .size = size, .read_at = obj_read_at};
        s = lh_parquet_reader_open(&pin, r, err);
    }
    if (s != LH_OK)
        goto fail_named;
    in->whole = data;
    t->e->stats.files_opened++;
    return LH_OK;
fail_named:
    part_error(t, i, err);
fail:
    free(data);
    return s;
}

static const char *decl_type(const struct lh_field *f, char *buf, size_t cap)
{
    if (f->is_list)
        return "JSON";
    switch (f->type) {
    case LH_T_BOOL: return "BOOLEAN";
    case LH_T_INT8: return "TINYINT";
    case LH_T_INT16: return "SMALLINT";
    case LH_T_INT32: return "INTEGER";
    case LH_T_INT64: return "BIGINT";
    case LH_T_UINT8: return "UTINYINT";
    case LH_T_UINT16: return "USMALLINT";
    case LH_T_UINT32: return "UINTEGER";
    case LH_T_UINT64: return "UBIGINT";
    case LH_T_FLOAT: return "FLOAT";
    case LH_T_DOUBLE: return "DOUBLE";
    case LH_T_STRING: return "VARCHAR";
    case LH_T_ENUM: return "VARCHAR";
    case LH_T_JSON: return "JSON";
    case LH_T_BINARY: return "BLOB";
    case LH_T_FIXED: return "BLOB";
    case LH_T_UUID: return "UUID";
    case LH_T_DATE: return "DATE";
    case LH_T_TIME: return "TIME";
    case LH_T_TIMESTAMP: return f->ts_utc ? "TIMESTAMPTZ" : "TIMESTAMP";
    case LH_T_DECIMAL:
        snprintf(buf, cap, "DECIMAL(%u,%u)", f->precision, f->scale);
        return buf;
    default: return "BLOB";
    }
}

static enum aff decl_aff(const struct lh_field *f)
{
    if (f->is_list)
        return AFF_NUM; /* "JSON" */
    switch (f->type) {
    case LH_T_STRING:
    case LH_T_ENUM: return AFF_TEXT;
    case LH_T_BINARY:
    case LH_T_FIXED: return AFF_BLOB;
    default: return AFF_NUM;
    }
}

static bool field_same(const struct lh_field *a, const struct lh_field *b)
{
    return strcmp(a->name, b->name) == 0 && a->type == b->type && a->is_list == b->is_list &&
           a->ts_utc == b->ts_utc && a->precision == b->precision && a->scale == b->scale &&
           a->fixed_len == b->fixed_len;
}

/* Decoded bytes per row of column i, roughly: the fixed width, or for
 * variable-length values 4 (offset) + the mean of the statistics' min and
 * max lengths or the uncompressed chunk size per row, whichever is larger
 * (64 without either); lists 64. Only sizes the grouped scan's budget. */
static double est_rowbytes(const struct lh_parquet_file_info *fi, size_t i)
{
    const struct lh_field *f = &fi->schema.fields[i];
    size_t w = lh_type_width(f);
    if (f->is_list)
        return 64;
    if (w)
        return (double)w + 0.125;
    double sum = 0, rows = 0;
    for (int32_t g = 0; g < fi->num_row_groups; g++) {
        const struct lh_parquet_row_group_info *rg = &fi->row_groups[g];
        const struct lh_parquet_chunk_info *ch = &rg->chunks[i];
        if (rg->num_rows <= 0)
            continue;
        double per = (double)ch->total_uncompressed_size / (double)rg->num_rows;
        double mid = ch->stats.has_min_max ? (ch->stats.min_len + ch->stats.max_len) / 2.0 : 64;
        sum += (per > mid ? per : mid) * (double)rg->num_rows;
        rows += (double)rg->num_rows;
    }
    return 4.125 + (rows > 0 ? sum / rows : 64);
}

/* ------------------------------------------------------------------ create */

static int vt_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
                     sqlite3_vtab **out, char **errmsg)
{
    struct lh_sql_engine *e = aux;
    struct lh_error err;
    lh_error_clear(&err);
    struct lh_catalog_record rec;
    bool have_rec = false;
    struct lh_parquet_reader *r = NULL;
    struct lh_vtab *t = NULL;
    sqlite3_str *ddl = NULL;
    if (argc != 5 && argc != 6) {
        lh_error_set(&err, LH_E_INVAL, "usage: lakehouse(dataset, version)");
        goto fail;
    }
    const char *name = argv[3];
    int64_t want = 0;
    if (lh_store_name_check(name, &err) != LH_OK)
        goto fail;
    if (!lh_parse_i64(argv[4], &want) || want < 0) {
        lh_error_set(&err, LH_E_INVAL, "bad version '%s'", argv[4]);
        goto fail;
    }
    if (lh_catalog_dataset_get(e->cat, name, &rec, &err) != LH_OK)
        goto fail;
    have_rec = true;
    const struct lh_catalog_version_info *v = NULL;
    if (want == 0) {
        v = lh_catalog_record_current(&rec);
        if (!v) {
            lh_error_set(&err, LH_E_NOTFOUND, "dataset %s has no versions", name);
            goto fail;
        }
    } else {
        for (size_t i = 0; i < rec.nversions; i++)
            if (rec.versions[i].version == (uint64_t)want)
                v = &rec.versions[i];
        if (!v) {
            lh_error_set(&err, LH_E_NOTFOUND,
                         "dataset %s has no version %" PRId64 " (kept versions: %" PRIu64
                         "..%" PRIu64 ")",
                         name, want, rec.nversions ? rec.versions[0].version : 0,
                         rec.nversions ? rec.versions[rec.nversions - 1].version : 0);
            goto fail;
        }
    }
    if (v->nobjects == 0) {
        lh_error_set(&err, LH_E_NOTFOUND, "dataset %s version %" PRIu64 " has no parts", name,
                     v->version);
        goto fail;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        lh_error_set(&err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    lh_arena_init(&t->arena, 0);
    t->e = e;
    t->version = v->version;
    t->est_rows = (int64_t)v->row_count;
    t->dataset = lh_arena_strndup(&t->arena, name, strlen(name));
    t->nparts = v->nobjects;
    t->parts = lh_arena_alloc(&t->arena, v->nobjects * sizeof *t->parts);
    if (!t->dataset || !t->parts) {
        lh_error_set(&err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < v->nobjects; i++) {
        const struct lh_catalog_object_info *o = &v->objects[i];
        if (lh_store_set_get(e->set, o->bucket ? o->bucket : "primary", &t->parts[i].st, &err) !=
            LH_OK)
            goto fail;
        t->parts[i].o = *o;
        t->parts[i].o.key = lh_arena_strndup(&t->arena, o->key, strlen(o->key));
        t->parts[i].o.checksum =
            o->checksum ? lh_arena_strndup(&t->arena, o->checksum, strlen(o->checksum)) : NULL;
        t->parts[i].o.bucket = t->parts[i].o.created_at = NULL; /* not kept */
        if (!t->parts[i].o.key || (o->checksum && !t->parts[i].o.checksum)) {
            lh_error_set(&err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    /* the schema: part 0's footer, by ranges (the cursor verifies the part) */
    struct obj_input in;
    if (part_open(t, 0, false, &in, &r, &err) != LH_OK) {
        if (err.status == LH_E_NOTFOUND) /* a damaged version, not a missing dataset */
            lh_catalog_part_missing(name, v->version, v->objects[0].bucket, v->objects[0].key,
                                    &err);
        goto fail;
    }
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
    t->ncols = fi->schema.nfields;
    t->fields = lh_arena_alloc(&t->arena, (t->ncols ? t->ncols : 1) * sizeof *t->fields);
    t->cinfo = lh_arena_alloc(&t->arena, (t->ncols ? t->ncols : 1) * sizeof *t->cinfo);
    t->aff = lh_arena_alloc(&t->arena, t->ncols ? t->ncols : 1);
    t->rowbytes = lh_arena_alloc(&t->arena, (t->ncols ? t->ncols : 1) * sizeof *t->rowbytes);
    if (!t->fields || !t->cinfo || !t->aff || !t->rowbytes) {
        lh_error_set(&err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    ddl = sqlite3_str_new(db);
    sqlite3_str_appendall(ddl, "CREATE TABLE x(");
    for (size_t i = 0; i < t->ncols; i++) {
        t->fields[i] = fi->schema.fields[i];
        t->fields[i].name = lh_arena_strndup(&t->arena, fi->schema.fields[i].name,
                                             strlen(fi->schema.fields[i].name));
        if (!t->fields[i].name) {
            lh_error_set(&err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
        t->cinfo[i] = fi->columns[i];
        t->aff[i] = (uint8_t)decl_aff(&t->fields[i]);
        t->rowbytes[i] = est_rowbytes(fi, i);
        char tb[40];
        if (argc == 5)
            sqlite3_str_appendf(ddl, "%s\"%w\" %s", i ? ", " : "", t->fields[i].name,
                                decl_type(&t->fields[i], tb, sizeof tb));
    }
    if (argc == 6) {
        /* aggregating: the grouping column, then one untyped column an aggregate */
        if (agg_spec(t, argv[5], &err) != LH_OK)
            goto fail;
        char tb[40];
        sqlite3_str_appendf(ddl, "\"%w\" %s", t->fields[t->agg_g].name,
                            decl_type(&t->fields[t->agg_g], tb, sizeof tb));
        for (size_t k = 0; k < t->nagg; k++)
            sqlite3_str_appendf(ddl, ", \"__lh_a%d\"", (int)k);
    }
    sqlite3_str_appendall(ddl, ")");
    char *sql = sqlite3_str_finish(ddl);
    ddl = NULL;
    if (!sql) {
        lh_error_set(&err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    int rc = sqlite3_declare_vtab(db, sql);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        lh_error_set(&err, LH_E_INVAL, "dataset %s: %s", name, sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    lh_parquet_reader_close(r);
    lh_catalog_record_free(&rec);
    *out = &t->base;
    return SQLITE_OK;
fail:
    if (ddl)
        sqlite3_free(sqlite3_str_finish(ddl));
    lh_parquet_reader_close(r);
    if (have_rec)
        lh_catalog_record_free(&rec);
    if (t) {
        lh_arena_free(&t->arena);
        free(t);
    }
    e->vt_err = err;
    *errmsg = sqlite3_mprintf("%s", err.msg);
    return SQLITE_ERROR;
}

static int vt_disconnect(sqlite3_vtab *vt)
{
    struct lh_vtab *t = (struct lh_vtab *)vt;
    lh_arena_free(&t->arena);
    free(t);
    return SQLITE_OK;
}

/* ------------------------------------------------------------------ planning */

/* Columns whose every value is an SQLite INTEGER (no text, no NaN). */
static bool int_column(const struct lh_field *f)
{
    if (f->is_list)
        return false;
    switch (f->type) {
    case LH_T_BOOL:
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_INT64:
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: return true;
    default: return false;
    }
}

static bool op_supported(int op)
{
    switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ:
    case SQLITE_INDEX_CONSTRAINT_GT:
    case SQLITE_INDEX_CONSTRAINT_LE:
    case SQLITE_INDEX_CONSTRAINT_LT:
    case SQLITE_INDEX_CONSTRAINT_GE:
    case SQLITE_INDEX_CONSTRAINT_IS:
    case SQLITE_INDEX_CONSTRAINT_ISNULL:
    case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return true;
    default: return false;
    }
}

static int vt_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    struct lh_vtab *t = (struct lh_vtab *)vt;
    if (t->agg) {
        /* constraints on its columns are on the groups: SQLite checks them */
        info->estimatedCost = (double)(t->est_rows > 0 ? t->est_rows : 1000);
        info->estimatedRows = 100;
        return SQLITE_OK;
    }
    sqlite3_str *s = sqlite3_str_new(NULL);
    int argc = 0, limit_i = -1, offset_i = -1;
    bool other = false;
    double cost = (double)(t->est_rows > 0 ? t->est_rows : 1000) + 10;
    double rows = cost;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
            limit_i = c->usable ? i : -2;
            continue;
        }
        if (c->op == SQLITE_INDEX_CONSTRAINT_OFFSET) {
            offset_i = c->usable ? i : -2;
            continue;
        }
        other = true;
        if (!c->usable || c->iColumn < 0 || (size_t)c->iColumn >= t->ncols || !op_supported(c->op))
            continue;
        if (t->fields[c->iColumn].is_list)
            continue;
        bool cmp = c->op != SQLITE_INDEX_CONSTRAINT_ISNULL &&
                   c->op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL;
        if (cmp && t->aff[c->iColumn] == AFF_TEXT) {
            const char *coll = sqlite3_vtab_collation(info, i);
            if (coll && sqlite3_stricmp(coll, "BINARY") != 0)
                continue;
        }
        int op = c->op;
        if (op == SQLITE_INDEX_CONSTRAINT_EQ && sqlite3_vtab_in(info, i, -1)) {
            sqlite3_vtab_in(info, i, 1);
            op = OP_IN;
        }
        info->aConstraintUsage[i].argvIndex = ++argc;
        /* An integer literal compared with an integer column is checked
         * exactly per row in C (row_passes / the bounds check): SQLite
         * need not read the column and compare again. */
        sqlite3_value *rhs = NULL;
        bool omit = op != OP_IN && op != SQLITE_INDEX_CONSTRAINT_IS && cmp &&
                    int_column(&t->fields[c->iColumn]) &&
                    sqlite3_vtab_rhs_value(info, i, &rhs) == SQLITE_OK && rhs &&
                    sqlite3_value_type(rhs) == SQLITE_INTEGER;
        info->aConstraintUsage[i].omit = omit;
        sqlite3_str_appendf(s, "%d,%d%s;", op, c->iColumn, omit ? ",o" : "");
        if (op == SQLITE_INDEX_CONSTRAINT_EQ || op == OP_IN || op == SQLITE_INDEX_CONSTRAINT_IS)
            cost /= 20, rows /= 20;
        else
            cost /= 2, rows /= 2;
    }
    if (!other && info->nOrderBy == 0) {
        if (limit_i >= 0) {
            info->aConstraintUsage[limit_i].argvIndex = ++argc;
            sqlite3_str_appendf(s, "L;");
        }
        if (offset_i >= 0) {
            info->aConstraintUsage[offset_i].argvIndex = ++argc;
            info->aConstraintUsage[offset_i].omit = 1;
            sqlite3_str_appendf(s, "O;");
        }
    }
    /* GROUP BY / DISTINCT on one column (not a plain ORDER BY: SQLite's
     * sorter keeps only the top rows under a LIMIT) */
    if (info->nOrderBy == 1 && sqlite3_vtab_distinct(info) >= 1 && info->aOrderBy[0].iColumn >= 0 &&
        (size_t)info->aOrderBy[0].iColumn < t->ncols &&
        grouped_type(&t->fields[info->aOrderBy[0].iColumn])) {
        /* grouped scan: memory for the used columns + 4 bytes a row of links */
        int oc = info->aOrderBy[0].iColumn;
        double per = 12 + t->rowbytes[oc]; /* links, or the sort's 12 bytes a row */
        for (size_t k = 0; k < t->ncols; k++)
            if ((int)k != oc && col_used((uint64_t)info->colUsed, k))
                per += t->rowbytes[k];
        /* every row of the table: a filter that prunes no row group saves no memory */
        double all = (double)(t->est_rows > 0 ? t->est_rows : 1000);
        if (all * per <= (double)t->e->opt.max_decode / 2) {
            info->orderByConsumed = 1;
            sqlite3_str_appendf(s, "G%d,%d,%llx;", oc, info->aOrderBy[0].desc ? 1 : 0,
                                (unsigned long long)info->colUsed);
        }
    }
    info->estimatedCost = cost < 1 ? 1 : cost;
    info->estimatedRows = rows < 1 ? 1 : (sqlite3_int64)rows;
    info->idxStr = sqlite3_str_finish(s);
    info->needToFreeIdxStr = 1;
    if (!info->idxStr && argc > 0)
        return SQLITE_NOMEM;
    return SQLITE_OK;
}

/* ------------------------------------------------------------------ cursor */

static int vt_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    struct lh_vtab *t = (struct lh_vtab *)vt;
    struct lh_cursor *c = calloc(1, sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    c->t = t;
    c->cols = calloc(t->ncols ? t->ncols : 1, sizeof *c->cols);
    c->decoded = calloc(t->ncols ? t->ncols : 1, 1);
    if (!c->cols || !c->decoded) {
        free(c->cols);
        free(c->decoded);
        free(c);
        return SQLITE_NOMEM;
    }
    lh_arena_init(&c->arena, t->e->opt.max_decode);
    lh_buf_init(&c->tmp, (size_t)t->e->opt.max_length);
    c->eof = true;
    *out = &c->base;
    return SQLITE_OK;
}

static void cons_free(struct lh_cursor *c)
{
    for (int i = 0; i < c->ncons; i++) {
        for (int k = 0; k < c->cons[i].nvals; k++)
            sqlite3_value_free(c->cons[i].vals[k]);
        free(c->cons[i].vals);
    }
    free(c->cons);
    c->cons = NULL;
    c->ncons = 0;
}

static void reader_close(struct lh_cursor *c)
{
    lh_parquet_reader_close(c->r);
    c->r = NULL;
    c->info = NULL;
    free(c->in.whole);
    c->in.whole = NULL;
}

static int vt_close(sqlite3_vtab_cursor *cur)
{
    struct lh_cursor *c = (struct lh_cursor *)cur;
    reader_close(c);
    cons_free(c);
    grouped_free(c);
    agg_free(c);
    lh_arena_free(&c->arena);
    lh_buf_free(&c->tmp);
    free(c->cols);
    free(c->decoded);
    free(c);
    return SQLITE_OK;
}

/* ---- statistics → bounds in SQLite's representation of the column */

struct bound {
    int cls; /* 1 numeric, 2 text, 3 blob */
    bool is_int;
    int64_t i;
    double d;
    const uint8_t *p;
    size_t n;
    char buf[48];
};

static bool rd_i32(const uint8_t *p, uint32_t n, int32_t *v)
{
    if (n != 4)
        return false;
    memcpy(v, p, 4);
    return true;
}
static bool rd_i64(const uint8_t *p, uint32_t n, int64_t *v)
{
    if (n != 8)
        return false;
    memcpy(v, p, 8);
    return true;
}

/* The prefix "YYYY-MM-DDTHH:MM:SS" (or "HH:MM:SS") of every formatted
 * value in [lo, hi] sorts between lo's prefix and hi's prefix followed by a
 * byte above any suffix ('.', digits, 'Z'), so those bracket the text. */
static bool text_bounds_time(const struct lh_field *f, int64_t lo, int64_t hi, struct bound *b,
                             struct bound *e)
{
    size_t n1, n2;
    if (f->type == LH_T_DATE) {
        if (lo < -719528 || hi > 2932896) /* years 0000..9999 keep the text ordered */
            return false;
        n1 = lh_sql_fmt_date(lo, b->buf, sizeof b->buf);
        n2 = lh_sql_fmt_date(hi, e->buf, sizeof e->buf);
    } else if (f->type == LH_T_TIMESTAMP) {
        if (lo < -62167219200000000LL || hi > 253402300799999999LL)
            return false;
        n1 = lh_sql_fmt_timestamp(lo, false, b->buf, sizeof b->buf);
        n2 = lh_sql_fmt_timestamp(hi, false, e->buf, sizeof e->buf);
        n1 = n1 > 19 ? 19 : n1;
        n2 = n2 > 19 ? 19 : n2;
        e->buf[n2++] = '\x7f';
    } else {
        if (lo < 0 || hi >= 86400000000LL)
            return false;
        n1 = lh_sql_fmt_time(lo, b->buf, sizeof b->buf);
        n2 = lh_sql_fmt_time(hi, e->buf, sizeof e->buf);
        n1 = n1 > 8 ? 8 : n1;
        n2 = n2 > 8 ? 8 : n2;
        e->buf[n2++] = '\x7f';
    }
    b->cls = e->cls = 2;
    b->p = (const uint8_t *)b->buf, b->n = n1;
    e->p = (const uint8_t *)e->buf, e->n = n2;
    return true;
}

static bool stat_bounds(const struct lh_field *f, const struct lh_parquet_column_info *ci,
                        const struct lh_parquet_stats *st, struct bound *lo, struct bound *hi)
{
    memset(lo, 0, sizeof *lo);
    memset(hi, 0, sizeof *hi);
    if (!st->has_min_max || f->is_list)
        return false;
    int32_t a32, b32;
    int64_t a64, b64;
    switch (f->type) {
    case LH_T_BOOL:
        if (st->min_len != 1 || st->max_len != 1)
            return false;
        lo->cls = hi->cls = 1, lo->is_int = hi->is_int = true;
        lo->i = st->min[0] & 1, hi->i = st->max[0] & 1;
        return true;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32:
        if (!rd_i32(st->min, st->min_len, &a32) || !rd_i32(st->max, st->max_len, &b32))
            return false;
        lo->cls = hi->cls = 1, lo->is_int = hi->is_int = true;
        if (f->type >= LH_T_UINT8)
            lo->i = (uint32_t)a32, hi->i = (uint32_t)b32;
        else
            lo->i = a32, hi->i = b32;
        return lo->i <= hi->i;
    case LH_T_INT64:
    case LH_T_UINT64:
        if (!rd_i64(st->min, st->min_len, &a64) || !rd_i64(st->max, st->max_len, &b64))
            return false;
        if (f->type == LH_T_UINT64 && (a64 < 0 || b64 < 0)) /* past INT64_MAX: text */
            return false;
        lo->cls = hi->cls = 1, lo->is_int = hi->is_int = true;
        lo->i = a64, hi->i = b64;
        return a64 <= b64;
    case LH_T_FLOAT: {
        float x, y;
        if (st->min_len != 4 || st->max_len != 4)
            return false;
        memcpy(&x, st->min, 4);
        memcpy(&y, st->max, 4);
        if (x != x || y != y)
            return false;
        lo->cls = hi->cls = 1, lo->d = x, hi->d = y;
        return x <= y;
    }
    case LH_T_DOUBLE: {
        double x, y;
        if (st->min_len != 8 || st->max_len != 8)
            return false;
        memcpy(&x, st->min, 8);
        memcpy(&y, st->max, 8);
        if (x != x || y != y)
            return false;
        lo->cls = hi->cls = 1, lo->d = x, hi->d = y;
        return x <= y;
    }
    case LH_T_STRING:
    case LH_T_ENUM:
        lo->cls = hi->cls = 2;
        goto bytes;
    case LH_T_BINARY:
    case LH_T_FIXED:
        lo->cls = hi->cls = 3;
    bytes:
        lo->p = st->min, lo->n = st->min_len, hi->p = st->max, hi->n = st->max_len;
        return true;
    case LH_T_UUID:
        if (st->min_len != 16 || st->max_len != 16)
            return false;
        lo->cls = hi->cls = 2;
        lo->n = lh_sql_fmt_uuid(st->min, lo->buf, sizeof lo->buf);
        hi->n = lh_sql_fmt_uuid(st->max, hi->buf, sizeof hi->buf);
        lo->p = (const uint8_t *)lo->buf, hi->p = (const uint8_t *)hi->buf;
        return true;
    case LH_T_DATE:
        if (!rd_i32(st->min, st->min_len, &a32) || !rd_i32(st->max, st->max_len, &b32))
            return false;
        return a32 <= b32 && text_bounds_time(f, a32, b32, lo, hi);
    case LH_T_TIMESTAMP:
    case LH_T_TIME:
        if (ci->physical != LH_PQ_INT64 || !strstr(ci->logical, "MICROS"))
            return false;
        if (!rd_i64(st->min, st->min_len, &a64) || !rd_i64(st->max, st->max_len, &b64))
            return false;
        return a64 <= b64 && text_bounds_time(f, a64, b64, lo, hi);
    default: /* decimals (text is not ordered numerically), JSON: no pruning */
        return false;
    }
}

static int cmp_i_d(int64_t i, double d)
{
    if (d < -9223372036854775808.0)
        return 1;
    if (d >= 9223372036854775808.0)
        return -1;
    int64_t tr = (int64_t)d;
    if (i != tr)
        return i < tr ? -1 : 1;
    double frac = d - (double)tr;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t m = na < nb ? na : nb;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return na < nb ? -1 : na > nb ? 1 : 0;
}

/* bound vs value under SQLite's ordering (BINARY collation). */
static int cmp_bv(const struct bound *b, sqlite3_value *v)
{
    int t = sqlite3_value_type(v);
    int vc = t == SQLITE_INTEGER || t == SQLITE_FLOAT ? 1 : t == SQLITE_TEXT ? 2 : 3;
    if (b->cls != vc)
        return b->cls < vc ? -1 : 1;
    if (vc == 1) {
        if (b->is_int && t == SQLITE_INTEGER) {
            int64_t x = sqlite3_value_int64(v);
            return b->i < x ? -1 : b->i > x;
        }
        if (b->is_int)
            return cmp_i_d(b->i, sqlite3_value_double(v));
        if (t == SQLITE_INTEGER)
            return -cmp_i_d(sqlite3_value_int64(v), b->d);
        double x = sqlite3_value_double(v);
        return b->d < x ? -1 : b->d > x;
    }
    const uint8_t *p = vc == 2 ? sqlite3_value_text(v) : sqlite3_value_blob(v);
    return cmp_bytes(b->p, b->n, p, (size_t)sqlite3_value_bytes(v));
}

/* false when no row of the group can satisfy `col op v`. */
static bool value_may_match(const struct lh_vtab *t, int col, int op, sqlite3_value *v,
                            const struct bound *lo, const struct bound *hi)
{
    int vt = sqlite3_value_type(v);
    if (vt == SQLITE_NULL)
        return op == SQLITE_INDEX_CONSTRAINT_IS ? true : false; /* x op NULL is never true */
    enum aff a = (enum aff)t->aff[col];
    if (a == AFF_TEXT && vt != SQLITE_TEXT)
        return true; /* the comparison's affinity depends on the expression: don't guess */
    switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ:
    case SQLITE_INDEX_CONSTRAINT_IS:
    case OP_IN: return cmp_bv(lo, v) <= 0 && cmp_bv(hi, v) >= 0;
    case SQLITE_INDEX_CONSTRAINT_GT: return cmp_bv(hi, v) > 0;
    case SQLITE_INDEX_CONSTRAINT_GE: return cmp_bv(hi, v) >= 0;
    case SQLITE_INDEX_CONSTRAINT_LT: return cmp_bv(lo, v) < 0;
    case SQLITE_INDEX_CONSTRAINT_LE: return cmp_bv(lo, v) <= 0;
    default: return true;
    }
}

static bool rg_may_match(struct lh_cursor *c, int32_t rg)
{
    const struct lh_vtab *t = c->t;
    const struct lh_parquet_row_group_info *g = &c->info->row_groups[rg];
    for (int k = 0; k < c->ncons; k++) {
        const struct cons *cs = &c->cons[k];
        const struct lh_field *f = &t->fields[cs->col];
        const struct lh_parquet_stats *st = &g->chunks[cs->col].stats;
        bool floaty = f->type == LH_T_FLOAT || f->type == LH_T_DOUBLE; /* NaN reads as NULL */
        bool all_null = st->has_null_count && st->null_count == g->num_rows && !f->is_list;
        if (cs->op == SQLITE_INDEX_CONSTRAINT_ISNULL) {
            if (st->has_null_count && st->null_count == 0 && !floaty && !f->is_list)
                return false;
            continue;
        }
        if (cs->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
            if (all_null)
                return false;
            continue;
        }
        if (cs->op == SQLITE_INDEX_CONSTRAINT_IS && cs->nvals == 1 &&
            sqlite3_value_type(cs->vals[0]) == SQLITE_NULL) {
            if (st->has_null_count && st->null_count == 0 && !floaty && !f->is_list)
                return false;
            continue;
        }
        if (all_null) /* a comparison is never true on NULL */
            return false;
        struct bound lo, hi;
        if (!stat_bounds(f, &t->cinfo[cs->col], st, &lo, &hi))
            continue;
        bool any = false;
        for (int i = 0; i < cs->nvals && !any; i++)
            any = value_may_match(t, cs->col, cs->op, cs->vals[i], &lo, &hi);
        if (!any)
            return false;
    }
    return true;
}

static int cursor_fail(struct lh_cursor *c, const struct lh_error *err)
{
    c->eof = true;
    return vt_fail(&c->t->base, c->t->e, err);
}

/* Decodes column col of the current row group unless it already is. */
static enum lh_status ensure_col(struct lh_cursor *c, int col, struct lh_error *err)
{
    if (c->decoded[col])
        return LH_OK;
    if (lh_parquet_reader_read_column(c->r, c->rg, (size_t)col, &c->arena, &c->cols[col], err) !=
        LH_OK) {
        part_error(c->t, c->part, err);
        return err->status;
    }
    c->decoded[col] = 1;
    c->t->e->stats.columns_decoded++;
    return LH_OK;
}

/* Types whose SQL value is the number in the batch (uint64 up to
 * INT64_MAX): a constraint on them can be checked per row in C exactly as
 * SQLite would, so rows that cannot match are never handed to SQLite. */
static bool row_filterable(const struct lh_field *f, int op, int nvals)
{
    if (f->is_list || nvals < 1 || nvals > 64)
        return false;
    switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ:
    case SQLITE_INDEX_CONSTRAINT_GT:
    case SQLITE_INDEX_CONSTRAINT_GE:
    case SQLITE_INDEX_CONSTRAINT_LT:
    case SQLITE_INDEX_CONSTRAINT_LE:
    case OP_IN: break;
    default: return false;
    }
    switch (f->type) {
    case LH_T_BOOL:
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_INT64:
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32:
    case LH_T_UINT64:
    case LH_T_FLOAT:
    case LH_T_DOUBLE: return true;
    default: return false;
    }
}

/* false when row i certainly fails a row-filtered constraint (NULL never
 * satisfies =, <, <=, >, >=, IN; NaN reads as NULL). Conservative: true
 * when unsure, SQLite checks every returned row again. */
static bool row_passes(const struct lh_cursor *c, int64_t i)
{
    for (int k = 0; k < c->ncons; k++) {
        const struct cons *cs = &c->cons[k];
        if (!cs->rowf)
            continue;
        const struct lh_field *f = &c->t->fields[cs->col];
        const struct lh_array *a = &c->cols[cs->col];
        if (!lh_bit_get(a->validity, i))
            return false;
        struct bound b;
        b.cls = 1, b.is_int = true, b.d = 0;
        switch (f->type) {
        case LH_T_BOOL: b.i = ((const uint8_t *)a->values)[i] != 0; break;
        case LH_T_INT8:
        case LH_T_INT16:
        case LH_T_INT32: b.i = ((const int32_t *)a->values)[i]; break;
        case LH_T_UINT8:
        case LH_T_UINT16:
        case LH_T_UINT32: b.i = ((const uint32_t *)a->values)[i]; break;
        case LH_T_INT64: b.i = ((const int64_t *)a->values)[i]; break;
        case LH_T_UINT64: {
            uint64_t u = ((const uint64_t *)a->values)[i];
            if (u > (uint64_t)INT64_MAX)
                continue; /* text in SQL: let SQLite decide */
            b.i = (int64_t)u;
            break;
        }
        case LH_T_FLOAT:
        case LH_T_DOUBLE:
            b.is_int = false;
            b.d = f->type == LH_T_FLOAT ? ((const float *)a->values)[i]
                                        : ((const double *)a->values)[i];
            if (b.d != b.d)
                return false;
            break;
        default: continue;
        }
        if (cs->fast) {
            int64_t x = b.i, v = cs->ival;
            bool ok = cs->op == SQLITE_INDEX_CONSTRAINT_EQ   ? x == v
                      : cs->op == SQLITE_INDEX_CONSTRAINT_GT ? x > v
                      : cs->op == SQLITE_INDEX_CONSTRAINT_GE ? x >= v
                      : cs->op == SQLITE_INDEX_CONSTRAINT_LT ? x < v
                                                             : x <= v;
            if (!ok)
                return false;
            continue;
        }
        bool any = false;
        for (int v = 0; v < cs->nvals && !any; v++)
            any = value_may_match(c->t, cs->col, cs->op, cs->vals[v], &b, &b);
        if (!any)
            return false;
    }
    return true;
}

/* Moves to the next row group that may hold matching rows, or to eof. */
static int next_group(struct lh_cursor *c)
{
    struct lh_vtab *t = c->t;
    struct lh_sql_engine *e = t->e;
    struct lh_error err;
    for (;;) {
        if (c->limit >= 0 && c->emitted >= c->limit) {
            c->eof = true;
            return SQLITE_OK;
        }
        if (e->deadline_ns && lh_time_mono_ns() > e->deadline_ns) {
            e->timed_out = true;
            lh_error_set(&err, LH_E_TIMEOUT, "query time limit of %u ms exceeded",
                         e->opt.timeout_ms);
            return cursor_fail(c, &err);
        }
        if (!c->r) {
            if (c->part >= t->nparts) {
                c->eof = true;
                return SQLITE_OK;
            }
            if (part_open(t, c->part, true, &c->in, &c->r, &err) != LH_OK) {
                if (err.status == LH_E_NOTFOUND)
                    lh_catalog_part_missing(t->dataset, t->version, NULL, t->parts[c->part].o.key,
                                            &err);
                return cursor_fail(c, &err);
            }
            c->info = lh_parquet_reader_info(c->r);
            bool same = c->info->schema.nfields == t->ncols;
            for (size_t i = 0; same && i < t->ncols; i++)
                same = field_same(&c->info->schema.fields[i], &t->fields[i]);
            if (!same) {
                lh_error_set(&err, LH_E_FORMAT,
                             "dataset %s version %" PRIu64 ": part %s has a different schema "
                             "than part %s",
                             t->dataset, t->version, t->parts[c->part].o.key, t->parts[0].o.key);
                return cursor_fail(c, &err);
            }
            c->rg = -1;
        }
        c->rg++;
        if (c->rg >= c->info->num_row_groups) {
            reader_close(c);
            c->part++;
            continue;
        }
        int64_t n = c->info->row_groups[c->rg].num_rows;
        if (n <= 0)
            continue;
        if (c->offset >= n) {
            c->offset -= n;
            c->rowid += n;
            e->stats.row_groups_skipped++;
            continue;
        }
        if (!rg_may_match(c, c->rg)) {
            c->rowid += n;
            e->stats.row_groups_pruned++;
            continue;
        }
        e->stats.row_groups_read++;
        lh_arena_reset(&c->arena);
        memset(c->decoded, 0, t->ncols ? t->ncols : 1);
        c->rg_rows = n;
        c->row = c->offset;
        c->rowid += c->offset;
        c->offset = 0;
        return SQLITE_OK;
    }
}

/* Moves to the first row from c->row on (from the next row group that may
 * match when new_group) that passes the row filters, or to eof. */
static int seek(struct lh_cursor *c, bool new_group)
{
    struct lh_error err;
    for (;;) {
        if (new_group) {
            int rc = next_group(c);
            if (rc != SQLITE_OK || c->eof || !c->nrowf)
                return rc;
            for (int k = 0; k < c->ncons; k++)
                if (c->cons[k].rowf && ensure_col(c, c->cons[k].col, &err) != LH_OK)
                    return cursor_fail(c, &err);
            if (c->rng_col >= 0 && ensure_col(c, c->rng_col, &err) != LH_OK)
                return cursor_fail(c, &err);
        }
        if (!c->nrowf)
            return SQLITE_OK;
        if (c->rng_col >= 0) {
            const struct lh_array *a = &c->cols[c->rng_col];
            int64_t i = c->row, n = c->rg_rows, lo = c->rng_lo, hi = c->rng_hi;
            if (c->t->fields[c->rng_col].type == LH_T_INT64) {
                const int64_t *v = a->values;
                while (i < n && (v[i] < lo || v[i] > hi || !lh_bit_get(a->validity, i)))
                    i++;
            } else {
                const int32_t *v = a->values;
                while (i < n && (v[i] < lo || v[i] > hi || !lh_bit_get(a->validity, i)))
                    i++;
            }
            c->rowid += i - c->row;
            c->row = i;
        }
        while (c->row < c->rg_rows && !row_passes(c, c->row))
            c->row++, c->rowid++;
        if (c->row < c->rg_rows)
            return SQLITE_OK;
        new_group = true;
    }
}


/* ------------------------------------------------------------------ grouped scan */

/* When SQLite asks for rows ordered or grouped by one column (GROUP BY c,
 * DISTINCT c, ORDER BY c) and the columns the query uses fit in half of
 * max_decode, xBestIndex sets orderByConsumed and xFilter decodes every
 * selected row group at once (pruning and row filters still apply), links
 * the rows of each distinct key and hands them out key by key in SQLite's
 * order for the column (numbers numerically, text by bytes = BINARY, NULL
 * first ascending, last descending). SQLite then aggregates as it streams
 * instead of sorting every row. Only types whose SQL value sorts like the
 * batch value qualify: bool, signed ints, uint8-32, string, enum. */

static bool grouped_type(const struct lh_field *f)
{
    return int_column(f) || (!f->is_list && (f->type == LH_T_STRING || f->type == LH_T_ENUM));
}

static bool col_used(uint64_t used, size_t col)
{
    return col < 63 ? (used >> col) & 1 : (used >> 63) & 1;
}

static void grouped_free(struct lh_cursor *c)
{
    struct grouped *g = &c->g;
    lh_arena_free(&g->arena);
    free(g->rgs);
    free(g->keys);
    free(g->order);
    free(g->next);
    free(g->perm);
    free(g->rgof);
    memset(g, 0, sizeof *g);
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t hash_int(int64_t v)
{
    uint64_t x = (uint64_t)v;
    x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdull;
    x = (x ^ (x >> 33)) * 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static bool gkeys_grow(struct grouped *g)
{
    size_t cap = g->capkeys ? g->capkeys * 2 : 64;
    struct gkey *k = calloc(cap, sizeof *k);
    if (!k)
        return false;
    for (size_t i = 0; i < g->capkeys; i++) {
        if (!g->keys[i].used)
            continue;
        size_t j = g->keys[i].h & (cap - 1);
        while (k[j].used)
            j = (j + 1) & (cap - 1);
        k[j] = g->keys[i];
    }
    free(g->keys);
    g->keys = k;
    g->capkeys = cap;
    return true;
}

/* The grouping key of (non-NULL) row i of a grouped_type column: its
 * bytes (text) or its integer value, and its hash. */
struct rowkey {
    bool txt;
    int64_t i;
    const uint8_t *p;
    uint32_t n;
    uint64_t h;
};

static struct rowkey row_key(const struct lh_field *f, const struct lh_array *a, int64_t i)
{
    struct rowkey k = {.txt = f->type == LH_T_STRING || f->type == LH_T_ENUM};
    if (k.txt) {
        k.p = a->data + a->offsets[i];
        k.n = (uint32_t)(a->offsets[i + 1] - a->offsets[i]);
        k.h = hash_bytes(k.p, k.n);
        return k;
    }
    switch (f->type) {
    case LH_T_BOOL: k.i = ((const uint8_t *)a->values)[i] != 0; break;
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: k.i = ((const uint32_t *)a->values)[i]; break;
    case LH_T_INT64: k.i = ((const int64_t *)a->values)[i]; break;
    default: k.i = ((const int32_t *)a->values)[i]; break;
    }
    k.h = hash_int(k.i);
    return k;
}

/* Links row `row` (global index gi) of array a behind the rows with the same key. */
static bool grouped_add(struct grouped *g, const struct lh_field *f, const struct lh_array *a,
                        int64_t row, uint32_t gi)
{
    uint32_t *tail;
    if (!lh_bit_get(a->validity, row)) {
        if (g->null_head == GEND)
            g->null_head = gi;
        else
            g->next[g->null_tail] = gi;
        g->null_tail = gi;
        return true;
    }
    const struct rowkey rk = row_key(f, a, row);
    const bool txt = rk.txt;
    const int64_t iv = rk.i;
    const uint8_t *p = rk.p;
    const uint32_t n = rk.n;
    const uint64_t h = rk.h;
    if ((g->nkeys + 1) * 2 > g->capkeys && !gkeys_grow(g))
        return false;
    size_t j = h & (g->capkeys - 1);
    for (;; j = (j + 1) & (g->capkeys - 1)) {
        struct gkey *k = &g->keys[j];
        if (!k->used) {
            *k = (struct gkey){.used = true, .txt = txt, .h = h, .i = iv, .p = p, .n = n,
                               .head = gi, .tail = gi};
            g->nkeys++;
            return true;
        }
        if (k->h == h && (txt ? k->n == n && (n == 0 || memcmp(k->p, p, n) == 0) : k->i == iv)) {
            tail = &k->tail;
            break;
        }
    }
    g->next[*tail] = gi;
    *tail = gi;
    return true;
}

static int gkey_cmp(const void *x, const void *y)
{
    const struct gkey *a = *(struct gkey *const *)x, *b = *(struct gkey *const *)y;
    if (!a->txt)
        return a->i < b->i ? -1 : a->i > b->i;
    return cmp_bytes(a->p, a->n, b->p, b->n);
}

static size_t grouped_find_rg(const struct grouped *g, uint32_t gi)
{
    size_t lo = 0, hi = g->nrgs; /* last rg with start <= gi */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->rgs[mid].start <= gi)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Moves to the first row of the key at g->pos or a later one, or to eof. */
static void grouped_head(struct lh_cursor *c)
{
    struct grouped *g = &c->g;
    if (g->many) {
        if (g->pos >= g->nperm) {
            c->eof = true;
            return;
        }
        g->cur = g->perm[g->pos];
        g->rg = g->rgof[g->cur];
        return;
    }
    for (; g->pos < g->norder; g->pos++) {
        uint32_t h = g->order[g->pos] ? g->order[g->pos]->head : g->null_head;
        if (h != GEND) {
            g->cur = h;
            g->rg = grouped_find_rg(g, h);
            return;
        }
    }
    c->eof = true;
}

static void grouped_next(struct lh_cursor *c)
{
    struct grouped *g = &c->g;
    if (g->many) {
        g->pos++;
        grouped_head(c);
        return;
    }
    uint32_t nx = g->next[g->cur];
    if (nx == GEND) {
        g->pos++;
        grouped_head(c);
        return;
    }
    g->cur = nx; /* rows of one key come in increasing order */
    while (g->rg + 1 < g->nrgs && nx >= g->rgs[g->rg + 1].start)
        g->rg++;
}

static bool row_ok(const struct lh_cursor *c, int64_t i)
{
    if (c->rng_col >= 0) {
        const struct lh_array *a = &c->cols[c->rng_col];
        int64_t v = c->t->fields[c->rng_col].type == LH_T_INT64 ? ((const int64_t *)a->values)[i]
                                                                 : ((const int32_t *)a->values)[i];
        if (v < c->rng_lo || v > c->rng_hi || !lh_bit_get(a->validity, i))
            return false;
    }
    return row_passes(c, i);
}

/* Key of global row x against key of row y (NULL first), ties by row. */
static int row_key_cmp(const struct grouped *g, const struct lh_field *kf, uint32_t x, uint32_t y)
{
    const struct grp_rg *rx = &g->rgs[g->rgof[x]], *ry = &g->rgs[g->rgof[y]];
    const struct lh_array *ax = &rx->cols[g->col], *ay = &ry->cols[g->col];
    int64_t ix = x - rx->start, iy = y - ry->start;
    bool nx = !lh_bit_get(ax->validity, ix), ny = !lh_bit_get(ay->validity, iy);
    int c = 0;
    if (nx || ny) {
        c = nx && ny ? 0 : nx ? -1 : 1;
    } else if (kf->type == LH_T_STRING || kf->type == LH_T_ENUM) {
        c = cmp_bytes(ax->data + ax->offsets[ix], (size_t)(ax->offsets[ix + 1] - ax->offsets[ix]),
                      ay->data + ay->offsets[iy], (size_t)(ay->offsets[iy + 1] - ay->offsets[iy]));
    } else {
        int64_t vx, vy;
        switch (kf->type) {
        case LH_T_BOOL:
            vx = ((const uint8_t *)ax->values)[ix] != 0, vy = ((const uint8_t *)ay->values)[iy] != 0;
            break;
        case LH_T_UINT8:
        case LH_T_UINT16:
        case LH_T_UINT32:
            vx = ((const uint32_t *)ax->values)[ix], vy = ((const uint32_t *)ay->values)[iy];
            break;
        case LH_T_INT64:
            vx = ((const int64_t *)ax->values)[ix], vy = ((const int64_t *)ay->values)[iy];
            break;
        default:
            vx = ((const int32_t *)ax->values)[ix], vy = ((const int32_t *)ay->values)[iy];
            break;
        }
        c = vx < vy ? -1 : vx > vy;
    }
    return c ? c : x < y ? -1 : x > y;
}

/* The many-keys path: the selected rows, sorted by key (bottom-up merge sort). */
static int grouped_sort_rows(struct lh_cursor *c, uint32_t total)
{
    struct grouped *g = &c->g;
    const struct lh_field *kf = &c->t->fields[g->col];
    free(g->next);
    g->next = NULL;
    g->capnext = 0;
    g->rgof = malloc((total ? total : 1) * sizeof *g->rgof);
    g->perm = malloc((total ? total : 1) * sizeof *g->perm);
    uint32_t *tmp = malloc((total ? total : 1) * sizeof *tmp);
    if (!g->rgof || !g->perm || !tmp) {
        free(tmp);
        return SQLITE_NOMEM;
    }
    size_t m = 0;
    for (size_t r = 0; r < g->nrgs; r++) {
        const struct grp_rg *gr = &g->rgs[r];
        for (size_t col = 0; col < c->t->ncols; col++)
            if (gr->cols[col].length == gr->n)
                c->cols[col] = gr->cols[col]; /* for the row filters */
        for (uint32_t i = 0; i < gr->n; i++) {
            g->rgof[gr->start + i] = (uint32_t)r;
            if (!c->nrowf || row_ok(c, i))
                g->perm[m++] = gr->start + i;
        }
    }
    uint32_t *src = g->perm, *dst = tmp;
    for (size_t w = 1; w < m; w *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * w) {
            size_t mid = lo + w < m ? lo + w : m, hi = lo + 2 * w < m ? lo + 2 * w : m;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                dst[o++] = row_key_cmp(g, kf, src[a], src[b]) <= 0 ? src[a++] : src[b++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
        }
        uint32_t *x = src;
        src = dst, dst = x;
    }
    if (src != g->perm)
        memcpy(g->perm, src, m * sizeof *src);
    free(tmp);
    if (g->desc) /* descending keys, NULL last */
        for (size_t i = 0, j = m; i + 1 < j; i++, j--) {
            uint32_t x = g->perm[i];
            g->perm[i] = g->perm[j - 1];
            g->perm[j - 1] = x;
        }
    g->nperm = m;
    g->pos = 0;
    c->eof = false;
    grouped_head(c);
    return SQLITE_OK;
}

static int grouped_fail(struct lh_cursor *c, const char *what)
{
    struct lh_error err;
    lh_error_set(&err, LH_E_TOOBIG,
                 "grouped scan of dataset %s: %s (max_decode is %zu bytes)", c->t->dataset, what,
                 c->t->e->opt.max_decode);
    return cursor_fail(c, &err);
}

/* Decodes every selected row and links the rows of each key (see above). */
static int grouped_build(struct lh_cursor *c)
{
    struct grouped *g = &c->g;
    struct lh_vtab *t = c->t;
    struct lh_error err;
    const struct lh_field *kf = &t->fields[g->col];
    size_t cap = t->e->opt.max_decode;
    uint32_t total = 0;
    g->null_head = g->null_tail = GEND;
    for (;;) {
        int rc = next_group(c);
        if (rc != SQLITE_OK)
            return rc;
        if (c->eof)
            break;
        int64_t n = c->rg_rows;
        if (n >= (int64_t)(GEND - 1 - total))
            return grouped_fail(c, "more than 4 billion rows");
        if (g->nrgs == g->caprgs) {
            size_t nc = g->caprgs ? g->caprgs * 2 : 16;
            struct grp_rg *nr = realloc(g->rgs, nc * sizeof *nr);
            if (!nr)
                return SQLITE_NOMEM;
            g->rgs = nr, g->caprgs = nc;
        }
        if (total + (size_t)n > g->capnext) {
            size_t nc = g->capnext ? g->capnext : (size_t)n;
            while (nc < total + (size_t)n)
                nc *= 2;
            uint32_t *nx = realloc(g->next, nc * sizeof *nx);
            if (!nx)
                return SQLITE_NOMEM;
            g->next = nx, g->capnext = nc;
        }
        if (g->arena.used + g->capnext * 4 + g->capkeys * sizeof(struct gkey) > cap)
            return grouped_fail(c, "the selected columns do not fit");
        struct grp_rg *gr = &g->rgs[g->nrgs];
        gr->cols = lh_arena_alloc(&g->arena, (t->ncols ? t->ncols : 1) * sizeof *gr->cols);
        if (!gr->cols)
            return grouped_fail(c, "the selected columns do not fit");
        for (size_t col = 0; col < t->ncols; col++) {
            bool need = col_used(g->used, col) || (int)col == g->col || (int)col == c->rng_col;
            for (int k = 0; k < c->ncons && !need; k++)
                need = c->cons[k].rowf && c->cons[k].col == (int)col;
            if (!need)
                continue;
            if (lh_parquet_reader_read_column(c->r, c->rg, col, &g->arena, &gr->cols[col], &err) !=
                LH_OK) {
                part_error(t, c->part, &err);
                return cursor_fail(c, &err);
            }
            t->e->stats.columns_decoded++;
            c->cols[col] = gr->cols[col]; /* for the row filters */
        }
        gr->start = total;
        gr->n = (uint32_t)n;
        gr->rowid = c->rowid;
        for (int64_t r = 0; r < n; r++) {
            g->next[total + r] = GEND;
            if (c->nrowf && !row_ok(c, r))
                continue;
            if (g->many)
                continue;
            if (!grouped_add(g, kf, &gr->cols[g->col], r, total + (uint32_t)r))
                return SQLITE_NOMEM;
            if (g->capkeys * sizeof(struct gkey) > cap / 16) { /* too many keys: sort instead */
                g->many = true;
                free(g->keys);
                g->keys = NULL;
                g->capkeys = g->nkeys = 0;
            }
        }
        total += (uint32_t)n;
        c->rowid += n;
        g->nrgs++;
    }
    if (g->many && g->arena.used + (size_t)total * 12 > cap)
        return grouped_fail(c, "too many distinct keys to sort");
    if (g->many)
        return grouped_sort_rows(c, total);
    g->order = malloc((g->nkeys + 1) * sizeof *g->order);
    if (!g->order)
        return SQLITE_NOMEM;
    size_t m = 0;
    if (!g->desc)
        g->order[m++] = NULL;
    size_t first = m;
    for (size_t i = 0; i < g->capkeys; i++)
        if (g->keys[i].used)
            g->order[m++] = &g->keys[i];
    qsort(g->order + first, m - first, sizeof *g->order, gkey_cmp);
    if (g->desc) {
        for (size_t i = first, j = m; i + 1 < j; i++, j--) {
            struct gkey *x = g->order[i];
            g->order[i] = g->order[j - 1];
            g->order[j - 1] = x;
        }
        g->order[m++] = NULL;
    }
    g->norder = m;
    g->pos = 0;
    c->eof = false;
    grouped_head(c);
    return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                     sqlite3_value **argv)
{
    (void)idxNum;
    struct lh_cursor *c = (struct lh_cursor *)cur;
    struct lh_error err;
    reader_close(c);
    cons_free(c);
    grouped_free(c);
    agg_free(c);
    c->part = 0;
    c->rowid = 0;
    c->eof = false;
    c->limit = -1;
    c->offset = 0;
    c->emitted = 0;
    c->nrowf = 0;
    c->cons = calloc((size_t)argc + 1, sizeof *c->cons);
    if (!c->cons)
        return SQLITE_NOMEM;
    if (c->t->agg) {
        c->rng_col = -1;
        return agg_filter(c);
    }
    const char *p = idxStr ? idxStr : "";
    for (int a = 0; a < argc && *p; a++) {
        if (*p == 'L' || *p == 'O') {
            int64_t v = sqlite3_value_int64(argv[a]);
            if (*p == 'L')
                c->limit = sqlite3_value_type(argv[a]) == SQLITE_INTEGER && v >= 0 ? v : -1;
            else
                c->offset = v > 0 ? v : 0;
            p += 2;
            continue;
        }
        char *end;
        long op = strtol(p, &end, 10);
        long col = strtol(end + 1, &end, 10);
        bool omitted = end[0] == ',' && end[1] == 'o';
        p = end + (omitted ? 3 : 1);
        struct cons *cs = &c->cons[c->ncons++];
        cs->op = (int)op, cs->col = (int)col;
        int cap = 1;
        cs->vals = malloc(sizeof *cs->vals);
        if (!cs->vals)
            return SQLITE_NOMEM;
        sqlite3_value *x = NULL;
        int rc = op == OP_IN ? sqlite3_vtab_in_first(argv[a], &x) : SQLITE_ERROR;
        if (op == OP_IN && rc == SQLITE_OK) {
            for (; rc == SQLITE_OK && x; rc = sqlite3_vtab_in_next(argv[a], &x)) {
                if (cs->nvals == cap) {
                    cap *= 2;
                    sqlite3_value **nv = realloc(cs->vals, (size_t)cap * sizeof *nv);
                    if (!nv)
                        return SQLITE_NOMEM;
                    cs->vals = nv;
                }
                if (!(cs->vals[cs->nvals] = sqlite3_value_dup(x)))
                    return SQLITE_NOMEM;
                cs->nvals++;
            }
            if (rc != SQLITE_OK && rc != SQLITE_DONE)
                return rc;
        } else if (op != SQLITE_INDEX_CONSTRAINT_ISNULL &&
                   op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
            if (!(cs->vals[0] = sqlite3_value_dup(argv[a])))
                return SQLITE_NOMEM;
            cs->nvals = 1;
            if (cs->op == OP_IN)
                cs->op = SQLITE_INDEX_CONSTRAINT_EQ;
        }
        /* numeric and NUMERIC columns convert the other side to a number when it looks like one */
        if (c->t->aff[col] == AFF_NUM)
            for (int k = 0; k < cs->nvals; k++)
                sqlite3_value_numeric_type(cs->vals[k]);
        const struct lh_field *f = &c->t->fields[col];
        cs->rowf = row_filterable(f, cs->op, cs->nvals);
        cs->fast = cs->rowf && cs->op != OP_IN && f->type != LH_T_FLOAT &&
                   f->type != LH_T_DOUBLE && sqlite3_value_type(cs->vals[0]) == SQLITE_INTEGER;
        if (cs->fast)
            cs->ival = sqlite3_value_int64(cs->vals[0]);
        if (omitted && !cs->rowf) /* SQLite will not check it: we must, exactly */
            return SQLITE_INTERNAL;
        c->nrowf += cs->rowf;
    }
    /* the common case `col BETWEEN a AND b` (or =, <, ...) on one integer
     * column becomes one bounds check per row */
    c->rng_col = -1;
    c->rng_lo = INT64_MIN, c->rng_hi = INT64_MAX;
    bool rng = c->nrowf > 0;
    for (int k = 0; k < c->ncons && rng; k++) {
        struct cons *cs = &c->cons[k];
        if (!cs->rowf)
            continue;
        enum lh_type ty = c->t->fields[cs->col].type;
        rng = cs->fast && (c->rng_col < 0 || c->rng_col == cs->col) &&
              (ty == LH_T_INT64 || ty == LH_T_INT32 || ty == LH_T_INT16 || ty == LH_T_INT8);
        if (!rng)
            break;
        c->rng_col = cs->col;
        int64_t v = cs->ival;
        switch (cs->op) {
        case SQLITE_INDEX_CONSTRAINT_EQ:
            c->rng_lo = v > c->rng_lo ? v : c->rng_lo;
            c->rng_hi = v < c->rng_hi ? v : c->rng_hi;
            break;
        case SQLITE_INDEX_CONSTRAINT_GE: c->rng_lo = v > c->rng_lo ? v : c->rng_lo; break;
        case SQLITE_INDEX_CONSTRAINT_LE: c->rng_hi = v < c->rng_hi ? v : c->rng_hi; break;
        case SQLITE_INDEX_CONSTRAINT_GT:
            if (v == INT64_MAX)
                c->rng_lo = INT64_MAX, c->rng_hi = INT64_MIN; /* nothing matches */
            else
                c->rng_lo = v + 1 > c->rng_lo ? v + 1 : c->rng_lo;
            break;
        default: /* LT */
            if (v == INT64_MIN)
                c->rng_lo = INT64_MAX, c->rng_hi = INT64_MIN;
            else
                c->rng_hi = v - 1 < c->rng_hi ? v - 1 : c->rng_hi;
            break;
        }
    }
    if (rng) { /* the bounds check replaces row_passes */
        for (int k = 0; k < c->ncons; k++)
            c->cons[k].rowf = false;
    } else {
        c->rng_col = -1;
    }
    (void)err;
    const char *gs = strchr(idxStr ? idxStr : "", 'G');
    if (gs) {
        char *end;
        c->g.on = true;
        c->g.col = (int)strtol(gs + 1, &end, 10);
        c->g.desc = strtol(end + 1, &end, 10) != 0;
        c->g.used = strtoull(end + 1, &end, 16);
        lh_arena_init(&c->g.arena, c->t->e->opt.max_decode);
        if (c->g.col < 0 || (size_t)c->g.col >= c->t->ncols)
            return SQLITE_INTERNAL;
        c->t->e->stats.grouped_scans++;
        return grouped_build(c);
    }
    return seek(c, true);
}

static void agg_next(struct lh_cursor *c);

static int vt_next(sqlite3_vtab_cursor *cur)
{
    struct lh_cursor *c = (struct lh_cursor *)cur;
    c->row++;
    c->rowid++;
    c->emitted++;
    if (c->A) {
        agg_next(c);
        return SQLITE_OK;
    }
    c->t->e->stats.rows_scanned++;
    if (c->g.on) {
        grouped_next(c);
        return SQLITE_OK;
    }
    if (c->limit >= 0 && c->emitted >= c->limit) {
        c->eof = true;
        return SQLITE_OK;
    }
    return seek(c, c->row >= c->rg_rows);
}

static int vt_eof(sqlite3_vtab_cursor *cur)
{
    return ((struct lh_cursor *)cur)->eof;
}

static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    const struct lh_cursor *c = (const struct lh_cursor *)cur;
    if (c->A) {
        *rowid = c->rowid;
    } else if (c->g.on) {
        const struct grp_rg *gr = &c->g.rgs[c->g.rg];
        *rowid = gr->rowid + (c->g.cur - gr->start);
    } else {
        *rowid = c->rowid;
    }
    return SQLITE_OK;
}

/* ---- values */

/* Text of a scalar that SQL shows as text (or a JSON element). Returns
 * its length in buf; 0 with *raw set for strings that live in the batch. */
static size_t scalar_text(const struct lh_field *f, const struct lh_array *a, int64_t i,
                          char *buf, size_t cap)
{
    switch (f->type) {
    case LH_T_UINT64: return (size_t)snprintf(buf, cap, "%" PRIu64, ((const uint64_t *)a->values)[i]);
    case LH_T_UUID: return lh_sql_fmt_uuid((const uint8_t *)a->values + 16 * i, buf, cap);
    case LH_T_DATE: return lh_sql_fmt_date(((const int32_t *)a->values)[i], buf, cap);
    case LH_T_TIME: return lh_sql_fmt_time(((const int64_t *)a->values)[i], buf, cap);
    case LH_T_TIMESTAMP:
        return lh_sql_fmt_timestamp(((const int64_t *)a->values)[i], f->ts_utc, buf, cap);
    case LH_T_DECIMAL: {
        lh_i128 v = f->precision <= 9    ? ((const int32_t *)a->values)[i]
                    : f->precision <= 18 ? ((const int64_t *)a->values)[i]
                                         : ((const lh_i128 *)a->values)[i];
        return lh_sql_fmt_decimal(v, f->scale, buf, cap);
    }
    default: return 0;
    }
}

static void hex_str(struct lh_buf *b, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    lh_buf_append_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        lh_buf_append_u8(b, (uint8_t)hx[p[i] >> 4]);
        lh_buf_append_u8(b, (uint8_t)hx[p[i] & 15]);
    }
    lh_buf_append_u8(b, '"');
}

static void json_elem(struct lh_buf *b, const struct lh_field *f, const struct lh_array *a,
                      int64_t i)
{
    char t[64];
    if (!lh_bit_get(a->validity, i)) {
        lh_buf_append_str(b, "null");
        return;
    }
    switch (f->type) {
    case LH_T_BOOL: lh_buf_append_str(b, ((const uint8_t *)a->values)[i] ? "true" : "false"); return;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32: lh_buf_printf(b, "%d", (int)((const int32_t *)a->values)[i]); return;
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: lh_buf_printf(b, "%u", (unsigned)((const uint32_t *)a->values)[i]); return;
    case LH_T_INT64: lh_buf_printf(b, "%" PRId64, ((const int64_t *)a->values)[i]); return;
    case LH_T_UINT64:
    case LH_T_DECIMAL:
        lh_buf_append(b, t, scalar_text(f, a, i, t, sizeof t));
        return;
    case LH_T_FLOAT:
    case LH_T_DOUBLE: {
        double d = f->type == LH_T_FLOAT ? ((const float *)a->values)[i]
                                         : ((const double *)a->values)[i];
        if (d != d || d - d != 0)
            lh_buf_append_str(b, "null");
        else
            lh_buf_append(b, t, lh_sql_fmt_double(d, t, sizeof t));
        return;
    }
    case LH_T_STRING:
    case LH_T_ENUM:
    case LH_T_JSON:
        lh_sql_json_str(b, (const char *)a->data + a->offsets[i],
                        (size_t)(a->offsets[i + 1] - a->offsets[i]));
        return;
    case LH_T_BINARY:
        hex_str(b, a->data + a->offsets[i], (size_t)(a->offsets[i + 1] - a->offsets[i]));
        return;
    case LH_T_FIXED:
        hex_str(b, (const uint8_t *)a->values + (size_t)f->fixed_len * (size_t)i, f->fixed_len);
        return;
    default: {
        size_t n = scalar_text(f, a, i, t, sizeof t);
        lh_sql_json_str(b, t, n);
        return;
    }
    }
}

/* The text of a scalar as the result, NUL-terminated and passed with length
 * -1 so SQLite marks it terminated: functions that read it with
 * sqlite3_value_text (dec_sum, dec_cmp, ...) then need no copy per row. */
static void result_scalar_text(sqlite3_context *ctx, const struct lh_field *f,
                               const struct lh_array *a, int64_t i)
{
    char buf[64];
    size_t n = scalar_text(f, a, i, buf, sizeof buf);
    buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
    sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    struct lh_cursor *c = (struct lh_cursor *)cur;
    struct lh_vtab *t = c->t;
    if (c->A)
        return agg_column(c, ctx, col);
    if (col < 0 || (size_t)col >= t->ncols) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    struct lh_array *a = &c->cols[col];
    int64_t i = c->row;
    if (c->g.on) {
        const struct grp_rg *gr = &c->g.rgs[c->g.rg];
        a = &gr->cols[col];
        i = c->g.cur - gr->start;
        if (a->length != gr->n) { /* not in colUsed: SQLite promised not to ask */
            sqlite3_result_error(ctx, "lakehouse: column not decoded by the grouped scan", -1);
            return SQLITE_ERROR;
        }
    } else if (!c->decoded[col]) {
        struct lh_error err;
        if (ensure_col(c, col, &err) != LH_OK) {
            t->e->vt_err = err;
            sqlite3_result_error(ctx, err.msg, -1);
            return SQLITE_ERROR;
        }
    }
    const struct lh_field *f = &t->fields[col];
    if (!lh_bit_get(a->validity, i)) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    if (f->is_list) {
        struct lh_field ef = *f;
        ef.is_list = false;
        lh_buf_reset(&c->tmp);
        lh_buf_append_u8(&c->tmp, '[');
        for (int32_t k = a->list_offsets[i]; k < a->list_offsets[i + 1]; k++) {
            if (k > a->list_offsets[i])
                lh_buf_append_u8(&c->tmp, ',');
            json_elem(&c->tmp, &ef, a->child, k);
        }
        lh_buf_append_u8(&c->tmp, ']');
        if (!lh_buf_ok(&c->tmp)) {
            sqlite3_result_error_toobig(ctx);
            return SQLITE_OK;
        }
        sqlite3_result_text(ctx, (const char *)c->tmp.data, (int)c->tmp.len, SQLITE_TRANSIENT);
        return SQLITE_OK;
    }
    switch (f->type) {
    case LH_T_BOOL: sqlite3_result_int(ctx, ((const uint8_t *)a->values)[i] != 0); break;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32: sqlite3_result_int(ctx, ((const int32_t *)a->values)[i]); break;
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: sqlite3_result_int64(ctx, ((const uint32_t *)a->values)[i]); break;
    case LH_T_INT64: sqlite3_result_int64(ctx, ((const int64_t *)a->values)[i]); break;
    case LH_T_UINT64: {
        uint64_t u = ((const uint64_t *)a->values)[i];
        if (u <= (uint64_t)INT64_MAX)
            sqlite3_result_int64(ctx, (int64_t)u);
        else
            result_scalar_text(ctx, f, a, i);
        break;
    }
    case LH_T_FLOAT: sqlite3_result_double(ctx, ((const float *)a->values)[i]); break;
    case LH_T_DOUBLE: sqlite3_result_double(ctx, ((const double *)a->values)[i]); break;
    case LH_T_STRING:
    case LH_T_ENUM:
    case LH_T_JSON:
        sqlite3_result_text(ctx, (const char *)a->data + a->offsets[i],
                            a->offsets[i + 1] - a->offsets[i], SQLITE_TRANSIENT);
        break;
    case LH_T_BINARY:
        sqlite3_result_blob(ctx, a->data + a->offsets[i], a->offsets[i + 1] - a->offsets[i],
                            SQLITE_TRANSIENT);
        break;
    case LH_T_FIXED:
        sqlite3_result_blob(ctx, (const uint8_t *)a->values + (size_t)f->fixed_len * (size_t)i,
                            (int)f->fixed_len, SQLITE_TRANSIENT);
        break;
    default:
        result_scalar_text(ctx, f, a, i);
        break;
    }
    return SQLITE_OK;
}

/* ------------------------------------------------------------------ aggregating table */

/* An aggregating table (agg.c) scans like any other and folds every row
 * into one accumulator per group; SQLite then sees one row per group. The
 * values must be the ones SQLite's own count/sum/total/avg/min/max give
 * over this table's rows (SQLite 3.38-3.42: an integer sum is exact and an
 * overflow is an error; a REAL sum adds the values in scan order; a DECIMAL
 * is text that sum() turns into a number with SQLite's own conversion,
 * agg_decimal). Anything the C side cannot reproduce exactly makes the
 * table give up (e->agg_abort) and the engine runs the statement as
 * written. */

struct acc {
    int64_t cnt, isum, imin;
    double rsum, dmin;
    bool approx, overflow, has, real;
};

struct akey {
    bool used;
    uint64_t h;
    int64_t i;
    const uint8_t *p; /* in the aggregate's arena */
    uint32_t n;
    uint32_t idx; /* group number */
};

struct aggst {
    struct lh_arena arena; /* key bytes */
    struct akey *keys;     /* open addressing; cap a power of two */
    size_t nkeys, capkeys;
    struct akey **groups;  /* by group number */
    struct acc *accs;      /* group number * nagg + k */
    size_t capgroups;
    bool has_null;         /* the NULL group is group null_idx */
    uint32_t null_idx;
    size_t pos, ngroups, max_groups;
};

/* Groups kept within half of max_decode: a key slot (two, the table stays
 * half full), the key's bytes and an accumulator per aggregate. */
static size_t agg_max_groups(const struct lh_vtab *t)
{
    size_t per = 2 * sizeof(struct akey) + 32 + t->nagg * sizeof(struct acc);
    size_t n = t->e->opt.max_decode / 2 / per;
    return n < UINT32_MAX - 1 ? n : UINT32_MAX - 1;
}

static bool agg_num_type(enum lh_type ty)
{
    switch (ty) {
    case LH_T_BOOL:
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_INT64:
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32:
    case LH_T_FLOAT:
    case LH_T_DOUBLE: return true;
    default: return false;
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The column a hex-spelled name names (case-insensitive, as SQLite), or -1. */
static int agg_col(const struct lh_vtab *t, const char **p)
{
    char name[LH_SQL_AGG_NAME_MAX];
    size_t n = 0;
    while (hexval((*p)[0]) >= 0 && hexval((*p)[1]) >= 0 && n + 1 < sizeof name) {
        name[n++] = (char)(hexval((*p)[0]) * 16 + hexval((*p)[1]));
        *p += 2;
    }
    name[n] = '\0';
    for (size_t i = 0; i < t->ncols; i++)
        if (strcasecmp(t->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* spec: 'hex(group column)' then ".<code>[hex(column)]" per aggregate,
 * quoted as an SQL string (a module argument is tokenized). */
static enum lh_status agg_spec(struct lh_vtab *t, const char *spec, struct lh_error *err)
{
    const char *p = spec;
    if (*p != '\'')
        return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: bad spec");
    p++;
    if (sqlite3_libversion_number() >= 3043000) /* sum() changed: Kahan-Babuska-Neumaier */
        return lh_error_set(err, LH_E_UNSUPPORTED, "native aggregates need SQLite < 3.43");
    t->agg_g = agg_col(t, &p);
    if (t->agg_g < 0 || !grouped_type(&t->fields[t->agg_g]))
        return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: grouping column not supported");
    t->aggs = lh_arena_alloc(&t->arena, LH_SQL_AGG_MAX * sizeof *t->aggs);
    if (!t->aggs)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    while (*p == '.') {
        if (t->nagg == LH_SQL_AGG_MAX)
            return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: too many");
        struct agg_item *a = &t->aggs[t->nagg++];
        a->code = p[1];
        p += 2;
        if (!strchr("CNSTAmM", a->code) || !a->code)
            return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: bad spec");
        a->col = a->code == 'C' ? -1 : agg_col(t, &p);
        if (a->code == 'C')
            continue;
        if (a->col < 0)
            return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: no such column");
        const struct lh_field *f = &t->fields[a->col];
        bool dec = f->type == LH_T_DECIMAL && f->precision <= 18;
        bool ok = !f->is_list && (a->code == 'N'                    ? true
                                  : a->code == 'm' || a->code == 'M' ? agg_num_type(f->type)
                                                                     : agg_num_type(f->type) || dec);
        if (!ok)
            return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: column type not supported");
    }
    if (strcmp(p, "'") != 0)
        return lh_error_set(err, LH_E_UNSUPPORTED, "aggregate: bad spec");
    t->agg = true;
    return LH_OK;
}

static void agg_free(struct lh_cursor *c)
{
    struct aggst *A = c->A;
    if (!A)
        return;
    lh_arena_free(&A->arena);
    free(A->keys);
    free(A->groups);
    free(A->accs);
    free(A);
    c->A = NULL;
}

static bool agg_grow_keys(struct aggst *A)
{
    size_t cap = A->capkeys ? A->capkeys * 2 : 256;
    struct akey *k = calloc(cap, sizeof *k);
    if (!k)
        return false;
    for (size_t i = 0; i < A->capkeys; i++) {
        if (!A->keys[i].used)
            continue;
        size_t j = A->keys[i].h & (cap - 1);
        while (k[j].used)
            j = (j + 1) & (cap - 1);
        k[j] = A->keys[i];
        A->groups[k[j].idx] = &k[j];
    }
    free(A->keys);
    A->keys = k;
    A->capkeys = cap;
    return true;
}

/* A new group (no accumulator touched yet); UINT32_MAX when out of room. */
static uint32_t agg_new_group(struct aggst *A, size_t nagg)
{
    if (A->ngroups >= A->max_groups)
        return UINT32_MAX;
    if (A->ngroups == A->capgroups) {
        size_t cap = A->capgroups ? A->capgroups * 2 : 64;
        struct akey **g = realloc(A->groups, cap * sizeof *g);
        if (!g)
            return UINT32_MAX;
        A->groups = g;
        struct acc *a = realloc(A->accs, cap * (nagg ? nagg : 1) * sizeof *a);
        if (!a)
            return UINT32_MAX;
        A->accs = a;
        A->capgroups = cap;
    }
    uint32_t idx = (uint32_t)A->ngroups++;
    memset(&A->accs[(size_t)idx * nagg], 0, nagg * sizeof *A->accs);
    A->groups[idx] = NULL;
    return idx;
}

/* The group of row i of the grouping column a; UINT32_MAX when out of room. */
static uint32_t agg_group(struct aggst *A, const struct lh_field *f, const struct lh_array *a,
                          int64_t i, size_t nagg)
{
    if (!lh_bit_get(a->validity, i)) {
        if (!A->has_null) {
            uint32_t g = agg_new_group(A, nagg);
            if (g == UINT32_MAX)
                return g;
            A->has_null = true;
            A->null_idx = g;
        }
        return A->null_idx;
    }
    const struct rowkey rk = row_key(f, a, i);
    const bool txt = rk.txt;
    const int64_t iv = rk.i;
    const uint8_t *p = rk.p;
    const uint32_t n = rk.n;
    const uint64_t h = rk.h;
    if ((A->nkeys + 1) * 2 > A->capkeys && !agg_grow_keys(A))
        return UINT32_MAX;
    size_t j = h & (A->capkeys - 1);
    for (; A->keys[j].used; j = (j + 1) & (A->capkeys - 1)) {
        const struct akey *k = &A->keys[j];
        if (k->h == h && (txt ? k->n == n && (n == 0 || memcmp(k->p, p, n) == 0) : k->i == iv))
            return k->idx;
    }
    uint32_t g = agg_new_group(A, nagg);
    if (g == UINT32_MAX)
        return g;
    struct akey *k = &A->keys[j];
    k->used = true, k->h = h, k->i = iv, k->n = n, k->idx = g;
    if (txt) {
        uint8_t *copy = lh_arena_alloc(&A->arena, n ? n : 1);
        if (!copy)
            return UINT32_MAX;
        memcpy(copy, p, n);
        k->p = copy;
    }
    A->groups[g] = k;
    A->nkeys++;
    return g;
}

/* What SQLite 3.38-3.42 makes of a DECIMAL's text (its sqlite3AtoF, then
 * "also an integer" for sum): returns true with *iv for an integer, false
 * with *rv for a REAL. u is the unscaled value, |u| < 9e17. */
static bool agg_decimal(int64_t u, int scale, int64_t *iv, double *rv)
{
    bool neg = u < 0;
    uint64_t s = neg ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
    int e = scale;
    if (s == 0) {
        *iv = 0;
        return true;
    }
    while (e > 0 && s % 10 == 0)
        s /= 10, e--;
    int64_t ss = neg ? -(int64_t)s : (int64_t)s;
    double r;
    if (e == 0) {
        r = (double)ss;
    } else {
        long double sc = 1.0L;
        while (e % 22)
            sc *= 10.0L, e--;
        while (e > 0)
            sc *= 1.0e22L, e -= 22;
        r = (double)((long double)ss / sc);
    }
    int64_t i = (int64_t)r;
    double r2 = (double)i;
    if (r == 0.0 ||
        (memcmp(&r, &r2, sizeof r) == 0 && i >= -INT64_C(2251799813685248) &&
         i < INT64_C(2251799813685248))) {
        *iv = i;
        return true;
    }
    *rv = r;
    return false;
}

/* Folds row i into acc for aggregate it; false: cannot reproduce SQLite. */
static bool agg_step(struct acc *ac, const struct agg_item *it, const struct lh_field *f,
                     const struct lh_array *a, int64_t i)
{
    if (it->code == 'C') {
        ac->cnt++;
        return true;
    }
    if (!lh_bit_get(a->validity, i))
        return true;
    bool isint = true;
    int64_t iv = 0;
    double dv = 0;
    switch (f->type) {
    case LH_T_BOOL: iv = ((const uint8_t *)a->values)[i] != 0; break;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32: iv = ((const int32_t *)a->values)[i]; break;
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: iv = ((const uint32_t *)a->values)[i]; break;
    case LH_T_INT64: iv = ((const int64_t *)a->values)[i]; break;
    case LH_T_FLOAT:
    case LH_T_DOUBLE:
        isint = false;
        dv = f->type == LH_T_FLOAT ? ((const float *)a->values)[i] : ((const double *)a->values)[i];
        if (dv != dv)
            return true; /* NaN reads as NULL */
        break;
    case LH_T_DECIMAL: {
        if (it->code == 'N')
            break;
        int64_t u = f->precision <= 9 ? ((const int32_t *)a->values)[i]
                                      : ((const int64_t *)a->values)[i];
        if (u >= INT64_C(900000000000000000) || u <= -INT64_C(900000000000000000))
            return false;
        isint = agg_decimal(u, f->scale, &iv, &dv);
        break;
    }
    default:
        if (it->code != 'N')
            return false;
        break;
    }
    switch (it->code) {
    case 'N': ac->cnt++; break;
    case 'm':
    case 'M': {
        bool lt = it->code == 'm';
        if (!ac->has) {
            ac->has = true, ac->real = !isint, ac->imin = iv, ac->dmin = dv;
        } else if (isint ? (lt ? iv < ac->imin : iv > ac->imin)
                         : (lt ? dv < ac->dmin : dv > ac->dmin)) {
            ac->imin = iv, ac->dmin = dv;
        }
        break;
    }
    default: /* S, T, A: SQLite's sumStep */
        ac->cnt++;
        if (isint) {
            ac->rsum += (double)iv;
            if (!ac->approx && !ac->overflow && __builtin_add_overflow(ac->isum, iv, &ac->isum))
                ac->approx = ac->overflow = true;
        } else {
            ac->rsum += dv;
            ac->approx = true;
        }
        break;
    }
    return true;
}

static int agg_abort(struct lh_cursor *c, const char *why)
{
    struct lh_error err;
    c->t->e->agg_abort = true;
    lh_error_set(&err, LH_E_UNSUPPORTED, "native aggregate: %s", why);
    return cursor_fail(c, &err);
}

static int agg_filter(struct lh_cursor *c)
{
    struct lh_vtab *t = c->t;
    struct lh_error err;
    c->A = calloc(1, sizeof *c->A);
    if (!c->A)
        return SQLITE_NOMEM;
    struct aggst *A = c->A;
    lh_arena_init(&A->arena, t->e->opt.max_decode);
    A->max_groups = agg_max_groups(t);
    const struct lh_field *gf = &t->fields[t->agg_g];
    int rc = next_group(c);
    while (rc == SQLITE_OK && !c->eof) {
        if (ensure_col(c, t->agg_g, &err) != LH_OK)
            return cursor_fail(c, &err);
        for (size_t k = 0; k < t->nagg; k++)
            if (t->aggs[k].col >= 0 && ensure_col(c, t->aggs[k].col, &err) != LH_OK)
                return cursor_fail(c, &err);
        const struct lh_array *ga = &c->cols[t->agg_g];
        for (int64_t i = 0; i < c->rg_rows; i++) {
            uint32_t g = agg_group(A, gf, ga, i, t->nagg);
            if (g == UINT32_MAX)
                return agg_abort(c, "too many groups");
            struct acc *ac = &A->accs[(size_t)g * t->nagg];
            for (size_t k = 0; k < t->nagg; k++) {
                const struct agg_item *it = &t->aggs[k];
                if (!agg_step(&ac[k], it, it->col >= 0 ? &t->fields[it->col] : NULL,
                              it->col >= 0 ? &c->cols[it->col] : NULL, i))
                    return agg_abort(c, "a value SQLite would read differently");
            }
        }
        t->e->stats.rows_scanned += (uint64_t)c->rg_rows;
        rc = next_group(c);
    }
    if (rc != SQLITE_OK)
        return rc;
    for (size_t g = 0; g < A->ngroups; g++)
        for (size_t k = 0; k < t->nagg; k++)
            if (A->accs[g * t->nagg + k].overflow && t->aggs[k].code == 'S')
                return agg_abort(c, "integer overflow"); /* SQLite reports it */
    t->e->stats.native_aggs++;
    reader_close(c);
    A->pos = 0;
    c->rowid = 1;
    c->eof = A->ngroups == 0;
    return SQLITE_OK;
}

static void agg_next(struct lh_cursor *c)
{
    c->A->pos++;
    c->rowid++;
    c->eof = c->A->pos >= c->A->ngroups;
}

static int agg_column(struct lh_cursor *c, sqlite3_context *ctx, int col)
{
    const struct lh_vtab *t = c->t;
    const struct aggst *A = c->A;
    size_t g = A->pos;
    if (col == 0) {
        const struct akey *k = A->groups[g];
        const struct lh_field *f = &t->fields[t->agg_g];
        if (A->has_null && g == A->null_idx)
            sqlite3_result_null(ctx);
        else if (f->type == LH_T_STRING || f->type == LH_T_ENUM)
            sqlite3_result_text(ctx, (const char *)k->p, (int)k->n, SQLITE_TRANSIENT);
        else
            sqlite3_result_int64(ctx, k->i);
        return SQLITE_OK;
    }
    if (col < 1 || (size_t)col > t->nagg) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    const struct agg_item *it = &t->aggs[col - 1];
    const struct acc *ac = &A->accs[g * t->nagg + (size_t)(col - 1)];
    switch (it->code) {
    case 'C':
    case 'N': sqlite3_result_int64(ctx, ac->cnt); break;
    case 'm':
    case 'M':
        if (!ac->has)
            sqlite3_result_null(ctx);
        else if (ac->real)
            sqlite3_result_double(ctx, ac->dmin);
        else
            sqlite3_result_int64(ctx, ac->imin);
        break;
    case 'S':
        if (!ac->cnt)
            sqlite3_result_null(ctx);
        else if (ac->approx)
            sqlite3_result_double(ctx, ac->rsum);
        else
            sqlite3_result_int64(ctx, ac->isum);
        break;
    case 'T': sqlite3_result_double(ctx, ac->rsum); break;
    default: /* A */
        if (!ac->cnt)
            sqlite3_result_null(ctx);
        else
            sqlite3_result_double(ctx, ac->rsum / (double)ac->cnt);
        break;
    }
    return SQLITE_OK;
}

static sqlite3_module lh_module = {
    .iVersion = 0,
    .xCreate = vt_create,
    .xConnect = vt_create,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

int lh_sql_vtab_register(struct lh_sql_engine *e)
{
    return sqlite3_create_module_v2(e->db, "lakehouse", &lh_module, e, NULL);
}
