/*
 * segment.c - splitting text into claim-sized spans: sentences, list items and lines.
 *
 * A sentence ends at '.', '!', '?' or ';' followed by white space (or the end), unless the word
 * before a '.' is a known abbreviation or a lone initial, or the next word starts in lower case
 * ("approx. five days"). Decimals (4.5) and URLs (example.com/a.b) never end one: no white space
 * follows their dots. A line break always ends a span; list markers ("- ", "* ", "1. ", "a) ",
 * "•") are trimmed from the start of a line, so a claim's offsets point at its own words.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cpu.h"
#include "grow_int.h"
#include "kivo/scan.h"
#include "text_int.h"

/* Each padded with NULs to 8 bytes, so that a word of up to 7 bytes is one 64-bit key (by_key
 * below). test_segment.c's test_abbreviation_table tries every entry. */
static const char abbreviations[][8] = {
    "a.m",  "al",  "approx", "apr",  "aug", "ave", "blvd", "cf",  "co",  "corp", "dec",
    "dept", "dr",  "e.g",    "ed",   "eds", "est", "etc",  "feb", "ft",  "gen",  "gov",
    "hr",   "hrs", "i.e",    "inc",  "jan", "jr",  "jul",  "jun", "ltd", "mar",  "max",
    "min",  "mr",  "mrs",    "ms",   "mt",  "nov", "oct",  "op",  "p.m", "prof", "rd",
    "rep",  "sen", "sep",    "sept", "sr",  "st",  "u.k",  "u.s", "vs"};

/* Abbreviations that stand before a number: "ca. 1850", "No. 5". */
static const char number_abbreviations[][8] = {"ca", "fig", "no", "nos", "pp", "vol"};

#define ABBREVIATION_SLOTS 128 /* a power of two, over twice the entries: short probes */

/* Both tables by key, open addressing (hash_slot): kind 1 for abbreviations, 2 for number
 * abbreviations, 0 for an empty slot. Built once (pthread_once) from the two lists above, which
 * stay the one place the words are written; one multiply and a probe or two replace the search
 * by halves (6 unpredictable branches a '.', 12% of kv_segment's time). */
static struct {
    uint64_t key[ABBREVIATION_SLOTS];
    uint8_t kind[ABBREVIATION_SLOTS];
    /* The last two bytes of every entry, folded (fold()): bit fold(b) of ends[fold(a)] for an
     * entry ending in a, b. A word whose last two bytes are not there is in neither table, and
     * most words before a '.' (a sentence's last) are not: it is then known without reading
     * the word. */
    uint64_t ends[64];
} by_key;
static pthread_once_t by_key_once = PTHREAD_ONCE_INIT;

static size_t hash_slot(uint64_t w)
{
    return (size_t)((w * 0x9E3779B97F4A7C15ULL) >> 57) & (ABBREVIATION_SLOTS - 1);
}

/* A byte in 6 bits, upper and lower case alike: letters to 1-26, the ASCII below '@' (digits,
 * punctuation) to 32-63, and other bytes to one of those. */
static unsigned fold(unsigned char c)
{
    return (c & 0x1Fu) | ((~c & 0x40u) >> 1);
}

static void add_words(const char (*list)[8], size_t n, uint8_t kind)
{
    for (size_t k = 0; k < n; k++) {
        const size_t len = strnlen(list[k], sizeof list[k]);
        if (len >= 2)
            by_key.ends[fold((unsigned char)list[k][len - 2])] |=
                1ULL << fold((unsigned char)list[k][len - 1]);
        uint64_t w;
        memcpy(&w, list[k], sizeof w);
        size_t i = hash_slot(w);
        while (by_key.kind[i] && by_key.key[i] != w)
            i = (i + 1) & (ABBREVIATION_SLOTS - 1);
        by_key.key[i] = w;
        by_key.kind[i] = kind;
    }
}

static void build_by_key(void)
{
    add_words(abbreviations, sizeof abbreviations / sizeof abbreviations[0], 1);
    add_words(number_abbreviations, sizeof number_abbreviations / sizeof number_abbreviations[0],
              2);
}

