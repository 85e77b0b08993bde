# SPDX-License-Identifier: Apache-2.0
"""Config snapshots under traffic (DESIGN.md §2): reloads never fail or stall requests, an in-flight
request keeps the snapshot it started with, and a large route table compiles and routes correctly."""

import signal
import threading
import time

import requests

from lib import upstream as U
from lib.sluice import kong, service

T = 5


def _doc(up, extra=False):
    routes = [{"name": "a", "paths": ["/a"], "strip_path": False}]
    if extra:
        routes.append({"name": "b", "paths": ["/b"], "strip_path": False})
    return kong(service("e", up.port, routes))


def test_reloads_under_traffic_lose_nothing(upstream, sluice_factory):
    s = sluice_factory(_doc(upstream))
    stop = threading.Event()
    errors = []
    count = [0]
    worst = [0.0]
    lock = threading.Lock()

    def client():
        with requests.Session() as sess:
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    r = sess.get(s.url("/a"), timeout=T)
                    if r.status_code != 200:
                        errors.append(r.status_code)
                except requests.RequestException as e:
                    errors.append(repr(e))
                dt = time.monotonic() - t0
                with lock:
                    count[0] += 1
                    worst[0] = max(worst[0], dt)
    ts = [threading.Thread(target=client) for _ in range(4)]
    for t in ts:
        t.start()
    try:
        for i in range(10):
            s.write_kong(_doc(upstream, extra=(i % 2 == 0)))
            s.signal(signal.SIGHUP)
            time.sleep(0.25)
    finally:
        stop.set()
        for t in ts:
            t.join(10)
    assert not errors, errors[:5]
    assert count[0] > 50
    assert worst[0] < 1.0, "a request stalled %.2f s during reloads" % worst[0]
    assert s.alive()


def test_inflight_request_survives_route_removal(upstream, sluice_factory):
    upstream.route("/a/slow", U.delay(1.0))
    s = sluice_factory(_doc(upstream))
    result = {}

    def slow():
        try:
            result["r"] = requests.get(s.url("/a/slow"), timeout=T)
        except requests.RequestException as e:
            result["e"] = e
    t = threading.Thread(target=slow)
    t.start()
    assert upstream.wait_requests(1, 3) == 1
    s.write_kong(kong(service("e", upstream.port, [{"name": "z", "paths": ["/z"]}])))
    s.signal(signal.SIGHUP)
    t.join(T)
    assert "r" in result, result.get("e")
    assert result["r"].status_code == 200
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and requests.get(s.url("/a"), timeout=T).status_code != 404:
        time.sleep(0.05)
    assert requests.get(s.url("/a"), timeout=T).status_code == 404


def test_many_routes(upstream, sluice_factory):
    n = 3000
    routes = [{"name": "r%d" % i, "paths": ["/r%d/" % i]} for i in range(n)]
    routes += [{"name": "x%d" % i, "paths": [r"~/x%d/\d+$" % i]} for i in range(200)]
    routes += [{"name": "h%d" % i, "hosts": ["h%d.example" % i]} for i in range(500)]
    t0 = time.monotonic()
    s = sluice_factory(kong({"name": "e", "url": "http://127.0.0.1:%d/up" % upstream.port,
                             "routes": routes}))
    assert time.monotonic() - t0 < 8
    with requests.Session() as sess:
        for i in (0, 1, 17, 999, 1500, n - 1):
            r = sess.get(s.url("/r%d/tail" % i), timeout=T)
            assert r.status_code == 200 and r.json()["path"] == "/up/tail", (i, r.text[:200])
        for i in (0, 199):
            r = sess.get(s.url("/x%d/42" % i), timeout=T)
            assert r.status_code == 200 and r.json()["path"] == "/up"
            assert sess.get(s.url("/x%d/nope" % i), timeout=T).status_code == 404
        for i in (0, 499):
            r = sess.get(s.url("/any"), headers={"Host": "h%d.example" % i}, timeout=T)
            assert r.status_code == 200 and r.json()["path"] == "/up/any"
        assert sess.get(s.url("/r%d/x" % n), timeout=T).status_code == 404
        # /r1/ must not be confused with /r10/, /r100/...: prefixes end with '/'.
        assert sess.get(s.url("/r1"), timeout=T).status_code == 404
