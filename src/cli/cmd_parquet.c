/*
 * cmd_parquet.c — `lakehouse parquet inspect|cat FILE`.
 *
 * inspect: the footer as the reader sees it — schema (lakehouse type,
 * physical and logical Parquet types, repetition), row count, and per row
 * group and column: codec, encodings, sizes and statistics formatted for
 * the column's type. Text by default, one JSON document with --json.
 *
 * cat: the rows, one row group at a time (memory bounded by one row
 * group's decoded columns), as JSON lines or CSV with a header.
 *
 * Only the public parquet.h is used; value formatting lives here because
 * it is output formatting.
 */
#include "cli.h"
#include "parquet/parquet.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAT_ARENA_MAX ((size_t)4 << 30)

static const char *inspect_usage =
    "usage: lakehouse parquet inspect FILE [--json]\n"
    "\n"
    "Prints a Parquet file's schema (lakehouse type, physical and logical\n"
    "Parquet type, repetition), row count, and for every row group and column\n"
    "the codec, encodings, compressed/uncompressed sizes, null count and\n"
    "min/max statistics formatted by the column's logical type.\n"
    "\n"
    "  --json    one JSON document instead of text\n";

static const char *cat_usage =
    "usage: lakehouse parquet cat FILE [--limit N] [--format json|csv | --json]\n"
    "\n"
    "Prints the rows of a Parquet file.\n"
    "\n"
    "  --limit N       stop after N rows\n"
    "  --format json   one JSON object per line (default)\n"
    "  --format csv    RFC 4180 CSV with a header line; NULL is an empty field\n"
    "  --json          the same as --format json\n"
    "\n"
    "Values: decimals as exact text (12.50); dates YYYY-MM-DD; timestamps\n"
    "ISO-8601 (with a trailing Z when the column is adjusted to UTC;\n"
    "microsecond precision, NANOS columns are truncated to microseconds);\n"
    "times HH:MM:SS[.ffffff]; UUIDs in canonical form; binary and fixed-length\n"
    "values as lower-case hex; lists as JSON arrays (in CSV, the array's JSON\n"
    "text in one field). In JSON, NaN and infinities are the strings \"NaN\",\n"
    "\"Infinity\", \"-Infinity\".\n";

static const char *parquet_usage =
    "usage: lakehouse parquet inspect FILE [--json]\n"
    "       lakehouse parquet cat FILE [--limit N] [--format json|csv]\n"
    "\n"
    "'lakehouse parquet inspect --help' and 'lakehouse parquet cat --help'\n"
    "describe each.\n";

static int open_failed(const char *path, const struct lh_error *err)
{
    if (err->status == LH_E_FORMAT)
        lh_cli_error("%s: not a Parquet file (%s)", path, err->msg);
    else
        lh_cli_error("%s: %s", path, err->msg);
    return 1;
}

/* ------------------------------------------------------------ text helpers */

static void json_cstr(struct lh_buf *b, const char *s)
{
    lh_buf_json_str(b, s, strlen(s));
}

static void decimal_text(struct lh_buf *b, lh_i128 v, int scale)
{
    char d[48];
    int n = 0;
    unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        d[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        d[n++] = '0';
    if (v < 0)
        lh_buf_append_u8(b, '-');
    for (int i = n - 1; i >= 0; i--) {
        lh_buf_append_u8(b, (uint8_t)d[i]);
        if (scale > 0 && i == scale)
            lh_buf_append_u8(b, '.');
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b) < 0);
}

enum vkind { V_RAW, V_TEXT }; /* V_TEXT: quote in JSON */

