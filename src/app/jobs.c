/*
 * jobs.c — the bridge from schedules to ingest: one schedule definition
 * becomes one ingest job (lh_app_ingest_def), wrapped as the scheduler's
 * job function (lh_app_scheduler_job) and event callback
 * (lh_app_scheduler_event: run metrics and the per-run log line).
 *
 * Runs on different worker threads share the daemon's store set
 * (env->set; a store set may be called from any thread, store.h); without
 * one (the CLI's inline run) a run opens a set of its own. The full DSN
 * lives only in the caller's buffer for the duration of the run;
 * everything logged or returned is redacted.
 *
 * Threads: any; nothing here keeps state between calls.
 */
#include "app_int.h"

#include "ingest/ingest.h"
#include "schedule/schedule.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(LH_SCHEDULE_PARALLEL_AUTO == LH_SOURCE_PARALLEL_AUTO &&
                   LH_SCHEDULE_PARALLEL_MAX == LH_SOURCE_PARALLEL_MAX,
               "kind.parallel is handed to the source as it is");

enum lh_status lh_app_ingest_def(const struct lh_app_jobs *env, const struct lh_schedule *def,
                                  const char *dsn, const char *run_id,
                                  int64_t statement_timeout_ms,
                                  void (*expose)(void *ctx, struct lh_ingest_job *job),
                                  void *expose_ctx, struct lh_ingest_result *res,
                                  struct lh_error *err)
{
    return lh_app_ingest_def_observed(env, def, dsn, run_id, statement_timeout_ms, expose,
                                      expose_ctx, NULL, res, err);
}

enum lh_status lh_app_ingest_def_observed(const struct lh_app_jobs *env,
                                          const struct lh_schedule *def, const char *dsn,
                                          const char *run_id, int64_t statement_timeout_ms,
                                          void (*expose)(void *ctx, struct lh_ingest_job *job),
                                          void *expose_ctx, const struct lh_app_ingest_obs *obs,
                                          struct lh_ingest_result *res, struct lh_error *err)
{
    struct lh_store_set *set = env ? env->set : NULL, *own = NULL;
    struct lh_ingest_job *job = NULL;
    struct lh_store_options so = {.create = true};
    enum lh_status s = LH_OK;
    memset(res, 0, sizeof *res);
    if (!set &&
        (s = lh_store_set_open(env ? env->root : NULL, env ? env->buckets_config : NULL, &so,
                               &own, err)) != LH_OK)
        goto fail;
    if (!set)
        set = own;
    struct lh_ingest_options o = {
        .kind = def->kind == LH_SCHED_MYSQL ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES,
        .dsn = dsn,
        .table = def->table[0] ? def->table : NULL,
        .query = def->query[0] ? def->query : NULL,
        .columns = def->columns[0] ? def->columns : NULL,
        .where = def->where[0] ? def->where : NULL,
        .dataset = def->dataset_name[0] ? def->dataset_name : NULL,
        .batch_size = def->has_batch_size && def->batch_size <= INT64_MAX ? (int64_t)def->batch_size
                                                                          : 0,
        .order_by = def->order_by[0] ? def->order_by : NULL,
        .limit = def->has_limit && def->limit <= INT64_MAX ? (int64_t)def->limit : 0,
        .mode = def->mode == LH_SCHED_APPEND        ? LH_INGEST_APPEND
                : def->mode == LH_SCHED_INCREMENTAL ? LH_INGEST_INCREMENTAL
                                                    : LH_INGEST_OVERWRITE,
        .cursor_column = def->cursor_column[0] ? def->cursor_column : NULL,
        .parallel = def->parallel, /* LH_SCHEDULE_PARALLEL_AUTO == LH_SOURCE_PARALLEL_AUTO */
        .run_id = run_id,
        .statement_timeout_ms = statement_timeout_ms,
        .keep_versions = env ? env->keep_versions : 0,
        /* a one-shot POST /api/ingest runs as the schedule "api-ingest" */
        .made_by = strcmp(def->id, "api-ingest") == 0 ? "api" : def->id,
        .replace_source = def->replace_source,
        .no_resume = def->no_resume,
        .schema_policy = def->schema_policy == LH_SCHED_SCHEMA_FAIL      ? LH_INGEST_SCHEMA_FAIL
                         : def->schema_policy == LH_SCHED_SCHEMA_REPLACE ? LH_INGEST_SCHEMA_REPLACE
                                                                         : LH_INGEST_SCHEMA_EVOLVE,
        .on_progress = obs ? obs->on_progress : NULL,
        .on_log = obs ? obs->on_log : NULL,
        .progress_ctx = obs ? obs->ctx : NULL,
    };
    if ((s = lh_ingest_job_create(set, &o, &job, err)) != LH_OK)
        goto fail;
    if (expose)
        expose(expose_ctx, job);
    s = lh_ingest_run(job, res, err);
    if (expose)
        expose(expose_ctx, NULL);
fail:
    lh_ingest_job_destroy(job);
    lh_store_set_close(own);
    return s;
}

/* ------------------------------------------------------------ scheduler job */

static void cancel_hook(void *ctx)
{
    lh_ingest_cancel(ctx);
}

struct expose_ctx {
    struct lh_run_info *run;
};

