# SPDX-License-Identifier: Apache-2.0
"""More of Kong's `kong` command specs (spec/02-integration/02-cmd), through the real binary:
02-start_stop, 03-reload, 06-restart, 07-health, 10-migrations (SQLite) and 13-signals. `kong` is
`sluice`, KONG_<KEY> is SLUICE_<KEY>, nginx's pid file is <prefix>/pids/sluice.pid. Cases that need
what Sluice does not have (vaults, stream listeners, nginx templates, --vv, Postgres, plugins) are
left out; see the report of the change that added this file."""

import os
import signal
import subprocess

import pytest
import requests

from lib.ports import free_port
from lib.sluice import Sluice, cli, kong, port_open, service, sluice_bin, wait_until

T = 10


def read_pid(prefix):
    try:
        with open(os.path.join(str(prefix), "pids", "sluice.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


@pytest.fixture
def prefixes():
    """Prefixes whose daemonized instance (whatever its pid after restarts) is stopped after the
    test: `sluice stop`, then SIGKILL to the pid in the pid file if it still runs."""
    made = []
    yield made
    for p in made:
        if cli("health", "-p", p).returncode == 0:
            cli("stop", "-p", p)
        pid = read_pid(p)
        if pid and cli("health", "-p", p).returncode == 0 and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def daemon(tmp_path, upstream, prefixes, conf=None, name="sluice", **kw):
    """A Sluice set up to daemonize (not started): its prefix is cleaned up by `prefixes`."""
    c = {"daemon": "on"}
    c.update(conf or {})
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"name": "r", "paths": ["/"]}])), c,
               start=False, name=name, **kw)
    prefixes.append(s.prefix)
    return s


# ---------------------------------------------------------------------- 02-start_stop_spec


