# SPDX-License-Identifier: Apache-2.0
"""Upstream keep-alive pooling (kong.md §3.7: upstream_keepalive_pool_size, _max_requests,
_idle_timeout), safe reuse when the upstream closes, listeners and workers, client body limits."""

import json
import socket
import struct
import threading
import time

import requests

from lib import upstream as U
from lib.ports import free_port
from lib.rawhttp import RawConn, request_bytes
from lib.rawserver import RawServer
from lib.sluice import kong, port_open, service

T = 5


def _doc(up, **svc):
    return kong(service("e", up.port, [{"name": "all", "paths": ["/"], "strip_path": False}],
                        **svc))


def test_pool_size_zero_disables_upstream_keepalive(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream), {"upstream_keepalive_pool_size": "0"})
    with requests.Session() as sess:
        for i in range(10):
            assert sess.get(s.url("/n/%d" % i), timeout=T).status_code == 200
    assert upstream.connections == 10


def test_keepalive_max_requests(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream), {"upstream_keepalive_max_requests": "5"})
    with requests.Session() as sess:
        for i in range(20):
            assert sess.get(s.url("/n/%d" % i), timeout=T).status_code == 200
    assert upstream.connections == 4, upstream.connections
    per_conn = {}
    for r in upstream.requests:
        per_conn[r.conn_id] = per_conn.get(r.conn_id, 0) + 1
    assert max(per_conn.values()) <= 5


def test_keepalive_idle_timeout_closes_pooled_connection(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream), {"upstream_keepalive_idle_timeout": "1"})
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    assert upstream.open_connections() == 1
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline and upstream.open_connections() > 0:
        time.sleep(0.05)
    assert upstream.open_connections() == 0, "idle pooled connection not closed after 1 s"
    assert requests.get(s.url("/b"), timeout=T).status_code == 200
    assert upstream.connections == 2


def test_upstream_connection_close_not_reused(upstream, sluice_factory):
    upstream.route("/bye", U.respond(200, [("X-Bye", "1")], b"bye", close=True))
    s = sluice_factory(_doc(upstream, retries=0))
    with requests.Session() as sess:
        for i in range(10):
            r = sess.get(s.url("/bye" if i % 2 == 0 else "/echo"), timeout=T)
            assert r.status_code == 200, (i, r.status_code, r.text[:100])
    assert not upstream.errors, upstream.errors


def test_upstream_closes_idle_pooled_connection(upstream_factory, sluice_factory):
    # The upstream drops idle connections after 0.3 s (its keep-alive timeout), far shorter than
    # Sluice's pool idle timeout: a pooled connection that died meanwhile must not surface as an
    # error to the client, even with retries = 0.
    up = upstream_factory(conn_timeout=0.3)
    s = sluice_factory(_doc(up, retries=0))
    for i in range(4):
        r = requests.get(s.url("/r/%d" % i), timeout=T)
        assert r.status_code == 200, (i, r.status_code, r.text[:200])
        time.sleep(0.6)


def test_upstream_closes_idle_pooled_connection_post(upstream_factory, sluice_factory):
    up = upstream_factory(conn_timeout=0.3)
    s = sluice_factory(_doc(up, retries=0))
    for i in range(3):
        r = requests.post(s.url("/p/%d" % i), data=b"body", timeout=T)
        assert r.status_code == 200, (i, r.status_code, r.text[:200])
        time.sleep(0.6)


def test_upstream_body_leftover_not_reused(upstream, sluice_factory):
    # A 204 carrying bytes after its head (a broken upstream): the next request on the pooled
    # connection must not read those bytes as its response (hardening.md §1, response side).
    upstream.route("/bad204", U.send_raw(b"HTTP/1.1 204 No Content\r\n\r\n"
                                         b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled",
                                         close=False))
    s = sluice_factory(_doc(upstream, retries=0))
    with requests.Session() as sess:
        assert sess.get(s.url("/bad204"), timeout=T).status_code == 204
        r = sess.get(s.url("/next"), timeout=T)
    assert r.text != "smuggled"
    assert r.status_code in (200, 502)
    if r.status_code == 200:
        assert r.json()["path"] == "/next"


