/*
 * test_def_levels.c — definition levels of flat nullable columns, which
 * the writer encodes straight from the validity bitmap a group of 8 at a
 * time (pq_rle_put_bits): files written from many bitmaps (no NULL, all
 * NULL, alternating, one NULL in 20, random, random runs), in batches of
 * odd lengths, with pages and row groups cut at rows that are not
 * multiples of 8, read back by our reader and by DuckDB, and every row's
 * NULL-ness compared with the bitmap it was written from.
 *
 * Each file carries its own answer: `was_null` (not nullable) says whether
 * row `id` was written NULL in `v` (int64, PLAIN or dictionary) and `s`
 * (string, dictionary), and v = id where it is not NULL, so DuckDB checks
 * every row with one query over all the files.
 *
 * Each file without a memory budget is also written without the
 * compression thread and must be the same bytes: the thread takes a page's staging buffer instead
 * of a copy and moves the levels in front of the values (async_submit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NROWS = 20011 };
enum pattern { P_VALID, P_NULL, P_ALT, P_ONE_IN_20, P_RANDOM, P_RUNS, P_COUNT };
static const char *const pattern_names[P_COUNT] = {"valid",     "null",   "alternating",
                                                   "one-in-20", "random", "runs"};

/* How the rows are cut: page target, rows per row group, dictionary, a
 * memory budget (tight: the compression thread's slots give buffers back
 * and take them from each other). */
struct cut {
    const char *name;
    uint32_t page_bytes;
    int64_t rg_rows;
    bool dictionary;
    uint64_t memory_bytes;
};
static const struct cut cuts[] = {
    {"default", 0, 0, true, 0},
    {"small pages", 700, 4099, true, 0},
    {"odd groups, plain", 4096, 777, false, 0},
    {"tight budget", 0, 0, true, 300u << 10},
};
enum { NCUTS = sizeof cuts / sizeof cuts[0] };

static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static bool pattern_valid(enum pattern p, int64_t i, uint32_t *seed, int64_t *run_left, bool *run_v)
{
    switch (p) {
    case P_VALID:
        return true;
    case P_NULL:
        return false;
    case P_ALT:
        return i & 1;
    case P_ONE_IN_20:
        return i % 20 != 13;
    case P_RANDOM:
        return lcg(seed) & 1;
    case P_RUNS:
        if (*run_left == 0) {
            *run_v = !*run_v;
            *run_left = 1 + lcg(seed) % 90;
        }
        (*run_left)--;
        return *run_v;
    case P_COUNT:
        break;
    }
    return true;
}

static enum lh_status file_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    if (fwrite(p, 1, n, ctx) != n)
        return lh_error_set(err, LH_E_IO, "write failed");
    return LH_OK;
}

/* The whole column as written: validity, ids, strings. */
struct table {
    uint8_t valid[NROWS / 8 + 1];
    bool isnull[NROWS];
    int64_t id[NROWS];
    int32_t off[NROWS + 1];
    char heap[NROWS * 4];
};

static void make_table(struct table *t, enum pattern p, uint32_t seed)
{
    memset(t->valid, 0, sizeof t->valid);
    int64_t run_left = 0;
    bool run_v = false;
    int pos = 0;
    for (int64_t i = 0; i < NROWS; i++) {
        bool v = pattern_valid(p, i, &seed, &run_left, &run_v);
        if (v)
            t->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
        t->isnull[i] = !v;
        t->id[i] = i;
        t->off[i] = pos;
        if (v)
            pos += snprintf(t->heap + pos, 4, "s%d", (int)(i % 7));
    }
    t->off[NROWS] = pos;
}

/* Writes the table in batches of random lengths; a batch's bitmap starts
 * at its first row (batches have no offset), so it is copied shifted. */
