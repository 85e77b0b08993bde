/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/config/conf.c: defaults, every key, environment precedence, errors, listeners,
 * sizes and durations, path resolution. Criterion runs each test in its own process, so setenv()
 * does not leak between tests. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"
#include "sluice/log.h"

static struct sl_conf conf;
static char err[4096];

static int
load_str(const char *text)
{
    return sl_conf_load_buffer(&conf, text, strlen(text), "test.conf", NULL, false, err,
                               sizeof(err));
}

static void
must_load(const char *text)
{
    int rc = load_str(text);
    cr_assert_eq(rc, 0, "load failed: %s", err);
}

static void
must_fail(const char *text, const char *want)
{
    int rc = load_str(text);
    cr_assert_eq(rc, -1, "should fail: %s", text);
    cr_assert(strstr(err, want) != NULL, "error\n  %s\ndoes not contain\n  %s", err, want);
}

Test(conf, defaults)
{
    must_load("");
    cr_assert_str_eq(conf.prefix, "/usr/local/sluice");
    cr_assert(conf.daemon);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(conf.worker_processes, ncpu < 1 ? 1 : ncpu);
    cr_assert_eq(conf.log_level, SL_LOG_NOTICE);

    cr_assert_eq(conf.nproxy_listen, 2);
    cr_assert_str_eq(conf.proxy_listen[0].host, "0.0.0.0");
    cr_assert_eq(conf.proxy_listen[0].port, 8000);
    cr_assert(conf.proxy_listen[0].reuseport);
    cr_assert_eq(conf.proxy_listen[0].backlog, 16384);
    cr_assert_not(conf.proxy_listen[0].ssl);
    cr_assert_eq(conf.proxy_listen[1].port, 8443);
    cr_assert(conf.proxy_listen[1].ssl);
    cr_assert(conf.proxy_listen[1].http2);

    cr_assert_eq(conf.nadmin_listen, 2);
    cr_assert_str_eq(conf.admin_listen[0].host, "127.0.0.1");
    cr_assert_eq(conf.admin_listen[0].port, 8001);
    cr_assert_eq(conf.admin_listen[1].port, 8444);
    cr_assert(conf.admin_listen[1].ssl);
    cr_assert_eq(conf.nstatus_listen, 1);
    cr_assert_eq(conf.status_listen[0].port, 8007);
    cr_assert_not(conf.status_listen[0].ssl);

    cr_assert_str_eq(conf.proxy_access_log, "/usr/local/sluice/logs/access.log");
    cr_assert_str_eq(conf.proxy_error_log, "/usr/local/sluice/logs/error.log");
    /* Kong's defaults for the Admin and Status APIs' logs */
    cr_assert_str_eq(conf.admin_access_log, "/usr/local/sluice/logs/admin_access.log");
    cr_assert_str_eq(conf.admin_error_log, "/usr/local/sluice/logs/error.log");
    cr_assert_str_eq(conf.status_access_log, "off");
    cr_assert_str_eq(conf.status_error_log, "/usr/local/sluice/logs/status_error.log");
    cr_assert_eq(conf.proxy_access_log_format, SL_ACCESS_LOG_COMBINED);
    cr_assert_eq(conf.ntrusted_ips, 0);
    cr_assert_str_eq(conf.real_ip_header, "X-Real-IP");
    cr_assert_not(conf.real_ip_recursive);
    cr_assert_eq(conf.headers, SL_HDR_SERVER | SL_HDR_VIA | SL_HDR_PROXY_LATENCY |
                                   SL_HDR_UPSTREAM_LATENCY | SL_HDR_RESPONSE_LATENCY |
                                   SL_HDR_REQUEST_ID);
    cr_assert_eq(conf.headers_upstream, SL_HDR_REQUEST_ID);
    cr_assert_eq(conf.error_default_type, SL_ERROR_TYPE_PLAIN);
    cr_assert_eq(conf.database, SL_DB_SQLITE);
    cr_assert_str_eq(conf.declarative_config, "");
    cr_assert_str_eq(conf.sqlite_path, "/usr/local/sluice/sluice.db");
    cr_assert_eq(conf.upstream_keepalive_pool_size, 512);
    cr_assert_eq(conf.upstream_keepalive_max_requests, 10000);
    cr_assert_eq(conf.upstream_keepalive_idle_timeout_s, 60);
    cr_assert_eq(conf.client_header_timeout_ms, 60000);
    cr_assert_eq(conf.client_body_timeout_ms, 60000);
    cr_assert_eq(conf.send_timeout_ms, 60000);
    cr_assert_eq(conf.keepalive_timeout_ms, 75000);
    cr_assert_eq(conf.client_max_body_size, 0);
    cr_assert_eq(conf.large_client_header_buffers, 8192);
    cr_assert_eq(conf.max_header_bytes, 65536);
    cr_assert_eq(conf.lua_max_req_headers, 100);
    cr_assert_eq(conf.quit_timeout_s, 10);
    cr_assert_str_eq(conf.pg_host, "127.0.0.1");
    cr_assert_eq(conf.pg_port, 5432);
    cr_assert_str_eq(conf.pg_database, "sluice");
    cr_assert_str_eq(conf.pg_user, "sluice");
    cr_assert_str_eq(conf.pg_password, "");
    cr_assert_eq(conf.pg_timeout_ms, 5000);
    cr_assert_not(conf.pg_ssl);
    cr_assert_str_eq(conf.plugins, "bundled");
    cr_assert_str_eq(conf.ssl_cert, "");
}

