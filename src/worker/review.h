/*
 * review.h - one record through the engine and onto the wire, the same way for `batch` and `run`
 * (review -> claim report -> its hash -> completed event), and where that report lives in the
 * report store: the names `batch` and `run` write under and the storage pointer `submit` sends.
 *
 * Report store layout (fixed, see batch.h): ROOT/reports/<workflow_id>/<customer_run_id>/
 * claim_report.json (and claim_report.html beside it), both ids path-encoded by
 * wk_path_component(), so that no id can leave its folder.
 */
#ifndef KIVO_WORKER_REVIEW_H
#define KIVO_WORKER_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "jobspec.h"
#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "kivo/review.h"
#include "kivo/wire.h"
#include "output.h"

/* What reports and events say wrote them. */
#define WK_WORKER_VERSION "kivo-worker." KIVO_VERSION_STRING

/* The file names of a run's report and page, inside its folder, and the way from that folder
 * back up to the store's root (where index.html is). */
#define WK_REPORT_FILE "claim_report.json"
#define WK_PAGE_FILE "claim_report.html"
#define WK_RUN_DIR_TO_ROOT "../../.."

/* "reports/<workflow>": a workflow's folder, relative to the report store. */
#define WK_REPORT_DIR_MAX (WK_COMPONENT_MAX + 8)
void wk_report_dir(const char *workflow_id, char out[WK_REPORT_DIR_MAX]);

/* "<report_dir>/<run>": a run's folder, where report_dir is its workflow's (wk_report_dir(),
 * relative, or with the store's path before it). @return 0, or -1 when it does not fit in len
 * bytes (out then holds ""). */
int wk_report_run_dir(const char *report_dir, const char *customer_run_id, char *out, size_t len);

/* "<report_dir>/<run>/claim_report.json": the run's report. With a relative report_dir, the
 * path a create's customer_storage_pointer names. @return as wk_report_run_dir(). */
int wk_report_pointer(const char *report_dir, const char *customer_run_id, char *out, size_t len);

/* The packet of a record under the job's strictness and intended use. */
kivo_packet wk_review_packet(const wk_jobspec *spec, const kivo_record *rec);

/* What every record of one review job shares. */
typedef struct wk_review_job {
    const wk_jobspec *spec;
    const char *batch_id;      /* wk_jobspec_batch(spec): the batch, "default" included */
    const char *review_run_id; /* NULL in a batch: the run exists only once submitted */
    uint64_t sequence;         /* of the completed event: 1 in a batch, 2 after run's started */
} wk_review_job;

/* What a report and an event say of the run of rec in this job (strings borrowed). */
kivo_run_meta wk_review_meta(const wk_review_job *job, const kivo_record *rec);

/*
 * Reviews rec (read from the JSON document root) on engine and appends its claim report, with
 * the record's fields.metadata and label spliced in (metadata.h), to report and its completed
 * event (a line, which names the report's SHA-256 and carries no metadata) to event. event_id (may be NULL) gets the event's id; *out
 * the review (the engine's; valid until its next review). @return KIVO_OK; the engine's
 * KIVO_ETOOBIG for a record over one of its bounds (kivo_engine_errmsg() says which), which is
 * the record's fault, not the job's; or KIVO_ENOMEM / KIVO_ECRYPTO / KIVO_EINVAL. On failure
 * report and event may hold part of an append; the callers drop them.
 */
kivo_status wk_review_record(const wk_review_job *job, kivo_engine *engine, kivo_hasher *hasher,
                             const kivo_json_node *root, const kivo_record *rec, kivo_buf *report,
                             kivo_buf *event, char event_id[KIVO_WIRE_EVENT_ID_SIZE],
                             char report_sha256[KIVO_HASH_TEXT_SIZE], const kivo_review **out);

#endif
