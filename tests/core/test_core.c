/*
 * test_core.c — the core tier: status table, errors, buffers, arenas,
 * dates and ISO-8601, atomic files (including a disk that fills up).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(lh_status_str(LH_OK), "ok");
    assert_string_equal(lh_status_str(LH_E_NOSPC), "no space left on device");
    assert_string_equal(lh_status_str(LH_E_FORMAT), "malformed data");
    assert_string_equal(lh_status_str((enum lh_status)999), "unknown status");
    /* every status has distinct, non-empty text */
    for (int i = 0; i < LH_STATUS_COUNT_; i++) {
        assert_true(strlen(lh_status_str((enum lh_status)i)) > 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(lh_status_str((enum lh_status)i),
                                    lh_status_str((enum lh_status)j));
    }
}

static void test_error_set_prefix(void **state)
{
    (void)state;
    struct lh_error e;
    lh_error_clear(&e);
    assert_int_equal(lh_error_set(&e, LH_E_INVAL, "bad %s %d", "field", 7), LH_E_INVAL);
    assert_string_equal(e.msg, "bad field 7");
    lh_error_prefix(&e, "schedule %s", "x");
    assert_string_equal(e.msg, "schedule x: bad field 7");
    assert_int_equal(e.status, LH_E_INVAL);
    /* A long prefix on a long message truncates, stays terminated. */
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lh_error_set(&e, LH_E_IO, "%s", big);
    lh_error_prefix(&e, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_int_equal(lh_error_errno(&e, 28 /* ENOSPC */, "write %s", "f"), LH_E_NOSPC);
    assert_non_null(strstr(e.msg, "write f: "));
    /* NULL err is allowed everywhere */
    assert_int_equal(lh_error_set(NULL, LH_E_IO, "x"), LH_E_IO);
}

static void test_buf_sticky_cap(void **state)
{
    (void)state;
    struct lh_buf b;
    lh_buf_init(&b, 10);
    lh_buf_append(&b, "12345", 5);
    lh_buf_append_str(&b, "6789");
    assert_true(lh_buf_ok(&b));
    assert_int_equal(b.len, 9);
    lh_buf_append(&b, "ab", 2); /* would pass the cap */
    assert_false(lh_buf_ok(&b));
    lh_buf_append_u8(&b, 'z'); /* no-op once broken */
    assert_int_equal(b.len, 9);
    lh_buf_clear(&b);
    assert_true(lh_buf_ok(&b));
    lh_buf_printf(&b, "%d-%s", 42, "x");
    lh_buf_cstr(&b);
    assert_string_equal((char *)b.data, "42-x");
    lh_buf_reset(&b);

    /* printf longer than the internal small buffer */
    lh_buf_init(&b, 0);
    char s[600];
    memset(s, 'q', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    lh_buf_printf(&b, "<%s>", s);
    assert_int_equal(b.len, 601);
    size_t n;
    uint8_t *p = lh_buf_take(&b, &n);
    assert_int_equal(n, 601);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[600], '>');
    free(p);
    assert_null(b.data);
}

static void test_arena(void **state)
{
    (void)state;
    struct lh_arena a;
    lh_arena_init(&a, 1 << 20);
    for (int i = 0; i < 1000; i++) {
        uint8_t *p = lh_arena_alloc(&a, (size_t)(i % 37) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_int_equal(p[0], 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    void *big = lh_arena_alloc(&a, 300000); /* bigger than a block */
    assert_non_null(big);
    assert_null(lh_arena_alloc(&a, 2 << 20)); /* over the cap */
    assert_null(lh_arena_alloc(&a, SIZE_MAX - 4)); /* overflow */
    char *s = lh_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    lh_arena_reset(&a);
    assert_int_equal(a.used, 0);
}

static void test_civil_dates(void **state)
{
    (void)state;
    static const struct {
        int64_t y;
        unsigned m, d;
        int64_t days;
    } cases[] = {
        {1970, 1, 1, 0},          {1969, 12, 31, -1},      {2000, 2, 29, 11016},
        {2026, 11, 24, 20781},    {1500, 1, 1, -171664},   {9999, 12, 31, 2932896},
        {2262, 4, 12, 106752},    {1, 1, 1, -719162},      {1900, 3, 1, -25508},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(lh_days_from_civil(cases[i].y, cases[i].m, cases[i].d), cases[i].days);
        int64_t y;
        unsigned m, d;
        lh_civil_from_days(cases[i].days, &y, &m, &d);
        assert_int_equal(y, cases[i].y);
        assert_int_equal(m, cases[i].m);
        assert_int_equal(d, cases[i].d);
    }
    /* every day over 800 years round-trips */
    for (int64_t z = -200000; z < 100000; z += 7) {
        int64_t y;
        unsigned m, d;
        lh_civil_from_days(z, &y, &m, &d);
        assert_int_equal(lh_days_from_civil(y, m, d), z);
    }
}

static void test_iso_format_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t us;
        const char *out; /* canonical form */
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00Z"},
        {"2026-04-16T20:36:04Z", 1776371764000000LL, "2026-04-16T20:36:04Z"},
        {"2026-04-16T22:36:04+02:00", 1776371764000000LL, "2026-04-16T20:36:04Z"},
        {"2026-04-16 20:36:04.5Z", 1776371764500000LL, "2026-04-16T20:36:04.500000Z"},
        {"1969-12-31T23:59:59.999999Z", -1, "1969-12-31T23:59:59.999999Z"},
        {"2026-03-08", 1772928000000000LL, "2026-03-08T00:00:00Z"},
        {"2026-03-08T07:00Z", 1772953200000000LL, "2026-03-08T07:00:00Z"},
        {"2026-03-08T02:00:00-05:00", 1772953200000000LL, "2026-03-08T07:00:00Z"},
        {"9999-12-31T23:59:59Z", 253402300799000000LL, "9999-12-31T23:59:59Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us;
        struct lh_error e;
        assert_int_equal(lh_time_parse_iso(cases[i].in, &us, &e), LH_OK);
        assert_int_equal(us, cases[i].us);
        char buf[48];
        lh_time_format_iso(us, buf, sizeof buf);
        assert_string_equal(buf, cases[i].out);
    }
    /* The extremes of int64 format without overflow. */
    char ext[48];
    lh_time_format_iso(INT64_MIN, ext, sizeof ext);
    assert_string_equal(ext, "-290308-12-21T19:59:05.224192Z");
    lh_time_format_iso(INT64_MAX, ext, sizeof ext);
    assert_string_equal(ext, "294247-01-10T04:00:54.775807Z");
    static const char *bad[] = {"",
                                "2026-13-01T00:00:00Z",
                                "2026-02-29",
                                "2026-04-31",
                                "2026-04-16T24:00:00Z",
                                "2026-04-16T20:36:04Zjunk",
                                "2026-4-16",
                                "yesterday",
                                "2026-04-16T20:36:04.Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us;
        struct lh_error e;
        assert_int_equal(lh_time_parse_iso(bad[i], &us, &e), LH_E_INVAL);
        assert_non_null(strstr(e.msg, "invalid timestamp"));
    }
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t a = lh_time_mono_ns();
    int64_t b = lh_time_mono_ns();
    assert_true(b >= a);
    /* after 2020-01-01 and before 2100-01-01 */
    int64_t w = lh_time_wall_us();
    assert_true(w > 1577836800000000LL && w < 4102444800000000LL);
}

/* lh_cond_wait_until: a past deadline times out at once; a deadline ahead
 * is waited for on the monotonic clock (no signal comes). */
static void test_cond_wait_until(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    lh_cond_init_mono(&cv);
    pthread_mutex_lock(&mu);
    assert_int_equal(lh_cond_wait_until(&cv, &mu, lh_time_mono_ns() - 1000), ETIMEDOUT);
    int64_t until = lh_time_mono_ns() + 20 * 1000000;
    int rc = 0;
    while (rc != ETIMEDOUT)
        rc = lh_cond_wait_until(&cv, &mu, until);
    assert_true(lh_time_mono_ns() >= until);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
}

/* lh_random_hex: 2n lowercase hex digits and a NUL, different each time. */
static void test_random_hex(void **state)
{
    (void)state;
    char a[200], b[200];
    memset(a, 'x', sizeof a);
    lh_random_hex(a, 4);
    assert_int_equal(strlen(a), 8);
    assert_int_equal(strspn(a, "0123456789abcdef"), 8);
    lh_random_hex(a, 16);
    lh_random_hex(b, 16);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    lh_random_hex(a, 99); /* more than one getrandom batch */
    assert_int_equal(strlen(a), 198);
    assert_int_equal(strspn(a, "0123456789abcdef"), 198);
}

/* lh_hex_encode (whole bytes as fit), lh_buf_append_hex, lh_uuid_format. */
static void test_hex(void **state)
{
    (void)state;
    const uint8_t b[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                           0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    char t[40];
    assert_int_equal(lh_hex_encode(b, 3, t, sizeof t), 6);
    assert_string_equal(t, "001122");
    assert_int_equal(lh_hex_encode(b, 3, t, 6), 4); /* "0011" and the NUL */
    assert_string_equal(t, "0011");
    assert_int_equal(lh_hex_encode(b, 3, t, 0), 0);
    lh_uuid_format(b, t);
    assert_string_equal(t, "00112233-4455-6677-8899-aabbccddeeff");
    uint8_t big[200];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    struct lh_buf o;
    lh_buf_init(&o, 0);
    lh_buf_append_hex(&o, big, sizeof big);
    assert_int_equal(o.len, 400);
    assert_memory_equal(o.data, "000102", 6);
    assert_memory_equal(o.data + 394, "c5c6c7", 6);
    lh_buf_reset(&o);
}

static char tmpdir[256];

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_atomic_file(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lh-core-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[300];
    snprintf(path, sizeof path, "%s/a/b/c.json", tmpdir);
    struct lh_error e;
    char sub[300];
    snprintf(sub, sizeof sub, "%s/a/b", tmpdir);
    assert_int_equal(lh_mkdir_p(sub, &e), LH_OK);
    assert_int_equal(lh_file_write_atomic(path, "first", 5, &e), LH_OK);

    uint8_t *data;
    size_t len;
    assert_int_equal(lh_file_read_all(path, 100, &data, &len, &e), LH_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "first", 5);
    free(data);

    /* Abort: the old content stays, no temporary is left behind. */
    struct lh_atomic_file f;
    assert_int_equal(lh_atomic_file_open(&f, path, &e), LH_OK);
    assert_int_equal(lh_atomic_file_write(&f, "partial", 7, &e), LH_OK);
    assert_int_equal(count_entries(sub), 2); /* c.json + its temporary */
    lh_atomic_file_abort(&f);
    assert_int_equal(count_entries(sub), 1);
    assert_int_equal(lh_file_read_all(path, 100, &data, &len, &e), LH_OK);
    assert_memory_equal(data, "first", 5);
    free(data);

    /* Disk full in the middle of a write: error, old content intact. */
    lh_fault_set_enospc_after(4);
    assert_int_equal(lh_file_write_atomic(path, "second!", 7, &e), LH_E_NOSPC);
    assert_non_null(strstr(e.msg, "No space left"));
    lh_fault_set_enospc_after(0);
    assert_int_equal(count_entries(sub), 1);
    assert_int_equal(lh_file_read_all(path, 100, &data, &len, &e), LH_OK);
    assert_memory_equal(data, "first", 5);
    free(data);

    /* Size cap on reads */
    assert_int_equal(lh_file_read_all(path, 3, &data, &len, &e), LH_E_TOOBIG);
    assert_int_equal(lh_file_read_all("/nonexistent/x", 3, &data, &len, &e), LH_E_NOTFOUND);
    /* mkdir_p over a file fails */
    assert_int_not_equal(lh_mkdir_p(path, &e), LH_OK);

    unlink(path);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a", tmpdir);
    rmdir(sub);
    rmdir(tmpdir);
}

static void test_parse_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        uint64_t v;
    } sizes[] = {
        {"4096", true, 4096},       {"64MiB", true, 64ULL << 20}, {"1M", true, 1ULL << 20},
        {"2GiB", true, 2ULL << 30}, {"512k", true, 512 * 1024},   {"10mb", true, 10000000},
        {"", false, 0},             {"-1", false, 0},             {"12xb", false, 0},
        {"99999999999999999999", false, 0}, {"20000000000GiB", false, 0},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t v = 0;
        assert_int_equal(lh_parse_size(sizes[i].s, &v), sizes[i].ok);
        if (sizes[i].ok)
            assert_int_equal(v, sizes[i].v);
    }
    int64_t v;
    assert_true(lh_parse_i64("-9223372036854775808", &v));
    assert_int_equal(v, INT64_MIN);
    assert_false(lh_parse_i64("9223372036854775808", &v));
    assert_false(lh_parse_i64("12 ", &v));
    assert_false(lh_parse_i64(" 12", &v));
    assert_false(lh_parse_i64("", &v));
}

static void test_type_widths(void **state)
{
    (void)state;
    static const struct {
        struct lh_field f;
        size_t width;
    } cases[] = {
        {{.type = LH_T_BOOL}, 1},
        {{.type = LH_T_INT8}, 4},
        {{.type = LH_T_UINT32}, 4},
        {{.type = LH_T_INT64}, 8},
        {{.type = LH_T_DECIMAL, .precision = 9}, 4},
        {{.type = LH_T_DECIMAL, .precision = 10}, 8},
        {{.type = LH_T_DECIMAL, .precision = 18}, 8},
        {{.type = LH_T_DECIMAL, .precision = 19}, 16},
        {{.type = LH_T_UUID}, 16},
        {{.type = LH_T_FIXED, .fixed_len = 12}, 12},
        {{.type = LH_T_STRING}, 0},
        {{.type = LH_T_TIMESTAMP}, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(lh_type_width(&cases[i].f), cases[i].width);
    assert_string_equal(lh_type_name(LH_T_DECIMAL), "decimal");
    assert_string_equal(lh_type_name(LH_T_COUNT_), "unknown");
}

static void test_utf8_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain ascii", "plain ascii"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80 ok", "caf\xc3\xa9 \xf0\x9f\x98\x80 ok"},
        {"cut \xf0\x9f\x98", "cut "},     /* 4-byte emoji cut after 3 bytes */
        {"cut \xc3", "cut "},               /* 2-byte sequence cut */
        {"latin1 \xe9t\xe9", "latin1 ?t"}, /* stray bytes become '?'; a lead byte at the end reads as a cut */
        {"\xc0\xaf overlong", "?? overlong"},
        {"\xed\xa0\x80 surrogate", "??? surrogate"},
        {"\xf4\x90\x80\x80 too big", "???? too big"},
        {"\x80 lone continuation", "? lone continuation"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        size_t n = lh_utf8_sanitize(buf);
        assert_string_equal(buf, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
    }
    /* the typical case: snprintf truncation in the middle of a character */
    char small[6];
    const char *volatile longer = "abcd\xc3\xa9"; /* hidden from -Wformat-truncation */
    snprintf(small, sizeof small, "%s", longer);
    lh_utf8_sanitize(small);
    assert_string_equal(small, "abcd");
}

static void test_json_str(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"q\"b\\", 4, "\"q\\\"b\\\\\""},
        {"a\nb\tc\rd\x01", 8, "\"a\\nb\\tc\\rd\\u0001\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"bad\xff" "end", 7, "\"bad\\ufffdend\""},          /* not UTF-8 */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},             /* overlong '/' */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},  /* a surrogate */
        {"cut\xe2\x82", 5, "\"cut\\ufffd\\ufffd\""},        /* truncated sequence */
        {"nul\0x", 5, "\"nul\\u0000x\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lh_buf b;
        lh_buf_init(&b, 0);
        lh_buf_json_str(&b, cases[i].in, cases[i].n);
        lh_buf_cstr(&b);
        assert_string_equal((const char *)b.data, cases[i].want);
        lh_buf_reset(&b);
    }
    assert_true(lh_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    assert_true(lh_utf8_valid("a\0b", 3));
    assert_false(lh_utf8_valid("\xc0\xaf", 2));     /* overlong */
    assert_false(lh_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(lh_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(lh_utf8_valid("\xe2\x82", 2));     /* cut */
}

/* lh_array_grow: room for one more, doubling from the first count; a
 * failure leaves the array and its capacity as they were. */
static void test_array_grow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0, n = 0;
    for (int i = 0; i < 100; i++) {
        int *nv = lh_array_grow(v, &cap, n, sizeof *nv, 4);
        assert_non_null(nv);
        v = nv;
        v[n++] = i;
        assert_true(n <= cap);
    }
    assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    assert_ptr_equal(lh_array_grow(v, &cap, 127, sizeof *v, 4), v); /* room: no realloc */
    size_t huge = SIZE_MAX / 2 + 1;
    assert_null(lh_array_grow(v, &huge, huge, sizeof *v, 4)); /* overflow: refused */
    assert_int_equal(huge, SIZE_MAX / 2 + 1);
    free(v);
}

/* lh_buf_csv_str: quoted only when it must be (or asked to), quotes doubled. */
static void test_csv_str(void **state)
{
    (void)state;
    struct lh_buf b;
    lh_buf_init(&b, 0);
    lh_buf_csv_str(&b, "plain", 5, false);
    lh_buf_append_u8(&b, '|');
    lh_buf_csv_str(&b, "a,\"b\"\n", 6, false);
    lh_buf_append_u8(&b, '|');
    lh_buf_csv_str(&b, "", 0, true);
    lh_buf_append_u8(&b, '|');
    lh_buf_csv_str(&b, "", 0, false);
    lh_buf_cstr(&b);
    assert_string_equal((const char *)b.data, "plain|\"a,\"\"b\"\"\n\"|\"\"|");
    lh_buf_reset(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_error_set_prefix),
        cmocka_unit_test(test_buf_sticky_cap),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_civil_dates),
        cmocka_unit_test(test_iso_format_parse),
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_atomic_file),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_type_widths),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_array_grow),
        cmocka_unit_test(test_csv_str),
        cmocka_unit_test(test_cond_wait_until),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
