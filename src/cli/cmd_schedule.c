/*
 * cmd_schedule.c — `lakehouse schedule add|list|show|update|rm|run|pause|
 * resume|runs`, working directly on the schedule store (`_schedules/`,
 * `_runs/`) of --store URL / --data DIR / $LAKEHOUSE_DATA / ./lakehouse-data.
 *
 * DSN passwords are sealed with the deployment key (LAKEHOUSE_SECRET_KEY,
 * --secret-key-file, $LAKEHOUSE_SECRET_KEY_FILE or the default key file);
 * nothing printed here ever shows a password.
 *
 * With a running daemon (daemon.h: --server URL, $LAKEHOUSE_SERVER, or the
 * store's `_daemon.json`), add/update/rm/pause/resume/run go through its
 * HTTP API, so they take effect at once; without one they write the store
 * directly and `run` runs the ingest inline in this process
 * (lh_app_ingest_def) and records the run in the history.
 */
#include "cli.h"
#include "daemon.h"
#include "app/app.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"
#include "store/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: lakehouse schedule COMMAND [ID] [options]\n"
    "\n"
    "commands:\n"
    "  add ID       create a schedule (--mysql|--postgres --dsn --table, --every|--cron)\n"
    "  list         all schedules as a table (--json)\n"
    "  show ID      one schedule (--json)\n"
    "  update ID    change the given fields\n"
    "  rm ID        delete a schedule (its run history stays)\n"
    "  run ID       run now: in the daemon when one runs, else here (prints the outcome)\n"
    "  pause ID     disable (--reason TEXT); resume ID enables again\n"
    "  runs ID      run history, newest first (--limit N, --before RUN_ID, --json)\n"
    "\n"
    "fields:\n"
    "  --mysql | --postgres      source kind\n"
    "  --dsn URL                 mysql://user:pass@host:3306/db, postgres://...; the\n"
    "                            password is encrypted at rest\n"
    "  --password-env VAR        read the password from VAR when the job runs\n"
    "  --table NAME  --dataset NAME  --batch-size N  --order-by COL  --limit N\n"
    "  --query SQL               a read-only SELECT instead of --table (needs --dataset)\n"
    "  --columns A,B,C  --where EXPR   part of the table ('' clears); --where is\n"
    "                            your SQL, run inside the read-only transaction\n"
    "  --mode overwrite|append|incremental   --cursor-column COL\n"
    "  --every DURATION          interval: 90s, 15m, 1h, 1d, 1h30m\n"
    "  --anchor completion|fixed next = end of run + interval, or on a fixed grid\n"
    "  --cron 'EXPR' [--tz ZONE] cron trigger (see lakehouse cron next)\n"
    "  --retries N  --retry-base DURATION  --retry-cap DURATION\n"
    "  --timeout DURATION        cancel a run that takes longer (0 = none)\n"
    "  --catch-up once|skip      after downtime: run once, or wait for the next time\n"
    "  --auto-pause-after N      pause after N failed runs in a row (0 = never)\n"
    "  --description TEXT  --created-by WHO  --disabled (add)  --enable|--disable (update)\n"
    "  --run-now                 (add) run once at once too; a cron schedule then goes\n"
    "                            on at its cron times (default: cron waits for its\n"
    "                            first time, an interval runs at once)\n"
    "  --no-run-now              (add) an interval schedule first runs one interval\n"
    "                            from now\n"
    "\n"
    "storage:\n"
    "  --data DIR | --store URL  (default $LAKEHOUSE_DATA or ./lakehouse-data)\n"
    "  --config FILE             the daemon's JSON config (buckets, secret_key_path)\n"
    "  --server URL              talk to this daemon (default $LAKEHOUSE_SERVER, else the\n"
    "                            daemon named by the store's _daemon.json, if alive);\n"
    "                            token from $LAKEHOUSE_TOKEN or $LAKEHOUSE_TOKEN_FILE\n"
    "  --secret-key-file PATH    key for DSN passwords (default $LAKEHOUSE_SECRET_KEY,\n"
    "                            $LAKEHOUSE_SECRET_KEY_FILE, ~/.config/lakehouse/secret.key)\n";

/* Options with a value; the index is the slot in opts.val. */
enum {
    O_DATA,
    O_STORE,
    O_CONFIG,
    O_KEYFILE,
    O_DSN,
    O_TABLE,
    O_DATASET,
    O_BATCH,
    O_ORDER,
    O_MODE,
    O_CURSOR,
    O_LIMIT,
    O_PWENV,
    O_EVERY,
    O_ANCHOR,
    O_CRON,
    O_TZ,
    O_RETRIES,
    O_RBASE,
    O_RCAP,
    O_TIMEOUT,
    O_CATCHUP,
    O_DESC,
    O_APAUSE,
    O_CREATEDBY,
    O_REASON,
    O_BEFORE,
    O_SERVER,
    O_QUERY,
    O_COLUMNS,
    O_WHERE,
    O_N
};
static const char *const val_names[O_N] = {
    "--data",         "--store",    "--config",        "--secret-key-file",
    "--dsn",          "--table",    "--dataset",       "--batch-size",
    "--order-by",     "--mode",     "--cursor-column", "--limit",
    "--password-env", "--every",    "--anchor",        "--cron",
    "--tz",           "--retries",  "--retry-base",    "--retry-cap",
    "--timeout",      "--catch-up", "--description",   "--auto-pause-after",
    "--created-by",   "--reason",   "--before",        "--server",
    "--query",        "--columns",  "--where"};

