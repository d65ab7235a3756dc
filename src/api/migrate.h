/*
 * migrate.h - the store's schema, as an ordered list of forward migrations per backend
 * (migrate.c: SQLite; migrate_pg.c: PostgreSQL, same version numbers).
 *
 * PRAGMA user_version holds how many migrations a database has had. Opening applies the missing
 * ones in order, each in its own transaction, so a crash leaves the database at a whole version.
 * A database newer than this binary is refused rather than guessed at.
 */
#ifndef KIVO_API_MIGRATE_H
#define KIVO_API_MIGRATE_H

#include <libpq-fe.h>
#include <sqlite3.h>

/* The schema version this binary writes. */
int api_migrate_latest(void);

/* Brings `db` up to api_migrate_latest(). @return SQLITE_OK, or an SQLite error (message in
 * errmsg, which must hold 256 bytes). */
int api_migrate(sqlite3 *db, char *errmsg);

/* Runs every statement of `sql` in turn through sqlite3_prepare_v2/step (no sqlite3_exec), for
 * parameterless DDL and PRAGMAs. @return SQLITE_OK or the first error. */
int api_sql_run_script(sqlite3 *db, const char *sql);

/* Brings the PostgreSQL database of `conn` up to api_migrate_latest() (migrate_pg.c), under an
 * advisory lock so that processes starting together migrate once. @return 0, or -1 with errmsg
 * (256 bytes) filled. */
int api_pg_migrate(PGconn *conn, char *errmsg);

#endif
