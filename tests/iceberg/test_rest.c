/*
 * test_rest.c — the daemon's Iceberg REST catalog (/iceberg/v1), end to end.
 *
 * A data directory gets, through the catalog and iceberg APIs with real
 * Parquet parts:
 *   orders     primary bucket: snapshot 1001 (overwrite), 1002 (append);
 *   customers  bucket "archive" (parts and metadata there): snapshot 2001,
 *              then 2002 overwriting with an evolved schema (amount
 *              dropped, email added);
 *   plain      a catalog dataset without Iceberg metadata (no table);
 *   broken     a catalog dataset whose version-hint.text is garbage.
 * The real `lakehouse serve` runs on it with a token. Then:
 *   - tests/iceberg/rest_check.mjs: iceberg-js (npm, an independent REST
 *     client) lists namespaces and tables and loads each table through the
 *     daemon, checking names, schema fields and snapshot ids against
 *     expect.json; icebird reads each table from the returned
 *     metadata-location, value by value;
 *   - with libcurl: the token rule, 404s in the spec's ErrorModel shape,
 *     HEAD endpoints, paging, the read-only refusals, and that the loaded
 *     metadata is the stored file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "daemon.h"
#include "iceberg/iceberg.h"

#define TOKEN "ice-tok-7Q"
#define AUTH "Bearer " TOKEN
#define NROWS 3

static char g_dir[256];
static struct daemon g_d;
static json_t *g_expect; /* {"tables": {name: {...}}} */

/* ------------------------------------------------------------ data */

static const struct lh_field F_ORDERS[] = {
    {.name = "id", .type = LH_T_INT64},
    {.name = "name", .type = LH_T_STRING, .nullable = true},
    {.name = "amount", .type = LH_T_DOUBLE},
};
static const struct lh_field F_EVOLVED[] = {
    {.name = "id", .type = LH_T_INT64},
    {.name = "name", .type = LH_T_STRING, .nullable = true},
    {.name = "email", .type = LH_T_STRING},
};

static enum lh_status sink_buf(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    lh_buf_append(ctx, p, n);
    return lh_buf_ok(ctx) ? LH_OK : lh_error_set(err, LH_E_NOMEM, "out of memory");
}

/* Row i of a part seeded `seed`, as icebird's values print (rest_check.mjs). */
static json_t *row_expect(const struct lh_iceberg_schema *s, int seed, int i)
{
    json_t *r = json_object();
    char b[64];
    for (size_t c = 0; c < s->ncolumns; c++) {
        const char *n = s->columns[c].field.name;
        if (!strcmp(n, "id")) {
            snprintf(b, sizeof b, "%d", seed * 100 + i);
            json_object_set_new(r, n, json_string(b));
        } else if (!strcmp(n, "name")) {
            snprintf(b, sizeof b, "name %d-%d", seed, i);
            json_object_set_new(r, n, i == 1 ? json_null() : json_string(b));
        } else if (!strcmp(n, "amount")) {
            snprintf(b, sizeof b, "%g", seed + i * 0.25);
            json_object_set_new(r, n, json_string(b));
        } else {
            snprintf(b, sizeof b, "u%d.%d@example.com", seed, i);
            json_object_set_new(r, n, json_string(b));
        }
    }
    return r;
}

/* Writes one real Parquet part with the schema's field ids and fills df. */
static void write_part(struct lh_store *st, const char *key, const struct lh_iceberg_schema *s,
                       int seed, int64_t snap, int64_t seq, struct lh_arena *arena,
                       struct lh_iceberg_data_file *df)
{
    struct lh_error err;
    struct lh_buf file, sj;
    lh_buf_init(&file, 0);
    lh_buf_init(&sj, 0);
    struct lh_field fields[4];
    int32_t ids[4], eids[4];
    for (size_t c = 0; c < s->ncolumns; c++) {
        fields[c] = s->columns[c].field;
        ids[c] = s->columns[c].id;
        eids[c] = 0;
    }
    lh_iceberg_schema_json(s, &sj);
    lh_buf_cstr(&sj);
    struct lh_parquet_kv kv = {"iceberg.schema", (const char *)sj.data};
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.kv = &kv, o.nkv = 1, o.field_ids = ids, o.element_field_ids = eids;
    struct lh_schema sch = {s->ncolumns, fields};
    struct lh_parquet_writer *w;
    assert_int_equal(lh_parquet_writer_create(&sch, &o, sink_buf, &file, &w, &err), LH_OK);

