/*
 * test_observe.c — watching a run (issue 14): phases, the row estimate, the
 * run log, the schema change, cancel in every phase, and the progress of
 * `lakehouse ingest` when stderr is not a terminal. Against the real
 * PostgreSQL 15 and MariaDB of tests/servers (ctest fixtures).
 *
 *   phases_{pg,mysql}       on_progress: connecting, reading (rows 0, the
 *                           estimate), reading per batch with growing rows,
 *                           publishing; never backwards.
 *   estimate_{pg,mysql}     an analyzed table: the server's count; with a
 *                           limit min(limit, count); none with a WHERE, for
 *                           a query, for a view, for a never-analyzed table.
 *   log_{pg,mysql}          on_log: the server and its version, the
 *                           statement with the operator's WHERE, the parts,
 *                           the read summary, the publish; no password and
 *                           no DSN in any line; a failing WHERE logs the
 *                           statement and the server's error in full.
 *   schema_change           added / dropped / retyped columns between two
 *                           versions: res.schema_change and a log line.
 *   cancel_{pg,mysql}       lh_ingest_cancel from another thread while
 *                           connecting (a loopback listener that never
 *                           answers), reading (a view sleeping per row) and
 *                           publishing (held in the publishing callback):
 *                           LH_E_CANCELLED, nothing published, nothing left.
 *                           The latency of each is printed.
 *   cli_progress_pipe       `lakehouse ingest` of the slow view with stderr to
 *                           a pipe: phase lines and a progress line (rows,
 *                           rate, elapsed) about every 5 s, no terminal codes;
 *                           rows show although a default batch (65,536 rows)
 *                           of this view would take minutes to fill.
 *   cli_progress_tty        the same on a terminal (script(1)): percent of
 *                           the estimate.
 *
 * Timings are printed, never asserted beyond generous hang guards.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"

struct srv {
    enum lh_source_kind kind;
    const char *name; /* "postgres" / "mysql" */
    char user_dsn[512];
    char password[64];
    PGconn *pg;
    MYSQL *my;
};

static struct srv PG = {.kind = LH_SOURCE_POSTGRES, .name = "postgres"},
                  MY = {.kind = LH_SOURCE_MYSQL, .name = "mysql"};
static char DATA_DIR[700];
static char WORK[400];

