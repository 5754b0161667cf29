/*
 * pii.c — sensitivity of a column from its name.
 *
 * The rule (also in docs/catalog.md):
 *  1. The name is split into lowercase alphanumeric tokens at '_', '-', '.',
 *     spaces, digits-to-letters and camelCase boundaries
 *     ("billingAddress2" -> billing, address2 -> billing address 2).
 *  2. A pattern matches when it equals the concatenation of one or more
 *     adjacent tokens ("first_name", "firstName", "FIRSTNAME" all give
 *     "firstname"). Patterns marked `sub` also match inside a single token
 *     ("useremail", "homephone"), only for long, unambiguous words.
 *  3. A match is cancelled when the name describes something ABOUT the
 *     value rather than the value: the last token is a meta word (count,
 *     id, format, type, verified, hash, ...: "username_count",
 *     "zip_code_format_id", "email_verified", "address_id") or the first
 *     token is is/has/num/n ("is_email_valid", "num_phones").
 *  4. The highest level among the remaining matches wins:
 *     pii > financial > sensitive > internal > none.
 *  A bare "name" or "city" is not flagged (product name, store city);
 *  qualified person names are ("first_name", "customer_name").
 */
#include "catalog.h"

#include <ctype.h>
#include <string.h>

/* The patterns, by level; `sub`: a pattern also matches inside a single
 * token (only long, unambiguous words). Space-separated words. */
static const struct {
    enum lh_sensitivity level;
    bool sub;
    const char *words;
} patterns[] = {
    /* personal data; also inside one token ("useremail") */
    {LH_SENS_PII, true,
     "email emailaddress phone telephone cellphone socialsecurity socialsecuritynumber "
     "passport driverslicense driverlicense driverslicence firstname lastname fullname "
     "middlename givenname familyname maidenname surname streetaddress zipcode "
     "postcode postalcode birthdate dateofbirth birthday ipaddress macaddress "
     "geolocation"},
    /* personal data, whole tokens only ("ip", "zip", "ssn"; "ipv": ipv4 and
     * ipv6, trailing digits cut) */
    {LH_SENS_PII, false,
     "mobile fax ssn nationalid nationalidentifier nin taxid customername personname "
     "contactname employeename patientname username address addr street zip dob ip ipv "
     "latitude longitude"},
    /* financial */
    {LH_SENS_FINANCIAL, true,
     "creditcard cardnumber accountnumber acctnumber bankaccount routingnumber salary"},
    {LH_SENS_FINANCIAL, false, "ccnumber cvv cvc iban swift bic sortcode income"},
    /* special categories and secrets */
    {LH_SENS_SENSITIVE, true, "password ethnicity religion diagnosis biometric sexualorientation"},
    {LH_SENS_SENSITIVE, false,
     "passwd secret apikey secretkey privatekey token gender race medical health"},
    /* business internal */
    {LH_SENS_INTERNAL, false, "internal notes cost margin profit"},
};

/* A last token that makes the column metadata about the value. */
static const char *const meta_last[] = {
    "count",     "cnt",      "total",    "sum",     "avg",    "min",     "max",      "format",
    "type",      "kind",     "length",   "len",     "flag",   "enabled", "verified", "valid",
    "validated", "status",   "template", "pattern", "regex",  "id",      "ids",      "uuid",
    "key",       "hash",     "hashed",   "optin",   "optout", "consent", "mask",     "masked",
    "version",   "provider", "domain",   "prefix",  "code",
};
static const char *const meta_first[] = {"is", "has", "num", "n", "count", "total"};

enum { MAX_TOK = 16, TOK_LEN = 64 };

