/*
 * breakdown.h - what a batch adds to summary.json and index.html when its spec has a label
 * pointer (fields.label: a labeled evaluation) or it runs with --group-by: Kivo's flags scored
 * against the labels, overall and per group, verdicts, flag rate and categories per group, and the
 * runs where flag and label disagree. Fed from the batch's serial merge, in input order.
 *
 * Without either, a batch makes no breakdown and its summary is as it always was.
 */
#ifndef KIVO_WORKER_BREAKDOWN_H
#define KIVO_WORKER_BREAKDOWN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "groups.h"
#include "jobspec.h"
#include "kivo/review.h"
#include "tally.h"

/* The disagreements index.html lists at most (all are counted). */
#define WK_DISAGREE_MAX 2000

typedef struct wk_breakdown wk_breakdown;

/* group_by: the --group-by list, or NULL. *out is NULL (and 0 returned) when the spec has no
 * label and there is no list. @return 0, or -1 with a message in err (an unknown name). */
int wk_breakdown_create(const wk_jobspec *spec, const char *group_by, wk_breakdown **out, char *err,
                        size_t errlen);
void wk_breakdown_free(wk_breakdown *b);

/* The group-by fields (NULL when none). */
const wk_groups *wk_breakdown_groups(const wk_breakdown *b);

/* One reviewed run. values[k] / lens[k]: its value of group field k (NULL: none). has_page: its
 * claim_report.html was written. @return 0, or -1 without memory. */
int wk_breakdown_add(wk_breakdown *b, const char *run_id, kivo_verdict v, uint32_t categories,
                     uint32_t claims, uint32_t unsupported, wk_label label,
                     const char *const *values, const size_t *lens, int has_page);

/* All runs so far. */
const wk_tally *wk_breakdown_total(const wk_breakdown *b);
int wk_breakdown_labeled(const wk_breakdown *b);

/* Adds "evaluation" (with a label) and "groups" (with --group-by) to a summary object.
 * @return 0, or -1 without memory. */
int wk_breakdown_to_summary(const wk_breakdown *b, json_t *summary);

/* {"total": n, "runs": [{"id","dir","verdict","label","claims","unsupported","categories",
 * "page"}]} of the first WK_DISAGREE_MAX runs whose flag and label disagree, for index.html.
 * A new reference, or NULL. */
json_t *wk_breakdown_disagreements(const wk_breakdown *b);

#endif
