/*
 * sstore.c — the schedule store: definitions at `_schedules/{id}.json` and
 * run history at `_runs/{id}/{run_id}.json`, on top of lh_store.
 *
 * Memory: one sorted array of entries (definition + the version token of
 * the file it came from). Every write is a compare-and-swap on that token
 * (put_if_absent / replace_if), so a change made meanwhile by another
 * process (the CLI beside a daemon) is never overwritten blindly: on a
 * conflict the file is re-read and the same change is applied again.
 *
 * Locking (two layers, always taken in this order: stripe -> mu; mu is
 * never held while waiting for a stripe or for store I/O):
 *   - stripe[hash(id) % STRIPES]: orders the file I/O of one schedule (its
 *     definition and its run history). Held by create, modify (update,
 *     enable, reschedule, record_run), delete and runs across their store
 *     I/O; reload holds every stripe. An entry is replaced or freed only by
 *     a holder of its stripe, so a holder may read its entry without mu.
 *   - the store itself needs no lock: any thread may call it at once
 *     (store.h), so run records of different schedules are written and
 *     fsynced in parallel on every backend.
 *   - mu, a read-write lock, guards the in-memory array only: the in-memory
 *     reads (get, list, visit, each) take it for reading, and writers take
 *     it for writing only to swap in an entry after its file is written, so
 *     a read (the scheduler starting a job, an HTTP GET) never waits for an
 *     fsync (issue 5: pickup p99 was 36-76 ms behind record_run).
 * The listener is always called after every lock is released, so it may
 * call back into the store.
 *
 * Unrecorded runs (keep_unrecorded, the daemon; issue 12): when writing a
 * run record or the schedule file that counts it fails (a full disk, a
 * store that does not answer), the run is applied to the definition in
 * memory all the same (last_outcome, counters, retries, next_run_at), the
 * entry is marked dirty (its token still names the file on disk) and the
 * run joins `pend` (its own mutex pmu, taken after mu or a stripe when
 * those are held, never the other way). lh_schedule_store_runs lists
 * pending records in their place with `unrecorded`; lh_schedule_store_flush
 * writes them, and the dirty definitions with a compare-and-swap on the
 * old token (a file changed meanwhile is re-read and the pending runs are
 * applied to it again). Any successful write of a dirty definition
 * persists what it carries.
 */
#include "schedule_int.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define SCHEDULES_PREFIX "_schedules/"
#define RUNS_PREFIX "_runs/"
#define MAX_PROBLEMS 64
#define STRIPES 64

struct ent {
    struct lh_schedule def;
    char token[LH_STORE_TOKEN_MAX];
    bool dirty; /* def carries runs its file does not (see the top) */
};

/* A run whose record or counting definition is not written yet. */
struct pend_run {
    struct lh_run_record rec;
    uint64_t rnd;
    int64_t now_us;
    bool rec_written, def_written;
};

struct lh_schedule_store {
    pthread_rwlock_t mu;             /* the array: read by get, list, visit, each, notify */
    pthread_mutex_t stripe[STRIPES]; /* one schedule's file I/O (see the top) */
    struct lh_store *st;             /* borrowed; every thread's I/O goes through it (store.h) */
    struct lh_schedule_key key;
    unsigned runs_keep;
    struct ent **v; /* sorted by id */
    size_t n, cap;
    char *problems[MAX_PROBLEMS];
    size_t nprob;
    lh_schedule_listener_fn fn;
    void *fn_ctx;
    bool keep_unrecorded;
    pthread_mutex_t pmu; /* pend */
    struct pend_run *pend;
    size_t npend, cappend;
};

/* ------------------------------------------------------------------ helpers */

static size_t stripe_of(const char *id)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return (size_t)(h % STRIPES);
}

static void stripe_lock(struct lh_schedule_store *ss, const char *id)
{
    pthread_mutex_lock(&ss->stripe[stripe_of(id)]);
}

static void stripe_unlock(struct lh_schedule_store *ss, const char *id)
{
    pthread_mutex_unlock(&ss->stripe[stripe_of(id)]);
}

static size_t find(const struct lh_schedule_store *ss, const char *id, bool *found)
{
    size_t lo = 0, hi = ss->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ss->v[mid]->def.id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool insert_at(struct lh_schedule_store *ss, size_t at, struct ent *e)
{
    struct ent **nv = lh_array_grow(ss->v, &ss->cap, ss->n, sizeof *nv, 16);
    if (!nv)
        return false;
    ss->v = nv;
    memmove(ss->v + at + 1, ss->v + at, (ss->n - at) * sizeof *ss->v);
    ss->v[at] = e;
    ss->n++;
    return true;
}

static void add_problem(struct lh_schedule_store *ss, const char *key, const char *msg)
{
    lh_warn("schedule %s: skipped: %s", key, msg);
    if (ss->nprob == MAX_PROBLEMS)
        return;
    size_t n = strlen(key) + strlen(msg) + 4;
    char *p = malloc(n);
    if (!p)
        return;
    snprintf(p, n, "%s: %s", key, msg);
    ss->problems[ss->nprob++] = p;
}

static void clear_problems(struct lh_schedule_store *ss)
{
    for (size_t i = 0; i < ss->nprob; i++)
        free(ss->problems[i]);
    ss->nprob = 0;
}

size_t lh_sched_store_key(const char *id, char *out, size_t cap)
{
    static const char prefix[] = SCHEDULES_PREFIX, suffix[] = ".json";
    size_t n = id ? strlen(id) : 0;
    size_t total = sizeof prefix - 1 + n + sizeof suffix - 1;
    if (n == 0 || n > 200 || total + 1 > cap)
        return 0;
    memcpy(out, prefix, sizeof prefix - 1);
    char *p = out + sizeof prefix - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        p[i] = ok ? (char)c : '_';
    }
    memcpy(p + n, suffix, sizeof suffix);
    return total;
}

static enum lh_status sched_key(const char *id, char *key, size_t cap, struct lh_error *err)
{
    if (lh_sched_store_key(id, key, cap) == 0)
        return lh_error_set(err, LH_E_INVAL, "id: '%s' is empty or longer than %d bytes", id,
                            LH_SCHEDULE_ID_MAX);
    return LH_OK;
}

/* "_runs/{sanitised id}/" */
static enum lh_status runs_prefix(const char *id, char *out, size_t cap, struct lh_error *err)
{
    char k[LH_STORE_KEY_MAX];
    if (sched_key(id, k, sizeof k, err) != LH_OK)
        return LH_E_INVAL;
    const char *safe = k + strlen(SCHEDULES_PREFIX);
    int n = snprintf(out, cap, RUNS_PREFIX "%.*s/", (int)(strlen(safe) - strlen(".json")), safe);
    if (n < 0 || (size_t)n >= cap)
        return lh_error_set(err, LH_E_INVAL, "id too long");
    return LH_OK;
}

/* Reads and parses one schedule file into e (sealing a plaintext DSN and
 * re-writing the file when the key allows). */
