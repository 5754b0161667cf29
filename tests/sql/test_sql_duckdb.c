/*
 * test_sql_duckdb.c — differential test: the same statements asked of
 * lakehouse SQL and of DuckDB on its own (the npm package, through node)
 * with views of the same names over the same Parquet files, compared row by
 * row as canonical text. Joins, window functions, exact decimal sums,
 * min/max and CTEs, uint64, JSON unnesting, time travel, DESCRIBE and
 * SUMMARIZE. The file list of each view comes from the catalog, so time
 * travel is checked against the files the catalog names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixtures.h"
#include "sql/sql.h"

#include <inttypes.h>
#include <jansson.h>

static char dir[256];

static const char *const Q[] = {
    "SELECT count(*), sum(amount), min(amount), max(amount), avg(qty) FROM orders",
    "SELECT status, count(*), sum(amount), max(amount), min(day) FROM orders GROUP BY status "
    "ORDER BY status",
    "WITH c AS MATERIALIZED (SELECT amount, u64 FROM orders JOIN types USING (id)) "
    "SELECT max(amount), sum(amount), max(u64), min(u64), count(*) FROM c",
    "SELECT sum(d9), sum(d38), max(d38), min(d9) FROM types",
    "SELECT c.name, c.tier, count(*), sum(o.amount), sum(o.qty) FROM orders o "
    "JOIN customers c ON c.id = o.cust JOIN \"orders@1\" p ON p.id = o.id "
    "JOIN types t ON t.id = o.id JOIN sorted s ON s.id = o.id * 100 "
    "WHERE t.b IS NOT NULL GROUP BY ALL ORDER BY c.name",
    "SELECT id, cust, amount, row_number() OVER w, rank() OVER (PARTITION BY cust ORDER BY "
    "amount DESC), sum(amount) OVER (PARTITION BY cust ORDER BY id), lag(id) OVER w "
    "FROM orders WINDOW w AS (PARTITION BY status ORDER BY id) ORDER BY id",
    "SELECT * FROM (SELECT status, id, amount, row_number() OVER (PARTITION BY status ORDER BY "
    "amount DESC, id) AS rn FROM orders) WHERE rn <= 3 ORDER BY status, rn",
    "SELECT grp, count(*), sum(v), min(s), max(s) FROM sorted WHERE id BETWEEN 100 AND 15000 "
    "GROUP BY grp HAVING count(*) > 1000 ORDER BY grp",
    "SELECT count(*) FROM orders o ANTI JOIN \"orders@1\" p USING (id)",
    "SELECT count(*), sum(amount), max(id) FROM \"orders@1\"",
    "SELECT count(*), sum(amount) FROM \"orders@2\"",
    "SELECT id, i64, u32, u64, f32, f64, s, d9, d38, dt, ts, tsz, tm, uid, en, js, li FROM types "
    "WHERE id % 37 = 1 ORDER BY id",
    "SELECT t.id, j.key, j.value FROM types t, json_each(t.js) j WHERE t.id < 5 ORDER BY t.id",
    "SELECT id, unnest(li) AS x FROM types WHERE id < 12 ORDER BY id, x NULLS FIRST",
    "SELECT id, js->>'$.a' AS a, json_extract(js, '$.a')::INTEGER * 2 FROM types "
    "WHERE id BETWEEN 20 AND 23 ORDER BY id",
    "SELECT count(*), sum(i32), sum(i8), count(DISTINCT u16), bool_or(b) FROM types "
    "WHERE b OR f64 < 0",
    "SELECT o.id, c.tier FROM orders o, customers c WHERE o.cust = c.id AND o.id BETWEEN 95 "
    "AND 105 ORDER BY o.id",
    "DESCRIBE orders",
    "DESCRIBE \"orders@1\"",
    "SELECT column_name, column_type, min, max, count, null_percentage FROM (SUMMARIZE orders)",
    "SELECT cust, list(id::INTEGER ORDER BY id)[1:3], string_agg(status, ',' ORDER BY id) FROM "
    "orders "
    "WHERE cust < 4 GROUP BY cust ORDER BY cust",
    /* rounded: with 2 threads the order of a parallel float aggregate varies */
    "SELECT quantile_cont(v, 0.9), round(stddev_samp(v), 6), round(corr(v, id), 9) FROM sorted",
};

static void views(FILE *f)
{
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(dir, NULL, NULL, &set, &err), LH_OK);
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_summary *list;
    size_t n;
    assert_int_equal(lh_catalog_list(cat, &list, &n, &err), LH_OK);
    for (size_t i = 0; i < n; i++) {
        struct lh_catalog_record r;
        assert_int_equal(lh_catalog_dataset_get(cat, list[i].name, &r, &err), LH_OK);
        for (size_t k = 0; k < r.nversions; k++) {
            const struct lh_catalog_version_info *v = &r.versions[k];
            for (int cur = 0; cur < 2; cur++) {
                if (cur && v->version != r.current_version)
                    continue;
                if (cur)
                    fprintf(f, "VIEW\t%s", r.name);
                else
                    fprintf(f, "VIEW\t%s@%" PRIu64, r.name, v->version);
                for (size_t j = 0; j < v->nobjects; j++)
                    fprintf(f, "\t%s/primary/%s", dir, v->objects[j].key);
                fputc('\n', f);
            }
        }
        lh_catalog_record_reset(&r);
    }
    free(list);
    lh_catalog_close(cat);
    lh_store_set_close(set);
}

