# SPDX-License-Identifier: Apache-2.0
"""Audit of the CLI and the configuration files as a Kong user meets them: `sluice config parse`
on declarative files whose entries interact (one entry's error must not leak into the next), the
pid file (`stop`, `health`, `start` with a stale one), and the logs. Each test runs the real
binary."""

from lib.sluice import cli


def parse(tmp_path, text, name="kong.yml"):
    p = tmp_path / name
    p.write_text(text)
    return cli("config", "parse", p)


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
                     "in 'services': in entry 1 of 'services': in 'host': must not have a port"], \
        r.stderr
