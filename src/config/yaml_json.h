/* SPDX-License-Identifier: Apache-2.0 */
/* YAML (and JSON) documents to a jansson tree, with the scalar typing Kong's YAML library (lyaml,
 * YAML 1.1) applies, so that a declarative file means the same to Sluice as to Kong. */
#ifndef SL_CONFIG_YAML_JSON_H
#define SL_CONFIG_YAML_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Limits that keep a hostile document bounded: nesting depth, and nodes counted with every alias
 * expanded (so "billion laughs" documents fail fast instead of exhausting memory or time). A scalar
 * counts one node per SL_YAML_BYTES_PER_NODE bytes as well, so the expanded text is bounded too
 * (8 Mi nodes ≈ 128 MiB of strings). */
#define SL_YAML_MAX_DEPTH 64
#define SL_YAML_MAX_NODES (8u * 1024 * 1024)
#define SL_YAML_BYTES_PER_NODE 16

/* Parses the first document of the YAML stream <buf,len> into a new jansson value (the caller
 * json_decref()s it). Anchors and aliases are supported (an alias shares the anchored value, so the
 * tree may be a DAG: treat it as read-only), as are `<<` merge keys. Plain scalars are typed as
 * lyaml does: null (~, null, empty), booleans (true/false, yes/no, on/off in three casings),
 * integers (decimal, 0-octal, 0x, 0b, sexagesimal), floats; quoted scalars are strings; !!str,
 * !!int,
 * !!float, !!bool and !!null tags are honoured. A non-finite float (.inf, .nan) becomes the real
 * 0.5, which no integer, string or boolean field accepts — exactly as Kong rejects them. On failure
 * returns NULL with "<line>:<column>: <problem>" in <err>. */
json_t *sl_yaml_to_json(const char *buf, size_t len, char *err, size_t errlen);

#endif
