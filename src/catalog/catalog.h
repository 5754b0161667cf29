/*
 * catalog.h — datasets, versions, schema fingerprints, column metadata and
 * PII tags, lineage, index bindings and the event log.
 *
 * One JSON record per dataset at `_catalog/{name}.json` in the `primary`
 * bucket (shape: DESIGN.md §4, field names kept exactly; extra fields:
 * versions[].schema_fingerprint, index_bindings, and what people say about
 * the dataset — description, tags, column_metadata — meta.c). Events are one object
 * each under `_events/{dataset}/...json`.
 *
 * Every change is read-modify-write with compare-and-swap on the record
 * (lh_store_put_if_absent / lh_store_replace_if) and retried on conflict,
 * so concurrent writers, threads or processes, never lose an update.
 *
 * A version becomes current only when its record is replaced, and
 * registration first checks that every part exists. Retention (keep the
 * last N versions, default 5) deletes objects no kept version references,
 * after the record no longer points at them.
 *
 * Threads: a catalog may be called from any number of threads at once
 * (its store set may too, store.h); one serves a whole daemon. There is no
 * cache: every read goes to the store, so a record changed by another
 * process is seen at once. A struct lh_catalog_record belongs to its
 * caller.
 */
#ifndef LH_CATALOG_H
#define LH_CATALOG_H

#include "core/core.h"
#include "store/store.h"

struct lh_catalog;

struct lh_catalog_options {
    unsigned keep_versions; /* 0 = 5 */
    unsigned max_retries;   /* compare-and-swap attempts; 0 = 200 */
    size_t max_record;      /* bytes; 0 = 16 MiB */
};

/* set is borrowed and must outlive the catalog. */
enum lh_status lh_catalog_open(struct lh_store_set *set, const struct lh_catalog_options *opt,
                               struct lh_catalog **out, struct lh_error *err) LH_NODISCARD;
void lh_catalog_close(struct lh_catalog *cat);

/* ------------------------------------------------------------ sensitivity */

/* Ordered: a dataset's level is the highest of its columns. */
enum lh_sensitivity {
    LH_SENS_NONE,
    LH_SENS_INTERNAL,
    LH_SENS_SENSITIVE,
    LH_SENS_FINANCIAL,
    LH_SENS_PII,
};
/* "pii", "financial", "sensitive", "internal"; NULL for none. */
const char *lh_sensitivity_str(enum lh_sensitivity s);
/* Parses the names above ("none" or "" is LH_SENS_NONE); false otherwise. */
bool lh_sensitivity_parse(const char *s, enum lh_sensitivity *out);
/* The level implied by a column name (rule: docs/catalog.md, pii.c). */
enum lh_sensitivity lh_catalog_pii_detect(const char *column_name);

/* ------------------------------------------------------------ inputs */

struct lh_catalog_column {
    const char *name;
    const char *data_type;   /* Parquet/Arrow type as text, e.g. "Utf8", "Int64" */
    bool nullable;           /* part of the schema fingerprint */
    const char *sensitivity; /* NULL: detected from the name */
    const char *description; /* NULL: "" */
};

struct lh_catalog_object {
    const char *bucket; /* NULL: "primary" */
    const char *key;
    uint64_t size_bytes;
    int64_t created_at_us; /* 0: now */
    const char *checksum;  /* "crc32:<8 lowercase hex>" of the whole object; NULL: none */
};

struct lh_catalog_lineage {
    const char *source_system;
    const char *source_file; /* "dsn: ..." is redacted before it is stored */
    const char *ingest_job;
    int64_t ingest_timestamp_us; /* 0: now */
    const char *const *parent_datasets;
    size_t nparents;
};

/* Where one version came from (docs/catalog.md "Source"), stored in the
 * version's entry as "source". Every string may be NULL (stored as
 * absent); no password is ever part of it: host, port and database are
 * what the DSN names, never the DSN itself. */
