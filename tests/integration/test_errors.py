# SPDX-License-Identifier: Apache-2.0
"""Responses Sluice generates itself for routing outcomes (kong.md §3.1, §3.6): 404 no route and
503 no service in every Accept format with the request id, https-only routes reached over http
(426 and redirect variants), disabled services."""

import re

import pytest
import requests

from lib.rawhttp import RawConn, parse_responses, raw, request_bytes
from lib.sluice import kong

T = 5
NO_ROUTE = "no Route matched with those values"
NO_SERVICE = "no Service found with those values"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from lib.sluice import Sluice
    from lib.upstream import Upstream
    up = Upstream().start()
    doc = kong(
        {"name": "ok", "url": "http://127.0.0.1:%d" % up.port,
         "routes": [{"name": "ok", "paths": ["/ok"]},
                    {"name": "secure", "paths": ["/secure"], "protocols": ["https"],
                     "strip_path": False},
                    {"name": "secure301", "paths": ["/s301"], "protocols": ["https"],
                     "https_redirect_status_code": 301, "strip_path": False},
                    {"name": "secure308", "paths": ["/s308"], "protocols": ["https"],
                     "https_redirect_status_code": 308, "strip_path": False},
                    {"name": "both", "paths": ["/both"], "protocols": ["http", "https"]}]},
        {"name": "off", "url": "http://127.0.0.1:%d" % up.port, "enabled": False,
         "routes": [{"name": "off", "paths": ["/disabled"]}]},
        routes=[{"name": "orphan", "paths": ["/orphan"]}],
    )
    s = Sluice(tmp_path_factory.mktemp("errors"), doc)
    yield s, up
    s.stop()
    up.stop()


def _rid(r):
    rid = r.headers.get("X-Sluice-Request-Id")
    assert rid and re.fullmatch(r"[0-9a-f]{32}", rid), r.headers
    return rid


@pytest.mark.parametrize("status,path,msg", [(404, "/nope", NO_ROUTE), (503, "/orphan", NO_SERVICE)])
def test_json_default(env, status, path, msg):
    s, up = env
    r = requests.get(s.url(path), timeout=T)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("application/json")
    rid = _rid(r)
    assert r.json() == {"message": msg, "request_id": rid}
    assert r.headers.get("Server", "").startswith("sluice/")
    assert "X-Sluice-Response-Latency" in r.headers
    assert int(r.headers["Content-Length"]) == len(r.content)


@pytest.mark.parametrize("status,path,msg", [(404, "/nope", NO_ROUTE), (503, "/orphan", NO_SERVICE)])
def test_text_plain(env, status, path, msg):
    s, _ = env
    r = requests.get(s.url(path), headers={"Accept": "text/plain"}, timeout=T)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text == "%s\nrequest_id: %s\n" % (msg, _rid(r))


@pytest.mark.parametrize("status,path,msg", [(404, "/nope", NO_ROUTE), (503, "/orphan", NO_SERVICE)])
def test_html(env, status, path, msg):
    s, _ = env
    r = requests.get(s.url(path), headers={"Accept": "text/html"}, timeout=T)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text and msg in r.text
    assert "request_id: %s" % _rid(r) in r.text


@pytest.mark.parametrize("status,path,msg", [(404, "/nope", NO_ROUTE), (503, "/orphan", NO_SERVICE)])
def test_xml(env, status, path, msg):
    s, _ = env
    r = requests.get(s.url(path), headers={"Accept": "application/xml"}, timeout=T)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("application/xml")
    assert "<message>%s</message>" % msg in r.text
    assert "<requestid>%s</requestid>" % _rid(r) in r.text


def test_accept_quality_picks_highest(env):
    s, _ = env
    r = requests.get(s.url("/nope"), headers={"Accept": "application/json;q=0.5, text/plain;q=0.9"},
                     timeout=T)
    assert r.headers["Content-Type"].startswith("text/plain")
    r = requests.get(s.url("/nope"), headers={"Accept": "text/html, application/xml"}, timeout=T)
    assert r.headers["Content-Type"].startswith("text/html")


def test_request_ids_are_unique(env):
    s, _ = env
    ids = set()
    with requests.Session() as sess:
        for _ in range(20):
            r = sess.get(s.url("/nope"), timeout=T)
            ids.add(r.json()["request_id"])
            assert r.json()["request_id"] == r.headers["X-Sluice-Request-Id"]
    assert len(ids) == 20


