/*
 * ingest_int.h — private to src/ingest: the dataset's Iceberg table as
 * ingest commits it (table.c), used by ingest.c's publish.
 *
 * One struct ingest_table per run. prepare describes the table as of the
 * run's base version and assigns field ids to the run's columns (the
 * writer options then carry them); part_add records each part's row count
 * and column statistics from the footer the writer just produced (in
 * memory); stage writes snapshot N = the next catalog version under names
 * unique to the run and returns the metadata key the catalog version
 * records; after the catalog's compare-and-swap, commit (won: expire, copy
 * to v{N}.metadata.json, move version-hint.text) or unstage (lost: delete
 * the run's staged files). docs/iceberg.md "Commit" has the protocol.
 */
#ifndef LH_INGEST_INT_H
#define LH_INGEST_INT_H

#include "catalog/catalog.h"
#include "iceberg/iceberg.h"
#include "ingest/ingest.h"
#include "parquet/parquet.h"
#include "store/store.h"

struct ingest_table;

/* tag: [A-Za-z0-9-], unique to the run (names its files). */
enum lh_status ingest_table_create(struct lh_store_set *set, const char *dataset, const char *tag,
                                   struct ingest_table **out, struct lh_error *err);
void ingest_table_destroy(struct ingest_table *t);

/* Loads (or, for a dataset without Iceberg metadata, builds from the
 * catalog record) the table as of rec's current version (rec NULL: no
 * dataset yet), and assigns ids to `schema` (copied; NULL on a retry: the
 * first call's). Sets
 * wo->field_ids, element_field_ids and the iceberg.schema key/value. When
 * called again for a new base (publish retry), LH_E_CONFLICT if the ids
 * differ from the ones the parts were written with. */
enum lh_status ingest_table_prepare(struct ingest_table *t, const struct lh_catalog_record *rec,
                                    const struct lh_schema *schema,
                                    struct lh_parquet_writer_options *wo, struct lh_error *err);

/* After the catalog swap: how the run's columns differ from the base
 * version's (the table's current schema as of the last prepare; rec, the
 * record of that base, gives the old type names), one line into out:
 * "added x Int64; dropped y; z Int32 -> Int64; w nullable -> not null";
 * "" when nothing changed or there was no base version. */
void ingest_table_schema_change(const struct ingest_table *t, const struct lh_catalog_record *rec,
                                char *out, size_t cap);

/* A part was written: key, size, and the bytes the writer produced when
 * closing (the footer, its length and "PAR1" at the end). */
enum lh_status ingest_table_part_add(struct ingest_table *t, const char *key, uint64_t size,
                                     const uint8_t *tail, size_t tail_len, struct lh_error *err);

/* Forgets a part added before (a parallel part read again); its
 * statistics stay in the run's arena. Unknown keys are ignored. */
void ingest_table_part_drop(struct ingest_table *t, const char *key);

/* Writes snapshot `version` (rec's next version) on top of rec's current
 * version (append: its files + the run's; else the run's only), expiring
 * what the catalog's retention (keep versions) drops. *metadata_key
 * (borrowed) is what the catalog version records. */
enum lh_status ingest_table_stage(struct ingest_table *t, const struct lh_catalog_record *rec,
                                  uint64_t version, bool append, unsigned keep,
                                  const char **metadata_key, struct lh_error *err);
/* The catalog swap failed: deletes what stage wrote. */
void ingest_table_unstage(struct ingest_table *t);
/* The catalog swap succeeded: deletes what only the expired snapshots
 * referenced, then v{N}.metadata.json and version-hint.text. Failures are
 * warnings (the next publish or the daemon's start-up repairs them). */
void ingest_table_commit(struct ingest_table *t);

/* ------------------------------------------------------------ lineage.c */

/* A run's source as its version records it (strings borrowed from the
 * options or held here). */
struct ingest_source_desc {
    struct lh_catalog_source src;
    char host[256], database[256], table[520];
};
/* Fills d from the options: host, port and database from the DSN (never
 * its password), the table schema-qualified. LH_E_INVAL: a bad table name. */
enum lh_status ingest_source_describe(const struct lh_ingest_options *o, const char *dataset,
                                      struct ingest_source_desc *d, struct lh_error *err);
