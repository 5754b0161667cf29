/*
 * store.h — keys to bytes. The object store interface of lakehouse.
 *
 * A `struct lh_store` is one bucket: a local directory or an S3 bucket plus
 * key prefix, chosen by URL:
 *
 *   /path/dir, ./dir, file:///path/dir     local directory backend
 *   s3://bucket[/prefix]                   S3-compatible backend (SigV4)
 *
 * A `struct lh_store_set` holds the named buckets of one deployment;
 * `primary` always exists. Buckets come from a JSON config file (see
 * lh_store_set_open) or, for the embedded default, are sub-directories of
 * the data directory (`./lakehouse-data`, `--data DIR`, LAKEHOUSE_DATA).
 *
 * Guarantees every backend keeps:
 *   - a reader never sees a partial object (put and upload commit publish
 *     whole objects; local: temp + fsync + rename + dir fsync; S3: single PUT
 *     or completed multipart upload);
 *   - an aborted upload leaves nothing behind;
 *   - put_if_absent and replace_if are compare-and-swap primitives on a
 *     version token (lh_store_get returns the token): local directory with a
 *     link-based create and an flock-protected replace (atomic across
 *     processes); S3 with If-None-Match / If-Match (atomic on servers that
 *     enforce them; servers that ignore the headers get a HEAD-and-compare
 *     check, which catches stale tokens but has a race window — see
 *     docs/catalog.md).
 *
 * Keys are validated on every operation (lh_store_key_check).
 *
 * Threads: a store, and a store set with every bucket in it, may be called
 * from any number of threads at once; one of each serves a whole daemon.
 * Nothing of a call is kept in the store (keys, errors, lists and tokens
 * are the caller's). The local backend has no state past its directory
 * name; the S3 backend lends each call a curl handle (with its open
 * connection) from a small pool whose handles share DNS and TLS sessions,
 * so N threads make N requests at once. What is per object stays one thread at a time: an
 * upload (struct lh_store_upload) belongs to the thread writing it, a list
 * to its caller. A lease (below) may be renewed from one thread while
 * others use its store. Processes may share the same directory or bucket
 * freely.
 */
#ifndef LH_STORE_H
#define LH_STORE_H

#include "core/core.h"

#define LH_STORE_KEY_MAX 1024
#define LH_STORE_TOKEN_MAX 96
/* Default cap for lh_store_get when the caller passes 0. */
#define LH_STORE_GET_DEFAULT_MAX (64u << 20)

struct lh_store;
struct lh_store_set;
struct lh_store_upload;

/* Options for opening a bucket; zero-initialise and set what you need. */
struct lh_store_options {
    const char *endpoint;   /* S3: "http://127.0.0.1:9000"; NULL: $AWS_ENDPOINT_URL_S3,
                               $AWS_ENDPOINT_URL, else https://s3.{region}.amazonaws.com */
    const char *region;     /* S3: default from AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 */
    bool virtual_host;      /* S3: bucket.host addressing instead of host/bucket */
    const char *access_key; /* S3: NULL = AWS_ACCESS_KEY_ID */
    const char *secret_key; /* S3: NULL = AWS_SECRET_ACCESS_KEY */
    const char *session_token; /* S3: NULL = AWS_SESSION_TOKEN (may be unset) */
    uint64_t part_size;        /* S3 multipart part size; 0 = 8 MiB; min 5 MiB */
    unsigned list_page;        /* S3 ListObjectsV2 max-keys; 0 = 1000 */
    long timeout_secs;         /* S3 per-request timeout; 0 = 300 */
    long stall_secs;           /* S3: a request that moves no byte this long fails
                                  (LH_E_TIMEOUT); 0 = 60 */
    bool create;               /* local: create the directory if missing */
};

/* Opens one bucket by URL (see above). *out is freed with lh_store_close. */
enum lh_status lh_store_open(const char *url, const struct lh_store_options *opt,
                             struct lh_store **out, struct lh_error *err) LH_NODISCARD;
void lh_store_close(struct lh_store *st);
/* "local" or "s3" (for messages and logs: modules do not branch on it);
 * the URL it was opened with (borrowed). */
const char *lh_store_kind(const struct lh_store *st);
const char *lh_store_url(const struct lh_store *st);

/* Where readers outside lakehouse (DuckDB, Iceberg engines) find this
 * bucket's objects; a caller never parses the URL or asks for the kind.
 * lh_store_location: the bucket's root as a URI, without a trailing '/':
 *   "file:///abs/dir" (the real path, bytes outside [A-Za-z0-9._~/-]
 *   percent-encoded) or "s3://bucket[/prefix]"; a key K is at root + "/" + K.
 * lh_store_local_dir: the absolute real directory when the objects are
 *   plain files on this machine (a key K is the file dir + "/" + K);
 *   LH_E_UNSUPPORTED for a remote bucket (S3).
 * Both: LH_E_TOOBIG when it does not fit in cap, an error of the file
 * system when a local directory cannot be resolved. */
enum lh_status lh_store_location(const struct lh_store *st, char *out, size_t cap,
                                 struct lh_error *err) LH_NODISCARD;
