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

/* The most RSS since the last call, in bytes: the kernel's high-water mark (VmHWM), then reset
 * (writing 5 to clear_refs, Linux >= 4.0) so the next call sees the peak from now on. A burst
 * that comes and goes between two checks is seen this way, where RSS sampled at the checks
 * misses it. 0 until a reset has worked once: before that the mark is the process's peak since
 * it started (the first configuration's load), not a burst's. */
static size_t
take_rss_peak(void)
{
    static bool reset_works;
    size_t kb = 0;
    char line[128];
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1) {
            break;
        }
    }
    fclose(f);
    bool measured_since_a_reset = reset_works;
    FILE *c = fopen("/proc/self/clear_refs", "we");
    if (c != NULL) {
        bool written = fputs("5", c) >= 0;
        if (fclose(c) == 0 && written) {
            reset_works = true;
        }
    }
    return measured_since_a_reset ? kb * 1024 : 0;
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
    (void)take_rss_peak(); /* the peaks count from here */
}

bool
sl_mem_trim_tick(struct sl_mem_trim *t, unsigned long long connections,
                 unsigned long long connections_peak)
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
    size_t rss_peak = take_rss_peak();
    if (rss_peak < rss) {
        rss_peak = rss;
    }
    if (rss_peak > t->peak_rss) {
        t->peak_rss = rss_peak;
    }
    if (connections_peak < connections) {
        connections_peak = connections; /* the workers' peak and this count are read apart */
    }
    if (connections_peak > t->peak) {
        t->peak = connections_peak;
    }
    bool burst_over = t->peak_rss - t->base_rss >= SL_MEM_TRIM_GROWTH && rss > t->base_rss &&
                      connections <= t->peak / 2;
    bool config_freed = t->config_peak - config >= (long long)SL_MEM_TRIM_FREED;
    if (!burst_over && !config_freed) {
        return false;
    }
    malloc_trim(0);
    /* the high-water mark was reset above, before the trim: reset it again, or the next check
     * reads this check's pre-trim RSS as a new peak and trims again as soon as RSS is one page
     * above <after> */
    (void)take_rss_peak();
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
