/*
 * tz.c — IANA time zones from TZif files (RFC 8536), without libc's TZ.
 *
 * A zone is a table of transitions (UTC instant -> local time type) plus,
 * for v2+ files, a POSIX TZ footer ("EST5EDT,M3.2.0,M11.1.0") that governs
 * every instant after the last transition; Debian's "slim" files end their
 * tables early and rely on it. We use the 64-bit section when present.
 *
 * The bytes are untrusted: every count is checked against the remaining
 * length and against a maximum before anything is allocated; nothing here
 * asserts on file contents. A parsed zone is one malloc block, immutable.
 *
 * Threads: lh_tz_load serialises cache lookups and inserts with cache_mu
 * (held across the file read; loads are rare). Cached zones are never freed,
 * so the borrowed pointers stay valid without reference counts. Everything
 * else is a pure function of an immutable zone.
 */
#include "schedule_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_TRANS 20000
#define TZ_MAX_LEAP 2000
#define TZ_MAX_OFF (26 * 3600)
#define TZ_MAX_FOOTER 256
#define TZ_CACHE_MAX 1024
#define TZ_SEG_MAX 32
/* Instants are clamped to about +-300,000 years before calendar math. */
#define TZ_CLAMP (INT64_C(1) << 53)

/* ------------------------------------------------------------------ reader */

struct rd {
    const uint8_t *p;
    size_t n, off;
};

