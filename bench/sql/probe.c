/*
 * bench/sql/probe.c — where does a statement's time go between DuckDB on its
 * own and `lakehouse sql`? (bench/sql/run.sh PROBE=1; not a test)
 *
 *   sql_probe LIBDUCKDB BENCH_PARQUETS DIM_PARQUETS THREADS MEMORY_LIMIT REPS FLAGS SQL
 *
 * Opens libduckdb.so with dlopen (our own declarations of the few C API
 * functions used, written from DuckDB's documented C API), creates the
 * views `bench` and `dim` over the comma-separated file lists, and runs SQL
 * REPS times the way FLAGS says (comma-separated):
 *   stream   prepare, duckdb_execute_prepared_streaming, fetch every chunk
 *            (what lakehouse does); without it: duckdb_query, materialized
 *            (what the node baseline does)
 *   tx       each run inside BEGIN TRANSACTION ... ROLLBACK (lakehouse)
 *   sandbox  the engine's configuration: extension autoload/autoinstall
 *            off, temp_directory '', allowed_paths = the parts,
 *            enable_external_access false, lock_configuration true
 * Prints one line: best and median ms, and the process's CPU ms per run.
 * FLAGS "stream,tx,sandbox" is lakehouse's statement path without its
 * catalog, checks and output; "-" is DuckDB as the node baseline uses it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* duckdb_result: six pointer-sized members (deprecated fields and the
 * internal data), zeroed before use. */
struct probe_result {
    uint64_t m[6];
};

struct api {
    int (*create_config)(void **);
    int (*set_config)(void *, const char *, const char *);
    void (*destroy_config)(void **);
    int (*open_ext)(const char *, void **, void *, char **);
    void (*close)(void **);
    int (*connect)(void *, void **);
    void (*disconnect)(void **);
    int (*query)(void *, const char *, struct probe_result *);
    void (*destroy_result)(struct probe_result *);
    const char *(*result_error)(struct probe_result *);
    int (*prepare)(void *, const char *, void **);
    const char *(*prepare_error)(void *);
    void (*destroy_prepare)(void **);
    int (*execute_prepared_streaming)(void *, struct probe_result *);
    void *(*fetch_chunk)(struct probe_result);
    uint64_t (*chunk_size)(void *);
    void (*destroy_chunk)(void **);
};

static int load(const char *path, struct api *a)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "sql_probe: %s\n", dlerror());
        return -1;
    }
    struct {
        const char *name;
        void **slot;
    } t[] = {
        {"duckdb_create_config", (void **)&a->create_config},
        {"duckdb_set_config", (void **)&a->set_config},
        {"duckdb_destroy_config", (void **)&a->destroy_config},
        {"duckdb_open_ext", (void **)&a->open_ext},
        {"duckdb_close", (void **)&a->close},
        {"duckdb_connect", (void **)&a->connect},
        {"duckdb_disconnect", (void **)&a->disconnect},
        {"duckdb_query", (void **)&a->query},
        {"duckdb_destroy_result", (void **)&a->destroy_result},
        {"duckdb_result_error", (void **)&a->result_error},
        {"duckdb_prepare", (void **)&a->prepare},
        {"duckdb_prepare_error", (void **)&a->prepare_error},
        {"duckdb_destroy_prepare", (void **)&a->destroy_prepare},
        {"duckdb_execute_prepared_streaming", (void **)&a->execute_prepared_streaming},
        {"duckdb_fetch_chunk", (void **)&a->fetch_chunk},
        {"duckdb_data_chunk_get_size", (void **)&a->chunk_size},
        {"duckdb_destroy_data_chunk", (void **)&a->destroy_chunk},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        void *f = dlsym(h, t[i].name);
        if (!f) {
            fprintf(stderr, "sql_probe: %s lacks %s\n", path, t[i].name);
            return -1;
        }
        memcpy(t[i].slot, &f, sizeof f);
    }
    return 0;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int run(const struct api *a, void *con, const char *sql)
{
    struct probe_result r;
    memset(&r, 0, sizeof r);
    int rc = a->query(con, sql, &r);
    if (rc != 0)
        fprintf(stderr, "sql_probe: %s: %s\n", sql, a->result_error(&r));
    a->destroy_result(&r);
    return rc;
}

