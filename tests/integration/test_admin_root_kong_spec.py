# SPDX-License-Identifier: Apache-2.0
"""Kong's own specs for the Admin API root endpoints (spec/02-integration/04-admin_api/
02-kong_routes_spec.lua: `/`, `/endpoints`, `/status`, `/schemas/...`, `/non-existing`), rewritten
against a real Sluice on its default SQLite store and in DB-less mode: the cases the other admin
suites do not cover, plus what Kong Manager reads from `GET /` at start (src/stores/info.ts and
types.ts of Kong/kong-manager: lua_version, configuration.pg_*, proxy_listeners[].port/ssl)."""

import os
import re
import shutil
import subprocess

import pytest
import requests

from lib.sluice import Sluice, kong

T = 15  # generous: the suite may share the machine with sanitizer runs

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One Sluice on SQLite with a PostgreSQL password set (Kong's spec starts Kong with
    pg_password = hide_me): the password must never be shown."""
    s = Sluice(tmp_path_factory.mktemp("rootspec"), kong(),
               conf={"database": "sqlite", "declarative_config": None, "admin_listen": "auto",
                     "pg_password": "hide_me"},
               name="rootspec")
    yield s, s.admin_url("").rstrip("/")
    s.stop()


@pytest.fixture(scope="module")
def dbless(tmp_path_factory):
    s = Sluice(tmp_path_factory.mktemp("rootspec-off"), kong(),
               conf={"admin_listen": "auto"}, name="rootspec-off")
    yield s, s.admin_url("").rstrip("/")
    s.stop()


# ---- GET / -----------------------------------------------------------------------------------


def test_root_obfuscates_sensitive_settings(node):
    _, a = node
    r = requests.get(a + "/", timeout=T)
    assert r.status_code == 200
    conf = r.json()["configuration"]
    assert isinstance(conf["pg_password"], str)
    assert conf["pg_password"] != "hide_me"
    assert "hide_me" not in r.text


def test_root_has_what_kong_manager_reads(node):
    s, a = node
    r = requests.get(a + "/", timeout=T)
    body = r.json()
    assert body["tagline"] == "Welcome to kong"
    assert body["edition"] == "community"
    assert UUID.match(body["node_id"])
    assert isinstance(body["hostname"], str)
    assert isinstance(body["lua_version"], str) and body["lua_version"]
    assert isinstance(body["pids"]["master"], int)
    assert isinstance(body["pids"]["workers"], list)
    assert body["plugins"]["available_on_server"] == {}
    assert '"enabled_in_cluster":[]' in r.text
    conf = body["configuration"]
    assert conf["role"] == "traditional" and conf["database"] == "sqlite"
    assert all(isinstance(x, str) for x in conf["admin_listen"])
    assert isinstance(conf["pg_host"], str) and isinstance(conf["pg_user"], str)
    assert isinstance(conf["pg_port"], int) and not isinstance(conf["pg_port"], bool)
    assert isinstance(conf["pg_ssl"], bool)
    (proxy,) = conf["proxy_listeners"]
    assert proxy["port"] == s.port and proxy["ip"] == "127.0.0.1" and proxy["ssl"] is False
    (adm,) = conf["admin_listeners"]
    assert adm["port"] == s.admin_port and adm["ssl"] is False


def test_root_shows_the_logs_and_proxy_settings(node):
    """Kong's configuration carries every key; scripts read the logs and the proxy settings."""
    s, a = node
    conf = requests.get(a + "/", timeout=T).json()["configuration"]
    for key in ("proxy_access_log", "proxy_error_log", "admin_access_log", "admin_error_log",
                "status_access_log", "status_error_log"):
        assert isinstance(conf[key], str) and conf[key], key
    assert conf["status_access_log"] == "off"  # Kong's default
    assert conf["real_ip_header"] == "X-Real-IP" and conf["real_ip_recursive"] == "off"
    assert conf["upstream_keepalive_pool_size"] == 512
    assert conf["upstream_keepalive_max_requests"] == 10000
    assert conf["upstream_keepalive_idle_timeout"] == 60


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
def test_root_masks_the_admin_key_setting(tmp_path):
    """Kong's remove_sensitive masks admin_ssl_cert_key (it may hold the key itself)."""
    crt, key = str(tmp_path / "a.crt"), str(tmp_path / "a.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    s = Sluice(tmp_path / "node", kong(),
               conf={"admin_listen": "auto", "admin_ssl_cert": crt, "admin_ssl_cert_key": key},
               name="rootspec-tls")
    try:
        r = requests.get(s.admin_url("/"), timeout=T)
        conf = r.json()["configuration"]
        assert conf["admin_ssl_cert_key"] == "******"
        assert conf["admin_ssl_cert"] == [crt]
        assert os.path.basename(key) not in r.text
    finally:
        s.stop()


