/*
 * test_catalog.c — dataset records over a real store: versions and their
 * parts, retention, metadata and PII tags, lineage redaction, index
 * bindings and events, corrupt records, a disk that fills up during an
 * update, and several processes publishing versions of one dataset at once.
 * The last group runs the basics over S3 (s3rver on loopback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "s3helper.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct fx {
    char dir[256];
    struct s3srv srv;
    struct lh_store_set *set;
    struct lh_store *st;
    struct lh_catalog *cat;
};

#define OK(expr)                                                                                   \
    do {                                                                                           \
        struct lh_error e_;                                                                        \
        lh_error_clear(&e_);                                                                       \
        enum lh_status s_ = (expr);                                                                \
        if (s_ != LH_OK)                                                                           \
            fail_msg("%s: %s", #expr, e_.msg);                                                     \
    } while (0)

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-catalog-test-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    struct lh_error err;
    struct lh_catalog_options co = {.keep_versions = 3};
    if (lh_store_set_open(f->dir, NULL, NULL, &f->set, &err) != LH_OK ||
        lh_catalog_open(f->set, &co, &f->cat, &err) != LH_OK)
        return -1;
    f->st = lh_store_set_primary(f->set);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lh_catalog_close(f->cat);
    lh_store_set_close(f->set);
    if (f->srv.pid)
        s3srv_stop(&f->srv);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static const struct lh_catalog_column cols_v1[] = {
    {.name = "id", .data_type = "Int64"},
    {.name = "email", .data_type = "Utf8", .nullable = true},
    {.name = "city", .data_type = "Utf8", .nullable = true},
};
static const struct lh_catalog_column cols_v2[] = {
    {.name = "id", .data_type = "Int64"},
    {.name = "email", .data_type = "Utf8", .nullable = true},
    {.name = "city", .data_type = "Utf8", .nullable = true},
    {.name = "card_number", .data_type = "Utf8", .nullable = true},
};

/* Writes a part and registers it as a new version. */
static uint64_t publish(struct fx *f, const char *ds, int part,
                        const struct lh_catalog_column *cols, size_t ncols, uint64_t rows,
                        const char *shared_key)
{
    char key[128], run[64];
    snprintf(key, sizeof key, "datasets/%s/p%d/part-00000.parquet", ds, part);
    snprintf(run, sizeof run, "run-%d", part);
    char body[64];
    int bl = snprintf(body, sizeof body, "PAR1 part %d", part);
    OK(lh_store_put(f->st, key, body, (size_t)bl, &e_));
    struct lh_catalog_object objs[2] = {{.key = key, .size_bytes = (uint64_t)bl},
                                        {.bucket = "primary", .key = shared_key, .size_bytes = 6}};
    struct lh_catalog_version_spec spec = {.objects = objs,
                                           .nobjects = shared_key ? 2 : 1,
                                           .row_count = rows,
                                           .run_id = run,
                                           .columns = cols,
                                           .ncolumns = ncols};
    uint64_t v = 0;
    OK(lh_catalog_version_register(f->cat, ds, &spec, &v, &e_));
    return v;
}

static bool exists(struct fx *f, const char *key)
{
    uint64_t sz;
    struct lh_error err;
    return lh_store_stat(f->st, key, &sz, &err) == LH_OK;
}

