/*
 * app_int.h — private to src/app (and its white-box tests).
 *
 * The files of the module: config.c (settings), metrics.c (the Prometheus
 * registry), jobs.c (schedule definition → ingest job, the scheduler's job
 * and event callbacks).
 */
#ifndef LH_APP_INT_H
#define LH_APP_INT_H

#include "app.h"

#include "schedule/schedule.h"
#include "store/store.h"

#include <jansson.h>

/* daemon.c: the daemon's side of `_daemon.json` and of its lease. */
/* A fresh random instance id (32 hex digits). */
void lh_daemon_instance_make(char out[LH_DAEMON_INSTANCE_MAX]);
/* The lease's owner text: {"pid","host","instance","started_at"} plus
 * "url" when address is not NULL. */
void lh_daemon_owner_text(const char *instance, int64_t started_us, const char *address,
                          char *out, size_t cap);
/* Written once the API listens; removed on a clean stop, and only while it
 * still names our instance. */
enum lh_status lh_daemon_file_write(struct lh_store *st, const char *address, bool auth,
                                    const char *instance, struct lh_error *err) LH_NODISCARD;
void lh_daemon_file_remove(struct lh_store *st, const char *instance);

#endif
