/*
 * pg_copy.c — decoding PostgreSQL's binary COPY stream into the column
 * builders, apart from libpq so that this parser of server bytes can be
 * tested and fuzzed on its own (tests/source/test_pg_copy.c).
 *
 * The stream is read message by message from a src_pg_next_fn. Tuples are
 * decoded in place from the current message, field by field, each column
 * through a decoder chosen once per stream (struct pg_dec); when a field
 * straddles messages (PostgreSQL sends one row per message today, the
 * protocol does not promise it) the tuple's decoding pauses at that field,
 * the rest is gathered in a carry buffer with the next message, and it goes
 * on from there (so no value is decoded, or warned about, twice). A batch
 * ends between tuples only. Every length on the wire is checked against
 * what is left before it is used; nothing from the wire is asserted on.
 */
#include "source_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define PG_EPOCH_DAYS 10957                        /* 2000-01-01 - 1970-01-01 */
#define PG_EPOCH_US ((int64_t)946684800 * 1000000) /* same in microseconds */

/* ------------------------------------------------------------ decoders */

static enum lh_status bad_wire(struct lh_source *s, size_t col, struct lh_error *err)
{
    return lh_error_set(err, LH_E_FORMAT, "postgres %s: malformed COPY data in column %s",
                        s->server, s->fields[col].name);
}

static enum lh_status heap_full(struct lh_source *s, size_t col, struct lh_error *err)
{
    return lh_error_set(err, LH_E_TOOBIG, "postgres %s: column %s: value too large for a batch",
                        s->server, s->fields[col].name);
}

static const lh_i128 POW10_4 = 10000;

/* 10^e, e <= 38 (the callers check the range). */
static const lh_i128 POW10[39] = {
    (lh_i128)1ULL,
    (lh_i128)10ULL,
    (lh_i128)100ULL,
    (lh_i128)1000ULL,
    (lh_i128)10000ULL,
    (lh_i128)100000ULL,
    (lh_i128)1000000ULL,
    (lh_i128)10000000ULL,
    (lh_i128)100000000ULL,
    (lh_i128)1000000000ULL,
    (lh_i128)10000000000ULL,
    (lh_i128)100000000000ULL,
    (lh_i128)1000000000000ULL,
    (lh_i128)10000000000000ULL,
    (lh_i128)100000000000000ULL,
    (lh_i128)1000000000000000ULL,
    (lh_i128)10000000000000000ULL,
    (lh_i128)100000000000000000ULL,
    (lh_i128)1000000000000000000ULL,
    (lh_i128)10000000000000000000ULL,
    (lh_i128)10000000000000000000ULL * 10ULL,
    (lh_i128)10000000000000000000ULL * 100ULL,
    (lh_i128)10000000000000000000ULL * 1000ULL,
    (lh_i128)10000000000000000000ULL * 10000ULL,
    (lh_i128)10000000000000000000ULL * 100000ULL,
    (lh_i128)10000000000000000000ULL * 1000000ULL,
    (lh_i128)10000000000000000000ULL * 10000000ULL,
    (lh_i128)10000000000000000000ULL * 100000000ULL,
    (lh_i128)10000000000000000000ULL * 1000000000ULL,
    (lh_i128)10000000000000000000ULL * 10000000000ULL,
    (lh_i128)10000000000000000000ULL * 100000000000ULL,
    (lh_i128)10000000000000000000ULL * 1000000000000ULL,
    (lh_i128)10000000000000000000ULL * 10000000000000ULL,
    (lh_i128)10000000000000000000ULL * 100000000000000ULL,
    (lh_i128)10000000000000000000ULL * 1000000000000000ULL,
    (lh_i128)10000000000000000000ULL * 10000000000000000ULL,
    (lh_i128)10000000000000000000ULL * 100000000000000000ULL,
    (lh_i128)10000000000000000000ULL * 1000000000000000000ULL,
    (lh_i128)10000000000000000000ULL * 10000000000000000000ULL,
};

static lh_i128 pow10_i128(unsigned e)
{
    return POW10[e];
}

/* Binary numeric -> DECIMAL(prec, scale) unscaled. false: not representable
 * (NaN, infinities, out of range) — the caller stores NULL and warns. */
