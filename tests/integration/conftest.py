# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the integration suite (tests/integration): an echo upstream, a factory of Sluice
instances cleaned up after each test, and a few shortcuts. The harness is tests/lib (README.md)."""

import os
import sys

import pytest

_TESTS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if _TESTS not in sys.path:  # tests/conftest.py does this too; kept for `pytest tests/integration/x.py`
    sys.path.insert(0, _TESTS)

from lib import sluice as _sl  # noqa: E402
from lib.sluice import Sluice, have_binary, kong, service, sluice_bin  # noqa: E402
from lib.upstream import Upstream  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if have_binary():
        return
    skip = pytest.mark.skip(reason="no Sluice binary at %s (run make, or set SLUICE_BIN)"
                            % sluice_bin())
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_sanitizer_report(request):
    """With a sanitizer build (SLUICE_BIN pointing at an ASan/UBSan binary), a report printed by
    any Sluice during a test fails that test at teardown. Instances stopped by the test's own
    fixtures are checked by sluice_factory after they exit (leak reports come at exit)."""
    before = {id(s): s.stderr_size() for s in _sl.INSTANCES}
    yield
    for s in list(_sl.INSTANCES):
        rep = s.sanitizer_report(before.get(id(s), 0))
        if rep:
            pytest.fail("sanitizer report from %s:\n%s" % (s.dir, rep[:6000]))


@pytest.fixture
def upstream():
    """A started echo upstream (lib.upstream.Upstream); stopped after the test."""
    u = Upstream().start()
    yield u
    u.stop()


@pytest.fixture
def upstream_factory():
    """upstream_factory(handler=None, **kw) -> a started Upstream; all stopped after the test."""
    made = []

    def make(handler=None, **kw):
        u = Upstream(handler, **kw).start()
        made.append(u)
        return u
    yield make
    for u in made:
        u.stop()


@pytest.fixture
def sluice_factory(tmp_path):
    """sluice_factory(kong_yml, conf=None, **kw) -> a started Sluice in its own sub-directory of
    tmp_path; every instance is stopped (SIGTERM, then SIGKILL) after the test."""
    made = []

    def make(kong_yml, conf=None, **kw):
        kw.setdefault("name", "sluice%d" % len(made))
        s = Sluice(tmp_path, kong_yml, conf, start=False, **kw)
        made.append(s)
        s.start()
        return s
    yield make
    reports = []
    for s in made:
        try:
            s.stop(timeout=5)
        except Exception:
            pass
        s.kill()
        rep = s.sanitizer_report()
        if rep:
            reports.append("%s:\n%s" % (s.dir, rep[:6000]))
        if s in _sl.INSTANCES:
            _sl.INSTANCES.remove(s)
    if reports:
        pytest.fail("sanitizer report(s) at exit:\n" + "\n".join(reports))


@pytest.fixture
def simple(upstream, sluice_factory):
    """A Sluice with one service → the echo upstream and a catch-all route `/` (strip_path false)."""
    return sluice_factory(kong(service("echo", upstream.port,
                                       [{"name": "all", "paths": ["/"], "strip_path": False}])))


def pytest_sessionfinish(session, exitstatus):
    """Instances of module-scoped fixtures exit after their last test: scan them once more (leak
    reports are printed at exit) and turn a report into a failing exit status."""
    found = []
    for s in _sl.INSTANCES:
        rep = s.sanitizer_report()
        if rep:
            found.append("%s:\n%s" % (s.dir, rep[:4000]))
    if found:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line("SANITIZER REPORTS after the run:\n" + "\n".join(found), red=True)
        session.exitstatus = 1
