# SPDX-License-Identifier: Apache-2.0
"""Service host names resolved by Sluice's non-blocking resolver against a stub DNS server
(tests/lib/dnsstub.py; kong.md §4.2, hardening.md §12-13, docs/internals/dns.md): TTLs and
dns_valid_ttl, stale answers while the resolver fails and their end (dns_stale_ttl), NXDOMAIN (503
"name resolution failed") and server errors (500, as Kong's balancer) with their not-found/error
TTLs, the hosts file, CNAME chains, TCP after a truncated answer, AAAA only when dns_order lists it,
several addresses per name, no thundering herd, and a slow lookup never delaying other traffic."""

import signal
import socket
import threading
import time

import pytest
import requests

from lib.dnsstub import DNSStub
from lib.sluice import Sluice, SluiceError, kong, service
from lib.upstream import Upstream

T = 15          # client timeout: a request may wait for a lookup (a dead resolver takes ~6-7 s)
MSG = "name resolution failed"           # NXDOMAIN or no record: 503 (Kong)
MSG_500 = "An unexpected error occurred"  # the name servers failed, nothing stale: 500 (Kong)


# ------------------------------------------------------------------------------- helpers


@pytest.fixture
def dns():
    """A started stub DNS server; every name unknown (NXDOMAIN) until the test sets it."""
    d = DNSStub().start()
    yield d
    d.stop()


def conf(dns, **kw):
    """sluice.conf overrides pointing the resolver at the stub."""
    c = {"dns_resolver": dns.addr}
    c.update(kw)
    return c


def hsvc(name, host, port, paths=("/",), **fields):
    """A kong.yml service whose host is a name, with one route (strip_path false)."""
    s = {"name": name, "host": host, "port": port, "protocol": "http"}
    s.update(fields)
    s["routes"] = [{"name": name, "paths": list(paths), "strip_path": False}]
    return s


def wait_until(fn, timeout, step=0.1):
    """Polls fn() until it returns a true value or timeout seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def get(s, path, **kw):
    kw.setdefault("timeout", T)
    return requests.get(s.url(path), **kw)


def timed_get(s, path, **kw):
    t0 = time.monotonic()
    r = get(s, path, **kw)
    return r, time.monotonic() - t0


def assert_name_failed(r, status=503, msg=MSG):
    """Kong's answer for a name that does not resolve, in the usual JSON error format: 503 "name
    resolution failed" for a name that does not exist; 500 (default message) when the name servers
    fail (kong/runloop/balancer/init.lua)."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    rid = r.headers.get("X-Sluice-Request-Id")
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert r.json() == {"message": msg, "request_id": rid}


def assert_servers_failed(r):
    assert_name_failed(r, 500, MSG_500)


@pytest.fixture
def pair():
    """Two echo upstreams on the same port: one on 127.0.0.1, one on 127.0.0.2."""
    for _ in range(20):
        one = Upstream(host="127.0.0.1").start()
        try:
            two = Upstream(host="127.0.0.2", port=one.port).start()
        except OSError:
            one.stop()
            continue
        break
    else:
        pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")
    yield one, two
    one.stop()
    two.stop()


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------------- resolution


def test_hostname_service_resolved_through_stub(dns, upstream, sluice_factory):
    dns.set_a("svc.test", "127.0.0.1", ttl=60)
    s = sluice_factory(kong(hsvc("h", "svc.test", upstream.port)), conf(dns))
    r = get(s, "/hello?x=1")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert upstream.wait_requests(1, 5) == 1
    assert upstream.last().target == "/hello?x=1"
    # the upstream is addressed by its name, not by the address it resolved to
    assert upstream.last().header("host") == "svc.test:%d" % upstream.port
    assert dns.count("svc.test", "A") >= 1


def test_cname_chain_followed(dns, upstream, sluice_factory):
    dns.set_cname("alias.test", "real.test", ttl=60)
    dns.set_a("real.test", "127.0.0.1", ttl=60)
    s = sluice_factory(kong(hsvc("c", "alias.test", upstream.port)), conf(dns))
    r = get(s, "/c")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert upstream.wait_requests(1, 5) == 1
    assert upstream.last().header("host") == "alias.test:%d" % upstream.port
    assert dns.count("alias.test", "A") >= 1


def test_large_answer_retried_over_tcp(dns, upstream, sluice_factory):
    # 60 A records do not fit a 512-byte UDP answer: the stub sets TC and the resolver must ask
    # again over TCP (hardening.md §13 "TC bit", "a huge answer set").
    dns.set_a("huge.test", ["127.0.0.1"] * 60, ttl=60)
    s = sluice_factory(kong(hsvc("h", "huge.test", upstream.port)), conf(dns))
    for i in range(3):
        r = get(s, "/h/%d" % i)
        assert r.status_code == 200, (i, r.status_code, r.text[:300])
    assert any(name == "huge.test" and proto == "tcp" for _, name, _, proto in dns.log), dns.log


def test_cname_loop_fails_cleanly(dns, upstream, sluice_factory):
    # a -> b -> a ...: the stub sends 8 CNAMEs and no address; the name fails, nothing hangs.
    dns.set_cname("loop1.test", "loop2.test")
    dns.set_cname("loop2.test", "loop1.test")
    s = sluice_factory(kong(hsvc("l", "loop1.test", upstream.port)),
                       conf(dns, dns_not_found_ttl=1, dns_error_ttl=1))
    r, dt = timed_get(s, "/l")
    assert_name_failed(r)
    assert dt < 3.0, dt
    assert not upstream.requests
    assert s.alive()


