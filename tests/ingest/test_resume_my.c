/*
 * test_resume_my.c — resumable MySQL/MariaDB loads across runs (issue 18
 * item 4; docs/ingest.md "Resumable loads") against the real MariaDB of
 * the ingest fixtures.
 *
 *   ordered     --order-by id (the primary key) cancelled at about half
 *               keeps its parts; the next run reads only the rest, the
 *               version has every id exactly once and the rows of a fresh
 *               load, kept_rows = resumed_rows, the lineage names the kept
 *               keys; the same on a BIGINT UNSIGNED and a SMALLINT key, and
 *               from a record left in format 1 (before ranges).
 *   parallel    --parallel 4 cancelled while every connection waits in the
 *               middle of its key range keeps finished parts of several
 *               ranges (the record holds all 4, each with its last key);
 *               rows written between the runs: a key below its range's
 *               last key keeps its first-snapshot values (an update, a
 *               delete), one above shows the new ones, new keys are read;
 *               the next run reads only the unread keys of each range
 *               (rows = total - kept) on one connection per range left;
 *               every id exactly once. Each part's range is a range scan
 *               of the primary key in key order (EXPLAIN).
 *   changed     a record is discarded, with the reason, and every row read
 *               again, when the next run asks for another --parallel, reads
 *               another where or other columns, or another version was
 *               published in between.
 *   again       a resumed parallel run cancelled again keeps its own parts
 *               too; the third run reads only what is left; every id once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <inttypes.h>
#include <jansson.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "ingest/ingest.h"
#include "parquet/parquet.h"

#include "job_run.h"
#include "resume_record.h"

#define NROWS 200000

static char DATA_DIR[512];
static bool KEY_INT32; /* the id column is 32-bit (a SMALLINT key) */
static char MY_DSN[512], SOCK[512], DB[64];
static MYSQL *MY;

static void my_exec(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (mysql_query(MY, sql))
        fail_msg("%s: %s", sql, mysql_error(MY));
    MYSQL_RES *r = mysql_store_result(MY);
    if (r)
        mysql_free_result(r);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(DATA_DIR, sizeof DATA_DIR, "%s/resume-my-data", LH_TEST_WORK_DIR);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DATA_DIR);
    assert_int_equal(system(cmd), 0);
    env_get(LH_TEST_MY_ENV, "MY_USER_DSN", MY_DSN, sizeof MY_DSN);
    env_get(LH_TEST_MY_ENV, "MY_SOCKET", SOCK, sizeof SOCK);
    env_get(LH_TEST_MY_ENV, "MY_DB", DB, sizeof DB);
    MY = mysql_init(NULL);
    assert_non_null(MY);
    if (!mysql_real_connect(MY, NULL, "root", NULL, DB, 0, SOCK, 0))
        fail_msg("connect: %s", mysql_error(MY));
    /* the reads wait at the ids listed here (secs each): a cancel lands
     * while every connection is in the middle of its range */
    my_exec("DROP TABLE IF EXISTS t_rm_stop");
    my_exec("CREATE TABLE t_rm_stop (id bigint PRIMARY KEY, secs double NOT NULL)");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    mysql_close(MY);
    return 0;
}

static void make_table(const char *name, const char *key_type, int64_t nrows)
{
    my_exec("DROP TABLE IF EXISTS %s", name);
    my_exec("CREATE TABLE %s (id %s PRIMARY KEY, note varchar(40)) ENGINE=InnoDB", name, key_type);
    my_exec("INSERT INTO %s SELECT seq, md5(seq) FROM seq_1_to_%" PRId64, name, nrows);
    my_exec("ANALYZE TABLE %s", name);
}

/* The reads of table wait `secs` at each id in ids (none: no waits). */
static void stops(const int64_t *ids, size_t n, double secs)
{
    my_exec("DELETE FROM t_rm_stop");
    for (size_t i = 0; i < n; i++)
        my_exec("INSERT INTO t_rm_stop VALUES (%" PRId64 ", %g)", ids[i], secs);
}

/* The WHERE that waits at the stops (every row passes it). */
static void stop_where(const char *table, char *out, size_t cap)
{
    snprintf(out, cap,
             "COALESCE((SELECT SLEEP(s.secs) FROM t_rm_stop s WHERE s.id = %s.id), 0) = 0", table);
}

