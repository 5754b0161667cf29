/*
 * test_mysql.c — the MySQL/MariaDB source against a real MariaDB started by
 * tests/servers/mariadb.sh (ctest fixture). Same shape as test_pg.c: a
 * type matrix compared value by value with the server's own text for the
 * same row (text protocol), warning counts, then the failure modes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <mysql.h>
#include <pthread.h>
#include <time.h>

#include "render.h"
#include "source/source.h"

#define NROWS 6

struct my_case {
    const char *col;
    const char *type;
    const char *vals[NROWS];
    enum lh_type want;
    int warnings;
    const char *expr; /* default: CAST(col AS CHAR) */
};

/* NULL for zero and invalid dates (date arithmetic refuses them) */
#define DATE_EXPR "IF(%1$s + INTERVAL 0 DAY IS NULL, NULL, CAST(%1$s AS CHAR))"
#define HEX_EXPR "CONCAT('\\\\x', LOWER(HEX(%1$s)))"

static const struct my_case CASES[] = {
    {"c_tiny", "tinyint", {"-128", "127", "0"}, LH_T_INT8, 0, NULL},
    {"c_utiny", "tinyint unsigned", {"255", "0"}, LH_T_UINT8, 0, NULL},
    {"c_small", "smallint", {"-32768", "32767"}, LH_T_INT16, 0, NULL},
    {"c_usmall", "smallint unsigned", {"65535"}, LH_T_UINT16, 0, NULL},
    {"c_med", "mediumint", {"-8388608", "8388607"}, LH_T_INT32, 0, NULL},
    {"c_umed", "mediumint unsigned", {"16777215"}, LH_T_UINT32, 0, NULL},
    {"c_int", "int", {"-2147483648", "2147483647", "0"}, LH_T_INT32, 0, NULL},
    {"c_uint", "int unsigned", {"4294967295", "1"}, LH_T_UINT32, 0, NULL},
    {"c_big", "bigint", {"-9223372036854775808", "9223372036854775807"}, LH_T_INT64, 0, NULL},
    {"c_ubig", "bigint unsigned", {"18446744073709551615", "0"}, LH_T_UINT64, 0, NULL},
    {"c_dec",
     "decimal(10,2)",
     {"12345678.90", "-0.01", "0", "-99999999.99"},
     LH_T_DECIMAL,
     0,
     NULL},
    {"c_dec38",
     "decimal(38,10)",
     {"9999999999999999999999999999.9999999999", "-0.0000000001",
      "-9999999999999999999999999999.9999999999"},
     LH_T_DECIMAL,
     0,
     NULL},
    {"c_dec_int", "decimal(20,0) unsigned", {"99999999999999999999", "0"}, LH_T_DECIMAL, 0, NULL},
    {"c_dec65",
     "decimal(65,30)",
     {"12345678901234567890123456789012345.123456789012345678901234567890",
      "-0.000000000000000000000000000001"},
     LH_T_STRING,
     0,
     NULL},
    {"c_float", "float", {"3.40282e38", "-1.5", "1.17549e-38", "0"}, LH_T_FLOAT, 0, NULL},
    {"c_double",
     "double",
     {"1e308", "2.2250738585072014e-308", "0.1", "-2.5"},
     LH_T_DOUBLE,
     0,
     NULL},
    {"c_bit1",
     "bit(1)",
     {"b'1'", "b'0'"},
     LH_T_BOOL,
     0,
     "IF(%1$s IS NULL, NULL, IF(%1$s + 0 = 1, 'true', 'false'))"},
    {"c_bit64",
     "bit(64)",
     {"b'1111111111111111111111111111111111111111111111111111111111111111'", "b'0'"},
     LH_T_UINT64,
     0,
     "%1$s + 0"},
    {"c_bit10", "bit(10)", {"b'1010101010'"}, LH_T_UINT64, 0, "%1$s + 0"},
    {"c_year", "year", {"1901", "2155", "0"}, LH_T_INT16, 0, "%1$s + 0"},
    {"c_date",
     "date",
     {"'2024-02-29'", "'0000-00-00'", "'2020-02-30'", "'1000-01-01'", "'9999-12-31'",
      "'0001-01-01'"},
     LH_T_DATE,
     2,
     DATE_EXPR},
    {"c_dt",
     "datetime(6)",
     {"'2024-01-02 03:04:05.123456'", "'0000-00-00 00:00:00'", "'9999-12-31 23:59:59.999999'",
      "'1000-01-01 00:00:00'"},
     LH_T_TIMESTAMP,
     1,
     DATE_EXPR},
    {"c_dt0",
     "datetime",
     {"'2024-01-02 03:04:05'", "'1969-12-31 23:59:59'"},
     LH_T_TIMESTAMP,
     0,
     DATE_EXPR},
    {"c_ts",
     "timestamp(3) NULL DEFAULT NULL",
     {"'2024-01-02 03:04:05.123'", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999'",
      "'0000-00-00 00:00:00'"},
     LH_T_TIMESTAMP,
     1,
     DATE_EXPR},
    /* a duration: signed INT64 microseconds, every value kept */
    {"c_time",
     "time(6)",
     {"'838:59:59'", "'-00:00:01'", "'12:34:56.5'", "'-838:59:59.000000'", "'23:59:59.999999'",
      "'-100:00:00.000001'"},
     LH_T_INT64,
     0,
     "CAST(IF(%1$s < '00:00:00', -1, 1) * ((HOUR(%1$s) * 3600 + MINUTE(%1$s) * 60 + "
     "SECOND(%1$s)) * 1000000 + MICROSECOND(%1$s)) AS CHAR)"},
    {"c_time0",
     "time",
     {"'-838:59:59'", "'24:00:00'", "'00:00:00'", "'-00:00:00'"},
     LH_T_INT64,
     0,
     "CAST(TIME_TO_SEC(%1$s) * 1000000 AS CHAR)"},
    {"c_char", "char(5)", {"'ab'", "'😀'", "''"}, LH_T_STRING, 0, NULL},
    {"c_varchar", "varchar(20)", {"''", "'héllo'", "'😀𝄞'", "'a\\tb\\nc'"}, LH_T_STRING, 0, NULL},
    {"c_text",
     "mediumtext",
     {"REPEAT('ab😀', 3000)", "'short'", "REPEAT('x', 4096)", "REPEAT('y', 4097)"},
     LH_T_STRING,
     0,
     NULL},
    {"c_binary", "binary(4)", {"0x00ff", "0x01020304"}, LH_T_BINARY, 0, HEX_EXPR},
    {"c_varbinary", "varbinary(10)", {"X''", "0x0a0d"}, LH_T_BINARY, 0, HEX_EXPR},
    {"c_blob", "blob", {"REPEAT(UNHEX('AB'), 5000)", "0x00"}, LH_T_BINARY, 0, HEX_EXPR},
    {"c_json", "json", {"'{\"a\": [1, 2.50]}'", "'\"😀\"'", "'[]'"}, LH_T_JSON, 0, NULL},
    {"c_enum", "enum('sad','happy','😀')", {"'sad'", "'😀'"}, LH_T_ENUM, 0, NULL},
    {"c_set", "set('a','b','c')", {"'a,c'", "''"}, LH_T_STRING, 0, NULL},
    {"c_geom",
     "geometry",
     {"ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0,1 1)', 4326)"},
     LH_T_BINARY,
     1,
     "CONCAT('\\\\x', LOWER(HEX(ST_AsBinary(%1$s))))"},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static char *g_user_dsn, *g_limited_dsn, *g_socket_dsn, *g_password, *g_port, *g_socket;

static MYSQL *root_conn(void)
{
    MYSQL *c = mysql_init(NULL);
    assert_non_null(mysql_real_connect(c, "localhost", "root", NULL, "lhtest", 0, g_socket, 0));
    assert_int_equal(mysql_query(c, "SET NAMES utf8mb4"), 0);
    assert_int_equal(mysql_query(c, "SET time_zone = '+00:00'"), 0);
    assert_int_equal(mysql_query(c, "SET sql_mode = 'ALLOW_INVALID_DATES'"), 0);
    return c;
}

static void exec_ok(MYSQL *c, const char *sql)
{
    if (mysql_query(c, sql))
        fail_msg("%s: %s", sql, mysql_error(c));
    MYSQL_RES *r = mysql_store_result(c);
    if (r)
        mysql_free_result(r);
}

static int setup(void **state)
{
    (void)state;
    const char *env = LH_TEST_MY_ENV;
    g_user_dsn = env_file_get(env, "MY_USER_DSN");
    g_limited_dsn = env_file_get(env, "MY_LIMITED_DSN");
    g_socket_dsn = env_file_get(env, "MY_SOCKET_DSN");
    g_password = env_file_get(env, "MY_PASSWORD");
    g_port = env_file_get(env, "MY_PORT");
    g_socket = env_file_get(env, "MY_SOCKET");
    if (!g_user_dsn || !g_limited_dsn || !g_socket_dsn || !g_password || !g_port || !g_socket) {
        fprintf(stderr, "no server env at %s (run through ctest)\n", env);
        return -1;
    }
    MYSQL *c = root_conn();
    exec_ok(c, "DROP TABLE IF EXISTS matrix, secret, small");
    exec_ok(c, "DROP VIEW IF EXISTS slow, slow_open");
    struct rbuf sql = {0};
    rb_str(&sql, "CREATE TABLE matrix (id int PRIMARY KEY");
    for (size_t i = 0; i < NCASES; i++) {
        rb_str(&sql, ", ");
        rb_str(&sql, CASES[i].col);
        rb_str(&sql, " ");
        rb_str(&sql, CASES[i].type);
    }
    rb_str(&sql, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    exec_ok(c, sql.p);
    for (int r = 0; r < NROWS; r++) {
        sql.len = 0;
        char t[48];
        snprintf(t, sizeof t, "INSERT INTO matrix VALUES (%d", r + 1);
        rb_str(&sql, t);
        for (size_t i = 0; i < NCASES; i++) {
            rb_str(&sql, ", ");
            rb_str(&sql, CASES[i].vals[r] ? CASES[i].vals[r] : "NULL");
        }
        rb_str(&sql, ")");
        exec_ok(c, sql.p);
    }
    free(sql.p);
    exec_ok(c, "DROP TABLE IF EXISTS wide");
    exec_ok(c, "CREATE TABLE wide (id int, v mediumtext)");
    exec_ok(c, "INSERT INTO wide SELECT seq, REPEAT('x', 100000) FROM seq_1_to_30");
    exec_ok(c, "CREATE TABLE secret (id int)");
    exec_ok(c, "INSERT INTO secret VALUES (1)");
    exec_ok(c, "CREATE TABLE small (id int PRIMARY KEY, label varchar(20)) ENGINE=InnoDB");
    exec_ok(c, "INSERT INTO small SELECT seq, CONCAT('row ', seq) FROM seq_1_to_1000");
    exec_ok(c, "GRANT SELECT ON lhtest.small TO 'lh_limited'@'%'");
    exec_ok(c, "DROP TABLE IF EXISTS `odd``name`");
    exec_ok(c, "CREATE TABLE `odd``name` (`we``ird` int)");
    exec_ok(c, "INSERT INTO `odd``name` VALUES (7), (8)");
    exec_ok(c, "CREATE VIEW slow AS SELECT seq AS id, SLEEP(0.0005) AS v FROM seq_1_to_10000000");
    exec_ok(c, "CREATE VIEW slow_open AS SELECT 1 AS id, SLEEP(20) AS z");
    /* what gets copied (issue 15): one table name in two databases, a
     * mixed-case table, a view */
    exec_ok(c, "CREATE DATABASE IF NOT EXISTS sales");
    exec_ok(c, "DROP VIEW IF EXISTS orders_v");
    exec_ok(c, "DROP TABLE IF EXISTS lhtest.orders, sales.orders, `Mixed Case`, pwned");
    exec_ok(c, "CREATE TABLE lhtest.orders (id int, amount decimal(10,2), note varchar(10))");
    exec_ok(c, "INSERT INTO lhtest.orders SELECT seq, seq * 1.5, CONCAT('n', seq) FROM seq_1_to_5");
    exec_ok(c, "CREATE TABLE sales.orders (id int, region varchar(10))");
    exec_ok(c, "INSERT INTO sales.orders VALUES (101, 'eu'), (102, 'us')");
    exec_ok(c, "CREATE TABLE `Mixed Case` (`Id` int, `Some Col` varchar(10))");
    exec_ok(c, "INSERT INTO `Mixed Case` VALUES (1, 'a'), (2, 'b')");
    exec_ok(c, "CREATE VIEW orders_v AS SELECT id, amount FROM lhtest.orders WHERE id > 2");
    mysql_close(c);
    return 0;
}

static void drain_ids(struct lh_source *s, struct rbuf *out);

struct copy_case {
    const char *table, *query, *columns, *where, *cursor, *after;
    const char *want_ids;
    const char *want_cols; /* "name:type,..." (lh_type numbers) */
    const char *want_high;
};

static void schema_text(const struct lh_schema *sc, struct rbuf *out)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        char t[300];
        snprintf(t, sizeof t, "%s%s:%d", i ? "," : "", sc->fields[i].name, (int)sc->fields[i].type);
        if (sc->fields[i].type == LH_T_DECIMAL)
            snprintf(t + strlen(t), sizeof t - strlen(t), "(%u,%u)", sc->fields[i].precision,
                     sc->fields[i].scale);
        rb_str(out, t);
    }
}

