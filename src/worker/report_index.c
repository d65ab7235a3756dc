/*
 * report_index.c - the report store's index in SQLite: one table of runs keyed by their input
 * order, one of zstd frames, one of notes about the store. See report_index.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kivo/buf.h"
#include "kivo/wire.h"
#include "output.h"
#include "report_index.h"
#include "twin.h"

#define SCHEMA                                                                                \
    "CREATE TABLE IF NOT EXISTS store(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"       \
    "CREATE TABLE IF NOT EXISTS runs("                                                        \
    " seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, part INTEGER NOT NULL,"                  \
    " offset INTEGER NOT NULL, length INTEGER NOT NULL, frame INTEGER, sha256 TEXT NOT NULL," \
    " verdict TEXT NOT NULL, claims INTEGER NOT NULL, unsupported INTEGER NOT NULL,"          \
    " categories INTEGER NOT NULL, page INTEGER, page_offset INTEGER, page_length INTEGER,"   \
    " file INTEGER NOT NULL, line INTEGER NOT NULL, review_key BLOB, label INTEGER,"          \
    " groups BLOB, reused INTEGER NOT NULL DEFAULT 0, line_key BLOB, event_offset INTEGER,"   \
    " event_length INTEGER);"                                                                 \
    "CREATE TABLE IF NOT EXISTS frames("                                                      \
    " part INTEGER NOT NULL, frame INTEGER NOT NULL, offset INTEGER NOT NULL,"                \
    " size INTEGER NOT NULL, start INTEGER NOT NULL, length INTEGER NOT NULL,"                \
    " PRIMARY KEY(part, frame)) WITHOUT ROWID;"

#define COLUMNS                                                                            \
    "r.seq, r.run_id, r.part, r.offset, r.length, r.frame, r.sha256, r.verdict, r.claims," \
    " r.unsupported, r.categories, r.page, r.page_offset, r.page_length, r.file, r.line,"  \
    " r.review_key, r.label, r.groups, r.reused, f.offset, f.size, f.start, f.length"

#define FROM " FROM runs r LEFT JOIN frames f ON f.part = r.part AND f.frame = r.frame"

struct wk_rindex {
    sqlite3 *db;
    sqlite3_stmt *ins, *ins_frame, *by_id, *by_key, *by_seq, *iter, *by_line, *line_next;
    sqlite3_stmt *copy_prev; /* wk_rindex_copy_prev(), once the previous index is attached */
    int line_next_on;        /* line_next is positioned after the last line key found */
    int iter_lines;          /* iter reads line_key too */
    int writing, in_tx;
    char run_id[1024]; /* a hit's run id, when it is short enough to keep here */
    char *run_id_big;
};

