/*
 * shard_info.c - a shard's shard.json, summary.json and reject lines, parsed and checked for
 * `kivo-worker merge` (shard_info.h).
 */
#include <stdio.h>
#include <string.h>

#include "parts.h"
#include "shard.h"
#include "shard_info.h"

#define SUMMARY_THREADS_MAX 4096u /* --threads' bound (main.c) */

static json_t *load(const char *data, size_t len, const char *what, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "%s is not JSON (line %d: %s)", what, je.line, je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s is not a JSON object", what);
        json_decref(o);
        return NULL;
    }
    return o;
}

/* o[key] as a non-negative integer no larger than max. @return 0, or -1. */
static int uint_field(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static const char *str_field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int one_of(const char *s, const char *const *names)
{
    for (; s && *names; names++)
        if (strcmp(s, *names) == 0)
            return 1;
    return 0;
}

json_t *wk_shard_info_parse(const char *data, size_t len, char *err, size_t errlen)
{
    static const char *const strings[] = {"batch",    "options", "job_spec", "cwd",
                                          "batch_id", "html",    "layout",   "compression"};
    static const char *const html[] = {"flagged", "all", "none", NULL};
    static const char *const layout[] = {"v2", "per-run", NULL};
    json_t *o = load(data, len, WK_SHARD_INFO_NAME, err, errlen);
    uint64_t k, n, v, prev_file = 0;
    wk_compress cz;
    if (!o)
        return NULL;
    if (!one_of(str_field(o, "schema_version"),
                (const char *const[]){"kivo_worker_shard.v1", NULL})) {
        snprintf(err, errlen, "%s: schema_version is not kivo_worker_shard.v1", WK_SHARD_INFO_NAME);
        goto bad;
    }
    if (uint_field(o, "shards", WK_SHARD_MAX, &n) != 0 || n == 0 ||
        uint_field(o, "shard", WK_SHARD_MAX, &k) != 0 || k >= n) {
        snprintf(err, errlen, "%s: shard and shards are not K and N with 0 <= K < N <= %u",
                 WK_SHARD_INFO_NAME, WK_SHARD_MAX);
        goto bad;
    }
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (!str_field(o, strings[i]) || !str_field(o, strings[i])[0]) {
            snprintf(err, errlen, "%s: %s is not a non-empty string", WK_SHARD_INFO_NAME,
                     strings[i]);
            goto bad;
        }
    if (str_field(o, "cwd")[0] != '/' || !one_of(str_field(o, "html"), html) ||
        !one_of(str_field(o, "layout"), layout) ||
        wk_compress_parse(str_field(o, "compression"), &cz) != 0 ||
        uint_field(o, "part_size", UINT64_MAX, &v) != 0 || v == 0) {
        snprintf(err, errlen,
                 "%s: cwd (an absolute path), html, layout, compression or part_size is not "
                 "what batch writes",
                 WK_SHARD_INFO_NAME);
        goto bad;
    }
    const json_t *gb = json_object_get(o, "group_by"), *in = json_object_get(o, "inputs");
    if (gb && !json_is_null(gb) && !json_is_string(gb)) {
        snprintf(err, errlen, "%s: group_by is neither a string nor null", WK_SHARD_INFO_NAME);
        goto bad;
    }
    if (in) {
        size_t i;
        const json_t *e;
        int ok = json_is_array(in);
        json_array_foreach(in, i, e) ok = ok && json_is_string(e) && json_string_value(e)[0];
        if (!ok) {
            snprintf(err, errlen, "%s: inputs is not an array of paths", WK_SHARD_INFO_NAME);
            goto bad;
        }
    }
    const json_t *rs = json_object_get(o, "ranges"), *r;
    size_t i;
    if (!json_is_array(rs)) {
        snprintf(err, errlen, "%s: ranges is not an array", WK_SHARD_INFO_NAME);
        goto bad;
    }
    json_array_foreach(rs, i, r)
    {
        uint64_t f, b, e, fl;
        if (!json_is_object(r) || uint_field(r, "file", UINT32_MAX, &f) != 0 ||
            uint_field(r, "begin", INT64_MAX, &b) != 0 ||
            uint_field(r, "end", INT64_MAX, &e) != 0 ||
            uint_field(r, "first_line", INT64_MAX, &fl) != 0 || b > e ||
            (i > 0 && f <= prev_file)) {
            snprintf(err, errlen,
                     "%s: range %zu is not {file, begin, end, first_line} of non-negative "
                     "integers, begin <= end, in file order",
                     WK_SHARD_INFO_NAME, i);
            goto bad;
        }
        prev_file = f;
    }
    return o;
bad:
    json_decref(o);
    return NULL;
}

json_t *wk_shard_summary_parse(const char *data, size_t len, char *err, size_t errlen)
{
    static const char *const counts[] = {
        "files",      "records_read", "records_reviewed", "records_rejected", "duplicate_run_ids",
        "bytes_read", "threads"};
    uint64_t c[sizeof counts / sizeof counts[0]];
    json_t *o = load(data, len, "summary.json", err, errlen);
    if (!o)
        return NULL;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (uint_field(o, counts[i], INT64_MAX, &c[i]) != 0) {
            snprintf(err, errlen, "summary.json: %s is not a non-negative integer", counts[i]);
            goto bad;
        }
    /* --reuse's counts, when the shard ran with it: of its reviewed records. */
    uint64_t reused = 0, unchanged = 0;
    const int has_reused = json_object_get(o, "records_reused") != NULL;
    /* (A build before the fast path for unchanged lines wrote no records_reused_unchanged.) */
    if (has_reused && (uint_field(o, "records_reused", c[2], &reused) != 0 ||
                       (json_object_get(o, "records_reused_unchanged") &&
                        uint_field(o, "records_reused_unchanged", reused, &unchanged) != 0))) {
        snprintf(err, errlen,
                 "summary.json: records_reused and records_reused_unchanged are not counts of "
                 "its reviewed records");
        goto bad;
    }
    /* merge adds the shards' threads up in an int: no more than --threads allows (4096). */
    if (c[6] > SUMMARY_THREADS_MAX) {
        snprintf(err, errlen, "summary.json: threads is over %u", SUMMARY_THREADS_MAX);
        goto bad;
    }
    if (c[2] + c[3] != c[1] || c[4] > c[3] || !json_is_number(json_object_get(o, "seconds"))) {
        snprintf(err, errlen,
                 "summary.json: its counts do not add up (reviewed + rejected = read, "
                 "duplicates <= rejected) or seconds is not a number");
        goto bad;
    }
    return o;
bad:
    json_decref(o);
    return NULL;
}

json_t *wk_shard_reject_parse(const char *data, size_t len, const char **file, uint64_t *line)
{
    json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *id = json_object_get(o, "customer_run_id");
    uint64_t l;
    if (!json_is_object(o) || !str_field(o, "file") || !str_field(o, "reason") ||
        uint_field(o, "line", INT64_MAX, &l) != 0 || l == 0 || (id && !json_is_string(id))) {
        json_decref(o);
        return NULL;
    }
    *file = str_field(o, "file");
    *line = l;
    return o;
}
