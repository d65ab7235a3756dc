/*
 * run.h - `kivo-worker run`: the product page's flow for one run that the customer created.
 *
 * With the run's own worker credential: GET the run to learn its customer_run_id, post `started`
 * (sequence 1), find that record in the job spec's inputs, review it, write its claim report to
 * the report store, and post `completed` (sequence 2); or `failed` with a redacted failure_code
 * when the record is missing or cannot be reviewed. Both events go through an outbox
 * (REPORT_STORE/runs/<review_run_id>/ by default), are deterministic, and so can be re-sent.
 */
#ifndef KIVO_WORKER_RUN_H
#define KIVO_WORKER_RUN_H

#include <stddef.h>

#include "kivo/status.h"

typedef struct wk_run_opts {
    const char *spec_path;
    const char *base_url;
    const char *review_run_id;
    const char *credential;
    const char *outbox_dir; /* NULL: REPORT_STORE/runs/<review_run_id> */
    const char *batch_id;   /* --batch-id, or NULL: the spec's */
    double deadline_s;
    long timeout_ms;
    int json; /* print the outcome as JSON on stdout */
} wk_run_opts;

/* What became of the run, when nothing failed here. */
typedef enum wk_run_outcome {
    WK_RUN_REPORTED = 0, /* reviewed, its completed event accepted (or it already was) */
    WK_RUN_UNREVIEWED,   /* its record is missing or unreviewable: the failed event accepted */
    WK_RUN_REFUSED,      /* kivo-api refused the credential or an event */
    WK_RUN_PENDING       /* kivo-api gave no usable answer in time: events kept in the outbox */
} wk_run_outcome;

/* Runs it. @return KIVO_OK with *outcome, and in err why when that is not WK_RUN_REPORTED; or,
 * with the message in err, KIVO_EINVAL (usage, job spec, inputs, a run made for another workflow
 * or worker), KIVO_EBUSY (another kivo-worker holds the outbox folder) or KIVO_EIO. */
kivo_status wk_run(const wk_run_opts *o, wk_run_outcome *outcome, char *err, size_t errlen);

#endif