static enum lh_status load_one(struct lh_schedule_store *ss, struct lh_store *st, const char *key,
                               struct ent *e, struct lh_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    e->dirty = false;
    enum lh_status s = lh_store_get(st, key, LH_SCHEDULE_JSON_MAX, &buf, &len, e->token, err);
    if (s != LH_OK)
        return s;
    bool sealed = false;
    s = lh_schedule_from_json((const char *)buf, len, &ss->key, &e->def, &sealed, err);
    lh_schedule_wipe(buf, len);
    free(buf);
    if (s != LH_OK)
        return s;
    char want[LH_STORE_KEY_MAX];
    if (lh_sched_store_key(e->def.id, want, sizeof want) == 0 || strcmp(want, key) != 0)
        return lh_error_set(err, LH_E_FORMAT, "id '%s' does not belong in this file", e->def.id);
    if (sealed) {
        struct lh_buf out;
        lh_buf_init(&out, LH_SCHEDULE_JSON_MAX);
        struct lh_error e2;
        char nt[LH_STORE_TOKEN_MAX] = "";
        if (lh_schedule_to_json(&e->def, &out, &e2) == LH_OK &&
            lh_store_replace_if(st, key, out.data, out.len, e->token, nt, &e2) == LH_OK) {
            lh_info("schedule %s: plaintext dsn password sealed and the file re-written",
                    e->def.id);
            if (nt[0])
                memcpy(e->token, nt, sizeof nt);
            else
                e->token[0] = '\0';
        } else {
            lh_warn("schedule %s: could not re-write the file with the dsn sealed: %s", e->def.id,
                    e2.msg);
        }
        lh_buf_reset(&out);
    }
    /* a sealed DSN that does not open is reported now, not at 2 am */
    if (e->def.dsn_secret[0]) {
        char full[LH_SCHEDULE_DSN_MAX];
        struct lh_error e3;
        if (lh_schedule_dsn_reveal(&e->def, &ss->key, full, sizeof full, &e3) != LH_OK)
            lh_logerr("%s", e3.msg);
        lh_schedule_wipe(full, sizeof full);
    }
    return LH_OK;
}

/* Loads every schedule file into a fresh sorted array. */
static enum lh_status load_all(struct lh_schedule_store *ss, struct lh_store *st, struct ent ***out,
                               size_t *nout, struct lh_error *err)
{
    struct lh_store_list l;
    enum lh_status s = lh_store_list(st, SCHEDULES_PREFIX, &l, err);
    if (s != LH_OK)
        return s;
    struct ent **v = calloc(l.count ? l.count : 1, sizeof *v);
    size_t n = 0;
    if (!v) {
        lh_store_list_reset(&l);
        return lh_error_set(err, LH_E_NOMEM, "out of memory loading schedules");
    }
    clear_problems(ss);
    for (size_t i = 0; i < l.count; i++) {
        const char *key = l.items[i].key;
        size_t kl = strlen(key);
        if (kl < 5 || strcmp(key + kl - 5, ".json") != 0)
            continue;
        struct ent *e = malloc(sizeof *e);
        struct lh_error e1;
        if (!e) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory loading schedules");
            break;
        }
        if (load_one(ss, st, key, e, &e1) != LH_OK) {
            add_problem(ss, key, e1.msg);
            free(e);
            continue;
        }
        v[n++] = e;
    }
    lh_store_list_reset(&l);
    if (s != LH_OK) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return s;
    }
    /* keys are sorted by sanitised id; ids themselves may sort otherwise */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1]->def.id, v[j]->def.id) > 0; j--) {
            struct ent *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    *nout = n;
    return LH_OK;
}

/* Writes e->def: create (put_if_absent) or replace_if on e->token. */
static enum lh_status write_ent(struct lh_store *st, struct ent *e, bool create,
                                struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    if (sched_key(e->def.id, key, sizeof key, err) != LH_OK)
        return LH_E_INVAL;
    struct lh_buf out;
    lh_buf_init(&out, LH_SCHEDULE_JSON_MAX);
    enum lh_status s = lh_schedule_to_json(&e->def, &out, err);
    if (s != LH_OK)
        goto done;
    char nt[LH_STORE_TOKEN_MAX] = "";
    if (create)
        s = lh_store_put_if_absent(st, key, out.data, out.len, err);
    else if (e->token[0])
        s = lh_store_replace_if(st, key, out.data, out.len, e->token, nt, err);
    else
        s = lh_store_put(st, key, out.data, out.len, err);
    if (s != LH_OK)
        goto done;
    if (!nt[0]) {
        /* the backend did not say: ask (keeps the next replace_if honest) */
        uint8_t *b = NULL;
        size_t bl;
        struct lh_error e2;
        if (lh_store_get(st, key, LH_SCHEDULE_JSON_MAX, &b, &bl, nt, &e2) != LH_OK)
            nt[0] = '\0';
        free(b);
    }
    memcpy(e->token, nt, sizeof nt);
done:
    lh_buf_reset(&out);
    return s;
}

static void notify(struct lh_schedule_store *ss, const char *id)
{
    pthread_rwlock_rdlock(&ss->mu);
    lh_schedule_listener_fn fn = ss->fn;
    void *ctx = ss->fn_ctx;
    pthread_rwlock_unlock(&ss->mu);
    if (fn)
        fn(ctx, id);
}

/* ------------------------------------------------------------------ open/close */

enum lh_status lh_schedule_store_open(struct lh_store *st,
                                      const struct lh_schedule_store_options *o,
                                      struct lh_schedule_store **out, struct lh_error *err)
{
    *out = NULL;
    if (!o || !o->key)
        return lh_error_set(err, LH_E_INVAL, "schedule store: a secret key is required");
    struct lh_schedule_store *ss = calloc(1, sizeof *ss);
    if (!ss)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    pthread_rwlock_init(&ss->mu, NULL);
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&ss->stripe[i], NULL);
    ss->st = st;
    ss->key = *o->key;
    ss->runs_keep = o->runs_keep ? o->runs_keep : LH_RUNS_KEEP_DEFAULT;
    ss->keep_unrecorded = o->keep_unrecorded;
    pthread_mutex_init(&ss->pmu, NULL);
    enum lh_status s = load_all(ss, st, &ss->v, &ss->n, err);
    if (s != LH_OK) {
        lh_schedule_store_close(ss);
        return s;
    }
    ss->cap = ss->n ? ss->n : 0;
    if (!ss->n) {
        free(ss->v);
        ss->v = NULL;
    }
    *out = ss;
    return LH_OK;
}

void lh_schedule_store_close(struct lh_schedule_store *ss)
{
    if (!ss)
        return;
    for (size_t i = 0; i < ss->n; i++) {
        lh_schedule_wipe(ss->v[i], sizeof *ss->v[i]);
        free(ss->v[i]);
    }
    free(ss->v);
    clear_problems(ss);
    for (size_t i = 0; i < ss->npend; i++) {
        const struct lh_run_record *r = &ss->pend[i].rec;
        lh_logerr("schedule %s: run %s (%s: %.200s) was never written to the store; its "
                  "outcome is lost with this process",
                  r->schedule_id, r->run_id, lh_run_status_name(r->status), r->message);
    }
    free(ss->pend);
    pthread_mutex_destroy(&ss->pmu);
    lh_schedule_wipe(&ss->key, sizeof ss->key);
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&ss->stripe[i]);
    pthread_rwlock_destroy(&ss->mu);
    free(ss);
}

