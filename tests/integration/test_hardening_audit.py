# SPDX-License-Identifier: Apache-2.0
"""Audit of hardening.md §1, §3, §4, §8 and §12 against the real binary: cases that had no test.

- §1 (Expect / early-response desyncs): an upstream that answers a streamed upload keep-alive
  before it has read the body, with and without Expect: 100-continue. The body the client sends
  afterwards (here a complete request) must never be parsed as a request on the client side, and
  the upstream connection, which carries a head whose body was never sent, must never be reused.
- §1: HEAD with a Content-Length body is framed and forwarded; the next pipelined request is
  intact.
- §3: RSS stays flat over 1000 oversize request heads.
- §8: an untrusted peer's X-Forwarded-For with garbage and 100 entries is appended to verbatim,
  and X-Real-IP stays the peer.
- §12: an upstream that accepts, reads the head, then resets (SO_LINGER 0): GET is retried
  (retries + 1 connections) then 502; POST is tried once then 502.
"""

import os
import socket
import struct
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "wire"))
import wirelib as W  # noqa: E402

from lib.rawserver import RawServer  # noqa: E402
from lib.sluice import kong  # noqa: E402

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"


class RawUpstream(RawServer):
    """127.0.0.1 listener: for each connection, reads until the end of the first head, records
    every byte, then calls act(conn). self.conns: a bytearray per connection."""

    def __init__(self, act):
        self.act = act
        super().__init__(backlog=64)

    def new_record(self, index):
        return bytearray()

    def serve(self, c, rec):
        c.settimeout(3)
        try:
            while b"\r\n\r\n" not in rec:
                d = c.recv(65536)
                if not d:
                    return
                rec += d
            if self.act(c) is False:
                return
            while True:  # keep recording what else comes on this connection
                d = c.recv(65536)
                if not d:
                    return
                rec += d
        except OSError:
            pass


def read_all(sock, wait):
    """Everything until EOF or <wait> seconds of silence; '<EOF>' appended on EOF."""
    out = b""
    sock.settimeout(wait)
    while True:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return out
        except ConnectionResetError:
            return out + b"<RST>"
        if not d:
            return out + b"<EOF>"
        out += d


# ---- §1: upstream answers keep-alive before reading a streamed body

