/*
 * test_lexicon.c - the tokenizer (lexicon.c, kv_tokenize): token boundaries and offsets, numbers
 * in digits and words, Unicode case folding, Snowball stemming behind the per-thread cache, and
 * the cue flags (negation, policy, names and codes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_rng.h"
#include "test_lexicon_fixture.h"

#include "text_int.h"
#include "wordclass_int.h"

/* Tokenizes text into t (emptied first). */
static void tok(kv_lexicon *lx, const char *text, kv_tokens *t)
{
    t->n = 0;
    assert_int_equal(kv_tokenize(lx, text, strlen(text), t), KIVO_OK);
}

/* The single token of a one-word text. */
static kv_token one(kv_lexicon *lx, const char *word)
{
    kv_tokens t = {0};
    tok(lx, word, &t);
    if (t.n != 1)
        fail_msg("\"%s\" gave %zu tokens, want 1", word, t.n);
    kv_token r = t.v[0];
    kv_tokens_free(&t);
    return r;
}

static void same(kv_lexicon *lx, const char *a, const char *b)
{
    kv_token x = one(lx, a), y = one(lx, b);
    if (x.h != y.h || x.kind != y.kind)
        fail_msg("\"%s\" and \"%s\" should match", a, b);
}

static void differ(kv_lexicon *lx, const char *a, const char *b)
{
    if (one(lx, a).h == one(lx, b).h)
        fail_msg("\"%s\" and \"%s\" should not match", a, b);
}

static void test_boundaries(void **state)
{
    kv_lexicon *lx = *state;
    kv_tokens t = {0};
    tok(lx, "", &t);
    assert_int_equal(t.n, 0);
    tok(lx, " \n\t.,;!?-", &t);
    assert_int_equal(t.n, 0);
    tok(lx, "x", &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.v[0].start, 0);
    assert_int_equal(t.v[0].end, 1);
    /* Offsets in bytes, around multi-byte letters and punctuation. */
    static const char text[] = "Hi, Zo\xc3\xab! It costs $4.99 (1,000 units), don't it? X200.";
    static const struct {
        unsigned start, end;
    } want[] = {{0, 2},   {4, 8},   {10, 12}, {13, 18}, {20, 24},
                {26, 31}, {32, 37}, {40, 45}, {46, 48}, {50, 54}};
    tok(lx, text, &t);
    assert_int_equal(t.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < t.n; i++) {
        if (t.v[i].start != want[i].start || t.v[i].end != want[i].end)
            fail_msg("token %zu: [%u,%u) \"%.*s\", want [%u,%u)", i, t.v[i].start, t.v[i].end,
                     (int)(t.v[i].end - t.v[i].start), text + t.v[i].start, want[i].start,
                     want[i].end);
    }
    assert_int_equal(t.v[3].kind, KV_TOK_WORD);   /* costs */
    assert_int_equal(t.v[4].kind, KV_TOK_NUMBER); /* 4.99 */
    assert_true(t.v[4].value == 4.99);
    assert_int_equal(t.v[5].kind, KV_TOK_NUMBER); /* 1,000 */
    assert_true(t.v[5].value == 1000.0);

    /* Appending: offsets stay relative to each text. */
    size_t before = t.n;
    assert_int_equal(kv_tokenize(lx, "two words", 9, &t), KIVO_OK);
    assert_int_equal(t.n, before + 2);
    assert_int_equal(t.v[before].start, 0);
    assert_int_equal(t.v[before + 1].start, 4);
    kv_tokens_free(&t);
    assert_null(t.v);
}

static void test_numbers(void **state)
{
    kv_lexicon *lx = *state;
    same(lx, "four", "4");
    same(lx, "Four", "4");
    same(lx, "twelve", "12");
    same(lx, "dozen", "12");
    same(lx, "1,000", "1000");
    same(lx, "4.5", "4.50");
    same(lx, "3rd", "3");
    same(lx, "30th", "30");
    differ(lx, "4.5", "45");
    differ(lx, "4", "5");
    differ(lx, "30", "60");
    differ(lx, "4.99", "5.99");
    differ(lx, "four", "for");
    kv_token n = one(lx, "seven");
    assert_int_equal(n.kind, KV_TOK_NUMBER);
    assert_true(n.value == 7.0);
    n = one(lx, "14,999.50");
    assert_int_equal(n.kind, KV_TOK_NUMBER);
    assert_true(n.value == 14999.5);
    /* A number never hashes like a word: "1" is not the stem of anything. */
    assert_int_equal(one(lx, "2026").kind, KV_TOK_NUMBER);
    /* Letters and digits mixed are codes, not numbers. */
    n = one(lx, "X200");
    assert_int_equal(n.kind, KV_TOK_WORD);
    assert_true(n.flags & KV_TF_CODE);
    n = one(lx, "24h");
    assert_int_equal(n.kind, KV_TOK_WORD);
    differ(lx, "A19", "A20");
}

