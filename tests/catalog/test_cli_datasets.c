/*
 * test_cli_datasets.c — `lakehouse datasets` end to end: the real binary on
 * a data directory filled through the catalog API; table, detail and JSON
 * output, a corrupt record next to good ones, and errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char dir[256];

#define OK(expr)                                                                                   \
    do {                                                                                           \
        struct lh_error e_;                                                                        \
        enum lh_status s_ = (expr);                                                                \
        if (s_ != LH_OK)                                                                           \
            fail_msg("%s: %s", #expr, e_.msg);                                                     \
    } while (0)

/* Runs the binary with args; captures stdout (and stderr separately). */
static int run(const char *args, char *out, size_t cap, char *errout, size_t ecap)
{
    char cmd[1024], errf[300];
    snprintf(errf, sizeof errf, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "%s datasets %s 2>'%s'", LH_TEST_LAKEHOUSE, args, errf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    FILE *e = fopen(errf, "r");
    assert_non_null(e);
    n = fread(errout, 1, ecap - 1, e);
    errout[n] = '\0';
    fclose(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-cli-ds-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    struct lh_store *st = lh_store_set_primary(set);
    const struct lh_catalog_column cols[] = {
        {.name = "id", .data_type = "Int64"},
        {.name = "email", .data_type = "Utf8", .nullable = true, .description = "contact"},
        {.name = "iban", .data_type = "Utf8", .nullable = true},
    };
    for (int v = 1; v <= 2; v++) {
        char key[80];
        snprintf(key, sizeof key, "datasets/customers/v%d/part-00000.parquet", v);
        if (lh_store_put(st, key, "PAR1", 4, &err) != LH_OK)
            return -1;
        struct lh_catalog_object o = {.key = key, .size_bytes = 2048};
        struct lh_catalog_lineage lin = {.source_system = "mysql",
                                         .source_file = "dsn: mysql://user:hunter2@host/shop",
                                         .ingest_job = "scheduled-mysql-1"};
        struct lh_catalog_version_spec sp = {.objects = &o,
                                             .nobjects = 1,
                                             .row_count = (uint64_t)(10 + v),
                                             .run_id = "run-x",
                                             .columns = cols,
                                             .ncolumns = 3,
                                             .lineage = &lin};
        if (lh_catalog_version_register(cat, "customers", &sp, NULL, &err) != LH_OK)
            return -1;
    }
    if (lh_store_put(st, "datasets/plain/p.parquet", "PAR1", 4, &err) != LH_OK)
        return -1;
    struct lh_catalog_object o = {.key = "datasets/plain/p.parquet", .size_bytes = 4};
    struct lh_catalog_version_spec sp = {
        .objects = &o, .nobjects = 1, .row_count = 1234567, .columns = cols, .ncolumns = 1};
    if (lh_catalog_version_register(cat, "plain", &sp, NULL, &err) != LH_OK)
        return -1;
    if (lh_store_put(st, "_catalog/broken.json", "{\"name\":", 8, &err) != LH_OK)
        return -1;
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_table(void **state)
{
    (void)state;
    char out[8192], err[2048], args[512];
    snprintf(args, sizeof args, "--data '%s/'", dir);
    assert_int_equal(run(args, out, sizeof out, err, sizeof err), 0);
    /* header, then one aligned line per dataset, sorted */
    char *lines[8];
    int n = 0;
    for (char *save, *l = strtok_r(out, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    assert_int_equal(n, 4);
    assert_true(strncmp(lines[0], "NAME", 4) == 0);
    assert_true(strncmp(lines[1], "broken", 6) == 0);
    assert_true(strncmp(lines[2], "customers", 9) == 0);
    assert_true(strncmp(lines[3], "plain", 5) == 0);
    assert_non_null(strstr(lines[1], "error"));
    assert_non_null(strstr(lines[2], " 2 "));
    assert_non_null(strstr(lines[2], "12"));
    assert_non_null(strstr(lines[2], "2.0 KiB"));
    assert_non_null(strstr(lines[2], "pii"));
    assert_non_null(strstr(lines[3], "1234567"));
    /* columns line up: SENSITIVITY starts at the same offset everywhere */
    const char *h = strstr(lines[0], "SENSITIVITY");
    assert_non_null(h);
    size_t off = (size_t)(h - lines[0]);
    assert_true(strncmp(lines[2] + off, "pii", 3) == 0);
    assert_true(strncmp(lines[3] + off, "-", 1) == 0);
    /* the broken record is explained on stderr, one line */
    assert_non_null(strstr(err, "_catalog/broken.json"));
    assert_non_null(strchr(err, '\n'));
    assert_true(strchr(err, '\n')[1] == '\0');
}

static void test_detail(void **state)
{
    (void)state;
    char out[8192], err[2048], args[512];
    snprintf(args, sizeof args, "customers --data '%s'", dir);
    assert_int_equal(run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "[PII]"));
    assert_non_null(strstr(out, "[FINANCIAL]"));
    assert_non_null(strstr(out, "contact"));
    assert_non_null(strstr(out, "mysql://user:***@host/shop"));
    assert_null(strstr(out, "hunter2"));
    assert_non_null(strstr(out, "(current)"));
    assert_non_null(strstr(out, "scheduled-mysql-1"));
    assert_string_equal(err, "");
}

static void test_json(void **state)
{
    (void)state;
    char out[16384], err[2048], args[512];
    snprintf(args, sizeof args, "--json --data '%s'", dir);
    assert_int_equal(run(args, out, sizeof out, err, sizeof err), 0);
    assert_true(out[0] == '[');
    assert_non_null(
        strstr(out, "\"name\": \"customers\", \"current_version\": 2, \"row_count\": 12"));
    assert_non_null(strstr(out, "\"sensitivity\": null"));
    assert_non_null(strstr(out, "\"error\": "));
    snprintf(args, sizeof args, "customers --json --data '%s'", dir);
    assert_int_equal(run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\"current_version\": 2"));
    assert_non_null(strstr(out, "\"is_pii\": true"));
    assert_null(strstr(out, "hunter2"));
}

static void test_errors(void **state)
{
    (void)state;
    char out[4096], err[2048], args[512];
    static const struct {
        const char *fmt;
        int code;
        const char *msg;
    } cases[] = {
        {"nope --data '%s'", 1, "not found"},
        {"broken --data '%s'", 1, "_catalog/broken.json"},
        {"'../x' --data '%s'", 1, "name"},
        {"--bogus --data '%s'", 2, "unknown option"},
        {"--data '%s' --store s3://bucket-x", 2, "not both"},
        {"--data '%s/does-not-exist'", 1, "does not exist"},
        {"--data", 2, "needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* "%s" in the row stands for the data directory */
        const char *ph = strstr(cases[i].fmt, "%s");
        if (ph)
            snprintf(args, sizeof args, "%.*s%s%s", (int)(ph - cases[i].fmt), cases[i].fmt, dir,
                     ph + 2);
        else
            snprintf(args, sizeof args, "%s", cases[i].fmt);
        int rc = run(args, out, sizeof out, err, sizeof err);
        if (rc != cases[i].code || !strstr(err, cases[i].msg))
            fail_msg("case %zu: rc %d, stderr '%s'", i, rc, err);
        assert_int_equal(strchr(err, '\n')[1], '\0'); /* one line */
        assert_string_equal(out, "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
