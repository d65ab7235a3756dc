/*
 * explain.h - `kivo-worker explain`: the job's records reviewed one by one, with the rule that
 * decided each claim and the words behind it. A debugging view: it writes no reports and sends
 * nothing, and the engine's reports are the same bytes with explain on or off.
 */
#ifndef KIVO_WORKER_EXPLAIN_H
#define KIVO_WORKER_EXPLAIN_H

#include <stdio.h>

#include "jobspec.h"
#include "kivo/status.h"

typedef struct wk_explain_opts {
    char *const *run_ids; /* explain only these customer_run_ids (NULL: all records) */
    size_t n_run_ids;
    int json; /* one JSON object per record and line, else text */
} wk_explain_opts;

/* Reviews every record of the job's inputs and prints its explanation to out. Malformed records
 * are printed as such and skipped, blank lines skipped as `batch` skips them. @return KIVO_OK;
 * or, with the message in err, KIVO_EINVAL (an input pattern matches nothing or cannot be read)
 * or KIVO_EIO (reading, writing, memory, the engine). */
kivo_status wk_explain_run(const wk_jobspec *spec, const wk_explain_opts *opts, FILE *out,
                           char *err, size_t errlen);

#endif
