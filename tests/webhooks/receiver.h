/*
 * receiver.h — a webhook receiver for the tests: a small HTTP/1.1 server
 * thread on 127.0.0.1 (a free port) that records every POST (headers and
 * body) and answers with a scripted status, or never answers at all.
 */
#ifndef LH_TEST_WEBHOOK_RECEIVER_H
#define LH_TEST_WEBHOOK_RECEIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RCV_MAX 64

struct rcv_req {
    char path[256];
    char event[64];     /* X-Lakehouse-Event */
    char delivery[80];  /* X-Lakehouse-Delivery */
    char signature[96]; /* X-Lakehouse-Signature */
    char ctype[96];     /* Content-Type */
    char *body;         /* NUL-terminated */
    size_t len;
    int64_t at_ns; /* monotonic, when it was read */
};

struct receiver {
    int fd, port;
    char url[128]; /* "http://127.0.0.1:PORT/hook" */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    /* the script: the n-th request gets status[n] (past the end: 200) */
    int status[16];
    int nstatus;
    bool silent; /* read the request, never answer, keep the connection */
    int held[RCV_MAX];
    int nheld;
    struct rcv_req reqs[RCV_MAX];
    int nreqs;
};

/* Starts listening; false on failure. */
bool receiver_start(struct receiver *r, bool silent, const int *status, int nstatus);
void receiver_stop(struct receiver *r);
/* Waits (up to secs) until at least n requests came; returns how many. */
int receiver_wait(struct receiver *r, int n, int secs);
/* How many requests so far carried event (X-Lakehouse-Event). */
int receiver_count(struct receiver *r, const char *event);

#endif
