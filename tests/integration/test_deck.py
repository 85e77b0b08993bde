# SPDX-License-Identifier: Apache-2.0
"""decK, Kong's own declarative client (Debian package `deck`), against Sluice's Admin API on the
SQLite store (issue #3): sync, then diff reports nothing; dump, then diff of the dump reports
nothing; the proxy serves the synced routes.

Debian ships decK 1.4, whose built-in defaults predate some Kong 2.x/3.x fields (service retries,
route https_redirect_status_code / path_handling / request_buffering / response_buffering,
upstream algorithm and three healthcheck fields). decK compares what the Admin API returns with
the state file plus those defaults, so the state file below spells those fields out: against a
real Kong 3.x the same decK needs the same."""

import os
import shutil
import subprocess

import pytest
import requests

from lib.sluice import Sluice, kong

T = 10
DECK = shutil.which("deck")

pytestmark = pytest.mark.skipif(DECK is None and not os.environ.get("CI"),
                                 reason="deck not installed (scripts/install-deps.sh test)")

STATE = """_format_version: "1.1"
services:
- name: echo
  url: http://127.0.0.1:{port}/base
  retries: 5
  tags: [deck]
  routes:
  - name: echo-route
    paths: [/deck]
    https_redirect_status_code: 426
    path_handling: v0
    request_buffering: true
    response_buffering: true
consumers:
- username: alice
  custom_id: a-1
upstreams:
- name: pool
  algorithm: round-robin
  healthchecks:
    threshold: 0
    active:
      https_verify_certificate: true
    passive:
      type: http
  targets:
  - target: 127.0.0.1:{port}
    weight: 100
"""


def deck(admin, *args):
    r = subprocess.run([DECK or "deck", *args, "--kong-addr", admin], capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_deck_sync_diff_dump(tmp_path, upstream):
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "admin_listen": "auto"})
    admin = s.admin_url("").rstrip("/")
    try:
        state = tmp_path / "state.yaml"
        state.write_text(STATE.format(port=upstream.port))
        rc, out = deck(admin, "ping")
        assert rc == 0 and "Kong version:  3." in out, out
        rc, out = deck(admin, "sync", "-s", str(state))
        assert rc == 0, out
        assert "Created: 5" in out, out
        rc, out = deck(admin, "diff", "-s", str(state))
        assert rc == 0 and "Created: 0\n  Updated: 0\n  Deleted: 0" in out, out
        # the proxy serves what decK created
        r = requests.get(s.url("/deck/x"), timeout=T)
        assert r.status_code == 200
        # decK 1.4 sends strip_path: false when the file does not say (its own default)
        assert upstream.requests[-1].target == "/base/deck/x"
        dump = tmp_path / "dump.yaml"
        rc, out = deck(admin, "dump", "-o", str(dump))
        assert rc == 0, out
        assert "echo-route" in dump.read_text() and "alice" in dump.read_text()
        rc, out = deck(admin, "diff", "-s", str(dump))
        assert rc == 0 and "Created: 0\n  Updated: 0\n  Deleted: 0" in out, out
        # a change made through decK reaches the proxy
        state.write_text(STATE.format(port=upstream.port).replace("/deck]", "/deck2]"))
        rc, out = deck(admin, "sync", "-s", str(state))
        assert rc == 0 and "Updated: 1" in out, out
        assert requests.get(s.url("/deck2/x"), timeout=T).status_code == 200
        assert requests.get(s.url("/deck/x"), timeout=T).status_code == 404
    finally:
        s.stop()
