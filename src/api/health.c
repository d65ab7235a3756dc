/*
 * health.c - the database file's identity, write health and the SIGBUS last words (health.h).
 *
 * The checks are three statx() calls, made at most every 100 ms for requests (every time for
 * /healthz and a new connection). Paths are fixed at start-up;
 * a removed or replaced database is sticky and logged once. Nothing here opens the database files:
 * closing a descriptor drops the process's POSIX locks on the file, SQLite's included.
 */
#include <errno.h>
#include <fcntl.h> /* AT_FDCWD */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "health.h"
#include "timefmt.h"

#define PATH_CAP 4096
#define WHY_MAX 256
#define PROBE_INTERVAL_NS 1000000000ull
#define CACHE_NS 100000000ull

typedef struct watched {
    char path[PATH_CAP];
    uint32_t dev_major, dev_minor;
    uint64_t ino;
    uint64_t size; /* -shm: the size seen at start, its floor while we run */
    int known;     /* identity recorded (the -wal and -shm only once they existed) */
} watched;

enum { F_DB, F_WAL, F_SHM, F_COUNT };
static const char *const suffix[F_COUNT] = {"", "-wal", "-shm"};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static watched files[F_COUNT];
static int gone; /* sticky: the database or its -wal was removed or replaced */
static char gone_why[WHY_MAX];
static char unusable_logged[WHY_MAX]; /* the "unusable" problem last logged */
static _Atomic uint64_t last_probe_ns;
static _Atomic uint64_t checked_ns; /* when the files were last checked */
static _Atomic int cached;          /* the answer then (an api_health_state) */
static char cached_why[WHY_MAX];    /* under lock */

static char bus_msg[PATH_CAP + 256];
static size_t bus_len;

static int stat_of(const char *path, struct statx *sx)
{
    return statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, sx);
}

static void remember(watched *w, const struct statx *sx)
{
    w->dev_major = sx->stx_dev_major;
    w->dev_minor = sx->stx_dev_minor;
    w->ino = sx->stx_ino;
    w->size = sx->stx_size;
    w->known = 1;
}

int api_health_watch(const char *db_path)
{
    struct statx sx;

    for (int i = 0; i < F_COUNT; i++) {
        snprintf(files[i].path, PATH_CAP, "%s%s", db_path, suffix[i]);
        files[i].known = 0;
        if (stat_of(files[i].path, &sx) == 0)
            remember(&files[i], &sx);
        else if (i == F_DB)
            return -1;
    }
    return 0;
}

/* One file against what was watched. @return the state, with why filled when not OK. */
static api_health_state compare(watched *w, int i, char *why, size_t size)
{
    struct statx sx;
    uint64_t flags;

    if (stat_of(w->path, &sx) != 0) {
        if (!w->known || i == F_SHM)
            return API_HEALTH_OK;
        snprintf(why, size, "%.160s was removed while the server ran (%s)", w->path,
                 strerror(errno));
        return API_HEALTH_DB_GONE;
    }
    if (!w->known) {
        remember(w, &sx);
    } else if (i != F_SHM && (sx.stx_dev_major != w->dev_major ||
                              sx.stx_dev_minor != w->dev_minor || sx.stx_ino != w->ino)) {
        snprintf(why, size, "%.160s was replaced by another file while the server ran", w->path);
        return API_HEALTH_DB_GONE;
    }
    flags = sx.stx_attributes & sx.stx_attributes_mask & (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND);
    if (flags) {
        snprintf(why, size, "%.160s is %s: SQLite cannot write it", w->path,
                 flags & STATX_ATTR_IMMUTABLE ? "immutable" : "append-only");
        return API_HEALTH_FILES_UNUSABLE;
    }
    if (i == F_SHM && sx.stx_size < w->size) {
        snprintf(why, size, "%.160s shrank from %llu to %llu bytes while the server ran", w->path,
                 (unsigned long long)w->size, (unsigned long long)sx.stx_size);
        return API_HEALTH_FILES_UNUSABLE;
    }
    if (i == F_SHM)
        w->size = sx.stx_size;
    return API_HEALTH_OK;
}

