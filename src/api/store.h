/*
 * store.h - the store of kivo-api, on one of two backends picked by the --db value (store.c):
 * - an SQLite file (store_sqlite.c): WAL mode, one connection per thread, every statement
 *   prepared once per connection and reused. Readers run concurrently on their own connections.
 *   Writers take one process-wide mutex around BEGIN IMMEDIATE ... COMMIT, so in-process writers
 *   queue instead of spinning on SQLITE_BUSY; the busy timeout still covers other processes
 *   (`kivo-api keys` while the server runs).
 * - a PostgreSQL database, postgresql://... (store_pg.c, libpq): one connection per thread; a
 *   write transaction locks its run's row (SELECT ... FOR UPDATE) and unique constraints guard
 *   new runs, so several kivo-api processes can share one database; a transaction that lost a
 *   race (a unique key, a deadlock) is run again by its route (api_store_retry).
 * A request is answered only after its COMMIT returned, so an acknowledged write survives kill -9.
 *
 * Every statement has one typed function below, defined in each backend beside its SQL text, so
 * no caller binds a parameter or reads a column by number. Both backends answer with SQLite's
 * result codes. Writes return SQLITE_OK or the error (api_store_error() says more). Lookups
 * return SQLITE_ROW with the row filled, SQLITE_DONE when there is none, or an error; a row's
 * strings and blobs point into the backend's memory and stay valid until api_store_end() or the
 * next call of this file on the same store (one open row per connection). Lists call a function
 * per row instead; its row is valid during the call only. Lengths given as -1 mean "up to the
 * NUL".
 */
#ifndef KIVO_API_STORE_H
#define KIVO_API_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

typedef struct api_store api_store;

typedef struct api_store_options {
    int synchronous_full; /* PRAGMA synchronous=FULL (power-loss safe) instead of NORMAL */
    int busy_timeout_ms;
    int create; /* make the file (mode 0600 less the umask) when it is missing */
} api_store_options;

/* Opens the database at `path` (a file, or a postgresql:// URI), and migrates it when `migrate` is
 * set. SQLite: sets WAL and the pragmas (secure_delete on); a missing file is an error
 * (SQLITE_CANTOPEN, errmsg saying so) unless opt->create: a database that vanished is never
 * recreated behind the operator's back. PostgreSQL: the database must exist (the operator makes
 * it); an unreachable server is SQLITE_CANTOPEN. On failure *out is NULL and errmsg (256 bytes)
 * says why. @return SQLITE_OK or an SQLite error. */
int api_store_open(const char *path, const api_store_options *opt, int migrate, api_store **out,
                   char *errmsg);

/* Finalizes every statement and closes the connection. NULL does nothing. */
void api_store_close(api_store *s);

/* Whether `db` (a --db value) names a PostgreSQL database: a postgresql:// or postgres:// URI.
 * Anything else is the path of an SQLite file. */
int api_store_is_pg(const char *db);

/* `db` for a log line: a file path as it is; a PostgreSQL URI as its database, host, port and
 * user, never its password. */
void api_store_describe(const char *db, char *out, size_t size);

/* After a transaction failed: whether to run it again from api_store_begin(). On PostgreSQL a
 * transaction that lost a race to another connection or process (a unique key a concurrent
 * transaction inserted, a deadlock, a serialization failure) is rolled back and is safe to
 * repeat; then this sleeps a short random while, counts *attempt and returns 1 while *attempt <
 * API_STORE_RETRIES. Always 0 on SQLite, where writers queue in BEGIN IMMEDIATE. Call it after
 * the rollback (or the failed commit). */
#define API_STORE_RETRIES 20
int api_store_retry(api_store *s, int *attempt);

/* SQLite: BEGIN IMMEDIATE under the process-wide write lock; PostgreSQL: BEGIN (READ COMMITTED;
 * inside it, the lookups of a run lock its row until the commit). @return SQLITE_OK or an error (the lock is
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

/* Releases the open row of the last lookup (resets its statement, ending its read snapshot).
 * Safe to call when none is open. */
