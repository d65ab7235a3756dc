/*
 * lexicon.c - tokens: scanning, Unicode case folding, Snowball stemming behind a per-thread cache,
 * function words, negation and policy cues, and numbers in digits or words.
 *
 * ASCII takes a fast path (a table lookup per byte); other scripts go through utf8proc. The stem
 * cache is direct-mapped on the hash of the folded word: a miss costs one Snowball call, and a
 * collision only evicts, so results never depend on what was cached before.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>
/* The library's own header in its inline mode: token hashes are short, a call costs more. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "grow_int.h"
#include "quantity_int.h"
#include "spelling_int.h"
#include "text_int.h"
#include "wordclass_int.h"

#define LEX_SLOTS 2048         /* function-word table, power of two */
#define CACHE_SLOTS (1u << 15) /* stem cache, power of two */
#define WORD_MAX 64            /* longer tokens are hashed, not stemmed */
#define INITIALS_BITS 9        /* kv_lexicon_initials_hash's memo: 512 slots, 8 KiB */
#define INITIALS_MAX 8         /* letters of initials the memo's key holds */

/* A function word's entry; its key (the hash of the folded word) is in lex_key at the same slot. */
typedef struct lex_entry {
    uint64_t alias; /* words: the stem hash it matches as, 0 = its own */
    uint8_t kind;
    uint8_t flags;
    double value;
} lex_entry;

/* 16 bytes, so that the table is 512 KiB: the folded word's hash (key) and the stem's flags share
 * the tag. A slot is picked by the key's low 15 bits, so the entry is the key's when the tag's bits
 * from 8 up are the key's; its low 8 bits hold the flags. An empty slot's tag has bits 8-14 that
 * no key of its slot has (cache_clear). */
typedef struct cache_entry {
    uint64_t tag;  /* the key from bit 8 up; KV_TF_POLICY, KV_TF_REF, KV_TF_LABEL by the stem */
    uint64_t stem; /* hash of its stem */
} cache_entry;

#define CACHE_TAG_SHIFT 8
#define CACHE_FLAGS ((uint64_t)(KV_TF_POLICY | KV_TF_REF | KV_TF_LABEL))
_Static_assert(CACHE_FLAGS < (1u << CACHE_TAG_SHIFT), "the flags fit below the key's bits");
_Static_assert(CACHE_SLOTS >= (2u << CACHE_TAG_SHIFT), "an empty tag needs a slot bit above 8");

struct kv_lexicon {
    struct sb_stemmer *stemmer;
    uint64_t lex_key[LEX_SLOTS]; /* the table's keys, 0 = empty: probed apart (16 KiB) */
    lex_entry lex[LEX_SLOTS];
    uint64_t policy[64]; /* stem hashes of policy words, sorted */
    size_t n_policy;
    uint64_t refs[32]; /* stem hashes of words about the sources, sorted */
    size_t n_refs;
    uint64_t labels[32]; /* stem hashes of words that number what follows them, sorted */
    size_t n_labels;
    uint64_t month[12]; /* stem hashes of the months' names, January first */
    cache_entry *cache;
    /* kv_lexicon_initials_hash's memo, direct-mapped: the initials' bytes as one integer (0 =
     * empty) and the hash kv_lexicon_word_hash gives them. */
    struct {
        uint64_t key, h;
    } initials[1u << INITIALS_BITS];
};

static const char *const stop_words[] = {
    "a",         "an",         "the",      "and",        "or",        "but",      "if",
    "then",      "than",       "so",       "as",         "at",        "by",       "for",
    "from",      "in",         "into",     "of",         "on",        "onto",     "to",
    "with",      "about",      "above",    "after",      "again",     "against",  "all",
    "also",      "am",         "any",      "are",        "be",        "been",     "being",
    "because",   "before",     "below",    "between",    "both",      "can",      "could",
    "did",       "do",         "does",     "doing",      "down",      "during",   "each",
    "further",   "had",        "has",      "have",       "having",    "he",       "her",
    "here",      "hers",       "herself",  "him",        "himself",   "his",      "how",
    "i",         "i'm",        "i've",     "i'll",       "i'd",       "it",       "its",
    "itself",    "it's",       "just",     "me",         "more",      "most",     "my",
    "myself",    "now",        "off",      "once",       "only",      "other",    "our",
    "ours",      "ourselves",  "out",      "over",       "own",       "same",     "she",
    "should",    "some",       "such",     "that",       "that's",    "their",    "theirs",
    "them",      "themselves", "there",    "there's",    "these",     "they",     "this",
    "those",     "through",    "too",      "under",      "until",     "up",       "very",
    "was",       "we",         "we're",    "we've",      "we'll",     "were",     "what",
    "what's",    "when",       "where",    "which",      "while",     "who",      "whom",
    "why",       "will",       "would",    "you",        "you're",    "you've",   "you'll",
    "your",      "yours",      "yourself", "yourselves", "may",       "might",    "shall",
    "us",        "let",        "etc",      "per",        "via",       "upon",     "however",
    "therefore", "thus",       "well",     "yes",        "one",       "ones",     "also",
    "here's",    "is",         "get",      "got",        "s",         "t",        "d",
    "ll",        "re",         "ve",       "m",          "said",      "says",     "say",
    "like",      "many",       "much",     "even",       "still",     "yet",      "whether",
    "either",    "across",     "along",    "around",     "among",     "toward",   "towards",
    "since",     "whose",      "every",    "another",    "something", "anything", "everything",
    "am",        "pm",         "a.m",      "p.m",        "percent",   "pct",      "whatever",
    "whichever", "whoever",    "whenever", "wherever",   NULL};

