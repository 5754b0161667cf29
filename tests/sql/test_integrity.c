/*
 * test_integrity.c — damaged and swapped parts under SQL (issue 12, item 2).
 *
 * One dataset, `garble` (20,000 rows in 10 row groups, one part of random
 * and regular columns), a fixed set of queries, and their answers on the
 * intact part. Then, with a seeded generator:
 *
 *   - 30 garbles of 16 random bytes anywhere in the part (same size):
 *     every query must give exactly the intact answer or fail with the one
 *     clear error naming dataset, version and part — never another answer.
 *     DuckDB does not check page CRCs, so the engine checks each part's
 *     whole-content checksum before DuckDB reads it (once per file identity
 *     in a process): every garble is caught, also one written in place
 *     into the same file;
 *   - the part swapped for another dataset's file, or truncated: the size
 *     check fails every query with that error.
 *
 * Each query opens its own engine, as the daemon (one per request) and the
 * CLI (one per command) do.
 *
 * The figures (tries, detected, right answers, silently wrong) are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixtures.h"
#include "sql/sql.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define ROWS 20000
#define TRIES 30
#define GARBLE 16
#define KEY "datasets/garble/v1/part-00000.parquet"
#define WHO "dataset garble version 1, part " KEY

static char dir[256];
static struct lh_store_set *set;
static struct lh_store *st;
static uint8_t *orig;
static size_t orig_len;

static const char *const queries[] = {
    "SELECT count(*) FROM garble",
    "SELECT sum(id), sum(r), count(s), sum(d) FROM garble",
    "SELECT id, r, s, d FROM garble WHERE id BETWEEN 7000 AND 7100",
    "SELECT s, count(*), sum(r) FROM garble GROUP BY s ORDER BY s LIMIT 20",
    "SELECT * FROM garble LIMIT 30 OFFSET 15000",
    "SELECT max(r), min(d) FROM garble WHERE r > 0",
    "SELECT * FROM garble",
};
#define NQ (sizeof queries / sizeof queries[0])
static char *want[NQ];

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int fx_garble(struct lh_store *pst, struct lh_catalog *cat)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "r", .type = LH_T_INT64},
        {.name = "s", .type = LH_T_STRING},
        {.name = "d", .type = LH_T_DOUBLE, .nullable = true},
    };
    static int64_t id[ROWS], r[ROWS];
    static double d[ROWS];
    static uint8_t dv[ROWS / 8 + 1];
    struct fx_strs s;
    fx_strs_init(&s, ROWS, ROWS * 8);
    uint64_t x = 2026;
    for (int i = 0; i < ROWS; i++) {
        id[i] = i;
        r[i] = (int64_t)(rng_next(&x) >> 20) - ((int64_t)1 << 43);
        d[i] = i * 0.25;
        lh_bit_set(dv, i, i % 9 != 0);
        char t[16];
        int k = snprintf(t, sizeof t, "k%03d", i % 1000);
        fx_strs_add(&s, i, t, (size_t)k);
    }
    struct lh_array a[4] = {
        {.length = ROWS, .values = id},
        {.length = ROWS, .values = r},
        {.length = ROWS, .offsets = s.off, .data = (uint8_t *)s.heap},
        {.length = ROWS, .values = d, .validity = dv},
    };
    struct lh_schema sc = {4, f};
    struct lh_batch b = {ROWS, a};
    const char *kp = KEY;
    uint64_t size;
    int rc = fx_put(pst, KEY, &sc, &b, 2000, &size);
    if (rc == 0)
        rc = fx_register(pst, cat, "garble", &kp, &size, 1, ROWS);
    fx_strs_free(&s);
    return rc;
}

/* The CSV answer of sql on a fresh engine (malloc'd), or NULL with err set. */
static char *run(const char *sql, struct lh_error *err)
{
    struct lh_sql_options o = {.timeout_ms = 20000};
    struct lh_sql_engine *e;
    if (lh_sql_engine_open(dir, NULL, &o, &e, err) != LH_OK)
        return NULL;
    struct lh_buf b;
    lh_buf_init(&b, 0);
    char *out = NULL;
    if (lh_sql_execute(e, sql, 0, LH_SQL_FORMAT_CSV, &b, err) == LH_OK) {
        lh_buf_cstr(&b);
        out = strdup((const char *)b.data);
    }
    lh_buf_reset(&b);
    lh_sql_engine_destroy(e);
    return out;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lh-sql-integrity-XXXXXX");
    if (!mkdtemp(dir) || fx_build(dir) != 0)
        return -1;
    struct lh_error err;
    struct lh_catalog *cat;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK)
        return -1;
    st = lh_store_set_primary(set);
    int rc = fx_garble(st, cat);
    lh_catalog_close(cat);
    if (rc != 0 || lh_store_get(st, KEY, 0, &orig, &orig_len, NULL, &err) != LH_OK)
        return -1;
    for (size_t i = 0; i < NQ; i++) {
        want[i] = run(queries[i], &err);
        if (!want[i]) {
            fprintf(stderr, "%s: %s\n", queries[i], err.msg);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lh_store_set_close(set);
    free(orig);
    for (size_t i = 0; i < NQ; i++)
        free(want[i]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put_part(const uint8_t *p, size_t n)
{
    struct lh_error err;
    assert_int_equal(lh_store_put(st, KEY, p, n, &err), LH_OK);
}

struct tally {
    int tries, detected, right, wrong; /* per try: any query refused / all right / any wrong */
};

/* Runs every query against the part as it is now; `must` (may be
 * NULL) is text the error has to contain besides the part's name. */
static void check_queries(const char *must, struct tally *t,
                          const char *what)
{
    bool det = false, wrong = false;
    for (size_t i = 0; i < NQ; i++) {
        struct lh_error err;
        lh_error_clear(&err);
        char *got = run(queries[i], &err);
        if (!got) {
            det = true;
            if (!strstr(err.msg, WHO) || (must && !strstr(err.msg, must)))
                fail_msg("%s: %s: not the clear error: %s", what, queries[i], err.msg);
        } else if (strcmp(got, want[i]) != 0) {
            wrong = true;
            printf("  %s: %s: silently wrong answer\n", what, queries[i]);
        }
        free(got);
    }
    t->tries++;
    t->detected += det;
    t->wrong += wrong;
    t->right += !det && !wrong;
}

static void test_intact_part_reads(void **state)
{
    (void)state;
    struct lh_error err;
    for (size_t i = 0; i < NQ; i++) {
        char *got = run(queries[i], &err);
        assert_non_null(got);
        assert_string_equal(got, want[i]);
        free(got);
    }
    assert_non_null(strstr(want[0], "20000"));
}

/* A part's bytes are read when a statement first reads its dataset, not
 * when the engine opens: "SELECT 42" reads no part, and a dataset is read
 * whole once per file identity however often it is queried. */
static void test_checked_when_read(void **state)
{
    (void)state;
    put_part(orig, orig_len); /* a new file: not checked yet in this process */
    struct lh_error err;
    uint64_t c0 = lh_sql_parts_checked();
    char *got = run("SELECT 42", &err);
    assert_non_null(got);
    free(got);
    assert_int_equal(lh_sql_parts_checked(), c0);
    got = run("DESCRIBE garble", &err);
    assert_non_null(got);
    free(got);
    assert_int_equal(lh_sql_parts_checked(), c0 + 1);
    for (int k = 0; k < 2; k++) {
        got = run(k ? "SELECT count(*) FROM \"garble@1\"" : queries[0], &err);
        assert_non_null(got);
        if (!k)
            assert_string_equal(got, want[0]);
        free(got);
    }
    assert_int_equal(lh_sql_parts_checked(), c0 + 1);
}

static void test_garbles_anywhere(void **state)
{
    (void)state;
    uint8_t *copy = malloc(orig_len);
    assert_non_null(copy);
    uint64_t seed = 0x5EED0012u;
    struct tally whole = {0};
    for (int t = 0; t < TRIES; t++) {
        memcpy(copy, orig, orig_len);
        size_t at = (size_t)(rng_next(&seed) % (orig_len - GARBLE + 1));
        for (size_t i = 0; i < GARBLE; i++)
            copy[at + i] = (uint8_t)rng_next(&seed);
        if (memcmp(copy + at, orig + at, GARBLE) == 0)
            continue;
        put_part(copy, orig_len);
        char what[64];
        snprintf(what, sizeof what, "garble at %zu", at);
        check_queries("content checksum", &whole, what);
    }
    put_part(orig, orig_len);
    printf("garbles anywhere: %d tries, %d detected, %d right, %d silently wrong\n", whole.tries,
           whole.detected, whole.right, whole.wrong);
    assert_int_equal(whole.tries, TRIES);
    assert_int_equal(whole.wrong, 0);
    assert_int_equal(whole.detected, TRIES);
    free(copy);
}

/* Bytes overwritten inside the very file the engine verified before (same
 * inode, same size): the file's identity changed (its mtime), so the next
 * engine checks it again and refuses it. */
static void test_garble_in_place_after_verify(void **state)
{
    (void)state;
    struct lh_error err;
    char *got = run(queries[1], &err); /* verifies the intact part */
    assert_non_null(got);
    assert_string_equal(got, want[1]);
    free(got);
    char path[512];
    snprintf(path, sizeof path, "%s/primary/%s", dir, KEY);
    struct timespec pause = {.tv_nsec = 20000000}; /* a distinct mtime on coarse clocks */
    nanosleep(&pause, NULL);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t junk[GARBLE];
    memset(junk, 0xA5, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, (off_t)(orig_len / 2)), GARBLE);
    close(fd);
    struct tally t = {0};
    check_queries("content checksum", &t, "garble in place");
    assert_int_equal(t.detected, 1);
    assert_int_equal(t.wrong, 0);
    put_part(orig, orig_len);
}

static void test_swapped_and_truncated(void **state)
{
    (void)state;
    struct lh_error err;
    uint8_t *other;
    size_t olen;
    assert_int_equal(
        lh_store_get(st, "datasets/customers/v1/part-00000.parquet", 0, &other, &olen, NULL, &err),
        LH_OK);
    assert_true(olen != orig_len);
    struct tally t = {0};
    put_part(other, olen); /* another dataset's file in its place */
    check_queries("bytes, the catalog recorded", &t, "swapped");
    put_part(orig, orig_len - 100); /* truncated */
    check_queries("bytes, the catalog recorded", &t, "truncated");
    put_part(orig, orig_len);
    printf("swapped or truncated part: %d runs of %zu queries, %d refused\n", t.tries, NQ,
           t.detected);
    assert_int_equal(t.wrong, 0);
    assert_int_equal(t.detected, 2);
    /* the message, whole */
    put_part(other, olen);
    assert_null(run("SELECT count(*) FROM garble", &err));
    printf("the error: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "restore it, or re-run the ingest"));
    /* the CLI: exit 1 and that one line on stderr, nothing on stdout */
    char cmd[1024], line[1024] = "", out[64] = "";
    snprintf(cmd, sizeof cmd, "%s sql --data '%s' 'SELECT count(*) FROM garble' 2>'%s/err.txt'",
             LH_TEST_LAKEHOUSE, dir, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    int cst = pclose(p);
    assert_int_equal(n, 0);
    assert_true(WIFEXITED(cst) && WEXITSTATUS(cst) == 1);
    snprintf(cmd, sizeof cmd, "%s/err.txt", dir);
    FILE *e = fopen(cmd, "r");
    assert_non_null(e);
    n = fread(line, 1, sizeof line - 1, e);
    line[n] = '\0';
    fclose(e);
    assert_non_null(strstr(line, "lakehouse: sql: " WHO ": "));
    assert_non_null(strchr(line, '\n'));
    assert_string_equal(strchr(line, '\n'), "\n"); /* one line */
    put_part(orig, orig_len);
    free(other);
    /* and back to the right answers */
    char *got = run(queries[1], &err);
    assert_non_null(got);
    assert_string_equal(got, want[1]);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact_part_reads),
        cmocka_unit_test(test_checked_when_read),
        cmocka_unit_test(test_garbles_anywhere),
        cmocka_unit_test(test_garble_in_place_after_verify),
        cmocka_unit_test(test_swapped_and_truncated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
