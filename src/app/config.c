/*
 * config.c — the settings of `lakehouse serve`: defaults, then a JSON file,
 * then LAKEHOUSE_* environment variables; the CLI applies flags last.
 *
 * Every string the config owns lives in its arena, so a config is freed
 * whole with lh_app_config_reset. The file is untrusted input in the sense
 * that it is checked field by field: a wrong type or an unknown key is an
 * error naming the key, never silently ignored.
 */
#include "app_int.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void lh_app_config_init(struct lh_app_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = LH_APP_DEFAULT_LISTEN;
    c->open_routes = LH_APP_OPEN_HEALTH | LH_APP_OPEN_METRICS;
    c->body_limit = LH_APP_DEFAULT_BODY_LIMIT;
    c->sweep_after_secs = -1;
    lh_arena_init(&c->arena, 1u << 20);
}

void lh_app_config_reset(struct lh_app_config *c)
{
    lh_arena_reset(&c->arena); /* the strings it held are gone: back to the defaults */
    lh_app_config_init(c);
}

const char *lh_app_config_strdup(struct lh_app_config *c, const char *s)
{
    return s ? lh_arena_strndup(&c->arena, s, strlen(s)) : NULL;
}

static enum lh_status set_str(struct lh_app_config *c, const char **slot, const char *v,
                              const char *what, struct lh_error *err)
{
    const char *d = lh_app_config_strdup(c, v);
    if (!d)
        return lh_error_set(err, LH_E_NOMEM, "%s: out of memory", what);
    *slot = d;
    return LH_OK;
}

/* "name", "name:port", "1.2.3.4:port", "[v6]:port" or "*". */
static bool host_entry_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 255)
        return false;
    if (strcmp(h, "*") == 0)
        return true;
    const char *end = h + n, *port = NULL;
    if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        if (!rb || rb == h + 1)
            return false;
        for (const char *p = h + 1; p < rb; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
                  *p == ':' || *p == '.'))
                return false;
        if (rb[1] != '\0' && rb[1] != ':')
            return false;
        port = rb[1] == ':' ? rb + 2 : NULL;
    } else {
        const char *colon = strchr(h, ':');
        const char *nend = colon ? colon : end;
        if (nend == h)
            return false;
        for (const char *p = h; p < nend; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '.' || *p == '-' || *p == '_'))
                return false;
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        int64_t v;
        if (!lh_parse_i64(port, &v) || v < 1 || v > 65535)
            return false;
    }
    return true;
}

enum lh_status lh_app_config_allow_host(struct lh_app_config *c, const char *host,
                                         struct lh_error *err)
{
    if (!host_entry_ok(host))
        return lh_error_set(err, LH_E_INVAL,
                            "allowed_hosts: '%.80s' is not a host name, IP address or "
                            "[IPv6] address with an optional :port (or \"*\")",
                            host);
    if (c->nallowed_hosts >= 256)
        return lh_error_set(err, LH_E_INVAL, "allowed_hosts: at most 256 entries");
    const char **list = lh_arena_alloc(&c->arena, (c->nallowed_hosts + 1) * sizeof *list);
    const char *d = lh_app_config_strdup(c, host);
    if (!list || !d)
        return lh_error_set(err, LH_E_NOMEM, "allowed_hosts: out of memory");
    if (c->nallowed_hosts)
        memcpy(list, c->allowed_hosts, c->nallowed_hosts * sizeof *list);
    list[c->nallowed_hosts++] = d;
    c->allowed_hosts = list;
    return LH_OK;
}

static enum lh_status read_token_file(struct lh_app_config *c, const char *path,
                                      struct lh_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    enum lh_status s = lh_file_read_all(path, 4096, &data, &len, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "token file");
        return s;
    }
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = '\0';
    s = set_str(c, &c->token, (const char *)data, "token file", err);
    free(data);
    return s;
}

static enum lh_status parse_open(struct lh_app_config *c, const char *v, struct lh_error *err)
{
    if (strcmp(v, "/api/health") == 0)
        c->open_routes |= LH_APP_OPEN_HEALTH;
    else if (strcmp(v, "/metrics") == 0)
        c->open_routes |= LH_APP_OPEN_METRICS;
    else if (strcmp(v, "/api/openapi.json") == 0)
        c->open_routes |= LH_APP_OPEN_OPENAPI;
    else
        return lh_error_set(err, LH_E_INVAL,
                            "auth_open: '%s' cannot be opened (only /api/health, /metrics, "
                            "/api/openapi.json)",
                            v);
    return LH_OK;
}

