/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: bytes as a sluice.conf file (sl_conf_load_buffer, environment not read), and
 * the same bytes through the listen, size and duration parsers. Nothing may crash, leak or read out
 * of bounds, whatever the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_conf conf;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[2048];
    sl_conf_load_buffer(&conf, (const char *)data, size, "fuzz.conf", "/tmp/sluice-fuzz", false,
                        err, sizeof(err));

    /* the value parsers take C strings */
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    struct sl_listen ls[SL_CONF_MAX_LISTEN];
    sl_conf_parse_listen(s, ls, SL_CONF_MAX_LISTEN, err, sizeof(err));
    uint64_t sz;
    sl_conf_parse_size(s, &sz);
    int64_t ms;
    sl_conf_parse_duration_ms(s, &ms);
    free(s);
    return 0;
}
