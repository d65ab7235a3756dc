/*
 * test_sentmemo.c - the source index's sentence memo (sentmemo.c, index.c) changes nothing: an
 * engine with the memo, reused from packet to packet so that it hits, and an engine without it
 * (KIVO_ENGINE_MEMO=0) build the same index (sentences, postings in order) and render the same
 * report, byte for byte, for packets whose sources are built from hostile sentence edges (numbers,
 * "pm", months and days, citations, money, initials, list markers, "out of 5", ISO dates, scale
 * words) joined by hostile gaps, each sentence coming back in other contexts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_int.h"
#include "kivo/buf.h"
#include "kivo/report.h"
#include "kivo/review.h"
#include "kivo/wire.h"
#include "test_rng.h"

/* Sentences and pieces of sentences whose tokens read or change their neighbours'. */
static const char *const pieces[] = {
    "Orders placed before 4 p.m. Eastern Time ship the same day.",
    "The store opens at 9 am and closes at 5 pm.",
    "pm",
    "p.m. is when we close.",
    "p.",
    "m. later",
    "March 5 is the deadline.",
    "March",
    "Mar.",
    "5",
    "05",
    "5th of",
    "March 2024 was busy.",
    "The 2024-03-05 release fixed it.",
    "2024-03",
    "-05 was the day.",
    "See [1",
    "] for details.",
    "[2] says so.",
    "2, 3]",
    "1",
    "It costs $5.",
    "$5k",
    "5k",
    "$",
    "2bn",
    "€20 and £4.50 apply.",
    "U.S.",
    "U.",
    "S. buyers",
    "U.K. customers pay VAT.",
    "The U.S. office is in New York.",
    "1. First item",
    "a) Second item",
    "- Third item",
    "• Fourth item",
    "Rated 4.5 out of 5 by buyers.",
    "out of 5",
    "out of",
    "passage 2 says",
    "passage",
    "Step 6 is optional.",
    "Step",
    "1,000 units were sold.",
    "1,",
    "000 more.",
    "don",
    "'t worry.",
    "Two million people use it.",
    "million",
    "Most customers agree.",
    "All Vireo devices come with a 5-year warranty.",
    "Some items cannot be returned.",
    "Deletion becomes permanent after 21 days.",
    "It was not refunded.",
    "United Kingdom and European Union buyers.",
    "Bank of America",
    "2 pm",
    ":30 pm",
    "12:30",
    "Monday to Saturday from 9:00 to 17:00.",
    "Aug 18 and 19",
    "18-26",
    "April 18-26 is closed.",
    "three hundred thousand",
    "hundred",
    "The price is 10 and",
    "twenty",
    "5 March",
    "5th",
    "of March",
    "of",
    "9am",
    "6PM",
    "^1",
    "\xe3\x80\x90\x32\xe2\x80\xa0source\xe3\x80\x91", /* a bracketed citation, "2" in it */
    "Caf\xc3\xa9 cr\xc3\xa8me is served.",
    "\xef\xac\x81ve items",
    "J. K. Rowling wrote it.",
    "No. 5 is ready.",
    "ca. 1850 was old.",
    "Yes.",
    "No!",
    "Why?",
    "Sept",
    "June 3, 4 and 5",
    "The Fjord Plus plan costs $4.99 per month.",
    "Free parking for up to 48 hours is available.",
    "Invoices are emailed within 2 hours.",
};

/* What may stand between two pieces. */
static const char *const gaps[] = {
    " ",    "  ",   "\n",  "\n\n", " \n",   "\n ",  "\t",  "\n- ", "\n1. ", "\n\xe2\x80\xa2 ",
    " ]\n", "\n]",  " - ", ", ",   "-",     "",     ". ",  " [",   "\n(",   ") ",
    "; ",   "\r\n", " , ", " -\n", "\n*  ", " \t ", ":\n", "! ",   "? ",    "\n\n2) ",
};

#define N_PIECES (sizeof pieces / sizeof pieces[0])
#define N_GAPS (sizeof gaps / sizeof gaps[0])
#define MAX_TEXT 4096

/* Appends s to buf (of MAX_TEXT) at *n, as far as it fits. */
static void put(char *buf, size_t *n, const char *s)
{
    size_t l = strlen(s);
    if (*n + l >= MAX_TEXT)
        l = MAX_TEXT - 1 - *n;
    memcpy(buf + *n, s, l);
    *n += l;
    buf[*n] = '\0';
}