/* --table (databases, quoting, views), --query (types from the prepared
 * statement's result metadata, incremental around it), --columns, --where. */
static void test_what_is_copied(void **state)
{
    (void)state;
    char cols_orders[64], cols_sales[64], cols_mixed[64], cols_q[64], cols_v[64], cols_sel[64];
    int i32 = LH_T_INT32, dec = LH_T_DECIMAL, str = LH_T_STRING;
    snprintf(cols_orders, sizeof cols_orders, "id:%d,amount:%d(10,2),note:%d", i32, dec, str);
    snprintf(cols_sales, sizeof cols_sales, "id:%d,region:%d", i32, str);
    snprintf(cols_mixed, sizeof cols_mixed, "Id:%d,Some Col:%d", i32, str);
    snprintf(cols_q, sizeof cols_q, "x:%d,amt:%d(12,2),n:%d", i32, dec, str);
    snprintf(cols_v, sizeof cols_v, "id:%d,amount:%d(10,2)", i32, dec);
    snprintf(cols_sel, sizeof cols_sel, "id:%d,note:%d", i32, str);
    const struct copy_case cases[] = {
        {"orders", NULL, NULL, NULL, NULL, NULL, "1,2,3,4,5", cols_orders, NULL},
        {"sales.orders", NULL, NULL, NULL, NULL, NULL, "101,102", cols_sales, NULL},
        {"\"Mixed Case\"", NULL, NULL, NULL, NULL, NULL, "1,2", cols_mixed, NULL},
        {"lhtest.`Mixed Case`", NULL, NULL, NULL, NULL, NULL, "1,2", cols_mixed, NULL},
        {"orders_v", NULL, NULL, NULL, NULL, NULL, "3,4,5", cols_v, NULL},
        {NULL, "SELECT id AS x, CAST(amount AS DECIMAL(12,2)) AS amt, note AS n FROM orders;\n",
         NULL, NULL, NULL, NULL, "1,2,3,4,5", cols_q, NULL},
        {NULL, "SELECT id AS x, CAST(amount AS DECIMAL(12,2)) AS amt, note AS n FROM orders -- c",
         NULL, NULL, "x", "2", "3,4,5", cols_q, "5"},
        {"orders", NULL, " id , note", NULL, NULL, NULL, "1,2,3,4,5", cols_sel, NULL},
        {"orders", NULL, "id,\"note\"", NULL, "amount", "3.00", "3,4,5", cols_sel, "7.50"},
        {"orders", NULL, NULL, "id % 2 = 1", NULL, NULL, "1,3,5", cols_orders, NULL},
        {"orders", NULL, "id", "id % 2 = 1", "id", "1", "3,5", NULL, "5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct copy_case *c = &cases[i];
        struct lh_source_options opt = {.table = c->table,
                                        .query = c->query,
                                        .columns = c->columns,
                                        .where = c->where,
                                        .cursor_column = c->cursor,
                                        .cursor_after = c->after,
                                        .batch_size = 2};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        if (lh_source_open(&s, LH_SOURCE_MYSQL, g_user_dsn, &opt, &err))
            fail_msg("case %zu: %s", i, err.msg);
        struct rbuf got = {0};
        rb_str(&got, "");
        if (c->want_cols) {
            schema_text(lh_source_schema(s), &got);
            if (strcmp(got.p, c->want_cols) != 0)
                fail_msg("case %zu: columns %s, want %s", i, got.p, c->want_cols);
            got.len = 0;
            got.p[0] = '\0';
        }
        drain_ids(s, &got);
        if (strcmp(got.p, c->want_ids) != 0)
            fail_msg("case %zu: ids %s, want %s", i, got.p, c->want_ids);
        if (c->want_high)
            assert_string_equal(lh_source_cursor_high(s), c->want_high);
        free(got.p);
        lh_source_close(s);
    }
}

static void test_what_is_copied_errors(void **state)
{
    (void)state;
    const struct {
        const char *table, *query, *columns, *where;
        bool at_create;
        const char *want;
    } cases[] = {
        {"orders", "SELECT 1", NULL, NULL, true, "exactly one"},
        {NULL, "SELECT 1 AS id", "id", NULL, true, "columns only goes with a table"},
        {NULL, "SELECT 1 AS id", NULL, "true", true, "where only goes with a table"},
        {"orders", NULL, "id,nope", NULL, false, "has no column \"nope\""},
        {"`Mixed Case", NULL, NULL, NULL, false, "bad table name"},
        {"mixed case", NULL, NULL, NULL, false, "not found"},
        {NULL, "SELECT 1 AS id, 2 AS id", NULL, NULL, false, "mysql"},
        {"orders", NULL, NULL, "1=1); CREATE TABLE pwned (x int); SELECT (1", false, "mysql"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_source_options opt = {.table = cases[i].table,
                                        .query = cases[i].query,
                                        .columns = cases[i].columns,
                                        .where = cases[i].where};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        enum lh_status st = lh_source_create(&s, LH_SOURCE_MYSQL, g_user_dsn, &opt, &err);
        if (cases[i].at_create) {
            if (st == LH_OK)
                fail_msg("case %zu: create accepted it", i);
        } else {
            if (st)
                fail_msg("case %zu: create: %s", i, err.msg);
            st = lh_source_start(s, &err);
            if (st == LH_OK)
                fail_msg("case %zu: start accepted it", i);
        }
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].want);
        assert_null(strchr(err.msg, '\n'));
        lh_source_close(s);
    }
    MYSQL *c = root_conn();
    assert_int_equal(mysql_query(c, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                    "TABLE_NAME = 'pwned'"),
                     0);
    MYSQL_RES *r = mysql_store_result(c);
    MYSQL_ROW row = mysql_fetch_row(r);
    assert_string_equal(row[0], "0");
    mysql_free_result(r);
    mysql_close(c);
}

