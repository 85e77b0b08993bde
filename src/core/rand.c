/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread xoshiro256** generator for request ids; seeded from the kernel once per thread. */
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/rand.h"

static __thread uint64_t state[4];
static __thread int seeded;

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void
seed(void)
{
    if (getrandom(state, sizeof(state), 0) != (ssize_t)sizeof(state)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state[0] = (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15ull;
        state[1] = (uint64_t)ts.tv_sec * 0xbf58476d1ce4e5b9ull;
        state[2] = (uint64_t)getpid() ^ 0x94d049bb133111ebull;
        state[3] = (uint64_t)(uintptr_t)&ts;
    }
    seeded = 1;
}

uint64_t
sl_rand64(void)
{
    if (!seeded) {
        seed();
    }
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

void
sl_request_id(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = sl_rand64(), b = sl_rand64();
    for (int i = 0; i < 16; i++) {
        out[i] = hex[(a >> (i * 4)) & 0xf];
        out[16 + i] = hex[(b >> (i * 4)) & 0xf];
    }
    out[32] = '\0';
}
