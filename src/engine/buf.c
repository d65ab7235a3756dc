/* buf.c - kivo_buf: append-only bytes with a ceiling; doubling growth keeps appends amortised O(1). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kivo/buf.h"

void kivo_buf_init(kivo_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void kivo_buf_free(kivo_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void kivo_buf_reset(kivo_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

kivo_status kivo_buf_reserve(kivo_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return KIVO_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return KIVO_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return KIVO_ENOMEM;
    b->data = d;
    b->cap = cap;
    return KIVO_OK;
}

kivo_status kivo_buf_append_grow(kivo_buf *b, const void *data, size_t len)
{
    kivo_status st = kivo_buf_reserve(b, len);
    if (st != KIVO_OK)
        return st;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return KIVO_OK;
}

kivo_status kivo_buf_append_str(kivo_buf *b, const char *s)
{
    return kivo_buf_append(b, s, strlen(s));
}

kivo_status kivo_buf_printf(kivo_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return KIVO_EINVAL;
    kivo_status st = kivo_buf_reserve(b, (size_t)n);
    if (st != KIVO_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return KIVO_OK;
}
