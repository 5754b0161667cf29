/*
 * test_parallel_my.c — parallel snapshot-consistent reads of MySQL/MariaDB
 * (issue 18 item 3) against the real MariaDB of the ingest fixtures.
 *
 *   equal      --parallel 1, 2 and 4 publish the same rows value for value
 *              (count, sums, an order-free hash of every row, every key
 *              once) as the server holds; 2 and 4 write one part per
 *              connection and say so in the run log.
 *   snapshot   a writer moves amounts between a row of the first and one of
 *              the last quarter (one transaction each, total invariant) and
 *              inserts pairs of rows (+x, -x) as fast as it can while
 *              --parallel 4 reads run: every published version has each key
 *              once and the invariant total, so no transaction is ever seen
 *              half-applied.
 *   nolock     a user without the LOCK TABLES privilege reads on one
 *              connection, and the run log names the privilege.
 *   fallbacks  a table without an integer key, an incremental read, a
 *              MyISAM table, an open write transaction that outlives the
 *              lock wait: one connection, and the run log says why.
 *   cancel     a cancel mid-read stops every connection promptly: nothing
 *              published, no part left behind, no query of ours left on
 *              the server; so does a cancel while LOCK TABLES waits for a
 *              writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <inttypes.h>
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "parquet/parquet.h"

#include "job_run.h"

#define NROWS 200000
#define START_BAL 1000

static char DATA_DIR[512];
static char MY_DSN[512], NOLOCK_DSN[512], SOCK[512], DB[64];
static MYSQL *MY;

static MYSQL *root_connect(void)
{
    MYSQL *c = mysql_init(NULL);
    assert_non_null(c);
    if (!mysql_real_connect(c, NULL, "root", NULL, DB, 0, SOCK, 0))
        fail_msg("connect: %s", mysql_error(c));
    return c;
}

static void my_exec(MYSQL *c, const char *sql)
{
    if (mysql_query(c, sql))
        fail_msg("%s: %s", sql, mysql_error(c));
    MYSQL_RES *r = mysql_store_result(c);
    if (r)
        mysql_free_result(r);
}

static int64_t my_int(const char *sql)
{
    if (mysql_query(MY, sql))
        fail_msg("%s: %s", sql, mysql_error(MY));
    MYSQL_RES *r = mysql_store_result(MY);
    assert_non_null(r);
    MYSQL_ROW row = mysql_fetch_row(r);
    assert_non_null(row);
    int64_t v = row[0] ? strtoll(row[0], NULL, 10) : 0;
    mysql_free_result(r);
    return v;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(DATA_DIR, sizeof DATA_DIR, "%s/parallel-my-data", LH_TEST_WORK_DIR);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DATA_DIR);
    assert_int_equal(system(cmd), 0);
    env_get(LH_TEST_MY_ENV, "MY_USER_DSN", MY_DSN, sizeof MY_DSN);
    env_get(LH_TEST_MY_ENV, "MY_SOCKET", SOCK, sizeof SOCK);
    env_get(LH_TEST_MY_ENV, "MY_DB", DB, sizeof DB);
    char host[64], port[16];
    env_get(LH_TEST_MY_ENV, "MY_HOST", host, sizeof host);
    env_get(LH_TEST_MY_ENV, "MY_PORT", port, sizeof port);
    snprintf(NOLOCK_DSN, sizeof NOLOCK_DSN, "mysql://lh_nolock:pw-nolock-7Q@%s:%s/%s", host, port,
             DB);
    MY = root_connect();
    my_exec(MY, "DROP TABLE IF EXISTS t_mpar, t_mpar_nokey, t_mpar_myisam, t_mpar_slow");
    my_exec(MY, "CREATE TABLE t_mpar (id bigint PRIMARY KEY, bal bigint NOT NULL, "
                "note varchar(40), ts datetime(6)) ENGINE=InnoDB");
    char sql[400];
    snprintf(sql, sizeof sql,
             "INSERT INTO t_mpar SELECT seq, %d, IF(seq %% 7 = 0, NULL, md5(seq)), "
             "TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_%d",
             START_BAL, NROWS);
    my_exec(MY, sql);
    my_exec(MY, "CREATE TABLE t_mpar_nokey (name varchar(20) PRIMARY KEY, v int) ENGINE=InnoDB");
    my_exec(MY, "INSERT INTO t_mpar_nokey SELECT concat('n', seq), seq FROM seq_1_to_1000");
    my_exec(MY, "CREATE TABLE t_mpar_myisam (id int PRIMARY KEY, v int) ENGINE=MyISAM");
    my_exec(MY, "INSERT INTO t_mpar_myisam SELECT seq, seq FROM seq_1_to_1000");
    my_exec(MY, "DROP USER IF EXISTS 'lh_nolock'@'%'");
    my_exec(MY, "CREATE USER 'lh_nolock'@'%' IDENTIFIED BY 'pw-nolock-7Q'");
    snprintf(sql, sizeof sql, "GRANT SELECT ON `%s`.* TO 'lh_nolock'@'%%'", DB);
    my_exec(MY, sql);
    my_exec(MY, "ANALYZE TABLE t_mpar");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    mysql_close(MY);
    return 0;
}

/* ------------------------------------------------------------ running */

