/*
 * test_publish.c — publishing under contention, and the sweep of dead runs,
 * with real processes against the real PostgreSQL 15 of the ingest
 * fixtures (tests/servers/pg.sh) and a real S3 server (s3rver, started here).
 *
 *  - N forked writers (N = 2, 3, 8) x M appends into a fresh and into an
 *    existing dataset: every row of every run is in the final version (read
 *    back from the parts) and the versions are dense (1..V, one per run);
 *    N overwriting writers: every run publishes, the last one wins whole;
 *    N incremental writers on one table: every row exactly once.
 *  - A live run's parts and pending part survive sweeps running beside it.
 *  - 50 `lakehouse ingest` processes killed with SIGKILL at random points
 *    (local store, then S3, where 5 of them are killed while their
 *    multipart upload is under way), the leases waited out, one good run: no orphan
 *    byte is left (unreferenced parts, leases, temporary files, empty run
 *    directories, incomplete multipart uploads).
 * The figures (rows found, orphans before and after) are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iceberg/iceberg.h"
#include "ingest/ingest.h"
#include "parquet/parquet.h"
#include "s3helper.h"

#define CW_ROWS 100    /* rows of each writer's table */
#define CW_WRITERS 8   /* the most writers of one race */

static char USER_DSN[512];
static PGconn *PG;
static char DATA_DIR[512];

/* ------------------------------------------------------------- helpers */

static void exec_sql(const char *sql)
{
    PGresult *r = PQexec(PG, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(PG));
    PQclear(r);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(DATA_DIR, sizeof DATA_DIR, "%s/publish-data", LH_TEST_WORK_DIR);
    char cmd[600], v[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DATA_DIR);
    assert_int_equal(system(cmd), 0);
    env_get(LH_TEST_PG_ENV, "PG_USER_DSN", USER_DSN, sizeof USER_DSN);
    env_get(LH_TEST_PG_ENV, "PG_SUPER_DSN", v, sizeof v);
    PG = PQconnectdb(v);
    assert_int_equal(PQstatus(PG), CONNECTION_OK);
    exec_sql("SET client_min_messages = warning");
    char sql[512];
    /* writer k's table holds ids (k+1)*1000 + 1 .. + CW_ROWS; tp_cwbase the
     * rows of the existing version */
    for (int k = 0; k < CW_WRITERS; k++) {
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS tp_cw%d; CREATE TABLE tp_cw%d AS SELECT %d + g AS id "
                 "FROM generate_series(1, %d) g",
                 k, k, (k + 1) * 1000, CW_ROWS);
        exec_sql(sql);
    }
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS tp_cwbase; CREATE TABLE tp_cwbase AS SELECT 900000 + g AS id "
             "FROM generate_series(1, %d) g",
             CW_ROWS);
    exec_sql(sql);
    exec_sql("DROP TABLE IF EXISTS tp_inc; CREATE TABLE tp_inc AS SELECT g AS id "
             "FROM generate_series(1, 300) g");
    /* a run of ~1 s that rolls a part every 256 KiB (local kills); one of
     * 9.6 MB, a multipart upload past 8 MiB (S3 kills: 480,000 rows, since
     * the ids take 5 KB of deltas, not 1 MB); one that takes its time */
    exec_sql("DROP TABLE IF EXISTS tp_big; CREATE TABLE tp_big AS SELECT g AS id, "
             "md5(g::text) AS h, g * 1.5 AS x FROM generate_series(1, 300000) g");
    exec_sql("DROP TABLE IF EXISTS tp_wide; CREATE TABLE tp_wide AS SELECT g AS id, "
             "md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) AS h "
             "FROM generate_series(1, 480000) g");
    exec_sql("DROP VIEW IF EXISTS tp_slow; CREATE VIEW tp_slow AS SELECT g AS id, "
             "(SELECT 1 FROM pg_sleep(0.25 + g * 0)) AS s FROM generate_series(1, 16) g");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(PG);
    return 0;
}

static struct lh_store_set *open_set(const char *root)
{
    struct lh_store_set *set;
    struct lh_error err;
    if (lh_store_set_open(root, NULL, NULL, &set, &err) != LH_OK)
        fail_msg("%s", err.msg);
    return set;
}

