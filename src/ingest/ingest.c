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
 *
 * Publish is a compare-and-swap on the version the run built on (its
 * "base"): the catalog refuses the swap when another run published since.
 * Append then re-reads the new base (schema check again) and retries,
 * overwrite simply retries, incremental fails (its rows were chosen by the
 * base's watermark). So no run ever replaces versions it did not see.
 *
 * Iceberg (table.c): every version is a snapshot of the dataset's Iceberg
 * table; each publish attempt stages it under names unique to the run and
 * the catalog version records it (metadata_location), so the catalog swap
 * commits both; the winner then moves version-hint.text, a loser deletes
 * what it staged. Parts are written with the table's field ids, and their
 * statistics come from the footer the sink captures while the writer
 * closes.
 *
 * Lease: before the first part, the run writes {run dir}/_lease.json with an
 * expiry, and a heartbeat thread (on the run's store: stores are thread-safe)
 * rewrites it every ttl/4. The sweep (lh_ingest_sweep, run at the start of
 * every run) removes the parts, pending writes and empty directories of
 * runs whose lease expired; a live run's are never touched. A run whose
 * lease went unrenewed for 3/4 of its time, at any moment of the run, stops
 * rather than publish parts a sweep may have judged dead (the last quarter
 * covers clock skew between hosts); right before publishing it renews the
 * lease itself.
 * Lock order: job->mu, then the source's own lock; lease->mu stands alone.
 *
 * Resumable loads (docs/ingest.md "Resumable loads"; resume.c holds the
 * record): in a parallel PostgreSQL read, a part other than the leader
 * whose connection fails is read again by its own thread on a new
 * connection importing the same snapshot, after dropping what it wrote
 * and what the plan kept of its range (its source is swapped under
 * job->mu, which the cancel paths hold). A read in the order of a unique
 * integer key (lh_source_order_key: an ordered read, or a parallel read
 * split by the key, MySQL's or PostgreSQL's with order_by on it, whose
 * connections each read a range in key order; a PostgreSQL part gets its
 * range from the leader's lh_source_ranges) rolls parts at RESUME_PART_BYTES
 * and checks the key rises on each connection; the run's plan holds the
 * key's ranges (lh_source_ranges), and each committed part moves its
 * ranges' kept key (plan_advance, under run->mu). When the run fails
 * while reading it keeps its finished parts in the dataset's resume
 * record with the plan instead of deleting them, and a later run with the
 * same fingerprint, --parallel, schema and base takes the record, reads
 * per range only the keys past the kept ones (the source's ranges option;
 * ranges kept whole are not read) and publishes the kept parts with its
 * own (they are "inherited": never deleted by this run). The sweep counts
 * a record's parts as referenced.
 *
 * Observation (docs/ingest.md "Progress and the run log"): on_progress at
 * each phase (connecting from the start, reading once the query runs and
 * then after every batch, publishing once the source is drained) and
 * on_log, the run's own log, both on the run thread. The per-batch cost is
 * one clock read and the callback; the log summarizes batches every
 * SUMMARY_NS instead of a line per batch. Every log line passes the core
 * redactor with the DSN (lh_redact_scrub) before it leaves.
 */
#include "ingest/ingest.h"
#include "ingest_int.h"

#include "parquet/parquet.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* The memory of one ingest (docs/ingest.md, "Memory"): 256 MiB peak RSS
 * on every table shape. The source's batch gets 32 MiB (its slots and its
 * value bytes), the Parquet writer 128 MiB for its row group, page staging
 * and dictionaries; the rest is the process itself and transient copies. */
#define INGEST_BATCH_BYTES ((size_t)32 << 20)
#define INGEST_WRITER_BYTES ((uint64_t)128 << 20)
/* Rows per row group (docs/ingest.md, "Row groups"): a point lookup or a
 * narrow range reads whole row groups, so 128 Ki rows (DuckDB writes
 * 122,880) rather than the writer's 1 Mi: about 4x faster lookups for a
 * 1.9 % larger file, the same CPU and less memory (bench/sql). */
#define INGEST_ROW_GROUP_ROWS 131072
#define PART_BYTES_DEFAULT (1ull << 30)
#define MAX_PARTS 100000
#define LEASE_NAME "_lease.json"
#define LEASE_TTL_DEFAULT_S 60
#define LEASE_TTL_ENV "LAKEHOUSE_RUN_LEASE_SECS"
/* publish attempts of a run that keeps losing the race to other runs */
#define PUBLISH_ATTEMPTS 100
/* times a parallel part whose connection failed is read again in the same
 * snapshot (docs/ingest.md "Resumable loads") */
#define PART_REREADS 2
/* a resumable (ordered) read rolls parts at most this large: what a
 * failure loses (docs/ingest.md "Resumable loads") */
#define RESUME_PART_BYTES (128ull << 20)
/* the run log's reading summary: one line this often, not one per batch */
#define SUMMARY_NS (10 * 1000000000LL)

struct lh_ingest_job {
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_ingest_options opt; /* strings below are owned copies */
    char *dsn, *table, *query, *columns, *where, *dataset, *order_by, *cursor_column, *run_id,
        *codec, *made_by;
    pthread_mutex_t mu;
    struct lh_source *src; /* under mu */
    /* the other parts of a parallel read, under mu */
    struct lh_source *psrc[LH_SOURCE_PARALLEL_MAX];
    pthread_mutex_t log_mu; /* one on_log call at a time (parallel readers) */
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

/* The database of a mysql:// URL ("" without one). */
static void dsn_database(const char *dsn, char *out, size_t cap)
{
    out[0] = '\0';
    const char *p = dsn ? strstr(dsn, "://") : NULL;
    if (!p)
        return;
    p += 3;
    const char *at = strchr(p, '@');
    const char *slash = strchr(at ? at : p, '/');
    if (!slash)
        return;
    size_t n = strcspn(slash + 1, "?#");
    if (n < cap) {
        memcpy(out, slash + 1, n);
        out[n] = '\0';
    }
}

enum lh_status lh_ingest_default_dataset(enum lh_source_kind kind, const char *dsn,
                                         const char *table, char *out, size_t cap, bool *changed,
                                         struct lh_error *err)
{
    if (!table || !*table)
        return lh_error_set(err, LH_E_INVAL, "ingest: a query needs a dataset name");
    char schema[256], name[256], defschema[256];
    enum lh_status s =
        lh_source_table_parse(kind, table, schema, sizeof schema, name, sizeof name, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "ingest");
        return s;
    }
    if (kind == LH_SOURCE_POSTGRES)
        snprintf(defschema, sizeof defschema, "public");
    else
        dsn_database(dsn, defschema, sizeof defschema);
    char raw[520];
    if (schema[0] && strcmp(schema, defschema) != 0)
        snprintf(raw, sizeof raw, "%s_%s", schema, name);
    else
        snprintf(raw, sizeof raw, "%s", name);
    size_t n = strlen(raw);
    if (n > 200)
        n = 200;
    if (n + 1 > cap)
        return lh_error_set(err, LH_E_INVAL, "ingest: dataset name buffer too small");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && i > 0);
        out[i] = ok ? (char)c : '_';
    }
    out[n] = '\0';
    for (char *t; (t = strstr(out, ".tmp-")) != NULL;)
        *t = '_'; /* reserved for temporary files */
    if (changed)
        *changed = strcmp(out, name) != 0;
    return LH_OK;
}

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
    bool has_table = opt->table && *opt->table, has_query = opt->query && *opt->query;
    if (has_table == has_query)
        return lh_error_set(err, LH_E_INVAL, "ingest: give a table or a query (exactly one)");
    if (has_query && (opt->columns || opt->where))
        return lh_error_set(err, LH_E_INVAL, "ingest: %s only goes with a table, not a query",
                            opt->columns ? "columns" : "where");
    if (has_query && (!opt->dataset || !*opt->dataset))
        return lh_error_set(err, LH_E_INVAL, "ingest: a query needs a dataset name");
    char defname[256] = "";
    if (!opt->dataset) {
        enum lh_status ds = lh_ingest_default_dataset(opt->kind, opt->dsn, opt->table, defname,
                                                      sizeof defname, NULL, err);
        if (ds != LH_OK)
            return ds;
    }
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
    j->table = has_table ? dup_or_null(opt->table, &oom) : NULL;
    j->query = has_query ? dup_or_null(opt->query, &oom) : NULL;
    j->columns = dup_or_null(opt->columns, &oom);
    j->where = dup_or_null(opt->where, &oom);
    j->order_by = dup_or_null(opt->order_by, &oom);
    j->cursor_column = dup_or_null(opt->cursor_column, &oom);
    j->run_id = dup_or_null(opt->run_id, &oom);
    j->codec = dup_or_null(opt->codec, &oom);
    j->made_by = dup_or_null(opt->made_by, &oom);
    j->dataset = dup_or_null(opt->dataset ? opt->dataset : defname, &oom);
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->log_mu, NULL);
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
    j->opt.query = j->query;
    j->opt.columns = j->columns;
    j->opt.where = j->where;
    j->opt.dataset = j->dataset;
    j->opt.order_by = j->order_by;
    j->opt.cursor_column = j->cursor_column;
    j->opt.run_id = j->run_id;
    j->opt.codec = j->codec;
    j->opt.made_by = j->made_by;
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
    pthread_mutex_destroy(&j->log_mu);
    free(j->dsn);
    free(j->table);
    free(j->query);
    free(j->columns);
    free(j->where);
    free(j->dataset);
    free(j->order_by);
    free(j->cursor_column);
    free(j->run_id);
    free(j->codec);
    free(j->made_by);
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
    for (int i = 0; i < LH_SOURCE_PARALLEL_MAX; i++)
        if (j->psrc[i])
            lh_source_cancel(j->psrc[i]);
    pthread_mutex_unlock(&j->mu);
}

/* ------------------------------------------------------------------ run log */

/* One line of the run's log (opt.on_log): control characters as spaces,
 * every password of the DSN and anything that looks like a secret masked
 * (lh_redact_scrub), cut at 4 KiB. */
static void run_log(struct lh_ingest_job *j, enum lh_log_level level, const char *fmt, ...)
    LH_PRINTF(3, 4);
static void run_log(struct lh_ingest_job *j, enum lh_log_level level, const char *fmt, ...)
{
    if (!j->opt.on_log)
        return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    lh_redact_log_line(line, sizeof line, NULL, j->dsn, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&j->log_mu);
    j->opt.on_log(j->opt.progress_ctx, level, line);
    pthread_mutex_unlock(&j->log_mu);
}

/* The source's log lines (already scrubbed by the source) into the run's. */
static void source_log(void *ctx, enum lh_log_level level, const char *line)
{
    run_log(ctx, level, "%s", line);
}

static void run_progress(struct lh_ingest_job *j, enum lh_ingest_phase phase, int64_t rows,
                         uint64_t bytes, int64_t t0, int64_t estimate)
{
    if (!j->opt.on_progress)
        return;
    struct lh_ingest_progress pg = {
        .phase = phase,
        .rows = rows,
        .bytes = bytes,
        .elapsed_s = (double)(lh_time_mono_ns() - t0) / 1e9,
        .estimated_rows = estimate,
    };
    j->opt.on_progress(j->opt.progress_ctx, &pg);
}

/* ------------------------------------------------------------------ parts */

struct part {
    char key[LH_STORE_KEY_MAX];
    const struct pwriter *by; /* the writer that wrote it (a re-read part drops its own) */
    bool inherited;           /* an earlier run's, taken from its resume record */
    int64_t rows;
    uint64_t size;
    int64_t created_us;
    char checksum[LH_CATALOG_CHECKSUM_SIZE]; /* of the bytes uploaded */
};

/* The run's lease (see the top of the file). */
struct lease {
    struct lh_store *st; /* the run's primary store (borrowed) */
    char key[LH_STORE_KEY_MAX];
    char run_id[128];
    int64_t ttl_ms, started_us;
    pthread_t thread;
    bool thread_running, written; /* the run thread's */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                       /* under mu */
    char last_error[200];            /* under mu */
    _Atomic int64_t renewed_mono_ns; /* start of the last successful write */
    _Atomic int64_t lapse_ms;        /* longest gap between two successful writes */
};