/* ------------------------------------------------------------- helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

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

static void srv_setup(struct srv *s, const char *envfile)
{
    char v[512], db[64], sock[512];
    if (s->kind == LH_SOURCE_POSTGRES) {
        env_get(envfile, "PG_USER_DSN", s->user_dsn, sizeof s->user_dsn);
        env_get(envfile, "PG_PASSWORD", s->password, sizeof s->password);
        env_get(envfile, "PG_SUPER_DSN", v, sizeof v);
        s->pg = PQconnectdb(v);
        assert_int_equal(PQstatus(s->pg), CONNECTION_OK);
        exec_sql(s, "SET client_min_messages = warning");
        exec_sql(s, "DROP VIEW IF EXISTS ob_slow");
        exec_sql(s, "DROP VIEW IF EXISTS ob_view");
        exec_sql(s, "DROP TABLE IF EXISTS ob_rows, ob_fresh, ob_evolve");
        exec_sql(s, "CREATE TABLE ob_rows AS SELECT g AS id, md5(g::text) AS h FROM "
                    "generate_series(1, 50000) g");
        exec_sql(s, "ANALYZE ob_rows");
        exec_sql(s, "CREATE TABLE ob_fresh (id int)"); /* never analyzed: reltuples -1 */
        exec_sql(s, "CREATE VIEW ob_view AS SELECT id FROM ob_rows");
        exec_sql(s, "CREATE OR REPLACE FUNCTION ob_row(g int) RETURNS int LANGUAGE plpgsql "
                    "VOLATILE AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN g; END $$");
        exec_sql(s, "CREATE VIEW ob_slow AS SELECT ob_row(g) AS id, repeat('x', 100) AS pad "
                    "FROM generate_series(1, 10000000) g");
        exec_sql(s, "GRANT SELECT ON ob_rows, ob_fresh, ob_view, ob_slow TO PUBLIC");
    } else {
        env_get(envfile, "MY_USER_DSN", s->user_dsn, sizeof s->user_dsn);
        env_get(envfile, "MY_PASSWORD", s->password, sizeof s->password);
        env_get(envfile, "MY_DB", db, sizeof db);
        env_get(envfile, "MY_SOCKET", sock, sizeof sock);
        s->my = mysql_init(NULL);
        assert_non_null(mysql_real_connect(s->my, NULL, "root", NULL, db, 0, sock, 0));
        exec_sql(s, "DROP VIEW IF EXISTS ob_slow");
        exec_sql(s, "DROP VIEW IF EXISTS ob_view");
        exec_sql(s, "DROP TABLE IF EXISTS ob_rows, ob_fresh, ob_evolve");
        exec_sql(s, "CREATE TABLE ob_rows (id int NOT NULL PRIMARY KEY, h char(32)) "
                    "ENGINE=InnoDB");
        exec_sql(s, "INSERT INTO ob_rows SELECT seq, md5(seq) FROM seq_1_to_50000");
        exec_sql(s, "ANALYZE TABLE ob_rows");
        exec_sql(s, "CREATE VIEW ob_view AS SELECT id FROM ob_rows");
        exec_sql(s, "CREATE VIEW ob_slow AS SELECT seq AS id, REPEAT('x', 100) AS pad, "
                    "SLEEP(0.002) AS z FROM seq_1_to_10000000");
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(WORK, sizeof WORK, "%s/observe", LH_TEST_WORK_DIR);
    snprintf(DATA_DIR, sizeof DATA_DIR, "%s/data", WORK);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", WORK, WORK);
    assert_int_equal(system(cmd), 0);
    srv_setup(&PG, LH_TEST_PG_ENV);
    srv_setup(&MY, LH_TEST_MY_ENV);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(PG.pg);
    mysql_close(MY.my);
    return 0;
}

static struct lh_store_set *open_set(void)
{
    struct lh_store_set *set;
    struct lh_error err;
    assert_int_equal(lh_store_set_open(DATA_DIR, NULL, NULL, &set, &err), LH_OK);
    return set;
}

/* No record, no part, no lease, no temporary file, no run directory. */
static void assert_nothing(const char *dataset)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/primary/_catalog/%s.json", DATA_DIR, dataset);
    struct stat st;
    if (stat(p, &st) == 0)
        fail_msg("dataset %s was published", dataset);
    char cmd[1400], out[512] = "";
    snprintf(cmd, sizeof cmd,
             "find '%s/primary/datasets/%s' -mindepth 1 -not -path '*/metadata*' "
             "2>/dev/null",
             DATA_DIR, dataset);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    pclose(f);
    out[n] = '\0';
    if (n)
        fail_msg("dataset %s: left behind: %s", dataset, out);
}

/* ------------------------------------------------------------- recorder */

#define MAX_EVENTS 4096
#define MAX_LINES 512

struct recorder {
    struct lh_ingest_progress ev[MAX_EVENTS];
    size_t nev;
    char *lines[MAX_LINES];
    enum lh_log_level levels[MAX_LINES];
    size_t nlines;
    /* cancel hooks */
    struct lh_ingest_job *job;
    int cancel_phase; /* -1: none; else cancel once this phase shows (with rows > 0 if reading) */
    double cancel_at; /* when lh_ingest_cancel was called */
    pthread_t th;
    bool have_th;
    bool hold; /* publishing: wait in the callback until the cancel was made */
};

static void *cancel_thread(void *arg)
{
    struct recorder *r = arg;
    sleep_ms(r->cancel_phase == LH_INGEST_CONNECTING ? 500 : 50);
    r->cancel_at = now_s();
    lh_ingest_cancel(r->job);
    return NULL;
}