static void run_job(const struct lh_ingest_options *base, struct outcome *o, int cancel_after_ms)
{
    struct lh_ingest_options opt = *base;
    opt.kind = LH_SOURCE_MYSQL;
    if (!opt.dsn)
        opt.dsn = MY_DSN;
    job_run(DATA_DIR, &opt, o, cancel_after_ms, 0);
}

/* ------------------------------------------------------------ reading back */

struct digest {
    int64_t rows, sum_id, sum_bal, nulls, min_id, max_id;
    uint64_t hash; /* sum of a hash of each row: the same for any row order */
    size_t nobjects;
    bool dup; /* some key read twice */
};

/* The current version of dataset: 4 columns (id, bal, note, ts); seen
 * (NULL: not checked) marks ids 1..cap and flags a key read twice. */
static void digest_current(const char *dataset, struct digest *d, uint8_t *seen, int64_t cap)
{
    memset(d, 0, sizeof *d);
    d->min_id = INT64_MAX;
    d->max_id = INT64_MIN;
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(DATA_DIR, NULL, NULL, &set, &err), LH_OK);
    struct lh_catalog *cat;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    assert_int_equal(lh_catalog_dataset_get(cat, dataset, &rec, &err), LH_OK);
    const struct lh_catalog_version_info *v = lh_catalog_record_current(&rec);
    assert_non_null(v);
    d->nobjects = v->nobjects;
    if (seen)
        memset(seen, 0, (size_t)cap + 1);
    for (size_t i = 0; i < v->nobjects; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/primary/%s", DATA_DIR, v->objects[i].key);
        struct lh_parquet_reader *r;
        assert_int_equal(lh_parquet_reader_open_file(path, &r, &err), LH_OK);
        const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
        for (int32_t g = 0; g < fi->num_row_groups; g++) {
            struct lh_arena a;
            lh_arena_init(&a, 0);
            struct lh_array c[4];
            for (int k = 0; k < 4; k++)
                assert_int_equal(lh_parquet_reader_read_column(r, g, k, &a, &c[k], &err), LH_OK);
            for (int64_t k = 0; k < c[0].length; k++) {
                int64_t id = ((const int64_t *)c[0].values)[k];
                int64_t bal = ((const int64_t *)c[1].values)[k];
                int64_t ts = ((const int64_t *)c[3].values)[k];
                uint64_t h = mix(14695981039346656037ull, &id, 8);
                h = mix(h, &bal, 8);
                h = mix(h, &ts, 8);
                if (lh_bit_get(c[2].validity, k))
                    h = mix(h, c[2].data + c[2].offsets[k],
                            (size_t)(c[2].offsets[k + 1] - c[2].offsets[k]));
                else
                    d->nulls++;
                d->hash += h;
                d->sum_id += id;
                d->sum_bal += bal;
                if (id < d->min_id)
                    d->min_id = id;
                if (id > d->max_id)
                    d->max_id = id;
                if (seen && id >= 1 && id <= cap) {
                    if (seen[id])
                        d->dup = true;
                    seen[id] = 1;
                }
            }
            d->rows += c[0].length;
            lh_arena_reset(&a);
        }
        lh_parquet_reader_close(r);
    }
    assert_int_equal((uint64_t)d->rows, v->row_count);
    lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    lh_store_set_close(set);
}

