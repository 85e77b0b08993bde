/* SPDX-License-Identifier: Apache-2.0 */
/* The Admin API (kong.md §2): an HTTP/1.1 server on `admin_listen` (HTTPS on `ssl` entries), run
 * by the control thread on its own loop, parsing requests with the same strict parser as the proxy.
 * It serves the node endpoints (/, /status, /endpoints, /schemas, /tags), the entity CRUD over the
 * store, and in DB-less mode the entities of the running snapshot and /config (writes answer Kong's
 * 405). */
#ifndef SL_ADMIN_H
#define SL_ADMIN_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>

#include "config/conf.h"

/* When an admin_listen entry has `ssl`: loads admin_ssl_cert/admin_ssl_cert_key into the TLS
 * context of those listeners, or, when neither is set, Kong's default certificates
 * <prefix>/ssl/admin-kong-default{,-ecdsa}.{crt,key}, generated first when missing (keys 0600)
 * and kept for later starts; the same for status_listen with status_ssl_cert/_key and
 * status-kong-default*. Does nothing without `ssl` listeners or when already prepared.
 * Returns 0, or -1 with a message for `Error:` in <err> (an unreadable or invalid file, a key
 * that does not match its certificate); messages name files, never their contents. Call it
 * before threads start or from the control thread; sl_admin_start calls it if needed. */
int sl_admin_prepare_tls(const struct sl_conf *conf, char *err, size_t errlen);
/* Opens the admin listeners on <loop>: plain HTTP/1.1, or HTTPS on `ssl` entries (ALPN
 * http/1.1; the handshake bounded by client_header_timeout). <conf> outlives the server. Returns
 * 0, or -1 with a message in <err> (bind failures, certificates). Control thread only. */
int sl_admin_start(struct ev_loop *loop, const struct sl_conf *conf, char *err, size_t errlen);
/* With a database: the store the entity endpoints read and write (owned by the caller, open for
 * as long as the server runs). NULL in DB-less mode. */
struct sl_store;
void sl_admin_set_store(struct sl_store *st);
/* With a database: the mirror of the store's rows that every write recompiles the snapshot from
 * (store_bridge.h; owned by the caller, shared with its own reloads). NULL: each write reads the
 * whole store. */
struct sl_config_mirror;
void sl_admin_set_mirror(struct sl_config_mirror *m);
/* Reload, in two steps so that a reload fails whole: prepare opens the listeners of <conf>'s
 * admin_listen entries not open yet (one at an address already listened on keeps its socket and
 * queued connections; a new backlog applies) and reads the admin certificates again; NULL with a
 * message in <err> (bind failure, certificates), nothing changed. commit switches to them,
 * closing the listeners no longer named; open connections go on with the context they had.
 * discard undoes prepare. Control thread. */
struct sl_admin_plan;
struct sl_admin_plan *sl_admin_reload_prepare(const struct sl_conf *conf, char *err, size_t errlen);
void sl_admin_reload_commit(struct ev_loop *loop, struct sl_admin_plan *p);
void sl_admin_reload_discard(struct sl_admin_plan *p);
/* Closes the listeners and every admin connection, and frees the TLS context. */
void sl_admin_stop(struct ev_loop *loop);

/* The Admin and Status APIs' logs: admin_access_log, admin_error_log, status_access_log,
 * status_error_log (admin/logs.c), opened before they are switched to, so that a reload fails
 * whole. open: every file of <conf> (sl_log_file_open), or none (all SL_LOG_FILE_OFF) and -1 with
 * a message in <err>. close: what open gave, when it is not used (none afterwards). use: switches
 * the logs to them (ownership passes). reopen: the same paths again (rotation, USR1); -1 with a
 * message for the first failure, the others are still tried. Control thread (or before threads
 * start). */
#define SL_ADMIN_NLOGS 4
struct sl_admin_log_fds {
    int fd[SL_ADMIN_NLOGS];
};
int sl_admin_logs_open(const struct sl_conf *conf, struct sl_admin_log_fds *fds, char *err,
                       size_t errlen);
/* Sets every descriptor of <fds> to none (SL_LOG_FILE_OFF), as a failed open leaves them. */
void sl_admin_logs_none(struct sl_admin_log_fds *fds);
void sl_admin_logs_close(struct sl_admin_log_fds *fds);
void sl_admin_logs_use(const struct sl_conf *conf, const struct sl_admin_log_fds *fds);
int sl_admin_logs_reopen(char *err, size_t errlen);

/* Loads <text> as a declarative configuration and publishes it (POST /config). <parsed>, when not
 * NULL, is <text> already parsed, used instead of parsing it again; the function takes that
 * reference and releases it once loaded. With
 * <keep_prefix>, the text is first kept under that prefix (dbless_persist.h) so that a restart
 * serves it again. Returns 0; -1 with Kong-style error lines in <err> for an invalid
 * configuration; -2 with a message when it could not be kept (nothing changed). */
int sl_admin_apply_declarative(const char *text, size_t len, json_t *parsed, const char *name,
                               const char *keep_prefix, char *err, size_t errlen);

#endif