/* 1 when w (packed as the tables' entries, not 0) is an abbreviation, 2 a number abbreviation,
 * 0 neither. */
static int abbreviation_kind(uint64_t w)
{
    size_t i = hash_slot(w);
    while (by_key.kind[i]) {
        if (by_key.key[i] == w)
            return by_key.kind[i];
        i = (i + 1) & (ABBREVIATION_SLOTS - 1);
    }
    return 0;
}

/* The bytes segment.c reads by class, one bit each: a test of the table instead of a chain of
 * comparisons. */
enum {
    B_SPACE = 1, /* white space: ' ', '\t', '\r', '\n', '\f', '\v' */
    B_WORD = 2,  /* what a word before a '.' starts after: white space, '(' or '"' */
    B_CLOSE = 4  /* closing quotes and brackets, which stay with their sentence */
};
static const uint8_t byte_class[256] = {[' '] = B_SPACE | B_WORD,
                                        ['\t'] = B_SPACE | B_WORD,
                                        ['\r'] = B_SPACE | B_WORD,
                                        ['\n'] = B_SPACE | B_WORD,
                                        ['\f'] = B_SPACE | B_WORD,
                                        ['\v'] = B_SPACE | B_WORD,
                                        ['('] = B_WORD,
                                        ['"'] = B_WORD | B_CLOSE,
                                        ['\''] = B_CLOSE,
                                        [')'] = B_CLOSE,
                                        [']'] = B_CLOSE};

static int is_space(unsigned char c)
{
    return byte_class[c] & B_SPACE;
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
    /* Two bytes of a word before the dot that end no entry: no abbreviation. */
    if (dot - line_start >= 2) {
        const unsigned char a = t[dot - 2], b = t[dot - 1];
        if (!((byte_class[a] | byte_class[b]) & B_WORD) && !(by_key.ends[fold(a)] >> fold(b) & 1))
            return 0;
    }
    /* The word before the dot: a word of 8 bytes or more is no abbreviation, so the walk back
     * stops after 8 (n is then 8). */
    const size_t stop = dot - line_start > 8 ? dot - 8 : line_start;
    size_t w = dot;
    while (w > stop && !(byte_class[t[w - 1]] & B_WORD))
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
    int kind = abbreviation_kind(word);
    if (kind == 2) {
        /* "ca. 1850", "No. 5", "fig. 3": only before a number ("Santa Barbara, CA. The ..."). */
        size_t next = dot + 1;
        while (next < len && (t[next] == ' ' || t[next] == '\t'))
            next++;
        return next < len && t[next] >= '0' && t[next] <= '9';
    }
    return kind;
}

/* A byte that may end a sentence: '\n', '.', '!', '?' or ';'. */
static int may_end(unsigned char c)
{
    return c == '\n' || c == '.' || c == '!' || c == '?' || c == ';';
}

/* The bytes of block b (t[64 * b, 64 * b + 64), cut at len) that may end a sentence, one bit
 * each: the text is classified 64 bytes at a time (16 a step with SSE2, every x86-64; a whole
 * block with AVX2 or AVX-512BW below), and the loop of kv_segment walks the bits, instead of a
 * search started again after each candidate. */
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

#ifdef KV_CPU_X86
/* ends_of_block with AVX2, 32 bytes a step; a block cut by len goes to ends_of_block. */
__attribute__((target("avx2"))) static uint64_t ends_of_block_avx2(const unsigned char *t,
                                                                   size_t len, size_t b)
{
    const size_t base = b * 64;
    if (base + 64 > len)
        return ends_of_block(t, len, b);
    const __m256i nl = _mm256_set1_epi8('\n'), dot = _mm256_set1_epi8('.'),
                  bang = _mm256_set1_epi8('!'), ask = _mm256_set1_epi8('?'),
                  semi = _mm256_set1_epi8(';');
    uint64_t m = 0;
    for (size_t k = 0; k < 64; k += 32) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(t + base + k));
        const __m256i hit = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, nl), _mm256_cmpeq_epi8(v, dot)),
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, bang), _mm256_cmpeq_epi8(v, ask)),
                            _mm256_cmpeq_epi8(v, semi)));
        m |= (uint64_t)(uint32_t)_mm256_movemask_epi8(hit) << k;
    }
    return m;
}

