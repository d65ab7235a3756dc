/*
 * store_v2.c - the report store v2 reader: DIR/reports/index (report_index.h) says where each
 * run's report is in DIR/reports/part-NNNNN.jsonl[.zst] (parts.h). Reports come in input order
 * (the index's seq); a lookup is one indexed query and one read (one frame when compressed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "html.h"
#include "output.h"
#include "pages.h"
#include "parts.h"
#include "report_index.h"
#include "store.h"

typedef struct v2 {
    wk_rindex *ix;
    wk_part_reader *rd;
    int reports_fd;
    uint64_t seq; /* the next report of wk_store_next */
    char workflow_id[1024];
    char where[128];
} v2;

static int v2_read(v2 *x, const wk_rindex_hit *hit, wk_store_report *r, char *err, size_t errlen)
{
    if (wk_part_reader_get(x->rd, hit, &r->data, &r->len, err, errlen) != 0)
        return -1;
    snprintf(x->where, sizeof x->where, "reports/part-%05u at %llu", hit->row.part,
             (unsigned long long)hit->row.offset);
    r->where = x->where;
    return 1;
}

static int v2_next(wk_store *s, wk_store_report *r, char *err, size_t errlen)
{
    v2 *x = s->impl;
    wk_rindex_hit hit;
    int got = wk_rindex_at(x->ix, x->seq, &hit);
    if (got < 0) {
        snprintf(err, errlen, "cannot read %s/reports/index: %s", s->dir, wk_rindex_errmsg(x->ix));
        return -1;
    }
    if (got == 0)
        return 0;
    x->seq++;
    return v2_read(x, &hit, r, err, errlen);
}

static int v2_get(wk_store *s, const char *workflow_id, const char *run_id, wk_store_report *r,
                  char *err, size_t errlen)
{
    v2 *x = s->impl;
    wk_rindex_hit hit;
    if (workflow_id && strcmp(workflow_id, x->workflow_id) != 0)
        return 0;
    int got = wk_rindex_find(x->ix, run_id, &hit);
    if (got < 0) {
        snprintf(err, errlen, "cannot read %s/reports/index: %s", s->dir, wk_rindex_errmsg(x->ix));
        return -1;
    }
    return got == 0 ? 0 : v2_read(x, &hit, r, err, errlen);
}

static int v2_link(wk_store *s, const char *workflow_id, const char *run_id, char *href,
                   size_t hreflen)
{
    v2 *x = s->impl;
    wk_rindex_hit hit;
    if (strcmp(workflow_id, x->workflow_id) != 0 || wk_rindex_find(x->ix, run_id, &hit) != 1 ||
        hit.row.page < 0)
        return -1;
    int n = snprintf(href, hreflen, "pages/%04lld.html#run=%s", (long long)hit.row.page, run_id);
    return n > 0 && (size_t)n < hreflen ? 0 : -1;
}

int wk_store_v2_page(wk_store *s, const char *run_id, char **data, size_t *len, char *err,
                     size_t errlen)
{
    v2 *x = s->impl;
    wk_rindex_hit hit;
    char name[WK_HTML_PAGE_NAME_MAX], *buf = NULL;
    int got = wk_rindex_find(x->ix, run_id, &hit), dirfd = -1, fd = -1, rc = -1;
    if (got <= 0 || hit.row.page < 0) {
        if (got < 0)
            snprintf(err, errlen, "cannot read %s/reports/index: %s", s->dir,
                     wk_rindex_errmsg(x->ix));
        return got < 0 ? -1 : 0;
    }
    wk_html_page_name(hit.row.page, name);
    size_t n = (size_t)hit.row.page_length;
    if ((dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        (fd = wk_dir_walk(dirfd, WK_PAGES_DIR, 0, NULL, NULL)) < 0) {
        wk_output_error(err, errlen, "cannot open", s->dir, WK_PAGES_DIR, errno);
        goto out;
    }
    int pfd = wk_read_open(fd, name);
    close(fd);
    fd = pfd;
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s/%s/%s: %s", s->dir, WK_PAGES_DIR, name,
                 strerror(errno));
        goto out;
    }
    if (n > ((size_t)1 << 31) || !(buf = malloc(n ? n : 1))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ssize_t r = pread(fd, buf, n, (off_t)hit.row.page_offset);
    if (r < 0 || (size_t)r != n) {
        snprintf(err, errlen, "cannot read %s/%s/%s: %s", s->dir, WK_PAGES_DIR, name,
                 r < 0 ? strerror(errno) : "shorter than the index says");
        goto out;
    }
    *data = buf;
    *len = n;
    buf = NULL;
    rc = 1;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

static void v2_close(wk_store *s)
{
    v2 *x = s->impl;
    if (!x)
        return;
    wk_rindex_close(x->ix);
    wk_part_reader_close(x->rd);
    if (x->reports_fd >= 0)
        close(x->reports_fd);
    free(x);
    s->impl = NULL;
}

static const wk_store_ops v2_ops = {"v2", v2_next, v2_get, v2_link, v2_close};

const char *wk_store_workflow(const wk_store *s)
{
    return s->ops == &v2_ops ? ((const v2 *)s->impl)->workflow_id : NULL;
}

int wk_store_v2_open(wk_store *s, char *err, size_t errlen)
{
    v2 *x = calloc(1, sizeof *x);
    char path[4200], complete[8] = "";
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    x->reports_fd = -1;
    s->impl = x;
    s->ops = &v2_ops;
    snprintf(path, sizeof path, "%s/reports", s->dir);
    if ((x->reports_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (wk_rindex_open_read(path, &x->ix, err, errlen) != 0) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n,
                 " (a report store whose batch did not finish, or not a "
                 "kivo-worker index)");
        goto fail;
    }
    if (wk_rindex_get(x->ix, "complete", complete, sizeof complete) != 1) {
        snprintf(err, errlen,
                 "%s holds a report store whose batch did not finish (run it again "
                 "with the same job spec and out folder)",
                 s->dir);
        goto fail;
    }
    if (wk_rindex_get(x->ix, "workflow_id", x->workflow_id, sizeof x->workflow_id) != 1) {
        snprintf(err, errlen, "%s/index names no workflow_id: not a kivo-worker report store",
                 path);
        goto fail;
    }
    if (wk_part_reader_open(x->reports_fd, &x->rd) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return 0;
fail:
    v2_close(s);
    return -1;
}