struct opts {
    const char *val[O_N];
    bool mysql, postgres, json, disabled, enable, disable;
    enum lh_first_run first; /* add: --run-now / --no-run-now */
    const char *cmd, *id;
};

static bool parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return false;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX)
            return false;
        int64_t mul = 1;
        p = end;
        if (*p == 's')
            p++;
        else if (*p == 'm') {
            mul = 60;
            p++;
        } else if (*p == 'h') {
            mul = 3600;
            p++;
        } else if (*p == 'd') {
            mul = 86400;
            p++;
        } else if (*p)
            return false;
        total += v * mul;
        if (total > LH_INTERVAL_MAX_SECS)
            return false;
    }
    *out = total;
    return true;
}

static bool parse_count(const char *s, uint64_t *out)
{
    int64_t v;
    if (!lh_parse_i64(s, &v) || v < 0)
        return false;
    *out = (uint64_t)v;
    return true;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* Applies the given flags to d. 0 ok, 2 bad usage (message printed). */
static int apply(const struct opts *o, struct lh_schedule *d)
{
    const char *const *v = o->val;
    if (o->mysql && o->postgres) {
        lh_cli_error("schedule: give --mysql or --postgres, not both");
        return 2;
    }
    if (o->mysql)
        d->kind = LH_SCHED_MYSQL;
    if (o->postgres)
        d->kind = LH_SCHED_POSTGRES;
    if (v[O_DSN]) {
        if (strlen(v[O_DSN]) >= sizeof d->dsn) {
            lh_cli_error("schedule: --dsn too long");
            return 2;
        }
        COPY(d->dsn, v[O_DSN]);
        d->dsn_secret[0] = '\0';
    }
    if (v[O_PWENV])
        COPY(d->password_env, v[O_PWENV]);
    if (v[O_TABLE] && v[O_QUERY]) {
        lh_cli_error("schedule: give --table or --query, not both");
        return 2;
    }
    const struct {
        int o;
        char *dst;
        size_t cap;
    } sql[] = {{O_TABLE, d->table, sizeof d->table},
               {O_QUERY, d->query, sizeof d->query},
               {O_COLUMNS, d->columns, sizeof d->columns},
               {O_WHERE, d->where, sizeof d->where}};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if (v[sql[i].o] && strlen(v[sql[i].o]) >= sql[i].cap) {
            lh_cli_error("schedule: %s is too long (at most %zu bytes)", val_names[sql[i].o],
                         sql[i].cap - 1);
            return 2;
        }
    /* a table replaces a query and the other way round */
    if (v[O_TABLE]) {
        COPY(d->table, v[O_TABLE]);
        d->query[0] = '\0';
    }
    if (v[O_QUERY]) {
        COPY(d->query, v[O_QUERY]);
        d->table[0] = '\0';
    }
    if (v[O_COLUMNS])
        COPY(d->columns, v[O_COLUMNS]);
    if (v[O_WHERE])
        COPY(d->where, v[O_WHERE]);
    if (v[O_DATASET])
        COPY(d->dataset_name, v[O_DATASET]);
    if (v[O_ORDER])
        COPY(d->order_by, v[O_ORDER]);
    if (v[O_CURSOR])
        COPY(d->cursor_column, v[O_CURSOR]);
    if (v[O_DESC])
        COPY(d->description, v[O_DESC]);
    if (v[O_CREATEDBY])
        COPY(d->created_by, v[O_CREATEDBY]);
    if (v[O_BATCH]) {
        if (!parse_count(v[O_BATCH], &d->batch_size))
            goto bad;
        d->has_batch_size = d->batch_size != 0;
    }
    if (v[O_LIMIT]) {
        if (!parse_count(v[O_LIMIT], &d->limit))
            goto bad;
        d->has_limit = d->limit != 0;
    }
    if (v[O_MODE]) {
        if (strcmp(v[O_MODE], "overwrite") == 0)
            d->mode = LH_SCHED_OVERWRITE;
        else if (strcmp(v[O_MODE], "append") == 0)
            d->mode = LH_SCHED_APPEND;
        else if (strcmp(v[O_MODE], "incremental") == 0)
            d->mode = LH_SCHED_INCREMENTAL;
        else
            goto bad;
    }
    if (v[O_EVERY] && v[O_CRON]) {
        lh_cli_error("schedule: give --every or --cron, not both");
        return 2;
    }
    if (v[O_EVERY]) {
        d->trigger.kind = LH_TRIGGER_INTERVAL;
        if (!parse_duration(v[O_EVERY], &d->trigger.interval_secs))
            goto bad;
        d->tz_name[0] = '\0';
    }
    if (v[O_ANCHOR]) {
        if (strcmp(v[O_ANCHOR], "completion") == 0)
            d->trigger.anchor = LH_ANCHOR_COMPLETION;
        else if (strcmp(v[O_ANCHOR], "fixed") == 0)
            d->trigger.anchor = LH_ANCHOR_FIXED;
        else
            goto bad;
    }
    if (v[O_CRON]) {
        if (strlen(v[O_CRON]) >= sizeof d->cron_expr)
            goto bad;
        d->trigger.kind = LH_TRIGGER_CRON;
        COPY(d->cron_expr, v[O_CRON]);
    }
    if (v[O_TZ])
        COPY(d->tz_name, v[O_TZ]);
    uint64_t u;
    if (v[O_RETRIES]) {
        if (!parse_count(v[O_RETRIES], &u) || u > 100)
            goto bad;
        d->retry.max_attempts = (uint32_t)u;
    }
    if (v[O_RBASE] && !parse_duration(v[O_RBASE], &d->retry.base_secs))
        goto bad;
    if (v[O_RCAP] && !parse_duration(v[O_RCAP], &d->retry.cap_secs))
        goto bad;
    if (v[O_TIMEOUT] && !parse_duration(v[O_TIMEOUT], &d->timeout_secs))
        goto bad;
    if (v[O_CATCHUP]) {
        if (strcmp(v[O_CATCHUP], "once") == 0)
            d->catch_up = LH_CATCH_UP_ONCE;
        else if (strcmp(v[O_CATCHUP], "skip") == 0)
            d->catch_up = LH_CATCH_UP_SKIP;
        else
            goto bad;
    }
    if (v[O_APAUSE]) {
        if (!parse_count(v[O_APAUSE], &u) || u > 1000000)
            goto bad;
        d->auto_pause_after = (uint32_t)u;
    }
    if (o->disabled || o->disable) {
        d->enabled = false;
        if (!d->paused_reason[0])
            COPY(d->paused_reason, v[O_REASON] ? v[O_REASON] : "paused");
    }
    if (o->enable) {
        d->enabled = true;
        d->paused_reason[0] = '\0';
    }
    /* what is copied: usage errors, before the full validation */
    if (d->query[0] && (d->columns[0] || d->where[0])) {
        lh_cli_error("schedule: %s goes with --table only (put it in the --query)",
                     d->columns[0] ? "--columns" : "--where");
        return 2;
    }
    if (d->query[0] && !d->dataset_name[0]) {
        lh_cli_error("schedule: --query needs --dataset NAME");
        return 2;
    }
    if ((v[O_TABLE] && !v[O_TABLE][0]) || (v[O_QUERY] && !v[O_QUERY][0])) {
        lh_cli_error("schedule: --table and --query must not be empty");
        return 2;
    }
    return 0;
bad:
    lh_cli_error("schedule: a value is not valid (durations: 90s, 15m, 1h, 1d; modes: "
                 "overwrite|append|incremental; anchors: completion|fixed; catch-up: once|skip)");
    return 2;
}

static void print_json(const struct lh_schedule *d)
{
    struct lh_schedule c = *d;
    c.dsn_secret[0] = '\0'; /* display form: the ciphertext is nobody's business */
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, 0);
    if (lh_schedule_to_json(&c, &b, &err) == LH_OK) {
        /* drop the trailing newline so arrays compose */
        if (b.len && b.data[b.len - 1] == '\n')
            b.len--;
        fwrite(b.data, 1, b.len, stdout);
    }
    lh_buf_reset(&b);
    lh_schedule_wipe(&c, sizeof c);
}

