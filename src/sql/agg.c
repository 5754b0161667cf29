/*
 * agg.c — native GROUP BY: recognise a simple aggregate query and rewrite
 * it over an aggregating table.
 *
 *   SELECT status, count(*), sum(amount) FROM orders GROUP BY status
 *
 * SQLite runs an aggregate one row at a time through its VM (about 13x
 * DuckDB on 10 M rows, issue 7). For this shape the engine instead creates
 * an aggregating instance of the lakehouse table (vtab.c, agg mode), which
 * scans the Parquet row groups and aggregates in C, one output row per
 * group, and runs
 *
 *   SELECT "status" AS "status", min("__lh_a0") AS "count(*)",
 *          min("__lh_a1") AS "sum(amount)"
 *   FROM temp."lh_agg" GROUP BY "status"
 *
 * min() over the single row of each group returns that value unchanged, and
 * the outer GROUP BY keeps SQLite's own output order, names and types.
 *
 * What qualifies (anything else runs as written):
 *   SELECT item, ... FROM table GROUP BY column
 *     [ORDER BY name-or-ordinal [ASC|DESC], ...] [LIMIT n [OFFSET m]] [;]
 * where an item is the grouping column, count(*), or count / sum / total /
 * avg / min / max of a column, each with an optional alias; ORDER BY names
 * a result column or the grouping column. No WHERE, HAVING, joins,
 * expressions or DISTINCT. Column types are checked when the table is
 * created (vtab.c); the values are SQLite's, bit for bit (see agg_*() in
 * vtab.c and docs/sql.md).
 */
#include "sql_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum tk { TK_END, TK_ID, TK_QID, TK_INT, TK_PUNCT, TK_BAD };

struct tok {
    enum tk k;
    const char *p; /* in the statement */
    size_t n;
};

struct lexer {
    const char *s;
    size_t i;
};

static struct tok lex(struct lexer *x)
{
    const char *s = x->s;
    for (;;) {
        while (isspace((unsigned char)s[x->i]))
            x->i++;
        if (s[x->i] == '-' && s[x->i + 1] == '-') { /* comment to end of line */
            while (s[x->i] && s[x->i] != '\n')
                x->i++;
            continue;
        }
        break;
    }
    struct tok t = {TK_END, s + x->i, 0};
    unsigned char c = (unsigned char)s[x->i];
    if (!c)
        return t;
    if (isalpha(c) || c == '_') {
        size_t j = x->i;
        while (isalnum((unsigned char)s[j]) || s[j] == '_')
            j++;
        t.k = TK_ID, t.n = j - x->i, x->i = j;
    } else if (isdigit(c)) {
        size_t j = x->i;
        while (isdigit((unsigned char)s[j]))
            j++;
        if (isalpha((unsigned char)s[j]) || s[j] == '.' || s[j] == '_')
            t.k = TK_BAD;
        else
            t.k = TK_INT;
        t.n = j - x->i, x->i = j;
    } else if (c == '"') {
        size_t j = x->i + 1;
        for (;;) {
            if (!s[j]) {
                t.k = TK_BAD;
                return t;
            }
            if (s[j] == '"') {
                if (s[j + 1] == '"') {
                    j += 2;
                    continue;
                }
                break;
            }
            j++;
        }
        t.k = TK_QID, t.n = j + 1 - x->i, x->i = j + 1;
    } else if (strchr("(),*;", (int)c)) {
        t.k = TK_PUNCT, t.n = 1, x->i++;
    } else {
        t.k = TK_BAD, t.n = 1;
    }
    return t;
}

static bool kw(const struct tok *t, const char *w)
{
    return t->k == TK_ID && strlen(w) == t->n && strncasecmp(t->p, w, t->n) == 0;
}

static bool punct(const struct tok *t, char c)
{
    return t->k == TK_PUNCT && t->p[0] == c;
}

