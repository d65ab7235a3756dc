/*
 * store.h - the SQLite store of kivo-api: one database file in WAL mode, one connection per
 * thread, every statement prepared once per connection and reused.
 *
 * Readers run concurrently on their own connections. Writers take one process-wide mutex around
 * BEGIN IMMEDIATE ... COMMIT, so in-process writers queue instead of spinning on SQLITE_BUSY; the
 * busy timeout still covers other processes (`kivo-api keys` while the server runs). A request is
 * answered only after its COMMIT returned, so an acknowledged write survives kill -9.
 */
#ifndef KIVO_API_STORE_H
#define KIVO_API_STORE_H

#include <sqlite3.h>

typedef enum api_stmt_id {
    S_KEY_INSERT,
    S_KEY_BY_HASH,
    S_KEY_TOUCH,
    S_KEY_LIST,
    S_KEY_REVOKE,
    S_PW_BY_CUSTOMER,
    S_PW_INSERT,
    S_PW_REISSUE,
    S_PW_BY_CRED,
    S_PW_BY_RUN_ID,
    S_PW_EVENT_GET,
    S_PW_EVENT_INSERT,
    S_PW_ADVANCE,
    S_PW_LIST,
    S_PW_COUNT_BY_STATUS,
    S_HR_BY_CUSTOMER,
    S_HR_INSERT,
    S_HR_BY_RUN_ID,
    S_HR_LIST,
    S_HR_DELETE,
    S_HR_COUNT_BY_STATUS,
    S_COUNT
} api_stmt_id;

typedef struct api_store api_store;

typedef struct api_store_options {
    int synchronous_full;      /* PRAGMA synchronous=FULL (power-loss safe) instead of NORMAL */
    int busy_timeout_ms;
    int create;                /* make the file (mode 0600 less the umask) when it is missing */
} api_store_options;

/* Opens the database at `path`, sets WAL and the pragmas (secure_delete on), and migrates it when
 * `migrate` is set. A missing file is an error (SQLITE_CANTOPEN, errmsg saying so) unless
 * opt->create: a database that vanished is never recreated behind the operator's back. On failure
 * *out is NULL and errmsg (256 bytes) says why. @return SQLITE_OK or an SQLite error. */
int api_store_open(const char *path, const api_store_options *opt, int migrate, api_store **out,
                   char *errmsg);

/* Finalizes every statement and closes the connection. NULL does nothing. */
void api_store_close(api_store *s);

/* The connection, for sqlite3_errmsg() and the like. */
sqlite3 *api_store_db(api_store *s);

/* The statement `id`, prepared on first use, reset and with its bindings cleared.
 * @return NULL when preparing failed. */
sqlite3_stmt *api_store_stmt(api_store *s, api_stmt_id id);

/* BEGIN IMMEDIATE under the process-wide write lock. @return SQLITE_OK or an error (the lock is
 * then not held). Every successful begin is paired with one commit or rollback. */
int api_store_begin(api_store *s);
/* COMMIT and release the write lock; on failure the transaction is rolled back. */
int api_store_commit(api_store *s);
/* ROLLBACK and release the write lock. */
void api_store_rollback(api_store *s);

/* The error of the statement that just failed on this connection, for the log: the first one
 * recorded since the last begin, so a failed COMMIT keeps its own message (SQLite rolls a full
 * disk's transaction back itself, and a ROLLBACK after it would only say "no transaction is
 * active"). An error of the disk (full, I/O, read-only, corrupt) also marks the write health. */
const char *api_store_error(api_store *s);

/* Moves the whole WAL into the database file and truncates it to zero bytes, so deleted content
 * leaves the WAL too (with secure_delete the freed pages are zeroed in the file). Takes the write
 * lock; waits for readers through the busy timeout. @return SQLITE_OK or an error. */
int api_store_checkpoint(api_store *s);

/* The state of the store's writes, process-wide: 0 while the last write succeeded, -1 after a
 * write failed for a reason of the disk (why gets the SQLite message, `size` bytes). A later
 * successful commit clears it. */
int api_store_write_health(char *why, size_t size);

/* Tries one small write (rewrites the schema version in the file header) to see whether a failed
 * disk has recovered. @return SQLITE_OK or the error, which also updates the health. */
int api_store_probe_write(api_store *s);

#endif
