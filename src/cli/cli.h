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

int lh_cmd_version(int argc, char **argv);
int lh_cmd_parquet(int argc, char **argv);
int lh_cmd_datasets(int argc, char **argv);
int lh_cmd_cron(int argc, char **argv);
int lh_cmd_schedule(int argc, char **argv);
int lh_cmd_serve(int argc, char **argv);
int lh_cmd_ingest(int argc, char **argv);
int lh_cmd_sql(int argc, char **argv);

/* Prints "lakehouse: <msg>" on stderr. */
void lh_cli_error(const char *fmt, ...) LH_PRINTF(1, 2);
/* True when argv contains -h or --help. */
bool lh_cli_wants_help(int argc, char **argv);

/* One HTTP request (libcurl, client.c) for the CLI talking to a daemon. url
 * is the whole URL; token (may be NULL) goes out as a bearer token; body
 * (may be NULL) as application/json. *status gets the HTTP status, body the
 * answer (bounded by its cap). LH_E_CONNECT when nobody answered. */
enum lh_status lh_cli_client_request(const char *url, const char *method, const char *token,
                                     const char *body, long timeout_ms, long *status,
                                     struct lh_buf *out, struct lh_error *err) LH_NODISCARD;

#endif