Test(conf, every_key_from_a_file)
{
    must_load("# a comment\n"
              "\n"
              "prefix = /srv/sl/\n"
              "daemon = off\n"
              "worker_processes = 3\n"
              "log_level = debug\n"
              "proxy_listen = 127.0.0.1:9000 proxy_protocol deferred, [::1]:9443 ssl http2\n"
              "admin_listen = off\n"
              "status_listen = 127.0.0.2:9007\n"
              "proxy_access_log = /var/log/a.log\n"
              "proxy_access_log_format = json\n"
              "proxy_error_log = stderr\n"
              "admin_access_log = stdout\n"
              "status_error_log = logs/st.log\n"
              "trusted_ips = 10.0.0.0/8, ::1, unix:\n"
              "real_ip_header = X-Forwarded-For\n"
              "real_ip_recursive = on\n"
              "headers = Server, x-sluice-upstream-status\n"
              "database = off\n"
              "declarative_config = /etc/kong.yml\n"
              "sqlite_path = data/s.db\n"
              "upstream_keepalive_pool_size = 0\n"
              "upstream_keepalive_max_requests = 7\n"
              "upstream_keepalive_idle_timeout = 9\n"
              "client_header_timeout = 500ms\n"
              "client_body_timeout = 1m\n"
              "send_timeout = 2\n"
              "keepalive_timeout = 1m30s\n"
              "client_max_body_size = 10m\n"
              "large_client_header_buffers = 4 16k\n"
              "max_header_bytes = 1m\n"
              "lua_max_req_headers = 1000\n"
              "quit_timeout = 30s\n"
              "pg_host = db.internal\n"
              "pg_port = 6543\n"
              "pg_database = gw\n"
              "pg_user = gwuser\n"
              "pg_password = s3cr\\#et # a comment\n"
              "pg_timeout = 1500\n"
              "pg_ssl = true\n"
              "plugins = bundled, off\n"
              "ssl_cert = /c.pem\n"
              "ssl_cert_key = /k.pem\n");
    cr_assert_str_eq(conf.prefix, "/srv/sl");
    cr_assert_not(conf.daemon);
    cr_assert_eq(conf.worker_processes, 3);
    cr_assert_eq(conf.log_level, SL_LOG_DEBUG);
    cr_assert_eq(conf.nproxy_listen, 2);
    cr_assert_str_eq(conf.proxy_listen[0].host, "127.0.0.1");
    cr_assert_eq(conf.proxy_listen[0].port, 9000);
    cr_assert(conf.proxy_listen[0].proxy_protocol);
    cr_assert(conf.proxy_listen[0].deferred);
    cr_assert_not(conf.proxy_listen[0].reuseport);
    cr_assert_str_eq(conf.proxy_listen[1].host, "::1");
    cr_assert(conf.proxy_listen[1].ssl);
    cr_assert(conf.proxy_listen[1].http2);
    cr_assert_eq(conf.nadmin_listen, 0);
    cr_assert_eq(conf.nstatus_listen, 1);
    cr_assert_str_eq(conf.status_listen[0].host, "127.0.0.2");
    cr_assert_str_eq(conf.proxy_access_log, "/var/log/a.log");
    cr_assert_eq(conf.proxy_access_log_format, SL_ACCESS_LOG_JSON);
    cr_assert_str_eq(conf.proxy_error_log, "stderr");
    cr_assert_str_eq(conf.admin_access_log, "stdout"); /* not a file under the prefix */
    cr_assert_str_eq(conf.status_error_log, "/srv/sl/logs/st.log");
    cr_assert_eq(conf.ntrusted_ips, 2); /* unix: is accepted, not stored */
    cr_assert(sl_cidr_list_match_text(conf.trusted_ips, conf.ntrusted_ips, "10.9.9.9", 8));
    cr_assert(sl_cidr_list_match_text(conf.trusted_ips, conf.ntrusted_ips, "::1", 3));
    cr_assert_str_eq(conf.real_ip_header, "X-Forwarded-For");
    cr_assert(conf.real_ip_recursive);
    cr_assert_eq(conf.headers, SL_HDR_SERVER | SL_HDR_UPSTREAM_STATUS);
    cr_assert_eq(conf.database, SL_DB_OFF);
    cr_assert_str_eq(conf.declarative_config, "/etc/kong.yml");
    cr_assert_str_eq(conf.sqlite_path, "/srv/sl/data/s.db");
    cr_assert_eq(conf.upstream_keepalive_pool_size, 0);
    cr_assert_eq(conf.upstream_keepalive_max_requests, 7);
    cr_assert_eq(conf.upstream_keepalive_idle_timeout_s, 9);
    cr_assert_eq(conf.client_header_timeout_ms, 500);
    cr_assert_eq(conf.client_body_timeout_ms, 60000);
    cr_assert_eq(conf.send_timeout_ms, 2000);
    cr_assert_eq(conf.keepalive_timeout_ms, 90000);
    cr_assert_eq(conf.client_max_body_size, 10 * 1024 * 1024);
    cr_assert_eq(conf.large_client_header_buffers, 16384);
    cr_assert_eq(conf.max_header_bytes, 1024 * 1024);
    cr_assert_eq(conf.lua_max_req_headers, 1000);
    cr_assert_eq(conf.quit_timeout_s, 30);
    cr_assert_str_eq(conf.pg_host, "db.internal");
    cr_assert_eq(conf.pg_port, 6543);
    cr_assert_str_eq(conf.pg_database, "gw");
    cr_assert_str_eq(conf.pg_user, "gwuser");
    cr_assert_str_eq(conf.pg_password, "s3cr#et");
    cr_assert_eq(conf.pg_timeout_ms, 1500);
    cr_assert(conf.pg_ssl);
    cr_assert_str_eq(conf.plugins, "bundled, off");
    cr_assert_str_eq(conf.ssl_cert, "/c.pem");
    cr_assert_str_eq(conf.ssl_cert_key, "/k.pem");
}