/* One reader's open part: a parallel read has one per connection, each
 * writing (and compressing) its own parts on its own thread. */
struct pwriter {
    struct run *run;
    struct lh_store_upload *up; /* open part, or NULL */
    struct lh_parquet_writer *w;
    char key[LH_STORE_KEY_MAX];
    int64_t created_us;
    uint32_t crc;      /* CRC-32 of the open part's bytes so far */
    int64_t part_row0; /* rows this reader read before the open part began */
    int64_t last_key;  /* a keyed read's key of the last row added (key_have) */
    bool key_have;
    size_t rix[LH_SOURCE_RANGES_MAX]; /* the run's key ranges its reader reads, in key order */
    size_t nrix;
    uint64_t done_bytes; /* of the parts this writer committed */
    bool capturing;      /* the writer is closing: keep its bytes (the footer) */
    struct lh_buf tail;
};

struct run {
    struct lh_ingest_job *job;
    struct lh_store *primary;
    struct lease lease;
    char dir[512];     /* datasets/{ds}/run-{millis}-{rand} */
    struct pwriter pw; /* the one reader's (a parallel read: the first reader's) */
    /* parts, nparts, nkeys and ice's part_add under mu (parallel writers) */
    pthread_mutex_t mu;
    struct part *parts; /* committed */
    size_t nparts;
    size_t nkeys;             /* part names handed out */
    struct ingest_table *ice; /* the dataset's Iceberg table (table.c) */
    /* a resumable (keyed) read (docs/ingest.md "Resumable loads"): its key
     * column (-1: none) and the key's ranges with what is kept of each
     * (under mu: the parts' writers advance them); srcmap: the range of
     * each of the source's ranges (lh_source_ranges) */
    long key;
    const char *key_name;
    enum lh_type key_type;
    bool resumed;           /* the plan continues a record: a key that does not rise fails */
    atomic_bool key_broken; /* a key did not rise: nothing is kept */
    struct ingest_resume_range plan[LH_SOURCE_RANGES_MAX];
    size_t nplan;
    size_t srcmap[LH_SOURCE_RANGES_MAX];
    size_t nsrc;
};

/* Under run->mu, after w committed a part (drained: and its reader read
 * all of its ranges): the ranges its reader reads are kept up to its last
 * key. Its stream returns the keys of its ranges in key order, so a range
 * ending at or below that key is kept whole, the one holding it up to it. */
static void plan_advance(const struct pwriter *w, bool drained)
{
    struct run *run = w->run;
    for (size_t i = 0; i < w->nrix; i++) {
        struct ingest_resume_range *g = &run->plan[w->rix[i]];
        int64_t k = w->last_key;
        if (drained || (w->key_have && g->r.has_hi && k >= g->r.hi - 1)) {
            g->done = true;
        } else if (w->key_have && (!g->r.has_lo || k >= g->r.lo) && (!g->r.has_hi || k < g->r.hi) &&
                   (!g->r.has_after || k > g->r.after)) {
            g->r.has_after = true;
            g->r.after = k;
        }
    }
}

static enum lh_status sink_upload(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    struct pwriter *r = ctx;
    r->crc = lh_crc32(r->crc, p, n); /* the catalog's checksum, without a second read */
    if (r->capturing)
        lh_buf_append(&r->tail, p, n); /* the footer, for the Iceberg statistics */
    return lh_store_upload_write(r->up, p, n, err);
}

static enum lh_status part_begin(struct pwriter *r, const struct lh_schema *schema,
                                 const struct lh_parquet_writer_options *wo, struct lh_error *err)
{
    struct run *run = r->run;
    pthread_mutex_lock(&run->mu);
    size_t k = run->nkeys;
    if (k < MAX_PARTS)
        run->nkeys++;
    pthread_mutex_unlock(&run->mu);
    if (k >= MAX_PARTS)
        return lh_error_set(err, LH_E_TOOBIG, "more than %d parts", MAX_PARTS);
    snprintf(r->key, sizeof r->key, "%s/part-%05zu.parquet", run->dir, k);
    r->created_us = lh_time_wall_us();
    r->crc = 0;
    enum lh_status s = lh_store_upload_begin(run->primary, r->key, &r->up, err);
    if (s != LH_OK)
        return s;
    s = lh_parquet_writer_create(schema, wo, sink_upload, r, &r->w, err);
    if (s != LH_OK) {
        lh_store_upload_abort(r->up);
        r->up = NULL;
    }
    return s;
}

/* Drops the open part, if any. */
static void part_abort(struct pwriter *r)
{
    if (r->w) {
        lh_parquet_writer_destroy(r->w);
        r->w = NULL;
    }
    if (r->up) {
        lh_store_upload_abort(r->up);
        r->up = NULL;
    }
}

/* rows: read so far by this writer's reader (the part holds those past
 * r->part_row0). */
static enum lh_status part_finish(struct pwriter *r, int64_t rows, struct lh_error *err)
{
    struct run *run = r->run;
    /* flush the last row group first, so that close writes only the
     * footer: captured in memory, it gives the part's Iceberg statistics
     * without reading the part back */
    enum lh_status s = lh_parquet_writer_flush(r->w, err);
    lh_buf_clear(&r->tail);
    r->capturing = s == LH_OK;
    if (s == LH_OK)
        s = lh_parquet_writer_close(r->w, err);
    r->capturing = false;
    if (s == LH_OK && !lh_buf_ok(&r->tail))
        s = lh_error_set(err, LH_E_TOOBIG, "the Parquet footer of %s is too large", r->key);
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
    pthread_mutex_lock(&run->mu);
    struct part *np = realloc(run->parts, (run->nparts + 1) * sizeof *np);
    if (!np) {
        pthread_mutex_unlock(&run->mu);
        struct lh_error e;
        if (lh_store_delete(run->primary, r->key, &e) != LH_OK)
            lh_warn("ingest: could not delete unrecorded part %s: %s (a later sweep removes it)",
                    r->key, e.msg);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    run->parts = np;
    struct part *p = &run->parts[run->nparts++];
    snprintf(p->key, sizeof p->key, "%s", r->key);
    p->by = r;
    p->inherited = false;
    p->rows = rows - r->part_row0;
    p->created_us = r->created_us;
    p->size = size;
    lh_catalog_checksum_format(r->crc, p->checksum);
    s = ingest_table_part_add(run->ice, r->key, size, r->tail.data, r->tail.len, err);
    plan_advance(r, false);
    pthread_mutex_unlock(&run->mu);
    run_log(run->job, LH_LOG_INFO, "part written: %s (%" PRId64 " rows, %" PRIu64 " bytes)", r->key,
            rows - r->part_row0, size);
    r->part_row0 = rows;
    r->done_bytes += size;
    return s;
}

/* Undoes everything the run wrote: the open part and the committed ones. */
static void run_discard(struct run *r)
{
    part_abort(&r->pw);
    for (size_t i = 0; i < r->nparts; i++) {
        struct lh_error e;
        if (r->parts[i].inherited)
            continue; /* its resume record still names it */
        if (lh_store_delete(r->primary, r->parts[i].key, &e) != LH_OK)
            lh_warn("ingest: could not delete unpublished part %s: %s (a later sweep removes it)",
                    r->parts[i].key, e.msg);
    }
    r->nparts = 0;
}

/* ------------------------------------------------------------------ lease */

/* The lease time-to-live: $LAKEHOUSE_RUN_LEASE_SECS (1..86400), else 60 s. */
static int64_t lease_ttl_ms(void)
{
    const char *v = getenv(LEASE_TTL_ENV);
    int64_t n;
    if (!v || !*v)
        return LEASE_TTL_DEFAULT_S * 1000;
    if (!lh_parse_i64(v, &n) || n < 1 || n > 86400) {
        lh_warn("%s='%s' is not a number of seconds in 1..86400; using %d", LEASE_TTL_ENV, v,
                LEASE_TTL_DEFAULT_S);
        return LEASE_TTL_DEFAULT_S * 1000;
    }
    return n * 1000;
}

/* Writes the lease with a fresh expiry through st (either thread's handle). */
static enum lh_status lease_write(struct lease *l, struct lh_store *st, struct lh_error *err)
{
    int64_t t0 = lh_time_mono_ns();
    int64_t now = lh_time_wall_us();
    char started[40], renewed[40], expires[40], host[256] = "";
    lh_time_format_iso(l->started_us, started, sizeof started);
    lh_time_format_iso(now, renewed, sizeof renewed);
    lh_time_format_iso(now + l->ttl_ms * 1000, expires, sizeof expires);
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "run_id", l->run_id, "pid",
                          (json_int_t)getpid(), "host", host, "started_at", started, "renewed_at",
                          renewed, "expires_at", expires, "expires_at_ms",
                          (json_int_t)(now / 1000 + l->ttl_ms), "ttl_ms", (json_int_t)l->ttl_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = lh_store_put(st, l->key, text, strlen(text), err);
    free(text);
    if (s == LH_OK) {
        int64_t prev = atomic_exchange(&l->renewed_mono_ns, t0);
        int64_t gap = prev ? (t0 - prev) / 1000000 : 0;
        if (gap > atomic_load(&l->lapse_ms))
            atomic_store(&l->lapse_ms, gap); /* only grows; a lost update is a smaller gap */
    }
    return s;
}

static void *lease_heartbeat(void *arg)
{
    struct lease *l = arg;
    int64_t period_ns = l->ttl_ms * 1000000 / 4;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        int64_t until = lh_time_mono_ns() + period_ns;
        int rc = 0;
        while (!l->stop && rc != ETIMEDOUT)
            rc = lh_cond_wait_until(&l->cv, &l->mu, until);
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->mu);
        struct lh_error e;
        lh_error_clear(&e);
        enum lh_status s = lease_write(l, l->st, &e);
        if (s != LH_OK)
            lh_warn("ingest: could not renew the run lease %s: %s", l->key, e.msg);
        pthread_mutex_lock(&l->mu);
        if (s != LH_OK)
            snprintf(l->last_error, sizeof l->last_error, "%.199s", e.msg);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Writes the first lease (before any part) and starts the heartbeat. */
static enum lh_status lease_begin(struct run *r, const char *run_id, struct lh_error *err)
{
    struct lease *l = &r->lease;
    snprintf(l->key, sizeof l->key, "%s/" LEASE_NAME, r->dir);
    snprintf(l->run_id, sizeof l->run_id, "%s", run_id);
    l->ttl_ms = lease_ttl_ms();
    l->started_us = lh_time_wall_us();
    l->st = r->primary; /* borrowed: a store serves both threads */
    enum lh_status s = lease_write(l, l->st, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "cannot write the run lease");
        return s;
    }
    l->written = true;
    lh_cond_init_mono(&l->cv);
    pthread_mutex_init(&l->mu, NULL);
    if (pthread_create(&l->thread, NULL, lease_heartbeat, l) != 0) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        return lh_error_set(err, LH_E_NOMEM, "cannot start the lease heartbeat thread");
    }
    l->thread_running = true;
    return LH_OK;
}

/* Has the lease been ours all along? Not when it went unrenewed for 3/4
 * of the lease time at any moment: a sweep may have judged the run dead. */
static enum lh_status lease_check(struct lease *l, struct lh_error *err)
{
    if (!l->thread_running)
        return LH_OK;
    int64_t age_ms = (lh_time_mono_ns() - atomic_load(&l->renewed_mono_ns)) / 1000000;
    int64_t lapse = atomic_load(&l->lapse_ms);
    if (lapse > age_ms)
        age_ms = lapse;
    if (age_ms <= l->ttl_ms * 3 / 4)
        return LH_OK;
    char last[200];
    pthread_mutex_lock(&l->mu);
    snprintf(last, sizeof last, "%s", l->last_error[0] ? l->last_error : "the heartbeat is late");
    pthread_mutex_unlock(&l->mu);
    return lh_error_set(err, LH_E_STATE,
                        "the run's lease %s was not renewed for %.1f s (lease time %.0f s): %s; "
                        "stopping so that no sweep removes parts this run would publish",
                        l->key, (double)age_ms / 1000, (double)l->ttl_ms / 1000, last);
}

