/* SPDX-License-Identifier: Apache-2.0 */
/* Reload (SIGHUP, `sluice reload`): sluice.conf and the configuration it serves, applied all or
 * nothing, and what the command reads of a running instance (reload.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "cli/reload.h"
#include "config/snapshot.h"
#include "core/file_read.h"
#include "core/log_file.h"
#include "net/dns.h"
#include "proxy/proxy.h"
#include "sluice/log.h"

int
sl_cli_open_logs(const struct sl_conf *conf, struct sl_cli_log_fds *fds, char *err, size_t errlen)
{
    fds->access = SL_LOG_FILE_OFF;
    sl_admin_logs_none(&fds->admin);
    fds->error = sl_log_file_open(conf->proxy_error_log);
    if (fds->error == -1) {
        snprintf(err, errlen, "could not open error log %s: %s", conf->proxy_error_log,
                 strerror(errno));
        fds->error = SL_LOG_FILE_OFF;
    } else if ((fds->access = sl_log_file_open(conf->proxy_access_log)) == -1) {
        snprintf(err, errlen, "could not open access log %s: %s", conf->proxy_access_log,
                 strerror(errno));
        fds->access = SL_LOG_FILE_OFF;
    } else if (sl_admin_logs_open(conf, &fds->admin, err, errlen) == 0) {
        return 0;
    }
    sl_cli_close_logs(fds);
    return -1;
}

void
sl_cli_use_logs(const struct sl_conf *conf, struct sl_cli_log_fds *fds)
{
    sl_log_use(fds->error, conf->proxy_error_log);
    sl_access_log_use(fds->access, conf->proxy_access_log);
    sl_admin_logs_use(conf, &fds->admin);
}

void
sl_cli_close_logs(struct sl_cli_log_fds *fds)
{
    if (fds->error >= 0) {
        close(fds->error);
    }
    if (fds->access >= 0) {
        close(fds->access);
    }
    fds->error = fds->access = SL_LOG_FILE_OFF;
    sl_admin_logs_close(&fds->admin);
}

static void
restart_only_changed(const char *key, void *ctx)
{
    (void)ctx;
    sl_log(SL_LOG_WARN, "reload: %s changed; it takes effect at the next start", key);
}

void
sl_cli_reload(struct ev_loop *loop, const struct sl_reload_env *env)
{
    struct sl_conf *run_conf = env->running;
    bool draining = env->draining;
    char err[8192];
    struct sl_conf *fresh = calloc(1, sizeof(*fresh));
    if (fresh == NULL) {
        return;
    }
    if (sl_conf_load_with_prefix(fresh, env->conf_path, run_conf->prefix, err, sizeof(err)) < 0) {
        sl_log(SL_LOG_ERR, "reload: %s; keeping the running configuration", err);
        free(fresh);
        return;
    }
    sl_conf_keep_restart_only(fresh, run_conf, restart_only_changed, NULL);
    if (draining) {
        /* the workers and the Admin server have closed their listeners for good */
        fresh->nproxy_listen = run_conf->nproxy_listen;
        memcpy(fresh->proxy_listen, run_conf->proxy_listen, sizeof(fresh->proxy_listen));
        fresh->nadmin_listen = run_conf->nadmin_listen;
        memcpy(fresh->admin_listen, run_conf->admin_listen, sizeof(fresh->admin_listen));
        fresh->nstatus_listen = run_conf->nstatus_listen;
        memcpy(fresh->status_listen, run_conf->status_listen, sizeof(fresh->status_listen));
    }
    bool relisten =
        fresh->nproxy_listen != run_conf->nproxy_listen ||
        memcmp(fresh->proxy_listen, run_conf->proxy_listen, sizeof(fresh->proxy_listen)) != 0;
    struct sl_cli_log_fds logs;
    struct sl_listen_plan *plan = NULL;
    struct sl_admin_plan *admin_plan = NULL;
    struct sl_proxy_settings *settings = NULL;
    struct sl_snapshot *snap = NULL;
    if (sl_cli_open_logs(fresh, &logs, err, sizeof(err)) < 0 ||
        (relisten && (plan = sl_proxy_listen_prepare(fresh, err, sizeof(err))) == NULL) ||
        (!draining && (admin_plan = sl_admin_reload_prepare(fresh, err, sizeof(err))) == NULL)) {
        goto keep;
    }
    settings = sl_proxy_settings_new(fresh);
    /* The snapshot's fixed addresses come from the hosts file: read it under the new settings. */
    sl_dns_reconfigure_begin(&fresh->dns);
    snap = settings != NULL ? env->load_snapshot(fresh, err, sizeof(err)) : NULL;
    if (snap == NULL) {
        if (settings == NULL) {
            snprintf(err, sizeof(err), "out of memory");
        }
        sl_dns_reconfigure_end(false);
        goto keep;
    }
    if (plan != NULL && sl_proxy_listen_commit(plan) < 0) {
        plan = NULL; /* discarded by the failed commit */
        snprintf(err, sizeof(err), "out of memory switching the listeners");
        sl_dns_reconfigure_end(false);
        goto keep;
    }
    sl_dns_reconfigure_end(true);
    if (admin_plan != NULL) {
        sl_admin_reload_commit(loop, admin_plan);
    }
    sl_cli_use_logs(fresh, &logs);
    sl_log_set_level((enum sl_log_level)fresh->log_level);
    sl_proxy_settings_publish(settings);
    sl_snapshot_publish(snap);
    /* The Admin server and the control loop read run_conf (Admin timeouts, quit_timeout). */
    *run_conf = *fresh;
    sl_log(SL_LOG_NOTICE, "reload: configuration reloaded");
    free(fresh);
    return;

