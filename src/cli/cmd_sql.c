/* Placeholder until the SQL engine lands. */
#include "cli.h"

int lh_cmd_sql(int argc, char **argv)
{
    (void)argc, (void)argv;
    lh_cli_error("sql: not built yet");
    return 1;
}
