/*
 * test_iceberg.c — Iceberg tables over real Parquet files, read back by
 * independent readers.
 *
 * Builds, in a temporary local store, the table datasets/people through
 * four snapshots: 1 overwrite, 2 append (reuses manifest 1), 3 overwrite
 * with an evolved schema (price dropped, note added), 4 append; each
 * commit is metadata v{N}.metadata.json + version-hint. A second table
 * datasets/expired gets the same history and then v5 keeping only 3 and 4.
 * Then:
 *   - the metadata JSON is checked against the v2 spec's required fields;
 *   - manifests and manifest lists are read with libavro's own reader and
 *     their headers checked for field ids and the required key/values;
 *   - tests/iceberg/icebird_check.mjs reads the current snapshot and v2
 *     (through metadataFileName) with icebird, value by value against the
 *     rows written here, and the Parquet field ids with DuckDB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <avro.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iceberg/iceberg.h"
#include "../store/s3helper.h"

#define NROWS 5

static char g_dir[256];
static struct lh_store *g_st;
static json_t *g_expect; /* {"tables": {prefix: {"checks": [...]}}} */

/* ------------------------------------------------------------ rows */

/* Values of row i of snapshot v, in the forms the check script normalises
 * icebird's values to (see icebird_check.mjs). */
static void row_expect(json_t *row, int v, int i, bool evolved)
{
    char b[128];
    snprintf(b, sizeof b, "%d", v * 1000 + i);
    json_object_set_new(row, "id", json_string(b));
    if (i % 4 == 3) {
        json_object_set_new(row, "name", json_null());
    } else {
        snprintf(b, sizeof b, "n%d-%d", v, i);
        json_object_set_new(row, "name", json_string(b));
    }
    int64_t cents = (int64_t)(v * 100 + i) * 25 - 300;
    double amount = (double)cents / 100.0;
    snprintf(b, sizeof b, "%.15g", amount);
    json_object_set_new(row, "amount", json_string(b));
    if (!evolved) {
        snprintf(b, sizeof b, "%g", i * 0.5);
        json_object_set_new(row, "price", json_string(b));
    }
    json_object_set_new(row, "flag", json_string(i % 2 ? "true" : "false"));
    int64_t y;
    unsigned m, d;
    lh_civil_from_days(20000 + v * 10 + i, &y, &m, &d);
    snprintf(b, sizeof b, "%04d-%02u-%02u", (int)y, m, d);
    json_object_set_new(row, "day", json_string(b));
    int64_t us = 1700000000000000LL + (int64_t)(v * 100 + i) * 1000000;
    lh_time_format_iso(us, b, sizeof b);
    json_object_set_new(row, "ts", json_string(b));
    snprintf(b, sizeof b, "000102030405060708090a0b0c0d0e%02x", (v * 7 + i) & 0xff);
    json_object_set_new(row, "uid", json_string(b));
    json_t *tags = json_array();
    for (int k = 0; k < i % 3; k++) {
        snprintf(b, sizeof b, "t%d", k + i);
        json_array_append_new(tags, json_string(b));
    }
    json_object_set_new(row, "tags", tags);
    if (evolved) {
        snprintf(b, sizeof b, "note %d", i);
        json_object_set_new(row, "note", json_string(b));
    }
}

static const struct lh_field FIELDS0[] = {
    {.name = "id", .type = LH_T_INT64},
    {.name = "name", .type = LH_T_STRING, .nullable = true},
    {.name = "amount", .type = LH_T_DECIMAL, .nullable = true, .precision = 10, .scale = 2},
    {.name = "price", .type = LH_T_DOUBLE},
    {.name = "flag", .type = LH_T_BOOL},
    {.name = "day", .type = LH_T_DATE},
    {.name = "ts", .type = LH_T_TIMESTAMP, .ts_utc = true},
    {.name = "uid", .type = LH_T_UUID},
    {.name = "tags", .type = LH_T_STRING, .is_list = true, .nullable = true},
};
/* Evolved: price dropped, note added. */
static const struct lh_field FIELDS1[] = {
    {.name = "id", .type = LH_T_INT64},
    {.name = "name", .type = LH_T_STRING, .nullable = true},
    {.name = "amount", .type = LH_T_DECIMAL, .nullable = true, .precision = 10, .scale = 2},
    {.name = "flag", .type = LH_T_BOOL},
    {.name = "day", .type = LH_T_DATE},
    {.name = "ts", .type = LH_T_TIMESTAMP, .ts_utc = true},
    {.name = "uid", .type = LH_T_UUID},
    {.name = "tags", .type = LH_T_STRING, .is_list = true, .nullable = true},
    {.name = "note", .type = LH_T_STRING},
};

static enum lh_status sink_buf(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    lh_buf_append(ctx, p, n);
    return lh_buf_ok(ctx) ? LH_OK : lh_error_set(err, LH_E_NOMEM, "out of memory");
}

/* Writes one Parquet part of snapshot v with `schema` to the store and
 * returns its statistics (from the footer, through the module's helper). */
