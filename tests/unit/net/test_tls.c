/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/net/tls.c: the self-signed default certificate, server contexts (protocols,
 * ciphers, ALPN, dual RSA/ECDSA pairs, chains, refused files and their messages), and the
 * non-blocking handshake, read, write and shutdown wrappers, driven over a socketpair against an
 * OpenSSL client on the same thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "net/tls.h"

static char dir[64];
static char rsa_crt[128], rsa_key[128], ec_crt[128], ec_key[128], rsa2_crt[128], rsa2_key[128];
static char err[1024];

static void
setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    strcpy(dir, "/tmp/sluice-tls-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(rsa_crt, sizeof(rsa_crt), "%s/rsa.crt", dir);
    snprintf(rsa_key, sizeof(rsa_key), "%s/rsa.key", dir);
    snprintf(ec_crt, sizeof(ec_crt), "%s/ec.crt", dir);
    snprintf(ec_key, sizeof(ec_key), "%s/ec.key", dir);
    snprintf(rsa2_crt, sizeof(rsa2_crt), "%s/rsa2.crt", dir);
    snprintf(rsa2_key, sizeof(rsa2_key), "%s/rsa2.key", dir);
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void
gen(const char *crt, const char *key, enum sl_tls_key_type type)
{
    bool made = false;
    cr_assert_eq(sl_tls_ensure_self_signed(crt, key, type, &made, err, sizeof(err)), 0, "%s", err);
    cr_assert(made);
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static X509 *
read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(x);
    return x;
}

static SSL_CTX *
server_ctx(const char *const *certs, const char *const *keys, size_t n, bool prefer_server)
{
    struct sl_tls_server_opts o = {
        .cert_paths = certs,
        .key_paths = keys,
        .npairs = n,
        .cert_label = "admin_ssl_cert",
        .key_label = "admin_ssl_cert_key",
        .alpn = SL_TLS_ALPN_HTTP1,
        .prefer_server_ciphers = prefer_server,
    };
    return sl_tls_server_ctx_new(&o, err, sizeof(err));
}

static SSL_CTX *
rsa_server_ctx(void)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    const char *c[] = {rsa_crt}, *k[] = {rsa_key};
    SSL_CTX *ctx = server_ctx(c, k, 1, false);
    cr_assert_not_null(ctx, "%s", err);
    return ctx;
}

/* ------------------------------------------------------------------------------------------------
 */
/* A server connection and an OpenSSL client over a non-blocking socketpair */

struct pair {
    int sfd, cfd;
    struct sl_tls_conn srv;
    SSL_CTX *cctx;
    SSL *cli;
    bool server_failed, client_failed;
    char server_why[256]; /* sl_tls_error_string right after the server failed */
};

static void
pair_open(struct pair *p, SSL_CTX *sctx)
{
    memset(p, 0, sizeof(*p));
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    p->sfd = sv[0];
    p->cfd = sv[1];
    cr_assert_eq(sl_tls_conn_init(&p->srv, sctx, p->sfd, err, sizeof(err)), 0, "%s", err);
    p->cctx = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(p->cctx);
    SSL_CTX_set_verify(p->cctx, SSL_VERIFY_NONE, NULL);
}

/* Creates the client SSL once the test has configured p->cctx. */
static void
pair_client(struct pair *p)
{
    p->cli = SSL_new(p->cctx);
    cr_assert_not_null(p->cli);
    SSL_set_fd(p->cli, p->cfd);
    SSL_set_connect_state(p->cli);
}

static void
pair_close(struct pair *p)
{
    sl_tls_conn_free(&p->srv);
    SSL_free(p->cli);
    SSL_CTX_free(p->cctx);
    close(p->sfd);
    close(p->cfd);
}

