/* stream.h - reading .gz and .zst inputs by streaming decompression, and standard input as it
 * comes: no temporary files. */
#ifndef KIVO_WORKER_STREAM_H
#define KIVO_WORKER_STREAM_H

#include <stddef.h>
#include <sys/types.h>

typedef struct wk_stream wk_stream;

/* 1 when path names a compressed input this build reads (.gz, .zst). */
int wk_stream_is_compressed(const char *path);

/* Opens path for decompression. Returns 0, or -1 with errno set. */
int wk_stream_open(const char *path, wk_stream **out);

/* Reads the descriptor fd as it is, without decompression (standard input, which cannot be read
 * at an offset); the stream owns fd and closes it. Returns 0, or -1 with errno set. */
int wk_stream_open_fd(int fd, wk_stream **out);

/* Reads up to n decompressed bytes. Returns the count, 0 at the end, or -1 on a read error or
 * corrupt data (errno EIO for the latter). */
ssize_t wk_stream_read(wk_stream *s, void *buf, size_t n);

/* The descriptor of the compressed file (to fstat it at its end). */
int wk_stream_fd(const wk_stream *s);

void wk_stream_close(wk_stream *s);

#endif
