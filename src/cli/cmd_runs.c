/*
 * cmd_runs.c — `lakehouse runs [list|show|log|cancel]`, the runs of every
 * schedule (and of one-shot API ingests); `schedule runs ID`, `schedule
 * runs --all` and `schedule cancel ID` come here too (cmd_schedule.c).
 *
 * Where runs come from: a running daemon (daemon.h: --server URL,
 * $LAKEHOUSE_SERVER or the store's `_daemon.json`) knows the live runs —
 * queued, running, with their progress — and the history: GET /api/runs,
 * /api/runs/{id}, /api/runs/{id}/log, POST .../cancel (docs/http.md).
 * Without a daemon nothing runs, so list/show/log read the history straight
 * from the store (`_runs/{schedule}/{run_id}.json` and `.log`) and cancel
 * says there is nothing to cancel. Both paths print from the same run JSON
 * (runs.h), so they look alike.
 *
 * Single-threaded (the CLI's main thread); the SIGINT handler of `--wait`
 * only sets a flag.
 */
#include "cli.h"
#include "runs.h"
#include "app/app.h"
#include "ingest/ingest.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const usage_all =
    "usage: lakehouse runs [list] [--state S] [--schedule ID] [--limit N] [--before RUN_ID]\n"
    "                             [--json]\n"
    "       lakehouse runs show RUN_ID [--json]\n"
    "       lakehouse runs log RUN_ID [--json]\n"
    "       lakehouse runs cancel RUN_ID [--json]\n"
    "\n"
    "Runs across schedules, newest first: the running and queued ones (with their\n"
    "progress) and the recent history. 'lakehouse runs SUBCOMMAND --help' describes\n"
    "one subcommand. With a daemon running the answers come from it; without one\n"
    "the history is read from the store (nothing is running then).\n"
    "\n"
    "connection:\n"
    "  --data DIR | --store URL  (default $LAKEHOUSE_DATA or ./lakehouse-data)\n"
    "  --config FILE             the daemon's JSON config (buckets, secret_key_path)\n"
    "  --secret-key-file PATH    key the schedule store is sealed with (as for\n"
    "                            'lakehouse schedule'; default $LAKEHOUSE_SECRET_KEY or the\n"
    "                            default key file)\n"
    "  --server URL              the daemon (default $LAKEHOUSE_SERVER, else the one\n"
    "                            named by the store's _daemon.json, if alive)\n";

static const char *const usage_list =
    "usage: lakehouse runs [list] [--state S] [--schedule ID] [--limit N] [--before RUN_ID]\n"
    "                             [--json]\n"
    "       lakehouse schedule runs ID [...]     (= runs list --schedule ID)\n"
    "       lakehouse schedule runs --all [...]  (= runs list)\n"
    "\n"
    "Lists runs, newest first: running and queued ones with their progress, then\n"
    "the history (state succeeded, failed or cancelled; a timeout is failed).\n"
    "\n"
    "  --state S        queued, running, succeeded, failed or cancelled\n"
    "  --schedule ID    the runs of one schedule\n"
    "  --limit N        at most N runs, 1-1000 (default 20)\n"
    "  --before RUN_ID  history older than RUN_ID (the next page; read from the store)\n"
    "  --json           {\"runs\": [run, ...]} in the shape of GET /api/runs\n";

static const char *const usage_show =
    "usage: lakehouse runs show RUN_ID [--json]\n"
    "\n"
    "One run in full: schedule, dataset, state and phase, rows, bytes, rate,\n"
    "elapsed time, the estimate and ETA while it runs, the published version and\n"
    "the whole message. --json: the run as GET /api/runs/{run_id} gives it.\n";

static const char *const usage_log =
    "usage: lakehouse runs log RUN_ID [--json]\n"
    "\n"
    "The run's log, oldest line first: the statement sent to the source, batches\n"
    "and parts written, warnings, retries, the publish, and any error in full.\n"
    "Logs are kept beside the run history and pruned with it. --json: as\n"
    "GET /api/runs/{run_id}/log gives it.\n";

static const char *const usage_cancel =
    "usage: lakehouse runs cancel RUN_ID [--json]\n"
    "       lakehouse schedule cancel ID [--json]   (the schedule's active run)\n"
    "\n"
    "Asks the daemon to stop a queued or running run; it stops within seconds in\n"
    "any phase, publishes nothing and is recorded as cancelled (not a failure).\n"
    "A run that already ended is an error (exit 1), and so is cancelling without a\n"
    "daemon: nothing runs then.\n";

enum sub { S_LIST, S_SHOW, S_LOG, S_CANCEL };

struct ropts {
    enum sub sub;
    const char *prog; /* "runs list", "schedule runs", ... for messages */
    const char *run_id, *state, *schedule, *limit_s, *before;
    const char *data, *store, *config, *server, *keyfile;
    bool json, all;
    bool pos_schedule; /* schedule runs/cancel: the argument is a schedule id */
    size_t limit;
};

