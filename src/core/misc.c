/*
 * misc.c — checked number parsing, UTF-8 repair.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool lh_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s)
        return false;
    *out = v;
    return true;
}

bool lh_parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return false;
    uint64_t mul = 1;
    if (*end) {
        static const struct {
            const char *suffix;
            uint64_t mul;
        } units[] = {
            {"k", 1024ULL},          {"kb", 1000ULL},        {"kib", 1024ULL},
            {"m", 1024ULL << 10},    {"mb", 1000000ULL},     {"mib", 1024ULL << 10},
            {"g", 1024ULL << 20},    {"gb", 1000000000ULL},  {"gib", 1024ULL << 20},
            {"b", 1ULL},
        };
        bool found = false;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcasecmp(end, units[i].suffix) == 0) {
                mul = units[i].mul;
                found = true;
                break;
            }
        }
        if (!found)
            return false;
    }
    if (v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), 0 when invalid, -1 when the string
 * ends inside an otherwise valid sequence. */
static int utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0];
    int n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    for (int i = 1; i < n; i++) {
        unsigned char b = p[i];
        if (b == 0)
            return -1;
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return n;
}

size_t lh_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t i = 0;
    while (p[i]) {
        int n = utf8_seq(p + i);
        if (n > 0) {
            i += (size_t)n;
        } else if (n < 0) {
            p[i] = 0; /* cut off at the end */
            break;
        } else {
            p[i++] = '?';
        }
    }
    return i;
}

int lh_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
