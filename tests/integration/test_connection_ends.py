# SPDX-License-Identifier: Apache-2.0
"""How a client connection ends around a response (docs/internals/proxy.md "Ending a connection"):
an error in the request body after the upstream already answered, the tail of a response read
slowly past keepalive_timeout, a graceful quit while such a tail is flushing, and clients that
leave with a reset."""

import signal
import socket
import struct
import time

import pytest

from lib import upstream as U
from lib.rawhttp import read_body_len
from lib.sluice import kong, service

T = 10
BIG = 3000000  # more than the loopback socket buffers take: a tail stays in Sluice's buffer


def read_all(c, timeout=5):
    c.settimeout(timeout)
    data = b""
    try:
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            data += d
    except OSError:
        pass
    return data


def streams_at_once(req, conn):
    """Answers before reading the request body, then keeps the response open."""
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"u" * 1000)
    time.sleep(3)
    return "close"


streams_at_once.before_body = True


def slow_reader_asking_big(s):
    """A client with a small receive buffer that asked for /big and reads nothing yet."""
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", s.port))
    c.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    return c


def big_response(req, conn):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG + b"a" * BIG)


@pytest.mark.parametrize("bad", [pytest.param(b"2000\r\n" + b"a" * 0x2000 + b"\r\n", id="too-large"),
                                 pytest.param(b"zz\r\n", id="bad-chunk")])
def test_request_body_error_after_the_response_head_aborts(upstream, sluice_factory, bad):
    """The upstream answered before the body ended; then the body goes over client_max_body_size
    or breaks the chunked syntax. An error page now would land inside the response's body: the
    response is aborted instead (one head, a short body, the connection closed)."""
    upstream.route("/x", streams_at_once)
    # request_buffering false: the upstream can only answer before the body ended when it streams
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False,
                                                          "request_buffering": False}])),
                       {"client_max_body_size": "4k", "proxy_access_log_format": "json"})
    c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    try:
        c.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"
                  + b"a" * 16 + b"\r\n")
        c.settimeout(5)
        data = c.recv(65536)
        while b"\r\n\r\n" not in data:
            data += c.recv(65536)
        time.sleep(0.3)
        c.sendall(bad)
        data += read_all(c)
    finally:
        c.close()
    assert data.startswith(b"HTTP/1.1 200 ") and data.count(b"HTTP/1.1 ") == 1, data[:300]
    assert len(data) - data.index(b"\r\n\r\n") - 4 < 100000  # a short body: the client can tell
    deadline = time.monotonic() + 2
    while not s.access_lines():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert '"aborted":true' in s.access_lines()[0] and '"status":200' in s.access_lines()[0]


def test_response_tail_outlives_keepalive_timeout(upstream, sluice_factory):
    """The last bytes of a response still waiting in Sluice's buffer are governed by send_timeout,
    not keepalive_timeout: a client that pauses longer than keepalive_timeout (but well within
    send_timeout) still gets the whole body."""
    upstream.route("/big", big_response)
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}])),
                       {"keepalive_timeout": "2s", "send_timeout": "60s"})
    c = slow_reader_asking_big(s)
    try:
        time.sleep(4)
        c.settimeout(5)
        _, body = read_body_len(c, BIG)
    finally:
        c.close()
    assert body == BIG, "truncated: %d of %d body bytes" % (body, BIG)


def test_quit_while_a_response_tail_is_flushing_exits_once_it_is_read(upstream, sluice_factory):
    """A keep-alive response still flushing when QUIT arrives: once the client has read it, the
    connection is idle and closes, and Sluice exits at once (not at quit_timeout)."""
    upstream.route("/big", big_response)
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}])),
                       {"quit_timeout": "10s"})
    c = slow_reader_asking_big(s)
    try:
        time.sleep(1.5)
        s.signal(signal.SIGQUIT)
        data = read_all(c)
        t0 = time.monotonic()
        assert len(data) > BIG
        s.wait(15)
        assert time.monotonic() - t0 < 3
    finally:
        c.close()


def test_client_that_resets_is_logged_as_499(upstream, sluice_factory):
    """A client that leaves with a reset is logged like one that closes: status 499, aborted."""
    upstream.route("/", U.delay(2))
    s = sluice_factory(kong(service("u", upstream.port, [{"paths": ["/"], "strip_path": False}],
                                    retries=0)), {"proxy_access_log_format": "json"})
    for how in ("fin", "rst"):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
        c.sendall(b"GET /" + how.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        if how == "rst":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    deadline = time.monotonic() + 3
    while len(s.access_lines()) < 2:
        assert time.monotonic() < deadline, s.access_lines()
        time.sleep(0.05)
    for line in s.access_lines():
        assert '"status":499' in line and '"aborted":true' in line, line