static void test_case_folding(void **state)
{
    kv_lexicon *lx = *state;
    same(lx, "Refund", "refund");
    same(lx, "REFUND", "refund");
    same(lx, "\xc3\x89mile", "\xc3\xa9mile"); /* Émile / émile */
    same(lx, "\xc3\x89MILE", "\xc3\xa9mile"); /* ÉMILE */
    same(lx,
         "Stra\xc3\x9f"
         "e",
         "STRASSE"); /* Straße / STRASSE */
    same(lx,
         "stra\xc3\x9f"
         "e",
         "strasse");
    same(lx, "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", /* ΣΟΦΙΑ / σοφια */
         "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1");
    /* Composed and decomposed é are one word (NFC). */
    same(lx, "caf\xc3\xa9", "cafe\xcc\x81");
    differ(lx, "\xc3\xa9mile", "emile");
    /* Capitalised words are marked (a name cue), lower-case ones not. */
    assert_true(one(lx, "\xc3\x89mile").flags & KV_TF_CAP);
    assert_true(one(lx, "Portland").flags & KV_TF_CAP);
    assert_false(one(lx, "portland").flags & KV_TF_CAP);
    assert_false(one(lx, "\xc3\xa9mile").flags & KV_TF_CAP);
    assert_true(one(lx, "USB").flags & KV_TF_CODE);
}

static void test_stemming(void **state)
{
    kv_lexicon *lx = *state;
    same(lx, "refunds", "refunded");
    same(lx, "refund", "refunding");
    same(lx, "shipping", "shipped");
    same(lx, "connection", "connections");
    same(lx, "customer's", "customer");
    same(lx, "customer\xe2\x80\x99s", "customer");
    differ(lx, "refund", "return");
    differ(lx, "ship", "shop");
    /* A word too long to stem is still a word, and still told apart from its neighbour. */
    char a[100], b[100];
    memset(a, 'q', 90);
    a[90] = '\0';
    memcpy(b, a, 91);
    b[89] = 'r';
    assert_int_equal(one(lx, a).kind, KV_TOK_WORD);
    differ(lx, a, b);
}

static void test_flags(void **state)
{
    kv_lexicon *lx = *state;
    assert_int_equal(one(lx, "the").kind, KV_TOK_STOP);
    assert_int_equal(one(lx, "The").kind, KV_TOK_STOP);
    assert_int_equal(one(lx, "lamp").kind, KV_TOK_WORD);
    static const char *const neg[] = {"not",   "no",    "never",  "without", "cannot",
                                      "don't", "isn't", "Nobody", NULL};
    for (size_t i = 0; neg[i]; i++)
        if (!(one(lx, neg[i]).flags & KV_TF_NEG))
            fail_msg("\"%s\" should be a negation cue", neg[i]);
    static const char *const policy[] = {"refund", "refunds",  "refunded",     "eligible", "must",
                                         "within", "warranty", "Cancellation", "fees",     NULL};
    for (size_t i = 0; policy[i]; i++)
        if (!(one(lx, policy[i]).flags & KV_TF_POLICY))
            fail_msg("\"%s\" should be policy language", policy[i]);
    static const char *const plain[] = {"lamp", "blue", "Portland", "delivery", NULL};
    for (size_t i = 0; plain[i]; i++)
        if (one(lx, plain[i]).flags & (KV_TF_NEG | KV_TF_POLICY))
            fail_msg("\"%s\" should carry no negation or policy cue", plain[i]);
    assert_true(one(lx, "thanks").flags & KV_TF_META);
    assert_true(one(lx, "passages").flags & KV_TF_REF);
    /* One token for a contraction, not "don" and "t". */
    kv_tokens t = {0};
    tok(lx, "We don't ship.", &t);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.v[1].start, 3);
    assert_int_equal(t.v[1].end, 8);
    kv_tokens_free(&t);
}

