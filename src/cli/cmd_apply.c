/*
 * cmd_apply.c — schedules as code: `lakehouse export` writes every schedule
 * as one JSON file {"schedules": [...]}, `lakehouse apply -f FILE` makes
 * the schedules match such a file (docs/cli.md "apply", docs/schedules.md
 * "Schedules as code").
 *
 * The file holds each schedule in the schedule JSON format, its
 * configuration only: the run state (created_at, next_run_at, last_*,
 * counters, retry_state, created_by) is never exported and is ignored by
 * apply, so a file kept in git does not change with every run. Passwords:
 * password_env is kept as is; a sealed password is exported as '***' in the
 * DSN, and apply keeps the stored secret when the DSN comes back so (the
 * rule of HTTP PUT, lh_schedule_keep_secret); a plaintext password in the
 * file is sealed when written.
 *
 * apply computes a plan (create / update with the fields that change /
 * delete / unchanged), prints it and changes nothing unless --yes is given.
 * Schedules that are not in the file are deleted only with --prune (as
 * `kubectl apply --prune`: a partial file never removes the others).
 * The whole file is checked before anything changes: a bad file is one line
 * naming the schedule and the field, exit 2, nothing changed.
 *
 * With a running daemon (daemon.h) the current schedules are read from and
 * the changes made through its HTTP API, so the scheduler sees them at once;
 * without one the store is read and written directly; a daemon that holds
 * the store but cannot be reached makes apply refuse (never behind its back).
 * Single-threaded (the CLI's main thread).
 */
#include "cli.h"
#include "daemon.h"
#include "runs.h"
#include "app/app.h"
#include "schedule/schedule.h"
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest file apply reads. */
#define APPLY_FILE_MAX (64u * 1024 * 1024)
/* Largest answer read from the daemon (10,000 schedules are about 20 MB). */
#define APPLY_ANSWER_MAX (256u * 1024 * 1024)
/* A value shown in a plan is cut after this many bytes. */
#define APPLY_VALUE_SHOW 100

static const char *const export_usage =
    "usage: lakehouse export [--json] [storage]\n"
    "\n"
    "Writes every schedule to stdout as one JSON document {\"schedules\": [...]} in\n"
    "the schedule JSON format, configuration only (no run state), the format\n"
    "'lakehouse apply -f FILE' reads. Secrets are never written: password_env is\n"
    "kept as is, a sealed password shows as '***' in kind.dsn (apply keeps the\n"
    "stored password when the DSN comes back unchanged). --json: the same (the\n"
    "output is always JSON).\n";

static const char *const apply_usage =
    "usage: lakehouse apply -f FILE [--yes] [--prune] [--json] [storage]\n"
    "\n"
    "Makes the schedules match FILE ({\"schedules\": [...]}, as 'lakehouse export'\n"
    "writes; '-' reads stdin). First prints the plan: schedules to create, to\n"
    "update (with the fields that change), to delete, unchanged. Nothing changes\n"
    "without --yes (exit 0 either way). Applying the same file twice changes\n"
    "nothing the second time.\n"
    "  -f FILE    the schedules as they should be\n"
    "  --yes      apply the plan\n"
    "  --prune    also delete the schedules that are not in FILE (without it they\n"
    "             are kept and listed)\n"
    "  --json     the plan (and whether it was applied) as JSON\n"
    "A bad file (unknown field, bad value, missing id) is one line naming the\n"
    "schedule and the field, exit 2, nothing changed.\n";

static const char *const storage_help =
    "\n"
    "storage:\n"
    "  --data DIR | --store URL  (default $LAKEHOUSE_DATA or ./lakehouse-data)\n"
    "  --config FILE             the daemon's JSON config (buckets, secret_key_path)\n"
    "  --server URL              talk to this daemon (default $LAKEHOUSE_SERVER, else the\n"
    "                            daemon named by the store's _daemon.json, if alive)\n"
    "  --secret-key-file PATH    key for DSN passwords (default $LAKEHOUSE_SECRET_KEY,\n"
    "                            $LAKEHOUSE_SECRET_KEY_FILE, ~/.config/lakehouse/secret.key)\n";

