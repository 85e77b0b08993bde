/* SPDX-License-Identifier: Apache-2.0 */
/* TLS over non-blocking sockets (tls.h): server SSL_CTX construction with Kong's intermediate
 * profile, the I/O wrappers a libev connection drives, and the self-signed default certificate.
 * It must never log, never prompt for a passphrase, and never put key material in a message. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "net/tls.h"
#include "net/tls_internal.h"
#include "sluice/rc.h"

_Static_assert((int)SL_TLS_WANT_READ == (int)EV_READ, "SL_TLS_WANT_READ must be EV_READ");
_Static_assert((int)SL_TLS_WANT_WRITE == (int)EV_WRITE, "SL_TLS_WANT_WRITE must be EV_WRITE");

/* errno of the last SSL_ERROR_SYSCALL on this thread (OpenSSL's error queue is per thread too). */
static _Thread_local int last_sys_errno;

void
sl_tls_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The reason of the oldest queued OpenSSL error ("no start line", "key values mismatch"), then the
 * queue is cleared. Reason strings are fixed texts: they never echo file contents. */
const char *
sl_tls_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown error";
}

/* Refuses every passphrase request: an encrypted key fails to load instead of prompting on the
 * terminal of a daemon. */
int
sl_tls_no_password(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Server contexts */

/* Picks the first protocol of the server list (<arg>, wire format, NUL-terminated) that the
 * client offers. No overlap refuses the handshake, as nginx >= 1.21.4 does. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
            unsigned int inlen, void *arg)
{
    const unsigned char *srv = arg;
    size_t srvlen = strlen((const char *)srv);
    for (size_t i = 0; i < srvlen; i += 1 + (size_t)srv[i]) {
        size_t sl = srv[i];
        if (sl == 0 || i + 1 + sl > srvlen) {
            break;
        }
        for (size_t j = 0; j < inlen;) {
            size_t cl = in[j];
            if (j + 1 + cl > inlen) {
                break; /* malformed list: OpenSSL checks it, stay in bounds regardless */
            }
            if (cl == sl && memcmp(in + j + 1, srv + i + 1, sl) == 0) {
                *out = in + j + 1;
                *outlen = (unsigned char)cl;
                return SSL_TLSEXT_ERR_OK;
            }
            j += 1 + cl;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static FILE *
open_pem(const char *path, const char *label, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        sl_tls_errf(err, errlen, "%s: cannot open %s: %s", label, path, strerror(errno));
    }
    return f;
}

int
sl_tls_read_certs(BIO *bio, STACK_OF(X509) * out)
{
    int n = 0;
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, sl_tls_no_password, NULL);
        if (x == NULL) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error(); /* the end of the text */
                return n;
            }
            return SL_TLS_CERTS_BAD;
        }
        if (!sk_X509_push(out, x)) {
            X509_free(x);
            return SL_TLS_CERTS_NOMEM;
        }
        n++;
    }
}

/* Reads the leaf certificate and any chain after it. */
static X509 *
read_cert_chain(const char *path, const char *label, STACK_OF(X509) * *chain, char *err,
                size_t errlen)
{
    FILE *f = open_pem(path, label, err, errlen);
    if (f == NULL) {
        return NULL;
    }
    ERR_clear_error();
    X509 *leaf = PEM_read_X509_AUX(f, NULL, sl_tls_no_password, NULL);
    if (leaf == NULL) {
        sl_tls_errf(err, errlen, "%s: failed loading certificate from %s (%s)", label, path,
                    sl_tls_reason());
        fclose(f);
        return NULL;
    }
    /* the rest of the file through a BIO over the same stream */
    BIO *bio = BIO_new_fp(f, BIO_NOCLOSE);
    *chain = sk_X509_new_null();
    int got = bio != NULL && *chain != NULL ? sl_tls_read_certs(bio, *chain) : SL_TLS_CERTS_NOMEM;
    BIO_free(bio);
    if (got == SL_TLS_CERTS_NOMEM) {
        sl_tls_errf(err, errlen, "%s: out of memory", label);
        goto fail;
    }
    if (got == SL_TLS_CERTS_BAD) {
        sl_tls_errf(err, errlen, "%s: failed loading the certificate chain from %s (%s)", label,
                    path, sl_tls_reason());
        goto fail;
    }
    fclose(f);
    return leaf;
fail:
    sk_X509_pop_free(*chain, X509_free);
    *chain = NULL;
    X509_free(leaf);
    fclose(f);
    return NULL;
}

