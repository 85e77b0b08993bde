/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite store against real files in a temporary directory: bootstrap, migrations,
 * persistence, CRUD, Kong's unique/foreign-key/on_delete semantics, pagination, tag filters,
 * transactions, refusal of unusable files, and the generation counter. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

static char dir[64];
static char path[128];

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sl-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sluice.db", dir);
}

static void
teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

/* A set-null child of consumers and a restricting grandchild of targets, only for tests. */
static const struct sl_store_entity widgets = {
    .name = "widgets",
    .unique = {"name"},
    .foreign = {{"owner", "consumers", SL_STORE_ON_DELETE_NULL}},
    .tags = false,
};
static const struct sl_store_entity gadgets = {
    .name = "gadgets",
    .foreign = {{"target", "targets", SL_STORE_ON_DELETE_RESTRICT}},
};
static const struct sl_store_entity *const test_entities[] = {&widgets, &gadgets, NULL};
static const struct sl_store_migration test_migrations[] = {{"100_test_entities", test_entities}};

static struct sl_store *
open_store(bool bootstrap)
{
    struct sl_store_opts o = {.path = path,
                              .auto_bootstrap = bootstrap,
                              .extra_migrations = test_migrations,
                              .n_extra_migrations = 1};
    struct sl_store_err err = {0};
    struct sl_store *st = NULL;
    enum sl_store_rc rc = sl_store_open(&o, &st, &err);
    cr_assert_eq(rc, SL_STORE_OK, "open: %s", err.message ? err.message : "?");
    cr_assert_not_null(st);
    sl_store_err_clear(&err);
    return st;
}

/* Opens <p> expecting a refusal; returns the message (malloc'd). */
static char *
open_fails(const char *p)
{
    struct sl_store_opts o = {.path = p,
                              .auto_bootstrap = true,
                              .extra_migrations = test_migrations,
                              .n_extra_migrations = 1};
    struct sl_store_err err = {0};
    struct sl_store *st = (struct sl_store *)1;
    enum sl_store_rc rc = sl_store_open(&o, &st, &err);
    cr_assert_eq(rc, SL_STORE_DB_ERROR);
    cr_assert_null(st);
    cr_assert_not_null(err.message);
    char *m = strdup(err.message);
    sl_store_err_clear(&err);
    return m;
}

static json_t *
svc(const char *id, const char *name)
{
    json_t *o = json_pack("{ss ss si s[]}", "id", id, "host", "example.com", "port", 80, "tags");
    json_object_set_new(o, "name", name != NULL ? json_string(name) : json_null());
    return o;
}

static enum sl_store_rc
ins(struct sl_store *st, const struct sl_store_entity *e, json_t *row, struct sl_store_err *err)
{
    enum sl_store_rc rc = sl_store_insert(st, e, row, err);
    json_decref(row);
    return rc;
}

static void
ok_ins(struct sl_store *st, const struct sl_store_entity *e, json_t *row)
{
    struct sl_store_err err = {0};
    enum sl_store_rc rc = ins(st, e, row, &err);
    cr_assert_eq(rc, SL_STORE_OK, "insert into %s: %d %s", e->name, rc,
                 err.message ? err.message : "");
}

static size_t
count(struct sl_store *st, const struct sl_store_entity *e)
{
    struct sl_store_err err = {0};
    size_t n = 99999;
    cr_assert_eq(sl_store_count(st, e, &n, &err), SL_STORE_OK);
    return n;
}

static void
collect(void *ud, const char *name, bool done)
{
    json_t *o = ud;
    json_object_set_new(o, name, json_boolean(done));
}

Test(store, bootstrap_new_file_wal_and_migrations_list)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    size_t pending = 9;
    json_t *list = json_object();

    cr_assert_eq(access(path, F_OK), 0);
    cr_assert_eq(sl_store_migrations_pending(st, &pending, &err), SL_STORE_OK);
    cr_assert_eq(pending, 0);
    cr_assert_eq(sl_store_migrations_list(st, collect, list, &err), SL_STORE_OK);
    cr_assert(json_is_true(json_object_get(list, "000_base_core")));
    cr_assert(json_is_true(json_object_get(list, "100_test_entities")));
    cr_assert_eq(json_object_size(list), 2);
    json_decref(list);
    bool already = false;
    cr_assert_eq(sl_store_migrations_bootstrap(st, &already, &err), SL_STORE_OK);
    cr_assert(already);
    sl_store_close(st);

    sqlite3 *db;
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

