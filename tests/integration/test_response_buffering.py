# SPDX-License-Identifier: Apache-2.0
"""Kong's response buffering (route.response_buffering, default true; nginx proxy_buffering on;
kong.md §3.8): the upstream's response is read as fast as the upstream sends it, whatever the
client's pace. Past 64 KiB waiting in memory the bytes go to an unlinked file under
<prefix>/proxy_temp, so a slow client does not hold the upstream connection; the request ends (and
is logged) once the client has every byte. A route with response_buffering false reads the upstream
at the client's pace (backpressure). Real binary, real upstream, real sockets."""

import hashlib
import json
import os
import signal
import socket
import threading
import time

import pytest

from lib import tmpfs
from lib import upstream as U
from lib.rawhttp import parse_response
from lib.sluice import kong, service, wait_until

T = 15


def _tcp_buffer_max(name):
    """The largest buffer TCP autotuning may give a socket (the third field of tcp_rmem or
    tcp_wmem under /proc/sys/net/ipv4)."""
    with open("/proc/sys/net/ipv4/" + name) as f:
        return int(f.read().split()[2])


# The tests that check that the upstream is held back need a response larger than what the
# kernel alone can hold while Sluice reads nothing more: the upstream's send buffer, Sluice's
# receive buffer from the upstream and its send buffer to the client can each autotune up to the
# sysctl maximum, which is 32 MiB for tcp_rmem on recent kernels (8 MiB fitted whole there and
# the upstream finished early). At least 8 MiB.
BIG = max(8 * 1024 * 1024,
          _tcp_buffer_max("tcp_rmem") + 2 * _tcp_buffer_max("tcp_wmem") + 8 * 1024 * 1024)


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


def begin_download(s, up, path, n=BIG, chunked=False, chunk=65536):
    """Routes <path> to an n-byte pattern response (timed_response) and sends its request from a
    slow client; returns (client, event set once the upstream has sent everything)."""
    done = threading.Event()
    up.route(path, timed_response(n, done, chunked=chunked, chunk=chunk))
    return slow_client(s.port, path), done


def is_pattern(body, n=BIG):
    """The body is the n-byte pattern, whole and in order."""
    return hashlib.sha256(body).hexdigest() == U.pattern_sha256(n)


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
    c, done = begin_download(s, up, "/b/big", chunked=chunked)
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
    assert is_pattern(r.body)
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
    c, done = begin_download(s, up, "/s/big")
    try:
        assert not done.wait(2.0), "response_buffering false: the upstream ran ahead of the client"
        assert spool_files(s.pid) == []
        r, _ = read_all(c)
    finally:
        c.close()
    assert done.wait(T)
    assert r.status == 200 and is_pattern(r.body)


def test_upstream_connection_is_free_while_the_client_downloads(env):
    """The upstream connection goes back to the pool once the response is read, not once the
    client has it: a second request while the first client still reads nothing reuses it."""
    s, up = env
    c, done = begin_download(s, up, "/b/big")
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
    assert is_pattern(r.body)


def test_pipelined_request_waits_behind_a_spooled_response(env):
    s, up = env
    c, done = begin_download(s, up, "/b/big", chunked=True, chunk=10000)
    try:
        c.sendall(b"GET /b/second HTTP/1.1\r\nHost: x\r\n\r\n")
        assert done.wait(T)
        r1, rest = read_all(c)
        r2, rest = read_all(c, rest)
    finally:
        c.close()
    assert r1.status == 200 and is_pattern(r1.body)
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
    assert r.status == 200 and is_pattern(r.body, n)


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
    assert r.status == 200 and is_pattern(r.body)
    # said once for the response, not again each time the client falls 64 KiB behind
    assert s.error_log().count("cannot buffer the response in") == 1, s.error_log()[-2000:]


# ---- a full disk ------------------------------------------------------------------------------

SMALL_DISK = 1024 * 1024


