/*
 * pg.c — the PostgreSQL driver (libpq).
 *
 * open: connect, BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, resolve
 * the table and its columns from pg_attribute (domains followed down to
 * their base type and typmod), then start
 *   COPY (SELECT cols FROM t [WHERE (where) AND cursor > lit] [ORDER BY ..]
 *         [LIMIT n]) TO STDOUT (FORMAT binary)
 * A parallel read (docs/ingest.md "Parallel reads"): the leader exports
 * its snapshot and reads the first of N ctid ranges, or with order_by on a
 * unique NOT NULL integer key the first of N ranges of the key, in key
 * order (pg_plan_parallel decides, or falls back to one connection and
 * logs why) and keeps its transaction open past the COPY; a part imports
 * the snapshot right after BEGIN and reads its range (a key range comes in
 * the options).
 * A query source reads FROM (query) AS lh_t instead; its columns come from
 * the row description of `SELECT * FROM (query) AS lh_t LIMIT 0` (base
 * type oid and typmod per column), mapped by the same rules as a table's.
 * fill: PQgetCopyData hands out one CopyData message at a time and
 * pg_copy.c decodes the tuples straight from that buffer into the column
 * builders.
 *
 * Types the binary format carries natively are decoded here (see
 * docs/types.md); inet/cidr/macaddr/bit/xml and unknown types are asked of
 * the server as `col::text` (unknown ones with a warning).
 *
 * Every wait is the reader's own: the connect (PQconnectStartParams +
 * PQconnectPoll), each query (PQsendQuery + PQconsumeInput) and the COPY
 * stream (PQgetCopyData in async mode) poll the socket beside the source's
 * wake pipe (src_wait). So lh_source_cancel, from any thread, only sets the
 * flag and writes the pipe; the reader then asks the server to cancel and
 * repeats it until the server answers (a cancel that reaches the backend
 * before the query starts is dropped by the server), for at most
 * STOP_WAIT_NS, and fails with LH_E_CANCELLED. No driver state is shared
 * with the cancelling thread.
 *
 * Nothing waits on the server without a bound (issue 12 item 8): PQcancel
 * connects and then blocks in recv() until the server closes the cancel
 * connection, which a frozen server (SIGSTOP, a stalled link) never does.
 * So each PQcancel runs on a small detached thread that nobody joins (it
 * owns its PGcancel and ends when the server answers or the link dies);
 * the reader only watches its own socket and the clock. When the server
 * has not stopped the query by STOP_WAIT_NS, the reader shuts the socket
 * down (shutdown(2)) and gives up on the connection. With a statement
 * timeout, every statement also has a client-side deadline (the timeout
 * plus DEADLINE_GRACE_NS): a server that neither answers nor times itself
 * out by then is unresponsive, and the read fails with LH_E_TIMEOUT
 * ("timed out"). TCP keepalives notice a peer that vanished.
 *
 * Thread: one reader thread (plus the detached PQcancel threads, which
 * touch nothing but their own PGcancel).
 */
#include "source_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* After a cancel: how long the reader waits for the server to stop the
 * query, and how often it repeats PQcancel meanwhile. */
#define STOP_WAIT_NS (2 * 1000000000LL)
#define STOP_RESEND_NS (250 * 1000000LL)
/* With a statement timeout: how long past it the client waits for the
 * server's own timeout error before it calls the server unresponsive. */
#define DEADLINE_GRACE_NS (2 * 1000000000LL)

/* One PQcancel in flight on its own detached thread. refs: the reader and
 * the thread; the last one frees. */
struct pg_canceller {
    PGcancel *cancel;
    atomic_bool done;
    atomic_int refs;
};

struct pg_impl {
    PGconn *conn;
    struct pg_col *pcols;
    bool in_copy;
    bool in_query;                  /* a query was sent and its results are not all read */
    bool broken;                    /* the socket was shut down: nothing more is read or sent */
    int64_t deadline_ns;            /* client-side deadline of the statement in flight (0: none) */
    struct pg_canceller *canceller; /* the last PQcancel started, or NULL */
    char *msg;                      /* current CopyData message (libpq memory) */
    struct pg_stream stream;
};

/* ------------------------------------------------------------ messages */

/* One line of libpq/server text: newlines and tabs to spaces, trimmed. */
static void one_line(char *out, size_t cap, const char *in)
{
    size_t j = 0;
    bool space = false;
    for (const char *p = in ? in : ""; *p && j + 1 < cap; p++) {
        char ch = *p;
        if (ch == '\n' || ch == '\t' || ch == '\r')
            ch = ' ';
        if (ch == ' ') {
            if (space || j == 0)
                continue;
            space = true;
        } else {
            space = false;
        }
        out[j++] = ch;
    }
    while (j > 0 && out[j - 1] == ' ')
        j--;
    out[j] = '\0';
}

static enum lh_status status_from_sqlstate(const char *st, const char *msg)
{
    if (!st)
        return LH_E_SOURCE;
    if (!strcmp(st, "42501"))
        return LH_E_PERM;
    if (!strcmp(st, "42P01") || !strcmp(st, "3F000"))
        return LH_E_NOTFOUND;
    if (!strncmp(st, "28", 2))
        return LH_E_AUTH;
    if (!strcmp(st, "57014"))
        return msg && strstr(msg, "statement timeout") ? LH_E_TIMEOUT : LH_E_CANCELLED;
    if (!strncmp(st, "57P", 3) || !strncmp(st, "08", 2))
        return LH_E_CONNECT;
    return LH_E_SOURCE;
}

/* libpq's notice receiver: server NOTICE/WARNING messages (and a FATAL that
 * arrives while no query is running, e.g. at a server shutdown) go to our
 * log as one scrubbed line instead of libpq's default, which prints them
 * raw on stderr. Runs on the reader thread, inside libpq calls. */
static void pg_notice(void *arg, const PGresult *res)
{
    struct lh_source *s = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    char line[600];
    one_line(line, sizeof line, primary ? primary : PQresultErrorMessage(res));
    lh_redact_secret(line, sizeof line, s->secret);
    lh_redact_scrub(line, sizeof line, s->dsn);
    if (!sev)
        sev = "NOTICE";
    enum lh_log_level lvl = LH_LOG_DEBUG;
    if (!strcmp(sev, "WARNING") || !strcmp(sev, "ERROR") || !strcmp(sev, "FATAL") ||
        !strcmp(sev, "PANIC"))
        lvl = LH_LOG_WARN;
    else if (!strcmp(sev, "NOTICE") || !strcmp(sev, "INFO"))
        lvl = LH_LOG_INFO;
    char low[16];
    size_t i = 0;
    for (; sev[i] && i + 1 < sizeof low; i++)
        low[i] = (char)(sev[i] >= 'A' && sev[i] <= 'Z' ? sev[i] - 'A' + 'a' : sev[i]);
    low[i] = '\0';
    lh_log(lvl, "postgres %s: server %s: %s", s->server[0] ? s->server : "source", low, line);
    src_log(s, lvl, "server %s: %s", low, line);
}

