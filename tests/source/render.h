/*
 * render.h — test helper: one batch value as canonical text, in the forms
 * the servers print (decimal exact with its scale, ISO dates and times
 * with the fraction's trailing zeros trimmed, bytes as \x hex, bool as
 * true/false, lists as elements joined by '|' with NULL elements "NULL").
 * Also the env-file reader for tests/servers/ *.sh output.
 */
#ifndef LH_TEST_RENDER_H
#define LH_TEST_RENDER_H

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rbuf {
    char *p;
    size_t len, cap;
};

static inline void rb_put(struct rbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static inline void rb_str(struct rbuf *b, const char *s)
{
    rb_put(b, s, strlen(s));
}

static inline void render_i128(struct rbuf *b, lh_i128 v, unsigned scale)
{
    char digits[64];
    int n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= (int)scale)
        digits[n++] = '0';
    if (neg)
        rb_str(b, "-");
    for (int i = n - 1; i >= 0; i--) {
        char ch = digits[i];
        rb_put(b, &ch, 1);
        if (i == (int)scale && scale > 0)
            rb_str(b, ".");
    }
}

static inline void render_clock(struct rbuf *b, int64_t us)
{
    char t[48];
    int64_t sec = us / 1000000, frac = us % 1000000;
    snprintf(t, sizeof t, "%02lld:%02lld:%02lld", (long long)(sec / 3600),
             (long long)(sec / 60 % 60), (long long)(sec % 60));
    rb_str(b, t);
    if (frac) {
        snprintf(t, sizeof t, ".%06lld", (long long)frac);
        size_t n = strlen(t);
        while (t[n - 1] == '0')
            t[--n] = '\0';
        rb_str(b, t);
    }
}

static inline void render_date(struct rbuf *b, int64_t days)
{
    int64_t y;
    unsigned m, d;
    lh_civil_from_days(days, &y, &m, &d);
    char t[48];
    if (y <= 0)
        snprintf(t, sizeof t, "%04lld-%02u-%02u BC", (long long)(1 - y), m, d);
    else
        snprintf(t, sizeof t, "%04lld-%02u-%02u", (long long)y, m, d);
    rb_str(b, t);
}

static inline void render_ts(struct rbuf *b, int64_t us)
{
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    int64_t y;
    unsigned m, d;
    lh_civil_from_days(days, &y, &m, &d);
    char t[48];
    snprintf(t, sizeof t, "%04lld-%02u-%02u ", (long long)(y <= 0 ? 1 - y : y), m, d);
    rb_str(b, t);
    render_clock(b, rem);
    if (y <= 0)
        rb_str(b, " BC");
}

