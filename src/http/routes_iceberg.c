/*
 * routes_iceberg.c — the Iceberg REST Catalog API under /iceberg, read side
 * (apache/iceberg open-api/rest-catalog-open-api.yaml).
 *
 * One namespace, `lakehouse`, holds every dataset of the catalog that has
 * Iceberg metadata (a version-hint.text under datasets/{name}/metadata/).
 * Dataset names are unique across buckets (the catalog lives in `primary`),
 * so one flat namespace names every table whatever bucket holds it; the
 * metadata is looked for in `primary`, then in the bucket of the current
 * version's parts. Loading a table returns the metadata file that
 * version-hint.text names, byte for byte (spliced into the LoadTableResult,
 * never re-derived), with its absolute `metadata-location`.
 *
 * Tables change only through lakehouse's own ingests, so every write
 * endpoint of the spec answers 406 UnsupportedOperationException, the
 * spec's status for an operation the server does not support.
 *
 * Errors use the spec's IcebergErrorResponse shape
 * {"error":{"message","type","code"}}, the router's own answers under
 * /iceberg included (no token, no such path, a method the read side does
 * not have). Auth: the daemon's bearer token, checked by the router as on
 * /api.
 *
 * Handlers read through the server's store set and catalog, which any
 * thread may use (store.h, catalog.h).
 */
#include "http_int.h"

#include "iceberg/iceberg.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ICE_NAMESPACE "lakehouse"
#define ICE_METADATA_MAX (32u << 20) /* one metadata JSON file */
#define ICE_PAGE_MAX 1000

/* ------------------------------------------------------------ responses */

void http_iceberg_error(struct http_resp *resp, unsigned status, const char *type,
                        const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* messages may quote client bytes: jansson refuses invalid UTF-8 */
    json_t *m = json_string(msg);
    json_t *e = json_pack("{s:o, s:s, s:i}", "message", m ? m : json_string("invalid request"),
                          "type", type, "code", (int)status);
    http_resp_json(resp, status, json_pack("{s:o}", "error", e));
}

static void ice_status_error(struct http_resp *resp, const struct lh_error *err)
{
    switch (err->status) {
    case LH_E_FORMAT:
        http_iceberg_error(resp, 500, "InternalServerError", "unreadable Iceberg metadata: %s", err->msg);
        break;
    case LH_E_CONNECT:
    case LH_E_IO:
    case LH_E_TIMEOUT:
        http_iceberg_error(resp, 503, "ServiceUnavailableException", "store unavailable: %s", err->msg);
        break;
    default:
        http_iceberg_error(resp, 500, "InternalServerError", "%s", err->msg);
        break;
    }
}

/* Checks the {namespace} path parameter (levels separated by 0x1F).
 * false when a 4xx was written. */
static bool ice_namespace_ok(struct http_req *req, struct http_resp *resp)
{
    const char *ns = http_param(req, "namespace");
    if (ns && strcmp(ns, ICE_NAMESPACE) == 0)
        return true;
    char shown[200];
    size_t o = 0;
    for (const char *p = ns ? ns : ""; *p && o + 1 < sizeof shown; p++)
        shown[o++] = *p == 0x1f ? '.' : *p;
    shown[o] = '\0';
    http_iceberg_error(resp, 404, "NoSuchNamespaceException",
              "namespace does not exist: %s (this catalog has one namespace, " ICE_NAMESPACE ")",
              shown);
    return false;
}

/* ------------------------------------------------------------ locating */

struct ice_ctx {
    struct lh_store_set *set; /* the server's (borrowed) */
    struct lh_store *st; /* where the table's metadata is; borrowed from set */
    int64_t version;     /* current metadata version */
    char mkey[400];      /* the catalog version's metadata_location; "": version-hint's */
};

/* The server's store set (thread-safe, shared by every handler). */
static bool ice_open(struct http_req *req, struct http_resp *resp, struct ice_ctx *c)
{
    (void)resp;
    memset(c, 0, sizeof *c);
    c->set = req->srv->set;
    return true;
}