static const char *const negation_words[] = {
    "not",     "no",      "never",  "none",   "nobody",   "nothing",   "neither",
    "nor",     "without", "cannot", "don't",  "doesn't",  "isn't",     "aren't",
    "wasn't",  "weren't", "won't",  "can't",  "couldn't", "shouldn't", "wouldn't",
    "hasn't",  "haven't", "hadn't", "didn't", "mustn't",  "dont",      "doesnt",
    "isnt",    "arent",   "wasnt",  "werent", "wont",     "cant",      "didnt",
    "nowhere", "unable",  "lack",   "lacks",  "lacking",  NULL};

/* Function words that also carry policy meaning. */
static const char *const policy_stop_words[] = {"must", "within", "only", NULL};

static const char *const meta_words[] = {
    "thanks",    "thank",     "hope",      "hello",     "hi",         "hey",    "dear",    "sorry",
    "apologize", "apologise", "apologies", "glad",      "regards",    "cheers", "welcome", "please",
    "sincerely", "let",       "sure",      "certainly", "absolutely", "luck",   "happy",   NULL};

/* The speaker: a sentence about the assistant itself ("I can help you with that") is no claim
 * about the sources' subject. */
static const char *const self_words[] = {"i", "i'm", "i've", "i'll", "i'd", NULL};

static const char *const policy_words[] = {
    "refund",     "refunds",       "return",       "returns",      "eligible",  "eligibility",
    "warranty",   "guarantee",     "cancel",       "cancellation", "fee",       "fees",
    "charge",     "charges",       "policy",       "entitled",     "require",   "required",
    "allow",      "allowed",       "permit",       "prohibited",   "exchange",  "credit",
    "reimburse",  "reimbursement", "compensation", "penalty",      "deadline",  "terms",
    "conditions", "free",          "liable",       "liability",    "mandatory", "obligated",
    "waive",      "waived",        "expire",       "expires",      "deposit",   "restocking",
    NULL};

static const char *const ref_words[] = {"passage", "passages", "context",   "document", "documents",
                                        "article", "mention",  "mentioned", "specify",  "specified",
                                        "source",  "sources",  "doc",       "docs",     NULL};

/* "Step 6", "Option 1": the number names an item of the answer's own list, not a quantity. */
static const char *const label_words[] = {"step",   "option", "part",  "section", "chapter",
                                          "item",   "phase",  "stage", "page",    "figure",
                                          "method", "tip",    NULL};

static const struct {
    const char *word;
    double value;
} number_words[] = {{"zero", 0},       {"two", 2},       {"three", 3},     {"four", 4},
                    {"five", 5},       {"six", 6},       {"seven", 7},     {"eight", 8},
                    {"nine", 9},       {"ten", 10},      {"eleven", 11},   {"twelve", 12},
                    {"thirteen", 13},  {"fourteen", 14}, {"fifteen", 15},  {"sixteen", 16},
                    {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19}, {"twenty", 20},
                    {"thirty", 30},    {"forty", 40},    {"fifty", 50},    {"sixty", 60},
                    {"seventy", 70},   {"eighty", 80},   {"ninety", 90},   {"hundred", 100},
                    {"thousand", 1e3}, {"million", 1e6}, {"billion", 1e9}, {"trillion", 1e12},
                    {"dozen", 12},     {"twice", 2},     {"once", 1},      {NULL, 0}};

/* Words that match as another: US state names as their postal codes, since addresses in records
 * say "CA" and answers "California" (states whose code is a function word, IN, OR, ME, OH, HI,
 * are left out); short and plural day names as the day. */
static const char *const aliases[][2] = {
    {"alabama", "al"},
    {"alaska", "ak"},
    {"arizona", "az"},
    {"arkansas", "ar"},
    {"california", "ca"},
    {"colorado", "co"},
    {"connecticut", "ct"},
    {"delaware", "de"},
    {"florida", "fl"},
    {"georgia", "ga"},
    {"idaho", "id"},
    {"illinois", "il"},
    {"iowa", "ia"},
    {"kansas", "ks"},
    {"kentucky", "ky"},
    {"louisiana", "la"},
    {"maryland", "md"},
    {"massachusetts", "ma"},
    {"michigan", "mi"},
    {"minnesota", "mn"},
    {"mississippi", "ms"},
    {"missouri", "mo"},
    {"montana", "mt"},
    {"nebraska", "ne"},
    {"nevada", "nv"},
    {"oklahoma", "ok"},
    {"pennsylvania", "pa"},
    {"tennessee", "tn"},
    {"texas", "tx"},
    {"utah", "ut"},
    {"vermont", "vt"},
    {"virginia", "va"},
    {"washington", "wa"},
    {"wisconsin", "wi"},
    {"wyoming", "wy"},
    /* Days as records key them ("sun": "closed") and as answers write them ("on Sundays"). */
    {"mon", "monday"},
    {"mondays", "monday"},
    {"tue", "tuesday"},
    {"tues", "tuesday"},
    {"tuesdays", "tuesday"},
    {"wed", "wednesday"},
    {"wednesdays", "wednesday"},
    {"thu", "thursday"},
    {"thur", "thursday"},
    {"thurs", "thursday"},
    {"thursdays", "thursday"},
    {"fri", "friday"},
    {"fridays", "friday"},
    {"sat", "saturday"},
    {"saturdays", "saturday"},
    {"sun", "sunday"},
    {"sundays", "sunday"},
    /* Months as dates abbreviate them ("Mar. 5"); May is a function word either way. */
    {"jan", "january"},
    {"feb", "february"},
    {"mar", "march"},
    {"apr", "april"},
    {"jun", "june"},
    {"jul", "july"},
    {"aug", "august"},
    {"sep", "september"},
    {"sept", "september"},
    {"oct", "october"},
    {"nov", "november"},
    {"dec", "december"},
    /* Units as measures abbreviate them ("5 km", "3 lbs"). */
    {"km", "kilometer"},
    {"kms", "kilometer"},
    {"kg", "kilogram"},
    {"kgs", "kilogram"},
    {"cm", "centimeter"},
    {"mm", "millimeter"},
    {"ml", "milliliter"},
    {"lb", "pound"},
    {"lbs", "pound"},
    {"oz", "ounce"},
    {"ft", "foot"},
    {"feet", "foot"},
    {"hr", "hour"},
    {"hrs", "hour"},
    {"mins", "minute"},
    {"yr", "year"},
    {"yrs", "year"},
    {"sq", "square"},
    {NULL, NULL}};

