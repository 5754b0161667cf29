/*
 * secret.c — DSN passwords at rest.
 *
 * A DSN that carries a password (anything lh_redact_dsn would change) is
 * sealed: the whole DSN is encrypted with libsodium crypto_secretbox
 * (XSalsa20-Poly1305, random 24-byte nonce) under the deployment key and
 * stored as "dsn_secret": "v1:" base64(nonce | ciphertext), while "dsn"
 * keeps the redacted display form ("mysql://user:***@host:3306/shop"). The
 * full DSN is rebuilt only by lh_schedule_dsn_reveal, into a caller buffer,
 * when a job runs. Alternatively the password is named by password_env and
 * read from the environment at run time.
 *
 * The key is 32 bytes: $LAKEHOUSE_SECRET_KEY (64 hex digits or base64), or a
 * key file created on first use with mode 0600.
 *
 * Any thread; sodium_init is idempotent and thread-safe.
 */
#include "schedule_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE crypto_secretbox_NONCEBYTES
#define MAC crypto_secretbox_MACBYTES

static enum lh_status init_sodium(struct lh_error *err)
{
    if (sodium_init() < 0)
        return lh_error_set(err, LH_E_INTERNAL, "libsodium failed to initialise");
    return LH_OK;
}

void lh_schedule_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void lh_schedule_free(struct lh_schedule *def)
{
    if (def)
        sodium_memzero(def, sizeof *def);
    free(def);
}

enum lh_status lh_schedule_key_from_text(const char *text, struct lh_schedule_key *key,
                                         struct lh_error *err)
{
    if (init_sodium(err) != LH_OK)
        return LH_E_INTERNAL;
    char t[128];
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            continue;
        if (n + 1 >= sizeof t)
            return lh_error_set(err, LH_E_INVAL, "secret key: too long (want 32 bytes)");
        t[n++] = *p;
    }
    t[n] = '\0';
    size_t got = 0;
    int rc;
    if (n == 64)
        rc = sodium_hex2bin(key->k, sizeof key->k, t, n, NULL, &got, NULL);
    else
        rc = sodium_base642bin(key->k, sizeof key->k, t, n, NULL, &got, NULL,
                               sodium_base64_VARIANT_ORIGINAL);
    lh_schedule_wipe(t, sizeof t);
    if (rc != 0 || got != sizeof key->k)
        return lh_error_set(err, LH_E_INVAL,
                            "secret key: want 32 bytes as 64 hex digits or base64");
    return LH_OK;
}

static enum lh_status mkdir_700(const char *path, struct lh_error *err)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return LH_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return lh_error_errno(err, errno, "secret key: mkdir %s", dir);
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return lh_error_errno(err, errno, "secret key: mkdir %s", dir);
    return LH_OK;
}

enum lh_status lh_schedule_key_file(const char *path, bool create, struct lh_schedule_key *key,
                                    struct lh_error *err)
{
    if (init_sodium(err) != LH_OK)
        return LH_E_INTERNAL;
    if (strlen(path) >= sizeof key->origin)
        return lh_error_set(err, LH_E_INVAL, "secret key file path too long");
    for (int tries = 0; tries < 2; tries++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[256];
            ssize_t n = read(fd, buf, sizeof buf - 1);
            struct stat sb;
            bool loose = fstat(fd, &sb) == 0 && (sb.st_mode & 077);
            close(fd);
            if (n < 0)
                return lh_error_errno(err, errno, "secret key file %s", path);
            buf[n] = '\0';
            enum lh_status s = lh_schedule_key_from_text(buf, key, err);
            lh_schedule_wipe(buf, sizeof buf);
            if (s != LH_OK) {
                lh_error_prefix(err, "%s", path);
                return s;
            }
            if (loose)
                lh_warn("secret key file %s is readable by others (chmod 600 it)", path);
            snprintf(key->origin, sizeof key->origin, "%s", path);
            return LH_OK;
        }
        if (errno != ENOENT || !create)
            return lh_error_errno(err, errno, "secret key file %s", path);
        if (mkdir_700(path, err) != LH_OK)
            return err ? err->status : LH_E_IO;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue; /* someone else created it: read theirs */
            return lh_error_errno(err, errno, "secret key file %s", path);
        }
        uint8_t k[32];
        char hex[65];
        randombytes_buf(k, sizeof k);
        sodium_bin2hex(hex, sizeof hex, k, sizeof k);
        hex[64] = '\n';
        ssize_t w = write(fd, hex, sizeof hex);
        int e = errno;
        bool synced = fsync(fd) == 0;
        close(fd);
        lh_schedule_wipe(hex, sizeof hex);
        if (w != (ssize_t)sizeof hex || !synced) {
            unlink(path);
            lh_schedule_wipe(k, sizeof k);
            return lh_error_errno(err, w < 0 ? e : EIO, "secret key file %s", path);
        }
        memcpy(key->k, k, sizeof k);
        lh_schedule_wipe(k, sizeof k);
        snprintf(key->origin, sizeof key->origin, "%s", path);
        lh_info("generated the secret key for schedule DSNs at %s (mode 0600); keep it, "
                "sealed passwords cannot be read without it",
                path);
        return LH_OK;
    }
    return lh_error_set(err, LH_E_IO, "secret key file %s: cannot create or read", path);
}

