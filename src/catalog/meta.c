/*
 * meta.c — what people say about a dataset: its description, its tags,
 * and per column a description and a PII override (docs/catalog.md
 * "Descriptions, tags and PII overrides").
 *
 * The truth is in three fields of the record:
 *
 *   "description": "…", "tags": ["gdpr", "team:finance"],
 *   "column_metadata": {"email": {"description": "…", "pii": "none"}}
 *
 * and "columns" is derived: whenever columns are written (a new version,
 * a metadata update) or the metadata changes, each column takes its
 * description and, when overridden, its sensitivity from its entry in
 * column_metadata; "detected_sensitivity" keeps what the detector (or the
 * writer) said, which "auto" goes back to, and "sensitivity_override"
 * says which one "sensitivity" is. Entries are matched by column name, so
 * they survive every later version (each new version re-detects, the
 * overrides win); an entry whose column is gone stays dormant and applies
 * again when a column of that name comes back (a rollback, a schema
 * change undone). An entry with neither description nor mark is removed.
 *
 * Edits run inside the catalog's compare-and-swap (catalog_update), as
 * every change of a record does: an edit and a concurrent publish never
 * lose each other's update, and an edit never makes a version.
 * Threads: no state; any thread.
 */
#include "catalog_int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ checks */

static bool tag_char(char c, bool first)
{
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '-' || c == '_' || c == '.' || c == ':'));
}

enum lh_status lh_catalog_tag_check(const char *tag, struct lh_error *err)
{
    size_t n = tag ? strlen(tag) : 0;
    if (n == 0)
        return lh_error_set(err, LH_E_INVAL, "a tag cannot be empty");
    if (n > LH_CATALOG_TAG_MAX)
        return lh_error_set(err, LH_E_INVAL, "tag '%.32s...' is %zu bytes, at most %d", tag, n,
                            LH_CATALOG_TAG_MAX);
    for (size_t i = 0; i < n; i++)
        if (!tag_char(tag[i], i == 0))
            return lh_error_set(err, LH_E_INVAL,
                                "tag '%.*s': use lowercase letters, digits, '-', '_', '.' and "
                                "':', starting with a letter or a digit",
                                (int)n, tag);
    return LH_OK;
}

enum lh_status lh_catalog_text_check(const char *s, size_t max, struct lh_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max)
        return lh_error_set(err, LH_E_INVAL, "%zu bytes long, at most %zu", n, max);
    if (!lh_utf8_valid(s, n))
        return lh_error_set(err, LH_E_INVAL, "not valid UTF-8");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return lh_error_set(err, LH_E_INVAL,
                                "control character 0x%02x at byte %zu (only newline and tab)", c,
                                i);
    }
    return LH_OK;
}

bool lh_catalog_pii_mark_valid(const char *mark)
{
    enum lh_sensitivity lv;
    return mark && *mark && (strcmp(mark, "auto") == 0 || lh_sensitivity_parse(mark, &lv));
}

/* ------------------------------------------------------------ shape and derivation */

int catalog_meta_shape(json_t *rec)
{
    int rc = 0;
    if (!json_is_string(json_object_get(rec, "description")))
        rc |= json_object_set_new(rec, "description", json_string(""));
    if (!json_is_array(json_object_get(rec, "tags")))
        rc |= json_object_set_new(rec, "tags", json_array());
    if (!json_is_object(json_object_get(rec, "column_metadata")))
        rc |= json_object_set_new(rec, "column_metadata", json_object());
    return rc;
}

/* The level a column has without an override: its detected_sensitivity,
 * or, in a record written before overrides existed, its sensitivity. */
static enum lh_sensitivity column_auto(json_t *col)
{
    json_t *d = json_object_get(col, "detected_sensitivity");
    if (!d)
        d = json_object_get(col, "sensitivity");
    enum lh_sensitivity lv = LH_SENS_NONE;
    if (json_is_string(d) && !lh_sensitivity_parse(json_string_value(d), &lv))
        lv = LH_SENS_NONE;
    return lv;
}

