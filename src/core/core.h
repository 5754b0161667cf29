/*
 * core.h — the bottom tier every module builds on. libc only.
 *
 * Status codes and error messages, a bounded growable byte buffer, an arena
 * for per-lifetime allocations, levelled logging, clocks and time formatting,
 * and atomic file replacement (temp + fsync + rename + directory fsync).
 *
 * Thread safety: everything here is reentrant; the logger serialises its
 * writes with one mutex. Objects (buffers, arenas, atomic files) belong to
 * one thread at a time.
 */
#ifndef LH_CORE_H
#define LH_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LH_VERSION "0.1.0"

#include "batch.h"

#if defined(__GNUC__)
#define LH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LH_NODISCARD __attribute__((warn_unused_result))
#else
#define LH_PRINTF(f, a)
#define LH_NODISCARD
#endif

/* In a function that ends in (const char *fmt, ...): formats its arguments
 * into the char array buf, cut to fit. One place for the va_list dance of
 * every printf-like function that formats into a fixed buffer first. */
#define LH_VFORMAT(buf, fmt)                                                                       \
    do {                                                                                           \
        va_list lh_ap_;                                                                            \
        va_start(lh_ap_, fmt);                                                                     \
        vsnprintf(buf, sizeof(buf), fmt, lh_ap_);                                                  \
        va_end(lh_ap_);                                                                            \
    } while (0)

/* ------------------------------------------------------------------ status */

/* X(name, text). One table; the enum and lh_status_str() both come from it. */
#define LH_STATUS_MAP(X)                                                                           \
    X(LH_OK, "ok")                                                                                 \
    X(LH_E_INVAL, "invalid argument")                                                              \
    X(LH_E_NOMEM, "out of memory")                                                                 \
    X(LH_E_TOOBIG, "size limit exceeded")                                                          \
    X(LH_E_IO, "I/O error")                                                                        \
    X(LH_E_NOSPC, "no space left on device")                                                       \
    X(LH_E_NOTFOUND, "not found")                                                                  \
    X(LH_E_EXISTS, "already exists")                                                               \
    X(LH_E_CONFLICT, "conflict")                                                                   \
    X(LH_E_FORMAT, "malformed data")                                                               \
    X(LH_E_UNSUPPORTED, "unsupported")                                                             \
    X(LH_E_TIMEOUT, "timed out")                                                                   \
    X(LH_E_CANCELLED, "cancelled")                                                                 \
    X(LH_E_CONNECT, "connection failed")                                                           \
    X(LH_E_AUTH, "authentication failed")                                                          \
    X(LH_E_PERM, "permission denied")                                                              \
    X(LH_E_SOURCE, "source database error")                                                        \
    X(LH_E_STATE, "invalid state")                                                                 \
    X(LH_E_INTERNAL, "internal error")

enum lh_status {
#define LH_X_ENUM(name, text) name,
    LH_STATUS_MAP(LH_X_ENUM)
#undef LH_X_ENUM
        LH_STATUS_COUNT_
};

/* Static text for a status; never NULL. */
const char *lh_status_str(enum lh_status s);

/* A status with the human message that goes with it. Caller storage. */
struct lh_error {
    enum lh_status status;
    char msg[512];
};

void lh_error_clear(struct lh_error *err);
/* Sets status and a formatted message; returns status so callers can
 * `return lh_error_set(err, LH_E_INVAL, "...")`. err may be NULL. */
enum lh_status lh_error_set(struct lh_error *err, enum lh_status s, const char *fmt, ...)
    LH_PRINTF(3, 4);
/* Prefixes the existing message with "prefix: ". */
void lh_error_prefix(struct lh_error *err, const char *fmt, ...) LH_PRINTF(2, 3);
/* lh_error_prefix, returning s: `return lh_error_wrap(err, s, "reading %s", key)`. */
enum lh_status lh_error_wrap(struct lh_error *err, enum lh_status s, const char *fmt, ...)
    LH_PRINTF(3, 4);
/* Maps an errno value to a status (ENOSPC -> LH_E_NOSPC, ENOENT -> NOTFOUND...). */
enum lh_status lh_status_from_errno(int e);
/* Sets err from errno with "what: strerror" and returns the status. */
enum lh_status lh_error_errno(struct lh_error *err, int e, const char *fmt, ...) LH_PRINTF(3, 4);