enum lh_status lh_schedule_key_resolve(const char *path, struct lh_schedule_key *key,
                                       struct lh_error *err)
{
    const char *env = getenv("LAKEHOUSE_SECRET_KEY");
    if (env && *env) {
        enum lh_status s = lh_schedule_key_from_text(env, key, err);
        if (s != LH_OK) {
            lh_error_prefix(err, "LAKEHOUSE_SECRET_KEY");
            return s;
        }
        snprintf(key->origin, sizeof key->origin, "LAKEHOUSE_SECRET_KEY");
        return LH_OK;
    }
    char buf[512];
    if (!path || !*path)
        path = getenv("LAKEHOUSE_SECRET_KEY_FILE");
    if (!path || !*path) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(buf, sizeof buf, "%s/lakehouse/secret.key", xdg);
        else if (home && *home)
            snprintf(buf, sizeof buf, "%s/.config/lakehouse/secret.key", home);
        else
            snprintf(buf, sizeof buf, ".lakehouse-secret.key");
        path = buf;
    }
    return lh_schedule_key_file(path, true, key, err);
}

enum lh_status lh_schedule_seal(struct lh_schedule *def, const struct lh_schedule_key *key,
                                bool *changed, struct lh_error *err)
{
    if (changed)
        *changed = false;
    char red[LH_SCHEDULE_DSN_MAX];
    size_t rn = lh_redact_dsn(def->dsn, red, sizeof red);
    if (rn >= sizeof red)
        return lh_error_set(err, LH_E_INVAL, "schedule '%s': kind.dsn: too long", def->id);
    if (strcmp(red, def->dsn) == 0)
        return LH_OK; /* no password in it */
    if (!key)
        return lh_error_set(err, LH_E_STATE, "schedule '%s': no secret key to seal the dsn",
                            def->id);
    if (def->password_env[0])
        return lh_error_set(err, LH_E_INVAL,
                            "schedule '%s': kind.password_env set but the dsn carries a password",
                            def->id);
    if (init_sodium(err) != LH_OK)
        return LH_E_INTERNAL;
    size_t n = strlen(def->dsn);
    uint8_t box[NONCE + MAC + LH_SCHEDULE_DSN_MAX];
    randombytes_buf(box, NONCE);
    crypto_secretbox_easy(box + NONCE, (const uint8_t *)def->dsn, n, box, key->k);
    size_t bn = NONCE + MAC + n;
    if (3 + sodium_base64_ENCODED_LEN(bn, sodium_base64_VARIANT_ORIGINAL) > sizeof def->dsn_secret)
        return lh_error_set(err, LH_E_INVAL, "schedule '%s': kind.dsn: too long", def->id);
    memcpy(def->dsn_secret, "v1:", 3);
    sodium_bin2base64(def->dsn_secret + 3, sizeof def->dsn_secret - 3, box, bn,
                      sodium_base64_VARIANT_ORIGINAL);
    lh_schedule_wipe(def->dsn, sizeof def->dsn);
    memcpy(def->dsn, red, rn + 1);
    if (changed)
        *changed = true;
    return LH_OK;
}

/* Percent-encodes a password for URL userinfo. */
static bool pct_append(char *out, size_t cap, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = plain ? 1 : 3;
        if (*len + need >= cap)
            return false;
        if (plain) {
            out[(*len)++] = (char)c;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[c >> 4];
            out[(*len)++] = hex[c & 15];
        }
    }
    out[*len] = '\0';
    return true;
}

