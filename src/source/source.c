/*
 * source.c — the driver-independent half of a source: option checks, the
 * column builders, batch hand-out, warnings, ORDER BY validation, and the
 * password scrubbing every outgoing message passes through; and the
 * cancel machinery (source_int.h): a flag, a wake pipe every wait polls
 * beside the server socket, and s->mu around the driver's cancel hook.
 *
 * Threads: the reader owns the source; lh_source_cancel may run on any
 * thread between create and close. Lock order: the caller's lock (ingest's
 * job mutex) before s->mu.
 */
#include "source_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

bool lh_source_kind_parse(const char *s, enum lh_source_kind *out)
{
    if (!s)
        return false;
    if (!strcmp(s, "postgres") || !strcmp(s, "postgresql") || !strcmp(s, "pg")) {
        *out = LH_SOURCE_POSTGRES;
        return true;
    }
    if (!strcmp(s, "mysql") || !strcmp(s, "mariadb")) {
        *out = LH_SOURCE_MYSQL;
        return true;
    }
    return false;
}

const char *lh_source_kind_name(enum lh_source_kind k)
{
    return k == LH_SOURCE_POSTGRES ? "postgres" : "mysql";
}

void src_log(struct lh_source *s, enum lh_log_level level, const char *fmt, ...)
{
    if (!s->opt.log)
        return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    lh_redact_log_line(line, sizeof line, s->secret, s->dsn, fmt, ap);
    va_end(ap);
    s->opt.log(s->opt.log_ctx, level, line);
}

void src_log_statement(struct lh_source *s, const char *sql)
{
    src_log(s, LH_LOG_INFO, "statement: %s", sql);
}

bool src_batch_overdue_slow(struct lh_source *s)
{
    int64_t now = lh_time_mono_ns();
    int64_t gap = now - s->pace_last_ns;
    s->pace_last_ns = now;
    if (gap < 1000000 && s->pace_every < 4096)
        s->pace_every *= 2;
    else if (gap > 50000000 && s->pace_every > 1)
        s->pace_every /= 2;
    s->pace_left = s->pace_every;
    return now - s->batch_start_ns >= SRC_BATCH_MAX_NS;
}

void src_warn(struct lh_source *s, const char *fmt, ...)
{
    s->stats.warnings++;
    if (s->stats.nwarning_texts >= LH_SOURCE_MAX_WARNING_TEXTS)
        return;
    char text[sizeof s->stats.warning_texts[0]];
    LH_VFORMAT(text, fmt);
    for (int i = 0; i < s->stats.nwarning_texts; i++)
        if (!strcmp(s->stats.warning_texts[i], text))
            return;
    memcpy(s->stats.warning_texts[s->stats.nwarning_texts++], text, sizeof text);
}

/* ------------------------------------------------------------ builders */

static enum lh_status col_alloc(struct lh_source *s, struct src_col *c, const struct lh_field *f,
                                bool element, int64_t cap, struct lh_error *err)
{
    memset(c, 0, sizeof *c);
    c->full = &s->full;
    c->heap_total = &s->heap_total;
    c->soft_limit = s->opt.batch_bytes ? s->opt.batch_bytes : SRC_HEAP_SOFT_LIMIT;
    c->var = lh_type_width(f) == 0;
    c->width = lh_type_width(f);
    lh_buf_init(&c->heap, SRC_HEAP_HARD_LIMIT);
    if (f->is_list && !element) {
        c->var = false;
        c->width = 0;
        c->cap = cap;
        c->validity = malloc((size_t)(cap + 7) / 8);
        c->list_offsets = calloc((size_t)cap + 1, sizeof(int32_t));
        c->child = calloc(1, sizeof *c->child);
        if (!c->validity || !c->list_offsets || !c->child)
            return lh_error_set(err, LH_E_NOMEM, "out of memory for column %s", f->name);
        return col_alloc(s, c->child, f, true, cap, err);
    }
    return src_col_grow(c, cap, err);
}

