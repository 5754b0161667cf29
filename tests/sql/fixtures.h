/*
 * fixtures.h — datasets for the SQL tests, written with our Parquet writer
 * into a temporary data directory and registered in its catalog:
 *
 *   types    350 rows, every lakehouse type, NULLs, row groups of 100 rows
 *   sorted   20,000 rows sorted by id, 20 row groups; `none` is all NULL
 *   orders   v1: 100 rows in one part; v2: 150 rows in two parts
 *   customers 40 rows (joins with orders.cust)
 *
 * Every value is a formula of the row number i (documented next to each
 * column), so DuckDB can be checked against the same files.
 */
#ifndef LH_TEST_SQL_FIXTURES_H
#define LH_TEST_SQL_FIXTURES_H

#include "catalog/catalog.h"
#include "parquet/parquet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPES_N 350

struct fx_strs {
    int32_t *off;
    char *heap;
    int pos, cap;
};

static void fx_strs_init(struct fx_strs *s, int n, int cap)
{
    s->off = calloc((size_t)n + 1, sizeof *s->off);
    s->heap = calloc((size_t)cap, 1);
    s->pos = 0;
    s->cap = cap;
}
static void fx_strs_add(struct fx_strs *s, int i, const void *v, size_t n)
{
    s->off[i] = s->pos;
    memcpy(s->heap + s->pos, v, n);
    s->pos += (int)n;
    s->off[i + 1] = s->pos;
}
static void fx_strs_free(struct fx_strs *s)
{
    free(s->off);
    free(s->heap);
}

static enum lh_status fx_buf_sink(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    (void)err;
    lh_buf_append(ctx, p, n);
    return LH_OK;
}

/* Writes one batch as a Parquet object at key; returns 0 on success. */
static int fx_put(struct lh_store *st, const char *key, const struct lh_schema *sc,
                  const struct lh_batch *b, int64_t rg_rows, uint64_t *size)
{
    struct lh_buf buf;
    lh_buf_init(&buf, 0);
    struct lh_parquet_writer_options o;
    lh_parquet_writer_options_init(&o);
    o.row_group_rows = rg_rows;
    o.page_bytes = 4096;
    struct lh_parquet_writer *w;
    struct lh_error err;
    int rc = -1;
    if (lh_parquet_writer_create(sc, &o, fx_buf_sink, &buf, &w, &err) != LH_OK)
        goto out;
    if (lh_parquet_writer_add_batch(w, b, &err) != LH_OK ||
        lh_parquet_writer_close(w, &err) != LH_OK) {
        lh_parquet_writer_destroy(w);
        goto out;
    }
    lh_parquet_writer_destroy(w);
    if (lh_store_put(st, key, buf.data, buf.len, &err) != LH_OK)
        goto out;
    *size = buf.len;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "fixture %s: %s\n", key, err.msg);
    lh_buf_reset(&buf);
    return rc;
}

/* Registers a version of the objects at keys, with their sizes and (as
 * ingest records them) their checksums, read back from the store. */
static int fx_register(struct lh_store *st, struct lh_catalog *cat, const char *name,
                       const char *const *keys, const uint64_t *sizes, size_t n, uint64_t rows)
{
    struct lh_catalog_object o[4];
    char sums[4][LH_CATALOG_CHECKSUM_SIZE];
    struct lh_error err;
    for (size_t i = 0; i < n; i++) {
        uint8_t *data;
        size_t len;
        if (lh_store_get(st, keys[i], 0, &data, &len, NULL, &err) != LH_OK) {
            fprintf(stderr, "register %s: %s\n", name, err.msg);
            return -1;
        }
        lh_catalog_checksum_format(lh_crc32(0, data, len), sums[i]);
        free(data);
        o[i] =
            (struct lh_catalog_object){.key = keys[i], .size_bytes = sizes[i], .checksum = sums[i]};
    }
    struct lh_catalog_version_spec sp = {
        .objects = o, .nobjects = n, .row_count = rows, .run_id = "test"};
    if (lh_catalog_version_register(cat, name, &sp, NULL, &err) != LH_OK) {
        fprintf(stderr, "register %s: %s\n", name, err.msg);
        return -1;
    }
    return 0;
}

