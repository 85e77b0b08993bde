# SPDX-License-Identifier: Apache-2.0
"""A real threaded HTTP/1.1 upstream on 127.0.0.1 for integration tests. It records every request's
raw bytes (head, body as received, decoded body) and the connection it came on, answers with an echo
of what it saw by default, and can be told to misbehave per path prefix (delay, close, raw bytes,
chunked, read-until-close, huge streamed, truncated, WebSocket echo, early 413).

Only the standard library: plain sockets and one thread per connection (http.server would hide the
raw bytes). Every socket has a timeout; every loop is bounded.
"""

import base64
import hashlib
import json
import socket
import struct
import threading
import time

MAX_HEAD = 1024 * 1024
MAX_BODY = 256 * 1024 * 1024
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Request:
    """One request as the upstream received it."""

    def __init__(self):
        self.raw_head = b""      # request line + headers, without the final CRLFCRLF
        self.method = ""
        self.target = ""         # the request-target exactly as sent
        self.version = ""
        self.headers = []        # [(name, value)] in wire order, str
        self.raw_body = b""      # body bytes as framed on the wire (chunk sizes included)
        self.body = b""          # decoded body
        self.chunked = False
        self.conn_id = 0
        self.sni = None          # the server name its TLS connection was offered (TLS upstreams)
        self.time = 0.0          # time.monotonic() when the head was complete

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    @property
    def query(self):
        return self.target.split("?", 1)[1] if "?" in self.target else None

    def header(self, name, default=None):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def header_dict(self):
        """Lower-cased names; repeated headers joined with ', '."""
        d = {}
        for k, v in self.headers:
            k = k.lower()
            d[k] = d[k] + ", " + v if k in d else v
        return d

    def __repr__(self):
        return "<Request %s %s conn=%d body=%d>" % (self.method, self.target, self.conn_id,
                                                     len(self.body))