static void write_part(struct lh_store *st, const char *key, const struct lh_iceberg_schema *schema,
                       int v, struct lh_arena *arena, struct lh_iceberg_data_file *df)
{
    struct lh_error err;
    struct lh_buf file;
    lh_buf_init(&file, 0);
    size_t nc = schema->ncolumns;
    struct lh_field fields[16];
    int32_t ids[16], eids[16];
    for (size_t c = 0; c < nc; c++) {
        fields[c] = schema->columns[c].field;
        ids[c] = schema->columns[c].id;
        eids[c] = schema->columns[c].element_id;
    }
    struct lh_buf sj;
    lh_buf_init(&sj, 0);
    lh_iceberg_schema_json(schema, &sj);
    lh_buf_cstr(&sj);
    struct lh_parquet_kv kv = {"iceberg.schema", (const char *)sj.data};
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.kv = &kv, o.nkv = 1, o.field_ids = ids, o.element_field_ids = eids;
    struct lh_parquet_writer *w;
    struct lh_schema sch = {nc, fields};
    assert_int_equal(lh_parquet_writer_create(&sch, &o, sink_buf, &file, &w, &err), LH_OK);

    int64_t id[NROWS], amount[NROWS], ts[NROWS];
    double price[NROWS];
    uint8_t flag[NROWS], uid[NROWS * 16], name_valid = 0, amount_valid = 0xff;
    int32_t day[NROWS], name_off[NROWS + 1], note_off[NROWS + 1], tag_loff[NROWS + 1],
        tag_off[3 * NROWS + 1];
    char names[256], notes[256], tags[256];
    int nn = 0, no = 0, nt = 0, ntag = 0;
    name_off[0] = note_off[0] = tag_loff[0] = tag_off[0] = 0;
    for (int i = 0; i < NROWS; i++) {
        id[i] = v * 1000 + i;
        if (i % 4 != 3) {
            name_valid |= (uint8_t)(1u << i);
            nn += snprintf(names + nn, sizeof names - (size_t)nn, "n%d-%d", v, i);
        }
        name_off[i + 1] = nn;
        amount[i] = (int64_t)(v * 100 + i) * 25 - 300;
        price[i] = i * 0.5;
        flag[i] = (uint8_t)(i % 2);
        day[i] = 20000 + v * 10 + i;
        ts[i] = 1700000000000000LL + (int64_t)(v * 100 + i) * 1000000;
        for (int k = 0; k < 16; k++)
            uid[i * 16 + k] = (uint8_t)(k < 15 ? k : (v * 7 + i) & 0xff);
        for (int k = 0; k < i % 3; k++) {
            nt += snprintf(tags + nt, sizeof tags - (size_t)nt, "t%d", k + i);
            tag_off[++ntag] = nt;
        }
        tag_loff[i + 1] = ntag;
        no += snprintf(notes + no, sizeof notes - (size_t)no, "note %d", i);
        note_off[i + 1] = no;
    }
    struct lh_array tag_child = {.length = ntag, .offsets = tag_off, .data = (uint8_t *)tags};
    struct lh_array cols[16];
    for (size_t c = 0; c < nc; c++) {
        const char *n = fields[c].name;
        struct lh_array a = {.length = NROWS};
        if (!strcmp(n, "id"))
            a.values = id;
        else if (!strcmp(n, "name"))
            a.offsets = name_off, a.data = (uint8_t *)names, a.validity = &name_valid;
        else if (!strcmp(n, "amount"))
            a.values = amount, a.validity = &amount_valid;
        else if (!strcmp(n, "price"))
            a.values = price;
        else if (!strcmp(n, "flag"))
            a.values = flag;
        else if (!strcmp(n, "day"))
            a.values = day;
        else if (!strcmp(n, "ts"))
            a.values = ts;
        else if (!strcmp(n, "uid"))
            a.values = uid;
        else if (!strcmp(n, "tags"))
            a.list_offsets = tag_loff, a.child = &tag_child;
        else if (!strcmp(n, "note"))
            a.offsets = note_off, a.data = (uint8_t *)notes;
        cols[c] = a;
    }
    struct lh_batch b = {NROWS, cols};
    assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
    lh_buf_reset(&sj);
    assert_int_equal(lh_store_put(st, key, file.data, file.len, &err), LH_OK);

    struct lh_parquet_reader *r;
    assert_int_equal(lh_parquet_reader_open_mem(file.data, file.len, &r, &err), LH_OK);
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    struct lh_iceberg_column_stats *cs; /* bounds converted into the arena */
    size_t ncs;
    assert_int_equal(lh_iceberg_stats_from_parquet(schema, info, arena, &cs, &ncs, &err), LH_OK);
    lh_parquet_reader_close(r);
    lh_buf_reset(&file);
    uint64_t size;
    assert_int_equal(lh_store_stat(st, key, &size, &err), LH_OK);
    char loc[512], uri[700];
    assert_true(lh_iceberg_location(st, key, loc, sizeof loc) > 0);
    snprintf(uri, sizeof uri, "%s", loc);
    *df = (struct lh_iceberg_data_file){.path = lh_arena_strndup(arena, uri, strlen(uri)),
                                        .size_bytes = size,
                                        .record_count = NROWS,
                                        .stats = cs,
                                        .nstats = ncs};
}

/* ------------------------------------------------------------ history */

struct hist {
    struct lh_store *st;
    const char *prefix;
    char location[512];
    char uuid[LH_ICEBERG_UUID_LEN + 1];
    struct lh_iceberg_column cols0[9], cols1[9];
    struct lh_iceberg_schema schemas[2];
    int32_t last;
    struct lh_iceberg_data_file files[4][8]; /* live files per snapshot */
    struct lh_iceberg_snapshot snaps[4];
    struct lh_arena arena;
};

static struct lh_iceberg_table table_of(struct hist *h, size_t nsnap, size_t nschemas)
{
    return (struct lh_iceberg_table){.location = h->location,
                                     .key_prefix = h->prefix,
                                     .uuid = h->uuid,
                                     .schemas = h->schemas,
                                     .nschemas = nschemas,
                                     .current_schema_id = (int32_t)nschemas - 1,
                                     .last_column_id = h->last,
                                     .snapshots = h->snaps,
                                     .nsnapshots = nsnap,
                                     .current_snapshot_id = h->snaps[nsnap - 1].snapshot_id,
                                     .last_updated_ms = 1700000000000 + (int64_t)nsnap};
}

