# SPDX-License-Identifier: Apache-2.0
"""The Status API on status_listen (kong/status/init.lua, kong/status/ready.lua): GET /status as the
Admin API serves it, the readiness probe /status/ready with Kong's reasons, `sluice drain` (kong
drain) turning the probe to 503 while the proxy keeps serving, and nothing else of the Admin API
reachable there."""

import os

import requests

# the ssl listeners serve Sluice's self-signed defaults: https requests here do not verify; the
# Admin TLS tests' autouse fixture silences urllib3's warning for them too
from integration.test_admin_tls import quiet_insecure_warnings  # noqa: F401
from lib.ports import free_port
from lib.rawhttp import raw
from lib.sluice import Sluice, cli, kong, port_open, service, wait_until

T = 10


def _status_port(*taken):
    p = free_port()
    while p in taken:
        p = free_port()
    return p


def _start(sluice_factory, kong_yml, **conf):
    # "auto": a free port distinct from the proxy's and the Admin API's (lib/sluice.py)
    conf.setdefault("status_listen", "auto")
    return sluice_factory(kong_yml, conf=conf)


def _reload(s):
    """Reloads <s> and waits for the control thread to have applied it (the new listeners are
    open once "reload: configuration reloaded" is logged)."""
    done = s.error_log().count("reload: configuration reloaded")
    s.reload(wait=0)
    assert wait_until(lambda: s.error_log().count("reload: configuration reloaded") > done,
                      timeout=T), s.error_log()[-2000:]


def _get(s, path, **kw):
    return requests.get("http://127.0.0.1:%d%s" % (s.status_port, path), timeout=T, **kw)


def test_ready_with_a_declarative_configuration(upstream, sluice_factory):
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])))
    r = _get(s, "/status/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "ready"}
    assert r.headers["Content-Type"].startswith("application/json")
    # /status is the Admin API's: counters and the configuration hash
    st = _get(s, "/status").json()
    assert set(st) == {"memory", "server", "configuration_hash"}, st
    assert st["configuration_hash"] != "0" * 32
    assert st["server"]["total_requests"] >= 0
    assert _get(s, "/status?unit=x").status_code == 400
    assert requests.head("http://127.0.0.1:%d/status/ready" % s.status_port,
                         timeout=T).status_code == 200


def test_dbless_without_configuration_is_not_ready_until_one_is_posted(upstream, sluice_factory):
    s = _start(sluice_factory, kong(), declarative_config=None, admin_listen="auto")
    r = _get(s, "/status/ready")
    assert r.status_code == 503
    assert r.reason == "Service Unavailable"
    assert r.json() == {"message": "no configuration available (empty configuration present)"}
    assert "not ready for proxying: no configuration available" in s.error_log()
    doc = {"_format_version": "3.0",
           "services": [{"name": "a", "url": "http://127.0.0.1:%d" % upstream.port,
                         "routes": [{"paths": ["/a"]}]}]}
    assert requests.post(s.admin_url("/config"), json=doc, timeout=T).status_code == 201
    assert _get(s, "/status/ready").json() == {"message": "ready"}


def test_ready_with_the_sqlite_store(sluice_factory, tmp_path):
    s = _start(sluice_factory, kong(), database="sqlite", declarative_config=None,
               sqlite_path=str(tmp_path / "sluice.db"))
    r = _get(s, "/status/ready")
    assert (r.status_code, r.json()) == (200, {"message": "ready"})
    assert _get(s, "/status").json()["database"] == {"reachable": True}


def test_only_the_status_endpoints_are_served(upstream, sluice_factory):
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])))
    for path in ("/", "/services", "/routes", "/config", "/endpoints", "/status/x",
                 "/schemas/routes"):
        r = _get(s, path)
        assert (r.status_code, r.json()) == (404, {"message": "Not found"}), path
    base = "http://127.0.0.1:%d" % s.status_port
    for method in ("PUT", "DELETE", "PATCH"):
        r = requests.request(method, base + "/status/ready", timeout=T)
        assert (r.status_code, r.json()) == (405, {"message": "Method not allowed"}), method
    r = requests.post(base + "/status", json={}, timeout=T)
    assert r.status_code == 405
    # a drain request must say what it asks for
    r = requests.post(base + "/status/ready", json={"status": "ready"}, timeout=T)
    assert (r.status_code, r.json()) == (400, {"message": "status: expected 'draining'"})
    r = requests.post(base + "/status/ready", data="{", timeout=T,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert _get(s, "/status/ready").status_code == 200  # none of these drained it
    # and the Admin API does not serve the probe
    s2 = _start(sluice_factory, kong(), admin_listen="auto", status_listen="off")
    assert requests.get(s2.admin_url("/status/ready"), timeout=T).status_code == 404


def test_drain_turns_the_probe_to_503_and_proxying_goes_on(upstream, sluice_factory):
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])))
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    # run from elsewhere and without -c: the instance's own status_listen is found
    r = cli("drain", "-p", s.prefix, cwd="/")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.strip() == "Sluice's status successfully changed to 'draining'"
    ready = _get(s, "/status/ready")
    assert (ready.status_code, ready.json()) == (503, {"message": "draining"})
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    assert _get(s, "/status").status_code == 200
    assert "status: draining" in s.error_log()
    # a reload keeps it (Kong keeps the flag in shared memory across reloads)
    _reload(s)
    assert _get(s, "/status/ready").json() == {"message": "draining"}
    # a second drain is answered the same way
    assert cli("drain", "-p", s.prefix).returncode == 0