static void test_register_and_read(void **state)
{
    struct fx *f = *state;
    assert_int_equal(publish(f, "customers", 1, cols_v1, 3, 10, NULL), 1);
    assert_int_equal(publish(f, "customers", 2, cols_v1, 3, 11, NULL), 2);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_string_equal(r.name, "customers");
    assert_int_equal(r.current_version, 2);
    assert_int_equal(r.row_count, 11);
    assert_int_equal(r.nversions, 2);
    assert_int_equal(r.versions[0].version, 1);
    assert_int_equal(r.versions[1].row_count, 11);
    assert_string_equal(r.versions[1].run_id, "run-2");
    assert_string_equal(r.versions[1].objects[0].key, "datasets/customers/p2/part-00000.parquet");
    assert_string_equal(r.versions[1].objects[0].bucket, "primary");
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
    assert_non_null(cv);
    assert_int_equal(cv->version, 2);
    char fp[65];
    lh_catalog_schema_fingerprint(cols_v1, 3, fp);
    assert_string_equal(r.schema_fingerprint, fp);
    assert_true(r.embeddings_stale);
    /* columns tagged from their names, dataset level is the highest */
    assert_int_equal(r.ncolumns, 3);
    assert_string_equal(r.columns[1].name, "email");
    assert_string_equal(r.columns[1].sensitivity, "pii");
    assert_true(r.columns[1].is_pii);
    assert_null(r.columns[2].sensitivity);
    assert_false(r.columns[2].is_pii);
    assert_string_equal(r.sensitivity, "pii");
    /* the §4 field names, exactly */
    static const char *fields[] = {"\"name\"",
                                   "\"schema_fingerprint\"",
                                   "\"current_version\"",
                                   "\"versions\"",
                                   "\"row_count\"",
                                   "\"sensitivity\"",
                                   "\"columns\"",
                                   "\"lineage\"",
                                   "\"embeddings_stale\"",
                                   "\"objects\"",
                                   "\"bucket\"",
                                   "\"key\"",
                                   "\"size_bytes\"",
                                   "\"created_at\"",
                                   "\"run_id\"",
                                   "\"data_type\"",
                                   "\"description\"",
                                   "\"is_pii\""};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_non_null(strstr(r.json, fields[i]));
    lh_catalog_record_reset(&r);

    struct lh_error err;
    assert_int_equal(lh_catalog_dataset_get(f->cat, "nope", &r, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_catalog_dataset_get(f->cat, "../etc", &r, &err), LH_E_INVAL);
}

/* A version's source round-trips; versions without one (older records)
 * read as has_source false; a damaged source field is named. */
static void test_version_source(void **state)
{
    struct fx *f = *state;
    assert_int_equal(publish(f, "src", 1, cols_v1, 3, 10, NULL), 1); /* no source */
    OK(lh_store_put(f->st, "datasets/src/p2/part-00000.parquet", "PAR1 2", 6, &e_));
    struct lh_catalog_object obj = {.key = "datasets/src/p2/part-00000.parquet", .size_bytes = 6};
    struct lh_catalog_source src = {.system = "postgres",
                                    .host = "db1",
                                    .port = 5433,
                                    .database = "shop",
                                    .table = "public.orders",
                                    .columns = "id,amount",
                                    .where = "amount > 0",
                                    .mode = "incremental",
                                    .cursor_column = "id",
                                    .made_by = "orders-nightly"};
    struct lh_catalog_version_spec spec = {.objects = &obj,
                                           .nobjects = 1,
                                           .row_count = 3,
                                           .run_id = "run-2",
                                           .columns = cols_v1,
                                           .ncolumns = 3,
                                           .watermark = "42",
                                           .source = &src,
                                           .schema_change = "added x Int64"};
    uint64_t v = 0;
    OK(lh_catalog_version_register(f->cat, "src", &spec, &v, &e_));
    assert_int_equal(v, 2);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "src", &r, &e_));
    assert_false(r.versions[0].has_source);
    assert_null(r.versions[0].schema_change);
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
    assert_true(cv->has_source);
    assert_string_equal(cv->source.system, "postgres");
    assert_string_equal(cv->source.host, "db1");
    assert_int_equal(cv->source.port, 5433);
    assert_string_equal(cv->source.database, "shop");
    assert_string_equal(cv->source.table, "public.orders");
    assert_null(cv->source.query);
    assert_string_equal(cv->source.columns, "id,amount");
    assert_string_equal(cv->source.where, "amount > 0");
    assert_string_equal(cv->source.mode, "incremental");
    assert_string_equal(cv->source.cursor_column, "id");
    assert_string_equal(cv->source.made_by, "orders-nightly");
    assert_string_equal(cv->watermark, "42");
    assert_string_equal(cv->schema_change, "added x Int64");
    assert_non_null(strstr(r.json, "\"source\""));
    /* a source without a schema policy (a version written before policies
     * were recorded) reads as none, and writes neither field */
    assert_null(cv->source.schema_policy);
    assert_false(cv->source.replace_source);
    assert_false(cv->source.source_replaced);
    assert_null(strstr(r.json, "schema_policy"));
    assert_null(strstr(r.json, "replace_source"));
    lh_catalog_record_reset(&r);

    /* the policy a version ran under, --replace-source and whether the run
     * replaced the source, per version */
    static const struct {
        const char *key, *run, *policy;
        bool replace_source, source_replaced;
    } runs[] = {{"datasets/src/p3/part-00000.parquet", "run-3", "replace", true, true},
                {"datasets/src/p4/part-00000.parquet", "run-4", "fail", false, false}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        OK(lh_store_put(f->st, runs[i].key, "PAR1 x", 6, &e_));
        obj.key = runs[i].key;
        src.schema_policy = runs[i].policy;
        src.replace_source = runs[i].replace_source;
        src.source_replaced = runs[i].source_replaced;
        spec.run_id = runs[i].run;
        OK(lh_catalog_version_register(f->cat, "src", &spec, &v, &e_));
    }
    assert_int_equal(v, 4);
    OK(lh_catalog_dataset_get(f->cat, "src", &r, &e_));
    assert_int_equal(r.nversions, 3); /* keep_versions = 3: v2, v3, v4 */
    assert_null(r.versions[0].source.schema_policy);
    assert_string_equal(r.versions[1].source.schema_policy, "replace");
    assert_true(r.versions[1].source.replace_source);
    assert_true(r.versions[1].source.source_replaced);
    assert_string_equal(r.versions[2].source.schema_policy, "fail");
    assert_false(r.versions[2].source.replace_source);
    assert_false(r.versions[2].source.source_replaced);
    assert_non_null(strstr(r.json, "\"replace_source\": false"));
    assert_non_null(strstr(r.json, "\"source_replaced\": true"));
    lh_catalog_record_reset(&r);

    /* a record written before sources existed (no "source" anywhere) */
    static const char old[] =
        "{\"name\": \"old\", \"schema_fingerprint\": \"ab\", \"current_version\": 1, "
        "\"versions\": [{\"version\": 1, \"created_at\": \"2026-01-01T00:00:00Z\", "
        "\"row_count\": 1, \"run_id\": \"r\", \"schema_fingerprint\": \"ab\", \"objects\": []}], "
        "\"row_count\": 1, \"sensitivity\": null, \"columns\": [], \"lineage\": "
        "{\"source_system\": \"mysql\", \"source_file\": \"\", \"ingest_job\": \"r\", "
        "\"ingest_timestamp\": \"2026-01-01T00:00:00Z\", \"parent_datasets\": []}, "
        "\"embeddings_stale\": false}";
    OK(lh_store_put(f->st, "_catalog/old.json", old, sizeof old - 1, &e_));
    OK(lh_catalog_dataset_get(f->cat, "old", &r, &e_));
    assert_false(lh_catalog_record_current(&r)->has_source);
    assert_string_equal(r.source_system, "mysql");
    lh_catalog_record_reset(&r);

    /* a source field of the wrong type is a damaged record, named */
    static const char bad[] =
        "{\"name\": \"bad\", \"schema_fingerprint\": \"ab\", \"current_version\": 1, "
        "\"versions\": [{\"version\": 1, \"created_at\": \"2026-01-01T00:00:00Z\", "
        "\"row_count\": 1, \"run_id\": \"r\", \"schema_fingerprint\": \"ab\", \"objects\": [], "
        "\"source\": {\"table\": 7}}], \"row_count\": 1, \"columns\": [], "
        "\"embeddings_stale\": false}";
    OK(lh_store_put(f->st, "_catalog/bad.json", bad, sizeof bad - 1, &e_));
    struct lh_error err;
    assert_int_equal(lh_catalog_dataset_get(f->cat, "bad", &r, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "'table' is not a string"));
}

