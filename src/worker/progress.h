/*
 * progress.h - how a long batch shows it is alive, on stderr.
 *
 * On a terminal: one bar redrawn at most ten times a second. Without one (cron, CI, a scheduler's
 * log): a line every `interval` seconds with records, MB/s and the ETA. Verbose adds a line per
 * input file once it has been read. Quiet (the caller's -q) is WK_PROGRESS_OFF and not verbose.
 */
#ifndef KIVO_WORKER_PROGRESS_H
#define KIVO_WORKER_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef enum wk_progress_mode {
    WK_PROGRESS_OFF = 0,
    WK_PROGRESS_BAR,  /* stderr is a terminal */
    WK_PROGRESS_LINES /* it is not: a line every interval */
} wk_progress_mode;

#define WK_PROGRESS_INTERVAL 30.0 /* seconds between lines, by default */

typedef struct wk_progress {
    wk_progress_mode mode;
    int verbose;
    double interval;
    uint64_t total;
    double start, last;
    const char *const *files;          /* the input paths, borrowed */
    size_t n_files, file;              /* files before `file` have had their line */
    uint64_t file_read, file_rejected; /* the totals when `file` began */
} wk_progress;

/* Starts the clock. files[0..n_files) are the inputs in reading order (borrowed until finish).
 * interval is in seconds (> 0). */
void wk_progress_start(wk_progress *p, wk_progress_mode mode, double interval, int verbose,
                       uint64_t total_bytes, const char *const *files, size_t n_files);

/* bytes read and records merged so far; draws or prints when it is time. */
void wk_progress_update(wk_progress *p, uint64_t bytes, uint64_t records);

/* The merge reached input `file` (index in files); read and rejected are the batch's totals
 * before any record of it. Verbose: a line for each file before it. */
void wk_progress_file(wk_progress *p, size_t file, uint64_t read, uint64_t rejected);

/* The end: clears the bar; verbose: the lines of the files not yet reported. */
void wk_progress_finish(wk_progress *p, uint64_t read, uint64_t rejected);

/* "1h02m", "3m20s", "42s" into out (16 bytes). */
void wk_progress_duration(double seconds, char out[16]);

#endif