@pytest.mark.parametrize("expect", [False, True], ids=["no-expect", "expect-100"])
def test_upstream_early_keepalive_answer_never_desyncs(sluice_factory, expect):
    up = RawUpstream(lambda c: c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"))
    try:
        s = sluice_factory(kong({"name": "u", "url": "http://127.0.0.1:%d" % up.port, "retries": 0,
                                 "routes": [{"paths": ["/"], "strip_path": False,
                                             "request_buffering": False}]}))
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        try:
            c.sendall(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n%s\r\n"
                      % (len(SMUGGLED), b"Expect: 100-continue\r\n" if expect else b""))
            first = read_all(c, 0.7)
            assert b"HTTP/1.1 401 " in first, first
            # the client now sends the announced body: a complete request
            try:
                c.sendall(SMUGGLED)
            except OSError:
                pass
            rest = read_all(c, 1.5)
        finally:
            c.close()
        out = first + rest
        # exactly one final response, and the connection ends after it (not drained and reused)
        finals = [ln for ln in out.split(b"\r\n") if ln.startswith(b"HTTP/1.1 ")
                  and not ln.startswith(b"HTTP/1.1 100 ")]
        assert finals == [b"HTTP/1.1 401 Unauthorized"], out
        assert out.endswith(b"<EOF>") or out.endswith(b"<RST>"), out
        # a second client: its request must go out on a fresh upstream connection
        c2 = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        try:
            c2.sendall(b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
            assert read_all(c2, 0.7).startswith(b"HTTP/1.1 401 ")
        finally:
            c2.close()
        time.sleep(0.2)
        assert len(up.conns) == 2, [bytes(x) for x in up.conns]
        assert b"/smuggled" not in bytes(up.conns[0]) and b"/smuggled" not in bytes(up.conns[1])
        assert bytes(up.conns[1]).startswith(b"GET /second ")
    finally:
        up.stop()


# ---- §1: HEAD with a body

def test_head_with_body_is_framed_and_forwarded(sluice_factory):
    B = W.Oracle("B")
    try:
        s = sluice_factory(kong({"name": "b", "url": "http://127.0.0.1:%d" % B.port,
                                 "routes": [{"paths": ["/"], "strip_path": False}]}))
        raw = (b"HEAD /h HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED)
               + SMUGGLED + b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
        with W.Client(s.port) as c:
            c.send(raw)
            r1 = c.response(head_request=True)
            r2 = c.response()
            assert r1 is not None and r1.status == 200 and r1.body == b""
            assert r2 is not None and r2.status == 200 and r2.body == b"ok"
        assert B.wait_requests(2)
        reqs = B.requests()
        assert [(r.method, r.target, r.body) for r in reqs] == [("HEAD", "/h", SMUGGLED),
                                                                 ("GET", "/second", b"")]
        assert B.malformed() == []
    finally:
        B.stop()


# ---- §3: RSS flat over 1000 oversize heads

def test_rss_flat_over_1000_oversize_heads(sluice_factory):
    s = sluice_factory(kong({"name": "b", "url": "http://127.0.0.1:9",
                             "routes": [{"paths": ["/"]}]}), {"proxy_access_log": "off"})
    if s.sanitized():
        pytest.skip("memory figures are not meaningful under a sanitizer build")
    big = b"GET / HTTP/1.1\r\nHost: h\r\n" + (b"X-A: " + b"a" * 8000 + b"\r\n") * 9 + b"\r\n"
    base = s.rss_kb()
    for _ in range(1000):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        try:
            try:
                c.sendall(big)
            except OSError:
                pass
            try:
                assert c.recv(20).startswith(b"HTTP/1.1 400")
            except OSError:
                pass
        finally:
            c.close()
    time.sleep(0.3)
    assert s.rss_kb() - base < 2048, (base, s.rss_kb())


# ---- §8: XFF from an untrusted peer, garbage and long chains

@pytest.mark.parametrize("xff", [
    b"<script>, 1.2.3.4",
    b", ".join(b"10.0.%d.%d" % (i // 256, i % 256) for i in range(100)),
], ids=["garbage", "100-entries"])
def test_untrusted_xff_is_appended_verbatim(sluice_factory, xff):
    B = W.Oracle("B")
    try:
        s = sluice_factory(kong({"name": "b", "url": "http://127.0.0.1:%d" % B.port,
                                 "routes": [{"paths": ["/"]}]}))
        with W.Client(s.port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: " + xff
                   + b"\r\nX-Real-IP: 9.9.9.9\r\n\r\n")
            r = c.response()
            assert r is not None and r.status == 200
        assert B.wait_requests(1)
        req = B.requests()[0]
        assert req.headers("X-Forwarded-For") == [xff.decode() + ", 127.0.0.1"]
        assert req.headers("X-Real-IP") == ["127.0.0.1"]
    finally:
        B.stop()


# ---- §12: accept, read the head, then reset

def _rst(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


@pytest.mark.parametrize("method,tries", [(b"GET", 4), (b"POST", 1)])
def test_upstream_reset_after_head_is_502_retried_only_when_idempotent(sluice_factory, method,
                                                                        tries):
    up = RawUpstream(_rst)
    try:
        s = sluice_factory(kong({"name": "u", "url": "http://127.0.0.1:%d" % up.port,
                                 "retries": 3, "routes": [{"paths": ["/"]}]}))
        body = b"Content-Length: 2\r\n\r\nhi" if method == b"POST" else b"\r\n"
        t0 = time.monotonic()
        with W.Client(s.port) as c:
            c.send(method + b" / HTTP/1.1\r\nHost: h\r\n" + body)
            r = c.response(timeout=5)
        assert r is not None and r.status == 502, r
        assert time.monotonic() - t0 < 2
        time.sleep(0.2)
        assert len(up.conns) == tries, [bytes(x)[:40] for x in up.conns]
    finally:
        up.stop()