/*
 * Regression (found by this test, fixed in 2cb3c9b): contractions written with the typographic
 * apostrophe U+2019 (isn't, don't, can't as most chat models write them) are negations, like
 * their ASCII spellings; otherwise a negated claim written that way reads as positive.
 */
/* State names match their postal codes (records write "CA", answers "California"); "lack" is a
 * negation cue; "I" is the speaker; "Sure" and "luck" are conversation, not content. */
static void test_aliases_and_cues(void **state)
{
    kv_lexicon *lx = *state;
    same(lx, "California", "CA");
    same(lx, "texas", "TX");
    same(lx, "Washington", "wa");
    differ(lx, "California", "Nevada");
    differ(lx, "California", "co");
    assert_int_equal(one(lx, "California").kind, KV_TOK_WORD);
    assert_true(one(lx, "California").flags & KV_TF_CAP);
    assert_true(one(lx, "lacks").flags & KV_TF_NEG);
    assert_true(one(lx, "I").flags & KV_TF_SELF);
    assert_true(one(lx, "I'd").flags & KV_TF_SELF);
    assert_false(one(lx, "it").flags & KV_TF_SELF);
    assert_true(one(lx, "Sure").flags & KV_TF_META);
    assert_int_equal(one(lx, "luck").kind, KV_TOK_STOP);
    /* "does not provide WiFi" is about the business, not about the sources. */
    assert_false(one(lx, "provide").flags & KV_TF_REF);
    /* A label's number and a rating's scale are no quantities; a price is. */
    kv_tokens t = {0};
    tok(lx, "Step 6: rated 4.5 out of 5, it costs 6 dollars.", &t);
    size_t numbers = 0;
    for (size_t i = 0; i < t.n; i++)
        numbers += t.v[i].kind == KV_TOK_NUMBER;
    assert_int_equal(numbers, 2); /* 4.5 and the second 6 */
    assert_int_equal(t.v[1].kind, KV_TOK_STOP);
    kv_tokens_free(&t);
}

static void test_typographic_negation(void **state)
{
    kv_lexicon *lx = *state;
    assert_true(one(lx, "isn\xe2\x80\x99t").flags & KV_TF_NEG);
    assert_true(one(lx, "don\xe2\x80\x99t").flags & KV_TF_NEG);
    assert_true(one(lx, "can\xe2\x80\x99t").flags & KV_TF_NEG);
}

/* The stem cache only evicts: after thousands of other words, and in a fresh lexicon, a word
 * hashes as it did at first. */
static void test_cache_independence(void **state)
{
    kv_lexicon *lx = *state;
    static const char *const words[] = {"refunds",  "Shipping",  "\xc3\x89mile",
                                        "warranty", "delivered", "four",
                                        "1,000",    "Portland",  NULL};
    uint64_t first[16];
    for (size_t i = 0; words[i]; i++)
        first[i] = one(lx, words[i]).h;
    char w[32];
    kv_tokens t = {0};
    for (int i = 0; i < 70000; i++) {
        int n = snprintf(w, sizeof w, "w%xq%dings", i * 2654435761u, i);
        assert_int_equal(kv_tokenize(lx, w, (size_t)n, &t), KIVO_OK);
        t.n = 0;
    }
    kv_tokens_free(&t);
    kv_lexicon *fresh = NULL;
    assert_int_equal(kv_lexicon_create(&fresh), KIVO_OK);
    for (size_t i = 0; words[i]; i++) {
        assert_true(one(lx, words[i]).h == first[i]);
        assert_true(one(fresh, words[i]).h == first[i]);
    }
    kv_lexicon_free(fresh);
    kv_lexicon_free(NULL);
}

/* The stem cache holds a word's flags with its key (lexicon.c's cache_entry): a word read again
 * from the cache, after other words filled it and took its slot, carries what it did when it was
 * stemmed, and what a fresh lexicon gives it. */