/* ------------------------------------------------------------ running */

static void run_job(const struct lh_ingest_options *base, struct outcome *o, int64_t cancel_at)
{
    struct lh_ingest_options opt = *base;
    opt.kind = LH_SOURCE_MYSQL;
    if (!opt.dsn)
        opt.dsn = MY_DSN;
    job_run(DATA_DIR, &opt, o, -1, cancel_at);
}

static void must_log(const struct outcome *o, const char *what)
{
    if (!strstr(o->log.text, what))
        fail_msg("no '%s' in the run log:\n%s", what, o->log.text);
}

static void must_succeed(const struct outcome *o)
{
    if (o->status != LH_OK)
        fail_msg("%s\n%s", o->err.msg, o->log.text);
}

static void must_cancel_keeping(const struct outcome *o)
{
    if (o->status != LH_E_CANCELLED)
        fail_msg("want a cancelled run, got %s: %s\n%s", lh_status_str(o->status), o->err.msg,
                 o->log.text);
    must_log(o, "finished part(s)");
    must_log(o, "the next run of the dataset reads only the rest");
    assert_true(o->res.kept_rows > 0);
}

static bool file_exists(const char *dataset, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/primary/datasets/%s/%s", DATA_DIR, dataset, name);
    return access(path, F_OK) == 0;
}

/* The dataset's resume record (must exist); json_decref it. */
static json_t *record(const char *dataset)
{
    return resume_record_load(DATA_DIR, dataset);
}

/* ------------------------------------------------------------ reading back */

struct seen_rows {
    uint64_t hash;     /* order-free hash of (id, note) of every row */
    char notes[2][41]; /* of probe[0], probe[1] */
    int64_t probe[2];  /* ids whose note is captured (0: none) */
    size_t nobjects;
    char ingest_job[600]; /* the version's lineage */
};

/* The current version of dataset must hold every id of 1..n exactly once,
 * except the ids in `gone` (0-terminated). */
static void check_ids(const char *dataset, int64_t n, const int64_t *gone, struct seen_rows *out)
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
    int64_t rows = 0, want = n;
    for (size_t i = 0; gone && gone[i]; i++) {
        seen[gone[i]] = 2;
        want--;
    }
    uint64_t h = 0;
    for (size_t i = 0; i < v->nobjects; i++) {
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
                /* BIGINT UNSIGNED reads as uint64: the same bytes here */
                int64_t id = KEY_INT32 ? ((const int32_t *)c[0].values)[k]
                                       : ((const int64_t *)c[0].values)[k];
                if (id < 1 || id > n)
                    fail_msg("%s: id %" PRId64 " out of 1..%" PRId64, dataset, id, n);
                if (seen[id] == 1)
                    fail_msg("%s: id %" PRId64 " twice", dataset, id);
                if (seen[id] == 2)
                    fail_msg("%s: id %" PRId64 " was deleted before it was read", dataset, id);
                seen[id] = 1;
                size_t len = (size_t)(c[1].offsets[k + 1] - c[1].offsets[k]);
                const uint8_t *note = c[1].data + c[1].offsets[k];
                uint64_t x = (uint64_t)id * 1099511628211ull;
                for (size_t b = 0; b < len; b++)
                    x = (x ^ note[b]) * 1099511628211ull;
                h += x;
                for (int p = 0; out && p < 2; p++)
                    if (out->probe[p] == id)
                        snprintf(out->notes[p], sizeof out->notes[p], "%.*s", (int)len,
                                 (const char *)note);
            }
            rows += c[0].length;
            lh_arena_reset(&a);
        }
        lh_parquet_reader_close(r);
    }
    if (rows != want)
        fail_msg("%s: %" PRId64 " rows, want %" PRId64, dataset, rows, want);
    assert_int_equal((uint64_t)rows, v->row_count);
    if (out) {
        out->hash = h;
        out->nobjects = v->nobjects;
        snprintf(out->ingest_job, sizeof out->ingest_job, "%s",
                 rec.ingest_job ? rec.ingest_job : "");
    }
    free(seen);
    lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    lh_store_set_close(set);
}

/* ------------------------------------------------------------ ordered */

