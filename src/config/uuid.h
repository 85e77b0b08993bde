/* SPDX-License-Identifier: Apache-2.0 */
/* UUIDs for configuration entities: parsing and name-based (v5) generation, the
 * scheme Kong's declarative loader uses to give entities stable ids. */
#ifndef SL_CONFIG_UUID_H
#define SL_CONFIG_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_UUID_STR_LEN 36

/* Parses a UUID (NUL-terminated, <len> = 36; the syntax check is sl_schema_is_uuid) into its 16
 * bytes. Returns 0, or -1 if <s> is not one. */
int sl_uuid_parse(const char *s, size_t len, uint8_t out[16]);

/* Formats 16 bytes as a lowercase UUID string with its NUL (37 bytes). */
void sl_uuid_format(const uint8_t in[16], char out[SL_UUID_STR_LEN + 1]);

/* RFC 4122 version 5: SHA-1 of <ns> followed by <name> (<len> bytes), version and variant set.
 * Returns 0, or -1 if OpenSSL fails. */
int sl_uuid_v5(const uint8_t ns[16], const char *name, size_t len, uint8_t out[16]);

#endif
