/*
 * ingest.c — one ingest job (ingest.h): source -> Parquet -> store -> catalog.
 *
 * The run thread owns everything. The only shared state is the cancel flag
 * and the source, both behind job->mu: lh_ingest_cancel (any thread) sets
 * the flag and cancels the source; the run thread creates the source (no
 * I/O), installs it under the lock, and only then starts it (connect,
 * schema, query start), so a cancel reaches the source in every phase,
 * even while the server is still working on the query. It removes the
 * source under the lock before closing it, so a cancel never touches a
 * closed source. Lock order: job->mu, then the source's own lock.
 *
 * Parts: datasets/{dataset}/run-{millis}-{rand}/part-{K}.parquet, each a
 * streaming upload (local temp file renamed on commit; S3 multipart),
 * rolled past part_bytes; the sink CRCs the bytes on their way out, and
 * the catalog records each part's size and checksum. Until the catalog record is replaced nothing
 * points at them; on any failure the open upload is aborted and committed
 * parts deleted before returning.
 */
#include "ingest/ingest.h"

#include "parquet/parquet.h"

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The memory of one ingest (docs/ingest.md, "Memory"): 256 MiB peak RSS
 * on every table shape. The source's batch gets 32 MiB (its slots and its
 * value bytes), the Parquet writer 128 MiB for its row group, page staging
 * and dictionaries; the rest is the process itself and transient copies. */
#define INGEST_BATCH_BYTES ((size_t)32 << 20)
#define INGEST_WRITER_BYTES ((uint64_t)128 << 20)
#define PART_BYTES_DEFAULT (1ull << 30)
#define SWEEP_AGE_S (24 * 3600)
#define MAX_PARTS 100000

struct lh_ingest_job {
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_ingest_options opt; /* strings below are owned copies */
    char *dsn, *table, *dataset, *order_by, *cursor_column, *run_id, *codec;
    pthread_mutex_t mu;
    struct lh_source *src; /* under mu */
    atomic_bool cancelled;
    bool ran;
};

bool lh_ingest_mode_parse(const char *s, enum lh_ingest_mode *out)
{
    static const char *names[] = {"overwrite", "append", "incremental"};
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum lh_ingest_mode)i;
            return true;
        }
    return false;
}

const char *lh_ingest_mode_name(enum lh_ingest_mode m)
{
    return m == LH_INGEST_APPEND        ? "append"
           : m == LH_INGEST_INCREMENTAL ? "incremental"
                                        : "overwrite";
}

