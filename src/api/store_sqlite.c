/*
 * store_sqlite.c - the SQLite backend of the store: connections, the statement table and write
 * transactions (see store.h; store.c picks this backend for a file path).
 *
 * All SQL of the SQLite backend lives in this file (store_pg.c holds PostgreSQL's), each
 * statement's text right above the one typed function that binds its parameters and reads its
 * columns, so a reader sees every query the API can run in one place and no caller depends on a
 * parameter's or a column's position. Values are always bound, never formatted into SQL.
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
#include "store_int.h"

#define ERR_MAX 256

/* One slot per statement of the store interface (store_int.h), prepared on first use and kept
 * for the connection's life. */
#define STMT_COUNT STMT_SHARED
typedef api_stmt stmt_id;

struct api_sq {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    sqlite3_stmt *open; /* the lookup whose row the caller holds, until api_sq_end */
    char err[ERR_MAX];  /* the error recorded since the last begin, when err_set */
    int err_set;
};

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static int disk_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN: return 1;
    default: return 0;
    }
}

/* Keeps the connection's current error (once per transaction) and marks the health when it is the
 * disk's. */
static void record_error(api_sq *s)
{
    int rc = sqlite3_extended_errcode(s->db);

    if (s->err_set)
        return;
    snprintf(s->err, sizeof s->err, "%s (SQLite error %d)", sqlite3_errmsg(s->db), rc);
    s->err_set = 1;
    if (disk_error(rc))
        api_store_health_bad(s->err);
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

int api_sq_open(const char *path, const api_store_options *opt, int migrate, api_sq **out,
                char *errmsg)
{
    api_sq *s = calloc(1, sizeof *s);
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
    api_sq_close(s);
    return rc;
}

void api_sq_close(api_sq *s)
{
    if (!s)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s);
}

void api_sq_end(api_sq *s)
{
    if (s->open) {
        sqlite3_reset(s->open);
        s->open = NULL;
    }
}

/* The statement `id` with text `sql`, prepared on first use, reset and with its bindings
 * cleared; the open row of an earlier lookup is released first. @return NULL when preparing
 * failed. */
static sqlite3_stmt *stmt(api_sq *s, stmt_id id, const char *sql)
{
    sqlite3_stmt *st = s->stmts[id];

    api_sq_end(s);
    if (!st &&
        sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) == SQLITE_OK)
        s->stmts[id] = st;
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    s->err_set = 0;
    return st;
}

/* Steps a statement that returns no row and resets it. @return SQLITE_OK or the error. */
/* Ends a statement whose last sqlite3_step() gave rc (SQLITE_DONE: all went well, or a row walk
 * its callback stopped): records any other result as the store's error and resets st.
 * @return SQLITE_OK or that result. */
static int finish(api_sq *s, sqlite3_stmt *st, int rc)
{
    if (rc != SQLITE_DONE)
        record_error(s);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int run(api_sq *s, sqlite3_stmt *st)
{
    if (!st)
        return sqlite3_errcode(s->db) != SQLITE_OK ? sqlite3_errcode(s->db) : SQLITE_ERROR;
    return finish(s, st, sqlite3_step(st));
}

/* Steps a lookup. On SQLITE_ROW the statement stays on its row (the caller's row points into
 * it) until api_sq_end; otherwise it is reset. */
static int lookup(api_sq *s, sqlite3_stmt *st)
{
    int rc;

    if (!st)
        return sqlite3_errcode(s->db) != SQLITE_OK ? sqlite3_errcode(s->db) : SQLITE_ERROR;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->open = st;
    } else {
        if (rc != SQLITE_DONE)
            record_error(s);
        sqlite3_reset(st);
    }
    return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v, int len)
{
    if (v)
        sqlite3_bind_text(st, i, v, len, SQLITE_STATIC);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

/* An integer column, or -1 when NULL. */
static int64_t col_time(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, col);
}

/* ---- API keys --------------------------------------------------------------------------- */

static const char sql_key_insert[] =
    "INSERT INTO api_keys (prefix, token_hash, project, scopes, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";

int api_sq_key_insert(api_sq *s, const char *prefix, const void *token_hash, size_t hash_len,
                      const char *project, const char *scopes, int64_t now)
{
    sqlite3_stmt *st = stmt(s, STMT_KEY_INSERT, sql_key_insert);

    if (st) {
        bind_text(st, 1, prefix, -1);
        sqlite3_bind_blob(st, 2, token_hash, (int)hash_len, SQLITE_STATIC);
        bind_text(st, 3, project, -1);
        bind_text(st, 4, scopes, -1);
        sqlite3_bind_int64(st, 5, now);
    }
    return run(s, st);
}