/* Stops the heartbeat and deletes the lease; the run is over. */
static void lease_end(struct lease *l, struct lh_store *st)
{
    if (l->thread_running) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        l->thread_running = false;
    }
    if (l->written) {
        struct lh_error e;
        if (lh_store_delete(st, l->key, &e) != LH_OK)
            lh_warn("ingest: could not delete the run lease %s: %s (a later sweep removes it)",
                    l->key, e.msg);
        l->written = false;
    }
    l->st = NULL;
}

static bool sweep_everything(void *ctx, const struct lh_store_pending *p)
{
    (void)ctx;
    (void)p;
    return true;
}

/* ------------------------------------------------------------------ run */

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
    lh_catalog_record_reset(&rec);
    return found;
}

static enum lh_status sweep_empty_run_dirs(struct lh_store *st, const char *dataset,
                                           struct lh_error *err);

/* A short random pause between publish attempts, growing with the attempt. */
static void publish_backoff(unsigned attempt)
{
    uint32_t x = 0;
    if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x)
        x = (uint32_t)lh_time_mono_ns();
    unsigned cap_us = 1000u * (attempt < 20 ? attempt : 20);
    struct timespec ts = {0, (long)(x % cap_us) * 1000L};
    nanosleep(&ts, NULL);
}

/* The version number the catalog gives the next version of rec. */
static uint64_t next_version(const struct lh_catalog_record *rec)
{
    uint64_t v = rec ? rec->current_version : 0;
    for (size_t i = 0; rec && i < rec->nversions; i++)
        if (rec->versions[i].version > v)
            v = rec->versions[i].version;
    return v + 1;
}

/* Publishes the run's version as a compare-and-swap on spec->base_version,
 * the version the run built on. When another run published first, append
 * re-reads the new base (its columns must still be the table's) and tries
 * again, overwrite tries again on the new base, incremental fails: its rows
 * were chosen by the old base's watermark. *nothing_new: an append of zero
 * rows found a version to build on after all; *version is that version and
 * nothing was published.
 * Each attempt first stages the Iceberg snapshot of the version it is
 * about to register (table.c), on top of the record it builds on; a lost
 * swap deletes it (unstage) and the retry stages again on the new base.
 * On return the caller commits or unstages (a register error may have
 * swapped the record anyway). rec0: the record the run started from (NULL:
 * none). A cancel is honoured before each attempt, never after the swap.
 * On success, change (cap bytes) says how the published columns differ
 * from the version it replaced ("" none). */
static enum lh_status publish(struct lh_ingest_job *j, struct run *r,
                              const struct lh_catalog_record *rec0,
                              struct lh_catalog_version_spec *spec, int64_t rows, uint64_t *version,
                              bool *nothing_new, char *change, size_t cap, struct lh_error *err)
{
    enum lh_ingest_mode mode = j->opt.mode;
    struct lh_catalog_record cur;
    bool have_cur = false;
    const struct lh_catalog_record *base_rec = rec0;
    enum lh_status s;
    for (unsigned attempt = 1;; attempt++) {
        const char *mkey = NULL;
        if (source_cancelled(j)) {
            s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
            goto out;
        }
        s = ingest_table_stage(r->ice, base_rec, next_version(base_rec),
                               mode != LH_INGEST_OVERWRITE, lh_catalog_keep_versions(j->cat), &mkey,
                               err);
        if (s != LH_OK)
            goto out;
        spec->metadata_location = mkey;
        ingest_fault(1);
        s = lh_catalog_version_register(j->cat, j->dataset, spec, version, err);
        if (s == LH_OK)
            ingest_table_schema_change(r->ice, base_rec, change, cap);
        if (s != LH_E_STATE) /* register's only LH_E_STATE: the base moved */
            goto out;
        ingest_table_unstage(r->ice);
        if (mode == LH_INGEST_INCREMENTAL) {
            s = lh_error_set(err, LH_E_CONFLICT,
                             "another run published a version while this incremental run read "
                             "the rows after version %" PRIu64
                             "'s watermark; nothing was published (run it again)",
                             spec->base_version);
            goto out;
        }
        if (attempt >= PUBLISH_ATTEMPTS) {
            s = lh_error_set(err, LH_E_CONFLICT,
                             "other runs published a version %u times while this run tried to "
                             "publish; nothing was published",
                             attempt);
            goto out;
        }
        if (have_cur)
            lh_catalog_record_reset(&cur);
        have_cur = false;
        s = lh_catalog_dataset_get(j->cat, j->dataset, &cur, err);
        if (s != LH_OK)
            goto out;
        have_cur = true;
        base_rec = &cur;
        const struct lh_catalog_version_info *cv = lh_catalog_record_current(&cur);
        uint64_t nb = cv ? cv->version : 0;
        bool other_columns = mode == LH_INGEST_APPEND && cv && cv->schema_fingerprint &&
                             *cv->schema_fingerprint &&
                             strcmp(cv->schema_fingerprint, spec->schema_fingerprint) != 0;
        if (other_columns) {
            s = lh_error_set(err, LH_E_STATE,
                             "version %" PRIu64 ", published by another run meanwhile, has other "
                             "columns than the table; append would mix schemas (run once with "
                             "--mode overwrite)",
                             nb);
            goto out;
        }
        if (mode == LH_INGEST_APPEND && rows == 0 && nb > 0) {
            *version = nb;
            *nothing_new = true;
            s = LH_OK;
            goto out;
        }
        struct lh_parquet_writer_options wo; /* the ids are checked, the options unused */
        lh_parquet_writer_options_init(&wo);
        s = ingest_table_prepare(r->ice, &cur, NULL, &wo, err);
        if (s != LH_OK)
            goto out;
        lh_debug("ingest %s: version %" PRIu64 " was published meanwhile (attempt %u), "
                 "publishing on top of it",
                 j->dataset, nb, attempt);
        run_log(j, LH_LOG_INFO,
                "publish: another run published version %" PRIu64 " meanwhile; retrying on top "
                "of it (attempt %u)",
                nb, attempt + 1);
        spec->base_version = nb;
        publish_backoff(attempt);
    }
out:
    if (have_cur)
        lh_catalog_record_reset(&cur);
    return s;
}

/* ------------------------------------------------------------------ parallel read */

/* A parallel read (docs/ingest.md "Parallel reads"): the leader source
 * (started by the run thread: it exported its snapshot and read its ctid
 * range's schema) and n-1 more, each read by its own thread into its own
 * parts; the run thread reports progress, watches the cancel flag and the
 * lease, and on the first failure cancels every source. All parts join
 * the one version the run publishes. */
struct preader {
    struct run *run;
    struct lh_source *src;          /* the run thread closes it */
    bool start;                     /* not the leader: start (connect, import the snapshot) first */
    const struct lh_schema *schema; /* the leader's: every part writes it */
    const struct lh_parquet_writer_options *wo;
    uint64_t part_bytes;
    struct pwriter local; /* the other readers' writer */
    struct pwriter *pw;   /* &local, or the run's for the leader */
    _Atomic int64_t rows, batches;
    _Atomic uint64_t bytes;
    enum lh_status st;
    struct lh_error err;
    struct pshared *sh;
    pthread_t th;
    bool th_started;
    int index;                    /* 0: the leader */
    struct lh_source_options po;  /* this part's options (a re-read opens them again) */
    struct lh_source_range range; /* a part split by key: its range (po.ranges), as it began */
};

struct pshared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;   /* under mu */
    bool failed;   /* under mu */
    bool stopping; /* under mu: the run thread cancels every reader */
};

static bool same_schema(const struct lh_schema *a, const struct lh_schema *b)
{
    if (a->nfields != b->nfields)
        return false;
    for (size_t i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
            a->fields[i].type != b->fields[i].type)
            return false;
    return true;
}

/* An ordered read on a key: checks that the batch's keys rise past *last
 * (*have: a key was seen before) and moves *last to the batch's last.
 * false: they do not, or pass the signed 64-bit range (the read is not
 * resumable after all). */
static bool batch_keys(const struct lh_batch *b, long k, enum lh_type t, int64_t *last, bool *have)
{
    const struct lh_array *a = &b->cols[k];
    for (int64_t i = 0; i < b->num_rows; i++) {
        if (a->validity && !lh_bit_get(a->validity, i))
            return false;
        int64_t v;
        if (t == LH_T_INT64) {
            v = ((const int64_t *)a->values)[i];
        } else if (t == LH_T_UINT64) {
            uint64_t u = ((const uint64_t *)a->values)[i];
            if (u > (uint64_t)INT64_MAX)
                return false;
            v = (int64_t)u;
        } else if (t == LH_T_UINT8 || t == LH_T_UINT16 || t == LH_T_UINT32) {
            v = ((const uint32_t *)a->values)[i];
        } else {
            v = ((const int32_t *)a->values)[i]; /* INT8/16/32 (batch.h) */
        }
        if (*have && v <= *last)
            return false;
        *last = v;
        *have = true;
    }
    return true;
}

/* A keyed read (run->key >= 0): the batch's keys must rise past the
 * writer's last, which moves on. One that does not makes the read not
 * resumable (key_broken), and fails a resumed read. */
static enum lh_status writer_keys(struct pwriter *w, const struct lh_batch *b, struct lh_error *err)
{
    struct run *run = w->run;
    if (run->key < 0 || atomic_load(&run->key_broken) ||
        batch_keys(b, run->key, run->key_type, &w->last_key, &w->key_have))
        return LH_OK;
    atomic_store(&run->key_broken, true);
    if (!run->resumed)
        return LH_OK;
    return lh_error_set(err, LH_E_STATE,
                        "resuming: the key %s did not rise from row to row; nothing was "
                        "published (run again with --no-resume)",
                        run->key_name);
}

static enum lh_status preader_read(struct preader *rd)
{
    enum lh_status s = LH_OK;
    struct pwriter *pw = rd->pw;
    if (rd->start) {
        s = lh_source_start(rd->src, &rd->err);
        if (s != LH_OK)
            return s;
        if (!same_schema(rd->schema, lh_source_schema(rd->src)))
            return lh_error_set(&rd->err, LH_E_STATE,
                                "a parallel part read other columns than the first");
    }
    int64_t rows = 0, batches = 0;
    for (;;) {
        const struct lh_batch *b;
        s = lh_source_next_batch(rd->src, &b, &rd->err);
        if (s != LH_OK || !b)
            return s;
        if (b->num_rows == 0)
            continue;
        if (!pw->w && (s = part_begin(pw, rd->schema, rd->wo, &rd->err)) != LH_OK)
            return s;
        if ((s = lh_parquet_writer_add_batch(pw->w, b, &rd->err)) != LH_OK)
            return s;
        if ((s = writer_keys(pw, b, &rd->err)) != LH_OK)
            return s;
        rows += b->num_rows;
        struct lh_parquet_writer_stats ws;
        lh_parquet_writer_stats(pw->w, &ws);
        if (ws.bytes_written + ws.buffered_bytes >= rd->part_bytes) {
            if ((s = part_finish(pw, rows, &rd->err)) != LH_OK)
                return s;
            ws.bytes_written = ws.buffered_bytes = 0;
        }
        atomic_store(&rd->rows, rows);
        atomic_store(&rd->batches, ++batches);
        atomic_store(&rd->bytes, pw->done_bytes + ws.bytes_written + ws.buffered_bytes);
    }
}

