/*
 * store_int.h — private to src/store: the backend vtable.
 *
 * store.c validates keys and dispatches; store_local.c and store_s3.c
 * implement one backend each. A backend's struct starts with
 * `struct lh_store base` (and its upload struct with `struct
 * lh_store_upload base`) so the pointers convert both ways.
 */
#ifndef LH_STORE_INT_H
#define LH_STORE_INT_H

#include "store.h"

/* The methods every backend has. A backend builds its struct lh_store_vt
 * from this list (X(name) is .name = <backend>_name), so one it lacks fails
 * the build; local_dir is the local backend's alone. */
#define LH_STORE_METHODS(X)                                                                        \
    X(close)                                                                                       \
    X(get)                                                                                         \
    X(stat)                                                                                        \
    X(get_range)                                                                                   \
    X(put)                                                                                         \
    X(put_if_absent)                                                                               \
    X(replace_if)                                                                                  \
    X(del)                                                                                         \
    X(list)                                                                                        \
    X(upload_begin)                                                                                \
    X(upload_write)                                                                                \
    X(upload_commit)                                                                               \
    X(upload_abort)                                                                                \
    X(sweep)                                                                                       \
    X(location)

struct lh_store_vt {
    const char *kind;
    void (*close)(struct lh_store *st);
    enum lh_status (*get)(struct lh_store *st, const char *key, size_t max, uint8_t **out,
                          size_t *len, char *token, struct lh_error *err);
    enum lh_status (*stat)(struct lh_store *st, const char *key, uint64_t *size,
                           struct lh_error *err);
    enum lh_status (*get_range)(struct lh_store *st, const char *key, uint64_t off, void *buf,
                                size_t n, struct lh_error *err);
    enum lh_status (*put)(struct lh_store *st, const char *key, const void *p, size_t n,
                          struct lh_error *err);
    enum lh_status (*put_if_absent)(struct lh_store *st, const char *key, const void *p, size_t n,
                                    struct lh_error *err);
    enum lh_status (*replace_if)(struct lh_store *st, const char *key, const void *p, size_t n,
                                 const char *token, char *new_token, struct lh_error *err);
    enum lh_status (*del)(struct lh_store *st, const char *key, struct lh_error *err);
    enum lh_status (*list)(struct lh_store *st, const char *prefix, struct lh_store_list *out,
                           struct lh_error *err);
    enum lh_status (*upload_begin)(struct lh_store *st, const char *key,
                                   struct lh_store_upload **up, struct lh_error *err);
    enum lh_status (*upload_write)(struct lh_store_upload *up, const void *p, size_t n,
                                   struct lh_error *err);
    enum lh_status (*upload_commit)(struct lh_store_upload *up, struct lh_error *err);
    void (*upload_abort)(struct lh_store_upload *up);
    enum lh_status (*sweep)(struct lh_store *st, const char *prefix, lh_store_sweep_fn dead,
                            void *ctx, struct lh_store_sweep_stats *stats, struct lh_error *err);
    /* store.h: lh_store_location (into b) and lh_store_local_dir (NULL:
     * remote, LH_E_UNSUPPORTED) */
    enum lh_status (*location)(const struct lh_store *st, struct lh_buf *b, struct lh_error *err);
    enum lh_status (*local_dir)(const struct lh_store *st, struct lh_buf *b, struct lh_error *err);
};

struct lh_store {
    const struct lh_store_vt *vt;
    char *url;
};

struct lh_store_upload {
    struct lh_store *st;
    uint64_t size;
};

enum lh_status lh_store_local_open(const char *url, const char *dir,
                                   const struct lh_store_options *opt, struct lh_store **out,
                                   struct lh_error *err);
/* The directory of a local store (borrowed). */
const char *lh_store_local_root(const struct lh_store *st);
enum lh_status lh_store_s3_open(const char *url, const char *bucket, const char *prefix,
                                const struct lh_store_options *opt, struct lh_store **out,
                                struct lh_error *err);

/* Adds one entry (key copied into the list arena). false on out of memory. */
bool lh_store_list_add(struct lh_store_list *l, const char *key, size_t klen, uint64_t size);
/* Sorts the entries by key. */
void lh_store_list_sort(struct lh_store_list *l);

#endif
