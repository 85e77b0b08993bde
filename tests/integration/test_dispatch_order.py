# SPDX-License-Identifier: Apache-2.0
"""A worker serves the sockets of one poll oldest-ready first (src/proxy/dispatch.c), as nginx does.
libev alone would invoke them newest first, which under load makes the request that waited longest
wait longest again and widens the latency tail (bench/README.md).

The test freezes Sluice (SIGSTOP), lets requests arrive on several client connections one after
the other, and thaws it: one poll then returns them all. With no upstream keep-alive pool, each
request is forwarded on a new upstream connection, opened as the request is served, so the order in
which the upstream accepts them is the order Sluice served them in."""

import signal
import socket
import threading
import time

from lib.rawhttp import connect
from lib.sluice import kong, service

T = 10
N = 8


class OrderUpstream:
    """Accepts one connection at a time, reads the request head, records its X-Seq header, answers
    200 and closes."""

    def __init__(self):
        self.seen = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(T)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                seq = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"x-seq":
                        seq = value.strip().decode()
                self.seen.append(seq)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self):
        self.sock.close()


def request(seq):
    return ("GET /order HTTP/1.1\r\nHost: test\r\nX-Seq: %s\r\n\r\n" % seq).encode()


def read_response(sock):
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"ok")):
        chunk = sock.recv(4096)
        assert chunk, "connection closed before the response ended: %r" % data
        data += chunk
    return data


def test_one_poll_is_served_oldest_ready_first(sluice_factory):
    up = OrderUpstream()
    try:
        s = sluice_factory(kong(service("order", up.port, [{"paths": ["/order"]}])),
                           conf={"upstream_keepalive_pool_size": "0"})
        conns = [connect("127.0.0.1", s.port, timeout=T) for _ in range(N)]
        try:
            # Every connection accepted and idle in keep-alive before the freeze.
            for i, c in enumerate(conns):
                c.sendall(request("warm-%d" % i))
                assert read_response(c).startswith(b"HTTP/1.1 200")
            up.seen.clear()

            s.signal(signal.SIGSTOP)
            try:
                for i, c in enumerate(conns):
                    c.sendall(request(str(i)))
                    time.sleep(0.02)  # a distinct arrival order in the kernel's ready list
            finally:
                s.signal(signal.SIGCONT)
            for c in conns:
                assert read_response(c).startswith(b"HTTP/1.1 200")
            assert up.seen == [str(i) for i in range(N)], \
                "served in the order %s, not in arrival order" % up.seen
        finally:
            for c in conns:
                c.close()
    finally:
        up.close()
