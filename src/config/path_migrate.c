/* SPDX-License-Identifier: Apache-2.0 */
/* Route path migration for old declarative format versions (path_migrate.h). */
#include <ctype.h>
#include <string.h>

#include "core/hex.h"
#include "config/path_migrate.h"
#include "schema/typedefs.h"

/* RFC 3986 reserved characters stay encoded (kong.tools.uri RESERVED_CHARS). */
static bool
is_reserved(int c)
{
    return c != 0 && strchr("!*'();:@&=+$,/?%#[]", c) != NULL;
}

bool
sl_config_migrate_path(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    bool plain = true;
    for (size_t i = 0; i < len && plain; i++) {
        plain = isalnum((unsigned char)in[i]) || strchr(".-_~/%", in[i]) != NULL;
    }
    if (plain) {
        return outlen >= len + 1 && sl_typedef_normalize_path(in, out, outlen) == 0;
    }
    if (outlen < len + 2) {
        return false;
    }
    size_t w = 0;
    out[w++] = '~';
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && isxdigit((unsigned char)in[i + 1]) &&
            isxdigit((unsigned char)in[i + 2])) {
            int c = sl_hex_value(in[i + 1]) * 16 + sl_hex_value(in[i + 2]);
            if (is_reserved(c)) {
                out[w++] = '%';
                out[w++] = (char)toupper((unsigned char)in[i + 1]);
                out[w++] = (char)toupper((unsigned char)in[i + 2]);
            } else {
                if (c != 0 && strchr(".^-{}\\|", c) != NULL) {
                    out[w++] = '\\';
                }
                out[w++] = (char)c;
            }
            i += 2;
        } else {
            out[w++] = in[i];
        }
    }
    out[w] = '\0';
    return true;
}
