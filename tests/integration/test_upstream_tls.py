# SPDX-License-Identifier: Apache-2.0
"""https services: Sluice speaks TLS to the upstream, as Kong does (kong.md §1.1: protocol, tls_verify,
tls_verify_depth; the proxy location's `proxy_ssl_name $upstream_host; proxy_ssl_server_name on`).

- SNI is the Host sent upstream without its port: the service's host, or the client's with
  preserve_host; none for an IP literal.
- The certificate is not checked unless tls_verify is true (nginx's proxy_ssl_verify off, Kong's
  default); when it is, a certificate the trust store does not vouch for, or one for another name,
  fails the handshake: 502 and not a byte of the request sent.
- Connections are pooled per address, TLS settings and SNI name; a handshake per connection.
- Bodies both ways, close-delimited and truncated responses, and WebSockets work over TLS as in clear.

The upstream is lib.upstream.Upstream with a Python ssl server context (its own thread per connection),
its certificate made on the spot (lib.certs)."""

import hashlib
import os
import socket
import ssl
import threading
import time

import pytest
import requests

from lib import upstream as U
from lib.certs import self_signed
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service, wait_until

T = 10


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory):
    """(cert_path, key_path, cert_pem) of a self-signed certificate for CN=localhost."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = self_signed("localhost")
    (d / "cert.pem").write_text(cert)
    (d / "key.pem").write_text(key)
    return str(d / "cert.pem"), str(d / "key.pem"), cert


def server_ctx(cert_paths):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_paths[0], cert_paths[1])
    return ctx


@pytest.fixture
def tls_upstream(upstream_factory, localhost_cert):
    return upstream_factory(tls=server_ctx(localhost_cert))


def https_service(name, host, port, routes, **fields):
    svc = service(name, port, routes, **fields)
    svc["url"] = "https://%s:%d" % (host, port)
    return svc


def test_https_service_is_proxied_over_tls(tls_upstream, sluice_factory):
    s = sluice_factory(kong(https_service("tls", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False}])))
    r = requests.get(s.url("/hello?x=1"), headers={"Authorization": "Bearer s3cret"}, timeout=T)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["target"] == "/hello?x=1"
    assert got["headers"]["host"] == "127.0.0.1:%d" % tls_upstream.port
    assert got["headers"]["authorization"] == "Bearer s3cret"
    assert tls_upstream.sni == [None], "no SNI for an IP literal (RFC 6066 §3, as nginx)"
    assert tls_upstream.tls_errors == []


def test_sni_is_the_upstream_host_without_port(tls_upstream, sluice_factory):
    doc = kong(https_service("by-name", "localhost", tls_upstream.port,
                             [{"paths": ["/svc"]}]),
               https_service("kept", "localhost", tls_upstream.port,
                             [{"paths": ["/kept"], "preserve_host": True}]))
    s = sluice_factory(doc)
    r = requests.get(s.url("/svc"), timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["headers"]["host"] == "localhost:%d" % tls_upstream.port
    assert tls_upstream.last().sni == "localhost"
    # preserve_host: the client's Host, port dropped, is the name (Kong's $upstream_host)
    r = requests.get(s.url("/kept"), headers={"Host": "Api.Example.test:8443"}, timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["headers"]["host"] == "Api.Example.test:8443"
    assert tls_upstream.last().sni == "api.example.test"


def test_connections_are_pooled_per_sni_name(tls_upstream, sluice_factory):
    s = sluice_factory(kong(https_service("kept", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "preserve_host": True}])))
    sess = requests.Session()
    for i in range(30):
        host = "a.test" if i % 3 else "b.test"
        r = sess.get(s.url("/n/%d" % i), headers={"Host": host}, timeout=T)
        assert r.status_code == 200, r.text
        assert tls_upstream.last().sni == host, "a connection made for another name was reused"
    # one handshake per name, every other request on a pooled connection
    assert tls_upstream.connections == 2, tls_upstream.sni
    assert sorted(tls_upstream.sni) == ["a.test", "b.test"]


def test_a_new_connection_resumes_the_upstreams_last_session(tls_upstream, sluice_factory):
    """nginx's proxy_ssl_session_reuse (on by default): a new connection offers the session the
    upstream granted before, per address and SNI name, and skips the certificate exchange."""
    tls_upstream.route("/bye", U.respond(200, body=b"bye", close=True))
    s = sluice_factory(kong(https_service("kept", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False,
                                            "preserve_host": True}])))
    for i in range(3):
        r = requests.get(s.url("/bye"), headers={"Host": "a.test"}, timeout=T)
        assert r.status_code == 200 and r.content == b"bye"
        assert wait_until(lambda: tls_upstream.open_connections() == 0)
    # another name never takes a.test's session
    assert requests.get(s.url("/bye"), headers={"Host": "b.test"}, timeout=T).content == b"bye"
    assert tls_upstream.sni == ["a.test"] * 3 + ["b.test"]
    assert tls_upstream.resumed == [False, True, True, False], tls_upstream.resumed


def test_session_cache_is_bounded_and_evicts_the_oldest(tls_upstream, sluice_factory):
    """A worker keeps at most 256 sessions (SL_TLS_SESSIONS_MAX, one per address and SNI name):
    with preserve_host every client Host is a name, so 300 of them must evict, oldest first.
    The newest names still resume; the oldest three handshake in full again."""
    tls_upstream.route("/bye", U.respond(200, body=b"bye", close=True))
    s = sluice_factory(kong(https_service("kept", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False,
                                            "preserve_host": True}])))
    names = ["h%d.test" % i for i in range(300)]
    for n in names:
        assert requests.get(s.url("/bye"), headers={"Host": n}, timeout=T).status_code == 200
    assert tls_upstream.resumed[:300] == [False] * 300
    for n in names[-3:] + names[:3]:
        assert requests.get(s.url("/bye"), headers={"Host": n}, timeout=T).content == b"bye"
    assert tls_upstream.sni[-6:] == names[-3:] + names[:3]
    assert tls_upstream.resumed[-6:] == [True] * 3 + [False] * 3, tls_upstream.resumed[-6:]


def test_large_bodies_both_ways(tls_upstream, sluice_factory):
    n = 20 * 1024 * 1024
    tls_upstream.route("/huge", U.huge_response(n))
    tls_upstream.route("/chunked", U.huge_response(3 * 1024 * 1024 + 17, chunked=True))
    s = sluice_factory(kong(https_service("tls", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False}])))
    h = hashlib.sha256()
    got = 0
    with requests.get(s.url("/huge"), stream=True, timeout=T) as r:
        assert r.status_code == 200
        for chunk in r.iter_content(256 * 1024):
            h.update(chunk)
            got += len(chunk)
    assert got == n and h.hexdigest() == U.pattern_sha256(n)
    r = requests.get(s.url("/chunked"), timeout=30)
    assert r.status_code == 200 and r.content == U.pattern_bytes(3 * 1024 * 1024 + 17)
    body = os.urandom(5 * 1024 * 1024 + 3)
    r = requests.post(s.url("/upload"), data=body, timeout=30)
    assert r.status_code == 200, r.text[:300]
    assert tls_upstream.last().body == body


@pytest.mark.parametrize("buffering", [True, False])
def test_slow_client_over_tls_gets_every_byte(tls_upstream, sluice_factory, buffering):
    """A client that reads slowly stops Sluice reading the upstream (backpressure) in the middle of
    TLS records: the bytes OpenSSL already decrypted are read when the client catches up, though
    no readiness announces them."""
    n = 6 * 1024 * 1024 + 5
    tls_upstream.route("/big", U.huge_response(n))
    s = sluice_factory(kong(https_service("tls", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False,
                                            "response_buffering": buffering}])))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.settimeout(T)
    sock.connect(("127.0.0.1", s.port))
    sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = bytearray()
    reads = 0
    while True:
        chunk = sock.recv(7000)
        if not chunk:
            break
        data += chunk
        reads += 1
        if reads % 50 == 0:
            time.sleep(0.01)
    sock.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert len(body) == n and hashlib.sha256(body).hexdigest() == U.pattern_sha256(n)


@pytest.mark.parametrize("pause", [0.05, 0], ids=["answer-then-reset", "answer-with-reset"])
@pytest.mark.parametrize("buffering", [True, False])
def test_upstream_early_413_over_tls_reaches_the_client(tls_upstream, sluice_factory, buffering,
                                                         pause):
    """The upstream answers 413 from the head, without reading the body, and closes: the write
    of the body then fails, and the answer already sent must still be what the client gets.
    With no pause the answer and the reset arrive in the same poll, the write is tried first and
    fails (EPIPE), and the answer is read from OpenSSL afterwards: a failed write does not leave
    the TLS connection unable to read what the upstream sent before it closed."""
    tls_upstream.route("/early413", U.early_413(pause))
    s = sluice_factory(kong(https_service("tls", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False,
                                            "request_buffering": buffering}], retries=0)))
    body = b"y" * (4 * 1024 * 1024)
    for _ in range(5 if pause else 10):
        r = requests.post(s.url("/early413"), data=body, timeout=T)
        assert r.status_code == 413 and r.text == "too big", (r.status_code, r.text[:200])
    assert s.alive()


def test_close_delimited_and_truncated_responses(tls_upstream, sluice_factory):
    tls_upstream.route("/until-close", U.until_close_response(100000))
    tls_upstream.route("/truncated", U.truncated_response(promised=100000, sent=5000))
    s = sluice_factory(kong(https_service("tls", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False}])))
    r = requests.get(s.url("/until-close"), timeout=T)
    assert r.status_code == 200 and r.content == U.pattern_bytes(100000)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/truncated"))
        r = c.read_response()
        assert r.status == 200
        # an incomplete message and a closed connection, never a complete-looking response
        assert not r.complete, r
        assert len(r.body) < 100000
        assert c.eof or c.closed(3.0)


def test_websocket_over_tls(tls_upstream, sluice_factory):
    websocket = pytest.importorskip("websocket")
    tls_upstream.route("/ws", U.websocket_echo())
    s = sluice_factory(kong(https_service("ws", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/ws"], "strip_path": False}])))
    ws = websocket.create_connection("ws://127.0.0.1:%d/ws/echo" % s.port, timeout=T)
    try:
        payload = os.urandom(70 * 1024)
        ws.send_binary(payload)
        assert ws.recv_data()[1] == payload
        for i in range(5):
            ws.send("m%d" % i)
            assert ws.recv() == "m%d" % i
    finally:
        ws.close()


class PlainHttpServer:
    """A plain HTTP server that answers whatever it is sent with nginx's 400 for bytes that are
    not HTTP (what a ClientHello is to it), then closes. Counts connections and keeps what came."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.received = []
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                c, _ = self.lsock.accept()
            except (socket.timeout, OSError):
                continue
            with c:
                c.settimeout(2)
                try:
                    self.received.append(c.recv(65536))
                    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.lsock.close()


