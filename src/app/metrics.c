/*
 * metrics.c — a small Prometheus registry: counter, gauge and histogram
 * families with labels, rendered in the text exposition format 0.0.4.
 *
 * One mutex guards the whole registry; updates are a lookup and an add, and
 * rendering copies into the caller's buffer under the lock, so a scrape sees
 * one consistent snapshot. A series is found by its label values joined
 * with NUL bytes (linear scan: families hold at most a few thousand series —
 * one per schedule — and updates happen per run, not per row). Each family
 * is capped at HTTP_METRICS_MAX_SERIES so a label fed from outside cannot
 * grow memory without bound.
 *
 * Any thread may call any function here.
 */
#include "app_int.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_METRICS_MAX_SERIES 100000
#define HTTP_METRICS_MAX_LABELS 8

struct series {
    char *key; /* label values joined by '\0' */
    size_t keylen;
    double value;     /* counter / gauge */
    uint64_t *counts; /* histogram: per bucket (non-cumulative), plus +Inf */
    uint64_t count;
    double sum;
};

struct family {
    char *name, *help;
    enum lh_app_metric_type type;
    char *labels[HTTP_METRICS_MAX_LABELS];
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    struct series *s;
    size_t n, cap;
};

struct lh_app_metrics {
    pthread_mutex_t mu;
    struct family *f;
    size_t n, cap;
};

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != s && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void family_free(struct family *f)
{
    free(f->name);
    free(f->help);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->buckets);
    for (size_t i = 0; i < f->n; i++) {
        free(f->s[i].key);
        free(f->s[i].counts);
    }
    free(f->s);
}

static struct family *family_find(struct lh_app_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->f[i].name, name) == 0)
            return &m->f[i];
    return NULL;
}

/* Finds or (create) adds the series for values. Called with the lock held. */
static struct series *series_get(struct family *f, const char *const *values, bool create,
                                 size_t *index)
{
    char key[2048];
    size_t kl = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        size_t n = strlen(v);
        if (kl + n + 1 > sizeof key)
            return NULL;
        memcpy(key + kl, v, n);
        kl += n;
        key[kl++] = '\0';
    }
    for (size_t i = 0; i < f->n; i++) {
        if (f->s[i].keylen == kl && memcmp(f->s[i].key, key, kl) == 0) {
            if (index)
                *index = i;
            return &f->s[i];
        }
    }
    if (!create || f->n >= HTTP_METRICS_MAX_SERIES)
        return NULL;
    struct series *ns = lh_array_grow(f->s, &f->cap, f->n, sizeof *ns, 8);
    if (!ns)
        return NULL;
    f->s = ns;
    struct series *s = &f->s[f->n];
    memset(s, 0, sizeof *s);
    s->key = malloc(kl ? kl : 1);
    if (!s->key)
        return NULL;
    memcpy(s->key, key, kl);
    s->keylen = kl;
    if (f->type == LH_APP_HISTOGRAM) {
        s->counts = calloc(f->nbuckets + 1, sizeof *s->counts);
        if (!s->counts) {
            free(s->key);
            return NULL;
        }
    }
    if (index)
        *index = f->n;
    f->n++;
    return s;
}

