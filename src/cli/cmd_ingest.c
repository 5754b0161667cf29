/*
 * cmd_ingest.c — `lakehouse ingest postgres|mysql --dsn DSN --table T ...`
 * (or --query 'SELECT ...' with --dataset).
 *
 * Runs one ingest job (ingest.h) into the store lh_cli_store_root picks (--store,
 * --data, $LAKEHOUSE_STORE, $LAKEHOUSE_DATA, ./lakehouse-data). While it runs and
 * stderr is a terminal, one progress line (phase, rows, rows/s, bytes,
 * elapsed; percent and ETA when the source has a row estimate) is
 * refreshed in place about four times a second; when stderr is not a
 * terminal, a log line at each phase and every 5 s. At the end one summary
 * line goes to stdout:
 *
 *   rows=N dataset=X bytes=B version=V warnings=W duration=1.23s
 *
 * (or a JSON object with --json); warnings are listed on stderr. Errors are
 * one line on stderr and exit 1. SIGINT/SIGTERM cancel the job cleanly
 * (nothing published), from a signal thread that calls lh_ingest_cancel,
 * which never waits on the source server (source.h), so the run ends
 * within seconds even when the server or the link is frozen. A second
 * SIGINT/SIGTERM exits at once (128 + signal), like a kill.
 */
#include "cli.h"
#include "ingest/ingest.h"
#include "parquet/parquet.h"
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
    "usage: lakehouse ingest postgres|mysql --dsn DSN --table T [--dataset NAME]\n"
    "                        [--columns A,B,C] [--where EXPR]\n"
    "       lakehouse ingest postgres|mysql --dsn DSN --query SQL --dataset NAME\n"
    "                        [--batch-size N] [--order-by COLS] [--limit N]\n"
    "                        [--mode overwrite|append|incremental] [--cursor-column C]\n"
    "                        [--data DIR | --store URL] [--config FILE]\n"
    "                        [--codec zstd|snappy|none] [--part-size SIZE]\n"
    "                        [--statement-timeout MS] [--keep-versions N]\n"
    "                        [--parallel N|auto]\n"
    "                        [--schema-policy evolve|fail|replace] [--replace-source]\n"
    "                        [--no-resume] [--run-id ID] [--json]\n"
    "\n"
    "Copies one table (or a query's result) into Parquet and publishes it as a\n"
    "new dataset version.\n"
    "\n"
    "  --dsn DSN            postgresql://user:pass@host:port/db, libpq key=value,\n"
    "                       mysql://user:pass@host:port/db (?socket=/path)\n"
    "  --table T            table or view: t, schema.t, \"Mixed Case\" (unquoted\n"
    "                       PostgreSQL names fold to lower case)\n"
    "  --query SQL          a read-only SELECT instead of a table (needs --dataset)\n"
    "  --columns A,B,C      only these columns of the table, in this order\n"
    "  --where EXPR         only rows where EXPR holds: your SQL, run as it is\n"
    "                       inside the read-only transaction\n"
    "  --dataset NAME       dataset name (default: the table name; schema_table\n"
    "                       outside the default schema; invalid characters -> _)\n"
    "  --batch-size N       rows per batch (default 65536)\n"
    "  --order-by COLS      \"a, b DESC\" (column names only)\n"
    "  --limit N            at most N rows\n"
    "  --mode M             overwrite (default): the new version replaces the old;\n"
    "                       append: previous parts + this run's rows;\n"
    "                       incremental: append rows with cursor > last watermark\n"
    "  --cursor-column C    the incremental cursor (strictly increasing column)\n"
    "  --data DIR           local data directory (default $LAKEHOUSE_DATA or\n"
    "                       ./lakehouse-data)\n"
    "  --store URL          s3://bucket/prefix\n"
    "  --codec C            zstd (default), snappy or none\n"
    "  --part-size SIZE     start a new part file past SIZE (default 1GiB)\n"
    "  --statement-timeout MS  the server's statement timeout; a server that has\n"
    "                       not answered MS + 2 s after a statement started is\n"
    "                       given up on (\"timed out\")\n"
    "  --parallel N|auto    read a table on N connections (1-16) in\n"
    "                       one snapshot; auto: from its size and the server's\n"
    "                       cores; the run log says when it falls back to one\n"
    "  --keep-versions N    keep the last N versions of the dataset; older ones\n"
    "                       and their parts are deleted (default 5)\n"
    "  --schema-policy P    when the columns differ from the dataset's: evolve\n"
    "                       (default: added columns and widened types pass, a\n"
    "                       dropped or narrowed column fails), fail (any change\n"
    "                       fails), replace (anything goes)\n"
    "  --replace-source     let this run replace the dataset's source (another\n"
    "                       server, database, table or query); refused otherwise\n"
    "  --no-resume          load from zero even when an earlier failed load read in\n"
    "                       key order (--order-by K, or MySQL --parallel on its\n"
    "                       primary key) of the dataset left finished parts\n"
    "                       to resume from\n"
    "  --json               summary as JSON\n";

