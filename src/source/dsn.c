/*
 * dsn.c — the parser of mysql:// / mariadb:// URLs
 * (user:pass@host:port/db?socket=/path, percent-encoding decoded).
 * PostgreSQL DSNs are parsed by libpq itself (PQconninfoParse).
 */
#include "source_int.h"

#include <stdio.h>
#include <stdlib.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [p, p+n) into an arena string; NULL on a bad escape. */
static char *pct_decode(struct lh_source *s, const char *p, size_t n)
{
    char *o = lh_arena_alloc(&s->arena, n + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            if (i + 2 >= n)
                return NULL;
            int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            o[j++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            o[j++] = p[i];
        }
    }
    o[j] = '\0';
    return o;
}

enum lh_status src_url_parse(struct lh_source *s, const char *dsn, struct src_url *u,
                             struct lh_error *err)
{
    memset(u, 0, sizeof *u);
    size_t n = strlen(dsn);
    if (n > 4096)
        return lh_error_set(err, LH_E_INVAL, "DSN too long");
    const char *p;
    if (!strncmp(dsn, "mysql://", 8))
        p = dsn + 8;
    else if (!strncmp(dsn, "mariadb://", 10))
        p = dsn + 10;
    else
        return lh_error_set(err, LH_E_INVAL, "MySQL DSN must start with mysql:// or mariadb://");
    const char *end = dsn + n;
    const char *auth_end = p;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?')
        auth_end++;
    const char *atsign = NULL;
    for (const char *k = p; k < auth_end; k++)
        if (*k == '@')
            atsign = k;
    if (atsign) {
        const char *colon = memchr(p, ':', (size_t)(atsign - p));
        if (colon) {
            u->user = pct_decode(s, p, (size_t)(colon - p));
            u->password = pct_decode(s, colon + 1, (size_t)(atsign - colon - 1));
            if (!u->password)
                return lh_error_set(err, LH_E_INVAL, "bad %%-escape in the DSN's password");
        } else {
            u->user = pct_decode(s, p, (size_t)(atsign - p));
        }
        if (!u->user)
            return lh_error_set(err, LH_E_INVAL, "bad user in the DSN");
        p = atsign + 1;
    }
    /* host[:port], host may be [v6] */
    const char *hend = auth_end, *portp = NULL;
    if (p < auth_end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (!rb)
            return lh_error_set(err, LH_E_INVAL, "bad IPv6 host in the DSN");
        u->host = pct_decode(s, p + 1, (size_t)(rb - p - 1));
        if (rb + 1 < auth_end && rb[1] == ':')
            portp = rb + 2;
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        if (colon) {
            hend = colon;
            portp = colon + 1;
        }
        u->host = pct_decode(s, p, (size_t)(hend - p));
    }
    if (!u->host)
        return lh_error_set(err, LH_E_INVAL, "bad host in the DSN");
    if (portp) {
        unsigned port = 0;
        if (portp == auth_end)
            return lh_error_set(err, LH_E_INVAL, "bad port in the DSN");
        for (const char *k = portp; k < auth_end; k++) {
            if (*k < '0' || *k > '9' || port > 65535)
                return lh_error_set(err, LH_E_INVAL, "bad port in the DSN");
            port = port * 10 + (unsigned)(*k - '0');
        }
        if (port == 0 || port > 65535)
            return lh_error_set(err, LH_E_INVAL, "bad port in the DSN");
        u->port = port;
    }
    p = auth_end;
    if (p < end && *p == '/') {
        const char *q = memchr(p, '?', (size_t)(end - p));
        const char *dend = q ? q : end;
        if (dend > p + 1) {
            u->db = pct_decode(s, p + 1, (size_t)(dend - p - 1));
            if (!u->db)
                return lh_error_set(err, LH_E_INVAL, "bad database in the DSN");
        }
        p = dend;
    }
    if (p < end && *p == '?') {
        p++;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *pend = amp ? amp : end;
            const char *eq = memchr(p, '=', (size_t)(pend - p));
            if (eq && (size_t)(eq - p) == 6 && !strncmp(p, "socket", 6)) {
                u->socket = pct_decode(s, eq + 1, (size_t)(pend - eq - 1));
                if (!u->socket)
                    return lh_error_set(err, LH_E_INVAL, "bad socket in the DSN");
            } else if (eq && (size_t)(eq - p) == 8 && !strncmp(p, "password", 8)) {
                u->password = pct_decode(s, eq + 1, (size_t)(pend - eq - 1));
                if (!u->password)
                    return lh_error_set(err, LH_E_INVAL, "bad %%-escape in the DSN's password");
            } else {
                /* unknown parameters are ignored, but say which */
                lh_debug("source: ignoring DSN parameter %.*s", (int)(eq ? eq - p : pend - p), p);
            }
            p = amp ? amp + 1 : end;
        }
    }
    return LH_OK;
}
