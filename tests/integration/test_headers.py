# SPDX-License-Identifier: Apache-2.0
"""Headers Sluice adds and removes (kong.md §3.4-3.5, hardening.md §8): upstream X-Forwarded-*,
X-Real-IP, Via, request id, hop-by-hop removal, trusted_ips and real_ip_header semantics; downstream
Via, Server, latency headers and the `headers` setting."""

import json
import re

import pytest
import requests

from lib import upstream as U
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service

T = 5
VIA = "1.1 sluice/0.1.0"
SERVER = "sluice/0.1.0"
UNTRUSTED = "127.0.0.2"  # a second loopback source address: not in trusted_ips = 127.0.0.1


def routes():
    return [{"name": "root", "paths": ["/"], "strip_path": False},
            {"name": "api", "paths": ["/api"], "strip_path": True},
            {"name": "https-only", "paths": ["/sec"], "protocols": ["https"]}]


def make(upstream, sluice_factory, conf=None):
    return sluice_factory(kong(service("echo", upstream.port, routes())), conf)


def send(s, target="/x", headers=(), source=None, host="client.test"):
    """Sends one request from `source`; returns (response, upstream view dict or None)."""
    with RawConn("127.0.0.1", s.port, timeout=T, source=source) as c:
        c.send(request_bytes("GET", target, host=host, headers=list(headers)))
        r = c.read_response()
    view = None
    if r.status == 200 and (r.header("Content-Type") or "").startswith("application/json"):
        view = json.loads(r.body)
    return r, view


# ------------------------------------------------------------------------------- upstream side


