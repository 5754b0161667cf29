/*
 * test_frozen.c — a frozen source must not hang a run (issue 12 item 8),
 * and server notices never reach stderr raw (item 15).
 *
 * The real `lakehouse ingest` and `lakehouse serve` read an endless slow
 * view (PostgreSQL: COPY; MariaDB: an unbuffered fetch) through
 * lh_freeze_proxy (freeze_proxy.c), which the test freezes mid-stream:
 * nothing moves either way, yet the kernel keeps the TCP connections
 * healthy, as with a SIGSTOPped server or a stalled link. Cases:
 *
 *   cli_timeout_{pg,mysql}   --statement-timeout 2000, proxy frozen: exit 1
 *                            with "timed out"; nothing published.
 *   cli_sigterm_{pg,mysql}   no timeout, proxy frozen, SIGTERM: exit 1 with
 *                            "cancelled"; nothing published.
 *   cli_sigterm_pg_sigstop   the PostgreSQL postmaster and our backend
 *                            SIGSTOPped (the cancel request itself then
 *                            hangs), SIGTERM: the CLI still ends.
 *   cli_sigterm_kills_mysql_query  a healthy MariaDB running a 30 s query,
 *                            SIGTERM: the CLI ends and the query is gone
 *                            from the server (the KILL was not lost).
 *   daemon                   a schedule with timeout_secs through the frozen
 *                            proxy is recorded as `timeout`; then runs of
 *                            both kinds frozen and SIGTERM: the daemon exits
 *                            (grace_secs 1) with status 0; nothing published.
 *   after each case          the proxy thawed, the next run through it works.
 *   notices                  a view whose function RAISEs a WARNING: stderr
 *                            has no raw "WARNING:" line, our log line has it.
 *
 * The latencies are printed (the issue asks for them); the only bound
 * asserted is a generous hang guard (timeout or signal + 15 s), well below
 * "minutes" but far from any scheduling noise.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server_env.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define HANG_GUARD_S 15.0

struct server {
    const char *kind; /* "postgres" / "mysql" */
    char port[16];
    char user_dsn[512];
    char proxy_dsn[512];
    char super[512]; /* psql DSN / mariadb socket */
    pid_t proxy;
    unsigned proxy_port;
};

static struct server PG = {.kind = "postgres"}, MY = {.kind = "mysql"};
static char WORK[512];
/* What a failed case may leave behind, undone before the next one. */
static pid_t g_daemon, g_stopped[2];

/* ------------------------------------------------------------ helpers */

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

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    assert_non_null(out);
    if (p) {
        size_t n = fread(out, 1, 65535, p);
        out[n] = '\0';
        pclose(p);
    }
    return out;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *out = calloc(1, 1 << 20);
    assert_non_null(out);
    if (f) {
        size_t n = fread(out, 1, (1 << 20) - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    return out;
}

static void sql(struct server *s, const char *text)
{
    int rc;
    if (s == &PG)
        rc = sh("/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 '%s' "
                "-c 'SET client_min_messages = warning' -c \"%s\" >/dev/null",
                s->super, text);
    else
        rc = sh("mariadb --no-defaults -uroot --socket='%s' lhtest -e \"%s\"", s->super, text);
    if (rc != 0)
        fail_msg("%s: %s failed", s->kind, text);
}

/* Is the slow read streaming on the server right now? */
static bool streaming(struct server *s)
{
    char *out;
    if (s == &PG)
        out = capture("/usr/lib/postgresql/15/bin/psql -X -At '%s' -c \"SELECT count(*) FROM "
                      "pg_stat_activity WHERE application_name = 'lakehouse' AND state = "
                      "'active' AND query LIKE 'COPY%%fz_slow%%'\" 2>/dev/null",
                      s->super);
    else
        out = capture("mariadb --no-defaults -uroot --socket='%s' -N -B -e \"SELECT count(*) "
                      "FROM information_schema.PROCESSLIST WHERE USER = 'lh_test' AND INFO LIKE "
                      "'SELECT%%fz_slow%%'\" 2>/dev/null",
                      s->super);
    bool yes = atoi(out) > 0;
    free(out);
    return yes;
}

static void wait_streaming(struct server *s)
{
    for (int i = 0; i < 200; i++) {
        if (streaming(s)) {
            sleep_ms(300); /* rows are flowing through the proxy */
            return;
        }
        sleep_ms(50);
    }
    fail_msg("%s: the slow read never started", s->kind);
}

static void proxy_start(struct server *s)
{
    char portfile[700];
    snprintf(portfile, sizeof portfile, "%s/proxy-%s.port", WORK, s->kind);
    unlink(portfile);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(LH_TEST_PROXY, LH_TEST_PROXY, s->port, portfile, (char *)NULL);
        _exit(127);
    }
    s->proxy = pid;
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            unsigned p = 0;
            int n = fscanf(f, "%u", &p);
            fclose(f);
            if (n == 1 && p) {
                s->proxy_port = p;
                /* the user DSN with the proxy's port */
                char *colon = strrchr(s->user_dsn, ':');
                char *slash = strchr(colon, '/');
                snprintf(s->proxy_dsn, sizeof s->proxy_dsn, "%.*s:%u%s", (int)(colon - s->user_dsn),
                         s->user_dsn, p, slash);
                return;
            }
        }
        sleep_ms(20);
    }
    fail_msg("proxy for %s did not start", s->kind);
}

