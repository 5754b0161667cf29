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
 * --files: the current version's parts, one per line (key and the URI an
 * outside engine reads: lh_catalog_object_uri).
 * `datasets rollback NAME VERSION` publishes a version with VERSION's parts
 * (lh_ingest_rollback); `datasets rm NAME` removes the dataset
 * (lh_app_dataset_remove), after --yes or a confirmation typed on a
 * terminal. Both go through the daemon's API when a daemon holds the
 * store (lh_daemon_find), so its schedules and catalog stay its own.
 *
 * The store is --store URL, else --data DIR, else $LAKEHOUSE_DATA, else
 * ./lakehouse-data; --config FILE names extra buckets. Only the public
 * module headers are used.
 */
#include "app/app.h"
#include "catalog/catalog.h"
#include "cli.h"
#include "daemon.h"
#include "ingest/ingest.h"
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <unistd.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: lakehouse datasets [NAME [--files]] [--json] [--data DIR | --store URL]\n"
    "                          [--config FILE]\n"
    "       lakehouse datasets rollback NAME VERSION [--json] [...]\n"
    "       lakehouse datasets rm NAME [--yes] [--force] [--json] [...]\n"
    "\n"
    "Lists the datasets of the catalog, or shows one dataset in full: schema\n"
    "with sensitivity badges, lineage, index bindings and versions.\n"
    "\n"
    "  --files         the current version's parts: key and URI (file:// or\n"
    "                  s3://), to hand to another engine\n"
    "  rollback        publishes a new version with VERSION's parts (history\n"
    "                  kept, nothing rewritten; the Iceberg table follows)\n"
    "  rm              removes the dataset: its record, then its parts and\n"
    "                  Iceberg metadata; asks first on a terminal\n"
    "  --yes           rm without asking\n"
    "  --force         rm even while schedules write to the dataset (pauses them)\n"
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

static int show_files(struct lh_catalog *cat, const char *name, bool json)
{
    struct lh_catalog_record r;
    struct lh_error err;
    int rc = 1;
    if (lh_catalog_dataset_get(cat, name, &r, &err) != LH_OK) {
        lh_cli_error("datasets: %s", err.msg);
        return 1;
    }
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
    if (json)
        printf("{\"dataset\": ");
    if (json) {
        json_escape(stdout, r.name);
        printf(", \"version\": %" PRIu64 ", \"files\": [", cv ? cv->version : 0);
    }
    for (size_t i = 0; cv && i < cv->nobjects; i++) {
        const struct lh_catalog_object_info *o = &cv->objects[i];
        char uri[LH_STORE_KEY_MAX * 3];
        if (lh_catalog_object_uri(cat, o, uri, sizeof uri, &err) != LH_OK) {
            if (json)
                fputs("]}\n", stdout);
            lh_cli_error("datasets: %s: %s", o->key, err.msg);
            goto done;
        }
        if (json) {
            fputs(i ? ",\n  {\"bucket\": " : "\n  {\"bucket\": ", stdout);
            json_escape(stdout, o->bucket);
            fputs(", \"key\": ", stdout);
            json_escape(stdout, o->key);
            fputs(", \"uri\": ", stdout);
            json_escape(stdout, uri);
            printf(", \"size_bytes\": %" PRIu64 "}", o->size_bytes);
        } else {
            printf("%s\t%s\n", o->key, uri);
        }
    }
    if (json)
        fputs(cv && cv->nobjects ? "\n]}\n" : "]}\n", stdout);
    rc = 0;
done:
    lh_catalog_record_reset(&r);
    return rc;
}

