/*
 * write_enc.c — value-level encoders of the writer: the RLE/bit-packed
 * hybrid (levels and dictionary indices), column chunk statistics with the
 * sort order of each logical type, and the per-chunk dictionary hash table.
 *
 * Everything here appends to lh_bufs whose broken flag is the error; the
 * caller checks once per page.
 */
#include "write_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The n < 8 bytes at s as a little-endian integer, in at most three fixed
 * loads (a memcpy of a variable length is a libc call: ~40 instructions
 * per short key, the largest part of hashing one). */
static inline uint64_t load_tail(const uint8_t *s, size_t n)
{
    uint64_t k = 0;
    int shift = 0;
    if (n & 4) {
        uint32_t x;
        memcpy(&x, s, 4);
        k = x;
        s += 4;
        shift = 32;
    }
    if (n & 2) {
        uint16_t x;
        memcpy(&x, s, 2);
        k |= (uint64_t)x << shift;
        s += 2;
        shift += 16;
    }
    if (n & 1)
        k |= (uint64_t)s[0] << shift;
    return k;
}

/* ------------------------------------------------------------ RLE hybrid */

int pq_rle_bit_width(uint64_t v)
{
    return v == 0 ? 0 : 64 - __builtin_clzll(v);
}

void pq_rle_init(struct pq_rle *e, struct lh_buf *out, int width)
{
    e->out = out;
    e->width = width;
    e->nbuf = 0;
    e->cur = 0;
    e->repeat = 0;
    e->lit_groups = 0;
    e->lit_hdr = SIZE_MAX;
}

/* Eight values of `w` bits, LSB first: exactly w bytes, written in place.
 * Up to 16 bits (dictionaries of up to 65,536 entries, every level) the
 * group is one 64- or 128-bit integer stored whole (the room reserved past
 * the w bytes is not counted in len), not a byte-by-byte loop. */
static void bitpack8(struct lh_buf *out, const uint32_t *v, int w)
{
    if (!lh_buf_reserve(out, 16 + (size_t)w))
        return;
    uint8_t *o = out->data + out->len;
    if (w <= 8) {
        uint64_t acc = 0;
        for (int i = 0; i < 8; i++)
            acc |= (uint64_t)v[i] << (i * w);
        memcpy(o, &acc, 8);
    } else if (w <= 16) {
        unsigned __int128 acc = 0;
        for (int i = 0; i < 8; i++)
            acc |= (unsigned __int128)v[i] << (i * w);
        memcpy(o, &acc, 16);
    } else {
        uint64_t acc = 0;
        int bits = 0;
        size_t n = 0;
        for (int i = 0; i < 8; i++) {
            acc |= (uint64_t)v[i] << bits;
            bits += w;
            while (bits >= 8) {
                o[n++] = (uint8_t)acc;
                acc >>= 8;
                bits -= 8;
            }
        }
    }
    out->len += (size_t)w;
}

/* Writes the buffered values (padded to 8) as one more group of the open
 * bit-packed run; closes the run's header when asked or when it is full
 * (63 groups keep the header in one byte). */
static void flush_literal(struct pq_rle *e, bool close)
{
    if (e->lit_hdr == SIZE_MAX) {
        e->lit_hdr = e->out->len;
        lh_buf_append_u8(e->out, 0);
    }
    if (e->nbuf > 0) {
        for (int i = e->nbuf; i < 8; i++)
            e->buf[i] = 0;
        bitpack8(e->out, e->buf, e->width);
        e->lit_groups++;
        e->nbuf = 0;
    }
    if (close || e->lit_groups >= 63) {
        if (lh_buf_ok(e->out) && e->lit_hdr < e->out->len)
            e->out->data[e->lit_hdr] = (uint8_t)((e->lit_groups << 1) | 1);
        e->lit_hdr = SIZE_MAX;
        e->lit_groups = 0;
    }
}

static void flush_repeat(struct pq_rle *e)
{
    lh_buf_append_varint(e->out, e->repeat << 1);
    uint8_t v[4];
    int nb = (e->width + 7) / 8;
    for (int i = 0; i < nb; i++)
        v[i] = (uint8_t)(e->cur >> (8 * i));
    lh_buf_append(e->out, v, (size_t)nb);
    e->repeat = 0;
    e->nbuf = 0;
}

/* Eight values are buffered. `repeat` counts equal values since the last
 * group boundary, so repeat >= 8 means the whole group is one value: it
 * becomes (the start of) an RLE run instead of a literal group. */
static void flush_group(struct pq_rle *e)
{
    if (e->repeat >= 8) {
        e->nbuf = 0;
        if (e->lit_hdr != SIZE_MAX)
            flush_literal(e, true);
        return;
    }
    flush_literal(e, false);
    e->repeat = 0;
}