static void freeze(struct server *s)
{
    assert_int_equal(kill(s->proxy, SIGUSR1), 0);
}

static void thaw(struct server *s)
{
    assert_int_equal(kill(s->proxy, SIGUSR2), 0);
}

/* Starts `lakehouse ARGS...` with stdout/stderr to files under WORK. */
static pid_t spawn(const char *const *args, const char *tag)
{
    char out[700], err[700];
    snprintf(out, sizeof out, "%s/%s.out", WORK, tag);
    snprintf(err, sizeof err, "%s/%s.err", WORK, tag);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[64];
        int n = 0;
        argv[n++] = LH_TEST_LAKEHOUSE;
        for (size_t i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0)
            _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    return pid;
}

/* Waits for pid at most guard_s; kills it (and fails) past that. Returns
 * the exit code; *took is the time from `since`. */
static int wait_exit(pid_t pid, double since, double guard_s, double *took, const char *what)
{
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (now_s() - since > guard_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("%s: still running %.1f s later (killed)", what, now_s() - since);
        }
        sleep_ms(20);
    }
    *took = now_s() - since;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* No catalog record, and no part file of the dataset anywhere. */
static void assert_unpublished(const char *data, const char *dataset)
{
    char p[900];
    snprintf(p, sizeof p, "%s/primary/_catalog/%s.json", data, dataset);
    if (exists(p))
        fail_msg("dataset %s was published", dataset);
    char *parts =
        capture("find '%s/primary/datasets/%s' -name '*.parquet' 2>/dev/null", data, dataset);
    if (parts[0])
        fail_msg("dataset %s left parts: %s", dataset, parts);
    free(parts);
}

/* The next run through the thawed proxy works. */
static void next_run_works(struct server *s, const char *data, const char *dataset)
{
    const char *args[] = {"ingest",    s->kind, "--dsn",  s->proxy_dsn, "--table", "fz_small",
                          "--dataset", dataset, "--data", data,         "--json",  NULL};
    char tag[64];
    snprintf(tag, sizeof tag, "next-%s", dataset);
    double t0 = now_s(), took;
    int rc = wait_exit(spawn(args, tag), t0, 60, &took, "next run");
    if (rc != 0) {
        char e[700];
        snprintf(e, sizeof e, "%s/%s.err", WORK, tag);
        char *text = read_file(e);
        fail_msg("%s: the run after the thaw failed (%d): %s", s->kind, rc, text);
    }
    char p[900];
    snprintf(p, sizeof p, "%s/primary/_catalog/%s.json", data, dataset);
    assert_true(exists(p));
}

static void fresh_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", WORK, name);
    sh("rm -rf '%s'", out);
    assert_int_equal(mkdir(out, 0755), 0);
}

/* ------------------------------------------------------------ setup */