/* ------------------------------------------------------------------ buffer */

/* A growable byte buffer with a hard cap. After any failed growth it is
 * "broken": every later append is a no-op and lh_buf_ok() reports false, so
 * serializers check once at the end (the libpq PQExpBuffer pattern). */
struct lh_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; 0 means SIZE_MAX */
    bool broken;
};

/* Lifetime verbs (STYLE.md), the same for every object in caller storage:
 * init sets it up; reset releases all it holds and leaves it as init did
 * (usable again); clear empties it but keeps its memory for reuse;
 * take hands its memory to the caller. create/destroy are for objects the
 * library allocates. */
void lh_buf_init(struct lh_buf *b, size_t max);
void lh_buf_reset(struct lh_buf *b); /* frees the memory; empty, max kept */
void lh_buf_clear(struct lh_buf *b); /* len = 0, keeps memory, clears broken */
bool lh_buf_reserve(struct lh_buf *b, size_t extra);
void lh_buf_append(struct lh_buf *b, const void *p, size_t n);
void lh_buf_append_u8(struct lh_buf *b, uint8_t v);
void lh_buf_append_str(struct lh_buf *b, const char *s);
/* Appends p[0..n) as 2 * n lowercase hex digits. */
void lh_buf_append_hex(struct lh_buf *b, const void *p, size_t n);
/* Appends v as a ULEB128 varint, 7 bits a byte, low first (Thrift compact
 * and Avro both write integers so, after lh_zigzag for signed ones). */
void lh_buf_append_varint(struct lh_buf *b, uint64_t v);
static inline uint64_t lh_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
void lh_buf_printf(struct lh_buf *b, const char *fmt, ...) LH_PRINTF(2, 3);
/* Appends s[0..n) as a JSON string, quotes included: '"', '\\' and control
 * bytes escaped, valid UTF-8 as it is, invalid bytes as U+FFFD. */
void lh_buf_json_str(struct lh_buf *b, const char *s, size_t n);
/* Appends s[0..n) as a CSV field (RFC 4180): in double quotes, inner ones
 * doubled, when it holds ',', '"', CR or LF, or when quote is set. */
void lh_buf_csv_str(struct lh_buf *b, const void *s, size_t n, bool quote);
/* NUL-terminates without counting the NUL in len. */
void lh_buf_cstr(struct lh_buf *b);
/* Hands the memory to the caller (caller frees with free()); b becomes empty. */
uint8_t *lh_buf_take(struct lh_buf *b, size_t *len);
static inline bool lh_buf_ok(const struct lh_buf *b)
{
    return !b->broken;
}

/* ------------------------------------------------------------------ arrays */

/* Room for one more in an array of elem-sized items that holds n of *cap:
 * v itself when there is room, else v reallocated to twice *cap (first
 * when *cap is 0) and *cap updated. NULL when out of memory (or the size
 * overflows): v and *cap are untouched and v still valid. */
void *lh_array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* ------------------------------------------------------------------ arena */

/* Bump allocator for one lifetime (a footer parse, a row group, a request);
 * freed whole. Allocations are 16-byte aligned. A cap bounds total use. */
struct lh_arena_block;
struct lh_arena {
    struct lh_arena_block *head;
    size_t used;  /* bytes handed out */
    size_t max;   /* cap on used; 0 means no cap */
    size_t chunk; /* default block size */
};

void lh_arena_init(struct lh_arena *a, size_t max);
void lh_arena_reset(struct lh_arena *a); /* frees every block; usable again, cap kept */
/* NULL when the cap would be passed or memory runs out. Zeroed memory. */
void *lh_arena_alloc(struct lh_arena *a, size_t n);
char *lh_arena_strndup(struct lh_arena *a, const char *s, size_t n);

/* ------------------------------------------------------------------ logging */

enum lh_log_level { LH_LOG_DEBUG, LH_LOG_INFO, LH_LOG_WARN, LH_LOG_ERROR };

