/*
 * test_twin.c - twin.c: a store file deferred while it is its twin (the previous store's file of
 * the same name), written out in the kernel when it is not, and wk_unshare_at(), which keeps a
 * linked file's other names unchanged when it is written in place.
 */
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
#include "twin.h"

static const char TEXT[] = "hello twin world\n";

/* dir/name's bytes (at most cap - 1) as a string; its length, or -1. */
static ssize_t slurp(int dirfd, const char *name, char *out, size_t cap)
{
    int fd = openat(dirfd, name, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n >= 0)
        out[n] = '\0';
    return n;
}

static int make(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

/* A scratch folder with prev/f (TEXT) and an empty out/. */
typedef struct dirs {
    char *root;
    int prev, out;
} dirs;

static dirs setup(void)
{
    dirs d;
    char path[512];
    d.root = kt_scratch_dir("twin");
    snprintf(path, sizeof path, "%s/prev", d.root);
    assert_int_equal(mkdir(path, 0700), 0);
    d.prev = open(path, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%s/out", d.root);
    assert_int_equal(mkdir(path, 0700), 0);
    d.out = open(path, O_RDONLY | O_DIRECTORY);
    close(make(d.prev, "f", TEXT));
    return d;
}

static void teardown(dirs *d)
{
    close(d->prev);
    close(d->out);
    kt_scratch_remove(d->root);
}

/* 1 when a/na and b/nb are one file. */
static int same_file(int a, const char *na, int b, const char *nb)
{
    struct stat x, y;
    return fstatat(a, na, &x, 0) == 0 && fstatat(b, nb, &y, 0) == 0 && x.st_ino == y.st_ino &&
           x.st_dev == y.st_dev;
}

static void test_same_is_linked(void **state)
{
    (void)state;
    dirs d = setup();
    wk_twin t;
    int linked = -1;
    assert_int_equal(wk_twin_begin(&t, d.out, "f.partial", "f", d.prev, 0600), 0);
    /* Bytes from memory equal to the twin's, then a range of the twin at its own place. */
    assert_int_equal(wk_twin_write(&t, "hello ", 6), 0);
    assert_int_equal(wk_twin_copy(&t, t.twin, 6, 5), 0);
    assert_int_equal(wk_twin_linkable(&t), 0); /* not the twin's size yet */
    assert_int_equal(wk_twin_copy(&t, t.twin, 11, strlen(TEXT) - 11), 0);
    assert_int_equal(wk_twin_linkable(&t), 1);
    assert_int_equal(faccessat(d.out, "f.partial", F_OK, 0), -1); /* nothing made */
    assert_int_equal(wk_twin_close(&t, &linked), 0);
    assert_int_equal(linked, 1);
    assert_true(same_file(d.out, "f", d.prev, "f"));
    assert_int_equal(faccessat(d.out, "f.partial", F_OK, 0), -1);
    teardown(&d);
}

static void test_differs_then_copies(void **state)
{
    (void)state;
    dirs d = setup();
    char buf[256];
    close(make(d.prev, "other", "0123456789"));
    int other = openat(d.prev, "other", O_RDONLY);
    wk_twin t;
    int linked = -1;
    assert_int_equal(wk_twin_begin(&t, d.out, "f.partial", "f", d.prev, 0600), 0);
    assert_int_equal(wk_twin_copy(&t, t.twin, 0, 6), 0); /* "hello " deferred */
    /* Differs from the twin: the twin's prefix is written out, then the new bytes. */
    assert_int_equal(wk_twin_write(&t, "TWIN", 4), 0);
    assert_int_equal(slurp(d.out, "f.partial", buf, sizeof buf), 10);
    assert_string_equal(buf, "hello TWIN");
    /* Contiguous ranges of another file: one pending copy, out by the next write or sync. */
    assert_int_equal(wk_twin_copy(&t, other, 2, 3), 0);
    assert_int_equal(wk_twin_copy(&t, other, 5, 2), 0);
    assert_int_equal(t.src_len, 5u);
    assert_int_equal(wk_twin_copy(&t, t.twin, 0, 5), 0); /* another source: flushes */
    assert_int_equal(wk_twin_write(&t, "\n", 1), 0);
    assert_int_equal(wk_twin_sync(&t), 0);
    assert_int_equal(slurp(d.out, "f.partial", buf, sizeof buf), 21);
    assert_string_equal(buf, "hello TWIN23456hello\n");
    assert_int_equal(t.pos, 21u);
    /* A range past the source's end is an error, not short bytes. */
    int scratch = make(d.out, "scratch", "");
    errno = 0;
    assert_int_equal(wk_copy_range(other, 8, 5, scratch), -1);
    assert_int_equal(errno, EIO);
    close(scratch);
    assert_int_equal(wk_twin_close(&t, &linked), 0);
    assert_int_equal(linked, 0);
    assert_int_equal(slurp(d.out, "f.partial", buf, sizeof buf), 21); /* the caller renames */
    assert_int_equal(slurp(d.prev, "f", buf, sizeof buf), (ssize_t)strlen(TEXT));
    close(other);
    teardown(&d);
}

static void test_checkpoint_links(void **state)
{
    (void)state;
    dirs d = setup();
    char buf[256];
    wk_twin t;
    int linked = -1;
    /* A checkpoint while the file is its twin: the partial name is a link to the twin. */
    assert_int_equal(wk_twin_begin(&t, d.out, "f.partial", "f", d.prev, 0600), 0);
    assert_int_equal(wk_twin_copy(&t, t.twin, 0, 5), 0);
    assert_int_equal(wk_twin_sync(&t), 0);
    assert_true(same_file(d.out, "f.partial", d.prev, "f"));
    assert_int_equal(wk_twin_sync(&t), 0); /* again: nothing to do */
    assert_int_equal(wk_twin_copy(&t, t.twin, 5, strlen(TEXT) - 5), 0);
    assert_int_equal(wk_twin_close(&t, &linked), 0);
    assert_int_equal(linked, 1);
    assert_true(same_file(d.out, "f", d.prev, "f"));
    assert_int_equal(faccessat(d.out, "f.partial", F_OK, 0), -1);
    /* The same, then a byte that differs: a file of its own replaces the link, the twin keeps
     * its bytes. */
    assert_int_equal(unlinkat(d.out, "f", 0), 0);
    assert_int_equal(wk_twin_begin(&t, d.out, "f.partial", "f", d.prev, 0600), 0);
    assert_int_equal(wk_twin_copy(&t, t.twin, 0, 5), 0);
    assert_int_equal(wk_twin_sync(&t), 0);
    assert_true(same_file(d.out, "f.partial", d.prev, "f"));
    assert_int_equal(wk_twin_write(&t, "X", 1), 0);
    assert_false(same_file(d.out, "f.partial", d.prev, "f"));
    assert_int_equal(wk_twin_close(&t, &linked), 0);
    assert_int_equal(linked, 0);
    assert_int_equal(slurp(d.out, "f.partial", buf, sizeof buf), 6);
    assert_string_equal(buf, "helloX");
    assert_int_equal(slurp(d.prev, "f", buf, sizeof buf), (ssize_t)strlen(TEXT));
    assert_string_equal(buf, TEXT);
    /* No twin: made at once, an ordinary file. */
    assert_int_equal(wk_twin_begin(&t, d.out, "g.partial", "g", d.prev, 0600), 0);
    assert_int_equal(faccessat(d.out, "g.partial", F_OK, 0), 0);
    assert_int_equal(wk_twin_write(&t, "x", 1), 0);
    assert_int_equal(wk_twin_close(&t, &linked), 0);
    assert_int_equal(linked, 0);
    assert_int_equal(slurp(d.out, "g.partial", buf, sizeof buf), 1);
    teardown(&d);
}

/* The final name already a link to the twin (an earlier batch's in this folder, started over
 * with --reuse of the same previous store) and the partial name linked by a checkpoint: both are
 * one file, which rename(2) leaves as it is; the partial name must go all the same. */
static void test_checkpoint_link_over_same(void **state)
{
    (void)state;
    dirs d = setup();
    wk_twin t;
    int linked = -1;
    assert_int_equal(linkat(d.prev, "f", d.out, "f", 0), 0);
    assert_int_equal(wk_twin_begin(&t, d.out, "f.partial", "f", d.prev, 0600), 0);
    assert_int_equal(wk_twin_copy(&t, t.twin, 0, 5), 0);
    assert_int_equal(wk_twin_sync(&t), 0);
    assert_true(same_file(d.out, "f.partial", d.prev, "f"));
    assert_int_equal(wk_twin_copy(&t, t.twin, 5, strlen(TEXT) - 5), 0);
    assert_int_equal(wk_twin_close(&t, &linked), 0);
    assert_int_equal(linked, 1);
    assert_true(same_file(d.out, "f", d.prev, "f"));
    assert_int_equal(faccessat(d.out, "f.partial", F_OK, 0), -1);
    teardown(&d);
}

static void test_unshare(void **state)
{
    (void)state;
    char *root = kt_scratch_dir("twin");
    int d = open(root, O_RDONLY | O_DIRECTORY);
    char buf[256];
    struct stat a, b;
    close(make(d, "a", TEXT));
    assert_int_equal(linkat(d, "a", d, "b", 0), 0);
    assert_int_equal(wk_unshare_at(d, "b"), 0);
    assert_int_equal(fstatat(d, "a", &a, 0), 0);
    assert_int_equal(fstatat(d, "b", &b, 0), 0);
    assert_true(a.st_ino != b.st_ino);
    assert_int_equal(a.st_nlink, 1);
    assert_int_equal(b.st_nlink, 1);
    assert_int_equal(b.st_mode & 0777, 0600);
    /* Written in place now: a keeps its bytes. */
    int fd = openat(d, "b", O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    assert_int_equal(slurp(d, "a", buf, sizeof buf), (ssize_t)strlen(TEXT));
    assert_string_equal(buf, TEXT);
    /* One link, or no file: left alone. */
    assert_int_equal(wk_unshare_at(d, "a"), 0);
    assert_int_equal(fstatat(d, "a", &b, 0), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(wk_unshare_at(d, "missing"), 0);
    /* No temporary file left. */
    assert_int_equal(faccessat(d, "c", F_OK, 0), -1);
    close(d);
    kt_scratch_remove(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_is_linked),   cmocka_unit_test(test_differs_then_copies),
        cmocka_unit_test(test_checkpoint_links), cmocka_unit_test(test_checkpoint_link_over_same),
        cmocka_unit_test(test_unshare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
