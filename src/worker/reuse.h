/*
 * reuse.h - `batch --reuse PREVIOUS_OUT_DIR`: the review key of a record, and carrying over the
 * claim report an earlier batch wrote for the same key instead of reviewing the record again.
 *
 * The review key is SHA-256 over everything the review and the report's review part depend on:
 * the engine version, the policy version, strictness, intended use, the output's hash and, per
 * source, its id, title and text hash (the exact bytes are in docs/report-store.md). A record
 * whose key the previous store holds gets that report's review part (from "engine_version" to
 * the end of "claims") unchanged, with this record's own head (customer_run_id, workflow_id,
 * batch_id, worker_id, worker_version: rendered by kivo_report_render() as for a review) and its
 * own metadata and label (metadata.h), so that its bytes are exactly those a review would have
 * written; its event is rendered from the carried report's verdict and counts.
 */
/*
 * The line key: the fast path for a record whose input line is byte-identical to one the
 * previous batch stored under the same job. SHA-256 over the job's fingerprint (32 bytes,
 * wk_line_job()) and the SHA-256 of the line's bytes (the bytes the record is parsed from: the
 * line without its newline and a carriage return before it). Every stored run's line key is in
 * the index, with where its event is in events.jsonl, so a rerun carries the report, the event,
 * the page block and the run's index fields without parsing the record or rendering anything.
 *
 * The fingerprint covers everything besides the line that a run's report, event, page block and
 * index fields are made of: the key's format name, the engine and worker versions, the job's
 * workflow id, worker id, batch id, policy version, report label, strictness and intended use,
 * the six field pointers, fields.metadata (names and pointers) and fields.label, and the
 * --group-by names. The event of a batch has no run id (null), sequence 1 and no timestamp, so
 * it is a function of the line and the job too.
 */
#ifndef KIVO_WORKER_REUSE_H
#define KIVO_WORKER_REUSE_H

#include <stddef.h>

#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "report_index.h"
#include "review.h"

/* The first bytes of the key's input: a new encoding gets a new name. */
#define WK_REVIEW_KEY_FORMAT "kivo_review_key.v1"

/* The review key of rec under spec, with the output's and the sources' hashes as the engine
 * computes them ("sha256:<hex>", rec->n_sources of them). scratch: the caller's buffer, reused
 * (reset here). @return KIVO_OK, KIVO_ENOMEM or KIVO_ECRYPTO. */
kivo_status wk_review_key(kivo_hasher *h, const wk_jobspec *spec, const kivo_record *rec,
                          const char *output_hash, const char (*source_hashes)[KIVO_HASH_TEXT_SIZE],
                          kivo_buf *scratch, unsigned char key[WK_REVIEW_KEY_SIZE]);

/* Checks that dir can be reused: a complete report store v2 (a per-run store keeps no keys),
 * and not the out folder itself. @return 0, or -1 with a message in err. */
int wk_reuse_check(const char *dir, const char *out_dir, char *err, size_t errlen);

/* One reviewing thread's reader of the previous store (its own SQLite connection, part reader
 * and parser). @return 0 and *out, or -1 with a message in err. */
typedef struct wk_reuse wk_reuse;
int wk_reuse_open(const char *dir, wk_reuse **out, char *err, size_t errlen);
void wk_reuse_close(wk_reuse *r);

/*
 * Computes rec's review key into key, and when the previous store reviewed that key, appends
 * this record's claim report (as wk_review_record() would have: head re-rendered, review part
 * carried, metadata spliced) to report and its completed event to event, the report's
 * "sha256:" into report_sha256, and the verdict and counts into *rv (a review without claims;
 * valid until the next call on r). @return 1 carried, 0 not in the previous store (nothing
 * appended), or -1 with the status in *st (the previous store cannot be read: KIVO_EIO; memory).
 * A carried report of another shape than expected is not carried (0).
 */
int wk_reuse_carry(wk_reuse *r, const wk_review_job *job, kivo_hasher *h,
                   const kivo_json_node *root, const kivo_record *rec, kivo_buf *report,
                   kivo_buf *event, char report_sha256[KIVO_HASH_TEXT_SIZE], const kivo_review **rv,
                   unsigned char key[WK_REVIEW_KEY_SIZE], kivo_status *st);

/* The job's fingerprint for line keys. groups: --group-by, or NULL. @return KIVO_OK or a status
 * of the hasher or of memory. */
#define WK_LINE_KEY_FORMAT "kivo_line_key.v1"
typedef struct wk_groups wk_groups;
kivo_status wk_line_job(kivo_hasher *h, const wk_jobspec *spec, const wk_groups *groups,
                        unsigned char fp[WK_REVIEW_KEY_SIZE]);

/* The line key of line[0..len) under the job's fingerprint fp. */
kivo_status wk_line_key(kivo_hasher *h, const unsigned char fp[WK_REVIEW_KEY_SIZE],
                        const char *line, size_t len, unsigned char key[WK_REVIEW_KEY_SIZE]);

/* What a carried line gives the batch besides the bytes it appends. */
typedef struct wk_line_carry {
    const char *run_id; /* valid until the next call on r */
    char sha256[KIVO_HASH_TEXT_SIZE];
    unsigned char review_key[WK_REVIEW_KEY_SIZE];
    uint8_t verdict;
    uint32_t claims, unsupported, categories;
    int8_t label;
    const void *groups; /* the packed --group-by values, valid until the next call, or NULL */
    size_t groups_len;
    /* Where the carried bytes are in the previous store: the report in an uncompressed part
     * (from_part), and the page block (page >= 0; not appended when the caller passed no page
     * buffer: it copies the block from there, pages.h). */
    int from_part;
    uint32_t part;
    uint64_t offset;
    int64_t page;
    uint64_t page_offset, page_length;
    /* The previous store's row as it is (its index can stand for this batch's, reused aside,
     * when every row is its own: wk_rindex_adopt()). */
    uint64_t seq, line, event_offset;
    uint32_t file;
    int64_t row_page;
    uint64_t row_page_offset, row_page_length;
} wk_line_carry;

/*
 * The fast path: when the previous store holds this line key, appends the stored report to
 * report, its event (from the previous DIR/events.jsonl) to event and, when want_page, its page
 * block (from the previous DIR/pages; wanted_page() decides from the verdict) to page (NULL: not
 * read, only its place in out->page, out->page_offset and out->page_length), and fills
 * *out. want_page: 0 no page, 1 the page's block as the store v2 embeds it when the verdict is
 * one --html picks (html_mode, a wk_html_mode). h hashes the stored report: one whose bytes are not
 * its index row's SHA-256 any more is not carried. @return 1 carried, 0 not (nothing appended:
 * the key is unknown, the previous store keeps no line keys, its report is not its index's, or
 * its event or page cannot be had), or -1 with *st (the previous store's report cannot be read:
 * KIVO_EIO; memory).
 */
int wk_reuse_carry_line(wk_reuse *r, kivo_hasher *h, const unsigned char key[WK_REVIEW_KEY_SIZE],
                        int want_page, int html_mode, kivo_buf *report, kivo_buf *event,
                        kivo_buf *page, wk_line_carry *out, kivo_status *st);

#endif