static void test_register_needs_parts(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    struct lh_catalog_object o = {.key = "datasets/ghost/v1/part-00000.parquet", .size_bytes = 1};
    struct lh_catalog_version_spec spec = {.objects = &o, .nobjects = 1, .row_count = 1};
    assert_int_equal(lh_catalog_version_register(f->cat, "ghost", &spec, NULL, &err),
                     LH_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "not in place"));
    struct lh_catalog_record r;
    assert_int_equal(lh_catalog_dataset_get(f->cat, "ghost", &r, &err), LH_E_NOTFOUND);
}

static void test_retention(void **state)
{
    struct fx *f = *state; /* keep_versions = 3 */
    OK(lh_store_put(f->st, "datasets/ret/shared.bin", "shared", 6, &e_));
    for (int i = 1; i <= 5; i++)
        assert_int_equal(publish(f, "ret", i, cols_v1, 3, (uint64_t)i, "datasets/ret/shared.bin"),
                         (uint64_t)i);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "ret", &r, &e_));
    assert_int_equal(r.nversions, 3);
    assert_int_equal(r.versions[0].version, 3);
    assert_int_equal(r.versions[2].version, 5);
    assert_int_equal(r.current_version, 5);
    lh_catalog_record_reset(&r);
    assert_false(exists(f, "datasets/ret/p1/part-00000.parquet"));
    assert_false(exists(f, "datasets/ret/p2/part-00000.parquet"));
    assert_true(exists(f, "datasets/ret/p3/part-00000.parquet"));
    assert_true(exists(f, "datasets/ret/p5/part-00000.parquet"));
    assert_true(exists(f, "datasets/ret/shared.bin")); /* still referenced */
}

