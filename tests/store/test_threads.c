/*
 * test_threads.c — one store, many threads (store.h "Threads"): NTHREADS
 * threads share a single struct lh_store and at once put, get, stat, read
 * ranges, list, delete, stream uploads, race put_if_absent on common keys
 * and increment one counter object with get + replace_if. Every result is
 * asserted: each thread's own objects read back byte for byte, its lists
 * hold exactly its live keys, each contested key has exactly one creator
 * whose bytes it holds, and the counter ends at NTHREADS * INCS (no update
 * lost, none doubled). Run against the local backend and a real S3 server
 * (s3rver, which tests/store/s3rver.mjs makes keep one key's requests in
 * order and enforce If-Match / If-None-Match as S3 does). Then a store set
 * whose derived buckets are first asked for by every thread at once.
 *
 * Threads report failures into their slot; the main thread asserts (cmocka
 * is not thread-safe).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/store.h"
#include "s3helper.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define ROUNDS 12 /* own objects per thread */
#define RACES 10  /* keys every thread tries to create */
#define INCS 10   /* counter increments per thread */

struct fx {
    bool s3;
    char dir[256];
    struct s3srv srv;
    char endpoint[64];
    struct lh_store *st;
    char prefix[32]; /* a fresh key prefix per backend run */
};

struct worker {
    struct fx *f;
    int id;
    pthread_t th;
    char fail[1400]; /* "" = every check passed */
    unsigned conflicts;
    int won[RACES]; /* 1 when this thread created race key i */
};

static _Atomic int race_wins[RACES];

#define CHECK(w, cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond) && !(w)->fail[0]) {                                                            \
            snprintf((w)->fail, sizeof (w)->fail, __VA_ARGS__);                                    \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

/* Content of thread id's object r: distinct per object, 1..~6 KB long. */
static size_t body_of(int id, int r, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "thread %d object %d:", id, r);
    size_t want = 64 + (size_t)((id * 131 + r * 977) % 6000);
    while (n < want && n + 1 < cap) {
        out[n] = (char)('a' + (id + r + (int)n) % 26);
        n++;
    }
    out[n] = '\0';
    return n;
}

static bool expect_bytes(struct worker *w, const char *key, const char *want, size_t wn)
{
    uint8_t *d = NULL;
    size_t n = 0;
    struct lh_error err;
    enum lh_status s = lh_store_get(w->f->st, key, 0, &d, &n, NULL, &err);
    CHECK(w, s == LH_OK, "get %s: %s", key, err.msg);
    bool same = n == wn && memcmp(d, want, wn) == 0;
    free(d);
    CHECK(w, same, "get %s: %zu bytes, not the %zu written", key, n, wn);
    return true;
}

static bool own_objects(struct worker *w)
{
    struct lh_store *st = w->f->st;
    struct lh_error err;
    char key[128], body[8192];
    bool live[ROUNDS] = {false};
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(key, sizeof key, "%s/t%d/k%02d", w->f->prefix, w->id, r);
        size_t n = body_of(w->id, r, body, sizeof body);
        enum lh_status s = lh_store_put(st, key, body, n, &err);
        CHECK(w, s == LH_OK, "put %s: %s", key, err.msg);
        live[r] = true;
        if (!expect_bytes(w, key, body, n))
            return false;
        uint64_t size = 0;
        s = lh_store_stat(st, key, &size, &err);
        CHECK(w, s == LH_OK && size == n, "stat %s: %s, %" PRIu64 " bytes of %zu", key,
              lh_status_str(s), size, n);
        char mid[32];
        s = lh_store_get_range(st, key, 20, mid, sizeof mid, &err);
        CHECK(w, s == LH_OK && memcmp(mid, body + 20, sizeof mid) == 0, "get_range %s: %s", key,
              s == LH_OK ? "other bytes" : err.msg);
        /* every third object goes again at once */
        if (r % 3 == 2) {
            snprintf(key, sizeof key, "%s/t%d/k%02d", w->f->prefix, w->id, r - 1);
            s = lh_store_delete(st, key, &err);
            CHECK(w, s == LH_OK, "delete %s: %s", key, err.msg);
            live[r - 1] = false;
            uint8_t *d = NULL;
            size_t dn;
            s = lh_store_get(st, key, 0, &d, &dn, NULL, &err);
            free(d);
            CHECK(w, s == LH_E_NOTFOUND, "get of deleted %s: %s", key, lh_status_str(s));
        }
    }
    /* the list of this thread's prefix is exactly its live objects, sizes included */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/t%d/", w->f->prefix, w->id);
    struct lh_store_list l;
    enum lh_status s = lh_store_list(st, prefix, &l, &err);
    CHECK(w, s == LH_OK, "list %s: %s", prefix, err.msg);
    size_t k = 0;
    bool ok = true;
    for (int r = 0; r < ROUNDS && ok; r++) {
        if (!live[r])
            continue;
        snprintf(key, sizeof key, "%s/t%d/k%02d", w->f->prefix, w->id, r);
        ok = k < l.count && strcmp(l.items[k].key, key) == 0 &&
             l.items[k].size == body_of(w->id, r, body, sizeof body);
        k++;
    }
    ok = ok && k == l.count;
    size_t count = l.count;
    lh_store_list_reset(&l);
    CHECK(w, ok, "list %s: %zu entries, not the %zu live objects in order", prefix, count, k);
    /* a streaming upload: visible whole after commit */
    snprintf(key, sizeof key, "%s/t%d/upload", w->f->prefix, w->id);
    struct lh_store_upload *up = NULL;
    s = lh_store_upload_begin(st, key, &up, &err);
    CHECK(w, s == LH_OK, "upload_begin %s: %s", key, err.msg);
    size_t n = body_of(w->id, 99, body, sizeof body);
    for (size_t off = 0; off < n && s == LH_OK; off += 1000)
        s = lh_store_upload_write(up, body + off, n - off < 1000 ? n - off : 1000, &err);
    if (s != LH_OK) {
        lh_store_upload_abort(up);
        CHECK(w, false, "upload_write %s: %s", key, err.msg);
    }
    s = lh_store_upload_commit(up, &err);
    CHECK(w, s == LH_OK, "upload_commit %s: %s", key, err.msg);
    return expect_bytes(w, key, body, n);
}

