# SPDX-License-Identifier: Apache-2.0
"""Reload (HUP, `sluice reload`) of sluice.conf values a running process can change (DESIGN.md §1),
and log rotation (USR1):

- limits, timeouts, `headers`, trusted_ips, keep-alive settings and the logs change without a
  restart, from the next request of every connection (also an open keep-alive one);
- keys that need a restart (proxy_listen, worker_processes, ...) keep their running value and the
  error log says so;
- a reload that cannot be applied whole (a log file that cannot be opened, an invalid file)
  changes nothing;
- the hosts file is read again;
- USR1 reopens both logs at their paths (after a rename by logrotate).
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from lib import upstream as U
from lib.ports import free_port
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service, wait_until

T = 5
RELOADED = "reload: configuration reloaded"


def doc(up):
    return kong(service("e", up.port, [{"name": "r", "paths": ["/"], "strip_path": False}]))


def reload(s, **conf):
    """Rewrites sluice.conf with <conf> and reloads; waits for the reload's notice line."""
    before = s.error_log().count(RELOADED)
    s.write_conf(**conf)
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: s.error_log().count(RELOADED) > before), s.error_log()[-2000:]


def get(s, target="/x", headers=(), body=None, method="GET", conn=None):
    data = request_bytes(method, target, host="client.test", headers=list(headers), body=body)
    if conn is not None:
        conn.send(data)
        return conn.read_response()
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(data)
        return c.read_response()


def test_headers_setting_reloaded_on_open_keepalive_connection(upstream, sluice_factory):
    s = sluice_factory(doc(upstream))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        r = get(s, conn=c)
        assert r.status == 200 and r.has("Via") and r.has("X-Sluice-Upstream-Latency")
        reload(s, headers="off")
        # The same connection's next request runs with the reloaded settings.
        r = get(s, conn=c)
        assert r.status == 200
        assert not r.has("Via") and not r.has("X-Sluice-Upstream-Latency"), r.headers
        assert not r.has("X-Sluice-Proxy-Latency")
    r = get(s)
    assert r.status == 200 and not r.has("Via")
    reload(s, headers="server_tokens, latency_tokens")
    r = get(s)
    assert r.has("Via") and r.has("X-Sluice-Upstream-Latency")


def test_body_limit_reloaded_both_ways(upstream, sluice_factory):
    s = sluice_factory(doc(upstream), {"client_max_body_size": "1k"})
    body = b"b" * 2048
    assert get(s, method="POST", body=body).status == 413
    reload(s, client_max_body_size="4k")
    r = get(s, method="POST", body=body)
    assert r.status == 200, r
    assert json.loads(r.body)["body_len"] == 2048
    reload(s, client_max_body_size="1k")
    assert get(s, method="POST", body=body).status == 413


def test_header_count_limit_can_grow_past_the_start_value(upstream, sluice_factory):
    # The worker's header scratch is sized by lua_max_req_headers at start; a reload that raises
    # the limit must grow it (a request with 150 headers is parsed whole, then proxied).
    s = sluice_factory(doc(upstream), {"lua_max_req_headers": "10"})
    many = [("X-H%d" % i, "v%d" % i) for i in range(150)]
    assert get(s, headers=many).status == 400
    reload(s, lua_max_req_headers="200")
    r = get(s, headers=many)
    assert r.status == 200, r
    seen = json.loads(r.body)["headers"]
    assert seen["x-h0"] == "v0" and seen["x-h149"] == "v149"
    reload(s, lua_max_req_headers="10")
    assert get(s, headers=many).status == 400
    assert get(s).status == 200


def test_trusted_ips_reloaded(upstream, sluice_factory):
    s = sluice_factory(doc(upstream))
    spoof = [("X-Forwarded-Proto", "https")]
    seen = json.loads(get(s, headers=spoof).body)["headers"]
    assert seen["x-forwarded-proto"] == "http"  # untrusted peer: overwritten
    reload(s, trusted_ips="127.0.0.1")
    seen = json.loads(get(s, headers=spoof).body)["headers"]
    assert seen["x-forwarded-proto"] == "https"  # trusted now: kept
    reload(s, trusted_ips="10.0.0.0/8")
    seen = json.loads(get(s, headers=spoof).body)["headers"]
    assert seen["x-forwarded-proto"] == "http"


