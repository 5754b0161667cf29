/*
 * value.c — DuckDB result vectors to lakehouse SQL values (docs/sql.md
 * "Values"). A column's type is resolved once per statement into a
 * struct lh_sql_ctype (its id, decimal scale, enum dictionary, children);
 * each cell is then read straight from the vector's data and validity:
 * integers and doubles as numbers, decimals and 128-bit integers as exact
 * digits, temporal values and UUIDs as DuckDB's text, nested values
 * (LIST, ARRAY, STRUCT, MAP, UNION) as JSON text.
 *
 * Text goes into the caller's scratch buffer; a value's p holds the offset
 * until lh_sql_value_fix turns it into a pointer (the buffer may move while
 * a row is being converted).
 */
#include "sql_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *simple_name(int id)
{
    switch (id) {
    case DDB_BOOLEAN:
        return "BOOLEAN";
    case DDB_TINYINT:
        return "TINYINT";
    case DDB_SMALLINT:
        return "SMALLINT";
    case DDB_INTEGER:
        return "INTEGER";
    case DDB_BIGINT:
        return "BIGINT";
    case DDB_UTINYINT:
        return "UTINYINT";
    case DDB_USMALLINT:
        return "USMALLINT";
    case DDB_UINTEGER:
        return "UINTEGER";
    case DDB_UBIGINT:
        return "UBIGINT";
    case DDB_HUGEINT:
        return "HUGEINT";
    case DDB_UHUGEINT:
        return "UHUGEINT";
    case DDB_FLOAT:
        return "FLOAT";
    case DDB_DOUBLE:
        return "DOUBLE";
    case DDB_TIMESTAMP:
        return "TIMESTAMP";
    case DDB_TIMESTAMP_S:
        return "TIMESTAMP_S";
    case DDB_TIMESTAMP_MS:
        return "TIMESTAMP_MS";
    case DDB_TIMESTAMP_NS:
        return "TIMESTAMP_NS";
    case DDB_TIMESTAMP_TZ:
        return "TIMESTAMP WITH TIME ZONE";
    case DDB_DATE:
        return "DATE";
    case DDB_TIME:
        return "TIME";
    case DDB_TIME_TZ:
        return "TIME WITH TIME ZONE";
    case DDB_INTERVAL:
        return "INTERVAL";
    case DDB_VARCHAR:
        return "VARCHAR";
    case DDB_BLOB:
        return "BLOB";
    case DDB_UUID:
        return "UUID";
    case DDB_ENUM:
        return "ENUM";
    case DDB_BIT:
        return "BIT";
    case DDB_SQLNULL:
        return "NULL";
    default:
        return "UNKNOWN";
    }
}

