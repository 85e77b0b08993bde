# SPDX-License-Identifier: Apache-2.0
"""Audit of the CLI and the configuration files as a Kong user meets them: `sluice config parse`
on declarative files whose entries interact (one entry's error must not leak into the next), the
pid file (`stop`, `health`, `start` with a stale one), and the logs. Each test runs the real
binary."""

import os
import subprocess
import threading
import time

import requests

from lib import upstream as U
from lib.sluice import Sluice, SluiceError, cli, dump_yaml, kong, service


def parse(tmp_path, text, name="kong.yml"):
    p = tmp_path / name
    p.write_text(text)
    return cli("config", "parse", p)


# what Kong's CLI prints after the errors (kong/cmd/init.lua)
HINT_LINES = ["", "  Run with --v (verbose) or --vv (debug) for more details"]


def test_service_host_error_does_not_leak_into_the_next_service(tmp_path):
    # A host with an out-of-range port ("must not have a port", as Kong's typedefs.host) must not
    # make the valid hosts after it fail the same way.
    r = parse(tmp_path, '_format_version: "3.0"\n'
                        'services:\n'
                        '- name: bad\n  host: "example.com:99999"\n'
                        '- name: good\n  host: example.com\n'
                        '- name: good2\n  host: "10.0.0.1"\n')
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines == ["Error: Failed parsing:",
                     "in 'services': in entry 1 of 'services': in 'host': must not have a port"
                     ] + HINT_LINES, r.stderr


def test_pid_file_naming_another_process_is_stale(upstream, tmp_path):
    # A pid file left behind (crash, SIGKILL, reboot) whose pid now belongs to another process:
    # `stop` and `quit` must not signal that process, `health` must not call it running, and
    # `start` must not refuse to run because of it.
    stranger = subprocess.Popen(["sleep", "60"])
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"paths": ["/"]}])), start=False)
    try:
        os.makedirs(os.path.dirname(s.pid_path), exist_ok=True)
        with open(s.pid_path, "w") as f:
            f.write("%d\n" % stranger.pid)
        for verb in ("health", "stop", "quit"):
            r = cli(verb, "-p", s.prefix)
            assert r.returncode == 1 and "not running" in r.stderr, (verb, r.stdout, r.stderr)
        time.sleep(0.2)
        assert stranger.poll() is None, "a sluice verb signalled a process that is not Sluice"

        s.start()
        assert requests.get(s.url("/"), timeout=10).status_code == 200
        # the live instance is still found, and stopped, through its pid file
        r = cli("health", "-p", s.prefix)
        assert r.returncode == 0, r.stderr
        r = cli("stop", "-p", s.prefix)
        assert r.returncode == 0, r.stderr
        assert s.wait(5) == 0
        assert stranger.poll() is None
    finally:
        s.stop(timeout=5)
        stranger.kill()
        stranger.wait()


def test_stop_with_prefix_is_not_blocked_by_a_broken_conf(upstream, tmp_path):
    # stop, quit and health need only the prefix: once the operator names it with -p, a
    # sluice.conf or a SLUICE_<KEY> variable that went bad since the start must not keep them from
    # reaching (and stopping) the running instance.
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"paths": ["/"]}])))
    try:
        broken = tmp_path / "broken.conf"
        broken.write_text("proxy_lisen = 127.0.0.1:1\n")
        bad_env = {"SLUICE_LOG_LEVEL": "loud"}
        r = cli("health", "-c", broken, "-p", s.prefix, env=bad_env)
        assert r.returncode == 0, r.stderr
        r = cli("stop", "-c", broken, "-p", s.prefix, env=bad_env)
        assert r.returncode == 0, r.stderr
        assert s.wait(5) == 0
        # without -p the prefix comes from the configuration, whose errors are still reported
        r = cli("stop", "-c", broken)
        assert r.returncode == 1 and "unknown property 'proxy_lisen'" in r.stderr, r.stderr
    finally:
        s.stop(timeout=5)


def test_quit_timeout_option_is_checked(tmp_path):
    r = cli("quit", "-p", tmp_path, "-t", "abc")
    assert r.returncode == 1 and "-t needs a number of seconds" in r.stderr, r.stderr
    r = cli("quit", "-p", tmp_path, "-t", "-3")
    assert r.returncode == 1 and "-t needs a number of seconds" in r.stderr, r.stderr


def test_quit_t_zero_waits_one_second_not_ten(upstream, tmp_path):
    # `kong quit -t 0` waits at least 1 s, then SIGTERM; it used to mean the 10 s default.
    upstream.route("/slow", U.delay(20.0))
    s = Sluice(tmp_path, kong(service("e", upstream.port, [{"paths": ["/"], "strip_path": False}])),
               {"quit_timeout": "60"})
    try:
        res = {}

        def slow():
            try:
                res["r"] = requests.get(s.url("/slow"), timeout=30)
            except requests.RequestException as e:
                res["e"] = e
        t = threading.Thread(target=slow)
        t.start()
        assert upstream.wait_requests(1, 5) == 1
        t0 = time.monotonic()
        r = cli("quit", "-p", s.prefix, "-t", "0", timeout=30)
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        assert s.wait(5) == 0
        assert took < 6, took
        # as `kong quit` on a timeout
        assert r.stdout == "Timeout, Sluice stopping forcefully\nSluice stopped forcefully\n"
        t.join(30)
        assert "e" in res  # the in-flight request was cut by the SIGTERM
    finally:
        s.stop(timeout=5)


