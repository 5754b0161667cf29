/*
 * iceberg.h — a dataset as an Apache Iceberg table (format version 2).
 *
 * The module turns an in-memory description of a table — its location,
 * uuid, schemas with field ids, and snapshots with their data files — into
 * the Iceberg metadata tree beside the data, through the store API:
 *
 *   {prefix}/metadata/manifest-{A}[-{tag}].avro  files added by snapshot A (Avro manifest)
 *   {prefix}/metadata/snap-{S}[-{tag}].avro      manifest list of snapshot S (Avro)
 *   {prefix}/metadata/v{N}.metadata.json         table metadata version N
 *   {prefix}/metadata/version-hint.text          "N": the current metadata version
 *
 * A writer that commits elsewhere (a catalog's compare-and-swap) names its
 * files uniquely instead (the snapshot's `tag`, the table's
 * `metadata_name`), so two writers racing for the same snapshot id never
 * touch each other's files; the loser deletes its own.
 *
 * That is the file-based layout that Iceberg's Hadoop catalog, DuckDB's
 * iceberg_scan and icebird read. Paths inside the metadata are absolute
 * URIs (the table's `location` + "/metadata/…", and the data files' own
 * URIs as given).
 *
 * Model. Each snapshot lists every data file live in it, in order, each
 * tagged with the snapshot that added it. The files one snapshot added form
 * one manifest, written once when that snapshot is new and listed again, as
 * is, by every later snapshot that still holds them (an append lists its
 * parent's manifests plus its own; an overwrite only its own). So an append
 * never rewrites what was there, and expiring a snapshot keeps a manifest
 * as long as a kept snapshot still lists its files.
 *
 * Field ids: a column keeps its id while its name and Iceberg type stay the
 * same; any other column gets last_column_id + 1, so a dropped column's id
 * is never reused (lh_iceberg_schema_assign). Parquet data files carry the
 * same ids (lh_parquet_writer_options.field_ids) and the schema as the
 * `iceberg.schema` key/value (lh_iceberg_schema_json).
 *
 * This module knows the store and Parquet's statistics, nothing about the
 * catalog or ingest: callers decide snapshot ids, sequence numbers and
 * metadata versions, and when version-hint.text moves (the commit point).
 *
 * Threads: no global state; a call uses the store it is given (one thread
 * at a time per store, as store.h says).
 */
#ifndef LH_ICEBERG_H
#define LH_ICEBERG_H

#include "core/core.h"
#include "parquet/parquet.h"
#include "store/store.h"

#define LH_ICEBERG_UUID_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/* ------------------------------------------------------------- schemas */

/* One top-level column. */
struct lh_iceberg_column {
    int32_t id;            /* field id, 1 .. 2147483447 */
    int32_t element_id;    /* list columns: the element's field id; else 0 */
    struct lh_field field; /* name (borrowed), type, nullability */
};

struct lh_iceberg_schema {
    int32_t schema_id;
    size_t ncolumns;
    const struct lh_iceberg_column *columns; /* borrowed */
};

/* The Iceberg type of a lakehouse field as Iceberg's JSON spells it:
 * "long", "decimal(12,2)", "timestamptz", "fixed[4]"; for a list field,
 * the element type. Returns the length (0 when cap is too small). */
size_t lh_iceberg_type_text(const struct lh_field *f, char *out, size_t cap);

/* Assigns field ids to `cols` for a new schema of a table whose current
 * schema is `prev` (NULL for a new table). A column of prev with the same
 * name and the same Iceberg type (element type and nullability of elements
 * included) keeps its id (and element id); every other column gets
 * ++*last_column_id (a list column two: its own, then its element's).
 * out[i].field = cols->fields[i] (names borrowed from cols). */
void lh_iceberg_schema_assign(const struct lh_iceberg_schema *prev, int32_t *last_column_id,
                              const struct lh_schema *cols, struct lh_iceberg_column *out);

/* Appends the schema as Iceberg JSON ({"type":"struct","schema-id":…,
 * "fields":[…]}) to out: the `iceberg.schema` Parquet key/value and the
 * manifests' `schema` metadata. Check lh_buf_ok(out) afterwards. */
void lh_iceberg_schema_json(const struct lh_iceberg_schema *s, struct lh_buf *out);

/* ---------------------------------------------------------- data files */

/* Statistics of one column of a data file, by field id. Bounds are in
 * Iceberg's binary single-value serialization (spec Appendix D). */
struct lh_iceberg_column_stats {
    int32_t field_id;
    int64_t value_count; /* values including NULLs; < 0: unknown */
    int64_t null_count;  /* < 0: unknown */
    int64_t size_bytes;  /* bytes on disk of the column; < 0: unknown */
    const uint8_t *lower; /* NULL: no bound */
    uint32_t lower_len;
    const uint8_t *upper;
    uint32_t upper_len;
};