/* A text of up to max pieces drawn from the first `pool` pieces, joined by gaps. */
static size_t make_text(uint64_t *rng, char *buf, size_t max, size_t pool)
{
    size_t n = 0, k = 1 + test_xorshift(rng) % max;
    buf[0] = '\0';
    if (test_xorshift(rng) % 4 == 0)
        put(buf, &n, gaps[test_xorshift(rng) % N_GAPS]);
    for (size_t i = 0; i < k; i++) {
        if (i)
            put(buf, &n, gaps[test_xorshift(rng) % N_GAPS]);
        put(buf, &n, pieces[test_xorshift(rng) % pool]);
    }
    if (test_xorshift(rng) % 4 == 0)
        put(buf, &n, gaps[test_xorshift(rng) % N_GAPS]);
    return n;
}

static kivo_engine *make_engine(const char *memo)
{
    kivo_engine *e = NULL;
    assert_int_equal(setenv("KIVO_ENGINE_MEMO", memo, 1), 0);
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    assert_int_equal(unsetenv("KIVO_ENGINE_MEMO"), 0);
    return e;
}

/* The two engines' indexes of the last review: the same sentences, the same postings. */
static void same_index(const kivo_engine *a, const kivo_engine *b, const kivo_packet *p)
{
    int same = a->n_sents == b->n_sents && a->n_post == b->n_post;
    for (size_t i = 0; same && i < a->n_sents; i++) {
        const kv_sentence *x = &a->sents[i], *y = &b->sents[i];
        same = x->source == y->source && x->start == y->start && x->end == y->end &&
               x->negated == y->negated && x->has_number == y->has_number && x->lead == y->lead &&
               x->trail == y->trail;
    }
    for (size_t i = 0; same && i < a->n_post; i++)
        same = a->post[i].h == b->post[i].h && a->post[i].sent == b->post[i].sent;
    if (!same) {
        for (size_t s = 0; s < p->n_sources; s++)
            print_message("source %zu: [%.*s]\n", s, (int)p->sources[s].text_len,
                          p->sources[s].text);
        fail_msg("the index differs with the memo (%zu/%zu sentences, %zu/%zu postings)",
                 a->n_sents, b->n_sents, a->n_post, b->n_post);
    }
}

static void render(kivo_engine *e, const kivo_packet *p, kivo_buf *out)
{
    const kivo_review *rv = NULL;
    kivo_run_meta meta = {NULL, "run",   "workflow",    "worker",        "0",
                          NULL, "store", p->strictness, p->intended_use, NULL};
    out->len = 0;
    assert_int_equal(kivo_engine_review(e, p, &rv), KIVO_OK);
    assert_int_equal(kivo_report_render(p, rv, &meta, out), KIVO_OK);
}

/* Packets of 1-3 sources of up to 12 pieces each from a pool of `pool` pieces (a small pool:
 * the same sentences in many contexts), the output 1-4 pieces. */