static int group_setup(void **state)
{
    (void)state;
    snprintf(WORK, sizeof WORK, "%s/frozen", LH_TEST_WORK_DIR);
    sh("rm -rf '%s'", WORK);
    if (mkdir(WORK, 0755) != 0)
        return -1;
    daemon_log_dir = WORK;
    env_get(LH_TEST_PG_ENV, "PG_PORT", PG.port, sizeof PG.port);
    env_get(LH_TEST_PG_ENV, "PG_USER_DSN", PG.user_dsn, sizeof PG.user_dsn);
    env_get(LH_TEST_PG_ENV, "PG_SUPER_DSN", PG.super, sizeof PG.super);
    env_get(LH_TEST_MY_ENV, "MY_PORT", MY.port, sizeof MY.port);
    env_get(LH_TEST_MY_ENV, "MY_USER_DSN", MY.user_dsn, sizeof MY.user_dsn);
    env_get(LH_TEST_MY_ENV, "MY_SOCKET", MY.super, sizeof MY.super);
    /* endless slow views (~2 KB rows, a few ms each) and a small table */
    sql(&PG, "CREATE OR REPLACE FUNCTION fz_row(g int) RETURNS int LANGUAGE plpgsql VOLATILE AS "
             "\\$\\$ BEGIN PERFORM pg_sleep(0.002); RETURN g; END \\$\\$");
    sql(&PG, "CREATE OR REPLACE VIEW fz_slow AS SELECT fz_row(g) AS id, repeat('x', 2000) AS "
             "pad FROM generate_series(1, 10000000) g");
    sql(&PG, "DROP TABLE IF EXISTS fz_small; CREATE TABLE fz_small AS SELECT g AS id FROM "
             "generate_series(1, 10) g");
    sql(&PG, "CREATE OR REPLACE FUNCTION fz_warn() RETURNS int LANGUAGE plpgsql VOLATILE AS "
             "\\$\\$ BEGIN RAISE WARNING 'fz-canary-warning'; RAISE NOTICE 'fz-canary-notice'; "
             "RETURN 1; END \\$\\$");
    sql(&PG, "CREATE OR REPLACE VIEW fz_warns AS SELECT fz_warn() AS x");
    sql(&MY, "CREATE OR REPLACE VIEW fz_slow AS SELECT seq AS id, REPEAT('x', 2000) AS pad, "
             "SLEEP(0.002) AS z FROM seq_1_to_10000000");
    sql(&MY, "CREATE OR REPLACE VIEW fz_sleep AS SELECT 1 AS id, SLEEP(30) AS z");
    sql(&MY, "DROP TABLE IF EXISTS fz_small; CREATE TABLE fz_small AS SELECT seq AS id FROM "
             "seq_1_to_10");
    proxy_start(&PG);
    proxy_start(&MY);
    return 0;
}

/* Before each case and at the end: thaw, continue, kill what a failed
 * case left. */
static int reset(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        if (g_stopped[i] > 0)
            kill(g_stopped[i], SIGCONT);
    g_stopped[0] = g_stopped[1] = 0;
    if (PG.proxy > 0)
        kill(PG.proxy, SIGUSR2);
    if (MY.proxy > 0)
        kill(MY.proxy, SIGUSR2);
    if (g_daemon > 0) {
        kill(g_daemon, SIGKILL);
        waitpid(g_daemon, NULL, 0);
        g_daemon = 0;
    }
    return 0;
}

