/*
 * store_pg.c - the PostgreSQL backend of the store (libpq): one connection per thread, each
 * statement prepared once per connection, parameters and results in binary form.
 *
 * All SQL of this backend lives in this file, each statement's text right above the one typed
 * function that binds its parameters and reads its columns, as in store_sqlite.c. Values are
 * always bound, never formatted into SQL.
 *
 * Several kivo-api processes may share the database, so nothing here relies on a lock of this
 * process. Every write transaction concerns one run, and the first thing it reads of that run
 * locks the run's row (SELECT ... FOR UPDATE, lookup_run()): transactions on one run take turns
 * whichever process runs them, and the one that waited reads the row as the other left it (READ
 * COMMITTED re-checks a locked row's WHERE, so a credential re-issued meanwhile is not found, and
 * each later statement sees what was committed before it). So the rules of api.md that span
 * statements (one answer per event id, rising sequences, terminal states, the live credential)
 * hold as if those transactions ran one at a time. A run that does not exist yet cannot be
 * locked: two creates of one identity both insert, the unique constraint (migrate_pg.c) stops
 * the second, and its route runs the transaction again and finds the first's run
 * (api_store_retry: unique violations, serialization failures and deadlocks are retryable).
 * SERIALIZABLE was tried first: its predicate locks are per index page, so events of
 * neighbouring runs conflicted with each other and under load ran out of retries.
 * A lookup's row points into the PGresult, kept until api_store_end() or the next call on this
 * store, as SQLite's statement is.
 *
 * Results are SQLite's codes (store_int.h): a unique violation is SQLITE_CONSTRAINT, a
 * serialization failure or deadlock SQLITE_BUSY, a lost connection SQLITE_IOERR (which marks
 * the write health, as a disk error does on SQLite; the next call reconnects), any other error
 * SQLITE_ERROR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "migrate.h"
#include "store_int.h"

#define ERR_MAX 256
#define MAX_PARAMS 14

/* PostgreSQL's type oids (pg_type.h, stable across versions). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

/* The store interface's statements (store_int.h), then the lookups of a write transaction, which
 * lock the run's row (FOR UPDATE). */
enum {
    STMT_PW_BY_CUSTOMER_LOCK = STMT_SHARED,
    STMT_PW_BY_CRED_LOCK,
    STMT_PW_BY_RUN_ID_LOCK,
    STMT_HR_BY_RUN_ID_LOCK,
    STMT_COUNT
};
typedef int stmt_id;

struct api_pg {
    PGconn *conn;
    char prepared[STMT_COUNT]; /* prepared on this connection (cleared when it is reset) */
    PGresult *open;            /* the lookup whose row the caller holds, until api_store_end */
    char err[ERR_MAX];         /* the error recorded since the last statement, when err_set */
    int err_set;
    int retryable; /* the last error was a lost race: the transaction may run again */
    int prep_rc;   /* the code of a PQprepare that failed */
    unsigned seed; /* for the retries' random waits */
    int in_txn;    /* between api_store_begin and its commit or rollback */
};

/* The parameters of one statement: binary values with their types. */
typedef struct params {
    int n;
    const char *val[MAX_PARAMS];
    int len[MAX_PARAMS], fmt[MAX_PARAMS];
    Oid type[MAX_PARAMS];
    unsigned char ints[MAX_PARAMS][8];
} params;

static void p_add(params *p, Oid type, const void *v, int len)
{
    int i = p->n++;

    p->type[i] = type;
    p->val[i] = v;
    p->len[i] = v ? len : 0;
    p->fmt[i] = 1;
}

/* Text (NULL is SQL NULL; len -1 = up to the NUL). */
static void p_text(params *p, const char *v, int len)
{
    p_add(p, OID_TEXT, v, v && len < 0 ? (int)strlen(v) : len);
}

static void p_blob(params *p, const void *v, size_t len)
{
    p_add(p, OID_BYTEA, v ? v : "", (int)len);
}

static void p_int(params *p, int64_t v)
{
    uint64_t u = (uint64_t)v;

    for (int b = 0; b < 8; b++)
        p->ints[p->n][b] = (unsigned char)(u >> (56 - 8 * b));
    p_add(p, OID_INT8, p->ints[p->n], 8);
}

static void p_null_int(params *p)
{
    p_add(p, OID_INT8, NULL, 0);
}

/* Maps a failed result (or NULL: no result at all) to a code and keeps its message once per
 * statement; a lost connection or a full disk on the server marks the write health. */