enum lh_status lh_store_local_dir(const struct lh_store *st, char *out, size_t cap,
                                  struct lh_error *err) LH_NODISCARD;

/* Reads a whole object up to max bytes (0 = LH_STORE_GET_DEFAULT_MAX;
 * LH_E_TOOBIG past it, LH_E_NOTFOUND when absent). *out is NUL-terminated
 * (not counted), caller frees with free(). token (may be NULL) receives the
 * version token for replace_if, LH_STORE_TOKEN_MAX bytes. */
enum lh_status lh_store_get(struct lh_store *st, const char *key, size_t max, uint8_t **out,
                            size_t *len, char *token, struct lh_error *err) LH_NODISCARD;
/* Reads exactly n bytes at offset off of an object into buf (random access
 * for readers such as the Parquet reader: local pread, S3 ranged GET).
 * LH_E_NOTFOUND when absent, LH_E_FORMAT when the object ends before
 * off + n. n == 0 succeeds without I/O. */
enum lh_status lh_store_get_range(struct lh_store *st, const char *key, uint64_t off, void *buf,
                                  size_t n, struct lh_error *err) LH_NODISCARD;
/* Size of an object, LH_E_NOTFOUND when absent. */
enum lh_status lh_store_stat(struct lh_store *st, const char *key, uint64_t *size,
                             struct lh_error *err) LH_NODISCARD;
/* Replaces key with [p, p+n) atomically. On failure the previous object is intact. */
enum lh_status lh_store_put(struct lh_store *st, const char *key, const void *p, size_t n,
                            struct lh_error *err) LH_NODISCARD;
/* Creates key only if it does not exist: LH_E_EXISTS otherwise. */
enum lh_status lh_store_put_if_absent(struct lh_store *st, const char *key, const void *p, size_t n,
                                      struct lh_error *err) LH_NODISCARD;
/* Replaces key only if its current token equals `token`: LH_E_CONFLICT when
 * it changed, LH_E_NOTFOUND when it is gone. new_token (may be NULL)
 * receives the token of the written object when the backend knows it. */
enum lh_status lh_store_replace_if(struct lh_store *st, const char *key, const void *p, size_t n,
                                   const char *token, char *new_token,
                                   struct lh_error *err) LH_NODISCARD;
/* Deletes key; deleting an absent key is not an error. */
enum lh_status lh_store_delete(struct lh_store *st, const char *key,
                               struct lh_error *err) LH_NODISCARD;

/* One listed object; arrays of these live in the list's arena. */
struct lh_store_entry {
    const char *key;
    uint64_t size;
};
struct lh_store_list {
    struct lh_store_entry *items; /* sorted by key; owned by the list */
    size_t count;
    size_t cap_;
    struct lh_arena arena; /* owns the key strings */
};
/* Every key starting with prefix (may be "" for all), sorted. Temporary
 * files of in-progress writes are never listed. Release with
 * lh_store_list_reset (frees what the list holds, leaves it empty). */
enum lh_status lh_store_list(struct lh_store *st, const char *prefix, struct lh_store_list *out,
                             struct lh_error *err) LH_NODISCARD;
void lh_store_list_reset(struct lh_store_list *l);

/* Streaming upload: write as you go, visible only after commit, nothing left
 * after abort (local: atomic file; S3: multipart upload once the data passes
 * one part, a single PUT otherwise). commit and abort free *up. */
enum lh_status lh_store_upload_begin(struct lh_store *st, const char *key,
                                     struct lh_store_upload **up,
                                     struct lh_error *err) LH_NODISCARD;
enum lh_status lh_store_upload_write(struct lh_store_upload *up, const void *p, size_t n,
                                     struct lh_error *err) LH_NODISCARD;
enum lh_status lh_store_upload_commit(struct lh_store_upload *up,
                                      struct lh_error *err) LH_NODISCARD;
void lh_store_upload_abort(struct lh_store_upload *up);
uint64_t lh_store_upload_size(const struct lh_store_upload *up);

/* ---------------------------------------------------------- interrupted writes */

/* A write that began and was never committed or aborted: on the local
 * backend the temporary file of a put or an upload (its process was killed,
 * or is still writing it), on S3 an incomplete multipart upload. Neither get
 * nor list ever shows one, yet it holds space until it is swept. */
struct lh_store_pending {
    const char *key;     /* the key the write would have published; "a/b/" for a
                            directory (local) left empty under the prefix */
    int64_t modified_us; /* local: last write (mtime); S3: when the upload began */
    uint64_t size;       /* bytes it holds; 0 where the backend does not say (S3) */
};
/* The caller's verdict on one pending write or empty directory (borrowed
 * for the call): true removes it. */
typedef bool (*lh_store_sweep_fn)(void *ctx, const struct lh_store_pending *p);
struct lh_store_sweep_stats {
    size_t pending;  /* pending writes removed (temporary files, aborted uploads) */
    size_t dirs;     /* empty directories removed (local) */
    uint64_t bytes;  /* bytes the removed pending writes held, where known */
};

