# SPDX-License-Identifier: Apache-2.0
"""Which timer bounds which wait (hardening.md §4, §12; nginx's upstream timers): the service's
read_timeout bounds waiting for the upstream to answer, counted once the whole request is sent, and
each wait for its next bytes; write_timeout bounds an upstream that stops taking the request;
connect_timeout each connect. A slow client is governed by the client timers (client_body_timeout,
send_timeout), never by the upstream's: an upload that keeps flowing, or a reader that pauses
within send_timeout, is served whatever read_timeout says."""

import socket
import threading
import time

from lib import upstream as U
from lib.rawhttp import RawConn, raw_upstream, read_body_len, read_head
from lib.sluice import kong, service

T = 10
MSG_504 = "The upstream server is timing out"


def routes():
    # request_buffering false: these are the timeouts of a streamed body (a buffered one is read
    # whole before the upstream is connected: tests/integration/test_request_buffering.py)
    return [{"paths": ["/"], "strip_path": False, "request_buffering": False}]


def test_slow_upload_outlasting_read_timeout_is_served(upstream, sluice_factory):
    """A body sent in pieces for 2.4 s, each gap (0.2 s) far below read_timeout (0.8 s): the upstream
    reads it all and answers. read_timeout counts from the end of the request, not its head."""
    s = sluice_factory(kong(service("u", upstream.port, routes(), retries=0, read_timeout=800)))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 12288\r\n\r\n")
        for _ in range(12):
            time.sleep(0.2)
            c.send(b"a" * 1024)
        r = c.read_response()
    assert r.status == 200, (r.status, r.body[:200], s.error_log()[-800:])
    assert b'"body_len": 12288' in r.body


def test_read_timeout_counts_from_the_last_request_byte(sluice_factory):
    """An upstream that reads the whole (slow) body and never answers: 504 read_timeout after the
    last body byte reached it, not read_timeout after the head."""
    done = []
    held = []

    def reads_all_never_answers(conn):
        held.append(conn)
        data = b""
        conn.settimeout(T)
        while not data.endswith(b"z" * 16):
            d = conn.recv(65536)
            if not d:
                return
            data += d
        done.append(time.monotonic())

    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def accept():
        c, _ = ls.accept()
        reads_all_never_answers(c)
    threading.Thread(target=accept, daemon=True).start()
    try:
        s = sluice_factory(kong(service("u", ls.getsockname()[1], routes(), retries=0,
                                        read_timeout=800)))
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1216\r\n\r\n")
            for _ in range(6):
                time.sleep(0.3)
                c.send(b"a" * 200)
            c.send(b"z" * 16)
            r = c.read_response()
            t_answer = time.monotonic()
        assert r.status == 504, (r.status, r.body[:200])
        assert r.body.startswith(MSG_504.encode())
        assert done, "the upstream never got the whole body"
        waited = t_answer - done[0]
        assert 0.6 <= waited <= 2.0, waited
    finally:
        ls.close()
        for c in held:
            c.close()


def test_upstream_that_stops_reading_the_body_is_a_504_after_write_timeout(sluice_factory):
    """An upstream that accepts and never reads while the client sends a large body: once the
    socket buffers are full, write_timeout (0.8 s) ends it with a 504 (read_timeout is 20 s), and
    Sluice stops reading the client meanwhile (bounded memory)."""
    held = []
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def accept():
        try:
            c, _ = ls.accept()
            held.append(c)
        except OSError:
            pass
    threading.Thread(target=accept, daemon=True).start()
    try:
        s = sluice_factory(kong(service("u", ls.getsockname()[1], routes(), retries=5,
                                        write_timeout=800, read_timeout=20000)))
        n = 200 * 1024 * 1024
        c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
        c.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % n)
        sent = [0]

        def pump():
            try:
                block = b"z" * 65536
                while sent[0] < n:
                    sent[0] += c.send(block)
            except OSError:
                pass
        t0 = time.monotonic()
        threading.Thread(target=pump, daemon=True).start()
        data = b""
        while b"\r\n\r\n" not in data:
            d = c.recv(65536)
            if not d:
                break
            data += d
        dt = time.monotonic() - t0
        c.close()
        assert data.startswith(b"HTTP/1.1 504 "), data[:200]
        assert dt <= 5.0, dt
        assert sent[0] < 64 * 1024 * 1024, "Sluice kept reading a body it could not forward"
        assert len(held) == 1, "a POST that was sent must not be retried"
    finally:
        ls.close()
        for h in held:
            h.close()


def test_reader_pausing_longer_than_read_timeout_gets_the_whole_body(upstream, sluice_factory):
    """A client that stops reading a large response for 3 s (send_timeout is 60 s) while the upstream
    has it all ready: the upstream is not timed out for the client's pause (read_timeout 0.8 s), and
    the client gets every byte."""
    n = 24 * 1024 * 1024
    upstream.route("/big", U.huge_response(n))
    s = sluice_factory(kong(service("u", upstream.port, routes(), retries=0, read_timeout=800)))
    c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    try:
        c.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(3)
        data, body = read_body_len(c, n)
    finally:
        c.close()
    assert data.startswith(b"HTTP/1.1 200 ")
    assert body == n, "truncated: %d of %d body bytes\n%s" % (body, n, s.error_log()[-600:])


