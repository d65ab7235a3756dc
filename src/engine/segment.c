/*
 * segment.c - splitting text into claim-sized spans: sentences, list items and lines.
 *
 * A sentence ends at '.', '!', '?' or ';' followed by white space (or the end), unless the word
 * before a '.' is a known abbreviation or a lone initial, or the next word starts in lower case
 * ("approx. five days"). Decimals (4.5) and URLs (example.com/a.b) never end one: no white space
 * follows their dots. A line break always ends a span; list markers ("- ", "* ", "1. ", "a) ",
 * "•") are trimmed from the start of a line, so a claim's offsets point at its own words.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "grow_int.h"
#include "text_int.h"

/* Each padded with NULs to 8 bytes, so that a word of up to 7 bytes is one 64-bit comparison;
 * in byte order (alphabetical, '.' first), which is the order of the words read big-endian, so
 * that in_list() searches by halves (the 53 comparisons of a scan were 1.3% of the instructions
 * of a review). test_segment.c's test_abbreviation_table tries every entry. */
static const char abbreviations[][8] = {
    "a.m",  "al",  "approx", "apr",  "aug", "ave", "blvd", "cf",  "co",  "corp", "dec",
    "dept", "dr",  "e.g",    "ed",   "eds", "est", "etc",  "feb", "ft",  "gen",  "gov",
    "hr",   "hrs", "i.e",    "inc",  "jan", "jr",  "jul",  "jun", "ltd", "mar",  "max",
    "min",  "mr",  "mrs",    "ms",   "mt",  "nov", "oct",  "op",  "p.m", "prof", "rd",
    "rep",  "sen", "sep",    "sept", "sr",  "st",  "u.k",  "u.s", "vs"};

/* Abbreviations that stand before a number: "ca. 1850", "No. 5". In byte order too. */
static const char number_abbreviations[][8] = {"ca", "fig", "no", "nos", "pp", "vol"};

/* The packed word w (as the tables' entries) read big-endian: byte order is number order. */
static uint64_t word_order(uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(w);
#else
    return w;
#endif
}

/* 1 when the word packed in w (as the tables' entries) is one of list[0..n), which is in byte
 * order. */
static int in_list(uint64_t w, const char (*list)[8], size_t n)
{
    const uint64_t key = word_order(w);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        uint64_t e;
        memcpy(&e, list[mid], sizeof e);
        const uint64_t v = word_order(e);
        if (v == key)
            return 1;
        if (v < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static kivo_status push(kv_spans *s, size_t start, size_t end)
{
    kivo_status st = kv_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v, 64);
    if (st != KIVO_OK)
        return st;
    s->v[s->n].start = (uint32_t)start;
    s->v[s->n].end = (uint32_t)end;
    s->n++;
    return KIVO_OK;
}

void kv_spans_free(kv_spans *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* Length of a list marker at t[i..end), including the white space after it; 0 if none. */
static size_t list_marker(const unsigned char *t, size_t i, size_t end)
{
    size_t j = i;
    if (j < end && (t[j] == '-' || t[j] == '*' || t[j] == '+' || t[j] == '>'))
        j++;
    else if (j + 2 < end && t[j] == 0xE2 && t[j + 1] == 0x80 &&
             (t[j + 2] == 0xA2 || t[j + 2] == 0x93))
        j += 3; /* • and – */
    else if (j + 1 < end && t[j] == 0xC2 && t[j + 1] == 0xB7)
        j += 2; /* · */
    else {
        size_t k = j;
        while (k < end && k - j < 3 && t[k] >= '0' && t[k] <= '9')
            k++;
        if (k == j && k < end && ((t[k] | 0x20) >= 'a' && (t[k] | 0x20) <= 'z') && k + 1 < end &&
            t[k + 1] == ')')
            k++; /* a) */
        if (k > j && k < end && (t[k] == '.' || t[k] == ')'))
            j = k + 1;
        else
            return 0;
    }
    if (j < end && is_space(t[j])) {
        while (j < end && is_space(t[j]) && t[j] != '\n')
            j++;
        return j - i;
    }
    return 0;
}

/* 1 when the '.' at t[dot] closes an abbreviation or an initial, so it does not end a sentence. */
static int abbreviation_before(const unsigned char *t, size_t len, size_t line_start, size_t dot)
{
    size_t next = dot + 1;
    while (next < len && (t[next] == ' ' || t[next] == '\t'))
        next++;
    size_t w = dot;
    while (w > line_start && !is_space(t[w - 1]) && t[w - 1] != '(' && t[w - 1] != '"')
        w--;
    size_t n = dot - w;
    if (n == 0)
        return 0;
    if (n == 1 && ((t[w] | 0x20) >= 'a' && (t[w] | 0x20) <= 'z'))
        return 1; /* J. K. Rowling */
    char lw[8] = {0};
    if (n >= sizeof lw)
        return 0;

    for (size_t k = 0; k < n; k++) {
        if (t[w + k] == 0)
            return 0; /* no abbreviation holds a NUL; the padding would match a shorter one */
        lw[k] = (char)((t[w + k] >= 'A' && t[w + k] <= 'Z') ? t[w + k] | 0x20 : t[w + k]);
    }
    uint64_t word;
    memcpy(&word, lw, sizeof word);
    /* "ca. 1850", "No. 5", "fig. 3": only before a number ("Santa Barbara, CA. The ..."). */
    int number_next = next < len && t[next] >= '0' && t[next] <= '9';
    if (in_list(word, number_abbreviations,
                sizeof number_abbreviations / sizeof number_abbreviations[0]))
        return number_next;
    return in_list(word, abbreviations, sizeof abbreviations / sizeof abbreviations[0]);
}

/* A byte that may end a sentence: '\n', '.', '!', '?' or ';'. */
static int may_end(unsigned char c)
{
    return c == '\n' || c == '.' || c == '!' || c == '?' || c == ';';
}

/* The bytes of block b (t[64 * b, 64 * b + 64), cut at len) that may end a sentence, one bit
 * each: the text is classified 64 bytes at a time (16 a step with SSE2, every x86-64), and the
 * loop of kv_segment walks the bits, instead of a search started again after each candidate. */
static uint64_t ends_of_block(const unsigned char *t, size_t len, size_t b)
{
    const size_t base = b * 64;
    uint64_t m = 0;
    size_t k = 0;
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n'), dot = _mm_set1_epi8('.'), bang = _mm_set1_epi8('!'),
                  ask = _mm_set1_epi8('?'), semi = _mm_set1_epi8(';');
    for (; k < 64 && base + k + 16 <= len; k += 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + base + k));
        const __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, dot)),
                         _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, bang), _mm_cmpeq_epi8(v, ask)),
                                      _mm_cmpeq_epi8(v, semi)));
        m |= (uint64_t)(unsigned)_mm_movemask_epi8(hit) << k;
    }
