# SPDX-License-Identifier: Apache-2.0
"""The sluice command line and process lifecycle: version, check, config parse, health, stop, quit
(graceful drain), reload (SIGHUP and the verb, which validates first), refusing an invalid
declarative file, daemon mode, environment overrides."""

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
from lib.sluice import (Sluice, SluiceError, cli, dump_yaml, kong, port_open, service,
                        sluice_bin, wait_until)

T = 10


# ------------------------------------------------------------------------------- one-shot verbs


def test_version():
    r = cli("version")
    assert r.returncode == 0
    assert r.stdout.strip() == "0.1.0"


def test_check_valid(tmp_path):
    p = tmp_path / "ok.conf"
    p.write_text("daemon = off\nlog_level = debug\nproxy_listen = 127.0.0.1:%d\n" % free_port())
    r = cli("check", p)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout


def test_check_unknown_key(tmp_path):
    p = tmp_path / "bad.conf"
    p.write_text("daemon = off\nbogus_key = 1\n")
    r = cli("check", p)
    assert r.returncode != 0
    assert r.stderr.startswith("Error:")
    assert "bogus_key" in r.stderr


@pytest.mark.parametrize("line", ["log_level = loud", "daemon = maybe", "worker_processes = -3",
                                  "client_max_body_size = 12q"])
def test_check_invalid_values(tmp_path, line):
    p = tmp_path / "bad.conf"
    p.write_text(line + "\n")
    r = cli("check", p)
    assert r.returncode != 0, (line, r.stdout)
    assert "Error:" in r.stderr


def test_check_missing_file(tmp_path):
    r = cli("check", tmp_path / "missing.conf")
    assert r.returncode != 0 and "Error:" in r.stderr


def _padded(text, size):
    """<text> followed by comment lines up to exactly <size> bytes."""
    data = text.encode()
    line = b"#" + b"x" * 98 + b"\n"
    data += line * ((size - len(data)) // len(line))
    return data + b"#" * (size - len(data) - 1) + b"\n"


def test_check_conf_size_limit(tmp_path):
    """sluice.conf is read whole up to 1 MiB (SL_CONF_MAX_FILE_BYTES): at the limit it is
    checked, one byte more is refused before anything is parsed."""
    limit = 1024 * 1024
    p = tmp_path / "big.conf"
    p.write_bytes(_padded("daemon = off\n", limit))
    assert p.stat().st_size == limit
    r = cli("check", p)
    assert r.returncode == 0, r.stderr
    p.write_bytes(_padded("daemon = off\n", limit + 1))
    r = cli("check", p)
    assert r.returncode != 0
    assert r.stderr.startswith("Error: %s: larger than %d bytes" % (p, limit)), r.stderr


def test_config_parse_size_limit(tmp_path):
    """A declarative file over 64 MiB is refused, read no further than the limit."""
    limit = 64 * 1024 * 1024
    p = tmp_path / "kong.yml"
    p.write_bytes(_padded('_format_version: "3.0"\n', limit + 1))
    r = cli("config", "parse", p)
    assert r.returncode != 0
    assert "larger than %d bytes" % limit in r.stderr, r.stderr
    p.write_bytes(_padded('_format_version: "3.0"\n', 4096))
    r = cli("config", "parse", p)
    assert r.returncode == 0, r.stderr


BAD_KONG = """_format_version: "3.0"
services:
- name: a
  url: http://127.0.0.1:1
  retries: -1
  routes:
  - name: r1
    paths: ["nope"]
    methods: ["get"]
- name: b
  host: 127.0.0.1
  port: 99999
  bogus: 1
"""


def test_config_parse_valid(tmp_path):
    p = tmp_path / "kong.yml"
    p.write_text(dump_yaml(kong(service("a", 1, [{"name": "r", "paths": ["/"]}]))))
    r = cli("config", "parse", p)
    assert r.returncode == 0, r.stderr
    assert "parse successful" in r.stdout


def test_config_parse_lists_every_error(tmp_path):
    p = tmp_path / "kong.yml"
    p.write_text(BAD_KONG)
    r = cli("config", "parse", p)
    assert r.returncode != 0
    assert "Error:" in r.stderr
    for frag in ("retries", "methods", "paths", "port", "bogus"):
        assert frag in r.stderr, (frag, r.stderr)


def test_config_parse_yaml_syntax_error(tmp_path):
    p = tmp_path / "kong.yml"
    p.write_text("_format_version: \"3.0\"\nservices: [ {name: a\n")
    r = cli("config", "parse", p)
    assert r.returncode != 0 and "Error:" in r.stderr


def test_unknown_command():
    r = cli("frobnicate")
    assert r.returncode != 0 and "Error:" in r.stderr


def test_health_not_running(tmp_path):
    r = cli("health", "-p", tmp_path / "nothing")
    assert r.returncode != 0
    assert "Error:" in r.stderr


# ------------------------------------------------------------------------------- lifecycle


def test_health_running_then_stop(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])))
    r = s.cli("health", "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(s.pid_path)
    with open(s.pid_path) as f:
        assert int(f.read().strip()) == s.pid
    r = s.cli("stop", "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert s.wait(5) == 0
    assert not port_open(s.port)
    r = s.cli("health", "-p", s.prefix)
    assert r.returncode != 0


def test_sigterm_exits_zero(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])))
    assert s.stop() == 0


