/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a whole file of bounded size into memory: sluice.conf, a declarative configuration,
 * the PEM files sluice.conf names, a /proc file. */
#ifndef SL_CORE_FILE_READ_H
#define SL_CORE_FILE_READ_H

#include <stddef.h>

/* Reads the whole of <path> into a buffer of the caller's (malloc'd: free() it), NUL-terminated
 * after the <*len> bytes read. Nothing is taken from the file's size, so a pipe or a /proc file
 * reads as a regular file does. At most <limit> bytes: a longer file is refused (EFBIG) once
 * <limit> + 1 bytes have been read, however long it is; memory grows with what is read.
 * Returns the buffer, or NULL with errno set: open's errno, EFBIG, ENOMEM, or the read's (EIO
 * when stdio keeps none). The callers turn errno into their own messages. */
char *sl_file_read_all(const char *path, size_t limit, size_t *len);

#endif
