/*
 * store.c - SQLite connections, the statement table and write transactions (see store.h).
 *
 * All SQL of the server lives in the table below, so a reader sees every query the API can run
 * in one place; values are always bound, never formatted into SQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate.h"
#include "store.h"

#define ERR_MAX 256

struct api_store {
    sqlite3 *db;
    sqlite3_stmt *stmts[S_COUNT];
    char err[ERR_MAX];          /* the error recorded since the last begin, when err_set */
    int err_set;
};

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether writes work, for /healthz: the message of the last write that failed for a reason of
 * the disk, cleared by the next commit that succeeds. */
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static char health_why[ERR_MAX];
static int health_bad;

static const char *const sql_text[S_COUNT] = {
    [S_KEY_INSERT] = "INSERT INTO api_keys (prefix, token_hash, project, scopes, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_KEY_BY_HASH] = "SELECT id, token_hash, project, scopes, revoked_at, last_used_at "
                      "FROM api_keys WHERE token_hash = ?1",
    [S_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
    [S_KEY_LIST] = "SELECT prefix, project, scopes, created_at, last_used_at, revoked_at "
                   "FROM api_keys ORDER BY id",
    [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 WHERE prefix = ?1 "
                     "AND revoked_at IS NULL",
    [S_PW_BY_CUSTOMER] = "SELECT id, run_id, status, create_digest FROM pw_runs "
                         "WHERE project = ?1 AND customer_run_id = ?2",
    [S_PW_INSERT] = "INSERT INTO pw_runs (run_id, project, customer_run_id, workflow_id, "
                    "worker_id, status, create_body, create_digest, cred_hash, cred_issued_at, "
                    "cred_expires_at, created_at, updated_at, key_id) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, 'created', ?6, ?7, ?8, ?9, ?10, ?9, ?9, ?11)",
    [S_PW_REISSUE] = "UPDATE pw_runs SET cred_hash = ?2, cred_issued_at = ?3, "
                     "cred_expires_at = ?4, updated_at = ?3, key_id = ?5 WHERE id = ?1",
    /* Column 5: when the key the credential was issued to is revoked, the credential is too. */
    [S_PW_BY_CRED] = "SELECT r.id, r.run_id, r.project, r.cred_hash, r.cred_expires_at, "
                     "k.revoked_at FROM pw_runs r LEFT JOIN api_keys k ON k.id = r.key_id "
                     "WHERE r.cred_hash = ?1",
    [S_PW_BY_RUN_ID] = "SELECT id, run_id, project, customer_run_id, workflow_id, worker_id, "
                       "status, gate_verdict, create_body, terminal_body, last_sequence, "
                       "event_count, created_at, updated_at, terminal_at, cred_expires_at "
                       "FROM pw_runs WHERE run_id = ?1",
    [S_PW_EVENT_GET] = "SELECT body_digest, answer FROM pw_events WHERE run = ?1 "
                       "AND event_id = ?2",
    [S_PW_EVENT_INSERT] = "INSERT INTO pw_events (run, event_id, sequence, event_type, body, "
                          "body_digest, answer, received_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_PW_ADVANCE] = "UPDATE pw_runs SET status = ?2, last_sequence = ?3, "
                     "event_count = event_count + 1, updated_at = ?4, "
                     "gate_verdict = coalesce(?5, gate_verdict), "
                     "terminal_body = coalesce(?6, terminal_body), "
                     "terminal_at = coalesce(?7, terminal_at), "
                     "cred_expires_at = min(cred_expires_at, coalesce(?7, cred_expires_at)) "
                     "WHERE id = ?1",
    [S_PW_LIST] = "SELECT id, run_id, project, customer_run_id, workflow_id, worker_id, "
                  "status, gate_verdict, create_body, terminal_body, last_sequence, "
                  "event_count, created_at, updated_at, terminal_at, cred_expires_at "
                  "FROM pw_runs WHERE project = ?1 AND id < ?2 "
                  "AND (?3 IS NULL OR workflow_id = ?3) AND (?4 IS NULL OR status = ?4) "
                  "AND (?5 IS NULL OR gate_verdict = ?5) ORDER BY id DESC LIMIT ?6",
    [S_PW_COUNT_BY_STATUS] = "SELECT status, count(*) FROM pw_runs GROUP BY status",
    [S_HR_BY_CUSTOMER] = "SELECT id, run_id, body_digest, deleted_at FROM hosted_runs "
                         "WHERE project = ?1 AND customer_run_id = ?2",
    [S_HR_INSERT] = "INSERT INTO hosted_runs (run_id, project, customer_run_id, workflow_id, "
                    "status, gate_verdict, safe_use_status, summary, body_digest, packet, "
                    "claims, report, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, 'completed', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [S_HR_BY_RUN_ID] = "SELECT id, run_id, project, status, summary, packet, claims, report, "
                       "deleted_at FROM hosted_runs WHERE run_id = ?1",
    /* The columns of S_HR_BY_RUN_ID, but a list item needs none of packet, claims and report:
     * they are left NULL, and deleted_at (stored after them, so reading it walks their overflow
     * pages) is read only for deleted runs, whose content is already gone. */
    [S_HR_LIST] = "SELECT id, run_id, project, status, summary, NULL, NULL, NULL, "
                  "CASE WHEN status = 'deleted' THEN deleted_at END "
                  "FROM hosted_runs WHERE project = ?1 AND id < ?2 "
                  "AND (?3 IS NULL OR workflow_id = ?3) AND (?4 IS NULL OR status = ?4) "
                  "AND (?5 IS NULL OR gate_verdict = ?5) ORDER BY id DESC LIMIT ?6",
    /* The body digest goes too: kept, it would let a key holder confirm a guess of the text. */
    [S_HR_DELETE] = "UPDATE hosted_runs SET status = 'deleted', packet = NULL, claims = NULL, "
                    "report = NULL, summary = ?3, deleted_at = ?2, body_digest = X'' "
                    "WHERE id = ?1 AND deleted_at IS NULL",
    [S_HR_COUNT_BY_STATUS] = "SELECT status, count(*) FROM hosted_runs GROUP BY status",
};

static int disk_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
        return 1;
    default:
        return 0;
    }
}

