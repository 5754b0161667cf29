/*
 * test_checksum.c — each part's size and content checksum in the catalog
 * (issue 12, item 2): the field as written and read back, records from
 * before it (no checksum) still readable, malformed checksums refused, and
 * lh_catalog_object_check / lh_catalog_object_verify telling a damaged or
 * swapped part apart, with one message naming dataset, version and part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
    char dir[256];
    struct lh_store_set *set;
    struct lh_store *st;
    struct lh_catalog *cat;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-checksum-test-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct lh_error err;
    if (lh_store_set_open(f->dir, NULL, NULL, &f->set, &err) != LH_OK ||
        lh_catalog_open(f->set, NULL, &f->cat, &err) != LH_OK)
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

static void test_format_and_parse(void **state)
{
    (void)state;
    char s[LH_CATALOG_CHECKSUM_SIZE];
    lh_catalog_checksum_format(0xCBF43926u, s);
    assert_string_equal(s, "crc32:cbf43926");
    lh_catalog_checksum_format(0x0000000Au, s);
    assert_string_equal(s, "crc32:0000000a");
    static const struct {
        const char *in;
        bool ok;
        uint32_t v;
    } cases[] = {
        {"crc32:cbf43926", true, 0xCBF43926u},
        {"crc32:00000000", true, 0},
        {"crc32:CBF43926", false, 0},
        {"crc32:cbf4392", false, 0},
        {"crc32:cbf439260", false, 0},
        {"crc32:cbf4392g", false, 0},
        {"sha256:cbf43926", false, 0},
        {"", false, 0},
        {"cbf43926", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t v = 1;
        assert_int_equal(lh_catalog_checksum_parse(cases[i].in, &v), cases[i].ok);
        if (cases[i].ok)
            assert_int_equal(v, cases[i].v);
    }
    assert_false(lh_catalog_checksum_parse(NULL, &(uint32_t){0}));
}

static void put(struct fx *f, const char *key, const char *data)
{
    struct lh_error err;
    assert_int_equal(lh_store_put(f->st, key, data, strlen(data), &err), LH_OK);
}

static void test_recorded_and_read_back(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    const char *k1 = "datasets/ck/run-1/part-00000.parquet",
               *k2 = "datasets/ck/run-1/part-00001.parquet";
    put(f, k1, "123456789");
    put(f, k2, "abc");
    struct lh_catalog_object o[2] = {
        {.key = k1, .size_bytes = 9, .checksum = "crc32:cbf43926"},
        {.key = k2, .size_bytes = 3}, /* no checksum: allowed, as in older records */
    };
    struct lh_catalog_version_spec sp = {.objects = o, .nobjects = 2, .row_count = 1};
    assert_int_equal(lh_catalog_version_register(f->cat, "ck", &sp, NULL, &err), LH_OK);
    struct lh_catalog_record rec;
    assert_int_equal(lh_catalog_dataset_get(f->cat, "ck", &rec, &err), LH_OK);
    const struct lh_catalog_version_info *v = lh_catalog_record_current(&rec);
    assert_non_null(v);
    assert_int_equal(v->nobjects, 2);
    assert_string_equal(v->objects[0].checksum, "crc32:cbf43926");
    assert_int_equal(v->objects[0].size_bytes, 9);
    assert_null(v->objects[1].checksum);
    assert_non_null(strstr(rec.json, "\"checksum\": \"crc32:cbf43926\""));
    /* both verify, whole or not; the one without a checksum on its size */
    for (int whole = 0; whole < 2; whole++)
        for (size_t i = 0; i < 2; i++)
            assert_int_equal(
                lh_catalog_object_verify(f->st, "ck", v->version, &v->objects[i], whole, &err),
                LH_OK);
    lh_catalog_record_reset(&rec);

    /* a malformed checksum is refused at registration, nothing written */
    struct lh_catalog_object bad = {.key = k1, .size_bytes = 9, .checksum = "crc32:CBF43926"};
    struct lh_catalog_version_spec sb = {.objects = &bad, .nobjects = 1, .row_count = 1};
    assert_int_equal(lh_catalog_version_register(f->cat, "ck", &sb, NULL, &err), LH_E_INVAL);
    assert_non_null(strstr(err.msg, "crc32:<8 lowercase hex digits>"));
    assert_int_equal(lh_catalog_dataset_get(f->cat, "ck", &rec, &err), LH_OK);
    assert_int_equal(rec.current_version, 1);
    lh_catalog_record_reset(&rec);
}