static bool numeric_to_dec(const uint8_t *p, int32_t len, unsigned prec, unsigned scale,
                           lh_i128 *out, const char **why)
{
    *why = "malformed";
    if (len < 8)
        return false;
    int ndigits = (int16_t)src_be16(p);
    int weight = (int16_t)src_be16(p + 2);
    unsigned sign = src_be16(p + 4);
    if (ndigits < 0 || len != 8 + 2 * ndigits)
        return false;
    if (sign == 0xC000) {
        *why = "NaN";
        return false;
    }
    if (sign == 0xD000 || sign == 0xF000) {
        *why = sign == 0xD000 ? "Infinity" : "-Infinity";
        return false;
    }
    *why = "out of range";
    /* Horner over the base-10000 groups, each group's unit being
     * 10^(4*(weight-i)+scale) of the unscaled value; groups below the
     * scale must be zero (a typmod guarantees it). */
    lh_i128 acc = 0;
    long last_e = LONG_MIN;
    for (int i = 0; i < ndigits; i++) {
        unsigned d = src_be16(p + 8 + 2 * i);
        if (d > 9999) {
            *why = "malformed";
            return false;
        }
        long ei = 4L * (weight - i) + (long)scale;
        if (ei >= 0) {
            if (__builtin_mul_overflow(acc, POW10_4, &acc) ||
                __builtin_add_overflow(acc, (lh_i128)d, &acc))
                return false;
            last_e = ei;
        } else if (ei > -4) {
            unsigned k = (unsigned)-ei;
            unsigned div = k == 1 ? 10 : k == 2 ? 100 : 1000;
            if (d % div) {
                *why = "more fraction digits than the scale";
                return false;
            }
            if (__builtin_mul_overflow(acc, pow10_i128(4 - k), &acc) ||
                __builtin_add_overflow(acc, (lh_i128)(d / div), &acc))
                return false;
            last_e = 0;
        } else if (d != 0) {
            *why = "more fraction digits than the scale";
            return false;
        }
    }
    if (last_e == LONG_MIN)
        acc = 0;
    else if (last_e > 38 || __builtin_mul_overflow(acc, pow10_i128((unsigned)last_e), &acc))
        return false;
    if (acc >= pow10_i128(prec))
        return false;
    *out = sign == 0x4000 ? -acc : acc;
    return true;
}

/* "00".."99": a base-10000 digit group is two lookups and one division
 * by a constant (a multiply), not four divisions. */
