/*
 * webhooks.c — signed webhook deliveries (docs/webhooks.md).
 *
 * An event (a scheduler event, or a schema change a run reports) becomes
 * one JSON body, built on the caller's thread; for every webhook that
 * subscribes to the event a delivery (a copy of the body, its signature
 * "sha256=<hex HMAC-SHA256(secret, body)>", a delivery id) joins one
 * bounded queue of that webhook. Queuing takes a mutex for a few pointer
 * moves and never waits for the network, so neither a run's worker nor the
 * scheduler's recorder thread is ever held by a slow receiver. A full
 * queue drops its oldest delivery (a warning, outcome "dropped").
 *
 * Each webhook has its own delivery thread (so a receiver that hangs
 * delays nobody else's alerts), which owns one curl easy handle
 * (connections are reused) and takes its earliest due delivery: 2xx is
 * delivered; a connection error, 408, 429 or 5xx is tried again after
 * backoff_ms * 2^(try-1) (+-25 % jitter; a 429's Retry-After is honoured
 * up to 60 s) until the webhook's max_attempts; any other answer (3xx:
 * redirects are not followed; 4xx) gives up with a warning. destroy lets
 * the threads deliver what is due for shutdown_ms (a request in flight is
 * aborted at that deadline, within libcurl's progress period of about a
 * second), then drops the rest.
 *
 * Secrets: the secret is used for the HMAC only and never logged; log
 * lines name the webhook by its URL redacted (lh_redact_text).
 *
 * Threads: emit and stats from any thread; each webhook's lock guards its
 * queue and counters and is never held across a request; no two locks are
 * ever held together.
 */
#include "app_int.h"

#include "ingest/ingest.h"
#include "schedule/schedule.h"

#include <curl/curl.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define QUEUE_DEFAULT 1000
#define BACKOFF_DEFAULT_MS 2000
#define SHUTDOWN_DEFAULT_MS 3000
#define TIMEOUT_DEFAULT_SECS 10
#define ATTEMPTS_DEFAULT 5
#define BACKOFF_CAP_MS (5 * 60 * 1000)
#define BODY_MAX (64 * 1024) /* an event body; a larger one is not sent */

static const struct {
    unsigned bit;
    const char *name;
} EVENTS[] = {
    {LH_APP_WEBHOOK_RUN_FAILED, "run_failed"},
    {LH_APP_WEBHOOK_RUN_RECOVERED, "run_recovered"},
    {LH_APP_WEBHOOK_SCHEDULE_PAUSED, "schedule_paused"},
    {LH_APP_WEBHOOK_SCHEMA_CHANGED, "schema_changed"},
};

const char *lh_app_webhook_event_name(unsigned event)
{
    for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++)
        if (EVENTS[i].bit == event)
            return EVENTS[i].name;
    return NULL;
}

unsigned lh_app_webhook_event_parse(const char *name)
{
    for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++)
        if (strcmp(EVENTS[i].name, name) == 0)
            return EVENTS[i].bit;
    return 0;
}

/* ------------------------------------------------------------ the queues */

struct delivery {
    struct delivery *next;
    uint64_t seq; /* queue order: the smallest is the oldest */
    unsigned event;
    char id[LH_DAEMON_INSTANCE_MAX];
    char sig[8 + 64 + 1]; /* "sha256=" + hex */
    char *body;
    size_t len;
    unsigned tries;
    int64_t due_ns; /* monotonic */
};

/* One webhook: its settings, its queue and its delivery thread, so a
 * receiver that hangs delays only its own deliveries. mu guards the queue
 * and the counters and is never held across a request. */
struct hook {
    struct lh_app_webhooks *w;
    char *url;
    char *secret;
    size_t secret_len;
    char label[256]; /* the URL redacted, for log lines */
    unsigned events, timeout_secs, max_attempts;
    char **schedules; /* patterns; NULL/0 = every schedule */
    size_t nschedules;

