# SPDX-License-Identifier: Apache-2.0
"""Expect through Sluice, as nginx (and so Kong) handles it: Sluice answers 100-continue itself and
never forwards Expect (nginx's proxy module clears it); any other expectation is ignored, neither
answered 417 nor forwarded (ngx_http_test_expect only looks for exactly "100-continue"); an
HTTP/1.0 request's Expect is ignored (RFC 9110 §10.1.1). An upstream's own 1xx is not passed on,
so the client sees one 100 at most. Oracle B records what arrived; R answers /resp/<case>."""

import time

import pytest

import wirelib as W


def post(path, extra, version=b"1.1"):
    return (b"POST " + path + b" HTTP/" + version + b"\r\nHost: h\r\nContent-Length: 5\r\n" +
            extra + b"\r\n")


@pytest.mark.parametrize("value", [b"foo", b"100-continue, foo", b"200-ok", b"100-continuex"])
def test_other_expectations_are_ignored_not_417(mn, value):
    """No interim answer and no 417: the client's body is waited for, and the request goes up
    without Expect."""
    with W.Client(mn.port) as c:
        c.send(post(b"/x", b"Expect: " + value + b"\r\n"))
        time.sleep(0.3)
        assert c.response(timeout=0.2, skip_interim=False) is None and c.pending() == b""
        c.send(b"hello")
        r = c.response(skip_interim=False)
        assert r is not None and r.status == 200, r
    reqs = mn.B.requests()
    assert len(reqs) == 1 and reqs[0].body == b"hello"
    assert reqs[0].header("Expect") is None


def test_http10_expect_gets_no_100(mn):
    with W.Client(mn.port) as c:
        c.send(post(b"/x", b"Expect: 100-continue\r\n", b"1.0"))
        time.sleep(0.3)
        assert c.pending() == b"", c.pending()
        c.send(b"hello")
        r = c.response(skip_interim=False)
        assert r is not None and r.status == 200, r
    reqs = mn.B.requests()
    assert len(reqs) == 1 and reqs[0].body == b"hello" and reqs[0].header("Expect") is None


def test_one_100_even_when_the_upstream_sends_its_own(mn):
    """Sluice's 100 goes out on the head; the upstream's unsolicited 100 before its final answer
    is not passed on: the client reads exactly one 100, then the final response."""
    mn.script["/resp/c100"] = (b"HTTP/1.1 100 Continue\r\n\r\n"
                               b"HTTP/1.1 200 OK\r\nX-Case: final\r\nContent-Length: 2\r\n\r\nok")
    with W.Client(mn.port) as c:
        c.send(post(b"/resp/c100", b"Expect: 100-continue\r\n"))
        first = c.response(timeout=2, skip_interim=False)
        assert first is not None and first.status == 100, first
        c.send(b"hello")
        final = c.response(skip_interim=False)
        assert final is not None and final.status == 200 and final.header("X-Case") == "final"
        assert final.body == b"ok"
        assert not c.wait_closed(0.3) and c.pending() == b""
    reqs = mn.R.requests()
    assert len(reqs) == 1 and reqs[0].body == b"hello" and reqs[0].header("Expect") is None
