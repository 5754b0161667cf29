/*
 * cron.c — five-field cron expressions and their next fire instant.
 *
 * Parsing follows cronie (Vixie cron as Debian ships it): numbers, names
 * (jan..dec, sun..sat), ranges, steps ("*" "/15", "10-50/5", and "5/10"
 * meaning 5-max/10), lists, day-of-week 0..7 with 7 = Sunday, @-macros.
 * A field that starts with '*' sets a *_STAR flag; cronie uses those flags
 * for two rules we copy: day-of-month and day-of-week are OR'ed only when
 * neither is starred (otherwise AND'ed), and a job whose minute or hour is
 * starred is a "wildcard job" for daylight-saving purposes.
 *
 * lh_cron_next walks matching *local* wall-clock minutes forward, jumping
 * over months, days and hours that cannot match, and maps each to UTC:
 *   one instant  -> a fire;
 *   a fold (two) -> wildcard jobs fire at both, fixed-time jobs at the first;
 *   a gap (none) -> fixed-time jobs fire at the instant the gap ends,
 *                   wildcard jobs not at all.
 * Around a fold, local order and UTC order differ, so the walk keeps the
 * smallest instant found and stops once no later wall time could beat it.
 *
 * Pure functions; any thread.
 */
#include "schedule_int.h"

#include <string.h>

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* 3-letter names for lo.. */
    int nnames;
    int name_base;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL, 0, 0},          {"hour", 0, 23, NULL, 0, 0},
    {"day-of-month", 1, 31, NULL, 0, 0},    {"month", 1, 12, month_names, 12, 1},
    {"day-of-week", 0, 7, dow_names, 7, 0},
};

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static enum lh_status bad_char(struct lh_error *err, const struct field *f, char c, const char *tok,
                               size_t n)
{
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        return lh_error_set(err, LH_E_INVAL, "cron: %s: unexpected byte 0x%02x in '%.*s'", f->name,
                            (unsigned char)c, (int)n, tok);
    return lh_error_set(err, LH_E_INVAL, "cron: %s: unexpected '%c' in '%.*s'", f->name, c, (int)n,
                        tok);
}

/* A number or (where allowed) a name at s[*i]; range-checked. */
static enum lh_status parse_value(const struct field *f, const char *s, size_t n, size_t *i,
                                  int *out, struct lh_error *err)
{
    size_t b = *i;
    if (*i < n && is_digit(s[*i])) {
        long v = 0;
        while (*i < n && is_digit(s[*i])) {
            if (v < 100000)
                v = v * 10 + (s[*i] - '0');
            (*i)++;
        }
        if (v < f->lo || v > f->hi)
            return lh_error_set(err, LH_E_INVAL, "cron: %s: %.*s out of range %d-%d", f->name,
                                (int)(*i - b), s + b, f->lo, f->hi);
        *out = (int)v;
        return LH_OK;
    }
    if (*i < n && is_alpha(s[*i]) && f->names) {
        while (*i < n && is_alpha(s[*i]))
            (*i)++;
        if (*i - b == 3) {
            for (int k = 0; k < f->nnames; k++) {
                const char *nm = f->names[k];
                if (lower(s[b]) == nm[0] && lower(s[b + 1]) == nm[1] && lower(s[b + 2]) == nm[2]) {
                    *out = f->name_base + k;
                    return LH_OK;
                }
            }
        }
        return lh_error_set(err, LH_E_INVAL, "cron: %s: unknown name '%.*s'", f->name,
                            (int)(*i - b), s + b);
    }
    if (*i >= n)
        return lh_error_set(err, LH_E_INVAL, "cron: %s: missing value in '%.*s'", f->name, (int)n,
                            s);
    return bad_char(err, f, s[*i], s, n);
}