static bool write_file(const char *path, const struct table *t, const struct cut *cut,
                       uint32_t seed, bool thread)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "was_null", .type = LH_T_BOOL},
        {.name = "v", .type = LH_T_INT64, .nullable = true},
        {.name = "s", .type = LH_T_STRING, .nullable = true},
    };
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    if (cut->page_bytes)
        o.page_bytes = cut->page_bytes;
    if (cut->rg_rows)
        o.row_group_rows = cut->rg_rows;
    o.dictionary = cut->dictionary;
    o.memory_bytes = cut->memory_bytes;
    o.compress_thread = thread;
    o.codec = LH_PQ_ZSTD;
    struct lh_schema sc = {4, f};
    FILE *fp = fopen(path, "wb");
    struct lh_parquet_writer *w = NULL;
    struct lh_error err;
    lh_error_clear(&err);
    if (!fp || lh_parquet_writer_create(&sc, &o, file_sink, fp, &w, &err) != LH_OK) {
        if (fp)
            fclose(fp);
        return false;
    }
    static uint8_t bits[NROWS / 8 + 2];
    static uint8_t isnull[NROWS];
    static int32_t off[NROWS + 1];
    bool ok = true;
    for (int64_t lo = 0; lo < NROWS && ok;) {
        int64_t n = 1 + lcg(&seed) % 3000;
        if (n > NROWS - lo)
            n = NROWS - lo;
        memset(bits, 0, sizeof bits);
        for (int64_t i = 0; i < n; i++) {
            if (t->valid[(lo + i) >> 3] >> ((lo + i) & 7) & 1)
                bits[i >> 3] |= (uint8_t)(1u << (i & 7));
            isnull[i] = t->isnull[lo + i];
        }
        for (int64_t i = 0; i <= n; i++)
            off[i] = t->off[lo + i] - t->off[lo];
        struct lh_array cols[4] = {
            {.length = n, .values = t->id + lo},
            {.length = n, .values = isnull},
            {.length = n, .values = t->id + lo, .validity = bits},
            {.length = n,
             .validity = bits,
             .offsets = off,
             .data = (const uint8_t *)t->heap + t->off[lo]},
        };
        struct lh_batch b = {n, cols};
        ok = lh_parquet_writer_add_batch(w, &b, &err) == LH_OK;
        lo += n;
    }
    ok = ok && lh_parquet_writer_close(w, &err) == LH_OK;
    if (!ok)
        print_message("write %s: %s\n", path, err.msg);
    lh_parquet_writer_destroy(w);
    return fclose(fp) == 0 && ok;
}

/* Our reader: every row's validity in v and s against the bitmap, v = id. */
static void check_ours(const char *path, const struct table *t, const char *what)
{
    struct lh_parquet_reader *r;
    struct lh_error err;
    lh_error_clear(&err);
    if (lh_parquet_reader_open_file(path, &r, &err) != LH_OK)
        fail_msg("%s: open: %s", what, err.msg);
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    assert_int_equal(info->num_rows, NROWS);
    struct lh_arena a;
    lh_arena_init(&a, 64u << 20);
    int64_t r0 = 0;
    for (int32_t rg = 0; rg < info->num_row_groups; rg++) {
        int64_t nr = info->row_groups[rg].num_rows;
        struct lh_array v, s;
        if (lh_parquet_reader_read_column(r, rg, 2, &a, &v, &err) != LH_OK ||
            lh_parquet_reader_read_column(r, rg, 3, &a, &s, &err) != LH_OK)
            fail_msg("%s: read row group %d: %s", what, rg, err.msg);
        assert_int_equal(v.length, nr);
        assert_int_equal(s.length, nr);
        for (int64_t i = 0; i < nr; i++) {
            bool want = !t->isnull[r0 + i];
            if (lh_bit_get(v.validity, i) != want || lh_bit_get(s.validity, i) != want)
                fail_msg("%s: row %lld read back %s, written %s", what, (long long)(r0 + i),
                         lh_bit_get(v.validity, i) ? "valid" : "NULL", want ? "valid" : "NULL");
            if (want && ((const int64_t *)v.values)[i] != r0 + i)
                fail_msg("%s: row %lld: v is %lld", what, (long long)(r0 + i),
                         (long long)((const int64_t *)v.values)[i]);
        }
        lh_arena_reset(&a);
        r0 += nr;
    }
    assert_int_equal(r0, NROWS);
    lh_arena_reset(&a);
    lh_parquet_reader_close(r);
}

