/*
 * report.h - what a review turns into on disk and on the wire: the detailed claim report
 * (kivo_claim_report.v1, stays in the customer's storage) and the metadata-only completed event
 * (kivo_private_worker_review_run_event.v1, the only thing that goes to Kivo).
 *
 * Both are rendered through jansson with a fixed key order, so the same review always gives the
 * same bytes. An event never holds raw text: only ids, hashes, counts and category names.
 */
#ifndef KIVO_REPORT_H
#define KIVO_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/buf.h"
#include "kivo/review.h"
#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Who and what a run is. Strings are NUL-terminated; NULL means "not set" where noted. */
typedef struct kivo_run_meta {
    const char *review_run_id;      /* NULL in offline batches */
    const char *customer_run_id;
    const char *workflow_id;
    const char *worker_id;
    const char *worker_version;
    const char *policy_version;     /* may be NULL */
    const char *storage_label;      /* may be NULL */
    kivo_strictness strictness;
    kivo_intended_use intended_use;
} kivo_run_meta;

/* Appends claim_report.json (kivo_claim_report.v1, one JSON object and a newline) to out. Claim
 * texts are the output's bytes at [start, end). @return KIVO_OK, KIVO_ENOMEM or KIVO_ETOOBIG. */
kivo_status kivo_report_render(const kivo_packet *packet, const kivo_review *review,
                               const kivo_run_meta *meta, kivo_buf *out);

/* The deterministic event id of a run's event of `type` ("completed"): "evt_" + 24 hex digits of
 * SHA-256(workflow_id NUL customer_run_id NUL type). out must hold 64 bytes. */
void kivo_event_id(kivo_hasher *h, const char *workflow_id, const char *customer_run_id,
                   const char *type, char out[64]);

/* Appends one completed event (kivo_private_worker_review_run_event.v1, compact JSON and a newline)
 * to out. report_sha256 is the claim report's "sha256:<hex>"; storage_label names where it is. */
kivo_status kivo_event_render_completed(kivo_hasher *h, const kivo_review *review, size_t n_sources,
                                        const kivo_run_meta *meta, uint64_t sequence,
                                        const char *report_sha256, kivo_buf *out);

/* Names whose presence, at any depth of a private-worker body, is refused (api.md), with the text
 * of what to send instead. NULL-terminated arrays of the same length. */
extern const char *const kivo_raw_field_names[];
extern const char *const kivo_raw_field_use_instead[];

/* Appends jansson's dump of root (json_dump_callback flags) to out in one pass; on failure out is
 * as it was. @return KIVO_OK, KIVO_ENOMEM or KIVO_ETOOBIG (out's ceiling). */
struct json_t;
kivo_status kivo_json_dump_buf(const struct json_t *root, size_t flags, kivo_buf *out);

/* The failure categories of a bitmask (bit c = kivo_category c) as a JSON array of their names
 * in enum order, as reports and events write them; a new reference, or NULL without memory. */
struct json_t *kivo_categories_json(uint32_t cats);

/* 1 when `key` (key[0..len)) is a rejected raw field name; *use_instead gets its advice. */
int kivo_raw_field_check(const char *key, size_t len, const char **use_instead);

#ifdef __cplusplus
}
#endif
#endif