def test_drain_failures(upstream, sluice_factory, tmp_path):
    # no status listener: Kong's message (and an exit status a script can test)
    conf = tmp_path / "off.conf"
    conf.write_text("status_listen = off\nprefix = %s\n" % (tmp_path / "none"))
    r = cli("drain", "-c", str(conf))
    assert (r.returncode, r.stdout.strip()) == (1, "No status listeners found in configuration.")
    # nothing listening there
    port = _status_port()
    conf.write_text("status_listen = 127.0.0.1:%d\nprefix = %s\n" % (port, tmp_path / "none"))
    r = cli("drain", "-c", str(conf))
    assert r.returncode == 1
    assert r.stdout.strip() == ("Failed to send request to http://127.0.0.1:%d/status/ready: "
                                "Connection refused" % port), r.stdout
    # something that is not the Status API answers there: the status is reported
    s = sluice_factory(kong(service("a", upstream.port, routes=[{"paths": ["/"]}])))
    conf.write_text("status_listen = 127.0.0.1:%d\nprefix = %s\n" % (s.port, tmp_path / "none"))
    r = cli("drain", "-c", str(conf))
    assert r.returncode == 1
    assert r.stdout.startswith("Unexpected response status from http://127.0.0.1:%d/status/ready: "
                               % s.port), r.stdout


def test_status_listen_entries(upstream, sluice_factory):
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])),
               admin_listen="auto")
    assert _get(s, "/status/ready").status_code == 200
    # a second entry, with ssl, applied by a reload; the plain one keeps its socket
    tls = _status_port(s.port, s.admin_port, s.status_port)
    s.write_conf(status_listen="127.0.0.1:%d, 127.0.0.1:%d ssl" % (s.status_port, tls))
    _reload(s)
    r = requests.get("https://127.0.0.1:%d/status/ready" % tls, verify=False, timeout=T)
    assert (r.status_code, r.json()) == (200, {"message": "ready"})
    assert _get(s, "/status/ready").status_code == 200
    # plain HTTP to the ssl entry gets no answer from the Status API
    assert not raw("127.0.0.1", tls, b"GET /status/ready HTTP/1.0\r\n\r\n",
                   timeout=2).startswith(b"HTTP/1.1 200")
    # the Admin API on its own port is unaffected
    assert requests.get(s.admin_url("/services"), timeout=T).status_code == 200


def test_status_listen_on_the_admin_port_refuses_to_start(sluice_factory, tmp_path):
    s = Sluice(tmp_path, kong(), start=False)
    port = _status_port(s.port)
    s.write_conf(admin_listen="127.0.0.1:%d" % port, status_listen="127.0.0.1:%d" % port)
    r = cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode != 0
    assert "status_listen: " in r.stderr and "Address already in use" in r.stderr, r.stderr


def test_the_probe_is_plain_http_on_a_raw_socket(upstream, sluice_factory):
    # what a load balancer's TCP health check or a minimal probe sends: HTTP/1.0, no Host
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])))
    data = bytes(raw("127.0.0.1", s.status_port, b"GET /status/ready HTTP/1.0\r\n\r\n", timeout=T))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert body == b'{"message":"ready"}'