static json_t *level_json(enum lh_sensitivity lv)
{
    const char *s = lh_sensitivity_str(lv);
    return s ? json_string(s) : json_null();
}

/* Sets one column's derived fields from its auto level and its entry in
 * column_metadata (meta, may be NULL); returns the effective level. */
static int column_derive(json_t *col, json_t *meta, enum lh_sensitivity *eff)
{
    enum lh_sensitivity auto_lv = column_auto(col), lv = auto_lv;
    const char *mark = json_string_value(json_object_get(meta, "pii"));
    bool over = mark && lh_sensitivity_parse(mark, &lv);
    if (!over)
        lv = auto_lv;
    const char *desc = json_string_value(json_object_get(meta, "description"));
    *eff = lv;
    return json_object_set_new(col, "sensitivity", level_json(lv)) |
           json_object_set_new(col, "description", json_string(desc ? desc : "")) |
           json_object_set_new(col, "is_pii", json_boolean(lv == LH_SENS_PII)) |
           json_object_set_new(col, "detected_sensitivity", level_json(auto_lv)) |
           json_object_set_new(col, "sensitivity_override", json_boolean(over));
}

/* Derives every column of rec and, unless explicit (NULL: derive), the
 * dataset's level. */
static enum lh_status derive_all(json_t *rec, const char *explicit_level, struct lh_error *err)
{
    json_t *cols = json_object_get(rec, "columns");
    json_t *meta = json_object_get(rec, "column_metadata");
    enum lh_sensitivity top = LH_SENS_NONE;
    int rc = 0;
    for (size_t i = 0; i < json_array_size(cols); i++) {
        json_t *c = json_array_get(cols, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        enum lh_sensitivity lv;
        if (!json_is_object(c))
            continue;
        rc |= column_derive(c, name ? json_object_get(meta, name) : NULL, &lv);
        if (lv > top)
            top = lv;
    }
    if (explicit_level && !lh_sensitivity_parse(explicit_level, &top))
        return lh_error_set(err, LH_E_INVAL, "unknown sensitivity '%s'", explicit_level);
    rc |= json_object_set_new(rec, "sensitivity", level_json(top));
    return rc ? lh_error_set(err, LH_E_NOMEM, "out of memory") : LH_OK;
}

/* column_metadata[name], created when absent (NULL: out of memory). */
static json_t *meta_entry(json_t *rec, const char *name)
{
    json_t *meta = json_object_get(rec, "column_metadata");
    json_t *e = json_object_get(meta, name);
    if (json_is_object(e))
        return e;
    e = json_object();
    return e && json_object_set_new(meta, name, e) == 0 ? e : NULL;
}

enum lh_status catalog_columns_apply(json_t *rec, const struct lh_catalog_column *cols, size_t n,
                                     const char *sensitivity, struct lh_error *err)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : -1;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = cols[i].name ? cols[i].name : "";
        enum lh_sensitivity lv;
        if (cols[i].sensitivity) {
            if (!lh_sensitivity_parse(cols[i].sensitivity, &lv)) {
                json_decref(arr);
                return lh_error_set(err, LH_E_INVAL, "column %s: unknown sensitivity '%s'", name,
                                    cols[i].sensitivity);
            }
        } else {
            lv = lh_catalog_pii_detect(name);
        }
        /* a writer's description seeds the column's metadata; a person's
         * wins once there is one */
        if (cols[i].description && *cols[i].description) {
            json_t *e = meta_entry(rec, name);
            if (!e)
                rc = -1;
            else if (!json_object_get(e, "description"))
                rc |= json_object_set_new(e, "description", json_string(cols[i].description));
        }
        json_t *c = json_pack("{s:s, s:s, s:o}", "name", name, "data_type",
                              cols[i].data_type ? cols[i].data_type : "", "detected_sensitivity",
                              level_json(lv));
        rc |= !c || json_array_append_new(arr, c) != 0;
    }
    if (rc) {
        json_decref(arr);
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    }
    json_object_set_new(rec, "columns", arr);
    return derive_all(rec, sensitivity, err);
}

/* ------------------------------------------------------------ editing */