static enum lh_status parse_log_format(struct lh_app_config *c, const char *v,
                                       struct lh_error *err)
{
    if (strcmp(v, "json") == 0)
        c->log_json = true;
    else if (strcmp(v, "text") == 0)
        c->log_json = false;
    else
        return lh_error_set(err, LH_E_INVAL, "log format must be text or json, not '%s'", v);
    return LH_OK;
}

/* Hands each string of v, the array of key k (want says what k takes), to
 * add; an error when v is no array or holds anything but strings. */
static enum lh_status each_str(struct lh_app_config *c, const char *k, json_t *v, const char *want,
                               enum lh_status (*add)(struct lh_app_config *, const char *,
                                                     struct lh_error *),
                               struct lh_error *err)
{
    size_t i;
    json_t *e;
    if (!json_is_array(v))
        return lh_error_set(err, LH_E_INVAL, "config key \"%s\": expected %s", k, want);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return lh_error_set(err, LH_E_INVAL, "%s: expected strings", k);
        enum lh_status s = add(c, json_string_value(e), err);
        if (s != LH_OK)
            return s;
    }
    return LH_OK;
}

/* A non-negative integer up to max, from a JSON integer or, for sizes, a
 * string like "1MiB". */
static enum lh_status get_uint(json_t *v, const char *key, uint64_t max, bool size, uint64_t *out,
                               struct lh_error *err)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        (uint64_t)json_integer_value(v) <= max) {
        *out = (uint64_t)json_integer_value(v);
        return LH_OK;
    }
    if (size && json_is_string(v) && lh_parse_size(json_string_value(v), out) && *out <= max)
        return LH_OK;
    return lh_error_set(err, LH_E_INVAL, "config key \"%s\": expected %s up to %" PRIu64, key,
                        size ? "a size (bytes or \"1MiB\")" : "a non-negative integer", max);
}

/* A numeric key of a config section: its cap, whether it takes a size
 * ("1MiB"), and the field it goes to (the one pointer set). */
struct num_key {
    const char *key;
    uint64_t max;
    bool size;
    unsigned *u;
    uint64_t *u64;
    size_t *z;
};

/* v as the key k of section (named so in errors) when the table t has it;
 * *found false when it does not. */
static enum lh_status get_num(const struct num_key *t, size_t n, const char *section, const char *k,
                              json_t *v, bool *found, struct lh_error *err)
{
    *found = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k, t[i].key) != 0)
            continue;
        *found = true;
        char name[96];
        snprintf(name, sizeof name, "%s%s%s", section, *section ? "." : "", k);
        uint64_t x;
        enum lh_status s = get_uint(v, name, t[i].max, t[i].size, &x, err);
        if (s != LH_OK)
            return s;
        if (t[i].u)
            *t[i].u = (unsigned)x;
        else if (t[i].u64)
            *t[i].u64 = x;
        else
            *t[i].z = (size_t)x;
        return LH_OK;
    }
    return LH_OK;
}

#define NUM_KEYS(t) (t), sizeof(t) / sizeof((t)[0])

/* A section of numeric keys (table t); path_key (may be NULL) names its one
 * key that takes a path, kept in *path. */
static enum lh_status load_section(struct lh_app_config *c, json_t *o, const char *section,
                                   const struct num_key *t, size_t n, const char *path_key,
                                   const char **path, struct lh_error *err)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return lh_error_set(err, LH_E_INVAL, "config key \"%s\": expected an object", section);
    json_object_foreach(o, k, v)
    {
        bool num;
        enum lh_status s = get_num(t, n, section, k, v, &num, err);
        if (s != LH_OK)
            return s;
        if (num)
            continue;
        if (!path_key || strcmp(k, path_key) != 0)
            return lh_error_set(err, LH_E_INVAL, "unknown config key \"%s.%s\"", section, k);
        char name[64];
        snprintf(name, sizeof name, "%s.%s", section, k);
        if (!json_is_string(v))
            return lh_error_set(err, LH_E_INVAL, "config key \"%s\": expected a path", name);
        if ((s = set_str(c, path, json_string_value(v), name, err)) != LH_OK)
            return s;
    }
    return LH_OK;
}

