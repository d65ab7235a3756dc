/*
 * test_segment.c - claim segmentation (segment.c, kv_segment): sentence ends, abbreviations,
 * initials, decimals, URLs, list markers, line breaks, with exact byte offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/scan.h"
#include "test_rng.h"
#include "text_int.h"

typedef struct want {
    unsigned start;
    const char *text; /* the span's bytes; its end is start + strlen(text) */
} want;

/* Segments text and checks every span: count, offsets and bytes. */
static void check(const char *text, const want *w, size_t n)
{
    kv_spans s = {0};
    size_t len = strlen(text);
    assert_int_equal(kv_segment(text, len, &s), KIVO_OK);
    if (s.n != n) {
        for (size_t i = 0; i < s.n; i++)
            print_message("span %zu [%u,%u) \"%.*s\"\n", i, s.v[i].start, s.v[i].end,
                          (int)(s.v[i].end - s.v[i].start), text + s.v[i].start);
        fail_msg("\"%s\": %zu spans, want %zu", text, s.n, n);
    }
    for (size_t i = 0; i < n; i++) {
        size_t wl = strlen(w[i].text);
        if (s.v[i].start != w[i].start || s.v[i].end != w[i].start + wl)
            fail_msg("\"%s\" span %zu: [%u,%u) \"%.*s\", want [%u,%zu) \"%s\"", text, i,
                     s.v[i].start, s.v[i].end, (int)(s.v[i].end - s.v[i].start),
                     text + s.v[i].start, w[i].start, w[i].start + wl, w[i].text);
        assert_memory_equal(text + s.v[i].start, w[i].text, wl);
    }
    kv_spans_free(&s);
}

#define CHECK(text, ...)                           \
    do {                                           \
        const want w_[] = {__VA_ARGS__};           \
        check(text, w_, sizeof w_ / sizeof w_[0]); \
    } while (0)

static void check_none(const char *text)
{
    check(text, NULL, 0);
}

static void test_empty_and_tiny(void **state)
{
    (void)state;
    check_none("");
    check_none(" ");
    check_none(" \n\t\r\n  ");
    CHECK("x", {0, "x"});
    CHECK(" x ", {1, "x"});
    CHECK("Hi.", {0, "Hi."});
    /* A bullet marker alone is no claim. */
    check_none("- ");
    check_none("* \n- \n");
    /* A marker needs white space after it: alone on its line it is text. */
    CHECK("-", {0, "-"});
}

static void test_sentences(void **state)
{
    (void)state;
    CHECK("Refunds take 5 days. Shipping is free.", {0, "Refunds take 5 days."},
          {21, "Shipping is free."});
    CHECK("Is it free? Yes! It is; really.", {0, "Is it free?"}, {12, "Yes!"}, {17, "It is;"},
          {24, "really."});
    /* No white space after the stop: not an end. */
    CHECK("Version1.Two is out.", {0, "Version1.Two is out."});
    /* Closing quotes and brackets stay with their sentence. */
    CHECK("He said \"go.\" Then left.", {0, "He said \"go.\""}, {14, "Then left."});
    CHECK("It works (mostly.) Done.", {0, "It works (mostly.)"}, {19, "Done."});
    /* A lower-case word after a '.' continues the sentence. */
    CHECK("Ships in approx. five days. Ok.", {0, "Ships in approx. five days."}, {28, "Ok."});
    CHECK("Delivery in 3 wks. and more. End.", {0, "Delivery in 3 wks. and more."}, {29, "End."});
    /* Several spaces between sentences. */
    CHECK("One.   Two.", {0, "One."}, {7, "Two."});
}

static void test_abbreviations_and_initials(void **state)
{
    (void)state;
    CHECK("Dr. Smith approved it. He left.", {0, "Dr. Smith approved it."}, {23, "He left."});
    CHECK("Ask MR. Jones. Now.", {0, "Ask MR. Jones."}, {15, "Now."});
    CHECK("Use a hub, e.g. The Lumen Hub. It works.", {0, "Use a hub, e.g. The Lumen Hub."},
          {31, "It works."});
    CHECK("Bring ID, i.e. A passport. Thanks.", {0, "Bring ID, i.e. A passport."}, {27, "Thanks."});
    CHECK("J. K. Rowling wrote it. Yes.", {0, "J. K. Rowling wrote it."}, {24, "Yes."});
    CHECK("Open until 5 p.m. Monday to Friday. Closed Sun.",
          {0, "Open until 5 p.m. Monday to Friday."}, {36, "Closed Sun."});
    CHECK("Lamps, bulbs, etc. Are in stock. Ok.", {0, "Lamps, bulbs, etc. Are in stock."},
          {33, "Ok."});
    /* An abbreviation-looking word in brackets, and a word that only ends like one. */
    CHECK("See (Fig. 2) above. Done.", {0, "See (Fig. 2) above."}, {20, "Done."});
    CHECK("We ship to Oslo. Then Rome.", {0, "We ship to Oslo."}, {17, "Then Rome."});
}