Test(conf, comments_blanks_and_empty_values)
{
    must_load("   # indented comment\n"
              "log_level = warn   # trailing comment\n"
              "real_ip_header = X-Real#IP\n"
              "daemon =\n"
              "\r\n"
              "worker_processes = 2\r\n");
    cr_assert_eq(conf.log_level, SL_LOG_WARN);
    /* an unescaped # starts a comment wherever it is (Kong's rule) */
    cr_assert_str_eq(conf.real_ip_header, "X-Real");
    /* an empty value is unset: the default applies */
    cr_assert(conf.daemon);
    cr_assert_eq(conf.worker_processes, 2);
}

Test(conf, later_lines_win)
{
    must_load("log_level = error\nlog_level = info\n");
    cr_assert_eq(conf.log_level, SL_LOG_INFO);
}

Test(conf, booleans)
{
    must_load("daemon = false\nreal_ip_recursive = true\npg_ssl = on\n");
    cr_assert_not(conf.daemon);
    cr_assert(conf.real_ip_recursive);
    cr_assert(conf.pg_ssl);
    must_fail("daemon = maybe\n", "test.conf:1: daemon is not a boolean: 'maybe'");
    must_fail("\n\npg_ssl = yes\n", "test.conf:3: pg_ssl is not a boolean: 'yes'");
}

Test(conf, unknown_property)
{
    must_fail("log_level = info\nfoo = bar\n", "test.conf:2: unknown property 'foo'");
    must_fail("just words\n", "test.conf:1: expected 'key = value'");
}

Test(conf, bad_values_name_the_key_and_accepted_values)
{
    must_fail("log_level = loud\n",
              "test.conf:1: log_level has an invalid value: 'loud' (debug, info, notice, warn, "
              "error, crit, alert, emerg)");
    must_fail("database = cassandra\n",
              "database has an invalid value: 'cassandra' (sqlite, postgres, off)");
    must_fail("proxy_access_log_format = xml\n",
              "proxy_access_log_format has an invalid value: 'xml' (combined, json)");
    must_fail("worker_processes = 0\n", "worker_processes has an invalid value: '0'");
    must_fail("worker_processes = lots\n", "worker_processes has an invalid value: 'lots'");
    must_fail("headers = server_tokens,Foo-Bar\n", "headers: invalid entry 'Foo-Bar'");
    must_fail("headers_upstream = Via\n", "headers_upstream: invalid entry 'Via'");
    must_fail("error_default_type = text/xml\n",
              "error_default_type has an invalid value: 'text/xml' (application/json, "
              "application/xml, text/html, text/plain)");
    must_fail("trusted_ips = 10.0.0.0/33\n",
              "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or "
              "CIDR block or 'unix:', got '10.0.0.0/33'");
    must_fail("upstream_keepalive_pool_size = -1\n",
              "upstream_keepalive_pool_size must be 0 or greater");
    must_fail("upstream_keepalive_max_requests = -1\n",
              "upstream_keepalive_max_requests must be 0 or greater");
    must_fail("upstream_keepalive_idle_timeout = -5\n",
              "upstream_keepalive_idle_timeout must be 0 or greater");
    must_fail("upstream_keepalive_pool_size = many\n",
              "upstream_keepalive_pool_size is not a number: 'many'");
    must_fail("upstream_keepalive_pool_size = 1.5\n",
              "upstream_keepalive_pool_size must be an integer");
    must_fail("lua_max_req_headers = 0\n",
              "lua_max_req_headers must be an integer between 1 and 1000");
    must_fail("lua_max_req_headers = 1001\n",
              "lua_max_req_headers must be an integer between 1 and 1000");
    must_fail("pg_port = 70000\n", "pg_port must be an integer between 0 and 65535");
    must_fail("pg_timeout = 0\n", "pg_timeout must be greater than 0");
    must_fail("client_header_timeout = soon\n",
              "client_header_timeout has an invalid value: 'soon'");
    /* 0 would mean no bound at all (slowloris): refused; keepalive_timeout = 0 turns keep-alive
     * off and stays valid */
    must_fail("client_header_timeout = 0\n", "client_header_timeout must be greater than 0");
    must_fail("client_body_timeout = 0s\n", "client_body_timeout must be greater than 0");
    must_fail("send_timeout = 0\n", "send_timeout must be greater than 0");
    must_fail("client_max_body_size = 10x\n", "client_max_body_size has an invalid value: '10x'");
    must_fail("max_header_bytes = 100\n", "max_header_bytes must be between 1k and 16m");
    must_fail("large_client_header_buffers = 2m\n",
              "large_client_header_buffers must be between 256 and 1m");
    must_fail("large_client_header_buffers = 128k\nmax_header_bytes = 64k\n",
              "large_client_header_buffers must not be larger than max_header_bytes");
    must_fail("real_ip_header = X Y\n", "real_ip_header has an invalid value: 'X Y'");
    must_fail("ssl_cert = /c.pem\n", "ssl_cert_key must be specified");
    must_fail("ssl_cert_key = /k.pem\n", "ssl_cert must be specified");
}