def test_invalid_kong_yml_refuses_to_start(tmp_path):
    s = Sluice(tmp_path, BAD_KONG, start=False)
    with pytest.raises(SluiceError) as ei:
        s.start()
    msg = str(ei.value)
    assert s.returncode not in (None, 0)
    for frag in ("retries", "methods", "paths", "port", "bogus"):
        assert frag in msg, (frag, msg)
    assert not port_open(s.port)


def test_invalid_conf_refuses_to_start(tmp_path):
    s = Sluice(tmp_path, kong(), {"bogus_key": "1"}, start=False)
    with pytest.raises(SluiceError) as ei:
        s.start()
    assert "bogus_key" in str(ei.value)


def test_port_in_use_fails_clearly(tmp_path):
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    s = Sluice(tmp_path, kong(), {"proxy_listen": "127.0.0.1:%d" % port}, start=False)
    s.port = free_port()  # what start() waits on: never opened, so only the exit ends the wait
    s.start_timeout = 5
    try:
        with pytest.raises(SluiceError):
            s.start()
        assert s.returncode not in (None, 0), "sluice kept running with its port taken"
        assert "Error" in s.stderr() or "error" in s.error_log().lower()
    finally:
        s.kill()
        taken.close()


def test_env_overrides(upstream, tmp_path):
    port = free_port()
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"paths": ["/"]}])),
               {"proxy_listen": None}, start=False,
               env={"SLUICE_PROXY_LISTEN": "127.0.0.1:%d" % port})
    s.port = port
    try:
        s.start()
        assert requests.get(s.url("/x"), timeout=T).status_code == 200
    finally:
        s.stop()


def test_quit_graceful_drain(upstream, sluice_factory):
    upstream.route("/slow", U.delay(2.0))
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"], "strip_path": False}])),
                       {"quit_timeout": "10"})
    result = {}

    def slow():
        try:
            result["r"] = requests.get(s.url("/slow"), timeout=T)
        except requests.RequestException as e:
            result["e"] = e
    t = threading.Thread(target=slow)
    t.start()
    assert upstream.wait_requests(1, 5) == 1  # in flight at the upstream now
    quit_res = {}

    def do_quit():
        quit_res["r"] = s.cli("quit", "-p", s.prefix, "-t", "10", timeout=20)
    q = threading.Thread(target=do_quit)
    t0 = time.monotonic()
    q.start()
    # New connections are refused (or closed without an answer) while draining.
    assert wait_until(lambda: not _serves(s.port), timeout=1.5), "still accepting during quit"
    t.join(T)
    assert "r" in result, result.get("e")
    assert result["r"].status_code == 200
    assert result["r"].json()["path"] == "/slow"
    q.join(20)
    assert quit_res["r"].returncode == 0, quit_res["r"].stderr
    assert quit_res["r"].stdout == "Sluice stopped (gracefully)\n"  # as `kong quit`
    assert s.wait(5) == 0
    assert time.monotonic() - t0 < 8


