/* SPDX-License-Identifier: Apache-2.0 */
/* certificates, snis and ca_certificates (kong.md §1.7-1.9): PEM fields parsed with OpenSSL, the
 * cert/key pair checks and the CA checks with Kong's messages. Key material is never logged. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};

static X509 *
load_cert(const json_t *v)
{
    if (!json_is_string(v)) {
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(json_string_value(v), (int)json_string_length(v));
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *
load_key(const json_t *v)
{
    if (!json_is_string(v)) {
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(json_string_value(v), (int)json_string_length(v));
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    ERR_clear_error();
    return k;
}

/* 0 when the pair matches; 1 when it does not; -1 when either fails to load (reported elsewhere) */
static int
pair_mismatch(const json_t *cert, const json_t *key, int *key_type)
{
    X509 *x = load_cert(cert);
    EVP_PKEY *k = load_key(key);
    int rc = -1;
    if (x != NULL && k != NULL) {
        rc = X509_check_private_key(x, k) == 1 ? 0 : 1;
        *key_type = EVP_PKEY_base_id(k);
    }
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static int
cert_pair_check(const json_t *entity, json_t *errors, char *err, size_t errlen)
{
    int t1 = 0, t2 = 0;
    if (pair_mismatch(json_object_get(entity, "cert"), json_object_get(entity, "key"), &t1) == 1) {
        snprintf(err, errlen, "certificate does not match key");
        return -1;
    }
    const json_t *ca = json_object_get(entity, "cert_alt");
    if (json_is_string(ca)) {
        if (pair_mismatch(ca, json_object_get(entity, "key_alt"), &t2) == 1) {
            snprintf(err, errlen, "alternative certificate does not match key");
            return -1;
        }
        if (t1 != 0 && t1 == t2) {
            snprintf(err, errlen,
                     "certificate and alternative certificate need to have different type (e.g. "
                     "RSA and ECDSA), the provided certificates were both of the same type");
            return -1;
        }
    }
    return 0;
}

static const struct sl_field cert_fields[] = {
    SL_TD_ID,
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    {.name = "cert",
     .type = SL_FT_STRING,
     .required = true,
     .referenceable = true,
     .custom = sl_typedef_certificate},
    {.name = "key",
     .type = SL_FT_STRING,
     .required = true,
     .referenceable = true,
     .encrypted = true,
     .custom = sl_typedef_key},
    {.name = "cert_alt",
     .type = SL_FT_STRING,
     .referenceable = true,
     .custom = sl_typedef_certificate},
    {.name = "key_alt",
     .type = SL_FT_STRING,
     .referenceable = true,
     .encrypted = true,
     .custom = sl_typedef_key},
    SL_TD_TAGS,
    {0},
};

static const char *const alt_pair[] = {"cert_alt", "key_alt", NULL};
static const char *const pair_sources[] = {"cert", "key", "cert_alt", "key_alt", NULL};

static const struct sl_entity_check cert_checks[] = {
    {.kind = SL_CHECK_MUTUALLY_REQUIRED, .fields = alt_pair},
    {.kind = SL_CHECK_CUSTOM, .fields = pair_sources, .fn = cert_pair_check},
    {0},
};

const struct sl_schema sl_schema_certificates = {
    .name = "certificates",
    .primary_key = pk,
    .workspaceable = true,
    .fields = cert_fields,
    .checks = cert_checks,
};

/* ---- snis ---------------------------------------------------------------------------------------
 */

static const struct sl_field sni_fields[] = {
    SL_TD_ID,
    {.name = "name",
     .type = SL_FT_STRING,
     .required = true,
     .unique = true,
     .custom = sl_typedef_wildcard_host},
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    SL_TD_TAGS,
    {.name = "certificate", .type = SL_FT_FOREIGN, .required = true, .reference = "certificates"},
    {0},
};

const struct sl_schema sl_schema_snis = {
    .name = "snis",
    .primary_key = pk,
    .endpoint_key = "name",
    .workspaceable = true,
    .fields = sni_fields,
};

/* ---- ca_certificates ----------------------------------------------------------------------------
 */

static int
ca_check(const json_t *entity, json_t *errors, char *err, size_t errlen)
{
    const json_t *cv = json_object_get(entity, "cert");
    const char *pem = json_string_value(cv);
    if (pem == NULL) {
        return 0;
    }
    const char *first = strstr(pem, "-----BEGIN CERTIFICATE-----");
    if (first != NULL && strstr(first + 1, "-----BEGIN CERTIFICATE-----") != NULL) {
        snprintf(err, errlen, "please submit only one certificate at a time");
        return -1;
    }
    X509 *x = load_cert(cv);
    if (x == NULL) {
        return 0; /* the field validator reported it */
    }
    int rc = 0;
    if (X509_cmp_time(X509_get0_notAfter(x), NULL) < 0) {
        snprintf(err, errlen, "certificate expired, \"Not After\" time is in the past");
        rc = -1;
    } else if (!(X509_get_extension_flags(x) & EXFLAG_CA)) {
        snprintf(err, errlen,
                 "certificate does not appear to be a CA because it is missing the "
                 "\"CA\" basic constraint");
        rc = -1;
    }
    X509_free(x);
    return rc;
}

/* cert_digest is the hex sha256 of the certificate's DER, computed whenever cert is given */
static int
ca_digest(json_t *in, enum sl_schema_op op, json_t *errors)
{
    X509 *x = load_cert(json_object_get(in, "cert"));
    if (x == NULL) {
        return 0;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) == 1) {
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned int i = 0; i < n; i++) {
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        }
        json_object_set_new(in, "cert_digest", json_string(hex));
    }
    X509_free(x);
    return 0;
}

static const struct sl_field ca_fields[] = {
    SL_TD_ID,
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    {.name = "cert", .type = SL_FT_STRING, .required = true, .custom = sl_typedef_certificate},
    {.name = "cert_digest", .type = SL_FT_STRING, .unique = true},
    SL_TD_TAGS,
    {0},
};

static const char *const ca_sources[] = {"cert", NULL};

static const struct sl_entity_check ca_checks[] = {
    {.kind = SL_CHECK_CUSTOM, .fields = ca_sources, .fn = ca_check},
    {0},
};

const struct sl_schema sl_schema_ca_certificates = {
    .name = "ca_certificates",
    .primary_key = pk,
    .workspaceable = true,
    .fields = ca_fields,
    .checks = ca_checks,
    .shorthand = ca_digest,
};
