/* SPDX-License-Identifier: Apache-2.0 */
/* consumers (kong.md §1.3): username and custom_id, at least one of them set. */
#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};
static const char *const names[] = {"custom_id", "username", NULL};

static const struct sl_field fields[] = {
    SL_TD_ID,
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    {.name = "username", .type = SL_FT_STRING, .unique = true},
    {.name = "custom_id", .type = SL_FT_STRING, .unique = true},
    SL_TD_TAGS,
    {0},
};

static const struct sl_entity_check checks[] = {
    {.kind = SL_CHECK_AT_LEAST_ONE_OF, .fields = names},
    {0},
};

const struct sl_schema sl_schema_consumers = {
    .name = "consumers",
    .primary_key = pk,
    .endpoint_key = "username",
    .workspaceable = true,
    .fields = fields,
    .checks = checks,
};