/* Appends slot i of a (not NULL) as text; returns whether JSON must quote it. */
static enum vkind value_text(struct lh_buf *b, const struct lh_field *f, const struct lh_array *a,
                             int64_t i, bool json)
{
    const uint8_t *v = a->values;
    switch (f->type) {
    case LH_T_BOOL:
        lh_buf_append_str(b, v[i] ? "true" : "false");
        return V_RAW;
    case LH_T_INT8: case LH_T_INT16: case LH_T_INT32:
        lh_buf_printf(b, "%" PRId32, ((const int32_t *)v)[i]);
        return V_RAW;
    case LH_T_UINT8: case LH_T_UINT16: case LH_T_UINT32:
        lh_buf_printf(b, "%" PRIu32, ((const uint32_t *)v)[i]);
        return V_RAW;
    case LH_T_INT64:
        lh_buf_printf(b, "%" PRId64, ((const int64_t *)v)[i]);
        return V_RAW;
    case LH_T_UINT64:
        lh_buf_printf(b, "%" PRIu64, ((const uint64_t *)v)[i]);
        return V_RAW;
    case LH_T_FLOAT:
    case LH_T_DOUBLE: {
        double x = f->type == LH_T_FLOAT ? (double)((const float *)v)[i] : ((const double *)v)[i];
        if (isnan(x) || isinf(x)) {
            lh_buf_append_str(b, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
            return json ? V_TEXT : V_RAW;
        }
        lh_buf_printf(b, f->type == LH_T_FLOAT ? "%.9g" : "%.17g", x);
        return V_RAW;
    }
    case LH_T_DECIMAL: {
        lh_i128 x;
        if (f->precision <= 9)
            x = ((const int32_t *)v)[i];
        else if (f->precision <= 18)
            x = ((const int64_t *)v)[i];
        else
            memcpy(&x, v + 16 * (size_t)i, 16);
        decimal_text(b, x, f->scale);
        return V_RAW;
    }
    case LH_T_DATE: {
        int64_t y;
        unsigned m, d;
        lh_civil_from_days(((const int32_t *)v)[i], &y, &m, &d);
        lh_buf_printf(b, "%04lld-%02u-%02u", (long long)y, m, d);
        return V_TEXT;
    }
    case LH_T_TIMESTAMP: {
        char t[48];
        int64_t us = ((const int64_t *)v)[i];
        if (us < INT64_MIN + 1000000) { /* beyond what the ISO formatter handles */
            lh_buf_printf(b, "%" PRId64, us);
            return V_RAW;
        }
        size_t n = lh_time_format_iso(us, t, sizeof t);
        if (!f->ts_utc && n && t[n - 1] == 'Z')
            t[--n] = '\0';
        lh_buf_append_str(b, t);
        return V_TEXT;
    }
    case LH_T_TIME: {
        int64_t us = ((const int64_t *)v)[i];
        int64_t s = floor_div(us, 1000000), frac = us % 1000000;
        if (frac < 0)
            frac += 1000000;
        lh_buf_printf(b, "%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                      (long long)(s % 60));
        if (frac)
            lh_buf_printf(b, ".%06lld", (long long)frac);
        return V_TEXT;
    }
    case LH_T_UUID: {
        const uint8_t *u = v + 16 * (size_t)i;
        lh_buf_append_hex(b, u, 4);
        lh_buf_append_u8(b, '-');
        lh_buf_append_hex(b, u + 4, 2);
        lh_buf_append_u8(b, '-');
        lh_buf_append_hex(b, u + 6, 2);
        lh_buf_append_u8(b, '-');
        lh_buf_append_hex(b, u + 8, 2);
        lh_buf_append_u8(b, '-');
        lh_buf_append_hex(b, u + 10, 6);
        return V_TEXT;
    }
    case LH_T_FIXED:
        lh_buf_append_hex(b, v + (size_t)f->fixed_len * (size_t)i, f->fixed_len);
        return V_TEXT;
    case LH_T_BINARY:
        lh_buf_append_hex(b, a->data + a->offsets[i], (size_t)(a->offsets[i + 1] - a->offsets[i]));
        return V_TEXT;
    case LH_T_STRING: case LH_T_JSON: case LH_T_ENUM: case LH_T_COUNT_:
        break;
    }
    lh_buf_append(b, a->data + a->offsets[i], (size_t)(a->offsets[i + 1] - a->offsets[i]));
    return V_TEXT;
}

/* One value as a JSON token (null, number, string). */
static void json_value(struct lh_buf *b, struct lh_buf *tmp, const struct lh_field *f,
                       const struct lh_array *a, int64_t i)
{
    if (!lh_bit_get(a->validity, i)) {
        lh_buf_append_str(b, "null");
        return;
    }
    lh_buf_clear(tmp);
    if (value_text(tmp, f, a, i, true) == V_TEXT)
        lh_buf_json_str(b, (const char *)tmp->data, tmp->len);
    else
        lh_buf_append(b, tmp->data, tmp->len);
}

static void json_cell(struct lh_buf *b, struct lh_buf *tmp, const struct lh_field *f,
                      const struct lh_array *a, int64_t row)
{
    if (!f->is_list) {
        json_value(b, tmp, f, a, row);
        return;
    }
    if (!lh_bit_get(a->validity, row)) {
        lh_buf_append_str(b, "null");
        return;
    }
    lh_buf_append_u8(b, '[');
    for (int32_t k = a->list_offsets[row]; k < a->list_offsets[row + 1]; k++) {
        if (k > a->list_offsets[row])
            lh_buf_append_u8(b, ',');
        json_value(b, tmp, f, a->child, k);
    }
    lh_buf_append_u8(b, ']');
}

/* ------------------------------------------------------------ cat */

/* An argument that is no option of cmd: the FILE, given once. false
 * (message printed) otherwise. */
static bool file_operand(const char *cmd, const char *a, const char **path)
{
    if (a[0] == '-' && a[1] != '\0')
        lh_cli_error("parquet %s: unknown option '%s' (see --help)", cmd, a);
    else if (*path)
        lh_cli_error("parquet %s: one FILE only (see --help)", cmd);
    else
        *path = a;
    return *path == a;
}

/* Opens the FILE of cmd: 0, or the exit code (message printed). */
static int open_operand(const char *cmd, const char *path, struct lh_parquet_reader **r)
{
    if (!path) {
        lh_cli_error("parquet %s: which FILE? (see 'lakehouse parquet %s --help')", cmd, cmd);
        return 2;
    }
    struct lh_error err = {0};
    if (lh_parquet_reader_open_file(path, r, &err) != LH_OK)
        return open_failed(path, &err);
    return 0;
}

/* The arguments of `parquet cat|inspect` (cmd): inspect takes --json and
 * the FILE; cat also --limit N and --format json|csv. */
struct pq_args {
    const char *cmd, *path;
    bool json, csv;
    int64_t limit; /* -1: every row */
};

/* Reads argv (argv[0] the subcommand) into a: 0, or 2 (message printed). */
static int parse_args(int argc, char **argv, struct pq_args *a)
{
    bool cat = strcmp(a->cmd, "cat") == 0;
    for (int i = 1; i < argc; i++) {
        bool valued = strcmp(argv[i], "--limit") == 0 || strcmp(argv[i], "--format") == 0;
        if (cat && valued && i + 1 >= argc) {
            lh_cli_error("parquet cat: %s needs a value", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
            a->csv = false;
        } else if (cat && strcmp(argv[i], "--limit") == 0) {
            if (!lh_parse_i64(argv[++i], &a->limit) || a->limit < 0) {
                lh_cli_error("parquet cat: --limit wants a non-negative integer, not '%s'",
                             argv[i]);
                return 2;
            }
        } else if (cat && strcmp(argv[i], "--format") == 0) {
            i++;
            if (strcmp(argv[i], "csv") == 0 || strcmp(argv[i], "json") == 0) {
                a->csv = strcmp(argv[i], "csv") == 0;
            } else {
                lh_cli_error("parquet cat: --format is json or csv, not '%s'", argv[i]);
                return 2;
            }
        } else if (!file_operand(a->cmd, argv[i], &a->path)) {
            return 2;
        }
    }
    return 0;
}

static int cmd_cat(struct lh_parquet_reader *r, const struct pq_args *a)
{
    const char *path = a->path;
    int64_t limit = a->limit;
    bool csv = a->csv;
    struct lh_error err = {0};
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    size_t nf = info->schema.nfields;
    int rc = 1;
    struct lh_arena arena;
    lh_arena_init(&arena, CAT_ARENA_MAX);
    struct lh_buf out, tmp;
    lh_buf_init(&out, 0);
    lh_buf_init(&tmp, 0);
    struct lh_array *cols = calloc(nf ? nf : 1, sizeof *cols);
    if (!cols) {
        lh_cli_error("out of memory");
        goto done;
    }
    if (csv) {
        for (size_t c = 0; c < nf; c++) {
            if (c)
                lh_buf_append_u8(&out, ',');
            const char *n = info->schema.fields[c].name;
            lh_buf_csv_str(&out, n, strlen(n), false);
        }
        lh_buf_append_u8(&out, '\n');
    }
    int64_t printed = 0;
    for (int32_t g = 0; g < info->num_row_groups && (limit < 0 || printed < limit); g++) {
        for (size_t c = 0; c < nf; c++) {
            if (lh_parquet_reader_read_column(r, g, c, &arena, &cols[c], &err) != LH_OK) {
                if (out.len) /* the rows before the damage; out.data is NULL while empty */
                    fwrite(out.data, 1, out.len, stdout);
                fflush(stdout);
                if (err.status == LH_E_FORMAT)
                    lh_cli_error("%s: corrupt Parquet data (%s)", path, err.msg);
                else
                    lh_cli_error("%s: %s", path, err.msg);
                goto done;
            }
        }
        int64_t n = info->row_groups[g].num_rows;
        for (int64_t i = 0; i < n && (limit < 0 || printed < limit); i++, printed++) {
            if (!csv)
                lh_buf_append_u8(&out, '{');
            for (size_t c = 0; c < nf; c++) {
                const struct lh_field *f = &info->schema.fields[c];
                if (c)
                    lh_buf_append_u8(&out, ',');
                if (!csv) {
                    json_cstr(&out, f->name);
                    lh_buf_append_u8(&out, ':');
                    json_cell(&out, &tmp, f, &cols[c], i);
                    continue;
                }
                if (f->is_list) {
                    if (!lh_bit_get(cols[c].validity, i))
                        continue;
                    struct lh_buf cell;
                    lh_buf_init(&cell, 0);
                    json_cell(&cell, &tmp, f, &cols[c], i);
                    lh_buf_csv_str(&out, cell.data, cell.len, false);
                    lh_buf_reset(&cell);
                } else if (lh_bit_get(cols[c].validity, i)) {
                    lh_buf_clear(&tmp);
                    value_text(&tmp, f, &cols[c], i, false);
                    lh_buf_csv_str(&out, tmp.data, tmp.len, false);
                }
            }
            lh_buf_append_str(&out, csv ? "\n" : "}\n");
            if (out.len > (1u << 16)) {
                fwrite(out.data, 1, out.len, stdout);
                lh_buf_clear(&out);
            }
        }
        lh_arena_reset(&arena);
    }
    if (!lh_buf_ok(&out) || !lh_buf_ok(&tmp)) {
        lh_cli_error("out of memory");
        goto done;
    }
    if (out.len)
        fwrite(out.data, 1, out.len, stdout);
    if (fflush(stdout) != 0) {
        lh_cli_error("writing output failed");
        goto done;
    }
    rc = 0;
done:
    free(cols);
    lh_buf_reset(&out);
    lh_buf_reset(&tmp);
    lh_arena_reset(&arena);
    return rc;
}

/* ------------------------------------------------------------ inspect */

static const char *physical_name(enum lh_parquet_physical p)
{
    static const char *const n[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                    "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return (unsigned)p < 8 ? n[p] : "?";
}

static void encodings_text(struct lh_buf *b, uint32_t enc)
{
    static const char *const n[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE",
                                    "BIT_PACKED", "DELTA_BINARY_PACKED",
                                    "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                    "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    bool first = true;
    for (unsigned e = 0; e < 32; e++) {
        if (!(enc & (1u << e)))
            continue;
        if (!first)
            lh_buf_append_u8(b, ',');
        first = false;
        if (e < sizeof n / sizeof n[0])
            lh_buf_append_str(b, n[e]);
        else
            lh_buf_printf(b, "%u", e);
    }
}

static const char *repetition_text(const struct lh_field *f)
{
    if (f->is_list)
        return f->nullable ? "optional list" : "required list";
    return f->nullable ? "optional" : "required";
}

static void type_text(char *out, size_t cap, const struct lh_field *f)
{
    char t[64];
    if (f->type == LH_T_DECIMAL)
        snprintf(t, sizeof t, "decimal(%u,%u)", f->precision, f->scale);
    else if (f->type == LH_T_TIMESTAMP)
        snprintf(t, sizeof t, "%s", f->ts_utc ? "timestamp (UTC)" : "timestamp");
    else if (f->type == LH_T_FIXED)
        snprintf(t, sizeof t, "fixed(%u)", f->fixed_len);
    else
        snprintf(t, sizeof t, "%s", lh_type_name(f->type));
    if (f->is_list)
        snprintf(out, cap, "list<%s>", t);
    else
        snprintf(out, cap, "%s", t);
}

/* Column c's chunk ch's min and max as text (mn and mx: cap bytes each);
 * false when the chunk has none. */
static bool min_max_text(const struct lh_parquet_file_info *info, size_t c,
                         const struct lh_parquet_chunk_info *ch, char *mn, char *mx, size_t cap)
{
    if (!ch->stats.has_min_max)
        return false;
    lh_parquet_format_stat(&info->schema.fields[c], &info->columns[c], ch->stats.min,
                           ch->stats.min_len, mn, cap);
    lh_parquet_format_stat(&info->schema.fields[c], &info->columns[c], ch->stats.max,
                           ch->stats.max_len, mx, cap);
    return true;
}

static int cmd_inspect(struct lh_parquet_reader *r, const struct pq_args *a)
{
    const char *path = a->path;
    bool json = a->json;
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    size_t nf = info->schema.nfields;
    struct lh_buf b;
    lh_buf_init(&b, 0);
    char t[96], mn[256], mx[256];
    if (json) {
        lh_buf_append_str(&b, "{\"file\":");
        json_cstr(&b, path);
        lh_buf_printf(&b, ",\"num_rows\":%" PRId64 ",\"created_by\":", info->num_rows);
        json_cstr(&b, info->created_by);
        lh_buf_append_str(&b, ",\"columns\":[");
        for (size_t c = 0; c < nf; c++) {
            const struct lh_field *f = &info->schema.fields[c];
            const struct lh_parquet_column_info *ci = &info->columns[c];
            type_text(t, sizeof t, f);
            lh_buf_append_str(&b, c ? ",{\"name\":" : "{\"name\":");
            json_cstr(&b, f->name);
            lh_buf_append_str(&b, ",\"type\":");
            json_cstr(&b, t);
            lh_buf_append_str(&b, ",\"physical\":");
            json_cstr(&b, physical_name(ci->physical));
            lh_buf_append_str(&b, ",\"logical\":");
            json_cstr(&b, ci->logical);
            lh_buf_append_str(&b, ",\"repetition\":");
            json_cstr(&b, repetition_text(f));
            lh_buf_append_str(&b, ",\"path\":");
            json_cstr(&b, ci->path);
            lh_buf_printf(&b, ",\"max_def_level\":%d,\"max_rep_level\":%d}", ci->max_def_level,
                          ci->max_rep_level);
        }
        lh_buf_append_str(&b, "],\"row_groups\":[");
        for (int32_t g = 0; g < info->num_row_groups; g++) {
            const struct lh_parquet_row_group_info *rg = &info->row_groups[g];
            lh_buf_printf(&b, "%s{\"num_rows\":%" PRId64 ",\"total_byte_size\":%" PRId64
                              ",\"columns\":[",
                          g ? "," : "", rg->num_rows, rg->total_byte_size);
            for (size_t c = 0; c < nf; c++) {
                const struct lh_parquet_chunk_info *ch = &rg->chunks[c];
                lh_buf_append_str(&b, c ? ",{\"name\":" : "{\"name\":");
                json_cstr(&b, info->schema.fields[c].name);
                lh_buf_printf(&b, ",\"codec\":\"%s\",\"encodings\":\"",
                              lh_parquet_codec_name(ch->codec));
                encodings_text(&b, ch->encodings);
                lh_buf_printf(&b, "\",\"num_values\":%" PRId64 ",\"compressed_size\":%" PRId64
                                  ",\"uncompressed_size\":%" PRId64,
                              ch->num_values, ch->total_compressed_size,
                              ch->total_uncompressed_size);
                if (ch->stats.has_null_count)
                    lh_buf_printf(&b, ",\"null_count\":%" PRId64, ch->stats.null_count);
                if (min_max_text(info, c, ch, mn, mx, sizeof mn)) {
                    lh_buf_append_str(&b, ",\"min\":");
                    json_cstr(&b, mn);
                    lh_buf_append_str(&b, ",\"max\":");
                    json_cstr(&b, mx);
                }
                lh_buf_append_u8(&b, '}');
            }
            lh_buf_append_str(&b, "]}");
        }
        lh_buf_append_str(&b, "],\"key_value_metadata\":{");
        for (size_t k = 0; k < info->nkv; k++) {
            if (k)
                lh_buf_append_u8(&b, ',');
            json_cstr(&b, info->kv[k].key);
            lh_buf_append_u8(&b, ':');
            json_cstr(&b, info->kv[k].value);
        }
        lh_buf_append_str(&b, "}}\n");
    } else {
        lh_buf_printf(&b, "file:        %s\ncreated_by:  %s\nrows:        %" PRId64
                          "\nrow groups:  %d\n\nschema:\n",
                      path, info->created_by, info->num_rows, info->num_row_groups);
        for (size_t c = 0; c < nf; c++) {
            const struct lh_field *f = &info->schema.fields[c];
            const struct lh_parquet_column_info *ci = &info->columns[c];
            type_text(t, sizeof t, f);
            lh_buf_printf(&b, "  %-20s %-22s %-20s %-24s %s\n", f->name, t,
                          physical_name(ci->physical), ci->logical[0] ? ci->logical : "-",
                          repetition_text(f));
        }
        for (int32_t g = 0; g < info->num_row_groups; g++) {
            const struct lh_parquet_row_group_info *rg = &info->row_groups[g];
            lh_buf_printf(&b, "\nrow group %d: %" PRId64 " rows, %" PRId64 " bytes\n", g,
                          rg->num_rows, rg->total_byte_size);
            for (size_t c = 0; c < nf; c++) {
                const struct lh_parquet_chunk_info *ch = &rg->chunks[c];
                lh_buf_printf(&b, "  %-20s %-12s compressed %" PRId64 " uncompressed %" PRId64
                                  " encodings ",
                              info->schema.fields[c].name, lh_parquet_codec_name(ch->codec),
                              ch->total_compressed_size, ch->total_uncompressed_size);
                encodings_text(&b, ch->encodings);
                if (ch->stats.has_null_count)
                    lh_buf_printf(&b, " nulls %" PRId64, ch->stats.null_count);
                if (min_max_text(info, c, ch, mn, mx, sizeof mn))
                    lh_buf_printf(&b, " min %s max %s", mn, mx);
                lh_buf_append_u8(&b, '\n');
            }
        }
        if (info->nkv) {
            lh_buf_append_str(&b, "\nkey/value metadata:\n");
            for (size_t k = 0; k < info->nkv; k++)
                /* long values (an embedded schema) are cut on a terminal only */
                lh_buf_printf(&b, "  %s = %.*s%s\n", info->kv[k].key,
                              lh_cli_out_width() && strlen(info->kv[k].value) > 200
                                  ? 200
                                  : (int)strlen(info->kv[k].value),
                              info->kv[k].value,
                              lh_cli_out_width() && strlen(info->kv[k].value) > 200 ? "..."
                                                                                   : "");
        }
    }
    int rc = 0;
    if (!lh_buf_ok(&b)) {
        lh_cli_error("out of memory");
        rc = 1;
    } else {
        fwrite(b.data, 1, b.len, stdout);
        if (fflush(stdout) != 0)
            rc = 1;
    }
    lh_buf_reset(&b);
    return rc;
}

int lh_cmd_parquet(int argc, char **argv)
{
    if (argc < 2) {
        fputs(parquet_usage, stderr);
        return 2;
    }
    const char *sub = argv[1];
    const struct {
        const char *name, *usage;
        int (*fn)(struct lh_parquet_reader *r, const struct pq_args *a);
    } subs[] = {{"inspect", inspect_usage, cmd_inspect}, {"cat", cat_usage, cmd_cat}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        if (lh_cli_help(argc - 1, argv + 1, subs[i].usage))
            return 0;
        struct pq_args a = {.cmd = sub, .limit = -1};
        struct lh_parquet_reader *r = NULL;
        int rc = parse_args(argc - 1, argv + 1, &a);
        if (rc == 0)
            rc = open_operand(sub, a.path, &r);
        if (rc == 0)
            rc = subs[i].fn(r, &a);
        lh_parquet_reader_close(r);
        return rc;
    }
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(parquet_usage, stdout);
        return 0;
    }
    lh_cli_error("parquet: unknown subcommand '%s' (inspect or cat)", sub);
    return 2;
}
