# SPDX-License-Identifier: Apache-2.0
"""Message bodies through Sluice: large Content-Length and chunked request bodies, a 20 MB streamed
response with bounded memory, chunked and read-until-close upstream responses re-framed for HTTP/1.1
and HTTP/1.0 clients, truncated upstream bodies, HEAD/204/304 without bodies, Expect: 100-continue."""

import hashlib
import json
import os
import socket
import time

import pytest
import requests

from lib import upstream as U
from lib.rawhttp import RawConn, parse_one, raw, request_bytes
from lib.sluice import kong, service

T = 10


@pytest.fixture
def env(upstream, sluice_factory):
    upstream.route("/chunked", U.chunked_response(300000, chunk=7000))
    upstream.route("/untilclose", U.until_close_response(250000))
    upstream.route("/huge", U.huge_response(20 * 1024 * 1024))
    upstream.route("/hugechunked", U.huge_response(20 * 1024 * 1024, chunked=True))
    upstream.route("/truncated", U.truncated_response(1000, 500))
    upstream.route("/204", U.respond(204, [("X-Kind", "no-content")]))
    upstream.route("/304", U.respond(304, [("ETag", '"v1"'), ("Content-Length", "10")]))
    upstream.route("/early413", U.early_413())
    upstream.route("/early413-reset", U.early_413(pause=0))
    s = sluice_factory(kong(service("echo", upstream.port,
                                    [{"name": "all", "paths": ["/"], "strip_path": False}],
                                    retries=0)))
    return s, upstream


# ------------------------------------------------------------------------------- request bodies


def test_large_content_length_post(env):
    s, up = env
    body = os.urandom(8 * 1024 * 1024 + 13)
    try:
        r = requests.post(s.url("/upload"), data=body, timeout=30)
    except requests.RequestException as e:
        pytest.fail("POST failed: %r\nupstream errors: %r\n%s" % (e, up.errors, s.logs()))
    assert r.status_code == 200
    j = r.json()
    assert j["body_len"] == len(body)
    assert j["body_sha256"] == hashlib.sha256(body).hexdigest()
    req = up.last()
    assert not req.chunked and req.header("content-length") == str(len(body))


def test_chunked_request_body_reframed(env):
    s, up = env
    parts = [os.urandom(n) for n in (1, 4096, 17, 70000, 3)]
    body = b"".join(parts)
    wire = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    head = (b"POST /chunk-up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n")
    r = parse_one(raw("127.0.0.1", s.port, head + wire, timeout=T))
    assert r.status == 200, r
    j = json.loads(r.body)
    assert j["body_len"] == len(body)
    assert j["body_sha256"] == hashlib.sha256(body).hexdigest()
    req = up.last()
    # Re-framed by Sluice: either a Content-Length or its own chunked coding, never both, and the
    # client's chunk extensions are not passed through.
    assert req.chunked != bool(req.header("content-length"))
    assert b"ext=1" not in req.raw_body


