/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for sl_h1_chunked_decode. The first two bytes seed the split points (bit 0 of
 * the first also picks a request's or an upstream response's framing); the rest is decoded whole,
 * byte by byte and in pseudo-random pieces, and all three must agree on the data, the verdict and
 * the number of bytes the message took. Views must lie inside the consumed bytes. What a request
 * accepts, a response reads the same way (its framing only adds to the request's). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
    long verdict; /* bytes taken when done, -400, or 0 when the input ran out */
    size_t outlen;
    unsigned char *out;
};

/* <mode> 0: whole; 1: one byte per call; 2: pieces from the xorshift seeded with <seed>. */
static void
decode(const uint8_t *data, size_t size, int mode, unsigned seed, bool response, struct result *r)
{
    struct sl_h1_chunked st;
    memset(&st, 0, sizeof(st));
    st.response = response;
    r->outlen = 0;
    r->verdict = 0;
    size_t off = 0;
    unsigned x = seed | 1;
    while (off < size) {
        size_t piece = size - off;
        if (mode == 1) {
            piece = 1;
        } else if (mode == 2) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            piece = 1 + x % (piece < 64 ? piece : 64);
        }
        /* an exact heap copy, so a read past the piece is caught */
        uint8_t *copy = malloc(piece);
        if (!copy) {
            abort();
        }
        memcpy(copy, data + off, piece);
        size_t used = 0;
        while (used < piece) {
            struct sl_str d;
            ssize_t n = sl_h1_chunked_decode(&st, (const char *)copy + used, piece - used, &d);
            if (n < 0) {
                if (n != -400 || sl_h1_chunked_decode(&st, "0", 1, &d) != -400) {
                    abort();
                }
                r->verdict = -400;
                free(copy);
                return;
            }
            if (n == 0) {
                if (!st.done) {
                    abort(); /* 0 only when done or empty */
                }
                break;
            }
            if ((size_t)n > piece - used) {
                abort();
            }
            if (d.len) {
                if ((const uint8_t *)d.p < copy + used ||
                    (const uint8_t *)d.p + d.len > copy + used + (size_t)n) {
                    abort();
                }
                memcpy(r->out + r->outlen, d.p, d.len);
                r->outlen += d.len;
            }
            used += (size_t)n;
            if (st.done) {
                break;
            }
        }
        off += used;
        free(copy);
        if (st.done) {
            r->verdict = (long)off;
            return;
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    unsigned seed = (unsigned)data[0] << 8 | data[1];
    bool response = data[0] & 1;
    data += 2;
    size -= 2;
    struct result r[4];
    for (int m = 0; m < 4; m++) {
        r[m].out = malloc(size + 1);
        if (!r[m].out) {
            abort();
        }
        if (m < 3) {
            decode(data, size, m, seed, response, &r[m]);
        }
    }
    if (!response && r[0].verdict >= 0) {
        decode(data, size, 0, seed, true, &r[3]);
        if (r[3].verdict != r[0].verdict || r[3].outlen != r[0].outlen ||
            memcmp(r[3].out, r[0].out, r[0].outlen) != 0) {
            abort();
        }
    }
    for (int m = 1; m < 3; m++) {
        if (r[m].verdict != r[0].verdict) {
            abort();
        }
        /* the data handed out, even before an error, does not depend on the split */
        if ((r[m].outlen != r[0].outlen || memcmp(r[m].out, r[0].out, r[0].outlen) != 0)) {
            abort();
        }
    }
    if (r[0].verdict > (long)size || r[0].outlen > size) {
        abort();
    }
    for (int m = 0; m < 4; m++) {
        free(r[m].out);
    }
    return 0;
}