static const char DIGIT_PAIRS[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* The four decimal digits of one group 0..9999 at o. */
static inline void put_group(uint8_t *o, unsigned g)
{
    unsigned hi = g / 100, lo = g - hi * 100;
    memcpy(o, DIGIT_PAIRS + 2 * hi, 2);
    memcpy(o + 2, DIGIT_PAIRS + 2 * lo, 2);
}

/* Binary numeric -> the exact text numeric_out prints: [-]int[.frac],
 * the integer part without leading zeros ("0" when below 1), exactly
 * dscale fraction digits (zero groups past the stored ones, and below the
 * first one for a negative weight). Only the groups printed are checked
 * (<= 9999). */
static enum lh_status numeric_to_text(struct lh_source *s, size_t col, struct src_col *c,
                                      const uint8_t *p, int32_t len, struct lh_error *err)
{
    if (len < 8)
        return bad_wire(s, col, err);
    int ndigits = (int16_t)src_be16(p);
    int weight = (int16_t)src_be16(p + 2);
    unsigned sign = src_be16(p + 4);
    int dscale = (int16_t)src_be16(p + 6);
    if (ndigits < 0 || len != 8 + 2 * ndigits || dscale < 0 || dscale > 16383 || weight < -2000 ||
        weight > 40000)
        return bad_wire(s, col, err);
    if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000) {
        src_warn(s, "column %s: numeric %s stored as NULL", s->fields[col].name,
                 sign == 0xC000   ? "NaN"
                 : sign == 0xD000 ? "Infinity"
                                  : "-Infinity");
        src_col_null(c);
        return LH_OK;
    }
    /* sign, 4 digits a group of the integer part, '.', dscale digits, and
     * 4 bytes of slack: a last fraction group is written whole */
    size_t need = 2 + 4 * (size_t)(weight > 0 ? weight + 1 : 1) + 1 + (size_t)dscale + 4;
    uint8_t *o = src_col_bytes_begin(c, need);
    if (!o)
        return heap_full(s, col, err);
    const uint8_t *dg = p + 8;
    size_t j = 0;
    if (sign == 0x4000)
        o[j++] = '-';
    if (weight < 0) {
        o[j++] = '0';
    } else {
        /* the first group without its leading zeros */
        unsigned g = ndigits > 0 ? src_be16(dg) : 0;
        if (g > 9999)
            return bad_wire(s, col, err);
        unsigned hi = g / 100, lo = g - hi * 100;
        if (hi >= 10) {
            memcpy(o + j, DIGIT_PAIRS + 2 * hi, 2);
            j += 2;
        } else if (hi) {
            o[j++] = (uint8_t)('0' + hi);
        }
        if (hi || lo >= 10) {
            memcpy(o + j, DIGIT_PAIRS + 2 * lo, 2);
            j += 2;
        } else {
            o[j++] = (uint8_t)('0' + lo);
        }
        int stored = ndigits < weight + 1 ? ndigits : weight + 1;
        for (int d = 1; d < stored; d++, j += 4) {
            g = src_be16(dg + 2 * d);
            if (g > 9999)
                return bad_wire(s, col, err);
            put_group(o + j, g);
        }
        if (stored < 1)
            stored = 1;
        if (stored <= weight) { /* the groups past the stored ones: trailing zeros */
            memset(o + j, '0', 4 * (size_t)(weight + 1 - stored));
            j += 4 * (size_t)(weight + 1 - stored);
        }
    }
    if (dscale > 0) {
        o[j++] = '.';
        size_t left = (size_t)dscale;
        int d = weight + 1;
        if (d < 0) { /* zero groups between the point and the first one */
            size_t z = 4 * (size_t)-d < left ? 4 * (size_t)-d : left;
            memset(o + j, '0', z);
            j += z;
            left -= z;
            d = 0;
        }
        for (; left > 0 && d < ndigits; d++) {
            unsigned g = src_be16(dg + 2 * d);
            if (g > 9999)
                return bad_wire(s, col, err);
            put_group(o + j, g); /* whole: the slack takes a partial one */
            size_t k = left < 4 ? left : 4;
            j += k;
            left -= k;
        }
        if (left) { /* past the stored groups */
            memset(o + j, '0', left);
            j += left;
        }
    }
    src_col_bytes_done(c, j);
    return LH_OK;
}

/* Appends ".ffffff" for frac microseconds (0 < frac < 1e6), trailing
 * zeros trimmed, at o + j; returns the new length. */
static size_t put_frac(char *o, size_t j, int64_t frac)
{
    char f[8];
    snprintf(f, sizeof f, "%06d", (int)frac);
    int n = 6;
    while (n > 0 && f[n - 1] == '0')
        n--;
    o[j++] = '.';
    memcpy(o + j, f, (size_t)n);
    return j + (size_t)n;
}

/* Appends "HH:MM:SS[.ffffff]" (trailing fraction zeros trimmed). */
static size_t fmt_clock(char *o, int64_t us)
{
    int64_t sec = us / 1000000, frac = us % 1000000;
    size_t j = (size_t)snprintf(o, 32, "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60),
                                (int)(sec % 60));
    return frac ? put_frac(o, j, frac) : j;
}

/* timetz -> "HH:MM:SS[.ffffff]+HH[:MM[:SS]]"; 12 bytes (dec_scalar checked). */
static enum lh_status timetz_to_text(struct lh_source *s, size_t col, struct src_col *c,
                                     const uint8_t *p, struct lh_error *err)
{
    int64_t us = (int64_t)src_be64(p);
    int32_t zone = (int32_t)src_be32(p + 8); /* seconds west of UTC */
    if (us < 0 || us > (int64_t)86400 * 1000000 || zone < -86400 || zone > 86400)
        return bad_wire(s, col, err);
    char o[64];
    size_t j = fmt_clock(o, us);
    int off = -zone;
    int a = off < 0 ? -off : off;
    int h = a / 3600, m = a / 60 % 60, sec = a % 60;
    if (sec)
        j += (size_t)snprintf(o + j, sizeof o - j, "%c%02d:%02d:%02d", off < 0 ? '-' : '+', h, m,
                              sec);
    else if (m)
        j += (size_t)snprintf(o + j, sizeof o - j, "%c%02d:%02d", off < 0 ? '-' : '+', h, m);
    else
        j += (size_t)snprintf(o + j, sizeof o - j, "%c%02d", off < 0 ? '-' : '+', h);
    if (!src_col_bytes(c, o, j))
        return heap_full(s, col, err);
    return LH_OK;
}