static void rec_progress(void *ctx, const struct lh_ingest_progress *p)
{
    struct recorder *r = ctx;
    if (r->nev < MAX_EVENTS)
        r->ev[r->nev++] = *p;
    if (r->cancel_phase < 0 || r->have_th || (int)p->phase != r->cancel_phase)
        return;
    if (p->phase == LH_INGEST_READING && p->rows == 0)
        return;
    assert_int_equal(pthread_create(&r->th, NULL, cancel_thread, r), 0);
    r->have_th = true;
    if (r->hold) { /* keep the run in this phase until the cancel has been made */
        pthread_join(r->th, NULL);
        r->have_th = false;
        r->cancel_phase = -1;
    }
}

static void rec_log(void *ctx, enum lh_log_level level, const char *line)
{
    struct recorder *r = ctx;
    assert_null(strchr(line, '\n'));
    if (r->nlines < MAX_LINES) {
        r->levels[r->nlines] = level;
        r->lines[r->nlines++] = strdup(line);
    }
}

static void rec_free(struct recorder *r)
{
    for (size_t i = 0; i < r->nlines; i++)
        free(r->lines[i]);
    r->nlines = 0;
}

static const char *rec_find(const struct recorder *r, const char *needle)
{
    for (size_t i = 0; i < r->nlines; i++)
        if (strstr(r->lines[i], needle))
            return r->lines[i];
    return NULL;
}

static void rec_print(const struct recorder *r)
{
    for (size_t i = 0; i < r->nlines; i++)
        print_message("    log %d: %s\n", (int)r->levels[i], r->lines[i]);
}

static void rec_assert_has(const struct recorder *r, const char *needle)
{
    if (!rec_find(r, needle)) {
        rec_print(r);
        fail_msg("the run log has no line with \"%s\"", needle);
    }
}

/* No line carries the password or the DSN. */
static void rec_assert_no_secret(const struct recorder *r, const struct srv *s)
{
    for (size_t i = 0; i < r->nlines; i++) {
        if (strstr(r->lines[i], s->password) || strstr(r->lines[i], s->user_dsn))
            fail_msg("a log line leaks the password or DSN: %s", r->lines[i]);
    }
}

struct outcome {
    enum lh_status status;
    struct lh_ingest_result res;
    struct lh_error err;
    double took, cancel_latency;
};

static void run(struct srv *s, const struct lh_ingest_options *base, struct recorder *r,
                struct outcome *o)
{
    struct lh_store_set *set = open_set();
    struct lh_ingest_options opt = *base;
    opt.kind = s->kind;
    if (!opt.dsn)
        opt.dsn = s->user_dsn;
    opt.on_progress = rec_progress;
    opt.on_log = rec_log;
    opt.progress_ctx = r;
    lh_error_clear(&o->err);
    memset(&o->res, 0, sizeof o->res);
    o->status = lh_ingest_job_create(set, &opt, &r->job, &o->err);
    assert_int_equal(o->status, LH_OK);
    double t0 = now_s();
    o->status = lh_ingest_run(r->job, &o->res, &o->err);
    double t1 = now_s();
    o->took = t1 - t0;
    if (r->have_th)
        pthread_join(r->th, NULL);
    o->cancel_latency = r->cancel_at > 0 ? t1 - r->cancel_at : -1;
    lh_ingest_job_destroy(r->job);
    r->job = NULL;
    lh_store_set_close(set);
}

static struct recorder *rec_new(void)
{
    struct recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->cancel_phase = -1;
    return r;
}

/* ------------------------------------------------------------- phases */

