/*
 * test_write_duckdb.c — our files read by an independent reader (DuckDB,
 * from tests/node): one file with every lakehouse type (nulls, lists,
 * several row groups and pages), one whose dictionary overflows mid-chunk.
 *
 * Values are generated from formulas of the row number; DuckDB recomputes
 * the same formulas in SQL and counts the rows that differ, so the check is
 * value by value without a golden file. The full conformance suite (arrow-rs
 * too) lives elsewhere; this is the writer's own quick check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "parquet/parquet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 3000

static const char SCRIPT[] =
    "const { DuckDBInstance } = require('@duckdb/node-api');\n"
    "(async () => {\n"
    "  const [types, fb] = process.argv.slice(2);\n"
    "  const db = await DuckDBInstance.create(':memory:');\n"
    "  const c = await db.connect();\n"
    "  await c.run(\"SET TimeZone='UTC'\");\n"
    "  const one = async (q) => Object.values((await "
    "c.runAndReadAll(q)).getRowObjectsJson()[0])[0];\n"
    "  const h = \"printf('%02x', i % 256)\";\n"
    "  const checks = {\n"
    "    b: 'CASE WHEN i % 7 = 0 THEN NULL ELSE i % 3 = 0 END',\n"
    "    i8: '(i % 256) - 128', i16: '(i * 37 % 65536) - 32768', i32: 'i * 7919 % 100000 - "
    "50000',\n"
    "    i64: 'i * 1000000007 - 5000000000000', u8: 'i % 256', u16: 'i * 31 % 65536',\n"
    "    u32: '4294967295 - i', u64: '18446744073709551615::UBIGINT - i',\n"
    "    f32: \"CASE WHEN i % 11 = 0 THEN 'nan'::FLOAT ELSE (i / 4)::FLOAT END\",\n"
    "    f64: '(i * 0.5 - 100)::DOUBLE',\n"
    "    s: \"CASE WHEN i % 5 = 0 THEN NULL ELSE 'str' || (i % 13) END\",\n"
    "    js: \"('{\\\"a\\\":' || i || '}')::JSON\", en: \"['red','green','blue'][i % 3 + 1]\",\n"
    "    bin: \"('b' || i)::BLOB\",\n"
    "    uid: `(repeat(${h}, 4) || '-' || repeat(${h}, 2) || '-' || repeat(${h}, 2) || '-' || "
    "repeat(${h}, 2) || '-' || repeat(${h}, 6))::UUID`,\n"
    "    fx: \"from_hex(printf('%02x0102', i % 256))\",\n"
    "    d9: '((i * 101 - 50000) * 0.01)::DECIMAL(9,2)',\n"
    "    d18: '(i * 1000000007 * 0.0001)::DECIMAL(18,4)',\n"
    "    d38: \"(((i - 1500) * 10000000000)::VARCHAR || '.0000000000')\",\n"
    "    dt: \"DATE '1970-01-01' + (i - 1000)::INTEGER\",\n"
    "    ts: 'make_timestamp(i * 1000003)', tsz: 'make_timestamp(i * 1000003)::TIMESTAMPTZ',\n"
    "    tm: \"'00:00:00'::TIME + to_microseconds(i * 1000003 % 86400000000)\",\n"
    "    li: 'CASE WHEN i % 4 = 3 THEN NULL ELSE list_transform(range(i % 4), k -> CASE WHEN k = 1 "
    "THEN NULL ELSE i * 10 + k END) END',\n"
    "    ls: \"list_transform(range(i % 3), k -> 'e' || k)\",\n"
    "  };\n"
    "  const src = `(SELECT id AS i, * EXCLUDE (id) FROM read_parquet('${types}'))`;\n"
    "  console.log('rows=' + await one(`SELECT count(*) FROM ${src}`));\n"
    "  for (const [col, e] of Object.entries(checks)) {\n"
    "    const lhs = col === 'd38' ? 'd38::VARCHAR' : col;\n"
    "    console.log(col + '=' + await one(`SELECT count(*) FILTER (WHERE ${lhs} IS DISTINCT FROM "
    "${e}) FROM ${src}`));\n"
    "  }\n"
    "  console.log('types_groups=' + await one(`SELECT count(DISTINCT row_group_id) FROM "
    "parquet_metadata('${types}')`));\n"
    "  const st = async (col, f) => one(`SELECT ${f}(stats_${f}_value) FROM "
    "parquet_metadata('${types}') WHERE path_in_schema = '${col}'`);\n"
    "  console.log('u64_min=' + await st('u64', 'min'));\n"
    "  console.log('f32_max=' + await st('f32', 'max'));\n"
    "  console.log('ts_type=' + await one(`SELECT typeof(ts) || '/' || typeof(tsz) || '/' || "
    "typeof(en) || '/' || typeof(u32) FROM read_parquet('${types}') LIMIT 1`));\n"
    "  const fsrc = `read_parquet('${fb}')`;\n"
    "  console.log('fb_bad=' + await one(`SELECT count(*) FILTER (WHERE s IS DISTINCT FROM "
    "printf('value-%016d', CASE WHEN i < 8192 THEN i % 1000 ELSE i END)) FROM ${fsrc}`));\n"
    "  console.log('fb_enc=' + await one(`SELECT string_agg(DISTINCT encodings, '|') FROM "
    "parquet_metadata('${fb}') WHERE path_in_schema = 's'`));\n"
    "  console.log('fb_null=' + await one(`SELECT stats_min_value IS NULL AND stats_max_value IS "
    "NULL AND stats_null_count = 20000 AND compression = 'SNAPPY' AND encodings = 'PLAIN, RLE' AND "
    "dictionary_page_offset IS NULL AND (SELECT count(n) FROM read_parquet('${fb}')) = 0 FROM "
    "parquet_metadata('${fb}') WHERE path_in_schema = 'n'`));\n"
    "  console.log('fb_id_enc=' + await one(`SELECT string_agg(DISTINCT encodings, '|') FROM "
    "parquet_metadata('${fb}') WHERE path_in_schema = 'i'`));\n"
    "})().catch((e) => { console.log('error=' + e.message); process.exit(1); });\n";

static enum lh_status file_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    if (fwrite(p, 1, n, ctx) != n)
        return lh_error_set(err, LH_E_IO, "write failed");
    return LH_OK;
}

struct strs {
    int32_t off[N + 1];
    char heap[N * 32];
    int pos;
};

static void strs_add(struct strs *s, int64_t i, const char *v)
{
    s->off[i] = s->pos;
    size_t n = strlen(v);
    memcpy(s->heap + s->pos, v, n);
    s->pos += (int)n;
    s->off[i + 1] = s->pos;
}

static bool write_types(const char *path)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "b", .type = LH_T_BOOL, .nullable = true},
        {.name = "i8", .type = LH_T_INT8},
        {.name = "i16", .type = LH_T_INT16},
        {.name = "i32", .type = LH_T_INT32},
        {.name = "i64", .type = LH_T_INT64},
        {.name = "u8", .type = LH_T_UINT8},
        {.name = "u16", .type = LH_T_UINT16},
        {.name = "u32", .type = LH_T_UINT32},
        {.name = "u64", .type = LH_T_UINT64},
        {.name = "f32", .type = LH_T_FLOAT},
        {.name = "f64", .type = LH_T_DOUBLE},
        {.name = "s", .type = LH_T_STRING, .nullable = true},
        {.name = "js", .type = LH_T_JSON},
        {.name = "en", .type = LH_T_ENUM},
        {.name = "bin", .type = LH_T_BINARY},
        {.name = "uid", .type = LH_T_UUID},
        {.name = "fx", .type = LH_T_FIXED, .fixed_len = 3},
        {.name = "d9", .type = LH_T_DECIMAL, .precision = 9, .scale = 2},
        {.name = "d18", .type = LH_T_DECIMAL, .precision = 18, .scale = 4},
        {.name = "d38", .type = LH_T_DECIMAL, .precision = 38, .scale = 10},
        {.name = "dt", .type = LH_T_DATE},
        {.name = "ts", .type = LH_T_TIMESTAMP},
        {.name = "tsz", .type = LH_T_TIMESTAMP, .ts_utc = true},
        {.name = "tm", .type = LH_T_TIME},
        {.name = "li",
         .type = LH_T_INT32,
         .is_list = true,
         .nullable = true,
         .element_nullable = true},
        {.name = "ls", .type = LH_T_STRING, .is_list = true},
    };
    enum { NC = sizeof f / sizeof f[0] };
    static int64_t id[N], i64[N], u64v[N], ts[N], tm[N], d18[N];
    static int32_t i8[N], i16[N], i32[N], d9[N], dt[N];
    static uint32_t u8[N], u16[N], u32[N];
    static float f32[N];
    static double f64[N];
    static uint8_t b[N], bvalid[N / 8 + 1], svalid[N / 8 + 1], uid[N * 16], fx[N * 3];
    static lh_i128 d38[N];
    static struct strs s, js, en, bin, ls_s;
    static int32_t li_off[N + 1], li_vals[N * 3], lo_s[N + 1];
    static uint8_t li_valid[N / 8 + 1], li_evalid[N * 3 / 8 + 1];
    static const char *colors[] = {"red", "green", "blue"};
    int li_n = 0, ls_n = 0;
    s.pos = js.pos = en.pos = bin.pos = ls_s.pos = 0;
    memset(li_evalid, 0, sizeof li_evalid);
    char tmp[64];
    for (int64_t i = 0; i < N; i++) {
        id[i] = i;
        lh_bit_set(bvalid, i, i % 7 != 0);
        b[i] = i % 3 == 0;
        i8[i] = (int32_t)(i % 256) - 128;
        i16[i] = (int32_t)(i * 37 % 65536) - 32768;
        i32[i] = (int32_t)(i * 7919 % 100000) - 50000;
        i64[i] = i * 1000000007LL - 5000000000000LL;
        u8[i] = (uint32_t)(i % 256);
        u16[i] = (uint32_t)(i * 31 % 65536);
        u32[i] = 4294967295u - (uint32_t)i;
        u64v[i] = (int64_t)(UINT64_MAX - (uint64_t)i);
        f32[i] = i % 11 == 0 ? NAN : (float)i / 4.0f;
        f64[i] = (double)i * 0.5 - 100;
        lh_bit_set(svalid, i, i % 5 != 0);
        snprintf(tmp, sizeof tmp, "str%d", (int)(i % 13));
        strs_add(&s, i, i % 5 ? tmp : "");
        snprintf(tmp, sizeof tmp, "{\"a\":%d}", (int)i);
        strs_add(&js, i, tmp);
        strs_add(&en, i, colors[i % 3]);
        snprintf(tmp, sizeof tmp, "b%d", (int)i);
        strs_add(&bin, i, tmp);
        memset(uid + 16 * i, (int)(i % 256), 16);
        fx[3 * i] = (uint8_t)(i % 256), fx[3 * i + 1] = 1, fx[3 * i + 2] = 2;
        d9[i] = (int32_t)(i * 101 - 50000);
        d18[i] = i * 1000000007LL;
        d38[i] = (lh_i128)(i - 1500) * (lh_i128)10000000000LL * (lh_i128)10000000000LL;
        dt[i] = (int32_t)(i - 1000);
        ts[i] = i * 1000003LL;
        tm[i] = i * 1000003LL % 86400000000LL;
        li_off[i] = li_n;
        lh_bit_set(li_valid, i, i % 4 != 3);
        if (i % 4 != 3)
            for (int k = 0; k < i % 4; k++) {
                li_vals[li_n] = (int32_t)(i * 10 + k);
                lh_bit_set(li_evalid, li_n, k != 1);
                li_n++;
            }
        li_off[i + 1] = li_n;
        lo_s[i] = ls_n;
        for (int k = 0; k < i % 3; k++) {
            snprintf(tmp, sizeof tmp, "e%d", k);
            strs_add(&ls_s, ls_n++, tmp);
        }
        lo_s[i + 1] = ls_n;
    }
    struct lh_array li_child = {.length = li_n, .values = li_vals, .validity = li_evalid};
    struct lh_array ls_child = {.length = ls_n, .offsets = ls_s.off, .data = (uint8_t *)ls_s.heap};
#define FIX(v)                                                                                     \
    {                                                                                              \
        .length = N, .values = (v)                                                                 \
    }
#define STR(x)                                                                                     \
    {                                                                                              \
        .length = N, .offsets = (x).off, .data = (uint8_t *)(x).heap                               \
    }
    struct lh_array cols[NC] = {
        FIX(id),
        {.length = N, .values = b, .validity = bvalid},
        FIX(i8),
        FIX(i16),
        FIX(i32),
        FIX(i64),
        FIX(u8),
        FIX(u16),
        FIX(u32),
        FIX(u64v),
        FIX(f32),
        FIX(f64),
        {.length = N, .offsets = s.off, .data = (uint8_t *)s.heap, .validity = svalid},
        STR(js),
        STR(en),
        STR(bin),
        FIX(uid),
        FIX(fx),
        FIX(d9),
        FIX(d18),
        FIX(d38),
        FIX(dt),
        FIX(ts),
        FIX(ts),
        FIX(tm),
        {.length = N, .list_offsets = li_off, .child = &li_child, .validity = li_valid},
        {.length = N, .list_offsets = lo_s, .child = &ls_child},
    };
    struct lh_schema sc = {NC, f};
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.row_group_rows = 1000;
    o.page_bytes = 1024; /* several pages per chunk */
    FILE *fp = fopen(path, "wb");
    struct lh_parquet_writer *w;
    struct lh_error err;
    bool ok = fp && lh_parquet_writer_create(&sc, &o, file_sink, fp, &w, &err) == LH_OK;
    if (!ok)
        return false;
    struct lh_batch b1 = {N, cols};
    ok = lh_parquet_writer_add_batch(w, &b1, &err) == LH_OK &&
         lh_parquet_writer_close(w, &err) == LH_OK;
    if (!ok)
        print_error("writer: %s\n", err.msg);
    lh_parquet_writer_destroy(w);
    fclose(fp);
    return ok;
}