Test(store, migrations_up_list_reset)
{
    struct sl_store *st = open_store(false);
    struct sl_store_err err = {0};
    size_t n = 0;
    json_t *list = json_object();

    cr_assert_eq(sl_store_migrations_pending(st, &n, &err), SL_STORE_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(sl_store_migrations_list(st, collect, list, &err), SL_STORE_OK);
    cr_assert(json_is_false(json_object_get(list, "000_base_core")));
    cr_assert(json_is_false(json_object_get(list, "100_test_entities")));
    json_decref(list);
    /* No table yet: a write is a database error, not a crash. */
    cr_assert_eq(ins(st, &sl_store_entity_services, svc("s1", "a"), &err), SL_STORE_DB_ERROR);
    sl_store_err_clear(&err);

    cr_assert_eq(sl_store_migrations_up(st, &n, &err), SL_STORE_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(sl_store_migrations_up(st, &n, &err), SL_STORE_OK);
    cr_assert_eq(n, 0);
    ok_ins(st, &sl_store_entity_services, svc("s1", "a"));

    cr_assert_eq(sl_store_migrations_reset(st, &err), SL_STORE_OK);
    cr_assert_eq(sl_store_migrations_pending(st, &n, &err), SL_STORE_OK);
    cr_assert_eq(n, 2);
    json_t *row = NULL;
    cr_assert_eq(sl_store_select(st, &sl_store_entity_services, "s1", &row, &err),
                 SL_STORE_DB_ERROR);
    sl_store_err_clear(&err);
    bool already = true;
    cr_assert_eq(sl_store_migrations_bootstrap(st, &already, &err), SL_STORE_OK);
    cr_assert(!already);
    cr_assert_eq(count(st, &sl_store_entity_services), 0);
    sl_store_close(st);
}

Test(store, reopen_keeps_data)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    json_t *row;

    ok_ins(st, &sl_store_entity_services, svc("11111111-0000-0000-0000-000000000001", "keep"));
    sl_store_close(st);
    st = open_store(true);
    cr_assert_eq(sl_store_select_by(st, &sl_store_entity_services, "name", "keep", &row, &err),
                 SL_STORE_OK);
    cr_assert_str_eq(json_string_value(json_object_get(row, "id")),
                     "11111111-0000-0000-0000-000000000001");
    cr_assert_eq(json_integer_value(json_object_get(row, "port")), 80);
    json_decref(row);
    sl_store_close(st);
}

Test(store, crud)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    json_t *row = NULL;

    ok_ins(st, &sl_store_entity_services, svc("s1", "one"));
    cr_assert_eq(ins(st, &sl_store_entity_services, svc("s1", "other"), &err),
                 SL_STORE_PRIMARY_KEY_VIOLATION);
    cr_assert_str_eq(err.message, "primary key violation on key '{id=\"s1\"}'");
    cr_assert_eq(sl_store_rc_kong_code(err.rc), 3);
    sl_store_err_clear(&err);

    cr_assert_eq(sl_store_select(st, &sl_store_entity_services, "s1", &row, &err), SL_STORE_OK);
    cr_assert_str_eq(json_string_value(json_object_get(row, "name")), "one");
    json_decref(row);

    /* update replaces the whole document and moves the unique key */
    json_t *repl = json_pack("{ss si}", "name", "uno", "port", 81);
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "s1", repl, &err), SL_STORE_OK);
    json_decref(repl);
    cr_assert_eq(sl_store_select_by(st, &sl_store_entity_services, "name", "one", &row, &err),
                 SL_STORE_NOT_FOUND);
    cr_assert_eq(sl_store_select_by(st, &sl_store_entity_services, "name", "uno", &row, &err),
                 SL_STORE_OK);
    cr_assert_null(json_object_get(row, "host"));
    cr_assert_str_eq(json_string_value(json_object_get(row, "id")), "s1");
    json_decref(row);
    cr_assert_eq(sl_store_select_by(st, &sl_store_entity_services, "host", "x", &row, &err),
                 SL_STORE_DB_ERROR);
    sl_store_err_clear(&err);

    repl = json_object();
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "nope", repl, &err),
                 SL_STORE_NOT_FOUND);
    json_decref(repl);
    cr_assert_eq(count(st, &sl_store_entity_services), 1);
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_services, "s1", &err), SL_STORE_OK);
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_services, "s1", &err), SL_STORE_NOT_FOUND);
    cr_assert_eq(sl_store_select(st, &sl_store_entity_services, "s1", &row, &err),
                 SL_STORE_NOT_FOUND);
    cr_assert_null(row);
    cr_assert_eq(count(st, &sl_store_entity_services), 0);
    sl_store_close(st);
}