static void phases(struct srv *s, const char *ds)
{
    struct recorder *r = rec_new();
    struct outcome o;
    struct lh_ingest_options opt = {.table = "ob_rows", .dataset = ds, .batch_size = 5000};
    run(s, &opt, r, &o);
    if (o.status != LH_OK)
        fail_msg("%s", o.err.msg);
    assert_true(r->nev >= 4);
    assert_int_equal(r->ev[0].phase, LH_INGEST_CONNECTING);
    assert_int_equal(r->ev[0].rows, 0);
    assert_int_equal(r->ev[1].phase, LH_INGEST_READING);
    assert_int_equal(r->ev[1].rows, 0);
    assert_int_equal(r->ev[r->nev - 1].phase, LH_INGEST_PUBLISHING);
    assert_int_equal(r->ev[r->nev - 1].rows, 50000);
    size_t reading_batches = 0;
    for (size_t i = 1; i < r->nev; i++) {
        assert_true(r->ev[i].phase >= r->ev[i - 1].phase); /* never backwards */
        assert_true(r->ev[i].rows >= r->ev[i - 1].rows);
        assert_true(r->ev[i].elapsed_s >= r->ev[i - 1].elapsed_s);
        if (r->ev[i].phase == LH_INGEST_READING && r->ev[i].rows > 0)
            reading_batches++;
    }
    /* one per batch of 5000 (more only if a batch took over a second to
     * fill on a stalled machine: batches are also cut by age) */
    assert_true(reading_batches >= 10);
    size_t npub = 0;
    for (size_t i = 0; i < r->nev; i++)
        npub += r->ev[i].phase == LH_INGEST_PUBLISHING;
    assert_int_equal(npub, 1);
    print_message("  %s: %zu progress events, %.2f s\n", s->name, r->nev, o.took);
    rec_free(r);
    free(r);
}

static void test_phases_pg(void **state)
{
    (void)state;
    phases(&PG, "ob_phases_pg");
}

static void test_phases_mysql(void **state)
{
    (void)state;
    phases(&MY, "ob_phases_my");
}

/* ------------------------------------------------------------- estimate */

/* The estimate the run reported when reading began. */
static int64_t estimate_of(struct srv *s, const struct lh_ingest_options *opt)
{
    struct recorder *r = rec_new();
    struct outcome o;
    run(s, opt, r, &o);
    if (o.status != LH_OK)
        fail_msg("%s", o.err.msg);
    int64_t e = -2;
    for (size_t i = 0; i < r->nev; i++) {
        if (r->ev[i].phase == LH_INGEST_READING) {
            if (e == -2)
                e = r->ev[i].estimated_rows;
            assert_int_equal(r->ev[i].estimated_rows, e); /* the same in every event */
        }
    }
    rec_free(r);
    free(r);
    return e;
}

static void estimate(struct srv *s, const char *ds)
{
    /* one dataset, several sources (a view, a query): each replaces it */
    struct lh_ingest_options opt = {.table = "ob_rows", .dataset = ds, .replace_source = true};
    int64_t whole = estimate_of(s, &opt);
    print_message("  %s: estimate of a 50000-row table: %lld\n", s->name, (long long)whole);
    if (s->kind == LH_SOURCE_POSTGRES)
        assert_int_equal(whole, 50000); /* ANALYZE counted every row of a small table */
    else
        assert_true(whole > 25000 && whole < 100000); /* InnoDB samples */
    opt.limit = 1000;
    assert_int_equal(estimate_of(s, &opt), 1000);
    opt.limit = 10000000;
    assert_int_equal(estimate_of(s, &opt), whole);
    opt.limit = 0;
    opt.where = "id <= 10";
    assert_true(estimate_of(s, &opt) < 0);
    opt.where = NULL;
    opt.table = "ob_view";
    assert_true(estimate_of(s, &opt) < 0);
    opt.table = NULL;
    opt.query = "SELECT id FROM ob_rows";
    assert_true(estimate_of(s, &opt) < 0);
    if (s->kind == LH_SOURCE_POSTGRES) {
        opt.query = NULL;
        opt.table = "ob_fresh";
        assert_true(estimate_of(s, &opt) < 0);
    }
}

static void test_estimate_pg(void **state)
{
    (void)state;
    estimate(&PG, "ob_est_pg");
}

static void test_estimate_mysql(void **state)
{
    (void)state;
    estimate(&MY, "ob_est_my");
}

/* ------------------------------------------------------------- log */

