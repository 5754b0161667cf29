/*
 * main.c — the lakehouse binary: dispatch to a subcommand.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct lh_subcommand {
    const char *name;
    lh_cli_command *fn;
    const char *summary;
};

static const struct lh_subcommand commands[] = {
    {"apply", lh_cmd_apply, "make the schedules match a file (-f FILE; plan, then --yes)"},
    {"cron", lh_cmd_cron, "show the next fire times of a cron expression"},
    {"datasets", lh_cmd_datasets, "list, show, describe, roll back or remove datasets"},
    {"export", lh_cmd_export, "write every schedule as one JSON file (for apply)"},
    {"ingest", lh_cmd_ingest, "copy one table into a new dataset version now"},
    {"parquet", lh_cmd_parquet, "inspect or print a Parquet file"},
    {"runs", lh_cmd_runs, "list, show, follow the log of, cancel runs (all schedules)"},
    {"schedule", lh_cmd_schedule,
     "add, list, show, update, remove, run, cancel, pause, resume schedules"},
    {"serve", lh_cmd_serve, "run the daemon: scheduler, HTTP API and dashboard"},
    {"sql", lh_cmd_sql, "run a read-only SQL query over the datasets"},
    {"version", lh_cmd_version, "print the version and build"},
};

void lh_cli_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lakehouse: %s\n", msg);
}

bool lh_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

bool lh_cli_help(int argc, char **argv, const char *usage)
{
    if (!lh_cli_wants_help(argc, argv))
        return false;
    fputs(usage, stdout);
    return true;
}

const char **lh_cli_store_slot(struct lh_cli_store_args *sa, const char *a)
{
    return strcmp(a, "--data") == 0     ? &sa->data
           : strcmp(a, "--store") == 0  ? &sa->store_url
           : strcmp(a, "--config") == 0 ? &sa->config
                                        : NULL;
}

const char **lh_cli_opt_slot(const struct lh_cli_opt *opts, struct lh_cli_store_args *sa,
                             const char *a)
{
    const char **slot = lh_cli_store_slot(sa, a);
    for (; !slot && opts->name; opts++)
        if (strcmp(a, opts->name) == 0)
            slot = opts->slot;
    return slot;
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

const char *lh_cli_store_root(const char *store, const char *data, const char *cfg_store,
                              const char *cfg_data)
{
    const char *candidates[] = {
        store,     data,     getenv("LAKEHOUSE_STORE"), getenv("LAKEHOUSE_DATA"),
        cfg_store, cfg_data, "./lakehouse-data"};
    for (size_t i = 0;; i++)
        if (nonempty(candidates[i]))
            return candidates[i];
}

void lh_cli_json_str(FILE *f, const char *s)
{
    struct lh_buf b;
    lh_buf_init(&b, 0);
    lh_buf_json_str(&b, s ? s : "", s ? strlen(s) : 0);
    if (lh_buf_ok(&b))
        fwrite(b.data, 1, b.len, f);
    else
        fputs("\"\"", f);
    lh_buf_reset(&b);
}

int lh_cmd_version(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs("usage: lakehouse version [--json]   (also: lakehouse -V, --version)\n\n"
                  "Prints the version and the build (git commit).\n",
                  stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            lh_cli_error("version: unexpected argument '%s' (see 'lakehouse version --help')",
                         argv[i]);
            return 2;
        }
    }
    if (json)
        printf("{\"version\": \"%s\", \"build\": \"%s\"}\n", LH_VERSION, LH_BUILD_HASH);
    else
        printf("lakehouse %s (build %s)\n", LH_VERSION, LH_BUILD_HASH);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lakehouse <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'lakehouse <command> --help' describes one command; 'lakehouse -V' prints the\n"
               "version. Exit codes: 0 success, 1 failure, 2 bad usage (docs/cli.md).\n");
}

int main(int argc, char **argv)
{
    const char *lvl = getenv("LAKEHOUSE_LOG_LEVEL");
    if (lvl && strcmp(lvl, "debug") == 0)
        lh_log_set_level(LH_LOG_DEBUG);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        return lh_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    lh_cli_error("unknown command '%s' (see 'lakehouse --help')", argv[1]);
    return 2;
}
