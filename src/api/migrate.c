/*
 * migrate.c - forward migrations of the kivo-api store (see migrate.h).
 *
 * Migration N is migrations[N - 1]. Never edit one that has shipped: add the next. Tokens appear
 * only as SHA-256 digests (BLOBs); times are milliseconds since the epoch, UTC.
 */
#include <stdio.h>
#include <string.h>

#include "migrate.h"

static const char *const migrations[] = {
    /* 1: keys, private-worker runs and their events, hosted runs. */
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  prefix TEXT NOT NULL UNIQUE,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  project TEXT NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  revoked_at INTEGER);"
    "CREATE TABLE pw_runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id TEXT NOT NULL UNIQUE,"
    "  project TEXT NOT NULL,"
    "  customer_run_id TEXT NOT NULL,"
    "  workflow_id TEXT NOT NULL,"
    "  worker_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  gate_verdict TEXT,"
    "  create_body TEXT NOT NULL,"
    "  create_digest BLOB NOT NULL,"
    "  cred_hash BLOB NOT NULL UNIQUE,"
    "  cred_issued_at INTEGER NOT NULL,"
    "  cred_expires_at INTEGER NOT NULL,"
    "  last_sequence INTEGER NOT NULL DEFAULT 0,"
    "  event_count INTEGER NOT NULL DEFAULT 0,"
    "  terminal_body TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  terminal_at INTEGER,"
    "  UNIQUE (project, customer_run_id));"
    "CREATE INDEX pw_runs_by_project ON pw_runs (project, id);"
    "CREATE TABLE pw_events ("
    "  run INTEGER NOT NULL REFERENCES pw_runs (id),"
    "  event_id TEXT NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  event_type TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  body_digest BLOB NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (run, event_id)) WITHOUT ROWID;"
    "CREATE TABLE hosted_runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id TEXT NOT NULL UNIQUE,"
    "  project TEXT NOT NULL,"
    "  customer_run_id TEXT NOT NULL,"
    "  workflow_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  gate_verdict TEXT NOT NULL,"
    "  safe_use_status TEXT NOT NULL,"
    "  summary TEXT NOT NULL,"
    "  body_digest BLOB NOT NULL,"
    "  packet TEXT,"
    "  claims TEXT,"
    "  report TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER,"
    "  UNIQUE (project, customer_run_id));"
    "CREATE INDEX hosted_runs_by_project ON hosted_runs (project, id);",
    /* 2: /metrics counts runs by status at every scrape; an index keeps that off the tables. */
    "CREATE INDEX pw_runs_by_status ON pw_runs (status);"
    "CREATE INDEX hosted_runs_by_status ON hosted_runs (status);",
    /* 3: the API key that was issued a run's current credential, so that revoking the key
     * revokes the credential too (runs made before this migration have none). */
    "ALTER TABLE pw_runs ADD COLUMN key_id INTEGER;",
    /* 4: batches (issue 15). A run is (project, batch_id, customer_run_id), absent batch =
     * 'default', for private-worker and hosted runs alike. SQLite cannot change a table's UNIQUE
     * constraint in place, so both tables are rebuilt with their ids (pw_events refers to
     * pw_runs.id, cursors encode ids; api_migrate turns foreign keys off around the rebuild and
     * checks them before the commit). pw_runs_by_batch serves the batch list and its filter. */
    "CREATE TABLE pw_runs_v4 ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id TEXT NOT NULL UNIQUE,"
    "  project TEXT NOT NULL,"
    "  customer_run_id TEXT NOT NULL,"
    "  workflow_id TEXT NOT NULL,"
    "  worker_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  gate_verdict TEXT,"
    "  create_body TEXT NOT NULL,"
    "  create_digest BLOB NOT NULL,"
    "  cred_hash BLOB NOT NULL UNIQUE,"
    "  cred_issued_at INTEGER NOT NULL,"
    "  cred_expires_at INTEGER NOT NULL,"
    "  last_sequence INTEGER NOT NULL DEFAULT 0,"
    "  event_count INTEGER NOT NULL DEFAULT 0,"
    "  terminal_body TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  terminal_at INTEGER,"
    "  key_id INTEGER,"
    "  batch_id TEXT NOT NULL DEFAULT 'default',"
    "  UNIQUE (project, batch_id, customer_run_id));"
    "INSERT INTO pw_runs_v4 (id, run_id, project, customer_run_id, workflow_id, worker_id, status,"
    "  gate_verdict, create_body, create_digest, cred_hash, cred_issued_at, cred_expires_at,"
    "  last_sequence, event_count, terminal_body, created_at, updated_at, terminal_at, key_id)"
    "  SELECT id, run_id, project, customer_run_id, workflow_id, worker_id, status,"
    "  gate_verdict, create_body, create_digest, cred_hash, cred_issued_at, cred_expires_at,"
    "  last_sequence, event_count, terminal_body, created_at, updated_at, terminal_at, key_id"
    "  FROM pw_runs;"
    "DROP TABLE pw_runs;"
    "ALTER TABLE pw_runs_v4 RENAME TO pw_runs;"
    "CREATE INDEX pw_runs_by_project ON pw_runs (project, id);"
    "CREATE INDEX pw_runs_by_status ON pw_runs (status);"
    "CREATE INDEX pw_runs_by_batch ON pw_runs (project, workflow_id, batch_id);"
    "CREATE TABLE hosted_runs_v4 ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id TEXT NOT NULL UNIQUE,"
    "  project TEXT NOT NULL,"
    "  customer_run_id TEXT NOT NULL,"
    "  workflow_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  gate_verdict TEXT NOT NULL,"
    "  safe_use_status TEXT NOT NULL,"
    "  summary TEXT NOT NULL,"
    "  body_digest BLOB NOT NULL,"
    "  packet TEXT,"
    "  claims TEXT,"
    "  report TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER,"
    "  batch_id TEXT NOT NULL DEFAULT 'default',"
    "  UNIQUE (project, batch_id, customer_run_id));"
    "INSERT INTO hosted_runs_v4 (id, run_id, project, customer_run_id, workflow_id, status,"
    "  gate_verdict, safe_use_status, summary, body_digest, packet, claims, report, created_at,"
    "  deleted_at)"
    "  SELECT id, run_id, project, customer_run_id, workflow_id, status, gate_verdict,"
    "  safe_use_status, summary, body_digest, packet, claims, report, created_at, deleted_at"
    "  FROM hosted_runs;"
    "DROP TABLE hosted_runs;"
    "ALTER TABLE hosted_runs_v4 RENAME TO hosted_runs;"
    "CREATE INDEX hosted_runs_by_project ON hosted_runs (project, id);"
    "CREATE INDEX hosted_runs_by_status ON hosted_runs (status);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int api_migrate_latest(void)
{
    return N_MIGRATIONS;
}