/* "sql": {"memory_limit": "1GiB", "threads": 2, "timeout_ms": 30000,
 *         "max_rows": 100000, "cache_dir": "/var/cache/lakehouse/sql"} */
static enum lh_status load_sql(struct lh_app_config *c, json_t *o, struct lh_error *err)
{
    const struct num_key nums[] = {
        {"memory_limit", (uint64_t)1 << 50, true, NULL, &c->sql_memory_limit, NULL},
        {"threads", 1024, false, &c->sql_threads, NULL, NULL},
        {"timeout_ms", 86400000, false, &c->sql_timeout_ms, NULL, NULL},
        {"max_rows", (uint64_t)1 << 40, false, NULL, &c->sql_max_rows, NULL}};
    return load_section(c, o, "sql", NUM_KEYS(nums), "cache_dir", &c->sql_cache_dir, err);
}

static enum lh_status load_http(struct lh_app_config *c, json_t *o, struct lh_error *err)
{
    const struct num_key nums[] = {
        {"threads", 256, false, &c->threads, NULL, NULL},
        {"connection_limit", 1000000, false, &c->connection_limit, NULL, NULL},
        {"per_ip_limit", 1000000, false, &c->per_ip_limit, NULL, NULL},
        {"timeout_secs", 86400, false, &c->timeout_secs, NULL, NULL},
        {"shutdown_secs", 86400, false, &c->shutdown_secs, NULL, NULL},
        {"sql_workers", 256, false, &c->sql_workers, NULL, NULL},
        {"sql_queue", 100000, false, &c->sql_queue, NULL, NULL},
        {"connection_memory", 16u << 20, true, NULL, NULL, &c->connection_memory}};
    return load_section(c, o, "http", NUM_KEYS(nums), NULL, NULL, err);
}

/* The key of a webhook's secret: read from its file, trailing newline
 * and blanks dropped. Never quoted in an error. */
static enum lh_status read_secret_file(struct lh_app_config *c, const char *path,
                                       const char **out, const char *what, struct lh_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    enum lh_status s = lh_file_read_all(path, 4096, &data, &len, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "%s.secret_file", what);
        return s;
    }
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = '\0';
    if (len == 0 || memchr(data, '\0', len))
        s = lh_error_set(err, LH_E_INVAL, "%s.secret_file %s: empty or not text", what, path);
    else
        s = set_str(c, out, (const char *)data, what, err);
    lh_schedule_wipe(data, len);
    free(data);
    return s;
}

/* A URL a webhook may POST to: http:// or https://, a host, no blanks or
 * control bytes. */