/* "ca.", "No.", "fig." abbreviate only before a number; a state code ends its sentence. */
static void test_number_abbreviations(void **state)
{
    (void)state;
    CHECK("Located in Santa Barbara, CA. The patio is open.", {0, "Located in Santa Barbara, CA."},
          {30, "The patio is open."});
    CHECK("The bridge was built ca. 1850 by settlers.",
          {0, "The bridge was built ca. 1850 by settlers."});
    CHECK("See No. 5 for details. Then call.", {0, "See No. 5 for details."}, {23, "Then call."});
    CHECK("They said no. Then they left.", {0, "They said no."}, {14, "Then they left."});
    CHECK("As shown in fig. 3, it works.", {0, "As shown in fig. 3, it works."});
}

/* segment.c's abbreviations, written out again: test_abbreviation_table tries each, and the
 * reference segmenter below reads them. */
static const char *const plain[] = {
    "mr",  "mrs", "ms",  "dr",  "prof", "sr",     "jr",   "st",  "vs",  "etc", "e.g",
    "i.e", "inc", "ltd", "co",  "corp", "approx", "dept", "est", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep",  "sept",   "oct",  "nov", "dec", "u.s", "u.k",
    "a.m", "p.m", "mt",  "ft",  "ave",  "blvd",   "rd",   "gen", "gov", "sen", "rep",
    "cf",  "al",  "min", "max", "hr",   "hrs",    "op",   "ed",  "eds"};
static const char *const number[] = {"ca", "no", "nos", "pp", "fig", "vol"};

/* The abbreviation tables (compared as 64-bit words): each entry, in any case, keeps its
 * sentence going before a capital; a word one byte longer, or one with a NUL in it,
 * ends it ("mr\0." is not "mr."). */
static void test_abbreviation_table(void **state)
{
    (void)state;
    char text[64];
    kv_spans s = {0};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        for (int upper = 0; upper < 2; upper++) {
            int n = snprintf(text, sizeof text, "See %s. Then go.", plain[i]);
            for (int k = 4; upper && k < n - 10; k++)
                text[k] = (char)(text[k] >= 'a' && text[k] <= 'z' ? text[k] - 32 : text[k]);
            s.n = 0;
            assert_int_equal(kv_segment(text, (size_t)n, &s), KIVO_OK);
            if (s.n != 1)
                fail_msg("\"%s\": %zu spans, want 1", text, s.n);
        }
        /* One letter more ("mrx.") is no abbreviation. */
        int n = snprintf(text, sizeof text, "See %sx. Then go.", plain[i]);
        s.n = 0;
        assert_int_equal(kv_segment(text, (size_t)n, &s), KIVO_OK);
        assert_int_equal(s.n, 2);
    }
    for (size_t i = 0; i < sizeof number / sizeof number[0]; i++) {
        int n = snprintf(text, sizeof text, "See %s. 5 today.", number[i]);
        s.n = 0;
        assert_int_equal(kv_segment(text, (size_t)n, &s), KIVO_OK);
        assert_int_equal(s.n, 1);
        n = snprintf(text, sizeof text, "See %s. Then go.", number[i]);
        s.n = 0;
        assert_int_equal(kv_segment(text, (size_t)n, &s), KIVO_OK);
        assert_int_equal(s.n, 2);
    }
    static const char nul[] = "Ask mr\0. Then go.";
    s.n = 0;
    assert_int_equal(kv_segment(nul, sizeof nul - 1, &s), KIVO_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[0].end, 8);
    kv_spans_free(&s);
}

