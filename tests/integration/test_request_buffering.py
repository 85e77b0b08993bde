# SPDX-License-Identifier: Apache-2.0
"""Kong's request buffering (route.request_buffering, default true; nginx proxy_request_buffering
on; kong.md §3.8): the whole request body is read from the client before the upstream is connected,
kept in memory up to 64 KiB and beyond that in an unlinked file under <prefix>/client_body_temp,
then sent with Content-Length and no Transfer-Encoding (a chunked body de-chunked). A route with
request_buffering false streams as before. Real binary, real upstream, real sockets."""

import hashlib
import os
import socket
import threading
import time
import weakref

import pytest

from lib import tmpfs
from lib.rawhttp import parse_response
from lib.sluice import kong, service
from lib.upstream import Upstream, close_without_response, echo

T = 10


_leftover = weakref.WeakKeyDictionary()  # bytes read past a response, by socket (the next's)


def read_response(c, timeout=T):
    """Reads one response (lib.rawhttp's parser); returns (status, head, body). Bytes that arrive
    past it (two pipelined responses in one segment) are kept for the next call."""
    c.settimeout(timeout)
    buf = _leftover.pop(c, b"")
    while True:
        r, end = parse_response(buf, eof=False)
        if r is not None and r.complete:
            if end < len(buf):
                _leftover[c] = buf[end:]
            return r.status, r.raw_head, r.body
        d = c.recv(65536)
        if not d:
            raise EOFError("closed before a whole response: %r" % buf[:300])
        buf += d


def chunked(body, size=8192):
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\nX-Trailer: t\r\n\r\n"


def open_fds(pid):
    return sorted(os.listdir("/proc/%d/fd" % pid), key=int)


def body_files(pid):
    """The descriptors of <pid> open on files under a client_body_temp directory."""
    found = []
    for fd in open_fds(pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if "client_body_temp" in target:
            found.append((fd, target))
    return found


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.fixture
def env(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [
        {"name": "buffered", "paths": ["/b"], "strip_path": False},
        {"name": "streamed", "paths": ["/s"], "strip_path": False, "request_buffering": False},
    ])), conf={"client_max_body_size": "30m"})
    return s, upstream


