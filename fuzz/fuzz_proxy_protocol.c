/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for sl_proxy_protocol_parse. Checks the contract of proxy_protocol.h: the
 * length returned lies inside the input; every shorter prefix of an accepted header asks for more
 * (never refused, never complete); an accepted address is a valid address of its family; and the
 * parser reads nothing past the bytes it was given (an exact heap copy under ASan). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/proxy_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ssize_t
parse_copy(const uint8_t *data, size_t size, struct sl_proxy_protocol *pp)
{
    char *copy = malloc(size ? size : 1);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, data, size);
    ssize_t n = sl_proxy_protocol_parse(copy, size, pp);
    free(copy);
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_proxy_protocol pp;
    ssize_t n = parse_copy(data, size, &pp);
    if (n < -1 || n > (ssize_t)size || n > SL_PROXY_PROTOCOL_MAX) {
        abort();
    }
    if (n <= 0) {
        return 0;
    }
    if (pp.version != 1 && pp.version != 2) {
        abort();
    }
    if (pp.has_addr) {
        unsigned char bin[16];
        if ((pp.family != AF_INET && pp.family != AF_INET6) ||
            inet_pton(pp.family, pp.src_ip, bin) != 1 ||
            inet_pton(pp.family, pp.dst_ip, bin) != 1) {
            abort();
        }
    }
    for (size_t k = 0; k < (size_t)n; k++) {
        struct sl_proxy_protocol tmp;
        if (parse_copy(data, k, &tmp) != 0) {
            abort();
        }
    }
    return 0;
}