enum lh_status src_col_grow(struct src_col *c, int64_t need, struct lh_error *err)
{
    if (need <= c->cap)
        return LH_OK;
    int64_t cap = c->cap ? c->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > INT32_MAX / 2)
        return lh_error_set(err, LH_E_TOOBIG, "too many list elements in one batch");
    uint8_t *v = realloc(c->validity, (size_t)(cap + 7) / 8);
    if (v)
        c->validity = v;
    if (v && c->width) {
        uint8_t *vals = realloc(c->values, (size_t)cap * c->width);
        if (!vals)
            v = NULL;
        else
            c->values = vals;
    }
    if (v && c->var) {
        int32_t *o = realloc(c->offsets, ((size_t)cap + 1) * sizeof(int32_t));
        if (!o)
            v = NULL;
        else
            c->offsets = o;
    }
    if (!v)
        return lh_error_set(err, LH_E_NOMEM, "out of memory for a column batch");
    /* new validity bytes start all-valid */
    size_t old = (size_t)(c->cap + 7) / 8, now = (size_t)(cap + 7) / 8;
    memset(c->validity + old, 0xff, now - old);
    if (c->cap == 0 && c->var)
        c->offsets[0] = 0;
    c->cap = cap;
    return LH_OK;
}

static void col_reset(struct src_col *c)
{
    memset(c->validity, 0xff, (size_t)(c->cap + 7) / 8);
    c->n = 0;
    c->nulls = 0;
    lh_buf_clear(&c->heap);
    if (c->offsets)
        c->offsets[0] = 0;
    if (c->list_offsets)
        c->list_offsets[0] = 0;
    if (c->child)
        col_reset(c->child);
}

static void col_publish(struct src_col *c)
{
    struct lh_array *a = &c->arr;
    memset(a, 0, sizeof *a);
    a->length = c->n;
    a->validity = c->nulls ? c->validity : NULL;
    if (c->list_offsets) {
        col_publish(c->child);
        a->list_offsets = c->list_offsets;
        a->child = &c->child->arr;
        return;
    }
    a->values = c->values;
    a->offsets = c->offsets;
    /* an empty heap still needs a non-NULL data pointer for readers */
    a->data = c->heap.data ? c->heap.data : (const uint8_t *)"";
}

static void col_free(struct src_col *c)
{
    if (!c)
        return;
    free(c->validity);
    free(c->values);
    free(c->offsets);
    free(c->list_offsets);
    lh_buf_reset(&c->heap);
    if (c->child) {
        col_free(c->child);
        free(c->child);
    }
}

enum lh_status src_cols_init(struct lh_source *s, struct lh_error *err)
{
    /* Rows per batch are bounded by bytes as well: the fixed-width slots,
     * validity and offsets of every column count against batch_bytes, so
     * a table of hundreds of columns gets shorter batches instead of
     * 65,536-row buffers per column (the variable-length heap is cut at
     * the same byte count as it fills). */
    size_t row_bytes = 0;
    for (size_t i = 0; i < s->ncols; i++) {
        size_t w = lh_type_width(&s->fields[i]);
        row_bytes += (s->fields[i].is_list ? 2 * sizeof(int32_t) : w ? w : sizeof(int32_t)) + 1;
    }
    size_t budget = s->opt.batch_bytes ? s->opt.batch_bytes : SRC_HEAP_SOFT_LIMIT;
    if (row_bytes > 0 && (uint64_t)s->batch_size * row_bytes > budget) {
        int64_t rows = (int64_t)(budget / row_bytes);
        s->batch_size = rows < SRC_MIN_BATCH ? SRC_MIN_BATCH : rows;
    }
    s->cols = calloc(s->ncols ? s->ncols : 1, sizeof *s->cols);
    s->arrs = calloc(s->ncols ? s->ncols : 1, sizeof *s->arrs);
    if (!s->cols || !s->arrs)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < s->ncols; i++) {
        enum lh_status st = col_alloc(s, &s->cols[i], &s->fields[i], false, s->batch_size, err);
        if (st)
            return st;
        col_reset(&s->cols[i]);
    }
    s->schema.nfields = s->ncols;
    s->schema.fields = s->fields;
    return LH_OK;
}

void src_cols_free(struct lh_source *s)
{
    if (s->cols)
        for (size_t i = 0; i < s->ncols; i++)
            col_free(&s->cols[i]);
    free(s->cols);
    free(s->arrs);
    s->cols = NULL;
    s->arrs = NULL;
}

/* ------------------------------------------------------------ names */

