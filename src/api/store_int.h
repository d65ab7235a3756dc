/*
 * store_int.h - the two backends behind store.h, for store.c's dispatch only.
 *
 * Each backend implements every store.h function under its own prefix (api_sq_ in
 * store_sqlite.c, api_pg_ in store_pg.c) with the same meaning and the same result codes: the
 * store speaks SQLite's (SQLITE_OK, SQLITE_ROW, SQLITE_DONE, SQLITE_CONSTRAINT...) whichever
 * database is behind it, so the routes never learn which one it is. The write-health state is
 * process-wide and shared by both (store.c).
 */
#ifndef KIVO_API_STORE_INT_H
#define KIVO_API_STORE_INT_H

#include "store.h"

typedef struct api_sq api_sq;
typedef struct api_pg api_pg;

/* The statements of the store interface, the same in both backends: each keeps one slot per
 * statement (store_sqlite.c a prepared sqlite3_stmt, store_pg.c a prepared statement's name),
 * and PostgreSQL adds its locking lookups after STMT_SHARED. */
typedef enum api_stmt {
    STMT_KEY_INSERT,
    STMT_KEY_BY_HASH,
    STMT_KEY_TOUCH,
    STMT_KEY_LIST,
    STMT_KEY_REVOKE,
    STMT_PW_BY_CUSTOMER,
    STMT_PW_INSERT,
    STMT_PW_REISSUE,
    STMT_PW_BY_CRED,
    STMT_PW_BY_RUN_ID,
    STMT_PW_EVENT_GET,
    STMT_PW_EVENT_INSERT,
    STMT_PW_ADVANCE,
    STMT_PW_LIST,
    STMT_PW_BATCHES,
    STMT_PW_COUNT_BY_STATUS,
    STMT_HR_BY_CUSTOMER,
    STMT_HR_INSERT,
    STMT_HR_BY_RUN_ID,
    STMT_HR_LIST,
    STMT_HR_DELETE,
    STMT_HR_COUNT_BY_STATUS,
    STMT_SHARED
} api_stmt;

/* Opens the SQLite file at `path` (store.h, api_store_open). */
int api_sq_open(const char *path, const api_store_options *opt, int migrate, api_sq **out,
                char *errmsg);
/* Connects to the PostgreSQL database named by the libpq URI `url` (postgresql://...) and
 * migrates it when `migrate` is set; opt->create is not needed there (the database is the
 * operator's: its tables are made by the migrations). */
int api_pg_open(const char *url, const api_store_options *opt, int migrate, api_pg **out,
                char *errmsg);

/* A write failed for a reason of the disk or of the database server (health bad, with `why`),
 * or a commit succeeded (health good). */
void api_store_health_bad(const char *why);
void api_store_health_clear(void);

/* ---- SQLite (store_sqlite.c) ---- */

void api_sq_close(api_sq *s);
int api_sq_begin(api_sq *s);
int api_sq_commit(api_sq *s);
void api_sq_rollback(api_sq *s);
const char *api_sq_error(api_sq *s);
int api_sq_checkpoint(api_sq *s);
int api_sq_probe_write(api_sq *s);
void api_sq_end(api_sq *s);
int api_sq_key_insert(api_sq *s, const char *prefix, const void *token_hash, size_t hash_len,
                      const char *project, const char *scopes, int64_t now);
int api_sq_key_by_hash(api_sq *s, const void *token_hash, size_t hash_len, api_key_row *row);
int api_sq_key_touch(api_sq *s, int64_t id, int64_t now);
int api_sq_key_list(api_sq *s, void (*fn)(const api_key_item *key, void *arg), void *arg);
int api_sq_key_revoke(api_sq *s, const char *prefix, int64_t now, int *changed);
int api_sq_pw_by_customer(api_sq *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_pw_found *row);
int api_sq_pw_insert(api_sq *s, const api_pw_new_run *run);
int api_sq_pw_reissue(api_sq *s, int64_t id, const void *cred_digest, size_t digest_len,
                      int64_t now, int64_t expires, int64_t key_id);
int api_sq_pw_by_cred(api_sq *s, const void *cred_hash, size_t hash_len, api_pw_cred_row *row);
int api_sq_pw_by_run_id(api_sq *s, const char *run_id, api_pw_run *row);
int api_sq_pw_event_get(api_sq *s, int64_t run, const char *event_id, int event_id_len,
                        const void **body_digest, size_t *digest_len, const char **answer);
