/* Placeholder until the writer lands. */
#include "parquet_int.h"

#include <stdlib.h>

void lh_parquet_writer_options_init(struct lh_parquet_writer_options *o)
{
    *o = (struct lh_parquet_writer_options){0};
    o->codec = LH_PQ_ZSTD;
    o->zstd_level = 3;
}

enum lh_status lh_parquet_writer_create(const struct lh_schema *schema,
                                        const struct lh_parquet_writer_options *opt,
                                        lh_parquet_sink_fn sink, void *sink_ctx,
                                        struct lh_parquet_writer **out, struct lh_error *err)
{
    (void)schema, (void)opt, (void)sink, (void)sink_ctx;
    *out = NULL;
    return lh_error_set(err, LH_E_UNSUPPORTED, "parquet writer not built yet");
}
