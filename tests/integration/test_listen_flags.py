# SPDX-License-Identifier: Apache-2.0
"""The socket flags of proxy_listen and admin_listen entries (kong.md's proxy_listen row, nginx's
`listen`): `deferred` (TCP_DEFER_ACCEPT), `so_keepalive=on|off|idle:intvl:cnt` (set on the listener,
inherited by every accepted connection) and `ipv6only=on|off`. The options are read back from the
running process's own sockets (pidfd_getfd), and a reload applies deferred and keep-alive changes to
the sockets it keeps."""

import ctypes
import os
import socket

import pytest

from lib.ports import free_port
from lib.sluice import kong, service

T = 5
SYS_pidfd_getfd = 438  # x86_64 and arm64 (asm-generic) alike
TCP_DEFER_ACCEPT = getattr(socket, "TCP_DEFER_ACCEPT", 9)
libc = ctypes.CDLL(None, use_errno=True)


def process_sockets(pid):
    """Yields a local duplicate (socket.socket) of every socket descriptor of <pid>."""
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(SYS_pidfd_getfd, pidfd, int(name), 0)
            if fd < 0:
                err = ctypes.get_errno()
                if err in (1, 38):  # EPERM (ptrace policy), ENOSYS (kernel before 5.6)
                    pytest.skip("pidfd_getfd unavailable: %s" % os.strerror(err))
                continue
            s = socket.socket(fileno=fd)
            try:
                s.getsockname()
            except OSError:
                s.close()
                continue
            yield s
    finally:
        os.close(pidfd)


def listener_of(pid, port):
    for s in process_sockets(pid):
        try:
            if s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM \
                    and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) \
                    and s.getsockname()[1] == port:
                return s
        except OSError:
            pass
        s.close()
    raise AssertionError("no listener on port %d" % port)


def accepted_peer_of(pid, client):
    """Sluice's socket for our connected <client> socket."""
    want = client.getsockname()
    for s in process_sockets(pid):
        try:
            if s.getpeername()[:2] == want[:2]:
                return s
        except OSError:
            pass
        s.close()
    raise AssertionError("no accepted connection from %s" % (want,))


def make(upstream, sluice_factory, listen_flags, **conf):
    base = {"proxy_listen": "127.0.0.1:{port} " + listen_flags}
    base.update(conf)
    return sluice_factory(kong(service("echo", upstream.port, [{"name": "r", "paths": ["/"]}])),
                          base)


def keepalive_of(sock):
    return (sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))


def test_deferred_sets_tcp_defer_accept(upstream, sluice_factory):
    s = make(upstream, sluice_factory, "deferred")
    with listener_of(s.pid, s.port) as l:
        assert l.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0
    plain = make(upstream, sluice_factory, "")
    with listener_of(plain.pid, plain.port) as l:
        assert l.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) == 0


def test_so_keepalive_reaches_accepted_connections(upstream, sluice_factory):
    s = make(upstream, sluice_factory, "so_keepalive=7m:30s:4")
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.recv(12).startswith(b"HTTP/1.1 200")
        with accepted_peer_of(s.pid, c) as conn:
            assert keepalive_of(conn) == (1, 420, 30, 4)


def test_so_keepalive_on_and_default(upstream, sluice_factory):
    on = make(upstream, sluice_factory, "so_keepalive=on")
    off = make(upstream, sluice_factory, "")
    for inst, want in ((on, 1), (off, 0)):
        with socket.create_connection(("127.0.0.1", inst.port), timeout=T) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            assert c.recv(12).startswith(b"HTTP/1.1 200")
            with accepted_peer_of(inst.pid, c) as conn:
                assert conn.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == want


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as t:
            t.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 on this machine")
@pytest.mark.parametrize("flag,ipv4_reaches", [("ipv6only=off", True), ("ipv6only=on", False),
                                               ("", False)])
def test_ipv6only(upstream, sluice_factory, flag, ipv4_reaches):
    """A [::] listener takes IPv4 clients only with ipv6only=off (nginx's default is on)."""
    v6port = free_port()
    make(upstream, sluice_factory, "", proxy_listen="127.0.0.1:{port}, [::]:%d %s" % (v6port, flag))
    with socket.create_connection(("::1", v6port), timeout=T):
        pass
    try:
        with socket.create_connection(("127.0.0.1", v6port), timeout=T):
            reached = True
    except ConnectionRefusedError:
        reached = False
    assert reached == ipv4_reaches


def test_reload_applies_deferred_and_keepalive_to_a_kept_listener(upstream, sluice_factory):
    s = make(upstream, sluice_factory, "so_keepalive=on")
    with listener_of(s.pid, s.port) as l:
        before = l.getsockname()
        assert l.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) == 0
    s.write_conf(proxy_listen="127.0.0.1:{port} deferred")
    s.reload(wait=1.0)
    with listener_of(s.pid, s.port) as l:
        assert l.getsockname() == before
        assert l.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0
        # so_keepalive was removed from the entry: off again
        assert l.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


def test_admin_listen_flags(upstream, sluice_factory):
    s = make(upstream, sluice_factory, "", admin_listen="auto")
    s.write_conf(admin_listen="127.0.0.1:%d deferred so_keepalive=on" % s.admin_port)
    s.reload(wait=1.0)
    with listener_of(s.pid, s.admin_port) as l:
        assert l.getsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0
        assert l.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