def test_quit_closes_idle_keepalive_connections(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])))
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=T)
    try:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        data = sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200")
        t0 = time.monotonic()
        s.signal(signal.SIGQUIT)
        assert s.wait(8) == 0
        assert time.monotonic() - t0 < 5
        sock.settimeout(2)
        try:
            rest = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            rest = b""
        assert rest == b"" or rest.startswith(b"HTTP/1.1") is False
    finally:
        sock.close()


def _serves(port):
    """True if a new connection gets an HTTP response."""
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError:
        return False
    try:
        c.sendall(b"GET /probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c.settimeout(1)
        return c.recv(16).startswith(b"HTTP/")
    except OSError:
        return False
    finally:
        c.close()


def test_reload_sighup_picks_up_new_routes(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "a", "paths": ["/a"]}])))
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    assert requests.get(s.url("/b"), timeout=T).status_code == 404
    pid = s.pid
    s.write_kong(kong(service("e", upstream.port, [{"name": "b", "paths": ["/b"]}])))
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: requests.get(s.url("/b"), timeout=T).status_code == 200), \
        s.error_log()
    assert requests.get(s.url("/a"), timeout=T).status_code == 404
    assert s.pid == pid and s.alive()


def test_reload_verb_and_keepalive_connection_sees_new_config(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "a", "paths": ["/a"]}])))
    with requests.Session() as sess:
        assert sess.get(s.url("/a"), timeout=T).status_code == 200
        s.write_kong(kong(service("e", upstream.port, [{"name": "c", "paths": ["/c"]}])))
        r = s.cli("reload", "-p", s.prefix)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: sess.get(s.url("/c"), timeout=T).status_code == 200)


def test_reload_with_invalid_file_keeps_old_config(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "a", "paths": ["/a"]}])))
    s.write_kong(BAD_KONG)
    s.signal(signal.SIGHUP)
    time.sleep(0.7)
    assert s.alive()
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    assert "retries" in s.error_log() or "error" in s.error_log().lower()


def test_reload_verb_validates_the_declarative_file_first(upstream, sluice_factory):
    # Like `kong reload`: an invalid file is reported as `sluice config parse` reports it, and the
    # instance is not signalled (it would only log the failure and keep its configuration).
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "a", "paths": ["/a"]}])))
    s.write_kong(BAD_KONG)
    r = s.cli("reload", "-p", s.prefix)
    assert r.returncode != 0, r.stdout
    assert r.stderr.startswith("Error:") and "reloaded" not in r.stdout
    assert s.kong_path in r.stderr
    for frag in ("retries", "methods", "paths", "port", "bogus"):
        assert frag in r.stderr, (frag, r.stderr)
    time.sleep(0.5)
    assert "reload:" not in s.error_log(), s.error_log()
    assert s.alive()
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    # once the file is fixed, the same command reloads it
    s.write_kong(kong(service("e", upstream.port, [{"name": "b", "paths": ["/b"]}])))
    r = s.cli("reload", "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Sluice reloaded"
    assert wait_until(lambda: requests.get(s.url("/b"), timeout=T).status_code == 200), \
        s.error_log()
    assert requests.get(s.url("/a"), timeout=T).status_code == 404


def test_reload_verb_validates_sluice_conf_first(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "a", "paths": ["/a"]}])))
    s.write_conf(bogus_key="1", log_level="loud")
    r = s.cli("reload", "-p", s.prefix)  # the instance's sluice.conf, found without -c
    assert r.returncode != 0, r.stdout
    assert r.stderr.startswith("Error:")
    assert "bogus_key" in r.stderr and "log_level" in r.stderr, r.stderr
    time.sleep(0.5)
    assert "reload:" not in s.error_log(), s.error_log()
    assert requests.get(s.url("/a"), timeout=T).status_code == 200


