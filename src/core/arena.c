/*
 * arena.c — bump allocator freed whole, with an optional cap; and the
 * doubling growth of a plain array (lh_array_grow).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

struct lh_arena_block {
    struct lh_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char mem[];
};

void lh_arena_init(struct lh_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
    a->chunk = 64 * 1024;
}

void lh_arena_reset(struct lh_arena *a)
{
    struct lh_arena_block *b = a->head;
    while (b) {
        struct lh_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}

void *lh_arena_alloc(struct lh_arena *a, size_t n)
{
    size_t rounded = (n + 15) & ~(size_t)15;
    if (rounded < n)
        return NULL;
    if (a->max && (rounded > a->max || a->used > a->max - rounded))
        return NULL;
    struct lh_arena_block *b = a->head;
    if (!b || b->size - b->used < rounded) {
        size_t sz = rounded > a->chunk ? rounded : a->chunk;
        b = malloc(sizeof *b + sz);
        if (!b)
            return NULL;
        b->size = sz;
        b->used = 0;
        /* A big one-off block goes behind the current head so the head's
         * free space is not wasted. */
        if (a->head && rounded > a->chunk) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->mem + b->used;
    b->used += rounded;
    a->used += rounded;
    memset(p, 0, n);
    return p;
}

char *lh_arena_strndup(struct lh_arena *a, const char *s, size_t n)
{
    char *p = lh_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *lh_array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc <= *cap || nc > SIZE_MAX / elem)
        return NULL;
    void *nv = realloc(v, nc * elem);
    if (nv)
        *cap = nc;
    return nv;
}