# ---- OPTIONS and unknown paths ---------------------------------------------------------------


def test_options_on_root_lists_its_own_methods(node):
    _, a = node
    r = requests.options(a + "/", timeout=T)
    assert r.status_code == 204 and r.content == b""
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert r.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Sluice-Admin-Latency" in r.headers


GET = "GET, HEAD, OPTIONS"
LIST = "GET, HEAD, OPTIONS, POST"
ONE = "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"


@pytest.mark.parametrize("path,allow", [
    ("/status", GET),
    ("/endpoints", GET),
    ("/config", LIST),
    ("/schemas/services", GET),
    ("/schemas/services/validate", "OPTIONS, POST"),
    ("/schemas/plugins/validate", "OPTIONS, POST"),
    ("/schemas/plugins/key-auth", GET),
    ("/plugins/enabled", GET),
    ("/tags", GET),
    ("/services", LIST),
    ("/services/nope", ONE),  # the route matches whether or not the entity exists
    ("/services/nope/routes", LIST),
    ("/services/nope/routes/r", ONE),
    ("/routes/r/service", ONE),
    ("/upstreams/u/targets", LIST),
    ("/upstreams/u/targets/all", GET),
])
def test_options_lists_the_routes_methods(node, path, allow):
    _, a = node
    r = requests.options(a + path, headers={"Origin": "http://manager.test"}, timeout=T)
    assert r.status_code == 204, path
    assert r.headers["Allow"] == allow
    assert r.headers["Access-Control-Allow-Methods"] == allow
    assert r.headers["Access-Control-Allow-Origin"] == "http://manager.test"


@pytest.mark.parametrize("path", ["/non-existing", "/targets", "/snis/x/certificate", "/schemas"])
def test_options_on_an_unknown_path_is_404(node, path):
    _, a = node
    r = requests.options(a + path, timeout=T)
    assert r.status_code == 404
    assert r.json() == {"message": "Not found"}


def test_options_in_dbless_mode(dbless):
    _, a = dbless
    r = requests.options(a + "/services", timeout=T)
    assert r.status_code == 204 and r.headers["Allow"] == LIST
    assert requests.options(a + "/", timeout=T).headers["Allow"] == GET
    # entities DB-less Sluice does not serve answer OPTIONS as they answer GET
    assert requests.options(a + "/consumers", timeout=T).status_code == 404


# ---- /endpoints ------------------------------------------------------------------------------


def test_endpoints_use_kongs_placeholders_and_order(node):
    _, a = node
    eps = requests.get(a + "/endpoints", timeout=T).json()["data"]
    assert "/schemas/{name}" in eps and "/schemas/{db_entity_name}" not in eps
    assert "/schemas/plugins/validate" in eps
    assert "/schemas/{db_entity_name}/validate" in eps and "/plugins" in eps
    # Kong sorts segment by segment ("/" below every other character)
    assert eps == sorted(eps, key=lambda p: p.replace("/", "\x00"))


# ---- /status ---------------------------------------------------------------------------------


def test_status_memory_stats_default_unit(node):
    _, a = node
    st = requests.get(a + "/status", timeout=T).json()
    (vm,) = st["memory"]["workers_lua_vms"]
    assert re.fullmatch(r"\d+\.\d{2} MiB", vm["http_allocated_gc"])
    assert isinstance(vm["pid"], int)
    assert isinstance(st["memory"]["lua_shared_dicts"], dict)
    assert st["database"] == {"reachable": True}
    assert "configuration_hash" not in st


def test_status_unit_and_scale(node):
    _, a = node
    vm = requests.get(a + "/status?unit=k&scale=3", timeout=T).json()["memory"]["workers_lua_vms"]
    assert re.fullmatch(r"\d+\.\d{3} KiB", vm[0]["http_allocated_gc"])
    vm = requests.get(a + "/status?unit=b", timeout=T).json()["memory"]["workers_lua_vms"]
    assert isinstance(vm[0]["http_allocated_gc"], int) and vm[0]["http_allocated_gc"] > 0
    vm = requests.get(a + "/status?unit=G", timeout=T).json()["memory"]["workers_lua_vms"]
    assert vm[0]["http_allocated_gc"].endswith(" GiB")


