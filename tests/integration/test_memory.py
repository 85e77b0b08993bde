# SPDX-License-Identifier: Apache-2.0
"""Memory after a burst (hardening.md §15): once thousands of concurrent requests with buffered
bodies have come and gone, the process gives the freed memory back to the system (glibc keeps
freed heap pages otherwise, and RSS would stay at its peak). The check runs every 2 s on the
control thread (src/core/mem_trim.c)."""

import socket
import threading
import time

import pytest

from lib.sluice import kong, open_files, service
from lib.upstream import Upstream, response

T = 5
CONNS = 700
BODY = 1 << 20  # promised per request; each client sends what the sockets accept


def held_upstream(release):
    """An upstream that takes each request's head and holds the connection without reading the
    body until <release> is set, so Sluice buffers the bodies."""
    def h(req, conn):
        release.wait(30)
        conn.send(response(200, [("Content-Type", "text/plain")], b"ok", close=True))
        return "close"
    h.before_body = True
    return Upstream(h, conn_timeout=60).start()


def fill(socks, chunk):
    """Writes body bytes into every socket until none accepts more."""
    progress = True
    while progress:
        progress = False
        for c in socks:
            try:
                if c.send(chunk) > 0:
                    progress = True
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                pass


def test_memory_returned_after_a_burst(sluice_factory):
    release = threading.Event()
    up = held_upstream(release)
    need = 2 * CONNS + 300
    socks = []
    try:
        s = sluice_factory(kong(service("e", up.port, [{"paths": ["/"]}])),
                           conf={"proxy_access_log": "off", "log_level": "info"})
        if s.sanitized():
            pytest.skip("memory figures are not meaningful under a sanitizer build")
        s.set_open_files(need)
        with open_files(need):
            warm = socket.create_connection(("127.0.0.1", s.port), timeout=T)
            warm.close()
            time.sleep(0.3)
            base = s.rss_kb()
            head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % BODY)
            for _ in range(CONNS):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=T)
                c.sendall(head)
                c.setblocking(False)
                socks.append(c)
            chunk = b"b" * 65536
            deadline = time.monotonic() + 20
            peak = base
            # Sluice reads while its buffers have room; a few rounds fill them.
            while time.monotonic() < deadline:
                fill(socks, chunk)
                time.sleep(0.3)
                now = s.rss_kb()
                if now <= peak + 1024:
                    peak = max(peak, now)
                    break
                peak = now
            growth = peak - base
            if growth < 36 * 1024:  # the trigger is 32 MiB (SL_MEM_TRIM_GROWTH)
                pytest.skip("the burst grew RSS by only %d KiB" % growth)
            for c in socks:
                c.close()
            socks = []
            release.set()

            def settled():
                return s.rss_kb() <= base + growth * 0.3
            end = time.monotonic() + 12
            while time.monotonic() < end and not settled():
                time.sleep(0.25)
            after = s.rss_kb()
            trims = [l for l in s.error_log().splitlines() if "memory:" in l]
            assert settled(), "RSS %d KiB before, %d at the peak, %d after the burst; %s" % (
                base, peak, after, trims)
            # (glibc may give part of it back by itself when the heap's top is free; the trim
            # returns the rest, and is what the previous build lacked: it stayed at ~67 MB)
            print("RSS %d KiB before, %d at the peak, %d after; %s" % (base, peak, after, trims))
    finally:
        for c in socks:
            c.close()
        release.set()
        up.stop()


def test_memory_of_a_replaced_configuration_goes_back(upstream, sluice_factory):
    # A large configuration replaced by a small one: idle workers let go of the old snapshot when
    # it is published (not at their next request, which may never come), and its pages go back
    # to the system (glibc keeps them otherwise).
    import requests

    from lib.sluice import dump_yaml
    routes = [{"name": "r%d" % i, "paths": ["/p%d" % i]} for i in range(30000)]
    s = sluice_factory(kong(service("e", upstream.port, routes)),
                       conf={"worker_processes": 2, "admin_listen": "auto", "log_level": "info"})
    if s.sanitized():
        pytest.skip("memory figures are not meaningful under a sanitizer build")
    for i in range(40):  # new connections: both workers serve some and hold the snapshot
        r = requests.get(s.url("/p%d" % (i * 7)), headers={"Connection": "close"}, timeout=T)
        assert r.status_code == 200
    before = s.rss_kb()
    text = dump_yaml(kong(service("e", upstream.port, [{"name": "x", "paths": ["/"]}])))
    r = requests.post(s.admin_url("/config"), data=text,
                      headers={"Content-Type": "application/yaml"}, timeout=30)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 6  # the memory check runs every 2 s
    while time.monotonic() < deadline and s.rss_kb() > before - 16 * 1024:
        time.sleep(0.2)
    after = s.rss_kb()
    assert after <= before - 16 * 1024, (before, after)
    assert "returned" in s.error_log() and "after a configuration change" in s.error_log()
    assert requests.get(s.url("/p7"), timeout=T).status_code == 200  # the new route "/" serves