def test_chunked_request_body_in_small_writes(env):
    s, up = env
    body = os.urandom(50000)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"PUT /slow-chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for off in range(0, len(body), 10000):
            piece = body[off:off + 10000]
            c.send(b"%x\r\n" % len(piece))
            time.sleep(0.01)
            c.send(piece + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert json.loads(r.body)["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_requests_chunked_generator_body(env):
    s, _ = env
    chunks = [os.urandom(1000 * i + 1) for i in range(20)]

    def gen():
        yield from chunks
    r = requests.post(s.url("/gen"), data=gen(), timeout=T)
    assert r.status_code == 200
    assert r.json()["body_sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()


# ------------------------------------------------------------------------------- streamed response


def _read_stream(sock, rss_probe, first_pause=1.0):
    """Reads a whole response from sock slowly at first; returns (head, body sha, length, peak)."""
    buf = bytearray()
    for _ in range(100000):
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed in head")
        buf += chunk
    head = bytes(buf[:i])
    rest = bytes(buf[i + 4:])
    peak = rss_probe()
    got = len(rest)
    data = [rest]
    paused = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not paused and got > 1024 * 1024:
            # Stall as a slow client: Sluice must apply backpressure, not buffer the rest.
            time.sleep(first_pause)
            peak = max(peak, rss_probe())
            paused = True
        try:
            chunk = sock.recv(262144)
        except socket.timeout:
            break
        if not chunk:
            break
        data.append(chunk)
        got += len(chunk)
        if len(data) % 64 == 0:
            peak = max(peak, rss_probe())
    return head, b"".join(data), peak


def _dechunk(b):
    out = bytearray()
    pos = 0
    while True:
        eol = b.index(b"\r\n", pos)
        n = int(b[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if n == 0:
            return bytes(out)
        out += b[pos:pos + n]
        pos += n + 2


@pytest.mark.parametrize("path", ["/huge", "/hugechunked"])
def test_20mb_streamed_response_bounded_memory(env, path):
    s, _ = env
    n = 20 * 1024 * 1024
    # Warm up (first request allocates pools etc.), then take the baseline.
    assert requests.get(s.url("/warm"), timeout=T).status_code == 200
    base = s.rss_kb()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    try:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        head, body, peak = _read_stream(sock, s.rss_kb)
    finally:
        sock.close()
    assert head.startswith(b"HTTP/1.1 200")
    if b"chunked" in head.lower():
        body = _dechunk(body)
    assert len(body) == n
    assert hashlib.sha256(body).hexdigest() == U.pattern_sha256(n)
    if s.sanitized():
        pytest.skip("memory bound not meaningful under a sanitizer build (body checked above)")
    growth_mb = (peak - base) / 1024.0
    # Below the 20 MB size on purpose: buffering the whole response (no backpressure while the
    # client stalls) must fail this, not just pathological growth.
    assert growth_mb < 12, "RSS grew by %.1f MB while streaming 20 MB" % growth_mb


# ------------------------------------------------------------------------------- re-framing


def test_chunked_upstream_to_http11_client(env):
    s, _ = env
    r = parse_one(raw("127.0.0.1", s.port, request_bytes("GET", "/chunked",
                                                         headers=[("Connection", "close")]),
                      timeout=T))
    assert r.status == 200 and r.complete
    assert r.framing == "chunked", r
    assert r.body == U.pattern_bytes(300000)


def test_until_close_upstream_to_http11_client(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/untilclose"))
        r = c.read_response()
        assert r.status == 200 and r.complete
        assert r.framing == "chunked", r
        assert r.body == U.pattern_bytes(250000)
        # With chunked framing the client connection survives the upstream close.
        c.send(request_bytes("GET", "/after"))
        assert c.read_response().status == 200


@pytest.mark.parametrize("path,n", [("/chunked", 300000), ("/untilclose", 250000)])
def test_http10_client_gets_close_delimited(env, path, n):
    s, _ = env
    data = raw("127.0.0.1", s.port, b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path.encode(),
               timeout=T)
    r = parse_one(data)
    assert r.status == 200
    assert r.version in ("HTTP/1.0", "HTTP/1.1")
    assert not r.has("Transfer-Encoding"), r
    assert r.framing in ("close", "length")
    assert r.body == U.pattern_bytes(n)


def test_http10_keepalive_content_length(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.framing == "length"
        if "keep-alive" in (r.header("Connection") or "").lower():
            c.send(b"GET /b HTTP/1.0\r\nHost: x\r\n\r\n")
            assert c.read_response().status == 200
        else:
            assert c.closed()


def test_truncated_upstream_body(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/truncated"))
        r = c.read_response()
        assert r.status == 200
        # The client must see an incomplete message: fewer bytes than promised and a closed
        # connection (never a complete-looking response).
        assert not r.complete, r
        assert len(r.body) < 1000
        assert c.eof or c.closed(3.0)


# ------------------------------------------------------------------------------- no bodies


def test_head_has_no_body_and_connection_stays_usable(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("HEAD", "/h1") + request_bytes("GET", "/g1"))
        r1 = c.read_response(head_request=True)
        assert r1.status == 200 and r1.body == b""
        assert int(r1.header("Content-Length")) > 0  # the upstream's length for the GET body
        r2 = c.read_response()
        assert r2.status == 200 and json.loads(r2.body)["path"] == "/g1"


@pytest.mark.parametrize("path,status", [("/204", 204), ("/304", 304)])
def test_204_304_without_body(env, path, status):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", path))
        r = c.read_response()
        assert r.status == status
        if status == 204:
            assert not r.has("Transfer-Encoding")
            assert r.header("Content-Length") in (None, "0")
        c.send(request_bytes("GET", "/after"))
        r2 = c.read_response()
        assert r2.status == 200 and json.loads(r2.body)["path"] == "/after"


# ------------------------------------------------------------------------------- Expect


def test_expect_100_continue(env):
    s, up = env
    body = os.urandom(100000)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body))
        first = c.read_response(interim=True, timeout=3)
        assert first.status == 100, first
        c.send(body)
        r = c.read_response()
        assert r.status == 200
        assert json.loads(r.body)["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_expect_100_continue_requests_style_body_sent_anyway(env):
    s, _ = env
    # A client that does not wait for 100 sends the body right away; the answer must be one
    # interim (optional) then exactly one final response.
    body = b"x" * 5000
    data = raw("127.0.0.1", s.port,
               b"POST /expect2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body, timeout=T)
    from lib.rawhttp import parse_responses
    rs = parse_responses(data)
    assert [r.status for r in rs] == [200]
    assert json.loads(rs[0].body)["body_len"] == 5000


def test_upstream_early_413_reaches_client(env):
    """The upstream answers 413 before reading the body, then closes. Sluice forwards the 413 and
    lingers on the client connection, so a client that writes its whole body before reading (as
    python-requests does) reads the 413 rather than a reset."""
    s, _ = env
    body = b"y" * (2 * 1024 * 1024)
    for _ in range(3):
        r = requests.post(s.url("/early413"), data=body, timeout=T)
        assert r.status_code == 413 and r.text == "too big"
    assert s.alive()


def test_upstream_early_413_arriving_with_the_reset_reaches_client(env):
    """The 413 and the reset of the upstream's close arrive together: the body's next write fails
    (EPIPE) before the answer is read, and the answer waiting in the socket is still served
    (attempt.c, sl_session_upstream_write_failed), not a 502."""
    s, _ = env
    body = b"y" * (2 * 1024 * 1024)
    for _ in range(10):
        r = requests.post(s.url("/early413-reset"), data=body, timeout=T)
        assert r.status_code == 413 and r.text == "too big", (r.status_code, r.text[:200])
    assert s.alive()


def test_early_413_reaches_a_client_that_sends_its_whole_body_first(upstream, sluice_factory):
    """Refused from its head (Content-Length over client_max_body_size), the request's body still
    arrives: Sluice answers, shuts its write side and reads and drops the body until the client is
    done (lingering close, as nginx). Closing at once would reset the connection, and a client that
    writes its whole body before reading (python-requests, curl without Expect) would see a reset
    instead of the 413."""
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"]}])),
                       {"client_max_body_size": "1k"})
    for _ in range(3):
        r = requests.post(s.url("/x"), data=b"z" * (4 * 1024 * 1024), timeout=T)
        assert r.status_code == 413
    assert len(upstream.requests) == 0
    assert s.alive()


def test_lingering_connection_ends_at_its_idle_bound(upstream, sluice_factory):
    """A client that stops sending but never closes is not kept lingering past the idle bound
    (5 s between two reads)."""
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"]}])),
                       {"client_max_body_size": "1k"})
    c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    try:
        c.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"z" * 5000)
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.recv(65536)
        assert data.startswith(b"HTTP/1.1 413 ")
        c.settimeout(10)
        while c.recv(65536):  # the response, then EOF: Sluice shut its write side
            pass
        for _ in range(4):  # lingering: what the client still sends is read and dropped, no reset
            c.sendall(b"z" * 1000)
            time.sleep(0.3)
        t0 = time.monotonic()
        time.sleep(5.5)  # then nothing for longer than the idle bound: the connection is closed
        with pytest.raises(OSError):
            for _ in range(20):
                c.sendall(b"z" * 65536)
                time.sleep(0.05)
        assert time.monotonic() - t0 < 8
    finally:
        c.close()


def test_upstream_that_answers_and_closes_at_once_is_served_not_502(upstream, sluice_factory):
    """An upstream that refuses a large upload answers 413 and closes at once, without reading:
    Sluice's next write of the body fails, usually before it has read the answer waiting in the
    socket. That answer is served (the rest of the body is dropped); it used to be a 502."""
    def refuse_now(req, conn):
        conn.send(U.response(413, [("Content-Type", "text/plain")], b"too big", close=True))
        return "close"
    refuse_now.before_body = True
    upstream.route("/refuse", refuse_now)
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}])))
    got = [requests.post(s.url("/refuse"), data=b"y" * (8 * 1024 * 1024), timeout=T).status_code
           for _ in range(10)]
    assert got == [413] * 10


def test_close_delimited_answer_cut_by_the_reset_is_never_clean(upstream, sluice_factory):
    """The upstream answers 200 with a body delimited by its close, and closes without reading the
    request body: its kernel resets the connection and drops what it had not sent. Sluice's write
    of the body fails first, which clears the socket's error, so the reads after it see a clean
    EOF. That EOF must not end the body cleanly: the client gets the whole body or an
    incomplete message, never a short one that looks complete."""
    body = b"".join(b"%07d\n" % i for i in range(300 * 1024 // 8))

    def answer_and_close(req, conn):
        conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
        return "close"
    answer_and_close.before_body = True
    upstream.route("/cut", answer_and_close)
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}])),
                       {"proxy_access_log_format": "json"})
    for i in range(3):
        try:
            r = requests.post(s.url("/cut"), data=b"y" * (8 * 1024 * 1024), timeout=T)
            assert r.status_code == 200 and r.content == body, len(r.content)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError):
            pass  # an incomplete message: the client can tell
    lines = [json.loads(l) for l in s.access_lines()]
    assert len(lines) == 3
    for line in lines:
        assert line["aborted"] or line["body_bytes_sent"] == len(body), line
