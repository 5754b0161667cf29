/* Placeholder until the scheduler lands. */
#include "cli.h"

int lh_cmd_schedule(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("schedule: not built yet");
    return 1;
}
