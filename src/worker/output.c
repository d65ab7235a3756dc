/*
 * output.c - where the worker's files land: ids made into path components that cannot escape
 * their folder, folders walked from a descriptor without following links, and files written
 * whole or not at all (a new temporary file made with O_EXCL, then renameat).
 *
 * Everything below the operator's folder goes through the *at() calls with one component at a
 * time: a path string is never resolved again by the kernel below that folder, so a symbolic link
 * planted there (or a folder swapped for one while we run) cannot redirect a write; it fails with
 * ELOOP and wk_output_error() names it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "output.h"

#define KEEP_MAX 200

void wk_path_component(const char *id, size_t len, char out[WK_COMPONENT_MAX])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    int cut = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || (c == '.' && i > 0);
        size_t need = keep ? 1 : 3;
        if (o + need > KEEP_MAX) {
            cut = 1;
            break;
        }
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (len == 0)
        out[o++] = '%', out[o++] = '0', out[o++] = '0';
    if (cut) {
        unsigned char d[32];
        unsigned int n = 0;
        EVP_Digest(id, len, d, &n, EVP_sha256(), NULL);
        out[o++] = '~';
        for (int i = 0; i < 8; i++) {
            out[o++] = "0123456789abcdef"[d[i] >> 4];
            out[o++] = "0123456789abcdef"[d[i] & 15];
        }
    }
    out[o] = '\0';
}

int wk_mkdirs(const char *path)
{
    char *p = strdup(path);
    int rc = 0;
    if (!p)
        return -1;
    for (char *s = p + 1; *s && rc == 0; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, WK_MODE_DIR) != 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (rc == 0 && mkdir(p, WK_MODE_DIR) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

int wk_dir_open(const char *path, int create)
{
    if (create && wk_mkdirs(path) != 0)
        return -1;
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int wk_dir_walk(int dirfd, const char *rel, int create, int *fresh, size_t *bad)
{
    int fd = dirfd, made = 0;
    const char *p = rel;
    char name[WK_COMPONENT_MAX];
    if (fresh)
        *fresh = 0;
    for (;;) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            break;
        int next;
        if (n >= sizeof name || (n <= 2 && memcmp(p, "..", n) == 0)) {
            errno = n >= sizeof name ? ENAMETOOLONG : EINVAL;
            next = -1;
        } else {
            memcpy(name, p, n);
            name[n] = '\0';
            /* mkdirat first: the usual case is a folder that does not exist yet. */
            made = create && mkdirat(fd, name, WK_MODE_DIR) == 0;
            next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int e = errno;
            struct stat sb;
            /* O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR: say what it is. */
            if (e == ENOTDIR && fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(sb.st_mode))
                e = ELOOP;
            if (bad)
                *bad = (size_t)(p + n - rel);
            if (fd != dirfd)
                close(fd);
            errno = e;
            return -1;
        }
        if (fd != dirfd)
            close(fd);
        fd = next;
        p += n;
    }
    if (fd == dirfd) { /* rel named no folder: a descriptor of dirfd itself */
        fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        made = 0;
    }
    if (fresh)
        *fresh = made;
    return fd;
}

int wk_tmp_open(int dirfd, const char *name, int mode, char tmp[WK_TMP_MAX])
{
    static unsigned long seq;
    static long pid;
    /* getpid() is a system call in glibc; the worker never forks, so it is read once. */
    long p = __atomic_load_n(&pid, __ATOMIC_RELAXED);
    if (!p)
        __atomic_store_n(&pid, p = (long)getpid(), __ATOMIC_RELAXED);
    for (int tries = 0; tries < 64; tries++) {
        unsigned long n = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
        int len = snprintf(tmp, WK_TMP_MAX, ".%s.%ld.%lu.tmp", name, p, n);
        if (len < 0 || len >= WK_TMP_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        /* O_RDWR: a scratch file may be read back (junit.c). */
        int fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
        struct stat sb;
        if (fstatat(dirfd, tmp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode)) {
            errno = ELOOP;
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

int wk_commit_at(int dirfd, const char *tmp, const char *name, unsigned flags)
{
    struct stat sb;
    int e = 0;
    if (!(flags & WK_WRITE_FRESH) && fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISREG(sb.st_mode))
        e = S_ISLNK(sb.st_mode) ? ELOOP : S_ISDIR(sb.st_mode) ? EISDIR : EEXIST;
    else if (renameat(dirfd, tmp, dirfd, name) != 0)
        e = errno;
    else if ((flags & WK_WRITE_SYNC) && fsync(dirfd) != 0)
        return -1; /* renamed: nothing to remove */
    if (e) {
        unlinkat(dirfd, tmp, 0);
        errno = e;
        return -1;
    }
    return 0;
}

int wk_write_at(int dirfd, const char *name, struct iovec *v, int n, int mode, unsigned flags)
{
    char tmp[WK_TMP_MAX];
    int fd = wk_tmp_open(dirfd, name, mode, tmp), i = 0;
    if (fd < 0)
        return -1;
    while (i < n) {
        ssize_t w = writev(fd, v + i, n - i);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            goto fail;
        }
        /* A short write: drop the pieces that went out, and the written part of the next. */
        size_t left = (size_t)w;
        for (; i < n && left >= v[i].iov_len; i++)
            left -= v[i].iov_len;
        if (i < n) {
            v[i].iov_base = (char *)v[i].iov_base + left;
            v[i].iov_len -= left;
        }
    }
    if ((flags & WK_WRITE_SYNC) && fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return wk_commit_at(dirfd, tmp, name, flags);
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, tmp, 0);
    errno = e;
    return -1;
}

int wk_file_dir(const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;
    *name = slash ? slash + 1 : path;
    if (!**name) {
        errno = EISDIR;
        return -1;
    }
    if (!slash)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!(dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))))
        return -1;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    return fd;
}