/* Kong's nginx directive keys that Sluice has under a key of its own are taken as that key; the
 * later line wins, as for any key. Other nginx_* and lua_* keys stay unknown properties. */
Test(conf, kong_nginx_directive_keys_alias_sluice_keys)
{
    must_load("nginx_http_client_max_body_size = 10m\n"
              "nginx_main_worker_processes = 3\n"
              "nginx_daemon = off\n"
              "nginx_proxy_real_ip_header = X-Forwarded-For\n"
              "nginx_proxy_real_ip_recursive = on\n"
              "nginx_http_client_header_timeout = 5s\n"
              "nginx_proxy_client_body_timeout = 7s\n"
              "nginx_http_send_timeout = 9s\n"
              "nginx_http_keepalive_timeout = 11s\n"
              "nginx_http_large_client_header_buffers = 4 16k\n");
    cr_assert_eq(conf.client_max_body_size, 10 * 1024 * 1024);
    cr_assert_eq(conf.worker_processes, 3);
    cr_assert_not(conf.daemon);
    cr_assert_str_eq(conf.real_ip_header, "X-Forwarded-For");
    cr_assert(conf.real_ip_recursive);
    cr_assert_eq(conf.client_header_timeout_ms, 5000);
    cr_assert_eq(conf.client_body_timeout_ms, 7000);
    cr_assert_eq(conf.send_timeout_ms, 9000);
    cr_assert_eq(conf.keepalive_timeout_ms, 11000);
    cr_assert_eq(conf.large_client_header_buffers, 16384);
    must_load("client_max_body_size = 1m\nnginx_proxy_client_max_body_size = 2m\n");
    cr_assert_eq(conf.client_max_body_size, 2 * 1024 * 1024, "the later line wins");
    must_fail("nginx_http_client_max_body_size = lots\n",
              "test.conf:1: client_max_body_size has an invalid value: 'lots'");
    must_fail("nginx_http_ssl_protocols = TLSv1.2\n",
              "test.conf:1: unknown property 'nginx_http_ssl_protocols'");
    must_fail("nginx_admin_client_max_body_size = 10m\n",
              "unknown property 'nginx_admin_client_max_body_size'");
    must_fail("lua_ssl_verify_depth = 2\n", "unknown property 'lua_ssl_verify_depth'");
}

/* A plugin that is not installed refuses the configuration (Kong: "... plugin is enabled but not
 * installed"): a kong.conf that counts on one must not be served without it. */
Test(conf, plugins_bundled_off_and_names_not_installed)
{
    must_load("plugins = bundled\n");
    must_load("plugins = off\n");
    must_load("plugins = bundled, off,\n");
    cr_assert_str_eq(conf.plugins, "bundled, off,");
    must_fail("plugins = bundled, key-auth\n",
              "test.conf:1: plugins has an invalid value: 'key-auth' (key-auth plugin is enabled "
              "but not installed; bundled, off or the names of installed plugins)");
    must_fail("plugins = my-plugin,rate-limiting\n", "'rate-limiting' (rate-limiting plugin");
    must_fail("plugins = my-plugin,rate-limiting\n", "'my-plugin' (my-plugin plugin");
}

