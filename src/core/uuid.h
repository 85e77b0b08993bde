/* SPDX-License-Identifier: Apache-2.0 */
/* UUIDs, once for the whole code base: Kong's syntax check (`uuid = true`), parsing, formatting,
 * random version 4 (entity ids) and name-based version 5 (the ids Kong's declarative loader and
 * router derive). Stateless and thread-safe. */
#ifndef SL_CORE_UUID_H
#define SL_CORE_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_UUID_STR_LEN 36

/* True when <s> (NUL-terminated) is 36 characters of 8-4-4-4-12 hex digits, either case (Kong's
 * check: no version or variant test). */
bool sl_uuid_valid(const char *s);

/* Parses a valid UUID (NUL-terminated, <len> = 36) into its 16 bytes. Returns 0, or -1 if <s> is
 * not one. */
int sl_uuid_parse(const char *s, size_t len, uint8_t out[16]);

/* Formats 16 bytes as a lowercase UUID string with its NUL (37 bytes). */
void sl_uuid_format(const uint8_t in[16], char out[SL_UUID_STR_LEN + 1]);

/* A random version 4 UUID (OpenSSL RAND_bytes), lowercase, into <out>. Returns 0, or -1 when the
 * random generator fails. */
int sl_uuid_v4(char out[SL_UUID_STR_LEN + 1]);

/* RFC 4122 version 5: SHA-1 of <ns> followed by <name> (<len> bytes), version and variant set.
 * Returns 0, or -1 if OpenSSL fails. */
int sl_uuid_v5(const uint8_t ns[16], const char *name, size_t len, uint8_t out[16]);

#endif