/* Runs both handshakes to completion or failure. True when both completed. */
static bool
pump_handshake(struct pair *p)
{
    if (p->cli == NULL) {
        pair_client(p);
    }
    bool sdone = false, cdone = false;
    int after_failure = 0;
    for (int i = 0; i < 200 && !(sdone && cdone) && after_failure < 5; i++) {
        if (!cdone && !p->client_failed) {
            int r = SSL_do_handshake(p->cli);
            if (r == 1) {
                cdone = true;
            } else {
                int e = SSL_get_error(p->cli, r);
                p->client_failed = e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
            }
        }
        if (!sdone && !p->server_failed) {
            enum sl_tls_want want;
            int rc = sl_tls_handshake(&p->srv, &want);
            if (rc == SL_OK) {
                sdone = true;
            } else if (rc == SL_AGAIN) {
                cr_assert(want == SL_TLS_WANT_READ || want == SL_TLS_WANT_WRITE);
            } else {
                cr_assert_eq(rc, SL_ERROR);
                p->server_failed = true;
                sl_tls_error_string(p->server_why, sizeof(p->server_why));
            }
        }
        if (p->server_failed || p->client_failed) {
            after_failure++;
        }
    }
    ERR_clear_error();
    return sdone && cdone;
}

/* ------------------------------------------------------------------------------------------------
 */
/* The self-signed default certificate */

TestSuite(self_signed, .init = setup, .fini = teardown, .timeout = 60);

