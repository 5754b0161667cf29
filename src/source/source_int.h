/*
 * source_int.h — private to src/source: the common source object, the
 * column builders the drivers fill, and the driver interface.
 *
 * A column builder owns the buffers behind one lh_array: a validity bitmap
 * (all ones at reset, bits cleared for NULLs), a value array of
 * batch_size slots for fixed-width types, offsets plus a capped byte heap
 * for variable-length ones, and for list fields list_offsets plus a child
 * builder that grows as needed. The hot path is the inline helpers below:
 * no allocation per value, only amortised heap growth.
 */
#ifndef LH_SOURCE_INT_H
#define LH_SOURCE_INT_H

#include "source.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* A batch is cut early once its variable-length bytes pass this, so a
 * table of large blobs still streams in bounded memory; its rows are also
 * capped so that the fixed-width slots of all columns fit in it
 * (src_cols_init), but never below SRC_MIN_BATCH rows. */
#define SRC_HEAP_SOFT_LIMIT ((size_t)32 << 20)
#define SRC_MIN_BATCH 256
/* One column's heap may never pass this (offsets are int32). */
#define SRC_HEAP_HARD_LIMIT ((size_t)1 << 30)
#define SRC_DEFAULT_BATCH 65536
#define SRC_MAX_BATCH (1 << 22)
/* A batch that has been filling this long is handed out with the rows it
 * has, so a slow source (a view sleeping per row, a busy server) still
 * shows progress about every second instead of once per 65,536 rows. */
#define SRC_BATCH_MAX_NS 1000000000LL

struct src_col {
    struct lh_array arr;
    uint8_t *validity;
    uint8_t *values;
    int32_t *offsets;
    struct lh_buf heap;
    int32_t *list_offsets;
    struct src_col *child;
    size_t width; /* bytes per value slot, 0 for variable-length */
    bool var;
    int64_t cap; /* slots allocated */
    int64_t n;
    int64_t nulls;
    size_t *heap_total; /* the batch's variable-length bytes so far */
    size_t soft_limit;
    bool *full; /* set when heap_total passes soft_limit */
};

struct src_driver {
    /* Decodes rows into s->cols until the batch is full or the stream ends
     * (then sets s->eof). */
    enum lh_status (*fill)(struct lh_source *s, struct lh_error *err);
    /* Called on the cancelling thread with s->mu held, once, after the
     * cancelled flag is set and the wake pipe written (may be NULL). Must
     * not block on the server: the caller may be a scheduler's timer or a
     * signal thread, and the server may be frozen. */
    void (*cancel)(struct lh_source *s);
    void (*close)(struct lh_source *s);
};

/* Cancel state, shared with the cancelling thread:
 *   cancelled  atomic, set once by lh_source_cancel;
 *   wake       a pipe; lh_source_cancel writes one byte, so a reader in
 *              src_wait (poll on its socket and wake[0]) returns at once;
 *   mu         guards drv and impl against a concurrent drv->cancel: a
 *              driver installs itself and publishes what its cancel needs
 *              (MySQL: the thread id) under mu, then reads `cancelled`.
 * Everything else belongs to the reader thread. */
struct lh_source {
    enum lh_source_kind kind;
    const struct src_driver *drv; /* under mu */
    void *impl;                   /* under mu */
    pthread_mutex_t mu;
    int wake[2];
    char *dsn; /* the caller's DSN (with its password), zeroed at close */
    bool started;
    struct lh_arena arena; /* names, fields, option copies */
    struct lh_source_options opt;
    int64_t batch_size;

    size_t ncols;
    struct lh_field *fields;
    struct lh_schema schema;
    struct src_col *cols;
    struct lh_array *arrs;
    struct lh_batch batch;
    bool full;
    size_t heap_total;
    /* batch age (src_batch_overdue): the clock is read every pace_every
     * rows, a number that doubles while rows come fast and halves while
     * they come slowly, so fast reads almost never read it */
    int64_t batch_start_ns, pace_last_ns;
    uint32_t pace_every, pace_left;

