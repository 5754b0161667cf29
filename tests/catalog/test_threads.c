/*
 * test_threads.c — one catalog, many threads (catalog.h "Threads"):
 * NTHREADS threads share a single struct lh_catalog (and its store set)
 * and at once publish versions of one common dataset, publish and tag a
 * dataset each of their own, bind an index, read records and list the
 * datasets. Every version must survive with a distinct number, each
 * thread's dataset must hold exactly what it wrote, and every read must
 * parse. Over the local backend and over S3 (s3rver, with the conditional
 * writes tests/store/s3rver.mjs enforces as S3 does).
 *
 * Threads report failures into their slot; the main thread asserts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "s3helper.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define K 5 /* versions of the common dataset per thread */

static const struct lh_catalog_column cols[] = {
    {.name = "id", .data_type = "Int64"},
    {.name = "email", .data_type = "Utf8", .nullable = true},
};

struct worker {
    struct lh_catalog *cat;
    struct lh_store *st;
    int id;
    pthread_t th;
    char fail[1400];
};

#define CHECK(w, cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond) && !(w)->fail[0]) {                                                            \
            snprintf((w)->fail, sizeof (w)->fail, __VA_ARGS__);                                    \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

static bool publish(struct worker *w, const char *ds, int i, uint64_t rows)
{
    char key[128], run[32];
    struct lh_error err;
    snprintf(key, sizeof key, "datasets/%s/t%d-%d.parquet", ds, w->id, i);
    snprintf(run, sizeof run, "w%d-%d", w->id, i);
    enum lh_status s = lh_store_put(w->st, key, "PAR1", 4, &err);
    CHECK(w, s == LH_OK, "put %s: %s", key, err.msg);
    struct lh_catalog_object o = {.key = key, .size_bytes = 4};
    struct lh_catalog_version_spec spec = {.objects = &o,
                                           .nobjects = 1,
                                           .row_count = rows,
                                           .run_id = run,
                                           .columns = cols,
                                           .ncolumns = 2};
    s = lh_catalog_version_register(w->cat, ds, &spec, NULL, &err);
    CHECK(w, s == LH_OK, "register %s: %s", ds, err.msg);
    return true;
}

static bool run(struct worker *w)
{
    struct lh_error err;
    char own[32];
    snprintf(own, sizeof own, "own%d", w->id);
    for (int i = 0; i < K; i++) {
        if (!publish(w, "common", i, 1))
            return false;
        if (i == 1 && !publish(w, own, 0, (uint64_t)w->id + 10))
            return false;
        struct lh_catalog_record r;
        enum lh_status s = lh_catalog_dataset_get(w->cat, "common", &r, &err);
        CHECK(w, s == LH_OK, "get common: %s", err.msg);
        bool sane = r.current_version >= (uint64_t)i + 1 && r.nversions == r.current_version;
        lh_catalog_record_reset(&r);
        CHECK(w, sane, "record common: current version and version list disagree");
        struct lh_catalog_summary *sum = NULL;
        size_t n = 0;
        s = lh_catalog_list(w->cat, &sum, &n, &err);
        bool listed = false, clean = true;
        for (size_t k = 0; s == LH_OK && k < n; k++) {
            listed = listed || strcmp(sum[k].name, "common") == 0;
            clean = clean && !sum[k].error[0];
        }
        free(sum);
        CHECK(w, s == LH_OK && listed && clean, "list: %s",
              s != LH_OK ? err.msg : !listed ? "common is missing" : "a record did not parse");
    }
    enum lh_status s = lh_catalog_index_bind(w->cat, own, "ix", &err);
    CHECK(w, s == LH_OK, "bind %s: %s", own, err.msg);
    s = lh_catalog_embeddings_stale_set(w->cat, own, false, &err);
    CHECK(w, s == LH_OK, "stale %s: %s", own, err.msg);
    return true;
}

static void *work(void *arg)
{
    run(arg);
    return NULL;
}

static void stress(struct lh_store_set *set)
{
    struct lh_catalog *cat;
    struct lh_error err;
    struct lh_catalog_options co = {.keep_versions = 1000};
    if (lh_catalog_open(set, &co, &cat, &err) != LH_OK)
        fail_msg("open: %s", err.msg);
    struct worker w[NTHREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].cat = cat;
        w[i].st = lh_store_set_primary(set);
        w[i].id = i;
        assert_int_equal(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(w[i].th, NULL);
    for (int i = 0; i < NTHREADS; i++)
        if (w[i].fail[0])
            fail_msg("thread %d: %s", i, w[i].fail);

    struct lh_catalog_record r;
    if (lh_catalog_dataset_get(cat, "common", &r, &err) != LH_OK)
        fail_msg("get: %s", err.msg);
    assert_int_equal(r.nversions, NTHREADS * K);
    assert_int_equal(r.current_version, NTHREADS * K);
    bool seen[NTHREADS][K];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < r.nversions; i++) {
        assert_int_equal(r.versions[i].version, i + 1);
        int t, k;
        assert_int_equal(sscanf(r.versions[i].run_id, "w%d-%d", &t, &k), 2);
        assert_true(t >= 0 && t < NTHREADS && k >= 0 && k < K);
        assert_false(seen[t][k]);
        seen[t][k] = true;
    }
    lh_catalog_record_reset(&r);
    for (int t = 0; t < NTHREADS; t++) {
        char own[32];
        snprintf(own, sizeof own, "own%d", t);
        if (lh_catalog_dataset_get(cat, own, &r, &err) != LH_OK)
            fail_msg("get %s: %s", own, err.msg);
        assert_int_equal(r.current_version, 1);
        assert_int_equal(r.row_count, t + 10);
        assert_int_equal(r.nindexes, 1);
        assert_string_equal(r.indexes[0], "ix");
        assert_false(r.embeddings_stale);
        lh_catalog_record_reset(&r);
    }
    struct lh_catalog_summary *sum;
    size_t n;
    if (lh_catalog_list(cat, &sum, &n, &err) != LH_OK)
        fail_msg("list: %s", err.msg);
    assert_int_equal(n, NTHREADS + 1);
    free(sum);
    lh_catalog_close(cat);
}

static void test_local(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/lh-catalog-threads-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct lh_store_set *set;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK)
        fail_msg("set: %s", err.msg);
    stress(set);
    lh_store_set_close(set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_s3(void **state)
{
    (void)state;
    struct s3srv srv;
    if (s3srv_start(&srv, "lhcatthreads") != 0)
        fail_msg("s3rver did not start");
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv.port);
    struct lh_store_options o = {.endpoint = ep, .access_key = "S3RVER", .secret_key = "S3RVER"};
    struct lh_store_set *set;
    struct lh_error err;
    if (lh_store_set_open("s3://lhcatthreads/lake", NULL, &o, &set, &err) != LH_OK)
        fail_msg("set: %s", err.msg);
    stress(set);
    lh_store_set_close(set);
    s3srv_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_s3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
