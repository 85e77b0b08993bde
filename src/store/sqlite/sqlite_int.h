/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the SQLite back end's files: the handle, statement and transaction helpers,
 * and the derived columns each entity table carries next to its JSON document. */
#ifndef SL_STORE_SQLITE_INT_H
#define SL_STORE_SQLITE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "store/store.h"

struct sqlite_store {
    struct sl_store base; /* first: the handle callers see */
    sqlite3 *db;
    char *path;                             /* malloc'd copy for messages */
    const struct sl_store_migration **migs; /* core then extra, in application order */
    size_t nmigs;
    const struct sl_store_entity **ents; /* registry: every entity some migration creates */
    size_t nents;
    bool in_tx;                 /* inside an explicit begin() */
    bool dirty;                 /* the explicit transaction wrote something */
    sqlite3_int64 data_version; /* PRAGMA data_version when last checked (0: never) */
};

/* A growable SQL text; <oom> sticks once an allocation failed. */
struct sqlbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

void sl_sqlite_buf_printf(struct sqlbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sl_sqlite_buf_free(struct sqlbuf *b);

/* DB_ERROR naming the store's file and SQLite's last message, prefixed by <what>. */
enum sl_store_rc sl_sqlite_db_error(struct sqlite_store *s, const char *what,
                                    struct sl_store_err *err);

enum sl_store_rc sl_sqlite_exec(struct sqlite_store *s, const char *sql, struct sl_store_err *err);
enum sl_store_rc sl_sqlite_prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **st,
                                   struct sl_store_err *err);
/* sl_sqlite_prepare of a statement formatted from <fmt> (table and column names: never values,
 * which are bound). */
enum sl_store_rc sl_sqlite_preparef(struct sqlite_store *s, sqlite3_stmt **st,
                                    struct sl_store_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every write runs between write_begin and write_end: alone it is its own IMMEDIATE transaction
 * (the write lock is taken first, so busy_timeout applies instead of a snapshot upgrade failure);
 * inside begin() it is a savepoint. write_end commits or undoes according to <rc>, bumps the
 * generation when a transaction that wrote commits, and returns the final rc. */
enum sl_store_rc sl_sqlite_write_begin(struct sqlite_store *s, struct sl_store_err *err);
enum sl_store_rc sl_sqlite_write_end(struct sqlite_store *s, enum sl_store_rc rc,
                                     struct sl_store_err *err);

/* Steps the prepared <st> once and finalizes it: true when it gave a row. A step failure sets <*rc>
 * to a DB_ERROR prefixed by <what> and returns false. Takes ownership of <st>. */
bool sl_sqlite_row_found(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
                         enum sl_store_rc *rc, struct sl_store_err *err);

/* True when the table <name> exists. Sets <*rc> on a database failure. */
bool sl_sqlite_table_exists(struct sqlite_store *s, const char *name, enum sl_store_rc *rc,
                            struct sl_store_err *err);

/* Creates <e>'s table if missing and adds (and fills) any derived column it lacks, so applying
 * a later migration that lists an extended descriptor upgrades the table in place. */
enum sl_store_rc sl_sqlite_ensure_table(struct sqlite_store *s, const struct sl_store_entity *e,
                                        struct sl_store_err *err);

/* Registered entity of that name, or NULL. */
const struct sl_store_entity *sl_sqlite_entity(struct sqlite_store *s, const char *name);

extern const struct sl_store_ops sl_store_sqlite_ops;

/* CRUD callbacks (crud.c). */
enum sl_store_rc sl_sqlite_insert(struct sl_store *st, const struct sl_store_entity *e, json_t *row,
                                  struct sl_store_err *err);
enum sl_store_rc sl_sqlite_select(struct sl_store *st, const struct sl_store_entity *e,
                                  const char *id, json_t **out, struct sl_store_err *err);
enum sl_store_rc sl_sqlite_select_by(struct sl_store *st, const struct sl_store_entity *e,
                                     const char *field, const char *value, json_t **out,
                                     struct sl_store_err *err);
enum sl_store_rc sl_sqlite_select_group(struct sl_store *st, const struct sl_store_entity *e,
                                        size_t group, const json_t *probe, json_t **out,
                                        struct sl_store_err *err);
enum sl_store_rc sl_sqlite_page(struct sl_store *st, const struct sl_store_entity *e,
                                const struct sl_store_page_query *q, struct sl_store_page *out,
                                struct sl_store_err *err);
enum sl_store_rc sl_sqlite_update(struct sl_store *st, const struct sl_store_entity *e,
                                  const char *id, json_t *row, struct sl_store_err *err);
enum sl_store_rc sl_sqlite_delete(struct sl_store *st, const struct sl_store_entity *e,
                                  const char *id, struct sl_store_err *err);
enum sl_store_rc sl_sqlite_count(struct sl_store *st, const struct sl_store_entity *e, size_t *n,
                                 struct sl_store_err *err);
enum sl_store_rc sl_sqlite_for_each(struct sl_store *st, const struct sl_store_entity *e,
                                    sl_store_row_fn fn, void *ud, struct sl_store_err *err);

/* Rewrites every derived column of row <id> from <doc> (crud.c; used to fill new columns). */
enum sl_store_rc sl_sqlite_write_columns(struct sqlite_store *s, const struct sl_store_entity *e,
                                         const char *id, json_t *doc, struct sl_store_err *err);

#endif
