/*
 * schedule.h — the schedule module's one public header.
 *
 * What is here:
 *   - IANA time zones read from TZif files (lh_tz_*): thread-safe, no
 *     setenv("TZ")/localtime; loaded zones are cached per path behind a mutex
 *     and live until the process exits (handles are borrowed, never freed).
 *   - Five-field cron expressions (lh_cron_*), parsed into bitsets, and the
 *     next fire instant in a zone with cronie's daylight-saving behaviour.
 *   - Interval and cron triggers (lh_trigger_next).
 *   - Schedule definitions (lh_schedule_*): the reference's JSON shape as a
 *     superset, validation, DSN secrets sealed with libsodium secretbox.
 *   - The schedule store (lh_schedule_store_*): `_schedules/{id}.json` and
 *     the run history `_runs/{id}/{run_id}.json` through lh_store.
 *   - The scheduler (lh_scheduler_*): one timer thread over a min-heap of due
 *     times, a worker pool for the jobs (injected callback) and recorder
 *     threads that record each finished run.
 * See docs/schedules.md for the file format and the scheduling rules.
 *
 * Time is whole seconds since the Unix epoch (UTC) throughout; a "local"
 * time is the wall-clock reading expressed the same way (seconds since
 * 1970-01-01T00:00 of the local calendar).
 *
 * Thread safety: every function may be called from any thread. A struct
 * lh_cron or struct lh_trigger is a plain value the caller owns.
 */
#ifndef LH_SCHEDULE_H
#define LH_SCHEDULE_H

#include "core/core.h"

#include <pthread.h>

/* ------------------------------------------------------------------ zones */

struct lh_tz; /* opaque, immutable once loaded */

/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define LH_TZ_NAME_MAX 128
/* Largest TZif file read (real ones are under 4 KiB). */
#define LH_TZ_FILE_MAX (256 * 1024)

/* Loads an IANA zone ("Europe/Berlin", "UTC") from $TZDIR or
 * /usr/share/zoneinfo. *out is borrowed from the process-wide cache and
 * valid until exit. "UTC" works even without a zone database. A name with
 * a leading '/', an empty or "."/".." component or a character outside
 * [A-Za-z0-9._+-/] is rejected (LH_E_INVAL); a missing zone is
 * LH_E_NOTFOUND; a damaged file LH_E_FORMAT. */
enum lh_status lh_tz_load(const char *name, const struct lh_tz **out,
                          struct lh_error *err) LH_NODISCARD;

/* The built-in UTC zone (no file needed). Borrowed, static. */
const struct lh_tz *lh_tz_utc(void);

/* Parses untrusted TZif bytes (v1, v2, v3, v4). Caller frees with
 * lh_tz_destroy. Used by lh_tz_load and by tests/fuzzing. name is copied. */
enum lh_status lh_tz_parse(const uint8_t *p, size_t n, const char *name, struct lh_tz **out,
                           struct lh_error *err) LH_NODISCARD;
void lh_tz_destroy(struct lh_tz *tz); /* only for lh_tz_parse results; NULL ok */

const char *lh_tz_name(const struct lh_tz *tz);

struct lh_tz_local {
    int64_t local;  /* wall-clock seconds */
    int32_t offset; /* local - utc, seconds */
    bool is_dst;
};

/* UTC instant -> local wall time. Never fails. */
void lh_tz_to_local(const struct lh_tz *tz, int64_t utc, struct lh_tz_local *out);

/* Local wall time -> the UTC instants that show it, ascending. Returns 0, 1
 * or 2. 1 is the usual case; 2 is a fold (a fall-back hour seen twice);
 * 0 is a gap (a spring-forward hour that never happens), and then out[0]
 * is the instant the gap ends (the first instant after the skipped time). */
int lh_tz_local_to_utc(const struct lh_tz *tz, int64_t local, int64_t out[2]);

/* ------------------------------------------------------------------ cron */

#define LH_CRON_EXPR_MAX 256

enum {
    LH_CRON_DOM_STAR = 1 << 0, /* day-of-month field starts with '*' */
    LH_CRON_DOW_STAR = 1 << 1, /* day-of-week field starts with '*' */
    LH_CRON_MIN_STAR = 1 << 2, /* minute field starts with '*' */
    LH_CRON_HR_STAR = 1 << 3,  /* hour field starts with '*' */
};

/* A parsed expression: one bit per allowed value. Caller storage. */
struct lh_cron {
    uint64_t minutes; /* bits 0..59 */
    uint32_t hours;   /* bits 0..23 */
    uint32_t dom;     /* bits 1..31 */
    uint16_t months;  /* bits 1..12 */
    uint8_t dow;      /* bits 0..6, 0 = Sunday */
    uint8_t flags;    /* LH_CRON_*_STAR */
};

/* Parses "m h dom mon dow" or an @-macro. Errors are LH_E_INVAL with a
 * message naming the field: "cron: day-of-month: 32 out of range 1-31".
 * Expressions that can never fire ("0 0 30 2 *") are rejected too. */
enum lh_status lh_cron_parse(struct lh_cron *c, const char *expr,
                             struct lh_error *err) LH_NODISCARD;

