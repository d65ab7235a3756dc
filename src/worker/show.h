/*
 * show.h - `kivo-worker show`: one run's claim report (or page) out of a batch's report store.
 */
#ifndef KIVO_WORKER_SHOW_H
#define KIVO_WORKER_SHOW_H

#include "kivo/status.h"
#include "optenv.h"

/* The command's options, for optenv.h (its variables are KIVO_SHOW_*). */
extern const wk_optenv_cmd wk_show_cli;

/* Runs the command (oe->argv[0] is "show"); messages go to stderr. @return KIVO_OK; KIVO_EINVAL for
 * usage, a folder that is not a report store, or a run it does not hold (exit 2); KIVO_EIO. */
kivo_status wk_show_command(const wk_optenv *oe);

#endif