static int record_error(api_pg *s, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg =
        r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    int rc = SQLITE_ERROR;
    size_t n;

    if (!state || PQstatus(s->conn) == CONNECTION_BAD)
        rc = SQLITE_IOERR;
    else if (strncmp(state, "23", 2) == 0)
        rc = SQLITE_CONSTRAINT;
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        rc = SQLITE_BUSY;
    else if (strncmp(state, "53", 2) == 0)
        rc = SQLITE_FULL;
    else if (strcmp(state, "25006") == 0)
        rc = SQLITE_READONLY;
    s->retryable = rc == SQLITE_BUSY || (state && strcmp(state, "23505") == 0);
    if (s->err_set)
        return rc;
    snprintf(s->err, sizeof s->err, "%s (PostgreSQL %s)", msg, state ? state : "connection");
    n = strlen(s->err);
    while (n > 0 && strchr("\n", s->err[n - 1]))
        s->err[--n] = '\0';
    for (char *c = s->err; *c; c++)
        if (*c == '\n')
            *c = ' ';
    s->err_set = 1;
    if (rc == SQLITE_IOERR || rc == SQLITE_FULL || rc == SQLITE_READONLY)
        api_store_health_bad(s->err);
    return rc;
}

/* Reconnects a connection the server dropped, outside a transaction only (inside one, the
 * transaction is lost anyway and its statements fail until the rollback). */
static void reconnect(api_pg *s)
{
    if (PQstatus(s->conn) != CONNECTION_BAD)
        return;
    PQreset(s->conn);
    memset(s->prepared, 0, sizeof s->prepared);
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQsetClientEncoding(s->conn, "UTF8");
}

/* Runs a parameterless command. @return SQLITE_OK or the error. */
static int command(api_pg *s, const char *sql)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                 ? SQLITE_OK
                 : record_error(s, r);

    PQclear(r);
    return rc;
}

/* Notices ("relation already exists, skipping") are not errors: libpq would print them. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int api_pg_open(const char *url, const api_store_options *opt, int migrate, api_pg **out,
                char *errmsg)
{
    api_pg *s = calloc(1, sizeof *s);
    int rc = SQLITE_NOMEM;

    (void)opt;
    *out = NULL;
    errmsg[0] = '\0';
    if (!s)
        goto fail;
    s->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)s;
    s->conn = PQconnectdb(url);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        /* libpq's message names the host or socket, never the password. */
        snprintf(errmsg, ERR_MAX, "cannot connect to PostgreSQL: %s",
                 s->conn ? PQerrorMessage(s->conn) : "out of memory");
        rc = SQLITE_CANTOPEN;
        goto fail;
    }
    PQsetNoticeProcessor(s->conn, quiet, NULL);
    if (PQsetClientEncoding(s->conn, "UTF8") != 0) {
        snprintf(errmsg, ERR_MAX, "PostgreSQL: cannot use UTF8: %s", PQerrorMessage(s->conn));
        rc = SQLITE_ERROR;
        goto fail;
    }
    if (migrate && api_pg_migrate(s->conn, errmsg) != 0) {
        rc = SQLITE_ERROR;
        goto fail;
    }
    *out = s;
    s = NULL;
    rc = SQLITE_OK;
fail:
    if (rc != SQLITE_OK && !errmsg[0])
        snprintf(errmsg, ERR_MAX, "PostgreSQL: out of memory");
    if (errmsg[0]) {
        size_t n = strlen(errmsg);
        while (n > 0 && errmsg[n - 1] == '\n')
            errmsg[--n] = '\0';
    }
    api_pg_close(s);
    return rc;
}

void api_pg_close(api_pg *s)
{
    if (!s)
        return;
    PQclear(s->open);
    PQfinish(s->conn);
    free(s);
}

void api_pg_end(api_pg *s)
{
    PQclear(s->open);
    s->open = NULL;
}

/* Runs statement `id` with text `sql` (prepared on first use on this connection) and `p`,
 * results in binary. The open row of an earlier lookup is released first. @return the result
 * (NULL when preparing failed; the error is then recorded). */
static PGresult *exec(api_pg *s, stmt_id id, const char *sql, const params *p)
{
    char name[16];

    api_pg_end(s);
    s->err_set = 0;
    s->retryable = 0;
    if (PQtransactionStatus(s->conn) == PQTRANS_IDLE || PQstatus(s->conn) == CONNECTION_BAD)
        reconnect(s);
    snprintf(name, sizeof name, "k%d", (int)id);
    if (!s->prepared[id]) {
        PGresult *r = PQprepare(s->conn, name, sql, p->n, p->type);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            s->prep_rc = record_error(s, r);
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        s->prepared[id] = 1;
    }
    return PQexecPrepared(s->conn, name, p->n, p->val, p->len, p->fmt, 1);
}

