/* test_cursor.c - list cursors: round trips at the edges, and junk refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cursor.h"

static void round_trip(void **state)
{
    static const int64_t ids[] = {1, 2, 255, 256, 65535, 1 << 20, 1234567890123LL, INT64_MAX};
    char c[API_CURSOR_MAX];
    int64_t back;

    (void)state;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        api_cursor_encode(ids[i], c);
        assert_int_equal(strlen(c), 13);
        assert_int_equal(api_cursor_decode(c, strlen(c), &back), 0);
        assert_true(back == ids[i]);
    }
}

static void rejects_junk(void **state)
{
    char c[API_CURSOR_MAX];
    int64_t back = 0;

    (void)state;
    assert_int_equal(api_cursor_decode("", 0, &back), -1);
    assert_int_equal(api_cursor_decode("c1", 2, &back), -1);
    assert_int_equal(api_cursor_decode("12345", 5, &back), -1);
    assert_int_equal(api_cursor_decode("c1AAAAAAAAAAA", 13, &back), -1); /* id 0 */
    assert_int_equal(api_cursor_decode("c1/////////A=", 13, &back), -1);
    assert_int_equal(api_cursor_decode("c1gAAAAAAAAAA", 13, &back), -1); /* above INT64_MAX */
    api_cursor_encode(42, c);
    c[0] = 'd';
    assert_int_equal(api_cursor_decode(c, strlen(c), &back), -1);
    api_cursor_encode(42, c);
    assert_int_equal(api_cursor_decode(c, strlen(c) - 1, &back), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(rejects_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