/* One ingest run through the library; returns its status (err filled). */
static enum lh_status run_once(const char *root, const struct lh_ingest_options *opt,
                               struct lh_ingest_result *res, struct lh_error *err)
{
    struct lh_store_set *set;
    enum lh_status s = lh_store_set_open(root, NULL, NULL, &set, err);
    if (s != LH_OK)
        return s;
    struct lh_ingest_job *job;
    s = lh_ingest_job_create(set, opt, &job, err);
    if (s == LH_OK) {
        s = lh_ingest_run(job, res, err);
        lh_ingest_job_destroy(job);
    }
    lh_store_set_close(set);
    return s;
}

/* A forked writer (no cmocka in a child): m runs of opt; the exit code is
 * the number of runs that failed (each prints its error). */
static void writer_main(const struct lh_ingest_options *opt, int m)
{
    int failed = 0;
    for (int i = 0; i < m; i++) {
        struct lh_ingest_result res;
        struct lh_error e;
        lh_error_clear(&e);
        if (run_once(DATA_DIR, opt, &res, &e) != LH_OK) {
            fprintf(stderr, "writer %d run %d: %s\n", (int)getpid(), i, e.msg);
            failed++;
        }
    }
    fflush(stderr);
    _exit(failed > 100 ? 100 : failed);
}

/* The current version of ds: its number, its rows read back from its parts
 * (column 0, int32, into ids when given), and whether the record's
 * versions are exactly 1..current (dense). */
static int64_t read_current(const char *ds, uint64_t *version, int32_t *ids, size_t cap,
                            bool *dense)
{
    struct lh_store_set *set = open_set(DATA_DIR);
    struct lh_catalog *cat;
    struct lh_error err;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    assert_int_equal(lh_catalog_dataset_get(cat, ds, &rec, &err), LH_OK);
    const struct lh_catalog_version_info *v = lh_catalog_record_current(&rec);
    assert_non_null(v);
    *version = v->version;
    *dense = rec.nversions == v->version;
    for (size_t i = 0; i < rec.nversions; i++)
        if (rec.versions[i].version != i + 1)
            *dense = false;
    int64_t rows = 0;
    for (size_t i = 0; i < v->nobjects; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/primary/%s", DATA_DIR, v->objects[i].key);
        struct lh_parquet_reader *r;
        if (lh_parquet_reader_open_file(path, &r, &err) != LH_OK)
            fail_msg("version %" PRIu64 " of %s: %s", v->version, ds, err.msg);
        const struct lh_parquet_file_info *fi = lh_parquet_reader_info(r);
        for (int32_t g = 0; g < fi->num_row_groups; g++) {
            struct lh_arena a;
            lh_arena_init(&a, 0);
            struct lh_array col;
            assert_int_equal(lh_parquet_reader_read_column(r, g, 0, &a, &col, &err), LH_OK);
            for (int64_t k = 0; k < col.length; k++)
                if (ids && (size_t)(rows + k) < cap)
                    ids[rows + k] = ((const int32_t *)col.values)[k];
            rows += col.length;
            lh_arena_reset(&a);
        }
        lh_parquet_reader_close(r);
    }
    assert_int_equal((uint64_t)rows, v->row_count);
    lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return rows;
}

/* After runs raced to publish: the catalog and the dataset's Iceberg table
 * agree (every kept version a snapshot, the current version's metadata is
 * v{N}.metadata.json and the hint says N, the current snapshot lists the
 * current version's parts), and no file a losing run staged is left. */
