/* SPDX-License-Identifier: Apache-2.0 */
/* TLS towards upstreams (tls.h): client contexts built from a service's settings, with trusted
 * certificates and a client certificate given as PEM texts (they come from the configuration's
 * ca_certificates and certificates, never from files), and the per-connection name: SNI and the
 * name the certificate is checked against. Like tls.c it never logs and never puts key material
 * in a message. */
#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "net/tls.h"
#include "net/tls_internal.h"

/* Adds every certificate of <pem> to <store>. Returns the count (0: none found), or -1. */
static int
add_pem_certs(X509_STORE *store, const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    STACK_OF(X509) *certs = sk_X509_new_null();
    int n = bio != NULL && certs != NULL ? sl_tls_read_certs(bio, certs) : -1;
    /* the same CA listed twice is no error (X509_STORE ignores a duplicate in OpenSSL 3) */
    for (int i = 0; n > 0 && i < n; i++) {
        if (X509_STORE_add_cert(store, sk_X509_value(certs, i)) != 1) {
            n = -1;
        }
    }
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    return n < 0 ? -1 : n;
}

/* Loads the client certificate (leaf, then any chain) and its key from PEM texts. */
static int
use_client_cert(SSL_CTX *ctx, const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
    int rc = -1;
    X509 *leaf = NULL;
    EVP_PKEY *pkey = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    BIO *cb = BIO_new_mem_buf(cert_pem, -1);
    BIO *kb = key_pem != NULL ? BIO_new_mem_buf(key_pem, -1) : NULL;
    if (chain == NULL || cb == NULL || kb == NULL) {
        sl_tls_errf(err, errlen, "client certificate: out of memory");
        goto out;
    }
    leaf = PEM_read_bio_X509_AUX(cb, NULL, sl_tls_no_password, NULL);
    if (leaf == NULL) {
        sl_tls_errf(err, errlen, "client certificate: cannot read it (%s)", sl_tls_reason());
        goto out;
    }
    int got = sl_tls_read_certs(cb, chain); /* its chain, if any */
    if (got < 0) {
        sl_tls_errf(err, errlen, "client certificate: cannot read its chain (%s)",
                    got == SL_TLS_CERTS_NOMEM ? "out of memory" : sl_tls_reason());
        goto out;
    }
    pkey = PEM_read_bio_PrivateKey(kb, NULL, sl_tls_no_password, NULL);
    if (pkey == NULL) {
        sl_tls_errf(err, errlen, "client certificate: cannot read its key (%s)", sl_tls_reason());
        goto out;
    }
    if (SSL_CTX_use_cert_and_key(ctx, leaf, pkey, chain, 1) != 1) {
        sl_tls_errf(err, errlen, "client certificate: cannot use it (%s)", sl_tls_reason());
        goto out;
    }
    rc = 0;
out:
    BIO_free(cb);
    BIO_free(kb);
    EVP_PKEY_free(pkey);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

/* The ex_data slot of an SSL that holds its session sink; created once, before any context. */
static int sink_index = -1;
static pthread_once_t sink_once = PTHREAD_ONCE_INIT;

static void
make_sink_index(void)
{
    sink_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* OpenSSL's new-session callback (client cache mode, no internal store): hands the session to
 * the connection's sink. Returning 1 keeps the reference OpenSSL passed; 0 lets it go. */
static int
on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    const struct sl_tls_session_sink *sink =
        sink_index >= 0 ? SSL_get_ex_data(ssl, sink_index) : NULL;
    if (sink == NULL || SSL_SESSION_is_resumable(sess) != 1) {
        return 0;
    }
    sink->save(sink->ud, sess);
    return 1;
}

SSL_CTX *
sl_tls_client_ctx_new(const struct sl_tls_client_opts *opts, char *err, size_t errlen)
{
    pthread_once(&sink_once, make_sink_index);
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        sl_tls_errf(err, errlen, "cannot create a TLS context (%s)", sl_tls_reason());
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, sl_tls_no_password);
    /* sessions are kept by the caller (per upstream address and settings), not in the context */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        sl_tls_errf(err, errlen, "cannot configure the TLS context (%s)", sl_tls_reason());
        goto fail;
    }
    if (opts->verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(ctx, opts->verify_depth);
        if (opts->system_store) {
            if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
                sl_tls_errf(err, errlen, "cannot load the system's trusted certificates (%s)",
                            sl_tls_reason());
                goto fail;
            }
        }
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        for (size_t i = 0; i < opts->nca; i++) {
            if (add_pem_certs(store, opts->ca_pems[i]) <= 0) {
                sl_tls_errf(err, errlen, "CA certificate %zu: cannot read it (%s)", i + 1,
                            sl_tls_reason());
                goto fail;
            }
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (opts->cert_pem != NULL &&
        use_client_cert(ctx, opts->cert_pem, opts->key_pem, err, errlen) < 0) {
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* Feeds a length-prefixed field into the digest, so that no two option sets hash the same text.
 * Returns 1, or 0 when OpenSSL failed. */
static int
digest_field(EVP_MD_CTX *md, const char *s)
{
    size_t n = s != NULL ? strlen(s) + 1 : 0;
    return EVP_DigestUpdate(md, &n, sizeof(n)) == 1 && (n == 0 || EVP_DigestUpdate(md, s, n) == 1);
}

int
sl_tls_client_opts_digest(const struct sl_tls_client_opts *opts, char out[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char head[64];
    snprintf(head, sizeof(head), "v%d d%d s%d n%zu", opts->verify ? 1 : 0, opts->verify_depth,
             opts->system_store ? 1 : 0, opts->nca);
    const char *stamp = opts->system_store ? opts->system_stamp : NULL;
    /* Every step is checked: a digest made of whatever a failed step left would be shared by
     * every option set that failed alike (a context verifying nothing given to a service that
     * verifies, its pooled connections too), so a failure is the caller's to refuse. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             digest_field(md, head) && digest_field(md, stamp);
    for (size_t i = 0; ok && i < opts->nca; i++) {
        ok = digest_field(md, opts->ca_pems[i]);
    }
    ok = ok && digest_field(md, opts->cert_pem) && digest_field(md, opts->key_pem) &&
         EVP_DigestFinal_ex(md, d, &dlen) == 1 && dlen >= 32;
    EVP_MD_CTX_free(md);
    if (!ok) {
        ERR_clear_error();
        out[0] = '\0';
        return -1;
    }
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
    out[64] = '\0';
    return 0;
}

/* Appends "<tag>dev:ino:size:sec.nsec" of <path> to <out> (<len> bytes, <*used> of them
 * taken), "<tag>-" when it cannot be stat'ed; what does not fit is cut. */
static void
append_stamp(char *out, size_t len, size_t *used, const char *tag, const char *path)
{
    struct stat st;
    int n;
    if (path == NULL || *path == '\0' || stat(path, &st) != 0) {
        n = snprintf(out + *used, len - *used, "%s-", tag);
    } else {
        n = snprintf(out + *used, len - *used, "%s%llu:%llu:%lld:%lld.%09ld", tag,
                     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                     (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
    *used += n > 0 && (size_t)n < len - *used ? (size_t)n : len - 1 - *used;
}

void
sl_tls_system_store_stamp(char *out, size_t len)
{
    if (len == 0) {
        return;
    }
    out[0] = '\0';
    /* the paths SSL_CTX_set_default_verify_paths loads, environment overrides first */
    const char *file = getenv(X509_get_default_cert_file_env());
    const char *dir = getenv(X509_get_default_cert_dir_env());
    size_t used = 0;
    append_stamp(out, len, &used, "f", file != NULL ? file : X509_get_default_cert_file());
    /* the directory setting may list several, ':'-separated; OpenSSL reads each */
    const char *p = dir != NULL ? dir : X509_get_default_cert_dir();
    for (;;) {
        size_t n = strcspn(p, ":");
        char one[PATH_MAX];
        snprintf(one, sizeof(one), "%.*s", (int)n, p);
        append_stamp(out, len, &used, " d", one);
        if (p[n] == '\0' || used + 1 >= len) {
            break;
        }
        p += n + 1;
    }
}

int
sl_tls_client_conn_init(struct sl_tls_conn *t, SSL_CTX *ctx, int fd, const char *name,
                        SSL_SESSION *resume, const struct sl_tls_session_sink *sink, char *err,
                        size_t errlen)
{
    memset(t, 0, sizeof(*t));
    ERR_clear_error();
    t->ssl = SSL_new(ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        goto fail;
    }
    SSL_set_connect_state(t->ssl);
    if (sink != NULL &&
        (sink_index < 0 || SSL_set_ex_data(t->ssl, sink_index, (void *)sink) != 1)) {
        goto fail;
    }
    /* an offered session the server no longer knows costs nothing: a full handshake follows */
    if (resume != NULL && SSL_set_session(t->ssl, resume) != 1) {
        ERR_clear_error();
    }
    if (name != NULL && name[0] != '\0') {
        unsigned char ip[16];
        bool literal = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
        bool verify = (SSL_get_verify_mode(t->ssl) & SSL_VERIFY_PEER) != 0;
        /* nginx sends no SNI for an address (RFC 6066 §3: literal addresses are not permitted) */
        if (!literal && SSL_set_tlsext_host_name(t->ssl, name) != 1) {
            goto fail;
        }
        if (verify) {
            X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                             : X509_VERIFY_PARAM_set1_host(param, name, 0);
            if (ok != 1) {
                goto fail;
            }
        }
    }
    return 0;
fail:
    sl_tls_errf(err, errlen, "cannot create a TLS connection (%s)", sl_tls_reason());
    SSL_free(t->ssl);
    t->ssl = NULL;
    return -1;
}

const char *
sl_tls_verify_error(const struct sl_tls_conn *t, char *buf, size_t len)
{
    if (t->ssl == NULL || (SSL_get_verify_mode(t->ssl) & SSL_VERIFY_PEER) == 0) {
        return NULL;
    }
    long r = SSL_get_verify_result(t->ssl);
    if (r == X509_V_OK) {
        return NULL;
    }
    sl_tls_errf(buf, len, "(%ld: %s)", r, X509_verify_cert_error_string(r));
    return buf;
}

bool
sl_tls_session_reused(const struct sl_tls_conn *t)
{
    return t->ssl != NULL && SSL_session_reused(t->ssl) == 1;
}
