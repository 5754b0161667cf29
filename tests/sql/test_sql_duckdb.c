/*
 * test_sql_duckdb.c — differential test: the same questions asked of
 * lakehouse SQL (SQLite over our virtual tables) and of DuckDB reading the
 * same Parquet files with read_parquet, compared row by row as text.
 * Counts, sums, filters, GROUP BY, ORDER BY, LIMIT/OFFSET, joins between
 * two datasets and time travel. DuckDB's side is written to print values
 * the way lakehouse SQL does (decimals as exact text, ISO timestamps,
 * lists as JSON); doubles are compared by their shortest round-trip text.
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

struct qpair {
    const char *lh, *duck; /* {orders} {orders1} {customers} {sorted} {types} expand to read_parquet */
};

static const struct qpair Q[] = {
    {"SELECT count(*) FROM orders", "SELECT count(*) FROM {orders}"},
    {"SELECT sum(qty), sum(id), count(qty), min(qty), max(id) FROM orders",
     "SELECT sum(qty), sum(id), count(qty), min(qty), max(id) FROM {orders}"},
    {"SELECT id, status, amount FROM orders WHERE qty > 3 AND status <> 'new' ORDER BY id",
     "SELECT id, status, amount::VARCHAR FROM {orders} WHERE qty > 3 AND status <> 'new' ORDER BY "
     "id"},
    {"SELECT status, count(*), dec_sum(amount), sum(qty) FROM orders GROUP BY status ORDER BY status",
     "SELECT status, count(*), sum(amount)::VARCHAR, sum(qty) FROM {orders} GROUP BY status ORDER "
     "BY status"},
    {"SELECT id, day FROM orders ORDER BY day DESC, id LIMIT 7 OFFSET 5",
     "SELECT id, day::VARCHAR FROM {orders} ORDER BY day DESC, id LIMIT 7 OFFSET 5"},
    {"SELECT id, s FROM sorted LIMIT 5 OFFSET 12345",
     "SELECT id, s FROM {sorted} LIMIT 5 OFFSET 12345"},
    {"SELECT c.name, count(*), sum(o.qty) FROM orders o JOIN customers c ON c.id = o.cust "
     "GROUP BY c.name ORDER BY c.name",
     "SELECT c.name, count(*), sum(o.qty) FROM {orders} o JOIN {customers} c ON c.id = o.cust "
     "GROUP BY c.name ORDER BY c.name"},
    {"SELECT count(*) FROM orders o LEFT JOIN \"orders@1\" p ON p.id = o.id WHERE p.id IS NULL",
     "SELECT count(*) FROM {orders} o LEFT JOIN {orders1} p ON p.id = o.id WHERE p.id IS NULL"},
    {"SELECT count(*), sum(id), dec_sum(amount) FROM \"orders@1\"",
     "SELECT count(*), sum(id), sum(amount)::VARCHAR FROM {orders1}"},
    {"SELECT id, i64, u32, f32, f64, s, d9, d38, dt, ts, tsz, tm, uid, en, js FROM types "
     "WHERE id % 37 = 1 ORDER BY id",
     "SELECT id, i64, u32, f32, f64, s, d9::VARCHAR, d38::VARCHAR, dt::VARCHAR, strftime(ts, "
     "'%Y-%m-%dT%H:%M:%S.%f'), strftime(tsz, '%Y-%m-%dT%H:%M:%S.%fZ'), strftime(DATE '2000-01-01' + tm, '%H:%M:%S.%f'), "
     "uid::VARCHAR, "
     "en, js::VARCHAR FROM {types} WHERE id % 37 = 1 ORDER BY id"},
    {"SELECT grp, count(*) FROM sorted WHERE id BETWEEN 100 AND 5000 GROUP BY grp "
     "HAVING count(*) > 490 ORDER BY grp",
     "SELECT grp, count(*) FROM {sorted} WHERE id BETWEEN 100 AND 5000 GROUP BY grp "
     "HAVING count(*) > 490 ORDER BY grp"},
    {"SELECT sum(v), avg(v), min(v), max(v) FROM sorted WHERE id < 1001",
     "SELECT sum(v), avg(v), min(v), max(v) FROM {sorted} WHERE id < 1001"},
    {"SELECT count(*) FROM types WHERE en IN ('red', 'blue') AND s >= 'str5'",
     "SELECT count(*) FROM {types} WHERE en IN ('red', 'blue') AND s >= 'str5'"},
    {"SELECT id, li FROM types WHERE id < 8 ORDER BY id",
     "SELECT id, to_json(li)::VARCHAR FROM {types} WHERE id < 8 ORDER BY id"},
    {"SELECT count(*), sum(i32), sum(i8), count(DISTINCT u16) FROM types WHERE b = 1 OR f64 < 0",
     "SELECT count(*), sum(i32), sum(i8), count(DISTINCT u16) FROM {types} WHERE b OR f64 < 0"},
    {"SELECT id FROM sorted WHERE id > 19990 AND s < 'k019995' ORDER BY id DESC",
     "SELECT id FROM {sorted} WHERE id > 19990 AND s < 'k019995' ORDER BY id DESC"},
    {"SELECT o.id, c.tier FROM orders o, customers c WHERE o.cust = c.id AND o.id BETWEEN 95 AND "
     "105 ORDER BY o.id",
     "SELECT o.id, c.tier FROM {orders} o, {customers} c WHERE o.cust = c.id AND o.id BETWEEN 95 "
     "AND 105 ORDER BY o.id"},
};