size_t lh_ingest_type_text(const struct lh_field *f, char *out, size_t cap)
{
    char t[96];
    switch (f->type) {
    case LH_T_BOOL:
        snprintf(t, sizeof t, "Boolean");
        break;
    case LH_T_INT8:
        snprintf(t, sizeof t, "Int8");
        break;
    case LH_T_INT16:
        snprintf(t, sizeof t, "Int16");
        break;
    case LH_T_INT32:
        snprintf(t, sizeof t, "Int32");
        break;
    case LH_T_INT64:
        snprintf(t, sizeof t, "Int64");
        break;
    case LH_T_UINT8:
        snprintf(t, sizeof t, "UInt8");
        break;
    case LH_T_UINT16:
        snprintf(t, sizeof t, "UInt16");
        break;
    case LH_T_UINT32:
        snprintf(t, sizeof t, "UInt32");
        break;
    case LH_T_UINT64:
        snprintf(t, sizeof t, "UInt64");
        break;
    case LH_T_FLOAT:
        snprintf(t, sizeof t, "Float32");
        break;
    case LH_T_DOUBLE:
        snprintf(t, sizeof t, "Float64");
        break;
    case LH_T_STRING:
    case LH_T_ENUM:
        snprintf(t, sizeof t, "Utf8");
        break;
    case LH_T_JSON:
        snprintf(t, sizeof t, "Utf8 (JSON)");
        break;
    case LH_T_BINARY:
        snprintf(t, sizeof t, "Binary");
        break;
    case LH_T_UUID:
        snprintf(t, sizeof t, "FixedSizeBinary(16) (UUID)");
        break;
    case LH_T_FIXED:
        snprintf(t, sizeof t, "FixedSizeBinary(%u)", (unsigned)f->fixed_len);
        break;
    case LH_T_DECIMAL:
        snprintf(t, sizeof t, "Decimal128(%u, %u)", (unsigned)f->precision, (unsigned)f->scale);
        break;
    case LH_T_DATE:
        snprintf(t, sizeof t, "Date32");
        break;
    case LH_T_TIMESTAMP:
        snprintf(t, sizeof t, "Timestamp(Microsecond, %s)", f->ts_utc ? "Some(\"UTC\")" : "None");
        break;
    case LH_T_TIME:
        snprintf(t, sizeof t, "Time64(Microsecond)");
        break;
    default:
        snprintf(t, sizeof t, "Unknown");
        break;
    }
    int n = f->is_list ? snprintf(out, cap, "List(%s)", t) : snprintf(out, cap, "%s", t);
    return n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------------------------ job */

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

enum lh_status lh_ingest_job_create(struct lh_store_set *set, const struct lh_ingest_options *opt,
                                    struct lh_ingest_job **out, struct lh_error *err)
{
    *out = NULL;
    if (!opt->dsn || !*opt->dsn)
        return lh_error_set(err, LH_E_INVAL, "ingest: a DSN is required");
    if (!opt->table || !*opt->table)
        return lh_error_set(err, LH_E_INVAL, "ingest: a table is required");
    if (opt->mode == LH_INGEST_INCREMENTAL && (!opt->cursor_column || !*opt->cursor_column))
        return lh_error_set(err, LH_E_INVAL, "ingest: incremental mode needs a cursor column");
    enum lh_parquet_codec codec;
    if (opt->codec && !lh_parquet_codec_parse(opt->codec, &codec))
        return lh_error_set(err, LH_E_INVAL, "ingest: unknown codec '%s' (zstd, snappy, none)",
                            opt->codec);
    struct lh_ingest_job *j = calloc(1, sizeof *j);
    if (!j)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    bool oom = false;
    j->set = set;
    j->opt = *opt;
    j->dsn = dup_or_null(opt->dsn, &oom);
    j->table = dup_or_null(opt->table, &oom);
    j->order_by = dup_or_null(opt->order_by, &oom);
    j->cursor_column = dup_or_null(opt->cursor_column, &oom);
    j->run_id = dup_or_null(opt->run_id, &oom);
    j->codec = dup_or_null(opt->codec, &oom);
    if (opt->dataset) {
        j->dataset = dup_or_null(opt->dataset, &oom);
    } else if (j->table) {
        const char *dot = strrchr(j->table, '.');
        j->dataset = dup_or_null(dot ? dot + 1 : j->table, &oom);
    }
    pthread_mutex_init(&j->mu, NULL);
    atomic_init(&j->cancelled, false);
    enum lh_status s;
    if (oom) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    s = lh_store_name_check(j->dataset, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "ingest: dataset name '%s'", j->dataset);
        goto fail;
    }
    struct lh_catalog_options co = {.keep_versions = opt->keep_versions};
    s = lh_catalog_open(set, &co, &j->cat, err);
    if (s != LH_OK)
        goto fail;
    j->opt.dsn = j->dsn;
    j->opt.table = j->table;
    j->opt.dataset = j->dataset;
    j->opt.order_by = j->order_by;
    j->opt.cursor_column = j->cursor_column;
    j->opt.run_id = j->run_id;
    j->opt.codec = j->codec;
    *out = j;
    return LH_OK;
fail:
    lh_ingest_job_destroy(j);
    return s;
}

void lh_ingest_job_destroy(struct lh_ingest_job *j)
{
    if (!j)
        return;
    lh_catalog_close(j->cat);
    pthread_mutex_destroy(&j->mu);
    free(j->dsn);
    free(j->table);
    free(j->dataset);
    free(j->order_by);
    free(j->cursor_column);
    free(j->run_id);
    free(j->codec);
    free(j);
}

void lh_ingest_cancel(struct lh_ingest_job *j)
{
    if (!j)
        return;
    atomic_store(&j->cancelled, true);
    pthread_mutex_lock(&j->mu);
    if (j->src)
        lh_source_cancel(j->src);
    pthread_mutex_unlock(&j->mu);
}

