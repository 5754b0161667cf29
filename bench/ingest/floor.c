/*
 * floor.c — the minimal clients our source is measured against:
 *   floor postgres "KEYVAL-DSN" TABLE : COPY (SELECT * FROM t) TO STDOUT (FORMAT binary), drained
 *   floor mysql HOST PORT USER PASS DB TABLE : prepared SELECT *, unbuffered binary fetch,
 *                                             bound once, rows discarded (the protocol
 *                                             lakehouse's MySQL source speaks)
 *   floor mysql-text HOST PORT USER PASS DB TABLE : plain SELECT *, streamed with
 *                                             mysql_use_result, every row fetched and
 *                                             discarded (the text protocol: the least
 *                                             work a client can do)
 * Both connect over TCP (HOST, PORT) as USER: the same path as lakehouse.
 * Prints the same line shape as bench_source. Built by bench/CMakeLists.txt
 * (target ingest_floor) and by the bench/ingest scripts.
 */
#include <libpq-fe.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static void report(const char *label, long long rows, double wall)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
    printf("%s rows=%lld wall_s=%.3f rows_per_s=%.0f cpu_s_per_mrow=%.3f peak_rss_mib=%.1f\n",
           label, rows, wall, (double)rows / wall, cpu / ((double)rows / 1e6),
           (double)ru.ru_maxrss / 1024.0);
}

static int pg(const char *dsn, const char *table)
{
    double t0 = now();
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    char sql[512];
    snprintf(sql, sizeof sql, "COPY (SELECT * FROM %s) TO STDOUT (FORMAT binary)", table);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    PQclear(r);
    long long msgs = 0;
    char *buf;
    int n;
    while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
        msgs++;
        PQfreemem(buf);
    }
    r = PQgetResult(c);
    PQclear(r);
    PQfinish(c);
    report("floor-postgres", msgs - 1, now() - t0); /* header shares the first message */
    return 0;
}

static int my(char **a)
{
    double t0 = now();
    MYSQL *c = mysql_init(NULL);
    if (!mysql_real_connect(c, a[0], a[2], a[3], a[4], (unsigned)strtoul(a[1], NULL, 10), NULL,
                            0)) {
        fprintf(stderr, "%s\n", mysql_error(c));
        return 1;
    }
    MYSQL_STMT *st = mysql_stmt_init(c);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", a[5]);
    if (mysql_stmt_prepare(st, sql, strlen(sql))) {
        fprintf(stderr, "%s\n", mysql_stmt_error(st));
        return 1;
    }
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    unsigned nf = mysql_num_fields(meta);
    MYSQL_BIND *b = calloc(nf, sizeof *b);
    char(*bufs)[4096] = calloc(nf, 4096);
    unsigned long *lens = calloc(nf, sizeof *lens);
    my_bool *nulls = calloc(nf, sizeof *nulls);
    for (unsigned i = 0; i < nf; i++) {
        MYSQL_FIELD *f = mysql_fetch_field_direct(meta, i);
        b[i].buffer_type = f->type; /* native type: no client conversion */
        b[i].buffer = bufs[i];
        b[i].buffer_length = 4096;
        b[i].length = &lens[i];
        b[i].is_null = &nulls[i];
        b[i].is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
    }
    mysql_stmt_bind_result(st, b);
    if (mysql_stmt_execute(st)) {
        fprintf(stderr, "%s\n", mysql_stmt_error(st));
        return 1;
    }
    long long rows = 0;
    int rc;
    while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED)
        rows++;
    mysql_free_result(meta);
    mysql_stmt_close(st);
    mysql_close(c);
    report("floor-mysql", rows, now() - t0);
    return 0;
}

static int my_text(char **a)
{
    double t0 = now();
    MYSQL *c = mysql_init(NULL);
    if (!mysql_real_connect(c, a[0], a[2], a[3], a[4], (unsigned)strtoul(a[1], NULL, 10), NULL,
                            0)) {
        fprintf(stderr, "%s\n", mysql_error(c));
        return 1;
    }
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", a[5]);
    if (mysql_real_query(c, sql, strlen(sql))) {
        fprintf(stderr, "%s\n", mysql_error(c));
        return 1;
    }
    MYSQL_RES *res = mysql_use_result(c); /* streamed: one row in memory at a time */
    if (!res) {
        fprintf(stderr, "%s\n", mysql_error(c));
        return 1;
    }
    long long rows = 0;
    while (mysql_fetch_row(res))
        rows++;
    if (mysql_errno(c)) {
        fprintf(stderr, "%s\n", mysql_error(c));
        return 1;
    }
    mysql_free_result(res);
    mysql_close(c);
    report("floor-mysql-text", rows, now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "postgres"))
        return pg(argv[2], argv[3]);
    if (argc >= 8 && !strcmp(argv[1], "mysql"))
        return my(argv + 2);
    if (argc >= 8 && !strcmp(argv[1], "mysql-text"))
        return my_text(argv + 2);
    fprintf(stderr, "usage: floor postgres DSN TABLE | floor mysql|mysql-text HOST PORT USER PASS "
                    "DB TABLE\n");
    return 2;
}