/* One list element: "*", "*" "/s", "a", "a-b", "a-b/s", "a/s". */
static enum lh_status parse_elem(const struct field *f, const char *s, size_t n, uint64_t *bits,
                                 struct lh_error *err)
{
    size_t i = 0;
    int a, b, step = 1;
    enum lh_status st;
    if (n == 0)
        return lh_error_set(err, LH_E_INVAL, "cron: %s: empty list element", f->name);
    if (s[0] == '*') {
        a = f->lo;
        b = f->hi;
        i = 1;
    } else {
        if ((st = parse_value(f, s, n, &i, &a, err)) != LH_OK)
            return st;
        b = a;
        if (i < n && s[i] == '-') {
            i++;
            if ((st = parse_value(f, s, n, &i, &b, err)) != LH_OK)
                return st;
            if (b < a)
                return lh_error_set(err, LH_E_INVAL, "cron: %s: range %.*s is backwards", f->name,
                                    (int)n, s);
        } else if (i < n && s[i] == '/') {
            b = f->hi; /* "5/10" = 5-max/10, as cronie */
        }
    }
    if (i < n && s[i] == '/') {
        size_t sb = ++i;
        long v = 0;
        while (i < n && is_digit(s[i])) {
            if (v < 100000)
                v = v * 10 + (s[i] - '0');
            i++;
        }
        if (i == sb)
            return lh_error_set(err, LH_E_INVAL, "cron: %s: missing step in '%.*s'", f->name,
                                (int)n, s);
        if (v < 1 || v > f->hi - f->lo + 1)
            return lh_error_set(err, LH_E_INVAL, "cron: %s: step %.*s out of range 1-%d", f->name,
                                (int)(i - sb), s + sb, f->hi - f->lo + 1);
        step = (int)v;
    }
    if (i < n)
        return bad_char(err, f, s[i], s, n);
    for (int v = a; v <= b; v += step)
        *bits |= UINT64_C(1) << v;
    return LH_OK;
}

static enum lh_status parse_field(const struct field *f, const char *s, size_t n, uint64_t *bits,
                                  struct lh_error *err)
{
    size_t start = 0;
    *bits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            enum lh_status st = parse_elem(f, s + start, i - start, bits, err);
            if (st != LH_OK)
                return st;
            start = i + 1;
        }
    }
    return LH_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static const struct {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

enum lh_status lh_cron_parse(struct lh_cron *c, const char *expr, struct lh_error *err)
{
    memset(c, 0, sizeof *c);
    if (!expr)
        return lh_error_set(err, LH_E_INVAL, "cron: empty expression");
    size_t n = strnlen(expr, LH_CRON_EXPR_MAX + 1);
    if (n > LH_CRON_EXPR_MAX)
        return lh_error_set(err, LH_E_INVAL, "cron: expression longer than %d bytes",
                            LH_CRON_EXPR_MAX);
    size_t b = 0, e = n;
    while (b < e && is_space(expr[b]))
        b++;
    while (e > b && is_space(expr[e - 1]))
        e--;
    if (b == e)
        return lh_error_set(err, LH_E_INVAL, "cron: empty expression");
    if (expr[b] == '@') {
        for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++) {
            size_t ml = strlen(macros[k].name);
            if (ml != e - b)
                continue;
            bool eq = true;
            for (size_t j = 0; j < ml && eq; j++)
                eq = lower(expr[b + j]) == macros[k].name[j];
            if (eq)
                return lh_cron_parse(c, macros[k].expr, err);
        }
        return lh_error_set(err, LH_E_INVAL, "cron: unknown macro '%.*s'", (int)(e - b), expr + b);
    }
    const char *tok[5];
    size_t len[5];
    int nf = 0;
    for (size_t i = b; i < e;) {
        size_t s = i;
        while (i < e && !is_space(expr[i]))
            i++;
        if (nf < 5) {
            tok[nf] = expr + s;
            len[nf] = i - s;
        }
        nf++;
        while (i < e && is_space(expr[i]))
            i++;
    }
    if (nf != 5)
        return lh_error_set(err, LH_E_INVAL,
                            "cron: expected 5 fields (minute hour day-of-month month "
                            "day-of-week), found %d",
                            nf);
    uint64_t bits[5];
    for (int k = 0; k < 5; k++) {
        enum lh_status st = parse_field(&fields[k], tok[k], len[k], &bits[k], err);
        if (st != LH_OK)
            return st;
    }
    if (bits[4] & (1u << 7))
        bits[4] = (bits[4] | 1u) & ~(UINT64_C(1) << 7);
    c->minutes = bits[0];
    c->hours = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->months = (uint16_t)bits[3];
    c->dow = (uint8_t)bits[4];
    c->flags = (uint8_t)((tok[0][0] == '*' ? LH_CRON_MIN_STAR : 0) |
                         (tok[1][0] == '*' ? LH_CRON_HR_STAR : 0) |
                         (tok[2][0] == '*' ? LH_CRON_DOM_STAR : 0) |
                         (tok[4][0] == '*' ? LH_CRON_DOW_STAR : 0));
    /* With a starred day field the two are AND'ed, so the day of month has to
     * exist in some selected month (Feb counts 29: it exists in leap years). */
    if (c->flags & (LH_CRON_DOM_STAR | LH_CRON_DOW_STAR)) {
        bool possible = false;
        for (unsigned m = 1; m <= 12 && !possible; m++) {
            if (!(c->months & (1u << m)))
                continue;
            for (unsigned d = 1; d <= lh_sched_mdays(2000, m) && !possible; d++)
                possible = (c->dom >> d) & 1u;
        }
        if (!possible)
            return lh_error_set(err, LH_E_INVAL,
                                "cron: day-of-month: '%.*s' never occurs in month '%.*s'",
                                (int)len[2], tok[2], (int)len[3], tok[3]);
    }
    return LH_OK;
}

