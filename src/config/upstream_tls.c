/* SPDX-License-Identifier: Apache-2.0 */
/* sluice.conf's defaults for https services' TLS (upstream_tls.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/upstream_tls.h"
#include "core/file_read.h"

/* The whole of file <path> as a NUL-terminated string (malloc'd), or NULL with why in <err>. */
static char *
read_pem(const char *key, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *buf = sl_file_read_all(path, SL_UPSTREAM_TLS_MAX_PEM, &len);
    if (buf == NULL) {
        if (errno == EFBIG) {
            snprintf(err, errlen, "%s: %s is larger than %d bytes", key, path,
                     SL_UPSTREAM_TLS_MAX_PEM);
        } else {
            snprintf(err, errlen, "%s: cannot open %s: %s", key, path, strerror(errno));
        }
    }
    return buf;
}

struct sl_upstream_tls_defaults *
sl_upstream_tls_defaults_load(const struct sl_conf *conf, char *err, size_t errlen)
{
    struct sl_upstream_tls_defaults *d = calloc(1, sizeof(*d));
    if (d == NULL || (d->ca_pems = calloc(SL_CONF_MAX_TRUSTED_CERTS, sizeof(char *))) == NULL) {
        snprintf(err, errlen, "out of memory");
        sl_upstream_tls_defaults_free(d);
        return NULL;
    }
    d->verify = conf->proxy_ssl_verify;
    d->verify_depth = conf->proxy_ssl_verify_depth;
    if (conf->proxy_ssl_trusted_certificate[0] != '\0') {
        d->ca_pems[d->nca] = read_pem("nginx_proxy_proxy_ssl_trusted_certificate",
                                      conf->proxy_ssl_trusted_certificate, err, errlen);
        if (d->ca_pems[d->nca++] == NULL) {
            goto fail;
        }
    } else {
        d->system_store = conf->lua_ssl_trusted_system;
        for (size_t i = 0; i < conf->nlua_ssl_trusted_certificate; i++) {
            d->ca_pems[d->nca] = read_pem("lua_ssl_trusted_certificate",
                                          conf->lua_ssl_trusted_certificate[i], err, errlen);
            if (d->ca_pems[d->nca++] == NULL) {
                goto fail;
            }
        }
    }
    if (conf->client_ssl) {
        d->cert_pem = read_pem("client_ssl_cert", conf->client_ssl_cert, err, errlen);
        d->key_pem = d->cert_pem
                         ? read_pem("client_ssl_cert_key", conf->client_ssl_cert_key, err, errlen)
                         : NULL;
        if (d->key_pem == NULL) {
            goto fail;
        }
    }
    return d;
fail:
    sl_upstream_tls_defaults_free(d);
    return NULL;
}

void
sl_upstream_tls_defaults_free(struct sl_upstream_tls_defaults *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; d->ca_pems != NULL && i < d->nca; i++) {
        free(d->ca_pems[i]);
    }
    free(d->ca_pems);
    free(d->cert_pem);
    if (d->key_pem != NULL) {
        /* a private key: its bytes do not outlive their use */
        explicit_bzero(d->key_pem, strlen(d->key_pem));
        free(d->key_pem);
    }
    free(d);
}
