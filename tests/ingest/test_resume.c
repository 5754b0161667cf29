/*
 * test_resume.c — resumable loads (issue 18 item 4) against the real
 * PostgreSQL of the ingest fixtures.
 *
 *   reread       --parallel 2: the backend of the second part is terminated
 *                (pg_terminate_backend) while it reads; the part is read
 *                again on a new connection in the same snapshot, the run
 *                succeeds with every id exactly once and the run log names
 *                the ctid range it read again.
 *   ordered      --order-by id (the primary key) cancelled at about half:
 *                the next run reads only the rest (fewer rows than the
 *                table), publishes every id exactly once, and the version
 *                equals a fresh load's; the resume record is gone after.
 *   killed       the same with the backend of the one connection terminated
 *                (pg_terminate_backend) mid-read instead of a cancel.
 *   changed      a resume record is discarded, saying why, when the next
 *                run reads with another WHERE, or the table gained a
 *                column: that run reads every row.
 *   no_resume    no_resume (--no-resume) discards the record: every row read.
 *   sweep        the sweep keeps the parts a resume record names after
 *                their run is dead (lease 1 s), and removes record and parts
 *                once the record is older than LAKEHOUSE_RESUME_MAX_AGE_SECS.
 *   cli          `lakehouse ingest --no-resume` discards the record; without
 *                it the CLI resumes, says so on stderr, and rows= counts only
 *                the rows it read.
 *   ctid         a cancelled --parallel read (ctid ranges) keeps nothing
 *                and says why; after rows were written in between, the next
 *                run reads the whole table from zero.
 *   keyed        --parallel 4 --order-by id splits by ranges of id (not
 *                ctid) and has the rows of a one-connection load; cancelled
 *                while each connection waits in the middle of its range it
 *                keeps parts of several ranges; after an update below and
 *                above a kept key and new rows, the next run reads only the
 *                rest (rows = total - kept) on one connection per range
 *                left, the row below keeps its first-snapshot note, every
 *                id exactly once.
 *   keyed_changed  such a record is discarded, with the reason, when the
 *                next run asks for another --parallel or another where.
 *   keyed_reread a part split by key whose backend is terminated after it
 *                committed parts is read again from the start of its range;
 *                the run then cancelled keeps only what the re-read
 *                committed for that range, and the next run reads the rest:
 *                every id exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
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
#include "resume_record.h"

#define NROWS 200000

static char DATA_DIR[512];
static char PG_DSN[512], PG_SUPER[512];
static PGconn *PG;

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static int64_t pg_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    int64_t v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void make_table(const char *name, int64_t nrows, bool pk)
{
    char sql[600];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", name);
    pg_exec(PG, sql);
    snprintf(sql, sizeof sql, "CREATE TABLE %s (id bigint%s, note text)", name,
             pk ? " PRIMARY KEY" : "");
    pg_exec(PG, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO %s SELECT g, md5(g::text) FROM generate_series(1, %" PRId64 ") g", name,
             nrows);
    pg_exec(PG, sql);
    snprintf(sql, sizeof sql, "GRANT SELECT ON %s TO PUBLIC", name);
    pg_exec(PG, sql);
    snprintf(sql, sizeof sql, "VACUUM ANALYZE %s", name);
    pg_exec(PG, sql);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(DATA_DIR, sizeof DATA_DIR, "%s/resume-data", LH_TEST_WORK_DIR);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DATA_DIR);
    assert_int_equal(system(cmd), 0);
    env_get(LH_TEST_PG_ENV, "PG_USER_DSN", PG_DSN, sizeof PG_DSN);
    env_get(LH_TEST_PG_ENV, "PG_SUPER_DSN", PG_SUPER, sizeof PG_SUPER);
    PG = PQconnectdb(PG_SUPER);
    assert_int_equal(PQstatus(PG), CONNECTION_OK);
    pg_exec(PG, "SET client_min_messages = warning");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(PG);
    return 0;
}

/* ------------------------------------------------------------ running */