def test_start_says_started_and_stop_says_stopped(upstream, tmp_path, prefixes):
    # "resolves referenced secrets" / "start/stop stops without error when references cannot be
    # resolved": `kong start` prints "Kong started", `kong stop` prints "Kong stopped"
    s = daemon(tmp_path, upstream, prefixes)
    r = s.cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Sluice started\n", r.stdout
    assert requests.get(s.url("/x"), timeout=T).status_code == 200
    r = s.cli("stop", "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Sluice stopped\n", r.stdout
    assert not port_open(s.port)


def test_start_stop_with_default_conf_and_prefix_from_the_environment(upstream, tmp_path,
                                                                      prefixes):
    # "start/stop gracefully with default conf/prefix": no -c, no -p; KONG_PREFIX and the other
    # keys come from the environment, for both verbs
    if os.access("/etc/sluice/sluice.conf", os.R_OK) or os.access("/etc/sluice.conf", os.R_OK):
        pytest.skip("a default sluice.conf exists on this machine")
    prefix = str(tmp_path / "envprefix")
    prefixes.append(prefix)
    port = free_port()
    env = {"SLUICE_PREFIX": prefix, "SLUICE_DATABASE": "off", "SLUICE_ADMIN_LISTEN": "off",
           "SLUICE_STATUS_LISTEN": "off", "SLUICE_PROXY_LISTEN": "127.0.0.1:%d" % port,
           "SLUICE_WORKER_PROCESSES": "1"}
    r = cli("start", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert port_open(port)
    r = cli("stop", env={"SLUICE_PREFIX": prefix}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: not port_open(port))


def test_stop_prefix_beats_the_prefix_variable(upstream, tmp_path, prefixes):
    # "stop honors custom Kong prefix higher than environment variable"
    s = daemon(tmp_path, upstream, prefixes)
    assert s.cli("start", "-c", s.conf_path, "-p", s.prefix).returncode == 0
    r = cli("stop", "--prefix", s.prefix, env={"SLUICE_PREFIX": "/tmp/dne"})
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: not port_open(s.port))


def test_start_creates_a_relative_prefix(upstream, tmp_path, prefixes):
    # "creates prefix directory if it doesn't exist": `kong start --prefix foobar`
    s = daemon(tmp_path, upstream, prefixes)
    foobar = tmp_path / "foobar"
    prefixes.append(str(foobar))
    assert not foobar.exists()
    r = cli("start", "-c", s.conf_path, "--prefix", "foobar", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert foobar.is_dir() and read_pid(foobar)
    assert cli("health", "-p", "foobar", cwd=tmp_path).returncode == 0


def test_a_clean_start_and_stop_log_no_warn_or_error(upstream, tmp_path, prefixes):
    # "should not add [emerg], [alert], [crit], [error] or [warn] lines to error log"
    s = daemon(tmp_path, upstream, prefixes, {"admin_listen": "auto", "log_level": "debug"})
    assert s.cli("start", "-c", s.conf_path, "-p", s.prefix).returncode == 0
    assert requests.get(s.url("/x"), timeout=T).status_code == 200
    assert s.cli("stop", "-p", s.prefix).returncode == 0
    assert wait_until(lambda: "sluice stopped" in s.error_log()), s.error_log()
    for level in ("[emerg]", "[alert]", "[crit]", "[error]", "[warn]"):
        assert level not in s.error_log(), s.error_log()


def test_start_with_a_missing_conf_file(tmp_path):
    # "start inexistent Kong conf file"
    r = cli("start", "--conf", "foobar.conf", cwd=tmp_path)
    assert r.returncode == 1
    assert "Error: no file at: foobar.conf" in r.stderr, r.stderr


def test_start_refused_when_already_running_and_the_prefix_left_alone(upstream, tmp_path,
                                                                     prefixes):
    # "notifies when Kong is already running", "should not start Kong if already running in
    # prefix", "does not prepare the prefix directory if Kong is already running"
    s = daemon(tmp_path, upstream, prefixes)
    assert s.cli("start", "-c", s.conf_path, "-p", s.prefix).returncode == 0
    pid = read_pid(s.prefix)

    def snapshot():
        out = {}
        for root, _, files in os.walk(s.prefix):
            for f in files:
                p = os.path.join(root, f)
                st = os.stat(p)
                out[p] = (st.st_mtime_ns, st.st_size)
        return out
    before = snapshot()
    s.write_conf(worker_processes="2")
    r = s.cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 1, r.stdout
    assert "Sluice is already running in %s" % s.prefix in r.stderr, r.stderr
    assert read_pid(s.prefix) == pid and pid_alive(pid)
    assert snapshot() == before
    assert requests.get(s.url("/x"), timeout=T).status_code == 200


def test_start_on_a_prefix_that_is_a_file(tmp_path):
    # 10-migrations "-p accepts a prefix override" (`-p /dev/null`): "/dev/null is not a
    # directory"; `start` prepares the prefix the same way
    f = tmp_path / "sluice.conf"
    f.write_text("database = off\nproxy_listen = 127.0.0.1:%d\n" % free_port())
    r = cli("start", "-c", f, "-p", "/dev/null")
    assert r.returncode == 1
    assert r.stderr == ("Error: /dev/null is not a directory\n\n"
                        "  Run with --v (verbose) or --vv (debug) for more details\n"), r.stderr


def test_a_stale_pid_file_after_kill_9_does_not_block_a_start(upstream, tmp_path, prefixes):
    # "dangling socket cleanup": after the node was SIGKILLed, `kong start` succeeds again
    # ("removes unix socket files"; Sluice has no socket files, its stale state is the pid file)
    s = daemon(tmp_path, upstream, prefixes)
    assert s.cli("start", "-c", s.conf_path, "-p", s.prefix).returncode == 0
    pid = read_pid(s.prefix)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(pid))
    assert read_pid(s.prefix) == pid  # left behind
    r = s.cli("health", "-p", s.prefix)
    assert r.returncode == 1 and "Sluice is not running at %s" % s.prefix in r.stderr
    r = s.cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert "Sluice started" in r.stdout
    assert read_pid(s.prefix) not in (None, pid)
    assert requests.get(s.url("/x"), timeout=T).status_code == 200


def test_foreground_access_log_to_stdout(upstream, tmp_path):
    # "nginx_main_daemon = off": "redirects nginx's stdout to 'kong start' stdout" with
    # KONG_PROXY_ACCESS_LOG=/dev/stdout
    s = Sluice(tmp_path, kong(), {"proxy_access_log": None}, start=False,
               env={"SLUICE_PROXY_ACCESS_LOG": "/dev/stdout"})
    with s:
        s.start()
        assert requests.get(s.url("/hello"), timeout=T).status_code == 404  # no route
        assert wait_until(lambda: '"GET /hello HTTP/1.1" 404' in s._read(s.stdout_path)), \
            s._read(s.stdout_path)


def test_declarative_config_start(upstream, sluice_factory):
    # "declarative config start": "starts with a valid declarative config file" (a route by
    # host), and "hash is set correctly" for it and for an empty configuration
    doc = kong(service("my-service", upstream.port,
                       [{"name": "example-route", "hosts": ["example.test"]}]))
    s = sluice_factory(doc, {"admin_listen": "auto", "worker_processes": "4"})
    r = requests.get(s.url("/"), headers={"Host": "example.test"}, timeout=T)
    assert r.status_code == 200
    h = requests.get(s.admin_url("/status"), timeout=T).json()["configuration_hash"]
    assert isinstance(h, str) and len(h) == 32 and h != "0" * 32
    empty = sluice_factory(kong(), {"admin_listen": "auto", "declarative_config": None})
    h = requests.get(empty.admin_url("/status"), timeout=T).json()["configuration_hash"]
    assert h == "0" * 32


def test_start_refuses_an_invalid_declarative_config(tmp_path):
    # "does not start with an invalid declarative config file": every error, Kong's wording
    bad = ('_format_version: "1.1"\n'
           'services:\n'
           '- name: "@gobo"\n'
           '  protocol: foo\n'
           '  host: mockbin.org\n'
           '- name: my-service\n'
           '  url: http://mockbin.org\n'
           '  routes:\n'
           '  - name: example-route\n'
           '    hosts:\n'
           '    - example.test\n'
           '    - \\\\99\n')
    s = Sluice(tmp_path, bad, start=False)
    r = cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 1
    assert "in 'protocol': expected one of: grpc, grpcs, http, https, tcp, tls, " \
           "tls_passthrough, udp" in r.stderr, r.stderr
    assert "in 'name': invalid value '@gobo': the only accepted ascii characters are " \
           "alphanumerics or ., -, _, and ~" in r.stderr, r.stderr
    assert "in entry 2 of 'hosts': invalid hostname: \\\\99" in r.stderr, r.stderr
    assert not port_open(s.port)


# --------------------------------------------------------------------------- 03-reload_spec


def test_reload_keeps_the_process_and_its_node_id(upstream, sluice_factory):
    # "send a 'reload' signal to a running Nginx master process" (same master pid), "clears the
    # 'kong' shm but preserves 'node_id'"
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                       {"admin_listen": "auto"})
    # in the foreground the pid file is written just after the listeners open, which is what the
    # factory waits for
    assert wait_until(lambda: read_pid(s.prefix) is not None)
    pid = read_pid(s.prefix)
    node = requests.get(s.admin_url("/"), timeout=T).json()["node_id"]
    r = s.cli("reload", "--prefix", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Sluice reloaded\n"
    assert wait_until(lambda: "reload: configuration reloaded" in s.error_log()), s.error_log()
    assert read_pid(s.prefix) == pid == s.pid and s.alive()
    assert requests.get(s.admin_url("/"), timeout=T).json()["node_id"] == node


def test_reload_reads_the_declarative_config_again(upstream, sluice_factory):
    # "reloads the declarative_config from kong.conf": the file rewritten, then `kong reload`
    s = sluice_factory(kong(service("my-service", upstream.port,
                                    [{"name": "example-route", "hosts": ["example.test"]}])),
                       {"admin_listen": "auto"})

    def names():
        body = requests.get(s.admin_url("/services"), timeout=T).json()
        return [x["name"] for x in body["data"]], body["next"]
    assert names() == (["my-service"], None)
    s.write_kong(kong(service("mi-servicio", upstream.port,
                              [{"name": "example-route", "hosts": ["example.test"]}])))
    assert s.cli("reload", "--prefix", s.prefix).returncode == 0
    assert wait_until(lambda: names() == (["mi-servicio"], None)), names()


def test_reload_keeps_a_pushed_config_without_declarative_config(upstream, sluice_factory):
    # "preserves declarative config from memory when not using declarative_config from kong.conf"
    s = sluice_factory(kong(), {"admin_listen": "auto", "declarative_config": None})
    r = requests.post(s.admin_url("/config"), json={
        "_format_version": "1.1",
        "services": [{"name": "my-service", "url": "http://127.0.0.1:%d" % upstream.port}]},
        timeout=T)
    assert r.status_code == 201, r.text
    assert s.cli("reload", "--prefix", s.prefix).returncode == 0
    assert wait_until(lambda: "reload: configuration reloaded" in s.error_log()), s.error_log()
    body = requests.get(s.admin_url("/services"), timeout=T).json()
    assert [x["name"] for x in body["data"]] == ["my-service"] and body["next"] is None


def test_reload_when_not_running(tmp_path):
    # "complains about missing PID if not already running" (a prepared prefix, nothing running)
    prefix = tmp_path / "prefix"
    (prefix / "pids").mkdir(parents=True)
    f = tmp_path / "sluice.conf"
    f.write_text("database = off\n")
    r = cli("reload", "-c", f, "--prefix", prefix)
    assert r.returncode == 1
    assert "Error: Sluice is not running in %s" % prefix in r.stderr, r.stderr


# -------------------------------------------------------------------------- 06-restart_spec


def test_restart_when_not_running(upstream, tmp_path, prefixes):
    # "restarts if not running": a plain start, and no error about the stop
    s = daemon(tmp_path, upstream, prefixes)
    r = s.cli("restart", "--conf", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and "Sluice started" in r.stdout, (r.stdout, r.stderr)
    assert requests.get(s.url("/x"), timeout=T).status_code == 200


def test_restart_from_conf(upstream, tmp_path, prefixes):
    # "restarts if already running from --conf": a new master pid; the output of both halves
    s = daemon(tmp_path, upstream, prefixes)
    assert s.cli("start", "--conf", s.conf_path, "-p", s.prefix).returncode == 0
    pid = read_pid(s.prefix)
    r = s.cli("restart", "--conf", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Sluice stopped\nSluice started\n", r.stdout
    assert read_pid(s.prefix) not in (None, pid)
    assert not pid_alive(pid)
    assert requests.get(s.url("/x"), timeout=T).status_code == 200


def test_restart_from_prefix_keeps_the_running_configuration(upstream, tmp_path, prefixes):
    # "restarts if already running from --prefix": Kong restarts the node from the configuration
    # it runs (<prefix>/.kong_env), not from the defaults; here from another directory, with
    # an environment that does not have the instance's variables
    s = daemon(tmp_path, upstream, prefixes, {"declarative_config": "kong.yml",
                                              "proxy_listen": None},
               env={"SLUICE_PROXY_LISTEN": "127.0.0.1:{port}"})
    s.env["SLUICE_PROXY_LISTEN"] = "127.0.0.1:%d" % s.port
    assert s.cli("start", "--conf", "sluice.conf", "-p", s.prefix).returncode == 0
    pid = read_pid(s.prefix)
    assert requests.get(s.url("/x"), timeout=T).status_code == 200
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for _ in range(2):  # and a restart of a restarted instance
        r = cli("restart", "--prefix", s.prefix, cwd=elsewhere)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "Sluice stopped\nSluice started\n", r.stdout
        new = read_pid(s.prefix)
        assert new not in (None, pid)
        pid = new
        # the same listener (from the instance's environment) and declarative file (relative to
        # the instance's directory)
        assert requests.get(s.url("/x"), timeout=T).status_code == 200


def test_restart_that_cannot_load_leaves_the_instance_running(upstream, tmp_path, prefixes):
    # not in Kong's spec (its restart asserts the configuration loads before stopping): the new
    # configuration is checked before the stop
    s = daemon(tmp_path, upstream, prefixes)
    assert s.cli("start", "--conf", s.conf_path, "-p", s.prefix).returncode == 0
    pid = read_pid(s.prefix)
    s.write_conf(bogus_key="1")
    r = cli("restart", "--prefix", s.prefix)
    assert r.returncode == 1 and "bogus_key" in r.stderr, r.stderr
    assert read_pid(s.prefix) == pid and pid_alive(pid)
    assert requests.get(s.url("/x"), timeout=T).status_code == 200


# --------------------------------------------------------------------------- 07-health_spec


def test_health(upstream, tmp_path, prefixes):
    # "succeeds when Kong is running with custom --prefix", "fails when Kong is not running",
    # "errors on inexisting prefix"
    s = daemon(tmp_path, upstream, prefixes)
    assert s.cli("start", "--conf", s.conf_path, "-p", s.prefix).returncode == 0
    r = s.cli("health", "--prefix", s.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "sluice.......running\n\nSluice is healthy at %s\n" % s.prefix
    assert s.cli("stop", "-p", s.prefix).returncode == 0
    r = s.cli("health", "--prefix", s.prefix)
    assert r.returncode == 1
    assert "Sluice is not running at %s" % s.prefix in r.stderr, r.stderr
    r = cli("health", "--prefix", "inexistant", cwd=tmp_path)
    assert r.returncode == 1 and "no such prefix: " in r.stderr


# -------------------------------------------------------------------------- 13-signals_spec


def test_usr1_is_logged_with_its_sender(upstream, sluice_factory):
    # "can receive USR1": the error log has nginx's "(SIGUSR1) received from"
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                       {"log_level": "notice"})
    s.signal(signal.SIGUSR1)
    line = "signal 10 (SIGUSR1) received from %d, reopening logs" % os.getpid()
    assert wait_until(lambda: line in s.error_log()), s.error_log()
    assert s.alive()
    # the line is written before the reopen: a rotated file ends with it, the new one starts
    os.rename(s.error_log_path, s.error_log_path + ".1")
    os.kill(s.pid, signal.SIGUSR1)
    assert wait_until(lambda: os.path.exists(s.error_log_path))
    assert open(s.error_log_path + ".1").read().count("(SIGUSR1) received from") == 2


def test_stop_and_quit_signals_are_logged_by_name(upstream, sluice_factory):
    # nginx names the signal in its notice ("signal 15 (SIGTERM) received"); so does Sluice
    for sig, rest in ((signal.SIGQUIT, "draining (graceful quit)"),
                      (signal.SIGTERM, "stopping")):
        s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                           {"log_level": "notice"})
        s.signal(sig)
        line = "signal %d (%s) received, %s" % (sig, sig.name, rest)
        assert wait_until(lambda: line in s.error_log()), s.error_log()


# ----------------------------------------------------------------------- 10-migrations_spec


def migrations(s, *args, **kw):
    return cli("migrations", *args, "-c", s.conf_path, "-p", s.prefix, **kw)


@pytest.fixture
def sqlite_conf(tmp_path):
    return Sluice(tmp_path, kong(), {"database": "sqlite", "declarative_config": None},
                  start=False)


def test_migrations_rejects_invalid_commands(sqlite_conf):
    # "rejects invalid commands", and nothing is created for it
    r = migrations(sqlite_conf, "invalid")
    assert r.returncode == 1
    assert "No such command for migrations: invalid" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(sqlite_conf.prefix, "sluice.db"))


def test_migrations_reset_needs_yes_without_a_tty(sqlite_conf):
    # "cannot run non-interactively without --yes": `echo y | kong migrations reset`
    assert migrations(sqlite_conf, "bootstrap").returncode == 0
    r = subprocess.run([sluice_bin(), "migrations", "reset", "-c", sqlite_conf.conf_path, "-p",
                        sqlite_conf.prefix], input="y\n", capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1
    assert "not a tty" in r.stderr, r.stderr
    # nothing was dropped
    r = migrations(sqlite_conf, "list")
    assert "Executed migrations:\n  core: 000_base_core" in r.stdout, r.stdout
    # "runs non-interactively with --yes"
    r = migrations(sqlite_conf, "reset", "--yes")
    assert r.returncode == 0, r.stderr
    r = migrations(sqlite_conf, "list")
    assert r.returncode == 3 and "needs bootstrapping" in r.stdout, (r.returncode, r.stdout)


def test_migrations_list_and_reset_on_a_database_never_bootstrapped(sqlite_conf):
    # kong/cmd/migrations.lua: `list` exits 3 with the bootstrap message; `reset` says "nothing to
    # reset" and exits 1, asking nothing (migrations_utils.reset)
    r = migrations(sqlite_conf, "list")
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "Database needs bootstrapping; run 'sluice migrations bootstrap'" in r.stdout
    r = subprocess.run([sluice_bin(), "migrations", "reset", "-c", sqlite_conf.conf_path, "-p",
                        sqlite_conf.prefix], input="", capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "not a tty" in r.stderr  # the tty check comes first, as in Kong
    r = migrations(sqlite_conf, "reset", "--yes")
    assert r.returncode == 1 and "Database not bootstrapped, nothing to reset" in r.stdout, r.stdout
    # once bootstrapped, a second reset has nothing left to reset either
    assert migrations(sqlite_conf, "bootstrap").returncode == 0
    assert migrations(sqlite_conf, "reset", "--yes").returncode == 0
    r = migrations(sqlite_conf, "reset", "--yes")
    assert r.returncode == 1 and "nothing to reset" in r.stdout


def test_migrations_bootstrap_and_up(sqlite_conf):
    # "does not bootstrap twice", "lists migrations if bootstrapped", "up": already up-to-date
    r = migrations(sqlite_conf, "bootstrap")
    assert r.returncode == 0 and "\nDatabase is up-to-date\n" in r.stdout, r.stdout
    r = migrations(sqlite_conf, "bootstrap")
    assert r.returncode == 0 and "Database already bootstrapped" in r.stdout, r.stdout
    r = migrations(sqlite_conf, "up")
    assert r.returncode == 0 and "Database is already up-to-date" in r.stdout, r.stdout
    r = migrations(sqlite_conf, "list")
    assert r.returncode == 0 and r.stdout.startswith("Executed migrations:"), r.stdout


def test_migrations_prefix_that_is_not_a_directory(sqlite_conf):
    # "-p accepts a prefix override": `-p /dev/null` fails, nothing on stdout
    r = cli("migrations", "bootstrap", "-c", sqlite_conf.conf_path, "-p", "/dev/null")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "/dev/null is not a directory" in r.stderr, r.stderr
