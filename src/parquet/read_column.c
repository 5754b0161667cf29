/*
 * read_column.c — decoding one column chunk into the batch.h layout.
 *
 * Flow: the chunk's bytes are read whole (or borrowed from an in-memory
 * file); pages are walked in order: an optional dictionary page, then data
 * pages v1/v2 (index pages skipped). For each data page the repetition and
 * definition levels are decoded first; they say how many rows, list
 * elements and non-NULL values the page holds. The non-NULL values are then
 * decoded into a physical array (page lifetime), converted to the lakehouse
 * type and appended densely to the output. When the chunk is done, the dense
 * values are spread backwards in place over their slots, leaving NULL slots
 * zeroed (the dense index never exceeds the slot index, so no extra copy).
 *
 * Memory: the output lives in the caller's arena. Chunk-lifetime scratch
 * (chunk bytes, dictionary) and page-lifetime scratch (decompressed page,
 * levels, physical values) come from two private arenas capped like the
 * caller's, freed before returning.
 *
 * Integrity: a page whose header carries a CRC (PageHeader.crc, CRC-32 of
 * the page bytes after the header, as stored) is checked before it is
 * decoded, and a mismatch fails LH_E_FORMAT saying the file is damaged.
 * Index pages are skipped unread, so unchecked. Pages without a CRC (most
 * writers leave it out) are decoded as they are.
 *
 * Trust: every count is cross-checked — page values against the chunk's
 * num_values, rows against the row group, value bytes against the page,
 * dictionary indexes against the dictionary size — and fails LH_E_FORMAT.
 */
#include "read_int.h"

#include <string.h>

struct pq_bytes {
    const uint8_t *p;
    uint32_t len;
};

struct col {
    struct lh_parquet_reader *rd;
    const struct lh_field *f;
    const struct pq_leaf *lf;
    const struct lh_parquet_chunk_info *ch;
    struct lh_arena *out;
    struct lh_arena chunk; /* chunk bytes, dictionary */
    struct lh_arena page;  /* one page's scratch */
    struct lh_error *err;
    const char *name;

    int64_t nrows;    /* rows the row group holds */
    int64_t cap;      /* slots allocated (rows, or list elements) */
    int64_t levels;   /* level entries seen */
    int64_t rows;     /* rows seen */
    int64_t slots;    /* slots filled (rows or elements) */
    int64_t nvals;    /* dense non-NULL values emitted */
    uint8_t *validity;
    bool any_null;
    size_t width; /* output slot bytes, 0 for variable length */
    uint8_t *values;
    int32_t *offsets;
    uint8_t *heap;
    size_t heap_len, heap_cap;
    int32_t *list_offsets;
    uint8_t *row_validity;
    bool any_null_row;

    size_t pwidth; /* physical value bytes, 0 for BYTE_ARRAY */
    bool has_dict;
    uint32_t dict_n;
    void *dict; /* dict_n physical values */
};

static enum lh_status nomem(struct col *c)
{
    return lh_error_set(c->err, LH_E_TOOBIG, "column %s: decoding needs more than the memory cap",
                        c->name);
}

static enum lh_status bad(struct col *c, const char *what)
{
    return lh_error_set(c->err, LH_E_FORMAT, "column %s: %s", c->name, what);
}

/* Size of one physical value in a decoded physical array. */
static size_t phys_elem(const struct col *c)
{
    return c->pwidth ? c->pwidth : sizeof(struct pq_bytes);
}

/* ------------------------------------------------------------ PLAIN */

static enum lh_status plain_decode(struct col *c, const uint8_t *p, size_t len, size_t n,
                                   void *dst, size_t *used)
{
    if (c->lf->physical == LH_PQ_BOOLEAN) {
        if ((n + 7) / 8 > len)
            return bad(c, "PLAIN booleans truncated");
        uint8_t *o = dst;
        for (size_t i = 0; i < n; i++)
            o[i] = (p[i >> 3] >> (i & 7)) & 1;
        *used = (n + 7) / 8;
        return LH_OK;
    }
    if (c->pwidth) {
        if (n > len / c->pwidth)
            return bad(c, "PLAIN values truncated");
        memcpy(dst, p, n * c->pwidth);
        *used = n * c->pwidth;
        return LH_OK;
    }
    struct pq_bytes *o = dst;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (len - pos < 4)
            return bad(c, "PLAIN byte array length truncated");
        uint32_t l;
        memcpy(&l, p + pos, 4);
        pos += 4;
        if (l > len - pos)
            return bad(c, "PLAIN byte array longer than its page");
        o[i].p = p + pos;
        o[i].len = l;
        pos += l;
    }
    *used = pos;
    return LH_OK;
}

