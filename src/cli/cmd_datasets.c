/* Placeholder until the catalog lands. */
#include "cli.h"

int lh_cmd_datasets(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("datasets: not built yet");
    return 1;
}
