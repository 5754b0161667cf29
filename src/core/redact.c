/*
 * redact.c — remove passwords from connection strings before they are
 * stored, returned by the API or logged.
 *
 * Forms handled (the password is replaced by "***"):
 *   URL             scheme://user:pass@host[:port]/db?...   -> scheme://user:***@host...
 *                   the userinfo ends at the LAST '@' of the authority, so an
 *                   unencoded '@', ':' or '/' inside the password is covered;
 *                   IPv6 hosts ([::1]) are untouched because only the userinfo
 *                   is split at its first ':'.
 *   query params    ?password=..&sslpassword=..            -> password=***
 *   libpq key=value host=h password=secret / password='a b\'c' -> password=***
 *   Go/MySQL style  user:pass@tcp(host:3306)/db              -> user:***@tcp(...)
 * When in doubt the rule redacts more, never less: an '@' inside a query
 * string may hide the host, but never reveals a password.
 */
#include "core.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct out {
    char *p;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->cap)
            o->p[o->len] = s[i];
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static bool secret_key(const char *k, size_t n)
{
    static const char *const names[] = {"password",    "passwd", "pass",       "pwd",
                                        "sslpassword", "secret", "token",      "access_token",
                                        "api_key",     "apikey", "secret_key", "sslkey_password"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(k, names[i], n) == 0)
            return true;
    return false;
}

/* Copies a query string [s, s+n) replacing the values of secret keys. */
static void redact_query(struct out *o, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t ks = i;
        while (i < n && s[i] != '=' && s[i] != '&' && s[i] != ';' && s[i] != '#')
            i++;
        size_t klen = i - ks;
        put(o, s + ks, klen);
        if (i < n && s[i] == '=') {
            put(o, "=", 1);
            i++;
            size_t vs = i;
            while (i < n && s[i] != '&' && s[i] != ';' && s[i] != '#')
                i++;
            if (secret_key(s + ks, klen))
                puts_(o, "***");
            else
                put(o, s + vs, i - vs);
        }
        if (i < n) {
            put(o, s + i, 1);
            i++;
        }
    }
}

/* libpq "key = value" with optional single quotes and backslash escapes. */
static bool redact_keyvalue(struct out *o, const char *s)
{
    size_t n = strlen(s), i = 0;
    bool any = false;
    while (i < n) {
        size_t ws = i;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        put(o, s + ws, i - ws);
        if (i >= n)
            break;
        size_t ks = i;
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
            i++;
        size_t klen = i - ks;
        size_t sp = i;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (klen == 0 || i >= n || s[i] != '=')
            return false; /* not key=value after all */
        any = true;
        put(o, s + ks, i + 1 - ks);
        (void)sp;
        i++;
        size_t gs = i;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        put(o, s + gs, i - gs);
        size_t vs = i;
        if (i < n && s[i] == '\'') {
            i++;
            while (i < n && s[i] != '\'') {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                i++;
            }
            if (i < n)
                i++;
        } else {
            while (i < n && !isspace((unsigned char)s[i]))
                i++;
        }
        if (secret_key(s + ks, klen))
            puts_(o, "***");
        else
            put(o, s + vs, i - vs);
    }
    return any;
}

static const char *find_scheme_end(const char *s)
{
    const char *p = strstr(s, "://");
    if (!p || p == s)
        return NULL;
    for (const char *q = s; q < p; q++)
        if (!(isalnum((unsigned char)*q) || *q == '+' || *q == '.' || *q == '-' || *q == ':'))
            return NULL;
    return p + 3;
}

size_t lh_redact_dsn(const char *dsn, char *dst, size_t cap)
{
    struct out o = {dst, cap, 0};
    if (!dsn)
        dsn = "";
    size_t n = strlen(dsn);
    const char *auth = find_scheme_end(dsn);
    if (auth) {
        size_t a = (size_t)(auth - dsn);
        /* userinfo ends at the last '@'; but if a '?' precedes it and an '@'
         * precedes that '?', the later '@' belongs to the query. */
        const char *at = strrchr(auth, '@');
        const char *q = strpbrk(auth, "?#");
        if (at && q && q < at) {
            const char *before = NULL;
            for (const char *c = auth; c < q; c++)
                if (*c == '@')
                    before = c;
            if (before)
                at = before;
        }
        size_t rest;
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                put(&o, dsn, (size_t)(colon - dsn) + 1);
                puts_(&o, "***");
            } else {
                put(&o, dsn, (size_t)(at - dsn));
            }
            rest = (size_t)(at - dsn);
        } else {
            rest = a;
            put(&o, dsn, a);
        }
        /* host and path verbatim up to the query; query with secrets masked */
        const char *qq = strpbrk(dsn + rest, "?");
        size_t qs = qq ? (size_t)(qq - dsn) + 1 : n;
        put(&o, dsn + rest, qs - rest);
        redact_query(&o, dsn + qs, n - qs);
    } else if (strchr(dsn, '=')) {
        struct out save = o;
        if (!redact_keyvalue(&o, dsn)) {
            o = save;
            o.len = 0;
            puts_(&o, "***"); /* unparseable with '=': show nothing */
        }
    } else {
        /* user:pass@tcp(host)/db, or a bare host name */
        const char *at = strrchr(dsn, '@');
        const char *colon = at ? memchr(dsn, ':', (size_t)(at - dsn)) : NULL;
        if (colon) {
            put(&o, dsn, (size_t)(colon - dsn) + 1);
            puts_(&o, "***");
            puts_(&o, at);
        } else {
            put(&o, dsn, n);
        }
    }
    if (cap > 0)
        dst[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}