/* ------------------------------------------------------------ equal */

static void test_equal(void **state)
{
    (void)state;
    int64_t sum_id = my_int("SELECT sum(id) FROM t_mpar");
    int64_t sum_bal = my_int("SELECT sum(bal) FROM t_mpar");
    int64_t nulls = my_int("SELECT count(*) FROM t_mpar WHERE note IS NULL");
    uint8_t *seen = malloc(NROWS + 1);
    assert_non_null(seen);
    struct digest d[3];
    const int par[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        char ds[32];
        snprintf(ds, sizeof ds, "mpar_eq_%d", par[i]);
        struct lh_ingest_options o = {.table = "t_mpar", .dataset = ds, .parallel = par[i]};
        struct outcome out;
        run_job(&o, &out, -1);
        if (out.status != LH_OK)
            fail_msg("--parallel %d: %s\n%s", par[i], out.err.msg, out.log.text);
        assert_int_equal(out.res.rows, NROWS);
        digest_current(ds, &d[i], seen, NROWS);
        assert_int_equal(d[i].rows, NROWS);
        assert_false(d[i].dup);
        assert_int_equal(d[i].min_id, 1);
        assert_int_equal(d[i].max_id, NROWS);
        assert_int_equal(d[i].sum_id, sum_id);
        assert_int_equal(d[i].sum_bal, sum_bal);
        assert_int_equal(d[i].nulls, nulls);
        if (par[i] > 1) {
            char want[96];
            snprintf(want, sizeof want, "parallel read: %d connections in one consistent snapshot",
                     par[i]);
            if (!strstr(out.log.text, want))
                fail_msg("no '%s' in the run log:\n%s", want, out.log.text);
            /* each connection writes its own part */
            assert_int_equal(d[i].nobjects, (size_t)par[i]);
        } else {
            assert_null(strstr(out.log.text, "parallel read"));
            assert_int_equal(d[i].nobjects, 1);
        }
        print_message("--parallel %d: %" PRId64 " rows in %zu part(s), %.2f s\n", par[i], d[i].rows,
                      d[i].nobjects, out.res.duration_s);
    }
    free(seen);
    assert_true(d[0].hash == d[1].hash);
    assert_true(d[0].hash == d[2].hash);
}

/* ------------------------------------------------------------ snapshot */

struct mover {
    atomic_bool stop;
    atomic_long commits;
    char err[300];
};

/* Transactions that keep the total of bal: a transfer between a row of
 * the first quarter and one of the last (different parts of a --parallel
 * 4 read), or now and then a pair of new rows (+x in the first range, -x
 * past the last key) — as fast as the server takes them. */
static void *mover_main(void *arg)
{
    struct mover *m = arg;
    MYSQL *c = mysql_init(NULL);
    if (!mysql_real_connect(c, NULL, "root", NULL, DB, 0, SOCK, 0)) {
        snprintf(m->err, sizeof m->err, "connect: %s", mysql_error(c));
        mysql_close(c);
        return NULL;
    }
    unsigned seed = 4242;
    long next_neg = -1, next_pos = NROWS + 1;
    while (!atomic_load(&m->stop)) {
        long amt = 1 + rand_r(&seed) % 50;
        char a[200], b[200];
        if (rand_r(&seed) % 8 == 0) {
            /* a pair: one row below the first key, one past the last */
            snprintf(a, sizeof a, "INSERT INTO t_mpar (id, bal) VALUES (%ld, %ld)", next_neg--,
                     amt);
            snprintf(b, sizeof b, "INSERT INTO t_mpar (id, bal) VALUES (%ld, %ld)", next_pos++,
                     -amt);
        } else {
            long x = 1 + (long)(rand_r(&seed) % (NROWS / 4));
            long y = NROWS - (long)(rand_r(&seed) % (NROWS / 4));
            snprintf(a, sizeof a, "UPDATE t_mpar SET bal = bal - %ld WHERE id = %ld", amt, x);
            snprintf(b, sizeof b, "UPDATE t_mpar SET bal = bal + %ld WHERE id = %ld", amt, y);
        }
        const char *steps[] = {"START TRANSACTION", a, b, "COMMIT"};
        for (int i = 0; i < 4; i++) {
            if (mysql_query(c, steps[i])) {
                snprintf(m->err, sizeof m->err, "%s: %s", steps[i], mysql_error(c));
                mysql_close(c);
                return NULL;
            }
        }
        atomic_fetch_add(&m->commits, 1);
    }
    mysql_close(c);
    mysql_thread_end();
    return NULL;
}