static void commit(struct hist *h, size_t nsnap, size_t nschemas)
{
    struct lh_error err;
    struct lh_iceberg_table t = table_of(h, nsnap, nschemas);
    for (size_t i = 0; i < nsnap; i++)
        h->snaps[i].is_new = i == nsnap - 1;
    enum lh_status s = lh_iceberg_table_write(h->st, &t, (int64_t)nsnap, NULL, 0, NULL, &err);
    if (s != LH_OK)
        fail_msg("commit v%zu: %s", nsnap, err.msg);
    assert_int_equal(lh_iceberg_version_hint_set(h->st, h->prefix, (int64_t)nsnap, &err), LH_OK);
}

static void add_snapshot(struct hist *h, int v, enum lh_iceberg_op op, int schema, int nparts)
{
    struct lh_iceberg_snapshot *sn = &h->snaps[v - 1];
    struct lh_iceberg_data_file *files = h->files[v - 1];
    size_t n = 0;
    if (op == LH_ICEBERG_APPEND)
        for (size_t k = 0; k < h->snaps[v - 2].nfiles; k++)
            files[n++] = h->files[v - 2][k];
    for (int p = 0; p < nparts; p++) {
        char key[256];
        snprintf(key, sizeof key, "%s/run-%d/part-%05d.parquet", h->prefix, v, p);
        write_part(h->st, key, &h->schemas[schema], v * 10 + p, &h->arena, &files[n]);
        files[n].added_snapshot_id = v * 100;
        files[n].added_sequence_number = v;
        n++;
    }
    *sn = (struct lh_iceberg_snapshot){.snapshot_id = v * 100,
                                       .parent_id = v > 1 ? (v - 1) * 100 : 0,
                                       .sequence_number = v,
                                       .timestamp_ms = 1700000000000 + v,
                                       .op = op,
                                       .schema_id = schema,
                                       .files = files,
                                       .nfiles = n};
    commit(h, (size_t)v, (size_t)schema + 1);
}

static void expect_rows(json_t *checks, const char *metadata, int from_v, int to_v, int nparts_each,
                        bool evolved)
{
    json_t *c = json_object(), *rows = json_array();
    json_object_set_new(c, "metadata", metadata ? json_string(metadata) : json_null());
    for (int v = from_v; v <= to_v; v++)
        for (int p = 0; p < nparts_each; p++)
            for (int i = 0; i < NROWS; i++) {
                json_t *r = json_object();
                row_expect(r, (v * 10 + p), i, evolved);
                json_array_append_new(rows, r);
            }
    json_object_set_new(c, "rows", rows);
    json_array_append_new(checks, c);
}

static void build(struct hist *h, struct lh_store *st, const char *prefix, int nsnap)
{
    struct lh_error err;
    memset(h, 0, sizeof *h);
    h->st = st;
    h->prefix = prefix;
    lh_arena_init(&h->arena, 0);
    assert_true(lh_iceberg_location(st, prefix, h->location, sizeof h->location) > 0);
    assert_int_equal(lh_iceberg_uuid_generate(h->uuid, &err), LH_OK);
    struct lh_schema s0 = {9, FIELDS0}, s1 = {9, FIELDS1};
    lh_iceberg_schema_assign(NULL, &h->last, &s0, h->cols0);
    h->schemas[0] = (struct lh_iceberg_schema){0, 9, h->cols0};
    lh_iceberg_schema_assign(&h->schemas[0], &h->last, &s1, h->cols1);
    h->schemas[1] = (struct lh_iceberg_schema){1, 9, h->cols1};
    add_snapshot(h, 1, LH_ICEBERG_OVERWRITE, 0, 2);
    add_snapshot(h, 2, LH_ICEBERG_APPEND, 0, 1);
    if (nsnap > 2) {
        add_snapshot(h, 3, LH_ICEBERG_OVERWRITE, 1, 1);
        add_snapshot(h, 4, LH_ICEBERG_APPEND, 1, 1);
    }
}

/* Rows of snapshot 2 (v1's two parts, then v2's part) and of snapshot 4. */
static void expect_history(json_t *checks, const char *old_metadata)
{
    json_t *c;
    expect_rows(checks, NULL, 3, 4, 1, true);
    /* snapshot 2: parts 10, 11 (snapshot 1) then 20 (snapshot 2) */
    c = json_object();
    json_t *rows = json_array();
    json_object_set_new(c, "metadata", json_string(old_metadata));
    int seeds[] = {10, 11, 20};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < NROWS; i++) {
            json_t *r = json_object();
            row_expect(r, seeds[s], i, false);
            json_array_append_new(rows, r);
        }
    json_object_set_new(c, "rows", rows);
    json_array_append_new(checks, c);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/lh-test-iceberg-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    struct lh_error err;
    struct lh_store_options o = {.create = true};
    if (lh_store_open(g_dir, &o, &g_st, &err) != LH_OK)
        return -1;
    g_expect = json_object();
    return 0;
}

static struct s3srv g_s3;
static struct lh_store *g_s3st;