Test(conf, every_error_is_reported)
{
    int rc = load_str("log_level = loud\nfoo = 1\ndaemon = perhaps\n");
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, "test.conf:2: unknown property 'foo'") != NULL, "%s", err);
    cr_assert(strstr(err, "test.conf:1: log_level has an invalid value") != NULL, "%s", err);
    cr_assert(strstr(err, "test.conf:3: daemon is not a boolean: 'perhaps'") != NULL, "%s", err);
    /* one per line */
    int lines = 1;
    for (const char *p = err; *p; p++) {
        lines += *p == '\n';
    }
    cr_assert_eq(lines, 3, "%s", err);
}

Test(conf, headers_off_and_case)
{
    must_load("headers = off\n");
    cr_assert_eq(conf.headers, 0);
    /* "off" only counts first, like Kong */
    must_load("headers = via, off\n");
    cr_assert_eq(conf.headers, SL_HDR_VIA);
    must_load("headers = LATENCY_TOKENS, X-SLUICE-REQUEST-ID\n");
    cr_assert_eq(conf.headers, SL_HDR_PROXY_LATENCY | SL_HDR_UPSTREAM_LATENCY |
                                   SL_HDR_RESPONSE_LATENCY | SL_HDR_REQUEST_ID);
    must_load("headers = X-Sluice-Proxy-Latency,X-Sluice-Upstream-Latency,"
              "X-Sluice-Response-Latency\n");
    cr_assert_eq(conf.headers,
                 SL_HDR_PROXY_LATENCY | SL_HDR_UPSTREAM_LATENCY | SL_HDR_RESPONSE_LATENCY);
}

Test(conf, headers_upstream_off_and_case)
{
    must_load("headers_upstream = off\n");
    cr_assert_eq(conf.headers_upstream, 0);
    must_load("headers_upstream = x-sluice-request-id, off\n"); /* "off" only counts first */
    cr_assert_eq(conf.headers_upstream, SL_HDR_REQUEST_ID);
}

Test(conf, error_default_type_values)
{
    must_load("error_default_type = application/json\n");
    cr_assert_eq(conf.error_default_type, SL_ERROR_TYPE_JSON);
    must_load("error_default_type = text/html\n");
    cr_assert_eq(conf.error_default_type, SL_ERROR_TYPE_HTML);
    must_load("error_default_type = application/xml\n");
    cr_assert_eq(conf.error_default_type, SL_ERROR_TYPE_XML);
}

Test(conf, trusted_ips_all_and_limit)
{
    must_load("trusted_ips = 0.0.0.0/0,::/0\n");
    cr_assert_eq(conf.ntrusted_ips, 2);
    cr_assert(sl_cidr_list_match_text(conf.trusted_ips, 2, "203.0.113.9", 11));
    cr_assert(sl_cidr_list_match_text(conf.trusted_ips, 2, "2001:db8::1", 11));

    char big[8192] = "trusted_ips = ";
    for (int i = 0; i < SL_CONF_MAX_TRUSTED + 1; i++) {
        char one[32];
        snprintf(one, sizeof(one), "%s10.0.%d.1", i ? "," : "", i);
        strcat(big, one);
    }
    strcat(big, "\n");
    must_fail(big, "trusted_ips has too many entries (at most 64)");
}

Test(conf, environment_beats_the_file)
{
    setenv("SLUICE_LOG_LEVEL", "error", 1);
    setenv("SLUICE_PROXY_LISTEN", "off", 1);
    setenv("SLUICE_DAEMON", "", 1); /* empty: back to the default */
    int rc = sl_conf_load_buffer(&conf, "log_level = debug\ndaemon = off\n", 31, "f.conf", NULL,
                                 true, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(conf.log_level, SL_LOG_ERR);
    cr_assert_eq(conf.nproxy_listen, 0);
    cr_assert(conf.daemon);

    /* without use_env the environment is not read */
    rc = sl_conf_load_buffer(&conf, "log_level = debug\n", 18, "f.conf", NULL, false, err,
                             sizeof(err));
    cr_assert_eq(rc, 0);
    cr_assert_eq(conf.log_level, SL_LOG_DEBUG);
}

Test(conf, environment_errors_name_the_variable)
{
    setenv("SLUICE_WORKER_PROCESSES", "-3", 1);
    int rc = sl_conf_load_buffer(&conf, "", 0, "f.conf", NULL, true, err, sizeof(err));
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, "SLUICE_WORKER_PROCESSES: worker_processes has an invalid value: '-3'") !=
                  NULL,
              "%s", err);
}

Test(conf, unknown_environment_variables_are_ignored)
{
    setenv("SLUICE_BIN", "/x/sluice", 1);
    setenv("SLUICE_NOT_A_KEY", "1", 1);
    cr_assert_eq(sl_conf_load(&conf, NULL, err, sizeof(err)), 0, "%s", err);
}

