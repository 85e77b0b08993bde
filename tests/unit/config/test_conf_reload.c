/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/config/conf_reload.c: a reload keeps the keys that need a restart at their
 * running values (and names each changed one once) and takes every other key from the file. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/conf.h"

static char err[4096];
static char seen[1024];
static int nseen;

static void
load(struct sl_conf *c, const char *text)
{
    int rc = sl_conf_load_buffer(c, text, strlen(text), "test.conf", NULL, false, err, sizeof(err));
    cr_assert_eq(rc, 0, "load failed: %s", err);
}

static void
changed(const char *key, void *ctx)
{
    cr_assert_eq(ctx, &nseen);
    nseen++;
    strncat(seen, key, sizeof(seen) - strlen(seen) - 2);
    strcat(seen, " ");
}

Test(conf_reload, identical_files_change_nothing)
{
    static struct sl_conf running, fresh;
    const char *text = "proxy_listen = 127.0.0.1:9000\nworker_processes = 2\n";
    load(&running, text);
    load(&fresh, text);
    sl_conf_keep_restart_only(&fresh, &running, changed, &nseen);
    cr_assert_eq(nseen, 0, "%s", seen);
    cr_assert_eq(memcmp(&fresh, &running, sizeof(fresh)), 0);
}

Test(conf_reload, restart_only_keys_keep_running_values_others_apply)
{
    static struct sl_conf running, fresh;
    load(&running, "proxy_listen = 127.0.0.1:9000\nworker_processes = 2\nheaders = off\n"
                   "status_listen = 127.0.0.1:9100\n"
                   "client_max_body_size = 1k\ndns_resolver = 127.0.0.1:53\n"
                   "dns_stale_ttl = 10\ndatabase = off\n");
    load(&fresh, "proxy_listen = 127.0.0.1:9001, 127.0.0.1:9002\nworker_processes = 3\n"
                 "status_listen = 127.0.0.1:9101, 127.0.0.1:9102\n"
                 "client_max_body_size = 2k\ndns_resolver = 127.0.0.2\ndns_stale_ttl = 20\n"
                 "database = off\npg_password = s3cret\n");
    sl_conf_keep_restart_only(&fresh, &running, changed, &nseen);
    /* each key once */
    cr_assert_str_eq(seen, "worker_processes pg_password ");
    /* kept */
    cr_assert_eq(fresh.worker_processes, 2);
    cr_assert_str_eq(fresh.pg_password, "");
    /* applied (the proxy and the Admin server reopen their listeners) */
    cr_assert_eq(fresh.nproxy_listen, 2);
    cr_assert_eq(fresh.proxy_listen[1].port, 9002);
    cr_assert_eq(fresh.nstatus_listen, 2);
    cr_assert_eq(fresh.status_listen[1].port, 9102);
    cr_assert_eq(fresh.headers, SL_HDR_SERVER | SL_HDR_VIA | SL_HDR_PROXY_LATENCY |
                                    SL_HDR_UPSTREAM_LATENCY | SL_HDR_RESPONSE_LATENCY |
                                    SL_HDR_REQUEST_ID);
    cr_assert_eq(fresh.client_max_body_size, 2048);
    cr_assert_eq(fresh.dns.stale_ttl, 20);
    cr_assert_neq(strcmp(fresh.dns.servers, running.dns.servers), 0);
}
