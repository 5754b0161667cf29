/*
 * receiver.c — the test receiver (receiver.h). One thread: accept, read
 * one request (headers, then Content-Length bytes), record it, answer with
 * the next scripted status and close; a silent receiver keeps the
 * connection open without a word until it stops.
 */
#include "receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void header(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, v);
            return;
        }
    }
}

/* Reads one request from c into q; false when the peer went away. */
static bool read_request(int c, struct rcv_req *q)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;
    while (buf && !end) {
        ssize_t k = read(c, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end) {
        free(buf);
        return false;
    }
    char cl[32];
    *end = '\0';
    header(strstr(buf, "\r\n") + 2, "Content-Length", cl, sizeof cl);
    size_t want = (size_t)strtoul(cl, NULL, 10);
    size_t have = len - (size_t)(end + 4 - buf);
    while (have < want && len < cap) {
        ssize_t k = read(c, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        have += (size_t)k;
    }
    sscanf(buf, "%*s %255s", q->path);
    const char *h = strstr(buf, "\r\n") + 2;
    header(h, "X-Lakehouse-Event", q->event, sizeof q->event);
    header(h, "X-Lakehouse-Delivery", q->delivery, sizeof q->delivery);
    header(h, "X-Lakehouse-Signature", q->signature, sizeof q->signature);
    header(h, "Content-Type", q->ctype, sizeof q->ctype);
    q->len = have < want ? have : want;
    q->body = malloc(q->len + 1);
    memcpy(q->body, end + 4, q->len);
    q->body[q->len] = '\0';
    q->at_ns = mono_ns();
    free(buf);
    return true;
}

static void *serve(void *arg)
{
    struct receiver *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct rcv_req q;
        memset(&q, 0, sizeof q);
        if (!read_request(c, &q)) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        int i = r->nreqs;
        if (r->nreqs < RCV_MAX)
            r->reqs[r->nreqs++] = q;
        else
            free(q.body);
        int status = i < r->nstatus ? r->status[i] : 200;
        bool silent = r->silent;
        if (silent && r->nheld < RCV_MAX)
            r->held[r->nheld++] = c;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (silent)
            continue;
        char resp[256];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d Scripted\r\nContent-Type: text/plain\r\n"
                         "Content-Length: 2\r\nConnection: close\r\n\r\nok",
                         status);
        if (write(c, resp, (size_t)n) < 0)
            perror("receiver write");
        close(c);
    }
    return NULL;
}

bool receiver_start(struct receiver *r, bool silent, const int *status, int nstatus)
{
    memset(r, 0, sizeof *r);
    r->silent = silent;
    for (int i = 0; i < nstatus && i < 16; i++)
        r->status[r->nstatus++] = status[i];
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int one = 1;
    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(r->fd, 64) != 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &al) != 0)
        return false;
    r->port = ntohs(a.sin_port);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/hook", r->port);
    return pthread_create(&r->thread, NULL, serve, r) == 0;
}

void receiver_stop(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    close(r->fd);
    for (int i = 0; i < r->nheld; i++)
        close(r->held[i]);
    for (int i = 0; i < r->nreqs; i++)
        free(r->reqs[i].body);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

int receiver_wait(struct receiver *r, int n, int secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    pthread_mutex_lock(&r->mu);
    while (r->nreqs < n && pthread_cond_timedwait(&r->cv, &r->mu, &ts) != ETIMEDOUT)
        ;
    int got = r->nreqs;
    pthread_mutex_unlock(&r->mu);
    return got;
}

int receiver_count(struct receiver *r, const char *event)
{
    int n = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->nreqs; i++)
        n += strcmp(r->reqs[i].event, event) == 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}