void api_store_end(api_store *s);

/* ---- API keys ---------------------------------------------------------------------------- */

typedef struct api_key_row {
    int64_t id;
    const void *token_hash;
    size_t token_hash_len;
    const char *project;
    const char *scopes;
    int revoked;          /* revoked_at is set */
    int64_t last_used_at; /* -1 when never used */
} api_key_row;

/* One line of `kivo-api keys list`; times are -1 when NULL. */
typedef struct api_key_item {
    const char *prefix, *project, *scopes;
    int64_t created_at, last_used_at, revoked_at;
} api_key_item;

int api_store_key_insert(api_store *s, const char *prefix, const void *token_hash, size_t hash_len,
                         const char *project, const char *scopes, int64_t now);
/* The key whose token hashes to `token_hash` (lookup). */
int api_store_key_by_hash(api_store *s, const void *token_hash, size_t hash_len, api_key_row *row);
int api_store_key_touch(api_store *s, int64_t id, int64_t now);
/* Calls fn for every key in creation order. @return SQLITE_OK or an error. */
int api_store_key_list(api_store *s, void (*fn)(const api_key_item *key, void *arg), void *arg);
/* Revokes the key with this prefix unless it already is; *changed says whether a row changed. */
int api_store_key_revoke(api_store *s, const char *prefix, int64_t now, int *changed);

/* ---- private-worker runs and events --------------------------------------------------------- */

/* A run found by its (project, batch_id, customer_run_id) identity. */
typedef struct api_pw_found {
    int64_t id;
    const char *run_id, *status;
    const void *create_digest;
    size_t create_digest_len;
} api_pw_found;

typedef struct api_pw_new_run {
    const char *run_id, *project;
    const char *customer_run_id, *workflow_id, *worker_id, *batch_id;
    int customer_run_id_len, workflow_id_len, worker_id_len, batch_id_len;
    const char *create_body;
    const void *create_digest, *cred_digest; /* API_DIGEST_SIZE bytes each */
    size_t digest_len;
    int64_t now, cred_expires_at, key_id;
} api_pw_new_run;

/* The run a worker credential belongs to (lookup); key_revoked when the API key it was issued
 * to has been revoked since. */
typedef struct api_pw_cred_row {
    int64_t id;
    const char *run_id, *project;
    const void *cred_hash;
    size_t cred_hash_len;
    int64_t cred_expires_at;
    int key_revoked;
} api_pw_cred_row;

/* A run as stored; gate_verdict and terminal_body NULL and terminal_at -1 until it ends. */
typedef struct api_pw_run {
    int64_t id;
    const char *run_id, *project, *customer_run_id, *workflow_id, *worker_id, *status;
    const char *gate_verdict, *create_body, *terminal_body, *batch_id;
    size_t customer_run_id_len, worker_id_len;
    int64_t last_sequence, event_count, created_at, updated_at, terminal_at, cred_expires_at;
} api_pw_run;

typedef struct api_pw_new_event {
    int64_t run;
    const char *event_id;
    int event_id_len;
    int64_t sequence;
    const char *event_type, *body, *answer;
    const void *body_digest;
    size_t digest_len;
    int64_t received_at;
} api_pw_new_event;

/* A run's new state after an accepted event. gate_verdict (completed) and terminal_body
 * (completed, failed: terminal_at is then `now` and the credential expires by then) are NULL
 * when unchanged. */
typedef struct api_pw_advance {
    int64_t run;
    const char *status;
    int64_t sequence, now;
    const char *gate_verdict;
    int gate_verdict_len;
    const char *terminal_body;
} api_pw_advance;

/* What a run list may filter on; NULL = any. Rows have id < before, newest first, at most
 * `limit`. */
typedef struct api_list_filter {
    const char *project;
    int64_t before;
    const char *workflow_id, *status, *gate_verdict, *batch_id;
    long limit;
} api_list_filter;