    struct lh_source_stats stats;
    char *cursor_high;
    char server[256]; /* "host:port/db user=x" for messages */
    char server_version[128];
    int64_t table_rows;    /* the server's estimate for the whole table; < 0: none */
    char *secret;          /* the password, scrubbed from every message */
    int parallel;          /* after start: connections the read uses (>= 1) */
    char snapshot[64];     /* a parallel leader's exported snapshot */
    int64_t nblocks;       /* a parallel leader's block count */
    long order_key;        /* lh_source_order_key: index into fields, or -1 */
    const char *order_why; /* lh_source_order_why (static or arena) */
    /* lh_source_ranges: a parallel leader's, one per part (its stream
     * reads the first); otherwise the ones this source's stream reads */
    struct lh_source_range ranges[LH_SOURCE_RANGES_MAX];
    size_t nranges;
    struct lh_source_range opt_ranges[LH_SOURCE_RANGES_MAX]; /* opt.ranges points here */
    bool eof;
    bool dead;
    atomic_bool cancelled;
};

/* ------------------------------------------------------------ common */

/* Waits until fd is ready for events (POLLIN/POLLOUT), the source is
 * cancelled, or deadline_ns (lh_time_mono_ns; 0: none) passes. */
enum src_wait_result { SRC_READY, SRC_CANCELLED, SRC_TIMEOUT, SRC_WAIT_ERROR };
enum src_wait_result src_wait(struct lh_source *s, int fd, short events, int64_t deadline_ns);

/* LH_E_CANCELLED with "<kind> <server>: <what>: cancelled" when the source
 * is cancelled, else LH_OK. */
enum lh_status src_check_cancel(struct lh_source *s, const char *what, struct lh_error *err);

/* Starts fn(arg) on a detached thread with a stack of stack_bytes; false
 * when it could not start (the caller still owns arg). */
bool src_detach(void *(*fn)(void *), void *arg, size_t stack_bytes);

/* Installs the driver under s->mu. */
void src_set_driver(struct lh_source *s, const struct src_driver *drv, void *impl);

/* Allocates the builders for s->fields (after the driver filled them). */
enum lh_status src_cols_init(struct lh_source *s, struct lh_error *err);
void src_cols_free(struct lh_source *s);

/* One line of the read's log (opt.log), scrubbed of the password and the
 * DSN, control characters as spaces, cut at 4 KiB. No-op without opt.log. */
void src_log(struct lh_source *s, enum lh_log_level level, const char *fmt, ...) LH_PRINTF(3, 4);
/* Logs the statement about to be sent ("statement: ..."). */
void src_log_statement(struct lh_source *s, const char *sql);

/* After each row a driver decodes: true when the batch has been filling
 * for SRC_BATCH_MAX_NS (hand it out now). */
bool src_batch_overdue_slow(struct lh_source *s);
static inline bool src_batch_overdue(struct lh_source *s)
{
    if (--s->pace_left)
        return false;
    return src_batch_overdue_slow(s);
}

/* The read has a key (order_by's, or a MySQL split key): s->ranges
 * become the options' ranges, or one open range. */
void src_ranges_from_options(struct lh_source *s);
/* Appends the key ranges this source's stream reads to a WHERE clause
 * (" WHERE " or " AND " after *has_where): "((k >= lo AND k > after AND
 * k < hi) OR ...)", qkey the key as the server names it (quoted); nothing
 * for one open range. A parallel leader's stream reads s->ranges[0]. */
void src_put_ranges(struct lh_source *s, struct lh_buf *b, const char *qkey, bool *has_where);
/* A parallel leader's split of the key's span lo..hi (read in the
 * snapshot; at least n values) into n equal ranges, the first open below
 * and the last open above (a key past the bounds is still read): s->ranges
 * (a resumed read: the options' ranges instead). */
void src_split_ranges(struct lh_source *s, int64_t lo, int64_t hi, int n);

/* --parallel auto never picks more connections than this */
#define SRC_AUTO_MAX 4

/* The server's cores when host names this machine (a unix socket path,
 * "localhost" or a loopback address): this machine's count; else 0. */
int src_local_cores(const char *host);
/* --parallel auto for a table of `bytes` on a server with `cores` (0: not
 * visible): one connection per 64 MiB, at most one per core and
 * SRC_AUTO_MAX; below 2 it logs why the read keeps one connection. */
int src_auto_parallel(struct lh_source *s, int64_t bytes, int cores);

/* Counts a warning; keeps the first few distinct texts. */
void src_warn(struct lh_source *s, const char *fmt, ...) LH_PRINTF(2, 3);

/* lh_source_table_parse into arena copies; *schema is NULL without one. */
enum lh_status src_split_table(struct lh_source *s, const char *table, char **schema, char **name,
                               struct lh_error *err);

