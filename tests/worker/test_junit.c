/*
 * test_junit.c - JUnit XML (junit.c): escaping of any UTF-8 text into character data and
 * attributes (markup, quotes, white space, characters XML 1.0 cannot hold), and a whole report's
 * shape and counts, written through an unnamed scratch file and a temporary renamed into place,
 * 0640 less the umask, never through a planted link.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Names in dir other than "." and "..". */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
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
    char dir[] = "/tmp/kivo-test-junit-XXXXXX", path[128], *text;
    wk_junit *j;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.xml", dir);
    assert_int_equal(wk_junit_open(path, &j), 0);
    assert_int_equal(entries(dir), 0); /* the scratch file has no name */
    assert_int_equal(wk_junit_case(j, "wf", "ok", WK_JUNIT_PASS, NULL, NULL, NULL), 0);
    assert_int_equal(wk_junit_case(j, "wf", "bad<1>", WK_JUNIT_FAILURE, "fail", "fail: x", "b&"),
                     0);
    assert_int_equal(wk_junit_case(j, "wf", "r", WK_JUNIT_ERROR, "rejected", "why", NULL), 0);
    assert_int_equal(wk_junit_case(j, "wf", "s", WK_JUNIT_SKIPPED, NULL, "no pair", NULL), 0);
    assert_int_equal(wk_junit_close(j, "suite \"1\"", 1.5), 0);
    assert_int_equal(entries(dir), 1); /* r.xml alone, no temporary left */
    struct stat sb;
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640 & ~mask);
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
    assert_int_equal(entries(dir), 0);
    rmdir(dir);
}

/* Links planted beside the report (issue 12): at the old fixed temporary names they are never
 * followed; at the report's own name the report is refused. The victim keeps its bytes. */
static void test_planted_links(void **state)
{
    (void)state;
    char dir[] = "/tmp/kivo-test-junit-XXXXXX", path[128], link[160], victim[160], back[32];
    wk_junit *j;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.xml", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    static const char *const names[] = {"r.xml.tmp", "r.xml.cases.tmp", "r.xml"};
    for (int i = 0; i < 3; i++) {
        snprintf(link, sizeof link, "%s/%s", dir, names[i]);
        assert_int_equal(symlink(victim, link), 0);
        assert_int_equal(wk_junit_open(path, &j), 0);
        assert_int_equal(wk_junit_case(j, "wf", "ok", WK_JUNIT_PASS, NULL, NULL, NULL), 0);
        errno = 0;
        assert_int_equal(wk_junit_close(j, "s", 0), i < 2 ? 0 : -1);
        if (i == 2)
            assert_int_equal(errno, ELOOP);
        f = fopen(victim, "r");
        assert_non_null(f);
        assert_non_null(fgets(back, sizeof back, f));
        fclose(f);
        assert_string_equal(back, "precious\n");
        unlink(link);
        unlink(path);
    }
    unlink(victim);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_planted_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
