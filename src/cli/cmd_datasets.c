/*
 * cmd_datasets.c — `lakehouse datasets [NAME] [--json]`.
 *
 * Without NAME: one aligned line per dataset (name, current version, rows,
 * size of the current version, sensitivity, last ingest). A record that
 * cannot be read is listed with "error" and explained by one warning line
 * on stderr; the others are still shown (exit 0).
 * With NAME: the full record — schema with PII badges, lineage, index
 * bindings, versions. --json prints the stored record (NAME) or an array
 * of summaries.
 *
 * The store is --store URL, else --data DIR, else $LAKEHOUSE_DATA, else
 * ./lakehouse-data; --config FILE names extra buckets. Only the public
 * store.h and catalog.h are used.
 */
#include "catalog/catalog.h"
#include "cli.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: lakehouse datasets [NAME] [--json] [--data DIR | --store URL] [--config FILE]\n"
    "\n"
    "Lists the datasets of the catalog, or shows one dataset in full: schema\n"
    "with sensitivity badges, lineage, index bindings and versions.\n"
    "\n"
    "  --json          JSON instead of text (the stored record for NAME)\n"
    "  --data DIR      local data directory (default $LAKEHOUSE_DATA or\n"
    "                  ./lakehouse-data)\n"
    "  --store URL     s3://bucket/prefix (endpoint from $AWS_ENDPOINT_URL,\n"
    "                  credentials from $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY)\n"
    "  --config FILE   JSON file naming extra buckets\n";

static void json_escape(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void human_size(uint64_t n, char *out, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%" PRIu64 " B", n);
    else
        snprintf(out, cap, "%.1f %s", v, units[u]);
}

static const char *badge(const char *sens)
{
    if (!sens)
        return "";
    if (strcmp(sens, "pii") == 0)
        return "[PII]";
    if (strcmp(sens, "financial") == 0)
        return "[FINANCIAL]";
    if (strcmp(sens, "sensitive") == 0)
        return "[SENSITIVE]";
    if (strcmp(sens, "internal") == 0)
        return "[INTERNAL]";
    return sens;
}

static int list_datasets(struct lh_catalog *cat, bool json)
{
    struct lh_catalog_summary *s;
    size_t n;
    struct lh_error err;
    if (lh_catalog_list(cat, &s, &n, &err) != LH_OK) {
        lh_cli_error("datasets: %s", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i].error[0])
            lh_cli_error("warning: %s", s[i].error);
    if (json) {
        fputs("[", stdout);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n " : "\n ", stdout);
            fputs("{\"name\": ", stdout);
            json_escape(stdout, s[i].name);
            if (s[i].error[0]) {
                fputs(", \"error\": ", stdout);
                json_escape(stdout, s[i].error);
                fputs("}", stdout);
                continue;
            }
            printf(", \"current_version\": %" PRIu64 ", \"row_count\": %" PRIu64
                   ", \"size_bytes\": %" PRIu64 ", \"sensitivity\": ",
                   s[i].current_version, s[i].row_count, s[i].size_bytes);
            if (s[i].sensitivity[0])
                json_escape(stdout, s[i].sensitivity);
            else
                fputs("null", stdout);
            fputs(", \"last_ingest\": ", stdout);
            if (s[i].last_ingest[0])
                json_escape(stdout, s[i].last_ingest);
            else
                fputs("null", stdout);
            fputs("}", stdout);
        }
        fputs(n ? "\n]\n" : "]\n", stdout);
        free(s);
        return 0;
    }
    static const char *hdr[6] = {"NAME", "VERSION", "ROWS", "SIZE", "SENSITIVITY", "LAST INGEST"};
    char(*cells)[6][256] = calloc(n ? n : 1, sizeof *cells);
    if (!cells) {
        free(s);
        lh_cli_error("datasets: out of memory");
        return 1;
    }
    int w[6];
    for (int c = 0; c < 6; c++)
        w[c] = (int)strlen(hdr[c]);
    for (size_t i = 0; i < n; i++) {
        snprintf(cells[i][0], 256, "%s", s[i].name);
        if (s[i].error[0]) {
            snprintf(cells[i][1], 256, "error");
            for (int c = 2; c < 6; c++)
                snprintf(cells[i][c], 256, "-");
        } else {
            snprintf(cells[i][1], 256, "%" PRIu64, s[i].current_version);
            snprintf(cells[i][2], 256, "%" PRIu64, s[i].row_count);
            human_size(s[i].size_bytes, cells[i][3], 256);
            snprintf(cells[i][4], 256, "%s", s[i].sensitivity[0] ? s[i].sensitivity : "-");
            snprintf(cells[i][5], 256, "%s", s[i].last_ingest[0] ? s[i].last_ingest : "-");
        }
        for (int c = 0; c < 6; c++) {
            int l = (int)strlen(cells[i][c]);
            if (l > w[c])
                w[c] = l;
        }
    }
    /* numbers right-aligned, text left-aligned */
    static const bool right[6] = {false, true, true, true, false, false};
    for (size_t i = 0; i <= n; i++)
        for (int c = 0; c < 6; c++) {
            const char *v = i == 0 ? hdr[c] : cells[i - 1][c];
            if (c == 5)
                printf("%s\n", v);
            else if (right[c])
                printf("%*s  ", w[c], v);
            else
                printf("%-*s  ", w[c], v);
        }
    free(cells);
    free(s);
    return 0;
}

