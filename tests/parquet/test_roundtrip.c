/*
 * test_roundtrip.c — every conformance case (golden/cases.c) written with
 * our writer into memory and read back with our reader: schema, row counts,
 * every value of every row group (validity, fixed-width slots byte for
 * byte, offsets + bytes, list offsets and element validity), and the
 * statistics of every column chunk (null_count, min/max against values
 * computed from the source arrays, none on all-NULL chunks) plus the codec
 * and, for dictionary-off cases, the absence of dictionary encodings.
 *
 * One cmocka test per case (table-driven). The independent readers (DuckDB,
 * arrow-rs) check the same cases through parquet_conformance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "cases.h"

/* ------------------------------------------------------------ helpers */

static enum lh_status sink_buf(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    struct lh_buf *b = ctx;
    lh_buf_append(b, p, n);
    return lh_buf_ok(b) ? LH_OK : lh_error_set(err, LH_E_NOMEM, "sink buffer");
}

static int g_mismatches;

static void mismatch(const char *cname, const char *fmt, ...) LH_PRINTF(2, 3);
static void mismatch(const char *cname, const char *fmt, ...)
{
    if (++g_mismatches > 20)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_message("MISMATCH %s: %s\n", cname, msg);
}

static bool is_var(enum lh_type t)
{
    return t == LH_T_STRING || t == LH_T_JSON || t == LH_T_ENUM || t == LH_T_BINARY;
}

/* Text of value i of a, for messages. */
static const char *vtext(const struct lh_field *f, const struct lh_array *a, int64_t i, char *out,
                         size_t cap)
{
    struct lh_buf b;
    lh_buf_init(&b, 0);
    if (!lh_bit_get(a->validity, i))
        lh_buf_append_str(&b, "NULL");
    else
        gc_value_text(f, a, i, &b);
    snprintf(out, cap, "%.*s", (int)(b.len > 100 ? 100 : b.len), b.data ? (char *)b.data : "");
    lh_buf_reset(&b);
    return out;
}

/* Compares n values: exp[e0 + k] against got[g0 + k]. */
static void compare_values(const char *cname, const struct lh_field *f, const char *what,
                           const struct lh_array *exp, int64_t e0, const struct lh_array *got,
                           int64_t g0, int64_t n)
{
    size_t w = lh_type_width(f);
    for (int64_t k = 0; k < n; k++) {
        int64_t ei = e0 + k, gi = g0 + k;
        bool ev = lh_bit_get(exp->validity, ei), gv = lh_bit_get(got->validity, gi);
        bool same = ev == gv;
        if (same && ev) {
            if (is_var(f->type)) {
                int32_t el = exp->offsets[ei + 1] - exp->offsets[ei];
                int32_t gl = got->offsets[gi + 1] - got->offsets[gi];
                same =
                    el == gl && (el == 0 || memcmp(exp->data + exp->offsets[ei],
                                                   got->data + got->offsets[gi], (size_t)el) == 0);
            } else {
                same = memcmp((const uint8_t *)exp->values + (size_t)ei * w,
                              (const uint8_t *)got->values + (size_t)gi * w, w) == 0;
            }
        }
        if (!same) {
            char a[128], b[128];
            mismatch(cname, "%s[%lld]: expected %s, got %s", what, (long long)ei,
                     vtext(f, exp, ei, a, sizeof a), vtext(f, got, gi, b, sizeof b));
        }
    }
}