static inline void render_scalar(struct rbuf *b, const struct lh_field *f, const struct lh_array *a,
                                 int64_t i)
{
    char t[64];
    const uint8_t *v = a->values;
    switch (f->type) {
    case LH_T_BOOL:
        rb_str(b, v[i] ? "true" : "false");
        return;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
        snprintf(t, sizeof t, "%d", ((const int32_t *)v)[i]);
        break;
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32:
        snprintf(t, sizeof t, "%u", ((const uint32_t *)v)[i]);
        break;
    case LH_T_INT64:
        snprintf(t, sizeof t, "%lld", (long long)((const int64_t *)v)[i]);
        break;
    case LH_T_UINT64:
        snprintf(t, sizeof t, "%llu", (unsigned long long)((const uint64_t *)v)[i]);
        break;
    case LH_T_FLOAT:
        snprintf(t, sizeof t, "%.9g", (double)((const float *)v)[i]);
        break;
    case LH_T_DOUBLE:
        snprintf(t, sizeof t, "%.17g", ((const double *)v)[i]);
        break;
    case LH_T_DECIMAL: {
        lh_i128 x;
        if (f->precision <= 9)
            x = ((const int32_t *)v)[i];
        else if (f->precision <= 18)
            x = ((const int64_t *)v)[i];
        else
            memcpy(&x, v + 16 * i, 16);
        render_i128(b, x, f->scale);
        return;
    }
    case LH_T_DATE:
        render_date(b, ((const int32_t *)v)[i]);
        return;
    case LH_T_TIMESTAMP:
        render_ts(b, ((const int64_t *)v)[i]);
        return;
    case LH_T_TIME:
        render_clock(b, ((const int64_t *)v)[i]);
        return;
    case LH_T_UUID: {
        const uint8_t *u = v + 16 * i;
        for (int k = 0; k < 16; k++) {
            snprintf(t, sizeof t, "%02x", u[k]);
            rb_str(b, t);
            if (k == 3 || k == 5 || k == 7 || k == 9)
                rb_str(b, "-");
        }
        return;
    }
    case LH_T_FIXED:
    case LH_T_BINARY: {
        rb_str(b, "\\x");
        const uint8_t *p = f->type == LH_T_FIXED ? v + f->fixed_len * i : a->data + a->offsets[i];
        size_t n =
            f->type == LH_T_FIXED ? f->fixed_len : (size_t)(a->offsets[i + 1] - a->offsets[i]);
        for (size_t k = 0; k < n; k++) {
            snprintf(t, sizeof t, "%02x", p[k]);
            rb_str(b, t);
        }
        return;
    }
    case LH_T_STRING:
    case LH_T_JSON:
    case LH_T_ENUM:
        rb_put(b, (const char *)a->data + a->offsets[i],
               (size_t)(a->offsets[i + 1] - a->offsets[i]));
        return;
    case LH_T_COUNT_:
        return;
    }
    rb_str(b, t);
}

/* Renders row i of column a; returns false for NULL (b untouched). */
static inline bool render_value(struct rbuf *b, const struct lh_field *f, const struct lh_array *a,
                                int64_t i)
{
    if (!lh_bit_get(a->validity, i))
        return false;
    if (!f->is_list) {
        render_scalar(b, f, a, i);
        return true;
    }
    rb_str(b, "");
    for (int32_t k = a->list_offsets[i]; k < a->list_offsets[i + 1]; k++) {
        if (k > a->list_offsets[i])
            rb_str(b, "|");
        if (!lh_bit_get(a->child->validity, k))
            rb_str(b, "NULL");
        else
            render_scalar(b, f, a->child, k);
    }
    return true;
}

/* Appends tmpl with every "%1$s" replaced by col. */
static inline void rb_subst(struct rbuf *b, const char *tmpl, const char *col)
{
    const char *p;
    while ((p = strstr(tmpl, "%1$s")) != NULL) {
        rb_put(b, tmpl, (size_t)(p - tmpl));
        rb_str(b, col);
        tmpl = p + 4;
    }
    rb_str(b, tmpl);
}

/* Reads KEY=VALUE lines; returns a malloc'd copy of KEY's value or NULL. */
static inline char *env_file_get(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[1024];
    char *out = NULL;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, kl) && line[kl] == '=') {
            char *v = line + kl + 1;
            v[strcspn(v, "\n")] = '\0';
            size_t n = strlen(v);
            if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') { /* KEY='value' */
                v[n - 1] = '\0';
                v++;
            }
            out = strdup(v);
            break;
        }
    }
    fclose(f);
    return out;
}

/* ---------------------------------------------------------- cancel tests */

#include "source/source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A TCP listener on 127.0.0.1 that never accepts: a client's connect
 * completes (the kernel's backlog) and then waits forever for the server's
 * first word. Returns the fd and the port in *port. */
static inline int tc_silent_listener(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    *port = ntohs(a.sin_port);
    return fd;
}

static inline double tc_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* lh_source_cancel from another thread after `ms`. */
struct tc_later {
    struct lh_source *s;
    int ms;
    pthread_t th;
};
static inline void *tc_later_main(void *arg)
{
    struct tc_later *l = arg;
    struct timespec ts = {l->ms / 1000, (long)(l->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    lh_source_cancel(l->s);
    return NULL;
}
static inline void tc_cancel_later(struct tc_later *l, struct lh_source *s, int ms)
{
    l->s = s;
    l->ms = ms;
    if (pthread_create(&l->th, NULL, tc_later_main, l) != 0)
        abort();
}

#endif
