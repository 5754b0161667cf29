/*
 * cases.c — the conformance cases: schemas, writer configurations and the
 * values of every cell (see cases.h). Values are pure functions of
 * (mode, type, key) where key is the row, or row * 13 + j for the j-th
 * element of a list, so any row range can be rebuilt identically.
 *
 * Edge values per type are listed in the tables below; the node checkers
 * and the C round trip compare against the arrays built here, never
 * against hard-coded results.
 */
#include "cases.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ schema */

struct gc_coldef {
    const char *name;
    enum lh_type type;
    uint8_t precision, scale;
    bool ts_utc;
};

/* Every scalar column appears twice: "<name>_n" nullable, "<name>_r" required. */
static const struct gc_coldef GC_SCALARS[] = {
    {"bool", LH_T_BOOL, 0, 0, false},          {"int8", LH_T_INT8, 0, 0, false},
    {"int16", LH_T_INT16, 0, 0, false},        {"int32", LH_T_INT32, 0, 0, false},
    {"int64", LH_T_INT64, 0, 0, false},        {"uint8", LH_T_UINT8, 0, 0, false},
    {"uint16", LH_T_UINT16, 0, 0, false},      {"uint32", LH_T_UINT32, 0, 0, false},
    {"uint64", LH_T_UINT64, 0, 0, false},      {"float", LH_T_FLOAT, 0, 0, false},
    {"double", LH_T_DOUBLE, 0, 0, false},      {"string", LH_T_STRING, 0, 0, false},
    {"json", LH_T_JSON, 0, 0, false},          {"enum", LH_T_ENUM, 0, 0, false},
    {"binary", LH_T_BINARY, 0, 0, false},      {"uuid", LH_T_UUID, 0, 0, false},
    {"dec9", LH_T_DECIMAL, 9, 2, false},       {"dec18", LH_T_DECIMAL, 18, 4, false},
    {"dec38", LH_T_DECIMAL, 38, 0, false},     {"dec38s", LH_T_DECIMAL, 38, 10, false},
    {"date", LH_T_DATE, 0, 0, false},          {"ts_utc", LH_T_TIMESTAMP, 0, 0, true},
    {"ts_local", LH_T_TIMESTAMP, 0, 0, false}, {"time", LH_T_TIME, 0, 0, false},
    {"time_utc", LH_T_TIME, 0, 0, true},
};

/* List columns: nullable lists of nullable elements, except "l_int64_req"
 * (required list of required elements). */
static const struct gc_coldef GC_LISTS[] = {
    {"l_bool", LH_T_BOOL, 0, 0, false},       {"l_int32", LH_T_INT32, 0, 0, false},
    {"l_int64_req", LH_T_INT64, 0, 0, false}, {"l_uint64", LH_T_UINT64, 0, 0, false},
    {"l_double", LH_T_DOUBLE, 0, 0, false},   {"l_string", LH_T_STRING, 0, 0, false},
    {"l_binary", LH_T_BINARY, 0, 0, false},   {"l_uuid", LH_T_UUID, 0, 0, false},
    {"l_dec38", LH_T_DECIMAL, 38, 5, false},  {"l_date", LH_T_DATE, 0, 0, false},
    {"l_ts", LH_T_TIMESTAMP, 0, 0, true},
};

#define GC_NSCALARS (sizeof GC_SCALARS / sizeof GC_SCALARS[0])
#define GC_NLISTS (sizeof GC_LISTS / sizeof GC_LISTS[0])
_Static_assert(2 * GC_NSCALARS + GC_NLISTS <= GC_MAX_COLS, "too many columns");

/* Field names must outlive the case: built once into static storage. */
static char gc_names[GC_NSCALARS * 2][32];

static struct lh_field gc_field(const struct gc_coldef *d, const char *name)
{
    return (struct lh_field){.name = name,
                             .type = d->type,
                             .precision = d->precision,
                             .scale = d->scale,
                             .ts_utc = d->ts_utc,
                             .fixed_len = d->type == LH_T_UUID ? 16 : 0};
}

static void gc_fill_schema(struct gc_case *c)
{
    c->nfields = 0;
    for (size_t i = 0; i < GC_NSCALARS; i++) {
        for (int req = 0; req < 2; req++) {
            if (req && c->nullable_only)
                continue;
            char *nm = gc_names[2 * i + (size_t)req];
            snprintf(nm, sizeof gc_names[0], "%s_%s", GC_SCALARS[i].name, req ? "r" : "n");
            struct lh_field f = gc_field(&GC_SCALARS[i], nm);
            f.nullable = !req;
            c->fields[c->nfields++] = f;
        }
    }
    for (size_t i = 0; i < GC_NLISTS; i++) {
        bool req = strstr(GC_LISTS[i].name, "_req") != NULL;
        if (req && c->nullable_only)
            continue;
        struct lh_field f = gc_field(&GC_LISTS[i], GC_LISTS[i].name);
        f.is_list = true;
        f.nullable = !req;
        f.element_nullable = !req;
        c->fields[c->nfields++] = f;
    }
}

