# SPDX-License-Identifier: Apache-2.0
"""Kong Manager's configuration keys (Kong 3.x OSS admin_gui_*): a kong.conf that sets them starts,
with Kong's defaults and checks (a bad value: `Error:` and a non-zero exit); admin_gui_url gives
the Admin API's Access-Control-Allow-Origin as Kong's (spec/02-integration/04-admin_api CORS spec:
the origin of the URL, its path dropped, whatever Origin the request has; with several URLs the
request's Origin when it is one of them); admin_gui_listen is never opened and a notice says so,
unless it is `off`; GET / shows the keys."""

import pytest
import requests

from lib.ports import free_port
from lib.sluice import Sluice, cli, kong, listening_ports, port_open, wait_until

T = 10
KONG = kong()
NOTICE = "Kong Manager is not bundled with Sluice; admin_gui_listen"


def start(tmp_path, name="s", **conf):
    conf.setdefault("admin_listen", "auto")
    return Sluice(tmp_path, KONG, conf, name=name)


def check(tmp_path, *lines):
    p = tmp_path / "gui.conf"
    p.write_text("daemon = off\n" + "".join(line + "\n" for line in lines))
    return cli("check", p)


def root_conf(s):
    r = requests.get(s.admin_url("/"), timeout=T)
    assert r.status_code == 200, r.text
    return r.json()["configuration"]


ALL_KEYS = [
    "admin_gui_listen = 127.0.0.1:%d, 127.0.0.1:%d ssl",
    "admin_gui_url = http://manager.test:8002/manager",
    "admin_gui_path = /manager",
    "admin_gui_api_url = https://admin.test:8444",
    "admin_gui_access_log = logs/admin_gui_access.log",
    "admin_gui_error_log = logs/admin_gui_error.log",
    "admin_gui_csp_header = on",
    "admin_gui_csp_header_value = default-src 'self'",
]


def test_every_key_is_accepted_and_shown_in_root(tmp_path):
    gui, gui_ssl = free_port(), free_port()
    d = tmp_path / "certs"
    d.mkdir()
    (d / "gui.crt").write_text("not read by Sluice\n")
    (d / "gui.key").write_text("not read by Sluice\n")
    conf = dict(line.split(" = ", 1) for line in ALL_KEYS)
    conf["admin_gui_listen"] = conf["admin_gui_listen"] % (gui, gui_ssl)
    conf["admin_gui_ssl_cert"] = str(d / "gui.crt")
    conf["admin_gui_ssl_cert_key"] = str(d / "gui.key")
    with start(tmp_path, **conf) as s:
        c = root_conf(s)
        assert c["admin_gui_listen"] == ["127.0.0.1:%d" % gui, "127.0.0.1:%d ssl" % gui_ssl]
        assert [(x["port"], x["ssl"]) for x in c["admin_gui_listeners"]] == \
            [(gui, False), (gui_ssl, True)]
        assert c["admin_gui_url"] == ["http://manager.test:8002/manager"]
        assert c["admin_gui_origin"] == ["http://manager.test:8002"]
        assert c["admin_gui_path"] == "/manager"
        assert c["admin_gui_api_url"] == "https://admin.test:8444"
        assert c["admin_gui_access_log"] == "logs/admin_gui_access.log"
        assert c["admin_gui_error_log"] == "logs/admin_gui_error.log"
        assert c["admin_gui_ssl_cert"] == [str(d / "gui.crt")]
        assert c["admin_gui_ssl_cert_key"] == "******"  # Kong's CONF_SENSITIVE
        assert c["admin_gui_csp_header"] is True
        assert c["admin_gui_csp_header_value"] == "default-src 'self'"
        # nothing listens on Kong Manager's ports
        assert not port_open(gui) and not port_open(gui_ssl)
        assert {gui, gui_ssl}.isdisjoint(listening_ports(s.pid))


def test_kong_defaults_in_root(tmp_path):
    with start(tmp_path) as s:
        c = root_conf(s)
        # Sluice's default is off (Kong's: 0.0.0.0:8002, 0.0.0.0:8445 ssl): no GUI is served, and
        # a default start has nothing to say about it
        assert c["admin_gui_listen"] == [] and c["admin_gui_listeners"] == []
        assert NOTICE not in s.error_log()
        assert c["admin_gui_path"] == "/"
        assert c["admin_gui_access_log"] == "logs/admin_gui_access.log"
        assert c["admin_gui_error_log"] == "logs/admin_gui_error.log"
        assert c["admin_gui_csp_header"] is False
        assert c["admin_gui_ssl_cert"] == []
        for unset in ("admin_gui_url", "admin_gui_origin", "admin_gui_api_url",
                      "admin_gui_ssl_cert_key", "admin_gui_csp_header_value"):
            assert unset not in c, unset
        assert not {8002, 8445} & listening_ports(s.pid)
        # without admin_gui_url, CORS is Kong's default: the request's Origin, else "*"
        r = requests.get(s.admin_url("/"), timeout=T, headers={"Origin": "http://example.com"})
        assert r.headers["Access-Control-Allow-Origin"] == "http://example.com"
        assert "Vary" not in r.headers
        r = requests.get(s.admin_url("/"), timeout=T)
        assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_environment_sets_the_keys(tmp_path):
    s = Sluice(tmp_path, KONG, {"admin_listen": "auto"}, start=False,
               env={"SLUICE_ADMIN_GUI_LISTEN": "off",
                    "SLUICE_ADMIN_GUI_URL": "https://gui.test"})
    with s:
        s.start()
        c = root_conf(s)
        assert c["admin_gui_listen"] == [] and c["admin_gui_listeners"] == []
        assert c["admin_gui_origin"] == ["https://gui.test"]