static int exec(wk_rindex *x, const char *sql)
{
    return sqlite3_exec(x->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int prepare(wk_rindex *x, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(x->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
               ? 0
               : -1;
}

static int open_db(const char *reports_dir, int flags, wk_rindex **out, char *err, size_t errlen)
{
    char path[4200];
    wk_rindex *x = calloc(1, sizeof *x);
    *out = NULL;
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", reports_dir, WK_RINDEX_NAME);
    /* The index is never reached through a symbolic link (issue 12): NOFOLLOW refuses one. */
    int rc =
        sqlite3_open_v2(path, &x->db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_CANTOPEN && access(path, F_OK) != 0)
            errno = ENOENT;
        snprintf(err, errlen, "cannot open %s: %s", path,
                 x->db ? sqlite3_errmsg(x->db) : sqlite3_errstr(rc));
        wk_rindex_close(x);
        return -1;
    }
    sqlite3_busy_timeout(x->db, 10000);
    *out = x;
    return 0;
}

static int prepare_reads(wk_rindex *x)
{
    return prepare(x, "SELECT " COLUMNS FROM " WHERE r.run_id = ?1", &x->by_id) ||
           prepare(x, "SELECT " COLUMNS FROM " WHERE r.review_key = ?1 ORDER BY r.seq LIMIT 1",
                   &x->by_key) ||
           prepare(x, "SELECT " COLUMNS FROM " WHERE r.seq = ?1", &x->by_seq);
}

int wk_rindex_open_write(const char *reports_dir, int fresh, uint64_t keep, uint32_t keep_part,
                         uint32_t keep_frame, wk_rindex **out, char *err, size_t errlen)
{
    wk_rindex *x;
    char path[4200];
    if (fresh) {
        static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
            snprintf(path, sizeof path, "%s/%s%s", reports_dir, WK_RINDEX_NAME, sfx[i]);
            if (unlink(path) != 0 && errno != ENOENT) {
                snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
                return -1;
            }
        }
    }
    if (fresh) {
        /* Made here, not by SQLite: it holds run ids and hashes, metadata (WK_MODE_META), and
         * SQLite gives its -wal and -shm files the database file's mode. */
        snprintf(path, sizeof path, "%s/%s", reports_dir, WK_RINDEX_NAME);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, WK_MODE_META);
        if (fd < 0) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        close(fd);
    }
    if (open_db(reports_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &x, err, errlen) != 0)
        return -1;
    x->writing = 1;
    /* One transaction per checkpoint, durable at its commit: synchronous=FULL fsyncs the log. */
    /* A page cache of 256 KiB, not SQLite's ~2 MB: the batch appends rows in seq order, touching
     * the tables' last pages and the few above them (a full cache spills to the log before the
     * commit, as it would at it), and the lookups' sort at the end took no more CPU with it
     * (790,560 rows). Peak RSS: the cache is full at the batch's peak, when the chunks are. */
    if (exec(x, "PRAGMA journal_mode = WAL") || exec(x, "PRAGMA synchronous = FULL") ||
        exec(x, "PRAGMA cache_size = -256") || exec(x, SCHEMA) || exec(x, "BEGIN"))
        goto fail;
    x->in_tx = 1;
    if (!fresh) {
        sqlite3_stmt *st = NULL;
        int bad = sqlite3_prepare_v2(x->db, "DELETE FROM runs WHERE seq >= ?1", -1, &st, NULL) ||
                  sqlite3_bind_int64(st, 1, (sqlite3_int64)keep) || sqlite3_step(st) != SQLITE_DONE;
        sqlite3_finalize(st);
        st = NULL;
        bad = bad ||
              sqlite3_prepare_v2(
                  x->db, "DELETE FROM frames WHERE part > ?1 OR (part = ?1 AND frame >= ?2)", -1,
                  &st, NULL) ||
              sqlite3_bind_int64(st, 1, keep_part) || sqlite3_bind_int64(st, 2, keep_frame) ||
              sqlite3_step(st) != SQLITE_DONE;
        sqlite3_finalize(st);
        /* A store checkpointed by a build before line keys has no such columns: added (its rows
         * keep NULLs: no line key, as a store of that build has none). */
        st = NULL;
        if (!bad && sqlite3_prepare_v2(x->db, "SELECT line_key FROM runs LIMIT 0", -1, &st, NULL) !=
                        SQLITE_OK)
            bad = exec(x, "ALTER TABLE runs ADD COLUMN line_key BLOB") ||
                  exec(x, "ALTER TABLE runs ADD COLUMN event_offset INTEGER") ||
                  exec(x, "ALTER TABLE runs ADD COLUMN event_length INTEGER");
        sqlite3_finalize(st);
        /* A complete store being resumed is not complete any more until it is finished again. */
        if (bad || exec(x, "DELETE FROM store WHERE key = 'complete'") ||
            exec(x, "DROP INDEX IF EXISTS runs_id") || exec(x, "DROP INDEX IF EXISTS runs_key") ||
            exec(x, "DROP INDEX IF EXISTS runs_line"))
            goto fail;
    }
    if (prepare(x,
                "INSERT INTO runs(seq, run_id, part, offset, length, frame, sha256, verdict,"
                " claims, unsupported, categories, page, page_offset, page_length, file, line,"
                " review_key, label, groups, reused, line_key, event_offset, event_length)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
                " ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
                &x->ins) ||
        prepare(x,
                "INSERT INTO frames(part, frame, offset, size, start, length)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                &x->ins_frame) ||
        prepare_reads(x))
        goto fail;
    *out = x;
    return 0;
fail:
    snprintf(err, errlen, "cannot write %s/%s: %s", reports_dir, WK_RINDEX_NAME,
             sqlite3_errmsg(x->db));
    wk_rindex_close(x);
    return -1;
}

int wk_rindex_open_read(const char *reports_dir, wk_rindex **out, char *err, size_t errlen)
{
    wk_rindex *x;
    if (open_db(reports_dir, SQLITE_OPEN_READONLY, &x, err, errlen) != 0)
        return -1;
    if (prepare_reads(x) != 0) {
        snprintf(err, errlen, "cannot read %s/%s: %s", reports_dir, WK_RINDEX_NAME,
                 sqlite3_errmsg(x->db));
        wk_rindex_close(x);
        return -1;
    }
    *out = x;
    return 0;
}

int wk_rindex_hold_read(wk_rindex *x)
{
    /* A deferred BEGIN takes the shared lock at its first read and keeps it to the end. */
    if (exec(x, "BEGIN") || exec(x, "SELECT count(*) FROM store"))
        return -1;
    x->in_tx = 1;
    return 0;
}

void wk_rindex_close(wk_rindex *x)
{
    if (!x)
        return;
    sqlite3_finalize(x->ins);
    sqlite3_finalize(x->ins_frame);
    sqlite3_finalize(x->by_id);
    sqlite3_finalize(x->by_key);
    sqlite3_finalize(x->by_seq);
    sqlite3_finalize(x->iter);
    sqlite3_finalize(x->by_line);
    sqlite3_finalize(x->line_next);
    sqlite3_finalize(x->copy_prev);
    if (x->in_tx)
        exec(x, "ROLLBACK");
    sqlite3_close(x->db);
    free(x->run_id_big);
    free(x);
}

const char *wk_rindex_errmsg(const wk_rindex *x)
{
    return x && x->db ? sqlite3_errmsg(x->db) : "out of memory";
}

static int bind_opt_int(sqlite3_stmt *st, int i, int64_t v, int present)
{
    return present ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

int wk_rindex_add(wk_rindex *x, const wk_rindex_row *r)
{
    sqlite3_stmt *st = x->ins;
    const char *verdict = kivo_verdict_name((kivo_verdict)r->verdict);
    int bad =
        sqlite3_bind_int64(st, 1, (sqlite3_int64)r->seq) ||
        sqlite3_bind_text(st, 2, r->run_id, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 3, r->part) || sqlite3_bind_int64(st, 4, (sqlite3_int64)r->offset) ||
        sqlite3_bind_int64(st, 5, (sqlite3_int64)r->length) ||
        bind_opt_int(st, 6, r->frame, r->frame >= 0) ||
        sqlite3_bind_text(st, 7, r->sha256, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 8, verdict ? verdict : "?", -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 9, r->claims) || sqlite3_bind_int64(st, 10, r->unsupported) ||
        sqlite3_bind_int64(st, 11, r->categories) || bind_opt_int(st, 12, r->page, r->page >= 0) ||
        bind_opt_int(st, 13, (int64_t)r->page_offset, r->page >= 0) ||
        bind_opt_int(st, 14, (int64_t)r->page_length, r->page >= 0) ||
        sqlite3_bind_int64(st, 15, r->file) || sqlite3_bind_int64(st, 16, (sqlite3_int64)r->line) ||
        (r->has_key ? sqlite3_bind_blob(st, 17, r->review_key, WK_REVIEW_KEY_SIZE, SQLITE_STATIC)
                    : sqlite3_bind_null(st, 17)) ||
        bind_opt_int(st, 18, r->label, r->label >= 0) ||
        (r->groups ? sqlite3_bind_blob(st, 19, r->groups, (int)r->groups_len, SQLITE_STATIC)
                   : sqlite3_bind_null(st, 19)) ||
        sqlite3_bind_int(st, 20, r->reused != 0) ||
        (r->has_line_key
             ? sqlite3_bind_blob(st, 21, r->line_key, WK_REVIEW_KEY_SIZE, SQLITE_STATIC) ||
                   sqlite3_bind_int64(st, 22, (sqlite3_int64)r->event_offset) ||
                   sqlite3_bind_int64(st, 23, (sqlite3_int64)r->event_length)
             : sqlite3_bind_null(st, 21) || sqlite3_bind_null(st, 22) || sqlite3_bind_null(st, 23));
    bad = bad || sqlite3_step(st) != SQLITE_DONE;
    sqlite3_reset(st);
    return bad ? -1 : 0;
}

int wk_rindex_add_frame(wk_rindex *x, const wk_rindex_frame *f)
{
    sqlite3_stmt *st = x->ins_frame;
    int bad = sqlite3_bind_int64(st, 1, f->part) || sqlite3_bind_int64(st, 2, f->frame) ||
              sqlite3_bind_int64(st, 3, (sqlite3_int64)f->offset) ||
              sqlite3_bind_int64(st, 4, (sqlite3_int64)f->size) ||
              sqlite3_bind_int64(st, 5, (sqlite3_int64)f->start) ||
              sqlite3_bind_int64(st, 6, (sqlite3_int64)f->length);
    bad = bad || sqlite3_step(st) != SQLITE_DONE;
    sqlite3_reset(st);
    return bad ? -1 : 0;
}

int wk_rindex_commit(wk_rindex *x)
{
    if (exec(x, "COMMIT") != 0)
        return -1;
    x->in_tx = 0;
    if (exec(x, "BEGIN") != 0)
        return -1;
    x->in_tx = 1;
    return 0;
}

int wk_rindex_finish(wk_rindex *x)
{
    return wk_rindex_finish_ex(x, 1);
}

/* The lookup indexes wk_rindex_finish() makes, as sqlite_master keeps them. */
#define INDEX_ID "runs_id ON runs(run_id)"
#define INDEX_KEY "runs_key ON runs(review_key) WHERE review_key IS NOT NULL"
#define INDEX_LINE "runs_line ON runs(line_key) WHERE line_key IS NOT NULL"

int wk_rindex_finish_ex(wk_rindex *x, int lookups)
{
    if (!lookups) {
        if (exec(x, "INSERT OR REPLACE INTO store(key, value) VALUES('complete', '1')") ||
            exec(x, "COMMIT"))
            return -1;
        x->in_tx = 0;
        return exec(x, "PRAGMA main.wal_checkpoint(TRUNCATE)") ||
                       exec(x, "PRAGMA main.journal_mode = DELETE")
                   ? -1
                   : 0;
    }
    if (exec(x, "CREATE UNIQUE INDEX IF NOT EXISTS " INDEX_ID) ||
        exec(x, "CREATE INDEX IF NOT EXISTS " INDEX_KEY) ||
        exec(x, "CREATE INDEX IF NOT EXISTS " INDEX_LINE) ||
        exec(x, "INSERT OR REPLACE INTO store(key, value) VALUES('complete', '1')") ||
        exec(x, "COMMIT"))
        return -1;
    x->in_tx = 0;
    /* One file from here on: readers need no -wal or -shm, nor write access to the folder.
     * main.: unqualified, the pragmas reach every attached database, the previous store's index
     * (--reuse, wk_rindex_attach_prev()) too, whose journal mode is not this batch's to change. */
    if (exec(x, "PRAGMA main.wal_checkpoint(TRUNCATE)") ||
        exec(x, "PRAGMA main.journal_mode = DELETE"))
        return -1;
    return 0;
}

int wk_rindex_set(wk_rindex *x, const char *key, const char *value)
{
    sqlite3_stmt *st = NULL;
    int bad = sqlite3_prepare_v2(x->db, "INSERT OR REPLACE INTO store(key, value) VALUES(?1, ?2)",
                                 -1, &st, NULL) ||
              sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) || sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    return bad ? -1 : 0;
}

int wk_rindex_get(wk_rindex *x, const char *key, char *out, size_t outlen)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(x->db, "SELECT value FROM store WHERE key = ?1", -1, &st, NULL) ||
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC))
        goto out;
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        rc = 0;
    } else if (s == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", v ? (const char *)v : "");
        rc = 1;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

static int64_t col_int(sqlite3_stmt *st, int i, int64_t null_value)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? null_value : sqlite3_column_int64(st, i);
}

