/* SPDX-License-Identifier: Apache-2.0 */
/* TLS on non-blocking sockets (OpenSSL): server contexts built from PEM files with Kong's
 * `ssl_cipher_suite = intermediate` profile, ALPN, the handshake, read, write and close_notify
 * wrappers that tell a libev caller which readiness to wait for, and Kong's self-signed default
 * certificates. It knows nothing of HTTP and never logs: errors go to caller buffers, and never
 * carry key material. */
#ifndef SL_NET_TLS_H
#define SL_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "sluice/rc.h"

/* ALPN lists in wire format (length-prefixed names, server preference first), for
 * sl_tls_server_opts.alpn. */
#define SL_TLS_ALPN_HTTP1 "\x08http/1.1"
#define SL_TLS_ALPN_H2_HTTP1 "\x02h2\x08http/1.1"

/* At most one certificate per key type: one RSA and one ECDSA (Kong's dual default pair). */
#define SL_TLS_MAX_PAIRS 2

/* Kong's ssl_cipher_suite = intermediate (kong/conf_loader/constants.lua, Mozilla guideline 5.7).
 * TLS 1.3 suites are OpenSSL's defaults, as with nginx. */
#define SL_TLS_INTERMEDIATE_CIPHERS                                                                \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"       \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

/* What a call that returned SL_AGAIN waits for. The values are libev's EV_READ and EV_WRITE
 * (checked at compile time in tls.c), so a caller can pass them to ev_io_set directly. */
enum sl_tls_want {
    SL_TLS_WANT_NONE = 0,
    SL_TLS_WANT_READ = 0x01,
    SL_TLS_WANT_WRITE = 0x02,
    SL_TLS_WANT_MAX
};

enum sl_tls_key_type { SL_TLS_KEY_RSA = 0, SL_TLS_KEY_ECDSA, SL_TLS_KEY_MAX };

struct sl_tls_server_opts {
    const char *const *cert_paths; /* PEM: the leaf first, then its chain; one per pair */
    const char *const *key_paths;  /* PEM private keys, unencrypted, same order */
    size_t npairs;                 /* 1..SL_TLS_MAX_PAIRS, at most one per key type */
    const char *cert_label;        /* names in messages, e.g. "admin_ssl_cert"; NULL: "ssl_cert" */
    const char *key_label;         /* e.g. "admin_ssl_cert_key"; NULL: "ssl_cert_key" */
    const char *alpn;              /* SL_TLS_ALPN_*; must outlive the context; NULL: no ALPN */
    bool prefer_server_ciphers;    /* Kong's intermediate suite says off */
};

/* Creates a server context: TLS 1.2 and 1.3 only, SL_TLS_INTERMEDIATE_CIPHERS, ffdhe2048 for the
 * DHE suites, no renegotiation, no compression, a 1-day session cache and tickets (Kong's
 * defaults), released buffers on idle connections, the certificate pairs of <opts> (each key must
 * match its certificate) and, with opts->alpn, an ALPN selection that picks the first server
 * protocol the client offers and refuses the handshake (no_application_protocol) when there is
 * none, as nginx does. Encrypted keys are refused (nothing ever prompts on a terminal). Returns
 * the context (free with SSL_CTX_free), or NULL with a message such as
 * "admin_ssl_cert_key: /k.pem does not match the certificate in /c.pem" in <err>. Messages name
 * files, never their contents. Any thread. */
SSL_CTX *sl_tls_server_ctx_new(const struct sl_tls_server_opts *opts, char *err, size_t errlen);

/* A context towards upstreams (nginx's proxy_ssl_*; Kong sets them per service: tls_verify,
 * tls_verify_depth, ca_certificates, client_certificate). */
