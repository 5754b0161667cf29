/*
 * docbench.c — single-thread cost of each step of GET /api/schedules/{id}:
 * the old path (lh_schedule_to_json, json_loadb, http_json_redact,
 * json_dump_callback, two 12 KB copies wiped) against the writer the route
 * uses now (lh_schedule_to_json_compact with http_redact_text as filter,
 * straight into the body buffer), for bench/http (not built by CMake; a
 * measuring aid, not product code).
 * Build against a Release tree (router.c.o pulls route tables that are
 * never called, hence the linker flag):
 *   B=build-httpbench; cc -O2 -no-pie -std=c17 -D_DEFAULT_SOURCE -I src \
 *     -o /tmp/docbench bench/http/docbench.c \
 *     $B/src/http/CMakeFiles/lh_http.dir/router.c.o $B/src/schedule/liblh_schedule.a \
 *     $B/src/core/liblh_core.a -ljansson -lsodium -lm -Wl,--unresolved-symbols=ignore-all
 *   /tmp/docbench BODY.json [ITERS]   (BODY: a GET /api/schedules/{id} answer,
 *                                      e.g. KEEP=1 run.sh leaves $OUT/www/...)
 */
#include "http/http_int.h"
#include "schedule/schedule.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int dump_cb(const char *p, size_t n, void *d) { lh_buf_append(d, p, n); return 0; }
static volatile size_t sink;
static size_t redact_filter(void *ctx, const char *s, char *dst, size_t cap) { (void)ctx; return http_redact_text(s, dst, cap); }

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    static char text[65536];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    /* the GET body minus running/active_run_id is a valid schedule file */
    json_t *j = json_loadb(text, n, 0, NULL);
    json_object_del(j, "running"); json_object_del(j, "active_run_id");
    char *t2 = json_dumps(j, 0);
    json_decref(j);
    struct lh_schedule *store = malloc(sizeof *store);
    struct lh_error err;
    if (lh_schedule_from_json(t2, strlen(t2), NULL, store, NULL, &err) != LH_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
    int iters = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 200000;
    printf("sizeof(struct lh_schedule) = %zu bytes\n", sizeof *store);
    double t0, dt;
#define STEP(name, body) t0 = now(); for (int i = 0; i < iters; i++) { body; } dt = now() - t0; printf("%-44s %7.2f us\n", name, dt * 1e6 / iters);
    STEP("2x malloc+copy+sodium_memzero+free 12KB", {
        struct lh_schedule *d = malloc(sizeof *d); *d = *store;
        struct lh_schedule *c = malloc(sizeof *c); *c = *d; c->dsn_secret[0] = 0;
        sink += c->id[0]; lh_schedule_wipe(c, sizeof *c); free(c); lh_schedule_wipe(d, sizeof *d); free(d); });
    struct lh_buf b; lh_buf_init(&b, LH_SCHEDULE_JSON_MAX);
    if (lh_schedule_to_json(store, &b, &err) != LH_OK)
        return 1;
    printf("lh_schedule_to_json: %zu bytes (pretty)\n", b.len);
    lh_buf_reset(&b);
    STEP("lh_schedule_to_json (fresh buf)", { struct lh_buf bb; lh_buf_init(&bb, LH_SCHEDULE_JSON_MAX); if (lh_schedule_to_json(store, &bb, &err) != LH_OK) abort(); sink += bb.len; lh_buf_reset(&bb); });
    lh_buf_init(&b, LH_SCHEDULE_JSON_MAX);
    if (lh_schedule_to_json(store, &b, &err) != LH_OK)
        return 1;
    STEP("json_loadb + json_decref", { json_t *d = json_loadb((char *)b.data, b.len, 0, NULL); sink += json_object_size(d); json_decref(d); });
    STEP("json_loadb + http_json_redact + decref", { json_t *d = json_loadb((char *)b.data, b.len, 0, NULL); http_json_redact(d); json_decref(d); });
    json_t *doc = json_loadb((char *)b.data, b.len, 0, NULL);
    http_json_redact(doc);
    json_object_set_new(doc, "running", json_false()); json_object_set_new(doc, "active_run_id", json_null());
    STEP("json_dump_callback compact (fresh buf)", { struct lh_buf o; lh_buf_init(&o, 0); json_dump_callback(doc, dump_cb, &o, JSON_COMPACT | JSON_ENCODE_ANY); sink += o.len; lh_buf_reset(&o); });
    static char ids[1000][16];
    for (int k = 0; k < 1000; k++) snprintf(ids[k], 16, "bench-%04d", k + 1);
    STEP("linear strcmp scan over 1000 ids (avg 500)", { const char *want = ids[i % 1000]; for (int k = 0; k < 1000; k++) if (strcmp(ids[k], want) == 0) { sink += k; break; } });
    STEP("full current path (all of the above)", {
        struct lh_schedule *d = malloc(sizeof *d); *d = *store;
        struct lh_schedule *c = malloc(sizeof *c); *c = *d; c->dsn_secret[0] = 0;
        struct lh_buf bb; lh_buf_init(&bb, LH_SCHEDULE_JSON_MAX); if (lh_schedule_to_json(c, &bb, &err) != LH_OK) abort();
        json_t *dd = json_loadb((char *)bb.data, bb.len, 0, NULL); lh_buf_reset(&bb);
        lh_schedule_wipe(c, sizeof *c); free(c);
        http_json_redact(dd);
        json_object_set_new(dd, "running", json_false()); json_object_set_new(dd, "active_run_id", json_null());
        struct lh_buf o; lh_buf_init(&o, 0); json_dump_callback(dd, dump_cb, &o, JSON_COMPACT | JSON_ENCODE_ANY); json_decref(dd);
        sink += o.len; lh_buf_reset(&o); lh_schedule_wipe(d, sizeof *d); free(d); });
    STEP("proposed: to_json into reused buf + tail patch", {
        lh_buf_clear(&b); if (lh_schedule_to_json(store, &b, &err) != LH_OK) abort();
        b.len--; while (b.len && b.data[b.len - 1] != '}') b.len--; b.len--;
        lh_buf_append_str(&b, ",\"running\":false,\"active_run_id\":null}"); sink += b.len; });
    /* the route's writer now: straight from the store's copy, no tree */
    struct lh_schedule_json_opts jo = {.omit_secret = true, .filter = redact_filter, .run_state = true};
    struct lh_buf nb;
    lh_buf_init(&nb, 0);
    if (lh_schedule_to_json_compact(store, &jo, &nb, &err) != LH_OK)
        return 1;
    struct lh_buf ob;
    lh_buf_init(&ob, 0);
    json_dump_callback(doc, dump_cb, &ob, JSON_COMPACT | JSON_ENCODE_ANY);
    printf("new writer: %zu bytes, same bytes as the old path: %s\n", nb.len,
           nb.len == ob.len && memcmp(nb.data, ob.data, nb.len) == 0 ? "yes" : "NO");
    STEP("new: to_json_compact + redaction (reused buf)", {
        lh_buf_clear(&nb); if (lh_schedule_to_json_compact(store, &jo, &nb, &err) != LH_OK) abort(); sink += nb.len; });
    jo.filter = NULL;
    STEP("new, without the redaction filter", {
        lh_buf_clear(&nb); if (lh_schedule_to_json_compact(store, &jo, &nb, &err) != LH_OK) abort(); sink += nb.len; });
    return 0;
}