__attribute__((always_inline)) static inline void rle_put(struct pq_rle *e, uint32_t v)
{
    if (v == e->cur) {
        if (++e->repeat > 8)
            return;
    } else {
        if (e->repeat >= 8)
            flush_repeat(e);
        e->repeat = 1;
        e->cur = v;
    }
    e->buf[e->nbuf++] = v;
    if (e->nbuf == 8)
        flush_group(e);
}

void pq_rle_put(struct pq_rle *e, uint32_t v)
{
    rle_put(e, v);
}

void pq_rle_put_many(struct pq_rle *e, const uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rle_put(e, v[i]);
}

void pq_rle_put_run(struct pq_rle *e, uint32_t v, uint64_t n)
{
    while (n > 0) {
        if (v == e->cur && e->repeat >= 8) {
            e->repeat += n;
            return;
        }
        rle_put(e, v);
        n--;
    }
}

/* Bits [i, i + k) of a bitmap, LSB first, in the low k bits (1 <= k <= 8);
 * reads no byte that holds none of them. */
static inline uint32_t bits_at(const uint8_t *bits, int64_t i, int k)
{
    size_t b = (size_t)(i >> 3);
    int s = (int)(i & 7);
    uint32_t v = (uint32_t)bits[b] >> s;
    if (s + k > 8)
        v |= (uint32_t)bits[b + 1] << (8 - s);
    return v & ((1u << k) - 1);
}

/* Width-1 flush_repeat and literal close, writing into room reserved by
 * the caller (pq_rle_put_bits). */
static inline void bits_run_end(struct pq_rle *e)
{
    struct lh_buf *b = e->out;
    uint64_t v = e->repeat << 1;
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
    b->data[b->len++] = (uint8_t)e->cur;
    e->repeat = 0;
    e->nbuf = 0;
}

static inline void bits_literal_close(struct pq_rle *e)
{
    e->out->data[e->lit_hdr] = (uint8_t)((e->lit_groups << 1) | 1);
    e->lit_hdr = SIZE_MAX;
    e->lit_groups = 0;
}

/* Width 1, straight from a bitmap: the encoder's state machine (above) run
 * a group at a time instead of a value at a time. A bit-packed group of
 * eight 1-bit values is one byte, LSB first — the bitmap's own layout —
 * so a mixed group is one byte copied; a group of eight equal bits starts
 * an RLE run, which is then extended a byte at a time. Only a group left
 * partly filled by the previous call, a run's last few bits and a tail of
 * fewer than 8 bits go value by value, so the bytes are exactly those of
 * pq_rle_put over the same bits. The output room is reserved once: per 8
 * values at most a literal byte and a header, or a run's varint and value. */
void pq_rle_put_bits(struct pq_rle *e, const uint8_t *bits, int64_t from, int64_t n)
{
    if (n <= 0 || !lh_buf_reserve(e->out, 13 * ((size_t)n / 8 + 3)))
        return; /* a broken buffer is the caller's error */
    int64_t i = from, end = from + n;
    while (i < end) {
        if (e->repeat >= 8) {
            /* inside an RLE run of e->cur (nothing buffered): extend it */
            uint32_t flip = e->cur ? 0 : 0xFF;
            while (end - i >= 8) {
                uint32_t eq = bits_at(bits, i, 8) ^ flip; /* 1: the bit equals cur */
                if (eq != 0xFF) {
                    int k = __builtin_ctz(~eq); /* bits still equal to cur */
                    e->repeat += (uint64_t)k;
                    i += k;
                    goto run_ended;
                }
                e->repeat += 8;
                i += 8;
            }
            while (i < end && ((bits[i >> 3] >> (i & 7)) & 1) == e->cur) {
                e->repeat++;
                i++;
            }
            if (i == end)
                return;
        run_ended:
            bits_run_end(e); /* the next value differs: a new group starts at i */
            continue;
        }
        if (e->nbuf == 0 && end - i >= 8) {
            uint32_t g = bits_at(bits, i, 8);
            i += 8;
            if (g == 0 || g == 0xFF) {
                /* eight equal values: what flush_group makes an RLE run */
                if (e->lit_hdr != SIZE_MAX)
                    bits_literal_close(e);
                e->cur = g & 1;
                e->repeat = 8;
                continue;
            }
            struct lh_buf *b = e->out;
            if (e->lit_hdr == SIZE_MAX) {
                e->lit_hdr = b->len;
                b->data[b->len++] = 0;
            }
            b->data[b->len++] = (uint8_t)g;
            e->cur = g >> 7;
            e->repeat = 0;
            if (++e->lit_groups >= 63)
                bits_literal_close(e);
            continue;
        }
        /* completing a partial group, or the last < 8 values */
        rle_put(e, (bits[i >> 3] >> (i & 7)) & 1);
        i++;
    }
}

