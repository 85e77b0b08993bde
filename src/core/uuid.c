/* SPDX-License-Identifier: Apache-2.0 */
/* UUIDs (src/core/uuid.h). SHA-1 and randomness come from OpenSSL; nothing here keeps state, so
 * every function is thread-safe. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "core/hex.h"
#include "core/uuid.h"

static bool
is_dash_pos(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

bool
sl_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != SL_UUID_STR_LEN) {
        return false;
    }
    for (size_t i = 0; i < SL_UUID_STR_LEN; i++) {
        if (is_dash_pos(i) ? s[i] != '-' : sl_hex_value(s[i]) < 0) {
            return false;
        }
    }
    return true;
}

int
sl_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
    if (len != SL_UUID_STR_LEN || !sl_uuid_valid(s)) {
        return -1;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_dash_pos(i)) {
            continue;
        }
        out[o / 2] =
            (uint8_t)((o % 2 == 0) ? sl_hex_value(s[i]) << 4 : (out[o / 2] | sl_hex_value(s[i])));
        o++;
    }
    return 0;
}

void
sl_uuid_format(const uint8_t in[16], char out[SL_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[in[i] >> 4];
        out[o++] = hex[in[i] & 0xf];
    }
    out[o] = '\0';
}

int
sl_uuid_v4(char out[SL_UUID_STR_LEN + 1])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        return -1;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    sl_uuid_format(b, out);
    return 0;
}

/* SHA-1, fetched once: a fetch per call costs more than hashing a name (a declarative file with
 * 100k unnamed routes derives 100k ids). */
static EVP_MD *sha1_md;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void
fetch_sha1(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int
sl_uuid_v5(const uint8_t ns[16], const char *name, size_t len, uint8_t out[16])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = -1;
    pthread_once(&sha1_once, fetch_sha1);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || sha1_md == NULL) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    if (EVP_DigestInit_ex(ctx, sha1_md, NULL) == 1 && EVP_DigestUpdate(ctx, ns, 16) == 1 &&
        (len == 0 || EVP_DigestUpdate(ctx, name, len) == 1) &&
        EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16) {
        memcpy(out, md, 16);
        out[6] = (uint8_t)((out[6] & 0x0f) | 0x50); /* version 5 */
        out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}
