/*
 * mpi.c - kivo-worker-mpi's ranks (mpi_ranks.h): a rank is a shard; reductions combine the ranks' exit
 * codes and counts; rank 0 merges. Compiled only into kivo-worker-mpi, so kivo-worker itself
 * never depends on an MPI library.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <mpi.h>

#include "exitcode.h"
#include "jobspec.h"
#include "kivo/buf.h"
#include "merge.h"
#include "mpi_ranks.h"
#include "outbox.h"
#include "report_index.h"
#include "seen.h"

static int rank, size;

int wk_mpi_init(int *argc, char ***argv)
{
    if (MPI_Init(argc, argv) != MPI_SUCCESS ||
        MPI_Comm_rank(MPI_COMM_WORLD, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(MPI_COMM_WORLD, &size) != MPI_SUCCESS) {
        fprintf(stderr, "kivo-worker: MPI_Init failed\n");
        return -1;
    }
    return 0;
}

void wk_mpi_finalize(void)
{
    MPI_Finalize();
}

int wk_mpi_rank(void)
{
    return rank;
}

int wk_mpi_size(void)
{
    return size;
}

static int make_dir(const char *path)
{
    return mkdir(path, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

int wk_mpi_rank_dir(const char *out, char *buf, size_t buflen, char *err, size_t errlen)
{
    /* Every rank makes the parents; whoever is first wins, the others find them. */
    if ((size_t)snprintf(buf, buflen, "%s", out) >= buflen || make_dir(buf) != 0 ||
        (size_t)snprintf(buf, buflen, "%s/ranks", out) >= buflen || make_dir(buf) != 0 ||
        (size_t)snprintf(buf, buflen, "%s/ranks/rank-%05d", out, rank) >= buflen) {
        snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno ? errno : ENAMETOOLONG));
        return -1;
    }
    return 0;
}

/* Waits for a non-blocking collective by testing it, sleeping between tests: 50 us at first, twice
 * as long after each test up to 20 ms. A blocking one would spin a core at 100% in Open MPI's
 * progress loop for as long as the slowest rank still reviews (or rank 0 merges): CPU the other
 * ranks on the same host need. Most collectives end within a millisecond once every rank has
 * come; a fixed 20 ms tick cost each of them 10 ms on average, one after the other.
 * @return 0, or -1 when MPI failed. */
