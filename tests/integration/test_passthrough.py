# SPDX-License-Identifier: Apache-2.0
"""What Sluice must pass through untouched: upstream statuses and bodies (an upstream 404 or 500 is
not replaced by a gateway error page), repeated response headers in order, uncommon methods, many
request headers, large response heads."""

import json

import pytest

from lib import upstream as U
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service

T = 5


@pytest.fixture
def s(upstream, sluice_factory):
    return sluice_factory(kong(service("e", upstream.port,
                                       [{"name": "all", "paths": ["/"], "strip_path": False}],
                                       retries=0)))


def one(s, method="GET", target="/", headers=(), body=None, head=False):
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes(method, target, headers=list(headers), body=body))
        return c.read_response(head_request=head)


@pytest.mark.parametrize("status,body", [(201, b"created"), (404, b"upstream says no"),
                                         (500, b"boom"), (503, b"busy"), (418, b"teapot")])
def test_upstream_status_and_body_passed_through(upstream, s, status, body):
    upstream.route("/st", U.respond(status, [("Content-Type", "text/x-upstream")], body))
    r = one(s, target="/st")
    assert r.status == status
    assert r.body == body
    assert r.header("Content-Type") == "text/x-upstream"
    assert r.has("X-Sluice-Upstream-Latency")  # proxied, not generated


def test_repeated_response_headers_kept_in_order(upstream, s):
    upstream.route("/cookies", U.respond(200, [("Set-Cookie", "a=1; Path=/"),
                                               ("X-Mid", "m"),
                                               ("Set-Cookie", "b=2; HttpOnly"),
                                               ("Set-Cookie", "c=3")], b"ok"))
    r = one(s, target="/cookies")
    assert r.header_all("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly", "c=3"]
    assert r.header("X-Mid") == "m"


@pytest.mark.parametrize("method", ["PROPFIND", "PURGE", "OPTIONS", "PATCH", "DELETE"])
def test_uncommon_methods_forwarded(upstream, s, method):
    r = one(s, method=method, target="/m")
    assert r.status == 200
    assert json.loads(r.body)["method"] == method


def test_many_request_headers_forwarded(upstream, s):
    hdrs = [("X-H%02d" % i, "v%d" % i) for i in range(90)]
    r = one(s, target="/many", headers=hdrs)
    assert r.status == 200
    got = json.loads(r.body)["headers"]
    for k, v in hdrs:
        assert got[k.lower()] == v


def test_large_response_head(upstream, s):
    big = "x" * 6000  # above nginx's default proxy_buffer_size (4k), below Sluice's head limit
    upstream.route("/bighead", U.respond(200, [("X-Big", big), ("X-After", "1")], b"fine"))
    r = one(s, target="/bighead")
    assert r.status == 200
    assert r.header("X-Big") == big and r.header("X-After") == "1"
    assert r.body == b"fine"


def test_oversized_response_head_is_502(upstream, s):
    # Like nginx's "upstream sent too big header": a bounded buffer, a 502, no hang, no crash.
    upstream.route("/hugehead", U.respond(200, [("X-Huge", "y" * 65536)], b"never"))
    r = one(s, target="/hugehead")
    assert r.status == 502
    assert b"never" not in r.body
    r = one(s, target="/after")
    assert r.status == 200


def test_response_with_body_and_no_content_type(upstream, s):
    upstream.route("/raw", U.respond(200, [], b"\x00\x01\x02binary"))
    r = one(s, target="/raw")
    assert r.body == b"\x00\x01\x02binary"
    assert not r.has("Content-Type")


def test_head_to_upstream_passes_content_length(upstream, s):
    upstream.route("/sized", U.respond(200, [("Content-Type", "text/plain")], b"z" * 1234))
    r = one(s, method="HEAD", target="/sized", head=True)
    assert r.status == 200
    assert r.header("Content-Length") == "1234"
    assert r.body == b""