static int teardown(void **state)
{
    (void)state;
    free(g_user_dsn);
    free(g_limited_dsn);
    free(g_socket_dsn);
    free(g_password);
    free(g_port);
    free(g_socket);
    mysql_library_end();
    return 0;
}

/* "12:00:00.500000" -> "12:00:00.5"; "x.000000" -> "x". */
static void trim_fraction(char *s)
{
    char *dot = strrchr(s, '.');
    if (!dot || strchr(dot, ' ') || strchr(dot, '-'))
        return;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0')
        s[--n] = '\0';
    if (n > 0 && s[n - 1] == '.')
        s[--n] = '\0';
}

static void test_type_matrix(void **state)
{
    (void)state;
    struct lh_source_options opt = {.table = "matrix", .batch_size = 4, .order_by = "id"};
    struct lh_source *s = NULL;
    struct lh_error err = {0};
    if (lh_source_open(&s, LH_SOURCE_MYSQL, g_user_dsn, &opt, &err))
        fail_msg("open: %s", err.msg);
    const struct lh_schema *sch = lh_source_schema(s);
    assert_int_equal(sch->nfields, NCASES + 1);
    assert_false(sch->fields[0].nullable);
    for (size_t i = 0; i < NCASES; i++) {
        const struct lh_field *f = &sch->fields[i + 1];
        assert_string_equal(f->name, CASES[i].col);
        if (f->type != CASES[i].want)
            fail_msg("column %s: type %s, want %s", f->name, lh_type_name(f->type),
                     lh_type_name(CASES[i].want));
        if (!strcmp(f->name, "c_ts"))
            assert_true(f->ts_utc);
        if (!strcmp(f->name, "c_dt"))
            assert_false(f->ts_utc);
        if (!strcmp(f->name, "c_dec38")) {
            assert_int_equal(f->precision, 38);
            assert_int_equal(f->scale, 10);
        }
    }

    struct rbuf q = {0};
    rb_str(&q, "SELECT CAST(id AS CHAR)");
    for (size_t i = 0; i < NCASES; i++) {
        rb_str(&q, ", ");
        rb_subst(&q, CASES[i].expr ? CASES[i].expr : "CAST(%1$s AS CHAR)", CASES[i].col);
    }
    rb_str(&q, " FROM matrix ORDER BY id");
    MYSQL *c = root_conn();
    if (mysql_query(c, q.p))
        fail_msg("%s", mysql_error(c));
    MYSQL_RES *res = mysql_store_result(c);
    assert_non_null(res);
    assert_int_equal(mysql_num_rows(res), NROWS);

    int64_t row = 0;
    const struct lh_batch *b;
    struct rbuf v = {0};
    for (;;) {
        if (lh_source_next_batch(s, &b, &err))
            fail_msg("next_batch: %s", err.msg);
        if (!b)
            break;
        for (int64_t r = 0; r < b->num_rows; r++, row++) {
            MYSQL_ROW srow = mysql_fetch_row(res);
            unsigned long *lens = mysql_fetch_lengths(res);
            assert_non_null(srow);
            for (size_t i = 0; i <= NCASES; i++) {
                const struct lh_field *f = &sch->fields[i];
                v.len = 0;
                bool present = render_value(&v, f, &b->cols[i], r);
                if (present != (srow[i] != NULL))
                    fail_msg("row %lld column %s: ours %s, server %s", (long long)row + 1, f->name,
                             present ? v.p : "NULL", srow[i] ? srow[i] : "NULL");
                if (!present)
                    continue;
                char *want = strndup(srow[i], lens[i]);
                bool ok;
                if (f->type == LH_T_FLOAT)
                    ok = strtof(want, NULL) == strtof(v.p, NULL);
                else if (f->type == LH_T_DOUBLE)
                    ok = strtod(want, NULL) == strtod(v.p, NULL);
                else {
                    if (f->type == LH_T_TIMESTAMP || f->type == LH_T_TIME)
                        trim_fraction(want);
                    ok = strlen(want) == v.len && !memcmp(want, v.p, v.len);
                }
                if (!ok)
                    fail_msg("row %lld column %s: ours \"%.80s\" (%zu bytes), server \"%.80s\"",
                             (long long)row + 1, f->name, v.p, v.len, want);
                free(want);
            }
        }
    }
    assert_int_equal(row, NROWS);
    struct lh_source_stats stats;
    lh_source_stats(s, &stats);
    int want_warn = 0;
    for (size_t i = 0; i < NCASES; i++)
        want_warn += CASES[i].warnings;
    if (stats.warnings != want_warn) {
        for (int i = 0; i < stats.nwarning_texts; i++)
            fprintf(stderr, "warning: %s\n", stats.warning_texts[i]);
        fail_msg("warnings %lld, want %d", (long long)stats.warnings, want_warn);
    }
    assert_int_equal(stats.batches, 2);
    assert_true(stats.bytes_received > 20000);
    free(v.p);
    free(q.p);
    mysql_free_result(res);
    mysql_close(c);
    lh_source_close(s);
}

