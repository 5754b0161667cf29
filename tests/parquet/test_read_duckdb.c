/*
 * test_read_duckdb.c — our reader against files written by DuckDB.
 *
 * At run time tests/parquet/duckdb_fixtures.mjs (node + @duckdb/node-api
 * from tests/node) writes the same table with DuckDB's defaults, zstd,
 * snappy, uncompressed and PARQUET_VERSION V2, and next to each file the
 * values DuckDB reads back, in a canonical text form. Every value our
 * reader decodes, in every row group and column, must equal DuckDB's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parquet_int.h"

static char g_dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/lh-read-duckdb-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "LH_NODE_DIR='%s' node '%s/duckdb_fixtures.mjs' '%s' 5000 >/dev/null",
             LH_TEST_NODE_DIR, LH_TEST_SRC_DIR, g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void hexs(struct lh_buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lh_buf_printf(b, "%02x", p[i]);
}

static void canon_num(struct lh_buf *b, double x)
{
    if (x != x) {
        lh_buf_append_str(b, "nan");
        return;
    }
    uint64_t bits;
    memcpy(&bits, &x, 8);
    if (x > -9007199254740992.0 && x < 9007199254740992.0 && x == (double)(int64_t)x)
        lh_buf_printf(b, "%.0f|", x == 0 ? 0.0 : x);
    lh_buf_printf(b, "%016llx", (unsigned long long)bits);
}

static void i128s(struct lh_buf *b, lh_i128 v)
{
    char d[48];
    size_t n = 0;
    unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        d[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0)
        lh_buf_append_u8(b, '-');
    while (n)
        lh_buf_append_u8(b, (uint8_t)d[--n]);
}

/* One value (slot i of a) in the fixture's canonical form. */
static void canon(struct lh_buf *b, const struct lh_field *f, const struct lh_array *a, int64_t i)
{
    if (!lh_bit_get(a->validity, i)) {
        lh_buf_append_str(b, "N");
        return;
    }
    const uint8_t *v = a->values;
    switch (f->type) {
    case LH_T_BOOL:
        lh_buf_append_str(b, v[i] ? "true" : "false");
        return;
    case LH_T_INT8: case LH_T_INT16: case LH_T_INT32:
        canon_num(b, ((const int32_t *)v)[i]);
        return;
    case LH_T_UINT8: case LH_T_UINT16: case LH_T_UINT32:
        canon_num(b, ((const uint32_t *)v)[i]);
        return;
    case LH_T_INT64: case LH_T_TIMESTAMP: case LH_T_TIME:
        lh_buf_printf(b, "%lld", (long long)((const int64_t *)v)[i]);
        return;
    case LH_T_UINT64:
        lh_buf_printf(b, "%llu", (unsigned long long)((const uint64_t *)v)[i]);
        return;
    case LH_T_FLOAT:
        canon_num(b, ((const float *)v)[i]);
        return;
    case LH_T_DOUBLE:
        canon_num(b, ((const double *)v)[i]);
        return;
    case LH_T_DATE:
        lh_buf_printf(b, "%d", ((const int32_t *)v)[i]);
        return;
    case LH_T_DECIMAL:
        if (f->precision <= 9)
            i128s(b, ((const int32_t *)v)[i]);
        else if (f->precision <= 18)
            i128s(b, ((const int64_t *)v)[i]);
        else {
            lh_i128 x;
            memcpy(&x, v + 16 * i, 16);
            i128s(b, x);
        }
        return;
    case LH_T_UUID: {
        const uint8_t *u = v + 16 * i;
        static const int dash[] = {4, 6, 8, 10};
        for (int k = 0, d = 0; k < 16; k++) {
            if (d < 4 && k == dash[d]) {
                lh_buf_append_u8(b, '-');
                d++;
            }
            lh_buf_printf(b, "%02x", u[k]);
        }
        return;
    }
    case LH_T_FIXED:
        hexs(b, v + (size_t)f->fixed_len * i, f->fixed_len);
        return;
    default:
        hexs(b, a->data + a->offsets[i], (size_t)(a->offsets[i + 1] - a->offsets[i]));
        return;
    }
}

static void canon_cell(struct lh_buf *b, const struct lh_field *f, const struct lh_array *a,
                       int64_t row)
{
    if (!f->is_list) {
        canon(b, f, a, row);
        return;
    }
    if (!lh_bit_get(a->validity, row)) {
        lh_buf_append_str(b, "N");
        return;
    }
    lh_buf_append_u8(b, '[');
    for (int32_t k = a->list_offsets[row]; k < a->list_offsets[row + 1]; k++) {
        if (k > a->list_offsets[row])
            lh_buf_append_u8(b, ',');
        canon(b, f, a->child, k);
    }
    lh_buf_append_u8(b, ']');
}

struct variant {
    const char *name;
    enum lh_parquet_codec codec;
    bool v2;
};

static const struct variant variants[] = {
    {"default", LH_PQ_SNAPPY, false},
    {"zstd", LH_PQ_ZSTD, false},
    {"snappy", LH_PQ_SNAPPY, false},
    {"uncompressed", LH_PQ_UNCOMPRESSED, false},
    {"v2", LH_PQ_ZSTD, true},
};

