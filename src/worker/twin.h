/*
 * twin.h - writing one file of the report store v2 (a part, a page, events.jsonl) whose bytes may
 * come, in whole or in runs, from the previous store's files (`batch --reuse`) without passing
 * through user space.
 *
 * A file has a *twin*: the previous store's file of the same name. While every byte appended so
 * far is the twin's byte at the same place, nothing is written and the file is not made:
 * appending a range of the twin at its own offset costs nothing, and bytes from memory are
 * compared with the twin's (pread of just those bytes). When the file ends that way, at the
 * twin's size, the twin is linked under the file's final name instead of writing it
 * (docs/report-store.md, "Unchanged files"); a checkpoint in the meantime links it under the
 * file's partial name. The first append that differs *materializes* the file: the twin's prefix
 * is copied into a file of its own in the kernel (copy_file_range(2), or read and write where
 * that is refused; under a temporary name renamed over the partial name when that is a
 * checkpoint's link), and the file goes on as an ordinary one, in which ranges of previous files
 * are still copied in the kernel, contiguous ones in one call.
 */
#ifndef KIVO_WORKER_TWIN_H
#define KIVO_WORKER_TWIN_H

#include <stddef.h>
#include <stdint.h>

#define WK_TWIN_NAME_MAX 96

typedef struct wk_twin {
    int dirfd;                    /* the folder the file is written in (borrowed) */
    char name[WK_TWIN_NAME_MAX];  /* its name there while it is written (NAME.partial) */
    char final[WK_TWIN_NAME_MAX]; /* its name once closed; the twin's name in prev_dirfd */
    int prev_dirfd;               /* the previous store's folder of the twin (borrowed), or -1 */
    int fd;   /* the file, or -1 while it is not made (on its first byte not the twin's) */
    int twin; /* the twin, read only (owned), or -1 */
    uint64_t twin_size; /* its size when opened */
    int same;           /* the file so far is the twin's [0, pos), and nothing is written */
    int at_twin;        /* name is a link to the twin (a checkpoint while same) */
    uint64_t pos;       /* the file's bytes so far: written, pending or (same) deferred */
    int src;            /* pending: src's [src_off, src_off + src_len) to copy to fd */
    uint64_t src_off, src_len;
    int mode; /* the file's mode when it is made */
} wk_twin;

/* Starts the file dirfd/name (made with mode when first needed), to be called final once closed;
 * prev_dirfd (borrowed; -1: none) holds its twin, final there. @return 0, or -1 with errno. */
int wk_twin_begin(wk_twin *t, int dirfd, const char *name, const char *final, int prev_dirfd,
                  int mode);

/* Goes on with the file dirfd/name already open as fd (taken) and holding pos bytes (a resume):
 * no twin. */
void wk_twin_resume(wk_twin *t, int dirfd, const char *name, const char *final, int fd,
                    uint64_t pos);

/* The file's descriptor, the file made (and the deferred bytes written) now if it was not.
 * @return it, or -1 with errno. */
int wk_twin_fd(wk_twin *t);

/* Appends data[0..len) from memory. @return 0, or -1 with errno. */
int wk_twin_write(wk_twin *t, const void *data, size_t len);

/* Appends data[0..len), bytes the caller knows the twin has at this place whenever the file so
 * far is the twin (the pages' constant bytes between two runs' blocks the twin holds side by
 * side): not compared with the twin's. @return 0, or -1 with errno. */
int wk_twin_write_known(wk_twin *t, const void *data, size_t len);

/* Appends src's [off, off + len) (src borrowed: keep it open until wk_twin_flush() or the next
 * call has copied it). @return 0, or -1 with errno. */
int wk_twin_copy(wk_twin *t, int src, uint64_t off, uint64_t len);

/* Copies what is pending (before the caller closes a source). @return 0, or -1 with errno. */
int wk_twin_flush(wk_twin *t);

/* A checkpoint: dirfd/name durably holds the file's pos bytes (and maybe more: a resume cuts it
 * back). While the file is its twin, name becomes a link to the twin (the twin is durable
 * already; wk_unshare_at() gives it an inode of its own before a resume cuts it); else it is
 * written out and fdatasync'd. @return 0, or -1 with errno. */
int wk_twin_sync(wk_twin *t);

/* 1 when the file so far is its twin whole (wk_twin_close() would link it). */
int wk_twin_linkable(wk_twin *t);

/* Closes the file. When it is its twin whole, the twin is linked as final (name, a link made by
 * a checkpoint, renamed to it) and *linked is 1; else the file is written out, fdatasync'd and
 * closed, still called name (the caller renames it), and *linked is 0. @return 0, or -1. */
int wk_twin_close(wk_twin *t, int *linked);

/* Closes the twin, and the file when still open. */
void wk_twin_end(wk_twin *t);

/* Makes dirfd/name a file of its own before it is written in place: a file with other links (a
 * store file linked from or into another store by --reuse) is copied to a temporary name in the
 * folder, synced and renamed over name, so the other names keep their bytes. A missing name or a
 * file with one link is left alone. @return 0, or -1 with errno. */
int wk_unshare_at(int dirfd, const char *name);

#endif