static bool write_fallback(const char *path)
{
    enum { M = 20000 };
    static const struct lh_field f[] = {{.name = "i", .type = LH_T_INT64},
                                        {.name = "s", .type = LH_T_STRING},
                                        {.name = "n", .type = LH_T_INT32, .nullable = true}};
    static const uint8_t none[M / 8 + 1];
    static int64_t id[M];
    static int32_t off[M + 1];
    static char heap[M * 24];
    int pos = 0;
    for (int i = 0; i < M; i++) {
        id[i] = i;
        off[i] = pos;
        pos += snprintf(heap + pos, 24, "value-%016d", i < 8192 ? i % 1000 : i);
    }
    off[M] = pos;
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.dict_max_bytes = 64 << 10;
    o.page_bytes = 1024;
    o.codec = LH_PQ_SNAPPY;
    struct lh_schema sc = {3, f};
    FILE *fp = fopen(path, "wb");
    struct lh_parquet_writer *w;
    struct lh_error err;
    if (!fp || lh_parquet_writer_create(&sc, &o, file_sink, fp, &w, &err) != LH_OK)
        return false;
    bool ok = true;
    /* batch 1: a small vocabulary (dictionary pages get written); batch 2:
     * all new values, the dictionary overflows and the chunk goes PLAIN */
    for (int part = 0; part < 2 && ok; part++) {
        int lo = part ? 8192 : 0, hi = part ? M : 8192;
        int32_t *o2 = malloc(sizeof(int32_t) * (size_t)(hi - lo + 1));
        for (int i = lo; i <= hi; i++)
            o2[i - lo] = off[i] - off[lo];
        struct lh_array cols[3] = {
            {.length = hi - lo, .values = id + lo},
            {.length = hi - lo, .offsets = o2, .data = (uint8_t *)heap + off[lo]},
            {.length = hi - lo, .values = id, .validity = none}}; /* all NULL */
        struct lh_batch bt = {hi - lo, cols};
        ok = lh_parquet_writer_add_batch(w, &bt, &err) == LH_OK;
        free(o2);
    }
    ok = ok && lh_parquet_writer_close(w, &err) == LH_OK;
    lh_parquet_writer_destroy(w);
    fclose(fp);
    return ok;
}