static void run_job(const struct lh_ingest_options *base, struct outcome *o, int64_t cancel_at)
{
    struct lh_ingest_options opt = *base;
    if (!opt.dsn)
        opt.dsn = PG_DSN;
    opt.kind = LH_SOURCE_POSTGRES;
    job_run(DATA_DIR, &opt, o, -1, cancel_at);
}

/* ------------------------------------------------------------ reading back */

/* Every id of the current version of dataset, which must be 1..n each
 * exactly once; *hash: an order-free hash of (id, note) of every row. */
/* The notes of two ids (probe: 0 for none), as check_ids finds them. */
struct probe {
    int64_t id[2];
    char note[2][41];
};
static struct probe *PROBE;

static void check_ids(const char *dataset, int64_t n, uint64_t *hash, size_t *nobjects)
{
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(DATA_DIR, NULL, NULL, &set, &err), LH_OK);
    struct lh_catalog *cat;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    assert_int_equal(lh_catalog_dataset_get(cat, dataset, &rec, &err), LH_OK);
    const struct lh_catalog_version_info *v = lh_catalog_record_current(&rec);
    assert_non_null(v);
    uint8_t *seen = calloc((size_t)n + 1, 1);
    assert_non_null(seen);
    int64_t rows = 0;
    uint64_t h = 0;
    for (size_t i = 0; i < v->nobjects; i++) {
        /* size and checksum as recorded (a kept part's come from the record) */
        assert_int_equal(lh_catalog_object_verify(lh_store_set_primary(set), dataset, v->version,
                                                  &v->objects[i], true, &err),
                         LH_OK);
        char path[2048];
        snprintf(path, sizeof path, "%s/primary/%s", DATA_DIR, v->objects[i].key);
        struct lh_parquet_reader *r;
        assert_int_equal(lh_parquet_reader_open_file(path, &r, &err), LH_OK);
        const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
        for (int32_t g = 0; g < fi->num_row_groups; g++) {
            struct lh_arena a;
            lh_arena_init(&a, 0);
            struct lh_array c[2];
            for (int k = 0; k < 2; k++)
                assert_int_equal(lh_parquet_reader_read_column(r, g, (size_t)k, &a, &c[k], &err),
                                 LH_OK);
            for (int64_t k = 0; k < c[0].length; k++) {
                int64_t id = ((const int64_t *)c[0].values)[k];
                if (id < 1 || id > n)
                    fail_msg("%s: id %" PRId64 " out of 1..%" PRId64, dataset, id, n);
                if (seen[id])
                    fail_msg("%s: id %" PRId64 " twice", dataset, id);
                seen[id] = 1;
                uint64_t x = (uint64_t)id * 1099511628211ull;
                for (int64_t b = c[1].offsets[k]; b < c[1].offsets[k + 1]; b++)
                    x = (x ^ c[1].data[b]) * 1099511628211ull;
                h += x;
                for (int p = 0; PROBE && p < 2; p++)
                    if (PROBE->id[p] == id)
                        snprintf(PROBE->note[p], sizeof PROBE->note[p], "%.*s",
                                 (int)(c[1].offsets[k + 1] - c[1].offsets[k]),
                                 (const char *)c[1].data + c[1].offsets[k]);
            }
            rows += c[0].length;
            lh_arena_reset(&a);
        }
        lh_parquet_reader_close(r);
    }
    if (rows != n)
        fail_msg("%s: %" PRId64 " rows, want %" PRId64, dataset, rows, n);
    assert_int_equal((uint64_t)rows, v->row_count);
    if (hash)
        *hash = h;
    if (nobjects)
        *nobjects = v->nobjects;
    free(seen);
    lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    lh_store_set_close(set);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ reread */

struct killer {
    atomic_bool stop;
    atomic_int killed;
    const char *like; /* the COPY to terminate, a LIKE pattern */
};

/* Terminates, once, the backend reading the second ctid range (the only
 * COPY with "ctid >=" in it) while it sleeps in the row the WHERE slows. */
