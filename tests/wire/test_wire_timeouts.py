# SPDX-License-Identifier: Apache-2.0
"""Slowloris and timeouts (issue #2 item 5; hardening.md §4) against the "slow" instance:
client_header_timeout = client_body_timeout = keepalive_timeout = 2 s.

- the header timeout is a total deadline for the head, not an idle timer: one byte every 0.5 s
  does not keep a connection open;
- a stalled body is answered with 408 (or the connection is closed);
- an idle keep-alive connection is closed after keepalive_timeout;
- while 100 slowloris connections are open, a normal client still gets quick 200s.
Every wait is bounded; the whole file takes about 15 s."""

import socket
import threading
import time

import wirelib as W
from wirelib import SHORT

MARGIN = 1.5


def wait_eof(c, deadline):
    """Reads until EOF or <deadline> (monotonic). Returns the time of EOF or None."""
    while time.monotonic() < deadline:
        if not c._fill(min(0.2, max(deadline - time.monotonic(), 0.001))):
            return c.eof_at or time.monotonic()
    return None


def assert_408_or_nothing(c):
    data = c.pending()
    if data:
        r = W.parse_response(c.buf, c.pos, eof=True)
        assert r is not None, data
        assert r[0].status == 408, r[0]
        assert (r[0].header("Connection") or "").lower() == "close"


def test_slowloris_header_total_deadline(slow):
    c = W.Client(slow.port, timeout=5)
    try:
        t0 = time.monotonic()
        trickle = b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 40
        closed_at = None
        for b in trickle:
            if not c.send(bytes([b])):
                break
            # 0.5 s between bytes, watching for the close meanwhile
            closed_at = wait_eof(c, time.monotonic() + 0.5)
            if closed_at is not None or time.monotonic() - t0 > SHORT + MARGIN + 1:
                break
        if closed_at is None:
            closed_at = wait_eof(c, t0 + SHORT + MARGIN)
        assert closed_at is not None, "slowloris connection still open after %.1f s" % (
            time.monotonic() - t0)
        elapsed = closed_at - t0
        assert SHORT - 0.3 <= elapsed <= SHORT + MARGIN, elapsed
        assert_408_or_nothing(c)
    finally:
        c.close()


def test_idle_connection_closed_after_header_timeout(slow):
    """No byte at all: the first request's header timeout runs from accept; plain close."""
    c = W.Client(slow.port, timeout=5)
    try:
        t0 = time.monotonic()
        closed_at = wait_eof(c, t0 + SHORT + MARGIN)
        assert closed_at is not None, "idle connection not closed"
        assert SHORT - 0.3 <= closed_at - t0 <= SHORT + MARGIN
        assert_408_or_nothing(c)
    finally:
        c.close()


def test_stalled_body_closed(slow):
    slow.S.reset()
    c = W.Client(slow.port, timeout=5)
    try:
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        t0 = time.monotonic()
        closed_at = wait_eof(c, t0 + SHORT + MARGIN)
        assert closed_at is not None, "stalled body: connection still open"
        assert closed_at - t0 >= SHORT - 0.3
        assert_408_or_nothing(c)
    finally:
        c.close()
    W.wait_idle([slow.S])
    assert slow.S.requests() == [], "an incomplete body was delivered as a complete request"


def test_keepalive_idle_closed(slow):
    c = W.Client(slow.port, timeout=5)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None and r.status == 200, r
        t0 = time.monotonic()
        closed_at = wait_eof(c, t0 + SHORT + MARGIN)
        assert closed_at is not None, "idle keep-alive connection not closed"
        assert SHORT - 0.3 <= closed_at - t0 <= SHORT + MARGIN, closed_at - t0
        assert c.pending() == b"", c.pending()
    finally:
        c.close()


def test_keepalive_then_slow_next_head(slow):
    """After a response, the next head gets its own total deadline from its first byte."""
    c = W.Client(slow.port, timeout=5)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.response()
        assert r is not None and r.status == 200
        time.sleep(0.5)
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\n")
        closed_at = None
        for _ in range(10):
            closed_at = wait_eof(c, time.monotonic() + 0.5)
            if closed_at is not None or not c.send(b"X"):
                break
        if closed_at is None:
            closed_at = wait_eof(c, t0 + SHORT + MARGIN)
        assert closed_at is not None
        assert closed_at - t0 <= SHORT + MARGIN
        assert_408_or_nothing(c)
    finally:
        c.close()


def test_hundred_slowloris_do_not_starve_a_normal_client(slow):
    n = 100
    socks = []
    opened = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", slow.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n")
            socks.append(s)
            opened.append(time.monotonic())
        stop = threading.Event()

        def trickle():
            while not stop.wait(0.5):
                for s in socks:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        latencies = []
        still_open = 0
        try:
            for _ in range(10):
                t1 = time.monotonic()
                resps, _, _, _ = W.exchange(slow.port, b"GET / HTTP/1.1\r\nHost: h\r\n"
                                            b"Connection: close\r\n\r\n", timeout=2,
                                            close_wait=0.5)
                latencies.append(time.monotonic() - t1)
                assert resps and resps[0].status == 200, resps
                time.sleep(0.1)
            # every slowloris connection is closed by its own total header deadline, although
            # it keeps sending a byte every 0.5 s
            deadline = opened[-1] + SHORT + MARGIN
            for s in socks:
                s.settimeout(0.2)
                got_eof = False
                while time.monotonic() < deadline + 0.2:
                    try:
                        if s.recv(4096) == b"":
                            got_eof = True
                            break
                    except socket.timeout:
                        continue
                    except OSError:
                        got_eof = True
                        break
                still_open += not got_eof
        finally:
            stop.set()
            t.join(2)
        assert max(latencies) < 0.5, latencies
        assert still_open == 0, "%d slowloris connections outlived the header timeout" % still_open
    finally:
        for s in socks:
            s.close()