/* One request to the daemon; prints its answer (JSON) or what it said. */
static int remote(const struct lh_daemon_ref *ref, const char *method, const char *path,
                  const char *body, bool json, const char *what)
{
    struct lh_buf b;
    long st = 0;
    struct lh_error err;
    int rc = 1;
    lh_buf_init(&b, 1u << 20);
    if (lh_daemon_call(ref, method, path, body, &st, &b, &err) != LH_OK) {
        lh_cli_error("datasets %s: daemon at %s: %s", what, ref->url, err.msg);
        goto done;
    }
    if (st < 200 || st > 299) {
        char msg[900];
        lh_daemon_error_text(&b, st, msg, sizeof msg);
        lh_cli_error("datasets %s: %s", what, msg);
        goto done;
    }
    json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
    if (json) {
        fwrite(b.data, 1, b.len, stdout);
        fputc('\n', stdout);
    } else if (strcmp(what, "rollback") == 0) {
        printf("dataset %s: version %lld published with the parts of version %lld\n",
               json_string_value(json_object_get(j, "dataset")),
               (long long)json_integer_value(json_object_get(j, "version")),
               (long long)json_integer_value(json_object_get(j, "rolled_back_to")));
    } else {
        printf("dataset %s removed (%lld objects deleted",
               json_string_value(json_object_get(j, "dataset")),
               (long long)json_integer_value(json_object_get(j, "objects_deleted")));
        json_t *ps = json_object_get(j, "paused_schedules");
        for (size_t i = 0; i < json_array_size(ps); i++)
            printf("%s%s", i ? ", " : "; paused schedules ",
                   json_string_value(json_array_get(ps, i)));
        printf(")\n");
    }
    json_decref(j);
    rc = 0;
done:
    lh_buf_reset(&b);
    return rc;
}

/* A yes typed on the terminal; false for anything else or no terminal. */
static bool confirmed(const char *name)
{
    fprintf(stderr,
            "remove dataset %s with every version and part? type its name to confirm: ", name);
    fflush(stderr);
    char line[300];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, name) == 0;
}

static bool parse_version(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0)
        return false;
    *out = v;
    return true;
}