struct lh_catalog_source {
    const char *system;   /* "postgres" or "mysql" */
    const char *host;     /* the DSN's (first) host; "" for a local socket */
    unsigned port;        /* 0: the DSN names none */
    const char *database; /* the DSN's database */
    const char *table;    /* schema-qualified ("public.orders"); NULL for a query */
    const char *query;    /* the query text; NULL for a table */
    const char *columns;  /* "a, b, c" as given; NULL: every column */
    const char *where;    /* the operator's WHERE; NULL: none */
    const char *mode;     /* "overwrite", "append", "incremental" */
    const char *cursor_column; /* incremental: the watermark's column */
    const char *made_by;  /* a schedule id, "cli" or "api" */
    /* How the run treated a change: the schema policy it ran under
     * ("evolve", "fail" or "replace"; NULL: not recorded, a version written
     * before policies were), whether --replace-source (kind.replace_source)
     * was given, and whether the run did replace the dataset's source (its
     * columns were then taken whatever the policy). Not part of the source's
     * identity: a run with another policy reads the same source. */
    const char *schema_policy;
    bool replace_source;
    bool source_replaced;
};

/* sha256 hex of the ordered (name, type, nullability) list. */
void lh_catalog_schema_fingerprint(const struct lh_catalog_column *cols, size_t n, char out[65]);

struct lh_catalog_version_spec {
    const struct lh_catalog_object *objects;
    size_t nobjects;
    const char *schema_fingerprint; /* NULL: computed from columns */
    uint64_t row_count;
    const char *run_id;
    /* Optional metadata applied in the same record update: */
    const struct lh_catalog_column *columns; /* NULL: keep */
    size_t ncolumns;
    const struct lh_catalog_lineage *lineage; /* NULL: keep */
    /* Append/incremental loads (all optional, zero = off):
     * inherit_objects: the new version's objects are the current version's
     * objects followed by `objects`, and its row_count is the current
     * version's plus `row_count` (composed inside the same CAS update, so a
     * concurrent run's version is never lost).
     * watermark: incremental cursor stored in the version ("watermark");
     * NULL with inherit_objects keeps the current version's watermark.
     * check_base: fail with LH_E_STATE (nothing written) unless the current
     * version is still base_version (0: no version yet) — the run read its
     * watermark from that version. */
    bool inherit_objects;
    const char *watermark;
    bool check_base;
    uint64_t base_version;
    /* Store key (bucket primary) of the Iceberg table metadata JSON that
     * describes this version as a snapshot, written before the register
     * under a name unique to the run (docs/iceberg.md "Commit"); stored in
     * the version entry as "metadata_location". NULL: none. */
    const char *metadata_location;
    /* Where this version came from; NULL: none recorded. */
    const struct lh_catalog_source *source;
    /* How its columns differ from the version the run started from
     * ("added d Utf8; a Int32 -> Int64; dropped b"), stored as
     * "schema_change"; NULL or "": none. */
    const char *schema_change;
};

/* Registers a new version of dataset `name` (created if new) and makes it
 * current. Checks that every object exists first. Marks embeddings stale,
 * enqueues dataset_appended per bound index and schema_changed when the
 * fingerprint differs from the previous version, then applies retention.
 * *version (may be NULL) receives the new version number. */
enum lh_status lh_catalog_version_register(struct lh_catalog *cat, const char *name,
                                           const struct lh_catalog_version_spec *spec,
                                           uint64_t *version, struct lh_error *err) LH_NODISCARD;

struct lh_catalog_metadata_update {
    const struct lh_catalog_column *columns; /* NULL: keep */
    size_t ncolumns;
    const char *sensitivity; /* NULL: highest of the columns when columns are given */
    const struct lh_catalog_lineage *lineage; /* NULL: keep */
    bool set_row_count;
    uint64_t row_count;
};
enum lh_status lh_catalog_metadata_update(struct lh_catalog *cat, const char *name,
                                          const struct lh_catalog_metadata_update *u,
                                          struct lh_error *err) LH_NODISCARD;
enum lh_status lh_catalog_embeddings_stale_set(struct lh_catalog *cat, const char *name, bool stale,
                                               struct lh_error *err) LH_NODISCARD;

