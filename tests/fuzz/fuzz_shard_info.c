/*
 * fuzz_shard_info.c - what `kivo-worker merge` parses of a shard's out folder besides its report
 * store: the input is read as shard.json (wk_shard_info_parse), as summary.json
 * (wk_shard_summary_parse) and, line by line, as rejects.jsonl (wk_shard_reject_parse).
 *
 * Checks: a refused file says why; an accepted shard.json holds what merge relies on (0 <= K < N
 * within the limit, the strings it compares and opens, an absolute cwd, ranges of non-negative
 * integers with begin <= end in file order); an accepted summary's counts add up; an accepted
 * reject names a file and a line >= 1.
 */
#include <string.h>

#include "fuzz_util.h"
#include "shard.h"
#include "shard_info.h"

static void check_info(const uint8_t *data, size_t size)
{
    char err[512] = "";
    json_t *o = wk_shard_info_parse((const char *)data, size, err, sizeof err);
    if (!o) {
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    json_int_t k = json_integer_value(json_object_get(o, "shard"));
    json_int_t n = json_integer_value(json_object_get(o, "shards"));
    FUZZ_CHECK(k >= 0 && k < n && n <= (json_int_t)WK_SHARD_MAX);
    static const char *const keys[] = {"batch",    "options", "job_spec", "cwd",
                                       "batch_id", "html",    "layout",   "compression"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *s = json_string_value(json_object_get(o, keys[i]));
        FUZZ_CHECK(s && s[0]);
    }
    FUZZ_CHECK(json_string_value(json_object_get(o, "cwd"))[0] == '/');
    FUZZ_CHECK(json_integer_value(json_object_get(o, "part_size")) > 0);
    const json_t *rs = json_object_get(o, "ranges"), *r;
    size_t i;
    json_int_t prev = -1;
    FUZZ_CHECK(json_is_array(rs));
    json_array_foreach(rs, i, r)
    {
        json_int_t f = json_integer_value(json_object_get(r, "file"));
        json_int_t b = json_integer_value(json_object_get(r, "begin"));
        json_int_t e = json_integer_value(json_object_get(r, "end"));
        FUZZ_CHECK(f > prev && b >= 0 && b <= e);
        FUZZ_CHECK(json_integer_value(json_object_get(r, "first_line")) >= 0);
        prev = f;
    }
    const json_t *in = json_object_get(o, "inputs"), *e;
    json_array_foreach(in, i, e) FUZZ_CHECK(json_string_value(e) && json_string_value(e)[0]);
    json_decref(o);
}

static void check_summary(const uint8_t *data, size_t size)
{
    char err[512] = "";
    json_t *o = wk_shard_summary_parse((const char *)data, size, err, sizeof err);
    if (!o) {
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    json_int_t read = json_integer_value(json_object_get(o, "records_read"));
    json_int_t rev = json_integer_value(json_object_get(o, "records_reviewed"));
    json_int_t rej = json_integer_value(json_object_get(o, "records_rejected"));
    json_int_t dup = json_integer_value(json_object_get(o, "duplicate_run_ids"));
    FUZZ_CHECK(read >= 0 && rev >= 0 && rej >= 0 && dup >= 0);
    FUZZ_CHECK(rev + rej == read && dup <= rej);
    json_int_t threads = json_integer_value(json_object_get(o, "threads"));
    FUZZ_CHECK(threads >= 0 && threads <= 4096); /* merge adds them up in an int */
    const json_t *reused = json_object_get(o, "records_reused"), *unchanged;
    unchanged = json_object_get(o, "records_reused_unchanged");
    FUZZ_CHECK(!reused || (json_integer_value(reused) >= 0 && json_integer_value(reused) <= rev));
    FUZZ_CHECK(!reused || !unchanged ||
               (json_integer_value(unchanged) >= 0 &&
                json_integer_value(unchanged) <= json_integer_value(reused)));
    json_decref(o);
}

static void check_rejects(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        const char *file = NULL;
        uint64_t line = 0;
        json_t *o = wk_shard_reject_parse((const char *)data + at, len, &file, &line);
        if (o) {
            FUZZ_CHECK(file && line >= 1);
            FUZZ_CHECK(json_is_string(json_object_get(o, "reason")));
            const json_t *id = json_object_get(o, "customer_run_id");
            FUZZ_CHECK(!id || json_is_string(id));
            json_decref(o);
        }
        at += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_info(data, size);
    check_summary(data, size);
    check_rejects(data, size);
    return 0;
}