void lh_log_set_level(enum lh_log_level lvl);
void lh_log_set_json(bool json);
void lh_log_set_stream(FILE *f); /* default stderr */
bool lh_log_enabled(enum lh_log_level lvl);
/* "debug", "info", "warn" or "error", as log lines name the level. */
const char *lh_log_level_name(enum lh_log_level lvl);
void lh_log(enum lh_log_level lvl, const char *fmt, ...) LH_PRINTF(2, 3);
#define lh_debug(...) lh_log(LH_LOG_DEBUG, __VA_ARGS__)
#define lh_info(...) lh_log(LH_LOG_INFO, __VA_ARGS__)
#define lh_warn(...) lh_log(LH_LOG_WARN, __VA_ARGS__)
#define lh_logerr(...) lh_log(LH_LOG_ERROR, __VA_ARGS__)

/* ------------------------------------------------------------------ time */

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
int64_t lh_time_mono_ns(void);
/* Wall clock in microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t lh_time_wall_us(void);

/* Initializes cv so that its timed waits run on CLOCK_MONOTONIC, the clock of
 * lh_time_mono_ns (a wall-clock step neither shortens nor stretches a wait). */
void lh_cond_init_mono(pthread_cond_t *cv);
/* Waits on cv (made by lh_cond_init_mono; mu held) until the monotonic
 * instant deadline_ns, INT64_MAX for no deadline. Returns ETIMEDOUT once the
 * deadline has passed, else 0; spurious returns happen, callers loop. */
int lh_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns);
/* Ends a worker thread t that waits on cv under mu until *stop: sets *stop
 * under mu, wakes every waiter on cv and joins t. */
void lh_thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back.
 * Valid over the whole int32 range of days. */
int64_t lh_days_from_civil(int64_t y, unsigned m, unsigned d);
void lh_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Formats microseconds since the epoch as ISO-8601 UTC
 * ("2026-04-16T20:36:04Z", with ".ffffff" only when micros are non-zero).
 * Returns the length written (buffer of 40 bytes is always enough). */
size_t lh_time_format_iso(int64_t us, char *out, size_t cap);
/* Parses ISO-8601 "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)" or a date alone.
 * A missing offset means UTC. */
enum lh_status lh_time_parse_iso(const char *s, int64_t *us, struct lh_error *err);

/* ------------------------------------------------------------------ files */

/* Write-as-you-go file that appears at its final path only on commit:
 * data goes to "<path>.tmp-XXXXXX" in the same directory; commit fsyncs it,
 * renames it over path and fsyncs the directory; abort unlinks it. */
struct lh_atomic_file {
    int fd;
    char *path;
    char *tmp_path;
    uint64_t written;
};

enum lh_status lh_atomic_file_open(struct lh_atomic_file *f, const char *path,
                                   struct lh_error *err) LH_NODISCARD;
enum lh_status lh_atomic_file_write(struct lh_atomic_file *f, const void *p, size_t n,
                                    struct lh_error *err) LH_NODISCARD;
enum lh_status lh_atomic_file_commit(struct lh_atomic_file *f, struct lh_error *err) LH_NODISCARD;
void lh_atomic_file_abort(struct lh_atomic_file *f); /* safe after commit or on a closed file */

/* Whole-buffer convenience: replace path atomically with [p, p+n). */
enum lh_status lh_file_write_atomic(const char *path, const void *p, size_t n,
                                    struct lh_error *err) LH_NODISCARD;
/* Reads a whole file up to max bytes (LH_E_TOOBIG past it). Caller frees *out.
 * The buffer is NUL-terminated (not counted in *len). */
enum lh_status lh_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len,
                                struct lh_error *err) LH_NODISCARD;
/* mkdir -p with mode 0755. */
enum lh_status lh_mkdir_p(const char *path, struct lh_error *err) LH_NODISCARD;
/* fsync a directory by path. */
enum lh_status lh_fsync_dir(const char *dir, struct lh_error *err) LH_NODISCARD;

/* Test hook: when set, lh_atomic_file_write fails with ENOSPC once the file
 * would pass this many bytes (fault injection for disk-full tests). 0 = off.
 * Also settable with the LH_FAULT_ENOSPC_AFTER environment variable.
 * LH_FAULT_ENOSPC_WHILE=PATH: every write fails with ENOSPC while PATH
 * exists (a disk that fills and frees again under a running daemon). */
