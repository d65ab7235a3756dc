/*
 * shard.h - `kivo-worker batch --shard K/N`: the K-th of N deterministic shards of a job's inputs.
 *
 * The inputs, in the job's order, are laid end to end as one stream of bytes; shard K takes the
 * K-th of N equal slices of it. A slice boundary that falls inside a plain file is moved to a line
 * boundary: a range starts after the first newline at or after its start offset and ends at the
 * first newline at or after its end offset (both ends of a boundary find the same newline), so a
 * single large file splits across shards and every line is in exactly one of them. A compressed
 * file (.gz, .zst) cannot be read from an offset: it goes whole to the shard its first byte falls
 * in. Because shards are contiguous slices in input order, shard 0's runs all come before shard
 * 1's: a merge concatenates (docs/scale-out.md).
 *
 * Line numbers stay the file's: a range that starts inside a file knows how many lines come
 * before it (counted once, by reading that part of the file; reading is far cheaper than
 * reviewing).
 */
#ifndef KIVO_WORKER_SHARD_H
#define KIVO_WORKER_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "inputs.h"

#define WK_SHARD_MAX 100000u            /* N at most */
#define WK_SHARD_INFO_NAME "shard.json" /* written in a shard's out folder */

typedef struct wk_shard {
    uint32_t k, n; /* 0 <= k < n */
} wk_shard;

/* "K/N" (0-based K), or "auto/N": K from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), else
 * SLURM_ARRAY_TASK_ID (a Slurm array started with --array=0-(N-1)), else OMPI_COMM_WORLD_RANK.
 * @return 0 and *out, or -1 with a message in err. */
int wk_shard_parse(const char *s, wk_shard *out, char *err, size_t errlen);

/* What one shard reads of one input file. */
typedef struct wk_range {
    int take;            /* the file (or part of it) is this shard's */
    uint64_t begin, end; /* byte offsets; end UINT64_MAX: to the file's end */
    uint64_t first_line; /* lines of the file before begin */
} wk_range;

/* The ranges of shard sh over in (one per file, malloc'd into *out), and the bytes they hold
 * (compressed files: their size on disk) in *bytes. @return 0, or -1 with a message in err (a
 * file that cannot be read to find a line boundary). */
int wk_shard_plan(const wk_inputs *in, const wk_shard *sh, wk_range **out, uint64_t *bytes,
                  char *err, size_t errlen);

struct wk_jobspec;
struct wk_batch_opts;

/* Writes DIR/shard.json (root: the out folder) for `kivo-worker merge`: this shard's K and N,
 * the batch's identity and its options' (manifest.h; the options without the shard, so that all
 * shards of one batch name the same), the job spec's absolute path, the batch id, --group-by,
 * --html, the report store's options, and the ranges read. @return 0, or -1 with err. */
int wk_shard_info_write(int root, const struct wk_jobspec *spec, const struct wk_batch_opts *opts,
                        const wk_inputs *in, const wk_range *ranges, char *err, size_t errlen);

#endif
