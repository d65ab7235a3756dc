/* benchlib.c - the helpers every bench program shares (benchlib.h). */
#define _POSIX_C_SOURCE 200809L
#include "benchlib.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_load_average(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1.0;
        fclose(f);
    }
    return l;
}

int bench_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_shell_quote(const char *path, char *out, size_t size)
{
    size_t o = 0;
    if (size < 3)
        return -1;
    out[o++] = '\'';
    for (const char *c = path; *c; c++) {
        const char *piece = *c == '\'' ? "'\\''" : NULL;
        const size_t plen = piece ? 4 : 1;
        if (o + plen + 2 > size)
            return -1;
        if (piece)
            memcpy(out + o, piece, plen);
        else
            out[o] = *c;
        o += plen;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}
