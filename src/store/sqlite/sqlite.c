/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite back end: opening (and refusing) database files, transactions, and versioned
 * migrations. Row operations live in crud.c. Used from the control thread only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_int.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000

void
sl_sqlite_buf_printf(struct sqlbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom) {
        return;
    }
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap == 0 ? 256 : b->cap * 2) + (size_t)n;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

void
sl_sqlite_buf_free(struct sqlbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

enum sl_store_rc
sl_sqlite_db_error(struct sqlite_store *s, const char *what, struct sl_store_err *err)
{
    return sl_store_err_set(err, SL_STORE_DB_ERROR, "%s on database '%s': %s", what, s->path,
                            sqlite3_errmsg(s->db));
}

enum sl_store_rc
sl_sqlite_exec(struct sqlite_store *s, const char *sql, struct sl_store_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return sl_sqlite_db_error(s, "statement failed", err);
    }
    return SL_STORE_OK;
}

enum sl_store_rc
sl_sqlite_preparef(struct sqlite_store *s, sqlite3_stmt **st, struct sl_store_err *err,
                   const char *fmt, ...)
{
    char *sql = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&sql, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    enum sl_store_rc rc = sl_sqlite_prepare(s, sql, st, err);
    free(sql);
    return rc;
}

enum sl_store_rc
sl_sqlite_prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **st,
                  struct sl_store_err *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sl_sqlite_db_error(s, "cannot prepare statement", err);
    }
    return SL_STORE_OK;
}

enum sl_store_rc
sl_sqlite_write_begin(struct sqlite_store *s, struct sl_store_err *err)
{
    return sl_sqlite_exec(s, s->in_tx ? "SAVEPOINT sl_write" : "BEGIN IMMEDIATE", err);
}

enum sl_store_rc
sl_sqlite_write_end(struct sqlite_store *s, enum sl_store_rc rc, struct sl_store_err *err)
{
    if (s->in_tx) {
        if (rc == SL_STORE_OK) {
            rc = sl_sqlite_exec(s, "RELEASE sl_write", err);
            if (rc == SL_STORE_OK) {
                s->dirty = true;
                return rc;
            }
        }
        /* Undo this write only: the caller owns the outer transaction. */
        sqlite3_exec(s->db, "ROLLBACK TO sl_write; RELEASE sl_write", NULL, NULL, NULL);
        return rc;
    }
    if (rc == SL_STORE_OK) {
        rc = sl_sqlite_exec(s, "COMMIT", err);
        if (rc == SL_STORE_OK) {
            s->base.generation++;
            return rc;
        }
    }
    /* A failed COMMIT (disk full, I/O error) may leave the transaction open: end it. */
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

bool
sl_sqlite_table_exists(struct sqlite_store *s, const char *name, enum sl_store_rc *rc,
                       struct sl_store_err *err)
{
    sqlite3_stmt *st;

    *rc = sl_sqlite_prepare(s, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", &st,
                            err);
    if (*rc != SL_STORE_OK) {
        return false;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return sl_sqlite_row_found(s, st, "cannot read the schema", rc, err);
}

bool
sl_sqlite_row_found(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
                    enum sl_store_rc *rc, struct sl_store_err *err)
{
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        *rc = sl_sqlite_db_error(s, what, err);
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW;
}

const struct sl_store_entity *
sl_sqlite_entity(struct sqlite_store *s, const char *name)
{
    for (size_t i = 0; i < s->nents; i++) {
        if (strcmp(s->ents[i]->name, name) == 0) {
            return s->ents[i];
        }
    }
    return NULL;
}

/* Field and entity names become SQL identifiers: accept only what can never need quoting
 * tricks. */
static bool
ident_ok(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 48) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) {
            return false;
        }
    }
    return true;
}

