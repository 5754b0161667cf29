/*
 * writer.c — column batches in, a Parquet file out (one row group at a time).
 *
 * Shape of the data flow:
 *
 *   add_batch ─ validate whole batch (nothing is written for a bad batch)
 *             └ slices of <= PQ_SLICE rows, split at row group boundaries
 *                 └ per column: levels → streaming RLE encoders, values →
 *                   page staging (PLAIN bytes, or dictionary indices)
 *                   └ page full → page body assembled, compressed, header
 *                     prepended, appended to the column's chunk buffer
 *   row group full (rows or buffered bytes) → for each column: dictionary
 *   page, then its data pages, go to the sink; the RowGroup footer struct is
 *   encoded at once and kept (small) until close writes the footer.
 *
 * Dictionaries: one open-addressing table per column chunk (write_enc.c).
 * After PQ_DICT_PROBE values the chunk is judged once: when the dictionary
 * plus its indices would not be clearly smaller than PLAIN (unique ids,
 * emails, timestamps), the staged indices are turned back into PLAIN
 * values and no dictionary page is written. Measured on bench/parquet_write
 * (10 M rows): 20 % less CPU and a 2.5 % smaller file than always trying.
 * A dictionary that passes dict_max_bytes later switches the rest of the
 * chunk to PLAIN; the pages already written stay RLE_DICTIONARY. Statistics
 * of dictionary-encoded values are taken from new entries only.
 * The sample misses values that are all new at first but repeat over the
 * chunk (100 k amounts in a 1 M-row group): a chunk that dropped its
 * dictionary counts its distinct values with a sketch (pq_distinct), and
 * when the dictionary would have been clearly smaller (under half of PLAIN,
 * within dict_max_bytes) the column's next chunk keeps it without the
 * sample judgement; it keeps doing so while chunks end within
 * dict_max_bytes. Measured on bench/ingest (5 M rows, 1 Mi-row groups): the
 * amount column 2.6x smaller in the chunks after the first.
 *
 * Integer encoding, codec per column (choose_chunk): the first page of
 * a chunk fixes the chunk's codec, and on a column's first chunk and
 * every PQ_PROBE_CHUNKS after it that page is the probe: INT32/INT64
 * PLAIN-mode pages are encoded both PLAIN and DELTA_BINARY_PACKED, each
 * compressed, and the smaller at its best (compressed when the codec saves
 * PQ_CODEC_GAIN %, else not) is kept for the chunks to come; any column
 * whose probe page the codec shrinks by less than that writes UNCOMPRESSED
 * chunks until the next probe. Measured on bench/ingest's table: ids 5 KB
 * of deltas instead of 133 KB PLAIN + zstd per 131,072 rows.
 *
 * Compression keeps one zstd context per writer (pq_compressor): setting a
 * context up per 1 MiB page cost ~25 % of the encode time (bench: 5.1 s -> 3.9 s).
 * With options.compress_thread, data pages are compressed on a thread of
 * the writer's own (see "compression thread" below); each column's zstd
 * level is picked from its first large page (pick_level).
 *
 * Pages are cut by bytes (put_slice): a slice is split where the page
 * staging reaches the page target, so a page is about page_bytes whatever
 * the row size, and one value larger than that is a page of its own. With
 * options.memory_bytes, row group, page and dictionary sizes all come from
 * that one budget (lh_parquet_writer_create).
 *
 * Every page header carries the page's CRC-32 (PageHeader.crc, computed
 * over the compressed bytes as parquet-format defines it), so a damaged
 * page is refused by readers that check it (ours does, read_column.c).
 *
 * Memory: one row group of compressed pages + one page of staging per
 * column + the chunk dictionaries + the pages in flight to the compression
 * thread. Nothing points into a caller's batch
 * after add_batch returns. No allocation per value: all staging buffers
 * are lh_bufs reused across pages and row groups.
 *
 * Errors: a bad batch fails with LH_E_INVAL and leaves the writer usable.
 * Any other failure (memory, compression, the sink) is sticky: the writer
 * remembers it and every later call returns it.
 *
 * Threads: one writer belongs to one thread at a time; it may run one
 * compression thread of its own, which sees only its job slots.
 */
#include "write_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* PLAIN and the level/length prefixes are little-endian; values are copied
 * from the batch as they are in memory. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the writer assumes little-endian");

#ifndef LH_BUILD_HASH
#define LH_BUILD_HASH "unknown"
#endif

#define PQ_SLICE 8192                /* rows per encoding step */
#define PQ_PAGE_MAX_LEVELS (1 << 20) /* cap on values per page, whatever their size */
#define PQ_MIN_COL_BYTES (8u << 10)  /* smallest per-column page / dictionary under a budget */
#define PQ_LEVEL_PROBE (64u << 10)   /* a page this large decides the column's zstd level */
#ifndef PQ_DICT_PROBE
#define PQ_DICT_PROBE 8192 /* values seen before judging whether a dictionary pays */
#endif

/* The integer encoding and the codec of a column (choose_chunk). */
#define PQ_PROBE_MIN (4u << 10) /* smallest page that judges a column's encoding and codec */
#define PQ_PROBE_CHUNKS 8       /* chunks between two judgements of a column */
#ifndef PQ_CODEC_GAIN
#define PQ_CODEC_GAIN 3 /* percent the codec must save to be kept on a column */
#endif

/* How a column's batch values are read and written. */
enum pq_vkind {
    VK_BOOL,   /* uint8 0/1 → bit-packed */
    VK_4,      /* 4-byte slots, copied */
    VK_8,      /* 8-byte slots, copied */
    VK_BYTES,  /* offsets + heap → 4-byte length + bytes */
    VK_FIXED,  /* fixed_len bytes, copied */
    VK_DEC128, /* lh_i128 → big-endian FLBA of type_len bytes */
};

struct pq_col {
    struct lh_field f; /* f.name points at `name` */
    char *name;
    int32_t field_id, element_field_id; /* SchemaElement.field_id; <= 0: none */
    enum lh_parquet_physical phys;
    int type_len; /* FLBA width */
    enum pq_vkind vk;
    int in_width; /* bytes per input slot (fixed-width kinds) */
    enum pq_stat_kind sk;
    const struct col_layout *layout; /* from col_setup's tables */
    int16_t max_def, max_rep;
    int64_t range_lo, range_hi; /* INT8/16, UINT8/16 value range check; lo > hi: none */

    /* current page */
    struct lh_buf deflev, replev; /* RLE hybrid output, no length prefix */
    struct pq_rle def_enc, rep_enc;
    struct lh_buf vals; /* PLAIN bytes, bool bytes, or uint32 dictionary indices */
    uint32_t page_levels, page_values;

    /* current column chunk */
    bool use_dict;    /* values go to the dictionary */
    bool dict_judged; /* the "does it pay" check has been made */
    bool used_dict;   /* some data page is RLE_DICTIONARY */
    bool used_plain;  /* some data page is PLAIN */
    int npages;
    struct lh_buf pages; /* compressed data pages, without their headers */
    struct lh_buf hdrs;  /* their page headers, in the same order */
    struct lh_buf plens; /* per page: uint32 header length, uint32 data length */
    int level;           /* zstd level for this column (see pick_level) */
    bool level_set;      /* chosen from the column's first large page */
    int64_t chunk_levels, chunk_values;
    int64_t unc_size, comp_size; /* data pages, headers included */
    struct pq_dict dict;
    bool dict_kept;   /* chunk keeps its dictionary unjudged (see the header) */
    bool ds_on;       /* dictionary dropped by judgement: sketch the values */
    uint64_t ds_values, ds_bytes; /* values and PLAIN bytes sketched */
    struct pq_distinct ds;
    struct pq_stats st;

    /* encoding and codec choices (see "Integer encoding, codec per column") */
    enum lh_parquet_codec codec; /* this chunk's codec, fixed by its first page */
    bool delta;                  /* INT32/INT64 PLAIN-mode pages are DELTA_BINARY_PACKED */
    bool raw;                    /* the codec gains too little: chunks go UNCOMPRESSED */
    bool used_delta;             /* some data page of the chunk is DELTA_BINARY_PACKED */
    int probe_in;                /* chunks until the next probe (0: at the next chunk) */
};

struct lh_parquet_writer {
    struct lh_parquet_writer_options opt;
    struct lh_parquet_kv *kv; /* copies */
    size_t ncols;
    struct pq_col *cols;
    lh_parquet_sink_fn sink;
    void *sink_ctx;

    uint64_t offset; /* bytes handed to the sink */
    int64_t rows, rg_rows;
    uint64_t row_bytes; /* buffered bytes per row of the last row group; 0: unknown */
    int32_t nrg;
    bool closed;
    struct lh_error failed; /* sticky */

    uint32_t page_bytes; /* per-column page target (options, shared by the columns) */
    uint32_t dict_bytes; /* per-column dictionary cap (PLAIN bytes) */
    uint64_t col_mem;    /* per-column cap on a dictionary's memory (slots included) */
    struct lh_buf rgmeta;                      /* encoded RowGroup structs, for the footer */
    struct lh_buf body, comp, hdr, enc, smin, smax; /* scratch */
    struct pq_compressor *cz;
    struct pq_async *async; /* the compression thread; NULL: compress inline */
    uint64_t inflight;      /* page bytes handed to it and not retired yet */
    bool rg_final;          /* flush_row_group is flushing the last pages of the chunks */
};

struct pq_async;
static struct pq_async *async_create(enum lh_parquet_codec codec, uint64_t limit);
static void async_destroy(struct pq_async *a);

/* ------------------------------------------------------------ options */

void lh_parquet_writer_options_init(struct lh_parquet_writer_options *o)
{
    *o = (struct lh_parquet_writer_options){0};
    o->codec = LH_PQ_ZSTD;
    o->zstd_level = 3;
    o->row_group_bytes = 64u << 20;
    o->row_group_rows = 1048576;
    o->page_bytes = 1u << 20;
    o->dict_max_bytes = 1u << 20;
    o->dictionary = true;
    o->compress_thread = true;
}

enum lh_status lh_parquet_sink_atomic_file(void *ctx, const void *p, size_t n, struct lh_error *err)
{
    return lh_atomic_file_write(ctx, p, n, err);
}

/* ------------------------------------------------------------ schema mapping */

/* How a value of each type is written: physical type, value kind,
 * statistics kind, for the narrow integers the largest value (the range is
 * [-hi - 1, hi] or [0, hi]; 0: no check), and how the schema annotates it:
 * converted type (-1 none) and logical type (0 none). DECIMAL picks one of
 * decimal_layouts. */
