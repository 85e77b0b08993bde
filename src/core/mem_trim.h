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

/* Bytes of configuration freed (sl_mem_note_freed) that make a trim worth its cost. Snapshots are
 * built in arenas whose blocks come from the heap: when a large configuration is replaced by a
 * smaller one, its pages stay with the process until a trim. */
#define SL_MEM_TRIM_FREED (8u << 20)

struct sl_mem_trim {
    size_t base_rss;         /* RSS after the last trim (or at the first tick) */
    unsigned long long peak; /* most client connections seen at a tick since then */
    size_t freed;            /* noted freed bytes since the last trim */
};

/* Notes that <bytes> of long-lived memory were freed (a configuration snapshot no one holds any
 * more). Any thread. */
void sl_mem_note_freed(size_t bytes);

/* One periodic check (control thread, every few seconds), with the number of open client
 * connections: trims when RSS has grown by SL_MEM_TRIM_GROWTH since the baseline and the
 * connections have fallen to at most half their peak (the burst is over: trimming during it would
 * only make the workers fault the pages back in), or when SL_MEM_TRIM_FREED bytes of
 * configuration were freed since the last trim (whatever the traffic: that memory is not coming
 * back). The RSS after a trim is the new baseline, so
 * growth that a trim cannot return (a larger configuration) does not trigger it again. Returns
 * true when it trimmed. */
bool sl_mem_trim_tick(struct sl_mem_trim *t, unsigned long long connections);

/* The process's resident set size in bytes, from /proc/self/statm (0 if unreadable). */
size_t sl_mem_rss(void);

#endif
