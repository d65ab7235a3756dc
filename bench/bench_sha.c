/*
 * bench_sha.c - SHA-256 throughput of kivo_hasher against one-shot EVP_Digest().
 *
 * kivo_hasher fetches the digest once and reuses one EVP_MD_CTX; EVP_Digest() with EVP_sha256()
 * makes a context and looks the digest up on every call. The gap is per call, so it is measured
 * at the sizes Kivo hashes: 64 B (a short answer), 1 KiB and 64 KiB (typical outputs and
 * sources), 1 MiB (a large source), on 1 thread and on N threads with one hasher per thread made
 * before the parallel region, as the worker does. MB/s is bytes hashed by all threads over wall
 * time; the median of RUNS timed runs after one warm-up.
 *
 * A third column, "raw", calls the low-level SHA256_Init/Update/Final (deprecated in OpenSSL 3,
 * used here only as a floor): the gap to it is what EVP's dispatch costs per call.
 *
 * Before timing anything it checks a known answer ("abc") and that all three ways give the same
 * digest at every size.
 *
 * Usage: bench_sha [THREADS [RUNS]]   (THREADS defaults to the OpenMP maximum, RUNS to 5)
 */
/* The raw SHA256_* calls are deprecated in OpenSSL 3; they are only the baseline here. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "benchlib.h"
#include "kivo/hash.h"

#define MAX_RUNS 101
#define MAX_THREADS 1024

static const size_t sizes[] = {64, 1024, 64 * 1024, 1024 * 1024};
static const char *const size_names[] = {"64 B", "1 KiB", "64 KiB", "1 MiB"};

/* Calls per run at `size`: enough bytes that a run takes tens of milliseconds. */
static size_t calls_for(size_t size)
{
    const size_t total = size < 4096 ? (size_t)32 << 20 : (size_t)128 << 20;
    return total / size;
}

enum way { WAY_HASHER, WAY_ONESHOT, WAY_RAW };

/* One SHA-256 of data[0..size) the low-level way. @return 1 on success, as OpenSSL does. */
static int raw_sha256(const unsigned char *data, size_t size, unsigned char *d)
{
    SHA256_CTX c;
    return SHA256_Init(&c) == 1 && SHA256_Update(&c, data, size) == 1 && SHA256_Final(d, &c) == 1;
}

/*
 * Hashes data[0..size) `calls` times, split over `threads`, the `way` given; WAY_HASHER uses
 * hashers[thread]. @return wall seconds, or -1 on failure.
 */
static double hash_run(const unsigned char *data, size_t size, size_t calls, int threads,
                       enum way way, kivo_hasher **hashers)
{
    int failed = 0;
    const double t0 = bench_now();
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        const int id = omp_get_thread_num();
        const int n = omp_get_num_threads();
        const size_t from = calls * (size_t)id / (size_t)n;
        const size_t to = calls * (size_t)(id + 1) / (size_t)n;
        unsigned char d[KIVO_SHA256_SIZE];
        for (size_t i = from; i < to; i++) {
            if (way == WAY_HASHER) {
                if (kivo_hasher_sha256(hashers[id], data, size, d) != KIVO_OK)
                    failed = 1;
            } else if (way == WAY_ONESHOT) {
                if (EVP_Digest(data, size, d, NULL, EVP_sha256(), NULL) != 1)
                    failed = 1;
            } else if (raw_sha256(data, size, d) != 1) {
                failed = 1;
            }
        }
    }
    const double t = bench_now() - t0;
    return failed ? -1.0 : t;
}

/* Median MB/s of `runs` runs after one warm-up, or -1 on failure. */
static double mbps(const unsigned char *data, size_t size, int threads, enum way way,
                   kivo_hasher **hashers, int runs)
{
    double t[MAX_RUNS];
    const size_t calls = calls_for(size);
    for (int i = -1; i < runs; i++) {
        const double s = hash_run(data, size, calls, threads, way, hashers);
        if (s < 0)
            return -1.0;
        if (i >= 0)
            t[i] = s;
    }
    qsort(t, (size_t)runs, sizeof t[0], bench_cmp_double);
    const double med = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2.0;
    return (double)calls * (double)size / med / 1e6;
}