    int64_t id[NROWS];
    double amount[NROWS];
    char names[128], emails[128];
    int32_t name_off[NROWS + 1] = {0}, email_off[NROWS + 1] = {0};
    uint8_t name_valid = 0;
    int nn = 0, ne = 0;
    for (int i = 0; i < NROWS; i++) {
        id[i] = seed * 100 + i;
        amount[i] = seed + i * 0.25;
        if (i != 1) {
            name_valid |= (uint8_t)(1u << i);
            nn += snprintf(names + nn, sizeof names - (size_t)nn, "name %d-%d", seed, i);
        }
        name_off[i + 1] = nn;
        ne += snprintf(emails + ne, sizeof emails - (size_t)ne, "u%d.%d@example.com", seed, i);
        email_off[i + 1] = ne;
    }
    struct lh_array cols[4];
    for (size_t c = 0; c < s->ncolumns; c++) {
        const char *n = fields[c].name;
        struct lh_array a = {.length = NROWS};
        if (!strcmp(n, "id"))
            a.values = id;
        else if (!strcmp(n, "name"))
            a.offsets = name_off, a.data = (uint8_t *)names, a.validity = &name_valid;
        else if (!strcmp(n, "amount"))
            a.values = amount;
        else
            a.offsets = email_off, a.data = (uint8_t *)emails;
        cols[c] = a;
    }
    struct lh_batch b = {NROWS, cols};
    assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
    assert_int_equal(lh_store_put(st, key, file.data, file.len, &err), LH_OK);

    struct lh_parquet_reader *r;
    assert_int_equal(lh_parquet_reader_open_mem(file.data, file.len, &r, &err), LH_OK);
    struct lh_iceberg_column_stats *cs;
    size_t ncs;
    assert_int_equal(
        lh_iceberg_stats_from_parquet(s, lh_parquet_reader_info(r), arena, &cs, &ncs, &err), LH_OK);
    lh_parquet_reader_close(r);
    char uri[700];
    assert_true(lh_iceberg_location(st, key, uri, sizeof uri) > 0);
    *df = (struct lh_iceberg_data_file){.path = lh_arena_strndup(arena, uri, strlen(uri)),
                                        .size_bytes = file.len,
                                        .record_count = NROWS,
                                        .added_snapshot_id = snap,
                                        .added_sequence_number = seq,
                                        .stats = cs,
                                        .nstats = ncs};
    lh_buf_reset(&file);
    lh_buf_reset(&sj);
}

/* One table of two snapshots; the second appends (same schema) or
 * overwrites with the evolved schema. Each snapshot is also a catalog
 * version whose objects are its live parts. */