static void iceberg_agrees(const char *ds)
{
    struct lh_store_set *set = open_set(DATA_DIR);
    struct lh_store *st = lh_store_set_primary(set);
    struct lh_catalog *cat;
    struct lh_error err;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    assert_int_equal(lh_catalog_dataset_get(cat, ds, &rec, &err), LH_OK);
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&rec);
    char prefix[128], key[512];
    snprintf(prefix, sizeof prefix, "datasets/%s", ds);
    for (size_t i = 0; i < rec.nversions; i++)
        assert_non_null(rec.versions[i].metadata_location);
    int64_t hint = 0;
    assert_int_equal(lh_iceberg_version_hint_get(st, prefix, &hint, &err), LH_OK);
    assert_int_equal(hint, (int64_t)cv->version);
    uint8_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    snprintf(key, sizeof key, "%s/metadata/v%" PRIu64 ".metadata.json", prefix, cv->version);
    assert_int_equal(lh_store_get(st, key, 0, &a, &na, NULL, &err), LH_OK);
    assert_int_equal(lh_store_get(st, cv->metadata_location, 0, &b, &nb, NULL, &err), LH_OK);
    assert_true(na == nb && memcmp(a, b, na) == 0);
    free(a);
    free(b);
    struct lh_iceberg_loaded l;
    if (lh_iceberg_table_load_at(st, prefix, cv->metadata_location, (int64_t)cv->version, &l,
                                 &err) != LH_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(l.table.current_snapshot_id, (int64_t)cv->version);
    assert_int_equal(l.table.nsnapshots, rec.nversions);
    const struct lh_iceberg_snapshot *cur = &l.table.snapshots[l.table.nsnapshots - 1];
    assert_int_equal(cur->snapshot_id, (int64_t)cv->version);
    assert_int_equal(cur->nfiles, cv->nobjects);
    int64_t rows = 0;
    for (size_t i = 0; i < cur->nfiles; i++) {
        size_t pl = strlen(cur->files[i].path), kl = strlen(cv->objects[i].key);
        assert_true(pl > kl && strcmp(cur->files[i].path + pl - kl, cv->objects[i].key) == 0);
        rows += cur->files[i].record_count;
    }
    assert_int_equal((uint64_t)rows, cv->row_count);
    /* staged leftovers: a tagged metadata file or manifest list nobody names */
    struct lh_store_list ls;
    snprintf(key, sizeof key, "%s/metadata/", prefix);
    assert_int_equal(lh_store_list(st, key, &ls, &err), LH_OK);
    size_t stray = 0;
    for (size_t i = 0; i < ls.count; i++) {
        const char *name = ls.items[i].key + strlen(key);
        bool ref = name[0] == 'v'; /* v{N}.metadata.json, version-hint.text */
        for (size_t v = 0; v < rec.nversions && !ref; v++)
            ref = strcmp(rec.versions[v].metadata_location, ls.items[i].key) == 0;
        for (size_t k = 0; k < l.table.nsnapshots && !ref; k++) {
            char nm[200];
            snprintf(nm, sizeof nm, "snap-%" PRId64 "-%s.avro", l.table.snapshots[k].snapshot_id,
                     l.table.snapshots[k].tag ? l.table.snapshots[k].tag : "");
            ref = strcmp(nm, name) == 0;
            for (size_t f = 0; f < l.table.snapshots[k].nfiles && !ref; f++)
                ref = strcmp(l.table.snapshots[k].files[f].manifest, name) == 0;
        }
        if (!ref) {
            printf("  stray Iceberg file %s\n", ls.items[i].key);
            stray++;
        }
    }
    assert_int_equal(stray, 0);
    lh_store_list_reset(&ls);
    lh_iceberg_loaded_reset(&l);
    lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    lh_store_set_close(set);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Forks n writers that each run opt m times on their own table (tp_cw{k},
 * with replace_source), waits for them; returns the number of failed runs. */
static int race(int n, int m, struct lh_ingest_options opt, bool own_tables)
{
    pid_t pids[CW_WRITERS];
    char tables[CW_WRITERS][16];
    fflush(NULL);
    for (int k = 0; k < n; k++) {
        snprintf(tables[k], sizeof tables[k], "tp_cw%d", k);
        if (own_tables) {
            opt.table = tables[k];
            /* the writers feed one dataset from several tables on purpose
             * (to tell whose rows landed): each run replaces the source */
            opt.replace_source = true;
        }
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0)
            writer_main(&opt, m);
    }
    int failed = 0;
    for (int k = 0; k < n; k++) {
        int st;
        assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
        assert_true(WIFEXITED(st));
        failed += WEXITSTATUS(st);
    }
    return failed;
}

/* ------------------------------------------------------------- publish races */