/* ------------------------------------------------------------------ parts */

struct part {
    char key[LH_STORE_KEY_MAX];
    uint64_t size;
    int64_t created_us;
    char checksum[LH_CATALOG_CHECKSUM_SIZE]; /* of the bytes uploaded */
};

struct run {
    struct lh_ingest_job *job;
    struct lh_store *primary;
    char dir[512];              /* datasets/{ds}/run-{millis}-{rand} */
    struct lh_store_upload *up; /* open part, or NULL */
    struct lh_parquet_writer *w;
    struct part *parts; /* committed */
    size_t nparts;
    uint32_t crc; /* CRC-32 of the open part's bytes so far */
};

static enum lh_status sink_upload(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    struct run *r = ctx;
    r->crc = lh_crc32(r->crc, p, n); /* the catalog's checksum, without a second read */
    return lh_store_upload_write(r->up, p, n, err);
}

static enum lh_status part_begin(struct run *r, const struct lh_schema *schema,
                                 const struct lh_parquet_writer_options *wo, struct lh_error *err)
{
    if (r->nparts >= MAX_PARTS)
        return lh_error_set(err, LH_E_TOOBIG, "more than %d parts", MAX_PARTS);
    struct part *np = realloc(r->parts, (r->nparts + 1) * sizeof *np);
    if (!np)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    r->parts = np;
    struct part *p = &r->parts[r->nparts];
    snprintf(p->key, sizeof p->key, "%s/part-%05zu.parquet", r->dir, r->nparts);
    p->created_us = lh_time_wall_us();
    r->crc = 0;
    enum lh_status s = lh_store_upload_begin(r->primary, p->key, &r->up, err);
    if (s != LH_OK)
        return s;
    s = lh_parquet_writer_create(schema, wo, sink_upload, r, &r->w, err);
    if (s != LH_OK) {
        lh_store_upload_abort(r->up);
        r->up = NULL;
    }
    return s;
}

static enum lh_status part_finish(struct run *r, struct lh_error *err)
{
    enum lh_status s = lh_parquet_writer_close(r->w, err);
    lh_parquet_writer_destroy(r->w);
    r->w = NULL;
    if (s != LH_OK)
        return s;
    uint64_t size = lh_store_upload_size(r->up);
    struct lh_store_upload *up = r->up;
    r->up = NULL;
    s = lh_store_upload_commit(up, err); /* frees up, success or not */
    if (s != LH_OK)
        return s;
    r->parts[r->nparts].size = size;
    lh_catalog_checksum_format(r->crc, r->parts[r->nparts].checksum);
    r->nparts++;
    return LH_OK;
}

/* Undoes everything the run wrote: the open part and the committed ones. */
static void run_discard(struct run *r)
{
    if (r->w) {
        lh_parquet_writer_destroy(r->w);
        r->w = NULL;
    }
    if (r->up) {
        lh_store_upload_abort(r->up);
        r->up = NULL;
    }
    for (size_t i = 0; i < r->nparts; i++) {
        struct lh_error e;
        if (lh_store_delete(r->primary, r->parts[i].key, &e) != LH_OK)
            lh_warn("ingest: could not delete unpublished part %s: %s (a later sweep removes it)",
                    r->parts[i].key, e.msg);
    }
    r->nparts = 0;
}

/* ------------------------------------------------------------------ run */

static void rand_hex(char *out, size_t nbytes)
{
    uint8_t b[16];
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
        uint64_t x = (uint64_t)lh_time_mono_ns() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < nbytes; i++, x >>= 5)
            b[i] = (uint8_t)(x * 2654435761u);
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool source_cancelled(struct lh_ingest_job *j)
{
    return atomic_load(&j->cancelled);
}

static void install_source(struct lh_ingest_job *j, struct lh_source *src)
{
    pthread_mutex_lock(&j->mu);
    j->src = src;
    bool c = atomic_load(&j->cancelled);
    pthread_mutex_unlock(&j->mu);
    if (c && src)
        lh_source_cancel(src);
}

/* After a failed register: does the record hold a version of this run
 * anyway? Then it is published and its parts must not be deleted. */
