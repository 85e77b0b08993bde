# SPDX-License-Identifier: Apache-2.0
"""Wire-level test kit for tests/wire: a strict oracle upstream that records every byte it receives
per connection, a raw client and a strict HTTP/1.1 response reader. The Sluice process itself is
run with the shared harness (tests/lib/sluice.py).

Everything listens on 127.0.0.1 with ports chosen by the kernel; every socket has a timeout and
every loop is bounded. Only the standard library is used (Debian's /usr/bin/python3).
"""

import re
import socket
import struct
import threading
import time

# The main instance's limits (conftest.LIMITS) and the slow instance's timeouts, in the units the
# tests count in.
LINE_MAX = 1024  # large_client_header_buffers = 1k
HEAD_MAX = 4096  # max_header_bytes = 4k
HEADERS_MAX = 20  # lua_max_req_headers = 20
BODY_MAX = 1024  # client_max_body_size = 1k
SHORT = 2  # seconds: client_header_timeout = client_body_timeout = keepalive_timeout

TCHAR = set(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
HEX = set(b"0123456789abcdefABCDEF")

# ---- strict HTTP/1.1 message framing (used by the oracle on requests, by the client on responses)


class Malformed(Exception):
    """The bytes are not a well-framed HTTP/1.1 message: for the oracle this is a test failure."""


def _parse_head(head):
    """Splits a head (without the final CRLFCRLF) into its start line and (name, value) fields.
    Strict: CRLF only, no obs-fold, tchar names, no whitespace before ':', no CTL in values."""
    lines = head.split(b"\r\n")
    for line in lines:
        if b"\r" in line or b"\n" in line:
            raise Malformed("bare CR or LF in head: %r" % line)
    start, fields = lines[0], []
    for line in lines[1:]:
        if not line or line[:1] in (b" ", b"\t"):
            raise Malformed("empty line or obs-fold in head: %r" % line)
        name, sep, value = line.partition(b":")
        if not sep or not name or any(c not in TCHAR for c in name):
            raise Malformed("bad field line: %r" % line)
        value = value.strip(b" \t")
        if any((c < 0x20 and c != 0x09) or c == 0x7F for c in value):
            raise Malformed("CTL in field value: %r" % line)
        fields.append((name.decode("latin-1"), value.decode("latin-1")))
    return start, fields


def _values(fields, name):
    return [v for n, v in fields if n.lower() == name.lower()]


def _parse_chunked(buf, pos):
    """Strict chunked decoder. Returns (payload, end, had_ext, trailers) or None when incomplete."""
    payload = bytearray()
    had_ext = False
    for _ in range(1 << 16):
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if b"\n" in buf[pos:] or len(buf) - pos > 4096:
                raise Malformed("bad chunk-size line")
            return None
        line = bytes(buf[pos:eol])
        size_s, semi, _ext = line.partition(b";")
        if semi:
            had_ext = True
        if not size_s or len(size_s) > 16 or any(c not in HEX for c in size_s):
            raise Malformed("bad chunk size %r" % line)
        size = int(size_s, 16)
        pos = eol + 2
        if size == 0:
            trailers = []
            for _ in range(1024):
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                line = bytes(buf[pos:eol])
                pos = eol + 2
                if not line:
                    return bytes(payload), pos, had_ext, trailers
                trailers.append(line)
            raise Malformed("too many trailers")
        if len(buf) < pos + size + 2:
            return None
        payload += buf[pos : pos + size]
        if buf[pos + size : pos + size + 2] != b"\r\n":
            raise Malformed("chunk data not followed by CRLF")
        pos += size + 2
    raise Malformed("too many chunks")


class Request:
    """One request as the oracle framed it."""

    def __init__(self, raw_head, start, fields, raw_body, body, framing, had_ext, trailers):
        self.raw_head = raw_head  # bytes, including the final CRLFCRLF
        self.start = start
        self.fields = fields
        self.raw_body = raw_body  # bytes exactly as received (chunk framing included)
        self.body = body  # decoded payload
        self.framing = framing  # "none" | "length" | "chunked"
        self.had_ext = had_ext
        self.trailers = trailers
        parts = start.split(b" ")
        if len(parts) != 3 or not re.fullmatch(rb"HTTP/1\.[01]", parts[2]):
            raise Malformed("bad request line %r" % start)
        self.method = parts[0].decode("latin-1")
        self.target = parts[1].decode("latin-1")
        self.path = self.target.split("?", 1)[0]
        self.version = parts[2].decode()

    @property
    def raw(self):
        return self.raw_head + self.raw_body

    def header(self, name):
        v = _values(self.fields, name)
        return v[0] if v else None

    def headers(self, name):
        return _values(self.fields, name)

    def __repr__(self):
        return "<Request %s %s %s body=%r>" % (self.method, self.target, self.framing,
                                                self.body[:40])


def parse_request(buf, pos=0, max_head=256 * 1024):
    """Frames one request starting at <pos>. Returns (Request, end) or None when incomplete.
    Raises Malformed for anything a strict upstream would refuse, in particular both
    Content-Length and Transfer-Encoding, duplicate Content-Length, or a coding other than
    exactly "chunked" (the VTC server rule)."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        if len(buf) - pos > max_head:
            raise Malformed("head too long")
        return None
    raw_head = bytes(buf[pos : end + 4])
    start, fields = _parse_head(bytes(buf[pos:end]))
    te, cl = _values(fields, "transfer-encoding"), _values(fields, "content-length")
    if te and cl:
        raise Malformed("both Content-Length and Transfer-Encoding")
    if len(cl) > 1 or len(te) > 1:
        raise Malformed("repeated Content-Length or Transfer-Encoding")
    body_at = end + 4
    if te:
        if te[0].lower() != "chunked":
            raise Malformed("Transfer-Encoding %r" % te[0])
        r = _parse_chunked(buf, body_at)
        if r is None:
            return None
        payload, bend, had_ext, trailers = r
        req = Request(raw_head, start, fields, bytes(buf[body_at:bend]), payload, "chunked",
                      had_ext, trailers)
        return req, bend
    if cl:
        if not re.fullmatch(r"[0-9]+", cl[0]):
            raise Malformed("Content-Length %r" % cl[0])
        n = int(cl[0])
        if len(buf) < body_at + n:
            return None
        body = bytes(buf[body_at : body_at + n])
        return Request(raw_head, start, fields, body, body, "length", False, []), body_at + n
    return Request(raw_head, start, fields, b"", b"", "none", False, []), body_at


class Response:
    def __init__(self, status, reason, fields, body, raw, complete=True):
        self.status = status
        self.reason = reason
        self.fields = fields
        self.body = body
        self.raw = raw
        self.complete = complete  # False: the connection ended before the framed end

    def header(self, name):
        v = _values(self.fields, name)
        return v[0] if v else None

    def headers(self, name):
        return _values(self.fields, name)

    def has(self, name):
        return bool(_values(self.fields, name))

    def __repr__(self):
        return "<Response %d %r body=%r%s>" % (self.status, self.fields, self.body[:80],
                                               "" if self.complete else " INCOMPLETE")


def parse_response(buf, pos=0, head_request=False, eof=False):
    """Frames one response at <pos>. Returns (Response, end) or None when more bytes are needed.
    A close-delimited body is complete only at <eof>; a truncated length/chunked body at <eof> is
    returned with complete=False."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        return None  # at EOF the caller sees the leftover bytes with Client.pending()
    start, fields = _parse_head(bytes(buf[pos:end]))
    m = re.fullmatch(rb"HTTP/1\.([01]) ([0-9]{3})(?: (.*))?", start)
    if not m:
        raise Malformed("bad status line %r" % start)
    status = int(m.group(2))
    reason = (m.group(3) or b"").decode("latin-1")
    body_at = end + 4
    te, cl = _values(fields, "transfer-encoding"), _values(fields, "content-length")
    if te and cl:
        raise Malformed("response with both Content-Length and Transfer-Encoding")
    if len(cl) > 1 or len(te) > 1:
        raise Malformed("response with repeated framing headers")

    def mk(body, bend, complete=True):
        return Response(status, reason, fields, body, bytes(buf[pos:bend]), complete), bend

    if head_request or 100 <= status < 200 or status in (204, 304):
        return mk(b"", body_at)
    if te:
        if te[0].lower() != "chunked":
            raise Malformed("response coding %r" % te[0])
        r = _parse_chunked(buf, body_at)
        if r is None:
            return mk(bytes(buf[body_at:]), len(buf), False) if eof else None
        payload, bend, _, _ = r
        return mk(payload, bend)
    if cl:
        n = int(cl[0])
        if len(buf) < body_at + n:
            return mk(bytes(buf[body_at:]), len(buf), False) if eof else None
        return mk(bytes(buf[body_at:body_at + n]), body_at + n)
    if not eof:
        return None
    return mk(bytes(buf[body_at:]), len(buf))


# ---- the oracle upstream -----------------------------------------------------------------------

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Oracle: %s\r\n\r\nok"


class Conn:
    """Everything one upstream connection carried."""

    def __init__(self, cid):
        self.cid = cid
        self.data = bytearray()
        self.requests = []
        self.malformed = None  # reason, when the oracle could not frame the bytes
        self.eof = False  # the peer (Sluice) closed its side
        self.closed = False  # the oracle's handler is done


class Oracle:
    """A raw-socket HTTP/1.1 server on 127.0.0.1 that records the bytes of every connection, frames
    requests strictly and answers each complete one through <responder>(req, conn) → bytes or a
    list of actions: bytes to send, ("sleep", seconds), ("close",), ("reset",) (close with an RST).
    The default answers 200 "ok"
    with an X-Oracle header naming the oracle. Malformed bytes are recorded and the connection is
    closed without an answer."""

    def __init__(self, name="oracle", responder=None):
        self.name = name
        self.responder = responder or (lambda req, conn: OK_RESPONSE % name.encode())
        self.lock = threading.Lock()
        self.conns = []
        self.mark = 0  # index into conns + per-conn offsets recorded by reset()
        self.offsets = {}
        self.req_offsets = {}
        self.stop_flag = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stop_flag:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                conn = Conn(len(self.conns))
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(s, conn), daemon=True).start()

    def _serve(self, s, conn):
        s.settimeout(0.2)
        pos = 0
        deadline = time.monotonic() + 120
        try:
            while not self.stop_flag and time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    chunk = b""
                with self.lock:
                    if not chunk:
                        conn.eof = True
                        return
                    conn.data += chunk
                while conn.malformed is None:
                    try:
                        r = parse_request(conn.data, pos)
                    except Malformed as e:
                        with self.lock:
                            conn.malformed = str(e)
                        return
                    if r is None:
                        break
                    req, pos = r
                    with self.lock:
                        conn.requests.append(req)
                    if self._answer(s, req, conn) is False:
                        return
        finally:
            with self.lock:
                conn.closed = True
            try:
                s.close()
            except OSError:
                pass

    def _answer(self, s, req, conn):
        actions = self.responder(req, conn)
        if isinstance(actions, (bytes, bytearray)):
            actions = [actions]
        for a in actions:
            if isinstance(a, (bytes, bytearray)):
                try:
                    s.sendall(a)
                except OSError:
                    return False
            elif a[0] == "sleep":
                time.sleep(a[1])
            elif a[0] == "close":
                return False
            elif a[0] == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return False
        return True

    # -- observations (all relative to the last reset())

    def reset(self):
        with self.lock:
            self.mark = len(self.conns)
            self.offsets = {c.cid: len(c.data) for c in self.conns}
            self.req_offsets = {c.cid: len(c.requests) for c in self.conns}

    def _since(self):
        out = []
        for c in self.conns:
            data = bytes(c.data[self.offsets.get(c.cid, 0):])
            reqs = c.requests[self.req_offsets.get(c.cid, 0):]
            if c.cid >= self.mark or data:
                out.append((c, data, list(reqs)))
        return out

    def received(self):
        """[(conn, bytes since reset, requests since reset)] for connections with activity."""
        with self.lock:
            return self._since()

    def total_bytes(self):
        with self.lock:
            return sum(len(d) for _, d, _ in self._since())

    def new_connections(self):
        with self.lock:
            return len(self.conns) - self.mark

    def requests(self):
        with self.lock:
            return [r for _, _, reqs in self._since() for r in reqs]

    def malformed(self):
        with self.lock:
            return [(c.cid, c.malformed) for c, d, _ in self._since() if c.malformed]

    def wait_requests(self, n, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests()) >= n:
                return True
            time.sleep(0.01)
        return False

    def activity(self):
        """A snapshot that changes with every new connection, byte or EOF (see wait_idle)."""
        with self.lock:
            return (len(self.conns), sum(len(c.data) for c in self.conns),
                    sum(c.eof for c in self.conns))

    def stop(self):
        self.stop_flag = True
        try:
            self.sock.close()
        except OSError:
            pass


