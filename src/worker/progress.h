/* progress.h - a progress bar on stderr (records/s, MB/s, ETA), drawn only on a terminal. */
#ifndef KIVO_WORKER_PROGRESS_H
#define KIVO_WORKER_PROGRESS_H

#include <stdint.h>

typedef struct wk_progress {
    int on;
    uint64_t total;
    double start, last;
} wk_progress;

/* on: draw at all (the caller checks isatty(2) and --quiet). */
void wk_progress_start(wk_progress *p, int on, uint64_t total_bytes);
void wk_progress_update(wk_progress *p, uint64_t bytes, uint64_t records);
void wk_progress_finish(wk_progress *p);

#endif
