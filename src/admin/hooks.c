/* SPDX-License-Identifier: Apache-2.0 */
/* The registry of entity hooks the generic endpoints consult, and the small ones for snis and
 * targets (kong/api/routes/snis.lua and upstreams.lua): disabled paths, targets addressed by
 * "host:port" inside their upstream, PUT that only updates, and the raw /targets/all page; and
 * for ca_certificates the delete refused while a service uses one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"
#include "schema/errors.h"
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

/* kong/db/dao/ca_certificates.lua: a CA certificate that a service still lists in its
 * ca_certificates cannot be deleted. services.ca_certificates is an array of ids, not a foreign
 * key the store could restrict on, so the services are walked (in id order: the first one using it
 * is named). */
struct ca_user {
    const char *ca_id;
    char *service_id; /* malloc'd when found */
};

static int
ca_user_row(void *ud, json_t *row)
{
    struct ca_user *u = ud;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(row, "ca_certificates"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), u->ca_id) == 0) {
            u->service_id = strdup(json_string_value(json_object_get(row, "id")));
            return 1;
        }
    }
    return 0;
}

static bool
ca_certificate_check_delete(struct sl_store *st, const char *id, struct sl_admin_response *res)
{
    struct ca_user u = {.ca_id = id};
    struct sl_store_err err = {0};
    if (sl_store_for_each(st, &sl_store_entity_services, ca_user_row, &u, &err) != SL_STORE_OK) {
        sl_log(SL_LOG_ERR, "admin: services lookup failed: %s", err.message ? err.message : "?");
        sl_store_err_clear(&err);
        free(u.service_id);
        sl_admin_message(res, 500, "An unexpected error occurred");
        return false;
    }
    if (u.service_id == NULL) {
        return true;
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "ca certificate %s is still referenced by services (id = %s)", id,
             u.service_id);
    free(u.service_id);
    res->status = sl_err_http_status(SL_ERR_REFERENCED_BY_OTHERS);
    res->body = sl_err_referenced_by_others(msg);
    return false;
}

static const struct sl_admin_hooks ca_certificate_hooks = {
    .entity = "ca_certificates",
    .check_delete = ca_certificate_check_delete,
};

static const struct sl_admin_hooks *const all_hooks[] = {
    &sl_admin_certificate_hooks, &ca_certificate_hooks, &sni_hooks, &target_hooks, NULL,
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
