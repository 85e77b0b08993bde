# SPDX-License-Identifier: Apache-2.0
"""Response-side framing (issue #2 item 3; hardening.md §1 "Response side", §12): the upstream
misbehaves with crafted bytes; the client must get a 502 (invalid head) or a correctly framed
response, never bytes of a second, smuggled response, and the poisoned upstream connection must
never be reused.

The scripted oracle R answers GET /resp/<case> with raw bytes; everything else on R gets a clean
"HTTP/1.1 200 OK / X-Case: ok". Every case sends two requests on one client connection (the
second on a new one if Sluice closed the first) and checks that the second response is the clean
one."""

import time

import pytest

import wirelib as W

SMUG = b"HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 0\r\n\r\n"
OK2 = b"Content-Length: 2\r\n\r\nok"
INVALID = b"An invalid response was received from the upstream server"

# invalid heads: (id, raw response) → 502
BAD = [
    ("te+cl", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"0\r\n\r\n" + SMUG),
    ("cl+te", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
              b"0\r\n\r\n" + SMUG),
    ("cl-dup-same", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"),
    ("cl-dup-diff", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"),
    ("cl-list", b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"),
    ("cl-plus", b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"),
    ("cl-hex", b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok"),
    ("te-chunked-gzip", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                        b"2\r\nok\r\n0\r\n\r\n"),
    ("te-gzip", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok"),
    ("te-two-headers", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    ("te-cl-http10", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n"
                     b"2\r\nok\r\n0\r\n\r\n"),
    ("header-bare-cr", b"HTTP/1.1 200 OK\r\nX-A: b\rX-B: c\r\n" + OK2),
    ("status-cr-cr-lf", b"HTTP/1.1 200 OK\r\r\n" + OK2),
    ("bare-lf-obs-fold", b"HTTP/1.1 200 OK\nX-A: a\n b\n" + OK2),
    ("bare-lf-te-cl", b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5\n\n"
                      b"0\n\n" + SMUG),
    ("obs-fold", b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n" + OK2),
    ("header-nul", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n" + OK2),
    ("header-sp-before-colon", b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"),
    ("status-2-digits", b"HTTP/1.1 20 OK\r\n" + OK2),
    ("status-4-digits", b"HTTP/1.1 2000 OK\r\n" + OK2),
    ("status-099", b"HTTP/1.1 099 Low\r\n" + OK2),
    ("status-lowercase-proto", b"http/1.1 200 OK\r\n" + OK2),
    ("status-http2", b"HTTP/2 200\r\n" + OK2),
    ("status-http20", b"HTTP/2.0 200 OK\r\n" + OK2),
    ("status-garbage", b"garbage\r\n\r\n"),
    ("status-letters", b"HTTP/1.1 2OO OK\r\n" + OK2),
    ("101-unrequested", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\n\r\n" + SMUG),
]

# well-framed first responses followed by bytes that must never reach the client:
# (id, method, actions, expected first status, expected first body)
LEAKY = [
    ("204-body", "GET", [b"HTTP/1.1 204 No Content\r\nX-Case: 204\r\n\r\n" + SMUG], 204, b""),
    ("204-cl-body", "GET", [b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello" + SMUG],
     204, b""),
    ("204-body-delayed", "GET", [b"HTTP/1.1 204 No Content\r\n\r\n", ("sleep", 0.15), SMUG],
     204, b""),
    ("304-body", "GET", [b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello" + SMUG],
     304, b""),
    ("304-body-delayed", "GET", [b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                                 ("sleep", 0.15), b"hello" + SMUG], 304, b""),
    ("head-body", "HEAD", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + SMUG], 200, b""),
    ("head-body-delayed", "HEAD", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                                   ("sleep", 0.15), b"hello" + SMUG], 200, b""),
    ("cl-shorter-than-sent", "GET", [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + SMUG],
     200, b"ok"),
    ("cl-shorter-delayed", "GET", [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                                   ("sleep", 0.15), SMUG], 200, b"ok"),
    ("chunked-then-extra", "GET", [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"2\r\nok\r\n0\r\n\r\n" + SMUG], 200, b"ok"),
    ("interim-100", "GET", [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" + OK2 + SMUG],
     200, b"ok"),
    # RFC 9112 §6.1: chunked in HTTP/1.0 is read (as nginx does), and the connection is closed
    ("te-http10", "GET", [b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"2\r\nok\r\n0\r\n\r\n" + SMUG], 200, b"ok"),
    ("te-http10-keep-alive", "GET", [b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                     b"Connection: keep-alive\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                                     ("sleep", 0.15), SMUG], 200, b"ok"),
]


def second_request_is_clean(mn, c, path):
    """Waits for leaked bytes, then sends GET /resp/ok (on a new connection if Sluice closed this
    one) and checks it gets the clean response, on an upstream connection other than the one that
    carried <path>."""
    closed = c.wait_closed(0.3)
    assert c.pending() == b"", "bytes after the first response: %r" % c.pending()
    nc = W.Client(mn.port) if closed else c
    try:
        nc.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        r2 = nc.response()
        assert r2 is not None, "no second response: %r" % nc.pending()
        assert r2.status == 200 and r2.header("X-Case") == "ok" and r2.body == b"ok", r2
        assert not r2.has("X-Smuggled")
        assert nc.wait_closed(0.2) is False or nc.pending() == b""
        assert nc.pending() == b"", nc.pending()
    finally:
        if nc is not c:
            nc.close()
    mn.settle()
    conns = {}
    for conn, _, reqs in mn.R.received():
        for r in reqs:
            conns.setdefault(r.path, []).append(conn)
    assert path in conns and "/resp/ok" in conns, conns
    bad = conns[path][0]
    assert all(x is not bad for x in conns["/resp/ok"]), "poisoned upstream connection reused"
    deadline = time.monotonic() + 1.0
    while not bad.eof and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bad.eof, "Sluice kept the poisoned upstream connection open"


@pytest.mark.parametrize("raw", [pytest.param(r, id=i) for i, r in BAD])
def test_invalid_response_head_is_502(mn, raw):
    path = "/resp/bad"
    mn.script[path] = raw
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/bad HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None, "no response: %r" % c.pending()
        assert r.status == 502, r
        assert r.body.startswith(INVALID), r
        assert not r.has("X-Smuggled") and r.header("X-Case") is None
        second_request_is_clean(mn, c, path)


@pytest.mark.parametrize("method,actions,status,body",
                         [pytest.param(m, a, s, b, id=i) for i, m, a, s, b in LEAKY])
def test_bytes_after_response_never_leak(mn, method, actions, status, body):
    path = "/resp/leaky"
    mn.script[path] = actions
    with W.Client(mn.port) as c:
        c.send(b"%s %s HTTP/1.1\r\nHost: h\r\n\r\n" % (method.encode(), path.encode()))
        r = c.response(head_request=method == "HEAD")
        assert r is not None, "no response: %r" % c.pending()
        assert (r.status, r.body) == (status, body), r
        assert not r.has("X-Smuggled")
        if status in (204, 304) or method == "HEAD":
            assert r.header("Transfer-Encoding") is None
        second_request_is_clean(mn, c, path)


def test_head_response_keeps_content_length(mn):
    mn.script["/resp/head"] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    with W.Client(mn.port) as c:
        c.send(b"HEAD /resp/head HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response(head_request=True)
        assert r.status == 200 and r.header("Content-Length") == "5"
        assert not c.wait_closed(0.3) and c.pending() == b""


@pytest.mark.parametrize("actions,got", [
    pytest.param([b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50, ("close",)],
                 b"x" * 50, id="cl-truncated"),
    pytest.param([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                  ("close",)], b"5\r\nhello\r\n", id="chunked-truncated"),
    pytest.param([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"],
                 None, id="chunked-invalid-after-head"),
])
def test_truncated_body_aborts_client(mn, actions, got):
    """After the head went out, an upstream failure must show as an incomplete message: never a
    clean end (terminating chunk or satisfied Content-Length)."""
    mn.script["/resp/trunc"] = actions
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/trunc HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response(timeout=3)
        assert c.wait_closed(2.0), "client connection not closed after a truncated response"
        if r is None:
            # Sluice may also drop the queued head and just close: the client sees no response
            assert c.pending() == b"", c.pending()
            return
        assert r.status == 200 and r.complete is False, r
        if got is not None:
            assert r.body == got  # the bytes after the head, as received


def _conns_by_path(mn):
    mn.settle()
    conns = {}
    for conn, _, reqs in mn.R.received():
        for q in reqs:
            conns.setdefault(q.path, []).append(conn)
    return conns


@pytest.mark.parametrize("method,head", [
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", id="head-cl"),
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="head-chunked"),
    pytest.param("GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", id="204-cl"),
    pytest.param("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", id="304-cl"),
    # an interim response has no body either: one that announces a body taints the exchange
    pytest.param("GET", b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id="100-cl"),
    pytest.param("GET", b"HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id="103-chunked"),
])
def test_announced_body_after_bodyless_response_cannot_poison_the_next(mn, method, head):
    """A response that may carry no body but announces one: a faulty upstream may send those
    bytes late, after the next request took the connection, where they would be read as that
    request's response (response queue poisoning). A 1xx or 204 connection is never reused; a
    HEAD or 304 one rests 250 ms first, and the bytes, 0.1 s late here, close it while it rests.
    The next request, sent at once, goes to another upstream connection, and so does one sent
    after the stray bytes; both get their own response."""
    path = "/resp/late"
    mn.script[path] = [head, ("sleep", 0.1), SMUG]
    with W.Client(mn.port) as c:
        c.send(b"%s %s HTTP/1.1\r\nHost: h\r\n\r\n" % (method.encode(), path.encode()))
        r = c.response(head_request=method == "HEAD")
        assert r is not None and r.body == b"", r
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")  # at once, before the stray bytes
        r2 = c.response()
        assert r2 is not None and r2.header("X-Case") == "ok" and not r2.has("X-Smuggled"), r2
        time.sleep(0.4)  # the stray bytes came, and the rest is over
        c.send(b"GET /resp/again HTTP/1.1\r\nHost: h\r\n\r\n")
        r3 = c.response()
        assert r3 is not None and r3.status == 200 and not r3.has("X-Smuggled"), r3
    conns = _conns_by_path(mn)
    bad = conns[path][0]
    assert bad not in conns["/resp/ok"] + conns["/resp/again"], "the upstream connection was reused"
    assert bad.eof, "Sluice kept the connection that sent stray bytes open"


@pytest.mark.parametrize("method,head", [
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", id="head-cl"),
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                 id="head-chunked"),
    pytest.param("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", id="304-cl"),
])
def test_announced_body_that_never_follows_reuses_the_connection_after_a_rest(mn, method, head):
    """HEAD and 304 responses carry the GET's framing, and most servers send it: their connection
    is kept, as Kong and nginx keep it, but it rests 250 ms first (SL_POOL_REST_MS) so that a body
    a faulty upstream sends anyway closes it rather than answering the next request. A request
    pipelined behind (taken at once) goes to another connection; one sent later reuses the rested
    one."""
    path = "/resp/announced"
    mn.script[path] = [head]
    with W.Client(mn.port) as c:
        c.send(b"%s %s HTTP/1.1\r\nHost: h\r\n\r\nGET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n"
               % (method.encode(), path.encode()))
        r = c.response(head_request=method == "HEAD")
        assert r is not None and r.body == b"", r
        assert c.response().header("X-Case") == "ok"
        time.sleep(0.5)
        c.send(b"GET /resp/later HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.response().status == 200
    conns = _conns_by_path(mn)
    rested = conns[path][0]
    assert rested not in conns["/resp/ok"], "a resting connection was reused"
    assert rested in conns["/resp/later"], "the rested connection was not reused"


def test_body_sent_while_the_connection_rests_closes_it(mn):
    """A faulty upstream sends the body it announced to a HEAD 10 ms late: the bytes reach the
    connection while it rests (the pipelined GET behind went to another one), it is closed, and
    nothing of them reaches a client, then or later."""
    path = "/resp/late-head"
    mn.script[path] = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", ("sleep", 0.01),
                       b"hello" + SMUG]
    with W.Client(mn.port) as c:
        c.send(b"HEAD %s HTTP/1.1\r\nHost: h\r\n\r\nGET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n"
               % path.encode())
        r = c.response(head_request=True)
        assert r is not None and r.status == 200 and r.body == b"", r
        r2 = c.response()
        assert r2 is not None and r2.header("X-Case") == "ok" and not r2.has("X-Smuggled"), r2
        time.sleep(0.5)
        c.send(b"GET /resp/again HTTP/1.1\r\nHost: h\r\n\r\n")
        r3 = c.response()
        assert r3 is not None and r3.status == 200 and not r3.has("X-Smuggled"), r3
        assert c.pending() == b""
    conns = _conns_by_path(mn)
    bad = conns[path][0]
    assert bad not in conns["/resp/ok"] + conns["/resp/again"], \
        "the connection that sent a late body was reused"
    assert bad.eof, "Sluice kept the connection that sent a late body open"


def test_bodyless_response_without_announced_body_reuses_the_connection(mn):
    """The guard above costs nothing to the usual 204: its connection is reused."""
    mn.script["/resp/204"] = b"HTTP/1.1 204 No Content\r\nX-Case: 204\r\n\r\n"
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/204 HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.response().status == 204
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.response().header("X-Case") == "ok"
    conns = _conns_by_path(mn)
    assert conns["/resp/204"][0] in conns["/resp/ok"]


def test_later_http1_minor_version_is_read_as_1_1(mn):
    """RFC 9112 §2.3: "HTTP/1.2" from an upstream is processed as HTTP/1.1 (nginx, so Kong, passes
    it): the response reaches the client, which gets Sluice's own HTTP/1.1 head, and the upstream
    connection is kept, as 1.1's default."""
    mn.script["/resp/v12"] = b"HTTP/1.2 200 OK\r\nX-Case: v12\r\n" + OK2
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/v12 HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None and (r.status, r.body) == (200, b"ok"), r
        assert r.raw.startswith(b"HTTP/1.1 200 ") and r.header("X-Case") == "v12", r
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.response().header("X-Case") == "ok"
    conns = _conns_by_path(mn)
    assert conns["/resp/v12"][0] in conns["/resp/ok"], "a 1.2 response's connection was not kept"


def test_reset_ends_a_close_delimited_body_as_an_abort(mn):
    """A body delimited by the close of the connection ends cleanly only with a clean close: a
    reset cuts it (nginx: readv() failed), so the client must see an incomplete message."""
    mn.script["/resp/rst"] = [b"HTTP/1.1 200 OK\r\nX-Case: rst\r\n\r\npartial", ("sleep", 0.1),
                              ("reset",)]
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/rst HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response(timeout=3)
        assert c.wait_closed(2.0), "client connection not closed after a reset upstream"
        assert r is not None and r.status == 200 and r.complete is False, r


def test_close_delimited_response_is_rechunked(mn):
    mn.script["/resp/eof"] = [b"HTTP/1.1 200 OK\r\nX-Case: eof\r\n\r\nuntil close", ("close",)]
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/eof HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None and r.status == 200 and r.body == b"until close", r
        assert r.header("Transfer-Encoding") == "chunked"
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        r2 = c.response()
        assert r2 is not None and r2.header("X-Case") == "ok", r2


@pytest.mark.parametrize("raw", [
    pytest.param(b"HTTP/1.1 200 OK\r\nX-Case: empty\r\nContent-Length: 0\r\n\r\n", id="200-cl-0"),
    pytest.param(b"HTTP/1.1 201 Created\r\nX-Case: empty\r\nContent-Length: 000\r\n\r\n",
                 id="201-cl-000"),
])
def test_empty_length_body_keeps_its_framing(mn, raw):
    """A response that may have a body and declares an empty one (Content-Length: 0) must say so
    to the client: a 200 with neither Content-Length nor Transfer-Encoding is delimited by the
    close of the connection (RFC 9112 §6.3 rule 8), so on a kept-alive connection the client, or
    a proxy in front that pools connections to Sluice, would read the next response as its
    body."""
    mn.script["/resp/empty"] = raw
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/empty HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response(timeout=2)
        assert r is not None, "no framed response: %r" % c.pending()
        assert r.header("X-Case") == "empty" and r.body == b"", r
        assert r.headers("Content-Length") == ["0"], r
        assert r.header("Transfer-Encoding") is None
        assert (r.header("Connection") or "").lower() == "keep-alive", r
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        r2 = c.response(timeout=2)
        assert r2 is not None and r2.header("X-Case") == "ok" and r2.body == b"ok", r2


@pytest.mark.parametrize("method,raw,body", [
    pytest.param("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 010\r\n\r\n0123456789",
                 b"0123456789", id="get"),
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 010\r\n\r\n", b"", id="head"),
    pytest.param("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 010\r\n\r\n", b"",
                 id="304"),
])
def test_response_content_length_is_normalised(mn, method, raw, body):
    """Leading zeros are decimal (hardening.md §1), but a client or cache behind Sluice may read
    "010" as octal 8 and take the last two bytes as the start of the next response (http-garden's
    transducer bug 1): the length goes out as the plain decimal Sluice framed the body with, as
    it does for request bodies."""
    mn.script["/resp/zeros"] = raw
    with W.Client(mn.port) as c:
        c.send(b"%s /resp/zeros HTTP/1.1\r\nHost: h\r\n\r\n" % method.encode())
        r = c.response(head_request=method == "HEAD")
        assert r is not None and r.body == body, r
        assert r.headers("Content-Length") == ["10"], r
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        r2 = c.response()
        assert r2 is not None and r2.header("X-Case") == "ok", r2


def test_response_header_count_is_not_the_request_limit(mn):
    """The instance allows 20 request header lines; an upstream response may carry many more (here
    150 Set-Cookie lines, 4.5 KB): nginx counts no response header lines, only their size."""
    cookies = b"".join(b"Set-Cookie: c%03d=v\r\n" % i for i in range(150))
    mn.script["/resp/cookies"] = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + cookies +
                                  b"\r\nok")
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/cookies HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None and r.status == 200, r
        assert r.body == b"ok"
        assert len(r.headers("Set-Cookie")) == 150


def test_response_with_over_1000_header_lines_is_502(mn):
    lines = b"".join(b"X-%d: v\r\n" % i for i in range(1001))
    mn.script["/resp/many"] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + lines + b"\r\nok"
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/many HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None and r.status == 502, r


# Bare LF line ends (RFC 9112 §2.2 lets a recipient accept them) and a chunk size padded with
# whitespace: legacy, embedded and hand-written upstreams send them, nginx (so Kong) reads them,
# and no reading of these bytes gives another message. (id, raw response): each is a 200 with
# X-Case: lf and the body "hello".
LF_OK = [
    ("lf-everywhere", b"HTTP/1.1 200 OK\nX-Case: lf\nContent-Length: 5\n\nhello"),
    ("lf-status-line", b"HTTP/1.1 200 OK\nX-Case: lf\r\nContent-Length: 5\r\n\r\nhello"),
    ("lf-one-header", b"HTTP/1.1 200 OK\r\nX-Case: lf\nContent-Length: 5\r\n\r\nhello"),
    ("lf-end-of-head", b"HTTP/1.1 200 OK\r\nX-Case: lf\r\nContent-Length: 5\r\n\nhello"),
    ("lf-cgi-style", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Case: lf\n\nhello"),
    ("lf-interim", b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nX-Case: lf\nContent-Length: 5\n\n"
                   b"hello"),
    ("lf-chunked", b"HTTP/1.1 200 OK\nX-Case: lf\nTransfer-Encoding: chunked\n\n"
                   b"2\nhe\n3;x=y\nllo\n0\nX-T: v\n\n"),
    ("chunk-size-padded", b"HTTP/1.1 200 OK\r\nX-Case: lf\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"5  \r\nhello\r\n0\t\r\n\r\n"),
]


@pytest.mark.parametrize("raw", [pytest.param(r, id=i) for i, r in LF_OK])
def test_bare_lf_response_is_read_exactly(mn, raw):
    """The response goes out as any other (CRLF, Sluice's own framing), and the upstream
    connection is reused for the next request: its framing was read to the last byte."""
    path = "/resp/lf"
    mn.script[path] = raw
    with W.Client(mn.port) as c:
        c.send(b"GET /resp/lf HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response(timeout=3)
        assert r is not None, "no response: %r" % c.pending()
        assert (r.status, r.header("X-Case"), r.body) == (200, "lf", b"hello"), r
        assert r.header("X-T") is None  # trailers are dropped
        c.send(b"GET /resp/ok HTTP/1.1\r\nHost: h\r\n\r\n")
        r2 = c.response(timeout=3)
        assert r2 is not None and r2.header("X-Case") == "ok", r2
        assert c.pending() == b""
    mn.settle()
    conns = {}
    for conn, _, reqs in mn.R.received():
        for q in reqs:
            conns.setdefault(q.path, []).append(conn)
    assert conns[path][0] in conns["/resp/ok"], "the upstream connection was not reused"
