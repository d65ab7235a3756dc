/*
 * engine_int.h - the claim engine's state, shared by engine.c (orchestration), index.c (the
 * per-record source index) and match.c (scoring one claim). Not part of the public API.
 */
#ifndef KIVO_ENGINE_INT_H
#define KIVO_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/review.h"
#include "sentmemo_int.h"
#include "text_int.h"

/* A yes/no leaf of a structured source ("attributes.OutdoorSeating: false"): the stems of its
 * key and of the key's parent, so that a claim naming them can be held against the value. */
enum kv_field_value { KV_FIELD_FALSE = 1, KV_FIELD_NULL, KV_FIELD_TRUE };
#define KV_FIELD_TERMS 4
#define KV_MAX_FIELDS 1024 /* yes/no leaves kept per record; later ones are not checked */

typedef struct kv_field {
    uint64_t key[KV_FIELD_TERMS];    /* content stems of the last path part */
    uint64_t parent[KV_FIELD_TERMS]; /* of the part before it, when that is not the top part */
    uint64_t joined;                 /* the key's words written as one ("takeout"), or 0 */
    uint8_t n_key, n_parent;
    uint8_t value; /* enum kv_field_value */
} kv_field;

/* Opening hours of a structured source ("hours.Monday: 17:0-21:0"), in minutes after midnight;
 * a day without an entry is closed. */
enum kv_hours_state { KV_HOURS_NONE = 0, KV_HOURS_NULL, KV_HOURS_KNOWN };
typedef struct kv_hours {
    uint8_t state;     /* enum kv_hours_state */
    uint8_t open_days; /* bit d (0 = Monday) set when day d has hours */
    uint16_t open[7], close[7];
} kv_hours;

/* A word of one of a pair of opposite groups ("rose" / "fell"), by its token hash. */
/* A 16,384-bit filter in front of a small sorted table of token hashes (opposites, antonyms):
 * a clear bit proves a hash is not in the table, so the common lookup, a word that is in none,
 * costs one load instead of a binary search. A set bit only says "search". */
#define KV_HFILTER_BITS 16384
typedef struct kv_hfilter {
    uint64_t bits[KV_HFILTER_BITS / 64];
} kv_hfilter;

static inline unsigned kv_hfilter_bit(uint64_t h)
{
    return (unsigned)(h ^ (h >> 31)) & (KV_HFILTER_BITS - 1);
}

static inline void kv_hfilter_add(kv_hfilter *f, uint64_t h)
{
    f->bits[kv_hfilter_bit(h) / 64] |= 1ULL << (kv_hfilter_bit(h) % 64);
}

static inline int kv_hfilter_may(const kv_hfilter *f, uint64_t h)
{
    return (f->bits[kv_hfilter_bit(h) / 64] >> (kv_hfilter_bit(h) % 64)) & 1;
}

typedef struct kv_opposite {
    uint64_t h;
    uint16_t group; /* 1-based */
    uint8_t side;   /* 0 or 1 */
} kv_opposite;

/* One (token hash, sentence) pair, in text order, before the index groups them by term. */
typedef struct kv_posting {
    uint64_t h;
    uint32_t sent;
    uint32_t term; /* index.c's grouping: its term's number (in the padding) */
} kv_posting;

/* A slot of the source index's term table: a term's hash and its number, in the order the
 * record's terms came (kv_term_at). */
typedef struct kv_term {
    uint64_t h;
    uint32_t gen; /* the record (kivo_engine.terms_gen) that filled the slot; others are empty */
    uint32_t id;  /* into kivo_engine.term_at */
} kv_term;

/* A term of the source index: where its ascending sentence list starts, and how long it is. */
typedef struct kv_term_at {
    uint32_t off; /* into kivo_engine.sent_of */
    uint32_t count;
    uint32_t last; /* last sentence counted, to count each sentence once */
} kv_term_at;

/* A source sentence: its span in its source's text and what it holds. */
typedef struct kv_sentence {
    uint32_t source;
    uint32_t start, end;
    uint8_t negated; /* holds a negation cue */
    uint8_t has_number;
    /* Sentences of the same source before and after this one, at most 255: a source's
     * sentences are one run of the index's, so sentence s + d is of s's source exactly when
     * -lead <= d <= trail. */
    uint8_t lead, trail;
} kv_sentence;