static int group_teardown(void **state)
{
    reset(state);
    struct server *all[] = {&PG, &MY};
    for (int i = 0; i < 2; i++) {
        if (all[i]->proxy > 0) {
            kill(all[i]->proxy, SIGTERM);
            waitpid(all[i]->proxy, NULL, 0);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ CLI */

/* A CLI ingest of the slow view through the proxy, frozen mid-stream;
 * with timeout_ms it must end by itself, else SIGTERM ends it. */
static void cli_frozen(struct server *s, int64_t timeout_ms, const char *tag)
{
    char data[700], ms[32];
    fresh_dir(data, sizeof data, tag);
    snprintf(ms, sizeof ms, "%lld", (long long)timeout_ms);
    const char *args[20] = {"ingest",       s->kind,   "--dsn",     s->proxy_dsn,
                            "--table",      "fz_slow", "--dataset", "frozen",
                            "--batch-size", "100",     "--data",    data};
    int n = 12;
    if (timeout_ms > 0) {
        args[n++] = "--statement-timeout";
        args[n++] = ms;
    }
    args[n] = NULL;
    double t0 = now_s();
    pid_t pid = spawn(args, tag);
    wait_streaming(s);
    freeze(s);
    double t_freeze = now_s(), since, took;
    if (timeout_ms > 0) {
        since = t0;
    } else {
        sleep_ms(500); /* the reader is now stuck on the frozen link */
        since = now_s();
        assert_int_equal(kill(pid, SIGTERM), 0);
    }
    double guard = (double)timeout_ms / 1000.0 + HANG_GUARD_S;
    int rc = wait_exit(pid, since, guard, &took, tag);
    char errf[700];
    snprintf(errf, sizeof errf, "%s/%s.err", WORK, tag);
    char *err = read_file(errf);
    if (timeout_ms > 0)
        print_message("  %s: %s statement timeout %lld ms, frozen %.2f s after start: exit %d "
                      "%.2f s after start (timeout + %.2f s)\n",
                      tag, s->kind, (long long)timeout_ms, t_freeze - t0, rc, took,
                      took - (double)timeout_ms / 1000.0);
    else
        print_message("  %s: %s frozen, SIGTERM: exit %d %.2f s after the signal\n", tag, s->kind,
                      rc, took);
    print_message("    stderr: %s", err);
    assert_int_equal(rc, 1);
    if (!strstr(err, timeout_ms > 0 ? "timed out" : "cancelled"))
        fail_msg("%s: stderr lacks \"%s\": %s", tag, timeout_ms > 0 ? "timed out" : "cancelled",
                 err);
    free(err);
    assert_unpublished(data, "frozen");
    thaw(s);
    next_run_works(s, data, "after");
}

static void test_cli_timeout_pg(void **state)
{
    (void)state;
    cli_frozen(&PG, 2000, "cli-timeout-pg");
}

static void test_cli_timeout_mysql(void **state)
{
    (void)state;
    cli_frozen(&MY, 2000, "cli-timeout-my");
}

static void test_cli_sigterm_pg(void **state)
{
    (void)state;
    cli_frozen(&PG, 0, "cli-sigterm-pg");
}

static void test_cli_sigterm_mysql(void **state)
{
    (void)state;
    cli_frozen(&MY, 0, "cli-sigterm-my");
}

/* The postmaster and our backend SIGSTOPped mid-COPY (no proxy): the
 * cancel request then gets no answer at all. */
static void test_cli_sigterm_pg_sigstop(void **state)
{
    (void)state;
    char data[700];
    fresh_dir(data, sizeof data, "sigstop-pg");
    const char *args[] = {"ingest",  "postgres",  "--dsn",  PG.user_dsn,    "--table",
                          "fz_slow", "--dataset", "frozen", "--batch-size", "100",
                          "--data",  data,        NULL};
    pid_t pid = spawn(args, "sigstop-pg");
    wait_streaming(&PG);
    char *backend = capture("/usr/lib/postgresql/15/bin/psql -X -At '%s' -c \"SELECT pid FROM "
                            "pg_stat_activity WHERE application_name = 'lakehouse' AND query "
                            "LIKE 'COPY%%fz_slow%%'\"",
                            PG.super);
    char sockdir[512], pidfile[900];
    env_get(LH_TEST_PG_ENV, "PG_SOCKDIR", sockdir, sizeof sockdir);
    snprintf(pidfile, sizeof pidfile, "%s/data/postmaster.pid", sockdir);
    char *pm = read_file(pidfile);
    pid_t pm_pid = (pid_t)atoi(pm), be_pid = (pid_t)atoi(backend);
    assert_true(pm_pid > 0 && be_pid > 0);
    g_stopped[0] = be_pid;
    g_stopped[1] = pm_pid;
    assert_int_equal(kill(be_pid, SIGSTOP), 0);
    assert_int_equal(kill(pm_pid, SIGSTOP), 0);
    sleep_ms(500);
    double since = now_s(), took;
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = wait_exit(pid, since, HANG_GUARD_S, &took, "sigstop-pg");
    kill(pm_pid, SIGCONT);
    kill(be_pid, SIGCONT);
    g_stopped[0] = g_stopped[1] = 0;
    char errf[700];
    snprintf(errf, sizeof errf, "%s/sigstop-pg.err", WORK);
    char *err = read_file(errf);
    print_message("  sigstop-pg: postgres server SIGSTOPped, SIGTERM: exit %d %.2f s after the "
                  "signal\n    stderr: %s",
                  rc, took, err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "cancelled"));
    assert_unpublished(data, "frozen");
    free(err);
    free(pm);
    free(backend);
    next_run_works(&PG, data, "after");
}

/* Server threads running the fz_sleep query. */
static int sleep_queries(void)
{
    char *out = capture("mariadb --no-defaults -uroot --socket='%s' -N -B -e \"SELECT count(*) "
                        "FROM information_schema.PROCESSLIST WHERE USER = 'lh_test' AND "
                        "INFO LIKE 'SELECT%%fz_sleep%%'\"",
                        MY.super);
    int n = atoi(out);
    free(out);
    return n;
}

/* A healthy server: SIGTERM while the server runs a 30 s query. The CLI
 * ends at once and the query does not run on (the KILL was sent before
 * the process exited). */
static void test_cli_sigterm_kills_mysql_query(void **state)
{
    (void)state;
    char data[700];
    fresh_dir(data, sizeof data, "kill-my");
    const char *args[] = {"ingest",   "mysql",  "--dsn", MY.user_dsn, "--table",
                          "fz_sleep", "--data", data,    NULL};
    pid_t pid = spawn(args, "kill-my");
    bool seen = false;
    for (int i = 0; i < 200 && !seen; i++) {
        seen = sleep_queries() > 0;
        if (!seen)
            sleep_ms(50);
    }
    assert_true(seen);
    double since = now_s(), took;
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = wait_exit(pid, since, HANG_GUARD_S, &took, "kill-my");
    int left = -1;
    for (int i = 0; i < 100 && left != 0; i++) {
        left = sleep_queries();
        if (left)
            sleep_ms(50);
    }
    print_message("  kill-my: SIGTERM during a 30 s server query: exit %d %.2f s after the "
                  "signal; queries left on the server: %d\n",
                  rc, took, left);
    assert_int_equal(rc, 1);
    assert_int_equal(left, 0);
}

/* ------------------------------------------------------------ daemon */

static json_t *api(struct daemon *d, const char *method, const char *path, const char *body,
                   long *status)
{
    struct reply r;
    assert_true(http_do(d, method, path, body ? "application/json" : NULL, NULL, body,
                        body ? strlen(body) : 0, &r));
    *status = r.status;
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    reply_free(&r);
    return j;
}

static void post_schedule(struct daemon *d, const char *id, struct server *s, const char *dataset,
                          int timeout_secs)
{
    char body[2048], tmo[64] = "";
    long st;
    if (timeout_secs)
        snprintf(tmo, sizeof tmo, ",\"timeout_secs\":%d", timeout_secs);
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"kind\":{\"type\":\"%s\",\"dsn\":\"%s\",\"table\":\"fz_slow\","
             "\"dataset_name\":\"%s\",\"batch_size\":100},\"trigger\":{\"type\":\"interval\","
             "\"secs\":3600},\"enabled\":true%s}",
             id, s->kind, s->proxy_dsn, dataset, tmo);
    json_t *j = api(d, "POST", "/api/schedules", body, &st);
    if (st != 201)
        fail_msg("POST schedule %s: %ld", id, st);
    json_decref(j);
}

/* The schedule's first run record once it is finished (NULL: not yet). */
static json_t *finished_run(struct daemon *d, const char *id)
{
    char path[256];
    long st;
    snprintf(path, sizeof path, "/api/schedules/%s/runs", id);
    json_t *j = api(d, "GET", path, NULL, &st);
    json_t *r0 = j ? json_array_get(json_object_get(j, "runs"), 0) : NULL;
    if (r0)
        json_incref(r0);
    json_decref(j);
    return r0;
}

static void test_daemon(void **state)
{
    (void)state;
    char data[700], cfg[800];
    fresh_dir(data, sizeof data, "daemon");
    snprintf(cfg, sizeof cfg, "%s/config.json", data);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("{\"grace_secs\": 1, \"workers\": 4}\n", f);
    fclose(f);
    struct daemon d;
    const char *args[] = {"--data", data, "--config", cfg, NULL};
    assert_true(daemon_start(&d, args, NULL));
    g_daemon = d.pid;

    /* 1. a timeout through a frozen link, both kinds at once */
    const int timeout = 3;
    struct server *both[] = {&PG, &MY};
    const char *ids[] = {"tmo-pg", "tmo-my"};
    double t0 = now_s();
    post_schedule(&d, ids[0], &PG, "tmo_pg", timeout);
    post_schedule(&d, ids[1], &MY, "tmo_my", timeout);
    for (int i = 0; i < 2; i++)
        wait_streaming(both[i]);
    for (int i = 0; i < 2; i++)
        freeze(both[i]);
    for (int i = 0; i < 2; i++) {
        json_t *r = NULL;
        while (!(r = finished_run(&d, ids[i]))) {
            if (now_s() - t0 > timeout + HANG_GUARD_S)
                fail_msg("%s: the run is still active %.1f s after it started", ids[i],
                         now_s() - t0);
            sleep_ms(50);
        }
        const char *outcome = json_string_value(json_object_get(r, "outcome"));
        const char *msg = json_string_value(json_object_get(r, "message"));
        double secs = json_number_value(json_object_get(r, "duration_secs"));
        print_message("  daemon %s: timeout_secs %d, frozen: outcome %s after %.2f s "
                      "(observed %.2f s): %s\n",
                      ids[i], timeout, outcome ? outcome : "?", secs, now_s() - t0,
                      msg ? msg : "?");
        assert_string_equal(outcome, "timeout");
        json_decref(r);
    }
    assert_unpublished(data, "tmo_pg");
    assert_unpublished(data, "tmo_my");
    for (int i = 0; i < 2; i++)
        thaw(both[i]);

    /* 2. shutdown with runs of both kinds stuck on frozen links */
    post_schedule(&d, "stuck-pg", &PG, "stuck_pg", 0);
    post_schedule(&d, "stuck-my", &MY, "stuck_my", 0);
    for (int i = 0; i < 2; i++)
        wait_streaming(both[i]);
    for (int i = 0; i < 2; i++)
        freeze(both[i]);
    sleep_ms(500);
    double since = now_s(), took;
    assert_int_equal(kill(d.pid, SIGTERM), 0);
    int rc = wait_exit(d.pid, since, 1 + HANG_GUARD_S, &took, "lakehouse serve");
    d.pid = g_daemon = 0;
    print_message("  daemon: SIGTERM with 2 frozen runs, grace_secs 1: exit %d %.2f s after "
                  "the signal (grace + %.2f s)\n",
                  rc, took, took - 1);
    assert_int_equal(rc, 0);
    assert_unpublished(data, "stuck_pg");
    assert_unpublished(data, "stuck_my");
    for (int i = 0; i < 2; i++) {
        thaw(both[i]);
        next_run_works(both[i], data, i ? "after_my" : "after_pg");
    }
}

/* ------------------------------------------------------------ notices */

static void test_notices(void **state)
{
    (void)state;
    char data[700];
    fresh_dir(data, sizeof data, "notices");
    const char *args[] = {"ingest",   "postgres", "--dsn", PG.user_dsn, "--table",
                          "fz_warns", "--data",   data,    NULL};
    double t0 = now_s(), took;
    int rc = wait_exit(spawn(args, "notices"), t0, 60, &took, "notices");
    char errf[700];
    snprintf(errf, sizeof errf, "%s/notices.err", WORK);
    char *err = read_file(errf);
    print_message("  notices: exit %d; stderr:\n%s", rc, err);
    assert_int_equal(rc, 0);
    for (char *line = err; *line;) {
        size_t n = strcspn(line, "\n");
        if (!strncmp(line, "WARNING:", 8) || !strncmp(line, "NOTICE:", 7))
            fail_msg("a raw server notice reached stderr: %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    assert_non_null(strstr(err, "server warning: fz-canary-warning"));
    free(err);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_notices, reset),
        cmocka_unit_test_setup(test_cli_timeout_pg, reset),
        cmocka_unit_test_setup(test_cli_timeout_mysql, reset),
        cmocka_unit_test_setup(test_cli_sigterm_pg, reset),
        cmocka_unit_test_setup(test_cli_sigterm_mysql, reset),
        cmocka_unit_test_setup(test_cli_sigterm_pg_sigstop, reset),
        cmocka_unit_test_setup(test_cli_sigterm_kills_mysql_query, reset),
        cmocka_unit_test_setup(test_daemon, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