static uint64_t word_hash(const char *s, size_t len)
{
    uint64_t h = XXH3_64bits(s, len);
    return h ? h : 1; /* 0 marks an empty slot */
}

/* The slot of key in the function-word table: its own, or the empty one where it would go. */
static size_t lex_slot(const kv_lexicon *lx, uint64_t key)
{
    size_t i = (size_t)key & (LEX_SLOTS - 1);
    while (lx->lex_key[i] && lx->lex_key[i] != key)
        i = (i + 1) & (LEX_SLOTS - 1);
    return i;
}

/* The entry of key, or NULL when it is no function word (the common case: keys only). */
static const lex_entry *lex_find(const kv_lexicon *lx, uint64_t key)
{
    const size_t i = lex_slot(lx, key);
    return lx->lex_key[i] ? &lx->lex[i] : NULL;
}

static void lex_add(kv_lexicon *lx, const char *w, uint8_t kind, uint8_t flags, double value)
{
    const uint64_t key = word_hash(w, strlen(w));
    const size_t i = lex_slot(lx, key);
    lex_entry *e = &lx->lex[i];
    if (!lx->lex_key[i]) {
        lx->lex_key[i] = key;
        e->kind = kind;
        e->value = value;
    }
    e->flags |= flags;
}

static uint64_t stem_hash(kv_lexicon *lx, const char *w, size_t len)
{
    const sb_symbol *s = sb_stemmer_stem(lx->stemmer, (const sb_symbol *)w, (int)len);
    if (!s)
        return word_hash(w, len);
    return word_hash((const char *)s, (size_t)sb_stemmer_length(lx->stemmer));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

kivo_status kv_lexicon_create(kv_lexicon **out)
{
    kv_lexicon *lx = calloc(1, sizeof *lx);
    if (!lx)
        return KIVO_ENOMEM;
    lx->stemmer = sb_stemmer_new("english", "UTF_8");
    lx->cache = malloc(CACHE_SLOTS * sizeof *lx->cache);
    if (!lx->stemmer || !lx->cache) {
        kv_lexicon_free(lx);
        return KIVO_ENOMEM;
    }
    /* Empty: bits 8-14 of the tag differ from those of every key that picks the slot. */
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        lx->cache[i].tag = (uint64_t)((i >> CACHE_TAG_SHIFT) ^ 1) << CACHE_TAG_SHIFT;
        lx->cache[i].stem = 0;
    }
    for (size_t i = 0; stop_words[i]; i++)
        lex_add(lx, stop_words[i], KV_TOK_STOP, 0, 0);
    for (size_t i = 0; negation_words[i]; i++)
        lex_add(lx, negation_words[i], KV_TOK_STOP, KV_TF_NEG, 0);
    for (size_t i = 0; policy_stop_words[i]; i++)
        lex_add(lx, policy_stop_words[i], KV_TOK_STOP, KV_TF_POLICY, 0);
    for (size_t i = 0; meta_words[i]; i++)
        lex_add(lx, meta_words[i], KV_TOK_STOP, KV_TF_META, 0);
    for (size_t i = 0; self_words[i]; i++)
        lex_add(lx, self_words[i], KV_TOK_STOP, KV_TF_SELF, 0);
    for (size_t i = 0; number_words[i].word; i++)
        lex_add(lx, number_words[i].word, KV_TOK_NUMBER, 0, number_words[i].value);
    for (size_t i = 0; aliases[i][0]; i++) {
        const uint64_t key = word_hash(aliases[i][0], strlen(aliases[i][0]));
        const size_t slot = lex_slot(lx, key);
        lex_entry *le = &lx->lex[slot];
        lx->lex_key[slot] = key;
        le->kind = KV_TOK_WORD;
        le->alias = stem_hash(lx, aliases[i][1], strlen(aliases[i][1]));
    }
    for (size_t i = 0; policy_words[i] && lx->n_policy < 64; i++)
        lx->policy[lx->n_policy++] = stem_hash(lx, policy_words[i], strlen(policy_words[i]));
    qsort(lx->policy, lx->n_policy, sizeof lx->policy[0], cmp_u64);
    for (size_t i = 0; ref_words[i] && lx->n_refs < 32; i++)
        lx->refs[lx->n_refs++] = stem_hash(lx, ref_words[i], strlen(ref_words[i]));
    qsort(lx->refs, lx->n_refs, sizeof lx->refs[0], cmp_u64);
    for (size_t i = 0; label_words[i] && lx->n_labels < 32; i++)
        lx->labels[lx->n_labels++] = stem_hash(lx, label_words[i], strlen(label_words[i]));
    qsort(lx->labels, lx->n_labels, sizeof lx->labels[0], cmp_u64);
    for (size_t m = 0; m < 12; m++)
        lx->month[m] = stem_hash(lx, kv_month_names[m], strlen(kv_month_names[m]));
    *out = lx;
    return KIVO_OK;
}

