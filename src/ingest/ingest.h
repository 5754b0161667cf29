/*
 * ingest.h — one ingest job: a PostgreSQL or MySQL/MariaDB table streamed
 * into Parquet parts in the store and published as a new catalog version.
 *
 *   source (column batches) -> parquet writer -> store streaming upload of
 *   datasets/{dataset}/run-{millis}-{rand}/part-{K}.parquet -> catalog
 *   version register (objects, fingerprint, rows, run id, columns, PII,
 *   lineage with the DSN redacted, watermark, stale flag, events) -> done.
 *
 * Parts live under a directory unique to the run, so two runs of the same
 * dataset never write the same key, on any backend (S3 has no rename). The
 * version number is decided by the catalog when the record is replaced,
 * which is the only moment the data becomes visible. A failed or cancelled
 * run aborts its open upload, deletes the parts it committed and publishes
 * nothing; the previous version stays as it was. (An ordered load on a
 * unique key keeps its finished parts in a resume record instead, and the
 * next run reads only the rest: docs/ingest.md "Resumable loads".) Publishing is a
 * compare-and-swap on the version the run built on, in every mode, and a
 * run holds a lease object while it writes, so that a sweep can tell dead
 * runs' leftovers from a live run's parts. docs/ingest.md has the whole
 * contract (load modes, concurrent runs, watermark rule, the sweep).
 *
 * Threads: a job belongs to the thread that runs lh_ingest_run, except
 * lh_ingest_cancel, which any thread may call while it runs.
 */
#ifndef LH_INGEST_H
#define LH_INGEST_H

#include "catalog/catalog.h"
#include "core/core.h"
#include "source/source.h"
#include "store/store.h"

enum lh_ingest_mode {
    LH_INGEST_OVERWRITE,   /* the new version holds this run's rows only */
    LH_INGEST_APPEND,      /* previous version's parts + this run's part */
    LH_INGEST_INCREMENTAL, /* append rows with cursor_column > the last watermark */
};
/* "overwrite", "append", "incremental". */
bool lh_ingest_mode_parse(const char *s, enum lh_ingest_mode *out);
const char *lh_ingest_mode_name(enum lh_ingest_mode m);

/* What a run does when the source's columns differ from the dataset's
 * current version's (docs/ingest.md "Schema policy"); checked before any
 * row is read, so a refused run publishes nothing. */
enum lh_ingest_schema_policy {
    LH_INGEST_SCHEMA_EVOLVE,  /* default: added columns and widened types pass;
                                 a dropped column or a narrowed/changed type fails */
    LH_INGEST_SCHEMA_FAIL,    /* any change fails */
    LH_INGEST_SCHEMA_REPLACE, /* anything goes */
};
/* "evolve", "fail", "replace". */
bool lh_ingest_schema_policy_parse(const char *s, enum lh_ingest_schema_policy *out);
const char *lh_ingest_schema_policy_name(enum lh_ingest_schema_policy p);

/* Where a running job is (docs/runs.md). */
enum lh_ingest_phase { LH_INGEST_CONNECTING, LH_INGEST_READING, LH_INGEST_PUBLISHING };
/* "connecting", "reading", "publishing". */
const char *lh_ingest_phase_name(enum lh_ingest_phase p);

struct lh_ingest_progress {
    enum lh_ingest_phase phase;
    int64_t rows;           /* rows read so far */
    uint64_t bytes;         /* Parquet bytes of the parts so far (written or encoded) */
    double elapsed_s;       /* since the job started */
    int64_t estimated_rows; /* the source's estimate of the rows to read; < 0: none */
};

