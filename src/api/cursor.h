/*
 * cursor.h - the opaque `next_cursor` of list endpoints.
 *
 * Lists run newest first by row id. A cursor is "c1" followed by the base64url of the last row
 * id seen (8 bytes, big endian): the next page is every row below it. Clients must treat it as
 * opaque; the "c1" version lets the format change without breaking cursors in flight.
 */
#ifndef KIVO_API_CURSOR_H
#define KIVO_API_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#define API_CURSOR_MAX 24

/* Writes the cursor for "rows below `id`" into out. id must be positive. */
void api_cursor_encode(int64_t id, char out[API_CURSOR_MAX]);

/* Reads a cursor back. @return 0 and *id (> 0), or -1 when s[0..len) is not a cursor we made. */
int api_cursor_decode(const char *s, size_t len, int64_t *id);

#endif
