/*
 * test_seen.c - the set of run ids a job has seen (seen.c): first sight adds, the second sight
 * says where the first was (or that it was too far to pack), and growing the table loses nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "seen.h"

/* The file and line an entry was first seen at. */
static void where(const wk_seen_entry *e, uint32_t *file, uint64_t *line)
{
    assert_non_null(e);
    assert_true(wk_seen_where(e, file, line));
}

static void test_add_and_repeat(void **state)
{
    (void)state;
    wk_seen *s = NULL;
    const wk_seen_entry *first = (const wk_seen_entry *)1;
    assert_int_equal(wk_seen_create(&s), 0);
    assert_int_equal(wk_seen_add(s, "sup-1", 0, 1, &first), 0);
    assert_null(first);
    assert_int_equal(wk_seen_add(s, "sup-2", 0, 2, &first), 0);
    assert_null(first);
    uint32_t f;
    uint64_t l;
    assert_int_equal(wk_seen_add(s, "sup-1", 2, 40, &first), 0);
    where(first, &f, &l);
    assert_int_equal(f, 0);
    assert_int_equal(l, 1);
    /* A third time still points at the first. */
    assert_int_equal(wk_seen_add(s, "sup-1", 3, 50, &first), 0);
    where(first, &f, &l);
    assert_int_equal(l, 1);
    /* Ids are exact: case, prefixes and empty strings are different ids. */
    static const char *const others[] = {"SUP-1", "sup-", "sup-10", "", " sup-1", NULL};
    for (size_t i = 0; others[i]; i++) {
        assert_int_equal(wk_seen_add(s, others[i], 1, 100 + i, &first), 0);
        if (first)
            fail_msg("\"%s\" taken for a repeat", others[i]);
    }
    assert_int_equal(wk_seen_add(s, "", 1, 999, &first), 0);
    where(first, &f, &l);
    assert_int_equal(l, 100 + 3);
    /* The largest file index and line that pack; one more is still a repeat, of unknown place. */
    uint32_t big_file = (1u << (64 - WK_SEEN_LINE_BITS)) - 1;
    uint64_t big_line = (1ull << WK_SEEN_LINE_BITS) - 2; /* all ones marks "unknown" */
    assert_int_equal(wk_seen_add(s, "big", big_file, big_line, &first), 0);
    assert_int_equal(wk_seen_add(s, "big", 0, 1, &first), 0);
    where(first, &f, &l);
    assert_int_equal(f, big_file);
    assert_true(l == big_line);
    assert_int_equal(wk_seen_add(s, "huge", big_file + 1, 7, &first), 0);
    assert_int_equal(wk_seen_add(s, "longest", 1, big_line + 2, &first), 0);
    assert_int_equal(wk_seen_add(s, "huge", 0, 1, &first), 0);
    assert_non_null(first);
    assert_false(wk_seen_where(first, &f, &l));
    assert_int_equal(wk_seen_add(s, "longest", 0, 1, &first), 0);
    assert_non_null(first);
    assert_false(wk_seen_where(first, &f, &l));
    wk_seen_free(s);
    wk_seen_free(NULL);
}

static void test_growth(void **state)
{
    (void)state;
    wk_seen *s = NULL;
    const wk_seen_entry *first;
    char id[32];
    enum { N = 20000 };
    assert_int_equal(wk_seen_create(&s), 0);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(id, sizeof id, "run-%u", i);
        assert_int_equal(wk_seen_add(s, id, i % 7, (uint64_t)i + 1, &first), 0);
        if (first)
            fail_msg("run-%u taken for a repeat", i);
    }
    /* Every id again, after many doublings: each one found, with where it was first. */
    for (uint32_t i = 0; i < N; i++) {
        snprintf(id, sizeof id, "run-%u", i);
        uint32_t f;
        uint64_t l;
        assert_int_equal(wk_seen_add(s, id, 9, 0, &first), 0);
        where(first, &f, &l);
        assert_int_equal(f, i % 7);
        assert_true(l == (uint64_t)i + 1);
    }
    wk_seen_free(s);
}

/* Adds id as the batch does (wk_seen_add, then wk_seen_case for a new one); returns the line
 * of the id it differs from only in case, 0 for none. */
static uint64_t add_case(wk_seen *s, const char *id, uint64_t line)
{
    const wk_seen_entry *first = NULL, *other = NULL;
    uint32_t f;
    uint64_t l = 0;
    assert_int_equal(wk_seen_add(s, id, 0, line, &first), 0);
    assert_null(first);
    assert_int_equal(wk_seen_case(s, id, 0, line, &other), 0);
    if (other)
        where(other, &f, &l);
    return other ? l : 0;
}

static void test_case_collisions(void **state)
{
    (void)state;
    wk_seen *s;
    char id[600];
    assert_int_equal(wk_seen_create(&s), 0);
    assert_int_equal(add_case(s, "Run1", 1), 0);
    assert_int_equal(add_case(s, "run1", 2), 1); /* small after capitals */
    assert_int_equal(add_case(s, "RUN1", 3), 2); /* the one in small letters first */
    assert_int_equal(add_case(s, "abc", 4), 0);
    assert_int_equal(add_case(s, "aBc", 5), 4); /* capitals after small */
    assert_int_equal(add_case(s, "abd", 6), 0);
    assert_int_equal(add_case(s, "XyZ", 15), 0);
    assert_int_equal(add_case(s, "xYz", 16), 15);   /* capitals after capitals */
    assert_int_equal(add_case(s, "a-b_c.9", 7), 0); /* no letters to fold apart */
    assert_int_equal(add_case(s, "A-B_C.9", 8), 7);
    /* Only ASCII letters fold: 0xC3 0x89 (É) and 0xC3 0xA9 (é) are other bytes. */
    assert_int_equal(add_case(s, "\xc3\x89t\xc3\xa9", 9), 0);
    assert_int_equal(add_case(s, "\xc3\xa9t\xc3\xa9", 10), 0);
    assert_int_equal(add_case(s, "@[`{", 11), 0); /* the bytes around A-Z and a-z */
    assert_int_equal(add_case(s, "`{@[", 12), 0);
    /* Long ids fold through a heap buffer. */
    memset(id, 'Q', 599);
    id[599] = '\0';
    assert_int_equal(add_case(s, id, 13), 0);
    memset(id, 'q', 599);
    assert_int_equal(add_case(s, id, 14), 13);
    /* Many ids with capitals grow the folded table; none collide. */
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "Big-%d", i);
        assert_int_equal(add_case(s, id, 100 + (uint64_t)i), 0);
    }
    assert_int_equal(add_case(s, "big-4999", 6000), 100 + 4999);
    wk_seen_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_repeat),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_case_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
