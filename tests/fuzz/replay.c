/*
 * replay.c — the one replay driver of every fuzz target: runs the target
 * over its committed corpus as an ordinary test (gcc and the ASan build), in
 * the manner of zstd's regression driver: every corpus file as is, then
 * deterministic truncations and bit flips of each (the tail gets every byte:
 * that is where a Parquet footer and its length live).
 *
 * Link it with exactly one LLVMFuzzerTestOneInput.
 * usage: <target>_replay DIR...
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t g_runs;

static void run(const uint8_t *p, size_t n)
{
    /* A private copy so ASan sees reads past the end of what we pass. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(copy, p, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    g_runs++;
}

static void mutate(const uint8_t *p, size_t n)
{
    run(p, n);
    /* Truncations: ~64 evenly spaced lengths plus every length near the end,
     * where the footer lives. */
    size_t step = n / 64 ? n / 64 : 1;
    for (size_t len = 0; len < n; len += step)
        run(p, len);
    for (size_t cut = 1; cut <= 48 && cut <= n; cut++)
        run(p, n - cut);
    /* Bit flips: ~256 spread over the file, and every byte of the tail
     * (footer and its length). */
    uint8_t *m = malloc(n ? n : 1);
    if (!m)
        exit(1);
    memcpy(m, p, n);
    size_t fstep = n / 256 ? n / 256 : 1;
    for (size_t i = 0; i < n; i += fstep) {
        m[i] ^= (uint8_t)(1u << (i % 8));
        run(m, n);
        m[i] ^= (uint8_t)(1u << (i % 8));
    }
    size_t tail = n < 512 ? n : 512;
    for (size_t i = n - tail; i < n; i++) {
        static const uint8_t vals[] = {0x00, 0xff, 0x80};
        uint8_t old = m[i];
        for (size_t k = 0; k < sizeof vals; k++) {
            m[i] = vals[k];
            run(m, n);
        }
        m[i] = old;
    }
    free(m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR...\n", argv[0]);
        return 2;
    }
    size_t files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "%s: cannot open\n", argv[a]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            uint8_t *buf;
            size_t n;
            struct lh_error err = {0};
            if (lh_file_read_all(path, 16u << 20, &buf, &n, &err) != LH_OK) {
                fprintf(stderr, "%s: %s\n", path, err.msg);
                closedir(d);
                return 1;
            }
            mutate(buf, n);
            free(buf);
            files++;
        }
        closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "no corpus files\n");
        return 1;
    }
    printf("replayed %zu corpus files, %zu inputs\n", files, g_runs);
    return 0;
}
