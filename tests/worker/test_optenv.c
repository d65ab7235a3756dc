/*
 * test_optenv.c - options from KIVO_* variables (optenv.c) and "did you mean" (suggest.c): the
 * variable names, the command line winning, where a value came from, and the edit distance at
 * its edges (empty, one letter, a swap, '-' against '_', too far, over the length cap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "optenv.h"
#include "suggest.h"

static const struct option opts[] = {{"threads", required_argument, NULL, 't'},
                                     {"kivo-api-base-url", required_argument, NULL, 300},
                                     {"html", required_argument, NULL, 301},
                                     {"json", no_argument, NULL, 'j'},
                                     {"worker-credential", required_argument, NULL, 302},
                                     {NULL, 0, NULL, 0}};
static const char *const scoped[] = {"html", NULL};
static const wk_optenv_cmd cmd = {"test", ":t:j", opts, "TEST", scoped};

static void test_names(void **state)
{
    (void)state;
    char n[WK_OPTENV_NAME_MAX];
    assert_int_equal(wk_optenv_name(&cmd, &opts[0], n), 0);
    assert_string_equal(n, "KIVO_THREADS");
    assert_int_equal(wk_optenv_name(&cmd, &opts[1], n), 0);
    assert_string_equal(n, "KIVO_API_BASE_URL");
    assert_int_equal(wk_optenv_name(&cmd, &opts[2], n), 0);
    assert_string_equal(n, "KIVO_TEST_HTML");
    assert_int_equal(wk_optenv_name(&cmd, &opts[3], n), -1); /* no value */
    assert_int_equal(wk_optenv_name(&cmd, &opts[4], n), -1); /* a secret, read elsewhere */
}

/* Parses argv the way a command does; returns --threads and --html as found. */
static void parse(char **argv, int argc, const char **threads, const char **html, int *json)
{
    wk_optenv oe;
    int c;
    *threads = *html = NULL;
    *json = 0;
    assert_int_equal(wk_optenv_init(&oe, &cmd, argc, argv), 0);
    while ((c = getopt_long(oe.argc, oe.argv, cmd.shortopts, opts, NULL)) != -1) {
        static char t[64], h[64];
        switch (c) {
        case 't':
            snprintf(t, sizeof t, "%s%s", optarg, wk_optenv_origin(&oe, optarg));
            *threads = t;
            break;
        case 301:
            snprintf(h, sizeof h, "%s%s", optarg, wk_optenv_origin(&oe, optarg));
            *html = h;
            break;
        case 'j': (*json)++; break;
        default: fail_msg("unexpected option %d", c);
        }
    }
    assert_int_equal(optind, oe.argc);
    wk_optenv_free(&oe);
}

static void test_environment_and_command_line(void **state)
{
    (void)state;
    const char *t, *h;
    int j;
    char a0[] = "test", a1[] = "-t", a2[] = "8", a3[] = "--json", a4[] = "--threads=3";
    char *none[] = {a0, NULL};
    char *short_t[] = {a0, a1, a2, a3, NULL};
    char *long_t[] = {a0, a4, NULL};

    unsetenv("KIVO_THREADS");
    unsetenv("KIVO_TEST_HTML");
    unsetenv("KIVO_HTML");
    parse(none, 1, &t, &h, &j);
    assert_null(t);
    assert_null(h);

    setenv("KIVO_THREADS", "5", 1);
    setenv("KIVO_HTML", "not-mine", 1); /* another command's variable */
    parse(none, 1, &t, &h, &j);
    assert_string_equal(t, "5 (from KIVO_THREADS)");
    assert_null(h);

    setenv("KIVO_TEST_HTML", "all", 1);
    parse(short_t, 4, &t, &h, &j); /* -t 8 wins, --html from the environment */
    assert_string_equal(t, "8");
    assert_string_equal(h, "all (from KIVO_TEST_HTML)");
    assert_int_equal(j, 1);
    parse(long_t, 2, &t, &h, &j); /* so does --threads=3 */
    assert_string_equal(t, "3");

    setenv("KIVO_THREADS", "", 1); /* empty is a value: the command's check refuses it */
    parse(none, 1, &t, &h, &j);
    assert_string_equal(t, " (from KIVO_THREADS)");
    unsetenv("KIVO_THREADS");
    unsetenv("KIVO_TEST_HTML");
    unsetenv("KIVO_HTML");
}

static void test_suggest(void **state)
{
    (void)state;
    static const char *const names[] = {"threads", "job-spec-file",  "json",           "out", NULL,
                                        "outbox",  "retry-deadline", "request-timeout"};
    const size_t n = sizeof names / sizeof names[0];
#define S(w) wk_suggest((w), strlen(w), names, n)
    assert_string_equal(S("treads"), "threads");
    assert_string_equal(S("thraeds"), "threads");             /* a swap is one edit */
    assert_string_equal(S("job_spec_file"), "job-spec-file"); /* '_' is '-' */
    assert_string_equal(S("JSON-"), "json");
    assert_string_equal(S("ot"), "out");
    assert_string_equal(S("outbx"), "outbox");
    assert_null(S("json")); /* known: nothing to suggest */
    assert_null(S(""));
    assert_null(S("zzzzzz"));
    assert_null(S("thr")); /* too far for a short word */
    assert_null(S("xyzts"));
    char longword[200];
    memset(longword, 'a', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    assert_null(S(longword));
#undef S
    assert_int_equal(wk_suggest_distance("", 0, "abc", 3), 3);
    assert_int_equal(wk_suggest_distance("ab", 2, "ba", 2), 1);
    assert_int_equal(wk_suggest_distance("a-b", 3, "A_B", 3), 0);
    assert_int_equal(wk_suggest_distance("kitten", 6, "sitting", 7), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_environment_and_command_line),
        cmocka_unit_test(test_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