#endif
    for (; k < 64 && base + k < len; k++)
        m |= (uint64_t)may_end(t[base + k]) << k;
    return m;
}

/* The first byte at or after i that may end a sentence, or len; *b and *m are the block last
 * classified (ends_of_block) and its bits. */
static size_t next_end(const unsigned char *t, size_t len, size_t i, size_t *b, uint64_t *m)
{
    if (i >= len)
        return len;
    if (i / 64 != *b) {
        *b = i / 64;
        *m = ends_of_block(t, len, *b);
    }
    uint64_t bits = *m & (~0ULL << (i % 64));
    while (!bits) {
        if ((*b + 1) * 64 >= len)
            return len;
        *m = bits = ends_of_block(t, len, ++*b);
    }
    return *b * 64 + (size_t)__builtin_ctzll(bits);
}

/* Trims [s, e) and, when at a line start, a list marker; pushes what remains. */
static kivo_status emit(kv_spans *out, const unsigned char *t, size_t s, size_t e, int line_start)
{
    while (s < e && is_space(t[s]))
        s++;
    if (line_start) {
        size_t m = list_marker(t, s, e);
        s += m;
    }
    while (e > s && is_space(t[e - 1]))
        e--;
    if (e > s)
        return push(out, s, e);
    return KIVO_OK;
}

kivo_status kv_segment(const char *text, size_t len, kv_spans *out)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t start = 0, line_start = 0;
    int at_line_start = 1;
    kivo_status st = KIVO_OK;
    size_t block = SIZE_MAX; /* none classified yet */
    uint64_t bits = 0;
    for (size_t i = 0; i < len && st == KIVO_OK; i++) {
        /* Straight to the next byte that can end a sentence (vectorized). */
        i = next_end(t, len, i, &block, &bits);
        if (i >= len)
            break;
        unsigned char c = t[i];
        if (c == '\n') {
            st = emit(out, t, start, i, at_line_start);
            start = line_start = i + 1;
            at_line_start = 1;
            continue;
        }
        /* Closing quotes and brackets stay with their sentence. */
        size_t e = i + 1;
        while (e < len && (t[e] == '"' || t[e] == '\'' || t[e] == ')' || t[e] == ']'))
            e++;
        if (e < len && !is_space(t[e]))
            continue;
        if (c == '.' && abbreviation_before(t, len, line_start, i))
            continue;
        if (c == '.' || c == ';') {
            /* A lower-case word right after means the sentence goes on (approx. five). */
            size_t n = e;
            while (n < len && t[n] == ' ')
                n++;
            if (n < len && t[n] >= 'a' && t[n] <= 'z' && c == '.')
                continue;
        }
        st = emit(out, t, start, e, at_line_start);
        at_line_start = 0;
        start = e;
        i = e - 1;
    }
    if (st == KIVO_OK && start < len)
        st = emit(out, t, start, len, at_line_start);
    return st;
}