Test(conf, cli_prefix_beats_environment_and_file)
{
    setenv("SLUICE_PREFIX", "/from/env", 1);
    int rc = sl_conf_load_buffer(&conf, "prefix = /from/file\n", 20, "f.conf", "/from/cli", true,
                                 err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(conf.prefix, "/from/cli");
    cr_assert_str_eq(conf.proxy_error_log, "/from/cli/logs/error.log");
    rc = sl_conf_load_buffer(&conf, "prefix = /from/file\n", 20, "f.conf", NULL, true, err,
                             sizeof(err));
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(conf.prefix, "/from/env");
}

Test(conf, relative_paths)
{
    char cwd[PATH_MAX];
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    char want[PATH_MAX + 64];

    must_load("prefix = ./run/./x/\n"
              "declarative_config = examples/kong.yml\n"
              "proxy_access_log = off\n"
              "proxy_error_log = err.log\n"
              "sqlite_path = /abs/db.sqlite\n");
    snprintf(want, sizeof(want), "%s/run/x", cwd);
    cr_assert_str_eq(conf.prefix, want);
    snprintf(want, sizeof(want), "%s/examples/kong.yml", cwd);
    cr_assert_str_eq(conf.declarative_config, want);
    cr_assert_str_eq(conf.proxy_access_log, "off");
    snprintf(want, sizeof(want), "%s/run/x/err.log", cwd);
    cr_assert_str_eq(conf.proxy_error_log, want);
    cr_assert_str_eq(conf.sqlite_path, "/abs/db.sqlite");
}

Test(conf, real_file_and_missing_file)
{
    char path[] = "/tmp/sluice-conf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *text = "log_level = info\nbogus = 1\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(sl_conf_load(&conf, path, err, sizeof(err)), -1);
    char want[128];
    snprintf(want, sizeof(want), "%s:2: unknown property 'bogus'", path);
    cr_assert(strstr(err, want) != NULL, "%s", err);
    unlink(path);

    cr_assert_eq(sl_conf_load(&conf, "/nonexistent/sluice.conf", err, sizeof(err)), -1);
    cr_assert(strstr(err, "/nonexistent/sluice.conf: No such file or directory") != NULL, "%s",
              err);
}

Test(conf, nul_bytes_and_tiny_error_buffers)
{
    const char text[] = "log_level = info\0x\ndaemon = on\n";
    int rc =
        sl_conf_load_buffer(&conf, text, sizeof(text) - 1, "n.conf", NULL, false, err, sizeof(err));
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, "n.conf:1: invalid NUL byte") != NULL, "%s", err);

    char small[8];
    rc = sl_conf_load_buffer(&conf, "foo = 1\n", 8, "n.conf", NULL, false, small, sizeof(small));
    cr_assert_eq(rc, -1);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    rc = sl_conf_load_buffer(&conf, "foo = 1\n", 8, "n.conf", NULL, false, NULL, 0);
    cr_assert_eq(rc, -1);
}

/* ---- listeners ---- */

static struct sl_listen ls[SL_CONF_MAX_LISTEN];

Test(listen, flags_and_addresses)
{
    int n = sl_conf_parse_listen("0.0.0.0:8000 reuseport backlog=511, [::]:8443 http2 ssl "
                                 "ipv6only=on so_keepalive=30m::10, 127.0.0.1:1 bind "
                                 "so_keepalive=off ipv6only=off, *:81, localhost:82",
                                 ls, SL_CONF_MAX_LISTEN, err, sizeof(err));
    cr_assert_eq(n, 5, "%s", err);
    cr_assert_str_eq(ls[0].host, "0.0.0.0");
    cr_assert_eq(ls[0].port, 8000);
    cr_assert(ls[0].reuseport);
    cr_assert_eq(ls[0].backlog, 511);
    cr_assert_eq(ls[0].ipv6only, -1);
    cr_assert_eq(ls[0].so_keepalive, -1);
    cr_assert_str_eq(ls[1].host, "::");
    cr_assert_eq(ls[1].port, 8443);
    cr_assert(ls[1].ssl && ls[1].http2);
    cr_assert_eq(ls[1].backlog, 16384);
    cr_assert_eq(ls[1].ipv6only, 1);
    cr_assert_eq(ls[1].so_keepalive, 1);
    cr_assert_eq(ls[1].keepidle_s, 1800);
    cr_assert_eq(ls[1].keepintvl_s, 0);
    cr_assert_eq(ls[1].keepcnt, 10);
    cr_assert(ls[2].bind);
    cr_assert_eq(ls[2].so_keepalive, 0);
    cr_assert_eq(ls[2].ipv6only, 0);
    cr_assert_eq(ls[2].port, 1);
    cr_assert_str_eq(ls[3].host, "0.0.0.0");
    cr_assert_str_eq(ls[4].host, "127.0.0.1");
}

Test(listen, off)
{
    cr_assert_eq(sl_conf_parse_listen("off", ls, SL_CONF_MAX_LISTEN, err, sizeof(err)), 0);
    cr_assert_eq(
        sl_conf_parse_listen("  off , 1.2.3.4:5", ls, SL_CONF_MAX_LISTEN, err, sizeof(err)), 0);
}

