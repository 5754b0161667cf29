/*
 * cmd_schedule.c — `lakehouse schedule add|list|show|update|rm|run|pause|
 * resume|runs`, working directly on the schedule store (`_schedules/`,
 * `_runs/`) of the store lh_cli_store_root picks.
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
#include "runs.h"
#include "app/app.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"
#include "store/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: lakehouse schedule COMMAND [ID] [options]\n"
    "\n"
    "commands:\n"
    "  add ID       create a schedule (--mysql|--postgres --dsn --table, --every|--cron)\n"
    "  list         all schedules as a table\n"
    "  show ID      one schedule, with its running run's progress\n"
    "  update ID    change the given fields\n"
    "  rm ID        delete a schedule (its run history stays)\n"
    "  run ID       run now (in the daemon when one runs, else here); --wait waits\n"
    "  cancel ID    stop the schedule's running run (needs the daemon)\n"
    "  pause ID     disable (--reason TEXT); resume ID enables again\n"
    "  runs ID      the schedule's runs, newest first (--all: every schedule's)\n"
    "\n"
    "'lakehouse schedule COMMAND --help' describes one command. Every command\n"
    "takes --json. Exit codes: 0 success, 1 failure, 2 bad usage (docs/cli.md).\n";

static const char *const fields_help =
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
    "  --description TEXT  --created-by WHO\n";

static const char *const storage_help =
    "storage:\n"
    "  --data DIR | --store URL  (default $LAKEHOUSE_DATA or ./lakehouse-data)\n"
    "  --config FILE             the daemon's JSON config (buckets, secret_key_path)\n"
    "  --server URL              talk to this daemon (default $LAKEHOUSE_SERVER, else the\n"
    "                            daemon named by the store's _daemon.json, if alive);\n"
    "                            token from $LAKEHOUSE_TOKEN or $LAKEHOUSE_TOKEN_FILE\n"
    "  --secret-key-file PATH    key for DSN passwords (default $LAKEHOUSE_SECRET_KEY,\n"
    "                            $LAKEHOUSE_SECRET_KEY_FILE, ~/.config/lakehouse/secret.key)\n";

/* One help text per command: `lakehouse schedule add --help` is about add. */
static const struct {
    const char *name, *text;
    bool fields;
} helps[] = {
    {"add",
     "usage: lakehouse schedule add ID --mysql|--postgres --dsn DSN\n"
     "           (--table T | --query SQL --dataset D) (--every DURATION | --cron EXPR [--tz Z])\n"
     "           [fields] [--disabled] [--run-now | --no-run-now] [--json]\n"
     "\n"
     "Creates a schedule and says when it first runs (UTC and its zone). A cron\n"
     "schedule waits for its first cron time, an interval schedule runs at once:\n"
     "  --run-now      run once at once too (a cron schedule then goes on at its\n"
     "                 cron times)\n"
     "  --no-run-now   an interval schedule first runs one interval from now\n"
     "  --disabled     created paused\n"
     "  --json         the created schedule as JSON\n",
     true},
    {"list",
     "usage: lakehouse schedule list [--json]\n"
     "\n"
     "All schedules as a table: id, source, target dataset, trigger, enabled, next\n"
     "run (UTC and the schedule's zone; none while paused), runs that succeeded and\n"
     "failed, and the last outcome. --json: an array of schedules.\n",
     false},
    {"show",
     "usage: lakehouse schedule show ID [--json]\n"
     "\n"
     "One schedule in full: source, dataset, trigger, times in UTC and in its zone,\n"
     "the last outcome with its whole message, counters, and — with a daemon\n"
     "running — the active run's progress (rows, rate, elapsed, %% and ETA when the\n"
     "source gives an estimate). --json: the schedule with \"active_run\".\n",
     false},
    {"update",
     "usage: lakehouse schedule update ID [fields] [--enable | --disable [--reason TEXT]]\n"
     "           [--json]\n"
     "\n"
     "Changes the given fields; the others keep their values. --json prints the\n"
     "schedule as it is now.\n",
     true},
    {"rm",
     "usage: lakehouse schedule rm ID [--json]\n"
     "\n"
     "Deletes the schedule; its run history stays ('lakehouse runs --schedule ID').\n",
     false},
    {"run",
     "usage: lakehouse schedule run ID [--wait [--cancel-on-interrupt]] [--json]\n"
     "\n"
     "Runs the schedule now, even when it is paused.\n"
     "With a daemon the run happens in the daemon: without --wait this prints the\n"
     "run id at once (poll GET /api/runs/RUN_ID or 'lakehouse runs show RUN_ID');\n"
     "with --wait it follows the run (a progress line on a terminal) and prints the\n"
     "outcome. Ctrl-C then stops the waiting, not the run, unless\n"
     "--cancel-on-interrupt is given. Without a daemon the run happens here and\n"
     "always waits; Ctrl-C cancels it (nothing is published).\n"
     "Exit code: 0 when the run succeeded, 1 when it failed or was cancelled (with\n"
     "a daemon and no --wait: 0 once the run started).\n"
     "  --json         the run as JSON (GET /api/runs/RUN_ID's shape)\n",
     false},
    {"pause",
     "usage: lakehouse schedule pause ID [--reason TEXT] [--json]\n"
     "\n"
     "Disables the schedule: it fires no more until resumed (a run now still works).\n",
     false},
    {"resume",
     "usage: lakehouse schedule resume ID [--json]\n"
     "\n"
     "Enables the schedule again and clears its failure streak.\n",
     false},
};

