/*
 * store.c - SQLite connections, the statement table and write transactions (see store.h).
 *
 * All SQL of the server lives in the table below, so a reader sees every query the API can run
 * in one place; values are always bound, never formatted into SQL.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "migrate.h"
#include "store.h"

struct api_store {
    sqlite3 *db;
    sqlite3_stmt *stmts[S_COUNT];
};

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

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
                    "cred_expires_at, created_at, updated_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, 'created', ?6, ?7, ?8, ?9, ?10, ?9, ?9)",
    [S_PW_REISSUE] = "UPDATE pw_runs SET cred_hash = ?2, cred_issued_at = ?3, "
                     "cred_expires_at = ?4, updated_at = ?3 WHERE id = ?1",
    [S_PW_BY_CRED] = "SELECT id, run_id, project, cred_hash, cred_expires_at FROM pw_runs "
                     "WHERE cred_hash = ?1",
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
    [S_HR_BY_CUSTOMER] = "SELECT id, run_id, body_digest FROM hosted_runs "
                         "WHERE project = ?1 AND customer_run_id = ?2",
    [S_HR_INSERT] = "INSERT INTO hosted_runs (run_id, project, customer_run_id, workflow_id, "
                    "status, gate_verdict, safe_use_status, summary, body_digest, packet, "
                    "claims, report, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, 'completed', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [S_HR_BY_RUN_ID] = "SELECT id, run_id, project, status, summary, packet, claims, report, "
                       "deleted_at FROM hosted_runs WHERE run_id = ?1",
    [S_HR_LIST] = "SELECT id, run_id, project, status, summary, packet, claims, report, "
                  "deleted_at FROM hosted_runs WHERE project = ?1 AND id < ?2 "
                  "AND (?3 IS NULL OR workflow_id = ?3) AND (?4 IS NULL OR status = ?4) "
                  "AND (?5 IS NULL OR gate_verdict = ?5) ORDER BY id DESC LIMIT ?6",
    [S_HR_DELETE] = "UPDATE hosted_runs SET status = 'deleted', packet = NULL, claims = NULL, "
                    "report = NULL, summary = ?3, deleted_at = ?2 "
                    "WHERE id = ?1 AND deleted_at IS NULL",
    [S_HR_COUNT_BY_STATUS] = "SELECT status, count(*) FROM hosted_runs GROUP BY status",
};

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
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
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
    return st;
}

int api_store_begin(api_store *s)
{
    int rc;

    pthread_mutex_lock(&write_lock);
    rc = api_sql_run_script(s->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        pthread_mutex_unlock(&write_lock);
    return rc;
}

int api_store_commit(api_store *s)
{
    int rc = api_sql_run_script(s->db, "COMMIT");

    if (rc != SQLITE_OK)
        api_sql_run_script(s->db, "ROLLBACK");
    pthread_mutex_unlock(&write_lock);
    return rc;
}

void api_store_rollback(api_store *s)
{
    api_sql_run_script(s->db, "ROLLBACK");
    pthread_mutex_unlock(&write_lock);
}
