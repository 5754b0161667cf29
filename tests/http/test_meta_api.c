/*
 * test_meta_api.c — PATCH /api/datasets/{name} end to end (docs/http.md
 * "Describing a dataset"): the real `lakehouse serve` on a data directory
 * holding one dataset. A partial update lands without a version and shows
 * in GET /api/datasets/{name} and the list; every bad input is a 400 that
 * names its field and changes nothing; an unknown dataset is a 404.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "daemon.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static struct daemon d;

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-http-meta-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    const struct lh_catalog_column cols[] = {
        {.name = "id", .data_type = "Int64"},
        {.name = "email", .data_type = "Utf8", .nullable = true},
        {.name = "city", .data_type = "Utf8", .nullable = true},
    };
    const char *key = "datasets/customers/v1/part-00000.parquet";
    struct lh_catalog_object o = {.key = key, .size_bytes = 4};
    struct lh_catalog_version_spec sp = {.objects = &o,
                                         .nobjects = 1,
                                         .row_count = 3,
                                         .run_id = "r",
                                         .columns = cols,
                                         .ncolumns = 3};
    int rc = lh_store_put(lh_store_set_primary(set), key, "PAR1", 4, &err) == LH_OK &&
                     lh_catalog_version_register(cat, "customers", &sp, NULL, &err) == LH_OK
                 ? 0
                 : -1;
    lh_catalog_close(cat);
    lh_store_set_close(set);
    if (rc)
        return rc;
    daemon_log_dir = dir;
    const char *args[] = {"--data", dir, NULL};
    return daemon_start(&d, args, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = daemon_stop(&d, SIGTERM);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return rc == 0 ? 0 : -1;
}

static json_t *call(const char *method, const char *path, const char *body, long want)
{
    struct reply r;
    if (!http_do(&d, method, path, body ? "application/json" : NULL, NULL, body,
                 body ? strlen(body) : 0, &r))
        fail_msg("%s %s: no answer", method, path);
    if (r.status != want)
        fail_msg("%s %s %s: status %ld, want %ld: %s", method, path, body ? body : "", r.status,
                 want, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    reply_free(&r);
    if (!j)
        fail_msg("%s %s: answer is not JSON", method, path);
    return j;
}

static json_t *column(json_t *rec, const char *name)
{
    json_t *cols = json_object_get(rec, "columns");
    for (size_t i = 0; i < json_array_size(cols); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cols, i), "name")), name) == 0)
            return json_array_get(cols, i);
    fail_msg("no column %s", name);
    return NULL;
}

static void test_patch_and_show(void **state)
{
    (void)state;
    json_t *r = call("PATCH", "/api/datasets/customers",
                     "{\"description\": \"Customers of the shop\", \"tags\": [\"gdpr\", "
                     "\"team:growth\"], \"columns\": {\"email\": {\"pii\": \"none\", "
                     "\"description\": \"hashed\"}, \"city\": {\"pii\": \"pii\"}}}",
                     200);
    assert_string_equal(json_string_value(json_object_get(r, "description")),
                        "Customers of the shop");
    assert_int_equal(json_integer_value(json_object_get(r, "current_version")), 1);
    json_decref(r);

    r = call("GET", "/api/datasets/customers", NULL, 200);
    json_t *tags = json_object_get(r, "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "team:growth");
    json_t *e = column(r, "email"), *c = column(r, "city");
    assert_true(json_is_null(json_object_get(e, "sensitivity")));
    assert_true(json_is_true(json_object_get(e, "sensitivity_override")));
    assert_string_equal(json_string_value(json_object_get(e, "detected_sensitivity")), "pii");
    assert_string_equal(json_string_value(json_object_get(e, "description")), "hashed");
    assert_string_equal(json_string_value(json_object_get(c, "sensitivity")), "pii");
    assert_true(json_is_true(json_object_get(c, "sensitivity_override")));
    assert_true(json_is_false(json_object_get(column(r, "id"), "sensitivity_override")));
    json_decref(r);

    /* partial: only what is named changes */
    r = call("PATCH", "/api/datasets/customers",
             "{\"add_tags\": [\"tier-1\"], \"remove_tags\": [\"gdpr\"], \"columns\": "
             "{\"city\": {\"pii\": \"auto\"}}}",
             200);
    assert_string_equal(json_string_value(json_object_get(r, "description")),
                        "Customers of the shop");
    tags = json_object_get(r, "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "team:growth");
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "tier-1");
    assert_true(json_is_null(json_object_get(column(r, "city"), "sensitivity")));
    assert_true(json_is_null(json_object_get(column(r, "email"), "sensitivity"))); /* kept */
    assert_true(json_is_null(json_object_get(r, "sensitivity"))); /* nothing marked now */
    json_decref(r);

    r = call("GET", "/api/datasets", NULL, 200);
    json_t *one = json_array_get(json_object_get(r, "datasets"), 0);
    assert_string_equal(json_string_value(json_object_get(one, "description")),
                        "Customers of the shop");
    assert_int_equal(json_array_size(json_object_get(one, "tags")), 2);
    json_decref(r);
}

