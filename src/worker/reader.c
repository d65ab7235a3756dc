/*
 * reader.c - chunks of whole lines by pread(2) into reused buffers.
 *
 * A chunk is read at the file offset where the last one ended and cut after its last '\n'. A line
 * longer than the chunk makes the buffer grow (up to max_line); a line longer than max_line is
 * skipped by reading on until its end, and handed back as an `overlong` chunk so that it becomes a
 * reject, never a silent loss.
 *
 * Compressed inputs (.gz, .zst) cannot be read at an offset: they are decompressed as a stream
 * into a staging buffer, and chunks are cut from it the same way; their offsets count
 * decompressed bytes.
 *
 * A file that is shorter at its end than it was when the job began (wk_inputs_expand() took its
 * size) was truncated while it was read: its lost end is handed back as a `shrunk` chunk, so
 * that it becomes a reject rather than a silent gap. For plain files the read offset at the end
 * tells; for compressed ones, the file's size then (fstat).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "kivo/json.h"
#include "reader.h"
#include "stream.h"

struct wk_reader {
    const wk_inputs *in;
    size_t chunk_bytes, max_line;
    size_t file;
    int fd;
    wk_stream *stream; /* the current file when it is compressed */
    char *pend;        /* decompressed bytes not yet handed out */
    size_t pend_len, pend_cap;
    int stream_eof;
    int stream_corrupt;        /* decompression failed: hand out what came before, then say so */
    int stream_shrunk_checked; /* its size was compared with the job's at its end */
    const wk_range *ranges;    /* --shard: what of each file to read, or NULL: all */
    uint64_t offset;           /* next read position in the current file */
    uint64_t limit;            /* where the current file's range ends (UINT64_MAX: its end) */
    uint64_t consumed;
};

int wk_reader_open(const wk_inputs *in, size_t chunk_bytes, size_t max_line, wk_reader **out)
{
    wk_reader *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->in = in;
    r->chunk_bytes = chunk_bytes;
    r->max_line = max_line;
    r->fd = -1;
    *out = r;
    return 0;
}

void wk_reader_close(wk_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    wk_stream_close(r->stream);
    free(r->pend);
    free(r);
}

void wk_reader_set_ranges(wk_reader *r, const wk_range *ranges)
{
    r->ranges = ranges;
}

const char *wk_reader_failed_file(const wk_reader *r)
{
    return r->file < r->in->n ? r->in->paths[r->file] : "";
}

uint64_t wk_reader_bytes(const wk_reader *r)
{
    return r->consumed;
}

void wk_chunk_free(wk_chunk *c)
{
    free(c->buf);
    memset(c, 0, sizeof *c);
}

static void reset(wk_chunk *c, size_t file, uint64_t offset)
{
    c->file = file;
    c->offset = offset;
    c->len = 0;
    c->no_final_newline = 0;
    c->overlong = 0;
    c->corrupt = 0;
    c->shrunk = 0;
    c->shrunk_from = c->shrunk_to = 0;
}

/* At the end of the current file, now `size` bytes: 1 (and c filled) when it was longer when the
 * job began. */
static int ended_early(const wk_reader *r, wk_chunk *c, uint64_t size)
{
    uint64_t was = r->in->sizes[r->file];
    if (size >= was)
        return 0;
    reset(c, r->file, r->offset);
    c->shrunk = 1;
    c->shrunk_from = was;
    c->shrunk_to = size;
    return 1;
}

static int ensure(wk_chunk *c, size_t cap)
{
    if (c->cap >= cap)
        return 0;
    char *b = realloc(c->buf, cap + KIVO_JSON_PADDING);
    if (!b)
        return -1;
    c->buf = b;
    c->cap = cap;
    return 0;
}

