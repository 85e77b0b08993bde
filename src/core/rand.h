/* SPDX-License-Identifier: Apache-2.0 */
/* Fast per-thread pseudo-random numbers for request ids (not for secrets: use OpenSSL RAND_bytes).
 */
#ifndef SL_CORE_RAND_H
#define SL_CORE_RAND_H

#include <stdint.h>

/* Next 64 random bits from this thread's generator (seeded from getrandom on first use). */
uint64_t sl_rand64(void);
/* Writes 32 lowercase hex characters and a NUL (an nginx-style $request_id) into <out>. */
void sl_request_id(char out[33]);

#endif
