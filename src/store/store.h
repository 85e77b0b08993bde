/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface: entities kept as JSON documents behind a back-end ops struct (SQLite now,
 * PostgreSQL later), with Kong's unique, foreign-key, cascade and pagination semantics. It knows
 * nothing of schemas: callers validate documents and describe each entity with a descriptor. */
#ifndef SL_STORE_H
#define SL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Threading: a store handle belongs to the control thread. Nothing here is safe to call from a
 * worker thread (calls block on disk and on other processes' locks, bounded by busy_timeout_ms);
 * workers only ever read compiled snapshots.
 *
 * Documents: every row is a JSON object whose "id" member (a string) is the primary key. Foreign
 * fields are Kong-shaped: {"id": "<uuid>"} or null (or absent). "tags", when the entity has tags,
 * is an array of strings. The store never fills defaults, timestamps or ids: the caller (schema
 * layer) does, and merges PATCHes before calling update, which replaces the stored document whole.
 */

#define SL_STORE_MAX_UNIQUE 4       /* single unique fields per entity */
#define SL_STORE_MAX_GROUPS 2       /* composite unique groups per entity */
#define SL_STORE_MAX_GROUP_FIELDS 4 /* fields per composite group */
#define SL_STORE_MAX_FOREIGN 4      /* foreign fields per entity */
#define SL_STORE_MAX_TAGS 5         /* tag filter terms (Kong's limit) */
#define SL_STORE_PAGE_DEFAULT 100   /* Kong's default page size */
#define SL_STORE_PAGE_MAX 1000      /* Kong's largest page size */

enum sl_store_rc {
    SL_STORE_OK = 0,
    SL_STORE_NOT_FOUND,             /* no row with that key (Kong code 6) */
    SL_STORE_PRIMARY_KEY_VIOLATION, /* insert with an id that exists (Kong code 3) */
    SL_STORE_UNIQUE_VIOLATION,      /* a unique field or group is taken (Kong code 5, 409) */
    SL_STORE_FOREIGN_KEY_VIOLATION, /* missing parent, or delete restricted by a child (code 4) */
    SL_STORE_INVALID_OFFSET,        /* undecodable pagination token (Kong code 7) */
    SL_STORE_DB_ERROR,              /* the database failed or refused (Kong code 8, 500) */
    SL_STORE_RC_MAX
};

/* What a failed call explains. <message> is Kong's text for the error (e.g. `UNIQUE violation
 * detected on '{name="svc"}'`), <fields> Kong's "fields" object (e.g. {"name":"svc"},
 * {"service":{"id":"..."}} or {"@referenced_by":"routes"}). Both are owned by the err and freed by
 * sl_store_err_clear(); a call that fails clears what a previous failure left. */
struct sl_store_err {
    enum sl_store_rc rc; /* same value the call returned */
    char *message;       /* malloc'd, NUL-terminated; NULL for NOT_FOUND */
    json_t *fields;      /* owned reference or NULL */
    const char *entity;  /* FK: the missing parent's entity, or on delete the restricting
                          * child's entity (static descriptor name); NULL otherwise */
};

/* Frees and zeroes <err>. Safe on a zeroed or already cleared err. */
void sl_store_err_clear(struct sl_store_err *err);

/* Kong's error code (kong/db/errors.lua) for <rc>: 3, 4, 5, 6, 7, 8; 0 for SL_STORE_OK. */
int sl_store_rc_kong_code(enum sl_store_rc rc);

/* Kong's error name for <rc> ("unique constraint violation", ...); "" for SL_STORE_OK. */
const char *sl_store_rc_name(enum sl_store_rc rc);

enum sl_store_on_delete {
    SL_STORE_ON_DELETE_RESTRICT = 0, /* Kong's default: deleting the parent fails while children
                                      * exist, naming the child entity */
    SL_STORE_ON_DELETE_CASCADE,      /* children are deleted with the parent (recursively) */
    SL_STORE_ON_DELETE_NULL,         /* children's reference becomes null */
    SL_STORE_ON_DELETE_MAX
};

struct sl_store_foreign {
    const char *field;                 /* top-level field holding {"id": ...} or null */
    const char *entity;                /* referenced entity name (must be registered) */
    enum sl_store_on_delete on_delete; /* what deleting the referenced row does */
};

/* A composite unique key (Kong's cache_key uniqueness): the tuple of the fields' values must be
 * unique. Unlike single unique fields, null components count as values, so two plugins
 * {name="a", service=null, ...} collide. A foreign component compares by its id. */
struct sl_store_unique_group {
    const char *fields[SL_STORE_MAX_GROUP_FIELDS + 1]; /* NULL-terminated, at least one */
};

/* How the store sees one entity. Field names are plain identifiers ([a-z0-9_]); they become
 * column names. Descriptors are static and outlive every store that uses them. */
struct sl_store_entity {
    const char *name;                            /* table and Kong entity name: "services" */
    const char *endpoint_key;                    /* alternate URL key ("name") or NULL; must also be
                                                  * listed in <unique> to be looked up with select_by */
    const char *unique[SL_STORE_MAX_UNIQUE + 1]; /* NULL-terminated; unique when non-null */
    struct sl_store_unique_group groups[SL_STORE_MAX_GROUPS + 1]; /* ends at fields[0] == NULL */
    struct sl_store_foreign foreign[SL_STORE_MAX_FOREIGN + 1];    /* ends at field == NULL */
    bool tags;                                                    /* has a "tags" set */
};

/* A named, versioned migration: creating the tables of <entities> (each back end knows how).
 * Names sort in application order ("000_base_core", "001_..."), are never renamed, and a
 * migration's content never changes once released: a later change is a new migration. */
struct sl_store_migration {
    const char *name;
    const struct sl_store_entity *const *entities; /* NULL-terminated; tables it creates */
};

/* The core entities, in Kong's CORE_ENTITIES order (dependencies first), NULL-terminated. */
extern const struct sl_store_entity *const sl_store_core_entities[];
/* The core migrations, in order, ended by a zeroed entry. */
extern const struct sl_store_migration sl_store_core_migrations[];

extern const struct sl_store_entity sl_store_entity_consumers;
extern const struct sl_store_entity sl_store_entity_certificates;
extern const struct sl_store_entity sl_store_entity_services;
extern const struct sl_store_entity sl_store_entity_routes;
extern const struct sl_store_entity sl_store_entity_snis;
extern const struct sl_store_entity sl_store_entity_upstreams;
extern const struct sl_store_entity sl_store_entity_targets;
extern const struct sl_store_entity sl_store_entity_plugins;
extern const struct sl_store_entity sl_store_entity_ca_certificates;

/* Returns the core entity named <name> (<len> bytes), or NULL. */
const struct sl_store_entity *sl_store_core_entity(const char *name, size_t len);

struct sl_store_opts {
    const char *backend;       /* "sqlite" (NULL means sqlite) */
    const char *path;          /* sqlite: the database file (DESIGN.md: <prefix>/sluice.db) */
    unsigned busy_timeout_ms;  /* wait for other processes' locks; 0 means 5000 */
    bool auto_bootstrap;       /* bootstrap an empty database while opening (sluice start) */
    bool skip_integrity_check; /* skip PRAGMA quick_check on open (large databases, tests) */
    /* Migrations after the core ones (plugin-owned entities), applied in this order. Their
     * entities join the registry used for foreign checks and cascades. May be NULL. */
    const struct sl_store_migration *extra_migrations;
    size_t n_extra_migrations;
};

/* One pagination request. */
enum sl_store_tags_op {
    SL_STORE_TAGS_AND = 0, /* ?tags=a,b: rows carrying every tag */
    SL_STORE_TAGS_OR,      /* ?tags=a/b: rows carrying at least one */
    SL_STORE_TAGS_MAX
};

struct sl_store_page_query {
    size_t size;             /* rows per page; 0 means 100; above 1000 means 1000 */
    const char *offset;      /* opaque token from a previous page, or NULL for the first */
    const char *const *tags; /* <ntags> tags (at most SL_STORE_MAX_TAGS), or NULL */
    size_t ntags;
    enum sl_store_tags_op tags_op;
    const char *foreign_field; /* restrict to children of one parent (nested lists), or NULL */
    const char *foreign_id;    /* the parent's id when <foreign_field> is set */
};

struct sl_store_page {
    json_t *rows;      /* owned: array of documents, in primary-key order */
    char *next_offset; /* malloc'd token for the next page, NULL on the last page */
};

/* Frees what a page owns and zeroes it. */
void sl_store_page_free(struct sl_store_page *page);

/* Called once per row by for_each; <row> is borrowed for the call (incref to keep it). A
 * non-zero return stops the walk; for_each then returns SL_STORE_OK. */
typedef int (*sl_store_row_fn)(void *ud, json_t *row);

/* One row of migrations_list. */
typedef void (*sl_store_migration_fn)(void *ud, const char *name, bool executed);

struct sl_store;

/*
 * The back-end operations. Every callback takes the store first and an <err> last (never NULL)
 * and returns an enum sl_store_rc, filling <err> on failure. Writes (insert, update, delete,
 * migrations) run inside a transaction: alone they commit on success; inside begin/commit they
 * join it. A failed write undoes everything it did (nothing partially applied) but leaves an
 * explicit transaction open for the caller to roll back or continue.
 *
 * open        opens or creates <opts->path>; fails (DB_ERROR, message naming the file) when the
 *             file cannot be opened or written, is not a SQLite database, fails the integrity
 *             check, is not a Sluice database, or carries a migration this version does not know.
 *             With <auto_bootstrap> an empty database is bootstrapped. Pending migrations are
 *             not applied: check migrations_pending and refuse or run migrations_up.
 * close       releases everything (an open transaction is rolled back). NULL-safe.
 * migrations_list      calls <fn> for every known migration (in order, executed or pending) and
 *             then for every executed one this version does not know (never, after open).
 * migrations_pending   sets <*n> to the number of known migrations not yet applied.
 * migrations_up        applies the pending migrations in order, in one transaction; <*n> = count.
 * migrations_bootstrap on an empty database creates everything; <*already> = true (and nothing
 *             done) when it was bootstrapped before.
 * migrations_reset     drops every table the store owns; the database is empty afterwards.
 * begin/commit/rollback  an explicit transaction (no nesting). commit bumps the generation when
 *             the transaction wrote something.
 * insert      stores <row> (borrowed; "id" required). PRIMARY_KEY_VIOLATION if the id exists,
 *             UNIQUE_VIOLATION, FOREIGN_KEY_VIOLATION when a referenced row is missing.
 * select      <*out> = new reference to the document with <id>, or NOT_FOUND.
 * select_by   same through a unique field (<field> must be in the entity's <unique>); <value> is
 *             the field's string value.
 * select_group  same through composite group <group> of the entity, the key values taken from
 *             the fields of <probe> (an object shaped like a document).
 * page        one page of rows ordered by id (stable across writes); INVALID_OFFSET for a bad
 *             token with Kong's message; DB_ERROR for a bad query (too many tags, tags on an
 *             entity without tags, unknown foreign field).
 * update      replaces the document with <id> by <row> (borrowed; its "id" member is set to <id>
 *             in place); NOT_FOUND, UNIQUE_VIOLATION, FOREIGN_KEY_VIOLATION as insert.
 * delete      deletes <id> applying every registered child's on_delete: FOREIGN_KEY_VIOLATION
 *             naming the first restricting child entity (nothing deleted), cascade deletes (depth
 *             bounded), set-null rewrites children. NOT_FOUND when absent.
 * count       <*n> = number of rows.
 * for_each    calls <fn> for every row in id order (config snapshot compilation).
 */
struct sl_store_ops {
    const char *name; /* "sqlite" */
    enum sl_store_rc (*open)(const struct sl_store_opts *opts, struct sl_store **out,
                             struct sl_store_err *err);
    void (*close)(struct sl_store *st);

    enum sl_store_rc (*migrations_list)(struct sl_store *st, sl_store_migration_fn fn, void *ud,
                                        struct sl_store_err *err);
    enum sl_store_rc (*migrations_pending)(struct sl_store *st, size_t *n,
                                           struct sl_store_err *err);
    enum sl_store_rc (*migrations_up)(struct sl_store *st, size_t *n, struct sl_store_err *err);
    enum sl_store_rc (*migrations_bootstrap)(struct sl_store *st, bool *already,
                                             struct sl_store_err *err);
    enum sl_store_rc (*migrations_reset)(struct sl_store *st, struct sl_store_err *err);

    enum sl_store_rc (*begin)(struct sl_store *st, struct sl_store_err *err);
    enum sl_store_rc (*commit)(struct sl_store *st, struct sl_store_err *err);
    enum sl_store_rc (*rollback)(struct sl_store *st, struct sl_store_err *err);

    enum sl_store_rc (*insert)(struct sl_store *st, const struct sl_store_entity *e, json_t *row,
                               struct sl_store_err *err);
    enum sl_store_rc (*select)(struct sl_store *st, const struct sl_store_entity *e, const char *id,
                               json_t **out, struct sl_store_err *err);
    enum sl_store_rc (*select_by)(struct sl_store *st, const struct sl_store_entity *e,
                                  const char *field, const char *value, json_t **out,
                                  struct sl_store_err *err);
    enum sl_store_rc (*select_group)(struct sl_store *st, const struct sl_store_entity *e,
                                     size_t group, const json_t *probe, json_t **out,
                                     struct sl_store_err *err);
    enum sl_store_rc (*page)(struct sl_store *st, const struct sl_store_entity *e,
                             const struct sl_store_page_query *q, struct sl_store_page *out,
                             struct sl_store_err *err);
    enum sl_store_rc (*update)(struct sl_store *st, const struct sl_store_entity *e, const char *id,
                               json_t *row, struct sl_store_err *err);
    enum sl_store_rc (*delete)(struct sl_store *st, const struct sl_store_entity *e, const char *id,
                               struct sl_store_err *err);
    enum sl_store_rc (*count)(struct sl_store *st, const struct sl_store_entity *e, size_t *n,
                              struct sl_store_err *err);
    enum sl_store_rc (*for_each)(struct sl_store *st, const struct sl_store_entity *e,
                                 sl_store_row_fn fn, void *ud, struct sl_store_err *err);
};

/* The part of every back end's handle that callers may read. A back end embeds it first. */
struct sl_store {
    const struct sl_store_ops *ops;
    uint64_t generation; /* bumped by every committed write (snapshot rebuild trigger), and at
                          * begin when another process committed meanwhile; starts at 1 on open;
                          * only ever grows */
};

/* Whether a new connection to the SQLite database at <path> opens and reads now (what Kong's
 * kong.db:connect() checks for the readiness probe and /status): an open handle keeps working on a
 * file that was removed or made unreadable, a new one does not. Creates nothing. */
bool sl_store_sqlite_connects(const char *path);

/* Opens the back end named by <opts->backend> (see ops->open). On success <*out> is the handle;
 * on failure it is NULL and <err> says why. */
enum sl_store_rc sl_store_open(const struct sl_store_opts *opts, struct sl_store **out,
                               struct sl_store_err *err);

/* The SQLite back end's ops (src/store/sqlite/). */
extern const struct sl_store_ops sl_store_sqlite_ops;

/* Pagination tokens shared by back ends: base64 of a JSON array holding the last key. encode
 * returns a malloc'd token or NULL (ENOMEM). decode sets <*last_id> (malloc'd) or fails with
 * INVALID_OFFSET and Kong's message `'<token>' is not a valid offset: bad base64 encoding` (or
 * `bad json encoding`). */
char *sl_store_offset_encode(const char *last_id);
enum sl_store_rc sl_store_offset_decode(const char *token, char **last_id,
                                        struct sl_store_err *err);

/* Fills <err> (clearing it first) with <rc> and a printf-formatted message; returns <rc>.
 * For back ends. */
enum sl_store_rc sl_store_err_set(struct sl_store_err *err, enum sl_store_rc rc, const char *fmt,
                                  ...) __attribute__((format(printf, 3, 4)));

/* Thin wrappers so callers never touch the ops table. Same contracts as the callbacks. */
static inline void
sl_store_close(struct sl_store *st)
{
    if (st != NULL) {
        st->ops->close(st);
    }
}

static inline enum sl_store_rc
sl_store_begin(struct sl_store *st, struct sl_store_err *err)
{
    return st->ops->begin(st, err);
}

static inline enum sl_store_rc
sl_store_commit(struct sl_store *st, struct sl_store_err *err)
{
    return st->ops->commit(st, err);
}

static inline enum sl_store_rc
sl_store_rollback(struct sl_store *st, struct sl_store_err *err)
{
    return st->ops->rollback(st, err);
}

static inline enum sl_store_rc
sl_store_insert(struct sl_store *st, const struct sl_store_entity *e, json_t *row,
                struct sl_store_err *err)
{
    return st->ops->insert(st, e, row, err);
}

static inline enum sl_store_rc
sl_store_select(struct sl_store *st, const struct sl_store_entity *e, const char *id, json_t **out,
                struct sl_store_err *err)
{
    return st->ops->select(st, e, id, out, err);
}

static inline enum sl_store_rc
sl_store_select_by(struct sl_store *st, const struct sl_store_entity *e, const char *field,
                   const char *value, json_t **out, struct sl_store_err *err)
{
    return st->ops->select_by(st, e, field, value, out, err);
}

static inline enum sl_store_rc
sl_store_select_group(struct sl_store *st, const struct sl_store_entity *e, size_t group,
                      const json_t *probe, json_t **out, struct sl_store_err *err)
{
    return st->ops->select_group(st, e, group, probe, out, err);
}

static inline enum sl_store_rc
sl_store_page(struct sl_store *st, const struct sl_store_entity *e,
              const struct sl_store_page_query *q, struct sl_store_page *out,
              struct sl_store_err *err)
{
    return st->ops->page(st, e, q, out, err);
}

static inline enum sl_store_rc
sl_store_update(struct sl_store *st, const struct sl_store_entity *e, const char *id, json_t *row,
                struct sl_store_err *err)
{
    return st->ops->update(st, e, id, row, err);
}

static inline enum sl_store_rc
sl_store_delete(struct sl_store *st, const struct sl_store_entity *e, const char *id,
                struct sl_store_err *err)
{
    return st->ops->delete (st, e, id, err);
}

static inline enum sl_store_rc
sl_store_count(struct sl_store *st, const struct sl_store_entity *e, size_t *n,
               struct sl_store_err *err)
{
    return st->ops->count(st, e, n, err);
}

static inline enum sl_store_rc
sl_store_for_each(struct sl_store *st, const struct sl_store_entity *e, sl_store_row_fn fn,
                  void *ud, struct sl_store_err *err)
{
    return st->ops->for_each(st, e, fn, ud, err);
}

static inline enum sl_store_rc
sl_store_migrations_list(struct sl_store *st, sl_store_migration_fn fn, void *ud,
                         struct sl_store_err *err)
{
    return st->ops->migrations_list(st, fn, ud, err);
}

static inline enum sl_store_rc
sl_store_migrations_pending(struct sl_store *st, size_t *n, struct sl_store_err *err)
{
    return st->ops->migrations_pending(st, n, err);
}

static inline enum sl_store_rc
sl_store_migrations_up(struct sl_store *st, size_t *n, struct sl_store_err *err)
{
    return st->ops->migrations_up(st, n, err);
}

static inline enum sl_store_rc
sl_store_migrations_bootstrap(struct sl_store *st, bool *already, struct sl_store_err *err)
{
    return st->ops->migrations_bootstrap(st, already, err);
}

static inline enum sl_store_rc
sl_store_migrations_reset(struct sl_store *st, struct sl_store_err *err)
{
    return st->ops->migrations_reset(st, err);
}

static inline uint64_t
sl_store_generation(const struct sl_store *st)
{
    return st->generation;
}

#endif