static void ice_close(struct ice_ctx *c)
{
    c->set = NULL;
}

/* Current metadata version of datasets/{name} in st; 0 when none. */
static enum lh_status ice_hint(struct lh_store *st, const char *name, int64_t *version,
                               struct lh_error *err)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "datasets/%s", name);
    *version = 0;
    enum lh_status s = lh_iceberg_version_hint_get(st, prefix, version, err);
    if (s == LH_E_NOTFOUND) {
        *version = 0;
        return LH_OK;
    }
    return s;
}

/* The bucket of the record's current parts, or NULL when primary/none. */
static const char *parts_bucket(const struct lh_catalog_record *r)
{
    const struct lh_catalog_version_info *v = lh_catalog_record_current(r);
    if (!v || v->nobjects == 0 || !v->objects[0].bucket)
        return NULL;
    return strcmp(v->objects[0].bucket, "primary") == 0 ? NULL : v->objects[0].bucket;
}

/* While listing, a table whose version-hint.text does not parse is left
 * out (with a warning) rather than failing the whole list. */
static bool skip_unreadable(bool listing, const char *name, const struct lh_error *err,
                            struct ice_ctx *c)
{
    if (!listing || (err->status != LH_E_FORMAT && err->status != LH_E_TOOBIG))
        return false;
    lh_warn("iceberg catalog: table %s left out of the list: %s", name, err->msg);
    c->version = 0;
    c->st = NULL;
    return true;
}

/* Finds dataset `name`'s Iceberg table: c->st and c->version set when it
 * has one (version 0 otherwise). A missing dataset is version 0 too.
 * false with a 5xx written when the catalog or the store fails. When
 * `known` is set the caller is listing: it knows the dataset exists, the
 * record is read only if primary has no metadata, and an unreadable
 * version hint counts as no table. */
static bool ice_find(struct http_req *req, struct http_resp *resp, struct ice_ctx *c,
                     const char *name, bool known)
{
    struct lh_error err;
    struct lh_store *primary = lh_store_set_primary(c->set);
    c->st = NULL;
    c->version = 0;
    c->mkey[0] = '\0';
    struct lh_catalog_record rec;
    memset(&rec, 0, sizeof rec);
    bool have_rec = false, ok = false;
    if (!known) {
        struct lh_catalog *cat = req->srv->cat;
        enum lh_status s = lh_catalog_dataset_get(cat, name, &rec, &err);
        if (s == LH_E_NOTFOUND)
            return true;
        if (s != LH_OK) {
            ice_status_error(resp, &err);
            return false;
        }
        have_rec = true;
        /* the catalog's current version names its metadata: exactly the
         * catalog's state, even before version-hint.text moved */
        const struct lh_catalog_version_info *cv = lh_catalog_record_current(&rec);
        if (cv && cv->metadata_location && strlen(cv->metadata_location) < sizeof c->mkey) {
            snprintf(c->mkey, sizeof c->mkey, "%s", cv->metadata_location);
            c->version = (int64_t)cv->version;
            c->st = primary;
            ok = true;
            goto done;
        }
    }
    if (ice_hint(primary, name, &c->version, &err) != LH_OK) {
        ok = skip_unreadable(known, name, &err, c);
        if (!ok)
            ice_status_error(resp, &err);
        goto done;
    }
    if (c->version > 0) {
        c->st = primary;
        ok = true;
        goto done;
    }
    if (!have_rec) {
        struct lh_catalog *cat = req->srv->cat;
        enum lh_status s = lh_catalog_dataset_get(cat, name, &rec, &err);
        if (s == LH_E_NOTFOUND) {
            ok = true;
            goto done;
        }
        if (s != LH_OK) {
            ice_status_error(resp, &err);
            goto done;
        }
        have_rec = true;
    }
    const char *bucket = parts_bucket(&rec);
    struct lh_store *other = NULL;
    if (bucket && lh_store_set_get(c->set, bucket, &other, &err) == LH_OK) {
        if (ice_hint(other, name, &c->version, &err) != LH_OK) {
            ok = skip_unreadable(known, name, &err, c);
            if (!ok)
                ice_status_error(resp, &err);
            goto done;
        }
        if (c->version > 0)
            c->st = other;
    }
    ok = true;
done:
    if (have_rec)
        lh_catalog_record_reset(&rec);
    return ok;
}

