/*
 * fields.c - a claim against the yes/no fields of a flattened record (BusinessParking.garage,
 * WiFi, DogsAllowed: "there is no parking", "dogs are allowed"): which fields it names, whether a
 * negation governs them, and whether that agrees with the record. Moved out of match.c, which
 * calls kv_fields_check() for every claim of a packet with fields (issue 13).
 */
#include <string.h>

#include "engine_int.h"
#include "fields_int.h"
#include "hours_int.h"

#define FIELD_CONFLICT KV_CHECK_CONFLICT
#define FIELD_NULL KV_CHECK_NULL
#define NEG_BEFORE 8 /* tokens before a field's key where a negation still applies to it */
#define NEG_AFTER 6  /* and after it ("garage and valet parking are not") */

/* 1 when the words between tokens a and b (a < b) end a clause: '.', ';', ':' or a contrast
 * word ("but", "while") at b. Commas do not: "no valet, garage or lot parking". */
static int clause_break(const char *text, const kv_token *a, const kv_token *b)
{
    for (uint32_t i = a->end; i < b->start; i++)
        if (text[i] == '.' || text[i] == ';' || text[i] == ':')
            return 1;
    static const char *const contrast[] = {"but",     "while",   "although", "though",
                                           "whereas", "however", "yet",      NULL};
    size_t len = b->end - b->start;
    for (size_t k = 0; contrast[k]; k++) {
        if (strlen(contrast[k]) != len)
            continue;
        size_t i = 0;
        while (i < len && (text[b->start + i] | 0x20) == contrast[k][i])
            i++;
        if (i == len)
            return 1;
    }
    return 0;
}

/* 1 when token t is one of words (NULL-terminated), ASCII letters without case. */
static int tok_in(const char *text, const kv_token *t, const char *const *words)
{
    return kv_text_in(text + t->start, t->end - t->start, words);
}

/* 1 when a new clause starts at toks[i]: ", and" or ", or" before a subject of its own ("no WiFi
 * available, and the ambience is casual"), as clause.c ends a clause there. */
static int new_subject_at(const char *text, const kv_token *toks, size_t n, size_t i)
{
    static const char *const coord[] = {"and", "or", NULL};
    static const char *const subject[] = {"the",   "a",     "an",   "it",    "its", "they",
                                          "their", "there", "this", "these", "he",  "she",
                                          "we",    "you",   "our",  "his",   "her", NULL};
    if (i == 0 || i + 1 >= n || !tok_in(text, &toks[i], coord) ||
        !tok_in(text, &toks[i + 1], subject))
        return 0;
    return memchr(text + toks[i - 1].end, ',', toks[i].start - toks[i - 1].end) != NULL;
}

/* 1 when a predicate of its own, with its own negation, starts at toks[i]: a coordinated verb
 * phrase ("has a classy ambience and does not accept reservations") or a negated apposition
 * after a comma ("casual, not hipster"). A negation there is that predicate's (Quirk et al.
 * 1985, 10.54 on the scope of negation in coordinated predicates), not the key's before it. */
static int own_predicate_at(const char *text, const kv_token *toks, size_t n, size_t i)
{
    static const char *const coord[] = {"and", "or", "but", NULL};
    static const char *const aux[] = {"does",  "do",     "did",    "is",    "are",     "was",
                                      "were",  "has",    "have",   "can",   "will",    "would",
                                      "may",   "might",  "should", "could", "doesn't", "don't",
                                      "isn't", "aren't", "can't",  "won't", "didn't",  NULL};
    if (tok_in(text, &toks[i], coord) && i + 1 < n &&
        (tok_in(text, &toks[i + 1], aux) || (toks[i + 1].flags & KV_TF_NEG)))
        return 1;
    return i > 0 && (toks[i].flags & KV_TF_NEG) &&
           memchr(text + toks[i - 1].end, ',', toks[i].start - toks[i - 1].end) != NULL;
}

/* The token that starts the main clause after a subordinate clause put first ("While it does
 * not offer WiFi, street parking is available"): the first token after the first comma when the
 * claim opens with a subordinator, else 0 (none). As clause.c reads a fronted clause. */