enum lh_status lh_app_metrics_register(struct lh_app_metrics *m, const char *name,
                                        const char *help, enum lh_app_metric_type type,
                                        const char *const *labels, size_t nlabels,
                                        const double *buckets, size_t nbuckets,
                                        struct lh_error *err)
{
    if (!valid_name(name))
        return lh_error_set(err, LH_E_INVAL, "metric name '%s' is not valid", name ? name : "");
    if (nlabels > HTTP_METRICS_MAX_LABELS)
        return lh_error_set(err, LH_E_INVAL, "metric %s: too many labels", name);
    for (size_t i = 0; i < nlabels; i++)
        if (!valid_name(labels[i]) || strcmp(labels[i], "le") == 0)
            return lh_error_set(err, LH_E_INVAL, "metric %s: label '%s' is not valid", name,
                                labels[i] ? labels[i] : "");
    for (size_t i = 1; i < nbuckets; i++)
        if (!(buckets[i] > buckets[i - 1]))
            return lh_error_set(err, LH_E_INVAL, "metric %s: buckets must ascend", name);
    enum lh_status st = LH_OK;
    pthread_mutex_lock(&m->mu);
    if (family_find(m, name)) {
        st = lh_error_set(err, LH_E_EXISTS, "metric %s is already registered", name);
        goto done;
    }
    struct family *nf = lh_array_grow(m->f, &m->cap, m->n, sizeof *nf, 16);
    if (!nf) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    m->f = nf;
    struct family *f = &m->f[m->n];
    memset(f, 0, sizeof *f);
    f->type = type;
    f->name = dup(name);
    f->help = dup(help ? help : "");
    bool ok = f->name && f->help;
    for (size_t i = 0; i < nlabels; i++) {
        f->labels[i] = dup(labels[i]);
        ok = ok && f->labels[i];
        f->nlabels = i + 1;
    }
    if (type == LH_APP_HISTOGRAM && nbuckets) {
        f->buckets = malloc(nbuckets * sizeof *f->buckets);
        ok = ok && f->buckets;
        if (f->buckets) {
            memcpy(f->buckets, buckets, nbuckets * sizeof *buckets);
            f->nbuckets = nbuckets;
        }
    }
    /* an unlabelled family shows its zero value from the first scrape */
    if (ok && nlabels == 0)
        ok = series_get(f, NULL, true, NULL) != NULL;
    if (!ok) {
        family_free(f);
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    m->n++;
done:
    pthread_mutex_unlock(&m->mu);
    return st;
}

static const double run_buckets[] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600};

enum lh_status lh_app_metrics_create(struct lh_app_metrics **out, struct lh_error *err)
{
    struct lh_app_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    static const char *const route_status[] = {"route", "status"};
    static const char *const sched_outcome[] = {"schedule", "outcome"};
    static const char *const sched[] = {"schedule"};
    enum lh_status s;
    if ((s = lh_app_metrics_register(m, "lakehouse_http_requests_total",
                                      "HTTP requests answered, by route pattern and status.",
                                      LH_APP_COUNTER, route_status, 2, NULL, 0, err)) != LH_OK ||
        (s = lh_app_metrics_register(m, "lakehouse_runs_total",
                                      "Finished ingest runs, by schedule and outcome.",
                                      LH_APP_COUNTER, sched_outcome, 2, NULL, 0, err)) != LH_OK ||
        (s = lh_app_metrics_register(m, "lakehouse_rows_ingested_total",
                                      "Rows written to datasets by finished runs.", LH_APP_COUNTER,
                                      NULL, 0, NULL, 0, err)) != LH_OK ||
        (s = lh_app_metrics_register(m, "lakehouse_bytes_written_total",
                                      "Parquet bytes written by finished runs.", LH_APP_COUNTER,
                                      NULL, 0, NULL, 0, err)) != LH_OK ||
        (s = lh_app_metrics_register(
             m, "lakehouse_run_duration_seconds", "Wall time of finished runs.", LH_APP_HISTOGRAM,
             NULL, 0, run_buckets, sizeof run_buckets / sizeof run_buckets[0], err)) != LH_OK ||
        (s = lh_app_metrics_register(m, "lakehouse_runs_in_flight", "Runs in progress.",
                                      LH_APP_GAUGE, NULL, 0, NULL, 0, err)) != LH_OK ||
        (s = lh_app_metrics_register(m, "lakehouse_schedule_next_run_timestamp_seconds",
                                      "Next due time of each schedule (Unix seconds).",
                                      LH_APP_GAUGE, sched, 1, NULL, 0, err)) != LH_OK ||
        (s = lh_app_metrics_register(m, "lakehouse_schedule_last_success_timestamp_seconds",
                                      "Last successful run of each schedule (Unix seconds).",
                                      LH_APP_GAUGE, sched, 1, NULL, 0, err)) != LH_OK) {
        lh_app_metrics_destroy(m);
        return s;
    }
    *out = m;
    return LH_OK;
}

