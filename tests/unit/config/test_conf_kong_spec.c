/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's conf_loader cases (spec/01-unit/03-conf_loader_spec.lua) where Sluice used to differ, for
 * the keys Sluice has: KONG_<KEY> is SLUICE_<KEY> here. Criterion runs each test in its own
 * process, so setenv() does not leak between tests. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"

static struct sl_conf conf;
static char err[4096];

/* <text> as a sluice.conf file, with the environment read when <env> is set. */
static int
load(const char *text, bool env)
{
    return sl_conf_load_buffer(&conf, text, strlen(text), "test.conf", NULL, env, err, sizeof(err));
}

static void
must_load(const char *text, bool env)
{
    cr_assert_eq(load(text, env), 0, "load failed: %s", err);
}

static void
must_fail(const char *text, bool env, const char *want)
{
    cr_assert_eq(load(text, env), -1, "should fail: %s", text);
    cr_assert(strstr(err, want) != NULL, "error\n  %s\ndoes not contain\n  %s", err, want);
}

static const char usage[] =
    "must be of form: [off] | <ip>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] "
    "[reuseport] [backlog=%d+] [ipv6only=on] [ipv6only=off] [so_keepalive=on] "
    "[so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next entry ...]";

/* "does not modify existing escaped octothorpes in environment variables" */
Test(conf_kong_spec, env_escaped_octothorpes_become_plain)
{
    setenv("SLUICE_PG_PASSWORD", "test\\#123", 1);
    must_load("", true);
    cr_assert_str_eq(conf.pg_password, "test#123");

    setenv("SLUICE_PG_PASSWORD", "test\\#\\#12\\#\\#3\\#", 1);
    must_load("", true);
    cr_assert_str_eq(conf.pg_password, "test##12##3#");

    /* "escapes unescaped octothorpes in environment variables": no comment in a variable */
    setenv("SLUICE_PG_PASSWORD", "test##12##3#", 1);
    must_load("", true);
    cr_assert_str_eq(conf.pg_password, "test##12##3#");
}

/* "rejects empty string in listen addresses" (KONG_ADMIN_LISTEN="") */
Test(conf_kong_spec, env_empty_listen_is_refused)
{
    char want[512];
    setenv("SLUICE_ADMIN_LISTEN", "", 1);
    snprintf(want, sizeof(want), "SLUICE_ADMIN_LISTEN: admin_listen %s", usage);
    must_fail("", true, want);
    unsetenv("SLUICE_ADMIN_LISTEN");

    setenv("SLUICE_PROXY_LISTEN", "", 1);
    snprintf(want, sizeof(want), "SLUICE_PROXY_LISTEN: proxy_listen %s", usage);
    must_fail("", true, want);
    unsetenv("SLUICE_PROXY_LISTEN");

    setenv("SLUICE_STATUS_LISTEN", "  ", 1);
    snprintf(want, sizeof(want), "SLUICE_STATUS_LISTEN: status_listen %s", usage);
    must_fail("", true, want);
}

/* proxy: "does not check SSL cert and key if SSL is off" */
Test(conf_kong_spec, lone_ssl_cert_accepted_without_an_ssl_proxy_listener)
{
    must_load("proxy_listen = 127.0.0.1:8123\nssl_cert = /path/cert.pem\n", false);
    cr_assert_str_eq(conf.ssl_cert, "/path/cert.pem");
    must_load("proxy_listen = off\nssl_cert_key = /path/key.pem\n", false);
    /* "requires both proxy SSL cert and key" while a listener has ssl (the default has one) */
    must_fail("ssl_cert = /path/cert.pem\n", false, "ssl_cert_key must be specified");
    must_fail("proxy_listen = 127.0.0.1:8123 ssl\nssl_cert_key = /path/key.pem\n", false,
              "ssl_cert must be specified");
}

/* "errors when the hosts file does not exist" / "accepts an existing hosts file" */
Test(conf_kong_spec, dns_hostsfile_must_exist)
{
    must_fail("dns_hostsfile = /a_file_that_does_not_exist\n", false,
              "test.conf:1: dns_hostsfile: file does not exist");
    must_fail("dns_hostsfile = /tmp\n", false, "dns_hostsfile: file does not exist");
    char path[] = "/tmp/sluice-hosts-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char text[128];
    snprintf(text, sizeof(text), "dns_hostsfile = %s\n", path);
    int rc = load(text, false);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(conf.dns.hostsfile, path);
}