enum lh_status lh_schedule_dsn_reveal(const struct lh_schedule *def,
                                      const struct lh_schedule_key *key, char *out, size_t cap,
                                      struct lh_error *err)
{
    if (cap == 0)
        return lh_error_set(err, LH_E_INVAL, "no room for the dsn");
    out[0] = '\0';
    if (def->dsn_secret[0]) {
        if (!key)
            return lh_error_set(err, LH_E_STATE,
                                "schedule '%s': the dsn is sealed and no secret key is loaded",
                                def->id);
        if (init_sodium(err) != LH_OK)
            return LH_E_INTERNAL;
        uint8_t box[NONCE + MAC + LH_SCHEDULE_DSN_MAX];
        size_t bn = 0;
        const char *b64 = def->dsn_secret + 3;
        if (strncmp(def->dsn_secret, "v1:", 3) != 0 ||
            sodium_base642bin(box, sizeof box, b64, strlen(b64), NULL, &bn, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            bn < NONCE + MAC)
            return lh_error_set(err, LH_E_FORMAT, "schedule '%s': kind.dsn_secret is damaged",
                                def->id);
        size_t pn = bn - NONCE - MAC;
        if (pn >= cap)
            return lh_error_set(err, LH_E_TOOBIG, "schedule '%s': dsn too long", def->id);
        if (crypto_secretbox_open_easy((uint8_t *)out, box + NONCE, bn - NONCE, box, key->k) != 0) {
            lh_schedule_wipe(out, cap);
            return lh_error_set(err, LH_E_AUTH,
                                "schedule '%s': kind.dsn_secret does not decrypt with the key "
                                "from %s (wrong key, or the file was altered)",
                                def->id, key->origin[0] ? key->origin : "the caller");
        }
        out[pn] = '\0';
        if (strlen(out) != pn) {
            lh_schedule_wipe(out, cap);
            return lh_error_set(err, LH_E_FORMAT, "schedule '%s': kind.dsn_secret is damaged",
                                def->id);
        }
        return LH_OK;
    }
    size_t dn = strlen(def->dsn);
    if (!def->password_env[0]) {
        if (dn >= cap)
            return lh_error_set(err, LH_E_TOOBIG, "schedule '%s': dsn too long", def->id);
        memcpy(out, def->dsn, dn + 1);
        return LH_OK;
    }
    const char *pw = getenv(def->password_env);
    if (!pw)
        return lh_error_set(err, LH_E_AUTH,
                            "schedule '%s': environment variable %s (kind.password_env) is not set",
                            def->id, def->password_env);
    struct lh_dsn d;
    struct lh_error pe;
    if (lh_dsn_parse(def->dsn, &d, &pe) != LH_OK || d.form != LH_DSN_URL)
        return lh_error_set(err, LH_E_INVAL, "schedule '%s': kind.dsn: %s", def->id,
                            d.form != LH_DSN_URL ? "not a URL" : pe.msg);
    if (!d.user.p)
        return lh_error_set(err, LH_E_INVAL,
                            "schedule '%s': kind.password_env needs a user in the dsn "
                            "(scheme://user@host/db)",
                            def->id);
    if (d.password.p)
        return lh_error_set(err, LH_E_INVAL,
                            "schedule '%s': the dsn has a password and kind.password_env is set",
                            def->id);
    const char *at = d.user.p + d.user.n; /* the '@' that ends the user info */
    size_t len = (size_t)(at - def->dsn);
    if (len + 1 >= cap)
        return lh_error_set(err, LH_E_TOOBIG, "schedule '%s': dsn too long", def->id);
    memcpy(out, def->dsn, len);
    out[len++] = ':';
    out[len] = '\0';
    size_t rest = strlen(at);
    if (!pct_append(out, cap, &len, pw) || len + rest >= cap) {
        lh_schedule_wipe(out, cap);
        return lh_error_set(err, LH_E_TOOBIG, "schedule '%s': dsn too long", def->id);
    }
    memcpy(out + len, at, rest + 1);
    return LH_OK;
}

bool lh_schedule_dsn_redacted(const char *dsn)
{
    return strstr(dsn, ":***@") != NULL;
}

enum lh_status lh_schedule_keep_secret(struct lh_schedule *def, const struct lh_schedule *cur,
                                       struct lh_error *err)
{
    if (strcmp(def->dsn, cur->dsn) == 0 && !def->password_env[0] &&
        (!def->dsn_secret[0] || strcmp(def->dsn_secret, cur->dsn_secret) == 0)) {
        /* the DSN came back as it was shown: keep the stored password */
        memcpy(def->dsn_secret, cur->dsn_secret, sizeof def->dsn_secret);
        memcpy(def->password_env, cur->password_env, sizeof def->password_env);
        return LH_OK;
    }
    if (def->dsn_secret[0] && strcmp(def->dsn_secret, cur->dsn_secret) != 0)
        return lh_error_set(err, LH_E_INVAL,
                            "kind.dsn_secret: not the stored one; send the DSN with its password");
    if (lh_schedule_dsn_redacted(def->dsn) && !def->dsn_secret[0])
        return lh_error_set(err, LH_E_INVAL,
                            "kind.dsn: the password is '***' (redacted) and the DSN changed; "
                            "send the real password");
    return LH_OK;
}