static void drain_ids(struct lh_source *s, struct rbuf *out)
{
    const struct lh_batch *b;
    struct lh_error err = {0};
    for (;;) {
        if (lh_source_next_batch(s, &b, &err))
            fail_msg("next_batch: %s", err.msg);
        if (!b)
            break;
        for (int64_t r = 0; r < b->num_rows; r++) {
            char t[32];
            snprintf(t, sizeof t, "%s%d", out->len ? "," : "",
                     ((const int32_t *)b->cols[0].values)[r]);
            rb_str(out, t);
        }
    }
}

struct read_case {
    bool socket;
    const char *table;
    const char *order_by;
    int64_t limit;
    const char *cursor_after;
    const char *cursor_col; /* default "id" */
    const char *want_ids;
    const char *want_high;
};

static void test_read_options(void **state)
{
    (void)state;
    const struct read_case cases[] = {
        {false, "matrix", "id DESC", 3, NULL, NULL, "6,5,4", NULL},
        {true, "lhtest.matrix", "c_int asc , id desc", 0, NULL, NULL, "6,5,4,1,3,2", NULL},
        {false, "small", "id", 0, "997", NULL, "998,999,1000", "1000"},
        {false, "small", NULL, 2, "10", NULL, "11,12", "12"},
        {false, "small", NULL, 0, "1000", NULL, "", NULL},
        {false, "`odd``name`", "we`ird DESC", 0, NULL, NULL, "8,7", NULL},
        {false, "matrix", NULL, 0, "2000-01-01", "c_dt", "1,3", "9999-12-31 23:59:59.999999"},
        {false, "matrix", NULL, 0, "2000-01-01 00:00:00", "c_ts", "1,3", "2038-01-19 03:14:07.999"},
        {false, "matrix", NULL, 0, "-9223372036854775807", "c_big", "2", "9223372036854775807"},
        {false, "matrix", NULL, 0, "1", "c_dec", "1", "12345678.90"},
        /* a TIME cursor is compared as TIME (100 h), not as the INT64 it is read as */
        {false, "matrix", NULL, 0, "100:00:00", "c_time", "1", "838:59:59.000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct read_case *c = &cases[i];
        struct lh_source_options opt = {.table = c->table,
                                        .order_by = c->order_by,
                                        .limit = c->limit,
                                        .batch_size = 7,
                                        .cursor_column = c->cursor_col     ? c->cursor_col
                                                         : c->cursor_after ? "id"
                                                                           : NULL,
                                        .cursor_after = c->cursor_after};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        if (lh_source_open(&s, LH_SOURCE_MYSQL, c->socket ? g_socket_dsn : g_user_dsn, &opt, &err))
            fail_msg("case %zu: %s", i, err.msg);
        struct rbuf ids = {0};
        rb_str(&ids, "");
        drain_ids(s, &ids);
        if (strcmp(ids.p, c->want_ids) != 0)
            fail_msg("case %zu: ids %s, want %s", i, ids.p, c->want_ids);
        const char *high = lh_source_cursor_high(s);
        if (c->want_high)
            assert_string_equal(high, c->want_high);
        else
            assert_null(high);
        free(ids.p);
        lh_source_close(s);
    }
}

struct err_case {
    const char *name;
    const char *dsn;
    const char *table;
    const char *order_by;
    enum lh_status want;
    const char *want_text;
    const char *secret;
};

static void test_open_errors(void **state)
{
    (void)state;
    char wrong_pw[256], refused[256], no_db[256];
    snprintf(wrong_pw, sizeof wrong_pw, "mysql://lh_test:wrong-PW-777@127.0.0.1:%s/lhtest", g_port);
    snprintf(refused, sizeof refused, "mariadb://lh_test:pw-refused-1@127.0.0.1:1/lhtest");
    snprintf(no_db, sizeof no_db, "mysql://lh_test:%s@127.0.0.1:%s/lhtest", g_password, g_port);
    const struct err_case cases[] = {
        {"refused", refused, "matrix", NULL, LH_E_CONNECT, "127.0.0.1:1/lhtest user=lh_test",
         "pw-refused-1"},
        {"wrong password", wrong_pw, "matrix", NULL, LH_E_AUTH, "authentication failed",
         "wrong-PW-777"},
        {"missing table", NULL, "no_such_table", NULL, LH_E_NOTFOUND, "no_such_table", NULL},
        {"missing database", no_db, "nope.matrix", NULL, LH_E_NOTFOUND, "nope.matrix", NULL},
        {"permission denied", g_limited_dsn, "secret", NULL, LH_E_PERM, "denied", "pw-limited-X9"},
        {"bad order_by column", NULL, "matrix", "nope", LH_E_INVAL, "nope", NULL},
        {"order_by injection", NULL, "matrix", "id; DROP TABLE matrix", LH_E_INVAL, "no column",
         NULL},
        {"bad dsn scheme", "mysqlx://a@b/c", "matrix", NULL, LH_E_INVAL, "mysql://", NULL},
        {"bad port", "mysql://a:b@127.0.0.1:99999/c", "matrix", NULL, LH_E_INVAL, "port", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct err_case *c = &cases[i];
        struct lh_source_options opt = {.table = c->table, .order_by = c->order_by};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        enum lh_status st =
            lh_source_open(&s, LH_SOURCE_MYSQL, c->dsn ? c->dsn : g_user_dsn, &opt, &err);
        if (st != c->want)
            fail_msg("%s: status %s (%s), want %s", c->name, lh_status_str(st), err.msg,
                     lh_status_str(c->want));
        assert_null(s);
        if (!strstr(err.msg, c->want_text))
            fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.msg, c->want_text);
        if (c->secret && strstr(err.msg, c->secret))
            fail_msg("%s: message \"%s\" shows the password", c->name, err.msg);
        assert_null(strstr(err.msg, g_password));
    }
}

static void kill_stream(void)
{
    MYSQL *c = root_conn();
    exec_ok(c, "SELECT 1");
    assert_int_equal(mysql_query(c, "SELECT ID FROM information_schema.PROCESSLIST"
                                    " WHERE USER = 'lh_test' AND INFO LIKE '%`slow`%'"),
                     0);
    MYSQL_RES *r = mysql_store_result(c);
    assert_int_equal(mysql_num_rows(r), 1);
    MYSQL_ROW row = mysql_fetch_row(r);
    char sql[64];
    snprintf(sql, sizeof sql, "KILL %s", row[0]);
    mysql_free_result(r);
    exec_ok(c, sql);
    mysql_close(c);
}

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    lh_source_cancel(arg);
    return NULL;
}