long src_find_col(const struct lh_source *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (!strcmp(s->fields[i].name, name))
            return (long)i;
    return -1;
}

/* One identifier of a table name at *pp: quoted ("x", MySQL also `x`) as
 * it is, unquoted up to the next '.' (PostgreSQL: ASCII lower-cased). */
static bool table_ident(enum lh_source_kind kind, const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;
    char q = 0;
    if (*p == '"' || (kind == LH_SOURCE_MYSQL && *p == '`'))
        q = *p++;
    for (;; p++) {
        char c = *p;
        if (q) {
            if (!c)
                return false; /* unterminated */
            if (c == q) {
                if (p[1] != q) {
                    p++;
                    break;
                }
                p++; /* a doubled quote is one quote */
            }
        } else {
            if (!c || c == '.')
                break;
            if (c == '"' || c == '`')
                return false;
            if (kind == LH_SOURCE_POSTGRES && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    *pp = p;
    return n > 0;
}

enum lh_status lh_source_table_parse(enum lh_source_kind kind, const char *text, char *schema,
                                     size_t schema_cap, char *name, size_t name_cap,
                                     struct lh_error *err)
{
    if (!text || !*text)
        return lh_error_set(err, LH_E_INVAL, "no table given");
    if (strlen(text) > 512 || !schema_cap || !name_cap)
        return lh_error_set(err, LH_E_INVAL, "table name too long");
    schema[0] = '\0';
    const char *p = text;
    if (!table_ident(kind, &p, name, name_cap))
        goto bad;
    if (*p == '.') {
        p++;
        if (strlen(name) >= schema_cap)
            goto bad;
        memcpy(schema, name, strlen(name) + 1);
        if (!table_ident(kind, &p, name, name_cap))
            goto bad;
    }
    if (*p)
        goto bad;
    return LH_OK;
bad:
    return lh_error_set(err, LH_E_INVAL,
                        "bad table name '%s' (want table or schema.table; quote a name with "
                        "spaces, dots or capitals as \"Name\")",
                        text);
}

enum lh_status src_split_table(struct lh_source *s, const char *table, char **schema, char **name,
                               struct lh_error *err)
{
    char sc[256], nm[256];
    enum lh_status st = lh_source_table_parse(s->kind, table, sc, sizeof sc, nm, sizeof nm, err);
    if (st)
        return st;
    *schema = sc[0] ? lh_arena_strndup(&s->arena, sc, strlen(sc)) : NULL;
    *name = lh_arena_strndup(&s->arena, nm, strlen(nm));
    if (!*name || (sc[0] && !*schema))
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    return LH_OK;
}

enum lh_status src_check_names(struct lh_source *s, struct lh_error *err)
{
    for (size_t i = 0; i < s->ncols; i++)
        for (size_t k = 0; k < i; k++)
            if (!strcmp(s->fields[i].name, s->fields[k].name))
                return lh_error_set(err, LH_E_INVAL,
                                    "%s %s: the %s returns two columns named \"%s\" (give them "
                                    "distinct names with AS)",
                                    lh_source_kind_name(s->kind), s->server,
                                    s->opt.query ? "query" : "table", s->fields[i].name);
    return LH_OK;
}

/* "a, b ,c" -> an arena array of the items, each trimmed of blanks (an
 * item may be ""); *n of them. */
static enum lh_status split_list(struct lh_source *s, const char *text, char ***out, size_t *n,
                                 struct lh_error *err)
{
    size_t len = strlen(text);
    size_t max = 1;
    for (size_t i = 0; i < len; i++)
        max += text[i] == ',';
    char **items = lh_arena_alloc(&s->arena, max * sizeof *items);
    char *p = lh_arena_strndup(&s->arena, text, len);
    if (!items || !p)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    *n = 0;
    for (;;) {
        char *end = strchr(p, ',');
        if (end)
            *end = '\0';
        while (isspace((unsigned char)*p))
            p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = '\0';
        items[(*n)++] = p;
        if (!end)
            break;
        p = end + 1;
    }
    *out = items;
    return LH_OK;
}

enum lh_status src_parse_columns(struct lh_source *s, size_t **out, size_t *n, struct lh_error *err)
{
    *out = NULL;
    *n = 0;
    if (!s->opt.columns)
        return LH_OK;
    const char *text = s->opt.columns;
    char **items;
    size_t nitems;
    enum lh_status st = split_list(s, text, &items, &nitems, err);
    if (st)
        return st;
    size_t *idx = lh_arena_alloc(&s->arena, nitems * sizeof *idx);
    if (!idx)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nitems; i++) {
        char *p = items[i], *e = p + strlen(p);
        bool quoted = e - p >= 2 && *p == '"' && e[-1] == '"';
        if (quoted) {
            *--e = '\0';
            p++;
        }
        if (!*p)
            return lh_error_set(err, LH_E_INVAL, "columns \"%s\": empty column name", text);
        long c = src_find_col(s, p);
        if (c < 0 && !quoted && s->kind == LH_SOURCE_POSTGRES) {
            for (char *q = p; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q - 'A' + 'a');
            c = src_find_col(s, p);
        }
        if (c < 0)
            return lh_error_set(err, LH_E_INVAL, "columns: table %s has no column \"%s\"",
                                s->opt.table, p);
        for (size_t k = 0; k < *n; k++)
            if (idx[k] == (size_t)c)
                return lh_error_set(err, LH_E_INVAL, "columns: \"%s\" is listed twice", p);
        idx[(*n)++] = (size_t)c;
    }
    *out = idx;
    return LH_OK;
}

void src_select_fields(struct lh_source *s, const size_t *idx, size_t n)
{
    struct lh_field *f = lh_arena_alloc(&s->arena, (n ? n : 1) * sizeof *f);
    if (!f)
        return; /* keeps every column: only when the arena is exhausted */
    for (size_t i = 0; i < n; i++)
        f[i] = s->fields[idx[i]];
    s->fields = f;
    s->ncols = n;
}

enum lh_status src_parse_order_by(struct lh_source *s, const char *text, struct src_order **out,
                                  size_t *n, struct lh_error *err)
{
    *out = NULL;
    *n = 0;
    if (!text)
        return LH_OK;
    if (strlen(text) > 4096)
        return lh_error_set(err, LH_E_INVAL, "order_by too long");
    char **items;
    size_t nitems;
    enum lh_status st = split_list(s, text, &items, &nitems, err);
    if (st)
        return st;
    struct src_order *terms = lh_arena_alloc(&s->arena, nitems * sizeof *terms);
    if (!terms)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nitems; i++) {
        char *p = items[i], *e = p + strlen(p);
        bool desc = false;
        char *sp = e;
        while (sp > p && !isspace((unsigned char)sp[-1]))
            sp--;
        if (sp > p && (!strcasecmp(sp, "asc") || !strcasecmp(sp, "desc"))) {
            desc = !strcasecmp(sp, "desc");
            *sp = '\0';
            e = sp;
            while (e > p && isspace((unsigned char)e[-1]))
                *--e = '\0';
        }
        if (!*p)
            return lh_error_set(err, LH_E_INVAL, "order_by \"%s\": empty column name", text);
        long c = src_find_col(s, p);
        if (c < 0)
            return lh_error_set(err, LH_E_INVAL, "order_by: table has no column \"%s\"", p);
        terms[*n].col = (size_t)c;
        terms[*n].desc = desc;
        (*n)++;
    }
    *out = terms;
    return LH_OK;
}

/* ------------------------------------------------------------ decimal */

bool src_decimal_parse(const char *p, size_t len, unsigned precision, unsigned scale, lh_i128 *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    lh_i128 v = 0;
    unsigned digits = 0, frac = 0;
    bool any = false, point = false;
    for (; i < len; i++) {
        char ch = p[i];
        if (ch == '.' && !point) {
            point = true;
            continue;
        }
        if (ch < '0' || ch > '9')
            return false;
        any = true;
        if (point) {
            if (frac == scale) {
                if (ch != '0')
                    return false; /* would round */
                continue;
            }
            frac++;
        }
        if (v == 0 && ch == '0' && !point)
            continue; /* leading zeros do not count */
        if (++digits > 38)
            return false; /* checked before the multiply: 39 digits overflow int128 */
        v = v * 10 + (ch - '0');
    }
    if (!any)
        return false;
    for (; frac < scale; frac++) {
        if (v != 0 && ++digits > 38)
            return false;
        v *= 10;
    }
    /* precision check on the scaled value */
    lh_i128 lim = 1;
    for (unsigned k = 0; k < precision; k++)
        lim *= 10;
    if (v >= lim)
        return false;
    *out = neg ? -v : v;
    return true;
}

/* ------------------------------------------------------------ cancel */

enum src_wait_result src_wait(struct lh_source *s, int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        if (atomic_load(&s->cancelled))
            return SRC_CANCELLED;
        if (fd < 0)
            return SRC_READY; /* no socket: the client library reports why */
        int timeout = -1;
        if (deadline_ns) {
            int64_t left = deadline_ns - lh_time_mono_ns();
            if (left <= 0)
                return SRC_TIMEOUT;
            timeout = (int)(left / 1000000 + 1);
        }
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = s->wake[0], .events = POLLIN}};
        int n = poll(p, 2, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return SRC_WAIT_ERROR;
        if (atomic_load(&s->cancelled))
            return SRC_CANCELLED;
        /* errors and hang-ups are for the client library to report */
        if (p[0].revents)
            return SRC_READY;
    }
}

