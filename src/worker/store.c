/*
 * store.c - opening a report store by its layout and passing calls to that layout's reader. The
 * layout is told from what the folder holds, so `compare` needs no flag for it.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

/* 1 when dir/reports holds parts of the report store v2 (issue 14), which this build cannot read
 * yet: better a clear message than reading nothing and reporting every run as missing. */
static int has_parts(const char *dir)
{
    char pattern[4200];
    glob_t g;
    int found;
    snprintf(pattern, sizeof pattern, "%s/reports/part-*.jsonl*", dir);
    found = glob(pattern, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
    globfree(&g);
    return found;
}

int wk_store_open(const char *dir, wk_store **out, char *err, size_t errlen)
{
    char path[4200];
    struct stat st;
    wk_store *s;
    *out = NULL;
    snprintf(path, sizeof path, "%s/reports", dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a folder", dir);
        return -1;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "%s has no reports/ folder: give the out folder of a kivo-worker "
                 "batch",
                 dir);
        return -1;
    }
    if (has_parts(dir)) {
        snprintf(err, errlen,
                 "%s holds a report store v2 (reports/part-*.jsonl), which this "
                 "build of kivo-worker cannot read yet",
                 dir);
        return -1;
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->dir = strdup(dir))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (wk_store_perrun_open(s, err, errlen) != 0) {
        free(s->dir);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void wk_store_close(wk_store *s)
{
    if (!s)
        return;
    s->ops->close(s);
    free(s->dir);
    free(s);
}

const char *wk_store_layout(const wk_store *s)
{
    return s->ops->layout;
}

int wk_store_next(wk_store *s, wk_store_report *r, char *err, size_t errlen)
{
    return s->ops->next(s, r, err, errlen);
}

int wk_store_get(wk_store *s, const char *workflow_id, const char *run_id, wk_store_report *r,
                 char *err, size_t errlen)
{
    return s->ops->get(s, workflow_id, run_id, r, err, errlen);
}

int wk_store_link(wk_store *s, const char *workflow_id, const char *run_id, char *href,
                  size_t hreflen)
{
    return s->ops->link(s, workflow_id, run_id, href, hreflen);
}
