/*
 * test_page_crc.c — PageHeader.crc (issue 12, item 2).
 *
 *   - every page the writer emits carries a CRC equal to the CRC-32 of its
 *     stored bytes, checked here with the bit-at-a-time definition (not
 *     lh_crc32), for each codec;
 *   - 30 seeded garbles of 16 random bytes inside page bodies: the reader
 *     refuses every one with an error naming the page; none reads back as
 *     other values (before the CRC check, an uncompressed PLAIN page read
 *     back as wrong numbers without a word);
 *   - the same number of garbles anywhere in the file (headers and footer
 *     too, which the page CRC does not cover) are counted and printed, for
 *     the record: the catalog checksum (tests/sql) covers those.
 *
 * With a directory argument it also writes DIR/crc_ok.parquet and
 * DIR/crc_bad.parquet (one int64 page garbled) and DIR/crc_expect.json for
 * check_page_crc.mjs, which has DuckDB and arrow-rs read them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "read_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ROWS 40000
#define TRIES 30
#define GARBLE 16

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static enum lh_status buf_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    (void)err;
    lh_buf_append(ctx, p, n);
    return LH_OK;
}

/* id int64 (PLAIN), v double nullable, s string (dictionary), r int64 random. */
static const struct lh_field fields[] = {
    {.name = "id", .type = LH_T_INT64},
    {.name = "v", .type = LH_T_DOUBLE, .nullable = true},
    {.name = "s", .type = LH_T_STRING},
    {.name = "r", .type = LH_T_INT64},
};
static const struct lh_schema schema = {4, fields};

