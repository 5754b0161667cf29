/*
 * dsn_cases.h — what the DSN fuzz targets share: an input cut into a DSN
 * built around a random password, the same DSN with "***" for the password
 * (the oracle: a password that is a substring of it may show without being
 * a leak), and the asserts.
 *
 * Input: one shape byte, then user, password, host and a free tail,
 * separated by NUL bytes (missing fields are empty). The whole input after
 * the shape byte is also used as an arbitrary DSN and message.
 */
#ifndef LH_FUZZ_DSN_CASES_H
#define LH_FUZZ_DSN_CASES_H

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_FIELD 512
#define FZ_DSN (6 * FZ_FIELD)

/* A fuzz property failed: say which and abort (libFuzzer keeps the input). */
#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "property failed: %s: ", #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum fz_shape {
    FZ_PG_RAW,      /* postgresql://user:PW@host:5432/db */
    FZ_PG_PCT,      /* the same, the password percent-encoded */
    FZ_MY_RAW,      /* mysql://user:PW@host:3306/shop */
    FZ_KV_QUOTED,   /* host=h user=u password='PW' dbname=d, quotes escaped */
    FZ_URL_QUERY,   /* postgres://user@host/db?sslmode=require&password=PW% */
    FZ_KV_RAW,      /* host=h password=PW dbname=d, as typed */
    FZ_MY_PCT,      /* mysql://user:PW%@[::1]:3306/shop?socket=/tmp/s */
    FZ_SHAPES
};

struct fz_case {
    enum fz_shape shape;
    char user[FZ_FIELD], pw[FZ_FIELD], host[FZ_FIELD], tail[FZ_FIELD];
    char raw[4 * FZ_FIELD + 8]; /* everything after the shape byte, NULs as spaces */
    char dsn[FZ_DSN];           /* built with the password */
    char oracle[FZ_DSN];        /* built with "***" for it */
};

static inline size_t fz_field(const uint8_t *p, size_t n, size_t *i, char *out, bool (*ok)(int))
{
    size_t k = 0;
    while (*i < n && p[*i] != 0) {
        int c = p[(*i)++];
        if (k + 1 < FZ_FIELD)
            out[k++] = ok && !ok(c) ? (char)('a' + c % 26) : (char)c;
    }
    if (*i < n)
        (*i)++;
    out[k] = '\0';
    return k;
}

static inline bool fz_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static inline bool fz_host_char(int c)
{
    return fz_name_char(c) || c == '.' || c == '-';
}

static inline void fz_pct(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static inline void fz_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '\'' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
}

/* literal: pw goes in as is (the oracle's "***", where the redactor's mask
 * replaces the encoded or quoted password) */
static inline void fz_build(const struct fz_case *c, const char *pw, bool literal, char *out, size_t cap)
{
    char enc[3 * FZ_FIELD + 1];
    const char *u = c->user[0] ? c->user : "u", *h = c->host[0] ? c->host : "h";
    switch (c->shape) {
    case FZ_PG_RAW:
        snprintf(out, cap, "postgresql://%s:%s@%s:5432/db", u, pw, h);
        break;
    case FZ_PG_PCT:
        fz_pct(pw, enc, sizeof enc);
        if (literal)
            snprintf(enc, sizeof enc, "%s", pw);
        snprintf(out, cap, "postgresql://%s:%s@%s:5432/db", u, enc, h);
        break;
    case FZ_MY_RAW:
        snprintf(out, cap, "mysql://%s:%s@%s:3306/shop", u, pw, h);
        break;
    case FZ_KV_QUOTED:
        fz_quote(pw, enc, sizeof enc);
        snprintf(out, cap, "host=%s user=%s password='%s' dbname=d", h, u, literal ? pw : enc);
        break;
    case FZ_URL_QUERY:
        fz_pct(pw, enc, sizeof enc);
        if (literal)
            snprintf(enc, sizeof enc, "%s", pw);
        snprintf(out, cap, "postgres://%s@%s/db?sslmode=require&password=%s", u, h, enc);
        break;
    case FZ_KV_RAW:
        snprintf(out, cap, "host=%s password=%s dbname=d", h, pw);
        break;
    default:
        fz_pct(pw, enc, sizeof enc);
        if (literal)
            snprintf(enc, sizeof enc, "%s", pw);
        snprintf(out, cap, "mysql://%s:%s@[::1]:3306/shop?socket=/tmp/s", u, enc);
        break;
    }
}

/* false: input too short to be a case */
static inline bool fz_case_read(struct fz_case *c, const uint8_t *data, size_t size)
{
    if (size < 1)
        return false;
    memset(c, 0, sizeof *c);
    c->shape = (enum fz_shape)(data[0] % FZ_SHAPES);
    size_t i = 1;
    fz_field(data, size, &i, c->user, fz_name_char);
    fz_field(data, size, &i, c->pw, NULL);
    fz_field(data, size, &i, c->host, fz_host_char);
    fz_field(data, size, &i, c->tail, NULL);
    size_t k = 0;
    for (size_t j = 1; j < size && k + 1 < sizeof c->raw; j++)
        c->raw[k++] = data[j] ? (char)data[j] : ' ';
    c->raw[k] = '\0';
    fz_build(c, c->pw, false, c->dsn, sizeof c->dsn);
    fz_build(c, "***", true, c->oracle, sizeof c->oracle);
    return true;
}

/* Whether the password must not show in out: 3 bytes or more, and not
 * something the properly redacted text (the oracle) holds anyway. */
static inline bool fz_secret_applies(const char *pw, const char *oracle)
{
    return strlen(pw) >= 3 && strstr(oracle, pw) == NULL;
}

#endif