struct lh_ingest_options {
    enum lh_source_kind kind;
    const char *dsn; /* required; never stored or printed unredacted */
    /* Exactly one of table and query (source.h); columns and where go
     * with a table only. */
    const char *table;
    const char *query;
    const char *columns; /* "a, b, c"; NULL: every column */
    const char *where;   /* the operator's SQL, run as it is (read-only) */
    /* NULL: lh_ingest_default_dataset of the table (a query needs one). */
    const char *dataset;
    int64_t batch_size; /* <= 0: source default */
    const char *order_by;
    int64_t limit; /* <= 0: none */
    enum lh_ingest_mode mode;
    const char *cursor_column;    /* required for INCREMENTAL */
    const char *run_id;           /* NULL: "scheduled-{system}-{millis}" */
    const char *codec;            /* "zstd" (NULL), "snappy", "none" */
    uint64_t part_bytes;          /* roll to a new part past this many bytes; 0 = 1 GiB */
    int64_t statement_timeout_ms; /* <= 0: server default */
    /* Connections reading the table (docs/ingest.md "Parallel reads"):
     * 0 or 1 one; 2..16 that many, in one snapshot, each writing its own
     * parts (PostgreSQL tables read whole; anything else falls back to one
     * and the run log says why); LH_SOURCE_PARALLEL_AUTO: from the table's
     * size and the server's cores. With more than one, on_log is also
     * called from the reader threads, one call at a time. */
    int parallel;
    /* Retention: versions of the dataset kept in its record (older ones
     * and the parts only they reference are deleted when this run
     * publishes); 0: the catalog default (5). */
    unsigned keep_versions;
    /* Lineage (docs/ingest.md "Source"): who runs it, recorded in the
     * version ("cli", "api" or the schedule id; NULL: "cli"). A run whose
     * source (system, host, database, table or query text) differs
     * from the dataset's current version's is refused before it reads
     * (LH_E_STATE, one line naming both) unless replace_source. */
    const char *made_by;
    bool replace_source;
    /* Resumable loads (docs/ingest.md "Resumable loads"): a run that finds
     * the resume record of an earlier failed load in key order of the dataset
     * with the same source, schema and base reads only the rest;
     * no_resume discards such a record and loads from zero. */
    bool no_resume;
    enum lh_ingest_schema_policy schema_policy;
    /* Run observation (docs/runs.md), all from the running thread, all
     * may be NULL, all get progress_ctx:
     *   on_progress  at every phase change and after every batch;
     *   on_log       the run's log: one line at a time, no secret in it
     *                (the statement sent, batches and parts written,
     *                warnings, retries, the publish, the error in full). */
    void (*on_progress)(void *ctx, const struct lh_ingest_progress *p);
    void (*on_log)(void *ctx, enum lh_log_level level, const char *line);
    void *progress_ctx;
};

#define LH_INGEST_MAX_WARNINGS 4

struct lh_ingest_result {
    int64_t rows; /* rows read by this run */
    /* rows of the version that an earlier, failed run of a resumed load
     * read (docs/ingest.md "Resumable loads"); 0: not resumed */
    int64_t resumed_rows;
    /* a failed run: rows of the finished parts it kept for the next run to
     * resume from (0: nothing kept) */
    int64_t kept_rows;
    uint64_t bytes; /* bytes of the parts this run wrote */
    int files;      /* parts this run wrote */
    double duration_s;
    uint64_t version; /* the published version (0: none published) */
    bool published;   /* false: nothing new (append/incremental, zero rows) */
    int64_t warnings;
    int nwarning_texts;
    char warning_texts[LH_INGEST_MAX_WARNINGS][200];
    char dataset[256];
    char run_id[128];
    char watermark[256]; /* incremental: the stored watermark ("" none) */
    char message[400];   /* "rows=N dataset=X bytes=B" (the reference's message) */
    /* The published version's schema differs from the previous version's:
     * "added x Int64; dropped y; z Int32 -> Int64" ("" no change, or the
     * dataset is new). */
    char schema_change[400];
};

struct lh_ingest_job;

/* The dataset name a table gets when none is given: the table's name for
 * the server's default schema (PostgreSQL: none given or "public"; MySQL:
 * none given or the DSN's database), "schema_table" otherwise, so
 * sales.orders and public.orders never land in the same dataset; then every
 * byte a dataset name cannot hold (lh_store_name_check: [A-Za-z0-9._-],
 * no leading '.', 200 bytes) becomes '_' ("Mixed Case" -> Mixed_Case).
 * *changed (may be NULL): the name differs from the table name as parsed,
 * so a caller should say which name it chose. A query has no default:
 * LH_E_INVAL. */
enum lh_status lh_ingest_default_dataset(enum lh_source_kind kind, const char *dsn,
                                         const char *table, char *out, size_t cap, bool *changed,
                                         struct lh_error *err) LH_NODISCARD;

/* A job for one run. set is borrowed (the catalog is opened on it); opt is
 * copied. Free with lh_ingest_job_destroy. */
enum lh_status lh_ingest_job_create(struct lh_store_set *set, const struct lh_ingest_options *opt,
                                    struct lh_ingest_job **out, struct lh_error *err) LH_NODISCARD;
