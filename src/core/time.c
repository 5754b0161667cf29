/*
 * time.c — clocks, civil-date arithmetic and ISO-8601 text.
 *
 * Date arithmetic uses Howard Hinnant's days-from-civil algorithm over
 * int64, so dates far outside time_t or the nanosecond range (before 1677,
 * after 2262) are exact. Nothing here touches the process time zone.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

int64_t lh_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lh_time_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void lh_cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

int lh_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns)
{
    if (deadline_ns == INT64_MAX)
        return pthread_cond_wait(cv, mu);
    if (deadline_ns < 0)
        deadline_ns = 0;
    struct timespec ts = {(time_t)(deadline_ns / 1000000000), (long)(deadline_ns % 1000000000)};
    return pthread_cond_timedwait(cv, mu, &ts);
}

void lh_thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop)
{
    pthread_mutex_lock(mu);
    *stop = true;
    pthread_cond_broadcast(cv);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
}

int64_t lh_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void lh_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

size_t lh_time_format_iso(int64_t us, char *out, size_t cap)
{
    /* Truncate then adjust: secs * 1000000 would overflow near INT64_MIN. */
    int64_t secs = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    lh_civil_from_days(days, &y, &m, &d);
    int n;
    if (frac)
        n = snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (long long)frac);
    else
        n = snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    return n < 0 ? 0 : (size_t)n;
}

static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

enum lh_status lh_time_parse_iso(const char *s, int64_t *us, struct lh_error *err)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    int64_t frac = 0;
    if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
        !take_digits(&p, 2, &d))
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
        goto bad;
    int64_t offset = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi))
            goto bad;
        if (*p == ':') {
            p++;
            if (!take_digits(&p, 2, &se))
                goto bad;
        }
        if (h > 23 || mi > 59 || se > 59)
            goto bad;
        if (*p == '.' || *p == ',') {
            p++;
            int nd = 0;
            int64_t scale = 100000;
            while (isdigit((unsigned char)*p)) {
                if (nd < 6)
                    frac += (*p - '0') * scale;
                scale /= 10;
                nd++;
                p++;
            }
            if (nd == 0 || nd > 9)
                goto bad;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            int oh, om = 0;
            p++;
            if (!take_digits(&p, 2, &oh))
                goto bad;
            if (*p == ':')
                p++;
            if (*p && !take_digits(&p, 2, &om))
                goto bad;
            if (oh > 23 || om > 59)
                goto bad;
            offset = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        goto bad;
    int64_t days = lh_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *us = ((days * 86400 + h * 3600 + mi * 60 + se) - offset) * 1000000 + frac;
    return LH_OK;
bad:
    return lh_error_set(err, LH_E_INVAL,
                        "invalid timestamp '%.64s' (expected ISO-8601 like 2026-04-16T20:36:04Z)",
                        s);
}
