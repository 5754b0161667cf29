/*
 * test_read_footer.c — the reader on small hand-built files: footers that
 * are valid in unusual ways (unknown fields, ConvertedType-only
 * annotations, legacy 2-level lists, def levels, FLBA decimals) and footers
 * and pages that are broken (bad magic, truncation, footer length too big,
 * negative and huge counts, offsets outside the file, page counts that
 * disagree with the chunk). Broken input must give LH_E_FORMAT (or
 * LH_E_UNSUPPORTED naming the column) and never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "parquet_int.h"

/* ------------------------------------------------------------ thrift writer */

struct tw {
    uint8_t b[4096];
    size_t n;
    int16_t last[32];
    int depth;
};

static void u8(struct tw *w, uint8_t v)
{
    w->b[w->n++] = v;
}
static void uvar(struct tw *w, uint64_t v)
{
    while (v >= 0x80) {
        u8(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    u8(w, (uint8_t)v);
}
static void zz(struct tw *w, int64_t v)
{
    uvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
static void fld(struct tw *w, int16_t id, uint8_t type)
{
    int d = id - w->last[w->depth];
    if (d > 0 && d <= 15) {
        u8(w, (uint8_t)(d << 4 | type));
    } else {
        u8(w, type);
        zz(w, id);
    }
    w->last[w->depth] = id;
}
static void sbegin(struct tw *w)
{
    w->last[++w->depth] = 0;
}
static void send(struct tw *w)
{
    u8(w, 0);
    w->depth--;
}
static void fi32(struct tw *w, int16_t id, int64_t v)
{
    fld(w, id, PQ_TC_I32);
    zz(w, v);
}
static void fi64(struct tw *w, int16_t id, int64_t v)
{
    fld(w, id, PQ_TC_I64);
    zz(w, v);
}
static void fbin(struct tw *w, int16_t id, const char *s)
{
    fld(w, id, PQ_TC_BINARY);
    uvar(w, strlen(s));
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}
static void fstruct(struct tw *w, int16_t id)
{
    fld(w, id, PQ_TC_STRUCT);
    sbegin(w);
}
static void listh(struct tw *w, uint8_t et, uint64_t count)
{
    if (count < 15) {
        u8(w, (uint8_t)(count << 4 | et));
    } else {
        u8(w, (uint8_t)(0xF0 | et));
        uvar(w, count);
    }
}
static void flist(struct tw *w, int16_t id, uint8_t et, uint64_t count)
{
    fld(w, id, PQ_TC_LIST);
    listh(w, et, count);
}

/* ------------------------------------------------------------ file builder */

enum kind { K_SCALAR, K_LIST2, K_MAP, K_DECIMAL };

struct knobs {
    enum kind kind;
    int64_t num_rows;     /* footer; default = rows */
    int64_t chunk_values; /* ColumnMetaData.num_values; default = levels */
    int32_t page_values;  /* DataPageHeader.num_values; default = levels */
    uint64_t schema_count; /* override the schema list count */
    int64_t data_offset;  /* override */
    int32_t codec;
    bool unknown_fields;
    int64_t rg_rows; /* override */
};

struct shape {
    int rows, levels;
    uint8_t page[64];
    size_t page_len;
};

static struct shape shape_of(enum kind k)
{
    struct shape s = {0};
    switch (k) {
    case K_SCALAR: {
        int32_t v[3] = {1, -2, 3};
        s.rows = s.levels = 3;
        memcpy(s.page, v, 12);
        s.page_len = 12;
        break;
    }
    case K_LIST2: {
        /* rows [1,2], [], [3]: rep 0 1 0 0, def 1 1 0 1 */
        const uint8_t p[] = {2, 0, 0, 0, 0x03, 0x02, 2, 0, 0, 0, 0x03, 0x0B,
                             1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
        s.rows = 3;
        s.levels = 4;
        memcpy(s.page, p, sizeof p);
        s.page_len = sizeof p;
        break;
    }
    case K_MAP:
        s.rows = s.levels = 0;
        s.page_len = 0;
        break;
    case K_DECIMAL: {
        /* 1.23, NULL, -0.05 as FLBA(4) DECIMAL(9,2): def 1 0 1 */
        const uint8_t p[] = {2, 0, 0, 0, 0x03, 0x05, 0, 0, 0, 0x7B, 0xFF, 0xFF, 0xFF, 0xFB};
        s.rows = s.levels = 3;
        memcpy(s.page, p, sizeof p);
        s.page_len = sizeof p;
        break;
    }
    }
    return s;
}

static size_t build(const struct knobs *k, uint8_t *out)
{
    struct shape s = shape_of(k->kind);
    struct tw w = {0};
    size_t n = 0;
    memcpy(out, "PAR1", 4);
    n = 4;
    /* Page header + data. */
    fi32(&w, 1, PQ_PAGE_DATA);
    fi32(&w, 2, (int64_t)s.page_len);
    fi32(&w, 3, (int64_t)s.page_len);
    fstruct(&w, 5);
    fi32(&w, 1, k->page_values ? k->page_values : s.levels);
    fi32(&w, 2, PQ_ENC_PLAIN);
    fi32(&w, 3, PQ_ENC_RLE);
    fi32(&w, 4, PQ_ENC_RLE);
    send(&w);
    u8(&w, 0);
    memcpy(out + n, w.b, w.n);
    n += w.n;
    memcpy(out + n, s.page, s.page_len);
    n += s.page_len;
    int64_t chunk_size = (int64_t)(w.n + s.page_len);

    /* Footer. */
    struct tw f = {0};
    fi32(&f, 1, 1);
    int nel = k->kind == K_SCALAR ? 2 : k->kind == K_MAP ? 5 : k->kind == K_DECIMAL ? 2 : 3;
    flist(&f, 2, PQ_TC_STRUCT, k->schema_count ? k->schema_count : (uint64_t)nel);
    sbegin(&f);
    fbin(&f, 4, "schema");
    fi32(&f, 5, 1);
    send(&f);
    int32_t phys = PQ_TC_I32;
    switch (k->kind) {
    case K_SCALAR:
        sbegin(&f);
        fi32(&f, 1, LH_PQ_INT32);
        fi32(&f, 3, PQ_REQUIRED);
        fbin(&f, 4, "a");
        if (k->unknown_fields)
            fi32(&f, 9, 77); /* field_id */
        send(&f);
        phys = LH_PQ_INT32;
        break;
    case K_LIST2:
        sbegin(&f);
        fi32(&f, 3, PQ_REQUIRED);
        fbin(&f, 4, "l");
        fi32(&f, 5, 1);
        fi32(&f, 6, PQ_CT_LIST);
        send(&f);
        sbegin(&f);
        fi32(&f, 1, LH_PQ_INT32);
        fi32(&f, 3, PQ_REPEATED);
        fbin(&f, 4, "element");
        send(&f);
        phys = LH_PQ_INT32;
        break;
    case K_MAP:
        sbegin(&f);
        fi32(&f, 3, PQ_OPTIONAL);
        fbin(&f, 4, "m");
        fi32(&f, 5, 1);
        fi32(&f, 6, PQ_CT_MAP);
        send(&f);
        sbegin(&f);
        fi32(&f, 3, PQ_REPEATED);
        fbin(&f, 4, "key_value");
        fi32(&f, 5, 2);
        send(&f);
        sbegin(&f);
        fi32(&f, 1, LH_PQ_INT32);
        fi32(&f, 3, PQ_REQUIRED);
        fbin(&f, 4, "key");
        send(&f);
        sbegin(&f);
        fi32(&f, 1, LH_PQ_INT32);
        fi32(&f, 3, PQ_OPTIONAL);
        fbin(&f, 4, "value");
        send(&f);
        phys = LH_PQ_INT32;
        break;
    case K_DECIMAL:
        sbegin(&f);
        fi32(&f, 1, LH_PQ_FIXED_LEN_BYTE_ARRAY);
        fi32(&f, 2, 4);
        fi32(&f, 3, PQ_OPTIONAL);
        fbin(&f, 4, "d");
        fi32(&f, 6, PQ_CT_DECIMAL);
        fi32(&f, 7, 2);
        fi32(&f, 8, 9);
        send(&f);
        phys = LH_PQ_FIXED_LEN_BYTE_ARRAY;
        break;
    }
    fi64(&f, 3, k->num_rows ? k->num_rows : s.rows);
    flist(&f, 4, PQ_TC_STRUCT, 1);
    sbegin(&f); /* RowGroup */
    flist(&f, 1, PQ_TC_STRUCT, 1);
    sbegin(&f); /* ColumnChunk */
    fi64(&f, 2, 4);
    fstruct(&f, 3); /* ColumnMetaData */
    fi32(&f, 1, phys);
    flist(&f, 2, PQ_TC_I32, 2);
    zz(&f, PQ_ENC_PLAIN);
    zz(&f, PQ_ENC_RLE);
    flist(&f, 3, PQ_TC_BINARY, 1);
    uvar(&f, 1);
    u8(&f, 'x');
    fi32(&f, 4, k->codec);
    fi64(&f, 5, k->chunk_values ? k->chunk_values : s.levels);
    fi64(&f, 6, chunk_size);
    fi64(&f, 7, chunk_size);
    if (k->unknown_fields)
        fbin(&f, 8, ""); /* a known-but-unused field with an unexpected wire type: skipped */
    fi64(&f, 9, k->data_offset ? k->data_offset : 4);
    if (k->unknown_fields) {
        fstruct(&f, 40); /* unknown struct with nested containers */
        flist(&f, 1, PQ_TC_STRUCT, 2);
        sbegin(&f);
        fi32(&f, 1, 5);
        send(&f);
        sbegin(&f);
        send(&f);
        fld(&f, 2, PQ_TC_MAP);
        uvar(&f, 1);
        u8(&f, PQ_TC_BINARY << 4 | PQ_TC_LIST);
        uvar(&f, 1);
        u8(&f, 'k');
        listh(&f, PQ_TC_I64, 2);
        zz(&f, 1);
        zz(&f, 2);
        fld(&f, 3, PQ_TC_TRUE);
        send(&f);
    }
    send(&f); /* ColumnMetaData */
    send(&f); /* ColumnChunk */
    fi64(&f, 2, chunk_size);
    fi64(&f, 3, k->rg_rows ? k->rg_rows : s.rows);
    send(&f); /* RowGroup */
    fbin(&f, 6, "hand-built");
    if (k->unknown_fields) {
        fstruct(&f, 100);
        fld(&f, 1, PQ_TC_DOUBLE);
        for (int i = 0; i < 8; i++)
            u8(&f, 0);
        send(&f);
    }
    u8(&f, 0);
    memcpy(out + n, f.b, f.n);
    n += f.n;
    uint32_t fl = (uint32_t)f.n;
    memcpy(out + n, &fl, 4);
    memcpy(out + n + 4, "PAR1", 4);
    return n + 8;
}

/* ------------------------------------------------------------ cases */

enum post { P_NONE, P_HEAD_MAGIC, P_TAIL_MAGIC, P_FLEN_HUGE, P_FLEN_ZERO, P_FLEN_PLUS1 };

struct fcase {
    const char *name;
    struct knobs k;
    enum post post;
    enum lh_status open_st;
    enum lh_status read_st;
    const char *msg; /* substring of the error, or NULL */
};

static const struct fcase cases[] = {
    {"valid scalar", {.kind = K_SCALAR}, P_NONE, LH_OK, LH_OK, NULL},
    {"unknown fields skipped", {.kind = K_SCALAR, .unknown_fields = true}, P_NONE, LH_OK, LH_OK,
     NULL},
    {"legacy 2-level list", {.kind = K_LIST2}, P_NONE, LH_OK, LH_OK, NULL},
    {"converted DECIMAL on FLBA", {.kind = K_DECIMAL}, P_NONE, LH_OK, LH_OK, NULL},
    {"map column", {.kind = K_MAP}, P_NONE, LH_E_UNSUPPORTED, LH_OK, "column m: map"},
    {"bad head magic", {.kind = K_SCALAR}, P_HEAD_MAGIC, LH_E_FORMAT, LH_OK, "magic"},
    {"bad tail magic", {.kind = K_SCALAR}, P_TAIL_MAGIC, LH_E_FORMAT, LH_OK, "magic"},
    {"footer length huge", {.kind = K_SCALAR}, P_FLEN_HUGE, LH_E_FORMAT, LH_OK, "footer length"},
    {"footer length zero", {.kind = K_SCALAR}, P_FLEN_ZERO, LH_E_FORMAT, LH_OK, "footer length"},
    {"footer length off by one", {.kind = K_SCALAR}, P_FLEN_PLUS1, LH_E_FORMAT, LH_OK, NULL},
    {"negative num_rows", {.kind = K_SCALAR, .num_rows = -5}, P_NONE, LH_E_FORMAT, LH_OK, "rows"},
    {"num_rows disagrees", {.kind = K_SCALAR, .num_rows = 4}, P_NONE, LH_E_FORMAT, LH_OK,
     "footer says 4"},
    {"huge schema count", {.kind = K_SCALAR, .schema_count = 0x0FFFFFFF}, P_NONE, LH_E_FORMAT,
     LH_OK, "list of"},
    {"schema count too small", {.kind = K_SCALAR, .schema_count = 1}, P_NONE, LH_E_FORMAT, LH_OK,
     NULL},
    {"data offset past the file", {.kind = K_SCALAR, .data_offset = 1 << 20}, P_NONE,
     LH_E_FORMAT, LH_OK, "outside"},
    {"negative data offset", {.kind = K_SCALAR, .data_offset = -8}, P_NONE, LH_E_FORMAT, LH_OK,
     "negative"},
    {"negative chunk values", {.kind = K_SCALAR, .chunk_values = -1}, P_NONE, LH_E_FORMAT, LH_OK,
     "negative"},
    {"chunk values != rows", {.kind = K_SCALAR, .chunk_values = 2}, P_NONE, LH_E_FORMAT, LH_OK,
     "values for"},
    {"row group rows negative", {.kind = K_SCALAR, .rg_rows = -3, .num_rows = -3}, P_NONE,
     LH_E_FORMAT, LH_OK, NULL},
    {"page has more values than chunk", {.kind = K_SCALAR, .page_values = 5}, P_NONE, LH_OK,
     LH_E_FORMAT, "more values"},
    {"page has fewer values than chunk", {.kind = K_SCALAR, .page_values = 2}, P_NONE, LH_OK,
     LH_E_FORMAT, "chunk ends"},
    {"negative page values", {.kind = K_SCALAR, .page_values = -2}, P_NONE, LH_OK, LH_E_FORMAT,
     NULL},
    {"LZO codec", {.kind = K_SCALAR, .codec = LH_PQ_LZO}, P_NONE, LH_OK, LH_E_UNSUPPORTED, "LZO"},
    {"list page short of levels", {.kind = K_LIST2, .page_values = 5, .chunk_values = 5}, P_NONE,
     LH_OK, LH_E_FORMAT, NULL},
};

static void apply_post(enum post p, uint8_t *b, size_t n)
{
    uint32_t fl;
    switch (p) {
    case P_NONE:
        break;
    case P_HEAD_MAGIC:
        b[0] = 'Q';
        break;
    case P_TAIL_MAGIC:
        b[n - 1] = '2';
        break;
    case P_FLEN_HUGE:
        fl = 0x7fffffff;
        memcpy(b + n - 8, &fl, 4);
        break;
    case P_FLEN_ZERO:
        fl = 0;
        memcpy(b + n - 8, &fl, 4);
        break;
    case P_FLEN_PLUS1:
        memcpy(&fl, b + n - 8, 4);
        fl++;
        memcpy(b + n - 8, &fl, 4);
        break;
    }
}

static void check_values(const struct fcase *c, const struct lh_parquet_file_info *info,
                         const struct lh_array *a)
{
    const struct lh_field *f = &info->schema.fields[0];
    switch (c->k.kind) {
    case K_SCALAR: {
        assert_int_equal(f->type, LH_T_INT32);
        assert_false(f->nullable);
        const int32_t *v = a->values;
        assert_int_equal(a->length, 3);
        assert_null(a->validity);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1], -2);
        assert_int_equal(v[2], 3);
        assert_string_equal(info->created_by, "hand-built");
        break;
    }
    case K_LIST2: {
        assert_true(f->is_list);
        assert_false(f->nullable);
        assert_false(f->element_nullable);
        assert_string_equal(info->columns[0].path, "l.element");
        assert_int_equal(a->length, 3);
        assert_null(a->validity);
        static const int32_t lo[] = {0, 2, 2, 3};
        for (int i = 0; i < 4; i++)
            assert_int_equal(a->list_offsets[i], lo[i]);
        const int32_t *v = a->child->values;
        assert_int_equal(a->child->length, 3);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1], 2);
        assert_int_equal(v[2], 3);
        break;
    }
    case K_DECIMAL: {
        assert_int_equal(f->type, LH_T_DECIMAL);
        assert_int_equal(f->precision, 9);
        assert_int_equal(f->scale, 2);
        assert_string_equal(info->columns[0].logical, "DECIMAL(9,2)");
        assert_int_equal(info->columns[0].converted_type, PQ_CT_DECIMAL);
        const int32_t *v = a->values;
        assert_true(lh_bit_get(a->validity, 0));
        assert_false(lh_bit_get(a->validity, 1));
        assert_true(lh_bit_get(a->validity, 2));
        assert_int_equal(v[0], 123);
        assert_int_equal(v[2], -5);
        break;
    }
    case K_MAP:
        break;
    }
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct fcase *c = &cases[i];
        uint8_t buf[8192];
        size_t n = build(&c->k, buf);
        apply_post(c->post, buf, n);
        struct lh_parquet_reader *r = NULL;
        struct lh_error err = {0};
        enum lh_status st = lh_parquet_reader_open_mem(buf, n, &r, &err);
        if (st != c->open_st)
            fail_msg("%s: open gave %s (%s)", c->name, lh_status_str(st), err.msg);
        if (st != LH_OK) {
            if (c->msg && !strstr(err.msg, c->msg))
                fail_msg("%s: message '%s' lacks '%s'", c->name, err.msg, c->msg);
            continue;
        }
        struct lh_arena arena;
        lh_arena_init(&arena, 1 << 20);
        struct lh_array a;
        st = lh_parquet_reader_read_column(r, 0, 0, &arena, &a, &err);
        if (st != c->read_st)
            fail_msg("%s: read gave %s (%s)", c->name, lh_status_str(st), err.msg);
        if (st == LH_OK)
            check_values(c, lh_parquet_reader_info(r), &a);
        else if (c->msg && !strstr(err.msg, c->msg))
            fail_msg("%s: message '%s' lacks '%s'", c->name, err.msg, c->msg);
        lh_arena_reset(&arena);
        lh_parquet_reader_close(r);
    }
}