static void test_cache_flags(void **state)
{
    kv_lexicon *lx = *state;
    static const struct {
        const char *w;
        uint8_t flag;
    } words[] = {{"refund", KV_TF_POLICY},
                 {"warranty", KV_TF_POLICY},
                 {"passages", KV_TF_REF},
                 {"context", KV_TF_REF},
                 {"step", KV_TF_LABEL},
                 {"option", KV_TF_LABEL},
                 {"lamp", 0},
                 {"delivery", 0}};
    const size_t n = sizeof words / sizeof words[0];
    kv_lexicon *fresh = NULL;
    assert_int_equal(kv_lexicon_create(&fresh), KIVO_OK);
    char w[32];
    kv_tokens t = {0};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            kv_token a = one(lx, words[i].w), b = one(lx, words[i].w), c = one(fresh, words[i].w);
            const uint8_t cues = KV_TF_POLICY | KV_TF_REF | KV_TF_LABEL;
            if ((a.flags & cues) != words[i].flag || (b.flags & cues) != words[i].flag ||
                a.flags != c.flags || a.h != b.h || a.h != c.h)
                fail_msg("round %d \"%s\": flags %#x, again %#x, fresh %#x, want cue %#x", round,
                         words[i].w, a.flags, b.flags, c.flags, words[i].flag);
        }
        /* Other words through every slot, so that these are stemmed again next round. */
        for (int i = 0; i < 70000; i++) {
            int len = snprintf(w, sizeof w, "r%dx%xes", round, i * 2246822519u);
            assert_int_equal(kv_tokenize(lx, w, (size_t)len, &t), KIVO_OK);
            t.n = 0;
        }
    }
    kv_tokens_free(&t);
    kv_lexicon_free(fresh);
}

/* Words across lengths and alignments: the ASCII fast path and the utf8proc path agree on where
 * tokens are, and the same word hashes alike wherever it sits. */
static void test_lengths_and_alignment(void **state)
{
    kv_lexicon *lx = *state;
    char text[400];
    uint64_t h = one(lx, "lamps").h, hu = one(lx, "\xc3\xa9mile").h;
    for (size_t pad = 0; pad < 130; pad++) {
        memset(text, ' ', pad);
        size_t k = pad;
        k += (size_t)snprintf(text + k, sizeof text - k, "lamps \xc3\x89mile");
        kv_tokens t = {0};
        assert_int_equal(kv_tokenize(lx, text, k, &t), KIVO_OK);
        assert_int_equal(t.n, 2);
        assert_int_equal(t.v[0].start, pad);
        assert_int_equal(t.v[0].end, pad + 5);
        assert_true(t.v[0].h == h);
        assert_int_equal(t.v[1].start, pad + 6);
        assert_int_equal(t.v[1].end, pad + 12);
        assert_true(t.v[1].h == hu);
        kv_tokens_free(&t);
    }
}

/* Two token lists are the same: count, offsets, kinds, flags, hashes and values (bit for bit). */
static void same_tokens(const kv_tokens *want, const kv_tokens *got, const char *what, int level)
{
    if (got->n != want->n)
        fail_msg("%s: path %d gave %zu tokens, the byte-by-byte scan %zu", what, level, got->n,
                 want->n);
    for (size_t k = 0; k < want->n; k++) {
        const kv_token *a = &want->v[k], *b = &got->v[k];
        if (a->h != b->h || a->start != b->start || a->end != b->end || a->kind != b->kind ||
            a->flags != b->flags || memcmp(&a->value, &b->value, sizeof a->value) != 0)
            fail_msg("%s: token %zu differs on path %d: [%u, %u) kind %d flags 0x%x, want "
                     "[%u, %u) kind %d flags 0x%x",
                     what, k, level, b->start, b->end, b->kind, b->flags, a->start, a->end, a->kind,
                     a->flags);
    }
}

/* kv_tokenize on every path of its byte classifier, and kv_tokenize itself, against the
 * byte-by-byte reference (kv_tokenize_at level -1). */
