/*
 * fuzz_cron.c — libFuzzer target for the schedule module's parsers of
 * outside bytes: cron expressions and, when the input starts with "TZif",
 * time zone files. Whatever parses is then exercised (next fire times in a
 * zone with DST, conversions both ways) so the walk is fuzzed too.
 *
 * Built with clang -fsanitize=fuzzer under LH_FUZZ; under gcc the corpus in
 * tests/fuzz/corpus/cron replays through tests/fuzz/replay.c (ctest schedule_fuzz_cron_replay).
 */
#include "schedule/schedule.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lh_error err;
    lh_error_clear(&err);
    if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
        struct lh_tz *tz = NULL;
        if (lh_tz_parse(data, size, "fuzz", &tz, &err) != LH_OK)
            return 0;
        struct lh_cron cron;
        if (lh_cron_parse(&cron, "*/30 1-3 * * *", &err) == LH_OK) {
            int64_t t = 1767225600; /* 2026-01-01 */
            for (int i = 0; i < 8; i++)
                if (lh_cron_next(&cron, tz, t, &t, &err) != LH_OK)
                    break;
        }
        for (int64_t u = -2000000000; u < 4000000000; u += 150000000) {
            struct lh_tz_local l;
            int64_t out[2];
            lh_tz_to_local(tz, u, &l);
            (void)lh_tz_local_to_utc(tz, l.local, out);
        }
        lh_tz_destroy(tz);
        return 0;
    }
    char expr[LH_CRON_EXPR_MAX + 2];
    if (size > sizeof expr - 1)
        size = sizeof expr - 1;
    memcpy(expr, data, size);
    expr[size] = '\0';
    struct lh_cron cron;
    if (lh_cron_parse(&cron, expr, &err) != LH_OK)
        return 0;
    const struct lh_tz *tz = NULL;
    if (lh_tz_load("Australia/Lord_Howe", &tz, &err) != LH_OK)
        tz = NULL;          /* UTC */
    int64_t t = 1775260800; /* 2026-04-04, days before a Lord Howe transition */
    for (int i = 0; i < 4; i++) {
        int64_t next;
        if (lh_cron_next(&cron, tz, t, &next, &err) != LH_OK)
            break;
        if (next <= t)
            __builtin_trap(); /* strictly after, always */
        t = next;
    }
    return 0;
}
