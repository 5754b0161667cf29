/*
 * test_lineage.c — a dataset knows its source (issue 15), through the real
 * `lakehouse` binary against the real PostgreSQL 15 of tests/servers.
 *
 *   source_recorded   the version records system, host, port, database,
 *                     the schema-qualified table, columns, where, mode and
 *                     "cli"; never the password; `datasets NAME` shows it
 *                     (text and --json); an incremental run records its
 *                     cursor column and watermark.
 *   source_refused    public.li_orders into li_x, then sales.li_orders and
 *                     a query into li_x: exit 1, one line naming both
 *                     sources and --replace-source, nothing published and
 *                     nothing left; with --replace-source: published, the
 *                     version records the new source.
 *   schema_policy     ALTER TABLE between runs: evolve (default) accepts an
 *                     added column and Int32 -> Int64 (the version records
 *                     and `datasets NAME` shows the change), refuses a dropped
 *                     column and Int64 -> Int32 naming them; fail refuses
 *                     an added column; replace accepts anything; a refused
 *                     run publishes nothing.
 *   policy_recorded   each version records the schema policy it ran under
 *                     and --replace-source: --schema-policy replace, then
 *                     evolve (the default), then fail with --replace-source
 *                     reading another table (source_replaced), then the
 *                     same table with --replace-source (given, not used);
 *                     `datasets NAME` shows the current one in its source
 *                     section and each version's in the versions table.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char DSN[512], PASSWORD[64], DATA[700];
static PGconn *PG;

static void sql(const char *q)
{
    PGresult *r = PQexec(PG, q);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(PG));
    PQclear(r);
}

/* Runs lakehouse with argv (NULL-terminated, argv[0] unused) and --data;
 * returns the exit code; out/errtext get stdout/stderr. */
static int lh(const char **argv, char *out, char *errtext, size_t cap)
{
    const char *args[40];
    size_t n = 0;
    args[n++] = "lakehouse";
    for (size_t i = 1; argv[i]; i++)
        args[n++] = argv[i];
    args[n++] = "--data";
    args[n++] = DATA;
    args[n] = NULL;
    char of[800], ef[800];
    snprintf(of, sizeof of, "%s.out", DATA);
    snprintf(ef, sizeof ef, "%s.err", DATA);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(of, "w", stdout) || !freopen(ef, "w", stderr))
            _exit(126);
        execv(LH_TEST_LAKEHOUSE, (char *const *)args);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    const char *files[2] = {of, ef};
    char *bufs[2] = {out, errtext};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(files[k], "r");
        assert_non_null(f);
        size_t got = fread(bufs[k], 1, cap - 1, f);
        bufs[k][got] = '\0';
        fclose(f);
    }
    return WEXITSTATUS(st);
}

static json_t *record(const char *ds)
{
    static char out[1 << 16], err[4096];
    const char *a[] = {"", "datasets", ds, "--json", NULL};
    assert_int_equal(lh(a, out, err, sizeof out), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_null(strstr(out, PASSWORD));
    return j;
}

static uint64_t current_version(const char *ds)
{
    json_t *j = record(ds);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(j, "current_version"));
    json_decref(j);
    return v;
}

/* The current version's "source" object (a new reference). */
static json_t *current_source(const char *ds)
{
    json_t *j = record(ds), *src = NULL, *vs = json_object_get(j, "versions");
    json_int_t cur = json_integer_value(json_object_get(j, "current_version"));
    for (size_t i = 0; i < json_array_size(vs); i++)
        if (json_integer_value(json_object_get(json_array_get(vs, i), "version")) == cur)
            src = json_object_get(json_array_get(vs, i), "source");
    assert_non_null(src);
    json_incref(src);
    json_decref(j);
    return src;
}

static const char *sget(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "(absent)";
}