/* ends_of_block with AVX-512BW, the block in one step; a block cut by len goes to ends_of_block. */
__attribute__((target("avx512f,avx512bw"))) static uint64_t
ends_of_block_avx512(const unsigned char *t, size_t len, size_t b)
{
    const size_t base = b * 64;
    if (base + 64 > len)
        return ends_of_block(t, len, b);
    const __m512i v = _mm512_loadu_si512((const void *)(t + base));
    return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.')) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('!')) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('?')) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(';'));
}
#endif

/* The classifier of a kivo_scan_level: the best this CPU runs, at most level. */
typedef uint64_t (*ends_fn)(const unsigned char *t, size_t len, size_t b);
static ends_fn ends_at(kivo_scan_level level)
{
#ifdef KV_CPU_X86
    if (level >= KIVO_SCAN_AVX512 && kv_cpu_has(KIVO_SCAN_AVX512))
        return ends_of_block_avx512;
    if (level >= KIVO_SCAN_AVX2 && kv_cpu_has(KIVO_SCAN_AVX2))
        return ends_of_block_avx2;
#else
    (void)level;
#endif
    return ends_of_block;
}

/* The first byte at or after i that may end a sentence, or len; *b and *m are the block last
 * classified (by ends) and its bits. */
static inline __attribute__((always_inline)) size_t
next_end(ends_fn ends, const unsigned char *t, size_t len, size_t i, size_t *b, uint64_t *m)
{
    if (i >= len)
        return len;
    if (i / 64 != *b) {
        *b = i / 64;
        *m = ends(t, len, *b);
    }
    uint64_t bits = *m & (~0ULL << (i % 64));
    while (!bits) {
        if ((*b + 1) * 64 >= len)
            return len;
        *m = bits = ends(t, len, ++*b);
    }
    return *b * 64 + (size_t)__builtin_ctzll(bits);
}

/* Trims [s, e) and, when at a line start, a list marker; pushes what remains. */
static inline __attribute__((always_inline)) kivo_status emit(kv_spans *out, const unsigned char *t,
                                                              size_t s, size_t e, int line_start)
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

/* kv_segment with the classifier ends. */
static kivo_status segment(ends_fn ends, const char *text, size_t len, kv_spans *out)
{
    pthread_once(&by_key_once, build_by_key);
    const unsigned char *t = (const unsigned char *)text;
    size_t start = 0, line_start = 0;
    int at_line_start = 1;
    kivo_status st = KIVO_OK;
    size_t block = SIZE_MAX; /* none classified yet */
    uint64_t bits = 0;
    for (size_t i = 0; i < len && st == KIVO_OK; i++) {
        /* Straight to the next byte that can end a sentence (vectorized). */
        i = next_end(ends, t, len, i, &block, &bits);
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
        while (e < len && (byte_class[t[e]] & B_CLOSE))
            e++;
        if (e < len && !is_space(t[e]))
            continue;
        if (c == '.') {
            /* A lower-case word right after means the sentence goes on (approx. five); so does
             * an abbreviation or an initial before. Either keeps it going: the cheap test first. */
            size_t n = e;
            while (n < len && t[n] == ' ')
                n++;
            if (n < len && t[n] >= 'a' && t[n] <= 'z')
                continue;
            if (abbreviation_before(t, len, line_start, i))
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

kivo_status kv_segment_at(int level, const char *text, size_t len, kv_spans *out)
{
    return segment(ends_at((kivo_scan_level)level), text, len, out);
}

kivo_status kv_segment(const char *text, size_t len, kv_spans *out)
{
    /* kivo_scan_level_used() is cached; the pick is a few compares. */
    return segment(ends_at(kivo_scan_level_used()), text, len, out);
}