static size_t tokenize(const char *name, char tok[MAX_TOK][TOK_LEN])
{
    size_t nt = 0, len = 0;
    char prev = 0;
    for (const char *p = name;; p++) {
        char c = *p;
        bool alnum = c && isalnum((unsigned char)c);
        bool boundary = !alnum;
        /* camelCase: lower->Upper, and letter<->digit are soft boundaries;
         * digits stay attached (address2 -> "address2") so they are cut
         * off separately below. */
        if (alnum && len > 0 && isupper((unsigned char)c) && islower((unsigned char)prev))
            boundary = true;
        if (boundary || len == TOK_LEN - 1) {
            if (len > 0 && nt < MAX_TOK) {
                tok[nt][len] = '\0';
                /* strip trailing digits: address2 -> address, line1 -> line */
                size_t l = len;
                while (l > 1 && isdigit((unsigned char)tok[nt][l - 1]))
                    l--;
                tok[nt][l] = '\0';
                nt++;
            }
            len = 0;
        }
        if (!c)
            break;
        if (alnum && nt < MAX_TOK)
            tok[nt][len++] = (char)tolower((unsigned char)c);
        prev = c;
    }
    return nt;
}

static bool in_list(const char *t, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t, list[i]) == 0)
            return true;
    return false;
}

/* Whether cat[0..cl) equals one of the space-separated words, or with
 * `inside` contains one. */
static bool words_match(const char *words, const char *cat, size_t cl, bool inside)
{
    for (const char *w = words; *w;) {
        size_t wl = strcspn(w, " ");
        for (size_t off = 0; off + wl <= cl && (inside || off == 0); off++)
            if ((inside || wl == cl) && memcmp(cat + off, w, wl) == 0)
                return true;
        w += wl + (w[wl] == ' ');
    }
    return false;
}

enum lh_sensitivity lh_catalog_pii_detect(const char *column_name)
{
    char tok[MAX_TOK][TOK_LEN];
    if (!column_name)
        return LH_SENS_NONE;
    size_t nt = tokenize(column_name, tok);
    if (nt == 0)
        return LH_SENS_NONE;
    /* A meta last token cancels, except where it is part of the thing
     * itself: "zip code", "national id", "tax id". */
    static const char *const keep_pairs[][2] = {
        {"zip", "code"},  {"post", "code"},   {"postal", "code"},
        {"sort", "code"}, {"national", "id"}, {"tax", "id"},
        {"api", "key"},   {"secret", "key"},  {"private", "key"}};
    const char *last = tok[nt - 1];
    bool kept = false;
    for (size_t i = 0; nt >= 2 && i < sizeof keep_pairs / sizeof keep_pairs[0]; i++)
        kept |= strcmp(tok[nt - 2], keep_pairs[i][0]) == 0 && strcmp(last, keep_pairs[i][1]) == 0;
    if (!kept && nt >= 2 && in_list(last, meta_last, sizeof meta_last / sizeof meta_last[0]))
        return LH_SENS_NONE;
    if (nt >= 2 && in_list(tok[0], meta_first, sizeof meta_first / sizeof meta_first[0]))
        return LH_SENS_NONE;

    enum lh_sensitivity best = LH_SENS_NONE;
    char cat[MAX_TOK * TOK_LEN];
    for (size_t i = 0; i < nt; i++) {
        size_t cl = 0;
        for (size_t j = i; j < nt; j++) {
            size_t tl = strlen(tok[j]);
            memcpy(cat + cl, tok[j], tl);
            cl += tl;
            cat[cl] = '\0';
            for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++)
                if (patterns[k].level > best &&
                    words_match(patterns[k].words, cat, cl, patterns[k].sub && j == i))
                    best = patterns[k].level;
        }
    }
    return best;
}

const char *lh_sensitivity_str(enum lh_sensitivity s)
{
    static const char *const n[] = {NULL, "internal", "sensitive", "financial", "pii"};
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : NULL;
}

bool lh_sensitivity_parse(const char *s, enum lh_sensitivity *out)
{
    if (!s || !*s || strcmp(s, "none") == 0) {
        *out = LH_SENS_NONE;
        return true;
    }
    for (enum lh_sensitivity l = LH_SENS_INTERNAL; l <= LH_SENS_PII; l++)
        if (strcmp(s, lh_sensitivity_str(l)) == 0) {
            *out = l;
            return true;
        }
    return false;
}
