/*
 * read_decode.c — value and level decoders of the Parquet encodings
 * (Encodings.md): RLE / bit-packing hybrid, legacy BIT_PACKED,
 * DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT.
 *
 * Each decoder gets a borrowed byte view and the exact number of values the
 * caller expects; running out of bytes, impossible widths or headers that
 * disagree with the page are LH_E_FORMAT. No allocation happens here: the
 * caller owns the output arrays.
 */
#include "read_int.h"

#include <string.h>

int pq_bit_width(uint32_t v)
{
    int w = 0;
    while (v) {
        w++;
        v >>= 1;
    }
    return w;
}

/* Unsigned LEB128 varint from [*p, end). */
static bool read_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        if (shift == 63 && (b & 0x7e))
            return false;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Value i (LSB-first packing) of width bw <= 64 from q[0..limit). The
 * caller has checked that the value's bits lie inside limit. */
static uint64_t unpack_lsb(const uint8_t *q, size_t limit, uint64_t i, int bw)
{
    if (bw == 0)
        return 0;
    uint64_t bitpos = i * (uint64_t)bw;
    size_t byte = (size_t)(bitpos >> 3);
    int sh = (int)(bitpos & 7);
    unsigned __int128 w = 0;
    size_t nb = ((size_t)sh + (size_t)bw + 7) / 8;
    for (size_t k = 0; k < nb && byte + k < limit; k++)
        w |= (unsigned __int128)q[byte + k] << (8 * k);
    w >>= sh;
    if (bw < 64)
        w &= (((uint64_t)1) << bw) - 1;
    return (uint64_t)w;
}

enum lh_status pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n,
                             size_t *used, struct lh_error *err)
{
    if (bw < 0 || bw > 32)
        return lh_error_set(err, LH_E_FORMAT, "RLE: bit width %d out of range", bw);
    const uint8_t *q = p, *end = p + len;
    size_t got = 0;
    size_t vbytes = ((size_t)bw + 7) / 8;
    while (got < n) {
        uint64_t h;
        if (!read_uvarint(&q, end, &h))
            return lh_error_set(err, LH_E_FORMAT, "RLE: truncated run header after %zu of %zu "
                                                  "values", got, n);
        if (h & 1) {
            uint64_t groups = h >> 1;
            size_t avail = (size_t)(end - q);
            /* 8 values of bw bits take bw bytes. */
            uint64_t count = groups > UINT64_MAX / 8 ? UINT64_MAX : groups * 8;
            size_t take = count < n - got ? (size_t)count : n - got;
            uint64_t need = ((uint64_t)take * (uint64_t)bw + 7) / 8;
            if (need > avail)
                return lh_error_set(err, LH_E_FORMAT,
                                    "RLE: bit-packed run needs %llu bytes, %zu left",
                                    (unsigned long long)need, avail);
            for (size_t i = 0; i < take; i++)
                out[got + i] = (uint32_t)unpack_lsb(q, avail, i, bw);
            uint64_t full = groups > avail ? (uint64_t)avail : groups * (uint64_t)bw;
            q += full < avail ? full : avail;
            got += take;
        } else {
            uint64_t run = h >> 1;
            if ((size_t)(end - q) < vbytes)
                return lh_error_set(err, LH_E_FORMAT, "RLE: truncated run value");
            uint32_t v = 0;
            for (size_t k = 0; k < vbytes; k++)
                v |= (uint32_t)q[k] << (8 * k);
            q += vbytes;
            if (bw < 32 && (v >> bw) != 0)
                return lh_error_set(err, LH_E_FORMAT, "RLE: run value %u wider than %d bits", v,
                                    bw);
            size_t take = run < n - got ? (size_t)run : n - got;
            for (size_t i = 0; i < take; i++)
                out[got + i] = v;
            got += take;
        }
    }
    if (used)
        *used = (size_t)(q - p);
    return LH_OK;
}

enum lh_status pq_bitpacked_decode(const uint8_t *p, size_t len, int bw, uint32_t *out,
                                   size_t n, size_t *used, struct lh_error *err)
{
    if (bw < 0 || bw > 32)
        return lh_error_set(err, LH_E_FORMAT, "BIT_PACKED: bit width %d out of range", bw);
    uint64_t need = ((uint64_t)n * (uint64_t)bw + 7) / 8;
    if (need > len)
        return lh_error_set(err, LH_E_FORMAT, "BIT_PACKED: %zu values need %llu bytes, %zu left",
                            n, (unsigned long long)need, len);
    for (size_t i = 0; i < n; i++) {
        uint64_t bitpos = (uint64_t)i * (uint64_t)bw;
        uint32_t v = 0;
        for (int k = 0; k < bw; k++, bitpos++) {
            int bit = (p[bitpos >> 3] >> (7 - (bitpos & 7))) & 1;
            v = (v << 1) | (uint32_t)bit;
        }
        out[i] = v;
    }
    if (used)
        *used = (size_t)need;
    return LH_OK;
}