static int
load_pair(SSL_CTX *ctx, const char *cert_path, const char *key_path, const char *cert_label,
          const char *key_label, char *err, size_t errlen)
{
    int rc = -1;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *pkey = NULL;
    X509 *leaf = read_cert_chain(cert_path, cert_label, &chain, err, errlen);
    if (leaf == NULL) {
        return -1;
    }
    FILE *f = open_pem(key_path, key_label, err, errlen);
    if (f == NULL) {
        goto out;
    }
    ERR_clear_error();
    pkey = PEM_read_PrivateKey(f, NULL, sl_tls_no_password, NULL);
    fclose(f);
    if (pkey == NULL) {
        sl_tls_errf(err, errlen,
                    "%s: failed loading key from %s (%s; encrypted keys are not supported)",
                    key_label, key_path, sl_tls_reason());
        goto out;
    }
    if (X509_check_private_key(leaf, pkey) != 1) {
        ERR_clear_error();
        sl_tls_errf(err, errlen, "%s: %s does not match the certificate in %s", key_label, key_path,
                    cert_path);
        goto out;
    }
    /* override = 0: a second pair of the same key type is an error, not a silent replacement */
    if (SSL_CTX_use_cert_and_key(ctx, leaf, pkey, chain, 0) != 1) {
        unsigned long e = ERR_peek_error();
        if (ERR_GET_REASON(e) == SSL_R_NOT_REPLACING_CERTIFICATE) {
            ERR_clear_error();
            sl_tls_errf(
                err, errlen,
                "%s: %s is a second %s certificate (give at most one RSA and one ECDSA pair)",
                cert_label, cert_path, EVP_PKEY_get0_type_name(pkey));
        } else {
            sl_tls_errf(err, errlen, "%s: cannot use the certificate in %s (%s)", cert_label,
                        cert_path, sl_tls_reason());
        }
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(chain, X509_free);
    X509_free(leaf);
    return rc;
}

/* Kong's intermediate suite forces the predefined ffdhe2048 group for the DHE suites. */
static int
set_ffdhe2048(SSL_CTX *ctx)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    EVP_PKEY *dh = NULL;
    int ok = pctx != NULL && EVP_PKEY_paramgen_init(pctx) == 1 &&
             EVP_PKEY_CTX_set_dh_nid(pctx, NID_ffdhe2048) == 1 &&
             EVP_PKEY_paramgen(pctx, &dh) == 1 && SSL_CTX_set0_tmp_dh_pkey(ctx, dh) == 1;
    if (!ok) {
        EVP_PKEY_free(dh);
    }
    EVP_PKEY_CTX_free(pctx);
    return ok ? 0 : -1;
}

SSL_CTX *
sl_tls_server_ctx_new(const struct sl_tls_server_opts *opts, char *err, size_t errlen)
{
    const char *cert_label = opts->cert_label ? opts->cert_label : "ssl_cert";
    const char *key_label = opts->key_label ? opts->key_label : "ssl_cert_key";
    if (opts->npairs == 0 || opts->npairs > SL_TLS_MAX_PAIRS) {
        sl_tls_errf(err, errlen, "%s: between 1 and %d certificates are supported", cert_label,
                    SL_TLS_MAX_PAIRS);
        return NULL;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        sl_tls_errf(err, errlen, "cannot create a TLS context (%s)", sl_tls_reason());
        return NULL;
    }
    uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    if (opts->prefer_server_ciphers) {
        options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    }
    SSL_CTX_set_options(ctx, options);
    /* Partial writes and a moving buffer let a connection retry a write from a buffer that grew
     * or was compacted meanwhile; idle connections give their record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, sl_tls_no_password);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, 86400); /* Kong's ssl_session_timeout = 1d */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, SL_TLS_INTERMEDIATE_CIPHERS) != 1 ||
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sluice", 6) != 1 ||
        set_ffdhe2048(ctx) < 0) {
        sl_tls_errf(err, errlen, "cannot configure the TLS context (%s)", sl_tls_reason());
        goto fail;
    }
    for (size_t i = 0; i < opts->npairs; i++) {
        if (load_pair(ctx, opts->cert_paths[i], opts->key_paths[i], cert_label, key_label, err,
                      errlen) < 0) {
            goto fail;
        }
    }
    if (opts->alpn != NULL) {
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)opts->alpn);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Connections */

