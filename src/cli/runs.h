/*
 * runs.h — private to src/cli: runs as the CLI shows them (cmd_runs.c).
 *
 * A run is held as the daemon's run JSON (docs/http.md, "Runs"): the same
 * shape whether it came from GET /api/runs/{id} or, without a daemon, from
 * the run history in the store (lh_cli_run_from_record). Text output is
 * made from that JSON only, so both paths print alike.
 */
#ifndef LH_CLI_RUNS_H
#define LH_CLI_RUNS_H

#include "daemon.h"
#include "schedule/schedule.h"

#include <jansson.h>

/* The run JSON of a finished run from the history; dataset may be NULL.
 * New reference (NULL when out of memory). */
json_t *lh_cli_run_from_record(const struct lh_run_record *r, const char *dataset);

/* "reading: 12345 of ~1000000 rows (1.2%), 4568 rows/s, 12.3s, ETA 3m36s";
 * "queued"; for a finished run its state. */
void lh_cli_run_progress_text(const json_t *run, char *out, size_t cap);

/* The same from figures: phase (NULL: "running"), est < 0: no estimate. */
void lh_cli_progress_text(const char *phase, double rows, double est, double rate, double elapsed,
                          bool cancel_requested, char *out, size_t cap);

/* Prints a run in full (runs show); tz_name: the schedule's zone or NULL. */
void lh_cli_run_print(const json_t *run, const char *tz_name);

/* Prints one JSON value on stdout, indented, with a newline. */
void lh_cli_json_print(const json_t *j);

/* Waits until run_id in the daemon ends, polling GET /api/runs/{id}; on a
 * terminal a progress line is kept up to date on stderr. Prints the outcome
 * (the run JSON with json) and returns the exit code: 0 succeeded, 1 failed
 * or cancelled (or the daemon went away). Ctrl-C stops the waiting, not the
 * run, unless cancel_on_interrupt: then the run is cancelled and waited for.
 * what: the command, for messages ("schedule run"). */
int lh_cli_run_wait(const struct lh_daemon_ref *ref, const char *run_id, const char *what,
                    bool json, bool cancel_on_interrupt);

/* A run id as the history makes them: [A-Za-z0-9._-], at most
 * LH_RUN_ID_MAX - 1 bytes. */
bool lh_cli_run_id_ok(const char *id);

/* "/api/schedules/ID" + tail with ID percent-encoded; false when too long. */
bool lh_cli_api_path(char *out, size_t cap, const char *prefix, const char *id, const char *tail);

#endif
