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

typedef struct wk_run_opts {
    const char *spec_path;
    const char *base_url;
    const char *review_run_id;
    const char *credential;
    const char *outbox_dir;     /* NULL: REPORT_STORE/runs/<review_run_id> */
    const char *batch_id;       /* --batch-id, or NULL: the spec's */
    double deadline_s;
    long timeout_ms;
    int json;                   /* print the outcome as JSON on stdout */
} wk_run_opts;

/* @return a WK_EXIT_* code (batch.h, submit.h); err holds the message when it is not 0. */
int wk_run(const wk_run_opts *o, char *err, size_t errlen);

#endif