struct col_layout {
    enum lh_parquet_physical phys;
    enum pq_vkind vk;
    enum pq_stat_kind sk;
    int64_t hi;
    int conv, lt;
};
static const struct col_layout layouts[LH_T_COUNT_] = {
    [LH_T_BOOL] = {LH_PQ_BOOLEAN, VK_BOOL, PQ_SK_BOOL, 0, -1, 0},
    [LH_T_INT8] = {LH_PQ_INT32, VK_4, PQ_SK_I32, INT8_MAX, PQ_CT_INT_8, PQ_LT_INTEGER},
    [LH_T_INT16] = {LH_PQ_INT32, VK_4, PQ_SK_I32, INT16_MAX, PQ_CT_INT_16, PQ_LT_INTEGER},
    [LH_T_INT32] = {LH_PQ_INT32, VK_4, PQ_SK_I32, 0, PQ_CT_INT_32, PQ_LT_INTEGER},
    [LH_T_DATE] = {LH_PQ_INT32, VK_4, PQ_SK_I32, 0, PQ_CT_DATE, PQ_LT_DATE},
    [LH_T_UINT8] = {LH_PQ_INT32, VK_4, PQ_SK_U32, UINT8_MAX, PQ_CT_UINT_8, PQ_LT_INTEGER},
    [LH_T_UINT16] = {LH_PQ_INT32, VK_4, PQ_SK_U32, UINT16_MAX, PQ_CT_UINT_16, PQ_LT_INTEGER},
    [LH_T_UINT32] = {LH_PQ_INT32, VK_4, PQ_SK_U32, 0, PQ_CT_UINT_32, PQ_LT_INTEGER},
    [LH_T_INT64] = {LH_PQ_INT64, VK_8, PQ_SK_I64, 0, PQ_CT_INT_64, PQ_LT_INTEGER},
    [LH_T_TIMESTAMP] = {LH_PQ_INT64, VK_8, PQ_SK_I64, 0, PQ_CT_TIMESTAMP_MICROS, PQ_LT_TIMESTAMP},
    [LH_T_TIME] = {LH_PQ_INT64, VK_8, PQ_SK_I64, 0, PQ_CT_TIME_MICROS, PQ_LT_TIME},
    [LH_T_UINT64] = {LH_PQ_INT64, VK_8, PQ_SK_U64, 0, PQ_CT_UINT_64, PQ_LT_INTEGER},
    [LH_T_FLOAT] = {LH_PQ_FLOAT, VK_4, PQ_SK_F32, 0, -1, 0},
    [LH_T_DOUBLE] = {LH_PQ_DOUBLE, VK_8, PQ_SK_F64, 0, -1, 0},
    [LH_T_STRING] = {LH_PQ_BYTE_ARRAY, VK_BYTES, PQ_SK_BYTES, 0, PQ_CT_UTF8, PQ_LT_STRING},
    [LH_T_JSON] = {LH_PQ_BYTE_ARRAY, VK_BYTES, PQ_SK_BYTES, 0, PQ_CT_JSON, PQ_LT_JSON},
    [LH_T_ENUM] = {LH_PQ_BYTE_ARRAY, VK_BYTES, PQ_SK_BYTES, 0, PQ_CT_UTF8, PQ_LT_STRING},
    [LH_T_BINARY] = {LH_PQ_BYTE_ARRAY, VK_BYTES, PQ_SK_BYTES, 0, -1, 0},
    [LH_T_UUID] = {LH_PQ_FIXED_LEN_BYTE_ARRAY, VK_FIXED, PQ_SK_BYTES, 0, -1, PQ_LT_UUID},
    [LH_T_FIXED] = {LH_PQ_FIXED_LEN_BYTE_ARRAY, VK_FIXED, PQ_SK_BYTES, 0, -1, 0},
};
/* DECIMAL by precision: up to 9, up to 18, up to 38 digits. */
static const struct col_layout decimal_layouts[3] = {
    {LH_PQ_INT32, VK_4, PQ_SK_I32, 0, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
    {LH_PQ_INT64, VK_8, PQ_SK_I64, 0, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
    {LH_PQ_FIXED_LEN_BYTE_ARRAY, VK_DEC128, PQ_SK_I128, 0, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
};

static enum lh_status col_setup(struct pq_col *c, const struct lh_field *f, struct lh_error *err)
{
    const struct col_layout *l = NULL;
    c->in_width = (int)lh_type_width(f);
    switch (f->type) {
    case LH_T_UUID:
        c->type_len = 16;
        break;
    case LH_T_FIXED:
        if (f->fixed_len < 1 || f->fixed_len > (1u << 20))
            return lh_error_set(err, LH_E_INVAL, "column %s: fixed length %u out of range", f->name,
                                f->fixed_len);
        c->type_len = (int)f->fixed_len;
        break;
    case LH_T_DECIMAL:
        if (f->precision < 1 || f->precision > 38 || f->scale > f->precision)
            return lh_error_set(err, LH_E_INVAL, "column %s: bad decimal(%u,%u)", f->name,
                                f->precision, f->scale);
        l = &decimal_layouts[f->precision <= 9 ? 0 : f->precision <= 18 ? 1 : 2];
        if (l->vk == VK_DEC128)
            c->type_len = pq_stats_decimal_len(f->precision);
        break;
    default:
        if ((unsigned)f->type >= LH_T_COUNT_)
            return lh_error_set(err, LH_E_INVAL, "column %s: unknown type %d", f->name,
                                (int)f->type);
    }
    if (!l)
        l = &layouts[f->type];
    c->layout = l;
    c->phys = l->phys, c->vk = l->vk, c->sk = l->sk;
    c->range_lo = !l->hi ? 1 : l->sk == PQ_SK_I32 ? -l->hi - 1 : 0; /* lo > hi: no check */
    c->range_hi = l->hi;
    if (c->vk == VK_FIXED)
        c->in_width = c->type_len;
    if (f->is_list) {
        c->max_rep = 1;
        c->max_def = (int16_t)((f->nullable ? 1 : 0) + 1 + (f->element_nullable ? 1 : 0));
    } else {
        c->max_rep = 0;
        c->max_def = f->nullable ? 1 : 0;
    }
    return LH_OK;
}

/* Dictionary key width: the PLAIN width of fixed types, 0 for BYTE_ARRAY. */
static int dict_width(const struct pq_col *c)
{
    switch (c->vk) {
    case VK_4:
        return 4;
    case VK_8:
        return 8;
    case VK_FIXED:
    case VK_DEC128:
        return c->type_len;
    default:
        return 0;
    }
}

/* At the end of a chunk: whether the next one keeps its dictionary
 * without the sample judgement (see the header comment). */
static bool next_keeps_dict(const struct lh_parquet_writer *w, const struct pq_col *c)
{
    if (c->dict_kept)
        return c->use_dict; /* still within dict_max_bytes */
    if (!c->ds_on || c->ds_values < 4 * PQ_DICT_PROBE)
        return false;
    uint64_t d = pq_distinct_estimate(&c->ds), nv = c->ds_values;
    if (d == 0 || d >= nv)
        return false;
    uint64_t entry = c->ds_bytes / nv + 1; /* PLAIN bytes per value (BYTE_ARRAY: average) */
    uint64_t dict_cost = d * entry + nv * (uint64_t)pq_rle_bit_width(d) / 8;
    return d * entry <= w->dict_bytes && dict_cost * 2 <= c->ds_bytes;
}

static void col_chunk_reset(struct lh_parquet_writer *w, struct pq_col *c)
{
    bool keep = next_keeps_dict(w, c);
    c->use_dict = w->opt.dictionary && c->vk != VK_BOOL;
    c->dict_kept = c->use_dict && keep;
    c->dict_judged = c->dict_kept;
    c->ds_on = false;
    c->ds_values = c->ds_bytes = 0;
    pq_distinct_reset(&c->ds);
    c->used_dict = c->used_plain = c->used_delta = false;
    c->codec = w->opt.codec;
    if (c->probe_in > 0)
        c->probe_in--;
    c->npages = 0;
    lh_buf_clear(&c->pages);
    lh_buf_clear(&c->hdrs);
    lh_buf_clear(&c->plens);
    c->chunk_levels = c->chunk_values = 0;
    c->unc_size = c->comp_size = 0;
    pq_dict_reset(&c->dict);
    pq_stats_reset(&c->st);
}

static void col_page_reset(struct pq_col *c)
{
    lh_buf_clear(&c->deflev);
    lh_buf_clear(&c->replev);
    pq_rle_init(&c->def_enc, &c->deflev, pq_rle_bit_width((uint64_t)c->max_def));
    pq_rle_init(&c->rep_enc, &c->replev, pq_rle_bit_width((uint64_t)c->max_rep));
    lh_buf_clear(&c->vals);
    c->page_levels = c->page_values = 0;
}

/* ------------------------------------------------------------ lifecycle */

static enum lh_status fail(struct lh_parquet_writer *w, struct lh_error *err, enum lh_status s)
{
    if (w->failed.status == LH_OK) {
        w->failed.status = s;
        snprintf(w->failed.msg, sizeof w->failed.msg, "%s",
                 err && err->status != LH_OK ? err->msg : lh_status_str(s));
    }
    return s;
}

static enum lh_status check_usable(struct lh_parquet_writer *w, struct lh_error *err)
{
    if (w->failed.status != LH_OK)
        return lh_error_set(err, w->failed.status, "parquet writer failed earlier: %s",
                            w->failed.msg);
    if (w->closed)
        return lh_error_set(err, LH_E_STATE, "parquet writer is closed");
    return LH_OK;
}

static enum lh_status emit(struct lh_parquet_writer *w, const void *p, size_t n,
                           struct lh_error *err)
{
    if (n == 0)
        return LH_OK;
    struct lh_error local;
    lh_error_clear(&local);
    enum lh_status s = w->sink(w->sink_ctx, p, n, &local);
    if (s != LH_OK) {
        if (local.status == LH_OK)
            lh_error_set(&local, s, "parquet sink failed");
        lh_error_prefix(&local, "parquet sink");
        fail(w, &local, s);
        if (err)
            *err = local;
        return s;
    }
    w->offset += n;
    return LH_OK;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s ? s : "", n + 1);
    return p;
}

/* Sets up (init) or frees (reset) n buffers. */
static void bufs_lifetime(struct lh_buf *const *b, size_t n, bool init)
{
    for (size_t i = 0; i < n; i++) {
        if (init)
            lh_buf_init(b[i], 0);
        else
            lh_buf_reset(b[i]);
    }
}

/* The buffers a column owns and the writer's own: one list each for
 * create and destroy. */
static void col_bufs(struct pq_col *c, bool init)
{
    struct lh_buf *const b[] = {&c->deflev, &c->replev, &c->vals, &c->pages, &c->hdrs, &c->plens};
    bufs_lifetime(b, sizeof b / sizeof b[0], init);
}

static void writer_bufs(struct lh_parquet_writer *w, bool init)
{
    struct lh_buf *const b[] = {&w->rgmeta, &w->body, &w->comp, &w->hdr,
                                &w->enc,    &w->smin, &w->smax};
    bufs_lifetime(b, sizeof b / sizeof b[0], init);
}

void lh_parquet_writer_destroy(struct lh_parquet_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->cols && i < w->ncols; i++) {
        struct pq_col *c = &w->cols[i];
        free(c->name);
        col_bufs(c, false);
        pq_dict_free(&c->dict);
        pq_stats_free(&c->st);
    }
    free(w->cols);
    for (size_t i = 0; w->kv && i < w->opt.nkv; i++) {
        free((char *)w->kv[i].key);
        free((char *)w->kv[i].value);
    }
    free(w->kv);
    writer_bufs(w, false);
    async_destroy(w->async);
    pq_compressor_destroy(w->cz);
    free(w);
}

enum lh_status lh_parquet_writer_create(const struct lh_schema *schema,
                                        const struct lh_parquet_writer_options *opt,
                                        lh_parquet_sink_fn sink, void *sink_ctx,
                                        struct lh_parquet_writer **out, struct lh_error *err)
{
    enum lh_status s = LH_OK;
    *out = NULL;
    if (!schema || schema->nfields == 0 || !schema->fields || !sink)
        return lh_error_set(err, LH_E_INVAL, "parquet writer: empty schema or no sink");
    struct lh_parquet_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lh_error_set(err, LH_E_NOMEM, "parquet writer: out of memory");
    lh_parquet_writer_options_init(&w->opt);
    if (opt) {
        struct lh_parquet_writer_options d = w->opt;
        w->opt = *opt;
        /* zeroes mean "default", so a zero-initialised struct works too */
        if (!w->opt.row_group_bytes)
            w->opt.row_group_bytes = d.row_group_bytes;
        if (w->opt.row_group_rows <= 0)
            w->opt.row_group_rows = d.row_group_rows;
        if (!w->opt.page_bytes)
            w->opt.page_bytes = d.page_bytes;
        if (!w->opt.dict_max_bytes)
            w->opt.dict_max_bytes = d.dict_max_bytes;
        if (w->opt.codec == LH_PQ_ZSTD && w->opt.zstd_level == 0)
            w->opt.zstd_level = d.zstd_level;
    }
    /* One budget for every buffer (see "Memory" in the header comment):
     * half of it for the row group's compressed pages, a quarter for the
     * page staging of all columns together, a quarter for their
     * dictionaries; a column's page and dictionary never go below 8 KiB.
     * The columns' own state (encoders, distinct sketch: ~9 KiB a column)
     * comes out of the budget first: a 300-column part writer under a
     * sixteenth of the budget holds a third of its share in it. */
    w->page_bytes = w->opt.page_bytes;
    w->dict_bytes = w->opt.dict_max_bytes;
    w->col_mem = UINT64_MAX;
    if (w->opt.memory_bytes > 0) {
        uint64_t m = w->opt.memory_bytes, nc = schema->nfields ? schema->nfields : 1;
        uint64_t fixed = nc * sizeof(struct pq_col);
        m = fixed < m / 2 ? m - fixed : m / 2;
        w->opt.memory_bytes = m;
        if (w->opt.row_group_bytes > m / 2)
            w->opt.row_group_bytes = m / 2 > 1 ? m / 2 : 1;
        uint64_t per = m / 4 / nc;
        if (per < PQ_MIN_COL_BYTES)
            per = PQ_MIN_COL_BYTES;
        if (w->page_bytes > per)
            w->page_bytes = (uint32_t)per;
        if (w->dict_bytes > per)
            w->dict_bytes = (uint32_t)per;
        w->col_mem = per;
    }
    if (w->opt.codec != LH_PQ_ZSTD && w->opt.codec != LH_PQ_SNAPPY &&
        w->opt.codec != LH_PQ_UNCOMPRESSED) {
        s = lh_error_set(err, LH_E_UNSUPPORTED, "parquet writer: codec %s not supported",
                         lh_parquet_codec_name(w->opt.codec));
        goto fail;
    }
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    writer_bufs(w, true);
    lh_error_clear(&w->failed);
    if (w->opt.compress_thread && w->opt.codec != LH_PQ_UNCOMPRESSED) {
        /* in flight: an eighth of the budget, else 8 MiB (one page is
         * always let through, so a small budget still overlaps one page's
         * compression with the staging of the next) */
        uint64_t lim = w->opt.memory_bytes ? w->opt.memory_bytes / 8 : 8u << 20;
        if (!(w->async = async_create(w->opt.codec, lim)))
            goto nomem;
    } else if (w->opt.codec == LH_PQ_ZSTD && !(w->cz = pq_compressor_create())) {
        goto nomem; /* with the thread, its compressor serves both (compress_page) */
    }

    if (w->opt.nkv > 0) {
        w->kv = calloc(w->opt.nkv, sizeof *w->kv);
        if (!w->kv)
            goto nomem;
        for (size_t i = 0; i < w->opt.nkv; i++) {
            w->kv[i].key = dup_str(opt->kv[i].key);
            w->kv[i].value = dup_str(opt->kv[i].value);
            if (!w->kv[i].key || !w->kv[i].value)
                goto nomem;
        }
    }
    w->opt.kv = w->kv;
    w->opt.field_ids = w->opt.element_field_ids = NULL; /* copied into the columns below */

    w->cols = calloc(schema->nfields, sizeof *w->cols);
    if (!w->cols)
        goto nomem;
    w->ncols = schema->nfields;
    for (size_t i = 0; i < w->ncols; i++) {
        struct pq_col *c = &w->cols[i];
        const struct lh_field *f = &schema->fields[i];
        col_bufs(c, true);
        c->level = w->opt.zstd_level;
        if (!f->name || !f->name[0]) {
            s = lh_error_set(err, LH_E_INVAL, "parquet writer: column %zu has no name", i);
            goto fail;
        }
        c->name = dup_str(f->name);
        if (!c->name)
            goto nomem;
        c->f = *f;
        c->f.name = c->name;
        if (opt && opt->field_ids)
            c->field_id = opt->field_ids[i];
        if (opt && opt->element_field_ids && f->is_list)
            c->element_field_id = opt->element_field_ids[i];
        if ((s = col_setup(c, f, err)) != LH_OK)
            goto fail;
        pq_dict_init(&c->dict, dict_width(c));
        pq_stats_init(&c->st, c->sk);
        col_chunk_reset(w, c);
        col_page_reset(c);
    }
    if ((s = emit(w, LH_PQ_MAGIC, 4, err)) != LH_OK)
        goto fail;
    *out = w;
    return LH_OK;
nomem:
    s = lh_error_set(err, LH_E_NOMEM, "parquet writer: out of memory");
fail:
    lh_parquet_writer_destroy(w);
    return s;
}

void lh_parquet_writer_stats(const struct lh_parquet_writer *w, struct lh_parquet_writer_stats *s)
{
    s->rows = w->rows;
    s->bytes_written = w->offset;
    s->row_groups = w->nrg;
    uint64_t b = 0;
    for (size_t i = 0; i < w->ncols; i++) {
        const struct pq_col *c = &w->cols[i];
        b += c->pages.len + c->hdrs.len + c->vals.len + c->deflev.len + c->replev.len + c->dict.plain.len;
    }
    s->buffered_bytes = b + w->inflight;
}

static uint64_t buffered(const struct lh_parquet_writer *w)
{
    struct lh_parquet_writer_stats st;
    lh_parquet_writer_stats(w, &st);
    return st.buffered_bytes;
}

/* ------------------------------------------------------------ validation */

static bool all_valid(const uint8_t *bits, int64_t from, int64_t to, int64_t *bad)
{
    if (!bits)
        return true;
    for (int64_t i = from; i < to; i++) {
        if ((i & 7) == 0 && i + 8 <= to && bits[i >> 3] == 0xFF) {
            i += 7;
            continue;
        }
        if (!lh_bit_get(bits, i)) {
            *bad = i;
            return false;
        }
    }
    return true;
}

static enum lh_status check_offsets(const struct pq_col *c, const char *what, const int32_t *off,
                                    const uint8_t *need_data, int64_t from, int64_t to,
                                    struct lh_error *err)
{
    if (!off)
        return lh_error_set(err, LH_E_INVAL, "column %s: %s missing", c->name, what);
    if (off[from] < 0)
        return lh_error_set(err, LH_E_INVAL, "column %s row %lld: negative %s", c->name,
                            (long long)from, what);
    for (int64_t i = from; i < to; i++)
        if (off[i + 1] < off[i])
            return lh_error_set(err, LH_E_INVAL, "column %s row %lld: %s decrease (%d -> %d)",
                                c->name, (long long)i, what, off[i], off[i + 1]);
    if (need_data == NULL && off[to] > off[from] && strcmp(what, "offsets") == 0)
        return lh_error_set(err, LH_E_INVAL, "column %s: offsets but no data", c->name);
    return LH_OK;
}

/* Values of one array (a column, or a list's elements) over [from, to). */
static enum lh_status check_values(const struct pq_col *c, const struct lh_array *a, int64_t from,
                                   int64_t to, bool nullable, const char *what,
                                   struct lh_error *err)
{
    int64_t bad = 0;
    if (!nullable && !all_valid(a->validity, from, to, &bad))
        return lh_error_set(err, LH_E_INVAL, "column %s %s %lld: NULL in a non-nullable column",
                            c->name, what, (long long)bad);
    if (c->vk == VK_BYTES)
        return check_offsets(c, "offsets", a->offsets, a->data, from, to, err);
    if (to > from && !a->values)
        return lh_error_set(err, LH_E_INVAL, "column %s: values missing", c->name);
    if (c->range_lo <= c->range_hi) {
        for (int64_t i = from; i < to; i++) {
            int64_t v = c->sk == PQ_SK_U32 ? (int64_t)((const uint32_t *)a->values)[i]
                                           : (int64_t)((const int32_t *)a->values)[i];
            if ((v < c->range_lo || v > c->range_hi) && lh_bit_get(a->validity, i))
                return lh_error_set(err, LH_E_INVAL, "column %s %s %lld: %lld out of range for %s",
                                    c->name, what, (long long)i, (long long)v,
                                    lh_type_name(c->f.type));
        }
    }
    if (c->f.type == LH_T_DECIMAL) {
        lh_i128 lim = 1;
        for (int k = 0; k < c->f.precision; k++)
            lim *= 10;
        for (int64_t i = from; i < to; i++) {
            lh_i128 v;
            if (c->vk == VK_4)
                v = ((const int32_t *)a->values)[i];
            else if (c->vk == VK_8)
                v = ((const int64_t *)a->values)[i];
            else
                memcpy(&v, (const uint8_t *)a->values + 16 * i, 16);
            if ((v >= lim || v <= -lim) && lh_bit_get(a->validity, i))
                return lh_error_set(err, LH_E_INVAL,
                                    "column %s %s %lld: value out of decimal(%u,%u) precision",
                                    c->name, what, (long long)i, c->f.precision, c->f.scale);
        }
    }
    return LH_OK;
}

static enum lh_status validate(const struct lh_parquet_writer *w, const struct lh_batch *b,
                               struct lh_error *err)
{
    if (b->num_rows < 0 || (b->num_rows > 0 && !b->cols))
        return lh_error_set(err, LH_E_INVAL, "batch: bad row count or no columns");
    for (size_t ci = 0; ci < w->ncols; ci++) {
        const struct pq_col *c = &w->cols[ci];
        const struct lh_array *a = &b->cols[ci];
        int64_t n = b->num_rows, bad = 0;
        enum lh_status s;
        if (a->length < n)
            return lh_error_set(err, LH_E_INVAL, "column %s: %lld values for %lld rows", c->name,
                                (long long)a->length, (long long)n);
        if (!c->f.is_list) {
            if ((s = check_values(c, a, 0, n, c->f.nullable, "row", err)) != LH_OK)
                return s;
            continue;
        }
        if (!c->f.nullable && !all_valid(a->validity, 0, n, &bad))
            return lh_error_set(err, LH_E_INVAL,
                                "column %s row %lld: NULL in a non-nullable column", c->name,
                                (long long)bad);
        if ((s = check_offsets(c, "list offsets", a->list_offsets, NULL, 0, n, err)) != LH_OK)
            return s;
        const struct lh_array *ch = a->child;
        int64_t lo = n ? a->list_offsets[0] : 0, hi = n ? a->list_offsets[n] : 0;
        if (hi > lo && (!ch || ch->length < hi))
            return lh_error_set(err, LH_E_INVAL, "column %s: list offsets past the %lld elements",
                                c->name, ch ? (long long)ch->length : 0LL);
        if (hi > lo &&
            (s = check_values(c, ch, lo, hi, c->f.element_nullable, "element", err)) != LH_OK)
            return s;
    }
    return LH_OK;
}

/* ------------------------------------------------------------ pages */

static uint64_t page_estimate(const struct pq_col *c)
{
    uint64_t v;
    if (c->use_dict)
        v = ((uint64_t)c->page_values * (uint64_t)pq_rle_bit_width(c->dict.n) + 7) / 8;
    else if (c->vk == VK_BOOL)
        v = c->vals.len / 8;
    else
        v = c->vals.len;
    return v + c->deflev.len + c->replev.len;
}

static void put_u32le(struct lh_buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    lh_buf_append(b, t, 4);
}

/* The PageHeader of a page of ulen bytes compressed to [out, out+clen)
 * into *hdr (reset first). Pure: the compression thread calls it too. */
static bool page_header(struct lh_buf *hdr, enum pq_page_type type, uint32_t num_values,
                        enum pq_encoding enc, size_t ulen, const uint8_t *out, size_t clen)
{
    lh_buf_clear(hdr);
    struct pq_tw t;
    pq_tw_init(&t, hdr);
    pq_tw_root_begin(&t);
    pq_tw_i32(&t, 1, type);
    pq_tw_i32(&t, 2, (int32_t)ulen);
    pq_tw_i32(&t, 3, (int32_t)clen);
    /* PageHeader.crc: CRC-32 of the page as written (compressed), header
     * excluded; stored as the i32 of the same bits. */
    pq_tw_i32(&t, 4, (int32_t)lh_crc32(0, out, clen));
    if (type == PQ_PAGE_DATA) {
        pq_tw_struct_begin(&t, 5);
        pq_tw_i32(&t, 1, (int32_t)num_values);
        pq_tw_i32(&t, 2, enc);
        pq_tw_i32(&t, 3, PQ_ENC_RLE);
        pq_tw_i32(&t, 4, PQ_ENC_RLE);
        pq_tw_struct_end(&t);
    } else {
        pq_tw_struct_begin(&t, 7);
        pq_tw_i32(&t, 1, (int32_t)num_values);
        pq_tw_i32(&t, 2, enc);
        pq_tw_struct_end(&t);
    }
    pq_tw_struct_end(&t);
    return lh_buf_ok(hdr);
}

static enum lh_status compress_page(struct lh_parquet_writer *w, int level,
                                    const struct pq_part *parts, size_t nparts, void *dst,
                                    size_t cap, size_t *clen, struct lh_error *err);

/* Compresses the page body, given as pieces, onto the end of *dst (no
 * assembled copy of the body: zstd streams the pieces) and writes the page
 * header into w->hdr. *clen_out: compressed bytes appended. */
static enum lh_status seal_page(struct lh_parquet_writer *w, int level, enum pq_page_type type,
                                uint32_t num_values, enum pq_encoding enc,
                                const struct pq_part *parts, size_t nparts, struct lh_buf *dst,
                                size_t *ulen_out, size_t *clen_out, struct lh_error *err)
{
    size_t ulen = 0;
    for (size_t i = 0; i < nparts; i++)
        ulen += parts[i].n;
    size_t bound = pq_compress_bound(w->opt.codec, ulen);
    if (ulen > INT32_MAX || !lh_buf_reserve(dst, bound + 1))
        return lh_error_set(err, LH_E_NOMEM, "parquet writer: page of %zu bytes", ulen);
    size_t clen = 0;
    uint8_t *out = dst->data + dst->len;
    enum lh_status s = compress_page(w, level, parts, nparts, out, dst->cap - dst->len, &clen, err);
    if (s != LH_OK)
        return s;
    dst->len += clen;
    if (!page_header(&w->hdr, type, num_values, enc, ulen, out, clen))
        return lh_error_set(err, LH_E_NOMEM, "parquet writer: page header");
    *ulen_out = ulen;
    *clen_out = clen;
    return LH_OK;
}

/* A buffer that one exceptional page (a single huge value) grew far past
 * the page target gives its memory back instead of keeping it for good. */
static void buf_trim(struct lh_buf *b, size_t keep)
{
    if (b->cap > keep && b->cap > 4 * (size_t)b->len) {
        size_t max = b->max;
        lh_buf_reset(b);
        lh_buf_init(b, max);
    }
}

/* The column's zstd level, chosen once from its first large page, which
 * was just compressed at the configured level into clen bytes: the page is
 * compressed again at level 1, and when that is within 3 % of clen the
 * column keeps level 1 for the rest of the file. Large high-entropy values
 * (hashes, hex, random bytes, compressed data) gain next to nothing from a
 * higher level and cost several times the CPU; repetitive columns keep it. */
static void pick_level(struct lh_parquet_writer *w, struct pq_col *c, const struct pq_part *parts,
                       size_t nparts, size_t ulen, size_t clen)
{
    if (c->level_set || w->opt.codec != LH_PQ_ZSTD || ulen < PQ_LEVEL_PROBE)
        return;
    c->level_set = true;
    if (w->opt.zstd_level <= 1)
        return;
    size_t bound = pq_compress_bound(w->opt.codec, ulen), c1 = 0;
    lh_buf_clear(&w->comp);
    if (!lh_buf_reserve(&w->comp, bound + 1))
        return; /* keep the configured level */
    struct lh_error e;
    lh_error_clear(&e);
    enum lh_status s = compress_page(w, 1, parts, nparts, w->comp.data, w->comp.cap, &c1, &e);
    lh_buf_reset(&w->comp); /* once per column: not worth keeping a page for */
    if (s == LH_OK && c1 * 100 <= clen * 103)
        c->level = 1;
}

/* ------------------------------------------------------------ compression thread */

/* Pages are compressed on a thread of their own, so that zstd overlaps the
 * reading of the next rows instead of stopping it. The reading thread
 * hands a page body to a job slot (swapping its staging buffer in, see
 * async_submit) and queues it; the compression thread compresses it,
 * computes its CRC and builds its header; the
 * reading thread retires finished jobs in queue order, appending them to
 * their column's chunk, so pages keep their order. At most
 * PQ_ASYNC_SLOTS pages and async_bytes bytes are in flight (counted in
 * buffered_bytes); a row group is drained before it is written.
 * A slot's body and output buffers are reused from page to page, but the
 * slots together keep no more than the in-flight limit between pages
 * (held): a retired slot past it gives its buffers back. Without that,
 * eight slots of two page-sized buffers each stayed allocated per writer
 * whatever the budget, so N parallel part writers held 16 N pages (fat
 * rows, --parallel 16: ~250 MiB of the 373 MiB peak, heaptrack). A slot
 * whose buffers were given back takes those of an idle slot before it
 * allocates (async_warm_slot), so the buffers kept are the ones used. */
#define PQ_ASYNC_SLOTS 8

struct pq_job {
    struct pq_col *col;
    int level;
    enum pq_page_type type;
    uint32_t num_values;
    enum pq_encoding enc;
    struct lh_buf body, out, hdr; /* reused from job to job */
    size_t held;                  /* body and out capacity counted in pq_async.held */
    size_t ulen, clen;
    enum lh_status st;
    struct lh_error err;
    bool done;
};

struct pq_async {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    enum lh_parquet_codec codec;
    struct pq_compressor *cz; /* the thread's own */
    struct pq_job jobs[PQ_ASYNC_SLOTS];
    uint64_t head, tail, next; /* oldest unretired, next free, next to compress */
    uint64_t limit;            /* bytes in flight before submit waits */
    uint64_t held;             /* slot buffer capacity kept, as of the last retire */
    bool stop;
};

static void *async_main(void *arg)
{
    struct pq_async *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->stop && a->next == a->tail)
            pthread_cond_wait(&a->work, &a->mu);
        if (a->next == a->tail)
            break; /* stopping, nothing queued */
        struct pq_job *j = &a->jobs[a->next % PQ_ASYNC_SLOTS];
        pthread_mutex_unlock(&a->mu);

        lh_error_clear(&j->err);
        j->ulen = j->body.len;
        size_t bound = pq_compress_bound(a->codec, j->ulen);
        lh_buf_clear(&j->out);
        j->st = LH_OK;
        if (!lh_buf_reserve(&j->out, bound + 1)) {
            j->st = lh_error_set(&j->err, LH_E_NOMEM, "parquet writer: page of %zu bytes", j->ulen);
        } else {
            j->st = pq_compress_with(a->cz, a->codec, j->level, j->body.data, j->ulen,
                                     j->out.data, j->out.cap, &j->clen, &j->err);
            if (j->st == LH_OK) {
                j->out.len = j->clen;
                if (!page_header(&j->hdr, j->type, j->num_values, j->enc, j->ulen, j->out.data,
                                 j->clen))
                    j->st = lh_error_set(&j->err, LH_E_NOMEM, "parquet writer: page header");
            }
        }

        pthread_mutex_lock(&a->mu);
        j->done = true;
        a->next++;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void async_destroy(struct pq_async *a)
{
    if (!a)
        return;
    lh_thread_stop(a->th, &a->mu, &a->work, &a->stop);
    for (int i = 0; i < PQ_ASYNC_SLOTS; i++) {
        lh_buf_reset(&a->jobs[i].body);
        lh_buf_reset(&a->jobs[i].out);
        lh_buf_reset(&a->jobs[i].hdr);
    }
    pq_compressor_destroy(a->cz);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->done);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static struct pq_async *async_create(enum lh_parquet_codec codec, uint64_t limit)
{
    struct pq_async *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->codec = codec;
    a->limit = limit;
    for (int i = 0; i < PQ_ASYNC_SLOTS; i++) {
        lh_buf_init(&a->jobs[i].body, 0);
        lh_buf_init(&a->jobs[i].out, 0);
        lh_buf_init(&a->jobs[i].hdr, 0);
    }
    if (codec == LH_PQ_ZSTD && !(a->cz = pq_compressor_create())) {
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->work, NULL);
    pthread_cond_init(&a->done, NULL);
    if (pthread_create(&a->th, NULL, async_main, a) != 0) {
        pq_compressor_destroy(a->cz);
        pthread_cond_destroy(&a->work);
        pthread_cond_destroy(&a->done);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NULL;
    }
    return a;
}


/* Compresses a page on the writer's thread (seal_page, pick_level). With
 * the compression thread, that happens only while its queue is drained (a
 * column's first large page, dictionary pages after a row group's drain),
 * so the thread's compressor is idle and serves here too: one zstd context
 * per writer, not two. The pieces are joined into w->body and compressed
 * in one shot, which needs no streaming window: a streaming context of
 * ~2.3 MiB per part writer was 36 MiB of --parallel 16 (heaptrack). */
static enum lh_status compress_page(struct lh_parquet_writer *w, int level,
                                    const struct pq_part *parts, size_t nparts, void *dst,
                                    size_t cap, size_t *clen, struct lh_error *err)
{
    if (!w->async)
        return pq_compress_parts(w->cz, w->opt.codec, level, parts, nparts, &w->body, dst, cap,
                                 clen, err);
    const void *p = nparts ? parts[0].p : "";
    size_t n = nparts ? parts[0].n : 0;
    if (nparts > 1) {
        lh_buf_clear(&w->body);
        for (size_t i = 0; i < nparts; i++)
            lh_buf_append(&w->body, parts[i].p, parts[i].n);
        if (!lh_buf_ok(&w->body))
            return lh_error_set(err, LH_E_NOMEM, "parquet writer: out of memory for a page");
        p = w->body.data;
        n = w->body.len;
    }
    return pq_compress_with(w->async->cz, w->opt.codec, level, p, n, dst, cap, clen, err);
}

/* Appends the oldest job to its column's chunk, waiting for it when
 * `wait`; false (and nothing done) when it is not finished and !wait. */
static enum lh_status async_retire(struct lh_parquet_writer *w, bool wait, bool *retired,
                                   struct lh_error *err)
{
    struct pq_async *a = w->async;
    *retired = false;
    pthread_mutex_lock(&a->mu);
    if (a->head == a->tail) {
        pthread_mutex_unlock(&a->mu);
        return LH_OK;
    }
    struct pq_job *j = &a->jobs[a->head % PQ_ASYNC_SLOTS];
    while (wait && !j->done)
        pthread_cond_wait(&a->done, &a->mu);
    bool done = j->done;
    pthread_mutex_unlock(&a->mu);
    if (!done)
        return LH_OK;
    enum lh_status st = j->st;
    if (st != LH_OK && err)
        *err = j->err;
    struct pq_col *c = j->col;
    if (st == LH_OK) {
        uint32_t lens[2] = {(uint32_t)j->hdr.len, (uint32_t)j->clen};
        lh_buf_append(&c->hdrs, j->hdr.data, j->hdr.len);
        lh_buf_append(&c->pages, j->out.data, j->clen);
        lh_buf_append(&c->plens, lens, sizeof lens);
        if (!lh_buf_ok(&c->hdrs) || !lh_buf_ok(&c->pages) || !lh_buf_ok(&c->plens))
            st = lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for the row group",
                              c->name);
        c->unc_size += (int64_t)(j->hdr.len + j->ulen);
        c->comp_size += (int64_t)(j->hdr.len + j->clen);
    }
    w->inflight -= j->ulen;
    size_t keep = 4 * (size_t)w->page_bytes;
    buf_trim(&j->body, keep);
    buf_trim(&j->out, keep);
    /* the slot is ours again (done, under mu): count what it keeps, and
     * give it back when the slots would keep more than the limit */
    a->held -= j->held;
    j->held = j->body.cap + j->out.cap;
    if (a->held + j->held > a->limit) {
        lh_buf_reset(&j->body);
        lh_buf_reset(&j->out);
        j->held = 0;
    }
    a->held += j->held;
    pthread_mutex_lock(&a->mu);
    j->done = false;
    a->head++;
    pthread_mutex_unlock(&a->mu);
    *retired = true;
    return st;
}

