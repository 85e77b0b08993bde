# SPDX-License-Identifier: Apache-2.0
"""The global --v (verbose) and --vv (debug) flags of every `sluice` verb, and the hint that ends an
error, as Kong's CLI (kong/cmd/init.lua, kong/cmd/utils/log.lua, kong/conf_loader; specs
02-start_stop "verbose args", 16-verbose, 11-config). Through the real binary:

- `YYYY/MM/DD HH:MM:SS [verbose] ...` and `[debug] ...` lines on stdout; --v: `Sluice: <version>`,
  the configuration file read (or each default place looked at in vain), the prefix and the database
  in use; --vv adds the library versions, each SLUICE_<KEY> found and every resolved key, sorted,
  with secrets shown as "******";
- `Run with --v (verbose) or --vv (debug) for more details` after an error, left out once either
  flag is given, and not printed where Kong's CLI does not print it (check, an unknown command, the
  exit statuses of `migrations list`)."""

import os
import re
import signal
import socket
import subprocess

import pytest
import requests

from lib.ports import free_port
from lib.sluice import Sluice, cli, kong, port_open, service, sluice_bin, wait_until

T = 10
HINT = "\n  Run with --v (verbose) or --vv (debug) for more details\n"
STAMP = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"


def tagged(stdout, level):
    """The messages of the `<stamp> [<level>] <message>` lines of stdout, in order."""
    out = []
    for line in stdout.splitlines():
        m = re.match(r"^%s \[%s\] (.*)$" % (STAMP, level), line)
        if m:
            out.append(m.group(1))
    return out


def dumped(stdout):
    """--vv's `key = "value"` lines, as (key, value) pairs in the order printed."""
    pairs = []
    for msg in tagged(stdout, "debug"):
        m = re.match(r'^([a-z0-9_]+) = "(.*)"$', msg)
        if m:
            pairs.append((m.group(1), m.group(2)))
    return pairs