/* ------------------------------------------------------------ helpers */

bool lh_cli_run_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= LH_RUN_ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

bool lh_cli_api_path(char *out, size_t cap, const char *prefix, const char *id, const char *tail)
{
    size_t o = (size_t)snprintf(out, cap, "%s", prefix);
    if (o >= cap)
        return false;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (o + 4 >= cap)
            return false;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    out[o] = '\0';
    return snprintf(out + o, cap - o, "%s", tail) < (int)(cap - o);
}

void lh_cli_json_print(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) {
        lh_cli_error("out of memory");
        return;
    }
    puts(s);
    free(s);
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static double jnum(const json_t *o, const char *k, double dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *state_of_status(enum lh_run_status s)
{
    return s == LH_RUN_SUCCESS ? "succeeded" : s == LH_RUN_CANCELLED ? "cancelled" : "failed";
}

json_t *lh_cli_run_from_record(const struct lh_run_record *r, const char *dataset)
{
    struct lh_buf b;
    struct lh_error err;
    lh_buf_init(&b, 0);
    json_t *o = NULL;
    if (lh_run_record_to_json(r, &b, &err) == LH_OK)
        o = json_loadb((const char *)b.data, b.len, 0, NULL);
    lh_buf_reset(&b);
    if (!o)
        return NULL;
    /* the one-shot API ingests keep their history under "_ingest" */
    if (strcmp(r->schedule_id, "_ingest") == 0)
        json_object_set_new(o, "schedule_id", json_null());
    if (r->dataset[0]) /* newer records carry their dataset and version */
        dataset = r->dataset;
    json_object_set_new(o, "dataset", dataset && *dataset ? json_string(dataset) : json_null());
    if (r->damaged) {
        json_object_set_new(o, "state", json_string("failed"));
        json_object_set_new(o, "message", json_string(r->message));
        return o;
    }
    double secs = (double)(r->finished_at_us - r->started_at_us) / 1e6;
    json_object_set_new(o, "state", json_string(state_of_status(r->status)));
    json_object_set_new(o, "phase", json_null());
    if (!json_is_integer(json_object_get(o, "rows")))
        json_object_set_new(o, "rows", json_integer(0));
    json_object_set_new(o, "estimated_rows", json_null());
    json_object_set_new(o, "rows_per_sec",
                        json_real(secs > 0 && r->has_rows ? (double)r->rows / secs : 0));
    json_object_set_new(o, "elapsed_secs", json_real(secs));
    json_object_set_new(o, "cancel_requested", json_false());
    json_object_set_new(o, "version",
                        r->version ? json_integer((json_int_t)r->version) : json_null());
    json_object_set_new(o, "status", json_string(lh_run_status_name(r->status)));
    return o;
}

void lh_cli_run_progress_text(const json_t *run, char *out, size_t cap)
{
    const char *state = jstr(run, "state");
    if (!state)
        state = "?";
    if (strcmp(state, "running") != 0) {
        snprintf(out, cap, "%s", state);
        return;
    }
    lh_cli_progress_text(jstr(run, "phase"), jnum(run, "rows", 0), jnum(run, "estimated_rows", -1),
                         jnum(run, "rows_per_sec", 0), jnum(run, "elapsed_secs", 0),
                         json_is_true(json_object_get(run, "cancel_requested")), out, cap);
}

void lh_cli_progress_text(const char *phase, double rows, double est, double rate, double el,
                          bool cancel_requested, char *out, size_t cap)
{
    char e[32];
    lh_cli_duration_text(el, e, sizeof e);
    size_t o = (size_t)snprintf(out, cap, "%s: %.0f", phase ? phase : "running", rows);
    if (est > 0 && o < cap) {
        double pct = rows / est * 100;
        o += (size_t)snprintf(out + o, cap - o, " of ~%.0f rows (%.1f%%)", est,
                              pct > 100 ? 100 : pct);
    } else if (o < cap) {
        o += (size_t)snprintf(out + o, cap - o, " rows");
    }
    if (o < cap)
        o += (size_t)snprintf(out + o, cap - o, ", %.0f rows/s, %s", rate, e);
    if (est > 0 && rate > 0 && rows < est && o < cap) {
        char eta[32];
        lh_cli_duration_text((est - rows) / rate, eta, sizeof eta);
        snprintf(out + o, cap - o, ", ETA %s", eta);
    }
    if (cancel_requested && o < cap) {
        o = strlen(out);
        snprintf(out + o, cap - o, " (cancel requested)");
    }
}

static void time_field(const json_t *run, const char *k, const char *tz, char *out, size_t cap)
{
    const char *s = jstr(run, k);
    int64_t us;
    struct lh_error err;
    if (!s) {
        snprintf(out, cap, "-");
        return;
    }
    if (lh_time_parse_iso(s, &us, &err) == LH_OK)
        lh_cli_time_text(us, tz, out, cap);
    else
        snprintf(out, cap, "%s", s);
}

void lh_cli_run_print(const json_t *run, const char *tz_name)
{
    char t[200], p[400];
    const char *sid = jstr(run, "schedule_id"), *ds = jstr(run, "dataset");
    printf("run               %s\n", jstr(run, "run_id") ? jstr(run, "run_id") : "?");
    printf("schedule          %s\n", sid ? sid : "- (one-shot ingest)");
    printf("dataset           %s\n", ds ? ds : "-");
    printf("reason            %s\n", jstr(run, "reason") ? jstr(run, "reason") : "-");
    const char *state = jstr(run, "state"), *status = jstr(run, "status");
    printf("state             %s%s%s%s\n", state ? state : "?",
           status && state && strcmp(status, "timeout") == 0 ? " (timeout)" : "",
           json_is_true(json_object_get(run, "cancel_requested")) &&
                   !(state && strcmp(state, "cancelled") == 0)
               ? " (cancel requested)"
               : "",
           json_is_true(json_object_get(run, "unrecorded")) ? " (not yet written to the store)"
                                                            : "");
    if (state && strcmp(state, "running") == 0) {
        lh_cli_run_progress_text(run, p, sizeof p);
        printf("progress          %s\n", p);
    }
    printf("rows              %.0f\n", jnum(run, "rows", 0));
    printf("bytes             %.0f\n", jnum(run, "bytes", 0));
    printf("rate              %.0f rows/s\n", jnum(run, "rows_per_sec", 0));
    lh_cli_duration_text(jnum(run, "elapsed_secs", 0), t, sizeof t);
    printf("elapsed           %s\n", t);
    time_field(run, "started_at", tz_name, t, sizeof t);
    printf("started           %s\n", t);
    time_field(run, "finished_at", tz_name, t, sizeof t);
    printf("finished          %s\n", t);
    json_t *v = json_object_get(run, "version");
    if (json_is_integer(v))
        printf("version           %" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
    const char *msg = jstr(run, "message");
    if (!msg)
        msg = jstr(run, "error");
    /* the message whole, continuation lines indented under it */
    fputs("message           ", stdout);
    for (const char *q = msg && *msg ? msg : "-"; *q; q++) {
        putchar(*q);
        if (*q == '\n' && q[1])
            fputs("                  ", stdout);
    }
    putchar('\n');
}

/* ------------------------------------------------------------ the daemon */

/* One request; a non-2xx answer is printed. Returns the status, 0 when the
 * daemon did not answer or its answer is no JSON (printed). */
static long call(const struct lh_daemon_ref *ref, const char *prog, const char *method,
                 const char *path, struct lh_buf *out, json_t **j)
{
    *j = NULL;
    long st = lh_daemon_request(ref, prog, method, path, NULL, out);
    if (st < 200 || st > 299)
        return st;
    *j = json_loadb((const char *)out->data, out->len, 0, NULL);
    if (!*j) {
        lh_cli_error("%s: the daemon's answer is not JSON", prog);
        return 0;
    }
    return st;
}

static void print_runs_table(json_t *runs)
{
    static const char *const hdr[] = {"RUN ID",  "SCHEDULE", "STATE",  "STARTED",
                                      "ELAPSED", "ROWS",     "MESSAGE"};
    struct lh_cli_table *t = lh_cli_table_create(7, hdr);
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        const char *state = jstr(r, "state") ? jstr(r, "state") : "?";
        const char *sid = jstr(r, "schedule_id");
        char e[32], st[48];
        lh_cli_duration_text(jnum(r, "elapsed_secs", 0), e, sizeof e);
        time_field(r, "started_at", NULL, st, sizeof st);
        lh_cli_table_cell(t, "%s", jstr(r, "run_id") ? jstr(r, "run_id") : "?");
        lh_cli_table_cell(t, "%s", sid ? sid : "(ingest)");
        const char *status = jstr(r, "status");
        lh_cli_table_cell(t, "%s%s", state,
                          status && strcmp(status, "timeout") == 0 ? " (timeout)" : "");
        lh_cli_table_cell(t, "%s", st);
        lh_cli_table_cell(t, "%s", e);
        lh_cli_table_cell(t, "%.0f", jnum(r, "rows", 0));
        if (strcmp(state, "running") == 0 || strcmp(state, "queued") == 0) {
            char p[300];
            lh_cli_run_progress_text(r, p, sizeof p);
            lh_cli_table_cell(t, "%s", p);
        } else {
            const char *m = jstr(r, "message");
            lh_cli_table_cell(t, "%s", m && *m ? m : "-");
        }
    }
    lh_cli_table_print(t, stdout);
    lh_cli_table_destroy(t);
}

static int daemon_list(const struct lh_daemon_ref *ref, const struct ropts *o)
{
    char path[1500], q[1100] = "";
    int n = snprintf(path, sizeof path, "/api/runs?limit=%zu", o->limit);
    if (o->state)
        n += snprintf(path + n, sizeof path - (size_t)n, "&state=%s", o->state);
    if (o->schedule) {
        if (!lh_cli_api_path(q, sizeof q, "", o->schedule, "")) {
            lh_cli_error("%s: schedule id too long", o->prog);
            return 2;
        }
        snprintf(path + n, sizeof path - (size_t)n, "&schedule=%s", q);
    }
    struct lh_buf b;
    lh_buf_init(&b, 64u << 20);
    json_t *j;
    int rc = 1;
    if (call(ref, o->prog, "GET", path, &b, &j) == 200) {
        json_t *runs = json_object_get(j, "runs");
        if (!json_is_array(runs)) {
            lh_cli_error("%s: the daemon's answer has no \"runs\" list", o->prog);
        } else {
            if (o->json)
                lh_cli_json_print(j);
            else
                print_runs_table(runs);
            rc = 0;
        }
    }
    json_decref(j);
    lh_buf_reset(&b);
    return rc;
}

/* The schedule's zone, for times shown beside UTC; "" when unknown. */
static void daemon_tz(const struct lh_daemon_ref *ref, const char *sid, char *tz, size_t cap)
{
    char path[1200];
    tz[0] = '\0';
    if (!sid || !lh_cli_api_path(path, sizeof path, "/api/schedules/", sid, ""))
        return;
    struct lh_buf b;
    long st = 0;
    struct lh_error err;
    lh_buf_init(&b, 1u << 20);
    if (lh_daemon_call(ref, "GET", path, NULL, &st, &b, &err) == LH_OK && st == 200) {
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        const char *z = jstr(json_object_get(j, "trigger"), "tz");
        if (z)
            snprintf(tz, cap, "%s", z);
        json_decref(j);
    }
    lh_buf_reset(&b);
}

static int daemon_one(const struct lh_daemon_ref *ref, const struct ropts *o)
{
    char path[300];
    const char *tail = o->sub == S_LOG ? "/log" : o->sub == S_CANCEL ? "/cancel" : "";
    bool by_schedule = o->sub == S_CANCEL && !o->run_id;
    if (by_schedule ? !lh_cli_api_path(path, sizeof path, "/api/schedules/", o->schedule, tail)
                    : !lh_cli_api_path(path, sizeof path, "/api/runs/", o->run_id, tail)) {
        lh_cli_error("%s: id too long", o->prog);
        return 2;
    }
    struct lh_buf b;
    lh_buf_init(&b, 64u << 20);
    json_t *j = NULL;
    int rc = 1;
    long st = call(ref, o->prog, o->sub == S_CANCEL ? "POST" : "GET", path, &b, &j);
    if (!j || st < 200 || st > 299)
        goto done;
    rc = 0;
    if (o->json) {
        lh_cli_json_print(j);
    } else if (o->sub == S_SHOW) {
        char tz[80];
        daemon_tz(ref, jstr(j, "schedule_id"), tz, sizeof tz);
        lh_cli_run_print(j, tz);
    } else if (o->sub == S_CANCEL) {
        char p[300];
        lh_cli_run_progress_text(j, p, sizeof p);
        const char *sid = jstr(j, "schedule_id");
        printf("cancel requested: run %s%s%s (%s); it stops within seconds and is recorded "
               "as cancelled\n",
               jstr(j, "run_id") ? jstr(j, "run_id") : "?", sid ? " of schedule " : "",
               sid ? sid : "", p);
    } else { /* log */
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(j, "lines"), i, l)
        {
            printf("%s %-5s %s\n", jstr(l, "at") ? jstr(l, "at") : "-",
                   jstr(l, "level") ? jstr(l, "level") : "-",
                   jstr(l, "message") ? jstr(l, "message") : "");
        }
        if (!json_array_size(json_object_get(j, "lines")))
            printf("(no log lines for run %s)\n", o->run_id);
        else if (json_is_false(json_object_get(j, "complete")))
            printf("(the run is still going: more lines will follow)\n");
    }
done:
    json_decref(j);
    lh_buf_reset(&b);
    return rc;
}

