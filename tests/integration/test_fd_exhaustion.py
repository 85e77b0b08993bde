# SPDX-License-Identifier: Apache-2.0
"""Many connections (hardening.md §15). Out of file descriptors (EMFILE): when accept() fails for want of a
descriptor, the proxy's workers and the Admin server pause their listeners for 500 ms (as nginx
does) instead of retrying at once. The connection still waiting keeps the listener readable, so
retrying at once spun a core at 100% and wrote the error line hundreds of thousands of times a
second. Service resumes by itself once descriptors are free again."""

import os
import socket
import time

import pytest

from lib.sluice import kong, open_files, service

T = 10
FD_LIMIT = 64     # Sluice's RLIMIT_NOFILE in this test (set with prlimit once it runs)
CLIENTS = 100     # more than it can hold


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_accept_backs_off_when_out_of_descriptors(upstream, sluice_factory):
    s = sluice_factory(kong(service("echo", upstream.port, [{"paths": ["/"]}])),
                       conf={"admin_listen": "auto"})
    s.set_open_files(FD_LIMIT)
    conns = []
    try:
        for _ in range(CLIENTS):  # the kernel completes them all; Sluice can accept ~50
            conns.append(socket.create_connection(("127.0.0.1", s.port), timeout=T))
        time.sleep(0.5)
        assert "accept() failed: Too many open files" in s.error_log()
        # the Admin listener meets the same shortage
        admin = socket.create_connection(("127.0.0.1", s.admin_port), timeout=T)
        conns.append(admin)
        time.sleep(0.3)
        lines_before = s.error_log().count("accept() failed")
        cpu_before = cpu_seconds(s.pid)
        time.sleep(2)
        cpu_used = cpu_seconds(s.pid) - cpu_before
        lines = s.error_log().count("accept() failed") - lines_before
        assert cpu_used < 0.5, "%.2f s of CPU in 2 s while out of descriptors" % cpu_used
        # one line per listener and pause: 2 s / 500 ms, for the proxy and the Admin listener
        assert 1 <= lines <= 16, lines
        assert "admin: accept() failed: Too many open files" in s.error_log()

        # Free descriptors: the connections left in the backlog are accepted and served.
        for c in conns[:60]:
            c.close()
        del conns[:60]
        time.sleep(1.0)
        last = conns[-2]  # the last proxy client, queued in the backlog until now
        last.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        last.settimeout(T)
        assert last.recv(100).startswith(b"HTTP/1.1 200"), "not served after descriptors freed"
    finally:
        for c in conns:
            c.close()


IDLE_CONNS = 2000


def test_idle_keepalive_connection_holds_little_memory(upstream, sluice_factory):
    """hardening.md §15: the memory an idle keep-alive connection keeps. After its request, a
    connection gives its request arena and its empty input buffer back to the worker, so 2000
    connections that each made one request (one at a time) cost about what 2000 fresh ones do
    (about 1 KiB each: the session), not one set of buffers each (about 10 KiB before). Three
    open/close cycles leave the process's RSS where the first left it (no leak)."""
    need = IDLE_CONNS + 200
    s = sluice_factory(kong(service("echo", upstream.port, [{"paths": ["/"]}])),
                       conf={"proxy_access_log": "off"})
    s.set_open_files(need)
    with open_files(need):
        idle_connections_hold_little_memory(s)


def idle_connections_hold_little_memory(s):
    warm = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    try:
        warm.sendall(b"GET /warm HTTP/1.1\r\nHost: x\r\n\r\n")
        assert warm.recv(65536).startswith(b"HTTP/1.1 200")
        base = s.rss_kb()
        after_close = []
        for cycle in range(3):
            conns = open_idle_connections(s.port, IDLE_CONNS)
            try:
                time.sleep(0.3)
                if cycle == 0:
                    per_conn = (s.rss_kb() - base) * 1024 / IDLE_CONNS
                    if s.sanitized():
                        pytest.skip("memory figures are not meaningful under a sanitizer build")
                    assert per_conn < 4096, \
                        "%.0f bytes of RSS per idle keep-alive connection" % per_conn
                # and they are all still usable
                conns[-1].sendall(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
                assert conns[-1].recv(65536).startswith(b"HTTP/1.1 200")
            finally:
                for c in conns:
                    c.close()
            time.sleep(0.5)
            after_close.append(s.rss_kb())
        # open/close cycles leave nothing behind (a session leaked per connection would add
        # at least 2 MB per cycle)
        assert after_close[2] - after_close[0] < 1024, after_close
    finally:
        warm.close()


def open_idle_connections(port, n):
    """n keep-alive connections to <port>, each after one request answered 200 (one at a time)."""
    conns = []
    try:
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", port), timeout=T)
            conns.append(c)
            c.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = c.recv(65536)
                assert chunk, "closed before the response"
                got += chunk
            assert got.startswith(b"HTTP/1.1 200")
    except BaseException:
        for c in conns:
            c.close()
        raise
    return conns


def test_no_descriptor_for_the_upstream_is_a_500_not_retried(upstream, sluice_factory):
    """When the client is accepted but no descriptor is left for the upstream socket, the fault is
    local: nginx answers 500 and does not try again (a retry cannot get a descriptor either, and a
    502 would blame the upstream)."""
    s = sluice_factory(kong(service("echo", upstream.port, [{"paths": ["/"]}], retries=3)))
    time.sleep(0.3)
    fds = sorted(int(n) for n in os.listdir("/proc/%d/fd" % s.pid))
    # room for exactly one more descriptor, the client's (descriptors are allocated lowest first)
    assert fds == list(range(len(fds))), fds
    s.set_open_files(len(fds) + 1)
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        c.settimeout(T)
        data = c.recv(4096)
    assert data.startswith(b"HTTP/1.1 500 "), data
    assert b"An unexpected error occurred" in data
    assert upstream.connections == 0
    log = s.error_log()
    assert log.count("socket() failed: Too many open files") == 1, log
