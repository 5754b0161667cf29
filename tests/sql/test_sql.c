/*
 * test_sql.c — lakehouse SQL on DuckDB: golden values of every type, exact
 * decimals (the SQLite engine's bugs), time travel, SHOW TABLES / DESCRIBE /
 * SUMMARIZE, result limits, parts that do not match the catalog, the
 * sandbox (more than 100 escapes, each refused, the engine working after),
 * the CLI, S3 datasets through the part cache, and SQL without libduckdb.so.
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

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-sql-XXXXXX");
    if (!mkdtemp(dir) || fx_build(dir) != 0)
        return -1;
    struct lh_error err;
    struct lh_sql_options o = {.timeout_ms = 3000, .memory_limit = 256u << 20, .threads = 2};
    if (lh_sql_engine_open(dir, NULL, &o, &eng, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lh_sql_engine_destroy(eng);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* CSV rows of sql on en (header dropped) in a static buffer; fails the test on error. */
static const char *qe(struct lh_sql_engine *en, const char *sql)
{
    static char res[65536];
    struct lh_buf b;
    lh_buf_init(&b, 0);
    struct lh_error err;
    if (lh_sql_execute(en, sql, 0, LH_SQL_FORMAT_CSV, &b, &err) != LH_OK)
        fail_msg("%s: %s", sql, err.msg);
    lh_buf_cstr(&b);
    const char *nl = strchr((const char *)b.data, '\n');
    snprintf(res, sizeof res, "%s", nl ? nl + 1 : "");
    lh_buf_reset(&b);
    return res;
}

static const char *q(const char *sql)
{
    return qe(eng, sql);
}

/* The JSON result of sql (which must succeed), elapsed_ms cut off. */
static const char *qjson(const char *sql, uint64_t limit)
{
    static char res[65536];
    struct lh_buf b;
    lh_buf_init(&b, 0);
    struct lh_error err;
    if (lh_sql_execute(eng, sql, limit, LH_SQL_FORMAT_JSON, &b, &err) != LH_OK)
        fail_msg("%s: %s", sql, err.msg);
    lh_buf_cstr(&b);
    char *el = strstr((char *)b.data, ",\"elapsed_ms\":");
    if (el)
        *el = '\0';
    snprintf(res, sizeof res, "%s", (char *)b.data);
    lh_buf_reset(&b);
    return res;
}

/* The error of sql (which must fail). */
static enum lh_status qerr(const char *sql, struct lh_error *err)
{
    struct lh_buf b;
    lh_buf_init(&b, 0);
    enum lh_status s = lh_sql_execute(eng, sql, 0, LH_SQL_FORMAT_JSON, &b, err);
    lh_buf_reset(&b);
    if (s == LH_OK)
        fail_msg("%s: succeeded, expected an error", sql);
    return s;
}

static void test_values(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *want;
    } cases[] = {
        {"SELECT id,b,i8,i16,i32,i64,u8,u16,u32,u64,f32,f64,s,js,en,hex(bin),uid,hex(fx),d9,d38,"
         "dt,ts,tsz,tm,li FROM types WHERE id = 1",
         "1,false,-127,-32731,-42081,-4998999999993,1,31,4294967294,1,0.25,-99.5,str1,"
         "\"{\"\"a\"\":1}\",green,6231,01010101-0101-0101-0101-010101010101,010102,-498.99,"
         "-1490000000000.0000000000,1967-04-08,2023-11-14 22:13:21.000003,"
         "2023-11-14 22:13:21.000003+00,00:00:01.000003,[10]\n"},
        {"SELECT b IS NULL, u64, f64 IS NULL, s IS NULL, li, d9 FROM types WHERE id = 0",
         "true,18446744073709551615,true,true,[],-500.00\n"},
        {"SELECT s, li, dt FROM types WHERE id IN (2, 3) ORDER BY id",
         "str2,\"[20,null]\",1967-04-09\n"
         "\"h\xc3\xa9llo, \"\"w\"\"\",,1967-04-10\n"},
        {"SELECT count(*), count(b), count(f64), count(s), count(li) FROM types",
         "350,300,280,280,263\n"},
        {"SELECT js->>'$.a', len(li), li FROM types WHERE id = 6", "6,2,\"[60,null]\"\n"},
        {"SELECT tm FROM types WHERE id = 10", "00:00:10.00003\n"},
        {"SELECT count(*), sum(id) FROM orders", "150,11175\n"},
        {"SELECT count(*), max(id) FROM \"orders@1\"", "100,99\n"},
        {"SELECT count(*) FROM \"orders@2\" WHERE status = 'paid'", "50\n"},
        {"SELECT {'a': 1, 'b': [1.5, NULL]} AS st, MAP {'k': 2} AS m, [1, 2]::INTEGER[2] AS arr, "
         "INTERVAL 3 DAY + INTERVAL 2 HOUR AS iv, 12345678901234567890123::HUGEINT AS h",
         "\"{\"\"a\"\":1,\"\"b\"\":[1.5,null]}\",\"[{\"\"key\"\":\"\"k\"\",\"\"value\"\":2}]\","
         "\"[1,2]\",3 days 02:00:00,12345678901234567890123\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = q(cases[i].sql);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s\n got: %s\nwant: %s", cases[i].sql, got, cases[i].want);
    }
}

