/*
 * html.h - the reviewer's view in the report store: a self-contained claim_report.html beside each
 * flagged run's claim_report.json, and DIR/index.html for the whole job. Pages need no network:
 * styles and script (src/web/) are inlined, untrusted text travels only inside a JSON data block
 * escaped for HTML, a strict Content-Security-Policy rides in a meta tag (hash sources, the only
 * kind a file:// page can use), and they work from file://.
 */
#ifndef KIVO_WORKER_HTML_H
#define KIVO_WORKER_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/buf.h"
#include "kivo/review.h"
#include "kivo/status.h"

/* --html: which runs get a claim_report.html. The zero value is the default (flagged), so a
 * million-run backfill writes a page per flagged run only. NONE writes no HTML at all, index.html
 * included. */
typedef enum wk_html_mode { WK_HTML_FLAGGED = 0, WK_HTML_ALL, WK_HTML_NONE } wk_html_mode;

/* Parses "all", "flagged" or "none". @return KIVO_OK, or KIVO_EINVAL for anything else. */
kivo_status wk_html_mode_parse(const char *s, wk_html_mode *out);

/* 1 when a run with this verdict gets a page under `mode` (flagged = needs_review or fail). */
int wk_html_wanted(wk_html_mode mode, kivo_verdict verdict);

/* Appends json[0..len) to out so that it can sit inside <script type="application/json">: '<',
 * '>' and '&' become \u003c, \u003e and \u0026, U+2028 and U+2029 become \u2028 and \u2029. Those
 * characters occur only inside JSON strings, where the escapes mean the same text, so the result
 * is the same JSON and can never close the element or open a comment. @return KIVO_OK, KIVO_ENOMEM
 * or KIVO_ETOOBIG. */
kivo_status wk_html_json_embed(const char *json, size_t len, kivo_buf *out);

/* The page's Content-Security-Policy (meta tag value): nothing but the inlined script and style,
 * by their SHA-256. out must hold WK_HTML_CSP_MAX bytes. */
#define WK_HTML_CSP_MAX 256
void wk_html_csp(char out[WK_HTML_CSP_MAX]);

/* Appends a whole page to out: doctype, CSP meta, inlined style, <body data-kivo="kind"> (kind is
 * "run" or "index"), the data block (data_json embedded as above) and the inlined script. */
kivo_status wk_html_page(const char *kind, const char *data_json, size_t len, kivo_buf *out);

/* Appends the data block of a run's page to out, already embedded (escaped) as above: the claim
 * report as rendered by kivo_report_render (report[0..report_len)) with the packet's output and
 * source texts. This is all the batch keeps per page until it is written; the inlined script and
 * style are added by wk_html_write_at. Deterministic and thread-safe. @return KIVO_OK, KIVO_ENOMEM or
 * KIVO_EINVAL (report is not a JSON object). */
kivo_status wk_html_run_data(const kivo_packet *packet, const char *report, size_t report_len,
                             kivo_buf *out);

/* Writes a whole page of `kind` around `embedded` (from wk_html_run_data) to name in the folder
 * dirfd, atomically and WK_MODE_TEXT (wk_write_at(); flags as there). @return KIVO_OK, or KIVO_EIO
 * with errno. */
kivo_status wk_html_write_at(int dirfd, const char *name, const char *kind, const char *embedded,
                             size_t len, unsigned flags);

/* The data block of a run on a page of the report store v2 (pages/NNNN.html), embedded as
 * above: {"packet":...,"report":...}, the same members as wk_html_run_data's without the
 * per-run page's "kind" and "index". Deterministic and thread-safe. @return as
 * wk_html_run_data. */
kivo_status wk_html_runs_item(const kivo_packet *packet, const char *report, size_t report_len,
                              kivo_buf *out);

/* Appends a whole page of `kind` around data that is already embedded (wk_html_run_data,
 * wk_html_runs_item) to out. @return KIVO_OK or KIVO_ENOMEM. */
kivo_status wk_html_page_embedded(const char *kind, const char *embedded, size_t len,
                                  kivo_buf *out);