/* ------------------------------------------------------------ values */

static enum lh_status delta_byte_arrays(struct col *c, const uint8_t *p, size_t len, size_t n,
                                        bool with_prefix, struct pq_bytes *o)
{
    enum lh_status st;
    int64_t *pre = NULL, *suf = lh_arena_alloc(&c->page, (n ? n : 1) * sizeof *suf);
    if (!suf)
        return nomem(c);
    size_t used = 0;
    if (with_prefix) {
        if (!(pre = lh_arena_alloc(&c->page, (n ? n : 1) * sizeof *pre)))
            return nomem(c);
        if ((st = pq_delta_decode(p, len, pre, n, &used, c->err)) != LH_OK)
            return st;
        p += used;
        len -= used;
    }
    if ((st = pq_delta_decode(p, len, suf, n, &used, c->err)) != LH_OK)
        return st;
    p += used;
    len -= used;
    /* Suffix bytes, then (DELTA_BYTE_ARRAY) the reconstructed values. */
    uint64_t total = 0, sufsum = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t pl = pre ? pre[i] : 0;
        if (suf[i] < 0 || pl < 0 || (uint64_t)pl > prev)
            return bad(c, "DELTA byte array lengths invalid");
        if ((uint64_t)suf[i] > len - sufsum)
            return bad(c, "DELTA byte array data truncated");
        sufsum += (uint64_t)suf[i];
        prev = (uint64_t)pl + (uint64_t)suf[i];
        if (prev > UINT32_MAX)
            return bad(c, "DELTA byte array value too long");
        total += prev;
        if (total > (uint64_t)INT32_MAX * 4)
            return nomem(c);
    }
    if (!pre) {
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            o[i].p = p + pos;
            o[i].len = (uint32_t)suf[i];
            pos += (size_t)suf[i];
        }
        return LH_OK;
    }
    uint8_t *buf = lh_arena_alloc(&c->page, total ? (size_t)total : 1);
    if (!buf)
        return nomem(c);
    size_t pos = 0, spos = 0;
    const uint8_t *last = buf;
    for (size_t i = 0; i < n; i++) {
        size_t pl = (size_t)pre[i], sl = (size_t)suf[i];
        memmove(buf + pos, last, pl);
        memcpy(buf + pos + pl, p + spos, sl);
        spos += sl;
        o[i].p = buf + pos;
        o[i].len = (uint32_t)(pl + sl);
        last = buf + pos;
        pos += pl + sl;
    }
    return LH_OK;
}

