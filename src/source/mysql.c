/*
 * mysql.c — the MySQL/MariaDB driver (MariaDB Connector/C).
 *
 * open: connect (utf8mb4, session time_zone '+00:00'), START TRANSACTION
 * WITH CONSISTENT SNAPSHOT, READ ONLY; prepare `SELECT * FROM t` (a query:
 * `SELECT * FROM (query) AS lh_t`) to learn the columns from the result
 * metadata (and to get "no such table"/"permission denied" before any row
 * moves), read precision/scale from information_schema (a query: from the
 * metadata), then prepare the real SELECT (the chosen columns, the
 * operator's WHERE, the cursor bounds) and execute it. Operator SQL only
 * ever travels in prepared statements or single-statement queries, so it
 * cannot end the read-only transaction. No server-side cursor and no
 * store_result: rows arrive unbuffered over the binary protocol.
 *
 * A parallel read (docs/ingest.md "Parallel reads"): the leader, before
 * its own transaction, picks the split key (my_split_key), opens the
 * other readers and a locker, and starts every reader's consistent
 * snapshot while the locker holds LOCK TABLES t READ (my_plan_parallel),
 * so all see the same committed table; then it parks the others in a
 * share (a process-wide list under a token, its lh_source_snapshot) from
 * which each part source takes its connection (my_adopt). Each reader
 * adds its range of the key to the WHERE and reads it in key order (a
 * range scan of the key: resumable per range, docs/ingest.md "Resumable
 * loads"); a resumed read's ranges come from the options, one connection
 * per range left. Until they are parked the side connections are the
 * leader's: its cancel kills and shuts down them too. An ordered read on a
 * unique integer key (my_unique_int_key) is resumable too.
 *
 * fill: mysql_stmt_fetch into bind buffers bound once per column (8-byte
 * integer slots, MYSQL_TIME, a 4 KiB scratch for variable-length values
 * whose longer values are fetched straight into the column heap with
 * mysql_stmt_fetch_column), then converted into the column arrays.
 *
 * Cancel: Connector/C calls block, so the cancelling thread does the work,
 * without ever waiting on the server (issue 12 item 8: a frozen server or a
 * stalled link must not hold up a cancel, a timeout or a shutdown).
 * my_cancel (under s->mu, from lh_source_cancel) starts a small detached
 * thread that opens its own connection (every step bounded by
 * KILL_TIMEOUT_S) and sends KILL CONNECTION <id>, so the server stops the
 * query; and it shuts the reader's socket down (shutdown(2)), which wakes
 * the reader out of Connector/C's poll() at once whether or not the server
 * or the link still answers. The connection is dead from then on, so a
 * cancel that lands between two statements still stops the next one. The
 * reader publishes the thread id and the socket under s->mu right after
 * connecting and then checks the flag, so a cancel before the connect is
 * seen there, one during it wakes the connect's own wait (the connect
 * alone goes through the non-blocking API, my_connect, polling beside the
 * source's wake pipe), and one after it is a kill plus a shutdown.
 * The socket stays open until my_close, which runs under s->mu too, so the
 * shutdown never reaches a reused descriptor. my_close gives the KILL
 * thread at most KILL_TIMEOUT_S + 1 s to finish, so the KILL reaches a live
 * server before a CLI process exits (a frozen one cannot hold it longer).
 *
 * Deadlines: with a statement timeout, reads and writes also get a client
 * timeout (MYSQL_OPT_READ/WRITE_TIMEOUT, the statement timeout plus
 * DEADLINE_GRACE_S), so a server that neither answers nor times itself out
 * fails the read with LH_E_TIMEOUT; TCP keepalives notice a vanished peer.
 *
 * Thread: one reader thread; my_cancel on the cancelling thread; the KILL
 * threads own copies of what they need.
 */
#include "source_int.h"

#include <mysql.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>

#define MY_SCRATCH 4096
/* Each step of the cancel's KILL connection (connect, read, write). */
#define KILL_TIMEOUT_S 2
/* With a statement timeout: the client's read/write timeout past it. */
#define DEADLINE_GRACE_S 2

enum my_kind {
    MK_INT, /* any integer, fetched as 64-bit */
    MK_FLOAT,
    MK_DOUBLE,
    MK_DECIMAL, /* text on the wire -> unscaled */
    MK_BIT,     /* big-endian bytes -> uint64 / bool */
    MK_DATE,
    MK_DATETIME,
    MK_TIME,
    MK_BYTES,    /* strings, blobs, json, enum, set */
    MK_GEOMETRY, /* SRID + WKB -> WKB */
};

struct my_col {
    enum my_kind kind;
    unsigned prec, scale;           /* DECIMAL mapping; prec 0: exact text */
    unsigned info_prec, info_scale; /* as information_schema says */
    enum enum_field_types itype;    /* MK_INT: the wire type, bound as is */
    bool uns;
    char data_type[32]; /* information_schema DATA_TYPE, for cursor casts */
    unsigned long length;
    my_bool is_null, error;
    union {
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        float f;
        double d;
        MYSQL_TIME t;
    } v;
    uint8_t *scratch; /* MK_DECIMAL/BIT/BYTES/GEOMETRY */
};

/* A connection besides the reader's, with what a cancel needs. */
struct my_side {
    MYSQL *conn;
    unsigned long thread_id;
    int fd;
};

struct my_impl {
    MYSQL *conn;
    MYSQL_STMT *stmt;
    MYSQL_BIND *binds;
    struct my_col *mcols;
    unsigned long thread_id;  /* under s->mu */
    int fd;                   /* the connection's socket, under s->mu; -1 before the connect */
    int64_t stmt_start_ns;    /* when the statement in flight was sent */
    struct my_killer *killer; /* the cancel's KILL thread, under s->mu */
    bool mariadb;
    bool executing;
    /* a parallel read (my_plan_parallel): the leader's other connections
     * while it opens them, locks and starts their snapshots (under s->mu,
     * so a cancel kills and shuts down these too); then its share, which
     * hands them to the parts. A part's key range comes from the share
     * (s->ranges: what each source reads). */
    struct my_side side[LH_SOURCE_PARALLEL_MAX];
    int nside; /* under s->mu */
    struct my_share *share;
    char *key; /* the split column, or an ordered read's key; NULL: no range */
    /* for cancel's second connection */
    char *host, *user, *password, *socket;
    unsigned port;
};

/* mysql_init() initialises the library on first use, which is not
 * thread-safe; ingest jobs open sources on several threads. */
static pthread_once_t LIB_ONCE = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    (void)mysql_library_init(0, NULL, NULL);
}

/* ------------------------------------------------------------ errors */

static enum lh_status status_from_errno(unsigned e)
{
    switch (e) {
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
    case 1142: /* ER_TABLEACCESS_DENIED_ERROR */
    case 1143: /* ER_COLUMNACCESS_DENIED_ERROR */
    case 1227: /* ER_SPECIFIC_ACCESS_DENIED_ERROR */
        return LH_E_PERM;
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
        return LH_E_AUTH;
    case 1049: /* ER_BAD_DB_ERROR */
    case 1146: /* ER_NO_SUCH_TABLE */
        return LH_E_NOTFOUND;
    case 1969: /* MariaDB ER_STATEMENT_TIMEOUT */
    case 3024: /* MySQL ER_QUERY_TIMEOUT */
        return LH_E_TIMEOUT;
    case 1317: /* ER_QUERY_INTERRUPTED */
        return LH_E_CANCELLED;
    case 1053: /* ER_SERVER_SHUTDOWN */
    case 1927: /* ER_CONNECTION_KILLED */
    case 2002:
    case 2003:
    case 2005:
    case 2006:
    case 2013:
    case 2055:
        return LH_E_CONNECT;
    default:
        return LH_E_SOURCE;
    }
}

static enum lh_status my_fail_raw(struct lh_source *s, unsigned e, const char *text,
                                  const char *what, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    enum lh_status st = status_from_errno(e);
    /* our own KILL CONNECTION shows up as a lost connection */
    if (atomic_load(&s->cancelled))
        return lh_error_set(err, LH_E_CANCELLED, "mysql %s: %s: cancelled", s->server, what);
    if (st == LH_E_CANCELLED)
        st = LH_E_SOURCE; /* interrupted by someone else */
    /* our read/write timeout: the server neither answered nor timed out */
    if ((e == 2013 || e == 2006) && my && s->opt.statement_timeout_ms > 0 &&
        lh_time_mono_ns() - my->stmt_start_ns >= s->opt.statement_timeout_ms * 1000000)
        return lh_error_set(err, LH_E_TIMEOUT,
                            "mysql %s: %s: timed out: no answer from the server within the "
                            "statement timeout (%lld ms) + %d s",
                            s->server, what, (long long)s->opt.statement_timeout_ms,
                            DEADLINE_GRACE_S);
    if (st == LH_E_CONNECT && my && my->executing)
        return lh_error_set(err, st, "mysql %s: connection lost mid-stream: %s (%u)", s->server,
                            text, e);
    if (st == LH_E_TIMEOUT)
        return lh_error_set(err, st, "mysql %s: %s: statement timeout (%s)", s->server, what, text);
    return lh_error_set(err, st, "mysql %s: %s: %s (%u)", s->server, what, text, e);
}

