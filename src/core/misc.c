/*
 * misc.c — checked number parsing, UTF-8 repair, small string helpers.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

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

size_t lh_hex_encode(const void *p, size_t n, char *out, size_t cap)
{
    static const char hx[] = "0123456789abcdef";
    const uint8_t *b = p;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    if (cap)
        out[o] = '\0';
    return o;
}

void lh_uuid_format(const uint8_t b[16], char out[37])
{
    static const int group[] = {4, 2, 2, 2, 6};
    size_t o = 0;
    for (int g = 0, i = 0; g < 5; i += group[g++]) {
        if (g)
            out[o++] = '-';
        o += lh_hex_encode(b + i, (size_t)group[g], out + o, 37 - o);
    }
}

void lh_random_hex(char *out, size_t nbytes)
{
    uint8_t r[64];
    for (size_t done = 0; done < nbytes;) {
        size_t n = nbytes - done < sizeof r ? nbytes - done : sizeof r;
        if (getrandom(r, n, 0) != (ssize_t)n) {
            uint64_t x = (uint64_t)lh_time_mono_ns() ^ ((uint64_t)getpid() << 32) ^ done;
            for (size_t i = 0; i < n; i++, x = x * 6364136223846793005ULL + 1)
                r[i] = (uint8_t)(x >> 56);
        }
        lh_hex_encode(r, n, out + 2 * done, 2 * n + 1);
        done += n;
    }
    out[2 * nbytes] = '\0';
}

char *lh_strdup_opt(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}