    pthread_mutex_t mu;
    pthread_cond_t cv;     /* CLOCK_MONOTONIC */
    struct delivery *head; /* unordered; at most queue_max */
    unsigned n;
    bool inflight, stopping;
    uint64_t seq, rng;
    struct lh_app_webhooks_stats st;
    pthread_t thread;
    bool started;
};

struct lh_app_webhooks {
    struct hook *hooks;
    size_t nhooks;
    unsigned queue_max, backoff_ms, shutdown_ms;
    struct lh_app_metrics *metrics;
    _Atomic int64_t abort_at_ns; /* the stop deadline; INT64_MAX while running */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void count(struct hook *h, const char *outcome, uint64_t *field)
{
    (*field)++;
    if (h->w->metrics) {
        const char *v[] = {outcome};
        lh_app_metrics_add(h->w->metrics, "lakehouse_webhook_deliveries_total", v, 1);
    }
}

static void delivery_free(struct delivery *d)
{
    if (d) {
        free(d->body);
        free(d);
    }
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Removes d from h's queue (locked). */
static void unlink_one(struct hook *h, struct delivery *d)
{
    for (struct delivery **pp = &h->head; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            h->n--;
            return;
        }
}

static void push(struct hook *h, struct delivery *d)
{
    d->next = h->head;
    h->head = d;
    h->n++;
}

/* Queues one delivery of body (copied) to h (locked). */
static void enqueue_locked(struct hook *h, unsigned event, const char *body, size_t len)
{
    struct delivery *d = calloc(1, sizeof *d);
    char *copy = malloc(len + 1);
    if (!d || !copy) {
        free(d);
        free(copy);
        lh_warn("webhook %s: out of memory; %s dropped", h->label,
                lh_app_webhook_event_name(event));
        count(h, "dropped", &h->st.dropped);
        return;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    d->body = copy;
    d->len = len;
    d->event = event;
    d->seq = h->seq++;
    d->due_ns = lh_time_mono_ns();
    lh_daemon_instance_make(d->id);
    uint8_t mac[32];
    char hex[65];
    lh_hmac_sha256(h->secret, h->secret_len, body, len, mac);
    lh_sha256_tohex(mac, hex);
    snprintf(d->sig, sizeof d->sig, "sha256=%s", hex);
    if (h->n >= h->w->queue_max && h->head) {
        struct delivery *old = h->head;
        for (struct delivery *x = h->head; x; x = x->next)
            if (x->seq < old->seq)
                old = x;
        lh_warn("webhook %s: its delivery queue is full (%u); dropped the oldest (%s, delivery "
                "%s)",
                h->label, h->w->queue_max, lh_app_webhook_event_name(old->event), old->id);
        unlink_one(h, old);
        delivery_free(old);
        count(h, "dropped", &h->st.dropped);
    }
    push(h, d);
    h->st.queued++;
    pthread_cond_signal(&h->cv);
}

/* Whether h takes event for the schedule id. */
static bool subscribed(const struct hook *h, unsigned event, const char *id)
{
    if (!(h->events & event))
        return false;
    if (!h->nschedules)
        return true;
    for (size_t i = 0; i < h->nschedules; i++)
        if (fnmatch(h->schedules[i], id, 0) == 0)
            return true;
    return false;
}

/* Queues body for every webhook that subscribes to event for schedule id.
 * Never blocks on the network. */
static void emit(struct lh_app_webhooks *w, unsigned event, const char *id, const char *body,
                 size_t len)
{
    for (size_t i = 0; i < w->nhooks; i++) {
        struct hook *h = &w->hooks[i];
        if (!subscribed(h, event, id))
            continue;
        pthread_mutex_lock(&h->mu);
        if (!h->stopping)
            enqueue_locked(h, event, body, len);
        pthread_mutex_unlock(&h->mu);
    }
}

/* ------------------------------------------------------------ one request */

struct answer {
    char text[200]; /* the start of the body, for a warning */
    size_t n;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct answer *a = ctx;
    size_t len = size * nmemb;
    size_t room = sizeof a->text - 1 - a->n;
    size_t take = len < room ? len : room;
    memcpy(a->text + a->n, p, take);
    a->n += take;
    a->text[a->n] = '\0';
    return len;
}

/* Aborts a request in flight once the stop deadline passed (libcurl calls
 * this about once a second while it waits). */
static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct lh_app_webhooks *w = ctx;
    return lh_time_mono_ns() >= atomic_load(&w->abort_at_ns);
}

enum verdict { DELIVERED, RETRY, GIVE_UP };

/* POSTs d; why: one line for the log; *retry_after_s from a 429. */
static enum verdict post(struct hook *h, CURL *c, const struct delivery *d, char *why, size_t cap,
                         int64_t *retry_after_s)
{
    struct curl_slist *hd = NULL, *t;
    struct answer a = {.n = 0};
    char line[160];
    enum verdict v = RETRY;
    *retry_after_s = 0;
    a.text[0] = '\0';
    curl_easy_reset(c);
    static const char *const fixed[] = {"Content-Type: application/json",
                                        "Expect:"}; /* no 100-continue round trip */
    for (size_t i = 0; i < 2; i++)
        if ((t = curl_slist_append(hd, fixed[i])))
            hd = t;
    snprintf(line, sizeof line, "X-Lakehouse-Event: %s", lh_app_webhook_event_name(d->event));
    if ((t = curl_slist_append(hd, line)))
        hd = t;
    snprintf(line, sizeof line, "X-Lakehouse-Delivery: %s", d->id);
    if ((t = curl_slist_append(hd, line)))
        hd = t;
    snprintf(line, sizeof line, "X-Lakehouse-Signature: %s", d->sig);
    if (!(t = curl_slist_append(hd, line))) {
        curl_slist_free_all(hd);
        snprintf(why, cap, "out of memory");
        return RETRY;
    }
    hd = t;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "lakehouse-webhook/1");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_secs * 1000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(h->timeout_secs < 5 ? h->timeout_secs : 5) * 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h->w);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        snprintf(why, cap, "%s",
                 rc == CURLE_ABORTED_BY_CALLBACK ? "shutting down" : curl_easy_strerror(rc));
        v = RETRY;
    } else if (status >= 200 && status < 300) {
        v = DELIVERED;
    } else {
        lh_utf8_sanitize(a.text);
        for (char *p = a.text; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf(why, cap, "HTTP %ld%s%s%s", status, a.text[0] ? " (" : "", a.text,
                 a.text[0] ? ")" : "");
        if (status == 408 || status == 429 || status >= 500) {
            v = RETRY;
            curl_off_t ra = 0;
            if (status == 429 && curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
                ra > 0)
                *retry_after_s = ra > 60 ? 60 : (int64_t)ra;
        } else {
            v = GIVE_UP;
        }
    }
    curl_slist_free_all(hd);
    return v;
}

