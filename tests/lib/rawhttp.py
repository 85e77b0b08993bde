# SPDX-License-Identifier: Apache-2.0
"""Raw HTTP/1.x client side: send exact bytes, read until close or timeout, and a small strict parser
for the responses that come back (status line, ordered headers, body framed by Content-Length,
chunked coding or connection close). Every socket has a timeout; every loop is bounded.
"""

import socket
import threading
import time


class ParseError(Exception):
    """The bytes are not a well-formed HTTP/1.x response."""


def connect(host, port, timeout=5.0, source=None):
    """A connected TCP socket; source = local IP to bind (e.g. "127.0.0.2" to act as another peer)."""
    return socket.create_connection((host, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


def raw(host, port, data, timeout=5.0, shut_wr=False, max_bytes=64 * 1024 * 1024, source=None):
    """Connects (from `source` if given), sends `data` (bytes), reads until the peer closes or
    `timeout` seconds pass in total, and returns everything received. With shut_wr the write side
    is shut down after sending."""
    s = connect(host, port, timeout, source)
    deadline = time.monotonic() + timeout
    out = bytearray()
    try:
        if data:
            s.sendall(data)
        if shut_wr:
            s.shutdown(socket.SHUT_WR)
        while len(out) < max_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return bytes(out)


class Response:
    """One parsed response. headers: list of (name, value) str pairs in wire order.
    framing: 'length', 'chunked', 'close' or 'none'. complete: the body was fully framed."""

    def __init__(self, version, status, reason, headers, body, framing, complete, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.framing = framing
        self.complete = complete
        self.raw_head = raw_head
        self.trailers = []

    def header(self, name, default=None):
        """The first value of header `name` (case-insensitive), or default."""
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def has(self, name):
        return self.header(name) is not None

    def __repr__(self):
        return "<Response %s %s %r body=%d %s%s>" % (
            self.status, self.reason, self.headers, len(self.body), self.framing,
            "" if self.complete else " INCOMPLETE")


def _parse_head(head):
    lines = head.split(b"\r\n")
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 \
            or not parts[1].isdigit():
        raise ParseError("bad status line: %r" % status_line)
    version = parts[0]
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        if not line:
            raise ParseError("empty line inside head")
        if line[:1] in (b" ", b"\t"):
            raise ParseError("obs-fold in response head: %r" % line)
        if b"\n" in line or b"\r" in line:
            raise ParseError("bare CR/LF in head: %r" % line)
        i = line.find(b":")
        if i <= 0:
            raise ParseError("header without colon: %r" % line)
        name = line[:i].decode("latin-1")
        if name != name.strip():
            raise ParseError("whitespace around header name: %r" % line)
        value = line[i + 1:].strip(b" \t").decode("latin-1")
        headers.append((name, value))
    return version, status, reason, headers


def _chunked(buf, pos):
    """Decodes a chunked body at buf[pos:]. Returns (body, end, trailers, complete)."""
    body = bytearray()
    n = len(buf)
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return bytes(body), n, [], False
        size_s = buf[pos:eol].split(b";", 1)[0].strip(b" \t")
        try:
            size = int(size_s, 16)
        except ValueError:
            raise ParseError("bad chunk size line: %r" % buf[pos:eol])
        pos = eol + 2
        if size == 0:
            trailers = []
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return bytes(body), n, trailers, False
                line = buf[pos:eol]
                pos = eol + 2
                if not line:
                    return bytes(body), pos, trailers, True
                k, _, v = line.partition(b":")
                trailers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
        if pos + size + 2 > n:
            body += buf[pos:min(n, pos + size)]
            return bytes(body), n, [], False
        body += buf[pos:pos + size]
        if buf[pos + size:pos + size + 2] != b"\r\n":
            raise ParseError("chunk data not followed by CRLF")
        pos += size + 2


def parse_response(buf, pos=0, head_request=False, eof=True):
    """Parses one response at buf[pos:]. Returns (Response, next_pos) or (None, pos) when the head
    is incomplete. With eof=True a body without length runs to the end of buf (read-until-close).
    Interim 1xx responses are returned like any other (the caller loops)."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        return None, pos
    raw_head = bytes(buf[pos:end])
    version, status, reason, headers = _parse_head(raw_head)
    p = end + 4
    lower = [(k.lower(), v) for k, v in headers]
    te = [v for k, v in lower if k == "transfer-encoding"]
    cl = [v for k, v in lower if k == "content-length"]
    if head_request or 100 <= status < 200 or status in (204, 304):
        return Response(version, status, reason, headers, b"", "none", True, raw_head), p
    if te:
        if te[-1].strip().lower().split(",")[-1].strip() != "chunked":
            body = bytes(buf[p:])
            return Response(version, status, reason, headers, body, "close", eof, raw_head), len(buf)
        if cl:
            raise ParseError("both Transfer-Encoding and Content-Length")
        body, q, trailers, complete = _chunked(buf, p)
        r = Response(version, status, reason, headers, body, "chunked", complete, raw_head)
        r.trailers = trailers
        return r, q
    if cl:
        if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
            raise ParseError("bad Content-Length: %r" % cl)
        n = int(cl[0])
        body = bytes(buf[p:p + n])
        return Response(version, status, reason, headers, body, "length", len(body) == n,
                        raw_head), p + len(body)
    body = bytes(buf[p:])
    return Response(version, status, reason, headers, body, "close", eof, raw_head), len(buf)


def parse_responses(buf, head_methods=(), skip_interim=True):
    """Parses every response in buf (a whole connection's output). head_methods: a list of booleans
    per final response telling whether its request was HEAD (default: none were).
    Returns the list of Responses (interim 1xx ones skipped unless skip_interim=False)."""
    out = []
    pos = 0
    finals = 0
    for _ in range(100000):
        if pos >= len(buf):
            break
        is_head = finals < len(head_methods) and head_methods[finals]
        r, q = parse_response(buf, pos, head_request=is_head)
        if r is None:
            raise ParseError("trailing bytes that are not a full head: %r" % bytes(buf[pos:pos + 200]))
        pos = q
        if 100 <= r.status < 200:
            if not skip_interim:
                out.append(r)
            continue
        finals += 1
        out.append(r)
        if r.framing == "close":
            break
    return out


def parse_one(buf, head_request=False):
    """The first final response in buf (skipping 1xx), raising ParseError if there is none."""
    rs = parse_responses(buf, head_methods=[head_request])
    if not rs:
        raise ParseError("no response in %r" % bytes(buf[:200]))
    return rs[0]


class RawConn:
    """A persistent raw client connection: send bytes, then read one response at a time."""

    def __init__(self, host, port, timeout=5.0, source=None):
        self.sock = connect(host, port, timeout, source)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out waiting for response bytes; have %r" % bytes(self.buf[:300]))
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out waiting for response bytes; have %r" % bytes(self.buf[:300]))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def read_response(self, head_request=False, timeout=None, interim=False):
        """Reads the next response (skipping 1xx unless interim=True). Raises TimeoutError, or
        EOFError when the connection closed before a head arrived. An incomplete body at EOF is
        returned with complete=False."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for _ in range(1000000):
            r, q = parse_response(self.buf, 0, head_request=head_request, eof=self.eof)
            if r is not None:
                done = r.complete or self.eof
                if r.framing == "close" and not self.eof:
                    done = False
                if done:
                    del self.buf[:q]
                    if 100 <= r.status < 200 and not interim:
                        continue
                    return r
            if self.eof:
                if r is None:
                    raise EOFError("connection closed; unparsed %r" % bytes(self.buf[:300]))
            self._fill(deadline)
        raise TimeoutError("too many iterations")

    def closed(self, timeout=2.0):
        """True if the peer closes (EOF or reset) within timeout with no further bytes."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            try:
                self._fill(deadline)
            except TimeoutError:
                return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def request_bytes(method="GET", target="/", host="example.test", headers=(), body=None,
                  version="HTTP/1.1"):
    """Builds a request. headers: (name, value) pairs; Content-Length is added for a body unless a
    Content-Length or Transfer-Encoding header is given."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    names = set()
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
        names.add(k.lower())
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return data + (body or b"")


def raw_upstream(handler):
    """A raw upstream for scripted misbehaviour: handler(sock) for each accepted connection, each in
    its own thread. Returns the listening socket (close it when done)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return ls


def read_head(sock):
    """Reads from <sock> until a blank line (or EOF); returns every byte read."""
    data = b""
    while b"\r\n\r\n" not in data:
        d = sock.recv(65536)
        if not d:
            break
        data += d
    return data


def read_body_len(sock, want):
    """Reads a response head, then body bytes until <want> of them or EOF. Returns (the bytes read
    up to the first body chunk, the number of body bytes)."""
    data = read_head(sock)
    body = len(data) - data.index(b"\r\n\r\n") - 4 if b"\r\n\r\n" in data else 0
    while body < want:
        d = sock.recv(1 << 20)
        if not d:
            break
        body += len(d)
    return data, body