/* Index bindings: binding twice is a no-op; unbinding a missing one too. */
enum lh_status lh_catalog_index_bind(struct lh_catalog *cat, const char *dataset,
                                     const char *index_name, struct lh_error *err) LH_NODISCARD;
enum lh_status lh_catalog_index_unbind(struct lh_catalog *cat, const char *dataset,
                                       const char *index_name, struct lh_error *err) LH_NODISCARD;

/* Versions a register keeps (the options' keep_versions, default 5):
 * after registering version N the record holds the newest that many. */
unsigned lh_catalog_keep_versions(const struct lh_catalog *cat);

/* Sets metadata_location of version `version` of dataset `name`, a
 * compare-and-swap that requires `version` to be still current
 * (LH_E_STATE otherwise, nothing written): how a dataset published before
 * Iceberg metadata existed gets its table (docs/iceberg.md "Migration"). */
enum lh_status lh_catalog_version_metadata_set(struct lh_catalog *cat, const char *name,
                                               uint64_t version, const char *metadata_location,
                                               struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------ descriptions, tags, PII overrides */

/* What people say about a dataset (docs/catalog.md "Descriptions, tags and
 * PII overrides"). Kept in the record, matched to columns by name, so
 * every later version keeps them; editing them never makes a version. */
#define LH_CATALOG_DESCRIPTION_MAX 4096        /* bytes, the dataset's */
#define LH_CATALOG_COLUMN_DESCRIPTION_MAX 1024 /* bytes, a column's */
#define LH_CATALOG_TAG_MAX 64                  /* bytes, one tag */
#define LH_CATALOG_TAGS_MAX 32                 /* tags of one dataset */

/* A tag: 1..64 bytes of lowercase letters, digits, '-', '_', '.' and ':',
 * starting with a letter or a digit ("gdpr", "team:finance", "tier-1").
 * LH_E_INVAL with a message saying so otherwise. */
enum lh_status lh_catalog_tag_check(const char *tag, struct lh_error *err) LH_NODISCARD;
/* A description: valid UTF-8, at most max bytes, no control character but
 * newline and tab. LH_E_INVAL with a message saying what is wrong. */
enum lh_status lh_catalog_text_check(const char *s, size_t max, struct lh_error *err) LH_NODISCARD;
/* A column's PII mark: "auto" (the detector decides), "none" (not
 * sensitive, whatever its name says) or a level ("pii", "financial",
 * "sensitive", "internal"). */
bool lh_catalog_pii_mark_valid(const char *mark);

struct lh_catalog_column_edit {
    const char *name;        /* a column of the dataset (or one with kept metadata) */
    const char *description; /* NULL: keep; "": remove */
    const char *pii;         /* NULL: keep; else a mark (lh_catalog_pii_mark_valid) */
};

/* One edit, applied whole or not at all; every part optional. */
struct lh_catalog_describe {
    const char *description; /* NULL: keep; "": remove */
    bool set_tags;           /* the tags become tags[0..ntags) ... */
    const char *const *tags;
    size_t ntags;
    const char *const *add_tags; /* ... then these are added (present: no-op) ... */
    size_t nadd;
    const char *const *remove_tags; /* ... and these removed (absent: no-op) */
    size_t nremove;
    const struct lh_catalog_column_edit *columns;
    size_t ncolumns;
    /* out, on LH_E_INVAL: the input at fault, "description", "tags" or
     * "columns.NAME[.description|.pii]" */
    char field[320];
};

/* Applies d to dataset name's record in one compare-and-swap (no new
 * version). LH_E_NOTFOUND: no such dataset; LH_E_INVAL (d->field set): a
 * bad tag, text or mark, a column the dataset does not have, more than
 * LH_CATALOG_TAGS_MAX tags. */
enum lh_status lh_catalog_dataset_describe(struct lh_catalog *cat, const char *name,
                                           struct lh_catalog_describe *d,
                                           struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------ reading */

struct lh_catalog_object_info {
    const char *bucket, *key, *created_at;
    uint64_t size_bytes;
    const char *checksum; /* "crc32:<8 lowercase hex>"; NULL: none (older records) */
};
struct lh_catalog_version_info {
    uint64_t version;
    const char *created_at, *run_id, *schema_fingerprint;
    const char *watermark; /* NULL: none (incremental loads only) */
    const char *metadata_location; /* NULL: none (versions before Iceberg metadata) */
    /* The version's source (strings in the record's arena, NULL when
     * absent); has_source false: a version recorded before sources were. */
    bool has_source;
    struct lh_catalog_source source;
    const char *schema_change; /* NULL: none recorded */
    uint64_t row_count, size_bytes;
    const struct lh_catalog_object_info *objects;
    size_t nobjects;
};
struct lh_catalog_column_info {
    const char *name, *data_type, *sensitivity /* NULL: none */, *description;
    bool is_pii;
    /* sensitivity is a person's override (lh_catalog_dataset_describe),
     * not the detector's; detected is what the detector (or the writer)
     * says, which "auto" goes back to (NULL: none). */
    bool sensitivity_override;
    const char *detected;
};
/* A parsed record; every string lives in `arena`. */
struct lh_catalog_record {
    const char *name, *schema_fingerprint, *sensitivity /* NULL: none */;
    uint64_t current_version, row_count;
    const struct lh_catalog_version_info *versions; /* oldest first */
    size_t nversions;
    const struct lh_catalog_column_info *columns;
    size_t ncolumns;
    bool has_lineage;
    const char *source_system, *source_file, *ingest_job, *ingest_timestamp;
    const char *const *parent_datasets;
    size_t nparents;
    const char *const *indexes;
    size_t nindexes;
    bool embeddings_stale;
    const char *description; /* "" when none */
    const char *const *tags;
    size_t ntags;
    char *json; /* the record as stored (pretty JSON), NUL-terminated */
    struct lh_arena arena;
};

/* LH_E_NOTFOUND when absent; LH_E_FORMAT naming the key and what is wrong
 * when the record is damaged: not JSON, a field of the wrong type, a
 * `current_version` that is not in its `versions` list, or no file at all
 * where the record should be (a directory). Release with
 * lh_catalog_record_reset (it frees the arena and zeroes the record). */
enum lh_status lh_catalog_dataset_get(struct lh_catalog *cat, const char *name,
                                      struct lh_catalog_record *out,
                                      struct lh_error *err) LH_NODISCARD;
void lh_catalog_record_reset(struct lh_catalog_record *r);
/* The current version's entry, or NULL (no versions yet). Borrowed. */
const struct lh_catalog_version_info *lh_catalog_record_current(const struct lh_catalog_record *r);

/* The error for a part that a version lists but its bucket does not hold:
 * always LH_E_FORMAT, "dataset NAME version V is damaged: part KEY is
 * missing from bucket B (catalog record _catalog/NAME.json lists it)"
 * (bucket NULL: "from the store").
 * Readers call it when opening a listed part answers LH_E_NOTFOUND, so a
 * damaged version is never mistaken for a missing dataset. */
enum lh_status lh_catalog_part_missing(const char *dataset, uint64_t version, const char *bucket,
                                       const char *key, struct lh_error *err);

/* One line of the dataset list. A record that cannot be read or parsed is
 * listed with `error` set (naming its key) and the rest left empty. */
struct lh_catalog_summary {
    char name[256];
    uint64_t current_version, row_count, size_bytes;
    char sensitivity[16]; /* "" for none */
    char last_ingest[40];
    char error[512];
    /* the description's start (cut at a character boundary, "..." when
     * longer) and the tags, comma separated */
    char description[256];
    char tags[LH_CATALOG_TAGS_MAX * (LH_CATALOG_TAG_MAX + 1)];
};
/* All datasets sorted by name; *out freed with free(). */
enum lh_status lh_catalog_list(struct lh_catalog *cat, struct lh_catalog_summary **out, size_t *n,
                               struct lh_error *err) LH_NODISCARD;

/* Where a reader outside lakehouse (DuckDB, Spark) finds part o: its
 * bucket's lh_store_location + "/" + key ("file:///…" or "s3://…").
 * LH_E_NOTFOUND for a bucket the store set does not name; LH_E_TOOBIG when
 * it does not fit in cap. */
enum lh_status lh_catalog_object_uri(struct lh_catalog *cat, const struct lh_catalog_object_info *o,
                                     char *out, size_t cap, struct lh_error *err) LH_NODISCARD;

/* Removes dataset name's record: the commit point of `datasets rm` (after
 * it no reader finds the dataset), then its pending events. out (may be
 * NULL) receives the record as it was, for the caller to delete the parts
 * it lists (lh_catalog_record_reset). LH_E_NOTFOUND when there is none.
 * The parts, and anything else under the dataset's keys, are the caller's
 * (ingest owns that layout: lh_ingest_dataset_remove). */
enum lh_status lh_catalog_dataset_remove(struct lh_catalog *cat, const char *name,
                                         struct lh_catalog_record *out,
                                         struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------ integrity */

/* Each part's entry records its size and a content checksum, "crc32:" and
 * 8 lowercase hex digits: CRC-32 (zlib's, lh_crc32) of the whole object.
 * A reader checks the size whenever it opens a part (a stat, or the size
 * it already has) and the checksum whenever it reads a part whole
 * (docs/catalog.md "Integrity"). Entries without a checksum (written
 * before it existed) get the size check only. */
#define LH_CATALOG_CHECKSUM_SIZE 16 /* "crc32:xxxxxxxx" and its NUL */
void lh_catalog_checksum_format(uint32_t crc, char out[LH_CATALOG_CHECKSUM_SIZE]);
/* True when s is exactly "crc32:" + 8 lowercase hex digits. */
bool lh_catalog_checksum_parse(const char *s, uint32_t *crc);

/* Checks one part of dataset `dataset` version `version` against its entry
 * o: size is the object's actual size; crc (NULL: not read whole) the
 * CRC-32 of its whole content. LH_OK when they agree; otherwise LH_E_FORMAT
 * with one message naming the dataset, version and part, what differs and
 * what to do. */
enum lh_status lh_catalog_object_check(const char *dataset, uint64_t version,
                                       const struct lh_catalog_object_info *o, uint64_t size,
                                       const uint32_t *crc, struct lh_error *err) LH_NODISCARD;
/* Stats the part in st (its bucket's store) and checks its size; with
 * `whole` also reads it through (1 MiB at a time) and checks its checksum.
 * Errors name the dataset, version and part. */
enum lh_status lh_catalog_object_verify(struct lh_store *st, const char *dataset, uint64_t version,
                                        const struct lh_catalog_object_info *o, bool whole,
                                        struct lh_error *err) LH_NODISCARD;

/* Removes what killed writers left of dataset name's record and events:
 * pending writes (lh_store_sweep) of `_catalog/{name}.json` and under
 * `_events/{name}/` last written more than older_than_s seconds ago (a
 * record or event write takes milliseconds; ingest passes its run lease
 * time). stats (may be NULL) receives the counts. */
enum lh_status lh_catalog_sweep(struct lh_catalog *cat, const char *name, int64_t older_than_s,
                                struct lh_store_sweep_stats *stats,
                                struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------ events */

struct lh_catalog_event {
    char id[400];  /* stable id for ack: "{dataset}/{version}-{type}[-{index}]" */
    char type[32]; /* "dataset_appended" or "schema_changed" */
    char dataset[256];
    char index_name[256]; /* "" for schema_changed */
    uint64_t version;
    char created_at[40];
    char previous_fingerprint[65], schema_fingerprint[65]; /* schema_changed only */
};
/* Pending events, oldest version first per dataset; dataset may be NULL for
 * all. Unreadable event objects are skipped with a warning. *out freed with free(). */
enum lh_status lh_catalog_events_list(struct lh_catalog *cat, const char *dataset,
                                      struct lh_catalog_event **out, size_t *n,
                                      struct lh_error *err) LH_NODISCARD;
/* Acknowledges (removes) one event; acknowledging twice is not an error. */
enum lh_status lh_catalog_event_ack(struct lh_catalog *cat, const char *id,
                                    struct lh_error *err) LH_NODISCARD;

#endif