/* Sets err from a failed result (or the connection when res is NULL). */
static enum lh_status pg_fail(struct lh_source *s, PGresult *res, const char *what,
                              struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    char line[400];
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    one_line(line, sizeof line, primary ? primary : PQerrorMessage(pg->conn));
    enum lh_status st = status_from_sqlstate(sqlstate, line);
    if (atomic_load(&s->cancelled))
        return lh_error_set(err, LH_E_CANCELLED, "postgres %s: %s: cancelled", s->server, what);
    if (PQstatus(pg->conn) == CONNECTION_BAD && st == LH_E_SOURCE)
        st = LH_E_CONNECT;
    if (st == LH_E_CONNECT && pg->in_copy)
        return lh_error_set(err, st, "postgres %s: connection lost mid-stream: %s", s->server,
                            line);
    if (st == LH_E_TIMEOUT)
        return lh_error_set(err, st, "postgres %s: %s: statement timeout (%s)", s->server, what,
                            line);
    return lh_error_set(err, st, "postgres %s: %s: %s", s->server, what, line);
}

/* Reads and drops everything the server still sends for the query in
 * flight (COPY data included) until it is idle. */
static bool pg_drain_ready(struct pg_impl *pg)
{
    for (;;) {
        if (pg->in_copy) {
            char *m = NULL;
            int rc;
            while ((rc = PQgetCopyData(pg->conn, &m, 1)) > 0)
                PQfreemem(m);
            if (rc == 0)
                return false; /* more to come */
            pg->in_copy = false;
        }
        if (PQisBusy(pg->conn))
            return false;
        PGresult *r = PQgetResult(pg->conn);
        if (!r) {
            pg->in_query = false;
            return true;
        }
        if (PQresultStatus(r) == PGRES_COPY_OUT)
            pg->in_copy = true;
        PQclear(r);
    }
}

static void canceller_release(struct pg_canceller *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        PQfreeCancel(c->cancel);
        free(c);
    }
}

static void *canceller_main(void *arg)
{
    struct pg_canceller *c = arg;
    char buf[256];
    (void)PQcancel(c->cancel, buf, sizeof buf);
    atomic_store(&c->done, true);
    canceller_release(c);
    return NULL;
}

/* Starts one PQcancel on a detached thread unless the previous one is still
 * waiting for the server (then one more would not help). */
static void pg_cancel_async(struct pg_impl *pg)
{
    if (pg->canceller && !atomic_load(&pg->canceller->done))
        return;
    canceller_release(pg->canceller);
    pg->canceller = NULL;
    struct pg_canceller *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->cancel = PQgetCancel(pg->conn);
    if (!c->cancel) {
        free(c);
        return;
    }
    atomic_init(&c->done, false);
    atomic_init(&c->refs, 2);
    if (!src_detach(canceller_main, c, 256 * 1024)) {
        PQfreeCancel(c->cancel);
        free(c);
        return;
    }
    pg->canceller = c;
}

/* The last resort: the server does not answer, so stop waiting for it.
 * shutdown(2) ends the TCP connection from our side at once (no FIN or
 * data from the server is needed); libpq then sees a broken connection. */
static void pg_abandon(struct pg_impl *pg)
{
    if (pg->broken || !pg->conn)
        return;
    int fd = PQsocket(pg->conn);
    if (fd >= 0)
        (void)shutdown(fd, SHUT_RDWR);
    pg->broken = true;
    pg->in_copy = false;
    pg->in_query = false;
}

/* The reader was cancelled with a query in flight: a cancel request,
 * repeated every STOP_RESEND_NS (each on its own thread, see the header),
 * until the server is idle or STOP_WAIT_NS pass, so the query does not run
 * on after the run gave up. A server that never gets there is abandoned. */
static void pg_stop_query(struct lh_source *s)
{
    struct pg_impl *pg = s->impl;
    if (!pg->conn || pg->broken || !(pg->in_query || pg->in_copy))
        return;
    int64_t now = lh_time_mono_ns(), end = now + STOP_WAIT_NS, resend = now;
    while (now < end) {
        if (now >= resend) {
            pg_cancel_async(pg);
            resend = now + STOP_RESEND_NS;
        }
        if (!PQconsumeInput(pg->conn) || pg_drain_ready(pg))
            return;
        struct pollfd p = {.fd = PQsocket(pg->conn), .events = POLLIN};
        int64_t until = resend < end ? resend : end;
        now = lh_time_mono_ns();
        int ms = until > now ? (int)((until - now) / 1000000 + 1) : 0;
        (void)poll(&p, 1, ms);
        now = lh_time_mono_ns();
    }
    lh_warn("postgres %s: the server did not stop the query within %lld ms of the cancel; "
            "closing the connection",
            s->server, (long long)(STOP_WAIT_NS / 1000000));
    pg_abandon(pg);
}

/* Waits for the socket (reading, or writing when want_write), the cancel or
 * the deadline (0: none). A cancel stops the query in flight first. */
static enum lh_status pg_wait(struct lh_source *s, bool want_write, int64_t deadline_ns,
                              const char *what, struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    switch (src_wait(s, PQsocket(pg->conn), want_write ? POLLOUT : POLLIN, deadline_ns)) {
    case SRC_READY:
        return LH_OK;
    case SRC_CANCELLED:
        pg_stop_query(s);
        return src_check_cancel(s, what, err);
    case SRC_TIMEOUT:
        if (pg->in_query || pg->in_copy) {
            /* the statement deadline: the server's own timeout did not come */
            pg_abandon(pg);
            return lh_error_set(err, LH_E_TIMEOUT,
                                "postgres %s: %s: timed out: no answer from the server within "
                                "the statement timeout (%lld ms) + %lld s; closed the connection",
                                s->server, what, (long long)s->opt.statement_timeout_ms,
                                (long long)(DEADLINE_GRACE_NS / 1000000000LL));
        }
        return lh_error_set(err, LH_E_CONNECT, "postgres %s: %s: timed out", s->server, what);
    default:
        return lh_error_set(err, LH_E_IO, "postgres %s: %s: poll: %s", s->server, what,
                            strerror(errno));
    }
}

/* Like PQexec, but every wait watches the cancel: sends sql (with nparams
 * text parameters; params non-NULL, even with nparams 0, sends it over the
 * extended protocol, which runs one statement only: every statement that
 * carries the operator's query or where text goes that way, so a ';' in
 * it can never end the read-only transaction) and returns the first failed result, else the last
 * one (a COPY result ends the collection). NULL with *st set on a cancel or a failed send. The
 * caller PQclears the result. */
static PGresult *pg_query(struct lh_source *s, const char *sql, int nparams,
                          const char *const *params, const char *what, enum lh_status *st,
                          struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    if ((*st = src_check_cancel(s, what, err)))
        return NULL;
    if (pg->broken) {
        *st = lh_error_set(err, LH_E_CONNECT, "postgres %s: %s: the connection was closed",
                           s->server, what);
        return NULL;
    }
    pg->deadline_ns =
        s->opt.statement_timeout_ms > 0
            ? lh_time_mono_ns() + s->opt.statement_timeout_ms * 1000000 + DEADLINE_GRACE_NS
            : 0;
    int sent = params ? PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                      : PQsendQuery(pg->conn, sql);
    if (!sent) {
        *st = pg_fail(s, NULL, what, err);
        return NULL;
    }
    pg->in_query = true;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(pg->conn)) {
            if ((*st = pg_wait(s, false, pg->deadline_ns, what, err))) {
                PQclear(last);
                return NULL;
            }
            if (!PQconsumeInput(pg->conn))
                break; /* PQgetResult reports the broken connection */
        }
        PGresult *r = PQgetResult(pg->conn);
        if (!r) {
            pg->in_query = false;
            break;
        }
        ExecStatusType rs = PQresultStatus(r);
        ExecStatusType ls = last ? PQresultStatus(last) : PGRES_COMMAND_OK;
        if (ls == PGRES_FATAL_ERROR || ls == PGRES_BAD_RESPONSE) {
            PQclear(r); /* keep the first error */
        } else {
            PQclear(last);
            last = r;
        }
        if (rs == PGRES_COPY_OUT || rs == PGRES_COPY_IN || rs == PGRES_COPY_BOTH)
            break; /* in_query stays: the COPY is running */
    }
    *st = LH_OK;
    return last;
}