static const char sql_key_by_hash[] =
    "SELECT id, token_hash, project, scopes, revoked_at, last_used_at "
    "FROM api_keys WHERE token_hash = ?1";

int api_sq_key_by_hash(api_sq *s, const void *token_hash, size_t hash_len, api_key_row *row)
{
    sqlite3_stmt *st = stmt(s, STMT_KEY_BY_HASH, sql_key_by_hash);
    int rc;

    if (st)
        sqlite3_bind_blob(st, 1, token_hash, (int)hash_len, SQLITE_STATIC);
    rc = lookup(s, st);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64(st, 0);
        row->token_hash = sqlite3_column_blob(st, 1);
        row->token_hash_len = (size_t)sqlite3_column_bytes(st, 1);
        row->project = col_text(st, 2);
        row->scopes = col_text(st, 3);
        row->revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
        row->last_used_at = col_time(st, 5);
    }
    return rc;
}

static const char sql_key_touch[] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1";

int api_sq_key_touch(api_sq *s, int64_t id, int64_t now)
{
    sqlite3_stmt *st = stmt(s, STMT_KEY_TOUCH, sql_key_touch);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
    }
    return run(s, st);
}

static const char sql_key_list[] =
    "SELECT prefix, project, scopes, created_at, last_used_at, revoked_at "
    "FROM api_keys ORDER BY id";

int api_sq_key_list(api_sq *s, void (*fn)(const api_key_item *key, void *arg), void *arg)
{
    sqlite3_stmt *st = stmt(s, STMT_KEY_LIST, sql_key_list);
    api_key_item k;
    int rc;

    if (!st)
        return run(s, st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        k.prefix = col_text(st, 0);
        k.project = col_text(st, 1);
        k.scopes = col_text(st, 2);
        k.created_at = col_time(st, 3);
        k.last_used_at = col_time(st, 4);
        k.revoked_at = col_time(st, 5);
        fn(&k, arg);
    }
    return finish(s, st, rc);
}

static const char sql_key_revoke[] =
    "UPDATE api_keys SET revoked_at = ?2 WHERE prefix = ?1 AND revoked_at IS NULL";

int api_sq_key_revoke(api_sq *s, const char *prefix, int64_t now, int *changed)
{
    sqlite3_stmt *st = stmt(s, STMT_KEY_REVOKE, sql_key_revoke);
    int rc;

    if (st) {
        bind_text(st, 1, prefix, -1);
        sqlite3_bind_int64(st, 2, now);
    }
    rc = run(s, st);
    *changed = rc == SQLITE_OK && sqlite3_changes(s->db) > 0;
    return rc;
}

/* ---- private-worker runs and events --------------------------------------------------------- */

static const char sql_pw_by_customer[] =
    "SELECT id, run_id, status, create_digest FROM pw_runs "
    "WHERE project = ?1 AND batch_id = ?3 AND customer_run_id = ?2";

int api_sq_pw_by_customer(api_sq *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_pw_found *row)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_BY_CUSTOMER, sql_pw_by_customer);
    int rc;

    if (st) {
        bind_text(st, 1, project, -1);
        bind_text(st, 2, customer_run_id, customer_run_id_len);
        bind_text(st, 3, batch_id, batch_id_len);
    }
    rc = lookup(s, st);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64(st, 0);
        row->run_id = col_text(st, 1);
        row->status = col_text(st, 2);
        row->create_digest = sqlite3_column_blob(st, 3);
        row->create_digest_len = (size_t)sqlite3_column_bytes(st, 3);
    }
    return rc;
}

static const char sql_pw_insert[] =
    "INSERT INTO pw_runs (run_id, project, customer_run_id, workflow_id, worker_id, status, "
    "create_body, create_digest, cred_hash, cred_issued_at, cred_expires_at, created_at, "
    "updated_at, key_id, batch_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, 'created', ?6, ?7, ?8, ?9, ?10, ?9, ?9, ?11, ?12)";