static void append_race(int n, int m, bool existing)
{
    char ds[64];
    snprintf(ds, sizeof ds, "cw_%s_%d", existing ? "existing" : "fresh", n);
    struct lh_ingest_options opt = {.kind = LH_SOURCE_POSTGRES,
                                    .dsn = USER_DSN,
                                    .dataset = ds,
                                    .mode = LH_INGEST_APPEND,
                                    .keep_versions = 1000};
    int64_t base_rows = 0;
    uint64_t base_v = 0;
    if (existing) {
        struct lh_ingest_options b = opt;
        b.table = "tp_cwbase";
        struct lh_ingest_result res;
        struct lh_error e;
        if (run_once(DATA_DIR, &b, &res, &e) != LH_OK)
            fail_msg("%s", e.msg);
        base_rows = CW_ROWS;
        base_v = 1;
    }
    int failed = race(n, m, opt, true);

    size_t cap = (size_t)(base_rows + (int64_t)n * m * CW_ROWS) + 1000;
    int32_t *ids = calloc(cap, sizeof *ids);
    assert_non_null(ids);
    uint64_t v;
    bool dense;
    int64_t rows = read_current(ds, &v, ids, cap, &dense);
    int64_t want = base_rows + (int64_t)n * m * CW_ROWS;
    printf("append race: %d writers x %d appends into %s dataset: %" PRId64 " of %" PRId64
           " rows in version %" PRIu64 ", %d failed run(s), versions %s\n",
           n, m, existing ? "an existing" : "a fresh", rows, want, v, failed,
           dense ? "dense" : "NOT dense");
    assert_int_equal(failed, 0);
    assert_int_equal(rows, want);
    assert_int_equal(v, base_v + (uint64_t)(n * m));
    assert_true(dense);
    /* every row of every run: writer k's ids m times each, the base once */
    qsort(ids, (size_t)rows, sizeof *ids, cmp_i32);
    int64_t i = 0;
    for (int k = 0; k < n; k++)
        for (int g = 1; g <= CW_ROWS; g++)
            for (int r = 0; r < m; r++, i++)
                assert_int_equal(ids[i], (k + 1) * 1000 + g);
    if (existing)
        for (int g = 1; g <= CW_ROWS; g++, i++)
            assert_int_equal(ids[i], 900000 + g);
    free(ids);
    iceberg_agrees(ds);
}

static void test_append_race_fresh(void **state)
{
    (void)state;
    append_race(2, 5, false);
    append_race(3, 5, false);
    append_race(8, 5, false);
}

static void test_append_race_existing(void **state)
{
    (void)state;
    append_race(2, 5, true);
    append_race(3, 5, true);
    append_race(8, 5, true);
}

/* Overwrites racing: every run publishes its own version (dense), and the
 * current one holds exactly one run's rows. */
static void test_overwrite_race(void **state)
{
    (void)state;
    const char *ds = "cw_overwrite";
    struct lh_ingest_options opt = {.kind = LH_SOURCE_POSTGRES,
                                    .dsn = USER_DSN,
                                    .dataset = ds,
                                    .mode = LH_INGEST_OVERWRITE,
                                    .keep_versions = 1000};
    int failed = race(4, 4, opt, true);
    int32_t ids[CW_ROWS + 10];
    uint64_t v;
    bool dense;
    int64_t rows = read_current(ds, &v, ids, sizeof ids / sizeof ids[0], &dense);
    printf("overwrite race: 4 writers x 4 overwrites: version %" PRIu64 " (versions %s), "
           "%" PRId64 " rows, %d failed run(s)\n",
           v, dense ? "dense" : "NOT dense", rows, failed);
    assert_int_equal(failed, 0);
    assert_int_equal(v, 16);
    assert_true(dense);
    assert_int_equal(rows, CW_ROWS);
    qsort(ids, CW_ROWS, sizeof ids[0], cmp_i32);
    int k = ids[0] / 1000 - 1;
    assert_true(k >= 0 && k < 4);
    for (int g = 0; g < CW_ROWS; g++)
        assert_int_equal(ids[g], (k + 1) * 1000 + g + 1);
    iceberg_agrees(ds);
}

/* Incremental runs racing on one table: a run that loses fails rather than
 * commit a watermark over rows it did not write; no row is lost or doubled. */