static void *killer_main(void *arg)
{
    struct killer *k = arg;
    PGconn *c = PQconnectdb(PG_SUPER);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    while (!atomic_load(&k->stop) && atomic_load(&k->killed) == 0) {
        char sql[400];
        snprintf(sql, sizeof sql,
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                 "application_name = 'lakehouse' AND query LIKE '%s' AND wait_event = 'PgSleep'",
                 k->like);
        int64_t n = pg_int(c, sql);
        if (n > 0)
            atomic_store(&k->killed, (int)n);
        usleep(20000);
    }
    PQfinish(c);
    return NULL;
}

static void test_reread(void **state)
{
    (void)state;
    make_table("t_rs_par", NROWS, false);
    /* the second part (the second half of the blocks) sleeps at a row near
     * its end, after it has streamed most of its rows */
    const char *where = "CASE WHEN id = 199990 THEN pg_sleep(1.5) IS NOT NULL ELSE true END";
    struct lh_ingest_options o = {
        .table = "t_rs_par", .dataset = "rs_reread", .parallel = 2, .where = where};
    struct killer k = {.like = "COPY%ctid >=%"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    double t0 = now_s();
    run_job(&o, out, 0);
    double secs = now_s() - t0;
    atomic_store(&k.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&k.killed), 1);
    if (out->status != LH_OK)
        fail_msg("the run failed: %s\n%s", out->err.msg, out->log.text);
    assert_int_equal(out->res.rows, NROWS);
    check_ids("rs_reread", NROWS, NULL, NULL);
    const char *line = strstr(out->log.text, "parallel read: part 1 (ctid >= '(");
    if (!line || !strstr(line, "reading it again on a new connection in the same snapshot"))
        fail_msg("no re-read line in the run log:\n%s", out->log.text);
    assert_non_null(strstr(out->log.text, "read again in the same snapshot: "));
    print_message("reread: part 1 terminated mid-read and read again, %.2f s in all\n", secs);
    free(out);
}

/* ------------------------------------------------------------ across runs */

static bool file_exists(const char *dataset, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/primary/datasets/%s/%s", DATA_DIR, dataset, name);
    return access(path, F_OK) == 0;
}

static void must_log(const struct outcome *o, const char *what)
{
    if (!strstr(o->log.text, what))
        fail_msg("no '%s' in the run log:\n%s", what, o->log.text);
}

/* Cancels an ordered load of table into dataset at about half. */
static void cancelled_half(const char *table, const char *dataset, struct outcome *out)
{
    struct lh_ingest_options o = {.table = table,
                                  .dataset = dataset,
                                  .order_by = "id",
                                  .batch_size = 8192,
                                  .part_bytes = 256 << 10};
    run_job(&o, out, NROWS / 2);
    if (out->status != LH_E_CANCELLED)
        fail_msg("want a cancelled run, got %s: %s\n%s", lh_status_str(out->status), out->err.msg,
                 out->log.text);
    must_log(out, "finished part(s)");
    must_log(out, "the next run of the dataset reads only the rest");
    assert_true(file_exists(dataset, "_resume.json"));
}

static void test_ordered(void **state)
{
    (void)state;
    make_table("t_rs_key", NROWS, true);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    struct lh_ingest_options fresh = {.table = "t_rs_key",
                                      .dataset = "rs_fresh",
                                      .order_by = "id",
                                      .batch_size = 8192,
                                      .part_bytes = 256 << 10};
    double t0 = now_s();
    run_job(&fresh, out, 0);
    double full_s = now_s() - t0;
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    uint64_t want;
    check_ids("rs_fresh", NROWS, &want, NULL);

    cancelled_half("t_rs_key", "rs_key", out);
    int64_t first = out->res.rows;
    struct lh_ingest_options o = fresh;
    o.dataset = "rs_key";
    t0 = now_s();
    run_job(&o, out, 0);
    double rest_s = now_s() - t0;
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "resuming the load of run");
    must_log(out, "resumed load: ");
    /* only the rest was read */
    assert_true(out->res.rows > 0 && out->res.rows < NROWS);
    assert_true(out->res.resumed_rows > 0);
    assert_int_equal(out->res.rows + out->res.resumed_rows, NROWS);
    uint64_t got;
    size_t nobj;
    check_ids("rs_key", NROWS, &got, &nobj);
    assert_true(got == want);
    assert_false(file_exists("rs_key", "_resume.json"));
    print_message("ordered: full load %.2f s; cancelled after %" PRId64 " rows; the resumed run "
                  "read %" PRId64 " of %d rows (kept %" PRId64 ") in %.2f s, %zu parts\n",
                  full_s, first, out->res.rows, NROWS, out->res.resumed_rows, rest_s, nobj);
    free(out);
}

