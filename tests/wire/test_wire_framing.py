# SPDX-License-Identifier: Apache-2.0
"""Valid framing is forwarded normalised (issue #2 item 2; hardening.md §1): Content-Length bodies
keep their length and exact bytes, chunked bodies are re-chunked with extensions and trailers
dropped, pipelined requests arrive upstream as exactly the requests the client sent, and headers
that only look like framing headers are not treated as framing.

Each case runs on a fresh connection and pipelined after a valid request. The oracle frames what
it receives strictly (it fails a connection carrying both CL and TE, a repeated CL, or any coding
but "chunked") and the test compares the framed requests, and the total byte count, with what the
client meant."""

import pytest

import wirelib as W

H = b"Host: h\r\n"
PIPE_REQ = b"GET /pipe HTTP/1.1\r\nHost: h\r\n\r\n"


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"


def post(headers, body):
    return b"POST /up HTTP/1.1\r\n" + H + headers + b"\r\n" + body


# (id, raw bytes, [(method, target, framing, payload, {header: value or None})])
#   header value None = the header must be absent upstream
F = [
    ("cl-body", post(b"Content-Length: 11\r\n", b"hello world"),
     [("POST", "/up", "length", b"hello world", {"Content-Length": "11",
                                                 "Transfer-Encoding": None})]),
    ("cl-leading-zeros", post(b"Content-Length: 0005\r\n", b"hello"),
     [("POST", "/up", "length", b"hello", {"Content-Length": "5"})]),
    # SP around a framing value is trimmed; an HTAB there is refused (test_wire_differential.py:
    # nginx, and so Kong, strips only SP and reads it as part of the value)
    ("cl-ows", post(b"Content-Length:   5  \r\n", b"hello"),
     [("POST", "/up", "length", b"hello", {"Content-Length": "5"})]),
    ("cl-zero", post(b"Content-Length: 0\r\n", b""),
     [("POST", "/up", None, b"", {"Transfer-Encoding": None})]),
    ("cl-binary-body", post(b"Content-Length: 8\r\n", b"\x00\r\n\r\n0\r\n"),
     [("POST", "/up", "length", b"\x00\r\n\r\n0\r\n", {"Content-Length": "8"})]),
    ("chunked", post(b"Transfer-Encoding: chunked\r\n",
                     b"5;ext=1;x=\"q\"\r\nhello\r\n6\r\n world\r\n0;last=1\r\n"
                     b"X-Trailer: t\r\nContent-Length: 99\r\nHost: evil\r\n\r\n"),
     [("POST", "/up", "chunked", b"hello world", {"Content-Length": None,
                                                  "Transfer-Encoding": "chunked",
                                                  "X-Trailer": None})]),
    ("chunked-sp-ows", post(b"Transfer-Encoding:  chunked  \r\n", b"5\r\nhello\r\n0\r\n\r\n"),
     [("POST", "/up", "chunked", b"hello", {"Transfer-Encoding": "chunked"})]),
    ("chunked-uppercase", post(b"Transfer-Encoding: CHUNKED\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
     [("POST", "/up", "chunked", b"hello", {"Transfer-Encoding": "chunked"})]),
    ("chunked-hex-case", post(b"Transfer-Encoding: chunked\r\n",
                              b"A\r\n0123456789\r\na\r\nabcdefghij\r\n000\r\n\r\n"),
     [("POST", "/up", "chunked", b"0123456789abcdefghij", {})]),
    ("chunked-empty", post(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
     [("POST", "/up", None, b"", {"Content-Length": None})]),
    ("chunked-body-looks-like-request",
     post(b"Transfer-Encoding: chunked\r\n",
          b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"),
     [("POST", "/up", "chunked", SMUGGLED, {})]),
    # underscore: a valid token, so an unknown header; it is not Transfer-Encoding, is dropped
    # (nginx, and so Kong, ignores names with '_'), and the bytes after the head are the next
    # request, not a chunked body
    ("te-underscore", post(b"Transfer_Encoding: chunked\r\n", b"")
     + b"GET /second HTTP/1.1\r\n" + H + b"\r\n",
     [("POST", "/up", "none", b"", {"Transfer_Encoding": None, "Transfer-Encoding": None,
                                    "Content-Length": None}),
      ("GET", "/second", "none", b"", {})]),
    ("cl-underscore-name", post(b"Content_Length: 5\r\n", b"")
     + b"GET /second HTTP/1.1\r\n" + H + b"\r\n",
     [("POST", "/up", "none", b"", {"Content_Length": None, "Content-Length": None}),
      ("GET", "/second", "none", b"", {})]),
    # a GET with a body (0.CL / CL.0 desyncs): the body is framed and forwarded, never re-parsed
    ("get-with-body", b"GET /up HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)
     + SMUGGLED + b"GET /second HTTP/1.1\r\n" + H + b"\r\n",
     [("GET", "/up", "length", SMUGGLED, {}),
      ("GET", "/second", "none", b"", {})]),
    ("two-bodies", post(b"Content-Length: 5\r\n", b"hello")
     + post(b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"),
     [("POST", "/up", "length", b"hello", {}), ("POST", "/up", "chunked", b"abc", {})]),
    ("leading-empty-line", b"\r\n" + post(b"Content-Length: 2\r\n", b"hi"),
     [("POST", "/up", "length", b"hi", {})]),
    ("http10-no-host", b"GET /up HTTP/1.0\r\n\r\n", [("GET", "/up", "none", b"", {})]),
    ("expect-100", post(b"Content-Length: 5\r\nExpect: 100-continue\r\n", b"hello"),
     [("POST", "/up", "length", b"hello", {"Expect": None})]),
]


@pytest.mark.parametrize("mode", ["fresh", "pipelined"])
@pytest.mark.parametrize("raw,expected", [pytest.param(r, e, id=i) for i, r, e in F])
def test_forwarded_normalised(mn, raw, expected, mode):
    prefix = PIPE_REQ if mode == "pipelined" else b""
    want = ([("GET", "/pipe", "none", b"", {})] if prefix else []) + expected
    http10 = raw.startswith(b"GET /up HTTP/1.0")
    if http10 and prefix:
        pytest.skip("an HTTP/1.0 request ends the keep-alive sequence; covered fresh")
    with W.Client(mn.port, timeout=5) as c:
        c.send(prefix + raw)
        for i in range(len(want)):
            r = c.response()
            assert r is not None, "response %d missing (pending %r)" % (i, c.pending())
            assert r.status == 200 and r.header("X-Oracle") == "B", r
    mn.settle()
    got = mn.B.requests()
    assert mn.B.malformed() == []
    assert len(got) == len(want), got
    for req, (method, target, framing, payload, hdrs) in zip(got, want):
        assert (req.method, req.target) == (method, target)
        if framing is not None:
            assert req.framing == framing, req
        assert req.body == payload
        assert req.trailers == [] and not req.had_ext, req
        for name, value in hdrs.items():
            assert req.headers(name) == ([] if value is None else [value]), (name, req.fields)
    # nothing but those requests: every byte B received belongs to one of them
    total = sum(len(d) for _, d, _ in mn.B.received())
    assert total == sum(len(r.raw) for r in got)
    for o in (mn.A, mn.C, mn.R):
        assert o.total_bytes() == 0


def test_chunked_rechunked_exact(mn):
    """A chunked body split across many client chunks (and TCP writes) arrives with its exact
    payload; chunk sizes upstream are Sluice's, the payload bytes are the client's."""
    payload = bytes(range(256)) * 3
    body = b""
    for i in range(0, len(payload), 97):
        part = payload[i:i + 97]
        body += b"%x;n=%d\r\n" % (len(part), i) + part + b"\r\n"
    body += b"0\r\nX-Sum: 1\r\n\r\n"
    raw = post(b"Transfer-Encoding: chunked\r\n", b"")
    with W.Client(mn.port) as c:
        c.send(raw)
        for i in range(0, len(body), 50):
            c.send(body[i:i + 50])
        r = c.response()
        assert r is not None and r.status == 200, r
    mn.settle()
    got = mn.B.requests()
    assert len(got) == 1 and got[0].framing == "chunked"
    assert got[0].body == payload
    assert not got[0].had_ext and got[0].trailers == []


def test_many_pipelined_requests_in_one_write(mn):
    """20 requests (with and without bodies) in one write: 20 responses in order, and the upstream
    receives exactly those 20 requests, in order, with their exact bodies."""
    raw = b""
    want = []
    for i in range(20):
        if i % 3 == 0:
            body = b"body-%d" % i
            raw += (b"POST /p%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (i, len(body))
                    + body)
        elif i % 3 == 1:
            body = b"chunk-%d" % i
            raw += (b"PUT /p%d HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" % i
                    + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        else:
            body = b""
            raw += b"GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n" % i
        want.append(("/p%d" % i, body))
    with W.Client(mn.port) as c:
        c.send(raw)
        for i in range(20):
            r = c.response()
            assert r is not None and r.status == 200, (i, r, c.pending())
        assert not c.wait_closed(0.2) and c.pending() == b""
    mn.settle()
    got = mn.B.requests()
    assert [(r.target, r.body) for r in got] == want
    assert sum(len(d) for _, d, _ in mn.B.received()) == sum(len(r.raw) for r in got)