const char *lh_schedule_store_problem(const struct lh_schedule_store *ss, size_t i)
{
    return i < ss->nprob ? ss->problems[i] : NULL;
}

const struct lh_schedule_key *lh_schedule_store_key(const struct lh_schedule_store *ss)
{
    return &ss->key;
}

void lh_schedule_store_set_listener(struct lh_schedule_store *ss, lh_schedule_listener_fn fn,
                                    void *ctx)
{
    pthread_rwlock_wrlock(&ss->mu);
    ss->fn = fn;
    ss->fn_ctx = ctx;
    pthread_rwlock_unlock(&ss->mu);
}

static void stripes_all(struct lh_schedule_store *ss, bool lock)
{
    for (size_t i = 0; i < STRIPES; i++)
        if (lock)
            pthread_mutex_lock(&ss->stripe[i]);
        else
            pthread_mutex_unlock(&ss->stripe[i]);
}

enum lh_status lh_schedule_store_reload(struct lh_schedule_store *ss, struct lh_error *err)
{
    stripes_all(ss, true);
    struct ent **nv = NULL;
    size_t nn = 0;
    struct lh_store *st = ss->st;
    enum lh_status s = load_all(ss, st, &nv, &nn, err);
    if (s != LH_OK) {
        stripes_all(ss, false);
        return s;
    }
    pthread_rwlock_wrlock(&ss->mu);
    /* ids that appeared, changed (other token) or vanished */
    size_t cap = ss->n + nn + 1, nch = 0;
    char(*changed)[LH_SCHEDULE_ID_MAX + 1] = calloc(cap, sizeof *changed);
    size_t i = 0, j = 0;
    while (changed && (i < ss->n || j < nn)) {
        int c = i == ss->n ? 1 : j == nn ? -1 : strcmp(ss->v[i]->def.id, nv[j]->def.id);
        if (c < 0) {
            memcpy(changed[nch++], ss->v[i]->def.id, sizeof changed[0]);
            i++;
        } else if (c > 0) {
            memcpy(changed[nch++], nv[j]->def.id, sizeof changed[0]);
            j++;
        } else {
            if (ss->v[i]->dirty) {
                /* runs not on disk yet live only here: keep the entry (its
                 * old token makes the flush re-read the file and apply
                 * them to it again) */
                struct ent *t = nv[j];
                nv[j] = ss->v[i];
                ss->v[i] = t;
            } else if (strcmp(ss->v[i]->token, nv[j]->token) != 0) {
                memcpy(changed[nch++], nv[j]->def.id, sizeof changed[0]);
            }
            i++;
            j++;
        }
    }
    for (size_t k = 0; k < ss->n; k++)
        free(ss->v[k]);
    free(ss->v);
    ss->v = nv;
    ss->n = ss->cap = nn;
    pthread_rwlock_unlock(&ss->mu);
    stripes_all(ss, false);
    for (size_t k = 0; k < nch; k++)
        notify(ss, changed[k]);
    free(changed);
    return LH_OK;
}

/* ------------------------------------------------------------------ CRUD */

enum lh_status lh_schedule_store_create(struct lh_schedule_store *ss, const struct lh_schedule *def,
                                        struct lh_error *err)
{
    struct ent *e = malloc(sizeof *e);
    if (!e)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    e->def = *def;
    e->token[0] = '\0';
    e->dirty = false;
    enum lh_status s = lh_schedule_validate(&e->def, true, err);
    if (s == LH_OK)
        s = lh_schedule_seal(&e->def, &ss->key, NULL, err);
    if (s != LH_OK) {
        free(e);
        return s;
    }
    stripe_lock(ss, e->def.id);
    bool found;
    pthread_rwlock_rdlock(&ss->mu);
    find(ss, e->def.id, &found);
    pthread_rwlock_unlock(&ss->mu);
    if (found) {
        s = lh_error_set(err, LH_E_EXISTS, "schedule '%s' already exists", e->def.id);
    } else {
        struct lh_store *st = ss->st;
        s = write_ent(st, e, true, err);
        if (s == LH_E_EXISTS)
            lh_error_set(err, LH_E_EXISTS, "schedule '%s' already exists (in the store)",
                         e->def.id);
        if (s == LH_OK) {
            /* the id cannot have appeared meanwhile: its stripe is held */
            pthread_rwlock_wrlock(&ss->mu);
            size_t at = find(ss, e->def.id, &found);
            if (!insert_at(ss, at, e))
                s = lh_error_set(err, LH_E_NOMEM, "out of memory");
            pthread_rwlock_unlock(&ss->mu);
        }
    }
    stripe_unlock(ss, e->def.id);
    if (s != LH_OK) {
        lh_schedule_wipe(e, sizeof *e);
        free(e);
        return s;
    }
    notify(ss, def->id);
    return LH_OK;
}

enum lh_status lh_schedule_store_get(struct lh_schedule_store *ss, const char *id,
                                     struct lh_schedule *out, struct lh_error *err)
{
    pthread_rwlock_rdlock(&ss->mu);
    bool found;
    size_t at = find(ss, id, &found);
    if (found)
        *out = ss->v[at]->def;
    pthread_rwlock_unlock(&ss->mu);
    return found ? LH_OK : lh_error_set(err, LH_E_NOTFOUND, "no schedule '%s'", id);
}

enum lh_status lh_schedule_store_visit(struct lh_schedule_store *ss, const char *id,
                                       lh_schedule_visit_fn fn, void *ctx, struct lh_error *err)
{
    pthread_rwlock_rdlock(&ss->mu);
    bool found;
    size_t at = find(ss, id, &found);
    if (found)
        fn(ctx, &ss->v[at]->def);
    pthread_rwlock_unlock(&ss->mu);
    return found ? LH_OK : lh_error_set(err, LH_E_NOTFOUND, "no schedule '%s'", id);
}

void lh_schedule_store_each(struct lh_schedule_store *ss, lh_schedule_visit_fn fn, void *ctx)
{
    pthread_rwlock_rdlock(&ss->mu);
    for (size_t i = 0; i < ss->n; i++)
        if (!fn(ctx, &ss->v[i]->def))
            break;
    pthread_rwlock_unlock(&ss->mu);
}

size_t lh_schedule_store_count(struct lh_schedule_store *ss)
{
    pthread_rwlock_rdlock(&ss->mu);
    size_t n = ss->n;
    pthread_rwlock_unlock(&ss->mu);
    return n;
}

enum lh_status lh_schedule_store_list(struct lh_schedule_store *ss, struct lh_schedule **out,
                                      size_t *n, struct lh_error *err)
{
    pthread_rwlock_rdlock(&ss->mu);
    struct lh_schedule *v = malloc((ss->n ? ss->n : 1) * sizeof *v);
    if (v)
        for (size_t i = 0; i < ss->n; i++)
            v[i] = ss->v[i]->def;
    *n = v ? ss->n : 0;
    pthread_rwlock_unlock(&ss->mu);
    *out = v;
    return v ? LH_OK : lh_error_set(err, LH_E_NOMEM, "out of memory");
}