/* Decodes n non-NULL physical values of a data page into dst. */
static enum lh_status decode_values(struct col *c, int enc, const uint8_t *p, size_t len, size_t n,
                                    void *dst)
{
    enum lh_status st;
    size_t used;
    enum lh_parquet_physical ph = c->lf->physical;
    if (n == 0)
        return LH_OK;
    switch (enc) {
    case PQ_ENC_PLAIN:
        return plain_decode(c, p, len, n, dst, &used);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        if (!c->has_dict)
            return bad(c, "dictionary-encoded page without a dictionary");
        if (len < 1)
            return bad(c, "dictionary page data empty");
        uint32_t *idx = lh_arena_alloc(&c->page, n * sizeof *idx);
        if (!idx)
            return nomem(c);
        if ((st = pq_rle_decode(p + 1, len - 1, p[0], idx, n, NULL, c->err)) != LH_OK)
            return st;
        size_t w = phys_elem(c);
        uint8_t *o = dst;
        const uint8_t *d = c->dict;
        for (size_t i = 0; i < n; i++) {
            if (idx[i] >= c->dict_n)
                return lh_error_set(c->err, LH_E_FORMAT,
                                    "column %s: dictionary index %u past %u entries", c->name,
                                    idx[i], c->dict_n);
            memcpy(o + i * w, d + (size_t)idx[i] * w, w);
        }
        return LH_OK;
    }
    case PQ_ENC_RLE: {
        if (ph != LH_PQ_BOOLEAN)
            return bad(c, "RLE values on a non-boolean column");
        if (len < 4)
            return bad(c, "RLE booleans truncated");
        uint32_t l;
        memcpy(&l, p, 4);
        if (l > len - 4)
            return bad(c, "RLE booleans longer than the page");
        uint32_t *tmp = lh_arena_alloc(&c->page, n * sizeof *tmp);
        if (!tmp)
            return nomem(c);
        if ((st = pq_rle_decode(p + 4, l, 1, tmp, n, NULL, c->err)) != LH_OK)
            return st;
        uint8_t *o = dst;
        for (size_t i = 0; i < n; i++)
            o[i] = (uint8_t)tmp[i];
        return LH_OK;
    }
    case PQ_ENC_DELTA_BINARY_PACKED: {
        if (ph != LH_PQ_INT32 && ph != LH_PQ_INT64)
            return bad(c, "DELTA_BINARY_PACKED on a non-integer column");
        int64_t *tmp = lh_arena_alloc(&c->page, n * sizeof *tmp);
        if (!tmp)
            return nomem(c);
        if ((st = pq_delta_decode(p, len, tmp, n, NULL, c->err)) != LH_OK)
            return st;
        if (ph == LH_PQ_INT64) {
            memcpy(dst, tmp, n * 8);
        } else {
            int32_t *o = dst;
            for (size_t i = 0; i < n; i++)
                o[i] = (int32_t)(uint32_t)(uint64_t)tmp[i];
        }
        return LH_OK;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        if (ph != LH_PQ_BYTE_ARRAY && ph != LH_PQ_FIXED_LEN_BYTE_ARRAY)
            return bad(c, "DELTA byte array encoding on a non-binary column");
        if (enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY && ph != LH_PQ_BYTE_ARRAY)
            return bad(c, "DELTA_LENGTH_BYTE_ARRAY on a fixed-length column");
        struct pq_bytes *tmp = ph == LH_PQ_BYTE_ARRAY ? dst
                                                      : lh_arena_alloc(&c->page, n * sizeof *tmp);
        if (!tmp)
            return nomem(c);
        if ((st = delta_byte_arrays(c, p, len, n, enc == PQ_ENC_DELTA_BYTE_ARRAY, tmp)) != LH_OK)
            return st;
        if (ph == LH_PQ_FIXED_LEN_BYTE_ARRAY) {
            uint8_t *o = dst;
            for (size_t i = 0; i < n; i++) {
                if (tmp[i].len != c->pwidth)
                    return bad(c, "DELTA_BYTE_ARRAY value of the wrong fixed length");
                memcpy(o + i * c->pwidth, tmp[i].p, c->pwidth);
            }
        }
        return LH_OK;
    }
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (ph == LH_PQ_BOOLEAN || ph == LH_PQ_BYTE_ARRAY || ph == LH_PQ_INT96)
            return bad(c, "BYTE_STREAM_SPLIT on an unsupported physical type");
        return pq_bss_decode(p, len, c->pwidth, dst, n, c->err);
    default:
        return lh_error_set(c->err, LH_E_UNSUPPORTED, "column %s: encoding %d is not supported",
                            c->name, enc);
    }
}

/* ------------------------------------------------------------ conversion */

static bool decimal_be(const uint8_t *p, uint32_t len, lh_i128 *out)
{
    if (len > 16)
        return false;
    unsigned __int128 u = (len && (p[0] & 0x80)) ? ~(unsigned __int128)0 : 0;
    for (uint32_t i = 0; i < len; i++)
        u = (u << 8) | p[i];
    *out = (lh_i128)u;
    return true;
}

static bool put_decimal(struct col *c, uint8_t *slot, lh_i128 v)
{
    if (c->width == 4) {
        if (v < INT32_MIN || v > INT32_MAX)
            return false;
        int32_t x = (int32_t)v;
        memcpy(slot, &x, 4);
    } else if (c->width == 8) {
        if (v < INT64_MIN || v > INT64_MAX)
            return false;
        int64_t x = (int64_t)v;
        memcpy(slot, &x, 8);
    } else {
        memcpy(slot, &v, 16);
    }
    return true;
}

static bool scale_time(int unit, int64_t v, int64_t *out)
{
    if (unit == 1)
        return !__builtin_mul_overflow(v, 1000, out);
    if (unit == 3) {
        int64_t q = v / 1000;
        if (v % 1000 < 0)
            q--;
        *out = q;
        return true;
    }
    *out = v;
    return true;
}

static enum lh_status heap_append(struct col *c, const uint8_t *p, uint32_t len)
{
    if (len > c->heap_cap - c->heap_len) {
        size_t need = c->heap_len + len;
        if (need > INT32_MAX)
            return lh_error_set(c->err, LH_E_TOOBIG,
                                "column %s: more than 2 GiB of values in one chunk", c->name);
        size_t ncap = c->heap_cap ? c->heap_cap : 4096;
        while (ncap < need)
            ncap *= 2;
        uint8_t *nh = lh_arena_alloc(c->out, ncap);
        if (!nh)
            return nomem(c);
        if (c->heap_len)
            memcpy(nh, c->heap, c->heap_len);
        c->heap = nh;
        c->heap_cap = ncap;
    }
    if (len)
        memcpy(c->heap + c->heap_len, p, len);
    c->heap_len += len;
    return LH_OK;
}