static enum lh_status my_fail_on(struct lh_source *s, MYSQL *conn, const char *what,
                                 struct lh_error *err)
{
    return my_fail_raw(s, mysql_errno(conn), mysql_error(conn), what, err);
}

static enum lh_status my_fail(struct lh_source *s, const char *what, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    return my_fail_on(s, my->conn, what, err);
}

static enum lh_status my_stmt_fail(struct lh_source *s, MYSQL_STMT *stmt, const char *what,
                                   struct lh_error *err)
{
    struct my_impl *my = s->impl;
    if (mysql_stmt_errno(stmt) == 0 && mysql_errno(my->conn) != 0)
        return my_fail(s, what, err);
    if (mysql_stmt_errno(stmt) == 0)
        return lh_error_set(err, LH_E_SOURCE, "mysql %s: %s failed without an error code",
                            s->server, what);
    return my_fail_raw(s, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), what, err);
}

/* One statement on conn (the reader's or a side connection), its result
 * dropped. */
static enum lh_status my_exec_on(struct lh_source *s, MYSQL *conn, const char *sql,
                                 const char *what, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    enum lh_status st = src_check_cancel(s, what, err);
    if (st)
        return st;
    my->stmt_start_ns = lh_time_mono_ns();
    if (mysql_query(conn, sql))
        return my_fail_on(s, conn, what, err);
    MYSQL_RES *r = mysql_store_result(conn);
    if (r)
        mysql_free_result(r);
    return LH_OK;
}

static enum lh_status my_exec(struct lh_source *s, const char *sql, const char *what,
                              struct lh_error *err)
{
    struct my_impl *my = s->impl;
    return my_exec_on(s, my->conn, sql, what, err);
}

/* ------------------------------------------------------------ quoting */

static void put_ident(struct lh_buf *b, const char *name)
{
    lh_buf_append_u8(b, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`')
            lh_buf_append_u8(b, '`');
        lh_buf_append_u8(b, (uint8_t)*p);
    }
    lh_buf_append_u8(b, '`');
}

static void put_literal(MYSQL *conn, struct lh_buf *b, const char *text)
{
    size_t n = strlen(text);
    if (n > (1u << 16) || !lh_buf_reserve(b, 2 * n + 3)) {
        b->broken = true;
        return;
    }
    lh_buf_append_u8(b, '\'');
    unsigned long w =
        mysql_real_escape_string(conn, (char *)b->data + b->len, text, (unsigned long)n);
    if (w == (unsigned long)-1) {
        b->broken = true;
        return;
    }
    b->len += w;
    lh_buf_append_u8(b, '\'');
}

/* ------------------------------------------------------------ schema */

/* Sends select (ending in "WHERE TABLE_SCHEMA = ") for the table db.table
 * and sets *rc to what mysql_query returns; false, nothing sent, when the
 * names make no statement. */
static bool info_query(struct my_impl *my, const char *select, const char *db, const char *table,
                       int *rc)
{
    struct lh_buf q;
    lh_buf_init(&q, 1u << 16);
    lh_buf_append_str(&q, select);
    put_literal(my->conn, &q, db);
    lh_buf_append_str(&q, " AND TABLE_NAME = ");
    put_literal(my->conn, &q, table);
    lh_buf_cstr(&q);
    bool ok = lh_buf_ok(&q);
    if (ok) {
        my->stmt_start_ns = lh_time_mono_ns();
        *rc = mysql_query(my->conn, (const char *)q.data);
    }
    lh_buf_reset(&q);
    return ok;
}

static enum lh_status load_info(struct lh_source *s, const char *db, const char *table,
                                struct lh_error *err)
{
    struct my_impl *my = s->impl;
    int rc;
    if (!info_query(my,
                    "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE"
                    " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ",
                    db, table, &rc))
        return lh_error_set(err, LH_E_INVAL, "mysql %s: bad table name", s->server);
    if (rc)
        return my_fail(s, "reading information_schema", err);
    MYSQL_RES *r = mysql_store_result(my->conn);
    if (!r)
        return my_fail(s, "reading information_schema", err);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)) != NULL) {
        long c = row[0] ? src_find_col(s, row[0]) : -1;
        if (c < 0)
            continue;
        struct my_col *mc = &my->mcols[c];
        snprintf(mc->data_type, sizeof mc->data_type, "%s", row[1] ? row[1] : "");
        if (row[2])
            mc->info_prec = mc->prec = (unsigned)strtoul(row[2], NULL, 10);
        if (row[3])
            mc->info_scale = mc->scale = (unsigned)strtoul(row[3], NULL, 10);
    }
    mysql_free_result(r);
    return LH_OK;
}

/* The table's row estimate, information_schema.TABLES.TABLE_ROWS (exact
 * for MyISAM, InnoDB's sampled guess otherwise; NULL for a view). Never
 * fails the read: a failed look-up is a debug line of the run log, and the
 * next statement reports a connection that died meanwhile (or a cancel). */
static void my_estimate(struct lh_source *s, const char *db, const char *table)
{
    struct my_impl *my = s->impl;
    int rc;
    if (atomic_load(&s->cancelled) ||
        !info_query(my,
                    "SELECT TABLE_ROWS, TABLE_TYPE FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = ",
                    db, table, &rc))
        return;
    MYSQL_RES *r = rc ? NULL : mysql_store_result(my->conn);
    if (!r) {
        src_log(s, LH_LOG_DEBUG, "no row estimate: information_schema.TABLES: %s (%u)",
                mysql_error(my->conn), mysql_errno(my->conn));
        return;
    }
    MYSQL_ROW row = mysql_fetch_row(r);
    int64_t n = -1;
    if (row && row[0] && lh_parse_i64(row[0], &n) && n > 0) {
        s->table_rows = n;
        src_log(s, LH_LOG_INFO,
                "row estimate: about %lld rows in %s (information_schema.TABLES.TABLE_ROWS)",
                (long long)n, s->opt.table);
    } else {
        src_log(s, LH_LOG_DEBUG, "no row estimate: TABLE_ROWS is %s for %s (%s)",
                row && row[0] ? row[0] : "NULL", s->opt.table,
                row && row[1] ? row[1] : "no such table");
    }
    mysql_free_result(r);
}

/* The MySQL types that map one to one: how a value is read and the field
 * type, signed and UNSIGNED (the same where there is no UNSIGNED). The
 * others (DECIMAL, BIT, strings and blobs) map in map_fields. */
struct my_type {
    enum enum_field_types wire;
    enum my_kind kind;
    enum lh_type type, uns_type;
};
static const struct my_type MY_TYPES[] = {
    {MYSQL_TYPE_TINY, MK_INT, LH_T_INT8, LH_T_UINT8},
    {MYSQL_TYPE_SHORT, MK_INT, LH_T_INT16, LH_T_UINT16},
    {MYSQL_TYPE_INT24, MK_INT, LH_T_INT32, LH_T_UINT32},
    {MYSQL_TYPE_LONG, MK_INT, LH_T_INT32, LH_T_UINT32},
    {MYSQL_TYPE_LONGLONG, MK_INT, LH_T_INT64, LH_T_UINT64},
    {MYSQL_TYPE_YEAR, MK_INT, LH_T_INT16, LH_T_INT16},
    {MYSQL_TYPE_FLOAT, MK_FLOAT, LH_T_FLOAT, LH_T_FLOAT},
    {MYSQL_TYPE_DOUBLE, MK_DOUBLE, LH_T_DOUBLE, LH_T_DOUBLE},
    {MYSQL_TYPE_DATE, MK_DATE, LH_T_DATE, LH_T_DATE},
    {MYSQL_TYPE_NEWDATE, MK_DATE, LH_T_DATE, LH_T_DATE},
    {MYSQL_TYPE_DATETIME, MK_DATETIME, LH_T_TIMESTAMP, LH_T_TIMESTAMP},
    {MYSQL_TYPE_DATETIME2, MK_DATETIME, LH_T_TIMESTAMP, LH_T_TIMESTAMP},
    {MYSQL_TYPE_TIMESTAMP, MK_DATETIME, LH_T_TIMESTAMP, LH_T_TIMESTAMP},
    {MYSQL_TYPE_TIMESTAMP2, MK_DATETIME, LH_T_TIMESTAMP, LH_T_TIMESTAMP},
    /* a signed duration, not a time of day: INT64 microseconds
     * (docs/types.md), the same for every row */
    {MYSQL_TYPE_TIME, MK_TIME, LH_T_INT64, LH_T_INT64},
    {MYSQL_TYPE_TIME2, MK_TIME, LH_T_INT64, LH_T_INT64},
    {MYSQL_TYPE_JSON, MK_BYTES, LH_T_JSON, LH_T_JSON},
    {MYSQL_TYPE_GEOMETRY, MK_GEOMETRY, LH_T_BINARY, LH_T_BINARY},
    {MYSQL_TYPE_ENUM, MK_BYTES, LH_T_ENUM, LH_T_ENUM},
    {MYSQL_TYPE_SET, MK_BYTES, LH_T_STRING, LH_T_STRING},
};

static const struct my_type *my_type_find(enum enum_field_types wire)
{
    for (size_t i = 0; i < sizeof MY_TYPES / sizeof MY_TYPES[0]; i++)
        if (MY_TYPES[i].wire == wire)
            return &MY_TYPES[i];
    return NULL;
}

