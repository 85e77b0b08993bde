/* SPDX-License-Identifier: Apache-2.0 */
/* The kept DB-less configuration (dbless_persist.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/dbless_persist.h"

#define DBLESS_FILE "dbless.config"

int
sl_dbless_path(const char *prefix, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/" DBLESS_FILE, prefix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

bool
sl_dbless_exists(const char *prefix)
{
    char path[4096];
    struct stat sb;
    return sl_dbless_path(prefix, path, sizeof(path)) == 0 && stat(path, &sb) == 0 &&
           S_ISREG(sb.st_mode);
}

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
sl_dbless_save(const char *prefix, const char *text, size_t len, char *err, size_t errlen)
{
    char path[4096], tmp[4120];
    if (sl_dbless_path(prefix, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "prefix path too long");
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* the rename itself must survive a crash: sync the directory entry */
    int dfd = open(prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
