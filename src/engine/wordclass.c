/*
 * wordclass.c - the tokenizer's byte classes (wordclass_int.h), 64 bytes a step with AVX-512BW,
 * two 32-byte halves with AVX2, or a byte at a time.
 *
 * A class is a range test: (byte - first) as an unsigned byte is at most (last - first).
 * AVX-512BW compares into mask registers and loads and stores the tail under a mask, which never
 * touches bytes outside s[0, n); AVX2 moves the sign bits of its compares out with movemask and
 * classifies the tail from a zeroed copy, so neither reads past the text. The functions carry
 * target attributes, so the library still builds for baseline x86-64 (as scan.c).
 */
#include <string.h>

#include "cpu.h"
#include "wordclass_int.h"

static void fill_scalar(kv_wordclass *wc, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 64) {
        const size_t m = n - i < 64 ? n - i : 64;
        uint64_t alnum = 0, digit = 0, upper = 0, high = 0, inner = 0;
        for (size_t k = 0; k < m; k++) {
            const unsigned char c = s[i + k];
            const uint64_t bit = 1ULL << k;
            const int d = c >= '0' && c <= '9', u = c >= 'A' && c <= 'Z', l = c >= 'a' && c <= 'z';
            digit |= d ? bit : 0;
            upper |= u ? bit : 0;
            alnum |= (d | u | l) ? bit : 0;
            high |= c >= 0x80 ? bit : 0;
            inner |= c == ',' || c == '.' || c == '\'' ? bit : 0;
            wc->fold[i + k] = (unsigned char)(u ? c | 0x20 : c);
        }
        wc->alnum[i / 64] = alnum;
        wc->digit[i / 64] = digit;
        wc->upper[i / 64] = upper;
        wc->high[i / 64] = high;
        wc->inner[i / 64] = inner;
    }
}

#ifdef KV_CPU_X86
/* Bytes of v in [first, first + span] as 0xFF lanes. */
__attribute__((target("avx2"))) static inline __m256i range_avx2(__m256i v, char first, char span)
{
    const __m256i x = _mm256_sub_epi8(v, _mm256_set1_epi8(first));
    return _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(span)), x);
}

/* One 64-byte block at p (all readable) into word w. */
__attribute__((target("avx2"))) static inline void
block_avx2(kv_wordclass *wc, size_t w, const unsigned char *p, unsigned char *fold)
{
    uint64_t alnum = 0, digit = 0, upper = 0, high = 0, inner = 0;
    for (int h = 0; h < 2; h++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * h));
        const __m256i d = range_avx2(v, '0', 9), u = range_avx2(v, 'A', 25),
                      l = range_avx2(v, 'a', 25);
        const __m256i a = _mm256_or_si256(d, _mm256_or_si256(u, l));
        const int sh = 32 * h;
        digit |= (uint64_t)(uint32_t)_mm256_movemask_epi8(d) << sh;
        upper |= (uint64_t)(uint32_t)_mm256_movemask_epi8(u) << sh;
        alnum |= (uint64_t)(uint32_t)_mm256_movemask_epi8(a) << sh;
        high |= (uint64_t)(uint32_t)_mm256_movemask_epi8(v) << sh;
        const __m256i in =
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(',')),
                                            _mm256_cmpeq_epi8(v, _mm256_set1_epi8('.'))),
                            _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\'')));
        inner |= (uint64_t)(uint32_t)_mm256_movemask_epi8(in) << sh;
        _mm256_storeu_si256((__m256i *)(void *)(fold + 32 * h),
                            _mm256_add_epi8(v, _mm256_and_si256(u, _mm256_set1_epi8(0x20))));
    }
    wc->alnum[w] = alnum;
    wc->digit[w] = digit;
    wc->upper[w] = upper;
    wc->high[w] = high;
    wc->inner[w] = inner;
}

__attribute__((target("avx2"))) static void fill_avx2(kv_wordclass *wc, const unsigned char *s,
                                                      size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        block_avx2(wc, i / 64, s + i, wc->fold + i);
    if (i < n) {
        /* The tail from a zeroed copy: a 0 byte is in no class. */
        unsigned char tmp[64], fold[64];
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, s + i, n - i);
        block_avx2(wc, i / 64, tmp, fold);
        memcpy(wc->fold + i, fold, n - i);
    }
}

__attribute__((target("avx512f,avx512bw"))) static void
fill_avx512(kv_wordclass *wc, const unsigned char *s, size_t n)
{
    const __m512i c0 = _mm512_set1_epi8('0'), cA = _mm512_set1_epi8('A'),
                  ca = _mm512_set1_epi8('a'), n9 = _mm512_set1_epi8(9), n25 = _mm512_set1_epi8(25),
                  x20 = _mm512_set1_epi8(0x20);
    for (size_t i = 0; i < n; i += 64) {
        /* Lanes past n load as 0, in no class, and are not stored. */
        const __mmask64 in = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
        const __m512i v = _mm512_maskz_loadu_epi8(in, s + i);
        const __mmask64 d = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, c0), n9);
        const __mmask64 u = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, cA), n25);
        const __mmask64 l = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, ca), n25);
        wc->alnum[i / 64] = d | u | l;
        wc->digit[i / 64] = d;
        wc->upper[i / 64] = u;
        wc->high[i / 64] = _mm512_movepi8_mask(v);
        wc->inner[i / 64] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(',')) |
                            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.')) |
                            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\''));
        _mm512_mask_storeu_epi8(wc->fold + i, in, _mm512_mask_add_epi8(v, u, v, x20));
    }
}
#endif

kv_wordclass_fill_fn kv_wordclass_fill_at(kivo_scan_level level)
{
#ifdef KV_CPU_X86
    if (level == KIVO_SCAN_AVX512 && kv_cpu_has(KIVO_SCAN_AVX512))
        return fill_avx512;
    if (level == KIVO_SCAN_AVX2 && kv_cpu_has(KIVO_SCAN_AVX2))
        return fill_avx2;
#else
    (void)level;
#endif
    return fill_scalar;
}

kv_wordclass_fill_fn kv_wordclass_fill(void)
{
    /* kivo_scan_level_used() names a path this CPU has. */
    switch (kivo_scan_level_used()) {
#ifdef KV_CPU_X86
    case KIVO_SCAN_AVX512: return fill_avx512;
    case KIVO_SCAN_AVX2: return fill_avx2;
#endif
    default: return fill_scalar;
    }
}