/* A part's connection failed (the backend was terminated, the network
 * dropped, its statement timed out) while the rest of the read goes on:
 * worth reading that part again in the same snapshot? Only a part that is
 * not the leader (the leader's transaction is the snapshot), on a failure
 * of the connection rather than of the data, when the run is neither
 * cancelled nor failing anyway, a bounded number of times. Whether the
 * snapshot is still alive is the server's to say: importing a snapshot
 * whose exporting transaction has ended fails, and that failure is final. */
static bool preader_retryable(struct preader *rd, enum lh_status s, int attempt)
{
    /* PostgreSQL only: a new connection imports the very snapshot; other
     * servers cannot join a snapshot later (a retry would read another) */
    if (rd->run->job->opt.kind != LH_SOURCE_POSTGRES || !rd->po.snapshot)
        return false;
    if (!rd->start || attempt >= PART_REREADS || source_cancelled(rd->run->job))
        return false;
    if (s != LH_E_CONNECT && s != LH_E_TIMEOUT && s != LH_E_IO)
        return false;
    pthread_mutex_lock(&rd->sh->mu);
    bool failed = rd->sh->failed || rd->sh->stopping;
    pthread_mutex_unlock(&rd->sh->mu);
    return !failed;
}

static void ranges_text(const struct ingest_resume_range *g, size_t n, const char *key, bool kept,
                        char *out, size_t cap);

/* The range of a part, for the run log: its key range (a read split by
 * key), or the ctid range of part k of n over nblocks blocks (as the
 * source splits it). */
static void part_range_text(const struct preader *rd, char *out, size_t cap)
{
    const struct lh_source_options *po = &rd->po;
    if (po->nranges == 1) {
        struct ingest_resume_range g = {.r = rd->range};
        const char *key = rd->run->key_name[0] ? rd->run->key_name : po->order_by;
        ranges_text(&g, 1, key, false, out, cap);
        return;
    }
    int n = po->parallel, k = po->part;
    long long lo = (long long)(po->nblocks * k / n), hi = (long long)(po->nblocks * (k + 1) / n);
    if (k == n - 1)
        snprintf(out, cap, "ctid >= '(%lld,0)'", lo);
    else
        snprintf(out, cap, "ctid >= '(%lld,0)' AND ctid < '(%lld,0)'", lo, hi);
}

/* Drops what this reader wrote (its open part, the parts it committed:
 * deleted from the store and forgotten by the run and its Iceberg table)
 * and opens its part again on a new connection in the same snapshot. */
static enum lh_status preader_reopen(struct preader *rd)
{
    struct run *run = rd->run;
    struct lh_ingest_job *j = run->job;
    struct pwriter *pw = rd->pw;
    part_abort(pw);
    pthread_mutex_lock(&run->mu);
    size_t keep = 0;
    for (size_t i = 0; i < run->nparts; i++) {
        if (run->parts[i].by != pw) {
            run->parts[keep++] = run->parts[i];
            continue;
        }
        ingest_table_part_drop(run->ice, run->parts[i].key);
        struct lh_error e;
        if (lh_store_delete(run->primary, run->parts[i].key, &e) != LH_OK)
            lh_warn("ingest: could not delete the part %s of a failed read: %s (a later sweep "
                    "removes it)",
                    run->parts[i].key, e.msg);
    }
    run->nparts = keep;
    /* nothing of its range is kept any more (plan_advance moved it) */
    for (size_t i = 0; i < pw->nrix && rd->po.nranges == 1; i++)
        run->plan[pw->rix[i]] = (struct ingest_resume_range){.r = rd->range};
    pthread_mutex_unlock(&run->mu);
    pw->part_row0 = 0;
    pw->done_bytes = 0;
    pw->key_have = false;
    atomic_store(&rd->rows, 0);
    atomic_store(&rd->bytes, 0);

    struct lh_source *old = rd->src, *fresh = NULL;
    enum lh_status s = lh_source_create(&fresh, j->opt.kind, j->opt.dsn, &rd->po, &rd->err);
    /* swapped under the job's lock: the cancel paths read both */
    pthread_mutex_lock(&j->mu);
    rd->src = fresh;
    j->psrc[rd->index - 1] = fresh;
    bool c = atomic_load(&j->cancelled);
    pthread_mutex_unlock(&j->mu);
    lh_source_close(old);
    /* a cancel of every reader that ran before the swap missed fresh */
    pthread_mutex_lock(&rd->sh->mu);
    c = c || rd->sh->stopping;
    pthread_mutex_unlock(&rd->sh->mu);
    if (s == LH_OK && c)
        lh_source_cancel(fresh);
    return s;
}

static void *preader_main(void *arg)
{
    struct preader *rd = arg;
    enum lh_status s;
    for (int attempt = 0;; attempt++) {
        s = preader_read(rd);
        if (s == LH_OK && rd->pw->w)
            s = part_finish(rd->pw, atomic_load(&rd->rows), &rd->err);
        if (s == LH_OK) {
            pthread_mutex_lock(&rd->run->mu);
            plan_advance(rd->pw, true); /* its ranges are read whole */
            pthread_mutex_unlock(&rd->run->mu);
            if (attempt > 0) {
                char range[128];
                part_range_text(rd, range, sizeof range);
                run_log(rd->run->job, LH_LOG_INFO,
                        "parallel read: part %d (%s) read again in the same snapshot: %" PRId64
                        " rows",
                        rd->index, range, atomic_load(&rd->rows));
            }
            break;
        }
        part_abort(rd->pw);
        if (!preader_retryable(rd, s, attempt))
            break;
        char range[128];
        part_range_text(rd, range, sizeof range);
        run_log(rd->run->job, LH_LOG_WARN,
                "parallel read: part %d (%s) failed after %" PRId64
                " rows: %s; reading it again on a new connection in the same snapshot "
                "(attempt %d of %d)",
                rd->index, range, atomic_load(&rd->rows), rd->err.msg, attempt + 2,
                PART_REREADS + 1);
        lh_error_clear(&rd->err);
        s = preader_reopen(rd);
        if (s != LH_OK)
            break;
    }
    if (s != LH_OK)
        part_abort(rd->pw);
    rd->st = s;
    pthread_mutex_lock(&rd->sh->mu);
    if (s != LH_OK)
        rd->sh->failed = true;
    rd->sh->running--;
    pthread_cond_broadcast(&rd->sh->cv);
    pthread_mutex_unlock(&rd->sh->mu);
    return NULL;
}

static void cancel_all(struct lh_ingest_job *j, struct preader *rd, int n)
{
    pthread_mutex_lock(&j->mu); /* a part read again swaps its source under it */
    for (int i = 0; i < n; i++)
        if (rd[i].src)
            lh_source_cancel(rd[i].src);
    pthread_mutex_unlock(&j->mu);
}

/* Reads with lh_source_parallel(leader) connections. *rows, *bytes and
 * *batches: what all readers read and encoded; *warnings: the other
 * parts' warnings (the leader's are the caller's). The leader stays open
 * (the caller closes it); the others are closed here. */
static enum lh_status read_parallel(struct lh_ingest_job *j, struct run *r,
                                    struct lh_source *leader, const struct lh_source_options *so,
                                    const struct lh_schema *schema,
                                    const struct lh_parquet_writer_options *wo, uint64_t part_bytes,
                                    int64_t t0, int64_t estimate, int64_t *rows, uint64_t *bytes,
                                    int64_t *batches, int64_t *warnings, struct lh_error *err)
{
    int n = lh_source_parallel(leader);
    enum lh_status s = LH_OK;
    struct pshared sh = {.running = 0};
    pthread_mutex_init(&sh.mu, NULL);
    lh_cond_init_mono(&sh.cv);
    struct preader *rd = calloc((size_t)n, sizeof *rd);
    if (!rd) {
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto out;
    }
    struct lh_source_options po = *so;
    po.parallel = n;
    po.snapshot = lh_source_snapshot(leader);
    po.nblocks = lh_source_blocks(leader);
    po.batch_bytes = INGEST_BATCH_BYTES / (size_t)n;
    /* a read split by key (PostgreSQL): part i reads the leader's range i
     * (MySQL parts take theirs from the leader's connections) */
    struct lh_source_range sr[LH_SOURCE_RANGES_MAX];
    bool by_key = j->opt.kind == LH_SOURCE_POSTGRES && lh_source_ranges(leader, sr) == (size_t)n;
    po.ranges = NULL;
    po.nranges = 0;
    for (int i = 0; i < n; i++) {
        rd[i].run = r;
        rd[i].schema = schema;
        rd[i].wo = wo;
        rd[i].part_bytes = part_bytes;
        rd[i].sh = &sh;
        rd[i].local.run = r;
        lh_buf_init(&rd[i].local.tail, 64u << 20);
        rd[i].pw = i == 0 ? &r->pw : &rd[i].local;
        if ((size_t)i < r->nsrc) { /* a keyed read: part i reads the source's range i */
            rd[i].pw->rix[0] = r->srcmap[i];
            rd[i].pw->nrix = 1;
        }
        rd[i].index = i;
        if (by_key) {
            rd[i].range = sr[i];
            po.ranges = &rd[i].range;
            po.nranges = 1;
        }
        po.part = i;
        rd[i].po = po;
        if (i == 0) {
            rd[i].src = leader;
            continue;
        }
        s = lh_source_create(&rd[i].src, j->opt.kind, j->opt.dsn, &po, err);
        if (s != LH_OK)
            goto out;
        rd[i].start = true;
        pthread_mutex_lock(&j->mu);
        j->psrc[i - 1] = rd[i].src;
        bool c = atomic_load(&j->cancelled);
        pthread_mutex_unlock(&j->mu);
        if (c)
            lh_source_cancel(rd[i].src);
    }
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&sh.mu);
        sh.running++;
        pthread_mutex_unlock(&sh.mu);
        if (pthread_create(&rd[i].th, NULL, preader_main, &rd[i]) != 0) {
            pthread_mutex_lock(&sh.mu);
            sh.running--;
            sh.failed = true;
            pthread_mutex_unlock(&sh.mu);
            s = lh_error_set(err, LH_E_NOMEM, "cannot start a reader thread");
            break;
        }
        rd[i].th_started = true;
    }
    bool cancelled_all = false;
    int64_t sum_ns = lh_time_mono_ns();
    for (;;) {
        pthread_mutex_lock(&sh.mu);
        if (sh.running > 0 && !(sh.failed && !cancelled_all)) {
            (void)lh_cond_wait_until(&sh.cv, &sh.mu, lh_time_mono_ns() + 200 * INT64_C(1000000));
        }
        int running = sh.running;
        bool failed = sh.failed;
        pthread_mutex_unlock(&sh.mu);
        int64_t nr = 0, nb = 0;
        uint64_t by = 0;
        for (int i = 0; i < n; i++) {
            nr += atomic_load(&rd[i].rows);
            nb += atomic_load(&rd[i].batches);
            by += atomic_load(&rd[i].bytes);
        }
        *rows = nr;
        *bytes = by;
        *batches = nb;
        if (running == 0)
            break;
        run_progress(j, LH_INGEST_READING, nr, by, t0, estimate);
        int64_t now = lh_time_mono_ns();
        if (j->opt.on_log && now - sum_ns >= SUMMARY_NS) {
            double secs = (double)(now - t0) / 1e9;
            run_log(j, LH_LOG_INFO,
                    "reading: %" PRId64 " rows in %" PRId64 " batches so far on %d connections, "
                    "%.0f rows/s; %" PRIu64 " bytes of Parquet so far",
                    nr, nb, n, secs > 0 ? (double)nr / secs : 0.0, by);
            sum_ns = now;
        }
        if (cancelled_all)
            continue;
        if (source_cancelled(j)) {
            s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
        } else if (!failed && s == LH_OK) {
            s = lease_check(&r->lease, err);
            if (s == LH_OK)
                continue;
        }
        pthread_mutex_lock(&sh.mu);
        sh.stopping = true;
        pthread_mutex_unlock(&sh.mu);
        cancel_all(j, rd, n);
        cancelled_all = true;
    }
    for (int i = 0; i < n; i++)
        if (rd[i].th_started)
            pthread_join(rd[i].th, NULL);
    /* the first failure: a reader's own error rather than the cancel it
     * caused in the others */
    if (s == LH_OK) {
        int pick = -1;
        for (int i = 0; i < n; i++)
            if (rd[i].st != LH_OK &&
                (pick < 0 || (rd[pick].st == LH_E_CANCELLED && rd[i].st != LH_E_CANCELLED)))
                pick = i;
        if (pick >= 0) {
            *err = rd[pick].err;
            s = rd[pick].st;
        }
    }