keep:
    sl_log(SL_LOG_ERR, "reload: %s; keeping the running configuration", err);
    sl_snapshot_unref(snap);
    sl_proxy_settings_unref(settings);
    sl_proxy_listen_discard(plan);
    sl_admin_reload_discard(admin_plan);
    sl_cli_close_logs(&logs);
    free(fresh);
}

/* `sluice reload`, the command: what it checks before it signals */

/* Bound on what read_proc takes: a process's arguments and environment together are at most a
 * quarter of its stack limit (execve(2)); 16 MiB is that for a 64 MiB stack. */
#define PROC_FILE_MAX (16u * 1024 * 1024)

/* The whole of /proc/<pid>/<name> (NUL-separated strings; a /proc file has no size to read up
 * front), NUL-terminated, its length in *<len>. NULL when unreadable or too long. */
static char *
read_proc(pid_t pid, const char *name, size_t *len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
    return sl_file_read_all(path, PROC_FILE_MAX, len);
}

char **
sl_cli_instance_args(pid_t pid, int *argc)
{
    size_t len;
    char *buf = read_proc(pid, "cmdline", &len);
    if (buf == NULL) {
        return NULL;
    }
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        n += buf[i] == '\0';
    }
    /* the array, then the strings after it */
    char **argv = malloc((size_t)(n + 1) * sizeof(*argv) + len + 1);
    if (argv != NULL) {
        char *s = memcpy(argv + n + 1, buf, len + 1);
        for (int i = 0; i < n; i++) {
            argv[i] = s;
            s += strlen(s) + 1;
        }
        argv[n] = NULL;
        *argc = n;
    }
    free(buf);
    return argv;
}

int
sl_cli_instance_env(pid_t pid)
{
    size_t len;
    char *buf = read_proc(pid, "environ", &len);
    if (buf == NULL) {
        return -1;
    }
    clearenv();
    for (char *var = buf; var < buf + len; var += strlen(var) + 1) {
        char *eq = strchr(var, '=');
        if (eq != NULL && eq != var) {
            *eq = '\0';
            setenv(var, eq + 1, 1);
        }
    }
    free(buf);
    return 0;
}
