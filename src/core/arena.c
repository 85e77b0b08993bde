/* SPDX-License-Identifier: Apache-2.0 */
/* Region allocator (include/sluice/arena.h). Blocks are chained; a request that needs more than the
 * block size gets a dedicated block, so a few large allocations do not waste a block each. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/arena.h"

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_BLOCK 4096

struct block {
    struct block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    sl_arena_cleanup_fn fn;
    void *data;
};

struct sl_arena {
    struct block *head; /* current block; first block is the last of the chain */
    struct cleanup *cleanups;
    size_t block_size;
    size_t used_total;
};

static struct block *
block_new(size_t size)
{
    struct block *b = malloc(sizeof(*b) + size);
    if (b == NULL) {
        return NULL;
    }
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct sl_arena *
sl_arena_create(size_t block_size)
{
    struct sl_arena *a = malloc(sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
    a->head = block_new(a->block_size);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    a->cleanups = NULL;
    a->used_total = 0;
    return a;
}

static void
run_cleanups(struct sl_arena *a)
{
    while (a->cleanups != NULL) {
        struct cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->data); /* the cleanup record itself lives in the arena */
    }
}

void
sl_arena_destroy(struct sl_arena *a)
{
    if (a == NULL) {
        return;
    }
    run_cleanups(a);
    struct block *b = a->head;
    while (b != NULL) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void
sl_arena_reset(struct sl_arena *a)
{
    run_cleanups(a);
    struct block *b = a->head;
    while (b->next != NULL) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->used_total = 0;
}

void *
sl_arena_alloc(struct sl_arena *a, size_t size)
{
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < size) {
        return NULL; /* overflow */
    }
    struct block *b = a->head;
    if (b->size - b->used < need) {
        if (need > a->block_size / 4) {
            /* Large: a block of its own, linked behind the current one so the current block's
             * free space stays usable. */
            struct block *big = block_new(need);
            if (big == NULL) {
                return NULL;
            }
            big->used = need;
            big->next = b->next;
            b->next = big;
            a->used_total += need;
            return big->data;
        }
        struct block *nb = block_new(a->block_size);
        if (nb == NULL) {
            return NULL;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used_total += need;
    return p;
}

void *
sl_arena_calloc(struct sl_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = sl_arena_alloc(a, n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

char *
sl_arena_strndup(struct sl_arena *a, const char *s, size_t len)
{
    char *p = sl_arena_alloc(a, len + 1);
    if (p == NULL) {
        return NULL;
    }
    if (len) {
        memcpy(p, s, len);
    }
    p[len] = '\0';
    return p;
}

char *
sl_arena_strdup(struct sl_arena *a, const char *s)
{
    return sl_arena_strndup(a, s, strlen(s));
}

char *
sl_arena_sprintf(struct sl_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *p = sl_arena_alloc(a, (size_t)n + 1);
    if (p == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int
sl_arena_add_cleanup(struct sl_arena *a, sl_arena_cleanup_fn fn, void *data)
{
    struct cleanup *c = sl_arena_alloc(a, sizeof(*c));
    if (c == NULL) {
        return -1;
    }
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t
sl_arena_used(const struct sl_arena *a)
{
    return a->used_total;
}