/* ------------------------------------------------------------------ pending runs */

/* Drops the pending runs that are fully written (pmu held). */
static void pend_compact(struct lh_schedule_store *ss)
{
    size_t k = 0;
    for (size_t i = 0; i < ss->npend; i++)
        if (!(ss->pend[i].rec_written && ss->pend[i].def_written))
            ss->pend[k++] = ss->pend[i];
    ss->npend = k;
}

/* Every pending run of id: its definition is on disk now. */
static void pend_def_written(struct lh_schedule_store *ss, const char *id)
{
    pthread_mutex_lock(&ss->pmu);
    for (size_t i = 0; i < ss->npend; i++)
        if (strcmp(ss->pend[i].rec.schedule_id, id) == 0)
            ss->pend[i].def_written = true;
    pend_compact(ss);
    pthread_mutex_unlock(&ss->pmu);
}

static bool pend_add(struct lh_schedule_store *ss, const struct pend_run *p)
{
    pthread_mutex_lock(&ss->pmu);
    struct pend_run *nv = lh_array_grow(ss->pend, &ss->cappend, ss->npend, sizeof *nv, 8);
    bool ok = nv != NULL;
    if (ok) {
        ss->pend = nv;
        ss->pend[ss->npend++] = *p;
    }
    pthread_mutex_unlock(&ss->pmu);
    return ok;
}

size_t lh_schedule_store_unrecorded(struct lh_schedule_store *ss)
{
    pthread_mutex_lock(&ss->pmu);
    size_t n = ss->npend;
    pthread_mutex_unlock(&ss->pmu);
    return n;
}

/* A write failure that a later attempt may get past (space, I/O, a store
 * that does not answer), rather than a refusal of the data itself. */
static bool retryable(enum lh_status s)
{
    return s != LH_OK && s != LH_E_INVAL && s != LH_E_FORMAT && s != LH_E_NOTFOUND &&
           s != LH_E_NOMEM && s != LH_E_TOOBIG && s != LH_E_EXISTS;
}

static enum lh_status reapply_pending(struct lh_schedule_store *ss, const char *id, struct ent *e,
                                      struct lh_error *err);

/* The entry of id, or NULL. With id's stripe held it stays the entry (only
 * the stripe's holder replaces it), so the caller may read it without mu. */
static struct ent *ent_of(struct lh_schedule_store *ss, const char *id)
{
    bool found;
    pthread_rwlock_rdlock(&ss->mu);
    size_t at = find(ss, id, &found);
    struct ent *cur = found ? ss->v[at] : NULL;
    pthread_rwlock_unlock(&ss->mu);
    return cur;
}

/* Puts e in the place of cur, id's entry, and frees cur (stripe held). */
static void ent_replace(struct lh_schedule_store *ss, const char *id, struct ent *cur,
                        struct ent *e)
{
    bool found;
    pthread_rwlock_wrlock(&ss->mu);
    ss->v[find(ss, id, &found)] = e; /* still there: the stripe is held */
    pthread_rwlock_unlock(&ss->mu);
    free(cur);
}

/* A change applied with compare-and-swap: fn mutates a copy of the
 * current definition; on a conflict the file is re-read and fn runs again
 * on the fresh copy. */
typedef enum lh_status (*modify_fn)(struct lh_schedule *def, void *arg, struct lh_error *err);

/* Called with id's stripe held and st borrowed: the entry of id is
 * replaced only here (and by delete / reload, which take the stripe too),
 * so cur is read without mu; mu is taken for writing only to swap. */
static enum lh_status modify_locked(struct lh_schedule_store *ss, struct lh_store *st,
                                    const char *id, modify_fn fn, void *arg,
                                    struct lh_schedule *updated, struct lh_error *err)
{
    enum lh_status s = LH_OK;
    struct ent *cur = ent_of(ss, id);
    if (!cur)
        return lh_error_set(err, LH_E_NOTFOUND, "no schedule '%s'", id);
    for (int tries = 0;; tries++) {
        struct ent *e = malloc(sizeof *e);
        if (!e)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        *e = *cur;
        s = fn(&e->def, arg, err);
        if (s == LH_OK)
            s = write_ent(st, e, false, err);
        if (s == LH_OK) {
            bool was_dirty = e->dirty;
            e->dirty = false; /* the file now holds everything e carries */
            ent_replace(ss, id, cur, e);
            if (was_dirty)
                pend_def_written(ss, id);
            if (updated)
                *updated = e->def;
            return LH_OK;
        }
        free(e);
        if ((s != LH_E_CONFLICT && s != LH_E_NOTFOUND) || tries == 4)
            return s;
        /* someone else wrote the file: take theirs and apply ours again */
        char key[LH_STORE_KEY_MAX];
        struct ent fresh;
        if (sched_key(id, key, sizeof key, err) != LH_OK)
            return LH_E_INVAL;
        if (s == LH_E_NOTFOUND)
            return lh_error_set(err, LH_E_NOTFOUND, "schedule '%s' was deleted meanwhile", id);
        s = load_one(ss, st, key, &fresh, err);
        if (s == LH_OK && cur->dirty) /* runs only memory knows: onto the new file too */
            s = reapply_pending(ss, id, &fresh, err);
        if (s != LH_OK)
            return s;
        pthread_rwlock_wrlock(&ss->mu);
        *cur = fresh;
        pthread_rwlock_unlock(&ss->mu);
    }
}

static enum lh_status modify(struct lh_schedule_store *ss, const char *id, modify_fn fn, void *arg,
                             struct lh_schedule *updated, struct lh_error *err)
{
    stripe_lock(ss, id);
    struct lh_store *st = ss->st;
    enum lh_status s = modify_locked(ss, st, id, fn, arg, updated, err);
    stripe_unlock(ss, id);
    return s;
}

static bool same_trigger(const struct lh_schedule *a, const struct lh_schedule *b)
{
    if (a->trigger.kind != b->trigger.kind)
        return false;
    if (a->trigger.kind == LH_TRIGGER_INTERVAL)
        return a->trigger.interval_secs == b->trigger.interval_secs &&
               a->trigger.anchor == b->trigger.anchor;
    return strcmp(a->cron_expr, b->cron_expr) == 0 && strcmp(a->tz_name, b->tz_name) == 0;
}

struct update_arg {
    const struct lh_schedule *want;
    const struct lh_schedule_key *key;
    int64_t now_us;
};

