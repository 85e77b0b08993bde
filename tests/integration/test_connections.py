# SPDX-License-Identifier: Apache-2.0
"""Connection handling through Sluice: client keep-alive with upstream pooling, pipelining,
WebSocket tunnelling, and many concurrent clients."""

import http.client
import json
import os
import threading
import time

import pytest
import requests

from lib import upstream as U
from lib.rawhttp import RawConn, parse_responses, raw, request_bytes
from lib.sluice import kong, service

T = 10


def test_keepalive_200_requests_one_connection(simple, upstream):
    s = simple
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=T)
    c.auto_open = 0  # a server-side close must fail the test instead of silently reconnecting
    c.connect()
    local = c.sock.getsockname()
    try:
        for i in range(200):
            c.request("GET", "/ka/%d" % i)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200
            assert json.loads(body)["path"] == "/ka/%d" % i
            assert c.sock is not None and c.sock.getsockname() == local
    finally:
        c.close()
    assert len(upstream.requests) == 200
    # Upstream keep-alive pooling: a handful of upstream connections, not one per request.
    assert upstream.connections <= 4, upstream.connections


def test_requests_session_reuses_connections(simple, upstream):
    with requests.Session() as sess:
        for i in range(50):
            r = sess.get(simple.url("/s/%d" % i), timeout=T)
            assert r.status_code == 200
    assert upstream.connections <= 4


def test_pipelining_responses_in_order(simple):
    s = simple
    n = 12
    data = b"".join(request_bytes("GET", "/pipe/%d" % i) for i in range(n - 1))
    data += request_bytes("POST", "/pipe/last", body=b"abc", headers=[("Connection", "close")])
    out = raw("127.0.0.1", s.port, data, timeout=T)
    rs = parse_responses(out)
    assert len(rs) == n
    paths = [json.loads(r.body)["path"] for r in rs]
    assert paths == ["/pipe/%d" % i for i in range(n - 1)] + ["/pipe/last"]
    assert json.loads(rs[-1].body)["body_len"] == 3


def test_pipelining_split_across_writes(simple):
    s = simple
    data = b"".join(request_bytes("GET", "/split/%d" % i) for i in range(5))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        # Cut inside request heads on purpose.
        for off in range(0, len(data), 37):
            c.send(data[off:off + 37])
            time.sleep(0.002)
        for i in range(5):
            r = c.read_response()
            assert r.status == 200 and json.loads(r.body)["path"] == "/split/%d" % i


def test_websocket_echo_70k_frame(upstream, sluice_factory):
    websocket = pytest.importorskip("websocket")
    upstream.route("/ws", U.websocket_echo())
    s = sluice_factory(kong(service("ws", upstream.port, [{"paths": ["/ws"],
                                                           "strip_path": False}])))
    ws = websocket.create_connection("ws://127.0.0.1:%d/ws/echo" % s.port, timeout=T)
    try:
        payload = os.urandom(70 * 1024)
        ws.send_binary(payload)
        op, data = ws.recv_data()
        assert op == websocket.ABNF.OPCODE_BINARY
        assert data == payload
        ws.send("hello text")
        assert ws.recv() == "hello text"
        ws.ping(b"p")
        for _ in range(3):
            ws.send("again")
            assert ws.recv() == "again"
    finally:
        ws.close()
    req = upstream.requests[0]
    assert req.header("upgrade", "").lower() == "websocket"
    assert "upgrade" in req.header("connection", "").lower()
    assert req.header("sec-websocket-key")


def test_websocket_close_from_upstream_closes_client(upstream, sluice_factory):
    websocket = pytest.importorskip("websocket")

    def ws_once(req, conn):
        import base64
        import hashlib
        key = req.header("sec-websocket-key")
        acc = base64.b64encode(hashlib.sha1(key.encode() + U.WS_GUID).digest()).decode()
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
        conn.send(U.ws_frame(0x1, b"bye"))
        time.sleep(0.1)
        return "close"
    upstream.route("/wsonce", ws_once)
    s = sluice_factory(kong(service("ws", upstream.port, [{"paths": ["/wsonce"],
                                                           "strip_path": False}])))
    ws = websocket.create_connection("ws://127.0.0.1:%d/wsonce" % s.port, timeout=T)
    try:
        assert ws.recv() == "bye"
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError,
                            OSError)):
            for _ in range(3):
                if ws.recv() in ("", None, b""):
                    raise websocket.WebSocketConnectionClosedException("closed")
    finally:
        ws.close()


def test_2000_requests_64_concurrent_clients(simple, upstream):
    s = simple
    total = 2000
    nclients = 64
    errors = []
    ok = [0]
    lock = threading.Lock()
    per = [total // nclients + (1 if i < total % nclients else 0) for i in range(nclients)]

    def client(idx, count):
        try:
            with requests.Session() as sess:
                for k in range(count):
                    path = "/c/%d/%d" % (idx, k)
                    r = sess.get(s.url(path), timeout=T)
                    if r.status_code != 200 or r.json()["path"] != path:
                        errors.append((path, r.status_code, r.text[:200]))
                        return
                    with lock:
                        ok[0] += 1
        except Exception as e:  # noqa: BLE001 — recorded and asserted below
            errors.append((idx, repr(e)))

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i, per[i])) for i in range(nclients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "clients still running after 120 s"
    assert not errors, errors[:5]
    assert ok[0] == total
    assert len(upstream.requests) == total
    assert elapsed < 90, elapsed
    assert s.alive()


def test_client_close_mid_request_does_not_hurt(simple):
    s = simple
    for _ in range(20):
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
    r = requests.get(s.url("/still"), timeout=T)
    assert r.status_code == 200
    assert s.alive()


def test_keepalive_timeout_zero_turns_keepalive_off(upstream, sluice_factory):
    """keepalive_timeout = 0 disables client keep-alive (nginx): each response says close, and
    the connection closes after it."""
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"]}])),
                       {"keepalive_timeout": "0"})
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.header("Connection") == "close"
        assert c.closed(timeout=2)