/* The run state of a schedule: never exported, ignored in a file. */
static const char *const state_fields[] = {
    "created_at",           "created_by",  "next_run_at", "last_run_at",   "last_outcome",
    "run_count",            "failure_count", "consecutive_failures", "retry_state",
    "running",              "active_run_id", "active_run",
};

struct opts {
    const char *cmd; /* "apply" or "export" */
    const char *file, *data, *store, *config, *keyfile, *server;
    bool yes, prune, json;
};

/* Where the schedules are: a daemon, or the store itself. */
struct target {
    struct lh_daemon_ref ref;
    bool daemon;
    struct lh_app_config cfg;
    struct lh_store_set *set;
    struct lh_schedule_store *ss;
    struct lh_schedule_key key;
    bool have_key;
    /* with a daemon: its store read for the secrets only (secrets_of) */
    const char *keyfile;
    bool tried_store;
    struct lh_schedule *sealed;
};

static void strip_state(json_t *o)
{
    for (size_t i = 0; i < sizeof state_fields / sizeof state_fields[0]; i++)
        json_object_del(o, state_fields[i]);
}

/* The configuration of d as JSON for a file: no run state, no ciphertext,
 * the DSN in its display form. NULL when out of memory. */
static json_t *config_json(const struct lh_schedule *d)
{
    struct lh_schedule *c = malloc(sizeof *c);
    struct lh_buf b;
    struct lh_error err;
    json_t *j = NULL;
    lh_buf_init(&b, 0);
    if (!c)
        return NULL;
    *c = *d;
    c->dsn_secret[0] = '\0';
    lh_redact_dsn(d->dsn, c->dsn, sizeof c->dsn);
    if (lh_schedule_to_json(c, &b, &err) == LH_OK)
        j = json_loadb((const char *)b.data, b.len, 0, NULL);
    if (j) {
        strip_state(j);
        json_object_del(json_object_get(j, "kind"), "dsn_secret");
    }
    lh_schedule_wipe(b.data, b.len);
    lh_buf_reset(&b);
    lh_schedule_wipe(c, sizeof *c);
    free(c);
    return j;
}

/* ------------------------------------------------------------ the target */

static int target_open(struct target *t, const struct opts *o)
{
    struct lh_error err;
    memset(t, 0, sizeof *t);
    lh_app_config_init(&t->cfg);
    t->keyfile = o->keyfile;
    const char *server = o->server ? o->server : getenv("LAKEHOUSE_SERVER");
    if (server && *server) {
        lh_daemon_find(NULL, server, &t->ref);
        t->daemon = true;
        return 0;
    }
    const char *config = o->config ? o->config : getenv("LAKEHOUSE_CONFIG");
    if (config && *config && lh_app_config_load(&t->cfg, config, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->cmd, err.msg);
        return 1;
    }
    const char *root = lh_cli_store_root(o->store, o->data, t->cfg.store_url, t->cfg.data_dir);
    struct stat sb;
    bool creating = strcmp(o->cmd, "apply") == 0;
    if (!creating && strncmp(root, "s3://", 5) != 0 && stat(root, &sb) != 0) {
        lh_cli_error("%s: data directory %s does not exist", o->cmd, root);
        return 1;
    }
    if (lh_store_set_open(root, t->cfg.buckets_config, NULL, &t->set, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->cmd, err.msg);
        return 1;
    }
    if (lh_daemon_find(lh_store_set_primary(t->set), NULL, &t->ref)) {
        t->daemon = true;
        return 0;
    }
    if (creating && t->ref.problem[0]) { /* never behind a live daemon's back */
        lh_cli_error("%s: %s", o->cmd, t->ref.problem);
        return 1;
    }
    const char *keyfile = o->keyfile ? o->keyfile : t->cfg.secret_key_path;
    if (lh_schedule_key_resolve(keyfile, &t->key, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->cmd, err.msg);
        return 1;
    }
    t->have_key = true;
    struct lh_schedule_store_options so = {.key = &t->key};
    if (lh_schedule_store_open(lh_store_set_primary(t->set), &so, &t->ss, &err) != LH_OK) {
        lh_cli_error("%s: %s", o->cmd, err.msg);
        return 1;
    }
    return 0;
}