/* Known answer, and kivo_hasher == EVP_Digest() == raw at every size. @return 0 when so. */
static int check(kivo_hasher *h, const unsigned char *data)
{
    static const char abc[] =
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    char text[KIVO_HASH_TEXT_SIZE];
    unsigned char a[KIVO_SHA256_SIZE], b[KIVO_SHA256_SIZE], c[KIVO_SHA256_SIZE];

    if (kivo_hasher_sha256_text(h, "abc", 3, text) != KIVO_OK || strcmp(text, abc) != 0)
        return -1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (kivo_hasher_sha256(h, data, sizes[i], a) != KIVO_OK ||
            EVP_Digest(data, sizes[i], b, NULL, EVP_sha256(), NULL) != 1 ||
            raw_sha256(data, sizes[i], c) != 1 || memcmp(a, b, sizeof a) != 0 ||
            memcmp(a, c, sizeof a) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    kivo_hasher *hashers[MAX_THREADS] = {NULL};
    unsigned char *data = NULL;
    int rc = 1;
    const int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    const int runs = argc > 2 ? atoi(argv[2]) : 5;
    const size_t max_size = sizes[sizeof sizes / sizeof sizes[0] - 1];

    if (argc > 3 || threads < 1 || threads > MAX_THREADS || runs < 1 || runs >= MAX_RUNS) {
        fprintf(stderr, "usage: %s [THREADS (1..%d) [RUNS (1..%d)]]\n", argv[0], MAX_THREADS,
                MAX_RUNS - 1);
        return 2;
    }
    data = malloc(max_size);
    if (!data)
        goto out;
    /* Seeded bytes: SHA-256 speed does not depend on them, but runs stay reproducible. */
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < max_size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (unsigned char)(x >> 24);
    }
    for (int i = 0; i < threads; i++) {
        if (kivo_hasher_create(&hashers[i]) != KIVO_OK)
            goto out;
    }
    if (check(hashers[0], data) != 0) {
        fprintf(stderr, "bench_sha: SHA-256 known-answer or cross check FAILED\n");
        goto out;
    }

    printf("bench_sha: SHA-256 MB/s (1e6 bytes/s), %d threads, median of %d runs after 1 warm-up, "
           "load average %.2f\n",
           threads, runs, bench_load_average());
    printf("%-7s %10s %11s %8s %9s %10s %11s %8s %6s\n", "size", "hasher 1T", "one-shot 1T",
           "raw 1T", "ns/call", "hasher NT", "one-shot NT", "raw NT", "NT/1T");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const size_t size = sizes[i];
        const double h1 = mbps(data, size, 1, WAY_HASHER, hashers, runs);
        const double o1 = mbps(data, size, 1, WAY_ONESHOT, NULL, runs);
        const double r1 = mbps(data, size, 1, WAY_RAW, NULL, runs);
        const double hn = mbps(data, size, threads, WAY_HASHER, hashers, runs);
        const double on = mbps(data, size, threads, WAY_ONESHOT, NULL, runs);
        const double rn = mbps(data, size, threads, WAY_RAW, NULL, runs);
        if (h1 < 0 || o1 < 0 || r1 < 0 || hn < 0 || on < 0 || rn < 0) {
            fprintf(stderr, "bench_sha: OpenSSL failed\n");
            goto out;
        }
        printf("%-7s %10.1f %11.1f %8.1f %9.1f %10.1f %11.1f %8.1f %5.2fx\n", size_names[i], h1, o1,
               r1, (double)size / h1 * 1e3, hn, on, rn, hn / h1);
    }
    printf("hasher = kivo_hasher_sha256() (fetched EVP_MD, reused EVP_MD_CTX); "
           "one-shot = EVP_Digest(..., EVP_sha256(), NULL);\n"
           "raw = SHA256_Init/Update/Final (no EVP); ns/call and NT/1T are the hasher's\n");
    rc = 0;
out:
    for (int i = 0; i < threads && i < MAX_THREADS; i++)
        kivo_hasher_free(hashers[i]);
    free(data);
    return rc;
}
