/*
 * dsn.c — what the source module adds to core's DSN parser (lh_dsn_parse):
 * the check every DSN passes before a driver sees it (src_dsn_check), and
 * the mysql:// / mariadb:// URL as our MySQL client wants it (src_url_parse:
 * percent-decoded arena strings, ?socket=, ?password=).
 *
 * PostgreSQL DSNs are then parsed again by libpq itself; the check makes
 * sure libpq reads them as we do, so no libpq message can quote part of a
 * password (libpq names the host, port, database and unknown parameters in
 * its errors).
 */
#include "source_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

/* Whether key names a libpq connection parameter (or the URL-only
 * "ssl=true"). */
static bool pg_known_key(struct lh_dsn_part key, bool url)
{
    if (url && lh_dsn_part_is(key, "ssl"))
        return true;
    PQconninfoOption *defs = PQconndefaults();
    if (!defs)
        return true; /* out of memory: libpq will say so */
    bool found = false;
    for (PQconninfoOption *o = defs; o->keyword && !found; o++)
        found = lh_dsn_part_is(key, o->keyword);
    PQconninfoFree(defs);
    return found;
}

enum lh_status src_dsn_check(enum lh_source_kind kind, const char *dsn, struct lh_error *err)
{
    const char *name = lh_source_kind_name(kind);
    struct lh_dsn d;
    struct lh_error e;
    if (lh_dsn_parse(dsn, &d, &e) != LH_OK)
        return lh_error_set(err, e.status, "%s %s", name, e.msg);
    if (kind == LH_SOURCE_MYSQL) {
        if (d.form != LH_DSN_URL ||
            !(lh_dsn_part_is(d.scheme, "mysql") || lh_dsn_part_is(d.scheme, "mariadb")))
            return lh_error_set(err, LH_E_INVAL,
                                "mysql DSN: must start with mysql:// or mariadb://");
        if (d.nhosts > 1)
            return lh_error_set(err, LH_E_INVAL, "mysql DSN: one host only");
        return LH_OK;
    }
    /* libpq reads anything that is not one of its two URL schemes as a
     * key=value list, and quotes what it cannot read */
    if (d.form == LH_DSN_URL &&
        !(lh_dsn_part_is(d.scheme, "postgresql") || lh_dsn_part_is(d.scheme, "postgres")))
        return lh_error_set(err, LH_E_INVAL,
                            "postgres DSN: must be a postgresql:// URL or key=value pairs");
    size_t pos = 0;
    unsigned i = 0;
    struct lh_dsn_part k, v;
    while (lh_dsn_param_next(&d, &pos, &k, &v)) {
        i++;
        if (!pg_known_key(k, d.form == LH_DSN_URL))
            /* not named: after an unquoted password with a space, the
             * "name" is the password's tail */
            return lh_error_set(err, LH_E_INVAL,
                                "postgres DSN: parameter %u is not a libpq connection parameter "
                                "(a value with spaces goes in single quotes: password='a b')",
                                i);
    }
    return LH_OK;
}

/* Percent-decodes part into an arena string. */
static char *decode(struct lh_source *s, const struct lh_dsn *d, struct lh_dsn_part part)
{
    size_t n = lh_dsn_decode(d, part, NULL, 0);
    char *o = lh_arena_alloc(&s->arena, n + 1);
    if (o)
        lh_dsn_decode(d, part, o, n + 1);
    return o;
}

enum lh_status src_url_parse(struct lh_source *s, const char *dsn, struct src_url *u,
                             struct lh_error *err)
{
    memset(u, 0, sizeof *u);
    enum lh_status st = src_dsn_check(LH_SOURCE_MYSQL, dsn, err);
    if (st)
        return st;
    struct lh_dsn d;
    if ((st = lh_dsn_parse(dsn, &d, err)))
        return st;
    struct lh_dsn_part host = d.hosts;
    if (host.n && host.p[0] == '[') { /* [v6]:port */
        const char *rb = memchr(host.p, ']', host.n);
        host = (struct lh_dsn_part){host.p + 1, (size_t)(rb - host.p - 1)};
    } else if (host.n) {
        const char *colon = memchr(host.p, ':', host.n);
        if (colon)
            host.n = (size_t)(colon - host.p);
    }
    u->port = d.port;
    struct {
        char **dst;
        struct lh_dsn_part part;
    } parts[] = {
        {&u->user, d.user},
        {&u->password, lh_dsn_password(&d)},
        {&u->host, host},
        {&u->db, d.db.n ? d.db : (struct lh_dsn_part){NULL, 0}},
        {&u->socket, lh_dsn_param(&d, "socket")},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i].part.p && !(*parts[i].dst = decode(s, &d, parts[i].part)))
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
    /* unknown parameters are ignored, but say so (by position: a name
     * could be a password's tail) */
    size_t pos = 0;
    unsigned i = 0;
    struct lh_dsn_part k, v;
    while (lh_dsn_param_next(&d, &pos, &k, &v)) {
        i++;
        if (!lh_dsn_part_is(k, "socket") && !lh_dsn_part_is(k, "password"))
            lh_debug("source: ignoring mysql DSN parameter %u", i);
    }
    return LH_OK;
}