/* The SQLite engine's decimal bugs (issue 16): text comparison in max/min,
 * a decimal changing type inside a materialized CTE, float noise in sum. */
static void test_decimals_exact(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *want;
    } cases[] = {
        /* amounts of orders v2: -200.00 .. -144.87 and up; max was compared as text */
        {"SELECT max(amount), min(amount), arg_max(id, amount) FROM orders",
         "-144.87,-200.00,149\n"},
        {"SELECT max(d9), min(d9) FROM types", "-147.51,-500.00\n"},
        {"SELECT amount FROM orders WHERE amount > -145 ORDER BY amount DESC LIMIT 2", "-144.87\n"},
        {"SELECT sum(amount), sum(d38) FROM orders, (SELECT sum(d38) AS d38 FROM types)",
         "-25865.25,12862500000000000.0000000000\n"},
        {"WITH c AS MATERIALIZED (SELECT amount, u64 FROM orders JOIN types ON types.id = "
         "orders.id) SELECT max(amount), sum(amount), max(u64), typeof(max(u64)) FROM c",
         "-144.87,-25865.25,18446744073709551615,UBIGINT\n"},
        {"WITH c AS MATERIALIZED (SELECT 1.99::DECIMAL(5,2) AS x UNION ALL SELECT 0.01) "
         "SELECT sum(x), typeof(sum(x)) FROM c",
         "2.00,\"DECIMAL(38,2)\"\n"},
        {"SELECT sum(amount) = -25865.25, avg(amount)::DECIMAL(12,4) FROM orders",
         "true,-172.4350\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = q(cases[i].sql);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s\n got: %s\nwant: %s", cases[i].sql, got, cases[i].want);
    }
    /* JSON: decimals are numbers with their exact digits, UBIGINT past 2^63 too */
    assert_string_equal(qjson("SELECT max(amount) AS m, max(u64) AS u FROM orders, types", 0),
                        "{\"columns\":[{\"name\":\"m\",\"type\":\"DECIMAL(10,2)\"},{\"name\":\"u\","
                        "\"type\":\"UBIGINT\"}],\"rows\":[[-144.87,18446744073709551615]],"
                        "\"truncated\":false");
}

static void test_catalog_tables(void **state)
{
    (void)state;
    assert_string_equal(q("SHOW TABLES"), "customers\norders\nsorted\ntypes\n");
    assert_string_equal(q("SELECT column_name, column_type FROM (DESCRIBE orders)"),
                        "id,BIGINT\ncust,INTEGER\namount,\"DECIMAL(10,2)\"\nqty,INTEGER\n"
                        "status,VARCHAR\nday,DATE\n");
    assert_string_equal(q("SELECT column_name, count FROM (DESCRIBE \"orders@1\") JOIN "
                          "(SUMMARIZE \"orders@1\") USING (column_name) WHERE column_name = 'id'"),
                        "id,100\n");
    assert_string_equal(q("SELECT column_name, min, max, count FROM (SUMMARIZE customers)"),
                        "id,0,39,40\nname,cust0,cust9,40\ntier,0,2,40\n");
    assert_string_equal(q("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_name = 'customers' ORDER BY ordinal_position"),
                        "customers,id\ncustomers,name\ncustomers,tier\n");
    /* time travel: new rows of v2, and versions that do not exist */
    assert_string_equal(q("SELECT count(*) FROM orders o ANTI JOIN \"orders@1\" p USING (id)"),
                        "50\n");
    assert_string_equal(q("SELECT count(*) FROM ORDERS, \"Orders@1\" WHERE ORDERS.id = 0"),
                        "100\n");
    struct lh_error err;
    assert_int_equal(qerr("SELECT * FROM \"orders@9\"", &err), LH_E_INVAL);
    assert_string_equal(err.msg, "dataset orders has no version 9 (versions kept: 1, 2)");
    assert_int_equal(qerr("SELECT * FROM \"orders@x\"", &err), LH_E_INVAL);
    assert_non_null(strstr(err.msg, "name@N"));
    assert_int_equal(qerr("SELECT * FROM nosuch", &err), LH_E_INVAL);
    assert_non_null(strstr(err.msg, "nosuch does not exist"));
    assert_null(strchr(err.msg, '\n'));
    const char *ex = q("EXPLAIN SELECT count(*) FROM orders");
    assert_non_null(strstr(ex, "physical_plan"));
}

