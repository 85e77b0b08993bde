/* SPDX-License-Identifier: Apache-2.0 */
/* Region allocator: one per request and one per config snapshot (style.md §3.5). Nothing allocated
 * from an arena is freed on its own; everything goes when the arena is reset or destroyed. Cleanups
 * let an arena own outside resources (a pcre2 code, an SSL_CTX): they run, last registered first,
 * on destroy. An arena is used by one thread at a time. */
#ifndef SL_ARENA_H
#define SL_ARENA_H

#include <stddef.h>

#include "sluice/str.h"

struct sl_arena;

typedef void (*sl_arena_cleanup_fn)(void *data);

/* Creates an arena whose blocks are <block_size> bytes (0: a 4 KiB default). NULL on ENOMEM. */
struct sl_arena *sl_arena_create(size_t block_size);
/* Frees every block and runs the cleanups. Accepts NULL. */
void sl_arena_destroy(struct sl_arena *a);
/* Keeps the first block, frees the rest, runs the cleanups: the arena is as new. */
void sl_arena_reset(struct sl_arena *a);

/* <size> bytes aligned to 16, or NULL on ENOMEM. Large sizes get a block of their own. */
void *sl_arena_alloc(struct sl_arena *a, size_t size);
/* As sl_arena_alloc, zero-filled. */
void *sl_arena_calloc(struct sl_arena *a, size_t n, size_t size);
/* A NUL-terminated copy of <len> bytes at <s>, or NULL on ENOMEM. */
char *sl_arena_strndup(struct sl_arena *a, const char *s, size_t len);
char *sl_arena_strdup(struct sl_arena *a, const char *s);
/* printf into the arena; NULL on ENOMEM. */
char *sl_arena_sprintf(struct sl_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Registers <fn>(<data>) to run when the arena is destroyed or reset. -1 on ENOMEM (fn is not run).
 */
int sl_arena_add_cleanup(struct sl_arena *a, sl_arena_cleanup_fn fn, void *data);
/* Bytes handed out so far (for limits and stats). */
size_t sl_arena_used(const struct sl_arena *a);

#endif
