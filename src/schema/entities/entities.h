/* SPDX-License-Identifier: Apache-2.0 */
/* The core entity schemas (kong/db/schema/entities/ in Kong), one definition per file in this
 * directory; sl_schema_find() in registry.c lists them in Kong's CORE_ENTITIES order. */
#ifndef SL_SCHEMA_ENTITIES_H
#define SL_SCHEMA_ENTITIES_H

#include "schema/schema.h"

extern const struct sl_schema sl_schema_consumers;
extern const struct sl_schema sl_schema_certificates;
extern const struct sl_schema sl_schema_services;
extern const struct sl_schema sl_schema_routes;
extern const struct sl_schema sl_schema_snis;
extern const struct sl_schema sl_schema_upstreams;
extern const struct sl_schema sl_schema_targets;
extern const struct sl_schema sl_schema_plugins;
extern const struct sl_schema sl_schema_tags;
extern const struct sl_schema sl_schema_ca_certificates;

/* Kong's url shorthand parse (socket.url): splits <url> into scheme, host, port (-1 when absent,
 * -2 when not a number) and path (NULL when absent); strings are malloc'd, caller frees. Returns 0.
 */
struct sl_url_parts {
    char *scheme, *host, *path, *port_str;
    long port;
};
int sl_schema_url_parse(const char *url, struct sl_url_parts *out);
void sl_schema_url_free(struct sl_url_parts *p);

#endif
