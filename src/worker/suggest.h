/* suggest.h - "did you mean": the known name closest to a misspelt one (options, job spec keys). */
#ifndef KIVO_WORKER_SUGGEST_H
#define KIVO_WORKER_SUGGEST_H

#include <stddef.h>

/* The name of names[0..n) (NULL entries skipped) closest to word[0..len): at most one edit for a
 * word of up to 4 bytes, two for a longer one (insert, delete, change, swap two neighbours; '-'
 * and '_' are the same letter, and so are upper and lower case ASCII letters). @return that
 * name, NULL when none is that close or when word is one of the names. */
const char *wk_suggest(const char *word, size_t len, const char *const *names, size_t n);

/* The edit distance wk_suggest() uses, capped at 255. */
unsigned wk_suggest_distance(const char *a, size_t alen, const char *b, size_t blen);

#endif