/* Retires every queued page (before a row group is written). */
static enum lh_status async_drain(struct lh_parquet_writer *w, struct lh_error *err)
{
    bool r = true;
    while (w->async && r) {
        enum lh_status s = async_retire(w, true, &r, err);
        if (s != LH_OK)
            return s;
    }
    return LH_OK;
}

/* Gives slot j the buffers of an idle slot (not in flight) when its own
 * are smaller than `need`: the slots that keep buffers under the in-flight
 * limit are then the ones used, instead of the ring handing each page a
 * slot whose buffers were given back and allocating (and faulting in) a
 * fresh page-sized buffer every time. */
static void async_warm_slot(struct pq_async *a, struct pq_job *j, size_t need)
{
    size_t jt = (size_t)(j - a->jobs);
    for (int pass = 0; pass < 2; pass++) {
        struct pq_job *best = NULL;
        for (uint64_t q = a->tail + 1; q < a->head + PQ_ASYNC_SLOTS; q++) {
            struct pq_job *k = &a->jobs[q % PQ_ASYNC_SLOTS];
            size_t kc = pass ? k->out.cap : k->body.cap;
            size_t jc = pass ? j->out.cap : j->body.cap;
            if ((size_t)(k - a->jobs) != jt && kc > jc && jc < need &&
                (!best || kc > (pass ? best->out.cap : best->body.cap)))
                best = k;
        }
        if (!best)
            continue;
        struct lh_buf *x = pass ? &j->out : &j->body, *y = pass ? &best->out : &best->body;
        struct lh_buf t = *x;
        *x = *y;
        *y = t;
        a->held -= j->held + best->held;
        j->held = j->body.cap + j->out.cap;
        best->held = best->body.cap + best->out.cap;
        a->held += j->held + best->held;
    }
}