enum lh_status src_check_cancel(struct lh_source *s, const char *what, struct lh_error *err)
{
    if (!atomic_load(&s->cancelled))
        return LH_OK;
    return lh_error_set(err, LH_E_CANCELLED, "%s %s%s%s: cancelled", lh_source_kind_name(s->kind),
                        s->server[0] ? s->server : "source", what ? ": " : "", what ? what : "");
}

void src_set_driver(struct lh_source *s, const struct src_driver *drv, void *impl)
{
    pthread_mutex_lock(&s->mu);
    s->drv = drv;
    s->impl = impl;
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ public */

/* No message leaves with the password the driver used, or any of the DSN's. */
static void scrub(struct lh_source *s, struct lh_error *err)
{
    lh_redact_secret(err->msg, sizeof err->msg, s->secret);
    lh_redact_scrub(err->msg, sizeof err->msg, s->dsn);
}

enum lh_status lh_source_create(struct lh_source **out, enum lh_source_kind kind, const char *dsn,
                                const struct lh_source_options *opt, struct lh_error *err)
{
    *out = NULL;
    if (!dsn || !opt)
        return lh_error_set(err, LH_E_INVAL, "source: no DSN or options");
    enum lh_status st = src_dsn_check(kind, dsn, err);
    if (st)
        return st;
    struct lh_source *s = calloc(1, sizeof *s);
    if (!s)
        return lh_error_set(err, LH_E_NOMEM, "out of memory");
    lh_arena_init(&s->arena, 16u << 20);
    atomic_init(&s->cancelled, false);
    pthread_mutex_init(&s->mu, NULL);
    s->wake[0] = s->wake[1] = -1;
    s->kind = kind;
    s->opt = *opt;
    s->table_rows = -1;
    s->pace_every = s->pace_left = 1;
    s->batch_size = opt->batch_size > 0 ? opt->batch_size : SRC_DEFAULT_BATCH;
    if (s->batch_size > SRC_MAX_BATCH)
        s->batch_size = SRC_MAX_BATCH;
    if (pipe(s->wake) != 0) {
        s->wake[0] = s->wake[1] = -1;
        st = lh_error_set(err, LH_E_IO, "source: pipe: %s", strerror(errno));
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        (void)fcntl(s->wake[i], F_SETFD, FD_CLOEXEC);
        (void)fcntl(s->wake[i], F_SETFL, O_NONBLOCK);
    }
    s->dsn = strdup(dsn);
    if (!s->dsn) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    /* copy the option strings: the caller's may not outlive the source */
    const char **strs[] = {&s->opt.table,        &s->opt.query,    &s->opt.columns,
                           &s->opt.where,        &s->opt.order_by, &s->opt.cursor_column,
                           &s->opt.cursor_after, &s->opt.snapshot};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (*strs[i]) {
            *strs[i] = lh_arena_strndup(&s->arena, *strs[i], strlen(*strs[i]));
            if (!*strs[i]) {
                st = lh_error_set(err, LH_E_NOMEM, "out of memory");
                goto fail;
            }
        }
    }
    if (s->opt.query) {
        /* "SELECT ...;" reads as a derived table without the ';' */
        char *q = (char *)s->opt.query;
        size_t n = strlen(q);
        while (n && (isspace((unsigned char)q[n - 1]) || q[n - 1] == ';'))
            q[--n] = '\0';
        if (!n) {
            st = lh_error_set(err, LH_E_INVAL, "source: query is empty");
            goto fail;
        }
    }
    if ((!s->opt.table || !*s->opt.table) == !s->opt.query) {
        st = lh_error_set(err, LH_E_INVAL, "source: give a table or a query (exactly one)");
        goto fail;
    }
    if (s->opt.query && (s->opt.columns || s->opt.where)) {
        st = lh_error_set(err, LH_E_INVAL, "source: %s only goes with a table, not a query",
                          s->opt.columns ? "columns" : "where");
        goto fail;
    }
    if (s->opt.where && !*s->opt.where) {
        st = lh_error_set(err, LH_E_INVAL, "source: where is empty");
        goto fail;
    }
    if (s->opt.parallel != LH_SOURCE_PARALLEL_AUTO &&
        (s->opt.parallel < 0 || s->opt.parallel > LH_SOURCE_PARALLEL_MAX)) {
        st = lh_error_set(err, LH_E_INVAL, "source: parallel must be 1-%d or auto",
                          LH_SOURCE_PARALLEL_MAX);
        goto fail;
    }
    if (s->opt.snapshot && (s->opt.parallel < 2 || s->opt.part < 1 ||
                            s->opt.part >= s->opt.parallel || s->opt.nblocks < 0)) {
        st = lh_error_set(err, LH_E_INVAL, "source: a parallel part needs part 1..parallel-1");
        goto fail;
    }
    if (s->opt.nranges > LH_SOURCE_RANGES_MAX || (s->opt.nranges && !s->opt.ranges)) {
        st = lh_error_set(err, LH_E_INVAL, "source: ranges must be 1-%d", LH_SOURCE_RANGES_MAX);
        goto fail;
    }
    if (s->opt.nranges)
        memcpy(s->opt_ranges, s->opt.ranges, s->opt.nranges * sizeof *s->opt_ranges);
    s->opt.ranges = s->opt.nranges ? s->opt_ranges : NULL;
    s->parallel = 1;
    s->order_key = -1;
    if (s->opt.cursor_after && !s->opt.cursor_column) {
        st = lh_error_set(err, LH_E_INVAL, "source: cursor_after without cursor_column");
        goto fail;
    }
    *out = s;
    return LH_OK;
fail:
    lh_source_close(s);
    return st;
}