/* Scratch for one claim: its distinct content terms and a bit mask per touched sentence. */
typedef struct kv_claim_scratch {
    const kv_token **terms; /* distinct content tokens of the claim */
    uint64_t *numbits;      /* words bits: which terms are numbers */
    size_t cap_numbits;
    uint8_t *present;      /* per term: found anywhere in the sources */
    uint64_t *alt;         /* per term: the hash of its form with or without a negative prefix
                             * that the sources hold instead of it (prefix.c), or 0 */
    const uint32_t **post; /* per term: its sentences (kv_index_find) */
    size_t *n_post;        /* per term: how many */
    uint32_t *order;       /* the terms in the order they pick candidate sentences */
    uint8_t *picks;        /* per term: it picked candidates (else its bits were looked up) */
    size_t n_terms, cap_terms;
    int32_t *slot; /* per sentence: index into touched, or -1 */
    size_t cap_slot;
    uint32_t *touched; /* sentences holding at least one term */
    uint64_t *masks;   /* words_per_mask words per touched sentence */
    size_t cap_masks;  /* uint64_t words allocated at masks */
    size_t n_touched, cap_touched, words;
    /* One-word claims (<= 64 terms): the mask of sentence s at dense[s + 2], 0 for the sentences
     * not touched and the two slots either side, so best_window reads neighbours by index. */
    uint64_t *dense;
    size_t cap_dense;
    int dense_set; /* dense holds the current claim's masks (cleared at the next claim) */
    uint8_t *miss; /* per claim token: carries the failure (unsupported spans) */
    size_t cap_miss;
    int weigh_all; /* tests only: weigh every window the general way (not best_window_1) */
} kv_claim_scratch;

/* Where a claim of the output is: its bytes and its tokens in out_toks. */
typedef struct kv_claim_at {
    uint32_t start, end;
    uint32_t tok, n;
} kv_claim_at;

struct kivo_engine {
    kv_lexicon *lx;
    kivo_hasher *hasher;
    kv_tokens out_toks;
    kv_spans out_spans;
    kv_tokens src_toks;
    kv_tokens key_toks; /* scratch: a field key's words written as one */
    kv_spans spans;     /* scratch for segmenting one source */
    kv_sentence *sents;
    size_t n_sents, cap_sents;
    kv_posting *post;
    size_t n_post, cap_post;
    kv_term *terms; /* open addressing, power-of-two capacity */
    size_t cap_terms;
    size_t n_terms_cap; /* slots in use for the current record's table */
    uint32_t terms_gen; /* the current record's mark: a table is emptied by a new one, not memset */
    kv_term_at *term_at; /* the record's terms by number */
    size_t cap_term_at;
    uint32_t *sent_of; /* every term's sentences, grouped by term */
    size_t cap_sent_of;
    kv_claim_scratch cs;
    kivo_claim *claims;
    size_t cap_claims;
    kv_claim_at *at;       /* the output's claims, found before any is scored */
    size_t n_at, cap_at;   /* at most KIVO_MAX_CLAIMS + 1 kept */
    size_t n_claims_found; /* all of them, for the message past the limit */
    char errmsg[160];      /* why the last review failed (kivo_engine_errmsg), or "" */
    char (*hashes)[KIVO_HASH_TEXT_SIZE];
    size_t cap_hashes;
    kivo_review review;
    uint8_t has_record; /* a source is a flattened record ("path: value" lines) */
    kv_field *fields;   /* yes/no leaves of structured sources */
    kv_hours hours;     /* opening hours of structured sources */
    size_t n_fields, cap_fields;
    kv_opposite *opposites; /* sorted by h; built once per engine */
    size_t n_opposites;
    kv_hfilter opposite_filter; /* the hashes of opposites */
    kv_tokens win_toks;  /* scratch: the tokens of one evidence window, sentence by sentence */
    kv_tokens sent_toks; /* scratch: the tokens of one of its sentences */
    int explain;         /* explain.c: one detail line per claim when set */
    kivo_buf xbuf;       /* the lines, each NUL-terminated */
    size_t *xoff;        /* per claim: its line's offset in xbuf */
    size_t n_xoff, cap_xoff;
    struct kv_sense *sense;      /* the sentence layer's scratch (sense_int.h) */
    struct kv_antonym *antonyms; /* antonym.c's table, sorted by hash */
    size_t n_antonyms;
    kv_hfilter antonym_filter; /* the hashes of antonyms */
    uint64_t given[64];        /* given.c: the reader's own things the answer named ("your X") */
    size_t n_given;
    kv_sentmemo *memo;           /* the source index's sentence memo (sentmemo.c), or NULL: off */
    struct kv_memo_span *mspans; /* index.c's scratch: what the memo says of a source's spans */
    size_t cap_mspans;
    uint64_t *mposts; /* index.c's scratch: postings of spans the memo could not keep */
    size_t n_mposts, cap_mposts;
    uint64_t *cue_keys; /* the cue table (cues.c): open addressing by token hash */
    uint32_t *cue_vals;
    size_t cue_cap;
    kv_hfilter cue_filter;              /* the hashes of the cue table (kv_cues_of) */
    struct kv_prefix_memo *prefix_memo; /* prefix.c: made-up prefixed forms' hashes, by word */
};

