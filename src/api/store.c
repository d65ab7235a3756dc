/*
 * store.c - picks the store's backend by the --db value and passes every call to it (see store.h
 * and store_int.h): a postgresql:// or postgres:// URI is PostgreSQL (store_pg.c), anything else
 * is an SQLite file (store_sqlite.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_int.h"

struct api_store {
    api_sq *sq; /* exactly one of the two is set */
    api_pg *pg;
};

/* Whether writes work, for /healthz: the message of the last write that failed for a reason of
 * the disk (or the database server), cleared by the next commit that succeeds. */
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static char health_why[256];
static int health_bad;

void api_store_health_bad(const char *why)
{
    pthread_mutex_lock(&health_lock);
    snprintf(health_why, sizeof health_why, "%s", why);
    health_bad = 1;
    pthread_mutex_unlock(&health_lock);
}

void api_store_health_clear(void)
{
    pthread_mutex_lock(&health_lock);
    health_bad = 0;
    pthread_mutex_unlock(&health_lock);
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

int api_store_is_pg(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

void api_store_describe(const char *db, char *out, size_t size)
{
    const char *keys[] = {"dbname", "host", "port", "user"};
    const char *vals[4] = {NULL, NULL, NULL, NULL};
    PQconninfoOption *opts;
    size_t n;

    if (!api_store_is_pg(db)) {
        snprintf(out, size, "%s", db);
        return;
    }
    opts = PQconninfoParse(db, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        for (int i = 0; i < 4; i++)
            if (strcmp(o->keyword, keys[i]) == 0 && o->val && *o->val)
                vals[i] = o->val;
    n = (size_t)snprintf(out, size, "PostgreSQL");
    for (int i = 0; i < 4 && n < size; i++)
        if (vals[i])
            n += (size_t)snprintf(out + n, size - n, " %s=%s", keys[i], vals[i]);
    PQconninfoFree(opts);
}

int api_store_open(const char *path, const api_store_options *opt, int migrate, api_store **out,
                   char *errmsg)
{
    api_store *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    errmsg[0] = '\0';
    if (!s) {
        snprintf(errmsg, 256, "out of memory");
        return SQLITE_NOMEM;
    }
    if (api_store_is_pg(path))
        rc = api_pg_open(path, opt, migrate, &s->pg, errmsg);
    else
        rc = api_sq_open(path, opt, migrate, &s->sq, errmsg);
    if (rc != SQLITE_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return SQLITE_OK;
}

void api_store_close(api_store *s)
{
    if (!s)
        return;
    api_pg_close(s->pg);
    api_sq_close(s->sq);
    free(s);
}

int api_store_retry(api_store *s, int *attempt)
{
    return s->pg ? api_pg_retry(s->pg, attempt) : 0;
}

int api_store_begin(api_store *s)
{
    return s->pg ? api_pg_begin(s->pg) : api_sq_begin(s->sq);
}

int api_store_commit(api_store *s)
{
    return s->pg ? api_pg_commit(s->pg) : api_sq_commit(s->sq);
}

void api_store_rollback(api_store *s)
{
    if (s->pg)
        api_pg_rollback(s->pg);
    else
        api_sq_rollback(s->sq);
}

const char *api_store_error(api_store *s)
{
    return s->pg ? api_pg_error(s->pg) : api_sq_error(s->sq);
}

int api_store_checkpoint(api_store *s)
{
    return s->pg ? api_pg_checkpoint(s->pg) : api_sq_checkpoint(s->sq);
}

int api_store_probe_write(api_store *s)
{
    return s->pg ? api_pg_probe_write(s->pg) : api_sq_probe_write(s->sq);
}

void api_store_end(api_store *s)
{
    if (s->pg)
        api_pg_end(s->pg);
    else
        api_sq_end(s->sq);
}

int api_store_key_insert(api_store *s, const char *prefix, const void *token_hash, size_t hash_len,
                         const char *project, const char *scopes, int64_t now)
{
    return s->pg ? api_pg_key_insert(s->pg, prefix, token_hash, hash_len, project, scopes, now)
                 : api_sq_key_insert(s->sq, prefix, token_hash, hash_len, project, scopes, now);
}

int api_store_key_by_hash(api_store *s, const void *token_hash, size_t hash_len, api_key_row *row)
{
    return s->pg ? api_pg_key_by_hash(s->pg, token_hash, hash_len, row)
                 : api_sq_key_by_hash(s->sq, token_hash, hash_len, row);
}

int api_store_key_touch(api_store *s, int64_t id, int64_t now)
{
    return s->pg ? api_pg_key_touch(s->pg, id, now) : api_sq_key_touch(s->sq, id, now);
}

int api_store_key_list(api_store *s, void (*fn)(const api_key_item *key, void *arg), void *arg)
{
    return s->pg ? api_pg_key_list(s->pg, fn, arg) : api_sq_key_list(s->sq, fn, arg);
}

int api_store_key_revoke(api_store *s, const char *prefix, int64_t now, int *changed)
{
    return s->pg ? api_pg_key_revoke(s->pg, prefix, now, changed)
                 : api_sq_key_revoke(s->sq, prefix, now, changed);
}

int api_store_pw_by_customer(api_store *s, const char *project, const char *batch_id,
                             int batch_id_len, const char *customer_run_id, int customer_run_id_len,
                             api_pw_found *row)
{
    return s->pg ? api_pg_pw_by_customer(s->pg, project, batch_id, batch_id_len, customer_run_id,
                                         customer_run_id_len, row)
                 : api_sq_pw_by_customer(s->sq, project, batch_id, batch_id_len, customer_run_id,
                                         customer_run_id_len, row);
}

int api_store_pw_insert(api_store *s, const api_pw_new_run *run)
{
    return s->pg ? api_pg_pw_insert(s->pg, run) : api_sq_pw_insert(s->sq, run);
}

int api_store_pw_reissue(api_store *s, int64_t id, const void *cred_digest, size_t digest_len,
                         int64_t now, int64_t expires, int64_t key_id)
{
    return s->pg ? api_pg_pw_reissue(s->pg, id, cred_digest, digest_len, now, expires, key_id)
                 : api_sq_pw_reissue(s->sq, id, cred_digest, digest_len, now, expires, key_id);
}

int api_store_pw_by_cred(api_store *s, const void *cred_hash, size_t hash_len, api_pw_cred_row *row)
{
    return s->pg ? api_pg_pw_by_cred(s->pg, cred_hash, hash_len, row)
                 : api_sq_pw_by_cred(s->sq, cred_hash, hash_len, row);
}

int api_store_pw_by_run_id(api_store *s, const char *run_id, api_pw_run *row)
{
    return s->pg ? api_pg_pw_by_run_id(s->pg, run_id, row)
                 : api_sq_pw_by_run_id(s->sq, run_id, row);
}

int api_store_pw_event_get(api_store *s, int64_t run, const char *event_id, int event_id_len,
                           const void **body_digest, size_t *digest_len, const char **answer)
{
    return s->pg ? api_pg_pw_event_get(s->pg, run, event_id, event_id_len, body_digest, digest_len,
                                       answer)
                 : api_sq_pw_event_get(s->sq, run, event_id, event_id_len, body_digest, digest_len,
                                       answer);
}

int api_store_pw_event_insert(api_store *s, const api_pw_new_event *ev)
{
    return s->pg ? api_pg_pw_event_insert(s->pg, ev) : api_sq_pw_event_insert(s->sq, ev);
}

int api_store_pw_advance(api_store *s, const api_pw_advance *adv)
{
    return s->pg ? api_pg_pw_advance(s->pg, adv) : api_sq_pw_advance(s->sq, adv);
}

int api_store_pw_list(api_store *s, const api_list_filter *f,
                      int (*fn)(const api_pw_run *run, void *arg), void *arg)
{
    return s->pg ? api_pg_pw_list(s->pg, f, fn, arg) : api_sq_pw_list(s->sq, f, fn, arg);
}

int api_store_pw_batches(api_store *s, const api_list_filter *f,
                         int (*fn)(const api_batch_row *b, void *arg), void *arg)
{
    return s->pg ? api_pg_pw_batches(s->pg, f, fn, arg) : api_sq_pw_batches(s->sq, f, fn, arg);
}

int api_store_hr_by_customer(api_store *s, const char *project, const char *batch_id,
                             int batch_id_len, const char *customer_run_id, int customer_run_id_len,
                             api_hr_found *row)
{
    return s->pg ? api_pg_hr_by_customer(s->pg, project, batch_id, batch_id_len, customer_run_id,
                                         customer_run_id_len, row)
                 : api_sq_hr_by_customer(s->sq, project, batch_id, batch_id_len, customer_run_id,
                                         customer_run_id_len, row);
}

int api_store_hr_insert(api_store *s, const api_hr_new_run *run)
{
    return s->pg ? api_pg_hr_insert(s->pg, run) : api_sq_hr_insert(s->sq, run);
}

int api_store_hr_by_run_id(api_store *s, const char *run_id, api_hr_run *row)
{
    return s->pg ? api_pg_hr_by_run_id(s->pg, run_id, row)
                 : api_sq_hr_by_run_id(s->sq, run_id, row);
}

int api_store_hr_list(api_store *s, const api_list_filter *f,
                      int (*fn)(const api_hr_run *run, void *arg), void *arg)
{
    return s->pg ? api_pg_hr_list(s->pg, f, fn, arg) : api_sq_hr_list(s->sq, f, fn, arg);
}

int api_store_hr_delete(api_store *s, int64_t id, int64_t now, const char *summary)
{
    return s->pg ? api_pg_hr_delete(s->pg, id, now, summary)
                 : api_sq_hr_delete(s->sq, id, now, summary);
}

int api_store_count_by_status(api_store *s, api_run_kind kind,
                              int (*fn)(const char *status, int64_t n, void *arg), void *arg)
{
    return s->pg ? api_pg_count_by_status(s->pg, kind, fn, arg)
                 : api_sq_count_by_status(s->sq, kind, fn, arg);
}