int
sl_tls_conn_init(struct sl_tls_conn *t, SSL_CTX *ctx, int fd, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    ERR_clear_error();
    t->ssl = SSL_new(ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        sl_tls_errf(err, errlen, "cannot create a TLS connection (%s)", sl_tls_reason());
        SSL_free(t->ssl);
        t->ssl = NULL;
        return -1;
    }
    SSL_set_accept_state(t->ssl);
    return 0;
}

void
sl_tls_conn_free(struct sl_tls_conn *t)
{
    SSL_free(t->ssl);
    memset(t, 0, sizeof(*t));
}

/* Maps a failed SSL_* call to SL_AGAIN (with <*want>), 0 (close_notify received) or SL_ERROR. */
static int
classify(struct sl_tls_conn *t, int ret, enum sl_tls_want *want)
{
    int saved = errno;
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = SL_TLS_WANT_READ;
        return SL_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = SL_TLS_WANT_WRITE;
        return SL_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        last_sys_errno = saved;
        t->failed = true;
        return SL_ERROR;
    default:
        last_sys_errno = 0;
        t->failed = true;
        return SL_ERROR;
    }
}

int
sl_tls_handshake(struct sl_tls_conn *t, enum sl_tls_want *want)
{
    *want = SL_TLS_WANT_NONE;
    if (t->established) {
        return SL_OK;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->established = true;
        return SL_OK;
    }
    int c = classify(t, r, want);
    if (c == 0) {
        /* close_notify before the handshake finished */
        t->failed = true;
        last_sys_errno = 0;
        return SL_ERROR;
    }
    return c;
}

ssize_t
sl_tls_read(struct sl_tls_conn *t, void *buf, size_t len, enum sl_tls_want *want)
{
    *want = SL_TLS_WANT_NONE;
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_read_ex(t->ssl, buf, len, &n);
    if (r == 1) {
        return (ssize_t)n;
    }
    return classify(t, r, want);
}

bool
sl_tls_decrypted_pending(const struct sl_tls_conn *t)
{
    return t->ssl != NULL && SSL_pending(t->ssl) > 0;
}

bool
sl_tls_pending(const struct sl_tls_conn *t)
{
    return t->ssl != NULL && (SSL_pending(t->ssl) > 0 || SSL_has_pending(t->ssl) == 1);
}

ssize_t
sl_tls_write(struct sl_tls_conn *t, const void *buf, size_t len, enum sl_tls_want *want)
{
    *want = SL_TLS_WANT_NONE;
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_write_ex(t->ssl, buf, len, &n);
    if (r == 1) {
        return (ssize_t)n;
    }
    int c = classify(t, r, want);
    return c == 0 ? SL_ERROR : c; /* a write cannot "succeed" with 0 bytes */
}

int
sl_tls_shutdown(struct sl_tls_conn *t, enum sl_tls_want *want)
{
    *want = SL_TLS_WANT_NONE;
    /* OpenSSL forbids SSL_shutdown after a fatal error, and there is no session to close before
     * the handshake finished. */
    if (t->ssl == NULL || !t->established || t->failed) {
        return SL_OK;
    }
    ERR_clear_error();
    int r = SSL_shutdown(t->ssl);
    if (r >= 0) {
        /* 0: our close_notify is sent, the peer's is not awaited (nginx does the same) */
        t->sent_shutdown = true;
        return SL_OK;
    }
    int c = classify(t, r, want);
    return c == 0 ? SL_OK : c;
}