static void test_limits(void **state)
{
    (void)state;
    assert_string_equal(
        qjson("SELECT id FROM sorted ORDER BY id", 5),
        "{\"columns\":[{\"name\":\"id\",\"type\":\"BIGINT\"}],\"rows\":[[0],[1],[2],"
        "[3],[4]],\"truncated\":true");
    assert_string_equal(qjson("SELECT id FROM sorted ORDER BY id LIMIT 2", 2),
                        "{\"columns\":[{\"name\":\"id\",\"type\":\"BIGINT\"}],\"rows\":[[0],[1]],"
                        "\"truncated\":false");
    /* a small engine: max_rows, max_output and the memory limit */
    struct lh_sql_options o = {.timeout_ms = 3000,
                               .max_rows = 3,
                               .max_output = 10000,
                               .memory_limit = 64u << 20,
                               .threads = 1};
    struct lh_sql_engine *small;
    struct lh_error err;
    assert_int_equal(lh_sql_engine_open(dir, NULL, &o, &small, &err), LH_OK);
    struct lh_buf b;
    lh_buf_init(&b, 0);
    assert_int_equal(
        lh_sql_execute(small, "SELECT * FROM range(1000000000000)", 0, LH_SQL_FORMAT_CSV, &b, &err),
        LH_OK);
    lh_buf_cstr(&b);
    assert_string_equal((char *)b.data, "range\n0\n1\n2\n");
    lh_buf_clear(&b);
    assert_int_equal(
        lh_sql_execute(small, "SELECT repeat('x', 20000)", 0, LH_SQL_FORMAT_JSON, &b, &err),
        LH_E_INVAL);
    assert_non_null(strstr(err.msg, "result is larger than 10000 bytes"));
    lh_buf_clear(&b);
    assert_int_equal(lh_sql_execute(small, "SELECT list(i) FROM range(100000000) t(i)", 0,
                                    LH_SQL_FORMAT_JSON, &b, &err),
                     LH_E_INVAL);
    assert_non_null(strstr(err.msg, "memory limit is 64 MiB"));
    lh_buf_clear(&b);
    assert_int_equal(lh_sql_execute(small, "SELECT count(*) FROM range(100000000000000)", 0,
                                    LH_SQL_FORMAT_JSON, &b, &err),
                     LH_E_TIMEOUT);
    assert_string_equal(err.msg, "query time limit of 3000 ms exceeded");
    lh_buf_clear(&b);
    assert_int_equal(lh_sql_execute(small, "SELECT 42", 0, LH_SQL_FORMAT_CSV, &b, &err), LH_OK);
    lh_buf_cstr(&b);
    assert_string_equal((char *)b.data, "42\n42\n");
    lh_buf_reset(&b);
    lh_sql_engine_destroy(small);
}

/* A part that does not match its catalog object is one error naming the
 * dataset, the version and the part; the other datasets still work. */
