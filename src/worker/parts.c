/*
 * parts.c - writing and reading the parts of the report store v2 (see parts.h). Uncompressed
 * reports go through one write buffer; compressed ones are gathered into a frame's worth of
 * content and written as one independent zstd frame, so a reader needs only that frame.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "kivo/json.h"
#include "output.h"
#include "parts.h"
#include "testhook.h"
#include "twin.h"

/* Reports gathered per write(2) of an uncompressed part: 256 KiB is a few hundred reports, few
 * enough calls; the 4 MiB it was held that much more memory (peak RSS, issue 19). */
#define WRITE_BUF (256u << 10)
#define ZSTD_LEVEL 3

struct wk_parts {
    int dirfd;
    wk_compress c;
    uint64_t part_size;
    wk_rindex *ix;
    uint32_t part;        /* the open part, or the next one */
    int open;             /* a part is open (its file: tw) */
    uint64_t bytes;       /* in the open part's file */
    uint64_t content;     /* its reports' bytes, newlines included (decompressed) */
    uint32_t frames;      /* frames written to it */
    uint64_t frame_start; /* content offset where the pending frame starts */
    char *buf;            /* pending: file bytes (none) or the frame's content (zstd) */
    size_t len, cap;
    char *zbuf; /* a compressed frame */
    size_t zcap;
    uint64_t *closed; /* the closed parts' sizes in bytes, [0, part) */
    size_t closed_cap;
    /* --reuse (uncompressed): the previous store's reports/ (owned), the open part's twin there
     * (twin.h), and one other previous part open for carried reports' bytes. */
    int prev_fd;
    wk_twin tw;
    int src_fd;
    int64_t src_part;
    uint32_t linked; /* parts that are links to the previous store's */
};

int wk_compress_parse(const char *s, wk_compress *out)
{
    if (!strcmp(s, "none"))
        *out = WK_COMPRESS_NONE;
    else if (!strcmp(s, "zstd"))
        *out = WK_COMPRESS_ZSTD;
    else
        return -1;
    return 0;
}

const char *wk_compress_name(wk_compress c)
{
    return c == WK_COMPRESS_ZSTD ? "zstd" : "none";
}

int wk_size_parse(const char *s, unsigned long long min, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    if (end == s || errno)
        return -1;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end || v > (~0ull >> shift) || (v << shift) < min)
        return -1;
    *out = v << shift;
    return 0;
}

void wk_part_name(uint32_t part, wk_compress c, int partial, char out[WK_PART_NAME_MAX])
{
    snprintf(out, WK_PART_NAME_MAX, "part-%05u.jsonl%s%s", part,
             c == WK_COMPRESS_ZSTD ? ".zst" : "", partial ? ".partial" : "");
}