/* interval -> ISO 8601 as PostgreSQL prints it with intervalstyle iso_8601;
 * 16 bytes (dec_scalar checked). */
static enum lh_status interval_to_text(struct lh_source *s, size_t col, struct src_col *c,
                                       const uint8_t *p, struct lh_error *err)
{
    int64_t time = (int64_t)src_be64(p);
    int32_t days = (int32_t)src_be32(p + 8);
    int32_t months = (int32_t)src_be32(p + 12);
    int32_t year = months / 12, mon = months % 12;
    int64_t hour = time / ((int64_t)3600 * 1000000);
    time -= hour * 3600 * 1000000;
    int64_t min = time / (60 * 1000000);
    time -= min * 60 * 1000000;
    int64_t sec = time / 1000000, fsec = time % 1000000;
    char o[128];
    size_t j = 0;
    if (!year && !mon && !days && !hour && !min && !sec && !fsec) {
        memcpy(o, "PT0S", 4);
        j = 4;
    } else {
        o[j++] = 'P';
        if (year)
            j += (size_t)snprintf(o + j, sizeof o - j, "%dY", (int)year);
        if (mon)
            j += (size_t)snprintf(o + j, sizeof o - j, "%dM", (int)mon);
        if (days)
            j += (size_t)snprintf(o + j, sizeof o - j, "%dD", (int)days);
        if (hour || min || sec || fsec) {
            o[j++] = 'T';
            if (hour)
                j += (size_t)snprintf(o + j, sizeof o - j, "%lldH", (long long)hour);
            if (min)
                j += (size_t)snprintf(o + j, sizeof o - j, "%lldM", (long long)min);
            if (sec || fsec) {
                if (sec < 0 || fsec < 0)
                    o[j++] = '-';
                j += (size_t)snprintf(o + j, sizeof o - j, "%lld",
                                      (long long)(sec < 0 ? -sec : sec));
                if (fsec)
                    j = put_frac(o, j, fsec < 0 ? -fsec : fsec);
                o[j++] = 'S';
            }
        }
    }
    if (!src_col_bytes(c, o, j))
        return heap_full(s, col, err);
    return LH_OK;
}

/* The wire length of each fixed-width kind (0: variable). */
static const int32_t PK_WIRE_LEN[] = {
    [PK_BOOL] = 1,   [PK_INT2] = 2,   [PK_INT4] = 4,    [PK_INT8] = 8,      [PK_OID] = 4,
    [PK_FLOAT4] = 4, [PK_FLOAT8] = 8, [PK_MONEY] = 8,   [PK_DATE] = 4,      [PK_TIME] = 8,
    [PK_TS] = 8,     [PK_UUID] = 16,  [PK_TIMETZ] = 12, [PK_INTERVAL] = 16,
};

