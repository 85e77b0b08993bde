/* SPDX-License-Identifier: Apache-2.0 */
/* The node id: the UUID this process calls itself (GET / `node_id`), kept across restarts as
 * Kong keeps its own (kong/pdk/node.lua, kong/pdk/private/node.lua).
 *
 * Contract. The id is, in order: the `node_id` configuration key when set (sluice.conf already
 * refused a value that is not a UUID); else the UUID in <prefix>/sluice.id (Kong's kong.id);
 * else a new random one, written there for the next start. The file holds the 36 characters
 * (a trailing newline or blanks, as `echo` leaves them, are accepted). It is written whole or
 * not at all: a temporary file in the prefix, mode 0600, synced, then renamed over sluice.id.
 * A file that cannot be read or does not hold a UUID is replaced by a new id, with a warning in
 * the error log; when the new id cannot be written the process still runs with it (warning), and
 * the next start makes another. A configured id leaves the file alone.
 * Differences from Kong 3.x: Kong's open-source code keeps kong.id for data planes only, and logs
 * an invalid file at debug level; Sluice, which has only the traditional role, always keeps the
 * file (Kong's "node_id should be same after kong restarts" spec asks it of every node), and warns
 * when it replaces one, since a changed id is visible to whatever tracks the node. */
#ifndef SL_CORE_NODE_ID_H
#define SL_CORE_NODE_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "core/uuid.h"

/* The id file's name under the prefix. */
#define SL_NODE_ID_FILE "sluice.id"

/* Decides the id as the contract above says, from <configured> (NULL or "" when unset) and
 * <prefix> (an existing directory), into <out>. Each problem (unreadable or invalid file, failed
 * write) is logged as a warning. Returns 0, or -1 when no random id could be made (then <out> is
 * empty). Not thread-safe: call before threads start. */
int sl_node_id_resolve(const char *configured, const char *prefix, char out[SL_UUID_STR_LEN + 1]);

/* sl_node_id_resolve, keeping the result as the id of this process. */
int sl_node_id_setup(const char *configured, const char *prefix);

/* The id of this process: the one sl_node_id_setup kept, or, when it never ran (a harness
 * without a prefix), a random one made at the first call. Thread-safe after setup. */
const char *sl_node_id(void);

#endif