static bool webhook_url_ok(const char *u)
{
    const char *rest = strncmp(u, "http://", 7) == 0    ? u + 7
                       : strncmp(u, "https://", 8) == 0 ? u + 8
                                                        : NULL;
    if (!rest || !*rest || *rest == '/' || strlen(u) > 2048)
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* "webhooks": [{"url": "https://...", "secret": "..." | "secret_file": PATH,
 *               "events": ["run_failed", ...], "schedules": ["orders-*"],
 *               "timeout_secs": 10, "max_attempts": 5}] (docs/webhooks.md). */
static enum lh_status load_webhooks(struct lh_app_config *c, json_t *a, struct lh_error *err)
{
    size_t i;
    json_t *o;
    if (!json_is_array(a))
        return lh_error_set(err, LH_E_INVAL,
                            "config key \"webhooks\": expected an array of objects");
    if (json_array_size(a) > LH_APP_WEBHOOKS_MAX)
        return lh_error_set(err, LH_E_INVAL, "config key \"webhooks\": at most %d webhooks",
                            LH_APP_WEBHOOKS_MAX);
    struct lh_app_webhook *list =
        lh_arena_alloc(&c->arena, (json_array_size(a) ? json_array_size(a) : 1) * sizeof *list);
    if (!list)
        return lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
    json_array_foreach(a, i, o)
    {
        struct lh_app_webhook *h = &list[i];
        char what[32];
        const char *k;
        json_t *v;
        enum lh_status s;
        bool num;
        memset(h, 0, sizeof *h);
        snprintf(what, sizeof what, "webhooks[%zu]", i);
        if (!json_is_object(o))
            return lh_error_set(err, LH_E_INVAL, "config key \"%s\": expected an object", what);
        const struct num_key nums[] = {{"timeout_secs", 300, false, &h->timeout_secs, NULL, NULL},
                                       {"max_attempts", 20, false, &h->max_attempts, NULL, NULL}};
        json_object_foreach(o, k, v)
        {
            if ((s = get_num(NUM_KEYS(nums), what, k, v, &num, err)) != LH_OK)
                return s;
            if (num) {
                if (json_integer_value(v) == 0) /* 0 would mean the default */
                    return lh_error_set(err, LH_E_INVAL, "config key \"%s.%s\": at least 1", what,
                                        k);
            } else if (strcmp(k, "url") == 0) {
                if (!json_is_string(v) || !webhook_url_ok(json_string_value(v)))
                    return lh_error_set(err, LH_E_INVAL,
                                        "config key \"%s.url\": expected an http:// or "
                                        "https:// URL",
                                        what);
                if ((s = set_str(c, &h->url, json_string_value(v), what, err)) != LH_OK)
                    return s;
            } else if (strcmp(k, "secret") == 0) {
                if (!json_is_string(v) || !json_string_value(v)[0])
                    return lh_error_set(err, LH_E_INVAL,
                                        "config key \"%s.secret\": expected a non-empty string",
                                        what);
                if (h->secret)
                    return lh_error_set(err, LH_E_INVAL,
                                        "%s: give \"secret\" or \"secret_file\", not both", what);
                if ((s = set_str(c, &h->secret, json_string_value(v), what, err)) != LH_OK)
                    return s;
            } else if (strcmp(k, "secret_file") == 0) {
                if (!json_is_string(v))
                    return lh_error_set(err, LH_E_INVAL,
                                        "config key \"%s.secret_file\": expected a path", what);
                if (h->secret)
                    return lh_error_set(err, LH_E_INVAL,
                                        "%s: give \"secret\" or \"secret_file\", not both", what);
                if ((s = read_secret_file(c, json_string_value(v), &h->secret, what, err)) !=
                    LH_OK)
                    return s;
            } else if (strcmp(k, "events") == 0) {
                size_t j;
                json_t *e;
                if (!json_is_array(v) || json_array_size(v) == 0)
                    return lh_error_set(err, LH_E_INVAL,
                                        "config key \"%s.events\": expected a non-empty array "
                                        "of event names (or leave it out: every event)",
                                        what);
                json_array_foreach(v, j, e)
                {
                    unsigned bit = json_is_string(e)
                                       ? lh_app_webhook_event_parse(json_string_value(e))
                                       : 0;
                    if (!bit)
                        return lh_error_set(
                            err, LH_E_INVAL,
                            "config key \"%s.events\": unknown event \"%.80s\" (known: "
                            "run_failed, run_recovered, schedule_paused, schema_changed)",
                            what, json_is_string(e) ? json_string_value(e) : "(not a string)");
                    h->events |= bit;
                }
            } else if (strcmp(k, "schedules") == 0) {
                size_t j;
                json_t *e;
                if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000)
                    return lh_error_set(err, LH_E_INVAL,
                                        "config key \"%s.schedules\": expected 1 to 1000 schedule "
                                        "ids or patterns (or leave it out: every schedule)",
                                        what);
                const char **pat = lh_arena_alloc(&c->arena, json_array_size(v) * sizeof *pat);
                if (!pat)
                    return lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
                json_array_foreach(v, j, e)
                {
                    const char *p = json_is_string(e) ? json_string_value(e) : NULL;
                    if (!p || !p[0] || strlen(p) > 200)
                        return lh_error_set(err, LH_E_INVAL,
                                            "config key \"%s.schedules\": expected non-empty "
                                            "strings (ids or patterns like \"orders-*\")",
                                            what);
                    if (!(pat[j] = lh_app_config_strdup(c, p)))
                        return lh_error_set(err, LH_E_NOMEM, "webhooks: out of memory");
                }
                h->schedules = pat;
                h->nschedules = json_array_size(v);
            } else {
                return lh_error_set(err, LH_E_INVAL,
                                    "unknown config key \"%s.%.80s\" (known: url, secret, "
                                    "secret_file, events, schedules, timeout_secs, "
                                    "max_attempts)",
                                    what, k);
            }
        }
        if (!h->url)
            return lh_error_set(err, LH_E_INVAL, "config key \"%s\": \"url\" is required", what);
        if (!h->secret)
            return lh_error_set(err, LH_E_INVAL,
                                "config key \"%s\": \"secret\" (or \"secret_file\") is "
                                "required: every delivery is signed with it",
                                what);
        if (!h->events)
            h->events = LH_APP_WEBHOOK_ALL;
    }
    c->webhooks = list;
    c->nwebhooks = json_array_size(a);
    return LH_OK;
}

