/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the files of net/ that speak OpenSSL (tls.c: servers and connections;
 * tls_client.c: contexts towards upstreams). Not for other areas. */
#ifndef SL_NET_TLS_INTERNAL_H
#define SL_NET_TLS_INTERNAL_H

#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

/* snprintf into a caller's message buffer; nothing when <err> is NULL or <errlen> 0. */
void sl_tls_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The reason of the oldest queued OpenSSL error ("no start line", "key values mismatch"), then the
 * queue is cleared. Reason strings are fixed texts: they never echo file contents. */
const char *sl_tls_reason(void);
/* A passphrase callback that refuses every request: an encrypted key fails to load instead of
 * prompting on the terminal of a daemon. */
int sl_tls_no_password(char *buf, int size, int rwflag, void *u);

/* Reads the certificates left in <bio> (PEM, up to the end of the text) onto <out>. Returns how
 * many, or SL_TLS_CERTS_BAD (a malformed one: OpenSSL's reason is queued) or SL_TLS_CERTS_NOMEM. */
enum { SL_TLS_CERTS_BAD = -1, SL_TLS_CERTS_NOMEM = -2 };
int sl_tls_read_certs(BIO *bio, STACK_OF(X509) * out);

#endif