/* The record rewritten the way format 1 wrote it (one key, last_key). */
static void record_as_format1(const char *dataset)
{
    json_t *o = record(dataset);
    json_t *r0 = json_array_get(json_object_get(o, "ranges"), 0);
    assert_int_equal(json_array_size(json_object_get(o, "ranges")), 1);
    json_object_set(o, "last_key", json_object_get(r0, "last_key"));
    json_object_del(o, "ranges");
    json_object_del(o, "parallel");
    json_object_set_new(o, "format", json_integer(1));
    char path[1024];
    snprintf(path, sizeof path, "%s/primary/datasets/%s/_resume.json", DATA_DIR, dataset);
    assert_int_equal(json_dump_file(o, path, JSON_COMPACT), 0);
    json_decref(o);
}

static void ordered_on(const char *table, const char *key_type, int64_t nrows, bool format1)
{
    make_table(table, key_type, nrows);
    stops(NULL, 0, 0);
    KEY_INT32 = strcmp(key_type, "smallint") == 0;
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    char fresh_ds[64], ds[64];
    snprintf(fresh_ds, sizeof fresh_ds, "%s_fresh", table);
    snprintf(ds, sizeof ds, "%s_res", table);
    struct lh_ingest_options o = {.table = table,
                                  .dataset = fresh_ds,
                                  .order_by = "id",
                                  .batch_size = 8192,
                                  .part_bytes = 256 << 10};
    int64_t t0 = mono_ns();
    run_job(&o, out, 0);
    double full_s = (double)(mono_ns() - t0) / 1e9;
    must_succeed(out);
    struct seen_rows want = {0};
    check_ids(fresh_ds, nrows, NULL, &want);

    o.dataset = ds;
    t0 = mono_ns();
    run_job(&o, out, nrows / 2);
    double half_s = (double)(mono_ns() - t0) / 1e9;
    must_cancel_keeping(out);
    must_log(out, "id <= "); /* the kept keys, as for PostgreSQL */
    assert_true(file_exists(ds, "_resume.json"));
    int64_t kept = out->res.kept_rows;
    assert_true(kept < nrows);
    if (format1) /* left by the version before parallel loads were resumable */
        record_as_format1(ds);

    t0 = mono_ns();
    run_job(&o, out, 0);
    double rest_s = (double)(mono_ns() - t0) / 1e9;
    must_succeed(out);
    must_log(out, "resuming the load of run");
    must_log(out, "reading the rows with id > ");
    must_log(out, "resumed load: ");
    assert_int_equal(out->res.resumed_rows, kept);
    assert_int_equal(out->res.rows, nrows - kept);
    struct seen_rows got = {0};
    check_ids(ds, nrows, NULL, &got);
    assert_true(got.hash == want.hash);
    if (!strstr(got.ingest_job, "(resumed load: rows with id <= "))
        fail_msg("lineage: %s", got.ingest_job);
    assert_false(file_exists(ds, "_resume.json"));
    print_message("ordered (%s): fresh load %.2f s; cancelled after %.2f s keeping %" PRId64
                  " rows; the resumed run read %" PRId64 " rows in %.2f s (%zu parts)\n",
                  key_type, full_s, half_s, kept, out->res.rows, rest_s, got.nobjects);
    KEY_INT32 = false;
    free(out);
}

static void test_ordered(void **state)
{
    (void)state;
    ordered_on("t_rm_ord", "bigint", NROWS, false);
    ordered_on("t_rm_uns", "bigint unsigned", NROWS, false);
    ordered_on("t_rm_small", "smallint", 30000, false); /* int32 slots in the batch */
    ordered_on("t_rm_f1", "bigint", NROWS, true);
}

/* ------------------------------------------------------------ parallel */

/* The middle of each of the 4 ranges of 1..NROWS a --parallel 4 read
 * splits it into. */
static const int64_t MIDDLES[4] = {25000, 75000, 125000, 175000};

/* A --parallel 4 load of table into dataset, cancelled while its
 * connections wait in the middle of their ranges. */