/* pg_query for a result of status want: another one fails the statement
 * (*st set, NULL returned). */
static PGresult *pg_query_want(struct lh_source *s, const char *sql, int nparams,
                               const char *const *params, const char *what, ExecStatusType want,
                               enum lh_status *st, struct lh_error *err)
{
    PGresult *res = pg_query(s, sql, nparams, params, what, st, err);
    if (*st == LH_OK && PQresultStatus(res) != want) {
        *st = pg_fail(s, res, what, err);
        PQclear(res);
        res = NULL;
    }
    return res;
}

/* Runs a command that returns no rows. */
static enum lh_status pg_exec(struct lh_source *s, const char *sql, const char *what,
                              struct lh_error *err)
{
    enum lh_status st;
    PGresult *res = pg_query(s, sql, 0, NULL, what, &st, err);
    if (st)
        return st;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        st = pg_fail(s, res, what, err);
    PQclear(res);
    return st;
}

/* Appends text quoted as an identifier or as a literal; a failure breaks
 * b (sticky). */
static void put_quoted(PGconn *conn, struct lh_buf *b, const char *text, bool ident)
{
    size_t n = strlen(text);
    char *q = ident ? PQescapeIdentifier(conn, text, n) : PQescapeLiteral(conn, text, n);
    if (!q) {
        b->broken = true;
        return;
    }
    lh_buf_append_str(b, q);
    PQfreemem(q);
}

static void put_ident(PGconn *conn, struct lh_buf *b, const char *name)
{
    put_quoted(conn, b, name, true);
}

static void put_literal(PGconn *conn, struct lh_buf *b, const char *text)
{
    put_quoted(conn, b, text, false);
}

/* ------------------------------------------------------------ schema */

/* Columns with domains resolved to their base type and typmod. */
static const char COLUMNS_SQL[] =
    "WITH RECURSIVE d(attnum, tid, tmod, nn, depth) AS ("
    " SELECT a.attnum, a.atttypid, a.atttypmod, a.attnotnull, 0"
    "   FROM pg_catalog.pg_attribute a"
    "  WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
    " UNION ALL"
    " SELECT d.attnum, t.typbasetype,"
    "        CASE WHEN t.typtypmod <> -1 THEN t.typtypmod ELSE d.tmod END,"
    "        d.nn OR t.typnotnull, d.depth + 1"
    "   FROM d JOIN pg_catalog.pg_type t ON t.oid = d.tid WHERE t.typtype = 'd')"
    " SELECT a.attname, b.tid, b.tmod, b.nn, t.typname, t.typtype, t.typcategory,"
    "        CASE WHEN t.typcategory = 'A' AND t.typlen = -1 THEN t.typelem ELSE 0 END,"
    "        coalesce(et.typtype, ''), coalesce(et.typname, ''),"
    "        pg_catalog.format_type(a.atttypid, a.atttypmod)"
    "   FROM (SELECT DISTINCT ON (attnum) * FROM d ORDER BY attnum, depth DESC) b"
    "   JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = b.attnum"
    "   JOIN pg_catalog.pg_type t ON t.oid = b.tid"
    "   LEFT JOIN pg_catalog.pg_type et"
    "          ON et.oid = t.typelem AND t.typcategory = 'A' AND t.typlen = -1"
    "  ORDER BY b.attnum";

/* The same rows for a query's result columns: $1 the oids and $2 the
 * typmods of its row description (the name column is left empty). */
static const char QUERY_COLUMNS_SQL[] =
    "WITH RECURSIVE i AS (SELECT x.tid, x.tmod, x.n FROM"
    "   unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS x(tid, tmod, n)),"
    " d(attnum, tid, tmod, nn, depth) AS ("
    " SELECT i.n, i.tid, i.tmod, false, 0 FROM i"
    " UNION ALL"
    " SELECT d.attnum, t.typbasetype,"
    "        CASE WHEN t.typtypmod <> -1 THEN t.typtypmod ELSE d.tmod END,"
    "        d.nn OR t.typnotnull, d.depth + 1"
    "   FROM d JOIN pg_catalog.pg_type t ON t.oid = d.tid WHERE t.typtype = 'd')"
    " SELECT '', b.tid, b.tmod, false, t.typname, t.typtype, t.typcategory,"
    "        CASE WHEN t.typcategory = 'A' AND t.typlen = -1 THEN t.typelem ELSE 0 END,"
    "        coalesce(et.typtype, ''), coalesce(et.typname, ''),"
    "        pg_catalog.format_type(i.tid, i.tmod)"
    "   FROM (SELECT DISTINCT ON (attnum) * FROM d ORDER BY attnum, depth DESC) b"
    "   JOIN i ON i.n = b.attnum"
    "   JOIN pg_catalog.pg_type t ON t.oid = b.tid"
    "   LEFT JOIN pg_catalog.pg_type et"
    "          ON et.oid = t.typelem AND t.typcategory = 'A' AND t.typlen = -1"
    "  ORDER BY b.attnum";

/* The base types that map one to one: oid, decoder, field type. */
static const struct {
    uint32_t oid;
    enum pg_kind kind;
    enum lh_type type;
} PG_TYPES[] = {
    {16, PK_BOOL, LH_T_BOOL},         /* bool */
    {21, PK_INT2, LH_T_INT16},        /* int2 */
    {23, PK_INT4, LH_T_INT32},        /* int4 */
    {20, PK_INT8, LH_T_INT64},        /* int8 */
    {26, PK_OID, LH_T_UINT32},        /* oid */
    {700, PK_FLOAT4, LH_T_FLOAT},     /* float4 */
    {701, PK_FLOAT8, LH_T_DOUBLE},    /* float8 */
    {25, PK_BYTES, LH_T_STRING},      /* text */
    {1043, PK_BYTES, LH_T_STRING},    /* varchar */
    {1042, PK_BYTES, LH_T_STRING},    /* bpchar */
    {19, PK_BYTES, LH_T_STRING},      /* name */
    {17, PK_BYTES, LH_T_BINARY},      /* bytea */
    {114, PK_BYTES, LH_T_JSON},       /* json */
    {3802, PK_JSONB, LH_T_JSON},      /* jsonb */
    {1082, PK_DATE, LH_T_DATE},       /* date */
    {1083, PK_TIME, LH_T_TIME},       /* time */
    {1266, PK_TIMETZ, LH_T_STRING},   /* timetz */
    {1114, PK_TS, LH_T_TIMESTAMP},    /* timestamp */
    {1184, PK_TS, LH_T_TIMESTAMP},    /* timestamptz: ts_utc */
    {1186, PK_INTERVAL, LH_T_STRING}, /* interval */
};

