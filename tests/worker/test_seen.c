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
    uint64_t big_line = (1ull << WK_SEEN_LINE_BITS) - 2;   /* all ones marks "unknown" */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_repeat),
        cmocka_unit_test(test_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
