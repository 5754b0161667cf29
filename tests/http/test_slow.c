/*
 * test_slow.c — hostile clients cannot stop the daemon from answering
 * /api/health: 500 idle connections, slowloris senders dripping header
 * bytes, half-sent bodies and garbage, all open at once on loopback, while
 * a real client asks for /api/health (bounded by a generous deadline that
 * only catches a hang, not a slow machine). Then everything is closed and
 * the daemon still stops cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IDLE 500
#define SLOW 20
#define HALF 20

static char dir[256];

static void health_ok(struct daemon *d)
{
    struct reply r;
    if (!http_do(d, "GET", "/api/health", NULL, NULL, NULL, 0, &r))
        fail_msg("/api/health did not answer");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ok\""));
    reply_free(&r);
}

static void test_slowloris(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-http-slow-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct daemon d;
    const char *args[] = {"--data", dir, NULL};
    assert_true(daemon_start(&d, args, NULL));

    static int idle[IDLE], slow[SLOW], half[HALF];
    for (int i = 0; i < IDLE; i++) {
        idle[i] = raw_connect(&d);
        assert_true(idle[i] >= 0);
    }
    char req[256];
    snprintf(req, sizeof req, "GET /api/health HTTP/1.1\r\nHost: %s\r\nX-Pad: aaaaaaaa\r\n",
             d.addr);
    for (int i = 0; i < SLOW; i++) {
        slow[i] = raw_connect(&d);
        assert_true(slow[i] >= 0);
    }
    for (int i = 0; i < HALF; i++) {
        half[i] = raw_connect(&d);
        assert_true(half[i] >= 0);
        char h[256];
        if (i % 2)
            snprintf(h, sizeof h,
                     "POST /api/indexes HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                     "{\"index\":",
                     d.addr);
        else
            snprintf(h, sizeof h, "%s", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-tls-hello");
        send(half[i], h, strlen(h), MSG_NOSIGNAL);
    }
    /* drip the header bytes one at a time across the slow connections,
     * asking for health in between */
    for (size_t b = 0; b < strlen(req); b++) {
        for (int i = 0; i < SLOW; i++)
            send(slow[i], &req[b], 1, MSG_NOSIGNAL);
        if (b % 16 == 0)
            health_ok(&d);
        usleep(2000);
    }
    health_ok(&d);
    /* many more fresh connections while all of the above stay open */
    for (int k = 0; k < 20; k++)
        health_ok(&d);

    for (int i = 0; i < IDLE; i++)
        close(idle[i]);
    for (int i = 0; i < SLOW; i++)
        close(slow[i]);
    for (int i = 0; i < HALF; i++)
        close(half[i]);
    health_ok(&d);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
    unlink(d.errlog);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Requests pipelined with a half-sent body on the same connection as a
 * stop: the daemon still exits within its grace period (the idle timeout
 * bounds what a stalled client can hold), with exit code 0. */
static void test_stop_with_stalled_client(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-http-slow-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/serve.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "{\"http\": {\"shutdown_secs\": 2, \"timeout_secs\": 2}}\n");
    fclose(f);
    struct daemon d;
    const char *args[] = {"--data", dir, "--config", cfg, NULL};
    assert_true(daemon_start(&d, args, NULL));
    int fd = raw_connect(&d);
    assert_true(fd >= 0);
    char h[256];
    snprintf(h, sizeof h,
             "POST /api/indexes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: 50\r\n\r\n{\"ind",
             d.addr);
    send(fd, h, strlen(h), MSG_NOSIGNAL);
    health_ok(&d);
    assert_int_equal(daemon_stop(&d, SIGTERM), 0);
    close(fd);
    unlink(d.errlog);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_stop_with_stalled_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
