# SPDX-License-Identifier: Apache-2.0
"""The heads Sluice writes, byte for byte (kong.md §3.4, §3.5): which client and upstream headers
are dropped as hop-by-hop or replaced, in what order the rest is forwarded, and the exact lines
Sluice adds. Names are matched ASCII case-insensitively and exactly, so the cases mix upper and
lower case and add names that differ from a known one by one byte, a '-' for a '_', or a
character more or less: those are ordinary headers and must pass unchanged.

The main instance routes / to the oracle B (service url http://127.0.0.1:<B>) and /resp to the
scripted oracle R; no peer is trusted, so client X-Forwarded-* values other than For are
replaced."""

import re

import pytest

import wirelib as W

VIA_RE = rb"sluice/[0-9][0-9A-Za-z.\-]*"
ID_RE = rb"[0-9a-f]{32}"


def upstream_head(mn, raw, n=1):
    """Sends <raw> on a fresh connection and returns (upstream request heads, client responses)."""
    mn.reset()
    with W.Client(mn.port, timeout=5) as c:
        c.send(raw)
        resps = []
        for _ in range(n):
            r = c.response()
            assert r is not None, c.pending()
            resps.append(r)
    mn.settle()
    reqs = mn.B.requests() + mn.R.requests()
    assert mn.B.malformed() == [] and mn.R.malformed() == []
    assert len(reqs) == n, reqs
    return [r.raw_head for r in reqs], resps


def expect_head(got, lines):
    """<got> must be exactly <lines> (regex-escaped except the markers) joined by CRLF."""
    pat = b"".join(re.escape(line).replace(b"<VIA>", VIA_RE).replace(b"<ID>", ID_RE) + b"\r\n"
                   for line in lines) + b"\r\n"
    assert re.fullmatch(pat, got, re.S), "got:\n%s\nwant:\n%s" % (
        got.decode("latin-1"), pat.decode("latin-1"))


def test_request_head_exact(mn):
    raw = (b"GET /hdr?q=1 HTTP/1.1\r\n"
           b"hOsT: h\r\n"
           b"User-Agent: ua\r\n"
           b"CONNECTION: keep-alive, X-Drop-Me\r\n"
           b"X-Drop-Me: 1\r\n"
           b"te: trailers, deflate\r\n"
           b"Keep-Alive: timeout=5\r\n"
           b"proxy-connection: x\r\n"
           b"PROXY: http://evil\r\n"
           b"Trailer: X-T\r\n"
           b"Upgrade: h2c\r\n"
           b"x-forwarded-for: 1.1.1.1\r\n"
           b"X-Forwarded-FOR: 2.2.2.2\r\n"
           b"X-Forwarded-Proto: https\r\n"
           b"X-Real-Ip: 9.9.9.9\r\n"
           b"via: 1.1 one\r\n"
           b"VIA: 1.0 two\r\n"
           b"x-sluice-request-id: spoofed\r\n"
           b"X_Forwarded_For: dropped-underscore\r\n"
           b"Vias: kept-longer\r\n"
           b"\r\n")
    heads, resps = upstream_head(mn, raw)
    expect_head(heads[0], [
        b"GET /hdr?q=1 HTTP/1.1",
        b"Host: 127.0.0.1:%d" % mn.B.port,
        b"User-Agent: ua",
        b"Vias: kept-longer",
        b"TE: trailers",
        b"X-Forwarded-For: 1.1.1.1, 2.2.2.2, 127.0.0.1",
        b"X-Forwarded-Proto: http",
        b"X-Forwarded-Host: h",
        b"X-Forwarded-Port: %d" % mn.port,
        b"X-Forwarded-Path: /hdr",
        b"X-Real-IP: 127.0.0.1",
        b"Via: 1.1 one, 1.0 two, 1.1 <VIA>",
        b"X-Sluice-Request-Id: <ID>",
        b"Connection: keep-alive",
    ])
    # the id upstream is the one the client sees
    sent_id = re.search(rb"X-Sluice-Request-Id: (" + ID_RE + rb")", heads[0]).group(1)
    assert resps[0].header("X-Sluice-Request-Id") == sent_id.decode()


# (id, client header lines, expected forwarded lines): one near miss of a known name each
NEAR_MISSES = [
    ("one-byte-more", b"Hosts: a", b"Hosts: a"),
    ("one-byte-less", b"Connectio: b", b"Connectio: b"),
    ("last-byte", b"X-Forwarded-Fox: c", b"X-Forwarded-Fox: c"),
    # (not Proxy-Authorization, 19 bytes too: Kong clears it, so Sluice drops it)
    ("same-length-as-request-id", b"X-Client-Request-Id: d", b"X-Client-Request-Id: d"),
    ("proxy-authorization-near", b"Proxy-Authorizatio: d", b"Proxy-Authorizatio: d"),
    ("request-id-last-byte", b"X-Sluice-Request-Ix: e", b"X-Sluice-Request-Ix: e"),
    ("forwarded-port-path-mix", b"X-Forwarded-Pott: f", b"X-Forwarded-Pott: f"),
    ("te-like", b"TF: g", b"TF: g"),
    ("upgrade-insecure", b"Upgrade-Insecure-Requests: 1", b"Upgrade-Insecure-Requests: 1"),
    ("transfer-encodings", b"Transfer-Encodings: chunked", b"Transfer-Encodings: chunked"),
]