/* types: see the header comment of each column. */
static int fx_types(struct lh_store *st, struct lh_catalog *cat)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "b", .type = LH_T_BOOL, .nullable = true},      /* NULL if i%7==0 else i%3==0 */
        {.name = "i8", .type = LH_T_INT8},                       /* i%256-128 */
        {.name = "i16", .type = LH_T_INT16},                     /* i*37%65536-32768 */
        {.name = "i32", .type = LH_T_INT32},                     /* i*7919%100000-50000 */
        {.name = "i64", .type = LH_T_INT64},                     /* i*1000000007-5e12 */
        {.name = "u8", .type = LH_T_UINT8},                      /* i%256 */
        {.name = "u16", .type = LH_T_UINT16},                    /* i*31%65536 */
        {.name = "u32", .type = LH_T_UINT32},                    /* 4294967295-i */
        {.name = "u64", .type = LH_T_UINT64},                    /* odd i: i; even: 2^64-1-i */
        {.name = "f32", .type = LH_T_FLOAT},                     /* i/4 */
        {.name = "f64", .type = LH_T_DOUBLE, .nullable = true},  /* NULL if i%5==0 else i*0.5-100 */
        {.name = "s", .type = LH_T_STRING, .nullable = true},    /* NULL if i%5==0 else 'str'||i%13 */
        {.name = "js", .type = LH_T_JSON},                       /* {"a":i} */
        {.name = "en", .type = LH_T_ENUM},                       /* red/green/blue[i%3] */
        {.name = "bin", .type = LH_T_BINARY},                    /* 'b'||i */
        {.name = "uid", .type = LH_T_UUID},                      /* 16 bytes i%256 */
        {.name = "fx", .type = LH_T_FIXED, .fixed_len = 3},      /* i%256, 1, 2 */
        {.name = "d9", .type = LH_T_DECIMAL, .precision = 9, .scale = 2},    /* i*101-50000 */
        {.name = "d38", .type = LH_T_DECIMAL, .precision = 38, .scale = 10}, /* (i-150)*1e20 */
        {.name = "dt", .type = LH_T_DATE},                       /* i-1000 days */
        {.name = "ts", .type = LH_T_TIMESTAMP},                  /* 1.7e15 + i*1000003 us */
        {.name = "tsz", .type = LH_T_TIMESTAMP, .ts_utc = true}, /* same, UTC */
        {.name = "tm", .type = LH_T_TIME},                       /* i*1000003 % 86400e6 us */
        {.name = "li", .type = LH_T_INT32, .is_list = true, .nullable = true,
         .element_nullable = true}, /* NULL if i%4==3; else k<i%4: NULL if k==1 else i*10+k */
    };
    enum { NC = sizeof f / sizeof f[0], N = TYPES_N };
    static int64_t id[N], i64[N], u64v[N], ts[N], tm[N];
    static int32_t i8[N], i16[N], i32[N], d9[N], dt[N], li_off[N + 1], li_vals[N * 3];
    static uint32_t u8[N], u16[N], u32[N];
    static float f32[N];
    static double f64[N];
    static uint8_t bv[N], bvalid[N / 8 + 1], fvalid[N / 8 + 1], svalid[N / 8 + 1],
        uid[N * 16], fxd[N * 3], li_valid[N / 8 + 1], li_ev[N * 3 / 8 + 1];
    static lh_i128 d38[N];
    static const char *colors[] = {"red", "green", "blue"};
    struct fx_strs s, js, en, bin;
    fx_strs_init(&s, N, N * 32);
    fx_strs_init(&js, N, N * 32);
    fx_strs_init(&en, N, N * 8);
    fx_strs_init(&bin, N, N * 8);
    memset(li_ev, 0, sizeof li_ev);
    int ln = 0;
    char t[64];
    for (int i = 0; i < N; i++) {
        id[i] = i;
        lh_bit_set(bvalid, i, i % 7 != 0);
        bv[i] = i % 3 == 0;
        i8[i] = i % 256 - 128;
        i16[i] = i * 37 % 65536 - 32768;
        i32[i] = i * 7919 % 100000 - 50000;
        i64[i] = (int64_t)i * 1000000007LL - 5000000000000LL;
        u8[i] = (uint32_t)(i % 256);
        u16[i] = (uint32_t)(i * 31 % 65536);
        u32[i] = 4294967295u - (uint32_t)i;
        u64v[i] = i % 2 ? i : (int64_t)(UINT64_MAX - (uint64_t)i);
        f32[i] = (float)i / 4.0f;
        lh_bit_set(fvalid, i, i % 5 != 0);
        f64[i] = i * 0.5 - 100;
        lh_bit_set(svalid, i, i % 5 != 0);
        int k = snprintf(t, sizeof t, "str%d", i % 13);
        if (i == 3)
            k = snprintf(t, sizeof t, "h\xc3\xa9llo, \"w\"");
        fx_strs_add(&s, i, t, i % 5 ? (size_t)k : 0);
        k = snprintf(t, sizeof t, "{\"a\":%d}", i);
        fx_strs_add(&js, i, t, (size_t)k);
        fx_strs_add(&en, i, colors[i % 3], strlen(colors[i % 3]));
        k = snprintf(t, sizeof t, "b%d", i);
        fx_strs_add(&bin, i, t, (size_t)k);
        memset(uid + 16 * i, i % 256, 16);
        fxd[3 * i] = (uint8_t)(i % 256), fxd[3 * i + 1] = 1, fxd[3 * i + 2] = 2;
        d9[i] = i * 101 - 50000;
        d38[i] = (lh_i128)(i - 150) * (lh_i128)10000000000LL * (lh_i128)10000000000LL;
        dt[i] = i - 1000;
        ts[i] = 1700000000000000LL + (int64_t)i * 1000003LL;
        tm[i] = (int64_t)i * 1000003LL % 86400000000LL;
        li_off[i] = ln;
        lh_bit_set(li_valid, i, i % 4 != 3);
        if (i % 4 != 3)
            for (int e = 0; e < i % 4; e++) {
                li_vals[ln] = i * 10 + e;
                lh_bit_set(li_ev, ln, e != 1);
                ln++;
            }
        li_off[i + 1] = ln;
    }
    struct lh_array child = {.length = ln, .validity = li_ev, .values = li_vals};
    struct lh_array a[NC] = {
        {.length = N, .values = id},
        {.length = N, .validity = bvalid, .values = bv},
        {.length = N, .values = i8},
        {.length = N, .values = i16},
        {.length = N, .values = i32},
        {.length = N, .values = i64},
        {.length = N, .values = u8},
        {.length = N, .values = u16},
        {.length = N, .values = u32},
        {.length = N, .values = u64v},
        {.length = N, .values = f32},
        {.length = N, .validity = fvalid, .values = f64},
        {.length = N, .validity = svalid, .offsets = s.off, .data = (uint8_t *)s.heap},
        {.length = N, .offsets = js.off, .data = (uint8_t *)js.heap},
        {.length = N, .offsets = en.off, .data = (uint8_t *)en.heap},
        {.length = N, .offsets = bin.off, .data = (uint8_t *)bin.heap},
        {.length = N, .values = uid},
        {.length = N, .values = fxd},
        {.length = N, .values = d9},
        {.length = N, .values = d38},
        {.length = N, .values = dt},
        {.length = N, .values = ts},
        {.length = N, .values = ts},
        {.length = N, .values = tm},
        {.length = N, .validity = li_valid, .list_offsets = li_off, .child = &child},
    };
    struct lh_schema sc = {NC, f};
    struct lh_batch b = {N, a};
    uint64_t size;
    const char *key = "datasets/types/v1/part-00000.parquet";
    int rc = fx_put(st, key, &sc, &b, 100, &size);
    if (rc == 0)
        rc = fx_register(st, cat, "types", &key, &size, 1, N);
    fx_strs_free(&s);
    fx_strs_free(&js);
    fx_strs_free(&en);
    fx_strs_free(&bin);
    return rc;
}

