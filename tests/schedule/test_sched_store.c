/*
 * test_sched_store.c — the schedule store on a real local-directory store:
 * load with a malformed file, plaintext files re-written sealed, wrong key,
 * create/get/list/update/delete, compare-and-swap against a second writer,
 * reload with listener calls, run history retention and paging, the
 * in-place visitors, and runs recorded from several threads at once (file
 * I/O outside the in-memory lock) while others read and pause; the key
 * layout of `_schedules/`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schedule/schedule.h"
#include "schedule_int.h" /* white box: lh_sched_store_key */
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    struct lh_store *st;
    struct lh_schedule_key key, other;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-sstore-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct lh_store_options o = {.create = true};
    struct lh_error err;
    if (lh_store_open(f->dir, &o, &f->st, &err) != LH_OK)
        return -1;
    if (lh_schedule_key_from_text(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &f->key, &err) ||
        lh_schedule_key_from_text(
            "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &f->other, &err))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lh_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void put(struct fx *f, const char *key, const char *json)
{
    struct lh_error err;
    assert_int_equal(lh_store_put(f->st, key, json, strlen(json), &err), LH_OK);
}

static char *get(struct fx *f, const char *key)
{
    uint8_t *b = NULL;
    size_t n;
    struct lh_error err;
    assert_int_equal(lh_store_get(f->st, key, 0, &b, &n, NULL, &err), LH_OK);
    return (char *)b;
}

#define REF(id, dsn)                                                                               \
    "{\"id\":\"" id "\",\"kind\":{\"type\":\"mysql\",\"dsn\":\"" dsn "\",\"table\":\"customers\"," \
    "\"dataset_name\":null,\"batch_size\":null,\"order_by\":null},\"trigger\":{\"type\":"          \
    "\"interval\",\"secs\":3600},\"enabled\":true,\"created_at\":\"2026-04-16T20:36:04Z\","        \
    "\"created_by\":\"ops\",\"next_run_at\":\"2026-04-16T20:36:04Z\",\"last_run_at\":null,"        \
    "\"last_outcome\":null,\"run_count\":0,\"failure_count\":0}"

static void mk(struct lh_schedule *d, const char *id, int64_t now)
{
    lh_schedule_init(d, id, now);
    d->kind = LH_SCHED_MYSQL;
    snprintf(d->dsn, sizeof d->dsn, "mysql://etl:Pa55word-x@db:3306/shop");
    snprintf(d->table, sizeof d->table, "customers");
}

static void test_load_malformed_and_plaintext(void **state)
{
    struct fx *f = *state;
    put(f, "_schedules/alpha.json", REF("alpha", "mysql://user:pass-alpha@host:3306/shop"));
    put(f, "_schedules/broken.json", "{\"id\": \"broken\", \"kind\": ");
    put(f, "_schedules/wrongtype.json", "{\"id\":\"wrongtype\",\"kind\":{\"type\":\"sqlite\"}}");
    put(f, "_schedules/zeta.json", REF("zeta", "mysql://nopw@host/shop"));
    put(f, "_schedules/notes.txt", "ignored");
    struct lh_schedule_store *ss;
    struct lh_schedule_store_options o = {.key = &f->key};
    struct lh_error err;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &ss, &err), LH_OK);
    struct lh_schedule *v;
    size_t n;
    assert_int_equal(lh_schedule_store_list(ss, &v, &n, &err), LH_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "alpha");
    assert_string_equal(v[1].id, "zeta");
    assert_string_equal(v[0].dsn, "mysql://user:***@host:3306/shop");
    free(v);
    /* both bad files are named */
    const char *p0 = lh_schedule_store_problem(ss, 0), *p1 = lh_schedule_store_problem(ss, 1);
    assert_non_null(p0);
    assert_non_null(p1);
    assert_null(lh_schedule_store_problem(ss, 2));
    assert_non_null(strstr(p0, "_schedules/broken.json"));
    assert_non_null(strstr(p1, "_schedules/wrongtype.json"));
    assert_non_null(strstr(p1, "kind.type"));
    /* the plaintext file was re-written sealed; the other left alone */
    char *raw = get(f, "_schedules/alpha.json");
    assert_null(strstr(raw, "pass-alpha"));
    assert_non_null(strstr(raw, "\"dsn_secret\": \"v1:"));
    free(raw);
    raw = get(f, "_schedules/zeta.json");
    assert_string_equal(raw, REF("zeta", "mysql://nopw@host/shop"));
    free(raw);
    lh_schedule_store_close(ss);

    /* another key: everything still loads, the sealed one names itself */
    o.key = &f->other;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &ss, &err), LH_OK);
    struct lh_schedule d;
    assert_int_equal(lh_schedule_store_get(ss, "alpha", &d, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(ss, "zeta", &d, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(ss, "alpha", &d, &err), LH_OK);
    char full[LH_SCHEDULE_DSN_MAX];
    assert_int_equal(lh_schedule_dsn_reveal(&d, lh_schedule_store_key(ss), full, sizeof full, &err),
                     LH_E_AUTH);
    assert_non_null(strstr(err.msg, "'alpha'"));
    lh_schedule_store_close(ss);
}

struct seen {
    char ids[16][64];
    int n;
};

static void on_change(void *ctx, const char *id)
{
    struct seen *s = ctx;
    if (s->n < 16)
        snprintf(s->ids[s->n++], 64, "%s", id);
}

static void test_crud_and_cas(void **state)
{
    struct fx *f = *state;
    struct lh_schedule_store_options o = {.key = &f->key};
    struct lh_schedule_store *a, *b;
    struct lh_error err;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &a, &err), LH_OK);
    struct seen seen = {0};
    lh_schedule_store_set_listener(a, on_change, &seen);
    struct lh_schedule d, g;
    mk(&d, "orders", 1000000);
    assert_int_equal(lh_schedule_store_create(a, &d, &err), LH_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.ids[0], "orders");
    assert_int_equal(lh_schedule_store_create(a, &d, &err), LH_E_EXISTS);
    assert_non_null(strstr(err.msg, "already exists"));
    mk(&d, "bad id", 0);
    assert_int_equal(lh_schedule_store_create(a, &d, &err), LH_E_INVAL);
    char *raw = get(f, "_schedules/orders.json");
    assert_null(strstr(raw, "Pa55word"));
    free(raw);

    /* a second writer (the CLI) changes the file behind a's back */
    assert_int_equal(lh_schedule_store_open(f->st, &o, &b, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    snprintf(g.description, sizeof g.description, "set by the CLI");
    assert_int_equal(lh_schedule_store_update(b, &g, 2000000, &err), LH_OK);
    /* a records a run on its stale copy: the CLI's change survives */
    struct lh_run_record r = {0};
    lh_run_id_make(3000000, 1, r.run_id);
    snprintf(r.schedule_id, sizeof r.schedule_id, "orders");
    r.started_at_us = 2500000;
    r.finished_at_us = 3000000;
    r.target_us = 1000000;
    r.status = LH_RUN_SUCCESS;
    snprintf(r.message, sizeof r.message, "rows=3 dataset=customers bytes=10");
    r.has_rows = true;
    r.rows = 3;
    assert_int_equal(lh_schedule_store_record_run(a, &r, 1, 3000000, &g, NULL, &err), LH_OK);
    assert_string_equal(g.description, "set by the CLI");
    assert_int_equal(g.run_count, 1);
    assert_int_equal(g.next_run_at_us, 3000000 + 3600 * INT64_C(1000000));
    lh_schedule_store_close(b);
    assert_int_equal(lh_schedule_store_open(f->st, &o, &b, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    assert_string_equal(g.description, "set by the CLI");
    assert_int_equal(g.run_count, 1);
    assert_true(g.last_outcome.present && g.last_outcome.has_rows && g.last_outcome.rows == 3);

    /* update: a new trigger moves next_run_at from the last run */
    g.trigger.interval_secs = 60;
    assert_int_equal(lh_schedule_store_update(b, &g, 3500000, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    assert_int_equal(g.next_run_at_us, 63000000);
    /* an update keeps every user-settable field: the schema policy,
     * replace_source and no_resume too (PUT /api/schedules dropped them) */
    g.schema_policy = LH_SCHED_SCHEMA_REPLACE;
    g.replace_source = true;
    g.no_resume = true;
    g.parallel = 4;
    assert_int_equal(lh_schedule_store_update(b, &g, 3600000, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    assert_int_equal(g.schema_policy, LH_SCHED_SCHEMA_REPLACE);
    assert_true(g.replace_source);
    assert_true(g.no_resume);
    assert_int_equal(g.parallel, 4);
    g.no_resume = false;
    assert_int_equal(lh_schedule_store_update(b, &g, 3600000, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    assert_false(g.no_resume);
    /* ...and never the run state, whatever the caller's copy says (an API
     * body carries none: its state fields are defaults) */
    struct lh_schedule stale = g;
    stale.run_count = 99;
    stale.failure_count = 7;
    stale.has_last_run = false;
    stale.last_outcome.present = false;
    stale.created_at_us = 1;
    snprintf(stale.created_by, sizeof stale.created_by, "someone else");
    assert_int_equal(lh_schedule_store_update(b, &stale, 3600000, &err), LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    assert_int_equal(g.run_count, 1);
    assert_int_equal(g.failure_count, 0);
    assert_true(g.has_last_run);
    assert_true(g.last_outcome.present && g.last_outcome.rows == 3);
    assert_true(g.created_at_us != 1);
    assert_string_not_equal(g.created_by, "someone else");
    /* pause / resume */
    assert_int_equal(lh_schedule_store_set_enabled(b, "orders", false, "db migration", &err),
                     LH_OK);
    assert_int_equal(lh_schedule_store_get(b, "orders", &g, &err), LH_OK);
    assert_false(g.enabled);
    assert_string_equal(g.paused_reason, "db migration");

    /* a reload in a picks up b's changes and a new schedule, and says so */
    mk(&d, "new-one", 0);
    assert_int_equal(lh_schedule_store_create(b, &d, &err), LH_OK);
    seen.n = 0;
    assert_int_equal(lh_schedule_store_reload(a, &err), LH_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.ids[0], "new-one");
    assert_string_equal(seen.ids[1], "orders");
    assert_int_equal(lh_schedule_store_get(a, "orders", &g, &err), LH_OK);
    assert_false(g.enabled);

    bool existed;
    seen.n = 0;
    assert_int_equal(lh_schedule_store_delete(a, "orders", &existed, &err), LH_OK);
    assert_true(existed);
    assert_int_equal(seen.n, 1);
    assert_int_equal(lh_schedule_store_get(a, "orders", &g, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_schedule_store_delete(a, "orders", &existed, &err), LH_OK);
    assert_false(existed);
    assert_int_equal(lh_store_stat(f->st, "_schedules/orders.json", &(uint64_t){0}, &err),
                     LH_E_NOTFOUND);
    lh_schedule_store_close(a);
    lh_schedule_store_close(b);
}

static void test_run_history(void **state)
{
    struct fx *f = *state;
    struct lh_schedule_store_options o = {.key = &f->key, .runs_keep = 5};
    struct lh_schedule_store *ss;
    struct lh_error err;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &ss, &err), LH_OK);
    struct lh_schedule d;
    mk(&d, "hist", 0);
    assert_int_equal(lh_schedule_store_create(ss, &d, &err), LH_OK);
    char ids[8][LH_RUN_ID_MAX];
    for (int i = 0; i < 8; i++) {
        struct lh_run_record r = {0};
        int64_t t = (int64_t)(i + 1) * 10000000;
        lh_run_id_make(t, (uint32_t)i, r.run_id);
        memcpy(ids[i], r.run_id, LH_RUN_ID_MAX);
        snprintf(r.schedule_id, sizeof r.schedule_id, "hist");
        r.started_at_us = t - 1000;
        r.finished_at_us = t;
        r.status = i % 2 ? LH_RUN_FAILED : LH_RUN_SUCCESS;
        /* a message that quotes the DSN never keeps the password */
        snprintf(r.message, sizeof r.message, "run %d", i);
        assert_int_equal(lh_schedule_store_record_run(ss, &r, 7, t, NULL, NULL, &err), LH_OK);
    }
    struct lh_run_record *v;
    size_t n, total;
    assert_int_equal(lh_schedule_store_runs(ss, "hist", NULL, 3, &v, &n, &total, &err), LH_OK);
    assert_int_equal(total, 5);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].run_id, ids[7]);
    assert_string_equal(v[1].run_id, ids[6]);
    assert_string_equal(v[2].run_id, ids[5]);
    assert_int_equal(v[0].status, LH_RUN_FAILED);
    assert_string_equal(v[0].message, "run 7");
    char cursor[LH_RUN_ID_MAX];
    memcpy(cursor, v[2].run_id, LH_RUN_ID_MAX);
    free(v);
    assert_int_equal(lh_schedule_store_runs(ss, "hist", cursor, 3, &v, &n, &total, &err), LH_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].run_id, ids[4]);
    assert_string_equal(v[1].run_id, ids[3]);
    free(v);
    /* the three oldest were trimmed */
    struct lh_store_list l;
    assert_int_equal(lh_store_list(f->st, "_runs/hist/", &l, &err), LH_OK);
    assert_int_equal(l.count, 5);
    lh_store_list_reset(&l);
    assert_int_equal(lh_schedule_store_get(ss, "hist", &d, &err), LH_OK);
    assert_int_equal(d.run_count, 4);
    assert_int_equal(d.failure_count, 4);
    /* no history: empty, not an error */
    assert_int_equal(lh_schedule_store_runs(ss, "nobody", NULL, 3, &v, &n, &total, &err), LH_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    free(v);
    lh_schedule_store_close(ss);
}

/* lh_schedule_store_visit / _each: the stored definitions in place, in id
 * order, the walk stopped by the visitor, NOTFOUND for a missing id. */
struct visits {
    char ids[8][LH_SCHEDULE_ID_MAX + 1];
    char secret[8][64];
    size_t n, stop_after;
};

static bool on_visit(void *ctx, const struct lh_schedule *def)
{
    struct visits *v = ctx;
    if (v->n < 8) {
        snprintf(v->ids[v->n], sizeof v->ids[0], "%s", def->id);
        snprintf(v->secret[v->n], sizeof v->secret[0], "%.3s", def->dsn_secret);
    }
    v->n++;
    return v->n < v->stop_after;
}

/* The count /api/health reports, read in place (issue 13, item 6): right
 * after create, delete, and a reload that sees another writer's create and
 * a file removed behind the store's back. */
static void test_count(void **state)
{
    struct fx *f = *state;
    struct lh_schedule_store_options o = {.key = &f->key};
    struct lh_schedule_store *a, *b;
    struct lh_error err;
    struct lh_schedule d;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &a, &err), LH_OK);
    assert_int_equal(lh_schedule_store_count(a), 0);
    const char *ids[] = {"c1", "c2", "c3"};
    for (size_t i = 0; i < 3; i++) {
        mk(&d, ids[i], 1000000);
        assert_int_equal(lh_schedule_store_create(a, &d, &err), LH_OK);
        assert_int_equal(lh_schedule_store_count(a), i + 1);
    }
    mk(&d, "c2", 1000000);
    assert_int_equal(lh_schedule_store_create(a, &d, &err), LH_E_EXISTS);
    assert_int_equal(lh_schedule_store_count(a), 3);
    assert_int_equal(lh_schedule_store_delete(a, "c1", NULL, &err), LH_OK);
    assert_int_equal(lh_schedule_store_count(a), 2);
    assert_int_equal(lh_schedule_store_delete(a, "c1", NULL, &err), LH_OK);
    assert_int_equal(lh_schedule_store_count(a), 2);
    /* another writer adds two and one file vanishes: a sees it on reload */
    assert_int_equal(lh_schedule_store_open(f->st, &o, &b, &err), LH_OK);
    assert_int_equal(lh_schedule_store_count(b), 2);
    mk(&d, "c4", 1000000);
    assert_int_equal(lh_schedule_store_create(b, &d, &err), LH_OK);
    mk(&d, "c5", 1000000);
    assert_int_equal(lh_schedule_store_create(b, &d, &err), LH_OK);
    assert_int_equal(lh_store_delete(f->st, "_schedules/c3.json", &err), LH_OK);
    assert_int_equal(lh_schedule_store_count(a), 2);
    assert_int_equal(lh_schedule_store_reload(a, &err), LH_OK);
    assert_int_equal(lh_schedule_store_count(a), 3);
    struct lh_schedule *v;
    size_t n;
    assert_int_equal(lh_schedule_store_list(a, &v, &n, &err), LH_OK);
    assert_int_equal(n, lh_schedule_store_count(a));
    free(v);
    lh_schedule_store_close(b);
    lh_schedule_store_close(a);
}

static void test_visit_each(void **state)
{
    struct fx *f = *state;
    struct lh_schedule_store_options o = {.key = &f->key};
    struct lh_schedule_store *ss;
    struct lh_error err;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &ss, &err), LH_OK);
    struct visits v = {.stop_after = 100};
    lh_schedule_store_each(ss, on_visit, &v);
    assert_int_equal(v.n, 0);
    struct lh_schedule d;
    const char *ids[] = {"m", "b", "z", "a"};
    for (size_t i = 0; i < 4; i++) {
        mk(&d, ids[i], 1000000);
        assert_int_equal(lh_schedule_store_create(ss, &d, &err), LH_OK);
    }
    lh_schedule_store_each(ss, on_visit, &v);
    assert_int_equal(v.n, 4);
    const char *want[] = {"a", "b", "m", "z"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(v.ids[i], want[i]);
        assert_string_equal(v.secret[i], "v1:"); /* the stored (sealed) definition */
    }
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    lh_schedule_store_each(ss, on_visit, &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.ids[1], "b");

    memset(&v, 0, sizeof v);
    v.stop_after = 100;
    assert_int_equal(lh_schedule_store_visit(ss, "m", on_visit, &v, &err), LH_OK);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.ids[0], "m");
    assert_int_equal(lh_schedule_store_visit(ss, "nope", on_visit, &v, &err), LH_E_NOTFOUND);
    assert_int_equal(v.n, 1);
    assert_non_null(strstr(err.msg, "nope"));
    bool existed;
    assert_int_equal(lh_schedule_store_delete(ss, "m", &existed, &err), LH_OK);
    assert_int_equal(lh_schedule_store_visit(ss, "m", on_visit, &v, &err), LH_E_NOTFOUND);
    lh_schedule_store_close(ss);
}

/* Several writers record runs of their own schedules at the same time
 * (the store writes and fsyncs outside its in-memory lock, on per-thread
 * handles), a reader keeps reading, and a pauser toggles one schedule that a
 * writer is recording: every run is counted once, in memory and on disk,
 * and each history is trimmed to runs_keep. */
#define PAR_WRITERS 4
#define PAR_PER 2  /* schedules per writer */
#define PAR_RUNS 9 /* runs per schedule */

struct par {
    struct lh_schedule_store *ss;
    int w;
    atomic_int *stop;
    atomic_int *fails;
};

static void *par_writer(void *arg)
{
    struct par *p = arg;
    struct lh_error err;
    for (int i = 0; i < PAR_RUNS; i++)
        for (int k = 0; k < PAR_PER; k++) {
            struct lh_run_record r = {0};
            int64_t t = (int64_t)(i + 1) * 10000000;
            lh_run_id_make(t, (uint32_t)(p->w * 100 + k * 10 + i), r.run_id);
            snprintf(r.schedule_id, sizeof r.schedule_id, "par-%d-%d", p->w, k);
            r.started_at_us = t - 1000;
            r.finished_at_us = t;
            r.status = LH_RUN_SUCCESS;
            snprintf(r.message, sizeof r.message, "run %d", i);
            if (lh_schedule_store_record_run(p->ss, &r, 7, t, NULL, NULL, &err) != LH_OK)
                atomic_fetch_add(p->fails, 1);
        }
    return NULL;
}

static void *par_reader(void *arg)
{
    struct par *p = arg;
    struct lh_error err;
    struct lh_schedule d;
    for (unsigned n = 0; !atomic_load(p->stop); n++) {
        char id[32];
        snprintf(id, sizeof id, "par-%u-%u", n % PAR_WRITERS, (n / PAR_WRITERS) % PAR_PER);
        if (lh_schedule_store_get(p->ss, id, &d, &err) != LH_OK || strcmp(d.id, id) != 0)
            atomic_fetch_add(p->fails, 1);
        if (n % 16 == 0) {
            /* the pauser's target: enabled flips while its runs are recorded */
            bool on = (n / 16) % 2;
            if (lh_schedule_store_set_enabled(p->ss, "par-0-0", on, "test", &err) != LH_OK)
                atomic_fetch_add(p->fails, 1);
        }
    }
    return NULL;
}

static void test_parallel_record(void **state)
{
    struct fx *f = *state;
    struct lh_schedule_store_options o = {.key = &f->key, .runs_keep = 5};
    struct lh_schedule_store *ss;
    struct lh_error err;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &ss, &err), LH_OK);
    for (int w = 0; w < PAR_WRITERS; w++)
        for (int k = 0; k < PAR_PER; k++) {
            struct lh_schedule d;
            char id[32];
            snprintf(id, sizeof id, "par-%d-%d", w, k);
            mk(&d, id, 0);
            assert_int_equal(lh_schedule_store_create(ss, &d, &err), LH_OK);
        }
    atomic_int stop = 0, fails = 0;
    struct par p[PAR_WRITERS + 1];
    pthread_t th[PAR_WRITERS + 1];
    for (int i = 0; i <= PAR_WRITERS; i++) {
        p[i] = (struct par){ss, i, &stop, &fails};
        assert_int_equal(pthread_create(&th[i], NULL, i < PAR_WRITERS ? par_writer : par_reader,
                                        &p[i]),
                         0);
    }
    for (int i = 0; i < PAR_WRITERS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(th[PAR_WRITERS], NULL);
    assert_int_equal(atomic_load(&fails), 0);
    /* a second store reads the files: memory and disk agree */
    struct lh_schedule_store *again;
    assert_int_equal(lh_schedule_store_open(f->st, &o, &again, &err), LH_OK);
    for (int w = 0; w < PAR_WRITERS; w++)
        for (int k = 0; k < PAR_PER; k++) {
            char id[32], prefix[48];
            snprintf(id, sizeof id, "par-%d-%d", w, k);
            struct lh_schedule a, b;
            assert_int_equal(lh_schedule_store_get(ss, id, &a, &err), LH_OK);
            assert_int_equal(lh_schedule_store_get(again, id, &b, &err), LH_OK);
            assert_int_equal(a.run_count, PAR_RUNS);
            assert_int_equal(b.run_count, PAR_RUNS);
            assert_int_equal(a.enabled, b.enabled);
            snprintf(prefix, sizeof prefix, "_runs/%s/", id);
            struct lh_store_list l;
            assert_int_equal(lh_store_list(f->st, prefix, &l, &err), LH_OK);
            assert_int_equal(l.count, 5);
            lh_store_list_reset(&l);
        }
    lh_schedule_store_close(again);
    lh_schedule_store_close(ss);
}

/* The key layout (the reference's): ids sanitised into one key segment. */
static void test_key_layout(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        const char *key;
    } sk[] = {
        {"customers-hourly", "_schedules/customers-hourly.json"},
        {"a/b", "_schedules/a_b.json"},
        {"../../etc/passwd", "_schedules/______etc_passwd.json"},
        {"sp ace.\xc3\xa9", "_schedules/sp_ace___.json"},
        {"UPPER_ok-9", "_schedules/UPPER_ok-9.json"},
        {"", NULL},
    };
    char out[300];
    struct lh_error err;
    for (size_t i = 0; i < sizeof sk / sizeof sk[0]; i++) {
        size_t n = lh_sched_store_key(sk[i].id, out, sizeof out);
        if (!sk[i].key) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_string_equal(out, sk[i].key);
        assert_int_equal(n, strlen(sk[i].key));
        assert_int_equal(lh_store_key_check(out, &err), LH_OK);
    }
    assert_int_equal(lh_sched_store_key("abc", out, 10), 0);
    char longid[202];
    memset(longid, 'x', 201);
    longid[201] = '\0';
    assert_int_equal(lh_sched_store_key(longid, out, sizeof out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_malformed_and_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crud_and_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_record, setup, teardown),
        cmocka_unit_test(test_key_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
