/* SPDX-License-Identifier: Apache-2.0 */
/* The registry of entity hooks the generic endpoints consult, and the small ones for snis and
 * targets (kong/api/routes/snis.lua and upstreams.lua): disabled paths, targets addressed by
 * "host:port" inside their upstream, PUT that only updates, and the raw /targets/all page. */
#include <string.h>

#include "admin/internal.h"
#include "sluice/log.h"

/* Kong looks a target up among its upstream's targets by exact string (select_by_upstream_filter
 * compares `target` as stored): "h" does not find "h:8000". Group 0 of the targets descriptor is
 * their cache key {upstream, target}. */
static json_t *
target_find_child(struct sl_store *st, const char *upstream_id, const char *key)
{
    json_t *probe = json_pack("{s{ss}ss}", "upstream", "id", upstream_id, "target", key);
    json_t *row = NULL;
    struct sl_store_err err = {0};
    if (probe != NULL && sl_store_select_group(st, &sl_store_entity_targets, 0, probe, &row,
                                               &err) == SL_STORE_DB_ERROR) {
        sl_log(SL_LOG_ERR, "admin: target lookup failed: %s", err.message ? err.message : "?");
    }
    sl_store_err_clear(&err);
    json_decref(probe);
    return row;
}

/* Kong 3.x (routes/upstreams.lua): /targets* are disabled; a target is read, updated (PUT and
 * PATCH both call update_entity) and deleted through its upstream, and answers 404 when absent. */
static const struct sl_admin_hooks target_hooks = {
    .entity = "targets",
    .disabled = true,
    .put_updates = true,
    .delete_absent_404 = true,
    .raw_list = "all",
    .find_child = target_find_child,
};

/* routes/snis.lua: ["/snis/:snis/certificate"] = endpoints.disable */
static const struct sl_admin_hooks sni_hooks = {
    .entity = "snis",
    .no_parent_path = true,
};

static const struct sl_admin_hooks *const all_hooks[] = {
    &sl_admin_certificate_hooks,
    &sni_hooks,
    &target_hooks,
    NULL,
};

const struct sl_admin_hooks *
sl_admin_hooks_find(const char *entity)
{
    for (size_t i = 0; entity != NULL && all_hooks[i] != NULL; i++) {
        if (strcmp(all_hooks[i]->entity, entity) == 0) {
            return all_hooks[i];
        }
    }
    return NULL;
}