@pytest.mark.parametrize("line,message", [
    ("admin_gui_path = manager", "admin_gui_path must start with a slash ('/')"),
    ("admin_gui_path = /manager/", "admin_gui_path must not end with a slash ('/')"),
    ("admin_gui_path = /kong manager",
     "admin_gui_path can only contain letters, digits, hyphens ('-'), underscores ('_'), and "
     "slashes ('/')"),
    ("admin_gui_path = /kong//manager",
     "admin_gui_path must not contain continuous slashes ('/')"),
    ("admin_gui_url = manager.test:8002",
     "admin_gui_url must be a comma-separated list of URLs of the form "
     "<scheme>://<IP / HOSTNAME>[:<PORT>][<PATH>], got 'manager.test:8002'"),
    ("admin_gui_url = http://a.test, /manager", "got '/manager'"),
    ("admin_gui_url = http:///manager", "got 'http:///manager'"),
    ("admin_gui_listen = 127.0.0.1", "admin_gui_listen must be of form: [off] | <ip>:<port>"),
    ("admin_gui_csp_header = maybe", "admin_gui_csp_header is not a boolean: 'maybe'"),
])
def test_bad_values_are_refused(tmp_path, line, message):
    r = check(tmp_path, line)
    assert r.returncode != 0, r.stdout
    assert r.stderr.startswith("Error:"), r.stderr
    assert "gui.conf:2: " in r.stderr and message in r.stderr, r.stderr


def test_bad_value_stops_start(tmp_path):
    s = Sluice(tmp_path, KONG, {"admin_gui_path": "manager"}, start=False)
    r = cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode != 0
    assert "Error:" in r.stderr and "admin_gui_path must start with a slash ('/')" in r.stderr


def test_gui_certificates_checked_only_with_an_ssl_gui_listener(tmp_path):
    # Kong's conf_loader: the pair is checked, and each file loaded, when a listener has `ssl`
    r = check(tmp_path, "admin_gui_listen = 127.0.0.1:9445 ssl",
              "admin_gui_ssl_cert = /nonexistent/gui.crt")
    assert r.returncode != 0
    assert "admin_gui_ssl_cert_key must be specified" in r.stderr
    assert "admin_gui_ssl_cert: failed loading certificate from /nonexistent/gui.crt" in r.stderr
    r = check(tmp_path, "admin_gui_listen = 127.0.0.1:9002",
              "admin_gui_ssl_cert = /nonexistent/gui.crt")
    assert r.returncode == 0, r.stderr


def test_notice_at_start_and_nothing_listening(tmp_path):
    gui = free_port()
    with start(tmp_path, admin_gui_listen="127.0.0.1:%d" % gui) as s:
        lines = [ln for ln in s.error_log().splitlines() if NOTICE in ln]
        assert len(lines) == 1, s.error_log()
        assert "[notice]" in lines[0]
        assert "admin_gui_listen 127.0.0.1:%d is not served" % gui in lines[0]
        assert not port_open(gui)
        assert gui not in listening_ports(s.pid)


def test_off_says_nothing(tmp_path):
    with start(tmp_path, admin_gui_listen="off") as s:
        requests.get(s.admin_url("/"), timeout=T)
        assert "Kong Manager" not in s.error_log()
        assert "admin_gui" not in s.error_log()


ORIGIN = "http://admin.api:9100"


@pytest.mark.parametrize("url", [ORIGIN, ORIGIN + "/path/to/any/way"])
def test_cors_origin_from_admin_gui_url(tmp_path, url):
    with start(tmp_path, admin_gui_url=url) as s:
        # a real preflight, as a browser sends it
        r = requests.options(s.admin_url("/services"), timeout=T, headers={
            "Origin": "http://example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type"})
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert r.headers["Vary"] == "Origin"
        # the main request, with and without Origin
        for headers in ({"Origin": "http://example.com"}, {}):
            r = requests.get(s.admin_url("/"), timeout=T, headers=headers)
            assert r.status_code == 200
            assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        # the Admin server's own errors carry it too
        r = requests.get(s.admin_url("/nope"), timeout=T, headers={"Origin": "http://x.test"})
        assert r.status_code == 404
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_origin_from_several_urls(tmp_path):
    with start(tmp_path, admin_gui_url="http://a.test:8002, https://b.test/manager") as s:
        for origin, want in (("https://b.test", "https://b.test"),
                             ("http://a.test:8002", "http://a.test:8002"),
                             ("http://evil.test", "http://a.test:8002"),
                             (None, "http://a.test:8002")):
            headers = {"Origin": origin} if origin else {}
            r = requests.get(s.admin_url("/"), timeout=T, headers=headers)
            assert r.headers["Access-Control-Allow-Origin"] == want, origin


def test_reload_applies_admin_gui_url(tmp_path):
    with start(tmp_path, admin_gui_listen="127.0.0.1:9002") as s:
        s.write_conf(admin_gui_url="https://gui.test")
        s.reload(wait=0)

        def origin():
            return requests.get(s.admin_url("/"), timeout=T).headers[
                "Access-Control-Allow-Origin"]
        assert wait_until(lambda: origin() == "https://gui.test", timeout=5)
        assert s.error_log().count(NOTICE) == 1  # at start only
