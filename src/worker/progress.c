/*
 * progress.c - the batch's signs of life on stderr (progress.h). The bar redraws one line at most
 * ten times a second; the lines for logs are whole lines (a log keeps every one), far apart.
 */
#include <stdio.h>
#include <time.h>

#include "progress.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wk_progress_duration(double s, char out[16])
{
    /* Under 100 days: the longest form, "2399h59m", fits. */
    unsigned t = s > 0 && s < 8.64e6 ? (unsigned)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, 16, "%uh%02um", t / 3600 % 10000, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, 16, "%um%02us", t / 60 % 60, t % 60);
    else
        snprintf(out, 16, "%us", t % 60);
}

void wk_progress_start(wk_progress *p, wk_progress_mode mode, double interval, int verbose,
                       uint64_t total_bytes, const char *const *files, size_t n_files)
{
    p->mode = mode;
    p->verbose = verbose;
    p->interval = interval > 0 ? interval : WK_PROGRESS_INTERVAL;
    p->total = total_bytes;
    p->start = p->last = now();
    p->files = files;
    p->n_files = n_files;
    p->file = 0;
    p->file_read = p->file_rejected = 0;
}

static void line(const wk_progress *p, double t, uint64_t bytes, uint64_t records)
{
    double el = t - p->start > 1e-6 ? t - p->start : 1e-6;
    double mbs = (double)bytes / el / 1e6;
    char eta[16] = "?", spent[16];
    /* Compressed inputs count decompressed bytes against their file sizes: no ETA past 100%. */
    if (p->total && bytes <= p->total && bytes > 0)
        wk_progress_duration((double)(p->total - bytes) / ((double)bytes / el), eta);
    wk_progress_duration(el, spent);
    fprintf(stderr,
            "kivo-worker: progress: %llu records (%.0f/s), %.1f of %.1f MB (%.0f%%), "
            "%.1f MB/s, %s elapsed, ETA %s\n",
            (unsigned long long)records, (double)records / el, (double)bytes / 1e6,
            (double)p->total / 1e6,
            p->total ? 100.0 * (double)(bytes < p->total ? bytes : p->total) / (double)p->total
                     : 100.0,
            mbs, spent, eta);
}

static void bar(const wk_progress *p, double t, uint64_t bytes, uint64_t records)
{
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

void wk_progress_update(wk_progress *p, uint64_t bytes, uint64_t records)
{
    if (p->mode == WK_PROGRESS_OFF)
        return;
    double t = now();
    if (t - p->last < (p->mode == WK_PROGRESS_BAR ? 0.1 : p->interval))
        return;
    p->last = t;
    if (p->mode == WK_PROGRESS_BAR)
        bar(p, t, bytes, records);
    else
        line(p, t, bytes, records);
}

void wk_progress_file(wk_progress *p, size_t file, uint64_t read, uint64_t rejected)
{
    for (; p->file < file && p->file < p->n_files; p->file++) {
        if (p->verbose) {
            if (p->mode == WK_PROGRESS_BAR)
                fputs("\r\033[K", stderr);
            fprintf(stderr,
                    "kivo-worker: read %s (%zu/%zu): %llu records, %llu reviewed, "
                    "%llu rejected\n",
                    p->files[p->file], p->file + 1, p->n_files,
                    (unsigned long long)(read - p->file_read),
                    (unsigned long long)(read - p->file_read - (rejected - p->file_rejected)),
                    (unsigned long long)(rejected - p->file_rejected));
        }
        p->file_read = read;
        p->file_rejected = rejected;
    }
}

void wk_progress_finish(wk_progress *p, uint64_t read, uint64_t rejected)
{
    if (p->mode == WK_PROGRESS_BAR)
        fputs("\r\033[K", stderr);
    wk_progress_file(p, p->n_files, read, rejected);
}
