# SPDX-License-Identifier: Apache-2.0
"""Requests that Sluice forwarded while nginx 1.22 (and so Kong) refuses them, found by a
differential run against nginx. Each is now refused before any byte reaches an upstream.

- HTAB as the whitespace around the value of Transfer-Encoding, Content-Length or Host. RFC 9110
  counts HTAB as OWS, but nginx strips only SP, so there "Transfer-Encoding:<HTAB>chunked" is an
  unknown coding (501) and an HTAB around Content-Length or Host makes them invalid (400). Sluice
  trimmed it and forwarded: a front proxy of the nginx kind and Sluice would read the framing of the
  same bytes in two ways (TE.TE obfuscation, hardening.md §1).
"""

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
