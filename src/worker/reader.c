/*
 * reader.c - chunks of whole lines by pread(2) into reused buffers.
 *
 * A chunk is read at the file offset where the last one ended and cut after its last '\n'. A line
 * longer than the chunk makes the buffer grow (up to max_line); a line longer than max_line is
 * skipped by reading on until its end, and handed back as an `overlong` chunk so that it becomes a
 * reject, never a silent loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kivo/json.h"
#include "reader.h"

struct wk_reader {
    const wk_inputs *in;
    size_t chunk_bytes, max_line;
    size_t file;
    int fd;
    uint64_t offset;        /* next read position in the current file */
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
    free(r);
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

int wk_reader_next(wk_reader *r, wk_chunk *c)
{
    for (;;) {
        if (r->file >= r->in->n)
            return 0;
        if (r->fd < 0) {
            r->fd = open(r->in->paths[r->file], O_RDONLY | O_CLOEXEC);
            if (r->fd < 0)
                return -1;
            r->offset = 0;
            posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        }
        size_t want = r->chunk_bytes;
        if (ensure(c, want) != 0)
            return -1;
        c->file = r->file;
        c->offset = r->offset;
        c->no_final_newline = 0;
        c->overlong = 0;
        for (;;) {
            ssize_t n = pread_full(r->fd, c->buf, want, r->offset);
            if (n < 0)
                return -1;
            if (n == 0) {
                close(r->fd);
                r->fd = -1;
                r->file++;
                break;      /* next file */
            }
            char *last = memrchr(c->buf, '\n', (size_t)n);
            if (last) {
                c->len = (size_t)(last - c->buf) + 1;
            } else if ((size_t)n < want) {
                c->len = (size_t)n;         /* the file's last line, without '\n' */
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