/* Maps a (base) type oid to a decoder and field type. false: not decoded
 * natively (caller reads it as text). */
static bool map_oid(uint32_t oid, int32_t tmod, const char *typtype, const char *typname,
                    struct pg_col *pc, struct lh_field *f, bool *text_ok)
{
    *text_ok = false;
    f->type = LH_T_STRING;
    pc->kind = PK_BYTES;
    for (size_t i = 0; i < sizeof PG_TYPES / sizeof PG_TYPES[0]; i++) {
        if (PG_TYPES[i].oid == oid) {
            pc->kind = PG_TYPES[i].kind;
            f->type = PG_TYPES[i].type;
            if (oid == 1184)
                f->ts_utc = true;
            return true;
        }
    }
    switch (oid) {
    case 1700: {
        if (tmod >= 4) {
            int p = ((tmod - 4) >> 16) & 0xffff;
            int sc = (((tmod - 4) & 0x7ff) ^ 1024) - 1024; /* PG 15: scale may be negative */
            if (sc < 0) {
                p -= sc;
                sc = 0;
            }
            if (sc > p)
                p = sc;
            if (p >= 1 && p <= 38) {
                pc->kind = PK_NUMERIC_DEC;
                pc->prec = (unsigned)p;
                pc->scale = (unsigned)sc;
                f->type = LH_T_DECIMAL;
                f->precision = (uint8_t)p;
                f->scale = (uint8_t)sc;
                return true;
            }
        }
        pc->kind = PK_NUMERIC_TEXT;
        return true;
    }
    case 790:
        pc->kind = PK_MONEY;
        f->type = LH_T_DECIMAL;
        f->precision = 19;
        return true;
    case 2950:
        pc->kind = PK_UUID;
        f->type = LH_T_UUID;
        f->fixed_len = 16;
        return true;
    /* documented text mappings: no warning */
    case 18:
    case 142:
    case 650:
    case 869:
    case 829:
    case 774:
    case 1560:
    case 1562:
        *text_ok = true;
        return false;
    default:
        break;
    }
    if (typtype[0] == 'e') {
        f->type = LH_T_ENUM;
        return true;
    }
    if (!strcmp(typname, "citext")) /* extension type, binary form is its text */
        return true;
    return false;
}

/* Fields from COLUMNS_SQL (a table: relid) or QUERY_COLUMNS_SQL (a query:
 * desc is the query's row description, which also names the columns). */
static enum lh_status pg_load_schema(struct lh_source *s, const char *relid, const PGresult *desc,
                                     struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    enum lh_status st;
    PGresult *res;
    if (desc) {
        int nf = PQnfields(desc);
        if (nf == 0)
            return lh_error_set(err, LH_E_INVAL, "postgres %s: the query returns no columns",
                                s->server);
        struct lh_buf oids, mods;
        lh_buf_init(&oids, 1u << 20);
        lh_buf_init(&mods, 1u << 20);
        lh_buf_append_u8(&oids, '{');
        lh_buf_append_u8(&mods, '{');
        for (int i = 0; i < nf; i++) {
            lh_buf_printf(&oids, "%s%u", i ? "," : "", (unsigned)PQftype(desc, i));
            lh_buf_printf(&mods, "%s%d", i ? "," : "", PQfmod(desc, i));
        }
        lh_buf_append_u8(&oids, '}');
        lh_buf_append_u8(&mods, '}');
        lh_buf_cstr(&oids);
        lh_buf_cstr(&mods);
        if (!lh_buf_ok(&oids) || !lh_buf_ok(&mods)) {
            lh_buf_reset(&oids);
            lh_buf_reset(&mods);
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        }
        const char *params[2] = {(const char *)oids.data, (const char *)mods.data};
        res =
            pg_query(s, QUERY_COLUMNS_SQL, 2, params, "reading the query's column types", &st, err);
        lh_buf_reset(&oids);
        lh_buf_reset(&mods);
    } else {
        const char *params[1] = {relid};
        res = pg_query(s, COLUMNS_SQL, 1, params, "reading the table's columns", &st, err);
    }
    if (st)
        return st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        st = pg_fail(s, res, "reading the table's columns", err);
        goto done;
    }
    int n = PQntuples(res);
    if (desc && n != PQnfields(desc)) {
        st = lh_error_set(err, LH_E_FORMAT, "postgres %s: the query's column types do not resolve",
                          s->server);
        goto done;
    }
    if (n == 0) {
        st = lh_error_set(err, LH_E_INVAL, "postgres %s: table %s has no columns", s->server,
                          s->opt.table);
        goto done;
    }
    s->ncols = (size_t)n;
    s->fields = lh_arena_alloc(&s->arena, s->ncols * sizeof *s->fields);
    pg->pcols = lh_arena_alloc(&s->arena, s->ncols * sizeof *pg->pcols);
    if (!s->fields || !pg->pcols) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        struct lh_field *f = &s->fields[i];
        struct pg_col *pc = &pg->pcols[i];
        const char *name = desc ? PQfname(desc, i) : PQgetvalue(res, i, 0);
        f->name = lh_arena_strndup(&s->arena, name, strlen(name));
        if (!f->name) {
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        uint32_t oid = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        int32_t tmod = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
        f->nullable = PQgetvalue(res, i, 3)[0] != 't';
        const char *typname = PQgetvalue(res, i, 4);
        const char *typtype = PQgetvalue(res, i, 5);
        uint32_t elem = (uint32_t)strtoul(PQgetvalue(res, i, 7), NULL, 10);
        const char *etyptype = PQgetvalue(res, i, 8);
        const char *etypname = PQgetvalue(res, i, 9);
        const char *formatted = PQgetvalue(res, i, 10);
        bool text_ok = false;
        if (elem != 0) {
            f->is_list = true;
            f->element_nullable = true;
            pc->is_list = true;
            pc->wire_elem_oid = elem;
            /* an element typmod is the column's typmod */
            if (etyptype[0] != 'd' && map_oid(elem, tmod, etyptype, etypname, pc, f, &text_ok))
                continue;
            pc->as_text = true;
            pc->kind = PK_BYTES;
            pc->wire_elem_oid = 25;
            f->type = LH_T_STRING;
            f->precision = f->scale = 0;
            f->ts_utc = false;
            f->fixed_len = 0;
            if (!text_ok)
                src_warn(s, "column %s: type %s read as text[]", f->name, formatted);
            continue;
        }
        if (map_oid(oid, tmod, typtype, typname, pc, f, &text_ok))
            continue;
        pc->as_text = true;
        pc->kind = PK_BYTES;
        f->type = LH_T_STRING;
        if (!text_ok)
            src_warn(s, "column %s: type %s read as text", f->name, formatted);
    }
done:
    PQclear(res);
    return st;
}

