/*
 * gen_golden.c — writes every conformance case (cases.c) with our Parquet
 * writer into OUTDIR/<case>.parquet, and next to it OUTDIR/<case>.json with
 * the expected values, made from the same in-memory arrays (never through
 * our reader). The node checkers (check_duckdb.mjs, check_arrow.mjs) read
 * the files with independent readers and compare against the JSON.
 *
 * usage: gen_golden OUTDIR [--tamper]
 *   --tamper changes one expected value of the first non-empty case (the
 *   negative control: the checkers must then fail).
 */
#include "cases.h"

#include <string.h>

static int write_case(const struct gc_case *c, const char *dir, bool tamper)
{
    char path[4096];
    struct lh_error err;
    struct lh_arena arena;
    struct lh_atomic_file af = {.fd = -1};
    struct lh_buf json;
    struct lh_array cols[GC_MAX_COLS];
    struct lh_batch batch;
    int rc = 1;
    lh_error_clear(&err);
    lh_arena_init(&arena, 0);
    lh_buf_init(&json, 0);

    snprintf(path, sizeof path, "%s/%s.parquet", dir, c->name);
    if (lh_atomic_file_open(&af, path, &err) != LH_OK)
        goto fail;
    if (gc_write_case(c, lh_parquet_sink_atomic_file, &af, NULL, &err) != LH_OK) {
        lh_error_prefix(&err, "writing case %s", c->name);
        goto fail;
    }
    if (lh_atomic_file_commit(&af, &err) != LH_OK)
        goto fail;

    if (gc_build_batch(c, 0, c->nrows, &arena, cols, &batch, &err) != LH_OK)
        goto fail;
    if (tamper && c->nrows > 0) {
        /* Flip column int64_r row 0 in the expectations only. */
        for (size_t i = 0; i < c->nfields; i++) {
            if (strcmp(c->fields[i].name, "int64_r") == 0)
                ((int64_t *)(uintptr_t)cols[i].values)[0] ^= 1;
        }
    }
    gc_expected_json(c, cols, &json);
    if (!lh_buf_ok(&json)) {
        lh_error_set(&err, LH_E_NOMEM, "expected json too big");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/%s.json", dir, c->name);
    if (lh_file_write_atomic(path, json.data, json.len, &err) != LH_OK)
        goto fail;
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "gen_golden: %s: %s\n", lh_status_str(err.status), err.msg);
    lh_atomic_file_abort(&af);
    lh_buf_reset(&json);
    lh_arena_reset(&arena);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--tamper") != 0)) {
        fprintf(stderr, "usage: gen_golden OUTDIR [--tamper]\n");
        return 2;
    }
    struct lh_error err;
    lh_error_clear(&err);
    if (lh_mkdir_p(argv[1], &err) != LH_OK) {
        fprintf(stderr, "gen_golden: %s\n", err.msg);
        return 1;
    }
    bool tamper = argc == 3;
    int rc = 0;
    for (size_t i = 0; i < gc_case_count(); i++) {
        struct gc_case c;
        gc_case_get(i, &c);
        if (tamper && c.nrows == 0)
            continue;
        rc |= write_case(&c, argv[1], tamper);
        if (tamper)
            break; /* one tampered case is enough for the negative control */
    }
    return rc;
}
