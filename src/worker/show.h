/*
 * show.h - `kivo-worker show`: one run's claim report (or page) out of a batch's report store.
 */
#ifndef KIVO_WORKER_SHOW_H
#define KIVO_WORKER_SHOW_H

#include "kivo/status.h"

/* Runs the command (argv[0] is "show"); messages go to stderr. @return KIVO_OK; KIVO_EINVAL for
 * usage, a folder that is not a report store, or a run it does not hold (exit 2); KIVO_EIO. */
kivo_status wk_show_command(int argc, char **argv);

#endif
