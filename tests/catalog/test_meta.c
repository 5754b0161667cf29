/*
 * test_meta.c — descriptions, tags and PII overrides (catalog.h
 * "descriptions, tags, PII overrides") over a real local store: an edit
 * makes no version; overrides beat the name detector; everything is kept
 * across later versions (matched by name, dormant while a column is gone);
 * "auto" goes back to the detector; every bad input is refused whole,
 * naming its field; and an edit racing a publisher loses nothing either
 * way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct fx {
    char dir[256];
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
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-meta-test-XXXXXX");
    if (!mkdtemp(f->dir))
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
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static const struct lh_catalog_column cols_a[] = {
    {.name = "id", .data_type = "Int64"},
    {.name = "email", .data_type = "Utf8", .nullable = true},
    {.name = "city", .data_type = "Utf8", .nullable = true},
};
static const struct lh_catalog_column cols_b[] = {
    /* a column added */
    {.name = "id", .data_type = "Int64"},
    {.name = "email", .data_type = "Utf8", .nullable = true},
    {.name = "city", .data_type = "Utf8", .nullable = true},
    {.name = "card_number", .data_type = "Utf8", .nullable = true},
};
static const struct lh_catalog_column cols_c[] = {
    /* email gone */
    {.name = "id", .data_type = "Int64"},
    {.name = "city", .data_type = "Utf8", .nullable = true},
};

static uint64_t publish(struct lh_catalog *cat, struct lh_store *st, const char *ds, int part,
                        const struct lh_catalog_column *cols, size_t ncols)
{
    char key[128];
    snprintf(key, sizeof key, "datasets/%s/p%d/part-00000.parquet", ds, part);
    OK(lh_store_put(st, key, "PAR1", 4, &e_));
    struct lh_catalog_object o = {.key = key, .size_bytes = 4};
    struct lh_catalog_version_spec spec = {.objects = &o,
                                           .nobjects = 1,
                                           .row_count = 1,
                                           .run_id = "r",
                                           .columns = cols,
                                           .ncolumns = ncols};
    uint64_t v = 0;
    OK(lh_catalog_version_register(cat, ds, &spec, &v, &e_));
    return v;
}

static const struct lh_catalog_column_info *col(const struct lh_catalog_record *r, const char *n)
{
    for (size_t i = 0; i < r->ncolumns; i++)
        if (strcmp(r->columns[i].name, n) == 0)
            return &r->columns[i];
    fail_msg("no column %s", n);
    return NULL;
}

static const char *sens(const char *s)
{
    return s ? s : "none";
}

/* The first description, tags and overrides most tests start from. */
static void describe_first(struct fx *f)
{
    static const char *const tags[] = {"gdpr", "team:growth"};
    static const struct lh_catalog_column_edit edits[] = {
        {.name = "email", .pii = "none", .description = "hashed before export"},
        {.name = "city", .pii = "pii"},
        {.name = "id", .description = "customer number"},
    };
    struct lh_catalog_describe d = {.description = "Customers of the shop.\nOne row each.",
                                    .set_tags = true,
                                    .tags = tags,
                                    .ntags = 2,
                                    .columns = edits,
                                    .ncolumns = 3};
    OK(lh_catalog_dataset_describe(f->cat, "customers", &d, &e_));
}