def test_status_invalid_unit_is_400(node):
    _, a = node
    r = requests.get(a + "/status?unit=V", timeout=T)
    assert r.status_code == 400
    assert r.json() == {"message": "invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')"}


def test_status_in_dbless_mode_has_memory_and_no_database(dbless):
    _, a = dbless
    st = requests.get(a + "/status", timeout=T).json()
    assert "database" not in st and len(st["configuration_hash"]) == 32
    assert st["memory"]["workers_lua_vms"][0]["http_allocated_gc"].endswith(" MiB")


# ---- /schemas --------------------------------------------------------------------------------


def test_validate_accepts_a_form_body(node):
    _, a = node
    r = requests.post(a + "/schemas/services/validate", data={"host": "example.com", "port": "80"},
                      timeout=T)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "schema validation successful"}
    r = requests.post(a + "/schemas/services/validate", data={"port": "abc"}, timeout=T)
    assert r.status_code == 400
    assert r.json()["fields"] == {"host": "required field missing",
                                  "port": "expected an integer"}


def test_validate_accepts_a_multipart_body(node):
    _, a = node
    r = requests.post(a + "/schemas/routes/validate",
                      files={"paths[]": (None, "/m"), "protocols[]": (None, "http")}, timeout=T)
    assert r.status_code == 200, r.text


def test_validate_without_a_body_validates_an_empty_entity(node):
    _, a = node
    r = requests.post(a + "/schemas/services/validate", timeout=T)
    assert r.status_code == 400
    assert r.json()["message"] == "schema violation (host: required field missing)"


def test_validate_refuses_other_content_types(node):
    _, a = node
    r = requests.post(a + "/schemas/services/validate", data="host=x",
                      headers={"Content-Type": "text/plain"}, timeout=T)
    assert r.status_code == 415 and r.content == b""
    r = requests.post(a + "/schemas/services/validate", data="{x",
                      headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 400 and r.json() == {"message": "Cannot parse JSON body"}


def test_plugins_validate_is_the_plugins_schema(node):
    """POST /schemas/plugins/validate validates a plugin entity (Kong's own route), not a plugin
    named 'validate'; no plugin is bundled, so every name is refused as Kong refuses one."""
    _, a = node
    r = requests.post(a + "/schemas/plugins/validate",
                      json={"name": "key-auth", "config": {"key_names": ["foo"]}}, timeout=T)
    assert r.status_code == 400
    assert r.json()["name"] == "schema violation"
    assert "key-auth" in r.json()["fields"]["name"]


def test_plugin_schema_route_is_get_only(node):
    _, a = node
    r = requests.post(a + "/schemas/plugins/not-present", json={}, timeout=T)
    assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}
    r = requests.get(a + "/schemas/plugins/not-present", timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "No plugin named 'not-present'"}


# ---- /status connection states ----------------------------------------------------------------


def test_status_counts_connections_by_state(upstream, sluice_factory):
    """Kong's /status server block (nginx stub_status): of the active proxy connections, those
    reading a request head, those past it until the response is out (here: waiting on a slow
    upstream), and those idle between requests. Every count returns to 0 once they close."""
    import socket
    import time

    from lib.sluice import service
    import lib.upstream as U

    upstream.route("/slow", U.delay(1.5))
    s = sluice_factory(kong(service("echo", upstream.port, [{"name": "all", "paths": ["/"]}])),
                       conf={"admin_listen": "auto"})
    a = s.admin_url("").rstrip("/")

    def server():
        return requests.get(a + "/status", timeout=T).json()["server"]

    def wait_for(want):
        deadline = time.monotonic() + 5
        got = None
        while time.monotonic() < deadline:
            got = server()
            if all(got[k] == v for k, v in want.items()):
                return got
            time.sleep(0.05)
        raise AssertionError("status %r, wanted %r" % (got, want))

    for k in ("connections_reading", "connections_writing", "connections_waiting"):
        assert isinstance(server()[k], int)
    idle = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    idle.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")
    partial = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    partial.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n")
    slow = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    slow.sendall(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
    got = wait_for({"connections_active": 3, "connections_waiting": 1, "connections_reading": 1,
                    "connections_writing": 1})
    assert got["total_requests"] >= 1
    assert slow.recv(65536).startswith(b"HTTP/1.1 200")  # the slow one is answered: waiting again
    wait_for({"connections_waiting": 2, "connections_reading": 1, "connections_writing": 0})
    for c in (idle, partial, slow):
        c.close()
    wait_for({"connections_active": 0, "connections_waiting": 0, "connections_reading": 0,
              "connections_writing": 0})
