# SPDX-License-Identifier: Apache-2.0
"""Admin API connections (docs/admin-api.md, "Connections"). Every connection state is bounded by
the proxy's timeouts, with nginx's semantics:
- a request head must arrive within client_header_timeout of its first byte, however slowly the
  bytes trickle in (slowloris); a new connection waits for its first request that long too;
- a request body may pause at most client_body_timeout between two reads;
- an idle keep-alive connection is closed after keepalive_timeout; 0 disables keep-alive;
- at most 1024 Admin connections are open at once; more are closed at accept.
A chunked request body is decoded as it arrives, across reads."""

import json
import socket
import time

import pytest
import requests

from lib.rawhttp import RawConn
from lib.sluice import kong, open_files

T = 10
STATUS = b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def admin(sluice_factory):
    """admin(**conf) -> a started Sluice with a plain Admin listener (stopped after the test)."""
    def make(**conf):
        c = {"admin_listen": "auto"}
        c.update(conf)
        return sluice_factory(kong(), conf=c)
    return make


def closed_after(sock, limit):
    """Seconds until the peer closes <sock> (EOF or reset), reading and dropping whatever comes;
    fails if it is still open after <limit> seconds."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
        if not data:
            return time.monotonic() - t0
    pytest.fail("the connection is still open after %.1f s" % limit)


def test_trickled_head_is_cut_at_client_header_timeout(admin):
    s = admin(client_header_timeout="2s", keepalive_timeout="30s")
    with socket.create_connection(("127.0.0.1", s.admin_port), timeout=T) as c:
        c.sendall(b"GET /status HTTP/1.1\r\n")
        t0 = time.monotonic()
        closed = None
        # one header byte every 0.4 s: each byte is progress, the deadline must hold regardless
        for i in range(25):
            try:
                c.sendall(b"X-a: b\r\n"[i % 8:i % 8 + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - t0
                break
            c.settimeout(0.4)
            try:
                got = c.recv(1024)
            except socket.timeout:
                continue
            except ConnectionResetError:
                got = b""
            if not got or got.startswith(b"HTTP/1.1 408"):
                closed = time.monotonic() - t0
                break
        assert closed is not None, "a trickled head held the connection for 10 s"
        assert 1.5 < closed < 4.5, closed


def test_new_connection_waits_client_header_timeout_for_its_first_request(admin):
    s = admin(client_header_timeout="1s", keepalive_timeout="30s")
    with socket.create_connection(("127.0.0.1", s.admin_port), timeout=T) as c:
        took = closed_after(c, 6)
    assert 0.7 < took < 3.5, took


def test_idle_keepalive_uses_keepalive_timeout(admin):
    s = admin(client_header_timeout="1s", keepalive_timeout="3s")
    with RawConn("127.0.0.1", s.admin_port, timeout=T) as c:
        c.send(STATUS)
        assert c.read_response().status == 200
        # past client_header_timeout, within keepalive_timeout: still served
        time.sleep(1.8)
        c.send(STATUS)
        assert c.read_response().status == 200
        took = closed_after(c.sock, 8)
    assert 2.5 < took < 5.5, took


def test_keepalive_timeout_zero_closes_after_each_response(admin):
    s = admin(keepalive_timeout="0")
    with RawConn("127.0.0.1", s.admin_port, timeout=T) as c:
        c.send(STATUS)
        assert c.read_response().status == 200
        assert closed_after(c.sock, 2) < 1


def test_body_pause_is_cut_at_client_body_timeout(admin):
    s = admin(client_header_timeout="1s", client_body_timeout="2s",
              keepalive_timeout="30s")
    with socket.create_connection(("127.0.0.1", s.admin_port), timeout=T) as c:
        c.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 40\r\n\r\n{\"name\":")
        # body bytes every 0.7 s keep it alive past the header timeout...
        for _ in range(3):
            time.sleep(0.7)
            c.sendall(b" ")
        # ...then a pause longer than client_body_timeout closes it
        took = closed_after(c, 6)
    assert 1.5 < took < 4.5, took


def test_connections_beyond_the_limit_are_closed_at_accept(admin):
    s = admin(client_header_timeout="60s")
    s.set_open_files(1200)
    with open_files(1200):
        over_the_connection_limit(s)


def over_the_connection_limit(s):
    conns = []
    try:
        for _ in range(1024):
            conns.append(RawConn("127.0.0.1", s.admin_port, timeout=T))
        # all 1024 are served: ask on the last one
        conns[-1].send(STATUS)
        assert conns[-1].read_response().status == 200
        extra = RawConn("127.0.0.1", s.admin_port, timeout=T)
        conns.append(extra)
        assert closed_after(extra.sock, 5) < 4
        assert "admin: 1024 connections are open" in s.error_log()
        # one closes: a new connection is served again
        conns.pop(0).close()
        time.sleep(0.3)
        again = RawConn("127.0.0.1", s.admin_port, timeout=T)
        conns.append(again)
        again.send(STATUS)
        assert again.read_response().status == 200
    finally:
        for c in conns:
            c.close()


def test_chunked_body_split_across_many_reads(admin):
    """A chunked body is decoded as it arrives (the decoder's state is kept between reads): a body
    whose size lines, data and CRLFs are cut at every possible place across writes, with pauses so
    each piece is a separate read, arrives whole; a bad chunk in a later read is still a 400."""
    s = admin(database="sqlite", declarative_config=None)
    doc = json.dumps({"name": "split-" + "x" * 40, "host": "example.com"}).encode()
    chunks = [doc[i:i + 7] for i in range(0, len(doc), 7)]
    framed = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in chunks) + b"0\r\n\r\n"
    with RawConn("127.0.0.1", s.admin_port, timeout=T) as c:
        c.send(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(framed), 3):
            c.send(framed[i:i + 3])
            time.sleep(0.002)
        r = c.read_response()
        assert r.status == 201, (r.status, r.body[:200])
        # the same connection goes on: a second chunked request, broken in its third chunk
        c.send(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n3\r\n{\"n\r\n")
        time.sleep(0.05)
        c.send(b"2\r\na\"\r\n")
        time.sleep(0.05)
        c.send(b"zz\r\n")
        assert c.read_response().status == 400
    r = requests.get("http://127.0.0.1:%d/services/split-%s" % (s.admin_port, "x" * 40),
                     timeout=T)
    assert r.status_code == 200 and r.json()["host"] == "example.com"