def wait_idle(oracles, quiet=0.03, timeout=1.0):
    """Waits until none of <oracles> saw a new connection, byte or EOF for <quiet> seconds."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        cur = [o.activity() for o in oracles]
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.01)


# ---- the raw client ----------------------------------------------------------------------------


class Client:
    """One client connection with a strict response reader."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        self.reset = False  # the connection was reset (RST) by the peer
        self.t0 = time.monotonic()
        self.eof_at = None

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _fill(self, timeout):
        """One recv with <timeout>. Returns False when nothing more can come."""
        if self.eof:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            self.reset = True
            chunk = b""
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            self.eof_at = time.monotonic()
            return False
        self.buf += chunk
        return True

    def response(self, timeout=5.0, head_request=False, skip_interim=True):
        """Reads the next response. Returns a Response, or None when the connection ended (or the
        timeout passed) without one."""
        deadline = time.monotonic() + timeout
        while True:
            r = parse_response(self.buf, self.pos, head_request=head_request, eof=self.eof)
            if r is not None:
                resp, self.pos = r
                if skip_interim and 100 <= resp.status < 200 and resp.status != 101:
                    continue
                return resp
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and r is None):
                return None
            self._fill(min(left, 0.5))

    def wait_closed(self, timeout=1.5):
        """True when the peer closes the connection within <timeout>. Bytes that arrive
        meanwhile are kept: check pending()."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._fill(min(left, 0.5))
        return True

    def pending(self):
        return bytes(self.buf[self.pos:])

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def exchange(port, data, n=1, timeout=5.0, head_request=False, close_wait=1.5):
    """Sends <data> on a fresh connection, reads up to <n> responses, then waits up to <close_wait>
    for the server to close. Returns (responses, closed, leftover bytes, client)."""
    c = Client(port, timeout=timeout)
    try:
        c.send(data)
        resps = []
        for _ in range(n):
            r = c.response(timeout=timeout, head_request=head_request)
            if r is None:
                break
            resps.append(r)
        closed = c.wait_closed(close_wait) if close_wait else c.eof
        return resps, closed, c.pending(), c
    finally:
        c.close()