api_health_state api_health_files(char *why, size_t size, int fresh)
{
    api_health_state worst = API_HEALTH_OK;
    uint64_t now_ns = api_mono_ns();
    char now[WHY_MAX];

    /* The checks are system calls: between two of them, at most CACHE_NS apart, the last answer
     * stands (an OK answer without taking the lock). */
    if (!fresh && now_ns - atomic_load(&checked_ns) < CACHE_NS &&
        atomic_load(&cached) == API_HEALTH_OK)
        return API_HEALTH_OK;
    pthread_mutex_lock(&lock);
    if (!files[F_DB].path[0])
        goto out;
    if (!fresh && now_ns - atomic_load(&checked_ns) < CACHE_NS) {
        worst = atomic_load(&cached);
        snprintf(why, size, "%s", cached_why);
        goto out;
    }
    for (int i = 0; i < F_COUNT; i++) {
        api_health_state st;
        if (gone && i != F_SHM)
            continue;
        st = compare(&files[i], i, now, sizeof now);
        if (st == API_HEALTH_DB_GONE) {
            gone = 1;
            snprintf(gone_why, sizeof gone_why, "%s", now);
            api_log_event("error",
                          "%s; refusing writes and failing /healthz until a restart (a write "
                          "acknowledged now would be lost)",
                          gone_why);
        } else if (st != API_HEALTH_OK && st > worst) {
            worst = st;
            snprintf(why, size, "%s", now);
        }
    }
    /* Once per problem: a new one (another file, another fault) is logged too. */
    if (worst == API_HEALTH_FILES_UNUSABLE && strcmp(why, unusable_logged) != 0)
        api_log_event("error", "%s; refusing every request until it is fixed", why);
    snprintf(unusable_logged, sizeof unusable_logged, "%s",
             worst == API_HEALTH_FILES_UNUSABLE ? why : "");
    if (gone && worst < API_HEALTH_DB_GONE) {
        worst = API_HEALTH_DB_GONE;
        snprintf(why, size, "%s", gone_why);
    }
    snprintf(cached_why, sizeof cached_why, "%s", worst == API_HEALTH_OK ? "" : why);
    atomic_store(&cached, worst);
    atomic_store(&checked_ns, now_ns);
out:
    pthread_mutex_unlock(&lock);
    return worst;
}

api_health_state api_health_check(api_store *s, char *why, size_t size)
{
    api_health_state st = api_health_files(why, size, 1);
    uint64_t now, last;

    if (st != API_HEALTH_OK || api_store_write_health(why, size) == 0)
        return st;
    now = api_mono_ns();
    last = atomic_load(&last_probe_ns);
    if (s && now - last >= PROBE_INTERVAL_NS &&
        atomic_compare_exchange_strong(&last_probe_ns, &last, now))
        api_store_probe_write(s);
    return api_store_write_health(why, size) == 0 ? API_HEALTH_OK : API_HEALTH_WRITES_FAIL;
}

int api_health_files_writable(const char *db_path, char *why, size_t size)
{
    char path[PATH_CAP];

    /* access(), not open(): closing any descriptor of the database file would drop every POSIX
     * lock this process holds on it, SQLite's included, and let another process delete the WAL
     * under the server. */
    for (size_t i = 0; i < F_COUNT; i++) {
        snprintf(path, sizeof path, "%s%s", db_path, suffix[i]);
        if (access(path, W_OK) != 0 && errno != ENOENT) {
            snprintf(why, size, "cannot write %.160s: %s%s", path, strerror(errno),
                     errno == EPERM ? " (immutable?)" : "");
            return -1;
        }
    }
    return 0;
}

static void on_bus(int sig)
{
    ssize_t n = write(STDERR_FILENO, bus_msg, bus_len);

    (void)n;
    (void)sig;
    /* SA_RESETHAND: the faulting access runs again and meets the default action. */
}

void api_health_on_fatal_signals(const char *db_path)
{
    struct sigaction sa;
    int n;

    n = snprintf(bus_msg, sizeof bus_msg,
                 "kivo-api: fatal: SIGBUS reading a memory-mapped file: %s-shm (SQLite's "
                 "wal-index) was truncated, made immutable or read-only, or could not grow on a "
                 "full disk; stopping (fix the file and restart)\n",
                 db_path);
    bus_len = n > 0 ? (size_t)n < sizeof bus_msg ? (size_t)n : sizeof bus_msg - 1 : 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_bus;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    /* A file size limit (ulimit -f) must fail the write (EFBIG, an SQLite error the log names),
     * not kill the process without a word. */
    signal(SIGXFSZ, SIG_IGN);
}