static size_t fronted_end(const char *text, const kv_token *toks, size_t n)
{
    static const char *const opener[] = {"while", "although", "though", "whereas", "if",
                                         "when",  "because",  "since",  "unless",  "despite",
                                         "after", "before",   NULL};
    if (n == 0 || !tok_in(text, &toks[0], opener))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (memchr(text + toks[i - 1].end, ',', toks[i].start - toks[i - 1].end))
            return i;
    return 0;
}

/* Whether a negation cue governs tokens [*lo, *hi]: one up to NEG_BEFORE tokens before or
 * NEG_AFTER after, in the same clause. Widens [*lo, *hi] to the cue found. A negation after the
 * key that opens a predicate of its own does not reach back to the key. */
/* 1 when token t is a word of some field's key or parent ("lot", "parking"), or "and"/"or":
 * a part of a list of the record's own fields ("street parking, lot parking, and valet
 * services are not provided"), which a negation after it reaches back over as one subject. */
static int list_of_fields(const kivo_engine *e, const char *text, const kv_token *t)
{
    static const char *const coord[] = {"and", "or", NULL};
    if (t->kind == KV_TOK_STOP)
        return tok_in(text, t, coord);
    if (t->kind != KV_TOK_WORD)
        return 0;
    for (size_t f = 0; f < e->n_fields; f++) {
        const kv_field *fd = &e->fields[f];
        for (size_t j = 0; j < fd->n_key; j++)
            if (fd->key[j] == t->h)
                return 1;
        for (size_t j = 0; j < fd->n_parent; j++)
            if (fd->parent[j] == t->h)
                return 1;
    }
    return 0;
}

static int negation_scope(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                          size_t *lo, size_t *hi)
{
    size_t main = fronted_end(text, toks, n);
    /* Between the key's words: "Dogs are not allowed" for DogsAllowed. */
    for (size_t i = *lo + 1; i < *hi; i++)
        if (toks[i].flags & KV_TF_NEG)
            return 1;
    for (size_t i = *lo, k = 0; i > 0 && k < NEG_BEFORE; i--, k++) {
        if (clause_break(text, &toks[i - 1], &toks[i]) || new_subject_at(text, toks, n, i) ||
            i == main)
            break;
        if (toks[i - 1].flags & KV_TF_NEG) {
            *lo = i - 1;
            return 1;
        }
    }
    for (size_t i = *hi + 1, k = 0; i < n && k < NEG_AFTER; i++) {
        k += !list_of_fields(e, text, &toks[i]);
        if (clause_break(text, &toks[i - 1], &toks[i]) || new_subject_at(text, toks, n, i) ||
            own_predicate_at(text, toks, n, i) || i == main)
            break;
        if (toks[i].flags & KV_TF_NEG) {
            *hi = i;
            return 1;
        }
    }
    return 0;
}

/* Index of the first claim token (not a number) with hash h, or n. */
static size_t find_word(const kv_token *toks, size_t n, uint64_t h)
{
    size_t i = 0;
    while (i < n && !(toks[i].kind != KV_TOK_NUMBER && toks[i].h == h))
        i++;
    return i;
}

/* 1 when the field's key words appear in no sentence but the field's own line ("upscale" in
 * Ambience.upscale): such a key names the field without its parent. */
static int key_only(const kivo_engine *e, const kv_field *fd)
{
    for (size_t j = 0; j < fd->n_key; j++) {
        size_t np;
        kv_index_find(e, fd->key[j], &np);
        if (np > 1)
            return 0;
    }
    return 1;
}

/* 1 when the claim holds every word h[0..k) (none when k is 0), with *first and *last the
 * first and last claim tokens among them. */
static int holds_all(const kv_token *toks, size_t n, const uint64_t *h, size_t k, size_t *first,
                     size_t *last)
{
    *first = n;
    *last = 0;
    for (size_t j = 0; j < k; j++) {
        size_t i = find_word(toks, n, h[j]);
        if (i == n)
            return 0;
        *first = i < *first ? i : *first;
        *last = i > *last ? i : *last;
    }
    return 1;
}

/* 1 when the claim names every key word of field fd (or its key written as one word). */
static int names_key(const kv_field *fd, const kv_token *toks, size_t n)
{
    size_t first, last;
    return holds_all(toks, n, fd->key, fd->n_key, &first, &last) ||
           (fd->joined && find_word(toks, n, fd->joined) < n);
}

