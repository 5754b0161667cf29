/*
 * test_dict_rowgroups.c — the writer's dictionary decision across row
 * groups. A column whose first 8,192 values are all distinct loses its
 * dictionary in the first row group; when the distinct-count sketch shows
 * the row group repeats values enough for a dictionary to pay, the next
 * row groups are dictionary-encoded again. Values must read back exactly
 * either way, and a column that really is unique must stay PLAIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "parquet/parquet.h"
#include "parquet_int.h"

#include <stdlib.h>
#include <string.h>

#define ROWS_PER_RG 50000
#define NRG 3

struct mem {
    struct lh_buf b;
};

static enum lh_status mem_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    struct mem *m = ctx;
    lh_buf_append(&m->b, p, n);
    return lh_buf_ok(&m->b) ? LH_OK : lh_error_set(err, LH_E_NOMEM, "sink full");
}

/* Column 0 repeats 10,000 values in a cycle (first 8,192 distinct); column 1
 * is unique. */
static int64_t val(int col, int64_t row)
{
    return col == 0 ? (row % 10000) * 7919 : row * 31 + 5;
}

static void test_dictionary_returns_in_later_row_groups(void **state)
{
    (void)state;
    const struct lh_field fields[] = {
        {.name = "repeating", .type = LH_T_INT64},
        {.name = "unique", .type = LH_T_INT64},
    };
    struct lh_schema schema = {.nfields = 2, .fields = fields};
    struct lh_parquet_writer_options opt;
    lh_parquet_writer_options_init(&opt);
    opt.row_group_rows = ROWS_PER_RG;
    opt.codec = LH_PQ_UNCOMPRESSED; /* sizes below compare encodings, not zstd */
    opt.fixed_encodings = true;     /* ... dictionary against PLAIN (not deltas) */
    struct mem m;
    lh_buf_init(&m.b, 0);
    struct lh_error err;
    struct lh_parquet_writer *w;
    assert_int_equal(lh_parquet_writer_create(&schema, &opt, mem_sink, &m, &w, &err), LH_OK);

    const int64_t total = (int64_t)ROWS_PER_RG * NRG;
    const int64_t batch = 10000;
    int64_t *a = malloc(sizeof(int64_t) * batch), *b = malloc(sizeof(int64_t) * batch);
    for (int64_t start = 0; start < total; start += batch) {
        for (int64_t i = 0; i < batch; i++) {
            a[i] = val(0, start + i);
            b[i] = val(1, start + i);
        }
        struct lh_array cols[2] = {{.length = batch, .values = a}, {.length = batch, .values = b}};
        struct lh_batch bt = {.num_rows = batch, .cols = cols};
        assert_int_equal(lh_parquet_writer_add_batch(w, &bt, &err), LH_OK);
    }
    free(a);
    free(b);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);

    struct lh_parquet_reader *r;
    assert_int_equal(lh_parquet_reader_open_mem(m.b.data, m.b.len, &r, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
    assert_int_equal(fi->num_row_groups, NRG);
    const uint32_t dict = 1u << PQ_ENC_RLE_DICTIONARY;
    /* The repeating column: PLAIN in the first row group (judged on 8,192
     * distinct values), dictionary in the ones after it. */
    assert_int_equal(fi->row_groups[0].chunks[0].encodings & dict, 0);
    for (int g = 1; g < NRG; g++) {
        assert_true(fi->row_groups[g].chunks[0].encodings & dict);
        assert_true(fi->row_groups[g].chunks[0].dictionary_page_offset >= 0);
        assert_true(fi->row_groups[g].chunks[0].total_compressed_size <
                    fi->row_groups[0].chunks[0].total_compressed_size);
    }
    /* The unique column never gets a dictionary. */
    for (int g = 0; g < NRG; g++)
        assert_int_equal(fi->row_groups[g].chunks[1].encodings & dict, 0);

    /* Every value reads back. */
    int64_t row = 0;
    for (int g = 0; g < NRG; g++) {
        for (size_t c = 0; c < 2; c++) {
            struct lh_arena arena;
            lh_arena_init(&arena, 64u << 20);
            struct lh_array out;
            assert_int_equal(lh_parquet_reader_read_column(r, g, c, &arena, &out, &err), LH_OK);
            assert_int_equal(out.length, ROWS_PER_RG);
            const int64_t *v = out.values;
            for (int64_t i = 0; i < out.length; i++)
                if (v[i] != val((int)c, row + i))
                    fail_msg("rg %d col %zu row %lld: %lld != %lld", g, c, (long long)i,
                             (long long)v[i], (long long)val((int)c, row + i));
            lh_arena_reset(&arena);
        }
        row += ROWS_PER_RG;
    }
    lh_parquet_reader_close(r);
    lh_buf_reset(&m.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dictionary_returns_in_later_row_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
