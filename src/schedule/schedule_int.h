/*
 * schedule_int.h — private to src/schedule: the zone representation shared
 * by tz.c (which builds it) and trigger.c (which only calls the lh_tz_*
 * functions but needs the offset bounds to size its search window).
 */
#ifndef LH_SCHEDULE_INT_H
#define LH_SCHEDULE_INT_H

#include "schedule.h"

/* POSIX TZ rule date: Jn (1..365, no Feb 29), n (0..365), or Mm.w.d. */
struct lh_tz_ruledate {
    uint8_t kind; /* 'J', 'N' or 'M' */
    uint16_t day; /* J/N */
    uint8_t month, week, wday;
    int32_t time; /* seconds after local midnight, -167h..167h */
};

/* The footer rule, used for instants after the last table transition. */
struct lh_tz_rule {
    bool present;
    bool has_dst;
    int32_t std_off, dst_off; /* local - utc */
    struct lh_tz_ruledate start, end;
};

struct lh_tz_type {
    int32_t off;
    uint8_t dst;
};

struct lh_tz {
    char name[LH_TZ_NAME_MAX + 1];
    uint32_t ntrans, ntypes;
    int64_t *trans; /* ascending; points into the same allocation */
    uint8_t *idx;   /* type of each transition */
    struct lh_tz_type types[256];
    struct lh_tz_rule rule;
    int32_t minoff, maxoff; /* over every type and the rule */
};

/* True when no transition falls within radius seconds of utc. */
bool lh_sched_tz_stable(const struct lh_tz *tz, int64_t utc, int64_t radius);

/* Days in month m (1..12) of year y. */
unsigned lh_sched_mdays(int64_t y, unsigned m);

/* Floor division of seconds into days, safe for negatives. */
static inline int64_t lh_sched_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* The store key of schedule id (sstore.c; the layout is this module's):
 * "_schedules/{id}.json" with every byte outside [A-Za-z0-9_-] replaced by
 * '_' (the reference layout; ids longer than 200 bytes are rejected).
 * Returns the length written, 0 when it does not fit or the id is empty or
 * too long. Its run history lives under "_runs/{the same sanitised id}/". */
size_t lh_sched_store_key(const char *id, char *out, size_t cap);

#endif