out:
    if (rd) {
        for (int i = 1; i < n; i++) {
            if (rd[i].src) {
                struct lh_source_stats st;
                lh_source_stats(rd[i].src, &st);
                *warnings += st.warnings;
                pthread_mutex_lock(&j->mu);
                j->psrc[i - 1] = NULL;
                pthread_mutex_unlock(&j->mu);
                lh_source_close(rd[i].src);
            }
            part_abort(&rd[i].local);
            lh_buf_reset(&rd[i].local.tail);
        }
        lh_buf_reset(&rd[0].local.tail);
    }
    free(rd);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);
    return s;
}

/* ------------------------------------------------------------------ resume */

/* What a resumed run must read the same way as the run that left the
 * record (docs/ingest.md "Resumable loads"): system, server, database,
 * table, columns, where, order, limit and mode. No password: the source
 * description holds host and database only. Caller frees. */
static char *resume_fingerprint(const struct lh_ingest_options *o,
                                const struct ingest_source_desc *d)
{
    const struct lh_catalog_source *c = &d->src;
    json_t *a = json_pack(
        "[s, s, I, s, s, s, s, s, I, s]", c->system ? c->system : "", c->host ? c->host : "",
        (json_int_t)c->port, c->database ? c->database : "", c->table ? c->table : "",
        o->columns ? o->columns : "", o->where ? o->where : "", o->order_by ? o->order_by : "",
        (json_int_t)o->limit, lh_ingest_mode_name(o->mode));
    char *t = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return t;
}

/* The connections a run asks for, as a record keeps them (0 is 1). */
static int resume_parallel(const struct lh_ingest_options *o)
{
    return o->parallel == 0 ? 1 : o->parallel;
}

/* The ranges of a plan as the run log and the lineage say them: kept
 * ("id <= 1572864", "id 1..49999, id 50000..73000"), or left to read
 * ("id > 1572864", "id > 73000 AND id < 100000; id >= 100000"). */
static void ranges_text(const struct ingest_resume_range *g, size_t n, const char *key, bool kept,
                        char *out, size_t cap)
{
    struct lh_buf b;
    lh_buf_init(&b, cap);
    for (size_t i = 0; i < n; i++) {
        const struct lh_source_range *r = &g[i].r;
        size_t at = b.len;
        const char *sep = b.len ? (kept ? ", " : "; ") : "";
        if (kept && (g[i].done || r->has_after)) {
            bool top = g[i].done ? r->has_hi : true;
            int64_t hi = g[i].done ? r->hi - 1 : r->after;
            if (r->has_lo && top)
                lh_buf_printf(&b, "%s%s %" PRId64 "..%" PRId64, sep, key, r->lo, hi);
            else if (top)
                lh_buf_printf(&b, "%s%s <= %" PRId64, sep, key, hi);
            else if (r->has_lo)
                lh_buf_printf(&b, "%s%s >= %" PRId64, sep, key, r->lo);
            else
                lh_buf_printf(&b, "%severy %s", sep, key);
        } else if (!kept && !g[i].done) {
            lh_buf_append_str(&b, sep);
            if (r->has_after)
                lh_buf_printf(&b, "%s > %" PRId64, key, r->after);
            else if (r->has_lo)
                lh_buf_printf(&b, "%s >= %" PRId64, key, r->lo);
            if (r->has_hi)
                lh_buf_printf(&b, "%s%s < %" PRId64, b.len > at + strlen(sep) ? " AND " : "", key,
                              r->hi);
            if (b.len == at + strlen(sep))
                lh_buf_printf(&b, "every %s", key);
        }
    }
    lh_buf_cstr(&b);
    snprintf(out, cap, "%s", lh_buf_ok(&b) && b.data ? (const char *)b.data : "");
    lh_buf_reset(&b);
}

/* Why a read cannot be continued by a later run, or NULL when it can
 * (the source says what its order is: lh_source_order_key). */
static const char *resume_refusal(const struct lh_ingest_options *o, const struct lh_source *src,
                                  long key, const struct lh_schema *schema)
{
    if (o->mode != LH_INGEST_OVERWRITE)
        return "only overwrite loads are resumable";
    if (!o->table)
        return "a query has no key to continue after";
    if (key < 0 && lh_source_order_why(src))
        return lh_source_order_why(src);
    if (key < 0 && o->order_by)
        return "the order is not one ascending NOT NULL column with a unique index of its own "
               "among the columns read";
    if (key < 0)
        return "without --order-by on a unique key (or a parallel MySQL/MariaDB read, split by "
               "its key) the read has no order to continue after";
    enum lh_type t = schema->fields[key].type;
    if (schema->fields[key].is_list ||
        (t != LH_T_INT8 && t != LH_T_INT16 && t != LH_T_INT32 && t != LH_T_INT64 &&
         t != LH_T_UINT8 && t != LH_T_UINT16 && t != LH_T_UINT32 && t != LH_T_UINT64))
        return "the order's key is not an integer column";
    return NULL;
}

/* A keyed read started: the run's plan of the key's ranges, the record's
 * (rz) or, for a fresh read, the source's, and which of them each of the
 * source's ranges is. false: a range of the source is none of the
 * record's left to read (the record does not fit this read). */
static bool plan_build(struct run *r, struct lh_source *src, const struct ingest_resume *rz)
{
    struct lh_source_range sr[LH_SOURCE_RANGES_MAX];
    size_t n = lh_source_ranges(src, sr);
    r->nplan = rz ? rz->nranges : n;
    if (rz)
        memcpy(r->plan, rz->ranges, rz->nranges * sizeof *r->plan);
    for (size_t i = 0; !rz && i < n; i++)
        r->plan[i] = (struct ingest_resume_range){.r = sr[i]};
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        for (; j < r->nplan; j++) {
            const struct lh_source_range *g = &r->plan[j].r;
            if (!r->plan[j].done && g->has_lo == sr[i].has_lo && g->has_hi == sr[i].has_hi &&
                (!g->has_lo || g->lo == sr[i].lo) && (!g->has_hi || g->hi == sr[i].hi))
                break;
        }
        if (j == r->nplan)
            return false;
        r->srcmap[i] = j;
    }
    r->nsrc = n;
    r->resumed = rz != NULL;
    return n > 0;
}

/* The run failed while reading a keyed load: keeps the finished parts
 * (the earlier runs' too) in a resume record for the next run, with the
 * plan's ranges as far as they are kept, and drops the open part. false:
 * nothing kept (no finished part, nothing left to read, or the record
 * could not be written), the caller discards as usual. */
/* After reading: a key that did not rise (writer_keys) makes the read not
 * resumable; says so once. */
static void key_check(struct run *r, const char **no_keep_why)
{
    if (*no_keep_why || !atomic_load(&r->key_broken))
        return;
    *no_keep_why = "the key did not rise from row to row";
    run_log(r->job, LH_LOG_WARN, "the read is not resumable: %s", *no_keep_why);
}

static bool resume_keep(struct lh_ingest_job *j, struct run *r, const char *run_id,
                        int64_t created_ms, const char *fingerprint, const char *fp, uint64_t base,
                        int64_t *kept_rows)
{
    part_abort(&r->pw);
    bool left = false;
    for (size_t i = 0; i < r->nplan; i++)
        left = left || !r->plan[i].done;
    if (r->nparts == 0 || !fingerprint || !left)
        return false;
    struct ingest_resume rz = {.created_ms = created_ms,
                               .base_version = base,
                               .parallel = resume_parallel(&j->opt),
                               .ranges = r->plan,
                               .nranges = r->nplan};
    snprintf(rz.run_id, sizeof rz.run_id, "%s", run_id);
    snprintf(rz.schema_fp, sizeof rz.schema_fp, "%s", fp);
    snprintf(rz.key_column, sizeof rz.key_column, "%s", r->key_name);
    rz.parts = calloc(r->nparts, sizeof *rz.parts);
    if (!rz.parts)
        return false;
    rz.source = (char *)fingerprint; /* borrowed, as are the ranges: not reset below */
    rz.nparts = r->nparts;
    size_t own = 0;
    for (size_t i = 0; i < r->nparts; i++) {
        const struct part *p = &r->parts[i];
        struct ingest_resume_part *q = &rz.parts[i];
        snprintf(q->key, sizeof q->key, "%s", p->key);
        snprintf(q->checksum, sizeof q->checksum, "%s", p->checksum);
        q->size = p->size;
        q->created_us = p->created_us;
        q->rows = p->rows;
        rz.rows += p->rows;
        own += !p->inherited;
    }
    struct lh_error e;
    enum lh_status s = ingest_resume_save(r->primary, j->dataset, &rz, &e);
    free(rz.parts);
    if (s != LH_OK) {
        run_log(j, LH_LOG_WARN,
                "could not write the resume record: %s; the next run reads from "
                "zero",
                e.msg);
        return false;
    }
    char kept[600];
    ranges_text(r->plan, r->nplan, r->key_name, true, kept, sizeof kept);
    run_log(j, LH_LOG_INFO,
            "kept %zu finished part(s) (%zu of this run) with %" PRId64 " rows, %s, in "
            "datasets/%s/" INGEST_RESUME_NAME ": the next run of the dataset reads only the rest",
            r->nparts, own, rz.rows, kept, j->dataset);
    *kept_rows = rz.rows;
    return true;
}

/* Looks for a resume record of the dataset and takes it when this run can
 * continue it: same fingerprint, base version, parts all there (their
 * footers read into tails[]). Otherwise the record and its parts are
 * removed, saying why. true: *rz taken (the caller resets it and frees
 * tails). */
static bool resume_take(struct lh_ingest_job *j, struct run *r, const char *fingerprint,
                        uint64_t base, const struct lh_catalog_record *rec,
                        struct ingest_resume *rz, uint8_t ***tails, size_t **tail_lens)
{
    struct lh_error e;
    enum lh_status s = ingest_resume_load(r->primary, j->dataset, rz, &e);
    if (s == LH_E_NOTFOUND)
        return false;
    if (s != LH_OK) {
        run_log(j, LH_LOG_WARN, "discarding the resume record: %s", e.msg);
        (void)ingest_resume_remove(r->primary, j->dataset, NULL, rec, false);
        return false;
    }
    const char *why = NULL;
    if (j->opt.no_resume)
        why = "--no-resume (kind.no_resume) asks for a fresh load";
    else if (!fingerprint || strcmp(rz->source, fingerprint) != 0)
        why = "this run reads another source, columns, where, order or mode";
    else if (rz->parallel != resume_parallel(&j->opt))
        why = "this run asks for another number of connections (--parallel) than the load it "
              "continues";
    else if (rz->base_version != base)
        why = "another version of the dataset was published since";
    *tails = why ? NULL : calloc(rz->nparts, sizeof **tails);
    *tail_lens = why ? NULL : calloc(rz->nparts, sizeof **tail_lens);
    if (!why && (!*tails || !*tail_lens))
        why = "out of memory";
    for (size_t i = 0; !why && i < rz->nparts; i++) {
        s = ingest_part_tail_read(r->primary, rz->parts[i].key, rz->parts[i].size, &(*tails)[i],
                                  &(*tail_lens)[i], &e);
        if (s != LH_OK)
            why = "one of its parts is gone or damaged";
    }
    if (!why)
        return true;
    for (size_t i = 0; *tails && i < rz->nparts; i++)
        free((*tails)[i]);
    free(*tails);
    free(*tail_lens);
    *tails = NULL;
    *tail_lens = NULL;
    run_log(j, LH_LOG_INFO,
            "discarding the resume record of run %s (%" PRId64 " rows in %zu part(s)): %s; "
            "reading from zero",
            rz->run_id, rz->rows, rz->nparts, why);
    (void)ingest_resume_remove(r->primary, j->dataset, rz, rec, true);
    ingest_resume_reset(rz);
    return false;
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
    r.pw.run = &r;
    pthread_mutex_init(&r.mu, NULL);
    lh_buf_init(&r.pw.tail, 64u << 20);
    int64_t warnings_extra = 0;
    char rid[16];
    const struct lh_schema *schema = NULL;
    size_t ncols = 0;
    struct lh_arena names; /* column names outlive the source */
    lh_arena_init(&names, 0);
    uint64_t base = 0;
    const char *base_fp = NULL, *watermark_in = NULL;
    char fp[65];
    bool inherit = false;
    int64_t estimate = -1, batches = 0, sum_ns = t0;
    uint64_t cur_bytes = 0;
    /* resumable loads (docs/ingest.md "Resumable loads") */
    char *rfp = NULL;                                  /* the read's fingerprint */
    struct lh_source_range left[LH_SOURCE_RANGES_MAX]; /* a resumed read's ranges to read */
    size_t nleft = 0;
    struct ingest_resume rz; /* the record this run continues, when have_rz */
    bool have_rz = false;
    uint8_t **rtails = NULL; /* the footers of rz's parts */
    size_t *rtail_lens = NULL;
    long key = -1; /* the order's key column in the schema */
    char key_name[256] = "";
    bool reading = false;
    const char *no_keep_why = "the read did not start";
    memset(&rz, 0, sizeof rz);
    r.key = -1;
    r.key_name = key_name;

