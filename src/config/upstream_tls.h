/* SPDX-License-Identifier: Apache-2.0 */
/* The process-wide defaults of https services' TLS, from sluice.conf (kong.md §3.8): what a service
 * that leaves tls_verify, tls_verify_depth, ca_certificates or client_certificate unset gets. The
 * files are read here, once per load (start, reload), so that every snapshot build (Admin API
 * writes included) uses texts, never paths. */
#ifndef SL_CONFIG_UPSTREAM_TLS_H
#define SL_CONFIG_UPSTREAM_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/conf.h"

/* A PEM file larger than this is refused (a system bundle is about 200 KiB). */
#define SL_UPSTREAM_TLS_MAX_PEM (8 * 1024 * 1024)

struct sl_upstream_tls_defaults {
    bool verify;       /* nginx_proxy_proxy_ssl_verify */
    int verify_depth;  /* nginx_proxy_proxy_ssl_verify_depth */
    bool system_store; /* trust the system's store (lua_ssl_trusted_certificate has `system`) */
    char **ca_pems;    /* ... and these PEM texts (owned) */
    size_t nca;
    char *cert_pem; /* client_ssl: its certificate and key (owned), else NULL */
    char *key_pem;
};

/* Reads what <conf> names: nginx_proxy_proxy_ssl_trusted_certificate when set (then it alone is
 * trusted, as nginx's proxy_ssl_trusted_certificate is), else lua_ssl_trusted_certificate's files
 * and `system`; the client_ssl pair when client_ssl is on. NULL with a message naming the file in
 * <err> (never its content) when one cannot be read. */
struct sl_upstream_tls_defaults *sl_upstream_tls_defaults_load(const struct sl_conf *conf,
                                                               char *err, size_t errlen);
void sl_upstream_tls_defaults_free(struct sl_upstream_tls_defaults *d);

#endif