def test_plain_http_upstream_behind_an_https_service_is_a_502(sluice_factory):
    plain = PlainHttpServer()
    try:
        svc = https_service("tls", "127.0.0.1", plain.port, [{"paths": ["/"]}], retries=1)
        s = sluice_factory(kong(svc))
        r = requests.get(s.url("/"), headers={"Accept": "application/json",
                                              "Authorization": "Bearer s3cret"}, timeout=T)
        assert r.status_code == 502, r.text
        assert r.json()["message"] == "An invalid response was received from the upstream server"
        # a TLS ClientHello (record type 22) on each connection, never the request in clear;
        # nothing was sent, so the next attempt (service.retries) was made, as after a connect
        assert len(plain.received) == 2, plain.received
        for data in plain.received:
            assert data[:1] == b"\x16" and b"s3cret" not in data and b"GET" not in data
        assert wait_until(lambda: "TLS handshake with the upstream failed: SSL_do_handshake() "
                          "failed" in s.error_log()), s.logs()
    finally:
        plain.stop()


def test_tls_verify_refuses_a_certificate_nobody_vouches_for(tls_upstream, sluice_factory):
    doc = kong(https_service("verified", "localhost", tls_upstream.port, [{"paths": ["/v"]}],
                             tls_verify=True, retries=0),
               https_service("unverified", "localhost", tls_upstream.port, [{"paths": ["/u"]}],
                             tls_verify=False))
    s = sluice_factory(doc)
    r = requests.get(s.url("/v"), timeout=T)
    assert r.status_code == 502, r.text
    assert tls_upstream.requests == [], "a request went to an unverified server"
    assert wait_until(lambda: "upstream SSL certificate verify error: (18: self-signed certificate)"
                      in s.error_log()), s.logs()
    assert requests.get(s.url("/u"), timeout=T).status_code == 200
    assert len(tls_upstream.requests) == 1


