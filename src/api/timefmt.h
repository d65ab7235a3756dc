/* timefmt.h - wall-clock milliseconds and their RFC 3339 form, the one time format of the API. */
#ifndef KIVO_API_TIMEFMT_H
#define KIVO_API_TIMEFMT_H

#include <stdint.h>

#define API_TIME_TEXT_MAX 64

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t api_now_ms(void);

/* Monotonic nanoseconds, for latencies. */
uint64_t api_mono_ns(void);

/* "2026-05-09T12:00:00.000Z" for ms since the epoch, in UTC. */
void api_time_format(int64_t ms, char out[API_TIME_TEXT_MAX]);

#endif
