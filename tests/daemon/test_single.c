/*
 * test_single.c — one daemon per store (issue 12, item 10), with the real
 * `lakehouse serve` binary:
 *   - a second daemon on the same data directory exits non-zero with one
 *     line naming the first (pid, address); the first keeps serving and its
 *     `_daemon.json` stays;
 *   - kill -9 of the first, then a start: it starts (the lock dies with
 *     the process), N rounds;
 *   - only the owner removes `_daemon.json`;
 *   - the CLI refuses to write the schedules of a store whose daemon holds
 *     the lease but cannot be reached, instead of writing behind its back;
 *   - on an S3 store (s3rver): the lease refuses a second daemon and
 *     expires after a kill -9.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon.h"
#include "s3helper.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY "LAKEHOUSE_SECRET_KEY=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"

static char dir[256];

/* Runs the binary with argv (NULL-terminated, argv[0] not included) and
 * env entries; waits up to 60 s; returns the exit code (-1 when killed or
 * still running) and the captured stderr+stdout in out. */
static int run_cmd(const char *const *args, const char *const *env, char *out, size_t cap)
{
    char path[300];
    snprintf(path, sizeof path, "%s/cmd-%d.out", dir, (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[32];
        int n = 0;
        argv[n++] = LH_TEST_LAKEHOUSE;
        for (size_t i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        putenv((char *)KEY);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    int st = 0;
    bool done = false;
    for (int i = 0; i < 600 && !done; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            done = true;
        else
            usleep(100000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(out, 1, cap - 1, f) : 0;
    out[got] = '\0';
    if (f)
        fclose(f);
    return done && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static long daemon_file_pid(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/primary/_daemon.json", dir);
    char *t = slurp(p);
    json_t *o = t ? json_loads(t, 0, NULL) : NULL;
    free(t);
    long pid = json_is_integer(json_object_get(o, "pid"))
                   ? (long)json_integer_value(json_object_get(o, "pid"))
                   : 0;
    json_decref(o);
    return pid;
}

static bool healthy(struct daemon *d)
{
    struct reply r;
    bool ok = http_do(d, "GET", "/api/health", NULL, NULL, NULL, 0, &r) && r.status == 200;
    reply_free(&r);
    return ok;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-single-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    daemon_log_dir = dir;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A second daemon on the same directory: refused with one line naming the
 * first; the first keeps serving, its _daemon.json stays. */
static void test_second_refused(void **state)
{
    (void)state;
    struct daemon a;
    const char *args[] = {"--data", dir, NULL};
    assert_true(daemon_start(&a, args, NULL));
    char out[8192];
    const char *b_args[] = {"serve", "--listen", "127.0.0.1:0", "--data", dir, NULL};
    int rc = run_cmd(b_args, NULL, out, sizeof out);
    printf("second daemon: exit %d: %s", rc, out);
    assert_true(rc > 0);
    char want[64];
    snprintf(want, sizeof want, "pid %d ", (int)a.pid);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, a.addr));
    assert_non_null(strstr(out, "another daemon"));
    /* one line */
    assert_non_null(strchr(out, '\n'));
    assert_null(strchr(out, '\n') + 1 < out + strlen(out) ? strchr(strchr(out, '\n') + 1, '\n')
                                                           : NULL);
    assert_true(healthy(&a));
    assert_int_equal(daemon_file_pid(), (long)a.pid);
    /* the CLI still goes through the first daemon */
    const char *add[] = {"schedule", "add", "s1", "--data", dir, "--postgres", "--dsn",
                         "postgresql://u@127.0.0.1:1/db", "--table", "t", "--every", "1h",
                         "--disabled", NULL};
    rc = run_cmd(add, NULL, out, sizeof out);
    printf("schedule add: exit %d: %s", rc, out);
    struct reply r;
    assert_true(http_do(&a, "GET", "/api/schedules/s1", NULL, NULL, NULL, 0, &r));
    printf("GET s1: %ld\n", r.status);
    assert_int_equal(r.status, rc == 0 ? 200 : 404);
    reply_free(&r);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    assert_int_equal(daemon_file_pid(), 0); /* the owner removed it on its way out */
}

/* kill -9, then start: the lock died with the process. */
static void test_kill9_restart(void **state)
{
    (void)state;
    const char *args[] = {"--data", dir, NULL};
    int rounds = 5, started = 0;
    for (int i = 0; i < rounds; i++) {
        struct daemon a;
        if (!daemon_start(&a, args, NULL))
            continue;
        started++;
        assert_true(healthy(&a));
        daemon_stop(&a, SIGKILL);
    }
    printf("kill -9 then restart: %d/%d starts\n", started, rounds);
    assert_int_equal(started, rounds);
    struct daemon b;
    assert_true(daemon_start(&b, args, NULL));
    assert_int_equal(daemon_file_pid(), (long)b.pid);
    assert_int_equal(daemon_stop(&b, SIGTERM), 0);
}

/* Only the owner removes _daemon.json: one that names another instance
 * stays when a daemon stops. */
static void test_only_owner_removes(void **state)
{
    (void)state;
    struct daemon a;
    const char *args[] = {"--data", dir, NULL};
    assert_true(daemon_start(&a, args, NULL));
    char p[300];
    snprintf(p, sizeof p, "%s/primary/_daemon.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "{\"pid\": 1, \"host\": \"elsewhere\", \"url\": \"http://127.0.0.1:9\", "
               "\"instance\": \"someone-else\"}\n");
    fclose(f);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    char *t = slurp(p);
    assert_non_null(t);
    assert_non_null(strstr(t, "someone-else"));
    free(t);
    unlink(p);
}

/* A daemon holds the store but is not reachable through _daemon.json:
 * the CLI refuses to change schedules instead of writing the store. */
static void test_cli_refuses_behind_daemon(void **state)
{
    (void)state;
    struct daemon a;
    const char *args[] = {"--data", dir, NULL};
    assert_true(daemon_start(&a, args, NULL));
    char p[300];
    snprintf(p, sizeof p, "%s/primary/_daemon.json", dir);
    unlink(p); /* as the old code's second daemon did on its way out */
    char out[8192];
    const char *add[] = {"schedule", "add", "behind", "--data", dir, "--postgres", "--dsn",
                         "postgresql://u@127.0.0.1:1/db", "--table", "t", "--every", "1h",
                         "--disabled", NULL};
    int rc = run_cmd(add, NULL, out, sizeof out);
    printf("schedule add behind a daemon: exit %d: %s", rc, out);
    assert_true(rc > 0);
    assert_non_null(strstr(out, "a daemon serves this store"));
    char want[64];
    snprintf(want, sizeof want, "pid %d ", (int)a.pid);
    assert_non_null(strstr(out, want));
    char sk[300];
    snprintf(sk, sizeof sk, "%s/primary/_schedules/behind.json", dir);
    struct stat sb;
    assert_int_not_equal(stat(sk, &sb), 0); /* nothing written */
    /* reading is fine */
    const char *list[] = {"schedule", "list", "--data", dir, NULL};
    assert_int_equal(run_cmd(list, NULL, out, sizeof out), 0);
    assert_int_equal(daemon_stop(&a, SIGTERM), 0);
    /* no daemon: the CLI writes the store itself */
    rc = run_cmd(add, NULL, out, sizeof out);
    printf("schedule add without a daemon: exit %d: %s", rc, out);
    assert_int_equal(rc, 0);
    assert_int_equal(stat(sk, &sb), 0);
}

/* S3: the lease object refuses a second daemon, and expires after the
 * holder is killed with -9. */
static void test_s3_lease(void **state)
{
    (void)state;
    struct s3srv srv;
    assert_int_equal(s3srv_start(&srv, "lhlease"), 0);
    char ep[96];
    snprintf(ep, sizeof ep, "AWS_ENDPOINT_URL=http://127.0.0.1:%d", srv.port);
    const char *env[] = {ep, "AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER",
                         "LAKEHOUSE_LEASE_TTL_SECS=4", NULL};
    const char *args[] = {"--store", "s3://lhlease/lake", NULL};
    struct daemon a;
    assert_true(daemon_start(&a, args, env));
    char out[8192];
    const char *b_args[] = {"serve", "--listen", "127.0.0.1:0", "--store", "s3://lhlease/lake",
                            NULL};
    int rc = run_cmd(b_args, env, out, sizeof out);
    printf("second daemon on s3: exit %d: %s", rc, out);
    assert_true(rc > 0);
    char want[64];
    snprintf(want, sizeof want, "pid %d ", (int)a.pid);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, a.addr));
    /* the holder outlives several ttl periods: its heartbeat renews */
    sleep(9);
    rc = run_cmd(b_args, env, out, sizeof out);
    printf("second daemon on s3 after 9 s: exit %d: %s", rc, out);
    assert_true(rc > 0);
    assert_true(healthy(&a));
    /* kill -9: the lease expires, and a new daemon starts */
    daemon_stop(&a, SIGKILL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct daemon b;
    bool up = false;
    for (int i = 0; i < 30 && !up; i++) {
        up = daemon_start(&b, args, env);
        if (!up)
            sleep(1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("s3 lease taken over %.1f s after kill -9 (ttl 4 s)\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    assert_true(up);
    assert_true(healthy(&b));
    assert_int_equal(daemon_stop(&b, SIGTERM), 0);
    /* a clean stop gives the lease up at once */
    struct daemon c;
    assert_true(daemon_start(&c, args, env));
    assert_int_equal(daemon_stop(&c, SIGTERM), 0);
    s3srv_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_refused),
        cmocka_unit_test(test_kill9_restart),
        cmocka_unit_test(test_only_owner_removes),
        cmocka_unit_test(test_cli_refuses_behind_daemon),
        cmocka_unit_test(test_s3_lease),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