Test(store, unique_single_fields)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};

    ok_ins(st, &sl_store_entity_services, svc("s1", "svc"));
    ok_ins(st, &sl_store_entity_services, svc("s2", NULL));
    ok_ins(st, &sl_store_entity_services, svc("s3", NULL)); /* nulls never collide */
    cr_assert_eq(ins(st, &sl_store_entity_services, svc("s4", "svc"), &err),
                 SL_STORE_UNIQUE_VIOLATION);
    cr_assert_str_eq(err.message, "UNIQUE violation detected on '{name=\"svc\"}'");
    cr_assert_str_eq(json_string_value(json_object_get(err.fields, "name")), "svc");
    cr_assert_eq(sl_store_rc_kong_code(err.rc), 5);
    cr_assert_str_eq(sl_store_rc_name(err.rc), "unique constraint violation");

    /* updating into a taken name fails and leaves the row as it was */
    json_t *row = svc("s2", "svc");
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "s2", row, &err),
                 SL_STORE_UNIQUE_VIOLATION);
    json_decref(row);
    cr_assert_eq(sl_store_select(st, &sl_store_entity_services, "s2", &row, &err), SL_STORE_OK);
    cr_assert(json_is_null(json_object_get(row, "name")));
    json_decref(row);
    /* keeping one's own name is fine */
    row = svc("s1", "svc");
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "s1", row, &err), SL_STORE_OK);
    json_decref(row);

    /* consumers: username and custom_id are each unique */
    ok_ins(st, &sl_store_entity_consumers,
           json_pack("{ss ss ss}", "id", "c1", "username", "bob", "custom_id", "42"));
    cr_assert_eq(ins(st, &sl_store_entity_consumers,
                     json_pack("{ss ss ss}", "id", "c2", "username", "alice", "custom_id", "42"),
                     &err),
                 SL_STORE_UNIQUE_VIOLATION);
    cr_assert_str_eq(err.message, "UNIQUE violation detected on '{custom_id=\"42\"}'");
    cr_assert_eq(ins(st, &sl_store_entity_consumers,
                     json_pack("{ss ss}", "id", "c3", "username", "bob"), &err),
                 SL_STORE_UNIQUE_VIOLATION);
    cr_assert_eq(count(st, &sl_store_entity_consumers), 1);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, unique_groups)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    json_t *row;

    ok_ins(st, &sl_store_entity_upstreams, json_pack("{ss ss}", "id", "u1", "name", "up1"));
    ok_ins(st, &sl_store_entity_upstreams, json_pack("{ss ss}", "id", "u2", "name", "up2"));
    ok_ins(st, &sl_store_entity_targets,
           json_pack("{ss s{ss} ss}", "id", "t1", "upstream", "id", "u1", "target", "a:80"));
    cr_assert_eq(
        ins(st, &sl_store_entity_targets,
            json_pack("{ss s{ss} ss}", "id", "t2", "upstream", "id", "u1", "target", "a:80"), &err),
        SL_STORE_UNIQUE_VIOLATION);
    cr_assert_str_eq(err.message,
                     "UNIQUE violation detected on '{target=\"a:80\",upstream={id=\"u1\"}}'");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(err.fields, "upstream"), "id")), "u1");
    ok_ins(st, &sl_store_entity_targets,
           json_pack("{ss s{ss} ss}", "id", "t3", "upstream", "id", "u2", "target", "a:80"));

    json_t *probe = json_pack("{s{ss} ss}", "upstream", "id", "u2", "target", "a:80");
    cr_assert_eq(sl_store_select_group(st, &sl_store_entity_targets, 0, probe, &row, &err),
                 SL_STORE_OK);
    cr_assert_str_eq(json_string_value(json_object_get(row, "id")), "t3");
    json_decref(row);
    json_decref(probe);

    /* plugins: one per name and scope, null scopes included */
    ok_ins(st, &sl_store_entity_services, svc("s1", "svc"));
    ok_ins(st, &sl_store_entity_plugins,
           json_pack("{ss ss so so so}", "id", "p1", "name", "cors", "service", json_null(),
                     "route", json_null(), "consumer", json_null()));
    cr_assert_eq(ins(st, &sl_store_entity_plugins,
                     json_pack("{ss ss so so so}", "id", "p2", "name", "cors", "service",
                               json_null(), "route", json_null(), "consumer", json_null()),
                     &err),
                 SL_STORE_UNIQUE_VIOLATION);
    ok_ins(st, &sl_store_entity_plugins,
           json_pack("{ss ss s{ss} so so}", "id", "p3", "name", "cors", "service", "id", "s1",
                     "route", json_null(), "consumer", json_null()));
    cr_assert_eq(ins(st, &sl_store_entity_plugins,
                     json_pack("{ss ss s{ss} so so}", "id", "p4", "name", "cors", "service", "id",
                               "s1", "route", json_null(), "consumer", json_null()),
                     &err),
                 SL_STORE_UNIQUE_VIOLATION);
    cr_assert_eq(count(st, &sl_store_entity_plugins), 2);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, foreign_key_missing)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};

    cr_assert_eq(ins(st, &sl_store_entity_routes,
                     json_pack("{ss s{ss}}", "id", "r1", "service", "id", "missing"), &err),
                 SL_STORE_FOREIGN_KEY_VIOLATION);
    cr_assert_str_eq(err.message, "the foreign key '{id=\"missing\"}' does not reference an "
                                  "existing 'services' entity.");
    cr_assert_str_eq(err.entity, "services");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(err.fields, "service"), "id")),
        "missing");
    cr_assert_eq(sl_store_rc_kong_code(err.rc), 4);
    cr_assert_eq(count(st, &sl_store_entity_routes), 0);
    /* a null reference is fine */
    ok_ins(st, &sl_store_entity_routes, json_pack("{ss so}", "id", "r2", "service", json_null()));
    /* an update can break a reference too */
    json_t *row = json_pack("{s{ss}}", "service", "id", "gone");
    cr_assert_eq(sl_store_update(st, &sl_store_entity_routes, "r2", row, &err),
                 SL_STORE_FOREIGN_KEY_VIOLATION);
    json_decref(row);
    /* a malformed reference is refused, not stored */
    cr_assert_eq(
        ins(st, &sl_store_entity_routes, json_pack("{ss si}", "id", "r3", "service", 5), &err),
        SL_STORE_DB_ERROR);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, delete_cascade_restrict_set_null)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    json_t *row;

    /* cascade: upstream → targets (and their tags) */
    ok_ins(st, &sl_store_entity_upstreams, json_pack("{ss ss}", "id", "u1", "name", "up"));
    for (int i = 0; i < 3; i++) {
        char id[16], tgt[24];
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(tgt, sizeof(tgt), "h%d:80", i);
        ok_ins(st, &sl_store_entity_targets,
               json_pack("{ss s{ss} ss s[s]}", "id", id, "upstream", "id", "u1", "target", tgt,
                         "tags", "tt"));
    }
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_upstreams, "u1", &err), SL_STORE_OK);
    cr_assert_eq(count(st, &sl_store_entity_targets), 0);
    const char *tt[] = {"tt"};
    struct sl_store_page page = {0};
    struct sl_store_page_query q = {.tags = tt, .ntags = 1};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_targets, &q, &page, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(page.rows), 0);
    sl_store_page_free(&page);

    /* restrict: a service with a route cannot go; its plugins cascade once it can */
    ok_ins(st, &sl_store_entity_services, svc("s1", "svc"));
    ok_ins(st, &sl_store_entity_routes, json_pack("{ss s{ss}}", "id", "r1", "service", "id", "s1"));
    ok_ins(st, &sl_store_entity_plugins,
           json_pack("{ss ss s{ss}}", "id", "p1", "name", "cors", "service", "id", "s1"));
    ok_ins(st, &sl_store_entity_plugins,
           json_pack("{ss ss s{ss}}", "id", "p2", "name", "acl", "route", "id", "r1"));
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_services, "s1", &err),
                 SL_STORE_FOREIGN_KEY_VIOLATION);
    cr_assert_str_eq(err.message, "an existing 'routes' entity references this 'services' entity");
    cr_assert_str_eq(json_string_value(json_object_get(err.fields, "@referenced_by")), "routes");
    cr_assert_str_eq(err.entity, "routes");
    cr_assert_eq(count(st, &sl_store_entity_services), 1);
    cr_assert_eq(count(st, &sl_store_entity_plugins), 2);
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_routes, "r1", &err), SL_STORE_OK);
    cr_assert_eq(count(st, &sl_store_entity_plugins), 1); /* p2 went with its route */
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_services, "s1", &err), SL_STORE_OK);
    cr_assert_eq(count(st, &sl_store_entity_plugins), 0);

    /* set-null: widgets.owner */
    ok_ins(st, &sl_store_entity_consumers, json_pack("{ss ss}", "id", "c1", "username", "bob"));
    ok_ins(st, &widgets, json_pack("{ss ss s{ss}}", "id", "w1", "name", "w", "owner", "id", "c1"));
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_consumers, "c1", &err), SL_STORE_OK);
    cr_assert_eq(sl_store_select(st, &widgets, "w1", &row, &err), SL_STORE_OK);
    cr_assert(json_is_null(json_object_get(row, "owner")));
    cr_assert_str_eq(json_string_value(json_object_get(row, "name")), "w");
    json_decref(row);
    struct sl_store_page_query qf = {.foreign_field = "owner", .foreign_id = "c1"};
    cr_assert_eq(sl_store_page(st, &widgets, &qf, &page, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(page.rows), 0);
    sl_store_page_free(&page);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, refused_cascade_changes_nothing)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    uint64_t gen;

    ok_ins(st, &sl_store_entity_upstreams, json_pack("{ss ss}", "id", "u1", "name", "up"));
    ok_ins(st, &sl_store_entity_targets,
           json_pack("{ss s{ss} ss}", "id", "t0", "upstream", "id", "u1", "target", "a:1"));
    ok_ins(st, &sl_store_entity_targets,
           json_pack("{ss s{ss} ss}", "id", "t1", "upstream", "id", "u1", "target", "a:2"));
    ok_ins(st, &gadgets, json_pack("{ss s{ss}}", "id", "g1", "target", "id", "t1"));
    gen = sl_store_generation(st);
    /* the cascade reaches t0 (deletable) before t1 (restricted by g1): all of it is undone */
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_upstreams, "u1", &err),
                 SL_STORE_FOREIGN_KEY_VIOLATION);
    cr_assert_str_eq(err.entity, "gadgets");
    cr_assert_eq(count(st, &sl_store_entity_upstreams), 1);
    cr_assert_eq(count(st, &sl_store_entity_targets), 2);
    cr_assert_eq(sl_store_generation(st), gen);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, pagination_walk_250_rows)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    struct sl_store_page page = {0};
    json_t *seen = json_object();
    char *offset = NULL;
    int pages = 0;
    char last[64] = "";

    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    for (int i = 0; i < 250; i++) {
        char id[40], name[16];
        /* ids inserted out of order: the walk is by id, not by insertion */
        snprintf(id, sizeof(id), "%08x-0000-0000-0000-000000000000", (unsigned)(i * 7919 % 250));
        snprintf(name, sizeof(name), "svc%d", i);
        ok_ins(st, &sl_store_entity_services, svc(id, name));
    }
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    do {
        struct sl_store_page_query q = {.size = 100, .offset = offset};
        cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err), SL_STORE_OK,
                     "%s", err.message ? err.message : "");
        free(offset);
        offset = page.next_offset != NULL ? strdup(page.next_offset) : NULL;
        pages++;
        size_t i;
        json_t *r;
        json_array_foreach(page.rows, i, r)
        {
            const char *id = json_string_value(json_object_get(r, "id"));
            cr_assert_null(json_object_get(seen, id), "duplicate %s", id);
            cr_assert_gt(strcmp(id, last), 0, "out of order");
            snprintf(last, sizeof(last), "%s", id);
            json_object_set_new(seen, id, json_true());
        }
        cr_assert_eq(json_array_size(page.rows), pages < 3 ? 100 : 50);
        if (pages == 1) {
            /* a delete behind the cursor changes nothing ahead of it */
            cr_assert_eq(sl_store_delete(
                             st, &sl_store_entity_services,
                             json_string_value(json_object_get(json_array_get(page.rows, 0), "id")),
                             &err),
                         SL_STORE_OK);
        }
        sl_store_page_free(&page);
    } while (offset != NULL);
    cr_assert_eq(pages, 3);
    cr_assert_eq(json_object_size(seen), 250);
    json_decref(seen);

    /* size 0 means 100; above the cap means 1000 */
    struct sl_store_page_query q0 = {.size = 0};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q0, &page, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(page.rows), 100);
    cr_assert_not_null(page.next_offset);
    sl_store_page_free(&page);
    struct sl_store_page_query qbig = {.size = 5000};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &qbig, &page, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(page.rows), 249);
    cr_assert_null(page.next_offset);
    sl_store_page_free(&page);
    sl_store_close(st);
}