static void test_decimals_and_urls(void **state)
{
    (void)state;
    CHECK("It is rated 4.5 out of 5. Yes.", {0, "It is rated 4.5 out of 5."}, {26, "Yes."});
    CHECK("It costs $4.99. Express is $14.99.", {0, "It costs $4.99."}, {16, "Express is $14.99."});
    CHECK("Version 2.0.1 is out. Update.", {0, "Version 2.0.1 is out."}, {22, "Update."});
    CHECK("Visit https://example.com/a.b?x=1. Then go.", {0, "Visit https://example.com/a.b?x=1."},
          {35, "Then go."});
    CHECK("Mail help@lumen.example.com today. Thanks.", {0, "Mail help@lumen.example.com today."},
          {35, "Thanks."});
    CHECK("See www.lumen.example/faq.html for more",
          {0, "See www.lumen.example/faq.html for more"});
}

static void test_lists(void **state)
{
    (void)state;
    const char *t = "Covered:\n- Defects in materials\n* Workmanship\n+ Parts\n> Quoted\n";
    CHECK(t, {0, "Covered:"}, {11, "Defects in materials"}, {34, "Workmanship"}, {48, "Parts"},
          {56, "Quoted"});
    /* Numbered items. The '.' of "1." is taken for a sentence end before the marker is seen, so
     * "1." comes out as a span of its own (segment.c's header says the marker is trimmed); the
     * engine drops such spans as claims without words (kv_match_is_claim). The item text itself
     * must still come out exact. */
    {
        const char *t2 = "1. Go to Settings.\n2. Choose Privacy.\n10) Delete.";
        const want w2[] = {{3, "Go to Settings."}, {22, "Choose Privacy."}, {42, "Delete."}};
        kv_spans s = {0};
        size_t k = 0;
        assert_int_equal(kv_segment(t2, strlen(t2), &s), KIVO_OK);
        for (size_t i = 0; i < s.n; i++) {
            if (strspn(t2 + s.v[i].start, "0123456789.") >= s.v[i].end - s.v[i].start)
                continue; /* a bare "1." */
            assert_true(k < 3);
            assert_int_equal(s.v[i].start, w2[k].start);
            assert_int_equal(s.v[i].end, w2[k].start + strlen(w2[k].text));
            k++;
        }
        assert_int_equal(k, 3);
        kv_spans_free(&s);
    }
    CHECK("a) first\nB) second", {3, "first"}, {12, "second"});
    /* Unicode bullets: • (E2 80 A2), – (E2 80 93), · (C2 B7). */
    CHECK("\xe2\x80\xa2 One\n\xe2\x80\x93 Two\n\xc2\xb7 Three", {4, "One"}, {12, "Two"},
          {19, "Three"});
    /* Indented items; a marker without the space after it is text. */
    CHECK("  - Indented item\n-not a marker", {4, "Indented item"}, {18, "-not a marker"});
    /* A number that is a sentence's start, not a marker. */
    CHECK("30 days is the limit.", {0, "30 days is the limit."});
    CHECK("4.5 stars.", {0, "4.5 stars."});
    /* Two sentences in one item: the marker is trimmed from the first only. */
    CHECK("- First one. Second one.", {2, "First one."}, {13, "Second one."});
}

static void test_line_breaks(void **state)
{
    (void)state;
    CHECK("First line\nSecond line", {0, "First line"}, {11, "Second line"});
    CHECK("No stop here\n\nnext paragraph\n", {0, "No stop here"}, {14, "next paragraph"});
    CHECK("Windows line.\r\nNext one.\r\n", {0, "Windows line."}, {15, "Next one."});
    /* A break inside what would be one sentence still ends the span. */
    CHECK("Dr.\nSmith", {0, "Dr."}, {4, "Smith"});
    CHECK("Hi Zo\xc3\xab,\nYour refund is on its way.", {0, "Hi Zo\xc3\xab,"},
          {9, "Your refund is on its way."});
}

/* The same sentence pair at every length of padding around it: offsets move with the text. */
static void test_lengths(void **state)
{
    (void)state;
    char text[300];
    for (size_t pad = 0; pad < 140; pad++) {
        size_t k = 0;
        memset(text, ' ', pad);
        k = pad;
        k += (size_t)snprintf(text + k, sizeof text - k, "Dr. Lee ships 4.5 kg. Fine.");
        kv_spans s = {0};
        assert_int_equal(kv_segment(text, k, &s), KIVO_OK);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.v[0].start, pad);
        assert_int_equal(s.v[0].end, pad + 21);
        assert_int_equal(s.v[1].start, pad + 22);
        assert_int_equal(s.v[1].end, pad + 27);
        kv_spans_free(&s);
    }
}

