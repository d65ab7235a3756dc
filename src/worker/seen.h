/* seen.h - the run ids a job has seen, to turn a repeated customer_run_id into a reject. */
#ifndef KIVO_WORKER_SEEN_H
#define KIVO_WORKER_SEEN_H

#include <stdint.h>

/* 16 bytes per id: its hash, and where it was first seen packed into one word (file index in the
 * top 24 bits, line in the low 40), so a job's memory grows by ~21-43 bytes per distinct run id
 * (the table is kept between 3/8 and 3/4 full). */
#define WK_SEEN_LINE_BITS 40
#define WK_SEEN_UNKNOWN UINT64_MAX /* where: a file index or line too large to pack */

typedef struct wk_seen_entry {
    uint64_t key;   /* 64-bit XXH3 of the id; 0 marks an empty slot */
    uint64_t where; /* file << WK_SEEN_LINE_BITS | line, or WK_SEEN_UNKNOWN */
} wk_seen_entry;

/* Where an entry was first seen; 0 when it could not be kept (then file and line are 0). */
static inline int wk_seen_where(const wk_seen_entry *e, uint32_t *file, uint64_t *line)
{
    if (e->where == WK_SEEN_UNKNOWN) {
        *file = 0;
        *line = 0;
        return 0;
    }
    *file = (uint32_t)(e->where >> WK_SEEN_LINE_BITS);
    *line = e->where & ((1ull << WK_SEEN_LINE_BITS) - 1);
    return 1;
}

typedef struct wk_seen wk_seen;

int wk_seen_create(wk_seen **out);
void wk_seen_free(wk_seen *s);

/* Adds id; when it was seen before, *first points at where (else NULL). Returns 0, or -1 when
 * out of memory. Ids are compared by a 64-bit hash: two different ids collide with odds of about
 * n^2 / 2^65 for n runs (under 1e-7 for ten million). */
int wk_seen_add(wk_seen *s, const char *id, uint32_t file, uint64_t line,
                const wk_seen_entry **first);

/* For an id that wk_seen_add() just found new: when an id seen before differs from it only in
 * ASCII letter case ("Run1", "run1"), *other points at where that one was first seen (else
 * NULL). Their report folders differ only in case, so on a case-insensitive file system (macOS,
 * Windows) they are one folder. Ids without capitals cost one probe of a table that holds only
 * ids with capitals. Returns 0, or -1 when out of memory. */
int wk_seen_case(wk_seen *s, const char *id, uint32_t file, uint64_t line,
                 const wk_seen_entry **other);

#endif