static void print_help(const char *cmd, FILE *f)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(helps[i].name, cmd) == 0) {
            fputs(helps[i].text, f);
            fputc('\n', f);
            if (helps[i].fields) {
                fputs(fields_help, f);
                fputc('\n', f);
            }
            fputs(storage_help, f);
            return;
        }
    fputs(usage, f);
}

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
    bool wait, cancel_int; /* run: --wait, --cancel-on-interrupt */
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

/* An enum option: *k becomes the index of s among the count names; s NULL
 * (not given) leaves *k. false when s is none of them. */
static bool pick(const char *s, const char *const *names, int count, int *k)
{
    for (int i = 0; s && i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *k = i;
            return true;
        }
    return !s;
}

/* Applies the given flags to d. 0 ok, 2 bad usage (message printed). */
static int apply(const struct opts *o, struct lh_schedule *d)
{
    const char *const *v = o->val;
    int bad_opt = O_N;
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
    if (v[O_TABLE] && v[O_QUERY]) {
        lh_cli_error("schedule: give --table or --query, not both");
        return 2;
    }
    /* the SQL parts are refused when too long, the rest cut to fit */
    const struct {
        int o;
        char *dst;
        size_t cap;
        bool whole;
    } text[] = {{O_TABLE, d->table, sizeof d->table, true},
                {O_QUERY, d->query, sizeof d->query, true},
                {O_COLUMNS, d->columns, sizeof d->columns, true},
                {O_WHERE, d->where, sizeof d->where, true},
                {O_PWENV, d->password_env, sizeof d->password_env, false},
                {O_DATASET, d->dataset_name, sizeof d->dataset_name, false},
                {O_ORDER, d->order_by, sizeof d->order_by, false},
                {O_CURSOR, d->cursor_column, sizeof d->cursor_column, false},
                {O_DESC, d->description, sizeof d->description, false},
                {O_CREATEDBY, d->created_by, sizeof d->created_by, false}};
    const size_t n_text = sizeof text / sizeof text[0];
    for (size_t i = 0; i < n_text; i++)
        if (text[i].whole && v[text[i].o] && strlen(v[text[i].o]) >= text[i].cap) {
            lh_cli_error("schedule: %s is too long (at most %zu bytes)", val_names[text[i].o],
                         text[i].cap - 1);
            return 2;
        }
    /* a table replaces a query and the other way round */
    if (v[O_TABLE])
        d->query[0] = '\0';
    if (v[O_QUERY])
        d->table[0] = '\0';
    for (size_t i = 0; i < n_text; i++)
        if (v[text[i].o])
            snprintf(text[i].dst, text[i].cap, "%s", v[text[i].o]);
    if (v[O_BATCH]) {
        if (!parse_count(v[O_BATCH], &d->batch_size)) {
            bad_opt = O_BATCH;
            goto bad;
        }
        d->has_batch_size = d->batch_size != 0;
    }
    if (v[O_LIMIT]) {
        if (!parse_count(v[O_LIMIT], &d->limit)) {
            bad_opt = O_LIMIT;
            goto bad;
        }
        d->has_limit = d->limit != 0;
    }
    /* the words of the enums, in their order */
    static const char *const modes[] = {"overwrite", "append", "incremental"};
    static const char *const anchors[] = {"completion", "fixed"};
    static const char *const catch_ups[] = {"once", "skip"};
    int mode = (int)d->mode, anchor = (int)d->trigger.anchor, catch_up = (int)d->catch_up;
    if (!pick(v[O_MODE], modes, 3, &mode)) {
        bad_opt = O_MODE;
        goto bad;
    }
    d->mode = (enum lh_schedule_mode)mode;
    if (v[O_EVERY] && v[O_CRON]) {
        lh_cli_error("schedule: give --every or --cron, not both");
        return 2;
    }
    if (v[O_EVERY]) {
        d->trigger.kind = LH_TRIGGER_INTERVAL;
        if (!parse_duration(v[O_EVERY], &d->trigger.interval_secs)) {
            bad_opt = O_EVERY;
            goto bad;
        }
        d->tz_name[0] = '\0';
    }
    if (!pick(v[O_ANCHOR], anchors, 2, &anchor)) {
        bad_opt = O_ANCHOR;
        goto bad;
    }
    d->trigger.anchor = (enum lh_interval_anchor)anchor;
    if (v[O_CRON]) {
        if (strlen(v[O_CRON]) >= sizeof d->cron_expr) {
            bad_opt = O_CRON;
            goto bad;
        }
        d->trigger.kind = LH_TRIGGER_CRON;
        COPY(d->cron_expr, v[O_CRON]);
    }
    if (v[O_TZ])
        COPY(d->tz_name, v[O_TZ]);
    uint64_t u;
    if (v[O_RETRIES]) {
        if (!parse_count(v[O_RETRIES], &u) || u > 100) {
            bad_opt = O_RETRIES;
            goto bad;
        }
        d->retry.max_attempts = (uint32_t)u;
    }
    if (v[O_RBASE] && !parse_duration(v[O_RBASE], &d->retry.base_secs)) {
        bad_opt = O_RBASE;
        goto bad;
    }
    if (v[O_RCAP] && !parse_duration(v[O_RCAP], &d->retry.cap_secs)) {
        bad_opt = O_RCAP;
        goto bad;
    }
    if (v[O_TIMEOUT] && !parse_duration(v[O_TIMEOUT], &d->timeout_secs)) {
        bad_opt = O_TIMEOUT;
        goto bad;
    }
    if (!pick(v[O_CATCHUP], catch_ups, 2, &catch_up)) {
        bad_opt = O_CATCHUP;
        goto bad;
    }
    d->catch_up = (enum lh_catch_up)catch_up;
    if (v[O_APAUSE]) {
        if (!parse_count(v[O_APAUSE], &u) || u > 1000000) {
            bad_opt = O_APAUSE;
            goto bad;
        }
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
    lh_cli_error("schedule %s: %s: '%s' is not valid (%s)", o->cmd, val_names[bad_opt],
                 v[bad_opt],
                 bad_opt == O_MODE      ? "overwrite, append or incremental"
                 : bad_opt == O_ANCHOR  ? "completion or fixed"
                 : bad_opt == O_CATCHUP ? "once or skip"
                 : bad_opt == O_CRON    ? "too long"
                 : bad_opt == O_EVERY || bad_opt == O_RBASE || bad_opt == O_RCAP ||
                         bad_opt == O_TIMEOUT
                     ? "a duration: 90s, 15m, 1h, 1d, 1h30m"
                 : bad_opt == O_RETRIES ? "0-100"
                 : bad_opt == O_APAUSE  ? "0-1000000"
                                        : "a whole number");
    return 2;
}

/* The schedule add makes, daemon or not: its id and author, the flags given.
 * 0 ok, 2 bad usage (message printed). */
static int add_prepare(const struct opts *o, struct lh_schedule *d)
{
    lh_schedule_init(d, o->id, lh_time_wall_us());
    d->trigger.interval_secs = 0;
    const char *user = getenv("USER");
    COPY(d->created_by, user && *user ? user : "cli");
    if (!o->mysql && !o->postgres) {
        lh_cli_error("schedule add: give --mysql or --postgres");
        return 2;
    }
    if (!o->val[O_DSN] || (!o->val[O_TABLE] && !o->val[O_QUERY]) ||
        (!o->val[O_EVERY] && !o->val[O_CRON])) {
        lh_cli_error(
            "schedule add: --dsn, --table (or --query) and --every or --cron are required");
        return 2;
    }
    return apply(o, d);
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

/* A schedule just created: its JSON, or "created schedule ID (DSN, trigger)"
 * (with "in the daemon at URL" when daemon_url is not NULL) and "first run
 * 2026-12-08T01:00:00Z (2026-12-08T02:00:00+01:00 Europe/Berlin)": when it
 * first fires, in UTC and in its zone; and, without a daemon, that nothing
 * fires until one runs. */
static void print_added(const struct lh_schedule *d, bool json, const char *daemon_url)
{
    if (json) {
        print_json(d);
        putchar('\n');
        return;
    }
    char t[48], l[48] = "", trig[300];
    lh_schedule_trigger_text(d, trig, sizeof trig);
    printf("created schedule %s (%s, %s)%s%s\n", d->id, d->dsn, trig,
           daemon_url ? " in the daemon at " : "", daemon_url ? daemon_url : "");
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
    if (!daemon_url)
        printf("no daemon is running: nothing fires until 'lakehouse serve' runs on this "
               "store\n");
}

/* "ok" / "FAILED", when, how long: the outcome without its message (which
 * is printed whole, once, under it). */
static void outcome_head(const struct lh_schedule *d, char *out, size_t cap)
{
    if (!d->last_outcome.present) {
        snprintf(out, cap, "-");
        return;
    }
    char t[160];
    lh_cli_time_text(d->last_outcome.at_us, d->tz_name, t, sizeof t);
    /* a cancel is recorded as no success; its message says it was one */
    bool cancelled = !d->last_outcome.success &&
                     strncmp(d->last_outcome.message, "cancelled", 9) == 0;
    snprintf(out, cap, "%s at %s, %.2fs",
             d->last_outcome.success ? "ok"
             : cancelled            ? "cancelled"
                                    : "FAILED",
             t, d->last_outcome.duration_secs);
}

/* The dataset a schedule writes: its dataset_name, else the default name
 * of its table (what `lakehouse ingest` would use). */
static void dataset_text(const struct lh_schedule *d, char *out, size_t cap)
{
    if (d->dataset_name[0]) {
        snprintf(out, cap, "%s", d->dataset_name);
        return;
    }
    if (lh_ingest_default_dataset(d->kind == LH_SCHED_MYSQL ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES,
                                  d->dsn, d->table, out, cap, NULL, NULL) != LH_OK)
        snprintf(out, cap, "%s", d->table);
}

static void next_run_text(const struct lh_schedule *d, char *out, size_t cap)
{
    if (!d->enabled) {
        snprintf(out, cap, "none (paused)");
        return;
    }
    lh_cli_time_text(d->next_run_at_us, d->tz_name, out, cap);
    if (d->retry_attempt) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, " (retry %u)", d->retry_attempt);
    }
}