int api_sql_run_script(sqlite3 *db, const char *sql)
{
    const char *tail = sql;
    int rc = SQLITE_OK;

    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
        if (rc != SQLITE_OK)
            break;
        if (!st) /* only white space or a comment was left */
            break;
        do
            rc = sqlite3_step(st);
        while (rc == SQLITE_ROW);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            break;
        rc = SQLITE_OK;
    }
    return rc;
}

static int user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* PRAGMA foreign_key_check finds no row. @return SQLITE_OK, SQLITE_CONSTRAINT, or an error. */
static int foreign_keys_hold(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc == SQLITE_ROW ? SQLITE_CONSTRAINT : rc;
    }
    sqlite3_finalize(st);
    return rc;
}

static int migrate(sqlite3 *db, char *errmsg);

/* Foreign keys are off while migrations run (a rebuilt table is dropped and renamed; see 4):
 * the pragma is a no-op inside a transaction, so it is set around them, and each migration
 * checks the keys itself before its commit. */
int api_migrate(sqlite3 *db, char *errmsg)
{
    int rc;

    api_sql_run_script(db, "PRAGMA foreign_keys = OFF");
    rc = migrate(db, errmsg);
    api_sql_run_script(db, "PRAGMA foreign_keys = ON");
    return rc;
}

static int migrate(sqlite3 *db, char *errmsg)
{
    char pragma[64];
    int version = 0;
    int rc;

    errmsg[0] = '\0';
    rc = api_sql_run_script(db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        goto fail;
    rc = user_version(db, &version);
    if (rc != SQLITE_OK)
        goto rollback;
    if (version > N_MIGRATIONS) {
        snprintf(errmsg, 256, "database schema version %d is newer than this kivo-api (%d)",
                 version, N_MIGRATIONS);
        rc = SQLITE_MISMATCH;
        goto rollback;
    }
    api_sql_run_script(db, "COMMIT");

    for (int v = version + 1; v <= N_MIGRATIONS; v++) {
        rc = api_sql_run_script(db, "BEGIN IMMEDIATE");
        if (rc != SQLITE_OK)
            goto fail;
        /* Re-read inside the write lock: another process may have migrated meanwhile. */
        rc = user_version(db, &version);
        if (rc != SQLITE_OK)
            goto rollback;
        if (version >= v) {
            api_sql_run_script(db, "COMMIT");
            continue;
        }
        rc = api_sql_run_script(db, migrations[v - 1]);
        if (rc == SQLITE_OK)
            rc = foreign_keys_hold(db);
        if (rc != SQLITE_OK)
            goto rollback;
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
        rc = api_sql_run_script(db, pragma);
        if (rc != SQLITE_OK)
            goto rollback;
        rc = api_sql_run_script(db, "COMMIT");
        if (rc != SQLITE_OK)
            goto rollback;
    }
    goto out;

rollback:
    api_sql_run_script(db, "ROLLBACK");
fail:
    if (!errmsg[0])
        snprintf(errmsg, 256, "migration failed: %s", sqlite3_errmsg(db));
out:
    return rc;
}
