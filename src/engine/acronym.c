/*
 * acronym.c - names and their initials: "United Kingdom" and "UK", "European Union" and "EU",
 * "World Health Organization" and "WHO".
 *
 * The index posts, for each run of capitalised words in a source and for letters with dots
 * ("U.S."), the hash its initials would have as a word ("uk", "us"), so a claim's "UK" finds the
 * source's "United Kingdom"; a claim's run whose initials the sources hold (as a word or as
 * another run) counts as held. ("US" in capitals is the function word "us" either way, as
 * before: read as the country, it went unmatched where sources write "U.S.".)
 */
#include <string.h>

#include "engine_int.h"

#define RUN_MAX 6 /* capitalised words of one name */

/* Function words a name may hold between its capitalised words ("Bank of America"). */
static int inner_word(const char *text, const kv_token *t)
{
    const char *s = text + t->start;
    switch (t->end - t->start) {
    case 2: return (s[0] == 'o' && s[1] == 'f') || (s[0] == 'd' && s[1] == 'e');
    case 3: return memcmp(s, "and", 3) == 0 || memcmp(s, "for", 3) == 0 || memcmp(s, "the", 3) == 0;
    default: return 0;
    }
}

/* 1 when token t is a capitalised word of a name: a capital and then a lower-case letter. */
static int name_word(const char *text, const kv_token *t)
{
    const char *s = text + t->start;
    return (t->flags & KV_TF_CAP) && t->kind == KV_TOK_WORD && t->end - t->start >= 2 &&
           s[1] >= 'a' && s[1] <= 'z';
}

/* 1 when token t of text[0..len) is a capital letter followed by a dot ("U." of "U.S."). */
static int dotted_letter(const char *text, size_t len, const kv_token *t)
{
    char c = text[t->start];
    return t->end - t->start == 1 && c >= 'A' && c <= 'Z' && t->end < len && text[t->end] == '.';
}

uint64_t kv_acronym_at(kivo_engine *e, const char *text, size_t len, const kv_token *toks, size_t n,
                       size_t i, size_t *end)
{
    char initials[RUN_MAX];
    size_t k = 0, j = i, last = i;
    *end = i + 1;
    /* "U.S.", "U.K.": letters and dots, no spaces. */
    if (dotted_letter(text, len, &toks[i])) {
        while (j < n && k < RUN_MAX && dotted_letter(text, len, &toks[j]) &&
               (j == i || toks[j].start == toks[j - 1].end + 1))
            initials[k++] = (char)(text[toks[j++].start] | 0x20);
        *end = j;
        return k >= 2 ? kv_lexicon_initials_hash(e->lx, initials, k) : 0;
    }
    if (!name_word(text, &toks[i]))
        return 0;
    while (j < n && k < RUN_MAX) {
        if (name_word(text, &toks[j])) {
            /* One name: words joined by spaces (and inner function words) only. */
            if (j > i && (toks[j].start > toks[j - 1].end + 1 || text[toks[j - 1].end] != ' '))
                break;
            initials[k++] = (char)(text[toks[j].start] | 0x20);
            last = j++;
        } else if (j > i && j + 1 < n && inner_word(text, &toks[j]) &&
                   name_word(text, &toks[j + 1]) && toks[j].start == toks[j - 1].end + 1) {
            j++;
        } else {
            break;
        }
    }
    *end = last + 1;
    return k >= 2 ? kv_lexicon_initials_hash(e->lx, initials, k) : 0;
}