/* Sweeps leftovers of interrupted writes under prefix: every pending write
 * for which dead(ctx, p) is true is removed (local: the temporary file is
 * unlinked; S3: ListMultipartUploads, then AbortMultipartUpload), then, on
 * the local backend, every directory under prefix that is empty and that
 * dead() accepts is removed, deepest first (S3 has no directories).
 * Objects are never touched (delete those with lh_store_delete): only the
 * caller knows whether a write is still running, so it decides in dead().
 * dead may be a counter that returns false (a dry run). stats may be NULL. */
enum lh_status lh_store_sweep(struct lh_store *st, const char *prefix, lh_store_sweep_fn dead,
                              void *ctx, struct lh_store_sweep_stats *stats,
                              struct lh_error *err) LH_NODISCARD;

/* Key rules: 1..LH_STORE_KEY_MAX bytes, no leading '/', no empty, "." or
 * ".." segment, no control characters or backslash, no trailing '/'. */
enum lh_status lh_store_key_check(const char *key, struct lh_error *err) LH_NODISCARD;
/* A name usable as one key segment (dataset names, index names): 1..200
 * bytes of [A-Za-z0-9._-], not starting with '.'. */
enum lh_status lh_store_name_check(const char *name, struct lh_error *err) LH_NODISCARD;

/* ---------------------------------------------------------- named buckets */

/* Opens the bucket set. `root` is the default location: a directory (each
 * bucket a sub-directory, created on demand) or an s3:// URL (the `primary`
 * bucket). NULL root = $LAKEHOUSE_DATA or "./lakehouse-data". config_path
 * (may be NULL) is a JSON file:
 *   {"buckets": {"archive": {"url": "s3://arch/lh", "endpoint": "...",
 *                "region": "...", "virtual_host": false},
 *                "scratch": {"url": "/tmp/scratch"}}}
 * Buckets named there override the default location. */
enum lh_status lh_store_set_open(const char *root, const char *config_path,
                                 const struct lh_store_options *opt, struct lh_store_set **out,
                                 struct lh_error *err) LH_NODISCARD;
void lh_store_set_close(struct lh_store_set *set);
/* Borrowed; LH_E_NOTFOUND for a bucket neither configured nor derivable. */
enum lh_status lh_store_set_get(struct lh_store_set *set, const char *bucket, struct lh_store **out,
                                struct lh_error *err) LH_NODISCARD;
/* The `primary` bucket (always present). Borrowed. */
struct lh_store *lh_store_set_primary(struct lh_store_set *set);

/* ---------------------------------------------------------- the lease */

/* One owner per store (the daemon: docs/daemon.md). A lease is named
 * (a store name, e.g. "daemon") and carries the owner's text (JSON such as
 * {"pid":1,"host":"h","url":"http://..."}) that a refused contender gets
 * back to name the holder.
 *   local directory: an exclusive flock on "<dir>/.lh-NAME.lock", held by
 *     an open descriptor; it dies with the process (kill -9 included) and
 *     needs no renewal (lh_store_lease_renew_secs is 0).
 *   S3: the object "_lease/NAME.json" with an expiry ttl_secs ahead, which
 *     the holder renews every lh_store_lease_renew_secs (ttl/3) with a
 *     conditional replace; a contender takes it over only after it
 *     expired. Without conditional writes enforced by the server and with
 *     clocks that disagree by more than the ttl this is best effort (see
 *     docs/daemon.md).
 * The lease uses st (borrowed; st may serve other threads meanwhile). A
 * lease object is called from one thread at a time (its holder's
 * heartbeat), like an upload. */
struct lh_store_lease;
/* LH_E_EXISTS when another process holds it: holder (may be NULL)
 * receives the holder's owner text (one line, cut to holder_cap).
 * ttl_secs: S3 expiry, 0 = 30. */
enum lh_status lh_store_lease_acquire(struct lh_store *st, const char *name, const char *owner,
                                      unsigned ttl_secs, struct lh_store_lease **out,
                                      char *holder, size_t holder_cap,
                                      struct lh_error *err) LH_NODISCARD;
/* Seconds between renewals; 0: none needed (local). */
unsigned lh_store_lease_renew_secs(const struct lh_store_lease *l);
/* Extends the lease; LH_E_STATE when another process took it over (the
 * caller must stop acting as the owner). */
enum lh_status lh_store_lease_renew(struct lh_store_lease *l, struct lh_error *err) LH_NODISCARD;
/* Replaces the owner text (and renews on S3). */
enum lh_status lh_store_lease_set_owner(struct lh_store_lease *l, const char *owner,
                                        struct lh_error *err) LH_NODISCARD;
/* Gives the lease up (S3: deletes the object while it is still ours) and
 * frees l. NULL is fine. */
void lh_store_lease_release(struct lh_store_lease *l);
/* Whether another process holds the lease now, without taking it (the
 * CLI's check before it writes a store that a daemon serves). */
enum lh_status lh_store_lease_probe(struct lh_store *st, const char *name, bool *held,
                                    char *holder, size_t holder_cap,
                                    struct lh_error *err) LH_NODISCARD;

#endif