def _serve_once(handler):
    """A listener on a free loopback port whose one connection is given to handler(conn) in a
    thread; returns (port, thread)."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def run():
        conn, _ = srv.accept()
        try:
            handler(conn)
        except OSError:
            pass
        finally:
            conn.close()
            srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], t


def test_drain_gives_up_within_a_second_on_a_peer_that_trickles(tmp_path):
    import time

    # a byte every 0.3 s of a status line: each read is quick, the answer never completes in time
    def trickle(conn):
        conn.recv(4096)
        for b in b"HTTP/1.1 204 No Content\r\n":
            conn.sendall(bytes([b]))
            time.sleep(0.3)

    port, t = _serve_once(trickle)
    conf = tmp_path / "d.conf"
    conf.write_text("status_listen = 127.0.0.1:%d\nprefix = %s\n" % (port, tmp_path / "none"))
    began = time.monotonic()
    r = cli("drain", "-c", str(conf))
    took = time.monotonic() - began
    assert r.returncode == 1, r.stdout
    assert r.stdout.strip() == ("Failed to send request to http://127.0.0.1:%d/status/ready: "
                                "timeout" % port), r.stdout
    assert took < 2.5, took
    t.join(10)


def test_idle_probe_connections_do_not_lock_out_the_admin_api(upstream, sluice_factory):
    # The status listener is often reachable where the Admin API is not (a probe's network):
    # connections held open there must not use up the Admin API's, nor the reverse.
    import socket

    from lib.sluice import open_files
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])),
               admin_listen="auto", client_header_timeout="60s")
    s.set_open_files(2600)
    with open_files(2600):
        for held, other in ((s.status_port, s.admin_port), (s.admin_port, s.status_port)):
            conns = []
            try:
                for _ in range(1024):
                    conns.append(socket.create_connection(("127.0.0.1", held), timeout=T))
                # answered on the last: all 1024 are accepted and open
                conns[-1].sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
                assert conns[-1].recv(64).startswith(b"HTTP/1.1 200"), held
                r = requests.get("http://127.0.0.1:%d/status" % other, timeout=T)
                assert r.status_code == 200
            finally:
                for c in conns:
                    c.close()


def test_a_reload_applies_status_listen_and_drain_finds_it(upstream, sluice_factory):
    # Kong's reload applies status_listen (nginx reopens its listeners) and `kong drain` reads the
    # node's configuration as of that reload: the instance must listen where the file says.
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])),
               admin_listen="auto")
    old = s.status_port
    new = _status_port(old, s.admin_port, s.port)
    s.write_conf(status_listen="127.0.0.1:%d" % new)
    _reload(s)
    s.status_port = new
    assert _get(s, "/status/ready").json() == {"message": "ready"}
    assert not port_open(old)
    assert "status_listen changed" not in s.error_log()
    r = cli("drain", "-p", s.prefix)
    assert (r.returncode, r.stdout.strip()) == (
        0, "Sluice's status successfully changed to 'draining'"), r.stdout
    assert _get(s, "/status/ready").json() == {"message": "draining"}
    # the Admin API and the Status API swap ports in one reload: each socket is kept, and serves
    # the API its address now names
    admin = s.admin_port
    s.write_conf(status_listen="127.0.0.1:%d" % admin, admin_listen="127.0.0.1:%d" % new)
    _reload(s)
    assert "keeping the running configuration" not in s.error_log()
    assert requests.get("http://127.0.0.1:%d/services" % new, timeout=T).status_code == 200
    s.status_port = admin
    assert _get(s, "/status/ready").json() == {"message": "draining"}
    assert _get(s, "/services").status_code == 404


def test_a_removed_sqlite_file_is_failed_to_connect_to_database(sluice_factory, tmp_path):
    # Kong's probe makes a new connection (kong.db:connect()); the node's open handle would go on
    # reading, and taking writes into, a file no longer there, which a restart then loses.
    import os
    db = tmp_path / "sluice.db"
    s = _start(sluice_factory, kong(), database="sqlite", declarative_config=None,
               sqlite_path=str(db), admin_listen="auto")
    assert _get(s, "/status/ready").json() == {"message": "ready"}
    os.rename(db, tmp_path / "gone.db")
    r = _get(s, "/status/ready")
    assert (r.status_code, r.json()) == (503, {"message": "failed to connect to database"})
    assert _get(s, "/status").json()["database"] == {"reachable": False}
    assert requests.get(s.admin_url("/status"), timeout=T).json()["database"] == {
        "reachable": False}
    # put back: ready again, and nothing was created in its absence
    os.rename(tmp_path / "gone.db", db)
    assert _get(s, "/status/ready").json() == {"message": "ready"}


def test_options_answers_as_the_admin_api_does(upstream, sluice_factory):
    # Kong builds the Status API with the Admin API's route helpers: a browser's preflight for
    # POST /status/ready gets the route's methods
    s = _start(sluice_factory, kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])))
    base = "http://127.0.0.1:%d" % s.status_port
    r = requests.options(base + "/status/ready", timeout=T,
                         headers={"Origin": "http://x.test",
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS, POST"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type"
    r = requests.options(base + "/status", timeout=T)
    assert (r.status_code, r.headers["Allow"]) == (204, "GET, HEAD, OPTIONS")
    r = requests.options(base + "/services", timeout=T)
    assert (r.status_code, r.json()) == (404, {"message": "Not found"})
    assert _get(s, "/status/ready/").json() == {"message": "ready"}
    assert _get(s, "/statusx").status_code == 404


def test_drain_reads_the_status_code_whole(tmp_path):
    # a status line cut by the peer's close still counts; a four-digit code is no 204
    for answer, rc, said in ((b"HTTP/1.1 204", 0, "Sluice's status successfully changed to "
                              "'draining'"),
                             (b"HTTP/1.1 2040 No\r\n\r\n", 1, "not an HTTP response"),
                             (b"HTTP/1.1  204 No\r\n\r\n", 1, "not an HTTP response")):
        def reply(conn, answer=answer):
            conn.recv(4096)
            conn.sendall(answer)
        port, t = _serve_once(reply)
        conf = tmp_path / "d.conf"
        conf.write_text("status_listen = 127.0.0.1:%d\nprefix = %s\n" % (port, tmp_path / "none"))
        r = cli("drain", "-c", str(conf))
        t.join(10)
        assert r.returncode == rc, (answer, r.stdout)
        assert said in r.stdout, (answer, r.stdout)


def test_status_listen_ssl_with_the_default_certificates(upstream, sluice_factory):
    # Kong's status_ssl_cert unset: <prefix>/ssl/status-kong-default{,-ecdsa}.{crt,key}, made at
    # start; `sluice drain` takes the first listener, over https as kong drain does
    import ssl

    from integration.test_admin_tls import served_cert, file_der, client_ctx
    s = sluice_factory(kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])),
                       conf={"status_listen": "auto"})
    tls = _status_port(s.port, s.status_port)
    s.write_conf(status_listen="127.0.0.1:%d ssl, 127.0.0.1:%d" % (tls, s.status_port))
    s.stop()
    s.start()
    ssl_dir = os.path.join(s.prefix, "ssl")
    assert sorted(os.listdir(ssl_dir)) == ["status-kong-default-ecdsa.crt",
                                           "status-kong-default-ecdsa.key",
                                           "status-kong-default.crt", "status-kong-default.key"]
    assert os.stat(os.path.join(ssl_dir, "status-kong-default.key")).st_mode & 0o077 == 0
    # an RSA client gets the RSA default
    ctx = client_ctx()
    ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    assert served_cert(tls, ctx) == file_der(os.path.join(ssl_dir, "status-kong-default.crt"))
    r = requests.get("https://127.0.0.1:%d/status/ready" % tls, verify=False, timeout=T)
    assert (r.status_code, r.json()) == (200, {"message": "ready"})
    r = cli("drain", "-p", s.prefix)
    assert (r.returncode, r.stdout.strip()) == (
        0, "Sluice's status successfully changed to 'draining'"), r.stdout
    assert _get(s, "/status/ready").json() == {"message": "draining"}


def test_status_ssl_cert_pair_is_served_and_checked(upstream, sluice_factory, tmp_path):
    from integration.test_admin_tls import served_cert, file_der, make_pair
    crt, key = make_pair(str(tmp_path), "status", "status.test")
    s = sluice_factory(kong(service("a", upstream.port, routes=[{"paths": ["/a"]}])),
                       conf={"status_listen": "auto"})
    tls = _status_port(s.port, s.status_port)
    s.write_conf(status_listen="127.0.0.1:%d ssl" % tls, status_ssl_cert=crt,
                 status_ssl_cert_key=key)
    _reload(s)  # a reload applies the listener and reads the files
    assert served_cert(tls) == file_der(crt)
    assert not os.path.exists(os.path.join(s.prefix, "ssl", "status-kong-default.crt"))
    r = requests.get("https://127.0.0.1:%d/status" % tls, verify=False, timeout=T)
    assert r.status_code == 200 and "server" in r.json()
    # GET / shows the paths, never the key
    root = Sluice(tmp_path / "x", kong(), conf={"admin_listen": "auto"}, start=False)
    root.write_conf(status_listen="127.0.0.1:%d ssl" % _status_port(root.port, root.admin_port),
                    status_ssl_cert=crt, status_ssl_cert_key=key)
    root.start()
    try:
        c = requests.get(root.admin_url("/"), timeout=T).json()["configuration"]
        assert c["status_ssl_cert"] == [crt] and c["status_ssl_cert_key"] == "******"
    finally:
        root.stop()
    # Kong's pairing rule, checked only with an ssl entry
    bad = tmp_path / "bad.conf"
    bad.write_text("status_listen = 127.0.0.1:1 ssl\nstatus_ssl_cert = %s\n" % crt)
    r = cli("check", str(bad))
    assert r.returncode == 1 and "status_ssl_cert_key must be specified" in r.stderr, r.stderr
    bad.write_text("status_listen = 127.0.0.1:1\nstatus_ssl_cert = %s\n" % crt)
    assert cli("check", str(bad)).returncode == 0
