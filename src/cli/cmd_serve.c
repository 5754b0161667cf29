/* Placeholder until the daemon lands. */
#include "cli.h"

int lh_cmd_serve(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("serve: not built yet");
    return 1;
}
