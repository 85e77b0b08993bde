/* SPDX-License-Identifier: Apache-2.0 */
/* Connection byte buffers (buf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"

size_t
sl_buf_reserve(struct sl_buf *b, size_t want, size_t max_cap)
{
    if (b->off > 0 && (b->cap - b->len < want)) {
        size_t pending = b->len - b->off;
        memmove(b->data, b->data + b->off, pending);
        b->off = 0;
        b->len = pending;
    }
    size_t free_bytes = b->cap - b->len;
    if (free_bytes >= want || b->cap >= max_cap) {
        return free_bytes;
    }
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap - b->len < want && ncap < max_cap) {
        ncap *= 2;
    }
    if (ncap > max_cap) {
        ncap = max_cap;
    }
    char *nd = realloc(b->data, ncap);
    if (nd == NULL) {
        return (size_t)-1;
    }
    b->data = nd;
    b->cap = ncap;
    return b->cap - b->len;
}

int
sl_buf_append(struct sl_buf *b, const void *p, size_t len, size_t max_cap)
{
    size_t got = sl_buf_reserve(b, len, max_cap);
    if (got == (size_t)-1 || got < len) {
        return -1;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

int
sl_buf_appendf(struct sl_buf *b, size_t max_cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -1;
    }
    size_t got = sl_buf_reserve(b, (size_t)n + 1, max_cap);
    if (got == (size_t)-1 || got < (size_t)n + 1) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void
sl_buf_consume(struct sl_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = b->len = 0;
    }
}

void
sl_buf_release_if_empty(struct sl_buf *b)
{
    if (b->data != NULL && b->off == b->len) {
        free(b->data);
        b->data = NULL;
        b->off = b->len = b->cap = 0;
    }
}

void
sl_buf_free(struct sl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

ssize_t
sl_buf_recv(struct sl_buf *b, int fd, size_t max_cap)
{
    size_t room = sl_buf_reserve(b, 16384, max_cap);
    if (room == (size_t)-1) {
        errno = ENOMEM;
        return -1;
    }
    if (room == 0) {
        errno = ENOBUFS;
        return -1;
    }
    ssize_t n;
    do {
        n = recv(fd, b->data + b->len, room, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        b->len += (size_t)n;
    }
    return n;
}

ssize_t
sl_buf_write_fd(struct sl_buf *b, int fd)
{
    size_t pending = b->len - b->off;
    if (pending == 0) {
        return 0;
    }
    ssize_t n;
    do {
        n = send(fd, b->data + b->off, pending, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        sl_buf_consume(b, (size_t)n);
    }
    return n;
}