@pytest.fixture
def full_disk_env(upstream, sluice_factory, tmp_path):
    """Sluice whose <prefix>/proxy_temp is a real 1 MiB filesystem (a tmpfs; root only)."""
    tmpfs.require(tmp_path)
    s = sluice_factory(kong(service("e", upstream.port, [
        {"name": "buffered", "paths": ["/b"], "strip_path": False},
    ])), conf={"proxy_access_log_format": "json"})
    with tmpfs.under_sluice(s, "proxy_temp", SMALL_DISK) as path:
        yield s, upstream, path


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_full_disk_slows_the_response_to_the_clients_pace_and_loses_nothing(full_disk_env,
                                                                          chunked):
    """An 8 MiB response read ahead of a slow client onto a 1 MiB disk: the spool fills, the
    bytes the disk cannot take wait in memory behind it, and from there the upstream is read at
    the client's pace. The client gets every byte, in order, and a clean end (nginx cuts such a
    response short when its temporary file cannot be written). Said once in the error log; the
    space comes back when the client has read the file, and the next response is spooled again."""
    s, up, disk = full_disk_env
    c, done = begin_download(s, up, "/b/big", chunked=chunked)
    try:
        assert not done.wait(2.0), "the upstream sent everything: nothing was held back"
        assert tmpfs.used(disk) >= SMALL_DISK // 2, "the spool never filled the disk"
        r, rest = read_all(c)
    finally:
        c.close()
    assert r.status == 200 and rest == b""
    assert is_pattern(r.body)
    log = s.error_log()
    assert log.count("cannot write the buffered response to") == 1, log[-2000:]
    assert "No space left on device" in log and "follows the client's pace" in log, log[-2000:]
    assert wait_until(lambda: len(s.access_lines()) == 1, T)
    line = s.access_lines()[0]
    assert '"status":200' in line and '"aborted":false' in line, line
    assert ('"body_bytes_sent":%d' % BIG) in line, line
    assert wait_until(lambda: spool_files(s.pid) == [] and tmpfs.used(disk) == 0, T), \
        (spool_files(s.pid), tmpfs.used(disk))

    n = 768 * 1024  # fits: the next response is read whole ahead of its slow client again
    c, done = begin_download(s, up, "/b/next", n=n, chunked=chunked)
    try:
        assert done.wait(T), "the space freed by the first response was not used again"
        r, _ = read_all(c)
    finally:
        c.close()
    assert r.status == 200 and is_pattern(r.body, n)
    assert s.error_log().count("cannot write the buffered response to") == 1