/* Explain mode (explain.c). Each does nothing when explain is off. A review resets the lines;
 * a claim opens its line, rules add to it, the claim closes it. */
void kv_explain_reset(kivo_engine *e);
void kv_explain_open(kivo_engine *e);
void kv_explain_close(kivo_engine *e);
void kv_explain_add(kivo_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "label word word ...;" for the tokens toks[i] of text with mark[i] set (none: nothing). */
void kv_explain_words(kivo_engine *e, const char *label, const char *text, const kv_token *toks,
                      size_t n, const uint8_t *mark);

/* The weekday (0 = Monday) that s[0..len) names, in full, plural or as three letters;
 * -1 if none. */
int kv_weekday(const char *s, size_t len);

/* Builds the sentence list and posting index of the packet's sources. */
kivo_status kv_index_build(kivo_engine *e, const kivo_packet *p);

/* index.c's sentence memo: KV_MEMO_INERT and KV_MEMO_MONTH of the first two tokens toks of a
 * span (text[0..) read alone. */
uint8_t kv_index_lead(const char *text, const kv_tokens *toks);
/* index.c: 1 when the index may tokenize text[0..a) and text[b..len) apart, text[a..b) being the
 * gap after the span that ends at a (a == 0: no span before) and before the one that starts at b
 * (b == len: none after), whose first tokens read alone have lead (kv_index_lead): each part's
 * tokens are then the whole text's, and none lies in the gap (tests/engine/test_sentmemo.c). */
int kv_index_cut(const char *text, size_t len, size_t a, size_t b, uint8_t lead);

/* The sentences (ascending) that hold term h: *n entries from the returned pointer, or NULL. */
const uint32_t *kv_index_find(const kivo_engine *e, uint64_t h, size_t *n);

/*
 * When toks[i] (tokens of text[0..len)) opens a name of two or more capitalised words ("United
 * Kingdom", "Bank of America"), the hash its initials have as a word ("uk", "boa"), with *end
 * the token after the name; else 0 (and *end past toks[i] when it is a name's only word).
 */
uint64_t kv_acronym_at(kivo_engine *e, const char *text, size_t len, const kv_token *toks, size_t n,
                       size_t i, size_t *end);

/* 1 when words a and b (token hashes) stand on the two sides of one opposite group. */
int kv_opposite_pair(const kivo_engine *e, uint64_t a, uint64_t b);
/* 1 when word h (a token hash) stands in an opposite group. */
int kv_opposite_known(const kivo_engine *e, uint64_t h);

/* Builds e->opposites from the groups in opposite.c (hashed as tokens, so they match by stem). */
kivo_status kv_opposites_build(kivo_engine *e);

/*
 * 1 when a word of claim tokens toks[0..n) has only its opposite near the same neighbours in
 * source sentences first..last ("revenue fell" where the source says "revenue rose"); marks
 * that word in mark[] (one byte per claim token) when mark is not NULL.
 */
int kv_opposite_conflict(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                         size_t first, size_t last, uint8_t *mark);

#define KV_MAX_GIVEN 64

/* given.c: marks in skip[] (one byte per claim token) the claim's words it does not assert
 * ("If your device fails, ...", "..., so you qualify", "needs to", "first."). */
void kv_given_mark(const char *text, const kv_token *toks, size_t n, uint8_t *skip);
/* given.c: remembers for the rest of the review the words the claim names with "your". */
void kv_given_note(kivo_engine *e, const char *text, const kv_token *toks, size_t n);
/* given.c: marks held the claim's terms the answer named as the reader's own. */
void kv_given_hold(const kivo_engine *e, kv_claim_scratch *cs);

/* sense.c: 1 when the window the sentence layer read last has a modal of necessity. */
int kv_sense_window_necessary(const kivo_engine *e);
/* sense.c: forgets the sentences the sentence layer read for the last review; kv_index_build
 * calls it once e->sents holds the new review's sentences. */
kivo_status kv_sense_reset(kivo_engine *e);

/* Marks held (cs->present, cs->alt) the claim's missing terms whose form with or without a
 * negative prefix the sources hold ("worn" / "unworn"; prefix.c). */
void kv_prefix_hold(kivo_engine *e, const char *text, const kv_token *toks, size_t n);

/* Scores the claim whose tokens are toks[0..n) into *c. */
kivo_status kv_match_claim(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                           kivo_claim *c);

/* 0 when the span with these tokens of text[0..len) is not a claim to check: a question, a
 * heading, a table's header row, a greeting, or a sentence about the sources themselves ("the
 * passages do not mention it"); else 1. */
int kv_match_is_claim(const char *text, size_t len, const kv_span *span, const kv_token *toks,
                      size_t n);

#endif