Test(store, exact_page_boundary_has_no_next)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    struct sl_store_page page = {0};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof(id), "s%d", i);
        ok_ins(st, &sl_store_entity_services, svc(id, NULL));
    }
    struct sl_store_page_query q = {.size = 2};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err), SL_STORE_OK);
    cr_assert_not_null(page.next_offset);
    q.offset = page.next_offset;
    struct sl_store_page p2 = {0};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &p2, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(p2.rows), 2);
    cr_assert_null(p2.next_offset);
    sl_store_page_free(&p2);
    sl_store_page_free(&page);
    sl_store_close(st);
}

Test(store, long_ids_paginate_without_truncation)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    struct sl_store_page page = {0};
    char a[700], b[700];

    memset(a, 'a', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[sizeof(b) - 2] = 'b'; /* shares a 698-byte prefix with <a> */
    ok_ins(st, &sl_store_entity_services, svc(a, NULL));
    ok_ins(st, &sl_store_entity_services, svc(b, NULL));
    struct sl_store_page_query q = {.size = 1};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err), SL_STORE_OK);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(page.rows, 0), "id")), a);
    struct sl_store_page p2 = {0};
    q.offset = page.next_offset;
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &p2, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(p2.rows), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p2.rows, 0), "id")), b);
    cr_assert_null(p2.next_offset);
    sl_store_page_free(&p2);
    sl_store_page_free(&page);
    sl_store_close(st);
}

