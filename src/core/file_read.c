/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with a bound (file_read.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file_read.h"

/* The first buffer; it doubles as the file proves longer. */
#define FIRST_CAP (16u * 1024)

char *
sl_file_read_all(const char *path, size_t limit, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL) {
        return NULL; /* fopen's errno */
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int err = 0;
    for (;;) {
        if (n == cap) {
            if (n > limit) {
                err = EFBIG;
                break;
            }
            /* room for the limit plus one byte (to tell "exactly the limit" from "longer") and
             * the NUL, never more */
            size_t want = cap ? cap * 2 : FIRST_CAP;
            if (want > limit + 1 || want < cap) {
                want = limit + 1;
            }
            char *bigger = realloc(buf, want + 1);
            if (bigger == NULL) {
                err = ENOMEM;
                break;
            }
            buf = bigger;
            cap = want;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                err = errno != 0 ? errno : EIO;
            }
            break;
        }
    }
    fclose(f);
    if (err != 0) { /* (a clean end leaves n <= limit: a full buffer of limit + 1 is EFBIG above) */
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