/* Queues one data page of column c. Its body is the pieces, copied into
 * the job; except that when the last (and largest) piece is the whole of
 * an lh_buf of the writer's (`take`: the column's PLAIN staging, or the
 * encoded values in w->enc), that buffer is swapped into the job and the
 * small pieces before it (the levels) are moved in front of it within
 * memory just written, and `take` gets the job's previous buffer: no copy
 * of the values into a second page-sized buffer. */
static enum lh_status async_submit(struct lh_parquet_writer *w, struct pq_col *c,
                                   uint32_t num_values, enum pq_encoding enc,
                                   const struct pq_part *parts, size_t nparts, struct lh_buf *take,
                                   struct lh_error *err)
{
    struct pq_async *a = w->async;
    bool r;
    enum lh_status s;
    /* retire what is finished; wait while the queue is full */
    do {
        if ((s = async_retire(w, false, &r, err)) != LH_OK)
            return s;
    } while (r);
    /* a page in flight holds its body and its output: twice its length */
    while (a->tail - a->head >= PQ_ASYNC_SLOTS ||
           (a->tail > a->head && 2 * w->inflight > a->limit)) {
        if ((s = async_retire(w, true, &r, err)) != LH_OK)
            return s;
    }
    struct pq_job *j = &a->jobs[a->tail % PQ_ASYNC_SLOTS];
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].n;
    async_warm_slot(a, j, total);
    lh_buf_clear(&j->body);
    /* the swap needs room for the levels in the taken buffer itself, and
     * gives the column a buffer at least as large as its own: growing either
     * would copy and fault in more than the copy it saves */
    if (take && nparts > 0 && take->len > 0 && parts[nparts - 1].p == take->data &&
        parts[nparts - 1].n == take->len && lh_buf_ok(take) &&
        take->cap - take->len >= total - take->len && j->body.cap >= take->cap) {
        size_t pre = total - take->len;
        struct lh_buf t = j->body;
        j->body = *take;
        *take = t;
        if (pre > 0) {
            memmove(j->body.data + pre, j->body.data, j->body.len);
            uint8_t *o = j->body.data;
            for (size_t i = 0; i + 1 < nparts; i++) {
                if (parts[i].n)
                    memcpy(o, parts[i].p, parts[i].n);
                o += parts[i].n;
            }
            j->body.len += pre;
        }
    } else {
        (void)lh_buf_reserve(&j->body, total); /* one allocation (a slot may start empty) */
        for (size_t i = 0; i < nparts; i++)
            lh_buf_append(&j->body, parts[i].p, parts[i].n);
    }
    if (!lh_buf_ok(&j->body) || j->body.len > INT32_MAX)
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for a page", c->name);
    j->col = c;
    j->level = c->level;
    j->type = PQ_PAGE_DATA;
    j->num_values = num_values;
    j->enc = enc;
    j->done = false;
    w->inflight += j->body.len;
    pthread_mutex_lock(&a->mu);
    a->tail++;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    return LH_OK;
}