static void test_snapshot(void **state)
{
    (void)state;
    int64_t total = my_int("SELECT sum(bal) FROM t_mpar");
    assert_int_equal(total, (int64_t)NROWS * START_BAL);
    struct mover m = {.stop = false};
    atomic_init(&m.commits, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, mover_main, &m), 0);
    while (atomic_load(&m.commits) < 50 && !m.err[0])
        usleep(10000);
    long overlapped = 0;
    for (int run = 0; run < 4 && !m.err[0]; run++) {
        struct lh_ingest_options o = {.table = "t_mpar", .dataset = "mpar_snap", .parallel = 4};
        long before = atomic_load(&m.commits);
        struct outcome out;
        run_job(&o, &out, -1);
        long during = atomic_load(&m.commits) - before;
        overlapped += during;
        if (out.status != LH_OK)
            fail_msg("run %d: %s\n%s", run, out.err.msg, out.log.text);
        assert_non_null(strstr(out.log.text, "parallel read: 4 connections in one consistent"));
        struct digest d;
        digest_current("mpar_snap", &d, NULL, 0);
        const char *held = strstr(out.log.text, "held ");
        print_message("run %d: %" PRId64 " rows in %zu parts in %.2f s, %ld transactions "
                      "committed during the read, total %" PRId64 "; lock %.*s\n",
                      run, d.rows, d.nobjects, out.res.duration_s, during, d.sum_bal,
                      held ? (int)strcspn(held, ")") : 0, held ? held : "");
        assert_int_equal(d.nobjects, 4);
        assert_int_equal(d.sum_bal, (int64_t)NROWS * START_BAL);
        /* pairs come whole: as many new rows below 1 (ids -1, -2, ...)
         * as past NROWS */
        int64_t below = d.min_id < 1 ? -d.min_id : 0;
        assert_int_equal(below, d.max_id - NROWS);
        assert_int_equal(d.rows, NROWS + 2 * below);
    }
    atomic_store(&m.stop, true);
    pthread_join(th, NULL);
    if (m.err[0])
        fail_msg("%s", m.err);
    assert_true(overlapped > 0);
    assert_int_equal(my_int("SELECT sum(bal) FROM t_mpar"), (int64_t)NROWS * START_BAL);
    /* back to the table test_equal's sums came from */
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM t_mpar WHERE id < 1 OR id > %d", NROWS);
    my_exec(MY, sql);
    snprintf(sql, sizeof sql, "UPDATE t_mpar SET bal = %d", START_BAL);
    my_exec(MY, sql);
}

/* ------------------------------------------------------------ fallbacks */

static void expect_fallback(struct lh_ingest_options *o, const char *why, int64_t rows)
{
    struct outcome out;
    run_job(o, &out, -1);
    if (out.status != LH_OK)
        fail_msg("%s\n%s", out.err.msg, out.log.text);
    if (!strstr(out.log.text, why))
        fail_msg("no '%s' in the run log:\n%s", why, out.log.text);
    assert_null(strstr(out.log.text, "in one consistent snapshot"));
    assert_int_equal(out.res.files, 1);
    assert_int_equal(out.res.rows, rows);
}

static void test_nolock(void **state)
{
    (void)state;
    struct lh_ingest_options o = {
        .dsn = NOLOCK_DSN, .table = "t_mpar", .dataset = "mpar_nolock", .parallel = 4};
    expect_fallback(
        &o, "parallel read: falling back to one connection: the user may not LOCK TABLES", NROWS);
    struct outcome out;
    run_job(&o, &out, -1);
    assert_non_null(strstr(out.log.text, "GRANT LOCK TABLES ON"));
}

