/*
 * daemon.h — test helpers: start the real `lakehouse serve` on a free port,
 * stop it with a signal, and speak HTTP to it with libcurl or raw sockets.
 */
#ifndef LH_TEST_HTTP_DAEMON_H
#define LH_TEST_HTTP_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon {
    pid_t pid;
    char addr[128]; /* "127.0.0.1:PORT" */
    char host[64];
    int port;
    char errlog[300];
};

/* Directory for the daemons' stderr logs (default /tmp). */
extern const char *daemon_log_dir;

/* Starts `lakehouse serve --listen 127.0.0.1:0 ARGS...` (NULL-terminated
 * extra argv) with env entries "K=V" added (NULL-terminated, may be NULL);
 * waits for the "listening on" line. false on failure. */
bool daemon_start(struct daemon *d, const char *const *args, const char *const *env);
/* Sends sig and waits; returns the exit status (-1 when killed by a signal). */
int daemon_stop(struct daemon *d, int sig);

struct reply {
    long status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
    char headers[4096];
};

/* One request. ctype/auth/body may be NULL. path is sent as is (no
 * normalisation). Sends X-Lakehouse-Client (as the CLI does), so bodiless
 * POST/PUT/DELETE pass the daemon's cross-site check. Reuses one
 * connection per process. false on transport failure. */
bool http_do(struct daemon *d, const char *method, const char *path, const char *ctype,
             const char *auth, const char *body, size_t body_len, struct reply *r);
/* Like http_do with exactly the header lines given (NULL-terminated, may be
 * NULL; "Host: x" replaces the Host) and no others but curl's own Host and
 * Accept: what a browser or a script could send. */
bool http_do_ex(struct daemon *d, const char *method, const char *path,
                const char *const *headers, const char *body, size_t body_len, struct reply *r);
void reply_free(struct reply *r);
/* Case-insensitive header lookup in r->headers; copies the value. */
bool reply_header(const struct reply *r, const char *name, char *out, size_t cap);
/* TCP connection to the daemon (blocking), -1 on failure. */
int raw_connect(struct daemon *d);

#endif
