/*
 * read_thrift.c — Thrift compact protocol decoder for the Parquet footer
 * and page headers.
 *
 * The decoder walks a borrowed pointer+length view. Errors are sticky: the
 * first problem records an LH_E_FORMAT message, and from then on every read
 * returns zero/false without touching the input, so struct parsers are a
 * straight list of reads with one check at the end (STYLE.md, the libpq
 * "broken" pattern turned around for decoding). Containers are bounded by
 * the bytes that remain (each element takes at least one byte) and by
 * PQ_TC_MAX_LIST; nesting is bounded by PQ_TC_MAX_DEPTH.
 */
#include "read_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pq_tc_init(struct pq_tc *r, const void *p, size_t n, struct lh_error *err)
{
    r->p = p;
    r->end = r->p + n;
    r->depth = 0;
    r->failed = false;
    r->err = err;
}

void pq_tc_fail(struct pq_tc *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    r->p = r->end;
    if (r->err) {
        char msg[256];
        LH_VFORMAT(msg, fmt);
        lh_error_set(r->err, LH_E_FORMAT, "thrift: %s", msg);
    }
}

uint64_t pq_tc_varint(struct pq_tc *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->failed)
            return 0;
        if (r->p >= r->end) {
            pq_tc_fail(r, "truncated varint");
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift == 63 && (b & 0x7e)) {
            pq_tc_fail(r, "varint overflows 64 bits");
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    pq_tc_fail(r, "varint longer than 10 bytes");
    return 0;
}