def test_keepalive_timeout_reloaded(upstream, sluice_factory):
    s = sluice_factory(doc(upstream), {"keepalive_timeout": "60s"})
    reload(s, keepalive_timeout="1s")
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        assert get(s, conn=c).status == 200
        t0 = time.monotonic()
        assert c.closed(timeout=4.0), "idle keep-alive connection not closed after 1 s"
        assert 0.7 < time.monotonic() - t0 < 3.5


def test_restart_only_keys_keep_running_values_and_are_logged(upstream, sluice_factory):
    s = sluice_factory(doc(upstream))
    reload(s, worker_processes="2", headers="off")
    log = s.error_log()
    assert "reload: worker_processes changed; it takes effect at the next start" in log, log
    # The reloadable key in the same file was applied; still one worker.
    r = get(s)
    assert r.status == 200 and not r.has("Via")
    assert sum(1 for t in os.listdir("/proc/%d/task" % s.pid)
               if open("/proc/%d/task/%s/comm" % (s.pid, t)).read().startswith("sluice-w")) == 1


def connects(port):
    with socket.socket() as c:
        c.settimeout(1)
        return c.connect_ex(("127.0.0.1", port)) == 0


def listen_backlog(port):
    """The backlog of the listening socket on <port>, from `ss` (its Send-Q column)."""
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[2]) if len(out) >= 3 else None


@pytest.mark.parametrize("workers,reuseport", [(1, True), (2, True), (2, False)])
def test_proxy_listen_reloaded_without_dropping_connections(upstream, sluice_factory, workers,
                                                            reuseport):
    flag = " reuseport" if reuseport else ""
    s = sluice_factory(doc(upstream), {"worker_processes": str(workers),
                                       "proxy_listen": "127.0.0.1:{port}" + flag})
    old = s.port
    new = free_port()
    with RawConn("127.0.0.1", old, timeout=T) as kept:
        assert get(s, conn=kept).status == 200
        # add a listener
        reload(s, proxy_listen="127.0.0.1:%d%s, 127.0.0.1:%d%s" % (old, flag, new, flag))
        for _ in range(2 * workers):
            with RawConn("127.0.0.1", new, timeout=T) as c:
                r = get(s, conn=c)
                assert r.status == 200
                assert json.loads(r.body)["headers"]["x-forwarded-port"] == str(new)
        assert get(s).status == 200  # the old one still serves
        # remove the first: it stops accepting, the connection it accepted goes on
        reload(s, proxy_listen="127.0.0.1:%d%s" % (new, flag))
        assert wait_until(lambda: not connects(old)), "the removed listener still accepts"
        assert get(s, conn=kept).status == 200
    with RawConn("127.0.0.1", new, timeout=T) as c:
        assert get(s, conn=c).status == 200


def test_proxy_listen_backlog_change_keeps_the_socket(upstream, sluice_factory):
    s = sluice_factory(doc(upstream), {"proxy_listen": "127.0.0.1:{port} reuseport backlog=100"})
    assert listen_backlog(s.port) == 100
    with RawConn("127.0.0.1", s.port, timeout=T) as kept:
        assert get(s, conn=kept).status == 200
        reload(s, proxy_listen="127.0.0.1:%d reuseport backlog=200" % s.port)
        assert listen_backlog(s.port) == 200
        assert get(s, conn=kept).status == 200
    assert get(s).status == 200
    # reuseport cannot change on an open socket: the listener stays, and the log says so
    reload(s, proxy_listen="127.0.0.1:%d backlog=200" % s.port)
    assert "reuseport changes at the next start" in s.error_log()
    assert get(s).status == 200


def test_proxy_listen_bind_error_fails_the_reload_whole(upstream, sluice_factory):
    s = sluice_factory(doc(upstream))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        before = s.error_log().count(RELOADED)
        s.write_conf(proxy_listen="127.0.0.1:%d, 127.0.0.1:%d" % (s.port, busy),
                     headers="off")
        s.signal(signal.SIGHUP)
        assert wait_until(lambda: "keeping the running configuration" in s.error_log())
        assert s.error_log().count(RELOADED) == before
        assert "%d" % busy in s.error_log()
        r = get(s)
        assert r.status == 200 and r.has("Via")  # headers = off was not applied either