/* Appends n physical values densely to the output. */
static enum lh_status emit(struct col *c, const void *src, size_t n)
{
    const struct lh_field *f = c->f;
    enum lh_parquet_physical ph = c->lf->physical;
    if (n > (uint64_t)(c->cap - c->nvals))
        return bad(c, "more values than slots");
    if (!c->width) {
        const struct pq_bytes *b = src;
        for (size_t i = 0; i < n; i++) {
            enum lh_status st = heap_append(c, b[i].p, b[i].len);
            if (st != LH_OK)
                return st;
            c->offsets[c->nvals + 1] = (int32_t)c->heap_len;
            c->nvals++;
        }
        return LH_OK;
    }
    uint8_t *dst = c->values + (size_t)c->nvals * c->width;
    const uint8_t *s = src;
    if (f->type == LH_T_DECIMAL) {
        for (size_t i = 0; i < n; i++) {
            lh_i128 v = 0;
            if (ph == LH_PQ_INT32) {
                int32_t x;
                memcpy(&x, s + i * 4, 4);
                v = x;
            } else if (ph == LH_PQ_INT64) {
                int64_t x;
                memcpy(&x, s + i * 8, 8);
                v = x;
            } else if (ph == LH_PQ_FIXED_LEN_BYTE_ARRAY) {
                if (!decimal_be(s + i * c->pwidth, (uint32_t)c->pwidth, &v))
                    return bad(c, "decimal wider than 16 bytes");
            } else {
                const struct pq_bytes *b = src;
                if (!decimal_be(b[i].p, b[i].len, &v))
                    return bad(c, "decimal wider than 16 bytes");
            }
            if (!put_decimal(c, dst + i * c->width, v))
                return bad(c, "decimal value exceeds its precision");
        }
    } else if (c->lf->int96) {
        for (size_t i = 0; i < n; i++) {
            int64_t nanos, us;
            int32_t jd;
            memcpy(&nanos, s + i * 12, 8);
            memcpy(&jd, s + i * 12 + 8, 4);
            int64_t q = nanos / 1000 - (nanos % 1000 < 0);
            if (__builtin_mul_overflow((int64_t)jd - 2440588, (int64_t)86400000000, &us) ||
                __builtin_add_overflow(us, q, &us))
                return bad(c, "INT96 timestamp out of range");
            memcpy(dst + i * 8, &us, 8);
        }
    } else if (c->lf->time_unit && ph == LH_PQ_INT32) { /* TIME(MILLIS) */
        for (size_t i = 0; i < n; i++) {
            int32_t x;
            memcpy(&x, s + i * 4, 4);
            int64_t us = (int64_t)x * 1000;
            memcpy(dst + i * 8, &us, 8);
        }
    } else if (c->lf->time_unit && c->lf->time_unit != 2) {
        for (size_t i = 0; i < n; i++) {
            int64_t x, us;
            memcpy(&x, s + i * 8, 8);
            if (!scale_time(c->lf->time_unit, x, &us))
                return bad(c, "timestamp out of range");
            memcpy(dst + i * 8, &us, 8);
        }
    } else {
        /* Same bits, same width: ints, floats, booleans, UUID, FIXED. */
        if (c->width != c->pwidth)
            return bad(c, "internal width mismatch");
        memcpy(dst, s, n * c->width);
    }
    c->nvals += (int64_t)n;
    return LH_OK;
}

/* ------------------------------------------------------------ levels */

static enum lh_status decode_levels(struct col *c, int enc, bool v2, const uint8_t **p,
                                    size_t *len, int16_t max, uint32_t *out, size_t n)
{
    enum lh_status st;
    int bw = pq_bit_width((uint32_t)max);
    size_t used;
    if (v2) {
        if ((st = pq_rle_decode(*p, *len, bw, out, n, &used, c->err)) != LH_OK)
            return st;
        return LH_OK;
    }
    if (enc == PQ_ENC_RLE) {
        if (*len < 4)
            return bad(c, "level length truncated");
        uint32_t l;
        memcpy(&l, *p, 4);
        if (l > *len - 4)
            return bad(c, "levels longer than the page");
        if ((st = pq_rle_decode(*p + 4, l, bw, out, n, NULL, c->err)) != LH_OK)
            return st;
        *p += 4 + (size_t)l;
        *len -= 4 + (size_t)l;
        return LH_OK;
    }
    if (enc == PQ_ENC_BIT_PACKED) {
        if ((st = pq_bitpacked_decode(*p, *len, bw, out, n, &used, c->err)) != LH_OK)
            return st;
        *p += used;
        *len -= used;
        return LH_OK;
    }
    return lh_error_set(c->err, LH_E_UNSUPPORTED, "column %s: level encoding %d is not supported",
                        c->name, enc);
}