static void fmt_time(int64_t us, char *out, size_t cap)
{
    lh_time_format_iso(us - us % 1000000, out, cap);
}

/* "first run 2026-12-08T01:00:00Z (2026-12-08T02:00:00+01:00 Europe/Berlin)":
 * when a schedule just created first fires, in UTC and in its zone; and,
 * without a daemon, that nothing fires until one runs. */
static void print_first_run(const struct lh_schedule *d, bool daemon)
{
    char t[48], l[48] = "";
    fmt_time(d->next_run_at_us, t, sizeof t);
    if (!d->enabled) {
        printf("first run: none (disabled; 'lakehouse schedule resume %s' enables it)\n", d->id);
        return;
    }
    const struct lh_tz *tz = lh_tz_utc();
    struct lh_error err;
    if (d->tz_name[0] && lh_tz_load(d->tz_name, &tz, &err) != LH_OK)
        tz = lh_tz_utc();
    struct lh_tz_local loc;
    int64_t secs = d->next_run_at_us / 1000000;
    lh_tz_to_local(tz, secs, &loc);
    lh_time_format_iso(loc.local * 1000000, l, sizeof l);
    size_t n = strlen(l);
    if (n && l[n - 1] == 'Z') { /* the local wall time with its offset */
        int32_t off = loc.offset < 0 ? -loc.offset : loc.offset;
        snprintf(l + n - 1, sizeof l - (n - 1), "%c%02d:%02d", loc.offset < 0 ? '-' : '+',
                 (int)(off / 3600), (int)(off % 3600 / 60));
    }
    printf("first run: %s (%s %s)\n", t, l, lh_tz_name(tz));
    if (!daemon)
        printf("no daemon is running: nothing fires until 'lakehouse serve' runs on this "
               "store\n");
}

static void outcome_text(const struct lh_schedule *d, char *out, size_t cap)
{
    if (!d->last_outcome.present) {
        snprintf(out, cap, "-");
        return;
    }
    char t[48];
    fmt_time(d->last_outcome.at_us, t, sizeof t);
    snprintf(out, cap, "%s %s %.40s", d->last_outcome.success ? "ok" : "FAILED", t,
             d->last_outcome.message);
}

#define NCOL 7
static void print_table(const char *const hdr[NCOL], char (*cells)[NCOL][256], size_t n)
{
    int w[NCOL];
    for (int c = 0; c < NCOL; c++) {
        w[c] = (int)strlen(hdr[c]);
        for (size_t i = 0; i < n; i++)
            if ((int)strlen(cells[i][c]) > w[c])
                w[c] = (int)strlen(cells[i][c]);
    }
    for (size_t i = 0; i <= n; i++)
        for (int c = 0; c < NCOL; c++) {
            const char *v = i == 0 ? hdr[c] : cells[i - 1][c];
            if (c == NCOL - 1)
                printf("%s\n", v);
            else
                printf("%-*s  ", w[c], v);
        }
}

