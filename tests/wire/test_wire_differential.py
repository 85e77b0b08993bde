# SPDX-License-Identifier: Apache-2.0
"""Requests that Sluice forwarded while nginx 1.22 (and so Kong) refuses them, found by the
differential audit fuzz/h1_differential.py. Each is now refused before any byte reaches an
upstream.

- HTAB as the whitespace around the value of Transfer-Encoding, Content-Length or Host. RFC 9110
  counts HTAB as OWS, but nginx strips only SP, so there "Transfer-Encoding:<HTAB>chunked" is an
  unknown coding (501) and an HTAB around Content-Length or Host makes them invalid (400). Sluice
  trimmed it and forwarded: a front proxy of the nginx kind and Sluice would read the framing of the
  same bytes in two ways (TE.TE obfuscation, hardening.md §1).
- A chunk size over 2^63-1. nginx refuses a size that is not an off_t (400); Sluice took any 16
  hex digits, forwarded the head and streamed the rest of the connection, a pipelined request
  included, as body.
"""

import time

import pytest

import wirelib as W

PIPE_REQ = b"GET /pipe HTTP/1.1\r\nHost: h\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
CHUNKED_BODY = b"5\r\nhello\r\n0\r\n\r\n"

OWS_CASES = [
    pytest.param(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\r\n\r\n"
                 + CHUNKED_BODY + SMUGGLED, id="te-htab-before"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\t\r\n\r\n"
                 + CHUNKED_BODY + SMUGGLED, id="te-htab-after"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \t chunked\r\n\r\n"
                 + CHUNKED_BODY + SMUGGLED, id="te-sp-htab-sp-before"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\t5\r\n\r\nhello" + SMUGGLED,
                 id="cl-htab-before"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\t\r\n\r\nhello" + SMUGGLED,
                 id="cl-htab-after"),
    pytest.param(b"GET / HTTP/1.1\r\nHost:\th\r\n\r\n", id="host-htab-before"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: h\t\r\n\r\n", id="host-htab-after"),
    pytest.param(b"GET / HTTP/1.0\r\nHost: h \t\r\n\r\n", id="host-htab-after-1.0"),
]


def assert_nothing_upstream(mn, prefix):
    """No oracle received a byte, or with <prefix> only the valid pipelined request, once."""
    mn.settle()
    for name, o in mn.oracles.items():
        if name == "B" and prefix:
            reqs = o.requests()
            assert [r.target for r in reqs] == ["/pipe"], reqs
            got = b"".join(d for _, d, _ in o.received())
            assert got == reqs[0].raw, "B received %r" % got
        else:
            assert o.total_bytes() == 0, "oracle %s received %r" % (name, o.received())


@pytest.mark.parametrize("mode", ["fresh", "pipelined"])
@pytest.mark.parametrize("raw", OWS_CASES)
def test_htab_around_framing_or_host_value_is_refused(mn, raw, mode):
    prefix = PIPE_REQ if mode == "pipelined" else b""
    with W.Client(mn.port) as c:
        c.send(prefix + raw)
        if prefix:
            first = c.response()
            assert first is not None and first.status == 200, first
        r = c.response()
        assert r is not None, "no response (closed=%s, pending=%r)" % (c.eof, c.pending())
        assert r.status == 400, r
        assert r.header("X-Oracle") is None, "the upstream answered: %r" % r
        assert c.wait_closed(1.5), "connection not closed after 400"
        assert c.pending() == b""
    assert_nothing_upstream(mn, prefix)


def test_sp_around_framing_and_host_values_still_accepted(mn):
    """Only HTAB is refused: SP is the OWS every client uses, and nginx strips it too."""
    raw = (b"POST /sp HTTP/1.1\r\nHost:  h  \r\nContent-Length:  5  \r\n\r\nhello"
           b"POST /sp2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  chunked  \r\n\r\n" + CHUNKED_BODY)
    resps, _, _, _ = W.exchange(mn.port, raw, n=2, close_wait=0)
    assert [r.status for r in resps] == [200, 200], resps
    mn.settle()
    reqs = mn.B.requests()
    assert [(r.target, r.body) for r in reqs] == [("/sp", b"hello"), ("/sp2", b"hello")]


HUGE = [b"8000000000000000", b"ffffffffffffffff", b"FFFFFFFFFFFFFFFF"]


@pytest.mark.parametrize("size", HUGE)
def test_chunk_size_over_off_t_is_refused(edge, size):
    """The whole request in one write: refused before any upstream connection (the instance has
    no body limit, so this is not a 413)."""
    raw = (b"POST /open HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           + size + b"\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
    edge.E.reset()
    with W.Client(edge.port) as c:
        c.send(raw)
        r = c.response(timeout=3)
        assert r is not None, "no response (closed=%s, pending=%r)" % (c.eof, c.pending())
        assert r.status == 400, r
        assert c.wait_closed(1.5)
        assert c.pending() == b""
    W.wait_idle([edge.E])
    assert edge.E.total_bytes() == 0, edge.E.received()


def test_chunk_size_over_off_t_is_400_under_a_body_limit(mn):
    """With client_max_body_size set (1k here) such a size is still malformed, not too large: 400,
    as nginx answers (its chunk parser refuses the size before the limit is looked at)."""
    with W.Client(mn.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"ffffffffffffffff\r\nccc")
        r = c.response(timeout=3)
        assert r is not None and r.status == 400, r
        assert c.wait_closed(1.5)
    mn.settle()
    assert sum(o.total_bytes() for o in mn.oracles.values()) == 0


def test_chunk_size_at_off_t_max_is_accepted(edge):
    """2^63-1 is still a size, the largest Content-Length too (nginx stops lower, near 2^60): the
    head goes upstream and the body streams."""
    raw = (b"POST /open HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"7fffffffffffffff\r\nhello")
    edge.E.reset()
    with W.Client(edge.port) as c:
        c.send(raw)
        deadline = time.monotonic() + 3
        while edge.E.total_bytes() < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.response(timeout=0.3) is None, "answered before the body ended"
    got = b"".join(d for _, d, _ in edge.E.received())
    assert got.startswith(b"POST /open HTTP/1.1\r\n") and got.endswith(b"5\r\nhello\r\n"), got


def test_chunk_size_over_off_t_in_a_later_chunk(edge):
    """The size arrives after the head went upstream (bodies are streamed): 400 to the client, and
    the upstream connection that carried the partial request is closed, with no complete request."""
    edge.E.reset()
    with W.Client(edge.port) as c:
        c.send(b"POST /open HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n")
        deadline = time.monotonic() + 3
        while b"hello" not in b"".join(d for _, d, _ in edge.E.received()):
            assert time.monotonic() < deadline, "the head never reached the upstream"
            time.sleep(0.02)
        c.send(b"8000000000000000\r\nworld\r\n0\r\n\r\n" + SMUGGLED)
        r = c.response(timeout=3)
        assert r is not None, "no response (closed=%s, pending=%r)" % (c.eof, c.pending())
        assert r.status == 400, r
        assert c.wait_closed(1.5)
    deadline = time.monotonic() + 2
    while not all(conn.eof for conn, _, _ in edge.E.received()):
        assert time.monotonic() < deadline, "upstream connection left open"
        time.sleep(0.02)
    assert edge.E.requests() == []
    assert b"world" not in b"".join(d for _, d, _ in edge.E.received())