/* ------------------------------------------------------------ cases */

struct gc_case_def {
    const char *name;
    enum gc_mode mode;
    int64_t nrows;
    int nbatches;
    int min_row_groups;
    int min_pages;
    enum gc_dict dict;
    bool nullable_only;
    enum lh_parquet_codec codec;
    bool dictionary;
    uint32_t page_bytes;     /* 0: default */
    int64_t row_group_rows;  /* 0: default */
    uint32_t dict_max_bytes; /* 0: default */
};

static const struct gc_case_def GC_CASES[] = {
    /* name  mode  rows  batches  min row groups  min pages  dict  nullable only
     * codec  dictionary  page_bytes  row_group_rows  dict_max_bytes (0: default) */
    {"edge_zstd_dict", GC_EDGE, 120, 1, 1, 1, GC_DICT_ANY, false, LH_PQ_ZSTD, true, 0, 0, 0},
    {"edge_snappy_dict", GC_EDGE, 120, 2, 1, 1, GC_DICT_ANY, false, LH_PQ_SNAPPY, true, 0, 0, 0},
    {"edge_none_plain", GC_EDGE, 120, 3, 1, 1, GC_DICT_NONE, false, LH_PQ_UNCOMPRESSED, false, 0, 0,
     0},
    {"paged_multi_rg", GC_EDGE, 700, 3, 3, 2, GC_DICT_ANY, false, LH_PQ_ZSTD, true, 64, 200, 0},
    {"paged_plain_snappy", GC_DISTINCT, 700, 4, 3, 3, GC_DICT_NONE, false, LH_PQ_SNAPPY, false, 300,
     250, 0},
    {"all_null", GC_ALLNULL, 40, 1, 1, 1, GC_DICT_ANY, true, LH_PQ_ZSTD, true, 0, 0, 0},
    {"all_null_plain", GC_ALLNULL, 40, 2, 2, 1, GC_DICT_NONE, true, LH_PQ_UNCOMPRESSED, false, 0,
     20, 0},
    {"one_row", GC_EDGE, 1, 1, 1, 1, GC_DICT_ANY, false, LH_PQ_ZSTD, true, 0, 0, 0},
    {"zero_rows", GC_EDGE, 0, 1, 0, 0, GC_DICT_ANY, false, LH_PQ_ZSTD, true, 0, 0, 0},
    {"dict_lowcard", GC_LOWCARD, 1500, 3, 1, 1, GC_DICT_USED, false, LH_PQ_ZSTD, true, 0, 0, 0},
    {"dict_fallback", GC_MIXED, 1500, 3, 1, 2, GC_DICT_PLAIN, false, LH_PQ_SNAPPY, true, 2048, 0,
     512},
    {"float_zeros", GC_ZEROS, 30, 2, 1, 1, GC_DICT_ANY, false, LH_PQ_ZSTD, true, 0, 0, 0},
    {"dict_wide", GC_WIDE, 1800, 2, 1, 1, GC_DICT_ANY, false, LH_PQ_ZSTD, true, 0, 0, 0},
    {"rle_runs", GC_RUNS, 2000, 3, 2, 2, GC_DICT_ANY, false, LH_PQ_SNAPPY, true, 1024, 1200, 0},
};

#define GC_NCASES (sizeof GC_CASES / sizeof GC_CASES[0])

size_t gc_case_count(void)
{
    return GC_NCASES;
}

void gc_case_get(size_t i, struct gc_case *c)
{
    const struct gc_case_def *d = &GC_CASES[i];
    memset(c, 0, sizeof *c);
    c->name = d->name;
    c->mode = d->mode;
    c->nrows = d->nrows;
    c->nbatches = d->nbatches;
    c->min_row_groups = d->min_row_groups;
    c->min_pages = d->min_pages;
    c->dict = d->dict;
    c->nullable_only = d->nullable_only;
    lh_parquet_writer_options_init(&c->opt);
    c->opt.codec = d->codec;
    c->opt.dictionary = d->dictionary;
    if (d->page_bytes)
        c->opt.page_bytes = d->page_bytes;
    if (d->row_group_rows)
        c->opt.row_group_rows = d->row_group_rows;
    if (d->dict_max_bytes)
        c->opt.dict_max_bytes = d->dict_max_bytes;
    if (i == 0) {
        /* Key/value metadata, checked by every reader. */
        static const struct lh_parquet_kv kv[] = {
            {"lakehouse.case", "edge_zstd_dict"},
            {"emoji \xF0\x9F\x98\x80", "value with \"quotes\" and \\ backslash"},
            {"empty", ""},
        };
        c->opt.kv = kv;
        c->opt.nkv = sizeof kv / sizeof kv[0];
    }
    gc_fill_schema(c);
}

