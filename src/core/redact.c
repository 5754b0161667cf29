/*
 * redact.c — connection strings: the one parser (lh_dsn_parse), and every
 * way a password is kept out of what is stored, returned by the API or
 * logged (lh_redact_dsn, lh_redact_text, lh_redact_secret, lh_redact_scrub).
 *
 * The parser reads the two forms libpq reads, the way libpq reads them, and
 * refuses what would put part of a password where a message shows it:
 *   URL        the user info ends at the FIRST '@' before the first '/'
 *              (libpq's rule); a second '@' there, any '@' after the first
 *              '/', a port that is not a number, a bad %-escape or a query
 *              word without '=' is refused, because libpq would turn part
 *              of the password into a host name, a port or a database name
 *              and print it in its errors.
 *   key=value  libpq's list: key = value, values in single quotes with
 *              backslash escapes; a word without '=' or a name that is not
 *              letters, digits and '_' (the tail of an unquoted password
 *              with a space) is refused, and so is a closing quote that no
 *              space follows (password='a'b=c would redact to "***b=c").
 * Refusals are one line that says what to do and quote nothing of the DSN.
 * mysql:// and mariadb:// URLs are read by our own client, so there the
 * user info ends at the LAST '@' before the first '/' (a host has no '@');
 * docs/ingest.md says so.
 *
 * Redaction replaces passwords by "***":
 *   a DSN the parser accepts    exactly its passwords: the URL user info
 *                               after its first ':', and the values of
 *                               password-like parameters (query or list)
 *   a DSN it refuses            cautiously: URL user info runs to the LAST
 *                               '@', a key=value string becomes "***",
 *                               user:pass@tcp(host)/db masks to the last '@'
 * so a DSN is never shown with less redaction than it needs. Redacting
 * redacted text changes nothing.
 *
 * Scrubbing replaces a known secret in a message, left to right, never
 * looking into the mask it wrote (a password of asterisks used to make the
 * scan re-find its own replacement forever).
 *
 * Everything here is reentrant and allocation-free but lh_redact_scrub
 * (one buffer of the message's size).
 */
#include "core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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

static size_t finish(struct out *o)
{
    if (o->cap > 0)
        o->p[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
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

/* After "scheme://", or NULL when s does not start with a scheme. */
static const char *scheme_end(const char *s)
{
    const char *p = strstr(s, "://");
    if (!p || p == s)
        return NULL;
    for (const char *q = s; q < p; q++)
        if (!(isalnum((unsigned char)*q) || *q == '+' || *q == '.' || *q == '-' || *q == ':'))
            return NULL;
    return p + 3;
}

/* ------------------------------------------------------------------ parser */

#define E_AT                                                                                       \
    "DSN: more than one '@' before the host (libpq would take the password's tail for the "    \
    "host name); percent-encode '@' in the password (and user name) as %40"
#define E_SLASH                                                                                    \
    "DSN: an '@' after the host (libpq would take part of a password for the database name); " \
    "percent-encode '/' and '@' in the password (%2F, %40), and '@' in database names and "    \
    "parameter values"
#define E_PORT                                                                                     \
    "DSN: the port after the host is not a number from 1 to 65535; if that text is part of a "  \
    "password, write user:password@host and percent-encode '@', '/' and '%' in the password "   \
    "(%40, %2F, %25)"
#define E_PCT                                                                                      \
    "DSN: a '%' not followed by two hex digits (or %00); write a '%' in the password as %25"
#define E_QUERY                                                                                    \
    "DSN: a query parameter without a name or '=' (want ?key=value&key=value); "                \
    "percent-encode '&', '=' and '#' inside values"
#define E_V6 "DSN: a host that starts with '[' has no ']'"
#define E_NOEQ                                                                                     \
    "DSN: a word without '=' in a key=value DSN; a value with spaces goes in single quotes "    \
    "(password='a b'), a quote inside one as \\'"
#define E_QUOTE                                                                                    \
    "DSN: a quoted value has no closing quote or no space after it; write a quote inside a "   \
    "value as \\'"
#define E_NOKEY "DSN: an '=' without a name before it"

/* %-escapes of [p, p+n) are all two hex digits and none is %00. */
static bool pct_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%')
            continue;
        if (i + 2 >= n)
            return false;
        if (lh_hex_digit(p[i + 1]) < 0 || lh_hex_digit(p[i + 2]) < 0)
            return false;
        if (p[i + 1] == '0' && p[i + 2] == '0')
            return false;
        i += 2;
    }
    return true;
}