struct lh_iceberg_data_file {
    const char *path;          /* absolute URI: file:///… or s3://bucket/… */
    uint64_t size_bytes;
    int64_t record_count;
    int64_t added_snapshot_id;     /* the snapshot that added this file */
    int64_t added_sequence_number; /* that snapshot's sequence number */
    /* File name (under metadata/) of the manifest that lists this file:
     * NULL = the adding snapshot's (manifest-{A}[-{tag}].avro with that
     * snapshot's tag). Loaded tables fill it; needed when the adding
     * snapshot is no longer described (expired) but its manifest is. */
    const char *manifest;
    /* Needed only while the adding snapshot is new (its manifest is being
     * written); NULL/0 otherwise. */
    const struct lh_iceberg_column_stats *stats;
    size_t nstats;
};

/* Fills stats for one Parquet data file from its footer: per top-level
 * primitive column of `schema` (matched by position; the file must have
 * been written with that schema), value and null counts, on-disk size, and
 * lower/upper bounds over all row groups converted to Iceberg's binary
 * form. List columns get no statistics; a uint64 column gets bounds only
 * when both are below 2^63 (Iceberg's long is signed). *stats is an array
 * allocated from `arena` (as are the bounds); *nstats its length. */
enum lh_status lh_iceberg_stats_from_parquet(const struct lh_iceberg_schema *schema,
                                             const struct lh_parquet_file_info *info,
                                             struct lh_arena *arena,
                                             struct lh_iceberg_column_stats **stats,
                                             size_t *nstats, struct lh_error *err);

/* Converts one Parquet statistics value (PLAIN bytes of the column's
 * physical type, as in lh_parquet_stats) to Iceberg's binary bound for the
 * field's type. Returns the length written to out (cap >= pq_len + 8 is
 * always enough), 0 when the value has no Iceberg bound (lists, a uint64
 * at or past 2^63, a malformed value). */
uint32_t lh_iceberg_bound_from_parquet(const struct lh_field *f, const uint8_t *pq, uint32_t pq_len,
                                       uint8_t *out, uint32_t cap);

/* ------------------------------------------------------------ snapshots */

enum lh_iceberg_op {
    LH_ICEBERG_OVERWRITE, /* replaces every file: lists only its own manifest */
    LH_ICEBERG_APPEND,    /* keeps the parent's files and adds some */
};

struct lh_iceberg_snapshot {
    int64_t snapshot_id;     /* > 0, unique; below 2^53 keeps JavaScript readers exact */
    int64_t parent_id;       /* <= 0: none */
    int64_t sequence_number; /* > 0, increasing with snapshots */
    int64_t timestamp_ms;
    enum lh_iceberg_op op;
    int32_t schema_id;       /* schema the snapshot was written with */
    /* Every file live in the snapshot, in read order. The files whose
     * added_snapshot_id is this snapshot are the ones it adds; the others
     * must be exactly the files an earlier snapshot added (its manifest is
     * listed again). */
    const struct lh_iceberg_data_file *files;
    size_t nfiles;
    /* True when this commit creates the snapshot: its manifest and
     * manifest list are written (replacing leftovers of an attempt that
     * never committed). False: they exist from an earlier commit and are
     * only referenced again. */
    bool is_new;
    /* NULL: the snapshot's files are snap-{S}.avro and manifest-{S}.avro;
     * else snap-{S}-{tag}.avro and manifest-{S}-{tag}.avro ([A-Za-z0-9-],
     * at most 64 characters). Loaded tables fill it. */
    const char *tag;
};

/* ---------------------------------------------------------------- table */

struct lh_iceberg_table {
    const char *location;   /* table URI, no trailing '/': "file:///d/primary/datasets/x" */
    const char *key_prefix; /* the same place as a store key: "datasets/x" */
    const char *uuid;       /* table-uuid, 36 characters, lower-case hex */
    const struct lh_iceberg_schema *schemas; /* every schema the table had, oldest first */
    size_t nschemas;
    int32_t current_schema_id;
    int32_t last_column_id; /* highest field id ever assigned (dropped columns too) */
    const struct lh_iceberg_snapshot *snapshots; /* oldest first */
    size_t nsnapshots;
    int64_t current_snapshot_id; /* <= 0: no current snapshot */
    int64_t last_updated_ms;     /* <= 0: now */
    /* File name under metadata/ of the metadata JSON written: NULL =
     * "v{version}.metadata.json"; a catalog-managed table uses
     * "{version:05}-{uuid}.metadata.json". */
    const char *metadata_name;
    /* The `schema.name-mapping.default` table property (JSON text, NULL:
     * none): how readers map columns of data files without field ids. */
    const char *name_mapping;
};

/* Files the expired snapshots alone referenced, for the caller to delete
 * once the new metadata is committed. Strings live in `arena`. */