static json_t *
tagged(const char *id, const char *t1, const char *t2)
{
    json_t *o = svc(id, NULL);
    json_t *tags = json_object_get(o, "tags");
    if (t1) {
        json_array_append_new(tags, json_string(t1));
    }
    if (t2) {
        json_array_append_new(tags, json_string(t2));
    }
    return o;
}

static size_t
page_ids(struct sl_store *st, const char *const *tags, size_t n, enum sl_store_tags_op op,
         char *out, size_t outlen)
{
    struct sl_store_err err = {0};
    struct sl_store_page page = {0};
    struct sl_store_page_query q = {.tags = tags, .ntags = n, .tags_op = op};
    size_t i;
    json_t *r;

    out[0] = '\0';
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err), SL_STORE_OK);
    json_array_foreach(page.rows, i, r)
    {
        strncat(out, json_string_value(json_object_get(r, "id")), outlen - strlen(out) - 1);
        strncat(out, " ", outlen - strlen(out) - 1);
    }
    size_t c = json_array_size(page.rows);
    sl_store_page_free(&page);
    return c;
}

Test(store, tag_filters_and_or)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    char ids[256];

    ok_ins(st, &sl_store_entity_services, tagged("a", "red", "big"));
    ok_ins(st, &sl_store_entity_services, tagged("b", "red", NULL));
    ok_ins(st, &sl_store_entity_services, tagged("c", "big", NULL));
    ok_ins(st, &sl_store_entity_services, tagged("d", NULL, NULL));

    const char *red_big[] = {"red", "big"};
    cr_assert_eq(page_ids(st, red_big, 2, SL_STORE_TAGS_AND, ids, sizeof(ids)), 1);
    cr_assert_str_eq(ids, "a ");
    cr_assert_eq(page_ids(st, red_big, 2, SL_STORE_TAGS_OR, ids, sizeof(ids)), 3);
    cr_assert_str_eq(ids, "a b c ");
    const char *none[] = {"nope"};
    cr_assert_eq(page_ids(st, none, 1, SL_STORE_TAGS_OR, ids, sizeof(ids)), 0);

    /* tags follow updates */
    json_t *row = tagged("d", "red", NULL);
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "d", row, &err), SL_STORE_OK);
    json_decref(row);
    row = tagged("a", NULL, NULL);
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "a", row, &err), SL_STORE_OK);
    json_decref(row);
    const char *red[] = {"red"};
    cr_assert_eq(page_ids(st, red, 1, SL_STORE_TAGS_AND, ids, sizeof(ids)), 2);
    cr_assert_str_eq(ids, "b d ");

    /* at most 5 tags; none on entities without tags */
    const char *six[] = {"1", "2", "3", "4", "5", "6"};
    struct sl_store_page page = {0};
    struct sl_store_page_query q = {.tags = six, .ntags = 6};
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err), SL_STORE_DB_ERROR);
    q.ntags = 1;
    cr_assert_eq(sl_store_page(st, &widgets, &q, &page, &err), SL_STORE_DB_ERROR);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, bad_offsets)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    struct sl_store_page page = {0};
    struct sl_store_page_query q = {.offset = "!!not base64!!"};

    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err),
                 SL_STORE_INVALID_OFFSET);
    cr_assert_str_eq(err.message, "'!!not base64!!' is not a valid offset: bad base64 encoding");
    cr_assert_eq(sl_store_rc_kong_code(err.rc), 7);
    cr_assert_null(page.rows);
    q.offset = "aGVsbG8="; /* "hello" */
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err),
                 SL_STORE_INVALID_OFFSET);
    cr_assert_str_eq(err.message, "'aGVsbG8=' is not a valid offset: bad json encoding");
    q.offset = "eyJhIjoxfQ=="; /* {"a":1}: JSON, but not our token */
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err),
                 SL_STORE_INVALID_OFFSET);
    cr_assert_str_eq(err.message, "'eyJhIjoxfQ==' is not a valid offset: bad json encoding");
    q.offset = "abc=d";
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err),
                 SL_STORE_INVALID_OFFSET);
    q.offset = "";
    cr_assert_eq(sl_store_page(st, &sl_store_entity_services, &q, &page, &err),
                 SL_STORE_INVALID_OFFSET);
    sl_store_err_clear(&err);

    char *tok = sl_store_offset_encode("id-1");
    char *back = NULL;
    cr_assert_eq(sl_store_offset_decode(tok, &back, &err), SL_STORE_OK);
    cr_assert_str_eq(back, "id-1");
    free(back);
    free(tok);
    sl_store_close(st);
}