def test_404_keeps_connection_alive(env):
    s, _ = env
    data = raw("127.0.0.1", s.port, request_bytes("GET", "/nope") +
               request_bytes("GET", "/ok", headers=[("Connection", "close")]), timeout=T)
    rs = parse_responses(data)
    assert [r.status for r in rs] == [404, 200]


def test_head_404_has_no_body(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("HEAD", "/nope") + request_bytes("GET", "/ok/after"))
        r = c.read_response(head_request=True)
        assert r.status == 404 and r.body == b""
        # Nothing but the next response follows the HEAD response's head.
        r2 = c.read_response()
        assert r2.status == 200, r2


@pytest.mark.parametrize("path", ["/nope", "/orphan"])
def test_generated_response_honours_connection_close(env, path):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", path, headers=[("Connection", "close")]))
        r = c.read_response()
        assert r.status in (404, 503)
        assert "close" in (r.header("Connection") or "").lower(), r
        assert c.closed(2.0), "connection left open after Connection: close"


def test_generated_response_http10_closes(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET /nope HTTP/1.0\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 404
        assert "keep-alive" not in (r.header("Connection") or "").lower(), r
        assert c.closed(2.0), "HTTP/1.0 connection without keep-alive left open"


def test_https_only_route_over_http_is_426(env):
    s, up = env
    n = len(up.requests)
    r = requests.get(s.url("/secure/x"), timeout=T)
    assert r.status_code == 426
    assert "Please use HTTPS protocol" in r.text
    assert r.headers.get("Upgrade") == "TLS/1.2, HTTP/1.1"
    assert "upgrade" in r.headers.get("Connection", "").lower()
    assert len(up.requests) == n  # never proxied


@pytest.mark.parametrize("path,code", [("/s301", 301), ("/s308", 308)])
def test_https_only_route_redirect(env, path, code):
    s, up = env
    n = len(up.requests)
    req = request_bytes("GET", path + "/a?b=1", host="shop.example:%d" % s.port)
    with RawConn("127.0.0.1", s.port, timeout=3) as c:
        c.send(req)
        r = c.read_response()
        assert r.status == code
        assert r.header("Location") == "https://shop.example%s/a?b=1" % path
        # Kong: kong.response.exit(code) — an empty body, framed so the client is not left waiting.
        assert r.body == b""
        assert r.header("Content-Length") in (None, "0"), r
        if r.framing == "length":
            # The connection is reusable: the next response must start right here.
            c.send(request_bytes("GET", "/ok/next"))
            assert c.read_response().status == 200
    assert len(up.requests) == n + (1 if r.framing == "length" else 0)


@pytest.mark.parametrize("target,host,want", [
    # absolute-form: Kong's Location is https://$host$request_uri, and nginx's $request_uri is the
    # path and query only, never the scheme and authority of the request line
    ("http://abs.example/s301/a?b=1", "other.example", "https://abs.example/s301/a?b=1"),
    ("http://abs.example/s301", "other.example", "https://abs.example/s301"),
    # origin-form: the raw target, not the normalised path
    ("/s301/./a//b?", "shop.example", "https://shop.example/s301/./a//b?"),
])
def test_https_redirect_location_is_host_and_request_uri(env, target, host, want):
    s, _ = env
    data = raw("127.0.0.1", s.port, request_bytes("GET", target, host=host,
                                                  headers=[("Connection", "close")]), timeout=T)
    r = parse_responses(data)[0]
    assert r.status == 301
    assert r.header("Location") == want


def test_https_redirect_without_host_names_the_address_reached(env):
    """HTTP/1.0 without Host: the Location must still name a host (nginx's $host falls back to
    the server name). An empty one, "https:///s301//evil.example/x", is followed by browsers to a
    host taken from the path: an open redirect."""
    s, _ = env
    data = raw("127.0.0.1", s.port, b"GET /s301//evil.example/x HTTP/1.0\r\n\r\n", timeout=T)
    r = parse_responses(data)[0]
    assert r.status == 301
    assert r.header("Location") == "https://127.0.0.1/s301//evil.example/x"


def test_http_and_https_route_serves_http(env):
    s, _ = env
    assert requests.get(s.url("/both/x"), timeout=T).status_code == 200


def test_disabled_service_routes_are_404(env):
    s, up = env
    n = len(up.requests)
    r = requests.get(s.url("/disabled"), timeout=T)
    assert r.status_code == 404
    assert r.json()["message"] == NO_ROUTE
    assert len(up.requests) == n


def test_enabled_route_still_served(env):
    s, _ = env
    r = requests.get(s.url("/ok/z"), timeout=T)
    assert r.status_code == 200 and r.json()["path"] == "/z"
