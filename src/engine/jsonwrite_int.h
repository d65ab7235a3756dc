/*
 * jsonwrite_int.h - a direct JSON writer into a kivo_buf, for the claim report and the wire's
 * events: values are written as they are made, in order, instead of built into a jansson tree,
 * dumped a few bytes at a time and freed (issue 19: the trees, their dump and their frees were
 * ~28% of the worker's instructions).
 *
 * Its bytes are exactly what jansson's json_dump_callback(JSON_COMPACT | JSON_REAL_PRECISION(6))
 * writes for the same values in the same order (tests/engine/test_jsonwrite.c and
 * tests/fuzz/fuzz_jsonwrite.c compare the two on random and hostile strings and numbers), and it
 * refuses what jansson's constructors refuse: a string that is not UTF-8 (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), a NULL string, a real that is not finite. Such a value
 * makes the whole document fail with KIVO_ENOMEM, as a NULL from json_string() did, even when the
 * buffer's ceiling was reached first: the caller sees the status the tree-building code gave.
 *
 * Keys are the library's own ASCII literals (field tables included) and are written as they are.
 */
#ifndef KIVO_JSONWRITE_INT_H
#define KIVO_JSONWRITE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kivo/buf.h"
#include "kivo/status.h"

typedef struct kv_jw {
    kivo_buf *out;
    size_t mark;    /* out->len when the document began: a failed one is cut back to it */
    kivo_status st; /* the buffer's first failure (KIVO_ETOOBIG at its ceiling, KIVO_ENOMEM) */
    int bad;        /* a value jansson would have refused (see above) */
    int comma;      /* the next value or key at this level needs a ',' before it */
} kv_jw;

/* Starts a document appended to out (whatever out holds stays). */
static inline void kv_jw_begin(kv_jw *w, kivo_buf *out)
{
    w->out = out;
    w->mark = out->len;
    w->st = KIVO_OK;
    w->bad = 0;
    w->comma = 0;
}

/* Ends the document: appends a newline when newline is set. @return KIVO_OK; KIVO_ENOMEM for a
 * refused value or no memory; KIVO_ETOOBIG past out's ceiling. On failure out is as it was. */
kivo_status kv_jw_end(kv_jw *w, int newline);

/* Appends bytes that need no escaping (a failed buffer stops taking bytes). */
static inline void kv_jw_raw(kv_jw *w, const char *s, size_t n)
{
    if (w->st == KIVO_OK)
        w->st = kivo_buf_append(w->out, s, n);
}

static inline void kv_jw_sep(kv_jw *w)
{
    if (w->comma)
        kv_jw_raw(w, ",", 1);
}

/* '{' or '[': opens an object or an array as the next value. */
static inline void kv_jw_open(kv_jw *w, char c)
{
    kv_jw_sep(w);
    kv_jw_raw(w, &c, 1);
    w->comma = 0;
}

/* '}' or ']': closes what the matching kv_jw_open opened. */
static inline void kv_jw_close(kv_jw *w, char c)
{
    kv_jw_raw(w, &c, 1);
    w->comma = 1;
}

/* An object member's key, an ASCII literal of the library's that needs no escaping. Inlined, so
 * a literal's length is known; with room in the buffer, one copy (a report has ~130 keys). */
static inline __attribute__((always_inline)) void kv_jw_key(kv_jw *w, const char *key)
{
    const size_t n = strlen(key), all = n + 3 + (w->comma ? 1 : 0);
    kivo_buf *b = w->out;
    if (w->st == KIVO_OK && b->data && all < b->cap - b->len && all <= b->max - b->len) {
        char *p = b->data + b->len;
        if (w->comma)
            *p++ = ',';
        *p++ = '"';
        memcpy(p, key, n);
        p += n;
        *p++ = '"';
        *p++ = ':';
        *p = '\0';
        b->len += all;
    } else {
        kv_jw_sep(w);
        kv_jw_raw(w, "\"", 1);
        kv_jw_raw(w, key, n);
        kv_jw_raw(w, "\":", 2);
    }
    w->comma = 0;
}

/* Values. A string is s[0..n) (NUL bytes included, as json_stringn has them); kv_jw_cstr takes a
 * NUL-terminated one and refuses NULL (as json_string(NULL) did); kv_jw_str_or_null writes null
 * for NULL. */
void kv_jw_str(kv_jw *w, const char *s, size_t n);
void kv_jw_int(kv_jw *w, int64_t v);
void kv_jw_real(kv_jw *w, double v);

static inline void kv_jw_cstr(kv_jw *w, const char *s)
{
    if (!s) {
        w->bad = 1;
        return;
    }
    kv_jw_str(w, s, strlen(s));
}

static inline void kv_jw_null(kv_jw *w)
{
    kv_jw_sep(w);
    kv_jw_raw(w, "null", 4);
    w->comma = 1;
}

static inline void kv_jw_str_or_null(kv_jw *w, const char *s)
{
    if (s)
        kv_jw_cstr(w, s);
    else
        kv_jw_null(w);
}

/* The failure categories of a bitmask (bit c = kivo_category c) as an array of their names in
 * enum order. */
void kv_jw_categories(kv_jw *w, uint32_t cats);

#endif
