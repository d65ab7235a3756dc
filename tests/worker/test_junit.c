/*
 * test_junit.c - JUnit XML (junit.c): escaping of any UTF-8 text into character data and
 * attributes (markup, quotes, white space, characters XML 1.0 cannot hold), and a whole report's
 * shape and counts, written through the side file and renamed into place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "junit.h"

static char *escaped(const char *s)
{
    static char out[1024];
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_non_null(f);
    assert_true(wk_xml_escape(f, s) >= 0);
    fclose(f);
    return out;
}

static void test_escape(void **state)
{
    (void)state;
    assert_string_equal(escaped("plain id-1.2"), "plain id-1.2");
    assert_string_equal(escaped("<a href=\"x\">&'</a>"),
                        "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
    assert_string_equal(escaped("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
    /* C0 controls, U+FFFE and U+FFFF cannot be in XML 1.0: U+FFFD instead. */
    assert_string_equal(escaped("x\x01y\x1fz"), "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
    assert_string_equal(escaped("\xEF\xBF\xBE\xEF\xBF\xBF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    /* Other non-ASCII text stays as it is. */
    assert_string_equal(escaped("\xC3\xA9 \xE2\x80\xA8 \xF0\x9F\x98\x80"),
                        "\xC3\xA9 \xE2\x80\xA8 \xF0\x9F\x98\x80");
    /* A broken sequence: its lead byte is replaced, the rest read on. */
    assert_string_equal(escaped("a\xC3(b"), "a\xEF\xBF\xBD(b");
}

static void test_report(void **state)
{
    (void)state;
    char dir[] = "/tmp/kivo-test-junit-XXXXXX", path[128], cases[160], *text;
    wk_junit *j;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.xml", dir);
    snprintf(cases, sizeof cases, "%s.cases.tmp", path);
    assert_int_equal(wk_junit_open(path, &j), 0);
    assert_int_equal(access(cases, F_OK), 0);
    assert_int_equal(wk_junit_case(j, "wf", "ok", WK_JUNIT_PASS, NULL, NULL, NULL), 0);
    assert_int_equal(wk_junit_case(j, "wf", "bad<1>", WK_JUNIT_FAILURE, "fail", "fail: x", "b&"),
                     0);
    assert_int_equal(wk_junit_case(j, "wf", "r", WK_JUNIT_ERROR, "rejected", "why", NULL), 0);
    assert_int_equal(wk_junit_case(j, "wf", "s", WK_JUNIT_SKIPPED, NULL, "no pair", NULL), 0);
    assert_int_equal(wk_junit_close(j, "suite \"1\"", 1.5), 0);
    assert_int_not_equal(access(cases, F_OK), 0); /* the side file is gone */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    text = calloc(1, 8192);
    assert_true(fread(text, 1, 8191, f) > 0);
    fclose(f);
    assert_non_null(strstr(text, "<testsuites name=\"kivo\" tests=\"4\" failures=\"1\" "
                                 "errors=\"1\" skipped=\"1\" time=\"1.500\">"));
    assert_non_null(strstr(text, "<testsuite name=\"suite &quot;1&quot;\" tests=\"4\" "
                                 "failures=\"1\" errors=\"1\" skipped=\"1\""));
    assert_non_null(strstr(text, "<testcase classname=\"wf\" name=\"ok\" time=\"0\"/>"));
    assert_non_null(strstr(text, "name=\"bad&lt;1&gt;\" time=\"0\">\n      <failure "
                                 "message=\"fail: x\" type=\"fail\">b&amp;</failure>"));
    assert_non_null(strstr(text, "<error message=\"why\" type=\"rejected\"/>"));
    assert_non_null(strstr(text, "<skipped message=\"no pair\"/>"));
    assert_non_null(strstr(text, "</testsuite>\n</testsuites>\n"));
    free(text);
    unlink(path);
    /* A report that is dropped leaves nothing behind. */
    assert_int_equal(wk_junit_open(path, &j), 0);
    wk_junit_free(j);
    assert_int_not_equal(access(cases, F_OK), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
