/* Placeholder until the ingest job lands. */
#include "cli.h"

int lh_cmd_ingest(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("ingest: not built yet");
    return 1;
}