def conf_file(tmp_path, text, name="sluice.conf"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# ------------------------------------------------------------------------------ --v and --vv


def test_version_v_and_vv():
    # 16-verbose_spec: `kong version --vv` prints "Kong: <version>"; the version alone without
    r = cli("version")
    assert r.returncode == 0 and r.stdout == "0.1.0\n", r.stdout
    r = cli("version", "--v")
    assert r.returncode == 0, r.stderr
    assert tagged(r.stdout, "verbose") == ["Sluice: 0.1.0"], r.stdout
    assert tagged(r.stdout, "debug") == []
    assert r.stdout.endswith("\n0.1.0\n"), r.stdout
    r = cli("version", "--vv")
    assert r.returncode == 0, r.stderr
    assert tagged(r.stdout, "verbose") == ["Sluice: 0.1.0"], r.stdout
    debug = tagged(r.stdout, "debug")
    assert [d.split(":")[0] for d in debug] == ["libev", "OpenSSL", "SQLite"], r.stdout
    # given both, --v wins, in either order (kong/cmd/init.lua: `if args.v ... elseif args.vv`)
    for flags in (("--v", "--vv"), ("--vv", "--v")):
        r = cli("version", *flags)
        assert r.returncode == 0, r.stderr
        assert tagged(r.stdout, "verbose") == ["Sluice: 0.1.0"], (flags, r.stdout)
        assert tagged(r.stdout, "debug") == [], (flags, r.stdout)


@pytest.mark.parametrize("where", ["before", "after"])
def test_check_v_reads_the_file_and_names_the_prefix(tmp_path, where):
    # the flag is taken wherever it stands: `check --v FILE` was read as a file named "--v"
    path = conf_file(tmp_path, "database = off\nprefix = %s\n" % (tmp_path / "pfx"))
    args = ["check", "--v", path] if where == "before" else ["check", path, "--v"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert tagged(r.stdout, "verbose") == [
        "Sluice: 0.1.0",
        "reading config file at %s" % path,
        "prefix in use: %s" % (tmp_path / "pfx"),
        "database in use: off",
    ], r.stdout
    assert tagged(r.stdout, "debug") == []
    # under --v Kong stamps the command's own lines too (kong/cmd/utils/log.lua)
    assert tagged(r.stdout, "info") == ["configuration at %s is valid" % path], r.stdout
    assert r.stdout.endswith("configuration at %s is valid\n" % path), r.stdout


def test_check_vv_prints_every_key_sorted_and_each_environment_value(tmp_path):
    # 02-start_stop "accepts debug --vv", "prints ENV variables when detected", "prints config in
    # alphabetical order"
    port = free_port()
    path = conf_file(tmp_path, "log_level = info\nworker_processes = 2\n")
    r = cli("check", path, "--vv",
            env={"SLUICE_DATABASE": "off", "SLUICE_ADMIN_LISTEN": "127.0.0.1:%d" % port})
    assert r.returncode == 0, r.stderr
    debug = tagged(r.stdout, "debug")
    assert 'SLUICE_DATABASE ENV found with "off"' in debug, r.stdout
    assert 'SLUICE_ADMIN_LISTEN ENV found with "127.0.0.1:%d"' % port in debug, r.stdout
    pairs = dumped(r.stdout)
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) > 30, keys
    got = dict(pairs)
    # the value that won: file, environment, else the default
    assert got["database"] == "off" and got["log_level"] == "info"
    assert got["worker_processes"] == "2"
    assert got["admin_listen"] == "127.0.0.1:%d" % port
    assert got["prefix"] == "/usr/local/sluice"
    assert "pg_password" not in got and "node_id" not in got  # unset keys are left out, as Kong's
    # the verbose lines come too, the dump between the file and the prefix
    verbose = tagged(r.stdout, "verbose")
    assert "reading config file at %s" % path in verbose and \
        "prefix in use: /usr/local/sluice" in verbose, r.stdout
    lines = r.stdout.splitlines()
    first_key = next(i for i, line in enumerate(lines) if "] admin_listen = " in line)
    assert any("reading config file at" in line for line in lines[:first_key])
    assert any("prefix in use:" in line for line in lines[first_key:])


def test_vv_never_prints_a_password_or_a_key_given_inline(tmp_path):
    # 02-start_stop "does not print sensitive settings in config": KONG_PG_PASSWORD ENV found with
    # "******", pg_password = "******"; a key file's path is shown, a key's PEM text never
    key_path = str(tmp_path / "proxy.key")
    path = conf_file(tmp_path, "database = off\npg_password = file secret 1\n"
                               "ssl_cert = %s\nssl_cert_key = %s\n"
                               % (tmp_path / "proxy.crt", key_path))
    r = cli("check", path, "--vv")
    assert r.returncode == 0, r.stderr
    got = dict(dumped(r.stdout))
    assert got["pg_password"] == "******" and got["ssl_cert_key"] == key_path, r.stdout
    assert "file secret 1" not in r.stdout + r.stderr

    pem = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-----END PRIVATE KEY-----"
    r = cli("check", path, "--vv",
            env={"SLUICE_PG_PASSWORD": "env secret 2", "SLUICE_SSL_CERT_KEY": pem})
    assert r.returncode == 0, r.stderr
    debug = tagged(r.stdout, "debug")
    assert 'SLUICE_PG_PASSWORD ENV found with "******"' in debug, r.stdout
    assert 'SLUICE_SSL_CERT_KEY ENV found with "******"' in debug, r.stdout
    got = dict(dumped(r.stdout))
    assert got["pg_password"] == "******" and got["ssl_cert_key"] == "******", r.stdout
    out = r.stdout + r.stderr
    assert "env secret 2" not in out and "MIIEvQIBADAN" not in out


def test_vv_escapes_control_bytes_of_a_value(tmp_path):
    # a SLUICE_<KEY> value is printed between quotes: a newline or an ESC in it must neither split
    # the line nor reach the terminal
    path = conf_file(tmp_path, "database = off\n")
    r = cli("check", path, "--vv", env={"SLUICE_REAL_IP_HEADER": "X-A\x1b[2J"})
    assert "\x1b" not in r.stdout, r.stdout
    assert 'SLUICE_REAL_IP_HEADER ENV found with "X-A\\027[2J"' in tagged(r.stdout, "debug")


def test_no_config_file_lines_without_c(tmp_path):
    # conf_loader: "no config file found at <default path>" for each, then "no config file, skip
    # loading"; SLUICE_PREFIX names the prefix
    if os.path.exists("/etc/sluice/sluice.conf") or os.path.exists("/etc/sluice.conf"):
        pytest.skip("a sluice.conf exists at a default place on this machine")
    prefix = tmp_path / "nothing here"
    r = cli("health", "--v", env={"SLUICE_PREFIX": str(prefix)})
    assert r.returncode == 1
    assert tagged(r.stdout, "verbose") == [
        "Sluice: 0.1.0",
        "no config file found at /etc/sluice/sluice.conf",
        "no config file found at /etc/sluice.conf",
        "no config file, skip loading",
        "prefix in use: %s" % prefix,
        "database in use: sqlite (%s/sluice.db)" % prefix,
    ], r.stdout
    assert r.stderr == "Error: no such prefix: %s\n" % prefix, r.stderr


def test_config_parse_v(tmp_path):
    p = tmp_path / "kong.yml"
    p.write_text('_format_version: "3.0"\nservices: []\n')
    r = cli("config", "parse", "--v", p)
    assert r.returncode == 0, r.stderr
    assert tagged(r.stdout, "verbose") == ["Sluice: 0.1.0"], r.stdout
    assert tagged(r.stdout, "info") == ["parse successful"], r.stdout


# ------------------------------------------------------------------ a running instance


@pytest.fixture
def prefixes():
    made = []
    yield made
    for p in made:
        if cli("health", "-p", p).returncode == 0:
            cli("stop", "-p", p)
        try:
            with open(os.path.join(p, "pids", "sluice.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


def daemon(tmp_path, upstream, prefixes):
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"name": "r", "paths": ["/"]}])),
               {"daemon": "on"}, start=False)
    prefixes.append(s.prefix)
    return s


