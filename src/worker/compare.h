/*
 * compare.h - `kivo-worker compare BASE_DIR CAND_DIR`: two batches over the same records, paired
 * by (workflow_id, customer_run_id), read from their report stores (store.h) as streams.
 *
 * Memory is bounded by a 16-byte table entry per baseline run: the baseline is read first into an
 * open-addressing table of key hashes, each pointing at a record in a temporary spill file (ids,
 * verdict, categories, group values, hashes of the flagged claims' texts); the candidate is then
 * read and each run looked up, its baseline record read back with one pread. Nothing else grows
 * with the stores but the bounded lists of runs kept for display.
 *
 * Definitions (pass < needs_review < fail): a pair *regressed* when the candidate's verdict is
 * more severe than the baseline's and is *fixed* the other way; a *new fail* is fail in the
 * candidate and not in the baseline, a *fixed fail* the reverse; a run is *flagged* when its
 * verdict is needs_review or fail; a claim is flagged when its status is not supported, and a
 * *newly flagged claim* is a flagged claim of the candidate whose text is not among the baseline
 * run's flagged claims.
 */
#ifndef KIVO_WORKER_COMPARE_H
#define KIVO_WORKER_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gate.h"
#include "groups.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "kivo/review.h"
#include "metadata.h"
#include "store.h"

struct wk_junit;

/* Runs of each list (regressed, unpaired on each side) kept for display; all are counted. */
#define WK_COMPARE_LIST_MAX 10000
#define WK_COMPARE_UNPAIRED_MAX 1000

typedef struct wk_compare_opts {
    const char *base_dir, *cand_dir;
    const char *group_by;   /* --group-by list, or NULL */
    struct wk_junit *junit; /* a testcase per run is added, or NULL */
    int progress;           /* a line on stderr now and then (a terminal only) */
} wk_compare_opts;

typedef struct wk_compare wk_compare;

/* Reads both stores and pairs their runs. @return KIVO_OK and *out; KIVO_EINVAL when a folder is
 * not a store this build can read; KIVO_EIO on I/O or memory failures; err says why. */
kivo_status wk_compare_run(const wk_compare_opts *o, wk_compare **out, char *err, size_t errlen);
void wk_compare_free(wk_compare *c);

/* The result as JSON (kivo_worker_compare.v1, described in docs/compare.md). Each listed regressed
 * run carries base_link and candidate_link, relative to its store's folder (wk_store_link). A new
 * reference, or NULL without memory. */
json_t *wk_compare_json(const wk_compare *c);

/* The metrics `compare --fail-on` can test (c NULL: names only, for parsing). @return how many. */
#define WK_COMPARE_METRICS 20
size_t wk_compare_metrics(const wk_compare *c, wk_metric out[WK_COMPARE_METRICS]);

/* ---- reading one report (compare_read.c) -------------------------------------------------- */

/* What compare needs of one claim report. Strings point into the parsed document unless noted. */
typedef struct wk_cmp_run {
    char workflow_id[KIVO_RUN_ID_MAX + 1]; /* copies, NUL-terminated */
    char run_id[KIVO_RUN_ID_MAX + 1];
    kivo_verdict verdict;
    uint32_t categories, claims, unsupported;
    wk_label label;
    const char *engine; /* engine_version */
    size_t engine_len;
    const char *batch; /* batch_id ("default" when absent) */
    size_t batch_len;
    char policy[640];      /* "strictness/intended_use/policy_version" */
    uint64_t *flag_hashes; /* XXH3 of each flagged claim's text, sorted;
                                                 * owned, reused from run to run */
    size_t n_flag, cap_flag;
    const char *group_value[WK_GROUP_MAX_FIELDS]; /* NULL: the report has no value */
    size_t group_len[WK_GROUP_MAX_FIELDS];
} wk_cmp_run;

/* Parses r's bytes and fills out (g: the --group-by fields, or NULL). @return 0, or -1 with
 * *why saying what is wrong (not JSON, not a kivo_claim_report.v1, a field missing). */
int wk_cmp_read(kivo_json_parser *p, const wk_store_report *r, const wk_groups *g, wk_cmp_run *out,
                const char **why);
void wk_cmp_run_free(wk_cmp_run *run);

/* How many of s's len bytes to keep so that at most max are left, cut between characters, never
 * inside one: a text cut inside a UTF-8 character is invalid UTF-8, which jansson refuses (the
 * value would silently go missing from compare's result). s is valid UTF-8, and s[max] readable
 * when len > max. @return len when len <= max, else the boundary at or before max. */
size_t wk_cmp_utf8_cut(const char *s, size_t len, size_t max);

/* ---- the page (compare_html.c) ------------------------------------------------------------- */

/* Writes the compare page to path: the result (from wk_compare_json) with, for links, the path
 * from path's folder to each store's folder. Self-contained, the reviewer's view's script, style
 * and Content-Security-Policy. @return 0, or -1 with errno. */
int wk_compare_html_write(const char *path, const json_t *result, const char *base_dir,
                          const char *cand_dir);

/* The relative path from folder `from` to folder `to` (both must exist), '/'-separated, "." when
 * they are the same. @return 0, or -1 with errno. */
int wk_relpath(const char *from, const char *to, char *out, size_t outlen);

#endif
