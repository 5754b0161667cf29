/*
 * source.h — reading one table (or view, or read-only query; optionally
 * some columns and rows of a table) of a PostgreSQL or MySQL/MariaDB
 * database as typed column batches (batch.h). The only header other
 * modules include. docs/ingest.md "What gets copied" has the rules.
 *
 * PostgreSQL: one connection, a REPEATABLE READ READ ONLY transaction, and
 * `COPY (SELECT ...) TO STDOUT (FORMAT binary)` parsed straight into the
 * column arrays; a parallel read is N such sources, one per ctid range (or
 * range of an order_by key), in the snapshot the first exported (options
 * parallel/part/snapshot/ranges).
 * MySQL/MariaDB: one connection, a consistent-snapshot read only
 * transaction, and a prepared statement fetched unbuffered over the
 * binary protocol; a parallel read is N such sources, one per range of
 * an integer key, whose transactions the first started together while a
 * side connection held LOCK TABLES t READ (MySQL cannot export a
 * snapshot: the first hands the others their connections, named by the
 * same `snapshot` option). The type mapping is documented in
 * docs/types.md.
 *
 * Lifetime: lh_source_create allocates and copies the options (no I/O);
 * lh_source_start connects, reads the table's columns and starts the
 * stream; lh_source_open is the two together. lh_source_next_batch hands
 * out batches whose buffers belong to the source and are reused by the next
 * call; lh_source_close releases everything. A source belongs to one
 * thread, except lh_source_cancel, which any thread may call at any moment
 * between create and close (before start, while start connects or waits for
 * the server, inside next_batch), but not concurrently with close: the
 * caller orders those two (ingest does it under its job mutex).
 *
 * Messages never contain the DSN's password: servers are named as
 * "host:port/db user=x".
 */
#ifndef LH_SOURCE_H
#define LH_SOURCE_H

#include "core/core.h"

enum lh_source_kind { LH_SOURCE_POSTGRES, LH_SOURCE_MYSQL };

/* "postgres"/"postgresql" -> POSTGRES, "mysql"/"mariadb" -> MYSQL. */
bool lh_source_kind_parse(const char *s, enum lh_source_kind *out);
const char *lh_source_kind_name(enum lh_source_kind k); /* "postgres", "mysql" */

/* A range of a read's key (docs/ingest.md "Resumable loads"): the rows
 * with key >= lo (has_lo), key > after (has_after) and key < hi (has_hi);
 * a bound not set is open. */
struct lh_source_range {
    int64_t lo, after, hi;
    bool has_lo, has_after, has_hi;
};
#define LH_SOURCE_RANGES_MAX 16

struct lh_source_options {
    /* Exactly one of table and query. table: "t", "schema.t" (MySQL:
     * "db.t"), each part unquoted or quoted ("Mixed Case"; MySQL also
     * `x`), resolved by lh_source_table_parse; a view reads like a table. */
    const char *table;
    /* A read-only SELECT (or WITH/VALUES) read as a derived table:
     * SELECT ... FROM (query) AS lh_t [WHERE cursor > after] ...; its
     * column types come from the server's result metadata. Trailing ';'
     * and blanks are dropped; one statement only. */
    const char *query;
    /* Table only: "a, b, c" — the columns to copy, in this order (names
     * exact or, unquoted on PostgreSQL, case-folded; "x" quoted). NULL:
     * every column. The cursor and order_by columns need not be listed. */
    const char *columns;
    /* Table only: the operator's SQL boolean expression, ANDed with the
     * cursor bound and run as it is inside the read-only transaction. */
    const char *where;
    int64_t batch_size; /* rows per batch; <= 0 means 65536 */
    /* A batch is also cut once its variable-length bytes pass this, and
     * holds no more rows than this many bytes of fixed-width slots (all
     * columns together), so fat rows and wide tables stay in bounded
     * memory; 0 means 32 MiB. */
    size_t batch_bytes;
    const char *order_by; /* "a, b DESC" — column names checked against the table */
    int64_t limit;        /* <= 0: no limit */
    /* Incremental reads: rows with cursor_column > cursor_after (strict),
     * compared by the server in the column's own type. cursor_after NULL:
     * no lower bound. The upper bound is fixed when the stream starts; see
     * lh_source_cursor_high. */
    const char *cursor_column;
    const char *cursor_after;
    int64_t statement_timeout_ms; /* <= 0: server default */
    int connect_timeout_s;        /* <= 0: 10 s */
    /* Parallel snapshot-consistent reads (tables; docs/ingest.md
     * "Parallel reads"). 0 or 1: one connection. parallel > 1 (or
     * LH_SOURCE_PARALLEL_AUTO) with snapshot NULL: this source leads: it
     * splits the table into that many ranges and reads the first, in a
     * snapshot the others share (PostgreSQL: it exports its transaction's
     * snapshot and splits the table's blocks into ctid ranges, or, with
     * order_by on a key among the columns read (lh_source_order_key), the
     * key's min..max into ranges read in key order; MySQL: it
     * starts the others' transactions itself under LOCK TABLES READ and
     * splits an integer key's MIN..MAX). After start, lh_source_parallel
     * says how many it settled on (1 when it fell back, with a log line
     * saying why), lh_source_snapshot and lh_source_blocks what the
     * others need. With snapshot: this source reads range `part`
     * (1..parallel-1) in that snapshot (PostgreSQL: of `nblocks` blocks,
     * or split by key: the one range in `ranges`, the leader's
     * lh_source_ranges()[part]; MySQL: `snapshot` names the connection the
     * leader holds for it, taken once). Keep the leader open until the parts have started
     * (PostgreSQL: until they end, so the snapshot stays exported). */
    int parallel;
    int part;
    const char *snapshot;
    int64_t nblocks;
    /* Resumed reads (docs/ingest.md "Resumable loads"): only these ranges
     * of the read's key (1..LH_SOURCE_RANGES_MAX, disjoint, in key order;
     * copied): an ordered read's order_by column, when it is a key
     * (lh_source_order_key), or the split key of a parallel read, which
     * then reads one range per connection (as many connections as
     * ranges) and, falling back to one connection, all of them in key
     * order. Ignored when the read has no such key (lh_source_order_key
     * -1 says so). NULL: the whole table. */
    const struct lh_source_range *ranges;
    size_t nranges;
    /* The read's own log (NULL: none), on the reader thread: the server
     * and its version once connected, the statement sent (the operator's
     * WHERE or query text included; never the DSN or a password: every
     * line is scrubbed), the row estimate, server notices. One line each,
     * without a trailing newline; borrowed for the call only. */
    void (*log)(void *ctx, enum lh_log_level level, const char *line);
    void *log_ctx;
};

