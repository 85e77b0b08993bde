# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the wire suite: strict oracle upstreams and the Sluice instances that front them.

Instances (session scope, one worker each):
- main: small limits (large_client_header_buffers 1k, max_header_bytes 4k, 20 headers, body 1k),
  long timeouts; routes /admin → A, / → B (request_buffering false: bodies stream), hosts authority.test → C, /resp → R (scripted).
- slow: short timeouts (header/body/keep-alive 2 s); / → S.
- edge: no catch-all route (404s), https-only routes /secure (301) and /s426 (426), /open → E
  (request_buffering false).
Oracles are shared by the tests of a session: a test resets their records first (the `mn` fixture
does it for main) and looks only at what arrived since.

Run: /usr/bin/python3 -m pytest tests/wire (binary: $SLUICE_BIN, else build/sluice).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/ → lib

import wirelib as W  # noqa: E402
from lib.sluice import Sluice, have_binary, sluice_bin  # noqa: E402

# The main instance's limits; wirelib holds the same numbers for the tests.
LIMITS = {
    "large_client_header_buffers": "1k",
    "max_header_bytes": "4k",
    "lua_max_req_headers": "20",
    "client_max_body_size": "1k",
}
assert (W.LINE_MAX, W.HEAD_MAX, W.HEADERS_MAX, W.BODY_MAX) == (1024, 4096, 20, 1024)


INSTANCES = []  # every Sluice started by this suite, for the sanitizer check below
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _stderr_size(sl):
    try:
        return os.path.getsize(sl.stderr_path)
    except OSError:
        return 0


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """With an ASan/UBSan build (make asan), a sanitizer report printed while a test ran fails
    that test (at teardown), so the report is attributed to the bytes that caused it."""
    before = {id(sl): _stderr_size(sl) for sl in INSTANCES}
    yield
    for sl in INSTANCES:
        start = before.get(id(sl), 0)
        if _stderr_size(sl) <= start:
            continue
        with open(sl.stderr_path, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
        if any(m in text for m in SANITIZER_MARKS):
            pytest.fail("sanitizer report from %s:\n%s" % (sl.dir, text[:4000]))


def _start(tmp, kong, conf, name):
    sl = Sluice(tmp, kong, conf, name=name)
    INSTANCES.append(sl)
    return sl


def _svc(name, oracle, routes, **extra):
    svc = {"name": name, "url": "http://127.0.0.1:%d" % oracle.port}
    svc.update(extra)
    svc["routes"] = routes
    return svc


@pytest.fixture(scope="session")
def sluice_binary():
    if not have_binary():
        pytest.skip("no Sluice binary at %s (run make, or set SLUICE_BIN)" % sluice_bin())
    return sluice_bin()


class Main:
    """The main instance and its oracles."""

    def __init__(self, tmp):
        self.A = W.Oracle("A")
        self.B = W.Oracle("B")
        self.C = W.Oracle("C")
        self.R = W.Oracle("R", responder=self._scripted)
        self.script = {}
        kong = {
            "_format_version": "3.0",
            "services": [
                _svc("svc-a", self.A, [{"name": "admin", "paths": ["/admin"],
                                        "strip_path": False}]),
                # streamed request bodies: the suite pins their framing (buffering, Kong's
                # default, is tests/integration/test_request_buffering.py's)
                _svc("svc-b", self.B, [{"name": "root", "paths": ["/"], "strip_path": False,
                                        "request_buffering": False}]),
                _svc("svc-c", self.C, [{"name": "by-host", "hosts": ["authority.test"]}]),
                _svc("svc-r", self.R, [{"name": "resp", "paths": ["/resp"],
                                        "strip_path": False}], retries=0),
            ],
        }
        conf = dict(LIMITS)
        conf.update({"client_header_timeout": "30s", "client_body_timeout": "30s",
                     "keepalive_timeout": "30s"})
        self.sluice = _start(tmp, kong, conf, "main")
        self.port = self.sluice.port
        self.oracles = {"A": self.A, "B": self.B, "C": self.C, "R": self.R}

    def _scripted(self, req, conn):
        """R answers from self.script[path] (bytes or an action list), else a clean 200."""
        act = self.script.get(req.path)
        if act is None:
            return b"HTTP/1.1 200 OK\r\nX-Case: ok\r\nContent-Length: 2\r\n\r\nok"
        return act(req, conn) if callable(act) else act

    def reset(self):
        for o in self.oracles.values():
            o.reset()

    def settle(self, quiet=0.03, timeout=1.0):
        """Waits until no oracle received a byte or a connection for <quiet> seconds."""
        W.wait_idle(self.oracles.values(), quiet, timeout)

    def stop(self):
        self.sluice.stop()
        for o in self.oracles.values():
            o.stop()


@pytest.fixture(scope="session")
def main(sluice_binary, tmp_path_factory):
    m = Main(tmp_path_factory.mktemp("wire"))
    yield m
    m.stop()


@pytest.fixture
def mn(main):
    """The main instance with its oracles' records reset for this test."""
    assert main.sluice.alive(), "sluice died: " + main.sluice.logs()
    main.script.clear()
    main.reset()
    yield main
    assert main.sluice.alive(), "sluice died: " + main.sluice.logs()


class Slow:
    def __init__(self, tmp):
        self.S = W.Oracle("S")
        kong = {"_format_version": "3.0",
                "services": [_svc("svc-s", self.S, [{"name": "root", "paths": ["/"],
                                                      "strip_path": False}])]}
        t = "%ds" % W.SHORT
        conf = {"client_header_timeout": t, "client_body_timeout": t, "keepalive_timeout": t}
        self.sluice = _start(tmp, kong, conf, "slow")
        self.port = self.sluice.port

    def stop(self):
        self.sluice.stop()
        self.S.stop()


@pytest.fixture(scope="session")
def slow(sluice_binary, tmp_path_factory):
    s = Slow(tmp_path_factory.mktemp("wire-slow"))
    yield s
    s.stop()


class Edge:
    def __init__(self, tmp):
        self.E = W.Oracle("E")
        kong = {"_format_version": "3.0",
                "services": [_svc("svc-e", self.E, [
                    {"name": "secure", "paths": ["/secure"], "protocols": ["https"],
                     "https_redirect_status_code": 301, "strip_path": False},
                    {"name": "secure426", "paths": ["/s426"], "protocols": ["https"],
                     "strip_path": False},
                    {"name": "open", "paths": ["/open"], "strip_path": False,
                     "request_buffering": False},
                ])]}
        self.sluice = _start(tmp, kong, {}, "edge")
        self.port = self.sluice.port

    def stop(self):
        self.sluice.stop()
        self.E.stop()


@pytest.fixture(scope="session")
def edge(sluice_binary, tmp_path_factory):
    e = Edge(tmp_path_factory.mktemp("wire-edge"))
    yield e
    e.stop()