/* Fills hit from the current row of st (COLUMNS). @return 0, or -1 when a value is not ours. */
static int read_row(wk_rindex *x, sqlite3_stmt *st, wk_rindex_hit *hit)
{
    wk_rindex_row *r = &hit->row;
    memset(hit, 0, sizeof *hit);
    r->seq = (uint64_t)sqlite3_column_int64(st, 0);
    const unsigned char *id = sqlite3_column_text(st, 1);
    size_t idlen = (size_t)sqlite3_column_bytes(st, 1);
    if (!id)
        return -1;
    if (idlen < sizeof x->run_id) {
        memcpy(x->run_id, id, idlen + 1);
        r->run_id = x->run_id;
    } else {
        free(x->run_id_big);
        if (!(x->run_id_big = malloc(idlen + 1)))
            return -1;
        memcpy(x->run_id_big, id, idlen + 1);
        r->run_id = x->run_id_big;
    }
    r->part = (uint32_t)sqlite3_column_int64(st, 2);
    r->offset = (uint64_t)sqlite3_column_int64(st, 3);
    r->length = (uint64_t)sqlite3_column_int64(st, 4);
    r->frame = col_int(st, 5, -1);
    const unsigned char *sha = sqlite3_column_text(st, 6);
    snprintf(r->sha256, sizeof r->sha256, "%s", sha ? (const char *)sha : "");
    const unsigned char *v = sqlite3_column_text(st, 7);
    kivo_verdict verdict = KIVO_VERDICT_PASS;
    if (!v || kivo_verdict_parse((const char *)v, strlen((const char *)v), &verdict) != KIVO_OK)
        return -1;
    r->verdict = (uint8_t)verdict;
    r->claims = (uint32_t)sqlite3_column_int64(st, 8);
    r->unsupported = (uint32_t)sqlite3_column_int64(st, 9);
    r->categories = (uint32_t)sqlite3_column_int64(st, 10);
    r->page = col_int(st, 11, -1);
    r->page_offset = (uint64_t)col_int(st, 12, 0);
    r->page_length = (uint64_t)col_int(st, 13, 0);
    r->file = (uint32_t)sqlite3_column_int64(st, 14);
    r->line = (uint64_t)sqlite3_column_int64(st, 15);
    if (sqlite3_column_type(st, 16) == SQLITE_BLOB &&
        sqlite3_column_bytes(st, 16) == WK_REVIEW_KEY_SIZE) {
        r->has_key = 1;
        memcpy(r->review_key, sqlite3_column_blob(st, 16), WK_REVIEW_KEY_SIZE);
    }
    r->label = (int8_t)col_int(st, 17, -1);
    if (sqlite3_column_type(st, 18) == SQLITE_BLOB) {
        r->groups = sqlite3_column_blob(st, 18);
        r->groups_len = (size_t)sqlite3_column_bytes(st, 18);
    }
    r->reused = (int)col_int(st, 19, 0);
    if (r->frame >= 0 && sqlite3_column_type(st, 20) != SQLITE_NULL) {
        hit->has_frame = 1;
        hit->frame.part = r->part;
        hit->frame.frame = (uint32_t)r->frame;
        hit->frame.offset = (uint64_t)sqlite3_column_int64(st, 20);
        hit->frame.size = (uint64_t)sqlite3_column_int64(st, 21);
        hit->frame.start = (uint64_t)sqlite3_column_int64(st, 22);
        hit->frame.length = (uint64_t)sqlite3_column_int64(st, 23);
    }
    return 0;
}

