/*
 * mpi_ranks.h - kivo-worker-mpi: `mpirun -n R kivo-worker-mpi batch ...` (built only when CMake finds
 * MPI). Rank i reviews shard i/R (shard.h) into DIR/ranks/rank-NNNNN, its own out folder and
 * outbox, with its own checkpoints; the ranks' counts are combined with MPI reductions; rank 0
 * then merges the ranks' folders into DIR (merge.h) and checks the merged counts against the
 * reduced ones. A rank that dies makes mpirun fail; the same command again resumes every shard
 * from its checkpoint. docs/scale-out.md.
 */
#ifndef KIVO_WORKER_MPI_RANKS_H
#define KIVO_WORKER_MPI_RANKS_H

#include <stddef.h>

#include "batch.h"

/* MPI_Init. @return 0, or -1 (a message on stderr). */
int wk_mpi_init(int *argc, char ***argv);
/* MPI_Finalize. */
void wk_mpi_finalize(void);
int wk_mpi_rank(void);
int wk_mpi_size(void);

/* This rank's out folder below out, made with its parents: out/ranks/rank-NNNNN (into buf).
 * @return 0, or -1 with a message in err. */
int wk_mpi_rank_dir(const char *out, char *buf, size_t buflen, char *err, size_t errlen);

/* Before any rank sends its events (with --kivo-api-base-url): decides which runs are whose, as
 * one process would. ok: this rank's batch finished (it may send). When any rank failed, no rank
 * sends (@return 0; the rerun sends). Else every rank's stored run ids are gathered, and rank K
 * notes the events of the runs that a rank before it also holds as WK_STATE_ELSEWHERE in its
 * outbox (dir): in one process those records are duplicates of an earlier one, and the merged
 * store rejects them; so kivo-api sees each run once, from the rank of its first record.
 * @return 1 (send), 0 (do not send now), or -1 on an MPI or I/O failure (messages on stderr; the
 * same on every rank). */
int wk_mpi_claim_runs(int ok, const char *dir, int quiet);

/* After this rank's batch (and send): every rank's exit code and counts combined; rank 0 merges
 * the ranks' folders into out when none failed, and prints the closing line (or, with json, the
 * merged summary). @return the exit code every rank returns (the same on all ranks). */
int wk_mpi_batch_end(int rc, const wk_summary *sum, const char *out, int json, int quiet);

#endif
