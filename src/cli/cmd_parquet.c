/* Placeholder until the reader lands. */
#include "cli.h"

int lh_cmd_parquet(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("parquet: not built yet");
    return 1;
}