/* Decodes one non-NULL scalar of kind pc->kind into c. */
static enum lh_status dec_scalar(struct lh_source *s, size_t col, const struct pg_col *pc,
                                 struct src_col *c, const uint8_t *p, int32_t len,
                                 struct lh_error *err)
{
    const char *name = s->fields[col].name;
    if (PK_WIRE_LEN[pc->kind] && len != PK_WIRE_LEN[pc->kind])
        return bad_wire(s, col, err);
    switch (pc->kind) {
    case PK_BOOL:
        *(uint8_t *)src_col_slot(c) = p[0] != 0;
        break;
    case PK_INT2:
        *(int32_t *)src_col_slot(c) = (int16_t)src_be16(p);
        break;
    case PK_INT4:
        *(int32_t *)src_col_slot(c) = (int32_t)src_be32(p);
        break;
    case PK_OID:
        *(uint32_t *)src_col_slot(c) = src_be32(p);
        break;
    case PK_INT8:
        *(int64_t *)src_col_slot(c) = (int64_t)src_be64(p);
        break;
    case PK_FLOAT4: {
        uint32_t u = src_be32(p);
        float f;
        memcpy(&f, &u, 4);
        *(float *)src_col_slot(c) = f;
        break;
    }
    case PK_FLOAT8: {
        uint64_t u = src_be64(p);
        double d;
        memcpy(&d, &u, 8);
        *(double *)src_col_slot(c) = d;
        break;
    }
    case PK_NUMERIC_DEC: {
        lh_i128 v;
        const char *why;
        if (!numeric_to_dec(p, len, pc->prec, pc->scale, &v, &why)) {
            if (!strcmp(why, "malformed"))
                return bad_wire(s, col, err);
            src_warn(s, "column %s: numeric %s stored as NULL", name, why);
            src_col_null(c);
            return LH_OK;
        }
        src_col_decimal(c, pc->prec, v);
        break;
    }
    case PK_NUMERIC_TEXT:
        return numeric_to_text(s, col, c, p, len, err);
    case PK_MONEY: {
        lh_i128 v = (int64_t)src_be64(p);
        memcpy(src_col_slot(c), &v, 16);
        break;
    }
    case PK_BYTES:
        if (!src_col_bytes(c, p, (size_t)len))
            return heap_full(s, col, err);
        return LH_OK;
    case PK_JSONB:
        if (len < 1 || p[0] != 1)
            return lh_error_set(err, LH_E_FORMAT, "postgres %s: column %s: unknown jsonb version",
                                s->server, name);
        if (!src_col_bytes(c, p + 1, (size_t)len - 1))
            return heap_full(s, col, err);
        return LH_OK;
    case PK_DATE: {
        int32_t d = (int32_t)src_be32(p);
        if (d == INT32_MAX || d == INT32_MIN || d > INT32_MAX - PG_EPOCH_DAYS) {
            src_warn(s, "column %s: date %sinfinity stored as NULL", name, d < 0 ? "-" : "");
            src_col_null(c);
            return LH_OK;
        }
        *(int32_t *)src_col_slot(c) = d + PG_EPOCH_DAYS;
        break;
    }
    case PK_TIME:
        *(int64_t *)src_col_slot(c) = (int64_t)src_be64(p);
        break;
    case PK_TIMETZ:
        return timetz_to_text(s, col, c, p, err);
    case PK_TS: {
        int64_t t = (int64_t)src_be64(p), u;
        if (t == INT64_MAX || t == INT64_MIN) {
            src_warn(s, "column %s: timestamp %sinfinity stored as NULL", name, t < 0 ? "-" : "");
            src_col_null(c);
            return LH_OK;
        }
        if (__builtin_add_overflow(t, PG_EPOCH_US, &u)) {
            src_warn(s, "column %s: timestamp beyond the int64 microsecond range stored as NULL",
                     name);
            src_col_null(c);
            return LH_OK;
        }
        *(int64_t *)src_col_slot(c) = u;
        break;
    }
    case PK_INTERVAL:
        return interval_to_text(s, col, c, p, err);
    case PK_UUID:
        memcpy(src_col_slot(c), p, 16);
        break;
    }
    src_col_commit(c);
    return LH_OK;
}

/* A binary array value -> one list row. */
static enum lh_status dec_array(struct lh_source *s, size_t col, const struct pg_col *pc,
                                struct src_col *c, const uint8_t *p, int32_t len,
                                struct lh_error *err)
{
    if (len < 12)
        return bad_wire(s, col, err);
    int32_t ndim = (int32_t)src_be32(p);
    uint32_t elem = src_be32(p + 8);
    if (ndim < 0 || ndim > 6 || (pc->wire_elem_oid && elem != pc->wire_elem_oid))
        return bad_wire(s, col, err);
    struct src_col *ch = c->child;
    int64_t row = c->n;
    if (ndim == 0) {
        c->list_offsets[row + 1] = (int32_t)ch->n;
        c->n++;
        return LH_OK;
    }
    if (ndim > 1) {
        src_warn(s, "column %s: %d-dimensional array stored as NULL", s->fields[col].name,
                 (int)ndim);
        src_col_null(c);
        return LH_OK;
    }
    if (len < 20)
        return bad_wire(s, col, err);
    int32_t nelem = (int32_t)src_be32(p + 12);
    if (nelem < 0 || (int64_t)nelem * 4 > (int64_t)len - 20)
        return bad_wire(s, col, err);
    enum lh_status st = src_col_grow(ch, ch->n + nelem, err);
    if (st)
        return st;
    const uint8_t *q = p + 20, *end = p + len;
    for (int32_t k = 0; k < nelem; k++) {
        if (end - q < 4)
            return bad_wire(s, col, err);
        int32_t el = (int32_t)src_be32(q);
        q += 4;
        if (el == -1) {
            src_col_null(ch);
            continue;
        }
        if (el < 0 || el > end - q)
            return bad_wire(s, col, err);
        st = dec_scalar(s, col, pc, ch, q, el, err);
        if (st)
            return st;
        q += el;
    }
    if (q != end)
        return bad_wire(s, col, err);
    if (ch->n > INT32_MAX)
        return heap_full(s, col, err);
    c->list_offsets[row + 1] = (int32_t)ch->n;
    c->n++;
    return LH_OK;
}

