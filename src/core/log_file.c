/* SPDX-License-Identifier: Apache-2.0 */
/* Log destinations switched with dup2 (log_file.h says why). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log_file.h"

int
sl_log_file_open(const char *path)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, "off") == 0 ||
        strcmp(path, "/dev/null") == 0) {
        return SL_LOG_FILE_OFF;
    }
    if (strcmp(path, "stderr") == 0) {
        return fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
    }
    if (strcmp(path, "stdout") == 0) {
        return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    }
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

void
sl_log_file_set(struct sl_log_file *lf, int fd, const char *path)
{
    snprintf(lf->path, sizeof(lf->path), "%s", path ? path : "stderr");
    if (fd < 0) {
        /* Off. The owned descriptor stays open (a writer may hold its number) and is reused by
         * the next switch. */
        atomic_store_explicit(&lf->fd, -1, memory_order_relaxed);
        return;
    }
    if (lf->own < 0) {
        lf->own = fd;
    } else if (fd != lf->own) {
        while (dup3(fd, lf->own, O_CLOEXEC) < 0 && errno == EINTR) {
        }
        close(fd);
    }
    atomic_store_explicit(&lf->fd, lf->own, memory_order_relaxed);
}

int
sl_log_file_reopen(struct sl_log_file *lf)
{
    if (lf->path[0] == '\0') {
        return 0;
    }
    int fd = sl_log_file_open(lf->path);
    if (fd == -1) {
        return -1;
    }
    char path[sizeof(lf->path)];
    memcpy(path, lf->path, sizeof(path));
    sl_log_file_set(lf, fd, path);
    return 0;
}