def test_reload_that_cannot_open_its_logs_changes_nothing(upstream, sluice_factory, tmp_path):
    s = sluice_factory(doc(upstream))
    before = s.error_log().count(RELOADED)
    access = s.access_log_path
    bad = str(tmp_path / "no-such-dir" / "access.log")
    s.write_conf(proxy_access_log=bad, headers="off", client_max_body_size="1")
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: "could not open access log " + bad in s.error_log()), s.error_log()
    assert "keeping the running configuration" in s.error_log()
    assert s.error_log().count(RELOADED) == before
    r = get(s, method="POST", body=b"x" * 100)
    assert r.status == 200 and r.has("Via")  # neither the headers nor the limit changed
    # ... and the access log is still the running one.
    assert wait_until(lambda: open(access).read().count('"POST /x HTTP/1.1" 200') == 1)


def test_access_log_path_and_format_reloaded(upstream, sluice_factory, tmp_path):
    s = sluice_factory(doc(upstream))
    assert get(s, "/before").status == 200
    assert wait_until(lambda: "GET /before" in s.access_log())
    new_log = str(tmp_path / "json-access.log")
    old_log = s.access_log_path
    reload(s, proxy_access_log=new_log, proxy_access_log_format="json")
    assert get(s, "/after").status == 200

    def lines():
        try:
            with open(new_log) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []
    assert wait_until(lambda: any(l["uri"] == "/after" for l in lines())), lines()
    with open(old_log) as f:
        assert "/after" not in f.read()
    reload(s, proxy_access_log="off")
    assert get(s, "/off").status == 200
    time.sleep(0.3)
    assert not any(l["uri"] == "/off" for l in lines())


def test_usr1_reopens_both_logs_after_rotation(sluice_factory, upstream):
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "r", "paths": ["/"]}]),
                            service("dead", free_port(), [{"name": "d", "paths": ["/dead"]}])))
    access, error = s.access_log_path, s.error_log_path
    assert get(s, "/one").status == 200
    assert wait_until(lambda: "GET /one" in s.access_log())
    os.rename(access, access + ".1")
    os.rename(error, error + ".1")
    # Before USR1 the renamed files still receive the lines (the descriptors follow them).
    assert get(s, "/two").status == 200
    assert wait_until(lambda: "GET /two" in open(access + ".1").read())
    s.signal(signal.SIGUSR1)
    assert wait_until(lambda: os.path.exists(access) and os.path.exists(error))
    assert get(s, "/three").status == 200
    assert get(s, "/dead").status == 502  # writes an error line
    assert wait_until(lambda: "GET /three" in open(access).read()), open(access).read()
    assert wait_until(lambda: "[error]" in open(error).read()), open(error).read()
    assert "GET /three" not in open(access + ".1").read()


@pytest.fixture
def pair():
    """Two echo upstreams on one port: 127.0.0.1 and 127.0.0.2 (a hosts file picks one)."""
    one = U.Upstream(host="127.0.0.1").start()
    try:
        two = U.Upstream(host="127.0.0.2", port=one.port).start()
    except OSError:
        one.stop()
        pytest.skip("the port is taken on 127.0.0.2")
    yield one, two
    one.stop()
    two.stop()