static enum lh_status do_update(struct lh_schedule *d, void *arg, struct lh_error *err)
{
    struct update_arg *a = arg;
    const struct lh_schedule *w = a->want;
    bool trig_changed = !same_trigger(d, w);
    /* Everything a user sets comes from w, whole (field by field, each new
     * kind field had to be remembered here, and three were not); the run
     * state of the stored schedule stays. */
    struct {
        int64_t created_at_us, last_run_at_us, retry_target_us;
        bool has_last_run;
        struct lh_run_outcome last_outcome;
        uint64_t run_count, failure_count;
        uint32_t consecutive_failures, retry_attempt;
    } keep = {d->created_at_us, d->last_run_at_us,       d->retry_target_us,
              d->has_last_run,  d->last_outcome,         d->run_count,
              d->failure_count, d->consecutive_failures, d->retry_attempt};
    char created_by[sizeof d->created_by];
    memcpy(created_by, d->created_by, sizeof created_by);
    char id[sizeof d->id];
    memcpy(id, d->id, sizeof id);
    memmove(d, w, sizeof *d);
    memcpy(d->id, id, sizeof id);
    memcpy(d->created_by, created_by, sizeof created_by);
    d->created_at_us = keep.created_at_us;
    d->last_run_at_us = keep.last_run_at_us;
    d->retry_target_us = keep.retry_target_us;
    d->has_last_run = keep.has_last_run;
    d->last_outcome = keep.last_outcome;
    d->run_count = keep.run_count;
    d->failure_count = keep.failure_count;
    d->consecutive_failures = keep.consecutive_failures;
    d->retry_attempt = keep.retry_attempt;
    enum lh_status s = lh_schedule_validate(d, false, err);
    if (s == LH_OK)
        s = lh_schedule_seal(d, a->key, NULL, err);
    if (s != LH_OK || !trig_changed)
        return s;
    /* a new trigger: the next time from the last run (due now if never ran) */
    d->retry_attempt = 0;
    d->retry_target_us = 0;
    if (!d->has_last_run) {
        d->next_run_at_us = a->now_us;
        return LH_OK;
    }
    int64_t next;
    int64_t last = lh_sched_floor_div(d->last_run_at_us, 1000000);
    int64_t now = lh_sched_floor_div(a->now_us, 1000000);
    s = lh_trigger_next(&d->trigger, last, last, now, &next, err);
    if (s == LH_OK)
        d->next_run_at_us = next * 1000000;
    return s;
}

enum lh_status lh_schedule_store_update(struct lh_schedule_store *ss, const struct lh_schedule *def,
                                        int64_t now_us, struct lh_error *err)
{
    struct update_arg a = {def, &ss->key, now_us};
    enum lh_status s = modify(ss, def->id, do_update, &a, NULL, err);
    if (s == LH_OK)
        notify(ss, def->id);
    return s;
}

struct enable_arg {
    bool enabled;
    const char *reason;
};

static enum lh_status do_enable(struct lh_schedule *d, void *arg, struct lh_error *err)
{
    (void)err;
    struct enable_arg *a = arg;
    d->enabled = a->enabled;
    if (a->enabled) {
        d->paused_reason[0] = '\0';
        d->consecutive_failures = 0;
        d->retry_attempt = 0;
        d->retry_target_us = 0;
    } else {
        snprintf(d->paused_reason, sizeof d->paused_reason, "%s",
                 a->reason && *a->reason ? a->reason : "paused");
    }
    return LH_OK;
}

enum lh_status lh_schedule_store_set_enabled(struct lh_schedule_store *ss, const char *id,
                                             bool enabled, const char *reason, struct lh_error *err)
{
    struct enable_arg a = {enabled, reason};
    enum lh_status s = modify(ss, id, do_enable, &a, NULL, err);
    if (s == LH_OK)
        notify(ss, id);
    return s;
}

static enum lh_status do_resched(struct lh_schedule *d, void *arg, struct lh_error *err)
{
    (void)err;
    d->next_run_at_us = *(int64_t *)arg;
    return LH_OK;
}

enum lh_status lh_schedule_store_reschedule(struct lh_schedule_store *ss, const char *id,
                                            int64_t next_us, struct lh_error *err)
{
    return modify(ss, id, do_resched, &next_us, NULL, err);
}

enum lh_status lh_schedule_store_delete(struct lh_schedule_store *ss, const char *id, bool *existed,
                                        struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    if (existed)
        *existed = false;
    if (sched_key(id, key, sizeof key, err) != LH_OK)
        return LH_E_INVAL;
    stripe_lock(ss, id);
    struct lh_store *st = ss->st;
    enum lh_status s = lh_store_delete(st, key, err);
    bool found = false;
    struct ent *gone = NULL;
    if (s == LH_OK) {
        pthread_rwlock_wrlock(&ss->mu);
        size_t at = find(ss, id, &found);
        if (found) {
            gone = ss->v[at];
            memmove(ss->v + at, ss->v + at + 1, (ss->n - at - 1) * sizeof *ss->v);
            ss->n--;
        }
        pthread_rwlock_unlock(&ss->mu);
    }
    stripe_unlock(ss, id);
    if (gone) {
        lh_schedule_wipe(gone, sizeof *gone);
        free(gone);
    }
    if (s != LH_OK)
        return s;
    if (existed)
        *existed = found;
    notify(ss, id);
    return LH_OK;
}

/* ------------------------------------------------------------------ runs */

struct run_arg {
    const struct lh_run_record *run;
    uint64_t rnd;
    int64_t now_us;
    bool paused;
};

static enum lh_status do_run(struct lh_schedule *d, void *arg, struct lh_error *err)
{
    struct run_arg *a = arg;
    return lh_schedule_apply_run(d, a->run, a->rnd, a->now_us, &a->paused, err);
}

/* Applies the pending runs of id whose definition is not written, oldest
 * first, to e (a definition just re-read from its file), which becomes
 * dirty when any applies. The stripe of id is held. */
static enum lh_status reapply_pending(struct lh_schedule_store *ss, const char *id, struct ent *e,
                                      struct lh_error *err)
{
    pthread_mutex_lock(&ss->pmu);
    size_t n = 0;
    struct pend_run *v = malloc((ss->npend ? ss->npend : 1) * sizeof *v);
    for (size_t i = 0; v && i < ss->npend; i++)
        if (!ss->pend[i].def_written && strcmp(ss->pend[i].rec.schedule_id, id) == 0)
            v[n++] = ss->pend[i];
    pthread_mutex_unlock(&ss->pmu);
    if (!v)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    enum lh_status s = LH_OK;
    for (size_t i = 0; s == LH_OK && i < n; i++) {
        struct run_arg a = {&v[i].rec, v[i].rnd, v[i].now_us, false};
        s = do_run(&e->def, &a, err);
    }
    if (n)
        e->dirty = true;
    free(v);
    return s;
}

/* Keeps the newest runs_keep records of one schedule. Called with the
 * schedule's stripe held and st borrowed. */