class Conn:
    """The server side of one upstream connection, with a read buffer."""

    def __init__(self, sock, cid, timeout):
        self.sock = sock
        self.id = cid
        self.buf = bytearray()
        self.closed = False
        sock.settimeout(timeout)

    def recv_more(self):
        """Reads more bytes into buf; returns False at EOF."""
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, socket.timeout, OSError):
            chunk = b""
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_exact(self, n):
        for _ in range(1 << 30):
            if len(self.buf) >= n:
                break
            if not self.recv_more():
                raise EOFError("eof while reading %d bytes" % n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_line(self, limit=65536):
        for _ in range(1 << 30):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > limit:
                raise ValueError("line too long")
            if not self.recv_more():
                raise EOFError("eof while reading a line")

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


# ---------------------------------------------------------------- helpers for building responses


def response(status=200, headers=(), body=b"", reason=None, close=False):
    """Bytes of a complete response with Content-Length (unless headers give framing)."""
    reasons = {100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
               204: "No Content", 301: "Moved Permanently", 304: "Not Modified",
               400: "Bad Request", 404: "Not Found", 413: "Payload Too Large",
               500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    if isinstance(body, str):
        body = body.encode()
    lines = ["HTTP/1.1 %d %s" % (status, reason or reasons.get(status, "Status"))]
    names = set()
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
        names.add(k.lower())
    if status not in (204, 304) and status >= 200 and "content-length" not in names \
            and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    if close and "connection" not in names:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_BASE_BLOCK = bytes((i * 7 + 3) & 0xFF for i in range(65536))


def pattern_block(i):
    """Block i (64 KiB) of the deterministic pattern used by big bodies: each block differs, so a
    reordered or repeated block changes the digest."""
    return struct.pack(">Q", i) + _BASE_BLOCK[8:]


def pattern_iter(n, block=65536):
    """Yields the first n bytes of the pattern in pieces of at most `block` bytes (64 KiB)."""
    i = 0
    sent = 0
    while sent < n:
        b = pattern_block(i)[:min(65536, n - sent)]
        for off in range(0, len(b), block):
            yield b[off:off + block]
        sent += len(b)
        i += 1


def pattern_bytes(n):
    return b"".join(pattern_iter(n))


def pattern_sha256(n):
    h = hashlib.sha256()
    for b in pattern_iter(n):
        h.update(b)
    return h.hexdigest()


def wants_close(req):
    conn = ",".join(req.header_all("connection")).lower()
    toks = [t.strip() for t in conn.split(",")]
    if req.version == "HTTP/1.0":
        return "keep-alive" not in toks
    return "close" in toks


# ---------------------------------------------------------------- behaviours (handlers)
# A handler is called as handler(req, conn) after the request (head + body) was read and recorded.
# It writes its response with conn.send() and returns "close" to close the connection, or anything
# else to keep it open (subject to the request's own Connection semantics). A handler with the
# attribute before_body = True is called right after the head, before the body is read.


def echo_body(req):
    return json.dumps({
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "target": req.target,
        "version": req.version,
        "headers": req.header_dict(),
        "header_list": req.headers,
        "body_len": len(req.body),
        "body_sha256": hashlib.sha256(req.body).hexdigest(),
        "chunked": req.chunked,
        "conn_id": req.conn_id,
    }).encode()


def echo(req, conn):
    """200 application/json describing the request (see echo_body), with Content-Length."""
    close = wants_close(req)
    data = response(200, [("Content-Type", "application/json")], echo_body(req), close=close)
    if req.method == "HEAD":  # same head (Content-Length included), no body
        data = data[:data.index(b"\r\n\r\n") + 4]
    conn.send(data)
    return "close" if close else None


def respond(status=200, headers=(), body=b"", close=False):
    """A fixed response. A HEAD request gets the same head without the body."""
    def h(req, conn):
        data = response(status, headers, body, close=close)
        if req.method == "HEAD":
            data = data[:data.index(b"\r\n\r\n") + 4]
        conn.send(data)
        return "close" if close else None
    return h


def delay(seconds, then=echo):
    """Waits `seconds` before answering with `then` (for read timeouts)."""
    def h(req, conn):
        time.sleep(seconds)
        return then(req, conn)
    return h


def close_without_response():
    """Reads the request, then closes the connection without a byte."""
    def h(req, conn):
        return "close"
    return h


def send_raw(data, close=True):
    """Writes `data` verbatim (e.g. an invalid response), then closes unless close=False."""
    def h(req, conn):
        conn.send(data)
        return "close" if close else None
    return h


def chunked_response(n, chunk=8192, trailers=b""):
    """200 with Transfer-Encoding: chunked carrying n pattern bytes in chunks of `chunk`."""
    def h(req, conn):
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for piece in pattern_iter(n, chunk):
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n" + trailers + b"\r\n")
    return h


def until_close_response(n, status=200):
    """A response without Content-Length or chunked: n pattern bytes then close."""
    def h(req, conn):
        conn.send(b"HTTP/1.1 %d OK\r\nContent-Type: application/octet-stream\r\n"
                  b"Connection: close\r\n\r\n" % status)
        for piece in pattern_iter(n):
            conn.send(piece)
        return "close"
    return h


def huge_response(n=20 * 1024 * 1024, chunked=False, pause_every=0, pause=0.0):
    """Streams n pattern bytes (generated, never stored) with Content-Length or chunked coding.
    pause_every/pause: sleep `pause` seconds after every `pause_every` bytes (slow producer)."""
    def h(req, conn):
        hdr = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % n
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + hdr +
                  b"\r\n\r\n")
        if req.method == "HEAD":
            return None
        since = 0
        for piece in pattern_iter(n):
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            since += len(piece)
            if pause_every and since >= pause_every:
                since = 0
                time.sleep(pause)
        if chunked:
            conn.send(b"0\r\n\r\n")
    return h


def truncated_response(promised=1000, sent=500):
    """Promises Content-Length `promised`, sends `sent` bytes, then closes."""
    def h(req, conn):
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: %d\r\n\r\n" % promised + pattern_bytes(sent))
        time.sleep(0.05)
        return "close"
    return h


def early_413(pause=0.05):
    """Answers 413 right after the head, without reading the body, then closes after <pause>
    seconds. The unread body makes the close a reset; with pause=0 the answer and the reset
    reach the proxy together, so its next write of the body fails before it has read the answer."""
    def h(req, conn):
        conn.send(response(413, [("Content-Type", "text/plain")], b"too big", close=True))
        if pause:
            time.sleep(pause)
        return "close"
    h.before_body = True
    return h


def _ws_read_frame(conn):
    b0, b1 = conn.read_exact(2)
    fin = b0 & 0x80
    opcode = b0 & 0x0F
    masked = b1 & 0x80
    ln = b1 & 0x7F
    if ln == 126:
        ln = struct.unpack(">H", conn.read_exact(2))[0]
    elif ln == 127:
        ln = struct.unpack(">Q", conn.read_exact(8))[0]
    if ln > MAX_BODY:
        raise ValueError("websocket frame too large")
    key = conn.read_exact(4) if masked else None
    data = conn.read_exact(ln)
    if key:
        # XOR unmask in bulk: repeat the key and xor as big integers (fast in CPython).
        k = (key * (ln // 4 + 1))[:ln]
        data = (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(ln, "big")
    return bool(fin), opcode, data


def ws_frame(opcode, data, fin=True):
    """An unmasked (server) WebSocket frame."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(data)
    if n < 126:
        hdr = struct.pack(">BB", b0, n)
    elif n < 65536:
        hdr = struct.pack(">BBH", b0, 126, n)
    else:
        hdr = struct.pack(">BBQ", b0, 127, n)
    return hdr + data


def websocket_echo():
    """RFC 6455 handshake, then echoes every data frame (text/binary, reassembled) back; answers
    ping with pong and close with close."""
    def h(req, conn):
        key = req.header("sec-websocket-key")
        if not key or "websocket" not in (req.header("upgrade") or "").lower():
            conn.send(response(400, [], b"not a websocket handshake", close=True))
            return "close"
        accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        msg = bytearray()
        msg_op = 0
        for _ in range(100000):
            try:
                fin, op, data = _ws_read_frame(conn)
            except (EOFError, ValueError, OSError):
                break
            if op == 0x8:
                conn.send(ws_frame(0x8, data[:2]))
                break
            if op == 0x9:
                conn.send(ws_frame(0xA, data))
                continue
            if op == 0xA:
                continue
            if op != 0:
                msg_op = op
            msg += data
            if fin:
                conn.send(ws_frame(msg_op, bytes(msg)))
                msg = bytearray()
        return "close"
    return h


# ---------------------------------------------------------------- the server


class Upstream:
    """Threaded HTTP/1.1 upstream, on 127.0.0.1 and a free port unless host (another loopback
    address such as 127.0.0.2 or ::1) and port are given.

    handler: default behaviour (echo). route(prefix, handler) adds a behaviour for request paths
    starting with prefix (the longest prefix wins). Records: .requests (list of Request),
    .connections (number of accepted connections).

    tls: an ssl.SSLContext (server side) to speak HTTPS with; each connection's handshake runs in
    its thread. .sni lists the server name each handshake was offered (None: no SNI), .resumed
    whether each resumed an earlier session, and .tls_errors the handshakes that failed. A Request's .sni is its connection's."""

    def __init__(self, handler=None, send_100=True, conn_timeout=30.0, host="127.0.0.1", port=0,
                 tls=None):
        self.handler = handler or echo
        self.host = host
        self.want_port = port
        self.routes = []
        self.send_100 = send_100
        self.conn_timeout = conn_timeout
        self.requests = []
        self.connections = 0
        self.closed = 0            # connections finished (either side closed)
        self.errors = []           # exceptions raised while serving (malformed requests etc.)
        self.tls = tls
        self.sni = []              # per TLS handshake, the server name offered
        self.resumed = []          # per TLS handshake, whether it resumed an earlier session
        self.tls_errors = []       # handshakes that failed
        if tls is not None:
            tls.sni_callback = self._on_sni
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.port = None
        self._lsock = None
        self._threads = []
        self._conns = []
        self._running = False

    # -- configuration
    def route(self, prefix, handler):
        with self.lock:
            self.routes = [(p, h) for p, h in self.routes if p != prefix]
            self.routes.append((prefix, handler))
            self.routes.sort(key=lambda ph: -len(ph[0]))
        return self

    def set_handler(self, handler):
        self.handler = handler
        return self

    def _pick(self, path):
        with self.lock:
            for p, h in self.routes:
                if path.startswith(p):
                    return h
        return self.handler

    # -- lifecycle
    def start(self):
        s = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                          socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((self.host, self.want_port))
        except OSError:
            s.close()
            raise
        s.listen(1024)
        s.settimeout(0.2)
        self._lsock = s
        self.port = s.getsockname()[1]
        self._running = True
        t = threading.Thread(target=self._accept_loop, name="upstream-%d" % self.port, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._running = False
        if self._lsock is not None:
            try:
                self._lsock.close()
            except OSError:
                pass
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            c.close()
        for t in list(self._threads):
            t.join(timeout=2.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    # -- records
    def _on_sni(self, sslobj, name, ctx):
        sslobj.sni_seen = name
        return None

    def reset(self):
        with self.lock:
            self.sni = []
            self.resumed = []
            self.tls_errors = []
            self.requests = []
            self.connections = 0
            self.closed = 0
            self.errors = []

    def wait_requests(self, n, timeout=5.0):
        """Waits until at least n requests were recorded; returns the count."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return len(self.requests)

    def open_connections(self):
        with self.lock:
            return len(self._conns)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    # -- serving
    def _accept_loop(self):
        while self._running:
            try:
                s, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                cid = self.connections
                conn = Conn(s, cid, self.conn_timeout)
                self._conns.append(conn)
                # Drop finished threads so a long test does not accumulate thousands.
                self._threads = [t for t in self._threads if t.is_alive()]
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _read_head(self, conn):
        for _ in range(1 << 30):
            i = conn.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(conn.buf[:i])
                del conn.buf[:i + 4]
                return head
            if len(conn.buf) > MAX_HEAD:
                raise ValueError("request head too large")
            if not conn.recv_more():
                if conn.buf:
                    raise EOFError("eof inside a request head: %r" % bytes(conn.buf[:200]))
                return None

    def _read_body(self, conn, req):
        te = ",".join(req.header_all("transfer-encoding")).lower()
        cls = req.header_all("content-length")
        if te:
            if te.split(",")[-1].strip() != "chunked":
                raise ValueError("upstream got a non-chunked Transfer-Encoding: %r" % te)
            if cls:
                raise ValueError("upstream got both Transfer-Encoding and Content-Length")
            req.chunked = True
            raw = bytearray()
            body = bytearray()
            for _ in range(1 << 30):
                line = conn.read_line()
                raw += line + b"\r\n"
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    for _ in range(1000):
                        t = conn.read_line()
                        raw += t + b"\r\n"
                        if not t:
                            break
                    break
                if len(body) + size > MAX_BODY:
                    raise ValueError("body too large")
                data = conn.read_exact(size + 2)
                if data[-2:] != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
                raw += data
                body += data[:-2]
            req.raw_body = bytes(raw)
            req.body = bytes(body)
        elif cls:
            if len(set(v.strip() for v in cls)) != 1:
                raise ValueError("upstream got conflicting Content-Length: %r" % cls)
            n = int(cls[0])
            if n > MAX_BODY:
                raise ValueError("body too large")
            req.body = req.raw_body = conn.read_exact(n)

    def _start_tls(self, conn):
        """Wraps the connection's socket in TLS; False when the handshake failed."""
        try:
            conn.sock = self.tls.wrap_socket(conn.sock, server_side=True)
        except (OSError, ValueError) as e:
            with self.lock:
                self.tls_errors.append(e)
            return False
        with self.lock:
            self.sni.append(getattr(conn.sock, "sni_seen", None))
            self.resumed.append(conn.sock.session_reused)
        return True

    def _serve(self, conn):
        try:
            if self.tls is not None and not self._start_tls(conn):
                return
            for _ in range(1 << 30):
                head = self._read_head(conn)
                if head is None:
                    break
                req = Request()
                req.raw_head = head
                req.conn_id = conn.id
                req.sni = getattr(conn.sock, "sni_seen", None)
                req.time = time.monotonic()
                lines = head.split(b"\r\n")
                parts = lines[0].decode("latin-1").split(" ")
                if len(parts) != 3:
                    raise ValueError("bad request line %r" % lines[0])
                req.method, req.target, req.version = parts
                for line in lines[1:]:
                    k, sep, v = line.partition(b":")
                    if not sep or k != k.strip() or not k:
                        raise ValueError("bad header line %r" % line)
                    req.headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
                handler = self._pick(req.path)
                if not getattr(handler, "before_body", False):
                    if self.send_100 and (req.header("expect") or "").lower() == "100-continue":
                        conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self._read_body(conn, req)
                with self.cond:
                    self.requests.append(req)
                    self.cond.notify_all()
                r = handler(req, conn)
                if r == "close" or wants_close(req):
                    break
        except Exception as e:  # recorded for the tests to inspect; the connection just closes
            with self.lock:
                self.errors.append(e)
        finally:
            conn.close()
            with self.lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                    self.closed += 1
