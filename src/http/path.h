/* SPDX-License-Identifier: Apache-2.0 */
/* Request path normalisation, done once before routing (hardening.md §6; Kong's normalize()): percent-
 * decode unreserved characters only (ALPHA DIGIT - . _ ~), uppercase the hex digits of every other
 * escape, and remove dot segments (RFC 3986 §5.2.4), also those that only appear after decoding
 * (%2e%2e). Decoding is done once: %252e stays %252E. Slashes are not merged. */
#ifndef SL_HTTP_PATH_H
#define SL_HTTP_PATH_H

#include <stddef.h>

/* Normalises <in,len> (a path starting with '/', without query) into <out> (at least <len> bytes;
 * the result is never longer than the input). Returns the normalised length, or -1 when the path is
 * invalid (does not start with '/', bad or truncated %-escape, an escape decoding to NUL, a control
 * byte, or a raw byte outside RFC 3986 pchar and not otherwise tolerated); the caller answers 400. */
long sl_http_path_normalize(const char *in, size_t len, char *out);

#endif