static void target_close(struct target *t)
{
    if (t->sealed) {
        lh_schedule_wipe(t->sealed, sizeof *t->sealed);
        free(t->sealed);
    }
    lh_schedule_store_close(t->ss);
    lh_store_set_close(t->set);
    lh_schedule_wipe(&t->key, sizeof t->key);
    lh_app_config_reset(&t->cfg);
}

/* One daemon call; a transport failure or a non-2xx answer is printed.
 * Returns the HTTP status, 0 on transport failure. */
static long remote(const struct target *t, const char *what, const char *method,
                   const char *path, const char *body, struct lh_buf *out)
{
    return lh_daemon_request(&t->ref, what, method, path, body, out);
}

/* The schedules now, sorted by id (the store's order; the daemon's list is
 * in the same order). Caller wipes and frees *out. 0 ok, else exit code. */
static int current_list(struct target *t, const char *cmd, struct lh_schedule **out, size_t *n)
{
    struct lh_error err;
    *out = NULL;
    *n = 0;
    if (!t->daemon) {
        if (lh_schedule_store_list(t->ss, out, n, &err) != LH_OK) {
            lh_cli_error("%s: %s", cmd, err.msg);
            return 1;
        }
        for (size_t i = 0; lh_schedule_store_problem(t->ss, i); i++)
            lh_cli_error("warning: %s", lh_schedule_store_problem(t->ss, i));
        return 0;
    }
    struct lh_buf b;
    lh_buf_init(&b, APPLY_ANSWER_MAX);
    int rc = 1;
    json_t *doc = NULL;
    if (remote(t, cmd, "GET", "/api/schedules", NULL, &b) != 200)
        goto done;
    doc = json_loadb((const char *)b.data, b.len, 0, NULL);
    json_t *arr = json_object_get(doc, "schedules");
    if (!json_is_array(arr)) {
        lh_cli_error("%s: the daemon's answer has no schedules", cmd);
        goto done;
    }
    size_t cnt = json_array_size(arr);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    if (!*out) {
        lh_cli_error("%s: out of memory", cmd);
        goto done;
    }
    for (size_t i = 0; i < cnt; i++) {
        char *text = json_dumps(json_array_get(arr, i), JSON_COMPACT);
        enum lh_status s = text ? lh_schedule_from_json(text, strlen(text), NULL, &(*out)[i], NULL,
                                                        &err)
                                : lh_error_set(&err, LH_E_NOMEM, "out of memory");
        free(text);
        if (s != LH_OK) {
            lh_cli_error("%s: the daemon's answer: %s", cmd, err.msg);
            goto done;
        }
        *n = i + 1;
    }
    rc = 0;
done:
    json_decref(doc);
    lh_buf_reset(&b);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ------------------------------------------------------------ export */

static int do_export(struct target *t, const struct opts *o)
{
    struct lh_schedule *v;
    size_t n;
    int rc = current_list(t, o->cmd, &v, &n);
    if (rc != 0)
        return rc;
    json_t *root = json_object(), *arr = json_array();
    bool ok = root && arr && json_object_set(root, "schedules", arr) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *j = config_json(&v[i]);
        ok = j && json_array_append_new(arr, j) == 0;
    }
    if (ok)
        lh_cli_json_print(root);
    else
        lh_cli_error("export: out of memory");
    json_decref(arr);
    json_decref(root);
    lh_schedule_wipe(v, n * sizeof *v);
    free(v);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------ the plan */

enum action { A_CREATE, A_UPDATE, A_UNCHANGED };

struct want {
    struct lh_schedule def;  /* as the file says (a plaintext DSN as given) */
    json_t *body;            /* the file's object, run state removed (for the daemon) */
    const struct lh_schedule *cur; /* borrowed from the current list; NULL: create */
    enum action action;
    json_t *changes; /* [{"field", "from", "to"}] */
};

/* A value for a plan line: compact JSON, secrets redacted, cut. */
static void show_value(const json_t *v, char *out, size_t cap)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char tmp[APPLY_VALUE_SHOW + 8];
    if (!s) {
        snprintf(out, cap, "(none)");
        return;
    }
    size_t len = strlen(s);
    snprintf(tmp, sizeof tmp, "%.*s%s", APPLY_VALUE_SHOW, s, len > APPLY_VALUE_SHOW ? "..." : "");
    lh_redact_text(tmp, out, cap);
    free(s);
}