static void trim_runs(struct lh_schedule_store *ss, struct lh_store *st, const char *prefix)
{
    struct lh_store_list l;
    struct lh_error err;
    if (lh_store_list(st, prefix, &l, &err) != LH_OK) {
        lh_warn("run history %s: %s", prefix, err.msg);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < l.count; i++)
        n += strlen(l.items[i].key) > 5 &&
             strcmp(l.items[i].key + strlen(l.items[i].key) - 5, ".json") == 0;
    /* the records go oldest first (keys sort by run id, run ids by time);
     * a run's log goes with its record: every log older than the oldest
     * record kept (also one whose record is gone) */
    const char *oldest_kept = NULL;
    for (size_t i = 0; i < l.count; i++) {
        const char *k = l.items[i].key;
        if (strlen(k) <= 5 || strcmp(k + strlen(k) - 5, ".json") != 0)
            continue;
        if (n <= ss->runs_keep) {
            oldest_kept = k;
            break;
        }
        if (lh_store_delete(st, k, &err) != LH_OK)
            lh_warn("run history: delete %s: %s", k, err.msg);
        n--;
    }
    size_t keep_len = oldest_kept ? strlen(oldest_kept) - 5 : 0;
    for (size_t i = 0; oldest_kept && i < l.count; i++) {
        const char *k = l.items[i].key;
        size_t kl = strlen(k);
        if (kl <= 4 || strcmp(k + kl - 4, ".log") != 0)
            continue;
        size_t m = kl - 4 < keep_len ? kl - 4 : keep_len;
        int c = memcmp(k, oldest_kept, m);
        if (c > 0 || (c == 0 && kl - 4 >= keep_len))
            continue; /* its run is kept */
        if (lh_store_delete(st, k, &err) != LH_OK)
            lh_warn("run history: delete %s: %s", k, err.msg);
    }
    lh_store_list_reset(&l);
}

/* Writes one run record (its flags cleared: they are never part of the
 * file). Called with the schedule's stripe held and st borrowed. */
static enum lh_status put_record(struct lh_store *st, const struct lh_run_record *run,
                                 const char *key, struct lh_error *err)
{
    struct lh_run_record *c = malloc(sizeof *c);
    if (!c)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    *c = *run;
    c->unrecorded = c->damaged = false;
    struct lh_buf out;
    lh_buf_init(&out, LH_SCHEDULE_JSON_MAX);
    enum lh_status s = lh_run_record_to_json(c, &out, err);
    free(c);
    if (s == LH_OK)
        s = lh_store_put(st, key, out.data, out.len, err);
    lh_buf_reset(&out);
    return s;
}

/* modify_locked's change made in memory only, the entry marked dirty (the
 * write failed): the stripe of id is held. */
static enum lh_status modify_memory(struct lh_schedule_store *ss, const char *id, modify_fn fn,
                                    void *arg, struct lh_schedule *updated, struct lh_error *err)
{
    struct ent *cur = ent_of(ss, id);
    if (!cur)
        return lh_error_set(err, LH_E_NOTFOUND, "no schedule '%s'", id);
    struct ent *e = malloc(sizeof *e);
    if (!e)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    *e = *cur;
    enum lh_status s = fn(&e->def, arg, err);
    if (s != LH_OK) {
        free(e);
        return s;
    }
    e->dirty = true;
    ent_replace(ss, id, cur, e);
    if (updated)
        *updated = e->def;
    return LH_OK;
}

enum lh_status lh_schedule_store_record_run(struct lh_schedule_store *ss,
                                            const struct lh_run_record *run, uint64_t rnd,
                                            int64_t now_us, struct lh_schedule *updated,
                                            bool *auto_paused, struct lh_error *err)
{
    char prefix[LH_STORE_KEY_MAX], key[LH_STORE_KEY_MAX];
    if (auto_paused)
        *auto_paused = false;
    if (runs_prefix(run->schedule_id, prefix, sizeof prefix, err) != LH_OK)
        return LH_E_INVAL;
    if (snprintf(key, sizeof key, "%s%s.json", prefix, run->run_id) >= (int)sizeof key)
        return lh_error_set(err, LH_E_INVAL, "run id too long");
    struct pend_run *pr = calloc(1, sizeof *pr);
    if (!pr)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    pr->rec = *run;
    pr->rec.unrecorded = pr->rec.damaged = false;
    pr->rnd = rnd;
    pr->now_us = now_us;
    struct lh_error why; /* the first write failure, for the log */
    lh_error_clear(&why);
    /* the record is fsynced (lh_store_put) before the schedule file that
     * counts it; neither holds mu, so readers do not wait for either */
    stripe_lock(ss, run->schedule_id);
    struct lh_store *st = ss->st;
    struct run_arg a = {run, rnd, now_us, false};
    enum lh_status s = put_record(st, &pr->rec, key, err);
    pr->rec_written = s == LH_OK;
    if (s == LH_OK)
        trim_runs(ss, st, prefix);
    else if (ss->keep_unrecorded && retryable(s))
        why = *err;
    else
        goto done;
    s = modify_locked(ss, st, run->schedule_id, do_run, &a, updated, err);
    pr->def_written = s == LH_OK;
    if (s != LH_OK && ss->keep_unrecorded && retryable(s)) {
        if (why.status == LH_OK)
            why = *err;
        a.paused = false;
        s = modify_memory(ss, run->schedule_id, do_run, &a, updated, err);
    }
    if (s == LH_OK && !(pr->rec_written && pr->def_written)) {
        if (!pend_add(ss, pr)) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory keeping run %s", run->run_id);
        } else {
            lh_warn("schedule %s: run %s (%s) is kept in memory, not written yet: %s; it is "
                    "written when the store takes writes again",
                    run->schedule_id, run->run_id, lh_run_status_name(run->status), why.msg);
        }
    }
done:
    stripe_unlock(ss, run->schedule_id);
    free(pr);
    if (auto_paused)
        *auto_paused = a.paused;
    return s;
}

/* Writes what is pending for one schedule. */
static enum lh_status flush_one(struct lh_schedule_store *ss, const char *id, struct lh_error *err)
{
    char prefix[LH_STORE_KEY_MAX], key[LH_STORE_KEY_MAX];
    if (runs_prefix(id, prefix, sizeof prefix, err) != LH_OK)
        return LH_E_INVAL;
    stripe_lock(ss, id);
    struct lh_store *st = ss->st;
    /* a copy of id's pending runs: only holders of this stripe change them */
    pthread_mutex_lock(&ss->pmu);
    size_t n = 0;
    struct pend_run *v = malloc((ss->npend ? ss->npend : 1) * sizeof *v);
    for (size_t i = 0; v && i < ss->npend; i++)
        if (strcmp(ss->pend[i].rec.schedule_id, id) == 0)
            v[n++] = ss->pend[i];
    pthread_mutex_unlock(&ss->pmu);
    enum lh_status s = v ? LH_OK : lh_error_set(err, LH_E_NOMEM, "out of memory");
    bool wrote_record = false, need_def = false;
    for (size_t i = 0; s == LH_OK && i < n; i++) {
        need_def |= !v[i].def_written;
        if (v[i].rec_written)
            continue;
        if (snprintf(key, sizeof key, "%s%s.json", prefix, v[i].rec.run_id) >= (int)sizeof key) {
            s = lh_error_set(err, LH_E_INVAL, "run id too long");
            break;
        }
        s = put_record(st, &v[i].rec, key, err);
        v[i].rec_written = s == LH_OK;
        wrote_record |= s == LH_OK;
    }
    if (wrote_record)
        trim_runs(ss, st, prefix);
    bool def_done = !need_def;
    if (s == LH_OK && need_def) {
        struct ent *cur = ent_of(ss, id);
        struct ent *e = cur ? malloc(sizeof *e) : NULL;
        if (!cur || !cur->dirty) {
            def_done = true; /* deleted meanwhile, or already written */
        } else if (!e) {
            s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        } else {
            *e = *cur;
            s = write_ent(st, e, false, err);
            if (s == LH_E_CONFLICT) {
                /* the file changed on disk: apply the runs to it again */
                char skey[LH_STORE_KEY_MAX];
                s = sched_key(id, skey, sizeof skey, err);
                if (s == LH_OK)
                    s = load_one(ss, st, skey, e, err);
                if (s == LH_OK)
                    s = reapply_pending(ss, id, e, err);
                if (s == LH_OK)
                    s = write_ent(st, e, false, err);
            }
            if (s == LH_OK) {
                e->dirty = false;
                ent_replace(ss, id, cur, e);
                e = NULL;
                def_done = true;
            } else if (s == LH_E_NOTFOUND) {
                def_done = true; /* the file was deleted: nothing counts the runs */
                s = LH_OK;
            }
        }
        free(e);
    }
    /* what was written is no longer pending */
    pthread_mutex_lock(&ss->pmu);
    for (size_t i = 0; i < ss->npend; i++) {
        struct pend_run *p = &ss->pend[i];
        if (strcmp(p->rec.schedule_id, id) != 0)
            continue;
        for (size_t k = 0; k < n; k++)
            if (strcmp(v[k].rec.run_id, p->rec.run_id) == 0 && v[k].rec_written)
                p->rec_written = true;
        if (def_done)
            p->def_written = true;
    }
    pend_compact(ss);
    pthread_mutex_unlock(&ss->pmu);
    free(v);
    stripe_unlock(ss, id);
    return s;
}