/* The next value slot, NULL or not: 1 when it holds a value. */
static size_t slot_add(struct col *c, bool valid)
{
    if (c->validity)
        lh_bit_set(c->validity, c->slots, valid);
    if (!valid)
        c->any_null = true;
    c->slots++;
    return valid;
}

/* Applies one page's levels: rows, list offsets, slot validity. Returns
 * the number of non-NULL values the page must hold in *nn. */
static enum lh_status apply_levels(struct col *c, const uint32_t *rep, const uint32_t *def,
                                   size_t n, size_t *nn)
{
    const struct pq_leaf *lf = c->lf;
    size_t cnt = 0;
    if (!lf->max_rep) {
        if ((int64_t)n > c->nrows - c->rows)
            return bad(c, "more values than rows");
        for (size_t i = 0; i < n; i++) {
            bool valid = true;
            if (def) {
                if (def[i] > (uint32_t)lf->max_def)
                    return bad(c, "definition level above the maximum");
                valid = def[i] == (uint32_t)lf->max_def;
            }
            cnt += slot_add(c, valid);
        }
        c->rows = c->slots;
        *nn = cnt;
        return LH_OK;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rep[i], d = def[i];
        if (r > 1 || d > (uint32_t)lf->max_def)
            return bad(c, "level above the maximum");
        if (r == 0) {
            if (c->rows >= c->nrows)
                return bad(c, "more lists than rows");
            c->list_offsets[c->rows] = (int32_t)c->slots;
            bool present = d >= (uint32_t)lf->def_list;
            lh_bit_set(c->row_validity, c->rows, present);
            if (!present)
                c->any_null_row = true;
            c->rows++;
        } else if (c->rows == 0 || d < (uint32_t)lf->def_elem) {
            return bad(c, "repetition level continues no list");
        }
        if (d >= (uint32_t)lf->def_elem) {
            if (c->slots >= c->cap || c->slots >= INT32_MAX)
                return bad(c, "more list elements than values");
            bool valid = d == (uint32_t)lf->max_def;
            cnt += slot_add(c, valid);
        }
    }
    *nn = cnt;
    return LH_OK;
}

/* ------------------------------------------------------------ pages */

struct page_hdr {
    int32_t type, usize, csize;
    int32_t num_values, encoding, def_enc, rep_enc;
    int32_t num_nulls, num_rows, def_len, rep_len;
    bool is_compressed;
    bool has_data, has_dict, has_v2;
    bool has_crc;
    uint32_t crc;
};

/* The page kind's own header: DataPageHeader (kind 5), DictionaryPageHeader
 * (7) or DataPageHeaderV2 (8). Their i32 fields by field id; V2's field 7
 * is a bool. */
static void parse_page_kind(struct pq_tc *r, int16_t kind, struct page_hdr *h)
{
    int32_t *const v1[5] = {[1] = &h->num_values, [2] = &h->encoding, [3] = &h->def_enc,
                            [4] = &h->rep_enc};
    int32_t *const dict[5] = {[1] = &h->num_values, [2] = &h->encoding};
    int32_t *const v2[7] = {[1] = &h->num_values, [2] = &h->num_nulls, [3] = &h->num_rows,
                            [4] = &h->encoding,   [5] = &h->def_len,   [6] = &h->rep_len};
    int32_t *const *slot = kind == 5 ? v1 : kind == 7 ? dict : v2;
    int16_t nslots = kind == 8 ? 7 : 5;
    pq_tc_struct_begin(r);
    int16_t last = 0, f;
    uint8_t t;
    while (pq_tc_field(r, &last, &f, &t)) {
        if (f > 0 && f < nslots && slot[f])
            *slot[f] = pq_tc_field_i32(r, t);
        else if (kind == 8 && f == 7)
            h->is_compressed = pq_tc_field_bool(r, t);
        else
            pq_tc_skip(r, t);
    }
    pq_tc_struct_end(r);
    h->has_data |= kind == 5;
    h->has_dict |= kind == 7;
    h->has_v2 |= kind == 8;
}

static void parse_page_hdr(struct pq_tc *r, struct page_hdr *h)
{
    *h = (struct page_hdr){.type = -1, .usize = -1, .csize = -1, .is_compressed = true};
    pq_tc_struct_begin(r);
    int16_t last = 0, id;
    uint8_t t;
    while (pq_tc_field(r, &last, &id, &t)) {
        if (id == 1) {
            h->type = pq_tc_field_i32(r, t);
        } else if (id == 2) {
            h->usize = pq_tc_field_i32(r, t);
        } else if (id == 3) {
            h->csize = pq_tc_field_i32(r, t);
        } else if (id == 4) {
            h->crc = (uint32_t)pq_tc_field_i32(r, t);
            h->has_crc = true;
        } else if ((id == 5 || id == 7 || id == 8) && t == PQ_TC_STRUCT) {
            parse_page_kind(r, id, h);
        } else {
            pq_tc_skip(r, t);
        }
    }
    pq_tc_struct_end(r);
    if (pq_tc_ok(r) && (h->type < 0 || h->usize < 0 || h->csize < 0))
        pq_tc_fail(r, "page header lacks its type or sizes");
}

