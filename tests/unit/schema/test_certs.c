/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of certificates and ca_certificates: real self-signed certificates and keys generated
 * with OpenSSL in the test, mismatched pairs, alternate pairs, the CA constraint, expiry, digest.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "helpers.h"
#include "schema/entities/entities.h"

static EVP_PKEY *
gen_key(int rsa)
{
    EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    cr_assert_not_null(k);
    return k;
}

static char *
pem_of_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

/* A self-signed certificate for <k>, valid from <from_s> to <to_s> seconds from now. */
static char *
self_signed(EVP_PKEY *k, int ca, long from_s, long to_s)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test.local", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    if (ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext =
            X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    X509_free(x);
    return out;
}

static json_t *
cert_input(const char *cert, const char *key)
{
    json_t *o = json_object();
    json_object_set_new(o, "cert", json_string(cert));
    json_object_set_new(o, "key", json_string(key));
    return o;
}

static json_t *
process(const struct sl_schema *s, json_t *in, json_t **errs)
{
    json_t *o = sl_schema_process(s, in, SL_SCHEMA_INSERT, NULL, errs);
    json_decref(in);
    return o;
}

Test(certificates, matching_pair_and_mismatch)
{
    EVP_PKEY *k1 = gen_key(0), *k2 = gen_key(0);
    char *c1 = self_signed(k1, 0, 0, 86400), *p1 = pem_of_key(k1), *p2 = pem_of_key(k2);
    json_t *errs = NULL;
    json_t *o = process(&sl_schema_certificates, cert_input(c1, p1), &errs);
    cr_assert_not_null(o, "%s", jtext(errs));
    cr_assert(json_is_null(json_object_get(o, "cert_alt")));
    json_decref(o);

    o = process(&sl_schema_certificates, cert_input(c1, p2), &errs);
    cr_assert_null(o);
    assert_json(errs, "{\"@entity\":[\"certificate does not match key\"]}");
    json_decref(errs);
    free(c1);
    free(p1);
    free(p2);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
}

Test(certificates, unparsable_pem)
{
    json_t *errs = NULL;
    json_t *o = process(&sl_schema_certificates, cert_input("nope", "nope"), &errs);
    cr_assert_null(o);
    cr_assert(strncmp(err_at(errs, "cert"), "invalid certificate: ", 21) == 0, "%s",
              err_at(errs, "cert"));
    cr_assert(strncmp(err_at(errs, "key"), "invalid key: ", 13) == 0, "%s", err_at(errs, "key"));
    /* the pair check does not run over invalid fields */
    cr_assert_null(json_object_get(errs, "@entity"));
    json_decref(errs);
    o = process(&sl_schema_certificates, jparse("{}"), &errs);
    assert_json(errs, "{\"cert\":\"required field missing\",\"key\":\"required field missing\"}");
    json_decref(errs);
}

Test(certificates, alternate_pair)
{
    EVP_PKEY *ec = gen_key(0), *rsa = gen_key(1), *ec2 = gen_key(0);
    char *cec = self_signed(ec, 0, 0, 86400), *kec = pem_of_key(ec);
    char *crsa = self_signed(rsa, 0, 0, 86400), *krsa = pem_of_key(rsa);
    char *cec2 = self_signed(ec2, 0, 0, 86400), *kec2 = pem_of_key(ec2);
    json_t *errs = NULL;

    json_t *in = cert_input(crsa, krsa);
    json_object_set_new(in, "cert_alt", json_string(cec));
    json_object_set_new(in, "key_alt", json_string(kec));
    json_t *o = process(&sl_schema_certificates, in, &errs);
    cr_assert_not_null(o, "%s", jtext(errs));
    json_decref(o);

    in = cert_input(crsa, krsa);
    json_object_set_new(in, "cert_alt", json_string(cec));
    cr_assert_null(process(&sl_schema_certificates, in, &errs));
    assert_json(json_object_get(errs, "@entity"),
                "[\"all or none of these fields must be set: 'cert_alt', 'key_alt'\"]");
    json_decref(errs);

    in = cert_input(cec2, kec2);
    json_object_set_new(in, "cert_alt", json_string(cec));
    json_object_set_new(in, "key_alt", json_string(kec));
    cr_assert_null(process(&sl_schema_certificates, in, &errs));
    assert_json(json_object_get(errs, "@entity"),
                "[\"certificate and alternative certificate need to have different type (e.g. RSA "
                "and ECDSA), the provided certificates were both of the same type\"]");
    json_decref(errs);

    in = cert_input(crsa, krsa);
    json_object_set_new(in, "cert_alt", json_string(cec));
    json_object_set_new(in, "key_alt", json_string(kec2));
    cr_assert_null(process(&sl_schema_certificates, in, &errs));
    assert_json(json_object_get(errs, "@entity"),
                "[\"alternative certificate does not match key\"]");
    json_decref(errs);

    free(cec);
    free(kec);
    free(crsa);
    free(krsa);
    free(cec2);
    free(kec2);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec2);
}

static json_t *
ca_input(const char *cert)
{
    json_t *o = json_object();
    json_object_set_new(o, "cert", json_string(cert));
    return o;
}

Test(ca_certificates, ca_constraint_expiry_digest)
{
    EVP_PKEY *k = gen_key(0);
    char *ca = self_signed(k, 1, 0, 86400);
    char *leaf = self_signed(k, 0, 0, 86400);
    char *old = self_signed(k, 1, -2 * 86400, -86400);
    json_t *errs = NULL;

    json_t *o = process(&sl_schema_ca_certificates, ca_input(ca), &errs);
    cr_assert_not_null(o, "%s", jtext(errs));
    const char *digest = err_at(o, "cert_digest");
    cr_assert_eq(strlen(digest), 64);
    cr_assert(strspn(digest, "0123456789abcdef") == 64);
    json_decref(o);

    cr_assert_null(process(&sl_schema_ca_certificates, ca_input(leaf), &errs));
    assert_json(errs, "{\"@entity\":[\"certificate does not appear to be a CA because it is "
                      "missing the \\\"CA\\\" basic constraint\"]}");
    json_decref(errs);

    cr_assert_null(process(&sl_schema_ca_certificates, ca_input(old), &errs));
    assert_json(errs, "{\"@entity\":[\"certificate expired, \\\"Not After\\\" time is in the "
                      "past\"]}");
    json_decref(errs);

    size_t n = strlen(ca) * 2 + 1;
    char *two = malloc(n);
    snprintf(two, n, "%s%s", ca, ca);
    cr_assert_null(process(&sl_schema_ca_certificates, ca_input(two), &errs));
    assert_json(errs, "{\"@entity\":[\"please submit only one certificate at a time\"]}");
    json_decref(errs);

    free(two);
    free(ca);
    free(leaf);
    free(old);
    EVP_PKEY_free(k);
}

Test(certificates, schema_json_marks_secrets)
{
    json_t *j = sl_schema_to_json(&sl_schema_certificates);
    assert_json(json_array_get(json_object_get(j, "fields"), 4),
                "{\"key\":{\"type\":\"string\",\"required\":true,\"referenceable\":true,"
                "\"encrypted\":true}}");
    json_decref(j);
}
