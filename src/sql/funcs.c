/*
 * funcs.c — exact decimal helpers for SQL. DECIMAL columns read as exact
 * text ("12.50"); SQLite compares text as text and CAST(x AS REAL) rounds,
 * and Debian's libsqlite3 does not include the decimal extension, so:
 *
 *   dec_cmp(a, b)  -1, 0 or 1 comparing two decimals exactly (NULL if either is)
 *   dec_sum(x)     exact sum of decimals as text, at the largest scale seen;
 *                  an error once the sum needs more than 38 digits
 *
 * Arguments are decimal text ("-12.50", "7", "+0.1") or integers; up to 38
 * digits. Anything else is an error naming the value.
 */
#include "sql_int.h"

#include <string.h>

struct dec {
    lh_i128 v;
    int scale;
};

static bool dec_parse(sqlite3_value *x, struct dec *out)
{
    if (sqlite3_value_type(x) == SQLITE_INTEGER) {
        out->v = sqlite3_value_int64(x);
        out->scale = 0;
        return true;
    }
    if (sqlite3_value_type(x) != SQLITE_TEXT)
        return false;
    const char *s = (const char *)sqlite3_value_text(x);
    size_t n = (size_t)sqlite3_value_bytes(x), i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    /* up to 18 digits in 64 bits, the rest (to 38) in 128 */
    uint64_t lo = 0;
    unsigned __int128 u = 0;
    int digits = 0, scale = -1;
    for (; i < n; i++) {
        if (s[i] == '.' && scale < 0) {
            scale = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (++digits > 38)
            return false;
        if (digits <= 18)
            lo = lo * 10 + (unsigned)(s[i] - '0');
        else
            u = (digits == 19 ? (unsigned __int128)lo : u) * 10 + (unsigned)(s[i] - '0');
        if (scale >= 0)
            scale++;
    }
    if (digits == 0)
        return false;
    if (digits <= 18)
        u = lo;
    out->v = neg ? -(lh_i128)u : (lh_i128)u;
    out->scale = scale < 0 ? 0 : scale;
    return true;
}

/* Brings a to scale s (s >= a->scale); false on overflow. */
static bool dec_rescale(struct dec *a, int s)
{
    for (; a->scale < s; a->scale++)
        if (__builtin_mul_overflow(a->v, (lh_i128)10, &a->v))
            return false;
    return true;
}

static void bad_arg(sqlite3_context *ctx, const char *fn, sqlite3_value *x)
{
    char *m = sqlite3_mprintf("%s: not an exact decimal: '%.40s' (pass the column's text, "
                              "not a REAL)",
                              fn, sqlite3_value_text(x) ? (const char *)sqlite3_value_text(x) : "");
    sqlite3_result_error(ctx, m ? m : fn, -1);
    sqlite3_free(m);
}

static void fn_dec_cmp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    struct dec a, b;
    if (!dec_parse(argv[0], &a))
        return bad_arg(ctx, "dec_cmp", argv[0]);
    if (!dec_parse(argv[1], &b))
        return bad_arg(ctx, "dec_cmp", argv[1]);
    int s = a.scale > b.scale ? a.scale : b.scale;
    struct dec a2 = a, b2 = b;
    if (dec_rescale(&a2, s) && dec_rescale(&b2, s)) {
        sqlite3_result_int(ctx, a2.v < b2.v ? -1 : a2.v > b2.v);
        return;
    }
    /* one side overflowed at the common scale: it is the larger in magnitude */
    sqlite3_result_int(ctx, !dec_rescale(&a, s) ? (a.v < 0 ? -1 : 1) : (b.v < 0 ? 1 : -1));
}

/* SQLite's aggregate context is only 8-byte aligned: the 128-bit sum is
 * kept as bytes and copied in and out. */
struct sum_state {
    uint8_t acc[sizeof(lh_i128)];
    int scale;
    bool any, overflow;
};

static void fn_dec_sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sum_state *st = sqlite3_aggregate_context(ctx, sizeof *st);
    if (!st)
        return sqlite3_result_error_nomem(ctx);
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || st->overflow)
        return;
    struct dec x;
    if (!dec_parse(argv[0], &x))
        return bad_arg(ctx, "dec_sum", argv[0]);
    struct dec acc;
    memcpy(&acc.v, st->acc, sizeof acc.v);
    acc.scale = st->scale;
    int s = x.scale > acc.scale ? x.scale : acc.scale;
    const lh_i128 e38 = (lh_i128)10000000000000000000ull * (lh_i128)10000000000000000000ull;
    if (!dec_rescale(&x, s) || !dec_rescale(&acc, s) || __builtin_add_overflow(acc.v, x.v, &acc.v) ||
        acc.v >= e38 || acc.v <= -e38) {
        st->overflow = true;
        return;
    }
    memcpy(st->acc, &acc.v, sizeof acc.v);
    st->scale = acc.scale;
    st->any = true;
}

static void fn_dec_sum_final(sqlite3_context *ctx)
{
    struct sum_state *st = sqlite3_aggregate_context(ctx, 0);
    if (st && st->overflow) {
        sqlite3_result_error(ctx, "dec_sum: overflow past 38 digits", -1);
        return;
    }
    if (!st || !st->any)
        return;
    char buf[64];
    lh_i128 v;
    memcpy(&v, st->acc, sizeof v);
    size_t n = lh_sql_fmt_decimal(v, st->scale, buf, sizeof buf);
    sqlite3_result_text(ctx, buf, (int)n, SQLITE_TRANSIENT);
}

int lh_sql_funcs_register(sqlite3 *db)
{
    int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(db, "dec_cmp", 2, fl, NULL, fn_dec_cmp, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "dec_sum", 1, fl, NULL, NULL, fn_dec_sum_step,
                                     fn_dec_sum_final);
    return rc;
}