int wk_write_file(const char *path, struct iovec *v, int n, int mode, unsigned flags)
{
    const char *name;
    int dfd = wk_file_dir(path, &name), rc, e;
    if (dfd < 0)
        return -1;
    rc = wk_write_at(dfd, name, v, n, mode, flags);
    e = errno;
    close(dfd);
    errno = e;
    return rc;
}

int wk_append_open(int dirfd, const char *name, int mode)
{
    return openat(dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, mode);
}

int wk_read_open(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

int wk_read_at(int dirfd, const char *name, size_t pad, char **data, size_t *len)
{
    int fd = wk_read_open(dirfd, name), rc = -1;
    struct stat sb;
    char *buf = NULL;
    size_t got = 0;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) != 0)
        goto out;
    if (!S_ISREG(sb.st_mode)) {
        errno = EINVAL;
        goto out;
    }
    if (!(buf = calloc(1, (size_t)sb.st_size + pad + 1)))
        goto out;
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break; /* it shrank: what is there */
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

/* ".<name>.<digits>.<digits>.tmp", as wk_tmp_open() makes them. */
static int is_tmp_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 9 || s[0] != '.' || strcmp(s + n - 4, ".tmp") != 0)
        return 0;
    n -= 4; /* s[0..n) is ".<name>.<pid>.<n>" */
    for (int part = 0; part < 2; part++) {
        size_t k = n;
        while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9')
            k--;
        if (k == n || k < 2 || s[k - 1] != '.')
            return 0;
        n = k - 1; /* drop ".<digits>" */
    }
    return n > 1; /* and a name is left after the first '.' */
}

int wk_tmp_sweep(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        struct stat sb;
        if (is_tmp_name(de->d_name) && fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(sb.st_mode) && unlinkat(dirfd, de->d_name, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}

void wk_output_error(char *err, size_t errlen, const char *what, const char *dir, const char *name,
                     int e)
{
    const char *sep = name ? "/" : "", *nm = name ? name : "";
    if (e == ELOOP)
        snprintf(err, errlen,
                 "%s %s%s%s: it is a symbolic link, and kivo-worker never writes "
                 "through a link inside the folders it writes; remove it",
                 what, dir, sep, nm);
    else if (e == ENOTDIR)
        snprintf(err, errlen, "%s %s%s%s: it is not a folder", what, dir, sep, nm);
    else if (e == EISDIR)
        snprintf(err, errlen, "%s %s%s%s: a folder is in the way", what, dir, sep, nm);
    else
        snprintf(err, errlen, "%s %s%s%s: %s", what, dir, sep, nm, strerror(e));
}

int wk_dir_lock(int dirfd)
{
    return flock(dirfd, LOCK_EX | LOCK_NB);
}

int wk_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Bytes copied per read + write where copy_file_range(2) is refused. */
#define COPY_CHUNK (64u << 10)

static int copy_by_hand(int src, uint64_t off, uint64_t len, int fd)
{
    char *buf = malloc(COPY_CHUNK);
    int rc = 0;
    if (!buf)
        return -1;
    while (len && rc == 0) {
        size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
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
        if (r < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EPERM || errno == ETXTBSY))
            return copy_by_hand(src, (uint64_t)in, len, fd); /* refused: the rest by hand */
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = EIO; /* src is shorter than the range */
            return -1;
        }
        len -= (uint64_t)r;
    }
    return 0;
}

void wk_write_behind(int fd, uint64_t off, size_t len)
{
#ifdef SYNC_FILE_RANGE_WRITE
    /* Advisory: a failure here changes nothing, the later fdatasync reports any. */
    (void)sync_file_range(fd, (off64_t)off, (off64_t)len, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)off;
    (void)len;
#endif
}