/* Spans append to what is in the vector; every span is trimmed and inside the text. */
static void test_append_and_invariants(void **state)
{
    (void)state;
    const char *a = "One. Two.";
    const char *b = "- Three\n  Four.  ";
    kv_spans s = {0};
    assert_int_equal(kv_segment(a, strlen(a), &s), KIVO_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(kv_segment(b, strlen(b), &s), KIVO_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.v[2].start, 2);
    assert_int_equal(s.v[2].end, 7);
    assert_int_equal(s.v[3].start, 10);
    assert_int_equal(s.v[3].end, 15);
    kv_spans_free(&s);
    assert_null(s.v);
    assert_int_equal(s.n, 0);

    /* Many sentences: spans are ordered, disjoint, non-empty and trimmed. */
    char text[20000];
    size_t k = 0;
    for (int i = 0; i < 400; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%sItem %d costs $%d.%02d. ",
                              i % 10 == 0 ? "\n- " : "", i, i, i % 100);
    assert_int_equal(kv_segment(text, k, &s), KIVO_OK);
    assert_int_equal(s.n, 400);
    for (size_t i = 0; i < s.n; i++) {
        assert_true(s.v[i].start < s.v[i].end);
        assert_true(s.v[i].end <= k);
        if (i)
            assert_true(s.v[i - 1].end <= s.v[i].start);
        assert_int_equal(text[s.v[i].start], 'I');
        assert_int_equal(text[s.v[i].end - 1], '.');
    }
    kv_spans_free(&s);
}

/* The text is classified in blocks of 64 bytes (segment.c's ends_of_block): every sentence end,
 * list marker and line break is put at every place of a block, and at the blocks' seams, by
 * leading spaces (trimmed, so the spans only move by as many bytes). */
static void test_block_seams(void **state)
{
    (void)state;
    static const char body[] =
        "First one. Second one! Third?\nA list:\n- item one; item two\n1. Step one.\n"
        "Mr. Smith paid $4.50 at example.com/a.b today. No. 5 is next. ca. 1850 it was.\n"
        "J. K. Rowling wrote (it). \"Quoted.\" Then more...\n\nLast line without an end";
    char text[512];
    kv_spans ref = {0}, s = {0};
    assert_int_equal(kv_segment(body, sizeof body - 1, &ref), KIVO_OK);
    assert_true(ref.n >= 12);
    for (size_t pad = 1; pad <= 130; pad++) {
        memset(text, ' ', pad);
        memcpy(text + pad, body, sizeof body - 1);
        s.n = 0;
        assert_int_equal(kv_segment(text, pad + sizeof body - 1, &s), KIVO_OK);
        assert_int_equal(s.n, ref.n);
        for (size_t i = 0; i < s.n; i++) {
            assert_int_equal(s.v[i].start, ref.v[i].start + pad);
            assert_int_equal(s.v[i].end, ref.v[i].end + pad);
        }
        /* Cut at every length too: the last block is short. */
        for (size_t cut = pad; cut < pad + 80; cut++) {
            char *exact = malloc(cut); /* ASan: no byte past the text is read */
            assert_non_null(exact);
            memcpy(exact, text, cut);
            s.n = 0;
            assert_int_equal(kv_segment(exact, cut, &s), KIVO_OK);
            for (size_t i = 0; i < s.n; i++)
                assert_true(s.v[i].end <= cut);
            free(exact);
        }
    }
    kv_spans_free(&ref);
    kv_spans_free(&s);
}

/* The reference: kv_segment's rules as segment.c had them at 131f5fc, one byte at a time, the
 * abbreviations looked up one by one. Every path of kv_segment must give its spans. */
static int ref_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int ref_listed(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (strlen(list[k]) == n && memcmp(list[k], w, n) == 0)
            return 1;
    return 0;
}

static size_t ref_list_marker(const unsigned char *t, size_t i, size_t end)
{
    size_t j = i;
    if (j < end && (t[j] == '-' || t[j] == '*' || t[j] == '+' || t[j] == '>'))
        j++;
    else if (j + 2 < end && t[j] == 0xE2 && t[j + 1] == 0x80 &&
             (t[j + 2] == 0xA2 || t[j + 2] == 0x93))
        j += 3;
    else if (j + 1 < end && t[j] == 0xC2 && t[j + 1] == 0xB7)
        j += 2;
    else {
        size_t k = j;
        while (k < end && k - j < 3 && t[k] >= '0' && t[k] <= '9')
            k++;
        if (k == j && k < end && ((t[k] | 0x20) >= 'a' && (t[k] | 0x20) <= 'z') && k + 1 < end &&
            t[k + 1] == ')')
            k++;
        if (k > j && k < end && (t[k] == '.' || t[k] == ')'))
            j = k + 1;
        else
            return 0;
    }
    if (j < end && ref_space(t[j])) {
        while (j < end && ref_space(t[j]) && t[j] != '\n')
            j++;
        return j - i;
    }
    return 0;
}

static int ref_abbreviation(const unsigned char *t, size_t len, size_t line_start, size_t dot)
{
    size_t next = dot + 1;
    while (next < len && (t[next] == ' ' || t[next] == '\t'))
        next++;
    size_t w = dot;
    while (w > line_start && !ref_space(t[w - 1]) && t[w - 1] != '(' && t[w - 1] != '"')
        w--;
    size_t n = dot - w;
    if (n == 0)
        return 0;
    if (n == 1 && ((t[w] | 0x20) >= 'a' && (t[w] | 0x20) <= 'z'))
        return 1;
    if (n >= 8)
        return 0;
    char lw[8];
    for (size_t k = 0; k < n; k++) {
        if (t[w + k] == 0)
            return 0;
        lw[k] = (char)((t[w + k] >= 'A' && t[w + k] <= 'Z') ? t[w + k] | 0x20 : t[w + k]);
    }
    if (ref_listed(lw, n, number, sizeof number / sizeof number[0]))
        return next < len && t[next] >= '0' && t[next] <= '9';
    return ref_listed(lw, n, plain, sizeof plain / sizeof plain[0]);
}

static void ref_emit(kv_spans *out, const unsigned char *t, size_t s, size_t e, int line_start)
{
    while (s < e && ref_space(t[s]))
        s++;
    if (line_start)
        s += ref_list_marker(t, s, e);
    while (e > s && ref_space(t[e - 1]))
        e--;
    if (e > s) {
        out->v = realloc(out->v, (out->n + 1) * sizeof *out->v);
        assert_non_null(out->v);
        out->v[out->n].start = (uint32_t)s;
        out->v[out->n].end = (uint32_t)e;
        out->n++;
    }
}

static void ref_segment(const char *text, size_t len, kv_spans *out)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t start = 0, line_start = 0;
    int at_line_start = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = t[i];
        if (c == '\n') {
            ref_emit(out, t, start, i, at_line_start);
            start = line_start = i + 1;
            at_line_start = 1;
            continue;
        }
        if (c != '.' && c != '!' && c != '?' && c != ';')
            continue;
        size_t e = i + 1;
        while (e < len && (t[e] == '"' || t[e] == '\'' || t[e] == ')' || t[e] == ']'))
            e++;
        if (e < len && !ref_space(t[e]))
            continue;
        if (c == '.' && ref_abbreviation(t, len, line_start, i))
            continue;
        if (c == '.' || c == ';') {
            size_t n = e;
            while (n < len && t[n] == ' ')
                n++;
            if (n < len && t[n] >= 'a' && t[n] <= 'z' && c == '.')
                continue;
        }
        ref_emit(out, t, start, e, at_line_start);
        at_line_start = 0;
        start = e;
        i = e - 1;
    }
    if (start < len)
        ref_emit(out, t, start, len, at_line_start);
}