void kv_lexicon_free(kv_lexicon *lx)
{
    if (!lx)
        return;
    if (lx->stemmer)
        sb_stemmer_delete(lx->stemmer);
    free(lx->cache);
    free(lx);
}

static int in_set(const uint64_t *set, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (set[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && set[lo] == h;
}

static kivo_status push(kv_tokens *t, const kv_token *tok)
{
    kivo_status st = kv_grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v, 256);
    if (st != KIVO_OK)
        return st;
    t->v[t->n++] = *tok;
    return KIVO_OK;
}

void kv_tokens_free(kv_tokens *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static inline int ascii_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Decodes the code point at s (len bytes left); returns its length, *cp = -1 when invalid. */
static size_t decode(const unsigned char *s, size_t len, int32_t *cp)
{
    utf8proc_ssize_t n = utf8proc_iterate(s, (utf8proc_ssize_t)(len > 4 ? 4 : len), cp);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    return (size_t)n;
}

static int word_char(int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: return 1;
    default: return 0;
    }
}

/* Length of the token starting at s[0] (a word character), and what it holds. */
static size_t scan_token(const unsigned char *s, size_t len, int *ascii, int *digits, int *alpha)
{
    size_t j = 0;
    *ascii = 1;
    *digits = 0;
    *alpha = 0;
    while (j < len) {
        unsigned char c = s[j];
        if (c < 0x80) {
            if (kv_ascii_alnum(c)) {
                /* camelCase keys of structured sources ("RestaurantsReservations") are words. */
                if (j > 0 && c >= 'A' && c <= 'Z' && s[j - 1] >= 'a' && s[j - 1] <= 'z')
                    break;
                if (ascii_digit(c))
                    *digits = 1;
                else
                    *alpha = 1;
                j++;
                continue;
            }
            /* 1,000 and 4.5 stay one token; "don't" too. */
            if ((c == ',' || c == '.') && j > 0 && ascii_digit(s[j - 1]) && j + 1 < len &&
                ascii_digit(s[j + 1])) {
                j++;
                continue;
            }
            if (c == '\'' && j > 0 && j + 1 < len && kv_ascii_alnum(s[j + 1]) &&
                !ascii_digit(s[j + 1])) {
                j++;
                continue;
            }
            break;
        }
        int32_t cp;
        size_t n = decode(s + j, len - j, &cp);
        if (cp == 0x2019 && j > 0 && j + n < len && s[j + n] < 0x80 && kv_ascii_alnum(s[j + n])) {
            j += n; /* typographic apostrophe inside a word */
            *ascii = 0;
            continue;
        }
        if (cp < 0 || !word_char(cp))
            break;
        *ascii = 0;
        *alpha = 1;
        j += n;
    }
    return j;
}

/* The hash of a token whose folded word (hash key) has lexicon entry le. */
static uint64_t entry_hash(const lex_entry *le, uint64_t key)
{
    return le->kind == KV_TOK_NUMBER ? kv_number_hash(le->value) : le->alias ? le->alias : key;
}

/* Fills the stem cache's entry ce for folded word w[0..fl) (hash key): a miss of cached(). */
static __attribute__((noinline)) void cache_fill(kv_lexicon *lx, cache_entry *ce, uint64_t key,
                                                 const char *w, size_t fl)
{
    char us[WORD_MAX + 2];
    size_t ul = fl <= WORD_MAX ? kv_spelling_us(w, fl, us) : 0;
    ce->stem = fl > WORD_MAX ? key : ul ? stem_hash(lx, us, ul) : stem_hash(lx, w, fl);
    const uint64_t flags = (in_set(lx->policy, lx->n_policy, ce->stem) ? KV_TF_POLICY : 0) |
                           (in_set(lx->refs, lx->n_refs, ce->stem) ? KV_TF_REF : 0) |
                           (in_set(lx->labels, lx->n_labels, ce->stem) ? KV_TF_LABEL : 0);
    ce->tag = (key >> CACHE_TAG_SHIFT << CACHE_TAG_SHIFT) | flags;
}

/* The stem cache's entry for folded word w[0..fl) (hash key), filled on a miss; its flags are
 * those of the tag's low bits (cache_entry). The hit (99% of the calls) is inlined. */
static inline const cache_entry *cached(kv_lexicon *lx, uint64_t key, const char *w, size_t fl)
{
    cache_entry *ce = &lx->cache[key & (CACHE_SLOTS - 1)];
    if (__builtin_expect(((ce->tag ^ key) >> CACHE_TAG_SHIFT) != 0, 0))
        cache_fill(lx, ce, key, w, fl);
    return ce;
}

uint64_t kv_lexicon_word_hash(kv_lexicon *lx, const char *w, size_t n)
{
    uint64_t key = word_hash(w, n);
    const lex_entry *le = lex_find(lx, key);
    if (le)
        return entry_hash(le, key);
    return cached(lx, key, w, n)->stem;
}

uint64_t kv_lexicon_initials_hash(kv_lexicon *lx, const char *w, size_t n)
{
    if (n == 0 || n > INITIALS_MAX)
        return kv_lexicon_word_hash(lx, w, n);
    uint64_t key = 0;
    memcpy(&key, w, n); /* no byte of w is 0: one key a word */
    size_t slot = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - INITIALS_BITS));
    if (lx->initials[slot].key != key) {
        lx->initials[slot].key = key;
        lx->initials[slot].h = kv_lexicon_word_hash(lx, w, n);
    }
    return lx->initials[slot].h;
}

