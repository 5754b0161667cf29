/*
 * daemon.h — private to src/cli: how the CLI finds and talks to a running
 * `lakehouse serve` (docs/daemon.md).
 *
 * While it runs, the daemon keeps `_daemon.json` in the primary bucket of
 * its store: {"pid", "host", "url", "started_at", "auth"}. A CLI command
 * that changes schedules looks for a daemon in this order: --server URL,
 * $LAKEHOUSE_SERVER, then that file when its host is this host, its pid is
 * alive and GET /api/health answers. Found: the change goes through the
 * HTTP API (bearer token from $LAKEHOUSE_TOKEN or $LAKEHOUSE_TOKEN_FILE),
 * so the scheduler sees it at once. Not found: the store is written
 * directly — unless the store's daemon lease (store.h) is held: then a
 * daemon serves the store but cannot be reached, and the CLI refuses
 * (ref->problem) rather than change the store behind its back.
 *
 * One daemon per store: `lakehouse serve` takes the lease LH_DAEMON_LEASE
 * before it touches the store and keeps it until it exits; its owner text
 * is {"pid","host","instance","started_at"[,"url"]}. `_daemon.json` carries
 * the same "instance", and a daemon removes the file only while it still
 * holds its own instance. Single-threaded (the CLI's main thread).
 */
#ifndef LH_CLI_DAEMON_H
#define LH_CLI_DAEMON_H

#include "core/core.h"
#include "app/app.h"
#include "store/store.h"

struct lh_daemon_ref {
    char url[512];   /* "http://127.0.0.1:8080" without a trailing '/' */
    char token[512]; /* "" = none */
    bool explicit_;  /* from --server / $LAKEHOUSE_SERVER */
    char problem[600]; /* find returned false but a daemon holds the store */
};

/* server: --server URL or NULL. st may be NULL (no store to look in).
 * true when a daemon was found (ref filled). false with ref->problem set:
 * a daemon holds the store's lease but was not reached — the caller must
 * not write the store. */
bool lh_daemon_find(struct lh_store *st, const char *server, struct lh_daemon_ref *ref);

/* One JSON request to the daemon: path starts with '/'. body may be NULL.
 * out receives the answer (caller inits and frees it). */
enum lh_status lh_daemon_call(const struct lh_daemon_ref *ref, const char *method,
                              const char *path, const char *body, long *status,
                              struct lh_buf *out, struct lh_error *err) LH_NODISCARD;

/* lh_daemon_call for a command: a transport failure or a non-2xx answer is
 * printed as one line "what: ...". Returns the HTTP status, 0 when the
 * daemon did not answer. out is cleared first. */
long lh_daemon_request(const struct lh_daemon_ref *ref, const char *what, const char *method,
                       const char *path, const char *body, struct lh_buf *out);

/* "/api/schedules/<id, percent-encoded><tail>" into out; false when it
 * did not fit. */
bool lh_daemon_schedule_path(char *out, size_t cap, const char *id, const char *tail);

/* The "error" text of a JSON error body (or a generic line), into msg. */
void lh_daemon_error_text(const struct lh_buf *body, long status, char *msg, size_t cap);

#endif