static int teardown(void **state)
{
    (void)state;
    lh_store_close(g_st);
    if (g_s3st)
        lh_store_close(g_s3st);
    s3srv_stop(&g_s3);
    json_decref(g_expect);
    if (!getenv("LH_TEST_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ tests */

static struct hist g_people, g_expired;

static json_t *load_json(const char *key)
{
    uint8_t *p;
    size_t n;
    struct lh_error err;
    assert_int_equal(lh_store_get(g_st, key, 0, &p, &n, NULL, &err), LH_OK);
    json_t *j = json_loadb((const char *)p, n, 0, NULL);
    free(p);
    assert_non_null(j);
    return j;
}

static void test_history_and_required_fields(void **state)
{
    (void)state;
    build(&g_people, g_st, "datasets/people", 4);
    /* Field ids: schema 0 took 1..10 (tags = 9, its element 10); schema 1
     * kept the ids of unchanged columns, gave note 11, and price's 4 is
     * gone for good. */
    assert_int_equal(g_people.last, 11);
    assert_int_equal(g_people.cols0[3].id, 4);
    assert_int_equal(g_people.cols1[3].id, g_people.cols0[4].id); /* flag */
    assert_int_equal(g_people.cols1[7].element_id, 10);
    assert_int_equal(g_people.cols1[8].id, 11);

    json_t *m = load_json("datasets/people/metadata/v4.metadata.json");
    static const char *required[] = {"format-version",    "table-uuid",         "location",
                                     "last-sequence-number", "last-updated-ms",  "last-column-id",
                                     "schemas",           "current-schema-id",  "partition-specs",
                                     "default-spec-id",   "last-partition-id",  "sort-orders",
                                     "default-sort-order-id"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!json_object_get(m, required[i]))
            fail_msg("v4.metadata.json lacks required %s", required[i]);
    assert_int_equal(json_integer_value(json_object_get(m, "format-version")), 2);
    assert_int_equal(json_integer_value(json_object_get(m, "last-sequence-number")), 4);
    assert_int_equal(json_integer_value(json_object_get(m, "last-column-id")), 11);
    assert_int_equal(json_integer_value(json_object_get(m, "current-schema-id")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "current-snapshot-id")), 400);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(m, "refs"), "main"), "snapshot-id")),
                     400);
    assert_string_equal(json_string_value(json_object_get(m, "table-uuid")), g_people.uuid);
    json_t *schemas = json_object_get(m, "schemas");
    assert_int_equal(json_array_size(schemas), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(schemas, i);
        assert_int_equal(json_integer_value(json_object_get(s, "schema-id")), (json_int_t)i);
        assert_string_equal(json_string_value(json_object_get(s, "type")), "struct");
        json_t *f;
        size_t k;
        json_array_foreach(json_object_get(s, "fields"), k, f)
        {
            assert_true(json_is_integer(json_object_get(f, "id")));
            assert_true(json_is_string(json_object_get(f, "name")));
            assert_true(json_is_boolean(json_object_get(f, "required")));
            assert_non_null(json_object_get(f, "type"));
        }
    }
    json_t *spec = json_array_get(json_object_get(m, "partition-specs"), 0);
    assert_int_equal(json_integer_value(json_object_get(spec, "spec-id")), 0);
    json_t *snaps = json_object_get(m, "snapshots");
    assert_int_equal(json_array_size(snaps), 4);
    json_t *sn;
    size_t k;
    json_array_foreach(snaps, k, sn)
    {
        static const char *req[] = {"snapshot-id", "sequence-number", "timestamp-ms",
                                    "manifest-list", "summary"};
        for (size_t r = 0; r < 5; r++)
            if (!json_object_get(sn, req[r]))
                fail_msg("snapshot %zu lacks required %s", k, req[r]);
        assert_non_null(json_object_get(json_object_get(sn, "summary"), "operation"));
    }
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(snaps, 1), "summary"),
                                          "operation")),
        "append");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(snaps, 2), "summary"),
                                          "total-records")),
        "5");
    json_decref(m);

    struct lh_error err;
    int64_t v;
    assert_int_equal(lh_iceberg_version_hint_get(g_st, "datasets/people", &v, &err), LH_OK);
    assert_int_equal(v, 4);

    /* The table loads back as it was described. */
    struct lh_iceberg_loaded l;
    assert_int_equal(lh_iceberg_table_load(g_st, "datasets/people", &l, &err), LH_OK);
    assert_int_equal(l.version, 4);
    assert_string_equal(l.table.uuid, g_people.uuid);
    assert_string_equal(l.table.location, g_people.location);
    assert_int_equal(l.table.last_column_id, 11);
    assert_int_equal(l.table.current_schema_id, 1);
    assert_int_equal(l.table.current_snapshot_id, 400);
    assert_int_equal(l.table.nschemas, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct lh_iceberg_schema *a = &l.table.schemas[i], *b = &g_people.schemas[i];
        assert_int_equal(a->ncolumns, b->ncolumns);
        for (size_t c = 0; c < a->ncolumns; c++) {
            char ta[64], tb[64];
            assert_int_equal(a->columns[c].id, b->columns[c].id);
            assert_int_equal(a->columns[c].element_id, b->columns[c].element_id);
            assert_string_equal(a->columns[c].field.name, b->columns[c].field.name);
            assert_int_equal(a->columns[c].field.nullable, b->columns[c].field.nullable);
            lh_iceberg_type_text(&a->columns[c].field, ta, sizeof ta);
            lh_iceberg_type_text(&b->columns[c].field, tb, sizeof tb);
            assert_string_equal(ta, tb);
        }
    }
    assert_int_equal(l.table.nsnapshots, 4);
    for (size_t i = 0; i < 4; i++) {
        const struct lh_iceberg_snapshot *a = &l.table.snapshots[i], *b = &g_people.snaps[i];
        assert_int_equal(a->snapshot_id, b->snapshot_id);
        assert_int_equal(a->parent_id, b->parent_id);
        assert_int_equal(a->sequence_number, b->sequence_number);
        assert_int_equal(a->op, b->op);
        assert_int_equal(a->schema_id, b->schema_id);
        assert_false(a->is_new);
        assert_int_equal(a->nfiles, b->nfiles);
        for (size_t f = 0; f < a->nfiles; f++) {
            assert_string_equal(a->files[f].path, b->files[f].path);
            assert_int_equal(a->files[f].size_bytes, b->files[f].size_bytes);
            assert_int_equal(a->files[f].record_count, b->files[f].record_count);
            assert_int_equal(a->files[f].added_snapshot_id, b->files[f].added_snapshot_id);
            assert_int_equal(a->files[f].added_sequence_number,
                             b->files[f].added_sequence_number);
        }
    }
    lh_iceberg_loaded_reset(&l);
    assert_int_equal(lh_iceberg_table_load(g_st, "datasets/none", &l, &err), LH_OK);
    assert_int_equal(l.version, 0);
    lh_iceberg_loaded_reset(&l);

    json_t *checks = json_array();
    expect_history(checks, "v2.metadata.json");
    json_t *t = json_object();
    json_object_set_new(t, "checks", checks);
    json_object_set_new(t, "location", json_string(g_people.location));
    json_object_set_new(g_expect, "datasets/people", t);
}