/* ------------------------------------------------------------ wait */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early: fine */
}

int lh_cli_run_wait(const struct lh_daemon_ref *ref, const char *run_id, const char *what,
                    bool json, bool cancel_on_interrupt)
{
    char path[300], cpath[320];
    if (!lh_cli_api_path(path, sizeof path, "/api/runs/", run_id, "") ||
        !lh_cli_api_path(cpath, sizeof cpath, "/api/runs/", run_id, "/cancel")) {
        lh_cli_error("%s: run id too long", what);
        return 1;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: the sleep ends at once */
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool tty = isatty(STDERR_FILENO) != 0, shown = false, cancel_sent = false;
    int64_t last_note = lh_time_mono_ns();
    struct lh_buf b;
    lh_buf_init(&b, 16u << 20);
    int rc = 1, misses = 0;
    json_t *run = NULL;
    for (;;) {
        if (interrupted && !cancel_sent) {
            if (shown)
                fputs("\r\033[K", stderr);
            shown = false;
            if (!cancel_on_interrupt) {
                lh_cli_error("%s: stopped waiting; run %s goes on in the daemon ('lakehouse "
                             "runs show %s' follows it, 'lakehouse runs cancel %s' stops it)",
                             what, run_id, run_id, run_id);
                rc = 130;
                break;
            }
            long st = 0;
            struct lh_error err;
            lh_buf_clear(&b);
            if (lh_daemon_call(ref, "POST", cpath, NULL, &st, &b, &err) == LH_OK &&
                (st == 202 || st == 409))
                fprintf(stderr, "lakehouse: %s: cancelling run %s ...\n", what, run_id);
            else
                lh_cli_error("%s: could not cancel run %s; still waiting", what, run_id);
            cancel_sent = true;
        }
        long st = 0;
        struct lh_error err;
        lh_buf_clear(&b);
        json_decref(run);
        run = NULL;
        if (lh_daemon_call(ref, "GET", path, NULL, &st, &b, &err) != LH_OK) {
            if (++misses >= 10) { /* the daemon went away for ~10 s */
                if (shown)
                    fputs("\r\033[K", stderr);
                lh_cli_error("%s: daemon at %s: %s", what, ref->url, err.msg);
                break;
            }
            sleep_ms(1000);
            continue;
        }
        if (st != 200) {
            if (shown)
                fputs("\r\033[K", stderr);
            char msg[900];
            lh_daemon_error_text(&b, st, msg, sizeof msg);
            lh_cli_error("%s: run %s: %s", what, run_id, msg);
            break;
        }
        misses = 0;
        run = json_loadb((const char *)b.data, b.len, 0, NULL);
        const char *state = jstr(run, "state");
        if (!state) {
            lh_cli_error("%s: the daemon's answer has no run state", what);
            break;
        }
        if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0) {
            if (shown)
                fputs("\r\033[K", stderr);
            rc = strcmp(state, "succeeded") == 0 ? 0 : 1;
            break;
        }
        char p[300];
        lh_cli_run_progress_text(run, p, sizeof p);
        int64_t now = lh_time_mono_ns();
        if (tty) {
            fprintf(stderr, "\r\033[Krun %s %s", run_id, p);
            shown = true;
        } else if (now - last_note >= 30 * 1000000000LL) { /* a log line now and then */
            fprintf(stderr, "lakehouse: %s: run %s %s\n", what, run_id, p);
            last_note = now;
        }
        fflush(stderr);
        sleep_ms(tty ? 500 : 1000);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (run && (rc == 0 || rc == 1) && jstr(run, "state") &&
        strcmp(jstr(run, "state"), "queued") != 0 && strcmp(jstr(run, "state"), "running") != 0) {
        const char *state = jstr(run, "state"), *msg = jstr(run, "message");
        char e[32];
        lh_cli_duration_text(jnum(run, "elapsed_secs", 0), e, sizeof e);
        if (json) {
            lh_cli_json_print(run);
        } else if (rc == 0) {
            json_t *v = json_object_get(run, "version");
            printf("run %s %s: %s", run_id, state, msg ? msg : "");
            if (json_is_integer(v))
                printf(" version=%" JSON_INTEGER_FORMAT, json_integer_value(v));
            printf(" duration=%s\n", e);
        }
        if (rc != 0)
            lh_cli_error("%s: run %s %s after %s: %s", what, run_id, state, e,
                         msg && *msg ? msg : "(no message)");
    }
    json_decref(run);
    lh_buf_reset(&b);
    return rc;
}

/* ------------------------------------------------------------ the store */

/* The history is the schedule store's (schedule.h "run logs and lookups"):
 * the CLI reads it through that API and knows no key of it. */

/* The target dataset and zone of a schedule (the history outlives a
 * removed schedule: then ""). */
static void schedule_of(struct lh_schedule_store *ss, const char *sid, char *ds, size_t dcap,
                        char *tz, size_t tcap)
{
    if (ds)
        ds[0] = '\0';
    if (tz)
        tz[0] = '\0';
    if (!sid || !*sid)
        return;
    struct lh_error err;
    struct lh_schedule *d = calloc(1, sizeof *d);
    if (d && lh_schedule_store_get(ss, sid, d, &err) == LH_OK) {
        if (ds && d->dataset_name[0])
            snprintf(ds, dcap, "%s", d->dataset_name);
        else if (ds && lh_ingest_default_dataset(d->kind == LH_SCHED_MYSQL ? LH_SOURCE_MYSQL
                                                                           : LH_SOURCE_POSTGRES,
                                                 d->dsn, d->table, ds, dcap, NULL,
                                                 &err) != LH_OK)
            snprintf(ds, dcap, "%s", d->table);
        if (tz && d->trigger.kind == LH_TRIGGER_CRON && d->trigger.tz)
            snprintf(tz, tcap, "%s", lh_tz_name(d->trigger.tz));
    }
    lh_schedule_free(d);
}

/* One record as the run JSON (a damaged one says what is wrong). */
static json_t *run_json(struct lh_schedule_store *ss, const struct lh_run_record *r)
{
    char ds[LH_SCHEDULE_NAME_MAX] = "";
    if (!r->damaged && !r->dataset[0])
        schedule_of(ss, r->schedule_id, ds, sizeof ds, NULL, 0);
    return lh_cli_run_from_record(r, ds);
}

static int store_list(struct lh_schedule_store *ss, const struct ropts *o)
{
    struct lh_run_record *recs = NULL;
    size_t n = 0, total = 0;
    struct lh_error err;
    bool live = o->state && (strcmp(o->state, "queued") == 0 || strcmp(o->state, "running") == 0);
    /* filters need more than a page of records to fill one */
    size_t want = o->state || o->before ? 5000 : o->limit + 1;
    enum lh_status s;
    if (o->schedule) {
        s = lh_schedule_store_runs(ss, o->schedule, o->before, want, &recs, &n, &total, &err);
        if (s == LH_E_INVAL) {
            lh_cli_error("%s: %s", o->prog, err.msg);
            return 2;
        }
    } else {
        s = lh_schedule_store_recent_runs(ss, want, &recs, &n, &err);
    }
    if (s != LH_OK && s != LH_E_NOTFOUND) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        free(recs);
        return 1;
    }
    json_t *runs = json_array();
    size_t kept = 0, i = 0;
    for (; i < n && kept < o->limit && !live; i++) {
        if (o->before && strcmp(recs[i].run_id, o->before) >= 0)
            continue;
        json_t *r = run_json(ss, &recs[i]);
        if (!r)
            continue;
        const char *st = jstr(r, "state");
        if (o->state && (!st || strcmp(st, o->state) != 0)) {
            json_decref(r);
            continue;
        }
        json_array_append_new(runs, r);
        kept++;
    }
    bool more = kept == o->limit && i < n;
    free(recs);
    if (o->json) {
        json_t *w = json_pack("{s:o}", "runs", runs);
        lh_cli_json_print(w);
        json_decref(w);
    } else {
        print_runs_table(runs);
        if (more) /* more are kept: say how to page */
            printf("(the newest %zu; older ones with --before %s)\n", kept,
                   jstr(json_array_get(runs, kept - 1), "run_id"));
        json_decref(runs);
    }
    return 0;
}