/* Appends {"field", "from", "to"} for each leaf that differs. */
static void diff_json(const char *prefix, const json_t *a, const json_t *b, json_t *changes)
{
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        char path[256];
        json_object_foreach((json_t *)a, k, v) {
            snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            diff_json(path, v, json_object_get(b, k), changes);
        }
        json_object_foreach((json_t *)b, k, v) {
            if (json_object_get(a, k))
                continue;
            snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            diff_json(path, NULL, v, changes);
        }
        return;
    }
    if (a && b && json_equal(a, b))
        return;
    if ((!a || json_is_null(a)) && (!b || json_is_null(b)))
        return;
    char from[256], to[256];
    show_value(a, from, sizeof from);
    show_value(b, to, sizeof to);
    json_array_append_new(changes, json_pack("{s:s, s:s, s:s}", "field", prefix, "from", from,
                                             "to", to));
}

/* Error for schedules[i]: "apply: FILE: schedules[2] (orders): msg". */
static void file_error(const char *file, size_t i, const char *id, const char *msg)
{
    if (id)
        lh_cli_error("apply: %s: schedules[%zu] (%s): %s", file, i, id, msg);
    else
        lh_cli_error("apply: %s: schedules[%zu]: %s", file, i, msg);
}

/* Reads and checks the file into wants (calloc'd, *n). 0 ok, 2 bad file, 1
 * other failure. */