/* Progress (docs/ingest.md "Progress"): on a terminal one line refreshed
 * in place about four times a second: phase, rows, rate, bytes, elapsed,
 * and with the source's estimate the percent done and an ETA. Otherwise
 * (a pipe, a file, cron) a plain log line at each phase change and every
 * PROGRESS_LOG_NS while reading, so a log shows the run is alive. */
#define PROGRESS_TTY_NS 250000000LL
#define PROGRESS_LOG_NS (5 * 1000000000LL)

struct progress {
    bool tty;
    int64_t last_ns;
    bool shown;
    const char *dataset;
    int phase;           /* the last phase seen; -1 none */
    double read_start_s; /* elapsed when reading began */
};

static void fmt_bytes(uint64_t b, char *out, size_t cap)
{
    double v = (double)b;
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void fmt_secs(double s, char *out, size_t cap)
{
    long t = s > 0 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%ld:%02ld", t / 60, t % 60);
}

/* "12345 rows, 4567 rows/s, 1.2 MiB, 0:12 elapsed[, 45% of about 27000,
 * ETA 0:15]" */
static void progress_text(const struct progress *p, const struct lh_ingest_progress *pg, char *out,
                          size_t cap)
{
    double reading = pg->elapsed_s - p->read_start_s;
    double rate = p->phase >= LH_INGEST_READING && reading > 0 ? (double)pg->rows / reading : 0;
    char b[32], el[32], eta[32];
    fmt_bytes(pg->bytes, b, sizeof b);
    fmt_secs(pg->elapsed_s, el, sizeof el);
    int n =
        snprintf(out, cap, "%" PRId64 " rows, %.0f rows/s, %s, %s elapsed", pg->rows, rate, b, el);
    if (n < 0 || (size_t)n >= cap || pg->estimated_rows <= 0)
        return;
    /* the estimate is the server's statistics: never claim 100% early */
    double pct = 100.0 * (double)pg->rows / (double)pg->estimated_rows;
    if (pct > 99 && pg->phase == LH_INGEST_READING)
        pct = 99;
    if (pct > 100)
        pct = 100;
    if (pg->rows < pg->estimated_rows && rate > 0) {
        fmt_secs((double)(pg->estimated_rows - pg->rows) / rate, eta, sizeof eta);
        snprintf(out + n, cap - (size_t)n, ", %.0f%% of about %" PRId64 ", ETA %s", pct,
                 pg->estimated_rows, eta);
    } else {
        snprintf(out + n, cap - (size_t)n, ", %.0f%% of about %" PRId64, pct, pg->estimated_rows);
    }
}

static void on_progress(void *ctx, const struct lh_ingest_progress *pg)
{
    struct progress *p = ctx;
    int64_t now = lh_time_mono_ns();
    bool changed = p->phase != (int)pg->phase;
    if (changed && pg->phase == LH_INGEST_READING)
        p->read_start_s = pg->elapsed_s;
    p->phase = (int)pg->phase;
    const char *phase = lh_ingest_phase_name(pg->phase);
    char text[256];
    if (p->tty) {
        if (!changed && now - p->last_ns < PROGRESS_TTY_NS)
            return;
        p->last_ns = now;
        p->shown = true;
        progress_text(p, pg, text, sizeof text);
        fprintf(stderr, "\r\033[K%-10s %s", phase, text);
        fflush(stderr);
        return;
    }
    if (changed) {
        p->last_ns = now;
        if (pg->phase == LH_INGEST_READING && pg->estimated_rows > 0)
            lh_info("ingest %s: reading (about %" PRId64 " rows expected)", p->dataset,
                    pg->estimated_rows);
        else if (pg->phase == LH_INGEST_PUBLISHING)
            lh_info("ingest %s: publishing %" PRId64 " rows", p->dataset, pg->rows);
        else
            lh_info("ingest %s: %s", p->dataset, phase);
        return;
    }
    if (now - p->last_ns < PROGRESS_LOG_NS)
        return;
    p->last_ns = now;
    progress_text(p, pg, text, sizeof text);
    lh_info("ingest %s: %s: %s", p->dataset, phase, text);
}

struct sigctx {
    struct lh_ingest_job *job;
    sigset_t set;
    volatile bool done;
    bool cancelled; /* signal thread only */
};

static void *signal_thread(void *arg)
{
    struct sigctx *c = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&c->set, &sig) != 0)
            return NULL;
        if (c->done)
            return NULL;
        if (sig != SIGINT && sig != SIGTERM)
            continue;
        if (c->cancelled) /* the user insists: leave the rest to the sweep */
            _exit(128 + sig);
        c->cancelled = true;
        lh_ingest_cancel(c->job);
    }
}

