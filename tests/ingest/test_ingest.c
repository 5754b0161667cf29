/*
 * test_ingest.c — the ingest job (library) against real PostgreSQL 15 and
 * MariaDB servers started by tests/servers/pg.sh and mariadb.sh (ctest fixtures).
 *
 * Load modes (overwrite, append, incremental with its watermark), then one
 * row per failure (connection refused, wrong password, missing table, no
 * privilege, statement timeout, connection killed mid-stream, disk full,
 * cancel): each must fail with a one-line message without the password,
 * publish nothing, leave the previous version intact and readable (its
 * parts are read back with the Parquet reader) and leave no temporary or
 * unpublished part behind. Finally kill -9 of a `lakehouse ingest` process
 * mid-run, and the sweep that removes what it left.
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
#include <libpq-fe.h>
#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "parquet/parquet.h"

#define BIG_ROWS 300000

struct srv {
    enum lh_source_kind kind;
    char user_dsn[512], limited_dsn[512], refused_dsn[512], badpw_dsn[512];
    char password[64];
    PGconn *pg; /* superuser connection (PostgreSQL) */
    MYSQL *my;  /* root connection (MariaDB) */
};

static struct srv PG_SRV = {.kind = LH_SOURCE_POSTGRES}, MY_SRV = {.kind = LH_SOURCE_MYSQL};
static char DATA_DIR[512];

/* ------------------------------------------------------------- helpers */

static void exec_sql(struct srv *s, const char *sql)
{
    if (s->kind == LH_SOURCE_POSTGRES) {
        PGresult *r = PQexec(s->pg, sql);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(s->pg));
        PQclear(r);
    } else {
        if (mysql_query(s->my, sql) != 0)
            fail_msg("%s: %s", sql, mysql_error(s->my));
        MYSQL_RES *r = mysql_store_result(s->my);
        if (r)
            mysql_free_result(r);
    }
}

/* Replaces "user:password@" in dsn. */
static void dsn_with_password(const char *dsn, const char *pw, char *out, size_t cap)
{
    const char *at = strrchr(dsn, '@');
    const char *colon = strchr(strstr(dsn, "://") + 3, ':');
    assert_true(at && colon && colon < at);
    snprintf(out, cap, "%.*s:%s%s", (int)(colon - dsn), dsn, pw, at);
}

static void srv_setup(struct srv *s, const char *envfile)
{
    char v[512], host[64], port[16], db[64], sock[512];
    if (s->kind == LH_SOURCE_POSTGRES) {
        env_get(envfile, "PG_USER_DSN", s->user_dsn, sizeof s->user_dsn);
        env_get(envfile, "PG_LIMITED_DSN", s->limited_dsn, sizeof s->limited_dsn);
        env_get(envfile, "PG_PASSWORD", s->password, sizeof s->password);
        env_get(envfile, "PG_SUPER_DSN", v, sizeof v);
        s->pg = PQconnectdb(v);
        assert_int_equal(PQstatus(s->pg), CONNECTION_OK);
        snprintf(s->refused_dsn, sizeof s->refused_dsn,
                 "postgresql://lh_test:%s@127.0.0.1:1/lhtest", s->password);
        exec_sql(s, "SET client_min_messages = warning");
    } else {
        env_get(envfile, "MY_USER_DSN", s->user_dsn, sizeof s->user_dsn);
        env_get(envfile, "MY_LIMITED_DSN", s->limited_dsn, sizeof s->limited_dsn);
        env_get(envfile, "MY_PASSWORD", s->password, sizeof s->password);
        env_get(envfile, "MY_HOST", host, sizeof host);
        env_get(envfile, "MY_PORT", port, sizeof port);
        env_get(envfile, "MY_DB", db, sizeof db);
        env_get(envfile, "MY_SOCKET", sock, sizeof sock);
        s->my = mysql_init(NULL);
        assert_non_null(mysql_real_connect(s->my, NULL, "root", NULL, db, 0, sock, 0));
        snprintf(s->refused_dsn, sizeof s->refused_dsn, "mysql://lh_test:%s@127.0.0.1:1/lhtest",
                 s->password);
    }
    dsn_with_password(s->user_dsn, "wrong-Pa55word", s->badpw_dsn, sizeof s->badpw_dsn);
    /* t_small: the load-mode table; t_big: long enough to fail mid-stream;
     * t_slow: each row takes a while (statement timeout) */
    exec_sql(s, "DROP TABLE IF EXISTS t_small");
    exec_sql(s, "DROP TABLE IF EXISTS t_big");
    exec_sql(s, "DROP VIEW IF EXISTS t_slow");
    exec_sql(s, "DROP VIEW IF EXISTS t_slow_open");
    exec_sql(s, "DROP TABLE IF EXISTS t_secret");
    exec_sql(s, "CREATE TABLE t_small (id int NOT NULL PRIMARY KEY, seq int NOT NULL, email "
                "varchar(64))");
    exec_sql(s, "CREATE TABLE t_secret (id int)");
    if (s->kind == LH_SOURCE_POSTGRES) {
        exec_sql(s, "CREATE TABLE t_big AS SELECT g AS id, md5(g::text) AS h, g * 1.5 AS x "
                    "FROM generate_series(1, 300000) g");
        exec_sql(s,
                 "CREATE VIEW t_slow AS SELECT g AS id, (SELECT 1 FROM pg_sleep(0.2 + g * 0)) AS s "
                 "FROM generate_series(1, 100) g");
        /* start's watermark query sleeps 20 s */
        exec_sql(s, "CREATE VIEW t_slow_open AS SELECT g AS id FROM generate_series(1, 3) g "
                    "CROSS JOIN pg_sleep(20)");
        exec_sql(s, "REVOKE ALL ON t_secret FROM PUBLIC");
    } else {
        exec_sql(s, "SET SESSION max_recursive_iterations = 1000000");
        exec_sql(s, "CREATE TABLE t_big (id int NOT NULL PRIMARY KEY, h char(32), x double)");
        exec_sql(s, "INSERT INTO t_big WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
                    "FROM g WHERE n < 300000) SELECT n, md5(n), n * 1.5 FROM g");
        exec_sql(s, "CREATE VIEW t_slow AS SELECT id, SLEEP(0.2) AS s FROM t_big WHERE id <= 100");
        exec_sql(s, "CREATE VIEW t_slow_open AS SELECT 1 AS id, SLEEP(20) AS z");
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(DATA_DIR, sizeof DATA_DIR, "%s/ingest-data", LH_TEST_WORK_DIR);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DATA_DIR);
    assert_int_equal(system(cmd), 0);
    srv_setup(&PG_SRV, LH_TEST_PG_ENV);
    srv_setup(&MY_SRV, LH_TEST_MY_ENV);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(PG_SRV.pg);
    mysql_close(MY_SRV.my);
    return 0;
}