static bool
entity_ok(const struct sl_store_entity *e)
{
    if (!ident_ok(e->name) || strncmp(e->name, "sqlite_", 7) == 0 || strcmp(e->name, "tags") == 0 ||
        strcmp(e->name, "schema_migrations") == 0) {
        return false;
    }
    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        if (!ident_ok(e->unique[i])) {
            return false;
        }
    }
    for (size_t g = 0; g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0] != NULL; g++) {
        for (size_t i = 0; i < SL_STORE_MAX_GROUP_FIELDS && e->groups[g].fields[i] != NULL; i++) {
            if (!ident_ok(e->groups[g].fields[i])) {
                return false;
            }
        }
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        if (!ident_ok(e->foreign[i].field) || e->foreign[i].entity == NULL ||
            e->foreign[i].on_delete >= SL_STORE_ON_DELETE_MAX) {
            return false;
        }
    }
    return true;
}

/* Builds the migration list and the entity registry; refuses bad descriptors and foreign fields
 * pointing at entities no migration creates. */
static enum sl_store_rc
build_registry(struct sqlite_store *s, const struct sl_store_opts *opts, struct sl_store_err *err)
{
    size_t ncore = 0, cap_ents = 0;

    while (sl_store_core_migrations[ncore].name != NULL) {
        ncore++;
    }
    s->nmigs = ncore + (opts->extra_migrations != NULL ? opts->n_extra_migrations : 0);
    s->migs = calloc(s->nmigs, sizeof(*s->migs));
    if (s->migs == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    for (size_t i = 0; i < s->nmigs; i++) {
        s->migs[i] = i < ncore ? &sl_store_core_migrations[i] : &opts->extra_migrations[i - ncore];
        if (s->migs[i]->name == NULL || s->migs[i]->entities == NULL) {
            return sl_store_err_set(err, SL_STORE_DB_ERROR, "invalid migration #%zu", i);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->migs[i]->name, s->migs[j]->name) == 0) {
                return sl_store_err_set(err, SL_STORE_DB_ERROR, "duplicate migration '%s'",
                                        s->migs[i]->name);
            }
        }
        for (size_t k = 0; s->migs[i]->entities[k] != NULL; k++) {
            cap_ents++;
        }
    }
    s->ents = calloc(cap_ents + 1, sizeof(*s->ents));
    if (s->ents == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    for (size_t i = 0; i < s->nmigs; i++) {
        for (size_t k = 0; s->migs[i]->entities[k] != NULL; k++) {
            const struct sl_store_entity *e = s->migs[i]->entities[k];
            const struct sl_store_entity *prev = sl_sqlite_entity(s, e->name);
            if (!entity_ok(e)) {
                return sl_store_err_set(err, SL_STORE_DB_ERROR, "invalid entity descriptor '%s'",
                                        e->name != NULL ? e->name : "(null)");
            }
            if (prev == NULL) {
                s->ents[s->nents++] = e;
            } else if (prev != e) {
                /* A later migration extends an entity: the newest descriptor rules. */
                for (size_t n = 0; n < s->nents; n++) {
                    if (s->ents[n] == prev) {
                        s->ents[n] = e;
                    }
                }
            }
        }
    }
    for (size_t n = 0; n < s->nents; n++) {
        for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && s->ents[n]->foreign[i].field != NULL; i++) {
            if (sl_sqlite_entity(s, s->ents[n]->foreign[i].entity) == NULL) {
                return sl_store_err_set(err, SL_STORE_DB_ERROR,
                                        "entity '%s' references unknown entity '%s'",
                                        s->ents[n]->name, s->ents[n]->foreign[i].entity);
            }
        }
    }
    return SL_STORE_OK;
}