/* One key=value pair of a libpq list from s[*i]: 1 a pair, 0 the end,
 * -1 a word without '=', -2 an open quote, -3 an '=' without a key. */
static int kv_next(const char *s, size_t n, size_t *pi, struct lh_dsn_part *k,
                   struct lh_dsn_part *v)
{
    size_t i = *pi;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i >= n) {
        *pi = i;
        return 0;
    }
    size_t ks = i;
    while (i < n && !isspace((unsigned char)s[i]) && s[i] != '=')
        i++;
    *k = (struct lh_dsn_part){s + ks, i - ks};
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i >= n || s[i] != '=')
        return -1;
    if (k->n == 0)
        return -3;
    /* libpq's names are letters, digits and '_'; anything else is the tail
     * of an unquoted value with a space in it */
    for (size_t j = 0; j < k->n; j++)
        if (!isalnum((unsigned char)k->p[j]) && k->p[j] != '_')
            return -1;
    i++;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    size_t vs = i;
    if (i < n && s[i] == '\'') {
        i++;
        while (i < n && s[i] != '\'') {
            if (s[i] == '\\')
                i++;
            i++;
        }
        if (i >= n)
            return -2;
        i++;
        /* libpq reads password='a'b=c as two pairs; masking the first
         * would make "***b=c" one, so a space must follow */
        if (i < n && !isspace((unsigned char)s[i]))
            return -2;
    } else {
        while (i < n && !isspace((unsigned char)s[i])) {
            if (s[i] == '\\' && i + 1 < n)
                i++;
            i++;
        }
    }
    *v = (struct lh_dsn_part){s + vs, i - vs};
    *pi = i;
    return 1;
}

/* host[:port] entries separated by ',' in [h, end). */
static enum lh_status parse_hosts(struct lh_dsn *d, const char *h, const char *end,
                                  struct lh_error *err)
{
    for (;;) {
        const char *e = memchr(h, ',', (size_t)(end - h));
        if (!e)
            e = end;
        const char *port = NULL;
        if (h < e && *h == '[') {
            const char *rb = memchr(h, ']', (size_t)(e - h));
            if (!rb)
                return lh_error_set(err, LH_E_INVAL, "%s", E_V6);
            if (rb + 1 < e) {
                if (rb[1] != ':')
                    return lh_error_set(err, LH_E_INVAL, "%s", E_PORT);
                port = rb + 2;
            }
        } else {
            const char *c = memchr(h, ':', (size_t)(e - h));
            if (c)
                port = c + 1;
        }
        unsigned v = 0;
        if (port) {
            if (port == e)
                return lh_error_set(err, LH_E_INVAL, "%s", E_PORT);
            for (const char *q = port; q < e; q++) {
                if (*q < '0' || *q > '9' || v > 65535)
                    return lh_error_set(err, LH_E_INVAL, "%s", E_PORT);
                v = v * 10 + (unsigned)(*q - '0');
            }
            if (v == 0 || v > 65535)
                return lh_error_set(err, LH_E_INVAL, "%s", E_PORT);
        }
        if (d->nhosts++ == 0)
            d->port = v;
        if (e == end)
            return LH_OK;
        h = e + 1;
    }
}