static bool rd_take(struct rd *r, size_t k, const uint8_t **out)
{
    if (k > r->n - r->off)
        return false;
    *out = r->p + r->off;
    r->off += k;
    return true;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64s(const uint8_t *p)
{
    uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
    return (int64_t)v;
}

struct tzhdr {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static enum lh_status read_header(struct rd *r, struct tzhdr *h, struct lh_error *err)
{
    const uint8_t *b;
    if (!rd_take(r, 44, &b))
        return lh_error_set(err, LH_E_FORMAT, "truncated header");
    if (memcmp(b, "TZif", 4) != 0)
        return lh_error_set(err, LH_E_FORMAT, "not a TZif file");
    h->version = (char)b[4];
    if (h->version != 0 && (h->version < '2' || h->version > '4'))
        return lh_error_set(err, LH_E_FORMAT, "unknown TZif version 0x%02x", b[4]);
    h->isutcnt = be32(b + 20);
    h->isstdcnt = be32(b + 24);
    h->leapcnt = be32(b + 28);
    h->timecnt = be32(b + 32);
    h->typecnt = be32(b + 36);
    h->charcnt = be32(b + 40);
    if (h->typecnt == 0 || h->typecnt > 256)
        return lh_error_set(err, LH_E_FORMAT, "%u local time types", h->typecnt);
    if (h->timecnt > TZ_MAX_TRANS)
        return lh_error_set(err, LH_E_FORMAT, "%u transitions is over the limit", h->timecnt);
    if (h->leapcnt > TZ_MAX_LEAP)
        return lh_error_set(err, LH_E_FORMAT, "%u leap records is over the limit", h->leapcnt);
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return lh_error_set(err, LH_E_FORMAT, "indicator counts do not match type count");
    if (h->charcnt == 0 || h->charcnt > 65536)
        return lh_error_set(err, LH_E_FORMAT, "%u abbreviation bytes", h->charcnt);
    return LH_OK;
}

static size_t body_size(const struct tzhdr *h, size_t tsize)
{
    /* Each count is bounded above, so this cannot overflow a size_t. */
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* ------------------------------------------------------------------ POSIX TZ */

struct prd {
    const char *s;
    size_t n, i;
};

static int pc(const struct prd *p)
{
    return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static bool p_digits(struct prd *p, int maxv, int *out)
{
    int v = 0, k = 0;
    while (pc(p) >= '0' && pc(p) <= '9') {
        v = v * 10 + (pc(p) - '0');
        p->i++;
        if (++k > 3 || v > maxv)
            return false;
    }
    *out = v;
    return k > 0;
}

static bool p_name(struct prd *p)
{
    size_t k = 0;
    if (pc(p) == '<') {
        p->i++;
        while (pc(p) != '>') {
            int c = pc(p);
            if (c < 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                           (c >= '0' && c <= '9') || c == '+' || c == '-'))
                return false;
            p->i++;
            k++;
        }
        p->i++;
        return k >= 3;
    }
    while ((pc(p) >= 'A' && pc(p) <= 'Z') || (pc(p) >= 'a' && pc(p) <= 'z')) {
        p->i++;
        k++;
    }
    return k >= 3;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh; returns seconds. */
static bool p_hms(struct prd *p, int maxh, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (pc(p) == '+' || pc(p) == '-') {
        sign = pc(p) == '-' ? -1 : 1;
        p->i++;
    }
    if (!p_digits(p, maxh, &h))
        return false;
    if (pc(p) == ':') {
        p->i++;
        if (!p_digits(p, 59, &m))
            return false;
        if (pc(p) == ':') {
            p->i++;
            if (!p_digits(p, 59, &s))
                return false;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

static bool p_date(struct prd *p, struct lh_tz_ruledate *d)
{
    int v;
    memset(d, 0, sizeof *d);
    if (pc(p) == 'J') {
        p->i++;
        if (!p_digits(p, 365, &v) || v < 1)
            return false;
        d->kind = 'J';
        d->day = (uint16_t)v;
    } else if (pc(p) == 'M') {
        int w, wd;
        p->i++;
        if (!p_digits(p, 12, &v) || v < 1 || pc(p) != '.')
            return false;
        p->i++;
        if (!p_digits(p, 5, &w) || w < 1 || pc(p) != '.')
            return false;
        p->i++;
        if (!p_digits(p, 6, &wd))
            return false;
        d->kind = 'M';
        d->month = (uint8_t)v;
        d->week = (uint8_t)w;
        d->wday = (uint8_t)wd;
    } else {
        if (!p_digits(p, 365, &v))
            return false;
        d->kind = 'N';
        d->day = (uint16_t)v;
    }
    d->time = 7200; /* default 02:00 */
    if (pc(p) == '/') {
        p->i++;
        if (!p_hms(p, 167, &d->time)) /* RFC 8536 extension: -167..167 hours */
            return false;
    }
    return true;
}

/* Parses a footer; POSIX offsets are west-positive, ours east-positive. */
static bool parse_posix(const char *s, size_t n, struct lh_tz_rule *r)
{
    struct prd p = {s, n, 0};
    int32_t off;
    memset(r, 0, sizeof *r);
    if (!p_name(&p) || !p_hms(&p, 24, &off))
        return false;
    r->std_off = -off;
    r->dst_off = r->std_off;
    r->present = true;
    if (p.i == n)
        return true;
    if (!p_name(&p))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (pc(&p) != ',' && p.i < n) {
        if (!p_hms(&p, 24, &off))
            return false;
        r->dst_off = -off;
    }
    if (p.i == n) { /* no rule given: the POSIX default (US rules) */
        r->start = (struct lh_tz_ruledate){'M', 0, 3, 2, 0, 7200};
        r->end = (struct lh_tz_ruledate){'M', 0, 11, 1, 0, 7200};
        return true;
    }
    if (pc(&p) != ',')
        return false;
    p.i++;
    if (!p_date(&p, &r->start) || pc(&p) != ',')
        return false;
    p.i++;
    if (!p_date(&p, &r->end))
        return false;
    return p.i == n;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned mdays(int64_t y, unsigned m)
{
    static const unsigned d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Local seconds at which a rule date happens in year y. */
static int64_t rule_local(int64_t y, const struct lh_tz_ruledate *d)
{
    int64_t days;
    if (d->kind == 'J') {
        days = lh_days_from_civil(y, 1, 1) + d->day - 1;
        if (is_leap(y) && d->day >= 60)
            days++;
    } else if (d->kind == 'N') {
        days = lh_days_from_civil(y, 1, 1) + d->day;
    } else {
        int64_t first = lh_days_from_civil(y, d->month, 1);
        int64_t wd_first = ((first % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday */
        int64_t day = (d->wday - wd_first + 7) % 7 + 1 + (int64_t)(d->week - 1) * 7;
        while (day > mdays(y, d->month))
            day -= 7;
        days = first + day - 1;
    }
    return days * 86400 + d->time;
}

struct tr {
    int64_t at;
    int32_t off;
    uint8_t dst;
};

/* The rule's transitions in years y0..y0+2, sorted; returns the count. */
static int rule_transitions(const struct lh_tz_rule *r, int64_t y0, struct tr out[6])
{
    int n = 0;
    if (!r->has_dst)
        return 0;
    for (int64_t y = y0; y < y0 + 3; y++) {
        out[n++] = (struct tr){rule_local(y, &r->start) - r->std_off, r->dst_off, 1};
        out[n++] = (struct tr){rule_local(y, &r->end) - r->dst_off, r->std_off, 0};
    }
    for (int i = 1; i < n; i++) /* insertion sort of six */
        for (int j = i; j > 0 && out[j - 1].at > out[j].at; j--) {
            struct tr t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static int64_t year_of(int64_t u)
{
    int64_t y;
    unsigned m, d;
    if (u > TZ_CLAMP)
        u = TZ_CLAMP;
    if (u < -TZ_CLAMP)
        u = -TZ_CLAMP;
    lh_civil_from_days(lh_sched_floor_div(u, 86400), &y, &m, &d);
    return y;
}

static struct lh_tz_type rule_at(const struct lh_tz_rule *r, int64_t u)
{
    struct tr t[6];
    struct lh_tz_type res = {r->std_off, 0};
    int n = rule_transitions(r, year_of(u) - 1, t);
    for (int i = 0; i < n && t[i].at <= u; i++)
        res = (struct lh_tz_type){t[i].off, t[i].dst};
    return res;
}

static struct lh_tz_type type_at(const struct lh_tz *tz, int64_t u)
{
    if (tz->ntrans == 0)
        return tz->rule.present ? rule_at(&tz->rule, u) : tz->types[0];
    if (u < tz->trans[0])
        return tz->types[0];
    if (u >= tz->trans[tz->ntrans - 1] && tz->rule.present)
        return rule_at(&tz->rule, u);
    uint32_t lo = 0, hi = tz->ntrans; /* largest i with trans[i] <= u */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= u)
            lo = mid;
        else
            hi = mid;
    }
    return tz->types[tz->idx[lo]];
}

/* Segments of constant offset covering [from, to]: seg[0] starts "before"
 * from; seg[k].at for k >= 1 is a transition in (from, to]. */
static int segments(const struct lh_tz *tz, int64_t from, int64_t to, struct tr *seg)
{
    struct lh_tz_type t0 = type_at(tz, from);
    int n = 0;
    seg[n++] = (struct tr){INT64_MIN, t0.off, t0.dst};
    uint32_t lo = 0, hi = tz->ntrans; /* first i with trans[i] > from */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= from)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t table_end = tz->ntrans ? tz->trans[tz->ntrans - 1] : INT64_MIN;
    for (uint32_t i = lo; i < tz->ntrans && tz->trans[i] <= to && n < TZ_SEG_MAX; i++) {
        /* past the table's end the rule decides (below) */
        if (tz->rule.present && tz->trans[i] == table_end)
            break;
        struct lh_tz_type t = tz->types[tz->idx[i]];
        seg[n++] = (struct tr){tz->trans[i], t.off, t.dst};
    }
    if (tz->rule.present && to >= table_end) {
        if (table_end != INT64_MIN && table_end > from && table_end <= to && n < TZ_SEG_MAX) {
            struct lh_tz_type t = rule_at(&tz->rule, table_end);
            seg[n++] = (struct tr){table_end, t.off, t.dst};
        }
        int64_t y = year_of(from) - 1;
        for (; y <= year_of(to) && n < TZ_SEG_MAX; y += 3) {
            struct tr t[6];
            int k = rule_transitions(&tz->rule, y, t);
            for (int i = 0; i < k && n < TZ_SEG_MAX; i++)
                if (t[i].at > from && t[i].at <= to && t[i].at > table_end &&
                    t[i].at > seg[n - 1].at)
                    seg[n++] = t[i];
        }
    }
    return n;
}

/* ------------------------------------------------------------------ public */

const char *lh_tz_name(const struct lh_tz *tz)
{
    return tz ? tz->name : "UTC";
}

void lh_tz_to_local(const struct lh_tz *tz, int64_t utc, struct lh_tz_local *out)
{
    struct lh_tz_type t = tz ? type_at(tz, utc) : (struct lh_tz_type){0, 0};
    out->offset = t.off;
    out->is_dst = t.dst != 0;
    out->local = utc + t.off;
}

int lh_tz_local_to_utc(const struct lh_tz *tz, int64_t local, int64_t out[2])
{
    if (!tz) {
        out[0] = local;
        return 1;
    }
    struct tr seg[TZ_SEG_MAX];
    int ns = segments(tz, local - tz->maxoff - 1, local - tz->minoff + 1, seg);
    int n = 0;
    for (int k = 0; k < ns && n < 2; k++) {
        int64_t u = local - seg[k].off;
        int64_t end = k + 1 < ns ? seg[k + 1].at : INT64_MAX;
        if (u >= seg[k].at && u < end)
            out[n++] = u;
    }
    if (n > 0)
        return n;
    /* A gap: find the transition whose jump passes over `local`. */
    out[0] = local - tz->minoff + 1;
    for (int k = 1; k < ns; k++) {
        if (local >= seg[k].at + seg[k - 1].off && local < seg[k].at + seg[k].off) {
            out[0] = seg[k].at;
            break;
        }
    }
    return 0;
}

bool lh_sched_tz_stable(const struct lh_tz *tz, int64_t utc, int64_t radius)
{
    struct tr seg[TZ_SEG_MAX];
    return segments(tz, utc - radius, utc + radius, seg) == 1;
}

static void finish_bounds(struct lh_tz *tz)
{
    tz->minoff = tz->maxoff = tz->types[0].off;
    for (uint32_t i = 0; i < tz->ntypes; i++) {
        if (tz->types[i].off < tz->minoff)
            tz->minoff = tz->types[i].off;
        if (tz->types[i].off > tz->maxoff)
            tz->maxoff = tz->types[i].off;
    }
    if (tz->rule.present) {
        int32_t o[2] = {tz->rule.std_off, tz->rule.dst_off};
        for (int i = 0; i < 2; i++) {
            if (o[i] < tz->minoff)
                tz->minoff = o[i];
            if (o[i] > tz->maxoff)
                tz->maxoff = o[i];
        }
    }
}

enum lh_status lh_tz_parse(const uint8_t *p, size_t n, const char *name, struct lh_tz **out,
                           struct lh_error *err)
{
    struct rd r = {p, n, 0};
    struct tzhdr h;
    struct lh_tz *tz = NULL;
    const uint8_t *body;
    size_t tsize = 4;
    enum lh_status st;

    *out = NULL;
    if ((st = read_header(&r, &h, err)) != LH_OK)
        goto fail;
    if (!rd_take(&r, body_size(&h, 4), &body)) {
        st = lh_error_set(err, LH_E_FORMAT, "truncated v1 data");
        goto fail;
    }
    if (h.version >= '2') { /* skip v1, use the 64-bit section */
        if ((st = read_header(&r, &h, err)) != LH_OK)
            goto fail;
        tsize = 8;
        if (!rd_take(&r, body_size(&h, 8), &body)) {
            st = lh_error_set(err, LH_E_FORMAT, "truncated v2 data");
            goto fail;
        }
    }
    if (h.leapcnt > 0) {
        st = lh_error_set(err, LH_E_UNSUPPORTED, "zones with leap seconds are not supported");
        goto fail;
    }
    tz = calloc(1, sizeof *tz + (size_t)h.timecnt * 9);
    if (!tz) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(tz->name, sizeof tz->name, "%s", name ? name : "");
    tz->ntrans = h.timecnt;
    tz->ntypes = h.typecnt;
    tz->trans = (int64_t *)(void *)(tz + 1);
    tz->idx = (uint8_t *)(tz->trans + h.timecnt);

    const uint8_t *q = body;
    for (uint32_t i = 0; i < h.timecnt; i++, q += tsize) {
        tz->trans[i] = tsize == 8 ? be64s(q) : (int64_t)(int32_t)be32(q);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
            st = lh_error_set(err, LH_E_FORMAT, "transition times not ascending");
            goto fail;
        }
    }
    for (uint32_t i = 0; i < h.timecnt; i++, q++) {
        if (*q >= h.typecnt) {
            st = lh_error_set(err, LH_E_FORMAT, "transition type %u out of range", *q);
            goto fail;
        }
        tz->idx[i] = *q;
    }
    for (uint32_t i = 0; i < h.typecnt; i++, q += 6) {
        int32_t off = (int32_t)be32(q);
        if (off < -TZ_MAX_OFF || off > TZ_MAX_OFF || q[4] > 1 || q[5] >= h.charcnt) {
            st = lh_error_set(err, LH_E_FORMAT, "bad local time type %u", i);
            goto fail;
        }
        tz->types[i] = (struct lh_tz_type){off, q[4]};
    }
    if (h.version >= '2') {
        const uint8_t *nl;
        size_t i = r.off, k;
        if (!rd_take(&r, 1, &nl) || *nl != '\n') {
            st = lh_error_set(err, LH_E_FORMAT, "missing footer");
            goto fail;
        }
        for (k = i + 1; k < n && p[k] != '\n'; k++)
            if (k - i > TZ_MAX_FOOTER) {
                st = lh_error_set(err, LH_E_FORMAT, "footer too long");
                goto fail;
            }
        if (k >= n) {
            st = lh_error_set(err, LH_E_FORMAT, "unterminated footer");
            goto fail;
        }
        size_t len = k - i - 1;
        if (len > 0 && !parse_posix((const char *)p + i + 1, len, &tz->rule)) {
            st = lh_error_set(err, LH_E_FORMAT, "bad TZ footer '%.*s'", (int)len,
                              (const char *)p + i + 1);
            goto fail;
        }
    }
    finish_bounds(tz);
    *out = tz;
    return LH_OK;
fail:
    free(tz);
    if (name)
        lh_error_prefix(err, "time zone '%s'", name);
    return st;
}

void lh_tz_destroy(struct lh_tz *tz)
{
    free(tz);
}

/* ------------------------------------------------------------------ cache */

static struct lh_tz utc_zone = {
    .name = "UTC",
    .ntypes = 1,
    .types = {{0, 0}},
};

const struct lh_tz *lh_tz_utc(void)
{
    return &utc_zone;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > LH_TZ_NAME_MAX || name[0] == '/')
        return false;
    const char *comp = name;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (c == '/' || c == '\0') {
            size_t len = (size_t)(name + i - comp);
            if (len == 0 || (len == 1 && comp[0] == '.') ||
                (len == 2 && comp[0] == '.' && comp[1] == '.'))
                return false;
            comp = name + i + 1;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '.'))
            return false;
    }
    return true;
}

struct cache_ent {
    char *path;
    struct lh_tz *tz;
};
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_ent cache[TZ_CACHE_MAX];
static size_t ncache;

enum lh_status lh_tz_load(const char *name, const struct lh_tz **out, struct lh_error *err)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    struct lh_tz *tz = NULL;
    enum lh_status st;

    *out = NULL;
    if (!name || !name_ok(name))
        return lh_error_set(err, LH_E_INVAL, "invalid time zone name '%s'", name ? name : "");
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return lh_error_set(err, LH_E_INVAL, "time zone path too long");

    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < ncache; i++) {
        if (strcmp(cache[i].path, path) == 0) {
            *out = cache[i].tz;
            pthread_mutex_unlock(&cache_mu);
            return LH_OK;
        }
    }
    if (ncache == TZ_CACHE_MAX) {
        st = lh_error_set(err, LH_E_TOOBIG, "too many time zones loaded");
        goto fail;
    }
    struct lh_error ferr;
    lh_error_clear(&ferr);
    st = lh_file_read_all(path, LH_TZ_FILE_MAX, &data, &len, &ferr);
    if (st != LH_OK) {
        if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
            *out = &utc_zone; /* no zone database installed */
            st = LH_OK;
            goto fail;
        }
        if (st == LH_E_NOTFOUND || st == LH_E_INVAL || ferr.status == LH_E_INVAL)
            st = lh_error_set(err, LH_E_NOTFOUND, "unknown time zone '%s'", name);
        else
            st = lh_error_set(err, st, "time zone '%s': %s", name, ferr.msg);
        goto fail;
    }
    if ((st = lh_tz_parse(data, len, name, &tz, err)) != LH_OK)
        goto fail;
    cache[ncache].path = strdup(path);
    if (!cache[ncache].path) {
        st = lh_error_set(err, LH_E_NOMEM, "out of memory");
        goto fail;
    }
    cache[ncache++].tz = tz;
    *out = tz;
    tz = NULL;
fail:
    pthread_mutex_unlock(&cache_mu);
    free(data);
    free(tz);
    return st;
}

unsigned lh_sched_mdays(int64_t y, unsigned m)
{
    return mdays(y, m);
}