/* Reads an Avro file with libavro's reader: record count and a long field
 * of the first record. */
static int avro_count(const char *key, const char *field, int64_t *first)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, key);
    avro_file_reader_t r;
    if (avro_file_reader(path, &r) != 0)
        fail_msg("libavro cannot open %s: %s", key, avro_strerror());
    avro_schema_t ws = avro_file_reader_get_writer_schema(r);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t val;
    avro_generic_value_new(iface, &val);
    int n = 0;
    while (avro_file_reader_read_value(r, &val) == 0) {
        if (n == 0 && field) {
            avro_value_t f;
            assert_int_equal(avro_value_get_by_name(&val, field, &f, NULL), 0);
            if (avro_value_get_type(&f) == AVRO_UNION) {
                avro_value_t b;
                avro_value_get_current_branch(&f, &b);
                f = b;
            }
            assert_int_equal(avro_value_get_long(&f, first), 0);
        }
        n++;
    }
    avro_value_decref(&val);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    avro_file_reader_close(r);
    return n;
}

static bool file_has(const char *key, const char *needle)
{
    uint8_t *p;
    size_t n;
    struct lh_error err;
    assert_int_equal(lh_store_get(g_st, key, 0, &p, &n, NULL, &err), LH_OK);
    size_t k = strlen(needle);
    bool ok = false;
    for (size_t i = 0; !ok && i + k <= n; i++)
        ok = memcmp(p + i, needle, k) == 0;
    free(p);
    return ok;
}

static void test_manifests(void **state)
{
    (void)state;
    int64_t first = 0;
    /* snapshot 2's list: its own manifest and snapshot 1's, reused */
    assert_int_equal(avro_count("datasets/people/metadata/snap-200.avro", "added_snapshot_id",
                                &first),
                     2);
    assert_int_equal(first, 100);
    assert_int_equal(avro_count("datasets/people/metadata/snap-300.avro", "added_snapshot_id",
                                &first),
                     1);
    assert_int_equal(first, 300);
    assert_int_equal(avro_count("datasets/people/metadata/snap-400.avro", NULL, NULL), 2);
    assert_int_equal(avro_count("datasets/people/metadata/manifest-100.avro", "snapshot_id",
                                &first),
                     2);
    assert_int_equal(first, 100);
    assert_int_equal(avro_count("datasets/people/metadata/manifest-200.avro", NULL, NULL), 1);
    static const char *ids[] = {"\"field-id\":0",   "\"field-id\":2",   "\"field-id\":100",
                                "\"field-id\":102", "\"field-id\":125", "\"field-id\":128",
                                "format-version",   "partition-spec",   "partition-spec-id",
                                "schema-id",        "content"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (!file_has("datasets/people/metadata/manifest-100.avro", ids[i]))
            fail_msg("manifest header lacks %s", ids[i]);
    static const char *lids[] = {"\"field-id\":500", "\"field-id\":515", "\"field-id\":516",
                                 "\"field-id\":517", "\"field-id\":503", "avro.codec"};
    for (size_t i = 0; i < sizeof lids / sizeof *lids; i++)
        if (!file_has("datasets/people/metadata/snap-200.avro", lids[i]))
            fail_msg("manifest list header lacks %s", lids[i]);
}

static void test_append_reuses_manifest(void **state)
{
    (void)state;
    /* Rewriting v4 again (as a retry would) must leave manifest-300 alone:
     * it belongs to snapshot 3, which is not new. */
    struct lh_error err;
    uint8_t *before, *after;
    size_t nb, na;
    const char *key = "datasets/people/metadata/manifest-300.avro";
    assert_int_equal(lh_store_get(g_st, key, 0, &before, &nb, NULL, &err), LH_OK);
    struct lh_iceberg_table t = table_of(&g_people, 4, 2);
    /* A taken version is refused, and nothing of it is replaced. */
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 4, NULL, 0, NULL, &err), LH_E_EXISTS);
    assert_non_null(strstr(err.msg, "v4.metadata.json"));
    assert_int_equal(lh_store_get(g_st, key, 0, &after, &na, NULL, &err), LH_OK);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    free(before);
    free(after);
}