static enum lh_status parse_url(struct lh_dsn *d, const char *s, size_t n, const char *auth,
                                struct lh_error *err)
{
    const char *end = s + n, *p = auth;
    d->form = LH_DSN_URL;
    d->scheme = (struct lh_dsn_part){s, (size_t)(auth - 3 - s)};
    if (!pct_ok(auth, (size_t)(end - auth)))
        return lh_error_set(err, LH_E_INVAL, "%s", E_PCT);
    /* libpq looks for the user info up to the first '/' */
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *net_end = slash ? slash : end;
    /* MySQL URLs are read by our own client, and a host name has no '@':
     * there the user info ends at the last '@', so an unencoded '@' in a
     * password works as it always did */
    bool last = d->scheme.n && (lh_dsn_part_is(d->scheme, "mysql") ||
                                lh_dsn_part_is(d->scheme, "mariadb"));
    const char *at = NULL;
    unsigned nat = 0;
    for (const char *q = p; q < net_end; q++)
        if (*q == '@' && (nat++ == 0 || last))
            at = q;
    if (nat > 1 && !last)
        return lh_error_set(err, LH_E_INVAL, "%s", E_AT);
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        d->user = (struct lh_dsn_part){p, (size_t)((colon ? colon : at) - p)};
        if (colon)
            d->password = (struct lh_dsn_part){colon + 1, (size_t)(at - colon - 1)};
        p = at + 1;
    }
    /* user:pa/ss@host: libpq takes "user" for the host, "pa" for the port
     * and the rest for the database; user:a@b/c@host: "b" for the host and
     * "c@host" for the database. An '@' after the user info is refused. */
    if (net_end < end && memchr(net_end, '@', (size_t)(end - net_end)))
        return lh_error_set(err, LH_E_INVAL, "%s", E_SLASH);
    const char *hend = p;
    while (hend < end && *hend != '/' && *hend != '?')
        hend++;
    const char *qm = NULL;
    if (hend < end && *hend == '/') {
        qm = memchr(hend, '?', (size_t)(end - hend));
        const char *dend = qm ? qm : end;
        d->db = (struct lh_dsn_part){hend + 1, (size_t)(dend - hend - 1)};
    } else if (hend < end) {
        qm = hend;
    }
    d->hosts = (struct lh_dsn_part){p, (size_t)(hend - p)};
    enum lh_status st = parse_hosts(d, p, hend, err);
    if (st)
        return st;
    if (qm) {
        d->query = (struct lh_dsn_part){qm + 1, (size_t)(end - qm - 1)};
        const char *q = qm + 1;
        while (q < end) {
            const char *amp = memchr(q, '&', (size_t)(end - q));
            const char *pe = amp ? amp : end;
            if (pe > q) {
                const char *eq = memchr(q, '=', (size_t)(pe - q));
                if (!eq || eq == q)
                    return lh_error_set(err, LH_E_INVAL, "%s", E_QUERY);
            }
            q = amp ? amp + 1 : end;
        }
    }
    return LH_OK;
}

static enum lh_status parse_kv(struct lh_dsn *d, const char *s, size_t n, struct lh_error *err)
{
    d->form = LH_DSN_KEYVALUE;
    size_t pos = 0, pairs = 0;
    struct lh_dsn_part k, v;
    int r;
    while ((r = kv_next(s, n, &pos, &k, &v)) > 0) {
        pairs++;
        if (k.n == 4 && !memcmp(k.p, "user", 4))
            d->user = v;
        else if (k.n == 8 && !memcmp(k.p, "password", 8))
            d->password = v;
        else if (k.n == 6 && !memcmp(k.p, "dbname", 6))
            d->db = v;
        else if (k.n == 4 && !memcmp(k.p, "host", 4))
            d->hosts = v;
    }
    if (r == -2)
        return lh_error_set(err, LH_E_INVAL, "%s", E_QUOTE);
    if (r == -3)
        return lh_error_set(err, LH_E_INVAL, "%s", E_NOKEY);
    if (r < 0)
        return lh_error_set(err, LH_E_INVAL, "%s",
                            pairs || memchr(s, '=', n)
                                ? E_NOEQ
                                : "DSN: neither a URL (scheme://user@host/db) nor key=value pairs");
    if (pairs == 0)
        return lh_error_set(err, LH_E_INVAL, "DSN: empty");
    return LH_OK;
}

enum lh_status lh_dsn_parse(const char *dsn, struct lh_dsn *d, struct lh_error *err)
{
    memset(d, 0, sizeof *d);
    if (!dsn)
        dsn = "";
    d->text = dsn;
    size_t n = strlen(dsn);
    if (n == 0)
        return lh_error_set(err, LH_E_INVAL, "DSN: empty");
    if (n > LH_DSN_MAX)
        return lh_error_set(err, LH_E_INVAL, "DSN: longer than %d bytes", LH_DSN_MAX);
    const char *auth = scheme_end(dsn);
    return auth ? parse_url(d, dsn, n, auth, err) : parse_kv(d, dsn, n, err);
}