/* Every thread tries to create each race key; the creator's bytes must stay. */
static bool races(struct worker *w)
{
    struct lh_error err;
    char key[96], me[32];
    snprintf(me, sizeof me, "creator %d", w->id);
    for (int i = 0; i < RACES; i++) {
        snprintf(key, sizeof key, "%s/race/%d", w->f->prefix, i);
        enum lh_status s = lh_store_put_if_absent(w->f->st, key, me, strlen(me), &err);
        CHECK(w, s == LH_OK || s == LH_E_EXISTS, "put_if_absent %s: %s", key, err.msg);
        if (s == LH_OK) {
            w->won[i] = 1;
            atomic_fetch_add(&race_wins[i], 1);
        }
    }
    return true;
}

/* INCS increments of one counter with get + replace_if, retried on conflict. */
static bool counter(struct worker *w)
{
    struct lh_error err;
    char key[96];
    snprintf(key, sizeof key, "%s/counter", w->f->prefix);
    for (int i = 0; i < INCS; i++) {
        for (unsigned attempt = 0;; attempt++) {
            CHECK(w, attempt < 10000, "counter: 10000 conflicts in a row");
            uint8_t *d = NULL;
            size_t n = 0;
            char tok[LH_STORE_TOKEN_MAX], next[32];
            enum lh_status s = lh_store_get(w->f->st, key, 0, &d, &n, tok, &err);
            CHECK(w, s == LH_OK, "get %s: %s", key, err.msg);
            char *end = NULL;
            long v = strtol((const char *)d, &end, 10);
            bool num = end && end != (char *)d && *end == '\0';
            free(d);
            CHECK(w, num && v >= 0, "counter %s holds no number", key);
            int m = snprintf(next, sizeof next, "%ld", v + 1);
            s = lh_store_replace_if(w->f->st, key, next, (size_t)m, tok, NULL, &err);
            if (s == LH_OK)
                break;
            CHECK(w, s == LH_E_CONFLICT, "replace_if %s: %s", key, err.msg);
            w->conflicts++;
        }
    }
    return true;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    /* interleave differently per thread */
    if (w->id % 2) {
        if (counter(w) && races(w))
            own_objects(w);
    } else {
        if (races(w) && own_objects(w))
            counter(w);
    }
    return NULL;
}