enum lh_status lh_app_config_load(struct lh_app_config *c, const char *path, struct lh_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    enum lh_status s = lh_file_read_all(path, 1u << 20, &data, &len, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "config");
        return s;
    }
    json_error_t jerr;
    root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        s = lh_error_set(err, LH_E_FORMAT, "config %s: %s (line %d)", path,
                         root ? "expected a JSON object" : jerr.text, jerr.line);
        goto fail;
    }
    const char *k;
    json_t *v;
    const struct num_key nums[] = {
        {"workers", 1024, false, &c->workers, NULL, NULL},
        {"grace_secs", 86400, false, &c->grace_secs, NULL, NULL},
        {"ingest_timeout_secs", 86400, false, &c->ingest_timeout_secs, NULL, NULL}};
    json_object_foreach(root, k, v)
    {
        uint64_t n;
        bool num;
        if ((s = get_num(NUM_KEYS(nums), "", k, v, &num, err)) != LH_OK)
            goto fail;
        const char **slot = strcmp(k, "listen") == 0            ? &c->listen
                            : strcmp(k, "data") == 0            ? &c->data_dir
                            : strcmp(k, "store") == 0           ? &c->store_url
                            : strcmp(k, "token") == 0           ? &c->token
                            : strcmp(k, "secret_key_path") == 0 ? &c->secret_key_path
                                                                : NULL;
        /* the keys whose value is a section of its own */
        enum lh_status (*section)(struct lh_app_config *, json_t *, struct lh_error *) =
            strcmp(k, "sql") == 0        ? load_sql
            : strcmp(k, "http") == 0     ? load_http
            : strcmp(k, "webhooks") == 0 ? load_webhooks
                                         : NULL;
        if (num)
            continue; /* one of nums */
        if ((slot || strcmp(k, "token_file") == 0 || strcmp(k, "log_format") == 0) &&
            !json_is_string(v)) {
            s = lh_error_set(err, LH_E_INVAL, "config key \"%s\": expected a string", k);
            goto fail;
        }
        if (slot) {
            if ((s = set_str(c, slot, json_string_value(v), k, err)) != LH_OK)
                goto fail;
        } else if (strcmp(k, "token_file") == 0) {
            if ((s = read_token_file(c, json_string_value(v), err)) != LH_OK)
                goto fail;
        } else if (strcmp(k, "buckets") == 0) {
            /* the store module reads this same file for its buckets */
            if (!json_is_object(v)) {
                s = lh_error_set(err, LH_E_INVAL, "config key \"buckets\": expected an object");
                goto fail;
            }
            if ((s = set_str(c, &c->buckets_config, path, k, err)) != LH_OK)
                goto fail;
        } else if (strcmp(k, "log_format") == 0) {
            if ((s = parse_log_format(c, json_string_value(v), err)) != LH_OK)
                goto fail;
        } else if (strcmp(k, "auth_open") == 0) {
            c->open_routes = 0;
            if ((s = each_str(c, k, v, "an array", parse_open, err)) != LH_OK)
                goto fail;
        } else if (strcmp(k, "body_limit") == 0) {
            if ((s = get_uint(v, k, 1u << 30, true, &n, err)) != LH_OK)
                goto fail;
            c->body_limit = n ? (size_t)n : LH_APP_DEFAULT_BODY_LIMIT;
        } else if (strcmp(k, "sweep_after_secs") == 0) {
            if ((s = get_uint(v, k, 86400 * 365, false, &n, err)) != LH_OK)
                goto fail;
            c->sweep_after_secs = (int64_t)n;
        } else if (strcmp(k, "allowed_hosts") == 0) {
            c->allowed_hosts = NULL;
            c->nallowed_hosts = 0;
            if ((s = each_str(c, k, v, "an array of strings", lh_app_config_allow_host, err)) !=
                LH_OK)
                goto fail;
        } else if (strcmp(k, "retention") == 0) {
            json_t *kv = json_object_get(v, "keep_versions");
            if (!json_is_object(v) || json_object_size(v) != 1 || !kv) {
                s = lh_error_set(err, LH_E_INVAL,
                                 "config key \"retention\": expected {\"keep_versions\": N}");
                goto fail;
            }
            if ((s = get_uint(kv, "retention.keep_versions", 100000, false, &n, err)) != LH_OK)
                goto fail;
            c->keep_versions = (unsigned)n;
        } else if (section) {
            if ((s = section(c, v, err)) != LH_OK)
                goto fail;
        } else {
            s = lh_error_set(err, LH_E_INVAL, "unknown config key \"%s\"", k);
            goto fail;
        }
    }
    s = LH_OK;