/* money's fraction digits come from lc_monetary. */
static enum lh_status pg_money_scale(struct lh_source *s, struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    bool any = false;
    for (size_t i = 0; i < s->ncols; i++)
        any |= pg->pcols[i].kind == PK_MONEY;
    if (!any)
        return LH_OK;
    enum lh_status st;
    PGresult *res = pg_query(s, "SELECT pg_catalog.scale('1'::money::numeric)", 0, NULL,
                             "reading the money scale", &st, err);
    if (st)
        return st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        st = pg_fail(s, res, "reading the money scale", err);
    } else {
        int sc = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
        if (sc < 0 || sc > 18)
            sc = 2;
        for (size_t i = 0; i < s->ncols; i++)
            if (pg->pcols[i].kind == PK_MONEY) {
                pg->pcols[i].prec = 19;
                pg->pcols[i].scale = (unsigned)sc;
                s->fields[i].scale = (uint8_t)sc;
            }
    }
    PQclear(res);
    return st;
}

/* ------------------------------------------------------------ stream */

static void release_msg(struct pg_impl *pg)
{
    if (pg->msg) {
        PQfreemem(pg->msg);
        pg->msg = NULL;
    }
}

/* src_pg_next_fn over libpq: one CopyData message per call. */
static int next_message(struct lh_source *s, const uint8_t **buf, size_t *len, struct lh_error *err,
                        enum lh_status *st)
{
    struct pg_impl *pg = s->impl;
    release_msg(pg);
    char *msg = NULL;
    int rc;
    /* async: 0 means "no whole message buffered yet", then wait beside the
     * cancel pipe instead of inside libpq */
    while ((rc = PQgetCopyData(pg->conn, &msg, 1)) == 0) {
        if ((*st = pg_wait(s, false, pg->deadline_ns, "COPY", err)))
            return -1;
        if (!PQconsumeInput(pg->conn))
            break; /* PQgetCopyData now reports the broken connection */
    }
    if (rc > 0) {
        pg->msg = msg;
        *buf = (const uint8_t *)msg;
        *len = (size_t)rc;
        return 1;
    }
    if (rc == 0)
        rc = PQgetCopyData(pg->conn, &msg, 1);
    if (rc > 0) { /* the last read completed a message after all */
        pg->msg = msg;
        *buf = (const uint8_t *)msg;
        *len = (size_t)rc;
        return 1;
    }
    PGresult *res = PQgetResult(pg->conn);
    if (rc == -1 && PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        while ((res = PQgetResult(pg->conn)) != NULL)
            PQclear(res);
        pg->in_copy = false;
        pg->in_query = false;
        return 0;
    }
    *st = pg_fail(s, res, "COPY", err);
    PQclear(res);
    return -1;
}

static enum lh_status pg_fill(struct lh_source *s, struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    enum lh_status st = src_pg_stream_fill(s, &pg->stream, next_message, err);
    if (st)
        return st;
    if (pg->stream.done) {
        release_msg(pg);
        s->eof = true;
        /* a parallel read's leader keeps its transaction, and with it the
         * exported snapshot, until it is closed: the other parts may not
         * have imported it yet */
        if (s->parallel > 1 && !s->opt.snapshot)
            return LH_OK;
        return pg_exec(s, "COMMIT", "COMMIT", err);
    }
    return LH_OK;
}

static void pg_close(struct lh_source *s)
{
    struct pg_impl *pg = s->impl;
    if (!pg)
        return;
    release_msg(pg);
    src_pg_stream_free(&pg->stream);
    canceller_release(pg->canceller); /* a PQcancel still waiting frees itself */
    if (pg->conn)
        PQfinish(pg->conn); /* an open transaction is rolled back by the server */
    free(pg);
    s->impl = NULL;
}

/* No cancel hook: the reader notices the wake pipe and cancels itself. */
static const struct src_driver PG_DRIVER = {pg_fill, NULL, pg_close};

/* ------------------------------------------------------------ open */

static void name_server(struct lh_source *s)
{
    struct pg_impl *pg = s->impl;
    const char *host = PQhost(pg->conn), *port = PQport(pg->conn), *db = PQdb(pg->conn),
               *user = PQuser(pg->conn);
    snprintf(s->server, sizeof s->server, "%s:%s/%s user=%s", host && *host ? host : "localhost",
             port && *port ? port : "5432", db ? db : "", user ? user : "");
}

/* The table's row estimate from pg_class (read with the table's oid, in
 * the same statement, so it costs nothing and cannot fail on its own):
 * reltuples of a table, a partitioned table or a materialized view; -1
 * (never vacuumed or analyzed, PostgreSQL 14 and later) and 0 (the same
 * before 14, or really empty) count as unknown, as does a view's. */
static void pg_estimate(struct lh_source *s, const char *relkind, const char *reltuples)
{
    int64_t n = -1;
    bool table = relkind && (*relkind == 'r' || *relkind == 'p' || *relkind == 'm');
    if (!table || !lh_parse_i64(reltuples, &n) || n <= 0) {
        src_log(s, LH_LOG_DEBUG, "no row estimate: pg_class.reltuples is %s for %s (%s)",
                reltuples && *reltuples ? reltuples : "NULL", s->opt.table,
                table ? "not analyzed yet" : "not a table");
        return;
    }
    s->table_rows = n;
    src_log(s, LH_LOG_INFO, "row estimate: about %lld rows in %s (pg_class.reltuples)",
            (long long)n, s->opt.table);
}

/* PQconnectStartParams + PQconnectPoll, each wait beside the cancel pipe,
 * within connect_timeout_s for the whole attempt (libpq leaves the timeout
 * to the caller in this mode). */
static enum lh_status pg_connect(struct lh_source *s, const char *const *keys,
                                 const char *const *vals, struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    int secs = s->opt.connect_timeout_s > 0 ? s->opt.connect_timeout_s : 10;
    int64_t deadline = lh_time_mono_ns() + (int64_t)secs * 1000000000LL;
    pg->conn = PQconnectStartParams(keys, vals, 1);
    if (!pg->conn)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    PQsetNoticeReceiver(pg->conn, pg_notice, s);
    name_server(s);
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (PQstatus(pg->conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
           ps != PGRES_POLLING_FAILED) {
        enum lh_status st = pg_wait(s, ps == PGRES_POLLING_WRITING, deadline, "connecting", err);
        if (st == LH_E_CONNECT)
            return lh_error_set(err, st, "postgres %s: cannot connect: timeout expired (%d s)",
                                s->server, secs);
        if (st)
            return st;
        ps = PQconnectPoll(pg->conn);
    }
    name_server(s);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        char line[400];
        one_line(line, sizeof line, PQerrorMessage(pg->conn));
        bool auth = strstr(line, "authentication failed") || strstr(line, "password") ||
                    strstr(line, "no pg_hba.conf entry");
        return lh_error_set(err, auth ? LH_E_AUTH : LH_E_CONNECT, "postgres %s: %s: %s", s->server,
                            auth ? "authentication failed" : "cannot connect", line);
    }
    return LH_OK;
}

/* A leader's decision (docs/ingest.md "Parallel reads"): how many ranges
 * to read, and the snapshot the other parts import. key (a unique NOT NULL
 * integer order_by key among the columns read, or NULL) splits by ranges
 * of the key, read from its min..max in the snapshot (a resumed read: one
 * range left per connection); otherwise the table's blocks split into
 * ctid ranges. Falls back to one connection, with a log line saying why,
 * for anything else; only a failed query fails the read. A part takes its
 * one key range from the options (ingest hands it the leader's). from:
 * the relation, quoted. */