int64_t pq_tc_i64(struct pq_tc *r)
{
    uint64_t u = pq_tc_varint(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int32_t pq_tc_i32(struct pq_tc *r)
{
    int64_t v = pq_tc_i64(r);
    if (v < INT32_MIN || v > INT32_MAX) {
        pq_tc_fail(r, "i32 value %lld out of range", (long long)v);
        return 0;
    }
    return (int32_t)v;
}

int8_t pq_tc_i8(struct pq_tc *r)
{
    if (r->failed)
        return 0;
    if (r->p >= r->end) {
        pq_tc_fail(r, "truncated byte");
        return 0;
    }
    return (int8_t)*r->p++;
}

double pq_tc_double(struct pq_tc *r)
{
    if (r->failed)
        return 0;
    if (r->end - r->p < 8) {
        pq_tc_fail(r, "truncated double");
        return 0;
    }
    double d;
    memcpy(&d, r->p, 8);
    r->p += 8;
    return d;
}

void pq_tc_binary(struct pq_tc *r, const uint8_t **p, uint32_t *len)
{
    *p = NULL;
    *len = 0;
    uint64_t n = pq_tc_varint(r);
    if (r->failed)
        return;
    if (n > (uint64_t)(r->end - r->p)) {
        pq_tc_fail(r, "binary length %llu exceeds the %zu bytes left", (unsigned long long)n,
                   (size_t)(r->end - r->p));
        return;
    }
    *p = r->p;
    *len = (uint32_t)n;
    r->p += n;
}

void pq_tc_struct_begin(struct pq_tc *r)
{
    if (++r->depth > PQ_TC_MAX_DEPTH)
        pq_tc_fail(r, "nesting deeper than %d", PQ_TC_MAX_DEPTH);
}

void pq_tc_struct_end(struct pq_tc *r)
{
    r->depth--;
}

bool pq_tc_field(struct pq_tc *r, int16_t *last, int16_t *id, uint8_t *type)
{
    if (r->failed)
        return false;
    if (r->p >= r->end) {
        pq_tc_fail(r, "truncated struct (no STOP)");
        return false;
    }
    uint8_t b = *r->p++;
    if (b == 0)
        return false;
    uint8_t t = b & 0x0f;
    int delta = b >> 4;
    if (t > PQ_TC_STRUCT) {
        pq_tc_fail(r, "unknown field type %u", t);
        return false;
    }
    if (delta) {
        int v = *last + delta;
        if (v > INT16_MAX) {
            pq_tc_fail(r, "field id overflow");
            return false;
        }
        *id = (int16_t)v;
    } else {
        int64_t v = pq_tc_i64(r);
        if (v < INT16_MIN || v > INT16_MAX) {
            pq_tc_fail(r, "field id %lld out of range", (long long)v);
            return false;
        }
        *id = (int16_t)v;
    }
    *last = *id;
    *type = t;
    return !r->failed;
}

void pq_tc_list(struct pq_tc *r, uint8_t *elem_type, uint32_t *count)
{
    *elem_type = 0;
    *count = 0;
    if (r->failed)
        return;
    if (r->p >= r->end) {
        pq_tc_fail(r, "truncated list header");
        return;
    }
    uint8_t b = *r->p++;
    uint64_t n = b >> 4;
    if (n == 15)
        n = pq_tc_varint(r);
    uint8_t t = b & 0x0f;
    if (r->failed)
        return;
    if (t == PQ_TC_STOP || t > PQ_TC_STRUCT) {
        pq_tc_fail(r, "unknown list element type %u", t);
        return;
    }
    /* Every element takes at least one byte on the wire. */
    if (n > (uint64_t)(r->end - r->p) || n > PQ_TC_MAX_LIST) {
        pq_tc_fail(r, "list of %llu elements exceeds the %zu bytes left", (unsigned long long)n,
                   (size_t)(r->end - r->p));
        return;
    }
    *elem_type = t;
    *count = (uint32_t)n;
}

/* Skips one element of a list, set or map: there a bool is a byte of its
 * own, not part of a field header. */
static void skip_elem(struct pq_tc *r, uint8_t type)
{
    if (type == PQ_TC_TRUE || type == PQ_TC_FALSE)
        (void)pq_tc_i8(r);
    else
        pq_tc_skip(r, type);
}

void pq_tc_skip(struct pq_tc *r, uint8_t type)
{
    if (r->failed)
        return;
    switch (type) {
    case PQ_TC_TRUE:
    case PQ_TC_FALSE:
        /* As a field the value is in the header; as a container element
         * it is one byte, which skip_elem reads. */
        return;
    case PQ_TC_I8:
        (void)pq_tc_i8(r);
        return;
    case PQ_TC_I16:
    case PQ_TC_I32:
    case PQ_TC_I64:
        (void)pq_tc_varint(r);
        return;
    case PQ_TC_DOUBLE:
        (void)pq_tc_double(r);
        return;
    case PQ_TC_BINARY: {
        const uint8_t *p;
        uint32_t n;
        pq_tc_binary(r, &p, &n);
        return;
    }
    case PQ_TC_LIST:
    case PQ_TC_SET: {
        uint8_t et;
        uint32_t n;
        pq_tc_list(r, &et, &n);
        pq_tc_struct_begin(r);
        for (uint32_t i = 0; i < n && !r->failed; i++)
            skip_elem(r, et);
        pq_tc_struct_end(r);
        return;
    }
    case PQ_TC_MAP: {
        uint64_t n = pq_tc_varint(r);
        if (r->failed || n == 0)
            return;
        if (n > (uint64_t)(r->end - r->p) || n > PQ_TC_MAX_LIST) {
            pq_tc_fail(r, "map of %llu entries exceeds the bytes left", (unsigned long long)n);
            return;
        }
        uint8_t kv = (uint8_t)pq_tc_i8(r);
        uint8_t kt = kv >> 4, vt = kv & 0x0f;
        if (kt == PQ_TC_STOP || kt > PQ_TC_STRUCT || vt == PQ_TC_STOP || vt > PQ_TC_STRUCT) {
            pq_tc_fail(r, "unknown map key/value types %u/%u", kt, vt);
            return;
        }
        pq_tc_struct_begin(r);
        for (uint64_t i = 0; i < n && !r->failed; i++) {
            skip_elem(r, kt);
            skip_elem(r, vt);
        }
        pq_tc_struct_end(r);
        return;
    }
    case PQ_TC_STRUCT: {
        pq_tc_struct_begin(r);
        int16_t last = 0, id;
        uint8_t t;
        while (pq_tc_field(r, &last, &id, &t))
            pq_tc_skip(r, t);
        pq_tc_struct_end(r);
        return;
    }
    default:
        pq_tc_fail(r, "cannot skip type %u", type);
    }
}

bool pq_tc_expect(struct pq_tc *r, uint8_t type, uint8_t want, const char *what)
{
    if (r->failed)
        return false;
    bool ok = type == want || (want == PQ_TC_TRUE && type == PQ_TC_FALSE);
    if (!ok) {
        pq_tc_fail(r, "%s: wire type %u, expected %u", what, type, want);
        return false;
    }
    return true;
}

bool pq_tc_field_binary(struct pq_tc *r, uint8_t type, const char *what, const uint8_t **p,
                        uint32_t *len)
{
    if (!pq_tc_expect(r, type, PQ_TC_BINARY, what))
        return false;
    pq_tc_binary(r, p, len);
    return true;
}

bool pq_tc_struct_list(struct pq_tc *r, uint8_t type, const char *what, const char *elem,
                       uint32_t *count)
{
    uint8_t et;
    *count = 0;
    if (!pq_tc_expect(r, type, PQ_TC_LIST, what))
        return false;
    pq_tc_list(r, &et, count);
    return pq_tc_ok(r) && (*count == 0 || pq_tc_expect(r, et, PQ_TC_STRUCT, elem));
}

int32_t pq_tc_field_i32(struct pq_tc *r, uint8_t type)
{
    if (type == PQ_TC_I8)
        return pq_tc_i8(r);
    if (type == PQ_TC_I16 || type == PQ_TC_I32)
        return pq_tc_i32(r);
    pq_tc_fail(r, "expected an integer, found wire type %u", type);
    return 0;
}

int64_t pq_tc_field_i64(struct pq_tc *r, uint8_t type)
{
    if (type == PQ_TC_I8)
        return pq_tc_i8(r);
    if (type == PQ_TC_I16 || type == PQ_TC_I32 || type == PQ_TC_I64)
        return pq_tc_i64(r);
    pq_tc_fail(r, "expected an integer, found wire type %u", type);
    return 0;
}

bool pq_tc_field_bool(struct pq_tc *r, uint8_t type)
{
    if (type == PQ_TC_TRUE)
        return true;
    if (type == PQ_TC_FALSE)
        return false;
    pq_tc_fail(r, "expected a bool, found wire type %u", type);
    return false;
}
