/* test_ratelimit.c - token buckets: burst, refill, Retry-After, independence, and "off". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000000ull

static void burst_then_refill(void **state)
{
    unsigned retry = 0;
    uint64_t t0 = 1000 * SEC;

    (void)state;
    api_ratelimit_configure(2, 3);
    assert_true(api_ratelimit_take(42, t0, &retry));
    assert_true(api_ratelimit_take(42, t0, &retry));
    assert_true(api_ratelimit_take(42, t0, &retry));
    assert_false(api_ratelimit_take(42, t0, &retry));
    assert_int_equal(retry, 1);
    /* Another identity has its own bucket. */
    assert_true(api_ratelimit_take(43, t0, &retry));
    /* Half a second at 2/s refills one request. */
    assert_true(api_ratelimit_take(42, t0 + SEC / 2, &retry));
    assert_false(api_ratelimit_take(42, t0 + SEC / 2, &retry));
    /* A clock that goes backwards (another thread's earlier reading) refills nothing. */
    assert_false(api_ratelimit_take(42, t0, &retry));
}

static void slow_rate_retry_after(void **state)
{
    unsigned retry = 0;
    uint64_t t0 = 5000 * SEC;

    (void)state;
    api_ratelimit_configure(0.1, 1); /* one request per 10 s */
    assert_true(api_ratelimit_take(7, t0, &retry));
    assert_false(api_ratelimit_take(7, t0, &retry));
    assert_int_equal(retry, 10);
}

static void off(void **state)
{
    unsigned retry = 0;

    (void)state;
    api_ratelimit_configure(0, 0);
    for (int i = 0; i < 10000; i++)
        assert_true(api_ratelimit_take(9, 1, &retry));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refill),
        cmocka_unit_test(slow_rate_retry_after),
        cmocka_unit_test(off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
