/* SPDX-License-Identifier: Apache-2.0 */
/* The store mirror (store_bridge.h) against a real SQLite file: a build reflects exactly the
 * committed rows; a refreshed row (update, insert, delete) shows in the next build without a full
 * reload; a commit by another connection (another process in production) is noticed through the
 * store's generation; a reset after a rollback forgets rolled-back rows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/declarative.h"
#include "config/store_bridge.h"
#include "schema/entities/entities.h"
#include "schema/schema.h"
#include "store/store.h"

static char dir[64];
static char path[128];
static struct sl_store *st;
static struct sl_config_mirror *m;

#define SVC_ID "11111111-1111-4111-8111-111111111111"
#define SVC2_ID "22222222-2222-4222-8222-222222222222"

static struct sl_store *
open_store(void)
{
    struct sl_store_opts o = {.path = path, .auto_bootstrap = true};
    struct sl_store_err err = {0};
    struct sl_store *s = NULL;
    cr_assert_eq(sl_store_open(&o, &s, &err), SL_STORE_OK, "%s", err.message);
    return s;
}

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sl-mirror-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sluice.db", dir);
    st = open_store();
    m = sl_config_mirror_new();
    cr_assert_not_null(m);
}

static void
teardown(void)
{
    sl_config_mirror_free(m);
    sl_store_close(st);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(mirror, .init = setup, .fini = teardown);

/* Inserts an entity as the Admin API does: validated and completed by the schema engine. */
static void
insert(struct sl_store *s, const struct sl_schema *schema, const char *json)
{
    json_t *in = json_loads(json, 0, NULL);
    cr_assert_not_null(in, "%s", json);
    json_t *errs = NULL;
    json_t *row = sl_schema_process(schema, in, SL_SCHEMA_INSERT, NULL, &errs);
    cr_assert_not_null(row, "%s", errs ? json_dumps(errs, 0) : "?");
    struct sl_store_err err = {0};
    const struct sl_store_entity *e = sl_store_core_entity(schema->name, strlen(schema->name));
    cr_assert_eq(sl_store_insert(s, e, row, &err), SL_STORE_OK, "%s", err.message);
    json_decref(row);
    json_decref(in);
}

static struct sl_config *
build(void)
{
    char err[512] = "";
    struct sl_config *c = sl_config_mirror_build(m, st, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    return c;
}

static const struct sl_route *
route_named(const struct sl_config *c, const char *name)
{
    for (size_t i = 0; i < c->nroutes; i++) {
        if (c->routes[i]->name != NULL && strcmp(c->routes[i]->name, name) == 0) {
            return c->routes[i];
        }
    }
    return NULL;
}

static const char *
route_id(const char *name)
{
    json_t *row = NULL;
    struct sl_store_err err = {0};
    const struct sl_store_entity *e = sl_store_core_entity("routes", 6);
    cr_assert_eq(sl_store_select_by(st, e, "name", name, &row, &err), SL_STORE_OK);
    static char id[40];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(row, "id")));
    json_decref(row);
    return id;
}

Test(mirror, builds_services_and_routes_linked_by_id)
{
    insert(st, &sl_schema_services,
           "{\"id\":\"" SVC_ID "\",\"name\":\"s\",\"host\":\"up.test\",\"port\":8080,"
           "\"retries\":2,\"tags\":[\"a\",\"a\",\"b\"]}");
    insert(st, &sl_schema_routes,
           "{\"name\":\"r1\",\"paths\":[\"/one\"],\"methods\":[\"GET\",\"GET\"],"
           "\"headers\":{\"X-Ver\":[\"V1\"],\"x-re\":[\"~*^A$\"]},\"service\":{\"id\":\"" SVC_ID
           "\"}}");
    insert(st, &sl_schema_routes, "{\"name\":\"orphan\",\"paths\":[\"/none\"]}");
    struct sl_config *c = build();
    cr_assert_eq(c->nservices, 1);
    cr_assert_eq(c->nroutes, 2);
    const struct sl_service *s = c->services[0];
    cr_assert_str_eq(s->host, "up.test");
    cr_assert_eq(s->port, 8080);
    cr_assert_eq(s->retries, 2);
    cr_assert_eq(s->tags.n, 2, "sets keep one of each value");
    const struct sl_route *r = route_named(c, "r1");
    cr_assert_not_null(r);
    cr_assert_eq(r->service, s);
    cr_assert_eq(r->methods.n, 1);
    cr_assert_str_eq(r->paths.v[0], "/one");
    cr_assert_eq(r->nheaders, 2);
    cr_assert_str_eq(r->headers[0].name, "x-ver");
    cr_assert_str_eq(r->headers[0].values.v[0], "v1");
    cr_assert_str_eq(r->headers[1].values.v[0], "~*^A$", "a regex keeps its case");
    cr_assert_null(route_named(c, "orphan")->service);
    sl_config_free(c);
}

