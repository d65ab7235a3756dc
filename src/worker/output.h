/*
 * output.h - the worker's files on disk: safe path names, folders reached from a descriptor
 * without ever following a symbolic link, writes that are atomic (a unique temporary file, then
 * rename), the modes of what is written, and the folder lock.
 *
 * The folder the operator names (--out, report_store.path, --outbox) is opened as given,
 * symbolic links in its own path included: that is the operator's choice. Everything below it is
 * reached one component at a time from that folder's descriptor with O_NOFOLLOW, so a link
 * planted inside it (a linked run folder, a linked summary.json) is refused with ELOOP, never
 * followed, and nothing is written outside the folder.
 */
#ifndef KIVO_WORKER_OUTPUT_H
#define KIVO_WORKER_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Modes of what the worker creates; the umask applies on top (it can only take bits away).
 * Files that hold raw text (claim_report.json, claim_report.html) are the owner's alone; files
 * that hold metadata only (summary.json, index.html, events.jsonl, rejects.jsonl, the outbox
 * files) may be read by the folder's group, e.g. a monitoring account; folders let the group
 * list them. Files that exist already are replaced by new ones with these modes (appended files
 * keep theirs). */
#define WK_MODE_TEXT 0600
#define WK_MODE_META 0640
#define WK_MODE_DIR 0750

/* Encodes an id as one safe path component: [A-Za-z0-9_.-] stay (a leading '.' does not), every
 * other byte becomes %XX; an encoding over 200 bytes is cut and suffixed with '~' and 16 hex
 * digits of the id's SHA-256, so "../../x" and "a/b" can never leave their folder. out must hold
 * WK_COMPONENT_MAX bytes. Ids that differ only in letter case give names that differ only in
 * case: one folder on a case-insensitive file system (see wk_seen_case()). */
#define WK_COMPONENT_MAX 256
void wk_path_component(const char *id, size_t len, char out[WK_COMPONENT_MAX]);

/* mkdir -p of a path the operator gave (links in it are followed), new folders WK_MODE_DIR.
 * Returns 0 or -1 with errno. */
int wk_mkdirs(const char *path);

/* Opens the folder path (made first, with its parents, when create), following links in path
 * itself. @return an O_DIRECTORY descriptor (the caller closes it), or -1 with errno. */
int wk_dir_open(const char *path, int create);

/* Opens the folder rel ("a/b/c", relative) below dirfd one component at a time, each with
 * openat(O_NOFOLLOW | O_DIRECTORY) from the one before, making missing ones (WK_MODE_DIR) when
 * create. *fresh (may be NULL) is set to 1 when the last component was made by this call.
 * @return a descriptor (the caller closes it), or -1 with errno: ELOOP when a component is a
 * symbolic link, ENOTDIR when it is not a folder; *bad (may be NULL) then holds the length of the
 * prefix of rel that ends with that component, so that the caller can name it. */
int wk_dir_walk(int dirfd, const char *rel, int create, int *fresh, size_t *bad);

/* Flags of wk_write_at() and wk_commit_at(). */
enum {
    WK_WRITE_SYNC = 1, /* fsync the file before the rename and the folder after it */
    WK_WRITE_FRESH = 2 /* the folder was made just now: skip the check of what name is */
};

#define WK_TMP_MAX 256
/* Creates a new temporary file for name in dirfd, named ".<name>.<pid>.<n>.tmp", open for reading
 * and writing, with O_CREAT | O_EXCL | O_NOFOLLOW and mode (less the umask); the name goes to tmp. A name taken by
 * a regular file (left by a killed process) is skipped for the next one; a symbolic link there is
 * refused (ELOOP). @return the descriptor, or -1 with errno. */
int wk_tmp_open(int dirfd, const char *name, int mode, char tmp[WK_TMP_MAX]);

/* Renames tmp over name in dirfd. What is at name must be a regular file or nothing: a symbolic
 * link there is refused (ELOOP; the link is left as it is) and a folder too (EISDIR), unless
 * WK_WRITE_FRESH says the folder is new. WK_WRITE_SYNC fsyncs the folder after the rename. On
 * failure tmp is removed. @return 0, or -1 with errno. */
int wk_commit_at(int dirfd, const char *tmp, const char *name, unsigned flags);

/* Writes n pieces to name in dirfd, whole or not at all: wk_tmp_open(), writev (the iovecs are
 * consumed), then wk_commit_at(). @return 0, or -1 with errno (nothing is left behind). */
int wk_write_at(int dirfd, const char *name, struct iovec *v, int n, int mode, unsigned flags);

/* wk_write_at() for a file the operator named (--html FILE, --junit FILE): its folder is opened
 * as given, links in it followed; the file itself is written through a new temporary file and
 * never through a link. @return 0, or -1 with errno. */
int wk_write_file(const char *path, struct iovec *v, int n, int mode, unsigned flags);

/* The folder of a path the operator named, opened (links followed), and the file's name in it:
 * for writing the file with wk_tmp_open() and wk_commit_at(). @return the folder's descriptor
 * (the caller closes it), or -1 with errno. */
int wk_file_dir(const char *path, const char **name);

/* Opens name in dirfd for appending, creating it with mode, or for reading; never through a
 * symbolic link (ELOOP). @return the descriptor, or -1 with errno. */
/* Writes all len bytes to fd, again after EINTR or a short write. @return 0, or -1 with errno
 * set (EIO for a write that wrote nothing). */
int wk_write_all(int fd, const void *data, size_t len);

/* Copies src's [off, off + len) to fd at its file offset, in the kernel where it can
 * (copy_file_range), else (files the kernel will not copy between: another file system, ...)
 * the rest by read and write. @return 0, or -1 with errno (EIO: src is shorter). */
int wk_copy_range(int src, uint64_t off, uint64_t len, int fd);

/* Starts writing out to disk the len bytes at off of fd that were just written (Linux
 * sync_file_range, SYNC_FILE_RANGE_WRITE: it does not wait for them, and promises nothing), so
 * that the fdatasync(2) that makes the file durable later finds little left to write. Large
 * files written in pieces and synced at the end (parts, pages) call it after each piece. */
void wk_write_behind(int fd, uint64_t off, size_t len);

int wk_append_open(int dirfd, const char *name, int mode);
int wk_read_open(int dirfd, const char *name);

/* Reads all of name in dirfd (never through a link) into a malloc'd buffer with pad zero bytes
 * after its end. @return 0 with *data and *len, or -1 with errno. */
int wk_read_at(int dirfd, const char *name, size_t pad, char **data, size_t *len);

/* Removes the temporary files of wk_tmp_open() that a killed process left in dirfd (regular
 * files only). Call it holding the folder's lock. @return how many, or -1 with errno. */
int wk_tmp_sweep(int dirfd);

/* Says in err why a call on dir/name failed with errno e: a symbolic link or a file where a
 * folder belongs is named as such; anything else gets strerror(). name may be NULL. */
void wk_output_error(char *err, size_t errlen, const char *what, const char *dir, const char *name,
                     int e);

/* Takes the lock of the folder open as dirfd (flock(2) on the folder itself), so that two
 * kivo-worker processes never write one report store or outbox at once. The lock lives as long
 * as the descriptor (and dies with the process, even on SIGKILL). @return 0, or -1 with errno
 * (EWOULDBLOCK: another process holds it). */
int wk_dir_lock(int dirfd);

#endif
