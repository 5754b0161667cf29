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

/* Eight values of `w` bits, LSB first: exactly w bytes. */
static void bitpack8(struct lh_buf *out, const uint32_t *v, int w)
{
    uint8_t tmp[32];
    uint64_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        acc |= (uint64_t)v[i] << bits;
        bits += w;
        while (bits >= 8) {
            tmp[n++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    lh_buf_append(out, tmp, n);
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

void pq_rle_put(struct pq_rle *e, uint32_t v)
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

void pq_rle_put_run(struct pq_rle *e, uint32_t v, uint64_t n)
{
    while (n > 0) {
        if (v == e->cur && e->repeat >= 8) {
            e->repeat += n;
            return;
        }
        pq_rle_put(e, v);
        n--;
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

void pq_stats_bytes(struct pq_stats *s, const uint8_t *p, size_t n)
{
    if (!s->has) {
        lh_buf_append(&s->bmin, p, n);
        lh_buf_append(&s->bmax, p, n);
        s->has = true;
        return;
    }
    if (bytes_cmp(p, n, s->bmin.data, s->bmin.len) < 0) {
        s->bmin.len = 0;
        lh_buf_append(&s->bmin, p, n);
    } else if (bytes_cmp(p, n, s->bmax.data, s->bmax.len) > 0) {
        s->bmax.len = 0;
        lh_buf_append(&s->bmax, p, n);
    }
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
        uint64_t k = 0;
        memcpy(&k, s, n);
        h = (h ^ k) * 0x4cf5ad432745937fULL;
    }
    return mix64(h);
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
    return hash_bytes(p, n);
}

uint64_t pq_dict_hash(const void *p, size_t n)
{
    return hash_bytes(p, n);
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
    return n == 0 || memcmp(a, b, n) == 0;
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

bool pq_dict_put(struct pq_dict *d, const void *p, uint32_t n, uint32_t *idx, bool *added)
{
    if (!d->slots && !grow(d))
        return false;
    uint64_t h = dict_hash(d->width, p, n);
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t i = tag & d->mask;
    for (;;) {
        uint64_t s = d->slots[i];
        if (s == 0)
            break;
        if ((uint32_t)(s >> 32) == tag) {
            uint32_t e = (uint32_t)s - 1, elen;
            const uint8_t *ev = pq_dict_entry(d, e, &elen);
            if (elen == n && keys_equal(ev, p, n)) {
                *idx = e;
                *added = false;
                return true;
            }
        }
        i = (i + 1) & d->mask;
    }
    /* new entry */
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
        d->offs[d->n] = (uint32_t)d->plain.len;
        lh_buf_append(&d->plain, &n, 4); /* PLAIN BYTE_ARRAY: 4-byte LE length */
    }
    lh_buf_append(&d->plain, p, n);
    if (!lh_buf_ok(&d->plain))
        return false;
    d->slots[i] = ((uint64_t)tag << 32) | (uint64_t)(d->n + 1);
    *idx = d->n++;
    *added = true;
    if ((size_t)d->n * 2 > (size_t)d->mask + 1 && !grow(d))
        return false;
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