/* "[ 'a', 'b' ]" from "a,b" into out (paths hold no quote or comma). */
static void list(const char *files, char *out, size_t cap)
{
    size_t n = 0;
    out[n++] = '[';
    out[n++] = '\'';
    for (const char *p = files; *p && n + 8 < cap; p++) {
        if (*p == ',') {
            memcpy(out + n, "','", 3);
            n += 3;
        } else {
            out[n++] = *p;
        }
    }
    memcpy(out + n, "']", 3);
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: sql_probe LIBDUCKDB BENCH_PARQUETS DIM_PARQUETS THREADS "
                        "MEMORY_LIMIT REPS FLAGS SQL\n");
        return 2;
    }
    const char *flags = argv[7], *sql = argv[8];
    int reps = atoi(argv[6]) > 0 ? atoi(argv[6]) : 3;
    int stream = strstr(flags, "stream") != NULL, tx = strstr(flags, "tx") != NULL,
        sandbox = strstr(flags, "sandbox") != NULL;
    struct api a;
    if (load(argv[1], &a) != 0)
        return 1;
    void *cfg = NULL, *db = NULL, *con = NULL;
    char *msg = NULL;
    a.create_config(&cfg);
    a.set_config(cfg, "threads", argv[4]);
    a.set_config(cfg, "memory_limit", argv[5]);
    if (sandbox) {
        a.set_config(cfg, "autoinstall_known_extensions", "false");
        a.set_config(cfg, "autoload_known_extensions", "false");
        a.set_config(cfg, "allow_community_extensions", "false");
        a.set_config(cfg, "allow_unsigned_extensions", "false");
        a.set_config(cfg, "temp_directory", "");
    }
    if (a.open_ext(NULL, &db, cfg, &msg) != 0 || a.connect(db, &con) != 0) {
        fprintf(stderr, "sql_probe: open: %s\n", msg ? msg : "failed");
        return 1;
    }
    a.destroy_config(&cfg);
    static char bl[16384], dl[16384], q[40000];
    list(argv[2], bl, sizeof bl);
    list(argv[3], dl, sizeof dl);
    snprintf(q, sizeof q, "SET TimeZone = 'UTC'");
    if (run(&a, con, q))
        return 1;
    if (sandbox) {
        snprintf(q, sizeof q, "SET allowed_paths = %.16000s || %.16000s", bl, dl);
        if (run(&a, con, q))
            return 1;
    }
    snprintf(q, sizeof q, "CREATE VIEW bench AS SELECT * FROM read_parquet(%s)", bl);
    if (run(&a, con, q))
        return 1;
    snprintf(q, sizeof q, "CREATE VIEW dim AS SELECT * FROM read_parquet(%s)", dl);
    if (run(&a, con, q))
        return 1;
    if (sandbox &&
        run(&a, con, "SET enable_external_access = false; SET lock_configuration = true"))
        return 1;
    double *ms = calloc((size_t)reps, sizeof *ms);
    if (!ms)
        return 1;
    uint64_t rows = 0;
    double c0 = cpu_ms();
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (tx && run(&a, con, "BEGIN TRANSACTION"))
            return 1;
        rows = 0;
        if (stream) {
            void *st = NULL;
            struct probe_result r;
            memset(&r, 0, sizeof r);
            if (a.prepare(con, sql, &st) != 0) {
                fprintf(stderr, "sql_probe: %s\n", a.prepare_error(st));
                return 1;
            }
            if (a.execute_prepared_streaming(st, &r) != 0) {
                fprintf(stderr, "sql_probe: %s\n", a.result_error(&r));
                return 1;
            }
            for (void *ch; (ch = a.fetch_chunk(r)) != NULL; a.destroy_chunk(&ch))
                rows += a.chunk_size(ch);
            a.destroy_result(&r);
            a.destroy_prepare(&st);
        } else {
            struct probe_result r;
            memset(&r, 0, sizeof r);
            if (a.query(con, sql, &r) != 0) {
                fprintf(stderr, "sql_probe: %s\n", a.result_error(&r));
                return 1;
            }
            for (void *ch; (ch = a.fetch_chunk(r)) != NULL; a.destroy_chunk(&ch))
                rows += a.chunk_size(ch);
            a.destroy_result(&r);
        }
        if (tx && run(&a, con, "ROLLBACK"))
            return 1;
        ms[i] = now_ms() - t0;
    }
    double cpu = (cpu_ms() - c0) / reps;
    qsort(ms, (size_t)reps, sizeof *ms, cmp);
    printf("flags=%s best_ms=%.3f median_ms=%.3f cpu_ms=%.3f rows=%llu\n", flags, ms[0],
           reps % 2 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2, cpu,
           (unsigned long long)rows);
    free(ms);
    a.disconnect(&con);
    a.close(&db);
    return 0;
}