static enum lh_status pg_plan_parallel(struct lh_source *s, const char *relid, char relkind,
                                       const char *key, const struct lh_buf *from, size_t from_len,
                                       struct lh_error *err)
{
    struct pg_impl *pg = s->impl;
    if (s->opt.snapshot) {
        s->parallel = s->opt.parallel;
        if (!key != !s->opt.nranges || s->opt.nranges > 1)
            return lh_error_set(err, LH_E_STATE, "postgres %s: part %d of parallel read %s: %s",
                                s->server, s->opt.part, s->opt.snapshot,
                                key ? "no key range given for the part"
                                    : "the read's key is not a unique integer key any more");
        if (key)
            src_ranges_from_options(s);
        return LH_OK;
    }
    int want = s->opt.parallel;
    if (want != LH_SOURCE_PARALLEL_AUTO && want < 2)
        return LH_OK;
    const char *why = NULL;
    if (s->opt.query)
        why = "a query is read on one connection";
    else if (s->opt.limit > 0)
        why = "a read with a limit takes its rows in order";
    else if (s->opt.order_by && !key)
        why = "a read with order_by is one ordered stream (it splits only on a unique NOT NULL "
              "integer key among the columns read)";
    else if (!key && relkind != 'r' && relkind != 'm')
        why = "only a plain table splits into ctid ranges (a view, partitioned or foreign "
              "table does not)";
    else if (!key && PQserverVersion(pg->conn) < 140000)
        why = "the server is older than PostgreSQL 14 (no TID range scans)";
    if (why) {
        src_log(s, LH_LOG_INFO, "parallel read: falling back to one connection: %s", why);
        return LH_OK;
    }
    int n = want;
    if (key && s->opt.nranges) {
        /* a resumed read: one connection per range left */
        n = (int)s->opt.nranges;
        if (n < 2)
            return LH_OK;
    }
    enum lh_status st = LH_OK;
    const char *params[1] = {relid};
    PGresult *res = pg_query(s,
                             "SELECT pg_catalog.pg_relation_size($1::oid),"
                             " current_setting('block_size')::bigint",
                             1, params, "reading the table's size", &st, err);
    if (st)
        return st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        st = pg_fail(s, res, "reading the table's size", err);
        PQclear(res);
        return st;
    }
    int64_t bytes = 0, bsz = 0;
    (void)lh_parse_i64(PQgetvalue(res, 0, 0), &bytes);
    (void)lh_parse_i64(PQgetvalue(res, 0, 1), &bsz);
    PQclear(res);
    int64_t nblocks = bsz > 0 ? bytes / bsz : 0;
    if (want == LH_SOURCE_PARALLEL_AUTO && !(key && s->opt.nranges)) {
        n = src_auto_parallel(s, bytes, src_local_cores(PQhost(pg->conn)));
        if (n < 2)
            return LH_OK;
    }
    int64_t lo = 0, hi = 0;
    char whybuf[300];
    if (key && !s->opt.nranges) {
        /* the key's bounds as the snapshot sees them (its index's ends) */
        struct lh_buf b;
        lh_buf_init(&b, 1u << 16);
        lh_buf_append_str(&b, "SELECT min(lh_t.");
        put_ident(pg->conn, &b, key);
        lh_buf_append_str(&b, "), max(lh_t.");
        put_ident(pg->conn, &b, key);
        lh_buf_append_str(&b, ") FROM ");
        lh_buf_append(&b, from->data, from_len);
        lh_buf_append_str(&b, " AS lh_t");
        lh_buf_cstr(&b);
        static const char *const none[1] = {NULL};
        res = lh_buf_ok(&b) ? pg_query_want(s, (const char *)b.data, 0, none,
                                            "reading the key's bounds", PGRES_TUPLES_OK, &st, err)
                            : NULL;
        if (!lh_buf_ok(&b))
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        lh_buf_reset(&b);
        if (st)
            return st;
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
            why = "the table is empty";
        } else if (!lh_parse_i64(PQgetvalue(res, 0, 0), &lo) ||
                   !lh_parse_i64(PQgetvalue(res, 0, 1), &hi)) {
            why = "the key's bounds are not integers"; /* not expected */
        } else if ((lh_i128)hi - lo + 1 < n) {
            snprintf(whybuf, sizeof whybuf,
                     "the key %s spans %lld value(s), fewer than %d connections", key,
                     (long long)((lh_i128)hi - lo + 1), n);
            why = whybuf;
        }
        PQclear(res);
    } else if (!key && nblocks < n) {
        snprintf(whybuf, sizeof whybuf, "the table has %lld block(s), fewer than %d connections",
                 (long long)nblocks, n);
        why = whybuf;
    }
    if (why) {
        src_log(s, LH_LOG_INFO, "parallel read: falling back to one connection: %s", why);
        return LH_OK;
    }
    static const char *const none[1] = {NULL};
    res = pg_query(s, "SELECT pg_catalog.pg_export_snapshot()", 0, none, "exporting the snapshot",
                   &st, err);
    if (st)
        return st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        strlen(PQgetvalue(res, 0, 0)) >= sizeof s->snapshot) {
        st = pg_fail(s, res, "exporting the snapshot", err);
        PQclear(res);
        return st;
    }
    snprintf(s->snapshot, sizeof s->snapshot, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    s->parallel = n;
    if (key) {
        src_split_ranges(s, lo, hi, n);
        if (s->opt.nranges)
            src_log(s, LH_LOG_INFO,
                    "parallel read: %d connections in snapshot %s, one per range of key %s left "
                    "to read",
                    n, s->snapshot, key);
        else
            src_log(s, LH_LOG_INFO,
                    "parallel read: %d connections in snapshot %s, key %s %lld..%lld split into "
                    "ranges",
                    n, s->snapshot, key, (long long)lo, (long long)hi);
        return LH_OK;
    }
    s->nblocks = nblocks;
    src_log(s, LH_LOG_INFO,
            "parallel read: %d connections in snapshot %s, %lld blocks split into ctid ranges", n,
            s->snapshot, (long long)nblocks);
    return LH_OK;
}

enum lh_status src_pg_start(struct lh_source *s, const char *dsn, struct lh_error *err)
{
    enum lh_status st = LH_OK;
    PGresult *res = NULL;
    struct lh_buf q;
    lh_buf_init(&q, 1u << 20);
    struct pg_impl *pg = calloc(1, sizeof *pg);
    if (!pg)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    src_set_driver(s, &PG_DRIVER, pg);