static bool published_anyway(struct lh_ingest_job *j, const char *run_id, uint64_t *version)
{
    struct lh_catalog_record rec;
    struct lh_error e;
    if (lh_catalog_dataset_get(j->cat, j->dataset, &rec, &e) != LH_OK)
        return false;
    bool found = false;
    for (size_t i = 0; i < rec.nversions && !found; i++) {
        if (rec.versions[i].run_id && strcmp(rec.versions[i].run_id, run_id) == 0) {
            *version = rec.versions[i].version;
            found = true;
        }
    }
    lh_catalog_record_free(&rec);
    return found;
}

enum lh_status lh_ingest_run(struct lh_ingest_job *j, struct lh_ingest_result *res,
                             struct lh_error *err)
{
    struct lh_ingest_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (j->ran)
        return lh_error_set(err, LH_E_STATE, "ingest: a job runs once");
    j->ran = true;

    const struct lh_ingest_options *o = &j->opt;
    const char *sys = o->kind == LH_SOURCE_MYSQL ? "mysql" : "postgresql";
    int64_t t0 = lh_time_mono_ns();
    int64_t start_ms = lh_time_wall_us() / 1000;
    enum lh_status s;
    struct lh_source *src = NULL;
    struct lh_catalog_record rec;
    bool have_rec = false;
    struct lh_catalog_column *cols = NULL;
    char *typebuf = NULL;
    struct lh_catalog_object *objs = NULL;
    struct run r = {.job = j};
    char rid[16];
    const struct lh_schema *schema = NULL;
    size_t ncols = 0;
    struct lh_arena names; /* column names outlive the source */
    lh_arena_init(&names, 0);
    uint64_t base = 0;
    const char *base_fp = NULL, *watermark_in = NULL;
    char fp[65];
    bool inherit = false;

    snprintf(res->dataset, sizeof res->dataset, "%s", j->dataset);
    if (o->run_id)
        snprintf(res->run_id, sizeof res->run_id, "%s", o->run_id);
    else
        snprintf(res->run_id, sizeof res->run_id, "scheduled-%s-%" PRId64, sys, start_ms);
    rand_hex(rid, 4);
    snprintf(r.dir, sizeof r.dir, "datasets/%s/run-%" PRId64 "-%s", j->dataset, start_ms, rid);
    r.primary = lh_store_set_primary(j->set);

    /* leftovers of runs that were killed before publishing */
    {
        struct lh_error e;
        size_t nd = 0;
        if (lh_ingest_sweep(j->set, j->dataset, SWEEP_AGE_S, &nd, &e) != LH_OK)
            lh_warn("ingest %s: sweep of unpublished parts failed: %s", j->dataset, e.msg);
        else if (nd)
            lh_info("ingest %s: removed %zu unpublished part(s) of killed runs", j->dataset, nd);
    }

    /* the version this run builds on */
    s = lh_catalog_dataset_get(j->cat, j->dataset, &rec, err);
    if (s == LH_OK) {
        have_rec = true;
        const struct lh_catalog_version_info *cv = lh_catalog_record_current(&rec);
        if (cv) {
            base = cv->version;
            base_fp = cv->schema_fingerprint;
            watermark_in = cv->watermark;
        }
    } else if (s != LH_E_NOTFOUND) {
        goto fail;
    }

    struct lh_source_options so = {
        .table = o->table,
        .batch_size = o->batch_size,
        .batch_bytes = INGEST_BATCH_BYTES,
        .order_by = o->order_by,
        .limit = o->limit,
        .statement_timeout_ms = o->statement_timeout_ms,
    };
    if (o->mode == LH_INGEST_INCREMENTAL) {
        so.cursor_column = o->cursor_column;
        so.cursor_after = watermark_in;
    }
    if (source_cancelled(j)) {
        s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
        goto fail;
    }
    s = lh_source_create(&src, o->kind, o->dsn, &so, err);
    if (s != LH_OK)
        goto fail;
    install_source(j, src);
    s = lh_source_start(src, err);
    if (s != LH_OK)
        goto fail;

