/*
 * shard_info.h - what `kivo-worker merge` reads of a shard's out folder besides its report store:
 * shard.json (shard.h writes it), summary.json's counts and the lines of rejects.jsonl, parsed and
 * checked before merge relies on them. Any of them may have been edited, cut short or written by
 * another program: a file that is not what batch writes is refused with a message, never half
 * used. tests/fuzz/fuzz_shard_info.c feeds them arbitrary bytes.
 */
#ifndef KIVO_WORKER_SHARD_INFO_H
#define KIVO_WORKER_SHARD_INFO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* shard.json's bytes: a kivo_worker_shard.v1 object with 0 <= shard < shards <= WK_SHARD_MAX;
 * batch, options, job_spec, cwd (absolute), batch_id, html (flagged, all or none), layout (v2 or
 * per-run) and compression (a wk_compress name) strings; part_size a positive integer; group_by a
 * string or null; inputs, when present, an array of strings; ranges an array of objects whose
 * file, begin, end and first_line are non-negative integers with begin <= end, files in
 * increasing order. @return the object (json_decref it), or NULL with a message in err. */
json_t *wk_shard_info_parse(const char *data, size_t len, char *err, size_t errlen);

/* summary.json's bytes, as far as merge adds them up: files, records_read, records_reviewed,
 * records_rejected, duplicate_run_ids, bytes_read and threads non-negative integers (threads
 * at most 4096, rejected <= read, reviewed + rejected = read) and seconds a number; when
 * records_reused is present (--reuse), it and records_reused_unchanged (if present) are
 * integers with unchanged <= reused <= reviewed. @return the object, or NULL with a
 * message in err. */
json_t *wk_shard_summary_parse(const char *data, size_t len, char *err, size_t errlen);

/* One line of rejects.jsonl: an object with a string file, an integer line >= 1, a string reason
 * and, when present, a string customer_run_id. @return the object with *file and *line set, or
 * NULL when the line is not a reject. */
json_t *wk_shard_reject_parse(const char *data, size_t len, const char **file, uint64_t *line);

#endif
