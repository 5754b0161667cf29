/*
 * test_store.c — the object store contract, run against both backends: a
 * local directory and a real S3 server (s3rver on loopback). Then the
 * backend-specific parts: disk full and I/O errors (local), concurrent
 * compare-and-swap across processes (local), multipart uploads, list
 * pagination, virtual-host addressing and HTTP error mapping (S3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/store.h"
#include "s3helper.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fx {
    bool s3;
    char dir[256];
    struct s3srv srv;
    char endpoint[64];
    struct lh_store *st;
};

static struct fx local_fx, s3_fx;

static int setup_local(void **state)
{
    snprintf(local_fx.dir, sizeof local_fx.dir, "/tmp/lh-store-test-XXXXXX");
    if (!mkdtemp(local_fx.dir))
        return -1;
    struct lh_error err;
    if (lh_store_open(local_fx.dir, NULL, &local_fx.st, &err) != LH_OK)
        return -1;
    *state = &local_fx;
    return 0;
}

static int teardown_local(void **state)
{
    (void)state;
    lh_store_close(local_fx.st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", local_fx.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct lh_store_options s3_opts(const struct fx *f)
{
    struct lh_store_options o = {.endpoint = f->endpoint,
                                 .region = "us-east-1",
                                 .access_key = "S3RVER",
                                 .secret_key = "S3RVER"};
    return o;
}

static int setup_s3(void **state)
{
    s3_fx.s3 = true;
    if (s3srv_start(&s3_fx.srv, "lhtest") != 0)
        return -1;
    snprintf(s3_fx.endpoint, sizeof s3_fx.endpoint, "http://127.0.0.1:%d", s3_fx.srv.port);
    struct lh_store_options o = s3_opts(&s3_fx);
    struct lh_error err;
    if (lh_store_open("s3://lhtest/pfx/a", &o, &s3_fx.st, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = &s3_fx;
    return 0;
}

static int reuse_s3(void **state)
{
    *state = &s3_fx;
    return s3_fx.st ? 0 : -1;
}

static int teardown_s3(void **state)
{
    (void)state;
    lh_store_close(s3_fx.st);
    s3srv_stop(&s3_fx.srv);
    return 0;
}

#define OK(expr)                                                                                   \
    do {                                                                                           \
        struct lh_error e_;                                                                        \
        lh_error_clear(&e_);                                                                       \
        enum lh_status s_ = (expr);                                                                \
        if (s_ != LH_OK)                                                                           \
            fail_msg("%s: %s", #expr, e_.msg);                                                     \
    } while (0)

static void expect_content(struct lh_store *st, const char *key, const char *want)
{
    uint8_t *d;
    size_t n;
    struct lh_error err;
    enum lh_status s = lh_store_get(st, key, 0, &d, &n, NULL, &err);
    if (s != LH_OK)
        fail_msg("get %s: %s", key, err.msg);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(d, want, n);
    free(d);
}

/* ------------------------------------------------------------ both backends */

static void test_put_get_stat(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    char tok1[LH_STORE_TOKEN_MAX], tok2[LH_STORE_TOKEN_MAX];
    OK(lh_store_put(f->st, "pg/one.txt", "hello", 5, &e_));
    expect_content(f->st, "pg/one.txt", "hello");
    uint64_t sz = 0;
    OK(lh_store_stat(f->st, "pg/one.txt", &sz, &e_));
    assert_int_equal(sz, 5);
    uint8_t *d;
    size_t n;
    OK(lh_store_get(f->st, "pg/one.txt", 0, &d, &n, tok1, &e_));
    free(d);
    assert_true(strlen(tok1) > 0);
    OK(lh_store_put(f->st, "pg/one.txt", "bye", 3, &e_));
    expect_content(f->st, "pg/one.txt", "bye");
    OK(lh_store_get(f->st, "pg/one.txt", 0, &d, &n, tok2, &e_));
    free(d);
    assert_string_not_equal(tok1, tok2);
    /* empty object */
    OK(lh_store_put(f->st, "pg/empty", "", 0, &e_));
    OK(lh_store_get(f->st, "pg/empty", 0, &d, &n, NULL, &e_));
    assert_int_equal(n, 0);
    free(d);
    /* missing and too big */
    assert_int_equal(lh_store_get(f->st, "pg/none", 0, &d, &n, NULL, &err), LH_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "pg/none"));
    assert_int_equal(lh_store_stat(f->st, "pg/none", &sz, &err), LH_E_NOTFOUND);
    assert_int_equal(lh_store_get(f->st, "pg/one.txt", 2, &d, &n, NULL, &err), LH_E_TOOBIG);
    assert_null(d);
}

