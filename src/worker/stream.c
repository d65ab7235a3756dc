/*
 * stream.c - gzip through zlib's gzread, zstd through ZSTD_decompressStream fed by read(2).
 * Compressed inputs are sharded by file (one stream at a time, in order); their reject offsets
 * are offsets in the decompressed text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "stream.h"

#define ZIN_BYTES (1u << 17)

struct wk_stream {
    gzFile gz;
    int fd;
    ZSTD_DStream *zs;
    ZSTD_inBuffer in;
    char *inbuf;
    int eof;
    size_t pending; /* ZSTD_decompressStream's hint: 0 once a frame is complete */
    int plain;      /* wk_stream_open_fd(): bytes as read, no decompression */
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int wk_stream_is_compressed(const char *path)
{
    return ends_with(path, ".gz") || ends_with(path, ".zst");
}

int wk_stream_open(const char *path, wk_stream **out)
{
    wk_stream *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        free(s);
        return -1;
    }
    if (ends_with(path, ".gz")) {
        /* gzdopen: the descriptor stays ours to fstat; gzclose() closes it. */
        s->gz = gzdopen(s->fd, "rb");
        if (!s->gz) {
            close(s->fd);
            free(s);
            errno = ENOMEM;
            return -1;
        }
        gzbuffer(s->gz, 1u << 17);
    } else {
        s->zs = ZSTD_createDStream();
        s->inbuf = malloc(ZIN_BYTES);
        if (!s->zs || !s->inbuf) {
            wk_stream_close(s);
            errno = ENOMEM;
            return -1;
        }
        ZSTD_initDStream(s->zs);
        s->in.src = s->inbuf;
    }
    *out = s;
    return 0;
}

int wk_stream_open_fd(int fd, wk_stream **out)
{
    wk_stream *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->fd = fd;
    s->plain = 1;
    *out = s;
    return 0;
}

static ssize_t zstd_read(wk_stream *s, void *buf, size_t n)
{
    ZSTD_outBuffer out = {buf, n, 0};
    for (;;) {
        if (s->in.pos == s->in.size && !s->eof) {
            ssize_t k = read(s->fd, s->inbuf, ZIN_BYTES);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return -1;
            if (k == 0)
                s->eof = 1;
            s->in.size = (size_t)k;
            s->in.pos = 0;
        }
        size_t before = s->in.pos;
        size_t r = ZSTD_decompressStream(s->zs, &out, &s->in);
        if (ZSTD_isError(r)) {
            errno = EIO;
            return -1;
        }
        /* With no input left, r only hints at the next frame's header: keep the last real one. */
        if (s->in.pos != before || out.pos > 0)
            s->pending = r;
        if (out.pos > 0)
            return (ssize_t)out.pos;
        if (s->eof && s->in.pos == s->in.size) {
            if (s->pending) { /* the file ends inside a frame: truncated */
                errno = EIO;
                return -1;
            }
            return 0;
        }
    }
}

ssize_t wk_stream_read(wk_stream *s, void *buf, size_t n)
{
    while (s->plain) {
        ssize_t k = read(s->fd, buf, n);
        if (k >= 0 || errno != EINTR)
            return k;
    }
    if (s->gz) {
        int k = gzread(s->gz, buf, n > (1u << 30) ? (1u << 30) : (unsigned)n);
        int zerr = Z_OK;
        if (k <= 0)
            gzerror(s->gz, &zerr);
        if (k < 0 || (k == 0 && zerr != Z_OK)) { /* corrupt, or the file ends mid-stream */
            errno = EIO;
            return -1;
        }
        return k;
    }
    return zstd_read(s, buf, n);
}

int wk_stream_fd(const wk_stream *s)
{
    return s->fd;
}

void wk_stream_close(wk_stream *s)
{
    if (!s)
        return;
    if (s->gz)
        gzclose(s->gz); /* closes s->fd too */
    else if (s->fd >= 0)
        close(s->fd);
    ZSTD_freeDStream(s->zs);
    free(s->inbuf);
    free(s);
}