/* sorted: id = i (0..n-1), v = i*0.5, s = printf('k%06d', i), none = NULL,
 * grp = i % 10; row groups of rg rows. */
static int fx_sorted(struct lh_store *st, struct lh_catalog *cat, const char *name, int n, int rg)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "v", .type = LH_T_DOUBLE},
        {.name = "s", .type = LH_T_STRING},
        {.name = "none", .type = LH_T_INT32, .nullable = true},
        {.name = "grp", .type = LH_T_INT32},
    };
    int64_t *id = calloc((size_t)n, 8);
    double *v = calloc((size_t)n, 8);
    int32_t *none = calloc((size_t)n, 4), *grp = calloc((size_t)n, 4);
    uint8_t *nv = calloc((size_t)n / 8 + 1, 1);
    struct fx_strs s;
    fx_strs_init(&s, n, n * 8);
    char t[16];
    for (int i = 0; i < n; i++) {
        id[i] = i;
        v[i] = i * 0.5;
        grp[i] = i % 10;
        int k = snprintf(t, sizeof t, "k%06d", i);
        fx_strs_add(&s, i, t, (size_t)k);
    }
    struct lh_array a[5] = {
        {.length = n, .values = id},
        {.length = n, .values = v},
        {.length = n, .offsets = s.off, .data = (uint8_t *)s.heap},
        {.length = n, .validity = nv, .values = none},
        {.length = n, .values = grp},
    };
    struct lh_schema sc = {5, f};
    struct lh_batch b = {n, a};
    char key[128];
    snprintf(key, sizeof key, "datasets/%s/v1/part-00000.parquet", name);
    const char *kp = key;
    uint64_t size;
    int rc = fx_put(st, key, &sc, &b, rg, &size);
    if (rc == 0)
        rc = fx_register(st, cat, name, &kp, &size, 1, (uint64_t)n);
    free(id), free(v), free(none), free(grp), free(nv);
    fx_strs_free(&s);
    return rc;
}