def test_reload_verb_checks_what_the_instance_reads(upstream, tmp_path, sluice_factory):
    # The instance re-reads the sluice.conf it was started with, from its own directory and with
    # its own environment: the command checks those, wherever it runs and whatever its -c says.
    s = sluice_factory(kong(service("e", upstream.port, [{"name": "a", "paths": ["/a"]}])),
                       {"declarative_config": "named.yml"},
                       env={"SLUICE_DECLARATIVE_CONFIG": "kong.yml"})
    named = os.path.join(s.dir, "named.yml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "sluice.conf").write_text("prefix = %s\n" % s.prefix)
    s.write_kong(BAD_KONG)
    r = cli("reload", "-c", elsewhere / "sluice.conf", cwd=elsewhere)
    assert r.returncode != 0, r.stdout
    assert s.kong_path in r.stderr and "retries" in r.stderr, r.stderr
    s.write_kong(kong(service("e", upstream.port, [{"name": "b", "paths": ["/b"]}])))
    with open(named, "w") as f:
        f.write(BAD_KONG)  # named in the file, but the instance's environment overrides it
    r = cli("reload", "-c", elsewhere / "sluice.conf", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: requests.get(s.url("/b"), timeout=T).status_code == 200), \
        s.error_log()


def test_reload_log_level(upstream, sluice_factory):
    # Start at notice: a reload logs a notice line. Switch to error and reload twice: at most the
    # first reload (logged before or after the switch) may still write a notice line.
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                       {"log_level": "notice"})
    s.signal(signal.SIGHUP)
    assert wait_until(lambda: "[notice]" in s.error_log().split("\n", 1)[-1]), s.error_log()
    base = s.error_log().count("[notice]")
    s.write_conf(log_level="error")
    s.signal(signal.SIGHUP)
    time.sleep(0.5)
    s.signal(signal.SIGHUP)
    time.sleep(0.5)
    s.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert s.alive()
    assert s.error_log().count("[notice]") <= base + 1, s.error_log()


def test_daemon_mode_start_then_stop(upstream, tmp_path):
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"paths": ["/"]}])),
               {"daemon": "on"}, start=False)
    try:
        s.start()
        assert s.proc.returncode == 0
        assert s.pid and s.pid != s.proc.pid
        assert requests.get(s.url("/x"), timeout=T).status_code == 200
        assert s.cli("health", "-p", s.prefix).returncode == 0
        r = s.cli("stop", "-p", s.prefix)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: not s.alive(), timeout=5)
        assert not port_open(s.port)
    finally:
        s.kill()


@pytest.mark.parametrize("log", ["proxy_error_log", "proxy_access_log"])
def test_daemon_with_a_log_on_stderr_lets_go_of_the_launchers_output(upstream, tmp_path, log):
    # `out=$(sluice start)` must return: the daemon keeps no descriptor of the launcher's stderr,
    # even for a log sent to "stderr" (it writes to the daemon's /dev/null instead).
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"paths": ["/"]}])),
               {"daemon": "on", log: "stderr"}, start=False)
    try:
        r = subprocess.run([sluice_bin(), "start", "-c", s.conf_path, "-p", s.prefix],
                           capture_output=True, timeout=15)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: port_open(s.port))
        assert requests.get(s.url("/x"), timeout=T).status_code == 200
    finally:
        subprocess.run([sluice_bin(), "stop", "-p", s.prefix], capture_output=True, timeout=15)
        s.kill()


def test_double_start_refused(upstream, sluice_factory, tmp_path):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])))
    # A second start on the same prefix must refuse (a live pid file), not clobber it.
    r = s.cli("start", "-c", s.conf_path, "-p", s.prefix, timeout=10)
    assert r.returncode != 0
    assert "Error:" in r.stderr
    assert s.alive()