/* ------------------------------------------------------------ the threads */

static int64_t backoff_ns(struct hook *h, unsigned tries)
{
    int64_t ms = h->w->backoff_ms;
    for (unsigned i = 1; i < tries && ms < BACKOFF_CAP_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_CAP_MS)
        ms = BACKOFF_CAP_MS;
    /* +-25 %: receivers that failed together do not all come back at once */
    double u = (double)(rng_next(&h->rng) >> 11) / 9007199254740992.0;
    return (int64_t)((double)ms * (0.75 + 0.5 * u) * 1e6);
}

static void *deliver_main(void *arg)
{
    struct hook *h = arg;
    struct lh_app_webhooks *w = h->w;
    CURL *c = curl_easy_init();
    pthread_mutex_lock(&h->mu);
    for (;;) {
        int64_t now = lh_time_mono_ns();
        int64_t stop_at = atomic_load(&w->abort_at_ns);
        if (h->stopping && (now >= stop_at || !h->head))
            break;
        struct delivery *d = NULL;
        for (struct delivery *x = h->head; x; x = x->next)
            if (!d || x->due_ns < d->due_ns || (x->due_ns == d->due_ns && x->seq < d->seq))
                d = x;
        if (!d || d->due_ns > now) {
            int64_t until = d ? d->due_ns : INT64_MAX;
            lh_cond_wait_until(&h->cv, &h->mu, h->stopping && stop_at < until ? stop_at : until);
            continue;
        }
        unlink_one(h, d);
        h->inflight = true;
        pthread_mutex_unlock(&h->mu);

        char why[300] = "out of memory";
        int64_t retry_after = 0;
        enum verdict v = c ? post(h, c, d, why, sizeof why, &retry_after) : RETRY;
        d->tries++;

        pthread_mutex_lock(&h->mu);
        h->inflight = false;
        const char *ev = lh_app_webhook_event_name(d->event);
        if (v == RETRY && h->stopping && lh_time_mono_ns() >= atomic_load(&w->abort_at_ns)) {
            push(h, d); /* cut by the stop deadline: dropped below */
        } else if (v == DELIVERED) {
            lh_debug("webhook %s: %s delivered (delivery %s, try %u)", h->label, ev, d->id,
                     d->tries);
            count(h, "delivered", &h->st.delivered);
            delivery_free(d);
        } else if (v == GIVE_UP || d->tries >= h->max_attempts) {
            lh_warn("webhook %s: %s not delivered (delivery %s): %s; %s", h->label, ev, d->id, why,
                    v == GIVE_UP ? "not retried (the receiver refused it)"
                                 : "gave up after the last try");
            count(h, "failed", &h->st.failed);
            delivery_free(d);
        } else {
            int64_t delay = backoff_ns(h, d->tries);
            if (retry_after * INT64_C(1000000000) > delay)
                delay = retry_after * INT64_C(1000000000);
            d->due_ns = lh_time_mono_ns() + delay;
            lh_info("webhook %s: %s try %u of %u failed (delivery %s): %s; next in %.3f s",
                    h->label, ev, d->tries, h->max_attempts, d->id, why, (double)delay / 1e9);
            count(h, "retried", &h->st.retried);
            push(h, d);
        }
    }
    /* shutdown: what is left is dropped, said once */
    unsigned left = 0;
    while (h->head) {
        struct delivery *d = h->head;
        h->head = d->next;
        h->n--;
        left++;
        delivery_free(d);
        count(h, "dropped", &h->st.dropped);
    }
    pthread_mutex_unlock(&h->mu);
    if (left)
        lh_warn("webhook %s: %u delivery(ies) still pending at shutdown were dropped", h->label,
                left);
    curl_easy_cleanup(c);
    return NULL;
}