static void test_metadata_lineage(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    publish(f, "orders", 1, cols_v1, 3, 5, NULL);
    const struct lh_catalog_column cols[] = {
        {.name = "order_id", .data_type = "Int64"},
        {.name = "salary", .data_type = "Decimal128(10, 2)"},
        {.name = "notes", .data_type = "Utf8", .description = "free text"},
        {.name = "billing", .data_type = "Utf8", .sensitivity = "sensitive"},
    };
    const char *parents[] = {"raw_orders"};
    struct lh_catalog_lineage lin = {.source_system = "postgres",
                                     .source_file = "dsn: postgres://app:s3cr3t@db:5432/shop",
                                     .ingest_job = "scheduled-postgres-1",
                                     .parent_datasets = parents,
                                     .nparents = 1};
    struct lh_catalog_metadata_update u = {
        .columns = cols, .ncolumns = 4, .lineage = &lin, .set_row_count = true, .row_count = 42};
    OK(lh_catalog_metadata_update(f->cat, "orders", &u, &e_));
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "orders", &r, &e_));
    assert_int_equal(r.row_count, 42);
    assert_string_equal(r.sensitivity, "financial");
    assert_string_equal(r.columns[1].sensitivity, "financial");
    assert_false(r.columns[1].is_pii);
    assert_string_equal(r.columns[2].sensitivity, "internal");
    assert_string_equal(r.columns[2].description, "free text");
    assert_string_equal(r.columns[3].sensitivity, "sensitive");
    assert_true(r.has_lineage);
    assert_string_equal(r.source_system, "postgres");
    assert_string_equal(r.source_file, "dsn: postgres://app:***@db:5432/shop");
    assert_null(strstr(r.json, "s3cr3t"));
    assert_int_equal(r.nparents, 1);
    assert_string_equal(r.parent_datasets[0], "raw_orders");
    assert_true(r.ingest_timestamp && strlen(r.ingest_timestamp) >= 20);
    lh_catalog_record_reset(&r);

    /* explicit dataset sensitivity, stale flag */
    struct lh_catalog_metadata_update u2 = {.sensitivity = "internal"};
    OK(lh_catalog_metadata_update(f->cat, "orders", &u2, &e_));
    OK(lh_catalog_embeddings_stale_set(f->cat, "orders", false, &e_));
    OK(lh_catalog_dataset_get(f->cat, "orders", &r, &e_));
    assert_string_equal(r.sensitivity, "internal");
    assert_false(r.embeddings_stale);
    assert_int_equal(r.current_version, 1); /* metadata never makes a version */
    lh_catalog_record_reset(&r);
    struct lh_catalog_metadata_update u3 = {.sensitivity = "top-secret"};
    assert_int_equal(lh_catalog_metadata_update(f->cat, "orders", &u3, &err), LH_E_INVAL);
    assert_int_equal(lh_catalog_metadata_update(f->cat, "absent", &u2, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_catalog_embeddings_stale_set(f->cat, "absent", true, &err), LH_E_NOTFOUND);
}

