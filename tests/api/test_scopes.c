/* test_scopes.c - scope lists and the CLI value parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "scopes.h"

static void parse_and_format(void **state)
{
    unsigned m = 0;
    char text[API_SCOPES_TEXT_MAX];

    (void)state;
    assert_int_equal(api_scopes_parse("private_worker:write", &m), 0);
    assert_int_equal(m, API_SCOPE_PW_WRITE);
    assert_int_equal(
        api_scopes_parse(" review_runs:read , private_worker:read,review_runs:read", &m), 0);
    assert_int_equal(m, API_SCOPE_REVIEW_READ | API_SCOPE_PW_READ);
    api_scopes_format(m, text);
    assert_string_equal(text, "review_runs:read,private_worker:read");
    assert_int_equal(api_scopes_parse("", &m), -1);
    assert_int_equal(api_scopes_parse("admin", &m), -1);
    assert_int_equal(api_scopes_parse("review_runs:read,", &m), 0);
    assert_int_equal(api_scopes_parse("review_runs:read,admin", &m), -1);
    assert_int_equal(api_scopes_parse("Review_runs:read", &m), -1);
}

static void listen_and_numbers(void **state)
{
    char host[64];
    unsigned port = 0;
    uint64_t v = 0;

    (void)state;
    assert_int_equal(api_cli_parse_listen("127.0.0.1:8787", host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8787);
    assert_int_equal(api_cli_parse_listen("[::1]:99", host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 99);
    assert_int_equal(api_cli_parse_listen("127.0.0.1", host, &port), -1);
    assert_int_equal(api_cli_parse_listen("127.0.0.1:65536", host, &port), -1);
    /* Issue 18: ":PORT" is every IPv4 address; a name is kept for the resolver. */
    assert_int_equal(api_cli_parse_listen(":80", host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 80);
    assert_int_equal(api_cli_parse_listen("localhost:8787", host, &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(api_cli_parse_listen("[]:80", host, &port), -1);
    assert_int_equal(api_cli_parse_listen(":", host, &port), -1);
    assert_int_equal(api_cli_parse_listen(":x", host, &port), -1);
    assert_int_equal(api_cli_parse_u64("64K", 1, &v), 0);
    assert_true(v == 65536);
    assert_int_equal(api_cli_parse_u64("16M", 1, &v), 0);
    assert_true(v == 16u << 20);
    assert_int_equal(api_cli_parse_u64("16M", 0, &v), -1);
    assert_int_equal(api_cli_parse_u64("-1", 0, &v), -1);
    assert_int_equal(api_cli_parse_u64("", 0, &v), -1);
    assert_int_equal(api_cli_parse_u64("99999999999999999999999", 0, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_and_format),
        cmocka_unit_test(listen_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