static struct lh_store_set *open_set(void)
{
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(DATA_DIR, NULL, NULL, &set, &err), LH_OK);
    return set;
}

struct outcome {
    enum lh_status status;
    struct lh_ingest_result res;
    struct lh_error err;
};

static void run_job(struct srv *s, const struct lh_ingest_options *base, struct outcome *o)
{
    struct lh_store_set *set = open_set();
    struct lh_ingest_options opt = *base;
    opt.kind = s->kind;
    if (!opt.dsn)
        opt.dsn = s->user_dsn;
    struct lh_ingest_job *job;
    lh_error_clear(&o->err);
    o->status = lh_ingest_job_create(set, &opt, &job, &o->err);
    if (o->status == LH_OK) {
        o->status = lh_ingest_run(job, &o->res, &o->err);
        lh_ingest_job_destroy(job);
    }
    lh_store_set_close(set);
}

/* Reads every part of the dataset's current version; returns the rows and
 * fills ids (column 0, int32) when given. */
static int64_t read_current(const char *dataset, uint64_t *version, int32_t *ids, size_t cap)
{
    struct lh_store_set *set = open_set();
    struct lh_catalog *cat;
    struct lh_error err;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    enum lh_status s = lh_catalog_dataset_get(cat, dataset, &rec, &err);
    int64_t rows = 0;
    if (s == LH_E_NOTFOUND) {
        *version = 0;
        goto out;
    }
    assert_int_equal(s, LH_OK);
    const struct lh_catalog_version_info *v = lh_catalog_record_current(&rec);
    assert_non_null(v);
    *version = v->version;
    for (size_t i = 0; i < v->nobjects; i++) { /* each part's size and checksum are recorded */
        assert_non_null(v->objects[i].checksum);
        assert_int_equal(lh_catalog_object_verify(lh_store_set_primary(set), dataset, v->version,
                                                  &v->objects[i], true, &err),
                         LH_OK);
    }
    for (size_t i = 0; i < v->nobjects; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/primary/%s", DATA_DIR, v->objects[i].key);
        struct lh_parquet_reader *r;
        assert_int_equal(lh_parquet_reader_open_file(path, &r, &err), LH_OK);
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
out:
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return rows;
}

/* Files under datasets/{ds}/ on disk: parts (not referenced or referenced)
 * and temporaries. */
static void count_files(const char *dir, int *parts, int *temps)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && strcmp(e->d_name, "metadata") == 0)
            continue; /* the Iceberg table's metadata: checked by ingest_iceberg */
        if (S_ISDIR(st.st_mode))
            count_files(p, parts, temps);
        else if (strstr(e->d_name, ".tmp-"))
            (*temps)++;
        else if (strcmp(e->d_name, "_lease.json") != 0) /* a live run's lease */
            (*parts)++;
    }
    closedir(d);
}

static int referenced_parts(const char *dataset)
{
    struct lh_store_set *set = open_set();
    struct lh_catalog *cat;
    struct lh_error err;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    struct lh_catalog_record rec;
    int n = 0;
    if (lh_catalog_dataset_get(cat, dataset, &rec, &err) == LH_OK) {
        /* distinct keys over all kept versions */
        for (size_t i = 0; i < rec.nversions; i++)
            for (size_t k = 0; k < rec.versions[i].nobjects; k++) {
                bool dup = false;
                for (size_t j = 0; j < i && !dup; j++)
                    for (size_t m = 0; m < rec.versions[j].nobjects; m++)
                        if (strcmp(rec.versions[j].objects[m].key,
                                   rec.versions[i].objects[k].key) == 0)
                            dup = true;
                n += !dup;
            }
        lh_catalog_record_reset(&rec);
    }
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return n;
}

