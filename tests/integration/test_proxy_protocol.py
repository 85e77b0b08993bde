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


# ---- admin_listen ... proxy_protocol ------------------------------------------------------------

def admin_pp(tmp_path, **conf):
    """A Sluice whose Admin API has a plain and an `ssl` listener, both with proxy_protocol."""
    from lib.ports import free_port
    from lib.sluice import Sluice
    plain, tls = free_port(), free_port()
    while tls == plain:
        tls = free_port()
    conf["admin_listen"] = ("127.0.0.1:%d proxy_protocol, 127.0.0.1:%d ssl proxy_protocol"
                            % (plain, tls))
    s = Sluice(tmp_path, kong(), name="adminpp", start=False, conf=conf)
    while s.port in (plain, tls):
        s.port = free_port()
        s.write_conf(proxy_listen="127.0.0.1:%d" % s.port)
    s.start()
    end = time.monotonic() + 10
    for port in (plain, tls):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < end, "admin listener %d not up" % port
                time.sleep(0.02)
    return s, plain, tls


def admin_get(port, header, pieces=1):
    with RawConn("127.0.0.1", port, timeout=T) as c:
        data = header + request_bytes("GET", "/status", headers=[("Connection", "close")])
        step = max(1, len(header) // pieces) if pieces > 1 else len(data)
        for i in range(0, len(data), step):
            c.send(data[i:i + step])
            if pieces > 1:
                time.sleep(0.01)
        return c.read_response()


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 8001\r\n",
    v2_inet6("2001:db8::8", "2001:db8::1", 40000, 8001),
    v2(0, 0x00),
])
def test_admin_api_reads_the_header_first(tmp_path, header):
    s, plain, _ = admin_pp(tmp_path)
    try:
        r = admin_get(plain, header)
        assert r.status == 200, r
        assert "server" in json.loads(r.body)
        r = admin_get(plain, header, pieces=4)  # a header split across writes
        assert r.status == 200, r
    finally:
        s.stop()


def test_admin_api_without_the_header_is_closed_unanswered(tmp_path):
    s, plain, _ = admin_pp(tmp_path)
    try:
        with RawConn("127.0.0.1", plain, timeout=T) as c:
            c.send(request_bytes("GET", "/status"))
            assert c.closed(timeout=3)  # with no answer, as nginx
            assert c.buf == b""
        assert s.alive()
    finally:
        s.stop()
    assert "broken header" in s.error_log() and "GET /status" in s.error_log()


def test_admin_api_over_tls_reads_the_header_before_the_handshake(tmp_path):
    import ssl
    s, _, tls = admin_pp(tmp_path)
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw_sock = socket.create_connection(("127.0.0.1", tls), timeout=T)
        raw_sock.sendall(b"PROXY TCP4 203.0.113.7 198.51.100.1 40000 8444\r\n")
        with ctx.wrap_socket(raw_sock, server_hostname="localhost") as t:
            t.sendall(request_bytes("GET", "/status", headers=[("Connection", "close")]))
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 "), data[:200]
    finally:
        s.stop()


def test_admin_api_stalled_header_is_bounded_by_client_header_timeout(tmp_path):
    s, plain, _ = admin_pp(tmp_path, client_header_timeout="1s")
    try:
        with RawConn("127.0.0.1", plain, timeout=T) as c:
            c.send(b"PROXY TCP4 203.0.113.7 ")  # and nothing more
            t0 = time.monotonic()
            assert c.closed(timeout=4)
            assert 0.8 < time.monotonic() - t0 < 3.5
            assert c.buf == b""
    finally:
        s.stop()