static void test_killed(void **state)
{
    (void)state;
    make_table("t_rs_kill", NROWS, true);
    /* the read sleeps at a row past the middle, where the test kills it */
    const char *where = "CASE WHEN id = 120000 THEN pg_sleep(1.5) IS NOT NULL ELSE true END";
    struct lh_ingest_options o = {.table = "t_rs_kill",
                                  .dataset = "rs_kill",
                                  .order_by = "id",
                                  .where = where,
                                  .batch_size = 8192,
                                  .part_bytes = 256 << 10};
    struct killer k = {.like = "COPY%ORDER BY%"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    run_job(&o, out, 0);
    atomic_store(&k.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&k.killed), 1);
    if (out->status != LH_E_CONNECT)
        fail_msg("want a lost connection, got %s: %s\n%s", lh_status_str(out->status), out->err.msg,
                 out->log.text);
    must_log(out, "the next run of the dataset reads only the rest");
    assert_true(out->res.kept_rows > 0 && out->res.kept_rows < 120000);
    int64_t kept = out->res.kept_rows;
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "resuming the load of run");
    assert_int_equal(out->res.resumed_rows, kept);
    assert_int_equal(out->res.rows, NROWS - kept);
    check_ids("rs_kill", NROWS, NULL, NULL);
    free(out);
}

static void test_changed(void **state)
{
    (void)state;
    make_table("t_rs_chg", NROWS, true);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    /* another WHERE: another read */
    cancelled_half("t_rs_chg", "rs_chg", out);
    struct lh_ingest_options o = {.table = "t_rs_chg",
                                  .dataset = "rs_chg",
                                  .order_by = "id",
                                  .where = "id > 0",
                                  .batch_size = 8192,
                                  .part_bytes = 256 << 10};
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "discarding the resume record of run");
    must_log(out, "this run reads another source, columns, where, order or mode");
    assert_int_equal(out->res.rows, NROWS);
    assert_int_equal(out->res.resumed_rows, 0);
    check_ids("rs_chg", NROWS, NULL, NULL);
    assert_false(file_exists("rs_chg", "_resume.json"));

    /* a column added between the runs */
    cancelled_half("t_rs_chg", "rs_chg", out);
    pg_exec(PG, "ALTER TABLE t_rs_chg ADD COLUMN extra int");
    o.where = NULL;
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "discarding the resume record of run");
    must_log(out, "the table's columns changed since");
    assert_int_equal(out->res.rows, NROWS);
    assert_int_equal(out->res.resumed_rows, 0);
    check_ids("rs_chg", NROWS, NULL, NULL);
    assert_false(file_exists("rs_chg", "_resume.json"));
    free(out);
}

static void test_no_resume(void **state)
{
    (void)state;
    make_table("t_rs_nr", NROWS, true);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    cancelled_half("t_rs_nr", "rs_nr", out);
    struct lh_ingest_options o = {.table = "t_rs_nr",
                                  .dataset = "rs_nr",
                                  .order_by = "id",
                                  .no_resume = true,
                                  .batch_size = 8192,
                                  .part_bytes = 256 << 10};
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "--no-resume (kind.no_resume) asks for a fresh load");
    assert_int_equal(out->res.rows, NROWS);
    assert_int_equal(out->res.resumed_rows, 0);
    check_ids("rs_nr", NROWS, NULL, NULL);
    assert_false(file_exists("rs_nr", "_resume.json"));
    free(out);
}

