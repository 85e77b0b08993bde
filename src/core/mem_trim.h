/* SPDX-License-Identifier: Apache-2.0 */
/* Gives memory back to the kernel after a burst. glibc keeps the pages of freed heap memory (in
 * every thread's arena) for reuse, so after thousands of concurrent connections have come and gone
 * the process's RSS stays at its peak. nginx's per-connection pools have the same effect; Sluice
 * asks glibc to release whole free pages (malloc_trim) once a burst is over. */
#ifndef SL_MEM_TRIM_H
#define SL_MEM_TRIM_H

#include <stdbool.h>
#include <stddef.h>

/* RSS growth over the last baseline that makes a trim worth its cost (malloc_trim walks every
 * free chunk of every arena, holding each arena's lock in turn). */
#define SL_MEM_TRIM_GROWTH (32u << 20)

/* Bytes of configuration freed (sl_mem_note_config) that make a trim worth its cost. Snapshots are
 * built in arenas whose blocks come from the heap: when a large configuration is replaced by a
 * smaller one, its pages stay with the process until a trim. */
#define SL_MEM_TRIM_FREED (8u << 20)

struct sl_mem_trim {
    size_t base_rss;         /* RSS after the last trim (or at the first tick) */
    size_t peak_rss;         /* most RSS since then (the kernel's high-water mark) */
    unsigned long long peak; /* most client connections since then */
    long long config_peak;   /* most configuration bytes alive at a tick since the last trim */
};

/* Notes a configuration snapshot of <bytes> published (<freed> false) or freed (true): the
 * checks follow the bytes of configuration alive (snapshots published and not yet freed). Any
 * thread. */
void sl_mem_note_config(size_t bytes, bool freed);

/* Starts the checks: the baselines are the RSS and the configuration alive now (before the first
 * connection, after the first configuration is published). */
void sl_mem_trim_init(struct sl_mem_trim *t);

/* One periodic check (control thread, every few seconds), with the number of open client
 * connections and the most there were since the previous check (a burst may come and go between
 * two checks; its RSS peak is the kernel's high-water mark, reset at each check): trims when RSS
 * has grown by SL_MEM_TRIM_GROWTH since the baseline (at its peak: glibc may give part of a burst's
 * memory back by itself before the burst is seen to be over, and what it keeps is still worth
 * returning) and some of it is still held, and the connections have fallen to at most half their
 * peak (the burst is over: trimming during it would only make the workers fault the pages back in),
 * or when the configuration alive is SL_MEM_TRIM_FREED bytes below its peak at the ticks since the
 * last trim (a configuration replaced by a much smaller one left free heap pages nothing will reuse
 * soon; one replaced by another of the same size did not). The RSS after a trim is the new
 * baseline, so growth that a trim cannot return (a larger configuration) does not trigger it again.
 * Returns true when it trimmed. */
bool sl_mem_trim_tick(struct sl_mem_trim *t, unsigned long long connections,
                      unsigned long long connections_peak);

/* The process's resident set size in bytes, from /proc/self/statm (0 if unreadable). */
size_t sl_mem_rss(void);

#endif
