/* SPDX-License-Identifier: Apache-2.0 */
/* The error log. Each line is formatted into a local buffer and written with one write(2) on an
 * O_APPEND descriptor, so lines from different threads never interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sluice/log.h"

enum sl_log_level sl_log_current_level = SL_LOG_NOTICE;

static int log_fd = STDERR_FILENO;
static char log_path[4096];

static const char *const level_names[SL_LOG_MAX] = {
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
};

int
sl_log_level_parse(const char *name)
{
    for (int i = 0; i < SL_LOG_MAX; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
sl_log_level_name(enum sl_log_level level)
{
    return (unsigned)level < SL_LOG_MAX ? level_names[level] : "?";
}

static int
open_path(const char *path)
{
    if (path == NULL || strcmp(path, "stderr") == 0) {
        return STDERR_FILENO;
    }
    if (strcmp(path, "off") == 0 || strcmp(path, "/dev/null") == 0) {
        return -1;
    }
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

int
sl_log_open(const char *path)
{
    int fd = open_path(path);
    if (fd < 0 && path != NULL && strcmp(path, "off") != 0 && strcmp(path, "/dev/null") != 0) {
        return -1;
    }
    int old = log_fd;
    log_fd = fd;
    if (old > STDERR_FILENO) {
        close(old);
    }
    snprintf(log_path, sizeof(log_path), "%s", path ? path : "stderr");
    return 0;
}

int
sl_log_reopen(void)
{
    if (log_path[0] == '\0') {
        return 0;
    }
    char path[sizeof(log_path)];
    memcpy(path, log_path, sizeof(path));
    return sl_log_open(path);
}

void
sl_log_set_level(enum sl_log_level level)
{
    sl_log_current_level = level;
}

void
sl_log_vwrite(enum sl_log_level level, const char *fmt, va_list ap)
{
    if (log_fd < 0) {
        return;
    }
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " [%s] %d: ", sl_log_level_name(level),
                  (int)getpid());
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0) {
        m = 0;
    }
    n += m;
    if ((size_t)n > sizeof(line) - 2) {
        n = (int)sizeof(line) - 2; /* truncated: keep the newline */
    }
    /* Never let a CR or LF from the message split the line (log injection). */
    for (int i = 0; i < n; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' ';
        }
    }
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

void
sl_log_write(enum sl_log_level level, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    sl_log_vwrite(level, fmt, ap);
    va_end(ap);
    errno = saved;
}
