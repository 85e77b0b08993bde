/* SPDX-License-Identifier: Apache-2.0 */
/* Byte classes shared by the HTTP/1 parser, the chunked decoder and the path normaliser: one
 * 256-entry table, so every hot loop classifies a byte with a single load (no locale, no branches
 * per class). */
#ifndef SL_HTTP_CTYPE_H
#define SL_HTTP_CTYPE_H

#include <stdint.h>

#define SL_HC_TCHAR                                                                                \
    0x01                  /* RFC 9110 tchar: method, header name, transfer-coding, chunk-ext name  \
                           */
#define SL_HC_VALUE 0x02  /* field-vchar / obs-text / SP / HTAB: header value, reason phrase */
#define SL_HC_TARGET 0x04 /* request-target byte: VCHAR except '#', and obs-text (>= 0x80) */
#define SL_HC_HEX 0x08    /* HEXDIG */
#define SL_HC_DIGIT 0x10  /* DIGIT */
#define SL_HC_HOST 0x20   /* reg-name byte we accept in Host: ALPHA DIGIT - . _ ~ */
#define SL_HC_PATH 0x40   /* raw path byte the normaliser takes: pchar, '/', "<>[]^`{|}, >= 0x80 */
#define SL_HC_UNRES 0x80  /* RFC 3986 unreserved: ALPHA DIGIT - . _ ~ (decoded from %XX) */

/* Defined in h1.c; tests/unit/http checks it against the class definitions above. */
extern const uint8_t sl_http_ctype[256];

#define SL_HC_IS(c, cls) ((sl_http_ctype[(unsigned char)(c)] & (cls)) != 0)

#endif