void lh_fault_set_enospc_after(uint64_t bytes);
/* Test hook: lh_fsync_dir fails with EIO for directories whose path
 * contains `substr` (NULL: off) — an error reported after a rename landed. */
void lh_fault_set_fsync_dir_fail(const char *substr);

/* ------------------------------------------------------------------ sha256 */

/* SHA-256 (FIPS 180-4). Caller storage; one-shot helper writes 64 hex
 * characters and a NUL. */
struct lh_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
};

void lh_sha256_init(struct lh_sha256 *c);
void lh_sha256_update(struct lh_sha256 *c, const void *p, size_t n);
void lh_sha256_final(struct lh_sha256 *c, uint8_t out[32]);
void lh_sha256_tohex(const uint8_t digest[32], char out[65]);
void lh_sha256_hex(const void *p, size_t n, char out[65]);
/* HMAC-SHA256 (RFC 2104; RFC 4231 test vectors) of msg with key (any
 * length; longer than 64 bytes is hashed first, as the RFC says). */
void lh_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32]);

/* ------------------------------------------------------------------ crc32 */

/* CRC-32 with zlib's polynomial and conventions (crc32.c): start with 0,
 * pass the previous result to continue; "123456789" gives 0xCBF43926. */
uint32_t lh_crc32(uint32_t crc, const void *p, size_t n);

/* ------------------------------------------------------------------ dsn */

/* The one parser of connection strings (redact.c). Two forms:
 *   URL        scheme://[user[:password]@]host[:port][,host[:port]...][/db][?k=v&...]
 *   key=value  libpq's "host=h port=5432 password='a b\\'c'" list
 * URLs follow libpq: the user info ends at the first '@' before the first
 * '/'. What libpq would split so that part of a password lands in a host,
 * port, database or parameter name is refused instead (more than one '@'
 * before the host, an '@' in the path, a port that is not a number, a bad
 * %-escape, a word without '='), with one line that says to percent-encode
 * the password (or quote it) and quotes none of the DSN's text. */
#define LH_DSN_MAX 4096

/* A view into the parsed text, raw (URL: still %-encoded; key=value: still
 * quoted). p == NULL: absent. */
struct lh_dsn_part {
    const char *p;
    size_t n;
};

enum lh_dsn_form { LH_DSN_URL, LH_DSN_KEYVALUE };

struct lh_dsn {
    const char *text; /* borrowed: the string given to lh_dsn_parse */
    enum lh_dsn_form form;
    struct lh_dsn_part scheme;   /* URL: what precedes "://" */
    struct lh_dsn_part user;     /* URL: user info before its first ':'; key=value: user */
    struct lh_dsn_part password; /* URL: user info after its first ':' (may be empty) */
    struct lh_dsn_part hosts;    /* URL: host[:port][,...] */
    struct lh_dsn_part db;       /* URL: the path after '/' */
    struct lh_dsn_part query;    /* URL: after '?' */
    unsigned nhosts;             /* URL: entries in hosts */
    unsigned port;               /* URL: the first host's port, 0 when none */
};

/* Parses dsn (borrowed; d points into it). err: one line naming no part of
 * dsn. */
enum lh_status lh_dsn_parse(const char *dsn, struct lh_dsn *d, struct lh_error *err);
/* The parameters in order: the URL query, or every key=value pair. Start
 * with *pos = 0; false after the last. */
bool lh_dsn_param_next(const struct lh_dsn *d, size_t *pos, struct lh_dsn_part *key,
                       struct lh_dsn_part *val);
/* The last value of parameter key (exact name), or {NULL, 0}. */
struct lh_dsn_part lh_dsn_param(const struct lh_dsn *d, const char *key);
/* The password libpq and our MySQL client would use: a password= parameter
 * wins over the URL's user info (libpq's order). {NULL, 0} when none. */
struct lh_dsn_part lh_dsn_password(const struct lh_dsn *d);
/* Writes part decoded (URL: %XX; key=value: quotes and backslashes) into
 * dst, NUL-terminated when cap > 0; returns the decoded length like
 * snprintf. */
size_t lh_dsn_decode(const struct lh_dsn *d, struct lh_dsn_part part, char *dst, size_t cap);
/* Whether part equals the NUL-terminated s byte for byte (raw). */
bool lh_dsn_part_is(struct lh_dsn_part part, const char *s);