/* Runs the job once (a job runs at most once). On failure err holds one
 * line without the DSN's password and nothing is published. */
enum lh_status lh_ingest_run(struct lh_ingest_job *job, struct lh_ingest_result *res,
                             struct lh_error *err) LH_NODISCARD;
/* Any thread: stops the running job (the source query is cancelled, the run
 * fails with LH_E_CANCELLED and publishes nothing). Safe before or after. */
void lh_ingest_cancel(struct lh_ingest_job *job);
void lh_ingest_job_destroy(struct lh_ingest_job *job);

/* Arrow-style type text for the catalog: "Int64", "Utf8",
 * "Decimal128(12, 2)", "Timestamp(Microsecond, Some(\"UTC\"))", "List(Int32)". */
size_t lh_ingest_type_text(const struct lh_field *f, char *out, size_t cap);

/* Removes the leftovers of dead runs of `dataset` (killed, crashed): in
 * every run directory whose lease expired ($LAKEHOUSE_RUN_LEASE_SECS, 60 s
 * by default), or that has no lease and started more than
 * max(older_than_s, twice the lease time) ago, the objects no kept catalog
 * version references, the lease, the pending writes (local temporary
 * files, S3 incomplete multipart uploads) and, locally, the directory once
 * empty; stale temporary files of the dataset's record and events and of
 * its Iceberg metadata (older than the lease time). Files a run staged for
 * an Iceberg commit it never made are removed by lh_ingest_table_sync.
 * A live run (fresh lease) is never touched. Every run calls it for its
 * dataset before it starts. *deleted (may be NULL): how many were removed. */
enum lh_status lh_ingest_sweep(struct lh_store_set *set, const char *dataset, int64_t older_than_s,
                               size_t *deleted, struct lh_error *err) LH_NODISCARD;

/* Calls fn(ctx, name) once for every dataset that has objects under the
 * primary bucket's datasets/{name}/, published or not (a first run that
 * never published leaves only parts), in name order; fn returns false to
 * stop. name is borrowed for the call. What the daemon's start-up sweep
 * walks: the key layout stays ingest's. */
typedef bool (*lh_ingest_dataset_fn)(void *ctx, const char *name);
enum lh_status lh_ingest_dataset_each(struct lh_store_set *set, lh_ingest_dataset_fn fn, void *ctx,
                                      struct lh_error *err) LH_NODISCARD;

/* Brings dataset's Iceberg table in line with its catalog record: when
 * the current version records a metadata_location that version-hint.text
 * is behind (a kill between the catalog swap and the hint), copies it to
 * v{N}.metadata.json and moves the hint; when the current version has none
 * (published before Iceberg metadata), writes the table (every kept
 * version a snapshot; parts are not rewritten) and records it in the
 * current version with a compare-and-swap. *changed (may be NULL): whether
 * anything was written. The daemon runs it for every dataset at start-up,
 * a run for its dataset before it starts. docs/iceberg.md "Commit". */
enum lh_status lh_ingest_table_sync(struct lh_store_set *set, struct lh_catalog *cat,
                                    const char *dataset, bool *changed,
                                    struct lh_error *err) LH_NODISCARD;

/* Publishes a new version of dataset whose parts are version `version`'s
 * (history kept, nothing rewritten), with its Iceberg snapshot, as a
 * compare-and-swap on the current version (retried when another run
 * published meanwhile). LH_E_NOTFOUND naming the dataset and the kept
 * versions for an unknown version or one retention removed (or whose parts
 * are gone); LH_E_STATE when it is already current. *published (may be
 * NULL) receives the new version. docs/catalog.md "Rollback". */
enum lh_status lh_ingest_rollback(struct lh_store_set *set, struct lh_catalog *cat,
                                  const char *dataset, uint64_t version, uint64_t *published,
                                  struct lh_error *err) LH_NODISCARD;

/* Removes dataset: its catalog record first (the commit point), then every
 * object under datasets/{dataset}/ (parts, run directories, Iceberg
 * metadata) and the parts its versions listed in other buckets.
 * LH_E_NOTFOUND when there is no record. Objects that cannot be deleted
 * are warnings: the start-up sweep removes them (lh_ingest_sweep).
 * *deleted (may be NULL): objects removed. */
enum lh_status lh_ingest_dataset_remove(struct lh_store_set *set, struct lh_catalog *cat,
                                        const char *dataset, size_t *deleted,
                                        struct lh_error *err) LH_NODISCARD;

#endif
