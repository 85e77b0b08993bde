/* SPDX-License-Identifier: Apache-2.0 */
/* Which sluice.conf keys a reload (HUP, `sluice reload`) applies, and which need a restart.
 * proxy_listen, admin_listen, status_listen and the admin certificates are applied (the proxy and
 * the Admin server, which serves the Status API too, reopen their listeners, src/proxy/listeners.c,
 * src/admin/server.c), as a reload of Kong's nginx does: `sluice drain` reads the status_listen of
 * the file a reload read, so the instance must listen where that says. */
#include <string.h>

#include "config/conf.h"

/* Keeps <field> of the running configuration in <fresh>, reporting <key> when the file changed
 * it. Both configurations were zero-filled before parsing (sl_conf_load), so bytewise equality is
 * value equality, arrays and their unused tails included. */
#define SAME(field) (memcmp(&fresh->field, &running->field, sizeof(fresh->field)) == 0)
#define RESTORE(field) memcpy(&fresh->field, &running->field, sizeof(fresh->field))
#define KEEP(field, key)                                                                           \
    do {                                                                                           \
        if (!SAME(field)) {                                                                        \
            RESTORE(field);                                                                        \
            changed(key, ctx);                                                                     \
        }                                                                                          \
    } while (0)

void
sl_conf_keep_restart_only(struct sl_conf *fresh, const struct sl_conf *running,
                          void (*changed)(const char *key, void *ctx), void *ctx)
{
    /* The process's shape: threads, sockets, daemon state. */
    KEEP(daemon, "daemon");
    KEEP(worker_processes, "worker_processes");
    /* the node's identity: GET / keeps showing the id the process started with */
    KEEP(node_id, "node_id");
    KEEP(ssl_cert, "ssl_cert");
    KEEP(ssl_cert_key, "ssl_cert_key");
    /* The store the process opened. */
    KEEP(database, "database");
    KEEP(sqlite_path, "sqlite_path");
    KEEP(pg_host, "pg_host");
    KEEP(pg_port, "pg_port");
    KEEP(pg_database, "pg_database");
    KEEP(pg_user, "pg_user");
    KEEP(pg_password, "pg_password");
    KEEP(pg_timeout_ms, "pg_timeout");
    KEEP(pg_ssl, "pg_ssl");
    KEEP(plugins, "plugins");
}