/* ------------------------------------------------------------ values */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const int64_t E_I8[] = {-128, 127, 0, -1, 1};
static const int64_t E_I16[] = {-32768, 32767, 0, -1, 12345};
static const int64_t E_I32[] = {INT32_MIN, INT32_MAX, 0, -1, 42};
static const int64_t E_I64[] = {INT64_MIN, INT64_MAX, 0, -1, 1000000000000007};
static const uint64_t E_U8[] = {0, 255, 1, 128};
static const uint64_t E_U16[] = {0, 65535, 1, 32768};
static const uint64_t E_U32[] = {0, UINT32_MAX, 1, 2147483648u};
static const uint64_t E_U64[] = {0, UINT64_MAX, 1, 9223372036854775808u, 9223372036854775807u};

struct gc_bytes {
    const char *p;
    size_t n;
};
#define B(s)                                                                                       \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
static const struct gc_bytes E_STR[] = {
    B(""),
    B("a"),
    B("hello world"),
    B("x\xF0\x9F\x98\x80y"), /* U+1F600, 4-byte UTF-8 */
    B("\xC3\x84\xC3\x96\xC3\xBC"),
    B("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"),
    B("quote\" back\\ nl\n tab\t"),
    B("\x01\x1f ctl"),
    B("\xF0\x9D\x84\x9E music"), /* U+1D11E */
    B("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
      "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
      "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
};
static const struct gc_bytes L_STR[] = {B("alpha"), B("beta"), B("gamma")};
static const struct gc_bytes E_JSON[] = {
    B("{}"),   B("[1,2,3]"), B("{\"a\":\"\xF0\x9F\x98\x80\",\"b\":null}"),
    B("null"), B("\"s\""),   B("-1.5e10"),
};
static const struct gc_bytes L_JSON[] = {B("{\"k\":1}"), B("{\"k\":2}"), B("[]")};
static const struct gc_bytes E_ENUM[] = {B("red"), B("green"), B("blue")};
static const struct gc_bytes E_BIN[] = {
    B(""),
    B("\x00"),
    B("\xff\x00\xff"),
    B("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"),
    B("AB\\'\"z"),
    B("\x80"),
};
static const struct gc_bytes L_BIN[] = {B("\x01"), B("\x02\x02"), B("\x03\x03\x03")};
static const struct gc_bytes E_UUID[] = {
    B("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
    B("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
    B("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
    B("\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"),
    B("\x7f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe"),
};
#undef B

static const float E_F32[] = {NAN,      INFINITY,     -INFINITY, -0.0f,  0.0f, FLT_MAX,
                              -FLT_MAX, FLT_TRUE_MIN, 1.5f,      -2.25f, 0.1f};
static const double E_F64[] = {NAN,      INFINITY,     -INFINITY, -0.0,  0.0, DBL_MAX,
                               -DBL_MAX, DBL_TRUE_MIN, 1.5,       -2.25, 0.1};

static lh_i128 pow10_i128(unsigned p)
{
    lh_i128 v = 1;
    while (p--)
        v *= 10;
    return v;
}

static const int64_t US_PER_DAY = 86400000000;

/* The value kind actually used at `row` (MIXED splits the table). */
static enum gc_mode gc_mode_at(const struct gc_case *c, int64_t row)
{
    if (c->mode == GC_MIXED)
        return row < c->nrows / 2 ? GC_LOWCARD : GC_DISTINCT;
    return c->mode;
}

static uint64_t mix(int64_t key)
{
    uint64_t x = (uint64_t)key * 0x9E3779B97F4A7C15u + 0x632BE59BD9B4E019u;
    x ^= x >> 29;
    return x * 0xBF58476D1CE4E5B9u;
}

static int64_t sext(uint64_t x, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    x &= bits == 64 ? ~0ull : (1ull << bits) - 1;
    return (int64_t)((x ^ m) - m);
}

static int64_t gen_int(enum gc_mode m, unsigned bits, const int64_t *e, size_t ne, int64_t key)
{
    if (m == GC_EDGE)
        return e[(uint64_t)key % ne];
    if (m == GC_LOWCARD)
        return key % 3 * 10 - 7;
    return sext(mix(key), bits);
}

static uint64_t gen_uint(enum gc_mode m, unsigned bits, const uint64_t *e, size_t ne, int64_t key)
{
    if (m == GC_EDGE)
        return e[(uint64_t)key % ne];
    if (m == GC_LOWCARD)
        return (uint64_t)(key % 3) * 10 + 1;
    uint64_t x = mix(key);
    return bits == 64 ? x : x & ((1ull << bits) - 1);
}

static lh_i128 gen_decimal(enum gc_mode m, const struct lh_field *f, int64_t key)
{
    lh_i128 maxu = pow10_i128(f->precision) - 1;
    if (m == GC_EDGE) {
        const lh_i128 e[] = {maxu, -maxu, 0, -1, 1, 12345 % maxu, -(maxu / 7)};
        return e[(uint64_t)key % NELEM(e)];
    }
    if (m == GC_LOWCARD) {
        const lh_i128 e[] = {100, -250, 999};
        return e[key % 3];
    }
    lh_i128 v = (lh_i128)(key * 7919 - 5000000);
    if (f->precision > 30)
        v *= pow10_i128(25);
    else if (f->precision > 14)
        v *= 100000000;
    return v;
}

static int64_t gen_date(enum gc_mode m, int64_t key)
{
    if (m == GC_EDGE) {
        const int64_t e[] = {lh_days_from_civil(1500, 1, 1),
                             lh_days_from_civil(9999, 12, 31),
                             0,
                             -1,
                             lh_days_from_civil(2026, 4, 16),
                             lh_days_from_civil(2262, 4, 12),
                             lh_days_from_civil(1, 1, 1)};
        return e[(uint64_t)key % NELEM(e)];
    }
    if (m == GC_LOWCARD)
        return (key % 3 - 1) * 20000;
    return key * 37 - 30000;
}

static int64_t gen_ts(enum gc_mode m, int64_t key)
{
    if (m == GC_EDGE) {
        const int64_t e[] = {
            lh_days_from_civil(1500, 1, 1) * US_PER_DAY,
            lh_days_from_civil(9999, 12, 31) * US_PER_DAY + US_PER_DAY - 1,
            0,
            -1,
            lh_days_from_civil(2262, 4, 13) * US_PER_DAY, /* past the int64-nanosecond range */
            1776371764123456,                             /* 2026-04-16T20:36:04.123456Z */
            lh_days_from_civil(1, 1, 1) * US_PER_DAY + 1,
        };
        return e[(uint64_t)key % NELEM(e)];
    }
    if (m == GC_LOWCARD)
        return (key % 3 - 1) * 1000000000000000;
    return key * 1000003 * 1000 - 500000000000;
}

static int64_t gen_time(enum gc_mode m, int64_t key)
{
    if (m == GC_EDGE) {
        const int64_t e[] = {0, US_PER_DAY - 1, 45296789000, 1, 43200000000};
        return e[(uint64_t)key % NELEM(e)];
    }
    if (m == GC_LOWCARD)
        return key % 3 * 3600000000;
    return (key * 1000003 * 97) % US_PER_DAY;
}

/* WIDE and RUNS are DISTINCT values of a folded key. */
static void fold(enum gc_mode *m, int64_t *key)
{
    if (*m == GC_WIDE)
        *key %= 600, *m = GC_DISTINCT;
    else if (*m == GC_RUNS)
        *key /= 50, *m = GC_DISTINCT;
}

/* Appends a variable-length value's bytes to heap. */
static void gen_var(enum gc_mode m, enum lh_type t, int64_t key, struct lh_buf *heap)
{
    fold(&m, &key);
    const struct gc_bytes *e = NULL, *l = NULL;
    size_t ne = 0;
    switch (t) {
    case LH_T_STRING:
        e = E_STR, ne = NELEM(E_STR), l = L_STR;
        break;
    case LH_T_JSON:
        e = E_JSON, ne = NELEM(E_JSON), l = L_JSON;
        break;
    case LH_T_ENUM:
        e = E_ENUM, ne = NELEM(E_ENUM), l = E_ENUM;
        break;
    default:
        e = E_BIN, ne = NELEM(E_BIN), l = L_BIN;
        break;
    }
    if (m == GC_EDGE) {
        lh_buf_append(heap, e[(uint64_t)key % ne].p, e[(uint64_t)key % ne].n);
        return;
    }
    if (m == GC_LOWCARD) {
        lh_buf_append(heap, l[key % 3].p, l[key % 3].n);
        return;
    }
    switch (t) {
    case LH_T_STRING:
        lh_buf_printf(heap, "s%08lld-\xC3\xA9-%llu", (long long)key,
                      (unsigned long long)(mix(key) >> 40));
        break;
    case LH_T_JSON:
        lh_buf_printf(heap, "{\"id\":%lld}", (long long)key);
        break;
    case LH_T_ENUM:
        lh_buf_printf(heap, "e%lld", (long long)(key % 1000));
        break;
    default: {
        uint64_t x = mix(key);
        uint8_t b[9];
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(x >> (8 * i));
        b[8] = (uint8_t)key;
        lh_buf_append(heap, b, (size_t)(1 + key % 9));
        break;
    }
    }
}

/* Writes one fixed-width value into slot (width lh_type_width(f)). */
static void gen_fixed(enum gc_mode m, const struct lh_field *f, int64_t key, void *slot)
{
    fold(&m, &key);
    switch (f->type) {
    case LH_T_BOOL: {
        uint8_t v = m == GC_EDGE      ? (uint8_t)(key & 1)
                    : m == GC_LOWCARD ? key % 3 == 0
                                      : (mix(key) & 1);
        memcpy(slot, &v, 1);
        return;
    }
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32: {
        const int64_t *e = f->type == LH_T_INT8 ? E_I8 : f->type == LH_T_INT16 ? E_I16 : E_I32;
        size_t ne = f->type == LH_T_INT8    ? NELEM(E_I8)
                    : f->type == LH_T_INT16 ? NELEM(E_I16)
                                            : NELEM(E_I32);
        unsigned bits = f->type == LH_T_INT8 ? 8 : f->type == LH_T_INT16 ? 16 : 32;
        int32_t v = (int32_t)gen_int(m, bits, e, ne, key);
        memcpy(slot, &v, 4);
        return;
    }
    case LH_T_INT64: {
        int64_t v = gen_int(m, 64, E_I64, NELEM(E_I64), key);
        memcpy(slot, &v, 8);
        return;
    }
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: {
        const uint64_t *e = f->type == LH_T_UINT8 ? E_U8 : f->type == LH_T_UINT16 ? E_U16 : E_U32;
        size_t ne = f->type == LH_T_UINT8    ? NELEM(E_U8)
                    : f->type == LH_T_UINT16 ? NELEM(E_U16)
                                             : NELEM(E_U32);
        unsigned bits = f->type == LH_T_UINT8 ? 8 : f->type == LH_T_UINT16 ? 16 : 32;
        uint32_t v = (uint32_t)gen_uint(m, bits, e, ne, key);
        memcpy(slot, &v, 4);
        return;
    }
    case LH_T_UINT64: {
        uint64_t v = gen_uint(m, 64, E_U64, NELEM(E_U64), key);
        memcpy(slot, &v, 8);
        return;
    }
    case LH_T_FLOAT: {
        float v = m == GC_ZEROS     ? (key & 1 ? 0.0f : -0.0f)
                  : m == GC_EDGE    ? E_F32[(uint64_t)key % NELEM(E_F32)]
                  : m == GC_LOWCARD ? (float)(key % 3) * 1.5f - 2.5f
                                    : (float)key * 0.25f - 100.0f;
        memcpy(slot, &v, 4);
        return;
    }
    case LH_T_DOUBLE: {
        double v = m == GC_ZEROS     ? (key & 1 ? 0.0 : -0.0)
                   : m == GC_EDGE    ? E_F64[(uint64_t)key % NELEM(E_F64)]
                   : m == GC_LOWCARD ? (double)(key % 3) * 1e10 - 0.5
                                     : (double)key / 3.0 - 1e6;
        memcpy(slot, &v, 8);
        return;
    }
    case LH_T_UUID: {
        uint8_t b[16];
        if (m == GC_EDGE) {
            memcpy(b, E_UUID[(uint64_t)key % NELEM(E_UUID)].p, 16);
        } else {
            uint64_t x = m == GC_LOWCARD ? (uint64_t)(key % 3 + 1) : mix(key);
            uint64_t y = m == GC_LOWCARD ? 0 : mix(key + 1);
            for (int i = 0; i < 8; i++) {
                b[i] = (uint8_t)(x >> (56 - 8 * i));
                b[8 + i] = (uint8_t)(y >> (56 - 8 * i));
            }
        }
        memcpy(slot, b, 16);
        return;
    }
    case LH_T_DECIMAL: {
        lh_i128 v = gen_decimal(m, f, key);
        if (f->precision <= 9) {
            int32_t x = (int32_t)v;
            memcpy(slot, &x, 4);
        } else if (f->precision <= 18) {
            int64_t x = (int64_t)v;
            memcpy(slot, &x, 8);
        } else {
            memcpy(slot, &v, 16);
        }
        return;
    }
    case LH_T_DATE: {
        int32_t v = (int32_t)gen_date(m, key);
        memcpy(slot, &v, 4);
        return;
    }
    case LH_T_TIMESTAMP: {
        int64_t v = gen_ts(m, key);
        memcpy(slot, &v, 8);
        return;
    }
    case LH_T_TIME: {
        int64_t v = gen_time(m, key);
        memcpy(slot, &v, 8);
        return;
    }
    default:
        return;
    }
}

static bool is_var(enum lh_type t)
{
    return t == LH_T_STRING || t == LH_T_JSON || t == LH_T_ENUM || t == LH_T_BINARY;
}

/* Builds a flat array of n values of f's type: value k has key keys[k],
 * mode modes[k], and is NULL when nulls[k]. */
static enum lh_status build_leaf(const struct lh_field *f, int64_t n, const int64_t *keys,
                                 const uint8_t *modes, const uint8_t *nulls, bool has_validity,
                                 struct lh_arena *arena, struct lh_array *out, struct lh_error *err)
{
    memset(out, 0, sizeof *out);
    out->length = n;
    size_t nn = (size_t)n;
    uint8_t *validity = NULL;
    if (has_validity) {
        validity = lh_arena_alloc(arena, nn / 8 + 1);
        if (!validity)
            return lh_error_set(err, LH_E_NOMEM, "arena");
        for (int64_t k = 0; k < n; k++)
            lh_bit_set(validity, k, !nulls[k]);
        out->validity = validity;
    }
    if (is_var(f->type)) {
        int32_t *offsets = lh_arena_alloc(arena, (nn + 1) * sizeof *offsets);
        struct lh_buf heap;
        lh_buf_init(&heap, 0);
        if (!offsets)
            return lh_error_set(err, LH_E_NOMEM, "arena");
        for (int64_t k = 0; k < n; k++) {
            if (!nulls[k])
                gen_var((enum gc_mode)modes[k], f->type, keys[k], &heap);
            offsets[k + 1] = (int32_t)heap.len;
        }
        uint8_t *data = lh_arena_alloc(arena, heap.len + 1);
        if (!data || !lh_buf_ok(&heap)) {
            lh_buf_reset(&heap);
            return lh_error_set(err, LH_E_NOMEM, "arena");
        }
        if (heap.len)
            memcpy(data, heap.data, heap.len);
        lh_buf_reset(&heap);
        out->offsets = offsets;
        out->data = data;
        return LH_OK;
    }
    size_t w = lh_type_width(f);
    uint8_t *values = lh_arena_alloc(arena, nn * w + 16);
    if (!values)
        return lh_error_set(err, LH_E_NOMEM, "arena");
    for (int64_t k = 0; k < n; k++) {
        if (!nulls[k])
            gen_fixed((enum gc_mode)modes[k], f, keys[k], values + (size_t)k * w);
    }
    out->values = values;
    return LH_OK;
}

static bool row_is_null(const struct gc_case *c, const struct lh_field *f, int64_t row)
{
    if (!f->nullable)
        return false;
    switch (gc_mode_at(c, row)) {
    case GC_ALLNULL:
        return true;
    case GC_EDGE:
        return row % 7 == 3;
    case GC_LOWCARD:
        return row % 5 == 4;
    case GC_RUNS:
        return row / 40 % 3 == 1;
    default:
        return row % 11 == 5;
    }
}

enum lh_status gc_build_column(const struct gc_case *c, size_t col, int64_t r0, int64_t r1,
                               struct lh_arena *arena, struct lh_array *out, struct lh_error *err)
{
    const struct lh_field *f = &c->fields[col];
    int64_t n = r1 - r0;
    size_t nn = (size_t)n;
    uint8_t *nulls = lh_arena_alloc(arena, nn + 1);
    if (!nulls)
        return lh_error_set(err, LH_E_NOMEM, "arena");
    for (int64_t k = 0; k < n; k++)
        nulls[k] = row_is_null(c, f, r0 + k);
    if (!f->is_list) {
        int64_t *keys = lh_arena_alloc(arena, (nn + 1) * sizeof *keys);
        uint8_t *modes = lh_arena_alloc(arena, nn + 1);
        if (!keys || !modes)
            return lh_error_set(err, LH_E_NOMEM, "arena");
        for (int64_t k = 0; k < n; k++) {
            keys[k] = r0 + k;
            modes[k] = (uint8_t)gc_mode_at(c, r0 + k);
        }
        return build_leaf(f, n, keys, modes, nulls, f->nullable, arena, out, err);
    }
    /* Lists: NULL rows (row_is_null) are NULL lists; row % 6 <= 1 is empty,
     * else 1 + row % 4 elements (keys row * 13 + j); element j of
     * a nullable-element list is NULL when (row + j) % 3 == 0. */
    int32_t *lo = lh_arena_alloc(arena, (nn + 1) * sizeof *lo);
    struct lh_array *child = lh_arena_alloc(arena, sizeof *child);
    if (!lo || !child)
        return lh_error_set(err, LH_E_NOMEM, "arena");
    int64_t ne = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t row = r0 + k;
        int64_t cnt = (nulls[k] || row % 6 <= 1) ? 0 : 1 + row % 4;
        ne += cnt;
        lo[k + 1] = (int32_t)ne;
    }
    size_t nel = (size_t)ne;
    int64_t *keys = lh_arena_alloc(arena, (nel + 1) * sizeof *keys);
    uint8_t *modes = lh_arena_alloc(arena, nel + 1);
    uint8_t *enulls = lh_arena_alloc(arena, nel + 1);
    if (!keys || !modes || !enulls)
        return lh_error_set(err, LH_E_NOMEM, "arena");
    for (int64_t k = 0; k < n; k++) {
        int64_t row = r0 + k;
        for (int32_t j = 0; j < lo[k + 1] - lo[k]; j++) {
            size_t e = (size_t)lo[k] + (size_t)j;
            keys[e] = row * 13 + j;
            modes[e] = (uint8_t)gc_mode_at(c, row);
            enulls[e] = f->element_nullable && (row + j) % 3 == 0;
        }
    }
    enum lh_status st =
        build_leaf(f, ne, keys, modes, enulls, f->element_nullable, arena, child, err);
    if (st != LH_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->length = n;
    if (f->nullable) {
        uint8_t *validity = lh_arena_alloc(arena, nn / 8 + 1);
        if (!validity)
            return lh_error_set(err, LH_E_NOMEM, "arena");
        for (int64_t k = 0; k < n; k++)
            lh_bit_set(validity, k, !nulls[k]);
        out->validity = validity;
    }
    out->list_offsets = lo;
    out->child = child;
    return LH_OK;
}

enum lh_status gc_build_batch(const struct gc_case *c, int64_t r0, int64_t r1,
                              struct lh_arena *arena, struct lh_array *cols, struct lh_batch *out,
                              struct lh_error *err)
{
    for (size_t i = 0; i < c->nfields; i++) {
        enum lh_status st = gc_build_column(c, i, r0, r1, arena, &cols[i], err);
        if (st != LH_OK)
            return st;
    }
    out->num_rows = r1 - r0;
    out->cols = cols;
    return LH_OK;
}

enum lh_status gc_write_case(const struct gc_case *c, lh_parquet_sink_fn sink, void *sink_ctx,
                             struct lh_parquet_writer_stats *stats, struct lh_error *err)
{
    struct lh_schema schema = {c->nfields, c->fields};
    struct lh_parquet_writer *w = NULL;
    struct lh_arena arena;
    lh_arena_init(&arena, 0);
    enum lh_status st = lh_parquet_writer_create(&schema, &c->opt, sink, sink_ctx, &w, err);
    if (st != LH_OK)
        goto fail;
    for (int b = 0; b < c->nbatches; b++) {
        int64_t r0 = c->nrows * b / c->nbatches, r1 = c->nrows * (b + 1) / c->nbatches;
        struct lh_array cols[GC_MAX_COLS];
        struct lh_batch batch;
        st = gc_build_batch(c, r0, r1, &arena, cols, &batch, err);
        if (st != LH_OK)
            goto fail;
        st = lh_parquet_writer_add_batch(w, &batch, err);
        if (st != LH_OK)
            goto fail;
        /* The writer keeps no pointer into a batch: free it before the next
         * one so the sanitizer build catches any that it does keep. */
        lh_arena_reset(&arena);
    }
    st = lh_parquet_writer_close(w, err);
    if (st == LH_OK && stats)
        lh_parquet_writer_stats(w, stats);
fail:
    lh_parquet_writer_destroy(w);
    lh_arena_reset(&arena);
    return st;
}

/* ------------------------------------------------------------ canonical text */

void gc_i128_text(lh_i128 v, unsigned scale, struct lh_buf *out)
{
    char digits[48];
    size_t n = 0;
    bool neg = v < 0;
    /* Work on the magnitude as unsigned so that no value overflows. */
    unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        digits[n++] = '0';
    if (neg)
        lh_buf_append_u8(out, '-');
    for (size_t i = n; i-- > 0;) {
        lh_buf_append_u8(out, (uint8_t)digits[i]);
        if (i == scale && scale)
            lh_buf_append_u8(out, '.');
    }
}

static void text_double(double d, struct lh_buf *out)
{
    if (isnan(d))
        lh_buf_append_str(out, "NaN");
    else if (isinf(d))
        lh_buf_append_str(out, d > 0 ? "Infinity" : "-Infinity");
    else if (d == 0)
        lh_buf_append_str(out, signbit(d) ? "-0" : "0");
    else
        lh_buf_printf(out, "%.17g", d); /* exact: 17 digits round-trip a double */
}

void gc_value_text(const struct lh_field *f, const struct lh_array *a, int64_t i,
                   struct lh_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *v = a->values;
    size_t w = lh_type_width(f);
    const uint8_t *slot = v ? v + (size_t)i * w : NULL;
    switch (f->type) {
    case LH_T_BOOL:
        lh_buf_append_str(out, slot[0] ? "true" : "false");
        return;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_DATE: {
        int32_t x;
        memcpy(&x, slot, 4);
        lh_buf_printf(out, "%ld", (long)x);
        return;
    }
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32: {
        uint32_t x;
        memcpy(&x, slot, 4);
        lh_buf_printf(out, "%lu", (unsigned long)x);
        return;
    }
    case LH_T_INT64:
    case LH_T_TIMESTAMP:
    case LH_T_TIME: {
        int64_t x;
        memcpy(&x, slot, 8);
        lh_buf_printf(out, "%lld", (long long)x);
        return;
    }
    case LH_T_UINT64: {
        uint64_t x;
        memcpy(&x, slot, 8);
        lh_buf_printf(out, "%llu", (unsigned long long)x);
        return;
    }
    case LH_T_FLOAT: {
        float x;
        memcpy(&x, slot, 4);
        text_double((double)x, out);
        return;
    }
    case LH_T_DOUBLE: {
        double x;
        memcpy(&x, slot, 8);
        text_double(x, out);
        return;
    }
    case LH_T_DECIMAL: {
        lh_i128 x;
        if (w == 4) {
            int32_t y;
            memcpy(&y, slot, 4);
            x = y;
        } else if (w == 8) {
            int64_t y;
            memcpy(&y, slot, 8);
            x = y;
        } else {
            memcpy(&x, slot, 16);
        }
        gc_i128_text(x, f->scale, out);
        return;
    }
    case LH_T_UUID:
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10)
                lh_buf_append_u8(out, '-');
            lh_buf_append_u8(out, (uint8_t)hex[slot[k] >> 4]);
            lh_buf_append_u8(out, (uint8_t)hex[slot[k] & 15]);
        }
        return;
    case LH_T_FIXED:
        for (size_t k = 0; k < w; k++) {
            lh_buf_append_u8(out, (uint8_t)hex[slot[k] >> 4]);
            lh_buf_append_u8(out, (uint8_t)hex[slot[k] & 15]);
        }
        return;
    case LH_T_BINARY:
        for (int32_t k = a->offsets[i]; k < a->offsets[i + 1]; k++) {
            lh_buf_append_u8(out, (uint8_t)hex[a->data[k] >> 4]);
            lh_buf_append_u8(out, (uint8_t)hex[a->data[k] & 15]);
        }
        return;
    case LH_T_STRING:
    case LH_T_JSON:
    case LH_T_ENUM:
        lh_buf_append(out, a->data + a->offsets[i], (size_t)(a->offsets[i + 1] - a->offsets[i]));
        return;
    case LH_T_COUNT_:
        return;
    }
}

static void json_string(const uint8_t *p, size_t n, struct lh_buf *out)
{
    lh_buf_append_u8(out, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '"' || ch == '\\') {
            lh_buf_append_u8(out, '\\');
            lh_buf_append_u8(out, ch);
        } else if (ch < 0x20) {
            lh_buf_printf(out, "\\u%04x", ch);
        } else {
            lh_buf_append_u8(out, ch); /* UTF-8 passes through */
        }
    }
    lh_buf_append_u8(out, '"');
}

static void json_value(const struct lh_field *f, const struct lh_array *a, int64_t i,
                       struct lh_buf *tmp, struct lh_buf *out)
{
    if (!lh_bit_get(a->validity, i)) {
        lh_buf_append_str(out, "null");
        return;
    }
    lh_buf_clear(tmp);
    gc_value_text(f, a, i, tmp);
    if (f->type == LH_T_BOOL)
        lh_buf_append(out, tmp->data, tmp->len);
    else
        json_string(tmp->data, tmp->len, out);
}

static const char *dict_name(enum gc_dict d)
{
    switch (d) {
    case GC_DICT_NONE:
        return "none";
    case GC_DICT_USED:
        return "used";
    case GC_DICT_PLAIN:
        return "plain";
    default:
        return "any";
    }
}

void gc_expected_json(const struct gc_case *c, const struct lh_array *cols, struct lh_buf *out)
{
    struct lh_buf tmp;
    lh_buf_init(&tmp, 0);
    lh_buf_printf(out,
                  "{\"case\":\"%s\",\"num_rows\":%lld,\"min_row_groups\":%d,\"dict\":\"%s\","
                  "\"codec\":\"%s\",",
                  c->name, (long long)c->nrows, c->min_row_groups, dict_name(c->dict),
                  lh_parquet_codec_name(c->opt.codec));
    lh_buf_append_str(out, "\"kv\":[");
    for (size_t i = 0; i < c->opt.nkv; i++) {
        lh_buf_append_str(out, i ? ",[" : "[");
        json_string((const uint8_t *)c->opt.kv[i].key, strlen(c->opt.kv[i].key), out);
        lh_buf_append_u8(out, ',');
        json_string((const uint8_t *)c->opt.kv[i].value, strlen(c->opt.kv[i].value), out);
        lh_buf_append_u8(out, ']');
    }
    lh_buf_append_str(out, "],\"columns\":[\n");
    for (size_t ci = 0; ci < c->nfields; ci++) {
        const struct lh_field *f = &c->fields[ci];
        const struct lh_array *a = &cols[ci];
        lh_buf_printf(out,
                      "%s{\"name\":\"%s\",\"type\":\"%s\",\"nullable\":%s,\"is_list\":%s,"
                      "\"element_nullable\":%s,\"ts_utc\":%s,\"precision\":%u,\"scale\":%u,"
                      "\"values\":[",
                      ci ? ",\n" : "", f->name, lh_type_name(f->type),
                      f->nullable ? "true" : "false", f->is_list ? "true" : "false",
                      f->element_nullable ? "true" : "false", f->ts_utc ? "true" : "false",
                      f->precision, f->scale);
        for (int64_t r = 0; r < a->length; r++) {
            if (r)
                lh_buf_append_u8(out, ',');
            if (!f->is_list) {
                json_value(f, a, r, &tmp, out);
                continue;
            }
            if (!lh_bit_get(a->validity, r)) {
                lh_buf_append_str(out, "null");
                continue;
            }
            lh_buf_append_u8(out, '[');
            for (int32_t e = a->list_offsets[r]; e < a->list_offsets[r + 1]; e++) {
                if (e > a->list_offsets[r])
                    lh_buf_append_u8(out, ',');
                json_value(f, a->child, e, &tmp, out);
            }
            lh_buf_append_u8(out, ']');
        }
        lh_buf_append_str(out, "]}");
    }
    lh_buf_append_str(out, "\n]}\n");
    lh_buf_reset(&tmp);
}
