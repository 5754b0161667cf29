/*
 * read_stat.c — statistics values as text (lh_parquet_format_stat; decimals
 * through core's lh_decimal_format).
 *
 * Input is a PLAIN-encoded value of the column's physical type straight
 * from the footer, so its length is checked before it is read; a value of
 * the wrong size formats as "?" rather than being trusted.
 */
#include "read_int.h"

#include <stdio.h>
#include <string.h>

static int time_unit(const struct lh_parquet_column_info *ci)
{
    if (strstr(ci->logical, "MILLIS"))
        return 1;
    if (strstr(ci->logical, "NANOS"))
        return 3;
    return 2;
}

static size_t put(char *out, size_t cap, int n)
{
    (void)out;
    if (n < 0 || cap == 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - ((a % b) < 0);
}

size_t lh_parquet_format_stat(const struct lh_field *f, const struct lh_parquet_column_info *ci,
                              const uint8_t *v, uint32_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    out[0] = '\0';
    int32_t i32 = 0;
    int64_t i64 = 0;
    switch (ci->physical) {
    case LH_PQ_BOOLEAN:
        if (len != 1)
            break;
        return put(out, cap, snprintf(out, cap, "%s", v[0] ? "true" : "false"));
    case LH_PQ_INT32:
        if (len != 4)
            break;
        memcpy(&i32, v, 4);
        switch (f->type) {
        case LH_T_UINT8: case LH_T_UINT16: case LH_T_UINT32:
            return put(out, cap, snprintf(out, cap, "%u", (uint32_t)i32));
        case LH_T_DATE: {
            int64_t y;
            unsigned m, d;
            lh_civil_from_days(i32, &y, &m, &d);
            return put(out, cap, snprintf(out, cap, "%04lld-%02u-%02u", (long long)y, m, d));
        }
        case LH_T_DECIMAL:
            return lh_decimal_format(i32, f->scale, out, cap);
        case LH_T_TIME:
            i64 = (int64_t)i32 * 1000;
            goto time;
        default:
            return put(out, cap, snprintf(out, cap, "%d", i32));
        }
        break;
    case LH_PQ_INT64:
        if (len != 8)
            break;
        memcpy(&i64, v, 8);
        switch (f->type) {
        case LH_T_UINT64:
            return put(out, cap, snprintf(out, cap, "%llu", (unsigned long long)i64));
        case LH_T_DECIMAL:
            return lh_decimal_format(i64, f->scale, out, cap);
        case LH_T_TIMESTAMP: {
            int u = time_unit(ci);
            if (u == 1 && __builtin_mul_overflow(i64, 1000, &i64))
                break;
            if (u == 3)
                i64 = floor_div(i64, 1000);
            if (i64 < INT64_MIN + 1000000)
                break;
            char buf[48];
            size_t n = lh_time_format_iso(i64, buf, sizeof buf);
            if (!f->ts_utc && n && buf[n - 1] == 'Z')
                buf[--n] = '\0';
            return put(out, cap, snprintf(out, cap, "%s", buf));
        }
        case LH_T_TIME: {
            int u = time_unit(ci);
            if (u == 3)
                i64 = floor_div(i64, 1000);
            goto time;
        }
        default:
            return put(out, cap, snprintf(out, cap, "%lld", (long long)i64));
        }
        break;
    case LH_PQ_INT96: {
        if (len != 12)
            break;
        int64_t nanos, us;
        int32_t jd;
        memcpy(&nanos, v, 8);
        memcpy(&jd, v + 8, 4);
        if (__builtin_mul_overflow((int64_t)jd - 2440588, (int64_t)86400000000, &us))
            break;
        if (__builtin_add_overflow(us, floor_div(nanos, 1000), &us) || us < INT64_MIN + 1000000)
            break;
        char buf[48];
        size_t n = lh_time_format_iso(us, buf, sizeof buf);
        if (n && buf[n - 1] == 'Z')
            buf[--n] = '\0';
        return put(out, cap, snprintf(out, cap, "%s", buf));
    }
    case LH_PQ_FLOAT: {
        if (len != 4)
            break;
        float x;
        memcpy(&x, v, 4);
        return put(out, cap, snprintf(out, cap, "%.9g", (double)x));
    }
    case LH_PQ_DOUBLE: {
        if (len != 8)
            break;
        double x;
        memcpy(&x, v, 8);
        return put(out, cap, snprintf(out, cap, "%.17g", x));
    }
    case LH_PQ_BYTE_ARRAY:
    case LH_PQ_FIXED_LEN_BYTE_ARRAY:
        if (f->type == LH_T_DECIMAL) {
            if (len == 0 || len > 16)
                break;
            unsigned __int128 u = (v[0] & 0x80) ? ~(unsigned __int128)0 : 0;
            for (uint32_t i = 0; i < len; i++)
                u = (u << 8) | v[i];
            return lh_decimal_format((lh_i128)u, f->scale, out, cap);
        }
        if (f->type == LH_T_UUID && len == 16) {
            char u[37];
            lh_uuid_format(v, u);
            return put(out, cap, snprintf(out, cap, "%s", u));
        }
        if (f->type == LH_T_STRING || f->type == LH_T_JSON || f->type == LH_T_ENUM) {
            size_t n = len < cap - 1 ? len : cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return n;
        }
        return lh_hex_encode(v, len, out, cap);
    }
    return put(out, cap, snprintf(out, cap, "?"));
time: {
    int64_t s = floor_div(i64, 1000000), us = i64 % 1000000;
    if (us < 0)
        us += 1000000;
    if (us)
        return put(out, cap, snprintf(out, cap, "%02lld:%02lld:%02lld.%06lld", (long long)(s / 3600),
                                      (long long)(s / 60 % 60), (long long)(s % 60), (long long)us));
    return put(out, cap, snprintf(out, cap, "%02lld:%02lld:%02lld", (long long)(s / 3600),
                                  (long long)(s / 60 % 60), (long long)(s % 60)));
}
}
