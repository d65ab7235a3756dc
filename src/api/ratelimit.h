/*
 * ratelimit.h - per-token request budgets (token buckets), answered 429 with Retry-After.
 *
 * A fixed table of slots keyed by a 64-bit identity (an API key's row, a run's row), so memory
 * stays constant however many tokens call. A slot is taken over only when its owner's bucket has
 * refilled completely, i.e. it has been idle long enough that forgetting it changes nothing.
 */
#ifndef KIVO_API_RATELIMIT_H
#define KIVO_API_RATELIMIT_H

#include <stdint.h>

/* Sets the budget: `rate` requests per second, bursts of `burst`. rate <= 0 disables limiting. */
void api_ratelimit_configure(double rate, double burst);

/* Takes one request from identity's bucket at monotonic time now_ns.
 * @return 1 when allowed; 0 when limited, with *retry_after_s (>= 1) set. */
int api_ratelimit_take(uint64_t identity, uint64_t now_ns, unsigned *retry_after_s);

#endif
