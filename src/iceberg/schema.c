/*
 * schema.c — lakehouse types as Iceberg types, field-id assignment, the
 * schema's JSON, and column statistics in Iceberg's binary bound form.
 *
 * Type mapping (docs/iceberg.md): Iceberg has no unsigned integers, so
 * uint8/16 are `int`, uint32 is `long` (always exact) and uint64 is `long`
 * too (values at or past 2^63 read as negative by Iceberg engines; such
 * files get no bounds). json and enum are `string`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "iceberg_int.h"

size_t lh_iceberg_type_text(const struct lh_field *f, char *out, size_t cap)
{
    const char *t = NULL;
    int n;
    switch (f->type) {
    case LH_T_BOOL:
        t = "boolean";
        break;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_UINT8:
    case LH_T_UINT16:
        t = "int";
        break;
    case LH_T_INT64:
    case LH_T_UINT32:
    case LH_T_UINT64:
        t = "long";
        break;
    case LH_T_FLOAT:
        t = "float";
        break;
    case LH_T_DOUBLE:
        t = "double";
        break;
    case LH_T_STRING:
    case LH_T_JSON:
    case LH_T_ENUM:
        t = "string";
        break;
    case LH_T_BINARY:
        t = "binary";
        break;
    case LH_T_UUID:
        t = "uuid";
        break;
    case LH_T_DATE:
        t = "date";
        break;
    case LH_T_TIME:
        t = "time";
        break;
    case LH_T_TIMESTAMP:
        t = f->ts_utc ? "timestamptz" : "timestamp";
        break;
    case LH_T_FIXED:
        n = snprintf(out, cap, "fixed[%u]", (unsigned)f->fixed_len);
        return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
    case LH_T_DECIMAL:
        n = snprintf(out, cap, "decimal(%u,%u)", (unsigned)f->precision, (unsigned)f->scale);
        return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
    default:
        t = "unknown";
        break;
    }
    n = snprintf(out, cap, "%s", t);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static bool same_type(const struct lh_field *a, const struct lh_field *b)
{
    char ta[64], tb[64];
    lh_iceberg_type_text(a, ta, sizeof ta);
    lh_iceberg_type_text(b, tb, sizeof tb);
    if (strcmp(ta, tb) != 0 || a->is_list != b->is_list)
        return false;
    return !a->is_list || a->element_nullable == b->element_nullable;
}

void lh_iceberg_schema_assign(const struct lh_iceberg_schema *prev, int32_t *last_column_id,
                              const struct lh_schema *cols, struct lh_iceberg_column *out)
{
    for (size_t i = 0; i < cols->nfields; i++) {
        const struct lh_field *f = &cols->fields[i];
        out[i] = (struct lh_iceberg_column){.field = *f};
        for (size_t j = 0; prev && j < prev->ncolumns; j++) {
            const struct lh_iceberg_column *p = &prev->columns[j];
            if (strcmp(p->field.name, f->name) == 0 && same_type(&p->field, f)) {
                out[i].id = p->id;
                out[i].element_id = p->element_id;
                break;
            }
        }
        if (out[i].id == 0) {
            out[i].id = ++*last_column_id;
            if (f->is_list)
                out[i].element_id = ++*last_column_id;
        }
    }
}

void lh_iceberg_schema_json(const struct lh_iceberg_schema *s, struct lh_buf *out)
{
    lh_buf_printf(out, "{\"type\":\"struct\",\"schema-id\":%d,\"fields\":[", (int)s->schema_id);
    for (size_t i = 0; i < s->ncolumns; i++) {
        const struct lh_iceberg_column *c = &s->columns[i];
        char t[64];
        lh_iceberg_type_text(&c->field, t, sizeof t);
        lh_buf_printf(out, "%s{\"id\":%d,\"name\":", i ? "," : "", (int)c->id);
        lh_buf_json_str(out, c->field.name, strlen(c->field.name));
        lh_buf_printf(out, ",\"required\":%s,\"type\":", c->field.nullable ? "false" : "true");
        if (c->field.is_list)
            lh_buf_printf(out,
                          "{\"type\":\"list\",\"element-id\":%d,\"element\":\"%s\","
                          "\"element-required\":%s}",
                          (int)c->element_id, t, c->field.element_nullable ? "false" : "true");
        else
            lh_buf_printf(out, "\"%s\"", t);
        lh_buf_append_u8(out, '}');
    }
    lh_buf_append_str(out, "]}");
}

/* ------------------------------------------------------------- bounds */