int lh_cmd_datasets(int argc, char **argv)
{
    const char *data = NULL, *store_url = NULL, *config = NULL, *name = NULL, *extra = NULL;
    const char *action = NULL; /* "rm" or "rollback" */
    bool json = false, files = false, yes = false, force = false;
    uint64_t version = 0;
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
        } else if (strcmp(a, "--files") == 0) {
            files = true;
        } else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) {
            yes = true;
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("datasets: unknown option '%s' (see 'lakehouse datasets --help')", a);
            return 2;
        } else if (!name && !action && (strcmp(a, "rm") == 0 || strcmp(a, "rollback") == 0)) {
            action = a;
        } else if (!name) {
            name = a;
        } else if (action && strcmp(action, "rollback") == 0 && !extra) {
            extra = a;
        } else {
            lh_cli_error("datasets: unexpected argument '%s'", a);
            return 2;
        }
    }
    if (action && !name) {
        lh_cli_error("datasets %s: give the dataset name (lakehouse datasets %s NAME%s)", action,
                     action, strcmp(action, "rm") == 0 ? "" : " VERSION");
        return 2;
    }
    if (action && strcmp(action, "rollback") == 0 && !parse_version(extra, &version)) {
        if (extra)
            lh_cli_error("datasets rollback: VERSION must be a version number (1, 2, ...), not "
                         "'%s'",
                         extra);
        else
            lh_cli_error("datasets rollback: give the version to go back to (lakehouse datasets "
                         "rollback %s VERSION)",
                         name);
        return 2;
    }
    if ((yes || force) && !(action && strcmp(action, "rm") == 0)) {
        lh_cli_error("datasets: %s goes with 'datasets rm NAME'", yes ? "--yes" : "--force");
        return 2;
    }
    if (files && (!name || action)) {
        lh_cli_error(
            "datasets: --files goes with a dataset name (lakehouse datasets NAME --files)");
        return 2;
    }
    if (name && action) {
        struct lh_error nerr;
        if (lh_store_name_check(name, &nerr) != LH_OK) {
            lh_cli_error("datasets: invalid dataset name '%s': %s", name, nerr.msg);
            return 2;
        }
    }
    if (action && strcmp(action, "rm") == 0 && !yes) {
        if (!isatty(STDIN_FILENO)) {
            lh_cli_error("datasets rm: pass --yes to remove dataset %s (no terminal to confirm on)",
                         name);
            return 2;
        }
        if (!confirmed(name)) {
            lh_cli_error("datasets rm: not confirmed; dataset %s left as it is", name);
            return 1;
        }
    }
    if (data && store_url) {
        lh_cli_error("datasets: give --data or --store, not both");
        return 2;
    }
    struct lh_store_set *set = NULL;
    struct lh_catalog *cat = NULL;
    struct lh_schedule_store *ss = NULL;
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
    if (!action) {
        rc = files  ? show_files(cat, name, json)
             : name ? show_dataset(cat, name, json)
                    : list_datasets(cat, json);
        goto done;
    }
    struct lh_daemon_ref ref;
    if (lh_daemon_find(lh_store_set_primary(set), NULL, &ref)) {
        char path[600], body[64];
        if (strcmp(action, "rm") == 0) {
            snprintf(path, sizeof path, "/api/datasets/%s%s", name, force ? "?force=true" : "");
            rc = remote(&ref, "DELETE", path, NULL, json, action);
        } else {
            snprintf(path, sizeof path, "/api/datasets/%s/rollback", name);
            snprintf(body, sizeof body, "{\"version\": %" PRIu64 "}", version);
            rc = remote(&ref, "POST", path, body, json, action);
        }
        goto done;
    }
    if (ref.problem[0]) { /* never behind a live daemon's back */
        lh_cli_error("datasets %s: %s", action, ref.problem);
        goto done;
    }
    if (strcmp(action, "rollback") == 0) {
        uint64_t nv = 0;
        if (lh_ingest_rollback(set, cat, name, version, &nv, &err) != LH_OK) {
            lh_cli_error("datasets rollback: %s", err.msg);
            goto done;
        }
        if (json)
            printf("{\"dataset\": \"%s\", \"version\": %" PRIu64 ", \"rolled_back_to\": %" PRIu64
                   "}\n",
                   name, nv, version);
        else
            printf("dataset %s: version %" PRIu64 " published with the parts of version %" PRIu64
                   "\n",
                   name, nv, version);
        rc = 0;
        goto done;
    }
    struct lh_schedule_key key;
    struct lh_schedule_store_options so = {.key = &key};
    if (lh_schedule_key_resolve(NULL, &key, &err) != LH_OK ||
        lh_schedule_store_open(lh_store_set_primary(set), &so, &ss, &err) != LH_OK) {
        lh_cli_error("datasets rm: schedules: %s", err.msg);
        goto done;
    }
    struct lh_app_dataset_removal rm;
    if (lh_app_dataset_remove(set, cat, ss, name, force, &rm, &err) != LH_OK) {
        lh_cli_error("datasets rm: %s", err.msg);
        goto done;
    }
    if (json) {
        printf("{\"dataset\": \"%s\", \"removed\": true, \"objects_deleted\": %zu, "
               "\"paused_schedules\": [",
               name, rm.deleted);
        for (char *p = rm.schedules, *e; rm.paused && p && *p; p = e) {
            e = strchr(p, ',');
            if (e)
                *e++ = '\0';
            printf("%s\"%s\"", p == rm.schedules ? "" : ", ", p);
        }
        printf("]}\n");
    } else {
        printf("dataset %s removed (%zu objects deleted%s%s)\n", name, rm.deleted,
               rm.paused ? "; paused schedules " : "", rm.paused ? rm.schedules : "");
    }
    rc = 0;
done:
    lh_schedule_store_close(ss);
    lh_catalog_close(cat);
    lh_store_set_close(set);
    return rc;
}