enum lh_status lh_sql_ctype_init(const struct lh_ddb *d, ddb_ltype t, struct lh_sql_ctype *out,
                                 struct lh_error *err)
{
    memset(out, 0, sizeof *out);
    out->id = d->duckdb_get_type_id(t);
    enum lh_status s = LH_OK;
    switch (out->id) {
    case DDB_DECIMAL:
        out->phys = d->duckdb_decimal_internal_type(t);
        out->scale = d->duckdb_decimal_scale(t);
        snprintf(out->name, sizeof out->name, "DECIMAL(%u,%u)", d->duckdb_decimal_width(t),
                 d->duckdb_decimal_scale(t));
        return LH_OK;
    case DDB_VARCHAR: {
        char *alias = d->duckdb_logical_type_get_alias(t);
        out->json = alias && strcmp(alias, "JSON") == 0;
        snprintf(out->name, sizeof out->name, "%s", out->json ? "JSON" : "VARCHAR");
        d->duckdb_free(alias);
        return LH_OK;
    }
    case DDB_ENUM:
        out->phys = d->duckdb_enum_internal_type(t);
        out->ndict = d->duckdb_enum_dictionary_size(t);
        out->dict = calloc(out->ndict + 1, sizeof *out->dict);
        if (!out->dict)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        for (size_t i = 0; i < out->ndict; i++)
            out->dict[i] = d->duckdb_enum_dictionary_value(t, i);
        snprintf(out->name, sizeof out->name, "ENUM");
        return LH_OK;
    case DDB_LIST:
    case DDB_ARRAY:
    case DDB_MAP:
    case DDB_STRUCT:
    case DDB_UNION:
        break;
    default:
        snprintf(out->name, sizeof out->name, "%s", simple_name(out->id));
        return LH_OK;
    }
    size_t n = out->id == DDB_STRUCT  ? d->duckdb_struct_type_child_count(t)
               : out->id == DDB_UNION ? d->duckdb_union_type_member_count(t)
               : out->id == DDB_MAP   ? 2
                                      : 1;
    out->child = calloc(n + 1, sizeof *out->child);
    out->names = calloc(n + 1, sizeof *out->names);
    if (!out->child || !out->names)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    out->nchild = n;
    struct lh_buf nm;
    lh_buf_init(&nm, sizeof out->name - 1);
    if (out->id == DDB_STRUCT || out->id == DDB_UNION)
        lh_buf_append_str(&nm, out->id == DDB_STRUCT ? "STRUCT(" : "UNION(");
    else if (out->id == DDB_MAP)
        lh_buf_append_str(&nm, "MAP(");
    for (size_t i = 0; i < n && s == LH_OK; i++) {
        ddb_ltype c = NULL;
        switch (out->id) {
        case DDB_LIST:
            c = d->duckdb_list_type_child_type(t);
            break;
        case DDB_ARRAY:
            c = d->duckdb_array_type_child_type(t);
            break;
        case DDB_MAP:
            c = i ? d->duckdb_map_type_value_type(t) : d->duckdb_map_type_key_type(t);
            break;
        case DDB_STRUCT:
            c = d->duckdb_struct_type_child_type(t, i);
            out->names[i] = d->duckdb_struct_type_child_name(t, i);
            break;
        default:
            c = d->duckdb_union_type_member_type(t, i);
            out->names[i] = d->duckdb_union_type_member_name(t, i);
            break;
        }
        if (!c)
            s = lh_error_set(err, LH_E_INTERNAL, "DuckDB returned no child type");
        else
            s = lh_sql_ctype_init(d, c, &out->child[i], err);
        d->duckdb_destroy_logical_type(&c);
        if (s != LH_OK)
            break;
        if (out->names[i]) {
            lh_buf_printf(&nm, "%s\"%s\" %s", i ? ", " : "", out->names[i], out->child[i].name);
        } else if (out->id == DDB_MAP) {
            lh_buf_printf(&nm, "%s%s", i ? ", " : "", out->child[i].name);
        }
    }
    if (out->id == DDB_LIST)
        lh_buf_printf(&nm, "%s[]", out->child[0].name);
    else if (out->id == DDB_ARRAY) {
        out->array_size = d->duckdb_array_type_array_size(t);
        lh_buf_printf(&nm, "%s[%" PRIu64 "]", out->child[0].name, out->array_size);
    } else
        lh_buf_append_u8(&nm, ')');
    snprintf(out->name, sizeof out->name, "%.*s", lh_buf_ok(&nm) ? (int)nm.len : 0,
             nm.data ? (const char *)nm.data : "");
    if (!lh_buf_ok(&nm)) /* a very deep type: keep the outer shape */
        snprintf(out->name, sizeof out->name, "%s", out->id == DDB_LIST ? "LIST" : "STRUCT");
    lh_buf_reset(&nm);
    return s;
}

void lh_sql_ctype_free(const struct lh_ddb *d, struct lh_sql_ctype *t)
{
    for (size_t i = 0; i < t->ndict; i++)
        d->duckdb_free(t->dict[i]);
    free(t->dict);
    for (size_t i = 0; t->child && i < t->nchild; i++) {
        lh_sql_ctype_free(d, &t->child[i]);
        if (t->names)
            d->duckdb_free(t->names[i]);
    }
    free(t->child);
    free(t->names);
    memset(t, 0, sizeof *t);
}

static bool is_valid(const struct lh_ddb *d, ddb_vector v, uint64_t row)
{
    uint64_t *m = d->duckdb_vector_get_validity(v);
    return !m || (m[row / 64] >> (row % 64) & 1);
}