struct stream_case {
    const char *name;
    int64_t timeout_ms;
    int action; /* 0 nothing, 1 KILL the connection, 2 cancel, 3 cancel from a thread */
    enum lh_status want;
    const char *want_text;
};

static void test_stream_errors(void **state)
{
    (void)state;
    const struct stream_case cases[] = {
        {"statement timeout", 300, 0, LH_E_TIMEOUT, "statement timeout"},
        {"connection killed", 0, 1, LH_E_CONNECT, "lost mid-stream"},
        {"cancel", 0, 2, LH_E_CANCELLED, "cancelled"},
        {"cancel from another thread", 0, 3, LH_E_CANCELLED, "cancelled"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct stream_case *c = &cases[i];
        struct lh_source_options opt = {.table = "slow",
                                        .batch_size = c->action == 3 ? 1000000 : 20,
                                        .statement_timeout_ms = c->timeout_ms};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        if (lh_source_open(&s, LH_SOURCE_MYSQL, g_user_dsn, &opt, &err))
            fail_msg("%s: open: %s", c->name, err.msg);
        const struct lh_batch *b;
        pthread_t th;
        if (c->action == 3) {
            assert_int_equal(pthread_create(&th, NULL, cancel_later, s), 0);
        } else if (c->action) {
            if (lh_source_next_batch(s, &b, &err))
                fail_msg("%s: first batch: %s", c->name, err.msg);
            if (c->action == 1)
                kill_stream();
            else
                lh_source_cancel(s);
        }
        enum lh_status st;
        int64_t guard = 0;
        do {
            st = lh_source_next_batch(s, &b, &err);
        } while (st == LH_OK && b && ++guard < 1000000);
        if (c->action == 3)
            pthread_join(th, NULL);
        if (st != c->want)
            fail_msg("%s: status %s (%s), want %s", c->name, lh_status_str(st), err.msg,
                     lh_status_str(c->want));
        if (!strstr(err.msg, c->want_text))
            fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.msg, c->want_text);
        assert_int_equal(lh_source_next_batch(s, &b, &err), LH_E_STATE);
        lh_source_close(s);
    }
}