static void run_log_case(struct srv *s, const char *ds)
{
    struct recorder *r = rec_new();
    struct outcome o;
    struct lh_ingest_options opt = {.table = "ob_rows",
                                    .dataset = ds,
                                    .where = "id <= 30000 AND h <> 'lh-marker'",
                                    .part_bytes = 256 << 10,
                                    .batch_size = 2000};
    run(s, &opt, r, &o);
    if (o.status != LH_OK)
        fail_msg("%s", o.err.msg);
    rec_print(r);
    rec_assert_has(r, "connected to ");
    rec_assert_has(r, s->kind == LH_SOURCE_POSTGRES ? ": PostgreSQL 15" : ": MariaDB ");
    rec_assert_has(r, s->kind == LH_SOURCE_POSTGRES ? "statement: COPY (SELECT "
                                                    : "statement: SELECT ");
    rec_assert_has(r, "id <= 30000 AND h <> 'lh-marker'"); /* the operator's WHERE, as sent */
    rec_assert_has(r, "row estimate: about ");
    rec_assert_has(r, "part written: datasets/");
    rec_assert_has(r, "read 30000 rows in ");
    rec_assert_has(r, "published version 1 of dataset ");
    assert_true(o.res.files >= 2);
    size_t parts = 0;
    for (size_t i = 0; i < r->nlines; i++)
        parts += strstr(r->lines[i], "part written: ") != NULL;
    assert_int_equal(parts, (size_t)o.res.files); /* one line per part, not per batch */
    assert_true(r->nlines < 30);
    rec_assert_no_secret(r, s);
    rec_free(r);

    /* a failing WHERE: the statement, then the server's error in full */
    opt.where = "no_such_column > 1";
    run(s, &opt, r, &o);
    assert_int_not_equal(o.status, LH_OK);
    rec_print(r);
    rec_assert_has(r, "no_such_column > 1");
    const char *last = r->lines[r->nlines - 1];
    assert_int_equal(r->levels[r->nlines - 1], LH_LOG_ERROR);
    assert_non_null(strstr(last, "failed ("));
    assert_non_null(strstr(last, "no_such_column"));
    assert_non_null(strstr(last, o.err.msg));
    rec_assert_no_secret(r, s);
    rec_free(r);

    /* a wrong password: the error, and still no password */
    char badpw[600];
    const char *at = strrchr(s->user_dsn, '@');
    const char *colon = strchr(strstr(s->user_dsn, "://") + 3, ':');
    snprintf(badpw, sizeof badpw, "%.*s:Wr0ng-secret-pw%s", (int)(colon - s->user_dsn), s->user_dsn,
             at);
    opt.dsn = badpw;
    opt.where = NULL;
    run(s, &opt, r, &o);
    assert_int_equal(o.status, LH_E_AUTH);
    rec_print(r);
    for (size_t i = 0; i < r->nlines; i++)
        if (strstr(r->lines[i], "Wr0ng-secret-pw"))
            fail_msg("a log line leaks the password: %s", r->lines[i]);
    assert_non_null(strstr(r->lines[r->nlines - 1], "authentication failed"));
    rec_free(r);
    free(r);
}

static void test_log_pg(void **state)
{
    (void)state;
    run_log_case(&PG, "ob_log_pg");
}

static void test_log_mysql(void **state)
{
    (void)state;
    run_log_case(&MY, "ob_log_my");
}

/* ------------------------------------------------------------- schema change */

static void test_schema_change(void **state)
{
    (void)state;
    struct recorder *r = rec_new();
    struct outcome o;
    exec_sql(&PG, "CREATE TABLE ob_evolve (id int NOT NULL, a int, b text, c int)");
    exec_sql(&PG, "INSERT INTO ob_evolve VALUES (1, 2, 'x', 3)");
    exec_sql(&PG, "GRANT SELECT ON ob_evolve TO PUBLIC");
    struct lh_ingest_options opt = {
        .table = "ob_evolve", .dataset = "ob_evolve", .schema_policy = LH_INGEST_SCHEMA_REPLACE};
    run(&PG, &opt, r, &o);
    assert_int_equal(o.status, LH_OK);
    assert_string_equal(o.res.schema_change, ""); /* a new dataset */
    rec_free(r);
    run(&PG, &opt, r, &o); /* the same columns */
    assert_int_equal(o.status, LH_OK);
    assert_string_equal(o.res.schema_change, "");
    assert_null(rec_find(r, "schema changed"));
    rec_free(r);

    exec_sql(&PG, "ALTER TABLE ob_evolve ADD COLUMN d bigint, DROP COLUMN b, "
                  "ALTER COLUMN c TYPE bigint, ALTER COLUMN a SET NOT NULL");
    run(&PG, &opt, r, &o);
    assert_int_equal(o.status, LH_OK);
    print_message("  schema_change: %s\n", o.res.schema_change);
    assert_string_equal(o.res.schema_change,
                        "a nullable -> not null; c Int32 -> Int64; added d Int64; dropped b");
    rec_assert_has(r, "schema changed since the previous version: a nullable -> not null; c "
                      "Int32 -> Int64; added d Int64; dropped b");
    rec_free(r);
    free(r);
}

