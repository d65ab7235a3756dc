/* grow.c - kv_grow()'s slow path (grow_int.h): the new capacity, checked for overflow. */
#include <stdint.h>
#include <stdlib.h>

#include "grow_int.h"

kivo_status kv_grow_to(void **v, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t c = *cap ? *cap : first;
    if (c == 0)
        c = 1;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return KIVO_ENOMEM;
        c *= 2;
    }
    if (elem && c > SIZE_MAX / elem)
        return KIVO_ENOMEM;
    void *n = realloc(*v, c * elem);
    if (!n)
        return KIVO_ENOMEM;
    *v = n;
    *cap = c;
    return KIVO_OK;
}
