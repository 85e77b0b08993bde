/* SPDX-License-Identifier: Apache-2.0 */
/* The node id (src/core/node_id.h): configuration, else <prefix>/sluice.id, else a new one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_replace.h"
#include "core/node_id.h"
#include "sluice/log.h"

static char node_id[SL_UUID_STR_LEN + 1];
static pthread_once_t fallback_once = PTHREAD_ONCE_INIT;

/* Longer than an id with generous trailing blanks: anything bigger is not one of our files. */
#define ID_FILE_MAX 64

enum read_result { ID_OK, ID_MISSING, ID_UNREADABLE, ID_INVALID };

/* Reads <path> into <out> when it holds a UUID. <why> gets the reason of a failure for the
 * warning (never the file's contents: it may be anything). */
static enum read_result
read_id_file(const char *path, char out[SL_UUID_STR_LEN + 1], char *why, size_t whylen)
{
    /* O_NONBLOCK: a FIFO planted at the path must not hang the start; only a regular file is
     * read */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            return ID_MISSING;
        }
        snprintf(why, whylen, "%s", strerror(errno));
        return ID_UNREADABLE;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        return ID_UNREADABLE;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        close(fd);
        return ID_UNREADABLE;
    }
    /* one byte more than allowed, to tell a long file from one that fits */
    char buf[ID_FILE_MAX + 2];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            close(fd);
            return ID_UNREADABLE;
        }
        if (n == 0 || (len += (size_t)n) == sizeof(buf) - 1) {
            break;
        }
    }
    close(fd);
    if (len > ID_FILE_MAX) {
        snprintf(why, whylen, "does not hold a valid UUID");
        return ID_INVALID;
    }
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t')) {
        buf[--len] = '\0';
    }
    if (strlen(buf) != len || !sl_uuid_valid(buf)) {
        snprintf(why, whylen, "does not hold a valid UUID");
        return ID_INVALID;
    }
    memcpy(out, buf, SL_UUID_STR_LEN + 1);
    return ID_OK;
}

int
sl_node_id_resolve(const char *configured, const char *prefix, char out[SL_UUID_STR_LEN + 1])
{
    out[0] = '\0';
    if (configured != NULL && configured[0] != '\0') {
        snprintf(out, SL_UUID_STR_LEN + 1, "%s", configured);
        return 0;
    }
    char path[PATH_MAX], why[PATH_MAX + 128] = "";
    int plen = snprintf(path, sizeof(path), "%s/%s", prefix, SL_NODE_ID_FILE);
    bool have_path = plen > 0 && (size_t)plen < sizeof(path);
    if (have_path) {
        switch (read_id_file(path, out, why, sizeof(why))) {
        case ID_OK:
            sl_log(SL_LOG_DEBUG, "node_id %s restored from %s", out, path);
            return 0;
        case ID_MISSING:
            break;
        case ID_UNREADABLE:
        case ID_INVALID:
            sl_log(SL_LOG_WARN, "node_id file %s: %s, a new node_id will be generated", path, why);
            break;
        }
    }
    if (sl_uuid_v4(out) != 0) {
        out[0] = '\0';
        return -1;
    }
    if (!have_path) {
        sl_log(SL_LOG_WARN, "node_id not persisted: prefix path too long");
    } else if (sl_file_replace(prefix, path, out, strlen(out), why, sizeof(why)) < 0) {
        sl_log(SL_LOG_WARN, "failed to persist node_id to %s: %s", path, why);
    } else {
        sl_log(SL_LOG_INFO, "node_id %s persisted to %s", out, path);
    }
    return 0;
}

int
sl_node_id_setup(const char *configured, const char *prefix)
{
    char id[SL_UUID_STR_LEN + 1];
    if (sl_node_id_resolve(configured, prefix, id) < 0) {
        return -1;
    }
    memcpy(node_id, id, sizeof(node_id));
    return 0;
}

static void
make_fallback(void)
{
    if (node_id[0] == '\0' && sl_uuid_v4(node_id) != 0) {
        node_id[0] = '\0';
    }
}

const char *
sl_node_id(void)
{
    pthread_once(&fallback_once, make_fallback);
    return node_id;
}
