/*
 * test_wordclass.c - the tokenizer's byte classes (wordclass.c): every path (AVX-512BW, AVX2,
 * scalar; a path the CPU lacks runs the scalar one) gives the bitmaps and folded bytes of the C
 * library's <ctype.h> in the "C" locale, on every byte value, on every length 0..300 at every
 * alignment (each side of the 32- and 64-byte block edges), at the largest window, and on random
 * input; and writes nothing past the words and bytes it was asked for. Input buffers are
 * malloc'd at their exact length so that AddressSanitizer sees any read past the end.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_rng.h"

#include "wordclass_int.h"

static const kivo_scan_level levels[] = {KIVO_SCAN_SCALAR, KIVO_SCAN_AVX2, KIVO_SCAN_AVX512};

#define POISON 0xA5

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t next(void)
{
    return test_xorshift(&rng);
}

/* Checks fill against <ctype.h> for p[0, n), and that nothing past it was written. */
static void check_fill(kv_wordclass_fill_fn fill, const unsigned char *p, size_t n)
{
    kv_wordclass *wc = malloc(sizeof *wc);
    unsigned char *exact = malloc(n ? n : 1);
    assert_non_null(wc);
    assert_non_null(exact);
    memcpy(exact, p, n);
    memset(wc, POISON, sizeof *wc);
    fill(wc, exact, n);
    const size_t words = (n + 63) / 64;
    for (size_t w = 0; w < words; w++) {
        uint64_t alnum = 0, digit = 0, upper = 0, high = 0, inner = 0;
        for (size_t k = 0; k < 64 && w * 64 + k < n; k++) {
            const int c = exact[w * 64 + k];
            alnum |= (uint64_t)(isalnum(c) != 0) << k;
            digit |= (uint64_t)(isdigit(c) != 0) << k;
            upper |= (uint64_t)(isupper(c) != 0) << k;
            high |= (uint64_t)(c >= 128) << k;
            inner |= (uint64_t)(c == ',' || c == '.' || c == '\'') << k;
        }
        if (wc->alnum[w] != alnum || wc->digit[w] != digit || wc->upper[w] != upper ||
            wc->high[w] != high || wc->inner[w] != inner)
            fail_msg("n %zu word %zu: alnum %016llx/%016llx digit %016llx/%016llx upper "
                     "%016llx/%016llx high %016llx/%016llx inner %016llx/%016llx",
                     n, w, (unsigned long long)wc->alnum[w], (unsigned long long)alnum,
                     (unsigned long long)wc->digit[w], (unsigned long long)digit,
                     (unsigned long long)wc->upper[w], (unsigned long long)upper,
                     (unsigned long long)wc->high[w], (unsigned long long)high,
                     (unsigned long long)wc->inner[w], (unsigned long long)inner);
    }
    for (size_t k = 0; k < n; k++)
        if (wc->fold[k] != (unsigned char)tolower(exact[k]))
            fail_msg("n %zu byte %zu: folded 0x%02x, want 0x%02x", n, k, wc->fold[k],
                     tolower(exact[k]));
    /* Untouched: the words past the last one asked for, and the folded bytes past n. */
    const unsigned char *raw = (const unsigned char *)wc;
    for (size_t w = words; w < KV_WC_WORDS; w++) {
        const size_t offs[] = {offsetof(kv_wordclass, alnum), offsetof(kv_wordclass, digit),
                               offsetof(kv_wordclass, upper), offsetof(kv_wordclass, high),
                               offsetof(kv_wordclass, inner)};
        for (size_t m = 0; m < 5; m++)
            for (size_t b = 0; b < 8; b++)
                assert_int_equal(raw[offs[m] + w * 8 + b], POISON);
    }
    for (size_t k = n; k < KV_WC_BYTES; k++)
        assert_int_equal(wc->fold[k], POISON);
    free(exact);
    free(wc);
}

static void check_all(const unsigned char *p, size_t n)
{
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
        check_fill(kv_wordclass_fill_at(levels[l]), p, n);
    check_fill(kv_wordclass_fill(), p, n);
}

/* Every byte value at every position of a block: the range edges ('/', '0', '9', ':', '@', 'A',
 * 'Z', '[', '`', 'a', 'z', '{'), NUL, 0x7F, and bytes >= 0x80 (signed compares). */
static void test_every_byte(void **state)
{
    (void)state;
    unsigned char buf[256 + 64];
    for (size_t shift = 0; shift < 64; shift++) {
        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = (unsigned char)(k + shift);
        check_all(buf, sizeof buf);
        check_all(buf + shift, 256);
    }
}

/* Lengths 0..300 at every alignment: the tails of every path, and each side of every edge. */
static void test_lengths(void **state)
{
    (void)state;
    static const unsigned char edge[] = {'/', '0', '9',  ':',  '@',  'A',  'Z',  '[', '`',  'a',
                                         'z', '{', 0x00, 0x7F, 0x80, 0xE2, 0xFF, ' ', '\'', '.'};
    unsigned char buf[300 + 64];
    for (size_t k = 0; k < sizeof buf; k++)
        buf[k] = edge[next() % sizeof edge];
    for (size_t off = 0; off < 64; off++)
        for (size_t n = 0; n <= 300; n++)
            check_all(buf + off, n);
}

/* The largest window, and one byte short of it. */
static void test_full_window(void **state)
{
    (void)state;
    unsigned char *buf = malloc(KV_WC_BYTES);
    assert_non_null(buf);
    for (size_t k = 0; k < KV_WC_BYTES; k++)
        buf[k] = (unsigned char)next();
    check_all(buf, KV_WC_BYTES);
    check_all(buf + 1, KV_WC_BYTES - 1);
    memset(buf, 'Q', KV_WC_BYTES);
    check_all(buf, KV_WC_BYTES);
    free(buf);
}

static void test_random(void **state)
{
    (void)state;
    unsigned char buf[1024];
    for (int round = 0; round < 5000; round++) {
        const size_t n = next() % sizeof buf;
        /* Half the rounds: text-like bytes; the others: any byte. */
        for (size_t k = 0; k < n; k++)
            buf[k] = round & 1 ? (unsigned char)next() : (unsigned char)(' ' + next() % 95);
        check_all(buf, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_full_window),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