static void test_part_mismatch(void **state)
{
    (void)state;
    char d2[300], cmd[1000], part[600];
    snprintf(d2, sizeof d2, "%s-mismatch", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", d2, dir, d2);
    assert_int_equal(system(cmd), 0);
    snprintf(part, sizeof part, "%s/primary/datasets/orders/v2/part-00001.parquet", d2);
    FILE *f = fopen(part, "ab");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
    snprintf(part, sizeof part, "%s/primary/datasets/orders/v1/part-00000.parquet", d2);
    assert_int_equal(unlink(part), 0);
    struct lh_sql_engine *e2;
    struct lh_error err;
    assert_int_equal(lh_sql_engine_open(d2, NULL, NULL, &e2, &err), LH_OK);
    struct lh_buf b;
    lh_buf_init(&b, 0);
    assert_int_equal(
        lh_sql_execute(e2, "SELECT count(*) FROM orders", 0, LH_SQL_FORMAT_JSON, &b, &err),
        LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "dataset orders version 2, part "
                                    "datasets/orders/v2/part-00001.parquet: "));
    assert_non_null(strstr(err.msg, "bytes, the catalog recorded"));
    assert_int_equal(
        lh_sql_execute(e2, "SELECT count(*) FROM \"orders@1\"", 0, LH_SQL_FORMAT_JSON, &b, &err),
        LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "dataset orders version 1 is damaged: part "
                                    "datasets/orders/v1/part-00000.parquet is missing"));
    assert_string_equal(qe(e2, "SELECT count(*) FROM customers"), "40\n");
    assert_string_equal(qe(e2, "SHOW TABLES"), "customers\nsorted\ntypes\n");
    lh_buf_reset(&b);
    lh_sql_engine_destroy(e2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d2);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------------ sandbox */