Test(self_signed, rsa_has_kongs_subject_extensions_and_modes)
{
    bool made = false;
    cr_assert_eq(
        sl_tls_ensure_self_signed(rsa_crt, rsa_key, SL_TLS_KEY_RSA, &made, err, sizeof(err)), 0,
        "%s", err);
    cr_assert(made);
    struct stat st;
    cr_assert_eq(stat(rsa_key, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "key mode %o", st.st_mode & 07777);
    cr_assert_eq(stat(rsa_crt, &st), 0);
    cr_assert_eq(st.st_mode & 0777 & ~0022, 0644 & ~0022);

    X509 *x = read_cert(rsa_crt);
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
    cr_assert_str_eq(name,
                     "/C=US/ST=California/L=San Francisco/O=Kong/OU=IT Department/CN=localhost");
    X509_NAME_oneline(X509_get_issuer_name(x), name, sizeof(name));
    cr_assert_str_eq(name,
                     "/C=US/ST=California/L=San Francisco/O=Kong/OU=IT Department/CN=localhost");
    cr_assert_eq(X509_get_version(x), X509_VERSION_3);
    /* 20 years, give or take the leap days */
    int days = 0, secs = 0;
    cr_assert_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    cr_assert_eq(days, 20 * 365);
    /* basicConstraints critical CA:FALSE, EKU serverAuth+clientAuth, an SKI */
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    cr_assert_not_null(bc);
    cr_assert_eq(crit, 1);
    cr_assert_eq(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    uint32_t xku = X509_get_extended_key_usage(x);
    cr_assert(xku & XKU_SSL_SERVER);
    cr_assert(xku & XKU_SSL_CLIENT);
    cr_assert_not_null(X509_get0_subject_key_id(x));
    cr_assert_eq(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    cr_assert_eq(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
    cr_assert_eq(EVP_PKEY_get_bits(pub), 2048);
    /* self-signed: it verifies with its own key */
    cr_assert_eq(X509_verify(x, pub), 1);
    /* a 128-bit random serial */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    cr_assert_geq(ASN1_STRING_length(serial), 15);
    X509_free(x);
    /* the key file is an unencrypted PKCS#8 key */
    char *k = slurp(rsa_key);
    cr_assert_not_null(strstr(k, "-----BEGIN PRIVATE KEY-----"));
    free(k);
}

Test(self_signed, ecdsa_is_p256)
{
    gen(ec_crt, ec_key, SL_TLS_KEY_ECDSA);
    X509 *x = read_cert(ec_crt);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    cr_assert_eq(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    char group[64];
    size_t glen = 0;
    cr_assert_eq(EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen), 1);
    cr_assert_str_eq(group, "prime256v1");
    cr_assert_eq(X509_verify(x, pub), 1);
    X509_free(x);
    struct stat st;
    cr_assert_eq(stat(ec_key, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
}

Test(self_signed, existing_pair_is_reused)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    char *c1 = slurp(rsa_crt), *k1 = slurp(rsa_key);
    bool made = true;
    cr_assert_eq(
        sl_tls_ensure_self_signed(rsa_crt, rsa_key, SL_TLS_KEY_RSA, &made, err, sizeof(err)), 0);
    cr_assert_not(made);
    char *c2 = slurp(rsa_crt), *k2 = slurp(rsa_key);
    cr_assert_str_eq(c1, c2);
    cr_assert_str_eq(k1, k2);
    free(c1);
    free(c2);
    free(k1);
    free(k2);
}

Test(self_signed, a_lone_half_is_replaced_by_a_new_pair)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    char *c1 = slurp(rsa_crt);
    cr_assert_eq(unlink(rsa_key), 0);
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    char *c2 = slurp(rsa_crt);
    cr_assert_str_neq(c1, c2);
    /* and the new halves belong together */
    const char *c[] = {rsa_crt}, *k[] = {rsa_key};
    SSL_CTX *ctx = server_ctx(c, k, 1, false);
    cr_assert_not_null(ctx, "%s", err);
    SSL_CTX_free(ctx);
    free(c1);
    free(c2);
}

Test(self_signed, unwritable_directory_is_reported)
{
    char crt[160], key[160];
    snprintf(crt, sizeof(crt), "%s/missing/dir.crt", dir);
    snprintf(key, sizeof(key), "%s/missing/dir.key", dir);
    cr_assert_eq(sl_tls_ensure_self_signed(crt, key, SL_TLS_KEY_ECDSA, NULL, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "missing/dir.key"), "%s", err);
}

/* ------------------------------------------------------------------------------------------------
 */
/* Server contexts: what loads, what is refused, and the messages */

TestSuite(ctx, .init = setup, .fini = teardown, .timeout = 60);

Test(ctx, missing_file_names_the_key_and_the_path)
{
    const char *c[] = {"/nonexistent/a.crt"}, *k[] = {"/nonexistent/a.key"};
    cr_assert_null(server_ctx(c, k, 1, false));
    cr_assert_str_eq(err,
                     "admin_ssl_cert: cannot open /nonexistent/a.crt: No such file or directory");
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    const char *c2[] = {rsa_crt};
    cr_assert_null(server_ctx(c2, k, 1, false));
    cr_assert_str_eq(
        err, "admin_ssl_cert_key: cannot open /nonexistent/a.key: No such file or directory");
}

Test(ctx, garbage_certificate)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/bad.crt", dir);
    write_text(bad, "this is not a certificate\n");
    const char *c[] = {bad}, *k[] = {rsa_key};
    cr_assert_null(server_ctx(c, k, 1, false));
    char want[256];
    snprintf(want, sizeof(want), "admin_ssl_cert: failed loading certificate from %s (", bad);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

Test(ctx, corrupt_key_is_reported_without_its_contents)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/bad.key", dir);
    write_text(
        bad, "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n");
    const char *c[] = {rsa_crt}, *k[] = {bad};
    cr_assert_null(server_ctx(c, k, 1, false));
    char want[256];
    snprintf(want, sizeof(want), "admin_ssl_cert_key: failed loading key from %s (", bad);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    cr_assert_null(strstr(err, "U0VDUkVU"), "%s", err);
}

Test(ctx, mismatched_pair_is_refused_and_no_key_material_is_shown)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    gen(rsa2_crt, rsa2_key, SL_TLS_KEY_RSA);
    gen(ec_crt, ec_key, SL_TLS_KEY_ECDSA);
    const char *c[] = {rsa_crt}, *k[] = {rsa2_key};
    cr_assert_null(server_ctx(c, k, 1, false));
    char want[512];
    snprintf(want, sizeof(want), "admin_ssl_cert_key: %s does not match the certificate in %s",
             rsa2_key, rsa_crt);
    cr_assert_str_eq(err, want);
    /* a key of another type does not match either */
    const char *k2[] = {ec_key};
    cr_assert_null(server_ctx(c, k2, 1, false));
    snprintf(want, sizeof(want), "admin_ssl_cert_key: %s does not match the certificate in %s",
             ec_key, rsa_crt);
    cr_assert_str_eq(err, want);
    /* no line of the key file reaches the message */
    char *key = slurp(rsa2_key);
    for (char *line = strtok(key, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "-----", 5) != 0) {
            cr_assert_null(strstr(err, line));
        }
    }
    free(key);
}

static int
pw_cb(char *buf, int size, int rwflag, void *u)
{
    strcpy(buf, "secret-pass");
    return (int)strlen(buf);
}

Test(ctx, encrypted_key_is_refused_without_prompting)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    FILE *f = fopen(rsa_key, "r");
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(pkey);
    char enc[160];
    snprintf(enc, sizeof(enc), "%s/enc.key", dir);
    f = fopen(enc, "w");
    cr_assert_eq(PEM_write_PrivateKey(f, pkey, EVP_aes_128_cbc(), NULL, 0, pw_cb, NULL), 1);
    fclose(f);
    EVP_PKEY_free(pkey);
    const char *c[] = {rsa_crt}, *k[] = {enc};
    cr_assert_null(server_ctx(c, k, 1, false));
    cr_assert_not_null(strstr(err, "encrypted keys are not supported"), "%s", err);
    cr_assert_not_null(strstr(err, "admin_ssl_cert_key: failed loading key from"), "%s", err);
}