/* ------------------------------------------------------------ life */

enum lh_status lh_app_webhooks_create(const struct lh_app_webhook *hooks, size_t n,
                                      const struct lh_app_webhooks_options *o,
                                      struct lh_app_metrics *metrics, struct lh_app_webhooks **out,
                                      struct lh_error *err)
{
    struct lh_app_webhooks *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w || (n && !(w->hooks = calloc(n, sizeof *w->hooks)))) {
        free(w);
        return lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
    }
    w->queue_max = o && o->queue_max ? o->queue_max : QUEUE_DEFAULT;
    w->backoff_ms = o && o->backoff_ms ? o->backoff_ms : BACKOFF_DEFAULT_MS;
    if (!(o && o->backoff_ms)) {
        int64_t v;
        const char *e = getenv("LAKEHOUSE_WEBHOOK_BACKOFF_MS"); /* tests shorten it */
        if (e && *e && lh_parse_i64(e, &v) && v >= 1 && v <= 3600000)
            w->backoff_ms = (unsigned)v;
    }
    w->shutdown_ms = o && o->shutdown_ms ? o->shutdown_ms : SHUTDOWN_DEFAULT_MS;
    w->metrics = metrics;
    atomic_store(&w->abort_at_ns, INT64_MAX);
    enum lh_status s = LH_OK;
    for (size_t i = 0; i < n; i++) {
        struct hook *h = &w->hooks[i];
        const char *secret = hooks[i].secret ? hooks[i].secret : "";
        h->w = w;
        pthread_mutex_init(&h->mu, NULL);
        lh_cond_init_mono(&h->cv);
        w->nhooks++;
        h->url = strdup(hooks[i].url ? hooks[i].url : "");
        h->secret = strdup(secret);
        if (!h->url || !h->secret) {
            s = lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
            goto fail;
        }
        h->secret_len = strlen(secret);
        lh_redact_text(h->url, h->label, sizeof h->label);
        h->events = hooks[i].events ? hooks[i].events : LH_APP_WEBHOOK_ALL;
        h->timeout_secs = hooks[i].timeout_secs ? hooks[i].timeout_secs : TIMEOUT_DEFAULT_SECS;
        h->max_attempts = hooks[i].max_attempts ? hooks[i].max_attempts : ATTEMPTS_DEFAULT;
        if (hooks[i].nschedules) {
            if (!(h->schedules = calloc(hooks[i].nschedules, sizeof *h->schedules))) {
                s = lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
                goto fail;
            }
            for (size_t k = 0; k < hooks[i].nschedules; k++, h->nschedules++)
                if (!(h->schedules[k] = strdup(hooks[i].schedules[k]))) {
                    s = lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
                    goto fail;
                }
        }
        if (getrandom(&h->rng, sizeof h->rng, 0) != (ssize_t)sizeof h->rng)
            h->rng = (uint64_t)lh_time_mono_ns() + i;
    }
    if (metrics) {
        static const char *const labels[] = {"outcome"};
        struct lh_error e2;
        enum lh_status rs = lh_app_metrics_register(
            metrics, "lakehouse_webhook_deliveries_total",
            "Webhook deliveries by outcome (delivered, retried, failed, dropped)", LH_APP_COUNTER,
            labels, 1, NULL, 0, &e2);
        if (rs != LH_OK && rs != LH_E_EXISTS) {
            s = lh_error_set(err, rs, "webhooks: %s", e2.msg);
            goto fail;
        }
    }
    if (w->nhooks)
        pthread_once(&curl_once, curl_init_once);
    for (size_t i = 0; i < w->nhooks; i++) {
        struct hook *h = &w->hooks[i];
        if (pthread_create(&h->thread, NULL, deliver_main, h) != 0) {
            s = lh_error_set(err, LH_E_INTERNAL, "webhooks: cannot start a delivery thread");
            goto fail;
        }
        h->started = true;
        char ev[96] = "";
        size_t len = 0;
        for (size_t k = 0; k < sizeof EVENTS / sizeof EVENTS[0]; k++)
            if (h->events & EVENTS[k].bit)
                len += (size_t)snprintf(ev + len, sizeof ev - len, "%s%s", len ? "," : "",
                                        EVENTS[k].name);
        lh_info("webhook %s: events %s%s, timeout %us, %u tries", h->label, ev,
                h->nschedules ? " of some schedules" : "", h->timeout_secs, h->max_attempts);
    }
    *out = w;
    return LH_OK;