int api_sq_pw_event_insert(api_sq *s, const api_pw_new_event *ev);
int api_sq_pw_advance(api_sq *s, const api_pw_advance *adv);
int api_sq_pw_list(api_sq *s, const api_list_filter *f, int (*fn)(const api_pw_run *run, void *arg),
                   void *arg);
int api_sq_pw_batches(api_sq *s, const api_list_filter *f,
                      int (*fn)(const api_batch_row *b, void *arg), void *arg);
int api_sq_hr_by_customer(api_sq *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_hr_found *row);
int api_sq_hr_insert(api_sq *s, const api_hr_new_run *run);
int api_sq_hr_by_run_id(api_sq *s, const char *run_id, api_hr_run *row);
int api_sq_hr_list(api_sq *s, const api_list_filter *f, int (*fn)(const api_hr_run *run, void *arg),
                   void *arg);
int api_sq_hr_delete(api_sq *s, int64_t id, int64_t now, const char *summary);
int api_sq_count_by_status(api_sq *s, api_run_kind kind,
                           int (*fn)(const char *status, int64_t n, void *arg), void *arg);

/* ---- PostgreSQL (store_pg.c) ---- */

void api_pg_close(api_pg *s);
int api_pg_begin(api_pg *s);
int api_pg_commit(api_pg *s);
void api_pg_rollback(api_pg *s);
const char *api_pg_error(api_pg *s);
int api_pg_checkpoint(api_pg *s);
int api_pg_probe_write(api_pg *s);
/* store.h, api_store_retry: the PostgreSQL side. */
int api_pg_retry(api_pg *s, int *attempt);
void api_pg_end(api_pg *s);
int api_pg_key_insert(api_pg *s, const char *prefix, const void *token_hash, size_t hash_len,
                      const char *project, const char *scopes, int64_t now);
int api_pg_key_by_hash(api_pg *s, const void *token_hash, size_t hash_len, api_key_row *row);
int api_pg_key_touch(api_pg *s, int64_t id, int64_t now);
int api_pg_key_list(api_pg *s, void (*fn)(const api_key_item *key, void *arg), void *arg);
int api_pg_key_revoke(api_pg *s, const char *prefix, int64_t now, int *changed);
int api_pg_pw_by_customer(api_pg *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_pw_found *row);
int api_pg_pw_insert(api_pg *s, const api_pw_new_run *run);
int api_pg_pw_reissue(api_pg *s, int64_t id, const void *cred_digest, size_t digest_len,
                      int64_t now, int64_t expires, int64_t key_id);
int api_pg_pw_by_cred(api_pg *s, const void *cred_hash, size_t hash_len, api_pw_cred_row *row);
int api_pg_pw_by_run_id(api_pg *s, const char *run_id, api_pw_run *row);
int api_pg_pw_event_get(api_pg *s, int64_t run, const char *event_id, int event_id_len,
                        const void **body_digest, size_t *digest_len, const char **answer);
int api_pg_pw_event_insert(api_pg *s, const api_pw_new_event *ev);
int api_pg_pw_advance(api_pg *s, const api_pw_advance *adv);
int api_pg_pw_list(api_pg *s, const api_list_filter *f, int (*fn)(const api_pw_run *run, void *arg),
                   void *arg);
int api_pg_pw_batches(api_pg *s, const api_list_filter *f,
                      int (*fn)(const api_batch_row *b, void *arg), void *arg);
int api_pg_hr_by_customer(api_pg *s, const char *project, const char *batch_id, int batch_id_len,
                          const char *customer_run_id, int customer_run_id_len, api_hr_found *row);
int api_pg_hr_insert(api_pg *s, const api_hr_new_run *run);
int api_pg_hr_by_run_id(api_pg *s, const char *run_id, api_hr_run *row);
int api_pg_hr_list(api_pg *s, const api_list_filter *f, int (*fn)(const api_hr_run *run, void *arg),
                   void *arg);
int api_pg_hr_delete(api_pg *s, int64_t id, int64_t now, const char *summary);
int api_pg_count_by_status(api_pg *s, api_run_kind kind,
                           int (*fn)(const char *status, int64_t n, void *arg), void *arg);
#endif
