/*
 * html.h - the reviewer's view in the report store: a self-contained claim_report.html beside each
 * flagged run's claim_report.json, and DIR/index.html for the whole job. Pages need no network:
 * styles and script are inlined, untrusted text is escaped, a strict Content-Security-Policy
 * rides in a meta tag, and they work from file://.
 */
#ifndef KIVO_WORKER_HTML_H
#define KIVO_WORKER_HTML_H

#include <stdint.h>

#include "kivo/buf.h"
#include "kivo/report.h"
#include "kivo/review.h"

typedef enum wk_html_mode { WK_HTML_NONE = 0, WK_HTML_FLAGGED, WK_HTML_ALL } wk_html_mode;

/* 1 when a run with this verdict gets a page under `mode` (flagged = needs_review or fail). */
int wk_html_wanted(wk_html_mode mode, kivo_verdict verdict);

/* Appends the per-run page (claim_report.html) for one reviewed packet to out. Called on the
 * reviewing thread; must be thread-safe and deterministic. Returns KIVO_OK or an error. */
kivo_status wk_html_render_run(const kivo_packet *packet, const kivo_review *review,
                               const kivo_run_meta *meta, kivo_buf *out);

/* The job index (index.html): fed every reviewed run in input order from the serial merge, then
 * written once at the end. Memory stays bounded for million-run jobs (flagged runs are kept
 * compactly or spilled to a file under the out folder). */
typedef struct wk_html_index wk_html_index;

int wk_html_index_open(const char *out_dir, wk_html_index **out);
/* report_rel: the run's report folder relative to out_dir ("reports/wf/run"). */
int wk_html_index_add(wk_html_index *x, const char *customer_run_id, const char *report_rel,
                      kivo_verdict verdict, uint32_t claims, uint32_t unsupported,
                      uint32_t categories, int has_page);
/* summary_json: the job's summary.json text. Writes DIR/index.html atomically. */
int wk_html_index_write(wk_html_index *x, const char *summary_json);
void wk_html_index_free(wk_html_index *x);

#endif
