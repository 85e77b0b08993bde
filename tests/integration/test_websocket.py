# SPDX-License-Identifier: Apache-2.0
"""The 101 Switching Protocols tunnel (WebSocket) through the real binary, with a scripted raw
upstream: bytes sent behind the upgrade request, large transfers both ways at once, memory bounded
when the client does not read, half-close, an upgrade answered without 101 (the next bytes stay
HTTP), and an upgrade request with a body that the upstream switches on before reading it all.
(test_connections.py has the echo through a WebSocket client; test_slow_peers.py the timeouts.)"""

import socket
import threading
import time

from lib.rawhttp import parse_responses, raw_upstream, read_head
from lib.sluice import kong, service

T = 10

UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


def recv_until(sock, data, suffix):
    """Reads from <sock> after <data> until the bytes end with <suffix> (or EOF); returns them."""
    sock.settimeout(T)
    while not data.endswith(suffix):
        d = sock.recv(65536)
        if not d:
            break
        data += d
    return data


def read_until_close(sock, timeout=T):
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            data += d
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def start(sluice_factory, handler, conf=None, **fields):
    ls = raw_upstream(handler)
    fields.setdefault("retries", 0)
    s = sluice_factory(kong(service("ws", ls.getsockname()[1],
                                    [{"paths": ["/"], "strip_path": False}], **fields)), conf)
    return ls, s


def test_bytes_sent_behind_the_upgrade_request_go_through_the_tunnel(sluice_factory):
    """A client that writes its first frame right behind the upgrade request, before the 101: the
    bytes wait in Sluice and reach the upstream after the head, once it switched (nginx forwards
    its preread bytes the same way)."""
    got = []

    def h(c):
        data = read_head(c)
        time.sleep(0.3)  # the early bytes are in Sluice before the switch
        c.sendall(SWITCH)
        got.append(recv_until(c, data, b"EARLY"))
        c.sendall(b"pong")
        time.sleep(0.3)
        c.close()
    ls, s = start(sluice_factory, h)
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(UPGRADE + b"EARLY")
            out = read_until_close(c)
        assert out.startswith(b"HTTP/1.1 101 ") and out.endswith(b"\r\n\r\npong"), out
        assert len(got) == 1 and got[0].endswith(b"Upgrade: websocket\r\n\r\nEARLY"), got
    finally:
        ls.close()


def test_a_megabyte_behind_the_upgrade_with_a_large_header_buffer(sluice_factory):
    """With max_header_bytes 1m the client buffer holds up to 1m + 4k. A client that sends 1 MiB
    right behind its upgrade request had all of it appended to the upstream buffer at once after
    the 101, past that buffer's cap: the append failed and nothing more was ever forwarded (the
    upstream got 0 bytes). It must all arrive."""
    n = 1024 * 1024
    got = []

    def h(c):
        read_head(c)
        c.sendall(SWITCH)
        c.settimeout(5)
        total = 0
        try:
            while total < n:
                d = c.recv(65536)
                if not d:
                    break
                total += len(d)
        except socket.timeout:
            pass
        got.append(total)
        c.sendall(b"done")
        time.sleep(0.3)
        c.close()
    ls, s = start(sluice_factory, h, {"max_header_bytes": "1m",
                                      "large_client_header_buffers": "8k"})
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(UPGRADE + b"x" * n)
            out = read_until_close(c)
        assert got == [n], got
        assert out.endswith(b"done"), out[-200:]
    finally:
        ls.close()


