/*
 * runs.c — the live run registry (app.h "runs"; docs/runs.md).
 *
 * Every run the daemon starts is entered here when it is queued or starts
 * (lh_app_runs_enter, by the scheduler's job, the run-now route and the
 * one-shot runner) and stays until a while after it ended: the newest
 * KEEP_FINISHED finished runs are kept in memory, older ones are read back
 * from the run history (the schedule store) when asked for.
 *
 * A run holds its view (state, phase, progress, message...), its log and
 * its cancel hook. Progress comes from ingest's on_progress after every
 * batch: a short lock of the run's own mutex and five stores, never a
 * store write. The log is kept in memory with caps (the first
 * LH_APP_RUN_LOG_HEAD lines, then the newest, LH_APP_RUN_LOG_LINES lines
 * and LH_APP_RUN_LOG_BYTES bytes in all; what falls out between is
 * counted) and written beside the run's record when the run is recorded:
 * `_runs/{schedule_id}/{run_id}.log`, JSON lines. Every line is scrubbed
 * (lh_redact_scrub with the run's DSN while it runs, lh_redact_text
 * always) before it is kept, so neither memory nor the store holds a
 * password.
 *
 * Cancel: a scheduled run is cancelled through the scheduler
 * (lh_scheduler_cancel: it knows the run is a user's cancel and records it
 * so); a one-shot run through its hook (the runner's: a queued job leaves
 * the queue, a running one gets lh_ingest_cancel).
 *
 * Locks: runs->mu guards the list and the references; r->mu a run's
 * fields and log; r->cmu its cancel hook, held while the hook runs (so
 * unregistering waits for it; a hook may finish its run, which takes the
 * other two). Order: r->cmu -> runs->mu -> r->mu; readers of a run never
 * take r->cmu (the view's cancel_requested is under r->mu); r->cancelled
 * is atomic, polled by the running job without a lock. No registry lock is
 * held while the store is written.
 */
#include "app_int.h"

#include "ingest/ingest.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_FINISHED 200
#define TAIL_LINES (LH_APP_RUN_LOG_LINES - LH_APP_RUN_LOG_HEAD)
#define HEAD_BYTES (LH_APP_RUN_LOG_BYTES / 4)
#define TAIL_BYTES (LH_APP_RUN_LOG_BYTES - HEAD_BYTES)
#define LOG_FILE_MAX (LH_APP_RUN_LOG_BYTES * 2 + 65536) /* JSON around the text */

struct line {
    int64_t at_us;
    enum lh_log_level level;
    size_t len;
    char *text;
};

struct lh_app_run {
    struct lh_app_runs *reg;
    unsigned refs; /* under reg->mu */
    pthread_mutex_t mu;
    struct lh_app_run_view v;
    const char *dsn; /* borrowed while running: what lines are scrubbed of */
    bool log_saved;
    struct line head[LH_APP_RUN_LOG_HEAD];
    size_t nhead, head_bytes;
    struct line *tail; /* ring of TAIL_LINES */
    size_t tstart, tlen, tail_bytes;
    uint64_t dropped;
    pthread_mutex_t cmu;    /* over the cancel hook */
    _Atomic bool cancelled; /* polled by the running job: no lock */
    void (*cancel_fn)(void *ctx);
    void *cancel_ctx;
};

struct lh_app_runs {
    pthread_mutex_t mu;
    struct lh_schedule_store *ss;
    struct lh_scheduler *sched;
    struct lh_app_run **v;
    size_t n, cap;
};

static const char *const state_names[] = {
#define LH_X_STR(state, name) [state] = name,
    LH_APP_RUN_STATE_MAP(LH_X_STR)
#undef LH_X_STR
};

const char *lh_app_run_state_name(enum lh_app_run_state s)
{
    return (unsigned)s < LH_APP_RUN_STATE_COUNT_ ? state_names[s] : "failed";
}

bool lh_app_run_state_parse(const char *s, enum lh_app_run_state *out)
{
    for (int i = 0; i < LH_APP_RUN_STATE_COUNT_; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum lh_app_run_state)i;
            return true;
        }
    return false;
}

static enum lh_app_run_state state_of_status(int status)
{
    switch (status) {
    case LH_RUN_SUCCESS:
        return LH_APP_RUN_SUCCEEDED;
    case LH_RUN_CANCELLED:
        return LH_APP_RUN_CANCELLED;
    default:
        return LH_APP_RUN_FAILED;
    }
}

static bool finished(const struct lh_app_run_view *v)
{
    return v->state >= LH_APP_RUN_SUCCEEDED;
}