bool lh_dsn_param_next(const struct lh_dsn *d, size_t *pos, struct lh_dsn_part *key,
                       struct lh_dsn_part *val)
{
    if (d->form == LH_DSN_KEYVALUE) {
        if (!d->text)
            return false;
        return kv_next(d->text, strlen(d->text), pos, key, val) > 0;
    }
    const char *q = d->query.p;
    size_t n = d->query.n;
    while (q && *pos < n) {
        size_t s0 = *pos;
        const char *amp = memchr(q + s0, '&', n - s0);
        size_t e = amp ? (size_t)(amp - q) : n;
        *pos = amp ? e + 1 : n;
        const char *eq = memchr(q + s0, '=', e - s0);
        if (!eq)
            continue;
        *key = (struct lh_dsn_part){q + s0, (size_t)(eq - (q + s0))};
        *val = (struct lh_dsn_part){eq + 1, (size_t)(q + e - eq - 1)};
        return true;
    }
    return false;
}

bool lh_dsn_part_is(struct lh_dsn_part part, const char *s)
{
    return part.p && strlen(s) == part.n && memcmp(part.p, s, part.n) == 0;
}

struct lh_dsn_part lh_dsn_param(const struct lh_dsn *d, const char *key)
{
    struct lh_dsn_part k, v, found = {NULL, 0};
    size_t pos = 0;
    while (lh_dsn_param_next(d, &pos, &k, &v))
        if (lh_dsn_part_is(k, key))
            found = v;
    return found;
}

struct lh_dsn_part lh_dsn_password(const struct lh_dsn *d)
{
    struct lh_dsn_part q = lh_dsn_param(d, "password");
    return q.p ? q : d->password;
}

size_t lh_dsn_decode(const struct lh_dsn *d, struct lh_dsn_part part, char *dst, size_t cap)
{
    struct out o = {dst, cap, 0};
    const char *p = part.p;
    size_t n = part.p ? part.n : 0;
    if (d->form == LH_DSN_URL) {
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '%' && i + 2 < n && lh_hex_digit(p[i + 1]) >= 0 &&
                lh_hex_digit(p[i + 2]) >= 0) {
                char c = (char)(lh_hex_digit(p[i + 1]) << 4 | lh_hex_digit(p[i + 2]));
                put(&o, &c, 1);
                i += 2;
            } else {
                put(&o, p + i, 1);
            }
        }
    } else {
        bool quoted = n >= 2 && p[0] == '\'' && p[n - 1] == '\'';
        size_t i = quoted ? 1 : 0, e = quoted ? n - 1 : n;
        for (; i < e; i++) {
            if (p[i] == '\\' && i + 1 < e)
                i++;
            put(&o, p + i, 1);
        }
    }
    return finish(&o);
}

/* ------------------------------------------------------------------ redact */

/* Copies a query string [s, s+n) replacing the values of secret keys;
 * parameters split at '&' only, as the parser (and libpq) split them, so a
 * value redacted here redacts the same way once the DSN parses. */
static void redact_query(struct out *o, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t e = amp ? (size_t)(amp - s) : n;
        const char *eq = memchr(s + i, '=', e - i);
        if (eq && secret_key(s + i, (size_t)(eq - (s + i)))) {
            put(o, s + i, (size_t)(eq + 1 - (s + i)));
            puts_(o, "***");
        } else {
            put(o, s + i, e - i);
        }
        if (amp)
            put(o, "&", 1);
        i = amp ? e + 1 : n;
    }
}

/* A DSN the parser accepted: exactly its passwords masked. */
static void redact_parsed(struct out *o, const struct lh_dsn *d)
{
    const char *s = d->text, *at = s;
    if (d->form == LH_DSN_URL && d->password.p) {
        put(o, at, (size_t)(d->password.p - at));
        puts_(o, "***");
        at = d->password.p + d->password.n;
    }
    size_t pos = 0;
    struct lh_dsn_part k, v;
    while (lh_dsn_param_next(d, &pos, &k, &v)) {
        if (!secret_key(k.p, k.n))
            continue;
        put(o, at, (size_t)(v.p - at));
        /* a value that starts with a quote keeps it ('***'), as
         * lh_redact_text masks it */
        bool q = d->form == LH_DSN_KEYVALUE && v.n && (v.p[0] == '\'' || v.p[0] == '"');
        if (q)
            put(o, v.p, 1);
        puts_(o, "***");
        if (q)
            put(o, v.p, 1);
        at = v.p + v.n;
    }
    puts_(o, at);
}