/* `schedule list` writes each schedule read in place in the store (no
 * copies): a JSON array element, or a table row. */
struct list_out {
    bool json;
    size_t n;
    struct lh_cli_table *t;
};

static bool list_one(void *ctx, const struct lh_schedule *d)
{
    struct list_out *out = ctx;
    struct lh_cli_table *t = out->t;
    if (out->json) {
        fputs(out->n++ ? ",\n" : "\n", stdout);
        print_json(d);
        return true;
    }
    char b[512], ds[LH_SCHEDULE_NAME_MAX];
    lh_cli_table_cell(t, "%s", d->id);
    lh_schedule_label(d, b, sizeof b);
    lh_cli_table_cell(t, "%s", b);
    dataset_text(d, ds, sizeof ds);
    lh_cli_table_cell(t, "%s", ds);
    lh_schedule_trigger_text(d, b, sizeof b);
    lh_cli_table_cell(t, "%s", b);
    lh_cli_table_cell(t, "%s", d->enabled ? "yes" : "no");
    if (d->enabled)
        next_run_text(d, b, sizeof b);
    else
        snprintf(b, sizeof b, "-");
    lh_cli_table_cell(t, "%s", b);
    lh_cli_table_cell(t, "%" PRIu64, d->run_count);
    lh_cli_table_cell(t, "%" PRIu64, d->failure_count);
    if (d->last_outcome.present) {
        char when[48];
        fmt_time(d->last_outcome.at_us, when, sizeof when);
        lh_cli_table_cell(t, "%s %s %s", d->last_outcome.success ? "ok" : "FAILED", when,
                          d->last_outcome.message);
    } else {
        lh_cli_table_cell(t, "-");
    }
    return true;
}

