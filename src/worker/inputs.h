/* inputs.h - the job's input files: the spec's (or the command line's) paths, folders and globs,
 * expanded and checked. */
#ifndef KIVO_WORKER_INPUTS_H
#define KIVO_WORKER_INPUTS_H

#include <stddef.h>
#include <stdint.h>

/* What standard input ("-") is called in messages, rejects and the manifest. */
#define WK_STDIN_NAME "<stdin>"

typedef struct wk_inputs {
    char **paths; /* in a stable order: pattern order, then sorted (strcmp) within a pattern */
    uint64_t *sizes;
    size_t n;
    uint64_t total_bytes;
    size_t stdin_index; /* the input that is standard input (paths[] says WK_STDIN_NAME), or
                         * SIZE_MAX when none is */
} wk_inputs;

/*
 * Expands each pattern (relative to dir; "" or NULL: the working folder) into readable regular
 * files, in the order given, each pattern's files sorted by path (strcmp):
 * - "-" is standard input (at most once), read as JSON Lines as it comes (never resumed);
 * - a folder stands for every *.jsonl and *.ndjson file below it (also .gz, .zst), searched
 *   recursively (nftw; entries whose name starts with '.' are skipped, links to folders are not
 *   followed);
 * - a glob(3) pattern, where a whole path component "**" matches any number of folders (zero
 *   included), e.g. data/STARSTAR/x.jsonl with STARSTAR written as two '*'.
 * A pattern that matches nothing, or a file that cannot be opened, is an error: returns -1 with a
 * message in err. A file named twice is read once, where it first appears.
 */
int wk_inputs_expand(const char *dir, char *const *patterns, size_t n, wk_inputs *out, char *err,
                     size_t errlen);
void wk_inputs_free(wk_inputs *in);

#endif