static void compare_column(const char *cname, const struct lh_field *f, const struct lh_array *exp,
                           int64_t r0, const struct lh_array *got, int64_t n)
{
    if (got->length != n) {
        mismatch(cname, "%s: %lld rows read, expected %lld", f->name, (long long)got->length,
                 (long long)n);
        return;
    }
    if (!f->is_list) {
        compare_values(cname, f, f->name, exp, r0, got, 0, n);
        return;
    }
    if (!got->list_offsets || !got->child) {
        mismatch(cname, "%s: list without offsets/child", f->name);
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t ei = r0 + k;
        bool ev = lh_bit_get(exp->validity, ei), gv = lh_bit_get(got->validity, k);
        int32_t el = exp->list_offsets[ei + 1] - exp->list_offsets[ei];
        int32_t gl = got->list_offsets[k + 1] - got->list_offsets[k];
        if (ev != gv || (ev && el != gl)) {
            mismatch(cname, "%s[%lld]: list %s/%d elements, got %s/%d", f->name, (long long)ei,
                     ev ? "valid" : "NULL", (int)el, gv ? "valid" : "NULL", (int)gl);
            continue;
        }
        if (ev && el)
            compare_values(cname, f, f->name, exp->child, exp->list_offsets[ei], got->child,
                           got->list_offsets[k], el);
    }
}

/* ------------------------------------------------------------ statistics */

/* One value of a leaf, in an order-comparable form. */
struct sval {
    lh_i128 i;        /* integers (unsigned fit), dates, times, decimals, bool */
    double d;         /* float, double */
    const uint8_t *p; /* bytes: string, binary, uuid */
    size_t n;
};

static struct sval get_sval(const struct lh_field *f, const struct lh_array *a, int64_t i)
{
    struct sval v = {0};
    const uint8_t *slot =
        a->values ? (const uint8_t *)a->values + (size_t)i * lh_type_width(f) : NULL;
    switch (f->type) {
    case LH_T_BOOL:
        v.i = slot[0];
        break;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_DATE: {
        int32_t x;
        memcpy(&x, slot, 4);
        v.i = x;
        break;
    }
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: {
        uint32_t x;
        memcpy(&x, slot, 4);
        v.i = x;
        break;
    }
    case LH_T_INT64:
    case LH_T_TIMESTAMP:
    case LH_T_TIME: {
        int64_t x;
        memcpy(&x, slot, 8);
        v.i = x;
        break;
    }
    case LH_T_UINT64: {
        uint64_t x;
        memcpy(&x, slot, 8);
        v.i = x;
        break;
    }
    case LH_T_FLOAT: {
        float x;
        memcpy(&x, slot, 4);
        v.d = x;
        break;
    }
    case LH_T_DOUBLE:
        memcpy(&v.d, slot, 8);
        break;
    case LH_T_DECIMAL:
        if (f->precision <= 9) {
            int32_t x;
            memcpy(&x, slot, 4);
            v.i = x;
        } else if (f->precision <= 18) {
            int64_t x;
            memcpy(&x, slot, 8);
            v.i = x;
        } else {
            memcpy(&v.i, slot, 16);
        }
        break;
    case LH_T_UUID:
    case LH_T_FIXED:
        v.p = slot;
        v.n = lh_type_width(f);
        break;
    default:
        v.p = a->data + a->offsets[i];
        v.n = (size_t)(a->offsets[i + 1] - a->offsets[i]);
        break;
    }
    return v;
}

static int sval_cmp(const struct lh_field *f, const struct sval *a, const struct sval *b)
{
    if (f->type == LH_T_FLOAT || f->type == LH_T_DOUBLE)
        return a->d < b->d ? -1 : a->d > b->d;
    if (a->p || b->p || is_var(f->type) || f->type == LH_T_UUID) {
        size_t n = a->n < b->n ? a->n : b->n;
        int c = n ? memcmp(a->p, b->p, n) : 0;
        return c ? c : (a->n > b->n) - (a->n < b->n);
    }
    return (a->i > b->i) - (a->i < b->i);
}