/* ------------------------------------------------------------ stream */

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "slots are stored little-endian");

/* How the row loop decodes a column, chosen once per stream (plan): the
 * kinds most columns are in line, straight into the batch's slots and
 * heaps; the rest, and every odd value of those kinds (a wrong length, an
 * infinity, a heap that must grow), through dec_scalar or dec_array, which
 * check and report as they always did. */
enum pg_op {
    OP_CALL,  /* dec_scalar */
    OP_LIST,  /* dec_array */
    OP_BOOL,  /* 1 byte -> bool slot */
    OP_W4,    /* big-endian 4 bytes -> 4-byte slot: int4, float4, oid */
    OP_W8,    /* big-endian 8 bytes -> 8-byte slot: int8, float8, time */
    OP_DATE,  /* int4 days since 2000 -> days since 1970 */
    OP_TS,    /* int8 us since 2000 -> us since 1970 */
    OP_BYTES, /* the bytes as they are */
    OP_JSONB, /* version byte 1, then the JSON text */
    OP_NUMTEXT,
};

struct pg_dec {
    struct src_col *c;
    const struct pg_col *pc;
    enum pg_op op;
    uint32_t next; /* 4 (the next field's length word), 0 for the last column */
    uint64_t pad;  /* 32 bytes: d - dec is a shift */
};

static enum pg_op pick_op(const struct pg_col *pc, const struct src_col *c)
{
    if (pc->is_list)
        return OP_LIST;
    switch (pc->kind) {
    case PK_BOOL:
        return c->width == 1 ? OP_BOOL : OP_CALL;
    case PK_INT4:
    case PK_FLOAT4:
    case PK_OID:
        return c->width == 4 ? OP_W4 : OP_CALL;
    case PK_INT8:
    case PK_FLOAT8:
    case PK_TIME:
        return c->width == 8 ? OP_W8 : OP_CALL;
    case PK_DATE:
        return c->width == 4 ? OP_DATE : OP_CALL;
    case PK_TS:
        return c->width == 8 ? OP_TS : OP_CALL;
    case PK_BYTES:
        return c->var ? OP_BYTES : OP_CALL;
    case PK_JSONB:
        return c->var ? OP_JSONB : OP_CALL;
    case PK_NUMERIC_TEXT:
        return c->var ? OP_NUMTEXT : OP_CALL;
    default:
        return OP_CALL;
    }
}

/* The per-column decoders, once s->cols exist (the first fill). */
static enum lh_status plan(struct lh_source *s, struct pg_stream *ps, struct lh_error *err)
{
    ps->dec = calloc(s->ncols ? s->ncols : 1, sizeof *ps->dec);
    if (!ps->dec)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < s->ncols; i++) {
        ps->dec[i].c = &s->cols[i];
        ps->dec[i].pc = &ps->pcols[i];
        ps->dec[i].op = pick_op(&ps->pcols[i], &s->cols[i]);
        ps->dec[i].next = i + 1 < s->ncols ? 4 : 0;
    }
    ps->soft_limit = s->opt.batch_bytes ? s->opt.batch_bytes : SRC_HEAP_SOFT_LIMIT;
    return LH_OK;
}

/* Decodes the tuple in progress, from column ps->col on, out of [p, end).
 * One bounds check per field: a field is decoded once its length word, its
 * bytes and the next field's length word are all in [p, end), so the next
 * length word is read without another check. Stops before the first field
 * that is not (ps->in_row stays set, ps->col says where to go on once more
 * bytes came) or after the last column (ps->in_row cleared). *stop: the
 * first byte not used. Locals, not ps/s fields, in the loop: the byte
 * stores into the batch may alias anything, so fields would be reloaded. */
