/*
 * suggest.c - the closest known name to a misspelt one, by optimal string alignment distance
 * (Levenshtein plus the swap of two neighbouring letters, the commonest typo). Names are short
 * (options, job spec keys): the whole table is a few hundred bytes on the stack.
 */
#include <string.h>

#include "suggest.h"

#define NAME_MAX_LEN 63

static int same(char a, char b)
{
    if (a >= 'A' && a <= 'Z')
        a = (char)(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z')
        b = (char)(b - 'A' + 'a');
    if (a == '_')
        a = '-';
    if (b == '_')
        b = '-';
    return a == b;
}

static unsigned min3(unsigned a, unsigned b, unsigned c)
{
    unsigned m = a < b ? a : b;
    return m < c ? m : c;
}

unsigned wk_suggest_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];
    if (alen > NAME_MAX_LEN || blen > NAME_MAX_LEN)
        return 255;
    for (size_t i = 0; i <= alen; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= blen; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= alen; i++) {
        for (size_t j = 1; j <= blen; j++) {
            unsigned cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1]) &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[alen][blen] > 255 ? 255 : d[alen][blen];
}

const char *wk_suggest(const char *word, size_t len, const char *const *names, size_t n)
{
    const char *best = NULL;
    unsigned best_d = len <= 4 ? 1 : 2;
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        size_t nl = strlen(names[i]);
        if (nl == len && memcmp(names[i], word, len) == 0)
            return NULL;
        unsigned d = wk_suggest_distance(word, len, names[i], nl);
        /* "<=" for the first, "<" after: the table's order breaks ties. */
        if (best ? d < best_d : d <= best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}
