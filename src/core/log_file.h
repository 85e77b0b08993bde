/* SPDX-License-Identifier: Apache-2.0 */
/* A log destination shared by every thread (the error log, the access log) that can be pointed at
 * another file while threads write to it: on rotation (USR1) and on reload (HUP).
 *
 * Writers load the descriptor once per line and write(2) to it. A switch never closes that
 * descriptor: the new file is dup2()'d onto it, which the kernel does atomically, so a writer that
 * loaded the number a moment before writes either to the old file or to the new one, never to a
 * closed descriptor or to a socket that reused its number. */
#ifndef SL_LOG_FILE_H
#define SL_LOG_FILE_H

#include <stdatomic.h>

#define SL_LOG_FILE_OFF (-2) /* sl_log_file_open: the path turns the log off */

struct sl_log_file {
    _Atomic int fd; /* what writers use; -1 while the log is off */
    int own;        /* the descriptor switches dup2() onto (-1 until the first file is set) */
    char path[4096];
};

#define SL_LOG_FILE_INIT(initial_fd)                                                               \
    {                                                                                              \
        .fd = (initial_fd), .own = -1, .path = ""                                                  \
    }

/* Opens <path> for appending: "off" and "/dev/null" give SL_LOG_FILE_OFF; "stderr" and "stdout"
 * give a duplicate of that stream; anything else is opened (created 0644) with O_APPEND. Returns
 * the new descriptor (the caller owns it until sl_log_file_set), SL_LOG_FILE_OFF, or -1 with errno
 * set. Opening before switching lets a reload fail whole, before anything changed. */
int sl_log_file_open(const char *path);

/* Makes <lf> write to <fd> (from sl_log_file_open, ownership passes here), or turns it off for
 * SL_LOG_FILE_OFF, and remembers <path> for sl_log_file_reopen. Control thread (or before threads
 * start). */
void sl_log_file_set(struct sl_log_file *lf, int fd, const char *path);

/* Opens the remembered path again (log rotation). Returns 0, or -1 with errno set (the log then
 * goes on writing to the file it had). */
int sl_log_file_reopen(struct sl_log_file *lf);

/* The descriptor to write one line to, or -1 when the log is off. Any thread. */
static inline int
sl_log_file_fd(struct sl_log_file *lf)
{
    return atomic_load_explicit(&lf->fd, memory_order_relaxed);
}

#endif