static void test_bad_description(void **state)
{
    (void)state;
    struct lh_error err;
    struct lh_iceberg_table t = table_of(&g_people, 4, 2);
    t.uuid = "not-a-uuid";
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 9, NULL, 0, NULL, &err), LH_E_INVAL);
    assert_non_null(strstr(err.msg, "uuid"));
    t = table_of(&g_people, 4, 2);
    t.last_column_id = 10; /* note's id 11 is beyond it */
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 9, NULL, 0, NULL, &err), LH_E_INVAL);
    assert_non_null(strstr(err.msg, "last_column_id"));
    /* Snapshot 4 holding only part of snapshot 3's files: refused. */
    t = table_of(&g_people, 4, 2);
    struct lh_iceberg_snapshot snaps[4];
    memcpy(snaps, g_people.snaps, sizeof snaps);
    struct lh_iceberg_data_file two[2] = {g_people.files[2][0], g_people.files[2][0]};
    two[1].path = "file:///elsewhere/x.parquet";
    snaps[2].files = two; /* snapshot 300 adds two files */
    snaps[2].nfiles = 2;
    snaps[3].files = two; /* snapshot 400 keeps only the first */
    snaps[3].nfiles = 1;
    t.snapshots = snaps;
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 9, NULL, 0, NULL, &err), LH_E_INVAL);
    assert_non_null(strstr(err.msg, "reused whole"));
    /* Nothing was written for version 9. */
    uint64_t size;
    assert_int_equal(lh_store_stat(g_st, "datasets/people/metadata/v9.metadata.json", &size, &err),
                     LH_E_NOTFOUND);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_expiry(void **state)
{
    (void)state;
    struct hist *h = &g_expired;
    build(h, g_st, "datasets/expired", 4);
    struct lh_error err;
    struct lh_iceberg_table t = table_of(h, 4, 2);
    for (size_t i = 0; i < 4; i++)
        h->snaps[i].is_new = false;
    int64_t keep[] = {300, 400};
    struct lh_iceberg_garbage g;
    /* Expiring the current snapshot is refused. */
    int64_t bad[] = {300};
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 5, bad, 1, &g, &err), LH_E_INVAL);
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 5, keep, 2, &g, &err), LH_OK);
    assert_int_equal(lh_iceberg_version_hint_set(g_st, h->prefix, 5, &err), LH_OK);
    /* Snapshots 1 and 2 alone held the three parts of runs 1 and 2. */
    assert_int_equal(g.ndata_files, 3);
    const char *want[3];
    for (int i = 0; i < 3; i++)
        want[i] = h->files[1][i].path;
    qsort(g.data_files, 3, sizeof *g.data_files, cmp_str);
    qsort(want, 3, sizeof *want, cmp_str);
    for (int i = 0; i < 3; i++)
        assert_string_equal(g.data_files[i], want[i]);
    assert_int_equal(g.nmetadata_keys, 4);
    qsort(g.metadata_keys, 4, sizeof *g.metadata_keys, cmp_str);
    assert_string_equal(g.metadata_keys[0], "datasets/expired/metadata/manifest-100.avro");
    assert_string_equal(g.metadata_keys[1], "datasets/expired/metadata/manifest-200.avro");
    assert_string_equal(g.metadata_keys[2], "datasets/expired/metadata/snap-100.avro");
    assert_string_equal(g.metadata_keys[3], "datasets/expired/metadata/snap-200.avro");
    /* Delete them, as the caller would: the table still reads (node check). */
    for (size_t i = 0; i < g.nmetadata_keys; i++)
        assert_int_equal(lh_store_delete(g_st, g.metadata_keys[i], &err), LH_OK);
    for (size_t i = 0; i < g.ndata_files; i++) {
        const char *p = strstr(g.data_files[i], "/datasets/expired/");
        assert_non_null(p);
        assert_int_equal(lh_store_delete(g_st, p + 1, &err), LH_OK);
    }
    lh_iceberg_garbage_reset(&g);
    json_t *m = load_json("datasets/expired/metadata/v5.metadata.json");
    assert_int_equal(json_array_size(json_object_get(m, "snapshots")), 2);
    assert_int_equal(json_array_size(json_object_get(m, "snapshot-log")), 2);
    json_decref(m);

    json_t *checks = json_array();
    expect_rows(checks, NULL, 3, 4, 1, true);
    expect_rows(checks, "v4.metadata.json", 3, 4, 1, true);
    json_t *tj = json_object();
    json_object_set_new(tj, "checks", checks);
    json_object_set_new(tj, "location", json_string(h->location));
    json_object_set_new(g_expect, "datasets/expired", tj);
}

/* The same through the S3 backend (s3rver): manifests, lists and metadata
 * go through the store, and every path is an s3:// URI. */
static struct hist g_s3hist;

static void test_s3(void **state)
{
    (void)state;
    assert_int_equal(s3srv_start(&g_s3, "lake"), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", g_s3.port);
    struct lh_store_options o = {.endpoint = ep, .access_key = "S3RVER", .secret_key = "S3RVER"};
    struct lh_error err;
    assert_int_equal(lh_store_open("s3://lake/lh", &o, &g_s3st, &err), LH_OK);
    build(&g_s3hist, g_s3st, "datasets/s3t", 2);
    assert_string_equal(g_s3hist.location, "s3://lake/lh/datasets/s3t");
    uint8_t *p;
    size_t n;
    assert_int_equal(lh_store_get(g_s3st, "datasets/s3t/metadata/v2.metadata.json", 0, &p, &n,
                                  NULL, &err),
                     LH_OK);
    json_t *m = json_loadb((const char *)p, n, 0, NULL);
    free(p);
    const char *ml = json_string_value(
        json_object_get(json_array_get(json_object_get(m, "snapshots"), 1), "manifest-list"));
    assert_string_equal(ml, "s3://lake/lh/datasets/s3t/metadata/snap-200.avro");
    json_decref(m);

    /* Commit 3 is described from what the store holds, as a publish would:
     * load, assign ids to the (unchanged) columns, append one part. */
    struct lh_iceberg_loaded l;
    assert_int_equal(lh_iceberg_table_load(g_s3st, "datasets/s3t", &l, &err), LH_OK);
    assert_int_equal(l.version, 2);
    struct lh_iceberg_column cols[9];
    int32_t last = l.table.last_column_id;
    struct lh_schema s0 = {9, FIELDS0};
    lh_iceberg_schema_assign(&l.table.schemas[0], &last, &s0, cols);
    assert_int_equal(last, l.table.last_column_id); /* nothing new */
    assert_int_equal(cols[8].element_id, 10);
    struct lh_iceberg_snapshot snaps[3];
    memcpy(snaps, l.table.snapshots, 2 * sizeof *snaps);
    struct lh_iceberg_data_file files[4];
    memcpy(files, snaps[1].files, 3 * sizeof *files);
    struct lh_arena arena;
    lh_arena_init(&arena, 0);
    struct lh_iceberg_schema cur = {0, 9, cols};
    write_part(g_s3st, "datasets/s3t/run-3/part-00000.parquet", &cur, 30, &arena, &files[3]);
    files[3].added_snapshot_id = 300;
    files[3].added_sequence_number = 3;
    snaps[2] = (struct lh_iceberg_snapshot){.snapshot_id = 300,
                                            .parent_id = 200,
                                            .sequence_number = 3,
                                            .timestamp_ms = 1700000000003,
                                            .op = LH_ICEBERG_APPEND,
                                            .files = files,
                                            .nfiles = 4,
                                            .is_new = true};
    struct lh_iceberg_table t = l.table;
    t.snapshots = snaps;
    t.nsnapshots = 3;
    t.current_snapshot_id = 300;
    assert_int_equal(lh_iceberg_table_write(g_s3st, &t, l.version + 1, NULL, 0, NULL, &err), LH_OK);
    assert_int_equal(lh_iceberg_version_hint_set(g_s3st, "datasets/s3t", 3, &err), LH_OK);
    lh_iceberg_loaded_reset(&l);
    lh_arena_reset(&arena);

    json_t *checks = json_array();
    json_t *c = json_object(), *rows = json_array();
    json_object_set_new(c, "metadata", json_null());
    int seeds[] = {10, 11, 20, 30};
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < NROWS; i++) {
            json_t *r = json_object();
            row_expect(r, seeds[s], i, false);
            json_array_append_new(rows, r);
        }
    json_object_set_new(c, "rows", rows);
    json_array_append_new(checks, c);
    expect_rows(checks, "v1.metadata.json", 1, 1, 2, false);
    c = json_object(), rows = json_array();
    json_object_set_new(c, "metadata", json_string("v2.metadata.json"));
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < NROWS; i++) {
            json_t *r = json_object();
            row_expect(r, seeds[s], i, false);
            json_array_append_new(rows, r);
        }
    json_object_set_new(c, "rows", rows);
    json_array_append_new(checks, c);
    json_t *tj = json_object();
    json_object_set_new(tj, "checks", checks);
    json_object_set_new(tj, "location", json_string(g_s3hist.location));
    json_object_set_new(tj, "s3_endpoint", json_string(ep));
    json_object_set_new(g_expect, "s3:datasets/s3t", tj);
}