    snprintf(res->dataset, sizeof res->dataset, "%s", j->dataset);
    if (o->run_id)
        snprintf(res->run_id, sizeof res->run_id, "%s", o->run_id);
    else
        snprintf(res->run_id, sizeof res->run_id, "scheduled-%s-%" PRId64, sys, start_ms);
    r.primary = lh_store_set_primary(j->set);
    run_progress(j, LH_INGEST_CONNECTING, 0, 0, t0, -1);
    run_log(j, LH_LOG_INFO, "run %s: %s %s%s%s into dataset %s (mode %s)", res->run_id,
            lh_source_kind_name(o->kind), o->table ? "table " : "a query", o->table ? o->table : "",
            o->where ? " with a WHERE" : "", j->dataset, lh_ingest_mode_name(o->mode));

    /* leftovers of runs that died before publishing (their lease expired) */
    {
        struct lh_error e;
        size_t nd = 0;
        if (lh_ingest_sweep(j->set, j->dataset, 0, &nd, &e) != LH_OK) {
            lh_warn("ingest %s: sweep of leftovers failed: %s", j->dataset, e.msg);
            run_log(j, LH_LOG_WARN, "sweep of leftovers failed: %s", e.msg);
        } else if (nd) {
            lh_info("ingest %s: removed %zu leftover(s) of dead runs", j->dataset, nd);
            run_log(j, LH_LOG_INFO, "removed %zu leftover(s) of dead runs", nd);
        }
    }

    /* a kill between an earlier run's catalog swap and its version hint */
    {
        struct lh_error e;
        if (lh_ingest_table_sync(j->set, j->cat, j->dataset, NULL, &e) != LH_OK &&
            e.status != LH_E_NOTFOUND)
            lh_warn("ingest %s: %s", j->dataset, e.msg);
    }

    /* the run directory is named after the sweep, so that its start time
     * (which the sweep reads for a directory without a lease) is when the
     * lease is written */
    lh_random_hex(rid, 4);
    int64_t dir_ms = lh_time_wall_us() / 1000;
    snprintf(r.dir, sizeof r.dir, "datasets/%s/run-%" PRId64 "-%s", j->dataset, dir_ms, rid);
    {
        char tag[64];
        snprintf(tag, sizeof tag, "%" PRId64 "-%s", dir_ms, rid);
        s = ingest_table_create(j->set, j->dataset, tag, &r.ice, err);
        if (s != LH_OK)
            goto fail;
    }
    s = lease_begin(&r, res->run_id, err);
    if (s != LH_OK)
        goto fail;

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
    /* the dataset keeps its meaning: another source only when asked */
    struct ingest_source_desc srcd;
    bool source_replaced = false;
    char col_change[600] = "";
    s = ingest_source_describe(o, j->dataset, &srcd, err);
    if (s != LH_OK)
        goto fail;
    {
        const struct lh_catalog_version_info *cv =
            have_rec ? lh_catalog_record_current(&rec) : NULL;
        if (cv && cv->has_source) {
            s = ingest_source_check(j->dataset, &cv->source, &srcd.src, err);
            if (s != LH_OK && o->replace_source) {
                run_log(j, LH_LOG_INFO, "replacing the source (--replace-source): %s", err->msg);
                source_replaced = true; /* its columns replace the old ones too */
                srcd.src.source_replaced = true;
                s = LH_OK;
            }
            if (s != LH_OK)
                goto fail;
        }
    }

    rfp = resume_fingerprint(o, &srcd);
    have_rz = resume_take(j, &r, rfp, base, have_rec ? &rec : NULL, &rz, &rtails, &rtail_lens);

