/*
 * test_pg_copy.c — the binary COPY decoder (pg_copy.c) without a server:
 * a hand-built stream fed in chunks of every size (tuples straddling
 * messages, the header split), every truncation, targeted corruptions and
 * a few thousand seeded random mutations, which must end in LH_OK or a
 * clean LH_E_FORMAT/LH_E_TOOBIG (the sanitizer build checks the rest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "render.h"
#include "source_int.h"

/* ------------------------------------------------------------ stream builder */

static struct rbuf g_wire;

static void w16(int v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    rb_put(&g_wire, (const char *)b, 2);
}
static void w32(int64_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    rb_put(&g_wire, (const char *)b, 4);
}
static void w64(int64_t v)
{
    w32((int64_t)((uint64_t)v >> 32));
    w32(v & 0xffffffff);
}
static void wfield(const void *p, int32_t len)
{
    w32(len);
    if (len > 0)
        rb_put(&g_wire, p, (size_t)len);
}
static void wnull(void)
{
    w32(-1);
}
/* numeric: digits in base 10000 */
static void wnumeric(int weight, int sign, int dscale, int n, const int *digits)
{
    w32(8 + 2 * n);
    w16(n);
    w16(weight);
    w16(sign);
    w16(dscale);
    for (int i = 0; i < n; i++)
        w16(digits[i]);
}

#define NCOLS 12
static const struct pg_col PCOLS[NCOLS] = {
    {.kind = PK_INT4},
    {.kind = PK_BYTES},
    {.kind = PK_NUMERIC_DEC, .prec = 10, .scale = 2},
    {.kind = PK_NUMERIC_TEXT},
    {.kind = PK_INT4, .is_list = true, .wire_elem_oid = 23},
    {.kind = PK_DATE},
    {.kind = PK_TS},
    {.kind = PK_INTERVAL},
    {.kind = PK_TIMETZ},
    {.kind = PK_UUID},
    {.kind = PK_JSONB},
    {.kind = PK_MONEY, .prec = 19, .scale = 2},
};
static const struct lh_field FIELDS[NCOLS] = {
    {.name = "id", .type = LH_T_INT32},
    {.name = "txt", .type = LH_T_STRING, .nullable = true},
    {.name = "dec", .type = LH_T_DECIMAL, .precision = 10, .scale = 2, .nullable = true},
    {.name = "numt", .type = LH_T_STRING, .nullable = true},
    {.name = "arr",
     .type = LH_T_INT32,
     .is_list = true,
     .element_nullable = true,
     .nullable = true},
    {.name = "d", .type = LH_T_DATE, .nullable = true},
    {.name = "ts", .type = LH_T_TIMESTAMP, .ts_utc = true, .nullable = true},
    {.name = "iv", .type = LH_T_STRING, .nullable = true},
    {.name = "tz", .type = LH_T_STRING, .nullable = true},
    {.name = "u", .type = LH_T_UUID, .fixed_len = 16, .nullable = true},
    {.name = "jb", .type = LH_T_JSON, .nullable = true},
    {.name = "money", .type = LH_T_DECIMAL, .precision = 19, .scale = 2, .nullable = true},
};