/* The {table} parameter checked, and its table found. false when an
 * answer (400/404/5xx) was written; true with c->st/c->version set. */
static bool ice_table(struct http_req *req, struct http_resp *resp, struct ice_ctx *c,
                      const char **name_out)
{
    const char *name = http_param(req, "table");
    struct lh_error err;
    if (!name || lh_store_name_check(name, &err) != LH_OK) {
        http_iceberg_error(resp, 400, "BadRequestException", "invalid table name: %s",
                  name ? err.msg : "missing");
        return false;
    }
    if (!ice_open(req, resp, c))
        return false;
    if (!ice_find(req, resp, c, name, false))
        return false;
    if (c->version <= 0) {
        http_iceberg_error(resp, 404, "NoSuchTableException",
                  "table does not exist: " ICE_NAMESPACE ".%s (no dataset of that name has "
                  "Iceberg metadata)",
                  name);
        return false;
    }
    *name_out = name;
    return true;
}

/* ------------------------------------------------------------ handlers */

static void config_get(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    /* The `warehouse` query parameter is accepted and ignored: one daemon
     * serves one catalog. No `prefix`: routes are /iceberg/v1/namespaces/… */
    json_t *endpoints = json_pack("[s,s,s,s,s,s,s,s]", "GET /v1/{prefix}/namespaces",
                                  "GET /v1/{prefix}/namespaces/{namespace}",
                                  "HEAD /v1/{prefix}/namespaces/{namespace}",
                                  "GET /v1/{prefix}/namespaces/{namespace}/tables",
                                  "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
                                  "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
                                  "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
                                  "GET /v1/{prefix}/namespaces/{namespace}/views");
    http_resp_json(resp, 200,
                   json_pack("{s:{}, s:{}, s:o}", "defaults", "overrides", "endpoints", endpoints));
}

static void namespaces_list(struct http_req *req, struct http_resp *resp)
{
    bool bad = false;
    const char *parent = http_query(req, "parent", &bad);
    if (bad) {
        http_iceberg_error(resp, 400, "BadRequestException", "malformed percent-encoding in parent");
        return;
    }
    if (parent && parent[0]) {
        if (strcmp(parent, ICE_NAMESPACE) != 0) {
            http_iceberg_error(resp, 404, "NoSuchNamespaceException",
                      "namespace does not exist: %s (this catalog has one namespace, " ICE_NAMESPACE
                      ")",
                      parent);
            return;
        }
        http_resp_json(resp, 200, json_pack("{s:[]}", "namespaces"));
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:[[s]]}", "namespaces", ICE_NAMESPACE));
}

static void namespace_get(struct http_req *req, struct http_resp *resp)
{
    if (!ice_namespace_ok(req, resp))
        return;
    http_resp_json(resp, 200,
                   json_pack("{s:[s], s:{s:s}}", "namespace", ICE_NAMESPACE, "properties",
                             "comment", "lakehouse datasets that have Iceberg metadata"));
}

/* 204 when the namespace is ours: HEAD of the namespace, and the scan
 * metrics a client reports after reading (accepted and discarded). */
static void namespace_no_content(struct http_req *req, struct http_resp *resp)
{
    if (!ice_namespace_ok(req, resp))
        return;
    http_resp_text(resp, 204, NULL, "", 0);
}