static int cmd_list(struct lh_schedule_store *ss, const struct opts *o)
{
    static const char *const hdr[] = {"ID",       "KIND", "DATASET", "TRIGGER",     "ENABLED",
                                      "NEXT RUN", "OK",   "FAILED",  "LAST OUTCOME"};
    for (size_t i = 0; lh_schedule_store_problem(ss, i); i++)
        lh_cli_error("warning: %s", lh_schedule_store_problem(ss, i));
    struct list_out out = {o->json, 0, NULL};
    if (o->json) {
        fputs("[", stdout);
        lh_schedule_store_each(ss, list_one, &out);
        fputs(out.n ? "\n]\n" : "]\n", stdout);
        return 0;
    }
    out.t = lh_cli_table_create(sizeof hdr / sizeof hdr[0], hdr);
    lh_schedule_store_each(ss, list_one, &out);
    int rc = lh_cli_table_print(out.t, stdout) ? 0 : 1;
    lh_cli_table_destroy(out.t);
    return rc;
}

/* Prints a text, continuation lines indented under the first. */
static void print_block(const char *label, const char *text)
{
    printf("%-18s", label);
    for (const char *q = text; *q; q++) {
        putchar(*q);
        if (*q == '\n' && q[1])
            printf("%-18s", "");
    }
    putchar('\n');
}