static void check_paths(kv_lexicon *lx, const char *text, size_t len, const char *what)
{
    kv_tokens want = {0}, got = {0};
    char *exact = malloc(len ? len : 1); /* exact length: ASan sees any read past the end */
    assert_non_null(exact);
    memcpy(exact, text, len);
    assert_int_equal(kv_tokenize_at(lx, -1, exact, len, &want), KIVO_OK);
    for (int level = KIVO_SCAN_SCALAR; level <= KIVO_SCAN_AVX512; level++) {
        got.n = 0;
        assert_int_equal(kv_tokenize_at(lx, level, exact, len, &got), KIVO_OK);
        same_tokens(&want, &got, what, level);
    }
    got.n = 0;
    assert_int_equal(kv_tokenize(lx, exact, len, &got), KIVO_OK);
    same_tokens(&want, &got, what, -2);
    kv_tokens_free(&want);
    kv_tokens_free(&got);
    free(exact);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    return test_xorshift(&rng);
}

/* Pieces of text that sit at the tokenizer's decisions: case, camelCase, digits with ',' and '.',
 * apostrophes (ASCII and typographic), non-ASCII letters, marks and punctuation, "pm", "out of",
 * ordinals, function words and cues. All valid UTF-8, as kv_tokenize requires. A piece split in
 * two literals ends a hex escape ("\xac" "20k": \xac20 would be one escape); the parentheses say to
 * clang's -Wstring-concatenation that the split is no missing comma. */
static const char *const pieces[] = {
    "a",
    "b",
    "z",
    "A",
    "Q",
    "Z",
    "e",
    "0",
    "1",
    "9",
    " ",
    " ",
    " ",
    "  ",
    "\n",
    "\t",
    ",",
    ".",
    "'",
    "-",
    "/",
    ":",
    "$",
    "%",
    "(",
    ")",
    "!",
    "?",
    ";",
    "\"",
    "_",
    "@",
    "`",
    "[",
    "{",
    "~",
    "\xe2\x80\x99",
    "\xc3\xa9",
    "\xc3\x89",
    "\xc3\x9f",
    "\xd0\x94",
    "\xe4\xb8\xad",
    "\xcc\x81",
    "\xe2\x80\x94",
    "\xc2\xa0",
    "\xf0\x9f\x98\x80",
    "\xc4\xb0",
    "\xe2\x85\xa0",
    "pm",
    "PM",
    "out of ",
    "1st",
    "2nd",
    "3rd",
    "4th",
    "1,000",
    "4.5",
    "1.2.3",
    "12,34,56",
    "don't",
    "isn\xe2\x80\x99t",
    "customer's",
    "Customer\xe2\x80\x99s",
    "camelCase",
    "USB",
    "X200",
    "24h",
    "step",
    "passage",
    "refund",
    "not",
    "four",
    "I'm",
    "CA",
    "california",
    "Sundays",
    "aB",
    "Ab",
    "abC",
    "0x1F",
    "1e5",
    "007",
    "3.14159265358979323846",
    "12345678901234567890",
    "9007199254740993",
    "0.1",
    "The",
    "THE",
    "MiXeD",
    "a'b",
    "1'a",
    /* Numbers in context (quantity.c) and spellings (spelling.c). */
    "March",
    "Mar.",
    "May",
    "5th",
    "of",
    "and",
    "2024-03-05",
    "2024",
    "-03",
    "-05",
    "\xe2\x80\x93",
    "p.m.",
    "a.m.",
    "p",
    "9am",
    "12PM",
    "7:30",
    ":00pm",
    "[1]",
    "[",
    "]",
    "^2",
    "\xe3\x80\x90",
    "\xe3\x80\x91",
    "million",
    "two hundred",
    "$1.5M",
    ("\xe2\x82\xac"
     "20k"),
    "\xc2\xa3",
    "3bn",
    "organise",
    "colour",
    "centred",
    "catalogue",
    "U.S.",
    "United",
    "Kingdom",
};

/* Random texts of those pieces, short and long (across the classifier's 4096-byte window). */
static void test_paths_random(void **state)
{
    kv_lexicon *lx = *state;
    const size_t n_pieces = sizeof pieces / sizeof pieces[0];
    char *text = malloc(20000);
    assert_non_null(text);
    for (int round = 0; round < 3000; round++) {
        const size_t want = round % 50 == 0 ? 9000 + next() % 9000 : next() % 400;
        size_t len = 0;
        while (len < want) {
            const char *p = pieces[next() % n_pieces];
            const size_t n = strlen(p);
            memcpy(text + len, p, n);
            len += n;
        }
        char what[64];
        snprintf(what, sizeof what, "random text %d", round);
        check_paths(lx, text, len, what);
    }
    free(text);
}

