/*
 * compress.c — page compression codecs (zstd, snappy, none).
 *
 * Decompression trusts nothing: the expected size comes from a page header
 * that the caller has already bounded, and the codec must produce exactly
 * that many bytes.
 */
#include "parquet_int.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zstd.h>

const char *lh_parquet_codec_name(enum lh_parquet_codec c)
{
    static const char *const n[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                    "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return (unsigned)c < sizeof n / sizeof n[0] ? n[c] : "UNKNOWN";
}

bool lh_parquet_codec_parse(const char *s, enum lh_parquet_codec *out)
{
    if (strcasecmp(s, "zstd") == 0)
        *out = LH_PQ_ZSTD;
    else if (strcasecmp(s, "snappy") == 0)
        *out = LH_PQ_SNAPPY;
    else if (strcasecmp(s, "none") == 0 || strcasecmp(s, "uncompressed") == 0)
        *out = LH_PQ_UNCOMPRESSED;
    else
        return false;
    return true;
}

size_t pq_compress_bound(enum lh_parquet_codec c, size_t n)
{
    switch (c) {
    case LH_PQ_ZSTD:
        return ZSTD_compressBound(n);
    case LH_PQ_SNAPPY:
        return snappy_max_compressed_length(n);
    default:
        return n;
    }
}

enum lh_status pq_compress(enum lh_parquet_codec c, int level, const void *src, size_t n,
                           void *dst, size_t dst_cap, size_t *out_len, struct lh_error *err)
{
    switch (c) {
    case LH_PQ_UNCOMPRESSED:
        if (dst_cap < n)
            return lh_error_set(err, LH_E_INTERNAL, "compress: buffer too small");
        memcpy(dst, src, n);
        *out_len = n;
        return LH_OK;
    case LH_PQ_ZSTD: {
        size_t r = ZSTD_compress(dst, dst_cap, src, n, level);
        if (ZSTD_isError(r))
            return lh_error_set(err, LH_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
        *out_len = r;
        return LH_OK;
    }
    case LH_PQ_SNAPPY: {
        size_t len = dst_cap;
        if (snappy_compress(src, n, dst, &len) != SNAPPY_OK)
            return lh_error_set(err, LH_E_INTERNAL, "snappy: compression failed");
        *out_len = len;
        return LH_OK;
    }
    default:
        return lh_error_set(err, LH_E_UNSUPPORTED, "compression codec %s is not supported",
                            lh_parquet_codec_name(c));
    }
}

enum lh_status pq_decompress(enum lh_parquet_codec c, const void *src, size_t n, void *dst,
                             size_t expect, struct lh_error *err)
{
    switch (c) {
    case LH_PQ_UNCOMPRESSED:
        if (n != expect)
            return lh_error_set(err, LH_E_FORMAT,
                                "uncompressed page: %zu bytes, header says %zu", n, expect);
        memcpy(dst, src, n);
        return LH_OK;
    case LH_PQ_ZSTD: {
        size_t r = ZSTD_decompress(dst, expect, src, n);
        if (ZSTD_isError(r))
            return lh_error_set(err, LH_E_FORMAT, "zstd page: %s", ZSTD_getErrorName(r));
        if (r != expect)
            return lh_error_set(err, LH_E_FORMAT, "zstd page: %zu bytes, header says %zu", r,
                                expect);
        return LH_OK;
    }
    case LH_PQ_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK || len != expect)
            return lh_error_set(err, LH_E_FORMAT, "snappy page: bad length");
        size_t out = expect;
        if (snappy_uncompress(src, n, dst, &out) != SNAPPY_OK || out != expect)
            return lh_error_set(err, LH_E_FORMAT, "snappy page: corrupt data");
        return LH_OK;
    }
    default:
        return lh_error_set(err, LH_E_UNSUPPORTED, "compression codec %s is not supported",
                            lh_parquet_codec_name(c));
    }
}

/* ------------------------------------------------ reusable compressor (writer) */

struct pq_compressor {
    ZSTD_CCtx *zstd;
};

struct pq_compressor *pq_compressor_create(void)
{
    struct pq_compressor *cz = calloc(1, sizeof *cz);
    if (cz && !(cz->zstd = ZSTD_createCCtx())) {
        free(cz);
        cz = NULL;
    }
    return cz;
}

void pq_compressor_destroy(struct pq_compressor *cz)
{
    if (!cz)
        return;
    ZSTD_freeCCtx(cz->zstd);
    free(cz);
}

enum lh_status pq_compress_with(struct pq_compressor *cz, enum lh_parquet_codec c, int level,
                                const void *src, size_t n, void *dst, size_t dst_cap,
                                size_t *out_len, struct lh_error *err)
{
    if (c != LH_PQ_ZSTD || !cz)
        return pq_compress(c, level, src, n, dst, dst_cap, out_len, err);
    size_t r = ZSTD_compressCCtx(cz->zstd, dst, dst_cap, src, n, level);
    if (ZSTD_isError(r))
        return lh_error_set(err, LH_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
    *out_len = r;
    return LH_OK;
}

enum lh_status pq_compress_parts(struct pq_compressor *cz, enum lh_parquet_codec c, int level,
                                 const struct pq_part *parts, size_t nparts, struct lh_buf *scratch,
                                 void *dst, size_t dst_cap, size_t *out_len, struct lh_error *err)
{
    size_t total = 0, nonempty = 0, last = 0;
    for (size_t i = 0; i < nparts; i++) {
        total += parts[i].n;
        if (parts[i].n) {
            nonempty++;
            last = i;
        }
    }
    if (nonempty <= 1) {
        const void *p = nonempty ? parts[last].p : "";
        return pq_compress_with(cz, c, level, p, total, dst, dst_cap, out_len, err);
    }
    if (c == LH_PQ_ZSTD && cz) {
        ZSTD_CCtx *z = cz->zstd;
        ZSTD_CCtx_reset(z, ZSTD_reset_session_only);
        size_t r = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setPledgedSrcSize(z, total);
        ZSTD_outBuffer out = {dst, dst_cap, 0};
        for (size_t i = 0; i < nparts && !ZSTD_isError(r); i++) {
            ZSTD_inBuffer in = {parts[i].p, parts[i].n, 0};
            ZSTD_EndDirective end = i == last ? ZSTD_e_end : ZSTD_e_continue;
            if (i > last)
                break;
            do {
                r = ZSTD_compressStream2(z, &out, &in, end);
            } while (!ZSTD_isError(r) && (end == ZSTD_e_end ? r != 0 : in.pos < in.size) &&
                     out.pos < out.size);
            if (!ZSTD_isError(r) && (end == ZSTD_e_end ? r != 0 : in.pos < in.size))
                return lh_error_set(err, LH_E_INTERNAL, "zstd: output buffer too small");
        }
        if (ZSTD_isError(r))
            return lh_error_set(err, LH_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
        *out_len = out.pos;
        return LH_OK;
    }
    lh_buf_clear(scratch);
    for (size_t i = 0; i < nparts; i++)
        lh_buf_append(scratch, parts[i].p, parts[i].n);
    if (!lh_buf_ok(scratch))
        return lh_error_set(err, LH_E_NOMEM, "compress: out of memory for a page of %zu bytes",
                            total);
    return pq_compress_with(cz, c, level, scratch->data, scratch->len, dst, dst_cap, out_len, err);
}