@pytest.mark.parametrize("size", [10, 100000, 5 * 1024 * 1024])
def test_chunked_body_reaches_upstream_with_a_length(env, size):
    s, up = env
    body = os.urandom(size)
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /b/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunked(body))
        status, _, _ = read_response(c)
    assert status == 200
    req = up.last()
    assert req.header("Transfer-Encoding") is None
    assert req.header_all("Content-Length") == [str(size)]
    assert not req.chunked
    assert hashlib.sha256(req.body).digest() == hashlib.sha256(body).digest()


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_upstream_connected_only_after_the_last_body_byte(env, framing):
    s, up = env
    parts = [os.urandom(40000) for _ in range(4)]
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        if framing == "length":
            c.sendall(b"PUT /b/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 160001\r\n\r\n")
        else:
            c.sendall(b"POST /b/slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for p in parts:
            c.sendall(b"%x\r\n%s\r\n" % (len(p), p) if framing == "chunked" else p)
            time.sleep(0.3)
            assert up.connections == 0, "the upstream was connected before the body was complete"
        last = time.monotonic()
        c.sendall(b"0\r\n\r\n" if framing == "chunked" else b"!")
        status, _, _ = read_response(c)
    assert status == 200
    req = up.last()
    assert req.time >= last
    assert req.body == b"".join(parts) + (b"!" if framing == "length" else b"")
    assert req.header_all("Content-Length") == [str(len(req.body))]


def test_streaming_route_still_streams_chunked(env):
    s, up = env
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /s/stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n")
        assert wait_for(lambda: up.connections == 1), "a streaming route waits for nothing"
        c.sendall(b"6\r\n world\r\n0\r\n\r\n")
        status, _, _ = read_response(c)
    assert status == 200
    req = up.last()
    assert req.chunked and req.header("Content-Length") is None
    assert req.body == b"hello world"


def test_large_body_in_a_private_unlinked_file_with_bounded_memory(env):
    s, up = env
    pid = s.pid
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as warm:
        warm.sendall(b"GET /b/warm HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(warm)[0] == 200
    time.sleep(0.2)
    fds_before = open_fds(pid)
    conns_before = up.connections
    rss_before = s.rss_kb()
    size = 20 * 1024 * 1024
    block = os.urandom(1 << 20)
    peak = rss_before
    seen_files = []
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /b/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        for i in range(20):
            c.sendall(block)
            peak = max(peak, s.rss_kb())
            if i == 10:
                seen_files = body_files(pid)
                assert up.connections == conns_before
        status, _, _ = read_response(c, timeout=30)
    assert status == 200
    assert len(up.last().body) == size and up.last().body[:1 << 20] == block
    assert len(seen_files) == 1, "the body beyond 64 KiB goes to one temp file: %r" % seen_files
    fd, target = seen_files[0]
    assert target.startswith(os.path.join(s.prefix, "client_body_temp") + "/")
    assert target.endswith("(deleted)") or "#" in target, target  # unlinked (or O_TMPFILE)
    assert oct(os.stat(os.path.join(s.prefix, "client_body_temp")).st_mode & 0o777) == oct(0o700)
    assert os.listdir(os.path.join(s.prefix, "client_body_temp")) == []
    if not s.sanitized():
        assert (peak - rss_before) / 1024 < 12, "RSS grew by %.1f MB" % ((peak - rss_before) / 1024)
    assert wait_for(lambda: body_files(pid) == [])
    assert wait_for(lambda: len(open_fds(pid)) <= len(fds_before)), (fds_before, open_fds(pid))


def test_temp_file_mode_is_0600(env):
    s, up = env
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /b/mode HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                  b"x" * 200000)
        assert wait_for(lambda: body_files(s.pid) != [])
        fd, _ = body_files(s.pid)[0]
        mode = os.stat("/proc/%d/fd/%s" % (s.pid, fd)).st_mode & 0o777
        assert mode == 0o600, oct(mode)
        c.sendall(b"x" * 800000)
        assert read_response(c)[0] == 200


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_client_gone_mid_body_no_upstream_no_fd_leak(env, framing):
    s, up = env
    pid = s.pid
    time.sleep(0.2)
    fds_before = open_fds(pid)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    if framing == "length":
        c.sendall(b"POST /b/gone HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" +
                  b"y" * 1000000)
    else:
        c.sendall(b"POST /b/gone HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  b"f4240\r\n" + b"y" * 1000000 + b"\r\n")
    assert wait_for(lambda: body_files(pid) != [])
    c.close()
    assert wait_for(lambda: body_files(pid) == []), body_files(pid)
    assert wait_for(lambda: len(open_fds(pid)) <= len(fds_before)), (fds_before, open_fds(pid))
    time.sleep(0.2)
    assert up.connections == 0
    assert " 499 " in s.access_lines()[-1]


def test_body_timeout_closes_the_file(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                       conf={"client_body_timeout": "1s"})
    time.sleep(0.2)
    fds_before = open_fds(s.pid)
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n" + b"z" * 200000)
        status, _, _ = read_response(c, timeout=5)
    assert status == 408
    assert wait_for(lambda: body_files(s.pid) == [])
    assert wait_for(lambda: len(open_fds(s.pid)) <= len(fds_before))
    assert upstream.connections == 0


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_413_over_client_max_body_size_reaches_no_upstream(upstream, sluice_factory, framing):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                       conf={"client_max_body_size": "100k"})
    body = b"q" * 150000
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        if framing == "length":
            c.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        else:
            c.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            # chunks small enough that the limit is only crossed after bytes were taken in
            for i in range(0, len(body), 10000):
                try:
                    c.sendall(b"%x\r\n%s\r\n" % (10000, body[i:i + 10000]))
                except OSError:
                    break
        status, _, _ = read_response(c)
    assert status == 413
    time.sleep(0.3)
    assert upstream.connections == 0 and upstream.requests == []


def test_large_buffered_body_resent_on_retry(sluice_factory):
    """A buffered body is all in its store: an idempotent request is retried with it whatever its
    size (a streamed one over 64 KiB cannot be replayed)."""
    calls = []

    def first_fails(req, conn):
        calls.append(len(req.body))
        if len(calls) == 1:
            return close_without_response()(req, conn)
        return echo(req, conn)
    up = Upstream(first_fails).start()
    try:
        svc = service("e", up.port, [{"paths": ["/"]}])
        svc["retries"] = 2
        s = sluice_factory(kong(svc))
        body = os.urandom(500000)
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(b"PUT /r HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) +
                      body)
            status, _, _ = read_response(c)
        assert status == 200
        assert calls == [len(body), len(body)]
        assert up.requests[-1].body == body
    finally:
        up.stop()


def test_post_not_resent_after_it_was_sent(sluice_factory):
    """The retry rules stay those of a streamed request: a POST that reached the upstream is not
    sent twice."""
    up = Upstream(close_without_response()).start()
    try:
        svc = service("e", up.port, [{"paths": ["/"]}])
        svc["retries"] = 2
        s = sluice_factory(kong(svc))
        with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
            c.sendall(b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                      b"p" * 100000)
            status, _, _ = read_response(c)
        assert status == 502
        assert len(up.requests) == 1
    finally:
        up.stop()


def test_expect_continue_then_buffered(env):
    s, up = env
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /b/e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        c.settimeout(5)
        got = c.recv(100)
        assert got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert up.connections == 0
        c.sendall(b"hello")
        rest = got[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        status, _, _ = read_response(c) if not rest else (int(rest.split(b" ")[1]), None, None)
    assert status == 200
    assert up.last().body == b"hello" and up.last().header("Expect") is None


def test_keepalive_after_buffered_request(env):
    """The request after a buffered one on the same connection is served, and the upstream
    connection is pooled (the body was all queued)."""
    s, up = env
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        for i in range(3):
            body = os.urandom(100000 + i)
            c.sendall(b"POST /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      chunked(body) + b"GET /b/g HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(c)[0] == 200
            assert read_response(c)[0] == 200
            assert [r for r in up.requests if r.method == "POST"][-1].body == body
    assert up.connections == 1


# ---- a full disk ------------------------------------------------------------------------------

SMALL_DISK = 1024 * 1024


@pytest.fixture
def full_disk_env(upstream, sluice_factory, tmp_path):
    """Sluice whose <prefix>/client_body_temp is a real 1 MiB filesystem (a tmpfs; root only)."""
    tmpfs.require(tmp_path)
    s = sluice_factory(kong(service("e", upstream.port, [
        {"name": "buffered", "paths": ["/b"], "strip_path": False},
    ])), conf={"client_max_body_size": "30m"})
    with tmpfs.under_sluice(s, "client_body_temp", SMALL_DISK) as path:
        yield s, upstream, path


def send_quietly(c, data):
    """Sends <data> from a thread, stopping quietly when Sluice closes first."""
    def run():
        try:
            c.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_body_larger_than_the_free_disk_gets_500_and_reaches_no_upstream(full_disk_env):
    """A 4 MiB body for a 1 MiB disk: the write fails, the client gets Kong's 500 (as nginx
    answers when it cannot write its client_body_temp file), the upstream sees nothing, the
    error log says why, and the file and its space are given back at once. A body that fits is
    buffered and sent whole afterwards."""
    s, up, disk = full_disk_env
    size = 4 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /b/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        t = send_quietly(c, os.urandom(size))
        status, head, body = read_response(c)
        t.join(T)
    assert status == 500, (head, body)
    assert b"An unexpected error occurred" in body, body
    assert up.requests == [], "a body that could not be buffered reached the upstream"
    log = s.error_log()
    assert "cannot buffer the request body in" in log and "No space left on device" in log, \
        log[-2000:]
    assert wait_for(lambda: body_files(s.pid) == [] and tmpfs.used(disk) == 0), \
        (body_files(s.pid), tmpfs.used(disk))

    fits = os.urandom(512 * 1024)
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"POST /b/fits HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                  % len(fits) + fits)
        status, _, _ = read_response(c)
    assert status == 200
    assert up.last().body == fits
