/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of sl_tls_client_opts_digest (src/net/tls_client.c): the digest that lets https
 * services share a client context and keys their pooled connections. Two option sets must never
 * share a digest unless they are the same, also when OpenSSL runs out of memory while making it:
 * then there is no digest at all. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../failing_alloc.h"
#include "net/tls.h"

/* OpenSSL's allocator takes the caller's file and line: failing_alloc.h's malloc under them. */
static void *
failing_malloc(size_t n, const char *file, int line)
{
    return fa_malloc(n);
}

static void *
plain_realloc(void *p, size_t n, const char *file, int line)
{
    return realloc(p, n);
}

static void
plain_free(void *p, const char *file, int line)
{
    free(p);
}

/* OpenSSL takes an allocator only before its first allocation in the process: installed before
 * main, for this binary's every test. It is malloc itself until a test arms it. */
static bool installed;

__attribute__((constructor)) static void
install_allocator(void)
{
    installed = CRYPTO_set_mem_functions(failing_malloc, plain_realloc, plain_free) == 1;
}

Test(client_digest, same_options_same_digest_and_any_difference_changes_it)
{
    const char *cas[] = {"-----BEGIN CERTIFICATE-----\nA\n"};
    struct sl_tls_client_opts a = {.verify = true, .verify_depth = 1, .ca_pems = cas, .nca = 1};
    struct sl_tls_client_opts b = a;
    char da[65], db[65];
    cr_assert_eq(sl_tls_client_opts_digest(&a, da), 0);
    cr_assert_eq(sl_tls_client_opts_digest(&b, db), 0);
    cr_assert_eq(strlen(da), 64);
    cr_assert_str_eq(da, db);
    b.verify = false;
    cr_assert_eq(sl_tls_client_opts_digest(&b, db), 0);
    cr_assert_str_neq(da, db);
}

Test(client_digest, an_allocation_failure_gives_no_digest_never_a_shared_one)
{
    if (!installed) {
        cr_skip_test("OpenSSL allocated before the test: its allocator cannot be replaced");
    }
    struct sl_tls_client_opts verifying = {.verify = true, .verify_depth = 1};
    struct sl_tls_client_opts trusting = {.verify = false, .verify_depth = 1};
    char want_v[65], want_t[65];
    cr_assert_eq(sl_tls_client_opts_digest(&verifying, want_v), 0);
    cr_assert_eq(sl_tls_client_opts_digest(&trusting, want_t), 0);
    /* each allocation of the digest fails in turn: the result is the right digest or none */
    for (long n = 0; n < 1000; n++) {
        char v[65], t[65];
        fa_arm(n);
        int rv = sl_tls_client_opts_digest(&verifying, v);
        bool failed = fa_failed;
        fa_arm(n);
        int rt = sl_tls_client_opts_digest(&trusting, t);
        fa_disarm();
        cr_assert(rv == 0 ? strcmp(v, want_v) == 0 : rv == -1 && v[0] == '\0', "n=%ld: %s", n, v);
        cr_assert(rt == 0 ? strcmp(t, want_t) == 0 : rt == -1 && t[0] == '\0', "n=%ld: %s", n, t);
        if (!failed) {
            cr_assert_eq(rv, 0);
            return;
        }
    }
    cr_assert_fail("the digest kept allocating");
}

Test(client_digest, the_system_stores_stamp_counts_only_with_the_system_store)
{
    struct sl_tls_client_opts a = {
        .verify = true, .verify_depth = 1, .system_store = true, .system_stamp = "f1:2:3:4.5 d-"};
    struct sl_tls_client_opts b = a;
    b.system_stamp = "f1:2:3:4.6 d-"; /* the bundle rewritten */
    char da[65], db[65];
    cr_assert_eq(sl_tls_client_opts_digest(&a, da), 0);
    cr_assert_eq(sl_tls_client_opts_digest(&b, db), 0);
    cr_expect_str_neq(da, db);
    /* without the system store its files do not matter */
    a.system_store = b.system_store = false;
    cr_assert_eq(sl_tls_client_opts_digest(&a, da), 0);
    cr_assert_eq(sl_tls_client_opts_digest(&b, db), 0);
    cr_expect_str_eq(da, db);
}

Test(client_digest, the_stamp_follows_the_files_openssl_would_load)
{
    char dir[] = "/tmp/sl-store-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof(file), "%s/bundle.pem", dir);
    setenv("SSL_CERT_FILE", file, 1);
    setenv("SSL_CERT_DIR", dir, 1);
    char missing[512], first[512], second[512];
    sl_tls_system_store_stamp(missing, sizeof(missing));
    cr_expect(strncmp(missing, "f- d", 4) == 0, "no bundle yet: %s", missing);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("one\n", f);
    fclose(f);
    sl_tls_system_store_stamp(first, sizeof(first));
    cr_expect_str_neq(first, missing);
    f = fopen(file, "a");
    cr_assert_not_null(f);
    fputs("two\n", f); /* a longer file: the size alone tells, whatever the clock */
    fclose(f);
    sl_tls_system_store_stamp(second, sizeof(second));
    cr_expect_str_neq(second, first);
    /* several directories, ':'-separated: each is stamped; a tiny buffer is cut, not overrun */
    char both[1100];
    snprintf(both, sizeof(both), "%s:/nonexistent-sl-dir", dir);
    setenv("SSL_CERT_DIR", both, 1);
    char many[512];
    sl_tls_system_store_stamp(many, sizeof(many));
    cr_expect(strstr(many, " d-") != NULL, "the second directory is missing: %s", many);
    char tiny[6];
    sl_tls_system_store_stamp(tiny, sizeof(tiny));
    cr_expect_eq(strlen(tiny), 5);
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    unlink(file);
    rmdir(dir);
}
