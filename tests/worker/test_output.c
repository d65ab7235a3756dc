/*
 * test_output.c - the report store on disk (output.c): run ids made into one safe path component
 * (never "..", never a '/', distinct ids to distinct names), mkdir -p, folders walked without
 * following links, atomic writes, planted links refused, file modes under several umasks, the
 * sweep of a killed process's temporaries, and the lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "scratch.h"
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
    assert_true(n <= 255); /* NAME_MAX */
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
    static const char *const ids[] = {"../../x",     "a/b",       "..", ".",   "/",         "//",
                                      "/etc/passwd", "..\\..\\x", "~",  "%2F", "a/../../b", NULL};
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
    static const char *const ids[] = {"a/b", "a%2Fb", "a%252Fb", "a_b", "a-b", "a.b", "..", "%2E.",
                                      ".",   "%2E",   "",        "%00", "~",   "%7E", NULL};
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
    assert_string_not_equal(oa, ob); /* only the hash tells them apart */
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

static void test_mkdirs(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("output");
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/a/b/c", root);
    assert_int_equal(wk_mkdirs(path), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(wk_mkdirs(path), 0); /* existing: fine */
    snprintf(path, sizeof path, "%s/a/b/c/", root);
    assert_int_equal(wk_mkdirs(path), 0);
    /* Under a regular file: an error. */
    snprintf(path, sizeof path, "%s/file", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", root);
    assert_int_equal(wk_mkdirs(path), -1);
    kt_scratch_remove(root);
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

static int put(int dfd, const char *name, const void *data, size_t len, int mode, unsigned flags)
{
    struct iovec v = {(void *)(uintptr_t)data, len};
    return wk_write_at(dfd, name, &v, len ? 1 : 0, mode, flags);
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

static void test_write_at(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("output");
    char path[512];
    size_t len;
    int dfd = wk_dir_open(root, 0);
    assert_true(dfd >= 0);
    snprintf(path, sizeof path, "%s/claim_report.json", root);
    assert_int_equal(put(dfd, "claim_report.json", "{\"a\":1}\n", 8, WK_MODE_TEXT, 0), 0);
    char *got = slurp(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "{\"a\":1}\n", 8);
    free(got);
    assert_int_equal(entries(root), 1); /* no temporary left behind */
    /* Overwrite with something shorter: no stale tail. */
    assert_int_equal(put(dfd, "claim_report.json", "x", 1, WK_MODE_TEXT, 0), 0);
    got = slurp(path, &len);
    assert_int_equal(len, 1);
    free(got);
    /* Empty and large contents, with fsync. */
    assert_int_equal(put(dfd, "claim_report.json", "", 0, WK_MODE_TEXT, WK_WRITE_SYNC), 0);
    got = slurp(path, &len);
    assert_int_equal(len, 0);
    free(got);
    char *big = malloc(60000);
    assert_non_null(big);
    for (size_t i = 0; i < 60000; i++)
        big[i] = (char)('a' + i % 26);
    struct iovec v[3] = {{big, 1}, {big + 1, 29999}, {big + 30000, 30000}};
    assert_int_equal(wk_write_at(dfd, "claim_report.json", v, 3, WK_MODE_TEXT, WK_WRITE_SYNC), 0);
    got = slurp(path, &len);
    assert_int_equal(len, 60000);
    assert_memory_equal(got, big, 60000);
    free(got);
    free(big);
    assert_int_equal(entries(root), 1);
    /* A folder that does not exist: -1 with errno, and nothing created. */
    errno = 0;
    assert_int_equal(put(dfd, "missing/claim_report.json", "x", 1, WK_MODE_TEXT, 0), -1);
    assert_int_equal(errno, ENOENT);
    /* A folder where the file belongs: refused, the folder kept, no temporary left. */
    assert_int_equal(mkdirat(dfd, "dir", 0700), 0);
    errno = 0;
    assert_int_equal(put(dfd, "dir", "x", 1, WK_MODE_TEXT, 0), -1);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(entries(root), 2);
    close(dfd);
    kt_scratch_remove(root);
}

/* Links planted where the worker writes: refused (ELOOP), never followed, the victim untouched
 * and the link left as it was. */
static void test_symlinks_refused(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("output"), *outside = kt_scratch_dir("output");
    char victim[600], target[600];
    size_t bad = 0, len;
    int dfd = wk_dir_open(root, 0), fd, fresh = -1;
    assert_true(dfd >= 0);
    snprintf(victim, sizeof victim, "%s/victim", outside);
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);

    /* A link at the name written: the write fails, the victim keeps its bytes. */
    assert_int_equal(symlinkat(victim, dfd, "summary.json"), 0);
    errno = 0;
    assert_int_equal(put(dfd, "summary.json", "{}\n", 3, WK_MODE_META, 0), -1);
    assert_int_equal(errno, ELOOP);
    char *got = slurp(victim, &len);
    assert_int_equal(len, 9);
    assert_memory_equal(got, "precious\n", 9);
    free(got);
    assert_true(readlinkat(dfd, "summary.json", target, sizeof target) > 0);
    assert_int_equal(entries(root), 1); /* only the link: the temporary is gone */

    /* Appending and reading through a link: refused too. */
    errno = 0;
    assert_int_equal(wk_append_open(dfd, "summary.json", WK_MODE_META), -1);
    assert_int_equal(errno, ELOOP);
    errno = 0;
    assert_int_equal(wk_read_open(dfd, "summary.json"), -1);
    assert_int_equal(errno, ELOOP);
    char *data = NULL;
    assert_int_equal(wk_read_at(dfd, "summary.json", 0, &data, &len), -1);

    /* A linked folder anywhere on the walk: ELOOP, and bad names it. */
    assert_int_equal(symlinkat(outside, dfd, "reports"), 0);
    errno = 0;
    assert_int_equal(wk_dir_walk(dfd, "reports/wf/run", 1, &fresh, &bad), -1);
    assert_int_equal(errno, ELOOP);
    assert_int_equal(bad, strlen("reports"));
    assert_int_equal(entries(outside), 1); /* nothing made through the link */
    assert_int_equal(unlinkat(dfd, "reports", 0), 0);
    assert_true((fd = wk_dir_walk(dfd, "reports/wf", 1, &fresh, NULL)) >= 0);
    assert_int_equal(fresh, 1);
    assert_int_equal(symlinkat(outside, fd, "run2"), 0);
    close(fd);
    errno = 0;
    assert_int_equal(wk_dir_walk(dfd, "reports/wf/run2", 1, NULL, &bad), -1);
    assert_int_equal(errno, ELOOP);
    assert_int_equal(bad, strlen("reports/wf/run2"));
    /* A file where a folder belongs: ENOTDIR, named the same way. */
    assert_int_equal(put(dfd, "plain", "x", 1, WK_MODE_TEXT, 0), 0);
    errno = 0;
    assert_int_equal(wk_dir_walk(dfd, "plain/sub", 1, NULL, &bad), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(bad, strlen("plain"));
    /* ".." is never a step. */
    errno = 0;
    assert_int_equal(wk_dir_walk(dfd, "reports/../..", 0, NULL, &bad), -1);
    assert_int_equal(errno, EINVAL);

    /* A link at a temporary name: refused. The counter is below 2,000 in this process, so
     * links at every name from 0 to 1,999 catch the next one. */
    char name[WK_TMP_MAX], tmp[WK_TMP_MAX];
    for (int n = 0; n < 2000; n++) {
        snprintf(name, sizeof name, ".probe.%ld.%d.tmp", (long)getpid(), n);
        assert_int_equal(symlinkat(victim, dfd, name), 0);
    }
    errno = 0;
    assert_int_equal(wk_tmp_open(dfd, "probe", WK_MODE_META, tmp), -1);
    assert_int_equal(errno, ELOOP);
    got = slurp(victim, &len);
    assert_int_equal(len, 9);
    free(got);
    /* A regular file at a temporary name (a killed process's): skipped, left alone. */
    assert_true((fd = wk_tmp_open(dfd, "probe2", WK_MODE_META, tmp)) >= 0);
    close(fd);
    /* tmp is ".probe2.<pid>.<n>.tmp": the <n> it got. */
    char *dot = strrchr(tmp, '.') - 1;
    while (*dot != '.')
        dot--;
    unsigned long at = strtoul(dot + 1, NULL, 10);
    for (unsigned long n = at + 1; n <= at + 10; n++) {
        snprintf(name, sizeof name, ".probe3.%ld.%lu.tmp", (long)getpid(), n);
        assert_int_equal(put(dfd, name, "old", 3, WK_MODE_META, 0), 0);
    }
    assert_true((fd = wk_tmp_open(dfd, "probe3", WK_MODE_META, tmp)) >= 0);
    close(fd);
    snprintf(name, sizeof name, ".probe3.%ld.%lu.tmp", (long)getpid(), at + 11);
    assert_string_equal(tmp, name);
    close(dfd);
    kt_scratch_remove(root);
    kt_scratch_remove(outside);
}

static void test_walk(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("output");
    char path[600];
    struct stat sb;
    int dfd = wk_dir_open(root, 0), fd, fresh = -1;
    assert_true(dfd >= 0);
    assert_true((fd = wk_dir_walk(dfd, "a/b/c", 1, &fresh, NULL)) >= 0);
    assert_int_equal(fresh, 1);
    assert_int_equal(put(fd, "x", "1", 1, WK_MODE_TEXT, WK_WRITE_FRESH), 0);
    close(fd);
    snprintf(path, sizeof path, "%s/a/b/c/x", root);
    assert_int_equal(stat(path, &sb), 0);
    /* Existing: opened, not fresh; extra slashes are nothing; without create, missing is ENOENT. */
    assert_true((fd = wk_dir_walk(dfd, "/a//b/c/", 1, &fresh, NULL)) >= 0);
    assert_int_equal(fresh, 0);
    close(fd);
    errno = 0;
    assert_int_equal(wk_dir_walk(dfd, "a/none", 0, &fresh, NULL), -1);
    assert_int_equal(errno, ENOENT);
    /* An empty path is the folder itself, on a descriptor of its own. */
    assert_true((fd = wk_dir_walk(dfd, "", 0, &fresh, NULL)) >= 0);
    assert_true(fd != dfd);
    close(fd);
    /* wk_dir_open makes the operator's path, and follows a link in it. */
    snprintf(path, sizeof path, "%s/op/out", root);
    assert_true((fd = wk_dir_open(path, 1)) >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/op/linked", root);
    assert_int_equal(symlink("out", path), 0);
    assert_true((fd = wk_dir_open(path, 0)) >= 0);
    close(fd);
    close(dfd);
    kt_scratch_remove(root);
}

/* Files holding raw text are 0600, metadata 0640, folders 0750, all less the umask. */
static void test_modes(void **state)
{
    (void)state;
    static const mode_t masks[] = {022, 077, 027, 0};
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        char *root = kt_scratch_dir("output");
        int dfd = wk_dir_open(root, 0), fd;
        struct stat sb;
        mode_t old = umask(masks[m]);
        assert_true(dfd >= 0);
        assert_true((fd = wk_dir_walk(dfd, "reports/wf", 1, NULL, NULL)) >= 0);
        assert_int_equal(put(fd, "claim_report.json", "{}", 2, WK_MODE_TEXT, 0), 0);
        assert_int_equal(put(dfd, "summary.json", "{}", 2, WK_MODE_META, 0), 0);
        int afd = wk_append_open(dfd, "outbox.state", WK_MODE_META);
        assert_true(afd >= 0);
        close(afd);
        umask(old);
        assert_int_equal(fstatat(fd, "claim_report.json", &sb, 0), 0);
        assert_int_equal(sb.st_mode & 07777, 0600 & ~masks[m]);
        assert_int_equal(fstatat(dfd, "summary.json", &sb, 0), 0);
        assert_int_equal(sb.st_mode & 07777, 0640 & ~masks[m]);
        assert_int_equal(fstatat(dfd, "outbox.state", &sb, 0), 0);
        assert_int_equal(sb.st_mode & 07777, 0640 & ~masks[m]);
        assert_int_equal(fstatat(dfd, "reports/wf", &sb, 0), 0);
        assert_int_equal(sb.st_mode & 07777, 0750 & ~masks[m]);
        /* A file that was there (0644, from an older worker) is replaced by a private one. */
        assert_int_equal(fchmodat(fd, "claim_report.json", 0644, 0), 0);
        old = umask(masks[m]);
        assert_int_equal(put(fd, "claim_report.json", "{}", 2, WK_MODE_TEXT, 0), 0);
        umask(old);
        assert_int_equal(fstatat(fd, "claim_report.json", &sb, 0), 0);
        assert_int_equal(sb.st_mode & 07777, 0600 & ~masks[m]);
        close(fd);
        close(dfd);
        kt_scratch_remove(root);
    }
}

/* The sweep removes the temporaries a killed process left, and nothing else. */
static void test_tmp_sweep(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("output"), *outside = kt_scratch_dir("output"), victim[600];
    int dfd = wk_dir_open(root, 0), fd;
    char tmp[WK_TMP_MAX];
    assert_true(dfd >= 0);
    static const char *const gone[] = {".events.jsonl.123.0.tmp", ".summary.json.9.77.tmp",
                                       ".x.1.2.tmp", NULL};
    static const char *const kept[] = {"summary.json", ".a.b.tmp",  "..1.2.tmp", ".x.1.tmp",
                                       ".x.1.2.tmpx",  "x.1.2.tmp", ".x..2.tmp", NULL};
    for (size_t i = 0; gone[i]; i++)
        assert_int_equal(put(dfd, gone[i], "x", 1, WK_MODE_META, 0), 0);
    for (size_t i = 0; kept[i]; i++)
        assert_int_equal(put(dfd, kept[i], "x", 1, WK_MODE_META, 0), 0);
    assert_int_equal(mkdirat(dfd, ".d.1.2.tmp", 0700), 0); /* a folder: kept */
    snprintf(victim, sizeof victim, "%s/victim", outside);
    assert_int_equal(symlinkat(victim, dfd, ".l.1.2.tmp"), 0); /* a link: kept, not followed */
    assert_true((fd = wk_tmp_open(dfd, "live", WK_MODE_META, tmp)) >= 0);
    close(fd);
    /* The sweep runs under the folder's lock, when no temporary of a live process is there; this
     * one is ours and matches: it goes too. */
    assert_int_equal(wk_tmp_sweep(dfd), 4);
    for (size_t i = 0; gone[i]; i++)
        assert_int_equal(faccessat(dfd, gone[i], F_OK, AT_SYMLINK_NOFOLLOW), -1);
    for (size_t i = 0; kept[i]; i++)
        assert_int_equal(faccessat(dfd, kept[i], F_OK, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(faccessat(dfd, ".d.1.2.tmp", F_OK, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(faccessat(dfd, ".l.1.2.tmp", F_OK, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(entries(outside), 0);
    close(dfd);
    kt_scratch_remove(root);
    kt_scratch_remove(outside);
}

/* One lock per folder: a second open of it cannot take it while the first holds it. */
static void test_lock(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("output");
    int a = wk_dir_open(root, 0), b = wk_dir_open(root, 0);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(wk_dir_lock(a), 0);
    errno = 0;
    assert_int_equal(wk_dir_lock(b), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    close(a);
    assert_int_equal(wk_dir_lock(b), 0);
    close(b);
    kt_scratch_remove(root);
}

static void test_error_messages(void **state)
{
    (void)state;
    char err[512];
    wk_output_error(err, sizeof err, "cannot write reports under", "out/reports/wf", "run2", ELOOP);
    assert_non_null(strstr(err, "out/reports/wf/run2"));
    assert_non_null(strstr(err, "symbolic link"));
    wk_output_error(err, sizeof err, "cannot create", "out", "reports", ENOTDIR);
    assert_non_null(strstr(err, "out/reports: it is not a folder"));
    wk_output_error(err, sizeof err, "cannot write", "out", NULL, ENOSPC);
    assert_string_equal(err, "cannot write out: No space left on device");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_encodings),
        cmocka_unit_test(test_escapes_are_safe),
        cmocka_unit_test(test_distinct),
        cmocka_unit_test(test_long_ids),
        cmocka_unit_test(test_mkdirs),
        cmocka_unit_test(test_write_at),
        cmocka_unit_test(test_symlinks_refused),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_tmp_sweep),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
