/*
 * s3helper.h — starts a real S3 server (s3rver from tests/node) on a random
 * loopback port for one test process, and stops it. Header-only; included
 * by the store and catalog tests.
 */
#ifndef LH_TEST_S3HELPER_H
#define LH_TEST_S3HELPER_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct s3srv {
    pid_t pid;
    int in_fd; /* closing it makes the server exit */
    int port;
    char dir[256];
};

/* Returns 0 and fills srv, or -1 (message on stderr). */
static int s3srv_start(struct s3srv *srv, const char *bucket)
{
    memset(srv, 0, sizeof *srv);
    snprintf(srv->dir, sizeof srv->dir, "/tmp/lh-s3rver-XXXXXX");
    if (!mkdtemp(srv->dir))
        return -1;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        setenv("NODE_PATH", LH_TEST_NODE_DIR "/node_modules", 1);
        /* s3rver's continuation tokens use DES: needs OpenSSL's legacy provider */
        execlp("node", "node", "--openssl-legacy-provider", LH_TEST_SRC_DIR "/s3rver.mjs", srv->dir,
               bucket, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    srv->pid = pid;
    srv->in_fd = in[1];
    char line[128];
    size_t got = 0;
    while (got < sizeof line - 1) {
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        int r = poll(&p, 1, 60000);
        if (r <= 0)
            break;
        ssize_t k = read(out[0], line + got, sizeof line - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        line[got] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    line[got] = '\0';
    close(out[0]);
    if (sscanf(line, "PORT %d", &srv->port) != 1 || srv->port <= 0) {
        fprintf(stderr, "s3rver did not start: '%s'\n", line);
        return -1;
    }
    return 0;
}

static void s3srv_stop(struct s3srv *srv)
{
    if (srv->pid <= 0)
        return;
    close(srv->in_fd);
    int st;
    for (int i = 0; i < 100; i++) {
        if (waitpid(srv->pid, &st, WNOHANG) == srv->pid) {
            srv->pid = 0;
            break;
        }
        usleep(50000);
    }
    if (srv->pid > 0) {
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, &st, 0);
        srv->pid = 0;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", srv->dir);
}

#endif
