/* testhook.c - KIVO_WORKER_TEST_KILL (see testhook.h). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testhook.h"

static int state; /* 0 unread, 1 off, 2 armed */
static char point[64];
static long at;
static long seen;
static int sig = SIGKILL;

void wk_test_point(const char *name)
{
    int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    if (s == 1)
        return;
    if (s == 0) {
        /* Read once; a race between two first callers reads the same variable twice. */
        const char *v = getenv("KIVO_WORKER_TEST_KILL");
        const char *colon = v ? strchr(v, ':') : NULL;
        const char *third = colon ? strchr(colon + 1, ':') : NULL;
        if (third && strcmp(third + 1, "TERM") == 0)
            sig = SIGTERM;
        else if (third && strcmp(third + 1, "INT") == 0)
            sig = SIGINT;
        if (!colon || (size_t)(colon - v) >= sizeof point || (at = atol(colon + 1)) <= 0) {
            __atomic_store_n(&state, 1, __ATOMIC_RELEASE);
            return;
        }
        memcpy(point, v, (size_t)(colon - v));
        point[colon - v] = '\0';
        __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
    }
    if (strcmp(point, name) == 0 && __atomic_add_fetch(&seen, 1, __ATOMIC_RELAXED) == at)
        kill(getpid(), sig);
}