static int lookup(wk_rindex *x, sqlite3_stmt *st, wk_rindex_hit *hit)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? (read_row(x, st, hit) == 0 ? 1 : -1) : rc == SQLITE_DONE ? 0 : -1;
    /* The row's blobs (groups) stay valid until the reset: a hit is used before the next call. */
    if (out != 1)
        sqlite3_reset(st);
    return out;
}

int wk_rindex_find(wk_rindex *x, const char *run_id, wk_rindex_hit *hit)
{
    sqlite3_reset(x->by_id);
    if (sqlite3_bind_text(x->by_id, 1, run_id, -1, SQLITE_STATIC) != SQLITE_OK)
        return -1;
    return lookup(x, x->by_id, hit);
}

int wk_rindex_find_key(wk_rindex *x, const unsigned char key[WK_REVIEW_KEY_SIZE],
                       wk_rindex_hit *hit)
{
    sqlite3_reset(x->by_key);
    if (sqlite3_bind_blob(x->by_key, 1, key, WK_REVIEW_KEY_SIZE, SQLITE_STATIC) != SQLITE_OK)
        return -1;
    return lookup(x, x->by_key, hit);
}

int wk_rindex_has_lines(wk_rindex *x)
{
    /* A store written before line keys has no such column: the statement does not prepare. */
    if (!x->by_line &&
        prepare(x,
                "SELECT " COLUMNS ", r.event_offset, r.event_length" FROM
                " WHERE r.line_key = ?1 AND r.event_length IS NOT NULL ORDER BY r.seq LIMIT 1",
                &x->by_line) != 0)
        return 0;
    return 1;
}