static int store_one(struct lh_schedule_store *ss, const struct ropts *o)
{
    struct lh_error err;
    struct lh_run_record *rec = calloc(1, sizeof *rec);
    if (!rec) {
        lh_cli_error("%s: out of memory", o->prog);
        return 1;
    }
    enum lh_status s = lh_schedule_store_find_run(ss, o->run_id, rec, &err);
    if (s == LH_E_NOTFOUND) {
        lh_cli_error("%s: no run %s in the history of this store (no daemon is running; "
                     "'lakehouse runs' lists the kept runs)",
                     o->prog, o->run_id);
        free(rec);
        return 1;
    }
    if (s != LH_OK) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        free(rec);
        return 1;
    }
    json_t *run = run_json(ss, rec);
    char sid[sizeof rec->schedule_id];
    snprintf(sid, sizeof sid, "%s", rec->schedule_id);
    free(rec);
    if (!run) {
        lh_cli_error("%s: out of memory", o->prog);
        return 1;
    }
    int rc = 0;
    if (o->sub == S_SHOW) {
        if (o->json) {
            lh_cli_json_print(run);
        } else {
            char tz[80];
            schedule_of(ss, sid, NULL, 0, tz, sizeof tz);
            lh_cli_run_print(run, tz);
        }
        json_decref(run);
        return 0;
    }
    /* the log kept beside the record, JSON lines */
    uint8_t *p = NULL;
    size_t n = 0;
    json_t *lines = json_array();
    s = lh_schedule_store_get_log(ss, sid, o->run_id, 64u << 20, &p, &n, &err);
    if (s != LH_OK && s != LH_E_NOTFOUND) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        rc = 1;
    }
    for (size_t i = 0; s == LH_OK && i < n;) {
        size_t e = i;
        while (e < n && p[e] != '\n')
            e++;
        json_t *l = e > i ? json_loadb((const char *)p + i, e - i, 0, NULL) : NULL;
        if (json_is_object(l))
            json_array_append_new(lines, l);
        else
            json_decref(l);
        i = e + 1;
    }
    free(p);
    if (rc == 0) {
        json_t *w =
            json_pack("{s:s, s:b, s:O}", "run_id", o->run_id, "complete", 1, "lines", lines);
        if (o->json) {
            lh_cli_json_print(w);
        } else {
            size_t i;
            json_t *l;
            json_array_foreach(lines, i, l)
            {
                printf("%s %-5s %s\n", jstr(l, "at") ? jstr(l, "at") : "-",
                       jstr(l, "level") ? jstr(l, "level") : "-",
                       jstr(l, "message") ? jstr(l, "message") : "");
            }
            if (!json_array_size(lines))
                printf("(no log kept for run %s; its outcome: %s)\n", o->run_id,
                       jstr(run, "message") ? jstr(run, "message") : "-");
        }
        json_decref(w);
    }
    json_decref(lines);
    json_decref(run);
    return rc;
}