struct lh_iceberg_garbage {
    const char **data_files; /* data file URIs as given in the description */
    size_t ndata_files;
    const char **metadata_keys; /* store keys of manifests and manifest lists */
    size_t nmetadata_keys;
    struct lh_arena arena;
};
void lh_iceberg_garbage_reset(struct lh_iceberg_garbage *g);

/* The schema of t with schema_id id, or NULL. */
const struct lh_iceberg_schema *lh_iceberg_table_schema(const struct lh_iceberg_table *t,
                                                        int32_t id);

/* Writes metadata version `version` (>= 1) of the table: the manifests and
 * manifest lists of new snapshots, then {prefix}/metadata/v{version}.
 * metadata.json (or t->metadata_name), created only if absent (LH_E_EXISTS
 * when that version is taken: someone else committed it). version-hint.text is NOT touched:
 * the metadata becomes current with lh_iceberg_version_hint_set.
 *
 * keep (may be NULL = keep all) lists the snapshot ids the new metadata
 * keeps; the others are expired: left out of the metadata, and every data
 * file, manifest and manifest list that only they referenced is reported
 * in *garbage (may be NULL; release with lh_iceberg_garbage_reset). The
 * current snapshot must be kept.
 *
 * The description is checked first (ids, references, schemas, URIs):
 * LH_E_INVAL with a message naming what is wrong, and nothing written. */
enum lh_status lh_iceberg_table_write(struct lh_store *st, const struct lh_iceberg_table *t,
                                      int64_t version, const int64_t *keep, size_t nkeep,
                                      struct lh_iceberg_garbage *garbage,
                                      struct lh_error *err) LH_NODISCARD;

/* The table as its current metadata describes it, for the next commit. */
struct lh_iceberg_loaded {
    int64_t version; /* current metadata version; 0: no table yet (table is empty) */
    /* Every snapshot kept in that version with is_new = false and its live
     * files (path, size, record count, adding snapshot and its sequence
     * number; no statistics), read from its manifest list and manifests.
     * Schemas read back with one lakehouse type per Iceberg type ("int" as
     * int32, "long" as int64, "string" as string), which is all
     * lh_iceberg_schema_assign compares. Everything lives in `arena`. */
    struct lh_iceberg_table table;
    struct lh_arena arena;
};

/* Reads version-hint.text, that metadata version and the manifest lists
 * and manifests of its snapshots. A table without version-hint loads as
 * version 0 (not an error). LH_E_FORMAT naming the object when something
 * does not parse. Release with lh_iceberg_loaded_reset (also after a failure). */
enum lh_status lh_iceberg_table_load(struct lh_store *st, const char *key_prefix,
                                     struct lh_iceberg_loaded *out,
                                     struct lh_error *err) LH_NODISCARD;
void lh_iceberg_loaded_reset(struct lh_iceberg_loaded *l);

/* Like lh_iceberg_table_load, but reads the metadata file at store key
 * metadata_key (not the version hint); out->version = version. */
enum lh_status lh_iceberg_table_load_at(struct lh_store *st, const char *key_prefix,
                                        const char *metadata_key, int64_t version,
                                        struct lh_iceberg_loaded *out,
                                        struct lh_error *err) LH_NODISCARD;

/* Makes the metadata file at store key metadata_key (written by
 * lh_iceberg_table_write under a unique metadata_name) current for readers
 * of the file-based layout: copies its bytes to {prefix}/metadata/
 * v{version}.metadata.json (replacing: the same committed content), then
 * sets version-hint.text to version unless it already names version or a
 * later one (never backwards). Idempotent: a roll-forward after a crash
 * repeats it. */
enum lh_status lh_iceberg_metadata_publish(struct lh_store *st, const char *key_prefix,
                                           const char *metadata_key, int64_t version,
                                           struct lh_error *err) LH_NODISCARD;

/* Replaces {prefix}/metadata/version-hint.text with the version number:
 * the moment readers of the file-based layout see metadata `version`. */
enum lh_status lh_iceberg_version_hint_set(struct lh_store *st, const char *key_prefix,
                                           int64_t version, struct lh_error *err) LH_NODISCARD;

/* Reads version-hint.text: *version = 0 when the table has none yet. */
enum lh_status lh_iceberg_version_hint_get(struct lh_store *st, const char *key_prefix,
                                           int64_t *version, struct lh_error *err) LH_NODISCARD;

/* The table URI of key_prefix in this store: "file:///abs/dir/" + prefix
 * (bytes outside [A-Za-z0-9._~/-] percent-encoded) for a local store,
 * "s3://bucket[/prefix]/" + prefix for S3. Returns the length, 0 when it
 * does not fit or the store URL is not understood. */
size_t lh_iceberg_location(struct lh_store *st, const char *key_prefix, char *out, size_t cap);

/* A random (version 4) UUID in lower-case text, NUL-terminated. */
enum lh_status lh_iceberg_uuid_generate(char out[LH_ICEBERG_UUID_LEN + 1], struct lh_error *err);

#endif
