/*
 * report_index.h - DIR/reports/index of the report store v2: a SQLite database that maps each
 * run of a batch to where its claim report is (part, offset, length, and for compressed parts the
 * zstd frame that holds it), the report's SHA-256 and verdict, where the run came from in the
 * inputs, its page, and its review key (for --reuse). docs/report-store.md describes the tables.
 *
 * Written from the batch's serial merge: rows are inserted through one prepared statement inside
 * one transaction per checkpoint (WAL, synchronous=FULL: the commit is durable before the manifest
 * that counts it is written). The secondary indexes (by run id, by review key) are made once, when
 * the batch is complete: building them from sorted data is far cheaper than keeping them while a
 * million rows arrive in input order.
 */
#ifndef KIVO_WORKER_REPORT_INDEX_H
#define KIVO_WORKER_REPORT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/hash.h"

#define WK_RINDEX_NAME "index"
#define WK_REVIEW_KEY_SIZE 32

/* One run, as the index keeps it. Strings are NUL-terminated and borrowed. */
typedef struct wk_rindex_row {
    uint64_t seq; /* 0.. in input order among the reviewed runs */
    const char *run_id;
    uint32_t part;           /* part-NNNNN */
    uint64_t offset, length; /* the report's bytes in the part's (decompressed) content */
    int64_t frame;           /* compressed parts: the frame's number in its part, else -1 */
    char sha256[KIVO_HASH_TEXT_SIZE];
    uint8_t verdict; /* kivo_verdict */
    uint32_t claims, unsupported, categories;
    int64_t page;                      /* pages/NNNN.html, or -1: no page */
    uint64_t page_offset, page_length; /* the run's data block in that page */
    uint32_t file;                     /* index of the input file (manifest.json's inputs) */
    uint64_t line;                     /* 1-based line in that file */
    int has_key;
    unsigned char review_key[WK_REVIEW_KEY_SIZE];
    int8_t label;       /* wk_label */
    const void *groups; /* --group-by values as batch.c packs them, or NULL */
    size_t groups_len;
    int reused; /* carried over by --reuse */
    /* The line key (reuse.h: SHA-256 over the job and the record's input line) and where the
     * run's event is in DIR/events.jsonl; a row without them (has_line_key 0) stores NULLs. Only
     * wk_rindex_find_line() reads them back. */
    int has_line_key;
    unsigned char line_key[WK_REVIEW_KEY_SIZE];
    uint64_t event_offset, event_length;
} wk_rindex_row;

/* A zstd frame of a compressed part: where it is in the file, how many compressed bytes, and
 * where its content starts in the part's decompressed stream. */
typedef struct wk_rindex_frame {
    uint32_t part;
    uint32_t frame;
    uint64_t offset, size;  /* compressed, in the file */
    uint64_t start, length; /* decompressed */
} wk_rindex_frame;

typedef struct wk_rindex wk_rindex;

/* Opens reports_dir/index for writing: made new (an old one is removed first) when fresh, else
 * opened as it is, with the rows from seq `keep` on and the frames of parts after `keep_part` (and
 * of keep_part from frame `keep_frame` on) deleted: what a checkpoint did not count. A
 * transaction is open on return. @return 0, or -1 with a message in err. */
int wk_rindex_open_write(const char *reports_dir, int fresh, uint64_t keep, uint32_t keep_part,
                         uint32_t keep_frame, wk_rindex **out, char *err, size_t errlen);

/* Opens an existing index to read. @return 0, or -1 with a message in err (ENOENT: none). */
int wk_rindex_open_read(const char *reports_dir, wk_rindex **out, char *err, size_t errlen);

/* A read handle that makes many lookups (--reuse) keeps one read transaction open until it is
 * closed: without it SQLite locks and checks the files again for every statement. @return 0 or
 * -1 with the message in wk_rindex_errmsg(). */
int wk_rindex_hold_read(wk_rindex *x);

/* Closes (a write handle's open transaction is rolled back). NULL does nothing. */
void wk_rindex_close(wk_rindex *x);

/* Adds a row or a frame to the open transaction. @return 0, or -1 with the message in
 * wk_rindex_errmsg(). */
int wk_rindex_add(wk_rindex *x, const wk_rindex_row *r);
int wk_rindex_add_frame(wk_rindex *x, const wk_rindex_frame *f);

/* Commits the open transaction (durably) and opens the next. @return 0 or -1. */
int wk_rindex_commit(wk_rindex *x);

/* The batch is complete: commits, makes the lookup indexes, records `complete`, and folds the
 * write-ahead log into the database file so that the store is one file. @return 0 or -1. */
int wk_rindex_finish(wk_rindex *x);
/* lookups 0: the same without the indexes by run id, review key and line key (a store that only
 * `merge` reads, in seq order: kivo-worker-mpi's rank folders). */
int wk_rindex_finish_ex(wk_rindex *x, int lookups);