/* A hit's event place and line key, from columns 24.. of a line statement. */
static void line_columns(sqlite3_stmt *st, const unsigned char key[WK_REVIEW_KEY_SIZE],
                         wk_rindex_hit *hit)
{
    hit->row.has_line_key = 1;
    memcpy(hit->row.line_key, key, WK_REVIEW_KEY_SIZE);
    hit->row.event_offset = (uint64_t)sqlite3_column_int64(st, 24);
    hit->row.event_length = (uint64_t)sqlite3_column_int64(st, 25);
}

int wk_rindex_find_line(wk_rindex *x, const unsigned char key[WK_REVIEW_KEY_SIZE],
                        wk_rindex_hit *hit)
{
    if (!wk_rindex_has_lines(x))
        return 0;
    /* A rerun reads its lines in about the order the previous batch stored them: the row after
     * the last one found is tried first, by stepping one statement (far cheaper than a probe of
     * runs_line and then of the table). */
    if (x->line_next_on) {
        int rc = sqlite3_step(x->line_next);
        if (rc == SQLITE_ROW && sqlite3_column_type(x->line_next, 26) == SQLITE_BLOB &&
            sqlite3_column_bytes(x->line_next, 26) == WK_REVIEW_KEY_SIZE &&
            sqlite3_column_type(x->line_next, 25) != SQLITE_NULL &&
            memcmp(sqlite3_column_blob(x->line_next, 26), key, WK_REVIEW_KEY_SIZE) == 0) {
            if (read_row(x, x->line_next, hit) != 0)
                return -1;
            line_columns(x->line_next, key, hit);
            return 1;
        }
        x->line_next_on = 0;
        sqlite3_reset(x->line_next);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return -1;
    }
    sqlite3_reset(x->by_line);
    if (sqlite3_bind_blob(x->by_line, 1, key, WK_REVIEW_KEY_SIZE, SQLITE_STATIC) != SQLITE_OK)
        return -1;
    int got = lookup(x, x->by_line, hit);
    if (got == 1) {
        line_columns(x->by_line, key, hit);
        /* The next lookup starts after this row. */
        if (x->line_next ||
            prepare(x,
                    "SELECT " COLUMNS ", r.event_offset, r.event_length, r.line_key" FROM
                    " WHERE r.seq > ?1 ORDER BY r.seq",
                    &x->line_next) == 0) {
            sqlite3_reset(x->line_next);
            x->line_next_on =
                sqlite3_bind_int64(x->line_next, 1, (sqlite3_int64)hit->row.seq) == SQLITE_OK;
        }
    }
    return got;
}

int wk_rindex_at(wk_rindex *x, uint64_t seq, wk_rindex_hit *hit)
{
    sqlite3_reset(x->by_seq);
    if (sqlite3_bind_int64(x->by_seq, 1, (sqlite3_int64)seq) != SQLITE_OK)
        return -1;
    return lookup(x, x->by_seq, hit);
}