/* ------------------------------------------------------------- cancel */

/* A loopback listener that never accepts: the kernel completes the TCP
 * handshake, the server never says a word. */
static int silent_listener(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void cancel_case(struct srv *s, enum lh_ingest_phase phase, const char *ds)
{
    struct recorder *r = rec_new();
    struct outcome o;
    struct lh_ingest_options opt = {.dataset = ds, .batch_size = 100};
    char dsn[600];
    int lfd = -1;
    r->cancel_phase = (int)phase;
    switch (phase) {
    case LH_INGEST_CONNECTING: {
        unsigned port;
        lfd = silent_listener(&port);
        snprintf(dsn, sizeof dsn, "%s://u:pw@127.0.0.1:%u/db",
                 s->kind == LH_SOURCE_POSTGRES ? "postgresql" : "mysql", port);
        opt.dsn = dsn;
        opt.table = "t";
        break;
    }
    case LH_INGEST_READING:
        opt.table = "ob_slow";
        break;
    case LH_INGEST_PUBLISHING:
        opt.table = "ob_rows";
        opt.batch_size = 5000;
        r->hold = true;
        break;
    }
    run(s, &opt, r, &o);
    if (lfd >= 0)
        close(lfd);
    print_message("  cancel %s while %s: %s, %.2f s after the cancel (run %.2f s): %s\n", s->name,
                  lh_ingest_phase_name(phase), lh_status_str(o.status), o.cancel_latency, o.took,
                  o.err.msg);
    if (o.status != LH_E_CANCELLED) {
        rec_print(r);
        fail_msg("want cancelled, got %s: %s", lh_status_str(o.status), o.err.msg);
    }
    assert_true(o.cancel_latency >= 0);
    /* a behaviour bound, not a timing: the connect timeout (10 s) and the
     * slow view (hours) were not waited out */
    assert_true(o.cancel_latency < 5.0);
    assert_false(o.res.published);
    assert_int_equal(o.res.version, 0);
    /* the phase was the one asked for when the cancel came */
    assert_int_equal(r->ev[r->nev - 1].phase, phase);
    const char *last = r->lines[r->nlines - 1];
    assert_int_equal(r->levels[r->nlines - 1], LH_LOG_WARN);
    assert_non_null(strstr(last, "cancelled; nothing published"));
    assert_nothing(ds);
    rec_free(r);
    free(r);
}

static void test_cancel_pg(void **state)
{
    (void)state;
    cancel_case(&PG, LH_INGEST_CONNECTING, "ob_cancel_c_pg");
    cancel_case(&PG, LH_INGEST_READING, "ob_cancel_r_pg");
    cancel_case(&PG, LH_INGEST_PUBLISHING, "ob_cancel_p_pg");
}

static void test_cancel_mysql(void **state)
{
    (void)state;
    cancel_case(&MY, LH_INGEST_CONNECTING, "ob_cancel_c_my");
    cancel_case(&MY, LH_INGEST_READING, "ob_cancel_r_my");
    cancel_case(&MY, LH_INGEST_PUBLISHING, "ob_cancel_p_my");
}

/* ------------------------------------------------------------- CLI */

/* Starts `lakehouse ARGS` with stderr to a pipe (*errfd) and stdout to
 * /dev/null. */
static pid_t spawn_pipe(const char *const *args, int *errfd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[64];
        int n = 0;
        argv[n++] = LH_TEST_LAKEHOUSE;
        for (size_t i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    close(p[1]);
    *errfd = p[0];
    return pid;
}

/* Reads what is there within ms into buf (NUL-terminated); false at EOF. */
static bool read_some(int fd, char *buf, size_t cap, size_t *len, int ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, ms) <= 0)
        return true;
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n <= 0)
        return false;
    *len += (size_t)n;
    buf[*len] = '\0';
    return true;
}

