/*
 * store_perrun.c - the per-run report store: DIR/reports/<workflow>/<run>/claim_report.json, both
 * folder names path-encoded (output.h). Reports are returned workflow by workflow and, within one,
 * by folder name, so two reads of a store give the same order on any file system. Only the names
 * of the workflow being read are held in memory (one arena, no allocation per name).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kivo/buf.h"
#include "kivo/json.h"
#include "output.h"
#include "store.h"

#define REPORT_MAX (256u << 20) /* larger is not a report this worker wrote */

typedef struct names {
    kivo_buf arena; /* NUL-terminated names, one after another */
    size_t *off;
    size_t n, cap, at;
} names;

typedef struct perrun {
    names wfs, runs;
    char *buf; /* the report read last, with KIVO_JSON_PADDING spare bytes */
    size_t cap;
    char path[8192];
} perrun;

static void names_free(names *n)
{
    kivo_buf_free(&n->arena);
    free(n->off);
    memset(n, 0, sizeof *n);
}

static int by_name(const void *a, const void *b, void *arg)
{
    const char *base = arg;
    return strcmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

/* The sub-folders of dir (not starting with '.'), sorted. @return 0, or -1 with errno. */
static int list_dirs(const char *dir, names *n)
{
    DIR *d;
    struct dirent *e;
    int rc = -1;
    kivo_buf_reset(&n->arena);
    n->n = n->at = 0;
    if (!(d = opendir(dir)))
        return -1;
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
            continue;
        if (n->n == n->cap) {
            size_t cap = n->cap ? n->cap * 2 : 1024;
            size_t *o = realloc(n->off, cap * sizeof *o);
            if (!o)
                goto out;
            n->off = o;
            n->cap = cap;
        }
        n->off[n->n++] = n->arena.len;
        if (kivo_buf_append(&n->arena, e->d_name, strlen(e->d_name) + 1) != KIVO_OK) {
            errno = ENOMEM;
            goto out;
        }
    }
    if (errno)
        goto out;
    if (n->n)
        qsort_r(n->off, n->n, sizeof *n->off, by_name, n->arena.data);
    rc = 0;
out:
    closedir(d);
    return rc;
}

/* Reads path into p->buf. @return 1, 0 when it does not exist, -1 with errno. */
static int read_report(perrun *p, const char *path, wk_store_report *r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int rc = -1;
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    if (fstat(fd, &st) != 0)
        goto out;
    size_t size = S_ISREG(st.st_mode) && (size_t)st.st_size <= REPORT_MAX ? (size_t)st.st_size : 0;
    if (size + KIVO_JSON_PADDING + 1 > p->cap) {
        size_t cap = size + KIVO_JSON_PADDING + 1 + (size >> 1);
        char *b = realloc(p->buf, cap);
        if (!b)
            goto out;
        p->buf = b;
        p->cap = cap;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t k = read(fd, p->buf + got, size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* shrank while read: what was read is judged by the caller */
        got += (size_t)k;
    }
    memset(p->buf + got, 0, KIVO_JSON_PADDING + 1);
    r->data = p->buf;
    r->len = got;
    r->where = path;
    rc = 1;
out:
    close(fd);
    return rc;
}

static int pr_next(wk_store *s, wk_store_report *r, char *err, size_t errlen)
{
    perrun *p = s->impl;
    for (;;) {
        while (p->runs.at < p->runs.n) {
            const char *wf = p->wfs.arena.data + p->wfs.off[p->wfs.at - 1];
            const char *run = p->runs.arena.data + p->runs.off[p->runs.at++];
            snprintf(p->path, sizeof p->path, "%s/reports/%s/%s/claim_report.json", s->dir, wf,
                     run);
            int got = read_report(p, p->path, r);
            if (got != 0) {
                if (got < 0)
                    snprintf(err, errlen, "cannot read %s: %s", p->path, strerror(errno));
                return got;
            }
            /* A folder without a report (an interrupted write, or not ours): nothing to read. */
        }
        if (p->wfs.at == p->wfs.n)
            return 0;
        const char *wf = p->wfs.arena.data + p->wfs.off[p->wfs.at++];
        snprintf(p->path, sizeof p->path, "%s/reports/%s", s->dir, wf);
        if (list_dirs(p->path, &p->runs) != 0) {
            snprintf(err, errlen, "cannot list %s: %s", p->path, strerror(errno));
            return -1;
        }
    }
}

static int pr_get(wk_store *s, const char *workflow_id, const char *run_id, wk_store_report *r,
                  char *err, size_t errlen)
{
    perrun *p = s->impl;
    char wf[WK_COMPONENT_MAX], run[WK_COMPONENT_MAX];
    wk_path_component(workflow_id, strlen(workflow_id), wf);
    wk_path_component(run_id, strlen(run_id), run);
    snprintf(p->path, sizeof p->path, "%s/reports/%s/%s/claim_report.json", s->dir, wf, run);
    int got = read_report(p, p->path, r);
    if (got < 0)
        snprintf(err, errlen, "cannot read %s: %s", p->path, strerror(errno));
    return got;
}

static int pr_link(wk_store *s, const char *workflow_id, const char *run_id, char *href,
                   size_t hreflen)
{
    static const char *const files[] = {"claim_report.html", "claim_report.json"};
    char wf[WK_COMPONENT_MAX], run[WK_COMPONENT_MAX], path[8192];
    struct stat st;
    wk_path_component(workflow_id, strlen(workflow_id), wf);
    wk_path_component(run_id, strlen(run_id), run);
    for (int i = 0; i < 2; i++) {
        int n = snprintf(href, hreflen, "reports/%s/%s/%s", wf, run, files[i]);
        snprintf(path, sizeof path, "%s/%s", s->dir, href);
        if (n > 0 && (size_t)n < hreflen && stat(path, &st) == 0)
            return 0;
    }
    return -1;
}

static void pr_close(wk_store *s)
{
    perrun *p = s->impl;
    if (!p)
        return;
    names_free(&p->wfs);
    names_free(&p->runs);
    free(p->buf);
    free(p);
    s->impl = NULL;
}

static const wk_store_ops perrun_ops = {"per-run", pr_next, pr_get, pr_link, pr_close};

int wk_store_perrun_open(wk_store *s, char *err, size_t errlen)
{
    perrun *p = calloc(1, sizeof *p);
    char path[4200];
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    kivo_buf_init(&p->wfs.arena, 0);
    kivo_buf_init(&p->runs.arena, 0);
    s->impl = p;
    s->ops = &perrun_ops;
    snprintf(path, sizeof path, "%s/reports", s->dir);
    if (list_dirs(path, &p->wfs) != 0) {
        snprintf(err, errlen, "cannot list %s: %s", path, strerror(errno));
        pr_close(s);
        return -1;
    }
    return 0;
}
