/*
 * scan.c - kivo_scan_find(): the first byte of a small set in a buffer, 64 or 32 bytes a step.
 *
 * Each vector path compares a block against every byte of the set, ORs the results into one
 * mask and takes its lowest set bit; the tail shorter than a vector goes to the scalar loop, so
 * no path reads past the buffer. The path is picked once from CPUID (cpu.h) and the functions
 * carry target attributes, so the library itself builds for baseline x86-64.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "kivo/scan.h"

void kivo_byteset_init(kivo_byteset *set, const void *bytes, size_t n)
{
    const unsigned char *b = bytes;
    memset(set, 0, sizeof *set);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (set->member[c >> 6] & (1ULL << (c & 63)))
            continue;
        if (set->n == KIVO_SCAN_SET_MAX)
            abort(); /* a programming error: sets are constants of the callers */
        set->member[c >> 6] |= 1ULL << (c & 63);
        set->bytes[set->n++] = c;
    }
}

static size_t find_scalar(const kivo_byteset *set, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set->member[p[i] >> 6] & (1ULL << (p[i] & 63)))
            return i;
    return n;
}

#ifdef KV_CPU_X86
__attribute__((target("avx2"))) static size_t find_avx2(const kivo_byteset *set,
                                                        const unsigned char *p, size_t n)
{
    __m256i want[KIVO_SCAN_SET_MAX];
    size_t i = 0;
    for (int k = 0; k < set->n; k++)
        want[k] = _mm256_set1_epi8((char)set->bytes[k]);
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i hit = _mm256_cmpeq_epi8(v, want[0]);
        for (int k = 1; k < set->n; k++)
            hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(v, want[k]));
        unsigned m = (unsigned)_mm256_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    return i + find_scalar(set, p + i, n - i);
}

__attribute__((target("avx512f,avx512bw"))) static size_t
find_avx512(const kivo_byteset *set, const unsigned char *p, size_t n)
{
    __m512i want[KIVO_SCAN_SET_MAX];
    size_t i = 0;
    for (int k = 0; k < set->n; k++)
        want[k] = _mm512_set1_epi8((char)set->bytes[k]);
    for (; i + 64 <= n; i += 64) {
        __m512i v = _mm512_loadu_si512((const void *)(p + i));
        __mmask64 m = _mm512_cmpeq_epi8_mask(v, want[0]);
        for (int k = 1; k < set->n; k++)
            m |= _mm512_cmpeq_epi8_mask(v, want[k]);
        if (m)
            return i + (size_t)__builtin_ctzll(m);
    }
    return i + find_scalar(set, p + i, n - i);
}
#endif

static kivo_scan_level pick(void)
{
    const char *want = getenv("KIVO_SCAN");
    kivo_scan_level best = kv_cpu_has(KIVO_SCAN_AVX512) ? KIVO_SCAN_AVX512
                           : kv_cpu_has(KIVO_SCAN_AVX2) ? KIVO_SCAN_AVX2
                                                        : KIVO_SCAN_SCALAR;
    if (want) {
        for (int l = KIVO_SCAN_SCALAR; l <= KIVO_SCAN_AVX512; l++)
            if (strcmp(want, kivo_scan_level_name((kivo_scan_level)l)) == 0 &&
                kv_cpu_has((kivo_scan_level)l))
                return (kivo_scan_level)l;
    }
    return best;
}

kivo_scan_level kivo_scan_level_used(void)
{
    /* Racing first calls compute the same value; the relaxed atomics keep TSan and UBSan quiet. */
    static int level = -1;
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        l = (int)pick();
        __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    }
    return (kivo_scan_level)l;
}

const char *kivo_scan_level_name(kivo_scan_level level)
{
    switch (level) {
    case KIVO_SCAN_AVX512: return "avx512";
    case KIVO_SCAN_AVX2: return "avx2";
    default: return "scalar";
    }
}

size_t kivo_scan_find_at(kivo_scan_level level, const kivo_byteset *set, const void *p, size_t n)
{
#ifdef KV_CPU_X86
    if (level == KIVO_SCAN_AVX512 && kv_cpu_has(KIVO_SCAN_AVX512))
        return find_avx512(set, p, n);
    if (level == KIVO_SCAN_AVX2 && kv_cpu_has(KIVO_SCAN_AVX2))
        return find_avx2(set, p, n);
#else
    (void)level;
#endif
    return find_scalar(set, p, n);
}

size_t kivo_scan_find(const kivo_byteset *set, const void *p, size_t n)
{
    switch (kivo_scan_level_used()) {
#ifdef KV_CPU_X86
    case KIVO_SCAN_AVX512: return find_avx512(set, p, n);
    case KIVO_SCAN_AVX2: return find_avx2(set, p, n);
#endif
    default: return find_scalar(set, p, n);
    }
}
