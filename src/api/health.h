/*
 * health.h - what GET /healthz reports beyond "the process answers": that the database file is
 * still the one the server opened, and that its writes work.
 *
 * A database removed or replaced under a running server would otherwise be served from the
 * unlinked inode until a restart, and every write acknowledged meanwhile would be lost. Once seen,
 * that state stays until the server restarts: /healthz answers 503, writes are refused, the log
 * says why once. A write that fails for a reason of the disk (full, I/O, read-only) makes /healthz
 * 503 too, until a write succeeds again (store.h, api_store_write_health).
 */
#ifndef KIVO_API_HEALTH_H
#define KIVO_API_HEALTH_H

#include <stddef.h>

#include "store.h"

/* What the checks below find, worst last. */
typedef enum api_health_state {
    API_HEALTH_OK = 0,
    API_HEALTH_WRITES_FAIL,   /* the last write failed for a reason of the disk */
    API_HEALTH_DB_GONE,       /* the database file or its -wal was removed or replaced */
    API_HEALTH_FILES_UNUSABLE /* a database file is immutable, or -shm shrank under us */
} api_health_state;

/* Remembers the identity (device, inode) of the database file and its -wal file, and the size of
 * -shm. Call once, after the first connection opened and migrated the database. @return 0, or -1
 * when the database file cannot be stat()ed. */
int api_health_watch(const char *db_path);

/* Checks the files (three statx calls; unless `fresh`, the answer of a check less than 100 ms old
 * stands, so requests do not pay three system calls each):
 * - API_HEALTH_DB_GONE when the database file (or its -wal, once it existed) is no longer the one
 *   watched; logged once, and it stays until the process exits: reads may go on from the open
 *   file, but a write acknowledged now would be lost at the next start;
 * - API_HEALTH_FILES_UNUSABLE while one of the files is immutable or append-only, or -shm is
 *   shorter than it was: SQLite maps -shm into memory, and touching such a mapping is a SIGBUS,
 *   so every request is refused until the file is fixed (logged once per episode).
 * `why` (size bytes) gets the problem, with paths, for the log. */
api_health_state api_health_files(char *why, size_t size, int fresh);

/* The whole health for /healthz: api_health_files, then the store's writes; when writes failed,
 * one probe write on `s` (at most one a second) tells whether the disk recovered. */
api_health_state api_health_check(api_store *s, char *why, size_t size);

/* Whether the files a new connection will write (the database, -wal and -shm, where they exist)
 * can be opened for writing. @return 0, or -1 with `why` filled. */
int api_health_files_writable(const char *db_path, char *why, size_t size);

/* Installs the last words for SIGBUS (a memory-mapped file, in practice the -shm wal-index,
 * became unreadable): one log line naming the file, then the default action. */
void api_health_on_fatal_signals(const char *db_path);

#endif
