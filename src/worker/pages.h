/*
 * pages.h - the reviewer's pages of the report store v2: DIR/pages/0000.html, 0001.html, ...,
 * each holding up to WK_HTML_RUNS_PER_PAGE runs (those --html picks) in input order, one run on
 * screen at a time, with links to the previous and next page; index.html and the disagreements
 * link a run as pages/NNNN.html#run=ID (html.h has the page's bytes).
 *
 * A page is written as it fills, like a part (parts.h): under NNNN.html.partial, through one
 * write buffer at a time (with at most two more waiting and one being written by the thread that
 * writes them: bgqueue.h), so memory does not grow with the page's size. It is closed when the next
 * page's first run arrives (then it knows it has a next page) or when the batch ends: its tail
 * written, fdatasync'd, renamed to NNNN.html and never written again. A checkpoint syncs the open
 * page and says how far it got; a resumed batch cuts it back to that (reopening a page closed
 * after the checkpoint), so its pages are the same bytes as an uninterrupted batch's.
 */
#ifndef KIVO_WORKER_PAGES_H
#define KIVO_WORKER_PAGES_H

#include <stddef.h>
#include <stdint.h>

#define WK_PAGES_DIR "pages"

typedef struct wk_pages wk_pages;

/* Where the pages stand at a checkpoint. */
typedef struct wk_pages_state {
    int64_t page;   /* the open page, or the next one when none is open */
    int open;       /* a page is open (NNNN.html.partial) */
    uint64_t bytes; /* its bytes in the file */
    uint32_t runs;  /* its runs */
} wk_pages_state;

/* Where one run's block went: its page and its embedded data's bytes in that page. */
typedef struct wk_page_loc {
    int64_t page;
    uint64_t offset, length;
} wk_page_loc;

/* Starts writing pages in DIR/pages (made if missing; out_fd is borrowed), per_page runs a page
 * (1..WK_HTML_RUNS_PER_PAGE; 0 means that); the pages of an earlier batch are removed first.
 * @return 0, or -1 with a message in err. */
int wk_pages_open(int out_fd, uint32_t per_page, wk_pages **out, char *err, size_t errlen);

/* Goes on writing the pages of a checkpoint: pages 0..st->page-1 must be there, closed; later
 * ones are removed, and the open one is cut back to st->bytes (a page closed after the
 * checkpoint is opened again). @return 0, or -1 with a message in err (the batch cannot
 * resume). */
int wk_pages_resume(int out_fd, uint32_t per_page, const wk_pages_state *st, wk_pages **out,
                    char *err, size_t errlen);

/* Runs given a page so far, by the state of a checkpoint (every page before the open one is
 * full). */
uint64_t wk_pages_runs(const wk_pages_state *st, uint32_t per_page);

/* Appends one run's block, data[0..len) as wk_html_runs_item() embedded it; a full page is closed
 * first (it gets its link to this one's page). @return 0 and *loc, or -1 with a message in err. */
int wk_pages_append(wk_pages *p, const char *data, size_t len, wk_page_loc *loc, char *err,
                    size_t errlen);

/* --reuse: prev_pages_fd (taken; -1: none) is the previous store's pages/ folder. A page made
 * only of blocks carried from the previous page of the same number, at the same offsets, with the
 * same head and tail, is a hard link to it (twin.h); other carried blocks are copied from their
 * previous page in the kernel. @return 0. */
int wk_pages_set_previous(wk_pages *p, int prev_pages_fd);

/* Appends a carried run's block: the len bytes at src_off of the previous store's page src_page
 * (wk_pages_set_previous() must have been given it). @return 0 and *loc, or -1 with err. */
int wk_pages_append_carried(wk_pages *p, int64_t src_page, uint64_t src_off, size_t len,
                            wk_page_loc *loc, char *err, size_t errlen);

/* Pages the writer linked to the previous store's. */
uint64_t wk_pages_linked(const wk_pages *p);

/* A checkpoint: the buffer written out, the open page fdatasync'd, *st. @return 0 or -1 (err). */
int wk_pages_sync(wk_pages *p, wk_pages_state *st, char *err, size_t errlen);

/* The batch is done: the open page is closed as the last one and the folder synced. *n_pages
 * (may be NULL): the pages written. @return 0, or -1 with a message in err. */
int wk_pages_finish(wk_pages *p, uint64_t *n_pages, char *err, size_t errlen);

/* Frees p; a page still open is left as it is. NULL does nothing. */
void wk_pages_free(wk_pages *p);

/* Removes DIR/pages and the pages in it (a batch that writes none: what is there is stale).
 * Anything else in the folder stays, and so does the folder then. @return 0, or -1 with errno. */
int wk_pages_remove(int out_fd);

#endif
