/*
 * test_output.c - the report store on disk (output.c): run ids made into one safe path component
 * (never "..", never a '/', distinct ids to distinct names), mkdir -p, and atomic writes.
 */
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

#include "output.h"

static void enc(const char *id, size_t len, const char *want)
{
    char out[WK_COMPONENT_MAX];
    memset(out, 'Z', sizeof out);
    wk_path_component(id, len, out);
    if (strcmp(out, want) != 0)
        fail_msg("\"%.*s\" encodes as \"%s\", want \"%s\"", (int)len, id, out, want);
}

/* What every encoding must be: a usable, non-special name of allowed bytes. */
static void check_safe(const char *id, size_t len)
{
    char out[WK_COMPONENT_MAX];
    wk_path_component(id, len, out);
    size_t n = strlen(out);
    assert_true(n > 0);
    assert_true(n < WK_COMPONENT_MAX);
    assert_true(n <= 255);                          /* NAME_MAX */
    assert_string_not_equal(out, ".");
    assert_string_not_equal(out, "..");
    assert_int_not_equal(out[0], '.');
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.' || c == '%' || c == '~';
        if (!ok)
            fail_msg("\"%s\" holds byte 0x%02x", out, (unsigned char)c);
    }
}

static void test_known_encodings(void **state)
{
    (void)state;
    enc("sup-1124-001", 12, "sup-1124-001");
    enc("A_z.9", 5, "A_z.9");
    enc("a/b", 3, "a%2Fb");
    enc("../../x", 7, "%2E.%2F..%2Fx");
    enc("..", 2, "%2E.");
    enc(".", 1, "%2E");
    enc(".hidden", 7, "%2Ehidden");
    enc("", 0, "%00");
    enc("a b", 3, "a%20b");
    enc("100%", 4, "100%25");
    enc("a\\b", 3, "a%5Cb");
    enc("Zo\xc3\xab", 4, "Zo%C3%AB");
    enc("a\0b", 3, "a%00b");
    enc("~x", 2, "%7Ex");
}

static void test_escapes_are_safe(void **state)
{
    (void)state;
    static const char *const ids[] = {"../../x", "a/b", "..", ".", "/", "//", "/etc/passwd",
                                      "..\\..\\x", "~", "%2F", "a/../../b", NULL};
    for (size_t i = 0; ids[i]; i++)
        check_safe(ids[i], strlen(ids[i]));
    /* Every single byte. */
    for (int c = 0; c < 256; c++) {
        char id[1] = {(char)c};
        check_safe(id, 1);
    }
}

static void test_distinct(void **state)
{
    (void)state;
    /* Ids that differ give names that differ, also when one id looks like another's encoding. */
    static const char *const ids[] = {"a/b", "a%2Fb", "a%252Fb", "a_b", "a-b", "a.b", "..",
                                      "%2E.", ".", "%2E", "", "%00", "~", "%7E", NULL};
    char out[16][WK_COMPONENT_MAX];
    size_t n = 0;
    for (; ids[n]; n++)
        wk_path_component(ids[n], strlen(ids[n]), out[n]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[i], out[j]) == 0)
                fail_msg("\"%s\" and \"%s\" both encode as \"%s\"", ids[i], ids[j], out[i]);
}

static void test_long_ids(void **state)
{
    (void)state;
    char a[600], b[600], oa[WK_COMPONENT_MAX], ob[WK_COMPONENT_MAX];
    /* 512 plain bytes: cut to 200, then '~' and 16 hex digits of the SHA-256. */
    memset(a, 'r', 512);
    memcpy(b, a, 512);
    b[511] = 's';
    wk_path_component(a, 512, oa);
    wk_path_component(b, 512, ob);
    assert_int_equal(strlen(oa), 200 + 1 + 16);
    assert_int_equal(oa[200], '~');
    assert_memory_equal(oa, a, 200);
    assert_string_not_equal(oa, ob);            /* only the hash tells them apart */
    check_safe(a, 512);
    /* Exactly 200 kept bytes is not cut. */
    wk_path_component(a, 200, oa);
    assert_int_equal(strlen(oa), 200);
    wk_path_component(a, 201, oa);
    assert_int_equal(strlen(oa), 217);
    /* All escaped: 66 escapes fit in 200 bytes, then the hash. */
    memset(a, '/', 512);
    wk_path_component(a, 512, oa);
    assert_int_equal(strlen(oa), 66 * 3 + 17);
    check_safe(a, 512);
    /* The same id always gives the same name. */
    wk_path_component(b, 512, oa);
    assert_string_equal(oa, ob);
}

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/kivo-test-output-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void test_mkdirs(void **state)
{
    (void)state;
    char *root = temp_dir();
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/a/b/c", root);
    assert_int_equal(wk_mkdirs(path), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(wk_mkdirs(path), 0);       /* existing: fine */
    snprintf(path, sizeof path, "%s/a/b/c/", root);
    assert_int_equal(wk_mkdirs(path), 0);
    /* Under a regular file: an error. */
    snprintf(path, sizeof path, "%s/file", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", root);
    assert_int_equal(wk_mkdirs(path), -1);
    snprintf(path, sizeof path, "rm -rf '%s'", root);
    assert_int_equal(system(path), 0);
    free(root);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_write_atomic(void **state)
{
    (void)state;
    char *root = temp_dir();
    char path[512], tmp[600];
    size_t len;
    snprintf(path, sizeof path, "%s/claim_report.json", root);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(wk_write_atomic(path, "{\"a\":1}\n", 8), 0);
    char *got = slurp(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "{\"a\":1}\n", 8);
    free(got);
    assert_int_equal(access(tmp, F_OK), -1);    /* no temporary left behind */
    /* Overwrite with something shorter: no stale tail. */
    assert_int_equal(wk_write_atomic(path, "x", 1), 0);
    got = slurp(path, &len);
    assert_int_equal(len, 1);
    free(got);
    /* Empty and large contents. */
    assert_int_equal(wk_write_atomic(path, "", 0), 0);
    got = slurp(path, &len);
    assert_int_equal(len, 0);
    free(got);
    char *big = malloc(60000);
    assert_non_null(big);
    for (size_t i = 0; i < 60000; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(wk_write_atomic(path, big, 60000), 0);
    got = slurp(path, &len);
    assert_int_equal(len, 60000);
    assert_memory_equal(got, big, 60000);
    free(got);
    free(big);
    /* A folder that does not exist: -1 with errno, and nothing created. */
    snprintf(path, sizeof path, "%s/missing/claim_report.json", root);
    errno = 0;
    assert_int_equal(wk_write_atomic(path, "x", 1), -1);
    assert_int_equal(errno, ENOENT);
    snprintf(path, sizeof path, "rm -rf '%s'", root);
    assert_int_equal(system(path), 0);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_encodings),
        cmocka_unit_test(test_escapes_are_safe),
        cmocka_unit_test(test_distinct),
        cmocka_unit_test(test_long_ids),
        cmocka_unit_test(test_mkdirs),
        cmocka_unit_test(test_write_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