static int64_t rd_le(const uint8_t *p, int n, bool sign)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    if (sign && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);
    return (int64_t)v;
}

static void wr_le(uint8_t *p, int64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* Minimal big-endian two's complement of v: what Iceberg wants for decimals. */
static uint32_t be_min(lh_i128 v, uint8_t *out)
{
    uint8_t be[16];
    for (int i = 0; i < 16; i++)
        be[15 - i] = (uint8_t)((unsigned __int128)v >> (8 * i));
    int start = 0;
    while (start < 15 && ((be[start] == 0x00 && !(be[start + 1] & 0x80)) ||
                          (be[start] == 0xff && (be[start + 1] & 0x80))))
        start++;
    memcpy(out, be + start, (size_t)(16 - start));
    return (uint32_t)(16 - start);
}

static lh_i128 be_value(const uint8_t *p, uint32_t n)
{
    unsigned __int128 v = (n > 0 && (p[0] & 0x80)) ? ~(unsigned __int128)0 : 0;
    for (uint32_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return (lh_i128)v;
}

/* Whether Iceberg keeps a bound of type t as the value's bytes: compared
 * byte by byte and copied from Parquet as they are. */
static bool bytes_bound(enum lh_type t)
{
    return t == LH_T_UUID || t == LH_T_FIXED || t == LH_T_STRING || t == LH_T_JSON ||
           t == LH_T_ENUM || t == LH_T_BINARY;
}

uint32_t lh_iceberg_bound_from_parquet(const struct lh_field *f, const uint8_t *pq, uint32_t pq_len,
                                       uint8_t *out, uint32_t cap)
{
    if (f->is_list || !pq || cap < pq_len + 8)
        return 0;
    if (bytes_bound(f->type)) {
        memcpy(out, pq, pq_len);
        return pq_len;
    }
    switch (f->type) {
    case LH_T_BOOL:
        if (pq_len < 1)
            return 0;
        out[0] = pq[0] ? 1 : 0;
        return 1;
    case LH_T_UINT32: /* an unsigned INT32 widened to Iceberg's long */
        if (pq_len != 4)
            return 0;
        wr_le(out, rd_le(pq, 4, false), 8);
        return 8;
    case LH_T_DECIMAL:
        if (f->precision <= 9 && pq_len == 4)
            return be_min(rd_le(pq, 4, true), out);
        if (f->precision <= 18 && pq_len == 8)
            return be_min(rd_le(pq, 8, true), out);
        if (f->precision > 18 && pq_len >= 1 && pq_len <= 16)
            return be_min(be_value(pq, pq_len), out);
        return 0;
    default: {
        /* the other fixed-width types, 4 or 8 bytes, little-endian in both;
         * a long as long as it fits one */
        uint32_t w = (uint32_t)lh_type_width(f);
        if (w == 0 || pq_len != w || (f->type == LH_T_UINT64 && (pq[7] & 0x80)))
            return 0;
        memcpy(out, pq, w);
        return w;
    }
    }
}

/* Orders two Iceberg bounds of the field's type: <0, 0, >0. */
static int bound_cmp(const struct lh_field *f, const uint8_t *a, uint32_t al, const uint8_t *b,
                     uint32_t bl)
{
    if (bytes_bound(f->type)) {
        int c = memcmp(a, b, al < bl ? al : bl);
        return c ? c : (al < bl ? -1 : al > bl);
    }
    switch (f->type) {
    case LH_T_FLOAT:
    case LH_T_DOUBLE: {
        double x, y;
        if (al == 4) {
            float fx, fy;
            memcpy(&fx, a, 4), memcpy(&fy, b, 4);
            x = fx, y = fy;
        } else {
            memcpy(&x, a, 8), memcpy(&y, b, 8);
        }
        if (x != y)
            return x < y ? -1 : 1;
        bool sx = (a[al - 1] & 0x80) != 0, sy = (b[bl - 1] & 0x80) != 0; /* -0.0 before +0.0 */
        return sx == sy ? 0 : (sx ? -1 : 1);
    }
    case LH_T_DECIMAL: {
        lh_i128 x = be_value(a, al), y = be_value(b, bl);
        return x < y ? -1 : x > y;
    }
    default: { /* booleans, integers, dates and times: little-endian ints */
        int64_t x = rd_le(a, (int)al, true), y = rd_le(b, (int)bl, true);
        return x < y ? -1 : x > y;
    }
    }
}

/* Long text and binary bounds are cut to LH_ICEBERG_BOUND_PREFIX code
 * points (bytes for binary), as Iceberg's default truncate(16) metrics do:
 * a lower bound may be any prefix; an upper bound must stay above every
 * value, so its last kept code point (byte) is incremented, and there is
 * no upper bound when nothing can be incremented. Returns the new length,
 * or 0 with *none set when an upper bound has to be dropped. */
#define LH_ICEBERG_BOUND_PREFIX 16

static uint32_t utf8_len(uint8_t b)
{
    return b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
}

static uint32_t utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80)
        return o[0] = (uint8_t)cp, 1;
    if (cp < 0x800)
        return o[0] = (uint8_t)(0xc0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000)
        return o[0] = (uint8_t)(0xe0 | cp >> 12), o[1] = (uint8_t)(0x80 | ((cp >> 6) & 63)),
               o[2] = (uint8_t)(0x80 | (cp & 63)), 3;
    return o[0] = (uint8_t)(0xf0 | cp >> 18), o[1] = (uint8_t)(0x80 | ((cp >> 12) & 63)),
           o[2] = (uint8_t)(0x80 | ((cp >> 6) & 63)), o[3] = (uint8_t)(0x80 | (cp & 63)), 4;
}