static int wait_for(MPI_Request *req)
{
    long ns = 50 * 1000;
    int done = 0;
    while (MPI_Test(req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS) {
        if (done)
            return 0;
        struct timespec tick = {0, ns};
        nanosleep(&tick, NULL);
        ns = ns * 2 < 20 * 1000 * 1000 ? ns * 2 : 20 * 1000 * 1000;
    }
    return -1;
}

/* The counts every rank adds up (summary.json's), in one array for one reduction. */
enum { C_READ, C_REVIEWED, C_REJECTED, C_DUPS, C_CLAIMS, C_UNSUPPORTED, C_BYTES, C_PASS, C_COUNT };

static void pack(const wk_summary *s, uint64_t c[C_COUNT + 2])
{
    c[C_READ] = s->records_read;
    c[C_REVIEWED] = s->records_reviewed;
    c[C_REJECTED] = s->records_rejected;
    c[C_DUPS] = s->duplicates;
    c[C_CLAIMS] = s->claims;
    c[C_UNSUPPORTED] = s->unsupported_claims;
    c[C_BYTES] = s->bytes;
    for (int v = 0; v < 3; v++)
        c[C_PASS + v] = s->verdicts[v];
}

/* A rank's exit code: 1, 2 and a signal's are fatal (nothing to merge); 3 is data; 4 and 5 are
 * about sending, which each rank did on its own. */
static int fatal(int rc)
{
    return rc != WK_EXIT_OK && rc != WK_EXIT_REJECTS && rc != WK_EXIT_REFUSED &&
           rc != WK_EXIT_PENDING && rc != WK_EXIT_GATE;
}

int wk_mpi_batch_end(int rc, const wk_summary *sum, const char *out, int json, int quiet)
{
    uint64_t mine[C_COUNT + 2] = {0}, all[C_COUNT + 2] = {0};
    int failed = fatal(rc), any_failed = 0,
        send = rc == WK_EXIT_REFUSED || rc == WK_EXIT_PENDING ? rc : 0, worst_send = 0, final = rc;
    if (!failed)
        pack(sum, mine);
    MPI_Request req[3];
    if (MPI_Iallreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req[0]) !=
            MPI_SUCCESS ||
        wait_for(&req[0]) != 0 ||
        MPI_Iallreduce(&send, &worst_send, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req[1]) !=
            MPI_SUCCESS ||
        wait_for(&req[1]) != 0 ||
        MPI_Ireduce(mine, all, C_COUNT + 2, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD, &req[2]) !=
            MPI_SUCCESS ||
        wait_for(&req[2]) != 0)
        return WK_EXIT_IO;
    if (rank == 0) {
        if (any_failed) {
            fprintf(stderr,
                    "kivo-worker: a rank failed (see its message above); nothing merged into %s. "
                    "Run the same mpirun command again: every shard resumes from its "
                    "checkpoint\n",
                    out);
            final = failed ? rc : WK_EXIT_IO;
        } else {
            char err[4096], path[4200];
            char **dirs = calloc((size_t)size, sizeof *dirs);
            wk_summary m;
            kivo_status st = dirs ? KIVO_OK : KIVO_ENOMEM;
            for (int r = 0; st == KIVO_OK && r < size; r++) {
                snprintf(path, sizeof path, "%s/ranks/rank-%05d", out, r);
                if (!(dirs[r] = strdup(path)))
                    st = KIVO_ENOMEM;
            }
            wk_merge_opts mo = {.out = out,
                                .dirs = (const char *const *)dirs,
                                .n = (size_t)size,
                                .consume_first = 1};
            if (st == KIVO_OK)
                st = wk_merge_run(&mo, &m, err, sizeof err);
            else
                snprintf(err, sizeof err, "out of memory");
            for (int r = 0; dirs && r < size; r++)
                free(dirs[r]);
            free(dirs);
            if (st != KIVO_OK) {
                fprintf(stderr, "kivo-worker: merging the ranks into %s: %s\n", out, err);
                final = WK_EXIT_IO;
            } else if (m.records_read != all[C_READ] || m.bytes != all[C_BYTES] ||
                       m.records_reviewed + m.records_rejected != all[C_READ]) {
                fprintf(stderr,
                        "kivo-worker: the ranks' reduced counts (%llu records, %llu bytes) and "
                        "the merged store's (%llu, %llu) disagree\n",
                        (unsigned long long)all[C_READ], (unsigned long long)all[C_BYTES],
                        (unsigned long long)m.records_read, (unsigned long long)m.bytes);
                final = WK_EXIT_IO;
            } else {
                final = worst_send ? worst_send : m.records_rejected ? WK_EXIT_REJECTS : WK_EXIT_OK;
                if (json) { /* the merged summary.json as written */
                    char *data = NULL;
                    size_t len = 0;
                    snprintf(path, sizeof path, "%s/summary.json", out);
                    if (wk_read_file(path, &data, &len) == 0)
                        fwrite(data, 1, len, stdout);
                    free(data);
                } else if (!quiet) {
                    fprintf(stderr,
                            "kivo-worker: %d ranks: %llu records read, %llu reviewed, %llu "
                            "rejected; verdicts: %llu pass, %llu needs_review, %llu fail; "
                            "merged store in %s (each rank's folder and outbox in "
                            "%s/ranks)\n",
                            size, (unsigned long long)m.records_read,
                            (unsigned long long)m.records_reviewed,
                            (unsigned long long)m.records_rejected,
                            (unsigned long long)m.verdicts[0], (unsigned long long)m.verdicts[1],
                            (unsigned long long)m.verdicts[2], out, out);
                }
            }
        }
    }
    MPI_Request done;
    if (MPI_Ibcast(&final, 1, MPI_INT, 0, MPI_COMM_WORLD, &done) != MPI_SUCCESS ||
        wait_for(&done) != 0)
        return WK_EXIT_IO;
    return final;
}