/* orders rows [from, to): id = i, cust = i % 40, amount = DECIMAL(10,2)
 * i*37 % 100000 - 20000 (unscaled), qty = i % 7 (NULL if i % 11 == 0),
 * status = ['new','paid','shipped'][i % 3], day = DATE 19000 + i % 30. */
static int fx_orders_part(struct lh_store *st, const char *key, int from, int to, uint64_t *size)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT64},
        {.name = "cust", .type = LH_T_INT32},
        {.name = "amount", .type = LH_T_DECIMAL, .precision = 10, .scale = 2},
        {.name = "qty", .type = LH_T_INT32, .nullable = true},
        {.name = "status", .type = LH_T_STRING},
        {.name = "day", .type = LH_T_DATE},
    };
    int n = to - from;
    static const char *stn[] = {"new", "paid", "shipped"};
    int64_t *id = calloc((size_t)n, 8), *amt = calloc((size_t)n, 8);
    int32_t *cust = calloc((size_t)n, 4), *qty = calloc((size_t)n, 4), *day = calloc((size_t)n, 4);
    uint8_t *qv = calloc((size_t)n / 8 + 1, 1);
    struct fx_strs s;
    fx_strs_init(&s, n, n * 8);
    for (int r = 0; r < n; r++) {
        int i = from + r;
        id[r] = i;
        cust[r] = i % 40;
        amt[r] = (int64_t)i * 37 % 100000 - 20000;
        qty[r] = i % 7;
        lh_bit_set(qv, r, i % 11 != 0);
        fx_strs_add(&s, r, stn[i % 3], strlen(stn[i % 3]));
        day[r] = 19000 + i % 30;
    }
    struct lh_array a[6] = {
        {.length = n, .values = id},
        {.length = n, .values = cust},
        {.length = n, .values = amt},
        {.length = n, .validity = qv, .values = qty},
        {.length = n, .offsets = s.off, .data = (uint8_t *)s.heap},
        {.length = n, .values = day},
    };
    struct lh_schema sc = {6, f};
    struct lh_batch b = {n, a};
    int rc = fx_put(st, key, &sc, &b, 32, size);
    free(id), free(amt), free(cust), free(qty), free(day), free(qv);
    fx_strs_free(&s);
    return rc;
}

