/* SPDX-License-Identifier: Apache-2.0 */
/* Entities as Kong shows them (Admin API, exports, the store): every schema field present, unset
 * ones null (kong.md §1.0).
 */
#ifndef SL_CONFIG_RENDER_H
#define SL_CONFIG_RENDER_H

#include <jansson.h>

#include "sluice/entity-t.h"

json_t *sl_config_render_service(const struct sl_service *svc);
json_t *sl_config_render_route(const struct sl_route *route);
/* The whole configuration in Kong's declarative format (for GET /config and the config hash). */
json_t *sl_config_render_config(const struct sl_config *cfg);

#endif