static bool
column_exists(struct sqlite_store *s, const char *table, const char *col)
{
    struct sqlbuf b = {0};
    sqlite3_stmt *st = NULL;
    bool found = false;

    sl_sqlite_buf_printf(&b, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?", table);
    if (!b.oom && sqlite3_prepare_v2(s->db, b.p, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, col, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    sl_sqlite_buf_free(&b);
    return found;
}

/* Adds one derived column with its index when missing; <*added> tells the caller to refill. */
static enum sl_store_rc
ensure_column(struct sqlite_store *s, const char *table, const char *col, bool unique, bool *added,
              struct sl_store_err *err)
{
    struct sqlbuf b = {0};
    enum sl_store_rc rc = SL_STORE_OK;

    if (!column_exists(s, table, col)) {
        sl_sqlite_buf_printf(&b, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" TEXT;", table, col);
        *added = true;
    }
    sl_sqlite_buf_printf(&b, "CREATE %sINDEX IF NOT EXISTS \"%s_%s\" ON \"%s\" (\"%s\");",
                         unique ? "UNIQUE " : "", table, col, table, col);
    rc = b.oom ? sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory")
               : sl_sqlite_exec(s, b.p, err);
    sl_sqlite_buf_free(&b);
    return rc;
}

enum sl_store_rc
sl_sqlite_ensure_table(struct sqlite_store *s, const struct sl_store_entity *e,
                       struct sl_store_err *err)
{
    struct sqlbuf b = {0};
    enum sl_store_rc rc;
    bool added = false;
    char col[64];

    sl_sqlite_buf_printf(&b,
                         "CREATE TABLE IF NOT EXISTS \"%s\" (id TEXT PRIMARY KEY NOT NULL, "
                         "created_at REAL, doc TEXT NOT NULL)",
                         e->name);
    rc = b.oom ? sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory")
               : sl_sqlite_exec(s, b.p, err);
    sl_sqlite_buf_free(&b);
    for (size_t i = 0; rc == SL_STORE_OK && i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        snprintf(col, sizeof(col), "u_%s", e->unique[i]);
        rc = ensure_column(s, e->name, col, true, &added, err);
    }
    for (size_t g = 0; rc == SL_STORE_OK && g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0];
         g++) {
        snprintf(col, sizeof(col), "g%zu", g);
        rc = ensure_column(s, e->name, col, true, &added, err);
    }
    for (size_t i = 0; rc == SL_STORE_OK && i < SL_STORE_MAX_FOREIGN && e->foreign[i].field; i++) {
        snprintf(col, sizeof(col), "f_%s", e->foreign[i].field);
        rc = ensure_column(s, e->name, col, false, &added, err);
    }
    if (rc != SL_STORE_OK || !added) {
        return rc;
    }
    /* New derived columns on a table with rows: compute them from the documents. */
    sqlite3_stmt *st;
    b = (struct sqlbuf){0};
    sl_sqlite_buf_printf(&b, "SELECT id, doc FROM \"%s\"", e->name);
    if (b.oom) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    rc = sl_sqlite_prepare(s, b.p, &st, err);
    sl_sqlite_buf_free(&b);
    while (rc == SL_STORE_OK && sqlite3_step(st) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        if (doc == NULL) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "corrupt document in '%s'", e->name);
            break;
        }
        rc = sl_sqlite_write_columns(s, e, (const char *)sqlite3_column_text(st, 0), doc, err);
        json_decref(doc);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- migrations ---- */

static enum sl_store_rc
ensure_base(struct sqlite_store *s, struct sl_store_err *err)
{
    return sl_sqlite_exec(s,
                          "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY "
                          "NOT NULL, executed_at INTEGER NOT NULL);"
                          "CREATE TABLE IF NOT EXISTS tags (entity TEXT NOT NULL, id TEXT NOT "
                          "NULL, tag TEXT NOT NULL, PRIMARY KEY (entity, id, tag)) WITHOUT ROWID;"
                          "CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag, entity);",
                          err);
}

/* Whether migration <name> is recorded. */
static bool
executed(struct sqlite_store *s, const char *name, enum sl_store_rc *rc, struct sl_store_err *err)
{
    sqlite3_stmt *st;

    if (!sl_sqlite_table_exists(s, "schema_migrations", rc, err)) {
        return false;
    }
    *rc = sl_sqlite_prepare(s, "SELECT 1 FROM schema_migrations WHERE name = ?", &st, err);
    if (*rc != SL_STORE_OK) {
        return false;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return sl_sqlite_row_found(s, st, "cannot read schema_migrations", rc, err);
}

static bool
known_migration(struct sqlite_store *s, const char *name)
{
    for (size_t i = 0; i < s->nmigs; i++) {
        if (strcmp(s->migs[i]->name, name) == 0) {
            return true;
        }
    }
    return false;
}

static enum sl_store_rc
mig_list(struct sl_store *base, sl_store_migration_fn fn, void *ud, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc = SL_STORE_OK;
    sqlite3_stmt *st;

    for (size_t i = 0; i < s->nmigs; i++) {
        bool done = executed(s, s->migs[i]->name, &rc, err);
        if (rc != SL_STORE_OK) {
            return rc;
        }
        fn(ud, s->migs[i]->name, done);
    }
    if (!sl_sqlite_table_exists(s, "schema_migrations", &rc, err)) {
        return rc;
    }
    rc = sl_sqlite_prepare(s, "SELECT name FROM schema_migrations ORDER BY name", &st, err);
    while (rc == SL_STORE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name != NULL && !known_migration(s, name)) {
            fn(ud, name, true);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static enum sl_store_rc
mig_pending(struct sl_store *base, size_t *n, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc = SL_STORE_OK;

    *n = 0;
    for (size_t i = 0; i < s->nmigs; i++) {
        if (!executed(s, s->migs[i]->name, &rc, err)) {
            if (rc != SL_STORE_OK) {
                return rc;
            }
            (*n)++;
        }
    }
    return rc;
}

static enum sl_store_rc
mig_up(struct sl_store *base, size_t *n, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc;
    size_t applied = 0;

    if (n != NULL) {
        *n = 0;
    }
    rc = sl_sqlite_write_begin(s, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = ensure_base(s, err);
    for (size_t i = 0; rc == SL_STORE_OK && i < s->nmigs; i++) {
        const struct sl_store_migration *m = s->migs[i];
        if (executed(s, m->name, &rc, err) || rc != SL_STORE_OK) {
            continue;
        }
        for (size_t k = 0; rc == SL_STORE_OK && m->entities[k] != NULL; k++) {
            rc = sl_sqlite_ensure_table(s, m->entities[k], err);
        }
        if (rc == SL_STORE_OK) {
            sqlite3_stmt *st;
            rc = sl_sqlite_prepare(
                s, "INSERT INTO schema_migrations (name, executed_at) VALUES (?, ?)", &st, err);
            if (rc == SL_STORE_OK) {
                sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
                if (sqlite3_step(st) != SQLITE_DONE) {
                    rc = sl_sqlite_db_error(s, "cannot record migration", err);
                }
                sqlite3_finalize(st);
            }
            applied++;
        }
    }
    rc = sl_sqlite_write_end(s, rc, err);
    if (rc == SL_STORE_OK && n != NULL) {
        *n = applied;
    }
    return rc;
}

static enum sl_store_rc
mig_bootstrap(struct sl_store *base, bool *already, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc = SL_STORE_OK;

    *already = false;
    if (sl_sqlite_table_exists(s, "schema_migrations", &rc, err)) {
        *already = true;
        return SL_STORE_OK;
    }
    if (rc != SL_STORE_OK) {
        return rc;
    }
    return mig_up(base, NULL, err);
}

static enum sl_store_rc
mig_reset(struct sl_store *base, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct sqlbuf b = {0};
    sqlite3_stmt *st;
    enum sl_store_rc rc;

    rc = sl_sqlite_prepare(
        s, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", &st,
        err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        /* Names come from the file: quote them properly rather than trust them. */
        char *q = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\";", name != NULL ? name : "");
        sl_sqlite_buf_printf(&b, "%s", q != NULL ? q : "");
        if (q == NULL) {
            b.oom = true;
        }
        sqlite3_free(q);
    }
    sqlite3_finalize(st);
    if (b.oom) {
        sl_sqlite_buf_free(&b);
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    rc = sl_sqlite_write_begin(s, err);
    if (rc == SL_STORE_OK && b.p != NULL) {
        rc = sl_sqlite_exec(s, b.p, err);
    }
    rc = sl_sqlite_write_end(s, rc, err);
    sl_sqlite_buf_free(&b);
    return rc;
}

/* ---- transactions ---- */

/* Another process (e.g. `sluice config db_import` next to a running node) may have committed since
 * this handle last looked: SQLite's data_version moves only for other connections' commits, and
 * each one found bumps the generation so that snapshot mirrors reload. */
static void
note_foreign_commits(struct sqlite_store *s)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(st, 0);
        if (s->data_version != 0 && v != s->data_version) {
            s->base.generation++;
        }
        s->data_version = v;
    }
    sqlite3_finalize(st);
}

static enum sl_store_rc
tx_begin(struct sl_store *base, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc;

    if (s->in_tx) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "a transaction is already open");
    }
    rc = sl_sqlite_exec(s, "BEGIN IMMEDIATE", err);
    if (rc == SL_STORE_OK) {
        s->in_tx = true;
        s->dirty = false;
        note_foreign_commits(s); /* the write lock is held: nobody else commits until we end */
    }
    return rc;
}

static enum sl_store_rc
tx_commit(struct sl_store *base, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc;

    if (!s->in_tx) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "no transaction is open");
    }
    rc = sl_sqlite_exec(s, "COMMIT", err);
    if (rc != SL_STORE_OK) {
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    } else if (s->dirty) {
        s->base.generation++;
    }
    s->in_tx = false;
    s->dirty = false;
    return rc;
}