/* KIVO_WORKER_TEST_MPI_NOMEM=N (tests only, set on one rank): gather_ids's N-th allocation step
 * (1: the lengths, 2: the ids) fails as if out of memory. */
static int test_nomem(int step)
{
    const char *v = getenv("KIVO_WORKER_TEST_MPI_NOMEM");
    return v && atoi(v) == step;
}

/* Before each of gather_ids's collectives: every rank says whether its allocations went well, so
 * that a rank out of memory does not leave the others in a collective it never joins (they would
 * wait forever, or mismatch its next one). @return 0 when every rank is ok, else -1 (a message on
 * stderr). */
static int all_allocated(int ok)
{
    int failed = !ok, any_failed = 0;
    MPI_Request req;
    if (!ok)
        fprintf(stderr, "kivo-worker: rank %d: out of memory while gathering the ranks' run ids\n",
                rank);
    if (MPI_Iallreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req) !=
            MPI_SUCCESS ||
        wait_for(&req) != 0)
        return -1;
    if (any_failed && ok)
        fprintf(stderr,
                "kivo-worker: rank %d: a rank could not gather the ranks' run ids: no "
                "rank sends its events\n",
                rank);
    return any_failed ? -1 : 0;
}

/* Every rank's stored run ids (NUL-terminated, one after another), gathered on every rank:
 * *all holds them, rank r's from (*at)[r] to (*at)[r + 1]. @return 0, or -1 (a message on
 * stderr). */
