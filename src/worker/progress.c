/* progress.c - redraws one stderr line at most ten times a second. */
#include <stdio.h>
#include <time.h>

#include "progress.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wk_progress_start(wk_progress *p, int on, uint64_t total_bytes)
{
    p->on = on;
    p->total = total_bytes;
    p->start = p->last = now();
}

void wk_progress_update(wk_progress *p, uint64_t bytes, uint64_t records)
{
    if (!p->on)
        return;
    double t = now();
    if (t - p->last < 0.1)
        return;
    p->last = t;
    double el = t - p->start > 1e-6 ? t - p->start : 1e-6;
    double frac = p->total ? (double)bytes / (double)p->total : 1.0;
    double mbs = (double)bytes / el / 1e6;
    double eta = mbs > 0 && p->total > bytes ? (double)(p->total - bytes) / 1e6 / mbs : 0;
    int width = 30, fill = (int)(frac * width + 0.5);
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++)
        fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %3.0f%%  %llu records  %.0f rec/s  %.1f MB/s  ETA %.0fs ", frac * 100,
            (unsigned long long)records, (double)records / el, mbs, eta);
    fflush(stderr);
}

void wk_progress_finish(wk_progress *p)
{
    if (p->on)
        fputs("\r\033[K", stderr);
}
