/*
 * log.c — levelled logging to one stream, text or JSON lines.
 *
 * One mutex serialises whole lines so concurrent threads never interleave.
 * Callers pass messages that are already redacted: this layer does not know
 * what a password looks like.
 */
#include "core.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum lh_log_level log_level = LH_LOG_INFO;
static bool log_json;
static FILE *log_stream;

void lh_log_set_level(enum lh_log_level lvl)
{
    log_level = lvl;
}

void lh_log_set_json(bool json)
{
    log_json = json;
}

void lh_log_set_stream(FILE *f)
{
    log_stream = f;
}

bool lh_log_enabled(enum lh_log_level lvl)
{
    return lvl >= log_level;
}

static const char *level_name(enum lh_log_level lvl)
{
    switch (lvl) {
    case LH_LOG_DEBUG:
        return "debug";
    case LH_LOG_INFO:
        return "info";
    case LH_LOG_WARN:
        return "warn";
    default:
        return "error";
    }
}

static void json_escape(struct lh_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            lh_buf_append_u8(b, '\\');
            lh_buf_append_u8(b, *p);
        } else if (*p < 0x20) {
            lh_buf_printf(b, "\\u%04x", *p);
        } else {
            lh_buf_append_u8(b, *p);
        }
    }
}

void lh_log(enum lh_log_level lvl, const char *fmt, ...)
{
    if (!lh_log_enabled(lvl))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char ts[40];
    lh_time_format_iso(lh_time_wall_us() / 1000 * 1000, ts, sizeof ts);

    struct lh_buf b;
    lh_buf_init(&b, 16384);
    if (log_json) {
        lh_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_name(lvl));
        json_escape(&b, msg);
        lh_buf_append_str(&b, "\"}\n");
    } else {
        lh_buf_printf(&b, "%s %-5s %s\n", ts, level_name(lvl), msg);
    }
    pthread_mutex_lock(&log_mu);
    FILE *f = log_stream ? log_stream : stderr;
    if (lh_buf_ok(&b))
        fwrite(b.data, 1, b.len, f);
    fflush(f);
    pthread_mutex_unlock(&log_mu);
    lh_buf_free(&b);
}