static void expand(const char *q, struct lh_buf *b)
{
    static const struct {
        const char *tag, *files;
    } T[] = {
        {"{orders}", "['%1$s/primary/datasets/orders/v2/part-00000.parquet', "
                     "'%1$s/primary/datasets/orders/v2/part-00001.parquet']"},
        {"{orders1}", "'%1$s/primary/datasets/orders/v1/part-00000.parquet'"},
        {"{customers}", "'%1$s/primary/datasets/customers/v1/part-00000.parquet'"},
        {"{sorted}", "'%1$s/primary/datasets/sorted/v1/part-00000.parquet'"},
        {"{types}", "'%1$s/primary/datasets/types/v1/part-00000.parquet'"},
    };
    while (*q) {
        size_t k = 0;
        for (; k < sizeof T / sizeof T[0]; k++)
            if (strncmp(q, T[k].tag, strlen(T[k].tag)) == 0)
                break;
        if (k == sizeof T / sizeof T[0]) {
            lh_buf_append_u8(b, (uint8_t)*q++);
            continue;
        }
        char files[1024];
        /* one directory argument repeated: format by hand to stay -Wformat clean */
        const char *f = T[k].files;
        size_t n = 0;
        while (*f && n + 300 < sizeof files) {
            if (strncmp(f, "%1$s", 4) == 0) {
                n += (size_t)snprintf(files + n, sizeof files - n, "%s", dir);
                f += 4;
            } else {
                files[n++] = *f++;
            }
        }
        files[n] = '\0';
        lh_buf_printf(b, "read_parquet(%s)", files);
        q += strlen(T[k].tag);
    }
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
        case LH_SQL_NULL: lh_buf_append_str(b, "NULL"); break;
        case LH_SQL_INT: lh_buf_printf(b, "%" PRId64, v[i].i); break;
        case LH_SQL_REAL:
            norm_double(v[i].d, t, sizeof t);
            lh_buf_append_str(b, t);
            break;
        default: lh_buf_append(b, v[i].p, v[i].n); break;
        }
    }
    lh_buf_append_u8(b, '\n');
    return LH_OK;
}

/* DuckDB's rows: strings as they are, doubles printed like ours. */
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
            char t[64];
            if (json_is_string(v)) {
                lh_buf_append_str(b, json_string_value(v));
            } else if (json_is_integer(v)) {
                lh_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            } else {
                norm_double(json_number_value(v), t, sizeof t);
                lh_buf_append_str(b, t);
            }
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
    enum { NQ = sizeof Q / sizeof Q[0] };
    char qf[300];
    snprintf(qf, sizeof qf, "%s/queries.txt", dir);
    FILE *f = fopen(qf, "w");
    assert_non_null(f);
    for (size_t i = 0; i < NQ; i++) {
        struct lh_buf b;
        lh_buf_init(&b, 0);
        expand(Q[i].duck, &b);
        fwrite(b.data, 1, b.len, f);
        fputc('\n', f);
        lh_buf_free(&b);
    }
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && NODE_PATH='%s/node_modules' node '%s/duckdb_diff.mjs' '%s'",
             LH_TEST_NODE_DIR, LH_TEST_NODE_DIR, LH_TEST_SQL_DIR, qf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct lh_sql_engine *e;
    struct lh_error err;
    assert_int_equal(lh_sql_engine_open(dir, NULL, NULL, &e, &err), LH_OK);
    static char line[1 << 20];
    for (size_t i = 0; i < NQ; i++) {
        if (!fgets(line, sizeof line, p))
            fail_msg("duckdb gave no answer for query %zu", i);
        json_error_t je;
        json_t *rows = json_loads(line, 0, &je);
        if (!json_is_array(rows))
            fail_msg("duckdb: %s: %s", Q[i].duck, line);
        struct lh_buf want, got;
        lh_buf_init(&want, 0);
        lh_buf_init(&got, 0);
        duck_rows(rows, &want);
        json_decref(rows);
        struct lh_sql_sink sink = {.ctx = &got, .columns = cols_cb, .row = row_cb};
        struct lh_sql_result_info info;
        if (lh_sql_run(e, Q[i].lh, 0, &sink, &info, &err) != LH_OK)
            fail_msg("%s: %s", Q[i].lh, err.msg);
        lh_buf_cstr(&want);
        lh_buf_cstr(&got);
        if (want.len == 0)
            fail_msg("%s: DuckDB returned no rows (the test would be vacuous)", Q[i].lh);
        if (strcmp((char *)want.data, (char *)got.data) != 0) {
            fprintf(stderr, "%s\nlakehouse:\n%s\nduckdb:\n%s", Q[i].lh, (char *)got.data,
                    (char *)want.data);
            fail_msg("query %zu differs (printed above)", i);
        }
        lh_buf_free(&want);
        lh_buf_free(&got);
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