static void test_ctid(void **state)
{
    (void)state;
    make_table("t_rs_ctid", NROWS, false);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    struct lh_ingest_options o = {.table = "t_rs_ctid",
                                  .dataset = "rs_ctid",
                                  .parallel = 2,
                                  .batch_size = 8192,
                                  .part_bytes = 256 << 10};
    run_job(&o, out, NROWS / 2);
    assert_int_equal(out->status, LH_E_CANCELLED);
    must_log(out, "the rows read are not kept for a later run: a parallel read splits the table "
                  "by ctid");
    assert_false(file_exists("rs_ctid", "_resume.json"));
    /* written between the runs */
    pg_exec(PG, "INSERT INTO t_rs_ctid SELECT g, md5(g::text) FROM generate_series(200001, "
                "201000) g");
    pg_exec(PG, "UPDATE t_rs_ctid SET note = md5(id::text) WHERE id % 100 = 0");
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    assert_null(strstr(out->log.text, "resuming"));
    assert_int_equal(out->res.rows, NROWS + 1000);
    check_ids("rs_ctid", NROWS + 1000, NULL, NULL);
    free(out);
}

/* ------------------------------------------------------------ split by key */

/* The reads wait at the ids of t_rs_stop (secs each; none: no waits)
 * whose phase is the one the sequence t_rs_phase says when the statement
 * starts (a sequence is read outside the snapshot, so a part read again
 * in the same snapshot can stop elsewhere): the WHERE below is the same
 * text whatever the stops, so a later run continues the record. */
static const char STOP_WHERE[] =
    "COALESCE((SELECT pg_sleep(s.secs) IS NOT NULL FROM t_rs_stop s WHERE s.stop_id = id AND "
    "s.phase = (SELECT last_value FROM t_rs_phase)), true)";

static void stops(const int64_t *ids, size_t n, double secs)
{
    pg_exec(PG, "CREATE TABLE IF NOT EXISTS t_rs_stop (stop_id bigint PRIMARY KEY, secs float8, "
                "phase bigint NOT NULL DEFAULT 1)");
    pg_exec(PG, "CREATE SEQUENCE IF NOT EXISTS t_rs_phase");
    pg_exec(PG, "GRANT SELECT ON t_rs_stop, t_rs_phase TO PUBLIC");
    pg_exec(PG, "SELECT setval('t_rs_phase', 1)");
    pg_exec(PG, "DELETE FROM t_rs_stop");
    for (size_t i = 0; i < n; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "INSERT INTO t_rs_stop VALUES (%" PRId64 ", %g)", ids[i], secs);
        pg_exec(PG, sql);
    }
}

/* The middle of each of the 4 ranges of 1..NROWS a --parallel 4 read
 * splits it into. */
static const int64_t MIDDLES[4] = {25000, 75000, 125000, 175000};

static struct lh_ingest_options keyed(const char *table, const char *dataset, int parallel)
{
    return (struct lh_ingest_options){.table = table,
                                      .dataset = dataset,
                                      .where = STOP_WHERE,
                                      .order_by = "id",
                                      .parallel = parallel,
                                      .batch_size = 8192,
                                      .part_bytes = 128 << 10};
}

/* A --parallel 4 --order-by id load of table into dataset, cancelled
 * while its connections wait in the middle of their ranges. */
static void cancelled_keyed(const char *table, const char *dataset, struct outcome *out)
{
    stops(MIDDLES, 4, 3);
    struct lh_ingest_options o = keyed(table, dataset, 4);
    run_job(&o, out, 90000);
    stops(NULL, 0, 0);
    if (out->status != LH_E_CANCELLED)
        fail_msg("want a cancelled run, got %s: %s\n%s", lh_status_str(out->status), out->err.msg,
                 out->log.text);
    must_log(out, "parallel read: 4 connections in snapshot ");
    must_log(out, "key id 1..200000 split into ranges");
    must_log(out, "the next run of the dataset reads only the rest");
    assert_true(out->res.kept_rows > 0);
}

