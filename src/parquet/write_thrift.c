/*
 * write_thrift.c — Thrift compact protocol encoder for the Parquet footer
 * and page headers.
 *
 * Only what the writer needs: scalar fields, binary, nested structs and
 * lists. Field ids are delta-encoded against the previous field of the
 * same struct, so the encoder keeps a small stack of "last id" per open
 * struct. The lh_buf's broken flag is the sticky error.
 */
#include "write_int.h"

#include <string.h>

void pq_tw_init(struct pq_tw *t, struct lh_buf *b)
{
    t->b = b;
    t->depth = 0;
    t->last[0] = 0;
}

static void field_header(struct pq_tw *t, int16_t id, enum pq_tc_type type)
{
    int16_t delta = (int16_t)(id - t->last[t->depth]);
    if (delta > 0 && delta <= 15) {
        lh_buf_append_u8(t->b, (uint8_t)((delta << 4) | type));
    } else {
        lh_buf_append_u8(t->b, (uint8_t)type);
        lh_buf_append_varint(t->b, lh_zigzag(id));
    }
    t->last[t->depth] = id;
}

void pq_tw_i8(struct pq_tw *t, int16_t id, int8_t v)
{
    field_header(t, id, PQ_TC_I8);
    lh_buf_append_u8(t->b, (uint8_t)v);
}

void pq_tw_i16(struct pq_tw *t, int16_t id, int16_t v)
{
    field_header(t, id, PQ_TC_I16);
    lh_buf_append_varint(t->b, lh_zigzag(v));
}

void pq_tw_i32(struct pq_tw *t, int16_t id, int32_t v)
{
    field_header(t, id, PQ_TC_I32);
    lh_buf_append_varint(t->b, lh_zigzag(v));
}

void pq_tw_i64(struct pq_tw *t, int16_t id, int64_t v)
{
    field_header(t, id, PQ_TC_I64);
    lh_buf_append_varint(t->b, lh_zigzag(v));
}

void pq_tw_bool(struct pq_tw *t, int16_t id, bool v)
{
    field_header(t, id, v ? PQ_TC_TRUE : PQ_TC_FALSE);
}

void pq_tw_bin(struct pq_tw *t, int16_t id, const void *p, size_t n)
{
    field_header(t, id, PQ_TC_BINARY);
    lh_buf_append_varint(t->b, n);
    lh_buf_append(t->b, p, n);
}

void pq_tw_str(struct pq_tw *t, int16_t id, const char *s)
{
    pq_tw_bin(t, id, s, strlen(s));
}

static void push(struct pq_tw *t)
{
    if (t->depth + 1 >= PQ_TW_DEPTH) {
        t->b->broken = true;
        return;
    }
    t->last[++t->depth] = 0;
}

void pq_tw_struct_begin(struct pq_tw *t, int16_t id)
{
    field_header(t, id, PQ_TC_STRUCT);
    push(t);
}

void pq_tw_struct_end(struct pq_tw *t)
{
    lh_buf_append_u8(t->b, PQ_TC_STOP);
    if (t->depth > 0)
        t->depth--;
    else
        t->b->broken = true; /* unbalanced: an encoder bug, surfaced as failure */
}

void pq_tw_empty(struct pq_tw *t, int16_t id)
{
    pq_tw_struct_begin(t, id);
    pq_tw_struct_end(t);
}

void pq_tw_list_begin(struct pq_tw *t, int16_t id, enum pq_tc_type elem, uint32_t n)
{
    field_header(t, id, PQ_TC_LIST);
    if (n < 15) {
        lh_buf_append_u8(t->b, (uint8_t)((n << 4) | elem));
    } else {
        lh_buf_append_u8(t->b, (uint8_t)(0xF0 | elem));
        lh_buf_append_varint(t->b, n);
    }
}

void pq_tw_elem_i32(struct pq_tw *t, int32_t v)
{
    lh_buf_append_varint(t->b, lh_zigzag(v));
}

void pq_tw_elem_bin(struct pq_tw *t, const void *p, size_t n)
{
    lh_buf_append_varint(t->b, n);
    lh_buf_append(t->b, p, n);
}

void pq_tw_elem_struct_begin(struct pq_tw *t)
{
    push(t);
}

void pq_tw_root_begin(struct pq_tw *t)
{
    push(t);
}

void pq_tw_raw(struct pq_tw *t, const void *p, size_t n)
{
    lh_buf_append(t->b, p, n);
}
