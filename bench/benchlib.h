/* benchlib.h - what every bench program needs: a clock, the load average, a median, and a path
 * quoted for sh (the benches run `openssl dgst -sha256` through popen beside their own work). */
#ifndef KIVO_BENCHLIB_H
#define KIVO_BENCHLIB_H

#include <stddef.h>

/* Monotonic seconds. */
double bench_now(void);

/* The 1-minute load average, or -1: a busy machine explains a noisy figure. */
double bench_load_average(void);

/* qsort comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

/* Single-quotes `path` for sh into out[0..size). @return 0, or -1 when it does not fit. */
int bench_shell_quote(const char *path, char *out, size_t size);

#endif
