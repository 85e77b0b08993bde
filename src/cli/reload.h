/* SPDX-License-Identifier: Apache-2.0 */
/* Reload (SIGHUP, `sluice reload`; docs/configuration.md §1.6): re-reads sluice.conf and applies
 * every value a running process can change (proxy and Admin listeners, the Admin certificates,
 * limits, timeouts, headers, trusted_ips, logs, keep-alive pools, the resolver's settings and
 * hosts file, log_level) with the configuration it serves (declarative file or database), in one
 * step: the new files and sockets are opened and the new snapshot compiled first, and anything
 * failing leaves the whole running configuration in place. Workers and the store stay as they are
 * (sl_conf_keep_restart_only says which keys need a restart). Requests pick the new values up
 * from their next head; in-flight ones finish with the values they started with. */
#ifndef SL_CLI_RELOAD_H
#define SL_CLI_RELOAD_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "admin/admin.h"
#include "config/conf.h"

struct sl_snapshot;

struct sl_reload_env {
    struct sl_conf *running; /* the configuration in force; replaced in place on success */
    const char *conf_path;   /* the file to read again (NULL: defaults and environment) */
    bool draining;           /* a graceful stop is under way: listeners stay closed */
    /* compiles the configuration <conf> serves (process.c: declarative file or database) */
    struct sl_snapshot *(*load_snapshot)(const struct sl_conf *conf, char *err, size_t errlen);
};

/* Control thread. Logs the outcome ("reload: configuration reloaded", or the reason and
 * "keeping the running configuration"). */
void sl_cli_reload(struct ev_loop *loop, const struct sl_reload_env *env);

/* The log files of a configuration, opened before any is switched to so that a start or a reload
 * fails whole: the error log, the access log, and the Admin and Status APIs' logs. */
struct sl_cli_log_fds {
    int error;
    int access;
    struct sl_admin_log_fds admin;
};
/* Opens every log of <conf> (sl_log_file_open), all or none: on failure a message in <err> and
 * -1. */
int sl_cli_open_logs(const struct sl_conf *conf, struct sl_cli_log_fds *fds, char *err,
                     size_t errlen);
/* Switches every log to <fds> (ownership passes). Control thread, or before threads start. */
void sl_cli_use_logs(const struct sl_conf *conf, struct sl_cli_log_fds *fds);
/* Closes what sl_cli_open_logs gave when it is not used (after a failed open: nothing to close). */
void sl_cli_close_logs(struct sl_cli_log_fds *fds);

/* The command, before it signals (`sluice reload` validates first, as `kong reload` does). The
 * instance re-reads the sluice.conf it was started with, from its own working directory and with
 * its own environment; these let the command check what that instance will read. */

/* The arguments instance <pid> was started with (/proc/<pid>/cmdline): a NULL-terminated array of
 * *<argc> strings in one allocation (free() it). NULL when they cannot be read. */
char **sl_cli_instance_args(pid_t pid, int *argc);

/* Replaces this process's environment with instance <pid>'s (/proc/<pid>/environ), the one its
 * reload reads SLUICE_<KEY> values from. -1, nothing changed, when it cannot be read. */
int sl_cli_instance_env(pid_t pid);

#endif
