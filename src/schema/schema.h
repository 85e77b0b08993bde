/* SPDX-License-Identifier: Apache-2.0 */
/* The schema language: every entity (and later every plugin config) is a static table of typed
 * fields with Kong's validators, defaults and entity checks; one engine validates, fills and
 * renders them. */
#ifndef SL_SCHEMA_H
#define SL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum sl_field_type {
    SL_FT_STRING = 0,
    SL_FT_INTEGER,
    SL_FT_NUMBER,
    SL_FT_BOOLEAN,
    SL_FT_ARRAY,
    SL_FT_SET,
    SL_FT_MAP,
    SL_FT_RECORD,
    SL_FT_FOREIGN,
    SL_FT_MAX
};

enum sl_field_auto {
    SL_AUTO_NONE = 0,
    SL_AUTO_UUID,   /* id: uuid v4 on insert/upsert when absent */
    SL_AUTO_TS_S,   /* created_at (insert) / updated_at (every write): integer seconds */
    SL_AUTO_TS_MS,  /* same, float seconds with millisecond precision (targets) */
    SL_AUTO_STRING, /* random 32 hex characters on insert when absent (credential keys) */
    SL_AUTO_MAX
};

enum sl_on_delete {
    SL_ON_DELETE_RESTRICT = 0, /* Kong's default: deleting the parent fails while children exist */
    SL_ON_DELETE_CASCADE,
    SL_ON_DELETE_NULL,
    SL_ON_DELETE_MAX
};

/* A custom validator: returns 0 when <value> (never JSON null) is valid, or -1 with Kong's message
 * in <err>. Called after the type check and every declarative validator passed. */
typedef int (*sl_schema_validator_fn)(const json_t *value, char *err, size_t errlen);

/* One pattern of match_none / match_all: <pattern> is PCRE2; <err> is the message on (no) match. */
struct sl_match {
    const char *pattern;
    const char *err;
};

/* A field. Arrays of fields end with an entry whose <name> is NULL. Element, key and value schemas
 * (<elements>, <keys>) are single fields whose name is ignored. Zero means "unset" for every
 * member, so a table only lists what it uses. */
struct sl_field {
    const char *name;
    enum sl_field_type type;
    bool required;
    bool unique;
    bool immutable;
    bool uuid;          /* string must be a UUID: `expected a valid UUID` */
    bool timestamp;     /* a number must be > 0: `expected a valid timestamp` */
    bool eq_null;       /* Kong's `eq = null`: any value fails with `value must be null` */
    bool ne_true;       /* Kong's `ne = true` (boolean): `value must not be true` */
    bool referenceable; /* rendered in /schemas only (vault references are not resolved here) */
    bool encrypted;     /* rendered in /schemas only; the value is a secret: never log it */
    bool no_len_min;    /* strings: allow "" (Kong's default len_min is 1) */
    enum sl_field_auto auto_kind;
    const char *default_json;    /* JSON literal, e.g. "80", "\"http\"", "[\"http\",\"https\"]" */
    const char *const *one_of;   /* NULL-terminated list (strings) */
    const long long *one_of_int; /* integers: list of <one_of_int_n> values */
    size_t one_of_int_n;
    const char *const *not_one_of; /* NULL-terminated: `expected none of: a, b` */
    bool has_between;
    double between_min, between_max;
    bool has_gt;
    double gt;                    /* `value must be greater than %s` */
    int len_eq, len_min, len_max; /* 0 = unset (strings: bytes; arrays/sets/maps: items) */
    const char *starts_with;
    const char *match;                 /* PCRE2; failure is `invalid value: <v>` */
    const struct sl_match *match_none; /* terminated by a NULL pattern */
    const struct sl_match *match_all;  /* every pattern must match; else its err */
    const char *const *match_any; /* NULL-terminated PCRE2 list; none matching: match_any_err */
    const char *match_any_err;
    const char *contains; /* arrays/sets of strings: `expected to contain: %s` */
    sl_schema_validator_fn custom;
    const char *err;                      /* replaces the message of any validator failure */
    const struct sl_field *elements;      /* array/set elements; map values */
    const struct sl_field *keys;          /* map keys */
    const struct sl_field *fields;        /* record fields (NULL-name terminated) */
    const char *reference;                /* foreign: referenced entity name ("services") */
    enum sl_on_delete on_delete;          /* foreign only */
    const struct sl_entity_check *checks; /* record only: its entity checks */
};