void pq_rle_finish(struct pq_rle *e)
{
    bool all_repeat = e->lit_hdr == SIZE_MAX && (e->nbuf == 0 || e->repeat == (uint64_t)e->nbuf);
    if (e->repeat > 0 && all_repeat)
        flush_repeat(e);
    else if (e->nbuf > 0 || e->lit_hdr != SIZE_MAX)
        flush_literal(e, true);
    e->repeat = 0;
    e->nbuf = 0;
    e->cur = 0;
}

/* ------------------------------------------------------------ statistics */

void pq_stats_init(struct pq_stats *s, enum pq_stat_kind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    lh_buf_init(&s->bmin, 0);
    lh_buf_init(&s->bmax, 0);
}

void pq_stats_free(struct pq_stats *s)
{
    lh_buf_reset(&s->bmin);
    lh_buf_reset(&s->bmax);
}

void pq_stats_reset(struct pq_stats *s)
{
    s->has = false;
    lh_buf_clear(&s->bmin);
    lh_buf_clear(&s->bmax);
}

/* The typed updates differ in the union member they keep and in what they
 * pass over (NaN has no place in an order); generated here. */
#define PQ_STATS_UPDATE(name, T, m, skip)                                                          \
    void name(struct pq_stats *s, T v)                                                             \
    {                                                                                              \
        if (skip)                                                                                  \
            return;                                                                                \
        if (!s->has) {                                                                             \
            s->min.m = s->max.m = v;                                                               \
            s->has = true;                                                                         \
            return;                                                                                \
        }                                                                                          \
        if (v < s->min.m)                                                                          \
            s->min.m = v;                                                                          \
        if (v > s->max.m)                                                                          \
            s->max.m = v;                                                                          \
    }
PQ_STATS_UPDATE(pq_stats_int, int64_t, i, false)
PQ_STATS_UPDATE(pq_stats_uint, uint64_t, u, false)
PQ_STATS_UPDATE(pq_stats_f64, double, d, isnan(v))
PQ_STATS_UPDATE(pq_stats_i128, lh_i128, x, false)
#undef PQ_STATS_UPDATE

static int bytes_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t m = na < nb ? na : nb;
    int c = m ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb ? 1 : 0;
}

/* The first 8 bytes of a byte string as a big-endian integer, zero-padded.
 * When two strings' prefixes differ, they are in the strings' order: at
 * the first differing position either both have a byte there, or the
 * shorter one ended (its padding 0 against a real byte), i.e. it is a
 * prefix of the other and sorts first. */
static inline uint64_t bytes_prefix(const uint8_t *p, size_t n)
{
    uint64_t k;
    if (n >= 8)
        memcpy(&k, p, 8);
    else
        k = load_tail(p, n);
    return __builtin_bswap64(k);
}

static inline bool short_equal(const uint8_t *a, const uint8_t *b, uint32_t n);

/* After a new min or max: what they have in common (every value between
 * them starts with it too) and the 8 bytes after it of each. */
static void stats_bytes_window(struct pq_stats *s)
{
    size_t m = s->bmin.len < s->bmax.len ? s->bmin.len : s->bmax.len, l = 0;
    while (l < m && s->bmin.data[l] == s->bmax.data[l])
        l++;
    s->plen = l;
    s->pmin = bytes_prefix(s->bmin.data + l, s->bmin.len - l);
    s->pmax = bytes_prefix(s->bmax.data + l, s->bmax.len - l);
}

/* A value that may be a new min or max. */
__attribute__((noinline)) static void stats_bytes_slow(struct pq_stats *s, const uint8_t *p,
                                                       size_t n)
{
    if (!s->has) {
        lh_buf_append(&s->bmin, p, n);
        lh_buf_append(&s->bmax, p, n);
        s->has = true;
    } else if (bytes_cmp(p, n, s->bmin.data, s->bmin.len) < 0) {
        s->bmin.len = 0;
        lh_buf_append(&s->bmin, p, n);
    } else if (bytes_cmp(p, n, s->bmax.data, s->bmax.len) > 0) {
        s->bmax.len = 0;
        lh_buf_append(&s->bmax, p, n);
    } else {
        return;
    }
    if (lh_buf_ok(&s->bmin) && lh_buf_ok(&s->bmax))
        stats_bytes_window(s);
    else
        s->plen = SIZE_MAX; /* no fast path; pq_stats_encode reports the broken buffer */
}

