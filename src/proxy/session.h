/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the files of a session (session.c, request.c, attempt.c, response.c, tunnel.c): what
 * they call in each other. The rest of the proxy uses the sl_session_ functions of internal.h. A
 * session belongs to its worker's thread, and so does everything here. The functions below were
 * static in one session.c: each kept its name behind the sl_session_ prefix that exported symbols
 * need. */
#ifndef SL_PROXY_SESSION_H
#define SL_PROXY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy/internal.h"

/* Returned by a function that freed the session: its caller must not touch it again. */
#define CLOSED (-1)

enum upstream_failure {
    UP_CONNECT_ERROR = 0, /* refused, unreachable: nothing was sent */
    UP_CONNECT_TIMEOUT,
    UP_IO_ERROR,         /* reset or EOF before a complete response head */
    UP_TIMEOUT,          /* write or read idle timeout */
    UP_INVALID_RESPONSE, /* the response head failed the strict parser */
    UP_LOCAL_ERROR, /* no socket: out of descriptors or memory here, not the upstream's fault */
    UP_TLS_ERROR,   /* the TLS handshake failed (a verification too): nothing was sent */
    UP_FAILURE_MAX
};

/* What the upstream connection's timer bounds, as nginx's upstream timers do: the connect; a
 * write the upstream does not take (write_timeout, only while bytes wait for its socket); the wait
 * for its answer and for each next read (read_timeout, only once the request is sent or the
 * response has begun, and only while Sluice reads it). Nothing while the request waits for the
 * client's body or the response waits for the client to read: the client's timers bound those, so
 * a slow client is never a timed-out upstream (a 504, or a response aborted). */
enum up_wait {
    UP_WAIT_NONE = 0,
    UP_WAIT_CONNECT,
    UP_WAIT_WRITE,
    UP_WAIT_READ,
};

/* Request bytes queued on <c> and not written yet. */
static inline size_t
up_unsent(const struct sl_upconn *c)
{
    return sl_buf_pending(&c->out) - c->sent;
}

/* Every byte of the request is queued for the upstream (a buffered body included): the upstream
 * is only waited for an answer from then on, and its connection may be pooled after one. */
static inline bool
req_all_queued(const struct sl_session *s)
{
    return s->req_done && (!s->req_buffered || s->body_queued == s->req_body_bytes);
}

/* Arms the client timer for <timeout_ms> from now (0: none). */
static inline void
set_client_timer(struct sl_session *s, int timeout_ms)
{
    sl_lazy_timer_set(s->worker->loop, &s->timer, timeout_ms);
}

/* session.c */
/* Starts the per-request state (request id, arena, start time) where not started yet; 0, or -1
 * when out of memory. */
int sl_session_begin_request(struct sl_session *s);

/* request.c */
/* HEAD phase: parses and routes the request head in s->in, answering locally or entering PROXY.
 * 1 on progress, 0 when more bytes are needed, or CLOSED. */
int sl_session_process_head(struct sl_session *s);
/* A buffered request (s->req_buffered): moves body bytes from s->in into the body store and, once
 * the body is complete, sets the head's Content-Length and starts the first attempt; may fail the
 * request (400, 413, 500). 1 on progress, 0, or CLOSED. */
int sl_session_collect_request_body(struct sl_session *s);
/* Moves request body bytes from s->in (or a buffered body from its store) to the connected s->up
 * (at most a high-water's worth unsent); may fail the request (400, 413). 1 on progress, else 0. */
int sl_session_pump_request_body(struct sl_session *s);
/* Releases the request's body store (memory and temporary file); a no-op without one. */
void sl_session_body_store_release(struct sl_session *s);
/* True when the bytes after the first *<scanned> of <buf> cannot complete the head: the parse is
 * skipped and *<scanned> moves to <have> (request and response heads alike). */
bool sl_session_head_still_pending(const char *buf, size_t have, size_t *scanned,
                                   const struct sl_h1_limits *lim, bool response, bool eof);

/* attempt.c */
/* Makes s->up's timer bound <wait>, with a full timeout from now. */
void sl_session_set_upstream_wait(struct sl_session *s, enum up_wait wait);
/* s->up made progress on what it is waited for: its timeout starts again. */
void sl_session_renew_upstream_wait(struct sl_session *s);
/* Lets go of s->up (NULL is a no-op): to the pool when <reusable>, else closed; the events noted
 * for it are dropped. */