/* LH_E_INVAL when two of s->fields share a name (a query's "SELECT a.id,
 * b.id"): Parquet columns need distinct names. */
enum lh_status src_check_names(struct lh_source *s, struct lh_error *err);
/* opt.columns resolved against s->fields: *out (arena) holds n indexes in
 * the order given; NULL/0 without opt.columns. */
enum lh_status src_parse_columns(struct lh_source *s, size_t **out, size_t *n,
                                 struct lh_error *err);
/* Keeps only s->fields[idx[0..n)] (the driver compacts its own arrays). */
void src_select_fields(struct lh_source *s, const size_t *idx, size_t n);

/* One ORDER BY term after validation. */
struct src_order {
    size_t col; /* index into s->fields */
    bool desc;
};
/* Parses "a, b DESC, c asc" against s->fields. *out is arena memory. */
enum lh_status src_parse_order_by(struct lh_source *s, const char *text, struct src_order **out,
                                  size_t *n, struct lh_error *err);
/* What the options ask a driver to read, resolved against s->fields. */
struct src_read {
    size_t *sel; /* opt.columns (src_parse_columns); NULL: every column */
    size_t nsel;
    /* opt.order_by; without one, an incremental read is in cursor order
     * (so a LIMIT takes the oldest rows and the watermark is the last row
     * returned) */
    struct src_order *order;
    size_t norder;
    long cursor; /* opt.cursor_column's index; -1: none */
};
/* LH_E_INVAL with one line for a column, order_by or cursor_column the
 * table does not have. Arena memory. */
enum lh_status src_read_plan(struct lh_source *s, struct src_read *r, struct lh_error *err);
/* Index of a column by exact name, or -1. */
long src_find_col(const struct lh_source *s, const char *name);

/* Refuses a DSN the kind's client would read in a way that puts part of a
 * password into its messages (lh_dsn_parse, plus: a postgres URL scheme
 * libpq knows and parameter names it knows; mysql:// or mariadb://, one
 * host). The message quotes nothing of the DSN. */
enum lh_status src_dsn_check(enum lh_source_kind kind, const char *dsn, struct lh_error *err);

/* MySQL URL parts (dsn.c, through lh_dsn_parse). Strings are arena copies,
 * percent-decoded. */
struct src_url {
    char *user, *password, *host, *db, *socket;
    unsigned port; /* 0: default */
};
enum lh_status src_url_parse(struct lh_source *s, const char *dsn, struct src_url *u,
                             struct lh_error *err);

/* ------------------------------------------------------------ PostgreSQL */

/* How one column travels in binary COPY (pg.c picks, pg_copy.c decodes). */
enum pg_kind {
    PK_BOOL,
    PK_INT2,
    PK_INT4,
    PK_INT8,
    PK_OID,
    PK_FLOAT4,
    PK_FLOAT8,
    PK_NUMERIC_DEC,
    PK_NUMERIC_TEXT,
    PK_MONEY,
    PK_BYTES, /* text, varchar, bpchar, name, bytea, json, enum labels, ::text */
    PK_JSONB,
    PK_DATE,
    PK_TIME,
    PK_TIMETZ,
    PK_TS,
    PK_INTERVAL,
    PK_UUID,
};

struct pg_col {
    enum pg_kind kind;
    bool is_list;
    bool as_text;           /* selected as col::text (or ::text[]) */
    uint32_t wire_elem_oid; /* arrays: expected element oid on the wire (0: any) */
    unsigned prec, scale;   /* DECIMAL */
};

/* The binary COPY stream being read (pg_copy.c). */
struct pg_dec; /* pg_copy.c: how the row loop decodes one column */
struct pg_stream {
    const struct pg_col *pcols; /* borrowed, one per s->fields */
    struct pg_dec *dec;         /* one per column, chosen at the first fill */
    size_t soft_limit;          /* the columns' soft heap limit */
    bool header_done, trailer_seen;
    bool ended;  /* the message source said the COPY is over */
    bool done;   /* ended, trailer seen, everything consumed */
    bool in_row; /* a tuple is decoded up to column `col`, the rest is yet to come */
    size_t col;
    const uint8_t *win;
    size_t win_len, win_pos;
    bool win_is_carry;
    struct lh_buf carry;
};

/* Next CopyData message: 1 with [*buf, *buf + *len) valid until the next
 * call, 0 when the COPY is over, -1 on error (err set, status in *st). */
typedef int (*src_pg_next_fn)(struct lh_source *s, const uint8_t **buf, size_t *len,
                              struct lh_error *err, enum lh_status *st);

