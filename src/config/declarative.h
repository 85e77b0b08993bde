/* SPDX-License-Identifier: Apache-2.0 */
/* The declarative configuration (DB-less, kong.md §6.2): Kong's `_format_version: "3.0"` file, YAML
 * or JSON, with services (nested routes allowed), top-level routes, the `url` shorthand, references
 * by name or id, and stable UUIDs for entities without an id. Services and routes are validated
 * with Kong's field rules, defaults and messages (kong.md §1.1-1.2); so are consumers,
 * certificates (with nested snis, upstreams and services), ca_certificates, snis, upstreams (with
 * nested targets) and targets, which only db_import stores (the data plane does not use them yet).
 * docs/configuration.md lists what is supported. */
#ifndef SL_CONFIG_DECLARATIVE_H
#define SL_CONFIG_DECLARATIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/entity-t.h"

/* A declarative file larger than this is refused (Kong's own bound is its 2 GiB LMDB map). */
#define SL_DECLARATIVE_MAX_BYTES (64u * 1024 * 1024)
/* At most this many error lines are written; the rest are counted in a final line. */
#define SL_DECLARATIVE_MAX_ERRORS 1000

/* The namespace of Kong's declarative ids: an entity without an id gets
 * uuid5(uuid5(SL_DECLARATIVE_UUID_NS, "<table>"), "<endpoint key>"), e.g. a service named "echo"
 * gets uuid5(uuid5(ns, "services"), "echo") — the id Kong gives it. */
#define SL_DECLARATIVE_UUID_NS "fd02801f-0957-4a15-a55a-c8d9606f30b5"

/* Options of the _opts loaders; zero-initialise for the defaults. */
struct sl_declarative_opts {
    char *warn; /* receives warnings (ignored entities and fields), one per line; may be NULL */
    size_t warnlen;
    int64_t now; /* unix seconds for created_at/updated_at not given; 0: the current time */
    /* When not NULL (db_import), receives on success a new reference to every entity of the file
     * as the store keeps it: {"<table>": [<complete row>, ...]} for ca_certificates,
     * certificates, consumers, services, routes, snis, upstreams and targets, in that order (a
     * parent before its children), ids assigned and references resolved to {"id": ...}; NULL on
     * failure. The loader then warns only about what it ignores. */
    json_t **rows;
    /* When not NULL: the text given to sl_declarative_load_string_opts, already parsed by the
     * caller (borrowed; the Admin API reads a JSON body to find its options). It is used instead
     * of parsing the text again, which is a sixth of a large load; the text still gives the hash
     * and the kept source. */
    const json_t *parsed;
};

/* Kong's configuration_hash: the MD5 of a declarative text in lowercase hex; 32 zeros for an empty
 * text. <hex> receives 33 bytes. */
void sl_declarative_md5(const char *text, size_t len, char hex[33]);

/* Loads and validates <path>. On success returns a config owning its own arena (free with
 * sl_config_free). On failure returns NULL and writes every error found, one per line, into <err>
 * (truncated to <errlen>), in Kong's nested form, e.g.
 *   in 'services': in entry 1 of 'services': in 'host': required field missing
 * A document that does not parse gives one line: "failed parsing declarative configuration: ...".
 * Thread-safe (no shared state); call it from the control thread, it does file I/O. */
struct sl_config *sl_declarative_load_file(const char *path, char *err, size_t errlen);
/* The same from memory; <name> is used in messages (e.g. the file name) and, when it ends in
 * ".json", selects the JSON parser (otherwise a document starting with '{' is tried as JSON first,
 * then as YAML, like Kong). */
struct sl_config *sl_declarative_load_string(const char *buf, size_t len, const char *name,
                                             char *err, size_t errlen);
/* As above, with options (warnings, a fixed clock). <opts> may be NULL. */
struct sl_config *sl_declarative_load_file_opts(const char *path,
                                                const struct sl_declarative_opts *opts, char *err,
                                                size_t errlen);
struct sl_config *sl_declarative_load_string_opts(const char *buf, size_t len, const char *name,
                                                  const struct sl_declarative_opts *opts, char *err,
                                                  size_t errlen);
/* The same from an already parsed document (borrowed): the store's rows, without a text round trip.
 */
struct sl_config *sl_declarative_load_json(const json_t *root,
                                           const struct sl_declarative_opts *opts, char *err,
                                           size_t errlen);
/* An empty configuration (no declarative file). NULL on ENOMEM. */
struct sl_config *sl_config_new_empty(void);
/* Frees <cfg> and everything in its arena. Accepts NULL. */
void sl_config_free(struct sl_config *cfg);

#endif