/* Wide rows: the batch is cut by bytes before batch_size rows. */
static void test_batch_bytes(void **state)
{
    (void)state;
    struct lh_source_options opt = {
        .table = "wide", .batch_size = 1000, .batch_bytes = 250000, .order_by = "id"};
    struct lh_source *s = NULL;
    struct lh_error err = {0};
    if (lh_source_open(&s, LH_SOURCE_MYSQL, g_user_dsn, &opt, &err))
        fail_msg("open: %s", err.msg);
    const struct lh_batch *b;
    int batches = 0;
    int64_t rows = 0;
    for (;;) {
        if (lh_source_next_batch(s, &b, &err))
            fail_msg("next_batch: %s", err.msg);
        if (!b)
            break;
        batches++;
        /* 100 000-byte values: the third row of a batch passes 250 000 */
        assert_int_equal(b->num_rows, 3);
        for (int64_t r = 0; r < b->num_rows; r++, rows++) {
            assert_int_equal(((const int32_t *)b->cols[0].values)[r], rows + 1);
            assert_int_equal(b->cols[1].offsets[r + 1] - b->cols[1].offsets[r], 100000);
        }
    }
    assert_int_equal(rows, 30);
    assert_int_equal(batches, 10);
    lh_source_close(s);
}

/* Closing in the middle of an endless stream returns (the remaining rows
 * are not drained: a drain would outlast the ctest timeout). */