def test_forwarded_headers_defaults(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    r, v = send(s, "/x/y?q=1", host="client.test:%d" % s.port)
    h = v["headers"]
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "client.test"
    assert h["x-forwarded-path"] == "/x/y"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["via"] == VIA
    assert h["x-sluice-request-id"] == r.header("X-Sluice-Request-Id")
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-sluice-request-id"])
    assert "x-forwarded-prefix" not in h  # nothing stripped


def test_forwarded_port_is_the_listener_port(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, "/x", host="client.test")
    assert v["headers"]["x-forwarded-port"] == str(s.port)


def test_forwarded_prefix_when_stripped(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, "/api/v1/items")
    assert v["path"] == "/v1/items"
    assert v["headers"]["x-forwarded-prefix"] == "/api"
    assert v["headers"]["x-forwarded-path"] == "/api/v1/items"


def test_client_xff_appended(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, headers=[("X-Forwarded-For", "1.2.3.4, 5.6.7.8")])
    assert v["headers"]["x-forwarded-for"] == "1.2.3.4, 5.6.7.8, 127.0.0.1"


def test_client_via_appended(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, headers=[("Via", "1.0 corp-proxy")])
    assert v["headers"]["via"] == "1.0 corp-proxy, " + VIA


def test_long_forwarded_lines_are_joined_as_nginx_does(upstream, sluice_factory):
    """An X-Forwarded-For or Via line just under the client's line limit (8 KiB), or two long
    ones, grows past it once Sluice joins the peer or its own Via in: nginx forwards the longer
    line, and so does Sluice (the upstream head's 128 KiB bound it). They used to be refused (a
    400 without a log line)."""
    s = make(upstream, sluice_factory)
    long_xff = ", ".join("10.0.%d.%d" % (i // 250, i % 250) for i in range(800))[:8150]
    long_xff = long_xff[:long_xff.rindex(",")]
    r, v = send(s, headers=[("X-Forwarded-For", long_xff)])
    assert r.status == 200 and v["headers"]["x-forwarded-for"] == long_xff + ", 127.0.0.1"
    a, b = "1.1.1.1, " * 624 + "1.1.1.1", "2.2.2.2, " * 624 + "2.2.2.2"
    r, v = send(s, headers=[("X-Forwarded-For", a), ("X-Forwarded-For", b)])
    assert r.status == 200 and v["headers"]["x-forwarded-for"] == a + ", " + b + ", 127.0.0.1"
    via = "1.0 p" + "x" * 8100
    r, v = send(s, headers=[("Via", via)])
    assert r.status == 200 and v["headers"]["via"] == via + ", " + VIA
    upstream.route("/longvia", U.respond(200, [("Via", via)], b"ok"))
    r, _ = send(s, target="/longvia")
    assert r.status == 200 and r.header_all("Via") == [via + ", " + VIA]


def test_hop_by_hop_removed(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, headers=[("Connection", "X-Hop, keep-alive"), ("X-Hop", "secret"),
                            ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
                            ("Proxy", "http://evil:1"), ("TE", "gzip"), ("Upgrade", "h2c"),
                            ("X-Keep", "yes")])
    h = v["headers"]
    for name in ("x-hop", "keep-alive", "proxy-connection", "proxy", "upgrade"):
        assert name not in h, (name, h)
    assert "gzip" not in h.get("te", "")
    assert h["x-keep"] == "yes"
    # Sluice's own Connection to the upstream, not the client's token list.
    assert "x-hop" not in h.get("connection", "").lower()


def test_every_connection_token_is_hop_by_hop(upstream, sluice_factory):
    """However many tokens the Connection lines list (Sluice keeps 16 for its quick lookup), every
    header they name is dropped, the 17th and later included, over one line or several."""
    s = make(upstream, sluice_factory)
    names = ["X-H%d" % i for i in range(40)]
    hdrs = [("Connection", ", ".join(names[:25])), ("Connection", " ".join(names[25:]))]
    hdrs += [(n, "v") for n in names] + [("X-Keep", "yes")]
    _, v = send(s, headers=hdrs)
    h = v["headers"]
    assert [n for n in names if n.lower() in h] == []
    assert h["x-keep"] == "yes"


def test_header_order_and_duplicates_kept(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, headers=[("X-Dup", "1"), ("X-Other", "a"), ("X-Dup", "2")])
    got = [(k.lower(), val) for k, val in v["header_list"] if k.lower() in ("x-dup", "x-other")]
    assert got == [("x-dup", "1"), ("x-other", "a"), ("x-dup", "2")]


# ------------------------------------------------------------------------------- trusted_ips


SPOOF = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.test"),
         ("X-Forwarded-Port", "1"), ("X-Forwarded-Path", "/evil"),
         ("X-Forwarded-Prefix", "/evilprefix")]


def test_untrusted_peer_forwarded_headers_overwritten(upstream, sluice_factory):
    s = make(upstream, sluice_factory)  # trusted_ips empty by default
    _, v = send(s, "/x", headers=SPOOF)
    h = v["headers"]
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "client.test"
    assert h["x-forwarded-port"] == str(s.port)
    assert h["x-forwarded-path"] == "/x"
    assert "x-forwarded-prefix" not in h


def test_trusted_peer_forwarded_headers_kept(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"trusted_ips": "127.0.0.1"})
    _, v = send(s, "/x", headers=SPOOF)
    h = v["headers"]
    assert h["x-forwarded-proto"] == "https"
    assert h["x-forwarded-host"] == "evil.test"
    assert h["x-forwarded-port"] == "1"
    assert h["x-forwarded-path"] == "/evil"
    assert h["x-forwarded-prefix"] == "/evilprefix"


def test_trusted_ips_only_covers_listed_peers(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"trusted_ips": "127.0.0.1"})
    _, v = send(s, "/x", headers=SPOOF, source=UNTRUSTED)
    h = v["headers"]
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "client.test"
    assert h["x-forwarded-for"] == UNTRUSTED
    assert h["x-real-ip"] == UNTRUSTED


def test_trusted_ips_cidr(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"trusted_ips": "10.0.0.0/8, 127.0.0.0/30"})
    _, v = send(s, "/x", headers=SPOOF, source=UNTRUSTED)
    assert v["headers"]["x-forwarded-proto"] == "https"


def test_https_only_route_trusted_proto(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"trusted_ips": "127.0.0.1"})
    r, _ = send(s, "/sec", headers=[("X-Forwarded-Proto", "https")])
    assert r.status == 200
    r, _ = send(s, "/sec", headers=[("X-Forwarded-Proto", "https")], source=UNTRUSTED)
    assert r.status == 426