Test(ctx, two_pairs_of_one_type_are_refused)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    gen(rsa2_crt, rsa2_key, SL_TLS_KEY_RSA);
    const char *c[] = {rsa_crt, rsa2_crt}, *k[] = {rsa_key, rsa2_key};
    cr_assert_null(server_ctx(c, k, 2, false));
    char want[256];
    snprintf(want, sizeof(want), "admin_ssl_cert: %s is a second RSA certificate", rsa2_crt);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

Test(ctx, pair_count_is_bounded)
{
    const char *c[] = {"a", "b", "c"};
    cr_assert_null(server_ctx(c, c, 0, false));
    cr_assert_null(server_ctx(c, c, 3, false));
    cr_assert_not_null(strstr(err, "between 1 and 2"));
}

/* ------------------------------------------------------------------------------------------------
 */
/* Handshakes: protocols, ciphers, ALPN, certificate selection */

Test(ctx, tls13_and_alpn_http11)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    pair_client(&p);
    cr_assert_eq(SSL_set_alpn_protos(p.cli, (const unsigned char *)SL_TLS_ALPN_H2_HTTP1,
                                     (unsigned)strlen(SL_TLS_ALPN_H2_HTTP1)),
                 0);
    cr_assert(pump_handshake(&p));
    cr_assert(p.srv.established);
    cr_assert_eq(SSL_version(p.cli), TLS1_3_VERSION);
    size_t n = 0;
    const char *proto = sl_tls_alpn_selected(&p.srv, &n);
    cr_assert_not_null(proto);
    cr_assert_eq(n, 8);
    cr_assert_eq(memcmp(proto, "http/1.1", 8), 0);
    const unsigned char *cp;
    unsigned cn;
    SSL_get0_alpn_selected(p.cli, &cp, &cn);
    cr_assert_eq(cn, 8);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(ctx, without_alpn_the_handshake_completes)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    size_t n = 1;
    cr_assert_null(sl_tls_alpn_selected(&p.srv, &n));
    cr_assert_eq(n, 0);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(ctx, alpn_without_http11_is_refused)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    pair_client(&p);
    cr_assert_eq(SSL_set_alpn_protos(p.cli, (const unsigned char *)"\x02h2", 3), 0);
    cr_assert_not(pump_handshake(&p));
    cr_assert(p.server_failed);
    cr_assert_not_null(strstr(p.server_why, "no application protocol"), "%s", p.server_why);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(ctx, tls11_is_refused)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    SSL_CTX_set_security_level(p.cctx, 0);
    SSL_CTX_set_min_proto_version(p.cctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(p.cctx, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(p.cctx, "ALL:@SECLEVEL=0");
    cr_assert_not(pump_handshake(&p));
    cr_assert(p.server_failed);
    cr_assert_not_null(strstr(p.server_why, "unsupported protocol"), "%s", p.server_why);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

static const char *
tls12_cipher(SSL_CTX *sctx, const char *client_ciphers)
{
    static char name[128];
    struct pair p;
    pair_open(&p, sctx);
    SSL_CTX_set_max_proto_version(p.cctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(p.cctx, client_ciphers);
    const char *out = NULL;
    if (pump_handshake(&p)) {
        snprintf(name, sizeof(name), "%s", SSL_get_cipher_name(p.cli));
        out = name;
    }
    pair_close(&p);
    return out;
}

Test(ctx, tls12_uses_kongs_intermediate_ciphers)
{
    SSL_CTX *sctx = rsa_server_ctx();
    cr_assert_null(tls12_cipher(sctx, "AES128-SHA"));
    cr_assert_null(tls12_cipher(sctx, "ECDHE-RSA-AES128-SHA"));
    cr_assert_null(tls12_cipher(sctx, "AES256-GCM-SHA384")); /* no forward secrecy */
    const char *c = tls12_cipher(sctx, "ECDHE-RSA-AES128-GCM-SHA256");
    cr_assert_not_null(c);
    cr_assert_str_eq(c, "ECDHE-RSA-AES128-GCM-SHA256");
    c = tls12_cipher(sctx, "DHE-RSA-AES256-GCM-SHA384");
    cr_assert_not_null(c);
    cr_assert_str_eq(c, "DHE-RSA-AES256-GCM-SHA384");
    /* Kong's intermediate suite lets the client's preference win */
    c = tls12_cipher(sctx, "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256");
    cr_assert_not_null(c);
    cr_assert_str_eq(c, "ECDHE-RSA-CHACHA20-POLY1305");
    SSL_CTX_free(sctx);

    const char *cs[] = {rsa_crt}, *ks[] = {rsa_key};
    sctx = server_ctx(cs, ks, 1, true);
    cr_assert_not_null(sctx, "%s", err);
    c = tls12_cipher(sctx, "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256");
    cr_assert_not_null(c);
    cr_assert_str_eq(c, "ECDHE-RSA-AES128-GCM-SHA256", "server order with the option");
    SSL_CTX_free(sctx);
}

static int
peer_key_type(SSL_CTX *sctx, const char *client_ciphers)
{
    struct pair p;
    pair_open(&p, sctx);
    SSL_CTX_set_max_proto_version(p.cctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(p.cctx, client_ciphers);
    int type = -1;
    if (pump_handshake(&p)) {
        X509 *x = SSL_get1_peer_certificate(p.cli);
        type = EVP_PKEY_get_base_id(X509_get0_pubkey(x));
        X509_free(x);
    }
    pair_close(&p);
    return type;
}

Test(ctx, rsa_and_ecdsa_pairs_serve_side_by_side)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    gen(ec_crt, ec_key, SL_TLS_KEY_ECDSA);
    const char *c[] = {rsa_crt, ec_crt}, *k[] = {rsa_key, ec_key};
    SSL_CTX *sctx = server_ctx(c, k, 2, false);
    cr_assert_not_null(sctx, "%s", err);
    cr_assert_eq(peer_key_type(sctx, "ECDHE-ECDSA-AES128-GCM-SHA256"), EVP_PKEY_EC);
    cr_assert_eq(peer_key_type(sctx, "ECDHE-RSA-AES128-GCM-SHA256"), EVP_PKEY_RSA);
    SSL_CTX_free(sctx);
}

Test(ctx, chain_after_the_leaf_is_sent)
{
    gen(rsa_crt, rsa_key, SL_TLS_KEY_RSA);
    gen(ec_crt, ec_key, SL_TLS_KEY_ECDSA);
    char chain[160];
    snprintf(chain, sizeof(chain), "%s/chain.crt", dir);
    char *a = slurp(rsa_crt), *b = slurp(ec_crt);
    FILE *f = fopen(chain, "w");
    fprintf(f, "%s%s", a, b);
    fclose(f);
    free(a);
    free(b);
    const char *c[] = {chain}, *k[] = {rsa_key};
    SSL_CTX *sctx = server_ctx(c, k, 1, false);
    cr_assert_not_null(sctx, "%s", err);
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(p.cli);
    cr_assert_eq(sk_X509_num(sent), 2);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

/* ------------------------------------------------------------------------------------------------
 */
/* I/O wrappers */

TestSuite(io, .init = setup, .fini = teardown, .timeout = 60);

Test(io, plain_http_fails_the_handshake)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(p.cfd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_handshake(&p.srv, &want), SL_ERROR);
    cr_assert(p.srv.failed);
    char why[256];
    cr_assert_not_null(strstr(sl_tls_error_string(why, sizeof(why)), "http request"), "%s", why);
    /* no close_notify after a failure */
    cr_assert_eq(sl_tls_shutdown(&p.srv, &want), SL_OK);
    cr_assert_not(p.srv.sent_shutdown);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(io, eof_during_the_handshake_is_an_error)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_handshake(&p.srv, &want), SL_AGAIN);
    cr_assert_eq(want, SL_TLS_WANT_READ);
    shutdown(p.cfd, SHUT_WR);
    cr_assert_eq(sl_tls_handshake(&p.srv, &want), SL_ERROR);
    char why[256];
    sl_tls_error_string(why, sizeof(why));
    cr_assert_gt(strlen(why), 0);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

static void
client_write_all(struct pair *p, const unsigned char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t n = 0;
        int r = SSL_write_ex(p->cli, buf + off, len - off, &n);
        cr_assert_eq(r, 1, "client write");
        off += n;
    }
}

Test(io, read_reports_want_read_then_delivers_bytes)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    unsigned char buf[64];
    enum sl_tls_want want = SL_TLS_WANT_NONE;
    /* TLS 1.3 session tickets may be in flight: the client reads them while waiting */
    cr_assert_eq(sl_tls_read(&p.srv, buf, sizeof(buf), &want), SL_AGAIN);
    cr_assert_eq(want, SL_TLS_WANT_READ);
    client_write_all(&p, (const unsigned char *)"hello", 5);
    cr_assert_eq(sl_tls_read(&p.srv, buf, sizeof(buf), &want), 5);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    cr_assert_eq(sl_tls_read(&p.srv, buf, sizeof(buf), &want), SL_AGAIN);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(io, decrypted_bytes_left_behind_are_pending)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    client_write_all(&p, (const unsigned char *)"abcdef", 6);
    unsigned char b[2];
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_read(&p.srv, b, 2, &want), 2);
    /* the socket is drained, but four bytes wait inside OpenSSL */
    char probe;
    cr_assert_eq(recv(p.sfd, &probe, 1, MSG_PEEK | MSG_DONTWAIT), -1);
    cr_assert(sl_tls_pending(&p.srv));
    cr_assert_eq(sl_tls_read(&p.srv, b, 2, &want), 2);
    cr_assert_eq(sl_tls_read(&p.srv, b, 2, &want), 2);
    cr_assert_eq(memcmp(b, "ef", 2), 0);
    cr_assert_not(sl_tls_pending(&p.srv));
    pair_close(&p);
    SSL_CTX_free(sctx);
}

