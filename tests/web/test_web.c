/*
 * test_web.c — the embedded dashboard table (src/web/web.h): lookups by
 * request path, and every embedded file byte-for-byte equal to its source
 * under web/, with a well-formed strong ETag and a content type.
 */
#include "web/web.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct find_case {
    const char *path;
    const char *want; /* embedded path, or NULL for a miss */
};

static const struct find_case find_cases[] = {
    {"/", "/index.html"},
    {"/index.html", "/index.html"},
    {"/?x=1", "/index.html"},
    {"/#/schedules", "/index.html"},
    {"/app.js", "/app.js"},
    {"/app.js?v=2", "/app.js"},
    {"/lib.js", "/lib.js"},
    {"/style.css", "/style.css"},
    {"/favicon.svg", "/favicon.svg"},
    {"/app.j", NULL},
    {"/app.jsx", NULL},
    {"/APP.JS", NULL},
    {"app.js", NULL},
    {"", NULL},
    {NULL, NULL},
    {"//app.js", NULL},
    {"/../web/app.js", NULL},
    {"/./app.js", NULL},
    {"/index.html/", NULL},
    {"/api/health", NULL},
};

static void test_find(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof find_cases / sizeof find_cases[0]; i++) {
        const struct find_case *c = &find_cases[i];
        const struct lh_web_file *f = lh_web_find(c->path);
        if (!c->want) {
            if (f)
                fail_msg("case %zu '%s': want a miss, got %s", i, c->path, f->path);
            continue;
        }
        if (!f)
            fail_msg("case %zu '%s': want %s, got a miss", i, c->path, c->want);
        assert_string_equal(f->path, c->want);
    }
    /* an over-long path is a miss, not an overread */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    assert_null(lh_web_find(big));
}

struct type_case {
    const char *path;
    const char *type;
};

static const struct type_case type_cases[] = {
    {"/index.html", "text/html; charset=utf-8"},
    {"/app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "text/css; charset=utf-8"},
    {"/favicon.svg", "image/svg+xml"},
};

static void test_types(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
        const struct lh_web_file *f = lh_web_find(type_cases[i].path);
        assert_non_null(f);
        assert_string_equal(f->content_type, type_cases[i].type);
    }
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (r == 0)
            break;
    }
    fclose(fp);
    *len = n;
    return buf;
}

static void test_table_matches_sources(void **state)
{
    (void)state;
    size_t n = lh_web_count();
    assert_true(n >= 4);
    assert_null(lh_web_at(n));
    for (size_t i = 0; i < n; i++) {
        const struct lh_web_file *f = lh_web_at(i);
        assert_non_null(f);
        /* sorted, unique, each findable by its own path */
        if (i > 0)
            assert_true(strcmp(lh_web_at(i - 1)->path, f->path) < 0);
        assert_ptr_equal(lh_web_find(f->path), f);
        /* strong ETag: a quoted run of 32 hex digits */
        assert_int_equal(strlen(f->etag), 34);
        assert_int_equal(f->etag[0], '"');
        assert_int_equal(f->etag[33], '"');
        for (size_t k = 1; k < 33; k++)
            assert_non_null(strchr("0123456789abcdef", f->etag[k]));
        assert_true(f->content_type[0] != '\0');
        char path[1024];
        snprintf(path, sizeof path, "%s%s", LH_TEST_WEB_DIR, f->path);
        size_t len = 0;
        unsigned char *src = read_file(path, &len);
        if (!src)
            fail_msg("cannot read %s", path);
        assert_int_equal(len, f->len);
        assert_memory_equal(src, f->bytes, len);
        free(src);
    }
    /* different files, different ETags */
    assert_string_not_equal(lh_web_find("/app.js")->etag, lh_web_find("/index.html")->etag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_table_matches_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
