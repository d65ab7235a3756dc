/*
 * report.h - the detailed claim report (kivo_claim_report.v1): what a review turns into in the
 * customer's own storage, with the claims' texts, spans and evidence. It never goes to Kivo; the
 * metadata that does is rendered by wire.h.
 *
 * Rendered through jansson with a fixed key order, so the same review always gives the same
 * bytes.
 */
#ifndef KIVO_REPORT_H
#define KIVO_REPORT_H

#include "kivo/buf.h"
#include "kivo/review.h"
#include "kivo/status.h"
#include "kivo/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends claim_report.json (one JSON object and a newline) to out. Claim texts are the output's
 * bytes at [start, end). @return KIVO_OK, KIVO_ENOMEM or KIVO_ETOOBIG; out is then as it was. */
kivo_status kivo_report_render(const kivo_packet *packet, const kivo_review *review,
                               const kivo_run_meta *meta, kivo_buf *out);

#ifdef __cplusplus
}
#endif
#endif
