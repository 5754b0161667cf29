/*
 * fuzz_replay.c — runs every file under a corpus directory through a
 * libFuzzer entry point once, so fuzz corpora are ordinary tests under gcc
 * and the sanitizer build (zstd's regression driver, SQLite's fuzzcheck).
 * usage: fuzz_replay DIR...
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
            fprintf(stderr, "fuzz_replay: cannot open %s\n", argv[a]);
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
                fprintf(stderr, "fuzz_replay: %s\n", err.msg);
                closedir(d);
                return 1;
            }
            /* an exact-size copy so the sanitizer sees any overread */
            uint8_t *copy = malloc(len ? len : 1);
            if (!copy)
                return 1;
            memcpy(copy, buf, len);
            free(buf);
            LLVMFuzzerTestOneInput(copy, len);
            free(copy);
            files++;
        }
        closedir(d);
    }
    printf("fuzz_replay: %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