int api_sq_pw_insert(api_sq *s, const api_pw_new_run *r)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_INSERT, sql_pw_insert);

    if (st) {
        bind_text(st, 1, r->run_id, -1);
        bind_text(st, 2, r->project, -1);
        bind_text(st, 3, r->customer_run_id, r->customer_run_id_len);
        bind_text(st, 4, r->workflow_id, r->workflow_id_len);
        bind_text(st, 5, r->worker_id, r->worker_id_len);
        bind_text(st, 6, r->create_body, -1);
        sqlite3_bind_blob(st, 7, r->create_digest, (int)r->digest_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 8, r->cred_digest, (int)r->digest_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, r->now);
        sqlite3_bind_int64(st, 10, r->cred_expires_at);
        sqlite3_bind_int64(st, 11, r->key_id);
        bind_text(st, 12, r->batch_id, r->batch_id_len);
    }
    return run(s, st);
}

static const char sql_pw_reissue[] =
    "UPDATE pw_runs SET cred_hash = ?2, cred_issued_at = ?3, cred_expires_at = ?4, "
    "updated_at = ?3, key_id = ?5 WHERE id = ?1";

int api_sq_pw_reissue(api_sq *s, int64_t id, const void *cred_digest, size_t digest_len,
                      int64_t now, int64_t expires, int64_t key_id)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_REISSUE, sql_pw_reissue);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_blob(st, 2, cred_digest, (int)digest_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, expires);
        sqlite3_bind_int64(st, 5, key_id);
    }
    return run(s, st);
}

/* k.revoked_at: when the key the credential was issued to is revoked, the credential is too. */
static const char sql_pw_by_cred[] =
    "SELECT r.id, r.run_id, r.project, r.cred_hash, r.cred_expires_at, k.revoked_at "
    "FROM pw_runs r LEFT JOIN api_keys k ON k.id = r.key_id WHERE r.cred_hash = ?1";

int api_sq_pw_by_cred(api_sq *s, const void *cred_hash, size_t hash_len, api_pw_cred_row *row)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_BY_CRED, sql_pw_by_cred);
    int rc;

    if (st)
        sqlite3_bind_blob(st, 1, cred_hash, (int)hash_len, SQLITE_STATIC);
    rc = lookup(s, st);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64(st, 0);
        row->run_id = col_text(st, 1);
        row->project = col_text(st, 2);
        row->cred_hash = sqlite3_column_blob(st, 3);
        row->cred_hash_len = (size_t)sqlite3_column_bytes(st, 3);
        row->cred_expires_at = sqlite3_column_int64(st, 4);
        row->key_revoked = sqlite3_column_type(st, 5) != SQLITE_NULL;
    }
    return rc;
}

/* The columns of a whole run, for one run and for lists (pw_run_row reads them). */
#define PW_RUN_COLUMNS                                                                     \
    "id, run_id, project, customer_run_id, workflow_id, worker_id, status, gate_verdict, " \
    "create_body, terminal_body, last_sequence, event_count, created_at, updated_at, "     \
    "terminal_at, cred_expires_at, batch_id"

static void pw_run_row(sqlite3_stmt *st, api_pw_run *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->run_id = col_text(st, 1);
    r->project = col_text(st, 2);
    r->customer_run_id = col_text(st, 3);
    r->customer_run_id_len = (size_t)sqlite3_column_bytes(st, 3);
    r->workflow_id = col_text(st, 4);
    r->worker_id = col_text(st, 5);
    r->worker_id_len = (size_t)sqlite3_column_bytes(st, 5);
    r->status = col_text(st, 6);
    r->gate_verdict = col_text(st, 7);
    r->create_body = col_text(st, 8);
    r->terminal_body = col_text(st, 9);
    r->last_sequence = sqlite3_column_int64(st, 10);
    r->event_count = sqlite3_column_int64(st, 11);
    r->created_at = sqlite3_column_int64(st, 12);
    r->updated_at = sqlite3_column_int64(st, 13);
    r->terminal_at = col_time(st, 14);
    r->cred_expires_at = sqlite3_column_int64(st, 15);
    r->batch_id = col_text(st, 16);
}

static const char sql_pw_by_run_id[] = "SELECT " PW_RUN_COLUMNS " FROM pw_runs WHERE run_id = ?1";

int api_sq_pw_by_run_id(api_sq *s, const char *run_id, api_pw_run *row)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_BY_RUN_ID, sql_pw_by_run_id);
    int rc;

    if (st)
        bind_text(st, 1, run_id, -1);
    rc = lookup(s, st);
    if (rc == SQLITE_ROW)
        pw_run_row(st, row);
    return rc;
}

static const char sql_pw_event_get[] =
    "SELECT body_digest, answer FROM pw_events WHERE run = ?1 AND event_id = ?2";

