# SPDX-License-Identifier: Apache-2.0
"""Top-level pytest hook for every Python suite under tests/ (integration, wire, ...).

Its only job: put tests/ itself on sys.path so that suites can `from lib.sluice import Sluice`,
`from lib.upstream import Upstream`, `from lib import rawhttp` (the shared harness, see
tests/lib/README.md). Keep fixtures out of this file; they belong to each suite's own conftest.
"""

import os
import sys

_TESTS = os.path.dirname(os.path.abspath(__file__))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