/* Expected PLAIN bytes of a statistics value for the column's physical type. */
static size_t plain_bytes(const struct lh_field *f, const struct lh_parquet_column_info *ci,
                          const struct sval *v, uint8_t *out, size_t cap)
{
    switch (ci->physical) {
    case LH_PQ_BOOLEAN:
        out[0] = (uint8_t)v->i;
        return 1;
    case LH_PQ_INT32: {
        uint32_t x = (uint32_t)(int64_t)v->i;
        memcpy(out, &x, 4);
        return 4;
    }
    case LH_PQ_INT64: {
        uint64_t x = (uint64_t)(int64_t)v->i;
        if (f->type == LH_T_UINT64)
            x = (uint64_t)v->i;
        memcpy(out, &x, 8);
        return 8;
    }
    case LH_PQ_FIXED_LEN_BYTE_ARRAY:
    case LH_PQ_BYTE_ARRAY:
        if (f->type == LH_T_DECIMAL) {
            /* Big-endian two's complement, type_length bytes (or 16 for BYTE_ARRAY). */
            size_t n = ci->physical == LH_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)ci->type_length : 16;
            if (n > cap || n == 0)
                return 0;
            unsigned __int128 u = (unsigned __int128)v->i;
            for (size_t k = 0; k < n; k++)
                out[n - 1 - k] = k < 16 ? (uint8_t)(u >> (8 * k)) : (v->i < 0 ? 0xff : 0);
            return n;
        }
        if (v->n > cap)
            return 0;
        if (v->n)
            memcpy(out, v->p, v->n);
        return v->n;
    default:
        return 0;
    }
}

static double stat_double(const struct lh_parquet_column_info *ci, const uint8_t *p, uint32_t n)
{
    if (ci->physical == LH_PQ_FLOAT && n == 4) {
        float x;
        memcpy(&x, p, 4);
        return x;
    }
    if (ci->physical == LH_PQ_DOUBLE && n == 8) {
        double x;
        memcpy(&x, p, 8);
        return x;
    }
    return NAN;
}

static void check_stat(const char *cname, const char *what, const struct lh_field *f,
                       const struct lh_parquet_column_info *ci, const struct sval *exp,
                       const uint8_t *got, uint32_t got_len)
{
    if (f->type == LH_T_FLOAT || f->type == LH_T_DOUBLE) {
        double g = stat_double(ci, got, got_len);
        /* NaN never matches. A zero bound follows parquet-format's rule:
         * a zero min is written as -0.0, a zero max as +0.0, whatever the
         * sign of the zeros in the data. */
        bool is_min = strstr(what, " min") != NULL;
        if (!(g == exp->d) || (exp->d == 0 && signbit(g) != is_min))
            mismatch(cname, "%s: expected %s%.17g, got %.17g", what,
                     exp->d == 0 ? (is_min ? "-" : "+") : "", exp->d, g);
        return;
    }
    uint8_t want[64];
    size_t n = plain_bytes(f, ci, exp, want, sizeof want);
    if (n == 0 && !(exp->n == 0 && exp->p)) {
        mismatch(cname, "%s: cannot encode the expected value (physical %d)", what, ci->physical);
        return;
    }
    if (n != got_len || (n && memcmp(want, got, n) != 0)) {
        char a[96] = "", b[96] = "";
        lh_parquet_format_stat(f, ci, want, (uint32_t)n, a, sizeof a);
        lh_parquet_format_stat(f, ci, got, got_len, b, sizeof b);
        mismatch(cname, "%s: expected %s (%zu bytes), got %s (%u bytes)", what, a, n, b, got_len);
    }
}

