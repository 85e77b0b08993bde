# SPDX-License-Identifier: Apache-2.0
"""The Admin and Status APIs' own logs, Kong's keys with Kong's defaults: admin_access_log
(logs/admin_access.log), admin_error_log (logs/error.log), status_access_log (off),
status_error_log (logs/status_error.log). Access lines are nginx's combined format; what the
servers log while they serve a request goes to their error log, not the proxy's."""

import os
import re
import signal
import time

import requests

from lib.ports import free_port
from lib.rawhttp import raw
from lib.sluice import cli, kong, wait_until

T = 5
COMBINED = re.compile(r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                      r'"([^"]*)" (\d{3}) (\d+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$')


def _lines(path):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [l for l in f.read().split("\n") if l]


def _logs(s, name):
    return os.path.join(s.prefix, "logs", name)


def _start(sluice_factory, **conf):
    # Kong's defaults for the four keys (the test harness points the error logs at the proxy's)
    base = {"admin_listen": "auto", "status_listen": "auto", "admin_error_log": "logs/error.log",
            "status_error_log": "logs/status_error.log"}
    base.update(conf)
    return sluice_factory(kong(), conf=base)


def test_admin_requests_are_logged_in_combined_format(sluice_factory):
    s = _start(sluice_factory)
    path = _logs(s, "admin_access.log")
    r = requests.get(s.admin_url("/services?size=1"), timeout=T,
                     headers={"User-Agent": 'probe "1" caf\xe9', "Referer": "http://ui.example/"})
    assert r.status_code == 200
    assert requests.head(s.admin_url("/"), timeout=T).status_code == 200
    assert requests.get(s.admin_url("/routes/nope"), timeout=T).status_code == 404
    # a request Sluice cannot read: no Host in HTTP/1.1
    assert raw("127.0.0.1", s.admin_port, b"GET /x HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert wait_until(lambda: len(_lines(path)) >= 4, timeout=T), _lines(path)
    got = [COMBINED.match(l) for l in _lines(path)]
    assert all(got), _lines(path)
    first, head, missing, bad = [m.groups() for m in got]
    assert first[0] == "127.0.0.1"
    assert first[2:5] == ("GET /services?size=1 HTTP/1.1", "200", str(len(r.content)))
    # quotes and bytes outside printable ASCII cannot forge a field: escaped as nginx's escape=default does
    assert first[5:] == ("http://ui.example/", r"probe \x221\x22 caf\xE9")
    assert head[2:5] == ("HEAD / HTTP/1.1", "200", "0")  # no body sent for HEAD
    assert missing[2:4] == ("GET /routes/nope HTTP/1.1", "404")
    assert bad[3] == "400"
    # the proxy's access log has none of them
    assert "services" not in s.access_log()


def test_status_access_log_is_off_unless_set(sluice_factory):
    s = _start(sluice_factory)
    assert requests.get("http://127.0.0.1:%d/status" % s.status_port, timeout=T).ok
    time.sleep(0.2)
    assert not [n for n in os.listdir(os.path.join(s.prefix, "logs")) if "status_access" in n]
    assert _lines(_logs(s, "admin_access.log")) == []

    s2 = _start(sluice_factory, status_access_log="logs/status_access.log", admin_access_log="off")
    for p in ("/status", "/status/ready", "/nope"):
        requests.get("http://127.0.0.1:%d%s" % (s2.status_port, p), timeout=T)
    requests.get(s2.admin_url("/"), timeout=T)
    path = _logs(s2, "status_access.log")
    assert wait_until(lambda: len(_lines(path)) >= 3, timeout=T), _lines(path)
    got = [COMBINED.match(l).groups()[2:4] for l in _lines(path)]
    assert got == [("GET /status HTTP/1.1", "200"), ("GET /status/ready HTTP/1.1", "200"),
                   ("GET /nope HTTP/1.1", "404")]
    assert not os.path.exists(_logs(s2, "admin_access.log"))


def test_each_api_logs_its_errors_in_its_own_error_log(sluice_factory):
    s = _start(sluice_factory, admin_error_log="logs/admin_error.log", declarative_config=None)
    # the Status API's line: no configuration yet
    r = requests.get("http://127.0.0.1:%d/status/ready" % s.status_port, timeout=T)
    assert r.status_code == 503
    status_err = _logs(s, "status_error.log")
    assert wait_until(lambda: "not ready for proxying" in "\n".join(_lines(status_err)),
                      timeout=T), _lines(status_err)
    # the Admin API's lines: a configuration posted
    doc = {"_format_version": "3.0", "services": []}
    assert requests.post(s.admin_url("/config"), json=doc, timeout=T).status_code == 201
    admin_err = _logs(s, "admin_error.log")
    assert wait_until(lambda: "POST /config: new configuration published" in
                      "\n".join(_lines(admin_err)), timeout=T), _lines(admin_err)
    # the proxy's error log has neither; its own lines stay there
    main = s.error_log()
    assert "not ready for proxying" not in main
    assert "POST /config" not in main
    assert "started" in main
    assert "POST /config" not in "\n".join(_lines(status_err))


def test_logs_follow_rotation_and_reload(sluice_factory):
    s = _start(sluice_factory)
    path = _logs(s, "admin_access.log")
    requests.get(s.admin_url("/one"), timeout=T)
    assert wait_until(lambda: len(_lines(path)) == 1, timeout=T)
    os.rename(path, path + ".1")
    s.signal(signal.SIGUSR1)
    assert wait_until(lambda: os.path.exists(path), timeout=T), "USR1 did not reopen the log"
    requests.get(s.admin_url("/two"), timeout=T)
    assert wait_until(lambda: len(_lines(path)) == 1, timeout=T)
    assert "/two" in _lines(path)[0] and "/one" in _lines(path + ".1")[0]

    moved = _logs(s, "admin-moved.log")
    s.write_conf(admin_access_log=moved)
    done = s.error_log().count("reload: configuration reloaded")
    s.reload(wait=0)
    assert wait_until(lambda: s.error_log().count("reload: configuration reloaded") > done,
                      timeout=T), s.error_log()[-2000:]
    requests.get(s.admin_url("/three"), timeout=T)
    assert wait_until(lambda: len(_lines(moved)) == 1, timeout=T)
    assert "/three" in _lines(moved)[0]
    assert len(_lines(path)) == 1


def test_kong_keys_are_checked_and_an_unwritable_log_stops_the_start(tmp_path):
    conf = tmp_path / "kong.conf"
    conf.write_text("admin_access_log = logs/admin_access.log\nadmin_error_log = logs/error.log\n"
                    "status_access_log = off\nstatus_error_log = logs/status_error.log\n")
    r = cli("check", conf)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "is valid" in r.stdout

    bad = tmp_path / "bad.conf"
    bad.write_text("daemon = off\ndatabase = off\nproxy_listen = off\nadmin_listen = off\n"
                   "status_listen = 127.0.0.1:%d\nstatus_access_log = %s/missing/dir/s.log\n"
                   % (free_port(), tmp_path))
    r = cli("start", "-c", bad, "-p", tmp_path / "p", timeout=20)
    assert r.returncode != 0
    assert ("Error: could not open status_access_log %s/missing/dir/s.log: No such file or "
            "directory" % tmp_path) in r.stderr


def test_an_api_without_listeners_has_no_log_files(sluice_factory):
    # as Kong's nginx, which has no server block (and so opens no log) for an API that is off
    s = sluice_factory(kong(), conf={"admin_listen": "off", "status_listen": "off",
                                     "admin_error_log": "logs/admin_error.log",
                                     "status_error_log": "logs/status_error.log",
                                     "status_access_log": "logs/status_access.log"})
    assert requests.get(s.url("/nope"), timeout=T).status_code == 404
    logs = sorted(os.listdir(os.path.join(s.prefix, "logs")))
    assert [n for n in logs if n.startswith(("admin", "status"))] == [], logs