Test(listen, errors)
{
    const char *usage =
        "must be of form: [off] | <ip>:<port> [ssl] [http2] [proxy_protocol] "
        "[deferred] [bind] [reuseport] [backlog=%d+] [ipv6only=on] [ipv6only=off] "
        "[so_keepalive=on] [so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next "
        "entry ...]";
    const char *bad[] = {
        "",
        "8000",
        "0.0.0.0",
        "0.0.0.0:",
        "0.0.0.0:80x",
        "example.com:80",
        "::1:80",
        "[127.0.0.1]:80",
        "1.2.3.4:80 sssl",
        "1.2.3.4:80 backlog=",
        "1.2.3.4:80 backlog=0",
        "1.2.3.4:80 ipv6only=maybe",
        "1.2.3.4:80 so_keepalive=1:2",
        "1.2.3.4:80 1.2.3.5:81",
        "1.2.3.4:80,",
        "1.2.3.4/8:80",
        "[::1]80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(sl_conf_parse_listen(bad[i], ls, SL_CONF_MAX_LISTEN, err, sizeof(err)), -1,
                     "should reject '%s'", bad[i]);
        cr_assert_str_eq(err, usage, "for '%s'", bad[i]);
    }
    cr_assert_eq(sl_conf_parse_listen("0.0.0.0:70000", ls, SL_CONF_MAX_LISTEN, err, sizeof(err)),
                 -1);
    cr_assert_str_eq(err, "invalid port in '0.0.0.0:70000' (1-65535)");
    cr_assert_eq(sl_conf_parse_listen("0.0.0.0:0", ls, SL_CONF_MAX_LISTEN, err, sizeof(err)), -1);
    cr_assert_eq(sl_conf_parse_listen("1.1.1.1:1, 1.1.1.1:2, 1.1.1.1:3", ls, 2, err, sizeof(err)),
                 -1);
    cr_assert_str_eq(err, "too many entries (at most 2)");

    /* the key name prefixes it in sl_conf_load */
    must_fail("proxy_listen = 0.0.0.0\n", "test.conf:1: proxy_listen must be of form: [off]");
    must_fail("admin_listen = nowhere:1\n", "admin_listen must be of form");
}

/* ---- sizes and durations ---- */