void lh_app_run_view_from_record(const struct lh_run_record *r, struct lh_app_run_view *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->run_id, sizeof v->run_id, "%s", r->run_id);
    bool oneshot = strcmp(r->schedule_id, LH_RUNS_ONESHOT) == 0;
    if (!oneshot)
        snprintf(v->schedule_id, sizeof v->schedule_id, "%s", r->schedule_id);
    snprintf(v->dataset, sizeof v->dataset, "%s", r->dataset);
    snprintf(v->reason, sizeof v->reason, "%s", oneshot ? "api" : lh_run_reason_name(r->reason));
    v->state = state_of_status(r->status);
    v->phase = -1;
    v->rows = r->has_rows && r->rows <= INT64_MAX ? (int64_t)r->rows : 0;
    v->bytes = r->bytes;
    v->estimated_rows = -1;
    v->started_at_us = r->started_at_us;
    v->finished_at_us = r->finished_at_us;
    v->elapsed_secs = (double)(r->finished_at_us - r->started_at_us) / 1e6;
    if (v->elapsed_secs < 0)
        v->elapsed_secs = 0;
    v->rows_per_sec = v->elapsed_secs > 0 ? (double)v->rows / v->elapsed_secs : 0;
    v->cancel_requested = r->cancelled_by_user;
    snprintf(v->message, sizeof v->message, "%s", r->message);
    v->version = r->version;
    v->status = (int)r->status;
    if (r->damaged) {
        v->state = LH_APP_RUN_FAILED;
        v->status = -1;
    }
}

/* ------------------------------------------------------------ registry */

enum lh_status lh_app_runs_create(struct lh_schedule_store *ss, struct lh_app_runs **out,
                                  struct lh_error *err)
{
    struct lh_app_runs *runs = calloc(1, sizeof *runs);
    *out = NULL;
    if (!runs)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    pthread_mutex_init(&runs->mu, NULL);
    runs->ss = ss;
    *out = runs;
    return LH_OK;
}

static void line_free(struct line *l)
{
    free(l->text);
    l->text = NULL;
}

/* Frees the lines (r->mu held, or the last reference). */
static void log_free_locked(struct lh_app_run *r)
{
    for (size_t i = 0; i < r->nhead; i++)
        line_free(&r->head[i]);
    for (size_t i = 0; i < r->tlen; i++)
        line_free(&r->tail[(r->tstart + i) % TAIL_LINES]);
    r->nhead = r->tlen = r->tstart = 0;
    r->head_bytes = r->tail_bytes = 0;
    r->dropped = 0;
}

static void run_free(struct lh_app_run *r)
{
    log_free_locked(r);
    free(r->tail);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->cmu);
    free(r);
}

void lh_app_runs_destroy(struct lh_app_runs *runs)
{
    if (!runs)
        return;
    for (size_t i = 0; i < runs->n; i++)
        if (--runs->v[i]->refs == 0)
            run_free(runs->v[i]);
    free(runs->v);
    pthread_mutex_destroy(&runs->mu);
    free(runs);
}

void lh_app_runs_set_scheduler(struct lh_app_runs *runs, struct lh_scheduler *sched)
{
    if (!runs)
        return;
    pthread_mutex_lock(&runs->mu);
    runs->sched = sched;
    pthread_mutex_unlock(&runs->mu);
}

/* The run of run_id in the list (runs->mu held), or NULL. */
static struct lh_app_run *find_locked(struct lh_app_runs *runs, const char *run_id)
{
    for (size_t i = 0; i < runs->n; i++)
        if (strcmp(runs->v[i]->v.run_id, run_id) == 0)
            return runs->v[i];
    return NULL;
}

/* The registered run of run_id with a reference the caller releases
 * (lh_app_run_release), or NULL. */
static struct lh_app_run *find_ref(struct lh_app_runs *runs, const char *run_id)
{
    pthread_mutex_lock(&runs->mu);
    struct lh_app_run *r = find_locked(runs, run_id);
    if (r)
        r->refs++;
    pthread_mutex_unlock(&runs->mu);
    return r;
}

/* Drops the oldest finished runs past KEEP_FINISHED (runs->mu held). A
 * run's fields are read under its own lock. */
static void evict_locked(struct lh_app_runs *runs)
{
    for (;;) {
        size_t nfin = 0, oldest = SIZE_MAX;
        int64_t oldest_at = INT64_MAX;
        for (size_t i = 0; i < runs->n; i++) {
            struct lh_app_run *r = runs->v[i];
            pthread_mutex_lock(&r->mu);
            if (finished(&r->v)) {
                nfin++;
                if (r->v.finished_at_us < oldest_at) {
                    oldest_at = r->v.finished_at_us;
                    oldest = i;
                }
            }
            pthread_mutex_unlock(&r->mu);
        }
        if (nfin <= KEEP_FINISHED || oldest == SIZE_MAX)
            return;
        struct lh_app_run *r = runs->v[oldest];
        runs->v[oldest] = runs->v[--runs->n];
        if (--r->refs == 0)
            run_free(r);
    }
}