static void test_put_if_absent(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    OK(lh_store_put_if_absent(f->st, "pia/x", "first", 5, &e_));
    assert_int_equal(lh_store_put_if_absent(f->st, "pia/x", "second", 6, &err), LH_E_EXISTS);
    expect_content(f->st, "pia/x", "first");
}

static void test_replace_if(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    char tok[LH_STORE_TOKEN_MAX], newtok[LH_STORE_TOKEN_MAX], tok2[LH_STORE_TOKEN_MAX];
    uint8_t *d;
    size_t n;
    OK(lh_store_put(f->st, "cas/rec", "v1", 2, &e_));
    OK(lh_store_get(f->st, "cas/rec", 0, &d, &n, tok, &e_));
    free(d);
    OK(lh_store_replace_if(f->st, "cas/rec", "v2", 2, tok, newtok, &e_));
    expect_content(f->st, "cas/rec", "v2");
    /* the stale token loses */
    assert_int_equal(lh_store_replace_if(f->st, "cas/rec", "v3", 2, tok, NULL, &err),
                     LH_E_CONFLICT);
    expect_content(f->st, "cas/rec", "v2");
    /* the returned token is the current one */
    OK(lh_store_get(f->st, "cas/rec", 0, &d, &n, tok2, &e_));
    free(d);
    assert_string_equal(newtok, tok2);
    OK(lh_store_replace_if(f->st, "cas/rec", "v4", 2, newtok, NULL, &e_));
    expect_content(f->st, "cas/rec", "v4");
    /* replacing a missing object */
    assert_int_equal(lh_store_replace_if(f->st, "cas/gone", "x", 1, tok, NULL, &err),
                     LH_E_NOTFOUND);
    assert_int_equal(lh_store_replace_if(f->st, "cas/rec", "x", 1, "", NULL, &err), LH_E_INVAL);
}

static void test_list_delete(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    const char *keys[] = {"ls/b/2", "ls/a/1", "ls/a/3", "ls/c", "lsx/other", "ls/a b+c&d.txt"};
    for (size_t i = 0; i < 6; i++)
        OK(lh_store_put(f->st, keys[i], keys[i], strlen(keys[i]), &e_));
    struct lh_store_list l;
    OK(lh_store_list(f->st, "ls/", &l, &e_));
    const char *want[] = {"ls/a b+c&d.txt", "ls/a/1", "ls/a/3", "ls/b/2", "ls/c"};
    assert_int_equal(l.count, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(l.items[i].key, want[i]);
        assert_int_equal(l.items[i].size, strlen(want[i]));
    }
    lh_store_list_reset(&l);
    OK(lh_store_list(f->st, "ls/a", &l, &e_));
    assert_int_equal(l.count, 3);
    lh_store_list_reset(&l);
    OK(lh_store_list(f->st, "nothing/", &l, &e_));
    assert_int_equal(l.count, 0);
    lh_store_list_reset(&l);
    OK(lh_store_delete(f->st, "ls/a/1", &e_));
    OK(lh_store_delete(f->st, "ls/a/1", &e_)); /* idempotent */
    uint8_t *d;
    size_t n;
    assert_int_equal(lh_store_get(f->st, "ls/a/1", 0, &d, &n, NULL, &err), LH_E_NOTFOUND);
    OK(lh_store_list(f->st, "ls/a", &l, &e_));
    assert_int_equal(l.count, 2);
    lh_store_list_reset(&l);
    assert_int_equal(lh_store_list(f->st, "../", &l, &err), LH_E_INVAL);
}

