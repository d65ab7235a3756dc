/* test_rng.h - the engine tests' random numbers: xorshift64, so every run draws the same inputs
 * and a failure can be replayed from its seed. */
#ifndef KIVO_TEST_RNG_H
#define KIVO_TEST_RNG_H

#include <stdint.h>

static inline uint64_t test_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