/* Every prefix of a valid file fails cleanly. */
static void test_truncations(void **state)
{
    (void)state;
    static const enum kind kinds[] = {K_SCALAR, K_LIST2, K_DECIMAL};
    for (size_t k = 0; k < 3; k++) {
        struct knobs kn = {.kind = kinds[k], .unknown_fields = k == 0};
        uint8_t buf[8192];
        size_t n = build(&kn, buf);
        for (size_t len = 0; len < n; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, buf, len);
            struct lh_parquet_reader *r = NULL;
            struct lh_error err = {0};
            enum lh_status st = lh_parquet_reader_open_mem(copy, len, &r, &err);
            if (st != LH_E_FORMAT)
                fail_msg("kind %zu truncated to %zu: %s", k, len, lh_status_str(st));
            assert_true(err.msg[0] != '\0');
            free(copy);
        }
    }
}

/* Reading arguments out of range is the caller's error, not a crash. */
static void test_bad_args(void **state)
{
    (void)state;
    struct knobs kn = {.kind = K_SCALAR};
    uint8_t buf[8192];
    size_t n = build(&kn, buf);
    struct lh_parquet_reader *r;
    struct lh_error err = {0};
    assert_int_equal(lh_parquet_reader_open_mem(buf, n, &r, &err), LH_OK);
    struct lh_arena arena;
    lh_arena_init(&arena, 1 << 20);
    struct lh_array a;
    assert_int_equal(lh_parquet_reader_read_column(r, 1, 0, &arena, &a, &err), LH_E_INVAL);
    assert_int_equal(lh_parquet_reader_read_column(r, -1, 0, &arena, &a, &err), LH_E_INVAL);
    assert_int_equal(lh_parquet_reader_read_column(r, 0, 1, &arena, &a, &err), LH_E_INVAL);
    /* A tiny arena cap: TOOBIG, not a crash. */
    struct lh_arena tiny;
    lh_arena_init(&tiny, 8);
    assert_int_equal(lh_parquet_reader_read_column(r, 0, 0, &tiny, &a, &err), LH_E_TOOBIG);
    lh_arena_reset(&tiny);
    lh_arena_reset(&arena);
    lh_parquet_reader_close(r);
    assert_int_equal(lh_parquet_reader_open_file("/nonexistent/x.parquet", &r, &err),
                     LH_E_NOTFOUND);
}