def test_idle_pooled_tls_connection_closed_by_the_upstream_is_not_reused(tls_upstream,
                                                                         sluice_factory):
    tls_upstream.route("/bye", U.respond(200, body=b"bye", close=True))
    s = sluice_factory(kong(https_service("tls", "127.0.0.1", tls_upstream.port,
                                          [{"paths": ["/"], "strip_path": False}])))
    sess = requests.Session()
    assert sess.get(s.url("/a"), timeout=T).status_code == 200
    assert sess.get(s.url("/bye"), timeout=T).content == b"bye"
    assert wait_until(lambda: tls_upstream.open_connections() == 0)
    for i in range(3):
        assert sess.get(s.url("/b/%d" % i), timeout=T).status_code == 200
    assert tls_upstream.connections == 2
    assert "failed" not in s.error_log()


def test_upstream_that_never_answers_the_handshake_times_out_as_a_connect(sluice_factory):
    """connect_timeout bounds the handshake too (nginx's proxy_connect_timeout): 504."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)  # accepts (in the kernel) and never speaks
    try:
        port = lsock.getsockname()[1]
        s = sluice_factory(kong(https_service("mute", "127.0.0.1", port, [{"paths": ["/"]}],
                                              connect_timeout=300, retries=0)))
        r = requests.get(s.url("/"), timeout=T)
        assert r.status_code == 504, r.text
        assert r.elapsed.total_seconds() < 3
    finally:
        lsock.close()