static void put_u32le_raw(uint8_t *o, uint32_t v)
{
    o[0] = (uint8_t)v, o[1] = (uint8_t)(v >> 8), o[2] = (uint8_t)(v >> 16), o[3] = (uint8_t)(v >> 24);
}

/* ------------------------------------------------------------ encoding and codec choice */

static bool int_col(const struct pq_col *c)
{
    return c->phys == LH_PQ_INT32 || c->phys == LH_PQ_INT64;
}

/* The page's staged PLAIN values as DELTA_BINARY_PACKED, appended to *out. */
static void delta_page(const struct pq_col *c, struct lh_buf *out)
{
    const void *v = c->vals.data ? c->vals.data : (const void *)"";
    if (c->phys == LH_PQ_INT32)
        pq_delta_put_i32(out, v, c->vals.len / 4);
    else
        pq_delta_put_i64(out, v, c->vals.len / 8);
}

/* The page's values as flush_page writes them, in *part: dictionary
 * indices, booleans and deltas encoded into w->enc (cleared first), PLAIN
 * bytes straight from the staging. A page of NULLs only, before any value,
 * is PLAIN, so that an all-NULL chunk gets no (empty) dictionary page. */
static enum pq_encoding page_values(struct lh_parquet_writer *w, struct pq_col *c,
                                    struct pq_part *part)
{
    struct lh_buf *ev = &w->enc;
    lh_buf_clear(ev);
    if (c->use_dict && c->dict.n > 0) {
        int bw = pq_rle_bit_width(c->dict.n - 1);
        lh_buf_append_u8(ev, (uint8_t)bw);
        struct pq_rle e;
        pq_rle_init(&e, ev, bw);
        pq_rle_put_many(&e, (const uint32_t *)(const void *)c->vals.data, c->page_values);
        pq_rle_finish(&e);
        *part = (struct pq_part){ev->data, ev->len};
        return PQ_ENC_RLE_DICTIONARY;
    }
    if (c->vk == VK_BOOL) {
        size_t nb = (c->page_values + 7) / 8;
        if (nb > 0 && lh_buf_reserve(ev, nb)) {
            uint8_t *o = ev->data;
            memset(o, 0, nb);
            for (uint32_t i = 0; i < c->page_values; i++)
                o[i >> 3] |= (uint8_t)(c->vals.data[i] << (i & 7));
            ev->len = nb;
        }
        *part = (struct pq_part){ev->data, ev->len};
        return PQ_ENC_PLAIN;
    }
    if (c->delta && c->page_values > 0 && int_col(c) && !w->opt.fixed_encodings) {
        delta_page(c, ev);
        *part = (struct pq_part){ev->data, ev->len};
        return PQ_ENC_DELTA_BINARY_PACKED;
    }
    *part = (struct pq_part){c->vals.data, c->vals.len};
    return PQ_ENC_PLAIN;
}

/* Bytes the page body made of `parts` takes with the writer's codec at the
 * column's level (compressed into w->comp, which is given back after). */
static enum lh_status probe_size(struct lh_parquet_writer *w, const struct pq_col *c,
                                 const struct pq_part *parts, size_t np, size_t *out,
                                 struct lh_error *err)
{
    size_t ulen = 0;
    for (size_t i = 0; i < np; i++)
        ulen += parts[i].n;
    *out = ulen;
    if (w->opt.codec == LH_PQ_UNCOMPRESSED)
        return LH_OK;
    size_t bound = pq_compress_bound(w->opt.codec, ulen);
    lh_buf_clear(&w->comp);
    if (!lh_buf_reserve(&w->comp, bound + 1))
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for a page", c->name);
    return compress_page(w, c->level, parts, np, w->comp.data, w->comp.cap, out, err);
}

/* Whether the codec gains under PQ_CODEC_GAIN percent: clen of ulen. */
static bool gains_little(size_t ulen, size_t clen)
{
    return (uint64_t)clen * 100 > (uint64_t)ulen * (100 - PQ_CODEC_GAIN);
}

/* The first page of a chunk (levels in parts[0..np), values still
 * staged) fixes the chunk's codec; on the column's first chunk and every
 * PQ_PROBE_CHUNKS chunks after, it is also the probe that decides, for
 * the chunks to come, whether INT32/INT64 pages are DELTA_BINARY_PACKED
 * (when that is no larger than PLAIN + the codec) and whether the codec
 * pays on this column (saves at least PQ_CODEC_GAIN %). Only a page that
 * will not grow a dictionary afterwards may go uncompressed: a PLAIN-mode
 * page, or the chunk's last one while its dictionary is under 1/32 of it
 * (the dictionary page follows the chunk's codec). *probed: the page was
 * compressed here, after the compression queue was drained; *reuse: when
 * not 0, w->comp holds the page as flush_page will encode it, compressed
 * with the chunk's codec into that many bytes (no second compression). */
static enum lh_status choose_chunk(struct lh_parquet_writer *w, struct pq_col *c,
                                   struct pq_part *parts, size_t np, bool *probed, size_t *reuse,
                                   struct lh_error *err)
{
    enum lh_status s = LH_OK;
    size_t lv = 0;
    for (size_t i = 0; i < np; i++)
        lv += parts[i].n;
    *probed = false;
    *reuse = 0;
    c->codec = w->opt.codec;
    if (w->opt.fixed_encodings)
        return LH_OK;
    size_t vals = c->use_dict
                      ? ((size_t)c->page_values * (size_t)pq_rle_bit_width(c->dict.n) + 7) / 8
                      : c->vals.len;
    bool may_raw = !c->use_dict || (w->rg_final && (uint64_t)c->dict.plain.len * 32 <= lv + vals);
    bool ints = !c->use_dict && int_col(c) && c->page_values > 0;
    bool probe = c->probe_in == 0 && lv + vals >= PQ_PROBE_MIN && may_raw &&
                 (ints || w->opt.codec != LH_PQ_UNCOMPRESSED);
    if (!probe) {
        if (c->raw && may_raw)
            c->codec = LH_PQ_UNCOMPRESSED;
        return LH_OK;
    }
    if (w->async && (s = async_drain(w, err)) != LH_OK)
        return s;
    *probed = true;
    c->probe_in = PQ_PROBE_CHUNKS;
    size_t ulen, clen;
    if (ints) {
        /* PLAIN + codec against DELTA_BINARY_PACKED with and without it */
        size_t plen, dlen;
        parts[np] = (struct pq_part){c->vals.data, c->vals.len};
        if ((s = probe_size(w, c, parts, np + 1, &plen, err)) != LH_OK)
            return s;
        lh_buf_clear(&w->enc);
        delta_page(c, &w->enc);
        if (!lh_buf_ok(&w->enc))
            return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for a page", c->name);
        parts[np] = (struct pq_part){w->enc.data, w->enc.len};
        if ((s = probe_size(w, c, parts, np + 1, &dlen, err)) != LH_OK)
            return s;
        /* each encoding at its best: with the codec when that saves
         * PQ_CODEC_GAIN %, else as it is; the smaller wins (deltas on a tie) */
        size_t praw = lv + c->vals.len, draw = lv + w->enc.len;
        size_t pbest = gains_little(praw, plen) ? praw : plen;
        size_t dbest = gains_little(draw, dlen) ? draw : dlen;
        c->delta = dbest <= pbest;
        ulen = c->delta ? draw : praw;
        clen = c->delta ? dlen : plen;
    } else {
        /* the codec only: the body as flush_page encodes it */
        size_t np2 = np;
        (void)page_values(w, c, &parts[np2++]);
        if (!lh_buf_ok(&w->enc))
            return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for a page", c->name);
        if ((s = probe_size(w, c, parts, np2, &clen, err)) != LH_OK)
            return s;
        ulen = 0;
        for (size_t i = 0; i < np2; i++)
            ulen += parts[i].n;
    }
    lh_buf_clear(&w->enc);
    if (w->opt.codec != LH_PQ_UNCOMPRESSED)
        c->raw = gains_little(ulen, clen);
    if (c->raw)
        c->codec = LH_PQ_UNCOMPRESSED;
    /* the last body compressed is the page's unless PLAIN won over deltas */
    if (!c->raw && w->opt.codec != LH_PQ_UNCOMPRESSED && (!ints || c->delta))
        *reuse = clen;
    else
        lh_buf_reset(&w->comp); /* a probe now and then: not worth keeping a page for */
    return LH_OK;
}

/* Seals an uncompressed page (a chunk whose codec is UNCOMPRESSED while
 * the writer's is not): the body pieces are appended to *dst as they are,
 * the header goes to w->hdr. */
static enum lh_status seal_raw(struct lh_parquet_writer *w, enum pq_page_type type,
                               uint32_t num_values, enum pq_encoding enc,
                               const struct pq_part *parts, size_t np, struct lh_buf *dst,
                               size_t *ulen_out, struct lh_error *err)
{
    size_t ulen = 0, at = dst->len;
    for (size_t i = 0; i < np; i++)
        ulen += parts[i].n;
    if (ulen > INT32_MAX || !lh_buf_reserve(dst, ulen + 1))
        return lh_error_set(err, LH_E_NOMEM, "parquet writer: page of %zu bytes", ulen);
    for (size_t i = 0; i < np; i++)
        lh_buf_append(dst, parts[i].p, parts[i].n);
    if (!lh_buf_ok(dst) || !page_header(&w->hdr, type, num_values, enc, ulen, dst->data + at, ulen))
        return lh_error_set(err, LH_E_NOMEM, "parquet writer: page header");
    *ulen_out = ulen;
    return LH_OK;
}

/* The page choose_chunk compressed while probing (clen bytes in w->comp,
 * of a body of ulen bytes) goes to the chunk as it is; w->comp is given
 * back. */
static enum lh_status take_probe_page(struct lh_parquet_writer *w, struct pq_col *c,
                                      enum pq_encoding enc, size_t ulen, size_t clen,
                                      struct lh_error *err)
{
    size_t at = c->pages.len;
    lh_buf_append(&c->pages, w->comp.data, clen);
    bool ok = lh_buf_ok(&c->pages) && page_header(&w->hdr, PQ_PAGE_DATA, c->page_levels, enc, ulen,
                                                  c->pages.data + at, clen);
    lh_buf_reset(&w->comp);
    if (!ok)
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for the row group", c->name);
    return LH_OK;
}

/* A data page of a chunk written UNCOMPRESSED, straight into the chunk:
 * no job for the compression thread, one copy of the body. */
static enum lh_status store_raw_page(struct lh_parquet_writer *w, struct pq_col *c,
                                     enum pq_encoding enc, const struct pq_part *parts, size_t np,
                                     struct lh_error *err)
{
    size_t ulen = 0;
    enum lh_status s =
        seal_raw(w, PQ_PAGE_DATA, c->page_levels, enc, parts, np, &c->pages, &ulen, err);
    if (s != LH_OK)
        return s;
    uint32_t lens[2] = {(uint32_t)w->hdr.len, (uint32_t)ulen};
    lh_buf_append(&c->hdrs, w->hdr.data, w->hdr.len);
    lh_buf_append(&c->plens, lens, sizeof lens);
    if (!lh_buf_ok(&c->hdrs) || !lh_buf_ok(&c->plens))
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for the row group", c->name);
    c->unc_size += (int64_t)(w->hdr.len + ulen);
    c->comp_size += (int64_t)(w->hdr.len + ulen);
    c->npages++;
    col_page_reset(c);
    buf_trim(&c->vals, 4 * (size_t)w->page_bytes);
    return LH_OK;
}