static void test_upload_commit_abort(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    struct lh_store_upload *up;
    uint8_t *d;
    size_t n;
    OK(lh_store_upload_begin(f->st, "up/a.bin", &up, &e_));
    OK(lh_store_upload_write(up, "abc", 3, &e_));
    OK(lh_store_upload_write(up, "def", 3, &e_));
    assert_int_equal(lh_store_upload_size(up), 6);
    /* not visible before commit */
    assert_int_equal(lh_store_get(f->st, "up/a.bin", 0, &d, &n, NULL, &err), LH_E_NOTFOUND);
    struct lh_store_list l;
    OK(lh_store_list(f->st, "up/", &l, &e_));
    assert_int_equal(l.count, 0);
    lh_store_list_reset(&l);
    OK(lh_store_upload_commit(up, &e_));
    expect_content(f->st, "up/a.bin", "abcdef");

    OK(lh_store_upload_begin(f->st, "up/b.bin", &up, &e_));
    OK(lh_store_upload_write(up, "zzz", 3, &e_));
    lh_store_upload_abort(up);
    OK(lh_store_list(f->st, "up/", &l, &e_));
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].key, "up/a.bin");
    lh_store_list_reset(&l);
}

static void test_bad_keys(void **state)
{
    struct fx *f = *state;
    static const char *bad[] = {"",         "/abs",        "a/../b",    "..",       "a/./b",
                                "a//b",     "dir/",        "ctl\x01",   "tab\tkey", "new\nline",
                                "back\\sl", ".lh-locks/x", "x.tmp-123", "a/.."};
    struct lh_error err;
    uint8_t *d;
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lh_store_put(f->st, bad[i], "x", 1, &err), LH_E_INVAL);
        assert_int_equal(lh_store_get(f->st, bad[i], 0, &d, &n, NULL, &err), LH_E_INVAL);
        assert_int_equal(lh_store_delete(f->st, bad[i], &err), LH_E_INVAL);
    }
    char longkey[LH_STORE_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(lh_store_put(f->st, longkey, "x", 1, &err), LH_E_INVAL);
    OK(lh_store_put(f->st, "ok/.hidden-but-fine", "x", 1, &e_));
}

/* Where outside readers find the objects: a URI for every backend, a
 * directory only where the objects are files on this machine. */
static void test_location(void **state)
{
    struct fx *f = *state;
    char loc[2048], dir[2048];
    struct lh_error err;
    OK(lh_store_location(f->st, loc, sizeof loc, &e_));
    enum lh_status s = lh_store_local_dir(f->st, dir, sizeof dir, &err);
    if (f->s3) {
        assert_string_equal(loc, "s3://lhtest/pfx/a");
        assert_int_equal(s, LH_E_UNSUPPORTED);
    } else {
        assert_int_equal(s, LH_OK);
        char *real = realpath(f->dir, NULL);
        assert_non_null(real);
        assert_string_equal(dir, real);
        char want[2100];
        snprintf(want, sizeof want, "file://%s", real); /* /tmp/lh-store-test-X: nothing to encode */
        assert_string_equal(loc, want);
        free(real);
    }
    assert_int_equal(lh_store_location(f->st, loc, 8, &err), LH_E_TOOBIG);
}

/* ------------------------------------------------------------ pure functions */