/* {D} in a statement is the data directory. */
static const char *const escapes[] = {
    /* reading files that are not the datasets' parts */
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_csv(['/etc/passwd', '/etc/group'])",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_json('/etc/passwd')",
    "SELECT * FROM read_json_auto('/etc/hostname')",
    "SELECT * FROM read_json_objects('/etc/passwd')",
    "SELECT * FROM read_ndjson('/etc/passwd')",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM parquet_metadata('/etc/passwd')",
    "SELECT * FROM parquet_schema('/etc/passwd')",
    "SELECT * FROM parquet_file_metadata('/etc/passwd')",
    "SELECT * FROM parquet_kv_metadata('/etc/passwd')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'file:///etc/passwd'",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_blob('/proc/self/maps')",
    "SELECT * FROM read_text('/dev/zero')",
    "SELECT * FROM read_csv('/dev/stdin')",
    "SELECT * FROM read_text('~/.bashrc')",
    "SELECT * FROM read_text('.')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM glob('*')",
    "SELECT * FROM glob('{D}/**')",
    "SELECT * FROM read_text('{D}/primary/_catalog/orders.json')",
    "SELECT * FROM read_json('{D}/primary/_catalog/orders.json')",
    "SELECT * FROM '{D}/primary/_catalog/customers.json'",
    "SELECT * FROM read_text('{D}/primary/_catalog/*.json')",
    "SELECT * FROM read_parquet('{D}/primary/datasets/*/*/*.parquet')",
    "SELECT * FROM read_parquet('{D}/primary/datasets/orders/**/*.parquet')",
    "SELECT * FROM read_parquet('{D}/primary/datasets/secret/v1/part-00000.parquet')",
    "SELECT * FROM parquet_metadata('{D}/primary/datasets/secret/v1/part-00000.parquet')",
    "SELECT * FROM read_blob('{D}/primary/datasets/secret/v1/part-00000.parquet')",
    "SELECT * FROM "
    "read_parquet('{D}/primary/datasets/orders/v1/../../secret/v1/part-00000.parquet')",
    "SELECT * FROM read_text('{D}/primary/datasets/orders/metadata/version-hint.text')",
    "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
    "SELECT * FROM read_parquet('https://127.0.0.1:9/x.parquet')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "SELECT * FROM read_text('hf://datasets/x/y.txt')",
    "SELECT * FROM 'x.xlsx'",
    "SELECT * FROM read_xlsx('/tmp/x.xlsx')",
    "SELECT * FROM sqlite_scan('/tmp/x.db', 't')",
    "SELECT * FROM postgres_scan('host=127.0.0.1', 'public', 't')",
    "SELECT * FROM iceberg_scan('{D}/primary/datasets/orders')",
    "SELECT * FROM delta_scan('/tmp')",
    "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')",
    "SELECT * FROM query('CREATE TABLE t AS SELECT 1')",
    "SELECT getenv('HOME')",
    "SUMMARIZE read_csv('/etc/passwd')",
    "DESCRIBE SELECT * FROM read_csv('/etc/passwd')",
    "WITH x AS (SELECT * FROM read_text('/etc/shadow')) SELECT * FROM x",
    "SELECT (SELECT content FROM read_text('/etc/passwd'))",
    "SELECT * FROM orders WHERE status IN (SELECT content FROM read_text('/etc/hosts'))",
    /* writing files */
    "COPY orders TO '/tmp/lh-sql-escape.csv'",
    "COPY (SELECT 1) TO '{D}/out.parquet' (FORMAT parquet)",
    "COPY (SELECT * FROM orders) TO '{D}/primary/datasets/orders/v2/part-00000.parquet'",
    "COPY orders FROM '/etc/passwd'",
    "EXPORT DATABASE '/tmp/lh-sql-export'",
    "IMPORT DATABASE '/tmp/lh-sql-export'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{D}/primary/datasets/orders/v2/part-00000.parquet'",
    "EXPLAIN ANALYZE SELECT 1",
    "EXPLAIN (ANALYZE) COPY (SELECT 1) TO '/tmp/lh-sql-explain.csv'",
    "explain /* hi */ analyze copy (select 1) to '/tmp/lh-sql-explain.csv'",
    "EXPLAIN COPY (SELECT 1) TO '/tmp/lh-sql-explain.csv'",
    "EXPLAIN CREATE TABLE t AS SELECT 1",
    /* databases, extensions, configuration */
    "ATTACH '{D}/evil.duckdb' AS evil",
    "ATTACH ':memory:' AS m",
    "ATTACH '{D}/x.db' (TYPE sqlite)",
    "DETACH memory",
    "USE memory",
    "INSTALL httpfs",
    "LOAD httpfs",
    "LOAD '/tmp/evil.duckdb_extension'",
    "FORCE INSTALL httpfs FROM 'http://127.0.0.1:9'",
    "UPDATE EXTENSIONS",
    "SET enable_external_access = true",
    "SET allowed_paths = ['/etc/passwd']",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "RESET enable_external_access",
    "RESET lock_configuration",
    "SET memory_limit = '100GB'",
    "SET threads = 64",
    "SET GLOBAL threads = 1",
    "SET VARIABLE x = 1",
    "SET search_path = 'information_schema'",
    "PRAGMA enable_profiling",
    "PRAGMA threads = 100",
    "CALL pragma_version()",
    "CALL duckdb_settings()",
    /* schema and data changes */
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t (x INT)",
    "CREATE VIEW v AS SELECT 1",
    "CREATE OR REPLACE VIEW orders AS SELECT 1 AS id",
    "CREATE MACRO m(x) AS x",
    "CREATE FUNCTION f(x) AS x",
    "CREATE SEQUENCE s",
    "CREATE SCHEMA s",
    "CREATE TYPE mood AS ENUM ('a')",
    "CREATE INDEX i ON orders(id)",
    "CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')",
    "DROP VIEW orders",
    "DROP TABLE orders",
    "ALTER VIEW orders RENAME TO o2",
    "INSERT INTO orders SELECT * FROM orders",
    "UPDATE orders SET qty = 0",
    "DELETE FROM orders",
    "TRUNCATE orders",
    "BEGIN TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "CHECKPOINT",
    "VACUUM",
    "ANALYZE",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    "DEALLOCATE p",
    "SELECT 1; SELECT 2",
    "SELECT 1; DROP VIEW orders",
    "SELECT 1; SET enable_external_access = true",
    "",
    "SELEC 1",
};

/* Statements that may end at the time limit instead (both are refusals). */
static const char *const slow_escapes[] = {
    /* past the memory or byte limit, or past the time limit on a busy machine */
    "SELECT list(i) FROM range(200000000) t(i)",
    "SELECT string_agg(repeat('x', 100000), '') FROM range(100000)",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x FROM c) SELECT * FROM c",
    "WITH RECURSIVE c(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM c) SELECT max(length(s)) FROM "
    "c",
    "SELECT count(*) FROM range(100000000000000)",
    "SELECT count(*) FROM range(1000000) a, range(1000000) b, range(1000000) c",
    "SELECT sum(a.id * b.id) FROM sorted a, sorted b, sorted c",
    "SELECT repeat('x', 2000000000)",
    "SELECT repeat('x', 1000000) FROM range(1000)",
};

