/*
 * batch.c — names and widths of column types.
 */
#include "batch.h"

/* Both from the one type table, LH_TYPE_MAP. */
static const struct {
    const char *name;
    unsigned char width;
} types[] = {
#define LH_X_INFO(name, text, width) {text, width},
    LH_TYPE_MAP(LH_X_INFO)
#undef LH_X_INFO
};

const char *lh_type_name(enum lh_type t)
{
    return (unsigned)t < LH_T_COUNT_ ? types[t].name : "unknown";
}

size_t lh_type_width(const struct lh_field *f)
{
    if (f->type == LH_T_DECIMAL)
        return f->precision <= 9 ? 4 : f->precision <= 18 ? 8 : 16;
    if (f->type == LH_T_FIXED)
        return f->fixed_len;
    return (unsigned)f->type < LH_T_COUNT_ ? types[f->type].width : 0;
}
