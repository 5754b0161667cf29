/*
 * fuzz_parquet_footer.c — libFuzzer target for the Parquet reader.
 *
 * Opens the input as an in-memory Parquet file and decodes every column of
 * every row group into an arena with a cap, so the footer parser, the page
 * walker and every decoder see hostile bytes. Errors are the expected
 * outcome; crashes, leaks and sanitizer reports are the findings.
 *
 * Built with clang -fsanitize=fuzzer when -DLH_FUZZ=ON; the same function is
 * driven by replay.c over the committed corpus in ctest.
 */
#include <stddef.h>
#include <stdint.h>

#include "parquet/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lh_parquet_reader *r;
    struct lh_error err = {0};
    if (lh_parquet_reader_open_mem(data, size, &r, &err) != LH_OK)
        return 0;
    const struct lh_parquet_file_info *info = lh_parquet_reader_info(r);
    struct lh_arena arena;
    lh_arena_init(&arena, (size_t)64 << 20);
    char text[128];
    for (int32_t g = 0; g < info->num_row_groups; g++) {
        for (size_t c = 0; c < info->schema.nfields; c++) {
            const struct lh_parquet_chunk_info *ch = &info->row_groups[g].chunks[c];
            if (ch->stats.has_min_max) {
                lh_parquet_format_stat(&info->schema.fields[c], &info->columns[c], ch->stats.min,
                                       ch->stats.min_len, text, sizeof text);
                lh_parquet_format_stat(&info->schema.fields[c], &info->columns[c], ch->stats.max,
                                       ch->stats.max_len, text, sizeof text);
            }
            struct lh_array a;
            if (lh_parquet_reader_read_column(r, g, c, &arena, &a, &err) == LH_OK) {
                /* Touch the result the way a consumer would. */
                const struct lh_array *v = a.child ? a.child : &a;
                if (a.list_offsets && (a.list_offsets[0] != 0 || a.list_offsets[a.length] != v->length))
                    __builtin_trap();
                if (v->offsets && v->length > 0 && v->offsets[v->length] < v->offsets[0])
                    __builtin_trap();
            }
            lh_arena_reset(&arena);
        }
    }
    lh_arena_reset(&arena);
    lh_parquet_reader_close(r);
    return 0;
}