struct lh_app_run *lh_app_runs_enter(struct lh_app_runs *runs, const char *run_id,
                                     const char *schedule_id, const char *dataset,
                                     const char *reason, enum lh_app_run_state state)
{
    if (!runs || !run_id)
        return NULL;
    pthread_mutex_lock(&runs->mu);
    struct lh_app_run *r = find_locked(runs, run_id);
    if (r) {
        r->refs++;
        pthread_mutex_unlock(&runs->mu);
        pthread_mutex_lock(&r->mu);
        if (!r->v.dataset[0] && dataset)
            snprintf(r->v.dataset, sizeof r->v.dataset, "%s", dataset);
        pthread_mutex_unlock(&r->mu);
        return r;
    }
    struct lh_app_run **nv = lh_array_grow(runs->v, &runs->cap, runs->n, sizeof *nv, 32);
    if (!nv) {
        pthread_mutex_unlock(&runs->mu);
        return NULL;
    }
    runs->v = nv;
    r = calloc(1, sizeof *r);
    if (!r || !(r->tail = calloc(TAIL_LINES, sizeof *r->tail))) {
        free(r);
        pthread_mutex_unlock(&runs->mu);
        return NULL;
    }
    r->reg = runs;
    r->refs = 2; /* the list's and the caller's */
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->cmu, NULL);
    struct lh_app_run_view *v = &r->v;
    snprintf(v->run_id, sizeof v->run_id, "%s", run_id);
    snprintf(v->schedule_id, sizeof v->schedule_id, "%s", schedule_id ? schedule_id : "");
    snprintf(v->dataset, sizeof v->dataset, "%s", dataset ? dataset : "");
    snprintf(v->reason, sizeof v->reason, "%s", reason ? reason : "schedule");
    v->state = state == LH_APP_RUN_RUNNING ? LH_APP_RUN_RUNNING : LH_APP_RUN_QUEUED;
    v->phase = -1;
    v->estimated_rows = -1;
    v->status = -1;
    v->live = true;
    runs->v[runs->n++] = r;
    pthread_mutex_unlock(&runs->mu);
    lh_app_run_log(r, LH_LOG_INFO, "%s: %s run%s%s%s", state == LH_APP_RUN_RUNNING ? "started" : "queued",
                   v->reason, schedule_id ? " of schedule " : "", schedule_id ? schedule_id : "",
                   state == LH_APP_RUN_RUNNING ? "" : " (waiting for a worker)");
    return r;
}

void lh_app_run_release(struct lh_app_run *r)
{
    if (!r)
        return;
    struct lh_app_runs *runs = r->reg;
    pthread_mutex_lock(&runs->mu);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&runs->mu);
    if (last)
        run_free(r);
}

/* ------------------------------------------------------------ a run */

static void add_line(struct lh_app_run *r, int64_t at_us, enum lh_log_level level,
                     const char *text)
{
    char buf[LH_APP_RUN_LINE_MAX];
    snprintf(buf, sizeof buf, "%s", text);
    /* scrubbed before it is kept: the run's DSN (its password, raw and
     * decoded), then anything DSN- or key=value-shaped */
    pthread_mutex_lock(&r->mu);
    if (r->log_saved) { /* the stored log is the whole log */
        pthread_mutex_unlock(&r->mu);
        return;
    }
    lh_redact_scrub(buf, sizeof buf, r->dsn);
    size_t len = lh_utf8_sanitize(buf);
    char *t = malloc(len + 1);
    if (!t) {
        r->dropped++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    memcpy(t, buf, len + 1);
    struct line l = {at_us, level, len, t};
    if (r->nhead < LH_APP_RUN_LOG_HEAD && r->tlen == 0 && r->dropped == 0 &&
        r->head_bytes + len <= HEAD_BYTES) {
        r->head[r->nhead++] = l;
        r->head_bytes += len;
    } else {
        while (r->tlen && (r->tlen == TAIL_LINES || r->tail_bytes + len > TAIL_BYTES)) {
            struct line *o = &r->tail[r->tstart];
            r->tail_bytes -= o->len;
            line_free(o);
            r->tstart = (r->tstart + 1) % TAIL_LINES;
            r->tlen--;
            r->dropped++;
        }
        r->tail[(r->tstart + r->tlen) % TAIL_LINES] = l;
        r->tlen++;
        r->tail_bytes += len;
    }
    pthread_mutex_unlock(&r->mu);
}

void lh_app_run_log_line(void *run, enum lh_log_level level, const char *line)
{
    if (run && line)
        add_line(run, lh_time_wall_us(), level, line);
}

void lh_app_run_log(struct lh_app_run *r, enum lh_log_level level, const char *fmt, ...)
{
    if (!r)
        return;
    char buf[LH_APP_RUN_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add_line(r, lh_time_wall_us(), level, buf);
}

void lh_app_run_start(struct lh_app_run *r, int64_t started_at_us, const char *dsn)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    bool was_queued = r->v.state == LH_APP_RUN_QUEUED;
    r->v.state = LH_APP_RUN_RUNNING;
    r->v.phase = LH_INGEST_CONNECTING;
    r->v.started_at_us = started_at_us;
    r->dsn = dsn;
    pthread_mutex_unlock(&r->mu);
    if (was_queued)
        lh_app_run_log(r, LH_LOG_INFO, "started");
}

void lh_app_run_progress(void *run, const struct lh_ingest_progress *p)
{
    struct lh_app_run *r = run;
    if (!r || !p)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->v.state == LH_APP_RUN_RUNNING) {
        r->v.phase = (int)p->phase;
        r->v.rows = p->rows;
        r->v.bytes = p->bytes;
        r->v.estimated_rows = p->estimated_rows;
    }
    pthread_mutex_unlock(&r->mu);
}