/* A statement that returns no row. *changed (when not NULL) gets the rows it changed.
 * @return SQLITE_OK or the error. */
static int run(api_pg *s, stmt_id id, const char *sql, const params *p, int *changed)
{
    PGresult *r = exec(s, id, sql, p);
    int rc;

    if (!r)
        return s->err_set ? s->prep_rc : record_error(s, NULL);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        rc = SQLITE_OK;
        if (changed)
            *changed = atoi(PQcmdTuples(r));
    } else {
        rc = record_error(s, r);
    }
    PQclear(r);
    return rc;
}

/* A statement that returns rows: *out gets the result (the caller clears it). @return
 * SQLITE_OK or the error. */
static int query(api_pg *s, stmt_id id, const char *sql, const params *p, PGresult **out)
{
    PGresult *r = exec(s, id, sql, p);
    int rc;

    *out = NULL;
    if (!r)
        return s->err_set ? s->prep_rc : record_error(s, NULL);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        *out = r;
        return SQLITE_OK;
    }
    rc = record_error(s, r);
    PQclear(r);
    return rc;
}

/* A lookup of at most one row. @return SQLITE_ROW (the row stays open, in s->open, until
 * api_store_end), SQLITE_DONE, or the error. */
static int lookup(api_pg *s, stmt_id id, const char *sql, const params *p)
{
    PGresult *r;
    int rc = query(s, id, sql, p, &r);

    if (rc != SQLITE_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return SQLITE_DONE;
    }
    s->open = r;
    return SQLITE_ROW;
}

/* A lookup of one run: inside a write transaction the statement `id_lock` (the same text with
 * FOR UPDATE) locks the run's row until the commit, so that transactions on one run take turns. */
static int lookup_run(api_pg *s, stmt_id id, const char *sql, stmt_id id_lock, const char *sql_lock,
                      const params *p)
{
    return s->in_txn ? lookup(s, id_lock, sql_lock, p) : lookup(s, id, sql, p);
}

static const char *col_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static size_t col_len(const PGresult *r, int row, int col)
{
    return (size_t)PQgetlength(r, row, col);
}

static int col_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col);
}

/* A BIGINT column, or -1 when NULL. */
static int64_t col_int(const PGresult *r, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t u = 0;

    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return -1;
    for (int b = 0; b < 8; b++)
        u = u << 8 | v[b];
    return (int64_t)u;
}

/* ---- transactions ---------------------------------------------------------------------- */

int api_pg_begin(api_pg *s)
{
    int rc;

    api_pg_end(s);
    s->err_set = 0;
    s->retryable = 0;
    reconnect(s);
    rc = command(s, "BEGIN");
    s->in_txn = rc == SQLITE_OK;
    return rc;
}

int api_pg_commit(api_pg *s)
{
    PGresult *r;
    int rc;

    api_pg_end(s);
    s->in_txn = 0;
    r = PQexec(s->conn, "COMMIT");
    /* COMMIT of a transaction that already failed answers "ROLLBACK", not an error. */
    if (PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0) {
        rc = SQLITE_OK;
        api_store_health_clear();
    } else if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        rc = SQLITE_ABORT;
        if (!s->err_set) {
            snprintf(s->err, sizeof s->err, "the transaction had failed and was rolled back");
            s->err_set = 1;
        }
    } else {
        rc = record_error(s, r);
    }
    PQclear(r);
    return rc;
}