static void test_every_bad_input_is_a_400(void **state)
{
    (void)state;
    json_t *before = call("GET", "/api/datasets/customers", NULL, 200);
    char *want = json_dumps(before, JSON_SORT_KEYS);
    json_decref(before);
    char long_desc[LH_CATALOG_DESCRIPTION_MAX + 40];
    snprintf(long_desc, sizeof long_desc, "{\"description\": \"%0*d\"}",
             LH_CATALOG_DESCRIPTION_MAX + 1, 0);
    char many[600] = "{\"add_tags\": [";
    for (int i = 0; i <= LH_CATALOG_TAGS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"x%d\"", i ? "," : "", i);
    snprintf(many + strlen(many), sizeof many - strlen(many), "]}");
    static const struct {
        const char *body, *field;
    } rows[] = {
        {"{\"descripton\": \"typo\"}", "descripton"},
        {"{\"description\": 7}", "description"},
        {"{\"description\": \"bell\\u0007\"}", "description"},
        {"{\"tags\": \"gdpr\"}", "tags"},
        {"{\"tags\": [1]}", "tags"},
        {"{\"tags\": [\"GDPR\"]}", "tags"},
        {"{\"add_tags\": [\"has space\"]}", "tags"},
        {"{\"remove_tags\": [\"\"]}", "tags"},
        {"{\"add_tags\": {}}", "add_tags"},
        {"{\"columns\": []}", "columns"},
        {"{\"columns\": {\"email\": \"pii\"}}", "columns.email"},
        {"{\"columns\": {\"phone\": {\"pii\": \"none\"}}}", "columns.phone"},
        {"{\"columns\": {\"email\": {\"pii\": \"secret\"}}}", "columns.email.pii"},
        {"{\"columns\": {\"email\": {\"pii\": true}}}", "columns.email.pii"},
        {"{\"columns\": {\"email\": {\"level\": \"pii\"}}}", "columns.email.level"},
        {"{\"columns\": {\"email\": {\"description\": [\"x\"]}}}", "columns.email.description"},
        /* the good part of a bad request does not land either */
        {"{\"description\": \"new\", \"columns\": {\"nope\": {\"pii\": \"pii\"}}}", "columns.nope"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *e = call("PATCH", "/api/datasets/customers", rows[i].body, 400);
        const char *f = json_string_value(json_object_get(e, "field"));
        if (!f || strcmp(f, rows[i].field) != 0)
            fail_msg("%s: field %s, want %s", rows[i].body, f ? f : "(none)", rows[i].field);
        assert_non_null(json_string_value(json_object_get(e, "error")));
        json_decref(e);
    }
    const char *generated[][2] = {{long_desc, "description"}, {many, "tags"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *e = call("PATCH", "/api/datasets/customers", generated[i][0], 400);
        assert_string_equal(json_string_value(json_object_get(e, "field")), generated[i][1]);
        json_decref(e);
    }
    json_decref(call("PATCH", "/api/datasets/customers", "{}", 400));
    json_decref(call("PATCH", "/api/datasets/customers", "[1]", 400));
    json_decref(call("PATCH", "/api/datasets/customers", "{\"description\":", 400));
    json_t *after = call("GET", "/api/datasets/customers", NULL, 200);
    char *got = json_dumps(after, JSON_SORT_KEYS);
    json_decref(after);
    assert_string_equal(got, want);
    free(got);
    free(want);
    json_t *nf = call("PATCH", "/api/datasets/nosuch", "{\"description\": \"x\"}", 404);
    json_decref(nf);
    json_decref(call("PATCH", "/api/datasets/..", "{\"description\": \"x\"}", 400));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patch_and_show),
        cmocka_unit_test(test_every_bad_input_is_a_400),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
