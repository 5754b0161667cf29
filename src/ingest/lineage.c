/*
 * lineage.c — what a run records as its version's source, the refusal of a
 * run that reads another source than the dataset holds, and the schema
 * policy (docs/ingest.md "Source" and "Schema policy").
 *
 * The source is described from the options and the DSN as lh_dsn_parse
 * splits it: system, host, port, database, the schema-qualified table (the
 * server's default schema filled in) or the query text, columns, where,
 * mode, cursor column and who ran it. The password is never looked at.
 *
 * The schema policy and --replace-source are recorded with the source
 * (lh_catalog_source.schema_policy, .replace_source), so each version says
 * how it was told to treat a change; ingest.c sets .source_replaced when
 * the run did replace the source.
 *
 * Both checks run before the first row is read, so a refused run publishes
 * nothing and leaves nothing behind.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest_int.h"

/* The policies' names, by value: both directions read this one table. */
static const char *const policy_names[] = {[LH_INGEST_SCHEMA_EVOLVE] = "evolve",
                                           [LH_INGEST_SCHEMA_FAIL] = "fail",
                                           [LH_INGEST_SCHEMA_REPLACE] = "replace"};
#define N_POLICIES (sizeof policy_names / sizeof policy_names[0])

bool lh_ingest_schema_policy_parse(const char *s, enum lh_ingest_schema_policy *out)
{
    for (size_t i = 0; s && i < N_POLICIES; i++)
        if (strcmp(s, policy_names[i]) == 0) {
            *out = (enum lh_ingest_schema_policy)i;
            return true;
        }
    return false;
}

const char *lh_ingest_schema_policy_name(enum lh_ingest_schema_policy p)
{
    return (unsigned)p < N_POLICIES ? policy_names[p] : "evolve";
}

static void part_copy(const struct lh_dsn *d, struct lh_dsn_part p, char *out, size_t cap)
{
    out[0] = '\0';
    if (p.p && p.n)
        lh_dsn_decode(d, p, out, cap);
}