Test(mirror, refreshed_rows_show_in_the_next_build)
{
    insert(st, &sl_schema_services, "{\"id\":\"" SVC_ID "\",\"host\":\"a.test\"}");
    insert(st, &sl_schema_routes,
           "{\"name\":\"r1\",\"paths\":[\"/one\"],\"service\":{\"id\":\"" SVC_ID "\"}}");
    sl_config_free(build());

    /* an update, an insert and a delete, each inside a transaction as crud.c does */
    struct sl_store_err err = {0};
    char msg[256];
    const struct sl_store_entity *routes = sl_store_core_entity("routes", 6);
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    json_t *row = NULL;
    cr_assert_eq(sl_store_select(st, routes, route_id("r1"), &row, &err), SL_STORE_OK);
    json_object_set_new(row, "paths", json_pack("[s]", "/changed"));
    cr_assert_eq(sl_store_update(st, routes, route_id("r1"), row, &err), SL_STORE_OK);
    json_decref(row);
    cr_assert_eq(sl_config_mirror_refresh(m, st, "routes", route_id("r1"), msg, sizeof(msg)), 0);
    insert(st, &sl_schema_routes,
           "{\"name\":\"r2\",\"paths\":[\"/two\"],\"service\":{\"id\":\"" SVC_ID "\"}}");
    cr_assert_eq(sl_config_mirror_refresh(m, st, "routes", route_id("r2"), msg, sizeof(msg)), 0);
    struct sl_config *c = build();
    cr_assert_str_eq(route_named(c, "r1")->paths.v[0], "/changed");
    cr_assert_not_null(route_named(c, "r2"));
    sl_config_free(c);
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    sl_config_mirror_committed(m, st);

    char r2[40];
    snprintf(r2, sizeof(r2), "%s", route_id("r2"));
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    cr_assert_eq(sl_store_delete(st, routes, r2, &err), SL_STORE_OK);
    cr_assert_eq(sl_config_mirror_refresh(m, st, "routes", r2, msg, sizeof(msg)), 0);
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    sl_config_mirror_committed(m, st);
    c = build();
    cr_assert_eq(c->nroutes, 1);
    cr_assert_null(route_named(c, "r2"));
    sl_config_free(c);
}

Test(mirror, another_connection_commit_is_noticed)
{
    insert(st, &sl_schema_services, "{\"id\":\"" SVC_ID "\",\"host\":\"a.test\"}");
    sl_config_free(build());

    /* a second handle on the same file stands for `sluice config db_import` next to a node */
    struct sl_store *other = open_store();
    insert(other, &sl_schema_routes,
           "{\"name\":\"outside\",\"paths\":[\"/o\"],\"service\":{\"id\":\"" SVC_ID "\"}}");
    sl_store_close(other);

    /* this process's next write transaction sees the foreign commit: the mirror reloads */
    struct sl_store_err err = {0};
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    insert(st, &sl_schema_services, "{\"id\":\"" SVC2_ID "\",\"host\":\"b.test\"}");
    char msg[256];
    cr_assert_eq(sl_config_mirror_refresh(m, st, "services", SVC2_ID, msg, sizeof(msg)), 0);
    struct sl_config *c = build();
    cr_assert_eq(c->nservices, 2);
    cr_assert_not_null(route_named(c, "outside"), "the other connection's route is compiled");
    sl_config_free(c);
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    sl_config_mirror_committed(m, st);
}

Test(mirror, reset_forgets_rolled_back_rows)
{
    insert(st, &sl_schema_services, "{\"id\":\"" SVC_ID "\",\"host\":\"a.test\"}");
    sl_config_free(build());
    struct sl_store_err err = {0};
    char msg[256];
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    insert(st, &sl_schema_services, "{\"id\":\"" SVC2_ID "\",\"host\":\"b.test\"}");
    cr_assert_eq(sl_config_mirror_refresh(m, st, "services", SVC2_ID, msg, sizeof(msg)), 0);
    cr_assert_eq(sl_store_rollback(st, &err), SL_STORE_OK);
    sl_config_mirror_reset(m);
    struct sl_config *c = build();
    cr_assert_eq(c->nservices, 1, "the rolled-back service is gone");
    sl_config_free(c);
}

