/* SPDX-License-Identifier: Apache-2.0 */
/* Between the store and configurations: compile what the store holds into a struct sl_config (for a
 * snapshot), import a declarative configuration into the store (`sluice config db_import`), and
 * export the store as a declarative document (`db_export`). Control thread only. */
#ifndef SL_CONFIG_STORE_BRIDGE_H
#define SL_CONFIG_STORE_BRIDGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sluice/entity-t.h"
#include "store/store.h"

/* Every core table of the store as Kong's export writes it (`kong config db_export`): a
 * declarative 3.0 document with `_transform: false`, one top-level list per table that has rows
 * (Kong's topological order: a parent's table first), each row complete with its nulls and its
 * foreign keys as bare ids. New reference, or NULL with <err>. */
json_t *sl_config_store_export(struct sl_store *st, char *err, size_t errlen);
/* The same document from the rows a declarative load returned (sl_declarative_opts.rows): what
 * GET /config answers in DB-less mode. The rows are changed in place (foreign keys written as bare
 * ids) and shared with the document. New reference. */
json_t *sl_config_export_rows(json_t *rows);

/*
 * The mirror: an in-memory copy of the store's rows that the data plane is compiled from
 * (services and routes), kept by the control thread so that one Admin write recompiles from memory
 * instead of reading and decoding the whole store again (docs/internals/store.md, "Snapshots from
 * the store"). Rows are trusted: the schema engine validated them when they were written, so a
 * build only converts them (entity_build.h) and links routes to their services.
 *
 * The protocol for a writer (src/admin/crud.c), inside its transaction:
 *   write the row; sl_config_mirror_refresh(m, st, entity, id); build; commit;
 *   then sl_config_mirror_committed(m, st) — or sl_config_mirror_reset(m) when anything failed
 *   (the mirror may hold rows that were rolled back).
 * A mirror that missed a commit (the store's generation moved without it) reloads everything at
 * its next build, so a forgotten refresh costs time, never correctness.
 */
struct sl_config_mirror;

/* A new, empty mirror (the first build loads the store). NULL on ENOMEM. */
struct sl_config_mirror *sl_config_mirror_new(void);
void sl_config_mirror_free(struct sl_config_mirror *m); /* NULL-safe */

/* Reads every row of <st> now (a build would do it on demand): for a new store handle, so that the
 * first write pays for one row, not the whole store. Returns 0, or -1 with <err> (reset). */
int sl_config_mirror_load(struct sl_config_mirror *m, struct sl_store *st, char *err,
                          size_t errlen);

/* Forgets every row: the next build reads the whole store. */
void sl_config_mirror_reset(struct sl_config_mirror *m);

/* Re-reads row <id> of <entity> ("services", "routes"; other entities are ignored) from <st>:
 * present → replaced, absent → dropped. Returns 0, or -1 with <err> (the mirror is then reset). */
int sl_config_mirror_refresh(struct sl_config_mirror *m, struct sl_store *st, const char *entity,
                             const char *id, char *err, size_t errlen);

/* True when a write to <entity> cannot change the compiled configuration: the entity is not one the
 * data plane reads (only services and routes today; entities join as the data plane starts using
 * them), and the mirror is loaded and in step with <st> (no commit by another process since). The
 * writer may then keep the running snapshot. */
bool sl_config_mirror_unaffected(const struct sl_config_mirror *m, const struct sl_store *st,
                                 const char *entity);

/* Records that the writer's transaction committed: the mirror matches the store's generation. */
void sl_config_mirror_committed(struct sl_config_mirror *m, const struct sl_store *st);

/* Compiles the mirror into a new configuration (its own arena; free with sl_config_free), loading
 * the whole store first when the mirror is empty or missed a commit. NULL with <err> on failure
 * (a read error, or a row that cannot be converted: never a partial configuration). */
struct sl_config *sl_config_mirror_build(struct sl_config_mirror *m, struct sl_store *st, char *err,
                                         size_t errlen);

/* The whole store compiled once, without keeping a mirror (start-up, `sluice check`). */
struct sl_config *sl_config_from_store(struct sl_store *st, char *err, size_t errlen);

/* Upserts <rows> (the loader's validated rows, sl_declarative_opts.rows: {"<table>": [row...]})
 * into the store by id, as Kong's db_import does (a stored id is replaced whole, a new one
 * inserted), in one transaction, parents first: all or nothing. Returns 0, or -1 with the store's
 * message for the first failure in <err>. */
int sl_config_store_import(struct sl_store *st, const json_t *rows, char *err, size_t errlen);

#endif
