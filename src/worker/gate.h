/*
 * gate.h - --fail-on EXPR for CI: conditions such as fail_rate>0.02 or p<0.05, joined by commas;
 * the gate fails when any of them is true, and the program exits WK_EXIT_GATE (exitcode.h).
 *
 * A condition is NAME OP NUMBER with OP one of > >= < <= == !=. The names a command offers are
 * its metrics (batch: fail_rate, needs_review_rate, ...; compare: flag_rate_delta, new_fail, p,
 * ...). A metric that is undefined for the job (a rate over no runs, precision without labels)
 * fails its condition, so that a gate never passes on missing evidence.
 */
#ifndef KIVO_WORKER_GATE_H
#define KIVO_WORKER_GATE_H

#include <stddef.h>

#define WK_GATE_MAX 32 /* conditions in one --fail-on */

typedef struct wk_metric {
    const char *name;
    double value;              /* NAN: undefined */
    const char *undefined_why; /* why the value can be undefined, for the message */
} wk_metric;

typedef struct wk_gate wk_gate;

/* Parses expr against the names in metrics[0..n). @return 0 and *out, or -1 with a message
 * naming the bad condition (and the names there are) in err. */
int wk_gate_parse(const char *expr, const wk_metric *metrics, size_t n, wk_gate **out, char *err,
                  size_t errlen);
void wk_gate_free(wk_gate *g);

/* Evaluates every condition against metrics (the same names, now with values). msg gets one line
 * per condition that is true: "fail_rate>0.02 (fail_rate = 0.0333)". @return how many were true. */
size_t wk_gate_eval(const wk_gate *g, const wk_metric *metrics, size_t n, char *msg, size_t msglen);

/* The names of metrics[0..n) joined by ", ", into out. */
void wk_gate_names(const wk_metric *metrics, size_t n, char *out, size_t outlen);

#endif