static void test_override_beats_detector(void **state)
{
    struct fx *f = *state;
    publish(f->cat, f->st, "customers", 1, cols_a, 3);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_string_equal(sens(col(&r, "email")->sensitivity), "pii"); /* the detector */
    assert_false(col(&r, "email")->sensitivity_override);
    assert_string_equal(r.description, "");
    assert_int_equal(r.ntags, 0);
    lh_catalog_record_reset(&r);

    describe_first(f);
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_int_equal(r.current_version, 1); /* no new version */
    assert_int_equal(r.nversions, 1);
    assert_string_equal(r.description, "Customers of the shop.\nOne row each.");
    assert_int_equal(r.ntags, 2);
    assert_string_equal(r.tags[0], "gdpr");
    assert_string_equal(r.tags[1], "team:growth");
    const struct lh_catalog_column_info *e = col(&r, "email"), *c = col(&r, "city");
    assert_null(e->sensitivity); /* unmarked, whatever its name says */
    assert_false(e->is_pii);
    assert_true(e->sensitivity_override);
    assert_string_equal(e->detected, "pii");
    assert_string_equal(e->description, "hashed before export");
    assert_string_equal(sens(c->sensitivity), "pii"); /* marked, though "city" is not flagged */
    assert_true(c->is_pii);
    assert_true(c->sensitivity_override);
    assert_null(c->detected);
    assert_string_equal(col(&r, "id")->description, "customer number");
    assert_false(col(&r, "id")->sensitivity_override);
    assert_string_equal(sens(r.sensitivity), "pii"); /* from city now */
    lh_catalog_record_reset(&r);

    /* unmarking the only PII column lowers the dataset's level */
    struct lh_catalog_column_edit unmark = {.name = "city", .pii = "internal"};
    struct lh_catalog_describe d = {.columns = &unmark, .ncolumns = 1};
    OK(lh_catalog_dataset_describe(f->cat, "customers", &d, &e_));
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_string_equal(sens(r.sensitivity), "internal");
    assert_string_equal(r.description, "Customers of the shop.\nOne row each."); /* kept */
    assert_int_equal(r.ntags, 2);
    lh_catalog_record_reset(&r);
}

static void test_kept_across_versions(void **state)
{
    struct fx *f = *state;
    publish(f->cat, f->st, "customers", 1, cols_a, 3);
    describe_first(f);
    /* a new version re-detects (card_number) and keeps what people said */
    assert_int_equal(publish(f->cat, f->st, "customers", 2, cols_b, 4), 2);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_string_equal(r.description, "Customers of the shop.\nOne row each.");
    assert_int_equal(r.ntags, 2);
    assert_null(col(&r, "email")->sensitivity);
    assert_true(col(&r, "email")->sensitivity_override);
    assert_string_equal(col(&r, "email")->description, "hashed before export");
    assert_string_equal(sens(col(&r, "city")->sensitivity), "pii");
    assert_string_equal(sens(col(&r, "card_number")->sensitivity), "financial");
    assert_false(col(&r, "card_number")->sensitivity_override);
    assert_string_equal(col(&r, "id")->description, "customer number");
    assert_string_equal(sens(r.sensitivity), "pii");
    lh_catalog_record_reset(&r);

    /* email disappears: its metadata stays dormant ... */
    publish(f->cat, f->st, "customers", 3, cols_c, 2);
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_int_equal(r.ncolumns, 2);
    assert_non_null(strstr(r.json, "hashed before export"));
    lh_catalog_record_reset(&r);
    /* ... can still be edited by name ... */
    struct lh_catalog_column_edit e1 = {.name = "email", .description = "hashed (SHA-256)"};
    struct lh_catalog_describe d = {.columns = &e1, .ncolumns = 1};
    OK(lh_catalog_dataset_describe(f->cat, "customers", &d, &e_));
    /* ... and applies again when the column comes back */
    publish(f->cat, f->st, "customers", 4, cols_a, 3);
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_int_equal(r.current_version, 4);
    assert_null(col(&r, "email")->sensitivity);
    assert_true(col(&r, "email")->sensitivity_override);
    assert_string_equal(col(&r, "email")->description, "hashed (SHA-256)");
    lh_catalog_record_reset(&r);
}

static void test_auto_and_clearing(void **state)
{
    struct fx *f = *state;
    publish(f->cat, f->st, "customers", 1, cols_a, 3);
    describe_first(f);
    static const char *const add[] = {"tier-1", "gdpr"}, *const rm[] = {"team:growth", "absent"};
    struct lh_catalog_column_edit back[] = {{.name = "email", .pii = "auto", .description = ""},
                                            {.name = "city", .pii = "auto"}};
    struct lh_catalog_describe d = {.description = "",
                                    .add_tags = add,
                                    .nadd = 2,
                                    .remove_tags = rm,
                                    .nremove = 2,
                                    .columns = back,
                                    .ncolumns = 2};
    OK(lh_catalog_dataset_describe(f->cat, "customers", &d, &e_));
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "customers", &r, &e_));
    assert_string_equal(r.description, "");
    assert_int_equal(r.ntags, 2);
    assert_string_equal(r.tags[0], "gdpr");
    assert_string_equal(r.tags[1], "tier-1");
    assert_string_equal(sens(col(&r, "email")->sensitivity), "pii"); /* the detector again */
    assert_false(col(&r, "email")->sensitivity_override);
    assert_string_equal(col(&r, "email")->description, "");
    assert_null(col(&r, "city")->sensitivity);
    assert_false(col(&r, "city")->sensitivity_override);
    /* an entry with nothing left in it is gone */
    assert_null(strstr(r.json, "\"email\": {"));
    assert_non_null(strstr(r.json, "\"id\": {"));
    lh_catalog_record_reset(&r);
}