int wk_rindex_next(wk_rindex *x, uint64_t from, wk_rindex_hit *hit)
{
    if (!x->iter) {
        /* The line keys too, when the store keeps them (a store of an earlier build does not). */
        x->iter_lines = sqlite3_prepare_v2(x->db,
                                           "SELECT " COLUMNS ", r.line_key" FROM
                                           " WHERE r.seq >= ?1 ORDER BY r.seq",
                                           -1, &x->iter, NULL) == SQLITE_OK;
        if ((!x->iter_lines &&
             sqlite3_prepare_v2(x->db, "SELECT " COLUMNS FROM " WHERE r.seq >= ?1 ORDER BY r.seq",
                                -1, &x->iter, NULL) != SQLITE_OK) ||
            sqlite3_bind_int64(x->iter, 1, (sqlite3_int64)from) != SQLITE_OK)
            return -1;
    }
    int rc = sqlite3_step(x->iter);
    if (rc == SQLITE_ROW) {
        if (read_row(x, x->iter, hit) != 0)
            return -1;
        if (x->iter_lines && sqlite3_column_type(x->iter, 24) == SQLITE_BLOB &&
            sqlite3_column_bytes(x->iter, 24) == WK_REVIEW_KEY_SIZE) {
            hit->row.has_line_key = 1;
            memcpy(hit->row.line_key, sqlite3_column_blob(x->iter, 24), WK_REVIEW_KEY_SIZE);
        }
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

int wk_rindex_each_light(wk_rindex *x, int (*fn)(const wk_rindex_row *r, void *arg), void *arg)
{
    sqlite3_stmt *st = NULL;
    wk_rindex_row r;
    int rc = -1, s;
    if (sqlite3_prepare_v2(x->db,
                           "SELECT seq, run_id, part, offset, length, verdict, claims, unsupported,"
                           " categories, file, line, frame FROM runs ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        kivo_verdict v = KIVO_VERDICT_PASS;
        const unsigned char *vt = sqlite3_column_text(st, 5);
        memset(&r, 0, sizeof r);
        r.seq = (uint64_t)sqlite3_column_int64(st, 0);
        r.run_id = (const char *)sqlite3_column_text(st, 1);
        if (!r.run_id || !vt ||
            kivo_verdict_parse((const char *)vt, strlen((const char *)vt), &v) != KIVO_OK)
            goto out;
        r.part = (uint32_t)sqlite3_column_int64(st, 2);
        r.offset = (uint64_t)sqlite3_column_int64(st, 3);
        r.length = (uint64_t)sqlite3_column_int64(st, 4);
        r.verdict = (uint8_t)v;
        r.claims = (uint32_t)sqlite3_column_int64(st, 6);
        r.unsupported = (uint32_t)sqlite3_column_int64(st, 7);
        r.categories = (uint32_t)sqlite3_column_int64(st, 8);
        r.file = (uint32_t)sqlite3_column_int64(st, 9);
        r.line = (uint64_t)sqlite3_column_int64(st, 10);
        r.frame = col_int(st, 11, -1);
        r.page = -1;
        r.label = -1;
        int f = fn(&r, arg);
        if (f != 0) {
            rc = f;
            goto out;
        }
    }
    rc = s == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

int wk_rindex_attach(wk_rindex *x, const char *reports_dir)
{
    char path[4200];
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof path, "%s/%s", reports_dir, WK_RINDEX_NAME);
    /* ATTACH is refused inside a transaction: the open one is committed first. */
    int bad = exec(x, "COMMIT") ||
              sqlite3_prepare_v2(x->db, "ATTACH DATABASE ?1 AS shard", -1, &st, NULL) ||
              sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC) || sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    x->in_tx = 0;
    if (bad || exec(x, "BEGIN"))
        return -1;
    x->in_tx = 1;
    return 0;
}

int wk_rindex_detach(wk_rindex *x)
{
    int bad = exec(x, "COMMIT");
    x->in_tx = 0;
    if (bad || exec(x, "DETACH DATABASE shard") || exec(x, "BEGIN"))
        return -1;
    x->in_tx = 1;
    return 0;
}

int wk_rindex_copy_rows(wk_rindex *x, int64_t seq_delta, uint64_t first, uint64_t last,
                        uint32_t to_part, int64_t offset_delta, int64_t event_delta)
{
    /* A row with a line key keeps its event's place, moved as the events are; a shard of an
     * earlier build has no such columns (then none). */
    static const char *const sql[2] = {
        "INSERT INTO main.runs(seq, run_id, part, offset, length, frame, sha256, verdict,"
        " claims, unsupported, categories, page, page_offset, page_length, file, line,"
        " review_key, label, groups, reused, line_key, event_offset, event_length)"
        " SELECT seq + ?1, run_id, ?4, offset + ?5, length, frame, sha256, verdict, claims,"
        " unsupported, categories, page, page_offset, page_length, file, line, review_key,"
        " label, groups, reused, line_key,"
        " CASE WHEN line_key IS NULL THEN NULL ELSE event_offset + ?6 END,"
        " CASE WHEN line_key IS NULL THEN NULL ELSE event_length END FROM shard.runs"
        " WHERE seq BETWEEN ?2 AND ?3 ORDER BY seq",
        "INSERT INTO main.runs(seq, run_id, part, offset, length, frame, sha256, verdict,"
        " claims, unsupported, categories, page, page_offset, page_length, file, line,"
        " review_key, label, groups, reused)"
        " SELECT seq + ?1, run_id, ?4, offset + ?5, length, frame, sha256, verdict, claims,"
        " unsupported, categories, page, page_offset, page_length, file, line, review_key,"
        " label, groups, reused FROM shard.runs WHERE seq BETWEEN ?2 AND ?3 ORDER BY seq"};
    sqlite3_stmt *st = NULL;
    int bad = sqlite3_prepare_v2(x->db, sql[0], -1, &st, NULL) != SQLITE_OK &&
              sqlite3_prepare_v2(x->db, sql[1], -1, &st, NULL) != SQLITE_OK;
    bad = bad || sqlite3_bind_int64(st, 1, seq_delta) ||
          sqlite3_bind_int64(st, 2, (sqlite3_int64)first) ||
          sqlite3_bind_int64(st, 3, (sqlite3_int64)last) || sqlite3_bind_int64(st, 4, to_part) ||
          sqlite3_bind_int64(st, 5, offset_delta) ||
          (sqlite3_bind_parameter_count(st) >= 6 && sqlite3_bind_int64(st, 6, event_delta)) ||
          sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    return bad ? -1 : 0;
}

int wk_rindex_each(wk_rindex *x, uint64_t from, int (*fn)(const wk_rindex_row *r, void *arg),
                   void *arg)
{
    sqlite3_stmt *st = NULL;
    wk_rindex_hit hit;
    int rc = -1, s;
    if (sqlite3_prepare_v2(x->db, "SELECT " COLUMNS FROM " WHERE r.seq >= ?1 ORDER BY r.seq", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, (sqlite3_int64)from) != SQLITE_OK)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_row(x, st, &hit) != 0)
            goto out;
        int r = fn(&hit.row, arg);
        if (r != 0) {
            rc = r;
            goto out;
        }
    }
    rc = s == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

int64_t wk_rindex_count(wk_rindex *x)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(x->db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* One text value of a query on db (a NULL row gives ""), into a malloc'd string, or NULL. */
static char *query_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        out = strdup(v ? (const char *)v : "");
    }
    sqlite3_finalize(st);
    return out;
}