struct describe_ctx {
    const char *name;
    struct lh_catalog_describe *d;
};

static enum lh_status bad(struct lh_catalog_describe *d, const char *field, const char *col,
                          struct lh_error *err)
{
    if (col)
        snprintf(d->field, sizeof d->field, "columns.%s%s%s", col, field ? "." : "",
                 field ? field : "");
    else
        snprintf(d->field, sizeof d->field, "%s", field ? field : "columns");
    return err ? err->status : LH_E_INVAL;
}

/* Everything that can be checked without the record. */
static enum lh_status describe_check(struct lh_catalog_describe *d, struct lh_error *err)
{
    if (d->description && lh_catalog_text_check(d->description, LH_CATALOG_DESCRIPTION_MAX, err)) {
        lh_error_prefix(err, "description");
        return bad(d, "description", NULL, err);
    }
    const char *const *lists[3] = {d->tags, d->add_tags, d->remove_tags};
    size_t counts[3] = {d->set_tags ? d->ntags : 0, d->nadd, d->nremove};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++)
            if (lh_catalog_tag_check(lists[l][i], err) != LH_OK)
                return bad(d, "tags", NULL, err);
    for (size_t i = 0; i < d->ncolumns; i++) {
        const struct lh_catalog_column_edit *c = &d->columns[i];
        if (!c->name || !*c->name) {
            lh_error_set(err, LH_E_INVAL, "a column name cannot be empty");
            return bad(d, "columns", NULL, err);
        }
        if (c->description &&
            lh_catalog_text_check(c->description, LH_CATALOG_COLUMN_DESCRIPTION_MAX, err)) {
            lh_error_prefix(err, "column %s: description", c->name);
            return bad(d, "description", c->name, err);
        }
        if (c->pii && !lh_catalog_pii_mark_valid(c->pii)) {
            lh_error_set(err, LH_E_INVAL,
                         "column %s: PII mark '%.40s' is not one of pii, financial, sensitive, "
                         "internal, none, auto",
                         c->name, c->pii);
            return bad(d, "pii", c->name, err);
        }
    }
    return LH_OK;
}