void lh_app_run_set_cancel(struct lh_app_run *r, void (*fn)(void *ctx), void *ctx)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->cmu);
    r->cancel_fn = fn;
    r->cancel_ctx = ctx;
    if (fn && r->cancelled) {
        fn(ctx);
        r->cancel_fn = NULL; /* a hook runs once */
    }
    pthread_mutex_unlock(&r->cmu);
}

bool lh_app_run_cancel_requested(struct lh_app_run *r)
{
    return r && atomic_load(&r->cancelled);
}

/* Fills the derived fields of a view copied from a run. */
static void view_derive(struct lh_app_run_view *v)
{
    if (v->state == LH_APP_RUN_RUNNING && v->started_at_us)
        v->elapsed_secs = (double)(lh_time_wall_us() - v->started_at_us) / 1e6;
    else if (finished(v) && v->started_at_us && v->finished_at_us)
        v->elapsed_secs = (double)(v->finished_at_us - v->started_at_us) / 1e6;
    else
        v->elapsed_secs = 0;
    if (v->elapsed_secs < 0)
        v->elapsed_secs = 0;
    v->rows_per_sec = v->elapsed_secs > 0 ? (double)v->rows / v->elapsed_secs : 0;
    if (v->state != LH_APP_RUN_RUNNING)
        v->phase = -1;
}

static void view_of(struct lh_app_run *r, struct lh_app_run_view *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->v;
    pthread_mutex_unlock(&r->mu);
    view_derive(out);
}

void lh_app_run_finish(struct lh_app_run *r, enum lh_app_run_state state, int status,
                       const char *message, int64_t rows, uint64_t bytes, uint64_t version,
                       const char *dataset)
{
    if (!r)
        return;
    char msg[LH_APP_RUN_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", message ? message : "");
    pthread_mutex_lock(&r->mu);
    if (state == LH_APP_RUN_CANCELLED && r->v.cancel_requested &&
        strncmp(msg, "cancelled by a user", 19) != 0) {
        /* the same words as the scheduler's record */
        char m[LH_APP_RUN_MSG_MAX];
        snprintf(m, sizeof m, "cancelled by a user (%.1900s)", msg);
        memcpy(msg, m, sizeof m);
    }
    lh_redact_scrub(msg, sizeof msg, r->dsn);
    lh_utf8_sanitize(msg);
    r->dsn = NULL; /* the caller's buffer goes away */
    struct lh_app_run_view *v = &r->v;
    if (!v->started_at_us)
        v->started_at_us = 0;
    v->state = state < LH_APP_RUN_SUCCEEDED ? LH_APP_RUN_FAILED : state;
    v->status = status;
    v->phase = -1;
    v->finished_at_us = lh_time_wall_us();
    if (rows > v->rows || state == LH_APP_RUN_SUCCEEDED)
        v->rows = rows;
    if (bytes > v->bytes || state == LH_APP_RUN_SUCCEEDED)
        v->bytes = bytes;
    v->version = version;
    if (dataset && dataset[0])
        snprintf(v->dataset, sizeof v->dataset, "%s", dataset);
    memcpy(v->message, msg, sizeof msg);
    bool oneshot = !v->schedule_id[0];
    pthread_mutex_unlock(&r->mu);
    if (oneshot)
        lh_app_run_log(r, state == LH_APP_RUN_SUCCEEDED ? LH_LOG_INFO : LH_LOG_ERROR,
                       "outcome: %s: %s", lh_app_run_state_name(state), msg);
    else
        lh_app_run_log(r, state == LH_APP_RUN_SUCCEEDED ? LH_LOG_INFO : LH_LOG_WARN,
                       "job ended: %s", msg);
    pthread_mutex_lock(&r->reg->mu);
    evict_locked(r->reg);
    pthread_mutex_unlock(&r->reg->mu);
}

/* ------------------------------------------------------------ log text */

static void iso_us(int64_t us, char *out, size_t cap)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    char b[48];
    lh_time_format_iso(secs * 1000000, b, sizeof b);
    size_t n = strlen(b);
    if (n && b[n - 1] == 'Z')
        b[n - 1] = '\0';
    snprintf(out, cap, "%s.%06dZ", b, (int)(us - secs * 1000000));
}

