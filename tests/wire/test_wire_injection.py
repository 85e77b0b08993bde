# SPDX-License-Identifier: Apache-2.0
"""Header injection (issue #2 item 7; hardening.md §2) against the "edge" instance: https-only
routes /secure (301 redirect) and /s426 (426), an open route /open → oracle E, and 404 elsewhere.

- CR, LF and NUL in any request header value are rejected before anything reaches an upstream;
- %0d%0a in the path or query never appears decoded in a response header (Location of a redirect,
  the 426, error pages) nor in the request forwarded upstream; error bodies never reflect request
  bytes."""

import pytest

import wirelib as W

CRLF_PATH = "/%0d%0aX-Injected:%201/%0D%0ASet-Cookie:%20a=b"
CRLF_QUERY = "?q=%0d%0aX-Injected:%201&r=%0a%0dLocation:%20http://evil"


def no_injection(resp):
    assert not resp.has("X-Injected"), resp
    assert not resp.has("Set-Cookie"), resp
    assert len(resp.headers("Location")) <= 1, resp
    for name, value in resp.fields:
        assert "\r" not in value and "\n" not in value


@pytest.mark.parametrize("line", [
    b"User-Agent: a\rX-Injected: 1",
    b"User-Agent: a\nX-Injected: 1",
    b"User-Agent: a\x00X-Injected: 1",
    b"X-Forwarded-For: 1.2.3.4\r\nX-Injected: 1\rb: c",
    b"Cookie: a=b\x00c",
    b"Authorization: Basic \x00",
    b"X-Real-IP: 1.2.3.4\nX-Injected: 1",
])
def test_ctl_in_header_values_rejected(edge, line):
    edge.E.reset()
    raw = b"GET /open HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n"
    resps, closed, pending, _ = W.exchange(edge.port, raw)
    assert resps and resps[0].status == 400, resps
    assert closed and pending == b""
    W.wait_idle([edge.E])
    assert edge.E.total_bytes() == 0


@pytest.mark.parametrize("host", [b"h%0d%0aX-Injected:%201", b"h\x00", b"h\rX-Injected: 1"])
def test_ctl_or_escapes_in_host_rejected(edge, host):
    edge.E.reset()
    raw = b"GET /secure HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
    resps, closed, _, _ = W.exchange(edge.port, raw)
    assert resps and resps[0].status == 400 and closed, resps
    no_injection(resps[0])
    assert edge.E.total_bytes() == 0


@pytest.mark.parametrize("target", [
    "/secure" + CRLF_PATH,
    "/secure/x" + CRLF_QUERY,
    "/secure" + CRLF_PATH + CRLF_QUERY,
])
def test_redirect_location_keeps_escapes(edge, target):
    raw = b"GET " + target.encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    with W.Client(edge.port) as c:
        c.send(raw)
        r = c.response(head_request=True)  # the head only: framing is checked below
        assert r is not None and r.status == 301, c.pending()
    no_injection(r)
    assert r.headers("Location") == ["https://h" + target]


@pytest.mark.parametrize("target,host,location", [
    ("http://h/secure?x=1", "h", "https://h/secure?x=1"),
    ("http://h/secure", "evil.example", "https://h/secure"),
])
def test_redirect_of_absolute_form_target(edge, target, host, location):
    """In absolute-form the target's authority is the host (RFC 9112 §3.2.2): the redirect names
    it once, followed by the path and query only (Kong: https:// .. host .. $request_uri, and
    nginx's $request_uri is the origin part). It must never name the Host header's value."""
    raw = b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), host.encode())
    with W.Client(edge.port) as c:
        c.send(raw)
        r = c.response(head_request=True)
        assert r is not None and r.status == 301, c.pending()
    no_injection(r)
    assert r.headers("Location") == [location]


def test_redirect_response_framing(edge):
    """The redirect is a well-framed keep-alive response: its Content-Length matches the body it
    sends, so the next response on the connection is read correctly."""
    edge.E.reset()
    with W.Client(edge.port) as c:
        c.send(b"GET /secure/x HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response(timeout=2)
        assert r is not None and r.status == 301 and r.complete, (r, c.pending())
        c.send(b"GET /open HTTP/1.1\r\nHost: h\r\n\r\n")
        r2 = c.response(timeout=2)
        assert r2 is not None and r2.status == 200 and r2.header("X-Oracle") == "E", r2


@pytest.mark.parametrize("target", ["/s426" + CRLF_PATH, "/s426" + CRLF_QUERY])
def test_426_has_no_injected_header(edge, target):
    raw = b"GET " + target.encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    resps, _, _, _ = W.exchange(edge.port, raw, close_wait=0.05)
    assert resps and resps[0].status == 426, resps
    no_injection(resps[0])
    assert b"X-Injected" not in resps[0].raw and b"%0d" not in resps[0].raw.lower()


@pytest.mark.parametrize("accept", [None, b"text/html", b"application/xml", b"text/plain",
                                    b"application/json"])
def test_error_pages_do_not_reflect_request(edge, accept):
    target = "/nope" + CRLF_PATH + "/%3Cscript%3E/<script>alert(1)</script>" + CRLF_QUERY
    raw = b"GET " + target.encode() + b" HTTP/1.1\r\nHost: h\r\n"
    if accept:
        raw += b"Accept: " + accept + b"\r\n"
    resps, _, _, _ = W.exchange(edge.port, raw + b"\r\n", close_wait=0.05)
    assert resps and resps[0].status == 404, resps
    r = resps[0]
    no_injection(r)
    assert b"no Route matched with those values" in r.body
    for needle in (b"<script>", b"%3C", b"X-Injected", b"%0d", b"nope", b"evil"):
        assert needle not in r.raw, needle


def test_forwarded_request_has_no_injected_header(edge):
    edge.E.reset()
    target = "/open" + CRLF_PATH + CRLF_QUERY
    raw = b"GET " + target.encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    resps, _, _, _ = W.exchange(edge.port, raw, close_wait=0.05)
    assert resps and resps[0].status == 200, resps
    W.wait_idle([edge.E])
    reqs = edge.E.requests()
    assert len(reqs) == 1
    req = reqs[0]
    assert not req.headers("X-Injected") and not req.headers("Set-Cookie")
    assert not req.headers("Location")
    assert req.path == "/open/%0D%0AX-Injected:%201/%0D%0ASet-Cookie:%20a=b"
    assert req.target.split("?", 1)[1] == CRLF_QUERY[1:]
    assert b"\r\nX-Injected" not in req.raw_head
