/*
 * buf.c — bounded growable byte buffer with a sticky "broken" state.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void lh_buf_init(struct lh_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX;
    b->broken = false;
}

void lh_buf_reset(struct lh_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->broken = false;
}

void lh_buf_clear(struct lh_buf *b)
{
    b->len = 0;
    b->broken = false;
}

bool lh_buf_reserve(struct lh_buf *b, size_t extra)
{
    if (b->broken)
        return false;
    if (extra > b->max - b->len) {
        b->broken = true;
        return false;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max && need <= b->max)
        ncap = b->max;
    /* +1 so lh_buf_cstr never needs to grow past max */
    uint8_t *p = realloc(b->data, ncap + 1);
    if (!p) {
        b->broken = true;
        return false;
    }
    b->data = p;
    b->cap = ncap;
    return true;
}

void lh_buf_append(struct lh_buf *b, const void *p, size_t n)
{
    if (n == 0 || !lh_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void lh_buf_append_u8(struct lh_buf *b, uint8_t v)
{
    if (b->len < b->cap && !b->broken) {
        b->data[b->len++] = v;
        return;
    }
    lh_buf_append(b, &v, 1);
}

void lh_buf_append_str(struct lh_buf *b, const char *s)
{
    lh_buf_append(b, s, strlen(s));
}

void lh_buf_append_hex(struct lh_buf *b, const void *p, size_t n)
{
    char t[129];
    for (size_t i = 0; i < n; i += 64) {
        size_t k = lh_hex_encode((const uint8_t *)p + i, n - i < 64 ? n - i : 64, t, sizeof t);
        lh_buf_append(b, t, k);
    }
}

void lh_buf_append_varint(struct lh_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    lh_buf_append(b, tmp, n);
}

void lh_buf_printf(struct lh_buf *b, const char *fmt, ...)
{
    if (b->broken)
        return;
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->broken = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        lh_buf_append(b, small, (size_t)n);
        return;
    }
    if (!lh_buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lh_buf_cstr(struct lh_buf *b)
{
    if (!b->data && !lh_buf_reserve(b, 1))
        return;
    b->data[b->len] = '\0'; /* cap + 1 bytes are always allocated */
}

uint8_t *lh_buf_take(struct lh_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    b->broken = false;
    return p;
}
