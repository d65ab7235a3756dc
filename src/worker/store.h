/*
 * store.h - reading a report store: the claim reports a batch wrote under its out folder, one at a
 * time in the store's order, or one looked up by (workflow_id, customer_run_id). `compare` reads
 * both of its folders through this interface only, so it works on any layout a reader exists for.
 *
 * Layouts: "v2" (DIR/reports/part-NNNNN.jsonl[.zst] and DIR/reports/index, the default since
 * issue 14; store_v2.c, docs/report-store.md) and "per-run" (DIR/reports/<workflow_id>/
 * <customer_run_id>/claim_report.json, both ids path-encoded; store_perrun.c). A folder with
 * reports/index is read as v2, any other as per-run. Another layout is one more file with a
 * wk_store_ops and a line in wk_store_open(); nothing else changes.
 */
#ifndef KIVO_WORKER_STORE_H
#define KIVO_WORKER_STORE_H

#include <stddef.h>

/* One report as stored: its exact bytes, with KIVO_JSON_PADDING readable bytes after them, valid
 * until the next call on the same store. */
typedef struct wk_store_report {
    const char *data;
    size_t len;
    const char *where; /* for messages: a path, or a part and offset */
} wk_store_report;

typedef struct wk_store wk_store;

/* What a layout's reader provides. Each function returns as documented for wk_store_* below. */
typedef struct wk_store_ops {
    const char *layout;
    int (*next)(wk_store *s, wk_store_report *r, char *err, size_t errlen);
    int (*get)(wk_store *s, const char *workflow_id, const char *run_id, wk_store_report *r,
               char *err, size_t errlen);
    int (*link)(wk_store *s, const char *workflow_id, const char *run_id, char *href,
                size_t hreflen);
    void (*close)(wk_store *s);
} wk_store_ops;

struct wk_store {
    const wk_store_ops *ops;
    char *dir;  /* the folder given to wk_store_open */
    void *impl; /* the reader's own state */
};

/* Opens the store in dir (a batch's out folder), picking the reader for its layout.
 * @return 0 and *out, or -1 with a message in err (no store there, a layout this build cannot
 * read, I/O). */
int wk_store_open(const char *dir, wk_store **out, char *err, size_t errlen);

/* Closes s; NULL does nothing. */
void wk_store_close(wk_store *s);

/* "per-run", ... */
const char *wk_store_layout(const wk_store *s);

/* The next report in the store's order (v2: input order; per-run: workflow folders, then run
 * folders, by name).
 * @return 1 and *r, 0 at the end, or -1 with a message in err (the store cannot be read on; a
 * single unreadable report is returned as a report, for the caller to judge). */
int wk_store_next(wk_store *s, wk_store_report *r, char *err, size_t errlen);

/* The report of one run. @return 1 and *r, 0 when the store has none, -1 on I/O errors. */
int wk_store_get(wk_store *s, const char *workflow_id, const char *run_id, wk_store_report *r,
                 char *err, size_t errlen);

/* Where a run can be viewed, relative to the store's folder: its page (claim_report.html, or a
 * page and fragment) when it has one, else its report file; '/'-separated, not URL-encoded.
 * @return 0, or -1 when the run is not in the store or the path does not fit. */
int wk_store_link(wk_store *s, const char *workflow_id, const char *run_id, char *href,
                  size_t hreflen);

/* The per-run reader (store_perrun.c) and the v2 reader (store_v2.c). @return 0, or -1 with err
 * set (v2: also when the batch that wrote the store did not finish). */
int wk_store_perrun_open(wk_store *s, char *err, size_t errlen);
int wk_store_v2_open(wk_store *s, char *err, size_t errlen);

/* The one workflow a v2 store holds; NULL for a per-run store (one folder per workflow). */
const char *wk_store_workflow(const wk_store *s);

/* A v2 store: the data block of run_id's page (pages/NNNN.html, the bytes the index names:
 * wk_html_runs_item()'s, embedded) into a malloc'd *data (the caller frees it). @return 1 and
 * *data, *len; 0 when the run is not in the store or has no page; -1 with err (I/O, or a page
 * shorter than the index says). */
int wk_store_v2_page(wk_store *s, const char *run_id, char **data, size_t *len, char *err,
                     size_t errlen);

#endif