struct sl_tls_client_opts {
    bool verify;      /* check the server's chain and its name (sl_tls_client_conn_init) */
    int verify_depth; /* intermediate certificates allowed above the leaf (OpenSSL's depth) */
    /* Trusted certificates when verifying: the system's store (OpenSSL's default paths; Kong's
     * lua_ssl_trusted_certificate = system) and/or PEM texts (one or more certificates each).
     * Neither: nothing is trusted, every verification fails (nginx without
     * proxy_ssl_trusted_certificate). */
    bool system_store;
    /* With system_store: what the store's files looked like when these options were made
     * (sl_tls_system_store_stamp). It enters the digest, so a context built from an older
     * store is not taken over once the files have changed. NULL: not considered. */
    const char *system_stamp;
    const char *const *ca_pems;
    size_t nca;
    const char *cert_pem; /* a client certificate (leaf, then its chain), or NULL */
    const char *key_pem;  /* its private key, unencrypted */
};

/* Creates a client context: TLS 1.2 and 1.3 (nginx's proxy_ssl_protocols), OpenSSL's default
 * ciphers, no renegotiation or compression, an end of stream without close_notify read as an end
 * (servers that close after a close-delimited body often skip it; nginx reads it so too),
 * released buffers on idle connections, and <opts>. Returns the context (SSL_CTX_free), or NULL
 * with a message in <err> that never quotes key material. Any thread. */
SSL_CTX *sl_tls_client_ctx_new(const struct sl_tls_client_opts *opts, char *err, size_t errlen);

/* A digest of <opts> (SHA-256, 64 hex digits and a NUL in <out>): two option sets with the same
 * digest make interchangeable contexts and connections. Returns 0, or -1 (out of memory) with
 * <out> empty: no digest at all, which must never key a context or a connection. */
int sl_tls_client_opts_digest(const struct sl_tls_client_opts *opts, char out[65]);

/* Describes the system's trusted-certificate store as OpenSSL's default verify paths find it
 * (the file and the directory, or those named by SSL_CERT_FILE / SSL_CERT_DIR): device, inode,
 * size and modification time of each, "-" for one that does not exist. Rewriting the bundle
 * (update-ca-certificates) or adding a hashed link to the directory changes it. Writes a NUL-
 * terminated string into <out> (truncated to <len>). Any thread. */
void sl_tls_system_store_stamp(char *out, size_t len);

/* One TLS connection over a non-blocking socket. */
struct sl_tls_conn {
    SSL *ssl;           /* owned */
    bool established;   /* the handshake completed */
    bool failed;        /* a fatal error happened: no close_notify may be sent */
    bool sent_shutdown; /* close_notify was queued */
};

/* Attaches a server-side TLS state from <ctx> to the connected, non-blocking socket <fd> (which
 * the caller keeps owning and closes after sl_tls_conn_free). OpenSSL writes with write(2), so the
 * process must ignore SIGPIPE (sluice does). Returns 0, or -1 with a message in <err>
 * (allocation). */
int sl_tls_conn_init(struct sl_tls_conn *t, SSL_CTX *ctx, int fd, char *err, size_t errlen);
/* Where a client connection's TLS session goes once the server grants one (for TLS 1.3, when its
 * ticket arrives, which may be during the first read): <save> takes over one reference to
 * <sess>. Called on the connection's thread, from inside a handshake or read on it. */
struct sl_tls_session_sink {
    void (*save)(void *ud, SSL_SESSION *sess);
    void *ud;
};

/* Attaches a client-side TLS state from <ctx> to the socket <fd> (as sl_tls_conn_init). <name>
 * (no port; may be NULL or empty) is sent as SNI unless it is an IP literal, and, when <ctx>
 * verifies, is the name (or address) the server's certificate must match. <resume> (may be NULL;
 * not taken over) is a session of an earlier connection to offer (nginx's proxy_ssl_session_reuse);
 * <sink> (may be NULL; must outlive the connection's state) receives the sessions this one is
 * granted. */
int sl_tls_client_conn_init(struct sl_tls_conn *t, SSL_CTX *ctx, int fd, const char *name,
                            SSL_SESSION *resume, const struct sl_tls_session_sink *sink, char *err,
                            size_t errlen);
/* The handshake resumed an earlier session (no certificate exchange). */
bool sl_tls_session_reused(const struct sl_tls_conn *t);
/* Why the server's certificate was refused, as "(20: unable to get local issuer certificate)"
 * style text in <buf> (nginx's "upstream SSL certificate verify error"), or NULL when the
 * handshake did not fail on verification. */
