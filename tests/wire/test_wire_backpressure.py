# SPDX-License-Identifier: Apache-2.0
"""Regression: large bodies must never stall at a buffer's high-water mark (docs/internals/proxy.md
"Buffers and backpressure").

The bug: in one round of the session's state machine the request-body pump stopped because the
upstream buffer was over its 64 KiB mark, and the flush that followed then sent the whole buffer
(the upstream had just read). Nothing moved the next body bytes: the client read was off (its
buffer full) and the upstream write watcher had nothing to wait for, so the request hung until the
client gave up. It depended on timing: about one 8 MiB POST in twenty hung, and the request test
below caught it in about two runs out of three. A second cause stayed after the first fix (about
one run in three): a partial send left the sent bytes in the upstream buffer, so the appends that
the high-water check allowed no longer fitted its cap and failed without arming any watcher
(flush_upstream now drops sent bytes at once). The same shape exists for responses (the client
flush draining the output buffer while the rest of the body already sits in the upstream buffer);
it was not seen to hang, and the response test guards that path with fewer rounds.

Each test runs its own Sluice (default limits: no body size limit) in front of the integration
suite's upstream and sends many large bodies on one keep-alive client connection; every one must
complete within a few seconds with its exact length and digest. The upstream closes after each
answer, so every body goes out on a new upstream connection, whose small initial socket buffers
make the send/drain interleaving that exposed the bug most likely."""

import hashlib
import os
import socket

import pytest

import wirelib as W
from lib.sluice import Sluice
from lib import upstream as U

ROUNDS = 48
BODY = 8 * 1024 * 1024 + 13
DEADLINE_S = 10


def echo_then_close(req, conn):
    conn.send(U.response(200, [("Content-Type", "application/json")], U.echo_body(req), close=True))
    return "close"


def big_then_close(req, conn):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % BODY)
    for piece in U.pattern_iter(BODY):
        conn.send(piece)
    return "close"


def start_stack(tmp_path, conf):
    up = U.Upstream(echo_then_close).start()
    up.route("/big", big_then_close)
    kong = {"_format_version": "3.0",
            "services": [{"name": "echo", "url": "http://127.0.0.1:%d" % up.port, "retries": 0,
                          "routes": [{"name": "all", "paths": ["/"], "strip_path": False}]}]}
    return Sluice(tmp_path, kong, conf, name="backpressure"), up


def stop_stack(sl, up):
    sl.stop()
    up.stop()
    report = sl.sanitizer_report()
    assert report is None, "sanitizer report:\n" + report[:4000]


@pytest.fixture
def stack(sluice_binary, tmp_path):
    sl, up = start_stack(tmp_path, {})
    yield sl, up
    stop_stack(sl, up)


@pytest.fixture
def big_head_stack(sluice_binary, tmp_path):
    """max_header_bytes far above the default: the client buffer holds more than one step of the
    body pump may move."""
    sl, up = start_stack(tmp_path, {"max_header_bytes": "512k"})
    yield sl, up
    stop_stack(sl, up)


def post_and_check(c, sl, i, body, chunked=False):
    if chunked:
        framed = b"".join(b"%x\r\n" % len(body[k:k + 300000]) + body[k:k + 300000] + b"\r\n"
                          for k in range(0, len(body), 300000)) + b"0\r\n\r\n"
        head = b"POST /upload/%d HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" % i
    else:
        framed = body
        head = b"POST /upload/%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (
            i, len(body))
    try:
        c.sendall(head + framed)
        r = read_response(c)
    except (socket.timeout, AssertionError) as e:
        pytest.fail("round %d: %r\n%s" % (i, e, sl.logs()))
    assert r.status == 200, r
    assert b'"body_len": %d' % len(body) in r.body, r.body[:200]
    assert hashlib.sha256(body).hexdigest().encode() in r.body


def read_response(sock, head_request=False):
    buf = b""
    while True:
        r = W.parse_response(buf, 0, head_request=head_request)
        if r is not None:
            return r[0]
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed after %d bytes: %r" % (len(buf), buf[:200])
        buf += chunk


def test_regression_large_request_bodies_never_stall(stack):
    sl, up = stack
    with socket.create_connection(("127.0.0.1", sl.port), timeout=DEADLINE_S) as c:
        for i in range(ROUNDS):
            post_and_check(c, sl, i, os.urandom(BODY))


def test_regression_body_steps_fit_with_a_large_client_buffer(big_head_stack):
    """With max_header_bytes = 512k the client buffer held up to 516 KiB of body, and the pump
    tried to queue all of it for the upstream at once, past the upstream buffer's cap: the append
    failed, nothing moved, and every large body hung (length and chunked alike)."""
    sl, up = big_head_stack
    with socket.create_connection(("127.0.0.1", sl.port), timeout=DEADLINE_S) as c:
        for i in range(4):
            post_and_check(c, sl, i, os.urandom(BODY), chunked=i % 2 == 1)


def test_regression_large_response_bodies_never_stall(stack):
    sl, up = stack
    with socket.create_connection(("127.0.0.1", sl.port), timeout=DEADLINE_S) as c:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        for i in range(ROUNDS // 6):
            c.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
            r = read_response(c)
            assert r.status == 200 and r.complete, r
            assert len(r.body) == BODY