static void test_keyed(void **state)
{
    (void)state;
    make_table("t_rs_pk", NROWS, true);
    stops(NULL, 0, 0);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    /* one connection, then 4 split by the key: the same rows */
    struct lh_ingest_options o = keyed("t_rs_pk", "rs_pk1", 1);
    double t0 = now_s();
    run_job(&o, out, 0);
    double one_s = now_s() - t0;
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    uint64_t want, got;
    check_ids("rs_pk1", NROWS, &want, NULL);
    o = keyed("t_rs_pk", "rs_pk4", 4);
    t0 = now_s();
    run_job(&o, out, 0);
    double four_s = now_s() - t0;
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "parallel read: 4 connections in snapshot ");
    must_log(out, "key id 1..200000 split into ranges");
    must_log(out, "lh_t.\"id\" >= 50001 AND lh_t.\"id\" < 100001");
    assert_null(strstr(out->log.text, "ctid"));
    assert_int_equal(out->res.rows, NROWS);
    check_ids("rs_pk4", NROWS, &got, NULL);
    assert_true(got == want);

    /* cancelled in the middle of each range, then resumed */
    t0 = now_s();
    cancelled_keyed("t_rs_pk", "rs_pk", out);
    double first_s = now_s() - t0;
    int64_t kept = out->res.kept_rows;
    int64_t low = 0, hi_of = 0;
    int nranges = 0;
    int nkept = resume_kept_ranges(DATA_DIR, "rs_pk", &low, &hi_of, &nranges);
    assert_int_equal(nranges, 4);
    if (nkept < 2)
        fail_msg("parts of %d range(s) kept:\n%s", nkept, out->log.text);
    assert_true(low > 1 && low < INT64_MAX);
    /* written between the runs: below a range's last key (kept as of the
     * first snapshot), above it (read as of the second), new keys */
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE t_rs_pk SET note = 'changed' WHERE id IN (%" PRId64 ", %" PRId64 ")", low - 1,
             low + 1);
    pg_exec(PG, sql);
    pg_exec(PG,
            "INSERT INTO t_rs_pk SELECT g, md5(g::text) FROM generate_series(200001, 201000) g");
    o = keyed("t_rs_pk", "rs_pk", 4);
    t0 = now_s();
    run_job(&o, out, 0);
    double rest_s = now_s() - t0;
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "resuming the load of run");
    must_log(out, "one per range of key id left to read");
    must_log(out, "resumed load: ");
    char want_range[120];
    snprintf(want_range, sizeof want_range, "id > %" PRId64 " AND id < %" PRId64, low, hi_of);
    if (hi_of)
        must_log(out, want_range); /* that range is read from past its last key */
    assert_int_equal(out->res.resumed_rows, kept);
    assert_int_equal(out->res.rows, NROWS + 1000 - kept);
    struct probe pr = {.id = {low - 1, low + 1}};
    PROBE = &pr;
    check_ids("rs_pk", NROWS + 1000, NULL, NULL);
    PROBE = NULL;
    assert_string_not_equal(pr.note[0], "changed"); /* kept as of the first snapshot */
    assert_string_equal(pr.note[1], "changed");
    assert_false(file_exists("rs_pk", "_resume.json"));
    print_message("keyed: 1 connection %.2f s, --parallel 4 --order-by id %.2f s; cancelled after "
                  "%.2f s keeping %" PRId64 " rows of %d ranges; the resumed run read %" PRId64
                  " rows in %.2f s\n",
                  one_s, four_s, first_s, kept, nkept, out->res.rows, rest_s);
    free(out);
}

static void expect_fresh(const struct lh_ingest_options *o, const char *why, struct outcome *out)
{
    run_job(o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "discarding the resume record of run");
    must_log(out, why);
    must_log(out, "reading from zero");
    assert_int_equal(out->res.rows, NROWS);
    assert_int_equal(out->res.resumed_rows, 0);
    check_ids(o->dataset, NROWS, NULL, NULL);
    assert_false(file_exists(o->dataset, "_resume.json"));
}

