# SPDX-License-Identifier: Apache-2.0
"""Upstream failures (kong.md §3.6-3.7): 502 on refused connections and invalid responses, 504 on
read timeouts, and which requests are retried (connect errors and idempotent methods only)."""

import socket
import time

import pytest
import requests

from lib import upstream as U
from lib.ports import closed_port
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service

T = 10
MSG_502 = "An invalid response was received from the upstream server"
MSG_504 = "The upstream server is timing out"


def test_502_when_upstream_port_closed_is_fast(sluice_factory):
    port = closed_port()
    s = sluice_factory(kong(service("dead", port, [{"paths": ["/"]}])))  # default retries = 5
    t0 = time.monotonic()
    r = requests.get(s.url("/x"), timeout=T)
    dt = time.monotonic() - t0
    assert r.status_code == 502
    assert r.json()["message"] == MSG_502
    assert r.json()["request_id"] == r.headers["X-Sluice-Request-Id"]
    assert dt < 2.0, dt


def test_502_text_plain_by_accept(sluice_factory):
    s = sluice_factory(kong(service("dead", closed_port(), [{"paths": ["/"]}], retries=0)))
    r = requests.get(s.url("/x"), headers={"Accept": "text/plain"}, timeout=T)
    assert r.status_code == 502
    assert r.text == "%s\nrequest_id: %s\n" % (MSG_502, r.headers["X-Sluice-Request-Id"])


def test_502_without_accept_is_text_plain(sluice_factory):
    # nginx-level errors default to error_default_type = text/plain when neither Accept nor
    # Content-Type is present.
    s = sluice_factory(kong(service("dead", closed_port(), [{"paths": ["/"]}], retries=0)))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
    assert r.status == 502
    assert r.header("Content-Type").startswith("text/plain")
    assert r.body.startswith(MSG_502.encode())


def test_502_on_invalid_upstream_response(upstream, sluice_factory):
    upstream.route("/garbage", U.send_raw(b"THIS IS NOT HTTP\r\n\r\n"))
    upstream.route("/badcl", U.send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                        b"Content-Length: 6\r\n\r\nhello!"))
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=0)))
    for path in ("/garbage", "/badcl"):
        r = requests.get(s.url(path), timeout=T)
        assert r.status_code == 502, (path, r.status_code, r.text[:200])
    assert s.alive()


def test_502_when_upstream_closes_without_response(upstream, sluice_factory):
    upstream.route("/close", U.close_without_response())
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=0)))
    r = requests.get(s.url("/close"), timeout=T)
    assert r.status_code == 502
    assert len(upstream.requests) == 1


def test_504_on_read_timeout(upstream, sluice_factory):
    upstream.route("/slow", U.delay(5.0))
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=0, read_timeout=500)))
    t0 = time.monotonic()
    r = requests.get(s.url("/slow"), timeout=T)
    dt = time.monotonic() - t0
    assert r.status_code == 504
    assert r.json()["message"] == MSG_504
    assert 0.4 <= dt <= 3.0, dt
    assert len(upstream.requests) == 1


def test_read_timeout_applies_between_body_bytes_only(upstream, sluice_factory):
    # A response that keeps producing bytes (every 200 ms) for longer than read_timeout is fine:
    # the timeout bounds the wait for each read, not the whole response.
    upstream.route("/trickle", U.huge_response(6 * 65536, pause_every=65536, pause=0.2))
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=0, read_timeout=600)))
    r = requests.get(s.url("/trickle"), timeout=T)
    assert r.status_code == 200
    assert r.content == U.pattern_bytes(6 * 65536)


def test_get_is_retried_post_is_not(upstream, sluice_factory):
    upstream.route("/flaky", U.close_without_response())
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=2)))
    r = requests.get(s.url("/flaky"), timeout=T)
    assert r.status_code == 502
    n_get = len(upstream.requests)
    assert n_get == 3, "GET: 1 try + 2 retries expected, upstream saw %d" % n_get
    assert all(q.method == "GET" for q in upstream.requests)

    upstream.reset()
    r = requests.post(s.url("/flaky"), data=b"payload", timeout=T)
    assert r.status_code == 502
    time.sleep(0.2)
    assert len(upstream.requests) == 1, "a POST that was sent must not be retried"


@pytest.mark.parametrize("method,tries", [("PUT", 3), ("DELETE", 3), ("HEAD", 3), ("PATCH", 1)])
def test_retry_by_idempotency(upstream, sluice_factory, method, tries):
    upstream.route("/flaky", U.close_without_response())
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=2)))
    r = requests.request(method, s.url("/flaky"), timeout=T)
    assert r.status_code == 502
    time.sleep(0.2)
    assert len(upstream.requests) == tries


def test_get_retry_succeeds_on_second_try(upstream, sluice_factory):
    seen = []

    def first_fails(req, conn):
        seen.append(req.target)
        if len(seen) == 1:
            return "close"
        return U.echo(req, conn)
    upstream.route("/once", first_fails)
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=1)))
    r = requests.get(s.url("/once"), timeout=T)
    assert r.status_code == 200
    assert len(seen) == 2


def test_timeout_is_retried_for_get(upstream, sluice_factory):
    upstream.route("/slow", U.delay(3.0))
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=1, read_timeout=300)))
    t0 = time.monotonic()
    r = requests.get(s.url("/slow"), timeout=T)
    dt = time.monotonic() - t0
    assert r.status_code == 504
    assert len(upstream.requests) == 2
    assert 0.5 <= dt <= 3.0, dt


def test_failed_upstream_keeps_client_connection(sluice_factory):
    s = sluice_factory(kong(service("dead", closed_port(), [{"paths": ["/"]}], retries=0)))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for _ in range(3):
            c.send(request_bytes("GET", "/x"))
            assert c.read_response().status == 502


def test_client_that_leaves_frees_the_upstream_connection_at_once(upstream, sluice_factory):
    """A client that closes while its request waits for a slow upstream: the upstream connection is
    closed at once (not held until read_timeout) and the request is logged with status 499, as
    nginx does. Otherwise clients that walk away keep two descriptors each busy for a minute."""
    closed_after = []

    def wait_for_eof(req, conn):
        # Answers only after 5 s, but watches the connection meanwhile: Sluice's close is an EOF.
        t0 = time.monotonic()
        conn.sock.settimeout(0.05)
        while time.monotonic() - t0 < 5:
            try:
                if conn.sock.recv(1, socket.MSG_PEEK) == b"":
                    closed_after.append(time.monotonic() - t0)
                    return "close"
            except socket.timeout:
                pass
        return U.echo(req, conn)
    upstream.route("/slow", wait_for_eof)
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=0)))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert upstream.wait_requests(1, 3)
        time.sleep(0.2)
    deadline = time.monotonic() + 3
    while not closed_after and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closed_after and closed_after[0] < 2, "upstream connection kept after the client left"
    deadline = time.monotonic() + 2
    while '"GET /slow HTTP/1.1" 499 ' not in "".join(s.access_lines()):
        assert time.monotonic() < deadline, s.access_lines()
        time.sleep(0.05)
    assert s.alive()
