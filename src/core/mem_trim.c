/* SPDX-License-Identifier: Apache-2.0 */
/* Returning freed heap pages after a burst (mem_trim.h). */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "core/mem_trim.h"
#include "sluice/log.h"

size_t
sl_mem_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long size = 0, resident = 0;
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static atomic_llong config_bytes; /* configuration alive: published less freed */

void
sl_mem_note_config(size_t bytes, bool freed)
{
    long long n = (long long)bytes;
    atomic_fetch_add_explicit(&config_bytes, freed ? -n : n, memory_order_relaxed);
}

void
sl_mem_trim_init(struct sl_mem_trim *t)
{
    t->base_rss = sl_mem_rss();
    t->peak_rss = t->base_rss;
    t->peak = 0;
    t->config_peak = atomic_load_explicit(&config_bytes, memory_order_relaxed);
}

bool
sl_mem_trim_tick(struct sl_mem_trim *t, unsigned long long connections)
{
    long long config = atomic_load_explicit(&config_bytes, memory_order_relaxed);
    if (config > t->config_peak) {
        t->config_peak = config;
    }
    size_t rss = sl_mem_rss();
    if (rss == 0) {
        return false;
    }
    if (t->base_rss == 0 || rss < t->base_rss) {
        t->base_rss = rss; /* first tick, or memory went back by itself */
    }
    if (rss > t->peak_rss) {
        t->peak_rss = rss;
    }
    if (connections > t->peak) {
        t->peak = connections;
    }
    bool burst_over = t->peak_rss - t->base_rss >= SL_MEM_TRIM_GROWTH && rss > t->base_rss &&
                      connections <= t->peak / 2;
    bool config_freed = t->config_peak - config >= (long long)SL_MEM_TRIM_FREED;
    if (!burst_over && !config_freed) {
        return false;
    }
    malloc_trim(0);
    size_t after = sl_mem_rss();
    sl_log(SL_LOG_INFO, "memory: returned %zu KiB to the system after %s (RSS %zu KiB)",
           (rss - (after < rss ? after : rss)) / 1024,
           burst_over ? "a burst" : "a configuration change", after / 1024);
    t->base_rss = after ? after : rss;
    t->peak_rss = t->base_rss;
    t->peak = connections;
    t->config_peak = config;
    return true;
}