/* Parquet statistics values to Iceberg bounds: one row per case. */
static void test_bounds(void **state)
{
    (void)state;
    static const struct {
        struct lh_field f;
        uint8_t in[16];
        uint32_t in_len;
        uint8_t want[16];
        uint32_t want_len; /* 0: no bound */
    } rows[] = {
        {{.type = LH_T_INT32}, {0xfe, 0xff, 0xff, 0xff}, 4, {0xfe, 0xff, 0xff, 0xff}, 4},
        {{.type = LH_T_UINT32}, {0xff, 0xff, 0xff, 0xff}, 4, {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, 8},
        {{.type = LH_T_UINT64}, {1, 0, 0, 0, 0, 0, 0, 0x7f}, 8, {1, 0, 0, 0, 0, 0, 0, 0x7f}, 8},
        {{.type = LH_T_UINT64}, {0, 0, 0, 0, 0, 0, 0, 0x80}, 8, {0}, 0},
        {{.type = LH_T_DECIMAL, .precision = 9, .scale = 2}, {0x7c, 0x60, 0, 0}, 4, {0x60, 0x7c}, 2},
        {{.type = LH_T_DECIMAL, .precision = 9, .scale = 2}, {0x80, 0, 0, 0}, 4, {0x00, 0x80}, 2},
        {{.type = LH_T_DECIMAL, .precision = 18, .scale = 0},
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         8,
         {0xff},
         1},
        {{.type = LH_T_DECIMAL, .precision = 30, .scale = 0},
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0},
         13,
         {0xff, 0x7f, 0x00},
         3},
        {{.type = LH_T_BOOL}, {1}, 1, {1}, 1},
        {{.type = LH_T_STRING}, {'a', 'b'}, 2, {'a', 'b'}, 2},
        {{.type = LH_T_STRING, .is_list = true}, {'a'}, 1, {0}, 0},
        {{.type = LH_T_DOUBLE}, {0}, 4, {0}, 0}, /* wrong width */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t out[32];
        uint32_t n = lh_iceberg_bound_from_parquet(&rows[i].f, rows[i].in, rows[i].in_len, out,
                                                   sizeof out);
        if (n != rows[i].want_len || memcmp(out, rows[i].want, n) != 0)
            fail_msg("bound row %zu: length %u, want %u", i, n, rows[i].want_len);
    }
    char t[32];
    struct lh_field fx = {.type = LH_T_FIXED, .fixed_len = 4};
    assert_true(lh_iceberg_type_text(&fx, t, sizeof t) > 0);
    assert_string_equal(t, "fixed[4]");
    struct lh_field ts = {.type = LH_T_TIMESTAMP};
    lh_iceberg_type_text(&ts, t, sizeof t);
    assert_string_equal(t, "timestamp");
}

/* Long text and binary bounds are cut to 16 code points / bytes; an upper
 * bound's last kept unit goes up by one, or there is none. */
