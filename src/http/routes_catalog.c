/*
 * routes_catalog.c — datasets, events and index bindings over catalog.h.
 *
 * Every name from a path or a query goes through lh_store_name_check before
 * it reaches the catalog; every record leaves through http_json_redact, a
 * second line of defence behind the catalog's own DSN redaction.
 * Each handler holds one catalog from the pool for its duration.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
    json_t *j = s && *s ? json_string(s) : NULL;
    return j ? j : json_null();
}

/* An optional ?dataset= filter, validated. false when a 400 was written. */
static bool dataset_filter(struct http_req *req, struct http_resp *resp, const char **out)
{
    bool bad = false;
    struct lh_error err;
    *out = http_query(req, "dataset", &bad);
    if (bad) {
        http_resp_error(resp, 400, "dataset", "malformed percent-encoding");
        return false;
    }
    if (*out && lh_store_name_check(*out, &err) != LH_OK) {
        http_resp_error(resp, 400, "dataset", "invalid dataset: %s", err.msg);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ datasets */

static void datasets_list(struct http_req *req, struct http_resp *resp)
{
    struct lh_catalog *cat = req->srv->cat;
    struct lh_catalog_summary *s = NULL;
    size_t n = 0;
    struct lh_error err;
    if (lh_catalog_list(cat, &s, &n, &err) != LH_OK) {
        http_resp_status_error(resp, err.status, NULL, err.msg);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", str_or_null(s[i].name));
        if (s[i].error[0]) {
            /* listed with its error, and said in the log too */
            lh_warn("datasets: %s", s[i].error);
            json_object_set_new(o, "error", str_or_null(s[i].error));
        } else {
            json_object_set_new(o, "current_version",
                                json_integer((json_int_t)s[i].current_version));
            json_object_set_new(o, "row_count", json_integer((json_int_t)s[i].row_count));
            json_object_set_new(o, "size_bytes", json_integer((json_int_t)s[i].size_bytes));
            json_object_set_new(o, "sensitivity", str_or_null(s[i].sensitivity));
            json_object_set_new(o, "last_ingest", str_or_null(s[i].last_ingest));
            json_object_set_new(o, "description", json_string(s[i].description));
            json_t *tags = json_array();
            for (char *t = s[i].tags, *e; *t; t = e) {
                e = t + strcspn(t, ",");
                json_array_append_new(tags, json_stringn(t, (size_t)(e - t)));
                e += *e == ',';
            }
            json_object_set_new(o, "tags", tags);
        }
        json_array_append_new(arr, o);
    }
    free(s);
    json_t *doc = json_pack("{s:o}", "datasets", arr);
    http_json_redact(doc);
    http_resp_json(resp, 200, doc);
}

/* Reads the record of the dataset the path names into r; false when resp
 * is decided: a bad name (400), no such dataset (404), a damaged record
 * (500: the server's state, not the client's mistake). */
static bool record_load(struct http_req *req, struct http_resp *resp, const char **name,
                        struct lh_catalog_record *r)
{
    *name = http_param_name(req, resp, "name");
    if (!*name)
        return false;
    struct lh_error err;
    enum lh_status s = lh_catalog_dataset_get(req->srv->cat, *name, r, &err);
    if (s == LH_E_FORMAT) {
        lh_warn("datasets: %s", err.msg);
        http_resp_json(
            resp, 500,
            json_pack("{s:s, s:s, s:b}", "error", err.msg, "dataset", *name, "damaged", true));
        return false;
    }
    if (s != LH_OK) {
        http_resp_status_error(resp, s, "name", err.msg);
        return false;
    }
    return true;
}

/* GET /api/datasets/{name}: the record, plus "source": the current version's
 * (docs/catalog.md "Source"; null for a version recorded before sources). */
static void dataset_get(struct http_req *req, struct http_resp *resp)
{
    const char *name;
    struct lh_catalog_record r;
    if (!record_load(req, resp, &name, &r))
        return;
    json_error_t jerr;
    json_t *doc = json_loads(r.json, 0, &jerr);
    lh_catalog_record_reset(&r);
    if (!json_is_object(doc)) {
        json_decref(doc);
        http_resp_error(resp, 500, NULL, "dataset record of '%s' is not a JSON object", name);
        return;
    }
    json_t *cur_src = NULL, *vs = json_object_get(doc, "versions");
    for (size_t i = 0; i < json_array_size(vs); i++) {
        json_t *v = json_array_get(vs, i);
        if (json_integer_value(json_object_get(v, "version")) ==
            json_integer_value(json_object_get(doc, "current_version")))
            cur_src = json_object_get(v, "source");
    }
    json_object_set_new(doc, "source", cur_src ? json_deep_copy(cur_src) : json_null());
    http_json_redact(doc);
    http_resp_json(resp, 200, doc);
}

/* ------------------------------------------------------------ describing */

/* A JSON array of strings into tags[] (arena); false when resp is decided. */
static bool tag_list(struct http_req *req, struct http_resp *resp, const char *field,
                     const char ***out, size_t *n)
{
    json_t *v = json_object_get(req->json, field);
    *out = NULL;
    *n = 0;
    if (!v)
        return true;
    if (!json_is_array(v)) {
        http_resp_error(resp, 400, field, "\"%s\" must be an array of tags", field);
        return false;
    }
    *n = json_array_size(v);
    if (*n > 4 * LH_CATALOG_TAGS_MAX) {
        http_resp_error(resp, 400, field, "\"%s\": %zu tags, a dataset has at most %d", field, *n,
                        LH_CATALOG_TAGS_MAX);
        return false;
    }
    *out = lh_arena_alloc(&req->arena, (*n ? *n : 1) * sizeof **out);
    if (!*out) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return false;
    }
    for (size_t i = 0; i < *n; i++) {
        (*out)[i] = json_string_value(json_array_get(v, i));
        if (!(*out)[i]) {
            http_resp_error(resp, 400, field, "\"%s\"[%zu] must be a string", field, i);
            return false;
        }
    }
    return true;
}

/* An optional string member of o; false when resp is decided. */
static bool opt_string(struct http_resp *resp, json_t *o, const char *key, const char *field,
                       const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        http_resp_error(resp, 400, field, "%s must be a string", field);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* "columns": {"NAME": {"description": "...", "pii": "pii"|...|"none"|"auto"}} */
static bool column_edits(struct http_req *req, struct http_resp *resp,
                         struct lh_catalog_describe *d)
{
    json_t *cols = json_object_get(req->json, "columns");
    if (!cols)
        return true;
    if (!json_is_object(cols)) {
        http_resp_error(resp, 400, "columns",
                        "\"columns\" must be an object: {\"COLUMN\": {\"description\": ..., "
                        "\"pii\": ...}}");
        return false;
    }
    size_t n = json_object_size(cols);
    struct lh_catalog_column_edit *e = lh_arena_alloc(&req->arena, (n ? n : 1) * sizeof *e);
    if (!e) {
        http_resp_error(resp, 500, NULL, "out of memory");
        return false;
    }
    const char *k, *mk;
    json_t *v, *mv;
    size_t i = 0;
    char field[300];
    json_object_foreach(cols, k, v)
    {
        snprintf(field, sizeof field, "columns.%.250s", k);
        if (!json_is_object(v)) {
            http_resp_error(resp, 400, field,
                            "%s must be an object with \"description\" and/or \"pii\"", field);
            return false;
        }
        json_object_foreach(v, mk, mv)
        {
            if (strcmp(mk, "description") != 0 && strcmp(mk, "pii") != 0) {
                snprintf(field, sizeof field, "columns.%.200s.%.80s", k, mk);
                http_resp_error(resp, 400, field,
                                "unknown field (a column takes \"description\" and \"pii\")");
                return false;
            }
        }
        e[i] = (struct lh_catalog_column_edit){.name = k};
        snprintf(field, sizeof field, "columns.%.250s.description", k);
        if (!opt_string(resp, v, "description", field, &e[i].description))
            return false;
        snprintf(field, sizeof field, "columns.%.250s.pii", k);
        if (!opt_string(resp, v, "pii", field, &e[i].pii))
            return false;
        i++;
    }
    d->columns = e;
    d->ncolumns = n;
    return true;
}

/* PATCH /api/datasets/{name}: description, tags and per column a
 * description and a PII mark (docs/http.md "Describing a dataset"); every
 * part optional, applied whole or not at all; answers the record. */
static void dataset_patch(struct http_req *req, struct http_resp *resp)
{
    const char *name = http_param_name(req, resp, "name");
    if (!name)
        return;
    static const char *const known[] = {"description", "tags", "add_tags", "remove_tags",
                                        "columns"};
    const char *k;
    json_t *v;
    json_object_foreach(req->json, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(k, known[i]) == 0;
        if (!ok) {
            http_resp_error(resp, 400, k,
                            "unknown field \"%.80s\" (description, tags, add_tags, remove_tags, "
                            "columns)",
                            k);
            return;
        }
    }
    if (json_object_size(req->json) == 0) {
        http_resp_error(resp, 400, NULL,
                        "nothing to change: give description, tags, add_tags, remove_tags or "
                        "columns");
        return;
    }
    struct lh_catalog_describe d = {0};
    if (!opt_string(resp, req->json, "description", "description", &d.description))
        return;
    d.set_tags = json_object_get(req->json, "tags") != NULL;
    if (!tag_list(req, resp, "tags", (const char ***)&d.tags, &d.ntags) ||
        !tag_list(req, resp, "add_tags", (const char ***)&d.add_tags, &d.nadd) ||
        !tag_list(req, resp, "remove_tags", (const char ***)&d.remove_tags, &d.nremove) ||
        !column_edits(req, resp, &d))
        return;
    struct lh_error err;
    enum lh_status s = lh_catalog_dataset_describe(req->srv->cat, name, &d, &err);
    if (s != LH_OK) {
        http_resp_status_error(resp, s, s == LH_E_INVAL ? d.field : "name", err.msg);
        return;
    }
    dataset_get(req, resp);
}

/* ------------------------------------------------------------ events */

static json_t *event_json(const struct lh_catalog_event *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", str_or_null(e->id));
    json_object_set_new(o, "type", str_or_null(e->type));
    json_object_set_new(o, "dataset", str_or_null(e->dataset));
    json_object_set_new(o, "version", json_integer((json_int_t)e->version));
    json_object_set_new(o, "created_at", str_or_null(e->created_at));
    if (e->index_name[0])
        json_object_set_new(o, "index", str_or_null(e->index_name));
    if (strcmp(e->type, "schema_changed") == 0) {
        json_object_set_new(o, "previous_fingerprint", str_or_null(e->previous_fingerprint));
        json_object_set_new(o, "schema_fingerprint", str_or_null(e->schema_fingerprint));
    }
    return o;
}

static void events_list(struct http_req *req, struct http_resp *resp)
{
    const char *dataset;
    if (!dataset_filter(req, resp, &dataset))
        return;
    struct lh_catalog *cat = req->srv->cat;
    struct lh_catalog_event *ev = NULL;
    size_t n = 0;
    struct lh_error err;
    enum lh_status s = lh_catalog_events_list(cat, dataset, &ev, &n, &err);
    if (s != LH_OK) {
        http_resp_status_error(resp, s, "dataset", err.msg);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, event_json(&ev[i]));
    free(ev);
    http_resp_json(resp, 200, json_pack("{s:o}", "events", arr));
}

/* An event id is "{dataset}/{rest}", both parts plain names. */
static void ack(struct http_req *req, struct http_resp *resp, const char *dataset, const char *rest)
{
    struct lh_error err;
    if (lh_store_name_check(dataset, &err) != LH_OK || lh_store_name_check(rest, &err) != LH_OK) {
        http_resp_error(resp, 400, "id", "invalid event id: %s", err.msg);
        return;
    }
    char id[sizeof((struct lh_catalog_event *)0)->id];
    int w = snprintf(id, sizeof id, "%s/%s", dataset, rest);
    if (w < 0 || (size_t)w >= sizeof id) {
        http_resp_error(resp, 400, "id", "event id too long");
        return;
    }
    struct lh_catalog *cat = req->srv->cat;
    struct lh_catalog_event *ev = NULL;
    size_t n = 0;
    enum lh_status s = lh_catalog_events_list(cat, dataset, &ev, &n, &err);
    bool found = false;
    for (size_t i = 0; s == LH_OK && i < n && !found; i++)
        found = strcmp(ev[i].id, id) == 0;
    free(ev);
    if (s == LH_OK && found)
        s = lh_catalog_event_ack(cat, id, &err);
    if (s != LH_OK) {
        http_resp_status_error(resp, s, "id", err.msg);
        return;
    }
    if (!found) {
        http_resp_error(resp, 404, "id", "no pending event '%s'", id);
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:s}", "acknowledged", id));
}

static void event_ack_encoded(struct http_req *req, struct http_resp *resp)
{
    const char *id = http_param(req, "event_id");
    const char *slash = id ? strchr(id, '/') : NULL;
    if (!slash || (size_t)(slash - id) > 255) {
        http_resp_error(resp, 400, "id", "event id must be {dataset}/{event}");
        return;
    }
    char dataset[256];
    memcpy(dataset, id, (size_t)(slash - id));
    dataset[slash - id] = '\0';
    ack(req, resp, dataset, slash + 1);
}

static void event_ack(struct http_req *req, struct http_resp *resp)
{
    ack(req, resp, http_param(req, "dataset"), http_param(req, "event"));
}

/* ------------------------------------------------------------ indexes */

static const char *body_name(struct http_req *req, struct http_resp *resp, const char *field)
{
    json_t *v = json_object_get(req->json, field);
    struct lh_error err;
    if (!v) {
        http_resp_error(resp, 400, field, "missing field \"%s\"", field);
        return NULL;
    }
    if (!json_is_string(v)) {
        http_resp_error(resp, 400, field, "\"%s\" must be a string", field);
        return NULL;
    }
    if (lh_store_name_check(json_string_value(v), &err) != LH_OK) {
        http_resp_error(resp, 400, field, "invalid %s: %s", field, err.msg);
        return NULL;
    }
    return json_string_value(v);
}

/* Binds index to dataset (POST /api/indexes: 201, 409 when it already is)
 * or unbinds it (DELETE /api/indexes/{dataset}/{index}: 204, 404 when it
 * is not). */
static void index_change(struct http_resp *resp, struct lh_catalog *cat, const char *dataset,
                         const char *index, bool bind)
{
    struct lh_catalog_record r;
    struct lh_error err;
    enum lh_status s = lh_catalog_dataset_get(cat, dataset, &r, &err);
    bool bound = false;
    for (size_t i = 0; s == LH_OK && i < r.nindexes && !bound; i++)
        bound = strcmp(r.indexes[i], index) == 0;
    if (s == LH_OK)
        lh_catalog_record_reset(&r);
    if (s == LH_OK && bound == bind) {
        http_resp_error(resp, bind ? 409 : 404, "index",
                        bind ? "index '%s' is already bound to '%s'"
                             : "index '%s' is not bound to '%s'",
                        index, dataset);
        return;
    }
    if (s == LH_OK)
        s = bind ? lh_catalog_index_bind(cat, dataset, index, &err)
                 : lh_catalog_index_unbind(cat, dataset, index, &err);
    if (s != LH_OK) {
        http_resp_status_error(resp, s, "dataset", err.msg);
        return;
    }
    if (bind) {
        http_resp_json(resp, 201, json_pack("{s:s, s:s}", "dataset", dataset, "index", index));
        return;
    }
    resp->status = 204;
    lh_buf_clear(&resp->body);
}

static void index_bind(struct http_req *req, struct http_resp *resp)
{
    const char *k;
    json_t *v;
    json_object_foreach(req->json, k, v)
    {
        if (strcmp(k, "index") != 0 && strcmp(k, "dataset") != 0) {
            http_resp_error(resp, 400, k, "unknown field");
            return;
        }
    }
    const char *index = body_name(req, resp, "index");
    const char *dataset = index ? body_name(req, resp, "dataset") : NULL;
    if (index && dataset)
        index_change(resp, req->srv->cat, dataset, index, true);
}

static void index_unbind(struct http_req *req, struct http_resp *resp)
{
    const char *dataset = http_param_name(req, resp, "dataset");
    const char *index = dataset ? http_param_name(req, resp, "index") : NULL;
    if (dataset && index)
        index_change(resp, req->srv->cat, dataset, index, false);
}

static void index_list(struct http_req *req, struct http_resp *resp)
{
    const char *only;
    if (!dataset_filter(req, resp, &only))
        return;
    struct lh_catalog *cat = req->srv->cat;
    struct lh_catalog_summary *s = NULL;
    size_t n = 0;
    struct lh_error err;
    enum lh_status st = LH_OK;
    json_t *arr = json_array();
    if (only) {
        struct lh_catalog_record r;
        st = lh_catalog_dataset_get(cat, only, &r, &err);
        for (size_t j = 0; st == LH_OK && j < r.nindexes; j++)
            json_array_append_new(arr,
                                  json_pack("{s:s, s:s}", "dataset", only, "index", r.indexes[j]));
        if (st == LH_OK)
            lh_catalog_record_reset(&r);
    } else {
        st = lh_catalog_list(cat, &s, &n, &err);
        for (size_t i = 0; st == LH_OK && i < n; i++) {
            struct lh_catalog_record r;
            if (s[i].error[0] || lh_catalog_dataset_get(cat, s[i].name, &r, &err) != LH_OK)
                continue; /* unreadable records are reported by /api/datasets */
            for (size_t j = 0; j < r.nindexes; j++)
                json_array_append_new(
                    arr, json_pack("{s:s, s:s}", "dataset", s[i].name, "index", r.indexes[j]));
            lh_catalog_record_reset(&r);
        }
        free(s);
    }
    if (st != LH_OK) {
        json_decref(arr);
        http_resp_status_error(resp, st, "dataset", err.msg);
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:o}", "indexes", arr));
}

/* ------------------------------------------------------------ managing */

/* GET /api/datasets/{name}/files: the current version's parts. */
static void dataset_files(struct http_req *req, struct http_resp *resp)
{
    const char *name;
    struct lh_catalog_record r;
    if (!record_load(req, resp, &name, &r))
        return;
    struct lh_catalog *cat = req->srv->cat;
    struct lh_error err;
    const struct lh_catalog_version_info *cv = lh_catalog_record_current(&r);
    json_t *files = json_array();
    for (size_t i = 0; cv && i < cv->nobjects; i++) {
        const struct lh_catalog_object_info *o = &cv->objects[i];
        char uri[LH_STORE_KEY_MAX * 3];
        if (lh_catalog_object_uri(cat, o, uri, sizeof uri, &err) != LH_OK) {
            json_decref(files);
            lh_catalog_record_reset(&r);
            http_resp_error(resp, 500, NULL, "part %s: %s", o->key, err.msg);
            return;
        }
        json_array_append_new(files,
                              json_pack("{s:s, s:s, s:s, s:I, s:o}", "bucket", o->bucket, "key",
                                        o->key, "uri", uri, "size_bytes", (json_int_t)o->size_bytes,
                                        "checksum", str_or_null(o->checksum)));
    }
    json_t *doc = json_pack("{s:s, s:I, s:I, s:o}", "dataset", name, "version",
                            (json_int_t)(cv ? cv->version : 0), "row_count",
                            (json_int_t)(cv ? cv->row_count : 0), "files", files);
    lh_catalog_record_reset(&r);
    http_resp_json(resp, 200, doc);
}

/* POST /api/datasets/{name}/rollback {"version": N} */
static void dataset_rollback(struct http_req *req, struct http_resp *resp)
{
    const char *name = http_param_name(req, resp, "name");
    if (!name)
        return;
    json_t *v = json_object_get(req->json, "version");
    if (!v) {
        http_resp_error(resp, 400, "version",
                        "missing field \"version\" (the version to go back to)");
        return;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        http_resp_error(resp, 400, "version", "\"version\" must be a version number (1, 2, ...)");
        return;
    }
    const char *k;
    json_t *x;
    json_object_foreach(req->json, k, x)
    {
        if (strcmp(k, "version") != 0) {
            http_resp_error(resp, 400, k, "unknown field \"%s\" (only \"version\")", k);
            return;
        }
    }
    uint64_t to = (uint64_t)json_integer_value(v), nv = 0;
    struct lh_error err;
    enum lh_status s = lh_ingest_rollback(req->srv->set, req->srv->cat, name, to, &nv, &err);
    if (s == LH_E_NOTFOUND && strstr(err.msg, "not found"))
        s = LH_E_NOTFOUND; /* the dataset */
    else if (s == LH_E_NOTFOUND)
        s = LH_E_STATE; /* the version: a 409 naming it */
    if (s != LH_OK) {
        http_resp_status_error(resp, s, s == LH_E_STATE ? "version" : "name", err.msg);
        return;
    }
    http_resp_json(resp, 200,
                   json_pack("{s:s, s:I, s:I}", "dataset", name, "version", (json_int_t)nv,
                             "rolled_back_to", (json_int_t)to));
}

/* DELETE /api/datasets/{name}[?force=true] */
static void dataset_delete(struct http_req *req, struct http_resp *resp)
{
    const char *name = http_param_name(req, resp, "name");
    if (!name)
        return;
    bool bad = false;
    const char *f = http_query(req, "force", &bad);
    bool force = f && (strcmp(f, "true") == 0 || strcmp(f, "1") == 0);
    if (bad || (f && !force && strcmp(f, "false") != 0 && strcmp(f, "0") != 0)) {
        http_resp_error(resp, 400, "force", "force: want true or false");
        return;
    }
    struct lh_app_dataset_removal rm;
    struct lh_error err;
    enum lh_status s = lh_app_dataset_remove(req->srv->set, req->srv->cat,
                                             req->srv->hooks.schedules, name, force, &rm, &err);
    if (s == LH_E_STATE) {
        json_t *ids = json_array();
        for (char *p = rm.schedules, *e; p && *p; p = e) {
            e = strchr(p, ',');
            if (e)
                *e++ = '\0';
            json_array_append_new(ids, json_string(p));
        }
        http_resp_json(resp, 409, json_pack("{s:s, s:o}", "error", err.msg, "schedules", ids));
        return;
    }
    if (s != LH_OK) {
        http_resp_status_error(resp, s, "name", err.msg);
        return;
    }
    json_t *ids = json_array();
    for (char *p = rm.schedules, *e; rm.paused && p && *p; p = e) {
        e = strchr(p, ',');
        if (e)
            *e++ = '\0';
        json_array_append_new(ids, json_string(p));
    }
    http_resp_json(resp, 200,
                   json_pack("{s:s, s:b, s:I, s:o}", "dataset", name, "removed", 1,
                             "objects_deleted", (json_int_t)rm.deleted, "paused_schedules", ids));
}

static const struct http_route routes[] = {
    {"GET", "/api/datasets", datasets_list, HTTP_BODY_NONE},
    {"GET", "/api/datasets/{name}", dataset_get, HTTP_BODY_NONE},
    {"GET", "/api/datasets/{name}/files", dataset_files, HTTP_BODY_NONE},
    {"POST", "/api/datasets/{name}/rollback", dataset_rollback, HTTP_BODY_JSON},
    {"DELETE", "/api/datasets/{name}", dataset_delete, HTTP_BODY_NONE},
    {"PATCH", "/api/datasets/{name}", dataset_patch, HTTP_BODY_JSON},
    {"GET", "/api/events", events_list, HTTP_BODY_NONE},
    {"POST", "/api/events/{event_id}/ack", event_ack_encoded, HTTP_BODY_NONE},
    {"POST", "/api/events/{dataset}/{event}/ack", event_ack, HTTP_BODY_NONE},
    {"GET", "/api/indexes", index_list, HTTP_BODY_NONE},
    {"POST", "/api/indexes", index_bind, HTTP_BODY_JSON},
    {"DELETE", "/api/indexes/{dataset}/{index}", index_unbind, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_catalog = {"catalog", routes,
                                                     sizeof routes / sizeof routes[0], NULL};