/* Most values fall strictly between the min and max so far, which the
 * bytes after the min's and max's common start tell (emails all begin
 * "customer..."): one or two loads and integer compares instead of two
 * memcmp calls, and no call out of this function. */
void pq_stats_bytes(struct pq_stats *s, const uint8_t *p, size_t n)
{
    size_t l = s->plen;
    if (s->has && n >= l &&
        (l == 0 ||
         (l <= 64 ? short_equal(p, s->bmin.data, (uint32_t)l) : memcmp(p, s->bmin.data, l) == 0))) {
        uint64_t x = bytes_prefix(p + l, n - l);
        if (x > s->pmin && x < s->pmax)
            return;
    }
    stats_bytes_slow(s, p, n);
}

void pq_stats_i128_be(lh_i128 v, int n, uint8_t *out)
{
    unsigned __int128 u = (unsigned __int128)v;
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (uint8_t)u;
        u >>= 8;
    }
}

int pq_stats_decimal_len(int precision)
{
    unsigned __int128 pow10 = 1;
    for (int i = 0; i < precision; i++)
        pow10 *= 10;
    for (int n = 1; n < 16; n++) {
        unsigned __int128 lim = (unsigned __int128)1 << (8 * n - 1);
        if (pow10 <= lim)
            return n;
    }
    return 16;
}

static void put_le(struct lh_buf *b, uint64_t v, int n)
{
    uint8_t tmp[8];
    for (int i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    lh_buf_append(b, tmp, (size_t)n);
}

bool pq_stats_encode(const struct pq_stats *s, int flba_len, struct lh_buf *min, struct lh_buf *max)
{
    lh_buf_clear(min);
    lh_buf_clear(max);
    if (!s->has)
        return false;
    switch (s->kind) {
    case PQ_SK_BOOL:
        put_le(min, (uint64_t)s->min.i, 1);
        put_le(max, (uint64_t)s->max.i, 1);
        break;
    case PQ_SK_I32:
    case PQ_SK_U32:
        put_le(min, s->min.u, 4);
        put_le(max, s->max.u, 4);
        break;
    case PQ_SK_I64:
    case PQ_SK_U64:
        put_le(min, s->min.u, 8);
        put_le(max, s->max.u, 8);
        break;
    case PQ_SK_F32:
    case PQ_SK_F64: {
        /* The spec: a zero min is written as -0.0, a zero max as +0.0, so
         * readers filtering on either sign of zero stay correct. */
        double lo = s->min.d == 0.0 ? -0.0 : s->min.d;
        double hi = s->max.d == 0.0 ? +0.0 : s->max.d;
        if (s->kind == PQ_SK_F32) {
            float flo = (float)lo, fhi = (float)hi;
            lh_buf_append(min, &flo, 4);
            lh_buf_append(max, &fhi, 4);
        } else {
            lh_buf_append(min, &lo, 8);
            lh_buf_append(max, &hi, 8);
        }
        break;
    }
    case PQ_SK_BYTES:
        lh_buf_append(min, s->bmin.data, s->bmin.len);
        lh_buf_append(max, s->bmax.data, s->bmax.len);
        /* an empty string min is valid: make sure the buffer is non-NULL */
        lh_buf_reserve(min, 1);
        lh_buf_reserve(max, 1);
        break;
    case PQ_SK_I128: {
        uint8_t tmp[16];
        if (flba_len < 1 || flba_len > 16)
            return false;
        pq_stats_i128_be(s->min.x, flba_len, tmp);
        lh_buf_append(min, tmp, (size_t)flba_len);
        pq_stats_i128_be(s->max.x, flba_len, tmp);
        lh_buf_append(max, tmp, (size_t)flba_len);
        break;
    }
    }
    return lh_buf_ok(min) && lh_buf_ok(max) && !(s->bmin.broken || s->bmax.broken);
}

/* ------------------------------------------------------------ dictionary */

static inline uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, s, 8);
        h = (h ^ k) * 0x87c37b91114253d5ULL;
        h = (h << 31) | (h >> 33);
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t k = load_tail(s, n);
        h = (h ^ k) * 0x4cf5ad432745937fULL;
    }
    return mix64(h);
}

/* A key of up to 32 bytes as four words: the first and the last 8 bytes
 * (4 when shorter than 8; the bytes themselves, zero-extended, under 4),
 * and past 16 bytes also the 8 after the first and the 8 before the last
 * (else 0). They cover every byte, so two keys of the same length are
 * equal exactly when their words are. */
struct short_key {
    uint64_t a, b, c, d;
};