# Kong's own schema tests (05-services_spec.lua, 06-routes_spec.lua) as a Kong user meets them: one
# kong.yml with the cases Sluice used to get wrong. Kong OSS rejects each with the line below (the
# same text and field path); `config parse` and `start` must list every one of them.
KONG_REJECTS = (
    '_format_version: "3.0"\n'
    'services:\n'
    '- name: s1\n'
    '  host: example.com\n'
    '  protocol: ws\n'                       # ws/wss are Kong Enterprise protocols
    '  routes:\n'
    '  - name: r1\n'
    '    protocols: [https, wss]\n'
    '    paths: [/a]\n'
    '  - name: r2\n'
    '    paths: ["/abcd%aa", "~/a%zz"]\n'     # %AA decodes to a byte: not normalised
    '  - name: r3\n'
    '    protocols: [grpc]\n'
    '    methods: GET\n'                     # "cannot set", not "expected a set"
    '    paths: [/g]\n'
    '  - name: r4\n'
    '    headers: [x-a]\n')                   # a list's keys are 1..n: not header names
KONG_LINES = [
    "in 'services': in entry 1 of 'services': in 'protocol': expected one of: grpc, grpcs, http, "
    "https, tcp, tls, tls_passthrough, udp",
    "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of 'routes': in 'protocols': "
    "in entry 2 of 'protocols': expected one of: grpc, grpcs, http, https, tcp, tls, "
    "tls_passthrough, udp",
    "in 'services': in entry 1 of 'services': in 'routes': in entry 2 of 'routes': in 'paths': in "
    "entry 1 of 'paths': non-normalized path, consider use '/abcd\\xAA' instead",
    "in 'services': in entry 1 of 'services': in 'routes': in entry 3 of 'routes': in 'methods': "
    "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
    "in 'services': in entry 1 of 'services': in 'routes': in entry 4 of 'routes': in 'headers': "
    "expected a string",
]


def test_kong_schema_rejections_are_kongs(tmp_path):
    r = parse(tmp_path, KONG_REJECTS)
    assert r.returncode == 1, r.stdout
    assert r.stderr.strip().splitlines() == ["Error: Failed parsing:"] + KONG_LINES + HINT_LINES, \
        r.stderr


def test_start_refuses_the_file_with_every_kong_error(tmp_path):
    s = Sluice(tmp_path, KONG_REJECTS, start=False)
    try:
        try:
            s.start()
        except SluiceError:
            pass
        else:
            raise AssertionError("sluice started with an invalid kong.yml")
        assert s.returncode not in (None, 0)
        err = s.stderr()
        for line in KONG_LINES:
            assert line in err, (line, err)
    finally:
        s.stop(timeout=5)


def test_kong_accepted_paths_load_and_route(upstream, tmp_path):
    # Kong runs its percent-encoding check on a regex path with the "~" still in front, so the
    # check never applies to it: "~/a%zz" is a valid (if never matching) regex route, and a file
    # that has one must load and serve its other routes.
    doc = kong(service("e", upstream.port, [{"paths": ["~/a%zz"], "name": "re"},
                                            {"paths": ["/ok"], "name": "ok"}]))
    r = parse(tmp_path, dump_yaml(doc))
    assert r.returncode == 0, r.stderr
    s = Sluice(tmp_path, doc)
    try:
        assert requests.get(s.url("/ok"), timeout=10).status_code == 200
        assert requests.get(s.url("/a%25zz"), timeout=10).status_code == 404
    finally:
        s.stop(timeout=5)


def test_kong_nginx_directive_keys_that_sluice_has_are_taken(upstream, sluice_factory, tmp_path):
    """A kong.conf line such as `nginx_http_client_max_body_size = 1k` (Kong's nginx directive
    injection) means Sluice's own client_max_body_size; a directive Sluice has no key for is still
    an unknown property, never silently dropped."""
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/"]}])),
                       {"nginx_http_client_max_body_size": "1k"})
    assert requests.post(s.url("/"), data=b"x" * 1024, timeout=10).status_code == 200
    r = requests.post(s.url("/"), data=b"x" * 1025, timeout=10)
    assert r.status_code == 413, r.text
    conf = tmp_path / "kong.conf"
    conf.write_text("nginx_proxy_proxy_ssl_protocols = TLSv1.3\n")
    r = cli("check", conf)
    assert r.returncode == 1
    assert "unknown property 'nginx_proxy_proxy_ssl_protocols'" in r.stderr, r.stderr
