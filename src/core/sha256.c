/*
 * sha256.c — SHA-256 (FIPS 180-4), streaming and one-shot.
 *
 * Used for schema fingerprints, content tokens of the local object store
 * (compare-and-swap), the x-amz-content-sha256 payload hash of S3
 * requests and, as HMAC-SHA256 (RFC 2104), the signature of webhook
 * deliveries. Plain C, no tables beyond the round constants; caller storage.
 */
#include "core.h"

#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void block(struct lh_sha256 *c, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
    uint32_t e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    c->h[5] += f;
    c->h[6] += g;
    c->h[7] += h;
}

void lh_sha256_init(struct lh_sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

void lh_sha256_update(struct lh_sha256 *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    c->len += n;
    if (c->n) {
        size_t take = 64 - c->n < n ? 64 - c->n : n;
        memcpy(c->buf + c->n, p, take);
        c->n += take;
        p += take;
        n -= take;
        if (c->n < 64)
            return;
        block(c, c->buf);
        c->n = 0;
    }
    while (n >= 64) {
        block(c, p);
        p += 64;
        n -= 64;
    }
    if (n) {
        memcpy(c->buf, p, n);
        c->n = n;
    }
}

void lh_sha256_final(struct lh_sha256 *c, uint8_t out[32])
{
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (c->n < 56) ? 56 - c->n : 120 - c->n;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    lh_sha256_update(c, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void lh_sha256_tohex(const uint8_t digest[32], char out[65])
{
    lh_hex_encode(digest, 32, out, 65);
}

void lh_sha256_hex(const void *p, size_t n, char out[65])
{
    struct lh_sha256 c;
    uint8_t d[32];
    lh_sha256_init(&c);
    lh_sha256_update(&c, p, n);
    lh_sha256_final(&c, d);
    lh_sha256_tohex(d, out);
}

/* HMAC (RFC 2104) over SHA-256: H((K ^ opad) || H((K ^ ipad) || m)), with
 * a key longer than the 64-byte block hashed first. The padded key is
 * wiped: it is as secret as the key. */
void lh_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32])
{
    uint8_t k[64] = {0}, pad[64], inner[32];
    struct lh_sha256 c;
    if (key_len > sizeof k) {
        lh_sha256_init(&c);
        lh_sha256_update(&c, key, key_len);
        lh_sha256_final(&c, k);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    for (size_t i = 0; i < sizeof k; i++)
        pad[i] = k[i] ^ 0x36;
    lh_sha256_init(&c);
    lh_sha256_update(&c, pad, sizeof pad);
    lh_sha256_update(&c, msg, msg_len);
    lh_sha256_final(&c, inner);
    for (size_t i = 0; i < sizeof k; i++)
        pad[i] = k[i] ^ 0x5c;
    lh_sha256_init(&c);
    lh_sha256_update(&c, pad, sizeof pad);
    lh_sha256_update(&c, inner, sizeof inner);
    lh_sha256_final(&c, out);
    /* volatile stores: the compiler may not drop a wipe of dead memory */
    volatile uint8_t *w = k;
    for (size_t i = 0; i < sizeof k; i++)
        w[i] = 0;
    w = pad;
    for (size_t i = 0; i < sizeof pad; i++)
        w[i] = 0;
    w = (volatile uint8_t *)&c;
    for (size_t i = 0; i < sizeof c; i++)
        w[i] = 0;
}