def test_start_health_stop_with_v_and_vv(upstream, tmp_path, prefixes):
    # 02-start_stop "accepts verbose --v": "[verbose] prefix in use: "; "accepts debug --vv":
    # "[debug] prefix = ", "[debug] database = "
    s = daemon(tmp_path, upstream, prefixes)
    r = s.cli("start", "--v", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    verbose = tagged(r.stdout, "verbose")
    assert verbose == [
        "Sluice: 0.1.0",
        "reading config file at %s" % s.conf_path,
        "prefix in use: %s" % s.prefix,
        "database in use: off (declarative_config %s)" % s.kong_path,
        "preparing prefix directory at %s" % s.prefix,
    ], r.stdout
    assert tagged(r.stdout, "info") == ["Sluice started"], r.stdout
    assert r.stdout.splitlines()[-1].endswith(" [info] Sluice started"), r.stdout
    assert requests.get(s.url("/x"), timeout=T).status_code == 200

    r = s.cli("health", "--v", "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    assert tagged(r.stdout, "verbose") == ["Sluice: 0.1.0", "prefix in use: %s" % s.prefix]
    # one stamped line per log() call of Kong's health.lua, the empty line jump included
    assert tagged(r.stdout, "info") == ["sluice.......running", "",
                                        "Sluice is healthy at %s" % s.prefix], r.stdout

    r = s.cli("stop", "-p", s.prefix, "--v")
    assert r.returncode == 0, r.stderr
    assert "sending TERM signal to sluice running at %s/pids/sluice.pid" % s.prefix in \
        tagged(r.stdout, "verbose"), r.stdout
    assert tagged(r.stdout, "info") == ["Sluice stopped"], r.stdout
    assert wait_until(lambda: not port_open(s.port), 5)

    r = s.cli("start", "--vv", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    got = dict(dumped(r.stdout))
    assert got["prefix"] == s.prefix and got["database"] == "off", r.stdout
    assert "prefix in use: %s" % s.prefix in tagged(r.stdout, "verbose")
    assert tagged(r.stdout, "info") == ["Sluice started"], r.stdout


def test_restart_passes_the_flag_to_its_start(upstream, tmp_path, prefixes):
    # the start a restart runs says as much as the restart was asked to
    s = daemon(tmp_path, upstream, prefixes)
    r = s.cli("start", "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 0, r.stderr
    r = s.cli("restart", "-p", s.prefix, "--v")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert tagged(r.stdout, "info") == ["Sluice stopped", "Sluice started"], r.stdout
    assert lines[-1].endswith(" [info] Sluice started"), r.stdout
    after = lines[[l.endswith("[info] Sluice stopped") for l in lines].index(True):]
    assert any(line.endswith("[verbose] preparing prefix directory at %s" % s.prefix)
               for line in after), r.stdout
    assert requests.get(s.url("/x"), timeout=T).status_code == 200


# ------------------------------------------------------------------------------ the hint


def test_hint_after_an_error_and_not_with_v(tmp_path):
    # kong/cmd/init.lua: "Error: <message>", then the hint; with --v or --vv, no hint
    missing = tmp_path / "missing"
    r = cli("health", "-p", missing)
    assert r.returncode == 1
    assert r.stderr == "Error: no such prefix: %s\n" % missing + HINT, r.stderr
    for flag in ("--v", "--vv"):
        r = cli("health", "-p", missing, flag)
        assert r.returncode == 1
        assert r.stderr == "Error: no such prefix: %s\n" % missing, (flag, r.stderr)


def test_hint_after_config_parse_errors(tmp_path):
    # 11-config_spec: "Error: Failed parsing:" ... "Run with --v (verbose) or --vv (debug) for more
    # details"
    p = tmp_path / "kong.yml"
    p.write_text('_format_version: "3.0"\nservices:\n- name: a\n  port: 99999\n')
    r = cli("config", "parse", p)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Failed parsing:\n") and r.stderr.endswith(HINT), r.stderr
    assert r.stderr.count("Run with --v") == 1


def test_hint_once_when_a_daemon_start_fails(tmp_path):
    # the error comes from the daemon's child through its parent: one hint, from the parent
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        path = conf_file(tmp_path, "daemon = on\ndatabase = off\nadmin_listen = off\n"
                                   "status_listen = off\nproxy_listen = 127.0.0.1:%d\n"
                         % busy.getsockname()[1])
        r = cli("start", "-c", path, "-p", tmp_path / "prefix")
        assert r.returncode == 1
        assert r.stderr.startswith("Error: ") and r.stderr.endswith(HINT), r.stderr
        assert r.stderr.count("Run with --v") == 1, r.stderr
        r = cli("start", "-c", path, "-p", tmp_path / "prefix", "--v")
        assert r.returncode == 1
        assert r.stderr.startswith("Error: ") and "Run with" not in r.stderr, r.stderr
    finally:
        busy.close()


def test_hint_after_a_configuration_error(tmp_path):
    path = conf_file(tmp_path, "daemon = maybe\n")
    r = cli("start", "-c", path, "-p", tmp_path / "prefix")
    assert r.returncode == 1
    assert r.stderr.startswith("Error: ") and r.stderr.endswith(HINT), r.stderr


def test_no_hint_where_kong_prints_none(tmp_path):
    # kong check lists its errors and quits; lapp's "No such command"; `migrations list` exits 3
    # (an answer, not an error), a reset with nothing to reset exits 1 without an error
    bad = conf_file(tmp_path, "daemon = maybe\n")
    r = cli("check", bad)
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and "Run with" not in r.stderr
    r = cli("frobnicate")
    assert r.returncode == 1 and "Run with" not in r.stderr
    db = conf_file(tmp_path, "database = sqlite\n", name="db.conf")
    prefix = tmp_path / "db"
    r = cli("migrations", "list", "-c", db, "-p", prefix)
    assert r.returncode == 3 and r.stderr == "", r.stderr
    r = cli("migrations", "reset", "-y", "-c", db, "-p", prefix)
    assert r.returncode == 1 and r.stderr == "", r.stderr
    r = subprocess.run([sluice_bin(), "migrations", "reset", "-c", db, "-p", str(prefix)],
                       input="", capture_output=True, text=True, timeout=20)  # not a terminal
    assert r.returncode == 1
    assert r.stderr == ("Error: not a tty: invoke 'reset' non-interactively with the --yes flag\n"
                        + HINT), r.stderr