static void assert_clean(const char *dataset)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/primary/datasets/%s", DATA_DIR, dataset);
    int parts = 0, temps = 0;
    count_files(dir, &parts, &temps);
    assert_int_equal(temps, 0);
    assert_int_equal(parts, referenced_parts(dataset));
    /* no run's lease and no empty run directory either */
    char cmd[1200], out[256] = "";
    snprintf(cmd, sizeof cmd, "find '%s' -name _lease.json -o -type d -name 'run-*' -empty", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    out[n] = '\0';
    if (n)
        fail_msg("left behind: %s", out);
}

/* ------------------------------------------------------------- load modes */

static void load_modes(struct srv *s, const char *ds)
{
    struct outcome o;
    uint64_t v;
    int32_t ids[64];
    exec_sql(s, "DELETE FROM t_small");
    exec_sql(s, "INSERT INTO t_small VALUES (1, 10, 'a@x.example'), (2, 20, NULL), (3, 30, "
                "'c@x.example')");
    struct lh_ingest_options opt = {.table = "t_small", .dataset = ds, .order_by = "id"};

    /* overwrite twice: v2 holds the table once; v1 is kept */
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.version, 1);
    assert_int_equal(read_current(ds, &v, NULL, 0), 3);
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.version, 2);
    assert_true(o.res.published);
    assert_int_equal(o.res.files, 1);
    char want[300];
    snprintf(want, sizeof want, "rows=3 dataset=%s bytes=%llu", ds,
             (unsigned long long)o.res.bytes);
    assert_string_equal(o.res.message, want);
    assert_int_equal(read_current(ds, &v, ids, 64), 3);
    assert_int_equal(v, 2);
    assert_int_equal(ids[0] + ids[1] + ids[2], 6);

    /* append: previous parts + the new part */
    opt.mode = LH_INGEST_APPEND;
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.version, 3);
    assert_int_equal(read_current(ds, &v, ids, 64), 6);

    /* incremental: first run takes everything, the next only rows past the
     * watermark (strict >), zero new rows publish nothing */
    opt.mode = LH_INGEST_INCREMENTAL;
    opt.cursor_column = "seq";
    opt.dataset = NULL;
    char ids_ds[128];
    snprintf(ids_ds, sizeof ids_ds, "%s_inc", ds);
    opt.dataset = ids_ds;
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.rows, 3);
    assert_string_equal(o.res.watermark, "30");
    exec_sql(s,
             "INSERT INTO t_small VALUES (4, 40, NULL), (5, 30, 'tie@x.example'), (6, 50, NULL)");
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.rows, 2); /* 40 and 50; the tie at 30 is past the boundary */
    assert_string_equal(o.res.watermark, "50");
    assert_int_equal(read_current(ids_ds, &v, ids, 64), 5);
    assert_int_equal(v, 2);
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.rows, 0);
    assert_false(o.res.published);
    assert_int_equal(o.res.version, 2);
    assert_int_equal(read_current(ids_ds, &v, NULL, 0), 5);
    assert_int_equal(v, 2);

    /* a failed incremental run (disk full) does not advance the watermark */
    exec_sql(s, "INSERT INTO t_small VALUES (7, 60, NULL)");
    lh_fault_set_enospc_after(100);
    run_job(s, &opt, &o);
    lh_fault_set_enospc_after(0);
    assert_int_equal(o.status, LH_E_NOSPC);
    assert_int_equal(read_current(ids_ds, &v, NULL, 0), 5);
    assert_int_equal(v, 2);
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.rows, 1);
    assert_string_equal(o.res.watermark, "60");
    assert_int_equal(read_current(ids_ds, &v, ids, 64), 6);
    assert_int_equal(ids[5], 7);
    assert_clean(ds);
    assert_clean(ids_ds);

    /* an empty table is an empty dataset: a version with the schema, 0 rows */
    exec_sql(s, "DELETE FROM t_small");
    opt.mode = LH_INGEST_OVERWRITE;
    opt.cursor_column = NULL;
    opt.dataset = ds;
    run_job(s, &opt, &o);
    assert_int_equal(o.status, LH_OK);
    assert_int_equal(o.res.rows, 0);
    assert_true(o.res.published);
    assert_int_equal(o.res.files, 1);
    assert_int_equal(read_current(ds, &v, NULL, 0), 0);
    assert_int_equal(v, 4);
}

static void test_load_modes_pg(void **state)
{
    (void)state;
    load_modes(&PG_SRV, "pg_modes");
}

static void test_load_modes_mysql(void **state)
{
    (void)state;
    load_modes(&MY_SRV, "my_modes");
}

/* ------------------------------------------------------------- failures */

enum how { H_REFUSED, H_BADPW, H_MISSING, H_PERM, H_TIMEOUT, H_KILLED, H_DISKFULL, H_CANCEL };

struct fail_case {
    const char *name;
    enum how how;
    enum lh_status want;
};

static const struct fail_case FAILS[] = {
    {"connection refused", H_REFUSED, LH_E_CONNECT},
    {"authentication failure", H_BADPW, LH_E_AUTH},
    {"table missing", H_MISSING, LH_E_NOTFOUND},
    {"permission denied", H_PERM, LH_E_PERM},
    {"statement timeout", H_TIMEOUT, LH_E_TIMEOUT},
    {"connection lost mid-stream", H_KILLED, LH_E_CONNECT},
    {"disk full", H_DISKFULL, LH_E_NOSPC},
    {"cancelled", H_CANCEL, LH_E_CANCELLED},
};

