/* SPDX-License-Identifier: Apache-2.0 */
/* `sluice drain` (drain.h): one HTTP/1.1 request to the instance's own Status API, over TLS when
 * the listener has `ssl` (its certificate not verified, as kong drain's ssl_verify = false: the
 * instance's own self-signed default is the usual one). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli/drain.h"
#include "sluice/log.h"

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

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until <deadline> (now_ms's clock), 0 once it has passed. */
static int
ms_left(long long deadline)
{
    long long now = now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Waits until <fd> is ready for <events> or <deadline> passes: 1, 0 on timeout (errno
 * ETIMEDOUT), -1 with errno. */
static int
wait_ready(int fd, short events, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc;
    do {
        rc = poll(&p, 1, ms_left(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        errno = ETIMEDOUT;
    }
    return rc;
}

/* Waits for a non-blocking connect on <fd> to finish; 0, or -1 with errno. */
static int
connect_wait(int fd, long long deadline)
{
    int rc = wait_ready(fd, POLLOUT, deadline);
    if (rc == 0) {
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
connect_bounded(const char *host, unsigned port, long long deadline, char *why, size_t whylen)
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
        rc = connect_wait(fd, deadline);
    }
    struct timeval tv = {.tv_sec = DRAIN_TIMEOUT_MS / 1000,
                         .tv_usec = (DRAIN_TIMEOUT_MS % 1000) * 1000};
    if (rc < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
        snprintf(why, whylen, "%s",
                 errno == EAGAIN || errno == ETIMEDOUT ? "timeout" : strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* The connection: a socket, with a TLS session on it for an `ssl` listener. */
struct drain_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* TLS over c->fd (blocking, each call bounded by the socket timeouts); -1 with <why> set. */
static int
tls_start(struct drain_conn *c, char *why, size_t whylen)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    c->ssl = c->ctx != NULL ? SSL_new(c->ctx) : NULL;
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(why, whylen, "%s",
                 errno == EAGAIN ? "timeout"
                 : e != 0        ? ERR_reason_error_string(e)
                                 : "TLS handshake failed");
        return -1;
    }
    return 0;
}

static void
conn_close(struct drain_conn *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0) {
        close(c->fd);
    }
}

static ssize_t
conn_send(struct drain_conn *c, const char *p, size_t n)
{
    return c->ssl != NULL ? SSL_write(c->ssl, p, (int)n) : send(c->fd, p, n, MSG_NOSIGNAL);
}

static ssize_t
conn_recv(struct drain_conn *c, char *p, size_t n)
{
    if (c->ssl == NULL) {
        return recv(c->fd, p, n, 0);
    }
    int r = SSL_read(c->ssl, p, (int)n);
    return r > 0 ? r : SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

/* Sends the drain request on <c> and reads the response's status line by <deadline>: the status,
 * or -1 with <why> set. The deadline bounds the whole exchange, not each read: a peer that
 * trickles its answer a byte at a time cannot hold the command for longer. */
static int
exchange(struct drain_conn *c, const char *hostport, long long deadline, char *why, size_t whylen)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /status/ready HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     hostport, sizeof(drain_body) - 1, drain_body);
    if (n < 0 || (size_t)n >= sizeof(req) || conn_send(c, req, (size_t)n) != n) {
        snprintf(why, whylen, "%s", n < 0 || errno == EAGAIN ? "timeout" : strerror(errno));
        return -1;
    }
    char buf[256] = "";
    size_t got = 0;
    while (got < sizeof(buf) - 1 && memchr(buf, '\n', got) == NULL) {
        bool buffered = c->ssl != NULL && SSL_pending(c->ssl) > 0;
        if (!buffered && wait_ready(c->fd, POLLIN, deadline) <= 0) {
            snprintf(why, whylen, "%s", errno == ETIMEDOUT ? "timeout" : strerror(errno));
            return -1;
        }
        ssize_t r = conn_recv(c, buf + got, sizeof(buf) - 1 - got);
        if (r == 0 && got > 0) {
            break; /* a status line the peer ended by closing: judged as it is */
        }
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
    /* "HTTP/1.x NNN", the code followed by a space or the end of the line (RFC 9112 §4) */
    int status = 0, end = 0;
    if (sscanf(buf, "HTTP/1.%*1[01] %3d%n", &status, &end) != 1 || status < 100 || status > 599 ||
        end != 12 ||
        (buf[end] != ' ' && buf[end] != '\r' && buf[end] != '\n' && buf[end] != '\0')) {
        snprintf(why, whylen, "not an HTTP response");
        return -1;
    }
    return status;
}

int
sl_cli_drain(const struct sl_conf *conf)
{
    /* kong drain's choice: the first listener, over https when it has ssl */
    const struct sl_listen *l = conf->nstatus_listen > 0 ? &conf->status_listen[0] : NULL;
    if (l == NULL) {
        sl_cli_say("No status listeners found in configuration.");
        return 1;
    }
    const char *host = connect_host(l->host);
    bool v6 = strchr(host, ':') != NULL;
    char hostport[300], url[340], why[256];
    snprintf(hostport, sizeof(hostport), "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
             (unsigned)l->port);
    snprintf(url, sizeof(url), "%s://%s/status/ready", l->ssl ? "https" : "http", hostport);
    /* kong drain's httpc:set_timeout(1000), for the whole request here */
    long long deadline = now_ms() + DRAIN_TIMEOUT_MS;
    struct drain_conn c = {.fd = connect_bounded(host, l->port, deadline, why, sizeof(why))};
    int status = c.fd < 0 || (l->ssl && tls_start(&c, why, sizeof(why)) < 0)
                     ? -1
                     : exchange(&c, hostport, deadline, why, sizeof(why));
    conn_close(&c);
    if (status < 0) {
        sl_cli_say("Failed to send request to %s: %s", url, why);
        return 1;
    }
    if (status != 204) {
        sl_cli_say("Unexpected response status from %s: %d", url, status);
        return 1;
    }
    sl_cli_say("Sluice's status successfully changed to 'draining'");
    return 0;
}
