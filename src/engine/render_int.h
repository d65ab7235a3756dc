/*
 * render_int.h - jansson setters that fail the whole render on a NULL value, and one pass of
 * jansson's dump into a kivo_buf: wire.c's create body (not on the record path; the claim report
 * and the events are written by the direct writer, jsonwrite_int.h, which the tests and
 * tests/fuzz/fuzz_jsonwrite.c check against this dump).
 *
 * Keys are always ASCII literals of the library's own (field tables included), so they are set
 * without jansson's UTF-8 check (~200 instructions a key, ~130 keys a record); so are values of
 * the library's own making (names from a table, hex digests, ids built here). Text from a record
 * or a caller goes through json_string(), which checks.
 */
#ifndef KIVO_RENDER_INT_H
#define KIVO_RENDER_INT_H

#include <stdint.h>

#include <jansson.h>

#include "kivo/buf.h"
#include "kivo/status.h"

/* Sets obj[key] = v, stealing v. @return 0, or -1 when v is NULL (out of memory, bad UTF-8). */
static inline int kv_render_put(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new_nocheck(obj, key, v) : -1;
}

/* A string of the library's own making, ASCII by construction; NULL gives NULL. */
static inline json_t *kv_render_own(const char *s)
{
    return json_string_nocheck(s);
}

/* Appends the compact dump of root (and a newline when newline is set) to out and drops root.
 * bad: a setter failed while root was built, so nothing is appended. @return KIVO_OK,
 * KIVO_ENOMEM or KIVO_ETOOBIG (out's ceiling); on failure out is as it was. */
kivo_status kv_render_dump(json_t *root, int bad, int newline, kivo_buf *out);

#endif