struct delta_hdr {
    uint64_t block, mini, total;
    int64_t first;
};

static enum lh_status delta_header(const uint8_t **q, const uint8_t *end, struct delta_hdr *h,
                                   struct lh_error *err)
{
    uint64_t zz;
    if (!read_uvarint(q, end, &h->block) || !read_uvarint(q, end, &h->mini) ||
        !read_uvarint(q, end, &h->total) || !read_uvarint(q, end, &zz))
        return lh_error_set(err, LH_E_FORMAT, "DELTA_BINARY_PACKED: truncated header");
    h->first = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    if (h->block == 0 || h->block % 128 != 0 || h->block > (1u << 20))
        return lh_error_set(err, LH_E_FORMAT, "DELTA_BINARY_PACKED: block size %llu invalid",
                            (unsigned long long)h->block);
    if (h->mini == 0 || h->block % h->mini != 0 || (h->block / h->mini) % 32 != 0)
        return lh_error_set(err, LH_E_FORMAT,
                            "DELTA_BINARY_PACKED: %llu miniblocks in a block of %llu invalid",
                            (unsigned long long)h->mini, (unsigned long long)h->block);
    return LH_OK;
}

enum lh_status pq_delta_count(const uint8_t *p, size_t len, uint64_t *count, struct lh_error *err)
{
    struct delta_hdr h = {0};
    const uint8_t *q = p;
    enum lh_status st = delta_header(&q, p + len, &h, err);
    if (st != LH_OK)
        return st;
    *count = h.total;
    return LH_OK;
}

enum lh_status pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n, size_t *used,
                               struct lh_error *err)
{
    const uint8_t *q = p, *end = p + len;
    struct delta_hdr h = {0};
    enum lh_status st = delta_header(&q, end, &h, err);
    if (st != LH_OK)
        return st;
    if (h.total != n)
        return lh_error_set(err, LH_E_FORMAT,
                            "DELTA_BINARY_PACKED: header holds %llu values, page needs %zu",
                            (unsigned long long)h.total, n);
    uint64_t vpm = h.block / h.mini;
    uint64_t last = (uint64_t)h.first;
    size_t got = 0;
    if (n > 0)
        out[got++] = h.first;
    while (got < n) {
        uint64_t zz;
        if (!read_uvarint(&q, end, &zz))
            return lh_error_set(err, LH_E_FORMAT, "DELTA_BINARY_PACKED: truncated block");
        uint64_t min_delta = (uint64_t)((int64_t)(zz >> 1) ^ -(int64_t)(zz & 1));
        if ((uint64_t)(end - q) < h.mini)
            return lh_error_set(err, LH_E_FORMAT, "DELTA_BINARY_PACKED: truncated bit widths");
        const uint8_t *widths = q;
        q += h.mini;
        for (uint64_t m = 0; m < h.mini && got < n; m++) {
            int bw = widths[m];
            if (bw > 64)
                return lh_error_set(err, LH_E_FORMAT,
                                    "DELTA_BINARY_PACKED: miniblock bit width %d", bw);
            size_t take = vpm < n - got ? (size_t)vpm : n - got;
            size_t avail = (size_t)(end - q);
            uint64_t need = ((uint64_t)take * (uint64_t)bw + 7) / 8;
            if (need > avail)
                return lh_error_set(err, LH_E_FORMAT,
                                    "DELTA_BINARY_PACKED: miniblock needs %llu bytes, %zu left",
                                    (unsigned long long)need, avail);
            for (size_t i = 0; i < take; i++) {
                last += min_delta + unpack_lsb(q, avail, i, bw);
                out[got++] = (int64_t)last;
            }
            uint64_t full = vpm * (uint64_t)bw / 8;
            q += full < avail ? full : avail;
        }
    }
    if (used)
        *used = (size_t)(q - p);
    return LH_OK;
}

enum lh_status pq_bss_decode(const uint8_t *p, size_t len, size_t w, uint8_t *out, size_t n,
                             struct lh_error *err)
{
    if (w == 0 || n > SIZE_MAX / w || n * w != len)
        return lh_error_set(err, LH_E_FORMAT,
                            "BYTE_STREAM_SPLIT: %zu bytes for %zu values of width %zu", len, n, w);
    for (size_t k = 0; k < w; k++) {
        const uint8_t *s = p + k * n;
        for (size_t i = 0; i < n; i++)
            out[i * w + k] = s[i];
    }
    return LH_OK;
}
