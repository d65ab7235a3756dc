/*
 * pages.c - writing the pages of the report store v2 (see pages.h): the page's bytes come from
 * html.c, this file only puts them in files, as parts.c does for the reports.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bgqueue.h"
#include "html.h"
#include "kivo/buf.h"
#include "output.h"
#include "pages.h"
#include "testhook.h"
#include "twin.h"

#define WRITE_BUF (1u << 20)

struct wk_pages {
    int dirfd; /* DIR/pages */
    uint32_t per_page;
    int64_t page;   /* the open page, or the next one */
    int open;       /* a page is open (its file: tw) */
    uint64_t bytes; /* of the open page, written and buffered */
    uint32_t runs;  /* on the open page */
    kivo_buf buf;   /* not yet written */
    /* --reuse: the previous store's pages/ (owned), the open page's twin there (twin.h), and one
     * previous page open for carried blocks' bytes. */
    int prev_fd;
    wk_twin tw;
    int src_fd;
    int64_t src_page;
    uint64_t linked; /* pages that are links to the previous store's */
    int after_twin;  /* the last run's block was the twin's, at its own place (twin.h) */
    /* Without a previous store: the files' work (open, write, close: tw) is done in order by a
     * thread of its own (bgqueue.h), and this one only makes the bytes; NULL: done here. */
    wk_bgq *bg;
    int bg_tried;
    int bg_failed; /* the queue failed before wk_pages_set_previous() stopped it: bg_msg */
    char bg_msg[WK_BGQ_MSG_MAX];
};

/* The jobs of p->bg, in the order they are pushed: a page's file made, bytes appended, closed. */
enum { PJ_OPEN, PJ_WRITE, PJ_CLOSE };

/* "NNNN.html[.partial]" (4 or more digits) into out (size WK_HTML_PAGE_NAME_MAX + 8). */
static void page_file(int64_t page, int partial, char *out, size_t outlen)
{
    char name[WK_HTML_PAGE_NAME_MAX];
    wk_html_page_name(page, name);
    snprintf(out, outlen, "%s%s", name, partial ? ".partial" : "");
}

/* 1 and *page when name is a page's name (final or partial), else 0. */
static int parse_page_name(const char *name, int64_t *page)
{
    int64_t v = 0;
    int digits = 0;
    const char *p = name;
    for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits < 4 || strncmp(p, ".html", 5) != 0 || (p[5] && strcmp(p + 5, ".partial") != 0))
        return 0;
    *page = v;
    return 1;
}

/* Removes the pages in dirfd (final or partial) numbered from `from` on (from 0: all).
 * @return 0, or -1 with errno. */
static int remove_pages(int dirfd, int64_t from)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    int64_t n;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (parse_page_name(e->d_name, &n) && n >= from && unlinkat(dirfd, e->d_name, 0) != 0 &&
            errno != ENOENT)
            rc = -1;
    closedir(d);
    return rc;
}

/* Page `page`'s file started (tw). @return 0, or -1 with a message in err. */
static int begin_file(wk_pages *p, int64_t page, char *err, size_t errlen)
{
    char name[WK_HTML_PAGE_NAME_MAX + 8], final[WK_HTML_PAGE_NAME_MAX + 8];
    page_file(page, 1, name, sizeof name);
    page_file(page, 0, final, sizeof final);
    /* With --reuse: made when its first byte differs from its twin's (twin.h). */
    if (wk_twin_begin(&p->tw, p->dirfd, name, final, p->prev_fd, WK_MODE_TEXT) != 0) {
        wk_output_error(err, errlen, "cannot write", WK_PAGES_DIR, name, errno);
        return -1;
    }
    return 0;
}

/* data[0..len) appended to page `page`'s file. @return 0, or -1 with a message in err. */
static int write_file(wk_pages *p, int64_t page, const char *data, size_t len, char *err,
                      size_t errlen)
{
    char name[WK_HTML_PAGE_NAME_MAX + 8];
    if (wk_twin_write(&p->tw, data, len) != 0) {
        page_file(page, 1, name, sizeof name);
        wk_output_error(err, errlen, "cannot write", WK_PAGES_DIR, name, errno);
        return -1;
    }
    return 0;
}

/* Page `page`'s file, whole, synced and given its final name (or linked to its twin).
 * @return 0, or -1 with a message in err. */