static void test_key_rules(void **state)
{
    (void)state;
    struct lh_error err;
    static const struct {
        const char *name;
        enum lh_status want;
    } names[] = {{"customers", LH_OK},    {"a.b-c_d", LH_OK},     {"", LH_E_INVAL},
                 {".hidden", LH_E_INVAL}, {"a/b", LH_E_INVAL},    {"..", LH_E_INVAL},
                 {"x y", LH_E_INVAL},     {"x.tmp-1", LH_E_INVAL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_int_equal(lh_store_name_check(names[i].name, &err), names[i].want);
}

/* ------------------------------------------------------------ local only */

static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_local_enospc_keeps_previous(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    OK(lh_store_put(f->st, "full/obj", "previous", 8, &e_));
    char big[4096];
    memset(big, 'x', sizeof big);
    lh_fault_set_enospc_after(1000);
    enum lh_status s = lh_store_put(f->st, "full/obj", big, sizeof big, &err);
    struct lh_store_upload *up;
    struct lh_error err2;
    enum lh_status s2 = lh_store_upload_begin(f->st, "full/streamed", &up, &err2);
    assert_int_equal(s2, LH_OK);
    s2 = lh_store_upload_write(up, big, sizeof big, &err2);
    if (s2 != LH_OK)
        lh_store_upload_abort(up);
    lh_fault_set_enospc_after(0);
    assert_int_equal(s, LH_E_NOSPC);
    assert_non_null(strstr(err.msg, "full/obj"));
    assert_int_equal(s2, LH_E_NOSPC);
    expect_content(f->st, "full/obj", "previous");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/full", f->dir);
    assert_int_equal(count_files(dir), 1); /* no temporaries, no streamed object */
}

static void test_local_io_error_keeps_previous(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    /* a directory where the object should be: rename fails with EISDIR */
    OK(lh_store_put(f->st, "io/blocker/inner", "x", 1, &e_));
    enum lh_status s = lh_store_put(f->st, "io/blocker", "data", 4, &err);
    assert_true(s == LH_E_IO || s == LH_E_EXISTS || s == LH_E_INVAL);
    assert_non_null(strstr(err.msg, "io/blocker"));
    expect_content(f->st, "io/blocker/inner", "x");
    /* a file where a directory should be */
    OK(lh_store_put(f->st, "io/file", "keep", 4, &e_));
    s = lh_store_put(f->st, "io/file/child", "data", 4, &err);
    assert_int_not_equal(s, LH_OK);
    expect_content(f->st, "io/file", "keep");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/io", f->dir);
    assert_int_equal(count_files(dir), 2);
}

/* N processes each add K to a counter with get + replace_if and retry; the
 * sum is exact only if no update is ever lost. Also N processes race one
 * put_if_absent: exactly one wins. */
static void test_local_cas_across_processes(void **state)
{
    struct fx *f = *state;
    enum { NPROC = 4, K = 25 };
    OK(lh_store_put(f->st, "cnt/counter", "0", 1, &e_));
    pid_t pids[NPROC];
    for (int p = 0; p < NPROC; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct lh_store *st;
            struct lh_error err;
            if (lh_store_open(f->dir, NULL, &st, &err) != LH_OK)
                _exit(2);
            int created = lh_store_put_if_absent(st, "cnt/once", "p", 1, &err) == LH_OK;
            for (int i = 0; i < K; i++) {
                for (;;) {
                    uint8_t *d;
                    size_t n;
                    char tok[LH_STORE_TOKEN_MAX];
                    if (lh_store_get(st, "cnt/counter", 0, &d, &n, tok, &err) != LH_OK)
                        _exit(3);
                    int64_t v = 0;
                    if (!lh_parse_i64((const char *)d, &v))
                        _exit(4);
                    free(d);
                    char buf[32];
                    int len = snprintf(buf, sizeof buf, "%lld", (long long)(v + 1));
                    enum lh_status s =
                        lh_store_replace_if(st, "cnt/counter", buf, (size_t)len, tok, NULL, &err);
                    if (s == LH_OK)
                        break;
                    if (s != LH_E_CONFLICT)
                        _exit(5);
                }
            }
            lh_store_close(st);
            _exit(created ? 10 : 11);
        }
    }
    int winners = 0;
    for (int p = 0; p < NPROC; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        int code = WEXITSTATUS(st);
        assert_true(code == 10 || code == 11);
        winners += code == 10;
    }
    assert_int_equal(winners, 1);
    char want[16];
    snprintf(want, sizeof want, "%d", NPROC * K);
    expect_content(f->st, "cnt/counter", want);
}

static void test_store_set(void **state)
{
    struct fx *f = *state;
    char root[300], cfg[300], other[300];
    snprintf(root, sizeof root, "%s/setroot", f->dir);
    snprintf(other, sizeof other, "%s/elsewhere", f->dir);
    snprintf(cfg, sizeof cfg, "%s/buckets.json", f->dir);
    FILE *fp = fopen(cfg, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"buckets\": {\"archive\": {\"url\": \"%s\"}}}", other);
    fclose(fp);
    struct lh_store_set *set;
    OK(lh_store_set_open(root, cfg, NULL, &set, &e_));
    struct lh_store *p = lh_store_set_primary(set), *a, *x;
    assert_non_null(p);
    OK(lh_store_set_get(set, "archive", &a, &e_));
    OK(lh_store_put(a, "k", "arch", 4, &e_));
    OK(lh_store_put(p, "k", "prim", 4, &e_));
    OK(lh_store_set_get(set, "scratch", &x, &e_)); /* derived: root/scratch */
    OK(lh_store_put(x, "k", "scr", 3, &e_));
    struct lh_error err;
    assert_int_equal(lh_store_set_get(set, "../up", &x, &err), LH_E_INVAL);
    lh_store_set_close(set);
    char path[400];
    snprintf(path, sizeof path, "%s/k", other);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    snprintf(path, sizeof path, "%s/primary/k", root);
    assert_int_equal(stat(path, &sb), 0);
    snprintf(path, sizeof path, "%s/scratch/k", root);
    assert_int_equal(stat(path, &sb), 0);
    /* a broken config is an error naming the file */
    fp = fopen(cfg, "w");
    assert_non_null(fp);
    fputs("{\"buckets\": [", fp);
    fclose(fp);
    assert_int_equal(lh_store_set_open(root, cfg, NULL, &set, &err), LH_E_FORMAT);
    assert_non_null(strstr(err.msg, "buckets.json"));
    assert_null(set);
}

/* ------------------------------------------------------------ sweep */

/* A child process begins an upload of key, writes 9 MiB (past the S3
 * part size, so a multipart upload is under way) and is killed. */
static void killed_upload(struct fx *f, const char *key)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct lh_store *st;
        struct lh_store_upload *up;
        struct lh_error e;
        static uint8_t chunk[1 << 20];
        memset(chunk, 'x', sizeof chunk);
        /* a store of its own: the parent's S3 connections stay the parent's */
        struct lh_store_options o = s3_opts(f);
        if (lh_store_open(f->s3 ? lh_store_url(f->st) : f->dir, f->s3 ? &o : NULL, &st, &e) !=
                LH_OK ||
            lh_store_upload_begin(st, key, &up, &e) != LH_OK)
            _exit(2);
        for (int i = 0; i < 9; i++)
            if (lh_store_upload_write(up, chunk, sizeof chunk, &e) != LH_OK)
                _exit(3);
        raise(SIGKILL);
        _exit(4);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

struct seen {
    char keys[8][128];
    int n, dirs;
    uint64_t bytes;
    const char *dead_prefix; /* NULL: a dry run */
};

static bool sweep_cb(void *ctx, const struct lh_store_pending *p)
{
    struct seen *s = ctx;
    size_t kl = strlen(p->key);
    if (kl && p->key[kl - 1] == '/') {
        s->dirs++;
    } else if (s->n < 8) {
        snprintf(s->keys[s->n++], sizeof s->keys[0], "%s", p->key);
        s->bytes += p->size;
    }
    return s->dead_prefix && strncmp(p->key, s->dead_prefix, strlen(s->dead_prefix)) == 0;
}

/* Leftovers of killed writers: the sweep sees them (not list), removes
 * only those the caller calls dead, and (local) the directories that become
 * empty; objects stay. */
static void test_sweep(void **state)
{
    struct fx *f = *state;
    killed_upload(f, "sw/run-a/part.bin");
    killed_upload(f, "sw/run-b/part.bin");
    OK(lh_store_put(f->st, "sw/run-a/done.bin", "d", 1, &e_));
    OK(lh_store_put(f->st, "sw/keep.bin", "k", 1, &e_));
    struct lh_store_list l;
    OK(lh_store_list(f->st, "sw/", &l, &e_));
    assert_int_equal(l.count, 2); /* pending writes are never listed */
    lh_store_list_reset(&l);

    /* dry run: both pending writes, nothing removed */
    struct seen s = {0};
    struct lh_store_sweep_stats stats;
    OK(lh_store_sweep(f->st, "sw/", sweep_cb, &s, &stats, &e_));
    assert_int_equal(s.n, 2);
    if (strcmp(s.keys[0], s.keys[1]) > 0) { /* directory order is the backend's */
        char t[128];
        memcpy(t, s.keys[0], sizeof t);
        memcpy(s.keys[0], s.keys[1], sizeof t);
        memcpy(s.keys[1], t, sizeof t);
    }
    assert_string_equal(s.keys[0], "sw/run-a/part.bin");
    assert_string_equal(s.keys[1], "sw/run-b/part.bin");
    if (!f->s3)
        assert_int_equal(s.bytes, 18u << 20);
    assert_int_equal(stats.pending, 0);
    assert_int_equal(stats.dirs, 0);

    /* run-a is dead: its pending write goes, its object and run-b stay */
    s = (struct seen){.dead_prefix = "sw/run-a/"};
    OK(lh_store_sweep(f->st, "sw/", sweep_cb, &s, &stats, &e_));
    assert_int_equal(stats.pending, 1);
    assert_int_equal(stats.bytes, f->s3 ? 0 : 9u << 20);
    assert_int_equal(stats.dirs, 0); /* run-a still holds done.bin */
    s = (struct seen){0};
    OK(lh_store_sweep(f->st, "sw/", sweep_cb, &s, &stats, &e_));
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "sw/run-b/part.bin");

    /* once its object is deleted, run-a's directory goes too (local) */
    OK(lh_store_delete(f->st, "sw/run-a/done.bin", &e_));
    s = (struct seen){.dead_prefix = "sw/run-a/"};
    OK(lh_store_sweep(f->st, "sw/run-a/", sweep_cb, &s, &stats, &e_));
    assert_int_equal(stats.pending, 0);
    assert_int_equal(stats.dirs, f->s3 ? 0 : 1);
    if (!f->s3) {
        char p[512];
        struct stat sb;
        snprintf(p, sizeof p, "%s/sw/run-a", f->dir);
        assert_int_not_equal(stat(p, &sb), 0);
        snprintf(p, sizeof p, "%s/sw/run-b", f->dir);
        assert_int_equal(stat(p, &sb), 0);
    }

    /* everything under sw/ is dead: run-b's upload and directory go; the
     * object keep.bin stays, and so does sw/ that holds it */
    s = (struct seen){.dead_prefix = "sw/"};
    OK(lh_store_sweep(f->st, "sw/", sweep_cb, &s, &stats, &e_));
    assert_int_equal(stats.pending, 1);
    assert_int_equal(stats.dirs, f->s3 ? 0 : 1);
    s = (struct seen){0};
    OK(lh_store_sweep(f->st, "", sweep_cb, &s, &stats, &e_));
    assert_int_equal(s.n, 0);
    expect_content(f->st, "sw/keep.bin", "k");
    OK(lh_store_delete(f->st, "sw/keep.bin", &e_));
    assert_int_equal(lh_store_sweep(f->st, "../x", sweep_cb, &s, &stats, NULL), LH_E_INVAL);
}