enum lh_status lh_source_start(struct lh_source *s, struct lh_error *err)
{
    if (s->started)
        return lh_error_set(err, LH_E_STATE, "source: already started");
    s->started = true;
    /* dead until the stream is running: next_batch after a failed start */
    s->dead = true;
    enum lh_status st = src_check_cancel(s, NULL, err);
    if (st == LH_OK)
        st = s->kind == LH_SOURCE_POSTGRES ? src_pg_start(s, s->dsn, err)
                                           : src_my_start(s, s->dsn, err);
    /* a cancel that landed while the last step finished still wins: the
     * caller asked for the run to stop */
    if (st == LH_OK)
        st = src_check_cancel(s, NULL, err);
    if (st) {
        if (err) {
            scrub(s, err);
            /* a server's message may quote the operator's SQL, line
             * breaks and all: one line */
            for (char *p = err->msg; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = ' ';
        }
        return st;
    }
    s->dead = false;
    return LH_OK;
}

enum lh_status lh_source_open(struct lh_source **out, enum lh_source_kind kind, const char *dsn,
                              const struct lh_source_options *opt, struct lh_error *err)
{
    *out = NULL;
    struct lh_source *s;
    enum lh_status st = lh_source_create(&s, kind, dsn, opt, err);
    if (st)
        return st;
    st = lh_source_start(s, err);
    if (st) {
        lh_source_close(s);
        return st;
    }
    *out = s;
    return LH_OK;
}

const struct lh_schema *lh_source_schema(const struct lh_source *s)
{
    return &s->schema;
}

enum lh_status lh_source_next_batch(struct lh_source *s, const struct lh_batch **out,
                                    struct lh_error *err)
{
    *out = NULL;
    if (s->dead)
        return lh_error_set(err, LH_E_STATE, "source: stream already failed");
    if (s->eof)
        return LH_OK;
    if (atomic_load(&s->cancelled)) {
        /* also when the server had already sent everything */
        s->dead = true;
        return lh_error_set(err, LH_E_CANCELLED, "%s %s: cancelled", lh_source_kind_name(s->kind),
                            s->server);
    }
    for (size_t i = 0; i < s->ncols; i++)
        col_reset(&s->cols[i]);
    s->full = false;
    s->heap_total = 0;
    s->batch_start_ns = s->pace_last_ns = lh_time_mono_ns();
    s->pace_left = s->pace_every;
    enum lh_status st = s->drv->fill(s, err);
    if (st) {
        s->dead = true;
        if (err)
            scrub(s, err);
        return st;
    }
    int64_t n = s->ncols ? s->cols[0].n : 0;
    if (n == 0 && s->eof)
        return LH_OK;
    for (size_t i = 0; i < s->ncols; i++) {
        col_publish(&s->cols[i]);
        s->arrs[i] = s->cols[i].arr;
    }
    s->batch.num_rows = n;
    s->batch.cols = s->arrs;
    s->stats.rows += n;
    s->stats.batches++;
    *out = &s->batch;
    return LH_OK;
}

void lh_source_stats(const struct lh_source *s, struct lh_source_stats *out)
{
    *out = s->stats;
}

int64_t lh_source_estimated_rows(const struct lh_source *s)
{
    /* only a whole table's count says how many rows the read returns */
    if (s->table_rows < 0 || s->opt.query || s->opt.where || s->opt.cursor_after)
        return -1;
    if (s->opt.limit > 0 && s->opt.limit < s->table_rows)
        return s->opt.limit;
    return s->table_rows;
}

const char *lh_source_server_version(const struct lh_source *s)
{
    return s->server_version;
}

enum lh_status src_read_plan(struct lh_source *s, struct src_read *r, struct lh_error *err)
{
    enum lh_status st;
    r->cursor = -1;
    if ((st = src_parse_columns(s, &r->sel, &r->nsel, err)) ||
        (st = src_parse_order_by(s, s->opt.order_by, &r->order, &r->norder, err)))
        return st;
    if (!s->opt.cursor_column)
        return LH_OK;
    r->cursor = src_find_col(s, s->opt.cursor_column);
    if (r->cursor < 0)
        return lh_error_set(err, LH_E_INVAL, "cursor_column: table has no column \"%s\"",
                            s->opt.cursor_column);
    if (r->norder == 0) {
        r->order = lh_arena_alloc(&s->arena, sizeof *r->order);
        if (!r->order)
            return lh_error_set(err, LH_E_NOMEM, "out of memory");
        r->order->col = (size_t)r->cursor;
        r->order->desc = false;
        r->norder = 1;
    }
    return LH_OK;
}

bool src_detach(void *(*fn)(void *), void *arg, size_t stack_bytes)
{
    pthread_attr_t a;
    pthread_t th;
    if (pthread_attr_init(&a) != 0)
        return false;
    (void)pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    (void)pthread_attr_setstacksize(&a, stack_bytes);
    bool ok = pthread_create(&th, &a, fn, arg) == 0;
    pthread_attr_destroy(&a);
    return ok;
}

int src_local_cores(const char *h)
{
    if (!h || !(*h == '/' || *h == '@' || !strcmp(h, "localhost") || !strncmp(h, "127.", 4) ||
                !strcmp(h, "::1")))
        return 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 64 ? 64 : n) : 0;
}

