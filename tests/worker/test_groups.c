/*
 * test_groups.c - --group-by value dictionaries (groups.c): parsing the list, a slot per value,
 * "no value" as a value of its own, the bound of WK_GROUP_MAX_VALUES and the "other" slot, and
 * the order values are listed in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "groups.h"

static void test_parse(void **state)
{
    (void)state;
    wk_groups *g;
    char err[512];
    assert_int_equal(wk_groups_create("model,split", NULL, &g, err, sizeof err), 0);
    assert_int_equal(wk_groups_fields(g), 2);
    assert_string_equal(wk_groups_name(g, 1), "split");
    wk_groups_free(g);
    static const char *const bad[] = {"",     ",",   "a,",  ",a",
                                      "a,,b", "a b", "a,a", "a,b,c,d,e,f,g,h,i"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = NULL;
        if (wk_groups_create(bad[i], NULL, &g, err, sizeof err) == 0)
            fail_msg("\"%s\" parsed", bad[i]);
        assert_null(g);
        assert_non_null(strstr(err, "--group-by"));
    }
    /* With a spec, a name must be one of its fields.metadata names. */
    char n0[] = "model", p0[] = "/m";
    wk_meta_spec m = {1, {n0}, {p0}, NULL};
    assert_int_equal(wk_groups_create("model", &m, &g, err, sizeof err), 0);
    assert_int_equal(wk_groups_meta_index(g, 0), 0);
    wk_groups_free(g);
    assert_int_not_equal(wk_groups_create("split", &m, &g, err, sizeof err), 0);
    assert_non_null(strstr(err, "it has: model"));
}

static void test_slots(void **state)
{
    (void)state;
    wk_groups *g;
    char err[256], v[32];
    assert_int_equal(wk_groups_create("x", NULL, &g, err, sizeof err), 0);
    int b = wk_groups_slot(g, 0, "b", 1);
    int a = wk_groups_slot(g, 0, "a", 1);
    int none = wk_groups_slot(g, 0, NULL, 0);
    int ab = wk_groups_slot(g, 0, "ab", 2);
    assert_int_equal(wk_groups_slot(g, 0, "b", 1), b);
    assert_int_equal(wk_groups_slot(g, 0, NULL, 0), none);
    assert_int_equal(wk_groups_slot(g, 0, "abc", 2), ab); /* by length: "ab" */
    assert_true(a != b && b != none && a != ab);
    int order[WK_GROUP_MAX_VALUES];
    assert_int_equal(wk_groups_sorted(g, 0, order), 4);
    assert_int_equal(order[0], a);
    assert_int_equal(order[1], ab);
    assert_int_equal(order[2], b);
    assert_int_equal(order[3], none); /* no value last */
    size_t len;
    assert_null(wk_groups_value(g, 0, none, &len));
    assert_memory_equal(wk_groups_value(g, 0, ab, &len), "ab", 2);
    /* Fill up: the values after WK_GROUP_MAX_VALUES share the other slot, and known ones keep
     * theirs. */
    for (int i = 0; wk_groups_sorted(g, 0, order) < WK_GROUP_MAX_VALUES; i++) {
        snprintf(v, sizeof v, "v%d", i);
        assert_true(wk_groups_slot(g, 0, v, strlen(v)) < WK_GROUP_MAX_VALUES);
    }
    assert_false(wk_groups_overflowed(g, 0));
    assert_int_equal(wk_groups_slot(g, 0, "new", 3), WK_GROUP_OTHER);
    assert_true(wk_groups_overflowed(g, 0));
    assert_int_equal(wk_groups_slot(g, 0, "a", 1), a);
    assert_int_equal(wk_groups_slot(g, 0, NULL, 0), none);
    wk_groups_free(g);
    /* "No value" first seen after the dictionary is full goes to other too. */
    assert_int_equal(wk_groups_create("x", NULL, &g, err, sizeof err), 0);
    for (int i = 0; i < WK_GROUP_MAX_VALUES; i++) {
        snprintf(v, sizeof v, "%d", i);
        wk_groups_slot(g, 0, v, strlen(v));
    }
    assert_int_equal(wk_groups_slot(g, 0, NULL, 0), WK_GROUP_OTHER);
    wk_groups_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