static enum sl_store_rc
tx_rollback(struct sl_store *base, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;

    if (!s->in_tx) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "no transaction is open");
    }
    s->in_tx = false;
    s->dirty = false;
    if (sqlite3_get_autocommit(s->db)) {
        return SL_STORE_OK; /* SQLite already rolled back (e.g. after an I/O error) */
    }
    return sl_sqlite_exec(s, "ROLLBACK", err);
}

/* ---- open / close ---- */

static void
store_close(struct sl_store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;

    if (s == NULL) {
        return;
    }
    if (s->db != NULL) {
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
        sqlite3_close_v2(s->db);
    }
    free(s->migs);
    free(s->ents);
    free(s->path);
    free(s);
}

/* Reads one text value from a pragma or query; "" if no row. */
static enum sl_store_rc
query_text(struct sqlite_store *s, const char *sql, char *out, size_t outlen, const char *what,
           struct sl_store_err *err)
{
    sqlite3_stmt *st = NULL;
    int r;

    out[0] = '\0';
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "database '%s' %s: %s", s->path, what,
                                sqlite3_errmsg(s->db));
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", t != NULL ? t : "");
    } else if (r != SQLITE_DONE) {
        sl_store_err_set(err, SL_STORE_DB_ERROR, "database '%s' %s: %s", s->path, what,
                         sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return SL_STORE_DB_ERROR;
    }
    sqlite3_finalize(st);
    return SL_STORE_OK;
}

