/*
 * trigger.c — when a schedule fires next (the reference's
 * compute_next_run_at, with the fixed anchor and cron filled in).
 *
 * Pure function; any thread. Times are seconds since the epoch.
 */
#include "schedule_int.h"

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
    int64_t m = a > b ? a : b;
    return m > c ? m : c;
}

enum lh_status lh_trigger_next(const struct lh_trigger *t, int64_t completed_at,
                               int64_t previous_target, int64_t now, int64_t *next,
                               struct lh_error *err)
{
    if (t->kind == LH_TRIGGER_CRON)
        return lh_cron_next(&t->cron, t->tz, max3(previous_target, completed_at, now), next, err);
    if (t->kind != LH_TRIGGER_INTERVAL)
        return lh_error_set(err, LH_E_INVAL, "unknown trigger kind %d", (int)t->kind);

    const int64_t secs = t->interval_secs;
    const int64_t lim = INT64_C(1) << 40; /* ~35,000 years: no overflow below */
    if (secs < 1 || secs > LH_INTERVAL_MAX_SECS)
        return lh_error_set(err, LH_E_INVAL, "interval %lld s out of range 1-%lld", (long long)secs,
                            (long long)LH_INTERVAL_MAX_SECS);
    if (completed_at > lim || completed_at < -lim || previous_target > lim ||
        previous_target < -lim || now > lim || now < -lim)
        return lh_error_set(err, LH_E_INVAL, "trigger time out of range");

    if (t->anchor == LH_ANCHOR_COMPLETION) {
        *next = completed_at + secs;
        return LH_OK;
    }
    if (t->anchor != LH_ANCHOR_FIXED)
        return lh_error_set(err, LH_E_INVAL, "unknown interval anchor %d", (int)t->anchor);
    /* The first tick on the previous target's grid that is still ahead:
     * ticks that passed while a run overran are skipped, not queued. */
    int64_t n = previous_target + secs;
    if (n <= now)
        n += (lh_sched_floor_div(now - n, secs) + 1) * secs;
    *next = n;
    return LH_OK;
}
