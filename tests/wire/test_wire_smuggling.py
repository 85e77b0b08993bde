# SPDX-License-Identifier: Apache-2.0
"""Request smuggling and malformed-request rejection through the real binary (hardening.md §1-2,
§7; issue #2 item 1).

Each case is (raw request bytes, expected status, kind). Every case runs on a fresh connection and
again pipelined after a valid request on the same connection. For every rejection:
- the client gets the expected status from Sluice itself, with Connection: close, and the
  connection is then closed with no further bytes;
- "head" rejections (the head itself is refused): the oracle upstreams received NOTHING beyond the
  valid pipelined request, which arrived exactly once and byte-exactly framed;
- "body" rejections (the chunked body is malformed; Sluice streams bodies, so the head may already
  be on its way): the upstream never receives a complete request other than the valid one, and the
  upstream connection that carried the partial request is closed by Sluice.
"""

import time

import pytest

import wirelib as W

H = b"Host: h\r\n"
POST = b"POST / HTTP/1.1\r\n" + H
GET = b"GET / HTTP/1.1\r\n" + H
CHUNKED_BODY = b"5\r\nhello\r\n0\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
TE_POST = POST + b"Transfer-Encoding: chunked\r\n\r\n"

# A valid request sent first in the pipelined variant; route / → oracle B.
PIPE_REQ = b"GET /pipe HTTP/1.1\r\nHost: h\r\n\r\n"


def te(value):
    """POST with the given raw Transfer-Encoding line value and a chunked body."""
    return POST + b"Transfer-Encoding:" + value + b"\r\n\r\n" + CHUNKED_BODY


def cl(value, body=b"hello"):
    return POST + b"Content-Length:" + value + b"\r\n\r\n" + body


def hdr(line):
    """GET with one extra raw header line."""
    return GET + line + b"\r\n\r\n"


def host(value):
    return b"GET / HTTP/1.1\r\nHost: " + value + b"\r\n\r\n"


def line(request_line):
    return request_line + b"\r\n" + H + b"\r\n"


C = []  # (id, raw, status, kind)


def case(cid, raw, status=400, kind="head"):
    C.append(pytest.param(raw, status, kind, id=cid))


# -- TE + CL, duplicate and malformed Content-Length
case("te+cl", POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)
case("cl+te", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n"
     + SMUGGLED)
