/*
 * quantity_int.h - what a number means where it stands: values of numeric tokens, and the rules
 * that read a token against the ones before it (citations, ratings' scales, times of day, scale
 * words, money with a suffix, dates). Used by the tokenizer (lexicon.c) only.
 */
#ifndef KIVO_QUANTITY_INT_H
#define KIVO_QUANTITY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "text_int.h"

/* Parses a numeric token (digits with ',' thousands and '.' decimals, optional ordinal suffix:
 * 3rd). @return 1 and *value when the token is a number. */
int kv_parse_number(const char *s, size_t len, double *value);

/* The months' names in lower case, January first. */
extern const char *const kv_month_names[12];

/* The hash numbers of equal value share (4.50 and 4.5, 1,000 and 1000). */
uint64_t kv_number_hash(double v);

/*
 * Reads token tok of text[0..len) against the tokens before it in out, before it is appended:
 * may change tok and the last tokens of out. month[m - 1] is the stem hash of month m's name
 * (so that 2024-03-05 says "March").
 */
void kv_quantity_read_slow(const char *text, size_t len, const uint64_t month[12], kv_tokens *out,
                           kv_token *tok);

/* The tokens that start a rule whatever came before them: a number, a word that opens with a
 * digit ("9am", "$2bn"), "pm" or the "p" of "p.m." (kind as the token was made, c its first byte,
 * tl its bytes). */
static inline int kv_quantity_opens(uint8_t kind, unsigned char c, size_t tl)
{
    return kind == KV_TOK_NUMBER || (c >= '0' && c <= '9') || ((c | 0x20) == 'p' && tl <= 2);
}

/* A word that may be a month after a day ("5 March", "5th of March"): a capital that opens a
 * month's name, J F M A S O N D, and 3 to 9 bytes (month_of in quantity.c). */
static inline int kv_quantity_month_like(unsigned char c, size_t tl)
{
    /* The capitals that open a month's name: J F M A S O N D. */
    const uint32_t month_initials = 1u << ('J' - 'A') | 1u << ('F' - 'A') | 1u << ('M' - 'A') |
                                    1u << ('A' - 'A') | 1u << ('S' - 'A') | 1u << ('O' - 'A') |
                                    1u << ('N' - 'A') | 1u << ('D' - 'A');
    return c >= 'A' && c <= 'Z' && (month_initials >> (c - 'A') & 1) && tl >= 3 && tl <= 9;
}

static inline void kv_quantity_read(const char *text, size_t len, const uint64_t month[12],
                                    kv_tokens *out, kv_token *tok)
{
    unsigned char c = (unsigned char)text[tok->start];
    const size_t tl = tok->end - tok->start;
    /* Most tokens are words: a rule starts at a word only when kv_quantity_opens says so, or at
     * a month's name after a number. */
    if (!kv_quantity_opens(tok->kind, c, tl) &&
        !(kv_quantity_month_like(c, tl) &&
          ((out->n > 0 && out->v[out->n - 1].kind == KV_TOK_NUMBER) ||
           (out->n > 1 && out->v[out->n - 2].kind == KV_TOK_NUMBER))))
        return;
    kv_quantity_read_slow(text, len, month, out, tok);
}

#endif