/* Long runs against the window's edge: a token of 1..70 letters or digits ending at, across or
 * just past 4096 bytes, after a prefix of every length mod 64; tokens longer than the window. */
static void test_paths_window_edges(void **state)
{
    kv_lexicon *lx = *state;
    static const char *const fills[] = {"ab", "Ab", "aB", "12", "1a", "A1", "AB"};
    static const char *const ends[] = {"",         " x", ",5", ".5", "'s", "\xe2\x80\x99s",
                                       "\xc3\xa9", "Cd", " 4"};
    const size_t cap = 3 * KV_WC_BYTES;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
        for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
            for (size_t tok = 1; tok <= 70; tok += 3) {
                for (size_t at = KV_WC_BYTES - 72; at <= KV_WC_BYTES + 2; at += 5) {
                    /* Words of 1..7 letters up to `at`, then the token, then the ending. */
                    size_t len = 0;
                    while (len < at) {
                        text[len++] = (char)('a' + next() % 26);
                        if (next() % 5 == 0)
                            text[len++] = ' ';
                    }
                    text[len++] = ' ';
                    for (size_t k = 0; k < tok; k++)
                        text[len++] = fills[f][k % 2];
                    memcpy(text + len, ends[e], strlen(ends[e]));
                    len += strlen(ends[e]);
                    char what[96];
                    snprintf(what, sizeof what, "fill %s end \"%s\" token %zu at %zu", fills[f],
                             ends[e], tok, at);
                    check_paths(lx, text, len, what);
                }
            }
        }
    }
    /* Single tokens (no camelCase break in them) of the window's size and around it, and one
     * over two windows. */
    const size_t sizes[] = {KV_WC_BYTES - 1, KV_WC_BYTES, KV_WC_BYTES + 1, 2 * KV_WC_BYTES + 7};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t lead = 0; lead < 3; lead++) {
            memset(text, ' ', lead);
            for (size_t k = 0; k < sizes[s]; k++)
                text[lead + k] = (char)(k % 7 == 3 ? '7' : 'a' + k % 26);
            check_paths(lx, text, lead + sizes[s], "window-sized token");
        }
    }
    free(text);
}

/* The queue of runs ahead of the tokenizer (64 runs a fill): a run that is no plain word ("1,000",
 * "don't", a run before a non-ASCII letter, a number, camelCase, a non-ASCII byte between runs)
 * as the 62nd to 66th token and the 126th to 130th, after words of 1-3 letters or capitals; and
 * texts of only such runs. */
static void test_paths_queue(void **state)
{
    kv_lexicon *lx = *state;
    static const char *const odd[] = {"1,000",
                                      "don't",
                                      "caf\xc3\xa9",
                                      "\xc3\xa9t\xc3\xa9",
                                      "42",
                                      "4th",
                                      "aB",
                                      "USB",
                                      "\xe2\x80\x94",
                                      ("a\xc2\xa0"
                                       "b"),
                                      "x'",
                                      "Mar.",
                                      "p",
                                      "May 5",
                                      "\xe4\xb8\xad",
                                      "customer's"};
    static const char *const words[] = {"a", "ab", "Abc", "IT", "of", "xyz"};
    char text[2048];
    for (size_t o = 0; o < sizeof odd / sizeof odd[0]; o++) {
        for (size_t at = 61; at <= 130; at++) {
            if (at > 66 && at < 125)
                continue;
            size_t len = 0;
            for (size_t t = 0; t < at + 6; t++) {
                const char *w = t == at || t == at + 2 ? odd[o] : words[next() % 6];
                memcpy(text + len, w, strlen(w));
                len += strlen(w);
                text[len++] = next() % 4 ? ' ' : '\n';
            }
            char what[64];
            snprintf(what, sizeof what, "queue: \"%s\" as token %zu", odd[o], at);
            check_paths(lx, text, len, what);
        }
        size_t len = 0;
        while (len + 16 < sizeof text) {
            memcpy(text + len, odd[o], strlen(odd[o]));
            len += strlen(odd[o]);
            if (next() % 2)
                text[len++] = ' ';
        }
        check_paths(lx, text, len, "queue: only odd runs");
    }
}