static int cmd_list(struct lh_schedule_store *ss, const struct opts *o)
{
    struct lh_schedule *v;
    size_t n;
    struct lh_error err;
    if (lh_schedule_store_list(ss, &v, &n, &err) != LH_OK) {
        lh_cli_error("schedule: %s", err.msg);
        return 1;
    }
    for (size_t i = 0; lh_schedule_store_problem(ss, i); i++)
        lh_cli_error("warning: %s", lh_schedule_store_problem(ss, i));
    if (o->json) {
        fputs("[", stdout);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n" : "\n", stdout);
            print_json(&v[i]);
        }
        fputs(n ? "\n]\n" : "]\n", stdout);
        free(v);
        return 0;
    }
    static const char *const hdr[NCOL] = {"ID",       "KIND",        "TRIGGER",     "ENABLED",
                                          "NEXT RUN", "RUNS/FAILED", "LAST OUTCOME"};
    char(*cells)[NCOL][256] = calloc(n ? n : 1, sizeof *cells);
    if (!cells) {
        free(v);
        lh_cli_error("schedule: out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct lh_schedule *d = &v[i];
        snprintf(cells[i][0], 256, "%s", d->id);
        lh_schedule_label(d, cells[i][1], 256);
        lh_schedule_trigger_text(d, cells[i][2], 256);
        snprintf(cells[i][3], 256, "%s", d->enabled ? "yes" : "no");
        if (d->enabled)
            fmt_time(d->next_run_at_us, cells[i][4], 256);
        else
            snprintf(cells[i][4], 256, "-");
        snprintf(cells[i][5], 256, "%" PRIu64 "/%" PRIu64, d->run_count, d->failure_count);
        outcome_text(d, cells[i][6], 256);
    }
    print_table(hdr, cells, n);
    free(cells);
    free(v);
    return 0;
}

static void show_text(const struct lh_schedule *d)
{
    char b[512], t[48];
    printf("id                %s\n", d->id);
    lh_schedule_label(d, b, sizeof b);
    printf("kind              %s\n", b);
    printf("dsn               %s%s\n", d->dsn, d->dsn_secret[0] ? "  (password sealed)" : "");
    if (d->password_env[0])
        printf("password_env      %s\n", d->password_env);
    if (d->query[0])
        printf("query             %s\n", d->query);
    else
        printf("table             %s\n", d->table);
    if (d->columns[0])
        printf("columns           %s\n", d->columns);
    if (d->where[0])
        printf("where             %s\n", d->where);
    char defname[256] = "";
    if (!d->dataset_name[0] &&
        lh_ingest_default_dataset(d->kind == LH_SCHED_MYSQL ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES,
                                  d->dsn, d->table, defname, sizeof defname, NULL, NULL) != LH_OK)
        snprintf(defname, sizeof defname, "%s", d->table);
    printf("dataset           %s\n", d->dataset_name[0] ? d->dataset_name : defname);
    printf("mode              %s%s%s\n", lh_schedule_mode_name(d->mode),
           d->cursor_column[0] ? " cursor " : "", d->cursor_column);
    if (d->has_batch_size)
        printf("batch_size        %" PRIu64 "\n", d->batch_size);
    if (d->order_by[0])
        printf("order_by          %s\n", d->order_by);
    if (d->has_limit)
        printf("limit             %" PRIu64 "\n", d->limit);
    lh_schedule_trigger_text(d, b, sizeof b);
    printf("trigger           %s\n", b);
    printf("enabled           %s%s%s\n", d->enabled ? "yes" : "no",
           d->paused_reason[0] ? " — " : "", d->paused_reason);
    if (d->description[0])
        printf("description       %s\n", d->description);
    fmt_time(d->created_at_us, t, sizeof t);
    printf("created           %s by %s\n", t, d->created_by[0] ? d->created_by : "-");
    fmt_time(d->next_run_at_us, t, sizeof t);
    printf("next run          %s%s\n", t, d->retry_attempt ? " (retry)" : "");
    if (d->has_last_run) {
        fmt_time(d->last_run_at_us, t, sizeof t);
        printf("last run          %s\n", t);
    }
    outcome_text(d, b, sizeof b);
    printf("last outcome      %s\n", d->last_outcome.present ? b : "-");
    if (d->last_outcome.present)
        printf("                  %s (%.2f s)\n", d->last_outcome.message,
               d->last_outcome.duration_secs);
    printf("runs / failures   %" PRIu64 " / %" PRIu64 " (%u in a row)\n", d->run_count,
           d->failure_count, d->consecutive_failures);
    printf("retry             %u attempts, %" PRId64 "s base, %" PRId64 "s cap\n",
           d->retry.max_attempts, d->retry.base_secs, d->retry.cap_secs);
    if (d->timeout_secs)
        printf("timeout           %" PRId64 "s\n", d->timeout_secs);
    else
        printf("timeout           none\n");
    printf("catch_up          %s\n", d->catch_up == LH_CATCH_UP_SKIP ? "skip" : "once");
    if (d->auto_pause_after)
        printf("auto_pause_after  %u\n", d->auto_pause_after);
}

