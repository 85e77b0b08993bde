/* SPDX-License-Identifier: Apache-2.0 */
/* `sluice drain` (drain.h): one HTTP/1.1 request to the instance's own Status API. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/drain.h"

#define DRAIN_TIMEOUT_MS 1000 /* kong drain's httpc:set_timeout(1000) */

static const char drain_body[] = "{\"status\":\"draining\"}";

/* The address to reach a listener on: a wildcard one is reached on loopback. */
static const char *
connect_host(const char *host)
{
    if (strcmp(host, "0.0.0.0") == 0) {
        return "127.0.0.1";
    }
    if (strcmp(host, "::") == 0) {
        return "::1";
    }
    return host;
}

/* Waits for a non-blocking connect on <fd> to finish; 0, or -1 with errno. */
static int
connect_wait(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int rc = poll(&p, 1, DRAIN_TIMEOUT_MS);
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return -1;
    }
    errno = err;
    return err == 0 ? 0 : -1;
}

/* A socket connected to <host>:<port> within DRAIN_TIMEOUT_MS, blocking from then on with every
 * send and receive bounded by the same time; -1 with <why> set. */
static int
connect_bounded(const char *host, unsigned port, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    int gai = getaddrinfo(host, service, &hints, &ai);
    if (gai != 0) {
        snprintf(why, whylen, "%s", gai_strerror(gai));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (fd >= 0 && rc < 0 && errno == EINPROGRESS) {
        rc = connect_wait(fd);
    }
    struct timeval tv = {.tv_sec = DRAIN_TIMEOUT_MS / 1000,
                         .tv_usec = (DRAIN_TIMEOUT_MS % 1000) * 1000};
    if (rc < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
        snprintf(why, whylen, "%s", errno == EAGAIN ? "timeout" : strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* Sends the drain request on <fd> and reads the response's status line: the status, or -1 with
 * <why> set. */
static int
exchange(int fd, const char *hostport, char *why, size_t whylen)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /status/ready HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     hostport, sizeof(drain_body) - 1, drain_body);
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(why, whylen, "%s", n < 0 || errno == EAGAIN ? "timeout" : strerror(errno));
        return -1;
    }
    char buf[256] = "";
    size_t got = 0;
    while (got < sizeof(buf) - 1 && memchr(buf, '\n', got) == NULL) {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (r <= 0) {
            snprintf(why, whylen, "%s",
                     r == 0            ? "closed"
                     : errno == EAGAIN ? "timeout"
                                       : strerror(errno));
            return -1;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100 || status > 599) {
        snprintf(why, whylen, "not an HTTP response");
        return -1;
    }
    return status;
}

int
sl_cli_drain(const struct sl_conf *conf)
{
    const struct sl_listen *l = NULL;
    for (size_t i = 0; i < conf->nstatus_listen && l == NULL; i++) {
        if (!conf->status_listen[i].ssl) { /* ssl entries are not served (status.c) */
            l = &conf->status_listen[i];
        }
    }
    if (l == NULL) {
        printf("No status listeners found in configuration.\n");
        return 1;
    }
    const char *host = connect_host(l->host);
    bool v6 = strchr(host, ':') != NULL;
    char hostport[300], url[340], why[256];
    snprintf(hostport, sizeof(hostport), "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
             (unsigned)l->port);
    snprintf(url, sizeof(url), "http://%s/status/ready", hostport);
    int fd = connect_bounded(host, l->port, why, sizeof(why));
    int status = fd < 0 ? -1 : exchange(fd, hostport, why, sizeof(why));
    if (fd >= 0) {
        close(fd);
    }
    if (status < 0) {
        printf("Failed to send request to %s: %s\n", url, why);
        return 1;
    }
    if (status != 204) {
        printf("Unexpected response status from %s: %d\n", url, status);
        return 1;
    }
    printf("Sluice's status successfully changed to 'draining'\n");
    return 0;
}