static __int128 hugeint_of(const void *p)
{
    struct ddb_hugeint h;
    memcpy(&h, p, sizeof h);
    return (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
}

static size_t interval_text(const struct ddb_interval *iv, char *out, size_t cap)
{
    struct lh_buf b;
    lh_buf_init(&b, cap - 1);
    int32_t y = iv->months / 12, mo = iv->months % 12;
    if (y)
        lh_buf_printf(&b, "%d year%s ", y, y == 1 || y == -1 ? "" : "s");
    if (mo)
        lh_buf_printf(&b, "%d month%s ", mo, mo == 1 || mo == -1 ? "" : "s");
    if (iv->days)
        lh_buf_printf(&b, "%d day%s ", iv->days, iv->days == 1 || iv->days == -1 ? "" : "s");
    if (iv->micros || b.len == 0) {
        int64_t us = iv->micros < 0 ? -iv->micros : iv->micros;
        char t[32];
        int64_t h = us / 3600000000LL;
        lh_sql_fmt_time(us % 3600000000LL, t, sizeof t); /* "00:MM:SS[.f]" */
        lh_buf_printf(&b, "%s%02" PRId64 "%s", iv->micros < 0 ? "-" : "", h, t + 2);
    } else {
        b.len--; /* the last space */
    }
    size_t n = lh_buf_ok(&b) ? b.len : 0;
    if (n)
        memcpy(out, b.data, n);
    out[n] = '\0';
    lh_buf_reset(&b);
    return n;
}

enum scalar_kind { SK_NULL, SK_BOOL, SK_INT, SK_REAL, SK_NUMBER, SK_TEXT, SK_BLOB, SK_JSON };

/* A scalar cell into t (formatted values) or str/len (borrowed vector
 * memory); the kind says how to serialize it. */
static enum scalar_kind scalar(const struct lh_ddb *d, const struct lh_sql_ctype *ct, ddb_vector v,
                               uint64_t row, int64_t *iv, double *dv, char *t, size_t cap,
                               const char **str, size_t *len)
{
    const uint8_t *data = d->duckdb_vector_get_data(v);
    *str = t;
    switch (ct->id) {
    case DDB_BOOLEAN:
        *iv = data[row] != 0;
        return SK_BOOL;
    case DDB_TINYINT:
        *iv = ((const int8_t *)data)[row];
        return SK_INT;
    case DDB_SMALLINT:
        *iv = ((const int16_t *)data)[row];
        return SK_INT;
    case DDB_INTEGER:
        *iv = ((const int32_t *)data)[row];
        return SK_INT;
    case DDB_BIGINT:
        *iv = ((const int64_t *)data)[row];
        return SK_INT;
    case DDB_UTINYINT:
        *iv = ((const uint8_t *)data)[row];
        return SK_INT;
    case DDB_USMALLINT:
        *iv = ((const uint16_t *)data)[row];
        return SK_INT;
    case DDB_UINTEGER:
        *iv = ((const uint32_t *)data)[row];
        return SK_INT;
    case DDB_UBIGINT: {
        uint64_t u = ((const uint64_t *)data)[row];
        if (u <= INT64_MAX) {
            *iv = (int64_t)u;
            return SK_INT;
        }
        *len = lh_u128_format(u, t, cap);
        return SK_NUMBER;
    }
    case DDB_HUGEINT:
        *len = lh_decimal_format(hugeint_of(data + row * 16), 0, t, cap);
        return SK_NUMBER;
    case DDB_UHUGEINT:
        *len = lh_u128_format((unsigned __int128)hugeint_of(data + row * 16), t, cap);
        return SK_NUMBER;
    case DDB_FLOAT:
        *dv = ((const float *)data)[row];
        return SK_REAL;
    case DDB_DOUBLE:
        *dv = ((const double *)data)[row];
        return SK_REAL;
    case DDB_DECIMAL: {
        __int128 x;
        switch (ct->phys) {
        case DDB_SMALLINT:
            x = ((const int16_t *)data)[row];
            break;
        case DDB_INTEGER:
            x = ((const int32_t *)data)[row];
            break;
        case DDB_BIGINT:
            x = ((const int64_t *)data)[row];
            break;
        default:
            x = hugeint_of(data + row * 16);
            break;
        }
        *len = lh_decimal_format(x, ct->scale, t, cap);
        return SK_NUMBER;
    }
    case DDB_DATE: {
        int32_t days = ((const int32_t *)data)[row];
        if (days == INT32_MAX || days == -INT32_MAX) {
            *len = (size_t)snprintf(t, cap, "%s", days > 0 ? "infinity" : "-infinity");
            return SK_TEXT;
        }
        *len = lh_sql_fmt_date(days, t, cap);
        return SK_TEXT;
    }
    case DDB_TIMESTAMP:
    case DDB_TIMESTAMP_TZ:
    case DDB_TIMESTAMP_S:
    case DDB_TIMESTAMP_MS:
    case DDB_TIMESTAMP_NS: {
        int64_t x = ((const int64_t *)data)[row];
        if (x == INT64_MAX || x == -INT64_MAX) {
            *len = (size_t)snprintf(t, cap, "%s", x > 0 ? "infinity" : "-infinity");
            return SK_TEXT;
        }
        int64_t us = ct->id == DDB_TIMESTAMP_S    ? x * 1000000
                     : ct->id == DDB_TIMESTAMP_MS ? x * 1000
                     : ct->id == DDB_TIMESTAMP_NS ? (x >= 0 ? x / 1000 : -((-x + 999) / 1000))
                                                  : x;
        *len = lh_sql_fmt_timestamp(us, ct->id == DDB_TIMESTAMP_TZ, t, cap);
        return SK_TEXT;
    }
    case DDB_TIME:
        *len = lh_sql_fmt_time(((const int64_t *)data)[row], t, cap);
        return SK_TEXT;
    case DDB_INTERVAL: {
        struct ddb_interval x;
        memcpy(&x, data + row * sizeof x, sizeof x);
        *len = interval_text(&x, t, cap);
        return SK_TEXT;
    }
    case DDB_UUID: {
        /* stored as a hugeint with the top bit flipped, so that it sorts */
        unsigned __int128 u =
            (unsigned __int128)hugeint_of(data + row * 16) ^ ((unsigned __int128)1 << 127);
        uint8_t b[16];
        for (int i = 15; i >= 0; i--, u >>= 8)
            b[i] = (uint8_t)u;
        *len = lh_sql_fmt_uuid(b, t, cap);
        return SK_TEXT;
    }
    case DDB_ENUM: {
        uint64_t k = ct->phys == DDB_UTINYINT    ? ((const uint8_t *)data)[row]
                     : ct->phys == DDB_USMALLINT ? ((const uint16_t *)data)[row]
                                                 : ((const uint32_t *)data)[row];
        *str = k < ct->ndict && ct->dict[k] ? ct->dict[k] : "";
        *len = strlen(*str);
        return SK_TEXT;
    }
    case DDB_VARCHAR:
    case DDB_BLOB:
    case DDB_BIT: {
        const struct ddb_string *s = (const struct ddb_string *)(data + row * 16);
        *len = s->length;
        *str = s->length <= 12 ? (const char *)s + 4 : s->ptr;
        return ct->id == DDB_VARCHAR ? (ct->json ? SK_JSON : SK_TEXT) : SK_BLOB;
    }
    case DDB_SQLNULL:
        return SK_NULL;
    default:
        *len = (size_t)snprintf(t, cap, "(%s: CAST it to VARCHAR)", ct->name);
        return SK_TEXT;
    }
}

/* Appends row `row` of v as JSON (nested values, and cells inside them). */
static void json_cell(const struct lh_ddb *d, const struct lh_sql_ctype *ct, ddb_vector v,
                      uint64_t row, struct lh_buf *b, int depth)
{
    if (!is_valid(d, v, row) || depth > 64) {
        lh_buf_append_str(b, "null");
        return;
    }
    switch (ct->id) {
    case DDB_LIST:
    case DDB_MAP: {
        const struct ddb_list_entry *le = d->duckdb_vector_get_data(v);
        ddb_vector child = d->duckdb_list_vector_get_child(v);
        uint64_t off = le[row].offset, n = le[row].length;
        if (ct->id == DDB_MAP) { /* [{"key": k, "value": v}, ...] keeps any key type */
            ddb_vector kv = d->duckdb_struct_vector_get_child(child, 0);
            ddb_vector vv = d->duckdb_struct_vector_get_child(child, 1);
            lh_buf_append_u8(b, '[');
            for (uint64_t i = 0; i < n; i++) {
                lh_buf_append_str(b, i ? ",{\"key\":" : "{\"key\":");
                json_cell(d, &ct->child[0], kv, off + i, b, depth + 1);
                lh_buf_append_str(b, ",\"value\":");
                json_cell(d, &ct->child[1], vv, off + i, b, depth + 1);
                lh_buf_append_u8(b, '}');
            }
            lh_buf_append_u8(b, ']');
            return;
        }
        lh_buf_append_u8(b, '[');
        for (uint64_t i = 0; i < n; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            json_cell(d, &ct->child[0], child, off + i, b, depth + 1);
        }
        lh_buf_append_u8(b, ']');
        return;
    }
    case DDB_ARRAY: {
        ddb_vector child = d->duckdb_array_vector_get_child(v);
        lh_buf_append_u8(b, '[');
        for (uint64_t i = 0; i < ct->array_size; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            json_cell(d, &ct->child[0], child, row * ct->array_size + i, b, depth + 1);
        }
        lh_buf_append_u8(b, ']');
        return;
    }
    case DDB_STRUCT:
        lh_buf_append_u8(b, '{');
        for (size_t i = 0; i < ct->nchild; i++) {
            if (i)
                lh_buf_append_u8(b, ',');
            const char *nm = ct->names[i] ? ct->names[i] : "";
            lh_buf_json_str(b, nm, strlen(nm));
            lh_buf_append_u8(b, ':');
            json_cell(d, &ct->child[i], d->duckdb_struct_vector_get_child(v, i), row, b, depth + 1);
        }
        lh_buf_append_u8(b, '}');
        return;
    case DDB_UNION: { /* child 0 is the tag, member k is child k + 1 */
        const uint8_t *tag = d->duckdb_vector_get_data(d->duckdb_struct_vector_get_child(v, 0));
        size_t k = tag[row];
        if (k >= ct->nchild) {
            lh_buf_append_str(b, "null");
            return;
        }
        json_cell(d, &ct->child[k], d->duckdb_struct_vector_get_child(v, k + 1), row, b, depth + 1);
        return;
    }
    default:
        break;
    }
    char t[96];
    int64_t iv = 0;
    double dv = 0;
    const char *str = t;
    size_t len = 0;
    switch (scalar(d, ct, v, row, &iv, &dv, t, sizeof t, &str, &len)) {
    case SK_NULL:
        lh_buf_append_str(b, "null");
        break;
    case SK_BOOL:
        lh_buf_append_str(b, iv ? "true" : "false");
        break;
    case SK_INT:
        lh_buf_printf(b, "%" PRId64, iv);
        break;
    case SK_REAL:
        if (dv != dv || dv - dv != 0)
            lh_buf_append_str(b, "null");
        else
            lh_buf_append(b, t, lh_sql_fmt_double(dv, t, sizeof t));
        break;
    case SK_NUMBER:
    case SK_JSON:
        lh_buf_append(b, str, len);
        break;
    case SK_TEXT:
        lh_buf_json_str(b, str, len);
        break;
    case SK_BLOB:
        lh_buf_append_u8(b, '"');
        lh_buf_append_hex(b, (const uint8_t *)str, len);
        lh_buf_append_u8(b, '"');
        break;
    }
}

void lh_sql_value_get(const struct lh_ddb *d, const struct lh_sql_ctype *ct, ddb_vector v,
                      uint64_t row, struct lh_buf *scratch, struct lh_sql_value *out)
{
    memset(out, 0, sizeof *out);
    if (!is_valid(d, v, row)) {
        out->kind = LH_SQL_NULL;
        return;
    }
    size_t at = scratch->len;
    switch (ct->id) {
    case DDB_LIST:
    case DDB_MAP:
    case DDB_ARRAY:
    case DDB_STRUCT:
    case DDB_UNION:
        json_cell(d, ct, v, row, scratch, 0);
        out->kind = LH_SQL_JSON;
        out->p = (const void *)(uintptr_t)at;
        out->n = scratch->len - at;
        return;
    default:
        break;
    }
    char t[96];
    const char *str = t;
    size_t len = 0;
    enum scalar_kind k = scalar(d, ct, v, row, &out->i, &out->d, t, sizeof t, &str, &len);
    static const enum lh_sql_kind map[] = {
        [SK_NULL] = LH_SQL_NULL, [SK_BOOL] = LH_SQL_BOOL,     [SK_INT] = LH_SQL_INT,
        [SK_REAL] = LH_SQL_REAL, [SK_NUMBER] = LH_SQL_NUMBER, [SK_TEXT] = LH_SQL_TEXT,
        [SK_BLOB] = LH_SQL_BLOB, [SK_JSON] = LH_SQL_JSON,
    };
    out->kind = map[k];
    if (k >= SK_NUMBER) {
        lh_buf_append(scratch, str, len);
        out->p = (const void *)(uintptr_t)at;
        out->n = len;
    }
}

void lh_sql_value_fix(struct lh_sql_value *vals, size_t n, const struct lh_buf *scratch)
{
    for (size_t i = 0; i < n; i++)
        if (vals[i].kind >= LH_SQL_NUMBER)
            vals[i].p = scratch->data ? scratch->data + (uintptr_t)vals[i].p : (const void *)"";
}