#define LH_SOURCE_MAX_WARNING_TEXTS 4

struct lh_source_stats {
    int64_t rows;
    int64_t batches;
    int64_t warnings;        /* values turned into NULL, columns read as text, ... */
    uint64_t bytes_received; /* PostgreSQL: COPY data bytes; MySQL: value bytes */
    int nwarning_texts;      /* first few warnings, one line each */
    char warning_texts[LH_SOURCE_MAX_WARNING_TEXTS][200];
};

struct lh_source;

/* Splits a table name the way the server resolves it: one or two
 * identifiers separated by '.', each either quoted ("x", with "" for a
 * quote inside; MySQL also `x`) and taken as it is, or unquoted: a
 * PostgreSQL unquoted name is folded to lower case (ASCII), a MySQL one is
 * kept. *schema is "" without a schema part (the server's default: the
 * search_path, or the DSN's database). LH_E_INVAL with one line when the
 * text is not a table name. */
enum lh_status lh_source_table_parse(enum lh_source_kind kind, const char *text, char *schema,
                                     size_t schema_cap, char *name, size_t name_cap,
                                     struct lh_error *err) LH_NODISCARD;

/* Allocates a source; no I/O. dsn: postgresql:// or postgres:// URLs and
 * libpq key=value strings; mysql:// and mariadb:// URLs
 * (user:pass@host:port/db, ?socket=/path for a unix socket). dsn and opt
 * are copied. Only option errors fail here. Free with lh_source_close. */
enum lh_status lh_source_create(struct lh_source **out, enum lh_source_kind kind, const char *dsn,
                                const struct lh_source_options *opt,
                                struct lh_error *err) LH_NODISCARD;

/* Connects, reads the table's schema and starts streaming; once per
 * source. Cancelled before or during it: LH_E_CANCELLED, promptly
 * (PostgreSQL: the connect and every query wait in poll() beside the
 * cancel; MySQL: the connect is blocking, bounded by connect_timeout_s,
 * and a query is ended by KILL CONNECTION plus a shutdown of the socket).
 * With statement_timeout_ms, a server that has not answered a statement
 * within it + 2 s fails it with LH_E_TIMEOUT ("timed out"), so a frozen
 * server or link never holds a reader. After a failure the source is
 * dead: close it. */
enum lh_status lh_source_start(struct lh_source *s, struct lh_error *err) LH_NODISCARD;

/* create + start. On failure *out is NULL and err says why. */
enum lh_status lh_source_open(struct lh_source **out, enum lh_source_kind kind, const char *dsn,
                              const struct lh_source_options *opt,
                              struct lh_error *err) LH_NODISCARD;