/* Maps the prepared statement's result metadata (plus information_schema
 * precision) to fields. */
static enum lh_status map_fields(struct lh_source *s, MYSQL_RES *meta, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    for (size_t i = 0; i < s->ncols; i++) {
        MYSQL_FIELD *fd = mysql_fetch_field_direct(meta, (unsigned)i);
        struct lh_field *f = &s->fields[i];
        struct my_col *mc = &my->mcols[i];
        bool uns = fd->flags & UNSIGNED_FLAG;
        mc->uns = uns;
        mc->itype = fd->type == MYSQL_TYPE_INT24  ? MYSQL_TYPE_LONG
                    : fd->type == MYSQL_TYPE_YEAR ? MYSQL_TYPE_SHORT
                                                  : fd->type;
        f->nullable = !(fd->flags & NOT_NULL_FLAG);
        mc->kind = MK_BYTES;
        f->type = LH_T_STRING;
        switch (fd->type) {
        case MYSQL_TYPE_DECIMAL:
        case MYSQL_TYPE_NEWDECIMAL:
            mc->kind = MK_DECIMAL;
            if (mc->prec >= 1 && mc->prec <= 38 && mc->scale <= mc->prec) {
                f->type = LH_T_DECIMAL;
                f->precision = (uint8_t)mc->prec;
                f->scale = (uint8_t)mc->scale;
            } else {
                mc->prec = 0; /* exact text */
            }
            break;
        case MYSQL_TYPE_BIT:
            mc->kind = MK_BIT;
            f->type = fd->length == 1 ? LH_T_BOOL : LH_T_UINT64;
            break;
        case MYSQL_TYPE_VARCHAR:
        case MYSQL_TYPE_VAR_STRING:
        case MYSQL_TYPE_STRING:
        case MYSQL_TYPE_TINY_BLOB:
        case MYSQL_TYPE_MEDIUM_BLOB:
        case MYSQL_TYPE_LONG_BLOB:
        case MYSQL_TYPE_BLOB: {
            MARIADB_CONST_STRING fmt = {0};
            if (fd->flags & ENUM_FLAG)
                f->type = LH_T_ENUM;
            else if (fd->flags & SET_FLAG)
                f->type = LH_T_STRING;
            else if (mariadb_field_attr(&fmt, fd, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 &&
                     fmt.length == 4 && !memcmp(fmt.str, "json", 4))
                f->type = LH_T_JSON;
            else if (!strcmp(mc->data_type, "json"))
                f->type = LH_T_JSON;
            else if (fd->charsetnr == 63)
                f->type = LH_T_BINARY;
            break;
        }
        default: {
            const struct my_type *mt = my_type_find(fd->type);
            if (!mt) {
                src_warn(s, "column %s: MySQL type %u read as text", f->name, (unsigned)fd->type);
                break;
            }
            mc->kind = mt->kind;
            f->type = uns ? mt->uns_type : mt->type;
            if (fd->type == MYSQL_TYPE_TIMESTAMP || fd->type == MYSQL_TYPE_TIMESTAMP2)
                f->ts_utc = true; /* session time_zone is +00:00 */
            break;
        }
        }
        if (mc->kind == MK_DECIMAL || mc->kind == MK_BIT || mc->kind == MK_BYTES ||
            mc->kind == MK_GEOMETRY) {
            mc->scratch = malloc(MY_SCRATCH);
            if (!mc->scratch)
                return lh_error_set(err, LH_E_NOMEM, "out of memory");
        }
    }
    return LH_OK;
}

static void bind_columns(struct my_impl *my, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *b = &my->binds[i];
        struct my_col *mc = &my->mcols[i];
        memset(b, 0, sizeof *b);
        b->is_null = &mc->is_null;
        b->length = &mc->length;
        b->error = &mc->error;
        switch (mc->kind) {
        case MK_INT:
            b->buffer_type = mc->itype;
            b->buffer = &mc->v;
            b->is_unsigned = mc->uns;
            break;
        case MK_FLOAT:
            b->buffer_type = MYSQL_TYPE_FLOAT;
            b->buffer = &mc->v.f;
            break;
        case MK_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &mc->v.d;
            break;
        case MK_DATE:
        case MK_DATETIME:
        case MK_TIME:
            b->buffer_type = mc->kind == MK_DATE       ? MYSQL_TYPE_DATE
                             : mc->kind == MK_DATETIME ? MYSQL_TYPE_DATETIME
                                                       : MYSQL_TYPE_TIME;
            b->buffer = &mc->v.t;
            break;
        case MK_DECIMAL:
        case MK_BYTES:
        case MK_BIT:
        case MK_GEOMETRY:
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = mc->scratch;
            b->buffer_length = MY_SCRATCH;
            break;
        }
    }
}

/* ------------------------------------------------------------ decode */