static void test_events(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    publish(f, "ev", 1, cols_v1, 3, 1, NULL);
    OK(lh_catalog_index_bind(f->cat, "ev", "vec_a", &e_));
    OK(lh_catalog_index_bind(f->cat, "ev", "vec_b", &e_));
    OK(lh_catalog_index_bind(f->cat, "ev", "vec_b", &e_)); /* no-op */
    assert_int_equal(lh_catalog_index_bind(f->cat, "ev", "bad/name", &err), LH_E_INVAL);
    assert_int_equal(lh_catalog_index_bind(f->cat, "absent", "vec_a", &err), LH_E_NOTFOUND);
    struct lh_catalog_event *ev;
    size_t n;
    OK(lh_catalog_events_list(f->cat, "ev", &ev, &n, &e_));
    assert_int_equal(n, 0); /* v1 had no bindings and no previous schema */
    free(ev);

    publish(f, "ev", 2, cols_v1, 3, 2, NULL); /* same schema */
    OK(lh_catalog_events_list(f->cat, "ev", &ev, &n, &e_));
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ev[i].type, "dataset_appended");
        assert_string_equal(ev[i].dataset, "ev");
        assert_int_equal(ev[i].version, 2);
    }
    assert_string_equal(ev[0].index_name, "vec_a");
    assert_string_equal(ev[1].index_name, "vec_b");
    OK(lh_catalog_event_ack(f->cat, ev[0].id, &e_));
    OK(lh_catalog_event_ack(f->cat, ev[0].id, &e_)); /* twice is fine */
    free(ev);
    OK(lh_catalog_index_unbind(f->cat, "ev", "vec_b", &e_));

    publish(f, "ev", 3, cols_v2, 4, 3, NULL); /* schema changed */
    OK(lh_catalog_events_list(f->cat, NULL, &ev, &n, &e_));
    /* pending: v2 vec_b, v3 vec_a, v3 schema_changed */
    assert_int_equal(n, 3);
    char fp1[65], fp2[65];
    lh_catalog_schema_fingerprint(cols_v1, 3, fp1);
    lh_catalog_schema_fingerprint(cols_v2, 4, fp2);
    int appended_v3 = 0, schema = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].version == 3 && strcmp(ev[i].type, "dataset_appended") == 0) {
            appended_v3++;
            assert_string_equal(ev[i].index_name, "vec_a");
        }
        if (strcmp(ev[i].type, "schema_changed") == 0) {
            schema++;
            assert_int_equal(ev[i].version, 3);
            assert_string_equal(ev[i].previous_fingerprint, fp1);
            assert_string_equal(ev[i].schema_fingerprint, fp2);
        }
    }
    assert_int_equal(appended_v3, 1);
    assert_int_equal(schema, 1);
    for (size_t i = 0; i < n; i++)
        OK(lh_catalog_event_ack(f->cat, ev[i].id, &e_));
    free(ev);
    OK(lh_catalog_events_list(f->cat, NULL, &ev, &n, &e_));
    assert_int_equal(n, 0);
    free(ev);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "ev", &r, &e_));
    assert_int_equal(r.nindexes, 1);
    assert_string_equal(r.indexes[0], "vec_a");
    assert_string_equal(r.sensitivity, "pii");
    lh_catalog_record_reset(&r);
    assert_int_equal(lh_catalog_event_ack(f->cat, "../../x", &err), LH_E_INVAL);
}

