/*
 * output.c - where reports land: ids made into path components that cannot escape their folder,
 * folders made on demand, and files written whole or not at all (temporary name, then rename).
 */
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
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (rc == 0 && mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

int wk_write_atomicv(const char *path, struct iovec *v, int n)
{
    size_t tl = strlen(path) + 8;
    char *tmp = malloc(tl);
    int fd = -1, rc = -1, i = 0;
    if (!tmp)
        return -1;
    snprintf(tmp, tl, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto out;
    while (i < n) {
        ssize_t w = writev(fd, v + i, n - i);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            goto out;
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
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    free(tmp);
    return rc;
}

int wk_write_atomic(const char *path, const void *data, size_t len)
{
    struct iovec v = {(void *)(uintptr_t)data, len};
    return wk_write_atomicv(path, &v, len ? 1 : 0);
}

int wk_dir_lock(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