static int commit_file(wk_pages *p, int64_t page, char *err, size_t errlen)
{
    char partial[WK_HTML_PAGE_NAME_MAX + 8], final[WK_HTML_PAGE_NAME_MAX + 8];
    page_file(page, 1, partial, sizeof partial);
    page_file(page, 0, final, sizeof final);
    /* Its twin whole: the twin linked under the final name (twin.h). */
    int linked;
    if (wk_twin_close(&p->tw, &linked) != 0) {
        wk_output_error(err, errlen, "cannot write", WK_PAGES_DIR, partial, errno);
        return -1;
    }
    if (linked) {
        wk_test_point("page_link");
        p->linked++;
    }
    if (!linked)
        wk_test_point("page_close");
    if (!linked && wk_commit_at(p->dirfd, partial, final, 0) != 0) {
        wk_output_error(err, errlen, "cannot write", WK_PAGES_DIR, final, errno);
        return -1;
    }
    return 0;
}

static int page_job(void *ctx, int kind, int64_t page, const kivo_buf *buf, char *err,
                    size_t errlen)
{
    wk_pages *p = ctx;
    switch (kind) {
    case PJ_OPEN: return begin_file(p, page, err, errlen);
    case PJ_WRITE: return write_file(p, page, buf->data, buf->len, err, errlen);
    default: return commit_file(p, page, err, errlen);
    }
}

/* Does a job of page p->page: on p->bg's thread when there is one (buf, if any, handed over and
 * left empty), else here. @return 0, or -1 with a message in err (maybe an earlier job's). */
static int page_do(wk_pages *p, int kind, kivo_buf *buf, char *err, size_t errlen)
{
    if (!p->bg && !p->bg_tried && p->prev_fd < 0) {
        /* Started once; when it cannot be (no memory, a limit), the jobs are done here. */
        p->bg_tried = 1;
        p->bg = wk_bgq_start(page_job, p);
    }
    if (p->bg_failed) {
        snprintf(err, errlen, "%s", p->bg_msg);
        return -1;
    }
    if (p->bg)
        return wk_bgq_push(p->bg, kind, p->page, buf, err, errlen);
    if (page_job(p, kind, p->page, buf, err, errlen) != 0)
        return -1;
    if (buf)
        kivo_buf_reset(buf);
    return 0;
}

/* The buffer's bytes to the open page's file. */
static int flush(wk_pages *p, char *err, size_t errlen)
{
    if (!p->buf.len)
        return 0;
    return page_do(p, PJ_WRITE, &p->buf, err, errlen);
}

/* Waits for p->bg's jobs (a checkpoint or the end: they must be on disk). */
static int bg_wait(wk_pages *p, char *err, size_t errlen)
{
    if (p->bg_failed) {
        snprintf(err, errlen, "%s", p->bg_msg);
        return -1;
    }
    return p->bg ? wk_bgq_wait(p->bg, err, errlen) : 0;
}

static wk_pages *pages_new(int out_fd, uint32_t per_page, char *err, size_t errlen)
{
    wk_pages *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->prev_fd = p->src_fd = -1;
    p->src_page = -1;
    p->tw.fd = p->tw.twin = p->tw.src = -1;
    p->per_page = per_page && per_page <= WK_HTML_RUNS_PER_PAGE ? per_page : WK_HTML_RUNS_PER_PAGE;
    kivo_buf_init(&p->buf, 0);
    if ((p->dirfd = wk_dir_walk(out_fd, WK_PAGES_DIR, 1, NULL, NULL)) < 0) {
        wk_output_error(err, errlen, "cannot create", WK_PAGES_DIR, NULL, errno);
        wk_pages_free(p);
        return NULL;
    }
    return p;
}