/* The "source" section: where the current version came from
 * (docs/catalog.md "Source"); "-" for a version recorded before sources. */
static void print_source(const struct lh_catalog_version_info *cv)
{
    printf("\nsource\n");
    if (!cv || !cv->has_source) {
        printf("  -\n");
        return;
    }
    const struct lh_catalog_source *s = &cv->source;
    printf("  system         %s\n", s->system ? s->system : "-");
    if (s->port)
        printf("  server         %s:%u\n", s->host && *s->host ? s->host : "(local socket)",
               s->port);
    else
        printf("  server         %s\n", s->host && *s->host ? s->host : "(local socket)");
    printf("  database       %s\n", s->database && *s->database ? s->database : "-");
    if (s->table)
        printf("  table          %s\n", s->table);
    if (s->query)
        printf("  query          %s\n", s->query);
    printf("  columns        %s\n", s->columns ? s->columns : "(all)");
    printf("  where          %s\n", s->where ? s->where : "-");
    printf("  mode           %s\n", s->mode ? s->mode : "-");
    if (s->cursor_column)
        printf("  cursor_column  %s\n", s->cursor_column);
    printf("  watermark      %s\n", cv->watermark ? cv->watermark : "-");
    printf("  made_by        %s\n", s->made_by ? s->made_by : "-");
    if (cv->schema_change)
        printf("  schema change  %s\n", cv->schema_change);
}