/* 1 when fields a and b have the same parent. */
static int same_parent(const kv_field *a, const kv_field *b)
{
    return a->n_parent == b->n_parent &&
           memcmp(a->parent, b->parent, a->n_parent * sizeof *a->parent) == 0;
}

/* Holds the claim against groups of yes/no fields under one parent (BusinessParking.garage,
 * .street, ...) that it names as a whole: "there is no parking" when some kind of parking is
 * true is a conflict. A claim that names one of the group's keys is checked field by field
 * instead. Marks the parent's words and the negation in mark (may be NULL). */
static int check_groups(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                        uint8_t *mark)
{
    int found = 0;
    size_t f = 0;
    while (f < e->n_fields) {
        size_t g = f + 1;
        while (g < e->n_fields && same_parent(&e->fields[f], &e->fields[g]))
            g++;
        const kv_field *fd = &e->fields[f];
        size_t first = n, last = 0;
        int parent = fd->n_parent && holds_all(toks, n, fd->parent, fd->n_parent, &first, &last);
        int any_true = 0, named = 0;
        for (size_t h = f; h < g; h++) {
            any_true |= e->fields[h].value == KV_FIELD_TRUE;
            named |= names_key(&e->fields[h], toks, n);
        }
        size_t lo = first, hi = last;
        if (parent && any_true && !named && negation_scope(e, text, toks, n, &lo, &hi)) {
            found |= FIELD_CONFLICT;
            for (size_t i = lo; mark && i <= hi; i++)
                if ((toks[i].flags & KV_TF_NEG) ||
                    (toks[i].kind != KV_TOK_NUMBER && (i >= first && i <= last)))
                    mark[i] = 1;
        }
        f = g;
    }
    return found;
}

/* Holds the claim against the record's yes/no fields. A claim names a field when it holds every
 * stem of the field's key and, for a nested key, one of its parent's ("street parking" for
 * BusinessParking.street) unless the key's words appear nowhere else in the record. Naming a
 * false field without a negation near it, or a true one with one, is a conflict
 * (FIELD_CONFLICT); naming a null one either way asserts what the record does not know
 * (FIELD_NULL). When mark is not NULL, the key words and negations of every field that
 * disagrees are marked in it. @return the FIELD_* bits found. */
int kv_fields_check(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                    uint8_t *mark)
{
    int found = 0;
    for (size_t f = 0; f < e->n_fields; f++) {
        const kv_field *fd = &e->fields[f];
        size_t first, last;
        if (!holds_all(toks, n, fd->key, fd->n_key, &first, &last)) {
            /* "takeout" for TakeOut, "wifi" for WiFi. */
            size_t i = fd->joined ? find_word(toks, n, fd->joined) : n;
            if (i == n)
                continue;
            first = last = i;
        }
        if (fd->n_parent && !key_only(e, fd)) {
            size_t k = 0;
            while (k < fd->n_parent && find_word(toks, n, fd->parent[k]) == n)
                k++;
            if (k == fd->n_parent)
                continue;
        }
        size_t lo = first, hi = last;
        int negated = negation_scope(e, text, toks, n, &lo, &hi);
        int hit = fd->value == KV_FIELD_NULL                 ? FIELD_NULL
                  : (fd->value == KV_FIELD_FALSE) != negated ? FIELD_CONFLICT
                                                             : 0;
        found |= hit;
        if (!hit || !mark)
            continue;
        for (size_t i = lo; i <= hi; i++) {
            if (toks[i].flags & KV_TF_NEG)
                mark[i] = 1;
            for (size_t k = 0; k < fd->n_key; k++)
                if (toks[i].kind != KV_TOK_NUMBER && toks[i].h == fd->key[k])
                    mark[i] = 1;
            if (fd->joined && toks[i].kind != KV_TOK_NUMBER && toks[i].h == fd->joined)
                mark[i] = 1;
        }
    }
    return found | check_groups(e, text, toks, n, mark);
}

void kv_fields_hold(const kivo_engine *e, kv_claim_scratch *cs)
{
    for (size_t k = 0; k < cs->n_terms; k++) {
        if (cs->present[k] || cs->terms[k]->kind != KV_TOK_WORD)
            continue;
        for (size_t f = 0; f < e->n_fields && !cs->present[k]; f++)
            if (e->fields[f].joined && e->fields[f].joined == cs->terms[k]->h)
                cs->present[k] = 1;
    }
}