static void expand_dir(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    while (*in && n + 1 < cap) {
        if (strncmp(in, "{D}", 3) == 0) {
            int k = snprintf(out + n, cap - n, "%s", dir);
            n += k > 0 ? (size_t)k : 0;
            in += 3;
        } else {
            out[n++] = *in++;
        }
    }
    out[n < cap ? n : cap - 1] = '\0';
}

static void test_sandbox(void **state)
{
    (void)state;
    /* a Parquet file under datasets/ that no catalog version names */
    char src[600], dst[600], cmd[2000];
    snprintf(src, sizeof src, "%s/primary/datasets/customers/v1/part-00000.parquet", dir);
    snprintf(dst, sizeof dst, "%s/primary/datasets/secret/v1", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/part-00000.parquet'", dst, src, dst);
    assert_int_equal(system(cmd), 0);
    struct stat before;
    snprintf(src, sizeof src, "%s/primary/datasets/orders/v2/part-00000.parquet", dir);
    assert_int_equal(stat(src, &before), 0);
    size_t refused = 0;
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        char sql[1024];
        expand_dir(escapes[i], sql, sizeof sql);
        struct lh_error err;
        enum lh_status s = qerr(sql, &err);
        if (s != LH_E_INVAL)
            fail_msg("%s: status %s (%s), want %s", sql, lh_status_str(s), err.msg,
                     lh_status_str(LH_E_INVAL));
        if (strchr(err.msg, '\n') || !err.msg[0])
            fail_msg("%s: the error is not one line: '%s'", sql, err.msg);
        refused++;
        /* the engine answers after every refusal */
        assert_string_equal(q("SELECT count(*) FROM orders"), "150\n");
    }
    for (size_t i = 0; i < sizeof slow_escapes / sizeof slow_escapes[0]; i++) {
        struct lh_error err;
        enum lh_status s = qerr(slow_escapes[i], &err);
        if (s != LH_E_INVAL && s != LH_E_TIMEOUT)
            fail_msg("%s: status %s (%s)", slow_escapes[i], lh_status_str(s), err.msg);
        refused++;
        assert_string_equal(q("SELECT count(*) FROM orders"), "150\n");
    }
    assert_true(refused >= 100);
    printf("sandbox: %zu escapes refused\n", refused);
    /* nothing was written, the parts are untouched, and the views are ours */
    struct stat sb, after;
    assert_int_not_equal(stat("/tmp/lh-sql-escape.csv", &sb), 0);
    assert_int_not_equal(stat("/tmp/lh-sql-explain.csv", &sb), 0);
    assert_int_not_equal(stat("/tmp/lh-sql-export", &sb), 0);
    snprintf(dst, sizeof dst, "%s/out.parquet", dir);
    assert_int_not_equal(stat(dst, &sb), 0);
    snprintf(dst, sizeof dst, "%s/evil.duckdb", dir);
    assert_int_not_equal(stat(dst, &sb), 0);
    assert_int_equal(stat(src, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(before.st_mtime, after.st_mtime);
    assert_string_equal(q("SHOW TABLES"), "customers\norders\nsorted\ntypes\n");
    assert_string_equal(q("SELECT current_setting('enable_external_access'), "
                          "current_setting('lock_configuration')"),
                        "false,true\n");
    /* harmless forms pass: PRAGMAs that DuckDB parses as queries are queries */
    assert_string_equal(q("PRAGMA show_tables"), "customers\norders\nsorted\ntypes\n");
    assert_string_equal(q("SELECT name FROM pragma_table_info('customers')"), "id\nname\ntier\n");
    assert_string_equal(q("SELECT 1;  -- done"), "1\n");
    assert_string_equal(q("FROM customers SELECT count(*)"), "40\n");
    assert_string_equal(q("/* c */ WITH t AS (SELECT 2 AS x) SELECT x FROM t"), "2\n");
}

/* ------------------------------------------------------------------ CLI */

static int run_cli(const char *env, const char *args, char *out, size_t cap, char *eout,
                   size_t ecap)
{
    char cmd[2048], ef[300];
    snprintf(ef, sizeof ef, "%s/cli-stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "%s %s sql --data '%s' %s 2>'%s'", env, LH_TEST_LAKEHOUSE, dir, args,
             ef);
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
    snprintf(args, sizeof args, "%s --format csv", sql);
    assert_int_equal(run_cli("", args, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, "id,s,v,none\n0,k000000,0,\n10,k000010,5,\n200,k000200,100,\n");
    snprintf(args, sizeof args, "%s --format ndjson --limit 1", sql);
    assert_int_equal(run_cli("", args, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, "{\"id\":0,\"s\":\"k000000\",\"v\":0,\"none\":null}\n");
    snprintf(args, sizeof args, "%s --format json --limit 2", sql);
    assert_int_equal(run_cli("", args, out, sizeof out, eo, sizeof eo), 0);
    assert_non_null(strstr(out, "\"rows\":[[0,\"k000000\",0,null],[10,\"k000010\",5,null]],"
                                "\"truncated\":true"));
    assert_int_equal(run_cli("", "'SELECT * FROM nosuch'", out, sizeof out, eo, sizeof eo), 1);
    assert_non_null(
        strstr(eo, "lakehouse: sql: Catalog Error: Table with name nosuch does not exist"));
    assert_int_equal(run_cli("", "'SELECT 1' --format xml", out, sizeof out, eo, sizeof eo), 2);
    assert_int_equal(run_cli("", "\"ATTACH '/tmp/x' AS y\"", out, sizeof out, eo, sizeof eo), 1);
    assert_non_null(strstr(eo, "lakehouse: sql: only queries are allowed"));

    /* table: numbers right-aligned, wide characters measured in columns */
    assert_int_equal(run_cli("",
                             "\"SELECT id, v, w FROM sorted, (VALUES ('日本語'), ('é'), ('x')) "
                             "t(w) WHERE id IN (0, 1000) ORDER BY id, w\"",
                             out, sizeof out, eo, sizeof eo),
                     0);
    assert_string_equal(out, "  id  |  v  |   w\n"
                             "------+-----+--------\n"
                             "    0 |   0 | x\n"
                             "    0 |   0 | é\n"
                             "    0 |   0 | 日本語\n"
                             " 1000 | 500 | x\n"
                             " 1000 | 500 | é\n"
                             " 1000 | 500 | 日本語\n"
                             "(6 rows)\n");
    assert_int_equal(run_cli("",
                             "--format markdown \"SELECT status, count(*) AS n, "
                             "max(amount) AS m FROM orders GROUP BY ALL ORDER BY 1\"",
                             out, sizeof out, eo, sizeof eo),
                     0);
    assert_string_equal(out, "| status  | n   | m       |\n"
                             "| ------- | --: | ------: |\n"
                             "| new     |  50 | -145.61 |\n"
                             "| paid    |  50 | -145.24 |\n"
                             "| shipped |  50 | -144.87 |\n");
    /* -f: statements one after the other; quotes and comments do not split */
    char file[400], args2[600];
    snprintf(file, sizeof file, "%s/stmts.sql", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("SELECT 1 AS a; -- one; two\nSELECT 'x;y' AS b;\n/* ; */ SELECT $$;$$ AS c\n", f);
    fclose(f);
    snprintf(args2, sizeof args2, "--format csv -f '%s'", file);
    assert_int_equal(run_cli("", args2, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, "a\n1\nb\nx;y\nc\n;\n");
    /* the first error stops the file, exit 1 */
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("SELECT 1 AS a;\nSELEC 2;\nSELECT 3 AS c;\n", f);
    fclose(f);
    assert_int_equal(run_cli("", args2, out, sizeof out, eo, sizeof eo), 1);
    assert_string_equal(out, "a\n1\n");
    assert_non_null(strstr(eo, "syntax error"));
    /* standard input */
    snprintf(args2, sizeof args2, "--format ndjson < '%s'", file);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("SELECT count(*) AS n FROM customers;\nSELECT 2 AS two", f);
    fclose(f);
    assert_int_equal(run_cli("", args2, out, sizeof out, eo, sizeof eo), 0);
    assert_string_equal(out, "{\"n\":40}\n{\"two\":2}\n");
}

/* The prompt, on a terminal (script(1) gives the CLI a pty): statements end
 * at ';' across lines, an error does not end the session, .quit does. */
static void test_cli_prompt(void **state)
{
    (void)state;
    char cmd[2400], in[400], outf[400];
    snprintf(in, sizeof in, "%s/prompt-in.txt", dir);
    snprintf(outf, sizeof outf, "%s/prompt-out.txt", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fputs("SELECT count(*) AS n\nFROM customers;\nSELEC 1;\nSELECT 'after' AS e;\n.quit\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "HOME='%s' script -qec \"%s sql --data '%s'\" /dev/null < '%s' > '%s' 2>&1", dir,
             LH_TEST_LAKEHOUSE, dir, in, outf);
    assert_int_equal(system(cmd), 0);
    uint8_t *got;
    size_t n;
    struct lh_error err;
    assert_int_equal(lh_file_read_all(outf, 1 << 20, &got, &n, &err), LH_OK);
    const char *s = (const char *)got;
    const char *a = strstr(s, " n\r\n----\r\n 40\r\n(1 row)");
    const char *b = strstr(s, "lakehouse: sql: Parser Error: syntax error");
    const char *c = strstr(s, "after\r\n(1 row)");
    if (!a || !b || !c || !(a < b && b < c))
        fail_msg("prompt session:\n%s", s);
    free(got);
    char hist[400];
    snprintf(hist, sizeof hist, "%s/.lakehouse_sql_history", dir);
    assert_int_equal(lh_file_read_all(hist, 1 << 20, &got, &n, &err), LH_OK);
    assert_non_null(strstr((char *)got, "'after'")); /* libedit escapes blanks as \\040 */
    free(got);
}

/* Without libduckdb.so SQL fails with one line saying how to install it;
 * the rest of the CLI does not need it. */
static void test_no_duckdb(void **state)
{
    (void)state;
    char out[8192], eo[1024];
    const char *env = "LAKEHOUSE_DUCKDB=/nonexistent/libduckdb.so";
    assert_int_equal(run_cli(env, "'SELECT 1'", out, sizeof out, eo, sizeof eo), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(eo, "lakehouse: sql: SQL needs DuckDB, but /nonexistent/libduckdb.so "
                               "could not be loaded"));
    assert_non_null(strstr(eo, "scripts/install-deps.sh"));
    assert_non_null(strstr(eo, "LAKEHOUSE_DUCKDB"));
    assert_non_null(strchr(eo, '\n'));
    assert_string_equal(strchr(eo, '\n'), "\n"); /* one line */
    /* a library that is not DuckDB */
    assert_int_equal(
        run_cli("LAKEHOUSE_DUCKDB=libc.so.6", "'SELECT 1'", out, sizeof out, eo, sizeof eo), 1);
    assert_non_null(strstr(eo, "has no duckdb_library_version"));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s datasets --data '%s' >/dev/null", env, LH_TEST_LAKEHOUSE, dir);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------------ S3 */

/* Datasets in an S3 store: parts are copied into the part cache and read
 * from there; a cached part of the right size is not fetched again. */
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
    char cache[300];
    snprintf(cache, sizeof cache, "%s/s3cache", dir);
    struct lh_sql_options o = {.cache_dir = cache};
    struct lh_sql_engine *s3e;
    struct lh_error err;
    if (lh_sql_engine_open("s3://lhsql/lake", NULL, &o, &s3e, &err) != LH_OK)
        fail_msg("engine over s3: %s", err.msg);
    const char *sql = "SELECT (SELECT count(*) FROM \"orders@1\") AS n, sorted.s, tsz FROM "
                      "sorted, types WHERE sorted.id = 4321 AND types.id = 1";
    assert_string_equal(qe(s3e, sql), "100,k004321,2023-11-14 22:13:21.000003+00\n");
    assert_string_equal(qe(s3e, "SHOW TABLES"), "customers\norders\nsorted\ntypes\n");
    lh_sql_engine_destroy(s3e);
    s3srv_stop(&srv);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test \"$(find '%s' -name 'part-*.parquet' | wc -l)\" -eq 6", cache);
    assert_int_equal(system(cmd), 0); /* orders v1 and v2 (3), customers, sorted, types */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_decimals_exact),
        cmocka_unit_test(test_catalog_tables),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_part_mismatch),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_prompt),
        cmocka_unit_test(test_no_duckdb),
        cmocka_unit_test(test_s3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
