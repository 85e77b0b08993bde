/* SPDX-License-Identifier: Apache-2.0 */
/* The running process: start (prefix, pid file, daemonize, workers, the control loop with its
 * signal handling) and the verbs that signal a running instance through its pid file. */
#ifndef SL_CLI_PROCESS_H
#define SL_CLI_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/conf.h"

struct sl_config;

/* Runs Sluice with <conf> (read from <conf_path>, NULL when defaults only; kept for reloads).
 * Returns the process exit status. */
int sl_cli_start(struct sl_conf *conf, const char *conf_path);
/* DB-less: loads the declarative configuration <conf> names, in Kong's order (kong/init.lua,
 * has_declarative_config): declarative_config, else declarative_config_string, else (with
 * <use_kept>) the configuration last pushed with POST /config, kept under the prefix as Kong keeps
 * it in LMDB; else an empty one. With <log_warnings>, the loader's warnings are logged (and a
 * declarative_config_string that the file overrides). NULL on failure, with the errors in <err>
 * under "failed parsing declarative configuration <source>:". The caller frees the result. */
struct sl_config *sl_cli_load_declarative(const struct sl_conf *conf, bool use_kept,
                                          bool log_warnings, char *err, size_t errlen);
/* Sends <sig> to the instance at conf->prefix and, when <wait_s> > 0, waits for it to exit
 * (escalating to SIGTERM then SIGKILL, like `kong quit`). Returns the exit status. */
int sl_cli_signal(const struct sl_conf *conf, int sig, int wait_s);
/* 0 when an instance runs at conf->prefix; else prints `Error: no such prefix: ...` or `Error:
 * Sluice is not running in ...` and returns 1. */
int sl_cli_check_instance(const struct sl_conf *conf);
/* Creates the prefix and its logs/ and pids/ directories. Prints `Error: ...` and returns -1 on
 * failure. */
int sl_cli_prepare_prefix(const struct sl_conf *conf);
/* Prints whether an instance runs at conf->prefix; 0 if it does. */
int sl_cli_health(const struct sl_conf *conf);
/* The pid of the instance running at <prefix> (<prefix>/pids/sluice.pid), or 0. */
pid_t sl_cli_instance_pid(const char *prefix);

#endif