def test_https_redirect_uses_trusted_forwarded_host(upstream, sluice_factory):
    # handler.lua: Location = "https://" .. forwarded_host .. request_uri, where forwarded_host is
    # X-Forwarded-Host from a trusted peer and $host otherwise
    routes = [{"name": "sec301", "paths": ["/sec"], "protocols": ["https"],
               "https_redirect_status_code": 301}]
    s = sluice_factory(kong(service("echo", upstream.port, routes)), {"trusted_ips": "127.0.0.1"})
    fwd = [("X-Forwarded-Host", "public.example")]
    r, _ = send(s, "/sec/a?q=1", headers=fwd)
    assert r.status == 301
    assert r.header("Location") == "https://public.example/sec/a?q=1"
    r, _ = send(s, "/sec/a?q=1", headers=fwd, source=UNTRUSTED)
    assert r.status == 301
    assert r.header("Location") == "https://client.test/sec/a?q=1"


def test_real_ip_header_from_trusted_peer(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"trusted_ips": "127.0.0.1", "real_ip_header": "X-Real-IP"})
    _, v = send(s, headers=[("X-Real-IP", "9.9.9.9")])
    assert v["headers"]["x-real-ip"] == "9.9.9.9"
    # Without a client XFF, Kong sends $remote_addr: the address after real-IP processing
    # (kong.md §3.4); with one, it appends the connecting peer (test_real_ip_from_xff_recursive).
    assert v["headers"]["x-forwarded-for"] == "9.9.9.9"
    _, v = send(s, headers=[("X-Real-IP", "9.9.9.9")], source=UNTRUSTED)
    assert v["headers"]["x-real-ip"] == UNTRUSTED


