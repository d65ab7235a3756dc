/*
 * grow_int.h - kv_grow(): the one growth rule of the engine's arrays (tokens, spans, postings,
 * sentences, a claim's scratch). Capacity doubles, from a first size the caller picks, until the
 * array holds what it needs, so n appends cost O(n) copies in all.
 */
#ifndef KIVO_GROW_INT_H
#define KIVO_GROW_INT_H

#include <stddef.h>

#include "kivo/status.h"

/* kv_grow()'s slow path: the array must move. Call kv_grow(). */
kivo_status kv_grow_to(void **v, size_t *cap, size_t need, size_t elem, size_t first);

/* Makes the array *v of *cap elements of elem bytes hold at least need elements: when it is too
 * small, the capacity doubles from *cap (from first when *cap is 0) until need fits, and *v is
 * realloc'd. The inline test keeps an append that fits as cheap as before.
 * @return KIVO_OK, or KIVO_ENOMEM with *v and *cap as they were. *v stays the caller's to free. */
static inline kivo_status kv_grow(void **v, size_t *cap, size_t need, size_t elem, size_t first)
{
    return need <= *cap ? KIVO_OK : kv_grow_to(v, cap, need, elem, first);
}

#endif