def test_ttl_expiry_refreshes_the_address(dns, pair, sluice_factory):
    one, two = pair
    dns.set_a("flip.test", "127.0.0.1", ttl=1)
    s = sluice_factory(kong(hsvc("f", "flip.test", one.port)), conf(dns))
    r = get(s, "/a")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert len(one.requests) == 1 and not two.requests

    dns.set_a("flip.test", "127.0.0.2", ttl=1)

    def reached_two():
        r = get(s, "/b")
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return len(two.requests) > 0
    assert wait_until(reached_two, 5.0), "still sending to 127.0.0.1 5 s after a 1 s TTL ended"

    # Traffic does not cause lookups: 100 requests, about one refresh per second.
    n_one = len(one.requests)
    q0 = dns.count("flip.test", "*")
    t0 = time.monotonic()
    with requests.Session() as sess:
        for i in range(100):
            r = sess.get(s.url("/n/%d" % i), timeout=T)
            assert r.status_code == 200, (i, r.status_code, r.text[:300])
    elapsed = time.monotonic() - t0
    q = dns.count("flip.test", "*") - q0
    assert q <= 3 * (elapsed + 1) + 3, "%d queries for 100 requests in %.1f s" % (q, elapsed)
    assert len(one.requests) == n_one, "requests still reach the old address"


def test_ttl_zero_refreshed_about_once_a_second(dns, upstream, sluice_factory):
    dns.set_a("zero.test", "127.0.0.1", ttl=0)
    s = sluice_factory(kong(hsvc("z", "zero.test", upstream.port)), conf(dns))
    assert get(s, "/z").status_code == 200
    q0 = dns.count("zero.test", "A")
    t0 = time.monotonic()
    with requests.Session() as sess:
        while time.monotonic() - t0 < 3.0:
            r = sess.get(s.url("/z"), timeout=T)
            assert r.status_code == 200, (r.status_code, r.text[:300])
            time.sleep(0.01)
    time.sleep(1.0)   # idle too: a TTL of 0 must not turn into a query loop
    elapsed = time.monotonic() - t0
    q = dns.count("zero.test", "A") - q0
    assert q >= 2, "TTL 0 answer never refreshed (%d queries in %.1f s)" % (q, elapsed)
    assert q <= 2 * elapsed + 3, "%d queries in %.1f s for a TTL 0 name" % (q, elapsed)


def test_valid_ttl_overrides_record_ttl(dns, pair, sluice_factory):
    one, two = pair
    dns.set_a("long.test", "127.0.0.1", ttl=3600)
    s = sluice_factory(kong(hsvc("v", "long.test", one.port)), conf(dns, dns_valid_ttl=1))
    assert get(s, "/a").status_code == 200
    assert len(one.requests) == 1
    dns.set_a("long.test", "127.0.0.2", ttl=3600)

    def reached_two():
        assert get(s, "/b").status_code == 200
        return len(two.requests) > 0
    assert wait_until(reached_two, 5.0), "dns_valid_ttl = 1 did not replace a 3600 s TTL"


# ------------------------------------------------------------------------------- failures


def test_nxdomain_503_fast_then_recovers(dns, upstream, sluice_factory):
    s = sluice_factory(kong(hsvc("nx", "missing.test", upstream.port)),
                       conf(dns, dns_not_found_ttl=1))
    r, dt = timed_get(s, "/x")
    assert_name_failed(r)
    assert dt < 3.0, dt
    assert dns.count("missing.test", "A") >= 1
    r = get(s, "/x", headers={"Accept": "text/plain"})
    assert r.status_code == 503
    assert r.text == "%s\nrequest_id: %s\n" % (MSG, r.headers["X-Sluice-Request-Id"])
    assert not upstream.requests
    # Kong fails the name in its access phase, before any upstream attempt: a generated
    # response (response latency), not a proxied one as a refused connection is
    assert "X-Sluice-Response-Latency" in r.headers
    assert "X-Sluice-Upstream-Latency" not in r.headers

    dns.set_a("missing.test", "127.0.0.1", ttl=60)
    assert wait_until(lambda: get(s, "/y").status_code == 200, 5.0), \
        "name still failing 5 s after it appeared (dns_not_found_ttl = 1)"
    assert upstream.last().path == "/y"


def test_not_found_remembered_for_not_found_ttl(dns, upstream, sluice_factory):
    # Default dns_not_found_ttl (30 s): once NXDOMAIN came back, requests fail at once from the
    # cache and the stub is not asked again, even though it now knows the name.
    s = sluice_factory(kong(hsvc("nx", "missing.test", upstream.port)), conf(dns))
    assert_name_failed(get(s, "/x"))
    q0 = dns.count("missing.test", "A")
    dns.set_a("missing.test", "127.0.0.1", ttl=60)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.0:
        r, dt = timed_get(s, "/x")
        assert_name_failed(r)
        assert dt < 1.0, dt
        time.sleep(0.05)
    assert dns.count("missing.test", "A") == q0, "negative answer not cached"
    assert not upstream.requests


def test_nodata_is_not_found(dns, upstream, sluice_factory):
    dns.set_nodata("empty.test")
    s = sluice_factory(kong(hsvc("e", "empty.test", upstream.port)), conf(dns))
    r, dt = timed_get(s, "/x")
    assert_name_failed(r)
    assert dt < 3.0, dt
    assert dns.count("empty.test", "A") >= 1


@pytest.mark.parametrize("mode", ["SERVFAIL", "REFUSED", "drop"])
def test_server_error_without_stale_500_then_recovers(dns, upstream, sluice_factory, mode):
    dns.set_a("err.test", "127.0.0.1", ttl=60)
    if mode == "drop":
        dns.set_drop("err.test")
    else:
        dns.set_rcode("err.test", mode)
    s = sluice_factory(kong(hsvc("e", "err.test", upstream.port)), conf(dns, dns_error_ttl=1))
    r, dt = timed_get(s, "/x")
    assert_servers_failed(r)
    # a timeout takes the resolver's 2 tries (~6-7 s from Sluice's start); an error answer is quick
    assert dt < (10.0 if mode == "drop" else 3.0), dt
    # SRV is asked first (dns_order LAST,SRV,A,CNAME); after a timeout no other type is asked
    assert dns.count("err.test", "SRV") >= 1
    if mode != "drop":
        assert dns.count("err.test", "A") >= 1
    assert not upstream.requests

    dns.set_drop("err.test", False)
    dns.set_rcode("err.test", None)
    assert wait_until(lambda: get(s, "/y").status_code == 200, 5.0), \
        "name still failing 5 s after the server recovered (dns_error_ttl = 1)"
    assert upstream.last().path == "/y"


