/*
 * schedule.h — the schedule module's one public header.
 *
 * What is here today: the trigger half of the scheduler.
 *   - IANA time zones read from TZif files (lh_tz_*): thread-safe, no
 *     setenv("TZ")/localtime; loaded zones are cached per path behind a mutex
 *     and live until the process exits (handles are borrowed, never freed).
 *   - Five-field cron expressions (lh_cron_*), parsed into bitsets, and the
 *     next fire instant in a zone with cronie's daylight-saving behaviour.
 *   - Interval and cron triggers (lh_trigger_next).
 * The scheduler thread, the schedule store and the worker pool come later.
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

#endif