case("te+cl-0", POST + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
case("cl-dup-same", POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
case("cl-dup-diff", POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
case("cl-list-same", cl(b" 5, 5"))
case("cl-list-diff", cl(b" 5, 6"))
case("cl-plus", cl(b" +5"))
case("cl-minus", cl(b" -1"))
case("cl-hex", cl(b" 0x5"))
case("cl-underscore", cl(b" 5_0"))
case("cl-inner-space", cl(b" 5 5"))
case("cl-empty", cl(b"", b""))
case("cl-overflow-2^64", cl(b" 18446744073709551616"))
case("cl-overflow-2^63", cl(b" 9223372036854775808"))
case("cl-decimal-point", cl(b" 5.0"))
case("cl-trailing-comma", cl(b" 5,"))
case("cl-nbsp", cl(b" \xa05"))
case("cl-vt", cl(b"\x0b5"))
case("cl-space-before-colon", POST + b"Content-Length : 5\r\n\r\nhello")

# -- Transfer-Encoding obfuscation (only an exact, final, single "chunked" counts)
case("te-xchunked", te(b" xchunked"), 501)
case("te-identity", te(b" identity"), 501)
case("te-chunked-identity", te(b" chunked, identity"), 501)
case("te-gzip-chunked", te(b" gzip, chunked"), 501)
case("te-leading-comma", te(b" ,chunked"))
case("te-trailing-comma", te(b" chunked,"))
case("te-chunked-chunked", te(b" chunked,chunked"))
case("te-two-headers", POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     + CHUNKED_BODY)
case("te-two-headers-identity", POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: "
     b"identity\r\n\r\n" + CHUNKED_BODY)
case("te-sp-before-colon", POST + b"Transfer-Encoding : chunked\r\n\r\n" + CHUNKED_BODY)
case("te-tab-before-colon", POST + b"Transfer-Encoding\t: chunked\r\n\r\n" + CHUNKED_BODY)
case("te-vt-before-value", te(b"\x0bchunked"))
case("te-ff-after-value", te(b" chunked\x0c"))
case("te-vt-after-value", te(b" chunked\x0b"))
case("te-nbsp-before-value", te(b" \xa0chunked"))
case("te-0x85-after-value", te(b" chunked\x85"))
case("te-quoted", te(b' "chunked"'))
case("te-nul", te(b" chunked\x00"))
case("te-name-trailing-vt", POST + b"Transfer-Encoding\x0b: chunked\r\n\r\n" + CHUNKED_BODY)
case("te-name-leading-space", b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n" + H + b"\r\n"
     + CHUNKED_BODY)
case("te-http10", b"POST / HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + CHUNKED_BODY)
case("te-obs-fold", POST + b"Transfer-Encoding:\r\n chunked\r\n\r\n" + CHUNKED_BODY)
case("te-ext-param", te(b" chunked;q=1"))

# -- obs-fold, bare LF / CR in the head
case("obs-fold-sp", GET + b"X-A: a\r\n b\r\n\r\n")
case("obs-fold-tab", GET + b"X-A: a\r\n\tb\r\n\r\n")
case("rl-bare-lf", b"GET / HTTP/1.1\n" + H + b"\r\n")
case("rl-bare-cr", b"GET / HTTP/1.1\r" + H + b"\r\n")
case("rl-lf-only", b"GET / HTTP/1.1\nHost: h\n\n")
case("rl-cr-in-target", b"GET /a\rb HTTP/1.1\r\n" + H + b"\r\n")
case("rl-lf-in-target", b"GET /a\nb HTTP/1.1\r\n" + H + b"\r\n")
case("hdr-bare-lf", GET + b"X-A: a\nX-B: b\r\n\r\n")
case("hdr-bare-cr", GET + b"X-A: a\rX-B: b\r\n\r\n")
case("hdr-cr-cr-lf", GET + b"X-A: a\r\r\n\r\n")
case("end-bare-lf", GET + b"\n")
case("end-bare-cr", GET + b"\r\r\n")
case("leading-bare-lf", b"\n" + GET + b"\r\n")
case("leading-bare-cr", b"\r" + GET + b"\r\n")

# -- chunk syntax (rejected while reading the body)
for cid, body in [
    ("chunk-0x", b"0x5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-plus", b"+5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-minus", b"-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-leading-space", b" 5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-empty-size", b"\r\nhello\r\n0\r\n\r\n"),
    ("chunk-17-digits", b"00000000000000005\r\nhello\r\n0\r\n\r\n"),
    ("chunk-overflow", b"10000000000000005\r\nhello\r\n0\r\n\r\n"),
    ("chunk-runaway", b"5\r\nhelloXXXXX\r\n0\r\n\r\n" + SMUGGLED),
    ("chunk-short", b"5\r\nhel\r\n0\r\n\r\n"),
    ("chunk-ext-nul", b"5;a=\x00\r\nhello\r\n0\r\n\r\n"),
    ("chunk-ext-bare-cr", b"5;a\rb\r\nhello\r\n0\r\n\r\n"),
    ("chunk-ext-bare-lf", b"5;a\nb\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-bare-lf", b"5\nhello\r\n0\r\n\r\n"),
    ("chunk-size-bare-cr", b"5\rhello\r\n0\r\n\r\n"),
    ("chunk-data-bare-lf", b"5\r\nhello\n0\r\n\r\n"),
    ("chunk-last-bare-lf", b"5\r\nhello\r\n0\n\r\n"),
    ("chunk-trailer-bare-lf", b"5\r\nhello\r\n0\r\nX-T: y\n\r\n"),
    ("chunk-trailer-obs-fold", b"5\r\nhello\r\n0\r\nX-T: y\r\n z\r\n\r\n"),
    ("chunk-trailer-no-colon", b"5\r\nhello\r\n0\r\nXT\r\n\r\n"),
    ("chunk-trailer-nul", b"5\r\nhello\r\n0\r\nX-T: \x00\r\n\r\n"),
]:
    case(cid, TE_POST + body, 400, "body")

# -- field syntax
case("value-nul", hdr(b"X-A: a\x00b"))
case("value-cr", hdr(b"X-A: a\rb"))
case("value-del", hdr(b"X-A: a\x7fb"))
case("value-vt", hdr(b"X-A: a\x0bb"))
case("name-empty", hdr(b": x"))
case("name-space", hdr(b"X A: b"))
case("name-paren", hdr(b"X(A): b"))
case("name-non-ascii", hdr(b"X\xe9: b"))
case("name-no-colon", hdr(b"Foo"))
case("name-sp-before-colon", hdr(b"X-A : b"))
case("name-leading-space", b"GET / HTTP/1.1\r\n X-A: b\r\n" + H + b"\r\n")

# -- Host
case("host-dup", b"GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n")
case("host-dup-diff", b"GET / HTTP/1.1\r\nHost: h\r\nHost: evil\r\n\r\n")
# -- nginx's unique header lines (and so Kong's): a second one is a 400 before any plugin or
# upstream sees the request, so an auth check cannot read one Authorization and the upstream another
case("authorization-dup", hdr(b"Authorization: Bearer a\r\nAuthorization: Bearer b"))
case("authorization-dup-case", hdr(b"authorization: a\r\nAUTHORIZATION: a"))
case("expect-dup", POST + b"Content-Length: 5\r\nExpect: 100-continue\r\n"
     b"Expect: 100-continue\r\n\r\nhello")
case("if-none-match-dup", hdr(b'If-None-Match: "a"\r\nIf-None-Match: "b"'))
case("if-modified-since-dup", hdr(b"If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                                  b"If-Modified-Since: Tue, 02 Jan 2024 00:00:00 GMT"))
case("if-match-dup", hdr(b'If-Match: "a"\r\nIf-Match: "a"'))
case("if-unmodified-since-dup", hdr(b"If-Unmodified-Since: a\r\nIf-Unmodified-Since: b"))
case("if-range-dup", hdr(b"If-Range: a\r\nIf-Range: b"))
case("content-range-dup", hdr(b"Content-Range: bytes 0-1/2\r\nContent-Range: bytes 0-1/2"))
case("host-missing-1.1", b"GET / HTTP/1.1\r\n\r\n")
case("host-userinfo", host(b"a@b"))
case("host-two-ports", host(b"h:1:2"))
case("host-port-70000", host(b"h:70000"))
case("host-port-empty", host(b"h:"))
case("host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n")
case("host-space", host(b"h h"))
case("host-slash", host(b"h/x"))
case("host-percent", host(b"h%41"))
case("host-empty-label", host(b"a..b"))

# -- request target
case("target-no-slash", line(b"GET admin HTTP/1.1"))
case("target-star-get", line(b"GET * HTTP/1.1"))
# OPTIONS * is valid HTTP, but no route can match "*": Sluice answers 400 and closes (nginx, and so
# Kong, refuse "*" with 400 too).
case("target-options-star", line(b"OPTIONS * HTTP/1.1"))
case("target-fragment", line(b"GET /a#x HTTP/1.1"))
case("target-double-sp", line(b"GET  / HTTP/1.1"))
case("target-inner-sp", line(b"GET /a b HTTP/1.1"))
case("target-ftp", line(b"GET ftp://h/ HTTP/1.1"))
case("target-abs-userinfo", line(b"GET http://a@b/ HTTP/1.1"))
case("target-abs-no-host", line(b"GET http:/// HTTP/1.1"))
case("target-backslash", line(b"GET /admin\\x HTTP/1.1"))
case("target-nul-escape", line(b"GET /admin%00 HTTP/1.1"))
case("http09", b"GET /\r\n\r\n")
case("method-non-token", line(b"G(T / HTTP/1.1"))
case("method-empty", line(b" / HTTP/1.1"))
# nginx, and so Kong, takes only A-Z, '_' and '-' in a method. A lowercase method matches no
# route's methods (uppercase), but an upstream that folds case serves it as the uppercase one:
# "head" answered as HEAD leaves Sluice waiting for a body that never comes.
case("method-lowercase", line(b"get / HTTP/1.1"))
case("method-mixed-case", line(b"Get / HTTP/1.1"))
case("method-lowercase-head", line(b"head / HTTP/1.1"))
case("method-digit", line(b"GET1 / HTTP/1.1"))
case("method-dot", line(b"GET.X / HTTP/1.1"))
case("connect", b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 405)
case("trace", line(b"TRACE / HTTP/1.1"), 405)

# -- version
case("version-2.0", line(b"GET / HTTP/2.0"), 505)
case("version-0.9", line(b"GET / HTTP/0.9"), 505)
case("version-3.0", line(b"GET / HTTP/3.0"), 505)
case("version-lowercase", line(b"GET / http/1.1"))
case("version-1.10", line(b"GET / HTTP/1.10"))
case("version-1", line(b"GET / HTTP/1"))
case("version-11", line(b"GET / HTTP/11"))
case("version-trailing-sp", line(b"GET / HTTP/1.1 "))


def upstream_requests(mn):
    """All complete requests the oracles received since the reset, per oracle name."""
    return {name: o.requests() for name, o in mn.oracles.items()}


def assert_only_pipe_request(mn, kind):
    """The valid pipelined request reached B exactly once, byte-exactly framed; for "head" cases
    nothing else reached any upstream."""
    reqs = upstream_requests(mn)
    for name in ("A", "C", "R"):
        assert reqs[name] == [], "oracle %s got %r" % (name, reqs[name])
        if kind == "head":
            assert mn.oracles[name].total_bytes() == 0
    assert [r.target for r in reqs["B"]] == ["/pipe"], reqs["B"]
    first = reqs["B"][0]
    assert first.method == "GET" and first.framing == "none" and first.body == b""
    assert mn.B.malformed() == []
    if kind == "head":
        # every byte B received is exactly that one request: no trailing byte of the bad one
        got = b"".join(d for _, d, _ in mn.B.received())
        assert got == first.raw, "B received %r" % got


def assert_partial_discarded(mn, expected_complete):
    """Body rejections: nothing but <expected_complete> requests completed upstream, and every
    upstream connection that carried bytes beyond them is closed by Sluice."""
    deadline = time.monotonic() + 2.0
    while True:
        open_partial = []
        for name, o in mn.oracles.items():
            for conn, data, reqs in o.received():
                framed = sum(len(r.raw) for r in reqs)
                if len(data) > framed and not conn.eof:
                    open_partial.append((name, conn.cid))
        if not open_partial or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert open_partial == [], "upstream connections left open with a partial request"
    reqs = [r.target for o in mn.oracles.values() for r in o.requests()]
    assert reqs == expected_complete
    for o in mn.oracles.values():
        assert o.malformed() == [], o.malformed()


@pytest.mark.parametrize("mode", ["fresh", "pipelined"])
@pytest.mark.parametrize("raw,status,kind", C)
def test_rejected(mn, raw, status, kind, mode):
    prefix = PIPE_REQ if mode == "pipelined" else b""
    with W.Client(mn.port, timeout=5) as c:
        c.send(prefix + raw)
        if prefix:
            first = c.response()
            assert first is not None, "no response to the valid request: %r" % c.pending()
            assert first.status == 200 and first.header("X-Oracle") == "B", first
            assert first.body == b"ok"
        r = c.response()
        assert r is not None, "no response (closed=%s, pending=%r)" % (c.eof, c.pending())
        assert r.status == status, r
        assert r.header("X-Oracle") is None, "the upstream answered: %r" % r
        assert (r.header("Connection") or "").lower() == "close", r
        assert c.wait_closed(1.5), "connection not closed after %d" % status
        assert c.pending() == b"", "bytes after the error response: %r" % c.pending()
    mn.settle()
    if kind == "head":
        if prefix:
            assert_only_pipe_request(mn, kind)
        else:
            for name, o in mn.oracles.items():
                assert o.total_bytes() == 0, "oracle %s received %r" % (name, o.received())
    else:
        assert_partial_discarded(mn, ["/pipe"] if prefix else [])


def test_error_response_is_plain_text_by_default(mn):
    """nginx-level errors are text/plain unless Accept says otherwise (kong.md §3.6)."""
    resps, closed, _, _ = W.exchange(mn.port, GET + b"X-A: a\x00\r\n\r\n")
    assert closed and resps[0].status == 400
    assert resps[0].header("Content-Type").startswith("text/plain")
    assert resps[0].body.startswith(b"Bad request\nrequest_id: ")


@pytest.mark.parametrize("body", [
    pytest.param(b"0x5\r\nhello\r\n0\r\n\r\n", id="chunk-0x"),
    pytest.param(b"5\r\nhelloXXXXX\r\n0\r\n\r\n", id="chunk-runaway"),
    pytest.param(b"5\nhello\r\n0\r\n\r\n", id="chunk-size-bare-lf"),
])
def test_body_rejection_reaches_no_upstream(mn, body):
    """The strict rule of issue #2 for every rejected request: the upstream receives nothing.
    Here the whole request, malformed chunked body included, arrives in one write, so a proxy that
    validates the body before connecting (Kong: nginx request buffering) forwards no byte."""
    with W.Client(mn.port) as c:
        c.send(TE_POST + body)
        r = c.response()
        assert r is not None and r.status == 400, r
        assert c.wait_closed(1.5)
    mn.settle()
    for name, o in mn.oracles.items():
        assert o.total_bytes() == 0, "oracle %s received %r" % (name, o.received())


# -- early responses (0.CL desyncs): a response sent before the body was read must never let the
#    unread body be parsed as the next request

EARLY_SMUGGLED = b"GET /open/smuggled HTTP/1.1\r\nHost: h\r\n\r\n"


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_early_404_never_parses_body_as_request(edge, framing):
    if framing == "length":
        raw = (b"POST /nope HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(EARLY_SMUGGLED)
               + EARLY_SMUGGLED)
    else:
        raw = (b"POST /nope HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(EARLY_SMUGGLED) + EARLY_SMUGGLED + b"\r\n0\r\n\r\n")
    edge.E.reset()
    with W.Client(edge.port) as c:
        c.send(raw)
        r = c.response()
        assert r is not None and r.status == 404, r
        # either the connection closes, or the body was drained: nothing else may come
        c.wait_closed(0.5)
        assert c.pending() == b"", "a second response: %r" % c.pending()
    W.wait_idle([edge.E])
    assert edge.E.total_bytes() == 0, edge.E.received()


def test_expect_continue_over_limit_413_without_continue(mn):
    """Expect: 100-continue with a Content-Length over the limit: 413 straight away, no
    100 Continue, then close; the body is never requested nor forwarded."""
    with W.Client(mn.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n"
               b"Expect: 100-continue\r\n\r\n")
        r = c.response(timeout=3, skip_interim=False)
        assert r is not None and r.status == 413, r
        assert c.wait_closed(1.5)
        assert c.pending() == b""
    mn.settle()
    assert sum(o.total_bytes() for o in mn.oracles.values()) == 0