/* Decompresses [p, p+n) into page scratch of exactly `expect` bytes. */
static enum lh_status page_body(struct col *c, struct lh_arena *a, const uint8_t *p, size_t n,
                                size_t expect, bool compressed, const uint8_t **out)
{
    if (!compressed || c->ch->codec == LH_PQ_UNCOMPRESSED) {
        if (n != expect)
            return bad(c, "uncompressed page size disagrees with its header");
        *out = p;
        return LH_OK;
    }
    uint8_t *buf = lh_arena_alloc(a, expect ? expect : 1);
    if (!buf)
        return nomem(c);
    enum lh_status st = pq_decompress(c->ch->codec, p, n, buf, expect, c->err);
    if (st != LH_OK)
        return lh_error_wrap(c->err, st, "column %s", c->name);
    *out = buf;
    return LH_OK;
}

static enum lh_status dict_page(struct col *c, const struct page_hdr *h, const uint8_t *body,
                                size_t n)
{
    if (c->has_dict)
        return bad(c, "second dictionary page");
    if (c->levels > 0)
        return bad(c, "dictionary page after data pages");
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return bad(c, "dictionary page not PLAIN-encoded");
    if (h->num_values < 0)
        return bad(c, "dictionary page with a negative count");
    const uint8_t *data;
    enum lh_status st = page_body(c, &c->chunk, body, n, (size_t)h->usize, true, &data);
    if (st != LH_OK)
        return st;
    size_t cnt = (size_t)h->num_values;
    /* Every entry takes at least one bit (booleans) or byte. */
    if (cnt > (size_t)h->usize * 8)
        return bad(c, "dictionary count larger than its page");
    c->dict = lh_arena_alloc(&c->chunk, (cnt ? cnt : 1) * phys_elem(c));
    if (!c->dict)
        return nomem(c);
    size_t used;
    if ((st = plain_decode(c, data, (size_t)h->usize, cnt, c->dict, &used)) != LH_OK)
        return st;
    c->dict_n = (uint32_t)cnt;
    c->has_dict = true;
    return LH_OK;
}

/* True when emit() would copy the physical values unchanged (the last
 * branch of emit): ints, floats, booleans, UUID, FIXED, MICROS times. */
static bool same_bits(const struct col *c)
{
    const struct pq_leaf *lf = c->lf;
    if (!c->width || c->width != c->pwidth || c->f->type == LH_T_DECIMAL || lf->int96)
        return false;
    if (lf->time_unit && (lf->physical == LH_PQ_INT32 || lf->time_unit != 2))
        return false;
    return true;
}