/* The level words of core's log lines, for a run's JSON log lines. */
static const char *level_name(enum lh_log_level l)
{
    static const char *const names[] = {[LH_LOG_DEBUG] = "debug",
                                        [LH_LOG_INFO] = "info",
                                        [LH_LOG_WARN] = "warn",
                                        [LH_LOG_ERROR] = "error"};
    return (unsigned)l < sizeof names / sizeof names[0] ? names[l] : "info";
}

static void line_json(struct lh_buf *out, int64_t at_us, const char *level, const char *text)
{
    char at[64];
    iso_us(at_us, at, sizeof at);
    json_t *o = json_pack("{s:s, s:s, s:s}", "at", at, "level", level, "message", text);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s) {
        lh_buf_append_str(out, s);
        lh_buf_append_u8(out, '\n');
    }
    free(s);
    json_decref(o);
}

/* The run's log as JSON lines (r->mu held). */
static void log_text_locked(struct lh_app_run *r, struct lh_buf *out)
{
    for (size_t i = 0; i < r->nhead; i++)
        line_json(out, r->head[i].at_us, level_name(r->head[i].level), r->head[i].text);
    if (r->dropped) {
        char m[200];
        snprintf(m, sizeof m,
                 "%llu line(s) left out here (a run's log keeps its first %d and its newest "
                 "lines, %u KiB in all)",
                 (unsigned long long)r->dropped, LH_APP_RUN_LOG_HEAD,
                 LH_APP_RUN_LOG_BYTES / 1024);
        int64_t at = r->tlen ? r->tail[r->tstart].at_us : lh_time_wall_us();
        line_json(out, at, "warn", m);
    }
    for (size_t i = 0; i < r->tlen; i++) {
        const struct line *l = &r->tail[(r->tstart + i) % TAIL_LINES];
        line_json(out, l->at_us, level_name(l->level), l->text);
    }
}

/* Writes the run's log beside its record (no lock held but a reference). */
static void save_log(struct lh_app_run *r, const char *schedule_id)
{
    struct lh_app_runs *runs = r->reg;
    if (!runs->ss)
        return;
    struct lh_buf b;
    lh_buf_init(&b, LOG_FILE_MAX);
    char rid[LH_APP_RUN_ID_MAX];
    pthread_mutex_lock(&r->mu);
    log_text_locked(r, &b);
    memcpy(rid, r->v.run_id, sizeof rid);
    pthread_mutex_unlock(&r->mu);
    struct lh_error err;
    if (!lh_buf_ok(&b))
        lh_warn("run %s: its log is over %u bytes; not kept", rid, (unsigned)LOG_FILE_MAX);
    else if (lh_schedule_store_put_log(runs->ss, schedule_id, rid, b.data, b.len, &err) != LH_OK)
        lh_warn("run %s: cannot write its log: %s", rid, err.msg);
    else {
        /* the store holds it now: memory keeps no second copy (200
         * finished runs could hold 100 MB of logs otherwise) */
        pthread_mutex_lock(&r->mu);
        r->log_saved = true;
        log_free_locked(r);
        pthread_mutex_unlock(&r->mu);
    }
    lh_buf_reset(&b);
}

void lh_app_runs_recorded(struct lh_app_runs *runs, const struct lh_run_record *rec)
{
    if (!runs || !rec)
        return;
    struct lh_app_run *r = find_ref(runs, rec->run_id);
    if (!r)
        return;
    struct lh_app_run_view rv;
    lh_app_run_view_from_record(rec, &rv);
    pthread_mutex_lock(&r->mu);
    struct lh_app_run_view *v = &r->v;
    v->state = rv.state;
    v->status = rv.status;
    v->phase = -1;
    if (!v->started_at_us && rec->started_at_us != rec->finished_at_us)
        v->started_at_us = rec->started_at_us;
    v->finished_at_us = rec->finished_at_us;
    if (rec->has_rows)
        v->rows = rv.rows;
    if (rec->bytes)
        v->bytes = rec->bytes;
    v->version = rec->version;
    if (rec->dataset[0])
        snprintf(v->dataset, sizeof v->dataset, "%s", rec->dataset);
    memcpy(v->message, rv.message, sizeof v->message);
    bool late = v->cancel_requested && rec->status == LH_RUN_SUCCESS;
    pthread_mutex_unlock(&r->mu);
    if (late)
        lh_app_run_log(r, LH_LOG_WARN, "the cancel came after the publish: the run succeeded");
    lh_app_run_log(r,
                   rec->status == LH_RUN_SUCCESS     ? LH_LOG_INFO
                   : rec->status == LH_RUN_CANCELLED ? LH_LOG_WARN
                                                     : LH_LOG_ERROR,
                   "outcome: %s: %s", lh_run_status_name(rec->status), rec->message);
    save_log(r, rec->schedule_id);
    pthread_mutex_lock(&runs->mu);
    evict_locked(runs);
    pthread_mutex_unlock(&runs->mu);
    lh_app_run_release(r);
}