def hosts_backed(sluice_factory, tmp_path, port, **conf):
    """A Sluice whose one service is `backend.internal`, which its own hosts file maps to
    127.0.0.1 (no name server answers); returns (sluice, hosts file)."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 backend.internal\n")
    svc = {"name": "e", "host": "backend.internal", "port": port, "protocol": "http",
           "routes": [{"name": "r", "paths": ["/"]}]}
    conf.update({"dns_hostsfile": str(hosts), "dns_resolver": "127.0.0.1:%d" % free_port()})
    return sluice_factory(kong(svc), conf), hosts, svc


def test_hosts_file_read_again_on_reload(sluice_factory, tmp_path, pair):
    one, two = pair
    s, hosts, _ = hosts_backed(sluice_factory, tmp_path, one.port)
    assert get(s).status == 200
    assert len(one.requests) == 1 and len(two.requests) == 0
    hosts.write_text("127.0.0.2 backend.internal\n")
    reload(s)
    assert get(s).status == 200
    assert len(one.requests) == 1 and len(two.requests) == 1


def test_settings_reloads_under_traffic_lose_nothing(upstream, sluice_factory):
    # Requests in flight keep the settings they started with while reloads swap them; every
    # request succeeds and none stalls (run under ASan this also checks the references).
    s = sluice_factory(doc(upstream))
    stop = threading.Event()
    errors, count = [], [0]

    def client():
        with requests.Session() as sess:
            while not stop.is_set():
                try:
                    r = sess.post(s.url("/x"), data=b"p" * 3000,
                                  headers={"X-A": "1", "X-B": "2"}, timeout=T)
                    if r.status_code != 200:
                        errors.append(r.status_code)
                    count[0] += 1
                except requests.RequestException as e:
                    errors.append(repr(e))
    ts = [threading.Thread(target=client) for _ in range(4)]
    for t in ts:
        t.start()
    try:
        for i in range(12):
            reload(s, headers="off" if i % 2 else "server_tokens, latency_tokens",
                   lua_max_req_headers=str(50 + 40 * (i % 3)),
                   client_max_body_size="%dk" % (8 + i))
            time.sleep(0.1)
    finally:
        stop.set()
        for t in ts:
            t.join(10)
    assert not errors, errors[:5]
    assert count[0] > 50
    assert s.alive()


def test_admin_listen_turned_on_and_off_by_reload(upstream, sluice_factory):
    s = sluice_factory(doc(upstream))  # admin_listen = off
    port = free_port()
    assert not connects(port)
    reload(s, admin_listen="127.0.0.1:%d" % port)
    r = requests.get("http://127.0.0.1:%d/services/e" % port, timeout=T)
    assert r.status_code == 200 and r.json()["name"] == "e"
    reload(s, admin_listen="off")
    assert not connects(port)
    assert get(s).status == 200


def test_new_connection_on_an_idle_worker_gets_the_reloaded_header_timeout(upstream,
                                                                           sluice_factory):
    # The worker has served nothing since the reload: the connection's first deadline must
    # still be the new client_header_timeout.
    s = sluice_factory(doc(upstream), {"client_header_timeout": "30s"})
    reload(s, client_header_timeout="1s")
    with socket.create_connection(("127.0.0.1", s.port), timeout=T) as c:
        t0 = time.monotonic()
        c.settimeout(4)
        try:
            data = c.recv(1024)
        except socket.timeout:
            data = None
        assert data is not None, "still open after 4 s"
        assert time.monotonic() - t0 < 3.5


def test_failed_reload_keeps_the_hosts_table_it_had(sluice_factory, tmp_path, pair):
    one, two = pair
    s, hosts, svc = hosts_backed(sluice_factory, tmp_path, one.port, admin_listen="auto")
    assert get(s).status == 200 and len(one.requests) == 1
    # the hosts file changes, but the reload fails (an invalid declarative file) ...
    hosts.write_text("127.0.0.2 backend.internal\n")
    s.write_kong("_format_version: '3.0'\nservices: [{name: 1}]\n")
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: "keeping the running configuration" in s.error_log())
    # ... so a snapshot compiled later (an Admin API write) still uses the table it had
    r = requests.post(s.admin_url("/config"), json=kong(svc), timeout=T)
    assert r.status_code == 201, r.text
    assert get(s).status == 200
    assert len(one.requests) == 2 and len(two.requests) == 0


def test_configuration_hash_follows_the_file_a_reload_serves(upstream, sluice_factory):
    # /status's configuration_hash is the MD5 of the declarative text being served (Kong's): a
    # reload that serves a new file shows its hash; one that fails keeps the hash of the file
    # still served, not of the file on disk.
    import hashlib

    from lib.sluice import dump_yaml
    s = sluice_factory(doc(upstream), {"admin_listen": "auto"})
    status = s.admin_url("/status")

    def served_hash():
        return requests.get(status, timeout=T).json()["configuration_hash"]

    def md5_of_file():
        with open(s.kong_path, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()
    first = md5_of_file()
    assert served_hash() == first
    s.write_kong(dump_yaml(kong(service("e2", upstream.port,
                                        [{"name": "r2", "paths": ["/two"]}]))))
    second = md5_of_file()
    assert second != first
    reload(s)
    assert served_hash() == second
    s.write_kong("_format_version: '3.0'\nservices:\n- name: bad\n  port: 70000\n")
    before = s.error_log().count("keeping the running configuration")
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: s.error_log().count("keeping the running configuration") > before)
    assert served_hash() == second
    # no declarative file any more: the configuration served is empty, and its hash is Kong's
    # 32 zeros
    reload(s, declarative_config=None)
    assert get(s, "/two").status == 404
    assert served_hash() == "0" * 32