static void stress(struct fx *f)
{
    static int run;
    snprintf(f->prefix, sizeof f->prefix, "stress%d", ++run);
    for (int i = 0; i < RACES; i++)
        atomic_store(&race_wins[i], 0);
    char key[96];
    struct lh_error err;
    snprintf(key, sizeof key, "%s/counter", f->prefix);
    if (lh_store_put(f->st, key, "0", 1, &err) != LH_OK)
        fail_msg("put %s: %s", key, err.msg);

    struct worker w[NTHREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].f = f;
        w[i].id = i;
        assert_int_equal(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
    }
    unsigned conflicts = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].th, NULL);
        if (w[i].fail[0])
            fail_msg("thread %d: %s", i, w[i].fail);
        conflicts += w[i].conflicts;
    }
    /* the counter: every increment exactly once */
    uint8_t *d;
    size_t n;
    if (lh_store_get(f->st, key, 0, &d, &n, NULL, &err) != LH_OK)
        fail_msg("get %s: %s", key, err.msg);
    char want[16];
    snprintf(want, sizeof want, "%d", NTHREADS * INCS);
    if (n != strlen(want) || memcmp(d, want, n) != 0)
        fail_msg("counter holds '%.*s', want %s", (int)n, (const char *)d, want);
    free(d);
    /* each race key: one creator, holding its bytes */
    for (int i = 0; i < RACES; i++) {
        assert_int_equal(atomic_load(&race_wins[i]), 1);
        int winner = -1;
        for (int t = 0; t < NTHREADS; t++)
            if (w[t].won[i])
                winner = t;
        char me[32];
        snprintf(me, sizeof me, "creator %d", winner);
        snprintf(key, sizeof key, "%s/race/%d", f->prefix, i);
        if (lh_store_get(f->st, key, 0, &d, &n, NULL, &err) != LH_OK)
            fail_msg("get %s: %s", key, err.msg);
        assert_int_equal(n, strlen(me));
        assert_memory_equal(d, me, n);
        free(d);
    }
    /* and the whole prefix lists what the threads left: ROUNDS - deleted + upload each */
    struct lh_store_list l;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/", f->prefix);
    if (lh_store_list(f->st, prefix, &l, &err) != LH_OK)
        fail_msg("list %s: %s", prefix, err.msg);
    size_t per = ROUNDS - ROUNDS / 3 + 1;
    assert_int_equal(l.count, NTHREADS * per + RACES + 1);
    lh_store_list_reset(&l);
    printf("%s: %d threads, %u compare-and-swap conflicts retried\n", f->s3 ? "s3" : "local",
           NTHREADS, conflicts);
}

static struct fx local_fx, s3_fx;

static void test_local(void **state)
{
    (void)state;
    struct fx *f = &local_fx;
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-store-threads-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct lh_error err;
    if (lh_store_open(f->dir, NULL, &f->st, &err) != LH_OK)
        fail_msg("open: %s", err.msg);
    stress(f);
    stress(f); /* again on the same store, warm */
    lh_store_close(f->st);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_s3(void **state)
{
    (void)state;
    struct fx *f = &s3_fx;
    f->s3 = true;
    if (s3srv_start(&f->srv, "lhthreads") != 0)
        fail_msg("s3rver did not start");
    snprintf(f->endpoint, sizeof f->endpoint, "http://127.0.0.1:%d", f->srv.port);
    struct lh_store_options o = {.endpoint = f->endpoint,
                                 .region = "us-east-1",
                                 .access_key = "S3RVER",
                                 .secret_key = "S3RVER"};
    struct lh_error err;
    if (lh_store_open("s3://lhthreads/p", &o, &f->st, &err) != LH_OK)
        fail_msg("open: %s", err.msg);
    stress(f);
    stress(f);
    lh_store_close(f->st);
    s3srv_stop(&f->srv);
}

/* ------------------------------------------------------------ store set */

struct set_worker {
    struct lh_store_set *set;
    int id;
    pthread_t th;
    struct lh_store *got[6];
    char fail[1400];
};

static void *set_work(void *arg)
{
    struct set_worker *w = arg;
    struct lh_error err;
    for (int b = 0; b < 6; b++) {
        char name[16], key[32];
        snprintf(name, sizeof name, "b%d", (b + w->id) % 6);
        if (lh_store_set_get(w->set, name, &w->got[(b + w->id) % 6], &err) != LH_OK) {
            snprintf(w->fail, sizeof w->fail, "get bucket %s: %s", name, err.msg);
            return NULL;
        }
        snprintf(key, sizeof key, "from-%d", w->id);
        if (lh_store_put(w->got[(b + w->id) % 6], key, name, strlen(name), &err) != LH_OK) {
            snprintf(w->fail, sizeof w->fail, "put %s in %s: %s", key, name, err.msg);
            return NULL;
        }
    }
    return NULL;
}

/* Buckets opened on first use by all threads at once: one store per name. */
static void test_store_set(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/lh-set-threads-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct lh_store_set *set;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK)
        fail_msg("set open: %s", err.msg);
    struct set_worker w[NTHREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].set = set;
        w[i].id = i;
        assert_int_equal(pthread_create(&w[i].th, NULL, set_work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].th, NULL);
        if (w[i].fail[0])
            fail_msg("thread %d: %s", i, w[i].fail);
    }
    for (int b = 0; b < 6; b++) {
        for (int i = 1; i < NTHREADS; i++)
            assert_ptr_equal(w[i].got[b], w[0].got[b]);
        struct lh_store_list l;
        if (lh_store_list(w[0].got[b], "", &l, &err) != LH_OK)
            fail_msg("list: %s", err.msg);
        assert_int_equal(l.count, NTHREADS);
        lh_store_list_reset(&l);
    }
    lh_store_set_close(set);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_s3),
        cmocka_unit_test(test_store_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