static void differential(uint64_t seed, size_t packets, size_t pool)
{
    kivo_engine *on = make_engine("1"), *off = make_engine("0");
    assert_non_null(on->memo);
    assert_null(off->memo);
    static char texts[4][MAX_TEXT];
    kivo_buf ra, rb;
    kivo_buf_init(&ra, 1u << 24);
    kivo_buf_init(&rb, 1u << 24);
    uint64_t rng = seed;
    for (size_t i = 0; i < packets; i++) {
        kivo_source src[3];
        const size_t n_src = 1 + test_xorshift(&rng) % 3;
        for (size_t s = 0; s < n_src; s++) {
            size_t len = make_text(&rng, texts[s], 12, pool);
            src[s] = (kivo_source){"s", 1, NULL, 0, texts[s], len};
        }
        size_t out_len = make_text(&rng, texts[3], 4, pool);
        kivo_packet p = {texts[3], out_len, src, n_src, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
        render(on, &p, &ra);
        render(off, &p, &rb);
        same_index(on, off, &p);
        if (ra.len != rb.len || memcmp(ra.data, rb.data, ra.len) != 0)
            fail_msg("packet %zu: the report differs with the memo", i);
    }
    /* The memo was used: sentences were read from it alone, and it hit. */
    const kv_memo_stats *c = kv_sentmemo_counters(on->memo);
    print_message("seed %llu: %llu lookups, %llu hits, %llu spans read alone, %llu in runs\n",
                  (unsigned long long)seed, (unsigned long long)c->lookups,
                  (unsigned long long)c->hits, (unsigned long long)c->alone,
                  (unsigned long long)c->in_runs);
    assert_true(c->hits > packets / 2);
    assert_true(c->alone > packets / 2);
    assert_true(c->in_runs > packets / 2);
    kivo_buf_free(&ra);
    kivo_buf_free(&rb);
    kivo_engine_free(on);
    kivo_engine_free(off);
}

static void test_hostile_small_pool(void **state)
{
    (void)state;
    differential(0x9e3779b97f4a7c15ULL, 4000, 24);
}

static void test_hostile_all_pieces(void **state)
{
    (void)state;
    differential(0x2545f4914f6cdd1dULL, 6000, N_PIECES);
}

/* Pieces that read across a gap, each against the gap that lets it: the memo must not cut. */
static void test_reads_across(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "Prices are listed in [1 ]\nThe list is long.",   /* citation's walk into the gap */
        "See note 5 ]\nOrders ship daily.",               /* the same, no '[' needed before */
        "Open on the 5 March. Orders ship daily.",        /* a month after a day */
        "It closes at 5\nMarch deliveries are slow.",     /* not a date: a line between */
        "The offer ends 5 March deliveries are slow.",    /* one span */
        "Payment is due on 5 \nMarch invoices are sent.", /* a space and a line */
        "Our hours end at 5\npm is late for us.",         /* "pm" opens a rule: no cut */
        "Ships in 2\nmillion units sold.",                /* a scale word: no cut */
        "Chapter 3\n- 4 items are listed.",               /* a number after a list marker */
        "Ask at the U.\nS. desk for help.",               /* initials across a line */
        "Prices rose 1,\n000 times. Most agree.",         /* a number across a line */
    };
    kivo_engine *on = make_engine("1"), *off = make_engine("0");
    kivo_buf ra, rb;
    kivo_buf_init(&ra, 1u << 24);
    kivo_buf_init(&rb, 1u << 24);
    for (int round = 0; round < 2; round++) { /* the second round hits */
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            kivo_source src = {"s", 1, NULL, 0, cases[i], strlen(cases[i])};
            const char *out = "Most agree. Orders ship daily. 5 March.";
            kivo_packet p = {out, strlen(out), &src, 1, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
            render(on, &p, &ra);
            render(off, &p, &rb);
            same_index(on, off, &p);
            assert_memory_equal(ra.data, rb.data, ra.len < rb.len ? ra.len : rb.len);
            assert_int_equal(ra.len, rb.len);
        }
    }
    kivo_buf_free(&ra);
    kivo_buf_free(&rb);
    kivo_engine_free(on);
    kivo_engine_free(off);
}

/* Bytes for texts of any shape: whatever may start, continue or end a token or a rule. */
static const char *const soup[] = {
    "0",
    "1",
    "5",
    "9",
    " ",
    " ",
    " ",
    "\n",
    "\t",
    ",",
    ".",
    "-",
    "[",
    "]",
    "$",
    ":",
    "^",
    "'",
    "p",
    "P",
    "m",
    "am",
    "pm",
    "March",
    "Mar",
    "of",
    "out",
    "the",
    "A",
    "U",
    "S",
    "Most",
    "a",
    "million",
    "five",
    "step",
    "passage",
    "\xe2\x82\xac",
    "\xc2\xa3",
    "\xe2\x80\xa2",
    "\xe3\x80\x90",
    "\xc3\xa9",
    "\xef\xac\x81",
    "(",
    ")",
    "*",
    ";",
    "!",
    "th",
};

static int same_token(const kv_token *x, const kv_token *y, uint32_t shift)
{
    return x->h == y->h && x->start == y->start + shift && x->end == y->end + shift &&
           x->kind == y->kind && x->flags == y->flags && memcmp(&x->value, &y->value, 8) == 0;
}

/* 1 when text[0..a) and text[b..len), each tokenized alone (into left and right), give the
 * tokens whole holds for the whole text, offsets and all. */
static int cut_keeps_tokens(kv_lexicon *lx, const char *text, size_t len, size_t a, size_t b,
                            const kv_tokens *whole, kv_tokens *left, kv_tokens *right)
{
    left->n = right->n = 0;
    assert_int_equal(kv_tokenize(lx, text, a, left), KIVO_OK);
    assert_int_equal(kv_tokenize(lx, text + b, len - b, right), KIVO_OK);
    int same = left->n + right->n == whole->n;
    for (size_t k = 0; same && k < left->n; k++)
        same = same_token(&whole->v[k], &left->v[k], 0);
    for (size_t k = 0; same && k < right->n; k++)
        same = same_token(&whole->v[left->n + k], &right->v[k], (uint32_t)b);
    return same;
}