int lh_cmd_ingest(int argc, char **argv)
{
    if (lh_cli_help(argc, argv, usage))
        return 0;
    struct lh_ingest_options o = {0};
    struct lh_cli_store_args sa = {0};
    const char *kind = NULL;
    const char *batch = NULL, *limit = NULL, *mode = NULL, *part = NULL, *timeout = NULL;
    const char *keep = NULL, *parallel = NULL, *policy = NULL;
    const struct lh_cli_opt opts[] = {{"--dsn", &o.dsn},
                                      {"--table", &o.table},
                                      {"--query", &o.query},
                                      {"--columns", &o.columns},
                                      {"--where", &o.where},
                                      {"--dataset", &o.dataset},
                                      {"--batch-size", &batch},
                                      {"--order-by", &o.order_by},
                                      {"--limit", &limit},
                                      {"--mode", &mode},
                                      {"--cursor-column", &o.cursor_column},
                                      {"--codec", &o.codec},
                                      {"--part-size", &part},
                                      {"--statement-timeout", &timeout},
                                      {"--run-id", &o.run_id},
                                      {"--keep-versions", &keep},
                                      {"--parallel", &parallel},
                                      {"--schema-policy", &policy},
                                      {NULL, NULL}};
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(a, "--replace-source") == 0) {
            o.replace_source = true;
            continue;
        }
        if (strcmp(a, "--no-resume") == 0) {
            o.no_resume = true;
            continue;
        }
        const char **slot = lh_cli_opt_slot(opts, &sa, a);
        if (slot) {
            if (i + 1 >= argc) {
                lh_cli_error("ingest: %s needs a value", a);
                return 2;
            }
            *slot = argv[++i];
            continue;
        }
        if (a[0] == '-') {
            lh_cli_error("ingest: unknown option '%s' (see 'lakehouse ingest --help')", a);
            return 2;
        }
        if (kind) {
            lh_cli_error("ingest: unexpected argument '%s'", a);
            return 2;
        }
        kind = a;
    }
    if (!kind || !lh_source_kind_parse(kind, &o.kind)) {
        lh_cli_error("ingest: first argument must be postgres or mysql (see --help)");
        return 2;
    }
    if (!o.dsn || (!o.table == !o.query)) {
        lh_cli_error("ingest: --dsn and one of --table or --query are required");
        return 2;
    }
    if (o.query && (o.columns || o.where)) {
        lh_cli_error("ingest: %s goes with --table only (put it in the --query)",
                     o.columns ? "--columns" : "--where");
        return 2;
    }
    if (o.query && !o.dataset) {
        lh_cli_error("ingest: --query needs --dataset NAME");
        return 2;
    }
    if ((o.table && !*o.table) || (o.query && !*o.query) || (o.columns && !*o.columns) ||
        (o.where && !*o.where)) {
        lh_cli_error("ingest: --table, --query, --columns and --where must not be empty");
        return 2;
    }
    char defname[256];
    if (!o.dataset) {
        bool changed = false;
        struct lh_error derr;
        if (lh_ingest_default_dataset(o.kind, o.dsn, o.table, defname, sizeof defname, &changed,
                                      &derr) != LH_OK) {
            lh_cli_error("%s", derr.msg);
            return 2;
        }
        if (changed)
            lh_cli_error("ingest: dataset name '%s' (from table %s; --dataset NAME sets another)",
                         defname, o.table);
        o.dataset = defname;
    }
    if (sa.data && sa.store_url) {
        lh_cli_error("ingest: give --data or --store, not both");
        return 2;
    }
    uint64_t u;
    if ((batch && (!lh_parse_i64(batch, &o.batch_size) || o.batch_size <= 0)) ||
        (limit && (!lh_parse_i64(limit, &o.limit) || o.limit <= 0)) ||
        (timeout &&
         (!lh_parse_i64(timeout, &o.statement_timeout_ms) || o.statement_timeout_ms <= 0))) {
        lh_cli_error(
            "ingest: --batch-size, --limit and --statement-timeout take a positive integer");
        return 2;
    }
    if (parallel && !lh_source_parallel_parse(parallel, &o.parallel)) {
        lh_cli_error("ingest: --parallel takes a number from 1 to %d or auto",
                     LH_SOURCE_PARALLEL_MAX);
        return 2;
    }
    if (keep) {
        int64_t k;
        if (!lh_parse_i64(keep, &k) || k <= 0 || k > 100000) {
            lh_cli_error("ingest: --keep-versions takes an integer from 1 to 100000");
            return 2;
        }
        o.keep_versions = (unsigned)k;
    }
    if (part) {
        if (!lh_parse_size(part, &u) || u == 0) {
            lh_cli_error("ingest: bad --part-size '%s'", part);
            return 2;
        }
        o.part_bytes = u;
    }
    enum lh_parquet_codec codec;
    if (o.codec && !lh_parquet_codec_parse(o.codec, &codec)) {
        lh_cli_error("ingest: --codec is zstd, snappy or none, not '%s'", o.codec);
        return 2;
    }
    if (mode && !lh_ingest_mode_parse(mode, &o.mode)) {
        lh_cli_error("ingest: --mode is overwrite, append or incremental");
        return 2;
    }
    if (policy && !lh_ingest_schema_policy_parse(policy, &o.schema_policy)) {
        lh_cli_error("ingest: --schema-policy is evolve, fail or replace, not '%s'", policy);
        return 2;
    }
    o.made_by = "cli";
    if (o.mode == LH_INGEST_INCREMENTAL && !o.cursor_column) {
        lh_cli_error("ingest: --mode incremental needs --cursor-column");
        return 2;
    }
    struct progress pr = {.tty = isatty(STDERR_FILENO) != 0,
                          .last_ns = lh_time_mono_ns(),
                          .dataset = o.dataset,
                          .phase = -1};
    o.on_progress = on_progress;
    o.progress_ctx = &pr;

    int rc = 1;
    struct lh_error err;
    struct lh_store_set *set = NULL;
    struct lh_ingest_job *job = NULL;
    struct lh_ingest_result res;
    struct sigctx sc = {0};
    pthread_t th;
    bool have_th = false;
    if (lh_store_set_open(lh_cli_store_root(sa.store_url, sa.data, NULL, NULL), sa.config, NULL,
                          &set, &err) != LH_OK) {
        lh_cli_error("ingest: %s", err.msg);
        goto done;
    }
    enum lh_status cs = lh_ingest_job_create(set, &o, &job, &err);
    if (cs != LH_OK) {
        lh_cli_error("%s", err.msg);
        rc = cs == LH_E_INVAL ? 2 : 1; /* an option's value the job cannot take */
        goto done;
    }
    sc.job = job;
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGINT);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &sc.set, NULL) == 0 &&
        pthread_create(&th, NULL, signal_thread, &sc) == 0)
        have_th = true;
    enum lh_status s = lh_ingest_run(job, &res, &err);
    if (have_th) {
        sc.done = true;
        pthread_kill(th, SIGUSR1);
        pthread_join(th, NULL);
    }
    if (pr.shown)
        fputs("\r\033[K", stderr);
    if (s != LH_OK) {
        lh_cli_error("%s", err.msg);
        if (res.kept_rows > 0)
            lh_cli_error("kept %" PRId64 " rows in finished parts: the next run of dataset %s "
                         "reads only the rest (--no-resume: from zero)",
                         res.kept_rows, res.dataset);
        goto done;
    }
    if (res.resumed_rows > 0)
        lh_cli_error("resumed an earlier failed load: %" PRId64 " rows kept from it, %" PRId64
                     " read now",
                     res.resumed_rows, res.rows);
    for (int i = 0; i < res.nwarning_texts; i++)
        lh_cli_error("warning: %s", res.warning_texts[i]);
    if (res.warnings > res.nwarning_texts)
        lh_cli_error("warning: ... %" PRId64 " warnings in all", res.warnings);
    if (json) {
        printf("{\"rows\": %" PRId64 ", \"dataset\": ", res.rows);
        lh_cli_json_str(stdout, res.dataset);
        printf(", \"bytes\": %" PRIu64 ", \"files\": %d, \"version\": %" PRIu64
               ", \"published\": %s, \"warnings\": %" PRId64 ", \"duration_secs\": %.3f, "
               "\"resumed_rows\": %" PRId64 ", \"run_id\": ",
               res.bytes, res.files, res.version, res.published ? "true" : "false", res.warnings,
               res.duration_s, res.resumed_rows);
        lh_cli_json_str(stdout, res.run_id);
        fputs(", \"watermark\": ", stdout);
        if (res.watermark[0])
            lh_cli_json_str(stdout, res.watermark);
        else
            fputs("null", stdout);
        fputs(", \"message\": ", stdout);
        lh_cli_json_str(stdout, res.message);
        fputs(", \"warning_texts\": [", stdout);
        for (int i = 0; i < res.nwarning_texts; i++) {
            fputs(i ? ", " : "", stdout);
            lh_cli_json_str(stdout, res.warning_texts[i]);
        }
        fputs("]}\n", stdout);
    } else {
        printf("%s version=%" PRIu64 " warnings=%" PRId64 " duration=%.2fs%s\n", res.message,
               res.version, res.warnings, res.duration_s,
               res.published ? "" : " (no new rows; nothing published)");
    }
    rc = 0;
done:
    lh_ingest_job_destroy(job);
    lh_store_set_close(set);
    return rc;
}