static void check_chunk_stats(const struct gc_case *c, const struct lh_field *f,
                              const struct lh_parquet_column_info *ci,
                              const struct lh_parquet_chunk_info *ch, const struct lh_array *exp,
                              int64_t r0, int64_t n, int32_t rg)
{
    const struct lh_array *leaf = f->is_list ? exp->child : exp;
    int64_t l0 = f->is_list ? exp->list_offsets[r0] : r0;
    int64_t l1 = f->is_list ? exp->list_offsets[r0 + n] : r0 + n;
    int64_t nulls = 0;
    bool have = false;
    struct sval mn = {0}, mx = {0};
    for (int64_t i = l0; i < l1; i++) {
        if (!lh_bit_get(leaf->validity, i)) {
            nulls++;
            continue;
        }
        struct sval v = get_sval(f, leaf, i);
        if ((f->type == LH_T_FLOAT || f->type == LH_T_DOUBLE) && isnan(v.d))
            continue;
        if (!have || sval_cmp(f, &v, &mn) < 0)
            mn = v;
        if (!have || sval_cmp(f, &v, &mx) > 0)
            mx = v;
        have = true;
    }
    char what[160];
    if (!f->is_list) {
        /* For lists, what null_count counts (NULL lists, empty lists,
         * NULL elements) differs between writers; only leaf NULLs of
         * top-level columns are checked. */
        if (!ch->stats.has_null_count || ch->stats.null_count != nulls)
            mismatch(c->name, "rg %d %s null_count: expected %lld, got %s%lld", rg, f->name,
                     (long long)nulls, ch->stats.has_null_count ? "" : "absent ",
                     (long long)ch->stats.null_count);
    }
    if (!have) {
        if (ch->stats.has_min_max)
            mismatch(c->name, "rg %d %s: min/max on a chunk without (non-NaN) values", rg, f->name);
        return;
    }
    if (!ch->stats.has_min_max) {
        mismatch(c->name, "rg %d %s: no min/max", rg, f->name);
        return;
    }
    snprintf(what, sizeof what, "rg %d %s min", rg, f->name);
    check_stat(c->name, what, f, ci, &mn, ch->stats.min, ch->stats.min_len);
    snprintf(what, sizeof what, "rg %d %s max", rg, f->name);
    check_stat(c->name, what, f, ci, &mx, ch->stats.max, ch->stats.max_len);
}

/* ------------------------------------------------------------ pages */

/* A minimal Thrift compact-protocol walker, only to count the pages of a
 * column chunk (our reader does not expose pages): reads each PageHeader's
 * type (field 1) and compressed_page_size (field 3), skips every other
 * field, then skips the page body. Test-only; bounds-checked. */
struct tc {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t tc_varint(struct tc *t)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (t->p >= t->end) {
            t->bad = true;
            return 0;
        }
        uint8_t b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    t->bad = true;
    return 0;
}

