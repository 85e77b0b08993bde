/* SPDX-License-Identifier: Apache-2.0 */
/* The Admin and Status APIs' own logs (Kong's admin_access_log, admin_error_log,
 * status_access_log, status_error_log; nginx's access_log and error_log of those server blocks):
 * an access line per response in nginx's combined format, and what the server logs while it serves
 * a connection of that API (sl_log_route_thread). Each is a core/log_file.h destination, so
 * rotation (USR1) and reload switch files under it. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/internal.h"
#include "core/access_line.h"
#include "core/log_file.h"

/* [API_ADMIN], [API_STATUS] (server.c's enum api order) */
static struct sl_log_file access_logs[2] = {SL_LOG_FILE_INIT(-1), SL_LOG_FILE_INIT(-1)};
static struct sl_log_file error_logs[2] = {SL_LOG_FILE_INIT(-1), SL_LOG_FILE_INIT(-1)};

struct log_key {
    const char *name;
    size_t path; /* offset of the key's path in struct sl_conf */
    struct sl_log_file *lf;
    bool status; /* a Status API log (else the Admin API's) */
};

static const struct log_key keys[SL_ADMIN_NLOGS] = {
    {"admin_access_log", offsetof(struct sl_conf, admin_access_log), &access_logs[0], false},
    {"admin_error_log", offsetof(struct sl_conf, admin_error_log), &error_logs[0], false},
    {"status_access_log", offsetof(struct sl_conf, status_access_log), &access_logs[1], true},
    {"status_error_log", offsetof(struct sl_conf, status_error_log), &error_logs[1], true},
};

static const char *
key_path(const struct sl_conf *conf, size_t i)
{
    return (const char *)conf + keys[i].path;
}

int
sl_admin_logs_open(const struct sl_conf *conf, struct sl_admin_log_fds *fds, char *err,
                   size_t errlen)
{
    sl_admin_logs_none(fds);
    for (size_t i = 0; i < SL_ADMIN_NLOGS; i++) {
        /* an API without listeners has no logs, as Kong's nginx has no server block for it */
        if ((keys[i].status ? conf->nstatus_listen : conf->nadmin_listen) == 0) {
            continue;
        }
        const char *path = key_path(conf, i);
        fds->fd[i] = sl_log_file_open(path);
        if (fds->fd[i] == -1) {
            snprintf(err, errlen, "could not open %s %s: %s", keys[i].name, path, strerror(errno));
            sl_admin_logs_close(fds);
            return -1;
        }
    }
    return 0;
}

void
sl_admin_logs_none(struct sl_admin_log_fds *fds)
{
    for (size_t i = 0; i < SL_ADMIN_NLOGS; i++) {
        fds->fd[i] = SL_LOG_FILE_OFF;
    }
}

void
sl_admin_logs_close(struct sl_admin_log_fds *fds)
{
    for (size_t i = 0; i < SL_ADMIN_NLOGS; i++) {
        if (fds->fd[i] >= 0) {
            close(fds->fd[i]);
        }
    }
    sl_admin_logs_none(fds);
}

void
sl_admin_logs_use(const struct sl_conf *conf, const struct sl_admin_log_fds *fds)
{
    for (size_t i = 0; i < SL_ADMIN_NLOGS; i++) {
        sl_log_file_set(keys[i].lf, fds->fd[i], key_path(conf, i));
    }
}

int
sl_admin_logs_reopen(char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < SL_ADMIN_NLOGS; i++) {
        if (sl_log_file_fd(keys[i].lf) >= 0 && sl_log_file_reopen(keys[i].lf) < 0 && rc == 0) {
            snprintf(err, errlen, "could not reopen %s %s: %s", keys[i].name, keys[i].lf->path,
                     strerror(errno));
            rc = -1;
        }
    }
    return rc;
}

struct sl_log_file *
sl_admin_error_log(bool status)
{
    return &error_logs[status];
}

void
sl_admin_access_log(bool status, const struct sl_access_line *f)
{
    int fd = sl_log_file_fd(&access_logs[status]);
    if (fd < 0) {
        return;
    }
    char line[4096];
    size_t n = sl_access_format_combined(line, sizeof(line), f, NULL);
    if (n > 0) {
        ssize_t w = write(fd, line, n);
        (void)w;
    }
}
