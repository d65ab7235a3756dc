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

#include <mpi.h>

#include "exitcode.h"
#include "jobspec.h"
#include "merge.h"
#include "mpi_ranks.h"

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

/* Waits for a non-blocking collective by testing it every 20 ms. A blocking one would spin a core
 * at 100% in Open MPI's progress loop for as long as the slowest rank still reviews (or rank 0
 * merges): CPU the other ranks on the same host need. @return 0, or -1 when MPI failed. */
static int wait_for(MPI_Request *req)
{
    const struct timespec tick = {0, 20 * 1000 * 1000};
    int done = 0;
    while (MPI_Test(req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS) {
        if (done)
            return 0;
        nanosleep(&tick, NULL);
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
            wk_merge_opts mo = {.out = out, .dirs = (const char *const *)dirs, .n = (size_t)size};
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