/* active: the daemon's "active_run" (NULL without a daemon or when none). */
static void show_text(const struct lh_schedule *d, const json_t *active, bool daemon)
{
    char b[512], t[200];
    printf("id                %s\n", d->id);
    lh_schedule_label(d, b, sizeof b);
    printf("kind              %s\n", b);
    printf("dsn               %s%s\n", d->dsn, d->dsn_secret[0] ? "  (password sealed)" : "");
    if (d->password_env[0])
        printf("password_env      %s\n", d->password_env);
    if (d->query[0])
        print_block("query", d->query);
    else
        printf("table             %s\n", d->table);
    if (d->columns[0])
        printf("columns           %s\n", d->columns);
    if (d->where[0])
        print_block("where", d->where);
    char ds[LH_SCHEDULE_NAME_MAX];
    dataset_text(d, ds, sizeof ds);
    printf("dataset           %s\n", ds);
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
        print_block("description", d->description);
    lh_cli_time_text(d->created_at_us, d->tz_name, t, sizeof t);
    printf("created           %s by %s\n", t, d->created_by[0] ? d->created_by : "-");
    next_run_text(d, t, sizeof t);
    printf("next run          %s\n", t);
    if (active) {
        char p[400];
        lh_cli_run_progress_text(active, p, sizeof p);
        const char *rid = json_string_value(json_object_get(active, "run_id"));
        printf("running           run %s, %s\n", rid ? rid : "?", p);
    } else if (daemon) {
        printf("running           no\n");
    }
    if (d->has_last_run) {
        lh_cli_time_text(d->last_run_at_us, d->tz_name, t, sizeof t);
        printf("last run          %s\n", t);
    }
    outcome_head(d, b, sizeof b);
    printf("last outcome      %s\n", b);
    if (d->last_outcome.present)
        print_block("", d->last_outcome.message[0] ? d->last_outcome.message : "(no message)");
    printf("runs              %" PRIu64 " (%" PRIu64 " succeeded, %" PRIu64
           " failed; %u failed in a row)\n",
           d->run_count + d->failure_count, d->run_count, d->failure_count,
           d->consecutive_failures);
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

/* ------------------------------------------------------------ via the daemon */

/* One call; on a non-2xx answer prints the daemon's error. Returns the
 * HTTP status, 0 on transport failure (printed). */
static long remote(const struct lh_daemon_ref *ref, const char *method, const char *path,
                   const char *body, struct lh_buf *out, const char *what)
{
    char w[64];
    snprintf(w, sizeof w, "schedule %s", what);
    return lh_daemon_request(ref, w, method, path, body, out);
}

/* The schedule as the daemon shows it (redacted DSN, no secret). */
static bool remote_get(const struct lh_daemon_ref *ref, const char *id, struct lh_schedule *d,
                       struct lh_buf *b, const char *what)
{
    char path[1024];
    struct lh_error err;
    if (!lh_daemon_schedule_path(path, sizeof path, id, "") ||
        remote(ref, "GET", path, NULL, b, what) != 200)
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

static void print_removed(const struct opts *o)
{
    if (o->json) {
        json_t *j = json_pack("{s:s}", "removed", o->id);
        lh_cli_json_print(j);
        json_decref(j);
    } else {
        printf("removed schedule %s\n", o->id);
    }
}

/* The display JSON of a schedule (no sealed secret) as a jansson value. */
static json_t *schedule_json(const struct lh_schedule *d)
{
    struct lh_schedule *c = malloc(sizeof *c);
    struct lh_buf b;
    struct lh_error err;
    json_t *j = NULL;
    if (!c)
        return NULL;
    *c = *d;
    c->dsn_secret[0] = '\0';
    lh_buf_init(&b, 0);
    if (lh_schedule_to_json(c, &b, &err) == LH_OK)
        j = json_loadb((const char *)b.data, b.len, 0, NULL);
    if (b.data)
        lh_schedule_wipe(b.data, b.cap);
    lh_buf_reset(&b);
    lh_schedule_wipe(c, sizeof *c);
    free(c);
    return j;
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
    if (!lh_daemon_schedule_path(path, sizeof path, o->id, "")) {
        lh_cli_error("schedule %s: id too long", c);
        goto done;
    }
    if (strcmp(c, "add") == 0) {
        if ((rc = add_prepare(o, d)) != 0)
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
        long st = remote(ref, "POST", "/api/schedules", (const char *)body.data, &b, c);
        if (st != 201) {
            rc = st == 400 ? 2 : 1; /* the daemon found a flag's value wrong */
            goto done;
        }
        struct lh_error err;
        if (lh_schedule_from_json((const char *)b.data, b.len, NULL, d, NULL, &err) != LH_OK) {
            lh_cli_error("schedule add: the daemon's answer: %s", err.msg);
            goto done;
        }
        print_added(d, o->json, ref->url);
        rc = 0;
    } else if (strcmp(c, "rm") == 0) {
        if (remote(ref, "DELETE", path, NULL, &b, c) != 204)
            goto done;
        print_removed(o);
        rc = 0;
    } else if (strcmp(c, "show") == 0) {
        if (!remote_get(ref, o->id, d, &b, c))
            goto done;
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        json_t *active = json_object_get(j, "active_run");
        if (o->json) {
            json_t *mine = schedule_json(d);
            if (mine)
                json_object_set(mine, "active_run", json_is_object(active) ? active : json_null());
            lh_cli_json_print(mine);
            json_decref(mine);
        } else {
            show_text(d, json_is_object(active) ? active : NULL, true);
        }
        json_decref(j);
        rc = 0;
    } else if (strcmp(c, "run") == 0) {
        char rpath[1100];
        if (!lh_daemon_schedule_path(rpath, sizeof rpath, o->id, "/run"))
            goto done;
        long st = remote(ref, "POST", rpath, NULL, &b, c);
        if (st != 202)
            goto done;
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        const char *rid = json_string_value(json_object_get(j, "run_id"));
        bool already = json_is_true(json_object_get(j, "already_running"));
        if (!rid || !lh_cli_run_id_ok(rid)) {
            lh_cli_error("schedule run: the daemon's answer has no run id");
            json_decref(j);
            goto done;
        }
        if (o->wait) {
            if (already && !o->json)
                fprintf(stderr, "lakehouse: schedule run: %s was running already; waiting for "
                                "its run %s\n", o->id, rid);
            rc = lh_cli_run_wait(ref, rid, "schedule run", o->json, o->cancel_int);
        } else if (o->json) {
            json_object_set_new(j, "schedule_id", json_string(o->id));
            lh_cli_json_print(j);
            rc = 0;
        } else {
            printf("%s run %s of schedule %s in the daemon at %s\n",
                   already ? "already running:" : "started", rid, o->id, ref->url);
            printf("follow it: lakehouse runs show %s (or GET %s/api/runs/%s); "
                   "--wait waits for it\n", rid, ref->url, rid);
            rc = 0;
        }
        json_decref(j);
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
        if (!to_body(d, &body))
            goto done;
        long st = remote(ref, "PUT", path, (const char *)body.data, &b, c);
        if (st != 200) {
            rc = st == 400 && c[0] == 'u' ? 2 : 1;
            goto done;
        }
        struct lh_error err;
        if (o->json && lh_schedule_from_json((const char *)b.data, b.len, NULL, d, NULL, &err) ==
                           LH_OK) {
            print_json(d);
            putchar('\n');
        } else if (!o->json) {
            printf("%s schedule %s\n",
                   c[0] == 'u'   ? "updated"
                   : c[0] == 'r' ? "resumed"
                                 : "paused",
                   o->id);
        }
        rc = 0;
    }
done:
    lh_schedule_wipe(body.data, body.cap);
    lh_buf_reset(&body);
    lh_buf_reset(&b);
    lh_schedule_free(d);
    return rc;
}

/* ------------------------------------------------------------ run inline */

/* Ctrl-C during an inline run: a signal thread cancels the job (the run is
 * in this process, so stopping the command stops the run); the job pointer
 * is handed over by lh_app_ingest_def's expose callback. */
struct inline_sig {
    pthread_mutex_t mu;
    struct lh_ingest_job *job; /* under mu */
    bool cancelled;            /* under mu */
    sigset_t set;
    volatile bool done;
};

static void inline_expose(void *ctx, struct lh_ingest_job *job)
{
    struct inline_sig *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->job = job;
    if (job && c->cancelled) /* Ctrl-C came before the job existed */
        lh_ingest_cancel(job);
    pthread_mutex_unlock(&c->mu);
}

/* The inline run's observer: the run's registry entry gets the progress
 * and the log lines (its log is written beside the record), and a terminal
 * gets a progress line. */
struct inline_obs {
    struct lh_app_run *run;
    bool tty, shown;
    int64_t last_ns;
};

static void inline_progress(void *ctx, const struct lh_ingest_progress *p)
{
    struct inline_obs *o = ctx;
    lh_app_run_progress(o->run, p);
    int64_t now = lh_time_mono_ns();
    if (!o->tty || now - o->last_ns < 250000000)
        return;
    o->last_ns = now;
    char t[300];
    lh_cli_progress_text(lh_ingest_phase_name(p->phase), (double)p->rows,
                         (double)p->estimated_rows,
                         p->elapsed_s > 0 ? (double)p->rows / p->elapsed_s : 0, p->elapsed_s,
                         false, t, sizeof t);
    fprintf(stderr, "\r\033[K%s", t);
    fflush(stderr);
    o->shown = true;
}

static void inline_log(void *ctx, enum lh_log_level level, const char *line)
{
    struct inline_obs *o = ctx;
    lh_app_run_log_line(o->run, level, line);
}

static void *inline_signal_thread(void *arg)
{
    struct inline_sig *c = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&c->set, &sig) != 0 || c->done)
            return NULL;
        if (sig != SIGINT && sig != SIGTERM)
            continue;
        pthread_mutex_lock(&c->mu);
        bool again = c->cancelled;
        c->cancelled = true;
        if (c->job)
            lh_ingest_cancel(c->job);
        pthread_mutex_unlock(&c->mu);
        if (again) /* the user insists */
            _exit(128 + sig);
    }
}