/* Files under the dataset's directory outside metadata/ (parts, leases). */
static int part_files(const char *ds)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "find '%s/primary/datasets/%s' -type f -not -path '*/metadata/*' 2>/dev/null | wc -l",
             DATA, ds);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int n = -1;
    assert_int_equal(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

static int ingest(const char *table, const char *ds, const char *extra1, const char *extra2,
                  char *err, size_t cap)
{
    static char out[1 << 16];
    const char *a[16] = {"", "ingest", "postgres", "--dsn", DSN, "--table", table, "--dataset", ds};
    size_t n = 9;
    if (extra1)
        a[n++] = extra1;
    if (extra2)
        a[n++] = extra2;
    a[n] = NULL;
    int rc = lh(a, out, err, cap);
    if (rc != 0)
        print_message("  exit %d: %s", rc, err);
    return rc;
}

/* The error is one line: the last of stderr (phase lines may precede
 * it), the only one that starts with "lakehouse:". */
static void assert_one_line(const char *err)
{
    const char *first = strstr(err, "lakehouse:");
    assert_non_null(first);
    assert_true(first == err || first[-1] == '\n');
    assert_null(strstr(first + 1, "lakehouse:"));
    const char *nl = strchr(first, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, "");
}

static int setup(void **state)
{
    (void)state;
    char super[512];
    env_get(LH_TEST_PG_ENV, "PG_USER_DSN", DSN, sizeof DSN);
    env_get(LH_TEST_PG_ENV, "PG_PASSWORD", PASSWORD, sizeof PASSWORD);
    env_get(LH_TEST_PG_ENV, "PG_SUPER_DSN", super, sizeof super);
    snprintf(DATA, sizeof DATA, "%s/lineage/data", LH_TEST_WORK_DIR);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/lineage' && mkdir -p '%s/lineage'", LH_TEST_WORK_DIR,
             LH_TEST_WORK_DIR);
    assert_int_equal(system(cmd), 0);
    PG = PQconnectdb(super);
    assert_int_equal(PQstatus(PG), CONNECTION_OK);
    sql("SET client_min_messages = warning");
    sql("DROP SCHEMA IF EXISTS sales CASCADE");
    sql("DROP TABLE IF EXISTS li_orders, li_evolve, li_inc");
    sql("CREATE SCHEMA sales");
    sql("CREATE TABLE li_orders AS SELECT g AS id, g * 10 AS amount, 'p' || g AS note "
        "FROM generate_series(1, 80) g");
    sql("CREATE TABLE sales.li_orders AS SELECT g AS id, g * 7 AS amount "
        "FROM generate_series(1, 5) g");
    sql("CREATE TABLE li_evolve (id int, a int, b text)");
    sql("INSERT INTO li_evolve VALUES (1, 2, 'x'), (2, 3, 'y')");
    sql("CREATE TABLE li_inc (id int, v text)");
    sql("INSERT INTO li_inc SELECT g, 'v' || g FROM generate_series(1, 10) g");
    sql("GRANT USAGE ON SCHEMA sales TO PUBLIC");
    sql("GRANT SELECT ON li_orders, sales.li_orders, li_evolve, li_inc TO PUBLIC");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(PG);
    return 0;
}