static void build_table(struct lh_catalog *cat, struct lh_store *st, const char *bucket,
                        const char *name, int64_t sid0, bool evolve, int seed0)
{
    struct lh_error err;
    struct lh_arena arena;
    lh_arena_init(&arena, 0);
    char prefix[128], location[512], uuid[LH_ICEBERG_UUID_LEN + 1];
    snprintf(prefix, sizeof prefix, "datasets/%s", name);
    assert_true(lh_iceberg_location(st, prefix, location, sizeof location) > 0);
    assert_int_equal(lh_iceberg_uuid_generate(uuid, &err), LH_OK);
    struct lh_iceberg_column c0[3], c1[3];
    struct lh_iceberg_schema schemas[2];
    int32_t last = 0;
    struct lh_schema s0 = {3, F_ORDERS}, s1 = {3, F_EVOLVED};
    lh_iceberg_schema_assign(NULL, &last, &s0, c0);
    schemas[0] = (struct lh_iceberg_schema){0, 3, c0};
    lh_iceberg_schema_assign(&schemas[0], &last, &s1, c1);
    schemas[1] = (struct lh_iceberg_schema){1, 3, c1};
    size_t nschemas = evolve ? 2 : 1;

    struct lh_iceberg_data_file files[2][2];
    struct lh_iceberg_snapshot snaps[2];
    json_t *rows = json_array(), *t = json_object();
    for (int v = 1; v <= 2; v++) {
        int sch = evolve && v == 2 ? 1 : 0;
        size_t n = 0;
        if (v == 2 && !evolve)
            files[1][n++] = files[0][0]; /* append keeps snapshot 1's part */
        char key[200];
        snprintf(key, sizeof key, "%s/run-%d/part-00000.parquet", prefix, v);
        write_part(st, key, &schemas[sch], seed0 + v, sid0 + v - 1, v, &arena, &files[v - 1][n]);
        n++;
        snaps[v - 1] = (struct lh_iceberg_snapshot){
            .snapshot_id = sid0 + v - 1,
            .parent_id = v > 1 ? sid0 : 0,
            .sequence_number = v,
            .timestamp_ms = 1700000000000 + v,
            .op = v == 2 && !evolve ? LH_ICEBERG_APPEND : LH_ICEBERG_OVERWRITE,
            .schema_id = sch,
            .files = files[v - 1],
            .nfiles = n,
            .is_new = true,
        };
        if (v == 2)
            snaps[0].is_new = false;
        struct lh_iceberg_table tab = {.location = location,
                                       .key_prefix = prefix,
                                       .uuid = uuid,
                                       .schemas = schemas,
                                       .nschemas = v == 2 ? nschemas : 1,
                                       .current_schema_id = sch,
                                       .last_column_id = v == 2 && evolve ? last : 3,
                                       .snapshots = snaps,
                                       .nsnapshots = (size_t)v,
                                       .current_snapshot_id = sid0 + v - 1,
                                       .last_updated_ms = 1700000000000 + v};
        if (lh_iceberg_table_write(st, &tab, v, NULL, 0, NULL, &err) != LH_OK)
            fail_msg("%s v%d: %s", name, v, err.msg);

        /* the catalog version: its objects are the snapshot's live parts */
        struct lh_catalog_object objs[2];
        for (size_t k = 0; k < n; k++) {
            char part[200];
            snprintf(part, sizeof part, "%s/run-%d/part-00000.parquet", prefix,
                     k == 0 && n == 2 ? 1 : v);
            objs[k] =
                (struct lh_catalog_object){.bucket = bucket,
                                           .key = lh_arena_strndup(&arena, part, strlen(part)),
                                           .size_bytes = files[v - 1][k].size_bytes};
        }
        struct lh_catalog_column cc[3];
        for (size_t k = 0; k < 3; k++)
            cc[k] = (struct lh_catalog_column){.name = schemas[sch].columns[k].field.name,
                                               .data_type = k == 0 ? "Int64" : "Utf8",
                                               .nullable = schemas[sch].columns[k].field.nullable};
        struct lh_catalog_version_spec spec = {.objects = objs,
                                               .nobjects = n,
                                               .columns = cc,
                                               .ncolumns = 3,
                                               .row_count = (uint64_t)(n * NROWS)};
        if (lh_catalog_version_register(cat, name, &spec, NULL, &err) != LH_OK)
            fail_msg("register %s v%d: %s", name, v, err.msg);
        assert_int_equal(lh_iceberg_version_hint_set(st, prefix, v, &err), LH_OK);
        if (v == 2) {
            for (size_t k = 0; k < n; k++) {
                int seed = n == 2 && k == 0 ? seed0 + 1 : seed0 + v;
                for (int i = 0; i < NROWS; i++)
                    json_array_append_new(rows, row_expect(&schemas[sch], seed, i));
            }
            json_t *fields = json_array();
            for (size_t k = 0; k < 3; k++) {
                char ty[32];
                lh_iceberg_type_text(&schemas[sch].columns[k].field, ty, sizeof ty);
                json_array_append_new(fields, json_pack("{s:s, s:i, s:s, s:b}", "name",
                                                        schemas[sch].columns[k].field.name, "id",
                                                        (int)schemas[sch].columns[k].id, "type", ty,
                                                        "required",
                                                        !schemas[sch].columns[k].field.nullable));
            }
            json_object_set_new(t, "fields", fields);
        }
    }
    json_object_set_new(t, "snapshots", json_pack("[I,I]", (json_int_t)sid0, (json_int_t)sid0 + 1));
    json_object_set_new(t, "current", json_integer(sid0 + 1));
    json_object_set_new(t, "metadata_version", json_integer(2));
    json_object_set_new(t, "location", json_string(location));
    json_object_set_new(t, "rows", rows);
    json_object_set_new(json_object_get(g_expect, "tables"), name, t);
    lh_arena_reset(&arena);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/lh-test-icerest-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    g_expect = json_pack("{s:{}}", "tables");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_d.pid > 0)
        daemon_stop(&g_d, SIGTERM);
    json_decref(g_expect);
    if (!getenv("LH_TEST_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ helpers */

static json_t *get_json(const char *method, const char *path, const char *auth, long want)
{
    struct reply r;
    assert_true(http_do(&g_d, method, path, NULL, auth, NULL, 0, &r));
    if (r.status != want)
        fail_msg("%s %s: status %ld, want %ld: %s", method, path, r.status, want, r.body);
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    if (!j)
        fail_msg("%s %s: not JSON: %s", method, path, r.body);
    reply_free(&r);
    return j;
}

/* Asserts the spec's IcebergErrorResponse: {"error":{message,type,code}}. */
static void expect_error(const char *method, const char *path, const char *auth, long status,
                         const char *type, const char *in_message)
{
    json_t *j = get_json(method, path, auth, status);
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *ty = json_string_value(json_object_get(e, "type"));
    if (!msg || !ty || json_integer_value(json_object_get(e, "code")) != status)
        fail_msg("%s %s: not an ErrorModel", method, path);
    if (strcmp(ty, type) != 0)
        fail_msg("%s %s: type %s, want %s", method, path, ty, type);
    if (in_message && !strstr(msg, in_message))
        fail_msg("%s %s: message \"%s\" lacks \"%s\"", method, path, msg, in_message);
    json_decref(j);
}

/* HEAD: only a status (libcurl's NOBODY, so a 404's length is not awaited). */
static long head(const char *path, const char *auth)
{
    CURL *c = curl_easy_init();
    char url[1024], line[256];
    snprintf(url, sizeof url, "http://%s%s", g_d.addr, path);
    struct curl_slist *h = NULL;
    if (auth) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* ------------------------------------------------------------ tests */

static void test_build_and_serve(void **state)
{
    (void)state;
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_store *archive;
    struct lh_error err;
    struct lh_store_options so = {.create = true};
    assert_int_equal(lh_store_set_open(g_dir, NULL, &so, &set, &err), LH_OK);
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    assert_int_equal(lh_store_set_get(set, "archive", &archive, &err), LH_OK);
    build_table(cat, lh_store_set_primary(set), NULL, "orders", 1001, false, 10);
    build_table(cat, archive, "archive", "customers", 2001, true, 20);
    /* a dataset without Iceberg metadata is no table */
    struct lh_store *primary = lh_store_set_primary(set);
    assert_int_equal(
        lh_store_put(primary, "datasets/plain/run-1/part-00000.parquet", "PAR1", 4, &err), LH_OK);
    struct lh_catalog_object o = {.key = "datasets/plain/run-1/part-00000.parquet",
                                  .size_bytes = 4};
    struct lh_catalog_column col = {.name = "id", .data_type = "Int64"};
    struct lh_catalog_version_spec spec = {
        .objects = &o, .nobjects = 1, .columns = &col, .ncolumns = 1};
    assert_int_equal(lh_catalog_version_register(cat, "plain", &spec, NULL, &err), LH_OK);
    /* a dataset whose version hint is garbage: left out of the list, 500
     * on load, and the other tables still list */
    assert_int_equal(
        lh_store_put(primary, "datasets/broken/run-1/part-00000.parquet", "PAR1", 4, &err), LH_OK);
    o.key = "datasets/broken/run-1/part-00000.parquet";
    assert_int_equal(lh_catalog_version_register(cat, "broken", &spec, NULL, &err), LH_OK);
    assert_int_equal(
        lh_store_put(primary, "datasets/broken/metadata/version-hint.text", "v?", 2, &err), LH_OK);
    lh_catalog_close(cat);
    lh_store_set_close(set);

    const char *args[] = {"--data", g_dir, "--token", TOKEN, NULL};
    assert_true(daemon_start(&g_d, args, NULL));
}

/* iceberg-js lists and loads through the daemon; icebird reads the data. */
static void test_iceberg_js(void **state)
{
    (void)state;
    char mod[512], path[512], cmd[2048];
    snprintf(mod, sizeof mod, "%s/node_modules/iceberg-js", LH_TEST_NODE_DIR);
    if (access(mod, F_OK) != 0 || system("node --version >/dev/null 2>&1") != 0)
        fail_msg("node or iceberg-js missing: run scripts/install-deps.sh --test");
    snprintf(path, sizeof path, "%s/expect.json", g_dir);
    json_object_set_new(g_expect, "url", json_sprintf("http://%s/iceberg", g_d.addr));
    json_object_set_new(g_expect, "token", json_string(TOKEN));
    assert_int_equal(json_dump_file(g_expect, path, JSON_INDENT(1)), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && node '%s/rest_check.mjs' '%s'", LH_TEST_NODE_DIR,
             LH_TEST_ICEBERG_DIR, path);
    assert_int_equal(system(cmd), 0);
}

static void test_token_rule(void **state)
{
    (void)state;
    expect_error("GET", "/iceberg/v1/config", NULL, 401, "NotAuthorizedException", "missing");
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse/tables/orders", "Bearer wrong", 401,
                 "NotAuthorizedException", "invalid bearer token");
    expect_error("POST", "/iceberg/v1/namespaces", NULL, 401, "NotAuthorizedException", NULL);
    struct reply r;
    assert_true(http_do(&g_d, "GET", "/iceberg/v1/namespaces", NULL, NULL, NULL, 0, &r));
    char v[128];
    assert_int_equal(r.status, 401);
    assert_true(reply_header(&r, "WWW-Authenticate", v, sizeof v));
    reply_free(&r);
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse", NULL), 401);
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse/tables/orders", "Bearer x"), 401);
    json_t *j = get_json("GET", "/iceberg/v1/config?warehouse=anything", AUTH, 200);
    assert_true(json_is_object(json_object_get(j, "defaults")));
    assert_true(json_is_object(json_object_get(j, "overrides")));
    assert_true(json_array_size(json_object_get(j, "endpoints")) >= 6);
    json_decref(j);
}

static void test_not_found(void **state)
{
    (void)state;
    expect_error("GET", "/iceberg/v1/namespaces/nope", AUTH, 404, "NoSuchNamespaceException",
                 "nope");
    expect_error("GET", "/iceberg/v1/namespaces/nope/tables", AUTH, 404, "NoSuchNamespaceException",
                 NULL);
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse%1Fsub/tables/orders", AUTH, 404,
                 "NoSuchNamespaceException", "lakehouse.sub");
    expect_error("GET", "/iceberg/v1/namespaces?parent=nope", AUTH, 404, "NoSuchNamespaceException",
                 NULL);
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse/tables/missing", AUTH, 404,
                 "NoSuchTableException", "lakehouse.missing");
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse/tables/plain", AUTH, 404,
                 "NoSuchTableException", "no dataset of that name has Iceberg metadata");
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse/tables/broken", AUTH, 500,
                 "InternalServerError", "not a version number");
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse/tables/bad%2Fname", AUTH, 400,
                 "BadRequestException", NULL);
    expect_error("GET", "/iceberg/v1/namespaces/lakehouse/tables?pageSize=0", AUTH, 400,
                 "BadRequestException", "pageSize");
}