static void write_file(enum lh_parquet_codec codec, struct lh_buf *out)
{
    static int64_t id[N_ROWS], r[N_ROWS];
    static double v[N_ROWS];
    static uint8_t valid[N_ROWS / 8 + 1];
    static int32_t off[N_ROWS + 1];
    static char heap[N_ROWS * 8];
    uint64_t x = 42;
    int32_t pos = 0;
    memset(valid, 0, sizeof valid);
    for (int i = 0; i < N_ROWS; i++) {
        id[i] = i;
        r[i] = (int64_t)(rng_next(&x) >> 24); /* sums fit in int64 */
        v[i] = i * 0.25;
        lh_bit_set(valid, i, i % 7 != 0);
        off[i] = pos;
        pos += snprintf(heap + pos, 8, "k%d", i % 50);
    }
    off[N_ROWS] = pos;
    struct lh_array cols[4] = {
        {.length = N_ROWS, .values = id},
        {.length = N_ROWS, .values = v, .validity = valid},
        {.length = N_ROWS, .offsets = off, .data = (const uint8_t *)heap},
        {.length = N_ROWS, .values = r},
    };
    struct lh_batch b = {N_ROWS, cols};
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.codec = codec;
    o.page_bytes = 8192;
    o.row_group_rows = 20000;
    struct lh_parquet_writer *w;
    struct lh_error err;
    lh_buf_init(out, 0);
    assert_int_equal(lh_parquet_writer_create(&schema, &o, buf_sink, out, &w, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
    assert_true(lh_buf_ok(out));
}

struct page {
    size_t body, len; /* offset and length of the stored page bytes */
    bool has_crc;
    uint32_t crc;
};

/* Walks every page of every column chunk (header fields 1-4 only). */
static size_t list_pages(const uint8_t *f, size_t n, struct page *pages, size_t cap)
{
    struct lh_parquet_reader *rd;
    struct lh_error err;
    assert_int_equal(lh_parquet_reader_open_mem(f, n, &rd, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(rd);
    size_t np = 0;
    for (int32_t g = 0; g < fi->num_row_groups; g++)
        for (size_t c = 0; c < fi->schema.nfields; c++) {
            const struct lh_parquet_chunk_info *ch = &fi->row_groups[g].chunks[c];
            size_t pos = (size_t)(ch->dictionary_page_offset > 0 ? ch->dictionary_page_offset
                                                                 : ch->data_page_offset);
            size_t end = pos + (size_t)ch->total_compressed_size;
            while (pos < end) {
                struct pq_tc tc;
                pq_tc_init(&tc, f + pos, end - pos, &err);
                pq_tc_struct_begin(&tc);
                int16_t last = 0, id;
                uint8_t t;
                int32_t csize = -1;
                struct page pg = {0};
                while (pq_tc_field(&tc, &last, &id, &t)) {
                    if (id == 3)
                        csize = pq_tc_field_i32(&tc, t);
                    else if (id == 4) {
                        pg.crc = (uint32_t)pq_tc_field_i32(&tc, t);
                        pg.has_crc = true;
                    } else
                        pq_tc_skip(&tc, t);
                }
                assert_true(pq_tc_ok(&tc));
                assert_true(csize >= 0);
                pg.body = (size_t)(tc.p - f);
                pg.len = (size_t)csize;
                assert_true(np < cap);
                pages[np++] = pg;
                pos = pg.body + pg.len;
            }
        }
    lh_parquet_reader_close(rd);
    return np;
}

/* Every value of every column, as canonical bytes; false when the reader
 * refused the file (err holds why). */
static bool read_all(const uint8_t *f, size_t n, struct lh_buf *out, struct lh_error *err)
{
    struct lh_parquet_reader *rd;
    lh_buf_clear(out);
    if (lh_parquet_reader_open_mem(f, n, &rd, err) != LH_OK)
        return false;
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(rd);
    bool ok = true;
    for (int32_t g = 0; ok && g < fi->num_row_groups; g++)
        for (size_t c = 0; ok && c < fi->schema.nfields; c++) {
            struct lh_arena a;
            lh_arena_init(&a, (size_t)64 << 20);
            struct lh_array arr;
            if (lh_parquet_reader_read_column(rd, g, c, &a, &arr, err) != LH_OK) {
                ok = false;
            } else {
                size_t w = lh_type_width(&fi->schema.fields[c]);
                lh_buf_append(out, fi->schema.fields[c].name, strlen(fi->schema.fields[c].name));
                for (int64_t i = 0; i < arr.length; i++) {
                    bool v = lh_bit_get(arr.validity, i);
                    lh_buf_append_u8(out, v);
                    if (!v)
                        continue;
                    if (w)
                        lh_buf_append(out, (const uint8_t *)arr.values + (size_t)i * w, w);
                    else
                        lh_buf_append(out, arr.data + arr.offsets[i],
                                      (size_t)(arr.offsets[i + 1] - arr.offsets[i]));
                }
            }
            lh_arena_reset(&a);
        }
    lh_parquet_reader_close(rd);
    return ok;
}

static const char *codec_name(enum lh_parquet_codec c)
{
    return lh_parquet_codec_name(c);
}

static void test_every_page_has_its_crc(void **state)
{
    (void)state;
    enum lh_parquet_codec codecs[] = {LH_PQ_UNCOMPRESSED, LH_PQ_ZSTD, LH_PQ_SNAPPY};
    for (size_t k = 0; k < 3; k++) {
        struct lh_buf f;
        write_file(codecs[k], &f);
        static struct page pages[4096];
        size_t np = list_pages(f.data, f.len, pages, 4096);
        assert_true(np > 12); /* several pages per chunk, dictionary pages too */
        for (size_t i = 0; i < np; i++) {
            assert_true(pages[i].has_crc);
            assert_int_equal(pages[i].crc, crc_bitwise(f.data + pages[i].body, pages[i].len));
        }
        printf("%s: %zu pages, every one with its CRC\n", codec_name(codecs[k]), np);
        lh_buf_reset(&f);
    }
}

/* Garbles TRIES times, 16 random bytes each at a random place (inside a
 * page body when `in_pages`), and sorts what the reader made of it. */
static void garble_run(enum lh_parquet_codec codec, bool in_pages, int *detected, int *same,
                       int *wrong)
{
    struct lh_buf f, want, got, copy;
    write_file(codec, &f);
    lh_buf_init(&want, 0);
    lh_buf_init(&got, 0);
    lh_buf_init(&copy, 0);
    struct lh_error err;
    assert_true(read_all(f.data, f.len, &want, &err));
    static struct page pages[4096];
    size_t np = list_pages(f.data, f.len, pages, 4096);
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)codec ^ (in_pages ? 0 : 0xABCDEF);
    *detected = *same = *wrong = 0;
    for (int t = 0; t < TRIES; t++) {
        lh_buf_clear(&copy);
        lh_buf_append(&copy, f.data, f.len);
        size_t at, n = GARBLE;
        if (in_pages) {
            const struct page *pg = &pages[rng_next(&seed) % np];
            if (pg->len < n)
                n = pg->len;
            at = pg->body + (size_t)(rng_next(&seed) % (pg->len - n + 1));
        } else {
            at = 4 + (size_t)(rng_next(&seed) % (f.len - 8 - GARBLE)); /* inside the magics */
        }
        bool changed = false;
        for (size_t i = 0; i < n; i++) {
            uint8_t b = (uint8_t)rng_next(&seed);
            changed |= copy.data[at + i] != b;
            copy.data[at + i] = b;
        }
        assert_true(changed);
        if (!read_all(copy.data, copy.len, &got, &err)) {
            (*detected)++;
            if (in_pages)
                assert_non_null(strstr(err.msg, "fails its CRC check"));
        } else if (got.len == want.len && memcmp(got.data, want.data, got.len) == 0) {
            (*same)++;
        } else {
            (*wrong)++;
            printf("  silently wrong: %zu bytes at offset %zu of %zu\n", n, at, f.len);
        }
    }
    lh_buf_reset(&f);
    lh_buf_reset(&want);
    lh_buf_reset(&got);
    lh_buf_reset(&copy);
}

static void test_garbled_pages_are_refused(void **state)
{
    (void)state;
    enum lh_parquet_codec codecs[] = {LH_PQ_UNCOMPRESSED, LH_PQ_ZSTD, LH_PQ_SNAPPY};
    for (size_t k = 0; k < 3; k++) {
        int det, same, wrong;
        garble_run(codecs[k], true, &det, &same, &wrong);
        printf("%s, garbles inside pages: %d tries, %d detected, %d read back right, "
               "%d silently wrong\n",
               codec_name(codecs[k]), TRIES, det, same, wrong);
        assert_int_equal(wrong, 0);
        assert_int_equal(det, TRIES);
        garble_run(codecs[k], false, &det, &same, &wrong);
        printf("%s, garbles anywhere (headers and footer too): %d tries, %d detected, "
               "%d read back right, %d silently wrong (the catalog checksum covers these)\n",
               codec_name(codecs[k]), TRIES, det, same, wrong);
    }
}

/* A page whose stored CRC alone is wrong (the data intact) is refused too:
 * the reader trusts neither half. */
static void test_wrong_crc_field(void **state)
{
    (void)state;
    struct lh_buf f, out;
    write_file(LH_PQ_UNCOMPRESSED, &f);
    lh_buf_init(&out, 0);
    static struct page pages[4096];
    size_t np = list_pages(f.data, f.len, pages, 4096);
    /* the i32 CRC is the last field before the page's nested header: find
     * its zigzag varint by re-encoding and flip one bit of its first byte */
    const struct page *pg = &pages[np / 2];
    uint64_t zz =
        ((uint64_t)(int64_t)(int32_t)pg->crc << 1) ^ (uint64_t)((int64_t)(int32_t)pg->crc >> 63);
    uint8_t enc[10];
    size_t el = 0;
    while (zz >= 0x80) {
        enc[el++] = (uint8_t)(zz | 0x80);
        zz >>= 7;
    }
    enc[el++] = (uint8_t)zz;
    size_t lo = pg->body > 64 ? pg->body - 64 : 0, at = SIZE_MAX;
    for (size_t i = lo; i + el <= pg->body; i++)
        if (memcmp(f.data + i, enc, el) == 0)
            at = i;
    assert_true(at != SIZE_MAX);
    f.data[at] ^= 0x02; /* stays a varint byte of the same length */
    struct lh_error err;
    assert_false(read_all(f.data, f.len, &out, &err));
    assert_non_null(strstr(err.msg, "fails its CRC check"));
    lh_buf_reset(&f);
    lh_buf_reset(&out);
}

static const char *out_dir;

/* Files for check_page_crc.mjs: the same file whole and with one page of
 * column r (PLAIN int64, uncompressed: a garble there is valid data) garbled. */
static void test_files_for_other_readers(void **state)
{
    (void)state;
    if (!out_dir)
        skip();
    struct lh_buf f;
    write_file(LH_PQ_UNCOMPRESSED, &f);
    char path[1024];
    snprintf(path, sizeof path, "%s/crc_ok.parquet", out_dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f.data, 1, f.len, fp), f.len);
    fclose(fp);
    /* column r's first data page (row group 0): the last chunk of the row group */
    struct lh_parquet_reader *rd;
    struct lh_error err;
    assert_int_equal(lh_parquet_reader_open_mem(f.data, f.len, &rd, &err), LH_OK);
    const struct lh_parquet_file_info *fi = lh_parquet_reader_info(rd);
    size_t r_off = (size_t)fi->row_groups[0].chunks[3].data_page_offset;
    lh_parquet_reader_close(rd);
    static struct page pages[4096];
    size_t np = list_pages(f.data, f.len, pages, 4096), k = 0;
    while (k < np && pages[k].body < r_off)
        k++;
    assert_true(k < np && pages[k].len > 64);
    for (size_t i = 0; i < 8; i++)
        f.data[pages[k].body + 40 + i] ^= 0x5A;
    snprintf(path, sizeof path, "%s/crc_bad.parquet", out_dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f.data, 1, f.len, fp), f.len);
    fclose(fp);
    struct lh_buf got;
    lh_buf_init(&got, 0);
    assert_false(read_all(f.data, f.len, &got, &err));
    printf("our reader refuses crc_bad.parquet: %s\n", err.msg);
    /* what a reader that ignores the CRC returns: sum(r) over the file */
    int64_t sum_ok = 0;
    uint64_t x = 42;
    for (int i = 0; i < N_ROWS; i++)
        sum_ok += (int64_t)(rng_next(&x) >> 24);
    snprintf(path, sizeof path, "%s/crc_expect.json", out_dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"rows\": %d, \"sum_r\": \"%lld\"}\n", N_ROWS, (long long)sum_ok);
    fclose(fp);
    lh_buf_reset(&got);
    lh_buf_reset(&f);
}

int main(int argc, char **argv)
{
    out_dir = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_page_has_its_crc),
        cmocka_unit_test(test_garbled_pages_are_refused),
        cmocka_unit_test(test_wrong_crc_field),
        cmocka_unit_test(test_files_for_other_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