/* customers: id = i (0..39), name = 'cust' || i, tier = i % 3 */
static int fx_customers(struct lh_store *st, struct lh_catalog *cat)
{
    static const struct lh_field f[] = {
        {.name = "id", .type = LH_T_INT32},
        {.name = "name", .type = LH_T_STRING},
        {.name = "tier", .type = LH_T_INT32},
    };
    enum { N = 40 };
    int32_t id[N], tier[N];
    struct fx_strs s;
    fx_strs_init(&s, N, N * 8);
    char t[16];
    for (int i = 0; i < N; i++) {
        id[i] = i, tier[i] = i % 3;
        int k = snprintf(t, sizeof t, "cust%d", i);
        fx_strs_add(&s, i, t, (size_t)k);
    }
    struct lh_array a[3] = {{.length = N, .values = id},
                            {.length = N, .offsets = s.off, .data = (uint8_t *)s.heap},
                            {.length = N, .values = tier}};
    struct lh_schema sc = {3, f};
    struct lh_batch b = {N, a};
    const char *key = "datasets/customers/v1/part-00000.parquet";
    uint64_t size;
    int rc = fx_put(st, key, &sc, &b, 16, &size);
    if (rc == 0)
        rc = fx_register(st, cat, "customers", &key, &size, 1, N);
    fx_strs_free(&s);
    return rc;
}

/* Builds every dataset in dir (a fresh directory). 0 on success. */
static int fx_build(const char *dir)
{
    struct lh_store_set *set;
    struct lh_catalog *cat;
    struct lh_error err;
    if (lh_store_set_open(dir, NULL, NULL, &set, &err) != LH_OK ||
        lh_catalog_open(set, NULL, &cat, &err) != LH_OK) {
        fprintf(stderr, "fixtures: %s\n", err.msg);
        return -1;
    }
    struct lh_store *st = lh_store_set_primary(set);
    int rc = fx_types(st, cat);
    if (rc == 0)
        rc = fx_sorted(st, cat, "sorted", 20000, 1000);
    if (rc == 0)
        rc = fx_customers(st, cat);
    const char *k1 = "datasets/orders/v1/part-00000.parquet";
    const char *k2[2] = {"datasets/orders/v2/part-00000.parquet",
                         "datasets/orders/v2/part-00001.parquet"};
    uint64_t s1, s2[2];
    if (rc == 0)
        rc = fx_orders_part(st, k1, 0, 100, &s1);
    if (rc == 0)
        rc = fx_register(st, cat, "orders", &k1, &s1, 1, 100);
    if (rc == 0)
        rc = fx_orders_part(st, k2[0], 0, 90, &s2[0]);
    if (rc == 0)
        rc = fx_orders_part(st, k2[1], 90, 150, &s2[1]);
    if (rc == 0)
        rc = fx_register(st, cat, "orders", k2, s2, 2, 150);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return rc;
}

#endif