/* A page of the report store v2, DIR/pages/NNNN.html, <body data-kivo="runs">, is written in
 * three kinds of pieces: its head (the skeleton, its own data block naming the page, the job
 * index and the previous page), one block per run (WK_HTML_RUN_OPEN, the run's embedded data
 * from wk_html_runs_item, WK_HTML_RUN_CLOSE) in input order, and its tail (a block naming the
 * next page, or none, and the script). Each @return KIVO_OK or KIVO_ENOMEM. */
#define WK_HTML_PAGE_NAME_MAX 32
#define WK_HTML_RUNS_PER_PAGE 500
#define WK_HTML_RUN_OPEN "<script type=\"application/json\" class=\"kivo-run\">"
#define WK_HTML_RUN_CLOSE "</script>\n"
/* "NNNN.html" (at least 4 digits) into out. */
void wk_html_page_name(int64_t page, char out[WK_HTML_PAGE_NAME_MAX]);
kivo_status wk_html_runs_head(int64_t page, kivo_buf *out);
/* next: the next page's number, or -1 when this page is the last. */
kivo_status wk_html_runs_tail(int64_t next, kivo_buf *out);

/* Appends the whole per-run page (claim_report.html) to out: the same bytes as
 * wk_html_run_data and then wk_html_write_at. For tests and callers that want the page in memory.
 * @return as wk_html_run_data. */
kivo_status wk_html_render_run(const kivo_packet *packet, const char *report, size_t report_len,
                               kivo_buf *out);

/* Where a run's page is, as the batch tells the reviewer's index (index.html) and the labeled
 * disagreements: a page number n >= 0 of the report store v2 (pages/NNNN.html#run=ID), or one of
 * these. */
#define WK_PAGE_NONE (-1)     /* the report store v2, no page: the run is named, not linked */
#define WK_PAGE_RUN_DIR (-2)  /* the per-run layout, no page: links the run's claim_report.json */
#define WK_PAGE_RUN_HTML (-3) /* the per-run layout: links the run's claim_report.html */

/* Adds to o the members review.js links a run by: "dir" and "page" (the per-run layout), or
 * "page_file" (v2, when the run has a page). report_dir: wk_report_dir() of the workflow.
 * @return 0, or -1 without memory. */
struct json_t;
int wk_html_link_members(struct json_t *o, const char *report_dir, const char *customer_run_id,
                         int64_t page);

/* The job index (index.html): fed every reviewed run in input order from the serial merge, then
 * written once at the end. Only flagged runs are kept, and only the max_runs most severe of them
 * (fail before needs_review, then more unsupported claims, then input order), so memory is bounded
 * however large the job; the page says how many were left out. */
typedef struct wk_html_index wk_html_index;

#define WK_HTML_INDEX_MAX_RUNS 10000

/* out_fd: the batch's output folder (borrowed; it must stay open until wk_html_index_free());
 * workflow_id: the job's (path-encoded for links). max_runs 0
 * means WK_HTML_INDEX_MAX_RUNS. @return KIVO_OK and *out, or KIVO_ENOMEM. */
kivo_status wk_html_index_open(int out_fd, const char *workflow_id, size_t max_runs,
                               wk_html_index **out);

/* One reviewed run; page says where its page is (WK_PAGE_* or a page number). Runs that pass
 * are counted only. @return KIVO_OK or KIVO_ENOMEM. */
kivo_status wk_html_index_add(wk_html_index *x, const char *customer_run_id, kivo_verdict verdict,
                              uint32_t claims, uint32_t unsupported, uint32_t categories,
                              int64_t page);

/* Writes DIR/index.html atomically. summary_json: the job's summary.json text; the first
 * rejects of DIR/rejects.jsonl, when it exists, are listed too. @return KIVO_OK, or KIVO_EIO
 * (with errno) or KIVO_ENOMEM. */
kivo_status wk_html_index_write(wk_html_index *x, const char *summary_json);

/* Adds a member `key` to the page's data (its reference is taken; NULL fails), for what a job
 * adds to its index (a labeled batch's disagreements). @return 0, or -1 without memory. */
int wk_html_index_attach(wk_html_index *x, const char *key, struct json_t *value);

/* Frees x; NULL does nothing. */
void wk_html_index_free(wk_html_index *x);

#endif