static bool has_column(json_t *rec, const char *name)
{
    json_t *cols = json_object_get(rec, "columns");
    for (size_t i = 0; i < json_array_size(cols); i++) {
        const char *n = json_string_value(json_object_get(json_array_get(cols, i), "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return json_object_get(json_object_get(rec, "column_metadata"), name) != NULL;
}

/* Where tag t is in tags; false when absent. */
static bool tag_find(json_t *tags, const char *t, size_t *at)
{
    for (size_t i = 0; i < json_array_size(tags); i++) {
        const char *x = json_string_value(json_array_get(tags, i));
        if (x && strcmp(x, t) == 0) {
            *at = i;
            return true;
        }
    }
    return false;
}

static int tags_add(json_t *tags, const char *const *add, size_t n)
{
    int rc = 0;
    size_t at;
    for (size_t i = 0; i < n; i++)
        if (!tag_find(tags, add[i], &at))
            rc |= json_array_append_new(tags, json_string(add[i]));
    return rc;
}

static enum lh_status tags_edit(json_t *rec, struct describe_ctx *c, struct lh_error *err)
{
    struct lh_catalog_describe *d = c->d;
    json_t *tags = json_object_get(rec, "tags");
    int rc = 0;
    if (d->set_tags)
        rc |= json_array_clear(tags);
    rc |= tags_add(tags, d->tags, d->set_tags ? d->ntags : 0);
    rc |= tags_add(tags, d->add_tags, d->nadd);
    for (size_t i = 0; i < d->nremove; i++) {
        size_t k;
        if (tag_find(tags, d->remove_tags[i], &k))
            rc |= json_array_remove(tags, k);
    }
    if (rc)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    if (json_array_size(tags) > LH_CATALOG_TAGS_MAX) {
        lh_error_set(err, LH_E_INVAL, "dataset %s would have %zu tags, at most %d (remove some)",
                     c->name, json_array_size(tags), LH_CATALOG_TAGS_MAX);
        return bad(d, "tags", NULL, err);
    }
    return LH_OK;
}

static enum lh_status describe_mutate(json_t *rec, bool is_new, void *vctx, struct lh_error *err)
{
    struct describe_ctx *c = vctx;
    struct lh_catalog_describe *d = c->d;
    (void)is_new;
    int rc = 0;
    if (d->description)
        rc |= json_object_set_new(rec, "description", json_string(d->description));
    enum lh_status s = tags_edit(rec, c, err);
    if (s != LH_OK)
        return s;
    for (size_t i = 0; i < d->ncolumns; i++) {
        const struct lh_catalog_column_edit *ce = &d->columns[i];
        if (!has_column(rec, ce->name)) {
            lh_error_set(err, LH_E_INVAL, "dataset %s has no column '%s'", c->name, ce->name);
            return bad(d, NULL, ce->name, err);
        }
        json_t *e = meta_entry(rec, ce->name);
        if (!e)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        if (ce->description && *ce->description)
            rc |= json_object_set_new(e, "description", json_string(ce->description));
        else if (ce->description)
            json_object_del(e, "description");
        if (ce->pii && strcmp(ce->pii, "auto") != 0)
            rc |= json_object_set_new(e, "pii", json_string(ce->pii));
        else if (ce->pii)
            json_object_del(e, "pii");
        if (json_object_size(e) == 0)
            json_object_del(json_object_get(rec, "column_metadata"), ce->name);
    }
    if (rc)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    /* the dataset's level follows its columns' unless nothing changed them */
    bool marks = false;
    for (size_t i = 0; i < d->ncolumns; i++)
        marks |= d->columns[i].pii != NULL;
    json_t *lv = json_object_get(rec, "sensitivity");
    if (!marks) {
        char keep[16];
        snprintf(keep, sizeof keep, "%s", json_is_string(lv) ? json_string_value(lv) : "none");
        return derive_all(rec, keep, err);
    }
    return derive_all(rec, NULL, err);
}

enum lh_status lh_catalog_dataset_describe(struct lh_catalog *cat, const char *name,
                                           struct lh_catalog_describe *d, struct lh_error *err)
{
    d->field[0] = '\0';
    enum lh_status s = describe_check(d, err);
    if (s != LH_OK)
        return s;
    struct describe_ctx c = {name, d};
    return catalog_update(cat, name, false, describe_mutate, &c, err);
}

/* ------------------------------------------------------------ reading */

bool catalog_meta_read(json_t *rec, struct lh_catalog_record *out)
{
    struct lh_arena *a = &out->arena;
    const char *desc = json_string_value(json_object_get(rec, "description"));
    out->description = lh_arena_strndup(a, desc ? desc : "", desc ? strlen(desc) : 0);
    json_t *tags = json_object_get(rec, "tags");
    size_t nt = json_array_size(tags);
    const char **tv = lh_arena_alloc(a, (nt ? nt : 1) * sizeof *tv);
    if (!out->description || !tv)
        return false;
    for (size_t i = 0; i < nt; i++) {
        const char *t = json_string_value(json_array_get(tags, i));
        tv[i] = lh_arena_strndup(a, t ? t : "", t ? strlen(t) : 0);
        if (!tv[i])
            return false;
    }
    out->tags = tv;
    out->ntags = nt;
    json_t *cols = json_object_get(rec, "columns");
    struct lh_catalog_column_info *ci = (struct lh_catalog_column_info *)out->columns;
    for (size_t i = 0; ci && i < out->ncolumns && i < json_array_size(cols); i++) {
        json_t *c = json_array_get(cols, i);
        json_t *d = json_object_get(c, "detected_sensitivity");
        ci[i].sensitivity_override = json_is_true(json_object_get(c, "sensitivity_override"));
        /* before overrides existed, the level was the detector's */
        ci[i].detected = json_is_string(d)
                             ? lh_arena_strndup(a, json_string_value(d), json_string_length(d))
                         : d ? NULL
                             : ci[i].sensitivity;
    }
    return true;
}