static void cli_pipe(struct srv *s)
{
    char data[700];
    snprintf(data, sizeof data, "%s/cli-%s", WORK, s->name);
    /* the default batch size (65,536 rows, 2 minutes of this view): batches
     * are handed out after a second however few rows they hold */
    const char *args[] = {"ingest",    s->name,  "--dsn",  s->user_dsn, "--table", "ob_slow",
                          "--dataset", "ob_cli", "--data", data,        NULL};
    int fd;
    double t0 = now_s();
    pid_t pid = spawn_pipe(args, &fd);
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    /* two progress lines while reading: the second ~5 s after the first */
    double first = 0, second = 0;
    while (now_s() - t0 < 40 && !second) {
        if (!read_some(fd, buf, cap, &len, 200))
            break;
        char *p = buf;
        int n = 0;
        while ((p = strstr(p, "ingest ob_cli: reading: "))) {
            n++;
            p++;
        }
        if (n >= 1 && !first)
            first = now_s();
        if (n >= 2)
            second = now_s();
    }
    double since = now_s();
    kill(pid, SIGTERM);
    while (read_some(fd, buf, cap, &len, 200))
        if (now_s() - since > 20)
            break;
    int st = 0;
    waitpid(pid, &st, 0);
    close(fd);
    print_message("  cli %s, stderr a pipe: progress lines %.1f s and %.1f s after start; "
                  "exit %d after SIGTERM; stderr:\n%s",
                  s->name, first ? first - t0 : -1, second ? second - t0 : -1,
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1, buf);
    assert_true(first > 0 && second > 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(buf, "ingest ob_cli: connecting"));
    assert_non_null(strstr(buf, "ingest ob_cli: reading"));
    assert_non_null(strstr(buf, " rows/s, "));
    assert_null(strstr(buf, "reading: 0 rows")); /* rows came in, batch by batch */
    assert_non_null(strstr(buf, " elapsed"));
    assert_non_null(strstr(buf, "cancelled"));
    assert_null(strchr(buf, '\r'));
    assert_null(strchr(buf, '\033'));
    assert_null(strstr(buf, s->password));
    free(buf);
}

static void test_cli_progress_pipe(void **state)
{
    (void)state;
    cli_pipe(&PG);
    cli_pipe(&MY);
}

/* On a terminal (script(1) gives the CLI one): the phase line shows the
 * percent of the estimate. */
static void test_cli_progress_tty(void **state)
{
    (void)state;
    char data[700], cmd[3000], out[700];
    snprintf(data, sizeof data, "%s/cli-tty", WORK);
    snprintf(out, sizeof out, "%s/cli-tty.typescript", WORK);
    snprintf(cmd, sizeof cmd,
             "script -qec \"'%s' ingest postgres --dsn '%s' --table ob_rows --dataset ob_tty "
             "--batch-size 5000 --data '%s' >/dev/null\" '%s' >/dev/null 2>&1",
             LH_TEST_LAKEHOUSE, PG.user_dsn, data, out);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\033')
            *p = '^';
    print_message("  cli tty: %s\n", buf);
    assert_non_null(strstr(buf, "[Kreading"));
    assert_non_null(strstr(buf, "% of about 50000"));
    assert_non_null(strstr(buf, "publishing"));
    assert_non_null(strstr(buf, "100% of about 50000"));
    free(buf);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phases_pg),        cmocka_unit_test(test_phases_mysql),
        cmocka_unit_test(test_estimate_pg),      cmocka_unit_test(test_estimate_mysql),
        cmocka_unit_test(test_log_pg),           cmocka_unit_test(test_log_mysql),
        cmocka_unit_test(test_schema_change),    cmocka_unit_test(test_cancel_pg),
        cmocka_unit_test(test_cancel_mysql),     cmocka_unit_test(test_cli_progress_pipe),
        cmocka_unit_test(test_cli_progress_tty),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