static void cancelled_parallel(const char *table, const char *dataset, const char *where,
                               struct outcome *out)
{
    stops(MIDDLES, 4, 3);
    struct lh_ingest_options o = {.table = table,
                                  .dataset = dataset,
                                  .where = where,
                                  .parallel = 4,
                                  .batch_size = 8192,
                                  .part_bytes = 128 << 10};
    run_job(&o, out, NROWS / 4);
    must_cancel_keeping(out);
    must_log(out, "parallel read: 4 connections in one consistent snapshot");
    stops(NULL, 0, 0);
}

static void test_parallel(void **state)
{
    (void)state;
    make_table("t_rm_par", "bigint", NROWS);
    char where[300];
    stop_where("t_rm_par", where, sizeof where);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);

    /* each part reads its range as a range scan of the key, in key order */
    if (mysql_query(MY, "EXPLAIN SELECT id, note FROM t_rm_par WHERE id >= 50001 AND id < 100001 "
                        "ORDER BY id"))
        fail_msg("EXPLAIN: %s", mysql_error(MY));
    MYSQL_RES *er = mysql_store_result(MY);
    MYSQL_ROW row = mysql_fetch_row(er);
    assert_non_null(row);
    assert_string_equal(row[3], "range");   /* type */
    assert_string_equal(row[5], "PRIMARY"); /* key */
    assert_true(!row[9] || !strstr(row[9], "filesort"));
    mysql_free_result(er);

    int64_t t0 = mono_ns();
    cancelled_parallel("t_rm_par", "rm_par", where, out);
    double first_s = (double)(mono_ns() - t0) / 1e9;
    int64_t kept = out->res.kept_rows;
    int64_t low = 0, hi_of = 0;
    int nranges = 0;
    int nkept = resume_kept_ranges(DATA_DIR, "rm_par", &low, &hi_of, &nranges);
    assert_int_equal(nranges, 4);
    if (nkept < 2)
        fail_msg("parts of %d range(s) kept:\n%s", nkept, out->log.text);
    assert_true(low > 1 && low < INT64_MAX);

    /* written between the runs: below a range's last key (kept as of the
     * first snapshot), above it (read as of the second), new keys */
    int64_t below = low - 1, above = low + 1;
    my_exec("UPDATE t_rm_par SET note = 'changed' WHERE id IN (%" PRId64 ", %" PRId64 ")", below,
            above);
    my_exec("DELETE FROM t_rm_par WHERE id = %" PRId64, low);
    my_exec("INSERT INTO t_rm_par SELECT seq, md5(seq) FROM seq_%d_to_%d", NROWS + 1, NROWS + 1000);

    struct lh_ingest_options o = {.table = "t_rm_par",
                                  .dataset = "rm_par",
                                  .where = where,
                                  .parallel = 4,
                                  .batch_size = 8192,
                                  .part_bytes = 128 << 10};
    t0 = mono_ns();
    run_job(&o, out, 0);
    double rest_s = (double)(mono_ns() - t0) / 1e9;
    must_succeed(out);
    must_log(out, "resuming the load of run");
    must_log(out, "resumed load: ");
    char want[120];
    snprintf(want, sizeof want, "id > %" PRId64 " AND id < %" PRId64, low, hi_of);
    if (hi_of)
        must_log(out, want); /* that range is read from past its last key */
    assert_int_equal(out->res.resumed_rows, kept);
    assert_int_equal(out->res.rows, NROWS + 1000 - kept);
    struct seen_rows got = {.probe = {below, above}};
    check_ids("rm_par", NROWS + 1000, NULL, &got);
    /* below the last key: the first snapshot's note; above: the new one */
    assert_string_not_equal(got.notes[0], "changed");
    assert_string_equal(got.notes[1], "changed");
    assert_false(file_exists("rm_par", "_resume.json"));
    if (!strstr(got.ingest_job, "(resumed load: rows with id "))
        fail_msg("lineage: %s", got.ingest_job);
    print_message("parallel 4: cancelled after %.2f s keeping %" PRId64 " rows of %d ranges; the "
                  "resumed run read %" PRId64 " rows in %.2f s\n",
                  first_s, kept, nkept, out->res.rows, rest_s);
    free(out);
}

/* ------------------------------------------------------------ changed */