static void test_bad_input_refused_whole(void **state)
{
    struct fx *f = *state;
    publish(f->cat, f->st, "customers", 1, cols_a, 3);
    describe_first(f);
    char long_tag[80], long_desc[LH_CATALOG_DESCRIPTION_MAX + 2],
        long_col[LH_CATALOG_COLUMN_DESCRIPTION_MAX + 2];
    memset(long_tag, 'a', sizeof long_tag - 1);
    long_tag[sizeof long_tag - 1] = '\0';
    memset(long_desc, 'x', sizeof long_desc - 1);
    long_desc[sizeof long_desc - 1] = '\0';
    memset(long_col, 'y', sizeof long_col - 1);
    long_col[sizeof long_col - 1] = '\0';
    char many[LH_CATALOG_TAGS_MAX + 1][8];
    const char *many_p[LH_CATALOG_TAGS_MAX + 1];
    for (int i = 0; i <= LH_CATALOG_TAGS_MAX; i++) {
        snprintf(many[i], sizeof many[i], "t%d", i);
        many_p[i] = many[i];
    }
    static const char *const upper[] = {"GDPR"}, *const empty[] = {""}, *const dash[] = {"-x"},
                             *const space[] = {"a b"};
    const char *const longt[] = {long_tag};
    static const struct lh_catalog_column_edit unknown = {.name = "phone", .pii = "none"},
                                               badmark = {.name = "email", .pii = "secret"},
                                               emptymark = {.name = "email", .pii = ""},
                                               ctl = {.name = "email", .description = "a\x01"};
    struct lh_catalog_column_edit longc = {.name = "email", .description = long_col};
    const struct {
        struct lh_catalog_describe d;
        const char *field;
    } rows[] = {
        {{.add_tags = upper, .nadd = 1}, "tags"},
        {{.add_tags = empty, .nadd = 1}, "tags"},
        {{.add_tags = dash, .nadd = 1}, "tags"},
        {{.set_tags = true, .tags = space, .ntags = 1}, "tags"},
        {{.remove_tags = longt, .nremove = 1}, "tags"},
        {{.add_tags = many_p, .nadd = LH_CATALOG_TAGS_MAX}, "tags"}, /* 2 + 32 */
        {{.description = long_desc}, "description"},
        {{.description = "bad \xff utf-8"}, "description"},
        {{.description = "bell\a"}, "description"},
        {{.columns = &unknown, .ncolumns = 1}, "columns.phone"},
        {{.columns = &badmark, .ncolumns = 1}, "columns.email.pii"},
        {{.columns = &emptymark, .ncolumns = 1}, "columns.email.pii"},
        {{.columns = &ctl, .ncolumns = 1}, "columns.email.description"},
        {{.columns = &longc, .ncolumns = 1}, "columns.email.description"},
        /* a good part does not land when another part is bad */
        {{.description = "new", .columns = &unknown, .ncolumns = 1}, "columns.phone"},
    };
    struct lh_catalog_record before, after;
    OK(lh_catalog_dataset_get(f->cat, "customers", &before, &e_));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct lh_catalog_describe d = rows[i].d;
        struct lh_error err;
        enum lh_status s = lh_catalog_dataset_describe(f->cat, "customers", &d, &err);
        if (s != LH_E_INVAL)
            fail_msg("row %zu: status %d, want LH_E_INVAL", i, (int)s);
        if (strcmp(d.field, rows[i].field) != 0)
            fail_msg("row %zu: field '%s', want '%s' (%s)", i, d.field, rows[i].field, err.msg);
        assert_true(strlen(err.msg) > 0);
        OK(lh_catalog_dataset_get(f->cat, "customers", &after, &e_));
        if (strcmp(before.json, after.json) != 0)
            fail_msg("row %zu changed the record", i);
        lh_catalog_record_reset(&after);
    }
    lh_catalog_record_reset(&before);
    struct lh_catalog_describe d = {.description = "x"};
    struct lh_error err;
    assert_int_equal(lh_catalog_dataset_describe(f->cat, "absent", &d, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_catalog_tag_check("team:growth", &err), LH_OK);
    assert_int_equal(lh_catalog_tag_check("a.b_c-9", &err), LH_OK);
    assert_int_not_equal(lh_catalog_tag_check(long_tag, &err), LH_OK);
}

