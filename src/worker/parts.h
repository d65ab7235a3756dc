/*
 * parts.h - the parts of the report store v2: DIR/reports/part-NNNNN.jsonl, one claim report a
 * line (its exact bytes, which end with its newline), in input order.
 *
 * A part grows under the name part-NNNNN.jsonl.partial and is closed once it holds --part-size
 * bytes or the batch ends: written out, fsynced, renamed to its final name and never written
 * again. With --compress zstd a part (part-NNNNN.jsonl.zst) is a sequence of independent zstd
 * frames, each holding whole reports and at most about WK_FRAME_MAX bytes of them (a larger
 * report gets a frame of its own), so that one report is read by decompressing one frame and
 * `zstdcat part | jq` reads the whole part. Each frame is noted in the index as it is written.
 *
 * The writer is fed from the batch's serial merge, so its writes are large and sequential.
 */
#ifndef KIVO_WORKER_PARTS_H
#define KIVO_WORKER_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/hash.h"
#include "report_index.h"

#define WK_PART_SIZE_DEFAULT (256ull << 20)
#define WK_PART_SIZE_MIN 4096ull
#define WK_FRAME_MAX (1u << 20)
#define WK_PART_NAME_MAX 64

typedef enum wk_compress { WK_COMPRESS_NONE = 0, WK_COMPRESS_ZSTD } wk_compress;

/* "none" or "zstd". @return 0, or -1 for anything else. */
int wk_compress_parse(const char *s, wk_compress *out);
const char *wk_compress_name(wk_compress c);

/* A size with an optional K, M or G (powers of 1024) into *out. @return 0, or -1 when it is not
 * one or is under min. */
int wk_size_parse(const char *s, unsigned long long min, unsigned long long *out);

/* "part-00003.jsonl[.zst][.partial]" into out. */
void wk_part_name(uint32_t part, wk_compress c, int partial, char out[WK_PART_NAME_MAX]);

/* 1 and *part (and *partial) when name is a part's name (final or partial, either
 * compression), else 0. */
int wk_part_parse_name(const char *name, uint32_t *part, int *partial);

/* Where one appended report went. */
typedef struct wk_part_loc {
    uint32_t part;
    uint64_t offset; /* in the part's (decompressed) content */
    int64_t frame;   /* compressed: the frame's number in the part; else -1 */
} wk_part_loc;

typedef struct wk_parts wk_parts;

/* Starts writing parts, from part-00000, in the folder reports_fd (borrowed; it must outlive the
 * writer); any part already there (of an earlier batch) is removed first. part_size: the bytes
 * after which a part is closed. ix gets the frames of compressed parts (may be NULL when not
 * compressing). @return 0, or -1 with a message in err. */
int wk_parts_open(int reports_fd, wk_compress c, uint64_t part_size, wk_rindex *ix, wk_parts **out,
                  char *err, size_t errlen);

/* Where the parts stand at a checkpoint. */
typedef struct wk_parts_state {
    uint32_t part;    /* the open part, or the next one when none is open */
    int open;         /* a part is open (part-NNNNN.jsonl[.zst].partial) */
    uint64_t bytes;   /* its bytes in the file */
    uint64_t content; /* its reports' bytes (decompressed) */
    uint32_t frames;  /* its zstd frames */
} wk_parts_state;

/* Goes on writing the parts of a checkpoint: parts 0..st->part-1 must be there, closed, with the
 * sizes closed[] lists; later parts are removed and the open one is cut back to st->bytes (a part
 * closed after the checkpoint is reopened). @return 0, or -1 with a message in err (a part
 * missing or shorter than the checkpoint says: the batch cannot resume). */
int wk_parts_resume(int reports_fd, wk_compress c, uint64_t part_size, wk_rindex *ix,
                    const wk_parts_state *st, const uint64_t *closed, wk_parts **out, char *err,
                    size_t errlen);

/* A checkpoint: what is buffered goes out (a zstd frame ends), the open part is fdatasync'd, and
 * *st says where the parts stand; *closed (owned by p) the closed parts' sizes. @return 0, or -1
 * with a message in err. */
int wk_parts_sync(wk_parts *p, wk_parts_state *st, const uint64_t **closed, char *err,
                  size_t errlen);

/* Appends one report (its bytes, newline included; one is added if missing). @return 0 and
 * *loc, or -1 with a message in err. */
int wk_parts_append(wk_parts *p, const char *data, size_t len, wk_part_loc *loc, char *err,
                    size_t errlen);

/* --reuse: prev_reports_fd (taken; -1: none) is the previous store's reports/ folder. A part whose
 * reports all come from the previous part of the same name, at the same offsets, and which ends
 * at that part's size is a hard link to it (twin.h; uncompressed parts only); reports carried
 * from elsewhere in the previous parts are copied in the kernel. @return 0. */
int wk_parts_set_previous(wk_parts *p, int prev_reports_fd);

/* Appends a carried report: data[0..len) (its newline included) are the bytes at src_off of the
 * previous store's part src_part, as the caller read them. Without a previous store, or
 * compressed, it is wk_parts_append(). @return 0 and *loc, or -1 with a message in err. */
int wk_parts_append_carried(wk_parts *p, const char *data, size_t len, uint32_t src_part,
                            uint64_t src_off, wk_part_loc *loc, char *err, size_t errlen);

/* Parts the writer linked to the previous store's. */
uint32_t wk_parts_linked(const wk_parts *p);

/* The batch is done: the open part is closed (even when short) and the folder synced.
 * *n_parts (may be NULL) gets how many parts the batch wrote. @return 0, or -1 with err. */
int wk_parts_finish(wk_parts *p, uint32_t *n_parts, char *err, size_t errlen);

/* Frees p; a part still open is left as it is. NULL does nothing. */
void wk_parts_free(wk_parts *p);

/* Reads single reports back from a folder of parts, by what the index says of them; a
 * compressed report's frame is decompressed once and kept for the next report in it. */
typedef struct wk_part_reader wk_part_reader;

/* reports_fd is borrowed. @return 0, or -1 (out of memory). */
int wk_part_reader_open(int reports_fd, wk_part_reader **out);
void wk_part_reader_close(wk_part_reader *r);

/* The report of hit: *data (KIVO_JSON_PADDING readable bytes after it) valid until the next call.
 * @return 0, or -1 with a message in err (a part missing or shorter than the index says, a
 * broken frame). */
int wk_part_reader_get(wk_part_reader *r, const wk_rindex_hit *hit, const char **data, size_t *len,
                       char *err, size_t errlen);

#endif