void api_pg_rollback(api_pg *s)
{
    api_pg_end(s);
    s->in_txn = 0;
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

int api_pg_retry(api_pg *s, int *attempt)
{
    struct timespec ts;
    long ms;

    if (!s->retryable || *attempt >= API_STORE_RETRIES)
        return 0;
    s->retryable = 0;
    (*attempt)++;
    /* Up to 1, 2, 4 ... 32 ms: racing transactions fall out of step. */
    ms = (long)(rand_r(&s->seed) % (1u << (*attempt < 6 ? *attempt : 6)));
    ts.tv_sec = 0;
    ts.tv_nsec = ms * 1000000L;
    nanosleep(&ts, NULL);
    return 1;
}

const char *api_pg_error(api_pg *s)
{
    if (!s->err_set) {
        snprintf(s->err, sizeof s->err, "%s", PQerrorMessage(s->conn));
        s->err_set = 1;
    }
    return s->err;
}

/* PostgreSQL keeps deleted rows' bytes until VACUUM reclaims them (autovacuum, by default):
 * there is no file of this process to rewrite. docs/operations.md says how to force it. */
int api_pg_checkpoint(api_pg *s)
{
    (void)s;
    return SQLITE_OK;
}

/* Whether the server answers again after a failure: a reconnect and a round trip. */
int api_pg_probe_write(api_pg *s)
{
    int rc;

    api_pg_end(s);
    s->err_set = 0;
    reconnect(s);
    rc = command(s, "SELECT 1");
    if (rc == SQLITE_OK)
        api_store_health_clear();
    return rc;
}

/* ---- API keys --------------------------------------------------------------------------- */

static const char sql_key_insert[] =
    "INSERT INTO api_keys (prefix, token_hash, project, scopes, created_at) "
    "VALUES ($1, $2, $3, $4, $5)";

int api_pg_key_insert(api_pg *s, const char *prefix, const void *token_hash, size_t hash_len,
                      const char *project, const char *scopes, int64_t now)
{
    params p = {0};

    p_text(&p, prefix, -1);
    p_blob(&p, token_hash, hash_len);
    p_text(&p, project, -1);
    p_text(&p, scopes, -1);
    p_int(&p, now);
    return run(s, STMT_KEY_INSERT, sql_key_insert, &p, NULL);
}

static const char sql_key_by_hash[] =
    "SELECT id, token_hash, project, scopes, revoked_at, last_used_at "
    "FROM api_keys WHERE token_hash = $1";

int api_pg_key_by_hash(api_pg *s, const void *token_hash, size_t hash_len, api_key_row *row)
{
    params p = {0};
    int rc;

    p_blob(&p, token_hash, hash_len);
    rc = lookup(s, STMT_KEY_BY_HASH, sql_key_by_hash, &p);
    if (rc == SQLITE_ROW) {
        const PGresult *r = s->open;
        row->id = col_int(r, 0, 0);
        row->token_hash = col_text(r, 0, 1);
        row->token_hash_len = col_len(r, 0, 1);
        row->project = col_text(r, 0, 2);
        row->scopes = col_text(r, 0, 3);
        row->revoked = !col_null(r, 0, 4);
        row->last_used_at = col_int(r, 0, 5);
    }
    return rc;
}

static const char sql_key_touch[] = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1";

int api_pg_key_touch(api_pg *s, int64_t id, int64_t now)
{
    params p = {0};

    p_int(&p, id);
    p_int(&p, now);
    return run(s, STMT_KEY_TOUCH, sql_key_touch, &p, NULL);
}

static const char sql_key_list[] =
    "SELECT prefix, project, scopes, created_at, last_used_at, revoked_at "
    "FROM api_keys ORDER BY id";

int api_pg_key_list(api_pg *s, void (*fn)(const api_key_item *key, void *arg), void *arg)
{
    params p = {0};
    PGresult *r;
    api_key_item k;
    int rc = query(s, STMT_KEY_LIST, sql_key_list, &p, &r);

    for (int i = 0; rc == SQLITE_OK && i < PQntuples(r); i++) {
        k.prefix = col_text(r, i, 0);
        k.project = col_text(r, i, 1);
        k.scopes = col_text(r, i, 2);
        k.created_at = col_int(r, i, 3);
        k.last_used_at = col_int(r, i, 4);
        k.revoked_at = col_int(r, i, 5);
        fn(&k, arg);
    }
    PQclear(r);
    return rc;
}

static const char sql_key_revoke[] =
    "UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1 AND revoked_at IS NULL";

int api_pg_key_revoke(api_pg *s, const char *prefix, int64_t now, int *changed)
{
    params p = {0};
    int n = 0, rc;

    p_text(&p, prefix, -1);
    p_int(&p, now);
    rc = run(s, STMT_KEY_REVOKE, sql_key_revoke, &p, &n);
    *changed = rc == SQLITE_OK && n > 0;
    return rc;
}

/* ---- private-worker runs and events --------------------------------------------------------- */

#define SQL_PW_BY_CUSTOMER                                   \
    "SELECT id, run_id, status, create_digest FROM pw_runs " \
    "WHERE project = $1 AND batch_id = $2 AND customer_run_id = $3"
static const char sql_pw_by_customer[] = SQL_PW_BY_CUSTOMER;
static const char sql_pw_by_customer_lock[] = SQL_PW_BY_CUSTOMER " FOR UPDATE";

int api_pg_pw_by_customer(api_pg *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_pw_found *row)
{
    params p = {0};
    int rc;

    p_text(&p, project, -1);
    p_text(&p, batch_id, batch_id_len);
    p_text(&p, customer_run_id, customer_run_id_len);
    rc = lookup_run(s, STMT_PW_BY_CUSTOMER, sql_pw_by_customer, STMT_PW_BY_CUSTOMER_LOCK,
                    sql_pw_by_customer_lock, &p);
    if (rc == SQLITE_ROW) {
        const PGresult *r = s->open;
        row->id = col_int(r, 0, 0);
        row->run_id = col_text(r, 0, 1);
        row->status = col_text(r, 0, 2);
        row->create_digest = col_text(r, 0, 3);
        row->create_digest_len = col_len(r, 0, 3);
    }
    return rc;
}

static const char sql_pw_insert[] =
    "INSERT INTO pw_runs (run_id, project, customer_run_id, workflow_id, worker_id, status, "
    "create_body, create_digest, cred_hash, cred_issued_at, cred_expires_at, created_at, "
    "updated_at, key_id, batch_id) "
    "VALUES ($1, $2, $3, $4, $5, 'created', $6, $7, $8, $9, $10, $9, $9, $11, $12)";

int api_pg_pw_insert(api_pg *s, const api_pw_new_run *run_)
{
    params p = {0};

    p_text(&p, run_->run_id, -1);
    p_text(&p, run_->project, -1);
    p_text(&p, run_->customer_run_id, run_->customer_run_id_len);
    p_text(&p, run_->workflow_id, run_->workflow_id_len);
    p_text(&p, run_->worker_id, run_->worker_id_len);
    p_text(&p, run_->create_body, -1);
    p_blob(&p, run_->create_digest, run_->digest_len);
    p_blob(&p, run_->cred_digest, run_->digest_len);
    p_int(&p, run_->now);
    p_int(&p, run_->cred_expires_at);
    p_int(&p, run_->key_id);
    p_text(&p, run_->batch_id, run_->batch_id_len);
    return run(s, STMT_PW_INSERT, sql_pw_insert, &p, NULL);
}

static const char sql_pw_reissue[] =
    "UPDATE pw_runs SET cred_hash = $2, cred_issued_at = $3, cred_expires_at = $4, "
    "updated_at = $3, key_id = $5 WHERE id = $1";

int api_pg_pw_reissue(api_pg *s, int64_t id, const void *cred_digest, size_t digest_len,
                      int64_t now, int64_t expires, int64_t key_id)
{
    params p = {0};

    p_int(&p, id);
    p_blob(&p, cred_digest, digest_len);
    p_int(&p, now);
    p_int(&p, expires);
    p_int(&p, key_id);
    return run(s, STMT_PW_REISSUE, sql_pw_reissue, &p, NULL);
}

/* k.revoked_at: when the key the credential was issued to is revoked, the credential is too. */
#define SQL_PW_BY_CRED                                                                \
    "SELECT r.id, r.run_id, r.project, r.cred_hash, r.cred_expires_at, k.revoked_at " \
    "FROM pw_runs r LEFT JOIN api_keys k ON k.id = r.key_id WHERE r.cred_hash = $1"
static const char sql_pw_by_cred[] = SQL_PW_BY_CRED;
/* Locked, and re-checked after the wait: a credential re-issued meanwhile is no longer found. */
static const char sql_pw_by_cred_lock[] = SQL_PW_BY_CRED " FOR UPDATE OF r";

int api_pg_pw_by_cred(api_pg *s, const void *cred_hash, size_t hash_len, api_pw_cred_row *row)
{
    params p = {0};
    int rc;

    p_blob(&p, cred_hash, hash_len);
    rc = lookup_run(s, STMT_PW_BY_CRED, sql_pw_by_cred, STMT_PW_BY_CRED_LOCK, sql_pw_by_cred_lock,
                    &p);
    if (rc == SQLITE_ROW) {
        const PGresult *r = s->open;
        row->id = col_int(r, 0, 0);
        row->run_id = col_text(r, 0, 1);
        row->project = col_text(r, 0, 2);
        row->cred_hash = col_text(r, 0, 3);
        row->cred_hash_len = col_len(r, 0, 3);
        row->cred_expires_at = col_int(r, 0, 4);
        row->key_revoked = !col_null(r, 0, 5);
    }
    return rc;
}

#define PW_RUN_COLUMNS                                                                     \
    "id, run_id, project, customer_run_id, workflow_id, worker_id, status, gate_verdict, " \
    "create_body, terminal_body, last_sequence, event_count, created_at, updated_at, "     \
    "terminal_at, cred_expires_at, batch_id"

static void pw_run_row(const PGresult *r, int i, api_pw_run *row)
{
    row->id = col_int(r, i, 0);
    row->run_id = col_text(r, i, 1);
    row->project = col_text(r, i, 2);
    row->customer_run_id = col_text(r, i, 3);
    row->customer_run_id_len = col_len(r, i, 3);
    row->workflow_id = col_text(r, i, 4);
    row->worker_id = col_text(r, i, 5);
    row->worker_id_len = col_len(r, i, 5);
    row->status = col_text(r, i, 6);
    row->gate_verdict = col_text(r, i, 7);
    row->create_body = col_text(r, i, 8);
    row->terminal_body = col_text(r, i, 9);
    row->last_sequence = col_int(r, i, 10);
    row->event_count = col_int(r, i, 11);
    row->created_at = col_int(r, i, 12);
    row->updated_at = col_int(r, i, 13);
    row->terminal_at = col_int(r, i, 14);
    row->cred_expires_at = col_int(r, i, 15);
    row->batch_id = col_text(r, i, 16);
}

static const char sql_pw_by_run_id[] = "SELECT " PW_RUN_COLUMNS " FROM pw_runs WHERE run_id = $1";
static const char sql_pw_by_run_id_lock[] =
    "SELECT " PW_RUN_COLUMNS " FROM pw_runs WHERE run_id = $1 FOR UPDATE";

int api_pg_pw_by_run_id(api_pg *s, const char *run_id, api_pw_run *row)
{
    params p = {0};
    int rc;

    p_text(&p, run_id, -1);
    rc = lookup_run(s, STMT_PW_BY_RUN_ID, sql_pw_by_run_id, STMT_PW_BY_RUN_ID_LOCK,
                    sql_pw_by_run_id_lock, &p);
    if (rc == SQLITE_ROW)
        pw_run_row(s->open, 0, row);
    return rc;
}

static const char sql_pw_event_get[] =
    "SELECT body_digest, answer FROM pw_events WHERE run = $1 AND event_id = $2";

int api_pg_pw_event_get(api_pg *s, int64_t run_row, const char *event_id, int event_id_len,
                        const void **body_digest, size_t *digest_len, const char **answer)
{
    params p = {0};
    int rc;

    p_int(&p, run_row);
    p_text(&p, event_id, event_id_len);
    rc = lookup(s, STMT_PW_EVENT_GET, sql_pw_event_get, &p);
    if (rc == SQLITE_ROW) {
        *body_digest = col_text(s->open, 0, 0);
        *digest_len = col_len(s->open, 0, 0);
        *answer = col_text(s->open, 0, 1);
    }
    return rc;
}

static const char sql_pw_event_insert[] =
    "INSERT INTO pw_events (run, event_id, sequence, event_type, body, body_digest, answer, "
    "received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

int api_pg_pw_event_insert(api_pg *s, const api_pw_new_event *ev)
{
    params p = {0};

    p_int(&p, ev->run);
    p_text(&p, ev->event_id, ev->event_id_len);
    p_int(&p, ev->sequence);
    p_text(&p, ev->event_type, -1);
    p_text(&p, ev->body, -1);
    p_blob(&p, ev->body_digest, ev->digest_len);
    p_text(&p, ev->answer, -1);
    p_int(&p, ev->received_at);
    return run(s, STMT_PW_EVENT_INSERT, sql_pw_event_insert, &p, NULL);
}

static const char sql_pw_advance[] =
    "UPDATE pw_runs SET status = $2, last_sequence = $3, event_count = event_count + 1, "
    "updated_at = $4, gate_verdict = coalesce($5, gate_verdict), "
    "terminal_body = coalesce($6, terminal_body), terminal_at = coalesce($7, terminal_at), "
    "cred_expires_at = least(cred_expires_at, coalesce($7, cred_expires_at)) WHERE id = $1";

int api_pg_pw_advance(api_pg *s, const api_pw_advance *a)
{
    params p = {0};

    p_int(&p, a->run);
    p_text(&p, a->status, -1);
    p_int(&p, a->sequence);
    p_int(&p, a->now);
    p_text(&p, a->gate_verdict, a->gate_verdict_len);
    p_text(&p, a->terminal_body, -1);
    if (a->terminal_body)
        p_int(&p, a->now);
    else
        p_null_int(&p);
    return run(s, STMT_PW_ADVANCE, sql_pw_advance, &p, NULL);
}

/* The parameters every run list shares: project, id below, filters, limit. */
static void list_params(params *p, const api_list_filter *f)
{
    p_text(p, f->project, -1);
    p_int(p, f->before);
    p_text(p, f->workflow_id, -1);
    p_text(p, f->status, -1);
    p_text(p, f->gate_verdict, -1);
    p_int(p, f->limit);
    p_text(p, f->batch_id, -1);
}

static const char sql_pw_list[] =
    "SELECT " PW_RUN_COLUMNS " FROM pw_runs WHERE project = $1 AND id < $2 "
    "AND ($3::text IS NULL OR workflow_id = $3) AND ($4::text IS NULL OR status = $4) "
    "AND ($5::text IS NULL OR gate_verdict = $5) AND ($7::text IS NULL OR batch_id = $7) "
    "ORDER BY id DESC LIMIT $6";

int api_pg_pw_list(api_pg *s, const api_list_filter *f, int (*fn)(const api_pw_run *run, void *arg),
                   void *arg)
{
    params p = {0};
    PGresult *r;
    api_pw_run row;
    int rc;

    list_params(&p, f);
    rc = query(s, STMT_PW_LIST, sql_pw_list, &p, &r);
    for (int i = 0; rc == SQLITE_OK && i < PQntuples(r); i++) {
        pw_run_row(r, i, &row);
        if (fn(&row, arg))
            break;
    }
    PQclear(r);
    return rc;
}

/* As in store_sqlite.c: a batch is keyed by its first run's id; verdicts are counted on the
 * runs that have one. */
static const char sql_pw_batches[] =
    "SELECT min(id) AS k, workflow_id, batch_id, count(*), "
    "count(*) FILTER (WHERE gate_verdict = 'pass'), "
    "count(*) FILTER (WHERE gate_verdict = 'needs_review'), "
    "count(*) FILTER (WHERE gate_verdict = 'fail'), min(created_at), max(created_at) "
    "FROM pw_runs WHERE project = $1 AND ($2::text IS NULL OR workflow_id = $2) "
    "GROUP BY workflow_id, batch_id HAVING min(id) < $3 ORDER BY k DESC LIMIT $4";

int api_pg_pw_batches(api_pg *s, const api_list_filter *f,
                      int (*fn)(const api_batch_row *b, void *arg), void *arg)
{
    params p = {0};
    PGresult *r;
    api_batch_row b;
    int rc;

    p_text(&p, f->project, -1);
    p_text(&p, f->workflow_id, -1);
    p_int(&p, f->before);
    p_int(&p, f->limit);
    rc = query(s, STMT_PW_BATCHES, sql_pw_batches, &p, &r);
    for (int i = 0; rc == SQLITE_OK && i < PQntuples(r); i++) {
        b.key = col_int(r, i, 0);
        b.workflow_id = col_text(r, i, 1);
        b.batch_id = col_text(r, i, 2);
        b.run_count = col_int(r, i, 3);
        b.pass = col_int(r, i, 4);
        b.needs_review = col_int(r, i, 5);
        b.fail = col_int(r, i, 6);
        b.first_created_at = col_int(r, i, 7);
        b.last_created_at = col_int(r, i, 8);
        if (fn(&b, arg))
            break;
    }
    PQclear(r);
    return rc;
}

/* ---- hosted runs ------------------------------------------------------------------------------ */

static const char sql_hr_by_customer[] =
    "SELECT id, run_id, body_digest, deleted_at FROM hosted_runs "
    "WHERE project = $1 AND batch_id = $2 AND customer_run_id = $3";

int api_pg_hr_by_customer(api_pg *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_hr_found *row)
{
    params p = {0};
    int rc;

    p_text(&p, project, -1);
    p_text(&p, batch_id, batch_id_len);
    p_text(&p, customer_run_id, customer_run_id_len);
    rc = lookup(s, STMT_HR_BY_CUSTOMER, sql_hr_by_customer, &p);
    if (rc == SQLITE_ROW) {
        const PGresult *r = s->open;
        row->id = col_int(r, 0, 0);
        row->run_id = col_text(r, 0, 1);
        row->body_digest = col_text(r, 0, 2);
        row->body_digest_len = col_len(r, 0, 2);
        row->deleted = !col_null(r, 0, 3);
    }
    return rc;
}

static const char sql_hr_insert[] =
    "INSERT INTO hosted_runs (run_id, project, customer_run_id, workflow_id, status, "
    "gate_verdict, safe_use_status, summary, body_digest, packet, claims, report, created_at, "
    "batch_id) VALUES ($1, $2, $3, $4, 'completed', $5, $6, $7, $8, $9, $10, $11, $12, $13)";

int api_pg_hr_insert(api_pg *s, const api_hr_new_run *h)
{
    params p = {0};

    p_text(&p, h->run_id, -1);
    p_text(&p, h->project, -1);
    p_text(&p, h->customer_run_id, -1);
    p_text(&p, h->workflow_id, -1);
    p_text(&p, h->gate_verdict, -1);
    p_text(&p, h->safe_use_status, -1);
    p_text(&p, h->summary, -1);
    p_blob(&p, h->body_digest, h->digest_len);
    p_text(&p, h->packet, -1);
    p_text(&p, h->claims, -1);
    p_text(&p, h->report, (int)h->report_len);
    p_int(&p, h->created_at);
    p_text(&p, h->batch_id, -1);
    return run(s, STMT_HR_INSERT, sql_hr_insert, &p, NULL);
}

static void hr_run_row(const PGresult *r, int i, api_hr_run *row)
{
    row->id = col_int(r, i, 0);
    row->run_id = col_text(r, i, 1);
    row->project = col_text(r, i, 2);
    row->status = col_text(r, i, 3);
    row->summary = col_text(r, i, 4);
    row->packet = col_text(r, i, 5);
    row->claims = col_text(r, i, 6);
    row->report = col_text(r, i, 7);
    row->deleted_at = col_int(r, i, 8);
}

#define SQL_HR_BY_RUN_ID                                                               \
    "SELECT id, run_id, project, status, summary, packet, claims, report, deleted_at " \
    "FROM hosted_runs WHERE run_id = $1"
static const char sql_hr_by_run_id[] = SQL_HR_BY_RUN_ID;
static const char sql_hr_by_run_id_lock[] = SQL_HR_BY_RUN_ID " FOR UPDATE";

int api_pg_hr_by_run_id(api_pg *s, const char *run_id, api_hr_run *row)
{
    params p = {0};
    int rc;

    p_text(&p, run_id, -1);
    rc = lookup_run(s, STMT_HR_BY_RUN_ID, sql_hr_by_run_id, STMT_HR_BY_RUN_ID_LOCK,
                    sql_hr_by_run_id_lock, &p);
    if (rc == SQLITE_ROW)
        hr_run_row(s->open, 0, row);
    return rc;
}

/* A list item needs none of packet, claims and report (see store_sqlite.c). */
static const char sql_hr_list[] =
    "SELECT id, run_id, project, status, summary, NULL::text, NULL::text, NULL::text, "
    "CASE WHEN status = 'deleted' THEN deleted_at END "
    "FROM hosted_runs WHERE project = $1 AND id < $2 "
    "AND ($3::text IS NULL OR workflow_id = $3) AND ($4::text IS NULL OR status = $4) "
    "AND ($5::text IS NULL OR gate_verdict = $5) AND ($7::text IS NULL OR batch_id = $7) "
    "ORDER BY id DESC LIMIT $6";

int api_pg_hr_list(api_pg *s, const api_list_filter *f, int (*fn)(const api_hr_run *run, void *arg),
                   void *arg)
{
    params p = {0};
    PGresult *r;
    api_hr_run row;
    int rc;

    list_params(&p, f);
    rc = query(s, STMT_HR_LIST, sql_hr_list, &p, &r);
    for (int i = 0; rc == SQLITE_OK && i < PQntuples(r); i++) {
        hr_run_row(r, i, &row);
        if (fn(&row, arg))
            break;
    }
    PQclear(r);
    return rc;
}

/* The body digest goes too: kept, it would let a key holder confirm a guess of the text. */
static const char sql_hr_delete[] =
    "UPDATE hosted_runs SET status = 'deleted', packet = NULL, claims = NULL, report = NULL, "
    "summary = $3, deleted_at = $2, body_digest = ''::bytea WHERE id = $1 AND deleted_at IS NULL";

int api_pg_hr_delete(api_pg *s, int64_t id, int64_t now, const char *summary)
{
    params p = {0};

    p_int(&p, id);
    p_int(&p, now);
    p_text(&p, summary, -1);
    return run(s, STMT_HR_DELETE, sql_hr_delete, &p, NULL);
}

/* ---- both ------------------------------------------------------------------------------------ */

static const char sql_pw_count_by_status[] = "SELECT status, count(*) FROM pw_runs GROUP BY status";
static const char sql_hr_count_by_status[] =
    "SELECT status, count(*) FROM hosted_runs GROUP BY status";

int api_pg_count_by_status(api_pg *s, api_run_kind kind,
                           int (*fn)(const char *status, int64_t n, void *arg), void *arg)
{
    params p = {0};
    PGresult *r;
    int rc = kind == API_RUN_HOSTED
                 ? query(s, STMT_HR_COUNT_BY_STATUS, sql_hr_count_by_status, &p, &r)
                 : query(s, STMT_PW_COUNT_BY_STATUS, sql_pw_count_by_status, &p, &r);

    for (int i = 0; rc == SQLITE_OK && i < PQntuples(r); i++)
        if (fn(col_text(r, i, 0), col_int(r, i, 1), arg))
            break;
    PQclear(r);
    return rc;
}
