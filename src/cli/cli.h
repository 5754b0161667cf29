/*
 * cli.h — private to src/cli: one function per subcommand.
 *
 * Each takes argv with argv[0] being the subcommand's own name, prints its
 * result on stdout and any error as one line on stderr, and returns the
 * process exit code (0 only on success, 1 on failure, 2 on bad usage).
 */
#ifndef LH_CLI_H
#define LH_CLI_H

#include "core/core.h"

#include <stdio.h>

/* A subcommand, as above; main.c's table holds them. */
typedef int lh_cli_command(int argc, char **argv);

lh_cli_command lh_cmd_version, lh_cmd_parquet, lh_cmd_datasets, lh_cmd_cron, lh_cmd_schedule,
    lh_cmd_serve, lh_cmd_ingest, lh_cmd_sql, lh_cmd_runs;
/* `lakehouse apply -f FILE` and `lakehouse export` (cmd_apply.c) */
lh_cli_command lh_cmd_apply, lh_cmd_export;
/* `schedule runs ID|--all ...` and `schedule cancel ID` (cmd_runs.c); argv
 * as lh_cmd_schedule got it (argv[1] is "runs" or "cancel"). */
lh_cli_command lh_cli_runs_for_schedule;

/* Prints "lakehouse: <msg>" on stderr. */
void lh_cli_error(const char *fmt, ...) LH_PRINTF(1, 2);
/* True when argv contains -h or --help. */
bool lh_cli_wants_help(int argc, char **argv);
/* lh_cli_wants_help, and then usage printed on stdout: a command's
 * `if (lh_cli_help(argc, argv, usage)) return 0;`. */
bool lh_cli_help(int argc, char **argv, const char *usage);

/* One HTTP request (libcurl, client.c) for the CLI talking to a daemon. url
 * is the whole URL; token (may be NULL) goes out as a bearer token; body
 * (may be NULL) as application/json. *status gets the HTTP status, body the
 * answer (bounded by its cap). LH_E_CONNECT when nobody answered. */
enum lh_status lh_cli_client_request(const char *url, const char *method, const char *token,
                                     const char *body, long timeout_ms, long *status,
                                     struct lh_buf *out, struct lh_error *err) LH_NODISCARD;

/* The store options of every subcommand that opens a store:
 * --data DIR, --store URL, --config FILE. */
struct lh_cli_store_args {
    const char *data, *store_url, *config;
};
/* The slot option a fills in sa (borrowed), or NULL when a is none of the
 * three. */
const char **lh_cli_store_slot(struct lh_cli_store_args *sa, const char *a);

/* A command's option that takes a value: its name and where the value goes
 * (borrowed from argv). A table of them ends with a NULL name. */
struct lh_cli_opt {
    const char *name;
    const char **slot;
};
/* The slot of option a: one of the store options' in sa, else one of
 * opts', else NULL. */
const char **lh_cli_opt_slot(const struct lh_cli_opt *opts, struct lh_cli_store_args *sa,
                             const char *a);

/* The store a command works on, one rule for every subcommand: --store,
 * else --data, else $LAKEHOUSE_STORE, else $LAKEHOUSE_DATA, else the
 * config file's store_url, else its data_dir (cfg_store/cfg_data, NULL
 * when the command reads no config), else "./lakehouse-data". Borrowed
 * from the arguments or the environment; never NULL. */
const char *lh_cli_store_root(const char *store, const char *data, const char *cfg_store,
                              const char *cfg_data);

/* Writes s as a JSON string, quotes included (lh_buf_json_str's escaping:
 * control bytes escaped, invalid UTF-8 as U+FFFD). NULL writes "". */
void lh_cli_json_str(FILE *f, const char *s);

/* ---- out.c: output for people (nothing is cut when stdout is not a terminal) */

/* Columns of the terminal on stdout; 0 when stdout is not a terminal. */
int lh_cli_out_width(void);
/* An aligned table: cells are added row by row (ncol per row); a newline
 * in a cell shows as a space. On a terminal the last column is shortened to
 * its width; piped, nothing is cut. Out of memory is sticky: print fails. */
struct lh_cli_table;
struct lh_cli_table *lh_cli_table_create(size_t ncol, const char *const *hdr /* borrowed */);
void lh_cli_table_cell(struct lh_cli_table *t, const char *fmt, ...) LH_PRINTF(2, 3);
bool lh_cli_table_print(struct lh_cli_table *t, FILE *f);
void lh_cli_table_destroy(struct lh_cli_table *t);
/* "2026-12-08T01:00:00Z (02:00:00+01:00 Europe/Berlin)": an instant in UTC
 * and, when tz_name is a zone other than UTC, in that zone (its date only
 * when it differs); just the UTC form for ""/NULL/"UTC". */
void lh_cli_time_text(int64_t us, const char *tz_name, char *out, size_t cap);
/* "12.3s", "4m05s", "2h03m". */
void lh_cli_duration_text(double secs, char *out, size_t cap);

#endif