/* --reuse, instead of wk_rindex_finish(): when every run of this batch was carried by its line
 * to the same seq, places, input line and event place as in the previous store at prev_dir (the
 * caller checked each row), and that store's index has exactly `rows` runs and no frames, this
 * batch's index is given up and a copy of the previous one takes its place, with every row's
 * `reused` set to 1 and this batch's store notes: the same rows, without inserting and indexing
 * them again. *adopted says whether it was done (0: nothing changed, finish as usual).
 * @return 0, or -1 with a message in err (x cannot be used after, but to close it). */
int wk_rindex_adopt(wk_rindex *x, const char *reports_dir, const char *prev_dir, uint64_t rows,
                    int *adopted, char *err, size_t errlen);

/* --reuse: attaches the previous store's index (prev_dir/index) for wk_rindex_copy_prev(); the
 * open transaction is committed first and a new one opened. @return 0, or -1 (then rows cannot
 * be copied; the handle is still usable when in a transaction). */
int wk_rindex_attach_prev(wk_rindex *x, const char *prev_dir);

/* Adds the previous index's rows of seq [from, to) as they are but `reused` (1): the rows this
 * batch carried to the same places, checked row by row by the caller (one statement instead of a
 * row at a time). @return 0, or -1 (also when fewer rows were there). */
int wk_rindex_copy_prev(wk_rindex *x, uint64_t from, uint64_t to);

/* A key/value note in the index's store table (format, layout, workflow_id, compression),
 * inside the open transaction. @return 0 or -1. */
int wk_rindex_set(wk_rindex *x, const char *key, const char *value);
/* Reads one back into out (size outlen). @return 1 found, 0 not, -1 error. */
int wk_rindex_get(wk_rindex *x, const char *key, char *out, size_t outlen);

/* A row found by a lookup: strings valid until the next call on x. */
typedef struct wk_rindex_hit {
    wk_rindex_row row;
    int has_frame;
    wk_rindex_frame frame;
} wk_rindex_hit;

/* The run `run_id`. @return 1 and *hit, 0 when the index has none, -1 on error. */
int wk_rindex_find(wk_rindex *x, const char *run_id, wk_rindex_hit *hit);

/* The first run reviewed under this review key. @return as wk_rindex_find(). */
int wk_rindex_find_key(wk_rindex *x, const unsigned char key[WK_REVIEW_KEY_SIZE],
                       wk_rindex_hit *hit);

/* 1 when the index keeps line keys (a store written before them does not). */
int wk_rindex_has_lines(wk_rindex *x);

/* The first run stored under this line key, with its event's place (row.event_offset,
 * event_length). @return as wk_rindex_find(); 0 also when the index keeps no line keys. */
int wk_rindex_find_line(wk_rindex *x, const unsigned char key[WK_REVIEW_KEY_SIZE],
                        wk_rindex_hit *hit);

/* The run at seq. @return as wk_rindex_find(). */
int wk_rindex_at(wk_rindex *x, uint64_t seq, wk_rindex_hit *hit);

/* The rows in seq order, one per call, from seq `from` (taken on the first call): one statement
 * stepped through, far cheaper than wk_rindex_at() per row; with their line keys (has_line_key,
 * line_key; not the events' places). The hit is valid until the next call.
 * @return 1 with *hit, 0 after the last row, -1 on error. */
int wk_rindex_next(wk_rindex *x, uint64_t from, wk_rindex_hit *hit);

/* Calls fn for every row in seq order, from seq `from`, until it returns non-zero (which is
 * then returned). @return 0 at the end, fn's value, or -1 on error. */
int wk_rindex_each(wk_rindex *x, uint64_t from, int (*fn)(const wk_rindex_row *r, void *arg),
                   void *arg);

/* Calls fn for every row in seq order with only seq, run_id, part, offset, length, frame,
 * verdict, claims, unsupported, categories, file and line filled in (merge's cheap first pass).
 * @return as wk_rindex_each(). */
int wk_rindex_each_light(wk_rindex *x, int (*fn)(const wk_rindex_row *r, void *arg), void *arg);

/* A write handle's rows copied from another index (merge's copy by ranges): attach the other
 * reports folder's index as "shard", copy its rows first..last (by seq: one part's run of rows)
 * with seq + seq_delta, part to_part, offset + offset_delta and (rows with a line key)
 * event_offset + event_delta, every other column as it is; then detach. Attaching and detaching
 * commit the open transaction. @return 0, or -1 with the message in wk_rindex_errmsg(). */
int wk_rindex_attach(wk_rindex *x, const char *reports_dir);
int wk_rindex_copy_rows(wk_rindex *x, int64_t seq_delta, uint64_t first, uint64_t last,
                        uint32_t to_part, int64_t offset_delta, int64_t event_delta);
int wk_rindex_detach(wk_rindex *x);

/* Rows in the index. @return the count, or -1. */
int64_t wk_rindex_count(wk_rindex *x);

/* The last SQLite error, for messages. */
const char *wk_rindex_errmsg(const wk_rindex *x);

#endif
