/*
 * catalog_int.h — private to src/catalog: what catalog.c and meta.c share.
 *
 * catalog.c owns the record's read / mutate / compare-and-swap loop;
 * meta.c owns the descriptions, tags and PII overrides and how a record's
 * "columns" are derived from the writer's columns and those overrides.
 * Both work on a jansson tree of one record, inside one attempt of the
 * loop: pure, no store writes.
 */
#ifndef LH_CATALOG_INT_H
#define LH_CATALOG_INT_H

#include "catalog.h"

#include <jansson.h>

/* One mutation of a record tree; rec always has every field of
 * catalog_shape. Must not write to the store: it may run more than once. */
typedef enum lh_status (*catalog_mutate_fn)(json_t *rec, bool is_new, void *ctx,
                                            struct lh_error *err);

/* Read, mutate, compare-and-swap, retry on conflict (catalog.c). create:
 * start from {} when the record is absent (else LH_E_NOTFOUND). */
enum lh_status catalog_update(struct lh_catalog *cat, const char *name, bool create,
                              catalog_mutate_fn fn, void *ctx, struct lh_error *err);

/* meta.c: adds the metadata fields a fresh or older record lacks
 * ("description", "tags", "column_metadata"); nonzero when out of memory. */
int catalog_meta_shape(json_t *rec);

/* meta.c: replaces rec's "columns" with cols (the writer's, as a version
 * or a metadata update gives them), each with its detected level and the
 * record's overrides and descriptions applied, and sets the dataset's
 * "sensitivity": the explicit `sensitivity` (NULL: the highest column). */
enum lh_status catalog_columns_apply(json_t *rec, const struct lh_catalog_column *cols, size_t n,
                                     const char *sensitivity, struct lh_error *err);

/* meta.c: reads description, tags and the columns' override fields of a
 * record tree into out (strings in out->arena). false when out of memory. */
bool catalog_meta_read(json_t *rec, struct lh_catalog_record *out);

#endif
