/*
 * text_int.h - libkivo's text layer, shared by the engine's own files: tokens and claim spans.
 *
 * A token is a run of letters and digits (with inner apostrophes, and inner '.' and ',' between
 * digits), case-folded (utf8proc), stemmed (Snowball English) and hashed (XXH3) so that matching
 * compares 64-bit integers only. Numbers, digits or number words alike, hash to their value, so
 * "four" matches "4" and "1,000" matches "1000".
 */
#ifndef KIVO_TEXT_INT_H
#define KIVO_TEXT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kivo/status.h"

enum kv_tok_kind {
    KV_TOK_WORD = 0, /* a content word */
    KV_TOK_STOP,     /* a function word: not a claim's content */
    KV_TOK_NUMBER    /* a quantity: h is the hash of its value */
};

#define KV_TF_CAP 0x01    /* starts with an upper-case letter */
#define KV_TF_NEG 0x02    /* a negation cue: not, no, never, n't, without ... */
#define KV_TF_POLICY 0x04 /* policy language: refund, eligible, must, warranty ... */
#define KV_TF_CODE 0x08   /* letters and digits mixed (X200, 24h), or all capitals (USB) */
#define KV_TF_META 0x10   /* words of conversation, not content: thanks, hope, please ... */
#define KV_TF_REF 0x20    /* words about the sources themselves: passage, context, mention ... */
#define KV_TF_SELF 0x40   /* the speaker: I, I'm, I'd, I've, I'll */
#define KV_TF_LABEL 0x80  /* words that number what follows them: step 3, option 1, part 2 */

typedef struct kv_token {
    uint64_t h;          /* stem hash (words) or value hash (numbers) */
    uint32_t start, end; /* byte offsets in the tokenized text */
    uint8_t kind;        /* enum kv_tok_kind */
    uint8_t flags;       /* KV_TF_* */
    double value;        /* numbers only */
} kv_token;

typedef struct kv_tokens {
    kv_token *v;
    size_t n, cap;
} kv_tokens;

typedef struct kv_span {
    uint32_t start, end;
} kv_span;

typedef struct kv_spans {
    kv_span *v;
    size_t n, cap;
} kv_spans;

/* 1 when s[0..len) is w (a NUL-terminated literal in lower case), ASCII letters of s compared
 * without case. */
static inline __attribute__((always_inline)) int kv_text_is(const char *s, size_t len,
                                                            const char *w)
{
    /* A literal's length is known when this is inlined: most calls end here, before a byte. */
    if (__builtin_constant_p(strlen(w)) && strlen(w) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] | 0x20) : s[i];
        if (!w[i] || c != w[i])
            return 0;
    }
    return w[len] == '\0';
}

/* 1 for an ASCII letter or digit: a byte a token starts or goes on with (lexicon.c), so one
 * a gap the index cuts at (index.c) must not hold. */
static inline int kv_ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* 1 when s[0..len) is one of words (a NULL-terminated list of non-empty lower-case literals), as
 * kv_text_is says; a word whose first letter is not s's is passed without a comparison. */
static inline int kv_text_in(const char *s, size_t len, const char *const *words)
{
    if (len == 0)
        return 0;
    const char c = s[0] >= 'A' && s[0] <= 'Z' ? (char)(s[0] | 0x20) : s[0];
    for (size_t k = 0; words[k]; k++)
        if (words[k][0] == c && kv_text_is(s, len, words[k]))
            return 1;
    return 0;
}

/* Per-thread word knowledge: the stemmer, a direct-mapped stem cache, the function-word table. */
typedef struct kv_lexicon kv_lexicon;

kivo_status kv_lexicon_create(kv_lexicon **out);
void kv_lexicon_free(kv_lexicon *lx);

/* The hash a token of the folded (lower-case ASCII) word w[0..n) has, as kv_tokenize gives it. */
uint64_t kv_lexicon_word_hash(kv_lexicon *lx, const char *w, size_t n);

/* kv_lexicon_word_hash of w[0..n), for the initials of names (acronym.c): the same hash, kept in a
 * small memo of the words up to 8 bytes, which the same few initials hit again and again (the
 * stem cache's slot of each is a cache miss of its own). w holds no 0 byte. */
uint64_t kv_lexicon_initials_hash(kv_lexicon *lx, const char *w, size_t n);

/* Appends the tokens of text[0..len) to out (offsets relative to text). text is valid UTF-8. */
kivo_status kv_tokenize(kv_lexicon *lx, const char *text, size_t len, kv_tokens *out);

/* kv_tokenize through one path of its byte classifier (a kivo_scan_level; one the CPU lacks runs
 * the scalar one), or with level -1 byte by byte only: the reference every path must equal. */
kivo_status kv_tokenize_at(kv_lexicon *lx, int level, const char *text, size_t len, kv_tokens *out);

/* Appends the claim-sized spans of text: sentences, list items and lines, trimmed of white space
 * and list markers. Abbreviations, initials, decimals and URLs do not end a sentence. */
kivo_status kv_segment(const char *text, size_t len, kv_spans *out);

/* kv_segment with the sentence-end classifier of one path (a kivo_scan_level; one the CPU lacks
 * runs the best it has below), for the tests: every path gives kv_segment's spans. */
kivo_status kv_segment_at(int level, const char *text, size_t len, kv_spans *out);

void kv_tokens_free(kv_tokens *t);
void kv_spans_free(kv_spans *s);

#endif
