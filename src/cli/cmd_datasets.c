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
 * terminal; `datasets describe NAME ...` sets the description, tags and
 * per column a description and a PII mark (lh_catalog_dataset_describe).
 * All three go through the daemon's API when a daemon holds the store
 * (lh_daemon_find), so its schedules and catalog stay its own.
 *
 * The store is lh_cli_store_root's (--store, --data, $LAKEHOUSE_STORE,
 * $LAKEHOUSE_DATA, ./lakehouse-data); --config FILE names extra buckets. Only the public
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
    "       lakehouse datasets describe NAME [--description TEXT] [--tag T]...\n"
    "                          [--untag T]... [--tags T,T] [--column C\n"
    "                          [--description TEXT] [--pii LEVEL]]... [...]\n"
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
    "  describe        description, tags, column descriptions and PII marks\n"
    "                  (see 'lakehouse datasets describe --help')\n"
    "  --yes           rm without asking\n"
    "  --force         rm even while schedules write to the dataset (pauses them)\n"
    "  --json          JSON instead of text (the stored record for NAME)\n"
    "  --data DIR      local data directory (default $LAKEHOUSE_DATA or\n"
    "                  ./lakehouse-data)\n"
    "  --store URL     s3://bucket/prefix (endpoint from $AWS_ENDPOINT_URL,\n"
    "                  credentials from $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY)\n"
    "  --config FILE   JSON file naming extra buckets\n";