/* Drains what the client can read without blocking into <out> at <*got>. */
static void
client_drain(struct pair *p, unsigned char *out, size_t cap, size_t *got)
{
    for (;;) {
        size_t n = 0;
        if (SSL_read_ex(p->cli, out + *got, cap - *got, &n) != 1) {
            int e = SSL_get_error(p->cli, 0);
            cr_assert(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL ||
                      e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_WANT_WRITE);
            ERR_clear_error();
            return;
        }
        *got += n;
    }
}

Test(io, large_write_reports_want_write_and_resumes_from_a_moved_buffer)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    const size_t total = 4 * 1024 * 1024;
    unsigned char *src = malloc(total), *dst = malloc(total);
    for (size_t i = 0; i < total; i++) {
        src[i] = (unsigned char)(i * 31 + (i >> 13));
    }
    size_t sent = 0, got = 0;
    int blocked = 0;
    while (got < total) {
        while (sent < total) {
            enum sl_tls_want want;
            /* after SL_AGAIN the same bytes are offered again from another address, as a
             * connection buffer that was compacted or grew would */
            unsigned char *copy = malloc(total - sent);
            memcpy(copy, src + sent, total - sent);
            ssize_t n = sl_tls_write(&p.srv, copy, total - sent, &want);
            free(copy);
            if (n == SL_AGAIN) {
                cr_assert_eq(want, SL_TLS_WANT_WRITE);
                blocked++;
                break;
            }
            cr_assert_gt(n, 0);
            cr_assert_leq((size_t)n, total - sent);
            sent += (size_t)n;
        }
        size_t before = got;
        client_drain(&p, dst, total, &got);
        cr_assert(got > before || sent == total, "no progress");
    }
    cr_assert_gt(blocked, 0, "a socketpair cannot take 4 MiB at once");
    cr_assert_eq(memcmp(src, dst, total), 0);
    free(src);
    free(dst);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(io, shutdown_sends_close_notify)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_shutdown(&p.srv, &want), SL_OK);
    cr_assert(p.srv.sent_shutdown);
    unsigned char b[16];
    size_t n = 0;
    int r = SSL_read_ex(p.cli, b, sizeof(b), &n);
    cr_assert_eq(r, 0);
    cr_assert_eq(SSL_get_error(p.cli, r), SSL_ERROR_ZERO_RETURN);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(io, peer_close_notify_reads_as_zero)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    cr_assert_geq(SSL_shutdown(p.cli), 0);
    unsigned char b[16];
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_read(&p.srv, b, sizeof(b), &want), 0);
    cr_assert_not(p.srv.failed);
    /* our close_notify may still go out after the peer's */
    cr_assert_eq(sl_tls_shutdown(&p.srv, &want), SL_OK);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(io, truncation_without_close_notify_is_an_error)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    shutdown(p.cfd, SHUT_WR);
    unsigned char b[16];
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_read(&p.srv, b, sizeof(b), &want), SL_ERROR);
    cr_assert(p.srv.failed);
    cr_assert_eq(sl_tls_shutdown(&p.srv, &want), SL_OK);
    cr_assert_not(p.srv.sent_shutdown);
    pair_close(&p);
    SSL_CTX_free(sctx);
}

Test(io, garbage_after_the_handshake_is_an_error)
{
    SSL_CTX *sctx = rsa_server_ctx();
    struct pair p;
    pair_open(&p, sctx);
    cr_assert(pump_handshake(&p));
    const char junk[] = "\x17\x03\x03\x00\x10this is no record";
    cr_assert_gt(write(p.cfd, junk, sizeof(junk) - 1), 0);
    unsigned char b[64];
    enum sl_tls_want want;
    cr_assert_eq(sl_tls_read(&p.srv, b, sizeof(b), &want), SL_ERROR);
    char why[256];
    sl_tls_error_string(why, sizeof(why));
    cr_assert_gt(strlen(why), 0);
    pair_close(&p);
    SSL_CTX_free(sctx);
}
