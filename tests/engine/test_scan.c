/*
 * test_scan.c - kivo_scan_find: every path (AVX-512BW, AVX2, scalar; a path the CPU lacks runs
 * the scalar one) gives the scalar answer on random input and on the inputs that break vector
 * code: a hit on each side of every block edge, bytes >= 0x80 (signed compares), NUL, no hit,
 * every byte a hit, lengths 0..300 at every alignment. Buffers are malloc'd at their exact
 * length so that AddressSanitizer sees any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_rng.h"

#include "kivo/scan.h"

static const kivo_scan_level levels[] = {KIVO_SCAN_SCALAR, KIVO_SCAN_AVX2, KIVO_SCAN_AVX512};

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    return test_xorshift(&rng);
}

/* The reference: the plain definition, written independently of scan.c. */
static size_t reference(const unsigned char *set, size_t n_set, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memchr(set, p[i], n_set))
            return i;
    return n;
}

static void check_all(const kivo_byteset *bs, const unsigned char *set, size_t n_set,
                      const unsigned char *p, size_t n)
{
    unsigned char *exact = malloc(n ? n : 1);
    assert_non_null(exact);
    memcpy(exact, p, n);
    size_t want = reference(set, n_set, exact, n);
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
        assert_int_equal(kivo_scan_find_at(levels[l], bs, exact, n), want);
    assert_int_equal(kivo_scan_find(bs, exact, n), want);
    free(exact);
}

static void test_set_init(void **state)
{
    (void)state;
    kivo_byteset s;
    kivo_byteset_init(&s, "..!!?", 5);
    assert_int_equal(s.n, 3); /* duplicates count once */
    assert_int_equal(kivo_scan_find(&s, "abc?", 4), 3);
    assert_int_equal(kivo_scan_find(&s, "", 0), 0);
    assert_int_equal(kivo_scan_find(&s, "abc", 3), 3);
    assert_non_null(kivo_scan_level_name(kivo_scan_level_used()));
    assert_string_equal(kivo_scan_level_name(KIVO_SCAN_SCALAR), "scalar");
}

static void test_block_edges(void **state)
{
    (void)state;
    static const unsigned char set[] = {'\n', '.', '!', '?', ';', 0xE2, 0x00, 0xFF};
    unsigned char buf[300];
    for (size_t n_set = 1; n_set <= sizeof set; n_set++) {
        kivo_byteset bs;
        kivo_byteset_init(&bs, set, n_set);
        for (size_t n = 0; n <= 200; n++) {
            memset(buf, 'a', sizeof buf);
            check_all(&bs, set, n_set, buf, n);                    /* no hit */
            for (size_t at = 0; at < n; at++) {                    /* one hit, anywhere */
                memset(buf, 0x80 | (unsigned char)(at & 0x3F), n); /* high bytes, none in set */
                for (size_t k = 0; k < n; k++)
                    if (memchr(set, buf[k], n_set))
                        buf[k] = 'z';
                buf[at] = set[at % n_set];
                check_all(&bs, set, n_set, buf, n);
                if (at + 1 < n) { /* and a later one after it */
                    buf[n - 1] = set[0];
                    check_all(&bs, set, n_set, buf, n);
                }
            }
            memset(buf, set[n_set - 1], n); /* every byte a hit */
            check_all(&bs, set, n_set, buf, n);
        }
    }
}

static void test_random(void **state)
{
    (void)state;
    unsigned char buf[300], set[KIVO_SCAN_SET_MAX];
    for (int round = 0; round < 20000; round++) {
        size_t n_set = 1 + next() % KIVO_SCAN_SET_MAX, n = next() % 300, off = next() % 64;
        for (size_t k = 0; k < n_set; k++)
            set[k] = (unsigned char)next();
        kivo_byteset bs;
        kivo_byteset_init(&bs, set, n_set);
        /* Sparse hits: mostly bytes drawn from a range that avoids most of the set. */
        int sparse = round & 1;
        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = sparse ? (unsigned char)(next() % 256)
                            : set[next() % n_set] ^ (unsigned char)(next() % 4 == 0);
        if (off + n > sizeof buf)
            off = sizeof buf - n;
        check_all(&bs, set, n_set, buf + off, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_init),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