static void check_variant(const struct variant *v)
{
    char path[512];
    struct lh_error err = {0};
    snprintf(path, sizeof path, "%s/%s.expected", g_dir, v->name);
    uint8_t *exp;
    size_t exp_len;
    assert_int_equal(lh_file_read_all(path, 64u << 20, &exp, &exp_len, &err), LH_OK);
    snprintf(path, sizeof path, "%s/%s.parquet", g_dir, v->name);
    struct lh_parquet_reader *r;
    enum lh_status st = lh_parquet_reader_open_file(path, &r, &err);
    if (st != LH_OK)
        fail_msg("%s: %s", path, err.msg);
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    assert_int_equal(info->num_rows, 5000);
    assert_true(info->num_row_groups > 1);
    assert_true(strstr(info->created_by, "DuckDB") != NULL || strstr(info->created_by, "duckdb"));

    /* Header: column names in order. */
    char *save = NULL;
    char *line = strtok_r((char *)exp, "\n", &save);
    assert_non_null(line);
    size_t nf = info->schema.nfields;
    char *hs = NULL, *tok = strtok_r(line, "\t", &hs);
    for (size_t c = 0; c < nf; c++, tok = strtok_r(NULL, "\t", &hs)) {
        assert_non_null(tok);
        assert_string_equal(tok, info->schema.fields[c].name);
    }
    assert_null(tok);

    uint32_t encodings = 0;
    struct lh_buf cell;
    lh_buf_init(&cell, 0);
    struct lh_arena arena;
    lh_arena_init(&arena, 512u << 20);
    const struct lh_array **cols = calloc(nf, sizeof *cols);
    struct lh_array *arrs = calloc(nf, sizeof *arrs);
    int64_t checked = 0;
    for (int32_t g = 0; g < info->num_row_groups; g++) {
        const struct lh_parquet_row_group_info *rg = &info->row_groups[g];
        for (size_t c = 0; c < nf; c++) {
            assert_int_equal(rg->chunks[c].codec, v->codec);
            encodings |= rg->chunks[c].encodings;
            st = lh_parquet_reader_read_column(r, g, c, &arena, &arrs[c], &err);
            if (st != LH_OK)
                fail_msg("%s rg %d col %s: %s", v->name, g, info->schema.fields[c].name, err.msg);
            assert_int_equal(arrs[c].length, rg->num_rows);
            cols[c] = &arrs[c];
        }
        for (int64_t i = 0; i < rg->num_rows; i++) {
            line = strtok_r(NULL, "\n", &save);
            assert_non_null(line);
            char *fs = NULL;
            char *want = strtok_r(line, "\t", &fs);
            for (size_t c = 0; c < nf; c++, want = strtok_r(NULL, "\t", &fs)) {
                assert_non_null(want);
                lh_buf_clear(&cell);
                canon_cell(&cell, &info->schema.fields[c], cols[c], i);
                lh_buf_cstr(&cell);
                if (strcmp((char *)cell.data, want) != 0)
                    fail_msg("%s rg %d row %lld col %s: got %s, DuckDB %s", v->name, g,
                             (long long)i, info->schema.fields[c].name, (char *)cell.data, want);
                checked++;
            }
        }
        lh_arena_reset(&arena);
    }
    assert_null(strtok_r(NULL, "\n", &save));
    assert_int_equal(checked, (int64_t)5000 * (int64_t)nf);
    if (v->v2)
        assert_true(encodings & (1u << PQ_ENC_DELTA_BINARY_PACKED));
    free(cols);
    free(arrs);
    lh_arena_reset(&arena);
    lh_buf_reset(&cell);
    free(exp);
    lh_parquet_reader_close(r);
}

static void test_variant(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        check_variant(&variants[i]);
}

/* Schema mapping of DuckDB's types onto lakehouse types. */
static void test_schema(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum lh_type type;
        bool nullable_or_list;
        const char *logical;
    } want[] = {
        {"id", LH_T_INT32, false, ""},          {"bo", LH_T_BOOL, false, ""},
        {"i8", LH_T_INT8, false, "INT(8,true)"}, {"u64", LH_T_UINT64, false, "INT(64,false)"},
        {"d4", LH_T_DECIMAL, false, "DECIMAL(4,2)"},
        {"d38", LH_T_DECIMAL, false, "DECIMAL(38,10)"},
        {"s", LH_T_STRING, false, "STRING"},    {"b", LH_T_BINARY, false, ""},
        {"dt", LH_T_DATE, false, "DATE"},       {"ts", LH_T_TIMESTAMP, false, ""},
        {"tstz", LH_T_TIMESTAMP, false, ""},    {"u", LH_T_UUID, false, "UUID"},
        {"j", LH_T_JSON, false, "JSON"},        {"e", LH_T_STRING, false, ""},
        {"li", LH_T_INT64, true, ""},           {"ls", LH_T_STRING, true, "STRING"},
    };
    char path[512];
    struct lh_error err = {0};
    snprintf(path, sizeof path, "%s/zstd.parquet", g_dir);
    struct lh_parquet_reader *r;
    assert_int_equal(lh_parquet_reader_open_file(path, &r, &err), LH_OK);
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t c = 0;
        while (c < info->schema.nfields && strcmp(info->schema.fields[c].name, want[k].name))
            c++;
        assert_true(c < info->schema.nfields);
        const struct lh_field *f = &info->schema.fields[c];
        assert_int_equal(f->type, want[k].type);
        if (want[k].nullable_or_list) {
            assert_true(f->is_list);
            assert_int_equal(info->columns[c].max_rep_level, 1);
        }
        if (want[k].logical[0])
            assert_string_equal(info->columns[c].logical, want[k].logical);
    }
    /* Timestamps: zone-aware only for TIMESTAMPTZ. */
    for (size_t c = 0; c < info->schema.nfields; c++) {
        const struct lh_field *f = &info->schema.fields[c];
        if (strcmp(f->name, "ts") == 0)
            assert_false(f->ts_utc);
        if (strcmp(f->name, "tstz") == 0)
            assert_true(f->ts_utc);
        if (strcmp(f->name, "d38") == 0) {
            assert_int_equal(f->precision, 38);
            assert_int_equal(f->scale, 10);
        }
    }
    lh_parquet_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_variant),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
