/*
 * twin.c - a store file written from its twin in the previous store where it can be (twin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "twin.h"

/* Bytes compared with the twin per pread, and copied per read + write when copy_file_range is
 * refused. */
#define CHUNK (64u << 10)

void wk_twin_begin(wk_twin *t, int fd, int twin)
{
    struct stat sb;
    memset(t, 0, sizeof *t);
    t->fd = fd;
    t->src = -1;
    t->twin = -1;
    if (twin >= 0 && fstat(twin, &sb) == 0 && S_ISREG(sb.st_mode)) {
        t->twin = twin;
        t->twin_size = (uint64_t)sb.st_size;
    } else if (twin >= 0) {
        close(twin);
    }
    t->same = t->twin >= 0;
}

void wk_twin_end(wk_twin *t)
{
    if (t->twin >= 0)
        close(t->twin);
    t->twin = -1;
    t->same = 0;
}

static int copy_by_hand(int src, uint64_t off, uint64_t len, int fd)
{
    char *buf = malloc(CHUNK);
    int rc = 0;
    if (!buf)
        return -1;
    while (len && rc == 0) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        ssize_t r = pread(src, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            rc = -1;
            break;
        }
        rc = wk_write_all(fd, buf, (size_t)r);
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    free(buf);
    return rc;
}

int wk_copy_range(int src, uint64_t off, uint64_t len, int fd)
{
    loff_t in = (loff_t)off;
    while (len) {
        size_t n = len < (1u << 30) ? (size_t)len : (1u << 30);
        ssize_t r = copy_file_range(src, &in, fd, NULL, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && in == (loff_t)off &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
             errno == EPERM || errno == ETXTBSY))
            return copy_by_hand(src, off, len, fd); /* refused before any byte: by hand */
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = EIO; /* src is shorter than the range */
            return -1;
        }
        len -= (uint64_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* The twin's bytes at pos are data[0..len). */
static int twin_has(const wk_twin *t, const char *data, size_t len)
{
    char buf[4096];
    uint64_t at = t->pos;
    if (at > t->twin_size || len > t->twin_size - at)
        return 0;
    while (len) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        ssize_t r = pread(t->twin, buf, n, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || memcmp(buf, data, (size_t)r) != 0)
            return 0;
        data += r;
        len -= (size_t)r;
        at += (uint64_t)r;
    }
    return 1;
}

/* The file so far, deferred, written out: the twin's prefix copied into fd. */
static int materialize(wk_twin *t)
{
    if (!t->same)
        return 0;
    t->same = 0;
    if (t->pos && wk_copy_range(t->twin, 0, t->pos, t->fd) != 0)
        return -1;
    wk_write_behind(t->fd, 0, t->pos);
    return 0;
}

int wk_twin_flush(wk_twin *t)
{
    if (!t->src_len)
        return 0;
    uint64_t at = t->pos - t->src_len;
    if (wk_copy_range(t->src, t->src_off, t->src_len, t->fd) != 0)
        return -1;
    wk_write_behind(t->fd, at, t->src_len);
    t->src = -1;
    t->src_len = 0;
    return 0;
}

int wk_twin_write(wk_twin *t, const void *data, size_t len)
{
    if (!len)
        return 0;
    if (t->same && twin_has(t, data, len)) {
        t->pos += len;
        return 0;
    }
    if (materialize(t) != 0 || wk_twin_flush(t) != 0 || wk_write_all(t->fd, data, len) != 0)
        return -1;
    wk_write_behind(t->fd, t->pos, len);
    t->pos += len;
    return 0;
}

int wk_twin_copy(wk_twin *t, int src, uint64_t off, uint64_t len)
{
    if (!len)
        return 0;
    if (t->same && src == t->twin && off == t->pos && off <= t->twin_size &&
        len <= t->twin_size - off) {
        t->pos += len;
        return 0;
    }
    if (materialize(t) != 0)
        return -1;
    if (t->src_len && (t->src != src || t->src_off + t->src_len != off) && wk_twin_flush(t) != 0)
        return -1;
    if (!t->src_len) {
        t->src = src;
        t->src_off = off;
    }
    t->src_len += len;
    t->pos += len;
    return 0;
}

int wk_twin_sync(wk_twin *t)
{
    return materialize(t) != 0 || wk_twin_flush(t) != 0 ? -1 : 0;
}

int wk_twin_linkable(wk_twin *t)
{
    struct stat sb;
    return t->same && t->twin >= 0 && fstat(t->twin, &sb) == 0 &&
           (uint64_t)sb.st_size == t->twin_size && t->pos == t->twin_size;
}

int wk_unshare_at(int dirfd, const char *name)
{
    struct stat sb;
    char tmp[WK_TMP_MAX];
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISREG(sb.st_mode) || sb.st_nlink <= 1)
        return 0;
    int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), e;
    int out = in >= 0 ? wk_tmp_open(dirfd, name, (int)(sb.st_mode & 07777), tmp) : -1;
    if (out < 0)
        goto fail;
    if (wk_copy_range(in, 0, (uint64_t)sb.st_size, out) != 0 || fdatasync(out) != 0) {
        e = errno;
        unlinkat(dirfd, tmp, 0);
        errno = e;
        goto fail;
    }
    close(out);
    close(in);
    return wk_commit_at(dirfd, tmp, name, WK_WRITE_SYNC);
fail:
    e = errno;
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    errno = e;
    return -1;
}