static const char *usage_describe =
    "usage: lakehouse datasets describe NAME [--description TEXT] [--tag T]...\n"
    "                          [--untag T]... [--tags T,T,...]\n"
    "                          [--column C [--description TEXT] [--pii LEVEL]]...\n"
    "                          [--json] [--data DIR | --store URL] [--config FILE]\n"
    "\n"
    "Sets what people say about a dataset; kept across every later version,\n"
    "and no new version is made. Only what is given changes.\n"
    "\n"
    "  --description TEXT  the dataset's description (\"\" removes it; at most\n"
    "                      4096 bytes); after --column C: that column's (1024)\n"
    "  --tag T             adds tag T (repeatable); --untag T removes it\n"
    "  --tags T,T,...      replaces every tag (\"\" removes them all)\n"
    "                      A tag: 1-64 of a-z 0-9 - _ . : starting with a letter\n"
    "                      or a digit; at most 32 per dataset.\n"
    "  --column C          the following --description/--pii are column C's\n"
    "  --pii LEVEL         after --column C: pii, financial, sensitive, internal\n"
    "                      (mark it), none (unmark it whatever its name says) or\n"
    "                      auto (back to the name rule)\n"
    "  --json              print the record after the change\n"
    "\n"
    "Through the daemon's API (PATCH /api/datasets/NAME) when a daemon holds\n"
    "the store, directly on the store otherwise.\n";

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
            lh_cli_json_str(stdout, s[i].name);
            if (s[i].error[0]) {
                fputs(", \"error\": ", stdout);
                lh_cli_json_str(stdout, s[i].error);
                fputs("}", stdout);
                continue;
            }
            printf(", \"current_version\": %" PRIu64 ", \"row_count\": %" PRIu64
                   ", \"size_bytes\": %" PRIu64 ", \"sensitivity\": ",
                   s[i].current_version, s[i].row_count, s[i].size_bytes);
            if (s[i].sensitivity[0])
                lh_cli_json_str(stdout, s[i].sensitivity);
            else
                fputs("null", stdout);
            fputs(", \"last_ingest\": ", stdout);
            if (s[i].last_ingest[0])
                lh_cli_json_str(stdout, s[i].last_ingest);
            else
                fputs("null", stdout);
            fputs(", \"description\": ", stdout);
            lh_cli_json_str(stdout, s[i].description);
            fputs(", \"tags\": [", stdout);
            for (char *t = s[i].tags, *e; *t; t = e) {
                char one[LH_CATALOG_TAG_MAX * 4];
                e = t + strcspn(t, ",");
                snprintf(one, sizeof one, "%.*s", (int)(e - t), t);
                fputs(t == s[i].tags ? "" : ", ", stdout);
                lh_cli_json_str(stdout, one);
                e += *e == ',';
            }
            fputs("]}", stdout);
        }
        fputs(n ? "\n]\n" : "]\n", stdout);
        free(s);
        return 0;
    }
    enum { NCOL = 7 };
    static const char *hdr[NCOL] = {"NAME",        "VERSION",     "ROWS", "SIZE",
                                    "SENSITIVITY", "LAST INGEST", "TAGS"};
    char(*cells)[NCOL][256] = calloc(n ? n : 1, sizeof *cells);
    if (!cells) {
        free(s);
        lh_cli_error("datasets: out of memory");
        return 1;
    }
    int w[NCOL];
    for (int c = 0; c < NCOL; c++)
        w[c] = (int)strlen(hdr[c]);
    for (size_t i = 0; i < n; i++) {
        snprintf(cells[i][0], 256, "%s", s[i].name);
        if (s[i].error[0]) {
            snprintf(cells[i][1], 256, "error");
            for (int c = 2; c < NCOL; c++)
                snprintf(cells[i][c], 256, "-");
        } else {
            snprintf(cells[i][1], 256, "%" PRIu64, s[i].current_version);
            snprintf(cells[i][2], 256, "%" PRIu64, s[i].row_count);
            human_size(s[i].size_bytes, cells[i][3], 256);
            snprintf(cells[i][4], 256, "%s", s[i].sensitivity[0] ? s[i].sensitivity : "-");
            snprintf(cells[i][5], 256, "%s", s[i].last_ingest[0] ? s[i].last_ingest : "-");
            snprintf(cells[i][6], 256, "%.255s", s[i].tags[0] ? s[i].tags : "-");
        }
        for (int c = 0; c < NCOL; c++) {
            int l = (int)strlen(cells[i][c]);
            if (l > w[c])
                w[c] = l;
        }
    }
    /* numbers right-aligned, text left-aligned */
    static const bool right[NCOL] = {false, true, true, true, false, false, false};
    for (size_t i = 0; i <= n; i++)
        for (int c = 0; c < NCOL; c++) {
            const char *v = i == 0 ? hdr[c] : cells[i - 1][c];
            if (c == NCOL - 1)
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

/* The description, its later lines indented under its first. */
static void print_description(const char *d)
{
    printf("description  ");
    if (!d || !*d) {
        printf("-\n");
        return;
    }
    for (const char *p = d; *p;) {
        size_t n = strcspn(p, "\n");
        printf("%s%.*s\n", p == d ? "" : "             ", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* The schema policy a version ran under: "evolve", "replace, source
 * replaced" (the run replaced the dataset's source), "fail,
 * --replace-source" (given, not needed); "-" before policies were
 * recorded. */
static void policy_text(const struct lh_catalog_version_info *v, char *out, size_t cap)
{
    const struct lh_catalog_source *s = &v->source;
    if (!v->has_source || !s->schema_policy) {
        snprintf(out, cap, "-");
        return;
    }
    snprintf(out, cap, "%s%s", s->schema_policy,
             s->source_replaced  ? ", source replaced"
             : s->replace_source ? ", --replace-source"
                                 : "");
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
    char pol[96];
    policy_text(cv, pol, sizeof pol);
    printf("  schema policy  %s\n", s->schema_policy ? pol : "- (not recorded for this version)");
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
    printf("tags         ");
    for (size_t i = 0; i < r.ntags; i++)
        printf("%s%s", i ? ", " : "", r.tags[i]);
    printf("%s\n", r.ntags ? "" : "-");
    print_description(r.description);

    printf("\nschema\n");
    int wn = 4, wt = 4, wb = 5;
    bool any_override = false;
    char(*marks)[24] = calloc(r.ncolumns ? r.ncolumns : 1, sizeof *marks);
    if (!marks) {
        lh_catalog_record_reset(&r);
        lh_cli_error("datasets: out of memory");
        return 1;
    }
    for (size_t i = 0; i < r.ncolumns; i++) {
        const struct lh_catalog_column_info *c = &r.columns[i];
        /* "*": set by hand (datasets describe --pii), not by the name rule */
        snprintf(marks[i], sizeof marks[i], "%s%s",
                 c->sensitivity            ? badge(c->sensitivity)
                 : c->sensitivity_override ? "none"
                                           : "",
                 c->sensitivity_override ? "*" : "");
        any_override |= c->sensitivity_override;
        int l = (int)strlen(c->name), t = (int)strlen(c->data_type), b = (int)strlen(marks[i]);
        wn = l > wn ? l : wn;
        wt = t > wt ? t : wt;
        wb = b > wb ? b : wb;
    }
    printf("  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wt, "TYPE", wb, "BADGE", "DESCRIPTION");
    for (size_t i = 0; i < r.ncolumns; i++)
        printf("  %-*s  %-*s  %-*s  %s\n", wn, r.columns[i].name, wt, r.columns[i].data_type, wb,
               marks[i], r.columns[i].description ? r.columns[i].description : "");
    free(marks);
    if (any_override)
        printf("  * marked by hand (datasets describe --pii), not by the name rule\n");

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
    int wp = (int)strlen("POLICY");
    char pol[96];
    for (size_t i = 0; i < r.nversions; i++) {
        policy_text(&r.versions[i], pol, sizeof pol);
        wp = (int)strlen(pol) > wp ? (int)strlen(pol) : wp;
    }
    printf("  %7s  %-27s  %12s  %10s  %7s  %-*s  %s\n", "VERSION", "CREATED", "ROWS", "SIZE",
           "OBJECTS", wp, "POLICY", "RUN");
    for (size_t i = r.nversions; i-- > 0;) {
        const struct lh_catalog_version_info *v = &r.versions[i];
        human_size(v->size_bytes, sz, sizeof sz);
        policy_text(v, pol, sizeof pol);
        printf("  %7" PRIu64 "  %-27s  %12" PRIu64 "  %10s  %7zu  %-*s  %s%s\n", v->version,
               v->created_at, v->row_count, sz, v->nobjects, wp, pol, v->run_id ? v->run_id : "",
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
        lh_cli_json_str(stdout, r.name);
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
            lh_cli_json_str(stdout, o->bucket);
            fputs(", \"key\": ", stdout);
            lh_cli_json_str(stdout, o->key);
            fputs(", \"uri\": ", stdout);
            lh_cli_json_str(stdout, uri);
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
        rc = st == 400 ? 2 : 1; /* the input, not the store */
        goto done;
    }
    json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
    if (json) {
        fwrite(b.data, 1, b.len, stdout);
        fputc('\n', stdout);
    } else if (strcmp(what, "describe") == 0) {
        printf("dataset %s described (still version %lld)\n",
               json_string_value(json_object_get(j, "name")),
               (long long)json_integer_value(json_object_get(j, "current_version")));
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

/* Opens the store set and catalog the options name; false (said) when
 * they cannot be. Reading never creates a data directory: a mistyped
 * --data is an error. */
static bool store_open(const struct lh_cli_store_args *sa, struct lh_store_set **set,
                       struct lh_catalog **cat)
{
    struct lh_error err;
    const char *root = lh_cli_store_root(sa->store_url, sa->data, NULL, NULL);
    struct stat sb;
    if (strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("datasets: data directory %s does not exist", root);
        return false;
    }
    if (lh_store_set_open(root, sa->config, NULL, set, &err) !=
            LH_OK ||
        lh_catalog_open(*set, NULL, cat, &err) != LH_OK) {
        lh_cli_error("datasets: %s", err.msg);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ describe */

/* ", "name": [tags]" into b; sep is "" before the first member. */
static void body_tags(struct lh_buf *b, const char **sep, const char *name, const char *const *tags,
                      size_t n)
{
    lh_buf_printf(b, "%s\"%s\": [", *sep, name);
    for (size_t i = 0; i < n; i++) {
        lh_buf_append_str(b, i ? ", " : "");
        lh_buf_json_str(b, tags[i], strlen(tags[i]));
    }
    lh_buf_append_str(b, "]");
    *sep = ", ";
}

/* The PATCH body of d (docs/http.md "Describing a dataset"). */
static bool describe_body(const struct lh_catalog_describe *d, struct lh_buf *b)
{
    const char *sep = "";
    lh_buf_append_str(b, "{");
    if (d->description) {
        lh_buf_append_str(b, "\"description\": ");
        lh_buf_json_str(b, d->description, strlen(d->description));
        sep = ", ";
    }
    if (d->set_tags)
        body_tags(b, &sep, "tags", d->tags, d->ntags);
    if (d->nadd)
        body_tags(b, &sep, "add_tags", d->add_tags, d->nadd);
    if (d->nremove)
        body_tags(b, &sep, "remove_tags", d->remove_tags, d->nremove);
    if (d->ncolumns)
        lh_buf_printf(b, "%s\"columns\": {", sep);
    for (size_t i = 0; i < d->ncolumns; i++) {
        const struct lh_catalog_column_edit *c = &d->columns[i];
        lh_buf_append_str(b, i ? ", " : "");
        lh_buf_json_str(b, c->name, strlen(c->name));
        lh_buf_append_str(b, ": {");
        if (c->description) {
            lh_buf_append_str(b, "\"description\": ");
            lh_buf_json_str(b, c->description, strlen(c->description));
        }
        if (c->pii)
            lh_buf_printf(b, "%s\"pii\": \"%s\"", c->description ? ", " : "", c->pii);
        lh_buf_append_str(b, "}");
    }
    lh_buf_append_str(b, d->ncolumns ? "}}" : "}");
    lh_buf_cstr(b);
    return lh_buf_ok(b);
}

/* Checks what the options say before anything is opened: one line and
 * false on the first problem (exit 2). */
static bool describe_valid(const struct lh_catalog_describe *d)
{
    struct lh_error err;
    if (d->description &&
        lh_catalog_text_check(d->description, LH_CATALOG_DESCRIPTION_MAX, &err) != LH_OK) {
        lh_cli_error("datasets describe: --description: %s", err.msg);
        return false;
    }
    const char *const *lists[3] = {d->tags, d->add_tags, d->remove_tags};
    size_t counts[3] = {d->ntags, d->nadd, d->nremove};
    static const char *const opts[3] = {"--tags", "--tag", "--untag"};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++)
            if (lh_catalog_tag_check(lists[l][i], &err) != LH_OK) {
                lh_cli_error("datasets describe: %s: %s", opts[l], err.msg);
                return false;
            }
    for (size_t i = 0; i < d->ncolumns; i++) {
        const struct lh_catalog_column_edit *c = &d->columns[i];
        if (!c->description && !c->pii) {
            lh_cli_error("datasets describe: --column %s: say what to set after it "
                         "(--description TEXT or --pii LEVEL)",
                         c->name);
            return false;
        }
        if (c->description &&
            lh_catalog_text_check(c->description, LH_CATALOG_COLUMN_DESCRIPTION_MAX, &err) !=
                LH_OK) {
            lh_cli_error("datasets describe: --column %s --description: %s", c->name, err.msg);
            return false;
        }
        if (c->pii && !lh_catalog_pii_mark_valid(c->pii)) {
            lh_cli_error("datasets describe: --column %s --pii: '%s' is not one of pii, "
                         "financial, sensitive, internal, none, auto",
                         c->name, c->pii);
            return false;
        }
    }
    if (!d->description && !d->set_tags && !d->nadd && !d->nremove && !d->ncolumns) {
        lh_cli_error("datasets describe: nothing to change: give --description, --tag, "
                     "--untag, --tags or --column C with --description/--pii");
        return false;
    }
    return true;
}

/* Applies d on the store (no daemon holds it) and says what it did. */
static int describe_local(struct lh_catalog *cat, const char *name, struct lh_catalog_describe *d,
                          bool json)
{
    struct lh_error err;
    enum lh_status s = lh_catalog_dataset_describe(cat, name, d, &err);
    if (s != LH_OK) {
        lh_cli_error("datasets describe: %s", err.msg);
        return s == LH_E_INVAL ? 2 : 1;
    }
    struct lh_catalog_record r;
    if (lh_catalog_dataset_get(cat, name, &r, &err) != LH_OK) {
        lh_cli_error("datasets describe: %s", err.msg);
        return 1;
    }
    if (json)
        printf("%s\n", r.json);
    else
        printf("dataset %s described (still version %" PRIu64 ")\n", name, r.current_version);
    lh_catalog_record_reset(&r);
    return 0;
}

/* The column edit for C, the one --column C made before or a new one. */
static struct lh_catalog_column_edit *column_slot(struct lh_catalog_column_edit *cols, size_t *n,
                                                  const char *c)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cols[i].name, c) == 0)
            return &cols[i];
    cols[*n] = (struct lh_catalog_column_edit){.name = c};
    return &cols[(*n)++];
}

/* `datasets describe NAME ...`; argv[0] is "describe". */
static int describe_main(int argc, char **argv)
{
    if (lh_cli_help(argc, argv, usage_describe))
        return 0;
    struct lh_cli_store_args sa = {0};
    struct lh_catalog_describe d = {0};
    const char *name = NULL;
    bool json = false;
    size_t cap = (size_t)argc + 1;
    struct lh_catalog_column_edit *cols = calloc(cap, sizeof *cols), *cur = NULL;
    const char **add = calloc(cap, sizeof *add), **del = calloc(cap, sizeof *del);
    const char **tags = calloc(cap, sizeof *tags);
    char *tag_text = NULL;
    struct lh_store_set *set = NULL;
    struct lh_catalog *cat = NULL;
    int rc = 2;
    if (!cols || !add || !del || !tags) {
        lh_cli_error("datasets describe: out of memory");
        rc = 1;
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = lh_cli_store_slot(&sa, a);
        bool takes = slot || strcmp(a, "--description") == 0 || strcmp(a, "--pii") == 0 ||
                     strcmp(a, "--column") == 0 || strcmp(a, "--tag") == 0 ||
                     strcmp(a, "--untag") == 0 || strcmp(a, "--tags") == 0;
        if (takes && i + 1 >= argc) {
            lh_cli_error("datasets describe: %s needs a value", a);
            goto done;
        }
        const char *v = takes ? argv[++i] : NULL;
        if (slot) {
            *slot = v;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--description") == 0) {
            *(cur ? &cur->description : &d.description) = v;
        } else if (strcmp(a, "--pii") == 0) {
            if (!cur) {
                lh_cli_error("datasets describe: --pii goes after --column C (the column to mark)");
                goto done;
            }
            cur->pii = v;
        } else if (strcmp(a, "--column") == 0) {
            if (!*v) {
                lh_cli_error("datasets describe: --column needs a column name");
                goto done;
            }
            cur = column_slot(cols, &d.ncolumns, v);
        } else if (strcmp(a, "--tag") == 0) {
            add[d.nadd++] = v;
        } else if (strcmp(a, "--untag") == 0) {
            del[d.nremove++] = v;
        } else if (strcmp(a, "--tags") == 0) {
            free(tag_text);
            tag_text = strdup(v);
            if (!tag_text) {
                lh_cli_error("datasets describe: out of memory");
                rc = 1;
                goto done;
            }
            d.set_tags = true;
            d.ntags = 0;
            for (char *p = tag_text, *e; *p && d.ntags < cap; p = e) {
                e = p + strcspn(p, ",");
                if (*e)
                    *e++ = '\0';
                tags[d.ntags++] = p;
            }
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("datasets describe: unknown option '%s' (see 'lakehouse datasets "
                         "describe --help')",
                         a);
            goto done;
        } else if (!name) {
            name = a;
        } else {
            lh_cli_error("datasets describe: unexpected argument '%s'", a);
            goto done;
        }
    }
    d.columns = cols;
    d.add_tags = add;
    d.remove_tags = del;
    d.tags = tags;
    struct lh_error err;
    if (!name) {
        lh_cli_error("datasets describe: give the dataset name (lakehouse datasets describe NAME "
                     "--description TEXT ...)");
        goto done;
    }
    if (lh_store_name_check(name, &err) != LH_OK) {
        lh_cli_error("datasets describe: invalid dataset name '%s': %s", name, err.msg);
        goto done;
    }
    if (!describe_valid(&d))
        goto done;
    if (sa.data && sa.store_url) {
        lh_cli_error("datasets describe: give --data or --store, not both");
        goto done;
    }
    rc = 1;
    if (!store_open(&sa, &set, &cat))
        goto done;
    struct lh_daemon_ref ref;
    if (lh_daemon_find(lh_store_set_primary(set), NULL, &ref)) {
        struct lh_buf body;
        char path[600];
        lh_buf_init(&body, 1u << 20);
        snprintf(path, sizeof path, "/api/datasets/%s", name);
        if (describe_body(&d, &body))
            rc = remote(&ref, "PATCH", path, (const char *)body.data, json, "describe");
        else
            lh_cli_error("datasets describe: out of memory");
        lh_buf_reset(&body);
    } else if (ref.problem[0]) { /* never behind a live daemon's back */
        lh_cli_error("datasets describe: %s", ref.problem);
    } else {
        rc = describe_local(cat, name, &d, json);
    }
done:
    lh_catalog_close(cat);
    lh_store_set_close(set);
    free(tag_text);
    free(tags);
    free(del);
    free(add);
    free(cols);
    return rc;
}

/* ------------------------------------------------------------ main */

int lh_cmd_datasets(int argc, char **argv)
{
    struct lh_cli_store_args sa = {0};
    const char *name = NULL, *extra = NULL;
    const char *action = NULL; /* "rm" or "rollback" */
    bool json = false, files = false, yes = false, force = false;
    uint64_t version = 0;
    if (argc > 1 && strcmp(argv[1], "describe") == 0)
        return describe_main(argc - 1, argv + 1);
    if (lh_cli_help(argc, argv, usage))
        return 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = lh_cli_store_slot(&sa, a);
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
    if (sa.data && sa.store_url) {
        lh_cli_error("datasets: give --data or --store, not both");
        return 2;
    }
    struct lh_store_set *set = NULL;
    struct lh_catalog *cat = NULL;
    struct lh_schedule_store *ss = NULL;
    struct lh_error err;
    int rc = 1;
    if (!store_open(&sa, &set, &cat))
        goto done;
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