Test(mirror, matches_a_full_read_of_the_store)
{
    insert(st, &sl_schema_services, "{\"id\":\"" SVC_ID "\",\"host\":\"a.test\"}");
    for (int i = 0; i < 50; i++) {
        char doc[160];
        snprintf(doc, sizeof(doc),
                 "{\"name\":\"r%d\",\"paths\":[\"/p%d\"],\"service\":{\"id\":\"%s\"}}", i, i,
                 SVC_ID);
        insert(st, &sl_schema_routes, doc);
    }
    struct sl_config *a = build();
    char err[256];
    struct sl_config *b = sl_config_from_store(st, err, sizeof(err));
    cr_assert_not_null(b, "%s", err);
    cr_assert_eq(a->nroutes, b->nroutes);
    for (size_t i = 0; i < a->nroutes; i++) {
        cr_assert_str_eq(a->routes[i]->id, b->routes[i]->id, "same order: by id");
        cr_assert(i == 0 || strcmp(a->routes[i - 1]->id, a->routes[i]->id) < 0);
    }
    sl_config_free(a);
    sl_config_free(b);
}

Test(mirror, writes_the_data_plane_does_not_read_keep_the_snapshot)
{
    insert(st, &sl_schema_services, "{\"id\":\"" SVC_ID "\",\"host\":\"a.test\"}");
    cr_assert_not(sl_config_mirror_unaffected(m, st, "consumers"), "not loaded yet");
    sl_config_free(build());
    cr_assert(sl_config_mirror_unaffected(m, st, "consumers"));
    cr_assert(sl_config_mirror_unaffected(m, st, "snis"));
    /* https services present certificates and trust CA certificates: the data plane reads them */
    cr_assert_not(sl_config_mirror_unaffected(m, st, "certificates"));
    cr_assert_not(sl_config_mirror_unaffected(m, st, "ca_certificates"));
    cr_assert_not(sl_config_mirror_unaffected(m, st, "services"));
    cr_assert_not(sl_config_mirror_unaffected(m, st, "routes"));

    /* after another connection's commit, even a consumer write must recompile */
    struct sl_store *other = open_store();
    insert(other, &sl_schema_services, "{\"id\":\"" SVC2_ID "\",\"host\":\"b.test\"}");
    sl_store_close(other);
    struct sl_store_err err = {0};
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    cr_assert_not(sl_config_mirror_unaffected(m, st, "consumers"));
    struct sl_config *c = build();
    cr_assert_eq(c->nservices, 2);
    sl_config_free(c);
    cr_assert_eq(sl_store_rollback(st, &err), SL_STORE_OK);
}

/* Upstreams are mirrored for their names: a service whose host is one is marked names_upstream (it
 * answers 503 until the balancer exists), and an upstream write is one the data plane reads. */
Test(mirror, services_naming_an_upstream_are_marked)
{
    insert(st, &sl_schema_services, "{\"id\":\"" SVC_ID "\",\"host\":\"pool.internal\"}");
    insert(st, &sl_schema_services, "{\"id\":\"" SVC2_ID "\",\"host\":\"Pool.internal\"}");
    struct sl_config *c = build();
    cr_assert_not(c->services[0]->names_upstream);
    cr_assert_not(c->services[1]->names_upstream);
    sl_config_free(c);
    cr_assert_not(sl_config_mirror_unaffected(m, st, "upstreams"));

    insert(st, &sl_schema_upstreams,
           "{\"id\":\"33333333-3333-4333-8333-333333333333\",\"name\":\"pool.internal\"}");
    char err[256] = "";
    cr_assert_eq(sl_config_mirror_refresh(m, st, "upstreams",
                                          "33333333-3333-4333-8333-333333333333", err, sizeof(err)),
                 0, "%s", err);
    c = build();
    cr_assert(c->services[0]->names_upstream);
    cr_assert_not(c->services[1]->names_upstream, "byte for byte, as Kong's lookup by name");
    sl_config_free(c);
}