struct progress_ctx {
    struct srv *srv;
    enum how how;
    struct lh_ingest_job *job;
    bool fired;
    pthread_t th;
    bool have_th;
};

static void *cancel_thread(void *arg)
{
    struct progress_ctx *c = arg;
    lh_ingest_cancel(c->job);
    return NULL;
}

static void kill_reader(struct srv *s)
{
    if (s->kind == LH_SOURCE_POSTGRES) {
        exec_sql(s, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = "
                    "'lh_test' AND pid <> pg_backend_pid()");
    } else {
        assert_int_equal(mysql_query(s->my, "SELECT id FROM information_schema.PROCESSLIST "
                                            "WHERE USER = 'lh_test'"),
                         0);
        MYSQL_RES *r = mysql_store_result(s->my);
        MYSQL_ROW row;
        char sql[64];
        while (r && (row = mysql_fetch_row(r))) {
            snprintf(sql, sizeof sql, "KILL CONNECTION %s", row[0]);
            (void)mysql_query(s->my, sql);
        }
        if (r)
            mysql_free_result(r);
    }
}

static void on_progress(void *vctx, const struct lh_ingest_progress *pg)
{
    struct progress_ctx *c = vctx;
    if (c->fired || pg->rows < 1000)
        return;
    c->fired = true;
    if (c->how == H_KILLED)
        kill_reader(c->srv);
    if (c->how == H_CANCEL && pthread_create(&c->th, NULL, cancel_thread, c) == 0)
        c->have_th = true;
}

static void failures(struct srv *s, const char *ds)
{
    struct outcome o;
    uint64_t v0, v;
    /* the previous version every failure must leave alone */
    struct lh_ingest_options good = {.table = "t_big", .dataset = ds, .limit = 5000};
    run_job(s, &good, &o);
    assert_int_equal(o.status, LH_OK);
    int64_t rows0 = read_current(ds, &v0, NULL, 0);
    assert_int_equal(rows0, 5000);

    for (size_t i = 0; i < sizeof FAILS / sizeof FAILS[0]; i++) {
        const struct fail_case *fc = &FAILS[i];
        /* replace_source: the missing table and the secret one must fail
         * as themselves, not as another source than t_big */
        struct lh_ingest_options opt = {
            .table = "t_big", .dataset = ds, .batch_size = 500, .replace_source = true};
        struct progress_ctx pc = {.srv = s, .how = fc->how};
        switch (fc->how) {
        case H_REFUSED:
            opt.dsn = s->refused_dsn;
            break;
        case H_BADPW:
            opt.dsn = s->badpw_dsn;
            break;
        case H_MISSING:
            opt.table = "no_such_table";
            break;
        case H_PERM:
            opt.dsn = s->limited_dsn;
            opt.table = "t_secret";
            break;
        case H_TIMEOUT:
            opt.table = "t_slow";
            opt.statement_timeout_ms = 300;
            break;
        case H_DISKFULL:
            lh_fault_set_enospc_after(200000);
            opt.part_bytes = 1 << 20;
            break;
        default:
            break;
        }
        opt.on_progress = on_progress;
        opt.progress_ctx = &pc;
        /* run with a job handle so the cancel thread can reach it */
        struct lh_store_set *set = open_set();
        opt.kind = s->kind;
        if (!opt.dsn)
            opt.dsn = s->user_dsn;
        lh_error_clear(&o.err);
        o.status = lh_ingest_job_create(set, &opt, &pc.job, &o.err);
        assert_int_equal(o.status, LH_OK);
        o.status = lh_ingest_run(pc.job, &o.res, &o.err);
        if (pc.have_th)
            pthread_join(pc.th, NULL);
        lh_ingest_job_destroy(pc.job);
        lh_store_set_close(set);
        lh_fault_set_enospc_after(0);

        print_message("  %s: %s\n", fc->name, o.err.msg);
        if (o.status != fc->want)
            fail_msg("%s: want %s, got %s: %s", fc->name, lh_status_str(fc->want),
                     lh_status_str(o.status), o.err.msg);
        assert_null(strchr(o.err.msg, '\n'));
        assert_null(strstr(o.err.msg, s->password));
        assert_null(strstr(o.err.msg, "wrong-Pa55word"));
        assert_non_null(strstr(o.err.msg, ds));
        assert_false(o.res.published);
        /* previous version intact and readable, nothing left behind */
        assert_int_equal(read_current(ds, &v, NULL, 0), rows0);
        assert_int_equal(v, v0);
        assert_clean(ds);
    }
}

static void test_failures_pg(void **state)
{
    (void)state;
    failures(&PG_SRV, "pg_fail");
}

static void test_failures_mysql(void **state)
{
    (void)state;
    failures(&MY_SRV, "my_fail");
}

/* ------------------------------------------------------------- kill -9 */

static bool has_temp(const char *dir)
{
    int parts = 0, temps = 0;
    count_files(dir, &parts, &temps);
    return temps > 0;
}