static int cmd_runs(struct lh_schedule_store *ss, const struct opts *o)
{
    uint64_t limit = 20;
    if (o->val[O_LIMIT] && (!parse_count(o->val[O_LIMIT], &limit) || limit == 0 || limit > 10000)) {
        lh_cli_error("schedule: --limit wants 1-10000");
        return 2;
    }
    struct lh_run_record *v;
    size_t n, total;
    struct lh_error err;
    if (lh_schedule_store_runs(ss, o->id, o->val[O_BEFORE], limit, &v, &n, &total, &err) != LH_OK) {
        lh_cli_error("schedule: %s", err.msg);
        return 1;
    }
    if (o->json) {
        fputs("[", stdout);
        for (size_t i = 0; i < n; i++) {
            struct lh_buf b;
            lh_buf_init(&b, 0);
            if (lh_run_record_to_json(&v[i], &b, &err) == LH_OK) {
                fputs(i ? ",\n" : "\n", stdout);
                fwrite(b.data, 1, b.len && b.data[b.len - 1] == '\n' ? b.len - 1 : b.len, stdout);
            }
            lh_buf_reset(&b);
        }
        fputs(n ? "\n]\n" : "]\n", stdout);
        free(v);
        return 0;
    }
    static const char *const hdr[NCOL] = {"RUN ID",  "REASON", "STARTED", "SECS",
                                          "OUTCOME", "ROWS",   "MESSAGE"};
    char(*cells)[NCOL][256] = calloc(n ? n : 1, sizeof *cells);
    if (!cells) {
        free(v);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(cells[i][0], 256, "%s", v[i].run_id);
        if (v[i].damaged) { /* listed in its place, with what is wrong */
            for (int c = 1; c < 6; c++)
                snprintf(cells[i][c], 256, "-");
            snprintf(cells[i][4], 256, "damaged");
            snprintf(cells[i][6], 256, "%.200s", v[i].message);
            continue; /* the store warned about it already */
        }
        snprintf(cells[i][1], 256, "%s", lh_run_reason_name(v[i].reason));
        fmt_time(v[i].started_at_us, cells[i][2], 256);
        snprintf(cells[i][3], 256, "%.2f",
                 (double)(v[i].finished_at_us - v[i].started_at_us) / 1e6);
        snprintf(cells[i][4], 256, "%s%s", lh_run_status_name(v[i].status),
                 v[i].unrecorded ? " (unrecorded)" : "");
        if (v[i].has_rows)
            snprintf(cells[i][5], 256, "%" PRIu64, v[i].rows);
        else
            snprintf(cells[i][5], 256, "-");
        snprintf(cells[i][6], 256, "%.120s", v[i].message);
    }
    print_table(hdr, cells, n);
    if (n < total)
        printf("(%zu of %zu kept runs; more with --before %s)\n", n, total,
               n ? v[n - 1].run_id : "");
    free(cells);
    free(v);
    return 0;
}

/* ------------------------------------------------------------ via the daemon */

/* One call; on a non-2xx answer prints the daemon's error. Returns the
 * HTTP status, 0 on transport failure (printed). */
static long remote(const struct lh_daemon_ref *ref, const char *method, const char *path,
                   const char *body, struct lh_buf *out, const char *what)
{
    long st = 0;
    struct lh_error err;
    lh_buf_clear(out);
    if (lh_daemon_call(ref, method, path, body, &st, out, &err) != LH_OK) {
        lh_cli_error("schedule %s: daemon at %s: %s", what, ref->url, err.msg);
        return 0;
    }
    if (st < 200 || st > 299) {
        char msg[700];
        lh_daemon_error_text(out, st, msg, sizeof msg);
        lh_cli_error("schedule %s: %s", what, msg);
    }
    return st;
}

