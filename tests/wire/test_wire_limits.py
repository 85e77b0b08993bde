# SPDX-License-Identifier: Apache-2.0
"""Limits at N and N+1 (issue #2 item 4; hardening.md §3). The main instance runs with
large_client_header_buffers = 1k, max_header_bytes = 4k, lua_max_req_headers = 20 and
client_max_body_size = 1k. The exact definitions (src/http/h1.h, sl_h1_limits):
- request line: bytes of the request line without its CRLF; N = 1024 passes, 1025 → 414;
- header line: bytes of one field line without its CRLF; N = 1024 passes, 1025 → 400 (Kong's 494
  sent as 400, message "Request header or cookie too large");
- head: bytes of the whole head including every CRLF and the final empty line; N = 4096;
- header count: field lines, Host included; N = 20;
- body: payload bytes (Content-Length, or the decoded chunked payload); N = 1024, over → 413.
Every rejection closes the connection, and the head rejections reach no upstream."""

import time

import pytest

import wirelib as W
from wirelib import BODY_MAX, HEAD_MAX, HEADERS_MAX, LINE_MAX

TOO_LARGE = b"Request header or cookie too large"


def request_line_of(n):
    """GET /aaa... HTTP/1.1 of exactly <n> bytes (without CRLF)."""
    fixed = len(b"GET / HTTP/1.1")
    return b"GET /" + b"a" * (n - fixed) + b" HTTP/1.1"


def header_line_of(n, name=b"X-Pad"):
    return name + b": " + b"v" * (n - len(name) - 2)


def head_of(total):
    """A GET head of exactly <total> bytes (CRLFs included), lines and count within limits."""
    start = b"GET / HTTP/1.1\r\nHost: h\r\n"
    left = total - len(start) - 2
    lines = []
    i = 0
    while left > 0:
        take = min(left, 1000)
        if 0 < left - take < 12:  # keep the last line long enough for "X-Fnn: v\r\n"
            take -= 12
        lines.append(header_line_of(take - 2, b"X-F%02d" % i) + b"\r\n")
        left -= take
        i += 1
    head = start + b"".join(lines) + b"\r\n"
    assert len(head) == total and len(lines) + 1 <= HEADERS_MAX
    return head


def assert_ok(mn, raw, oracle="B"):
    resps, closed, pending, _ = W.exchange(mn.port, raw, close_wait=0.05)
    assert resps and resps[0].status == 200, (resps, pending)
    assert resps[0].header("X-Oracle") == oracle
    mn.settle()
    reqs = mn.oracles[oracle].requests()
    assert len(reqs) == 1
    return reqs[0]


def assert_rejected(mn, raw, status, message=None, upstream_silent=True):
    resps, closed, pending, _ = W.exchange(mn.port, raw, close_wait=1.5)
    assert resps, "no response (pending %r)" % pending
    r = resps[0]
    assert r.status == status, r
    assert r.header("X-Oracle") is None
    assert (r.header("Connection") or "").lower() == "close"
    assert closed, "connection not closed after %d" % status
    assert pending == b""
    if message is not None:
        assert r.body.startswith(message + b"\n"), r.body
    mn.settle()
    if upstream_silent:
        for name, o in mn.oracles.items():
            assert o.total_bytes() == 0 and o.new_connections() == 0, (name, o.received())
    return r


# ---- request line

@pytest.mark.parametrize("n", [LINE_MAX - 1, LINE_MAX])
def test_request_line_at_limit(mn, n):
    rl = request_line_of(n)
    assert len(rl) == n
    req = assert_ok(mn, rl + b"\r\nHost: h\r\n\r\n")
    assert req.target == rl.split(b" ")[1].decode()


def test_request_line_over_limit_414(mn):
    rl = request_line_of(LINE_MAX + 1)
    assert_rejected(mn, rl + b"\r\nHost: h\r\n\r\n", 414, b"URI too long")


def test_request_line_over_limit_without_crlf_yet(mn):
    """N+1 bytes of a request line and no CRLF yet: the limit is known, no need to wait."""
    partial = b"GET /" + b"a" * (LINE_MAX + 1 - 5)
    assert len(partial) == LINE_MAX + 1
    with W.Client(mn.port) as c:
        c.send(partial)
        r = c.response(timeout=3)
        assert r is not None and r.status == 414, r
        assert c.wait_closed(1.5)


# ---- one header line

@pytest.mark.parametrize("n", [LINE_MAX - 1, LINE_MAX])
def test_header_line_at_limit(mn, n):
    line = header_line_of(n)
    req = assert_ok(mn, b"GET / HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n")
    assert req.header("X-Pad") == line[len(b"X-Pad: "):].decode()


def test_header_line_over_limit(mn):
    line = header_line_of(LINE_MAX + 1)
    assert_rejected(mn, b"GET / HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n", 400, TOO_LARGE)


def test_header_line_over_limit_status_only(mn):
    """The status half of the check above, so a wrong message does not hide a wrong status."""
    line = header_line_of(LINE_MAX + 1)
    assert_rejected(mn, b"GET / HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n", 400)