static int64_t tc_zigzag(struct tc *t)
{
    uint64_t v = tc_varint(t);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void tc_skip_struct(struct tc *t, int depth);

static void tc_skip(struct tc *t, int type, int depth)
{
    if (depth > 16) {
        t->bad = true;
        return;
    }
    switch (type) {
    case 1: /* bool true / false: inline in the field header */
    case 2:
        return;
    case 3:
        t->p++;
        break;
    case 4:
    case 5:
    case 6:
        tc_varint(t);
        break;
    case 7:
        t->p += 8;
        break;
    case 8: {
        uint64_t n = tc_varint(t);
        if (n > (uint64_t)(t->end - t->p))
            t->bad = true;
        else
            t->p += n;
        break;
    }
    case 9:
    case 10: {
        if (t->p >= t->end) {
            t->bad = true;
            return;
        }
        uint8_t h = *t->p++;
        uint64_t n = h >> 4;
        if (n == 15)
            n = tc_varint(t);
        for (uint64_t i = 0; i < n && !t->bad; i++)
            tc_skip(t, (h & 15) == 1 ? 3 : h & 15, depth + 1); /* bool elements: 1 byte */
        break;
    }
    case 12:
        tc_skip_struct(t, depth + 1);
        break;
    default: /* maps are not used in page headers */
        t->bad = true;
        return;
    }
    if (t->p > t->end)
        t->bad = true;
}

static void tc_skip_struct(struct tc *t, int depth)
{
    while (!t->bad && t->p < t->end) {
        uint8_t h = *t->p++;
        if (h == 0)
            return;
        if ((h >> 4) == 0)
            tc_zigzag(t);
        tc_skip(t, h & 15, depth);
    }
}

/* Data pages (v1 and v2) in one column chunk; -1 when the bytes do not parse. */
static int count_data_pages(const struct lh_buf *file, const struct lh_parquet_chunk_info *ch)
{
    int64_t start =
        ch->dictionary_page_offset >= 0 && ch->dictionary_page_offset < ch->data_page_offset
            ? ch->dictionary_page_offset
            : ch->data_page_offset;
    if (start < 0 || ch->total_compressed_size < 0 ||
        (uint64_t)start + (uint64_t)ch->total_compressed_size > file->len)
        return -1;
    struct tc t = {file->data + start, file->data + start + ch->total_compressed_size, false};
    int pages = 0;
    while (t.p < t.end && !t.bad) {
        int32_t type = -1, csize = -1;
        int16_t fid = 0;
        for (;;) {
            if (t.p >= t.end) {
                t.bad = true;
                break;
            }
            uint8_t h = *t.p++;
            if (h == 0)
                break;
            fid = (h >> 4) ? (int16_t)(fid + (h >> 4)) : (int16_t)tc_zigzag(&t);
            if ((fid == 1 || fid == 3) && (h & 15) == 5) {
                int64_t v = tc_zigzag(&t);
                if (fid == 1)
                    type = (int32_t)v;
                else
                    csize = (int32_t)v;
            } else {
                tc_skip(&t, h & 15, 0);
            }
            if (t.bad)
                break;
        }
        if (t.bad || csize < 0 || csize > t.end - t.p)
            return -1;
        t.p += csize;
        pages += type == 0 || type == 3;
    }
    return t.bad ? -1 : pages;
}

/* ------------------------------------------------------------ the test */

static void check_schema(const struct gc_case *c, const struct lh_parquet_file_info *info)
{
    if (info->schema.nfields != c->nfields) {
        mismatch(c->name, "%zu fields read, expected %zu", info->schema.nfields, c->nfields);
        return;
    }
    for (size_t i = 0; i < c->nfields; i++) {
        const struct lh_field *e = &c->fields[i], *g = &info->schema.fields[i];
        bool type_ok = g->type == e->type || (e->type == LH_T_ENUM && g->type == LH_T_STRING);
        bool ts = e->type == LH_T_TIMESTAMP || e->type == LH_T_TIME;
        bool dec = e->type == LH_T_DECIMAL;
        if (strcmp(e->name, g->name) != 0 || !type_ok || e->nullable != g->nullable ||
            e->is_list != g->is_list ||
            (e->is_list && e->element_nullable != g->element_nullable) ||
            (ts && e->ts_utc != g->ts_utc) ||
            (dec && (e->precision != g->precision || e->scale != g->scale)))
            mismatch(c->name,
                     "field %zu: expected %s %s null=%d list=%d elnull=%d utc=%d p=%u s=%u, got "
                     "%s %s null=%d list=%d elnull=%d utc=%d p=%u s=%u",
                     i, e->name, lh_type_name(e->type), e->nullable, e->is_list,
                     e->element_nullable, e->ts_utc, e->precision, e->scale, g->name,
                     lh_type_name(g->type), g->nullable, g->is_list, g->element_nullable, g->ts_utc,
                     g->precision, g->scale);
    }
}

/* Per-test resources, released by the teardown even when an assertion
 * ends the test early (cmocka longjmps out of it). */
struct rt_state {
    size_t idx;
    struct lh_buf file;
    struct lh_arena src, rd;
    struct lh_parquet_reader *r;
};

static struct rt_state g_states[32];

static int rt_setup(void **state)
{
    struct rt_state *s = *state;
    lh_buf_init(&s->file, 0);
    lh_arena_init(&s->src, 0);
    lh_arena_init(&s->rd, 256u << 20);
    s->r = NULL;
    return 0;
}

static int rt_teardown(void **state)
{
    struct rt_state *s = *state;
    if (s->r)
        lh_parquet_reader_close(s->r);
    s->r = NULL;
    lh_arena_reset(&s->rd);
    lh_arena_reset(&s->src);
    lh_buf_reset(&s->file);
    return 0;
}

static void test_case(void **state)
{
    struct rt_state *s = *state;
    struct gc_case c;
    gc_case_get(s->idx, &c);
    struct lh_error err;
    lh_error_clear(&err);
    g_mismatches = 0;

    struct lh_parquet_writer_stats ws = {0};
    enum lh_status st = gc_write_case(&c, sink_buf, &s->file, &ws, &err);
    if (st != LH_OK)
        fail_msg("%s: write: %s: %s", c.name, lh_status_str(st), err.msg);
    assert_int_equal(ws.rows, c.nrows);
    assert_int_equal(ws.bytes_written, s->file.len);
    st = lh_parquet_reader_open_mem(s->file.data, s->file.len, &s->r, &err);
    if (st != LH_OK)
        fail_msg("%s: open: %s: %s", c.name, lh_status_str(st), err.msg);
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(s->r);
    assert_int_equal(info->num_rows, c.nrows);
    assert_true(info->num_row_groups >= c.min_row_groups);
    assert_int_equal(ws.row_groups, info->num_row_groups);
    check_schema(&c, info);
    /* Key/value metadata comes back as written (our own entries, in order,
     * after which a writer may add its own, e.g. an Arrow schema). */
    assert_true(info->nkv >= c.opt.nkv);
    for (size_t i = 0; i < c.opt.nkv; i++) {
        assert_string_equal(info->kv[i].key, c.opt.kv[i].key);
        assert_string_equal(info->kv[i].value, c.opt.kv[i].value);
    }
    assert_int_equal(g_mismatches, 0);

    struct lh_array exp[GC_MAX_COLS];
    struct lh_batch batch;
    st = gc_build_batch(&c, 0, c.nrows, &s->src, exp, &batch, &err);
    assert_int_equal(st, LH_OK);

    int64_t r0 = 0;
    int max_pages = 0;
    for (int32_t rg = 0; rg < info->num_row_groups; rg++) {
        const struct lh_parquet_row_group_info *g = &info->row_groups[rg];
        assert_true(g->num_rows >= 0 && r0 + g->num_rows <= c.nrows);
        for (size_t col = 0; col < c.nfields; col++) {
            const struct lh_field *f = &c.fields[col];
            const struct lh_parquet_chunk_info *ch = &g->chunks[col];
            struct lh_array got;
            st = lh_parquet_reader_read_column(s->r, rg, col, &s->rd, &got, &err);
            if (st != LH_OK) {
                mismatch(c.name, "rg %d %s: read: %s: %s", rg, f->name, lh_status_str(st), err.msg);
                continue;
            }
            compare_column(c.name, f, &exp[col], r0, &got, g->num_rows);
            check_chunk_stats(&c, f, &info->columns[col], ch, &exp[col], r0, g->num_rows, rg);
            if (ch->codec != c.opt.codec)
                mismatch(c.name, "rg %d %s: codec %d, expected %d", rg, f->name, ch->codec,
                         c.opt.codec);
            int pages = count_data_pages(&s->file, ch);
            if (pages < 1)
                mismatch(c.name, "rg %d %s: %d data pages (chunk bytes do not parse?)", rg, f->name,
                         pages);
            max_pages = pages > max_pages ? pages : max_pages;
            bool dict = ch->encodings & ((1u << 2) | (1u << 8));
            if (c.dict == GC_DICT_NONE && dict)
                mismatch(c.name, "rg %d %s: dictionary encoding with dictionary off", rg, f->name);
            lh_arena_reset(&s->rd);
        }
        r0 += g->num_rows;
    }
    assert_int_equal(r0, c.nrows);
    if (max_pages < c.min_pages)
        mismatch(c.name, "at most %d data pages per chunk, expected a chunk with >= %d", max_pages,
                 c.min_pages);
    if (g_mismatches)
        print_message("%s: %d mismatches\n", c.name, g_mismatches);
    assert_int_equal(g_mismatches, 0);
}

int main(void)
{
    struct CMUnitTest tests[32];
    size_t n = gc_case_count();
    if (n > sizeof tests / sizeof tests[0])
        n = sizeof tests / sizeof tests[0];
    for (size_t i = 0; i < n; i++) {
        struct gc_case c;
        gc_case_get(i, &c);
        g_states[i].idx = i;
        tests[i] = (struct CMUnitTest){.name = c.name,
                                       .test_func = test_case,
                                       .setup_func = rt_setup,
                                       .teardown_func = rt_teardown,
                                       .initial_state = &g_states[i]};
    }
    return _cmocka_run_group_tests("parquet_roundtrip", tests, n, NULL, NULL);
}
