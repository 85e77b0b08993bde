# SPDX-License-Identifier: Apache-2.0
"""Kong's response buffering (route.response_buffering, default true; nginx proxy_buffering on;
kong.md §3.8): the upstream's response is read as fast as the upstream sends it, whatever the
client's pace. Past 64 KiB waiting in memory the bytes go to an unlinked file under
<prefix>/proxy_temp, so a slow client does not hold the upstream connection; the request ends (and
is logged) once the client has every byte. A route with response_buffering false reads the upstream
at the client's pace (backpressure). Real binary, real upstream, real sockets."""

import hashlib
import os
import socket
import threading
import time

import pytest

from lib import upstream as U
from lib.rawhttp import parse_response
from lib.sluice import kong, service, wait_until

T = 15
BIG = 8 * 1024 * 1024


def timed_response(n, done, chunked=False, chunk=65536):
    """Sends n pattern bytes (Content-Length or chunked) and sets the event `done` once the
    upstream's socket has taken the last one."""
    def h(req, conn):
        hdr = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % n
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + hdr +
                  b"\r\n\r\n")
        for piece in U.pattern_iter(n, chunk):
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            conn.send(b"0\r\n\r\n")
        done.set()
    return h


def slow_client(port, path):
    """A client that sends one request and reads nothing yet, with a small receive buffer."""
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(T)
    c.connect(("127.0.0.1", port))
    c.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
    return c


def read_all(c, leftover=b""):
    """Reads one whole response from c; returns (response, bytes after it). The buffer is parsed
    only once it may hold the whole response (parsing after every small read is quadratic)."""
    buf = bytearray(leftover)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end]).lower()
            if b"content-length:" in head:
                n = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                ready = len(buf) >= end + 4 + n
            else:
                ready = b"0\r\n\r\n" in buf[-4096:] or b"transfer-encoding" not in head
            if ready:
                r, used = parse_response(bytes(buf), eof=False)
                if r is not None and r.complete:
                    return r, bytes(buf[used:])
        d = c.recv(1 << 20)
        assert d, "closed before a whole response: %r" % bytes(buf[:200])
        buf += d


def spool_size(pid):
    """The size of the first spool file of <pid> (0 without one)."""
    for fd in os.listdir("/proc/%d/fd" % pid):
        path = "/proc/%d/fd/%s" % (pid, fd)
        try:
            if "/proxy_temp/" in os.readlink(path):
                return os.stat(path).st_size
        except OSError:
            continue
    return 0


def wait_read_whole(pid):
    """Waits until Sluice has read the whole upstream response: the upstream's socket took its
    last byte (the caller's event), and the spool stopped growing."""
    last, since = -1, time.monotonic()
    deadline = since + T
    while time.monotonic() < deadline:
        n = spool_size(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif n > 0 and time.monotonic() - since > 0.5:
            return n
        time.sleep(0.05)
    raise AssertionError("the spool kept growing or never began: %d" % last)


def spool_files(pid):
    """The descriptors of <pid> open on files under a proxy_temp directory."""
    found = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if "/proxy_temp/" in target:
            found.append(target)
    return found


@pytest.fixture
def env(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [
        {"name": "buffered", "paths": ["/b"], "strip_path": False},
        {"name": "streamed", "paths": ["/s"], "strip_path": False, "response_buffering": False},
    ])), conf={"proxy_access_log_format": "json"})
    return s, upstream


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_upstream_is_read_whole_ahead_of_a_slow_client(env, chunked):
    s, up = env
    done = threading.Event()
    up.route("/b/big", timed_response(BIG, done, chunked=chunked))
    c = slow_client(s.port, "/b/big")
    try:
        assert done.wait(T), "the upstream could not send its whole response to Sluice"
        # The bytes beyond memory sit in an unlinked file under <prefix>/proxy_temp, mode 0600.
        files = spool_files(s.pid)
        assert len(files) == 1 and files[0].endswith("(deleted)"), files
        assert files[0].startswith(os.path.join(s.prefix, "proxy_temp") + "/"), files
        assert os.stat(os.path.join(s.prefix, "proxy_temp")).st_mode & 0o777 == 0o700
        # Not logged yet: the client has not read the response.
        time.sleep(0.3)
        assert s.access_lines() == []
        r, rest = read_all(c)
    finally:
        c.close()
    assert r.status == 200 and rest == b""
    assert hashlib.sha256(r.body).hexdigest() == U.pattern_sha256(BIG)
    if chunked:
        assert r.header("transfer-encoding") == "chunked"
    else:
        assert r.header("content-length") == str(BIG)
    assert wait_until(lambda: len(s.access_lines()) == 1, T)
    line = s.access_lines()[0]
    assert '"status":200' in line and '"aborted":false' in line, line
    assert ('"body_bytes_sent":%d' % BIG) in line, line
    assert wait_until(lambda: spool_files(s.pid) == [], T), spool_files(s.pid)


