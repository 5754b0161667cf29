/*
 * fuzz_dsn.c — libFuzzer target for core's DSN parser, redactors and
 * scrubbers (lh_dsn_parse, lh_redact_dsn, lh_redact_text, lh_redact_secret,
 * lh_redact_scrub), with random passwords in every DSN form (dsn_cases.h).
 * Properties, beyond "returns" (a hang is a libFuzzer -timeout, and the
 * ctest TIMEOUT of the replay):
 *   - a DSN that parses gives back the password it was built with;
 *   - a refusal quotes nothing of the DSN;
 *   - no redacted or scrubbed text holds a password of 3 bytes or more
 *     (unless the properly redacted text holds it anyway: "**" in "***");
 *   - redacting redacted text changes nothing.
 *
 * Built with clang -fsanitize=fuzzer under LH_FUZZ; under gcc the corpus in
 * tests/fuzz/corpus/dsn replays through replay.c (ctest fuzz_dsn_replay).
 */
#include "dsn_cases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every refusal message, to tell a constant that happens to contain the
 * password from a message that quotes it. */
static char g_known[8192];

static void known_init(void)
{
    static const char *const bad[] = {
        "",   "a", "=x", "a='b", "a=b c", "postgresql://a@b@c", "postgresql://u:p/w@h/d",
        "postgresql://h:x", "postgresql://h/%zz", "postgresql://h?x", "postgresql://[h",
    };
    size_t o = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lh_dsn d;
        struct lh_error e = {0};
        if (lh_dsn_parse(bad[i], &d, &e) != LH_OK)
            o += (size_t)snprintf(g_known + o, sizeof g_known - o, "%s\n", e.msg);
    }
    char big[LH_DSN_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct lh_dsn d;
    struct lh_error e = {0};
    if (lh_dsn_parse(big, &d, &e) != LH_OK)
        snprintf(g_known + o, sizeof g_known - o, "%s\n", e.msg);
}

static void check_parts(const struct lh_dsn *d, const char *s)
{
    const struct lh_dsn_part parts[] = {d->scheme, d->user,  d->password,
                                        d->hosts,  d->db,    d->query};
    size_t n = strlen(s);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        FZ_CHECK(!parts[i].p || (parts[i].p >= s && parts[i].p + parts[i].n <= s + n),
                 "part %zu outside %s", i, s);
    size_t pos = 0;
    struct lh_dsn_part k, v;
    unsigned guard = 0;
    while (lh_dsn_param_next(d, &pos, &k, &v)) {
        FZ_CHECK(k.p >= s && v.p + v.n <= s + n, "param outside %s", s);
        FZ_CHECK(++guard <= n + 1, "parameters never end in %s", s);
    }
}

/* Whether the shape keeps the password byte for byte through the parser. */
static bool exact_shape(const struct fz_case *c)
{
    const char *pw = c->pw;
    switch (c->shape) {
    case FZ_PG_RAW:
    case FZ_MY_RAW:
        return !strchr(pw, '%');
    case FZ_KV_RAW:
        return pw[0] && pw[0] != '\'' && !strpbrk(pw, " \t\n\v\f\r\\");
    default:
        return true;
    }
}