static int show_dataset(struct lh_catalog *cat, const char *name, bool json)
{
    struct lh_catalog_record r;
    struct lh_error err;
    if (lh_catalog_dataset_get(cat, name, &r, &err) != LH_OK) {
        lh_cli_error("datasets: %s", err.msg);
        return 1;
    }
    if (json) {
        fputs(r.json, stdout);
        fputc('\n', stdout);
        lh_catalog_record_reset(&r);
        return 0;
    }
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
    char sz[32];
    human_size(cv ? cv->size_bytes : 0, sz, sizeof sz);
    printf("dataset      %s\n", r.name);
    printf("version      %" PRIu64 " (%zu kept)\n", r.current_version, r.nversions);
    printf("rows         %" PRIu64 "\n", r.row_count);
    printf("size         %s\n", sz);
    printf("sensitivity  %s\n", r.sensitivity ? r.sensitivity : "none");
    printf("fingerprint  %s\n", r.schema_fingerprint);
    printf("embeddings   %s\n", r.embeddings_stale ? "stale" : "fresh");
    printf("indexes      ");
    for (size_t i = 0; i < r.nindexes; i++)
        printf("%s%s", i ? ", " : "", r.indexes[i]);
    printf("%s\n", r.nindexes ? "" : "-");

    printf("\nschema\n");
    int wn = 4, wt = 4, wb = 5;
    for (size_t i = 0; i < r.ncolumns; i++) {
        int l = (int)strlen(r.columns[i].name), t = (int)strlen(r.columns[i].data_type);
        int b = (int)strlen(badge(r.columns[i].sensitivity));
        wn = l > wn ? l : wn;
        wt = t > wt ? t : wt;
        wb = b > wb ? b : wb;
    }
    printf("  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wt, "TYPE", wb, "BADGE", "DESCRIPTION");
    for (size_t i = 0; i < r.ncolumns; i++)
        printf("  %-*s  %-*s  %-*s  %s\n", wn, r.columns[i].name, wt, r.columns[i].data_type, wb,
               badge(r.columns[i].sensitivity),
               r.columns[i].description ? r.columns[i].description : "");

    printf("\nlineage\n");
    if (r.has_lineage) {
        printf("  source_system     %s\n", r.source_system ? r.source_system : "");
        printf("  source_file       %s\n", r.source_file ? r.source_file : "");
        printf("  ingest_job        %s\n", r.ingest_job ? r.ingest_job : "");
        printf("  ingest_timestamp  %s\n", r.ingest_timestamp ? r.ingest_timestamp : "");
        printf("  parent_datasets   ");
        for (size_t i = 0; i < r.nparents; i++)
            printf("%s%s", i ? ", " : "", r.parent_datasets[i]);
        printf("%s\n", r.nparents ? "" : "-");
    } else {
        printf("  -\n");
    }
    print_source(cv);

    printf("\nversions\n");
    printf("  %7s  %-27s  %12s  %10s  %7s  %s\n", "VERSION", "CREATED", "ROWS", "SIZE", "OBJECTS",
           "RUN");
    for (size_t i = r.nversions; i-- > 0;) {
        const struct lh_catalog_version_info *v = &r.versions[i];
        human_size(v->size_bytes, sz, sizeof sz);
        printf("  %7" PRIu64 "  %-27s  %12" PRIu64 "  %10s  %7zu  %s%s\n", v->version,
               v->created_at, v->row_count, sz, v->nobjects, v->run_id ? v->run_id : "",
               v->version == r.current_version ? "  (current)" : "");
    }
    lh_catalog_record_reset(&r);
    return 0;
}

int lh_cmd_datasets(int argc, char **argv)
{
    const char *data = NULL, *store_url = NULL, *config = NULL, *name = NULL;
    bool json = false;
    if (lh_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--data") == 0     ? &data
                            : strcmp(a, "--store") == 0  ? &store_url
                            : strcmp(a, "--config") == 0 ? &config
                                                         : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                lh_cli_error("datasets: %s needs a value", a);
                return 2;
            }
            *slot = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("datasets: unknown option '%s' (see 'lakehouse datasets --help')", a);
            return 2;
        } else if (!name) {
            name = a;
        } else {
            lh_cli_error("datasets: unexpected argument '%s'", a);
            return 2;
        }
    }
    if (data && store_url) {
        lh_cli_error("datasets: give --data or --store, not both");
        return 2;
    }
    struct lh_store_set *set = NULL;
    struct lh_catalog *cat = NULL;
    struct lh_error err;
    int rc = 1;
    /* reading never creates a data directory: a mistyped --data is an error */
    const char *root = store_url ? store_url : data ? data : getenv("LAKEHOUSE_DATA");
    if (!root || !*root)
        root = "./lakehouse-data";
    struct stat sb;
    if (strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("datasets: data directory %s does not exist", root);
        return 1;
    }
    if (lh_store_set_open(store_url ? store_url : data, config, NULL, &set, &err) != LH_OK) {
        lh_cli_error("datasets: %s", err.msg);
        goto done;
    }
    if (lh_catalog_open(set, NULL, &cat, &err) != LH_OK) {
        lh_cli_error("datasets: %s", err.msg);
        goto done;
    }
    rc = name ? show_dataset(cat, name, json) : list_datasets(cat, json);
done:
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return rc;
}