static bool valid_civil(const MYSQL_TIME *t)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > mdays[t->month - 1] ||
        t->year > 9999)
        return false;
    if (t->month == 2 && t->day == 29) {
        unsigned y = t->year;
        if (!(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
            return false;
    }
    return true;
}

static enum lh_status too_big(struct lh_source *s, size_t col, struct lh_error *err)
{
    return lh_error_set(err, LH_E_TOOBIG, "mysql %s: column %s: value too large for a batch",
                        s->server, s->fields[col].name);
}

/* The whole value of a variable-length column: from the scratch buffer,
 * or, when it was truncated, scratch + the rest fetched into the heap. */
static enum lh_status put_bytes(struct lh_source *s, size_t col, size_t skip, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    struct my_col *mc = &my->mcols[col];
    struct src_col *c = &s->cols[col];
    size_t len = mc->length;
    if (len < skip) {
        src_warn(s, "column %s: geometry value shorter than its SRID stored as NULL",
                 s->fields[col].name);
        src_col_null(c);
        return LH_OK;
    }
    s->stats.bytes_received += len;
    if (len <= MY_SCRATCH) {
        if (!src_col_bytes(c, mc->scratch + skip, len - skip))
            return too_big(s, col, err);
        return LH_OK;
    }
    uint8_t *o = src_col_bytes_begin(c, len - skip);
    if (!o)
        return too_big(s, col, err);
    memcpy(o, mc->scratch + skip, MY_SCRATCH - skip);
    MYSQL_BIND b;
    memset(&b, 0, sizeof b);
    unsigned long got = 0;
    my_bool isnull = 0, e = 0;
    b.buffer_type = MYSQL_TYPE_BLOB;
    b.buffer = o + (MY_SCRATCH - skip);
    b.buffer_length = (unsigned long)(len - MY_SCRATCH);
    b.length = &got;
    b.is_null = &isnull;
    b.error = &e;
    if (mysql_stmt_fetch_column(my->stmt, &b, (unsigned)col, MY_SCRATCH))
        return my_stmt_fail(s, my->stmt, "fetching a long value", err);
    src_col_bytes_done(c, len - skip);
    return LH_OK;
}

static enum lh_status decode_row(struct lh_source *s, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    for (size_t i = 0; i < s->ncols; i++) {
        struct my_col *mc = &my->mcols[i];
        struct src_col *c = &s->cols[i];
        const struct lh_field *f = &s->fields[i];
        if (mc->is_null) {
            src_col_null(c);
            continue;
        }
        switch (mc->kind) {
        case MK_INT: {
            int64_t v;
            switch (mc->itype) {
            case MYSQL_TYPE_TINY:
                v = mc->uns ? (int64_t)(uint8_t)mc->v.i8 : mc->v.i8;
                break;
            case MYSQL_TYPE_SHORT:
                v = mc->uns ? (int64_t)(uint16_t)mc->v.i16 : mc->v.i16;
                break;
            case MYSQL_TYPE_LONG:
                v = mc->uns ? (int64_t)(uint32_t)mc->v.i32 : mc->v.i32;
                break;
            default:
                v = mc->v.i64;
                break;
            }
            s->stats.bytes_received += 8;
            if (f->type == LH_T_INT64 || f->type == LH_T_UINT64)
                memcpy(src_col_slot(c), &v, 8);
            else if (f->type == LH_T_UINT8 || f->type == LH_T_UINT16 || f->type == LH_T_UINT32)
                *(uint32_t *)src_col_slot(c) = (uint32_t)v;
            else
                *(int32_t *)src_col_slot(c) = (int32_t)v;
            src_col_commit(c);
            break;
        }
        case MK_FLOAT:
            *(float *)src_col_slot(c) = mc->v.f;
            src_col_commit(c);
            s->stats.bytes_received += 4;
            break;
        case MK_DOUBLE:
            *(double *)src_col_slot(c) = mc->v.d;
            src_col_commit(c);
            s->stats.bytes_received += 8;
            break;
        case MK_DECIMAL: {
            if (mc->prec == 0) {
                enum lh_status st = put_bytes(s, i, 0, err);
                if (st)
                    return st;
                break;
            }
            lh_i128 v;
            size_t n = mc->length < MY_SCRATCH ? mc->length : MY_SCRATCH;
            s->stats.bytes_received += n;
            if (!src_decimal_parse((const char *)mc->scratch, n, mc->prec, mc->scale, &v)) {
                src_warn(s,
                         "column %s: decimal \"%.*s\" does not fit DECIMAL(%u,%u), stored as NULL",
                         f->name, (int)(n < 60 ? n : 60), (const char *)mc->scratch, mc->prec,
                         mc->scale);
                src_col_null(c);
                break;
            }
            src_col_decimal(c, mc->prec, v);
            src_col_commit(c);
            break;
        }
        case MK_BIT: {
            uint64_t v = 0;
            size_t n = mc->length < 8 ? mc->length : 8;
            for (size_t k = 0; k < n; k++)
                v = v << 8 | mc->scratch[k];
            s->stats.bytes_received += n;
            if (f->type == LH_T_BOOL)
                *(uint8_t *)src_col_slot(c) = v != 0;
            else
                memcpy(src_col_slot(c), &v, 8);
            src_col_commit(c);
            break;
        }
        case MK_DATE:
        case MK_DATETIME: {
            const MYSQL_TIME *t = &mc->v.t;
            s->stats.bytes_received += 11;
            if (!valid_civil(t)) {
                src_warn(s, "column %s: %s %04u-%02u-%02u stored as NULL", f->name,
                         t->year == 0 && t->month == 0 && t->day == 0 ? "zero date"
                                                                      : "invalid date",
                         t->year, t->month, t->day);
                src_col_null(c);
                break;
            }
            int64_t days = lh_days_from_civil(t->year, t->month, t->day);
            if (mc->kind == MK_DATE) {
                *(int32_t *)src_col_slot(c) = (int32_t)days;
            } else {
                int64_t us = ((days * 24 + t->hour) * 60 + t->minute) * 60 + t->second;
                *(int64_t *)src_col_slot(c) = us * 1000000 + (int64_t)t->second_part;
            }
            src_col_commit(c);
            break;
        }
        case MK_TIME: {
            /* -838:59:59.999999 ... 838:59:59.999999 fits int64 microseconds
             * many times over; hours past 24 may come as days */
            const MYSQL_TIME *t = &mc->v.t;
            s->stats.bytes_received += 12;
            int64_t us =
                (((int64_t)t->day * 24 + t->hour) * 3600 + (int64_t)t->minute * 60 + t->second) *
                    1000000 +
                (int64_t)t->second_part;
            *(int64_t *)src_col_slot(c) = t->neg ? -us : us;
            src_col_commit(c);
            break;
        }
        case MK_BYTES: {
            enum lh_status st = put_bytes(s, i, 0, err);
            if (st)
                return st;
            break;
        }
        case MK_GEOMETRY: {
            /* MySQL's internal geometry: 4-byte little-endian SRID + WKB */
            if (mc->length >= 4 &&
                (mc->scratch[0] | mc->scratch[1] | mc->scratch[2] | mc->scratch[3]))
                src_warn(s, "column %s: geometry SRID dropped (WKB has none)", f->name);
            enum lh_status st = put_bytes(s, i, 4, err);
            if (st)
                return st;
            break;
        }
        }
    }
    return LH_OK;
}

static enum lh_status my_fill(struct lh_source *s, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    int64_t rows = 0;
    while (rows < s->batch_size && !s->full) {
        int rc = mysql_stmt_fetch(my->stmt);
        if (rc == MYSQL_NO_DATA) {
            my->executing = false;
            s->eof = true;
            mysql_stmt_free_result(my->stmt);
            return my_exec(s, "COMMIT", "COMMIT", err);
        }
        if (rc == 1)
            return my_stmt_fail(s, my->stmt, "fetch", err);
        /* 0 or MYSQL_DATA_TRUNCATED: long values are completed in put_bytes */
        enum lh_status st = decode_row(s, err);
        if (st)
            return st;
        rows++;
        if (src_batch_overdue(s))
            break;
    }
    return LH_OK;
}

/* ------------------------------------------------------------ cancel/close */

/* What a KILL thread needs: its own copies (the source may be closed
 * before it is done). refs: the thread and the source; the last frees. */
struct my_killer {
    char *host, *user, *password, *socket;
    unsigned port;
    unsigned long ids[LH_SOURCE_PARALLEL_MAX + 1];
    int nids;
    atomic_bool done;
    atomic_int refs;
};

static void killer_free(struct my_killer *k)
{
    if (!k || atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    if (k->password)
        memset(k->password, 0, strlen(k->password));
    free(k->host);
    free(k->user);
    free(k->password);
    free(k->socket);
    free(k);
}

static void *killer_main(void *arg)
{
    struct my_killer *k = arg;
    MYSQL *c = mysql_init(NULL);
    if (c) {
        unsigned t = KILL_TIMEOUT_S;
        mysql_optionsv(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
        mysql_optionsv(c, MYSQL_OPT_READ_TIMEOUT, &t);
        mysql_optionsv(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
        if (mysql_real_connect(c, k->host, k->user, k->password, NULL, k->port, k->socket, 0)) {
            for (int i = 0; i < k->nids; i++) {
                char sql[64];
                snprintf(sql, sizeof sql, "KILL CONNECTION %lu", k->ids[i]);
                (void)mysql_query(c, sql);
            }
        }
        mysql_close(c);
    }
    atomic_store(&k->done, true);
    killer_free(k);
    mysql_thread_end();
    return NULL;
}

/* Starts the KILL CONNECTION thread, for the reader's connection and any
 * side connection; nobody joins it (my_close waits for it a bounded
 * time). */
static void kill_async(struct my_impl *my)
{
    struct my_killer *k = calloc(1, sizeof *k);
    if (!k)
        return;
    atomic_init(&k->done, false);
    atomic_init(&k->refs, 2);
    bool oom = false;
    k->host = lh_strdup_opt(my->host, &oom);
    k->user = lh_strdup_opt(my->user, &oom);
    k->password = lh_strdup_opt(my->password, &oom);
    k->socket = lh_strdup_opt(my->socket, &oom);
    k->port = my->port;
    k->ids[k->nids++] = my->thread_id;
    for (int i = 0; i < my->nside; i++)
        if (my->side[i].thread_id)
            k->ids[k->nids++] = my->side[i].thread_id;
    if (oom || !src_detach(killer_main, k, 512 * 1024)) {
        atomic_store(&k->refs, 1);
        killer_free(k);
        return;
    }
    my->killer = k;
}

/* ------------------------------------------------------------ shares */

/* A parallel read's connections, from the leader to its parts. MySQL
 * cannot export a snapshot, so the leader starts every connection's
 * transaction itself (my_plan_parallel) and parks the others here under a
 * token (its lh_source_snapshot); a part started with that token takes its
 * connection (my_adopt), already inside the snapshot. The leader owns the
 * share: my_close unlinks it and closes the connections nobody took. */
struct my_share {
    struct my_share *next;
    char token[48];
    int n;
    MYSQL *conns[LH_SOURCE_PARALLEL_MAX]; /* [part]; NULL once taken */
    char *key;
    struct lh_source_range ranges[LH_SOURCE_PARALLEL_MAX]; /* [part] */
};

static pthread_mutex_t SHARES_MU = PTHREAD_MUTEX_INITIALIZER;
static struct my_share *SHARES;
static unsigned long SHARES_SEQ;

static void share_drop(struct my_share *sh)
{
    if (!sh)
        return;
    pthread_mutex_lock(&SHARES_MU);
    for (struct my_share **p = &SHARES; *p; p = &(*p)->next)
        if (*p == sh) {
            *p = sh->next;
            break;
        }
    pthread_mutex_unlock(&SHARES_MU);
    for (int i = 0; i < sh->n; i++)
        if (sh->conns[i])
            mysql_close(sh->conns[i]);
    free(sh->key);
    free(sh);
}

/* Runs with s->mu held (lh_source_cancel), so impl and the socket cannot go
 * away. Never blocks: see the header. */
static void my_cancel(struct lh_source *s)
{
    struct my_impl *my = s->impl;
    if (!my || !my->thread_id)
        return; /* not connected yet: the reader checks the flag after connecting */
    pthread_once(&LIB_ONCE, lib_init);
    kill_async(my);
    if (my->fd >= 0)
        (void)shutdown(my->fd, SHUT_RDWR);
    for (int i = 0; i < my->nside; i++)
        if (my->side[i].fd >= 0)
            (void)shutdown(my->side[i].fd, SHUT_RDWR);
}

static void my_close(struct lh_source *s)
{
    struct my_impl *my = s->impl;
    if (!my)
        return;
    if (my->killer) {
        /* let the KILL reach a live server before the process may exit
         * (the CLI does right after); a frozen one gets KILL_TIMEOUT_S */
        int64_t end = lh_time_mono_ns() + (int64_t)(KILL_TIMEOUT_S + 1) * 1000000000LL;
        struct timespec ts = {0, 5 * 1000000L};
        while (!atomic_load(&my->killer->done) && lh_time_mono_ns() < end)
            nanosleep(&ts, NULL);
        killer_free(my->killer);
        my->killer = NULL;
    }
    /* Mid-stream, mysql_stmt_close would read every remaining row first:
     * close the connection before the statement (which it detaches). */
    if (my->executing && my->conn) {
        mysql_close(my->conn);
        my->conn = NULL;
    }
    if (my->stmt)
        mysql_stmt_close(my->stmt);
    if (my->conn)
        mysql_close(my->conn);
    for (int i = 0; i < my->nside; i++)
        mysql_close(my->side[i].conn);
    my->nside = 0;
    share_drop(my->share);
    free(my->key);
    if (my->mcols)
        for (size_t i = 0; i < s->ncols; i++)
            free(my->mcols[i].scratch);
    free(my->mcols);
    free(my->binds);
    free(my);
    s->impl = NULL;
}

static const struct src_driver MY_DRIVER = {my_fill, my_cancel, my_close};

/* ------------------------------------------------------------ open */

/* TCP keepalives on the connection, so a peer host that vanished is
 * noticed (a unix socket refuses the TCP options: harmless). */
static void keepalive(int fd)
{
    if (fd < 0)
        return;
    int on = 1, idle = 30, intvl = 10, cnt = 3;
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

/* CAST target for comparing a cursor column with a text bound, into
 * out; "" when the column is compared as it is (strings). */
static void cursor_cast(const struct my_col *mc, const struct lh_field *f, char *out, size_t cap)
{
    out[0] = '\0';
    switch (f->type) {
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_INT64:
        snprintf(out, cap, "SIGNED");
        break;
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32:
    case LH_T_UINT64:
        snprintf(out, cap, "UNSIGNED");
        break;
    case LH_T_DATE:
        snprintf(out, cap, "DATE");
        break;
    case LH_T_TIMESTAMP:
        snprintf(out, cap, "DATETIME(6)");
        break;
    default:
        break;
    }
    if (mc->kind == MK_TIME) /* read as INT64 microseconds, compared as TIME */
        snprintf(out, cap, "TIME(6)");
    /* decimals in the column's own precision, so nothing is clipped */
    if (mc->kind == MK_DECIMAL && mc->info_prec >= 1 && mc->info_prec <= 65)
        snprintf(out, cap, "DECIMAL(%u,%u)", mc->info_prec, mc->info_scale);
}

static void put_bound(MYSQL *conn, struct lh_buf *b, const char *text, const char *cast)
{
    if (!*cast)
        cast = NULL;
    if (cast)
        lh_buf_append_str(b, "CAST(");
    put_literal(conn, b, text);
    if (cast) {
        lh_buf_append_str(b, " AS ");
        lh_buf_append_str(b, cast);
        lh_buf_append_str(b, ")");
    }
}

/* mysql_real_connect through Connector/C's non-blocking API, each wait in
 * src_wait beside the cancel pipe: a cancel stops even a connect to a
 * server that accepted the TCP connection and never sends its greeting
 * (the blocking call would sit out the whole connect timeout, the cancel
 * having no socket to shut down yet). The library's own timeouts apply
 * (MYSQL_WAIT_TIMEOUT); deadline_ns bounds the whole attempt besides.
 * NULL on failure: the cancel flag, *timed_out, or mysql_errno says why.
 * Later statements use the blocking API on the same connection. */
static MYSQL *my_connect(struct lh_source *s, struct my_impl *my, MYSQL *conn,
                         const struct src_url *u, int64_t deadline_ns, bool *timed_out)
{
    MYSQL *ret = NULL;
    *timed_out = false;
    int status = mysql_real_connect_start(&ret, conn, my->host, u->user, u->password, u->db,
                                          u->port, u->socket, 0);
    while (status) {
        short ev = (short)((status & MYSQL_WAIT_READ ? POLLIN : 0) |
                           (status & MYSQL_WAIT_WRITE ? POLLOUT : 0) |
                           (status & MYSQL_WAIT_EXCEPT ? POLLPRI : 0));
        int64_t dl = deadline_ns;
        if (status & MYSQL_WAIT_TIMEOUT) {
            int64_t t = lh_time_mono_ns() + (int64_t)mysql_get_timeout_value_ms(conn) * 1000000;
            if (t < dl)
                dl = t;
        }
        int happened;
        switch (src_wait(s, (int)mysql_get_socket(conn), ev, dl)) {
        case SRC_READY:
            happened = status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT);
            break;
        case SRC_TIMEOUT:
            if (!(status & MYSQL_WAIT_TIMEOUT)) {
                *timed_out = true; /* ours, not the library's */
                return NULL;
            }
            happened = MYSQL_WAIT_TIMEOUT;
            break;
        default: /* cancelled, or poll failed: the caller looks at the flag */
            *timed_out = !atomic_load(&s->cancelled);
            return NULL;
        }
        status = mysql_real_connect_cont(&ret, conn, happened);
    }
    return ret;
}

/* A new connection with the source's settings (utf8mb4, UTC, the client
 * timeouts), through my_connect; *out is NULL on failure. */
static enum lh_status my_open(struct lh_source *s, struct my_impl *my, const struct src_url *u,
                              MYSQL **out, struct lh_error *err)
{
    *out = NULL;
    pthread_once(&LIB_ONCE, lib_init);
    MYSQL *conn = mysql_init(NULL);
    if (!conn)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    unsigned timeout = s->opt.connect_timeout_s > 0 ? (unsigned)s->opt.connect_timeout_s : 10;
    mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(conn, MYSQL_OPT_NONBLOCK, 0); /* for my_connect only */
    mysql_optionsv(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (s->opt.statement_timeout_ms > 0) {
        /* per read or write; Connector/C does not retry a timed-out read */
        int64_t secs = (s->opt.statement_timeout_ms + 999) / 1000 + DEADLINE_GRACE_S;
        unsigned io = secs > 86400 ? 86400 : (unsigned)secs;
        mysql_optionsv(conn, MYSQL_OPT_READ_TIMEOUT, &io);
        mysql_optionsv(conn, MYSQL_OPT_WRITE_TIMEOUT, &io);
    }
    enum lh_status st = LH_OK;
    bool timed_out = false;
    if (!my_connect(s, my, conn, u, lh_time_mono_ns() + (int64_t)(timeout + 1) * 1000000000LL,
                    &timed_out)) {
        /* cancelled while the connect was under way */
        if ((st = src_check_cancel(s, "connecting", err)))
            goto fail;
        if (timed_out) {
            st = lh_error_set(err, LH_E_CONNECT, "mysql %s: cannot connect: timeout expired (%u s)",
                              s->server, timeout);
            goto fail;
        }
        unsigned e = mysql_errno(conn);
        st = status_from_errno(e);
        if (st != LH_E_AUTH && st != LH_E_PERM)
            st = LH_E_CONNECT;
        st = lh_error_set(err, st, "mysql %s: %s: %s (%u)", s->server,
                          st == LH_E_AUTH   ? "authentication failed"
                          : st == LH_E_PERM ? "permission denied"
                                            : "cannot connect",
                          mysql_error(conn), e);
        goto fail;
    }
    *out = conn;
    return LH_OK;
fail:
    mysql_close(conn);
    return st;
}

/* The session every reading connection runs in: REPEATABLE READ and the
 * statement timeout. */
static enum lh_status my_session(struct lh_source *s, MYSQL *conn, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    enum lh_status st = my_exec_on(
        s, conn, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "session setup", err);
    if (st || s->opt.statement_timeout_ms <= 0)
        return st;
    char sql[96];
    if (my->mariadb)
        snprintf(sql, sizeof sql, "SET SESSION max_statement_time = %.3f",
                 (double)s->opt.statement_timeout_ms / 1000.0);
    else
        snprintf(sql, sizeof sql, "SET SESSION max_execution_time = %lld",
                 (long long)s->opt.statement_timeout_ms);
    return my_exec_on(s, conn, sql, "SET statement timeout", err);
}

/* Closes the side connections from `from` on (a lock held by one ends
 * with it). */
static void sides_close(struct lh_source *s, int from)
{
    struct my_impl *my = s->impl;
    struct my_side gone[LH_SOURCE_PARALLEL_MAX];
    pthread_mutex_lock(&s->mu);
    int n = my->nside - from;
    if (n > 0) {
        memcpy(gone, my->side + from, (size_t)n * sizeof *gone);
        my->nside = from;
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++)
        mysql_close(gone[i].conn);
}

/* One row of a query on conn, text protocol: *r to free, *row NULL when
 * there is none. */
static enum lh_status my_row(struct lh_source *s, MYSQL *conn, struct lh_buf *q, const char *what,
                             MYSQL_RES **r, MYSQL_ROW *row, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    *r = NULL;
    *row = NULL;
    lh_buf_cstr(q);
    if (!lh_buf_ok(q))
        return lh_error_set(err, LH_E_INVAL, "mysql %s: %s: bad table name", s->server, what);
    enum lh_status st = src_check_cancel(s, what, err);
    if (st)
        return st;
    my->stmt_start_ns = lh_time_mono_ns();
    if (mysql_query(conn, (const char *)q->data) || !(*r = mysql_store_result(conn)))
        return my_fail_on(s, conn, what, err);
    *row = mysql_fetch_row(*r);
    return LH_OK;
}

/* Appends "WHERE TABLE_SCHEMA = 'db' AND TABLE_NAME = 't'" (with the
 * alias prefix) to an information_schema query. */
static void put_table_filter(MYSQL *conn, struct lh_buf *q, const char *alias, const char *db,
                             const char *table)
{
    lh_buf_printf(q, " WHERE %sTABLE_SCHEMA = ", alias);
    put_literal(conn, q, db);
    lh_buf_printf(q, " AND %sTABLE_NAME = ", alias);
    put_literal(conn, q, table);
}

/* Into key (key_cap bytes; "" when there is none): the table's first
 * unique index of one NOT NULL integer column (column: only that column's),
 * the primary key first. A key read in its order returns each row once,
 * ascending (docs/ingest.md "Resumable loads"). */
static enum lh_status my_unique_int_key(struct lh_source *s, const char *db, const char *table,
                                        const char *column, char *key, size_t key_cap,
                                        struct lh_error *err)
{
    struct my_impl *my = s->impl;
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    struct lh_buf q;
    lh_buf_init(&q, 1u << 16);
    key[0] = '\0';
    lh_buf_append_str(&q, "SELECT MIN(c.COLUMN_NAME) FROM information_schema.STATISTICS s"
                          " JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA"
                          " AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME");
    put_table_filter(my->conn, &q, "s.", db, table);
    lh_buf_append_str(&q, " AND s.NON_UNIQUE = 0 GROUP BY s.INDEX_NAME HAVING COUNT(*) = 1"
                          " AND MIN(c.IS_NULLABLE) = 'NO' AND MIN(c.DATA_TYPE) IN"
                          " ('tinyint', 'smallint', 'mediumint', 'int', 'bigint')");
    if (column) {
        lh_buf_append_str(&q, " AND MIN(c.COLUMN_NAME) = ");
        put_literal(my->conn, &q, column);
    }
    lh_buf_append_str(&q, " ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME LIMIT 1");
    enum lh_status st = my_row(s, my->conn, &q, "reading the table's keys", &r, &row, err);
    if (!st && row && row[0])
        snprintf(key, key_cap, "%s", row[0]);
    if (r)
        mysql_free_result(r);
    lh_buf_reset(&q);
    return st;
}

/* The reasons a table cannot be split into key ranges, or NULL when it
 * can: then key is its single-column integer primary key (or unique NOT
 * NULL integer key) and *bytes its data length. why: a buffer for the
 * reason. */
static enum lh_status my_split_key(struct lh_source *s, const char *db, const char *table,
                                   char *key, size_t key_cap, int64_t *bytes, const char **why,
                                   char *whybuf, size_t whycap, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    struct lh_buf q;
    lh_buf_init(&q, 1u << 16);
    *why = NULL;
    lh_buf_append_str(&q, "SELECT ENGINE, TABLE_TYPE, DATA_LENGTH FROM information_schema.TABLES");
    put_table_filter(my->conn, &q, "", db, table);
    enum lh_status st = my_row(s, my->conn, &q, "reading the table's engine", &r, &row, err);
    if (st)
        goto done;
    if (!row) {
        *why = "the table is not in information_schema.TABLES";
    } else if (!row[1] || strcmp(row[1], "BASE TABLE") != 0) {
        *why = "only a base table splits into key ranges (a view does not)";
    } else if (!row[0] || strcasecmp(row[0], "InnoDB") != 0) {
        snprintf(whybuf, whycap,
                 "the table's engine (%s) has no consistent snapshots: only InnoDB tables are "
                 "read in parallel",
                 row[0] ? row[0] : "none");
        *why = whybuf;
    } else if (!row[2] || !lh_parse_i64(row[2], bytes)) {
        *bytes = 0;
    }
    mysql_free_result(r);
    r = NULL;
    if (*why)
        goto done;
    if ((st = my_unique_int_key(s, db, table, NULL, key, key_cap, err)))
        goto done;
    if (!*key)
        *why = "the table has no single-column integer primary key (or unique NOT NULL integer "
               "key) to split into ranges";
done:
    if (r)
        mysql_free_result(r);
    lh_buf_reset(&q);
    return st;
}

/* Seconds LOCK TABLES may wait for the table's open write transactions
 * before the read falls back to one connection. */
#define LOCK_WAIT_S 5

/* A leader's decision (docs/ingest.md "Parallel reads"), before its own
 * transaction: how many key ranges to read; with more than one, every
 * connection's consistent snapshot started while a side connection holds
 * LOCK TABLES t READ (so all see the same committed state of t), the
 * others parked in a share for the parts. Falls back to one connection,
 * with a log line saying why, whenever the read cannot be split or the
 * user may not lock; only a failed query or a cancel fails the read. */
static enum lh_status my_plan_parallel(struct lh_source *s, const struct src_url *u, const char *db,
                                       const char *table, struct lh_error *err)
{
    struct my_impl *my = s->impl;
    int want = s->opt.parallel;
    if (want != LH_SOURCE_PARALLEL_AUTO && want < 2)
        return LH_OK;
    char whybuf[400], key[256] = "";
    const char *why = NULL;
    int64_t bytes = 0;
    enum lh_status st = LH_OK;
    MYSQL_RES *r = NULL;
    struct lh_buf q;
    lh_buf_init(&q, 1u << 16);
    if (s->opt.query)
        why = "a query is read on one connection";
    else if (s->opt.limit > 0)
        why = "a read with a limit takes its rows in order";
    else if (s->opt.order_by)
        why = "a read with order_by is one ordered stream";
    else if (s->opt.cursor_column)
        why = "an incremental read (cursor_column) of MySQL/MariaDB is read on one connection";
    else if ((st = my_split_key(s, db, table, key, sizeof key, &bytes, &why, whybuf, sizeof whybuf,
                                err)))
        goto done;
    if (why)
        goto fallback;
    int n = want;
    if (s->opt.nranges) {
        /* a resumed read: one connection per range left */
        n = (int)s->opt.nranges;
        if (n < 2)
            goto keyed;
    } else if (want == LH_SOURCE_PARALLEL_AUTO) {
        int cores = src_local_cores(u->socket ? u->socket : my->host ? my->host : "localhost");
        n = src_auto_parallel(s, bytes, cores);
        if (n < 2)
            goto done;
    }
    /* the other readers and the locker, each set up before the lock so
     * writers wait only for the snapshots to start */
    for (int i = 0; i < n; i++) {
        MYSQL *c;
        if ((st = my_open(s, my, u, &c, err)))
            goto done;
        pthread_mutex_lock(&s->mu);
        my->side[my->nside++] = (struct my_side){c, mysql_thread_id(c), (int)mysql_get_socket(c)};
        pthread_mutex_unlock(&s->mu);
        if ((st = src_check_cancel(s, "connecting", err)))
            goto done;
        if (i < n - 1 && (st = my_session(s, c, err)))
            goto done;
    }
    MYSQL *lk = my->side[n - 1].conn;
    char sql[64];
    snprintf(sql, sizeof sql, "SET SESSION lock_wait_timeout = %d", LOCK_WAIT_S);
    if ((st = my_exec_on(s, lk, sql, "SET lock_wait_timeout", err)))
        goto done;
    lh_buf_append_str(&q, "LOCK TABLES ");
    put_ident(&q, db);
    lh_buf_append_u8(&q, '.');
    put_ident(&q, table);
    lh_buf_append_str(&q, " READ");
    lh_buf_cstr(&q);
    if (!lh_buf_ok(&q)) {
        st = lh_error_set(err, LH_E_INVAL, "mysql %s: bad table name", s->server);
        goto done;
    }
    src_log_statement(s, (const char *)q.data);
    if ((st = src_check_cancel(s, "LOCK TABLES", err)))
        goto done;
    int64_t lock_ns = lh_time_mono_ns();
    my->stmt_start_ns = lock_ns;
    if (mysql_query(lk, (const char *)q.data)) {
        unsigned e = mysql_errno(lk);
        enum lh_status ks = status_from_errno(e);
        if (atomic_load(&s->cancelled) || ks == LH_E_CONNECT || ks == LH_E_TIMEOUT) {
            st = my_fail_on(s, lk, "LOCK TABLES", err);
            goto done;
        }
        if (ks == LH_E_PERM)
            snprintf(whybuf, sizeof whybuf,
                     "the user may not LOCK TABLES on `%s` (GRANT LOCK TABLES ON `%s`.* to the "
                     "user enables parallel reads): %s (%u)",
                     db, db, mysql_error(lk), e);
        else if (e == 1205) /* ER_LOCK_WAIT_TIMEOUT */
            snprintf(whybuf, sizeof whybuf,
                     "open write transactions held the table past lock_wait_timeout (%d s)",
                     LOCK_WAIT_S);
        else
            snprintf(whybuf, sizeof whybuf, "LOCK TABLES failed: %s (%u)", mysql_error(lk), e);
        why = whybuf;
        goto fallback;
    }
    int64_t lo = 0, hi = 0;
    if (s->opt.nranges)
        goto snapshots; /* the ranges are given */
    /* under the lock: the key's bounds as every snapshot will see them */
    lh_buf_clear(&q);
    lh_buf_append_str(&q, "SELECT CAST(MIN(");
    put_ident(&q, key);
    lh_buf_append_str(&q, ") AS CHAR), CAST(MAX(");
    put_ident(&q, key);
    lh_buf_append_str(&q, ") AS CHAR) FROM ");
    put_ident(&q, db);
    lh_buf_append_u8(&q, '.');
    put_ident(&q, table);
    MYSQL_ROW row;
    if ((st = my_row(s, lk, &q, "reading the key's bounds", &r, &row, err)))
        goto done;
    if (!row || !row[0] || !row[1])
        why = "the table is empty";
    else if (!lh_parse_i64(row[0], &lo) || !lh_parse_i64(row[1], &hi))
        why = "the key's values pass the signed 64-bit range";
    else if ((lh_i128)hi - lo + 1 < n) {
        snprintf(whybuf, sizeof whybuf,
                 "the key `%s` spans %lld value(s), fewer than %d connections", key,
                 (long long)((lh_i128)hi - lo + 1), n);
        why = whybuf;
    }
    mysql_free_result(r);
    r = NULL;
    if (why)
        goto fallback;
snapshots:;
    static const char start[] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
    if ((st = my_exec(s, start, "START TRANSACTION", err)))
        goto done;
    for (int i = 0; i < n - 1; i++)
        if ((st = my_exec_on(s, my->side[i].conn, start, "START TRANSACTION", err)))
            goto done;
    if ((st = my_exec_on(s, lk, "UNLOCK TABLES", "UNLOCK TABLES", err)))
        goto done;
    double held_ms = (double)(lh_time_mono_ns() - lock_ns) / 1e6;
    sides_close(s, n - 1);
    struct my_share *sh = calloc(1, sizeof *sh);
    if (!sh || !(sh->key = strdup(key)) || !(my->key = strdup(key))) {
        if (sh)
            free(sh->key);
        free(sh);
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    sh->n = n;
    src_split_ranges(s, lo, hi, n);
    memcpy(sh->ranges, s->ranges, (size_t)n * sizeof *sh->ranges);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < n - 1; i++)
        sh->conns[i + 1] = my->side[i].conn;
    my->nside = 0;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&SHARES_MU);
    snprintf(sh->token, sizeof sh->token, "mysql-%lu", ++SHARES_SEQ);
    sh->next = SHARES;
    SHARES = sh;
    pthread_mutex_unlock(&SHARES_MU);
    my->share = sh;
    snprintf(s->snapshot, sizeof s->snapshot, "%s", sh->token);
    s->parallel = n;
    if (s->opt.nranges)
        src_log(s, LH_LOG_INFO,
                "parallel read: %d connections in one consistent snapshot (started under LOCK "
                "TABLES READ, held %.1f ms), one per range of key `%s` left to read",
                n, held_ms, key);
    else
        src_log(s, LH_LOG_INFO,
                "parallel read: %d connections in one consistent snapshot (started under LOCK "
                "TABLES READ, held %.1f ms), key `%s` %lld..%lld split into ranges",
                n, held_ms, key, (long long)lo, (long long)hi);
    goto done;
fallback:
    src_log(s, LH_LOG_INFO, "parallel read: falling back to one connection: %s", why);
    sides_close(s, 0);
keyed:
    /* one connection: a resumed read's ranges still in key order; a fresh
     * one in no particular order */
    if (s->opt.nranges && *key) {
        if (!(my->key = strdup(key)))
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        src_ranges_from_options(s);
    } else {
        s->order_why = lh_arena_strndup(&s->arena, why, strlen(why));
    }
done:
    if (r)
        mysql_free_result(r);
    lh_buf_reset(&q);
    return st;
}

/* A part of a parallel read takes its connection from the leader's share
 * (already in the snapshot) and its key range. */
static enum lh_status my_adopt(struct lh_source *s, struct my_impl *my, struct lh_error *err)
{
    MYSQL *conn = NULL;
    char *key = NULL;
    int part = s->opt.part;
    pthread_mutex_lock(&SHARES_MU);
    for (struct my_share *sh = SHARES; sh; sh = sh->next) {
        if (strcmp(sh->token, s->opt.snapshot) != 0 || sh->n != s->opt.parallel)
            continue;
        if ((key = strdup(sh->key)) != NULL) {
            conn = sh->conns[part];
            sh->conns[part] = NULL;
            s->ranges[0] = sh->ranges[part];
            s->nranges = 1;
        }
        break;
    }
    pthread_mutex_unlock(&SHARES_MU);
    if (!conn) {
        free(key);
        return lh_error_set(err, LH_E_STATE,
                            "mysql %s: part %d of parallel read %s: its connection is gone "
                            "(the leader was closed, or the part was started twice)",
                            s->server, part, s->opt.snapshot);
    }
    pthread_mutex_lock(&s->mu);
    my->conn = conn;
    my->thread_id = mysql_thread_id(conn);
    my->fd = (int)mysql_get_socket(conn);
    pthread_mutex_unlock(&s->mu);
    my->key = key;
    s->parallel = s->opt.parallel;
    return LH_OK;
}

enum lh_status src_my_start(struct lh_source *s, const char *dsn, struct lh_error *err)
{
    enum lh_status st;
    MYSQL_STMT *probe = NULL;
    MYSQL_RES *meta = NULL;
    struct lh_buf q, body;
    lh_buf_init(&q, 1u << 24);
    lh_buf_init(&body, 1u << 20);
    struct my_impl *my = calloc(1, sizeof *my);
    if (!my)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    my->fd = -1;
    src_set_driver(s, &MY_DRIVER, my);

    struct src_url u;
    if ((st = src_url_parse(s, dsn, &u, err)))
        goto done;
    if (u.password && *u.password)
        s->secret = strdup(u.password);
    my->host = u.host && *u.host ? u.host : NULL;
    my->user = u.user;
    my->password = u.password;
    my->socket = u.socket;
    my->port = u.port;
    if (u.socket)
        snprintf(s->server, sizeof s->server, "%s/%s user=%s", u.socket, u.db ? u.db : "",
                 u.user ? u.user : "");
    else
        snprintf(s->server, sizeof s->server, "%s:%u/%s user=%s", my->host ? my->host : "localhost",
                 u.port ? u.port : 3306, u.db ? u.db : "", u.user ? u.user : "");

    if (s->opt.snapshot) {
        /* a part of a parallel read: the leader's connection, already in
         * the snapshot */
        if ((st = my_adopt(s, my, err)))
            goto done;
    } else {
        MYSQL *conn;
        src_log(s, LH_LOG_INFO, "connecting to mysql %s", s->server);
        if ((st = my_open(s, my, &u, &conn, err)))
            goto done;
        /* publish the id, then look at the flag: a cancel either sees the
         * id (and kills) or set the flag before we look */
        pthread_mutex_lock(&s->mu);
        my->conn = conn;
        my->thread_id = mysql_thread_id(conn);
        my->fd = (int)mysql_get_socket(conn);
        pthread_mutex_unlock(&s->mu);
    }
    keepalive(my->fd);
    if ((st = src_check_cancel(s, "connecting", err)))
        goto done;
    {
        const char *ver = mysql_get_server_info(my->conn);
        snprintf(s->server_version, sizeof s->server_version, "%s", ver ? ver : "");
        my->mariadb = strstr(s->server_version, "MariaDB") != NULL;
        src_log(s, LH_LOG_INFO, "connected to mysql %s: %s %s", s->server,
                my->mariadb ? "MariaDB" : "MySQL", s->server_version);
    }
    char *db = NULL, *table = NULL;
    if (!s->opt.query) {
        if ((st = src_split_table(s, s->opt.table, &db, &table, err)))
            goto done;
        if (!db)
            db = u.db;
        if (!db) {
            st = lh_error_set(err, LH_E_INVAL,
                              "mysql %s: no database: give db.table or a DSN with /db", s->server);
            goto done;
        }
    }
    if (!s->opt.snapshot) {
        if ((st = my_session(s, my->conn, err)))
            goto done;
        if ((st = my_plan_parallel(s, &u, db, table, err)))
            goto done;
        if (s->parallel < 2 && (st = my_exec(s,
                                             "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
                                             "READ ONLY",
                                             "START TRANSACTION", err)))
            goto done;
    }

    /* the relation: db.table (the DSN's database by default), or the
     * query as a derived table; a probe SELECT * of it gives the columns
     * (and "no such table"/"permission denied" before any row moves) */
    lh_buf_append_str(&body, " FROM ");
    if (s->opt.query) {
        lh_buf_append_str(&body, "(");
        lh_buf_append_str(&body, s->opt.query);
        lh_buf_append_str(&body, "\n) AS lh_t");
    } else {
        put_ident(&body, db);
        lh_buf_append_u8(&body, '.');
        put_ident(&body, table);
    }
    lh_buf_append_str(&q, "SELECT *");
    lh_buf_append(&q, body.data, body.len);
    lh_buf_cstr(&q);
    if (!lh_buf_ok(&q) || !lh_buf_ok(&body)) {
        st = lh_error_set(err, LH_E_INVAL, "mysql %s: bad table name or query too long", s->server);
        goto done;
    }
    probe = mysql_stmt_init(my->conn);
    if (!probe || mysql_stmt_prepare(probe, (const char *)q.data, (unsigned long)q.len)) {
        if (probe && !s->opt.query && mysql_stmt_errno(probe) == 1146)
            st = lh_error_set(err, LH_E_NOTFOUND, "mysql %s: table %s not found", s->server,
                              s->opt.table);
        else
            st = probe ? my_stmt_fail(s, probe, s->opt.query ? "query" : "reading the table", err)
                       : my_fail(s, "stmt_init", err);
        goto done;
    }
    meta = mysql_stmt_result_metadata(probe);
    if (!meta) {
        st = my_stmt_fail(s, probe, "reading the table's columns", err);
        goto done;
    }
    s->ncols = mysql_num_fields(meta);
    s->fields = lh_arena_alloc(&s->arena, (s->ncols ? s->ncols : 1) * sizeof *s->fields);
    my->mcols = calloc(s->ncols ? s->ncols : 1, sizeof *my->mcols);
    my->binds = calloc(s->ncols ? s->ncols : 1, sizeof *my->binds);
    if (!s->fields || !my->mcols || !my->binds) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < s->ncols; i++) {
        MYSQL_FIELD *fd = mysql_fetch_field_direct(meta, (unsigned)i);
        s->fields[i].name = lh_arena_strndup(&s->arena, fd->name, fd->name_length);
        if (!s->fields[i].name) {
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        if (s->opt.query && (fd->type == MYSQL_TYPE_NEWDECIMAL || fd->type == MYSQL_TYPE_DECIMAL)) {
            /* no information_schema row for a query: the metadata's
             * length is precision + the point + the sign */
            struct my_col *mc = &my->mcols[i];
            unsigned long len = fd->length;
            len -= fd->decimals ? 1 : 0;
            len -= (fd->flags & UNSIGNED_FLAG) ? 0 : 1;
            mc->info_prec = mc->prec = (unsigned)len;
            mc->info_scale = mc->scale = fd->decimals;
        }
    }
    if ((st = src_check_names(s, err)))
        goto done;
    if ((!s->opt.query && (st = load_info(s, db, table, err))) || (st = map_fields(s, meta, err)))
        goto done;
    if (!s->opt.query && !s->opt.snapshot) {
        my_estimate(s, db, table);
        if ((st = src_check_cancel(s, "reading the row estimate", err)))
            goto done;
    }
    mysql_free_result(meta);
    meta = NULL;
    mysql_stmt_close(probe);
    probe = NULL;
    struct src_read rd;
    if ((st = src_read_plan(s, &rd, err)))
        goto done;
    if (!s->opt.query && !my->key && s->opt.order_by && rd.norder == 1 && !rd.order[0].desc &&
        s->opt.limit <= 0) {
        /* an order on a key: the read can be continued after a key
         * (lh_source_order_key) */
        char key[256];
        if ((st = my_unique_int_key(s, db, table, s->fields[rd.order[0].col].name, key, sizeof key,
                                    err)))
            goto done;
        if (*key && !(my->key = strdup(key))) {
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        if (*key)
            src_ranges_from_options(s);
    }
    char cast[32] = "";
    if (rd.cursor >= 0)
        cursor_cast(&my->mcols[rd.cursor], &s->fields[rd.cursor], cast, sizeof cast);
    bool has_where = false;
    if (s->opt.where) {
        /* the operator's SQL, as documented (docs/ingest.md) */
        lh_buf_append_str(&body, " WHERE (");
        lh_buf_append_str(&body, s->opt.where);
        lh_buf_append_str(&body, "\n)");
        has_where = true;
    }
    if (rd.cursor >= 0 && s->opt.cursor_after) {
        lh_buf_append_str(&body, has_where ? " AND " : " WHERE ");
        has_where = true;
        put_ident(&body, s->fields[rd.cursor].name);
        lh_buf_append_str(&body, " > ");
        put_bound(my->conn, &body, s->opt.cursor_after, cast);
    }
    struct lh_buf qkey; /* the key, quoted */
    lh_buf_init(&qkey, 1024);
    if (my->key) {
        /* this source's ranges of the key (a part's: the first and the
         * last are open-ended), read in key order: on InnoDB a range scan
         * of the key's index, in its order at no extra cost */
        put_ident(&qkey, my->key);
        lh_buf_cstr(&qkey);
        if (lh_buf_ok(&qkey))
            src_put_ranges(s, &body, (const char *)qkey.data, &has_where);
    }
    size_t tail_at = body.len;
    for (size_t i = 0; i < rd.norder; i++) {
        lh_buf_append_str(&body, i ? ", " : " ORDER BY ");
        put_ident(&body, s->fields[rd.order[i].col].name);
        if (rd.order[i].desc)
            lh_buf_append_str(&body, " DESC");
    }
    if (my->key && rd.norder == 0) {
        lh_buf_append_str(&body, " ORDER BY ");
        lh_buf_append(&body, qkey.data, qkey.len);
    }
    bool key_ok = lh_buf_ok(&qkey);
    lh_buf_reset(&qkey);
    if (!key_ok) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto done;
    }
    if (s->opt.limit > 0)
        lh_buf_printf(&body, " LIMIT %lld", (long long)s->opt.limit);
    if (!lh_buf_ok(&body)) {
        st = lh_error_set(err, LH_E_INVAL, "mysql %s: bad cursor value", s->server);
        goto done;
    }
    if (rd.cursor >= 0) {
        /* the high watermark, in the same snapshot */
        lh_buf_clear(&q);
        lh_buf_append_str(&q, "SELECT CAST(MAX(lh_q.c) AS CHAR) FROM (SELECT ");
        put_ident(&q, s->fields[rd.cursor].name);
        lh_buf_append_str(&q, " AS c");
        lh_buf_append(&q, body.data, body.len);
        lh_buf_append_str(&q, ") lh_q");
        lh_buf_cstr(&q);
        my->stmt_start_ns = lh_time_mono_ns();
        if (!lh_buf_ok(&q) || mysql_query(my->conn, (const char *)q.data)) {
            st = lh_buf_ok(&q) ? my_fail(s, "reading the cursor watermark", err)
                               : lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        MYSQL_RES *r = mysql_store_result(my->conn);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row && row[0])
            s->cursor_high = strdup(row[0]);
        if (r)
            mysql_free_result(r);
        if (!r) {
            st = my_fail(s, "reading the cursor watermark", err);
            goto done;
        }
        if (s->cursor_high) {
            /* bound the stream above too: a table without snapshots
             * (MyISAM) must not return rows past the watermark */
            struct lh_buf w;
            lh_buf_init(&w, 1u << 20);
            lh_buf_append(&w, body.data, tail_at);
            lh_buf_append_str(&w, has_where ? " AND " : " WHERE ");
            put_ident(&w, s->fields[rd.cursor].name);
            lh_buf_append_str(&w, " <= ");
            put_bound(my->conn, &w, s->cursor_high, cast);
            lh_buf_append(&w, body.data + tail_at, body.len - tail_at);
            lh_buf_reset(&body);
            body = w;
        }
    }
    if (rd.sel) {
        /* --columns: only those, in that order (the cursor and order_by
         * above may name others) */
        struct my_col *mc = calloc(rd.nsel ? rd.nsel : 1, sizeof *mc);
        if (!mc) {
            st = lh_error_set(err, LH_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < rd.nsel; i++) {
            mc[i] = my->mcols[rd.sel[i]];
            my->mcols[rd.sel[i]].scratch = NULL; /* moved */
        }
        for (size_t i = 0; i < s->ncols; i++)
            free(my->mcols[i].scratch);
        free(my->mcols);
        my->mcols = mc;
        src_select_fields(s, rd.sel, rd.nsel);
    }
    for (size_t i = 0; my->key && i < s->ncols; i++)
        if (strcasecmp(s->fields[i].name, my->key) == 0)
            s->order_key = (long)i;
    if (my->key && s->order_key < 0) {
        char why[400];
        snprintf(why, sizeof why, "the key `%s` is not among the columns read", my->key);
        s->order_why = lh_arena_strndup(&s->arena, why, strlen(why));
    }

    lh_buf_clear(&q);
    lh_buf_append_str(&q, "SELECT ");
    for (size_t i = 0; i < s->ncols; i++) {
        if (i)
            lh_buf_append_str(&q, ", ");
        put_ident(&q, s->fields[i].name);
    }
    lh_buf_append(&q, body.data, body.len);
    lh_buf_cstr(&q);
    if (!lh_buf_ok(&q)) {
        st = lh_error_set(err, LH_E_TOOBIG, "mysql %s: query too long", s->server);
        goto done;
    }
    lh_debug("source: %s", (const char *)q.data);
    src_log_statement(s, (const char *)q.data);
    if ((st = src_cols_init(s, err)))
        goto done;
    my->stmt = mysql_stmt_init(my->conn);
    if (!my->stmt) {
        st = my_fail(s, "stmt_init", err);
        goto done;
    }
    if (mysql_stmt_prepare(my->stmt, (const char *)q.data, (unsigned long)q.len)) {
        st = my_stmt_fail(s, my->stmt, "prepare", err);
        goto done;
    }
    bind_columns(my, s->ncols);
    if (mysql_stmt_bind_result(my->stmt, my->binds)) {
        st = my_stmt_fail(s, my->stmt, "bind", err);
        goto done;
    }
    if ((st = src_check_cancel(s, "execute", err)))
        goto done;
    my->executing = true;
    my->stmt_start_ns = lh_time_mono_ns();
    if (mysql_stmt_execute(my->stmt)) {
        my->executing = false;
        st = my_stmt_fail(s, my->stmt, "execute", err);
        goto done;
    }
done:
    if (meta)
        mysql_free_result(meta);
    if (probe)
        mysql_stmt_close(probe);
    lh_buf_reset(&q);
    lh_buf_reset(&body);
    return st;
}