enum lh_status ingest_source_describe(const struct lh_ingest_options *o, const char *dataset,
                                      struct ingest_source_desc *d, struct lh_error *err)
{
    (void)dataset;
    memset(d, 0, sizeof *d);
    struct lh_catalog_source *s = &d->src;
    s->system = o->kind == LH_SOURCE_MYSQL ? "mysql" : "postgres";
    struct lh_dsn dsn;
    struct lh_error e;
    if (o->dsn && lh_dsn_parse(o->dsn, &dsn, &e) == LH_OK) {
        if (dsn.form == LH_DSN_URL) {
            struct lh_dsn_part h = dsn.hosts;
            if (h.n && h.p[0] == '[') {
                const char *rb = memchr(h.p, ']', h.n);
                if (rb)
                    h = (struct lh_dsn_part){h.p + 1, (size_t)(rb - h.p - 1)};
            } else if (h.n) {
                size_t k = 0;
                while (k < h.n && h.p[k] != ':' && h.p[k] != ',')
                    k++;
                h.n = k;
            }
            part_copy(&dsn, h, d->host, sizeof d->host);
            part_copy(&dsn, dsn.db, d->database, sizeof d->database);
            s->port = dsn.port;
            if (!d->host[0])
                part_copy(&dsn, lh_dsn_param(&dsn, "host"), d->host, sizeof d->host);
            if (!d->database[0])
                part_copy(&dsn, lh_dsn_param(&dsn, "dbname"), d->database, sizeof d->database);
        } else {
            part_copy(&dsn, lh_dsn_param(&dsn, "host"), d->host, sizeof d->host);
            part_copy(&dsn, lh_dsn_param(&dsn, "dbname"), d->database, sizeof d->database);
            char port[16];
            part_copy(&dsn, lh_dsn_param(&dsn, "port"), port, sizeof port);
            char *end = NULL;
            unsigned long pv = port[0] ? strtoul(port, &end, 10) : 0;
            s->port = end && !*end && pv < 65536 ? (unsigned)pv : 0;
        }
        d->host[strcspn(d->host, ",")] = '\0';
    }
    if (!s->port)
        s->port = o->kind == LH_SOURCE_MYSQL ? 3306 : 5432;
    s->host = d->host;
    s->database = d->database;
    if (o->table) {
        char schema[256], name[256];
        enum lh_status st =
            lh_source_table_parse(o->kind, o->table, schema, sizeof schema, name, sizeof name, err);
        if (st != LH_OK)
            return st;
        const char *def = o->kind == LH_SOURCE_MYSQL ? d->database : "public";
        snprintf(d->table, sizeof d->table, "%s%s%s", schema[0] ? schema : def,
                 (schema[0] || def[0]) ? "." : "", name);
        s->table = d->table;
    } else {
        s->query = o->query;
    }
    s->columns = o->columns;
    s->where = o->where;
    s->mode = lh_ingest_mode_name(o->mode);
    s->cursor_column = o->mode == LH_INGEST_INCREMENTAL ? o->cursor_column : NULL;
    s->made_by = o->made_by ? o->made_by : "cli";
    s->schema_policy = lh_ingest_schema_policy_name(o->schema_policy);
    s->replace_source = o->replace_source;
    return LH_OK;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* "postgres://db1:5432/shop" */
static void where_text(const struct lh_catalog_source *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s://%s", s->system ? s->system : "?", s->host && *s->host ? s->host : "");
    size_t n = strlen(out);
    if (s->port && n < cap)
        snprintf(out + n, cap - n, ":%u", s->port);
    n = strlen(out);
    if (n < cap)
        snprintf(out + n, cap - n, "/%s", s->database ? s->database : "");
}

/* "public.orders" or "the query 'SELECT ...'" (cut at 80 bytes) */
static void what_text(const struct lh_catalog_source *s, char *out, size_t cap)
{
    if (s->table) {
        snprintf(out, cap, "%s", s->table);
        return;
    }
    const char *q = s->query ? s->query : "";
    size_t n = strlen(q);
    char cut[100];
    snprintf(cut, sizeof cut, "%.*s%s", (int)(n > 80 ? 80 : n), q, n > 80 ? "..." : "");
    for (char *c = cut; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    snprintf(out, cap, "the query '%s'", cut);
}

enum lh_status ingest_source_check(const char *dataset, const struct lh_catalog_source *cur,
                                   const struct lh_catalog_source *run, struct lh_error *err)
{
    /* the port is recorded, not compared: a server moved to another port
     * still holds the same database */
    bool same_server = str_eq(cur->system, run->system) && str_eq(cur->host, run->host) &&
                       str_eq(cur->database, run->database);
    bool same_what = str_eq(cur->table, run->table) && str_eq(cur->query, run->query);
    if (same_server && same_what)
        return LH_OK;
    char cw[400], cwhat[200], rw[400], rwhat[200];
    where_text(cur, cw, sizeof cw);
    what_text(cur, cwhat, sizeof cwhat);
    where_text(run, rw, sizeof rw);
    what_text(run, rwhat, sizeof rwhat);
    return lh_error_set(err, LH_E_STATE,
                        "dataset %s holds %s %s; this run reads %s%s%s — pass --replace-source "
                        "(a schedule: kind.replace_source) to replace it",
                        dataset, cw, cwhat, same_server ? "" : rw, same_server ? "" : " ", rwhat);
}

/* ------------------------------------------------------------ schema policy */

/* The rank of an integer type in its family ("Int8" < ... < "Int64"); 0 none. */
static int int_rank(const char *t, bool *is_unsigned)
{
    static const char *s[] = {"Int8", "Int16", "Int32", "Int64"};
    static const char *u[] = {"UInt8", "UInt16", "UInt32", "UInt64"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(t, s[i]) == 0) {
            *is_unsigned = false;
            return i + 1;
        }
        if (strcmp(t, u[i]) == 0) {
            *is_unsigned = true;
            return i + 1;
        }
    }
    return 0;
}

/* Whether a column of type `from` can be read as `to` without losing a
 * value: a wider integer (an unsigned one into a wider signed one too),
 * Float32 -> Float64, an integer of up to 32 bits -> Float64, a decimal
 * with more digits and the same scale, Utf8 -> LargeUtf8, Binary ->
 * LargeBinary. Anything else (text -> number, a narrower type) is not. */
static bool type_widens(const char *from, const char *to)
{
    bool fu = false, tu = false;
    int fr = int_rank(from, &fu), tr = int_rank(to, &tu);
    if (fr && tr)
        return fu == tu ? tr > fr : (fu && !tu && tr > fr);
    if (fr && strcmp(to, "Float64") == 0)
        return fr <= 3;
    if (strcmp(from, "Float32") == 0 && strcmp(to, "Float64") == 0)
        return true;
    if (strcmp(from, "Utf8") == 0 && strcmp(to, "LargeUtf8") == 0)
        return true;
    if (strcmp(from, "Binary") == 0 && strcmp(to, "LargeBinary") == 0)
        return true;
    unsigned fp, fs, tp, ts;
    if (sscanf(from, "Decimal128(%u, %u)", &fp, &fs) == 2 &&
        sscanf(to, "Decimal128(%u, %u)", &tp, &ts) == 2)
        return fs == ts && tp > fp;
    return false;
}

/* Appends "; item" (or item) to out; a full out keeps what it has. */
static void add_item(char *out, size_t cap, const char *item)
{
    size_t n = strlen(out);
    if (n + 3 >= cap)
        return;
    snprintf(out + n, cap - n, "%s%s", n ? "; " : "", item);
}

enum lh_status ingest_schema_policy_check(enum lh_ingest_schema_policy policy, const char *dataset,
                                          uint64_t base, const struct lh_catalog_record *rec,
                                          const struct lh_catalog_column *cols, size_t ncols,
                                          char *change, size_t cap, struct lh_error *err)
{
    if (cap)
        change[0] = '\0';
    if (!rec || base == 0 || rec->ncolumns == 0)
        return LH_OK;
    char changes[600] = "", refused[600] = "";
    for (size_t i = 0; i < rec->ncolumns; i++) {
        const struct lh_catalog_column_info *old = &rec->columns[i];
        const struct lh_catalog_column *now = NULL;
        for (size_t k = 0; k < ncols && !now; k++)
            if (strcmp(cols[k].name, old->name) == 0)
                now = &cols[k];
        char item[400];
        if (!now) {
            snprintf(item, sizeof item, "dropped %s", old->name);
            add_item(changes, sizeof changes, item);
            add_item(refused, sizeof refused, item);
        } else if (strcmp(now->data_type, old->data_type) != 0) {
            snprintf(item, sizeof item, "%s %s -> %s", old->name, old->data_type, now->data_type);
            add_item(changes, sizeof changes, item);
            if (!type_widens(old->data_type, now->data_type))
                add_item(refused, sizeof refused, item);
        }
    }
    for (size_t k = 0; k < ncols; k++) {
        bool known = false;
        for (size_t i = 0; i < rec->ncolumns && !known; i++)
            known = strcmp(cols[k].name, rec->columns[i].name) == 0;
        if (!known) {
            char item[400];
            snprintf(item, sizeof item, "added %s %s", cols[k].name, cols[k].data_type);
            add_item(changes, sizeof changes, item);
        }
    }
    if (cap)
        snprintf(change, cap, "%s", changes);
    /* fail refuses any change, evolve what it cannot widen, replace none */
    bool fail = policy == LH_INGEST_SCHEMA_FAIL;
    const char *why = fail ? changes : policy == LH_INGEST_SCHEMA_EVOLVE ? refused : "";
    if (!why[0])
        return LH_OK;
    return lh_error_set(err, LH_E_STATE,
                        "the source's columns differ from dataset %s version %" PRIu64
                        "%s (%s)%s; nothing was published (pass --schema-policy %s to accept it)",
                        dataset, base, fail ? "" : " in a way the schema policy evolve refuses",
                        why, fail ? " and the schema policy is fail" : "",
                        fail ? "evolve or replace" : "replace");
}
