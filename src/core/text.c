/*
 * text.c — the text forms every module shares (core.h): exact decimals and
 * 128-bit integers, JSON strings and UTF-8 checks. One of each, so a value
 * reads the same in SQL results, the CLI, the catalog and Iceberg metadata.
 * Pure functions; no allocation but the caller's buffer, no locale.
 */
#include "core.h"

#include <string.h>

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";

/* Writes u's digits backwards ending at p; returns the first. */
static char *put_digits(char *p, unsigned __int128 u)
{
    while (u > UINT64_MAX) { /* 128-bit division only past 64 bits */
        *--p = (char)('0' + (int)(u % 10));
        u /= 10;
    }
    uint64_t w = (uint64_t)u;
    while (w >= 100) { /* two digits a division */
        unsigned r = (unsigned)(w % 100);
        w /= 100;
        *--p = digit_pairs[2 * r + 1];
        *--p = digit_pairs[2 * r];
    }
    if (w >= 10) {
        *--p = digit_pairs[2 * w + 1];
        *--p = digit_pairs[2 * w];
    } else {
        *--p = (char)('0' + (int)w);
    }
    return p;
}

/* Copies [p, e) to out, cut to cap - 1, NUL-terminated. */
static size_t put_out(const char *p, const char *e, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t n = (size_t)(e - p);
    n = n < cap ? n : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

size_t lh_decimal_format(__int128 v, int scale, char *out, size_t cap)
{
    /* written backwards from the end of tmp: fraction, '.', integer part, sign */
    char tmp[96];
    char *e = tmp + sizeof tmp, *p = e;
    bool neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    int frac = scale > 0 ? (scale < 80 ? scale : 80) : 0;
    for (int k = 0; k < frac; k++) {
        if (u > UINT64_MAX) {
            *--p = (char)('0' + (int)(u % 10));
            u /= 10;
        } else {
            uint64_t w = (uint64_t)u;
            *--p = (char)('0' + (int)(w % 10));
            u = w / 10;
        }
    }
    if (frac)
        *--p = '.';
    p = put_digits(p, u);
    if (neg)
        *--p = '-';
    return put_out(p, e, out, cap);
}

size_t lh_u128_format(unsigned __int128 u, char *out, size_t cap)
{
    char tmp[48];
    char *e = tmp + sizeof tmp;
    return put_out(put_digits(e, u), e, out, cap);
}

/* Length of the valid UTF-8 sequence at p, of the n bytes there (RFC 3629:
 * no overlongs, no surrogates, nothing past U+10FFFF); 0 when invalid.
 * *cut: the n bytes end inside an otherwise valid sequence. */
static size_t utf8_len(const uint8_t *p, size_t n, bool *cut)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    *cut = false;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (i == n) {
            *cut = true;
            return 0;
        }
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return len;
}

bool lh_utf8_valid(const void *s, size_t n)
{
    const uint8_t *p = s;
    bool cut;
    for (size_t i = 0; i < n;) {
        size_t l = p[i] < 0x80 ? 1 : utf8_len(p + i, n - i, &cut);
        if (!l)
            return false;
        i += l;
    }
    return true;
}

size_t lh_utf8_sanitize(char *s)
{
    uint8_t *p = (uint8_t *)s;
    size_t n = strlen(s), i = 0;
    bool cut;
    while (i < n) {
        size_t l = utf8_len(p + i, n - i, &cut);
        if (l) {
            i += l;
        } else if (cut) {
            p[i] = 0; /* cut off at the end */
            break;
        } else {
            p[i++] = '?';
        }
    }
    return i;
}

void lh_buf_json_str(struct lh_buf *b, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    lh_buf_append_u8(b, '"');
    size_t i = 0, run = 0; /* bytes [i - run, i) are plain and not yet copied */
    while (i < n) {
        uint8_t c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++, run++;
            continue;
        }
        if (c >= 0x80) {
            bool cut;
            size_t l = utf8_len(p + i, n - i, &cut);
            if (l) {
                i += l, run += l;
                continue;
            }
        }
        lh_buf_append(b, p + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            lh_buf_append_u8(b, '\\');
            lh_buf_append_u8(b, c);
        } else if (c == '\n') {
            lh_buf_append_str(b, "\\n");
        } else if (c == '\t') {
            lh_buf_append_str(b, "\\t");
        } else if (c == '\r') {
            lh_buf_append_str(b, "\\r");
        } else if (c < 0x20) {
            lh_buf_printf(b, "\\u%04x", c);
        } else {
            lh_buf_append_str(b, "\\ufffd");
        }
        i++;
    }
    lh_buf_append(b, p + i - run, run);
    lh_buf_append_u8(b, '"');
}

void lh_buf_csv_str(struct lh_buf *b, const void *s, size_t n, bool quote)
{
    const uint8_t *p = s;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
    if (!quote) {
        lh_buf_append(b, p, n);
        return;
    }
    lh_buf_append_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            lh_buf_append_u8(b, '"');
        lh_buf_append_u8(b, p[i]);
    }
    lh_buf_append_u8(b, '"');
}