/* A wildcard job (minute or hour field starts with '*') fires at every real
 * instant that matches; a fixed-time job fires once per matching wall time:
 * right after a spring-forward gap that skipped it, and at the first of two
 * occurrences in a fall-back fold (cronie's rules). */
static inline bool lh_cron_is_wildcard(const struct lh_cron *c)
{
    return (c->flags & (LH_CRON_MIN_STAR | LH_CRON_HR_STAR)) != 0;
}

/* How far ahead lh_cron_next looks before giving up. */
#define LH_CRON_SEARCH_YEARS 5

/* The first fire instant strictly after after_utc, in zone tz (NULL = UTC).
 * LH_E_NOTFOUND when none falls within LH_CRON_SEARCH_YEARS years. */
enum lh_status lh_cron_next(const struct lh_cron *c, const struct lh_tz *tz, int64_t after_utc,
                            int64_t *next_utc, struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------------ triggers */

enum lh_trigger_kind { LH_TRIGGER_INTERVAL, LH_TRIGGER_CRON };

enum lh_interval_anchor {
    LH_ANCHOR_COMPLETION, /* next = completed_at + secs (the reference) */
    LH_ANCHOR_FIXED,      /* next = previous target + k*secs, first one after now */
};

/* Longest interval accepted: ten years. */
#define LH_INTERVAL_MAX_SECS (10LL * 366 * 86400)

struct lh_trigger {
    enum lh_trigger_kind kind;
    int64_t interval_secs;          /* INTERVAL: 1..LH_INTERVAL_MAX_SECS */
    enum lh_interval_anchor anchor; /* INTERVAL */
    struct lh_cron cron;            /* CRON */
    const struct lh_tz *tz;         /* CRON: borrowed; NULL = UTC */
};

/* When the trigger fires next, given the time the last run completed, the
 * time it was due (its target) and the current time.
 *   INTERVAL/COMPLETION: completed_at + secs.
 *   INTERVAL/FIXED:      previous_target + k*secs for the smallest k >= 1
 *                        that lands after now: ticks missed while a run
 *                        overran are skipped, never run back to back.
 *   CRON:                the first fire after max(previous_target,
 *                        completed_at, now), so missed fires are skipped.
 * LH_E_INVAL for a bad interval; lh_cron_next's errors for cron. */
enum lh_status lh_trigger_next(const struct lh_trigger *t, int64_t completed_at,
                               int64_t previous_target, int64_t now, int64_t *next,
                               struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------------ definitions */

/* Field limits. Longer values are rejected with a message naming the field
 * (a stored last_outcome.message is cut to fit instead). */
#define LH_SCHEDULE_ID_MAX 200 /* a stored id; new ids are 1..128 [A-Za-z0-9_-] */
#define LH_SCHEDULE_NEW_ID_MAX 128
#define LH_SCHEDULE_DSN_MAX 2048
#define LH_SCHEDULE_SECRET_MAX 3072
#define LH_SCHEDULE_NAME_MAX 256  /* table, dataset_name, order_by, cursor_column */
#define LH_SCHEDULE_TEXT_MAX 1024 /* description, created_by, paused_reason, columns */
#define LH_SCHEDULE_QUERY_MAX 8192 /* query */
#define LH_SCHEDULE_WHERE_MAX 4096 /* where */
#define LH_SCHEDULE_MSG_MAX 2048  /* outcome messages */
#define LH_SCHEDULE_JSON_MAX (256u * 1024)

enum lh_schedule_source { LH_SCHED_MYSQL, LH_SCHED_POSTGRES };
enum lh_schedule_mode { LH_SCHED_OVERWRITE, LH_SCHED_APPEND, LH_SCHED_INCREMENTAL };
enum lh_catch_up { LH_CATCH_UP_ONCE, LH_CATCH_UP_SKIP };
/* kind.schema_policy (docs/schedules.md): the ingest's schema policy. */
enum lh_schedule_schema_policy {
    LH_SCHED_SCHEMA_EVOLVE,
    LH_SCHED_SCHEMA_FAIL,
    LH_SCHED_SCHEMA_REPLACE
};

/* The reference's RunOutcome, kept on the schedule. */
struct lh_run_outcome {
    bool present; /* false: "last_outcome": null */
    int64_t at_us;
    bool success;
    char message[LH_SCHEDULE_MSG_MAX];
    bool has_rows;
    uint64_t rows;
    double duration_secs;
};

struct lh_schedule_retry {
    uint32_t max_attempts; /* retries after a failed run; 0 = none */
    int64_t base_secs;     /* attempt n waits base*2^(n-1) .. 2*base*2^(n-1) */
    int64_t cap_secs;      /* ... but never longer than this */
};

#define LH_RETRY_DEFAULT_ATTEMPTS 3
#define LH_RETRY_DEFAULT_BASE 30
#define LH_RETRY_DEFAULT_CAP 3600

/* One schedule: a plain value (copy it freely). `dsn` is always the
 * redacted display form ("mysql://user:***@host/db"); the password lives
 * sealed in dsn_secret ("v1:" base64(nonce|ciphertext) of the whole DSN)
 * or in the environment variable password_env, and the full DSN exists only
 * in the buffer lh_schedule_dsn_reveal fills when a job runs. */
#define LH_SCHEDULE_PARALLEL_AUTO (-1)
#define LH_SCHEDULE_PARALLEL_MAX 16

struct lh_schedule {
    char id[LH_SCHEDULE_ID_MAX + 1];
    /* kind */
    enum lh_schedule_source kind;
    char dsn[LH_SCHEDULE_DSN_MAX];
    char dsn_secret[LH_SCHEDULE_SECRET_MAX]; /* "" = none */
    char password_env[128];                  /* "" = none */
    /* exactly one of table and query; columns and where with a table only
     * (docs/schedules.md); "" = absent */
    char table[LH_SCHEDULE_NAME_MAX];
    char query[LH_SCHEDULE_QUERY_MAX];
    char columns[LH_SCHEDULE_TEXT_MAX]; /* "a,b,c" (a JSON array is read too) */
    char where[LH_SCHEDULE_WHERE_MAX];
    char dataset_name[LH_SCHEDULE_NAME_MAX]; /* "" = null; required with a query */
    bool has_batch_size;
    uint64_t batch_size;
    char order_by[LH_SCHEDULE_NAME_MAX]; /* "" = null */
    enum lh_schedule_mode mode;
    char cursor_column[LH_SCHEDULE_NAME_MAX]; /* "" = null */
    bool has_limit;
    uint64_t limit;
    /* kind.parallel (docs/ingest.md "Parallel reads"): 0 absent (one
     * connection), 1..LH_SCHEDULE_PARALLEL_MAX, or LH_SCHEDULE_PARALLEL_AUTO
     * ("auto"; the same value as LH_SOURCE_PARALLEL_AUTO) */
    int parallel;
    /* kind.schema_policy (default evolve) and kind.replace_source (default
     * false), written only when not the default */
    enum lh_schedule_schema_policy schema_policy;
    bool replace_source;
    /* kind.no_resume (default false, written only when true): every run
     * loads from zero instead of resuming a failed load in key order
     * (docs/ingest.md "Resumable loads") */
    bool no_resume;
    /* trigger: trigger.tz is resolved from tz_name by lh_schedule_validate */
    struct lh_trigger trigger;
    char cron_expr[LH_CRON_EXPR_MAX + 1];
    char tz_name[LH_TZ_NAME_MAX + 1]; /* "" = UTC */
    /* state of the reference */
    bool enabled;
    int64_t created_at_us;
    char created_by[LH_SCHEDULE_TEXT_MAX];
    int64_t next_run_at_us;
    bool has_last_run;
    int64_t last_run_at_us;
    struct lh_run_outcome last_outcome;
    uint64_t run_count, failure_count;
    /* additions (optional in the file, defaults below) */
    struct lh_schedule_retry retry; /* default 3 attempts, 30 s, 1 h */
    int64_t timeout_secs;           /* 0 = none */
    enum lh_catch_up catch_up;      /* default once */
    char description[LH_SCHEDULE_TEXT_MAX];
    uint32_t auto_pause_after; /* consecutive failed runs; 0 = never */
    uint32_t consecutive_failures;
    char paused_reason[LH_SCHEDULE_TEXT_MAX];
    uint32_t retry_attempt;  /* retries used in the current failure streak */
    int64_t retry_target_us; /* the regular due time the streak began at */
};

/* A definition with every default set, id copied, created_at = next_run_at
 * = now_us (a new schedule is due at once), interval 3600 s. */
void lh_schedule_init(struct lh_schedule *def, const char *id, int64_t now_us);

/* Checks every field and resolves trigger (cron parse, tz load). new_id
 * applies the strict rule for new ids. LH_E_INVAL with a message naming
 * the field: "trigger.secs: must be at least 1". */
enum lh_status lh_schedule_validate(struct lh_schedule *def, bool new_id,
                                    struct lh_error *err) LH_NODISCARD;

/* When a new schedule first fires, set in def->next_run_at_us (def must
 * have passed lh_schedule_validate: the trigger is resolved). run_now:
 *   LH_FIRST_RUN_DEFAULT  cron: the first cron time after now_us;
 *                         interval: now_us (the reference: at once);
 *   LH_FIRST_RUN_NOW      now_us for both ("run once now too": a cron
 *                         schedule then goes on at its cron times);
 *   LH_FIRST_RUN_LATER    cron: as the default; interval: now_us + secs.
 * lh_cron_next's errors for a cron with no fire time ahead. */
enum lh_first_run { LH_FIRST_RUN_DEFAULT, LH_FIRST_RUN_NOW, LH_FIRST_RUN_LATER };
enum lh_status lh_schedule_first_run(struct lh_schedule *def, int64_t now_us,
                                     enum lh_first_run run_now,
                                     struct lh_error *err) LH_NODISCARD;

/* "mysql:customers" (the reference's label). */
void lh_schedule_label(const struct lh_schedule *def, char *out, size_t cap);
const char *lh_schedule_mode_name(enum lh_schedule_mode m);
/* "evolve", "fail", "replace". */
const char *lh_schedule_schema_policy_name(enum lh_schedule_schema_policy p);
/* "every 1h", "every 90s (fixed)", "cron 0 2 * * * Europe/Berlin". */
void lh_schedule_trigger_text(const struct lh_schedule *def, char *out, size_t cap);

/* ---- secrets */

struct lh_schedule_key {
    uint8_t k[32];
    char origin[512]; /* "LAKEHOUSE_SECRET_KEY" or the key file's path */
};

/* 64 hex digits or base64 of 32 bytes. */
enum lh_status lh_schedule_key_from_text(const char *text, struct lh_schedule_key *key,
                                         struct lh_error *err) LH_NODISCARD;
/* Reads a key file (text as above); when absent and create is set, writes a
 * fresh random key with mode 0600 (and its directory 0700) and logs the
 * path once. */
enum lh_status lh_schedule_key_file(const char *path, bool create, struct lh_schedule_key *key,
                                    struct lh_error *err) LH_NODISCARD;
/* The key of this deployment: $LAKEHOUSE_SECRET_KEY, else the file path
 * (NULL: $LAKEHOUSE_SECRET_KEY_FILE, else
 * ${XDG_CONFIG_HOME:-$HOME/.config}/lakehouse/secret.key), created if absent. */
enum lh_status lh_schedule_key_resolve(const char *path, struct lh_schedule_key *key,
                                       struct lh_error *err) LH_NODISCARD;

/* Seals def->dsn: when it carries a password (lh_redact_dsn changes it),
 * the whole DSN is encrypted into dsn_secret and dsn becomes the redacted
 * form. *changed tells whether anything was sealed. */
enum lh_status lh_schedule_seal(struct lh_schedule *def, const struct lh_schedule_key *key,
                                bool *changed, struct lh_error *err) LH_NODISCARD;
/* The full DSN for a run: dsn_secret decrypted, or password_env inserted
 * into the URL, or dsn itself. Wipe out with sodium_memzero-like care when
 * done (lh_schedule_wipe). key may be NULL when nothing is sealed. */
enum lh_status lh_schedule_dsn_reveal(const struct lh_schedule *def,
                                      const struct lh_schedule_key *key, char *out, size_t cap,
                                      struct lh_error *err) LH_NODISCARD;
void lh_schedule_wipe(void *p, size_t n);
/* Wipes a malloc'ed schedule (its DSN and secrets) and frees it; NULL is
 * fine. */
void lh_schedule_free(struct lh_schedule *def);
/* True when the DSN's password is the redaction mark ("user:***@host"): the
 * display form, which carries no password. */
bool lh_schedule_dsn_redacted(const char *dsn);
/* The rule for a definition sent back for an existing schedule (HTTP PUT,
 * `lakehouse apply`): when def's DSN is the stored display form (cur->dsn),
 * def names no other password_env and no other dsn_secret, the stored
 * password (dsn_secret, password_env) is copied into def. LH_E_INVAL naming
 * the field when def carries a dsn_secret that is not the stored one, or a
 * DSN whose password is '***' but which differs from the stored one. */
enum lh_status lh_schedule_keep_secret(struct lh_schedule *def, const struct lh_schedule *cur,
                                       struct lh_error *err) LH_NODISCARD;

/* ---- JSON */

/* Parses untrusted schedule JSON (at most LH_SCHEDULE_JSON_MAX bytes).
 * Unknown fields are ignored. A plaintext DSN is sealed when key is given
 * (*sealed tells; the caller re-writes the file), else kept as is.
 * Validates (loaded ids: the lenient rule). */
enum lh_status lh_schedule_from_json(const char *p, size_t n, const struct lh_schedule_key *key,
                                     struct lh_schedule *def, bool *sealed,
                                     struct lh_error *err) LH_NODISCARD;
/* Strict check of a schedule body a client sent (POST/PUT): LH_E_FORMAT
 * naming the first field that no schedule has, at any level
 * ("trigger.expression: unknown field (want type, expr, tz)"). Accepts
 * every field lh_schedule_to_json and lh_schedule_to_json_compact write
 * (the reference's shape among them), so a GET answer fed back passes.
 * Only the field names are checked here; lh_schedule_from_json checks the
 * values. */
enum lh_status lh_schedule_json_check_fields(const char *p, size_t n,
                                             struct lh_error *err) LH_NODISCARD;
/* Pretty JSON, reference field order first, then the additions. */
enum lh_status lh_schedule_to_json(const struct lh_schedule *def, struct lh_buf *out,
                                   struct lh_error *err) LH_NODISCARD;

/* How lh_schedule_to_json_compact writes a definition for display. */
struct lh_schedule_json_opts {
    bool omit_secret; /* "dsn_secret": null whatever def holds */
    /* Optional: every string value (not the keys, not active_run_id) is
     * passed through filter before it is written. It returns SIZE_MAX to
     * keep s, else the length of its replacement, written to dst like
     * snprintf (NUL-terminated, cut at cap; when the length is >= cap the
     * writer calls it again with a buffer of length + 1). A replacement
     * that is not valid UTF-8 is written as "***". */
    size_t (*filter)(void *ctx, const char *s, char *dst, size_t cap);
    void *filter_ctx;
    /* Appends "running": running, "active_run_id": active_run_id or null. */
    bool run_state;
    bool running;
    const char *active_run_id; /* borrowed; used when running */
};

/* The same document as lh_schedule_to_json (same fields, same order, the
 * same values as jansson prints them after a load: a real is printed with
 * 9 significant digits, read back and printed with 17), written compactly
 * straight into out without building a tree. A string that is not valid
 * UTF-8 is LH_E_FORMAT (jansson refuses those too); LH_E_NOMEM when out
 * broke. On error out holds a partial document: the caller truncates. */
enum lh_status lh_schedule_to_json_compact(const struct lh_schedule *def,
                                           const struct lh_schedule_json_opts *o,
                                           struct lh_buf *out, struct lh_error *err) LH_NODISCARD;

/* ---- runs */

enum lh_run_reason { LH_RUN_SCHEDULE, LH_RUN_RETRY, LH_RUN_MANUAL, LH_RUN_CATCH_UP };
enum lh_run_status { LH_RUN_SUCCESS, LH_RUN_FAILED, LH_RUN_TIMEOUT, LH_RUN_CANCELLED };
const char *lh_run_reason_name(enum lh_run_reason r);
const char *lh_run_status_name(enum lh_run_status s);

#define LH_RUN_ID_MAX 48

/* One finished run: `_runs/{schedule_id}/{run_id}.json`. */
struct lh_run_record {
    char run_id[LH_RUN_ID_MAX];
    char schedule_id[LH_SCHEDULE_ID_MAX + 1];
    enum lh_run_reason reason;
    uint32_t attempt;  /* 0 for a first run, n for the n-th retry */
    int64_t target_us; /* the due time that fired it (0 for manual) */
    int64_t started_at_us, finished_at_us;
    enum lh_run_status status;
    bool has_rows;
    uint64_t rows, bytes, warnings;
    char message[LH_SCHEDULE_MSG_MAX]; /* redacted; the outcome text */
    char dataset[LH_SCHEDULE_NAME_MAX]; /* "" = unknown (older records) */
    uint64_t version;                   /* the version it published; 0 = none */
    /* How the history holds the run (never part of the file):
     *   damaged: its file cannot be read or parsed; message says which file
     *     and what is wrong, run_id and schedule_id come from its key, the
     *     rest is empty. JSON: {"run_id","schedule_id","damaged":true,"error"}.
     *   unrecorded: the store could not write it yet (a full disk): it is
     *     kept in memory and written when the store takes writes again.
     *     JSON: the record plus "unrecorded": true. */
    bool damaged;
    bool unrecorded;
    /* A cancelled run that a user cancelled (lh_scheduler_cancel), not a
     * stop: lh_schedule_apply_run moves the schedule on to its next regular
     * time instead of leaving it due. Never part of the file. */
    bool cancelled_by_user;
};

/* A run id sortable by time: "20260416T203604.123456Z-0001". seq breaks ties. */
void lh_run_id_make(int64_t at_us, uint32_t seq, char out[LH_RUN_ID_MAX]);

enum lh_status lh_run_record_to_json(const struct lh_run_record *r, struct lh_buf *out,
                                     struct lh_error *err) LH_NODISCARD;
enum lh_status lh_run_record_from_json(const char *p, size_t n, struct lh_run_record *r,
                                       struct lh_error *err) LH_NODISCARD;

/* The reference's best-effort "rows=N" token of a message. */
bool lh_run_parse_rows(const char *msg, uint64_t *rows);

/* Attempt n's backoff (n >= 1): base*2^(n-1) * (1 + u), u = rnd / 2^64 in
 * [0, 1), then at most cap. */
int64_t lh_schedule_backoff_secs(const struct lh_schedule_retry *r, uint32_t attempt, uint64_t rnd);

/* Applies a finished run to the definition (pure; the store calls it):
 * counters, last_run_at, last_outcome, consecutive failures, retry state,
 * next_run_at and auto-pause. rnd feeds the backoff jitter. *auto_paused
 * is set when this run paused the schedule. */
enum lh_status lh_schedule_apply_run(struct lh_schedule *def, const struct lh_run_record *run,
                                     uint64_t rnd, int64_t now_us, bool *auto_paused,
                                     struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------------ store */

struct lh_store; /* store/store.h */
struct lh_schedule_store;

#define LH_RUNS_KEEP_DEFAULT 100

struct lh_schedule_store_options {
    const struct lh_schedule_key *key; /* required: seals plaintext DSNs */
    unsigned runs_keep;                /* run records kept per schedule; 0 = 100 */
    /* The daemon: a run whose record or schedule file cannot be written
     * (a full disk) is applied in memory, listed by lh_schedule_store_runs
     * with `unrecorded` and written by lh_schedule_store_flush; record_run
     * then succeeds. Off (the CLI): record_run fails and nothing is kept. */
    bool keep_unrecorded;
};

/* Opens the schedules of `st` (borrowed; it may serve other users at the
 * same time, store.h) and loads `_schedules/`: a malformed file is logged with its key, listed
 * in lh_schedule_store_problem and skipped; a plaintext DSN is sealed and
 * the file re-written. Thread safety: every lh_schedule_store_* call may
 * come from any thread (one read-write lock; listeners run outside it). */
enum lh_status lh_schedule_store_open(struct lh_store *st,
                                      const struct lh_schedule_store_options *o,
                                      struct lh_schedule_store **out,
                                      struct lh_error *err) LH_NODISCARD;
void lh_schedule_store_close(struct lh_schedule_store *ss);
/* Problems of the last load, i = 0.. until NULL. Borrowed. */
const char *lh_schedule_store_problem(const struct lh_schedule_store *ss, size_t i);
const struct lh_schedule_key *lh_schedule_store_key(const struct lh_schedule_store *ss);

/* Called after a schedule was created, changed (not by record_run) or
 * deleted, with no lock held. One listener (the scheduler). */
typedef void (*lh_schedule_listener_fn)(void *ctx, const char *id);
void lh_schedule_store_set_listener(struct lh_schedule_store *ss, lh_schedule_listener_fn fn,
                                    void *ctx);

/* Re-reads `_schedules/` (changes made by another process, e.g. the CLI)
 * and calls the listener for each id that appeared, changed or vanished. */
enum lh_status lh_schedule_store_reload(struct lh_schedule_store *ss,
                                        struct lh_error *err) LH_NODISCARD;

/* Validates (new-id rule), seals and writes a new schedule; LH_E_EXISTS if
 * the id (or its key) is taken. */
enum lh_status lh_schedule_store_create(struct lh_schedule_store *ss, const struct lh_schedule *def,
                                        struct lh_error *err) LH_NODISCARD;
enum lh_status lh_schedule_store_get(struct lh_schedule_store *ss, const char *id,
                                     struct lh_schedule *out, struct lh_error *err) LH_NODISCARD;
/* The number of schedules now, under the read lock: nothing copied. */
size_t lh_schedule_store_count(struct lh_schedule_store *ss);
/* Sorted by id, copied (sizeof(struct lh_schedule) each, about 12 KB):
 * for callers that keep the definitions; to read or count them in place use
 * lh_schedule_store_each or lh_schedule_store_count. Caller frees *out with
 * free() (after lh_schedule_wipe). */
enum lh_status lh_schedule_store_list(struct lh_schedule_store *ss, struct lh_schedule **out,
                                      size_t *n, struct lh_error *err) LH_NODISCARD;
/* Replaces the configuration of an existing schedule (kind, trigger,
 * enabled, retry, timeout, catch_up, description, auto_pause_after,
 * paused_reason, next_run_at); run state is kept. When the trigger changed
 * next_run_at is recomputed from the last run. LH_E_NOTFOUND if absent. */
enum lh_status lh_schedule_store_update(struct lh_schedule_store *ss, const struct lh_schedule *def,
                                        int64_t now_us, struct lh_error *err) LH_NODISCARD;
/* Pause (enabled=false, paused_reason) or resume (enabled=true, reason and
 * failure streak cleared). */
enum lh_status lh_schedule_store_set_enabled(struct lh_schedule_store *ss, const char *id,
                                             bool enabled, const char *reason,
                                             struct lh_error *err) LH_NODISCARD;
/* Moves next_run_at (catch-up skip); no listener call. */
enum lh_status lh_schedule_store_reschedule(struct lh_schedule_store *ss, const char *id,
                                            int64_t next_us, struct lh_error *err) LH_NODISCARD;
/* Deletes the definition (its run history stays). *existed may be NULL. */
enum lh_status lh_schedule_store_delete(struct lh_schedule_store *ss, const char *id, bool *existed,
                                        struct lh_error *err) LH_NODISCARD;
/* Writes the run record, trims the history to runs_keep, applies the run
 * to the definition (lh_schedule_apply_run, re-read and re-applied when
 * another writer replaced the file meanwhile) and persists it. updated
 * (may be NULL) receives the new definition. */
enum lh_status lh_schedule_store_record_run(struct lh_schedule_store *ss,
                                            const struct lh_run_record *run, uint64_t rnd,
                                            int64_t now_us, struct lh_schedule *updated,
                                            bool *auto_paused, struct lh_error *err) LH_NODISCARD;
/* Runs kept in memory (keep_unrecorded) whose record or schedule file is
 * not written yet. */
size_t lh_schedule_store_unrecorded(struct lh_schedule_store *ss);
/* Writes them (oldest first; a schedule file changed meanwhile is re-read
 * and the runs applied to it again). LH_OK when nothing is pending any
 * more; else the first write error (they stay pending). */
enum lh_status lh_schedule_store_flush(struct lh_schedule_store *ss,
                                       struct lh_error *err) LH_NODISCARD;
/* Calls fn(ctx, def) with the store's lock held, for schedule id (visit;
 * LH_E_NOTFOUND when absent) or for every schedule in id order until fn
 * returns false (each). def is borrowed for the call: no copy is made, so
 * nothing needs wiping. fn must not call the store; it may take locks that
 * are never held while calling the store (the scheduler's): lock order
 * store -> scheduler. */
typedef bool (*lh_schedule_visit_fn)(void *ctx, const struct lh_schedule *def);
enum lh_status lh_schedule_store_visit(struct lh_schedule_store *ss, const char *id,
                                       lh_schedule_visit_fn fn, void *ctx,
                                       struct lh_error *err) LH_NODISCARD;
void lh_schedule_store_each(struct lh_schedule_store *ss, lh_schedule_visit_fn fn, void *ctx);
/* Run history, newest first: up to limit records older than `before`
 * (a run id; NULL = from the newest). *total = all kept runs. A record
 * that cannot be read is listed in its place with `damaged`; one kept in
 * memory with `unrecorded`. Caller frees *out with free(). */
enum lh_status lh_schedule_store_runs(struct lh_schedule_store *ss, const char *id,
                                      const char *before, size_t limit, struct lh_run_record **out,
                                      size_t *n, size_t *total, struct lh_error *err) LH_NODISCARD;

/* ---- run logs and lookups across schedules (docs/runs.md) */

/* The history of one-shot runs (POST /api/ingest): `_runs/_ingest/`. A new
 * schedule may not take this id. */
#define LH_RUNS_ONESHOT "_ingest"
/* A run id that may name a history key: 1..LH_RUN_ID_MAX-1 bytes of
 * [A-Za-z0-9._-], not starting with '.'. */
bool lh_run_id_valid(const char *run_id);
/* `_runs/{schedule_id}/{run_id}.log`: the run's log (JSON lines), written
 * beside its record and trimmed with it (runs_keep). */
enum lh_status lh_schedule_store_put_log(struct lh_schedule_store *ss, const char *schedule_id,
                                         const char *run_id, const void *p, size_t n,
                                         struct lh_error *err) LH_NODISCARD;
/* Reads a run's log (at most max bytes; 0 = the store's default cap).
 * Caller frees *out with free(). LH_E_NOTFOUND when there is none. */
enum lh_status lh_schedule_store_get_log(struct lh_schedule_store *ss, const char *schedule_id,
                                         const char *run_id, size_t max, uint8_t **out,
                                         size_t *n, struct lh_error *err) LH_NODISCARD;
/* Writes the record of a one-shot run under `_runs/_ingest/` (its
 * schedule_id becomes LH_RUNS_ONESHOT) and trims that history to
 * runs_keep. No definition is touched. */
enum lh_status lh_schedule_store_record_oneshot(struct lh_schedule_store *ss,
                                                const struct lh_run_record *run,
                                                struct lh_error *err) LH_NODISCARD;
/* The record of run_id in any schedule's history (or kept in memory,
 * `unrecorded`); LH_E_NOTFOUND when none. Lists `_runs/`. */
enum lh_status lh_schedule_store_find_run(struct lh_schedule_store *ss, const char *run_id,
                                          struct lh_run_record *out,
                                          struct lh_error *err) LH_NODISCARD;
/* The newest `limit` records across every schedule's history (one-shot
 * runs included), newest first; unreadable ones are left out. Caller frees
 * *out with free(). */
enum lh_status lh_schedule_store_recent_runs(struct lh_schedule_store *ss, size_t limit,
                                             struct lh_run_record **out, size_t *n,
                                             struct lh_error *err) LH_NODISCARD;

/* ------------------------------------------------------------------ scheduler */

/* Time source. now_us: wall clock, µs since the epoch. wait: block on cv
 * (mu held, as pthread_cond_wait) until signalled or the wall clock reaches
 * deadline_us (INT64_MAX: no deadline); spurious returns are fine. cv was
 * created with CLOCK_MONOTONIC. A fake clock returns a settable time and
 * waits without a deadline: the test moves time and calls lh_scheduler_kick. */
struct lh_sched_clock {
    int64_t (*now_us)(void *ctx);
    void (*wait)(void *ctx, pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_us);
    void *ctx;
};
/* CLOCK_REALTIME + pthread_cond_timedwait on CLOCK_MONOTONIC. */
const struct lh_sched_clock *lh_sched_clock_real(void);

struct lh_run_ctl; /* private */

/* What a job gets. dsn is the full DSN (password included), valid during
 * the call only; never log it. */
struct lh_run_info {
    const char *run_id;
    enum lh_run_reason reason;
    uint32_t attempt;
    int64_t started_at_us;
    const char *dsn;
    struct lh_run_ctl *ctl;
};
/* True once the run was cancelled (timeout or stop). */
bool lh_run_cancelled(const struct lh_run_info *run);
/* Registers fn(ctx) to be called (from the scheduler thread) when the run
 * is cancelled; fn = NULL unregisters, and returns only after a running
 * hook finished, so ctx may be freed afterwards. If the run is already
 * cancelled, fn is called at once. */
void lh_run_set_cancel_hook(struct lh_run_info *run, void (*fn)(void *ctx), void *ctx);

/* What a job reports. status LH_OK = success. message: the error text on
 * failure; on success it may stay empty and the scheduler writes the
 * reference's "rows=N dataset=X bytes=B". has_rows unset: rows are parsed
 * from the message as the reference does. */
struct lh_run_result {
    enum lh_status status;
    bool has_rows;
    uint64_t rows, bytes, warnings;
    uint64_t version; /* the version published; 0 = none */
    char dataset[LH_SCHEDULE_NAME_MAX];
    char message[LH_SCHEDULE_MSG_MAX];
};

typedef void (*lh_scheduler_job_fn)(void *ctx, const struct lh_schedule *def,
                                    struct lh_run_info *run, struct lh_run_result *out);

enum lh_sched_event_kind { LH_SCHED_EVENT_RUN_FINISHED, LH_SCHED_EVENT_AUTO_PAUSED };
struct lh_sched_event {
    enum lh_sched_event_kind kind;
    const struct lh_schedule *def; /* after the run was applied */
    const struct lh_run_record *run;
    /* Failed or timed-out runs since the schedule's last success, before
     * this run (a success with prev_failures > 0 is a recovery). Cancelled
     * runs do not count; a resume, which clears consecutive_failures, does
     * not clear this (within one scheduler's life: after a restart it
     * starts from consecutive_failures). */
    uint32_t prev_failures;
};

struct lh_scheduler_options {
    struct lh_schedule_store *store; /* borrowed; the scheduler becomes its listener */
    lh_scheduler_job_fn job;
    void *job_ctx;
    const struct lh_sched_clock *clock; /* NULL = lh_sched_clock_real() */
    unsigned max_concurrent;            /* worker threads (concurrent jobs); 0 = 4 */
    uint64_t seed;                      /* jitter; 0 = random */
    /* Called from a recorder thread after each run is recorded, outside
     * every lock; the schedule may run again only after it returns. */
    void (*on_event)(void *ctx, const struct lh_sched_event *ev);
    void *event_ctx;
    /* Runs the store keeps in memory (keep_unrecorded) are retried this
     * often (on the scheduler's clock) until written; 0 = 10 s. */
    unsigned flush_retry_secs;
};

struct lh_scheduler;

/* Loads the schedules from the store, applies catch-up (a schedule whose
 * due time passed before now runs once with reason catch-up, or with
 * catch_up skip moves to its next time; a schedule that never ran is simply
 * due), and starts the timer thread and the workers. */
enum lh_status lh_scheduler_start(const struct lh_scheduler_options *o, struct lh_scheduler **out,
                                  struct lh_error *err) LH_NODISCARD;
/* Graceful stop: no new runs; running jobs get grace_secs (on the
 * scheduler's clock) to finish, then are cancelled and recorded as
 * cancelled. Joins every thread and frees s. */
void lh_scheduler_stop(struct lh_scheduler *s, int64_t grace_secs);
/* The first half of stop, without waiting (tests drive the clock between). */
void lh_scheduler_stop_begin(struct lh_scheduler *s, int64_t grace_secs);

/* Run now, even a disabled schedule. When a run of it is in flight or
 * already queued, none is started: *already is set and run_id names the
 * active run. LH_E_NOTFOUND, LH_E_STATE when stopping. */
enum lh_status lh_scheduler_run_now(struct lh_scheduler *s, const char *id,
                                    char run_id[LH_RUN_ID_MAX], bool *already,
                                    struct lh_error *err) LH_NODISCARD;
/* Re-reads one schedule from the store (the store's listener does this). */
void lh_scheduler_notify(struct lh_scheduler *s, const char *id);
/* Wakes the timer thread (a fake clock moved). */
void lh_scheduler_kick(struct lh_scheduler *s);

/* For tests and metrics. */
struct lh_scheduler_stats {
    unsigned running;   /* runs whose job holds a worker slot */
    unsigned recording; /* runs whose job returned, waiting to be recorded */
    unsigned queued;    /* due but waiting for a free worker slot */
    uint64_t started, finished;
    int64_t next_wake_us; /* the deadline the timer thread sleeps to; INT64_MAX none */
    bool sleeping;
};
void lh_scheduler_stats(struct lh_scheduler *s, struct lh_scheduler_stats *st);
/* Blocks until the timer thread sleeps with nothing pending, nothing waits
 * to be recorded and exactly `running` jobs are in flight (test
 * synchronisation; no time passes). */
void lh_scheduler_quiesce(struct lh_scheduler *s, unsigned running);
/* The active run of a schedule, if any. */
bool lh_scheduler_active_run(struct lh_scheduler *s, const char *id, char run_id[LH_RUN_ID_MAX]);
/* A user's cancel of schedule id's active run (docs/runs.md). run_id:
 * only that run (NULL: whichever is active); the run's id is copied to
 * out_run_id (may be NULL). A running job's cancel hook is called (not
 * under the scheduler's lock; it returns once the hook ran) and the run is
 * recorded as cancelled, unless the job succeeded anyway (the cancel came
 * after the publish); a run-now still waiting for a worker is recorded as
 * cancelled without its job being called. Neither counts as a failure.
 * LH_E_NOTFOUND: no such schedule or no active run (or not that one);
 * LH_E_STATE: its job already returned (the run is being recorded) or the
 * scheduler is stopping. Repeating a cancel is LH_OK. */
enum lh_status lh_scheduler_cancel(struct lh_scheduler *s, const char *id, const char *run_id,
                                   char out_run_id[LH_RUN_ID_MAX],
                                   struct lh_error *err) LH_NODISCARD;

#endif