static void test_head(void **state)
{
    (void)state;
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse", AUTH), 204);
    assert_int_equal(head("/iceberg/v1/namespaces/nope", AUTH), 404);
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse/tables/orders", AUTH), 204);
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse/tables/customers", AUTH), 204);
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse/tables/plain", AUTH), 404);
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse/tables/missing", AUTH), 404);
    assert_int_equal(head("/iceberg/v1/namespaces/nope/tables/orders", AUTH), 404);
}

static void test_read_only(void **state)
{
    (void)state;
    static const char *const writes[][2] = {
        {"POST", "/iceberg/v1/namespaces"},
        {"DELETE", "/iceberg/v1/namespaces/lakehouse"},
        {"POST", "/iceberg/v1/namespaces/lakehouse/properties"},
        {"POST", "/iceberg/v1/namespaces/lakehouse/tables"},
        {"POST", "/iceberg/v1/namespaces/lakehouse/register"},
        {"POST", "/iceberg/v1/namespaces/lakehouse/tables/orders"},
        {"DELETE", "/iceberg/v1/namespaces/lakehouse/tables/orders"},
        {"POST", "/iceberg/v1/tables/rename"},
        {"POST", "/iceberg/v1/transactions/commit"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        expect_error(writes[i][0], writes[i][1], AUTH, 406, "UnsupportedOperationException",
                     "read-only");
    /* nothing changed */
    assert_int_equal(head("/iceberg/v1/namespaces/lakehouse/tables/orders", AUTH), 204);
    struct reply r;
    assert_true(http_do(&g_d, "POST", "/iceberg/v1/namespaces/lakehouse/tables/orders/metrics",
                        "application/json", AUTH, "{}", 2, &r));
    assert_int_equal(r.status, 204);
    reply_free(&r);
}

/* What the router answers itself under /iceberg (no such path, a method a
 * read route does not have, a path it cannot parse, no token) is in the
 * spec's error shape too, so Iceberg clients show the message. */
static void test_router_errors(void **state)
{
    (void)state;
    expect_error("GET", "/iceberg/v1/no/such/thing", AUTH, 404, "NotFoundException",
                 "read side of the Iceberg REST catalog");
    expect_error("PUT", "/iceberg/v1/config", AUTH, 405, "UnsupportedOperationException",
                 "allowed: GET");
    expect_error("GET", "/iceberg/v1/namespaces/lake%zzhouse", AUTH, 400, "BadRequestException",
                 NULL);
    expect_error("GET", "/iceberg/v1/no/such/thing", NULL, 401, "NotAuthorizedException",
                 "missing");
    /* /api keeps its own shape */
    json_t *j = get_json("GET", "/api/no/such/thing", AUTH, 404);
    assert_true(json_is_string(json_object_get(j, "error")));
    json_decref(j);
}

static void test_list_paging(void **state)
{
    (void)state;
    json_t *j = get_json("GET", "/iceberg/v1/namespaces/lakehouse/tables", AUTH, 200);
    json_t *ids = json_object_get(j, "identifiers");
    assert_int_equal(json_array_size(ids), 2); /* plain is no table */
    assert_string_equal(json_string_value(json_object_get(json_array_get(ids, 0), "name")),
                        "customers");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ids, 1), "name")),
                        "orders");
    assert_null(json_object_get(j, "next-page-token"));
    json_decref(j);

    j = get_json("GET", "/iceberg/v1/namespaces/lakehouse/tables?pageSize=1", AUTH, 200);
    ids = json_object_get(j, "identifiers");
    assert_int_equal(json_array_size(ids), 1);
    const char *tok = json_string_value(json_object_get(j, "next-page-token"));
    assert_non_null(tok);
    char path[300];
    snprintf(path, sizeof path, "/iceberg/v1/namespaces/lakehouse/tables?pageSize=1&pageToken=%s",
             tok);
    json_decref(j);
    j = get_json("GET", path, AUTH, 200);
    ids = json_object_get(j, "identifiers");
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ids, 0), "name")),
                        "orders");
    assert_null(json_object_get(j, "next-page-token"));
    json_decref(j);

    j = get_json("GET", "/iceberg/v1/namespaces?parent=lakehouse", AUTH, 200);
    assert_int_equal(json_array_size(json_object_get(j, "namespaces")), 0);
    json_decref(j);
    j = get_json("GET", "/iceberg/v1/namespaces/lakehouse/views", AUTH, 200);
    assert_int_equal(json_array_size(json_object_get(j, "identifiers")), 0);
    json_decref(j);
}

