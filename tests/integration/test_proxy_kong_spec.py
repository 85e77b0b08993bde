# SPDX-License-Identifier: Apache-2.0
"""Kong's proxy integration specs, their HTTP cases through the real binary:
13-error_handlers (generated error bodies), 07-upstream_timeouts (connect/read/write timeouts and
how they combine with retries), 25-upstream_keepalive (which upstream connections are reused: for
an http service Kong's pool key is ip|port, whatever the Host) and 09-websockets (handshake, data
both ways). Cases the other suites already cover are not repeated here: the write timeout of a
POST (test_slow_peers.py), pool size 0 and the idle timeout (test_pool.py), the Accept formats
(test_errors.py), a refused or h2c upgrade (test_websocket.py)."""

import json
import re
import socket
import threading
import time

import pytest

from lib import upstream as U
from lib.rawhttp import RawConn, raw, raw_upstream, read_head
from lib.sluice import kong, service

T = 10
RID = r"[0-9a-f]{32}"
MSG_502 = "An invalid response was received from the upstream server"
MSG_504 = "The upstream server is timing out"
UPGRADE = (b"GET /up-ws HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:%d\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           b"Connection: Upgrade\r\n\r\n")


def routes(**kw):
    return [dict({"paths": ["/"], "strip_path": False}, **kw)]


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# ---- 13-error_handlers_spec ------------------------------------------------------------------


def test_header_too_large_is_400_text_plain_with_request_id(upstream, sluice_factory):
    """"HTTP 400": a 10 KiB header line (beyond the 8k buffers) and no Accept: 400 in text/plain
    with the request id, from Sluice (Server). The message is the one Kong's handler writes for
    nginx's 494 (error_page 494 =494, then sent as 400: kong.md §3.6)."""
    s = sluice_factory(kong(service("e", upstream.port, routes())))
    out = raw("127.0.0.1", s.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Large: " + b"a" * 10240 +
              b"\r\n\r\n", timeout=T)
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), head
    assert re.search(rb"\r\nServer: sluice/", head), head
    assert re.fullmatch(rb"Request header or cookie too large\nrequest_id: " + RID.encode() +
                        rb"\n", body), body
    assert not upstream.requests


def test_trace_is_405_with_request_id(upstream, sluice_factory):
    """"Request For Routers With Trace Method Not Allowed": 405 "Method not allowed" in the
    text/plain template, Sluice's Server, no OpenResty-like version in the body."""
    s = sluice_factory(kong(service("e", upstream.port, routes())))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
    assert r.status == 405
    assert r.header("Server").startswith("sluice/")
    rid = r.header("X-Sluice-Request-Id")
    assert r.body == b"Method not allowed\nrequest_id: %s\n" % rid.encode()
    assert not upstream.requests


# ---- 07-upstream_timeouts_spec ---------------------------------------------------------------