int wk_pages_open(int out_fd, uint32_t per_page, wk_pages **out, char *err, size_t errlen)
{
    wk_pages *p = pages_new(out_fd, per_page, err, errlen);
    *out = NULL;
    if (!p)
        return -1;
    if (remove_pages(p->dirfd, 0) != 0) {
        snprintf(err, errlen, "cannot remove the pages of an earlier batch: %s", strerror(errno));
        wk_pages_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

static int open_page(wk_pages *p, char *err, size_t errlen)
{
    if (page_do(p, PJ_OPEN, NULL, err, errlen) != 0)
        return -1;
    p->open = 1;
    p->after_twin = 0;
    p->runs = 0;
    if (wk_html_runs_head(p->page, &p->buf) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->bytes = p->buf.len;
    return 0;
}

/* Ends the open page (next: the page after it, or -1), syncs it and gives it its final name. */
static int close_page(wk_pages *p, int64_t next, char *err, size_t errlen)
{
    if (wk_html_runs_tail(next, &p->buf) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (flush(p, err, errlen) != 0)
        return -1;
    p->open = 0;
    if (page_do(p, PJ_CLOSE, NULL, err, errlen) != 0)
        return -1;
    p->page++;
    return 0;
}

int wk_pages_append(wk_pages *p, const char *data, size_t len, wk_page_loc *loc, char *err,
                    size_t errlen)
{
    static const char open_[] = WK_HTML_RUN_OPEN, close_[] = WK_HTML_RUN_CLOSE;
    if (p->open && p->runs == p->per_page && close_page(p, p->page + 1, err, errlen) != 0)
        return -1;
    if (!p->open && open_page(p, err, errlen) != 0)
        return -1;
    loc->page = p->page;
    loc->offset = p->bytes + sizeof open_ - 1;
    loc->length = len;
    p->after_twin = 0;
    if (kivo_buf_append(&p->buf, open_, sizeof open_ - 1) != KIVO_OK ||
        kivo_buf_append(&p->buf, data, len) != KIVO_OK ||
        kivo_buf_append(&p->buf, close_, sizeof close_ - 1) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->bytes += sizeof open_ - 1 + len + sizeof close_ - 1;
    p->runs++;
    wk_test_point("page");
    return p->buf.len >= WRITE_BUF ? flush(p, err, errlen) : 0;
}

int wk_pages_set_previous(wk_pages *p, int prev_pages_fd)
{
    /* Carried blocks need the twin here (its state is read at each one): no thread from now. */
    if (p->bg && wk_bgq_wait(p->bg, p->bg_msg, sizeof p->bg_msg) != 0)
        p->bg_failed = 1;
    wk_bgq_stop(p->bg);
    p->bg = NULL;
    p->bg_tried = 1;
    if (p->prev_fd >= 0)
        close(p->prev_fd);
    p->prev_fd = prev_pages_fd;
    return 0;
}

uint64_t wk_pages_linked(const wk_pages *p)
{
    return p->linked;
}

int wk_pages_append_carried(wk_pages *p, int64_t src_page, uint64_t src_off, size_t len,
                            wk_page_loc *loc, char *err, size_t errlen)
{
    static const char open_[] = WK_HTML_RUN_OPEN, close_[] = WK_HTML_RUN_CLOSE;
    char name[WK_HTML_PAGE_NAME_MAX + 8];
    if (p->prev_fd < 0 || src_page < 0) {
        snprintf(err, errlen, "a carried page block without the previous store's pages");
        return -1;
    }
    if (p->open && p->runs == p->per_page && close_page(p, p->page + 1, err, errlen) != 0)
        return -1;
    if (!p->open && open_page(p, err, errlen) != 0)
        return -1;
    int src = -1;
    if (src_page == p->page && p->tw.twin >= 0) {
        src = p->tw.twin;
    } else {
        if (p->src_page != src_page) {
            if (wk_twin_flush(&p->tw) != 0)
                goto io;
            if (p->src_fd >= 0)
                close(p->src_fd);
            page_file(src_page, 0, name, sizeof name);
            p->src_fd = openat(p->prev_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            p->src_page = p->src_fd >= 0 ? src_page : -1;
        }
        src = p->src_fd;
        if (src < 0)
            goto io;
    }
    loc->page = p->page;
    loc->offset = p->bytes + sizeof open_ - 1;
    loc->length = len;
    if (kivo_buf_append(&p->buf, open_, sizeof open_ - 1) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Between two blocks the twin holds side by side, the twin has what the writer put there
     * (WK_HTML_RUN_CLOSE, WK_HTML_RUN_OPEN) as surely as it has the blocks: not read back. The
     * page's head and tail, and bytes before a block from elsewhere, are compared. */
    if (p->after_twin && src == p->tw.twin && p->tw.same &&
        p->buf.len == sizeof close_ - 1 + sizeof open_ - 1 && src_off == p->tw.pos + p->buf.len) {
        if (wk_twin_write_known(&p->tw, p->buf.data, p->buf.len) != 0)
            goto io;
        kivo_buf_reset(&p->buf);
    } else if (flush(p, err, errlen) != 0) {
        return -1;
    }
    if (wk_twin_copy(&p->tw, src, src_off, len) != 0)
        goto io;
    p->after_twin = src == p->tw.twin && p->tw.same;
    if (kivo_buf_append(&p->buf, close_, sizeof close_ - 1) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->bytes += sizeof open_ - 1 + len + sizeof close_ - 1;
    p->runs++;
    wk_test_point("page");
    return 0;
io:
    page_file(p->page, 1, name, sizeof name);
    wk_output_error(err, errlen, "cannot write", WK_PAGES_DIR, name, errno);
    return -1;
}

int wk_pages_sync(wk_pages *p, wk_pages_state *st, char *err, size_t errlen)
{
    /* The pages closed since the last checkpoint, and the open one's bytes, on disk first. */
    if ((p->open && flush(p, err, errlen) != 0) || bg_wait(p, err, errlen) != 0)
        return -1;
    if (p->open) {
        if (wk_twin_sync(&p->tw) != 0) {
            snprintf(err, errlen, "cannot sync a page: %s", strerror(errno));
            return -1;
        }
    }
    st->page = p->page;
    st->open = p->open;
    st->bytes = st->open ? p->bytes : 0;
    st->runs = st->open ? p->runs : 0;
    return 0;
}

uint64_t wk_pages_runs(const wk_pages_state *st, uint32_t per_page)
{
    if (!per_page || per_page > WK_HTML_RUNS_PER_PAGE)
        per_page = WK_HTML_RUNS_PER_PAGE;
    return (uint64_t)st->page * per_page + (st->open ? st->runs : 0);
}

int wk_pages_finish(wk_pages *p, uint64_t *n_pages, char *err, size_t errlen)
{
    if ((p->open && close_page(p, -1, err, errlen) != 0) || bg_wait(p, err, errlen) != 0)
        return -1;
    if (fsync(p->dirfd) != 0) {
        snprintf(err, errlen, "cannot sync %s/: %s", WK_PAGES_DIR, strerror(errno));
        return -1;
    }
    if (n_pages)
        *n_pages = (uint64_t)p->page;
    return 0;
}

void wk_pages_free(wk_pages *p)
{
    if (!p)
        return;
    wk_bgq_stop(p->bg);
    wk_twin_end(&p->tw);
    if (p->src_fd >= 0)
        close(p->src_fd);
    if (p->prev_fd >= 0)
        close(p->prev_fd);
    if (p->dirfd >= 0)
        close(p->dirfd);
    kivo_buf_free(&p->buf);
    free(p);
}

int wk_pages_resume(int out_fd, uint32_t per_page, const wk_pages_state *st, wk_pages **out,
                    char *err, size_t errlen)
{
    char name[WK_HTML_PAGE_NAME_MAX + 8], partial[WK_HTML_PAGE_NAME_MAX + 8];
    struct stat sb;
    wk_pages *p = pages_new(out_fd, per_page, err, errlen);
    *out = NULL;
    if (!p)
        return -1;
    for (int64_t i = 0; i < st->page; i++) {
        page_file(i, 0, name, sizeof name);
        if (fstatat(p->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) {
            snprintf(err, errlen, "%s/%s is missing: the batch cannot resume", WK_PAGES_DIR, name);
            goto fail;
        }
    }
    /* Pages after the checkpoint's go; so does its open page when it had none open. */
    page_file(st->page, 0, name, sizeof name);
    page_file(st->page, 1, partial, sizeof partial);
    if (st->open && fstatat(p->dirfd, partial, &sb, AT_SYMLINK_NOFOLLOW) != 0 &&
        renameat(p->dirfd, name, p->dirfd, partial) != 0) {
        /* Closed after the checkpoint: open again, as it was then. */
        snprintf(err, errlen, "%s/%s is missing: the batch cannot resume", WK_PAGES_DIR, partial);
        goto fail;
    }
    if (remove_pages(p->dirfd, st->page + (st->open ? 1 : 0)) != 0) {
        snprintf(err, errlen, "cannot remove %s/ after the checkpoint: %s", WK_PAGES_DIR,
                 strerror(errno));
        goto fail;
    }
    p->page = st->page;
    if (st->open) {
        /* Written in place from here: never through a link into another store (twin.h). */
        int fd = wk_unshare_at(p->dirfd, partial) == 0
                     ? openat(p->dirfd, partial, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                     : -1;
        if (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < st->bytes ||
            ftruncate(fd, (off_t)st->bytes) != 0 || lseek(fd, (off_t)st->bytes, SEEK_SET) < 0) {
            if (fd >= 0)
                close(fd);
            snprintf(err, errlen,
                     "%s/%s is shorter than the checkpoint says or cannot be written: the "
                     "batch cannot resume",
                     WK_PAGES_DIR, partial);
            goto fail;
        }
        p->bytes = st->bytes;
        p->runs = st->runs;
        wk_twin_resume(&p->tw, p->dirfd, partial, name, fd, st->bytes);
        p->open = 1;
    }
    *out = p;
    return 0;
fail:
    wk_pages_free(p);
    return -1;
}

int wk_pages_remove(int out_fd)
{
    int fd = wk_dir_walk(out_fd, WK_PAGES_DIR, 0, NULL, NULL), rc;
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    rc = remove_pages(fd, 0);
    close(fd);
    /* Only an empty folder goes: anything else in it is not ours to remove. */
    if (rc == 0 && unlinkat(out_fd, WK_PAGES_DIR, AT_REMOVEDIR) != 0 && errno != ENOTEMPTY &&
        errno != EEXIST)
        rc = -1;
    return rc;
}