static ssize_t pread_full(int fd, char *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* Skips the over-long line starting at r->offset; returns its length, or -1 on error. */
static int64_t skip_line(wk_reader *r, wk_chunk *c)
{
    uint64_t start = r->offset, pos = r->offset;
    for (;;) {
        ssize_t n = pread_full(r->fd, c->buf, c->cap, pos);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        char *nl = memchr(c->buf, '\n', (size_t)n);
        if (nl) {
            pos += (uint64_t)(nl - c->buf) + 1;
            break;
        }
        pos += (uint64_t)n;
    }
    r->offset = pos;
    return (int64_t)(pos - start);
}

/* Decompresses until pend holds `want` bytes or the stream ends. */
static int fill_pend(wk_reader *r, size_t want)
{
    if (want > r->pend_cap) {
        char *p = realloc(r->pend, want);
        if (!p)
            return -1;
        r->pend = p;
        r->pend_cap = want;
    }
    while (r->pend_len < want && !r->stream_eof) {
        ssize_t k = wk_stream_read(r->stream, r->pend + r->pend_len, want - r->pend_len);
        if (k < 0 && errno == EIO) {
            r->stream_corrupt = 1;
            r->stream_eof = 1;
            break;
        }
        if (k < 0)
            return -1;
        if (k == 0)
            r->stream_eof = 1;
        r->pend_len += (size_t)k;
    }
    return 0;
}

static void take_pend(wk_reader *r, size_t n)
{
    memmove(r->pend, r->pend + n, r->pend_len - n);
    r->pend_len -= n;
    r->offset += n;
    r->consumed += n;
}

/* The next chunk of a compressed file: 1 filled, 0 at its end, -1 on error. */
static int next_from_stream(wk_reader *r, wk_chunk *c)
{
    size_t want = r->chunk_bytes;
    reset(c, r->file, r->offset);
    for (;;) {
        if (fill_pend(r, want) != 0)
            return -1;
        if (r->pend_len == 0 && r->stream_corrupt) {
            r->stream_corrupt = 0;
            c->len = 0;
            c->corrupt = 1;
            return 1;
        }
        if (r->pend_len == 0) {
            struct stat sb;
            if (r->stream_shrunk_checked || fstat(wk_stream_fd(r->stream), &sb) != 0)
                return 0;
            r->stream_shrunk_checked = 1;
            return ended_early(r, c, (uint64_t)sb.st_size);
        }
        size_t avail = r->pend_len < want ? r->pend_len : want;
        char *last = memrchr(r->pend, '\n', avail);
        size_t len;
        if (last) {
            len = (size_t)(last - r->pend) + 1;
        } else if (r->stream_eof && r->pend_len <= want) {
            len = r->pend_len; /* the last line, without '\n' */
            c->no_final_newline = 1;
        } else if (want < r->max_line + 1) {
            want = want * 2 > r->max_line + 1 ? r->max_line + 1 : want * 2;
            continue;
        } else {
            /* Over the limit: drop bytes up to and including the next '\n'. */
            uint64_t skipped = 0;
            for (;;) {
                char *nl = memchr(r->pend, '\n', r->pend_len);
                if (nl) {
                    size_t n = (size_t)(nl - r->pend) + 1;
                    skipped += n;
                    take_pend(r, n);
                    break;
                }
                skipped += r->pend_len;
                take_pend(r, r->pend_len);
                if (r->stream_eof)
                    break;
                if (fill_pend(r, want) != 0)
                    return -1;
            }
            c->len = 0;
            c->overlong = skipped;
            return 1;
        }
        if (ensure(c, len > r->chunk_bytes ? len : r->chunk_bytes) != 0)
            return -1;
        memcpy(c->buf, r->pend, len);
        memset(c->buf + len, 0, KIVO_JSON_PADDING);
        c->len = len;
        take_pend(r, len);
        return 1;
    }
}

int wk_reader_next(wk_reader *r, wk_chunk *c)
{
    for (;;) {
        if (r->file >= r->in->n)
            return 0;
        if (r->fd < 0 && !r->stream) {
            const char *path = r->in->paths[r->file];
            const wk_range *rg = r->ranges ? &r->ranges[r->file] : NULL;
            if (rg && !rg->take) {
                r->file++;
                continue;
            }
            r->offset = rg ? rg->begin : 0;
            r->limit = rg ? rg->end : UINT64_MAX;
            if (wk_stream_is_compressed(path)) {
                if (wk_stream_open(path, &r->stream) != 0)
                    return -1;
                r->pend_len = 0;
                r->stream_eof = 0;
                r->stream_corrupt = 0;
                r->stream_shrunk_checked = 0;
            } else {
                r->fd = open(path, O_RDONLY | O_CLOEXEC);
                if (r->fd < 0)
                    return -1;
                posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
            }
        }
        if (r->stream) {
            int k = next_from_stream(r, c);
            if (k != 0)
                return k;
            wk_stream_close(r->stream);
            r->stream = NULL;
            r->file++;
            continue;
        }
        size_t want = r->chunk_bytes;
        if (ensure(c, want) != 0)
            return -1;
        reset(c, r->file, r->offset);
        for (;;) {
            /* A shard's range ends just after a newline (shard.h): no chunk reads past it. */
            size_t ask = r->limit - r->offset < want ? (size_t)(r->limit - r->offset) : want;
            ssize_t n = ask ? pread_full(r->fd, c->buf, ask, r->offset) : 0;
            if (n < 0)
                return -1;
            if (n == 0) {
                int early = r->offset < r->limit && ended_early(r, c, r->offset);
                close(r->fd);
                r->fd = -1;
                r->file++;
                if (early)
                    return 1;
                break; /* next file */
            }
            char *last = memrchr(c->buf, '\n', (size_t)n);
            if (last) {
                c->len = (size_t)(last - c->buf) + 1;
            } else if ((size_t)n < ask) {
                c->len = (size_t)n; /* the file's last line, without '\n' */
                c->no_final_newline = 1;
            } else if (want < r->max_line + 1) {
                /* One line fills the buffer: grow and read again, up to the ceiling. */
                want = want * 2 > r->max_line + 1 ? r->max_line + 1 : want * 2;
                if (ensure(c, want) != 0)
                    return -1;
                continue;
            } else {
                int64_t skipped = skip_line(r, c);
                if (skipped < 0)
                    return -1;
                c->len = 0;
                c->overlong = (uint64_t)skipped;
                r->consumed += (uint64_t)skipped;
                return 1;
            }
            memset(c->buf + c->len, 0, KIVO_JSON_PADDING);
            r->offset += c->len;
            r->consumed += c->len;
            return 1;
        }
    }
}