static void test_close_mid_stream(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        struct lh_source_options opt = {.table = "slow", .batch_size = 10};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        if (lh_source_open(&s, LH_SOURCE_MYSQL, g_user_dsn, &opt, &err))
            fail_msg("open: %s", err.msg);
        const struct lh_batch *b;
        if (i == 1) {
            assert_int_equal(lh_source_next_batch(s, &b, &err), LH_OK);
            assert_non_null(b);
            assert_int_equal(b->num_rows, 10);
        }
        lh_source_close(s);
    }
}

/* ------------------------------------------------------------ cancel in start */

enum when { BEFORE_START, DURING_START };

struct start_case {
    const char *name;
    enum when when;
    bool silent; /* the DSN points at a listener that never answers */
    int connect_timeout_s;
    const char *table;
    const char *cursor;
};

/* A cancel before start, during a connect to a server that never answers
 * (the connect is blocking: it ends at connect_timeout_s and the cancel is
 * seen then), and while the server runs SLEEP(20) inside start (the cursor
 * watermark over a sleeping view; KILL CONNECTION ends it). */
static void test_start_cancel(void **state)
{
    (void)state;
    unsigned port;
    int lfd = tc_silent_listener(&port);
    char silent[256];
    snprintf(silent, sizeof silent, "mysql://lh_test:%s@127.0.0.1:%u/lhtest", g_password, port);
    const struct start_case cases[] = {
        {"before start", BEFORE_START, false, 0, "small", NULL},
        {"during the connect", DURING_START, true, 2, "small", NULL},
        {"during a 20 s query", DURING_START, false, 30, "slow_open", "z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct start_case *c = &cases[i];
        struct lh_source_options opt = {.table = c->table,
                                        .cursor_column = c->cursor,
                                        .connect_timeout_s = c->connect_timeout_s};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        if (lh_source_create(&s, LH_SOURCE_MYSQL, c->silent ? silent : g_user_dsn, &opt, &err))
            fail_msg("%s: create: %s", c->name, err.msg);
        struct tc_later later;
        if (c->when == BEFORE_START)
            lh_source_cancel(s);
        else
            tc_cancel_later(&later, s, 300);
        double t0 = tc_now_s();
        enum lh_status st = lh_source_start(s, &err);
        double took = tc_now_s() - t0;
        if (c->when == DURING_START)
            pthread_join(later.th, NULL);
        print_message("  %s: %s after %.2f s: %s\n", c->name, lh_status_str(st), took, err.msg);
        if (st != LH_E_CANCELLED)
            fail_msg("%s: status %s (%s), want cancelled", c->name, lh_status_str(st), err.msg);
        assert_non_null(strstr(err.msg, "cancelled"));
        assert_null(strstr(err.msg, g_password));
        /* a behaviour bound: the 20 s query was not waited out */
        assert_true(took < 10.0);
        const struct lh_batch *b;
        assert_int_equal(lh_source_next_batch(s, &b, &err), LH_E_STATE);
        lh_source_cancel(s);
        lh_source_close(s);
    }
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_matrix),           cmocka_unit_test(test_read_options),
        cmocka_unit_test(test_open_errors),           cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_batch_bytes),           cmocka_unit_test(test_close_mid_stream),
        cmocka_unit_test(test_start_cancel),          cmocka_unit_test(test_what_is_copied),
        cmocka_unit_test(test_what_is_copied_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
