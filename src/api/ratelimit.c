/* ratelimit.c - token buckets in a fixed open-addressed table (see ratelimit.h). */
#include <math.h>
#include <pthread.h>

#include "ratelimit.h"

#define SLOTS 4096
#define PROBES 8

typedef struct slot {
    uint64_t identity;
    int used;
    double tokens;
    uint64_t at_ns;
} slot;

static slot table[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double rate_per_s;
static double burst_size;

void api_ratelimit_configure(double rate, double burst)
{
    rate_per_s = rate;
    burst_size = burst >= 1 ? burst : (rate >= 1 ? rate : 1);
}

static double refilled(const slot *s, uint64_t now_ns)
{
    uint64_t dt = now_ns > s->at_ns ? now_ns - s->at_ns : 0;
    double t = s->tokens + (double)dt / 1e9 * rate_per_s;

    return t > burst_size ? burst_size : t;
}

int api_ratelimit_take(uint64_t identity, uint64_t now_ns, unsigned *retry_after_s)
{
    slot *s = NULL;
    int allowed = 1;

    if (rate_per_s <= 0)
        goto out;
    pthread_mutex_lock(&lock);
    for (unsigned p = 0; p < PROBES && !s; p++) {
        slot *c = &table[(identity * 0x9E3779B97F4A7C15ull + p) % SLOTS];
        if (c->used && c->identity == identity)
            s = c;
    }
    for (unsigned p = 0; p < PROBES && !s; p++) {
        slot *c = &table[(identity * 0x9E3779B97F4A7C15ull + p) % SLOTS];
        if (!c->used || refilled(c, now_ns) >= burst_size) {
            s = c;
            s->used = 1;
            s->identity = identity;
            s->tokens = burst_size;
            s->at_ns = now_ns;
        }
    }
    if (!s) /* every probe slot busy: share the first one rather than refuse blindly */
        s = &table[(identity * 0x9E3779B97F4A7C15ull) % SLOTS];
    s->tokens = refilled(s, now_ns);
    if (now_ns > s->at_ns)
        s->at_ns = now_ns;
    if (s->tokens >= 1) {
        s->tokens -= 1;
    } else {
        double wait = (1 - s->tokens) / rate_per_s;
        *retry_after_s = (unsigned)ceil(wait < 1 ? 1 : wait);
        allowed = 0;
    }
    pthread_mutex_unlock(&lock);
out:
    return allowed;
}