static enum lh_status flush_page(struct lh_parquet_writer *w, struct pq_col *c,
                                 struct lh_error *err)
{
    if (c->page_levels == 0)
        return LH_OK;
    struct pq_part parts[6];
    size_t np = 0;
    uint8_t rep_len[4], def_len[4];
    if (c->max_rep > 0) {
        pq_rle_finish(&c->rep_enc);
        put_u32le_raw(rep_len, (uint32_t)c->replev.len);
        parts[np++] = (struct pq_part){rep_len, 4};
        parts[np++] = (struct pq_part){c->replev.data, c->replev.len};
    }
    if (c->max_def > 0) {
        pq_rle_finish(&c->def_enc);
        put_u32le_raw(def_len, (uint32_t)c->deflev.len);
        parts[np++] = (struct pq_part){def_len, 4};
        parts[np++] = (struct pq_part){c->deflev.data, c->deflev.len};
    }
    bool probed = false;
    size_t reuse = 0;
    if (c->npages == 0) {
        enum lh_status s = choose_chunk(w, c, parts, np, &probed, &reuse, err);
        if (s != LH_OK)
            return s;
    }
    /* values: PLAIN bytes go to the compressor straight from the staging;
     * dictionary indices, booleans and deltas are encoded into w->enc first */
    struct lh_buf *ev = &w->enc;
    enum pq_encoding enc = page_values(w, c, &parts[np++]);
    if (enc == PQ_ENC_RLE_DICTIONARY)
        c->used_dict = true;
    else if (enc == PQ_ENC_DELTA_BINARY_PACKED)
        c->used_delta = true;
    else
        c->used_plain = true;
    if (!lh_buf_ok(ev) || !lh_buf_ok(&c->vals) || !lh_buf_ok(&c->deflev) ||
        !lh_buf_ok(&c->replev))
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for a page", c->name);
    size_t body_len = 0;
    for (size_t i = 0; i < np; i++)
        body_len += parts[i].n;
    if (c->codec != w->opt.codec) { /* an UNCOMPRESSED chunk (choose_chunk) */
        enum lh_status s = store_raw_page(w, c, enc, parts, np, err);
        if (s == LH_OK)
            buf_trim(ev, 4 * (size_t)w->page_bytes);
        return s;
    }
    /* the page that decides the column's level, or its encoding and codec,
     * is compressed here, after the queue is drained, so that the file is
     * the same with or without the thread */
    bool decides =
        (!c->level_set && w->opt.codec == LH_PQ_ZSTD && body_len >= PQ_LEVEL_PROBE) || probed;
    if (w->async && decides) {
        enum lh_status s = async_drain(w, err);
        if (s != LH_OK)
            return s;
    }
    if (w->async && !decides) {
        struct lh_buf *take = parts[np - 1].p == c->vals.data ? &c->vals
                              : parts[np - 1].p == ev->data   ? ev
                                                              : NULL;
        enum lh_status s = async_submit(w, c, c->page_levels, enc, parts, np, take, err);
        if (s != LH_OK)
            return s;
        c->npages++;
        col_page_reset(c);
        size_t keep = 4 * (size_t)w->page_bytes;
        buf_trim(&c->vals, keep);
        buf_trim(ev, keep);
        return LH_OK;
    }
    size_t ulen = 0, clen = 0;
    enum lh_status s;
    if (reuse > 0) {
        s = take_probe_page(w, c, enc, body_len, reuse, err);
        ulen = body_len;
        clen = reuse;
    } else {
        s = seal_page(w, c->level, PQ_PAGE_DATA, c->page_levels, enc, parts, np, &c->pages, &ulen,
                      &clen, err);
    }
    if (s != LH_OK)
        return s;
    uint32_t lens[2] = {(uint32_t)w->hdr.len, (uint32_t)clen};
    lh_buf_append(&c->hdrs, w->hdr.data, w->hdr.len);
    lh_buf_append(&c->plens, lens, sizeof lens);
    if (!lh_buf_ok(&c->hdrs) || !lh_buf_ok(&c->plens))
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory for the row group", c->name);
    pick_level(w, c, parts, np, ulen, clen);
    c->unc_size += (int64_t)(w->hdr.len + ulen);
    c->comp_size += (int64_t)(w->hdr.len + clen);
    c->npages++;
    col_page_reset(c);
    size_t keep = 4 * (size_t)w->page_bytes;
    buf_trim(&c->vals, keep);
    buf_trim(ev, keep);
    buf_trim(&w->body, keep);
    return LH_OK;
}

/* Leaves dictionary mode for the rest of the chunk. Staged indices that
 * no page holds yet are turned back into PLAIN values when no dictionary
 * page will be written (nothing flushed yet); otherwise the page is
 * flushed as RLE_DICTIONARY first. */
static enum lh_status drop_dict(struct lh_parquet_writer *w, struct pq_col *c, struct lh_error *err)
{
    if (c->npages > 0 || c->used_dict) {
        enum lh_status s = flush_page(w, c, err);
        if (s != LH_OK)
            return s;
        c->use_dict = false;
        return LH_OK;
    }
    struct lh_buf *tmp = &w->body;
    lh_buf_clear(tmp);
    const uint32_t *idx = (const uint32_t *)(const void *)c->vals.data;
    for (uint32_t i = 0; i < c->page_values; i++) {
        uint32_t len;
        const uint8_t *v = pq_dict_entry(&c->dict, idx[i], &len);
        if (c->dict.width == 0)
            lh_buf_append(tmp, v - 4, (size_t)len + 4);
        else
            lh_buf_append(tmp, v, len);
    }
    if (!lh_buf_ok(tmp))
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory", c->name);
    struct lh_buf sw = c->vals;
    c->vals = *tmp;
    *tmp = sw;
    c->use_dict = false;
    /* no dictionary page will be written: give its memory back */
    int dw = c->dict.width;
    pq_dict_free(&c->dict);
    pq_dict_init(&c->dict, dw);
    return LH_OK;
}

/* Memory a column's dictionary holds: its values, hash slots and offsets. */
static uint64_t dict_mem(const struct pq_dict *d)
{
    return d->plain.len + (d->slots ? ((uint64_t)d->mask + 1) * sizeof *d->slots : 0) +
           (uint64_t)d->offs_cap * sizeof *d->offs;
}

/* ------------------------------------------------------------ values */

/* Feeds n PLAIN values of `width` bytes each to the chunk's distinct sketch. */
static void sketch_fixed(struct pq_col *c, const uint8_t *p, int64_t n, size_t width)
{
    pq_distinct_add_fixed(&c->ds, p, n, width);
    c->ds_values += (uint64_t)n;
    c->ds_bytes += (uint64_t)n * width;
}

/* The sketch only tells whether the next chunk keeps its dictionary
 * (next_keeps_dict); once it has counted more distinct values than a
 * dictionary may hold, the answer is no whatever comes, so it stops: the
 * unique ids, amounts, emails and timestamps of a table are not hashed
 * past their first ~dict_max_bytes of values per chunk (~3 % of the
 * ingest's instructions on bench/ingest's table). */
static void sketch_check(const struct lh_parquet_writer *w, struct pq_col *c)
{
    if (c->ds_values < 4 * PQ_DICT_PROBE)
        return;
    uint64_t entry = c->ds_bytes / c->ds_values + 1;
    if (pq_distinct_estimate(&c->ds) * entry > w->dict_bytes)
        c->ds_on = false;
}

/* Next run of valid slots in [i, to): *s..*e. false when none is left. */
static inline bool next_valid_run(const uint8_t *bits, int64_t i, int64_t to, int64_t *s,
                                  int64_t *e)
{
    if (!bits) {
        if (i >= to)
            return false;
        *s = i, *e = to;
        return true;
    }
    while (i < to && !lh_bit_get(bits, i)) {
        if ((i & 7) == 0 && i + 8 <= to && bits[i >> 3] == 0)
            i += 8;
        else
            i++;
    }
    if (i >= to)
        return false;
    *s = i;
    while (i < to && lh_bit_get(bits, i)) {
        if ((i & 7) == 0 && i + 8 <= to && bits[i >> 3] == 0xFF)
            i += 8;
        else
            i++;
    }
    *e = i;
    return true;
}

static inline void stat_value(struct pq_stats *st, enum pq_stat_kind sk, const uint8_t *p,
                              uint32_t len)
{
    if (sk == PQ_SK_BOOL) {
        pq_stats_int(st, p[0] != 0);
    } else if (sk == PQ_SK_BYTES) {
        pq_stats_bytes(st, p, len);
    } else if (sk == PQ_SK_I128) {
        /* p is big-endian two's complement of len bytes */
        lh_i128 v = (p[0] & 0x80) ? -1 : 0;
        for (uint32_t k = 0; k < len; k++)
            v = (lh_i128)(((unsigned __int128)v << 8) | p[k]);
        pq_stats_i128(st, v);
    } else { /* a 4- or 8-byte number, as it is in memory */
        bool w4 = sk == PQ_SK_I32 || sk == PQ_SK_U32 || sk == PQ_SK_F32;
        union {
            int32_t i32;
            uint32_t u32;
            int64_t i64;
            uint64_t u64;
            float f32;
            double f64;
        } v;
        memcpy(&v, p, w4 ? 4 : 8);
        if (sk == PQ_SK_I32 || sk == PQ_SK_I64)
            pq_stats_int(st, w4 ? v.i32 : v.i64);
        else if (sk == PQ_SK_U32 || sk == PQ_SK_U64)
            pq_stats_uint(st, w4 ? v.u32 : v.u64);
        else
            pq_stats_f64(st, w4 ? v.f32 : v.f64);
    }
}

/* Typed min/max over a run of n > 0 fixed-width PLAIN values: one tight
 * loop per type (they vectorize), generated here. */
#define PQ_MINMAX(name, T)                                                     \
    static void name(const uint8_t *p, int64_t n, T *lo, T *hi)               \
    {                                                                          \
        const T *v = (const T *)(const void *)p;                               \
        T l = v[0], h = v[0];                                                  \
        for (int64_t i = 1; i < n; i++) {                                      \
            l = v[i] < l ? v[i] : l;                                           \
            h = v[i] > h ? v[i] : h;                                           \
        }                                                                      \
        *lo = l, *hi = h;                                                      \
    }
PQ_MINMAX(minmax_i32, int32_t)
PQ_MINMAX(minmax_u32, uint32_t)
PQ_MINMAX(minmax_i64, int64_t)
PQ_MINMAX(minmax_u64, uint64_t)
#undef PQ_MINMAX

/* min/max of a run of n values of `width` bytes (4 or 8) into st. */
static void stats_run(struct pq_stats *st, const uint8_t *p, int64_t n, int width)
{
    if (n <= 0)
        return;
    /* a tight loop for the integer kinds; lo and hi then go in as values */
    union {
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
    } lo, hi;
    if (st->kind == PQ_SK_I32 && width == 4)
        minmax_i32(p, n, &lo.i32, &hi.i32);
    else if (st->kind == PQ_SK_U32 && width == 4)
        minmax_u32(p, n, &lo.u32, &hi.u32);
    else if (st->kind == PQ_SK_I64 && width == 8)
        minmax_i64(p, n, &lo.i64, &hi.i64);
    else if (st->kind == PQ_SK_U64 && width == 8)
        minmax_u64(p, n, &lo.u64, &hi.u64);
    else {
        for (int64_t i = 0; i < n; i++)
            stat_value(st, st->kind, p + (size_t)width * (size_t)i, (uint32_t)width);
        return;
    }
    stat_value(st, st->kind, (const uint8_t *)&lo, (uint32_t)width);
    stat_value(st, st->kind, (const uint8_t *)&hi, (uint32_t)width);
}