fail:
    lh_app_webhooks_destroy(w);
    return s;
}

void lh_app_webhooks_destroy(struct lh_app_webhooks *w)
{
    if (!w)
        return;
    atomic_store(&w->abort_at_ns, lh_time_mono_ns() + (int64_t)w->shutdown_ms * 1000000);
    for (size_t i = 0; i < w->nhooks; i++) {
        struct hook *h = &w->hooks[i];
        pthread_mutex_lock(&h->mu);
        h->stopping = true;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    for (size_t i = 0; i < w->nhooks; i++) {
        struct hook *h = &w->hooks[i];
        if (h->started)
            pthread_join(h->thread, NULL);
        while (h->head) {
            struct delivery *d = h->head;
            h->head = d->next;
            delivery_free(d);
        }
        free(h->url);
        for (size_t k = 0; k < h->nschedules; k++)
            free(h->schedules[k]);
        free(h->schedules);
        if (h->secret)
            lh_schedule_wipe(h->secret, h->secret_len);
        free(h->secret);
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
    }
    free(w->hooks);
    free(w);
}

void lh_app_webhooks_stats(struct lh_app_webhooks *w, struct lh_app_webhooks_stats *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; w && i < w->nhooks; i++) {
        struct hook *h = &w->hooks[i];
        pthread_mutex_lock(&h->mu);
        st->queued += h->st.queued;
        st->delivered += h->st.delivered;
        st->retried += h->st.retried;
        st->failed += h->st.failed;
        st->dropped += h->st.dropped;
        st->pending += h->n + (h->inflight ? 1u : 0u);
        pthread_mutex_unlock(&h->mu);
    }
}