enum sl_check_kind {
    SL_CHECK_NONE = 0,           /* terminator */
    SL_CHECK_AT_LEAST_ONE_OF,    /* at least one of these fields must be non-empty: 'a', 'b' */
    SL_CHECK_ONLY_ONE_OF,        /* only one of these fields must be non-empty: ... */
    SL_CHECK_MUTUALLY_EXCLUSIVE, /* only one or none of these fields must be set: ... */
    SL_CHECK_MUTUALLY_REQUIRED,  /* all or none of these fields must be set: ... */
    SL_CHECK_DISTINCT,           /* values of these fields must be distinct: ... */
    SL_CHECK_CONDITIONAL,        /* if <if_field> matches <if_match>, <then_field> must match */
    SL_CHECK_CONDITIONAL_AT_LEAST_ONE_OF, /* if matches: at least one of <fields> (then_err) */
    SL_CHECK_CUSTOM,                      /* <fn> over the whole entity */
    SL_CHECK_MAX
};

/* A custom entity check: returns 0 when <entity> (complete, defaults filled, every field valid)
 * passes, or -1 with a message in <err> that goes to "@entity". It may also add field errors to
 * <errors> directly (then <err> may be left empty). */
typedef int (*sl_entity_check_fn)(const json_t *entity, json_t *errors, char *err, size_t errlen);

/* An entity check. Arrays of checks end with kind SL_CHECK_NONE. <fields> is NULL-terminated. */
struct sl_entity_check {
    enum sl_check_kind kind;
    const char *const *fields;
    const char *if_field;
    const struct sl_field *if_match; /* validators only; the type comes from the schema field */
    const char *then_field;
    const struct sl_field *then_match; /* `required = true` becomes `required field missing` */
    const char *then_err; /* CONDITIONAL_AT_LEAST_ONE_OF: format with the quoted list */
    const struct sl_field *else_match;
    const char *const *else_fields;
    const char *else_err;
    sl_entity_check_fn fn;
    const char *name; /* CUSTOM: a label for /schemas */
};

struct sl_schema;

/* Picks the subschema for an entity from the value of its subschema key (<key>: a string when
 * sl_schema_process calls it; sl_schema_coerce_form may pass NULL, JSON null or another type).
 * Returns NULL when none applies; sets <err> when the value names no known subschema: then, as in
 * Kong, sl_schema_process reports that message as the key field's error and nothing else (e.g.
 * the plugin-not-enabled message). */
typedef const struct sl_schema *(*sl_subschema_fn)(const json_t *key, char *err, size_t errlen);

enum sl_schema_op {
    SL_SCHEMA_INSERT = 0, /* POST: a new entity */
    SL_SCHEMA_UPDATE,     /* PATCH: <input> deep-merged into <existing> */
    SL_SCHEMA_UPSERT,     /* PUT: full replace of <existing> (or a new entity when it is NULL) */
    SL_SCHEMA_OP_MAX
};

/* A shorthand or transformation run on the raw input of <op> before validation (services' `url`):
 * may rewrite <input>, or add field errors to <errors> and return -1 (validation stops there, as
 * when Kong's process_auto_fields fails). For UPDATE <input> is the partial body, before the merge
 * with the stored entity: a default set here would overwrite a stored value, which Kong's update
 * context never does. */
typedef int (*sl_schema_shorthand_fn)(json_t *input, enum sl_schema_op op, json_t *errors);

struct sl_schema {
    const char *name;       /* entity name, e.g. "services" */
    const char *admin_path; /* Admin API collection path when it differs ("key-sets"); or NULL */
    const char *const *primary_key; /* NULL-terminated; {"id"} for every core entity */
    const char *endpoint_key;       /* alternate URL key ("name", "username"), or NULL */
    const char *const *cache_key;   /* NULL-terminated or NULL */
    const char *subschema_key;      /* "name" for plugins, or NULL */
    sl_subschema_fn subschema;      /* required when subschema_key is set */
    bool ttl;                       /* accepts `ttl` */
    bool workspaceable;
    bool db_export_off;            /* excluded from declarative export (tags) */
    const struct sl_field *fields; /* NULL-name terminated, Kong's order */
    const struct sl_entity_check *checks;
    sl_schema_shorthand_fn shorthand;
};