static void expect_fresh(const char *dataset, const struct lh_ingest_options *o, const char *why,
                         int64_t rows, struct outcome *out)
{
    run_job(o, out, 0);
    must_succeed(out);
    must_log(out, "discarding the resume record of run");
    must_log(out, why);
    must_log(out, "reading from zero");
    assert_int_equal(out->res.rows, rows);
    assert_int_equal(out->res.resumed_rows, 0);
    assert_false(file_exists(dataset, "_resume.json"));
}

static void test_changed(void **state)
{
    (void)state;
    make_table("t_rm_chg", "bigint", NROWS);
    char where[300];
    stop_where("t_rm_chg", where, sizeof where);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    struct lh_ingest_options o = {.table = "t_rm_chg",
                                  .dataset = "rm_chg",
                                  .where = where,
                                  .parallel = 2,
                                  .batch_size = 8192,
                                  .part_bytes = 128 << 10};

    /* another --parallel */
    cancelled_parallel("t_rm_chg", "rm_chg", where, out);
    expect_fresh("rm_chg", &o, "another number of connections (--parallel)", NROWS, out);
    check_ids("rm_chg", NROWS, NULL, NULL);

    /* another where */
    cancelled_parallel("t_rm_chg", "rm_chg", where, out);
    char where2[400];
    snprintf(where2, sizeof where2, "%s AND id > 0", where);
    o.parallel = 4;
    o.where = where2;
    expect_fresh("rm_chg", &o, "this run reads another source, columns, where, order or mode",
                 NROWS, out);

    /* other columns */
    cancelled_parallel("t_rm_chg", "rm_chg", where, out);
    o.where = where;
    o.columns = "note, id";
    expect_fresh("rm_chg", &o, "this run reads another source, columns, where, order or mode",
                 NROWS, out);
    o.columns = NULL;

    /* a version published in between (by a run that did not see the
     * record: it was put aside meanwhile) */
    cancelled_parallel("t_rm_chg", "rm_chg", where, out);
    char a[1024], b[1100];
    snprintf(a, sizeof a, "%s/primary/datasets/rm_chg/_resume.json", DATA_DIR);
    snprintf(b, sizeof b, "%s.aside", a);
    assert_int_equal(rename(a, b), 0);
    run_job(&o, out, 0);
    must_succeed(out);
    assert_int_equal(rename(b, a), 0);
    expect_fresh("rm_chg", &o, "another version of the dataset was published since", NROWS, out);
    check_ids("rm_chg", NROWS, NULL, NULL);
    free(out);
}

/* ------------------------------------------------------------ again */

static void test_again(void **state)
{
    (void)state;
    make_table("t_rm_again", "bigint", NROWS);
    char where[300];
    stop_where("t_rm_again", where, sizeof where);
    struct outcome *out = calloc(1, sizeof *out);
    assert_non_null(out);
    cancelled_parallel("t_rm_again", "rm_again", where, out);
    int64_t kept1 = out->res.kept_rows;

    /* the resumed run waits at three quarters of each range: cancelled
     * there, it keeps its own parts beside the first run's */
    const int64_t quarters[4] = {40000, 90000, 140000, 190000};
    stops(quarters, 4, 3);
    struct lh_ingest_options o = {.table = "t_rm_again",
                                  .dataset = "rm_again",
                                  .where = where,
                                  .parallel = 4,
                                  .batch_size = 8192,
                                  .part_bytes = 128 << 10};
    run_job(&o, out, 8192 * 2);
    must_log(out, "resuming the load of run");
    must_cancel_keeping(out);
    int64_t kept2 = out->res.kept_rows;
    assert_true(kept2 > kept1);
    if (strstr(out->log.text, " (0 of this run)"))
        fail_msg("the second run kept none of its own parts:\n%s", out->log.text);
    stops(NULL, 0, 0);

    run_job(&o, out, 0);
    must_succeed(out);
    assert_int_equal(out->res.resumed_rows, kept2);
    assert_int_equal(out->res.rows, NROWS - kept2);
    check_ids("rm_again", NROWS, NULL, NULL);
    assert_false(file_exists("rm_again", "_resume.json"));
    print_message("again: kept %" PRId64 " rows, then %" PRId64 "; the third run read %" PRId64
                  "\n",
                  kept1, kept2, out->res.rows);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordered),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_changed),
        cmocka_unit_test(test_again),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