void lh_app_run_record_oneshot(struct lh_app_run *r)
{
    if (!r || !r->reg->ss)
        return;
    struct lh_run_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return;
    struct lh_app_run_view v;
    view_of(r, &v);
    snprintf(rec->run_id, sizeof rec->run_id, "%s", v.run_id);
    snprintf(rec->schedule_id, sizeof rec->schedule_id, "%s", LH_RUNS_ONESHOT);
    rec->reason = LH_RUN_MANUAL;
    rec->finished_at_us = v.finished_at_us ? v.finished_at_us : lh_time_wall_us();
    rec->started_at_us = v.started_at_us ? v.started_at_us : rec->finished_at_us;
    rec->status = v.status >= 0 ? (enum lh_run_status)v.status
                  : v.state == LH_APP_RUN_SUCCEEDED ? LH_RUN_SUCCESS
                  : v.state == LH_APP_RUN_CANCELLED ? LH_RUN_CANCELLED
                                                    : LH_RUN_FAILED;
    rec->cancelled_by_user = v.cancel_requested;
    rec->has_rows = true;
    rec->rows = v.rows > 0 ? (uint64_t)v.rows : 0;
    rec->bytes = v.bytes;
    rec->version = v.version;
    snprintf(rec->dataset, sizeof rec->dataset, "%s", v.dataset);
    snprintf(rec->message, sizeof rec->message, "%s", v.message);
    struct lh_error err;
    if (lh_schedule_store_record_oneshot(r->reg->ss, rec, &err) != LH_OK)
        lh_warn("run %s: cannot record it: %s", v.run_id, err.msg);
    else
        save_log(r, LH_RUNS_ONESHOT);
    free(rec);
}

/* ------------------------------------------------------------ queries */

/* A finished run's record from the history (*out malloc'd, NULL on error;
 * the caller frees it). */
static enum lh_status history_find(struct lh_app_runs *runs, const char *run_id,
                                   struct lh_run_record **out, struct lh_error *err)
{
    *out = NULL;
    if (!runs->ss || !lh_run_id_valid(run_id))
        return lh_error_set(err, LH_E_NOTFOUND, "no run '%.60s'", run_id);
    struct lh_run_record *rec = malloc(sizeof *rec);
    if (!rec)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = lh_schedule_store_find_run(runs->ss, run_id, rec, err);
    if (s != LH_OK) {
        free(rec);
        return s;
    }
    *out = rec;
    return LH_OK;
}

enum lh_status lh_app_runs_get(struct lh_app_runs *runs, const char *run_id,
                               struct lh_app_run_view *out, struct lh_error *err)
{
    if (!runs)
        return lh_error_set(err, LH_E_NOTFOUND, "no run '%.60s'", run_id);
    struct lh_app_run *r = find_ref(runs, run_id);
    if (r) {
        view_of(r, out);
        lh_app_run_release(r);
        return LH_OK;
    }
    struct lh_run_record *rec;
    enum lh_status s = history_find(runs, run_id, &rec, err);
    if (s == LH_OK)
        lh_app_run_view_from_record(rec, out);
    free(rec);
    return s;
}

bool lh_app_runs_peek(struct lh_app_runs *runs, const char *run_id, struct lh_app_run_view *out)
{
    if (!runs)
        return false;
    pthread_mutex_lock(&runs->mu);
    struct lh_app_run *r = find_locked(runs, run_id);
    if (r)
        view_of(r, out);
    pthread_mutex_unlock(&runs->mu);
    return r != NULL;
}

bool lh_app_runs_active(struct lh_app_runs *runs, const char *schedule_id,
                        struct lh_app_run_view *out)
{
    if (!runs)
        return false;
    bool found = false;
    pthread_mutex_lock(&runs->mu);
    for (size_t i = 0; i < runs->n && !found; i++) {
        struct lh_app_run *r = runs->v[i];
        pthread_mutex_lock(&r->mu);
        if (!finished(&r->v) && strcmp(r->v.schedule_id, schedule_id) == 0) {
            *out = r->v;
            found = true;
        }
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&runs->mu);
    if (found)
        view_derive(out);
    return found;
}

static int view_newest_first(const void *a, const void *b)
{
    return strcmp(((const struct lh_app_run_view *)b)->run_id,
                  ((const struct lh_app_run_view *)a)->run_id);
}

static bool view_match(const struct lh_app_run_view *v, const enum lh_app_run_state *state,
                       const char *schedule_id)
{
    if (state && v->state != *state)
        return false;
    return !schedule_id || strcmp(v->schedule_id, schedule_id) == 0;
}