def test_without_buffering_the_upstream_waits_for_the_client(env):
    s, up = env
    done = threading.Event()
    up.route("/s/big", timed_response(BIG, done))
    c = slow_client(s.port, "/s/big")
    try:
        assert not done.wait(2.0), "response_buffering false: the upstream ran ahead of the client"
        assert spool_files(s.pid) == []
        r, _ = read_all(c)
    finally:
        c.close()
    assert done.wait(T)
    assert r.status == 200 and hashlib.sha256(r.body).hexdigest() == U.pattern_sha256(BIG)


def test_upstream_connection_is_free_while_the_client_downloads(env):
    """The upstream connection goes back to the pool once the response is read, not once the
    client has it: a second request while the first client still reads nothing reuses it."""
    s, up = env
    done = threading.Event()
    up.route("/b/big", timed_response(BIG, done))
    c = slow_client(s.port, "/b/big")
    try:
        assert done.wait(T)
        wait_read_whole(s.pid)
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c2:
            c2.sendall(b"GET /b/echo HTTP/1.1\r\nHost: x\r\n\r\n")
            r2, _ = read_all(c2)
        assert r2.status == 200
        assert up.connections == 1, "the second request needed a new upstream connection"
        assert up.requests[1].conn_id == up.requests[0].conn_id
        r, _ = read_all(c)
    finally:
        c.close()
    assert hashlib.sha256(r.body).hexdigest() == U.pattern_sha256(BIG)


def test_pipelined_request_waits_behind_a_spooled_response(env):
    s, up = env
    done = threading.Event()
    up.route("/b/big", timed_response(BIG, done, chunked=True, chunk=10000))
    c = slow_client(s.port, "/b/big")
    try:
        c.sendall(b"GET /b/second HTTP/1.1\r\nHost: x\r\n\r\n")
        assert done.wait(T)
        r1, rest = read_all(c)
        r2, rest = read_all(c, rest)
    finally:
        c.close()
    assert r1.status == 200 and hashlib.sha256(r1.body).hexdigest() == U.pattern_sha256(BIG)
    assert r2.status == 200 and b'"path": "/b/second"' in r2.body
    assert rest == b""


def test_slow_reader_gets_every_byte_in_order(env):
    """A client that reads in small pieces with pauses while the spool fills and drains several
    times (each drain closes the file, the next burst opens another)."""
    s, up = env
    n = 3 * 1024 * 1024
    up.route("/b/paced", U.huge_response(n, chunked=True, pause_every=512 * 1024, pause=0.05))
    c = slow_client(s.port, "/b/paced")
    buf = b""
    try:
        while True:
            d = c.recv(100000)
            assert d
            buf += d
            r, end = parse_response(buf, eof=False)
            if r is not None and r.complete:
                break
            time.sleep(0.002)
    finally:
        c.close()
    assert r.status == 200 and hashlib.sha256(r.body).hexdigest() == U.pattern_sha256(n)


def test_no_spool_directory_falls_back_to_the_clients_pace(upstream, sluice_factory):
    """When the file cannot be made (here <prefix>/proxy_temp is a regular file), the response
    is not lost: it follows the client's pace as without buffering, and the error log says why."""
    done = threading.Event()
    upstream.route("/b/big", timed_response(BIG, done))
    s = sluice_factory(kong(service("e", upstream.port, [
        {"name": "buffered", "paths": ["/b"], "strip_path": False}])))
    s.stop()
    path = os.path.join(s.prefix, "proxy_temp")
    os.rmdir(path)
    with open(path, "w") as f:
        f.write("not a directory\n")
    s.start()
    c = slow_client(s.port, "/b/big")
    try:
        assert not done.wait(2.0)
        r, _ = read_all(c)
    finally:
        c.close()
    assert r.status == 200 and hashlib.sha256(r.body).hexdigest() == U.pattern_sha256(BIG)
    assert "cannot buffer the response in" in s.error_log()
