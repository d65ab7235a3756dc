/*
 * part_stat.h - a closed part proved unchanged by its file status instead of by reading it
 * (`batch --reuse`; docs/report-store.md, "Closed parts: the status check").
 *
 * At the end of a batch each closed, uncompressed part's status (device, inode, size, mtime and
 * ctime to the nanosecond) is recorded in the index's store table, under "part_stat.NNNNN". It is
 * recorded only where it proves something: on a local file system that keeps nanosecond times
 * (ext4, XFS, Btrfs, tmpfs) and once the kernel's clock has moved past both times, so that any
 * later change of the file (a write, a truncate, a rename over it, a link) gets another ctime,
 * which no user can set. A rerun whose part has exactly the recorded status skips the SHA-256 of
 * each carried report from it; any difference, or no record, and the reports are hashed as ever.
 */
#ifndef KIVO_WORKER_PART_STAT_H
#define KIVO_WORKER_PART_STAT_H

#include <stddef.h>

#define WK_PART_STAT_KEY_MAX 32 /* "part_stat.NNNNN" and its NUL */
#define WK_PART_STAT_MAX 128    /* the recorded text and its NUL */

/* The store table's key for part n. */
void wk_part_stat_key(unsigned n, char key[WK_PART_STAT_KEY_MAX]);

/* The status of the closed part open as fd, as text to record, when it can prove the part
 * unchanged later (see above; waits for the clock to pass the file's times, at most ~50 ms).
 * @return 1 and out, 0 when the part's status proves nothing here, or -1 with errno. */
int wk_part_stat_take(int fd, char out[WK_PART_STAT_MAX]);

/* 1 when the file open as fd has the recorded status (text of wk_part_stat_take()), else 0.
 * KIVO_WORKER_REUSE_VERIFY=1 in the environment: always 0 (every carried report hashed). */
int wk_part_stat_same(int fd, const char *recorded);

#endif
