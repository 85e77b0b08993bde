/* SPDX-License-Identifier: Apache-2.0 */
/* Files a session keeps bytes in when memory would have to hold too many: the unlinked temporary
 * files of the proxy (a buffered request body, request.c; a response read ahead of a slow client,
 * below), and the client's output stream with its spool.
 *
 * Response buffering (Kong's route.response_buffering, default true; nginx proxy_buffering on):
 * the upstream is read as fast as it sends, whatever the client's pace, so that a slow client does
 * not hold an upstream connection (and the upstream's worker behind it) for as long as it takes to
 * download. Bytes go to the client buffer (s->out) while it holds less than one high-water mark;
 * beyond that they are appended to an unlinked file under <prefix>/proxy_temp, at most
 * SL_RESP_SPOOL_MAX bytes (nginx proxy_max_temp_file_size), and the client is fed from the file
 * as it reads. Unlike nginx, nothing is held back while the client keeps up: a byte that arrives
 * is sent at once (nginx holds a partly filled buffer, which delays event streams), so the only
 * difference buffering makes is how far the upstream may run ahead. With response_buffering off
 * the upstream is read at the client's pace, one high-water mark ahead (backpressure).
 *
 * Ordering: once the spool holds unread bytes, every new byte goes behind them into the file, and
 * s->out is refilled from the file only when it is empty; so the client gets the bytes in the
 * order they came. The spool belongs to the connection, not to a request: a finished response may
 * still be draining from it while its upstream connection is back in the pool, and the next
 * pipelined request waits until it is empty (session.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proxy/session.h"
#include "sluice/log.h"

int
sl_proxy_temp_open(const char *prefix, const char *dirname)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", prefix, dirname) >= sizeof(dir) - 8) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && mkdir(dir, 0700) == 0) {
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    }
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) {
        return fd;
    }
    char path[sizeof(dir) + 8];
    snprintf(path, sizeof(path), "%s/XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC); /* 0600 */
    if (fd >= 0) {
        unlink(path);
    }
    return fd;
}

