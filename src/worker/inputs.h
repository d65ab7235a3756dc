/* inputs.h - the job's input files: the spec's paths, folders and globs, expanded and checked. */
#ifndef KIVO_WORKER_INPUTS_H
#define KIVO_WORKER_INPUTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct wk_inputs {
    char **paths; /* in a stable order: spec order, then sorted within a glob or folder */
    uint64_t *sizes;
    size_t n;
    uint64_t total_bytes;
} wk_inputs;

/* Expands each pattern (relative to dir) into readable regular files. A folder stands for its
 * *.jsonl, *.jsonl.gz and *.jsonl.zst files. A pattern that matches nothing, or a file that cannot be opened, is an error:
 * returns -1 with a message in err. A file named twice is read once. */
int wk_inputs_expand(const char *dir, char *const *patterns, size_t n, wk_inputs *out, char *err,
                     size_t errlen);
void wk_inputs_free(wk_inputs *in);

#endif