/* LH_E_STATE with one line naming both when run reads another system,
 * host, database, table or query than cur (the port is not compared). */
enum lh_status ingest_source_check(const char *dataset, const struct lh_catalog_source *cur,
                                   const struct lh_catalog_source *run, struct lh_error *err);
/* LH_E_STATE with one line naming the columns and how they changed when
 * the run's columns differ from rec's (version base) in a way policy
 * refuses; LH_OK without a base. change (cap bytes) receives every
 * difference by name and type ("added d Utf8; a Int32 -> Int64; dropped
 * b"; "" none), what the version records as its schema_change. */
enum lh_status ingest_schema_policy_check(enum lh_ingest_schema_policy policy, const char *dataset,
                                          uint64_t base, const struct lh_catalog_record *rec,
                                          const struct lh_catalog_column *cols, size_t ncols,
                                          char *change, size_t cap, struct lh_error *err);

/* ------------------------------------------------------------- resume.c */

#define INGEST_RESUME_NAME "_resume.json"

struct ingest_resume_part {
    char key[LH_STORE_KEY_MAX];
    uint64_t size;
    char checksum[LH_CATALOG_CHECKSUM_SIZE];
    int64_t created_us, rows;
};

/* One range of the key of a resumable read: its bounds (r.has_lo/lo,
 * r.has_hi/hi), the key of the last row of its kept parts (r.has_after/
 * after: every row of the range up to it is kept) and whether all of it is
 * kept (done). An ordered read is one range (-inf, +inf); a parallel MySQL
 * read one per connection. */
struct ingest_resume_range {
    struct lh_source_range r;
    bool done;
};

/* A dataset's resume record (resume.c's header comment): the finished
 * parts of a keyed load that failed, and per range of its key how far
 * they go. */
struct ingest_resume {
    char run_id[128];   /* the run that wrote it */
    int64_t created_ms; /* when the first of the runs it continues started */
    char *source;       /* the read's fingerprint text (no password) */
    char schema_fp[65];
    uint64_t base_version;
    char key_column[256];
    int parallel; /* the connections asked for: 1, 2..16, LH_SOURCE_PARALLEL_AUTO */
    struct ingest_resume_range *ranges; /* in key order, at least one not done */
    size_t nranges;
    int64_t rows;
    struct ingest_resume_part *parts;
    size_t nparts;
};

/* LH_E_NOTFOUND: none; LH_E_FORMAT: unreadable (the caller discards it). */
enum lh_status ingest_resume_load(struct lh_store *st, const char *dataset,
                                  struct ingest_resume *out, struct lh_error *err);
/* Atomic put of datasets/{dataset}/_resume.json. */
enum lh_status ingest_resume_save(struct lh_store *st, const char *dataset,
                                  const struct ingest_resume *r, struct lh_error *err);
/* Deletes the record, then (parts) r's parts that no version of rec
 * references; returns how many objects went. r may be NULL (record only). */
size_t ingest_resume_remove(struct lh_store *st, const char *dataset, const struct ingest_resume *r,
                            const struct lh_catalog_record *rec, bool parts);
void ingest_resume_reset(struct ingest_resume *r);
/* $LAKEHOUSE_RESUME_MAX_AGE_SECS (default 7 days) in ms: older records
 * are removed by the sweep, with their parts. */
int64_t ingest_resume_max_age_ms(void);

/* The footer bytes of a part as ingest_table_part_add wants them (manage.c);
 * *out freed with free(). */
enum lh_status ingest_part_tail_read(struct lh_store *st, const char *key, uint64_t size,
                                     uint8_t **out, size_t *len, struct lh_error *err);

/* An object read through the store, as struct lh_parquet_input wants it
 * (ctx a struct ingest_store_input; manage.c). */
struct ingest_store_input {
    struct lh_store *st;
    const char *key;
};
enum lh_status ingest_store_read(void *ctx, uint64_t off, void *buf, size_t n,
                                 struct lh_error *err);

/* Test fault knob: when $LAKEHOUSE_FAULT_COMMIT_STEP equals step, the
 * process ends at once (_exit 86), as a kill -9 there would. Steps: 1 the
 * run's Iceberg files are written, the catalog not swapped; 2 swapped, the
 * version hint not moved; 3 the hint moved, retention's deletes not done. */
void ingest_fault(int step);

#endif