static void expose_job(void *ctx, struct lh_ingest_job *job)
{
    struct expose_ctx *e = ctx;
    /* unregistering waits for a hook in progress, so the job can be freed */
    if (job)
        lh_run_set_cancel_hook(e->run, cancel_hook, job);
    else
        lh_run_set_cancel_hook(e->run, NULL, NULL);
}

void lh_app_scheduler_job(void *ctx, const struct lh_schedule *def, struct lh_run_info *run,
                           struct lh_run_result *out)
{
    const struct lh_app_jobs *env = ctx;
    struct lh_ingest_result *res = calloc(1, sizeof *res);
    struct lh_error err;
    memset(out, 0, sizeof *out);
    if (!res) {
        out->status = LH_E_NOMEM;
        snprintf(out->message, sizeof out->message, "out of memory");
        return;
    }
    if (env && env->metrics)
        lh_app_metrics_run_started(env->metrics);
    /* the run in the registry (a run-now may be there already, queued) */
    struct lh_app_run *ar =
        lh_app_runs_enter(env ? env->runs : NULL, run->run_id, def->id,
                          def->dataset_name[0] ? def->dataset_name : def->table,
                          lh_run_reason_name(run->reason), LH_APP_RUN_RUNNING);
    lh_app_run_start(ar, run->started_at_us, run->dsn);
    char label[LH_SCHEDULE_NAME_MAX + 16];
    lh_schedule_label(def, label, sizeof label);
    lh_app_run_log(ar, LH_LOG_INFO, "running %s (reason %s, attempt %u, mode %s, timeout_secs=%lld)",
                   label, lh_run_reason_name(run->reason), (unsigned)run->attempt,
                   lh_schedule_mode_name(def->mode), (long long)def->timeout_secs);
    struct lh_app_ingest_obs obs = {lh_app_run_progress, lh_app_run_log_line, ar};
    struct expose_ctx e = {run};
    int64_t timeout_ms = def->timeout_secs > 0 ? def->timeout_secs * 1000 : 0;
    out->status = lh_app_ingest_def_observed(env, def, run->dsn, run->run_id, timeout_ms,
                                             expose_job, &e, ar ? &obs : NULL, res, &err);
    if (out->status == LH_OK) {
        out->has_rows = true;
        out->rows = res->rows > 0 ? (uint64_t)res->rows : 0;
        out->bytes = res->bytes;
        out->version = res->published ? res->version : 0;
        out->warnings = res->warnings > 0 ? (uint64_t)res->warnings : 0;
        snprintf(out->dataset, sizeof out->dataset, "%s", res->dataset);
        snprintf(out->message, sizeof out->message, "%s%s", res->message,
                 res->published ? "" : " (no new rows; nothing published)");
        lh_app_webhooks_schema_changed(env ? env->webhooks : NULL, def, run, res);
    } else {
        /* ingest errors carry no password; the scheduler scrubs again */
        snprintf(out->message, sizeof out->message, "%s", err.msg);
    }
    /* the job's view; the scheduler's record has the last word
     * (lh_app_runs_recorded: a timeout, a stop) */
    bool cancelled = out->status != LH_OK && lh_run_cancelled(run);
    lh_app_run_finish(ar,
                      out->status == LH_OK ? LH_APP_RUN_SUCCEEDED
                      : cancelled          ? LH_APP_RUN_CANCELLED
                                           : LH_APP_RUN_FAILED,
                      out->status == LH_OK ? LH_RUN_SUCCESS
                      : cancelled          ? LH_RUN_CANCELLED
                                           : LH_RUN_FAILED,
                      out->message, out->status == LH_OK ? res->rows : 0,
                      out->status == LH_OK ? res->bytes : 0, out->version, out->dataset);
    lh_app_run_release(ar);
    free(res);
}

void lh_app_scheduler_event(void *ctx, const struct lh_sched_event *ev)
{
    const struct lh_app_jobs *env = ctx;
    lh_app_webhooks_sched_event(env ? env->webhooks : NULL, ev); /* queued, never sent here */
    if (ev->kind != LH_SCHED_EVENT_RUN_FINISHED || !ev->run)
        return;
    const struct lh_run_record *r = ev->run;
    /* the registry's run takes the record's outcome; its log goes beside it */
    if (env)
        lh_app_runs_recorded(env->runs, r);
    double secs = (double)(r->finished_at_us - r->started_at_us) / 1e6;
    const char *outcome = lh_run_status_name(r->status);
    if (env && env->metrics) {
        lh_app_metrics_run_finished(env->metrics, r->schedule_id, outcome, r->rows, r->bytes,
                                     secs);
        if (ev->def) {
            int64_t last_ok = ev->def->last_outcome.present && ev->def->last_outcome.success
                                  ? ev->def->last_outcome.at_us
                                  : 0;
            lh_app_metrics_schedule_times(env->metrics, r->schedule_id,
                                           ev->def->enabled ? ev->def->next_run_at_us : 0,
                                           last_ok);
        }
    }
    /* the message was scrubbed by the scheduler (password bytes and
     * DSN-shaped text) before it reached the run record */
    lh_log(r->status == LH_RUN_SUCCESS ? LH_LOG_INFO : LH_LOG_WARN,
        "run schedule=%s run=%s reason=%s outcome=%s rows=%llu bytes=%llu duration=%.3fs "
        "message=\"%s\"",
        r->schedule_id, r->run_id, lh_run_reason_name(r->reason), outcome,
        (unsigned long long)r->rows, (unsigned long long)r->bytes, secs, r->message);
}