static void test_duckdb_reads_back(void **state)
{
    (void)state;
    char node_modules[512];
    snprintf(node_modules, sizeof node_modules, "%s/node_modules/@duckdb/node-api",
             LH_TEST_NODE_DIR);
    if (access(node_modules, F_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) {
        print_message("node or @duckdb/node-api missing: skipped\n");
        skip();
    }
    char dir[] = "/tmp/lh-test-write-duckdb-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char types[300], fb[300], script[300], cmd[2048];
    snprintf(types, sizeof types, "%s/types.parquet", dir);
    snprintf(fb, sizeof fb, "%s/fallback.parquet", dir);
    snprintf(script, sizeof script, "%s/check.cjs", dir);
    assert_true(write_types(types));
    assert_true(write_fallback(fb));
    FILE *sf = fopen(script, "w");
    assert_non_null(sf);
    fputs(SCRIPT, sf);
    fclose(sf);
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s/node_modules' node '%s' '%s' '%s' 2>&1",
             LH_TEST_NODE_DIR, script, types, fb);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static const char *want[] = {
        "rows=3000",
        "b=0",
        "i8=0",
        "i16=0",
        "i32=0",
        "i64=0",
        "u8=0",
        "u16=0",
        "u32=0",
        "u64=0",
        "f32=0",
        "f64=0",
        "s=0",
        "js=0",
        "en=0",
        "bin=0",
        "uid=0",
        "fx=0",
        "d9=0",
        "d18=0",
        "d38=0",
        "dt=0",
        "ts=0",
        "tsz=0",
        "tm=0",
        "li=0",
        "ls=0",
        "types_groups=3",
        "u64_min=18446744073709548616", /* unsigned order: the smallest is max - 2999 */
        "f32_max=749.75",               /* NaN is not a maximum */
        "ts_type=TIMESTAMP/TIMESTAMP WITH TIME ZONE/VARCHAR/UINTEGER",
        "fb_bad=0",
        "fb_enc=PLAIN, RLE_DICTIONARY", /* dictionary pages, then PLAIN after the overflow */
        "fb_null=true",                 /* an all-NULL chunk: null_count, no min/max */
        /* unique ids: the dictionary was not worth it; sequential, so
         * their deltas are smaller than PLAIN + zstd */
        "fb_id_enc=DELTA_BINARY_PACKED",
    };
    char line[1024];
    size_t k = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        print_message("%s\n", line);
        assert_true(k < sizeof want / sizeof want[0]);
        assert_string_equal(line, want[k]);
        k++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(k, sizeof want / sizeof want[0]);
    unlink(types);
    unlink(fb);
    unlink(script);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_duckdb_reads_back)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