def test_client_gone_while_bytes_wait_behind_a_full_disk(full_disk_env):
    """The client resets its connection while bytes the disk had no room for wait in memory:
    the file and the memory are given back, the request is logged aborted, and Sluice serves on
    (under ASan the teardown's leak check covers the memory)."""
    s, up, disk = full_disk_env
    c, done = begin_download(s, up, "/b/big")
    assert not done.wait(2.0)
    assert wait_until(lambda: "cannot write the buffered response to" in s.error_log(), T)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    assert wait_until(lambda: len(s.access_lines()) == 1, T)
    assert '"aborted":true' in s.access_lines()[0], s.access_lines()[0]
    assert wait_until(lambda: spool_files(s.pid) == [] and tmpfs.used(disk) == 0, T), \
        (spool_files(s.pid), tmpfs.used(disk))
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c2:
        c2.sendall(b"GET /b/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        r, _ = read_all(c2)
    assert r.status == 200


# ---- adversarial cases ------------------------------------------------------------------------

def read_until_eof(c):
    """Reads until the connection ends; returns (bytes, "eof" or "reset")."""
    buf = bytearray()
    while True:
        try:
            d = c.recv(1 << 20)
        except ConnectionResetError:
            return bytes(buf), "reset"
        if not d:
            return bytes(buf), "eof"
        buf += d


def raw_handler(head, body_iter, tail=b"", close=True):
    """Sends head, the body pieces, then tail, and closes (unless close=False); sets .done."""
    done = threading.Event()

    def h(req, conn):
        conn.send(head)
        for piece in body_iter():
            conn.send(piece)
        if tail:
            conn.send(tail)
        done.set()
        if close:
            time.sleep(0.05)
            return "close"
        return None
    h.done = done
    return h


def test_short_content_length_after_spooling_is_not_a_clean_end(env):
    """The upstream closes short of its Content-Length after megabytes were spooled: the client
    gets every byte before the cut, then the close (a short body, never a complete message)."""
    s, up = env
    h = raw_handler(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (BIG + 1000),
                    lambda: U.pattern_iter(BIG))
    up.route("/b/short", h)
    c = slow_client(s.port, "/b/short")
    try:
        assert h.done.wait(T)
        wait_read_whole(s.pid)
        data, _ = read_until_eof(c)
    finally:
        c.close()
    _, _, body = data.partition(b"\r\n\r\n")
    assert body == U.pattern_bytes(BIG)
    assert wait_until(lambda: len(s.access_lines()) == 1, T)
    assert '"aborted":true' in s.access_lines()[0]
    assert wait_until(lambda: spool_files(s.pid) == [], T)


def test_bad_chunk_after_spooling_is_not_a_clean_end(env):
    """An invalid chunk after megabytes were spooled: no last chunk reaches the client."""
    s, up = env
    h = raw_handler(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                    lambda: (b"%x\r\n%s\r\n" % (len(p), p) for p in U.pattern_iter(BIG)),
                    tail=b"zz\r\nbroken")
    up.route("/b/badchunk", h)
    c = slow_client(s.port, "/b/badchunk")
    try:
        assert h.done.wait(T)
        wait_read_whole(s.pid)
        data, _ = read_until_eof(c)
    finally:
        c.close()
    r, _ = parse_response(data, eof=False)
    assert r is None or not r.complete
    assert not data.endswith(b"0\r\n\r\n")
    assert U.pattern_bytes(BIG)[-1000:] in data[-70000:]


def test_http10_client_until_close_upstream(env):
    """An HTTP/1.0 client and a read-until-close upstream: the spooled response is delimited by
    the close, which comes only once the spool is drained."""
    s, up = env
    up.route("/b/uc", U.until_close_response(BIG))
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(T)
    c.connect(("127.0.0.1", s.port))
    c.sendall(b"GET /b/uc HTTP/1.0\r\nHost: x\r\n\r\n")
    try:
        wait_read_whole(s.pid)
        data, how = read_until_eof(c)
    finally:
        c.close()
    _, _, body = data.partition(b"\r\n\r\n")
    assert how == "eof"
    assert is_pattern(body), len(body)
    assert wait_until(lambda: len(s.access_lines()) == 1, T)
    assert '"aborted":false' in s.access_lines()[0]


def test_client_reset_while_draining(env):
    """A client that resets while its response drains: logged aborted, the file closed."""
    s, up = env
    c, done = begin_download(s, up, "/b/big")
    assert done.wait(T)
    wait_read_whole(s.pid)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    assert wait_until(lambda: spool_files(s.pid) == [], T)
    assert wait_until(lambda: len(s.access_lines()) == 1, T)
    assert '"aborted":true' in s.access_lines()[0]


def test_client_half_close_while_draining(env):
    """shutdown(SHUT_WR) once the response is all read from the upstream: the client still gets
    all of it."""
    s, up = env
    c, done = begin_download(s, up, "/b/big")
    try:
        assert done.wait(T)
        wait_read_whole(s.pid)
        c.shutdown(socket.SHUT_WR)
        data, how = read_until_eof(c)
    finally:
        c.close()
    r, _ = parse_response(data, eof=False)
    assert r is not None and r.complete
    assert is_pattern(r.body)


def test_send_timeout_while_draining(upstream, sluice_factory):
    """A client that reads nothing: send_timeout ends it even though the upstream is done."""
    done = threading.Event()
    upstream.route("/b/big", timed_response(BIG, done))
    s = sluice_factory(kong(service("e", upstream.port, [
        {"name": "buffered", "paths": ["/b"], "strip_path": False}])),
        conf={"proxy_access_log_format": "json", "send_timeout": "1s"})
    c = slow_client(s.port, "/b/big")
    try:
        assert done.wait(T)
        assert wait_until(lambda: len(s.access_lines()) == 1, 5), "no send timeout"
        line = json.loads(s.access_lines()[0])
        assert line["aborted"] is True and line["status"] == 200, line
        # The log counts what was written to the client's socket (its receive buffer and
        # Sluice's send buffer, at most tcp_wmem's 4 MiB here), not what was read ahead of it.
        assert 0 < line["body_bytes_sent"] < BIG - 1024 * 1024, line
        assert wait_until(lambda: spool_files(s.pid) == [], T)
    finally:
        c.close()


def test_quit_while_draining(env):
    """A graceful quit lets a draining spool finish, then the connection closes and Sluice
    exits."""
    s, up = env
    c, done = begin_download(s, up, "/b/big")
    try:
        assert done.wait(T)
        wait_read_whole(s.pid)
        s.signal(signal.SIGQUIT)  # what `sluice quit` sends
        time.sleep(0.5)
        assert s.alive()
        r, rest = read_all(c)
        assert rest == b""
        assert c.recv(10) == b""
    finally:
        c.close()
    assert is_pattern(r.body)
    s.wait(T)


def test_reload_while_draining(env):
    """A reload (HUP) does not disturb a draining spool."""
    s, up = env
    c, done = begin_download(s, up, "/b/big")
    try:
        assert done.wait(T)
        wait_read_whole(s.pid)
        s.reload()
        r, _ = read_all(c)
    finally:
        c.close()
    assert is_pattern(r.body)


def test_proxy_temp_removed_while_running(env):
    """<prefix>/proxy_temp removed after start: it is made again, and the response spooled."""
    s, up = env
    os.rmdir(os.path.join(s.prefix, "proxy_temp"))
    c, done = begin_download(s, up, "/b/big")
    try:
        assert done.wait(T), "the upstream could not run ahead of the client"
        assert len(spool_files(s.pid)) == 1
        r, _ = read_all(c)
    finally:
        c.close()
    assert is_pattern(r.body)


def test_many_slow_clients(env):
    """One file per slow client at once, none left once each has its response."""
    s, up = env
    n = BIG
    up.route("/b/m", U.huge_response(n))
    cs = [slow_client(s.port, "/b/m") for _ in range(8)]
    try:
        assert wait_until(lambda: len(spool_files(s.pid)) == 8, T), len(spool_files(s.pid))
        for c in cs:
            r, _ = read_all(c)
            assert is_pattern(r.body, n)
    finally:
        for c in cs:
            c.close()
    assert wait_until(lambda: spool_files(s.pid) == [], T)


def test_pipelined_404_and_400_behind_spooled(env):
    """Pipelined requests behind a spooled response, two of them answered by Sluice itself (no
    route, an invalid request): each answer comes after the whole spooled one, in order."""
    s, up = env
    c, done = begin_download(s, up, "/b/big")
    try:
        c.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nGET /b/x HTTP/1.1\r\nHost: x\r\n\r\nBAD\x00 / HTTP/1.1\r\n\r\n")
        assert done.wait(T)
        r1, rest = read_all(c)
        r2, rest = read_all(c, rest)
        r3, rest = read_all(c, rest)
        r4, rest = read_all(c, rest)
    finally:
        c.close()
    assert is_pattern(r1.body)
    assert r2.status == 404 and r3.status == 200 and r4.status == 400


def test_head_204_304_on_buffered_route(env):
    """Bodiless responses on a buffering route: heads only, nothing behind them."""
    s, up = env
    up.route("/b/head", U.huge_response(BIG))
    up.route("/b/204", U.respond(204))
    up.route("/b/304", U.respond(304, [("ETag", '"x"')]))
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"HEAD /b/head HTTP/1.1\r\nHost: x\r\n\r\nGET /b/204 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /b/304 HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while buf.count(b"HTTP/1.1 ") < 3:
            buf += c.recv(65536)
        time.sleep(0.2)
        c.settimeout(0.3)
        try:
            extra = c.recv(65536)
        except socket.timeout:
            extra = b""
    assert b"HTTP/1.1 200" in buf and b"HTTP/1.1 204" in buf and b"HTTP/1.1 304" in buf
    assert extra == b""
    assert buf.endswith(b"\r\n\r\n"), buf


def kernel_queued(sluice_port, client_port):
    """Bytes of Sluice's connection to <client_port> the kernel holds: Sluice's send queue plus
    the client's unread receive queue (/proc/net/tcp, IPv4 loopback)."""
    total = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, remote = parts[1], parts[2]
            lport, rport = int(local.split(":")[1], 16), int(remote.split(":")[1], 16)
            tx, rx = (int(x, 16) for x in parts[4].split(":"))
            if lport == sluice_port and rport == client_port:
                total += tx
            elif lport == client_port and rport == sluice_port:
                total += rx
    return total


def test_no_spool_file_stays_open_on_an_idle_keepalive_connection(env):
    """The client is behind: the kernel's buffers are full and s->out has just passed its 64 KiB
    mark, all in memory. Then the last chunk and the trailer section come in separate pieces:
    the spool is opened for bytes that turn out to produce nothing. Once the response is out,
    the idle keep-alive connection must not keep that file open."""
    s, up = env
    state = {}
    sent = threading.Event()
    mark = 64 * 1024

    def h(req, conn):
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        time.sleep(0.2)
        head = kernel_queued(s.port, state["client_port"])
        emitted, body = head, b""
        while True:
            # what Sluice holds in memory for the client (s->out), from what it was given
            held = emitted - kernel_queued(s.port, state["client_port"])
            want = mark + 256 - held
            if held >= mark:
                break
            piece = U.pattern_bytes(min(32768, want))
            framed = b"%x\r\n%s\r\n" % (len(piece), piece)
            conn.send(framed)
            body += piece
            emitted += len(framed)
            time.sleep(0.01)
        state["body"] = body
        conn.send(b"0\r\n")
        time.sleep(0.2)
        conn.send(b"X-Sum: 1\r\n")
        sent.wait(T)
        conn.send(b"\r\n")
        return None
    up.route("/b/tr", h)
    c = slow_client(s.port, "/b/tr")
    state["client_port"] = c.getsockname()[1]
    try:
        assert wait_until(lambda: "body" in state, T)
        time.sleep(0.1)
        buf = b""
        while len(buf) < len(state["body"]):
            buf += c.recv(1 << 20)
        sent.set()
        r, rest = read_all(c, buf)
        assert r.body == state["body"] and rest == b""
        assert wait_until(lambda: len(s.access_lines()) == 1, T)
        # Idle now, in keep-alive: no file of the response is left open.
        assert wait_until(lambda: spool_files(s.pid) == [], 2), spool_files(s.pid)
        c.sendall(b"GET /b/again HTTP/1.1\r\nHost: x\r\n\r\n")
        r2, _ = read_all(c)
        assert r2.status == 200
    finally:
        c.close()