/* "errors on bad entries in the order list" */
Test(conf_kong_spec, dns_order_bad_entry_message)
{
    must_fail("dns_order = A,CXAME,SRV\n", false, "test.conf:1: dns_order: invalid entry 'CXAME'");
    must_load("dns_order = last, srv ,a,CNAME\n", false);
    cr_assert_eq(conf.dns.norder, 4);
}

/* "errors when dns_resolver is not a list in ipv4/6[:port] format" */
Test(conf_kong_spec, dns_resolver_bad_entry_message)
{
    must_fail("dns_resolver = 1.2.3.4:53;4.3.2.1\n", false,
              "test.conf:1: dns_resolver must be a comma separated list in the form of IPv4/6 or "
              "IPv4/6:port, got '1.2.3.4:53;4.3.2.1'");
    must_fail("dns_resolver = 198.51.100.0, nope\n", false,
              "dns_resolver must be a comma separated list in the form of IPv4/6 or "
              "IPv4/6:port, got 'nope'");
    must_load("dns_resolver = 198.51.100.0:53\n", false);
    must_load("dns_resolver = [::1]:53\n", false);
    must_load("dns_resolver = 198.51.100.0,1.2.3.4:53,::1,[::1]:53\n", false);
}

/* Kong's conf_loader: `node_id` must be a UUID ("node_id must be a valid UUID"), kept as given */
Test(conf_kong_spec, node_id_is_validated_as_a_uuid)
{
    must_load("", false);
    cr_assert_str_eq(conf.node_id, "", "unset by default");
    must_load("node_id = 8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d\n", false);
    cr_assert_str_eq(conf.node_id, "8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d");
    /* Kong's is_valid_uuid matches case-insensitively and tests no version */
    must_load("node_id = 8A1B7C2D-3E4F-0A5B-0C6D-7E8F9A0B1C2D\n", false);
    cr_assert_str_eq(conf.node_id, "8A1B7C2D-3E4F-0A5B-0C6D-7E8F9A0B1C2D");
    must_load("node_id =\n", false);
    cr_assert_str_eq(conf.node_id, "", "an empty value is unset");

    must_fail("node_id = foobar\n", false, "test.conf:1: node_id must be a valid UUID");
    must_fail("node_id = 8a1b7c2d3e4f4a5b9c6d7e8f9a0b1c2d\n", false,
              "node_id must be a valid UUID");
    must_fail("node_id = 8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d0\n", false,
              "node_id must be a valid UUID");
    must_fail("node_id = {8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d}\n", false,
              "node_id must be a valid UUID");
    must_fail("node_id = 8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2g\n", false,
              "node_id must be a valid UUID");
}

Test(conf_kong_spec, node_id_from_the_environment)
{
    setenv("SLUICE_NODE_ID", "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b", 1);
    must_load("node_id = 8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d\n", true);
    cr_assert_str_eq(conf.node_id, "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b", "env beats the file");
    setenv("SLUICE_NODE_ID", "not-a-uuid", 1);
    must_fail("", true, "SLUICE_NODE_ID: node_id must be a valid UUID");
}

/* A reload cannot change the id a running node shows: it is kept and reported for the restart */
static int changed_node_id;
static void
note_changed(const char *key, void *ctx)
{
    (void)ctx;
    changed_node_id += strcmp(key, "node_id") == 0;
}

Test(conf_kong_spec, node_id_needs_a_restart)
{
    struct sl_conf running;
    must_load("node_id = 8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d\n", false);
    running = conf;
    must_load("node_id = 0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b\n", false);
    sl_conf_keep_restart_only(&conf, &running, note_changed, NULL);
    cr_assert_str_eq(conf.node_id, "8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d");
    cr_assert_eq(changed_node_id, 1);
}

/* "port_maps and host_ports": "are tables when specified", "gives an error with invalid value" */
Test(conf_kong_spec, port_maps)
{
    must_load("", false);
    cr_assert_eq(conf.nport_maps, 0);
    must_load("port_maps = 80:8000,443:8443\n", false);
    cr_assert_eq(conf.nport_maps, 2);
    cr_assert_eq(conf.port_maps[0].host_port, 80);
    cr_assert_eq(conf.port_maps[0].listen_port, 8000);
    cr_assert_eq(conf.port_maps[1].host_port, 443);
    cr_assert_eq(conf.port_maps[1].listen_port, 8443);
    must_fail("port_maps = src:dst\n", false, "invalid port mapping (`port_maps`): src:dst");
    must_fail("port_maps = 80\n", false, "invalid port mapping (`port_maps`): 80");
    must_fail("port_maps = 0:8000\n", false, "invalid port mapping (`port_maps`): 0:8000");
    must_fail("port_maps = 80:65536\n", false, "invalid port mapping (`port_maps`): 80:65536");
}