static void test_source_recorded(void **state)
{
    (void)state;
    char err[4096];
    assert_int_equal(ingest("li_orders", "li_rec", "--columns", "id,amount", err, sizeof err), 0);
    json_t *src = current_source("li_rec");
    assert_string_equal(sget(src, "system"), "postgres");
    assert_string_equal(sget(src, "host"), "127.0.0.1");
    assert_true(json_integer_value(json_object_get(src, "port")) > 0);
    assert_string_equal(sget(src, "database"), "lhtest");
    assert_string_equal(sget(src, "table"), "public.li_orders");
    assert_null(json_object_get(src, "query"));
    assert_string_equal(sget(src, "columns"), "id,amount");
    assert_string_equal(sget(src, "mode"), "overwrite");
    assert_string_equal(sget(src, "made_by"), "cli");
    json_decref(src);

    /* the text view */
    static char out[1 << 16];
    const char *a[] = {"", "datasets", "li_rec", NULL};
    assert_int_equal(lh(a, out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\nsource\n  system         postgres\n"));
    assert_non_null(strstr(out, "  table          public.li_orders\n"));
    assert_non_null(strstr(out, "  columns        id,amount\n"));
    assert_non_null(strstr(out, "  made_by        cli\n"));
    assert_null(strstr(out, PASSWORD));

    /* incremental: the cursor column and the watermark */
    const char *inc[] = {"",       "ingest",  "postgres",    "--dsn",
                         DSN,      "--table", "li_inc",      "--dataset",
                         "li_inc", "--mode",  "incremental", "--cursor-column",
                         "id",     "--where", "id > 0",      NULL};
    assert_int_equal(lh(inc, out, err, sizeof err), 0);
    src = current_source("li_inc");
    assert_string_equal(sget(src, "mode"), "incremental");
    assert_string_equal(sget(src, "cursor_column"), "id");
    assert_string_equal(sget(src, "where"), "id > 0");
    json_decref(src);
    const char *show[] = {"", "datasets", "li_inc", NULL};
    assert_int_equal(lh(show, out, err, sizeof err), 0);
    assert_non_null(strstr(out, "  watermark      10\n"));
}

static void test_source_refused(void **state)
{
    (void)state;
    char err[4096];
    assert_int_equal(ingest("li_orders", "li_x", NULL, NULL, err, sizeof err), 0);
    assert_int_equal(current_version("li_x"), 1);
    int files = part_files("li_x");

    /* another table: refused before reading, nothing published or left */
    assert_int_equal(ingest("sales.li_orders", "li_x", NULL, NULL, err, sizeof err), 1);
    assert_one_line(err);
    assert_non_null(strstr(err, "dataset li_x holds postgres://127.0.0.1:"));
    assert_non_null(strstr(err, "/lhtest public.li_orders; this run reads sales.li_orders"));
    assert_non_null(strstr(err, "--replace-source"));
    assert_null(strstr(err, PASSWORD));
    assert_int_equal(current_version("li_x"), 1);
    assert_int_equal(part_files("li_x"), files);

    /* a query: refused too, naming the query */
    static char out[1 << 16];
    const char *q[] = {"",        "ingest",          "postgres",  "--dsn", DSN,
                       "--query", "SELECT 1 AS one", "--dataset", "li_x",  NULL};
    assert_int_equal(lh(q, out, err, sizeof err), 1);
    assert_one_line(err);
    assert_non_null(strstr(err, "this run reads the query 'SELECT 1 AS one'"));
    assert_int_equal(current_version("li_x"), 1);

    /* the same table again: fine */
    assert_int_equal(ingest("public.li_orders", "li_x", NULL, NULL, err, sizeof err), 0);
    assert_int_equal(current_version("li_x"), 2);

    /* --replace-source: published, the version records the new source */
    assert_int_equal(ingest("sales.li_orders", "li_x", "--replace-source", NULL, err, sizeof err),
                     0);
    assert_int_equal(current_version("li_x"), 3);
    json_t *src = current_source("li_x");
    assert_string_equal(sget(src, "table"), "sales.li_orders");
    json_decref(src);
    /* and from now on the old table is the other source */
    assert_int_equal(ingest("li_orders", "li_x", NULL, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "holds postgres://"));
    assert_non_null(strstr(err, "sales.li_orders; this run reads public.li_orders"));
}

static void test_schema_policy(void **state)
{
    (void)state;
    char err[4096];
    assert_int_equal(ingest("li_evolve", "li_ev", NULL, NULL, err, sizeof err), 0);

    /* evolve (default): an added column and a widened type pass */
    sql("ALTER TABLE li_evolve ADD COLUMN c bigint, ALTER COLUMN a TYPE bigint");
    assert_int_equal(ingest("li_evolve", "li_ev", NULL, NULL, err, sizeof err), 0);
    assert_int_equal(current_version("li_ev"), 2);
    /* the version records the change; `datasets NAME` shows it */
    json_t *rec = record("li_ev");
    json_t *vs = json_object_get(rec, "versions");
    assert_null(json_object_get(json_array_get(vs, 0), "schema_change"));
    assert_string_equal(sget(json_array_get(vs, 1), "schema_change"),
                        "a Int32 -> Int64; added c Int64");
    json_decref(rec);
    static char out[1 << 16];
    const char *show[] = {"", "datasets", "li_ev", NULL};
    assert_int_equal(lh(show, out, err, sizeof err), 0);
    assert_non_null(strstr(out, "  schema change  a Int32 -> Int64; added c Int64\n"));

    /* fail: any change fails, naming it */
    sql("ALTER TABLE li_evolve ADD COLUMN d text");
    assert_int_equal(ingest("li_evolve", "li_ev", "--schema-policy", "fail", err, sizeof err), 1);
    assert_one_line(err);
    assert_non_null(strstr(err, "added d Utf8"));
    assert_non_null(strstr(err, "schema policy is fail"));
    assert_int_equal(current_version("li_ev"), 2);
    assert_int_equal(ingest("li_evolve", "li_ev", NULL, NULL, err, sizeof err), 0);
    assert_int_equal(current_version("li_ev"), 3);
    int files = part_files("li_ev");

    /* evolve refuses a dropped column and a narrowed type, naming both */
    sql("ALTER TABLE li_evolve DROP COLUMN b, ALTER COLUMN a TYPE int");
    assert_int_equal(ingest("li_evolve", "li_ev", NULL, NULL, err, sizeof err), 1);
    assert_one_line(err);
    assert_non_null(strstr(err, "a Int64 -> Int32"));
    assert_non_null(strstr(err, "dropped b"));
    assert_non_null(strstr(err, "--schema-policy replace"));
    assert_int_equal(current_version("li_ev"), 3);
    assert_int_equal(part_files("li_ev"), files);
    /* a type that is not a widening (bigint -> text) too */
    sql("ALTER TABLE li_evolve ADD COLUMN b text, ALTER COLUMN a TYPE bigint, "
        "ALTER COLUMN c TYPE text");
    assert_int_equal(ingest("li_evolve", "li_ev", NULL, NULL, err, sizeof err), 1);
    assert_non_null(strstr(err, "c Int64 -> Utf8"));

    /* replace: anything goes */
    sql("ALTER TABLE li_evolve DROP COLUMN d");
    assert_int_equal(ingest("li_evolve", "li_ev", "--schema-policy", "replace", err, sizeof err),
                     0);
    assert_int_equal(current_version("li_ev"), 4);

    /* a bad policy is a usage error */
    assert_int_equal(ingest("li_evolve", "li_ev", "--schema-policy", "loose", err, sizeof err), 2);
    assert_one_line(err);
    assert_non_null(strstr(err, "--schema-policy is evolve, fail or replace"));
}

/* Version v's "source" object (borrowed from rec). */
static json_t *version_source(json_t *rec, json_int_t v)
{
    json_t *vs = json_object_get(rec, "versions");
    for (size_t i = 0; i < json_array_size(vs); i++)
        if (json_integer_value(json_object_get(json_array_get(vs, i), "version")) == v)
            return json_object_get(json_array_get(vs, i), "source");
    fail_msg("no version %lld", (long long)v);
    return NULL;
}

static void test_policy_recorded(void **state)
{
    (void)state;
    char err[4096];
    sql("DROP TABLE IF EXISTS li_pol");
    sql("CREATE TABLE li_pol AS SELECT g AS id, g * 2 AS v FROM generate_series(1, 4) g");
    sql("GRANT SELECT ON li_pol TO PUBLIC");
    assert_int_equal(ingest("li_pol", "li_pol", "--schema-policy", "replace", err, sizeof err), 0);
    assert_int_equal(ingest("li_pol", "li_pol", NULL, NULL, err, sizeof err), 0);
    static char out[1 << 16];
    const char *a3[] = {"",        "ingest",           "postgres",  "--dsn",  DSN,
                        "--table", "li_orders",        "--dataset", "li_pol", "--schema-policy",
                        "fail",    "--replace-source", NULL};
    assert_int_equal(lh(a3, out, err, sizeof err), 0);
    const char *a4[] = {"",       "ingest",           "postgres",  "--dsn",
                        DSN,      "--table",          "li_orders", "--dataset",
                        "li_pol", "--replace-source", NULL};
    assert_int_equal(lh(a4, out, err, sizeof err), 0);

    json_t *rec = record("li_pol");
    static const struct {
        json_int_t version;
        const char *policy;
        bool replace_source, source_replaced;
    } want[] = {{1, "replace", false, false},
                {2, "evolve", false, false},
                {3, "fail", true, true},
                {4, "evolve", true, false}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *src = version_source(rec, want[i].version);
        assert_non_null(src);
        print_message("  v%lld: %s\n", (long long)want[i].version, sget(src, "schema_policy"));
        assert_string_equal(sget(src, "schema_policy"), want[i].policy);
        assert_true(json_is_boolean(json_object_get(src, "replace_source")));
        assert_int_equal(json_is_true(json_object_get(src, "replace_source")),
                         want[i].replace_source);
        assert_int_equal(json_is_true(json_object_get(src, "source_replaced")),
                         want[i].source_replaced);
    }
    json_decref(rec);

    /* the text view: the current one's in the source section, each
     * version's in the table */
    const char *show[] = {"", "datasets", "li_pol", NULL};
    assert_int_equal(lh(show, out, err, sizeof err), 0);
    assert_non_null(strstr(out, "  schema policy  evolve, --replace-source\n"));
    const char *vt = strstr(out, "\nversions\n");
    assert_non_null(vt);
    assert_non_null(strstr(vt, " POLICY "));
    assert_non_null(strstr(vt, "  evolve, --replace-source  "));
    assert_non_null(strstr(vt, "  fail, source replaced  "));
    assert_non_null(strstr(vt, "  replace  "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_recorded),
        cmocka_unit_test(test_source_refused),
        cmocka_unit_test(test_schema_policy),
        cmocka_unit_test(test_policy_recorded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