@pytest.mark.parametrize("line,forwarded", [pytest.param(a, b, id=i) for i, a, b in NEAR_MISSES])
def test_near_miss_names_forwarded(mn, line, forwarded):
    heads, _ = upstream_head(mn, b"GET /nm HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n")
    lines = heads[0].split(b"\r\n")
    assert lines[1] == b"Host: 127.0.0.1:%d" % mn.B.port
    assert lines[2] == forwarded, heads[0]
    assert lines[3].startswith(b"X-Forwarded-For: ")


def test_http10_via_version(mn):
    heads, _ = upstream_head(mn, b"GET /v HTTP/1.0\r\nVia: 1.0 old\r\n\r\n")
    assert re.search(rb"\r\nVia: 1\.0 old, 1\.0 " + VIA_RE + rb"\r\n", heads[0]), heads[0]
    heads, _ = upstream_head(mn, b"GET /v HTTP/1.0\r\n\r\n")
    assert re.search(rb"\r\nVia: 1\.0 " + VIA_RE + rb"\r\n", heads[0]), heads[0]


def test_response_head_exact(mn):
    mn.script["/resp/hdr"] = (
        b"HTTP/1.1 200 Fine\r\n"
        b"server: up/1\r\n"
        b"Content-Length: 2\r\n"
        b"CONNECTION: keep-alive, X-Up-Hop\r\n"
        b"x-up-hop: 1\r\n"
        b"Keep-Alive: timeout=9\r\n"
        b"Proxy-Connection: x\r\n"
        b"TE: trailers\r\n"
        b"Trailer: X-T\r\n"
        b"Upgrade: h2c\r\n"
        b"Via: 1.1 first\r\n"
        b"via: 1.0 last\r\n"
        b"Vias: kept\r\n"
        b"X-Up-Hops: kept\r\n"
        b"\r\nok")
    with W.Client(mn.port, timeout=5) as c:
        c.send(b"GET /resp/hdr HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
    assert r is not None and r.status == 200 and r.body == b"ok", r
    head = r.raw[:r.raw.index(b"\r\n\r\n") + 4]
    pat = (rb"HTTP/1\.1 200 Fine\r\n"
           rb"server: up/1\r\n"
           rb"Content-Length: 2\r\n"
           rb"via: 1\.1 first\r\n"  # every Via line kept, in order; Sluice's joins the last
           rb"Vias: kept\r\n"
           rb"X-Up-Hops: kept\r\n"
           rb"Connection: keep-alive\r\n"
           rb"Via: 1\.0 last, 1\.1 " + VIA_RE + rb"\r\n"
           rb"Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT\r\n"  # none upstream
           rb"X-Sluice-Upstream-Latency: [0-9]+\r\n"
           rb"X-Sluice-Proxy-Latency: [0-9]+\r\n"
           rb"X-Sluice-Request-Id: " + ID_RE + rb"\r\n\r\n")
    assert re.fullmatch(pat, head), head


def test_response_without_server_gets_sluice_server(mn):
    mn.script["/resp/nosrv"] = b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
    with W.Client(mn.port, timeout=5) as c:
        c.send(b"GET /resp/nosrv HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
    assert r is not None and r.status == 204, r
    assert re.fullmatch(rb"HTTP/1\.1 204 No Content\r\nX-A: 1\r\nConnection: keep-alive\r\n"
                        rb"Via: 1\.1 " + VIA_RE + rb"\r\nDate: [^\r]+ GMT\r\n"
                        rb"Server: " + VIA_RE + rb"\r\n"
                        rb"X-Sluice-Upstream-Latency: [0-9]+\r\nX-Sluice-Proxy-Latency: [0-9]+\r\n"
                        rb"X-Sluice-Request-Id: " + ID_RE + rb"\r\n\r\n", r.raw), r.raw


def test_many_keepalive_responses_same_heads(mn):
    """Output buffers are reused between responses: a long keep-alive run of alternating large and
    small responses never carries a byte of one response into the next."""
    big = b"B" * 20000
    mn.script["/resp/big"] = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big
    mn.script["/resp/small"] = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ns"
    with W.Client(mn.port, timeout=5) as c:
        for i in range(40):
            path = b"/resp/big" if i % 3 == 0 else b"/resp/small"
            c.send(b"GET " + path + b" HTTP/1.1\r\nHost: h\r\n\r\n")
            r = c.response()
            assert r is not None and r.status == 200, (i, c.pending())
            assert r.body == (big if i % 3 == 0 else b"s")
            assert r.raw.count(b"HTTP/1.1 ") == 1
        assert c.pending() == b""