/* ------------------------------------------------------------ the bodies */

static json_t *time_or_null(int64_t us)
{
    char t[48];
    if (us <= 0)
        return json_null();
    lh_time_format_iso(us, t, sizeof t);
    return json_string(t);
}

/* jansson refuses invalid UTF-8: texts pass through lh_utf8_sanitize. */
static json_t *text(const char *s)
{
    char buf[LH_SCHEDULE_MSG_MAX];
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    lh_utf8_sanitize(buf);
    return json_string(buf);
}

/* The dataset a schedule writes: its dataset_name, else the table's
 * default name (the display DSN, password masked, is enough for that). */
static json_t *dataset_of(const struct lh_schedule *def)
{
    char name[256];
    if (def->dataset_name[0])
        return text(def->dataset_name);
    struct lh_error err;
    if (def->table[0] && lh_ingest_default_dataset(
                             def->kind == LH_SCHED_MYSQL ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES,
                             def->dsn, def->table, name, sizeof name, NULL, &err) == LH_OK)
        return text(name);
    return json_null();
}

static json_t *schedule_json(const struct lh_schedule *def, const char *id)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", text(def ? def->id : id));
    if (!def)
        return o;
    json_object_set_new(o, "dataset", dataset_of(def));
    json_object_set_new(o, "source",
                        json_string(def->kind == LH_SCHED_MYSQL ? "mysql" : "postgres"));
    json_object_set_new(o, "table", def->table[0] ? text(def->table) : json_null());
    json_object_set_new(o, "description", text(def->description));
    json_object_set_new(o, "enabled", json_boolean(def->enabled));
    json_object_set_new(o, "consecutive_failures", json_integer(def->consecutive_failures));
    json_object_set_new(o, "next_run_at",
                        def->enabled ? time_or_null(def->next_run_at_us) : json_null());
    return o;
}

static const char *state_of(enum lh_run_status s)
{
    return s == LH_RUN_SUCCESS ? "succeeded" : s == LH_RUN_CANCELLED ? "cancelled" : "failed";
}

static json_t *run_json(const struct lh_run_record *r, const struct lh_schedule *def)
{
    json_t *o = json_object();
    json_object_set_new(o, "run_id", text(r->run_id));
    json_object_set_new(o, "schedule_id", text(r->schedule_id));
    json_object_set_new(o, "dataset", def ? dataset_of(def) : json_null());
    json_object_set_new(o, "reason", json_string(lh_run_reason_name(r->reason)));
    json_object_set_new(o, "attempt", json_integer(r->attempt));
    json_object_set_new(o, "state", json_string(state_of(r->status)));
    json_object_set_new(o, "status", json_string(lh_run_status_name(r->status)));
    json_object_set_new(o, "rows", json_integer((json_int_t)r->rows));
    json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
    json_object_set_new(o, "started_at", time_or_null(r->started_at_us));
    json_object_set_new(o, "finished_at", time_or_null(r->finished_at_us));
    json_object_set_new(o, "elapsed_secs",
                        json_real((double)(r->finished_at_us - r->started_at_us) / 1e6));
    json_object_set_new(o, "message", text(r->message));
    return o;
}

/* Serializes o (taken) and queues it for event of schedule id. */
static void emit_json(struct lh_app_webhooks *w, unsigned event, const char *id, json_t *o)
{
    char now[48];
    lh_time_format_iso(lh_time_wall_us(), now, sizeof now);
    json_object_set_new(o, "timestamp", json_string(now));
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!body || strlen(body) > BODY_MAX) {
        lh_warn("webhooks: cannot build the %s body (%s)", lh_app_webhook_event_name(event),
                body ? "too large" : "out of memory");
        free(body);
        return;
    }
    emit(w, event, id, body, strlen(body));
    free(body);
}

