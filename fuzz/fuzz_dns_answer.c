/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for DNS answers (bytes from the network): the A, AAAA and SRV readers of
 * src/net/dns_answer.c. Invariants: no crash, no leak, never more than SL_DNS_MAX_ADDRS addresses
 * or the asked number of SRV records, every SRV host a terminated, non-empty string. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/dns_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535) {
        return 0; /* a DNS message is at most 64 KiB */
    }
    struct sl_addrs a;
    int ttl;
    for (int v6 = 0; v6 < 2; v6++) {
        sl_dns_answer_addrs(data, (int)size, v6 != 0, &a, &ttl);
        if (a.n > SL_DNS_MAX_ADDRS) {
            __builtin_trap();
        }
    }
    struct sl_dns_srv recs[4];
    size_t n = 0;
    sl_dns_answer_srv(data, (int)size, recs, 4, &n, &ttl);
    if (n > 4) {
        __builtin_trap();
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strnlen(recs[i].host, sizeof(recs[i].host));
        if (len == 0 || len == sizeof(recs[i].host)) {
            __builtin_trap();
        }
    }
    return 0;
}