static int gather_ids(const kivo_buf *mine, char **all, uint64_t **at)
{
    int *counts = calloc((size_t)size, sizeof *counts), *displs = NULL;
    uint64_t n = mine->len, *lens = calloc((size_t)size, sizeof *lens);
    MPI_Request req;
    int rc = -1;
    *all = NULL;
    *at = calloc((size_t)size + 1, sizeof **at);
    if (all_allocated(counts && lens && *at && !test_nomem(1)) != 0 ||
        MPI_Iallgather(&n, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, MPI_COMM_WORLD, &req) !=
            MPI_SUCCESS ||
        wait_for(&req) != 0)
        goto out;
    for (int r = 0; r < size; r++) {
        (*at)[r + 1] = (*at)[r] + lens[r];
        if (lens[r] > INT32_MAX || (*at)[r + 1] > INT32_MAX) {
            fprintf(stderr, "kivo-worker: the ranks' run ids are over 2 GiB: too many to compare "
                            "(use more ranks per id range, or shard without sending)\n");
            goto out;
        }
    }
    displs = calloc((size_t)size, sizeof *displs);
    *all = malloc((size_t)(*at)[size] + 1);
    if (all_allocated(displs && *all && !test_nomem(2)) != 0)
        goto out;
    for (int r = 0; r < size; r++) {
        counts[r] = (int)lens[r];
        displs[r] = (int)(*at)[r];
    }
    if (MPI_Iallgatherv(mine->data ? mine->data : "", (int)n, MPI_CHAR, *all, counts, displs,
                        MPI_CHAR, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
        wait_for(&req) != 0)
        goto out;
    rc = 0;
out:
    free(counts);
    free(displs);
    free(lens);
    return rc;
}

static int add_id(const wk_rindex_row *r, void *arg)
{
    kivo_buf *b = arg;
    return kivo_buf_append(b, r->run_id, strlen(r->run_id) + 1) == KIVO_OK ? 0 : -1;
}

/* Notes the events of dir's outbox whose customer_run_id is in held (another shard's) as
 * WK_STATE_ELSEWHERE. @return how many, or -1 (a message on stderr). */
static long note_elsewhere(const char *dir, wk_seen *held)
{
    char err[1024];
    wk_outbox *ob = NULL;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    ssize_t len;
    if (wk_outbox_open(dir, &ob, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker: %s\n", err);
        return -1;
    }
    if (!(f = wk_outbox_events_read(dir))) {
        fprintf(stderr, "kivo-worker: cannot read %s/events.jsonl: %s\n", dir, strerror(errno));
        n = -1;
        goto out;
    }
    while (n >= 0 && (len = getline(&line, &cap, f)) > 0) {
        json_t *e = json_loadb(line, (size_t)len, 0, NULL);
        const char *id = json_string_value(json_object_get(e, "event_id"));
        const char *crid = json_string_value(json_object_get(e, "customer_run_id"));
        const wk_seen_entry *first = NULL;
        if (id && crid && wk_seen_add(held, crid, 0, 0, &first) != 0)
            n = -1;
        else if (id && crid && first && wk_outbox_state(ob, id, NULL) != WK_STATE_ELSEWHERE) {
            if (wk_outbox_note(ob, id, WK_STATE_ELSEWHERE, NULL) != 0)
                n = -1;
            else
                n++;
        }
        json_decref(e);
    }
    if (n >= 0 && wk_outbox_sync(ob) != 0) {
        fprintf(stderr, "kivo-worker: cannot write %s's outbox state: %s\n", dir, strerror(errno));
        n = -1;
    }
out:
    if (f)
        fclose(f);
    free(line);
    if (wk_outbox_close(ob) != 0 && n >= 0)
        n = -1;
    return n;
}

int wk_mpi_claim_runs(int ok, const char *dir, int quiet)
{
    int failed = !ok, any_failed = 0, bad = 0, any_bad = 0;
    MPI_Request req;
    if (MPI_Iallreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req) !=
            MPI_SUCCESS ||
        wait_for(&req) != 0)
        return -1;
    if (any_failed) {
        if (rank == 0)
            fprintf(stderr, "kivo-worker: a rank failed: no rank sends its events now (which "
                            "run is whose is known only once every shard finished); the same "
                            "mpirun command sends them\n");
        return 0;
    }
    /* This rank's stored run ids, in input order. */
    kivo_buf mine;
    char err[1024], rp[4200];
    wk_rindex *ix = NULL;
    kivo_buf_init(&mine, 0);
    snprintf(rp, sizeof rp, "%s/reports", dir);
    if (wk_rindex_open_read(rp, &ix, err, sizeof err) != 0 || wk_rindex_hold_read(ix) != 0 ||
        wk_rindex_each(ix, 0, add_id, &mine) != 0) {
        fprintf(stderr, "kivo-worker: rank %d: cannot read its run ids from %s: %s\n", rank, rp,
                ix ? wk_rindex_errmsg(ix) : err);
        bad = 1;
    }
    wk_rindex_close(ix);
    char *all = NULL;
    uint64_t *at = NULL;
    wk_seen *held = NULL;
    long elsewhere = 0;
    if (gather_ids(&mine, &all, &at) != 0) {
        kivo_buf_free(&mine);
        free(all);
        free(at);
        return -1;
    }
    /* The single process's rule: the first record of a run id in input order is the run, later
     * ones are duplicates. Ranks hold consecutive slices of the input, so a run id that an
     * earlier rank holds is not this rank's to send. */
    if (!bad && rank > 0 && at[rank] > 0) {
        if (wk_seen_create(&held) != 0)
            bad = 1;
        for (const char *p = all; !bad && p < all + at[rank]; p += strlen(p) + 1)
            if (wk_seen_add(held, p, 0, 0, &(const wk_seen_entry *){NULL}) != 0)
                bad = 1;
        if (!bad && (elsewhere = note_elsewhere(dir, held)) < 0)
            bad = 1;
        if (!bad && elsewhere > 0 && !quiet)
            fprintf(stderr,
                    "kivo-worker: rank %d: %ld events not sent: an earlier rank holds their "
                    "customer_run_id (duplicates in the merged store's rejects.jsonl)\n",
                    rank, elsewhere);
    }
    wk_seen_free(held);
    kivo_buf_free(&mine);
    free(all);
    free(at);
    if (MPI_Iallreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
        wait_for(&req) != 0 || any_bad)
        return -1;
    return 1;
}
