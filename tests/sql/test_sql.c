/*
 * test_sql.c — SQL over the lakehouse: golden values of every type,
 * time travel, pruning (counted row groups) and its correctness against an
 * unpruned materialized copy, LIMIT/OFFSET pushdown, the sandbox, result
 * formats, the CLI, and the ranged GET it reads through (local and S3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixtures.h"
#include "s3helper.h"
#include "sql/sql.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[256];
static struct lh_sql_engine *eng;
static struct lh_sql_engine *eng_vm; /* no native aggregates: SQLite's VM does every GROUP BY */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-sql-XXXXXX");
    if (!mkdtemp(dir) || fx_build(dir) != 0)
        return -1;
    struct lh_error err;
    struct lh_sql_options o = {.timeout_ms = 5000};
    if (lh_sql_engine_open(dir, NULL, &o, &eng, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    o.no_native_agg = true;
    if (lh_sql_engine_open(dir, NULL, &o, &eng_vm, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lh_sql_engine_destroy(eng);
    lh_sql_engine_destroy(eng_vm);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* CSV rows of sql (header dropped) in a static buffer; fails the test on error. */
static const char *q(const char *sql)
{
    static char res[65536];
    struct lh_buf b;
    lh_buf_init(&b, 0);
    struct lh_error err;
    if (lh_sql_execute(eng, sql, 0, LH_SQL_FORMAT_CSV, &b, &err) != LH_OK)
        fail_msg("%s: %s", sql, err.msg);
    lh_buf_cstr(&b);
    const char *nl = strchr((const char *)b.data, '\n');
    snprintf(res, sizeof res, "%s", nl ? nl + 1 : "");
    lh_buf_free(&b);
    return res;
}

/* The error of sql (which must fail). */
static enum lh_status qerr(const char *sql, struct lh_error *err)
{
    struct lh_buf b;
    lh_buf_init(&b, 0);
    enum lh_status s = lh_sql_execute(eng, sql, 0, LH_SQL_FORMAT_JSON, &b, err);
    lh_buf_free(&b);
    if (s == LH_OK)
        fail_msg("%s: succeeded, expected an error", sql);
    return s;
}

static void test_golden_values(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *want;
    } cases[] = {
        {"SELECT id,b,i8,i16,i32,i64,u8,u16,u32,u64,f32,f64,s,js,en,hex(bin),uid,hex(fx),d9,d38,"
         "dt,ts,tsz,tm,li FROM types WHERE id = 1",
         "1,0,-127,-32731,-42081,-4998999999993,1,31,4294967294,1,0.25,-99.5,str1,\"{\"\"a\"\":1}\","
         "green,6231,01010101-0101-0101-0101-010101010101,010102,-498.99,"
         "-1490000000000.0000000000,1967-04-08,2023-11-14T22:13:21.000003,"
         "2023-11-14T22:13:21.000003Z,00:00:01.000003,[10]\n"},
        {"SELECT b IS NULL, u64, typeof(u64), f64 IS NULL, s IS NULL, li, typeof(d9), typeof(i64), "
         "typeof(f32), typeof(bin), d9 FROM types WHERE id = 0",
         "1,18446744073709551615,text,1,1,[],text,integer,real,blob,-500.00\n"},
        {"SELECT s, li, typeof(li), dt, ts FROM types WHERE id IN (2, 3) ORDER BY id",
         "str2,\"[20,null]\",text,1967-04-09,2023-11-14T22:13:22.000006\n"
         "\"h\xc3\xa9llo, \"\"w\"\"\",,null,1967-04-10,2023-11-14T22:13:23.000009\n"},
        {"SELECT count(*), count(b), count(f64), count(s), count(li) FROM types",
         "350,300,280,280,263\n"},
        {"SELECT json_extract(js, '$.a'), json_array_length(li), li FROM types WHERE id = 6",
         "6,2,\"[60,null]\"\n"},
        {"SELECT dec_cmp('12.50', '12.5'), dec_cmp('-1', '0.01'), dec_cmp(d9, '-498.98'), "
         "dec_sum(d9) FROM types WHERE id <= 1",
         "0,-1,-1,-998.99\n"},
        {"SELECT dec_sum(d9), dec_sum(d38) FROM types", "-113314.25,85750000000000.0000000000\n"},
        {"SELECT tm FROM types WHERE id = 10", "00:00:10.000030\n"},
        {"SELECT count(*), sum(id) FROM orders", "150,11175\n"},
        {"SELECT count(*), max(id) FROM \"orders@1\"", "100,99\n"},
        {"SELECT count(*) FROM \"orders@2\" WHERE status = 'paid'", "50\n"},
        {"SELECT c.name, count(*), dec_sum(o.amount) FROM orders o JOIN customers c ON c.id = "
         "o.cust WHERE c.tier = 0 AND o.id < 10 GROUP BY c.name ORDER BY c.name",
         "cust0,1,-200.00\ncust3,1,-198.89\ncust6,1,-197.78\ncust9,1,-196.67\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = q(cases[i].sql);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s\n got: %s\nwant: %s", cases[i].sql, got, cases[i].want);
    }
}

static void test_json_format(void **state)
{
    (void)state;
    struct lh_buf b;
    lh_buf_init(&b, 0);
    struct lh_error err;
    assert_int_equal(lh_sql_execute(eng, "SELECT id, s, v, none, 1 + 1 AS two FROM sorted WHERE id = 3",
                                    0, LH_SQL_FORMAT_JSON, &b, &err),
                     LH_OK);
    lh_buf_cstr(&b);
    const char *want = "{\"columns\":[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"s\",\"type\":"
                       "\"VARCHAR\"},{\"name\":\"v\",\"type\":\"DOUBLE\"},{\"name\":\"none\","
                       "\"type\":\"INTEGER\"},{\"name\":\"two\",\"type\":\"INTEGER\"}],\"rows\":[[3,"
                       "\"k000003\",1.5,null,2]],\"truncated\":false,\"elapsed_ms\":";
    assert_memory_equal(b.data, want, strlen(want));
    lh_buf_reset(&b);
    assert_int_equal(lh_sql_execute(eng, "SELECT id FROM sorted", 5, LH_SQL_FORMAT_JSON, &b, &err),
                     LH_OK);
    lh_buf_cstr(&b);
    assert_non_null(strstr((char *)b.data, "\"rows\":[[0],[1],[2],[3],[4]],\"truncated\":true"));
    lh_buf_reset(&b);
    assert_int_equal(lh_sql_execute(eng, "SELECT id, s FROM sorted WHERE id < 2", 0,
                                    LH_SQL_FORMAT_NDJSON, &b, &err),
                     LH_OK);
    lh_buf_cstr(&b);
    assert_string_equal((char *)b.data, "{\"id\":0,\"s\":\"k000000\"}\n{\"id\":1,\"s\":\"k000001\"}\n");
    lh_buf_free(&b);
}

struct prune_case {
    const char *sql;
    uint64_t rows, read;
};

static void test_pruning(void **state)
{
    (void)state;
    static const struct prune_case cases[] = {
        {"SELECT count(*) FROM sorted WHERE id = 12345", 1, 1},
        {"SELECT count(*) FROM sorted WHERE id = '12345'", 1, 1},
        {"SELECT count(*) FROM sorted WHERE id IS NULL", 0, 0},
        {"SELECT count(*) FROM sorted WHERE none IS NOT NULL", 0, 0},
        {"SELECT count(*) FROM sorted WHERE none = 5", 0, 0},
        {"SELECT count(*) FROM sorted WHERE id IN (5, 15005)", 2, 2},
        {"SELECT count(*) FROM sorted WHERE id BETWEEN 3500 AND 4500", 1001, 2},
        {"SELECT count(*) FROM sorted WHERE s = 'k012345'", 1, 1},
        {"SELECT count(*) FROM sorted WHERE s > 'k019500'", 499, 1},
        {"SELECT count(*) FROM sorted WHERE v < 100", 200, 1},
        {"SELECT count(*) FROM sorted WHERE id > 19999.5", 0, 0},
        {"SELECT count(*) FROM sorted WHERE id >= 19000 AND grp = 3", 100, 1},
        {"SELECT count(*) FROM sorted WHERE id = NULL", 0, 0},
        {"SELECT count(*) FROM sorted WHERE s = 'K012345' COLLATE NOCASE", 1, 20},
        {"SELECT count(*) FROM sorted", 20000, 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%" PRIu64 "\n", cases[i].rows);
        const char *got = q(cases[i].sql);
        if (strcmp(got, want) != 0)
            fail_msg("%s: got %s want %s", cases[i].sql, got, want);
        struct lh_sql_stats st;
        lh_sql_engine_stats(eng, &st);
        if (st.row_groups_read != cases[i].read ||
            st.row_groups_read + st.row_groups_pruned != 20)
            fail_msg("%s: read %" PRIu64 " pruned %" PRIu64 ", want read %" PRIu64, cases[i].sql,
                     st.row_groups_read, st.row_groups_pruned, cases[i].read);
    }
    /* projection: count(*) decodes nothing, one column decodes one chunk per group */
    q("SELECT count(*) FROM sorted");
    struct lh_sql_stats st;
    lh_sql_engine_stats(eng, &st);
    assert_int_equal(st.columns_decoded, 0);
    q("SELECT max(v) FROM sorted");
    lh_sql_engine_stats(eng, &st);
    assert_int_equal(st.columns_decoded, 20);
}

/* Pruned counts must equal counts over a materialized copy (no pushdown). */
static void test_pruning_matches_unpruned(void **state)
{
    (void)state;
    static const char *preds[] = {
        "i32 > 0", "i8 <= -100", "u32 >= 4294967000", "u64 = 1", "u64 > 5", "f32 < 10",
        "f64 IS NULL", "f64 >= 0", "s = 'str3'", "s < 'str2'", "s IS NULL", "s IS NOT NULL",
        "en IN ('red', 'blue')", "bin = x'623130'", "bin > x'6235'",
        "uid = '05050505-0505-0505-0505-050505050505'", "uid > '80'", "uid < 'a'",
        "fx < x'1001'", "dt < '1967-05-01'", "dt BETWEEN '1967-04-10' AND '1967-06-01'",
        "ts > '2023-11-14T22:15:00'", "ts <= '2023-11-14T22:14:40.000040'", "ts > '2023'",
        "tsz = '2023-11-14T22:13:30.00003Z'", "tsz < '2023-11-14T22:15:00Z'", "tm >= '00:03'",
        "tm < '00:01:40'", "d9 = '-498.99'", "i64 = -4998999999993", "id = '7'", "dt = 19000",
        "dt > 5", "b = 1", "b IS NOT NULL", "li IS NULL", "i16 IN (-32731, 5)", "s = 5",
        "id > 3.5", "id < 100.0", "id >= '340'", "i64 < -4.9e12", "js = '{\"a\":5}'",
        "f64 = -99.5", "f32 > 80.5", "id IN (1, 101, 201, 301)", "uid IS 'x'", "s IS NULL AND id > 200",
        /* checked per row in C as well (row filters) */
        "id BETWEEN 10 AND 20", "id > 5 AND id < 3", "i64 > -4998999999993 AND i64 <= -4990000000000",
        "u64 < 10", "u64 >= 9223372036854775807", "f64 > -50 AND f64 < 0", "id IN (1, 2, 3) AND f32 > 0.3",
        "i32 = 5.0", "i32 > 5.5", "id > '10'", "id < 'x'", "i16 >= -32768", "b = 0", "b > 0.5",
        "id > 9223372036854775807", "id < -9223372036854775808", "id < 1e300", "id >= -1e300",
        "u8 BETWEEN 3 AND 7", "u32 > 4294967290", "i8 = -128", "f32 <= 2", "id = 3 AND id = 4",
        "i32 IN (-49999, 7, 2.5, 'x')", "id > 100 AND id <= 100.5",
    };
    for (size_t i = 0; i < sizeof preds / sizeof preds[0]; i++) {
        char a[512], b[512], ra[64];
        snprintf(a, sizeof a, "SELECT count(*) FROM types WHERE %s", preds[i]);
        snprintf(b, sizeof b,
                 "WITH m AS MATERIALIZED (SELECT * FROM types) SELECT count(*) FROM m WHERE %s",
                 preds[i]);
        snprintf(ra, sizeof ra, "%s", q(a));
        const char *rb = q(b);
        if (strcmp(ra, rb) != 0)
            fail_msg("%s: pruned %s unpruned %s", preds[i], ra, rb);
    }
}

/* GROUP BY / DISTINCT on one column hand rows out grouped (orderByConsumed):
 * the results must equal SQLite's own sorter over a materialized copy. */
/* tmpl with "{T}" replaced by name. */
static void subst_table(char *out, size_t cap, const char *tmpl, const char *name)
{
    const char *at = strstr(tmpl, "{T}");
    assert_non_null(at);
    snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 3);
}

static void test_grouped_scan(void **state)
{
    (void)state;
    struct lh_sql_engine *native = eng;
    eng = eng_vm; /* the grouped scan is what SQLite's own GROUP BY reads */
    static const struct {
        const char *tmpl, *table;
        int grouped; /* expected grouped scans, -1: don't check */
        const char *cte; /* the copy's select list; NULL: "*" */
    } cases[] = {
        {"SELECT s, count(*), sum(i32), min(id), max(id) FROM {T} GROUP BY s", "types", 1, NULL},
        {"SELECT en, count(*), group_concat(id) FROM {T} GROUP BY en ORDER BY en DESC", "types", 1, NULL},
        {"SELECT b, count(*), sum(i8) FROM {T} GROUP BY b", "types", 1, NULL},
        {"SELECT b, count(*) FROM {T} GROUP BY b ORDER BY b DESC", "types", 1, NULL},
        {"SELECT i8, count(*) FROM {T} WHERE i8 < 0 GROUP BY i8 HAVING count(*) > 1", "types", 1, NULL},
        {"SELECT u32, count(*) FROM {T} WHERE id BETWEEN 7 AND 300 GROUP BY u32", "types", 1, NULL},
        {"SELECT s, count(*) FROM {T} WHERE s IS NULL GROUP BY s", "types", 1, NULL},
        {"SELECT s, count(*) FROM {T} WHERE id < 0 GROUP BY s", "types", -1, NULL},
        {"SELECT s, max(rowid), min(rowid), count(*) FROM {T} WHERE id > 17 GROUP BY s", "types", 1,
         "*, rowid AS rowid"},
        {"SELECT count(*), sum(u8) FROM (SELECT DISTINCT u8 FROM {T})", "types", -1, NULL},
        {"SELECT DISTINCT s FROM {T} ORDER BY s DESC", "types", -1, NULL},
        {"SELECT s COLLATE NOCASE AS k, count(*) FROM {T} GROUP BY k", "types", -1, NULL},
        {"SELECT i64 % 7 AS k, count(*) FROM {T} GROUP BY k", "types", 0, NULL},
        {"SELECT grp, count(*), sum(v), min(s) FROM {T} WHERE id BETWEEN 100 AND 15000 GROUP BY grp",
         "sorted", 1, NULL},
        {"SELECT grp, count(*) FROM {T} WHERE v > 20 AND grp IN (1, 3) GROUP BY grp", "sorted", 1, NULL},
        {"SELECT none, count(*) FROM {T} GROUP BY none", "sorted", 1, NULL},
        {"SELECT id, count(*) FROM {T} GROUP BY id ORDER BY id DESC LIMIT 3", "sorted", -1, NULL},
        {"SELECT status, count(*), count(amount), min(id), max(id), sum(qty) FROM {T} GROUP BY status", "orders", 1, NULL},
        {"SELECT qty, count(*), group_concat(id) FROM {T} GROUP BY qty", "orders", 1, NULL},
        {"SELECT c.name, count(*), sum(o.qty) FROM {T} o JOIN customers c ON c.id = o.cust "
         "GROUP BY c.name",
         "orders", -1, NULL},
        {"SELECT o.status, count(*) FROM {T} o JOIN customers c ON c.id = o.cust WHERE c.tier = 1 "
         "GROUP BY o.status",
         "orders", -1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char a[1024], body[1024], b[1200], ra[8192];
        subst_table(a, sizeof a, cases[i].tmpl, cases[i].table);
        snprintf(ra, sizeof ra, "%s", q(a));
        struct lh_sql_stats st;
        lh_sql_engine_stats(eng, &st);
        subst_table(body, sizeof body, cases[i].tmpl, "m");
        snprintf(b, sizeof b, "WITH m AS MATERIALIZED (SELECT %s FROM %s) %s",
                 cases[i].cte ? cases[i].cte : "*", cases[i].table, body);
        const char *rb = q(b);
        if (strcmp(ra, rb) != 0)
            fail_msg("%s:\ngrouped:\n%s\nsorter:\n%s", a, ra, rb);
        if (cases[i].grouped >= 0 && st.grouped_scans != (uint64_t)cases[i].grouped)
            fail_msg("%s: %" PRIu64 " grouped scans, want %d", a, st.grouped_scans,
                     cases[i].grouped);
    }
    /* the materialized copy itself is not a grouped scan; a plain ORDER BY is not either */
    q("SELECT id FROM sorted ORDER BY id LIMIT 2");
    struct lh_sql_stats st;
    lh_sql_engine_stats(eng, &st);
    assert_int_equal(st.grouped_scans, 0);
    /* a budget too small for the grouped scan: SQLite sorts as before */
    struct lh_sql_options o = {.timeout_ms = 5000, .max_decode = 40000, .no_native_agg = true};
    struct lh_sql_engine *small;
    struct lh_error err;
    assert_int_equal(lh_sql_engine_open(dir, NULL, &o, &small, &err), LH_OK);
    struct lh_buf out;
    lh_buf_init(&out, 0);
    assert_int_equal(lh_sql_execute(small, "SELECT grp, count(*) FROM sorted GROUP BY grp", 0,
                                    LH_SQL_FORMAT_CSV, &out, &err),
                     LH_OK);
    lh_sql_engine_stats(small, &st);
    assert_int_equal(st.grouped_scans, 0);
    lh_buf_cstr(&out);
    assert_string_equal((const char *)out.data,
                        "grp,count(*)\n0,2000\n1,2000\n2,2000\n3,2000\n4,2000\n5,2000\n6,2000\n"
                        "7,2000\n8,2000\n9,2000\n");
    lh_buf_free(&out);
    lh_sql_engine_destroy(small);
    eng = native;
}

/* dec_sum / dec_cmp at the edges of their 64- and 128-bit paths. */
/* Past max_decode / 16 bytes of distinct keys the grouped scan sorts the
 * selected rows instead: same results as SQLite's sorter, NULLs included. */
static void test_grouped_scan_many_keys(void **state)
{
    (void)state;
    static const struct {
        size_t max_decode;
        const char *tmpl, *table;
    } cases[] = {
        {40000, "SELECT s, count(*), sum(i32) FROM {T} GROUP BY s", "types"},
        {40000, "SELECT s, count(*) FROM {T} GROUP BY s ORDER BY s DESC", "types"},
        {40000, "SELECT count(*), group_concat(s, '|') FROM (SELECT DISTINCT s FROM {T} WHERE id > 20 ORDER BY s)", "types"},
        {40000, "SELECT u8, count(*), min(id) FROM {T} WHERE id BETWEEN 3 AND 300 GROUP BY u8", "types"},
        {2 << 20, "SELECT count(*), sum(id), group_concat(id) FROM (SELECT id, count(*) FROM {T} "
                  "WHERE id % 7 = 0 GROUP BY id)", "sorted"},
        {2 << 20, "SELECT count(*), group_concat(s) FROM (SELECT s, count(*) FROM {T} "
                  "WHERE id % 9 = 0 GROUP BY s ORDER BY s DESC)", "sorted"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_sql_options o = {.timeout_ms = 5000, .max_decode = cases[i].max_decode,
                                   .no_native_agg = true};
        struct lh_sql_engine *small;
        struct lh_error err;
        assert_int_equal(lh_sql_engine_open(dir, NULL, &o, &small, &err), LH_OK);
        char a[1024], body[1024], b[1200];
        subst_table(a, sizeof a, cases[i].tmpl, cases[i].table);
        subst_table(body, sizeof body, cases[i].tmpl, "m");
        snprintf(b, sizeof b, "WITH m AS MATERIALIZED (SELECT * FROM %s) %s", cases[i].table, body);
        struct lh_buf ra, rb;
        lh_buf_init(&ra, 0);
        lh_buf_init(&rb, 0);
        if (lh_sql_execute(small, a, 0, LH_SQL_FORMAT_CSV, &ra, &err) != LH_OK)
            fail_msg("%s: %s", a, err.msg);
        struct lh_sql_stats st;
        lh_sql_engine_stats(small, &st);
        if (lh_sql_execute(small, b, 0, LH_SQL_FORMAT_CSV, &rb, &err) != LH_OK)
            fail_msg("%s: %s", b, err.msg);
        lh_buf_cstr(&ra);
        lh_buf_cstr(&rb);
        if (strcmp((const char *)ra.data, (const char *)rb.data) != 0)
            fail_msg("%s:\ngrouped:\n%s\nsorter:\n%s", a, (const char *)ra.data,
                     (const char *)rb.data);
        if (st.grouped_scans != 1)
            fail_msg("%s: %" PRIu64 " grouped scans, want 1", a, st.grouped_scans);
        lh_buf_free(&ra);
        lh_buf_free(&rb);
        lh_sql_engine_destroy(small);
    }
}

/* A simple GROUP BY aggregates in C (agg.c, the aggregating table in
 * vtab.c): the whole JSON result (column names, declared or value types,
 * every value bit for bit, order) must be what SQLite's own GROUP BY gives
 * over the same rows; shapes it does not cover run as written. */
static void json_of(struct lh_sql_engine *en, const char *sql, struct lh_buf *out,
                    uint64_t *native)
{
    lh_buf_init(out, 0);
    struct lh_error err;
    if (lh_sql_execute(en, sql, 0, LH_SQL_FORMAT_JSON, out, &err) != LH_OK)
        fail_msg("%s: %s", sql, err.msg);
    lh_buf_cstr(out);
    /* elapsed_ms differs between two runs */
    char *el = strstr((char *)out->data, "\"elapsed_ms\"");
    if (el)
        *el = '\0';
    struct lh_sql_stats st;
    lh_sql_engine_stats(en, &st);
    *native = st.native_aggs;
}

static void same_as_vm(struct lh_sql_engine *en, const char *sql, int native)
{
    struct lh_buf a, b;
    uint64_t na, nb;
    json_of(en, sql, &a, &na);
    json_of(eng_vm, sql, &b, &nb);
    if (strcmp((const char *)a.data, (const char *)b.data) != 0)
        fail_msg("%s:\nnative:\n%s\nsqlite:\n%s", sql, (const char *)a.data,
                 (const char *)b.data);
    if (na != (uint64_t)native || nb != 0)
        fail_msg("%s: %" PRIu64 " native aggregates, want %d", sql, na, native);
    lh_buf_free(&a);
    lh_buf_free(&b);
}

static void test_native_aggregate(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        int native; /* 1: aggregated in C; 0: ran as written */
    } cases[] = {
        {"SELECT status, count(*), sum(amount) FROM orders GROUP BY status", 1},
        {"select STATUS, COUNT( * ), Sum(amount), total(amount), avg(amount), count(amount), "
         "min(cust), max(id) from orders group by status;",
         1},
        {"SELECT qty, count(*), sum(id), min(id), max(id), avg(id), total(qty) FROM orders GROUP BY qty", 1},
        {"SELECT status AS st, count(qty) AS n, sum(qty) s FROM \"orders@1\" GROUP BY status "
         "ORDER BY n DESC, st LIMIT 2",
         1},
        {"SELECT count(*), status FROM orders GROUP BY status ORDER BY 2 DESC LIMIT 1 OFFSET 1", 1},
        {"SELECT s, count(*), sum(i8), sum(i16), sum(i32), sum(i64), sum(u32), sum(b), min(f64), "
         "max(f64), sum(f64), avg(f32), sum(d9), total(d9), avg(d9), count(d38), count(js) "
         "FROM types GROUP BY s",
         1},
        {"SELECT b, count(*), sum(f32), min(u16), max(u8), min(i64) FROM types GROUP BY b", 1},
        {"SELECT en, sum(d9), count(*) FROM types GROUP BY en ORDER BY en DESC", 1},
        {"SELECT u8, count(*), sum(f64) FROM types GROUP BY u8", 1},
        {"SELECT i8 k, sum(d9) AS total FROM types GROUP BY i8 ORDER BY total LIMIT 5", 1},
        {"SELECT grp, count(*), sum(v), min(v), max(v), avg(id) FROM sorted GROUP BY grp", 1},
        {"SELECT none, count(*), sum(none), avg(none), total(none), min(none) FROM sorted GROUP BY none", 1},
        /* as written: WHERE, HAVING, expressions, other columns, text min/max, sums of
         * values SQLite reads as text, unknown names in ORDER BY */
        {"SELECT status, count(*) FROM orders WHERE id > 10 GROUP BY status", 0},
        {"SELECT status, count(*) FROM orders GROUP BY status HAVING count(*) > 1", 0},
        {"SELECT status, count(*) + 1 FROM orders GROUP BY status", 0},
        {"SELECT status, id, count(*) FROM orders GROUP BY status", 0},
        {"SELECT status, sum(day) FROM orders GROUP BY status", 0},
        {"SELECT status, max(amount) FROM orders GROUP BY status", 0},
        {"SELECT status, count(*) FROM orders GROUP BY status ORDER BY count(*)", 0},
        {"SELECT u8, sum(u64) FROM types GROUP BY u8", 0},
        {"SELECT d9, count(*) FROM types GROUP BY d9", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same_as_vm(eng, cases[i].sql, cases[i].native);
    /* an unknown table: the same error either way */
    struct lh_error e1, e2;
    struct lh_buf x;
    lh_buf_init(&x, 0);
    const char *bad = "SELECT status, count(*) FROM nosuch GROUP BY status";
    assert_int_equal(lh_sql_execute(eng, bad, 0, LH_SQL_FORMAT_JSON, &x, &e1), LH_E_INVAL);
    assert_int_equal(lh_sql_execute(eng_vm, bad, 0, LH_SQL_FORMAT_JSON, &x, &e2), LH_E_INVAL);
    assert_string_equal(e1.msg, e2.msg);
    lh_buf_free(&x);
    /* more groups than the memory budget allows: it gives up before the
     * first row and SQLite runs the statement */
    struct lh_sql_options o = {.timeout_ms = 5000, .max_decode = 40000};
    struct lh_sql_engine *small;
    assert_int_equal(lh_sql_engine_open(dir, NULL, &o, &small, &e1), LH_OK);
    same_as_vm(small, "SELECT id, count(*), sum(v) FROM sorted GROUP BY id ORDER BY id DESC LIMIT 3", 0);
    same_as_vm(small, "SELECT grp, count(*), sum(v) FROM sorted GROUP BY grp", 1);
    lh_sql_engine_destroy(small);
}

static void test_decimal_exact(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *want;
    } cases[] = {
        {"SELECT dec_sum(column1) FROM (VALUES ('999999999999999999'), ('1'), ('-0.5'))",
         "999999999999999999.5\n"},
        {"SELECT dec_sum(column1) FROM (VALUES ('1234567890123456789'), ('0.01'), (NULL))",
         "1234567890123456789.01\n"},
        {"SELECT dec_sum(column1) FROM (VALUES ('-99999999999999999999999999999999999999'), ('1'))",
         "-99999999999999999999999999999999999998\n"},
        {"SELECT dec_sum(column1) FROM (VALUES ('0.000000000000000000001'), ('-0.000000000000000000002'))",
         "-0.000000000000000000001\n"},
        {"SELECT dec_sum(column1) FROM (VALUES ('+12.50'), (7), ('-0.05'))", "19.45\n"},
        {"SELECT dec_sum(column1) FROM (VALUES (NULL))", "\n"},
        {"SELECT dec_cmp('1234567890123456789.5', '1234567890123456789.49'), "
         "dec_cmp('-123456789012345678901234567890', '-123456789012345678901234567891'), "
         "dec_cmp('999999999999999999', '1000000000000000000')",
         "1,1,-1\n"},
        {"SELECT status, dec_sum(amount), count(*) FROM orders GROUP BY status",
         "new,-8640.25,50\npaid,-8621.75,50\nshipped,-8603.25,50\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(q(cases[i].sql), cases[i].want);
    struct lh_error err;
    assert_int_equal(qerr("SELECT dec_sum(column1) FROM (VALUES ('99999999999999999999999999999999999999'), "
                          "('1'))",
                          &err),
                     LH_E_INVAL);
    assert_non_null(strstr(err.msg, "overflow"));
    assert_int_equal(qerr("SELECT dec_sum(column1) FROM (VALUES ('1e5'))", &err), LH_E_INVAL);
}

static void test_limit_offset(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *want;
        int64_t read; /* -1: don't check */
    } cases[] = {
        {"SELECT id FROM sorted LIMIT 3 OFFSET 2500", "2500\n2501\n2502\n", 1},
        {"SELECT id FROM sorted LIMIT 2", "0\n1\n", 1},
        {"SELECT id FROM sorted LIMIT 3 OFFSET 999", "999\n1000\n1001\n", 2},
        {"SELECT id FROM sorted WHERE id + 0 > 5 LIMIT 3", "6\n7\n8\n", -1},
        {"SELECT id FROM sorted ORDER BY id DESC LIMIT 2", "19999\n19998\n", 20},
        {"SELECT id FROM sorted WHERE grp = 3 LIMIT 2 OFFSET 1", "13\n23\n", -1},
        {"SELECT id FROM sorted LIMIT 2 OFFSET 19999", "19999\n", 1},
        {"SELECT id FROM sorted LIMIT 0", "", 0},
        {"SELECT id FROM sorted LIMIT -1 OFFSET 19998", "19998\n19999\n", 1},
        {"SELECT count(*) FROM (SELECT id FROM sorted LIMIT 5 OFFSET 3)", "5\n", 1},
        {"SELECT id FROM orders LIMIT 2 OFFSET 89", "89\n90\n", -1},
        {"SELECT DISTINCT grp FROM sorted LIMIT 2 OFFSET 1", "1\n2\n", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = q(cases[i].sql);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s\n got: %s\nwant: %s", cases[i].sql, got, cases[i].want);
        struct lh_sql_stats st;
        lh_sql_engine_stats(eng, &st);
        if (cases[i].read >= 0 && st.row_groups_read != (uint64_t)cases[i].read)
            fail_msg("%s: read %" PRIu64 " row groups, want %" PRId64, cases[i].sql,
                     st.row_groups_read, cases[i].read);
    }
}

static void test_sandbox(void **state)
{
    (void)state;
    char attach[600], vac[600];
    snprintf(attach, sizeof attach, "ATTACH '%s/evil.db' AS evil", dir);
    snprintf(vac, sizeof vac, "VACUUM INTO '%s/copy.db'", dir);
    static struct {
        const char *sql, *msg;
        enum lh_status st;
    } cases[] = {
        {NULL, "ATTACH is not allowed", LH_E_PERM},
        {NULL, "", LH_OK /* any refusal */},
        {"PRAGMA writable_schema=1", "PRAGMA writable_schema=1 is not allowed", LH_E_PERM},
        {"PRAGMA journal_mode", "not allowed", LH_E_PERM},
        {"SELECT load_extension('/tmp/x.so')", "load_extension", LH_E_PERM},
        {"SELECT 1; SELECT 2", "only one statement is allowed", LH_E_INVAL},
        {"SELECT 1; DROP TABLE sorted", "only one statement is allowed", LH_E_INVAL},
        {"CREATE TABLE t(x)", "not allowed", LH_E_PERM},
        {"CREATE TEMP VIEW v AS SELECT 1", "not allowed", LH_E_PERM},
        {"INSERT INTO sorted(id) VALUES (1)", "INSERT is not allowed", LH_E_PERM},
        {"DELETE FROM sorted", "may not be modified", LH_E_INVAL},
        {"DROP TABLE sorted", "not allowed", LH_E_PERM},
        {"CREATE VIRTUAL TABLE temp.x USING lakehouse(sorted, 0)", "not allowed", LH_E_PERM},
        {"BEGIN", "not allowed", LH_E_PERM},
        {"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
         "query time limit of 5000 ms exceeded", LH_E_TIMEOUT},
        {"SELECT * FROM nosuch", "no such table: nosuch", LH_E_INVAL},
        {"SELECT * FROM \"orders@9\"", "no version 9", LH_E_NOTFOUND},
        {"SELECT * FROM \"orders@x\"", "name@N", LH_E_INVAL},
        {"SELEC 1", "syntax error", LH_E_INVAL},
        {"", "empty statement", LH_E_INVAL},
        {"SELECT zeroblob(100000000)", "too big", LH_E_TOOBIG},
    };
    cases[0].sql = attach;
    cases[1].sql = vac;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_error err;
        enum lh_status s = qerr(cases[i].sql, &err);
        if (cases[i].st != LH_OK && s != cases[i].st)
            fail_msg("%s: status %s (%s), want %s", cases[i].sql, lh_status_str(s), err.msg,
                     lh_status_str(cases[i].st));
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].sql, err.msg, cases[i].msg);
    }
    struct stat sb;
    char p[600];
    snprintf(p, sizeof p, "%s/copy.db", dir);
    assert_int_not_equal(stat(p, &sb), 0);
    snprintf(p, sizeof p, "%s/evil.db", dir);
    assert_int_not_equal(stat(p, &sb), 0);
    /* the engine still works, and harmless forms pass */
    assert_string_equal(q("SELECT 1;  -- done"), "1\n");
    /* allowed, though empty: a dataset's table exists only while a statement names it */
    assert_string_equal(q("PRAGMA table_info(customers)"), "");
}

static int run_cli(const char *args, char *out, size_t cap, char *eout, size_t ecap)
{
    char cmd[2048], ef[300];
    snprintf(ef, sizeof ef, "%s/cli-stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "%s sql --data '%s' %s 2>'%s'", LH_TEST_LAKEHOUSE, dir, args, ef);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    FILE *e = fopen(ef, "r");
    assert_non_null(e);
    n = fread(eout, 1, ecap - 1, e);
    eout[n] = '\0';
    fclose(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
    (void)state;
    char out[8192], eo[1024];
    const char *sql = "\"SELECT id, s, v, none FROM sorted WHERE id IN (0, 10, 200) ORDER BY id\"";
    char args[512];
    snprintf(args, sizeof args, "%s", sql);
    assert_int_equal(run_cli(args, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, " id  |    s    |  v  | none\n"
                             "-----+---------+-----+------\n"
                             "   0 | k000000 |   0 | NULL\n"
                             "  10 | k000010 |   5 | NULL\n"
                             " 200 | k000200 | 100 | NULL\n"
                             "(3 rows)\n");
    snprintf(args, sizeof args, "%s --format csv", sql);
    assert_int_equal(run_cli(args, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, "id,s,v,none\n0,k000000,0,\n10,k000010,5,\n200,k000200,100,\n");
    snprintf(args, sizeof args, "%s --format ndjson --limit 1", sql);
    assert_int_equal(run_cli(args, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, "{\"id\":0,\"s\":\"k000000\",\"v\":0,\"none\":null}\n");
    snprintf(args, sizeof args, "%s --format json --limit 2", sql);
    assert_int_equal(run_cli(args, out, sizeof out, eo, sizeof eo), 0);
    assert_non_null(strstr(out, "\"rows\":[[0,\"k000000\",0,null],[10,\"k000010\",5,null]],"
                                "\"truncated\":true"));
    assert_int_equal(run_cli("'SELECT * FROM nosuch'", out, sizeof out, eo, sizeof eo), 1);
    assert_string_equal(eo, "lakehouse: sql: no such table: nosuch\n");
    assert_int_equal(run_cli("'SELECT 1' --format xml", out, sizeof out, eo, sizeof eo), 2);
    assert_int_equal(run_cli("'ATTACH \"/tmp/x\" AS y'", out, sizeof out, eo, sizeof eo), 1);
    assert_non_null(strstr(eo, "lakehouse: sql: ATTACH is not allowed"));
}

static void range_checks(struct lh_store *st)
{
    struct lh_error err;
    assert_int_equal(lh_store_put(st, "r/obj", "abcdefghij", 10, &err), LH_OK);
    char buf[16] = {0};
    assert_int_equal(lh_store_get_range(st, "r/obj", 2, buf, 3, &err), LH_OK);
    assert_memory_equal(buf, "cde", 3);
    assert_int_equal(lh_store_get_range(st, "r/obj", 0, buf, 10, &err), LH_OK);
    assert_memory_equal(buf, "abcdefghij", 10);
    assert_int_equal(lh_store_get_range(st, "r/obj", 8, buf, 5, &err), LH_E_FORMAT);
    assert_int_equal(lh_store_get_range(st, "r/missing", 0, buf, 1, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_store_get_range(st, "../x", 0, buf, 1, &err), LH_E_INVAL);
}

static void test_store_range_local(void **state)
{
    (void)state;
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(dir, NULL, NULL, &set, &err), LH_OK);
    range_checks(lh_store_set_primary(set));
    lh_store_set_close(set);
}

/* The whole path over S3 (s3rver): ranged GETs, pruning, time travel. */
static void test_s3(void **state)
{
    (void)state;
    struct s3srv srv;
    if (s3srv_start(&srv, "lhsql") != 0)
        fail_msg("s3rver did not start");
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv.port);
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    assert_int_equal(fx_build("s3://lhsql/lake"), 0);
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open("s3://lhsql/lake", NULL, NULL, &set, &err), LH_OK);
    range_checks(lh_store_set_primary(set));
    lh_store_set_close(set);
    struct lh_sql_engine *s3e;
    if (lh_sql_engine_open("s3://lhsql/lake", NULL, NULL, &s3e, &err) != LH_OK)
        fail_msg("engine over s3: %s", err.msg);
    struct lh_buf b;
    lh_buf_init(&b, 0);
    if (lh_sql_execute(s3e,
                       "SELECT (SELECT count(*) FROM \"orders@1\"), sorted.s, tsz FROM "
                       "sorted, types WHERE sorted.id = 4321 AND types.id = 1",
                       0, LH_SQL_FORMAT_CSV, &b, &err) != LH_OK)
        fail_msg("query over s3: %s", err.msg);
    lh_buf_cstr(&b);
    assert_string_equal((char *)b.data,
                        "\"(SELECT count(*) FROM \"\"orders@1\"\")\",s,tsz\n"
                        "100,k004321,2023-11-14T22:13:21.000003Z\n");
    lh_buf_free(&b);
    lh_sql_engine_destroy(s3e);
    s3srv_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_values),
        cmocka_unit_test(test_json_format),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_pruning_matches_unpruned),
        cmocka_unit_test(test_grouped_scan),
        cmocka_unit_test(test_grouped_scan_many_keys),
        cmocka_unit_test(test_native_aggregate),
        cmocka_unit_test(test_decimal_exact),
        cmocka_unit_test(test_limit_offset),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_store_range_local),
        cmocka_unit_test(test_s3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