static enum lh_status data_page(struct col *c, const struct page_hdr *h, const uint8_t *body,
                                size_t n)
{
    const struct pq_leaf *lf = c->lf;
    enum lh_status st;
    if (h->num_values < 0 || h->num_values > c->ch->num_values - c->levels)
        return bad(c, "page holds more values than the chunk");
    size_t nv = (size_t)h->num_values;
    const uint8_t *p;
    size_t len;
    uint32_t *rep = NULL, *def = NULL;
    if (lf->max_rep && !(rep = lh_arena_alloc(&c->page, (nv ? nv : 1) * sizeof *rep)))
        return nomem(c);
    if (lf->max_def && !(def = lh_arena_alloc(&c->page, (nv ? nv : 1) * sizeof *def)))
        return nomem(c);
    if (h->has_v2) {
        if (h->def_len < 0 || h->rep_len < 0 ||
            (uint64_t)h->def_len + (uint64_t)h->rep_len > n ||
            (uint64_t)h->def_len + (uint64_t)h->rep_len > (uint64_t)h->usize)
            return bad(c, "v2 page level lengths exceed the page");
        size_t ll = (size_t)h->rep_len + (size_t)h->def_len;
        const uint8_t *q = body;
        size_t ql = (size_t)h->rep_len;
        if (rep && (st = decode_levels(c, PQ_ENC_RLE, true, &q, &ql, lf->max_rep, rep, nv)) != LH_OK)
            return st;
        q = body + h->rep_len;
        ql = (size_t)h->def_len;
        if (def && (st = decode_levels(c, PQ_ENC_RLE, true, &q, &ql, lf->max_def, def, nv)) != LH_OK)
            return st;
        if ((st = page_body(c, &c->page, body + ll, n - ll, (size_t)h->usize - ll,
                            h->is_compressed, &p)) != LH_OK)
            return st;
        len = (size_t)h->usize - ll;
    } else {
        if ((st = page_body(c, &c->page, body, n, (size_t)h->usize, true, &p)) != LH_OK)
            return st;
        len = (size_t)h->usize;
        if (rep && (st = decode_levels(c, h->rep_enc, false, &p, &len, lf->max_rep, rep, nv)) != LH_OK)
            return st;
        if (def && (st = decode_levels(c, h->def_enc, false, &p, &len, lf->max_def, def, nv)) != LH_OK)
            return st;
    }
    size_t nn = 0;
    int64_t rows_before = c->rows;
    if ((st = apply_levels(c, rep, def, nv, &nn)) != LH_OK)
        return st;
    if (h->has_v2 && ((size_t)h->num_nulls != nv - nn || h->num_rows != c->rows - rows_before))
        return bad(c, "v2 page header counts disagree with its levels");
    c->levels += (int64_t)nv;
    if (same_bits(c)) { /* decode straight into the output slots: no scratch copy */
        if (nn > (uint64_t)(c->cap - c->nvals))
            return bad(c, "more values than slots");
        if ((st = decode_values(c, h->encoding, p, len, nn,
                                c->values + (size_t)c->nvals * c->width)) != LH_OK)
            return st;
        c->nvals += (int64_t)nn;
        return LH_OK;
    }
    void *phys = lh_arena_alloc(&c->page, (nn ? nn : 1) * phys_elem(c));
    if (!phys)
        return nomem(c);
    if ((st = decode_values(c, h->encoding, p, len, nn, phys)) != LH_OK)
        return st;
    return emit(c, phys, nn);
}

/* ------------------------------------------------------------ finish */

static void spread(struct col *c)
{
    int64_t k = c->nvals;
    if (c->width) {
        for (int64_t s = c->slots - 1; s >= 0; s--) {
            uint8_t *slot = c->values + (size_t)s * c->width;
            if (lh_bit_get(c->validity, s)) {
                k--;
                if (k != s)
                    memcpy(slot, c->values + (size_t)k * c->width, c->width);
            } else {
                memset(slot, 0, c->width);
            }
        }
    } else {
        c->offsets[c->slots] = c->offsets[c->nvals];
        for (int64_t s = c->slots - 1; s >= 0; s--) {
            if (lh_bit_get(c->validity, s)) {
                k--;
                c->offsets[s] = c->offsets[k];
            } else {
                c->offsets[s] = c->offsets[s + 1];
            }
        }
    }
}

enum lh_status lh_parquet_reader_read_column(struct lh_parquet_reader *r, int32_t rg, size_t ci,
                                             struct lh_arena *arena, struct lh_array *out,
                                             struct lh_error *err)
{
    enum lh_status st = LH_OK;
    *out = (struct lh_array){0};
    if (rg < 0 || rg >= r->info.num_row_groups || ci >= r->info.schema.nfields)
        return lh_error_set(err, LH_E_INVAL, "row group %d / column %zu out of range", rg, ci);
    struct col c = {
        .rd = r,
        .f = &r->info.schema.fields[ci],
        .lf = &r->leaves[ci],
        .ch = &r->info.row_groups[rg].chunks[ci],
        .out = arena,
        .err = err,
        .name = r->info.schema.fields[ci].name,
        .nrows = r->info.row_groups[rg].num_rows,
    };
    size_t cap = arena->max ? arena->max : (size_t)1 << 34;
    lh_arena_init(&c.chunk, cap);
    lh_arena_init(&c.page, cap);
    const struct lh_parquet_chunk_info *ch = c.ch;

    if (ch->codec != LH_PQ_UNCOMPRESSED && ch->codec != LH_PQ_ZSTD && ch->codec != LH_PQ_SNAPPY) {
        st = lh_error_set(err, LH_E_UNSUPPORTED, "column %s: compression codec %s is not supported",
                          c.name, lh_parquet_codec_name(ch->codec));
        goto done;
    }
    if (ch->num_values > INT32_MAX || c.nrows > INT32_MAX) {
        st = lh_error_set(err, LH_E_UNSUPPORTED, "column %s: more than 2^31 values in a chunk",
                          c.name);
        goto done;
    }
    c.pwidth = pq_plain_width(c.lf);
    c.width = lh_type_width(c.f);
    c.cap = c.lf->max_rep ? ch->num_values : c.nrows;
    size_t ncap = (size_t)c.cap;

