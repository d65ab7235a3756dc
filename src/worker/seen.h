/* seen.h - the run ids a job has seen, to turn a repeated customer_run_id into a reject. */
#ifndef KIVO_WORKER_SEEN_H
#define KIVO_WORKER_SEEN_H

#include <stdint.h>

typedef struct wk_seen_entry {
    uint64_t key;       /* 64-bit XXH3 of the id; 0 marks an empty slot */
    uint32_t file;
    uint64_t line;
} wk_seen_entry;

typedef struct wk_seen wk_seen;

int wk_seen_create(wk_seen **out);
void wk_seen_free(wk_seen *s);

/* Adds id; when it was seen before, *first points at where (else NULL). Returns 0, or -1 when
 * out of memory. Ids are compared by a 64-bit hash: two different ids collide with odds of about
 * n^2 / 2^65 for n runs (under 1e-7 for ten million). */
int wk_seen_add(wk_seen *s, const char *id, uint32_t file, uint64_t line,
                const wk_seen_entry **first);

#endif