/* A record written before checksums existed reads as it did. */
static void test_old_record_readable(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    const char *key = "datasets/old/v1/part-00000.parquet";
    put(f, key, "PAR1....PAR1");
    const char *json =
        "{\"name\": \"old\", \"schema_fingerprint\": \"\", \"current_version\": 1, "
        "\"versions\": [{\"version\": 1, \"created_at\": \"2026-01-01T00:00:00Z\", "
        "\"row_count\": 3, \"run_id\": \"r\", \"objects\": [{\"bucket\": \"primary\", "
        "\"key\": \"datasets/old/v1/part-00000.parquet\", \"size_bytes\": 12, "
        "\"created_at\": \"2026-01-01T00:00:00Z\"}]}], \"row_count\": 3, \"sensitivity\": null, "
        "\"columns\": [], \"embeddings_stale\": false}";
    put(f, "_catalog/old.json", json);
    struct lh_catalog_record rec;
    assert_int_equal(lh_catalog_dataset_get(f->cat, "old", &rec, &err), LH_OK);
    const struct lh_catalog_version_info *v = lh_catalog_record_current(&rec);
    assert_non_null(v);
    assert_null(v->objects[0].checksum);
    assert_int_equal(lh_catalog_object_verify(f->st, "old", 1, &v->objects[0], true, &err), LH_OK);
    lh_catalog_record_reset(&rec);
}

static void test_damaged_and_swapped(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    const char *key = "datasets/dmg/run-1/part-00000.parquet";
    put(f, key, "123456789");
    struct lh_catalog_object_info o = {
        .bucket = "primary", .key = key, .size_bytes = 9, .checksum = "crc32:cbf43926"};
    uint32_t good = 0xCBF43926u, other = 0x12345678u;
    assert_int_equal(lh_catalog_object_check("dmg", 4, &o, 9, &good, &err), LH_OK);
    assert_int_equal(lh_catalog_object_check("dmg", 4, &o, 9, NULL, &err), LH_OK);
    /* same size, other content */
    assert_int_equal(lh_catalog_object_check("dmg", 4, &o, 9, &other, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "dataset dmg version 4, part "
                                    "datasets/dmg/run-1/part-00000.parquet"));
    assert_non_null(strstr(err.msg, "crc32:12345678"));
    assert_non_null(strstr(err.msg, "damaged or was replaced"));
    /* another size: told without reading, even with no checksum recorded */
    struct lh_catalog_object_info o2 = o;
    o2.checksum = NULL;
    assert_int_equal(lh_catalog_object_check("dmg", 4, &o2, 4096, NULL, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "dataset dmg version 4, part datasets/dmg/run-1/"));
    assert_non_null(strstr(err.msg, "4096 bytes, the catalog recorded 9"));
    /* a damaged catalog entry is named as such */
    struct lh_catalog_object_info o3 = o;
    o3.checksum = "md5:abc";
    assert_int_equal(lh_catalog_object_check("dmg", 4, &o3, 9, &good, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "catalog record is damaged"));

    /* through the store: garbled in place (same size), then swapped */
    put(f, key, "123450789");
    assert_int_equal(lh_catalog_object_verify(f->st, "dmg", 4, &o, false, &err), LH_OK);
    assert_int_equal(lh_catalog_object_verify(f->st, "dmg", 4, &o, true, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "content checksum"));
    put(f, key, "another dataset's file");
    assert_int_equal(lh_catalog_object_verify(f->st, "dmg", 4, &o, false, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "22 bytes, the catalog recorded 9"));
    /* gone */
    assert_int_equal(lh_store_delete(f->st, key, &err), LH_OK);
    assert_int_equal(lh_catalog_object_verify(f->st, "dmg", 4, &o, true, &err), LH_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "dataset dmg version 4, part datasets/dmg/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_parse),
        cmocka_unit_test_setup_teardown(test_recorded_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_record_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_and_swapped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