/* Validates <input> against <s> for <op> and returns a new reference to the complete entity: every
 * schema field present in schema order (unset ones JSON null), defaults filled, auto fields set (id
 * on insert/upsert when absent, created_at on insert or kept from <existing>, updated_at on every
 * write). For UPDATE, <existing> is required and the stored entity is merged with <input> (records
 * merged field by field, everything else replaced); immutable fields may not change. For UPSERT the
 * id and created_at of <existing> (if any) are kept unless <input> gives an id. On failure returns
 * NULL and, if <err_fields> is not NULL, stores a new reference to Kong's nested errors object
 * there ({"host":"required field missing","@entity":["..."]}; record errors nested objects;
 * array/set element errors arrays with null for valid elements). <input> is not modified. Any
 * thread; no global state apart from the plugin-schema hook. */
json_t *sl_schema_process(const struct sl_schema *s, const json_t *input, enum sl_schema_op op,
                          const json_t *existing, json_t **err_fields);

/* Validates a value against one field definition (used for query arguments and subschema fields).
 * Returns NULL when valid, or a new reference to the error (a string, or a nested object/array). */
json_t *sl_schema_validate_field(const struct sl_field *f, const json_t *value);

/* Kong's form-input inference (kong/api/arguments.lua infer_value), in place on <in>: for each key
 * that names a field of <s>, "" becomes null, numeric strings become numbers for integer/number
 * fields, "true"/"false" become booleans, a scalar becomes a 1-element array for array/set fields,
 * an object with keys "1","2",... becomes an array, and records and maps are walked recursively.
 * Values that do not convert are left as they are, so validation reports them. Unknown keys are
 * left alone. */
void sl_schema_coerce_form(const struct sl_schema *s, json_t *in);

/* Renders <s> as Kong's GET /schemas/{entity} body: {"fields":[{"id":{...}}, ...],
 * "entity_checks":[...]}. Custom validators and functions are not rendered (Kong strips them).
 * Returns a new reference, or NULL on allocation failure. */
json_t *sl_schema_to_json(const struct sl_schema *s);

/* Finds a field of <s> (or of a record field list) by name; NULL when absent. */
const struct sl_field *sl_schema_field(const struct sl_schema *s, const char *name);
const struct sl_field *sl_schema_fields_find(const struct sl_field *fields, const char *name);

/* True when entities of <s> carry tags (else Kong's `?tags=` answers "cannot be used with"). */
static inline bool
sl_schema_has_tags(const struct sl_schema *s)
{
    return sl_schema_field(s, "tags") != NULL;
}

/* The core entities in Kong's CORE_ENTITIES order (dependencies first), NULL-terminated. */
extern const struct sl_schema *const sl_schema_core[];

/* Finds a core entity schema by entity name ("services") or Admin path name ("key-sets"); NULL when
 * unknown. */
const struct sl_schema *sl_schema_find(const char *entity_name);

/* The plugin registry hook: returns the schema of plugin <name> (its fields override the generic
 * plugin fields: config, protocols, consumer/route/service restrictions), or NULL when the plugin
 * is not enabled. Unset (NULL) means no plugin is enabled. Set once at start-up, before any thread
 * processes plugins. */
extern const struct sl_schema *(*sl_plugin_schema_lookup)(const char *name);

/* A new random version 4 UUID (OpenSSL RAND_bytes) as a lowercase string into <out>. Returns 0 or
 * -1 when the random generator fails. */
int sl_schema_uuid_v4(char out[37]);

/* True when <s> has the shape of a UUID (Kong's check: 8-4-4-4-12 hex digits, any case). */
bool sl_schema_is_uuid(const char *s);

/* A validation message as a new JSON string; bytes that are not UTF-8 are written "\xAA" so the
 * message (and the error) is never lost. */
json_t *sl_schema_err_string(const char *msg);

#endif
