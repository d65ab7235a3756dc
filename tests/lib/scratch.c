/*
 * scratch.c - scratch folders and files for the unit tests (scratch.h).
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

char *kt_scratch_dir(const char *name)
{
    char tmpl[256];
    char *dir;

    assert_true((size_t)snprintf(tmpl, sizeof tmpl, "/tmp/kivo-test-%s-XXXXXX", name) <
                sizeof tmpl);
    assert_non_null(mkdtemp(tmpl));
    dir = strdup(tmpl);
    assert_non_null(dir);
    return dir;
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

void kt_scratch_remove(char *dir)
{
    if (!dir)
        return;
    /* Depth first, without following links: a planted link to elsewhere loses only itself. */
    assert_int_equal(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

const char *kt_scratch_write(const char *dir, const char *name, const void *data, size_t len)
{
    static char path[512];
    FILE *f;

    assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}
