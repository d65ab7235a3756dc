/*
 * explain.h - which rule decided each claim, and why: the engine's debug view.
 *
 * Every claim carries the id of the rule that gave it its status (kivo_claim.rule, always set).
 * With explain on, the engine also writes one line of detail per claim: the coverage, the words
 * the sources lack, and for a contradiction the words on each side of it. Neither is part of a
 * claim report or an event: reports are the same bytes with explain on or off. Explain costs
 * formatting per claim, so it is off unless asked for (`kivo-worker explain`).
 */
#ifndef KIVO_EXPLAIN_H
#define KIVO_EXPLAIN_H

#include <stddef.h>

#include "kivo/review.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rule's name ("coverage", "negation_scope"); "unknown" past the last. */
const char *kivo_rule_name(kivo_rule r);

/* Turns the per-claim detail on (1) or off (0) for the engine's next reviews. */
void kivo_engine_set_explain(kivo_engine *e, int on);

/* After a review with explain on: the detail line of claim i of that review (NUL-terminated,
 * owned by the engine, valid until its next review); "" when explain was off or i is past the
 * last claim. */
const char *kivo_engine_explain(const kivo_engine *e, size_t i);

#ifdef __cplusplus
}
#endif
#endif