/* --------------------------------------------------------- a publish and an edit racing */

#define ROUNDS 24

struct racer {
    struct fx *f;
    char fail[1200];
};

static void *publisher(void *arg)
{
    struct racer *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        char key[128];
        struct lh_error err;
        snprintf(key, sizeof key, "datasets/race/q%d.parquet", i);
        struct lh_catalog_object o = {.key = key, .size_bytes = 4};
        /* every other version drops email: metadata must survive both */
        struct lh_catalog_version_spec spec = {.objects = &o,
                                               .nobjects = 1,
                                               .row_count = 1,
                                               .run_id = "p",
                                               .columns = i % 2 ? cols_c : cols_b,
                                               .ncolumns = i % 2 ? 2 : 4};
        if (lh_store_put(w->f->st, key, "PAR1", 4, &err) != LH_OK ||
            lh_catalog_version_register(w->f->cat, "race", &spec, NULL, &err) != LH_OK) {
            snprintf(w->fail, sizeof w->fail, "publish %d: %s", i, err.msg);
            break;
        }
    }
    return NULL;
}

static void *describer(void *arg)
{
    struct racer *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        char tag[16], desc[32];
        snprintf(tag, sizeof tag, "t%d", i);
        snprintf(desc, sizeof desc, "id, round %d", i);
        const char *tags[] = {tag};
        struct lh_catalog_column_edit e[] = {{.name = "id", .description = desc},
                                             {.name = "city", .pii = i == 0 ? "pii" : NULL}};
        struct lh_catalog_describe d = {
            .add_tags = tags, .nadd = 1, .columns = e, .ncolumns = 2, .description = desc};
        struct lh_error err;
        if (lh_catalog_dataset_describe(w->f->cat, "race", &d, &err) != LH_OK) {
            snprintf(w->fail, sizeof w->fail, "describe %d: %s (%s)", i, err.msg, d.field);
            break;
        }
    }
    return NULL;
}

static void test_concurrent_publish_and_edit(void **state)
{
    struct fx *f = *state;
    publish(f->cat, f->st, "race", 99, cols_b, 4);
    struct lh_catalog_column_edit e = {.name = "email", .pii = "none"};
    struct lh_catalog_describe d0 = {.columns = &e, .ncolumns = 1};
    OK(lh_catalog_dataset_describe(f->cat, "race", &d0, &e_));
    struct racer a = {.f = f}, b = {.f = f};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, publisher, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, describer, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (a.fail[0] || b.fail[0])
        fail_msg("%s %s", a.fail, b.fail);
    struct lh_catalog_record r;
    OK(lh_catalog_dataset_get(f->cat, "race", &r, &e_));
    /* every publish landed ... */
    assert_int_equal(r.current_version, 1 + ROUNDS);
    assert_int_equal(r.ncolumns, 2); /* the last publish was cols_c */
    /* ... and every edit */
    assert_int_equal(r.ntags, ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "t%d", i);
        bool found = false;
        for (size_t k = 0; k < r.ntags; k++)
            found = found || strcmp(r.tags[k], tag) == 0;
        if (!found)
            fail_msg("tag %s lost", tag);
    }
    char want[32];
    snprintf(want, sizeof want, "id, round %d", ROUNDS - 1);
    assert_string_equal(r.description, want);
    assert_string_equal(col(&r, "id")->description, want);
    assert_string_equal(sens(col(&r, "city")->sensitivity), "pii");
    assert_true(col(&r, "city")->sensitivity_override);
    assert_non_null(strstr(r.json, "\"pii\": \"none\"")); /* email's, dormant */
    lh_catalog_record_reset(&r);
    /* and the next version with email brings its override back */
    publish(f->cat, f->st, "race", 100, cols_b, 4);
    OK(lh_catalog_dataset_get(f->cat, "race", &r, &e_));
    assert_null(col(&r, "email")->sensitivity);
    assert_true(col(&r, "email")->sensitivity_override);
    lh_catalog_record_reset(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_override_beats_detector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_across_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_and_clearing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_refused_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_publish_and_edit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