#define TABLES_SQL                                                                           \
    "SELECT group_concat(name || ':' || sql, ';') FROM (SELECT name, sql FROM sqlite_master" \
    " WHERE type = 'table' ORDER BY name)"
#define INDEXES_SQL                                                                          \
    "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master WHERE type = 'index'" \
    " AND sql IS NOT NULL ORDER BY name)"

/* 1 when prev_dir/index can stand for x's rows: a finished index in one file, of the same tables,
 * with exactly `rows` runs, no frames, and the lookup indexes. */
static int adoptable(wk_rindex *x, const char *prev_dir, uint64_t rows)
{
    char path[4200];
    struct stat sb;
    sqlite3 *prev = NULL;
    int ok = 0;
    snprintf(path, sizeof path, "%s/%s-wal", prev_dir, WK_RINDEX_NAME);
    if (lstat(path, &sb) == 0 && sb.st_size > 0)
        return 0;
    snprintf(path, sizeof path, "%s/%s", prev_dir, WK_RINDEX_NAME);
    if (sqlite3_open_v2(path, &prev, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        sqlite3_close(prev);
        return 0;
    }
    char *mine = query_text(x->db, TABLES_SQL), *theirs = query_text(prev, TABLES_SQL);
    char *ix = query_text(prev, INDEXES_SQL);
    char *n = query_text(prev, "SELECT count(*) || ',' || coalesce(max(seq), -1) FROM runs");
    char *fr = query_text(prev, "SELECT count(*) FROM frames");
    char *done = query_text(prev, "SELECT value FROM store WHERE key = 'complete'");
    char want[64];
    snprintf(want, sizeof want, "%llu,%lld", (unsigned long long)rows, (long long)rows - 1);
    ok = mine && theirs && ix && n && fr && done && !strcmp(mine, theirs) &&
         !strcmp(ix, "CREATE UNIQUE INDEX " INDEX_ID ";CREATE INDEX " INDEX_KEY
                     ";CREATE INDEX " INDEX_LINE) &&
         !strcmp(n, want) && !strcmp(fr, "0") && !strcmp(done, "1");
    free(mine);
    free(theirs);
    free(ix);
    free(n);
    free(fr);
    free(done);
    sqlite3_close(prev);
    return ok;
}

int wk_rindex_adopt(wk_rindex *x, const char *reports_dir, const char *prev_dir, uint64_t rows,
                    int *adopted, char *err, size_t errlen)
{
    char path[4200], tmp[WK_TMP_MAX] = "";
    sqlite3 *db = NULL;
    sqlite3_stmt *keys = NULL, *put = NULL;
    int dir = -1, in = -1, out = -1, rc = -1;
    *adopted = 0;
    if (!adoptable(x, prev_dir, rows))
        return 0;
    /* The store table's notes are this batch's: kept to be written into the copy. */
    if (sqlite3_prepare_v2(x->db, "SELECT key, value FROM store ORDER BY key", -1, &keys, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot read %s/%s: %s", reports_dir, WK_RINDEX_NAME,
                 sqlite3_errmsg(x->db));
        return -1;
    }
    kivo_buf notes;
    kivo_buf_init(&notes, 0);
    while (sqlite3_step(keys) == SQLITE_ROW)
        for (int c = 0; c < 2; c++) {
            const unsigned char *v = sqlite3_column_text(keys, c);
            if (kivo_buf_append(&notes, v ? (const char *)v : "",
                                strlen(v ? (const char *)v : "") + 1) != KIVO_OK) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
        }
    sqlite3_finalize(keys);
    keys = NULL;
    /* This batch's index is given up (its rows are the previous one's, reused aside). */
    sqlite3_stmt **sts[] = {&x->ins,  &x->ins_frame, &x->by_id,     &x->by_key,   &x->by_seq,
                            &x->iter, &x->by_line,   &x->line_next, &x->copy_prev};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    if (x->in_tx)
        exec(x, "ROLLBACK");
    x->in_tx = 0;
    sqlite3_close(x->db);
    x->db = NULL;
    /* The copy: the previous index, reused set, this batch's notes; renamed over the index. */
    if ((dir = open(reports_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        goto io;
    snprintf(path, sizeof path, "%s/%s", prev_dir, WK_RINDEX_NAME);
    if ((in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
        (out = wk_tmp_open(dir, WK_RINDEX_NAME, WK_MODE_META, tmp)) < 0)
        goto io;
    struct stat sb;
    if (fstat(in, &sb) != 0 || wk_copy_range(in, 0, (uint64_t)sb.st_size, out) != 0)
        goto io;
    snprintf(path, sizeof path, "%s/%s", reports_dir, tmp);
    /* No journal: the copy is nobody's until it is renamed, and it is synced before. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;"
                     " UPDATE runs SET reused = 1 WHERE reused IS NOT 1; DELETE FROM store;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO store(key, value) VALUES(?1, ?2)", -1, &put, NULL) !=
            SQLITE_OK)
        goto db_failed;
    for (size_t at = 0; at < notes.len;) {
        const char *k = notes.data + at, *v = k + strlen(k) + 1;
        at = (size_t)(v - notes.data) + strlen(v) + 1;
        if (strcmp(k, "complete") == 0)
            continue;
        if (sqlite3_bind_text(put, 1, k, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(put, 2, v, -1, SQLITE_STATIC) || sqlite3_step(put) != SQLITE_DONE ||
            sqlite3_reset(put))
            goto db_failed;
    }
    if (sqlite3_exec(db, "INSERT INTO store(key, value) VALUES('complete', '1'); COMMIT;", NULL,
                     NULL, NULL) != SQLITE_OK)
        goto db_failed;
    sqlite3_finalize(put);
    put = NULL;
    if (sqlite3_close(db) != SQLITE_OK) {
        db = NULL;
        goto io;
    }
    db = NULL;
    snprintf(path, sizeof path, "%s/%s-wal", reports_dir, WK_RINDEX_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s-shm", reports_dir, WK_RINDEX_NAME);
    unlink(path);
    if (fsync(out) != 0 || wk_commit_at(dir, tmp, WK_RINDEX_NAME, WK_WRITE_SYNC) != 0) {
        tmp[0] = '\0'; /* wk_commit_at removed it */
        goto io;
    }
    tmp[0] = '\0';
    *adopted = 1;
    rc = 0;
    goto out;
db_failed:
    snprintf(err, errlen, "cannot write %s/%s: %s", reports_dir, tmp,
             db ? sqlite3_errmsg(db) : "out of memory");
    goto out;
io:
    snprintf(err, errlen, "cannot write %s/%s: %s", reports_dir, WK_RINDEX_NAME, strerror(errno));
out:
    sqlite3_finalize(keys);
    sqlite3_finalize(put);
    sqlite3_close(db);
    if (out >= 0) {
        close(out);
        if (tmp[0] && rc != 0)
            unlinkat(dir, tmp, 0);
    }
    if (in >= 0)
        close(in);
    if (dir >= 0)
        close(dir);
    kivo_buf_free(&notes);
    return rc;
}

int wk_rindex_attach_prev(wk_rindex *x, const char *prev_dir)
{
    char path[4200];
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof path, "%s/%s", prev_dir, WK_RINDEX_NAME);
    /* ATTACH is refused inside a transaction: the open one (the batch's notes) commits first. */
    if (x->in_tx && exec(x, "COMMIT") != 0)
        return -1;
    x->in_tx = 0;
    int bad = sqlite3_prepare_v2(x->db, "ATTACH DATABASE ?1 AS prev", -1, &st, NULL) ||
              sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC) || sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    if (!bad)
        bad = prepare(x,
                      "INSERT INTO main.runs(seq, run_id, part, offset, length, frame, sha256,"
                      " verdict, claims, unsupported, categories, page, page_offset, page_length,"
                      " file, line, review_key, label, groups, reused, line_key, event_offset,"
                      " event_length) SELECT seq, run_id, part, offset, length, frame, sha256,"
                      " verdict, claims, unsupported, categories, page, page_offset, page_length,"
                      " file, line, review_key, label, groups, 1, line_key, event_offset,"
                      " event_length FROM prev.runs WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
                      &x->copy_prev);
    if (exec(x, "BEGIN") != 0)
        return -1;
    x->in_tx = 1;
    return bad ? -1 : 0;
}

int wk_rindex_copy_prev(wk_rindex *x, uint64_t from, uint64_t to)
{
    if (from >= to)
        return 0;
    if (!x->copy_prev)
        return -1;
    int bad = sqlite3_bind_int64(x->copy_prev, 1, (sqlite3_int64)from) ||
              sqlite3_bind_int64(x->copy_prev, 2, (sqlite3_int64)to) ||
              sqlite3_step(x->copy_prev) != SQLITE_DONE ||
              (uint64_t)sqlite3_changes64(x->db) != to - from;
    sqlite3_reset(x->copy_prev);
    return bad ? -1 : 0;
}