def test_connect_timeout_to_a_full_accept_queue(sluice_factory):
    """A listener whose accept queue is full drops SYNs: each connect times out after
    connect_timeout, every attempt is made (connect timeouts are retried whatever the method: nothing
    was sent), then 504 with Kong's message, within (retries + 1) connect timeouts."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            f = socket.socket()
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(f)
        time.sleep(0.2)
        s = sluice_factory(kong(service("bh", port, routes(), retries=2, connect_timeout=400)))
        for method in (b"GET", b"POST"):
            with RawConn("127.0.0.1", s.port, timeout=T) as c:
                t0 = time.monotonic()
                c.send(b"%s / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" % method)
                r = c.read_response()
                dt = time.monotonic() - t0
            assert r.status == 504, (method, r.status)
            assert r.body.startswith(MSG_504.encode())
            assert 1.1 <= dt <= 2.5, (method, dt)
        log = s.error_log()
        assert log.count("connect() timed out while proxying POST") == 3, log[-1500:]
    finally:
        ls.close()
        for f in fillers:
            f.close()


def test_stream_pausing_longer_than_send_timeout_is_not_cut(sluice_factory):
    """A streamed response (server-sent events, long polling) whose upstream pauses 3 s between two
    chunks, within read_timeout (10 s) but longer than send_timeout (1.5 s): the client, which reads
    everything at once, is not the one waited for, so send_timeout does not apply (nginx arms it
    only for a write that does not progress). The client gets the whole stream."""
    def stream(c):
        try:
            read_head(c)
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            time.sleep(3)
            c.sendall(b"6\r\nsecond\r\n0\r\n\r\n")
            time.sleep(1)
        finally:
            c.close()
    ls = raw_upstream(stream)
    try:
        s = sluice_factory(kong(service("u", ls.getsockname()[1], routes(), retries=0,
                                        read_timeout=10000)), {"send_timeout": "1500ms"})
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
        assert r.status == 200
        assert r.body == b"firstsecond" and r.complete, (r.body, r.complete)
    finally:
        ls.close()


def test_one_way_tunnel_outlives_send_timeout(sluice_factory):
    """A WebSocket tunnel where only the client talks (each 0.4 s, for 3 s) after the 101: the
    quiet upstream-to-client direction is not a slow client (send_timeout 1 s), and the tunnel's
    idle bound (read_timeout, 2 s) is renewed by the client's traffic. The upstream then answers
    through the tunnel, which still works."""
    got = []

    def one_way(c):
        try:
            read_head(c)
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\n\r\n")
            c.settimeout(T)
            data = b""
            while not data.endswith(b"END"):
                d = c.recv(65536)
                if not d:
                    return
                data += d
            got.append(data)
            c.sendall(b"bye")
            time.sleep(1)
        except OSError:
            pass
        finally:
            c.close()
    ls = raw_upstream(one_way)
    try:
        s = sluice_factory(kong(service("u", ls.getsockname()[1], routes(), retries=0,
                                        read_timeout=2000)), {"send_timeout": "1s"})
        c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
        try:
            c.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                      b"\r\n")
            head = read_head(c)
            assert head.startswith(b"HTTP/1.1 101 "), head
            for _ in range(8):
                time.sleep(0.4)
                c.sendall(b"ping")
            c.sendall(b"END")
            data = head[head.index(b"\r\n\r\n") + 4:]
            while b"bye" not in data:
                d = c.recv(65536)
                if not d:
                    break
                data += d
        finally:
            c.close()
        assert got == [b"ping" * 8 + b"END"], got
        assert data == b"bye", data
    finally:
        ls.close()


def test_response_cut_by_send_timeout_is_logged_aborted(upstream, sluice_factory):
    """A client that stops reading a large response: send_timeout (1 s) closes its connection, and
    the request is in the access log, marked aborted with the status it had (nginx logs a request
    that send_timeout ended too)."""
    n = 24 * 1024 * 1024
    upstream.route("/big", U.huge_response(n))
    s = sluice_factory(kong(service("u", upstream.port, routes(), retries=0)),
                       {"send_timeout": "1s", "proxy_access_log_format": "json"})
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", s.port))
    try:
        c.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 6
        while not s.access_lines() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        c.close()
    lines = s.access_lines()
    assert len(lines) == 1, (lines, s.error_log()[-600:])
    assert '"aborted":true' in lines[0] and '"status":200' in lines[0], lines[0]


def test_idle_tunnel_ends_at_read_timeout_and_is_logged(sluice_factory):
    """A WebSocket tunnel where neither side says anything closes at read_timeout (1 s), and the
    request is in the access log with its 101, like a tunnel that ends any other way."""
    def silent(c):
        try:
            read_head(c)
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\n\r\n")
            c.settimeout(T)
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()
    ls = raw_upstream(silent)
    try:
        s = sluice_factory(kong(service("u", ls.getsockname()[1], routes(), retries=0,
                                        read_timeout=1000)))
        c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
        try:
            c.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"\r\n")
            head = read_head(c)
            t0 = time.monotonic()
            assert head.startswith(b"HTTP/1.1 101 "), head
            while c.recv(65536):
                pass
            dt = time.monotonic() - t0
        finally:
            c.close()
        assert 0.8 <= dt <= 2.5, dt
        deadline = time.monotonic() + 2
        while not s.access_lines() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any('"GET /ws HTTP/1.1" 101 ' in x for x in s.access_lines()), s.access_lines()
    finally:
        ls.close()
