/*
 * test_buf.c - kivo_buf: NUL-terminated appends, growth across the first allocation, the ceiling
 * (appends past `max` fail and leave the buffer as it was), printf, reset and reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/buf.h"

static void test_empty(void **state)
{
    (void)state;
    kivo_buf b;
    kivo_buf_init(&b, 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_true(b.max >= SIZE_MAX / 2);
    kivo_buf_reset(&b); /* on a buffer that never allocated */
    assert_int_equal(kivo_buf_append(&b, "", 0), KIVO_OK);
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    kivo_buf_free(&b);
    assert_null(b.data);
    kivo_buf_free(&b); /* twice is harmless */
}

static void test_append_and_grow(void **state)
{
    (void)state;
    kivo_buf b;
    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_append(&b, "a", 1), KIVO_OK);
    assert_string_equal(b.data, "a");
    assert_int_equal(kivo_buf_append_str(&b, "bc"), KIVO_OK);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    /* Grow one byte at a time past several doublings; contents and NUL stay right. */
    char want[5000];
    memcpy(want, "abc", 3);
    for (size_t i = 3; i < 4097; i++) {
        char c = (char)('a' + i % 26);
        want[i] = c;
        assert_int_equal(kivo_buf_append(&b, &c, 1), KIVO_OK);
        assert_int_equal(b.len, i + 1);
        assert_true(b.cap > b.len);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_memory_equal(b.data, want, 4097);
    /* Embedded NUL bytes are data. */
    assert_int_equal(kivo_buf_append(&b, "x\0y", 3), KIVO_OK);
    assert_int_equal(b.len, 4100);
    assert_memory_equal(b.data + 4097, "x\0y", 4);
    kivo_buf_free(&b);
}

static void test_ceiling(void **state)
{
    (void)state;
    kivo_buf b;
    kivo_buf_init(&b, 10);
    assert_int_equal(kivo_buf_append(&b, "0123456789", 10), KIVO_OK); /* exactly max */
    assert_int_equal(kivo_buf_append(&b, "x", 1), KIVO_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(kivo_buf_printf(&b, "%d", 1), KIVO_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(kivo_buf_append(&b, "", 0), KIVO_OK);
    kivo_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(kivo_buf_append(&b, "01234567890", 11), KIVO_ETOOBIG);
    assert_int_equal(b.len, 0);
    /* A request so big that len + extra would wrap. */
    assert_int_equal(kivo_buf_reserve(&b, SIZE_MAX), KIVO_ETOOBIG);
    assert_int_equal(kivo_buf_append(&b, "abc", 3), KIVO_OK);
    assert_int_equal(kivo_buf_reserve(&b, SIZE_MAX - 1), KIVO_ETOOBIG);
    kivo_buf_free(&b);

    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_append(&b, "abc", 3), KIVO_OK);
    assert_int_equal(kivo_buf_reserve(&b, SIZE_MAX - 1), KIVO_ETOOBIG);
    assert_int_equal(kivo_buf_reserve(&b, SIZE_MAX / 2), KIVO_ETOOBIG);
    assert_string_equal(b.data, "abc");
    kivo_buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    kivo_buf b;
    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_printf(&b, "%s=%d", "n", 42), KIVO_OK);
    assert_int_equal(kivo_buf_printf(&b, "%s", ""), KIVO_OK);
    assert_int_equal(kivo_buf_printf(&b, ";%zu;%.2f", (size_t)7, 4.5), KIVO_OK);
    assert_string_equal(b.data, "n=42;7;4.50");
    assert_int_equal(b.len, strlen("n=42;7;4.50"));
    /* Long output: more than the first allocation in one call. */
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(kivo_buf_printf(&b, "[%s]", big), KIVO_OK);
    assert_int_equal(b.len, 11 + 1001);
    assert_int_equal(b.data[11], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    kivo_buf_free(&b);

    /* printf that fits exactly at the ceiling. */
    kivo_buf_init(&b, 4);
    assert_int_equal(kivo_buf_printf(&b, "%04d", 12), KIVO_OK);
    assert_string_equal(b.data, "0012");
    kivo_buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
    (void)state;
    kivo_buf b;
    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_reserve(&b, 3000), KIVO_OK);
    size_t cap = b.cap;
    assert_true(cap > 3000);
    assert_int_equal(b.len, 0);
    char *data = b.data;
    assert_int_equal(kivo_buf_append(&b, "hello", 5), KIVO_OK);
    kivo_buf_reset(&b);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(kivo_buf_append(&b, "again", 5), KIVO_OK);
    assert_string_equal(b.data, "again");
    kivo_buf_free(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* Usable again after free, with the same ceiling. */
    assert_int_equal(kivo_buf_append(&b, "x", 1), KIVO_OK);
    assert_string_equal(b.data, "x");
    kivo_buf_free(&b);
}

static void test_status_str(void **state)
{
    (void)state;
    /* Every status has its own non-empty text; an unknown value still gets one. */
    for (int i = 0; i < KIVO_STATUS_COUNT; i++) {
        const char *s = kivo_status_str((kivo_status)i);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(s, kivo_status_str((kivo_status)j));
    }
    assert_string_equal(kivo_status_str(KIVO_OK), "ok");
    assert_string_equal(kivo_status_str(KIVO_EUTF8), "invalid UTF-8");
    assert_non_null(kivo_status_str(KIVO_STATUS_COUNT));
    assert_non_null(kivo_status_str((kivo_status)1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_status_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