/* ------------------------------------------------------------------ next */

/* Lowest set bit at or above pos, or -1. */
static int next_bit(uint64_t bits, int pos)
{
    if (pos >= 64)
        return -1;
    uint64_t m = bits & ~((UINT64_C(1) << pos) - 1);
    return m ? __builtin_ctzll(m) : -1;
}

static bool day_matches(const struct lh_cron *c, int64_t days, unsigned d)
{
    int wd = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    bool dom = (c->dom >> d) & 1u, dow = (c->dow >> wd) & 1u;
    if (c->flags & (LH_CRON_DOM_STAR | LH_CRON_DOW_STAR))
        return dom && dow;
    return dom || dow;
}

/* Keeps instants usable in calendar math with years of headroom. */
#define CRON_TIME_LIMIT (INT64_C(1) << 40)

enum lh_status lh_cron_next(const struct lh_cron *c, const struct lh_tz *tz, int64_t after_utc,
                            int64_t *next_utc, struct lh_error *err)
{
    if (!tz)
        tz = lh_tz_utc();
    if (after_utc > CRON_TIME_LIMIT || after_utc < -CRON_TIME_LIMIT)
        return lh_error_set(err, LH_E_INVAL, "cron: time %lld out of range", (long long)after_utc);
    const bool wild = lh_cron_is_wildcard(c);
    const int64_t spread = (int64_t)tz->maxoff - tz->minoff + 1;
    int64_t best = INT64_MAX;
    /* No wall time earlier than after + minoff can map past `after`. */
    int64_t L = lh_sched_floor_div(after_utc + tz->minoff, 60) * 60;
    const int64_t limit = after_utc + tz->maxoff + (int64_t)LH_CRON_SEARCH_YEARS * 366 * 86400;

    while (L <= limit) {
        if (best != INT64_MAX && L - tz->maxoff >= best)
            break;
        int64_t days = lh_sched_floor_div(L, 86400);
        int64_t sod = L - days * 86400;
        int64_t y;
        unsigned m, d;
        lh_civil_from_days(days, &y, &m, &d);
        if (!((c->months >> m) & 1u)) {
            L = (days - d + 1 + lh_sched_mdays(y, m)) * 86400;
            continue;
        }
        if (!day_matches(c, days, d)) {
            L = (days + 1) * 86400;
            continue;
        }
        int h = (int)(sod / 3600), mi = (int)(sod % 3600 / 60);
        int nh = next_bit(c->hours, h);
        if (nh < 0) {
            L = (days + 1) * 86400;
            continue;
        }
        if (nh > h) {
            L = days * 86400 + nh * 3600;
            continue;
        }
        int nm = next_bit(c->minutes, mi);
        if (nm < 0) {
            L = days * 86400 + (h + 1) * 3600;
            continue;
        }
        if (nm > mi) {
            L = days * 86400 + h * 3600 + nm * 60;
            continue;
        }
        int64_t u[2];
        int k = lh_tz_local_to_utc(tz, L, u);
        int64_t cand[2];
        int nc = 0;
        if (k == 0 && !wild)
            cand[nc++] = u[0];
        else if (k >= 1) {
            cand[nc++] = u[0];
            if (k == 2 && wild)
                cand[nc++] = u[1];
        }
        for (int i = 0; i < nc; i++) {
            if (cand[i] > after_utc && cand[i] < best) {
                best = cand[i];
                /* Away from any transition, wall time and UTC move together:
                 * nothing later in the walk can come earlier. */
                if (lh_sched_tz_stable(tz, best, spread + 1))
                    goto done;
            }
        }
        L += 60;
    }
    if (best == INT64_MAX)
        return lh_error_set(err, LH_E_NOTFOUND, "cron: no fire time within %d years",
                            LH_CRON_SEARCH_YEARS);
done:
    *next_utc = best;
    return LH_OK;
}
