/* Placeholder until the reader lands. */
#include "parquet_int.h"

enum lh_status lh_parquet_reader_open_file(const char *path, struct lh_parquet_reader **out,
                                           struct lh_error *err)
{
    *out = NULL;
    return lh_error_set(err, LH_E_UNSUPPORTED, "%s: parquet reader not built yet", path);
}
