/* Placeholder until the scheduler's cron lands. */
#include "cli.h"

int lh_cmd_cron(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("cron: not built yet");
    return 1;
}