/* ------------------------------------------------------------ S3 only */

/* Parts of in-progress multipart uploads in s3rver's directory. */
static int count_parts(const struct fx *f)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "find '%s' -path '*uploads*' -type f -size 5120k | wc -l",
             f->srv.dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static void test_s3_multipart(void **state)
{
    struct fx *f = *state;
    struct lh_store_options o = s3_opts(f);
    o.part_size = 5u << 20;
    struct lh_store *st;
    OK(lh_store_open("s3://lhtest/mp", &o, &st, &e_));
    size_t total = (11u << 20) + 12345;
    uint8_t *src = malloc(total);
    assert_non_null(src);
    uint32_t x = 12345;
    for (size_t i = 0; i < total; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = (uint8_t)(x >> 16);
    }
    struct lh_store_upload *up;
    OK(lh_store_upload_begin(st, "big.bin", &up, &e_));
    for (size_t off = 0; off < total; off += 65536) {
        size_t k = total - off < 65536 ? total - off : 65536;
        OK(lh_store_upload_write(up, src + off, k, &e_));
    }
    OK(lh_store_upload_commit(up, &e_));
    uint8_t *d;
    size_t n;
    char tok[LH_STORE_TOKEN_MAX];
    OK(lh_store_get(st, "big.bin", 32u << 20, &d, &n, tok, &e_));
    assert_int_equal(n, total);
    assert_memory_equal(d, src, total);
    free(d);

    /* abort after a part was sent leaves nothing */
    OK(lh_store_upload_begin(st, "aborted.bin", &up, &e_));
    OK(lh_store_upload_write(up, src, (6u << 20), &e_));
    /* the first 5 MiB went out as part 1 of a multipart upload */
    assert_int_equal(count_parts(f), 1);
    lh_store_upload_abort(up);
    /* AbortMultipartUpload removed the part (s3rver.mjs adds the operation
     * s3rver 3.7 lacks); the object itself never appears */
    assert_int_equal(count_parts(f), 0);
    struct lh_store_list l;
    OK(lh_store_list(st, "", &l, &e_));
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].key, "big.bin");
    assert_int_equal(l.items[0].size, total);
    lh_store_list_reset(&l);
    free(src);
    lh_store_close(st);
}