static uint32_t truncate_bound(const struct lh_field *f, uint8_t *v, uint32_t n, bool upper,
                               bool *none)
{
    *none = false;
    bool text = f->type == LH_T_STRING || f->type == LH_T_JSON || f->type == LH_T_ENUM;
    if (!text && f->type != LH_T_BINARY)
        return n;
    /* start offsets of the first LH_ICEBERG_BOUND_PREFIX + 1 units */
    uint32_t starts[LH_ICEBERG_BOUND_PREFIX + 1], k = 0, i = 0;
    while (i < n && k <= LH_ICEBERG_BOUND_PREFIX) {
        starts[k++] = i;
        i += text ? utf8_len(v[i]) : 1;
    }
    if (k <= LH_ICEBERG_BOUND_PREFIX || i > n)
        return n; /* short enough (or not cut cleanly): kept whole */
    uint32_t len = starts[LH_ICEBERG_BOUND_PREFIX];
    if (!upper)
        return len;
    for (int u = LH_ICEBERG_BOUND_PREFIX - 1; u >= 0; u--) {
        uint32_t at = starts[u], ulen = (u + 1 < LH_ICEBERG_BOUND_PREFIX ? starts[u + 1] : len) - at;
        if (!text) {
            if (v[at] != 0xff) {
                v[at]++;
                return at + 1;
            }
            continue;
        }
        uint32_t cp = ulen == 1 ? v[at]
                      : ulen == 2 ? (uint32_t)(v[at] & 31) << 6 | (v[at + 1] & 63)
                      : ulen == 3 ? (uint32_t)(v[at] & 15) << 12 | (uint32_t)(v[at + 1] & 63) << 6 |
                                        (v[at + 2] & 63)
                                  : (uint32_t)(v[at] & 7) << 18 | (uint32_t)(v[at + 1] & 63) << 12 |
                                        (uint32_t)(v[at + 2] & 63) << 6 | (v[at + 3] & 63);
        if (cp >= 0x10ffff)
            continue;
        cp++;
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xe000;
        /* the incremented code point may need one more byte than the
         * old one: the caller's buffer has 8 spare bytes */
        return at + utf8_put(cp, v + at);
    }
    *none = true;
    return 0;
}