    struct lh_source_options so = {
        .table = o->table,
        .query = o->query,
        .columns = o->columns,
        .where = o->where,
        .batch_size = o->batch_size,
        .batch_bytes = INGEST_BATCH_BYTES,
        .order_by = o->order_by,
        .limit = o->limit,
        .statement_timeout_ms = o->statement_timeout_ms,
        .parallel = o->parallel,
        .log = o->on_log ? source_log : NULL,
        .log_ctx = j,
    };
    /* a parallel leader's batch is its share (auto: of at most 4, the
     * most auto picks) */
    if (o->parallel > 1 || o->parallel == LH_SOURCE_PARALLEL_AUTO)
        so.batch_bytes = INGEST_BATCH_BYTES / (size_t)(o->parallel > 1 ? o->parallel : 4);
    if (o->mode == LH_INGEST_INCREMENTAL) {
        so.cursor_column = o->cursor_column;
        so.cursor_after = watermark_in;
    }
    if (have_rz) {
        /* the rest: per range of the key, the rows past the last key of its
         * kept parts; ranges kept whole are not read at all. The source
         * adds them to the operator's WHERE in its own SQL (not a cursor:
         * that would read max(key) over the rest first) */
        for (size_t i = 0; i < rz.nranges; i++)
            if (!rz.ranges[i].done)
                left[nleft++] = rz.ranges[i].r;
        so.ranges = left;
        so.nranges = nleft;
        char text[600];
        ranges_text(rz.ranges, rz.nranges, rz.key_column, false, text, sizeof text);
        run_log(j, LH_LOG_INFO,
                "resuming the load of run %s: %" PRId64 " rows in %zu finished part(s) are kept; "
                "reading the rows with %s",
                rz.run_id, rz.rows, rz.nparts, text);
    }
open_source:
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
    estimate = lh_source_estimated_rows(src);
    if (estimate >= 0)
        run_log(j, LH_LOG_INFO, "reading: about %" PRId64 " rows expected", estimate);
    else
        run_log(j, LH_LOG_DEBUG, "reading: no estimate of the rows to read");
    run_progress(j, LH_INGEST_READING, 0, 0, t0, estimate);

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
    key = lh_source_order_key(src);
    no_keep_why = resume_refusal(o, src, key, schema);
    if (!no_keep_why) {
        snprintf(key_name, sizeof key_name, "%s", schema->fields[key].name);
        r.key = key;
        r.key_type = schema->fields[key].type;
    }
    const char *drop_why = no_keep_why                     ? no_keep_why
                           : !have_rz                      ? NULL
                           : strcmp(fp, rz.schema_fp) != 0 ? "the table's columns changed since"
                           : strcmp(key_name, rz.key_column) != 0 ? "the read's key changed since"
                           : !plan_build(&r, src, &rz)
                               ? "its key ranges are not the ones this read has left"
                               : NULL;
    if (!no_keep_why && !have_rz && !plan_build(&r, src, NULL)) {
        no_keep_why = "the source reads no ranges of its key"; /* not expected */
        r.key = -1;
    }
    if (have_rz && drop_why) {
        /* read again from zero, without the bound */
        r.key = -1;
        r.nplan = r.nsrc = 0;
        r.resumed = false;
        run_log(j, LH_LOG_INFO,
                "discarding the resume record of run %s (%" PRId64 " rows in %zu part(s)): %s; "
                "reading from zero",
                rz.run_id, rz.rows, rz.nparts, drop_why);
        (void)ingest_resume_remove(r.primary, j->dataset, &rz, have_rec ? &rec : NULL, true);
        for (size_t i = 0; i < rz.nparts; i++)
            free(rtails[i]);
        free(rtails);
        free(rtail_lens);
        rtails = NULL;
        rtail_lens = NULL;
        ingest_resume_reset(&rz);
        have_rz = false;
        pthread_mutex_lock(&j->mu);
        j->src = NULL;
        pthread_mutex_unlock(&j->mu);
        lh_source_close(src);
        src = NULL;
        free(cols);
        free(typebuf);
        cols = NULL;
        typebuf = NULL;
        so.ranges = NULL;
        so.nranges = 0;
        goto open_source;
    }
    s = ingest_schema_policy_check(source_replaced ? LH_INGEST_SCHEMA_REPLACE : o->schema_policy,
                                   j->dataset, base, have_rec ? &rec : NULL, cols, ncols,
                                   col_change, sizeof col_change, err);
    if (s != LH_OK)
        goto fail;
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
    wo.row_group_rows = INGEST_ROW_GROUP_ROWS;
    if (o->codec) {
        enum lh_parquet_codec c = LH_PQ_ZSTD;
        (void)lh_parquet_codec_parse(o->codec, &c);
        wo.codec = c;
    }
    uint64_t part_bytes = o->part_bytes ? o->part_bytes : PART_BYTES_DEFAULT;
    /* Iceberg field ids for the run's columns (and the iceberg.schema kv) */
    s = ingest_table_prepare(r.ice, have_rec ? &rec : NULL, schema, &wo, err);
    if (s != LH_OK)
        goto fail;
    int npar = lh_source_parallel(src);
    if (npar > 1)
        wo.memory_bytes = INGEST_WRITER_BYTES / (uint64_t)npar; /* one budget for all */
    if (!no_keep_why && part_bytes > RESUME_PART_BYTES)
        part_bytes = RESUME_PART_BYTES; /* what a failure loses */
    for (size_t i = 0; have_rz && i < rz.nparts; i++) {
        /* the kept parts join the run's, ahead of its own (key order) */
        const struct ingest_resume_part *q = &rz.parts[i];
        struct part *np = realloc(r.parts, (r.nparts + 1) * sizeof *np);
        if (!np) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto fail;
        }
        r.parts = np;
        s = ingest_table_part_add(r.ice, q->key, q->size, rtails[i], rtail_lens[i], err);
        if (s != LH_OK)
            goto fail;
        struct part *p = &r.parts[r.nparts++];
        memset(p, 0, sizeof *p);
        snprintf(p->key, sizeof p->key, "%s", q->key);
        snprintf(p->checksum, sizeof p->checksum, "%s", q->checksum);
        p->inherited = true;
        p->size = q->size;
        p->created_us = q->created_us;
        p->rows = q->rows;
    }
    /* one connection reads every range of the source, in key order */
    for (size_t i = 0; npar == 1 && i < r.nsrc; i++)
        r.pw.rix[r.pw.nrix++] = r.srcmap[i];

    reading = true;
    s = part_begin(&r.pw, schema, &wo, err);
    if (s != LH_OK)
        goto fail;
    int64_t rows = 0;
    if (npar > 1) {
        s = read_parallel(j, &r, src, &so, schema, &wo, part_bytes, t0, estimate, &rows, &cur_bytes,
                          &batches, &warnings_extra, err);
        key_check(&r, &no_keep_why);
        if (s != LH_OK)
            goto fail;
    }
    for (; npar == 1;) {
        const struct lh_batch *b;
        s = lh_source_next_batch(src, &b, err);
        if (s != LH_OK)
            goto fail;
        if (!b)
            break;
        if (b->num_rows == 0)
            continue;
        if (!r.pw.w) {
            s = part_begin(&r.pw, schema, &wo, err);
            if (s != LH_OK)
                goto fail;
        }
        s = lh_parquet_writer_add_batch(r.pw.w, b, err);
        if (s == LH_OK)
            s = writer_keys(&r.pw, b, err);
        if (s != LH_OK)
            goto fail;
        key_check(&r, &no_keep_why);
        rows += b->num_rows;
        struct lh_parquet_writer_stats ws;
        lh_parquet_writer_stats(r.pw.w, &ws);
        if (ws.bytes_written + ws.buffered_bytes >= part_bytes) {
            s = part_finish(&r.pw, rows, err);
            if (s != LH_OK)
                goto fail;
            ws.bytes_written = ws.buffered_bytes = 0;
        }
        batches++;
        /* encoded bytes count as they are produced, not only when a row
         * group (up to 64 MiB) reaches the store */
        cur_bytes = r.pw.done_bytes + ws.bytes_written + ws.buffered_bytes;
        run_progress(j, LH_INGEST_READING, rows, cur_bytes, t0, estimate);
        if (o->on_log) {
            int64_t now = lh_time_mono_ns();
            if (now - sum_ns >= SUMMARY_NS) {
                double secs = (double)(now - t0) / 1e9;
                run_log(j, LH_LOG_INFO,
                        "reading: %" PRId64 " rows in %" PRId64 " batches so far, %.0f rows/s; "
                        "%" PRIu64 " bytes of Parquet so far",
                        rows, batches, secs > 0 ? (double)rows / secs : 0.0, cur_bytes);
                sum_ns = now;
            }
        }
        if (source_cancelled(j)) {
            s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
            goto fail;
        }
        s = lease_check(&r.lease, err);
        if (s != LH_OK)
            goto fail;
    }
    {
        double secs = (double)(lh_time_mono_ns() - t0) / 1e9;
        run_log(j, LH_LOG_INFO,
                "read %" PRId64 " rows in %" PRId64 " batches in %.1f s (%.0f rows/s)", rows,
                batches, secs, secs > 0 ? (double)rows / secs : 0.0);
    }
    run_progress(j, LH_INGEST_PUBLISHING, rows, cur_bytes, t0, estimate);
    if (source_cancelled(j)) {
        s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
        goto fail;
    }
    /* Zero new rows on top of an existing version: nothing new to publish.
     * Otherwise (overwrite, or a first run) an empty table is an empty
     * dataset: one part holding the schema and no rows. */
    bool do_publish = !(rows == 0 && inherit);
    if (!do_publish) {
        run_discard(&r);
    } else if (r.pw.w) {
        s = part_finish(&r.pw, rows, err);
        if (s != LH_OK)
            goto fail;
    }
    if (npar == 1) {
        pthread_mutex_lock(&r.mu);
        plan_advance(&r.pw, true); /* every range of the read is read whole */
        pthread_mutex_unlock(&r.mu);
    }

    struct lh_source_stats st;
    lh_source_stats(src, &st);
    res->warnings = st.warnings + warnings_extra;
    res->nwarning_texts =
        st.nwarning_texts < LH_INGEST_MAX_WARNINGS ? st.nwarning_texts : LH_INGEST_MAX_WARNINGS;
    for (int i = 0; i < res->nwarning_texts; i++) {
        snprintf(res->warning_texts[i], sizeof res->warning_texts[i], "%s", st.warning_texts[i]);
        run_log(j, LH_LOG_WARN, "warning: %s", st.warning_texts[i]);
    }
    if (st.warnings > res->nwarning_texts)
        run_log(j, LH_LOG_WARN, "%" PRId64 " warnings in all", st.warnings);
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
        if (!r.parts[i].inherited) { /* a resumed run's own */
            res->bytes += r.parts[i].size;
            res->files++;
        }

    if (do_publish) {
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
        /* a resumed load says so in its lineage: its rows come from two
         * snapshots, split by the key (docs/ingest.md "Resumable loads") */
        char job_text[1000], kept[600];
        if (have_rz) {
            ranges_text(rz.ranges, rz.nranges, rz.key_column, true, kept, sizeof kept);
            snprintf(job_text, sizeof job_text, "%s (resumed load: rows with %s read by run %s)",
                     res->run_id, kept, rz.run_id);
        }
        struct lh_catalog_lineage lin = {
            .source_system = sys,
            .source_file = source_file,
            .ingest_job = have_rz ? job_text : res->run_id,
        };
        struct lh_catalog_version_spec spec = {
            .objects = objs,
            .nobjects = r.nparts,
            .schema_fingerprint = fp,
            .row_count = (uint64_t)(rows + (have_rz ? rz.rows : 0)),
            .run_id = res->run_id,
            .columns = cols,
            .ncolumns = ncols,
            .lineage = &lin,
            .inherit_objects = o->mode != LH_INGEST_OVERWRITE,
            .watermark = watermark[0] ? watermark : NULL,
            .check_base = true,
            .base_version = base,
            .source = &srcd.src,
            .schema_change = col_change[0] ? col_change : NULL,
        };
        if (source_cancelled(j)) {
            s = lh_error_set(err, LH_E_CANCELLED, "cancelled");
            goto fail;
        }
        /* the lease must outlive the publish: fail if it may have lapsed,
         * else renew it now */
        s = lease_check(&r.lease, err);
        if (s == LH_OK)
            s = lease_write(&r.lease, r.primary, err);
        if (s != LH_OK)
            goto fail;
        bool nothing_new = false;
        s = publish(j, &r, have_rec ? &rec : NULL, &spec, rows, &res->version, &nothing_new,
                    res->schema_change, sizeof res->schema_change, err);
        bool swapped = s == LH_OK && !nothing_new;
        if (s != LH_OK && published_anyway(j, res->run_id, &res->version)) {
            /* the record was swapped but a later step reported an error (a
             * directory fsync, an S3 answer lost after the PUT landed):
             * the version is visible, so its parts must stay */
            lh_warn("ingest %s: %s; the record holds run %s as version %llu, keeping it",
                    j->dataset, err->msg, res->run_id, (unsigned long long)res->version);
            s = LH_OK;
            swapped = true;
        }
        if (swapped) {
            ingest_fault(2);
            ingest_table_commit(r.ice);
        } else {
            ingest_table_unstage(r.ice);
        }
        if (s != LH_OK)
            goto fail;
        if (nothing_new) {
            run_discard(&r); /* res->version is the version found */
            res->bytes = 0;
            res->files = 0;
            run_log(j, LH_LOG_INFO,
                    "no new rows; another run published version %" PRIu64
                    " meanwhile; nothing published",
                    res->version);
        } else {
            res->published = true;
            r.nparts = 0; /* published: no longer ours to delete */
            if (have_rz) {
                res->resumed_rows = rz.rows;
                (void)ingest_resume_remove(r.primary, j->dataset, NULL, NULL, false);
                run_log(j, LH_LOG_INFO,
                        "resumed load: %" PRId64 " rows in %zu part(s) of run %s and %" PRId64
                        " rows read by this run",
                        rz.rows, rz.nparts, rz.run_id, rows);
            }
            run_log(j, LH_LOG_INFO,
                    "published version %" PRIu64 " of dataset %s: %d file(s), %" PRId64
                    " rows, %" PRIu64 " bytes",
                    res->version, j->dataset, res->files, res->rows, res->bytes);
            if (res->schema_change[0])
                run_log(j, LH_LOG_INFO, "schema changed since the previous version: %s",
                        res->schema_change);
        }
    } else {
        res->version = base;
        run_log(j, LH_LOG_INFO,
                "no new rows; nothing published (dataset %s stays at version %" PRIu64 ")",
                j->dataset, base);
    }
    if (!res->published && watermark_in)
        snprintf(watermark, sizeof watermark, "%s", watermark_in);
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
        bool kept = false;
        if (reading && !no_keep_why && s != LH_E_STATE && !res->published)
            kept = resume_keep(j, &r, res->run_id, have_rz ? rz.created_ms : start_ms, rfp, fp,
                               base, &res->kept_rows);
        else if (reading && no_keep_why)
            run_log(j, LH_LOG_INFO,
                    "the rows read are not kept for a later run: %s; the next run reads from zero",
                    no_keep_why);
        if (!kept)
            run_discard(&r);
        lh_error_prefix(err, "ingest %s", j->dataset);
        memset(res->message, 0, sizeof res->message);
        res->schema_change[0] = '\0';
        if (s == LH_E_CANCELLED)
            run_log(j, LH_LOG_WARN, "cancelled; nothing published: %s", err->msg);
        else
            run_log(j, LH_LOG_ERROR, "failed (%s); nothing published: %s", lh_status_str(s),
                    err->msg);
    }
    if (r.dir[0]) {
        lease_end(&r.lease, r.primary);
        struct lh_error e;
        if (!res->published) {
            /* nothing of the run is left in its directory: remove it */
            char pfx[sizeof r.dir + 1];
            snprintf(pfx, sizeof pfx, "%s/", r.dir);
            if (lh_store_sweep(r.primary, pfx, sweep_everything, NULL, NULL, &e) != LH_OK)
                lh_warn("ingest %s: could not remove %s: %s", j->dataset, pfx, e.msg);
        } else if (sweep_empty_run_dirs(r.primary, j->dataset, &e) != LH_OK) {
            lh_warn("ingest %s: %s", j->dataset, e.msg);
        }
    }
    ingest_table_destroy(r.ice);
    lh_buf_reset(&r.pw.tail);
    pthread_mutex_destroy(&r.mu);
    free(r.parts);
    free(objs);
    free(cols);
    free(typebuf);
    lh_arena_reset(&names);
    free(rfp);
    for (size_t i = 0; rtails && i < rz.nparts; i++)
        free(rtails[i]);
    free(rtails);
    free(rtail_lens);
    ingest_resume_reset(&rz);
    if (have_rec)
        lh_catalog_record_reset(&rec);
    res->duration_s = (double)(lh_time_mono_ns() - t0) / 1e9;
    return s;
}

/* ------------------------------------------------------------------ sweep */

/* One run directory of the dataset seen by the sweep. */
struct swept_run {
    const char *dir; /* "datasets/{ds}/run-{millis}-{rand}/…": a listed key (borrowed) */
    size_t len;      /* of the directory part, its '/' included */
    int64_t start_ms;
    bool has_lease, lease_gone, dead;
};

struct sweep_ctx {
    struct swept_run *runs;
    size_t nruns, cap;
    size_t dlen; /* strlen("datasets/{ds}/") */
    int64_t now_ms;
    int64_t leaseless_ms; /* a run directory without a lease is dead past this age */
    int64_t pending_ms;   /* a pending write under metadata/ is dead past this age */
};

/* The length of the run directory prefix of key ("datasets/{ds}/run-…/"),
 * 0 when key is not inside a run directory; *start_ms from its name. */
static size_t run_dir_len(const char *key, size_t dlen, int64_t *start_ms)
{
    const char *p = key + dlen;
    if (strncmp(p, "run-", 4) != 0)
        return 0;
    const char *slash = strchr(p, '/');
    if (!slash)
        return 0;
    int64_t v = 0;
    int n = 0;
    for (p += 4; *p >= '0' && *p <= '9' && n < 16; p++, n++)
        v = v * 10 + (*p - '0');
    if (n == 0 || *p != '-')
        return 0;
    *start_ms = v;
    return (size_t)(slash - key) + 1;
}

