# SPDX-License-Identifier: Apache-2.0
"""Kong's `kong` command specs (spec/02-integration/02-cmd: 02-start_stop, 05-check, 04-version,
07-health, 08-quit) and conf_loader cases seen through the real binary, where Sluice used to
differ: KONG_<KEY> is SLUICE_<KEY>, `kong` is `sluice`."""

import os
import time

from lib.sluice import cli, kong, service

# --------------------------------------------------------------------------- 05-check_spec


def test_check_without_a_file_reads_the_default_path():
    # `kong check <conf>`: <conf> defaults to /etc/kong/kong.conf
    r = cli("check")
    path = "/etc/sluice/sluice.conf"
    if os.access(path, os.R_OK):
        assert "configuration at %s" % path in r.stdout + r.stderr, (r.stdout, r.stderr)
    else:
        assert r.returncode == 1
        assert "Error: no file at: %s" % path in r.stderr, r.stderr


def test_check_refuses_an_empty_listen_variable(tmp_path):
    # 03-conf_loader_spec "rejects empty string in listen addresses" (KONG_ADMIN_LISTEN="")
    f = tmp_path / "sluice.conf"
    f.write_text("log_level = info\n")
    r = cli("check", f, env={"SLUICE_ADMIN_LISTEN": ""})
    assert r.returncode == 1, r.stdout
    assert "SLUICE_ADMIN_LISTEN: admin_listen must be of form: [off] | <ip>:<port> [ssl]" \
        in r.stderr, r.stderr


def test_check_reports_a_missing_hosts_file(tmp_path):
    f = tmp_path / "sluice.conf"
    f.write_text("dns_hostsfile = /a_file_that_does_not_exist\n")
    r = cli("check", f)
    assert r.returncode == 1, r.stdout
    assert "dns_hostsfile: file does not exist" in r.stderr, r.stderr


# ---------------------------------------------------------------- 02-start_stop, 07-health


def test_verb_help_prints_the_usage_only():
    # "start help" / "stop help" / "health help" / "quit help": the usage on stderr
    for verb in ("start", "stop", "quit", "health", "reload", "restart"):
        r = cli(verb, "--help")
        assert r.returncode == 0, (verb, r.stderr)
        assert "Usage: sluice COMMAND" in r.stderr, (verb, r.stderr)
        assert "unrecognized option" not in r.stderr, (verb, r.stderr)


def test_no_such_prefix(tmp_path):
    # "stop inexistent prefix": Error: no such prefix: .*/inexistent (health, quit, reload alike)
    want = "Error: no such prefix: %s" % (tmp_path / "inexistent")
    for verb in ("stop", "quit", "health", "reload"):
        r = cli(verb, "--prefix", "inexistent", cwd=tmp_path)
        assert r.returncode == 1, (verb, r.stdout)
        assert want in r.stderr, (verb, r.stderr)
    # an existing prefix with nothing running keeps its own message
    (tmp_path / "empty").mkdir()
    r = cli("health", "-p", tmp_path / "empty")
    assert r.returncode == 1
    assert "Sluice is not running at %s" % (tmp_path / "empty") in r.stderr, r.stderr


# --------------------------------------------------------------------------- 08-quit_spec


def test_quit_with_wait_option(upstream, sluice_factory):
    # "quit gracefully with --wait option": the stop begins after the wait
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])))
    start = time.monotonic()
    r = s.cli("quit", "--wait", "2", "--prefix", s.prefix)
    duration = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    assert "Sluice stopped (gracefully)" in r.stdout, r.stdout
    assert 1.8 <= duration < 6, duration
    assert s.wait(5) == 0


def test_quit_wait_is_checked(tmp_path):
    r = cli("quit", "-p", tmp_path, "-w", "soon")
    assert r.returncode == 1 and "-w needs a number of seconds" in r.stderr, r.stderr


# ------------------------------------------------------------------------- 04-version_spec


def test_version_all():
    # "--all outputs all deps versions": the version first, then one line per library
    for flag in ("-a", "--all"):
        r = cli("version", flag)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "Sluice: 0.1.0", r.stdout
        names = [ln.split(":")[0] for ln in lines[1:]]
        assert names == ["libev", "OpenSSL", "SQLite"], r.stdout
        assert all(ln.split(": ", 1)[1].strip() for ln in lines[1:]), r.stdout
    assert cli("version").stdout.strip() == "0.1.0"