    /* catalog columns and the schema check for append/incremental */
    schema = lh_source_schema(src);
    ncols = schema->nfields;
    cols = calloc(schema->nfields ? schema->nfields : 1, sizeof *cols);
    typebuf = calloc(schema->nfields ? schema->nfields : 1, 96);
    if (!cols || !typebuf) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < schema->nfields; i++) {
        lh_ingest_type_text(&schema->fields[i], typebuf + 96 * i, 96);
        const char *nm = schema->fields[i].name;
        cols[i].name = lh_arena_strndup(&names, nm, strlen(nm));
        if (!cols[i].name) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
        cols[i].data_type = typebuf + 96 * i;
        cols[i].nullable = schema->fields[i].nullable;
    }
    lh_catalog_schema_fingerprint(cols, schema->nfields, fp);
    inherit = o->mode != LH_INGEST_OVERWRITE && base > 0;
    if (inherit && base_fp && *base_fp && strcmp(base_fp, fp) != 0) {
        s = lh_error_set(err, LH_E_STATE,
                         "the table's columns changed since version %" PRIu64
                         "; %s would mix schemas (run once with --mode overwrite)",
                         base, lh_ingest_mode_name(o->mode));
        goto fail;
    }

    struct lh_parquet_writer_options wo;
    lh_parquet_writer_options_init(&wo);
    wo.memory_bytes = INGEST_WRITER_BYTES;
    if (o->codec) {
        enum lh_parquet_codec c = LH_PQ_ZSTD;
        (void)lh_parquet_codec_parse(o->codec, &c);
        wo.codec = c;
    }
    uint64_t part_bytes = o->part_bytes ? o->part_bytes : PART_BYTES_DEFAULT;

    s = part_begin(&r, schema, &wo, err);
    if (s != LH_OK)
        goto fail;
    int64_t rows = 0;
    uint64_t done_bytes = 0;
    for (;;) {
        const struct lh_batch *b;
        s = lh_source_next_batch(src, &b, err);
        if (s != LH_OK)
            goto fail;
        if (!b)
            break;
        if (b->num_rows == 0)
            continue;
        if (!r.w) {
            s = part_begin(&r, schema, &wo, err);
            if (s != LH_OK)
                goto fail;
        }
        s = lh_parquet_writer_add_batch(r.w, b, err);
        if (s != LH_OK)
            goto fail;
        rows += b->num_rows;
        struct lh_parquet_writer_stats ws;
        lh_parquet_writer_stats(r.w, &ws);
        if (ws.bytes_written + ws.buffered_bytes >= part_bytes) {
            s = part_finish(&r, err);
            if (s != LH_OK)
                goto fail;
            done_bytes += r.parts[r.nparts - 1].size;
            ws.bytes_written = ws.buffered_bytes = 0;
        }
        if (o->progress)
            o->progress(o->progress_ctx, rows, done_bytes + ws.bytes_written,
                        (double)(lh_time_mono_ns() - t0) / 1e9);
        if (source_cancelled(j)) {
            s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
            goto fail;
        }
    }
    if (source_cancelled(j)) {
        s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
        goto fail;
    }
    /* Zero new rows on top of an existing version: nothing new to publish.
     * Otherwise (overwrite, or a first run) an empty table is an empty
     * dataset: one part holding the schema and no rows. */
    bool publish = !(rows == 0 && inherit);
    if (r.w) {
        if (publish) {
            s = part_finish(&r, err);
            if (s != LH_OK)
                goto fail;
        } else {
            run_discard(&r);
        }
    }

    struct lh_source_stats st;
    lh_source_stats(src, &st);
    res->warnings = st.warnings;
    res->nwarning_texts =
        st.nwarning_texts < LH_INGEST_MAX_WARNINGS ? st.nwarning_texts : LH_INGEST_MAX_WARNINGS;
    for (int i = 0; i < res->nwarning_texts; i++)
        snprintf(res->warning_texts[i], sizeof res->warning_texts[i], "%s", st.warning_texts[i]);
    const char *high = o->mode == LH_INGEST_INCREMENTAL ? lh_source_cursor_high(src) : NULL;
    char watermark[256] = "";
    if (high) {
        if (strlen(high) >= sizeof watermark) {
            s = lh_error_set(err, LH_E_TOOBIG, "cursor value longer than %zu bytes",
                             sizeof watermark - 1);
            goto fail;
        }
        snprintf(watermark, sizeof watermark, "%s", high);
    }
    /* the read transaction is over; the source is not needed any more */
    pthread_mutex_lock(&j->mu);
    j->src = NULL;
    pthread_mutex_unlock(&j->mu);
    lh_source_close(src);
    src = NULL;

    res->rows = rows;
    for (size_t i = 0; i < r.nparts; i++)
        res->bytes += r.parts[i].size;
    res->files = (int)r.nparts;

    if (publish) {
        objs = calloc(r.nparts ? r.nparts : 1, sizeof *objs);
        if (!objs) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < r.nparts; i++) {
            objs[i].bucket = "primary";
            objs[i].key = r.parts[i].key;
            objs[i].size_bytes = r.parts[i].size;
            objs[i].checksum = r.parts[i].checksum;
            objs[i].created_at_us = r.parts[i].created_us;
        }
        char source_file[1200];
        char red[1100];
        lh_redact_dsn(o->dsn, red, sizeof red);
        snprintf(source_file, sizeof source_file, "dsn: %s", red);
        struct lh_catalog_lineage lin = {
            .source_system = sys,
            .source_file = source_file,
            .ingest_job = res->run_id,
        };
        struct lh_catalog_version_spec spec = {
            .objects = objs,
            .nobjects = r.nparts,
            .schema_fingerprint = fp,
            .row_count = (uint64_t)rows,
            .run_id = res->run_id,
            .columns = cols,
            .ncolumns = ncols,
            .lineage = &lin,
            .inherit_objects = inherit,
            .watermark = watermark[0] ? watermark : NULL,
            .check_base = o->mode == LH_INGEST_INCREMENTAL,
            .base_version = base,
        };
        if (source_cancelled(j)) {
            s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
            goto fail;
        }
        s = lh_catalog_version_register(j->cat, j->dataset, &spec, &res->version, err);
        if (s != LH_OK && published_anyway(j, res->run_id, &res->version)) {
            /* the record was swapped but a later step reported an error (a
             * directory fsync, an S3 answer lost after the PUT landed):
             * the version is visible, so its parts must stay */
            lh_warn("ingest %s: %s; the record holds run %s as version %llu, keeping it",
                    j->dataset, err->msg, res->run_id, (unsigned long long)res->version);
            s = LH_OK;
        }
        if (s != LH_OK)
            goto fail;
        res->published = true;
        r.nparts = 0; /* published: no longer ours to delete */
    } else {
        res->version = base;
        if (watermark_in)
            snprintf(watermark, sizeof watermark, "%s", watermark_in);
    }
    snprintf(res->watermark, sizeof res->watermark, "%s", watermark);
    if (!watermark[0] && watermark_in && res->published && inherit)
        snprintf(res->watermark, sizeof res->watermark, "%s", watermark_in);
    snprintf(res->message, sizeof res->message, "rows=%" PRId64 " dataset=%s bytes=%" PRIu64,
             res->rows, j->dataset, res->bytes);
    s = LH_OK;