int wk_part_parse_name(const char *name, uint32_t *part, int *partial)
{
    const char *p = name;
    uint64_t v = 0;
    int digits = 0;
    if (strncmp(p, "part-", 5) != 0)
        return 0;
    for (p += 5; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (digits < 5 || v > UINT32_MAX || strncmp(p, ".jsonl", 6) != 0)
        return 0;
    p += 6;
    if (!strncmp(p, ".zst", 4))
        p += 4;
    int part_ = !strcmp(p, ".partial");
    if (*p && !part_)
        return 0;
    *part = (uint32_t)v;
    if (partial)
        *partial = part_;
    return 1;
}

/* Removes every part (and partial part) in dirfd: what an earlier batch left. */
static int remove_parts(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    uint32_t n;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (wk_part_parse_name(e->d_name, &n, NULL) && unlinkat(dirfd, e->d_name, 0) != 0 &&
            errno != ENOENT)
            rc = -1;
    closedir(d);
    return rc;
}

static wk_parts *parts_new(int reports_fd, wk_compress c, uint64_t part_size, wk_rindex *ix);

int wk_parts_open(int reports_fd, wk_compress c, uint64_t part_size, wk_rindex *ix, wk_parts **out,
                  char *err, size_t errlen)
{
    wk_parts *p = parts_new(reports_fd, c, part_size, ix);
    *out = NULL;
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (remove_parts(reports_fd) != 0) {
        snprintf(err, errlen, "cannot remove the parts of an earlier batch: %s", strerror(errno));
        wk_parts_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* The message for a write to the open part that failed with errno. @return -1. */
static int write_failed(const wk_parts *p, char *err, size_t errlen)
{
    char name[WK_PART_NAME_MAX];
    wk_part_name(p->part, p->c, 1, name);
    snprintf(err, errlen, "cannot write reports/%s: %s", name, strerror(errno));
    return -1;
}

/* Writes out what is pending: the buffer (none), or the frame (zstd) with its row in the index. */
static int flush(wk_parts *p, char *err, size_t errlen)
{
    if (!p->len)
        return 0;
    if (p->c == WK_COMPRESS_NONE) {
        if (wk_twin_write(&p->tw, p->buf, p->len) != 0)
            goto io;
        p->bytes += p->len;
        p->len = 0;
        return 0;
    }
    size_t bound = ZSTD_compressBound(p->len);
    if (bound > p->zcap) {
        char *z = realloc(p->zbuf, bound);
        if (!z) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p->zbuf = z;
        p->zcap = bound;
    }
    size_t zn = ZSTD_compress(p->zbuf, p->zcap, p->buf, p->len, ZSTD_LEVEL);
    if (ZSTD_isError(zn)) {
        snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(zn));
        return -1;
    }
    int fd = wk_twin_fd(&p->tw);
    if (fd < 0 || wk_write_all(fd, p->zbuf, zn) != 0)
        goto io;
    wk_write_behind(fd, p->bytes, zn);
    wk_rindex_frame f = {p->part, p->frames, p->bytes, zn, p->frame_start, p->len};
    if (p->ix && wk_rindex_add_frame(p->ix, &f) != 0) {
        snprintf(err, errlen, "cannot write the index: %s", wk_rindex_errmsg(p->ix));
        return -1;
    }
    p->bytes += zn;
    p->frames++;
    p->frame_start += p->len;
    p->len = 0;
    return 0;
io:
    return write_failed(p, err, errlen);
}

static int open_part(wk_parts *p, char *err, size_t errlen)
{
    char name[WK_PART_NAME_MAX], final[WK_PART_NAME_MAX];
    wk_part_name(p->part, p->c, 1, name);
    wk_part_name(p->part, p->c, 0, final);
    /* Uncompressed, with --reuse: made when its first byte differs from its twin's (twin.h). */
    if (wk_twin_begin(&p->tw, p->dirfd, name, final, p->c == WK_COMPRESS_NONE ? p->prev_fd : -1,
                      WK_MODE_TEXT) != 0) {
        wk_output_error(err, errlen, "cannot write", "reports", name, errno);
        return -1;
    }
    p->open = 1;
    p->bytes = p->content = p->frame_start = 0;
    p->frames = 0;
    return 0;
}

/* Writes out the open part, syncs it and gives it its final name. */
static int close_part(wk_parts *p, char *err, size_t errlen)
{
    char partial[WK_PART_NAME_MAX], final[WK_PART_NAME_MAX];
    wk_part_name(p->part, p->c, 1, partial);
    wk_part_name(p->part, p->c, 0, final);
    if (flush(p, err, errlen) != 0)
        return -1;
    int linked;
    p->open = 0;
    if (wk_twin_close(&p->tw, &linked) != 0)
        return write_failed(p, err, errlen);
    if (linked) {
        wk_test_point("part_link");
        p->linked++;
    }
    if (p->part >= p->closed_cap) {
        size_t cap = p->closed_cap ? p->closed_cap * 2 : 64;
        uint64_t *v = realloc(p->closed, cap * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p->closed = v;
        p->closed_cap = cap;
    }
    p->closed[p->part] = p->bytes;
    if (!linked)
        wk_test_point("part_close");
    if (!linked && wk_commit_at(p->dirfd, partial, final, 0) != 0) {
        wk_output_error(err, errlen, "cannot write", "reports", final, errno);
        return -1;
    }
    p->part++;
    return 0;
}

int wk_parts_append(wk_parts *p, const char *data, size_t len, wk_part_loc *loc, char *err,
                    size_t errlen)
{
    /* A report ends with its newline (kivo_report_render); one that did not would get one. */
    size_t nl = len == 0 || data[len - 1] != '\n', need = len + nl;
    if (!p->open && open_part(p, err, errlen) != 0)
        return -1;
    /* zstd: a report that would overflow the pending frame starts the next one. */
    if (p->c == WK_COMPRESS_ZSTD && p->len && p->len + need > WK_FRAME_MAX &&
        flush(p, err, errlen) != 0)
        return -1;
    loc->part = p->part;
    loc->offset = p->content;
    loc->frame = p->c == WK_COMPRESS_ZSTD ? (int64_t)p->frames : -1;
    if (p->len + need > p->cap) {
        if (p->c == WK_COMPRESS_NONE && flush(p, err, errlen) != 0)
            return -1;
        if (need > p->cap) {
            if (p->c == WK_COMPRESS_NONE) {
                /* Larger than the buffer: straight to the file. */
                if (wk_twin_write(&p->tw, data, len) != 0 ||
                    (nl && wk_twin_write(&p->tw, "\n", 1) != 0)) {
                    snprintf(err, errlen, "cannot write a part: %s", strerror(errno));
                    return -1;
                }
                p->bytes += need;
                goto written;
            }
            char *b = realloc(p->buf, need);
            if (!b) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            p->buf = b;
            p->cap = need;
        }
    }
    memcpy(p->buf + p->len, data, len);
    if (nl)
        p->buf[p->len + len] = '\n';
    p->len += need;
written:
    p->content += need;
    if (p->content >= p->part_size)
        return close_part(p, err, errlen);
    return 0;
}

int wk_parts_finish(wk_parts *p, uint32_t *n_parts, char *err, size_t errlen)
{
    if (p->open && close_part(p, err, errlen) != 0)
        return -1;
    if (fsync(p->dirfd) != 0) {
        snprintf(err, errlen, "cannot sync reports/: %s", strerror(errno));
        return -1;
    }
    if (n_parts)
        *n_parts = p->part;
    return 0;
}

int wk_parts_set_previous(wk_parts *p, int prev_reports_fd)
{
    if (p->prev_fd >= 0)
        close(p->prev_fd);
    p->prev_fd = prev_reports_fd;
    return 0;
}

int wk_parts_append_carried(wk_parts *p, const char *data, size_t len, uint32_t src_part,
                            uint64_t src_off, wk_part_loc *loc, char *err, size_t errlen)
{
    if (p->c != WK_COMPRESS_NONE || p->prev_fd < 0 || len == 0 || data[len - 1] != '\n')
        return wk_parts_append(p, data, len, loc, err, errlen);
    if (!p->open && open_part(p, err, errlen) != 0)
        return -1;
    int src = -1;
    if (src_part == p->part && p->tw.twin >= 0) {
        src = p->tw.twin;
    } else {
        if (p->src_part != (int64_t)src_part) {
            if (wk_twin_flush(&p->tw) != 0)
                goto io;
            if (p->src_fd >= 0)
                close(p->src_fd);
            char name[WK_PART_NAME_MAX];
            wk_part_name(src_part, WK_COMPRESS_NONE, 0, name);
            p->src_fd = openat(p->prev_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            p->src_part = p->src_fd >= 0 ? (int64_t)src_part : -1;
        }
        src = p->src_fd;
    }
    /* The previous part is gone since the reader read it: the bytes in memory. */
    if (src < 0)
        return wk_parts_append(p, data, len, loc, err, errlen);
    loc->part = p->part;
    loc->offset = p->content;
    loc->frame = -1;
    if (flush(p, err, errlen) != 0)
        return -1;
    if (wk_twin_copy(&p->tw, src, src_off, len) != 0)
        goto io;
    p->bytes += len;
    p->content += len;
    if (p->content >= p->part_size)
        return close_part(p, err, errlen);
    return 0;
io:
    return write_failed(p, err, errlen);
}

uint32_t wk_parts_linked(const wk_parts *p)
{
    return p->linked;
}

void wk_parts_free(wk_parts *p)
{
    if (!p)
        return;
    wk_twin_end(&p->tw);
    if (p->src_fd >= 0)
        close(p->src_fd);
    if (p->prev_fd >= 0)
        close(p->prev_fd);
    free(p->buf);
    free(p->zbuf);
    free(p->closed);
    free(p);
}

/* A new writer's memory, no files touched. */
static wk_parts *parts_new(int reports_fd, wk_compress c, uint64_t part_size, wk_rindex *ix)
{
    wk_parts *p = calloc(1, sizeof *p);
    if (!p || !(p->buf = malloc(c == WK_COMPRESS_ZSTD ? WK_FRAME_MAX : WRITE_BUF))) {
        free(p);
        return NULL;
    }
    p->cap = c == WK_COMPRESS_ZSTD ? WK_FRAME_MAX : WRITE_BUF;
    p->dirfd = reports_fd;
    p->c = c;
    p->part_size = part_size ? part_size : WK_PART_SIZE_DEFAULT;
    p->ix = ix;
    p->prev_fd = p->src_fd = -1;
    p->src_part = -1;
    p->tw.fd = p->tw.twin = p->tw.src = -1;
    return p;
}

int wk_parts_resume(int reports_fd, wk_compress c, uint64_t part_size, wk_rindex *ix,
                    const wk_parts_state *st, const uint64_t *closed, wk_parts **out, char *err,
                    size_t errlen)
{
    char name[WK_PART_NAME_MAX], partial[WK_PART_NAME_MAX];
    struct stat sb;
    wk_parts *p = parts_new(reports_fd, c, part_size, ix);
    *out = NULL;
    if (!p || (st->part && !(p->closed = malloc(st->part * sizeof *p->closed)))) {
        wk_parts_free(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->closed_cap = st->part;
    for (uint32_t i = 0; i < st->part; i++) {
        wk_part_name(i, c, 0, name);
        if (fstatat(reports_fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
            (uint64_t)sb.st_size != closed[i]) {
            snprintf(err, errlen, "reports/%s is missing or not as the checkpoint left it", name);
            goto fail;
        }
        p->closed[i] = closed[i];
    }
    /* Parts after the checkpoint's go; so does its open part when it had none open. */
    int fd = openat(reports_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "cannot list reports/: %s", strerror(errno));
        goto fail;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        uint32_t n;
        int is_partial;
        if (wk_part_parse_name(e->d_name, &n, &is_partial) &&
            (n > st->part || (n == st->part && !st->open)))
            unlinkat(reports_fd, e->d_name, 0);
    }
    closedir(d);
    p->part = st->part;
    if (st->open) {
        wk_part_name(st->part, c, 0, name);
        wk_part_name(st->part, c, 1, partial);
        /* Closed after the checkpoint: open again, as it was then. */
        if (fstatat(reports_fd, partial, &sb, AT_SYMLINK_NOFOLLOW) != 0 &&
            renameat(reports_fd, name, reports_fd, partial) != 0) {
            snprintf(err, errlen, "reports/%s is missing: the batch cannot resume", partial);
            goto fail;
        }
        /* Written in place from here: never through a link into another store (twin.h). */
        int fd = wk_unshare_at(reports_fd, partial) == 0
                     ? openat(reports_fd, partial, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                     : -1;
        if (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < st->bytes ||
            ftruncate(fd, (off_t)st->bytes) != 0 || lseek(fd, (off_t)st->bytes, SEEK_SET) < 0) {
            if (fd >= 0)
                close(fd);
            snprintf(err, errlen,
                     "reports/%s is shorter than the checkpoint says or cannot be "
                     "written: the batch cannot resume",
                     partial);
            goto fail;
        }
        p->bytes = st->bytes;
        p->content = p->frame_start = st->content;
        p->frames = st->frames;
        wk_twin_resume(&p->tw, reports_fd, partial, name, fd, st->bytes);
        p->open = 1;
    }
    *out = p;
    return 0;
fail:
    wk_parts_free(p);
    return -1;
}

int wk_parts_sync(wk_parts *p, wk_parts_state *st, const uint64_t **closed, char *err,
                  size_t errlen)
{
    if (p->open) {
        if (flush(p, err, errlen) != 0)
            return -1;
        if (wk_twin_sync(&p->tw) != 0) {
            snprintf(err, errlen, "cannot sync a part: %s", strerror(errno));
            return -1;
        }
    }
    st->part = p->part;
    st->open = p->open;
    st->bytes = st->open ? p->bytes : 0;
    st->content = st->open ? p->content : 0;
    st->frames = st->open ? p->frames : 0;
    *closed = p->closed;
    return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

struct wk_part_reader {
    int dirfd;
    int fd; /* of part `part`, or -1 */
    uint32_t part;
    int zst;
    char *buf; /* a report, or a decompressed frame; padded */
    size_t cap;
    int64_t frame_part, frame_no; /* the frame in buf, or -1 */
    char *zbuf;
    size_t zcap;
};

int wk_part_reader_open(int reports_fd, wk_part_reader **out)
{
    wk_part_reader *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return -1;
    r->dirfd = reports_fd;
    r->fd = -1;
    r->frame_part = r->frame_no = -1;
    return 0;
}

void wk_part_reader_close(wk_part_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->zbuf);
    free(r);
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    char *b = realloc(*buf, need);
    if (!b)
        return -1;
    *buf = b;
    *cap = need;
    return 0;
}

static int read_exact(int fd, char *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EPIPE; /* shorter than the index says */
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int wk_part_reader_get(wk_part_reader *r, const wk_rindex_hit *hit, const char **data, size_t *len,
                       char *err, size_t errlen)
{
    const wk_rindex_row *row = &hit->row;
    char name[WK_PART_NAME_MAX];
    int zst = hit->has_frame;
    wk_part_name(row->part, zst ? WK_COMPRESS_ZSTD : WK_COMPRESS_NONE, 0, name);
    if (r->fd < 0 || r->part != row->part || r->zst != zst) {
        if (r->fd >= 0)
            close(r->fd);
        r->frame_part = r->frame_no = -1;
        if ((r->fd = wk_read_open(r->dirfd, name)) < 0) {
            wk_output_error(err, errlen, "cannot read", "reports", name, errno);
            return -1;
        }
        r->part = row->part;
        r->zst = zst;
    }
    if (!zst) {
        if (grow(&r->buf, &r->cap, row->length + KIVO_JSON_PADDING) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (read_exact(r->fd, r->buf, row->length, row->offset) != 0) {
            snprintf(err, errlen, "cannot read reports/%s at %llu: %s", name,
                     (unsigned long long)row->offset,
                     errno == EPIPE ? "the part is shorter than the index says" : strerror(errno));
            return -1;
        }
        memset(r->buf + row->length, 0, KIVO_JSON_PADDING);
        *data = r->buf;
        *len = row->length;
        return 0;
    }
    const wk_rindex_frame *f = &hit->frame;
    if (row->offset < f->start || row->offset + row->length > f->start + f->length) {
        snprintf(err, errlen, "reports/%s: the index places a report outside its frame", name);
        return -1;
    }
    if (r->frame_part != (int64_t)f->part || r->frame_no != (int64_t)f->frame) {
        r->frame_part = r->frame_no = -1;
        if (grow(&r->zbuf, &r->zcap, f->size) != 0 ||
            grow(&r->buf, &r->cap, f->length + KIVO_JSON_PADDING) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (read_exact(r->fd, r->zbuf, f->size, f->offset) != 0) {
            snprintf(err, errlen, "cannot read reports/%s at %llu: %s", name,
                     (unsigned long long)f->offset,
                     errno == EPIPE ? "the part is shorter than the index says" : strerror(errno));
            return -1;
        }
        size_t n = ZSTD_decompress(r->buf, f->length, r->zbuf, f->size);
        if (ZSTD_isError(n) || n != f->length) {
            snprintf(err, errlen, "reports/%s: frame %u is broken (%s)", name, f->frame,
                     ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length");
            return -1;
        }
        memset(r->buf + f->length, 0, KIVO_JSON_PADDING);
        r->frame_part = f->part;
        r->frame_no = f->frame;
    }
    /* The report inside the frame: the padding after it is the rest of the frame and zeros. */
    *data = r->buf + (row->offset - f->start);
    *len = row->length;
    return 0;
}
