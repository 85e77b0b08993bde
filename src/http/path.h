/* SPDX-License-Identifier: Apache-2.0 */
/* Request path normalisation, done once before routing (hardening.md §6; Kong's normalize()):
 * percent-decode unreserved characters only (ALPHA DIGIT - . _ ~), uppercase the hex digits of
 * every other escape, and remove dot segments (RFC 3986 §5.2.4), also those that only appear after
 * decoding (%2e%2e). Decoding is done once: %252e stays %252e (only the escape %25 is looked at).
 * Runs of slashes are merged ("//admin" is "/admin"), as Kong's router does (kong/router/utils.lua
 * strip_uri_args: normalize(uri, true)); %2F stays encoded and never separates segments. The result
 * is a valid origin-form path, safe to forward as is. Kong also decodes escapes of bytes that are
 * neither reserved nor unreserved (%20, %C3, ...), routes on that decoded form and re-escapes them
 * when forwarding (escape(normalize(uri))). Sluice's result is that forwarded form: the same bytes
 * go upstream, and no decoded CR, LF or SP ever comes near a request line. Routing agrees with
 * Kong's because route prefix paths, written in Kong's decoded form, are escaped the same way when
 * the router is built (sl_http_path_escape; docs/internals/http1-parser.md). */
#ifndef SL_HTTP_PATH_H
#define SL_HTTP_PATH_H

#include <stddef.h>

/* The longest normalised form of a <len>-byte path: every raw byte may become a %XX escape. */
#define SL_HTTP_PATH_NORM_MAX(len) (3 * (len))

/* Normalises <in,len> (a path starting with '/', without query) into <out> (at least
 * SL_HTTP_PATH_NORM_MAX(len) bytes; it must not overlap <in>). Returns the normalised length, or
 * -1 when the path is invalid (does not start with '/', bad or truncated %-escape, an escape
 * decoding to NUL, a control byte, or a raw byte outside RFC 3986 pchar and not otherwise
 * tolerated); the caller answers 400. Raw bytes kept: pchar, '/', '[' and ']'. The
 * " < > ^ ` { | } and the bytes >= 0x80 (raw UTF-8) that real clients send unescaped are taken and
 * leave escaped (%22, %C3%A9 ...), as Kong's escape() forwards them: one spelling per path,
 * whichever form the client sent.
 * Refused: CTL, SP, DEL, '\' (a Windows upstream may read it as '/': the /admin\x bypass), '?'
 * and '#'. "*" (OPTIONS *) is not a path: callers skip normalisation for it. Thread-safe, no
 * allocation. */
long sl_http_path_normalize(const char *in, size_t len, char *out);

/* Kong's escape() (kong/tools/uri.lua): copies <in,len> to <out> (at least
 * SL_HTTP_PATH_NORM_MAX(len) bytes) with every byte that is not reserved, unreserved or '%' as an
 * uppercase %XX escape; returns the length written. Route prefix paths are stored in Kong's
 * decoded form ("/café"); escaped, they compare byte for byte with normalised request paths. */
size_t sl_http_path_escape(const char *in, size_t len, char *out);

/* Kong's normalize() form of a normalised path <in,len>: the escapes of bytes that are not
 * reserved (Kong's RESERVED_CHARS "!*'();:@&=+$,/?%#[]") decoded, the others kept; written to
 * <out> (at least <len> bytes; never longer). Regex route paths are matched against it, as Kong
 * matches them against its decoded path. Returns the length. */
size_t sl_http_path_kong_decode(const char *in, size_t len, char *out);

/* The offset in the normalised path <in,len> of the byte at offset <dec_off> of its
 * sl_http_path_kong_decode form (the end of a regex match mapped back, for strip_path). */
size_t sl_http_path_escaped_offset(const char *in, size_t len, size_t dec_off);

#endif
