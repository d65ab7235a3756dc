/*
 * buf.h - a growable byte buffer that knows its ceiling (curl's dynbuf), so that no input can make
 * memory grow without bound. Contents are always NUL-terminated for convenience.
 */
#ifndef KIVO_BUF_H
#define KIVO_BUF_H

#include <stddef.h>
#include <string.h>

#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kivo_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this many bytes fail with KIVO_ETOOBIG */
} kivo_buf;

/* Initialises an empty buffer holding at most `max` bytes (0: no ceiling beyond SIZE_MAX/2). */
void kivo_buf_init(kivo_buf *b, size_t max);
/* Frees the bytes and leaves the buffer empty and reusable. */
void kivo_buf_free(kivo_buf *b);
/* Empties the buffer, keeping its memory for reuse. */
void kivo_buf_reset(kivo_buf *b);
/* Makes room for `extra` more bytes. @return KIVO_OK, KIVO_ENOMEM or KIVO_ETOOBIG. */
kivo_status kivo_buf_reserve(kivo_buf *b, size_t extra);
/* Appends len bytes. The common case (room already there) is inline: JSON dumps append in
 * fragments of a few bytes, and a call each cost ~4% of the worker's instructions. */
kivo_status kivo_buf_append_grow(kivo_buf *b, const void *data, size_t len);
static inline kivo_status kivo_buf_append(kivo_buf *b, const void *data, size_t len)
{
    if (b->data && len < b->cap - b->len && len <= b->max - b->len) {
        if (len)
            memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return KIVO_OK;
    }
    return kivo_buf_append_grow(b, data, len);
}
kivo_status kivo_buf_append_str(kivo_buf *b, const char *s);
kivo_status kivo_buf_printf(kivo_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