static void test_keyed_changed(void **state)
{
    (void)state;
    make_table("t_rs_pkc", NROWS, true);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    /* another --parallel */
    cancelled_keyed("t_rs_pkc", "rs_pkc", out);
    struct lh_ingest_options o = keyed("t_rs_pkc", "rs_pkc", 2);
    expect_fresh(&o, "another number of connections (--parallel)", out);
    must_log(out, "key id 1..200000 split into ranges");
    /* another where */
    cancelled_keyed("t_rs_pkc", "rs_pkc", out);
    char where[300];
    snprintf(where, sizeof where, "%s AND id > 0", STOP_WHERE);
    o = keyed("t_rs_pkc", "rs_pkc", 4);
    o.where = where;
    expect_fresh(&o, "this run reads another source, columns, where, order or mode", out);
    free(out);
}

/* Terminates the backend of the part reading ids from 50001 while it
 * waits at 75000 (phase 1) after it committed parts, moving to phase 2
 * first, in which the part read again waits at 55000 before it commits
 * any; cancels the run there. */
struct rekill {
    struct outcome *out;
    atomic_int state; /* 1: killed, 2: cancelled */
};

static void *rekill_main(void *arg)
{
    struct rekill *k = arg;
    PGconn *c = PQconnectdb(PG_SUPER);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
#define REKILL_Q(what)                                                                             \
    "SELECT count(" what ") FROM pg_stat_activity WHERE application_name = 'lakehouse' "           \
    "AND query LIKE '%id\" >= 50001 AND%' AND wait_event = 'PgSleep'"
    for (int i = 0; i < 3000 && atomic_load(&k->state) < 2; i++) {
        if (atomic_load(&k->state) == 0) {
            if (pg_int(c, REKILL_Q("*")) > 0) {
                pg_exec(c, "SELECT setval('t_rs_phase', 2)");
                assert_true(pg_int(c, REKILL_Q("pg_terminate_backend(pid)")) > 0);
                atomic_store(&k->state, 1);
            }
        } else if (pg_int(c, REKILL_Q("*")) > 0) {
            lh_ingest_cancel(k->out->job);
            atomic_store(&k->state, 2);
        }
        usleep(20000);
    }
    PQfinish(c);
    return NULL;
}

static void test_keyed_reread(void **state)
{
    (void)state;
    make_table("t_rs_pkr", NROWS, true);
    stops(NULL, 0, 0);
    pg_exec(PG, "INSERT INTO t_rs_stop VALUES (75000, 3, 1), (55000, 30, 2)");
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    struct rekill k = {.out = out};
    struct lh_ingest_options o = keyed("t_rs_pkr", "rs_pkr", 4);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rekill_main, &k), 0);
    run_job(&o, out, 0);
    pthread_join(th, NULL);
    stops(NULL, 0, 0);
    assert_int_equal(atomic_load(&k.state), 2);
    if (out->status != LH_E_CANCELLED)
        fail_msg("want a cancelled run, got %s: %s\n%s", lh_status_str(out->status), out->err.msg,
                 out->log.text);
    must_log(out, "parallel read: part 1 (id >= 50001 AND id < 100001) failed after ");
    must_log(out, "the next run of the dataset reads only the rest");
    /* the parts the part dropped are not counted as kept: the next run
     * reads every row exactly once */
    int64_t kept = out->res.kept_rows;
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    must_log(out, "resuming the load of run");
    assert_int_equal(out->res.resumed_rows, kept);
    assert_int_equal(out->res.rows, NROWS - kept);
    check_ids("rs_pkr", NROWS, NULL, NULL);
    free(out);
}

static int count_parts(const char *dataset)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/primary/datasets/%s", DATA_DIR, dataset);
    return count_files(dir, "part-*.parquet");
}

static size_t sweep(const char *dataset)
{
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(DATA_DIR, NULL, NULL, &set, &err), LH_OK);
    size_t n = 0;
    if (lh_ingest_sweep(set, dataset, 0, &n, &err) != LH_OK)
        fail_msg("sweep: %s", err.msg);
    lh_store_set_close(set);
    return n;
}