static void test_incremental_race(void **state)
{
    (void)state;
    const char *ds = "cw_incremental";
    struct lh_ingest_options opt = {.kind = LH_SOURCE_POSTGRES,
                                    .dsn = USER_DSN,
                                    .table = "tp_inc",
                                    .dataset = ds,
                                    .mode = LH_INGEST_INCREMENTAL,
                                    .cursor_column = "id",
                                    .keep_versions = 1000};
    exec_sql("TRUNCATE tp_inc; INSERT INTO tp_inc SELECT g FROM generate_series(1, 100) g");
    int failed = race(3, 3, opt, false);
    exec_sql("INSERT INTO tp_inc SELECT g FROM generate_series(101, 300) g");
    struct lh_ingest_result res;
    struct lh_error e;
    if (run_once(DATA_DIR, &opt, &res, &e) != LH_OK) /* alone: must succeed */
        fail_msg("%s", e.msg);
    assert_string_equal(res.watermark, "300");
    int32_t ids[400];
    uint64_t v;
    bool dense;
    int64_t rows = read_current(ds, &v, ids, 400, &dense);
    printf("incremental race: 3 writers x 3 runs: %d lost the race and published nothing; "
           "%" PRId64 " rows in version %" PRIu64 "\n",
           failed, rows, v);
    assert_int_equal(rows, 300);
    assert_true(dense);
    qsort(ids, 300, sizeof ids[0], cmp_i32);
    for (int g = 0; g < 300; g++)
        assert_int_equal(ids[g], g + 1);
}

/* ------------------------------------------------------------- the sweep */

struct orphans {
    size_t objects, pending, dirs; /* unreferenced objects in run dirs, pending writes, empty run dirs */
    uint64_t bytes;                /* bytes of all of them, where known */
};

static bool count_pending(void *ctx, const struct lh_store_pending *p)
{
    struct orphans *o = ctx;
    size_t kl = strlen(p->key);
    if (kl && p->key[kl - 1] == '/') {
        if (strncmp(p->key, "datasets/", 9) == 0)
            o->dirs++;
    } else {
        o->pending++;
        o->bytes += p->size;
    }
    return false;
}

/* What the runs of ds left that no kept version references, through the
 * store API (so the same on both backends), plus the bytes s3rver keeps for
 * incomplete multipart uploads (srv may be NULL). */
static void count_orphans(const char *root, const char *ds, const struct s3srv *srv,
                          struct orphans *o)
{
    memset(o, 0, sizeof *o);
    struct lh_store_set *set = open_set(root);
    struct lh_store *st = lh_store_set_primary(set);
    struct lh_catalog *cat;
    struct lh_error err;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    enum lh_status s = lh_catalog_dataset_get(cat, ds, &rec, &err);
    assert_true(s == LH_OK || s == LH_E_NOTFOUND);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "datasets/%s/run-", ds);
    struct lh_store_list l;
    assert_int_equal(lh_store_list(st, prefix, &l, &err), LH_OK);
    for (size_t i = 0; i < l.count; i++) {
        bool ref = false;
        for (size_t v = 0; s == LH_OK && v < rec.nversions && !ref; v++)
            for (size_t k = 0; k < rec.versions[v].nobjects && !ref; k++)
                ref = strcmp(rec.versions[v].objects[k].key, l.items[i].key) == 0;
        if (!ref) {
            o->objects++;
            o->bytes += l.items[i].size;
        }
    }
    lh_store_list_reset(&l);
    if (s == LH_OK)
        lh_catalog_record_reset(&rec);
    assert_int_equal(lh_store_sweep(st, "", count_pending, o, NULL, &err), LH_OK);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    if (srv) {
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "find '%s' -path '*uploads*' -type f -printf '%%s\\n' | awk '{s+=$1} END "
                 "{print s+0}'",
                 srv->dir);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        unsigned long long b = 0;
        assert_int_equal(fscanf(p, "%llu", &b), 1);
        pclose(p);
        o->bytes += b;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* `lakehouse ingest` into ds of the store given by flag/where. */
