/*
 * batch.c — names and widths of column types.
 */
#include "batch.h"

const char *lh_type_name(enum lh_type t)
{
    static const char *const names[] = {
#define LH_X_NAME(name, text) text,
        LH_TYPE_MAP(LH_X_NAME)
#undef LH_X_NAME
    };
    if ((unsigned)t >= LH_T_COUNT_)
        return "unknown";
    return names[t];
}

size_t lh_type_width(const struct lh_field *f)
{
    switch (f->type) {
    case LH_T_BOOL:
        return 1;
    case LH_T_INT8:
    case LH_T_INT16:
    case LH_T_INT32:
    case LH_T_UINT8:
    case LH_T_UINT16:
    case LH_T_UINT32:
    case LH_T_FLOAT:
    case LH_T_DATE:
        return 4;
    case LH_T_INT64:
    case LH_T_UINT64:
    case LH_T_DOUBLE:
    case LH_T_TIMESTAMP:
    case LH_T_TIME:
        return 8;
    case LH_T_DECIMAL:
        return f->precision <= 9 ? 4 : f->precision <= 18 ? 8 : 16;
    case LH_T_UUID:
        return 16;
    case LH_T_FIXED:
        return f->fixed_len;
    case LH_T_STRING:
    case LH_T_JSON:
    case LH_T_ENUM:
    case LH_T_BINARY:
    case LH_T_COUNT_:
        break;
    }
    return 0;
}