Test(store, transactions_roll_back_whole)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    uint64_t g0 = sl_store_generation(st);

    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_DB_ERROR); /* no nesting */
    ok_ins(st, &sl_store_entity_services, svc("s1", "a"));
    cr_assert_eq(ins(st, &sl_store_entity_routes,
                     json_pack("{ss s{ss}}", "id", "r1", "service", "id", "nope"), &err),
                 SL_STORE_FOREIGN_KEY_VIOLATION);
    /* the failed write undid itself; the earlier one is still in the transaction */
    cr_assert_eq(count(st, &sl_store_entity_services), 1);
    cr_assert_eq(sl_store_rollback(st, &err), SL_STORE_OK);
    cr_assert_eq(count(st, &sl_store_entity_services), 0);
    cr_assert_eq(sl_store_generation(st), g0);

    /* a committed transaction with two writes bumps the generation once */
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    ok_ins(st, &sl_store_entity_services, svc("s1", "a"));
    ok_ins(st, &sl_store_entity_services, svc("s2", "b"));
    cr_assert_eq(sl_store_generation(st), g0);
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    cr_assert_eq(sl_store_generation(st), g0 + 1);
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_DB_ERROR);
    /* a read-only transaction does not */
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    cr_assert_eq(sl_store_generation(st), g0 + 1);
    sl_store_err_clear(&err);
    sl_store_close(st);

    st = open_store(true);
    cr_assert_eq(count(st, &sl_store_entity_services), 2);
    sl_store_close(st);
}