void src_pg_stream_init(struct pg_stream *ps, const struct pg_col *pcols);
void src_pg_stream_free(struct pg_stream *ps);
/* Decodes rows into s->cols until the batch is full or the stream is done
 * (ps->done). Malformed bytes: LH_E_FORMAT. */
enum lh_status src_pg_stream_fill(struct lh_source *s, struct pg_stream *ps, src_pg_next_fn next,
                                  struct lh_error *err);

/* Drivers: connect, read the schema, start the stream (lh_source_start). */
enum lh_status src_pg_start(struct lh_source *s, const char *dsn, struct lh_error *err);
enum lh_status src_my_start(struct lh_source *s, const char *dsn, struct lh_error *err);

/* Decimal text ("-12.340") to an unscaled integer at `scale`; false when it
 * is not a plain decimal, has more fraction digits than scale (non-zero
 * ones), or does not fit precision digits. */
bool src_decimal_parse(const char *p, size_t len, unsigned precision, unsigned scale, lh_i128 *out);

/* ------------------------------------------------------------ builders */

enum lh_status src_col_grow(struct src_col *c, int64_t need, struct lh_error *err);

static inline void src_col_null(struct src_col *c)
{
    int64_t i = c->n++;
    c->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
    c->nulls++;
    if (c->var)
        c->offsets[i + 1] = c->offsets[i];
    else if (c->width)
        memset(c->values + (size_t)i * c->width, 0, c->width);
    if (c->list_offsets)
        c->list_offsets[i + 1] = c->list_offsets[i];
}

/* The next fixed-width slot; call src_col_commit after writing it. */
static inline void *src_col_slot(struct src_col *c)
{
    return c->values + (size_t)c->n * c->width;
}
static inline void src_col_commit(struct src_col *c)
{
    c->n++;
}
/* Writes an unscaled decimal into the next slot in the width its
 * precision takes (4, 8 or 16 bytes); src_col_commit follows. */
static inline void src_col_decimal(struct src_col *c, unsigned precision, lh_i128 v)
{
    void *slot = src_col_slot(c);
    if (precision <= 9) {
        int32_t x = (int32_t)v;
        memcpy(slot, &x, 4);
    } else if (precision <= 18) {
        int64_t x = (int64_t)v;
        memcpy(slot, &x, 8);
    } else {
        memcpy(slot, &v, 16);
    }
}

/* The heap's capacity never passes its max, SRC_HEAP_HARD_LIMIT (col_alloc,
 * lh_buf_reserve), so a value that fits in what is allocated needs no other
 * check; the rest goes through lh_buf_reserve. (A broken heap has failed a
 * read already: it is never appended to again before lh_buf_clear.) */
static inline bool src_col_bytes(struct src_col *c, const void *p, size_t len)
{
    int64_t i = c->n;
    if (len < c->heap.cap - c->heap.len) {
        memcpy(c->heap.data + c->heap.len, p, len);
        c->heap.len += len;
    } else {
        if (len > SRC_HEAP_HARD_LIMIT - c->heap.len)
            return false;
        lh_buf_append(&c->heap, p, len);
        if (!lh_buf_ok(&c->heap))
            return false;
    }
    c->offsets[i + 1] = (int32_t)c->heap.len;
    c->n++;
    if ((*c->heap_total += len) > c->soft_limit)
        *c->full = true;
    return true;
}

/* Reserves len bytes at the end of the heap for the caller to fill, then
 * src_col_bytes_done(c, used). NULL when the heap cap would be passed. */
static inline uint8_t *src_col_bytes_begin(struct src_col *c, size_t len)
{
    if (len < c->heap.cap - c->heap.len)
        return c->heap.data + c->heap.len;
    if (len > SRC_HEAP_HARD_LIMIT - c->heap.len || !lh_buf_reserve(&c->heap, len))
        return NULL;
    return c->heap.data + c->heap.len;
}
static inline void src_col_bytes_done(struct src_col *c, size_t used)
{
    c->heap.len += used;
    c->offsets[c->n + 1] = (int32_t)c->heap.len;
    c->n++;
    if ((*c->heap_total += used) > c->soft_limit)
        *c->full = true;
}

/* Big-endian loads from the wire. */
static inline uint16_t src_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t src_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t src_be64(const uint8_t *p)
{
    return (uint64_t)src_be32(p) << 32 | src_be32(p + 4);
}

#endif