int api_sq_pw_event_get(api_sq *s, int64_t run, const char *event_id, int event_id_len,
                        const void **body_digest, size_t *digest_len, const char **answer)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_EVENT_GET, sql_pw_event_get);
    int rc;

    if (st) {
        sqlite3_bind_int64(st, 1, run);
        bind_text(st, 2, event_id, event_id_len);
    }
    rc = lookup(s, st);
    if (rc == SQLITE_ROW) {
        *body_digest = sqlite3_column_blob(st, 0);
        *digest_len = (size_t)sqlite3_column_bytes(st, 0);
        *answer = col_text(st, 1);
    }
    return rc;
}

static const char sql_pw_event_insert[] =
    "INSERT INTO pw_events (run, event_id, sequence, event_type, body, body_digest, answer, "
    "received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

int api_sq_pw_event_insert(api_sq *s, const api_pw_new_event *ev)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_EVENT_INSERT, sql_pw_event_insert);

    if (st) {
        sqlite3_bind_int64(st, 1, ev->run);
        bind_text(st, 2, ev->event_id, ev->event_id_len);
        sqlite3_bind_int64(st, 3, ev->sequence);
        bind_text(st, 4, ev->event_type, -1);
        bind_text(st, 5, ev->body, -1);
        sqlite3_bind_blob(st, 6, ev->body_digest, (int)ev->digest_len, SQLITE_STATIC);
        bind_text(st, 7, ev->answer, -1);
        sqlite3_bind_int64(st, 8, ev->received_at);
    }
    return run(s, st);
}

static const char sql_pw_advance[] =
    "UPDATE pw_runs SET status = ?2, last_sequence = ?3, event_count = event_count + 1, "
    "updated_at = ?4, gate_verdict = coalesce(?5, gate_verdict), "
    "terminal_body = coalesce(?6, terminal_body), terminal_at = coalesce(?7, terminal_at), "
    "cred_expires_at = min(cred_expires_at, coalesce(?7, cred_expires_at)) WHERE id = ?1";

int api_sq_pw_advance(api_sq *s, const api_pw_advance *a)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_ADVANCE, sql_pw_advance);

    if (st) {
        sqlite3_bind_int64(st, 1, a->run);
        bind_text(st, 2, a->status, -1);
        sqlite3_bind_int64(st, 3, a->sequence);
        sqlite3_bind_int64(st, 4, a->now);
        bind_text(st, 5, a->gate_verdict, a->gate_verdict_len);
        if (a->terminal_body) {
            bind_text(st, 6, a->terminal_body, -1);
            sqlite3_bind_int64(st, 7, a->now);
        }
    }
    return run(s, st);
}

/* Binds the parameters every run list shares: project, id below, filters, limit + 1. */
static void bind_list(sqlite3_stmt *st, const api_list_filter *f)
{
    bind_text(st, 1, f->project, -1);
    sqlite3_bind_int64(st, 2, f->before);
    bind_text(st, 3, f->workflow_id, -1);
    bind_text(st, 4, f->status, -1);
    bind_text(st, 5, f->gate_verdict, -1);
    sqlite3_bind_int64(st, 6, f->limit);
    bind_text(st, 7, f->batch_id, -1);
}

static const char sql_pw_list[] =
    "SELECT " PW_RUN_COLUMNS " FROM pw_runs WHERE project = ?1 AND id < ?2 "
    "AND (?3 IS NULL OR workflow_id = ?3) AND (?4 IS NULL OR status = ?4) "
    "AND (?5 IS NULL OR gate_verdict = ?5) AND (?7 IS NULL OR batch_id = ?7) "
    "ORDER BY id DESC LIMIT ?6";