static void test_s3_list_pagination(void **state)
{
    struct fx *f = *state;
    struct lh_store_options o = s3_opts(f);
    o.list_page = 2;
    struct lh_store *st;
    OK(lh_store_open("s3://lhtest/pages", &o, &st, &e_));
    char key[32];
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "p/%02d", i);
        OK(lh_store_put(st, key, key, strlen(key), &e_));
    }
    OK(lh_store_put(st, "q/elsewhere", "x", 1, &e_));
    struct lh_store_list l;
    OK(lh_store_list(st, "p/", &l, &e_));
    assert_int_equal(l.count, 7);
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "p/%02d", i);
        assert_string_equal(l.items[i].key, key);
    }
    lh_store_list_reset(&l);
    lh_store_close(st);
}

static void test_s3_virtual_host(void **state)
{
    struct fx *f = *state;
    char ep[64];
    snprintf(ep, sizeof ep, "http://s3.localhost:%d", f->srv.port);
    struct lh_store_options o = s3_opts(f);
    o.endpoint = ep;
    o.virtual_host = true;
    struct lh_store *st;
    OK(lh_store_open("s3://lhtest/vh", &o, &st, &e_));
    OK(lh_store_put(st, "k.txt", "vhost", 5, &e_));
    expect_content(st, "k.txt", "vhost");
    lh_store_close(st);
    /* and the same object through path-style addressing */
    o = s3_opts(f);
    OK(lh_store_open("s3://lhtest/vh", &o, &st, &e_));
    expect_content(st, "k.txt", "vhost");
    lh_store_close(st);
}

