/*
 * merge.h - `kivo-worker merge --out DIR SHARD_DIR...`: one report store out of the out folders of
 * `batch --shard K/N` (shard.h), without reviewing anything again.
 *
 * Shards are contiguous slices of the inputs in input order, so the merge walks shard 0, 1, ...
 * and, within each, its index rows and its rejects in input order: reports are copied into new
 * parts (cut at the same --part-size, so parts, index, events and rejects are the bytes a single
 * process writes), events are copied, and what only the whole job can know is redone: a run id
 * that an earlier shard already holds becomes a duplicate reject (its report and event dropped),
 * duplicate rejects name the first place in the whole job, and ids differing only in case are
 * counted over all shards. summary.json and index.html are rebuilt from the merged rows.
 */
#ifndef KIVO_WORKER_MERGE_H
#define KIVO_WORKER_MERGE_H

#include <stddef.h>

#include "batch.h"
#include "kivo/status.h"
#include "optenv.h"

typedef struct wk_merge_opts {
    const char *out;         /* the merged store's folder */
    const char *const *dirs; /* the shards' out folders, any order */
    size_t n;
    int overwrite;        /* take an out folder holding another batch's output */
    double extra_seconds; /* added to the slowest shard's time (mpi.c: 0) */
    int consume_first;    /* mpi.c: shard 0's index and parts may be moved into the merged store
                           * (the copy by ranges), leaving its folder without a report store */
} wk_merge_opts;

/* Merges. @return KIVO_OK and *sum; KIVO_EINVAL (exit 2) with err for a shard missing, given
 * twice, unfinished, of another batch or options, or not a shard; KIVO_EBUSY for an out folder in
 * use; KIVO_EIO for I/O. */
kivo_status wk_merge_run(const wk_merge_opts *o, wk_summary *sum, char *err, size_t errlen);

/* The command (oe->argv[0] is "merge"): its options and exit code. */
extern const wk_optenv_cmd wk_merge_cli;
int wk_merge_command(const wk_optenv *oe);

#endif