/* ------------------------------------------------------------ main */

static int parse(int argc, char **argv, int first, struct ropts *o)
{
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--state") == 0      ? &o->state
                            : strcmp(a, "--schedule") == 0 ? &o->schedule
                            : strcmp(a, "--limit") == 0    ? &o->limit_s
                            : strcmp(a, "--before") == 0   ? &o->before
                            : strcmp(a, "--data") == 0     ? &o->data
                            : strcmp(a, "--store") == 0    ? &o->store
                            : strcmp(a, "--config") == 0   ? &o->config
                            : strcmp(a, "--server") == 0   ? &o->server
                            : strcmp(a, "--secret-key-file") == 0 ? &o->keyfile
                                                                  : NULL;
        bool list_only =
            slot == &o->state || slot == &o->limit_s || slot == &o->before || slot == &o->schedule;
        if (slot) {
            if (list_only && o->sub != S_LIST) {
                lh_cli_error("%s: %s is for 'runs list' (see 'lakehouse runs --help')", o->prog, a);
                return 2;
            }
            if (i + 1 >= argc) {
                lh_cli_error("%s: %s needs a value", o->prog, a);
                return 2;
            }
            *slot = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--all") == 0 && o->sub == S_LIST) {
            o->all = true;
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("%s: unknown option '%s' (see 'lakehouse runs %s --help')", o->prog, a,
                         o->sub == S_LIST   ? "list"
                         : o->sub == S_SHOW ? "show"
                         : o->sub == S_LOG  ? "log"
                                            : "cancel");
            return 2;
        } else if (o->pos_schedule && !o->schedule) {
            o->schedule = a;
        } else if (o->sub != S_LIST && !o->pos_schedule && !o->run_id) {
            o->run_id = a;
        } else {
            lh_cli_error("%s: unexpected argument '%s'", o->prog, a);
            return 2;
        }
    }
    if (o->sub != S_LIST && !o->run_id && !o->pos_schedule) {
        lh_cli_error("%s: which run? (a RUN_ID; 'lakehouse runs' lists them)", o->prog);
        return 2;
    }
    if (o->run_id && !lh_cli_run_id_ok(o->run_id)) {
        lh_cli_error("%s: '%s' is not a run id (like 20261207T170102.123456Z-0001)", o->prog,
                     o->run_id);
        return 2;
    }
    if (o->before && !lh_cli_run_id_ok(o->before)) {
        lh_cli_error("%s: --before wants a run id, not '%s'", o->prog, o->before);
        return 2;
    }
    static const char *const states[] = {"queued", "running", "succeeded", "failed", "cancelled"};
    if (o->state) {
        bool ok = false;
        for (size_t k = 0; k < sizeof states / sizeof states[0]; k++)
            ok |= strcmp(o->state, states[k]) == 0;
        if (!ok) {
            lh_cli_error("%s: --state is queued, running, succeeded, failed or cancelled, not "
                         "'%s'",
                         o->prog, o->state);
            return 2;
        }
    }
    o->limit = 20;
    if (o->limit_s) {
        int64_t v;
        if (!lh_parse_i64(o->limit_s, &v) || v < 1 || v > 1000) {
            lh_cli_error("%s: --limit wants a number from 1 to 1000, not '%s'", o->prog,
                         o->limit_s);
            return 2;
        }
        o->limit = (size_t)v;
    }
    if (o->data && o->store) {
        lh_cli_error("%s: give --data or --store, not both", o->prog);
        return 2;
    }
    return 0;
}

