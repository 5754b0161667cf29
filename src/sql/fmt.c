/*
 * fmt.c — how result values look as text (docs/sql.md "Values"): exact
 * dates, times and timestamps the way DuckDB
 * casts them to VARCHAR, canonical UUIDs and shortest doubles (exact
 * decimals, 128-bit integers and JSON strings: core's text.c). Pure functions into caller buffers; no allocation, no locale.
 */
#include "sql_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t clip(int n, size_t cap)
{
    if (n < 0 || cap == 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t lh_sql_fmt_double(double d, char *out, size_t cap)
{
    if (!isfinite(d))
        return clip(snprintf(out, cap, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"),
                    cap);
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(out, cap, "%.*g", p, d);
        if (n > 0 && (size_t)n < cap && strtod(out, NULL) == d)
            break;
    }
    return clip(n, cap);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int put_date(int64_t days, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    lh_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999)
        return snprintf(out, cap, "%04lld-%02u-%02u", (long long)y, m, d);
    return snprintf(out, cap, "%+05lld-%02u-%02u", (long long)y, m, d);
}

size_t lh_sql_fmt_date(int64_t days, char *out, size_t cap)
{
    return clip(put_date(days, out, cap), cap);
}

static int put_clock(int64_t us_of_day, char *out, size_t cap)
{
    int64_t s = us_of_day / 1000000, frac = us_of_day % 1000000;
    if (frac) {
        int digits = 6;
        while (frac % 10 == 0) /* DuckDB drops trailing zeros of the fraction */
            frac /= 10, digits--;
        return snprintf(out, cap, "%02d:%02d:%02d.%0*d", (int)(s / 3600), (int)(s / 60 % 60),
                        (int)(s % 60), digits, (int)frac);
    }
    return snprintf(out, cap, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}

size_t lh_sql_fmt_timestamp(int64_t us, bool utc, char *out, size_t cap)
{
    int64_t days = floor_div(us, 86400000000LL);
    int64_t rem = us - days * 86400000000LL;
    int n = put_date(days, out, cap);
    if (n < 0 || (size_t)n + 1 >= cap)
        return clip(n, cap);
    out[n++] = ' ';
    int k = put_clock(rem, out + n, cap - (size_t)n);
    if (k < 0)
        return clip(k, cap);
    n += k;
    if (utc && (size_t)n + 3 < cap) {
        memcpy(out + n, "+00", 4);
        n += 3;
    }
    return clip(n, cap);
}

size_t lh_sql_fmt_time(int64_t us, char *out, size_t cap)
{
    if (us < 0 || us > 86400000000LL)
        return clip(snprintf(out, cap, "%lld", (long long)us), cap);
    return clip(put_clock(us, out, cap), cap);
}

size_t lh_sql_fmt_uuid(const uint8_t *b, char *out, size_t cap)
{
    char t[37];
    lh_uuid_format(b, t);
    return clip(snprintf(out, cap, "%s", t), cap);
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 when invalid. */