static int read_file(const char *file, struct want **out, size_t *n)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    struct lh_error err;
    json_error_t jerr;
    json_t *doc = NULL;
    struct want *w = NULL;
    int rc = 2;
    *out = NULL;
    *n = 0;
    if (strcmp(file, "-") == 0) {
        struct lh_buf b;
        lh_buf_init(&b, APPLY_FILE_MAX);
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            lh_buf_append(&b, chunk, got);
        if (!lh_buf_ok(&b)) {
            lh_cli_error("apply: stdin: larger than %u bytes", APPLY_FILE_MAX);
            lh_buf_reset(&b);
            return 2;
        }
        doc = json_loadb(b.len ? (const char *)b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
        lh_schedule_wipe(b.data, b.len);
        lh_buf_reset(&b);
    } else {
        if (lh_file_read_all(file, APPLY_FILE_MAX, &raw, &len, &err) != LH_OK) {
            lh_cli_error("apply: %s", err.msg);
            return err.status == LH_E_NOMEM ? 1 : 2;
        }
        doc = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &jerr);
        lh_schedule_wipe(raw, len);
        free(raw);
    }
    if (!doc) {
        lh_cli_error("apply: %s: line %d column %d: %s", file, jerr.line, jerr.column, jerr.text);
        return 2;
    }
    const char *k;
    json_t *v;
    if (!json_is_object(doc)) {
        lh_cli_error("apply: %s: want an object {\"schedules\": [...]}", file);
        goto done;
    }
    json_object_foreach(doc, k, v) {
        if (strcmp(k, "schedules") != 0) {
            lh_cli_error("apply: %s: %s: unknown field (want schedules)", file, k);
            goto done;
        }
    }
    json_t *arr = json_object_get(doc, "schedules");
    if (!json_is_array(arr)) {
        lh_cli_error("apply: %s: schedules: missing or not an array", file);
        goto done;
    }
    size_t cnt = json_array_size(arr);
    w = calloc(cnt ? cnt : 1, sizeof *w);
    if (!w) {
        lh_cli_error("apply: out of memory");
        rc = 1;
        goto done;
    }
    char now[48];
    lh_time_format_iso(lh_time_wall_us(), now, sizeof now);
    for (size_t i = 0; i < cnt; i++) {
        json_t *o = json_array_get(arr, i);
        *n = i + 1;
        if (!json_is_object(o)) {
            file_error(file, i, NULL, "not an object");
            goto done;
        }
        json_t *id = json_object_get(o, "id");
        if (!json_is_string(id) || !json_string_length(id)) {
            file_error(file, i, NULL, id ? "id: must be a non-empty string" : "id: missing");
            goto done;
        }
        const char *ids = json_string_value(id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(w[j].def.id, ids) == 0) {
                file_error(file, i, ids, "id: given twice in the file");
                goto done;
            }
        char *text = json_dumps(o, JSON_COMPACT);
        if (!text) {
            rc = 1;
            goto done;
        }
        enum lh_status s = lh_schedule_json_check_fields(text, strlen(text), &err);
        lh_schedule_wipe(text, strlen(text));
        free(text);
        if (s != LH_OK) {
            file_error(file, i, ids, err.msg);
            goto done;
        }
        json_t *body = json_deep_copy(o);
        if (!body) {
            rc = 1;
            goto done;
        }
        w[i].body = body;
        strip_state(body);
        if (!json_object_get(body, "enabled"))
            json_object_set_new(body, "enabled", json_true());
        /* what lh_schedule_from_json needs; never compared */
        json_t *full = json_deep_copy(body);
        if (full) {
            json_object_set_new(full, "created_at", json_string(now));
            json_object_set_new(full, "next_run_at", json_string(now));
        }
        text = full ? json_dumps(full, JSON_COMPACT) : NULL;
        json_decref(full);
        if (!text) {
            rc = 1;
            goto done;
        }
        s = lh_schedule_from_json(text, strlen(text), NULL, &w[i].def, NULL, &err);
        lh_schedule_wipe(text, strlen(text));
        free(text);
        if (s != LH_OK) {
            file_error(file, i, ids, err.msg);
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(doc);
    *out = w;
    return rc;
}

static void wants_free(struct want *w, size_t n)
{
    for (size_t i = 0; w && i < n; i++) {
        json_decref(w[i].body);
        json_decref(w[i].changes);
        lh_schedule_wipe(&w[i].def, sizeof w[i].def);
    }
    free(w);
}

/* The stored definition of cur with its sealed secret, to compare a
 * plaintext password of the file with, or NULL when it cannot be read.
 * Without a daemon that is cur itself. A daemon never shows its secrets:
 * when the CLI has its store (found through _daemon.json) the definition is
 * read from there (read only) with the key the CLI resolves, which must be
 * the daemon's anyway (docs/schedules.md "Passwords"). */
static const struct lh_schedule *secrets_of(struct target *t, const struct lh_schedule *cur)
{
    struct lh_error err;
    if (!t->daemon)
        return t->have_key ? cur : NULL;
    if (!t->set)
        return NULL;
    if (!t->ss) {
        if (t->tried_store)
            return NULL;
        t->tried_store = true;
        const char *keyfile = t->keyfile ? t->keyfile : t->cfg.secret_key_path;
        if (lh_schedule_key_resolve(keyfile, &t->key, &err) != LH_OK)
            return NULL;
        t->have_key = true;
        struct lh_schedule_store_options so = {.key = &t->key};
        if (lh_schedule_store_open(lh_store_set_primary(t->set), &so, &t->ss, &err) != LH_OK)
            return NULL;
    }
    if (!t->sealed && !(t->sealed = malloc(sizeof *t->sealed)))
        return NULL;
    if (lh_schedule_store_get(t->ss, cur->id, t->sealed, &err) != LH_OK)
        return NULL;
    return t->sealed;
}

/* Decides what to do with one wanted schedule against cur (NULL: none).
 * def is completed the way the write will see it (stored secret kept,
 * paused_reason, created_by). 0 ok, 2 bad value (printed). */
static int plan_one(struct target *t, const char *file, size_t i, struct want *w,
                    const struct lh_schedule *cur)
{
    struct lh_error err;
    struct lh_schedule *d = &w->def;
    json_t *pr = json_object_get(w->body, "paused_reason");
    bool has_reason = pr && !json_is_null(pr);
    w->cur = cur;
    w->changes = json_array();
    if (!w->changes)
        return 1;
    if (!cur) {
        w->action = A_CREATE;
        if (lh_schedule_validate(d, true, &err) != LH_OK) { /* the rule for new ids */
            file_error(file, i, d->id, err.msg);
            return 2;
        }
        if (d->dsn_secret[0]) {
            file_error(file, i, d->id,
                       "kind.dsn_secret: not accepted for a new schedule; give the DSN with its "
                       "password, or kind.password_env");
            return 2;
        }
        if (lh_schedule_dsn_redacted(d->dsn)) {
            file_error(file, i, d->id,
                       "kind.dsn: the password is '***' (redacted) and the schedule is new; give "
                       "the real password, or kind.password_env");
            return 2;
        }
        if (lh_schedule_first_run(d, lh_time_wall_us(), LH_FIRST_RUN_DEFAULT, &err) != LH_OK) {
            file_error(file, i, d->id, err.msg);
            return 2;
        }
        if (!d->created_by[0]) {
            const char *user = getenv("USER");
            snprintf(d->created_by, sizeof d->created_by, "%s", user && *user ? user : "apply");
        }
        if (!d->enabled && !has_reason)
            snprintf(d->paused_reason, sizeof d->paused_reason, "paused");
        return 0;
    }
    /* the password: kept when the DSN comes back as shown (PUT's rule) */
    if (lh_schedule_keep_secret(d, cur, &err) != LH_OK) {
        file_error(file, i, d->id, err.msg);
        return 2;
    }
    bool pw_changed = false;
    char red[LH_SCHEDULE_DSN_MAX];
    lh_redact_dsn(d->dsn, red, sizeof red);
    if (strcmp(red, d->dsn) != 0) { /* a plaintext password in the file */
        char *now = malloc(LH_SCHEDULE_DSN_MAX);
        const struct lh_schedule *sealed = secrets_of(t, cur);
        pw_changed = true;
        /* the same DSN as stored: nothing to change */
        if (now && sealed && !d->password_env[0] && !cur->password_env[0] &&
            lh_schedule_dsn_reveal(sealed, &t->key, now, LH_SCHEDULE_DSN_MAX, &err) == LH_OK &&
            strcmp(now, d->dsn) == 0)
            pw_changed = false;
        if (now)
            lh_schedule_wipe(now, LH_SCHEDULE_DSN_MAX);
        free(now);
    }
    /* state the file does not set: as it is */
    memcpy(d->created_by, cur->created_by, sizeof d->created_by);
    if (!has_reason)
        snprintf(d->paused_reason, sizeof d->paused_reason, "%s",
                 d->enabled              ? ""
                 : !cur->enabled && cur->paused_reason[0] ? cur->paused_reason
                                                          : "paused");
    if (d->enabled)
        d->paused_reason[0] = '\0';
    json_t *a = config_json(cur), *b = config_json(d);
    if (!a || !b) {
        json_decref(a);
        json_decref(b);
        return 1;
    }
    diff_json("", a, b, w->changes);
    json_decref(a);
    json_decref(b);
    if (pw_changed)
        json_array_append_new(w->changes, json_pack("{s:s, s:s, s:s}", "field", "kind.dsn",
                                                    "from", "(password)", "to",
                                                    "(another password)"));
    w->action = json_array_size(w->changes) ? A_UPDATE : A_UNCHANGED;
    return 0;
}

/* ------------------------------------------------------------ applying */

/* The body the daemon gets: the file's object (run state removed), with
 * the paused_reason decided here. Caller frees. */
static char *daemon_body(const struct want *w)
{
    json_t *b = json_deep_copy(w->body);
    char *s = NULL;
    if (b) {
        json_object_set_new(b, "paused_reason", w->def.paused_reason[0]
                                                    ? json_string(w->def.paused_reason)
                                                    : json_null());
        if (w->action == A_CREATE)
            json_object_set_new(b, "created_by", json_string(w->def.created_by));
        s = json_dumps(b, JSON_COMPACT);
    }
    json_decref(b);
    return s;
}

static bool apply_one(struct target *t, struct want *w)
{
    struct lh_error err;
    char what[LH_SCHEDULE_ID_MAX + 40];
    snprintf(what, sizeof what, "apply: %s %s", w->action == A_CREATE ? "create" : "update",
             w->def.id);
    if (!t->daemon) {
        enum lh_status s;
        if (w->action == A_CREATE) {
            s = lh_schedule_store_create(t->ss, &w->def, &err);
        } else {
            w->def.next_run_at_us = w->cur->next_run_at_us;
            s = lh_schedule_store_update(t->ss, &w->def, lh_time_wall_us(), &err);
        }
        if (s != LH_OK)
            lh_cli_error("%s: %s", what, err.msg);
        return s == LH_OK;
    }
    char path[1024];
    char *body = daemon_body(w);
    struct lh_buf b;
    long st;
    lh_buf_init(&b, 0);
    if (!body) {
        lh_cli_error("%s: out of memory", what);
        return false;
    }
    if (w->action == A_CREATE) {
        st = remote(t, what, "POST", "/api/schedules", body, &b);
    } else {
        (void)lh_daemon_schedule_path(path, sizeof path, w->def.id, "");
        st = remote(t, what, "PUT", path, body, &b);
    }
    lh_schedule_wipe(body, strlen(body));
    free(body);
    lh_buf_reset(&b);
    return st >= 200 && st <= 299;
}

static bool delete_one(struct target *t, const char *id)
{
    struct lh_error err;
    char what[LH_SCHEDULE_ID_MAX + 40];
    snprintf(what, sizeof what, "apply: delete %s", id);
    if (!t->daemon) {
        if (lh_schedule_store_delete(t->ss, id, NULL, &err) != LH_OK) {
            lh_cli_error("%s: %s", what, err.msg);
            return false;
        }
        return true;
    }
    char path[1024];
    struct lh_buf b;
    lh_buf_init(&b, 0);
    (void)lh_daemon_schedule_path(path, sizeof path, id, "");
    long st = remote(t, what, "DELETE", path, NULL, &b);
    lh_buf_reset(&b);
    return (st >= 200 && st <= 299) || st == 404;
}

/* w: the file's schedules (read_file). */
static int do_apply(struct target *t, const struct opts *o, struct want *w, size_t nw)
{
    struct lh_schedule *cur = NULL;
    size_t ncur = 0;
    bool *kept = NULL;
    json_t *plan = NULL;
    int rc = current_list(t, o->cmd, &cur, &ncur);
    if (rc != 0)
        goto done;
    kept = calloc(ncur ? ncur : 1, sizeof *kept);
    if (!kept) {
        rc = 1;
        goto done;
    }
    size_t counts[3] = {0, 0, 0}, ndelete = 0, nleft = 0;
    for (size_t i = 0; i < nw; i++) {
        const struct lh_schedule *c = NULL;
        for (size_t j = 0; j < ncur; j++)
            if (strcmp(cur[j].id, w[i].def.id) == 0) {
                c = &cur[j];
                kept[j] = true;
            }
        if ((rc = plan_one(t, o->file, i, &w[i], c)) != 0)
            goto done;
        counts[w[i].action]++;
    }
    for (size_t j = 0; j < ncur; j++)
        if (!kept[j])
            *(o->prune ? &ndelete : &nleft) += 1;
    /* the plan */
    plan = json_pack("{s:[], s:[], s:[], s:[], s:[]}", "create", "update", "delete", "unchanged",
                     "not_in_file");
    if (!plan) {
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < nw; i++) {
        const char *id = w[i].def.id;
        if (w[i].action == A_CREATE) {
            json_array_append_new(json_object_get(plan, "create"), json_string(id));
            if (!o->json)
                printf("+ create %s\n", id);
        } else if (w[i].action == A_UPDATE) {
            json_array_append_new(json_object_get(plan, "update"),
                                  json_pack("{s:s, s:O}", "id", id, "changes", w[i].changes));
            if (!o->json) {
                printf("~ update %s\n", id);
                size_t k;
                json_t *c;
                json_array_foreach(w[i].changes, k, c)
                    printf("    %s: %s -> %s\n", json_string_value(json_object_get(c, "field")),
                           json_string_value(json_object_get(c, "from")),
                           json_string_value(json_object_get(c, "to")));
            }
        } else {
            json_array_append_new(json_object_get(plan, "unchanged"), json_string(id));
        }
    }
    for (size_t j = 0; j < ncur; j++) {
        if (kept[j])
            continue;
        json_array_append_new(json_object_get(plan, o->prune ? "delete" : "not_in_file"),
                              json_string(cur[j].id));
        if (!o->json)
            printf(o->prune ? "- delete %s\n" : "  keep %s (not in the file; --prune deletes it)\n",
                   cur[j].id);
    }
    bool changes = counts[A_CREATE] + counts[A_UPDATE] + ndelete > 0;
    if (!o->json)
        printf("Plan: %zu to create, %zu to update, %zu to delete, %zu unchanged%s.\n",
               counts[A_CREATE], counts[A_UPDATE], ndelete, counts[A_UNCHANGED],
               nleft ? " (others not in the file are kept)" : "");
    bool applied = false;
    if (changes && o->yes) {
        for (size_t i = 0; i < nw; i++)
            if (w[i].action != A_UNCHANGED && !apply_one(t, &w[i])) {
                rc = 1;
                goto done;
            }
        for (size_t j = 0; o->prune && j < ncur; j++)
            if (!kept[j] && !delete_one(t, cur[j].id)) {
                rc = 1;
                goto done;
            }
        applied = true;
    }
    if (o->json) {
        json_object_set_new(plan, "applied", json_boolean(applied));
        lh_cli_json_print(plan);
    } else if (!changes) {
        printf("No changes.\n");
    } else if (applied) {
        printf("Applied: %zu created, %zu updated, %zu deleted.\n", counts[A_CREATE],
               counts[A_UPDATE], ndelete);
    } else {
        printf("Nothing changed: run again with --yes to apply this plan.\n");
    }
    rc = 0;
done:
    json_decref(plan);
    free(kept);
    if (cur)
        lh_schedule_wipe(cur, ncur * sizeof *cur);
    free(cur);
    return rc;
}

/* ------------------------------------------------------------ arguments */

static int run(int argc, char **argv, bool is_apply)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    o.cmd = is_apply ? "apply" : "export";
    const char *usage = is_apply ? apply_usage : export_usage;
    if (lh_cli_help(argc, argv, usage)) {
        fputs(storage_help, stdout);
        return 0;
    }
    static const char *const vals[] = {"-f",     "--file",   "--data", "--store",
                                       "--config", "--secret-key-file", "--server"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int slot = -1;
        for (int k = 0; k < (int)(sizeof vals / sizeof vals[0]); k++)
            if (strcmp(a, vals[k]) == 0)
                slot = k;
        if (slot >= 0) {
            if (slot <= 1 && !is_apply) {
                lh_cli_error("export: %s does not apply to 'export' (see 'lakehouse export "
                             "--help')", a);
                return 2;
            }
            if (i + 1 >= argc) {
                lh_cli_error("%s: %s needs a value", o.cmd, a);
                return 2;
            }
            const char *v = argv[++i];
            const char **dst[] = {&o.file, &o.file, &o.data, &o.store,
                                  &o.config, &o.keyfile, &o.server};
            *dst[slot] = v;
        } else if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (is_apply && strcmp(a, "--yes") == 0) {
            o.yes = true;
        } else if (is_apply && strcmp(a, "--prune") == 0) {
            o.prune = true;
        } else if (a[0] == '-' && a[1]) {
            lh_cli_error("%s: unknown option '%s' (see 'lakehouse %s --help')", o.cmd, a, o.cmd);
            return 2;
        } else {
            lh_cli_error("%s: unexpected argument '%s' (see 'lakehouse %s --help')", o.cmd, a,
                         o.cmd);
            return 2;
        }
    }
    if (is_apply && !o.file) {
        lh_cli_error("apply: which file? (-f FILE, as 'lakehouse export' writes)");
        return 2;
    }
    if (o.data && o.store) {
        lh_cli_error("%s: give --data or --store, not both", o.cmd);
        return 2;
    }
    /* apply: the file first, so a bad one changes nothing, not even the
     * data directory or the key file */
    struct want *w = NULL;
    size_t nw = 0;
    int rc = is_apply ? read_file(o.file, &w, &nw) : 0;
    if (rc == 0) {
        struct target t;
        rc = target_open(&t, &o);
        if (rc == 0)
            rc = is_apply ? do_apply(&t, &o, w, nw) : do_export(&t, &o);
        target_close(&t);
    }
    wants_free(w, nw);
    return rc;
}

int lh_cmd_apply(int argc, char **argv)
{
    return run(argc, argv, true);
}

int lh_cmd_export(int argc, char **argv)
{
    return run(argc, argv, false);
}