static struct swept_run *sweep_find(struct sweep_ctx *c, const char *key, size_t n)
{
    for (size_t i = c->nruns; i-- > 0;) /* listings are sorted: usually the last */
        if (c->runs[i].len == n && memcmp(c->runs[i].dir, key, n) == 0)
            return &c->runs[i];
    return NULL;
}

static struct swept_run *sweep_add(struct sweep_ctx *c, const char *key, size_t n, int64_t start_ms)
{
    if (c->nruns == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 32;
        struct swept_run *nr = realloc(c->runs, nc * sizeof *nr);
        if (!nr)
            return NULL;
        c->runs = nr;
        c->cap = nc;
    }
    struct swept_run *r = &c->runs[c->nruns++];
    memset(r, 0, sizeof *r);
    r->dir = key;
    r->len = n;
    r->start_ms = start_ms;
    return r;
}

/* A run directory nobody has listed a lease in: dead once it is older than
 * a live run could be without having written its lease. */
static bool leaseless_dead(const struct sweep_ctx *c, int64_t start_ms)
{
    return start_ms < c->now_ms - c->leaseless_ms;
}

/* The store's verdict callback: pending writes and empty directories inside
 * dead run directories go; everything else stays. */
static bool sweep_verdict(void *vctx, const struct lh_store_pending *p)
{
    struct sweep_ctx *c = vctx;
    int64_t start_ms;
    size_t n = run_dir_len(p->key, c->dlen, &start_ms);
    if (n == 0) /* the Iceberg table's interrupted writes (each takes ms) */
        return strncmp(p->key + c->dlen, "metadata/", 9) == 0 &&
               c->now_ms - p->modified_us / 1000 > c->pending_ms;
    const struct swept_run *r = sweep_find(c, p->key, n);
    return r ? r->dead : leaseless_dead(c, start_ms);
}

/* Empty run directories only (retention empties those of old versions):
 * a live run's directory always holds its lease, except for the moment
 * between making it and writing the lease, hence the age rule. */
static bool empty_run_dir_verdict(void *vctx, const struct lh_store_pending *p)
{
    const struct sweep_ctx *c = vctx;
    int64_t start_ms;
    size_t n = run_dir_len(p->key, c->dlen, &start_ms);
    return n > 0 && p->key[n] == '\0' && leaseless_dead(c, start_ms);
}

/* After a publish: the run directories that the publish's retention left
 * empty (local backend; S3 has no directories). */
static enum lh_status sweep_empty_run_dirs(struct lh_store *st, const char *dataset,
                                           struct lh_error *err)
{
    char prefix[LH_STORE_KEY_MAX];
    snprintf(prefix, sizeof prefix, "datasets/%s/", dataset);
    struct sweep_ctx c = {.dlen = strlen(prefix),
                          .now_ms = lh_time_wall_us() / 1000,
                          .leaseless_ms = 2 * lease_ttl_ms()};
    return lh_store_sweep(st, prefix, empty_run_dir_verdict, &c, NULL, err);
}

/* Reads a run's lease: dead when it expired (or cannot be read and the run
 * is old). A lease gone meanwhile means the run finished: its published
 * parts are in the record read after this. */
static bool lease_dead(struct lh_store *st, const struct sweep_ctx *c, struct swept_run *r)
{
    char key[LH_STORE_KEY_MAX + 16];
    snprintf(key, sizeof key, "%.*s" LEASE_NAME, (int)r->len, r->dir);
    uint8_t *data = NULL;
    size_t len = 0;
    struct lh_error e;
    enum lh_status s = lh_store_get(st, key, 65536, &data, &len, NULL, &e);
    if (s == LH_E_NOTFOUND) {
        r->lease_gone = true;
        return true;
    }
    if (s != LH_OK) {
        lh_warn("sweep: cannot read %s: %s (the run counts as alive)", key, e.msg);
        return false;
    }
    json_t *o = json_loadb((const char *)data, len, 0, NULL);
    free(data);
    json_t *v = json_object_get(o, "expires_at_ms");
    bool dead;
    if (json_is_integer(v))
        dead = (int64_t)json_integer_value(v) < c->now_ms;
    else
        dead = leaseless_dead(c, r->start_ms);
    json_decref(o);
    return dead;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The primary-bucket keys every kept version references, sorted (borrowed
 * from rec); *out freed with free(). */
static enum lh_status referenced_keys(const struct lh_catalog_record *rec, const char ***out,
                                      size_t *n, struct lh_error *err)
{
    size_t total = 0;
    for (size_t i = 0; rec && i < rec->nversions; i++)
        total += rec->versions[i].nobjects;
    const char **keys = malloc((total ? total : 1) * sizeof *keys);
    if (!keys)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; rec && i < rec->nversions; i++)
        for (size_t j = 0; j < rec->versions[i].nobjects; j++)
            if (strcmp(rec->versions[i].objects[j].bucket, "primary") == 0)
                keys[k++] = rec->versions[i].objects[j].key;
    qsort(keys, k, sizeof *keys, cmp_str);
    *out = keys;
    *n = k;
    return LH_OK;
}

/* Deletes one key the sweep found dead: 1 when it went, 0 (warned) when
 * it could not. */
static size_t sweep_delete(struct lh_store *st, const char *key)
{
    struct lh_error e;
    if (lh_store_delete(st, key, &e) == LH_OK)
        return 1;
    lh_warn("sweep: could not delete %s: %s", key, e.msg);
    return 0;
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
    const char **refs = NULL;
    size_t nrefs = 0;
    struct ingest_resume rz;
    bool have_rz = false;
    memset(&rz, 0, sizeof rz);
    int64_t ttl_ms = lease_ttl_ms();
    struct sweep_ctx c = {
        .now_ms = lh_time_wall_us() / 1000,
        .leaseless_ms = older_than_s * 1000 > 2 * ttl_ms ? older_than_s * 1000 : 2 * ttl_ms,
        .pending_ms = ttl_ms,
    };
    size_t n = 0;
    char prefix[LH_STORE_KEY_MAX];
    snprintf(prefix, sizeof prefix, "datasets/%s/", dataset);
    c.dlen = strlen(prefix);

    s = lh_catalog_open(set, NULL, &cat, err);
    if (s != LH_OK)
        goto done;
    /* Order matters: list, then read the leases, then the record. A run
     * that publishes after its lease was read is alive here; one whose
     * lease is gone by then has published before the record is read. */
    s = lh_store_list(st, prefix, &l, err);
    if (s != LH_OK)
        goto done;
    have_list = true;
    for (size_t i = 0; i < l.count; i++) {
        int64_t start_ms;
        size_t dl = run_dir_len(l.items[i].key, c.dlen, &start_ms);
        if (dl == 0)
            continue;
        struct swept_run *r = sweep_find(&c, l.items[i].key, dl);
        if (!r && !(r = sweep_add(&c, l.items[i].key, dl, start_ms))) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        if (strcmp(l.items[i].key + dl, LEASE_NAME) == 0)
            r->has_lease = true;
    }
    for (size_t i = 0; i < c.nruns; i++)
        c.runs[i].dead = c.runs[i].has_lease ? lease_dead(st, &c, &c.runs[i])
                                             : leaseless_dead(&c, c.runs[i].start_ms);
    s = lh_catalog_dataset_get(cat, dataset, &rec, err);
    if (s == LH_OK)
        have_rec = true;
    else if (s != LH_E_NOTFOUND)
        goto done;
    s = referenced_keys(have_rec ? &rec : NULL, &refs, &nrefs, err);
    if (s != LH_OK)
        goto done;
    /* the parts a resume record keeps for the next run count as
     * referenced, until the record is too old (docs/ingest.md "Resumable
     * loads"); read after the leases, as the record: a failing run writes
     * it before it drops its lease */
    {
        struct lh_error e;
        enum lh_status rs = ingest_resume_load(st, dataset, &rz, &e);
        if (rs == LH_OK) {
            have_rz = true;
            int64_t age = c.now_ms - rz.created_ms;
            if (age > ingest_resume_max_age_ms()) {
                lh_info("sweep %s: the resume record of run %s is %" PRId64
                        " s old; removing it and its parts",
                        dataset, rz.run_id, age / 1000);
                n += ingest_resume_remove(st, dataset, NULL, NULL, false);
            } else {
                const char **more = realloc(refs, (nrefs + rz.nparts + 1) * sizeof *refs);
                if (!more) {
                    s = lh_error_set(err, LH_E_NOMEM, "out of memory");
                    goto done;
                }
                refs = more;
                for (size_t i = 0; i < rz.nparts; i++)
                    refs[nrefs++] = rz.parts[i].key;
                qsort(refs, nrefs, sizeof *refs, cmp_str);
            }
        } else if (rs != LH_E_NOTFOUND) {
            lh_warn("sweep %s: %s", dataset, e.msg); /* kept: a run reports and removes it */
        }
    }
    /* unreferenced parts of dead runs, then their leases */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < l.count; i++) {
            const char *key = l.items[i].key;
            int64_t start_ms;
            size_t dl = run_dir_len(key, c.dlen, &start_ms);
            const struct swept_run *r = dl ? sweep_find(&c, key, dl) : NULL;
            bool is_lease = r && strcmp(key + dl, LEASE_NAME) == 0;
            if (!r || !r->dead || is_lease != (pass == 1) || (is_lease && r->lease_gone) ||
                bsearch(&key, refs, nrefs, sizeof *refs, cmp_str))
                continue;
            n += sweep_delete(st, key);
        }
    }
    /* a dataset without a record whose runs are all dead: what a
     * `datasets rm` interrupted after its commit point (the record's
     * delete) left, its Iceberg metadata included (manage.c) */
    bool all_dead = !have_rec;
    for (size_t i = 0; all_dead && i < c.nruns; i++)
        all_dead = c.runs[i].dead;
    for (size_t i = 0; all_dead && i < l.count; i++) {
        const char *key = l.items[i].key;
        if (strncmp(key + c.dlen, "metadata/", 9) != 0)
            continue;
        n += sweep_delete(st, key);
    }
    /* what no listing shows: pending writes (local temporary files, S3
     * multipart uploads) and directories left empty */
    struct lh_store_sweep_stats ss;
    s = lh_store_sweep(st, prefix, sweep_verdict, &c, &ss, err);
    if (s != LH_OK)
        goto done;
    n += ss.pending + ss.dirs;
    /* the record's and events' own interrupted writes */
    s = lh_catalog_sweep(cat, dataset, ttl_ms / 1000, &ss, err);
    if (s != LH_OK)
        goto done;
    n += ss.pending;
    if (deleted)
        *deleted = n;
done:
    free(refs);
    if (have_rz)
        ingest_resume_reset(&rz);
    free(c.runs);
    if (have_list)
        lh_store_list_reset(&l);
    if (have_rec)
        lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    return s;
}

enum lh_status lh_ingest_dataset_each(struct lh_store_set *set, lh_ingest_dataset_fn fn, void *ctx,
                                      struct lh_error *err)
{
    static const char prefix[] = "datasets/";
    struct lh_store_list l;
    enum lh_status s = lh_store_list(lh_store_set_primary(set), prefix, &l, err);
    if (s != LH_OK)
        return s;
    char last[LH_STORE_KEY_MAX] = "";
    for (size_t i = 0; i < l.count; i++) { /* sorted: one dataset's keys are together */
        const char *k = l.items[i].key + sizeof prefix - 1;
        size_t n = strcspn(k, "/");
        if (!k[n] || n == 0 || n >= sizeof last)
            continue;
        if (strlen(last) == n && memcmp(last, k, n) == 0)
            continue;
        memcpy(last, k, n);
        last[n] = '\0';
        if (!fn(ctx, last))
            break;
    }
    lh_store_list_reset(&l);
    return LH_OK;
}

const char *lh_ingest_phase_name(enum lh_ingest_phase p)
{
    switch (p) {
    case LH_INGEST_CONNECTING:
        return "connecting";
    case LH_INGEST_READING:
        return "reading";
    case LH_INGEST_PUBLISHING:
        return "publishing";
    }
    return "unknown";
}
