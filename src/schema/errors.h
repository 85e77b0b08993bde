/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's error bodies (kong/db/errors.lua) and their HTTP statuses (endpoints.lua
 * ERRORS_HTTP_CODES): {"code","name","message","fields"}. */
#ifndef SL_SCHEMA_ERRORS_H
#define SL_SCHEMA_ERRORS_H

#include <jansson.h>

enum sl_err_code {
    SL_ERR_NONE = 0,
    SL_ERR_INVALID_PRIMARY_KEY = 1,
    SL_ERR_SCHEMA_VIOLATION = 2,
    SL_ERR_PRIMARY_KEY_VIOLATION = 3,
    SL_ERR_FOREIGN_KEY_VIOLATION = 4,
    SL_ERR_UNIQUE_VIOLATION = 5,
    SL_ERR_NOT_FOUND = 6,
    SL_ERR_INVALID_OFFSET = 7,
    SL_ERR_DATABASE_ERROR = 8,
    SL_ERR_INVALID_SIZE = 9,
    SL_ERR_INVALID_UNIQUE = 10,
    SL_ERR_INVALID_OPTIONS = 11,
    SL_ERR_OPERATION_UNSUPPORTED = 12,
    SL_ERR_FOREIGN_KEYS_UNRESOLVED = 13,
    SL_ERR_DECLARATIVE_CONFIG = 14,
    SL_ERR_TRANSFORMATION_ERROR = 15,
    SL_ERR_INVALID_FOREIGN_KEY = 16,
    SL_ERR_INVALID_WORKSPACE = 17,
    SL_ERR_INVALID_UNIQUE_GLOBAL = 18,
    SL_ERR_REFERENCED_BY_OTHERS = 19,
    SL_ERR_MAX
};

/* Kong's name of <code> ("schema violation"), or NULL for an unknown code. */
const char *sl_err_name(enum sl_err_code code);

/* The HTTP status the Admin API answers for <code> (400, 404, 405, 409, 500). */
int sl_err_http_status(enum sl_err_code code);

/* Penlight's pretty.write(<v>, ""): {name="svc"}, {["a-b"]=1}, {"a","b"}; keys sorted. Returns a
 * malloc'd string (caller frees) or NULL. */
char *sl_err_pretty(const json_t *v);

/* Each builder returns a new reference to the body, or NULL on allocation failure. Arguments are
 * borrowed (copied where they end up in the body). */

/* code 2: "schema violation (a: msg)" or "N schema violations (a: ...; b.c: ...)"; "@entity"
 * messages first, then fields in sorted order, one level of nesting spelled out, deeper tables
 * pretty-printed. <fields> is the errors object from sl_schema_process. */
json_t *sl_err_schema_violation(const json_t *fields);
/* code 5: "UNIQUE violation detected on '{name=\"svc\"}'"; <key> e.g. {"name":"svc"}. */
json_t *sl_err_unique_violation(const json_t *key);
/* code 4, missing reference: field <field_name> holds <fk> ({"id":...}) absent from <parent>. */
json_t *sl_err_foreign_key_invalid(const json_t *fk, const char *field_name, const char *parent);
/* code 4, restrict on delete: "an existing '<child>' entity references this '<parent>' entity". */
json_t *sl_err_foreign_key_restricted(const char *parent, const char *child);
/* code 6: "could not find the entity with primary key '{id=\"...\"}'" */
json_t *sl_err_not_found(const json_t *pk);
/* code 7: "'<offset>' is not a valid offset: <why>" */
json_t *sl_err_invalid_offset(const char *offset, const char *why);
/* code 9: message <msg> (e.g. "size must be an integer between 1 and 1000") */
json_t *sl_err_invalid_size(const char *msg);
/* code 1: "invalid primary key: '{id=\"x\"}'" */
json_t *sl_err_invalid_primary_key(const json_t *pk);
/* code 3: "primary key violation on key '{id=\"x\"}'" */
json_t *sl_err_primary_key_violation(const json_t *pk);
/* code 12: message <msg> ("cannot create 'services' entities when not using a database") */
json_t *sl_err_operation_unsupported(const char *msg);
/* code 14: "declarative config is invalid: <pretty(fields)>" with <fields> copied. */
json_t *sl_err_declarative(const json_t *fields);
/* code 14 as Kong 3.x's POST /config answers it (errors.lua declarative_config_flattened): every
 * entity error of <err_t> (sections like {"services":[null,{...}]} or {"services":{"2":{...}}},
 * positions matching the arrays of <input>) becomes an item of "flattened_errors"
 * {entity_type, entity_id?, entity_name?, entity_tags?, entity,
 * errors:[{type:"field",field,message} | {type:"entity",message}]}; errors of nested children
 * (routes under a service) and owned references are hoisted to their own items. What cannot be
 * correlated stays in "fields" and the message. */
json_t *sl_err_declarative_flattened(const json_t *err_t, const json_t *input);
/* code 19: message <msg> */
json_t *sl_err_referenced_by_others(const char *msg);

#endif