static inline struct short_key short_words(const uint8_t *p, uint32_t n)
{
    struct short_key k = {0, 0, 0, 0};
    if (n >= 8) {
        memcpy(&k.a, p, 8);
        memcpy(&k.b, p + n - 8, 8);
        if (n > 16) {
            memcpy(&k.c, p + 8, 8);
            memcpy(&k.d, p + n - 16, 8);
        }
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        k.a = x, k.b = y;
    } else {
        k.a = load_tail(p, n);
    }
    return k;
}

static inline bool short_key_eq(struct short_key x, struct short_key y)
{
    return ((x.a ^ y.a) | (x.b ^ y.b) | (x.c ^ y.c) | (x.d ^ y.d)) == 0;
}

static inline uint64_t short_hash(struct short_key k, uint32_t n)
{
    uint64_t lo = k.a ^ 0x9E3779B97F4A7C15ULL ^ n, hi = k.b ^ 0xC2B2AE3D27D4EB4FULL;
    if (n > 16) {
        lo ^= (k.c << 23) | (k.c >> 41);
        hi ^= (k.d << 47) | (k.d >> 17);
    }
    unsigned __int128 m = (unsigned __int128)lo * hi;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

/* The dictionary's own hash of a BYTE_ARRAY key (slot placement only: the
 * entries' order, hence the file, does not depend on it). Keys of up to 16
 * bytes — categories, codes, short JSON — are two loads and one multiply
 * folded; longer ones go through hash_bytes. */
static inline uint64_t dict_hash_bytes(const uint8_t *p, uint32_t n)
{
    if (n > 32)
        return hash_bytes(p, n);
    return short_hash(short_words(p, n), n);
}

static inline uint64_t dict_hash(int width, const void *p, uint32_t n)
{
    if (width == 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        return mix64(k);
    }
    if (width == 4) {
        uint32_t k;
        memcpy(&k, p, 4);
        return mix64(k);
    }
    return width == 0 ? dict_hash_bytes(p, n) : hash_bytes(p, n);
}

uint64_t pq_dict_hash(const void *p, size_t n)
{
    return hash_bytes(p, n);
}

void pq_distinct_add_fixed(struct pq_distinct *d, const uint8_t *p, int64_t n, size_t width)
{
    /* the common widths with the length a constant: hash_bytes folds */
    if (width == 8) {
        for (int64_t k = 0; k < n; k++, p += 8)
            pq_distinct_add(d, hash_bytes(p, 8));
    } else if (width == 4) {
        for (int64_t k = 0; k < n; k++, p += 4)
            pq_distinct_add(d, hash_bytes(p, 4));
    } else {
        for (int64_t k = 0; k < n; k++, p += width)
            pq_distinct_add(d, hash_bytes(p, width));
    }
}

void pq_distinct_add_bytes(struct pq_distinct *d, const int32_t *off, const uint8_t *data,
                           int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        pq_distinct_add(d, hash_bytes(data + off[k], (size_t)(off[k + 1] - off[k])));
}

void pq_dict_init(struct pq_dict *d, int width)
{
    memset(d, 0, sizeof *d);
    d->width = width;
    lh_buf_init(&d->plain, 0);
}

void pq_dict_free(struct pq_dict *d)
{
    free(d->slots);
    free(d->offs);
    lh_buf_reset(&d->plain);
    d->slots = NULL;
    d->offs = NULL;
}

void pq_dict_reset(struct pq_dict *d)
{
    if (d->slots && d->n > 0)
        memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    d->n = 0;
    lh_buf_clear(&d->plain);
}

const uint8_t *pq_dict_entry(const struct pq_dict *d, uint32_t i, uint32_t *len)
{
    if (d->width > 0) {
        *len = (uint32_t)d->width;
        return d->plain.data + (size_t)i * (size_t)d->width;
    }
    const uint8_t *e = d->plain.data + d->offs[i];
    memcpy(len, e, 4);
    return e + 4;
}

/* n <= 64 bytes equal without a memcmp call: 8 bytes at a time, the last
 * 8 (or 4) overlapping, nothing read outside either key. */
static inline bool short_equal(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    if (n >= 8) {
        uint64_t x, y, diff = 0;
        for (uint32_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8), memcpy(&y, b + i, 8);
            diff |= x ^ y;
        }
        memcpy(&x, a + n - 8, 8), memcpy(&y, b + n - 8, 8);
        return (diff | (x ^ y)) == 0;
    }
    if (n >= 4) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4), memcpy(&a1, a + n - 4, 4);
        memcpy(&b0, b, 4), memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    return load_tail(a, n) == load_tail(b, n);
}

