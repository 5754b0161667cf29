/*
 * fuzz_dsn_source.c — libFuzzer target for the source module's wrapper of
 * the DSN parser: src_dsn_check (what every DSN passes before libpq or the
 * MySQL client sees it) and src_url_parse (the mysql:// URL as our client
 * reads it), over the DSNs of dsn_cases.h. Properties: a refusal quotes no
 * part of the password; a mysql URL that parses gives back the password it
 * was built with (when the shape keeps it byte for byte).
 *
 * Under gcc the corpus in tests/fuzz/corpus/dsn replays through replay.c
 * (ctest fuzz_dsn_source_replay); LH_FUZZ builds the libFuzzer binary.
 */
#include "dsn_cases.h"
#include "source_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every refusal either kind can give, to tell a constant that happens to
 * contain the password from a message that quotes it. */
static char g_known[16384];

static void known_init(void)
{
    static const char *const bad[] = {
        "",
        "a",
        "=x",
        "a='b",
        "a=b c",
        "postgresql://a@b@c",
        "postgresql://u:p/w@h/d",
        "postgresql://h:x",
        "postgresql://h/%zz",
        "postgresql://h?x",
        "postgresql://[h",
        "pg://h/d",
        "mysql://h1,h2/d",
        "host=h a=1 b=2 c=3 d=4 e=5 f=6 g=7 i=8 j=9 k=10 l=11 m=12",
    };
    size_t o = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int k = 0; k < 2; k++) {
            struct lh_error e = {0};
            if (src_dsn_check(k ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES, bad[i], &e) != LH_OK)
                o += (size_t)snprintf(g_known + o, sizeof g_known - o, "%s\n", e.msg);
        }
}

static void check_refusal(const struct fz_case *c, const char *dsn, const struct lh_error *err)
{
    size_t n = strlen(c->pw);
    if (n >= 3 && !strstr(g_known, c->pw) && strspn(c->pw, "0123456789") != n)
        FZ_CHECK(strstr(err->msg, c->pw) == NULL, "refusal of %s quotes it: %s", dsn, err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_case c;
    if (!g_known[0])
        known_init();
    if (!fz_case_read(&c, data, size))
        return 0;
    const char *dsns[] = {c.dsn, c.raw};
    for (size_t i = 0; i < 2; i++) {
        struct lh_error err = {0};
        for (int k = 0; k < 2; k++) {
            enum lh_source_kind kind = k ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES;
            if (src_dsn_check(kind, dsns[i], &err) != LH_OK && i == 0)
                check_refusal(&c, dsns[i], &err);
        }
        struct lh_source s;
        memset(&s, 0, sizeof s);
        lh_arena_init(&s.arena, 1u << 20);
        struct src_url u;
        if (src_url_parse(&s, dsns[i], &u, &err) == LH_OK) {
            if (i == 0 && (c.shape == FZ_MY_PCT || (c.shape == FZ_MY_RAW && !strchr(c.pw, '%'))))
                FZ_CHECK(u.password && strcmp(u.password, c.pw) == 0, "password of %s is %s",
                         c.dsn, u.password ? u.password : "(none)");
        } else if (i == 0) {
            check_refusal(&c, dsns[i], &err);
        }
        lh_arena_reset(&s.arena);
    }
    return 0;
}
