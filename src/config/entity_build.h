/* SPDX-License-Identifier: Apache-2.0 */
/* Complete entities (the schema engine's output: every field present, defaults filled, already
 * validated) → the data plane's structs (sluice/entity-t.h). One conversion for the declarative
 * loader and the store, so a file and a database row of the same entity compile alike. */
#ifndef SL_CONFIG_ENTITY_BUILD_H
#define SL_CONFIG_ENTITY_BUILD_H

#include <jansson.h>

#include "sluice/arena.h"
#include "sluice/entity-t.h"

/* Builds a service from <entity> into <arena> (every string is copied there). The entity is
 * trusted to be valid; a field of the wrong shape gets the schema default rather than a crash.
 * Returns NULL on allocation failure or when <entity> has no usable id or host. */
struct sl_service *sl_config_build_service(struct sl_arena *arena, const json_t *entity);

/* Builds a route the same way. Its `service` is not resolved here: <route>->service is NULL and
 * the caller links it (by the id in entity.service.id). Sets keep their first occurrence of each
 * value (Kong's make_set); header names are lowercased, and so are header values unless the only
 * value is a "~*" regex. */
struct sl_route *sl_config_build_route(struct sl_arena *arena, const json_t *entity);

/* The id in a route entity's `service` ({"id": "..."}), or NULL when the route has none. */
const char *sl_config_route_service_id(const json_t *entity);

/* Marks the services of <cfg> whose host is the name of one of <upstreams> (complete upstream
 * entities in an object keyed by id, as the store mirror holds them; NULL for none) as
 * names_upstream, as Kong's balancer tells an upstream from a DNS name: the service's host equals
 * the upstream's name, byte for byte. Returns how many were marked, or -1 on allocation failure or
 * when an upstream has no name. */
long sl_config_mark_upstream_hosts(struct sl_config *cfg, const json_t *upstreams);

/* Resolves the TLS material of the https services of <cfg>: client_certificate_id against
 * <certificates> (its `cert` and `key`) and ca_certificate_ids against <ca_certificates> (their
 * `cert`), both complete rows in objects keyed by id (NULL: none). The PEM texts are copied into
 * the config arena; an id that names nothing sets the service's tls_missing. Returns 0, or -1 on
 * allocation failure. */
int sl_config_attach_tls_material(struct sl_config *cfg, const json_t *certificates,
                                  const json_t *ca_certificates);

#endif
