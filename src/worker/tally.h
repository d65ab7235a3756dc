/*
 * tally.h - counts over a set of reviewed runs (a batch, a group of one, one side of a compare):
 * verdicts, failure categories, claims, and, for a labeled evaluation, the confusion of Kivo's
 * flags against the labels. A run is flagged when its verdict is needs_review or fail; a label is
 * positive when it says hallucinated.
 */
#ifndef KIVO_WORKER_TALLY_H
#define KIVO_WORKER_TALLY_H

#include <stdint.h>

#include <jansson.h>

#include "kivo/review.h"
#include "metadata.h"

enum { WK_TP, WK_FP, WK_FN, WK_TN };

typedef struct wk_tally {
    uint64_t runs, claims, unsupported;
    uint64_t verdicts[3];                /* by kivo_verdict */
    uint64_t categories[KIVO_CAT_COUNT]; /* runs with each failure category */
    uint64_t confusion[4];               /* WK_TP.. over labeled runs */
    uint64_t unlabeled;
} wk_tally;

/* 1 when a verdict counts as a flag (needs_review or fail). */
int wk_flagged(kivo_verdict v);

void wk_tally_add(wk_tally *t, kivo_verdict v, uint32_t categories, uint32_t claims,
                  uint32_t unsupported, wk_label label);

/* The flagged share of the runs (NAN when there are none). */
double wk_tally_flag_rate(const wk_tally *t);

/* {"runs","claims","unsupported_claims","verdicts":{...},"flag_rate","fail_rate",
 *  "needs_review_rate","failure_categories":{...}} and, when labeled, "evaluation" as
 * wk_evaluation_json. A new reference, or NULL without memory. */
json_t *wk_tally_json(const wk_tally *t, int labeled);

/* {"labeled","unlabeled","confusion":{"true_positive","false_positive","false_negative",
 *  "true_negative"},"precision","recall","f1","balanced_accuracy","accuracy","specificity"};
 * an undefined score is null. */
json_t *wk_evaluation_json(const wk_tally *t);

/* A run's failure categories (bit c = kivo_category c) as a JSON array of their names, in enum
 * order, as reports and events write them. A new reference, or NULL without memory. */
json_t *wk_categories_json(uint32_t categories);

/* A double as JSON: a real, or null when it is NAN or infinite. */
json_t *wk_json_real_or_null(double d);

#endif
