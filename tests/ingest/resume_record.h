/*
 * resume_record.h — reading a dataset's resume record
 * (datasets/{dataset}/_resume.json, docs/ingest.md "Resumable loads") back
 * in the resume tests of both servers (test_resume.c, test_resume_my.c).
 * Include after cmocka.h and jansson.h.
 */
#ifndef LH_TEST_RESUME_RECORD_H
#define LH_TEST_RESUME_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The record of dataset under data_dir's primary store; fails the test
 * when it is not there or not JSON. Caller json_decref()s. */
static inline json_t *resume_record_load(const char *data_dir, const char *dataset)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/primary/datasets/%s/_resume.json", data_dir, dataset);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        fail_msg("%s: %s", path, je.text);
    return o;
}

/* How many ranges of the record keep rows; *low: the smallest last key
 * of a range that has one and is not done; *hi_of: that range's upper
 * bound (0: open); *nranges: the ranges in the record. */
static inline int resume_kept_ranges(const char *data_dir, const char *dataset, int64_t *low,
                                     int64_t *hi_of, int *nranges)
{
    json_t *o = resume_record_load(data_dir, dataset);
    json_t *rs = json_object_get(o, "ranges");
    *nranges = (int)json_array_size(rs);
    int n = 0;
    *low = INT64_MAX;
    for (size_t i = 0; i < json_array_size(rs); i++) {
        json_t *r = json_array_get(rs, i);
        json_t *last = json_object_get(r, "last_key");
        bool done = json_is_true(json_object_get(r, "done"));
        n += json_is_integer(last) || done;
        if (json_is_integer(last) && !done && json_integer_value(last) < *low) {
            *low = json_integer_value(last);
            json_t *hi = json_object_get(r, "hi");
            *hi_of = json_is_integer(hi) ? json_integer_value(hi) : 0;
        }
    }
    json_decref(o);
    return n;
}

#endif