static void test_fallbacks(void **state)
{
    (void)state;
    struct lh_ingest_options o = {
        .table = "t_mpar_nokey", .dataset = "mpar_fb", .parallel = 2, .replace_source = true};
    expect_fallback(&o, "falling back to one connection: the table has no single-column integer",
                    1000);
    o.table = "t_mpar_myisam";
    expect_fallback(&o, "falling back to one connection: the table's engine (MyISAM)", 1000);
    o.table = NULL;
    o.query = "SELECT 1 AS a";
    expect_fallback(&o, "falling back to one connection: a query is read on one connection", 1);
    o.query = NULL;
    o.table = "t_mpar";
    o.limit = 10;
    expect_fallback(&o, "falling back to one connection: a read with a limit", 10);
    o.limit = 0;
    o.mode = LH_INGEST_INCREMENTAL;
    o.cursor_column = "id";
    o.dataset = "mpar_fb_inc";
    expect_fallback(&o, "falling back to one connection: an incremental read", NROWS);
    o.mode = LH_INGEST_OVERWRITE;
    o.cursor_column = NULL;
    o.dataset = "mpar_fb";
    o.parallel = LH_SOURCE_PARALLEL_AUTO;
    expect_fallback(&o, "parallel read (auto): one connection", NROWS);
    /* a write transaction left open on the table: LOCK TABLES waits its
     * lock_wait_timeout, then the read goes on with one connection */
    MYSQL *w = root_connect();
    my_exec(w, "START TRANSACTION");
    my_exec(w, "UPDATE t_mpar SET bal = bal + 1 WHERE id = 1");
    o.parallel = 2;
    expect_fallback(&o, "falling back to one connection: open write transactions held the table",
                    NROWS);
    my_exec(w, "ROLLBACK");
    mysql_close(w);
}

/* ------------------------------------------------------------ cancel */

static void test_cancel(void **state)
{
    (void)state;
    /* a slow read: each row costs the server a moment */
    struct lh_ingest_options o = {
        .table = "t_mpar", .where = "SLEEP(0.0002) = 0", .dataset = "mpar_cancel", .parallel = 4};
    struct outcome out;
    run_job(&o, &out, 1500);
    if (out.status != LH_E_CANCELLED)
        fail_msg("status %d: %s\n%s", out.status, out.err.msg, out.log.text);
    assert_non_null(strstr(out.log.text, "parallel read: 4 connections in one consistent"));
    print_message("cancel to the end of the run: %.2f s\n", out.cancel_to_end_s);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/primary/datasets/mpar_cancel", DATA_DIR);
    assert_int_equal(count_files(dir, "*.parquet*"), 0);
    /* the server runs no query of ours any more (the KILLs may take a
     * moment to land) */
    int64_t left = -1;
    for (int i = 0; i < 100 && left != 0; i++) {
        left = my_int("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'lh_test' "
                      "AND COMMAND = 'Query'");
        if (left)
            usleep(50000);
    }
    assert_int_equal(left, 0);

    /* a cancel while LOCK TABLES waits behind an open write transaction
     * ends the run too (a KILL of the locking connection), long before
     * the lock wait's own timeout */
    MYSQL *w = root_connect();
    my_exec(w, "START TRANSACTION");
    my_exec(w, "UPDATE t_mpar SET bal = bal + 1 WHERE id = 2");
    o.where = NULL;
    o.dataset = "mpar_cancel_lock";
    run_job(&o, &out, 1000);
    if (out.status != LH_E_CANCELLED)
        fail_msg("status %d: %s\n%s", out.status, out.err.msg, out.log.text);
    assert_non_null(strstr(out.log.text, "statement: LOCK TABLES"));
    assert_null(strstr(out.log.text, "falling back"));
    print_message("cancel during LOCK TABLES to the end of the run: %.2f s\n", out.cancel_to_end_s);
    my_exec(w, "ROLLBACK");
    mysql_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),  cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_nolock), cmocka_unit_test(test_fallbacks),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