def test_real_ip_header_ignored_without_trust(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    _, v = send(s, headers=[("X-Real-IP", "9.9.9.9")])
    assert v["headers"]["x-real-ip"] == "127.0.0.1"


@pytest.mark.parametrize("recursive,want", [("off", "127.0.0.1"), ("on", "1.1.1.1")])
def test_real_ip_from_xff_recursive(upstream, sluice_factory, recursive, want):
    s = make(upstream, sluice_factory, {"trusted_ips": "127.0.0.1",
                                        "real_ip_header": "X-Forwarded-For",
                                        "real_ip_recursive": recursive})
    _, v = send(s, headers=[("X-Forwarded-For", "1.1.1.1, 127.0.0.1")])
    assert v["headers"]["x-real-ip"] == want
    assert v["headers"]["x-forwarded-for"] == "1.1.1.1, 127.0.0.1, 127.0.0.1"


@pytest.mark.parametrize("value,recursive,want", [
    # nginx's realip (ngx_http_get_forwarded_addr_internal) takes the last token separated by ','
    # or ' ', skipping trailing separators, and accepts an address with a port (ngx_parse_addr_port;
    # Azure Application Gateway sends "ip:port"); the port is not part of $remote_addr
    ("1.1.1.1, 2.2.2.2:5678", "off", "2.2.2.2"),
    ("[2001:db8::7]:443", "off", "2001:db8::7"),
    ("3.3.3.3,", "off", "3.3.3.3"),
    ("3.3.3.3 , ,", "off", "3.3.3.3"),
    ("4.4.4.4 5.5.5.5", "off", "5.5.5.5"),
    ("1.1.1.1:1, 127.0.0.1:2", "on", "1.1.1.1"),
    ("1.1.1.1 127.0.0.1", "on", "1.1.1.1"),
    # not an address: the peer stays the client
    ("6.6.6.6:0", "off", "127.0.0.1"),
    ("6.6.6.6:65536", "off", "127.0.0.1"),
    ("6.6.6.6:", "off", "127.0.0.1"),
    ("[2001:db8::7]", "off", "127.0.0.1"),
    ("2001:db8::7:80x", "off", "127.0.0.1"),
])
def test_real_ip_forms_as_nginx(upstream, sluice_factory, value, recursive, want):
    s = make(upstream, sluice_factory, {"trusted_ips": "127.0.0.1",
                                        "real_ip_header": "X-Forwarded-For",
                                        "real_ip_recursive": recursive})
    _, v = send(s, headers=[("X-Forwarded-For", value)])
    assert v["headers"]["x-real-ip"] == want


# ------------------------------------------------------------------------------- downstream side


def test_downstream_headers_on_proxied_response(upstream, sluice_factory):
    s = make(upstream, sluice_factory)
    r = requests.get(s.url("/x"), timeout=T)
    assert r.headers["Via"] == VIA
    assert r.headers["Server"] == SERVER
    assert re.fullmatch(r"\d+", r.headers["X-Sluice-Upstream-Latency"])
    assert re.fullmatch(r"\d+", r.headers["X-Sluice-Proxy-Latency"])
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Sluice-Request-Id"])
    assert "X-Sluice-Response-Latency" not in r.headers


def test_upstream_server_and_via_kept(upstream, sluice_factory):
    upstream.route("/branded", U.respond(200, [("Server", "upstream/1.0"), ("Via", "1.1 inner"),
                                              ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")], b"ok"))
    s = make(upstream, sluice_factory)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/branded"))
        r = c.read_response()
    assert r.header_all("Server") == ["upstream/1.0"]
    assert r.header_all("Via") == ["1.1 inner, " + VIA]
    assert r.header_all("Date") == ["Mon, 01 Jan 2024 00:00:00 GMT"]


def test_upstream_hop_by_hop_response_headers_removed(upstream, sluice_factory):
    upstream.route("/hop", U.respond(200, [("Connection", "X-Up-Hop"), ("X-Up-Hop", "1"),
                                           ("Keep-Alive", "timeout=99"), ("X-Fine", "2")], b"ok"))
    s = make(upstream, sluice_factory)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/hop"))
        r = c.read_response()
    assert r.status == 200 and r.body == b"ok"
    assert not r.has("X-Up-Hop")
    assert not r.has("Keep-Alive") or "99" not in r.header("Keep-Alive")
    assert r.header("X-Fine") == "2"


def test_every_upstream_connection_token_is_hop_by_hop(upstream, sluice_factory):
    names = ["X-U%d" % i for i in range(30)]
    upstream.route("/hops", U.respond(200, [("Connection", ",".join(names))]
                                      + [(n, "1") for n in names] + [("X-Fine", "2")], b"ok"))
    s = make(upstream, sluice_factory)
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/hops"))
        r = c.read_response()
    assert r.status == 200 and r.body == b"ok"
    assert [n for n in names if r.has(n)] == []
    assert r.header("X-Fine") == "2"


def test_headers_off(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"headers": "off"})
    r = requests.get(s.url("/x"), timeout=T)
    assert r.status_code == 200
    for name in ("Via", "Server", "X-Sluice-Upstream-Latency", "X-Sluice-Proxy-Latency",
                 "X-Sluice-Request-Id"):
        assert name not in r.headers, (name, r.headers)
    r = requests.get(s.url("/sec"), timeout=T)  # generated (426)
    for name in ("X-Sluice-Response-Latency", "X-Sluice-Request-Id", "Via"):
        assert name not in r.headers, (name, r.headers)
    assert not r.headers.get("Server", "").startswith("sluice")


def test_headers_off_upstream_still_gets_via_and_id(upstream, sluice_factory):
    # `headers` governs the downstream response only; the upstream request is unchanged.
    s = make(upstream, sluice_factory, {"headers": "off"})
    _, v = send(s, "/x")
    assert v["headers"]["via"] == VIA
    assert "x-forwarded-for" in v["headers"]


def test_headers_list_request_id_only(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"headers": "X-Sluice-Request-Id"})
    r = requests.get(s.url("/x"), timeout=T)
    assert "X-Sluice-Request-Id" in r.headers
    for name in ("Via", "X-Sluice-Upstream-Latency", "X-Sluice-Proxy-Latency"):
        assert name not in r.headers
    assert not r.headers.get("Server", "").startswith("sluice")


def test_headers_server_tokens_only(upstream, sluice_factory):
    s = make(upstream, sluice_factory, {"headers": "server_tokens"})
    r = requests.get(s.url("/x"), timeout=T)
    assert r.headers["Via"] == VIA and r.headers["Server"] == SERVER
    assert "X-Sluice-Upstream-Latency" not in r.headers
    assert "X-Sluice-Request-Id" not in r.headers