static void test_corrupt_records(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    publish(f, "good", 1, cols_v1, 3, 7, NULL);
    OK(lh_store_put(f->st, "_catalog/broken.json", "{\"name\": \"broken\", \"versions\": [", 33,
                    &e_));
    const char *wrong = "{\"name\": \"wrongtype\", \"current_version\": \"three\","
                        " \"versions\": [], \"row_count\": 0, \"schema_fingerprint\": \"\","
                        " \"columns\": []}";
    OK(lh_store_put(f->st, "_catalog/wrongtype.json", wrong, strlen(wrong), &e_));
    struct lh_catalog_record r;
    assert_int_equal(lh_catalog_dataset_get(f->cat, "broken", &r, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "_catalog/broken.json"));
    assert_int_equal(lh_catalog_dataset_get(f->cat, "wrongtype", &r, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "_catalog/wrongtype.json"));
    assert_non_null(strstr(err.msg, "current_version"));
    /* the rest keeps working */
    struct lh_catalog_summary *s;
    size_t n;
    OK(lh_catalog_list(f->cat, &s, &n, &e_));
    assert_int_equal(n, 3);
    assert_string_equal(s[0].name, "broken");
    assert_non_null(strstr(s[0].error, "_catalog/broken.json"));
    assert_string_equal(s[1].name, "good");
    assert_string_equal(s[1].error, "");
    assert_int_equal(s[1].row_count, 7);
    assert_int_equal(s[1].current_version, 1);
    assert_string_equal(s[1].sensitivity, "pii");
    assert_true(s[1].size_bytes > 0);
    assert_string_equal(s[2].name, "wrongtype");
    assert_true(strlen(s[2].error) > 0);
    free(s);
    /* an update does not overwrite a corrupt record */
    struct lh_catalog_metadata_update u = {.set_row_count = true, .row_count = 1};
    assert_int_equal(lh_catalog_metadata_update(f->cat, "broken", &u, &err), LH_E_FORMAT);
    uint8_t *d;
    size_t len;
    OK(lh_store_get(f->st, "_catalog/broken.json", 0, &d, &len, NULL, &e_));
    assert_int_equal(len, 33);
    free(d);
    publish(f, "good", 2, cols_v1, 3, 8, NULL);
}

static void test_disk_full_keeps_record(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    publish(f, "full", 1, cols_v1, 3, 1, NULL);
    uint8_t *before, *after;
    size_t bl, al;
    OK(lh_store_get(f->st, "_catalog/full.json", 0, &before, &bl, NULL, &e_));
    OK(lh_store_put(f->st, "datasets/full/p2.parquet", "PAR1", 4, &e_));
    struct lh_catalog_object o = {.key = "datasets/full/p2.parquet", .size_bytes = 4};
    struct lh_catalog_version_spec spec = {
        .objects = &o, .nobjects = 1, .row_count = 2, .columns = cols_v1, .ncolumns = 3};
    lh_fault_set_enospc_after(64);
    enum lh_status s = lh_catalog_version_register(f->cat, "full", &spec, NULL, &err);
    lh_fault_set_enospc_after(0);
    assert_int_equal(s, LH_E_NOSPC);
    OK(lh_store_get(f->st, "_catalog/full.json", 0, &after, &al, NULL, &e_));
    assert_int_equal(al, bl);
    assert_memory_equal(before, after, bl);
    free(before);
    free(after);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "full", &r, &e_));
    assert_int_equal(r.current_version, 1);
    lh_catalog_record_reset(&r);
    /* and once there is room again the same registration goes through */
    OK(lh_catalog_version_register(f->cat, "full", &spec, NULL, &e_));
}

/* NPROC processes each publish K versions of one dataset at the same time.
 * Every version must survive with a distinct number. */
