/* SPDX-License-Identifier: Apache-2.0 */
/* Hex digits, once for the code base (percent-decoding, chunk sizes, UUIDs). */
#ifndef SL_CORE_HEX_H
#define SL_CORE_HEX_H

/* The value of hex digit <c> (either case), or -1 when <c> is not one. */
static inline int
sl_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20; /* ASCII letters to lowercase; digits are done */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#endif