int src_auto_parallel(struct lh_source *s, int64_t bytes, int cores)
{
    /* each connection's writer costs memory beyond its share of the
     * budget: docs/ingest.md "Parallel reads" */
    int64_t by_size = bytes / ((int64_t)64 << 20);
    int n = (int)(by_size < cores ? by_size : cores);
    if (n > SRC_AUTO_MAX)
        n = SRC_AUTO_MAX;
    if (n < 2)
        src_log(s, LH_LOG_INFO, "parallel read (auto): one connection: %s",
                cores < 2 ? "the server's cores are not visible or there is only one"
                          : "the table is smaller than 128 MiB");
    return n < 2 ? 1 : n;
}

bool lh_source_parallel_parse(const char *s, int *out)
{
    if (!s)
        return false;
    if (!strcmp(s, "auto")) {
        *out = LH_SOURCE_PARALLEL_AUTO;
        return true;
    }
    int64_t v;
    if (!lh_parse_i64(s, &v) || v < 1 || v > LH_SOURCE_PARALLEL_MAX)
        return false;
    *out = (int)v;
    return true;
}

int lh_source_parallel(const struct lh_source *s)
{
    return s->parallel > 1 ? s->parallel : 1;
}

const char *lh_source_snapshot(const struct lh_source *s)
{
    return s->snapshot;
}

