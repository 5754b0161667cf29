/*
 * test_pg.c — the PostgreSQL source against a real PostgreSQL 15 started by
 * tests/servers/pg.sh (ctest fixture). A type-matrix table holds edge
 * values for every mapped type; each value streamed by the source is
 * compared with the text the server itself prints for the same row, and
 * the warning count with what the matrix declares. Then the failure modes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

#include "render.h"
#include "source/source.h"

#define NROWS 6

struct pg_case {
    const char *col;
    const char *type;
    const char *vals[NROWS]; /* SQL literals; NULL means SQL NULL */
    enum lh_type want;
    bool list;
    int warnings;     /* warnings the source must count for this column */
    const char *expr; /* server text for comparison; %1$s is the column; default %1$s::text */
};

#define ARR_EXPR                                                                                   \
    "CASE WHEN %1$s IS NULL OR array_ndims(%1$s) > 1 THEN NULL ELSE coalesce((SELECT "             \
    "string_agg(coalesce(e::text, 'NULL'), '|' ORDER BY i) FROM unnest(%1$s) WITH ORDINALITY "     \
    "u(e, i)), '') END"

static const struct pg_case CASES[] = {
    {"c_bool", "bool", {"true", "false", NULL}, LH_T_BOOL, false, 0, NULL},
    {"c_int2", "int2", {"-32768", "32767", "0"}, LH_T_INT16, false, 0, NULL},
    {"c_int4", "int4", {"-2147483648", "2147483647", "0", "42"}, LH_T_INT32, false, 0, NULL},
    {"c_int8",
     "int8",
     {"-9223372036854775808", "9223372036854775807", "0"},
     LH_T_INT64,
     false,
     0,
     NULL},
    {"c_oid", "oid", {"4294967295", "0"}, LH_T_UINT32, false, 0, NULL},
    {"c_f4",
     "float4",
     {"'NaN'", "'Infinity'", "'-Infinity'", "3.4028235e38", "1.4e-45", "-0.1"},
     LH_T_FLOAT,
     false,
     0,
     NULL},
    {"c_f8",
     "float8",
     {"1e308", "5e-324", "'NaN'", "0.1", "-2.5", "'-Infinity'"},
     LH_T_DOUBLE,
     false,
     0,
     NULL},
    {"c_num_10_2",
     "numeric(10,2)",
     {"12345678.90", "-0.01", "0", "-99999999.99", NULL, "1.5"},
     LH_T_DECIMAL,
     false,
     0,
     NULL},
    {"c_num_38_10",
     "numeric(38,10)",
     {"9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
      "-0.0000000001", "0", "12345.6789"},
     LH_T_DECIMAL,
     false,
     0,
     NULL},
    {"c_num_18_18",
     "numeric(18,18)",
     {"0.123456789012345678", "-0.000000000000000001"},
     LH_T_DECIMAL,
     false,
     0,
     NULL},
    {"c_num_neg_scale", "numeric(5,-2)", {"12300", "-9999900", "0"}, LH_T_DECIMAL, false, 0, NULL},
    {"c_num_nan",
     "numeric(12,3)",
     {"'NaN'", "1.5", "-0.001"},
     LH_T_DECIMAL,
     false,
     1,
     "CASE WHEN %1$s = 'NaN' THEN NULL ELSE %1$s::text END"},
    {"c_num_free",
     "numeric",
     {"123456789012345678901234567890.123456789", "-0.000000000000000000001", "'NaN'", "'Infinity'",
      "'-Infinity'", "1e100"},
     LH_T_STRING,
     false,
     3,
     "CASE WHEN %1$s IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE %1$s::text END"},
    {"c_num_wide",
     "numeric(50,5)",
     {"123456789012345678901234567890123456789012345.12345", "-1.00001", "0"},
     LH_T_STRING,
     false,
     0,
     NULL},
    {"c_money",
     "money",
     {"12.34", "-92233720368547758.08", "92233720368547758.07", "0"},
     LH_T_DECIMAL,
     false,
     0,
     "%1$s::numeric::text"},
    {"c_text",
     "text",
     {"''", "'héllo wörld'", "'😀 four-byte 𝄞'", "E'line\\nbreak\\ttab'", NULL, "'x'"},
     LH_T_STRING,
     false,
     0,
     NULL},
    {"c_varchar", "varchar(10)", {"'abc'", "''", "'ünïcode'"}, LH_T_STRING, false, 0, NULL},
    {"c_bpchar",
     "char(5)",
     {"'ab'", "'abcde'"},
     LH_T_STRING,
     false,
     0,
     "CASE WHEN %1$s IS NULL THEN NULL ELSE concat(%1$s) END"},
    {"c_name", "name", {"'pg_catalog'", "'x'"}, LH_T_STRING, false, 0, NULL},
    {"c_email", "email_d", {"'a@b.example'", "'Ö@x.example'"}, LH_T_STRING, false, 0, NULL},
    {"c_price", "price_d", {"12345.678", "-0.001"}, LH_T_DECIMAL, false, 0, NULL},
    {"c_bytea", "bytea", {"'\\x00ff10'", "''", "'\\x0a0d'"}, LH_T_BINARY, false, 0, NULL},
    {"c_date",
     "date",
     {"'2024-02-29'", "'0044-03-15 BC'", "'infinity'", "'-infinity'", "'1970-01-01'",
      "'5874897-12-31'"},
     LH_T_DATE,
     false,
     2,
     "CASE WHEN isfinite(%1$s) THEN %1$s::text END"},
    {"c_time",
     "time",
     {"'00:00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:00:00.5'"},
     LH_T_TIME,
     false,
     0,
     NULL},
    {"c_timetz",
     "timetz",
     {"'12:34:56.789+05:30'", "'00:00:00-12'", "'23:59:59+14'", "'01:02:03.000001-03:25:45'"},
     LH_T_STRING,
     false,
     0,
     NULL},
    {"c_ts",
     "timestamp",
     {"'2024-01-02 03:04:05.123456'", "'1900-01-01'", "'infinity'", "'0001-01-01 00:00:00 BC'",
      "'294276-12-31 23:59:59'", "'1969-12-31 23:59:59.999999'"},
     LH_T_TIMESTAMP,
     false,
     2,
     "CASE WHEN isfinite(%1$s) AND %1$s < '200000-01-01' THEN %1$s::text END"},
    {"c_tstz",
     "timestamptz",
     {"'2024-01-02 03:04:05.5+02'", "'-infinity'", "'2000-01-01 00:00:00+00'",
      "'1960-06-01 12:00-07:30'"},
     LH_T_TIMESTAMP,
     false,
     1,
     "CASE WHEN isfinite(%1$s) THEN (%1$s AT TIME ZONE 'UTC')::text END"},
    {"c_interval",
     "interval",
     {"'1 year 2 months 3 days 04:05:06.5'", "'-1 day +02:00'", "'0'", "'-00:00:00.5'",
      "'1000000 hours'", "'-3 years -1 month 1 second'"},
     LH_T_STRING,
     false,
     0,
     NULL},
    {"c_uuid",
     "uuid",
     {"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"},
     LH_T_UUID,
     false,
     0,
     NULL},
    {"c_json",
     "json",
     {"'{\"a\": [1, 2.50],  \"b\": null}'", "'[]'", "'\"😀\"'"},
     LH_T_JSON,
     false,
     0,
     NULL},
    {"c_jsonb",
     "jsonb",
     {"'{\"b\":1,\"a\":\"😀\"}'", "'null'", "'[1, {\"x\": 2.50}]'"},
     LH_T_JSON,
     false,
     0,
     NULL},
    {"c_xml", "xml", {"'<a>x &amp; y</a>'"}, LH_T_STRING, false, 0, NULL},
    {"c_inet", "inet", {"'192.168.0.1/24'", "'::1'", "'10.1.2.3'"}, LH_T_STRING, false, 0, NULL},
    {"c_cidr", "cidr", {"'10.0.0.0/8'", "'2001:db8::/32'"}, LH_T_STRING, false, 0, NULL},
    {"c_mac", "macaddr", {"'08:00:2b:01:02:03'"}, LH_T_STRING, false, 0, NULL},
    {"c_bits", "bit(4)", {"B'1010'"}, LH_T_STRING, false, 0, NULL},
    {"c_mood", "mood", {"'sad'", "'happy'", "'😀'"}, LH_T_ENUM, false, 0, NULL},
    {"c_int4_arr",
     "int4[]",
     {"'{1,NULL,3}'", "'{}'", NULL, "'{{1,2},{3,4}}'", "'{-2147483648}'"},
     LH_T_INT32,
     true,
     1,
     ARR_EXPR},
    {"c_text_arr",
     "text[]",
     {"'{\"a,b\",\"\",NULL,\"😀\"}'", "'{}'", "'{x}'"},
     LH_T_STRING,
     true,
     0,
     ARR_EXPR},
    {"c_num_arr",
     "numeric(6,2)[]",
     {"'{1.50,-2.25,NULL}'", "'{}'"},
     LH_T_DECIMAL,
     true,
     0,
     ARR_EXPR},
    {"c_ts_arr",
     "timestamptz[]",
     {"'{\"2024-01-01 00:00:00+00\",NULL}'"},
     LH_T_TIMESTAMP,
     true,
     0,
     "CASE WHEN %1$s IS NULL THEN NULL ELSE coalesce((SELECT string_agg(coalesce((e AT TIME ZONE "
     "'UTC')::text, 'NULL'), '|' ORDER BY i) FROM unnest(%1$s) WITH ORDINALITY u(e, i)), '') END"},
    {"c_uuid_arr",
     "uuid[]",
     {"'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'"},
     LH_T_UUID,
     true,
     0,
     ARR_EXPR},
    {"c_mood_arr", "mood[]", {"'{sad,happy}'"}, LH_T_ENUM, true, 0, ARR_EXPR},
    {"c_inet_arr", "inet[]", {"'{10.0.0.1,::1}'"}, LH_T_STRING, true, 0, ARR_EXPR},
    {"c_point", "point", {"'(1,2)'", "'(-1.5,0)'"}, LH_T_STRING, false, 1, NULL},
    {"c_range", "int4range", {"'[1,10)'", "'empty'"}, LH_T_STRING, false, 1, NULL},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static char *g_user_dsn, *g_super_dsn, *g_limited_dsn, *g_password, *g_port;

static PGconn *super_conn(void)
{
    PGconn *c = PQconnectdb(g_super_dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(
        c,
        "SET client_min_messages = warning; SET timezone = 'UTC'; SET intervalstyle = 'iso_8601'; "
        "SET datestyle = 'ISO'; SET extra_float_digits = 3");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static int setup(void **state)
{
    (void)state;
    const char *env = LH_TEST_PG_ENV;
    g_user_dsn = env_file_get(env, "PG_USER_DSN");
    g_super_dsn = env_file_get(env, "PG_SUPER_DSN");
    g_limited_dsn = env_file_get(env, "PG_LIMITED_DSN");
    g_password = env_file_get(env, "PG_PASSWORD");
    g_port = env_file_get(env, "PG_PORT");
    if (!g_user_dsn || !g_super_dsn || !g_limited_dsn || !g_password || !g_port) {
        fprintf(stderr, "no server env at %s (run through ctest: fixture source_server_pg_start)\n",
                env);
        return -1;
    }
    PGconn *c = super_conn();
    exec_ok(c, "DROP TABLE IF EXISTS matrix, secret, small; DROP VIEW IF EXISTS slow, slow_open;"
               "DROP TYPE IF EXISTS mood; DROP DOMAIN IF EXISTS email_d, price_d, price_base;"
               "CREATE TYPE mood AS ENUM ('sad', 'happy', '😀');"
               "CREATE DOMAIN email_d AS text CHECK (VALUE LIKE '%@%');"
               "CREATE DOMAIN price_base AS numeric(8,3);"
               "CREATE DOMAIN price_d AS price_base;");
    struct rbuf sql = {0};
    rb_str(&sql, "CREATE TABLE matrix (id int PRIMARY KEY");
    for (size_t i = 0; i < NCASES; i++) {
        rb_str(&sql, ", ");
        rb_str(&sql, CASES[i].col);
        rb_str(&sql, " ");
        rb_str(&sql, CASES[i].type);
    }
    rb_str(&sql, ")");
    exec_ok(c, sql.p);
    for (int r = 0; r < NROWS; r++) {
        sql.len = 0;
        char t[32];
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
    exec_ok(c, "CREATE TABLE secret (id int); INSERT INTO secret VALUES (1);"
               "DROP TABLE IF EXISTS wide;"
               "CREATE TABLE wide AS SELECT g::int AS id, repeat('x', 100000) AS v"
               "  FROM generate_series(1, 30) g;"
               "CREATE TABLE small AS SELECT g AS id, 'row ' || g AS label FROM generate_series(1, "
               "1000) g;"
               "CREATE SCHEMA IF NOT EXISTS \"Odd Schema\";"
               "DROP TABLE IF EXISTS \"Odd Schema\".\"Odd \"\"Table\"\"\";"
               "CREATE TABLE \"Odd Schema\".\"Odd \"\"Table\"\"\" (\"Weird \"\"col\"\"\" int);"
               "INSERT INTO \"Odd Schema\".\"Odd \"\"Table\"\"\" VALUES (7), (8);"
               "CREATE VIEW slow AS SELECT g AS id, (SELECT g FROM pg_sleep(0.002)) AS v"
               "  FROM generate_series(1, 10000000) g;"
               "CREATE VIEW slow_open AS SELECT g AS id FROM generate_series(1, 3) g"
               "  CROSS JOIN pg_sleep(20);"
               "GRANT USAGE ON SCHEMA public TO lh_limited;");
    /* what gets copied (issue 15): one table name in two schemas, a
     * mixed-case table, a view */
    exec_ok(c, "CREATE SCHEMA IF NOT EXISTS sales;"
               "DROP TABLE IF EXISTS public.orders, sales.orders, \"Mixed Case\", pwned, pwned2 "
               "CASCADE;"
               "CREATE TABLE public.orders (id int, amount numeric(10,2), note text);"
               "INSERT INTO public.orders SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 5) g;"
               "CREATE TABLE sales.orders (id int, region text);"
               "INSERT INTO sales.orders VALUES (101, 'eu'), (102, 'us');"
               "CREATE TABLE \"Mixed Case\" (\"Id\" int, \"Some Col\" text);"
               "INSERT INTO \"Mixed Case\" VALUES (1, 'a'), (2, 'b');"
               "CREATE VIEW orders_v AS SELECT id, amount FROM public.orders WHERE id > 2;");
    PQfinish(c);
    return 0;
}

static void drain_ids(struct lh_source *s, struct rbuf *out);

struct copy_case {
    const char *table, *query, *columns, *where, *cursor, *after;
    const char *want_ids;  /* first column, an int */
    const char *want_cols; /* "name:type,..." (lh_type numbers) */
    const char *want_high;
};

static void schema_text(const struct lh_schema *sc, struct rbuf *out)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        char t[300];
        snprintf(t, sizeof t, "%s%s:%d", i ? "," : "", sc->fields[i].name, (int)sc->fields[i].type);
        rb_str(out, t);
    }
}

/* --table (schemas, quoting, case folding, views), --query (types from the
 * result metadata, incremental around it), --columns and --where. */
static void test_what_is_copied(void **state)
{
    (void)state;
    char i32[8], dec[8], str[8];
    snprintf(i32, sizeof i32, "%d", (int)LH_T_INT32);
    snprintf(dec, sizeof dec, "%d", (int)LH_T_DECIMAL);
    snprintf(str, sizeof str, "%d", (int)LH_T_STRING);
    char cols_orders[64], cols_sales[64], cols_mixed[64], cols_q[64], cols_v[64], cols_sel[64];
    snprintf(cols_orders, sizeof cols_orders, "id:%s,amount:%s,note:%s", i32, dec, str);
    snprintf(cols_sales, sizeof cols_sales, "id:%s,region:%s", i32, str);
    snprintf(cols_mixed, sizeof cols_mixed, "Id:%s,Some Col:%s", i32, str);
    snprintf(cols_q, sizeof cols_q, "x:%s,amt:%s,n:%s", i32, dec, str);
    snprintf(cols_v, sizeof cols_v, "id:%s,amount:%s", i32, dec);
    snprintf(cols_sel, sizeof cols_sel, "id:%s,note:%s", i32, str);
    const struct copy_case cases[] = {
        {"orders", NULL, NULL, NULL, NULL, NULL, "1,2,3,4,5", cols_orders, NULL},
        {"sales.orders", NULL, NULL, NULL, NULL, NULL, "101,102", cols_sales, NULL},
        {"SALES.Orders", NULL, NULL, NULL, NULL, NULL, "101,102", cols_sales, NULL},
        {"\"Mixed Case\"", NULL, NULL, NULL, NULL, NULL, "1,2", cols_mixed, NULL},
        {"public.\"Mixed Case\"", NULL, NULL, NULL, NULL, NULL, "1,2", cols_mixed, NULL},
        {"orders_v", NULL, NULL, NULL, NULL, NULL, "3,4,5", cols_v, NULL},
        {NULL, "SELECT id * 10 AS x, amount::numeric(12,2) AS amt, note AS n FROM orders;\n", NULL,
         NULL, NULL, NULL, "10,20,30,40,50", cols_q, NULL},
        {NULL, "SELECT id * 10 AS x, amount::numeric(12,2) AS amt, note AS n FROM orders -- c",
         NULL, NULL, "x", "20", "30,40,50", cols_q, "50"},
        {"orders", NULL, " id , NOTE", NULL, NULL, NULL, "1,2,3,4,5", cols_sel, NULL},
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
        if (lh_source_open(&s, LH_SOURCE_POSTGRES, g_user_dsn, &opt, &err))
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
        const char *high = lh_source_cursor_high(s);
        if (c->want_high)
            assert_string_equal(high, c->want_high);
        free(got.p);
        lh_source_close(s);
    }
}

/* Bad combinations fail at create; unknown names, duplicate result names
 * and a ';' smuggled into the operator's SQL fail at start, and nothing
 * outside the read-only transaction runs. */
static void test_what_is_copied_errors(void **state)
{
    (void)state;
    const struct {
        const char *table, *query, *columns, *where;
        bool at_create;
        const char *want;
    } cases[] = {
        {"orders", "SELECT 1", NULL, NULL, true, "exactly one"},
        {NULL, NULL, NULL, NULL, true, "exactly one"},
        {NULL, "SELECT 1 AS id", "id", NULL, true, "columns only goes with a table"},
        {NULL, "SELECT 1 AS id", NULL, "true", true, "where only goes with a table"},
        {NULL, " ; ", NULL, NULL, true, "query is empty"},
        {"orders", NULL, "id,nope", NULL, false, "has no column \"nope\""},
        {"orders", NULL, "id,ID", NULL, false, "listed twice"},
        {"\"Mixed Case", NULL, NULL, NULL, false, "bad table name"},
        {"Mixed Case", NULL, NULL, NULL, false, "not found"},
        {NULL, "SELECT 1 AS id, 2 AS id", NULL, NULL, false, "two columns named \"id\""},
        {"orders", NULL, NULL, "true) TO STDOUT (FORMAT binary); CREATE TABLE pwned (x int); --",
         false, "postgres"},
        {NULL, "SELECT 1 AS id) q; COMMIT; CREATE TABLE pwned2 (x int); SELECT * FROM (SELECT 1",
         NULL, NULL, false, "postgres"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_source_options opt = {.table = cases[i].table,
                                        .query = cases[i].query,
                                        .columns = cases[i].columns,
                                        .where = cases[i].where};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        enum lh_status st = lh_source_create(&s, LH_SOURCE_POSTGRES, g_user_dsn, &opt, &err);
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
    PGconn *c = super_conn();
    PGresult *r =
        PQexec(c, "SELECT to_regclass('pwned') IS NULL AND to_regclass('pwned2') IS NULL");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    PQfinish(c);
}

static void test_table_parse(void **state)
{
    (void)state;
    const struct {
        enum lh_source_kind k;
        const char *in, *schema, *name;
    } ok[] = {
        {LH_SOURCE_POSTGRES, "Orders", "", "orders"},
        {LH_SOURCE_POSTGRES, "Sales.Orders", "sales", "orders"},
        {LH_SOURCE_POSTGRES, "\"Mixed Case\"", "", "Mixed Case"},
        {LH_SOURCE_POSTGRES, "\"a.b\".\"q\"\"x\"", "a.b", "q\"x"},
        {LH_SOURCE_MYSQL, "Shop.Orders", "Shop", "Orders"},
        {LH_SOURCE_MYSQL, "`odd``name`", "", "odd`name"},
        {LH_SOURCE_MYSQL, "\"Mixed Case\"", "", "Mixed Case"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char sc[64], nm[64];
        struct lh_error err = {0};
        if (lh_source_table_parse(ok[i].k, ok[i].in, sc, sizeof sc, nm, sizeof nm, &err))
            fail_msg("%s: %s", ok[i].in, err.msg);
        assert_string_equal(sc, ok[i].schema);
        assert_string_equal(nm, ok[i].name);
    }
    const char *bad[] = {"", "a.b.c", ".a", "a.", "\"open", "a\"b", "\"\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char sc[64], nm[64];
        struct lh_error err = {0};
        assert_int_equal(
            lh_source_table_parse(LH_SOURCE_POSTGRES, bad[i], sc, sizeof sc, nm, sizeof nm, &err),
            LH_E_INVAL);
    }
}

static int teardown(void **state)
{
    (void)state;
    free(g_user_dsn);
    free(g_super_dsn);
    free(g_limited_dsn);
    free(g_password);
    free(g_port);
    return 0;
}

static bool same_number(const char *a, const char *b, bool single)
{
    if (single) {
        float fx = strtof(a, NULL), fy = strtof(b, NULL);
        return (isnan(fx) && isnan(fy)) || fx == fy;
    }
    double x = strtod(a, NULL), y = strtod(b, NULL);
    if (isnan(x) || isnan(y))
        return isnan(x) && isnan(y);
    return x == y;
}

/* Streams the matrix and compares every value with the server's text. */
static void test_type_matrix(void **state)
{
    (void)state;
    struct lh_source_options opt = {.table = "public.matrix", .batch_size = 4, .order_by = "id"};
    struct lh_source *s = NULL;
    struct lh_error err = {0};
    enum lh_status st = lh_source_open(&s, LH_SOURCE_POSTGRES, g_user_dsn, &opt, &err);
    if (st)
        fail_msg("open: %s", err.msg);
    const struct lh_schema *sch = lh_source_schema(s);
    assert_int_equal(sch->nfields, NCASES + 1);
    assert_string_equal(sch->fields[0].name, "id");
    assert_false(sch->fields[0].nullable);
    for (size_t i = 0; i < NCASES; i++) {
        const struct lh_field *f = &sch->fields[i + 1];
        assert_string_equal(f->name, CASES[i].col);
        if (f->type != CASES[i].want || f->is_list != CASES[i].list)
            fail_msg("column %s: type %s list=%d, want %s list=%d", f->name, lh_type_name(f->type),
                     f->is_list, lh_type_name(CASES[i].want), CASES[i].list);
        assert_true(f->nullable);
    }
    /* the precise decimal shapes */
    assert_int_equal(sch->fields[8].precision, 10);
    assert_int_equal(sch->fields[8].scale, 2);
    assert_int_equal(sch->fields[11].precision, 7); /* numeric(5,-2) */
    assert_int_equal(sch->fields[11].scale, 0);
    assert_int_equal(sch->fields[15].precision, 19); /* money */
    assert_int_equal(sch->fields[15].scale, 2);
    assert_int_equal(sch->fields[21].precision, 8); /* domain over a domain over numeric(8,3) */
    assert_int_equal(sch->fields[21].scale, 3);
    for (size_t i = 0; i < NCASES; i++)
        if (!strcmp(CASES[i].col, "c_tstz") || !strcmp(CASES[i].col, "c_ts_arr"))
            assert_true(sch->fields[i + 1].ts_utc);
        else if (!strcmp(CASES[i].col, "c_ts"))
            assert_false(sch->fields[i + 1].ts_utc);

    /* the server's own text for every value */
    struct rbuf q = {0};
    rb_str(&q, "SELECT id");
    for (size_t i = 0; i < NCASES; i++) {
        rb_str(&q, ", ");
        rb_subst(&q, CASES[i].expr ? CASES[i].expr : "%1$s::text", CASES[i].col);
    }
    rb_str(&q, " FROM matrix ORDER BY id");
    PGconn *c = super_conn();
    PGresult *res = PQexec(c, q.p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s", PQerrorMessage(c));
    assert_int_equal(PQntuples(res), NROWS);

    int64_t row = 0;
    int batches = 0;
    const struct lh_batch *b;
    struct rbuf v = {0};
    for (;;) {
        st = lh_source_next_batch(s, &b, &err);
        if (st)
            fail_msg("next_batch: %s", err.msg);
        if (!b)
            break;
        batches++;
        assert_true(b->num_rows <= 4);
        for (int64_t r = 0; r < b->num_rows; r++, row++) {
            assert_true(row < NROWS);
            for (size_t i = 0; i <= NCASES; i++) {
                const struct lh_field *f = &sch->fields[i];
                v.len = 0;
                bool present = render_value(&v, f, &b->cols[i], r);
                bool snull = PQgetisnull(res, (int)row, (int)i);
                const char *want = PQgetvalue(res, (int)row, (int)i);
                if (present != !snull)
                    fail_msg("row %lld column %s: ours %s, server %s", (long long)row + 1, f->name,
                             present ? v.p : "NULL", snull ? "NULL" : want);
                if (!present)
                    continue;
                bool ok = (f->type == LH_T_FLOAT || f->type == LH_T_DOUBLE) && !f->is_list
                              ? same_number(v.p, want, f->type == LH_T_FLOAT)
                              : !strcmp(v.p, want);
                if (!ok)
                    fail_msg("row %lld column %s: ours \"%s\", server \"%s\"", (long long)row + 1,
                             f->name, v.p, want);
            }
        }
    }
    assert_int_equal(row, NROWS);
    assert_int_equal(batches, 2);
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
    assert_int_equal(stats.rows, NROWS);
    assert_true(stats.bytes_received > 0);
    assert_int_equal(stats.nwarning_texts, LH_SOURCE_MAX_WARNING_TEXTS);
    /* end is sticky */
    assert_int_equal(lh_source_next_batch(s, &b, &err), LH_OK);
    assert_null(b);
    free(v.p);
    free(q.p);
    PQclear(res);
    PQfinish(c);
    lh_source_close(s);
}

/* Drains a source; returns the ids of column 0 (int) joined by ','. */
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
    const char *dsn_key; /* "user", "super" or a URL built from the port */
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
    char url2[256];
    snprintf(url2, sizeof url2, "postgres://lh_test:%s@127.0.0.1:%s/lhtest?sslmode=disable",
             g_password, g_port);
    const struct read_case cases[] = {
        {"user", "matrix", "id DESC", 3, NULL, NULL, "6,5,4", NULL},
        {"super", "public.matrix", "c_int4 asc , id desc", 0, NULL, NULL, "1,3,4,2,6,5", NULL},
        {"url2", "small", "id", 0, "997", NULL, "998,999,1000", "1000"},
        {"user", "small", NULL, 2, "10", NULL, "11,12", "12"},
        {"user", "small", NULL, 0, "1000", NULL, "", NULL},
        {"user", "\"Odd Schema\".\"Odd \"\"Table\"\"\"", "Weird \"col\" DESC", 0, NULL, NULL, "8,7",
         NULL},
        {"user", "matrix", NULL, 0, "2000-01-01 00:00:00+00", "c_tstz", "1",
         "2024-01-02 01:04:05.5+00"},
        {"user", "matrix", NULL, 0, "1", "c_num_10_2", "6,1", "12345678.90"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct read_case *c = &cases[i];
        const char *dsn = !strcmp(c->dsn_key, "user")    ? g_user_dsn
                          : !strcmp(c->dsn_key, "super") ? g_super_dsn
                                                         : url2;
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
        if (lh_source_open(&s, LH_SOURCE_POSTGRES, dsn, &opt, &err))
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
    const char *dsn; /* NULL: g_user_dsn */
    const char *table;
    const char *order_by;
    enum lh_status want;
    const char *want_text; /* substring of the message */
    const char *secret;    /* must not appear in the message */
};

static void test_open_errors(void **state)
{
    (void)state;
    char wrong_pw[256], refused[256], no_db[256];
    snprintf(wrong_pw, sizeof wrong_pw, "postgresql://lh_test:wrong-PW-777@127.0.0.1:%s/lhtest",
             g_port);
    snprintf(refused, sizeof refused, "postgresql://lh_test:pw-refused-1@127.0.0.1:1/lhtest");
    snprintf(no_db, sizeof no_db, "host=127.0.0.1 port=%s user=lh_test password='%s' dbname=nope",
             g_port, g_password);
    const struct err_case cases[] = {
        {"refused", refused, "matrix", NULL, LH_E_CONNECT, "127.0.0.1:1/lhtest user=lh_test",
         "pw-refused-1"},
        {"wrong password", wrong_pw, "matrix", NULL, LH_E_AUTH, "authentication failed",
         "wrong-PW-777"},
        {"missing db", no_db, "matrix", NULL, LH_E_CONNECT, "nope", NULL},
        {"missing table", NULL, "no_such_table", NULL, LH_E_NOTFOUND, "no_such_table", NULL},
        {"missing schema", NULL, "nope.matrix", NULL, LH_E_NOTFOUND, "not found", NULL},
        {"permission denied", g_limited_dsn, "secret", NULL, LH_E_PERM, "permission denied",
         "pw-limited-X9"},
        {"bad order_by column", NULL, "matrix", "nope", LH_E_INVAL, "nope", NULL},
        {"order_by injection", NULL, "matrix", "id; DROP TABLE matrix", LH_E_INVAL, "no column",
         NULL},
        {"order_by empty term", NULL, "matrix", "id,,c_int4", LH_E_INVAL, "empty", NULL},
        {"bad table name", NULL, "a.b.c", NULL, LH_E_INVAL, "table", NULL},
        {"bad dsn", "postgresql://[oops", "matrix", NULL, LH_E_INVAL, "DSN", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct err_case *c = &cases[i];
        struct lh_source_options opt = {.table = c->table, .order_by = c->order_by};
        struct lh_source *s = (struct lh_source *)&opt;
        struct lh_error err = {0};
        enum lh_status st =
            lh_source_open(&s, LH_SOURCE_POSTGRES, c->dsn ? c->dsn : g_user_dsn, &opt, &err);
        if (st != c->want)
            fail_msg("%s: status %s (%s), want %s", c->name, lh_status_str(st), err.msg,
                     lh_status_str(c->want));
        assert_null(s);
        if (!strstr(err.msg, c->want_text))
            fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.msg, c->want_text);
        if (c->secret && strstr(err.msg, c->secret))
            fail_msg("%s: message \"%s\" shows the password", c->name, err.msg);
        assert_null(strstr(err.msg, g_password));
        assert_null(strchr(err.msg, '\n'));
    }
}

/* ------------------------------------------------------------ mid-stream */

static PGconn *g_killer;

static void kill_stream(void)
{
    PGresult *r = PQexec(g_killer, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                   " WHERE application_name = 'lh_victim_1'");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    PQclear(r);
}

struct stream_case {
    const char *name;
    int64_t timeout_ms;
    int action; /* 0: nothing, 1: terminate backend, 2: cancel (same thread), 3: cancel from a
                   thread */
    enum lh_status want;
    const char *want_text;
};

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    lh_source_cancel(arg);
    return NULL;
}

static void test_stream_errors(void **state)
{
    (void)state;
    g_killer = super_conn();
    const struct stream_case cases[] = {
        {"statement timeout", 300, 0, LH_E_TIMEOUT, "statement timeout"},
        {"backend terminated", 0, 1, LH_E_CONNECT, "lost mid-stream"},
        {"cancel", 0, 2, LH_E_CANCELLED, "cancelled"},
        {"cancel from another thread", 0, 3, LH_E_CANCELLED, "cancelled"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct stream_case *c = &cases[i];
        /* the view sleeps 2 ms per row: the stream outlives every action */
        struct lh_source_options opt = {.table = "slow",
                                        .batch_size = c->action == 3 ? 1000000 : 20,
                                        .statement_timeout_ms = c->timeout_ms};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        char dsn[512];
        snprintf(dsn, sizeof dsn, "%s?application_name=lh_victim_%d", g_user_dsn, c->action);
        if (lh_source_open(&s, LH_SOURCE_POSTGRES, dsn, &opt, &err))
            fail_msg("%s: open: %s", c->name, err.msg);
        const struct lh_batch *b;
        pthread_t th;
        if (c->action == 3) {
            assert_int_equal(pthread_create(&th, NULL, cancel_later, s), 0);
        } else {
            if (c->action && lh_source_next_batch(s, &b, &err))
                fail_msg("%s: first batch: %s", c->name, err.msg);
            if (c->action == 1)
                kill_stream();
            if (c->action == 2)
                lh_source_cancel(s);
        }
        enum lh_status st = LH_OK;
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
        assert_null(strstr(err.msg, g_password));
        /* a failed source stays failed */
        assert_int_equal(lh_source_next_batch(s, &b, &err), LH_E_STATE);
        lh_source_close(s);
    }
    PQfinish(g_killer);
}

/* Wide rows: the batch is cut by bytes before batch_size rows. */
static void test_batch_bytes(void **state)
{
    (void)state;
    struct lh_source_options opt = {
        .table = "wide", .batch_size = 1000, .batch_bytes = 250000, .order_by = "id"};
    struct lh_source *s = NULL;
    struct lh_error err = {0};
    if (lh_source_open(&s, LH_SOURCE_POSTGRES, g_user_dsn, &opt, &err))
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
        if (lh_source_open(&s, LH_SOURCE_POSTGRES, g_user_dsn, &opt, &err))
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
    const char *table;
    const char *cursor;
};

static int active_slow_open(void)
{
    PGconn *c = super_conn();
    PGresult *r = PQexec(c, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                            " AND query LIKE '%slow_open%' AND pid <> pg_backend_pid()");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

/* A cancel before start, while libpq waits for a server that never
 * answers, and while the server runs a 20 s query inside start (the cursor
 * watermark over a view that sleeps): start fails with LH_E_CANCELLED long
 * before the wait would have ended, and the server is no longer running
 * the query (PQcancel reached it). */
static void test_start_cancel(void **state)
{
    (void)state;
    unsigned port;
    int lfd = tc_silent_listener(&port);
    char silent[256];
    snprintf(silent, sizeof silent, "postgresql://lh_test:%s@127.0.0.1:%u/lhtest?sslmode=disable",
             g_password, port);
    const struct start_case cases[] = {
        {"before start", BEFORE_START, false, "small", NULL},
        {"during the connect", DURING_START, true, "small", NULL},
        {"during a 20 s query", DURING_START, false, "slow_open", "id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct start_case *c = &cases[i];
        struct lh_source_options opt = {
            .table = c->table, .cursor_column = c->cursor, .connect_timeout_s = 30};
        struct lh_source *s = NULL;
        struct lh_error err = {0};
        if (lh_source_create(&s, LH_SOURCE_POSTGRES, c->silent ? silent : g_user_dsn, &opt, &err))
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
        /* a behaviour bound: the 20 s query / 30 s connect timeout was not waited out */
        assert_true(took < 10.0);
        if (!strcmp(c->table, "slow_open"))
            assert_int_equal(active_slow_open(), 0);
        const struct lh_batch *b;
        assert_int_equal(lh_source_next_batch(s, &b, &err), LH_E_STATE);
        lh_source_cancel(s); /* again: harmless */
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
        cmocka_unit_test(test_what_is_copied_errors), cmocka_unit_test(test_table_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