static void tables_list(struct http_req *req, struct http_resp *resp)
{
    if (!ice_namespace_ok(req, resp))
        return;
    bool bad = false;
    struct lh_error err;
    const char *token = http_query(req, "pageToken", &bad);
    const char *size_s = http_query(req, "pageSize", &bad);
    int64_t page = 0;
    if (bad || (token && token[0] && lh_store_name_check(token, &err) != LH_OK)) {
        http_iceberg_error(resp, 400, "BadRequestException", "malformed pageToken");
        return;
    }
    if (size_s && (!lh_parse_i64(size_s, &page) || page < 1 || page > ICE_PAGE_MAX)) {
        http_iceberg_error(resp, 400, "BadRequestException", "pageSize must be an integer from 1 to %d",
                  ICE_PAGE_MAX);
        return;
    }
    struct lh_catalog *cat = req->srv->cat;
    struct lh_catalog_summary *s = NULL;
    size_t n = 0;
    enum lh_status st = lh_catalog_list(cat, &s, &n, &err);
    if (st != LH_OK) {
        ice_status_error(resp, &err);
        return;
    }
    struct ice_ctx c;
    if (!ice_open(req, resp, &c)) {
        free(s);
        return;
    }
    json_t *ids = json_array();
    const char *last = NULL;
    size_t taken = 0;
    bool failed = false, more = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i].error[0])
            continue; /* an unreadable record is no table */
        /* the list is sorted by name: the token is the last name served */
        if (token && token[0] && strcmp(s[i].name, token) <= 0)
            continue;
        if (!ice_find(req, resp, &c, s[i].name, true)) {
            failed = true;
            break;
        }
        if (c.version <= 0)
            continue;
        if (page > 0 && taken == (size_t)page) {
            more = true;
            break;
        }
        json_array_append_new(
            ids, json_pack("{s:[s], s:s}", "namespace", ICE_NAMESPACE, "name", s[i].name));
        last = s[i].name;
        taken++;
    }
    if (!failed) {
        json_t *doc = json_pack("{s:O}", "identifiers", ids);
        if (more && last)
            json_object_set_new(doc, "next-page-token", json_string(last));
        http_resp_json(resp, 200, doc);
    }
    json_decref(ids);
    ice_close(&c);
    free(s);
}

static void table_load(struct http_req *req, struct http_resp *resp)
{
    if (!ice_namespace_ok(req, resp))
        return;
    struct ice_ctx c = {0};
    const char *name = NULL;
    uint8_t *raw = NULL;
    json_t *meta = NULL;
    char *loc_json = NULL;
    struct lh_error err;
    if (!ice_table(req, resp, &c, &name))
        goto done;
    /* metadata files never change once written; a retention pass may
     * delete the one just named, so read the hint again when it is gone */
    char key[400];
    size_t len = 0;
    for (int attempt = 0;; attempt++) {
        if (c.mkey[0])
            snprintf(key, sizeof key, "%s", c.mkey);
        else
            snprintf(key, sizeof key, "datasets/%s/metadata/v%lld.metadata.json", name,
                     (long long)c.version);
        enum lh_status s = lh_store_get(c.st, key, ICE_METADATA_MAX, &raw, &len, NULL, &err);
        if (s == LH_OK)
            break;
        if (s != LH_E_NOTFOUND || attempt == 2) {
            ice_status_error(resp, &err);
            goto done;
        }
        if (c.mkey[0]) { /* retention removed it: a newer version is current */
            if (!ice_find(req, resp, &c, name, false))
                goto done;
            continue;
        }
        int64_t before = c.version;
        if (ice_hint(c.st, name, &c.version, &err) != LH_OK) {
            ice_status_error(resp, &err);
            goto done;
        }
        if (c.version == before || c.version <= 0) {
            http_iceberg_error(resp, 500, "InternalServerError",
                      "table %s: version-hint.text names metadata v%lld, which is missing", name,
                      (long long)before);
            goto done;
        }
    }
    json_error_t je;
    meta = json_loadb((const char *)raw, len, 0, &je);
    const char *location = json_string_value(json_object_get(meta, "location"));
    if (!json_is_object(meta) || !location) {
        http_iceberg_error(resp, 500, "InternalServerError",
                  "table %s: metadata v%lld is not table metadata JSON with a location", name,
                  (long long)c.version);
        goto done;
    }
    char mloc[2048];
    const char *base = strrchr(key, '/');
    int w = snprintf(mloc, sizeof mloc, "%s/metadata/%s", location, base ? base + 1 : key);
    json_t *ls = w > 0 && (size_t)w < sizeof mloc ? json_string(mloc) : NULL;
    loc_json = ls ? json_dumps(ls, JSON_ENCODE_ANY) : NULL;
    json_decref(ls);
    if (!loc_json) {
        http_iceberg_error(resp, 500, "InternalServerError", "table %s: location too long", name);
        goto done;
    }
    while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == ' ' || raw[len - 1] == '\r' ||
                       raw[len - 1] == '\t'))
        len--;
    /* LoadTableResult with the stored metadata byte for byte */
    lh_buf_clear(&resp->body);
    lh_buf_append_str(&resp->body, "{\"metadata-location\":");
    lh_buf_append_str(&resp->body, loc_json);
    lh_buf_append_str(&resp->body, ",\"metadata\":");
    lh_buf_append(&resp->body, raw, len);
    lh_buf_append_str(&resp->body, ",\"config\":{}}\n");
    if (!lh_buf_ok(&resp->body)) {
        http_iceberg_error(resp, 500, "InternalServerError", "table %s: metadata too large to send", name);
        goto done;
    }
    resp->status = 200;
    resp->content_type = "application/json";