/* Statistics formatting by logical type. */
static void test_format_stat(void **state)
{
    (void)state;
    struct {
        struct lh_field f;
        struct lh_parquet_column_info ci;
        uint8_t v[16];
        uint32_t len;
        const char *want;
    } sc[] = {
        {{.type = LH_T_INT32}, {.physical = LH_PQ_INT32}, {0xD6, 0xFF, 0xFF, 0xFF}, 4, "-42"},
        {{.type = LH_T_UINT32}, {.physical = LH_PQ_INT32}, {0xFF, 0xFF, 0xFF, 0xFF}, 4,
         "4294967295"},
        {{.type = LH_T_DATE}, {.physical = LH_PQ_INT32}, {0x01, 0x00, 0x00, 0x00}, 4,
         "1970-01-02"},
        {{.type = LH_T_DECIMAL, .precision = 4, .scale = 2}, {.physical = LH_PQ_INT32},
         {0xE2, 0x04, 0, 0}, 4, "12.50"},
        {{.type = LH_T_TIMESTAMP, .ts_utc = true},
         {.physical = LH_PQ_INT64, .logical = "TIMESTAMP(MILLIS,true)"},
         {0xE8, 0x03, 0, 0, 0, 0, 0, 0}, 8, "1970-01-01T00:00:01Z"},
        {{.type = LH_T_TIMESTAMP},
         {.physical = LH_PQ_INT64, .logical = "TIMESTAMP(MICROS,false)"},
         {0x01, 0, 0, 0, 0, 0, 0, 0}, 8, "1970-01-01T00:00:00.000001"},
        {{.type = LH_T_STRING}, {.physical = LH_PQ_BYTE_ARRAY}, {'a', 'b', 'c'}, 3, "abc"},
        {{.type = LH_T_BINARY}, {.physical = LH_PQ_BYTE_ARRAY}, {0xDE, 0xAD}, 2, "dead"},
        {{.type = LH_T_DECIMAL, .precision = 20, .scale = 1},
         {.physical = LH_PQ_FIXED_LEN_BYTE_ARRAY}, {0xFF, 0xFB}, 2, "-0.5"},
        {{.type = LH_T_INT64}, {.physical = LH_PQ_INT64}, {1, 2, 3}, 3, "?"},
        {{.type = LH_T_BOOL}, {.physical = LH_PQ_BOOLEAN}, {1}, 1, "true"},
    };
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        char out[64];
        lh_parquet_format_stat(&sc[i].f, &sc[i].ci, sc[i].v, sc[i].len, out,
                               sizeof out);
        assert_string_equal(out, sc[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_format_stat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