static void norm_double(double d, char *t, size_t cap)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(t, cap, "%.*g", p, d);
        if (strtod(t, NULL) == d)
            return;
    }
}

static enum lh_status cols_cb(void *ctx, const struct lh_sql_column *c, size_t n,
                              struct lh_error *err)
{
    (void)ctx, (void)c, (void)n, (void)err;
    return LH_OK;
}

/* Our rows as DuckDB's canonical strings, '|' between cells. */
static enum lh_status row_cb(void *ctx, const struct lh_sql_value *v, size_t n,
                             struct lh_error *err)
{
    (void)err;
    struct lh_buf *b = ctx;
    char t[64];
    for (size_t i = 0; i < n; i++) {
        if (i)
            lh_buf_append_u8(b, '|');
        switch (v[i].kind) {
        case LH_SQL_NULL:
            lh_buf_append_str(b, "NULL");
            break;
        case LH_SQL_BOOL:
            lh_buf_append_str(b, v[i].i ? "true" : "false");
            break;
        case LH_SQL_INT:
            lh_buf_printf(b, "%" PRId64, v[i].i);
            break;
        case LH_SQL_REAL:
            norm_double(v[i].d, t, sizeof t);
            lh_buf_append_str(b, t);
            break;
        default:
            lh_buf_append(b, v[i].p, v[i].n);
            break;
        }
    }
    lh_buf_append_u8(b, '\n');
    return LH_OK;
}

/* DuckDB's rows: already canonical strings (duckdb_diff.mjs). */
static void duck_rows(json_t *rows, struct lh_buf *b)
{
    size_t i, k;
    json_t *row, *v;
    json_array_foreach(rows, i, row)
    {
        json_array_foreach(row, k, v)
        {
            if (k)
                lh_buf_append_u8(b, '|');
            lh_buf_append_str(b, json_string_value(v));
        }
        lh_buf_append_u8(b, '\n');
    }
}

static void test_differential(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-sqldiff-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(fx_build(dir), 0);
    enum { NQ = sizeof Q / sizeof Q[0], THREADS = 2 };
    char qf[300];
    snprintf(qf, sizeof qf, "%s/queries.txt", dir);
    FILE *f = fopen(qf, "w");
    assert_non_null(f);
    views(f);
    for (size_t i = 0; i < NQ; i++)
        fprintf(f, "%s\n", Q[i]);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && NODE_PATH='%s/node_modules' node '%s/duckdb_diff.mjs' '%s' %d",
             LH_TEST_NODE_DIR, LH_TEST_NODE_DIR, LH_TEST_SQL_DIR, qf, THREADS);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct lh_sql_engine *e;
    struct lh_error err;
    struct lh_sql_options o = {.threads = THREADS};
    assert_int_equal(lh_sql_engine_open(dir, NULL, &o, &e, &err), LH_OK);
    static char line[1 << 20];
    for (size_t i = 0; i < NQ; i++) {
        if (!fgets(line, sizeof line, p))
            fail_msg("duckdb gave no answer for query %zu", i);
        json_error_t je;
        json_t *rows = json_loads(line, 0, &je);
        if (!json_is_array(rows))
            fail_msg("duckdb: %s: %s", Q[i], line);
        struct lh_buf want, got;
        lh_buf_init(&want, 0);
        lh_buf_init(&got, 0);
        duck_rows(rows, &want);
        json_decref(rows);
        struct lh_sql_sink sink = {.ctx = &got, .columns = cols_cb, .row = row_cb};
        struct lh_sql_result_info info;
        if (lh_sql_run(e, Q[i], 0, &sink, &info, &err) != LH_OK)
            fail_msg("%s: %s", Q[i], err.msg);
        lh_buf_cstr(&want);
        lh_buf_cstr(&got);
        if (want.len == 0)
            fail_msg("%s: DuckDB returned no rows (the test would be vacuous)", Q[i]);
        if (strcmp((char *)want.data, (char *)got.data) != 0) {
            fprintf(stderr, "%s\nlakehouse:\n%s\nduckdb:\n%s", Q[i], (char *)got.data,
                    (char *)want.data);
            fail_msg("query %zu differs (printed above)", i);
        }
        lh_buf_reset(&want);
        lh_buf_reset(&got);
    }
    pclose(p);
    lh_sql_engine_destroy(e);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_differential)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