enum lh_status lh_schedule_store_flush(struct lh_schedule_store *ss, struct lh_error *err)
{
    enum lh_status first = LH_OK;
    size_t written = 0;
    size_t round = 0;
    for (;;) {
        /* the next schedule with something pending, in order of the runs */
        char id[LH_SCHEDULE_ID_MAX + 1] = "";
        pthread_mutex_lock(&ss->pmu);
        size_t before = ss->npend;
        if (round < ss->npend)
            snprintf(id, sizeof id, "%s", ss->pend[round].rec.schedule_id);
        pthread_mutex_unlock(&ss->pmu);
        if (!id[0])
            break;
        struct lh_error e1;
        enum lh_status s = flush_one(ss, id, &e1);
        if (s != LH_OK && first == LH_OK) {
            first = s;
            if (err)
                *err = e1;
        }
        size_t after = lh_schedule_store_unrecorded(ss);
        if (after < before) {
            written += before - after;
            round = 0; /* entries moved: start over (each pass removes one) */
        } else {
            round++;
        }
    }
    if (written)
        lh_info("schedule store: %zu run(s) kept in memory are written now", written);
    if (first == LH_OK && lh_schedule_store_unrecorded(ss))
        first = lh_error_set(err, LH_E_IO, "runs are still pending");
    return first;
}

static int run_newest_first(const void *a, const void *b)
{
    return strcmp(((const struct lh_run_record *)b)->run_id,
                  ((const struct lh_run_record *)a)->run_id);
}

enum lh_status lh_schedule_store_runs(struct lh_schedule_store *ss, const char *id,
                                      const char *before, size_t limit, struct lh_run_record **out,
                                      size_t *n, size_t *total, struct lh_error *err)
{
    char prefix[LH_STORE_KEY_MAX];
    *out = NULL;
    *n = 0;
    if (total)
        *total = 0;
    if (runs_prefix(id, prefix, sizeof prefix, err) != LH_OK)
        return LH_E_INVAL;
    struct lh_run_record *v = calloc(limit ? limit : 1, sizeof *v);
    if (!v)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    stripe_lock(ss, id);
    struct lh_store *st = ss->st;
    struct lh_store_list l;
    enum lh_status s = lh_store_list(st, prefix, &l, err);
    if (s != LH_OK)
        goto done;
    /* the runs kept in memory (not written yet) join in their place */
    struct lh_run_record *pv = NULL;
    size_t pn = 0;
    pthread_mutex_lock(&ss->pmu);
    for (size_t i = 0; i < ss->npend; i++)
        pn += !ss->pend[i].rec_written && strcmp(ss->pend[i].rec.schedule_id, id) == 0;
    if (pn && (pv = malloc(pn * sizeof *pv)) != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < ss->npend; i++)
            if (!ss->pend[i].rec_written && strcmp(ss->pend[i].rec.schedule_id, id) == 0) {
                pv[k] = ss->pend[i].rec;
                pv[k++].unrecorded = true;
            }
    }
    pthread_mutex_unlock(&ss->pmu);
    if (!pv)
        pn = 0;
    if (pn > 1)
        qsort(pv, pn, sizeof *pv, run_newest_first);
    size_t pl = strlen(prefix), cnt = 0, i = l.count, j = 0;
    for (;;) {
        while (i > 0 && (strlen(l.items[i - 1].key) <= pl + 5 ||
                         strcmp(l.items[i - 1].key + strlen(l.items[i - 1].key) - 5, ".json") != 0))
            i--;
        char rid[LH_RUN_ID_MAX] = "";
        const char *k = i > 0 ? l.items[i - 1].key : NULL;
        if (k)
            snprintf(rid, sizeof rid, "%.*s", (int)(strlen(k) - pl - 5), k + pl);
        bool take_p = j < pn && (!k || strcmp(pv[j].run_id, rid) > 0);
        if (!k && !take_p)
            break;
        cnt++;
        const char *this_id = take_p ? pv[j].run_id : rid;
        bool skip = (before && strcmp(this_id, before) >= 0) || *n >= limit;
        if (take_p) {
            if (!skip)
                v[(*n)++] = pv[j];
            j++;
            continue;
        }
        i--;
        if (skip)
            continue;
        uint8_t *b = NULL;
        size_t bl;
        struct lh_error e1;
        if (lh_store_get(st, k, LH_SCHEDULE_JSON_MAX, &b, &bl, NULL, &e1) != LH_OK ||
            lh_run_record_from_json((const char *)b, bl, &v[*n], &e1) != LH_OK) {
            /* listed in its place, saying what is wrong: a page never
             * holds fewer runs than total promises without a word */
            struct lh_run_record *d = &v[*n];
            lh_warn("run record %s is damaged: %s", k, e1.msg);
            memset(d, 0, sizeof *d);
            d->damaged = true;
            snprintf(d->run_id, sizeof d->run_id, "%s", rid);
            snprintf(d->schedule_id, sizeof d->schedule_id, "%s", id);
            snprintf(d->message, sizeof d->message, "run record %s is damaged: %s", k, e1.msg);
        }
        free(b);
        (*n)++;
    }
    free(pv);
    if (total)
        *total = cnt;
    lh_store_list_reset(&l);
done:
    stripe_unlock(ss, id);
    if (s != LH_OK) {
        free(v);
        *n = 0;
        return s;
    }
    *out = v;
    return LH_OK;
}

/* ------------------------------------------------------------------ run logs, lookups */