/* The rule itself, for any text and any gap (not only kv_segment's): when kv_index_cut allows a
 * cut at the gap text[a..b), the tokens of text[0..a) and of text[b..len) read apart are the
 * whole text's, and none lies in the gap. */
static void test_cut_rule(void **state)
{
    (void)state;
    kv_lexicon *lx = NULL;
    kv_tokens whole = {0}, left = {0}, right = {0}, lead = {0};
    static char text[MAX_TEXT];
    uint64_t rng = 0x853c49e6748fea9bULL;
    size_t cuts = 0, month_cuts = 0;
    assert_int_equal(kv_lexicon_create(&lx), KIVO_OK);
    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        text[0] = '\0';
        if (i % 2)
            len = make_text(&rng, text, 6, N_PIECES);
        else
            for (size_t k = 0, n = 4 + test_xorshift(&rng) % 40; k < n; k++)
                put(text, &len, soup[test_xorshift(&rng) % (sizeof soup / sizeof soup[0])]);
        whole.n = 0;
        assert_int_equal(kv_tokenize(lx, text, len, &whole), KIVO_OK);
        for (int c = 0; c < 24; c++) {
            size_t a = test_xorshift(&rng) % (len + 1), b = test_xorshift(&rng) % (len + 1);
            if (a > b) {
                size_t t = a;
                a = b;
                b = t;
            }
            if (c % 3 == 0) {
                a = 0;
            } else if (c % 3 == 1 && len > 0) {
                /* A gap that opens at a white space and runs over bytes that start no token. */
                size_t p = test_xorshift(&rng) % len;
                while (p < len && text[p] != ' ' && text[p] != '\n' && text[p] != '\t')
                    p++;
                a = p;
                b = p < len ? p + 1 : p;
                while (b < len && (unsigned char)text[b] < 0x80 &&
                       !((text[b] | 0x20) >= 'a' && (text[b] | 0x20) <= 'z') &&
                       !(text[b] >= '0' && text[b] <= '9') && test_xorshift(&rng) % 4)
                    b++;
            }
            if (b == a || (a > 0 && text[a] != ' ' && text[a] != '\n' && text[a] != '\t'))
                continue;
            lead.n = 0;
            assert_int_equal(kv_tokenize(lx, text + b, len - b, &lead), KIVO_OK);
            const uint8_t lf = kv_index_lead(text + b, &lead);
            if (!kv_index_cut(text, len, a, b, lf))
                continue;
            cuts++;
            month_cuts += (lf & KV_MEMO_MONTH) != 0;
            if (!cut_keeps_tokens(lx, text, len, a, b, &whole, &left, &right))
                fail_msg("cut [%zu, %zu) of [%.*s] changes its tokens", a, b, (int)len, text);
        }
    }
    /* Gaps random texts seldom make: at `at`, `gap` bytes long. */
    static const struct {
        const char *text, *at;
        size_t gap;
    } edges[] = {
        {"See [1  ] now then", " ]", 1},           /* a citation's walk over the span's last ' ' */
        {"On 2024-03-05-\nMost agree.", "-\n", 2}, /* a date's '-' after it: not a date */
        {"At 5  March sales end.", "  M", 2},      /* "5  March": a date */
        {"Ends at 5 p.\nMost agree.", "\nM", 1},   /* "p." then no 'm' */
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        const char *t = edges[i].text;
        const size_t len = strlen(t), a = (size_t)(strstr(t, edges[i].at) - t),
                     b = a + edges[i].gap;
        whole.n = lead.n = left.n = right.n = 0;
        assert_int_equal(kv_tokenize(lx, t, len, &whole), KIVO_OK);
        assert_int_equal(kv_tokenize(lx, t + b, len - b, &lead), KIVO_OK);
        if (!kv_index_cut(t, len, a, b, kv_index_lead(t + b, &lead)))
            continue;
        if (!cut_keeps_tokens(lx, t, len, a, b, &whole, &left, &right))
            fail_msg("cut [%zu, %zu) of [%s] changes its tokens", a, b, t);
    }
    print_message("%zu cuts checked, %zu of them before a month-like word\n", cuts, month_cuts);
    assert_true(cuts > 20000);
    assert_true(month_cuts > 1000);
    kv_tokens_free(&whole);
    kv_tokens_free(&left);
    kv_tokens_free(&right);
    kv_tokens_free(&lead);
    kv_lexicon_free(lx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_rule),
        cmocka_unit_test(test_reads_across),
        cmocka_unit_test(test_hostile_small_pool),
        cmocka_unit_test(test_hostile_all_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