Test(store, generation_counter)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    json_t *row;
    uint64_t g = sl_store_generation(st);

    cr_assert_geq(g, 1);
    ok_ins(st, &sl_store_entity_services, svc("s1", "a"));
    cr_assert_eq(sl_store_generation(st), g + 1);
    cr_assert_eq(ins(st, &sl_store_entity_services, svc("s2", "a"), &err),
                 SL_STORE_UNIQUE_VIOLATION);
    cr_assert_eq(sl_store_generation(st), g + 1);
    row = svc("s1", "b");
    cr_assert_eq(sl_store_update(st, &sl_store_entity_services, "s1", row, &err), SL_STORE_OK);
    json_decref(row);
    cr_assert_eq(sl_store_generation(st), g + 2);
    cr_assert_eq(sl_store_select(st, &sl_store_entity_services, "s1", &row, &err), SL_STORE_OK);
    json_decref(row);
    cr_assert_eq(sl_store_generation(st), g + 2);
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_services, "nope", &err), SL_STORE_NOT_FOUND);
    cr_assert_eq(sl_store_delete(st, &sl_store_entity_services, "s1", &err), SL_STORE_OK);
    cr_assert_eq(sl_store_generation(st), g + 3);
    sl_store_err_clear(&err);
    sl_store_close(st);
}

static size_t stop_after;

static int
gather(void *ud, json_t *row)
{
    json_t *arr = ud;
    json_array_append(arr, json_object_get(row, "id"));
    return json_array_size(arr) == stop_after;
}

Test(store, for_each_walks_all_rows)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    json_t *arr = json_array();

    ok_ins(st, &sl_store_entity_services, svc("c", NULL));
    ok_ins(st, &sl_store_entity_services, svc("a", NULL));
    ok_ins(st, &sl_store_entity_services, svc("b", NULL));
    ok_ins(st, &sl_store_entity_services, svc("d", NULL));
    stop_after = 0;
    cr_assert_eq(sl_store_for_each(st, &sl_store_entity_services, gather, arr, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(arr), 4); /* every row, in id order */
    cr_assert_str_eq(json_string_value(json_array_get(arr, 0)), "a");
    cr_assert_str_eq(json_string_value(json_array_get(arr, 3)), "d");
    json_array_clear(arr);
    stop_after = 2; /* a non-zero return stops the walk */
    cr_assert_eq(sl_store_for_each(st, &sl_store_entity_services, gather, arr, &err), SL_STORE_OK);
    cr_assert_eq(json_array_size(arr), 2);
    cr_assert_str_eq(json_string_value(json_array_get(arr, 1)), "b");
    json_decref(arr);
    sl_store_close(st);
}