void lh_app_metrics_destroy(struct lh_app_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        family_free(&m->f[i]);
    free(m->f);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void update(struct lh_app_metrics *m, const char *name, const char *const *values, double v,
                   enum op op)
{
    if (!m || !name)
        return;
    pthread_mutex_lock(&m->mu);
    struct family *f = family_find(m, name);
    if (!f)
        goto done;
    if ((op == OP_OBSERVE) != (f->type == LH_APP_HISTOGRAM))
        goto done;
    if (op == OP_SET && f->type != LH_APP_GAUGE)
        goto done;
    if (op == OP_ADD && f->type == LH_APP_COUNTER && !(v >= 0))
        goto done; /* counters only go up */
    struct series *s = series_get(f, values, true, NULL);
    if (!s)
        goto done;
    if (op == OP_ADD) {
        s->value += v;
    } else if (op == OP_SET) {
        s->value = v;
    } else {
        size_t b = 0;
        while (b < f->nbuckets && v > f->buckets[b])
            b++;
        s->counts[b]++;
        s->count++;
        s->sum += v;
    }
done:
    pthread_mutex_unlock(&m->mu);
}

void lh_app_metrics_add(struct lh_app_metrics *m, const char *name, const char *const *values,
                         double v)
{
    update(m, name, values, v, OP_ADD);
}

void lh_app_metrics_set(struct lh_app_metrics *m, const char *name, const char *const *values,
                         double v)
{
    update(m, name, values, v, OP_SET);
}

void lh_app_metrics_observe(struct lh_app_metrics *m, const char *name, const char *const *values,
                             double v)
{
    update(m, name, values, v, OP_OBSERVE);
}

void lh_app_metrics_remove(struct lh_app_metrics *m, const char *name, const char *const *values)
{
    if (!m || !name)
        return;
    pthread_mutex_lock(&m->mu);
    struct family *f = family_find(m, name);
    size_t i;
    if (f && f->nlabels > 0 && series_get(f, values, false, &i)) {
        free(f->s[i].key);
        free(f->s[i].counts);
        memmove(&f->s[i], &f->s[i + 1], (f->n - i - 1) * sizeof *f->s);
        f->n--;
    }
    pthread_mutex_unlock(&m->mu);
}

/* ------------------------------------------------------------ rendering */

static void put_number(struct lh_buf *b, double v)
{
    if (isnan(v)) {
        lh_buf_append_str(b, "NaN");
    } else if (isinf(v)) {
        lh_buf_append_str(b, v > 0 ? "+Inf" : "-Inf");
    } else {
        char s[40];
        snprintf(s, sizeof s, "%.15g", v);
        if (strtod(s, NULL) != v)
            snprintf(s, sizeof s, "%.17g", v);
        lh_buf_append_str(b, s);
    }
}

/* Label values escape backslash, double quote and newline; HELP text
 * escapes backslash and newline. */
static void put_escaped(struct lh_buf *b, const char *s, size_t n, bool quote)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\')
            lh_buf_append_str(b, "\\\\");
        else if (c == '\n')
            lh_buf_append_str(b, "\\n");
        else if (c == '"' && quote)
            lh_buf_append_str(b, "\\\"");
        else
            lh_buf_append_u8(b, (uint8_t)c);
    }
}

static void put_labels(struct lh_buf *b, const struct family *f, const struct series *s,
                       const char *le)
{
    if (f->nlabels == 0 && !le)
        return;
    lh_buf_append_u8(b, '{');
    const char *v = s->key;
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = strlen(v);
        lh_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_escaped(b, v, n, true);
        lh_buf_append_u8(b, '"');
        v += n + 1;
    }
    if (le)
        lh_buf_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    lh_buf_append_u8(b, '}');
}

