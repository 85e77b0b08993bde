/* SPDX-License-Identifier: Apache-2.0 */
/* `sluice drain` (kong drain): asks a running instance's Status API to answer /status/ready with
 * 503 {"message":"draining"}, so that load balancers stop sending it new traffic before it is
 * stopped (src/admin/status.c). */
#ifndef SL_CLI_DRAIN_H
#define SL_CLI_DRAIN_H

#include "config/conf.h"

/* POSTs {"status":"draining"} to /status/ready on the first status_listen entry of <conf> (the
 * running instance's configuration; over TLS, unverified, when it has `ssl`) within 1 s, as
 * `kong drain` does. Prints the outcome on
 * stdout with Kong's wording ("Sluice's status successfully changed to 'draining'", "No status
 * listeners found in configuration.", "Failed to send request to <url>: <why>", "Unexpected
 * response status from <url>: <status>"). Returns 0 on success, 1 otherwise (Kong exits 0 in
 * every case; a script must be able to tell). */
int sl_cli_drain(const struct sl_conf *conf);

#endif
