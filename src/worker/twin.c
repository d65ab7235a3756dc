/*
 * twin.c - a store file written from its twin in the previous store where it can be (twin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "twin.h"

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

/* The file made, empty: whatever had its name is removed first, never written through. */
static int make(wk_twin *t)
{
    if (unlinkat(t->dirfd, t->name, 0) != 0 && errno != ENOENT)
        return -1;
    t->fd =
        openat(t->dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, t->mode);
    return t->fd < 0 ? -1 : 0;
}

/* The file so far, deferred, written out: the twin's prefix copied into a file of its own. When
 * name is a link to the twin (a checkpoint's), the copy is made under a temporary name and
 * renamed over it, so that name holds the checkpoint's bytes at every moment. */
static int materialize(wk_twin *t)
{
    char tmp[WK_TMP_MAX];
    int e;
    if (!t->same)
        return 0;
    t->same = 0;
    if (!t->at_twin) {
        if (make(t) != 0 || (t->pos && wk_copy_range(t->twin, 0, t->pos, t->fd) != 0))
            return -1;
    } else {
        int fd = wk_tmp_open(t->dirfd, t->name, t->mode, tmp);
        if (fd < 0)
            return -1;
        if ((t->pos && wk_copy_range(t->twin, 0, t->pos, fd) != 0)) {
            e = errno;
            close(fd);
            unlinkat(t->dirfd, tmp, 0);
            errno = e;
            return -1;
        }
        if (wk_commit_at(t->dirfd, tmp, t->name, 0) != 0) {
            e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        t->fd = fd;
        t->at_twin = 0;
    }
    wk_write_behind(t->fd, 0, t->pos);
    return 0;
}

int wk_twin_begin(wk_twin *t, int dirfd, const char *name, const char *final, int prev_dirfd,
                  int mode)
{
    struct stat sb;
    memset(t, 0, sizeof *t);
    t->mode = mode;
    t->dirfd = dirfd;
    t->prev_dirfd = prev_dirfd;
    t->fd = t->twin = t->src = -1;
    if (snprintf(t->name, sizeof t->name, "%s", name) >= (int)sizeof t->name ||
        snprintf(t->final, sizeof t->final, "%s", final) >= (int)sizeof t->final) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (prev_dirfd >= 0 &&
        (t->twin = openat(prev_dirfd, final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
        if (fstat(t->twin, &sb) == 0 && S_ISREG(sb.st_mode)) {
            t->twin_size = (uint64_t)sb.st_size;
            t->same = 1;
        } else {
            close(t->twin);
            t->twin = -1;
        }
    }
    /* Without a twin the file is made now, as any file. */
    return t->same ? 0 : make(t);
}

void wk_twin_resume(wk_twin *t, int dirfd, const char *name, const char *final, int fd,
                    uint64_t pos)
{
    memset(t, 0, sizeof *t);
    t->mode = WK_MODE_TEXT;
    t->dirfd = dirfd;
    t->prev_dirfd = t->twin = t->src = -1;
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->final, sizeof t->final, "%s", final);
    t->fd = fd;
    t->pos = pos;
}

int wk_twin_fd(wk_twin *t)
{
    if (t->fd < 0 && (t->same ? materialize(t) : make(t)) != 0)
        return -1;
    return t->fd;
}

void wk_twin_end(wk_twin *t)
{
    if (t->twin >= 0)
        close(t->twin);
    if (t->fd >= 0)
        close(t->fd);
    t->twin = t->fd = -1;
    t->same = 0;
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

int wk_twin_write_known(wk_twin *t, const void *data, size_t len)
{
    if (t->same && t->pos <= t->twin_size && len <= t->twin_size - t->pos) {
        t->pos += len;
        return 0;
    }
    return wk_twin_write(t, data, len);
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

/* The twin linked as dirfd/name; undone unless it is still the file opened as the twin.
 * @return 0, or -1. */
static int link_twin(wk_twin *t, const char *name)
{
    struct stat a, b;
    if (t->prev_dirfd < 0 || linkat(t->prev_dirfd, t->final, t->dirfd, name, 0) != 0)
        return -1;
    if (fstat(t->twin, &a) == 0 && fstatat(t->dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return 0;
    unlinkat(t->dirfd, name, 0); /* replaced in the previous store since it was opened */
    return -1;
}

int wk_twin_linkable(wk_twin *t)
{
    struct stat sb;
    return t->same && t->twin >= 0 && fstat(t->twin, &sb) == 0 &&
           (uint64_t)sb.st_size == t->twin_size && t->pos == t->twin_size;
}

int wk_twin_sync(wk_twin *t)
{
    if (t->same && (t->at_twin || (t->pos <= t->twin_size && link_twin(t, t->name) == 0))) {
        t->at_twin = 1;
        return 0;
    }
    if (materialize(t) != 0 || wk_twin_flush(t) != 0)
        return -1;
    return fdatasync(t->fd);
}

int wk_twin_close(wk_twin *t, int *linked)
{
    *linked = 0;
    if (wk_twin_linkable(t)) {
        if (t->at_twin) {
            *linked = renameat(t->dirfd, t->name, t->dirfd, t->final) == 0;
            /* rename(2) does nothing when both names are one file already (final linked to the
             * twin by an earlier batch in this folder): the partial name would stay. */
            if (*linked && unlinkat(t->dirfd, t->name, 0) != 0 && errno != ENOENT) {
                wk_twin_end(t);
                return -1;
            }
        } else
            *linked = link_twin(t, t->final) == 0;
    }
    if (!*linked && (materialize(t) != 0 || wk_twin_flush(t) != 0 || fdatasync(t->fd) != 0))
        return -1;
    int rc = 0;
    if (t->fd >= 0 && close(t->fd) != 0)
        rc = -1;
    t->fd = -1;
    wk_twin_end(t);
    return rc;
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
