/*
 * freeze_proxy.c — a loopback TCP proxy that a test can freeze.
 *
 *   lh_freeze_proxy TARGET_PORT PORT_FILE
 *
 * Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening)
 * and forwards every accepted connection to 127.0.0.1:TARGET_PORT, both
 * ways, in one poll() loop. SIGUSR1 freezes it: from then on nothing is
 * accepted, read or written on any socket, in either direction, exactly
 * like a server or a link that stopped answering (the kernel still
 * completes new TCP handshakes into the listen backlog and still ACKs
 * what fits in the socket buffers, so keepalives and TCP timeouts see a
 * healthy peer). SIGUSR2 thaws it and forwarding resumes where it stopped.
 * SIGTERM ends it. Loopback only: it never binds or connects elsewhere.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define BUF_CAP (64 * 1024)

struct half {
    int from, to;
    char buf[BUF_CAP];
    size_t len, off;
    bool eof; /* `from` said EOF: shut `to` down once buf is flushed */
};

struct pair {
    bool used;
    struct half h[2]; /* client->server, server->client */
};

static volatile sig_atomic_t g_frozen, g_stop;
static int g_wake[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGUSR1)
        g_frozen = 1;
    else if (sig == SIGUSR2)
        g_frozen = 0;
    else
        g_stop = 1;
    ssize_t n = write(g_wake[1], "x", 1);
    (void)n;
    errno = saved;
}

static void nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void pair_close(struct pair *p)
{
    close(p->h[0].from);
    close(p->h[0].to);
    memset(p, 0, sizeof *p);
}

/* Moves bytes one way; false when the pair is finished. */
static bool half_step(struct half *h, short rev_from, short rev_to)
{
    if (h->len == 0 && !h->eof && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(h->from, h->buf, sizeof h->buf);
        if (n > 0) {
            h->len = (size_t)n;
            h->off = 0;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            h->eof = true;
        }
    }
    if (h->len > h->off && (rev_to & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t n = send(h->to, h->buf + h->off, h->len - h->off, MSG_NOSIGNAL);
        if (n > 0) {
            h->off += (size_t)n;
            if (h->off == h->len)
                h->len = h->off = 0;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return false;
        }
    }
    if (h->eof && h->len == 0)
        (void)shutdown(h->to, SHUT_WR);
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: lh_freeze_proxy TARGET_PORT PORT_FILE\n");
        return 2;
    }
    char *end;
    long target = strtol(argv[1], &end, 10);
    if (*end || target < 1 || target > 65535) {
        fprintf(stderr, "lh_freeze_proxy: bad port %s\n", argv[1]);
        return 2;
    }
    if (pipe(g_wake) != 0)
        return 1;
    nonblock(g_wake[0]);
    nonblock(g_wake[1]);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
        perror("lh_freeze_proxy: listen");
        return 1;
    }
    nonblock(lfd);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", (unsigned)ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
        rename(tmp, argv[2]) != 0) {
        perror("lh_freeze_proxy: port file");
        return 1;
    }

    static struct pair pairs[MAX_PAIRS];
    struct pollfd pf[2 + 2 * MAX_PAIRS];
    while (!g_stop) {
        size_t n = 0;
        pf[n++] = (struct pollfd){.fd = g_wake[0], .events = POLLIN};
        bool frozen = g_frozen;
        if (!frozen) {
            pf[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
            for (int i = 0; i < MAX_PAIRS; i++) {
                struct pair *p = &pairs[i];
                if (!p->used)
                    continue;
                for (int k = 0; k < 2; k++) {
                    /* k = 0: the client socket, k = 1: the server socket */
                    struct half *in = &p->h[k], *out = &p->h[1 - k];
                    short ev = 0;
                    if (in->len == 0 && !in->eof)
                        ev |= POLLIN;
                    if (out->len > out->off)
                        ev |= POLLOUT;
                    pf[n++] = (struct pollfd){.fd = in->from, .events = ev};
                }
            }
        }
        if (poll(pf, n, -1) < 0 && errno != EINTR)
            return 1;
        char drain[64];
        while (read(g_wake[0], drain, sizeof drain) > 0)
            ;
        if (frozen || g_frozen)
            continue;
        size_t at = 2;
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used)
                continue;
            short rc = pf[at].revents, rs = pf[at + 1].revents;
            at += 2;
            bool ok = half_step(&p->h[0], rc, rs) && half_step(&p->h[1], rs, rc);
            bool done = p->h[0].eof && p->h[1].eof && !p->h[0].len && !p->h[1].len;
            if (!ok || done || ((rc | rs) & POLLERR))
                pair_close(p);
        }
        if (pf[1].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < MAX_PAIRS && c >= 0 && slot < 0; i++)
                if (!pairs[i].used)
                    slot = i;
            int s = -1;
            if (slot >= 0) {
                struct sockaddr_in t = {.sin_family = AF_INET,
                                        .sin_port = htons((uint16_t)target),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                s = socket(AF_INET, SOCK_STREAM, 0);
                if (s >= 0 && connect(s, (struct sockaddr *)&t, sizeof t) != 0) {
                    close(s);
                    s = -1;
                }
            }
            if (s < 0) {
                if (c >= 0)
                    close(c);
            } else {
                nonblock(c);
                nonblock(s);
                struct pair *p = &pairs[slot];
                memset(p, 0, sizeof *p);
                p->used = true;
                p->h[0].from = c;
                p->h[0].to = s;
                p->h[1].from = s;
                p->h[1].to = c;
            }
        }
    }
    return 0;
}