int
sl_proxy_write_all(int fd, const void *p, size_t n)
{
    const char *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the client's output: s->out, then the spool ------------------------------------------- */

/* Closes the file (drained, or not needed); `failed` and the tail stay with the response. */
static void
spool_close_file(struct sl_session *s)
{
    if (s->spool.open) {
        close(s->spool.fd);
    }
    s->spool.fd = 0;
    s->spool.open = false;
    s->spool.rd = s->spool.wr = 0;
}

/* The file could not take <iov>: the pieces are kept in memory behind its bytes, and the spool is
 * marked failed, so that the upstream is read at the client's pace from now on (the response is
 * not cut short, as nginx cuts it when its temporary file cannot be written). 0, -1 when out of
 * memory. */
static int
spool_keep_in_memory(struct sl_session *s, const struct iovec *iov, int n, int write_errno)
{
    if (!s->spool.failed) {
        sl_log(SL_LOG_ERR,
               "cannot write the buffered response to %s/proxy_temp: %s; the rest of the "
               "response follows the client's pace, request_id: \"%s\"",
               s->settings->conf.prefix, strerror(write_errno), s->request_id);
        s->spool.failed = true;
    }
    for (int i = 0; i < n; i++) {
        if (sl_buf_append(&s->spool.tail, iov[i].iov_base, iov[i].iov_len, SIZE_MAX) < 0) {
            return -1;
        }
    }
    return 0;
}

int
sl_session_out_reserve(struct sl_session *s)
{
    if (!sl_session_out_room(s)) {
        return 0;
    }
    if (sl_buf_pending(&s->out) < SL_PROXY_HIGH_WATER && !sl_session_out_spooled(s)) {
        return 1;
    }
    if (!s->spool.open) {
        int fd = sl_proxy_temp_open(s->settings->conf.prefix, "proxy_temp");
        if (fd < 0) {
            /* Nothing was written yet: the response goes on at the client's pace. */
            sl_log(SL_LOG_WARN,
                   "cannot buffer the response in %s/proxy_temp: %s; reading the upstream at "
                   "the client's pace, request_id: \"%s\"",
                   s->settings->conf.prefix, strerror(errno), s->request_id);
            s->spool.failed = true;
            return 0;
        }
        s->spool = (struct sl_spool){.fd = fd, .open = true};
    }
    return 1;
}

int
sl_session_out_add(struct sl_session *s, const struct iovec *iov, int n)
{
    /* Behind unread spooled bytes, or past the mark with a spool ready (out_reserve), the bytes
     * go to the file; else to memory (a response's last chunk may pass the mark there). */
    if (!sl_session_out_spooled(s) &&
        !(s->spool.open && sl_buf_pending(&s->out) >= SL_PROXY_HIGH_WATER)) {
        /* A spool opened for bytes that produced nothing (a chunk header, the last chunk, a
         * trailer) is empty here: it is closed, or an idle keep-alive connection would hold it
         * until the next burst or the close. (Only an open one: `failed` must stay, or a
         * response whose file cannot be made would try, and warn, again at every mark.) */
        if (s->spool.open) {
            spool_close_file(s);
        }
        for (int i = 0; i < n; i++) {
            if (sl_buf_append(&s->out, iov[i].iov_base, iov[i].iov_len, SIZE_MAX) < 0) {
                return -1;
            }
        }
        return 0;
    }
    /* Once bytes are kept in memory behind the file, every later byte goes behind them. */
    if (sl_buf_pending(&s->spool.tail) > 0 || !s->spool.open) {
        return spool_keep_in_memory(s, iov, n, 0);
    }
    /* sl_session_out_reserve() opened the spool. One append is all or nothing: a short write is
     * cut off again, so that the file holds whole pieces and the rest can follow from memory. */
    off_t at = (off_t)s->spool.wr;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    if (lseek(s->spool.fd, at, SEEK_SET) < 0) {
        return spool_keep_in_memory(s, iov, n, errno);
    }
    for (int i = 0; i < n; i++) {
        if (sl_proxy_write_all(s->spool.fd, iov[i].iov_base, iov[i].iov_len) < 0) {
            int e = errno;
            if (ftruncate(s->spool.fd, at) < 0) {
                /* the offsets still say what the file holds */
            }
            return spool_keep_in_memory(s, iov, n, e);
        }
    }
    s->spool.wr += total;
    return 0;
}

int
sl_session_out_refill(struct sl_session *s)
{
    if (sl_buf_pending(&s->out) > 0 || !sl_session_out_spooled(s)) {
        return 0;
    }
    if (!s->spool.open || s->spool.rd == s->spool.wr) {
        /* The file is drained: the bytes it had no room for come next. s->out is empty, so it
         * takes the tail's memory whole, and its own goes (an idle connection keeps none). */
        spool_close_file(s);
        sl_buf_free(&s->out);
        s->out = s->spool.tail;
        s->spool.tail = (struct sl_buf){0};
        return 1;
    }
    uint64_t left = s->spool.wr - s->spool.rd;
    size_t want = left < SL_PROXY_HIGH_WATER ? (size_t)left : SL_PROXY_HIGH_WATER;
    if (sl_buf_reserve(&s->out, want, SIZE_MAX) == (size_t)-1) {
        return -1;
    }
    ssize_t got = pread(s->spool.fd, s->out.data + s->out.len, want, (off_t)s->spool.rd);
    if (got <= 0) {
        if (got == 0) {
            errno = EIO; /* the file is shorter than what was written to it */
        }
        return -1;
    }
    s->out.len += (size_t)got;
    s->spool.rd += (uint64_t)got;
    if (s->spool.rd == s->spool.wr) {
        /* Drained: the disk space goes back at once; a later burst opens a new file. */
        spool_close_file(s);
    }
    return 1;
}

void
sl_session_out_release(struct sl_session *s)
{
    spool_close_file(s);
    sl_buf_free(&s->spool.tail);
    s->spool = (struct sl_spool){0};
}