Test(units, sizes)
{
    uint64_t v;
    cr_assert_eq(sl_conf_parse_size("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(sl_conf_parse_size("123", &v), 0);
    cr_assert_eq(v, 123);
    cr_assert_eq(sl_conf_parse_size("8k", &v), 0);
    cr_assert_eq(v, 8192);
    cr_assert_eq(sl_conf_parse_size("8K", &v), 0);
    cr_assert_eq(v, 8192);
    cr_assert_eq(sl_conf_parse_size("10m", &v), 0);
    cr_assert_eq(v, 10485760);
    cr_assert_eq(sl_conf_parse_size("1G", &v), 0);
    cr_assert_eq(v, 1073741824ull);
    const char *bad[] = {
        "", "k", "-1", "1.5m", "10 m", "1kb", "18446744073709551616", "17179869184g", " 1", NULL};
    for (size_t i = 0; bad[i]; i++) {
        cr_assert_eq(sl_conf_parse_size(bad[i], &v), -1, "should reject '%s'", bad[i]);
    }
    cr_assert_eq(sl_conf_parse_size("18446744073709551615", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(sl_conf_parse_size(NULL, &v), -1);
}

Test(units, durations)
{
    int64_t ms;
    struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"60s", 60000},    {"500ms", 500},    {"1m", 60000},      {"60", 60000},
        {"0", 0},          {"1h", 3600000},   {"1h30m", 5400000}, {"1m 30s", 90000},
        {"2d", 172800000}, {"1w", 604800000}, {"1s500ms", 1500},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(sl_conf_parse_duration_ms(ok[i].in, &ms), 0, "should parse '%s'", ok[i].in);
        cr_assert_eq(ms, ok[i].want, "'%s' gave %lld", ok[i].in, (long long)ms);
    }
    const char *bad[] = {"",      "s",   "1x",  "-1s",         "1.5s", "1m 30",
                         "30 1m", "1 2", "25d", "99999999999", NULL};
    for (size_t i = 0; bad[i]; i++) {
        cr_assert_eq(sl_conf_parse_duration_ms(bad[i], &ms), -1, "should reject '%s'", bad[i]);
    }
}

/* ---- the shipped files ---- */

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* sluice.conf.default documents the defaults: uncommenting every setting must change nothing. */
Test(shipped, conf_default_matches_the_code)
{
    size_t len;
    char *text = read_file("sluice.conf.default", &len);
    if (text == NULL) {
        cr_skip_test("run from the repository root");
    }
    struct sl_conf defaults;
    cr_assert_eq(sl_conf_load_buffer(&defaults, "", 0, "d", NULL, false, err, sizeof(err)), 0);
    /* as shipped: comments only */
    cr_assert_eq(
        sl_conf_load_buffer(&conf, text, len, "sluice.conf.default", NULL, false, err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(memcmp(&conf, &defaults, sizeof(conf)), 0);
    /* uncommented: "#key = value" lines become settings */
    char *out = malloc(len + 1);
    size_t w = 0;
    int settings = 0;
    for (size_t i = 0; i < len; i++) {
        bool bol = i == 0 || text[i - 1] == '\n';
        if (bol && text[i] == '#' && i + 1 < len && text[i + 1] >= 'a' && text[i + 1] <= 'z') {
            settings++;
            continue;
        }
        out[w++] = text[i];
    }
    cr_assert_gt(settings, 35);
    cr_assert_eq(sl_conf_load_buffer(&conf, out, w, "uncommented", NULL, false, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(memcmp(&conf, &defaults, sizeof(conf)), 0,
                 "a default in sluice.conf.default differs from the code");
    free(out);
    free(text);
}

Test(shipped, example_conf_loads)
{
    size_t len;
    char *text = read_file("examples/sluice.conf", &len);
    if (text == NULL) {
        cr_skip_test("run from the repository root");
    }
    cr_assert_eq(sl_conf_load_buffer(&conf, text, len, "examples/sluice.conf", "build/run", false,
                                     err, sizeof(err)),
                 0, "%s", err);
    cr_assert_not(conf.daemon);
    cr_assert_eq(conf.database, SL_DB_OFF);
    cr_assert_eq(conf.nproxy_listen, 1);
    cr_assert_str_eq(conf.proxy_listen[0].host, "127.0.0.1");
    cr_assert_eq(conf.proxy_listen[0].port, 8000);
    cr_assert_not(conf.proxy_listen[0].ssl);
    cr_assert_eq(conf.nadmin_listen, 1); /* the Admin API on loopback, for `make run` */
    cr_assert_str_eq(conf.admin_listen[0].host, "127.0.0.1");
    cr_assert_eq(conf.admin_listen[0].port, 8001);
    cr_assert_eq(conf.nstatus_listen, 0);
    cr_assert_str_eq(conf.proxy_error_log, "stderr");
    cr_assert_str_eq(conf.admin_error_log, "stderr");
    cr_assert(strstr(conf.admin_access_log, "/build/run/logs/admin_access.log") != NULL);
    cr_assert(strstr(conf.declarative_config, "/examples/kong.yml") != NULL);
    cr_assert(strstr(conf.proxy_access_log, "/build/run/logs/access.log") != NULL);
    free(text);
}

Test(conf, dns_keys)
{
    must_load("");
    cr_assert_str_eq(conf.dns.servers, "");
    cr_assert_str_eq(conf.dns.hostsfile, "/etc/hosts");
    cr_assert_eq(conf.dns.norder, 4);
    cr_assert_eq(conf.dns.order[0], SL_DNS_LAST);
    cr_assert_eq(conf.dns.order[2], SL_DNS_A);
    cr_assert_eq(conf.dns.valid_ttl, -1);
    cr_assert_eq(conf.dns.stale_ttl, 3600);
    cr_assert_eq(conf.dns.not_found_ttl, 30);
    cr_assert_eq(conf.dns.error_ttl, 1);
    cr_assert_eq(conf.dns_cache_size, 10000);
    cr_assert_not(conf.dns_no_sync);
    must_load("dns_resolver = 127.0.0.1:5353,[::1]\ndns_order = AAAA,A\ndns_valid_ttl = 0\n"
              "dns_stale_ttl = 5\ndns_not_found_ttl = 2\ndns_error_ttl = 0\n"
              "dns_hostsfile = /etc/hosts\ndns_no_sync = on\n");
    cr_assert_str_eq(conf.dns.servers, "127.0.0.1:5353,[::1]:53");
    cr_assert_eq(conf.dns.norder, 2);
    cr_assert_eq(conf.dns.order[0], SL_DNS_AAAA);
    cr_assert_eq(conf.dns.valid_ttl, 0);
    cr_assert_eq(conf.dns.stale_ttl, 5);
    cr_assert_eq(conf.dns.not_found_ttl, 2);
    cr_assert_eq(conf.dns.error_ttl, 0);
    cr_assert_str_eq(conf.dns.hostsfile, "/etc/hosts");
    cr_assert(conf.dns_no_sync);
    must_fail("dns_resolver = nope\n", "dns_resolver must be a comma separated list in the form of "
                                       "IPv4/6 or IPv4/6:port, got 'nope'");
    must_fail("dns_resolver = 1.2.3.4:99999\n", "got '1.2.3.4:99999'");
    must_fail("dns_order = A,MX\n", "dns_order: invalid entry 'MX'");
    must_fail("dns_stale_ttl = -1\n", "dns_stale_ttl must be 0 or greater");
    must_fail("dns_valid_ttl = soon\n", "dns_valid_ttl is not a number: 'soon'");
}