/* `schedule run` without a daemon: the ingest runs here, the run is
 * recorded in the history as a manual run, the outcome is printed (the run
 * JSON with json). Ctrl-C cancels it: nothing is published, the run is
 * recorded as cancelled. 0 succeeded, 1 failed or cancelled. */
static int run_inline(struct lh_schedule_store *ss, const struct lh_schedule *d, const char *root,
                      const char *config, bool json)
{
    struct lh_error err;
    char *dsn = malloc(LH_SCHEDULE_DSN_MAX);
    struct lh_ingest_result *res = calloc(1, sizeof *res);
    struct lh_run_record *rec = calloc(1, sizeof *rec);
    struct inline_sig sc = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sigset_t old_mask;
    struct lh_app_runs *runs = NULL;
    struct inline_obs ob = {.tty = isatty(STDERR_FILENO) != 0, .last_ns = lh_time_mono_ns()};
    char ds[LH_SCHEDULE_NAME_MAX];
    pthread_t th;
    bool have_th = false;
    int rc = 1;
    if (!dsn || !res || !rec) {
        lh_cli_error("schedule run: out of memory");
        goto done;
    }
    rec->started_at_us = lh_time_wall_us();
    lh_run_id_make(rec->started_at_us, (uint32_t)(getpid() & 0xffff), rec->run_id);
    snprintf(rec->schedule_id, sizeof rec->schedule_id, "%s", d->id);
    rec->reason = LH_RUN_MANUAL;
    dataset_text(d, ds, sizeof ds);
    /* a registry of one run: it keeps the run's log, written with the record */
    if (lh_app_runs_create(ss, &runs, &err) == LH_OK)
        ob.run = lh_app_runs_enter(runs, rec->run_id, d->id, ds, "manual", LH_APP_RUN_RUNNING);
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGINT);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &sc.set, &old_mask) == 0 &&
        pthread_create(&th, NULL, inline_signal_thread, &sc) == 0)
        have_th = true;
    enum lh_status s = lh_schedule_dsn_reveal(d, lh_schedule_store_key(ss), dsn,
                                              LH_SCHEDULE_DSN_MAX, &err);
    lh_app_run_start(ob.run, rec->started_at_us, s == LH_OK ? dsn : NULL);
    lh_app_run_log(ob.run, LH_LOG_INFO, "running %s here (lakehouse schedule run, no daemon)",
                   d->id);
    if (s == LH_OK) {
        struct lh_app_jobs env = {.root = root, .buckets_config = config};
        struct lh_app_ingest_obs obs = {inline_progress, inline_log, &ob};
        s = lh_app_ingest_def_observed(&env, d, dsn, rec->run_id,
                                       d->timeout_secs > 0 ? d->timeout_secs * 1000 : 0,
                                       inline_expose, &sc, &obs, res, &err);
    }
    if (ob.shown)
        fputs("\r\033[K", stderr);
    if (have_th) {
        sc.done = true;
        pthread_kill(th, SIGUSR1);
        pthread_join(th, NULL);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    }
    rec->finished_at_us = lh_time_wall_us();
    rec->status = s == LH_OK              ? LH_RUN_SUCCESS
                  : s == LH_E_CANCELLED   ? LH_RUN_CANCELLED
                  : s == LH_E_TIMEOUT     ? LH_RUN_TIMEOUT
                                          : LH_RUN_FAILED;
    if (s == LH_OK) {
        rec->has_rows = true;
        rec->rows = res->rows > 0 ? (uint64_t)res->rows : 0;
        rec->bytes = res->bytes;
        rec->warnings = res->warnings > 0 ? (uint64_t)res->warnings : 0;
        snprintf(rec->message, sizeof rec->message, "%s", res->message);
    } else if (s == LH_E_CANCELLED && sc.cancelled) {
        rec->cancelled_by_user = true;
        snprintf(rec->message, sizeof rec->message, "cancelled (interrupted): %s", err.msg);
    } else {
        snprintf(rec->message, sizeof rec->message, "%s", err.msg);
    }
    snprintf(rec->dataset, sizeof rec->dataset, "%s", s == LH_OK && res->dataset[0] ? res->dataset : ds);
    rec->version = s == LH_OK && res->published ? res->version : 0;
    lh_app_run_finish(ob.run,
                      rec->status == LH_RUN_SUCCESS     ? LH_APP_RUN_SUCCEEDED
                      : rec->status == LH_RUN_CANCELLED ? LH_APP_RUN_CANCELLED
                                                        : LH_APP_RUN_FAILED,
                      (int)rec->status, rec->message, s == LH_OK ? res->rows : 0,
                      s == LH_OK ? res->bytes : 0, rec->version, rec->dataset);
    lh_schedule_wipe(dsn, LH_SCHEDULE_DSN_MAX); /* the run's log no longer needs it */
    struct lh_error rerr;
    if (lh_schedule_store_record_run(ss, rec, (uint64_t)rec->finished_at_us, rec->finished_at_us,
                                     NULL, NULL, &rerr) != LH_OK)
        lh_cli_error("warning: schedule run: cannot record the run: %s", rerr.msg);
    else
        lh_app_runs_recorded(runs, rec); /* the log beside the record */
    if (json) {
        json_t *j = lh_cli_run_from_record(rec, rec->dataset);
        lh_cli_json_print(j);
        json_decref(j);
    }
    if (s == LH_OK) {
        if (!json)
            printf("run %s of %s succeeded: %s version=%llu duration=%.2fs\n", rec->run_id, d->id,
                   res->message, (unsigned long long)res->version, res->duration_s);
        rc = 0;
    } else {
        lh_cli_error("schedule run %s: run %s %s: %s", d->id, rec->run_id,
                     rec->status == LH_RUN_CANCELLED ? "cancelled" : "failed", err.msg);
    }