def test_two_listen_addresses(upstream, sluice_factory):
    p2 = free_port()
    s = sluice_factory(_doc(upstream), {})
    s.stop()
    s.write_conf(proxy_listen="127.0.0.1:%d, 127.0.0.1:%d" % (s.port, p2))
    s.start()
    assert requests.get("http://127.0.0.1:%d/a" % s.port, timeout=T).status_code == 200
    assert requests.get("http://127.0.0.1:%d/a" % p2, timeout=T).status_code == 200


def test_multiple_workers(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream), {"worker_processes": "2"})
    errors = []

    def client(k):
        try:
            with requests.Session() as sess:
                for i in range(100):
                    r = sess.get(s.url("/w/%d/%d" % (k, i)), timeout=T)
                    if r.status_code != 200:
                        errors.append(r.status_code)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    ts = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors[:5]
    assert len(upstream.requests) == 800


def test_worker_processes_auto(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream), {"worker_processes": "auto"})
    assert requests.get(s.url("/a"), timeout=T).status_code == 200


# ------------------------------------------------------------------------------- body size


def test_client_max_body_size(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream), {"client_max_body_size": "10k"})
    assert requests.post(s.url("/ok"), data=b"a" * 10240, timeout=T).status_code == 200
    n = len(upstream.requests)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10241\r\n\r\n")
        r = c.read_response()
        assert r.status == 413
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"POST /bigchunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               b"2000\r\n" + b"b" * 0x2000 + b"\r\n" + b"2000\r\n" + b"b" * 0x2000 + b"\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 413
    time.sleep(0.2)
    # The Content-Length case is refused before anything reaches the upstream.
    assert all(q.path != "/big" for q in upstream.requests[n:])


def test_unlimited_body_by_default(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream))
    r = requests.post(s.url("/big"), data=b"z" * (3 * 1024 * 1024), timeout=20)
    assert r.status_code == 200 and r.json()["body_len"] == 3 * 1024 * 1024


def test_get_with_body_forwarded(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/gb", body=b"hello"))
        r = c.read_response()
        assert r.status == 200 and json.loads(r.body)["body_len"] == 5
        c.send(request_bytes("GET", "/after"))
        assert json.loads(c.read_response().body)["path"] == "/after"


def test_sluice_survives_upstream_going_away(upstream_factory, sluice_factory):
    up = upstream_factory()
    s = sluice_factory(_doc(up, retries=0))
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    up.stop()
    r = requests.get(s.url("/b"), timeout=T)
    assert r.status_code == 502
    assert s.alive() and port_open(s.port)


class ResetOnReuse(RawServer):
    """A raw upstream: on each connection it answers the first request (keep-alive); a second
    request on the same connection is read whole and answered with a reset (SO_LINGER 0), as when
    the upstream closes an idle keep-alive connection just as the proxy reuses it. Records the
    request lines it received, in order."""

    def __init__(self):
        self.seen = []
        super().__init__(backlog=16)

    def _read_request(self, c, buf):
        while b"\r\n\r\n" not in buf:
            chunk = c.recv(65536)
            if not chunk:
                return None, b""
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(rest) < length:
            rest += c.recv(65536)
        self.seen.append(head.split(b"\r\n")[0].decode())
        return head, rest[length:]

    def serve(self, c, rec):
        c.settimeout(T)
        try:
            head, rest = self._read_request(c, b"")
            if head is None:
                return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nfirst")
            head, _ = self._read_request(c, rest)
            if head is not None:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


def test_stale_pooled_connection_retried_only_when_safe(sluice_factory):
    """hardening.md §12, the keep-alive reuse race: a GET that meets a pooled connection reset
    after the request was written is retried once on a new connection (even with retries = 0); a
    POST is not, since the upstream may have acted on it: 502, and the upstream saw it once."""
    up = ResetOnReuse()
    try:
        s = sluice_factory(_doc(up, retries=0))
        assert requests.get(s.url("/warm"), timeout=T).text == "first"
        r = requests.get(s.url("/get-again"), timeout=T)
        assert r.status_code == 200 and r.text == "first", (r.status_code, r.text[:200])
        assert up.seen == ["GET /warm HTTP/1.1", "GET /get-again HTTP/1.1",
                           "GET /get-again HTTP/1.1"], up.seen

        # the pooled connection is now the retry's, which served one request: the POST reuses it
        r = requests.post(s.url("/post"), data=b"pay once", timeout=T)
        assert r.status_code == 502, (r.status_code, r.text[:200])
        assert up.seen.count("POST /post HTTP/1.1") == 1, up.seen
    finally:
        up.stop()