static void test_concurrent_writers(void **state)
{
    struct fx *f = *state;
    enum { NPROC = 4, K = 8 };
    pid_t pids[NPROC];
    for (int p = 0; p < NPROC; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct lh_store_set *set;
            struct lh_catalog *cat;
            struct lh_error err;
            struct lh_catalog_options co = {.keep_versions = 1000};
            if (lh_store_set_open(f->dir, NULL, NULL, &set, &err) != LH_OK ||
                lh_catalog_open(set, &co, &cat, &err) != LH_OK)
                _exit(2);
            struct lh_store *st = lh_store_set_primary(set);
            for (int i = 0; i < K; i++) {
                char key[96], run[32];
                snprintf(key, sizeof key, "datasets/conc/p%d-%d.parquet", p, i);
                snprintf(run, sizeof run, "w%d-%d", p, i);
                if (lh_store_put(st, key, "PAR1", 4, &err) != LH_OK)
                    _exit(3);
                struct lh_catalog_object o = {.key = key, .size_bytes = 4};
                struct lh_catalog_version_spec spec = {.objects = &o,
                                                       .nobjects = 1,
                                                       .row_count = 1,
                                                       .run_id = run,
                                                       .columns = cols_v1,
                                                       .ncolumns = 3};
                if (lh_catalog_version_register(cat, "conc", &spec, NULL, &err) != LH_OK) {
                    fprintf(stderr, "writer %d: %s\n", p, err.msg);
                    _exit(4);
                }
            }
            lh_catalog_close(cat);
            lh_store_set_close(set);
            _exit(0);
        }
    }
    for (int p = 0; p < NPROC; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "conc", &r, &e_));
    assert_int_equal(r.nversions, NPROC * K);
    assert_int_equal(r.current_version, NPROC * K);
    bool seen[NPROC][K];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < r.nversions; i++) {
        assert_int_equal(r.versions[i].version, i + 1);
        int p, k;
        assert_int_equal(sscanf(r.versions[i].run_id, "w%d-%d", &p, &k), 2);
        assert_false(seen[p][k]);
        seen[p][k] = true;
    }
    lh_catalog_record_reset(&r);
}

/* check_base makes a register a compare-and-swap on the version the
 * caller built on: a stale base writes nothing (LH_E_STATE); with
 * inherit_objects the new version lists the base's parts, then its own. */
static void test_check_base(void **state)
{
    struct fx *f = *state;
    OK(lh_store_put(f->st, "datasets/cb/a.parquet", "PAR1", 4, &e_));
    OK(lh_store_put(f->st, "datasets/cb/b.parquet", "PAR1", 4, &e_));
    struct lh_catalog_object a = {.key = "datasets/cb/a.parquet", .size_bytes = 4};
    struct lh_catalog_object b = {.key = "datasets/cb/b.parquet", .size_bytes = 4};
    struct lh_catalog_version_spec spec = {.objects = &a,
                                           .nobjects = 1,
                                           .row_count = 2,
                                           .run_id = "r1",
                                           .columns = cols_v1,
                                           .ncolumns = 3,
                                           .inherit_objects = true,
                                           .check_base = true,
                                           .base_version = 0};
    uint64_t v = 0;
    OK(lh_catalog_version_register(f->cat, "cb", &spec, &v, &e_));
    assert_int_equal(v, 1);
    /* a second run that also built on "no version yet" loses */
    spec.objects = &b;
    spec.run_id = "r2";
    struct lh_error err;
    assert_int_equal(lh_catalog_version_register(f->cat, "cb", &spec, &v, &err), LH_E_STATE);
    assert_non_null(strstr(err.msg, "current version is 1"));
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "cb", &r, &e_));
    assert_int_equal(r.nversions, 1);
    lh_catalog_record_reset(&r);
    /* rebased on version 1 it wins, and keeps version 1's rows */
    spec.base_version = 1;
    OK(lh_catalog_version_register(f->cat, "cb", &spec, &v, &e_));
    assert_int_equal(v, 2);
    OK(lh_catalog_dataset_get(f->cat, "cb", &r, &e_));
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
    assert_int_equal(cv->row_count, 4);
    assert_int_equal(cv->nobjects, 2);
    assert_string_equal(cv->objects[0].key, "datasets/cb/a.parquet");
    assert_string_equal(cv->objects[1].key, "datasets/cb/b.parquet");
    lh_catalog_record_reset(&r);
}