done:
    lh_app_run_release(ob.run);
    lh_app_runs_destroy(runs);
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
    } else if (strcmp(c, "add") == 0) {
        if ((rc = add_prepare(o, d)) != 0)
            goto done;
        /* a value the schedule cannot take is the command line's fault */
        if (lh_schedule_validate(d, true, &err) != LH_OK) {
            lh_cli_error("schedule add: %s", err.msg);
            rc = 2;
            goto done;
        }
        if (lh_schedule_first_run(d, lh_time_wall_us(), o->first, &err) != LH_OK ||
            lh_schedule_store_create(ss, d, &err) != LH_OK) {
            lh_cli_error("schedule add: %s", err.msg);
            rc = 1;
            goto done;
        }
        if (lh_schedule_store_get(ss, o->id, d, &err) != LH_OK)
            lh_cli_error("schedule add: %s", err.msg);
        print_added(d, o->json, NULL);
    } else if (lh_schedule_store_get(ss, o->id, d, &err) != LH_OK) {
        lh_cli_error("schedule %s: %s", c, err.msg);
        rc = 1;
    } else if (strcmp(c, "show") == 0) {
        if (o->json) {
            json_t *j = schedule_json(d);
            if (j)
                json_object_set_new(j, "active_run", json_null()); /* no daemon: none */
            lh_cli_json_print(j);
            json_decref(j);
        } else {
            show_text(d, NULL, false);
        }
        rc = 0;
    } else if (strcmp(c, "update") == 0) {
        if ((rc = apply(o, d)) != 0)
            goto done;
        enum lh_status us = lh_schedule_store_update(ss, d, lh_time_wall_us(), &err);
        if (us != LH_OK) {
            lh_cli_error("schedule update: %s", err.msg);
            rc = us == LH_E_INVAL ? 2 : 1;
            goto done;
        }
        if (o->json && lh_schedule_store_get(ss, o->id, d, &err) == LH_OK) {
            print_json(d);
            putchar('\n');
        } else if (!o->json) {
            printf("updated schedule %s\n", d->id);
        }
    } else if (strcmp(c, "rm") == 0) {
        if (lh_schedule_store_delete(ss, o->id, NULL, &err) != LH_OK) {
            lh_cli_error("schedule rm: %s", err.msg);
            goto done;
        }
        print_removed(o);
        rc = 0;
    } else if (strcmp(c, "pause") == 0 || strcmp(c, "resume") == 0) {
        bool en = c[0] == 'r';
        if (lh_schedule_store_set_enabled(ss, o->id, en, o->val[O_REASON], &err) != LH_OK) {
            lh_cli_error("schedule %s: %s", c, err.msg);
            goto done;
        }
        if (o->json && lh_schedule_store_get(ss, o->id, d, &err) == LH_OK) {
            print_json(d);
            putchar('\n');
        } else if (!o->json) {
            printf("%s schedule %s\n", en ? "resumed" : "paused", o->id);
        }
        rc = 0;
    } else if (strcmp(c, "run") == 0) {
        rc = run_inline(ss, d, root, config, o->json);
    }
done:
    lh_schedule_free(d);
    return rc;
}

/* Which options a command takes: the storage ones go with every command,
 * the fields with add and update only. */