@pytest.fixture
def full_accept_queue():
    """A port whose accept queue is full: SYNs are dropped, so every connect hangs."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(8):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(f)
    time.sleep(0.2)
    yield port
    ls.close()
    for f in fillers:
        f.close()


def test_connect_timeout_head_is_504_after_every_try(full_accept_queue, sluice_factory):
    """"sets upstream connect timeout value": a HEAD to a service whose connects time out, with the
    default retries (5): six connects, each bounded by connect_timeout, then 504 (no body: HEAD)."""
    s = sluice_factory(kong(service("api-1", full_accept_queue, routes(methods=["HEAD"]),
                                    connect_timeout=150)))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        t0 = time.monotonic()
        c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response(head_request=True)
        dt = time.monotonic() - t0
        assert r.status == 504 and r.body == b""
        # the connection stays usable: the next request is answered on it
        c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n")
        assert c.read_response(head_request=True).status == 504
    assert 0.8 <= dt <= 6.0, dt
    assert wait_for(lambda: s.error_log().count("connect() timed out while proxying HEAD") == 12)


def test_read_timeout_get_fails_every_try_with_504(upstream, sluice_factory):
    """"sets upstream read timeout value" / "sets status for last try": GET /delay/2 with a short
    read_timeout and the default retries: every one of the six tries times out (the upstream sees
    six requests, each logged as timed out), and the client gets 504."""
    upstream.route("/delay", U.delay(2.0))
    s = sluice_factory(kong(service("api-3", upstream.port, routes(methods=["GET"]),
                                    read_timeout=150)))
    t0 = time.monotonic()
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET /delay/2 HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n")
        r = c.read_response()
    dt = time.monotonic() - t0
    assert r.status == 504
    assert json.loads(r.body) == {"message": MSG_504,
                                  "request_id": r.header("X-Sluice-Request-Id")}
    assert 0.8 <= dt <= 6.0, dt
    assert len(upstream.requests) == 6
    assert s.error_log().count("upstream timed out while proxying GET /delay/2") == 6


def partial_head_upstream(then, answer_on=None):
    """A raw upstream that sends part of a response head, then closes (then="close") or goes quiet
    (then="stall"); from try <answer_on> on it answers properly. Returns (listener, tries)."""
    tries = []

    def h(c):
        try:
            read_head(c)
            tries.append(time.monotonic())
            if answer_on is not None and len(tries) >= answer_on:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                time.sleep(0.2)
                return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-")
            time.sleep(0.1 if then == "close" else 3)
        except OSError:
            pass
        finally:
            c.close()
    return raw_upstream(h), tries


@pytest.mark.parametrize("then,status", [("close", 502), ("stall", 504)])
def test_partial_response_head_is_retried_for_get(sluice_factory, then, status):
    """An upstream that fails (closes, or goes quiet past read_timeout) after part of its response
    head: nothing reached the client, so the failure is an error or a timeout like any other, and
    an idempotent request is retried (nginx proxy_next_upstream "error timeout" while reading the
    head). Sluice used to give up after the first try once any response byte had come."""
    ls, tries = partial_head_upstream(then)
    try:
        s = sluice_factory(kong(service("p", ls.getsockname()[1], routes(), retries=2,
                                        read_timeout=300)))
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"GET /p HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
        assert r.status == status
        assert len(tries) == 3, s.error_log()[-1000:]
    finally:
        ls.close()


def test_partial_response_head_then_a_good_try_is_served(sluice_factory):
    ls, tries = partial_head_upstream("close", answer_on=2)
    try:
        s = sluice_factory(kong(service("p", ls.getsockname()[1], routes(), retries=1)))
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"GET /p HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
        assert (r.status, r.body) == (200, b"ok")
        assert len(tries) == 2
    finally:
        ls.close()


def test_partial_response_head_is_not_retried_for_post(sluice_factory):
    """The request was sent: a POST is not sent twice (non-idempotent)."""
    ls, tries = partial_head_upstream("close")
    try:
        s = sluice_factory(kong(service("p", ls.getsockname()[1], routes(), retries=2)))
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
            r = c.read_response()
        assert r.status == 502
        assert r.body.startswith(MSG_502.encode())
        time.sleep(0.3)
        assert len(tries) == 1
    finally:
        ls.close()


# ---- 25-upstream_keepalive_spec --------------------------------------------------------------


def test_http_pool_is_keyed_by_address_not_host(upstream, sluice_factory):
    """"pools by host|port|sni when upstream is https": for an http service Kong's pool key is
    ip|port only, so requests with other Host values (preserve_host) reuse one connection."""
    s = sluice_factory(kong(service("a", upstream.port, [{"hosts": ["one.com", "two.com"],
                                                          "preserve_host": True}])))
    seen = []
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for host in ("one.com", "two.com", "one.com"):
            c.send(b"GET /echo HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
            r = c.read_response()
            assert r.status == 200
            seen.append((json.loads(r.body)["headers"]["host"], json.loads(r.body)["conn_id"]))
    assert [h for h, _ in seen] == ["one.com", "two.com", "one.com"]
    assert len({cid for _, cid in seen}) == 1 and upstream.connections == 1


def test_pools_of_two_addresses_are_separate(upstream, upstream_factory, sluice_factory):
    """"pools with crc32 collision": two pool keys never share connections. Two upstreams on the
    same port of 127.0.0.1 and 127.0.0.2: each request reaches its own, each reuses its own."""
    other = upstream_factory(host="127.0.0.2", port=upstream.port)
    s = sluice_factory(kong(
        service("one", upstream.port, [{"hosts": ["one.test"]}]),
        {"name": "two", "url": "http://127.0.0.2:%d" % upstream.port,
         "routes": [{"hosts": ["two.test"]}]}))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for host in ("one.test", "two.test") * 3:
            c.send(b"GET /echo HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
            assert c.read_response().status == 200
    assert len(upstream.requests) == 3 and len(other.requests) == 3
    assert upstream.connections == 1 and other.connections == 1


def test_max_requests_1_saves_no_connection(upstream, sluice_factory):
    """"free upstream keepalive pool" (upstream_keepalive_max_requests = 1): each connection carries
    one request and is closed after it, never kept idle."""
    s = sluice_factory(kong(service("a", upstream.port, routes())),
                       {"upstream_keepalive_max_requests": "1"})
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for i in range(3):
            c.send(b"GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            assert c.read_response().status == 200
            assert wait_for(lambda: upstream.open_connections() == 0, 3), i
    assert upstream.connections == 3


def _concurrent_gets(s, path, n, method="GET"):
    """n requests (GET, or <method>) for <path> at once, one client connection each; all must
    answer 200."""
    statuses = []

    def one():
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method.encode(), path.encode()))
            statuses.append(c.read_response(head_request=method == "HEAD").status)
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * n


def test_pool_size_bounds_idle_connections_per_address(upstream, sluice_factory):
    """upstream_keepalive_pool_size = 2: four requests at once need four connections; afterwards
    two stay idle for reuse and the others are closed (after the 1 s trim delay)."""
    upstream.route("/slow", U.delay(0.5))
    s = sluice_factory(kong(service("a", upstream.port, routes())),
                       {"upstream_keepalive_pool_size": "2"})
    _concurrent_gets(s, "/slow", 4)
    assert upstream.connections == 4
    assert wait_for(lambda: upstream.open_connections() == 2, 3), upstream.open_connections()
    time.sleep(0.3)
    assert upstream.open_connections() == 2
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for _ in range(2):
            c.send(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_response().status == 200
    assert upstream.connections == 4


def test_pool_keeps_a_burst_above_pool_size_for_the_next_burst(upstream, sluice_factory):
    """upstream_keepalive_pool_size = 2 and two bursts of four concurrent requests, 0.3 s apart:
    the second burst reuses the first burst's four connections (Kong's pool would have closed two
    and opened two more: a handshake and a TIME_WAIT each, churn at every burst above the pool
    size). Once idle for the trim delay, the excess is closed, oldest first, down to two."""
    upstream.route("/slow", U.delay(0.3))
    s = sluice_factory(kong(service("a", upstream.port, routes())),
                       {"upstream_keepalive_pool_size": "2"})
    _concurrent_gets(s, "/slow", 4)
    assert upstream.connections == 4
    time.sleep(0.3)
    assert upstream.open_connections() == 4  # the excess is still idle, within the trim delay
    _concurrent_gets(s, "/slow", 4)
    assert upstream.connections == 4, "the second burst opened connections"
    started = time.monotonic()
    assert wait_for(lambda: upstream.open_connections() == 2, 4), upstream.open_connections()
    assert time.monotonic() - started >= 0.5  # not at release: after the trim delay (1 s)
    time.sleep(0.3)
    assert upstream.open_connections() == 2


def test_head_requests_reuse_their_connections_after_a_rest(upstream, sluice_factory):
    """A HEAD response announces the GET's Content-Length and no body follows: Kong reuses its
    connection, and Sluice does too, once it has rested 250 ms (a late body from a faulty
    upstream closes it then; tests/wire/test_wire_response.py). Six HEADs at once need six
    connections; at most pool_size (4) rest, so the two that rested longest are handed on early
    (none is closed). A moment later, four HEADs at once and then a GET reuse them: no new
    connection. Once idle for the trim delay, the excess over pool_size is closed."""
    upstream.route("/h", U.delay(0.3))
    s = sluice_factory(kong(service("a", upstream.port, routes())),
                       {"upstream_keepalive_pool_size": "4"})
    _concurrent_gets(s, "/h", 6, method="HEAD")
    assert upstream.connections == 6
    time.sleep(0.1)
    assert upstream.open_connections() == 6
    time.sleep(0.3)
    _concurrent_gets(s, "/h", 4, method="HEAD")
    assert upstream.connections == 6, "rested connections were not reused"
    time.sleep(0.4)
    _concurrent_gets(s, "/g", 1)
    assert upstream.connections == 6
    assert wait_for(lambda: upstream.open_connections() == 4, 4), upstream.open_connections()


def test_head_flood_shortens_the_rest_instead_of_reconnecting(upstream, sluice_factory):
    """HEADs back to back with upstream_keepalive_pool_size = 1: each response's connection
    would rest 250 ms, but only one may rest per address, so the one resting wakes (checked
    with a peek) when the next begins to rest. Two connections carry all fifty requests, where
    closing instead would have opened fifty."""
    s = sluice_factory(kong(service("a", upstream.port, routes())),
                       {"upstream_keepalive_pool_size": "1"})
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for _ in range(50):
            c.send(b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response(head_request=True)
            assert r.status == 200 and r.header("content-length") not in (None, "0"), r
    assert upstream.connections <= 2, upstream.connections


# ---- 09-websockets_spec ----------------------------------------------------------------------


@pytest.fixture
def ws_sluice(upstream, sluice_factory):
    upstream.route("/ws", U.websocket_echo())
    return sluice_factory(kong(service("ws", upstream.port, [{"paths": ["/up-ws"],
                                                              "strip_path": True}], path="/ws")))


def test_websocket_handshake_headers(ws_sluice, upstream):
    """"returns correct headers on handshake with Kong": 101 Switching Protocols, Connection:
    upgrade, Upgrade: websocket, and the gateway's Via; the upstream got the service's path."""
    with socket.create_connection(("127.0.0.1", ws_sluice.port), timeout=T) as c:
        c.sendall(UPGRADE % ws_sluice.port)
        head = read_head(c)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), head
    assert b"\r\nConnection: upgrade\r\n" in head
    assert b"\r\nUpgrade: websocket\r\n" in head
    assert re.search(rb"\r\nVia: 1\.1 sluice/", head), head
    assert upstream.requests[0].path == "/ws"


def test_websocket_text_and_ping_pong(ws_sluice):
    """"sends and gets text with Kong" and "plays ping-pong with Kong"."""
    websocket = pytest.importorskip("websocket")
    ws = websocket.create_connection("ws://127.0.0.1:%d/up-ws" % ws_sluice.port, timeout=T)
    try:
        payload = {"message": "hello websocket"}
        ws.send(json.dumps(payload))
        op, data = ws.recv_data()
        assert op == websocket.ABNF.OPCODE_TEXT and json.loads(data) == payload
        ping = json.dumps({"message": "give me a pong"}).encode()
        ws.ping(ping)
        op, data = ws.recv_data(control_frame=True)
        assert op == websocket.ABNF.OPCODE_PONG and data == ping
        ws.send_close()
    finally:
        ws.close()


def test_upstream_frame_right_behind_the_101_reaches_the_client(sluice_factory):
    """An upstream that writes its first frame in the same packet as its 101 head: the frame is
    the tunnel's first bytes to the client, then the upstream's close ends the tunnel."""
    def h(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\n\r\n" + U.ws_frame(0x1, b"hello"))
        time.sleep(0.3)
        c.close()
    ls = raw_upstream(h)
    try:
        s = sluice_factory(kong(service("ws", ls.getsockname()[1], [{"paths": ["/up-ws"]}],
                                        retries=0)))
        out = raw("127.0.0.1", s.port, UPGRADE % s.port, timeout=T)
        head, rest = out.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101 "), head
        assert rest == U.ws_frame(0x1, b"hello")
    finally:
        ls.close()