/* Writes a file under the store directory with the given age. */
static void leftover(struct fx *f, const char *rel, int64_t age_s)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/primary/%s", f->dir, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("half a record", fp);
    fclose(fp);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age_s;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static bool on_disk(struct fx *f, const char *rel)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/primary/%s", f->dir, rel);
    return stat(path, &sb) == 0;
}

/* A writer killed in the middle of a record swap or an event write leaves
 * a temporary file; lh_catalog_sweep removes the dataset's old ones only. */
static void test_sweep_leftovers(void **state)
{
    struct fx *f = *state;
    publish(f, "sw", 1, cols_v1, 3, 1, NULL);
    leftover(f, "_catalog/sw.json.tmp-AAAAAA", 600);
    leftover(f, "_catalog/sw.json.tmp-BBBBBB", 0);    /* a write in progress */
    leftover(f, "_catalog/sw2.json.tmp-CCCCCC", 600); /* another dataset's */
    leftover(f, "_events/sw/00000000000000000001-x.json.tmp-DDDDDD", 600);
    struct lh_store_sweep_stats st;
    OK(lh_catalog_sweep(f->cat, "sw", 60, &st, &e_));
    assert_int_equal(st.pending, 2);
    assert_false(on_disk(f, "_catalog/sw.json.tmp-AAAAAA"));
    assert_true(on_disk(f, "_catalog/sw.json.tmp-BBBBBB"));
    assert_true(on_disk(f, "_catalog/sw2.json.tmp-CCCCCC"));
    assert_false(on_disk(f, "_events/sw/00000000000000000001-x.json.tmp-DDDDDD"));
    assert_true(on_disk(f, "_catalog/sw.json"));
}

/* ------------------------------------------------------------ over S3 */

static int setup_s3(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-catalog-s3-XXXXXX");
    if (!mkdtemp(f->dir) || s3srv_start(&f->srv, "lhcat") != 0)
        return -1;
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f->srv.port);
    struct lh_store_options o = {.endpoint = ep, .access_key = "S3RVER", .secret_key = "S3RVER"};
    struct lh_error err;
    if (lh_store_set_open("s3://lhcat/lake", NULL, &o, &f->set, &err) != LH_OK ||
        lh_catalog_open(f->set, NULL, &f->cat, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    f->st = lh_store_set_primary(f->set);
    *state = f;
    return 0;
}

static void test_s3_catalog(void **state)
{
    struct fx *f = *state;
    publish(f, "s3ds", 1, cols_v1, 3, 3, NULL);
    OK(lh_catalog_index_bind(f->cat, "s3ds", "ix", &e_));
    publish(f, "s3ds", 2, cols_v2, 4, 4, NULL);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "s3ds", &r, &e_));
    assert_int_equal(r.current_version, 2);
    assert_int_equal(r.nversions, 2);
    assert_string_equal(r.sensitivity, "pii");
    lh_catalog_record_reset(&r);
    struct lh_catalog_event *ev;
    size_t n;
    OK(lh_catalog_events_list(f->cat, "s3ds", &ev, &n, &e_));
    assert_int_equal(n, 2); /* dataset_appended(ix) + schema_changed */
    free(ev);
    struct lh_catalog_summary *s;
    OK(lh_catalog_list(f->cat, &s, &n, &e_));
    assert_int_equal(n, 1);
    assert_string_equal(s[0].name, "s3ds");
    assert_int_equal(s[0].row_count, 4);
    free(s);
}

int main(void)
{
    const struct CMUnitTest local[] = {
        cmocka_unit_test_setup_teardown(test_register_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_needs_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_lineage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_keeps_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_catalog, setup_s3, teardown),
    };
    return cmocka_run_group_tests(local, NULL, NULL);
}