static bool path_of(char *out, size_t cap, const char *id, const char *tail)
{
    size_t o = (size_t)snprintf(out, cap, "/api/schedules/");
    for (const unsigned char *p = (const unsigned char *)id; *p && o + 4 < cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    return snprintf(out + o, cap - o, "%s", tail) < (int)(cap - o);
}

/* The schedule as the daemon shows it (redacted DSN, no secret). */
static bool remote_get(const struct lh_daemon_ref *ref, const char *id, struct lh_schedule *d,
                       struct lh_buf *b, const char *what)
{
    char path[1024];
    struct lh_error err;
    if (!path_of(path, sizeof path, id, "") || remote(ref, "GET", path, NULL, b, what) != 200)
        return false;
    if (lh_schedule_from_json((const char *)b->data, b->len, NULL, d, NULL, &err) != LH_OK) {
        lh_cli_error("schedule %s: the daemon's answer: %s", what, err.msg);
        return false;
    }
    return true;
}

static bool to_body(const struct lh_schedule *d, struct lh_buf *out)
{
    struct lh_error err;
    lh_buf_clear(out);
    if (lh_schedule_to_json(d, out, &err) != LH_OK) {
        lh_cli_error("schedule: %s", err.msg);
        return false;
    }
    lh_buf_cstr(out);
    return lh_buf_ok(out);
}

static int run_remote(const struct lh_daemon_ref *ref, struct opts *o)
{
    struct lh_schedule *d = calloc(1, sizeof *d);
    struct lh_buf b, body;
    char path[1024];
    int rc = 1;
    const char *c = o->cmd;
    if (!d)
        return 1;
    lh_buf_init(&b, 16u << 20);
    lh_buf_init(&body, LH_SCHEDULE_JSON_MAX);
    if (!path_of(path, sizeof path, o->id, "")) {
        lh_cli_error("schedule %s: id too long", c);
        goto done;
    }
    if (strcmp(c, "add") == 0) {
        lh_schedule_init(d, o->id, lh_time_wall_us());
        d->trigger.interval_secs = 0;
        const char *user = getenv("USER");
        COPY(d->created_by, user && *user ? user : "cli");
        if (!o->mysql && !o->postgres) {
            lh_cli_error("schedule add: give --mysql or --postgres");
            rc = 2;
            goto done;
        }
        if (!o->val[O_DSN] || (!o->val[O_TABLE] && !o->val[O_QUERY]) ||
            (!o->val[O_EVERY] && !o->val[O_CRON])) {
            lh_cli_error(
                "schedule add: --dsn, --table (or --query) and --every or --cron are required");
            rc = 2;
            goto done;
        }
        if ((rc = apply(o, d)) != 0)
            goto done;
        rc = 1;
        if (!to_body(d, &body))
            goto done;
        if (o->first != LH_FIRST_RUN_DEFAULT) { /* the body's run_now */
            json_t *j = json_loadb((const char *)body.data, body.len, 0, NULL);
            char *txt = NULL;
            if (j && json_object_set_new(j, "run_now", json_boolean(o->first == LH_FIRST_RUN_NOW)) == 0)
                txt = json_dumps(j, JSON_COMPACT);
            json_decref(j);
            lh_buf_clear(&body);
            if (txt)
                lh_buf_append_str(&body, txt);
            lh_buf_cstr(&body);
            if (txt)
                lh_schedule_wipe(txt, strlen(txt));
            free(txt);
            if (!txt || !lh_buf_ok(&body)) {
                lh_cli_error("schedule add: out of memory");
                goto done;
            }
        }
        if (remote(ref, "POST", "/api/schedules", (const char *)body.data, &b, c) != 201)
            goto done;
        struct lh_error err;
        if (lh_schedule_from_json((const char *)b.data, b.len, NULL, d, NULL, &err) != LH_OK) {
            lh_cli_error("schedule add: the daemon's answer: %s", err.msg);
            goto done;
        }
        char trig[300];
        lh_schedule_trigger_text(d, trig, sizeof trig);
        printf("created schedule %s (%s, %s) in the daemon at %s\n", d->id, d->dsn, trig, ref->url);
        print_first_run(d, true);
        rc = 0;
    } else if (strcmp(c, "rm") == 0) {
        if (remote(ref, "DELETE", path, NULL, &b, c) != 204)
            goto done;
        printf("removed schedule %s\n", o->id);
        rc = 0;
    } else if (strcmp(c, "run") == 0) {
        char rpath[1100];
        if (!path_of(rpath, sizeof rpath, o->id, "/run"))
            goto done;
        long st = remote(ref, "POST", rpath, NULL, &b, c);
        if (st != 202)
            goto done;
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        printf("started run %s of schedule %s in the daemon at %s\n",
               json_string_value(json_object_get(j, "run_id")) ? json_string_value(json_object_get(j, "run_id")) : "?",
               o->id, ref->url);
        json_decref(j);
        rc = 0;
    } else { /* update, pause, resume: read, change, replace */
        if (!remote_get(ref, o->id, d, &b, c))
            goto done;
        if (strcmp(c, "update") == 0) {
            if ((rc = apply(o, d)) != 0)
                goto done;
            rc = 1;
        } else {
            d->enabled = c[0] == 'r';
            if (d->enabled)
                d->paused_reason[0] = '\0';
            else
                COPY(d->paused_reason, o->val[O_REASON] ? o->val[O_REASON] : "paused");
        }
        if (!to_body(d, &body) || remote(ref, "PUT", path, (const char *)body.data, &b, c) != 200)
            goto done;
        printf("%s schedule %s\n",
               c[0] == 'u'   ? "updated"
               : c[0] == 'r' ? "resumed"
                             : "paused",
               o->id);
        rc = 0;
    }
done:
    lh_schedule_wipe(body.data, body.cap);
    lh_buf_reset(&body);
    lh_buf_reset(&b);
    lh_schedule_wipe(d, sizeof *d);
    free(d);
    return rc;
}

/* ------------------------------------------------------------ run inline */

/* `schedule run` without a daemon: the ingest runs here, the run is
 * recorded in the history as a manual run, the outcome is printed. */
static int run_inline(struct lh_schedule_store *ss, const struct lh_schedule *d, const char *root,
                      const char *config)
{
    struct lh_error err;
    char *dsn = malloc(LH_SCHEDULE_DSN_MAX);
    struct lh_ingest_result *res = calloc(1, sizeof *res);
    struct lh_run_record *rec = calloc(1, sizeof *rec);
    int rc = 1;
    if (!dsn || !res || !rec) {
        lh_cli_error("schedule run: out of memory");
        goto done;
    }
    rec->started_at_us = lh_time_wall_us();
    lh_run_id_make(rec->started_at_us, (uint32_t)(getpid() & 0xffff), rec->run_id);
    snprintf(rec->schedule_id, sizeof rec->schedule_id, "%s", d->id);
    rec->reason = LH_RUN_MANUAL;
    enum lh_status s = lh_schedule_dsn_reveal(d, lh_schedule_store_key(ss), dsn,
                                              LH_SCHEDULE_DSN_MAX, &err);
    if (s == LH_OK) {
        struct lh_app_jobs env = {.root = root, .buckets_config = config};
        s = lh_app_ingest_def(&env, d, dsn, rec->run_id,
                               d->timeout_secs > 0 ? d->timeout_secs * 1000 : 0, NULL, NULL, res,
                               &err);
    }
    lh_schedule_wipe(dsn, LH_SCHEDULE_DSN_MAX);
    rec->finished_at_us = lh_time_wall_us();
    rec->status = s == LH_OK ? LH_RUN_SUCCESS : LH_RUN_FAILED;
    if (s == LH_OK) {
        rec->has_rows = true;
        rec->rows = res->rows > 0 ? (uint64_t)res->rows : 0;
        rec->bytes = res->bytes;
        rec->warnings = res->warnings > 0 ? (uint64_t)res->warnings : 0;
        snprintf(rec->message, sizeof rec->message, "%s", res->message);
    } else {
        snprintf(rec->message, sizeof rec->message, "%s", err.msg);
    }
    struct lh_error rerr;
    if (lh_schedule_store_record_run(ss, rec, (uint64_t)rec->finished_at_us, rec->finished_at_us,
                                     NULL, NULL, &rerr) != LH_OK)
        lh_cli_error("warning: schedule run: cannot record the run: %s", rerr.msg);
    if (s == LH_OK) {
        printf("run %s of %s: %s version=%llu duration=%.2fs\n", rec->run_id, d->id, res->message,
               (unsigned long long)res->version, res->duration_s);
        rc = 0;
    } else {
        lh_cli_error("schedule run %s: %s", d->id, err.msg);
    }
done:
    free(dsn);
    free(res);
    free(rec);
    return rc;
}

static int run_cmd(struct lh_schedule_store *ss, struct opts *o, const char *root,
                   const char *config)
{
    struct lh_error err;
    struct lh_schedule *d = calloc(1, sizeof *d);
    int rc = 1;
    if (!d)
        return 1;
    const char *c = o->cmd;
    if (strcmp(c, "list") == 0) {
        rc = cmd_list(ss, o);
    } else if (strcmp(c, "runs") == 0) {
        rc = cmd_runs(ss, o);
    } else if (strcmp(c, "add") == 0) {
        lh_schedule_init(d, o->id, lh_time_wall_us());
        d->trigger.interval_secs = 0;
        const char *user = getenv("USER");
        COPY(d->created_by, user && *user ? user : "cli");
        if (!o->mysql && !o->postgres) {
            lh_cli_error("schedule add: give --mysql or --postgres");
            rc = 2;
            goto done;
        }
        if (!o->val[O_DSN] || (!o->val[O_TABLE] && !o->val[O_QUERY]) ||
            (!o->val[O_EVERY] && !o->val[O_CRON])) {
            lh_cli_error(
                "schedule add: --dsn, --table (or --query) and --every or --cron are required");
            rc = 2;
            goto done;
        }
        if ((rc = apply(o, d)) != 0)
            goto done;
        if (lh_schedule_validate(d, true, &err) != LH_OK ||
            lh_schedule_first_run(d, lh_time_wall_us(), o->first, &err) != LH_OK ||
            lh_schedule_store_create(ss, d, &err) != LH_OK) {
            lh_cli_error("schedule add: %s", err.msg);
            rc = 1;
            goto done;
        }
        if (lh_schedule_store_get(ss, o->id, d, &err) != LH_OK)
            lh_cli_error("schedule add: %s", err.msg);
        char trig[300];
        lh_schedule_trigger_text(d, trig, sizeof trig);
        printf("created schedule %s (%s, %s)\n", d->id, d->dsn, trig);
        print_first_run(d, false);
    } else if (lh_schedule_store_get(ss, o->id, d, &err) != LH_OK) {
        lh_cli_error("schedule %s: %s", c, err.msg);
        rc = 1;
    } else if (strcmp(c, "show") == 0) {
        if (o->json) {
            print_json(d);
            putchar('\n');
        } else {
            show_text(d);
        }
        rc = 0;
    } else if (strcmp(c, "update") == 0) {
        if ((rc = apply(o, d)) != 0)
            goto done;
        if (lh_schedule_store_update(ss, d, lh_time_wall_us(), &err) != LH_OK) {
            lh_cli_error("schedule update: %s", err.msg);
            rc = 1;
            goto done;
        }
        printf("updated schedule %s\n", d->id);
    } else if (strcmp(c, "rm") == 0) {
        if (lh_schedule_store_delete(ss, o->id, NULL, &err) != LH_OK) {
            lh_cli_error("schedule rm: %s", err.msg);
            goto done;
        }
        printf("removed schedule %s\n", o->id);
        rc = 0;
    } else if (strcmp(c, "pause") == 0 || strcmp(c, "resume") == 0) {
        bool en = c[0] == 'r';
        if (lh_schedule_store_set_enabled(ss, o->id, en, o->val[O_REASON], &err) != LH_OK) {
            lh_cli_error("schedule %s: %s", c, err.msg);
            goto done;
        }
        printf("%s schedule %s\n", en ? "resumed" : "paused", o->id);
        rc = 0;
    } else if (strcmp(c, "run") == 0) {
        rc = run_inline(ss, d, root, config);
    }
done:
    lh_schedule_wipe(d, sizeof *d);
    free(d);
    return rc;
}

int lh_cmd_schedule(int argc, char **argv)
{
    if (argc < 2 || lh_cli_wants_help(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct opts o;
    memset(&o, 0, sizeof o);
    o.cmd = argv[1];
    static const char *const cmds[] = {"add", "list",  "show",   "update", "rm",
                                       "run", "pause", "resume", "runs"};
    bool known = false;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        known |= strcmp(o.cmd, cmds[i]) == 0;
    if (!known) {
        lh_cli_error("schedule: unknown command '%s' (see 'lakehouse schedule --help')", o.cmd);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int slot = -1;
        for (int k = 0; k < O_N; k++)
            if (strcmp(a, val_names[k]) == 0)
                slot = k;
        if (slot >= 0) {
            if (i + 1 >= argc) {
                lh_cli_error("schedule: %s needs a value", a);
                return 2;
            }
            o.val[slot] = argv[++i];
        } else if (strcmp(a, "--mysql") == 0) {
            o.mysql = true;
        } else if (strcmp(a, "--postgres") == 0) {
            o.postgres = true;
        } else if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--disabled") == 0) {
            o.disabled = true;
        } else if (strcmp(a, "--run-now") == 0) {
            o.first = LH_FIRST_RUN_NOW;
        } else if (strcmp(a, "--no-run-now") == 0) {
            o.first = LH_FIRST_RUN_LATER;
        } else if (strcmp(a, "--enable") == 0) {
            o.enable = true;
        } else if (strcmp(a, "--disable") == 0) {
            o.disable = true;
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("schedule: unknown option '%s' (see 'lakehouse schedule --help')", a);
            return 2;
        } else if (!o.id) {
            o.id = a;
        } else {
            lh_cli_error("schedule: unexpected argument '%s'", a);
            return 2;
        }
    }
    if (o.first != LH_FIRST_RUN_DEFAULT && strcmp(o.cmd, "add") != 0) {
        lh_cli_error("schedule %s: --run-now/--no-run-now are for 'add' (to run now: "
                     "'lakehouse schedule run ID')", o.cmd);
        return 2;
    }
    bool list = strcmp(o.cmd, "list") == 0;
    if (!list && !o.id) {
        lh_cli_error("schedule %s: which schedule? (an ID)", o.cmd);
        return 2;
    }
    if (o.val[O_DATA] && o.val[O_STORE]) {
        lh_cli_error("schedule: give --data or --store, not both");
        return 2;
    }
    static const char *const changes[] = {"add", "update", "rm", "pause", "resume", "run"};
    bool change = false;
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++)
        change |= strcmp(o.cmd, changes[i]) == 0;
    struct lh_daemon_ref ref;
    const char *server = o.val[O_SERVER] ? o.val[O_SERVER] : getenv("LAKEHOUSE_SERVER");
    if (change && server && *server) {
        lh_daemon_find(NULL, server, &ref);
        return run_remote(&ref, &o);
    }
    /* the daemon's config file names the store, the buckets and the key */
    struct lh_app_config cfg;
    lh_app_config_init(&cfg);
    const char *config = o.val[O_CONFIG] ? o.val[O_CONFIG] : getenv("LAKEHOUSE_CONFIG");
    struct lh_error cerr;
    if (config && *config && lh_app_config_load(&cfg, config, &cerr) != LH_OK) {
        lh_cli_error("schedule: %s", cerr.msg);
        lh_app_config_reset(&cfg);
        return 1;
    }
    const char *root = o.val[O_STORE]  ? o.val[O_STORE]
                       : o.val[O_DATA] ? o.val[O_DATA]
                       : getenv("LAKEHOUSE_STORE") && *getenv("LAKEHOUSE_STORE")
                           ? getenv("LAKEHOUSE_STORE")
                       : getenv("LAKEHOUSE_DATA") && *getenv("LAKEHOUSE_DATA")
                           ? getenv("LAKEHOUSE_DATA")
                       : cfg.store_url && *cfg.store_url ? cfg.store_url
                                                         : cfg.data_dir;
    if (!root || !*root)
        root = "./lakehouse-data";
    const char *keyfile = o.val[O_KEYFILE] ? o.val[O_KEYFILE] : cfg.secret_key_path;
    struct stat sb;
    bool creating = strcmp(o.cmd, "add") == 0;
    if (!creating && strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("schedule: data directory %s does not exist", root);
        return 1;
    }
    struct lh_store_set *set = NULL;
    struct lh_schedule_store *ss = NULL;
    struct lh_schedule_key key;
    struct lh_error err;
    int rc = 1;
    const char *buckets = cfg.buckets_config;
    if (lh_store_set_open(root, buckets, NULL, &set, &err) != LH_OK) {
        lh_cli_error("schedule: %s", err.msg);
        goto done;
    }
    if (change && lh_daemon_find(lh_store_set_primary(set), NULL, &ref)) {
        rc = run_remote(&ref, &o);
        goto done;
    }
    if (change && ref.problem[0]) { /* never behind a live daemon's back */
        lh_cli_error("schedule %s: %s", o.cmd, ref.problem);
        goto done;
    }
    if (lh_schedule_key_resolve(keyfile, &key, &err) != LH_OK) {
        lh_cli_error("schedule: %s", err.msg);
        goto done;
    }
    struct lh_schedule_store_options so = {.key = &key};
    if (lh_schedule_store_open(lh_store_set_primary(set), &so, &ss, &err) != LH_OK) {
        lh_cli_error("schedule: %s", err.msg);
        goto done;
    }
    rc = run_cmd(ss, &o, root, buckets);
done:
    lh_schedule_store_close(ss);
    lh_store_set_close(set);
    lh_schedule_wipe(&key, sizeof key);
    lh_app_config_reset(&cfg);
    return rc;
}
