/*
 * batch_metrics.h - what `batch --fail-on` can test: a batch's rates and counts from its summary,
 * and, for a labeled batch, Kivo's scores against the labels.
 */
#ifndef KIVO_WORKER_BATCH_METRICS_H
#define KIVO_WORKER_BATCH_METRICS_H

#include <stddef.h>

#include "batch.h"
#include "gate.h"

#define WK_BATCH_METRICS 16

/* Fills out[0..WK_BATCH_METRICS) with the metrics of sum (NULL: names and help only, values
 * undefined, for parsing a gate before the batch runs). @return how many. */
size_t wk_batch_metrics(const wk_summary *sum, wk_metric out[WK_BATCH_METRICS]);

#endif