fail:
    if (src) {
        pthread_mutex_lock(&j->mu);
        j->src = NULL;
        pthread_mutex_unlock(&j->mu);
        lh_source_close(src);
    }
    if (s != LH_OK) {
        run_discard(&r);
        lh_error_prefix(err, "ingest %s", j->dataset);
        memset(res->message, 0, sizeof res->message);
    }
    free(r.parts);
    free(objs);
    free(cols);
    free(typebuf);
    lh_arena_free(&names);
    if (have_rec)
        lh_catalog_record_free(&rec);
    res->duration_s = (double)(lh_time_mono_ns() - t0) / 1e9;
    return s;
}

/* ------------------------------------------------------------------ sweep */

/* The start time of the run that wrote key (…/run-{millis}-{rand}/…), or -1. */
static int64_t run_start_ms(const char *key)
{
    const char *p = strstr(key, "/run-");
    if (!p)
        return -1;
    p += 5;
    int64_t v = 0;
    int n = 0;
    for (; *p >= '0' && *p <= '9' && n < 16; p++, n++)
        v = v * 10 + (*p - '0');
    return n > 0 && *p == '-' ? v : -1;
}

static bool key_referenced(const struct lh_catalog_record *rec, const char *key)
{
    for (size_t i = 0; rec && i < rec->nversions; i++)
        for (size_t k = 0; k < rec->versions[i].nobjects; k++)
            if (strcmp(rec->versions[i].objects[k].key, key) == 0 &&
                strcmp(rec->versions[i].objects[k].bucket, "primary") == 0)
                return true;
    return false;
}