def test_large_transfers_both_ways_at_once(sluice_factory):
    """8 MiB each way at the same time, each side reading while it writes: everything arrives,
    in order, with no deadlock between the two directions."""
    n = 8 * 1024 * 1024
    up_got = []

    def pattern(tag):
        return (tag * 65536)[:65536]

    def h(c):
        read_head(c)
        c.sendall(SWITCH)

        def reader():
            c.settimeout(T)
            buf = bytearray()
            try:
                while len(buf) < n:
                    d = c.recv(65536)
                    if not d:
                        break
                    buf += d
            except socket.timeout:
                pass
            up_got.append(bytes(buf))
        th = threading.Thread(target=reader)
        th.start()
        for _ in range(n // 65536):
            c.sendall(pattern(b"u"))
        th.join()
        time.sleep(0.2)
        c.close()
    ls, s = start(sluice_factory, h)
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(UPGRADE)
            down = []
            th = threading.Thread(target=lambda: down.append(read_until_close(c)))
            th.start()
            for _ in range(n // 65536):
                c.sendall(pattern(b"c"))
            th.join()
        assert up_got and up_got[0] == b"c" * n
        head, _, body = down[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        assert body == b"u" * n, len(body)
    finally:
        ls.close()


def test_a_client_that_does_not_read_bounds_the_tunnel(sluice_factory):
    """The upstream pushes as fast as it can; the client reads nothing. Sluice stops reading the
    upstream once its buffer is full: what the upstream got rid of stops growing (kernel buffers
    aside) and Sluice's memory does not grow with it."""
    sent = [0]
    stop = threading.Event()

    def h(c):
        read_head(c)
        c.sendall(SWITCH)
        c.settimeout(0.2)
        block = b"u" * 65536
        while not stop.is_set():
            try:
                sent[0] += c.send(block)
            except socket.timeout:
                continue
            except OSError:
                break
        c.close()
    ls, s = start(sluice_factory, h, read_timeout=30000)
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    try:
        c.connect(("127.0.0.1", s.port))
        c.sendall(UPGRADE)
        time.sleep(1.5)
        first, rss1 = sent[0], s.rss_kb()
        time.sleep(1.5)
        second, rss2 = sent[0], s.rss_kb()
        assert first > 0
        # Stalled: at most a little more once the kernel buffers settle, never megabytes more.
        assert second - first < 1024 * 1024, (first, second)
        assert rss2 - rss1 < 4096, (rss1, rss2)
    finally:
        stop.set()
        c.close()
        ls.close()


def test_client_half_close_ends_the_tunnel_after_its_bytes(sluice_factory):
    """The client sends its last bytes and shuts its write side: the upstream gets the bytes, then
    the end, and the request is logged with its 101 (nginx ends an upgraded connection when either
    side's EOF has been passed on)."""
    got = []

    def h(c):
        read_head(c)
        c.sendall(SWITCH)
        got.append(read_until_close(c, 5))
        c.close()
    ls, s = start(sluice_factory, h)
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(UPGRADE)
            assert read_head(c).startswith(b"HTTP/1.1 101 ")
            c.sendall(b"last words")
            c.shutdown(socket.SHUT_WR)
            read_until_close(c, 5)
        deadline = time.monotonic() + 3
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == [b"last words"], got
        assert any('"GET /ws HTTP/1.1" 101 ' in x for x in s.access_lines()), s.access_lines()
    finally:
        ls.close()


def test_upgrade_answered_426_keeps_the_connection_http(sluice_factory):
    """An upgrade the upstream refuses (426, with its own Upgrade header): the client gets the 426
    (the Upgrade header, hop-by-hop, removed), and the bytes it sent behind the upgrade request
    are read as the next HTTP request, routed and proxied as one, never tunnelled (the WebSocket
    smuggling of proxies that switch without looking at the status)."""
    heads = []

    def h(c):
        buf = b""
        c.settimeout(5)
        try:
            while True:
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    heads.append(head)
                    if head.startswith(b"GET /ws "):
                        c.sendall(b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                                  b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                  b"Content-Length: 3\r\n\r\nno\n")
                    else:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                d = c.recv(65536)
                if not d:
                    break
                buf += d
        except OSError:
            pass
        c.close()
    ls, s = start(sluice_factory, h)
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(UPGRADE + b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            out = read_until_close(c)
        rs = parse_responses(out)
        assert [r.status for r in rs] == [426, 200], out
        assert rs[0].body == b"no\n" and rs[0].header("Upgrade") is None
        assert rs[0].header("Sec-WebSocket-Version") == "13"
        assert [x.split(b"\r\n")[0] for x in heads] == [b"GET /ws HTTP/1.1", b"GET /next HTTP/1.1"]
        # The second request went out as a plain request, with Sluice's own headers.
        assert b"X-Forwarded-For: 127.0.0.1" in heads[1] and b"Upgrade:" not in heads[1]
    finally:
        ls.close()


def test_upgrade_with_a_chunked_body_switched_before_the_body_ends(sluice_factory):
    """An upgrade request with a chunked body, and an upstream that answers 101 on the head. "A
    client cannot begin using an upgraded protocol on the connection until it has completely sent
    the request message" (RFC 9110 §7.8): the rest of the body is still HTTP. Sluice re-chunks a
    body, so it must go on doing so up to the last chunk; it used to tunnel the rest raw, after a
    chunk of its own for the part already read, and the upstream got a corrupt chunked body
    ("7\\r\\n0123456\\r\\n789abcdef\\r\\n0..."). Only the bytes after the body are tunnelled."""
    got = []

    def h(c):
        data = read_head(c)
        c.sendall(SWITCH)
        got.append(recv_until(c, data, b"FRAME"))
        c.sendall(b"pong")
        time.sleep(0.3)
        c.close()
    ls, s = start(sluice_factory, h)
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(UPGRADE[:-2] + b"Transfer-Encoding: chunked\r\n\r\n10\r\n0123456")
            assert read_head(c).startswith(b"HTTP/1.1 101 ")  # switched mid-chunk
            c.sendall(b"789abcdef\r\n0\r\n\r\nFRAME")
            out = read_until_close(c)
        assert out == b"pong", out
        assert len(got) == 1
        body = got[0].split(b"\r\n\r\n", 1)[1]
        # Re-chunked as it arrived (7 then 9 bytes), closed by the last chunk, then the tunnel.
        assert body == b"7\r\n0123456\r\n9\r\n789abcdef\r\n0\r\n\r\nFRAME", body
    finally:
        ls.close()


def test_h2c_upgrade_is_not_tunnelled(sluice_factory):
    """The h2c upgrade smuggling form (hardening.md §1): Upgrade: h2c, HTTP2-Settings, Connection:
    Upgrade, HTTP2-Settings. The upstream sees a plain request (no Upgrade, no HTTP2-Settings, no
    upgrade token), and an upstream that switches anyway gets a 502 for it instead of a tunnel
    that would carry the client past the routes."""
    heads = []

    def h(c):
        heads.append(read_head(c))
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
                  b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        time.sleep(0.5)
        c.close()
    ls, s = start(sluice_factory, h)
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(b"GET /h2c HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\n"
                      b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
            out = read_until_close(c, 5)
        rs = parse_responses(out)
        assert [r.status for r in rs] == [502], out
        assert b"PRI * HTTP/2.0" not in out
        assert len(heads) == 1
        low = heads[0].lower()
        assert b"upgrade: " not in low and b"http2-settings" not in low, heads[0]
        assert b"\r\nconnection: keep-alive\r\n" in low, heads[0]
    finally:
        ls.close()