@pytest.mark.parametrize("mode", ["dead", "SERVFAIL"])
def test_stale_answer_served_while_refresh_fails(dns, upstream, sluice_factory, mode):
    dns.set_a("stale.test", "127.0.0.1", ttl=1)
    s = sluice_factory(kong(hsvc("st", "stale.test", upstream.port)), conf(dns))
    assert get(s, "/first").status_code == 200
    q0 = dns.count("stale.test", "*")
    if mode == "dead":
        dns.set_dead()
    else:
        dns.set_rcode("stale.test", "SERVFAIL")
    # 9 s: the TTL ends after 1 s, then a whole failing refresh (a dead server: 2 tries, ~6-7 s)
    # and the start of the next one.
    t0 = time.monotonic()
    lat = []
    while time.monotonic() - t0 < 9.0:
        r, dt = timed_get(s, "/s/%d" % len(lat))
        assert r.status_code == 200, (len(lat), time.monotonic() - t0, r.status_code, r.text[:300])
        lat.append(dt)
        time.sleep(0.1)
    elapsed = time.monotonic() - t0
    assert len(upstream.requests) == 1 + len(lat)
    assert all(q.header("host") == "stale.test:%d" % upstream.port for q in upstream.requests)
    # the stale answer is served at once, not after the failing refresh
    assert max(lat) < 1.5, "slowest request %.2f s" % max(lat)
    q = dns.count("stale.test", "*") - q0
    assert q >= 1, "the TTL ran out but no refresh was tried: not a stale-serving test"
    assert q <= 4 * elapsed + 4, "%d queries in %.1f s" % (q, elapsed)


def test_stale_answer_ends_after_stale_ttl(dns, upstream, sluice_factory):
    dns.set_a("brief.test", "127.0.0.1", ttl=1)
    s = sluice_factory(kong(hsvc("b", "brief.test", upstream.port)),
                       conf(dns, dns_stale_ttl=2, dns_error_ttl=1))
    assert get(s, "/first").status_code == 200
    dns.set_rcode("brief.test", "SERVFAIL")
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < 8.0:
        last = get(s, "/s")
        if last.status_code != 200:
            break
        time.sleep(0.1)
    failed_after = time.monotonic() - t0
    assert last is not None and last.status_code != 200, "stale answer served past dns_stale_ttl"
    assert_servers_failed(last)
    # served stale beyond the 1 s TTL, up to about TTL + dns_stale_ttl = 3 s after the answer
    assert failed_after >= 1.5, failed_after


def test_several_addresses_spread_and_retried(dns, pair, sluice_factory):
    one, two = pair
    dns.set_a("many.test", ["127.0.0.1", "127.0.0.2"], ttl=60)
    # 127.0.0.3 refuses connections: requests starting there go on to the next address
    dns.set_a("half.test", ["127.0.0.3", "127.0.0.1"], ttl=60)
    doc = kong(hsvc("many", "many.test", one.port, ["/many"]),
               hsvc("half", "half.test", one.port, ["/half"]))
    s = sluice_factory(doc, conf(dns))
    for i in range(10):
        r = get(s, "/many/%d" % i)
        assert r.status_code == 200, (i, r.status_code, r.text[:300])
    assert one.requests and two.requests, (len(one.requests), len(two.requests))
    n_one = len(one.requests)
    for i in range(10):
        r = get(s, "/half/%d" % i)
        assert r.status_code == 200, (i, r.status_code, r.text[:300])
    assert len(one.requests) == n_one + 10


# ------------------------------------------------------------------------------- SRV


@pytest.fixture
def ports():
    """Two upstreams on 127.0.0.1 with ports of their own, as SRV targets name them."""
    a = Upstream().start()
    b = Upstream().start()
    yield a, b
    a.stop()
    b.stop()


def test_srv_records_give_addresses_and_ports(dns, ports, sluice_factory):
    a, b = ports
    # The service's own port has nothing behind it: the SRV records' ports are the ones used.
    dns.set_srv("_http._tcp.srv.test", [(10, 1, a.port, "t1.test"), (10, 1, b.port, "t2.test")],
                ttl=60)
    dns.set_a("t1.test", "127.0.0.1")
    dns.set_a("t2.test", "127.0.0.1")
    s = sluice_factory(kong(hsvc("srv", "_http._tcp.srv.test", 1)), conf(dns))
    for i in range(10):
        r = get(s, "/s/%d" % i)
        assert r.status_code == 200, (i, r.status_code, r.text[:300])
    assert len(a.requests) == 5 and len(b.requests) == 5, (len(a.requests), len(b.requests))
    assert dns.count("t1.test", "A") >= 1 and dns.count("t2.test", "A") >= 1
    # the Host header is the service's host with the SRV record's port, as Kong's balancer sets it
    assert a.last().header("host") == "_http._tcp.srv.test:%d" % a.port
    assert b.last().header("host") == "_http._tcp.srv.test:%d" % b.port
    # preserve_host keeps the client's Host whatever the port
    svc = hsvc("srv", "_http._tcp.srv.test", 1)
    svc["routes"][0]["preserve_host"] = True
    s.write_kong(kong(svc))
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: get(s, "/p", headers={"Host": "client.test"}).status_code == 200
                      and a.last().header("host") == "client.test", 5), a.last().headers
    assert get(s, "/p", headers={"Host": "client.test"}).status_code == 200
    assert b.last().header("host") == "client.test"


def test_srv_lowest_priority_and_weights(dns, ports, sluice_factory):
    a, b = ports
    c = Upstream().start()
    try:
        # priority 20 is a backup Kong never uses while priority 10 has records; weights 3:1
        dns.set_srv("w.test", [(10, 3, a.port, "t.test"), (10, 1, b.port, "t.test"),
                               (20, 100, c.port, "t.test")], ttl=60)
        dns.set_a("t.test", "127.0.0.1")
        s = sluice_factory(kong(hsvc("w", "w.test", 1)), conf(dns))
        for i in range(40):
            assert get(s, "/w/%d" % i).status_code == 200, i
        assert (len(a.requests), len(b.requests), len(c.requests)) == (30, 10, 0)
    finally:
        c.stop()