static void test_s3_errors(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    struct lh_store *st;
    uint8_t *d;
    size_t n;
    struct lh_store_options o = s3_opts(f);
    o.access_key = "NOSUCHKEY";
    OK(lh_store_open("s3://lhtest", &o, &st, &e_));
    enum lh_status ps = lh_store_put(st, "x", "y", 1, &err);
    if (ps != LH_E_AUTH)
        fail_msg("bad key: %s", err.msg);
    assert_non_null(strstr(err.msg, "403"));
    lh_store_close(st);

    /* (s3rver 3.7 does not verify SigV4 signatures, so a wrong secret key
     * cannot be tested here; an unknown access key is rejected.) */

    o = s3_opts(f);
    OK(lh_store_open("s3://no-such-bucket", &o, &st, &e_));
    assert_int_equal(lh_store_put(st, "x", "y", 1, &err), LH_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    lh_store_close(st);

    o = s3_opts(f);
    o.endpoint = "http://127.0.0.1:1"; /* nothing listens on port 1 */
    OK(lh_store_open("s3://lhtest", &o, &st, &e_));
    assert_int_equal(lh_store_get(st, "x", 0, &d, &n, NULL, &err), LH_E_CONNECT);
    lh_store_close(st);

    /* no credentials at all */
    unsetenv("AWS_ACCESS_KEY_ID");
    o = s3_opts(f);
    o.access_key = NULL;
    assert_int_equal(lh_store_open("s3://lhtest", &o, &st, &err), LH_E_AUTH);
    assert_int_equal(lh_store_open("s3://AB", &o, &st, &err), LH_E_INVAL);
    assert_int_equal(lh_store_open("ftp://x", &o, &st, &err), LH_E_UNSUPPORTED);
}

/* S3's "500 InternalError, please try again": requests that repeating
 * cannot change are retried (the server's shim fails each method twice per
 * key); a conditional PUT is not, since the first one may have landed. */
static void test_s3_retries(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    struct lh_store *st;
    uint8_t *d;
    size_t n;
    struct lh_store_options o = s3_opts(f);
    OK(lh_store_open("s3://lhtest/retry", &o, &st, &e_));
    OK(lh_store_put(st, "flaky-500/a", "abc", 3, &e_));
    OK(lh_store_get(st, "flaky-500/a", 0, &d, &n, NULL, &e_));
    assert_int_equal(n, 3);
    assert_memory_equal(d, "abc", 3);
    free(d);
    uint64_t size;
    OK(lh_store_stat(st, "flaky-500/a", &size, &e_));
    assert_int_equal(size, 3);
    OK(lh_store_delete(st, "flaky-500/a", &e_));
    /* put_if_absent carries If-None-Match: its 500 comes back as it is */
    enum lh_status s = lh_store_put_if_absent(st, "flaky-500/b", "x", 1, &err);
    if (s != LH_E_IO)
        fail_msg("conditional put: %s (%s)", lh_status_str(s), err.msg);
    assert_non_null(strstr(err.msg, "HTTP 500 InternalError"));
    lh_store_close(st);
}

/* A server that accepts a request and never answers: the request fails
 * as a timeout once nothing has moved for stall_secs, naming the endpoint,
 * instead of waiting out the whole-request timeout (300 s). */
static void test_s3_stall(void **state)
{
    struct fx *f = *state;
    struct lh_error err;
    struct lh_store *st;
    uint8_t *d = NULL;
    size_t n;
    struct lh_store_options o = s3_opts(f);
    o.stall_secs = 1;
    OK(lh_store_open("s3://lhtest/stall", &o, &st, &e_));
    enum lh_status s = lh_store_get(st, "stall-forever/a", 0, &d, &n, NULL, &err);
    if (s != LH_E_TIMEOUT)
        fail_msg("get from a silent server: %s (%s)", lh_status_str(s), err.msg);
    assert_non_null(strstr(err.msg, "no answer"));
    assert_non_null(strstr(err.msg, "1 s"));
    s = lh_store_put(st, "stall-forever/b", "abc", 3, &err);
    assert_int_equal(s, LH_E_TIMEOUT);
    /* the store still works for everything else */
    OK(lh_store_put(st, "fine", "abc", 3, &e_));
    lh_store_close(st);
}

int main(void)
{
    const struct CMUnitTest common[] = {
        cmocka_unit_test(test_put_get_stat),        cmocka_unit_test(test_put_if_absent),
        cmocka_unit_test(test_replace_if),          cmocka_unit_test(test_list_delete),
        cmocka_unit_test(test_upload_commit_abort), cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_sweep),               cmocka_unit_test(test_location),
    };
    const struct CMUnitTest local_only[] = {
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_local_enospc_keeps_previous),
        cmocka_unit_test(test_local_io_error_keeps_previous),
        cmocka_unit_test(test_local_cas_across_processes),
        cmocka_unit_test(test_store_set),
    };
    const struct CMUnitTest s3_only[] = {
        cmocka_unit_test(test_s3_multipart),
        cmocka_unit_test(test_s3_stall),
        cmocka_unit_test(test_s3_list_pagination),
        cmocka_unit_test(test_s3_virtual_host),
        cmocka_unit_test(test_s3_errors),
        cmocka_unit_test(test_s3_retries),
    };
    int rc = 0;
    rc |= _cmocka_run_group_tests("store_local", common, sizeof common / sizeof common[0],
                                  setup_local, teardown_local);
    rc |= _cmocka_run_group_tests("store_local_only", local_only,
                                  sizeof local_only / sizeof local_only[0], setup_local,
                                  teardown_local);
    rc |= _cmocka_run_group_tests("store_s3", common, sizeof common / sizeof common[0], setup_s3,
                                  NULL);
    rc |= _cmocka_run_group_tests("store_s3_only", s3_only, sizeof s3_only / sizeof s3_only[0],
                                  reuse_s3, teardown_s3);
    return rc;
}