/* What the rows must render as ("NULL" for NULL). */
static const char *const WANT[4][NCOLS] = {
    {"1", "héllo", "12345.67", "-1.5", "1|NULL|3", "2000-01-01", "2000-01-01 00:00:00",
     "P1Y2M4DT1H2M3S", "12:34:56.789+05:30", "00010203-0405-0607-0809-0a0b0c0d0e0f", "{\"a\": 1}",
     "12.34"},
    {"2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
    {"-5", "", "NULL", "NULL", "", "NULL", "NULL", "PT0S", "00:00:00+00",
     "ffffffff-ffff-ffff-ffff-ffffffffffff", "null", "-0.01"},
    {"7", "x", "-0.01", "0.0001", "-2147483648", "1970-01-01", "1969-12-31 23:59:59.999999",
     "P-1DT-0.5S", "23:59:59.999999-03:25:45", "NULL", "[]", "-92233720368547758.08"},
};
#define WANT_WARNINGS 4 /* row 3: numeric NaN twice, date infinity, timestamp -infinity */

static void build_stream(void)
{
    g_wire.len = 0;
    rb_put(&g_wire, "PGCOPY\n\377\r\n\0", 11);
    w32(0);
    w32(4); /* a header extension, skipped */
    w32(0xdeadbeef);
    /* row 1 */
    w16(NCOLS);
    w32(4), w32(1);
    wfield("h\xc3\xa9llo", 6);
    wnumeric(1, 0, 2, 3, (const int[]){1, 2345, 6700});
    wnumeric(0, 0x4000, 1, 2, (const int[]){1, 5000});
    w32(20 + 3 * 4 + 4 + 4); /* int4[] {1,NULL,3} */
    w32(1), w32(1), w32(23), w32(3), w32(1);
    w32(4), w32(1), w32(-1), w32(4), w32(3);
    w32(4), w32(0);
    w32(8), w64(0);
    w32(16), w64(3723000000LL), w32(4), w32(14);
    w32(12), w64(45296789000LL), w32(-19800);
    w32(16);
    for (int i = 0; i < 16; i++)
        rb_put(&g_wire, (const char[]){(char)i}, 1);
    wfield("\x01{\"a\": 1}", 9);
    w32(8), w64(1234);
    /* row 2: all NULL but the id */
    w16(NCOLS);
    w32(4), w32(2);
    for (int i = 1; i < NCOLS; i++)
        wnull();
    /* row 3: the edge values */
    w16(NCOLS);
    w32(4), w32(-5);
    wfield("", 0);
    wnumeric(0, 0xC000, 0, 0, NULL);
    wnumeric(0, 0xC000, 0, 0, NULL);
    w32(12), w32(0), w32(0), w32(23); /* empty array */
    w32(4), w32(INT32_MAX);
    w32(8), w64(INT64_MIN);
    w32(16), w64(0), w32(0), w32(0);
    w32(12), w64(0), w32(0);
    w32(16);
    for (int i = 0; i < 16; i++)
        rb_put(&g_wire, "\xff", 1);
    wfield("\x01null", 5);
    w32(8), w64(-1);
    /* row 4 */
    w16(NCOLS);
    w32(4), w32(7);
    wfield("x", 1);
    wnumeric(-1, 0x4000, 2, 1, (const int[]){100});
    wnumeric(-1, 0, 4, 1, (const int[]){1});
    w32(20 + 8);
    w32(1), w32(0), w32(23), w32(1), w32(1);
    w32(4), w32(INT32_MIN);
    w32(4), w32(-10957);
    w32(8), w64(-946684800000001LL);
    w32(16), w64(-500000), w32(-1), w32(0);
    w32(12), w64(86399999999LL), w32(12345);
    wnull();
    wfield("\x01[]", 3);
    w32(8), w64(INT64_MIN);
    /* trailer */
    w16(-1);
}

/* ------------------------------------------------------------ fake source */

static const uint8_t *g_feed;
static size_t g_feed_len, g_feed_pos, g_chunk;
static struct pg_stream g_ps;

static int feed_next(struct lh_source *s, const uint8_t **buf, size_t *len, struct lh_error *err,
                     enum lh_status *st)
{
    (void)s, (void)err, (void)st;
    if (g_feed_pos >= g_feed_len)
        return 0;
    size_t n = g_feed_len - g_feed_pos < g_chunk ? g_feed_len - g_feed_pos : g_chunk;
    *buf = g_feed + g_feed_pos;
    *len = n;
    g_feed_pos += n;
    return 1;
}

static enum lh_status t_fill(struct lh_source *s, struct lh_error *err)
{
    enum lh_status st = src_pg_stream_fill(s, &g_ps, feed_next, err);
    if (!st && g_ps.done)
        s->eof = true;
    return st;
}

static const struct src_driver T_DRIVER = {t_fill, NULL, NULL};

static struct lh_source *fake_source(void)
{
    struct lh_source *s = calloc(1, sizeof *s);
    assert_non_null(s);
    lh_arena_init(&s->arena, 1 << 20);
    s->drv = &T_DRIVER;
    s->batch_size = 3;
    s->ncols = NCOLS;
    s->fields = (struct lh_field *)FIELDS;
    snprintf(s->server, sizeof s->server, "test");
    struct lh_error err = {0};
    assert_int_equal(src_cols_init(s, &err), LH_OK);
    src_pg_stream_init(&g_ps, PCOLS);
    return s;
}

/* Feeds [p, p+n) in chunks of `chunk`; renders all rows into *out (one
 * line per row, '\t' between values). Returns the final status. */
static enum lh_status run(const uint8_t *p, size_t n, size_t chunk, struct rbuf *out,
                          int64_t *warnings)
{
    g_feed = p;
    g_feed_len = n;
    g_feed_pos = 0;
    g_chunk = chunk;
    struct lh_source *s = fake_source();
    struct lh_error err = {0};
    enum lh_status st;
    const struct lh_batch *b;
    while ((st = lh_source_next_batch(s, &b, &err)) == LH_OK && b) {
        assert_true(b->num_rows >= 1 && b->num_rows <= 3);
        for (int64_t r = 0; r < b->num_rows && out; r++) {
            for (size_t c = 0; c < NCOLS; c++) {
                if (c)
                    rb_str(out, "\t");
                if (!render_value(out, &FIELDS[c], &b->cols[c], r))
                    rb_str(out, "NULL");
            }
            rb_str(out, "\n");
        }
    }
    if (st == LH_OK) {
        struct lh_source_stats stats;
        lh_source_stats(s, &stats);
        if (warnings)
            *warnings = stats.warnings;
        assert_int_equal(stats.bytes_received, n);
    } else {
        assert_true(err.msg[0] != '\0');
    }
    src_pg_stream_free(&g_ps);
    s->fields = NULL; /* static */
    lh_source_close(s);
    return st;
}

static void test_decode_all_chunkings(void **state)
{
    (void)state;
    build_stream();
    struct rbuf want = {0};
    for (int r = 0; r < 4; r++) {
        for (int c = 0; c < NCOLS; c++) {
            if (c)
                rb_str(&want, "\t");
            rb_str(&want, WANT[r][c]);
        }
        rb_str(&want, "\n");
    }
    for (size_t chunk = 1; chunk <= g_wire.len; chunk++) {
        struct rbuf got = {0};
        int64_t warnings = -1;
        enum lh_status st = run((const uint8_t *)g_wire.p, g_wire.len, chunk, &got, &warnings);
        if (st != LH_OK)
            fail_msg("chunk %zu: %s", chunk, lh_status_str(st));
        if (strcmp(got.p, want.p))
            fail_msg("chunk %zu:\n%s\nwant:\n%s", chunk, got.p, want.p);
        assert_int_equal(warnings, WANT_WARNINGS);
        free(got.p);
    }
    free(want.p);
}

static void test_truncations(void **state)
{
    (void)state;
    build_stream();
    for (size_t n = 0; n < g_wire.len; n++) {
        enum lh_status st = run((const uint8_t *)g_wire.p, n, 7, NULL, NULL);
        if (st != LH_E_FORMAT)
            fail_msg("prefix %zu of %zu: %s", n, g_wire.len, lh_status_str(st));
    }
}

struct corrupt_case {
    const char *name;
    size_t at;   /* byte offset to overwrite */
    uint8_t val; /* new byte */
};

static void test_corruptions(void **state)
{
    (void)state;
    build_stream();
    const size_t row1 = 23; /* after the 19-byte header and its 4-byte extension */
    const struct corrupt_case cases[] = {
        {"signature", 0, 'X'},
        {"huge header extension", 15, 0x7f},
        {"field count", row1 + 1, NCOLS + 1},
        {"negative field count", row1, 0x80},
        {"int4 length", row1 + 2 + 3, 5},
        {"text length past the end", row1 + 2 + 8, 0x7f},
        {"negative length", row1 + 2 + 8, 0xfe},
        {"numeric ndigits", row1 + 2 + 8 + 10 + 4 + 1, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *copy = malloc(g_wire.len + 1);
        memcpy(copy, g_wire.p, g_wire.len);
        copy[cases[i].at] = (char)cases[i].val;
        enum lh_status st = run((const uint8_t *)copy, g_wire.len, 64, NULL, NULL);
        if (st != LH_E_FORMAT)
            fail_msg("%s: %s", cases[i].name, lh_status_str(st));
        free(copy);
    }
    /* bytes after the trailer */
    char *copy = malloc(g_wire.len + 1);
    memcpy(copy, g_wire.p, g_wire.len);
    copy[g_wire.len] = 0;
    assert_int_equal(run((const uint8_t *)copy, g_wire.len + 1, 64, NULL, NULL), LH_E_FORMAT);
    free(copy);
}

static uint64_t rng(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_random_mutations(void **state)
{
    (void)state;
    build_stream();
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char *copy = malloc(g_wire.len);
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, g_wire.p, g_wire.len);
        int flips = 1 + (int)(rng(&seed) % 3);
        for (int k = 0; k < flips; k++)
            copy[rng(&seed) % g_wire.len] = (char)rng(&seed);
        size_t chunk = 1 + rng(&seed) % 97;
        enum lh_status st = run((const uint8_t *)copy, g_wire.len, chunk, NULL, NULL);
        if (st != LH_OK && st != LH_E_FORMAT && st != LH_E_TOOBIG)
            fail_msg("iteration %d: %s", iter, lh_status_str(st));
        st == LH_OK ? ok++ : bad++;
    }
    /* both outcomes occur: mutations of values pass, of structure fail */
    assert_true(ok > 0 && bad > 0);
    free(copy);
}

/* ------------------------------------------------------------ numeric text */

static const struct pg_col NUM_PCOL[1] = {{.kind = PK_NUMERIC_TEXT}};
static const struct lh_field NUM_FIELD[1] = {{.name = "n", .type = LH_T_STRING, .nullable = true}};

struct num_case {
    int weight, sign, dscale, n;
    int digits[8];
    const char *want; /* numeric_out's text; NULL: LH_E_FORMAT */
};

/* One value of a one-column stream through the decoder, fed in chunks of
 * `chunk`: its text (caller frees) or NULL on LH_E_FORMAT. */
static char *numeric_text(int weight, int sign, int dscale, int n, const int *digits, size_t chunk)
{
    g_wire.len = 0;
    rb_put(&g_wire, "PGCOPY\n\377\r\n\0", 11);
    w32(0);
    w32(0);
    w16(1);
    wnumeric(weight, sign, dscale, n, digits);
    w16(-1);
    g_feed = (const uint8_t *)g_wire.p;
    g_feed_len = g_wire.len;
    g_feed_pos = 0;
    g_chunk = chunk;
    struct lh_source *s = calloc(1, sizeof *s);
    assert_non_null(s);
    lh_arena_init(&s->arena, 1 << 20);
    s->drv = &T_DRIVER;
    s->batch_size = 4;
    s->ncols = 1;
    s->fields = (struct lh_field *)NUM_FIELD;
    snprintf(s->server, sizeof s->server, "test");
    struct lh_error err = {0};
    assert_int_equal(src_cols_init(s, &err), LH_OK);
    src_pg_stream_init(&g_ps, NUM_PCOL);
    const struct lh_batch *b = NULL;
    char *text = NULL;
    enum lh_status st = lh_source_next_batch(s, &b, &err);
    if (st == LH_OK) {
        assert_non_null(b);
        assert_int_equal(b->num_rows, 1);
        const struct lh_array *a = &b->cols[0];
        size_t len = (size_t)(a->offsets[1] - a->offsets[0]);
        text = malloc(len + 1);
        memcpy(text, a->data + a->offsets[0], len);
        text[len] = '\0';
    } else {
        assert_int_equal(st, LH_E_FORMAT);
    }
    src_pg_stream_free(&g_ps);
    s->fields = NULL;
    lh_source_close(s);
    return text;
}

static void test_numeric_text(void **state)
{
    (void)state;
    const struct num_case cases[] = {
        {0, 0, 0, 0, {0}, "0"},                          /* zero, dscale 0 */
        {0, 0, 2, 0, {0}, "0.00"},                       /* zero with a scale */
        {0, 0x4000, 1, 1, {5}, "-5.0"},                  /* negative, padding */
        {2, 0, 0, 1, {1}, "100000000"},                  /* trailing zero groups */
        {1, 0x4000, 8, 1, {1234}, "-12340000.00000000"}, /* both */
        {-2, 0, 9, 1, {100}, "0.000001000"},             /* negative weight */
        {-5, 0, 20, 1, {1}, "0.00000000000000000001"},   /* zero groups first */
        {-1, 0, 12, 2, {1234, 5678}, "0.123456780000"},  /* scale > digits */
        {0, 0, 3, 3, {1, 2345, 6700}, "1.234"},          /* a partial last group */
        {0, 0, 0, 1, {7}, "7"},                          /* first group: 1 digit */
        {0, 0, 0, 1, {42}, "42"},                        /* 2 */
        {0, 0, 0, 1, {305}, "305"},                      /* 3 */
        {1, 0, 0, 2, {9999, 10}, "99990010"},            /* 4, inner zeros kept */
        {1, 0, 2, 3, {12, 3400, 5000}, "123400.50"},     /* dscale below the digits */
        {0, 0, 0, 1, {10000}, NULL},                     /* a group past 9999 */
        {-1, 0, 4, 1, {10000}, NULL},                    /* in the fraction */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct num_case *c = &cases[i];
        for (size_t chunk = 1; chunk <= 64; chunk += 63) {
            char *got = numeric_text(c->weight, c->sign, c->dscale, c->n, c->digits, chunk);
            if (!c->want ? got != NULL : !got || strcmp(got, c->want))
                fail_msg("case %zu chunk %zu: got %s, want %s", i, chunk, got ? got : "(error)",
                         c->want ? c->want : "(error)");
            free(got);
        }
    }
    /* 1000 digits before the point, 1000 after: 250 + 250 groups */
    int big[500];
    for (int i = 0; i < 500; i++)
        big[i] = i < 250 ? 9999 : 1111;
    char want[2002];
    memset(want, '9', 1000);
    want[1000] = '.';
    memset(want + 1001, '1', 1000);
    want[2001] = '\0';
    g_wire.len = 0;
    char *got = numeric_text(249, 0, 1000, 500, big, 4096);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_all_chunkings), cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_corruptions),          cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_numeric_text),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_wire.p);
    return rc;
}