/* Encodes the valid values of a over [from, to) into the page staging. */
static bool put_values(struct pq_col *c, const struct lh_array *a, int64_t from, int64_t to)
{
    int64_t s, e, i = from;
    struct lh_buf *vb = &c->vals;
    while (next_valid_run(a->validity, i, to, &s, &e)) {
        int64_t n = e - s;
        i = e;
        c->page_values += (uint32_t)n;
        c->chunk_values += n;
        if (c->vk == VK_BOOL) {
            const uint8_t *v = (const uint8_t *)a->values + s;
            if (!lh_buf_reserve(vb, (size_t)n))
                return false;
            uint8_t *o = vb->data + vb->len;
            int has0 = 0, has1 = 0;
            for (int64_t k = 0; k < n; k++) {
                o[k] = v[k] != 0;
                has1 |= o[k];
                has0 |= !o[k];
            }
            vb->len += (size_t)n;
            if (has0)
                pq_stats_int(&c->st, 0);
            if (has1)
                pq_stats_int(&c->st, 1);
            continue;
        }
        if (!c->use_dict) {
            /* PLAIN */
            switch (c->vk) {
            case VK_4:
            case VK_8: {
                const uint8_t *p = (const uint8_t *)a->values + (size_t)s * (size_t)c->in_width;
                size_t nb = (size_t)n * (size_t)c->in_width;
                lh_buf_append(vb, p, nb);
                if (c->vk == VK_4)
                    stats_run(&c->st, p, n, 4);
                else
                    stats_run(&c->st, p, n, 8);
                if (c->ds_on)
                    sketch_fixed(c, p, n, (size_t)c->in_width);
                break;
            }
            case VK_FIXED: {
                const uint8_t *p = (const uint8_t *)a->values + (size_t)s * (size_t)c->in_width;
                lh_buf_append(vb, p, (size_t)n * (size_t)c->in_width);
                for (int64_t k = 0; k < n; k++)
                    pq_stats_bytes(&c->st, p + k * c->in_width, (size_t)c->in_width);
                if (c->ds_on)
                    sketch_fixed(c, p, n, (size_t)c->in_width);
                break;
            }
            case VK_DEC128: {
                if (!lh_buf_reserve(vb, (size_t)n * (size_t)c->type_len))
                    return false;
                const uint8_t *p = (const uint8_t *)a->values + (size_t)s * 16;
                const uint8_t *be = vb->data + vb->len;
                for (int64_t k = 0; k < n; k++) {
                    lh_i128 v;
                    memcpy(&v, p + 16 * k, 16);
                    pq_stats_i128_be(v, c->type_len, vb->data + vb->len);
                    vb->len += (size_t)c->type_len;
                    pq_stats_i128(&c->st, v);
                }
                if (c->ds_on)
                    sketch_fixed(c, be, n, (size_t)c->type_len);
                break;
            }
            case VK_BYTES: {
                const int32_t *off = a->offsets;
                size_t total = (size_t)(off[e] - off[s]) + 4 * (size_t)n;
                if (!lh_buf_reserve(vb, total))
                    return false;
                uint8_t *o = vb->data + vb->len;
                for (int64_t k = s; k < e; k++) {
                    uint32_t len = (uint32_t)(off[k + 1] - off[k]);
                    const uint8_t *p = a->data + off[k];
                    memcpy(o, &len, 4);
                    memcpy(o + 4, p, len);
                    o += 4 + len;
                    pq_stats_bytes(&c->st, p, len);
                }
                if (c->ds_on) {
                    pq_distinct_add_bytes(&c->ds, off + s, a->data, n);
                    c->ds_values += (uint64_t)n;
                    c->ds_bytes += total;
                }
                vb->len += total;
                break;
            }
            case VK_BOOL:
                break;
            }
            if (!lh_buf_ok(vb))
                return false;
            continue;
        }
        /* dictionary: only new entries feed the statistics, since every
         * value of the chunk is one of them */
        if (!lh_buf_reserve(vb, (size_t)n * 4))
            return false;
        uint32_t *o = (uint32_t *)(void *)(vb->data + vb->len);
        struct pq_dict *d = &c->dict;
        bool added;
        switch (c->vk) {
        case VK_4:
        case VK_8:
        case VK_FIXED: {
            const uint8_t *p = (const uint8_t *)a->values + (size_t)s * (size_t)c->in_width;
            uint32_t first = d->n, len;
            if (!pq_dict_put_fixed(d, p, n, o))
                return false;
            for (uint32_t k = first; k < d->n; k++) {
                const uint8_t *ev = pq_dict_entry(d, k, &len);
                stat_value(&c->st, c->sk, ev, len);
            }
            break;
        }
        case VK_DEC128: {
            const uint8_t *p = (const uint8_t *)a->values + (size_t)s * 16;
            uint8_t be[16];
            for (int64_t k = 0; k < n; k++) {
                lh_i128 v;
                memcpy(&v, p + 16 * k, 16);
                pq_stats_i128_be(v, c->type_len, be);
                if (!pq_dict_put(d, be, (uint32_t)c->type_len, &o[k], &added))
                    return false;
                if (added)
                    pq_stats_i128(&c->st, v);
            }
            break;
        }
        case VK_BYTES: {
            uint32_t first = d->n, len;
            if (!pq_dict_put_bytes(d, a->offsets + s, a->data, n, o))
                return false;
            for (uint32_t k = first; k < d->n; k++) {
                const uint8_t *ev = pq_dict_entry(d, k, &len);
                pq_stats_bytes(&c->st, ev, len);
            }
            break;
        }
        case VK_BOOL:
            break;
        }
        vb->len += (size_t)n * 4;
    }
    return true;
}

/* Definition levels of a flat nullable column from its validity bitmap:
 * with max_def 1 the levels are the bits themselves (pq_rle_put_bits). */
static void put_def_flat(struct pq_col *c, const uint8_t *bits, int64_t from, int64_t to)
{
    if (!bits) {
        pq_rle_put_run(&c->def_enc, 1, (uint64_t)(to - from));
        return;
    }
    pq_rle_put_bits(&c->def_enc, bits, from, to - from);
}

/* Rows [from, to) of a list column: levels per element, values by runs of
 * contiguous element ranges. */
static bool put_list_rows(struct pq_col *c, const struct lh_array *a, int64_t from, int64_t to)
{
    const int32_t *lo = a->list_offsets;
    const struct lh_array *ch = a->child;
    uint32_t d_list = c->f.nullable ? 1 : 0; /* def of an empty list */
    uint32_t d_null = d_list + 1;            /* a NULL element */
    uint32_t d_val = (uint32_t)c->max_def;   /* a present element */
    int64_t run_s = -1, run_e = -1;
    uint32_t levels = 0;
    for (int64_t r = from; r < to; r++) {
        if (!lh_bit_get(a->validity, r)) {
            pq_rle_put(&c->rep_enc, 0);
            pq_rle_put(&c->def_enc, 0);
            levels++;
            continue;
        }
        int64_t s = lo[r], e = lo[r + 1];
        if (s == e) {
            pq_rle_put(&c->rep_enc, 0);
            pq_rle_put(&c->def_enc, d_list);
            levels++;
            continue;
        }
        pq_rle_put(&c->rep_enc, 0);
        pq_rle_put_run(&c->rep_enc, 1, (uint64_t)(e - s - 1));
        if (!ch->validity) {
            pq_rle_put_run(&c->def_enc, d_val, (uint64_t)(e - s));
        } else {
            for (int64_t k = s; k < e; k++)
                pq_rle_put(&c->def_enc, lh_bit_get(ch->validity, k) ? d_val : d_null);
        }
        levels += (uint32_t)(e - s);
        if (s != run_e) {
            if (run_s >= 0 && !put_values(c, ch, run_s, run_e))
                return false;
            run_s = s;
        }
        run_e = e;
    }
    if (run_s >= 0 && !put_values(c, ch, run_s, run_e))
        return false;
    c->page_levels += levels;
    c->chunk_levels += levels;
    return true;
}

/* Decides once per chunk, on a sample, whether the dictionary pays: when
 * (nearly) every value is new the dictionary page plus the indices cost
 * more than PLAIN, and hashing costs time for nothing. */
static enum lh_status judge_dict(struct lh_parquet_writer *w, struct pq_col *c, bool force,
                                 struct lh_error *err)
{
    if (!c->use_dict || c->dict_judged || (!force && c->chunk_values < PQ_DICT_PROBE))
        return LH_OK;
    c->dict_judged = true;
    if (c->chunk_values < 1024 || c->dict.n == 0)
        return LH_OK;
    uint64_t nv = (uint64_t)c->chunk_values;
    uint64_t dict_cost = c->dict.plain.len + nv * (uint64_t)pq_rle_bit_width(c->dict.n) / 8;
    uint64_t plain_cost = nv * (c->dict.plain.len / c->dict.n);
    if (dict_cost * 10 >= plain_cost * 9) {
        c->ds_on = true;
        return drop_dict(w, c, err);
    }
    return LH_OK;
}

/* Rows [from, to) of one column into the page staging. */
static enum lh_status put_rows(struct lh_parquet_writer *w, struct pq_col *c,
                                const struct lh_array *a, int64_t from, int64_t to,
                                struct lh_error *err)
{
    bool ok;
    if (c->f.is_list) {
        ok = put_list_rows(c, a, from, to);
    } else {
        if (c->max_def > 0)
            put_def_flat(c, a->validity, from, to);
        c->page_levels += (uint32_t)(to - from);
        c->chunk_levels += to - from;
        ok = put_values(c, a, from, to);
    }
    if (!ok || !lh_buf_ok(&c->vals) || !lh_buf_ok(&c->deflev) || !lh_buf_ok(&c->replev))
        return lh_error_set(err, LH_E_NOMEM, "column %s: out of memory", c->name);
    if (c->ds_on)
        sketch_check(w, c);
    enum lh_status s = judge_dict(w, c, false, err);
    if (s != LH_OK)
        return s;
    if (c->use_dict && (c->dict.plain.len > w->dict_bytes || dict_mem(&c->dict) > w->col_mem)) {
        if ((s = drop_dict(w, c, err)) != LH_OK)
            return s;
    }
    if (page_estimate(c) >= w->page_bytes || c->page_levels >= PQ_PAGE_MAX_LEVELS) {
        if ((s = judge_dict(w, c, true, err)) != LH_OK)
            return s;
        return flush_page(w, c, err);
    }
    return LH_OK;
}

/* PLAIN bytes that rows [from, to) of column c add to a page (an upper
 * bound: NULL slots of fixed-width columns count too). O(1). */
static uint64_t rows_bytes(const struct pq_col *c, const struct lh_array *a, int64_t from,
                           int64_t to)
{
    const struct lh_array *v = a;
    int64_t lo = from, hi = to;
    if (c->f.is_list) {
        v = a->child;
        lo = a->list_offsets[from], hi = a->list_offsets[to];
        if (hi <= lo)
            return (uint64_t)(to - from);
    }
    if (c->vk == VK_BYTES)
        return (uint64_t)(v->offsets[hi] - v->offsets[lo]) + 4 * (uint64_t)(hi - lo);
    return (uint64_t)(hi - lo) * (uint64_t)(c->vk == VK_BOOL ? 1 : c->in_width);
}

/* The largest end in (from, to] whose rows fit in room bytes; at least
 * from + 1 (a row larger than a page is a page of its own). */