    /* Output buffers (caller's arena). */
    if (c.width) {
        if (!(c.values = lh_arena_alloc(arena, (ncap ? ncap : 1) * c.width)))
            goto oom;
    } else {
        if (!(c.offsets = lh_arena_alloc(arena, (ncap + 1) * sizeof(int32_t))))
            goto oom;
    }
    if (c.lf->max_def > (c.lf->max_rep ? c.lf->def_elem : 0) &&
        !(c.validity = lh_arena_alloc(arena, ncap / 8 + 1)))
        goto oom;
    if (c.lf->max_rep) {
        if (!(c.list_offsets = lh_arena_alloc(arena, ((size_t)c.nrows + 1) * sizeof(int32_t))) ||
            !(c.row_validity = lh_arena_alloc(arena, (size_t)c.nrows / 8 + 1)))
            goto oom;
    }

    /* The chunk's bytes. */
    uint64_t start = (uint64_t)ch->data_page_offset;
    if (ch->dictionary_page_offset > 0 && ch->dictionary_page_offset < ch->data_page_offset)
        start = (uint64_t)ch->dictionary_page_offset;
    size_t clen = (size_t)ch->total_compressed_size;
    const uint8_t *buf;
    if (r->mem) {
        buf = r->mem + start;
    } else {
        uint8_t *b = lh_arena_alloc(&c.chunk, clen ? clen : 1);
        if (!b)
            goto oom;
        if ((st = r->in.read_at(r->in.ctx, start, b, clen, err)) != LH_OK)
            goto done;
        buf = b;
    }

    size_t pos = 0;
    int npage = 0;
    while (c.levels < ch->num_values) {
        if (pos >= clen) {
            st = lh_error_set(err, LH_E_FORMAT,
                              "column %s: chunk ends after %lld of %lld values", c.name,
                              (long long)c.levels, (long long)ch->num_values);
            goto done;
        }
        struct pq_tc tc;
        struct page_hdr h;
        pq_tc_init(&tc, buf + pos, clen - pos, err);
        parse_page_hdr(&tc, &h);
        if (!pq_tc_ok(&tc)) {
            lh_error_prefix(err, "column %s: page header", c.name);
            st = LH_E_FORMAT;
            goto done;
        }
        pos = (size_t)(tc.p - buf);
        if ((size_t)h.csize > clen - pos) {
            st = bad(&c, "page runs past the end of its chunk");
            goto done;
        }
        const uint8_t *body = buf + pos;
        pos += (size_t)h.csize;
        lh_arena_reset(&c.page);
        if (h.has_crc &&
            (h.type == PQ_PAGE_DICTIONARY || h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2)) {
            uint32_t got = lh_crc32(0, body, (size_t)h.csize);
            if (got != h.crc) {
                st = lh_error_set(err, LH_E_FORMAT,
                                  "column %s: page %d of row group %d fails its CRC check "
                                  "(stored %08x, computed %08x): the file is damaged",
                                  c.name, npage, rg, h.crc, got);
                goto done;
            }
        }
        npage++;
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (!h.has_dict) {
                st = bad(&c, "dictionary page without its header");
                goto done;
            }
            st = dict_page(&c, &h, body, (size_t)h.csize);
        } else if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
            if ((h.type == PQ_PAGE_DATA && !h.has_data) || (h.type == PQ_PAGE_DATA_V2 && !h.has_v2)) {
                st = bad(&c, "data page without its header");
                goto done;
            }
            st = data_page(&c, &h, body, (size_t)h.csize);
        }
        /* Index pages and unknown page types are skipped. */
        if (st != LH_OK)
            goto done;
    }
    if (c.rows != c.nrows) {
        st = lh_error_set(err, LH_E_FORMAT, "column %s: chunk holds %lld rows, row group %lld",
                          c.name, (long long)c.rows, (long long)c.nrows);
        goto done;
    }
    spread(&c);

    struct lh_array *vals = out;
    if (c.lf->max_rep) {
        c.list_offsets[c.rows] = (int32_t)c.slots;
        struct lh_array *child = lh_arena_alloc(arena, sizeof *child);
        if (!child)
            goto oom;
        out->length = c.rows;
        out->validity = c.any_null_row ? c.row_validity : NULL;
        out->list_offsets = c.list_offsets;
        out->child = child;
        vals = child;
    }
    vals->length = c.slots;
    vals->validity = c.any_null ? c.validity : NULL;
    vals->values = c.values;
    vals->offsets = c.offsets;
    vals->data = c.heap ? c.heap : (const uint8_t *)"";
    goto done;
oom:
    st = nomem(&c);
done:
    lh_arena_reset(&c.page);
    lh_arena_reset(&c.chunk);
    return st;
}