/* One batch of a workflow: its runs and their verdicts (runs still going have none). */
typedef struct api_batch_row {
    int64_t key; /* keyset id: the batch's first run */
    const char *workflow_id, *batch_id;
    int64_t run_count, pass, needs_review, fail;
    int64_t first_created_at, last_created_at;
} api_batch_row;

int api_store_pw_by_customer(api_store *s, const char *project, const char *batch_id,
                             int batch_id_len, const char *customer_run_id, int customer_run_id_len,
                             api_pw_found *row);
int api_store_pw_insert(api_store *s, const api_pw_new_run *run);
/* Stores a fresh credential for run `id` (its digest retires the old one). */
int api_store_pw_reissue(api_store *s, int64_t id, const void *cred_digest, size_t digest_len,
                         int64_t now, int64_t expires, int64_t key_id);
int api_store_pw_by_cred(api_store *s, const void *cred_hash, size_t hash_len,
                         api_pw_cred_row *row);
int api_store_pw_by_run_id(api_store *s, const char *run_id, api_pw_run *row);
/* The stored digest and answer of event `event_id` of run `run` (lookup). */
int api_store_pw_event_get(api_store *s, int64_t run, const char *event_id, int event_id_len,
                           const void **body_digest, size_t *digest_len, const char **answer);
int api_store_pw_event_insert(api_store *s, const api_pw_new_event *ev);
int api_store_pw_advance(api_store *s, const api_pw_advance *adv);
/* The runs of f, newest first; fn returns nonzero to stop. @return SQLITE_OK or an error. */
int api_store_pw_list(api_store *s, const api_list_filter *f,
                      int (*fn)(const api_pw_run *run, void *arg), void *arg);
/* The batches of f's project (and workflow, when set), newest first (by their first run), keyed
 * below f->before, at most f->limit; fn returns nonzero to stop. */
int api_store_pw_batches(api_store *s, const api_list_filter *f,
                         int (*fn)(const api_batch_row *b, void *arg), void *arg);

/* ---- hosted runs ------------------------------------------------------------------------------ */

typedef struct api_hr_found {
    int64_t id;
    const char *run_id;
    const void *body_digest;
    size_t body_digest_len;
    int deleted;
} api_hr_found;

typedef struct api_hr_new_run {
    const char *run_id, *project, *customer_run_id, *workflow_id, *batch_id;
    const char *gate_verdict, *safe_use_status, *summary, *packet, *claims;
    const void *body_digest;
    size_t digest_len;
    const char *report;
    size_t report_len;
    int64_t created_at;
} api_hr_new_run;

/* A hosted run; packet, claims and report are NULL once deleted (and always in lists), and
 * deleted_at is -1 while it is not. */
typedef struct api_hr_run {
    int64_t id;
    const char *run_id, *project, *status, *summary, *packet, *claims, *report;
    int64_t deleted_at;
} api_hr_run;

int api_store_hr_by_customer(api_store *s, const char *project, const char *batch_id,
                             int batch_id_len, const char *customer_run_id, int customer_run_id_len,
                             api_hr_found *row);
int api_store_hr_insert(api_store *s, const api_hr_new_run *run);
int api_store_hr_by_run_id(api_store *s, const char *run_id, api_hr_run *row);
int api_store_hr_list(api_store *s, const api_list_filter *f,
                      int (*fn)(const api_hr_run *run, void *arg), void *arg);
/* Drops packet, claims, report and the body digest of run `id` unless it already is deleted,
 * keeping `summary` (without title and metadata) as its summary. */
int api_store_hr_delete(api_store *s, int64_t id, int64_t now, const char *summary);

/* ---- both ------------------------------------------------------------------------------------ */

typedef enum api_run_kind { API_RUN_PRIVATE_WORKER, API_RUN_HOSTED } api_run_kind;

/* The number of runs of a kind in each status, one call of fn per status. */
int api_store_count_by_status(api_store *s, api_run_kind kind,
                              int (*fn)(const char *status, int64_t n, void *arg), void *arg);

#endif