/* The classified window of the text the tokenizer is in: wc describes text[base, base + n). */
typedef struct window {
    kv_wordclass_fill_fn fill;
    size_t base, n;
    kv_wordclass wc;
} window;

static void window_fill(window *w, const unsigned char *s, size_t len, size_t at)
{
    w->base = at;
    w->n = len - at < KV_WC_BYTES ? len - at : KV_WC_BYTES;
    w->fill(&w->wc, s + at, w->n);
}

/* Offset in the window of the first byte at or after k (< w->n) that may start a token, an ASCII
 * letter or digit or a non-ASCII byte; w->n when none does. */
static size_t next_start(const window *w, size_t k)
{
    const size_t words = (w->n + 63) / 64;
    size_t b = k / 64;
    uint64_t m = (w->wc.alnum[b] | w->wc.high[b]) & (~0ULL << (k % 64));
    while (!m) {
        if (++b == words)
            return w->n;
        m = w->wc.alnum[b] | w->wc.high[b];
    }
    return b * 64 + (size_t)__builtin_ctzll(m);
}

/* The run of ASCII letters and digits that starts at offset k of the window: its end, the first
 * byte after k that is neither or is a capital after a small letter (scan_token's camelCase
 * rule), or w->n when the run reaches the end of the window; and whether it holds a digit, a
 * letter, a small letter. */
typedef struct run {
    size_t end;
    int digits, alpha, lower;
} run;

static run scan_run(const window *w, size_t k)
{
    const size_t words = (w->n + 63) / 64;
    size_t b = k / 64;
    uint64_t in = ~0ULL << (k % 64); /* the bits of word b from the run's start */
    uint64_t after = in << 1;        /* the bits of word b where the run may end */
    uint64_t carry = 0; /* the byte before word b is a small letter (never needed in k's) */
    uint64_t d = 0, a = 0, l = 0;
    run r;
    for (;;) {
        const uint64_t al = w->wc.alnum[b], up = w->wc.upper[b], dg = w->wc.digit[b];
        const uint64_t lo = al & ~dg & ~up;
        const uint64_t stop = (~al | (up & ((lo << 1) | carry))) & after;
        if (stop)
            in &= (1ULL << __builtin_ctzll(stop)) - 1;
        /* Every byte of the run is a letter or a digit. */
        d |= dg & in;
        a |= ~dg & in;
        l |= lo & in;
        if (stop) {
            const size_t e = b * 64 + (size_t)__builtin_ctzll(stop);
            r.end = e < w->n ? e : w->n;
            break;
        }
        if (++b == words) {
            r.end = w->n;
            break;
        }
        carry = lo >> 63;
        in = after = ~0ULL;
    }
    r.digits = d != 0;
    r.alpha = a != 0;
    r.lower = l != 0;
    return r;
}

/* Whether s[e], just after a run of ASCII letters and digits, may continue the token under
 * scan_token's rules: a non-ASCII byte, ',' or '.' between digits, '\'' before a letter. */
static int may_continue(const unsigned char *s, size_t len, size_t e)
{
    if (e >= len)
        return 0;
    const unsigned char c = s[e];
    if (c >= 0x80)
        return 1;
    if ((c == ',' || c == '.') && ascii_digit(s[e - 1]) && e + 1 < len && ascii_digit(s[e + 1]))
        return 1;
    return c == '\'' && e + 1 < len && kv_ascii_alnum(s[e + 1]) && !ascii_digit(s[e + 1]);
}

/* A run of ASCII letters and digits the window's bitmaps found ahead of the tokenizer: its window
 * offsets, what it is (RUN_*), and for a word (RUN_WORD) the hash of its folded bytes. */
typedef struct pending {
    uint32_t start, end;
    uint64_t key; /* word_hash of the folded run (RUN_WORD), else 0 */
    uint8_t what;
} pending;

#define RUN_DIGITS 0x01 /* holds a digit */
#define RUN_LOWER 0x02  /* holds a small letter */
#define RUN_FAST 0x04   /* a token as it stands: nothing after it continues it (may_continue) */
#define RUN_WORD 0x08   /* fast, letters only, at most WORD_MAX of them */
#define RUN_HIGH \
    0x10 /* a non-ASCII byte lies between the run before (or the fill's start) and it */

#define PENDING_MAX 64

/* The runs ahead of the tokenizer in the window, in text order: q[head, n), then an entry whose
 * what is 0. Every run of the window from the offset the queue was filled from up to `to` is in q.
 * full: the fill stopped at PENDING_MAX runs (the next run starts at `to`); otherwise at a run
 * that reaches the window's end before the text's (at `to`: the one-token path classifies again
 * from its start), or at the window's end (to = n). high: the offset of the first non-ASCII byte
 * at or after the offset it was found from, or n. */
typedef struct queue {
    pending q[PENDING_MAX + 1];
    size_t head, n, to, high;
    int valid, full;
} queue;

/* Offset in the window of the first non-ASCII byte at or after k; w->n when none. */
static size_t next_high(const window *w, size_t k)
{
    const size_t words = (w->n + 63) / 64;
    if (k >= w->n)
        return w->n;
    size_t b = k / 64;
    uint64_t m = w->wc.high[b] & (~0ULL << (k % 64));
    while (!m) {
        if (++b == words)
            return w->n;
        m = w->wc.high[b];
    }
    const size_t h = b * 64 + (size_t)__builtin_ctzll(m);
    return h < w->n ? h : w->n;
}