/* Local backend only: temporary files of uploads a killed process left in
 * run directories are invisible to lh_store_list; remove those older than
 * the cut-off, then the run directories that became empty. */
static size_t sweep_local_temps(struct lh_store *st, const char *dataset, int64_t cutoff_ms)
{
    const char *url = lh_store_url(st);
    if (strcmp(lh_store_kind(st), "local") != 0 || !url)
        return 0;
    if (strncmp(url, "file://", 7) == 0)
        url += 7;
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/datasets/%s", url, dataset);
    DIR *d = opendir(dpath);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "run-", 4) != 0)
            continue;
        char rpath[4096 + 300];
        snprintf(rpath, sizeof rpath, "%s/%s", dpath, de->d_name);
        char probe[600];
        snprintf(probe, sizeof probe, "/%s/", de->d_name);
        int64_t ms = run_start_ms(probe);
        if (ms < 0 || ms >= cutoff_ms)
            continue;
        DIR *rd = opendir(rpath);
        if (!rd)
            continue;
        struct dirent *fe;
        while ((fe = readdir(rd))) {
            if (!strstr(fe->d_name, ".tmp-"))
                continue;
            char fpath[4096 + 600];
            snprintf(fpath, sizeof fpath, "%s/%s", rpath, fe->d_name);
            if (unlink(fpath) == 0)
                n++;
        }
        closedir(rd);
        (void)rmdir(rpath); /* only succeeds when empty */
    }
    closedir(d);
    return n;
}

enum lh_status lh_ingest_sweep(struct lh_store_set *set, const char *dataset, int64_t older_than_s,
                               size_t *deleted, struct lh_error *err)
{
    if (deleted)
        *deleted = 0;
    enum lh_status s = lh_store_name_check(dataset, err);
    if (s != LH_OK)
        return s;
    struct lh_store *st = lh_store_set_primary(set);
    struct lh_catalog *cat = NULL;
    struct lh_catalog_record rec;
    bool have_rec = false;
    struct lh_store_list l = {0};
    bool have_list = false;
    int64_t cutoff = lh_time_wall_us() / 1000 - older_than_s * 1000;
    size_t n = 0;

    s = lh_catalog_open(set, NULL, &cat, err);
    if (s != LH_OK)
        goto done;
    char prefix[LH_STORE_KEY_MAX];
    snprintf(prefix, sizeof prefix, "datasets/%s/", dataset);
    /* list before reading the record: a part published in between is then
     * seen as referenced, never deleted */
    s = lh_store_list(st, prefix, &l, err);
    if (s != LH_OK)
        goto done;
    have_list = true;
    s = lh_catalog_dataset_get(cat, dataset, &rec, err);
    if (s == LH_OK)
        have_rec = true;
    else if (s != LH_E_NOTFOUND)
        goto done;
    s = LH_OK;
    for (size_t i = 0; i < l.count; i++) {
        const char *key = l.items[i].key;
        int64_t ms = run_start_ms(key);
        if (ms < 0 || ms >= cutoff || key_referenced(have_rec ? &rec : NULL, key))
            continue;
        struct lh_error e;
        if (lh_store_delete(st, key, &e) == LH_OK)
            n++;
        else
            lh_warn("sweep: could not delete %s: %s", key, e.msg);
    }
    n += sweep_local_temps(st, dataset, cutoff);
    if (deleted)
        *deleted = n;
done:
    if (have_list)
        lh_store_list_free(&l);
    if (have_rec)
        lh_catalog_record_free(&rec);
    lh_catalog_close(cat);
    return s;
}