/* ------------------------------------------------------------------ redact */

/* Writes dsn with every password replaced by "***" (URL userinfo, password-
 * like query parameters, libpq key=value strings, user:pass@tcp(...) forms)
 * into dst (always NUL-terminated when cap > 0). Returns the length of the
 * whole redacted text, like snprintf, so cap <= return value means it was
 * cut short. A DSN lh_dsn_parse refuses is cut the cautious way (the user
 * info runs to the last '@'): it redacts more, never less. Idempotent. */
size_t lh_redact_dsn(const char *dsn, char *dst, size_t cap);
/* Free text (a log line, an error message, a JSON string) redacted: a text
 * that is one DSN as lh_redact_dsn does; else word by word, a URL running to
 * the end of the text, a password-like key= losing its value (quoted: to the
 * closing quote; unquoted: all the rest of the text), user:pass@host losing
 * the pass. Idempotent. Returns the length like snprintf. */
size_t lh_redact_text(const char *s, char *dst, size_t cap);
/* Replaces every occurrence of secret in the NUL-terminated msg (capacity
 * cap) by "***", left to right, never looking into a mask it wrote, so it
 * always ends (a secret of asterisks included). When msg fills its buffer
 * (it may have been cut), a tail that starts the secret is masked too. */
void lh_redact_secret(char *msg, size_t cap, const char *secret);
/* Everything a message must lose before it is shown or stored, given the
 * full DSN it came from: every password of dsn (raw and decoded; for a DSN
 * lh_dsn_parse refuses, every piece of what could be one), then
 * lh_redact_text. dsn may be NULL. */
void lh_redact_scrub(char *msg, size_t cap, const char *dsn);
/* One log line of a job that holds a DSN: fmt formatted into line (a cut line
 * of 64 bytes or more ends "... (N bytes in all)"), control characters as
 * spaces, then lh_redact_secret with secret (may be NULL) and
 * lh_redact_scrub with dsn. */
void lh_redact_log_line(char *line, size_t cap, const char *secret, const char *dsn,
                        const char *fmt, va_list ap) LH_PRINTF(5, 0);

/* ------------------------------------------------------------------ misc */

/* The value of one hex digit, or -1. */
int lh_hex_digit(char c);
/* p[0..n) as lowercase hex digits and a NUL, as many whole bytes as fit
 * in cap (cap 0 writes nothing). Returns the digits written. */
size_t lh_hex_encode(const void *p, size_t n, char *out, size_t cap);
/* The 16 bytes b as a UUID's text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
void lh_uuid_format(const uint8_t b[16], char out[37]);
/* nbytes random bytes (getrandom; a clock-seeded fallback when it fails) as
 * 2 * nbytes lowercase hex digits and a NUL: out holds 2 * nbytes + 1. For
 * names that must not collide, not for secrets. */
void lh_random_hex(char *out, size_t nbytes);
/* A copy of s (caller frees), NULL for NULL; when out of memory NULL and
 * *oom set, so a run of copies checks once at the end. */
char *lh_strdup_opt(const char *s, bool *oom);
/* Exact text of the decimal v / 10^scale ("-12.50" for -1250, 2; "0.05" for
 * 5, 2); scale <= 0 prints the integer. u128: an unsigned 128-bit integer.
 * Return the length written, truncated to cap - 1 (cap 0 writes nothing). */
size_t lh_decimal_format(__int128 v, int scale, char *out, size_t cap);
size_t lh_u128_format(unsigned __int128 v, char *out, size_t cap);
/* Checked decimal parse of a whole string into int64 (no trailing junk). */
bool lh_parse_i64(const char *s, int64_t *out);
/* Parses sizes like "64MiB", "1M", "4096", "2GiB", "512k". */
bool lh_parse_size(const char *s, uint64_t *out);

/* Whether s[0..n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF; NUL bytes are valid). */
bool lh_utf8_valid(const void *s, size_t n);
/* Makes a NUL-terminated string valid UTF-8 in place: a multi-byte sequence
 * cut off at the end (snprintf into a fixed buffer) is dropped, and every
 * other invalid byte becomes '?'. Messages from servers and truncated
 * copies go through this before they are stored as JSON. Returns the new
 * length. */
size_t lh_utf8_sanitize(char *s);

#endif
