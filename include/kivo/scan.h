/*
 * scan.h - vectorized byte scanning with runtime CPU dispatch (AVX-512BW, AVX2, scalar).
 *
 * The hot loops that look for a few kinds of byte in long text (sentence ends in sources, the
 * bytes an HTML data block must escape) ask kivo_scan_find() for the next one instead of testing
 * every byte. Every path gives the same answer as the scalar one; tests/engine/test_scan.c checks
 * that on random and adversarial input, and KIVO_SCAN=scalar|avx2|avx512 in the environment pins
 * a path (for tests and benchmarks; an unsupported choice falls back to the best available).
 */
#ifndef KIVO_SCAN_H
#define KIVO_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define KIVO_SCAN_SET_MAX 8

/* A set of 1 to KIVO_SCAN_SET_MAX distinct byte values. */
typedef struct kivo_byteset {
    unsigned char bytes[KIVO_SCAN_SET_MAX];
    int n;
    uint64_t member[4]; /* bit b set when byte b is in the set (the scalar path) */
} kivo_byteset;

typedef enum kivo_scan_level {
    KIVO_SCAN_SCALAR = 0,
    KIVO_SCAN_AVX2,
    KIVO_SCAN_AVX512,
} kivo_scan_level;

/* Makes a set of the n bytes at bytes (1 <= n <= KIVO_SCAN_SET_MAX; duplicates are fine). */
void kivo_byteset_init(kivo_byteset *set, const void *bytes, size_t n);

/* Offset of the first byte of p[0, n) that is in set, or n when there is none. Reads only
 * p[0, n). Thread-safe. */
size_t kivo_scan_find(const kivo_byteset *set, const void *p, size_t n);

/* The same with a given path (tests and benchmarks); a level the CPU lacks runs the scalar one. */
size_t kivo_scan_find_at(kivo_scan_level level, const kivo_byteset *set, const void *p, size_t n);

/* The path kivo_scan_find() uses on this CPU, and its name ("avx512", "avx2", "scalar"). */
kivo_scan_level kivo_scan_level_used(void);
const char *kivo_scan_level_name(kivo_scan_level level);

#endif