static void kill9(struct srv *s, const char *ds, const char *kind)
{
    struct outcome o;
    uint64_t v0, v;
    struct lh_ingest_options good = {.table = "t_big", .dataset = ds, .limit = 1000};
    run_job(s, &good, &o);
    assert_int_equal(o.status, LH_OK);
    int64_t rows0 = read_current(ds, &v0, NULL, 0);

    /* a run that rolls a part every 256 KiB, killed once a part is on its way */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/primary/datasets/%s", DATA_DIR, ds);
    setenv("LAKEHOUSE_RUN_LEASE_SECS", "2", 1); /* the run's lease, and the sweep's view */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(LH_TEST_LAKEHOUSE, "lakehouse", "ingest", kind, "--dsn", s->user_dsn, "--table",
              "t_big", "--dataset", ds, "--data", DATA_DIR, "--batch-size", "1000", "--part-size",
              "256KiB", (char *)NULL);
        _exit(127);
    }
    bool seen = false;
    for (int i = 0; i < 2000 && !seen; i++) {
        int parts = 0, temps = 0;
        count_files(dir, &parts, &temps);
        seen = parts > referenced_parts(ds) && has_temp(dir);
        if (!seen) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    assert_true(seen);
    /* nothing published, the previous version intact */
    assert_int_equal(read_current(ds, &v, NULL, 0), rows0);
    assert_int_equal(v, v0);
    /* leftovers stay while the killed run's lease has not expired, then the
     * sweep removes them */
    struct lh_store_set *set = open_set();
    size_t deleted = 0;
    struct lh_error err;
    assert_int_equal(lh_ingest_sweep(set, ds, 0, &deleted, &err), LH_OK);
    assert_int_equal(deleted, 0);
    struct timespec lease = {2, 300 * 1000 * 1000};
    nanosleep(&lease, NULL);
    assert_int_equal(lh_ingest_sweep(set, ds, 0, &deleted, &err), LH_OK);
    lh_store_set_close(set);
    unsetenv("LAKEHOUSE_RUN_LEASE_SECS");
    assert_true(deleted > 0);
    assert_clean(ds);
    assert_int_equal(read_current(ds, &v, NULL, 0), rows0);
}

static void test_kill9_pg(void **state)
{
    (void)state;
    kill9(&PG_SRV, "pg_kill", "postgres");
}

static void test_kill9_mysql(void **state)
{
    (void)state;
    kill9(&MY_SRV, "my_kill", "mysql");
}

/* ------------------------------------------------------------- cancel in open */

struct later_cancel {
    struct lh_ingest_job *job;
    int ms;
};