fail:
    if (s != LH_OK && err && !strstr(err->msg, path))
        lh_error_prefix(err, "config %s", path);
    json_decref(root);
    free(data);
    return s;
}

enum lh_status lh_app_config_apply_env(struct lh_app_config *c, struct lh_error *err)
{
    static const struct {
        const char *env;
        size_t off;
    } strs[] = {
        {"LAKEHOUSE_LISTEN", offsetof(struct lh_app_config, listen)},
        {"LAKEHOUSE_DATA", offsetof(struct lh_app_config, data_dir)},
        {"LAKEHOUSE_STORE", offsetof(struct lh_app_config, store_url)},
        {"LAKEHOUSE_TOKEN", offsetof(struct lh_app_config, token)},
        {"LAKEHOUSE_SECRET_KEY_FILE", offsetof(struct lh_app_config, secret_key_path)},
    };
    enum lh_status s;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const char *v = getenv(strs[i].env);
        if (v && *v &&
            (s = set_str(c, (const char **)((char *)c + strs[i].off), v, strs[i].env, err)) !=
                LH_OK)
            return s;
    }
    const char *v;
    if ((v = getenv("LAKEHOUSE_TOKEN_FILE")) && *v && !getenv("LAKEHOUSE_TOKEN") &&
        (s = read_token_file(c, v, err)) != LH_OK)
        return s;
    if ((v = getenv("LAKEHOUSE_LOG_FORMAT")) && *v && (s = parse_log_format(c, v, err)) != LH_OK)
        return s;
    uint64_t n;
    if ((v = getenv("LAKEHOUSE_BODY_LIMIT")) && *v) {
        if (!lh_parse_size(v, &n) || n == 0 || n > (1u << 30))
            return lh_error_set(err, LH_E_INVAL, "LAKEHOUSE_BODY_LIMIT: bad size '%s'", v);
        c->body_limit = (size_t)n;
    }
    int64_t i64;
    if ((v = getenv("LAKEHOUSE_WORKERS")) && *v) {
        if (!lh_parse_i64(v, &i64) || i64 < 0 || i64 > 1024)
            return lh_error_set(err, LH_E_INVAL, "LAKEHOUSE_WORKERS: bad number '%s'", v);
        c->workers = (unsigned)i64;
    }
    if ((v = getenv("LAKEHOUSE_ALLOWED_HOSTS")) && *v) {
        c->allowed_hosts = NULL;
        c->nallowed_hosts = 0;
        for (const char *p = v; *p;) {
            size_t len = strcspn(p, ",");
            char one[256];
            if (len >= sizeof one)
                return lh_error_set(err, LH_E_INVAL, "LAKEHOUSE_ALLOWED_HOSTS: entry too long");
            memcpy(one, p, len);
            one[len] = '\0';
            if (len && (s = lh_app_config_allow_host(c, one, err)) != LH_OK) {
                lh_error_prefix(err, "LAKEHOUSE_ALLOWED_HOSTS");
                return s;
            }
            p += len + (p[len] == ',');
        }
    }
    if ((v = getenv("LAKEHOUSE_HTTP_THREADS")) && *v) {
        if (!lh_parse_i64(v, &i64) || i64 < 0 || i64 > 256)
            return lh_error_set(err, LH_E_INVAL, "LAKEHOUSE_HTTP_THREADS: bad number '%s'", v);
        c->threads = (unsigned)i64;
    }
    return LH_OK;
}