/* Fixed 4- and 8-byte keys (the common INT32/INT64/DOUBLE case) compare
 * as integers instead of through a memcmp call. */
static inline bool keys_equal(const uint8_t *a, const void *b, uint32_t n)
{
    if (n == 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x == y;
    }
    if (n == 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x == y;
    }
    if (n <= 64)
        return short_equal(a, b, n);
    return memcmp(a, b, n) == 0;
}

static bool grow(struct pq_dict *d)
{
    size_t nslots = d->slots ? ((size_t)d->mask + 1) * 2 : 1024;
    if (nslots > ((size_t)1 << 31))
        return false;
    uint64_t *ns = calloc(nslots, sizeof *ns);
    if (!ns)
        return false;
    uint32_t nmask = (uint32_t)(nslots - 1);
    if (d->slots) {
        for (size_t i = 0; i <= d->mask; i++) {
            uint64_t s = d->slots[i];
            if (s == 0)
                continue;
            uint32_t j = (uint32_t)(s >> 32) & nmask;
            while (ns[j] != 0)
                j = (j + 1) & nmask;
            ns[j] = s;
        }
    }
    free(d->slots);
    d->slots = ns;
    d->mask = nmask;
    return true;
}

/* A key that is not in the table yet, at empty slot i: appended to the
 * PLAIN body (first-seen order) and indexed. Out of line: it runs once per
 * distinct value, the lookup once per value. */
static bool dict_add(struct pq_dict *d, const void *p, uint32_t n, uint32_t tag, uint32_t i,
                     uint32_t *idx)
{
    if (d->n >= UINT32_MAX - 1)
        return false;
    if (d->width == 0) {
        if (d->n == d->offs_cap) {
            uint32_t nc = d->offs_cap ? d->offs_cap * 2 : 1024;
            uint32_t *no = realloc(d->offs, (size_t)nc * sizeof *no);
            if (!no)
                return false;
            d->offs = no;
            d->offs_cap = nc;
        }
        if (d->plain.len > UINT32_MAX - 4 - (size_t)n)
            return false;
        if (!lh_buf_reserve(&d->plain, 4 + (size_t)n))
            return false;
        d->offs[d->n] = (uint32_t)d->plain.len;
        memcpy(d->plain.data + d->plain.len, &n, 4); /* PLAIN BYTE_ARRAY: 4-byte LE length */
        d->plain.len += 4;
    } else if (!lh_buf_reserve(&d->plain, n)) {
        return false;
    }
    if (n > 0)
        memcpy(d->plain.data + d->plain.len, p, n);
    d->plain.len += n;
    d->slots[i] = ((uint64_t)tag << 32) | (uint64_t)(d->n + 1);
    *idx = d->n++;
    if ((size_t)d->n * 2 > (size_t)d->mask + 1 && !grow(d))
        return false;
    return true;
}

/* One key of hash h: its index, added when new. The lookup reads the
 * entry straight from the PLAIN body (fixed width: at index * width;
 * BYTE_ARRAY: at offs[index], length first) and compares lengths and
 * short keys inline. */
__attribute__((always_inline)) static inline bool
dict_put_one(struct pq_dict *d, const uint8_t *p, uint32_t n, uint64_t h, uint32_t *idx)
{
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t i = tag & d->mask;
    for (;;) {
        uint64_t s = d->slots[i];
        if (s == 0)
            break;
        if ((uint32_t)(s >> 32) == tag) {
            uint32_t e = (uint32_t)s - 1, elen;
            const uint8_t *ev;
            if (d->width > 0) {
                elen = (uint32_t)d->width;
                ev = d->plain.data + (size_t)e * elen;
            } else {
                ev = d->plain.data + d->offs[e];
                memcpy(&elen, ev, 4);
                ev += 4;
            }
            if (elen == n && keys_equal(ev, p, n)) {
                *idx = e;
                return true;
            }
        }
        i = (i + 1) & d->mask;
    }
    return dict_add(d, p, n, tag, i, idx);
}

bool pq_dict_put(struct pq_dict *d, const void *p, uint32_t n, uint32_t *idx, bool *added)
{
    if (!d->slots && !grow(d))
        return false;
    uint32_t before = d->n;
    bool ok = dict_put_one(d, p, n, dict_hash(d->width, p, n), idx);
    *added = d->n != before;
    return ok;
}