const char *sl_tls_verify_error(const struct sl_tls_conn *t, char *buf, size_t len);
/* Frees the TLS state (without sending anything); <t> may be zeroed or already freed. */
void sl_tls_conn_free(struct sl_tls_conn *t);

/* Advances the server handshake. Returns SL_OK when it is complete, SL_AGAIN with <*want> set
 * when the socket must become readable or writable first, SL_ERROR when it failed (a peer that is
 * not speaking TLS, e.g. plain HTTP, no shared protocol or cipher, a reset); sl_tls_error_string
 * then says why. */
int sl_tls_handshake(struct sl_tls_conn *t, enum sl_tls_want *want);

/* Reads decrypted bytes into <buf> (at most <len>, > 0). Returns the count (> 0), 0 when the peer
 * closed the TLS session cleanly (close_notify), SL_AGAIN with <*want> (a read may need the
 * socket writable), or SL_ERROR (reset, truncation without close_notify, a bad record). Records
 * already decrypted are not visible to poll(): after a successful read, call again, or check
 * sl_tls_pending, before waiting for readiness. */
ssize_t sl_tls_read(struct sl_tls_conn *t, void *buf, size_t len, enum sl_tls_want *want);
/* True when bytes are buffered inside the TLS layer: decrypted ones, or part of a record read
 * from the socket (then a read may still block, waiting for the rest). */
bool sl_tls_pending(const struct sl_tls_conn *t);
/* True when decrypted bytes wait inside the TLS layer: a read returns them without blocking. */
bool sl_tls_decrypted_pending(const struct sl_tls_conn *t);

/* Encrypts and sends up to <len> (> 0) bytes of <buf>. Returns the count accepted (> 0; may be
 * less than <len>), SL_AGAIN with <*want>, or SL_ERROR. After SL_AGAIN, call again with the same
 * bytes at the head of <buf> and a <len> no smaller than before; <buf> itself may move. */
ssize_t sl_tls_write(struct sl_tls_conn *t, const void *buf, size_t len, enum sl_tls_want *want);

/* Sends close_notify without waiting for the peer's (as nginx does). Returns SL_OK when it was
 * sent or there is nothing to send (the handshake never completed, or the session failed),
 * SL_AGAIN with <*want> when the socket is full (call again when ready, or give up and close),
 * SL_ERROR when the socket is gone. */
int sl_tls_shutdown(struct sl_tls_conn *t, enum sl_tls_want *want);

/* Describes the last failure on this thread (OpenSSL's error queue, or errno after a system call
 * error) into <buf>, and clears the queue. For logs: it never contains key material. */
const char *sl_tls_error_string(char *buf, size_t len);

/* The ALPN protocol the handshake selected, e.g. "http/1.1" (pointer into <t>, valid until
 * sl_tls_conn_free), or NULL with <*len> 0 when none was. */
const char *sl_tls_alpn_selected(const struct sl_tls_conn *t, size_t *len);

/* Makes sure a self-signed certificate and its key exist at <cert_path> and <key_path>, as Kong's
 * gen_default_ssl_cert does at `kong prepare`: when both files exist they are kept (whatever they
 * hold; loading checks them); when one or both are missing, a new pair is written: an RSA 2048 or
 * ECDSA P-256 key (per <type>), X.509 v3, a random 128-bit serial, valid 20 years, subject and
 * issuer C=US, ST=California, L=San Francisco, O=Kong, OU=IT Department, CN=localhost,
 * basicConstraints critical CA:FALSE, extendedKeyUsage serverAuth,clientAuth, and a subject key
 * identifier; signed with SHA-256. The key file is created with mode 0600, the certificate 0644;
 * each is written to a temporary file and renamed, so a crash never leaves a torn file. The
 * directory must exist. Sets <*generated> (may be NULL) to whether a pair was written. Returns 0,
 * or -1 with a message naming the file in <err>. */
int sl_tls_ensure_self_signed(const char *cert_path, const char *key_path,
                              enum sl_tls_key_type type, bool *generated, char *err, size_t errlen);

#endif