static void test_sweep(void **state)
{
    (void)state;
    make_table("t_rs_sw", NROWS, true);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    setenv("LAKEHOUSE_RUN_LEASE_SECS", "1", 1);
    cancelled_half("t_rs_sw", "rs_sw", out);
    int parts = count_parts("rs_sw");
    assert_true(parts > 1);
    sleep(3); /* the run is dead: its directory has no lease and is 2 lease times old */
    (void)sweep("rs_sw");
    assert_int_equal(count_parts("rs_sw"), parts);
    assert_true(file_exists("rs_sw", "_resume.json"));
    /* too old a record goes, and its parts with it */
    setenv("LAKEHOUSE_RESUME_MAX_AGE_SECS", "0", 1);
    size_t n = sweep("rs_sw");
    unsetenv("LAKEHOUSE_RESUME_MAX_AGE_SECS");
    unsetenv("LAKEHOUSE_RUN_LEASE_SECS");
    assert_false(file_exists("rs_sw", "_resume.json"));
    assert_int_equal(count_parts("rs_sw"), 0);
    assert_true(n >= (size_t)parts + 1);
    struct lh_ingest_options o = {.table = "t_rs_sw", .dataset = "rs_sw", .order_by = "id"};
    run_job(&o, out, 0);
    if (out->status != LH_OK)
        fail_msg("%s\n%s", out->err.msg, out->log.text);
    assert_null(strstr(out->log.text, "resuming"));
    assert_int_equal(out->res.rows, NROWS);
    check_ids("rs_sw", NROWS, NULL, NULL);
    free(out);
}

static void test_cli(void **state)
{
    (void)state;
    make_table("t_rs_cli", NROWS, true);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    cancelled_half("t_rs_cli", "rs_cli", out);
    char cmd[2400], logp[700];
    snprintf(logp, sizeof logp, "%s/rs_cli.log", LH_TEST_WORK_DIR);
    snprintf(cmd, sizeof cmd,
             "'%s' ingest postgres --dsn '%s' --table t_rs_cli --dataset rs_cli --order-by id "
             "--batch-size 8192 --part-size 262144 --no-resume --data '%s' >'%s' 2>&1",
             LH_TEST_LAKEHOUSE, PG_DSN, DATA_DIR, logp);
    int rc = system(cmd);
    FILE *f = fopen(logp, "r");
    assert_non_null(f);
    char text[8192] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, text);
    char want[64];
    snprintf(want, sizeof want, "rows=%d dataset=rs_cli", NROWS);
    if (!strstr(text, want))
        fail_msg("no '%s' in:\n%s", want, text);
    assert_false(file_exists("rs_cli", "_resume.json"));
    check_ids("rs_cli", NROWS, NULL, NULL);

    /* without --no-resume: the CLI says it resumed, rows= counts the rest */
    cancelled_half("t_rs_cli", "rs_cli", out);
    snprintf(cmd, sizeof cmd,
             "'%s' ingest postgres --dsn '%s' --table t_rs_cli --dataset rs_cli --order-by id "
             "--batch-size 8192 --part-size 262144 --data '%s' >'%s' 2>&1",
             LH_TEST_LAKEHOUSE, PG_DSN, DATA_DIR, logp);
    rc = system(cmd);
    f = fopen(logp, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    if (rc != 0 || !strstr(text, "resumed an earlier failed load: "))
        fail_msg("exit %d: %s", rc, text);
    const char *rows = strstr(text, "rows=");
    assert_non_null(rows);
    int64_t read_now = strtoll(rows + 5, NULL, 10);
    assert_true(read_now > 0 && read_now < NROWS);
    check_ids("rs_cli", NROWS, NULL, NULL);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reread),       cmocka_unit_test(test_ordered),
        cmocka_unit_test(test_killed),       cmocka_unit_test(test_changed),
        cmocka_unit_test(test_no_resume),    cmocka_unit_test(test_ctid),
        cmocka_unit_test(test_sweep),        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_keyed),        cmocka_unit_test(test_keyed_changed),
        cmocka_unit_test(test_keyed_reread),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
