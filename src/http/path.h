/* SPDX-License-Identifier: Apache-2.0 */
/* Request path normalisation, done once before routing (hardening.md §6; Kong's normalize()):
 * percent-decode unreserved characters only (ALPHA DIGIT - . _ ~), uppercase the hex digits of
 * every other escape, and remove dot segments (RFC 3986 §5.2.4), also those that only appear after
 * decoding (%2e%2e). Decoding is done once: %252e stays %252e (only the escape %25 is looked at).
 * Runs of slashes are merged ("//admin" is "/admin"), as Kong's router does (kong/router/utils.lua
 * strip_uri_args: normalize(uri, true)); %2F stays encoded and never separates segments. The result
 * is a valid origin-form path, safe to forward as is. Kong also decodes escapes of bytes that are
 * neither reserved nor unreserved (%20, %C3, ...) and re-escapes them when forwarding; keeping them
 * encoded here forwards the same bytes and never lets a decoded CR, LF or SP near a request line
 * (docs/internals/http1-parser.md). */
#ifndef SL_HTTP_PATH_H
#define SL_HTTP_PATH_H

#include <stddef.h>

/* Normalises <in,len> (a path starting with '/', without query) into <out> (at least <len> bytes;
 * the result is never longer than the input; <out> may be <in> to normalise in place). Returns the
 * normalised length, or -1 when the path is invalid (does not start with '/', bad or truncated
 * %-escape, an escape decoding to NUL, a control byte, or a raw byte outside RFC 3986 pchar and
 * not otherwise tolerated); the caller answers 400. Raw bytes kept: pchar, '/', and the
 * " < > [ ] ^ ` { | } that real clients send unescaped and that mean nothing to path semantics.
 * Refused: CTL, SP, DEL, '\' (a Windows upstream may read it as '/': the /admin\x bypass), '?',
 * '#', and every byte >= 0x80 (RFC 3986 has no raw non-ASCII; the request parser refuses them
 * too). "*" (OPTIONS *) is not a path: callers skip normalisation for it. Thread-safe, no
 * allocation. */
long sl_http_path_normalize(const char *in, size_t len, char *out);

#endif