/* The fill's state: the runs so far and the first non-ASCII byte after the last of them. */
typedef struct filling {
    size_t n, high;
} filling;

/* Appends run [start, end) of the window to q[f->n] (what: RUN_DIGITS, RUN_LOWER; cont: the byte
 * at end is non-ASCII, ',', '.' or '\''), hashing a word
 * and prefetching its lexicon and stem cache slots; 0 when the queue is full or the run reaches
 * the window's end before the text's (nothing appended: qu->to is the run's start). */
static inline __attribute__((always_inline)) int queue_run(kv_lexicon *lx, queue *qu, filling *f,
                                                           const window *w, const unsigned char *s,
                                                           size_t len, size_t start, size_t end,
                                                           int cont, unsigned what)
{
    if (f->n == PENDING_MAX || (end == w->n && w->base + w->n != len)) {
        qu->full = f->n == PENDING_MAX;
        qu->to = start;
        return 0;
    }
    pending *p = &qu->q[f->n++];
    p->start = (uint32_t)start;
    p->end = (uint32_t)end;
    p->key = 0;
    if (f->high < start) {
        what |= RUN_HIGH;
        f->high = next_high(w, end);
    }
    /* may_continue, when the byte after the run may continue a token at all (cont: it is
     * non-ASCII, ',', '.' or '\''; most are not). */
    if (!cont || !may_continue(s, len, w->base + end)) {
        what |= RUN_FAST;
        if (!(what & RUN_DIGITS) && end - start <= WORD_MAX) {
            what |= RUN_WORD;
            p->key = word_hash((const char *)w->wc.fold + start, end - start);
            __builtin_prefetch(&lx->lex_key[p->key & (LEX_SLOTS - 1)]);
            __builtin_prefetch(&lx->cache[p->key & (CACHE_SLOTS - 1)]);
        }
    }
    p->what = (uint8_t)what;
    return 1;
}

/* A run's RUN_DIGITS and RUN_LOWER from its bits rm of a word's maps. */
static inline unsigned run_what(uint64_t rm, uint64_t dg, uint64_t lo)
{
    return (unsigned)((dg & rm) != 0) * RUN_DIGITS | (unsigned)((lo & rm) != 0) * RUN_LOWER;
}

/*
 * Fills qu with the runs of ASCII letters and digits of the window from offset k on (bytes before
 * k count as neither), as scan_run would find them one by one from the tokenizer's position: a
 * run starts at a letter or digit after a byte that is neither, or at a capital after a small
 * letter (camelCase), and ends at the next such start or byte that is neither. Each 64-byte word
 * gives its starts and ends as two masks; a run's flags are its bits of the digit and small-letter
 * maps.
 */
static void queue_fill(kv_lexicon *lx, queue *qu, const window *w, const unsigned char *s,
                       size_t len, size_t k)
{
    const size_t words = (w->n + 63) / 64;
    uint64_t from = ~0ULL << (k % 64);
    uint64_t ca = 0, cl = 0; /* the byte before the word is a letter or digit, a small letter */
    int open = 0;
    unsigned ow = 0; /* the open run's RUN_* so far */
    size_t os = 0;
    filling f = {0, next_high(w, k)};
    qu->head = 0;
    qu->valid = 1;
    qu->full = 0;
    qu->to = w->n;
    qu->high = f.high;
    for (size_t b = k / 64; b < words; b++, from = ~0ULL) {
        const uint64_t al = w->wc.alnum[b] & from, dg = w->wc.digit[b] & from;
        const uint64_t up = w->wc.upper[b] & from, lo = al & ~dg & ~up;
        const uint64_t pa = (al << 1) | ca, pl = (lo << 1) | cl;
        const uint64_t camel = up & pl;
        const uint64_t cont = w->wc.high[b] | w->wc.inner[b]; /* may continue a run */
        uint64_t starts = (al & ~pa) | camel;
        uint64_t ends = (~al | camel) & pa;
        ca = al >> 63;
        cl = lo >> 63;
        if (open) {
            if (!ends) {
                ow |= run_what(al, dg, lo); /* the whole word is in the run */
                continue;
            }
            const unsigned e = (unsigned)__builtin_ctzll(ends);
            ends &= ends - 1;
            open = 0;
            if (!queue_run(lx, qu, &f, w, s, len, os, b * 64 + e, (cont >> e) & 1,
                           ow | run_what((1ULL << e) - 1, dg, lo)))
                goto done;
        }
        while (starts) {
            const unsigned st = (unsigned)__builtin_ctzll(starts);
            starts &= starts - 1;
            const uint64_t after = ends & ~((2ULL << st) - 1);
            if (!after) {
                open = 1;
                os = b * 64 + st;
                ow = run_what(~0ULL << st, dg, lo);
                break;
            }
            const unsigned e = (unsigned)__builtin_ctzll(after);
            ends &= ends - 1;
            if (!queue_run(lx, qu, &f, w, s, len, b * 64 + st, b * 64 + e, (cont >> e) & 1,
                           run_what(((1ULL << e) - 1) & (~0ULL << st), dg, lo)))
                goto done;
        }
    }
    /* A run open at the end of the last word reaches the window's end. */
    if (open)
        queue_run(lx, qu, &f, w, s, len, os, w->n, 0, ow);
done:
    qu->n = f.n;
    qu->q[f.n].what = 0;
}

