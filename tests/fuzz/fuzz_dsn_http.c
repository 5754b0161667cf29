/*
 * fuzz_dsn_http.c — libFuzzer target for the HTTP layer's thin wrapper of
 * the redactor: http_redact_text (every string of every API answer about
 * schedules goes through it; http_json_redact cuts strings the same way),
 * over the DSNs of dsn_cases.h. Properties: "dsn: <DSN>" never shows the
 * password, and redacting the shown text again never shows more. (Not
 * idempotence: text that is not a DSN is redacted whole, to "***", so a
 * second pass over "dsn: host=h password=*** ..." may hide more; that is
 * the wrapper's caution, kept.)
 *
 * Under gcc the corpus in tests/fuzz/corpus/dsn replays through replay.c
 * (ctest fuzz_dsn_http_replay); LH_FUZZ builds the libFuzzer binary.
 */
#include "dsn_cases.h"
#include "http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s as an API answer shows it */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t n = http_redact_text(s, buf, cap);
    if (n == SIZE_MAX)
        return s;
    FZ_CHECK(n < cap, "redacted text of %zu bytes cut", n);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_case c;
    static char in[FZ_DSN + 16], oracle[FZ_DSN + 16], a[4 * FZ_DSN], b[4 * FZ_DSN];
    if (!fz_case_read(&c, data, size))
        return 0;
    snprintf(in, sizeof in, "dsn: %s", c.dsn);
    snprintf(oracle, sizeof oracle, "dsn: %s", c.oracle);
    const char *r = shown(in, a, sizeof a);
    if (fz_secret_applies(c.pw, oracle))
        FZ_CHECK(strstr(r, c.pw) == NULL, "%s shown as %s", in, r);
    if (r == a) {
        const char *r2 = shown(a, b, sizeof b);
        if (fz_secret_applies(c.pw, oracle))
            FZ_CHECK(strstr(r2, c.pw) == NULL, "%s shown again as %s", a, r2);
    }
    (void)shown(c.raw, a, sizeof a);
    return 0;
}