static bool option_applies(const char *cmd, const char *opt, int slot)
{
    bool storage = slot == O_DATA || slot == O_STORE || slot == O_CONFIG || slot == O_KEYFILE ||
                   slot == O_SERVER;
    if (storage || strcmp(opt, "--json") == 0)
        return true;
    bool add = strcmp(cmd, "add") == 0, update = strcmp(cmd, "update") == 0;
    if (slot == O_REASON)
        return update || strcmp(cmd, "pause") == 0;
    if (slot == O_BEFORE)
        return false;
    if (slot >= 0 || strcmp(opt, "--mysql") == 0 || strcmp(opt, "--postgres") == 0)
        return add || update;
    if (strcmp(opt, "--disabled") == 0)
        return add;
    if (strcmp(opt, "--enable") == 0 || strcmp(opt, "--disable") == 0)
        return update;
    if (strcmp(opt, "--wait") == 0 || strcmp(opt, "--cancel-on-interrupt") == 0)
        return strcmp(cmd, "run") == 0;
    return true;
}

int lh_cmd_schedule(int argc, char **argv)
{
    if (argc < 2 || (lh_cli_wants_help(argc, argv) && argv[1][0] == '-')) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct opts o;
    memset(&o, 0, sizeof o);
    o.cmd = argv[1];
    static const char *const cmds[] = {"add", "list",  "show",   "update", "rm",    "run",
                                       "pause", "resume", "runs", "cancel"};
    bool known = false;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        known |= strcmp(o.cmd, cmds[i]) == 0;
    if (!known) {
        lh_cli_error("schedule: unknown command '%s' (see 'lakehouse schedule --help')", o.cmd);
        return 2;
    }
    /* the runs of a schedule, and stopping one: the runs command's work */
    if (strcmp(o.cmd, "runs") == 0 || strcmp(o.cmd, "cancel") == 0)
        return lh_cli_runs_for_schedule(argc, argv);
    if (lh_cli_wants_help(argc, argv)) {
        print_help(o.cmd, stdout);
        return 0;
    }
    const struct {
        const char *name;
        bool *on;
    } flags[] = {{"--mysql", &o.mysql},   {"--postgres", &o.postgres},
                 {"--json", &o.json},     {"--disabled", &o.disabled},
                 {"--enable", &o.enable}, {"--disable", &o.disable},
                 {"--wait", &o.wait},     {"--cancel-on-interrupt", &o.cancel_int}};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int slot = -1;
        for (int k = 0; k < O_N; k++)
            if (strcmp(a, val_names[k]) == 0)
                slot = k;
        bool *on = NULL;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (strcmp(a, flags[k].name) == 0)
                on = flags[k].on;
        bool flag = slot < 0 && a[0] == '-' && a[1];
        if ((slot >= 0 || flag) && !option_applies(o.cmd, a, slot)) {
            /* a known option of another command, or none at all */
            bool exists =
                slot >= 0 || on || strcmp(a, "--run-now") == 0 || strcmp(a, "--no-run-now") == 0;
            if (exists)
                lh_cli_error("schedule %s: %s does not apply to '%s' (see 'lakehouse schedule "
                             "%s --help')",
                             o.cmd, a, o.cmd, o.cmd);
            else
                lh_cli_error("schedule %s: unknown option '%s' (see 'lakehouse schedule %s "
                             "--help')",
                             o.cmd, a, o.cmd);
            return 2;
        }
        if (slot >= 0) {
            if (i + 1 >= argc) {
                lh_cli_error("schedule %s: %s needs a value", o.cmd, a);
                return 2;
            }
            o.val[slot] = argv[++i];
        } else if (on) {
            *on = true;
        } else if (strcmp(a, "--run-now") == 0) {
            o.first = LH_FIRST_RUN_NOW;
        } else if (strcmp(a, "--no-run-now") == 0) {
            o.first = LH_FIRST_RUN_LATER;
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("schedule %s: unknown option '%s' (see 'lakehouse schedule %s --help')",
                         o.cmd, a, o.cmd);
            return 2;
        } else if (!o.id && strcmp(o.cmd, "list") != 0) {
            o.id = a;
        } else {
            lh_cli_error("schedule %s: unexpected argument '%s'", o.cmd, a);
            return 2;
        }
    }
    if (o.first != LH_FIRST_RUN_DEFAULT && strcmp(o.cmd, "add") != 0) {
        lh_cli_error("schedule %s: --run-now/--no-run-now are for 'add' (to run now: "
                     "'lakehouse schedule run ID')", o.cmd);
        return 2;
    }
    if (o.enable && o.disable) {
        lh_cli_error("schedule update: give --enable or --disable, not both");
        return 2;
    }
    if (o.cancel_int && !o.wait) {
        lh_cli_error("schedule run: --cancel-on-interrupt goes with --wait");
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
    /* show asks the daemon too: it knows the running run */
    bool ask_daemon = change || strcmp(o.cmd, "show") == 0;
    struct lh_daemon_ref ref;
    const char *server = o.val[O_SERVER] ? o.val[O_SERVER] : getenv("LAKEHOUSE_SERVER");
    if (ask_daemon && server && *server) {
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
    const char *root =
        lh_cli_store_root(o.val[O_STORE], o.val[O_DATA], cfg.store_url, cfg.data_dir);
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
    if (ask_daemon && lh_daemon_find(lh_store_set_primary(set), NULL, &ref)) {
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
