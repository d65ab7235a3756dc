/*
 * given.c - words of a claim that are not what it asserts about the sources.
 *
 * A support answer talks to the reader about the reader's own case, and those words are no
 * claim on the sources:
 * - the reader's own things, named with "your" and a name ("Your Lumen Bulb Color is covered",
 *   and later "the bulb"): remembered for the rest of the answer and held as given;
 * - a leading condition on the reader's thing ("If your replacement device fails, it is covered
 *   ..."): what it supposes; its numbers and codes still count (not "If you ...": what the
 *   reader should do may be the answer's own invention);
 * - a trailing consequence for the reader (", so you are within the window", ", so you
 *   qualify");
 * - an adverb of sequence closing a clause ("must be cancelled first", "then");
 * - the head of a partitive ("the rest of", "the remainder of", "what remains of", "whatever is
 *   left of"): a part of what follows "of", said with a noun or a free relative that English
 *   uses like a determiner (Quirk et al. 1985, 5.7-5.9 on partitive constructions; Huddleston &
 *   Pullum 2002, ch. 5 9 on fused relatives). "whatever remains of the warranty" and "the
 *   remainder of the warranty" say the same of the warranty, and the head word is no content of
 *   its own, as "all of" and "some of" are none.
 */
#include <string.h>

#include "engine_int.h"

static inline __attribute__((always_inline)) int is(const char *text, const kv_token *t,
                                                    const char *w)
{
    return kv_text_is(text + t->start, t->end - t->start, w);
}

/* 1 when punctuation ends a phrase between tokens a and b. */
static int break_between(const char *text, const kv_token *a, const kv_token *b)
{
    for (uint32_t i = a->end; i < b->start; i++)
        if (text[i] == ',' || text[i] == '.' || text[i] == ';' || text[i] == ':' || text[i] == '!')
            return 1;
    return 0;
}

/* 1 when a number or a name is at token t: they count wherever they stand. */
static int counts_anyway(const kv_token *t)
{
    return t->kind == KV_TOK_NUMBER || (t->flags & KV_TF_CODE);
}

/* 1 when toks[i] is the head of a partitive: "rest", "remainder" or "balance" after "the", or
 * "remains"/"remain" after "what"/"whatever" or "left" after "what(ever) is", each followed by
 * "of". */
static int partitive_head(const char *text, const kv_token *toks, size_t n, size_t i)
{
    if (i == 0 || i + 1 >= n || !is(text, &toks[i + 1], "of") ||
        break_between(text, &toks[i], &toks[i + 1]))
        return 0;
    const kv_token *before = &toks[i - 1];
    if (is(text, &toks[i], "rest") || is(text, &toks[i], "remainder") ||
        is(text, &toks[i], "balance"))
        return is(text, before, "the");
    int relative = is(text, before, "what") || is(text, before, "whatever");
    if (is(text, &toks[i], "remains") || is(text, &toks[i], "remain"))
        return relative;
    if (is(text, &toks[i], "left") && i >= 2 && (is(text, before, "is") || is(text, before, "was")))
        return is(text, &toks[i - 2], "what") || is(text, &toks[i - 2], "whatever");
    return 0;
}

void kv_given_mark(const char *text, const kv_token *toks, size_t n, uint8_t *skip)
{
    memset(skip, 0, n);
    /* "If your replacement device fails, ...": what the reader's thing does, up to the comma. */
    if (n > 2 && (is(text, &toks[0], "if") || is(text, &toks[0], "when")) &&
        is(text, &toks[1], "your")) {
        for (size_t i = 1; i < n; i++) {
            if (i > 1 && break_between(text, &toks[i - 1], &toks[i]))
                break;
            skip[i] = !counts_anyway(&toks[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        /* ", so you are within the window": to the clause's end. */
        if (i > 0 && i + 1 < n && is(text, &toks[i], "so") &&
            break_between(text, &toks[i - 1], &toks[i]) &&
            (is(text, &toks[i + 1], "you") || is(text, &toks[i + 1], "your"))) {
            for (size_t k = i + 1; k < n; k++) {
                if (k > i + 1 && break_between(text, &toks[k - 1], &toks[k]))
                    break;
                skip[k] = !counts_anyway(&toks[k]);
            }
        }
        /* "cancelled first.", "then.": an adverb of sequence closing its clause. */
        if ((is(text, &toks[i], "first") || is(text, &toks[i], "afterwards") ||
             is(text, &toks[i], "beforehand") || is(text, &toks[i], "later")) &&
            (i + 1 == n || break_between(text, &toks[i], &toks[i + 1])))
            skip[i] = 1;
        /* "whatever remains of the original warranty": "remains" is no content. */
        if (toks[i].kind == KV_TOK_WORD && partitive_head(text, toks, n, i))
            skip[i] = 1;
    }
}

void kv_given_note(kivo_engine *e, const char *text, const kv_token *toks, size_t n)
{
    /* "your Lumen Bulb Color", "your order": the content words after "your". */
    for (size_t i = 0; i + 1 < n; i++) {
        if (!is(text, &toks[i], "your"))
            continue;
        for (size_t k = i + 1; k < n && k <= i + 4; k++) {
            if (toks[k].kind == KV_TOK_STOP || break_between(text, &toks[k - 1], &toks[k]))
                break;
            /* A name the reader's thing has ("your Lumen Bulb Color"), not a common noun
             * ("your muscles"): the answer may say anything of those. */
            if (toks[k].kind != KV_TOK_WORD || !(toks[k].flags & KV_TF_CAP) ||
                e->n_given == KV_MAX_GIVEN)
                continue;
            size_t g = 0;
            while (g < e->n_given && e->given[g] != toks[k].h)
                g++;
            if (g == e->n_given)
                e->given[e->n_given++] = toks[k].h;
        }
    }
}

void kv_given_hold(const kivo_engine *e, kv_claim_scratch *cs)
{
    for (size_t k = 0; k < cs->n_terms; k++)
        for (size_t g = 0; g < e->n_given && !cs->present[k]; g++)
            if (cs->terms[k]->h == e->given[g] && cs->terms[k]->kind == KV_TOK_WORD)
                cs->present[k] = 1;
}