static int run_main(struct ropts *o)
{
    struct lh_daemon_ref ref;
    const char *server = o->server ? o->server : getenv("LAKEHOUSE_SERVER");
    /* the next page of the history is the store's: read it there */
    bool store_only = o->sub == S_LIST && o->before;
    if (server && *server && !store_only) {
        lh_daemon_find(NULL, server, &ref);
        return o->sub == S_LIST ? daemon_list(&ref, o) : daemon_one(&ref, o);
    }
    struct lh_app_config cfg;
    lh_app_config_init(&cfg);
    const char *config = o->config ? o->config : getenv("LAKEHOUSE_CONFIG");
    struct lh_error err;
    struct lh_store_set *set = NULL;
    struct lh_schedule_store *ss = NULL;
    struct lh_schedule_key key;
    memset(&key, 0, sizeof key);
    int rc = 1;
    if (config && *config && lh_app_config_load(&cfg, config, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        goto done;
    }
    const char *root = lh_cli_store_root(o->store, o->data, cfg.store_url, cfg.data_dir);
    struct stat sb;
    if (strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("%s: data directory %s does not exist", o->prog, root);
        goto done;
    }
    if (lh_store_set_open(root, cfg.buckets_config, NULL, &set, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        goto done;
    }
    struct lh_store *st = lh_store_set_primary(set);
    if (!store_only && lh_daemon_find(st, NULL, &ref)) {
        rc = o->sub == S_LIST ? daemon_list(&ref, o) : daemon_one(&ref, o);
        goto done;
    }
    if (o->sub == S_CANCEL) {
        if (ref.problem[0])
            lh_cli_error("%s: %s", o->prog, ref.problem);
        else
            lh_cli_error("%s: no daemon is running on %s, so nothing runs to cancel (a "
                         "'schedule run' without a daemon runs in its own terminal: Ctrl-C "
                         "there stops it)",
                         o->prog, root);
        goto done;
    }
    const char *keyfile = o->keyfile ? o->keyfile : cfg.secret_key_path;
    if (lh_schedule_key_resolve(keyfile, &key, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        goto done;
    }
    struct lh_schedule_store_options so = {.key = &key};
    if (lh_schedule_store_open(st, &so, &ss, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->prog, err.msg);
        goto done;
    }
    rc = o->sub == S_LIST ? store_list(ss, o) : store_one(ss, o);
done:
    lh_schedule_store_close(ss);
    lh_schedule_wipe(&key, sizeof key);
    lh_store_set_close(set);
    lh_app_config_reset(&cfg);
    return rc;
}

int lh_cmd_runs(int argc, char **argv)
{
    struct ropts o;
    memset(&o, 0, sizeof o);
    int first = 1;
    const char *sub = argc > 1 ? argv[1] : "list";
    if (argc > 1 &&
        (argv[1][0] != '-' || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        first = 2;
    if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "-h") != 0 &&
        strcmp(argv[1], "--help") != 0)
        sub = "list";
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(usage_all, stdout);
        return 0;
    }
    /* by enum sub */
    const struct {
        const char *name, *prog, *usage;
    } subs[] = {{"list", "runs list", usage_list},
                {"show", "runs show", usage_show},
                {"log", "runs log", usage_log},
                {"cancel", "runs cancel", usage_cancel}};
    size_t k = 0;
    while (k < sizeof subs / sizeof subs[0] && strcmp(sub, subs[k].name) != 0)
        k++;
    if (k == sizeof subs / sizeof subs[0]) {
        lh_cli_error("runs: unknown subcommand '%s' (list, show, log or cancel; see 'lakehouse "
                     "runs --help')",
                     sub);
        return 2;
    }
    o.sub = (enum sub)k;
    o.prog = subs[k].prog;
    const char *use = subs[k].usage;
    if (lh_cli_wants_help(argc - first + 1, argv + first - 1)) {
        fputs(use, stdout);
        return 0;
    }
    int rc = parse(argc, argv, first, &o);
    return rc ? rc : run_main(&o);
}

int lh_cli_runs_for_schedule(int argc, char **argv)
{
    struct ropts o;
    memset(&o, 0, sizeof o);
    o.pos_schedule = true;
    bool cancel = strcmp(argv[1], "cancel") == 0;
    o.sub = cancel ? S_CANCEL : S_LIST;
    o.prog = cancel ? "schedule cancel" : "schedule runs";
    if (lh_cli_help(argc, argv, cancel ? usage_cancel : usage_list))
        return 0;
    int rc = parse(argc, argv, 2, &o);
    if (rc)
        return rc;
    if (cancel && !o.schedule) {
        lh_cli_error("schedule cancel: which schedule? (an ID)");
        return 2;
    }
    if (!cancel && !o.all && !o.schedule) {
        lh_cli_error("schedule runs: which schedule? (an ID, or --all for every schedule)");
        return 2;
    }
    if (o.all && o.schedule) {
        lh_cli_error("schedule runs: give an ID or --all, not both");
        return 2;
    }
    return run_main(&o);
}
