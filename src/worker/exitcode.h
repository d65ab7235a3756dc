/*
 * exitcode.h - kivo-worker's exit codes, what scripts and CI branch on. main.c alone turns
 * results into them (and only it includes this header): the commands return a kivo_status for a
 * failure, with its message in their err buffer, and report what they found - records rejected,
 * events refused or still pending - in their results.
 */
#ifndef KIVO_WORKER_EXITCODE_H
#define KIVO_WORKER_EXITCODE_H

typedef enum wk_exit {
    WK_EXIT_OK = 0,      /* every record reviewed (and every event acknowledged) */
    WK_EXIT_IO = 1,      /* a fatal error at run time: I/O, memory, libcurl */
    WK_EXIT_USAGE = 2,   /* usage, job spec, inputs, a folder in use by another process */
    WK_EXIT_REJECTS = 3, /* finished, some records rejected (run: its record missing) */
    WK_EXIT_REFUSED = 4, /* kivo-api refused a token or events (see dead-letter.jsonl) */
    WK_EXIT_PENDING = 5, /* events still pending (kivo-api unreachable: `submit` later) */
    WK_EXIT_GATE = 6     /* a --fail-on condition held (batch, compare) */
} wk_exit;

#endif
