# SPDX-License-Identifier: Apache-2.0
"""Shared test harness of Sluice's Python suites: a recording upstream, a Sluice process wrapper,
a raw HTTP client and strict response parser, free ports. See README.md in this directory."""
