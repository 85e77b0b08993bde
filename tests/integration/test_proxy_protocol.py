# SPDX-License-Identifier: Apache-2.0
"""The PROXY protocol on a `proxy_listen ... proxy_protocol` listener (kong.md §3.4 and the
proxy_listen flags; nginx's listen flag and realip module): the header is read before the first
request; with `real_ip_header = proxy_protocol` and a trusted peer its client address becomes the
client address (X-Real-IP, X-Forwarded-For, the access log); a connection without a valid header is
closed with no answer and reaches no upstream."""

import json
import socket
import struct
import time

import pytest

from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service

T = 5
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def make(upstream, sluice_factory, **conf):
    base = {"proxy_listen": "127.0.0.1:{port} proxy_protocol", "trusted_ips": "127.0.0.1",
            "real_ip_header": "proxy_protocol"}
    base.update(conf)
    return sluice_factory(kong(service("echo", upstream.port,
                                       [{"name": "r", "paths": ["/"], "strip_path": False}])),
                          base)


def v2(cmd, fam, addrs=b"", tlvs=b""):
    body = addrs + tlvs
    return V2SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def v2_inet(src, dst, sport, dport):
    return v2(1, 0x11, socket.inet_pton(socket.AF_INET, src) +
              socket.inet_pton(socket.AF_INET, dst) + struct.pack("!HH", sport, dport))


def v2_inet6(src, dst, sport, dport):
    return v2(1, 0x21, socket.inet_pton(socket.AF_INET6, src) +
              socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport))


def through(s, header, target="/x", headers=(), pieces=1):
    """Sends <header> (in <pieces> writes) then one GET; returns (response, upstream view)."""
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        data = header + request_bytes("GET", target, headers=list(headers))
        step = max(1, len(header) // pieces) if pieces > 1 else len(data)
        for i in range(0, len(data), step):
            c.send(data[i:i + step])
            if pieces > 1:
                time.sleep(0.01)
        r = c.read_response()
    return r, json.loads(r.body) if r.status == 200 else None


@pytest.mark.parametrize("header,want", [
    (b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n", "203.0.113.7"),
    (b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n", "2001:db8::7"),
    (v2_inet("203.0.113.8", "198.51.100.1", 40000, 443), "203.0.113.8"),
    (v2_inet6("2001:db8::8", "2001:db8::1", 40000, 443), "2001:db8::8"),
    (v2(1, 0x11, socket.inet_pton(socket.AF_INET, "203.0.113.9") + b"\x00" * 8,
        b"\x04\x00\x03abc"), "203.0.113.9"),  # with a NOOP TLV after the addresses
    (b"PROXY UNKNOWN\r\n", "127.0.0.1"),  # no address: the peer stands
    (v2(0, 0x00), "127.0.0.1"),  # LOCAL (the balancer's health check)
])
def test_client_address_from_the_header(upstream, sluice_factory, header, want):
    s = make(upstream, sluice_factory)
    r, v = through(s, header)
    assert r.status == 200, r
    assert v["headers"]["x-real-ip"] == want
    assert v["headers"]["x-forwarded-for"] == want
    s.stop()
    assert s.access_lines()[-1].startswith(want + " ")


def test_header_split_across_writes(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    r, v = through(s, b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n", pieces=12)
    assert r.status == 200 and v["headers"]["x-real-ip"] == "203.0.113.7"
    r, v = through(s, v2_inet("203.0.113.8", "198.51.100.1", 1, 2), pieces=28)
    assert r.status == 200 and v["headers"]["x-real-ip"] == "203.0.113.8"


def test_header_once_per_connection(upstream, sluice_factory):
    """Only the connection's first bytes are a PROXY header: later requests on the connection need
    none and keep its address, and a second header is an invalid request line (400)."""
    s = make(upstream, sluice_factory)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n" + request_bytes("GET", "/1"))
        assert json.loads(c.read_response().body)["headers"]["x-real-ip"] == "203.0.113.7"
        c.send(request_bytes("GET", "/2"))
        assert json.loads(c.read_response().body)["headers"]["x-real-ip"] == "203.0.113.7"
        c.send(b"PROXY TCP4 203.0.113.9 198.51.100.1 40000 443\r\n" + request_bytes("GET", "/3"))
        assert c.read_response().status == 400
    assert [r.path for r in upstream.requests] == ["/1", "/2"]


@pytest.mark.parametrize("data", [
    request_bytes("GET", "/x"),  # no header at all
    b"PROXY TCP4 203.0.113.7 198.51.100.1 40000\r\n" + request_bytes("GET", "/x"),
    b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\n" + request_bytes("GET", "/x"),
    V2SIG + b"\x22\x11\x00\x0c" + b"\x00" * 12 + request_bytes("GET", "/x"),  # command 2
    b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n" + request_bytes("GET", "/x"),  # over 107 bytes
])
def test_broken_header_closes_without_answer(upstream, sluice_factory, data):
    s = make(upstream, sluice_factory)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(data)
        assert c.closed(timeout=3)
        assert c.buf == b""
    assert upstream.requests == [] and upstream.connections == 0
    assert "broken header" in s.error_log()
    assert s.alive()


def test_untrusted_peer_keeps_its_own_address(upstream, sluice_factory):
    """The header is read (the listener expects it) but only a trusted peer may set the client
    address."""
    s = make(upstream, sluice_factory, trusted_ips="10.0.0.0/8")
    r, v = through(s, b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n")
    assert r.status == 200
    assert v["headers"]["x-real-ip"] == "127.0.0.1"


def test_header_based_real_ip_on_a_proxy_protocol_listener(upstream, sluice_factory):
    """With real_ip_header = X-Real-IP the PROXY address is not the client address: the header
    is, as nginx's realip reads only the header it is told to."""
    s = make(upstream, sluice_factory, real_ip_header="X-Real-IP")
    r, v = through(s, b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n",
                   headers=[("X-Real-IP", "192.0.2.55")])
    assert r.status == 200
    assert v["headers"]["x-real-ip"] == "192.0.2.55"


def test_plain_listener_takes_no_header(upstream, sluice_factory):
    """Without the flag a PROXY line is what it looks like: an invalid request."""
    s = make(upstream, sluice_factory, proxy_listen="127.0.0.1:{port}")
    r, _ = through(s, b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n")
    assert r.status == 400


@pytest.mark.parametrize("keepalive", ["60s", "0"])
def test_stalled_header_is_bounded_by_client_header_timeout(upstream, sluice_factory, keepalive):
    """Partial or whole, a header with no request after it is bounded by the first request's
    header deadline from accept, whatever keepalive_timeout says (0 turns keep-alive off)."""
    s = make(upstream, sluice_factory, client_header_timeout="1s", keepalive_timeout=keepalive)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        start = time.monotonic()
        c.send(b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n")
        assert c.closed(timeout=4)
        assert time.monotonic() - start < 3
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        start = time.monotonic()
        c.send(b"PROXY TCP4 203.0.113.7")
        assert c.closed(timeout=4)
        assert time.monotonic() - start < 3
    assert upstream.connections == 0