def test_srv_ttl_refresh_moves_traffic(dns, ports, sluice_factory):
    a, b = ports
    dns.set_srv("move.test", [(1, 1, a.port, "t.test")], ttl=1)
    dns.set_a("t.test", "127.0.0.1", ttl=60)
    s = sluice_factory(kong(hsvc("m", "move.test", 1)), conf(dns))
    assert get(s, "/before").status_code == 200
    assert a.last().path == "/before"
    dns.set_srv("move.test", [(1, 1, b.port, "t.test")], ttl=1)
    assert wait_until(lambda: get(s, "/after").status_code == 200 and b.requests, 5.0), \
        "the SRV record's new port not used 5 s after its TTL of 1 s"


def test_srv_target_without_address_fails_the_name(dns, sluice_factory):
    dns.set_srv("dangling.test", [(1, 1, 8080, "nowhere.test")], ttl=60)
    s = sluice_factory(kong(hsvc("d", "dangling.test", 1)), conf(dns, dns_not_found_ttl=30))
    r, dt = timed_get(s, "/d")
    assert_name_failed(r)
    assert dt < 3.0, dt
    assert dns.count("nowhere.test", "A") >= 1


def test_srv_retry_names_the_port_of_the_address_it_goes_to(dns, upstream, sluice_factory):
    # Kong sets Host for every try from the address its balancer picked: a request whose first
    # SRV target refuses the connection is retried at the next one, with that record's port in
    # Host, not the port of the address that failed.
    from lib.ports import free_port
    dead = free_port()  # nothing listens there: the connection is refused
    dns.set_srv("_http._tcp.r.test", [(1, 1, dead, "t.test"), (1, 1, upstream.port, "t.test")])
    dns.set_a("t.test", "127.0.0.1")
    s = sluice_factory(kong(hsvc("r", "_http._tcp.r.test", 1)), conf(dns))
    for i in range(4):  # successive requests start at successive addresses: two start at `dead`
        r = get(s, "/r/%d" % i)
        assert r.status_code == 200, (i, r.status_code, r.text[:300])
    assert len(upstream.requests) == 4
    hosts = {q.header("host") for q in upstream.requests}
    assert hosts == {"_http._tcp.r.test:%d" % upstream.port}, hosts
    assert s.error_log().count("connect() failed") == 2, s.error_log()[-2000:]


def test_srv_replayed_request_names_the_port_of_its_new_address(dns, upstream, sluice_factory):
    # A PUT whose bytes reached a target that then closed without answering is replayed (an
    # idempotent method) at the next target: the replayed bytes, head and body, carry that
    # target's port in Host, and the body arrives whole.
    closer = socket.socket()
    closer.bind(("127.0.0.1", 0))
    closer.listen(16)
    stop = threading.Event()

    def accept_and_close():
        closer.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = closer.accept()
            except OSError:
                continue
            try:
                c.settimeout(2)
                c.recv(65536)  # the request reached it ...
            except OSError:
                pass
            c.close()  # ... and no response came
    t = threading.Thread(target=accept_and_close, daemon=True)
    t.start()
    try:
        dns.set_srv("_http._tcp.p.test", [(1, 1, closer.getsockname()[1], "t.test"),
                                          (1, 1, upstream.port, "t.test")])
        dns.set_a("t.test", "127.0.0.1")
        s = sluice_factory(kong(hsvc("p", "_http._tcp.p.test", 1)), conf(dns))
        body = b"x" * 3000
        for i in range(2):  # one of the two starts at the closer
            r = requests.put(s.url("/p/%d" % i), data=body, timeout=T)
            assert r.status_code == 200, (i, r.status_code, r.text[:300])
        assert len(upstream.requests) == 2
        for q in upstream.requests:
            assert q.header("host") == "_http._tcp.p.test:%d" % upstream.port
            assert q.body == body
        assert "closed prematurely" in s.error_log(), s.error_log()[-2000:]
    finally:
        stop.set()
        t.join()
        closer.close()


def test_srv_retries_across_ports_do_not_grow_memory(dns, sluice_factory):
    # Each retry at an address with another port rewrites the Host line of the kept request bytes
    # in place: memory per request stays bounded however many retries service.retries allows.
    # (A copy per attempt took one request with a 60 KB body and 300 retries to ~20 MB.)
    socks = []
    for _ in range(2):  # two targets that take the request and close without answering
        c = socket.socket()
        c.bind(("127.0.0.1", 0))
        c.listen(128)
        socks.append(c)
    stop = threading.Event()
    taken = [0]

    def serve():
        import select
        while not stop.is_set():
            ready, _, _ = select.select(socks, [], [], 0.1)
            for ls in ready:
                c, _ = ls.accept()
                c.settimeout(1)
                got = 0
                try:
                    while got < 60000:
                        d = c.recv(65536)
                        if not d:
                            break
                        got += len(d)
                except OSError:
                    pass
                # counted before the close: Sluice answers 502 only after the last one ends, so
                # counting after it raced the test's assertion
                taken[0] += 1
                c.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        dns.set_srv("_http._tcp.m.test", [(1, 1, socks[0].getsockname()[1], "t.test"),
                                          (1, 1, socks[1].getsockname()[1], "t.test")])
        dns.set_a("t.test", "127.0.0.1")
        s = sluice_factory(kong(hsvc("m", "_http._tcp.m.test", 1, retries=300)),
                           conf(dns, worker_processes=1))

        def hwm_kb():
            with open("/proc/%d/status" % s.pid) as f:
                return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
        before = hwm_kb()
        r = requests.put(s.url("/x"), data=b"x" * 60000, timeout=60)
        assert r.status_code == 502
        assert taken[0] == 301, taken[0]  # the first attempt and 300 retries, each replayed whole
        if not s.sanitized():  # ASan's quarantine keeps freed memory: figures mean nothing there
            assert hwm_kb() - before < 8 * 1024, (before, hwm_kb())
    finally:
        stop.set()
        t.join()
        for c in socks:
            c.close()