__attribute__((noinline)) /* its own registers, not the stream loop's spills */
static enum lh_status
decode_fields(struct lh_source *s, struct pg_stream *ps, const uint8_t *p, const uint8_t *end,
              const uint8_t **stop, struct lh_error *err)
{
    enum lh_status st = LH_OK;
    const struct pg_dec *const dec = ps->dec;
    const struct pg_dec *d = dec + ps->col, *const dend = dec + s->ncols;
    size_t heap_bytes = 0; /* added to the heaps in line, counted once per call */
    if (end - p < 4)
        goto out;
    for (; d < dend; d++) {
        struct src_col *c = d->c;
        int32_t fl = (int32_t)src_be32(p);
        if (fl < 0) {
            if (fl != -1) {
                st = bad_wire(s, (size_t)(d - dec), err);
                goto out;
            }
            if ((size_t)(end - p) < 4 + d->next)
                break;
            src_col_null(c);
            p += 4;
            continue;
        }
        if ((size_t)fl + 4 + d->next > (size_t)(end - p))
            break;
        const uint8_t *v = p + 4;
        switch (d->op) {
        case OP_BOOL:
            if (fl != 1)
                goto call;
            c->values[c->n++] = v[0] != 0;
            break;
        case OP_W4: {
            if (fl != 4)
                goto call;
            uint32_t u = src_be32(v);
            memcpy(c->values + (size_t)c->n++ * 4, &u, 4);
            break;
        }
        case OP_W8: {
            if (fl != 8)
                goto call;
            uint64_t u = src_be64(v);
            memcpy(c->values + (size_t)c->n++ * 8, &u, 8);
            break;
        }
        case OP_DATE: {
            if (fl != 4)
                goto call;
            int32_t day = (int32_t)src_be32(v);
            if (day == INT32_MIN || day > INT32_MAX - PG_EPOCH_DAYS)
                goto call; /* infinities are warned about there */
            day += PG_EPOCH_DAYS;
            memcpy(c->values + (size_t)c->n++ * 4, &day, 4);
            break;
        }
        case OP_TS: {
            if (fl != 8)
                goto call;
            int64_t t = (int64_t)src_be64(v), u;
            if (t == INT64_MAX || t == INT64_MIN || __builtin_add_overflow(t, PG_EPOCH_US, &u))
                goto call; /* warned about there */
            memcpy(c->values + (size_t)c->n++ * 8, &u, 8);
            break;
        }
        case OP_BYTES:
        case OP_JSONB: {
            const uint8_t *b = v;
            size_t bl = (size_t)fl, hl = c->heap.len;
            if (d->op == OP_JSONB) {
                if (bl < 1 || b[0] != 1)
                    goto call;
                b++, bl--;
            }
            if (bl >= c->heap.cap - hl)
                goto call; /* the heap grows there (see src_col_bytes) */
            memcpy(c->heap.data + hl, b, bl);
            c->heap.len = hl + bl;
            c->offsets[c->n + 1] = (int32_t)(hl + bl);
            c->n++;
            heap_bytes += bl;
            break;
        }
        case OP_NUMTEXT:
            if ((st = numeric_to_text(s, (size_t)(d - dec), c, v, fl, err)))
                goto out;
            break;
        case OP_LIST:
            if ((st = dec_array(s, (size_t)(d - dec), d->pc, c, v, fl, err)))
                goto out;
            break;
        case OP_CALL:
        default:
        call:
            if ((st = dec_scalar(s, (size_t)(d - dec), d->pc, c, v, fl, err)))
                goto out;
            break;
        }
        p = v + fl;
    }
out:
    if ((s->heap_total += heap_bytes) > ps->soft_limit)
        s->full = true;
    ps->col = (size_t)(d - dec);
    if (d == dend)
        ps->in_row = false;
    *stop = p;
    return st;
}

static const uint8_t PG_SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

void src_pg_stream_init(struct pg_stream *ps, const struct pg_col *pcols)
{
    memset(ps, 0, sizeof *ps);
    ps->pcols = pcols;
    ps->win = (const uint8_t *)"";
    lh_buf_init(&ps->carry, (size_t)1 << 30);
}

void src_pg_stream_free(struct pg_stream *ps)
{
    lh_buf_reset(&ps->carry);
    free(ps->dec);
    ps->dec = NULL;
}