enum lh_status lh_iceberg_stats_from_parquet(const struct lh_iceberg_schema *schema,
                                             const struct lh_parquet_file_info *info,
                                             struct lh_arena *arena,
                                             struct lh_iceberg_column_stats **stats,
                                             size_t *nstats, struct lh_error *err)
{
    *stats = NULL;
    *nstats = 0;
    if (info->schema.nfields != schema->ncolumns)
        return lh_error_set(err, LH_E_INVAL,
                            "iceberg: the Parquet file has %zu columns, schema %d has %zu",
                            info->schema.nfields, (int)schema->schema_id, schema->ncolumns);
    struct lh_iceberg_column_stats *out =
        lh_arena_alloc(arena, (schema->ncolumns + 1) * sizeof *out);
    if (!out)
        return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory for statistics");
    size_t n = 0;
    for (size_t c = 0; c < schema->ncolumns; c++) {
        const struct lh_field *f = &schema->columns[c].field;
        if (f->is_list)
            continue;
        struct lh_iceberg_column_stats *s = &out[n++];
        *s = (struct lh_iceberg_column_stats){.field_id = schema->columns[c].id,
                                              .value_count = info->num_rows};
        bool nulls_known = true, bounds = info->num_row_groups > 0;
        int64_t nulls = 0, size = 0;
        uint8_t *lo = NULL, *hi = NULL;
        uint32_t lo_len = 0, hi_len = 0;
        for (int32_t g = 0; g < info->num_row_groups; g++) {
            const struct lh_parquet_chunk_info *ch = &info->row_groups[g].chunks[c];
            size += ch->total_compressed_size;
            if (!ch->stats.has_null_count)
                nulls_known = false;
            nulls += ch->stats.null_count;
            if (!ch->stats.has_min_max) {
                /* an all-NULL chunk has no bounds and narrows nothing */
                if (!(ch->stats.has_null_count &&
                      ch->stats.null_count == info->row_groups[g].num_rows))
                    bounds = false;
                continue;
            }
            uint32_t cap = (ch->stats.min_len > ch->stats.max_len ? ch->stats.min_len
                                                                  : ch->stats.max_len) +
                           8;
            uint8_t *a = lh_arena_alloc(arena, cap), *b = lh_arena_alloc(arena, cap);
            if (!a || !b)
                return lh_error_set(err, LH_E_NOMEM, "iceberg: out of memory for statistics");
            uint32_t al = lh_iceberg_bound_from_parquet(f, ch->stats.min, ch->stats.min_len, a, cap);
            uint32_t bl = lh_iceberg_bound_from_parquet(f, ch->stats.max, ch->stats.max_len, b, cap);
            bool bytes = f->type == LH_T_STRING || f->type == LH_T_BINARY ||
                         f->type == LH_T_JSON || f->type == LH_T_ENUM;
            if ((al == 0 || bl == 0) && !bytes)
                bounds = false;
            if (!bounds)
                continue;
            if (!lo || bound_cmp(f, a, al, lo, lo_len) < 0)
                lo = a, lo_len = al;
            if (!hi || bound_cmp(f, b, bl, hi, hi_len) > 0)
                hi = b, hi_len = bl;
        }
        s->null_count = nulls_known ? nulls : -1;
        s->size_bytes = size;
        if (bounds && lo && hi) {
            bool none;
            s->lower = lo, s->lower_len = truncate_bound(f, lo, lo_len, false, &none);
            hi_len = truncate_bound(f, hi, hi_len, true, &none);
            if (!none)
                s->upper = hi, s->upper_len = hi_len;
        }
    }
    *stats = out;
    *nstats = n;
    return LH_OK;
}

/* ------------------------------------------------------------- misc */

enum lh_status lh_iceberg_uuid_generate(char out[LH_ICEBERG_UUID_LEN + 1], struct lh_error *err)
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return lh_error_errno(err, errno, "iceberg: getrandom");
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    lh_uuid_format(r, out);
    return LH_OK;
}

size_t lh_iceberg_location(struct lh_store *st, const char *key_prefix, char *out, size_t cap)
{
    char root[LH_STORE_KEY_MAX * 3 + 64];
    if (cap == 0 || lh_store_location(st, root, sizeof root, NULL) != LH_OK)
        return 0;
    int n = snprintf(out, cap, "%s/%s", root, key_prefix);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = 0;
        return 0;
    }
    return (size_t)n;
}