def test_srv_not_asked_when_dns_order_omits_it(dns, upstream, sluice_factory):
    dns.set_a("plain.test", "127.0.0.1")
    s = sluice_factory(kong(hsvc("p", "plain.test", upstream.port)),
                       conf(dns, dns_order="LAST,A,CNAME"))
    assert get(s, "/p").status_code == 200
    assert dns.count("plain.test", "SRV") == 0
    assert dns.count("plain.test", "A") >= 1


def test_default_order_asks_srv_first_then_a_and_remembers(dns, upstream, sluice_factory):
    dns.set_a("last.test", "127.0.0.1", ttl=1)
    s = sluice_factory(kong(hsvc("l", "last.test", upstream.port)), conf(dns))
    assert get(s, "/l").status_code == 200
    assert dns.count("last.test", "SRV") == 1, dns.log
    # refreshes (on demand: requests keep using the name) ask the type that answered last
    # (dns_order LAST) first: A, and no SRV again
    assert wait_until(lambda: get(s, "/l").status_code == 200 and
                      dns.count("last.test", "A") >= 3, 8.0), dns.log
    assert dns.count("last.test", "SRV") == 1, dns.log


def test_refresh_on_demand_only(dns, upstream, sluice_factory):
    # Kong refreshes a name when a request needs it after its TTL: an unused name is not asked
    # again however short its TTL, and its next request gets the stale answer at once while the
    # refresh runs.
    dns.set_a("idle.test", "127.0.0.1", ttl=1)
    s = sluice_factory(kong(hsvc("i", "idle.test", upstream.port)), conf(dns))
    assert get(s, "/i").status_code == 200
    time.sleep(1.6)   # that request's use is paid for by one refresh when the TTL ends
    q0 = dns.count("idle.test", "*")
    time.sleep(3.0)
    assert dns.count("idle.test", "*") == q0, dns.log
    r, dt = timed_get(s, "/again")
    assert r.status_code == 200 and dt < 1.0, (r.status_code, dt)
    assert dns.wait_queries("idle.test", "A", n=dns.count("idle.test", "A") + 1, timeout=3.0)


# ------------------------------------------------------------------------------- isolation


def test_slow_lookup_does_not_delay_other_services(dns, upstream, sluice_factory):
    dns.set_a("slow.test", "127.0.0.1", ttl=60)
    dns.set_delay("slow.test", 3.0)
    doc = kong(hsvc("slow", "slow.test", upstream.port, ["/slow"]),
               service("fast", upstream.port, [{"name": "fast", "paths": ["/fast"],
                                                "strip_path": False}]))
    s = sluice_factory(doc, conf(dns))
    res = {}

    def slow():
        t0 = time.monotonic()
        try:
            res["r"] = get(s, "/slow")
        except requests.RequestException as e:
            res["e"] = e
        res["dt"] = time.monotonic() - t0
    th = threading.Thread(target=slow)
    th.start()
    lat = []
    with requests.Session() as sess:
        while th.is_alive() and len(lat) < 2000:
            t0 = time.monotonic()
            r = sess.get(s.url("/fast"), timeout=T)
            lat.append(time.monotonic() - t0)
            assert r.status_code == 200, (r.status_code, r.text[:300])
            time.sleep(0.02)
    th.join(T)
    assert "e" not in res, res.get("e")
    assert res["r"].status_code == 200, (res["r"].status_code, res["r"].text[:300])
    assert res["dt"] >= 1.0, "the slow request did not wait for the lookup (%.2f s)" % res["dt"]
    assert len(lat) >= 3, "too few requests while the lookup was pending: %d" % len(lat)
    assert max(lat) < 0.3, "a request to another service took %.3f s" % max(lat)
    assert any(q.path == "/slow" for q in upstream.requests)


