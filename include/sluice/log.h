/* SPDX-License-Identifier: Apache-2.0 */
/* The error log: syslog-graded levels, one line per event, safe from every thread. Secrets (keys,
 * passwords, private keys, tokens) must never be passed to these functions. */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>
#include <stdatomic.h>

enum sl_log_level {
    SL_LOG_EMERG = 0,
    SL_LOG_ALERT,
    SL_LOG_CRIT,
    SL_LOG_ERR,
    SL_LOG_WARN,
    SL_LOG_NOTICE,
    SL_LOG_INFO,
    SL_LOG_DEBUG,
    SL_LOG_MAX
};

/* Parses Kong's level names (debug, info, notice, warn, error, crit, alert, emerg). -1 if unknown.
 */
int sl_log_level_parse(const char *name);
const char *sl_log_level_name(enum sl_log_level level);

/* Sends the log to <path> (opened for append; "off" discards; NULL or "stderr" is stderr).
 * Returns 0, or -1 with errno set (the log is unchanged). Call before threads start or from the
 * control thread; threads writing meanwhile never see a closed descriptor (core/log_file.h). */
int sl_log_open(const char *path);
/* As sl_log_open with <fd> already opened by sl_log_file_open (reload opens every file before
 * it switches any); takes ownership of <fd>. */
void sl_log_use(int fd, const char *path);
/* Reopens the same file (after rotation, on USR1). */
int sl_log_reopen(void);
void sl_log_set_level(enum sl_log_level level);
/* Sends what the calling thread logs to <lf> (core/log_file.h) instead of the error log, until it
 * calls again with NULL. The Admin and Status servers set it while they serve a connection, so
 * that what they log goes to admin_error_log / status_error_log, as nginx's per-server error_log
 * does; a destination that is off (fd -1) drops those lines. <lf> outlives the routing. */
struct sl_log_file;
void sl_log_route_thread(struct sl_log_file *lf);
/* Written by the control thread on reload, read by every thread: atomic (relaxed: a line logged
 * at the old level around a reload is fine, a torn or cached value is not). */
extern _Atomic int sl_log_current_level;

void sl_log_write(enum sl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sl_log_vwrite(enum sl_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The level test is inline so that disabled debug lines cost one comparison. */
#define sl_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((int)(level) <= atomic_load_explicit(&sl_log_current_level, memory_order_relaxed)) {   \
            sl_log_write((level), __VA_ARGS__);                                                    \
        }                                                                                          \
    } while (0)

/* The command line's own output for --v and --vv (Kong's kong/cmd/utils/log.lua), apart from the
 * error log above: lines on stdout, `YYYY/MM/DD HH:MM:SS [verbose] ...` or `[debug] ...`. */
enum sl_cli_level {
    SL_CLI_INFO = 0, /* neither flag: only the command's own messages */
    SL_CLI_VERBOSE,  /* --v */
    SL_CLI_DEBUG,    /* --vv: verbose lines and debug lines */
};

void sl_cli_log_set_level(enum sl_cli_level level);
enum sl_cli_level sl_cli_log_level(void);
/* Prints the line when the command runs at <level> or above (SL_CLI_VERBOSE or SL_CLI_DEBUG). */
void sl_cli_log(enum sl_cli_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The command's own message (`Sluice started`, `configuration at ... is valid`) on stdout, one
 * line: bare, or under --v/--vv with Kong's `YYYY/MM/DD HH:MM:SS [info] ` in front
 * (kong/cmd/utils/log.lua stamps every line once the level is below info). */
void sl_cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* To call after an `Error: ...` line: Kong's `Run with --v (verbose) or --vv (debug) for more
 * details` on stderr, which Kong leaves out once either flag is given. */
void sl_cli_log_error_hint(void);

/* Memory-safety invariant: abort even in release builds. */
#define SL_BUG_ON(cond)                                                                            \
    do {                                                                                           \
        if (__builtin_expect(!!(cond), 0)) {                                                       \
            sl_log_write(SL_LOG_CRIT, "BUG at %s:%d: %s", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
