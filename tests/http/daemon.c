/*
 * daemon.c — see daemon.h.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

const char *daemon_log_dir = "/tmp";

bool daemon_start(struct daemon *d, const char *const *args, const char *const *env)
{
    int pfd[2];
    memset(d, 0, sizeof *d);
    snprintf(d->errlog, sizeof d->errlog, "%s/lh-http-test-%d-%ld.log", daemon_log_dir,
             (int)getpid(), (long)random());
    if (pipe(pfd) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        const char *argv[64];
        int n = 0;
        argv[n++] = LH_TEST_LAKEHOUSE;
        argv[n++] = "serve";
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
        for (size_t i = 0; args && args[i] && n < 62; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        /* a test daemon never creates a key file in the tester's $HOME */
        if (!getenv("LAKEHOUSE_SECRET_KEY") && !getenv("LAKEHOUSE_SECRET_KEY_FILE"))
            setenv("LAKEHOUSE_SECRET_KEY",
                   "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", 0);
        dup2(pfd[1], 1);
        FILE *e = fopen(d->errlog, "w");
        if (e)
            dup2(fileno(e), 2);
        close(pfd[0]);
        close(pfd[1]);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    close(pfd[1]);
    d->pid = pid;
    /* a daemon that never says where it listens is a failure, not a hang */
    struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
    int ready = poll(&pf, 1, 120000);
    if (ready != 1)
        fprintf(stderr, "daemon_start: no address after 120 s (log: %s)\n", d->errlog);
    FILE *f = ready == 1 ? fdopen(pfd[0], "r") : NULL;
    if (!f)
        close(pfd[0]);
    char line[512];
    bool ok = false;
    if (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "listening on http://");
        if (p) {
            p += strlen("listening on http://");
            snprintf(d->addr, sizeof d->addr, "%.*s", (int)strcspn(p, "\r\n"), p);
            const char *colon = strrchr(d->addr, ':');
            if (colon) {
                snprintf(d->host, sizeof d->host, "%.*s", (int)(colon - d->addr), d->addr);
                d->port = (int)strtol(colon + 1, NULL, 10);
                ok = d->port > 0;
            }
        }
    }
    if (f)
        fclose(f);
    if (!ok) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        d->pid = 0;
    }
    return ok;
}

int daemon_stop(struct daemon *d, int sig)
{
    int st = 0;
    if (!d->pid)
        return -1;
    kill(d->pid, sig);
    waitpid(d->pid, &st, 0);
    d->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct sink {
    char *p;
    size_t n;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct sink *s = ud;
    size_t n = sz * nm;
    char *q = realloc(s->p, s->n + n + 1);
    if (!q)
        return 0;
    memcpy(q + s->n, p, n);
    s->p = q;
    s->n += n;
    s->p[s->n] = '\0';
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct reply *r = ud;
    size_t n = sz * nm, have = strlen(r->headers);
    if (strncmp(p, "HTTP/", 5) == 0)
        r->headers[0] = '\0', have = 0; /* a 100 Continue precedes the real one */
    if (have + n < sizeof r->headers) {
        memcpy(r->headers + have, p, n);
        r->headers[have + n] = '\0';
    }
    return n;
}

static CURL *shared;

static bool perform(struct daemon *d, const char *method, const char *path,
                    struct curl_slist *h, const char *body, size_t body_len, struct reply *r)
{
    memset(r, 0, sizeof *r);
    if (!shared) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        shared = curl_easy_init();
    }
    CURL *c = shared;
    curl_easy_reset(c);
    char url[4096];
    snprintf(url, sizeof url, "http://%s%s", d->addr, path);
    struct sink s = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
        free(s.p);
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = s.p ? s.p : calloc(1, 1);
    r->len = s.n;
    return true;
}

bool http_do(struct daemon *d, const char *method, const char *path, const char *ctype,
             const char *auth, const char *body, size_t body_len, struct reply *r)
{
    struct curl_slist *h = NULL;
    char line[1024];
    if (body_len <= 65536) /* big bodies keep curl's Expect: 100-continue */
        h = curl_slist_append(h, "Expect:");
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    } else {
        h = curl_slist_append(h, "Content-Type:");
    }
    if (auth) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "X-Lakehouse-Client: lakehouse-test");
    return perform(d, method, path, h, body, body_len, r);
}

bool http_do_ex(struct daemon *d, const char *method, const char *path,
                const char *const *headers, const char *body, size_t body_len, struct reply *r)
{
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    bool ctype = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        h = curl_slist_append(h, headers[i]);
        ctype = ctype || strncasecmp(headers[i], "Content-Type:", 13) == 0;
    }
    if (!ctype) /* curl would add a form type to a body */
        h = curl_slist_append(h, "Content-Type:");
    return perform(d, method, path, h, body, body_len, r);
}

void reply_free(struct reply *r)
{
    free(r->body);
    r->body = NULL;
}

bool reply_header(const struct reply *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\r\n"), v);
            return true;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return false;
}

int raw_connect(struct daemon *d)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    inet_pton(AF_INET, d->host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
