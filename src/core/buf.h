/* SPDX-License-Identifier: Apache-2.0 */
/* Byte buffers for connection I/O: a contiguous region with a read offset, grown on demand up to a
 * hard cap so that no peer can make one connection use unbounded memory. */
#ifndef SL_CORE_BUF_H
#define SL_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sl_buf {
    char *data; /* malloc'd, owned; NULL until first use */
    size_t off; /* first unread byte */
    size_t len; /* end of valid bytes (data[off..len) is pending) */
    size_t cap; /* allocated bytes */
};

static inline size_t
sl_buf_pending(const struct sl_buf *b)
{
    return b->len - b->off;
}

static inline const char *
sl_buf_head(const struct sl_buf *b)
{
    return b->data + b->off;
}

/* Makes room for at least <want> free bytes at the tail, compacting first and growing up to
 * <max_cap> bytes in all. Returns the free bytes available (may be less than <want> at the cap; 0
 * when full), or (size_t)-1 on ENOMEM. */
size_t sl_buf_reserve(struct sl_buf *b, size_t want, size_t max_cap);
/* Appends <len> bytes; -1 on ENOMEM or if it would exceed <max_cap>. */
int sl_buf_append(struct sl_buf *b, const void *p, size_t len, size_t max_cap);
/* printf-append; -1 on failure. */
int sl_buf_appendf(struct sl_buf *b, size_t max_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks <n> pending bytes consumed; resets to empty when all are. */
void sl_buf_consume(struct sl_buf *b, size_t n);
/* Drops the memory when the buffer is empty, so idle connections hold none. */
void sl_buf_release_if_empty(struct sl_buf *b);
void sl_buf_free(struct sl_buf *b);

/* recv(2) from socket <fd> into the tail (at most <max_cap> total): recv rather than read, so the
 * kernel goes straight to the socket (no file-position lock) on every client and upstream read.
 * Returns bytes read, 0 on EOF, -1 with errno (EAGAIN included); ENOBUFS when the buffer is at
 * its cap. */
ssize_t sl_buf_recv(struct sl_buf *b, int fd, size_t max_cap);
/* write(2) pending bytes and consume what was written; returns bytes written or -1 with errno. */
ssize_t sl_buf_write_fd(struct sl_buf *b, int fd);

#endif