/* Appends the token of queued word p (RUN_WORD) of the window: what the one-token path makes of a
 * fast run of letters, without its tests for digits, non-ASCII bytes and possessives. The token
 * is written in place, field by field: a token built on the stack and copied whole is read back
 * wider than it was written, which the CPU cannot forward from its stores (a stall a token). */
static inline __attribute__((always_inline)) kivo_status
word_token(kv_lexicon *lx, const char *text, size_t len, const window *w, const pending *p,
           kv_tokens *out)
{
    kivo_status st = kv_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v, 256);
    if (st != KIVO_OK)
        return st;
    const size_t at = w->base + p->start, tl = p->end - p->start;
    const unsigned char c = (unsigned char)text[at];
    uint8_t kind, flags = c >= 'A' && c <= 'Z' ? KV_TF_CAP : 0;
    uint64_t h;
    double value = 0;
    const lex_entry *le = lex_find(lx, p->key);
    if (le) {
        kind = le->kind;
        flags |= le->flags;
        value = le->value;
        h = entry_hash(le, p->key);
    } else {
        const cache_entry *ce = cached(lx, p->key, (const char *)w->wc.fold + p->start, tl);
        kind = KV_TOK_WORD;
        h = ce->stem;
        flags |= (uint8_t)(ce->tag & CACHE_FLAGS);
        if (!(p->what & RUN_LOWER) && tl >= 2)
            flags |= KV_TF_CODE; /* all capitals */
    }
    kv_token *tok = &out->v[out->n];
    tok->h = h;
    tok->start = (uint32_t)at;
    tok->end = (uint32_t)(at + tl);
    tok->kind = kind;
    tok->flags = flags;
    tok->value = value;
    /* kv_quantity_read's entry test, for a token that has no digit: only a number word, a word
     * of 'p' or 'P' or one that starts with a capital may start a rule. It reads the tokens of
     * out before this one, which is not yet counted. */
    if (kind == KV_TOK_NUMBER || (c | 0x20) == 'p' || (c >= 'A' && c <= 'Z'))
        kv_quantity_read(text, len, lx->month, out, tok);
    out->n++;
    return KIVO_OK;
}

/*
 * kv_tokenize with fill the byte classifier, or NULL to scan byte by byte only.
 *
 * With a classifier, a token of ASCII letters and digits that ends in a byte that cannot continue
 * it (the common case) is found, flagged and folded from the window's bitmaps; any other token
 * (non-ASCII, "1,000", "don't", one over the window) goes through scan_token as before, so both
 * give the same tokens (tests/engine/test_lexicon.c compares them).
 */
