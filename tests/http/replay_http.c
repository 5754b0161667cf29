/*
 * replay_http.c — runs every file of the corpus directories through the
 * fuzz entry point once, plus every truncation of each file at 8 points,
 * so the corpus is an ordinary ctest test under gcc and the sanitizers.
 * usage: http_fuzz_replay DIR...
 */
#include "core/core.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "replay: cannot open %s\n", argv[a]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            uint8_t *buf = NULL;
            size_t len = 0;
            struct lh_error err;
            if (lh_file_read_all(path, 1 << 20, &buf, &len, &err) != LH_OK) {
                fprintf(stderr, "replay: %s\n", err.msg);
                closedir(d);
                return 1;
            }
            for (int cut = 8; cut >= 0; cut--) {
                size_t n = len * (size_t)cut / 8;
                uint8_t *copy = malloc(n ? n : 1); /* exact size: overreads show */
                if (!copy)
                    return 1;
                memcpy(copy, buf, n);
                LLVMFuzzerTestOneInput(copy, n);
                free(copy);
            }
            free(buf);
            files++;
        }
        closedir(d);
    }
    printf("replay: %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