static void redact_idempotent(const char *s, size_t (*fn)(const char *, char *, size_t))
{
    static char r1[4 * FZ_DSN], r2[4 * FZ_DSN];
    size_t n1 = fn(s, r1, sizeof r1);
    FZ_CHECK(n1 < sizeof r1 && n1 == strlen(r1), "length %zu of %s", n1, r1);
    size_t n2 = fn(r1, r2, sizeof r2);
    FZ_CHECK(n2 == n1 && strcmp(r1, r2) == 0, "not idempotent: %s -> %s -> %s", s, r1, r2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_case c;
    static char out[4 * FZ_DSN], again[4 * FZ_DSN], enc[3 * FZ_FIELD + 1];
    if (!g_known[0])
        known_init();
    if (!fz_case_read(&c, data, size))
        return 0;

    /* the parser over the built DSN */
    struct lh_dsn d;
    struct lh_error err = {0};
    if (lh_dsn_parse(c.dsn, &d, &err) == LH_OK) {
        check_parts(&d, c.dsn);
        if (exact_shape(&c)) {
            struct lh_dsn_part p = lh_dsn_password(&d);
            FZ_CHECK(p.p != NULL, "no password in %s", c.dsn);
            size_t n = lh_dsn_decode(&d, p, out, sizeof out);
            FZ_CHECK(n == strlen(c.pw) && strcmp(out, c.pw) == 0, "password of %s is %s",
                     c.dsn, out);
        }
    } else if (fz_secret_applies(c.pw, g_known)) {
        FZ_CHECK(strstr(err.msg, c.pw) == NULL, "refusal of %s quotes it: %s", c.dsn, err.msg);
    }

    /* An unquoted key=value password cannot hold a space or start with a
     * quote: "password=a b=c" is a password and a parameter b to libpq as
     * to everyone, "password='a b" an unterminated quoted value. Such an
     * input is no DSN carrying that password, so the leak checks leave it
     * out (the scrubber still masks every run of the refused value's first
     * words). */
    bool ambiguous =
        c.shape == FZ_KV_RAW && (strpbrk(c.pw, " \t\n\v\f\r") || c.pw[0] == '\'');

    /* the redactor: no password, idempotent */
    lh_redact_dsn(c.dsn, out, sizeof out);
    if (!ambiguous && fz_secret_applies(c.pw, c.oracle))
        FZ_CHECK(strstr(out, c.pw) == NULL, "%s redacted to %s", c.dsn, out);
    fz_pct(c.pw, enc, sizeof enc);
    if (fz_secret_applies(enc, c.oracle))
        FZ_CHECK(strstr(out, enc) == NULL, "%s redacted to %s", c.dsn, out);
    redact_idempotent(c.dsn, lh_redact_dsn);

    /* anything at all: parses or not, and redacts idempotently */
    if (lh_dsn_parse(c.raw, &d, &err) == LH_OK)
        check_parts(&d, c.raw);
    redact_idempotent(c.raw, lh_redact_dsn);
    redact_idempotent(c.raw, lh_redact_text);
    redact_idempotent(c.dsn, lh_redact_text);

    /* the secret scrubber: ends, masks every occurrence, idempotent */
    static char oracle[4 * FZ_DSN];
    snprintf(out, sizeof out, "x %s y %s%s z", c.pw, c.pw, c.tail);
    snprintf(oracle, sizeof oracle, "x *** y ***%s z", c.tail);
    lh_redact_secret(out, sizeof out, c.pw);
    if (fz_secret_applies(c.pw, oracle)) {
        FZ_CHECK(strstr(out, c.pw) == NULL, "scrubbed to %s", out);
        memcpy(again, out, strlen(out) + 1);
        lh_redact_secret(again, sizeof again, c.pw);
        FZ_CHECK(strcmp(again, out) == 0, "scrub not idempotent: %s -> %s", out, again);
    }
    /* in a small buffer, cut where the message was cut */
    char small[24];
    size_t tl = strlen(c.tail) < 8 ? strlen(c.tail) : 8, pl = strlen(c.pw);
    memcpy(small, c.tail, tl);
    memcpy(small + tl, c.pw, pl < sizeof small - 1 - tl ? pl : sizeof small - 1 - tl);
    small[pl < sizeof small - 1 - tl ? tl + pl : sizeof small - 1] = '\0';
    lh_redact_secret(small, sizeof small, c.pw);
    FZ_CHECK(strlen(small) < sizeof small, "overflow");

    /* the message scrubber, given the whole DSN */
    snprintf(out, sizeof out, "failed: %s | %s", c.dsn, c.pw);
    snprintf(oracle, sizeof oracle, "failed: %s | ***", c.oracle);
    lh_redact_scrub(out, sizeof out, c.dsn);
    if (!ambiguous && fz_secret_applies(c.pw, oracle))
        FZ_CHECK(strstr(out, c.pw) == NULL, "%s scrubbed to %s", c.dsn, out);
    snprintf(again, sizeof again, "%s", c.raw);
    lh_redact_scrub(again, sizeof again, c.raw);
    return 0;
}