/* The loaded metadata is the stored file, and metadata-location its URI. */
static void test_load_is_stored_file(void **state)
{
    (void)state;
    static const char *const names[][2] = {{"orders", "primary"}, {"customers", "archive"}};
    for (size_t i = 0; i < 2; i++) {
        char path[300], file[512];
        snprintf(path, sizeof path, "/iceberg/v1/namespaces/lakehouse/tables/%s", names[i][0]);
        json_t *j = get_json("GET", path, AUTH, 200);
        snprintf(file, sizeof file, "%s/%s/datasets/%s/metadata/v2.metadata.json", g_dir,
                 names[i][1], names[i][0]);
        json_t *stored = json_load_file(file, 0, NULL);
        assert_non_null(stored);
        assert_true(json_equal(stored, json_object_get(j, "metadata")));
        char want[600];
        snprintf(want, sizeof want, "file://%s", file);
        assert_string_equal(json_string_value(json_object_get(j, "metadata-location")), want);
        json_decref(stored);
        json_decref(j);
    }
}

/* A catalog version that names its metadata (metadata_location, as ingest
 * commits it) is served from that file, even while version-hint.text still
 * names another one (a kill before the hint moved). */
static void test_load_follows_catalog(void **state)
{
    (void)state;
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    struct lh_store_options so = {.create = true};
    assert_int_equal(lh_store_set_open(g_dir, NULL, &so, &set, &err), LH_OK);
    assert_int_equal(lh_catalog_open(set, NULL, &cat, &err), LH_OK);
    char file[512];
    snprintf(file, sizeof file, "%s/primary/datasets/orders/metadata/v2.metadata.json", g_dir);
    json_t *m = json_load_file(file, 0, NULL);
    assert_non_null(m);
    json_object_set_new(m, "last-updated-ms", json_integer(1700000009999));
    char *text = json_dumps(m, JSON_INDENT(2));
    const char *key = "datasets/orders/metadata/00002-1700000009999-0badcafe.metadata.json";
    assert_int_equal(lh_store_put(lh_store_set_primary(set), key, text, strlen(text), &err), LH_OK);
    free(text);
    assert_int_equal(lh_catalog_version_metadata_set(cat, "orders", 2, key, &err), LH_OK);
    /* only the current version may get it */
    assert_int_equal(lh_catalog_version_metadata_set(cat, "orders", 1, key, &err), LH_E_STATE);
    lh_catalog_close(cat);
    lh_store_set_close(set);

    json_t *j = get_json("GET", "/iceberg/v1/namespaces/lakehouse/tables/orders", AUTH, 200);
    assert_true(json_equal(m, json_object_get(j, "metadata")));
    char want[700];
    snprintf(want, sizeof want, "file://%s/primary/%s", g_dir, key);
    assert_string_equal(json_string_value(json_object_get(j, "metadata-location")), want);
    json_decref(j);
    json_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_serve),
        cmocka_unit_test(test_iceberg_js),
        cmocka_unit_test(test_token_rule),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_router_errors),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_load_is_stored_file),
        cmocka_unit_test(test_load_follows_catalog),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
