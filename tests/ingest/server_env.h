/*
 * server_env.h — reads one KEY='value' line of a test server's env file
 * (tests/servers/pg.sh and mariadb.sh write them). For the ingest tests, which include it
 * after <cmocka.h>: a missing file or key fails the test.
 */
#ifndef LH_TEST_SERVER_ENV_H
#define LH_TEST_SERVER_ENV_H

#include <stdio.h>
#include <string.h>

static void env_get(const char *file, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    char line[1024];
    size_t kl = strlen(key);
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            char *v = line + kl + 1;
            v[strcspn(v, "\n")] = '\0';
            size_t n = strlen(v);
            if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
                v[n - 1] = '\0';
                v++;
            }
            snprintf(out, cap, "%s", v);
        }
    }
    fclose(f);
    assert_true(out[0]);
}

#endif