def test_hosts_file_preferred(dns, upstream, sluice_factory, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 hosted.test hosted-alias.test\n")
    dns.set_a("hosted.test", "127.0.0.3", ttl=60)    # nothing listens there
    dns.set_a("other.test", "127.0.0.1", ttl=60)
    doc = kong(hsvc("h", "hosted.test", upstream.port, ["/h"], retries=0),
               hsvc("o", "other.test", upstream.port, ["/o"]))
    s = sluice_factory(doc, conf(dns, dns_hostsfile=str(hosts)))
    for i in range(3):
        r = get(s, "/h/%d" % i)
        assert r.status_code == 200, (i, r.status_code, r.text[:300])
    # names missing from the file still go to the resolver
    assert get(s, "/o").status_code == 200
    assert dns.count("other.test", "A") >= 1
    assert dns.count("hosted.test", "*") == 0, dns.log


@pytest.mark.parametrize("workers", [1, 2])
def test_no_thundering_herd(dns, upstream, sluice_factory, workers):
    dns.set_a("herd.test", "127.0.0.1", ttl=60)
    dns.set_delay("herd.test", 1.0)
    s = sluice_factory(kong(hsvc("h", "herd.test", upstream.port)),
                       conf(dns, worker_processes=workers))
    n = 50
    barrier = threading.Barrier(n)
    results = []
    lock = threading.Lock()

    def one(i):
        try:
            barrier.wait(10)
            r = get(s, "/h/%d" % i)
            v = r.status_code
        except Exception as e:  # noqa: BLE001
            v = repr(e)
        with lock:
            results.append(v)
    ths = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(T + 5)
    assert results == [200] * n, results
    assert len(upstream.requests) == n
    assert dns.count("herd.test", "A") <= 2, dns.count("herd.test", "A")


# ------------------------------------------------------------------------------- run time, config


def test_admin_api_service_with_hostname(dns, upstream, pair, tmp_path):
    _, two = pair
    dns.set_a("admin.test", "127.0.0.1", ttl=60)
    s = Sluice(tmp_path, kong(), conf=conf(dns, database="sqlite", declarative_config=None,
                                           admin_listen="auto"), name="adm")
    try:
        a = s.admin_url("").rstrip("/")
        r = requests.post(a + "/services", json={"name": "adm", "host": "admin.test",
                                                 "port": upstream.port, "protocol": "http"},
                          timeout=T)
        assert r.status_code == 201, r.text
        assert r.json()["host"] == "admin.test"
        r = requests.post(a + "/services/adm/routes", json={"name": "adm", "paths": ["/adm"]},
                          timeout=T)
        assert r.status_code == 201, r.text
        assert wait_until(lambda: get(s, "/adm/x").status_code == 200, 5.0), \
            get(s, "/adm/x").text[:300]
        assert upstream.last().header("host") == "admin.test:%d" % upstream.port
        assert dns.count("admin.test", "A") >= 1

        # a host changed at run time is resolved anew: an unknown name fails ...
        r = requests.patch(a + "/services/adm", json={"host": "gone.test"}, timeout=T)
        assert r.status_code == 200, r.text
        assert wait_until(lambda: get(s, "/adm/x").status_code == 503, 5.0)
        assert_name_failed(get(s, "/adm/x"))
        # ... and a known one goes to its own address
        dns.set_a("moved.test", "127.0.0.2", ttl=60)
        r = requests.patch(a + "/services/adm", json={"host": "moved.test", "port": two.port},
                           timeout=T)
        assert r.status_code == 200, r.text
        assert wait_until(lambda: get(s, "/adm/y").status_code == 200, 5.0)
        assert two.last().header("host") == "moved.test:%d" % two.port
    finally:
        s.stop()


def test_reload_with_new_hostname(dns, pair, sluice_factory):
    one, two = pair
    dns.set_a("first.test", "127.0.0.1", ttl=60)
    dns.set_a("second.test", "127.0.0.2", ttl=60)
    s = sluice_factory(kong(hsvc("r", "first.test", one.port)), conf(dns))
    assert get(s, "/a").status_code == 200
    assert len(one.requests) == 1
    s.write_kong(kong(hsvc("r", "second.test", two.port)))
    s.reload(wait=0)

    def reached_two():
        assert get(s, "/b").status_code == 200
        return len(two.requests) > 0
    assert wait_until(reached_two, 5.0), "the reloaded host name is not used"
    assert two.last().header("host") == "second.test:%d" % two.port
    assert dns.count("second.test", "A") >= 1


@pytest.mark.parametrize("key,value", [
    ("dns_resolver", "nope"),
    ("dns_resolver", "1.2.3.4:99999"),
    ("dns_resolver", "127.0.0.1:53, bogus"),
    ("dns_order", "A,MX"),
])
def test_bad_dns_settings_refuse_to_start(tmp_path, key, value):
    s = Sluice(tmp_path, kong(), {key: value}, start=False)
    try:
        with pytest.raises(SluiceError):
            s.start()
        assert s.returncode not in (None, 0)
        lines = s.stderr().splitlines()
        assert any(line.startswith("Error:") for line in lines), s.stderr()
    finally:
        s.kill()


def test_all_dns_settings_accepted(dns, upstream, sluice_factory, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    dns.set_a("ok.test", "127.0.0.1", ttl=60)
    s = sluice_factory(kong(hsvc("ok", "ok.test", upstream.port)), {
        "dns_resolver": "%s, [::1]:%d" % (dns.addr, dns.port),
        "dns_hostsfile": str(hosts),
        "dns_order": "LAST,SRV,A,CNAME",
        "dns_valid_ttl": "30",
        "dns_stale_ttl": "60",
        "dns_not_found_ttl": "5",
        "dns_error_ttl": "2",
        "dns_cache_size": "100",
        "dns_no_sync": "on",
    })
    assert get(s, "/x").status_code == 200


# ------------------------------------------------------------------------------- AAAA


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no IPv6 loopback")
def test_aaaa_used_when_listed(dns, sluice_factory):
    up6 = Upstream(host="::1").start()
    try:
        dns.set_aaaa("six.test", "::1", ttl=60)     # no A record: only AAAA can work
        s = sluice_factory(kong(hsvc("six", "six.test", up6.port)),
                           conf(dns, dns_order="AAAA,A"))
        r = get(s, "/six")
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert up6.wait_requests(1, 5) == 1
        assert dns.count("six.test", "AAAA") >= 1
    finally:
        up6.stop()


def test_aaaa_not_asked_by_default(dns, upstream, sluice_factory):
    dns.set_aaaa("six.test", "::1", ttl=60)
    s = sluice_factory(kong(hsvc("six", "six.test", upstream.port)), conf(dns))
    r, dt = timed_get(s, "/six")
    assert_name_failed(r)
    assert dt < 3.0, dt
    assert dns.count("six.test", "A") >= 1
    assert dns.count("six.test", "AAAA") == 0


# ------------------------------------------------------------------------------- review fixes


def test_empty_answer_after_a_good_one_keeps_the_stale_answer(dns, upstream, sluice_factory):
    # Kong replaces a record only on NXDOMAIN: an empty answer on refresh keeps the old one.
    dns.set_a("thin.test", "127.0.0.1", ttl=1)
    s = sluice_factory(kong(hsvc("t", "thin.test", upstream.port)),
                       conf(dns, dns_not_found_ttl=1))
    assert get(s, "/a").status_code == 200
    dns.set_nodata("thin.test")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4.0:
        r = get(s, "/b")
        assert r.status_code == 200, (time.monotonic() - t0, r.status_code, r.text[:200])
        time.sleep(0.1)
    assert dns.count("thin.test", "A") >= 2, dns.log
    # NXDOMAIN, however, ends it
    dns.forget("thin.test")
    assert wait_until(lambda: get(s, "/c").status_code == 503, 5.0)
    assert_name_failed(get(s, "/d"))


def test_round_robin_is_per_service(dns, pair, sluice_factory):
    # Requests alternating between two services: each service still spreads over its own
    # addresses (a counter shared by the services would pin each to one address).
    one, two = pair
    dns.set_a("ra.test", ["127.0.0.1", "127.0.0.2"])
    dns.set_a("rb.test", ["127.0.0.1", "127.0.0.2"])
    s = sluice_factory(kong(hsvc("ra", "ra.test", one.port, ["/a"]),
                            hsvc("rb", "rb.test", one.port, ["/b"])), conf(dns))
    for i in range(10):
        assert get(s, "/a/%d" % i).status_code == 200
        assert get(s, "/b/%d" % i).status_code == 200
    for prefix in ("/a/", "/b/"):
        n1 = sum(1 for q in one.requests if q.path.startswith(prefix))
        n2 = sum(1 for q in two.requests if q.path.startswith(prefix))
        assert (n1, n2) == (5, 5), (prefix, n1, n2)


def test_round_robin_goes_on_across_configuration_changes(dns, pair, sluice_factory):
    # A configuration published between every two requests (Admin API writes) does not restart
    # each service's rotation: the requests still alternate between the name's addresses.
    from lib.sluice import dump_yaml
    one, two = pair
    dns.set_a("rr.test", ["127.0.0.1", "127.0.0.2"])
    s = sluice_factory(kong(hsvc("rr", "rr.test", one.port, ["/r"])),
                       conf(dns, admin_listen="auto"))
    for i in range(6):
        # the same service, under its same id, with another route each time
        doc = kong(hsvc("rr", "rr.test", one.port, ["/r", "/extra%d" % i]))
        r = requests.post(s.admin_url("/config"), data=dump_yaml(doc),
                          headers={"Content-Type": "application/yaml"}, timeout=T)
        assert r.status_code == 201, r.text
        assert get(s, "/r/%d" % i).status_code == 200
    assert (len(one.requests), len(two.requests)) == (3, 3)


def test_graceful_quit_lets_a_request_waiting_for_dns_finish(dns, upstream, sluice_factory):
    # The resolver runs on the control loop, which keeps running while the workers drain.
    dns.set_a("late.test", "127.0.0.1", ttl=60)
    dns.set_delay("late.test", 2.0, qtype="SRV")
    s = sluice_factory(kong(hsvc("l", "late.test", upstream.port)),
                       conf(dns, quit_timeout=8))
    res = {}

    def call():
        try:
            res["r"] = get(s, "/late")
        except requests.RequestException as e:
            res["e"] = e
    th = threading.Thread(target=call)
    th.start()
    assert dns.wait_queries("late.test", "SRV", n=1, timeout=5.0) >= 1
    time.sleep(0.5)   # the request is in, waiting for the answer (the lookup began at start)
    assert "r" not in res and "e" not in res, res
    t0 = time.monotonic()
    s.signal(signal.SIGQUIT)
    th.join(T)
    assert "e" not in res, res.get("e")
    assert res["r"].status_code == 200, (res["r"].status_code, res["r"].text[:300])
    assert s.wait(10.0) == 0
    assert time.monotonic() - t0 < 6.0, "the drain waited for its timeout"


def test_first_answer_bounded_with_several_dead_servers(dns, upstream, sluice_factory):
    # Three servers that never answer: c-ares alone would take tries x servers x growing
    # timeouts; a request waiting for the name's first answer gets a 500 within ~10 s.
    others = [DNSStub().start(), DNSStub().start()]
    try:
        for d in [dns] + others:
            d.set_dead()
        resolvers = ",".join(d.addr for d in [dns] + others)
        s = sluice_factory(kong(hsvc("d", "dead.test", upstream.port)),
                           {"dns_resolver": resolvers})
        r, dt = timed_get(s, "/d", timeout=30)
        assert_servers_failed(r)
        assert dt < 12.0, dt
    finally:
        for d in others:
            d.stop()


def test_srv_records_naming_the_service_itself_are_ignored(dns, upstream, ports, sluice_factory):
    # Kubernetes DNS: an SRV question for a Service's own name gets one record per port, each
    # naming the Service; Kong ignores them and uses the A record with the service's own port.
    a, b = ports
    dns.set_srv("k8s.test", [(0, 50, a.port, "k8s.test"), (0, 50, b.port, "k8s.test")])
    dns.set_a("k8s.test", "127.0.0.1")
    s = sluice_factory(kong(hsvc("k", "k8s.test", upstream.port)), conf(dns))
    for i in range(6):
        assert get(s, "/k/%d" % i).status_code == 200
    assert len(upstream.requests) == 6 and not a.requests and not b.requests
    assert dns.count("k8s.test", "A") >= 1


def test_ttl_zero_without_stale_never_makes_requests_wait(dns, upstream, sluice_factory):
    dns.set_a("z0.test", "127.0.0.1", ttl=0)
    s = sluice_factory(kong(hsvc("z", "z0.test", upstream.port)), conf(dns, dns_stale_ttl=0))
    assert get(s, "/first").status_code == 200
    lat = []
    t0 = time.monotonic()
    with requests.Session() as sess:
        while time.monotonic() - t0 < 3.0:
            t1 = time.monotonic()
            assert sess.get(s.url("/z"), timeout=T).status_code == 200
            lat.append(time.monotonic() - t1)
            time.sleep(0.02)
    assert max(lat) < 0.2, "a request waited %.3f s for a refresh of a name in use" % max(lat)
    assert dns.count("z0.test", "A") >= 2


def test_srv_large_weights_and_multi_address_targets_keep_their_split(dns, ports, sluice_factory):
    # Weights are relative shares however large (10000:50000 is 1:5), and a target's addresses
    # share its record's weight (a target with two addresses does not get two shares).
    a, b = ports
    dns.set_srv("big.test", [(10, 10000, a.port, "t1.test"), (10, 50000, b.port, "t2.test")])
    dns.set_a("t1.test", "127.0.0.1")
    dns.set_a("t2.test", "127.0.0.1")
    s = sluice_factory(kong(hsvc("big", "big.test", 1, ["/big"])), conf(dns))
    for i in range(60):
        assert get(s, "/big/%d" % i).status_code == 200, i
    assert (len(a.requests), len(b.requests)) == (10, 50), (len(a.requests), len(b.requests))
    a.reset()
    b.reset()
    # two.test has two addresses (the same one twice) and weight 1, t2 one address and weight 1:
    # t2 still gets half of the requests.
    dns.set_srv("split.test", [(10, 1, b.port, "t2.test"), (10, 1, a.port, "two.test")])
    dns.set_a("two.test", ["127.0.0.1", "127.0.0.1"])
    s2 = sluice_factory(kong(hsvc("sp", "split.test", 1, ["/sp"])), conf(dns))
    for i in range(40):
        assert get(s2, "/sp/%d" % i).status_code == 200, i
    assert len(b.requests) == 20, (len(a.requests), len(b.requests))


# ------------------------------------------------------------------------------- reload


def _in_background(fn):
    """Runs fn() in a thread; returns a list that holds its result (or exception) once done."""
    out = []

    def run():
        try:
            out.append(fn())
        except Exception as e:  # noqa: BLE001 - handed to the test
            out.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return out, t


@pytest.mark.parametrize("kind", ["A", "SRV"])
def test_reload_moves_lookups_in_flight_to_the_new_name_servers(kind, dns, sluice_factory):
    # The usual reason to change dns_resolver: the old server stopped answering. A lookup stuck on
    # it is cancelled and asked again of the new server at once (c-ares 1.18 cannot change the
    # servers of a channel with queries in flight); waiting for a moment with no query in flight
    # could wait forever under steady traffic, and the waiting request would get a 500.
    other = DNSStub().start()
    up = Upstream(host="127.0.0.1").start()
    try:
        if kind == "A":
            host = "api.test"
            dns.set_dead(True)  # nothing answered: the first query (SRV) waits out its timeouts
            other.set_a(host, "127.0.0.1", ttl=60)
            stuck = ("api.test", "SRV")
        else:
            host = "_http._tcp.api.test"  # the SRV answer comes; its target's A query is dropped
            dns.set_srv(host, [(1, 1, up.port, "t.test")], ttl=60)
            dns.set_drop("t.test")
            other.set_srv(host, [(1, 1, up.port, "t.test")], ttl=60)
            other.set_a("t.test", "127.0.0.1", ttl=60)
            stuck = ("t.test", "A")
        s = sluice_factory(kong(hsvc("api", host, up.port if kind == "A" else 1)), conf(dns))
        out, t = _in_background(lambda: get(s, "/x"))
        assert dns.wait_queries(*stuck, n=1, timeout=5) >= 1
        time.sleep(0.3)
        assert not out, "the request should still be waiting for its lookup"
        t0 = time.monotonic()
        s.write_conf(dns_resolver=other.addr)
        s.signal(signal.SIGHUP)
        t.join(T)
        took = time.monotonic() - t0
        assert out and not isinstance(out[0], Exception), out
        assert out[0].status_code == 200, (out[0].status_code, out[0].text[:300])
        assert took < 2.5, took  # the old server's timeouts (about 6 s) were not waited out
        assert "dns: name servers changed to %s" % other.addr in s.error_log()
        assert other.count(*stuck) >= 1 and len(up.requests) == 1
        # the cancelled lookup published nothing: no failure was logged for the name
        assert "could not be resolved" not in s.error_log(), s.error_log()[-2000:]
    finally:
        up.stop()
        other.stop()


def test_reload_back_to_the_servers_in_use_changes_nothing(dns, upstream, sluice_factory):
    # Reloads compare dns_resolver with the servers the resolver has: going A -> B -> A switches
    # twice, and a reload that leaves the value alone does not touch the resolver.
    other = DNSStub().start()
    try:
        dns.set_a("api.test", "127.0.0.1", ttl=60)
        s = sluice_factory(kong(hsvc("api", "api.test", upstream.port)), conf(dns))
        assert get(s, "/a").status_code == 200
        n = s.error_log().count("reload: configuration reloaded")
        s.signal(signal.SIGHUP)
        assert wait_until(lambda: s.error_log().count("reload: configuration reloaded") == n + 1, 5)
        assert "name servers changed" not in s.error_log()
        for addr, times in ((other.addr, 1), (dns.addr, 1)):
            s.write_conf(dns_resolver=addr)
            s.signal(signal.SIGHUP)
            msg = "dns: name servers changed to %s" % addr
            assert wait_until(lambda: s.error_log().count(msg) == times, 5), s.error_log()[-2000:]
        assert get(s, "/b").status_code == 200
    finally:
        other.stop()


def test_reload_switches_name_servers(dns, sluice_factory):
    # dns_resolver changes with a reload: the next lookups go to the new server (c-ares takes the
    # change once no query is in flight, within a tick), and cached answers live out their TTL.
    other = DNSStub().start()
    one = Upstream(host="127.0.0.1").start()
    try:
        try:
            two = Upstream(host="127.0.0.2", port=one.port).start()
        except OSError:
            pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")
        dns.set_a("api.test", "127.0.0.1", ttl=1)
        other.set_a("api.test", "127.0.0.2", ttl=1)
        s = sluice_factory(kong(hsvc("api", "api.test", one.port)), conf(dns))
        assert get(s, "/a").status_code == 200 and len(one.requests) == 1
        before = s.error_log().count("reload: configuration reloaded")
        s.write_conf(dns_resolver=other.addr)
        s.signal(signal.SIGHUP)
        assert wait_until(lambda: "dns: name servers changed to %s" % other.addr
                          in s.error_log(), 5), s.error_log()[-2000:]
        # the reload's own line follows the resolver's (both from the control thread)
        assert wait_until(lambda: s.error_log().count("reload: configuration reloaded") ==
                          before + 1, 5), s.error_log()[-2000:]
        # after the 1 s TTL the name is asked again, of the new server
        assert wait_until(lambda: get(s, "/b").status_code == 200 and len(two.requests) > 0,
                          8), (len(one.requests), len(two.requests))
        assert other.count("api.test", "A") >= 1
        n = len(two.requests)
        assert get(s, "/c").status_code == 200 and len(two.requests) == n + 1
    finally:
        one.stop()
        other.stop()
        try:
            two.stop()
        except NameError:
            pass