/* Refuses files that are not ours or come from a newer Sluice; bootstraps an empty one when
 * asked. */
static enum sl_store_rc
check_contents(struct sqlite_store *s, const struct sl_store_opts *opts, struct sl_store_err *err)
{
    enum sl_store_rc rc;
    char buf[64];
    sqlite3_stmt *st;

    rc = query_text(
        s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        buf, sizeof(buf), "cannot be read", err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (strcmp(buf, "0") == 0) {
        if (opts->auto_bootstrap) {
            bool already;
            return mig_bootstrap(&s->base, &already, err);
        }
        return SL_STORE_OK;
    }
    if (!sl_sqlite_table_exists(s, "schema_migrations", &rc, err)) {
        if (rc != SL_STORE_OK) {
            return rc;
        }
        return sl_store_err_set(err, SL_STORE_DB_ERROR,
                                "database '%s' is not a Sluice database (it has tables but no "
                                "schema_migrations)",
                                s->path);
    }
    rc = sl_sqlite_prepare(s, "SELECT name FROM schema_migrations ORDER BY name", &st, err);
    while (rc == SL_STORE_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            break;
        }
        if (r != SQLITE_ROW) {
            rc = sl_sqlite_db_error(s, "cannot read schema_migrations", err);
            break;
        }
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name == NULL || !known_migration(s, name)) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR,
                                  "database '%s' has migration '%s', unknown to this version "
                                  "(was it written by a newer Sluice?)",
                                  s->path, name != NULL ? name : "(null)");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static enum sl_store_rc
