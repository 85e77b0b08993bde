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

#include "core/log_file.h"
#include "sluice/log.h"

_Atomic int sl_log_current_level = SL_LOG_NOTICE;

/* Starts as stderr (not owned: the first file set gets a descriptor of its own). */
static struct sl_log_file error_log = SL_LOG_FILE_INIT(STDERR_FILENO);

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

int
sl_log_open(const char *path)
{
    int fd = sl_log_file_open(path);
    if (fd == -1) {
        return -1;
    }
    sl_log_use(fd, path);
    return 0;
}

void
sl_log_use(int fd, const char *path)
{
    sl_log_file_set(&error_log, fd, path);
}

int
sl_log_reopen(void)
{
    return sl_log_file_reopen(&error_log);
}

void
sl_log_set_level(enum sl_log_level level)
{
    atomic_store_explicit(&sl_log_current_level, (int)level, memory_order_relaxed);
}

static __thread struct sl_log_file *thread_route;

void
sl_log_route_thread(struct sl_log_file *lf)
{
    thread_route = lf;
}

void
sl_log_vwrite(enum sl_log_level level, const char *fmt, va_list ap)
{
    int fd = sl_log_file_fd(thread_route != NULL ? thread_route : &error_log);
    if (fd < 0) {
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
    /* Never let a CR or LF from the message split the line (log injection), nor another control
     * byte (ESC sequences) reach a terminal reading the log: each becomes a space. */
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            line[i] = ' ';
        }
    }
    line[n++] = '\n';
    ssize_t w = write(fd, line, (size_t)n);
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

/* The CLI's --v/--vv output (sluice/log.h). Set once, from main, before anything is printed. */
static enum sl_cli_level cli_level = SL_CLI_INFO;

void
sl_cli_log_set_level(enum sl_cli_level level)
{
    cli_level = level;
}

enum sl_cli_level
sl_cli_log_level(void)
{
    return cli_level;
}

/* One line on stdout, after Kong's CLI prefix `YYYY/MM/DD HH:MM:SS [<level>] ` unless <level> is
 * NULL. Flushed at once: a foreground `start` keeps stdout open (and buffered, to a file or a
 * pipe) for the life of the server, and the lines must come out in order with the errors on
 * stderr. */
static void __attribute__((format(printf, 2, 0)))
print_cli_line(const char *level, const char *fmt, va_list ap)
{
    if (level != NULL) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
        printf("%s [%s] ", stamp, level);
    }
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

void
sl_cli_log(enum sl_cli_level level, const char *fmt, ...)
{
    if (level == SL_CLI_INFO || level > cli_level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    print_cli_line(level == SL_CLI_DEBUG ? "debug" : "verbose", fmt, ap);
    va_end(ap);
}

void
sl_cli_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_cli_line(cli_level != SL_CLI_INFO ? "info" : NULL, fmt, ap);
    va_end(ap);
}

void
sl_cli_log_error_hint(void)
{
    if (cli_level == SL_CLI_INFO) {
        fputs("\n  Run with --v (verbose) or --vv (debug) for more details\n", stderr);
    }
}