bool pq_dict_put_fixed(struct pq_dict *d, const uint8_t *p, int64_t n, uint32_t *idx)
{
    if (!d->slots && !grow(d))
        return false;
    uint32_t w = (uint32_t)d->width;
    if (w == 8) {
        for (int64_t k = 0; k < n; k++, p += 8) {
            uint64_t key;
            memcpy(&key, p, 8);
            if (!dict_put_one(d, p, 8, mix64(key), &idx[k]))
                return false;
        }
    } else if (w == 4) {
        for (int64_t k = 0; k < n; k++, p += 4) {
            uint32_t key;
            memcpy(&key, p, 4);
            if (!dict_put_one(d, p, 4, mix64(key), &idx[k]))
                return false;
        }
    } else {
        for (int64_t k = 0; k < n; k++, p += w)
            if (!dict_put_one(d, p, w, hash_bytes(p, w), &idx[k]))
                return false;
    }
    return true;
}

/* Keys of up to 32 bytes (categories, codes, short JSON) take a lookup of
 * their own: the words loaded once serve both the hash and the compare
 * with an entry of the same length. */
bool pq_dict_put_bytes(struct pq_dict *d, const int32_t *off, const uint8_t *data, int64_t n,
                       uint32_t *idx)
{
    if (!d->slots && !grow(d))
        return false;
    for (int64_t k = 0; k < n; k++) {
        uint32_t len = (uint32_t)(off[k + 1] - off[k]);
        const uint8_t *p = data + off[k];
        if (len > 32) {
            if (!dict_put_one(d, p, len, hash_bytes(p, len), &idx[k]))
                return false;
            continue;
        }
        struct short_key key = short_words(p, len);
        uint32_t tag = (uint32_t)(short_hash(key, len) >> 32), mask = d->mask;
        const uint64_t *slots = d->slots;
        const uint8_t *plain = d->plain.data;
        uint32_t i = tag & mask, found = 0;
        for (uint64_t s = slots[i]; s != 0; s = slots[i]) {
            if ((uint32_t)(s >> 32) == tag) {
                const uint8_t *ev = plain + d->offs[(uint32_t)s - 1];
                uint32_t elen;
                memcpy(&elen, ev, 4);
                if (elen == len && short_key_eq(short_words(ev + 4, len), key)) {
                    found = (uint32_t)s; /* index + 1 */
                    break;
                }
            }
            i = (i + 1) & mask;
        }
        if (found)
            idx[k] = found - 1;
        else if (!dict_add(d, p, len, tag, i, &idx[k]))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ distinct sketch */

void pq_distinct_reset(struct pq_distinct *d)
{
    if (d->n > 0 || d->level > 0)
        memset(d->slots, 0, sizeof d->slots);
    d->thresh = UINT64_MAX;
    d->level = 0;
    d->n = 0;
}

static bool distinct_put(struct pq_distinct *d, uint64_t h)
{
    uint64_t key = h ? h : 1; /* 0 marks an empty slot */
    uint32_t mask = 2 * PQ_DISTINCT_CAP - 1;
    for (uint32_t i = (uint32_t)key & mask;; i = (i + 1) & mask) {
        if (d->slots[i] == key)
            return false;
        if (d->slots[i] == 0) {
            d->slots[i] = key;
            d->n++;
            return true;
        }
    }
}

void pq_distinct_insert(struct pq_distinct *d, uint64_t h)
{
    if (!distinct_put(d, h))
        return;
    while (d->n > PQ_DISTINCT_CAP && d->level < 63) {
        uint64_t keep[PQ_DISTINCT_CAP + 1];
        uint32_t k = 0;
        d->level++;
        d->thresh = UINT64_MAX >> d->level;
        for (uint32_t i = 0; i < 2 * PQ_DISTINCT_CAP; i++)
            if (d->slots[i] != 0 && d->slots[i] < d->thresh && k <= PQ_DISTINCT_CAP)
                keep[k++] = d->slots[i];
        memset(d->slots, 0, sizeof d->slots);
        d->n = 0;
        for (uint32_t i = 0; i < k; i++)
            distinct_put(d, keep[i]);
    }
}

uint64_t pq_distinct_estimate(const struct pq_distinct *d)
{
    return (uint64_t)d->n << d->level;
}

/* ------------------------------------------------------------ DELTA_BINARY_PACKED */

static inline uint8_t *put_uleb(uint8_t *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

static inline uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* n values of w bits (1..64, each already < 2^w), LSB first, into whole
 * 32-bit words (n * w is a multiple of 32 here). */
static inline uint8_t *pack_words(uint8_t *o, const uint64_t *v, int n, int w)
{
    uint64_t acc = 0;
    int bits = 0;
    for (int i = 0; i < n; i++) {
        uint64_t x = v[i];
        acc |= x << bits;
        bits += w;
        if (bits >= 64) {
            memcpy(o, &acc, 8);
            o += 8;
            bits -= 64;
            /* the top `bits` bits of x did not fit (bits > 0 implies the
             * old bits was > 0, so the shift is < 64) */
            acc = bits ? x >> (w - bits) : 0;
        }
    }
    if (bits) { /* 32 */
        memcpy(o, &acc, 4);
        o += 4;
    }
    return o;
}

/* A miniblock: 32 values of w bits, exactly 4*w bytes. Up to 32 bits, two
 * neighbours are joined into one value of 2w bits first (the same bits in
 * the same order), which halves the packing loop. */
static uint8_t *pack32(uint8_t *o, const uint64_t *v, int w)
{
    if (w > 32)
        return pack_words(o, v, 32, w);
    uint64_t y[16];
    for (int i = 0; i < 16; i++)
        y[i] = v[2 * i] | v[2 * i + 1] << w;
    return pack_words(o, y, 16, 2 * w);
}

size_t pq_delta_bound(size_t n, bool i64)
{
    size_t blocks = n / PQ_DELTA_BLOCK + 1;
    size_t per = 10 + PQ_DELTA_BLOCK / PQ_DELTA_MINI + PQ_DELTA_BLOCK * (i64 ? 8 : 4);
    return 4 * 10 + blocks * per;
}

/* One block of m <= 128 deltas d[] (of the type's width, zero-extended)
 * with signed minimum mn: min delta, 4 widths, the miniblocks that hold
 * values. mask: the type's all-ones (deltas - mn wrap in its width). The
 * loops have fixed trip counts so that the compiler unrolls (and, where
 * it can, vectorizes) them. */
static inline uint8_t *delta_block(uint8_t *o, uint64_t *d, size_t m, int64_t mn, uint64_t mask)
{
    o = put_uleb(o, zigzag64(mn));
    uint8_t *widths = o;
    o += PQ_DELTA_BLOCK / PQ_DELTA_MINI;
    uint64_t umn = (uint64_t)mn;
    for (size_t k = m; k < PQ_DELTA_BLOCK; k++)
        d[k] = umn; /* the last miniblock is padded to 32 values (of 0) */
    for (size_t mb = 0; mb < PQ_DELTA_BLOCK / PQ_DELTA_MINI; mb++) {
        uint64_t *x = d + mb * PQ_DELTA_MINI;
        if (mb * PQ_DELTA_MINI >= m) {
            widths[mb] = 0; /* not needed: no bytes follow */
            continue;
        }
        uint64_t all = 0;
        for (int k = 0; k < PQ_DELTA_MINI; k++) {
            x[k] = (x[k] - umn) & mask;
            all |= x[k];
        }
        int w = pq_rle_bit_width(all);
        widths[mb] = (uint8_t)w;
        if (w > 0)
            o = pack32(o, x, w);
    }
    return o;
}

/* The header (block size, miniblocks, count, first value), then blocks.
 * Typed loops below fill the deltas; everything after is shared. */
#define PQ_DELTA_PUT(name, T, U, i64)                                                              \
    void name(struct lh_buf *out, const T *v, size_t n)                                            \
    {                                                                                              \
        if (!lh_buf_reserve(out, pq_delta_bound(n, i64)))                                          \
            return;                                                                                \
        uint8_t *o0 = out->data + out->len, *o = o0;                                               \
        o = put_uleb(o, PQ_DELTA_BLOCK);                                                           \
        o = put_uleb(o, PQ_DELTA_BLOCK / PQ_DELTA_MINI);                                           \
        o = put_uleb(o, n);                                                                        \
        o = put_uleb(o, zigzag64(n ? (int64_t)v[0] : 0));                                          \
        uint64_t d[PQ_DELTA_BLOCK];                                                                \
        for (size_t i = 1; i < n; i += PQ_DELTA_BLOCK) {                                           \
            size_t m = n - i < PQ_DELTA_BLOCK ? n - i : PQ_DELTA_BLOCK;                            \
            T mn = (T)((U)v[i] - (U)v[i - 1]);                                                     \
            for (size_t k = 0; k < m; k++) {                                                       \
                T dk = (T)((U)v[i + k] - (U)v[i + k - 1]);                                         \
                mn = dk < mn ? dk : mn;                                                            \
                d[k] = (U)dk;                                                                      \
            }                                                                                      \
            o = delta_block(o, d, m, (int64_t)mn, (U)-1);                                          \
        }                                                                                          \
        out->len += (size_t)(o - o0);                                                              \
    }
PQ_DELTA_PUT(pq_delta_put_i32, int32_t, uint32_t, false)
PQ_DELTA_PUT(pq_delta_put_i64, int64_t, uint64_t, true)
#undef PQ_DELTA_PUT