Test(store, garbage_file_refused)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 500; i++) {
        fputs("this is not a database, just some text ", f);
    }
    fclose(f);
    char *m = open_fails(path);
    cr_assert_not_null(strstr(m, path), "%s", m);
    cr_assert_not_null(strstr(m, "not a database"), "%s", m);
    free(m);
    /* the garbage is left as it was, never replaced by an empty database */
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_size, 500 * 39);
}

Test(store, truncated_file_refused)
{
    struct sl_store *st = open_store(true);
    struct sl_store_err err = {0};
    cr_assert_eq(sl_store_begin(st, &err), SL_STORE_OK);
    for (int i = 0; i < 300; i++) {
        char id[16];
        snprintf(id, sizeof(id), "s%04d", i);
        json_t *row = svc(id, id);
        json_object_set_new(row, "pad",
                            json_string("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
        ok_ins(st, &sl_store_entity_services, row);
    }
    cr_assert_eq(sl_store_commit(st, &err), SL_STORE_OK);
    sl_store_close(st); /* the last connection checkpoints the WAL into the file */
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_gt(sb.st_size, 16384);
    cr_assert_eq(truncate(path, sb.st_size / 2), 0);
    char *m = open_fails(path);
    cr_assert_not_null(strstr(m, path), "%s", m);
    free(m);
}

Test(store, unusable_paths_refused)
{
    char *m = open_fails(dir); /* a directory */
    cr_assert_not_null(strstr(m, dir), "%s", m);
    free(m);
    char p2[160];
    snprintf(p2, sizeof(p2), "%s/no/such/dir/x.db", dir);
    m = open_fails(p2);
    cr_assert_not_null(strstr(m, p2), "%s", m);
    free(m);
}

Test(store, foreign_sqlite_database_refused)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE other (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char *m = open_fails(path);
    cr_assert_not_null(strstr(m, "not a Sluice database"), "%s", m);
    free(m);
}

Test(store, newer_migration_refused)
{
    sl_store_close(open_store(true));
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "INSERT INTO schema_migrations (name, executed_at) VALUES "
                              "('900_from_the_future', 0)",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    char *m = open_fails(path);
    cr_assert_not_null(strstr(m, "900_from_the_future"), "%s", m);
    cr_assert_not_null(strstr(m, path), "%s", m);
    free(m);
}

Test(store, read_only_file_refused)
{
    sl_store_close(open_store(true));
    if (geteuid() == 0) {
        /* root ignores file modes: use SQLite's own read-only open to get the same state */
        sqlite3 *db;
        cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        cr_assert_eq(sqlite3_db_readonly(db, "main"), 1);
        sqlite3_close(db);
        return;
    }
    cr_assert_eq(chmod(path, 0444), 0);
    char *m = open_fails(path);
    cr_assert_not_null(strstr(m, path), "%s", m);
    free(m);
}

Test(store, busy_database_fails_bounded)
{
    struct sl_store_opts o = {.path = path, .auto_bootstrap = true, .busy_timeout_ms = 200};
    struct sl_store_err err = {0};
    struct sl_store *st = NULL;
    sqlite3 *other;
    struct timespec t0, t1;

    cr_assert_eq(sl_store_open(&o, &st, &err), SL_STORE_OK);
    cr_assert_eq(sqlite3_open(path, &other), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(ins(st, &sl_store_entity_services, svc("s1", "a"), &err), SL_STORE_DB_ERROR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(el >= 0.15 && el < 3.0, "waited %.3f s", el);
    cr_assert_not_null(strstr(err.message, "locked"), "%s", err.message);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    /* once the lock is gone the store works again */
    ok_ins(st, &sl_store_entity_services, svc("s1", "a"));
    sl_store_err_clear(&err);
    sl_store_close(st);
}

Test(store, core_registry)
{
    const char *order[] = {"consumers", "certificates", "services", "routes",         "snis",
                           "upstreams", "targets",      "plugins",  "ca_certificates"};
    for (size_t i = 0; i < 9; i++) {
        cr_assert_not_null(sl_store_core_entities[i]);
        cr_assert_str_eq(sl_store_core_entities[i]->name, order[i]);
    }
    cr_assert_null(sl_store_core_entities[9]);
    cr_assert_eq(sl_store_core_entity("routes", 6), &sl_store_entity_routes);
    cr_assert_null(sl_store_core_entity("route", 5));
    cr_assert_str_eq(sl_store_core_migrations[0].name, "000_base_core");
    cr_assert_null(sl_store_core_migrations[1].name);
}