static void test_bound_truncation(void **state)
{
    (void)state;
    static const struct lh_field f[] = {
        {.name = "s", .type = LH_T_STRING},
        {.name = "u", .type = LH_T_STRING},
        {.name = "b", .type = LH_T_BINARY},
    };
    const char *s_vals[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbzzzz"};
    char u_vals[2][64] = {"short", ""};
    for (int i = 0; i < 20; i++)
        memcpy(u_vals[1] + 2 * i, "\xc3\xa9", 3); /* é x 20 */
    uint8_t bin[40];
    memset(bin, 0x00, 20);
    memset(bin + 20, 0xff, 20);
    char heap_s[128], heap_u[128];
    int32_t off_s[3] = {0}, off_u[3] = {0}, off_b[3] = {0, 20, 40};
    int ns = 0, nu = 0;
    for (int i = 0; i < 2; i++) {
        ns += snprintf(heap_s + ns, sizeof heap_s - (size_t)ns, "%s", s_vals[i]);
        off_s[i + 1] = ns;
        nu += snprintf(heap_u + nu, sizeof heap_u - (size_t)nu, "%s", u_vals[i]);
        off_u[i + 1] = nu;
    }
    struct lh_array cols[3] = {{.length = 2, .offsets = off_s, .data = (uint8_t *)heap_s},
                               {.length = 2, .offsets = off_u, .data = (uint8_t *)heap_u},
                               {.length = 2, .offsets = off_b, .data = bin}};
    struct lh_buf file;
    lh_buf_init(&file, 0);
    struct lh_error err;
    struct lh_parquet_writer *w;
    struct lh_schema sch = {3, f};
    assert_int_equal(lh_parquet_writer_create(&sch, NULL, sink_buf, &file, &w, &err), LH_OK);
    struct lh_batch b = {2, cols};
    assert_int_equal(lh_parquet_writer_add_batch(w, &b, &err), LH_OK);
    assert_int_equal(lh_parquet_writer_close(w, &err), LH_OK);
    lh_parquet_writer_destroy(w);
    struct lh_parquet_reader *r;
    assert_int_equal(lh_parquet_reader_open_mem(file.data, file.len, &r, &err), LH_OK);
    struct lh_iceberg_column ic[3] = {{1, 0, f[0]}, {2, 0, f[1]}, {3, 0, f[2]}};
    struct lh_iceberg_schema is = {0, 3, ic};
    struct lh_arena arena;
    lh_arena_init(&arena, 0);
    struct lh_iceberg_column_stats *cs;
    size_t n;
    assert_int_equal(lh_iceberg_stats_from_parquet(&is, lh_parquet_reader_info(r), &arena, &cs, &n,
                                                   &err),
                     LH_OK);
    assert_int_equal(n, 3);
    assert_int_equal(cs[0].lower_len, 16);
    assert_memory_equal(cs[0].lower, "aaaaaaaaaaaaaaaa", 16);
    assert_int_equal(cs[0].upper_len, 16);
    assert_memory_equal(cs[0].upper, "bbbbbbbbbbbbbbbc", 16);
    assert_int_equal(cs[1].lower_len, 5); /* "short" is kept whole */
    assert_int_equal(cs[1].upper_len, 32); /* 15 x é, then ê */
    assert_memory_equal(cs[1].upper + 30, "\xc3\xaa", 2);
    assert_int_equal(cs[2].lower_len, 16);
    assert_null(cs[2].upper); /* 0xff... cannot go up */
    assert_int_equal(cs[2].null_count, 0);
    assert_int_equal(cs[2].value_count, 2);
    lh_parquet_reader_close(r);
    lh_arena_reset(&arena);
    lh_buf_reset(&file);
}

/* A snapshot without files (an empty overwrite) has an empty manifest list. */
static void test_empty_snapshot(void **state)
{
    (void)state;
    struct lh_iceberg_column col = {.id = 1, .field = {.name = "id", .type = LH_T_INT64}};
    struct lh_iceberg_schema sch = {0, 1, &col};
    struct lh_iceberg_snapshot sn = {.snapshot_id = 7,
                                     .sequence_number = 1,
                                     .timestamp_ms = 1,
                                     .op = LH_ICEBERG_OVERWRITE,
                                     .is_new = true};
    char loc[512];
    assert_true(lh_iceberg_location(g_st, "datasets/empty", loc, sizeof loc) > 0);
    struct lh_iceberg_table t = {.location = loc,
                                 .key_prefix = "datasets/empty",
                                 .uuid = "0db3e2a8-9d1d-42b9-aa7b-74ebe558dceb",
                                 .schemas = &sch,
                                 .nschemas = 1,
                                 .last_column_id = 1,
                                 .snapshots = &sn,
                                 .nsnapshots = 1,
                                 .current_snapshot_id = 7};
    struct lh_error err;
    assert_int_equal(lh_iceberg_table_write(g_st, &t, 1, NULL, 0, NULL, &err), LH_OK);
    assert_int_equal(avro_count("datasets/empty/metadata/snap-7.avro", NULL, NULL), 0);
    json_t *m = load_json("datasets/empty/metadata/v1.metadata.json");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(json_object_get(m, "snapshots"), 0),
                                            "summary"),
                            "total-records")),
                        "0");
    json_decref(m);
}

static void test_independent_readers(void **state)
{
    (void)state;
    char mod[512];
    snprintf(mod, sizeof mod, "%s/node_modules/icebird", LH_TEST_NODE_DIR);
    if (access(mod, F_OK) != 0 || system("node --version >/dev/null 2>&1") != 0)
        fail_msg("node or icebird missing: run scripts/install-deps.sh --test");
    char expect[300], cmd[2048];
    snprintf(expect, sizeof expect, "%s/expect.json", g_dir);
    assert_int_equal(json_dump_file(g_expect, expect, JSON_INDENT(1)), 0);
    /* DuckDB looks at a part of each schema for its field ids. */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && node '%s/icebird_check.mjs' '%s' '%s/datasets/people/run-1/"
             "part-00000.parquet' '%s/datasets/people/run-3/part-00000.parquet' 2>&1",
             LH_TEST_NODE_DIR, LH_TEST_ICEBERG_DIR, expect, g_dir, g_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    bool ok = false;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        if (strncmp(line, "ICEBERG CHECK OK", 16) == 0)
            ok = true;
    }
    int rc = pclose(p);
    assert_int_equal(rc, 0);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_and_required_fields),
        cmocka_unit_test(test_manifests),
        cmocka_unit_test(test_append_reuses_manifest),
        cmocka_unit_test(test_bad_description),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_s3),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_bound_truncation),
        cmocka_unit_test(test_empty_snapshot),
        cmocka_unit_test(test_independent_readers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