void sl_session_release_upstream(struct sl_session *s, bool reusable);
/* Writes <c>'s unsent request bytes; 0, or -1 on a write error (errno kept). */
int sl_session_flush_upstream(struct sl_upconn *c);
/* Queues request bytes on <c>, kept for a replay while the request stays small; 0 or -1. */
int sl_session_up_append(struct sl_upconn *c, const void *p, size_t len);
/* One read from <c> into its buffer, EOF and errors noted on <c>; recv's result and errno. */
ssize_t sl_session_read_upstream(struct sl_session *s, struct sl_upconn *c);
/* Takes <s> off its worker's dns_parked list, where it is on it. */
void sl_session_dns_unpark(struct sl_session *s);
/* Takes the target's addresses and starts the first attempt, parks the session while a name has
 * no answer yet, or answers 503 or 500. 0 or 1, or CLOSED. */
int sl_session_resolve_and_start(struct sl_session *s);
/* An attempt failed for <why>: another attempt where allowed (0), else the error page or abort
 * (1). */
int sl_session_upstream_failed(struct sl_session *s, enum upstream_failure why);
/* Writing to s->up failed: an answer the upstream already sent is served, else it is a failure as
 * above. 0 or 1, or CLOSED. */
int sl_session_upstream_write_failed(struct sl_session *s);

/* response.c */
/* Parses the response head on s->up and moves body bytes to s->out (or enters TUNNEL on a 101);
 * may fail or abort the request. 1 on progress, 0, or CLOSED. */
int sl_session_pump_response(struct sl_session *s);
/* Ends a response already begun: what is queued goes out, then the connection closes; logged
 * aborted. Returns 1. */
int sl_session_abort_response(struct sl_session *s);
/* Answers with an error page (or aborts a response already begun) and lets go of the upstream. */
void sl_session_fail_request(struct sl_session *s, int status, const char *message,
                             bool default_json);

/* spool.c */
struct iovec;
/* An unlinked 0600 file under <prefix>/<dirname> (made 0700 if missing): O_TMPFILE where the file
 * system has it, else a random name removed at once; never a shared directory such as /tmp, and
 * nothing is left behind however the process ends. -1 with errno. */
int sl_proxy_temp_open(const char *prefix, const char *dirname);
/* write() until all of <n> bytes are written; 0, or -1 with errno. */
int sl_proxy_write_all(int fd, const void *p, size_t n);
/* Bytes wait for the client in the spool (beyond those in s->out). Inline, as the two below:
 * every event of every request asks. */
static inline bool
sl_session_out_spooled(const struct sl_session *s)
{
    return (s->spool.open && s->spool.rd < s->spool.wr) || sl_buf_pending(&s->spool.tail) > 0;
}
/* Bytes wait for the client: in s->out or in the spool. */
static inline bool
sl_session_out_pending(const struct sl_session *s)
{
    return sl_buf_pending(&s->out) > 0 || sl_session_out_spooled(s);
}
/* The client's output may take more response bytes now: s->out is under its high-water mark with
 * nothing spooled, or the response may be spooled and the spool has room. */
static inline bool
sl_session_out_room(const struct sl_session *s)
{
    if (!sl_session_out_spooled(s) && sl_buf_pending(&s->out) < SL_PROXY_HIGH_WATER) {
        return true;
    }
    return s->resp_spool_ok && !s->spool.failed && s->spool.wr < SL_RESP_SPOOL_MAX;
}
/* As sl_session_out_room(), opening the spool when the bytes would go there. 1 when there is room,
 * 0 when not (also when the spool's file cannot be made: then logged, and the response goes on at
 * the client's pace). */
int sl_session_out_reserve(struct sl_session *s);
/* Appends the pieces, in order, to s->out or behind the spooled bytes; all or nothing. When the
 * spool's file cannot be written (a full disk), they are kept in memory behind its bytes, logged,
 * and the rest of the response follows the client's pace: nothing is lost. 0, or -1 when out of
 * memory. */
int sl_session_out_add(struct sl_session *s, const struct iovec *iov, int n);
/* Moves the next spooled bytes into s->out once it is empty. 1 when it did, 0 when there was
 * nothing to do, -1 on a read error or out of memory (errno kept). */
int sl_session_out_refill(struct sl_session *s);
/* Closes the spool's file, dropping what it holds (the connection ends). */
void sl_session_out_release(struct sl_session *s);

/* tunnel.c */
/* TUNNEL phase: moves bytes both ways and ends the tunnel when either side is done. 1 on
 * progress, else 0. */
int sl_session_pump_tunnel(struct sl_session *s);

#endif