static void *cancel_after(void *arg)
{
    struct later_cancel *l = arg;
    struct timespec ts = {l->ms / 1000, (long)(l->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    lh_ingest_cancel(l->job);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A cancel before the run, and one 300 ms into a run whose source is still
 * opening (its watermark query sleeps 20 s on the server): the run fails
 * with LH_E_CANCELLED well before the query would end, publishes nothing
 * and leaves nothing behind. */
static void cancel_in_open(struct srv *s, const char *ds)
{
    const int delays[] = {-1, 300}; /* -1: before lh_ingest_run */
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        struct lh_ingest_options opt = {
            .kind = s->kind,
            .dsn = s->user_dsn,
            .table = "t_slow_open",
            .dataset = ds,
            .mode = LH_INGEST_INCREMENTAL,
            .cursor_column = s->kind == LH_SOURCE_POSTGRES ? "id" : "z",
        };
        struct lh_store_set *set = open_set();
        struct lh_ingest_job *job;
        struct outcome o;
        lh_error_clear(&o.err);
        assert_int_equal(lh_ingest_job_create(set, &opt, &job, &o.err), LH_OK);
        struct later_cancel l = {job, delays[i]};
        pthread_t th;
        if (delays[i] < 0)
            lh_ingest_cancel(job);
        else
            assert_int_equal(pthread_create(&th, NULL, cancel_after, &l), 0);
        double t0 = now_s();
        o.status = lh_ingest_run(job, &o.res, &o.err);
        double took = now_s() - t0;
        if (delays[i] >= 0)
            pthread_join(th, NULL);
        lh_ingest_job_destroy(job);
        lh_store_set_close(set);
        print_message("  cancel %s: %s after %.2f s: %s\n",
                      delays[i] < 0 ? "before run" : "in open", lh_status_str(o.status), took,
                      o.err.msg);
        if (o.status != LH_E_CANCELLED)
            fail_msg("want cancelled, got %s: %s", lh_status_str(o.status), o.err.msg);
        assert_null(strstr(o.err.msg, s->password));
        assert_true(took < 10.0); /* a behaviour bound: the 20 s query was not waited out */
        assert_false(o.res.published);
        uint64_t v;
        assert_int_equal(read_current(ds, &v, NULL, 0), 0);
        assert_int_equal(v, 0); /* no record at all */
        assert_clean(ds);
    }
}

static void test_cancel_in_open_pg(void **state)
{
    (void)state;
    cancel_in_open(&PG_SRV, "pg_cancel_open");
}

static void test_cancel_in_open_mysql(void **state)
{
    (void)state;
    cancel_in_open(&MY_SRV, "my_cancel_open");
}

/* ------------------------------------------------------------- retention */

/* keep_versions = 2: after four runs (three through the library, the last
 * through `lakehouse ingest --keep-versions 2`) the record holds versions 3
 * and 4 only, and only their parts are on disk. */
static void test_keep_versions(void **state)
{
    (void)state;
    struct srv *s = &PG_SRV;
    const char *ds = "pg_keep";
    exec_sql(s, "DELETE FROM t_small");
    exec_sql(s, "INSERT INTO t_small VALUES (1, 10, NULL), (2, 20, NULL)");
    struct lh_ingest_options opt = {.table = "t_small", .dataset = ds, .keep_versions = 2};
    struct outcome o;
    char first_part[1024] = "";
    for (int run = 1; run <= 3; run++) {
        run_job(s, &opt, &o);
        assert_int_equal(o.status, LH_OK);
        assert_int_equal(o.res.version, (uint64_t)run);
        if (run == 1) {
            /* remember version 1's part to see it deleted */
            struct lh_store_set *set = open_set();
            struct lh_catalog *cat;
            struct lh_catalog_record rec;
            struct lh_error err;
            assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
            assert_int_equal(lh_catalog_dataset_get(cat, ds, &rec, &err), LH_OK);
            snprintf(first_part, sizeof first_part, "%s/primary/%s", DATA_DIR,
                     lh_catalog_record_current(&rec)->objects[0].key);
            lh_catalog_record_reset(&rec);
            lh_catalog_close(cat);
            lh_store_set_close(set);
        }
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execl(LH_TEST_LAKEHOUSE, "lakehouse", "ingest", "postgres", "--dsn", s->user_dsn, "--table",
              "t_small", "--dataset", ds, "--data", DATA_DIR, "--keep-versions", "2", (char *)NULL);
        _exit(127);
    }
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFEXITED(wst));
    assert_int_equal(WEXITSTATUS(wst), 0);

    struct lh_store_set *set = open_set();
    struct lh_catalog *cat;
    struct lh_catalog_record rec;
    struct lh_error err;
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    assert_int_equal(lh_catalog_dataset_get(cat, ds, &rec, &err), LH_OK);
    assert_int_equal(rec.nversions, 2);
    uint64_t seen = 0;
    for (size_t i = 0; i < rec.nversions; i++) {
        assert_true(rec.versions[i].version == 3 || rec.versions[i].version == 4);
        seen |= 1u << rec.versions[i].version;
    }
    assert_int_equal(seen, (1u << 3) | (1u << 4));
    assert_int_equal(lh_catalog_record_current(&rec)->version, 4);
    lh_catalog_record_reset(&rec);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    /* only the kept versions' parts exist: one part per overwrite run */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/primary/datasets/%s", DATA_DIR, ds);
    int parts = 0, temps = 0;
    count_files(dir, &parts, &temps);
    assert_int_equal(parts, 2);
    assert_int_equal(temps, 0);
    assert_int_equal(referenced_parts(ds), 2);
    struct stat st;
    assert_int_not_equal(stat(first_part, &st), 0);
    uint64_t v;
    assert_int_equal(read_current(ds, &v, NULL, 0), 2);
    assert_int_equal(v, 4);
}

/* The record swap lands but its directory fsync fails: register reports an
 * error although the version is visible. The job must see that the record
 * holds its run and keep the parts, not delete what readers now use. */
static void test_error_after_swap_keeps_version(void **state)
{
    (void)state;
    struct srv *s = &PG_SRV;
    const char *ds = "pg_after_swap";
    exec_sql(s, "DELETE FROM t_small");
    exec_sql(s, "INSERT INTO t_small VALUES (1, 10, NULL), (2, 20, NULL), (3, 30, NULL)");
    struct lh_ingest_options opt = {.table = "t_small", .dataset = ds};
    struct outcome o;
    lh_fault_set_fsync_dir_fail("/_catalog");
    run_job(s, &opt, &o);
    lh_fault_set_fsync_dir_fail(NULL);
    assert_int_equal(o.status, LH_OK);
    assert_true(o.res.published);
    assert_int_equal(o.res.version, 1);
    assert_int_equal(referenced_parts(ds), 1);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/primary/datasets/%s", DATA_DIR, ds);
    int parts = 0, temps = 0;
    count_files(dir, &parts, &temps);
    assert_int_equal(parts, 1);
    uint64_t v;
    assert_int_equal(read_current(ds, &v, NULL, 0), 3);
    assert_int_equal(v, 1);
}

/* ------------------------------------------------------------- unit bits */

static void test_type_text(void **state)
{
    (void)state;
    static const struct {
        struct lh_field f;
        const char *want;
    } T[] = {
        {{.type = LH_T_INT64}, "Int64"},
        {{.type = LH_T_UINT8}, "UInt8"},
        {{.type = LH_T_STRING}, "Utf8"},
        {{.type = LH_T_DECIMAL, .precision = 12, .scale = 2}, "Decimal128(12, 2)"},
        {{.type = LH_T_TIMESTAMP, .ts_utc = true}, "Timestamp(Microsecond, Some(\"UTC\"))"},
        {{.type = LH_T_TIMESTAMP}, "Timestamp(Microsecond, None)"},
        {{.type = LH_T_INT32, .is_list = true}, "List(Int32)"},
        {{.type = LH_T_DATE}, "Date32"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char buf[128];
        lh_ingest_type_text(&T[i].f, buf, sizeof buf);
        assert_string_equal(buf, T[i].want);
    }
    enum lh_ingest_mode m;
    assert_true(lh_ingest_mode_parse("incremental", &m));
    assert_int_equal(m, LH_INGEST_INCREMENTAL);
    assert_false(lh_ingest_mode_parse("merge", &m));
}

/* ---------------------------------------------------- what gets copied */

/* Runs the binary with argv (NULL-terminated); the exit code, stdout and
 * stderr (each up to cap bytes). */
static int run_cli(const char *const *argv, char *out, char *errtext, size_t cap)
{
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(LH_TEST_LAKEHOUSE, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t no = 0, ne = 0;
    for (;;) { /* small outputs: read stdout to the end, then stderr */
        ssize_t k = read(po[0], out + no, cap - 1 - no);
        if (k <= 0)
            break;
        no += (size_t)k;
    }
    for (;;) {
        ssize_t k = read(pe[0], errtext + ne, cap - 1 - ne);
        if (k <= 0)
            break;
        ne += (size_t)k;
    }
    out[no] = errtext[ne] = '\0';
    close(po[0]);
    close(pe[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static size_t count_lines(const char *t)
{
    size_t n = 0;
    for (; *t; t++)
        n += *t == '\n';
    return n;
}

/* Two schemas with the same table name get different default datasets; a
 * table whose name is no dataset name gets one; a query (incremental over
 * it), columns and where; the CLI says which default name it chose and
 * refuses bad combinations with one line and exit 2. */
static void what_is_copied(struct srv *s, const char *kind)
{
    bool pg = s->kind == LH_SOURCE_POSTGRES;
    const char *other = "w_sales";
    char sql[256];
    if (pg) {
        exec_sql(s, "CREATE SCHEMA IF NOT EXISTS w_sales");
        exec_sql(s, "DROP TABLE IF EXISTS public.w_orders, w_sales.w_orders, \"W Odd$Name\"");
    } else {
        exec_sql(s, "CREATE DATABASE IF NOT EXISTS w_sales");
        exec_sql(s, "DROP TABLE IF EXISTS lhtest.w_orders, w_sales.w_orders, `W Odd$Name`");
    }
    exec_sql(s, "CREATE TABLE w_orders (id int, seq int)");
    exec_sql(s, "INSERT INTO w_orders VALUES (1, 10), (2, 20), (3, 30)");
    snprintf(sql, sizeof sql, "CREATE TABLE %s.w_orders (id int, seq int)", other);
    exec_sql(s, sql);
    snprintf(sql, sizeof sql, "INSERT INTO %s.w_orders VALUES (101, 1), (102, 2)", other);
    exec_sql(s, sql);
    exec_sql(s, pg ? "CREATE TABLE \"W Odd$Name\" (id int)" : "CREATE TABLE `W Odd$Name` (id int)");
    exec_sql(s,
             pg ? "INSERT INTO \"W Odd$Name\" VALUES (7)" : "INSERT INTO `W Odd$Name` VALUES (7)");

    /* the other server's case left datasets of the same names, whose source
     * a run would (rightly) refuse to replace: start from none */
    char rm[2400];
    snprintf(rm, sizeof rm,
             "rm -rf '%s'/primary/_catalog/w_* '%s'/primary/_catalog/W_* "
             "'%s'/primary/datasets/w_* '%s'/primary/datasets/W_*",
             DATA_DIR, DATA_DIR, DATA_DIR, DATA_DIR);
    assert_int_equal(system(rm), 0);

    struct outcome o;
    int32_t ids[16];
    uint64_t v;
    /* default schema and another one: two datasets, both readable */
    struct lh_ingest_options a = {.table = pg ? "public.w_orders" : "lhtest.w_orders"};
    run_job(s, &a, &o);
    if (o.status)
        fail_msg("%s", o.err.msg);
    assert_string_equal(o.res.dataset, "w_orders");
    struct lh_ingest_options b = {.table = "w_sales.w_orders"};
    run_job(s, &b, &o);
    if (o.status)
        fail_msg("%s", o.err.msg);
    assert_string_equal(o.res.dataset, "w_sales_w_orders");
    assert_int_equal(read_current("w_orders", &v, ids, 16), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(read_current("w_sales_w_orders", &v, ids, 16), 2);
    assert_int_equal(ids[0], 101);
    /* a name that is no dataset name is turned into one */
    struct lh_ingest_options c = {.table = pg ? "\"W Odd$Name\"" : "`W Odd$Name`"};
    run_job(s, &c, &o);
    if (o.status)
        fail_msg("%s", o.err.msg);
    assert_string_equal(o.res.dataset, "W_Odd_Name");
    assert_int_equal(read_current("W_Odd_Name", &v, ids, 16), 1);

    /* a query, incremental around it */
    char qds[32];
    snprintf(qds, sizeof qds, "w_query_%s", kind);
    struct lh_ingest_options q = {.query = "SELECT seq AS s2, id FROM w_orders WHERE id < 100",
                                  .dataset = qds,
                                  .mode = LH_INGEST_INCREMENTAL,
                                  .cursor_column = "s2"};
    run_job(s, &q, &o);
    if (o.status)
        fail_msg("%s", o.err.msg);
    assert_int_equal(o.res.rows, 3);
    assert_string_equal(o.res.watermark, "30");
    exec_sql(s, "INSERT INTO w_orders VALUES (4, 40), (5, 50)");
    run_job(s, &q, &o);
    if (o.status)
        fail_msg("%s", o.err.msg);
    assert_int_equal(o.res.rows, 2);
    assert_int_equal(read_current(qds, &v, ids, 16), 5);
    assert_int_equal(ids[3], 40);
    assert_int_equal(ids[4], 50);

    /* columns (in the order given) and where */
    char cds[32];
    snprintf(cds, sizeof cds, "w_cols_%s", kind);
    struct lh_ingest_options cw = {
        .table = "w_orders", .columns = "seq, id", .where = "id % 2 = 1", .dataset = cds};
    run_job(s, &cw, &o);
    if (o.status)
        fail_msg("%s", o.err.msg);
    assert_int_equal(read_current(cds, &v, ids, 16), 3);
    assert_int_equal(ids[0], 10);
    assert_int_equal(ids[1], 30);
    assert_int_equal(ids[2], 50);

    /* the CLI names the default it chose */
    char out[4096], errt[4096];
    const char *argv1[] = {"lakehouse", "ingest",           kind,     "--dsn",  s->user_dsn,
                           "--table",   "w_sales.w_orders", "--data", DATA_DIR, NULL};
    int rc = run_cli(argv1, out, errt, sizeof out);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, errt);
    assert_non_null(strstr(out, "dataset=w_sales_w_orders"));
    assert_non_null(strstr(errt, "dataset name 'w_sales_w_orders'"));

    /* bad combinations: one line, exit 2 */
    const char *bad[][8] = {
        {"--table", "w_orders", "--query", "SELECT 1", NULL},
        {"--query", "SELECT 1 AS id", NULL},
        {"--query", "SELECT 1 AS id", "--dataset", "x", "--columns", "id", NULL},
        {"--query", "SELECT 1 AS id", "--dataset", "x", "--where", "true", NULL},
        {"--columns", "id", NULL},
        {"--table", "", NULL},
        {"--table", "w_orders", "--where", "", NULL},
        {"--table", "a.b.c", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[16] = {"lakehouse", "ingest", kind,    "--dsn",
                                s->user_dsn, "--data", DATA_DIR};
        size_t n = 7;
        for (size_t k = 0; bad[i][k]; k++)
            argv[n++] = bad[i][k];
        argv[n] = NULL;
        rc = run_cli(argv, out, errt, sizeof out);
        if (rc != 2 || count_lines(errt) != 1)
            fail_msg("case %zu: exit %d, stderr: %s", i, rc, errt);
    }
}

static void test_what_is_copied_pg(void **state)
{
    (void)state;
    what_is_copied(&PG_SRV, "postgres");
}

static void test_what_is_copied_mysql(void **state)
{
    (void)state;
    what_is_copied(&MY_SRV, "mysql");
}

static void test_default_dataset(void **state)
{
    (void)state;
    const struct {
        enum lh_source_kind k;
        const char *dsn, *table, *want;
        bool changed;
    } cases[] = {
        {LH_SOURCE_POSTGRES, "postgres://u@h/db", "orders", "orders", false},
        {LH_SOURCE_POSTGRES, "postgres://u@h/db", "public.orders", "orders", false},
        {LH_SOURCE_POSTGRES, "postgres://u@h/db", "sales.orders", "sales_orders", true},
        {LH_SOURCE_POSTGRES, "postgres://u@h/db", "Sales.Orders", "sales_orders", true},
        {LH_SOURCE_POSTGRES, "postgres://u@h/db", "\"Mixed Case\"", "Mixed_Case", true},
        {LH_SOURCE_POSTGRES, "postgres://u@h/db", "\".hidden\"", "_hidden", true},
        {LH_SOURCE_MYSQL, "mysql://u:p@h:3306/shop?x=1", "shop.orders", "orders", false},
        {LH_SOURCE_MYSQL, "mysql://u:p@h:3306/shop", "crm.orders", "crm_orders", true},
        {LH_SOURCE_MYSQL, "mysql://u:p@h:3306/shop", "`a.b`", "a.b", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        bool changed = !cases[i].changed;
        struct lh_error err;
        if (lh_ingest_default_dataset(cases[i].k, cases[i].dsn, cases[i].table, out, sizeof out,
                                      &changed, &err) != LH_OK)
            fail_msg("%s: %s", cases[i].table, err.msg);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(changed, cases[i].changed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_dataset),
        cmocka_unit_test(test_what_is_copied_pg),
        cmocka_unit_test(test_what_is_copied_mysql),
        cmocka_unit_test(test_type_text),
        cmocka_unit_test(test_load_modes_pg),
        cmocka_unit_test(test_load_modes_mysql),
        cmocka_unit_test(test_failures_pg),
        cmocka_unit_test(test_failures_mysql),
        cmocka_unit_test(test_kill9_pg),
        cmocka_unit_test(test_kill9_mysql),
        cmocka_unit_test(test_cancel_in_open_pg),
        cmocka_unit_test(test_cancel_in_open_mysql),
        cmocka_unit_test(test_keep_versions),
        cmocka_unit_test(test_error_after_swap_keeps_version),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