/* kv_segment on every path (kv_segment_at) and as dispatched, against ref_segment, on a copy of
 * exactly len bytes (ASan: no byte past the text is read). */
static void check_paths(const char *text, size_t len, uint64_t seed)
{
    char *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, text, len);
    kv_spans want = {0}, got = {0};
    ref_segment(exact, len, &want);
    for (int level = -1; level <= KIVO_SCAN_AVX512; level++) {
        got.n = 0;
        if (level < 0)
            assert_int_equal(kv_segment(exact, len, &got), KIVO_OK);
        else
            assert_int_equal(kv_segment_at(level, exact, len, &got), KIVO_OK);
        int same = got.n == want.n;
        for (size_t i = 0; same && i < got.n; i++)
            same = got.v[i].start == want.v[i].start && got.v[i].end == want.v[i].end;
        if (!same) {
            for (size_t i = 0; i < want.n || i < got.n; i++)
                print_message("span %zu: want [%u,%u) got [%u,%u)\n", i,
                              i < want.n ? want.v[i].start : 0, i < want.n ? want.v[i].end : 0,
                              i < got.n ? got.v[i].start : 0, i < got.n ? got.v[i].end : 0);
            fail_msg("seed %#llx, %zu bytes, level %d: %zu spans, the reference %zu",
                     (unsigned long long)seed, len, level, got.n, want.n);
        }
    }
    free(want.v);
    kv_spans_free(&got);
    free(exact);
}

