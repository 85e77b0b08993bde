/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: bytes as a declarative configuration (sl_declarative_load_string), parsed as
 * YAML and, when the first byte is odd, as a ".json" file; when its second bit is set, the store's
 * rows are asked for too, as db_import does. Every error path must free what it built and keep
 * every message within its buffer; rows come back exactly when the configuration does. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/declarative.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[4096];
    char warn[1024];
    struct sl_declarative_opts opts = {.warn = warn, .warnlen = sizeof(warn), .now = 1};
    const char *name = size > 0 && (data[0] & 1) ? "fuzz.json" : "fuzz.yml";
    json_t *rows = NULL;
    if (size > 0 && (data[0] & 2)) {
        opts.rows = &rows;
    }
    struct sl_config *cfg =
        sl_declarative_load_string_opts((const char *)data, size, name, &opts, err, sizeof(err));
    if (opts.rows != NULL && (cfg != NULL) != (rows != NULL)) {
        __builtin_trap();
    }
    json_decref(rows);
    sl_config_free(cfg);
    return 0;
}