/* The table's columns, in table order. Borrowed, valid until close. */
const struct lh_schema *lh_source_schema(const struct lh_source *s);

/* Next batch of rows: *out points into the source (valid until the next
 * call or close); *out is NULL at the end of the table. A batch holds
 * batch_size rows, or fewer when batch_bytes is reached or when it has been
 * filling for about a second (a slow source still hands out rows every
 * second, so progress shows). After an error the
 * source is dead: every later call fails. */
enum lh_status lh_source_next_batch(struct lh_source *s, const struct lh_batch **out,
                                    struct lh_error *err) LH_NODISCARD;

#define LH_SOURCE_PARALLEL_AUTO (-1)
#define LH_SOURCE_PARALLEL_MAX 16

/* "auto" -> LH_SOURCE_PARALLEL_AUTO, "1".."16" -> that number; false
 * for anything else. */
bool lh_source_parallel_parse(const char *s, int *out);

/* After start: the number of connections the read uses (1: one; the
 * leader of a parallel read says how many parts it split the table into). */
int lh_source_parallel(const struct lh_source *s);
/* After a leader's start with lh_source_parallel > 1: what the parts
 * pass as options snapshot (PostgreSQL: the exported snapshot id; MySQL:
 * a token naming the leader's connections in this process) and nblocks
 * (PostgreSQL: the table's size in blocks it split; MySQL: 0). */
const char *lh_source_snapshot(const struct lh_source *s);
int64_t lh_source_blocks(const struct lh_source *s);

/* Counters so far. */
void lh_source_stats(const struct lh_source *s, struct lh_source_stats *out);

/* After start: the rows the read is expected to return, from the server's
 * statistics (PostgreSQL pg_class.reltuples, MySQL/MariaDB
 * information_schema.TABLES.TABLE_ROWS), capped by the limit; < 0 when
 * there is none: a query, a view, a table never analyzed (reltuples -1 or
 * 0), a WHERE or an incremental lower bound (the table's count says
 * nothing about how many rows match), or a failed look-up (which never
 * fails the read). docs/ingest.md "Progress". */
int64_t lh_source_estimated_rows(const struct lh_source *s);

/* After start (also after a failed one): the server's version as it
 * reports it ("15.4 (Debian 15.4-1)", "10.11.6-MariaDB"), "" before the
 * connection was made. Borrowed, valid until close. */
const char *lh_source_server_version(const struct lh_source *s);

/* After start: the index in lh_source_schema of the column the read is
 * ordered by when that order is a key, or -1. Either order_by names one
 * column, ascending, that is NOT NULL, an integer and has a unique index of
 * its own (a primary key), and there is no limit (a parallel PostgreSQL
 * read on such a key among the columns read splits by its ranges); or a
 * MySQL read split into ranges of its key (parallel, or resumed with
 * ranges) reads each range in key order, and the key is among the columns
 * read. Each row then
 * has its own key value and each connection's stream returns them
 * increasing, so a read can be continued after the last key it handed
 * out (docs/ingest.md "Resumable loads"). */
long lh_source_order_key(const struct lh_source *s);
/* With lh_source_order_key -1: why the read cannot be continued after a
 * key, when the source knows ("a parallel read splits the table by
 * ctid, ..."); NULL otherwise. Borrowed, valid until close. */
const char *lh_source_order_why(const struct lh_source *s);
/* With lh_source_order_key >= 0: the ranges of the key the read covers,
 * in key order, into out (LH_SOURCE_RANGES_MAX entries); how many. A
 * parallel leader: one per part, part k reading the k-th; otherwise the
 * ones this source reads (the options' ranges, or one open range). */
size_t lh_source_ranges(const struct lh_source *s, struct lh_source_range *out);

/* With cursor_column: the largest cursor value the stream will return, as
 * the server prints it (the next run's cursor_after), or NULL when no row
 * qualifies. Borrowed, valid until close. */
const char *lh_source_cursor_high(const struct lh_source *s);

/* Any thread, any time between create and close (not during close):
 * marks the source cancelled and stops what it is waiting for
 * (PostgreSQL: wakes the reader, which asks the server to cancel and
 * shuts its socket down if the server has not stopped within 2 s; MySQL:
 * KILL CONNECTION from a detached thread once the thread id is known, and
 * a shutdown of the reader's socket). Never waits on the server: it
 * returns at once even when the server or the link is frozen. The
 * reader's start or next_batch then fails with LH_E_CANCELLED within about
 * 2 s. Safe to call more than once and after the end. */
void lh_source_cancel(struct lh_source *s);

/* Ends the transaction and closes the connection. NULL is fine. */
void lh_source_close(struct lh_source *s);

#endif