static json_t *event_object(unsigned event)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(lh_app_webhook_event_name(event)));
    return o;
}

static bool wanted(struct lh_app_webhooks *w, unsigned event, const char *id)
{
    for (size_t h = 0; w && h < w->nhooks; h++)
        if (subscribed(&w->hooks[h], event, id))
            return true;
    return false;
}

void lh_app_webhooks_sched_event(struct lh_app_webhooks *w, const struct lh_sched_event *ev)
{
    if (!w || !ev || !ev->run)
        return;
    const struct lh_run_record *r = ev->run;
    unsigned event = 0;
    if (ev->kind == LH_SCHED_EVENT_AUTO_PAUSED)
        event = LH_APP_WEBHOOK_SCHEDULE_PAUSED;
    else if (r->status == LH_RUN_FAILED || r->status == LH_RUN_TIMEOUT)
        event = LH_APP_WEBHOOK_RUN_FAILED;
    else if (r->status == LH_RUN_SUCCESS && ev->prev_failures > 0)
        event = LH_APP_WEBHOOK_RUN_RECOVERED;
    if (!event || !wanted(w, event, r->schedule_id))
        return;
    json_t *o = event_object(event);
    json_object_set_new(o, "schedule", schedule_json(ev->def, r->schedule_id));
    json_object_set_new(o, "run", run_json(r, ev->def));
    if (event == LH_APP_WEBHOOK_RUN_RECOVERED)
        json_object_set_new(o, "previous_failures", json_integer(ev->prev_failures));
    if (event == LH_APP_WEBHOOK_SCHEDULE_PAUSED)
        json_object_set_new(o, "paused_reason",
                            text(ev->def ? ev->def->paused_reason : "auto-paused"));
    emit_json(w, event, r->schedule_id, o);
}

void lh_app_webhooks_schema_changed(struct lh_app_webhooks *w, const struct lh_schedule *def,
                                    const struct lh_run_info *run,
                                    const struct lh_ingest_result *res)
{
    if (!w || !def || !res || !res->schema_change[0] ||
        !wanted(w, LH_APP_WEBHOOK_SCHEMA_CHANGED, def->id))
        return;
    json_t *o = event_object(LH_APP_WEBHOOK_SCHEMA_CHANGED);
    json_object_set_new(o, "schedule", schedule_json(def, def->id));
    /* the run has published; its record is written after this */
    json_t *r = json_object();
    int64_t now = lh_time_wall_us();
    json_object_set_new(r, "run_id", text(run ? run->run_id : res->run_id));
    json_object_set_new(r, "schedule_id", text(def->id));
    json_object_set_new(r, "dataset", text(res->dataset));
    json_object_set_new(r, "reason",
                        run ? json_string(lh_run_reason_name(run->reason)) : json_null());
    json_object_set_new(r, "state", json_string("succeeded"));
    json_object_set_new(r, "status", json_string("success"));
    json_object_set_new(r, "rows", json_integer(res->rows > 0 ? res->rows : 0));
    json_object_set_new(r, "bytes", json_integer((json_int_t)res->bytes));
    json_object_set_new(r, "version",
                        res->version ? json_integer((json_int_t)res->version) : json_null());
    json_object_set_new(r, "started_at", time_or_null(run ? run->started_at_us : 0));
    json_object_set_new(r, "finished_at", time_or_null(now));
    json_object_set_new(r, "message", text(res->message));
    json_object_set_new(o, "run", r);
    json_object_set_new(o, "dataset", text(res->dataset));
    json_object_set_new(o, "version",
                        res->version ? json_integer((json_int_t)res->version) : json_null());
    json_object_set_new(o, "schema_change", text(res->schema_change));
    emit_json(w, LH_APP_WEBHOOK_SCHEMA_CHANGED, def->id, o);
}