/* Text made to sit at the segmenter's decisions: every abbreviation in both cases and cut short
 * or run on, initials, sentence ends with and without white space, closing quotes, list markers
 * (ASCII and UTF-8) at line starts and elsewhere, every kind of white space, NUL bytes, digits,
 * decimals, URLs, and bytes at random; long texts cross the 64-byte blocks. */
static void test_paths_against_reference(void **state)
{
    (void)state;
    static const char *const pieces[] = {".",
                                         ". ",
                                         "! ",
                                         "? ",
                                         "; ",
                                         ";",
                                         "!",
                                         "?",
                                         "\n",
                                         "\r\n",
                                         "\t",
                                         " ",
                                         "  ",
                                         "\f",
                                         "\v",
                                         "\"",
                                         "'",
                                         ")",
                                         "]",
                                         "(",
                                         ".\"",
                                         ".) ",
                                         "- ",
                                         "* ",
                                         "+ ",
                                         "> ",
                                         "1. ",
                                         "12) ",
                                         "a) ",
                                         "B) ",
                                         "1234. ",
                                         "\xE2\x80\xA2 ",
                                         "\xE2\x80\x93 ",
                                         "\xC2\xB7 ",
                                         "\xE2\x80",
                                         "\xC2",
                                         "4.5",
                                         "example.com/a.b",
                                         "J",
                                         "K",
                                         "x",
                                         "Rowling",
                                         "The",
                                         "the",
                                         "approximately",
                                         "Prices",
                                         "words",
                                         "eds",
                                         "ED",
                                         "mRs",
                                         "5",
                                         "1850",
                                         "a.m",
                                         "P.M",
                                         "U.S",
                                         "e.g",
                                         "i.e"};
    const size_t n_pieces = sizeof pieces / sizeof pieces[0];
    char text[4096];
    uint64_t rng = 0x5E6D3C2B1A09F8E7ULL;
    for (int round = 0; round < 6000; round++) {
        const uint64_t seed = rng;
        const size_t want_len = round % 50 == 0 ? 3000 : (size_t)(test_xorshift(&rng) % 300);
        size_t len = 0;
        while (len < want_len) {
            const uint64_t r = test_xorshift(&rng);
            const char *p;
            size_t n;
            char one[9];
            switch (r % 8) {
            case 0: /* an abbreviation, maybe in capitals, cut short or run on */
            case 1: {
                const uint64_t k = (r >> 8) % (sizeof plain / sizeof plain[0] + 6);
                const char *w = k < sizeof plain / sizeof plain[0]
                                    ? plain[k]
                                    : number[k - sizeof plain / sizeof plain[0]];
                n = strlen(w);
                memcpy(one, w, n);
                if ((r >> 16) & 1)
                    for (size_t q = 0; q < n; q++)
                        one[q] = (char)(one[q] >= 'a' && one[q] <= 'z' ? one[q] - 32 : one[q]);
                if (((r >> 17) & 3) == 0)
                    n--;
                else if (((r >> 17) & 3) == 1)
                    one[n++] = (char)('a' + (r >> 20) % 26);
                p = one;
                break;
            }
            case 2: /* a byte at random, NUL and non-ASCII included */
                one[0] = (char)(r >> 8);
                p = one;
                n = 1;
                break;
            default:
                p = pieces[(r >> 8) % n_pieces];
                n = strlen(p);
                break;
            }
            if (len + n > sizeof text)
                break;
            memcpy(text + len, p, n);
            len += n;
        }
        check_paths(text, len, seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_tiny),
        cmocka_unit_test(test_sentences),
        cmocka_unit_test(test_abbreviations_and_initials),
        cmocka_unit_test(test_number_abbreviations),
        cmocka_unit_test(test_abbreviation_table),
        cmocka_unit_test(test_decimals_and_urls),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_append_and_invariants),
        cmocka_unit_test(test_block_seams),
        cmocka_unit_test(test_paths_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