enum lh_status lh_app_runs_list(struct lh_app_runs *runs, const enum lh_app_run_state *state,
                                const char *schedule_id, size_t limit,
                                struct lh_app_run_view **out, size_t *n, struct lh_error *err)
{
    *out = NULL;
    *n = 0;
    if (!runs)
        return LH_OK;
    struct lh_app_run_view *v = NULL;
    size_t nv = 0, cap = 0;
    /* the registry's runs */
    pthread_mutex_lock(&runs->mu);
    cap = runs->n + 1;
    v = malloc(cap * sizeof *v);
    for (size_t i = 0; v && i < runs->n; i++) {
        view_of(runs->v[i], &v[nv]);
        if (view_match(&v[nv], state, schedule_id))
            nv++;
    }
    pthread_mutex_unlock(&runs->mu);
    if (!v)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    /* the history's, unless only live runs are asked for */
    bool live_only = state && !finished(&(struct lh_app_run_view){.state = *state});
    if (runs->ss && !live_only) {
        struct lh_run_record *recs = NULL;
        size_t nr = 0, total = 0;
        size_t want = state ? 1000 : limit; /* a state filter looks further back */
        enum lh_status s =
            schedule_id ? lh_schedule_store_runs(runs->ss, schedule_id, NULL, want, &recs, &nr,
                                                 &total, err)
                        : lh_schedule_store_recent_runs(runs->ss, want, &recs, &nr, err);
        if (s != LH_OK && s != LH_E_INVAL) {
            free(v);
            return s;
        }
        if (nr) {
            struct lh_app_run_view *nvv = realloc(v, (nv + nr + 1) * sizeof *v);
            if (!nvv) {
                free(recs);
                free(v);
                return lh_error_set(err, LH_E_NOMEM, "out of memory");
            }
            v = nvv;
        }
        size_t live = nv;
        for (size_t i = 0; i < nr; i++) {
            bool dup = false;
            for (size_t j = 0; j < live && !dup; j++)
                dup = strcmp(v[j].run_id, recs[i].run_id) == 0;
            if (dup)
                continue;
            lh_app_run_view_from_record(&recs[i], &v[nv]);
            if (view_match(&v[nv], state, schedule_id))
                nv++;
        }
        free(recs);
    }
    qsort(v, nv, sizeof *v, view_newest_first);
    *n = nv < limit ? nv : limit;
    *out = v;
    return LH_OK;
}

/* The view says cancel_requested (under r->mu: readers never take cmu). */
static void mark_cancel(struct lh_app_run *r, bool log)
{
    pthread_mutex_lock(&r->mu);
    r->v.cancel_requested = true;
    pthread_mutex_unlock(&r->mu);
    if (log)
        lh_app_run_log(r, LH_LOG_WARN, "cancel requested by a user");
}

enum lh_status lh_app_runs_cancel(struct lh_app_runs *runs, const char *run_id,
                                  struct lh_app_run_view *out, struct lh_error *err)
{
    if (!runs)
        return lh_error_set(err, LH_E_NOTFOUND, "no run '%.60s'", run_id);
    pthread_mutex_lock(&runs->mu);
    struct lh_app_run *r = find_locked(runs, run_id);
    struct lh_scheduler *sched = runs->sched;
    if (r)
        r->refs++;
    pthread_mutex_unlock(&runs->mu);
    if (!r) {
        enum lh_status s = lh_app_runs_get(runs, run_id, out, err);
        if (s != LH_OK)
            return s;
        return lh_error_set(err, LH_E_STATE, "run %s already finished (%s)", run_id,
                            lh_app_run_state_name(out->state));
    }
    enum lh_status s = LH_OK;
    view_of(r, out);
    if (finished(out)) {
        s = lh_error_set(err, LH_E_STATE, "run %s already finished (%s)", run_id,
                         lh_app_run_state_name(out->state));
        goto done;
    }
    if (out->schedule_id[0] && sched) {
        /* the scheduler records it as a user's cancel */
        struct lh_error e2;
        enum lh_status cs = lh_scheduler_cancel(sched, out->schedule_id, run_id, NULL, &e2);
        if (cs == LH_E_NOTFOUND || cs == LH_E_STATE) {
            view_of(r, out);
            s = lh_error_set(err, LH_E_STATE, "run %s already finished (%s)", run_id,
                             finished(out) ? lh_app_run_state_name(out->state) : "being recorded");
            goto done;
        }
        if (cs != LH_OK) {
            s = lh_error_set(err, cs, "%s", e2.msg);
            goto done;
        }
        mark_cancel(r, !atomic_exchange(&r->cancelled, true));
    } else {
        bool first = !atomic_exchange(&r->cancelled, true);
        mark_cancel(r, false);
        if (first)
            lh_app_run_log(r, LH_LOG_WARN, "cancel requested by a user");
        pthread_mutex_lock(&r->cmu);
        if (first && r->cancel_fn) {
            r->cancel_fn(r->cancel_ctx);
            r->cancel_fn = NULL; /* a hook runs once */
        }
        pthread_mutex_unlock(&r->cmu);
    }
    view_of(r, out);
    out->cancel_requested = true;
done:
    lh_app_run_release(r);
    return s;
}