static bool is_name(const struct tok *t)
{
    static const char *const reserved[] = {"select", "from", "where", "group", "by", "order",
                                           "limit", "offset", "as", "asc", "desc", "having",
                                           "join", "on", "union", "distinct", "all", NULL};
    if (t->k == TK_QID)
        return true;
    if (t->k != TK_ID)
        return false;
    for (int i = 0; reserved[i]; i++)
        if (kw(t, reserved[i]))
            return false;
    return true;
}

/* The identifier a name token spells (quotes removed, "" unescaped). */
static bool name_of(const struct tok *t, char *out, size_t cap)
{
    size_t o = 0;
    if (t->k == TK_ID) {
        if (t->n >= cap)
            return false;
        memcpy(out, t->p, t->n);
        out[t->n] = '\0';
        return true;
    }
    for (size_t i = 1; i + 1 < t->n; i++) {
        if (o + 1 >= cap)
            return false;
        out[o++] = t->p[i];
        if (t->p[i] == '"')
            i++;
    }
    out[o] = '\0';
    return true;
}

/* SQLite matches column names without regard to ASCII case. */
static bool same_name(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static const char *const fnames[] = {"count", "sum", "total", "avg", "min", "max"};
static const char fcodes[] = {'N', 'S', 'T', 'A', 'm', 'M'};

static bool hex_append(sqlite3_str *s, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        sqlite3_str_appendf(s, "%02x", *p);
    return true;
}

void lh_sql_agg_plan_free(struct lh_sql_agg_plan *pl)
{
    sqlite3_free(pl->spec);
    sqlite3_free(pl->sql);
    memset(pl, 0, sizeof *pl);
}

bool lh_sql_agg_plan(const char *sql, const char *table_as, struct lh_sql_agg_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    struct lexer x = {sql, 0};
    struct tok t = lex(&x);
    if (!kw(&t, "select"))
        return false;
    struct item {
        char code; /* 'G' grouping column, 'C' count(*), or fcodes */
        char col[LH_SQL_AGG_NAME_MAX];
        const char *span;
        size_t spann;
        char alias[LH_SQL_AGG_NAME_MAX];
        bool user_alias; /* written with AS: ORDER BY may name it */
    } items[LH_SQL_AGG_MAX];
    size_t nitems = 0;
    for (;;) {
        if (nitems == LH_SQL_AGG_MAX)
            return false;
        struct item *it = &items[nitems++];
        memset(it, 0, sizeof *it);
        t = lex(&x);
        it->span = t.p;
        struct tok f = t;
        t = lex(&x);
        if (punct(&t, '(')) {
            int fi = -1;
            for (int i = 0; i < 6; i++)
                if (kw(&f, fnames[i]))
                    fi = i;
            if (fi < 0)
                return false;
            t = lex(&x);
            if (punct(&t, '*')) {
                if (fi != 0)
                    return false;
                it->code = 'C';
            } else if (is_name(&t)) {
                it->code = fcodes[fi];
                if (!name_of(&t, it->col, sizeof it->col))
                    return false;
            } else {
                return false;
            }
            t = lex(&x);
            if (!punct(&t, ')'))
                return false;
            it->spann = (size_t)(t.p + 1 - it->span);
            t = lex(&x);
        } else if (is_name(&f)) {
            it->code = 'G';
            if (!name_of(&f, it->col, sizeof it->col))
                return false;
            it->spann = f.n;
        } else {
            return false;
        }
        if (kw(&t, "as")) {
            t = lex(&x);
            if (!is_name(&t))
                return false;
        }
        if (is_name(&t)) {
            if (!name_of(&t, it->alias, sizeof it->alias))
                return false;
            it->user_alias = true;
            t = lex(&x);
        }
        if (punct(&t, ','))
            continue;
        break;
    }
    if (!kw(&t, "from"))
        return false;
    t = lex(&x);
    if (!is_name(&t) || !name_of(&t, pl->table, sizeof pl->table))
        return false;
    t = lex(&x);
    if (!kw(&t, "group"))
        return false;
    t = lex(&x);
    if (!kw(&t, "by"))
        return false;
    t = lex(&x);
    char gcol[LH_SQL_AGG_NAME_MAX];
    if (!is_name(&t) || !name_of(&t, gcol, sizeof gcol))
        return false;
    t = lex(&x);
    /* bare columns must be the grouping column; aggregates get a slot */
    size_t naggs = 0;
    for (size_t i = 0; i < nitems; i++) {
        if (items[i].code == 'G' && !same_name(items[i].col, gcol))
            return false;
        if (!items[i].alias[0]) {
            if (items[i].spann >= sizeof items[i].alias)
                return false;
            memcpy(items[i].alias, items[i].span, items[i].spann);
            items[i].alias[items[i].spann] = '\0';
        }
        if (items[i].code != 'G')
            naggs++;
    }
    if (!naggs)
        return false; /* a DISTINCT in disguise: the grouped scan handles it */
    /* the tail: ORDER BY result names / ordinals, LIMIT, OFFSET */
    const char *tail = t.p;
    if (kw(&t, "order")) {
        t = lex(&x);
        if (!kw(&t, "by"))
            return false;
        for (;;) {
            t = lex(&x);
            if (t.k == TK_INT) {
                long v = strtol(t.p, NULL, 10);
                if (v < 1 || (size_t)v > nitems)
                    return false;
            } else if (is_name(&t)) {
                char nm[LH_SQL_AGG_NAME_MAX];
                if (!name_of(&t, nm, sizeof nm))
                    return false;
                bool ok = same_name(nm, gcol);
                for (size_t i = 0; i < nitems && !ok; i++)
                    ok = items[i].user_alias && same_name(nm, items[i].alias);
                if (!ok)
                    return false;
            } else {
                return false;
            }
            t = lex(&x);
            if (kw(&t, "asc") || kw(&t, "desc"))
                t = lex(&x);
            if (!punct(&t, ','))
                break;
        }
    }
    if (kw(&t, "limit")) {
        t = lex(&x);
        if (t.k != TK_INT)
            return false;
        t = lex(&x);
        if (kw(&t, "offset")) {
            t = lex(&x);
            if (t.k != TK_INT)
                return false;
            t = lex(&x);
        }
    }
    const char *tail_end = t.p;
    while (punct(&t, ';'))
        t = lex(&x);
    if (t.k != TK_END)
        return false;

    /* the spec for the table (hex names: any byte is safe) and the query */
    sqlite3_str *sp = sqlite3_str_new(NULL);
    hex_append(sp, gcol);
    sqlite3_str *q = sqlite3_str_new(NULL);
    sqlite3_str_appendall(q, "SELECT ");
    size_t a = 0;
    for (size_t i = 0; i < nitems; i++) {
        if (i)
            sqlite3_str_appendall(q, ", ");
        if (items[i].code == 'G') {
            /* unaliased, SQLite names a column by its declared name, which
             * the aggregating table shares */
            if (items[i].user_alias)
                sqlite3_str_appendf(q, "\"%w\" AS \"%w\"", gcol, items[i].alias);
            else
                sqlite3_str_appendf(q, "\"%w\"", gcol);
            continue;
        }
        sqlite3_str_appendf(sp, ".%c", items[i].code);
        if (items[i].code != 'C')
            hex_append(sp, items[i].col);
        sqlite3_str_appendf(q, "min(\"__lh_a%d\") AS \"%w\"", (int)a++, items[i].alias);
    }
    sqlite3_str_appendf(q, " FROM temp.\"%w\" GROUP BY \"%w\" %.*s", table_as, gcol,
                        (int)(tail_end - tail), tail);
    pl->naggs = naggs;
    pl->spec = sqlite3_str_finish(sp);
    pl->sql = sqlite3_str_finish(q);
    if (!pl->spec || !pl->sql) {
        lh_sql_agg_plan_free(pl);
        return false;
    }
    return true;
}
