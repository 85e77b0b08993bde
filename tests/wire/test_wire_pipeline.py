# SPDX-License-Identifier: Apache-2.0
"""Pipelines sent in one write (hardening.md §1 "Pipelining"): responses without a body (HEAD,
304, 204) and an upstream that closes its connection in the middle keep the client's responses in
order and correctly framed; a request the client marks Connection: close, or one rejected with
400, ends the connection after the earlier responses, in order, and nothing behind it reaches an
upstream. The scripted oracle R answers /resp/<case>."""

import pytest

import wirelib as W


def get(path, extra=b""):
    return b"GET " + path + b" HTTP/1.1\r\nHost: h\r\n" + extra + b"\r\n"


def paths(oracle):
    return [r.target for r in oracle.requests()]


def test_bodiless_responses_and_an_upstream_close_in_a_pipeline(mn):
    """HEAD with a Content-Length and no body, 304 with a Content-Length and no body, 204, and an
    upstream that closes after its response: six responses in order, each framed as sent, and the
    client connection stays open through the upstream's close."""
    mn.script.update({
        "/resp/head": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        "/resp/304": b"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 50\r\n\r\n",
        "/resp/close": [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose",
                        ("close",)],
        "/resp/204": b"HTTP/1.1 204 No Content\r\n\r\n",
    })
    data = (get(b"/resp/a") + b"HEAD /resp/head HTTP/1.1\r\nHost: h\r\n\r\n" +
            get(b"/resp/304", b"If-None-Match: \"e\"\r\n") + get(b"/resp/close") +
            get(b"/resp/204") + get(b"/resp/z"))
    with W.Client(mn.port) as c:
        c.send(data)
        rs = [c.response(head_request=(i == 1)) for i in range(6)]
        assert None not in rs, rs
        assert [r.status for r in rs] == [200, 200, 304, 200, 204, 200]
        assert [r.body for r in rs] == [b"ok", b"", b"", b"close", b"", b"ok"]
        assert rs[1].header("Content-Length") == "1000" and rs[2].header("Content-Length") == "50"
        assert all(r.header("Connection") == "keep-alive" for r in rs)
        assert not c.wait_closed(0.3) and c.pending() == b""
    assert paths(mn.R) == ["/resp/a", "/resp/head", "/resp/304", "/resp/close", "/resp/204",
                           "/resp/z"]


def test_nothing_after_a_connection_close_request_is_processed(mn):
    data = get(b"/resp/a") + get(b"/resp/b", b"Connection: close\r\n") + get(b"/resp/c")
    rs, closed, left, _ = W.exchange(mn.port, data, n=3)
    assert [r.status for r in rs] == [200, 200] and closed and left == b""
    assert rs[1].header("Connection") == "close"
    mn.settle()
    assert paths(mn.R) == ["/resp/a", "/resp/b"]


@pytest.mark.parametrize("bad", [
    pytest.param(b"GET /resp/bad HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", id="obs-fold"),
    pytest.param(b"POST /resp/bad HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nx",
                 id="cl-list"),
    pytest.param(b"GARBAGE\r\n\r\n", id="request-line"),
    pytest.param(b"POST /resp/bad HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"zz\r\n", id="chunk-size"),
])
def test_a_400_in_a_pipeline_after_the_earlier_responses_and_nothing_after_it(mn, bad):
    """The requests before the bad one are answered, in order, with their bodies; then the 400,
    and the connection closes: neither the bad request nor the one behind it reaches R."""
    data = get(b"/resp/a") + (b"POST /resp/b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
                              b"abc") + bad + get(b"/resp/after")
    rs, closed, left, _ = W.exchange(mn.port, data, n=4)
    assert [r.status for r in rs] == [200, 200, 400], rs
    assert rs[0].body == b"ok" and rs[1].body == b"ok" and rs[1].header("X-Case") == "ok"
    assert rs[2].header("Connection") == "close"
    assert closed and left == b""
    mn.settle()
    assert paths(mn.R) == ["/resp/a", "/resp/b"], paths(mn.R)
    assert mn.R.requests()[1].body == b"abc"
