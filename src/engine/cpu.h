/*
 * cpu.h - which of the engine's vector paths (kivo/scan.h's levels) this CPU can run, for the
 * dispatchers of scan.c and wordclass.c.
 *
 * CPUID is read through __builtin_cpu_supports, so the library builds for baseline x86-64: the
 * AVX2 and AVX-512BW functions carry target attributes and run only where this says they may.
 * KV_CPU_X86 is defined where those paths exist at all (x86-64 with GCC or clang).
 */
#ifndef KIVO_CPU_H
#define KIVO_CPU_H

#include "kivo/scan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KV_CPU_X86 1
#include <immintrin.h>
#endif

/* 1 when this CPU runs the path of level: the scalar one always, AVX2 and AVX-512 (F and BW)
 * when CPUID has them; else 0. Cheap after the first call; the dispatchers cache the level. */
static inline int kv_cpu_has(kivo_scan_level level)
{
#ifdef KV_CPU_X86
    __builtin_cpu_init();
    if (level == KIVO_SCAN_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (level == KIVO_SCAN_AVX2)
        return __builtin_cpu_supports("avx2");
#endif
    return level == KIVO_SCAN_SCALAR;
}

#endif