/* A number's value is what strtod() reads of its digits without the thousands commas, bit for
 * bit (the exact fast path and strtod() agree), at the edges of that path: 19 and 20 digits,
 * 2^53 and 2^53 + 1, 22 and 23 decimals, leading zeros; and on random numbers. */
static void check_number(kv_lexicon *lx, const char *text)
{
    char plain[128];
    size_t k = 0;
    for (const char *p = text; *p && k + 1 < sizeof plain; p++)
        if (*p != ',')
            plain[k++] = *p;
    plain[k] = '\0';
    const double want = strtod(plain, NULL);
    kv_token t = one(lx, text);
    if (t.kind != KV_TOK_NUMBER || memcmp(&t.value, &want, sizeof want) != 0)
        fail_msg("\"%s\": kind %d value %.17g, want a number %.17g", text, t.kind, t.value, want);
}

static void test_number_values(void **state)
{
    kv_lexicon *lx = *state;
    static const char *const edges[] = {"0",
                                        "7",
                                        "007",
                                        "0.5",
                                        "0.1",
                                        "0.3",
                                        "2.675",
                                        "1,000",
                                        "1,234,567.891",
                                        "9007199254740992",
                                        "9007199254740993",
                                        "9007199254740991.5",
                                        "18014398509481985",
                                        "1234567890123456789",
                                        "12345678901234567890",
                                        "99999999999999999999",
                                        "0.0000000000000000000001",
                                        "0.00000000000000000000001",
                                        "1.0000000000000000000001",
                                        "3.1415926535897932",
                                        "3.14159265358979323",
                                        "123456789.0123456789",
                                        "4.35",
                                        "1.015",
                                        "0.000001",
                                        "1,5",
                                        "22.22",
                                        "1.2.3"};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_number(lx, edges[i]);
    char text[64];
    for (int round = 0; round < 20000; round++) {
        size_t k = 0;
        const size_t whole = 1 + next() % 18, decimals = next() % 3 ? next() % 12 : 0;
        for (size_t d = 0; d < whole; d++) {
            if (d && next() % 7 == 0)
                text[k++] = ',';
            text[k++] = (char)('0' + next() % 10);
        }
        if (decimals) {
            text[k++] = '.';
            for (size_t d = 0; d < decimals; d++)
                text[k++] = (char)('0' + next() % 10);
        }
        text[k] = '\0';
        check_number(lx, text);
    }
}

/* kv_lexicon_initials_hash is kv_lexicon_word_hash through a small memo: every word of one to
 * three letters (far more than the memo's slots, so that they take each other's slots), read in
 * two orders, and longer words and function words ("us", "who") give the word's hash. */
static void test_initials_memo(void **state)
{
    kv_lexicon *lx = *state;
    kv_lexicon *fresh = NULL;
    assert_int_equal(kv_lexicon_create(&fresh), KIVO_OK);
    char w[4];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 26 + 26 * 26 + 26 * 26 * 26; i++) {
            int k = pass == 0 ? i : 26 + 26 * 26 + 26 * 26 * 26 - 1 - i;
            size_t n = k < 26 ? 1 : k < 26 + 26 * 26 ? 2 : 3;
            int v = k < 26 ? k : k < 26 + 26 * 26 ? k - 26 : k - 26 - 26 * 26;
            for (size_t j = 0; j < n; j++, v /= 26)
                w[j] = (char)('a' + v % 26);
            uint64_t want = kv_lexicon_word_hash(fresh, w, n);
            if (kv_lexicon_initials_hash(lx, w, n) != want)
                fail_msg("initials \"%.*s\" (pass %d) differ from the word", (int)n, w, pass);
        }
    }
    static const char *const words[] = {"us",       "who",       "un", "eu", "one",
                                        "abcdefgh", "abcdefghi", "uk", NULL};
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; words[i]; i++)
            assert_true(kv_lexicon_initials_hash(lx, words[i], strlen(words[i])) ==
                        kv_lexicon_word_hash(fresh, words[i], strlen(words[i])));
    kv_lexicon_free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_folding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stemming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aliases_and_cues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typographic_negation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_independence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lengths_and_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_window_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_number_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initials_memo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