const char *
sl_tls_error_string(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    if (e != 0) {
        const char *lib = ERR_lib_error_string(e);
        const char *reason = ERR_reason_error_string(e);
        sl_tls_errf(buf, len, "%s%s%s", lib ? lib : "", lib ? ": " : "", reason ? reason : "error");
    } else if (last_sys_errno != 0) {
        sl_tls_errf(buf, len, "%s", strerror(last_sys_errno));
    } else {
        sl_tls_errf(buf, len, "connection closed by the peer");
    }
    ERR_clear_error();
    last_sys_errno = 0;
    return buf;
}

const char *
sl_tls_alpn_selected(const struct sl_tls_conn *t, size_t *len)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    if (t->ssl != NULL) {
        SSL_get0_alpn_selected(t->ssl, &p, &n);
    }
    *len = p ? n : 0;
    return p && n ? (const char *)p : NULL;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Kong's self-signed default certificate */

static int
add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL) {
        return -1;
    }
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509 *
make_cert(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIGNUM *bn = BN_new();
    unsigned char serial[16];
    bool ok = x != NULL && name != NULL && bn != NULL && RAND_bytes(serial, sizeof(serial)) == 1;
    static const struct {
        const char *field, *value;
    } subject[] = {
        {"C", "US"},   {"ST", "California"},    {"L", "San Francisco"},
        {"O", "Kong"}, {"OU", "IT Department"}, {"CN", "localhost"},
    };
    for (size_t i = 0; ok && i < sizeof(subject) / sizeof(subject[0]); i++) {
        ok = X509_NAME_add_entry_by_txt(name, subject[i].field, MBSTRING_ASC,
                                        (const unsigned char *)subject[i].value, -1, -1, 0) == 1;
    }
    ok = ok && X509_set_version(x, X509_VERSION_3) == 1 &&
         BN_bin2bn(serial, sizeof(serial), bn) != NULL &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
         X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
         X509_time_adj_ex(X509_getm_notAfter(x), 20 * 365, 0, NULL) != NULL && /* 20 years */
         X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
         X509_set_pubkey(x, pkey) == 1 &&
         add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
         add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") == 0 &&
         add_ext(x, NID_subject_key_identifier, "hash") == 0 &&
         X509_sign(x, pkey, EVP_sha256()) > 0;
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Writes through a temporary file in the same directory, created with <mode> (umask can only
 * narrow it; fchmod makes it exact), then renames it over <path>. */
static int
write_pem_atomic(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *cert, char *err,
                 size_t errlen)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        sl_tls_errf(err, errlen, "%s: path too long", path);
        return -1;
    }
    unlink(tmp); /* a leftover of a crashed start with the same pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        sl_tls_errf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    FILE *f = fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        sl_tls_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    ERR_clear_error();
    int ok = pkey != NULL ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_X509(f, cert);
    ok = ok == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unsigned long e = ERR_peek_error();
        sl_tls_errf(err, errlen, "cannot write %s: %s", tmp,
                    e ? ERR_reason_error_string(e) : strerror(saved));
        ERR_clear_error();
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        sl_tls_errf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
sl_tls_ensure_self_signed(const char *cert_path, const char *key_path, enum sl_tls_key_type type,
                          bool *generated, char *err, size_t errlen)
{
    if (generated != NULL) {
        *generated = false;
    }
    struct stat st;
    bool have_cert = stat(cert_path, &st) == 0;
    bool have_key = stat(key_path, &st) == 0;
    if (have_cert && have_key) {
        return 0;
    }
    ERR_clear_error();
    EVP_PKEY *pkey = type == SL_TLS_KEY_ECDSA ? EVP_EC_gen("prime256v1") : EVP_RSA_gen(2048);
    X509 *x = pkey ? make_cert(pkey) : NULL;
    int rc = -1;
    if (x == NULL) {
        sl_tls_errf(err, errlen, "could not generate a default certificate for %s (%s)", cert_path,
                    sl_tls_reason());
        goto out;
    }
    /* The key first: a crash in between leaves a key without a certificate, which the next start
     * replaces, never a certificate whose key is lost. */
    if (write_pem_atomic(key_path, 0600, pkey, NULL, err, errlen) < 0 ||
        write_pem_atomic(cert_path, 0644, NULL, x, err, errlen) < 0) {
        goto out;
    }
    if (generated != NULL) {
        *generated = true;
    }
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}
