/*
 * manifest.h - DIR/manifest.json: which batch an out folder holds, and (report store v2) its last
 * checkpoint, from which a killed batch resumes.
 *
 * The manifest names the batch (a SHA-256 over the job spec's bytes, the batch id and the input
 * paths) and what a resume needs unchanged (each input's size and modification time, and the
 * options that shape the output: layout, part size, compression, pages, chunk size, --group-by,
 * worker and engine versions). A checkpoint says how far
 * the batch got: the input chunks consumed, where the merge stood in its file, the reports stored,
 * the parts (closed ones with their sizes, the open one's committed length), the pages (the open
 * one and its committed length and runs), events.jsonl's and
 * rejects.jsonl's committed lengths and the summary's counts. It is written whole (a new
 * temporary file, fsync, rename, fsync of the folder) only after everything it counts is durable.
 */
#ifndef KIVO_WORKER_MANIFEST_H
#define KIVO_WORKER_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "inputs.h"
#include "kivo/hash.h"
#include "pages.h"

#define WK_MANIFEST_NAME "manifest.json"
#define WK_MANIFEST_PARTS_MAX 100000

typedef enum wk_manifest_state {
    WK_MANIFEST_RUNNING = 0, /* started; a checkpoint, if any, can be resumed from */
    WK_MANIFEST_COMPLETE,    /* finished */
} wk_manifest_state;

typedef struct wk_checkpoint {
    uint64_t chunks; /* input chunks consumed (the reader's chunking is deterministic) */
    uint64_t bytes;  /* input bytes consumed */
    uint64_t cur_file, cur_line; /* the merge's file and its lines before the next chunk */
    uint64_t stored;             /* reports stored: the index's next seq */
    uint32_t part;               /* the open part (or the next one) */
    int part_open;
    uint64_t part_bytes, part_content;
    uint32_t part_frames;
    uint64_t *closed; /* the closed parts' sizes, n_closed = part */
    uint64_t events_bytes, rejects_bytes;
    wk_pages_state pages; /* DIR/pages (none open, page 0, when the batch writes none) */
    wk_summary counts;    /* records, verdicts, categories ... (not the timing fields) */
} wk_checkpoint;

typedef struct wk_manifest {
    wk_manifest_state state;
    char batch[KIVO_HASH_TEXT_SIZE];
    char options[KIVO_HASH_TEXT_SIZE];
    int has_checkpoint;
    wk_checkpoint ck;
} wk_manifest;

/* Reads DIR/manifest.json from the folder root. @return 1 and *m (free with
 * wk_manifest_free()), 0 when there is none, -1 when it cannot be read or is not ours (err). */
int wk_manifest_read(int root, wk_manifest *m, char *err, size_t errlen);

/* Writes m to DIR/manifest.json atomically and durably. @return 0, or -1 with errno. */
int wk_manifest_write(int root, const wk_manifest *m);

void wk_manifest_free(wk_manifest *m);

/* The batch's identity (spec bytes, batch id, input paths) and its resume identity (input
 * sizes and times, options) into batch and options
 * ("sha256:<hex>"). @return 0, or -1 with a message in err (the spec or an input unreadable). */
int wk_manifest_identity(const wk_jobspec *spec, const wk_batch_opts *opts, const wk_inputs *in,
                         char batch[KIVO_HASH_TEXT_SIZE], char options[KIVO_HASH_TEXT_SIZE],
                         char *err, size_t errlen);

#endif
