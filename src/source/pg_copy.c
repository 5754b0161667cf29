/*
 * pg_copy.c — decoding PostgreSQL's binary COPY stream into the column
 * builders, apart from libpq so that this parser of server bytes can be
 * tested and fuzzed on its own (tests/source/test_pg_copy.c).
 *
 * The stream is read message by message from a src_pg_next_fn. Tuples are
 * decoded in place from the current message; a tuple that straddles
 * messages (PostgreSQL sends one row per message today, the protocol does
 * not promise it) is gathered in a carry buffer first. Every length on the
 * wire is checked against what is left before it is used; nothing from
 * the wire is asserted on.
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

/* Binary numeric -> the exact text numeric_out prints. */
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
    size_t need = 2 + 4 * (size_t)(weight > 0 ? weight + 1 : 1) + 1 + (size_t)dscale + 4;
    uint8_t *o = src_col_bytes_begin(c, need);
    if (!o)
        return heap_full(s, col, err);
    size_t j = 0;
    if (sign == 0x4000)
        o[j++] = '-';
    if (weight < 0) {
        o[j++] = '0';
    } else {
        for (int d = 0; d <= weight; d++) {
            unsigned dig = d < ndigits ? src_be16(p + 8 + 2 * d) : 0;
            if (dig > 9999)
                return bad_wire(s, col, err);
            char q[4] = {(char)('0' + dig / 1000), (char)('0' + dig / 100 % 10),
                         (char)('0' + dig / 10 % 10), (char)('0' + dig % 10)};
            int k = 0;
            if (d == 0)
                while (k < 3 && q[k] == '0')
                    k++;
            for (; k < 4; k++)
                o[j++] = (uint8_t)q[k];
        }
    }
    if (dscale > 0) {
        o[j++] = '.';
        int emitted = 0;
        for (int d = weight + 1; emitted < dscale; d++) {
            unsigned dig = (d >= 0 && d < ndigits) ? src_be16(p + 8 + 2 * d) : 0;
            if (dig > 9999)
                return bad_wire(s, col, err);
            char q[4] = {(char)('0' + dig / 1000), (char)('0' + dig / 100 % 10),
                         (char)('0' + dig / 10 % 10), (char)('0' + dig % 10)};
            for (int k = 0; k < 4 && emitted < dscale; k++, emitted++)
                o[j++] = (uint8_t)q[k];
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

/* Length of the complete tuple at p (0: incomplete; -1: malformed;
 * -2: the trailer). */
static int64_t tuple_span(const uint8_t *p, size_t avail, size_t ncols)
{
    if (avail < 2)
        return 0;
    int16_t nf = (int16_t)src_be16(p);
    if (nf == -1)
        return -2;
    if (nf < 0 || (size_t)nf != ncols)
        return -1;
    size_t at = 2;
    for (int i = 0; i < nf; i++) {
        if (avail - at < 4)
            return 0;
        int32_t fl = (int32_t)src_be32(p + at);
        at += 4;
        if (fl == -1)
            continue;
        if (fl < 0)
            return -1;
        if (avail - at < (size_t)fl)
            return 0;
        at += (size_t)fl;
    }
    return (int64_t)at;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "dec_word stores a word's low bytes");

/* The kinds most columns are, decoded in line: for a fixed-width word the
 * call into dec_scalar (its prologue, the length table, the switch) cost
 * more than the decoding (callgrind, bench/ingest's table). false: not
 * one of them, or a wrong length for dec_scalar to report. */
static inline bool dec_word(const struct pg_col *pc, struct src_col *c, const uint8_t *p,
                            int32_t len)
{
    switch (pc->kind) {
    case PK_BOOL:
        if (len != 1)
            return false;
        *(uint8_t *)src_col_slot(c) = p[0] != 0;
        break;
    case PK_INT4:
    case PK_FLOAT4:
    case PK_INT8:
    case PK_FLOAT8:
    case PK_TIME: {
        if (len != PK_WIRE_LEN[pc->kind])
            return false;
        uint64_t u = len == 4 ? src_be32(p) : src_be64(p);
        memcpy(src_col_slot(c), &u, (size_t)len); /* the low word first (little-endian) */
        break;
    }
    default:
        return false;
    }
    src_col_commit(c);
    return true;
}

static enum lh_status decode_tuple(struct lh_source *s, const struct pg_col *pcols,
                                   const uint8_t *p, struct lh_error *err)
{
    size_t at = 2;
    for (size_t i = 0; i < s->ncols; i++) {
        int32_t fl = (int32_t)src_be32(p + at);
        at += 4;
        struct src_col *c = &s->cols[i];
        const struct pg_col *pc = &pcols[i];
        if (fl == -1) {
            src_col_null(c);
            continue;
        }
        if (!pc->is_list && dec_word(pc, c, p + at, fl)) {
            at += (size_t)fl;
            continue;
        }
        enum lh_status st = pc->is_list ? dec_array(s, i, pc, c, p + at, fl, err)
                                        : dec_scalar(s, i, pc, c, p + at, fl, err);
        if (st)
            return st;
        at += (size_t)fl;
    }
    return LH_OK;
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
}

/* Keeps the unread rest of the window in the carry buffer and appends the
 * next message (zero-copy when nothing is left over). 1: more data, 0: the
 * COPY ended, -1: error. */
static int more(struct lh_source *s, struct pg_stream *ps, src_pg_next_fn next,
                struct lh_error *err, enum lh_status *st)
{
    size_t rest = ps->win_len - ps->win_pos;
    if (ps->win_is_carry) {
        memmove(ps->carry.data, ps->carry.data + ps->win_pos, rest);
        ps->carry.len = rest;
    } else {
        lh_buf_clear(&ps->carry);
        lh_buf_append(&ps->carry, ps->win + ps->win_pos, rest);
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
    while (rows < s->batch_size && !s->full && !ps->done) {
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
            int64_t n = tuple_span(p, avail, s->ncols);
            if (n > 0) {
                if ((st = decode_tuple(s, ps->pcols, p, err)))
                    return st;
                ps->win_pos += (size_t)n;
                rows++;
                if (src_batch_overdue(s))
                    break;
                continue;
            }
            if (n == -1)
                return bad_stream(s, "malformed COPY tuple", err);
            if (n == -2) {
                ps->win_pos += 2;
                ps->trailer_seen = true;
                continue;
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
