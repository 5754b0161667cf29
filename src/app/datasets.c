/*
 * datasets.c — removing a dataset the way the CLI and the API both do it
 * (app.h lh_app_dataset_remove): refused while a schedule writes to it,
 * unless forced, which first pauses those schedules; then
 * lh_ingest_dataset_remove (record first, then the objects).
 *
 * Threads: any; the schedule store, catalog and store set are thread-safe.
 */
#include "app.h"

#include <stdio.h>
#include <string.h>

struct targets {
    const char *name;
    char *ids;
    size_t cap, n;
};

/* The dataset a schedule writes: its dataset_name, else its table's
 * default name (what the run would use). */
static void schedule_dataset(const struct lh_schedule *d, char *out, size_t cap)
{
    if (d->dataset_name[0]) {
        snprintf(out, cap, "%s", d->dataset_name);
        return;
    }
    if (!d->table[0] ||
        lh_ingest_default_dataset(d->kind == LH_SCHED_MYSQL ? LH_SOURCE_MYSQL : LH_SOURCE_POSTGRES,
                                  d->dsn, d->table, out, cap, NULL, NULL) != LH_OK)
        snprintf(out, cap, "%s", d->table);
}

static bool collect(void *ctx, const struct lh_schedule *d)
{
    struct targets *t = ctx;
    char ds[LH_SCHEDULE_NAME_MAX + 64];
    schedule_dataset(d, ds, sizeof ds);
    if (strcmp(ds, t->name) != 0)
        return true;
    size_t l = strlen(t->ids);
    snprintf(t->ids + l, t->cap - l, "%s%s", t->n ? "," : "", d->id);
    t->n++;
    return true;
}

enum lh_status lh_app_dataset_remove(struct lh_store_set *set, struct lh_catalog *cat,
                                     struct lh_schedule_store *ss, const char *name, bool force,
                                     struct lh_app_dataset_removal *out, struct lh_error *err)
{
    memset(out, 0, sizeof *out);
    enum lh_status s = lh_store_name_check(name, err);
    if (s != LH_OK) {
        lh_error_prefix(err, "dataset name");
        return s;
    }
    /* exists? (a damaged record can still be removed) */
    struct lh_catalog_record rec;
    s = lh_catalog_dataset_get(cat, name, &rec, err);
    if (s == LH_OK)
        lh_catalog_record_reset(&rec);
    else if (s != LH_E_FORMAT)
        return s;
    struct targets t = {name, out->schedules, sizeof out->schedules, 0};
    if (ss)
        lh_schedule_store_each(ss, collect, &t);
    if (t.n && !force)
        return lh_error_set(err, LH_E_STATE,
                            "dataset %s is written by schedule%s %s; pause or delete %s first, or "
                            "force the removal (it pauses %s)",
                            name, t.n > 1 ? "s" : "", out->schedules, t.n > 1 ? "them" : "it",
                            t.n > 1 ? "them" : "it");
    if (t.n) {
        char reason[300 + LH_SCHEDULE_NAME_MAX];
        snprintf(reason, sizeof reason,
                 "paused by `datasets rm %s --force`: its dataset was removed", name);
        char ids[sizeof out->schedules];
        snprintf(ids, sizeof ids, "%s", out->schedules);
        for (char *p = ids, *e; p && *p; p = e) {
            e = strchr(p, ',');
            if (e)
                *e++ = '\0';
            s = lh_schedule_store_set_enabled(ss, p, false, reason, err);
            if (s != LH_OK) {
                lh_error_prefix(err, "pausing schedule %s", p);
                return s;
            }
            out->paused++;
        }
    }
    return lh_ingest_dataset_remove(set, cat, name, &out->deleted, err);
}