enum lh_status lh_app_runs_log(struct lh_app_runs *runs, const char *run_id, struct lh_buf *out,
                               bool *complete, struct lh_error *err)
{
    *complete = false;
    if (!runs)
        return lh_error_set(err, LH_E_NOTFOUND, "no run '%.60s'", run_id);
    struct lh_app_run *r = find_ref(runs, run_id);
    if (r) {
        pthread_mutex_lock(&r->mu);
        bool saved = r->log_saved;
        char sid[LH_APP_RUN_SCHEDULE_MAX];
        snprintf(sid, sizeof sid, "%s", r->v.schedule_id[0] ? r->v.schedule_id : LH_RUNS_ONESHOT);
        if (!saved)
            log_text_locked(r, out);
        *complete = finished(&r->v);
        pthread_mutex_unlock(&r->mu);
        lh_app_run_release(r);
        if (!saved)
            return LH_OK;
        /* written beside its record: read back from there */
        uint8_t *b = NULL;
        size_t n = 0;
        struct lh_error e2;
        if (lh_schedule_store_get_log(runs->ss, sid, run_id, LOG_FILE_MAX, &b, &n, &e2) == LH_OK)
            lh_buf_append(out, b, n);
        else
            lh_warn("run %s: cannot read its log: %s", run_id, e2.msg);
        free(b);
        return LH_OK;
    }
    struct lh_run_record *rec;
    enum lh_status s = history_find(runs, run_id, &rec, err);
    if (s == LH_OK) {
        uint8_t *b = NULL;
        size_t n = 0;
        struct lh_error e2;
        *complete = true;
        if (lh_schedule_store_get_log(runs->ss, rec->schedule_id, run_id, LOG_FILE_MAX, &b, &n,
                                      &e2) == LH_OK)
            lh_buf_append(out, b, n);
        else if (e2.status != LH_E_NOTFOUND)
            lh_warn("run %s: cannot read its log: %s", run_id, e2.msg);
        free(b);
    }
    free(rec);
    return s;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label_value(struct lh_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            lh_buf_append_u8(out, '\\');
        if (*s == '\n') {
            lh_buf_append_str(out, "\\n");
            continue;
        }
        lh_buf_append_u8(out, (uint8_t)*s);
    }
}

void lh_app_runs_metrics(struct lh_app_runs *runs, struct lh_buf *out)
{
    static const struct {
        const char *name, *help;
    } fam[] = {
        {"lakehouse_run_rows", "Rows read so far by a running run."},
        {"lakehouse_run_bytes", "Bytes of parts written so far by a running run."},
        {"lakehouse_run_elapsed_seconds", "Seconds since a running run started."},
        {"lakehouse_run_estimated_rows", "The source's estimate of a running run's rows."},
    };
    struct lh_app_run_view *v = NULL;
    size_t n = 0;
    if (runs) {
        pthread_mutex_lock(&runs->mu);
        v = malloc((runs->n + 1) * sizeof *v);
        for (size_t i = 0; v && i < runs->n; i++) {
            view_of(runs->v[i], &v[n]);
            n += v[n].state == LH_APP_RUN_RUNNING;
        }
        pthread_mutex_unlock(&runs->mu);
    }
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        lh_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", fam[f].name, fam[f].help,
                      fam[f].name);
        for (size_t i = 0; i < n; i++) {
            double val = f == 0   ? (double)v[i].rows
                         : f == 1 ? (double)v[i].bytes
                         : f == 2 ? v[i].elapsed_secs
                                  : (double)v[i].estimated_rows;
            if (f == 3 && v[i].estimated_rows < 0)
                continue;
            lh_buf_printf(out, "%s{schedule=\"", fam[f].name);
            label_value(out, v[i].schedule_id[0] ? v[i].schedule_id : "api-ingest");
            lh_buf_append_str(out, "\",run_id=\"");
            label_value(out, v[i].run_id);
            lh_buf_printf(out, "\"} %.17g\n", val);
        }
    }
    free(v);
}

/* ------------------------------------------------------------ run ids */

void lh_app_run_id_new(char out[LH_APP_RUN_ID_MAX])
{
    /* the upper half of the sequence space: the scheduler counts from 0 */
    static atomic_uint seq;
    unsigned s = atomic_fetch_add(&seq, 1);
    lh_run_id_make(lh_time_wall_us(), 0x8000u | (s & 0x7fffu), out);
}