int64_t lh_source_blocks(const struct lh_source *s)
{
    return s->nblocks;
}

long lh_source_order_key(const struct lh_source *s)
{
    return s->order_key;
}

const char *lh_source_order_why(const struct lh_source *s)
{
    return s->order_key < 0 ? s->order_why : NULL;
}

size_t lh_source_ranges(const struct lh_source *s, struct lh_source_range *out)
{
    if (s->order_key < 0)
        return 0;
    memcpy(out, s->ranges, s->nranges * sizeof *out);
    return s->nranges;
}

void src_ranges_from_options(struct lh_source *s)
{
    s->nranges = s->opt.nranges ? s->opt.nranges : 1;
    if (s->opt.nranges)
        memcpy(s->ranges, s->opt.ranges, s->nranges * sizeof *s->ranges);
    else
        memset(s->ranges, 0, sizeof s->ranges[0]);
}

void src_split_ranges(struct lh_source *s, int64_t lo, int64_t hi, int n)
{
    if (s->opt.nranges) {
        src_ranges_from_options(s);
        return;
    }
    lh_i128 span = (lh_i128)hi - lo + 1;
    s->nranges = (size_t)n;
    for (int k = 0; k < n; k++)
        s->ranges[k] = (struct lh_source_range){
            .lo = lo + (int64_t)(span * k / n),
            .hi = lo + (int64_t)(span * (k + 1) / n),
            .has_lo = k > 0,
            .has_hi = k < n - 1,
        };
}

