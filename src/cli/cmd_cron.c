/*
 * cmd_cron.c — `lakehouse cron next`: the dry run of a cron trigger.
 *
 * Prints the next N fire instants of an expression in a zone, strictly
 * after --from (default now), one ISO-8601 UTC instant per line.
 */
#include "cli.h"
#include "schedule/schedule.h"

#include <stdlib.h>
#include <string.h>

#define CRON_COUNT_MAX 10000

static void cron_usage(FILE *f)
{
    fprintf(f,
            "usage: lakehouse cron next 'EXPR' [--tz ZONE] [--from ISO8601] [--count N] [--json]\n"
            "\n"
            "Prints the next N (default 5) times EXPR fires after --from (exclusive;\n"
            "default now), one per line in ISO-8601 UTC.\n"
            "\n"
            "  EXPR         'minute hour day-of-month month day-of-week' or @hourly,\n"
            "               @daily, @midnight, @weekly, @monthly, @yearly, @annually\n"
            "  --tz ZONE    IANA zone the expression is read in (default UTC)\n"
            "  --from TIME  e.g. 2026-03-08T06:00:00Z (an offset like -05:00 is allowed)\n"
            "  --count N    how many fire times, 1-%d\n"
            "  --json       a JSON array of the times\n"
            "\n"
            "A bad expression, zone or time is bad usage (exit 2).\n"
            "\n"
            "Daylight saving follows cronie: see docs/cron.md.\n",
            CRON_COUNT_MAX);
}

static int64_t us_to_secs(int64_t us)
{
    return us / 1000000 - (us % 1000000 < 0 ? 1 : 0);
}

/* "--name value" or "--name=value"; advances *i past what it used. */
static bool take_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] != '\0')
        return false;
    *val = (*i + 1 < argc) ? argv[++*i] : NULL;
    return true;
}

int lh_cmd_cron(int argc, char **argv)
{
    if (lh_cli_wants_help(argc, argv)) {
        cron_usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "next") != 0) {
        if (argc >= 2)
            lh_cli_error("cron: unknown subcommand '%s' (see 'lakehouse cron --help')", argv[1]);
        else
            cron_usage(stderr);
        return 2;
    }
    const char *expr = NULL, *zone = "UTC", *from = NULL, *count_s = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        const char *a = argv[i];
        if (take_opt(argc, argv, &i, "--tz", &v)) {
            zone = v;
        } else if (take_opt(argc, argv, &i, "--from", &v)) {
            from = v;
        } else if (take_opt(argc, argv, &i, "--count", &v)) {
            count_s = v;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        } else if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            lh_cli_error("cron: unknown option '%s' (see 'lakehouse cron --help')", a);
            return 2;
        } else {
            if (strcmp(a, "--") == 0 && i + 1 < argc)
                a = argv[++i];
            if (expr) {
                lh_cli_error("cron: one expression expected, got '%s' too (quote it)", a);
                return 2;
            }
            expr = a;
            continue;
        }
        if (!v) {
            lh_cli_error("cron: %s needs a value", a);
            return 2;
        }
    }
    if (!expr) {
        lh_cli_error("cron: missing expression (see 'lakehouse cron --help')");
        return 2;
    }
    int64_t count = 5;
    if (count_s && (!lh_parse_i64(count_s, &count) || count < 1 || count > CRON_COUNT_MAX)) {
        lh_cli_error("cron: --count: '%s' is not a number from 1 to %d", count_s, CRON_COUNT_MAX);
        return 2;
    }

    struct lh_error err;
    lh_error_clear(&err);
    struct lh_cron cron;
    if (lh_cron_parse(&cron, expr, &err) != LH_OK) {
        lh_cli_error("%s", err.msg); /* already "cron: <field>: ..." */
        return 2;
    }
    const struct lh_tz *tz;
    if (lh_tz_load(zone, &tz, &err) != LH_OK) {
        lh_cli_error("cron: --tz: %s", err.msg);
        return 2;
    }
    int64_t after;
    if (from) {
        int64_t us;
        if (lh_time_parse_iso(from, &us, &err) != LH_OK) {
            lh_cli_error("cron: --from: %s", err.msg);
            return 2;
        }
        after = us_to_secs(us);
    } else {
        after = us_to_secs(lh_time_wall_us());
    }
    /* all times first: a search that gives up prints nothing half */
    int64_t *times = calloc((size_t)count, sizeof *times);
    if (!times) {
        lh_cli_error("cron: out of memory");
        return 1;
    }
    for (int64_t k = 0; k < count; k++) {
        if (lh_cron_next(&cron, tz, after, &times[k], &err) != LH_OK) {
            free(times);
            lh_cli_error("%s", err.msg);
            return 1;
        }
        after = times[k];
    }
    if (json)
        fputs("[", stdout);
    for (int64_t k = 0; k < count; k++) {
        char buf[48];
        lh_time_format_iso(times[k] * 1000000, buf, sizeof buf);
        if (json)
            printf("%s\"%s\"", k ? ", " : "", buf);
        else
            printf("%s\n", buf);
    }
    if (json)
        fputs("]\n", stdout);
    free(times);
    return fflush(stdout) == 0 ? 0 : 1;
}