/* A URL the parser refused: the user info runs to the last '@' (an unencoded
 * '@', ':', '/' or '?' in the password stays covered); without an '@', all
 * after a ':' that is no port number is taken for a password. */
static void redact_url_cautious(struct out *o, const char *dsn, const char *auth)
{
    size_t n = strlen(dsn);
    const char *at = strrchr(auth, '@');
    size_t rest;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            put(o, dsn, (size_t)(colon - dsn) + 1);
            puts_(o, "***");
        } else {
            put(o, dsn, (size_t)(at - dsn));
        }
        rest = (size_t)(at - dsn);
    } else {
        size_t alen = strcspn(auth, "/?#");
        const char *colon = auth[0] == '[' ? NULL : memchr(auth, ':', alen);
        bool port = colon != NULL && colon + 1 < auth + alen;
        for (const char *q = colon ? colon + 1 : auth; colon && q < auth + alen; q++)
            if (*q < '0' || *q > '9')
                port = false;
        if (colon && !port) {
            /* the rest may all be password (user:pa/ss without a host) */
            put(o, dsn, (size_t)(colon - dsn) + 1);
            puts_(o, "***");
            return;
        } else {
            rest = (size_t)(auth - dsn);
            put(o, dsn, rest);
        }
    }
    /* host and path verbatim up to the query; query with secrets masked */
    const char *qq = strchr(dsn + rest, '?');
    size_t qs = qq ? (size_t)(qq - dsn) + 1 : n;
    put(o, dsn + rest, qs - rest);
    redact_query(o, dsn + qs, n - qs);
}

size_t lh_redact_dsn(const char *dsn, char *dst, size_t cap)
{
    struct out o = {dst, cap, 0};
    if (!dsn)
        dsn = "";
    struct lh_dsn d;
    const char *auth;
    if (lh_dsn_parse(dsn, &d, NULL) == LH_OK) {
        redact_parsed(&o, &d);
    } else if ((auth = scheme_end(dsn)) != NULL) {
        redact_url_cautious(&o, dsn, auth);
    } else if (strchr(dsn, '=')) {
        puts_(&o, "***"); /* a key=value list libpq would not read: show nothing */
    } else {
        /* user:pass@tcp(host)/db, or a bare host name */
        const char *at = strrchr(dsn, '@');
        const char *colon = at ? memchr(dsn, ':', (size_t)(at - dsn)) : NULL;
        if (colon) {
            put(&o, dsn, (size_t)(colon - dsn) + 1);
            puts_(&o, "***");
            puts_(&o, at);
        } else {
            puts_(&o, dsn);
        }
    }
    return finish(&o);
}

/* The length of a value that starts at s: to the next space, and a quoted
 * start to its closing quote first, across spaces. */
static size_t value_len(const char *s)
{
    size_t i = 0;
    if (s[0] == '\'' || s[0] == '"') {
        char q = s[0];
        for (i = 1; s[i] && s[i] != q; i++)
            if (s[i] == '\\' && s[i + 1])
                i++;
        if (s[i])
            i++;
    }
    while (s[i] && !isspace((unsigned char)s[i]))
        i++;
    return i;
}