/* Keeps the connection's current error (once per transaction) and marks the health when it is the
 * disk's. */
static void record_error(api_store *s)
{
    int rc = sqlite3_extended_errcode(s->db);

    if (s->err_set)
        return;
    snprintf(s->err, sizeof s->err, "%s (SQLite error %d)", sqlite3_errmsg(s->db), rc);
    s->err_set = 1;
    if (disk_error(rc)) {
        pthread_mutex_lock(&health_lock);
        snprintf(health_why, sizeof health_why, "%s", s->err);
        health_bad = 1;
        pthread_mutex_unlock(&health_lock);
    }
}

static void health_clear(void)
{
    pthread_mutex_lock(&health_lock);
    health_bad = 0;
    pthread_mutex_unlock(&health_lock);
}

/* A missing file is made here, not by SQLite, so that it starts as 0600 (less the umask): it
 * holds packets and reports. SQLite gives the -wal and -shm files the database file's mode. */
static int make_file(const char *path, int create, char *errmsg)
{
    struct stat sb;
    int fd;

    if (stat(path, &sb) == 0 || errno != ENOENT)
        return SQLITE_OK;
    if (!create) {
        snprintf(errmsg, ERR_MAX, "database %s does not exist", path);
        return SQLITE_CANTOPEN;
    }
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) {
        snprintf(errmsg, ERR_MAX, "cannot create %s: %s", path, strerror(errno));
        return SQLITE_CANTOPEN;
    }
    if (fd >= 0)
        close(fd);
    return SQLITE_OK;
}

int api_store_open(const char *path, const api_store_options *opt, int migrate, api_store **out,
                   char *errmsg)
{
    api_store *s = calloc(1, sizeof *s);
    char pragma[64];
    int rc = SQLITE_NOMEM;

    *out = NULL;
    errmsg[0] = '\0';
    if (!s)
        goto fail;
    rc = make_file(path, opt->create, errmsg);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(s->db, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 10000);
    rc = api_sql_run_script(s->db, "PRAGMA journal_mode = WAL");
    if (rc != SQLITE_OK)
        goto fail;
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s",
             opt->synchronous_full ? "FULL" : "NORMAL");
    rc = api_sql_run_script(s->db, pragma);
    if (rc == SQLITE_OK)
        rc = api_sql_run_script(s->db, "PRAGMA foreign_keys = ON");
    /* Deleted packets and reports are overwritten with zeros, not left in free pages (the
     * Debian build's default is off). */
    if (rc == SQLITE_OK)
        rc = api_sql_run_script(s->db, "PRAGMA secure_delete = ON");
    if (rc != SQLITE_OK)
        goto fail;
    if (migrate) {
        rc = api_migrate(s->db, errmsg);
        if (rc != SQLITE_OK)
            goto fail;
    }
    *out = s;
    s = NULL;
fail:
    if (rc != SQLITE_OK && !errmsg[0])
        snprintf(errmsg, 256, "%s: %s", path,
                 s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    api_store_close(s);
    return rc;
}

void api_store_close(api_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s);
}

sqlite3 *api_store_db(api_store *s)
{
    return s->db;
}

sqlite3_stmt *api_store_stmt(api_store *s, api_stmt_id id)
{
    sqlite3_stmt *st = s->stmts[id];

    if (!st && sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
                                  NULL) == SQLITE_OK)
        s->stmts[id] = st;
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    s->err_set = 0;
    return st;
}

int api_store_begin(api_store *s)
{
    int rc;

    pthread_mutex_lock(&write_lock);
    s->err_set = 0;
    rc = api_sql_run_script(s->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        record_error(s);
        pthread_mutex_unlock(&write_lock);
    }
    return rc;
}

int api_store_commit(api_store *s)
{
    int rc = api_sql_run_script(s->db, "COMMIT");

    if (rc != SQLITE_OK) {
        record_error(s);
        /* SQLite rolls some failures back itself (SQLITE_FULL, SQLITE_IOERR...). */
        if (!sqlite3_get_autocommit(s->db))
            api_sql_run_script(s->db, "ROLLBACK");
    } else {
        health_clear();
    }
    pthread_mutex_unlock(&write_lock);
    return rc;
}

void api_store_rollback(api_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        api_sql_run_script(s->db, "ROLLBACK");
    pthread_mutex_unlock(&write_lock);
}

const char *api_store_error(api_store *s)
{
    record_error(s);
    return s->err;
}

int api_store_checkpoint(api_store *s)
{
    int rc;

    pthread_mutex_lock(&write_lock);
    s->err_set = 0;
    rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc != SQLITE_OK)
        record_error(s);
    pthread_mutex_unlock(&write_lock);
    return rc;
}

int api_store_write_health(char *why, size_t size)
{
    int bad;

    pthread_mutex_lock(&health_lock);
    bad = health_bad;
    if (bad && why)
        snprintf(why, size, "%s", health_why);
    pthread_mutex_unlock(&health_lock);
    return bad ? -1 : 0;
}

int api_store_probe_write(api_store *s)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int rc, version = 0;

    rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    rc = api_store_begin(s);
    if (rc != SQLITE_OK)
        return rc;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    rc = api_sql_run_script(s->db, sql);
    if (rc != SQLITE_OK) {
        record_error(s);
        api_store_rollback(s);
        return rc;
    }
    return api_store_commit(s);
}