def test_header_line_over_limit_without_crlf_yet(mn):
    """N+1 bytes of a header line and no CRLF yet: rejected without waiting for the line end."""
    line = header_line_of(LINE_MAX + 1)
    with W.Client(mn.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n" + line)
        r = c.response(timeout=3)
        assert r is not None and r.status == 400, r
        assert c.wait_closed(1.5)
    mn.settle()
    assert sum(o.total_bytes() for o in mn.oracles.values()) == 0


# ---- the whole head

@pytest.mark.parametrize("n", [HEAD_MAX - 1, HEAD_MAX])
def test_head_at_limit(mn, n):
    head = head_of(n)
    req = assert_ok(mn, head)
    assert req.header("X-F00") is not None


def test_head_over_limit(mn):
    assert_rejected(mn, head_of(HEAD_MAX + 1), 400, TOO_LARGE)


def test_head_over_limit_status_only(mn):
    assert_rejected(mn, head_of(HEAD_MAX + 1), 400)


def test_head_over_limit_without_end_yet(mn):
    """More than N bytes of a head that has not ended: rejected without waiting for its end."""
    partial = head_of(HEAD_MAX + 3)[:-2]
    assert len(partial) == HEAD_MAX + 1
    with W.Client(mn.port) as c:
        c.send(partial)
        r = c.response(timeout=3)
        assert r is not None and r.status == 400, r
        assert c.wait_closed(1.5)
    mn.settle()
    assert sum(o.total_bytes() for o in mn.oracles.values()) == 0


def test_head_over_limit_empty_lines_count(mn):
    """Empty lines before the request line count towards the head, so they cannot stream
    forever."""
    raw = b"\r\n" * (HEAD_MAX // 2) + b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert_rejected(mn, raw, 400)


# ---- header count

def headers_n(n):
    """A GET head with exactly <n> field lines, Host included."""
    return (b"GET / HTTP/1.1\r\nHost: h\r\n"
            + b"".join(b"X-H%02d: %d\r\n" % (i, i) for i in range(n - 1)) + b"\r\n")


@pytest.mark.parametrize("n", [HEADERS_MAX - 1, HEADERS_MAX])
def test_header_count_at_limit(mn, n):
    req = assert_ok(mn, headers_n(n))
    assert req.header("X-H%02d" % (n - 2)) == str(n - 2)


def test_header_count_over_limit(mn):
    assert_rejected(mn, headers_n(HEADERS_MAX + 1), 400, TOO_LARGE)


def test_header_count_over_limit_status_only(mn):
    assert_rejected(mn, headers_n(HEADERS_MAX + 1), 400)


# ---- body size

@pytest.mark.parametrize("n", [BODY_MAX - 1, BODY_MAX])
def test_body_length_at_limit(mn, n):
    body = bytes((i * 7) & 0xFF for i in range(n))
    req = assert_ok(mn, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % n + body)
    assert req.framing == "length" and req.body == body


def test_body_length_over_limit_413(mn):
    n = BODY_MAX + 1
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % n + b"x" * n
    assert_rejected(mn, raw, 413, b"Payload too large")


def test_body_length_over_limit_before_body_sent(mn):
    """The 413 comes from the head alone: the client has not sent a body byte yet."""
    with W.Client(mn.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
        r = c.response(timeout=3)
        assert r is not None and r.status == 413, r
        assert c.wait_closed(1.5)
    mn.settle()
    assert sum(o.total_bytes() for o in mn.oracles.values()) == 0


def chunked(payload, size):
    out = b""
    for i in range(0, len(payload), size):
        part = payload[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


@pytest.mark.parametrize("n", [BODY_MAX - 1, BODY_MAX])
def test_chunked_body_at_limit(mn, n):
    payload = b"c" * n
    raw = (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           + chunked(payload, 100))
    req = assert_ok(mn, raw)
    assert req.framing == "chunked" and req.body == payload


@pytest.mark.parametrize("size", [100, BODY_MAX + 1])
def test_chunked_body_over_limit_413(mn, size):
    payload = b"c" * (BODY_MAX + 1)
    raw = (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           + chunked(payload, size))
    assert_rejected(mn, raw, 413, b"Payload too large", upstream_silent=False)
    # the upstream may have seen the head (bodies are streamed) but never a complete request
    assert mn.B.requests() == [] and mn.B.malformed() == []
    for conn, data, _ in mn.B.received():
        assert W.parse_request(data) is None, "a complete request reached the upstream"


# (a size over 2^63-1 is a 400 before any limit: test_wire_differential.py)
@pytest.mark.parametrize("size_line", [b"%x" % (BODY_MAX + 1), b"7fffffffffffffff",
                                       b"0000%x;ext=1" % (BODY_MAX + 1)])
def test_chunk_size_over_limit_413_at_once(mn, size_line):
    """A chunk whose declared size alone is over client_max_body_size is refused when its size
    line arrives, as nginx does, without waiting for data that will never be accepted (the
    client has sent none, and client_body_timeout is 60 s here). With the head, nothing reaches
    the upstream."""
    with W.Client(mn.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               + size_line + b"\r\nccc")
        r = c.response(timeout=3)
        assert r is not None and r.status == 413, r
        assert c.wait_closed(1.5)
    mn.settle()
    assert sum(o.total_bytes() for o in mn.oracles.values()) == 0


def test_chunk_size_over_limit_413_after_body_began(mn):
    """The same when the oversized size line comes after a first chunk that was streamed: the
    upstream saw part of a request, never a complete one."""
    with W.Client(mn.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"10\r\n" + b"c" * 16 + b"\r\n")
        time.sleep(0.3)  # the head and the first chunk go upstream
        c.send(b"%x\r\n" % BODY_MAX)  # 16 + 1024 > 1024
        r = c.response(timeout=3)
        assert r is not None and r.status == 413, r
        assert c.wait_closed(1.5)
    mn.settle()
    assert mn.B.requests() == []
    for conn, data, _ in mn.B.received():
        assert W.parse_request(data) is None, "a complete request reached the upstream"
