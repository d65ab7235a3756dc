/*
 * reader.h - reading a corpus in chunks of whole lines, into buffers that are reused, with the
 * padding simdjson needs after every line. pread into a reused buffer measured several times
 * faster than first-touching a fresh mapping (bench/bench_read.c), so it is the default.
 */
#ifndef KIVO_WORKER_READER_H
#define KIVO_WORKER_READER_H

#include <stddef.h>
#include <stdint.h>

#include "inputs.h"
#include "shard.h"

/* One chunk: whole lines of one file, or one over-long line that was skipped. */
typedef struct wk_chunk {
    char *buf; /* cap bytes + KIVO_JSON_PADDING; reused from batch to batch */
    size_t cap;
    size_t len;           /* bytes of lines in buf */
    size_t file;          /* index into the inputs */
    uint64_t offset;      /* offset of buf[0] in the file */
    int no_final_newline; /* the chunk ends with the file's last line, which has no '\n' */
    uint64_t overlong;    /* > 0: a line of this many bytes was skipped; buf holds nothing */
    int corrupt;          /* compressed data broke off here; the rest of the file is lost */
    int shrunk;           /* the file ended early: it was shrunk_from bytes when the job began
                             * (wk_inputs) and is shrunk_to now; buf holds nothing and offset is
                             * where reading stopped (the rest of the file is lost) */
    uint64_t shrunk_from, shrunk_to;
} wk_chunk;

typedef struct wk_reader wk_reader;

/* chunk_bytes: the usual chunk size; max_line: lines longer than this are skipped (reported). */
int wk_reader_open(const wk_inputs *in, size_t chunk_bytes, size_t max_line, wk_reader **out);
void wk_reader_close(wk_reader *r);

/* Reads only these ranges (one per input, borrowed: they must outlive r; shard.h): files not
 * taken are skipped, a range's chunks start at its begin and stop at its end. Call before the
 * first wk_reader_next(). */
void wk_reader_set_ranges(wk_reader *r, const wk_range *ranges);

/* Fills c with the next chunk. Returns 1 when filled, 0 at the end of all input, -1 on a read
 * error (errno set; wk_reader_failed_file() names the file). */
int wk_reader_next(wk_reader *r, wk_chunk *c);
const char *wk_reader_failed_file(const wk_reader *r);

/* Bytes consumed so far, over all files. */
uint64_t wk_reader_bytes(const wk_reader *r);

void wk_chunk_free(wk_chunk *c);

#endif
