/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/mem_trim.c's decision: trim once RSS has grown by SL_MEM_TRIM_GROWTH and
 * the connections have fallen to half their peak, or once enough configuration memory was freed;
 * the RSS after a trim is the new baseline. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem_trim.h"

#define CHUNKS 4096
#define CHUNK (16u << 10) /* under glibc's mmap threshold: heap memory that free() keeps */

static void *chunks[CHUNKS];

static void
grow(void)
{
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i] = malloc(CHUNK);
        cr_assert_not_null(chunks[i]);
        memset(chunks[i], 0x5a, CHUNK); /* resident */
    }
}

/* Frees all but the last chunk: as after a burst, a live allocation above the freed memory keeps
 * free() from shrinking the heap by itself, so only a trim returns the pages. */
static void
release(void)
{
    for (int i = 0; i < CHUNKS - 1; i++) {
        free(chunks[i]);
    }
}

Test(mem_trim, no_trim_without_growth)
{
    struct sl_mem_trim t = {.base_rss = sl_mem_rss()};
    cr_assert_gt(t.base_rss, 0);
    cr_assert_not(sl_mem_trim_tick(&t, 0, 0));
}

Test(mem_trim, no_trim_while_the_burst_goes_on_then_once_after)
{
    struct sl_mem_trim t = {.base_rss = sl_mem_rss()};
    grow();
    cr_assert_geq(sl_mem_rss() - t.base_rss, SL_MEM_TRIM_GROWTH, "64 MiB touched");
    cr_assert_not(sl_mem_trim_tick(&t, 1000, 1000), "connections at their peak: no trim");
    cr_assert_not(sl_mem_trim_tick(&t, 600, 600), "still above half the peak");
    release();
    cr_assert(sl_mem_trim_tick(&t, 400, 400), "burst over: trim");
    cr_assert_not(sl_mem_trim_tick(&t, 0, 0), "the new baseline: nothing more to do");
    free(chunks[CHUNKS - 1]);
}

/* glibc gave part of the burst's memory back by itself before the tick that sees the burst over:
 * what is still held (here half the runner's RSS, under SL_MEM_TRIM_GROWTH) is returned all the
 * same, since RSS grew by more at its peak. Seen in test_memory.py: 91 MB at the peak, 36 MB
 * left, no trim. */
Test(mem_trim, trims_after_a_burst_partly_returned_by_glibc)
{
    size_t rss = sl_mem_rss();
    struct sl_mem_trim t = {.base_rss = rss / 2};
    cr_assert_lt(rss - t.base_rss, SL_MEM_TRIM_GROWTH, "held now: less than the trigger");
    t.peak_rss = t.base_rss + (80u << 20); /* seen at a tick during the burst */
    t.peak = 1000;
    cr_assert(sl_mem_trim_tick(&t, 0, 0), "the burst is over: the rest is returned");
    cr_assert_eq(t.peak_rss, t.base_rss, "the peak starts again from the new baseline");
    cr_assert_not(sl_mem_trim_tick(&t, 0, 0), "once");
}

Test(mem_trim, freed_configuration_trims_whatever_the_traffic)
{
    sl_mem_note_config(4 * SL_MEM_TRIM_FREED, false); /* a large configuration at the start */
    struct sl_mem_trim t;
    sl_mem_trim_init(&t);
    sl_mem_note_config(SL_MEM_TRIM_FREED / 4, false); /* replaced by a small one */
    sl_mem_note_config(4 * SL_MEM_TRIM_FREED, true);
    cr_assert(sl_mem_trim_tick(&t, 1000, 1000), "a large configuration freed: trim under traffic");
    cr_assert_not(sl_mem_trim_tick(&t, 1000, 1000), "counted once");
    sl_mem_note_config(SL_MEM_TRIM_FREED / 4, true);
    cr_assert_not(sl_mem_trim_tick(&t, 1000, 1000), "under SL_MEM_TRIM_FREED: not worth a trim");
}

Test(mem_trim, configuration_replaced_by_one_as_large_does_not_trim)
{
    struct sl_mem_trim t = {.base_rss = sl_mem_rss()};
    sl_mem_note_config(4 * SL_MEM_TRIM_FREED, false);
    cr_assert_not(sl_mem_trim_tick(&t, 10, 10));
    for (int i = 0; i < 4; i++) { /* Admin API writes on a large configuration */
        sl_mem_note_config(4 * SL_MEM_TRIM_FREED, false);
        sl_mem_note_config(4 * SL_MEM_TRIM_FREED, true);
        cr_assert_not(sl_mem_trim_tick(&t, 10, 10), "the new snapshot reuses the freed memory");
    }
    sl_mem_note_config(4 * SL_MEM_TRIM_FREED, true);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* A burst that comes and goes between two checks: no check saw its connections or its RSS, and
 * glibc returned the top of the heap by itself, so RSS now is under SL_MEM_TRIM_GROWTH above the
 * baseline. The connections' peak (kept by the workers) and the kernel's RSS high-water mark
 * still show it, and what glibc keeps below the live chunk is returned. */
Test(mem_trim, trims_after_a_burst_between_two_checks)
{
    if (UNDER_ASAN) {
        /* its allocator holds freed chunks in quarantine: glibc's heap is not the one measured */
        cr_skip_test("glibc's heap behaviour; not under AddressSanitizer");
    }
    struct sl_mem_trim t;
    sl_mem_trim_init(&t);
    cr_assert_not(sl_mem_trim_tick(&t, 10, 10));
    grow();
    size_t keep = CHUNKS / 4; /* held below it: a quarter of the burst */
    for (size_t i = 0; i < CHUNKS; i++) {
        if (i != keep) {
            free(chunks[i]);
        }
    }
    cr_assert_lt(sl_mem_rss() - t.base_rss, SL_MEM_TRIM_GROWTH,
                 "glibc returned the top of the heap: RSS now is under the trigger");
    cr_assert(sl_mem_trim_tick(&t, 10, 1000), "the burst was seen between the checks: trim");
    cr_assert_not(sl_mem_trim_tick(&t, 10, 10), "once: the peaks start again after a trim");
    free(chunks[keep]);
}