size_t lh_redact_text(const char *s, char *dst, size_t cap)
{
    struct out o = {dst, cap, 0};
    if (!s)
        s = "";
    struct lh_dsn d;
    if (scheme_end(s)) /* a URL from the start runs to the end */
        return lh_redact_dsn(s, dst, cap);
    if (lh_dsn_parse(s, &d, NULL) == LH_OK) {
        redact_parsed(&o, &d); /* the whole text is one key=value DSN */
        return finish(&o);
    }
    size_t i = 0;
    while (s[i]) {
        if (isspace((unsigned char)s[i])) {
            put(&o, s + i, 1);
            i++;
            continue;
        }
        const char *w = s + i, *we = w;
        while (*we && !isspace((unsigned char)*we))
            we++;
        /* the first password-like key=, and the text before it */
        const char *eq = NULL, *ks = NULL;
        for (const char *q = w; q < we && !eq; q++) {
            if (*q != '=')
                continue;
            const char *k = q;
            while (k > w && (isalnum((unsigned char)k[-1]) || k[-1] == '_'))
                k--;
            if (secret_key(k, (size_t)(q - k))) {
                eq = q;
                ks = k;
            }
        }
        const char *pe = eq ? ks : we;
        /* a URL in it starts at its scheme and runs to the end of the text */
        const char *url = NULL;
        for (const char *q = w + 1; q + 2 < pe && !url; q++)
            if (q[0] == ':' && q[1] == '/' && q[2] == '/' &&
                (isalnum((unsigned char)q[-1]) || strchr("+.-", q[-1]) != NULL))
                url = q;
        if (url) {
            const char *us = url;
            while (us > w && (isalnum((unsigned char)us[-1]) || strchr("+.-:", us[-1]) != NULL))
                us--;
            put(&o, w, (size_t)(us - w));
            size_t need = lh_redact_dsn(us, NULL, 0);
            if (o.len + 1 < o.cap)
                lh_redact_dsn(us, o.p + o.len, o.cap - o.len);
            o.len += need;
            return finish(&o);
        }
        /* user:pass@host: masked from the first ':' to the last '@' */
        const char *at = memchr(w, '@', (size_t)(pe - w));
        const char *colon = at ? memchr(w, ':', (size_t)(at - w)) : NULL;
        if (colon) {
            const char *last = at;
            for (const char *q = at; q < pe; q++)
                if (*q == '@')
                    last = q;
            put(&o, w, (size_t)(colon + 1 - w));
            puts_(&o, "***");
            put(&o, last, (size_t)(pe - last));
        } else {
            put(&o, w, (size_t)(pe - w));
        }
        if (eq) {
            /* key=value: the value goes, quotes and all; unquoted, it may
             * have had spaces in it, so all the rest of the text goes */
            put(&o, ks, (size_t)(eq + 1 - ks));
            if (eq[1] != '\'' && eq[1] != '"') {
                puts_(&o, "***");
                return finish(&o);
            }
            /* quoted: the mask keeps the quotes, so that a second pass
             * reads it as quoted too (and keeps what follows), as
             * lh_redact_dsn masks a quoted value */
            put(&o, eq + 1, 1);
            puts_(&o, "***");
            put(&o, eq + 1, 1);
            i = (size_t)(eq + 1 - s) + value_len(eq + 1);
        } else {
            i = (size_t)(we - s);
        }
    }
    return finish(&o);
}

void lh_redact_secret(char *msg, size_t cap, const char *secret)
{
    if (!msg || cap == 0 || !secret || !*secret)
        return;
    size_t sl = strlen(secret), len = strnlen(msg, cap - 1);
    bool full = len == cap - 1;
    msg[len] = '\0';
    size_t i = 0;
    while (i + sl <= len) {
        if (memcmp(msg + i, secret, sl) != 0) {
            i++;
            continue;
        }
        size_t tail = len - i - sl, mask = 3;
        if (i + mask > cap - 1)
            mask = cap - 1 - i;
        if (i + mask + tail > cap - 1)
            tail = cap - 1 - i - mask;
        memmove(msg + i + mask, msg + i + sl, tail);
        memset(msg + i, '*', mask);
        len = i + mask + tail;
        msg[len] = '\0';
        i += mask; /* past the mask: it is never looked at again (mask >= 1) */
    }
    /* a message cut at its buffer may end in the start of the secret */
    if (full) {
        size_t k = sl - 1 < len ? sl - 1 : len;
        for (; k > 0; k--)
            if (memcmp(msg + len - k, secret, k) == 0) {
                memset(msg + len - k, '*', k);
                break;
            }
    }
}

/* Scrubs the raw and the decoded form of part, and of 3 or more bytes,
 * each of its words (pieces >= 1: a backslash may have joined two), and
 * with pieces >= 2 (a refused DSN: a password whose tail a bad split put
 * somewhere else) each run of its first words and each run between URL
 * delimiters. */