static int64_t rows_fit(const struct pq_col *c, const struct lh_array *a, int64_t from, int64_t to,
                        uint64_t room)
{
    if (rows_bytes(c, a, from, to) <= room)
        return to;
    int64_t lo = from + 1, hi = to; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (rows_bytes(c, a, from, mid) <= room)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* One slice of rows [from, to) of one column, cut into pieces that keep
 * the page staging within the page target: a page never holds much more
 * than page_bytes however large the rows are. */
static enum lh_status put_slice(struct lh_parquet_writer *w, struct pq_col *c,
                                const struct lh_array *a, int64_t from, int64_t to,
                                struct lh_error *err)
{
    while (from < to) {
        uint64_t est = page_estimate(c);
        uint64_t room = est < w->page_bytes ? w->page_bytes - est : 0;
        if (c->use_dict) {
            /* the page holds indices: cut by what the new values could add
             * to the dictionary instead (put_rows drops it past its cap) */
            uint64_t dl = c->dict.plain.len;
            room = dl < w->dict_bytes ? w->dict_bytes - dl : 1;
        }
        int64_t end = rows_fit(c, a, from, to, room);
        if (!c->use_dict && end == from + 1 && c->page_levels > 0 &&
            rows_bytes(c, a, from, end) > room) {
            /* this row does not fit in what is left: start a new page */
            enum lh_status s = judge_dict(w, c, true, err);
            if (s == LH_OK)
                s = flush_page(w, c, err);
            if (s != LH_OK)
                return s;
            continue;
        }
        enum lh_status s = put_rows(w, c, a, from, end, err);
        if (s != LH_OK)
            return s;
        from = end;
    }
    return LH_OK;
}

/* ------------------------------------------------------------ row groups */

static void encode_chunk_meta(struct lh_parquet_writer *w, struct pq_tw *t, struct pq_col *c,
                              int64_t chunk_off, int64_t dict_off, int64_t data_off)
{
    pq_tw_elem_struct_begin(t); /* ColumnChunk */
    pq_tw_i64(t, 2, chunk_off);
    pq_tw_struct_begin(t, 3); /* ColumnMetaData */
    pq_tw_i32(t, 1, c->phys);
    int32_t encs[4];
    uint32_t ne = 0;
    if (c->used_plain || c->used_dict)
        encs[ne++] = PQ_ENC_PLAIN; /* PLAIN pages, or the dictionary page */
    if (c->max_def > 0 || c->max_rep > 0)
        encs[ne++] = PQ_ENC_RLE;
    if (c->used_dict)
        encs[ne++] = PQ_ENC_RLE_DICTIONARY;
    if (c->used_delta)
        encs[ne++] = PQ_ENC_DELTA_BINARY_PACKED;
    pq_tw_list_begin(t, 2, PQ_TC_I32, ne);
    for (uint32_t i = 0; i < ne; i++)
        pq_tw_elem_i32(t, encs[i]);
    if (c->f.is_list) {
        pq_tw_list_begin(t, 3, PQ_TC_BINARY, 3);
        pq_tw_elem_bin(t, c->name, strlen(c->name));
        pq_tw_elem_bin(t, "list", 4);
        pq_tw_elem_bin(t, "element", 7);
    } else {
        pq_tw_list_begin(t, 3, PQ_TC_BINARY, 1);
        pq_tw_elem_bin(t, c->name, strlen(c->name));
    }
    pq_tw_i32(t, 4, c->codec);
    pq_tw_i64(t, 5, c->chunk_levels);
    pq_tw_i64(t, 6, c->unc_size);
    pq_tw_i64(t, 7, c->comp_size);
    pq_tw_i64(t, 9, data_off);
    if (dict_off >= 0)
        pq_tw_i64(t, 11, dict_off);
    pq_tw_struct_begin(t, 12); /* Statistics */
    pq_tw_i64(t, 3, c->chunk_levels - c->chunk_values);
    if (pq_stats_encode(&c->st, c->type_len, &w->smin, &w->smax)) {
        pq_tw_bin(t, 5, w->smax.data, w->smax.len);
        pq_tw_bin(t, 6, w->smin.data, w->smin.len);
    }
    pq_tw_struct_end(t);
    pq_tw_struct_end(t); /* ColumnMetaData */
    pq_tw_struct_end(t); /* ColumnChunk */
}

static enum lh_status flush_row_group(struct lh_parquet_writer *w, struct lh_error *err)
{
    enum lh_status s;
    if (w->rg_rows == 0)
        return LH_OK;
    w->rg_final = true;
    for (size_t i = 0; i < w->ncols; i++) {
        if ((s = judge_dict(w, &w->cols[i], true, err)) != LH_OK ||
            (s = flush_page(w, &w->cols[i], err)) != LH_OK) {
            w->rg_final = false;
            return fail(w, err, s);
        }
    }
    w->rg_final = false;
    if ((s = async_drain(w, err)) != LH_OK)
        return fail(w, err, s);
    w->row_bytes = buffered(w) / (uint64_t)w->rg_rows + 1;
    int64_t rg_off = (int64_t)w->offset, total_unc = 0, total_comp = 0;
    struct pq_tw t;
    pq_tw_init(&t, &w->rgmeta);
    pq_tw_elem_struct_begin(&t); /* RowGroup */
    pq_tw_list_begin(&t, 1, PQ_TC_STRUCT, (uint32_t)w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        struct pq_col *c = &w->cols[i];
        int64_t chunk_off = (int64_t)w->offset, dict_off = -1;
        if (c->used_dict) {
            struct pq_part dp = {c->dict.plain.data, c->dict.plain.len};
            size_t ulen = 0, clen = 0;
            lh_buf_clear(&w->comp);
            if (c->codec != w->opt.codec) {
                s = seal_raw(w, PQ_PAGE_DICTIONARY, c->dict.n, PQ_ENC_PLAIN, &dp, 1, &w->comp,
                             &ulen, err);
                clen = ulen;
            } else {
                s = seal_page(w, c->level, PQ_PAGE_DICTIONARY, c->dict.n, PQ_ENC_PLAIN, &dp, 1,
                              &w->comp, &ulen, &clen, err);
            }
            if (s != LH_OK)
                return fail(w, err, s);
            dict_off = chunk_off;
            if ((s = emit(w, w->hdr.data, w->hdr.len, err)) != LH_OK ||
                (s = emit(w, w->comp.data, w->comp.len, err)) != LH_OK)
                return s;
            c->unc_size += (int64_t)(w->hdr.len + ulen);
            c->comp_size += (int64_t)(w->hdr.len + clen);
        }
        int64_t data_off = (int64_t)w->offset;
        /* pages and their headers are kept apart (a page is compressed
         * straight into c->pages); here they are interleaved again */
        const uint8_t *hp = c->hdrs.data, *dp = c->pages.data;
        for (int k = 0; k < c->npages; k++) {
            uint32_t lens[2];
            memcpy(lens, c->plens.data + 8 * (size_t)k, sizeof lens);
            if ((s = emit(w, hp, lens[0], err)) != LH_OK || (s = emit(w, dp, lens[1], err)) != LH_OK)
                return s;
            hp += lens[0];
            dp += lens[1];
        }
        encode_chunk_meta(w, &t, c, chunk_off, dict_off, data_off);
        total_unc += c->unc_size;
        total_comp += c->comp_size;
        col_chunk_reset(w, c);
        buf_trim(&c->pages, w->opt.row_group_bytes / w->ncols + 4 * (size_t)w->page_bytes);
    }
    buf_trim(&w->comp, 4 * (size_t)w->page_bytes);
    pq_tw_i64(&t, 2, total_unc);
    pq_tw_i64(&t, 3, w->rg_rows);
    pq_tw_i64(&t, 5, rg_off);
    pq_tw_i64(&t, 6, total_comp);
    pq_tw_i16(&t, 7, (int16_t)w->nrg);
    pq_tw_struct_end(&t);
    if (!lh_buf_ok(&w->rgmeta))
        return fail(w, err, lh_error_set(err, LH_E_NOMEM, "parquet writer: footer too big"));
    w->nrg++;
    w->rg_rows = 0;
    return LH_OK;
}

enum lh_status lh_parquet_writer_add_batch(struct lh_parquet_writer *w, const struct lh_batch *b,
                                           struct lh_error *err)
{
    enum lh_status s = check_usable(w, err);
    if (s != LH_OK)
        return s;
    if ((s = validate(w, b, err)) != LH_OK)
        return s;
    int64_t row = 0;
    while (row < b->num_rows) {
        if (w->nrg >= INT16_MAX)
            return fail(w, err,
                        lh_error_set(err, LH_E_TOOBIG, "parquet writer: too many row groups"));
        int64_t n = b->num_rows - row;
        if (n > PQ_SLICE)
            n = PQ_SLICE;
        if (n > w->opt.row_group_rows - w->rg_rows)
            n = w->opt.row_group_rows - w->rg_rows;
        /* keep the row group near row_group_bytes: size the slice from the
         * bytes per row seen so far (this group, else the last one); with
         * no estimate at all, probe with a few rows */
        uint64_t buf = buffered(w);
        uint64_t per_row =
            w->rg_rows > 0 && buf > 0 ? buf / (uint64_t)w->rg_rows + 1 : w->row_bytes;
        if (per_row > 0) {
            uint64_t room = buf < w->opt.row_group_bytes ? w->opt.row_group_bytes - buf : 0;
            int64_t fit = (int64_t)(room / per_row) + 1;
            if (n > fit)
                n = fit;
        } else if (n > 64) {
            n = 64;
        }
        for (size_t ci = 0; ci < w->ncols; ci++) {
            if ((s = put_slice(w, &w->cols[ci], &b->cols[ci], row, row + n, err)) != LH_OK)
                return fail(w, err, s);
        }
        row += n;
        w->rows += n;
        w->rg_rows += n;
        if (w->rg_rows >= w->opt.row_group_rows || buffered(w) >= w->opt.row_group_bytes) {
            if ((s = flush_row_group(w, err)) != LH_OK)
                return s;
        }
    }
    return LH_OK;
}

enum lh_status lh_parquet_writer_flush(struct lh_parquet_writer *w, struct lh_error *err)
{
    enum lh_status s = check_usable(w, err);
    if (s != LH_OK)
        return s;
    return flush_row_group(w, err);
}

/* ------------------------------------------------------------ footer */

static void encode_leaf(struct pq_tw *t, const struct pq_col *c, const char *name,
                        enum pq_repetition rep, int32_t field_id)
{
    const struct lh_field *f = &c->f;
    pq_tw_elem_struct_begin(t);
    pq_tw_i32(t, 1, c->phys);
    if (c->phys == LH_PQ_FIXED_LEN_BYTE_ARRAY)
        pq_tw_i32(t, 2, c->type_len);
    pq_tw_i32(t, 3, rep);
    pq_tw_str(t, 4, name);
    const struct col_layout *l = c->layout;
    /* The spec maps TIMESTAMP_MICROS/TIME_MICROS to isAdjustedToUTC=true
     * only; a local timestamp gets the logical type alone. */
    bool local_time = (f->type == LH_T_TIMESTAMP || f->type == LH_T_TIME) && !f->ts_utc;
    if (l->conv >= 0 && !local_time)
        pq_tw_i32(t, 6, l->conv);
    if (f->type == LH_T_DECIMAL) {
        pq_tw_i32(t, 7, f->scale);
        pq_tw_i32(t, 8, f->precision);
    }
    if (field_id > 0)
        pq_tw_i32(t, 9, field_id);
    if (l->lt) { /* ENUM-as-STRING: readers see text */
        pq_tw_struct_begin(t, 10);
        pq_tw_struct_begin(t, (int16_t)l->lt);
        if (l->lt == PQ_LT_DECIMAL) {
            pq_tw_i32(t, 1, f->scale);
            pq_tw_i32(t, 2, f->precision);
        } else if (l->lt == PQ_LT_TIME || l->lt == PQ_LT_TIMESTAMP) {
            pq_tw_bool(t, 1, f->ts_utc);
            pq_tw_struct_begin(t, 2); /* TimeUnit */
            pq_tw_empty(t, 2);        /* MICROS */
            pq_tw_struct_end(t);
        } else if (l->lt == PQ_LT_INTEGER) { /* UINT_8..64, then INT_8..64 */
            bool is_signed = l->conv >= PQ_CT_INT_8;
            pq_tw_i8(t, 1, (int8_t)(8 << (l->conv - (is_signed ? PQ_CT_INT_8 : PQ_CT_UINT_8))));
            pq_tw_bool(t, 2, is_signed);
        }
        pq_tw_struct_end(t);
        pq_tw_struct_end(t);
    }
    pq_tw_struct_end(t);
}

static void encode_footer(struct lh_parquet_writer *w, struct lh_buf *out)
{
    struct pq_tw t;
    pq_tw_init(&t, out);
    pq_tw_root_begin(&t);
    pq_tw_i32(&t, 1, 1);
    uint32_t nschema = 1;
    for (size_t i = 0; i < w->ncols; i++)
        nschema += w->cols[i].f.is_list ? 3 : 1;
    pq_tw_list_begin(&t, 2, PQ_TC_STRUCT, nschema);
    pq_tw_elem_struct_begin(&t);
    pq_tw_str(&t, 4, "schema");
    pq_tw_i32(&t, 5, (int32_t)w->ncols);
    pq_tw_struct_end(&t);
    for (size_t i = 0; i < w->ncols; i++) {
        const struct pq_col *c = &w->cols[i];
        enum pq_repetition rep = c->f.nullable ? PQ_OPTIONAL : PQ_REQUIRED;
        if (!c->f.is_list) {
            encode_leaf(&t, c, c->name, rep, c->field_id);
            continue;
        }
        pq_tw_elem_struct_begin(&t);
        pq_tw_i32(&t, 3, rep);
        pq_tw_str(&t, 4, c->name);
        pq_tw_i32(&t, 5, 1);
        pq_tw_i32(&t, 6, PQ_CT_LIST);
        if (c->field_id > 0)
            pq_tw_i32(&t, 9, c->field_id);
        pq_tw_struct_begin(&t, 10), pq_tw_empty(&t, PQ_LT_LIST), pq_tw_struct_end(&t);
        pq_tw_struct_end(&t);
        pq_tw_elem_struct_begin(&t);
        pq_tw_i32(&t, 3, PQ_REPEATED);
        pq_tw_str(&t, 4, "list");
        pq_tw_i32(&t, 5, 1);
        pq_tw_struct_end(&t);
        encode_leaf(&t, c, "element", c->f.element_nullable ? PQ_OPTIONAL : PQ_REQUIRED,
                    c->element_field_id);
    }
    pq_tw_i64(&t, 3, w->rows);
    pq_tw_list_begin(&t, 4, PQ_TC_STRUCT, (uint32_t)w->nrg);
    pq_tw_raw(&t, w->rgmeta.data, w->rgmeta.len);
    if (w->opt.nkv > 0) {
        pq_tw_list_begin(&t, 5, PQ_TC_STRUCT, (uint32_t)w->opt.nkv);
        for (size_t i = 0; i < w->opt.nkv; i++) {
            pq_tw_elem_struct_begin(&t);
            pq_tw_str(&t, 1, w->kv[i].key);
            pq_tw_str(&t, 2, w->kv[i].value);
            pq_tw_struct_end(&t);
        }
    }
    char created[128];
    snprintf(created, sizeof created, "lakehouse version %s (build %s)", LH_VERSION, LH_BUILD_HASH);
    pq_tw_str(&t, 6, created);
    pq_tw_list_begin(&t, 7, PQ_TC_STRUCT, (uint32_t)w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        pq_tw_elem_struct_begin(&t);
        pq_tw_empty(&t, 1); /* TYPE_ORDER */
        pq_tw_struct_end(&t);
    }
    pq_tw_struct_end(&t);
}

enum lh_status lh_parquet_writer_close(struct lh_parquet_writer *w, struct lh_error *err)
{
    enum lh_status s = check_usable(w, err);
    if (s != LH_OK)
        return s;
    if ((s = flush_row_group(w, err)) != LH_OK)
        return s;
    struct lh_buf *f = &w->body;
    lh_buf_clear(f);
    encode_footer(w, f);
    size_t flen = f->len;
    put_u32le(f, (uint32_t)flen);
    lh_buf_append(f, LH_PQ_MAGIC, 4);
    if (!lh_buf_ok(f) || flen > UINT32_MAX)
        return fail(w, err, lh_error_set(err, LH_E_NOMEM, "parquet writer: footer"));
    if ((s = emit(w, f->data, f->len, err)) != LH_OK)
        return s;
    w->closed = true;
    return LH_OK;
}