void lh_app_metrics_render(struct lh_app_metrics *m, struct lh_buf *out)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        const struct family *f = &m->f[i];
        lh_buf_printf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, strlen(f->help), false);
        lh_buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
        for (size_t j = 0; j < f->n; j++) {
            const struct series *s = &f->s[j];
            if (f->type != LH_APP_HISTOGRAM) {
                lh_buf_append_str(out, f->name);
                put_labels(out, f, s, NULL);
                lh_buf_append_u8(out, ' ');
                put_number(out, s->value);
                lh_buf_append_u8(out, '\n');
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k <= f->nbuckets; k++) {
                char le[40];
                cum += s->counts[k];
                if (k == f->nbuckets) {
                    snprintf(le, sizeof le, "+Inf");
                } else {
                    struct lh_buf t;
                    lh_buf_init(&t, sizeof le - 1);
                    put_number(&t, f->buckets[k]);
                    lh_buf_cstr(&t);
                    snprintf(le, sizeof le, "%s", lh_buf_ok(&t) && t.data ? (char *)t.data : "0");
                    lh_buf_reset(&t);
                }
                lh_buf_printf(out, "%s_bucket", f->name);
                put_labels(out, f, s, le);
                lh_buf_printf(out, " %" PRIu64 "\n", cum);
            }
            lh_buf_printf(out, "%s_sum", f->name);
            put_labels(out, f, s, NULL);
            lh_buf_append_u8(out, ' ');
            put_number(out, s->sum);
            lh_buf_printf(out, "\n%s_count", f->name);
            put_labels(out, f, s, NULL);
            lh_buf_printf(out, " %" PRIu64 "\n", s->count);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

/* ------------------------------------------------------------ run API */

void lh_app_metrics_run_started(struct lh_app_metrics *m)
{
    lh_app_metrics_add(m, "lakehouse_runs_in_flight", NULL, 1);
}

void lh_app_metrics_run_finished(struct lh_app_metrics *m, const char *schedule,
                                  const char *outcome, uint64_t rows, uint64_t bytes,
                                  double duration_secs)
{
    const char *v[2] = {schedule ? schedule : "", outcome ? outcome : "unknown"};
    lh_app_metrics_add(m, "lakehouse_runs_in_flight", NULL, -1);
    lh_app_metrics_add(m, "lakehouse_runs_total", v, 1);
    lh_app_metrics_add(m, "lakehouse_rows_ingested_total", NULL, (double)rows);
    lh_app_metrics_add(m, "lakehouse_bytes_written_total", NULL, (double)bytes);
    lh_app_metrics_observe(m, "lakehouse_run_duration_seconds", NULL, duration_secs);
}

void lh_app_metrics_schedule_times(struct lh_app_metrics *m, const char *schedule,
                                    int64_t next_run_us, int64_t last_success_us)
{
    const char *v[1] = {schedule ? schedule : ""};
    if (next_run_us)
        lh_app_metrics_set(m, "lakehouse_schedule_next_run_timestamp_seconds", v,
                            (double)next_run_us / 1e6);
    else
        lh_app_metrics_remove(m, "lakehouse_schedule_next_run_timestamp_seconds", v);
    if (last_success_us)
        lh_app_metrics_set(m, "lakehouse_schedule_last_success_timestamp_seconds", v,
                            (double)last_success_us / 1e6);
    else
        lh_app_metrics_remove(m, "lakehouse_schedule_last_success_timestamp_seconds", v);
}

void lh_app_metrics_schedule_forget(struct lh_app_metrics *m, const char *schedule)
{
    const char *v[1] = {schedule ? schedule : ""};
    lh_app_metrics_remove(m, "lakehouse_schedule_next_run_timestamp_seconds", v);
    lh_app_metrics_remove(m, "lakehouse_schedule_last_success_timestamp_seconds", v);
    /* runs_total keeps its per-outcome series until restart: counters that
     * vanish confuse rate(); a deleted schedule simply stops increasing */
}
