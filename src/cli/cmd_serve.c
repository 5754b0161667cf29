/*
 * cmd_serve.c — `lakehouse serve`: the daemon's command line.
 *
 * Settings: defaults < --config FILE (or $LAKEHOUSE_CONFIG) < LAKEHOUSE_*
 * environment < flags. Prints one line on stdout once listening
 * ("lakehouse: listening on http://ADDR") so scripts can wait for it.
 *
 * Everything else is app (app.h: start-up, signals, shutdown) and http (the
 * API): lh_app_start, the server with the app's schedule store, scheduler
 * and metrics as hooks, lh_app_announce, lh_app_wait, then the stop in
 * order: the API (in-flight requests finish), the scheduler (grace_secs),
 * `_daemon.json` and the lease. See docs/daemon.md.
 */
#include "cli.h"
#include "app/app.h"
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: lakehouse serve [--listen HOST:PORT] [--data DIR | --store URL] [--config FILE]\n"
    "                       [--log-format text|json] [--token T | --token-file F]\n"
    "\n"
    "Runs the daemon: the scheduler, the HTTP API and the dashboard.\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; port 0\n"
    "                       picks a free port, printed on start)\n"
    "  --data DIR           local data directory (default $LAKEHOUSE_DATA or\n"
    "                       ./lakehouse-data; created if missing)\n"
    "  --store URL          s3://bucket/prefix instead of a directory\n"
    "  --config FILE        JSON config file (default $LAKEHOUSE_CONFIG); see docs/http.md\n"
    "  --log-format F       text (default) or json lines\n"
    "  --token T            require 'Authorization: Bearer T' (prefer --token-file or\n"
    "                       $LAKEHOUSE_TOKEN: arguments show in ps)\n"
    "  --token-file F       read the token from a file\n"
    "  --body-limit SIZE    largest accepted request body (default 1MiB)\n"
    "\n"
    "Precedence: flags > LAKEHOUSE_* environment > config file > defaults.\n"
    "SIGHUP: re-read the schedules. SIGTERM/SIGINT: stop accepting, finish in-flight\n"
    "requests, give running jobs grace_secs, cancel the rest, exit 0. See docs/daemon.md.\n";

/* The shape of --listen (HOST:PORT or [V6]:PORT, port 0-65535), checked
 * before anything starts: a bad value is bad usage. */
static bool listen_ok(const char *s)
{
    const char *colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
    if (!colon)
        return false;
    colon += s[0] == '[' ? 1 : 0;
    int64_t p;
    return lh_parse_i64(colon + 1, &p) && p >= 0 && p <= 65535;
}

static void on_health(void *ctx, uint64_t *schedules, uint64_t *running)
{
    lh_app_health(ctx, schedules, running);
}

int lh_cmd_serve(int argc, char **argv)
{
    if (lh_cli_help(argc, argv, usage))
        return 0;
    struct lh_cli_store_args sa = {0};
    const char *listen = NULL, *logfmt = NULL;
    const char *token = NULL, *token_file = NULL, *body_limit = NULL;
    const struct lh_cli_opt opts[] = {{"--listen", &listen},         {"--log-format", &logfmt},
                                      {"--token", &token},           {"--token-file", &token_file},
                                      {"--body-limit", &body_limit}, {NULL, NULL}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = lh_cli_opt_slot(opts, &sa, a);
        if (!slot && strcmp(a, "--json") == 0) {
            lh_cli_error("serve: --json does not apply: serve prints no result (for JSON log "
                         "lines: --log-format json)");
            return 2;
        }
        if (!slot) {
            lh_cli_error("serve: unknown argument '%s' (see 'lakehouse serve --help')", a);
            return 2;
        }
        if (i + 1 >= argc) {
            lh_cli_error("serve: %s needs a value", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (sa.data && sa.store_url) {
        lh_cli_error("serve: give --data or --store, not both");
        return 2;
    }
    if (listen && !listen_ok(listen)) {
        lh_cli_error("serve: --listen wants HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, "
                     "0.0.0.0:0), not '%s'",
                     listen);
        return 2;
    }
    if (token && token_file) {
        lh_cli_error("serve: give --token or --token-file, not both");
        return 2;
    }

    struct lh_app_config cfg;
    struct lh_http_server *srv = NULL;
    struct lh_app *app = NULL;
    struct lh_error err;
    int rc = 1;
    lh_app_config_init(&cfg);
    const char *config = sa.config ? sa.config : getenv("LAKEHOUSE_CONFIG");
    if (config && *config && lh_app_config_load(&cfg, config, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    if (lh_app_config_apply_env(&cfg, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    if (listen)
        cfg.listen = listen;
    if (sa.data) {
        cfg.data_dir = sa.data;
        cfg.store_url = NULL;
    }
    if (sa.store_url) {
        cfg.store_url = sa.store_url;
        cfg.data_dir = NULL;
    }
    if (token)
        cfg.token = token;
    if (token_file) {
        uint8_t *t = NULL;
        size_t n = 0;
        if (lh_file_read_all(token_file, 4096, &t, &n, &err) != LH_OK) {
            lh_cli_error("serve: token file: %s", err.msg);
            goto done;
        }
        while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
            t[--n] = '\0';
        cfg.token = lh_app_config_strdup(&cfg, (const char *)t);
        free(t);
    }
    if (body_limit) {
        uint64_t v;
        if (!lh_parse_size(body_limit, &v) || v == 0 || v > (1u << 30)) {
            lh_cli_error("serve: --body-limit: bad size '%s'", body_limit);
            rc = 2;
            goto done;
        }
        cfg.body_limit = (size_t)v;
    }
    if (logfmt) {
        if (strcmp(logfmt, "json") != 0 && strcmp(logfmt, "text") != 0) {
            lh_cli_error("serve: --log-format must be text or json");
            rc = 2;
            goto done;
        }
        cfg.log_json = strcmp(logfmt, "json") == 0;
    }
    lh_log_set_json(cfg.log_json);
    {
        int64_t ttl = 0;
        const char *te = getenv("LAKEHOUSE_LEASE_TTL_SECS");
        if (te && *te && (!lh_parse_i64(te, &ttl) || ttl < 3 || ttl > 3600)) {
            lh_cli_error("serve: LAKEHOUSE_LEASE_TTL_SECS: want 3-3600 seconds, not '%s'", te);
            rc = 2;
            goto done;
        }
        cfg.lease_ttl_secs = (unsigned)ttl;
    }
    if (lh_app_start(&cfg, &app, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    struct lh_app_parts parts = lh_app_parts(app);
    struct lh_http_hooks hooks = {.ctx = app,
                                  .health = on_health,
                                  .schedules = parts.schedules,
                                  .scheduler = parts.scheduler,
                                  .runner = parts.runner,
                                  .runs = parts.runs,
                                  .store = parts.store};
    if (lh_http_server_create(&cfg, &hooks, parts.metrics, &srv, &err) != LH_OK ||
        lh_http_server_start(srv, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    bool auth = cfg.token && cfg.token[0];
    lh_app_announce(app, lh_http_server_address(srv), auth);
    printf("lakehouse: listening on http://%s\n", lh_http_server_address(srv));
    fflush(stdout);

    lh_app_wait(app);
    unsigned left = lh_http_server_stop(srv);
    if (left)
        lh_warn("serve: %u request(s) still running at the shutdown deadline", left);
    lh_app_stop(app);
    rc = 0;
done:
    lh_http_server_destroy(srv);
    lh_app_destroy(app);
    lh_app_config_reset(&cfg);
    return rc;
}