done:
    free(loc_json);
    json_decref(meta);
    free(raw);
    ice_close(&c);
}

static void table_head(struct http_req *req, struct http_resp *resp)
{
    if (!ice_namespace_ok(req, resp))
        return;
    struct ice_ctx c = {0};
    const char *name;
    if (ice_table(req, resp, &c, &name))
        http_resp_text(resp, 204, NULL, "", 0);
    ice_close(&c);
}

static void views_list(struct http_req *req, struct http_resp *resp)
{
    if (!ice_namespace_ok(req, resp))
        return;
    http_resp_json(resp, 200, json_pack("{s:[]}", "identifiers"));
}

static void read_only(struct http_req *req, struct http_resp *resp)
{
    http_iceberg_error(resp, 406, "UnsupportedOperationException",
              "the lakehouse Iceberg catalog is read-only: %s %s is not supported; datasets "
              "change only through lakehouse ingests (schedules, POST /api/ingest)",
              strlen(req->method) < 16 ? req->method : "?",
              strlen(req->raw_path) < 300 ? req->raw_path : "this path");
}

static const struct http_route routes[] = {
    {"GET", "/iceberg/v1/config", config_get, HTTP_BODY_NONE},
    {"GET", "/iceberg/v1/namespaces", namespaces_list, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/namespaces", read_only, HTTP_BODY_NONE},
    {"GET", "/iceberg/v1/namespaces/{namespace}", namespace_get, HTTP_BODY_NONE},
    {"HEAD", "/iceberg/v1/namespaces/{namespace}", namespace_no_content, HTTP_BODY_NONE},
    {"DELETE", "/iceberg/v1/namespaces/{namespace}", read_only, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/namespaces/{namespace}/properties", read_only, HTTP_BODY_NONE},
    {"GET", "/iceberg/v1/namespaces/{namespace}/tables", tables_list, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/namespaces/{namespace}/tables", read_only, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/namespaces/{namespace}/register", read_only, HTTP_BODY_NONE},
    {"GET", "/iceberg/v1/namespaces/{namespace}/tables/{table}", table_load, HTTP_BODY_NONE},
    {"HEAD", "/iceberg/v1/namespaces/{namespace}/tables/{table}", table_head, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/namespaces/{namespace}/tables/{table}", read_only, HTTP_BODY_NONE},
    {"DELETE", "/iceberg/v1/namespaces/{namespace}/tables/{table}", read_only, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/namespaces/{namespace}/tables/{table}/metrics", namespace_no_content,
     HTTP_BODY_NONE},
    {"GET", "/iceberg/v1/namespaces/{namespace}/views", views_list, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/tables/rename", read_only, HTTP_BODY_NONE},
    {"POST", "/iceberg/v1/transactions/commit", read_only, HTTP_BODY_NONE},
};

const struct http_route_table http_routes_iceberg = {"iceberg", routes,
                                                     sizeof routes / sizeof routes[0], NULL};