static pid_t spawn_ingest(const char *flag, const char *where, const char *table, const char *ds,
                          const char *part_size)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        char log[600];
        snprintf(log, sizeof log, "%s/ingest-%d.log", LH_TEST_WORK_DIR, (int)getpid());
        int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        if (lf >= 0)
            dup2(lf, STDERR_FILENO);
        execl(LH_TEST_LAKEHOUSE, "lakehouse", "ingest", "postgres", "--dsn", USER_DSN, "--table",
              table, "--dataset", ds, flag, where, "--batch-size", "1000", "--part-size",
              part_size, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for an ingest started by spawn_ingest; true when it was killed,
 * false when it succeeded; fails the test (with its stderr) otherwise. */
static bool reap(pid_t pid)
{
    int st;
    pid_t got;
    while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    assert_int_equal(got, pid);
    char log[600];
    snprintf(log, sizeof log, "%s/ingest-%d.log", LH_TEST_WORK_DIR, (int)pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        char text[2048] = "";
        FILE *f = fopen(log, "r");
        if (f) {
            size_t n = fread(text, 1, sizeof text - 1, f);
            text[n] = '\0';
            fclose(f);
        }
        fail_msg("an ingest exited with %d: %s", WEXITSTATUS(st), text);
    }
    unlink(log);
    return WIFSIGNALED(st);
}

/* Incomplete multipart uploads s3rver holds whose first part arrived
 * whole (s3rver writes "1.md5" beside a part once it is complete). */
static int s3_uploads(const struct s3srv *srv)
{
    char path[512];
    snprintf(path, sizeof path, "%s/lhtest/._S3rver_uploads", srv->dir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char part[1024];
        struct stat sb;
        snprintf(part, sizeof part, "%s/%s/1.md5", path, e->d_name);
        n += e->d_name[0] != '.' && stat(part, &sb) == 0;
    }
    if (d)
        closedir(d);
    return n;
}

/* One good run (timed), then `total` runs killed in rounds of `parallel`,
 * each after a random delay below slowdown x the good run's time (the runs
 * of a round share the CPUs, or the S3 server). On S3, the last `targeted`
 * of them are killed, one at a time, as soon as their multipart upload is
 * under way. Then the leases are waited out, and one good run more must leave no
 * orphan. */
static void kills(const char *flag, const char *where, const char *root, const struct s3srv *srv,
                  const char *table, const char *ds, const char *part_size, int total,
                  int parallel, double slowdown, int targeted, int lease_secs,
                  struct orphans *before_out)
{
    char ls[16];
    snprintf(ls, sizeof ls, "%d", lease_secs);
    setenv("LAKEHOUSE_RUN_LEASE_SECS", ls, 1);
    int64_t t0 = now_ms();
    assert_false(reap(spawn_ingest(flag, where, table, ds, part_size)));
    int64_t t1 = now_ms();
    int max_ms = (int)((double)(t1 - t0) * slowdown) + 1;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    printf("kill -9 test on %s: kills within %d ms (seed %u)\n", where, max_ms, seed);
    int killed = 0, finished = 0;
    for (int done = 0; done < total - targeted; done += parallel) {
        pid_t pids[16];
        long at[16];
        int np = total - targeted - done < parallel ? total - targeted - done : parallel;
        for (int i = 0; i < np; i++) {
            at[i] = rand_r(&seed) % max_ms;
            pids[i] = spawn_ingest(flag, where, table, ds, part_size);
        }
        long t = 0;
        for (int step = 0; step < np; step++) {
            int next = -1;
            for (int i = 0; i < np; i++)
                if (pids[i] > 0 && (next < 0 || at[i] < at[next]))
                    next = i;
            sleep_ms(at[next] - t);
            t = at[next];
            kill(pids[next], SIGKILL);
            if (reap(pids[next]))
                killed++;
            else
                finished++;
            pids[next] = 0;
        }
    }
    /* targeted kills last: a later run's sweep removes their uploads once
     * their leases expire */
    for (int i = 0; srv && i < targeted; i++) {
        int n0 = s3_uploads(srv);
        pid_t pid = spawn_ingest(flag, where, table, ds, part_size);
        for (int w = 0; w < 3000 && s3_uploads(srv) == n0 && waitpid(pid, NULL, WNOHANG) == 0;
             w++)
            sleep_ms(5);
        kill(pid, SIGKILL);
        if (reap(pid))
            killed++;
        else
            finished++;
    }
    struct orphans before, after;
    int64_t t2 = now_ms();
    count_orphans(root, ds, srv, &before);
    /* the leases of the killed runs expire; a run killed before its lease
     * was written is judged by its directory's age (twice the lease time) */
    sleep_ms(2 * 1000L * lease_secs + 700);
    assert_false(reap(spawn_ingest(flag, where, table, ds, part_size)));
    count_orphans(root, ds, srv, &after);
    printf("  %d killed, %d finished first; leftovers before the good run: %zu object(s), "
           "%zu pending write(s), %zu empty run dir(s), %" PRIu64 " bytes; after: %zu, %zu, "
           "%zu, %" PRIu64 " bytes (first run %.1f s, kills %.1f s, wait and good run %.1f s)\n",
           killed, finished, before.objects, before.pending, before.dirs, before.bytes,
           after.objects, after.pending, after.dirs, after.bytes, (double)(t1 - t0) / 1000,
           (double)(t2 - t1) / 1000, (double)(now_ms() - t2) / 1000);
    unsetenv("LAKEHOUSE_RUN_LEASE_SECS");
    *before_out = before;
    assert_true(killed > total / 2);
    assert_true(before.objects + before.pending > 0);
    assert_int_equal(after.objects, 0);
    assert_int_equal(after.pending, 0);
    assert_int_equal(after.dirs, 0);
    assert_int_equal(after.bytes, 0);
}

static void test_kills_local(void **state)
{
    (void)state;
    struct orphans before;
    /* the lease time is short to keep the test short, but not so short
     * that the fsyncs of ten runs (parts and Iceberg metadata) on two busy
     * cores delay a renewal past 3/4 of it: 3 s did, under a loaded CI */
    kills("--data", DATA_DIR, DATA_DIR, NULL, "tp_big", "killed", "256KiB", 50, 10, 1.5, 0, 6,
          &before);
}

static void test_kills_s3(void **state)
{
    (void)state;
    struct s3srv srv;
    assert_int_equal(s3srv_start(&srv, "lhtest"), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv.port);
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    struct orphans before;
    /* a longer lease: ten runs share one single-threaded S3 server, whose
     * answers to the heartbeat come late */
    kills("--store", "s3://lhtest/kills", "s3://lhtest/kills", &srv, "tp_wide", "killed_s3",
          "1GiB", 50, 10, 1.5, 5, 8, &before);
    s3srv_stop(&srv);
    /* the last runs, killed after their first 8 MiB, left multipart uploads
     * (those of earlier ones were already aborted by the sweep of a later
     * run once their leases expired) */
    assert_true(before.pending > 0);
    assert_true(before.bytes > (8u << 20));
}

/* Sweeps run beside a live run (every 50 ms; a 2 s lease, a 4 s run): its
 * renewed lease keeps its parts and its pending part alive, and it
 * publishes them all. */
static void test_live_run_survives_sweeps(void **state)
{
    (void)state;
    const char *ds = "live";
    setenv("LAKEHOUSE_RUN_LEASE_SECS", "2", 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execl(LH_TEST_LAKEHOUSE, "lakehouse", "ingest", "postgres", "--dsn", USER_DSN, "--table",
              "tp_slow", "--dataset", ds, "--data", DATA_DIR, "--batch-size", "1", "--part-size",
              "1", (char *)NULL);
        _exit(127);
    }
    int sweeps = 0, st = 0;
    size_t removed = 0;
    struct lh_store_set *set = open_set(DATA_DIR);
    while (waitpid(pid, &st, WNOHANG) == 0) {
        size_t n = 0;
        struct lh_error e;
        if (lh_ingest_sweep(set, ds, 0, &n, &e) != LH_OK)
            fail_msg("%s", e.msg);
        removed += n;
        sweeps++;
        sleep_ms(50);
    }
    lh_store_set_close(set);
    unsetenv("LAKEHOUSE_RUN_LEASE_SECS");
    printf("live run: %d sweeps beside it removed %zu object(s)\n", sweeps, removed);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(removed, 0);
    assert_true(sweeps > 5);
    uint64_t v;
    bool dense;
    assert_int_equal(read_current(ds, &v, NULL, 0, &dense), 16);
    struct orphans o;
    count_orphans(DATA_DIR, ds, NULL, &o);
    assert_int_equal(o.objects + o.pending + o.dirs, 0); /* the run's lease is gone too */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_race_fresh),
        cmocka_unit_test(test_append_race_existing),
        cmocka_unit_test(test_overwrite_race),
        cmocka_unit_test(test_incremental_race),
        cmocka_unit_test(test_live_run_survives_sweeps),
        cmocka_unit_test(test_kills_local),
        cmocka_unit_test(test_kills_s3),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