/* Keeps the unread rest of the window in the carry buffer and appends the
 * next message (zero-copy when nothing is left over). 1: more data, 0: the
 * COPY ended, -1: error. */
static int more(struct lh_source *s, struct pg_stream *ps, src_pg_next_fn next,
                struct lh_error *err, enum lh_status *st)
{
    size_t rest = ps->win_len - ps->win_pos;
    if (ps->win_is_carry) {
        if (ps->win_pos)
            memmove(ps->carry.data, ps->carry.data + ps->win_pos, rest);
        ps->carry.len = rest;
    } else if (rest) {
        lh_buf_clear(&ps->carry);
        lh_buf_append(&ps->carry, ps->win + ps->win_pos, rest);
    } else {
        ps->carry.len = 0; /* the common case: the message was all used */
    }
    const uint8_t *buf = NULL;
    size_t len = 0;
    int r = next(s, &buf, &len, err, st);
    if (r <= 0) {
        if (r == 0)
            ps->ended = true;
        ps->win = ps->carry.data ? ps->carry.data : (const uint8_t *)"";
        ps->win_len = ps->carry.len;
        ps->win_pos = 0;
        ps->win_is_carry = true;
        return r;
    }
    s->stats.bytes_received += len;
    if (ps->carry.len == 0) {
        ps->win = buf;
        ps->win_len = len;
        ps->win_pos = 0;
        ps->win_is_carry = false;
        return 1;
    }
    lh_buf_append(&ps->carry, buf, len);
    if (!lh_buf_ok(&ps->carry)) {
        *st = lh_error_set(err, LH_E_TOOBIG, "postgres %s: row too large", s->server);
        return -1;
    }
    ps->win = ps->carry.data;
    ps->win_len = ps->carry.len;
    ps->win_pos = 0;
    ps->win_is_carry = true;
    return 1;
}

static enum lh_status bad_stream(struct lh_source *s, const char *what, struct lh_error *err)
{
    return lh_error_set(err, LH_E_FORMAT, "postgres %s: %s", s->server, what);
}

enum lh_status src_pg_stream_fill(struct lh_source *s, struct pg_stream *ps, src_pg_next_fn next,
                                  struct lh_error *err)
{
    int64_t rows = 0;
    enum lh_status st = LH_OK;
    if (!ps->dec && (st = plan(s, ps, err)))
        return st;
    /* a batch ends between tuples only: one begun is finished first */
    while (ps->in_row || (rows < s->batch_size && !s->full && !ps->done)) {
        const uint8_t *p = ps->win + ps->win_pos;
        size_t avail = ps->win_len - ps->win_pos;
        if (ps->trailer_seen) {
            if (avail)
                return bad_stream(s, "data after the COPY trailer", err);
            if (ps->ended) {
                ps->done = true;
                break;
            }
        } else if (!ps->header_done) {
            if (avail >= 19) {
                if (memcmp(p, PG_SIGNATURE, 11) != 0)
                    return bad_stream(s, "not a binary COPY stream", err);
                uint32_t ext = src_be32(p + 15);
                if (ext > (1u << 20))
                    return bad_stream(s, "bad COPY header", err);
                if (avail - 19 >= (size_t)ext) {
                    ps->win_pos += 19 + ext;
                    ps->header_done = true;
                    continue;
                }
            }
        } else {
            if (!ps->in_row && avail >= 2) {
                int16_t nf = (int16_t)src_be16(p);
                if (nf == -1) {
                    ps->win_pos += 2;
                    ps->trailer_seen = true;
                    continue;
                }
                if (nf < 0 || (size_t)nf != s->ncols)
                    return bad_stream(s, "malformed COPY tuple", err);
                ps->win_pos += 2;
                p += 2;
                ps->in_row = true;
                ps->col = 0;
            }
            if (ps->in_row) {
                const uint8_t *q;
                st = decode_fields(s, ps, p, ps->win + ps->win_len, &q, err);
                ps->win_pos += (size_t)(q - p);
                if (st)
                    return st;
                if (!ps->in_row) {
                    rows++;
                    if (src_batch_overdue(s))
                        break;
                    continue;
                }
            }
        }
        /* need more bytes */
        if (ps->ended)
            return bad_stream(
                s, ps->trailer_seen ? "data after the COPY trailer" : "COPY stream ended early",
                err);
        if (more(s, ps, next, err, &st) < 0)
            return st;
    }
    return LH_OK;
}