static kivo_status tokenize(kv_lexicon *lx, kv_wordclass_fill_fn fill, const char *text, size_t len,
                            kv_tokens *out)
{
    const unsigned char *s = (const unsigned char *)text;
    char fold[WORD_MAX];
    window win;
    queue qu;
    size_t i = 0;
    win.fill = fill;
    win.base = win.n = 0;
    qu.valid = 0;
    while (i < len) {
        int ascii, digits, alpha, lower = 0, fast = 0;
        size_t tl = 0;
        if (fill) {
            if (i >= win.base + win.n) {
                window_fill(&win, s, len, i);
                qu.valid = 0;
            }
            /* The queued runs: words in a row, then one other run, unless a non-ASCII byte
             * comes first (the one-token path below reads that). */
            size_t k = i - win.base;
            if (!qu.valid || (qu.head == qu.n && qu.full))
                queue_fill(lx, &qu, &win, s, len, k);
            size_t h = qu.head;
            while (h < qu.n && qu.q[h].start < k)
                h++; /* inside the token before */
            if ((qu.q[h].what & (RUN_WORD | RUN_HIGH)) == RUN_WORD) {
                /* Words in a row (the entry after the last is never one). */
                do {
                    kivo_status st = word_token(lx, text, len, &win, &qu.q[h], out);
                    if (st != KIVO_OK)
                        return st;
                    h++;
                } while ((qu.q[h].what & (RUN_WORD | RUN_HIGH)) == RUN_WORD);
                i = win.base + qu.q[h - 1].end;
                qu.head = h;
                continue;
            }
            qu.head = h;
            if (qu.high < k)
                qu.high = next_high(&win, k);
            if (h < qu.n && qu.q[h].start < qu.high) {
                const pending *p = &qu.q[h];
                qu.head++;
                i = win.base + p->start;
                if (p->what & RUN_FAST) {
                    fast = 1;
                    ascii = 1;
                    tl = p->end - p->start;
                    digits = (p->what & RUN_DIGITS) != 0;
                    lower = (p->what & RUN_LOWER) != 0;
                    alpha = 0;
                    for (size_t j = 0; j < tl && !alpha; j++)
                        alpha = !ascii_digit(s[i + j]);
                } else {
                    tl = scan_token(s + i, len - i, &ascii, &digits, &alpha);
                }
                goto token;
            }
            k = next_start(&win, k);
            if (k == win.n) {
                i = win.base + win.n;
                continue;
            }
            i = win.base + k;
            if (s[i] < 0x80) {
                run r;
                for (;;) {
                    r = scan_run(&win, k);
                    if (r.end < win.n || win.base + win.n == len || win.base == i)
                        break;
                    /* The run may go on past the window: classify again from its start. */
                    window_fill(&win, s, len, i);
                    qu.valid = 0;
                    k = 0;
                }
                if ((r.end < win.n || win.base + win.n == len) &&
                    !may_continue(s, len, win.base + r.end)) {
                    fast = 1;
                    ascii = 1;
                    tl = win.base + r.end - i;
                    digits = r.digits;
                    alpha = r.alpha;
                    lower = r.lower;
                }
            }
        }
        if (!fast) {
            const unsigned char c = s[i];
            if (c < 0x80) {
                if (!kv_ascii_alnum(c)) {
                    i++;
                    continue;
                }
            } else {
                int32_t cp;
                size_t n = decode(s + i, len - i, &cp);
                if (cp < 0 || !word_char(cp)) {
                    i += n;
                    continue;
                }
            }
            tl = scan_token(s + i, len - i, &ascii, &digits, &alpha);
        }
    token:;
        const unsigned char c = s[i];
        kv_token tok = {0};
        tok.start = (uint32_t)i;
        tok.end = (uint32_t)(i + tl);

        int upper_first = 0, all_upper = alpha;
        if (fast) {
            upper_first = c >= 'A' && c <= 'Z';
            all_upper = alpha && !lower;
        } else if (ascii) {
            upper_first = c >= 'A' && c <= 'Z';
            for (size_t k = 0; k < tl && all_upper; k++)
                if (s[i + k] >= 'a' && s[i + k] <= 'z')
                    all_upper = 0;
        } else {
            int32_t cp;
            decode(s + i, tl, &cp);
            upper_first = cp >= 0 && utf8proc_isupper(cp);
            all_upper = 0;
        }
        if (upper_first)
            tok.flags |= KV_TF_CAP;

        double v;
        if (fast && digits && !alpha && tl <= 15) {
            /* Digits only, below 10^15: kv_parse_number's value is the integer, exactly. */
            uint64_t u = 0;
            for (size_t k = 0; k < tl; k++)
                u = u * 10 + (uint64_t)(s[i + k] - '0');
            tok.kind = KV_TOK_NUMBER;
            tok.value = (double)u;
            tok.h = kv_number_hash(tok.value);
        } else if (digits && !alpha && kv_parse_number(text + i, tl, &v)) {
            tok.kind = KV_TOK_NUMBER;
            tok.value = v;
            tok.h = kv_number_hash(v);
        } else if (digits && alpha && kv_parse_number(text + i, tl, &v)) {
            tok.kind = KV_TOK_NUMBER; /* ordinals: 3rd */
            tok.value = v;
            tok.h = kv_number_hash(v);
        } else {
            /* Fold case; ASCII by table, the rest through utf8proc. */
            size_t fl = 0;
            uint8_t *mapped = NULL;
            const char *w = fold;
            if (ascii && tl <= WORD_MAX) {
                if (fast)
                    w = (const char *)win.wc.fold + (i - win.base);
                else
                    for (size_t k = 0; k < tl; k++)
                        fold[k] = (char)((s[i + k] >= 'A' && s[i + k] <= 'Z') ? s[i + k] | 0x20
                                                                              : s[i + k]);
                fl = tl;
            } else {
                utf8proc_ssize_t r =
                    utf8proc_map(s + i, (utf8proc_ssize_t)tl, &mapped,
                                 UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
                if (r < 0)
                    return KIVO_ENOMEM;
                w = (const char *)mapped;
                fl = (size_t)r;
                /* "isn’t" is "isn't": the typographic apostrophe folds to the ASCII one. */
                size_t o = 0;
                for (size_t k = 0; k < fl; k++) {
                    if (k + 2 < fl && (uint8_t)w[k] == 0xE2 && (uint8_t)w[k + 1] == 0x80 &&
                        (uint8_t)w[k + 2] == 0x99) {
                        mapped[o++] = '\'';
                        k += 2;
                    } else {
                        mapped[o++] = (uint8_t)w[k];
                    }
                }
                fl = o;
            }
            /* "customer's" and "customer’s" count as "customer" (a token of the fast path holds
             * letters and digits only). */
            if (!fast && fl > 2 && w[fl - 2] == '\'' && w[fl - 1] == 's')
                fl -= 2;
            else if (!fast && fl > 4 && (unsigned char)w[fl - 4] == 0xE2 &&
                     (unsigned char)w[fl - 3] == 0x80 && (unsigned char)w[fl - 2] == 0x99 &&
                     w[fl - 1] == 's')
                fl -= 4;
            uint64_t key = word_hash(w, fl);
            const lex_entry *le = lex_find(lx, key);
            if (le) {
                tok.kind = le->kind;
                tok.flags |= le->flags;
                tok.value = le->value;
                tok.h = entry_hash(le, key);
            } else {
                const cache_entry *ce = cached(lx, key, w, fl);
                tok.kind = KV_TOK_WORD;
                tok.h = ce->stem;
                tok.flags |= (uint8_t)(ce->tag & CACHE_FLAGS);
                if ((digits && alpha) || (all_upper && tl >= 2))
                    tok.flags |= KV_TF_CODE;
            }
            if (mapped)
                free(mapped);
        }
        kv_quantity_read(text, len, lx->month, out, &tok);
        kivo_status st = push(out, &tok);
        if (st != KIVO_OK)
            return st;
        i += tl;
    }
    return KIVO_OK;
}

kivo_status kv_tokenize(kv_lexicon *lx, const char *text, size_t len, kv_tokens *out)
{
    return tokenize(lx, kv_wordclass_fill(), text, len, out);
}

kivo_status kv_tokenize_at(kv_lexicon *lx, int level, const char *text, size_t len, kv_tokens *out)
{
    return tokenize(lx, level < 0 ? NULL : kv_wordclass_fill_at((kivo_scan_level)level), text, len,
                    out);
}