static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static const char SCRIPT[] =
    "const { DuckDBInstance } = require('@duckdb/node-api');\n"
    "(async () => {\n"
    "  const [dir] = process.argv.slice(2);\n"
    "  const db = await DuckDBInstance.create(':memory:');\n"
    "  const c = await db.connect();\n"
    "  const r = await c.runAndReadAll(`SELECT count(*)::VARCHAR AS n, count(*) FILTER (WHERE "
    "(v IS NULL) <> was_null OR (s IS NULL) <> was_null OR v <> id OR s <> ('s' || (id % 7)))"
    "::VARCHAR AS bad, count(DISTINCT filename)::VARCHAR AS files FROM "
    "read_parquet('${dir}/*.parquet', filename = true)`);\n"
    "  const o = r.getRowObjectsJson()[0];\n"
    "  console.log(`rows=${o.n} bad=${o.bad} files=${o.files}`);\n"
    "})().catch((e) => { console.log('error=' + e.message); process.exit(1); });\n";

static void test_def_levels(void **state)
{
    (void)state;
    char dir[] = "/tmp/lh-test-def-levels-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct table *t = malloc(sizeof *t);
    assert_non_null(t);
    char path[400], path2[400];
    int files = 0;
    for (int p = 0; p < P_COUNT; p++) {
        make_table(t, (enum pattern)p, 1000u + (uint32_t)p);
        for (int k = 0; k < NCUTS; k++) {
            char what[128];
            snprintf(what, sizeof what, "%s / %s", pattern_names[p], cuts[k].name);
            snprintf(path, sizeof path, "%s/f%d_%d.parquet", dir, p, k);
            uint32_t seed = 99u * (uint32_t)(p + 1) + (uint32_t)k;
            assert_true(write_file(path, t, &cuts[k], seed, true));
            check_ours(path, t, what);
            /* under a budget, pages in flight count towards the row group's
             * size, so the thread may cut row groups elsewhere: values only */
            if (cuts[k].memory_bytes) {
                files++;
                continue;
            }
            snprintf(path2, sizeof path2, "%s/inline.bin", dir);
            assert_true(write_file(path2, t, &cuts[k], seed, false));
            if (!same_bytes(path, path2))
                fail_msg("%s: the file differs without the compression thread", what);
            unlink(path2);
            files++;
        }
    }
    free(t);

    char node_modules[512];
    snprintf(node_modules, sizeof node_modules, "%s/node_modules/@duckdb/node-api",
             LH_TEST_NODE_DIR);
    bool duck = access(node_modules, F_OK) == 0 && system("node --version >/dev/null 2>&1") == 0;
    if (duck) {
        char script[400], cmd[1200], line[512] = "", want[128];
        snprintf(script, sizeof script, "%s/check.cjs", dir);
        FILE *sf = fopen(script, "w");
        assert_non_null(sf);
        fputs(SCRIPT, sf);
        fclose(sf);
        snprintf(cmd, sizeof cmd, "NODE_PATH='%s/node_modules' node '%s' '%s' 2>&1",
                 LH_TEST_NODE_DIR, script, dir);
        FILE *pp = popen(cmd, "r");
        assert_non_null(pp);
        if (!fgets(line, sizeof line, pp))
            line[0] = '\0';
        int rc = pclose(pp);
        line[strcspn(line, "\n")] = '\0';
        print_message("duckdb: %s\n", line);
        snprintf(want, sizeof want, "rows=%d bad=0 files=%d", files * NROWS, files);
        assert_int_equal(rc, 0);
        assert_string_equal(line, want);
        unlink(script);
    } else {
        print_message("node or @duckdb/node-api missing: DuckDB check skipped\n");
    }
    for (int p = 0; p < P_COUNT; p++)
        for (int k = 0; k < NCUTS; k++) {
            snprintf(path, sizeof path, "%s/f%d_%d.parquet", dir, p, k);
            unlink(path);
        }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_def_levels)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
