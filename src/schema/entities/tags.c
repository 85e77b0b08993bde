/* SPDX-License-Identifier: Apache-2.0 */
/* tags (kong.md §1.12): the read-only index of tag → entity, never exported. */
#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"tag", NULL};

static const struct sl_field fields[] = {
    {.name = "tag", .type = SL_FT_STRING, .required = true, .custom = sl_typedef_tag},
    {.name = "entity_name", .type = SL_FT_STRING, .required = true},
    {.name = "entity_id", .type = SL_FT_STRING, .required = true, .uuid = true},
    {0},
};

const struct sl_schema sl_schema_tags = {
    .name = "tags",
    .primary_key = pk,
    .db_export_off = true,
    .fields = fields,
};