int api_sq_pw_list(api_sq *s, const api_list_filter *f, int (*fn)(const api_pw_run *run, void *arg),
                   void *arg)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_LIST, sql_pw_list);
    api_pw_run r;
    int rc;

    if (!st)
        return run(s, st);
    bind_list(st, f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pw_run_row(st, &r);
        if (fn(&r, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return finish(s, st, rc);
}

/* A batch is keyed by its first run's id, which never changes (runs are never removed), so the
 * pages stay stable while runs are added. Verdicts are counted on the runs that have one. */
static const char sql_pw_batches[] =
    "SELECT min(id) AS k, workflow_id, batch_id, count(*), "
    "sum(gate_verdict = 'pass'), sum(gate_verdict = 'needs_review'), "
    "sum(gate_verdict = 'fail'), min(created_at), max(created_at) "
    "FROM pw_runs WHERE project = ?1 AND (?2 IS NULL OR workflow_id = ?2) "
    "GROUP BY workflow_id, batch_id HAVING k < ?3 ORDER BY k DESC LIMIT ?4";

int api_sq_pw_batches(api_sq *s, const api_list_filter *f,
                      int (*fn)(const api_batch_row *b, void *arg), void *arg)
{
    sqlite3_stmt *st = stmt(s, STMT_PW_BATCHES, sql_pw_batches);
    api_batch_row b;
    int rc;

    if (!st)
        return run(s, st);
    bind_text(st, 1, f->project, -1);
    bind_text(st, 2, f->workflow_id, -1);
    sqlite3_bind_int64(st, 3, f->before);
    sqlite3_bind_int64(st, 4, f->limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        b.key = sqlite3_column_int64(st, 0);
        b.workflow_id = col_text(st, 1);
        b.batch_id = col_text(st, 2);
        b.run_count = sqlite3_column_int64(st, 3);
        b.pass = sqlite3_column_int64(st, 4);
        b.needs_review = sqlite3_column_int64(st, 5);
        b.fail = sqlite3_column_int64(st, 6);
        b.first_created_at = sqlite3_column_int64(st, 7);
        b.last_created_at = sqlite3_column_int64(st, 8);
        if (fn(&b, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return finish(s, st, rc);
}

/* ---- hosted runs ------------------------------------------------------------------------------ */

static const char sql_hr_by_customer[] =
    "SELECT id, run_id, body_digest, deleted_at FROM hosted_runs "
    "WHERE project = ?1 AND batch_id = ?3 AND customer_run_id = ?2";

int api_sq_hr_by_customer(api_sq *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_hr_found *row)
{
    sqlite3_stmt *st = stmt(s, STMT_HR_BY_CUSTOMER, sql_hr_by_customer);
    int rc;

    if (st) {
        bind_text(st, 1, project, -1);
        bind_text(st, 2, customer_run_id, customer_run_id_len);
        bind_text(st, 3, batch_id, batch_id_len);
    }
    rc = lookup(s, st);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64(st, 0);
        row->run_id = col_text(st, 1);
        row->body_digest = sqlite3_column_blob(st, 2);
        row->body_digest_len = (size_t)sqlite3_column_bytes(st, 2);
        row->deleted = sqlite3_column_type(st, 3) != SQLITE_NULL;
    }
    return rc;
}

static const char sql_hr_insert[] =
    "INSERT INTO hosted_runs (run_id, project, customer_run_id, workflow_id, status, "
    "gate_verdict, safe_use_status, summary, body_digest, packet, claims, report, created_at, "
    "batch_id) VALUES (?1, ?2, ?3, ?4, 'completed', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

int api_sq_hr_insert(api_sq *s, const api_hr_new_run *r)
{
    sqlite3_stmt *st = stmt(s, STMT_HR_INSERT, sql_hr_insert);

    if (st) {
        bind_text(st, 1, r->run_id, -1);
        bind_text(st, 2, r->project, -1);
        bind_text(st, 3, r->customer_run_id, -1);
        bind_text(st, 4, r->workflow_id, -1);
        bind_text(st, 5, r->gate_verdict, -1);
        bind_text(st, 6, r->safe_use_status, -1);
        bind_text(st, 7, r->summary, -1);
        sqlite3_bind_blob(st, 8, r->body_digest, (int)r->digest_len, SQLITE_STATIC);
        bind_text(st, 9, r->packet, -1);
        bind_text(st, 10, r->claims, -1);
        bind_text(st, 11, r->report, (int)r->report_len);
        sqlite3_bind_int64(st, 12, r->created_at);
        bind_text(st, 13, r->batch_id, -1);
    }
    return run(s, st);
}

static void hr_run_row(sqlite3_stmt *st, api_hr_run *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->run_id = col_text(st, 1);
    r->project = col_text(st, 2);
    r->status = col_text(st, 3);
    r->summary = col_text(st, 4);
    r->packet = col_text(st, 5);
    r->claims = col_text(st, 6);
    r->report = col_text(st, 7);
    r->deleted_at = col_time(st, 8);
}

static const char sql_hr_by_run_id[] =
    "SELECT id, run_id, project, status, summary, packet, claims, report, deleted_at "
    "FROM hosted_runs WHERE run_id = ?1";

int api_sq_hr_by_run_id(api_sq *s, const char *run_id, api_hr_run *row)
{
    sqlite3_stmt *st = stmt(s, STMT_HR_BY_RUN_ID, sql_hr_by_run_id);
    int rc;

    if (st)
        bind_text(st, 1, run_id, -1);
    rc = lookup(s, st);
    if (rc == SQLITE_ROW)
        hr_run_row(st, row);
    return rc;
}

/* The columns of sql_hr_by_run_id, but a list item needs none of packet, claims and report: they
 * are left NULL, and deleted_at (stored after them, so reading it walks their overflow pages) is
 * read only for deleted runs, whose content is already gone. */
static const char sql_hr_list[] =
    "SELECT id, run_id, project, status, summary, NULL, NULL, NULL, "
    "CASE WHEN status = 'deleted' THEN deleted_at END "
    "FROM hosted_runs WHERE project = ?1 AND id < ?2 "
    "AND (?3 IS NULL OR workflow_id = ?3) AND (?4 IS NULL OR status = ?4) "
    "AND (?5 IS NULL OR gate_verdict = ?5) AND (?7 IS NULL OR batch_id = ?7) "
    "ORDER BY id DESC LIMIT ?6";

int api_sq_hr_list(api_sq *s, const api_list_filter *f, int (*fn)(const api_hr_run *run, void *arg),
                   void *arg)
{
    sqlite3_stmt *st = stmt(s, STMT_HR_LIST, sql_hr_list);
    api_hr_run r;
    int rc;

    if (!st)
        return run(s, st);
    bind_list(st, f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hr_run_row(st, &r);
        if (fn(&r, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return finish(s, st, rc);
}

/* The body digest goes too: kept, it would let a key holder confirm a guess of the text. */
static const char sql_hr_delete[] =
    "UPDATE hosted_runs SET status = 'deleted', packet = NULL, claims = NULL, report = NULL, "
    "summary = ?3, deleted_at = ?2, body_digest = X'' WHERE id = ?1 AND deleted_at IS NULL";

int api_sq_hr_delete(api_sq *s, int64_t id, int64_t now, const char *summary)
{
    sqlite3_stmt *st = stmt(s, STMT_HR_DELETE, sql_hr_delete);

    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        bind_text(st, 3, summary, -1);
    }
    return run(s, st);
}

/* ---- both ------------------------------------------------------------------------------------ */

static const char sql_pw_count_by_status[] = "SELECT status, count(*) FROM pw_runs GROUP BY status";
static const char sql_hr_count_by_status[] =
    "SELECT status, count(*) FROM hosted_runs GROUP BY status";

int api_sq_count_by_status(api_sq *s, api_run_kind kind,
                           int (*fn)(const char *status, int64_t n, void *arg), void *arg)
{
    sqlite3_stmt *st = kind == API_RUN_HOSTED
                           ? stmt(s, STMT_HR_COUNT_BY_STATUS, sql_hr_count_by_status)
                           : stmt(s, STMT_PW_COUNT_BY_STATUS, sql_pw_count_by_status);
    int rc;

    if (!st)
        return run(s, st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(col_text(st, 0), sqlite3_column_int64(st, 1), arg)) {
            rc = SQLITE_DONE;
            break;
        }
    return finish(s, st, rc);
}

int api_sq_begin(api_sq *s)
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

int api_sq_commit(api_sq *s)
{
    int rc = api_sql_run_script(s->db, "COMMIT");

    if (rc != SQLITE_OK) {
        record_error(s);
        /* SQLite rolls some failures back itself (SQLITE_FULL, SQLITE_IOERR...). */
        if (!sqlite3_get_autocommit(s->db))
            api_sql_run_script(s->db, "ROLLBACK");
    } else {
        api_store_health_clear();
    }
    pthread_mutex_unlock(&write_lock);
    return rc;
}

void api_sq_rollback(api_sq *s)
{
    if (!sqlite3_get_autocommit(s->db))
        api_sql_run_script(s->db, "ROLLBACK");
    pthread_mutex_unlock(&write_lock);
}

const char *api_sq_error(api_sq *s)
{
    record_error(s);
    return s->err;
}

int api_sq_checkpoint(api_sq *s)
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

int api_sq_probe_write(api_sq *s)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int rc, version = 0;

    rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    rc = api_sq_begin(s);
    if (rc != SQLITE_OK)
        return rc;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    rc = api_sql_run_script(s->db, sql);
    if (rc != SQLITE_OK) {
        record_error(s);
        api_sq_rollback(s);
        return rc;
    }
    return api_sq_commit(s);
}