static void scrub_part(char *msg, size_t cap, const struct lh_dsn *d, struct lh_dsn_part part,
                       size_t pieces)
{
    char buf[LH_DSN_MAX + 1];
    if (!part.p || part.n == 0 || part.n > LH_DSN_MAX)
        return;
    memcpy(buf, part.p, part.n);
    buf[part.n] = '\0';
    lh_redact_secret(msg, cap, buf);
    /* refused key=value: where an unquoted password ends is a guess, so
     * every run of whole words from its start, the longest first */
    for (size_t i = part.n - 1; pieces >= 2 && i >= 3; i--) {
        if (!isspace((unsigned char)buf[i]) || isspace((unsigned char)buf[i - 1]))
            continue;
        char c = buf[i];
        buf[i] = '\0';
        lh_redact_secret(msg, cap, buf);
        buf[i] = c;
    }
    /* the words of it, then the pieces between URL delimiters */
    static const char *const cuts[] = {" \t\n\v\f\r", "@/?#:&= \t\n\v\f\r"};
    for (size_t k = 0; k < pieces && k < 2; k++) {
        for (size_t i = 0; i < part.n;) {
            size_t w = strcspn(buf + i, cuts[k]);
            if (w >= 3) {
                char c = buf[i + w];
                buf[i + w] = '\0';
                lh_redact_secret(msg, cap, buf + i);
                buf[i + w] = c;
            }
            i += w ? w : 1;
        }
    }
    if (lh_dsn_decode(d, part, buf, sizeof buf) < sizeof buf)
        lh_redact_secret(msg, cap, buf);
}

void lh_redact_scrub(char *msg, size_t cap, const char *dsn)
{
    if (!msg || cap == 0)
        return;
    struct lh_dsn d;
    if (dsn && *dsn && lh_dsn_parse(dsn, &d, NULL) == LH_OK) {
        if (d.form == LH_DSN_URL)
            scrub_part(msg, cap, &d, d.password, 1);
        size_t pos = 0;
        struct lh_dsn_part k, v;
        while (lh_dsn_param_next(&d, &pos, &k, &v))
            if (secret_key(k.p, k.n))
                scrub_part(msg, cap, &d, v, 1);
    } else if (dsn && *dsn) {
        /* refused: whatever the cautious redaction would hide */
        memset(&d, 0, sizeof d);
        d.text = dsn;
        const char *auth = scheme_end(dsn);
        if (auth) {
            d.form = LH_DSN_URL;
            const char *at = strrchr(auth, '@');
            const char *colon = memchr(auth, ':', at ? (size_t)(at - auth) : strcspn(auth, "/?#"));
            const char *pe = at ? at : dsn + strlen(dsn); /* no '@': the rest */
            if (colon)
                scrub_part(msg, cap, &d, (struct lh_dsn_part){colon + 1, (size_t)(pe - colon - 1)},
                           2);
        } else {
            d.form = LH_DSN_KEYVALUE;
            for (const char *p = dsn; (p = strchr(p, '=')) != NULL; p++) {
                const char *ks = p;
                while (ks > dsn && isspace((unsigned char)ks[-1]))
                    ks--;
                const char *ke = ks;
                while (ks > dsn && !isspace((unsigned char)ks[-1]))
                    ks--;
                if (!secret_key(ks, (size_t)(ke - ks)))
                    continue;
                const char *vs = p + 1;
                while (isspace((unsigned char)*vs))
                    vs++;
                /* refused: an unquoted password with spaces may run on over
                 * words that look like pairs, so all the rest is suspect */
                const char *ve = vs + strlen(vs);
                scrub_part(msg, cap, &d, (struct lh_dsn_part){vs, (size_t)(ve - vs)}, 2);
            }
        }
    }
    char *tmp = malloc(cap);
    if (!tmp) {
        snprintf(msg, cap, "***");
        return;
    }
    lh_redact_text(msg, tmp, cap);
    memcpy(msg, tmp, strlen(tmp) + 1);
    free(tmp);
}

void lh_redact_log_line(char *line, size_t cap, const char *secret, const char *dsn,
                        const char *fmt, va_list ap)
{
    if (cap == 0)
        return;
    int n = vsnprintf(line, cap, fmt, ap);
    if (n >= (int)cap && cap >= 64) /* say it was cut, in place of the tail */
        snprintf(line + cap - 32, 32, "... (%d bytes in all)", n);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    lh_redact_secret(line, cap, secret);
    lh_redact_scrub(line, cap, dsn);
}
