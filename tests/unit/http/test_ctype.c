/* SPDX-License-Identifier: Apache-2.0 */
/* Rebuilds the HTTP byte-class table from the RFC definitions and compares it with sl_http_ctype,
 * so the hand-written table in src/http/h1.c cannot drift from what ctype.h says it holds. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

#include "http/ctype.h"

static bool
in(int c, const char *set)
{
    return c != 0 && strchr(set, c) != NULL;
}

static uint8_t
expected(int c)
{
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    uint8_t f = 0;
    if (alnum || in(c, "!#$%&'*+-.^_`|~")) {
        f |= SL_HC_TCHAR;
    }
    if (c == '\t' || (c >= 0x20 && c <= 0x7e) || c >= 0x80) {
        f |= SL_HC_VALUE;
    }
    if ((c >= 0x21 && c <= 0x7e && c != '#') || c >= 0x80) {
        f |= SL_HC_TARGET;
    }
    if (in(c, "0123456789abcdefABCDEF")) {
        f |= SL_HC_HEX;
    }
    if (c >= '0' && c <= '9') {
        f |= SL_HC_DIGIT;
    }
    if (alnum || in(c, "-._~")) {
        f |= SL_HC_HOST | SL_HC_UNRES;
    }
    if (alnum || in(c, "-._~!$&'()*+,;=:@/\"<>[]^`{|}") || c >= 0x80) {
        f |= SL_HC_PATH;
    }
    return f;
}

Test(http_ctype, table_matches_definitions)
{
    for (int c = 0; c < 256; c++) {
        cr_assert_eq(sl_http_ctype[c], expected(c), "byte 0x%02x: table 0x%02x, expected 0x%02x", c,
                     sl_http_ctype[c], expected(c));
    }
}

Test(http_ctype, path_class_excludes_dangerous_bytes)
{
    const char *never = "%?#\\ \x7f";
    for (const char *p = never; *p; p++) {
        cr_assert_not(SL_HC_IS(*p, SL_HC_PATH), "0x%02x", (unsigned char)*p);
    }
    cr_assert_not(SL_HC_IS('\0', SL_HC_PATH));
}