    /* the password, so no message can carry it */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (!opts) {
        char line[300];
        one_line(line, sizeof line, perr ? perr : "out of memory");
        PQfreemem(perr);
        st = lh_error_set(err, LH_E_INVAL, "postgres: bad DSN: %s", line);
        goto done;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val)
            s->secret = strdup(o->val);
    PQconninfoFree(opts);

    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d",
             s->opt.connect_timeout_s > 0 ? s->opt.connect_timeout_s : 10);
    /* keepalives notice a peer host that vanished (a frozen server process
     * still answers them: the deadlines above cover that); the DSN's own
     * settings come later and win */
    const char *keys[] = {
        "connect_timeout",     "application_name", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "dbname",     NULL};
    const char *vals[] = {timeout, "lakehouse", "1", "30", "10", "3", dsn, NULL};
    src_log(s, LH_LOG_INFO, "connecting to postgres %s", s->server);
    if ((st = pg_connect(s, keys, vals, err)))
        goto done;
    {
        const char *ver = PQparameterStatus(pg->conn, "server_version");
        snprintf(s->server_version, sizeof s->server_version, "%s", ver ? ver : "");
        src_log(s, LH_LOG_INFO, "connected to postgres %s: PostgreSQL %s", s->server,
                s->server_version[0] ? s->server_version : "(version unknown)");
    }
    st = pg_exec(s,
                 "SET client_encoding = 'UTF8'; SET datestyle = 'ISO'; "
                 "SET intervalstyle = 'iso_8601'; SET timezone = 'UTC'; "
                 "SET extra_float_digits = 3",
                 "session setup", err);
    if (st)
        goto done;
    st = pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "BEGIN", err);
    if (st)
        goto done;
    if (s->opt.snapshot) {
        /* a part of a parallel read: the leader's snapshot, before any query */
        struct lh_buf b;
        lh_buf_init(&b, 4096);
        lh_buf_append_str(&b, "SET TRANSACTION SNAPSHOT ");
        put_literal(pg->conn, &b, s->opt.snapshot);
        lh_buf_cstr(&b);
        st = lh_buf_ok(&b) ? pg_exec(s, (const char *)b.data, "SET TRANSACTION SNAPSHOT", err)
                           : lh_error_set(err, LH_E_NOMEM, "out of memory");
        lh_buf_reset(&b);
        if (st)
            goto done;
    }
    if (s->opt.statement_timeout_ms > 0) {
        char sql[80];
        snprintf(sql, sizeof sql, "SET LOCAL statement_timeout = %lld",
                 (long long)s->opt.statement_timeout_ms);
        if ((st = pg_exec(s, sql, "SET statement_timeout", err)))
            goto done;
    }

    /* the relation: q is what the SELECTs read FROM */
    char relid[16] = "";
    char relkind = 0;
    if (s->opt.query) {
        lh_buf_append_str(&q, "(");
        lh_buf_append_str(&q, s->opt.query);
        lh_buf_append_str(&q, "\n)");
        struct lh_buf d;
        lh_buf_init(&d, 1u << 24);
        lh_buf_append_str(&d, "SELECT * FROM ");
        lh_buf_append(&d, q.data, q.len);
        lh_buf_append_str(&d, " AS lh_t LIMIT 0");
        lh_buf_cstr(&d);
        if (!lh_buf_ok(&d) || !lh_buf_ok(&q)) {
            lh_buf_reset(&d);
            st = lh_error_set(err, LH_E_TOOBIG, "postgres %s: query too long", s->server);
            goto done;
        }
        static const char *const none[1] = {NULL};
        res = pg_query(s, (const char *)d.data, 0, none, "reading the query's columns", &st, err);
        lh_buf_reset(&d);
        if (st)
            goto done;
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            st = pg_fail(s, res, "query", err);
            goto done;
        }
        if ((st = pg_load_schema(s, NULL, res, err)))
            goto done;
        PQclear(res);
        res = NULL;
    } else {
        char *schema, *name;
        if ((st = src_split_table(s, s->opt.table, &schema, &name, err)))
            goto done;
        if (schema) {
            put_ident(pg->conn, &q, schema);
            lh_buf_append_u8(&q, '.');
        }
        put_ident(pg->conn, &q, name);
        lh_buf_cstr(&q);
        if (!lh_buf_ok(&q)) {
            st = lh_error_set(err, LH_E_INVAL, "postgres %s: bad table name", s->server);
            goto done;
        }
        {
            const char *params[1] = {(const char *)q.data};
            res = pg_query_want(s,
                                "SELECT c.oid, n.nspname, c.relname, c.relkind,"
                                " c.reltuples::bigint FROM pg_catalog.pg_class c"
                                " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                                " WHERE c.oid = pg_catalog.to_regclass($1)",
                                1, params, "looking up the table", PGRES_TUPLES_OK, &st, err);
        }
        if (st)
            goto done;
        if (PQntuples(res) != 1) {
            st = lh_error_set(err, LH_E_NOTFOUND, "postgres %s: table %s not found", s->server,
                              s->opt.table);
            goto done;
        }
        snprintf(relid, sizeof relid, "%s", PQgetvalue(res, 0, 0));
        relkind = PQgetvalue(res, 0, 3)[0];
        pg_estimate(s, PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
        if (s->opt.snapshot)
            s->table_rows = -1; /* the leader reports the whole table's */
        lh_buf_clear(&q);
        put_ident(pg->conn, &q, PQgetvalue(res, 0, 1));
        lh_buf_append_u8(&q, '.');
        put_ident(pg->conn, &q, PQgetvalue(res, 0, 2));
        PQclear(res);
        res = NULL;
        if ((st = pg_load_schema(s, relid, NULL, err)))
            goto done;
    }
    size_t from_len = q.len;
    if ((st = src_check_names(s, err)) || (st = pg_money_scale(s, err)))
        goto done;
    struct src_read rd;
    if ((st = src_read_plan(s, &rd, err)))
        goto done;

    const char *key_name = NULL; /* the order is a key (lh_source_order_key) */
    if (relid[0] && s->opt.order_by && rd.norder == 1 && !rd.order[0].desc && s->opt.limit <= 0) {
        const char *params[2] = {relid, s->fields[rd.order[0].col].name};
        res = pg_query_want(s,
                            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
                            " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid"
                            " AND a.attnum = i.indkey[0]"
                            " WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid"
                            " AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL"
                            " AND a.attname = $2 AND a.attnotnull)",
                            2, params, "looking up the order's unique index", PGRES_TUPLES_OK, &st,
                            err);
        if (st)
            goto done;
        if (PQgetvalue(res, 0, 0)[0] == 't')
            key_name = s->fields[rd.order[0].col].name;
        PQclear(res);
        res = NULL;
    }

    /* a parallel read splits by the key when it is an integer among the
     * columns read (the parts' ranges are then resumable), else by ctid */
    const char *split = key_name;
    if (split) {
        size_t c = rd.order[0].col;
        enum lh_type kt = s->fields[c].type;
        bool read = !rd.sel;
        for (size_t i = 0; !read && i < rd.nsel; i++)
            read = rd.sel[i] == c;
        if (!read || s->fields[c].is_list ||
            (kt != LH_T_INT16 && kt != LH_T_INT32 && kt != LH_T_INT64))
            split = NULL;
    }
    if ((st = pg_plan_parallel(s, relid, relkind, split, &q, from_len, err)))
        goto done;
    bool by_key = split && s->parallel > 1;
    /* a parallel read by ctid has no LIMIT (nor order_by), so no cursor
     * order to keep */
    if (s->parallel > 1 && !by_key)
        rd.norder = 0;
    /* FROM ... WHERE ... ORDER BY ... LIMIT, shared by the watermark query
     * and the COPY. ORDER BY names the alias so it sorts by the table's
     * column, not by a ::text output column of the same name. */
    struct lh_buf body;
    lh_buf_init(&body, 1u << 20);
    lh_buf_append_str(&body, " FROM ");
    lh_buf_append(&body, q.data, from_len);
    lh_buf_append_str(&body, " AS lh_t");
    if (s->opt.where) {
        /* the operator's SQL, as documented (docs/ingest.md) */
        lh_buf_append_str(&body, " WHERE (");
        lh_buf_append_str(&body, s->opt.where);
        lh_buf_append_str(&body, "\n)");
    }
    if (rd.cursor >= 0 && s->opt.cursor_after) {
        lh_buf_append_str(&body, s->opt.where ? " AND lh_t." : " WHERE lh_t.");
        put_ident(pg->conn, &body, s->fields[rd.cursor].name);
        lh_buf_append_str(&body, " > ");
        put_literal(pg->conn, &body, s->opt.cursor_after);
    }
    bool has_where = s->opt.where || (rd.cursor >= 0 && s->opt.cursor_after);
    size_t key_at = body.len; /* the key's ranges follow */
    if (key_name) {
        /* a resumed read: the key's ranges left (docs/ingest.md
         * "Resumable loads"); a read split by key: this part's */
        struct lh_buf k;
        lh_buf_init(&k, 1u << 16);
        lh_buf_append_str(&k, "lh_t.");
        put_ident(pg->conn, &k, key_name);
        lh_buf_cstr(&k);
        if (!by_key)
            src_ranges_from_options(s); /* else pg_plan_parallel split them */
        bool ok = lh_buf_ok(&k);
        if (ok)
            src_put_ranges(s, &body, (const char *)k.data, &has_where);
        lh_buf_reset(&k);
        if (!ok) {
            lh_buf_reset(&body);
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
    } else if (s->parallel > 1) {
        s->order_why = "a parallel read splits the table by ctid, and ctid ranges read in another "
                       "snapshot can miss or repeat rows that were updated meanwhile (--order-by "
                       "on a unique integer key splits by the key instead)";
    }
    size_t where_len = body.len; /* FROM and WHERE; ORDER BY and LIMIT follow */
    for (size_t i = 0; i < rd.norder; i++) {
        lh_buf_append_str(&body, i ? ", lh_t." : " ORDER BY lh_t.");
        put_ident(pg->conn, &body, s->fields[rd.order[i].col].name);
        if (rd.order[i].desc)
            lh_buf_append_str(&body, " DESC");
    }
    if (s->opt.limit > 0)
        lh_buf_printf(&body, " LIMIT %lld", (long long)s->opt.limit);
    if (!lh_buf_ok(&body)) {
        lh_buf_reset(&body);
        st = lh_error_set(err, LH_E_INVAL, "postgres %s: bad cursor value or names", s->server);
        goto done;
    }
    if (rd.cursor >= 0 && !s->opt.snapshot) {
        /* the high watermark, in the same snapshot as the COPY (a
         * parallel read's leader reads it for all its parts) */
        struct lh_buf w;
        lh_buf_init(&w, 1u << 20);
        lh_buf_append_str(&w, "SELECT max(lh_q.c)::text FROM (SELECT lh_t.");
        put_ident(pg->conn, &w, s->fields[rd.cursor].name);
        lh_buf_append_str(&w, " AS c");
        /* a leader split by key: over every range, not only its own */
        size_t cut = by_key ? key_at : where_len;
        lh_buf_append(&w, body.data, cut);
        lh_buf_append(&w, body.data + where_len, body.len - where_len);
        lh_buf_append_str(&w, ") lh_q");
        lh_buf_cstr(&w);
        if (!lh_buf_ok(&w)) {
            lh_buf_reset(&w);
            lh_buf_reset(&body);
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        static const char *const none[1] = {NULL};
        res = pg_query(s, (const char *)w.data, 0, none, "reading the cursor watermark", &st, err);
        lh_buf_reset(&w);
        if (st) {
            lh_buf_reset(&body);
            goto done;
        }
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            lh_buf_reset(&body);
            st = pg_fail(s, res, "reading the cursor watermark", err);
            goto done;
        }
        if (!PQgetisnull(res, 0, 0))
            s->cursor_high = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        res = NULL;
    }

    if (rd.sel) {
        /* --columns: only those, in that order (the cursor and order_by
         * above may name others) */
        struct pg_col *pc = lh_arena_alloc(&s->arena, (rd.nsel ? rd.nsel : 1) * sizeof *pc);
        if (!pc) {
            lh_buf_reset(&body);
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < rd.nsel; i++)
            pc[i] = pg->pcols[rd.sel[i]];
        pg->pcols = pc;
        src_select_fields(s, rd.sel, rd.nsel);
    }

    s->order_key = -1;
    for (size_t i = 0; key_name && i < s->ncols; i++)
        if (s->fields[i].name == key_name || strcmp(s->fields[i].name, key_name) == 0)
            s->order_key = (long)i;

    struct lh_buf sql;
    lh_buf_init(&sql, 1u << 24);
    lh_buf_append_str(&sql, "COPY (SELECT ");
    for (size_t i = 0; i < s->ncols; i++) {
        lh_buf_append_str(&sql, i ? ", lh_t." : "lh_t.");
        put_ident(pg->conn, &sql, s->fields[i].name);
        if (pg->pcols[i].as_text)
            lh_buf_append_str(&sql, pg->pcols[i].is_list ? "::text[]" : "::text");
    }
    if (s->parallel > 1 && !by_key) {
        /* this part's ctid range; the first and the last are open-ended,
         * so a block past the leader's count is read all the same */
        int n = s->parallel;
        int k = s->opt.snapshot ? s->opt.part : 0;
        int64_t nb = s->opt.snapshot ? s->opt.nblocks : s->nblocks;
        long long lo = (long long)(nb * k / n), hi = (long long)(nb * (k + 1) / n);
        lh_buf_append(&sql, body.data, where_len);
        if (k > 0) {
            lh_buf_printf(&sql, "%s lh_t.ctid >= '(%lld,0)'::tid", has_where ? " AND" : " WHERE",
                          lo);
            has_where = true;
        }
        if (k < n - 1)
            lh_buf_printf(&sql, "%s lh_t.ctid < '(%lld,0)'::tid", has_where ? " AND" : " WHERE",
                          hi);
        lh_buf_append(&sql, body.data + where_len, body.len - where_len);
    } else {
        lh_buf_append(&sql, body.data, body.len);
    }
    lh_buf_reset(&body);
    lh_buf_append_str(&sql, ") TO STDOUT (FORMAT binary)");
    lh_buf_cstr(&sql);
    if (!lh_buf_ok(&sql)) {
        lh_buf_reset(&sql);
        st = lh_error_set(err, LH_E_TOOBIG, "postgres %s: query too long", s->server);
        goto done;
    }
    lh_debug("source: %s", (const char *)sql.data);
    src_log_statement(s, (const char *)sql.data);
    src_pg_stream_init(&pg->stream, pg->pcols);
    if ((st = src_cols_init(s, err))) {
        lh_buf_reset(&sql);
        goto done;
    }
    static const char *const none[1] = {NULL};
    res = pg_query_want(s, (const char *)sql.data, 0, none, "COPY", PGRES_COPY_OUT, &st, err);
    lh_buf_reset(&sql);
    if (st)
        goto done;
    pg->in_copy = true;
done:
    PQclear(res);
    lh_buf_reset(&q);
    return st;
}
