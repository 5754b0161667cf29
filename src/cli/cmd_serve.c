/*
 * cmd_serve.c — `lakehouse serve`: the daemon.
 *
 * Settings: defaults < --config FILE (or $LAKEHOUSE_CONFIG) < LAKEHOUSE_*
 * environment < flags. Prints one line on stdout once listening
 * ("lakehouse: listening on http://ADDR") so scripts can wait for it.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread before any thread
 * starts and taken synchronously with sigwait() here, so no handler runs in
 * a library's thread. On one: stop accepting, let in-flight requests finish,
 * then (once the scheduler is wired in) the scheduler's graceful stop; exit 0.
 */
#include "cli.h"
#include "http/http.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *usage =
    "usage: lakehouse serve [--listen HOST:PORT] [--data DIR | --store URL] [--config FILE]\n"
    "                       [--log-format text|json] [--token T | --token-file F]\n"
    "\n"
    "Runs the daemon: the HTTP API (and, once wired, the scheduler).\n"
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
    "SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.\n";

/* Raises the open-file soft limit to the hard one: each connection is a
 * descriptor and the connection limit should be the real bound. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int lh_cmd_serve(int argc, char **argv)
{
    if (lh_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *listen = NULL, *data = NULL, *store = NULL, *config = NULL, *logfmt = NULL;
    const char *token = NULL, *token_file = NULL, *body_limit = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--listen") == 0       ? &listen
                            : strcmp(a, "--data") == 0       ? &data
                            : strcmp(a, "--store") == 0      ? &store
                            : strcmp(a, "--config") == 0     ? &config
                            : strcmp(a, "--log-format") == 0 ? &logfmt
                            : strcmp(a, "--token") == 0      ? &token
                            : strcmp(a, "--token-file") == 0 ? &token_file
                            : strcmp(a, "--body-limit") == 0 ? &body_limit
                                                             : NULL;
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
    if (data && store) {
        lh_cli_error("serve: give --data or --store, not both");
        return 2;
    }
    if (token && token_file) {
        lh_cli_error("serve: give --token or --token-file, not both");
        return 2;
    }

    struct lh_http_config cfg;
    struct lh_http_server *srv = NULL;
    struct lh_error err;
    int rc = 1;
    lh_http_config_init(&cfg);
    if (!config)
        config = getenv("LAKEHOUSE_CONFIG");
    if (config && *config && lh_http_config_load(&cfg, config, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    if (lh_http_config_apply_env(&cfg, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    if (listen)
        cfg.listen = listen;
    if (data) {
        cfg.data_dir = data;
        cfg.store_url = NULL;
    }
    if (store) {
        cfg.store_url = store;
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
        cfg.token = lh_http_config_strdup(&cfg, (const char *)t);
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
    raise_nofile();

    /* block the stop signals before any thread exists, so every thread
     * inherits the mask and only sigwait() below sees them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* (scheduler: create it here and pass its counters as hooks) */
    if (lh_http_server_create(&cfg, NULL, NULL, &srv, &err) != LH_OK ||
        lh_http_server_start(srv, &err) != LH_OK) {
        lh_cli_error("serve: %s", err.msg);
        goto done;
    }
    printf("lakehouse: listening on http://%s\n", lh_http_server_address(srv));
    fflush(stdout);
    lh_info("serve: listening on %s (auth %s, body limit %zu bytes)", lh_http_server_address(srv),
            cfg.token && cfg.token[0] ? "on" : "off", cfg.body_limit);

    int sig = 0;
    sigwait(&stop, &sig);
    lh_info("serve: %s received, finishing in-flight requests",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    unsigned left = lh_http_server_stop(srv);
    /* (scheduler: graceful stop goes here, after the API stops taking work) */
    if (left)
        lh_warn("serve: %u request(s) still running at the shutdown deadline", left);
    lh_info("serve: stopped");
    rc = 0;
done:
    lh_http_server_destroy(srv);
    lh_http_config_reset(&cfg);
    return rc;
}