bool lh_run_id_valid(const char *run_id)
{
    size_t n = run_id ? strlen(run_id) : 0;
    if (n == 0 || n >= LH_RUN_ID_MAX || run_id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = run_id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* "_runs/{sanitised schedule id}/{run_id}{ext}" */
static enum lh_status run_key(const char *schedule_id, const char *run_id, const char *ext,
                              char *out, size_t cap, struct lh_error *err)
{
    char prefix[LH_STORE_KEY_MAX];
    if (!lh_run_id_valid(run_id))
        return lh_error_set(err, LH_E_INVAL, "not a run id");
    if (runs_prefix(schedule_id, prefix, sizeof prefix, err) != LH_OK)
        return LH_E_INVAL;
    if (snprintf(out, cap, "%s%s%s", prefix, run_id, ext) >= (int)cap)
        return lh_error_set(err, LH_E_INVAL, "run id too long");
    return LH_OK;
}

enum lh_status lh_schedule_store_put_log(struct lh_schedule_store *ss, const char *schedule_id,
                                         const char *run_id, const void *p, size_t n,
                                         struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    if (run_key(schedule_id, run_id, ".log", key, sizeof key, err) != LH_OK)
        return LH_E_INVAL;
    stripe_lock(ss, schedule_id);
    struct lh_store *st = ss->st;
    enum lh_status s = lh_store_put(st, key, p, n, err);
    stripe_unlock(ss, schedule_id);
    return s;
}

enum lh_status lh_schedule_store_get_log(struct lh_schedule_store *ss, const char *schedule_id,
                                         const char *run_id, size_t max, uint8_t **out, size_t *n,
                                         struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX];
    *out = NULL;
    *n = 0;
    if (run_key(schedule_id, run_id, ".log", key, sizeof key, err) != LH_OK)
        return LH_E_INVAL;
    struct lh_store *st = ss->st;
    enum lh_status s = lh_store_get(st, key, max, out, n, NULL, err);
    return s;
}

enum lh_status lh_schedule_store_record_oneshot(struct lh_schedule_store *ss,
                                                const struct lh_run_record *run,
                                                struct lh_error *err)
{
    char key[LH_STORE_KEY_MAX], prefix[LH_STORE_KEY_MAX];
    if (run_key(LH_RUNS_ONESHOT, run->run_id, ".json", key, sizeof key, err) != LH_OK ||
        runs_prefix(LH_RUNS_ONESHOT, prefix, sizeof prefix, err) != LH_OK)
        return LH_E_INVAL;
    struct lh_run_record *c = malloc(sizeof *c);
    if (!c)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    *c = *run;
    snprintf(c->schedule_id, sizeof c->schedule_id, "%s", LH_RUNS_ONESHOT);
    stripe_lock(ss, LH_RUNS_ONESHOT);
    struct lh_store *st = ss->st;
    enum lh_status s = put_record(st, c, key, err);
    if (s == LH_OK)
        trim_runs(ss, st, prefix);
    stripe_unlock(ss, LH_RUNS_ONESHOT);
    free(c);
    return s;
}

/* The run id of a history key "_runs/{sid}/{rid}.json", or NULL. */
static const char *key_run_id(const char *k, size_t *len)
{
    size_t kl = strlen(k);
    if (kl <= 5 || strcmp(k + kl - 5, ".json") != 0)
        return NULL;
    const char *slash = strrchr(k, '/');
    if (!slash || slash < k + strlen(RUNS_PREFIX))
        return NULL;
    *len = (size_t)(k + kl - 5 - (slash + 1));
    return slash + 1;
}

static enum lh_status read_record(struct lh_store *st, const char *key, struct lh_run_record *r,
                                  struct lh_error *err)
{
    uint8_t *b = NULL;
    size_t bl = 0;
    enum lh_status s = lh_store_get(st, key, LH_SCHEDULE_JSON_MAX, &b, &bl, NULL, err);
    if (s == LH_OK)
        s = lh_run_record_from_json((const char *)b, bl, r, err);
    free(b);
    return s;
}

enum lh_status lh_schedule_store_find_run(struct lh_schedule_store *ss, const char *run_id,
                                          struct lh_run_record *out, struct lh_error *err)
{
    if (!lh_run_id_valid(run_id))
        return lh_error_set(err, LH_E_NOTFOUND, "no run '%.60s'", run_id ? run_id : "");
    /* a run kept in memory (not written yet) first */
    bool found = false;
    pthread_mutex_lock(&ss->pmu);
    for (size_t i = 0; i < ss->npend && !found; i++)
        if (!ss->pend[i].rec_written && strcmp(ss->pend[i].rec.run_id, run_id) == 0) {
            *out = ss->pend[i].rec;
            out->unrecorded = true;
            found = true;
        }
    pthread_mutex_unlock(&ss->pmu);
    if (found)
        return LH_OK;
    struct lh_store *st = ss->st;
    struct lh_store_list l;
    enum lh_status s = lh_store_list(st, RUNS_PREFIX, &l, err);
    if (s == LH_OK) {
        s = lh_error_set(err, LH_E_NOTFOUND, "no run '%s'", run_id);
        size_t rl = strlen(run_id);
        for (size_t i = 0; i < l.count; i++) {
            size_t n;
            const char *rid = key_run_id(l.items[i].key, &n);
            if (!rid || n != rl || memcmp(rid, run_id, n) != 0)
                continue;
            s = read_record(st, l.items[i].key, out, err);
            break;
        }
        lh_store_list_reset(&l);
    }
    return s;
}

struct key_ref {
    const char *key;
    const char *rid;
    size_t rlen;
};

static int key_ref_newest_first(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    size_t n = x->rlen < y->rlen ? x->rlen : y->rlen;
    int c = memcmp(y->rid, x->rid, n);
    if (c)
        return c;
    return (y->rlen > x->rlen) - (y->rlen < x->rlen);
}

enum lh_status lh_schedule_store_recent_runs(struct lh_schedule_store *ss, size_t limit,
                                             struct lh_run_record **out, size_t *n,
                                             struct lh_error *err)
{
    *out = NULL;
    *n = 0;
    struct lh_run_record *v = calloc(limit ? limit : 1, sizeof *v);
    if (!v)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    struct lh_store *st = ss->st;
    struct lh_store_list l;
    struct key_ref *refs = NULL;
    enum lh_status s = lh_store_list(st, RUNS_PREFIX, &l, err);
    if (s != LH_OK)
        goto done;
    refs = malloc((l.count ? l.count : 1) * sizeof *refs);
    if (!refs) {
        lh_store_list_reset(&l);
        s = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    size_t nr = 0;
    for (size_t i = 0; i < l.count; i++) {
        size_t rl;
        const char *rid = key_run_id(l.items[i].key, &rl);
        if (rid)
            refs[nr++] = (struct key_ref){l.items[i].key, rid, rl};
    }
    qsort(refs, nr, sizeof *refs, key_ref_newest_first);
    for (size_t i = 0; i < nr && *n < limit; i++) {
        struct lh_error e1;
        /* a record trimmed or damaged meanwhile is skipped here (the
         * schedule's own history lists damaged ones) */
        if (read_record(st, refs[i].key, &v[*n], &e1) == LH_OK)
            (*n)++;
    }
    lh_store_list_reset(&l);
done:
    free(refs);
    if (s != LH_OK) {
        free(v);
        *n = 0;
        return s;
    }
    *out = v;
    return LH_OK;
}