void src_put_ranges(struct lh_source *s, struct lh_buf *b, const char *qkey, bool *has_where)
{
    size_t n = s->parallel > 1 && !s->opt.snapshot ? 1 : s->nranges;
    const struct lh_source_range *r0 = &s->ranges[0];
    if (n == 0 || (n == 1 && !r0->has_lo && !r0->has_after && !r0->has_hi))
        return; /* one open range: the whole table */
    for (size_t i = 0; i < n; i++) {
        const struct lh_source_range *r = &s->ranges[i];
        lh_buf_append_str(b, i ? " OR (" : *has_where ? " AND ((" : " WHERE ((");
        const char *sep = "";
        if (r->has_lo) {
            lh_buf_printf(b, "%s >= %lld", qkey, (long long)r->lo);
            sep = " AND ";
        }
        if (r->has_after) {
            lh_buf_printf(b, "%s%s > %lld", sep, qkey, (long long)r->after);
            sep = " AND ";
        }
        if (r->has_hi)
            lh_buf_printf(b, "%s%s < %lld", sep, qkey, (long long)r->hi);
        lh_buf_append_str(b, ")");
    }
    lh_buf_append_str(b, ")");
    *has_where = true;
}

const char *lh_source_cursor_high(const struct lh_source *s)
{
    return s->cursor_high;
}

void lh_source_cancel(struct lh_source *s)
{
    if (!s || atomic_exchange(&s->cancelled, true))
        return;
    if (s->wake[1] >= 0) {
        ssize_t n = write(s->wake[1], "c", 1);
        (void)n; /* a full pipe is already readable */
    }
    pthread_mutex_lock(&s->mu);
    if (s->drv && s->drv->cancel)
        s->drv->cancel(s);
    pthread_mutex_unlock(&s->mu);
}

void lh_source_close(struct lh_source *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->drv && s->drv->close)
        s->drv->close(s);
    s->drv = NULL;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    if (s->dsn) {
        memset(s->dsn, 0, strlen(s->dsn));
        free(s->dsn);
    }
    src_cols_free(s);
    if (s->secret) {
        memset(s->secret, 0, strlen(s->secret));
        free(s->secret);
    }
    free(s->cursor_high);
    lh_arena_reset(&s->arena);
    free(s);
}