store_open(const struct sl_store_opts *opts, struct sl_store **out, struct sl_store_err *err)
{
    struct sqlite_store *s;
    enum sl_store_rc rc;
    char buf[256];

    *out = NULL;
    if (opts->path == NULL || opts->path[0] == '\0') {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "no database file given (sqlite_path)");
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->path = strdup(opts->path)) == NULL) {
        free(s);
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    s->base.ops = &sl_store_sqlite_ops;
    s->base.generation = 1;
    rc = build_registry(s, opts, err);
    if (rc != SL_STORE_OK) {
        goto fail;
    }
    if (sqlite3_open_v2(opts->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "cannot open database '%s': %s", s->path,
                              s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, opts->busy_timeout_ms != 0 ? (int)opts->busy_timeout_ms
                                                           : DEFAULT_BUSY_TIMEOUT_MS);
    /* The first read is where SQLite notices a file that is not a database. */
    rc = query_text(s, "SELECT count(*) FROM sqlite_master", buf, sizeof(buf),
                    "is not a usable SQLite database", err);
    if (rc != SL_STORE_OK) {
        goto fail;
    }
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        rc = sl_store_err_set(err, SL_STORE_DB_ERROR,
                              "database '%s' is read-only (check the file's permissions)", s->path);
        goto fail;
    }
    rc = query_text(s, "PRAGMA journal_mode = WAL", buf, sizeof(buf), "cannot use WAL mode", err);
    if (rc == SL_STORE_OK && strcmp(buf, "wal") != 0) {
        rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "database '%s' cannot use WAL mode (%s)",
                              s->path, buf);
    }
    if (rc != SL_STORE_OK) {
        goto fail;
    }
    /* FULL: an Admin API write that answered 2xx survives power loss; writes are rare. Foreign
     * keys are enforced by crud.c, which needs the referencing entity's name for Kong's
     * messages and must also maintain the tags table on cascades. */
    rc = sl_sqlite_exec(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;", err);
    if (rc != SL_STORE_OK) {
        goto fail;
    }
    if (!opts->skip_integrity_check) {
        rc = query_text(s, "PRAGMA quick_check", buf, sizeof(buf), "failed its integrity check",
                        err);
        if (rc == SL_STORE_OK && strcmp(buf, "ok") != 0) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR,
                                  "database '%s' failed its integrity check: %s", s->path, buf);
        }
        if (rc != SL_STORE_OK) {
            goto fail;
        }
    }
    rc = check_contents(s, opts, err);
    if (rc != SL_STORE_OK) {
        goto fail;
    }
    note_foreign_commits(s);
    *out = &s->base;
    return SL_STORE_OK;
fail:
    store_close(&s->base);
    return rc;
}

const struct sl_store_ops sl_store_sqlite_ops = {
    .name = "sqlite",
    .open = store_open,
    .close = store_close,
    .migrations_list = mig_list,
    .migrations_pending = mig_pending,
    .migrations_up = mig_up,
    .migrations_bootstrap = mig_bootstrap,
    .migrations_reset = mig_reset,
    .begin = tx_begin,
    .commit = tx_commit,
    .rollback = tx_rollback,
    .insert = sl_sqlite_insert,
    .select = sl_sqlite_select,
    .select_by = sl_sqlite_select_by,
    .select_group = sl_sqlite_select_group,
    .page = sl_sqlite_page,
    .update = sl_sqlite_update,
    .delete = sl_sqlite_delete,
    .count = sl_sqlite_count,
    .for_each = sl_sqlite_for_each,
};

bool
sl_store_sqlite_connects(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    /* no SQLITE_OPEN_CREATE: a missing file must fail, not become an empty database */
    bool ok =
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}
