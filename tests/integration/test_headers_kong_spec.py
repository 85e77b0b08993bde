# SPDX-License-Identifier: Apache-2.0
"""Kong's own proxy header tests, case by case, against Sluice (kong.md §3.3-3.5):
spec/02-integration/05-proxy/03-upstream_headers_spec.lua (Host, X-Forwarded-*, X-Real-IP with
trusted_ips, real_ip_header and real_ip_recursive, the PROXY protocol, hop-by-hop headers both
ways), 14-server_tokens_spec.lua (the `headers` setting: Server, Via and the latency headers on
proxied and generated responses) and 08-uri_encoding_spec.lua (what reaches the upstream of an
encoded path or query). Kong's X-Kong-* names are Sluice's X-Sluice-*, "kong/<ver>" is
"sluice/<ver>". The upstream is a real echo server; every request goes through the real binary.

The routes are Kong's: a host-only route, one with preserve_host, /foo (strip_path), /status/200
(no strip) and / (strip_path). A few cases go beyond Kong's specs where Kong's code (handler.lua
header_filter, nginx's realip) decides something they do not test: several real_ip_header lines,
and an upstream's own X-Sluice-* headers."""

import json

import pytest

from lib import upstream as U
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service

T = 5
VIA = "1.1 sluice/0.1.0"
SERVER = "sluice/0.1.0"
UP_SERVER = "mock-upstream/1.0"


def routes():
    return [{"name": "inspect", "hosts": ["headers-inspect.test"]},
            {"name": "preserved", "hosts": ["preserved.test"], "preserve_host": True},
            {"name": "foo", "paths": ["/foo"], "strip_path": True},
            {"name": "status200", "paths": ["/status/200"], "strip_path": False},
            {"name": "root", "paths": ["/"], "strip_path": True}]


def echo_with_server(req, conn):
    """The echo, with a Server header as Kong's mock upstream (openresty) sends one."""
    close = U.wants_close(req)
    conn.send(U.response(200, [("Content-Type", "application/json"), ("Server", UP_SERVER)],
                         U.echo_body(req), close=close))
    return "close" if close else None


def hop_by_hop(req, conn):
    """Kong's mock upstream /hop-by-hop: a chunked 200 carrying every hop-by-hop response header
    (and a trailer)."""
    head = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: %s\r\n"
            "Keep-Alive: timeout=5, max=1000\r\nProxy-Authenticate: Basic\r\n"
            "Trailer: Expires\r\nUpgrade: example/1, foo/2\r\nTransfer-Encoding: chunked\r\n"
            "\r\n" % UP_SERVER).encode()
    conn.send(head + b"5\r\nhello\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n")


def status_handler(req, conn):
    """/status/<code>: that status from the upstream, with a body of its own (200: the echo)."""
    code = int(req.path.rsplit("/", 1)[1])
    if code == 200:
        return echo_with_server(req, conn)
    conn.send(U.response(code, [("Content-Type", "text/plain"), ("Server", UP_SERVER)],
                         b"upstream says %d" % code))


@pytest.fixture
def up(upstream):
    upstream.set_handler(echo_with_server)
    upstream.route("/hop-by-hop", hop_by_hop)
    upstream.route("/status/", status_handler)
    return upstream


def start(up, sluice_factory, conf=None):
    return sluice_factory(kong(service("mock", up.port, routes())), conf)


def get(s, path="/", headers=(), host="headers-inspect.test", source=None, raw=None):
    """One GET through Sluice; returns the response."""
    with RawConn("127.0.0.1", s.port, timeout=T, source=source) as c:
        c.send(raw if raw is not None else
               request_bytes("GET", path, host=host, headers=list(headers)))
        return c.read_response()


def upstream_headers(s, headers=(), path="/", host="headers-inspect.test", source=None):
    """Kong's request_headers(): the headers the upstream saw (lowercased names)."""
    r = get(s, path, headers, host, source)
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)["headers"]


# ============================================================== 03-upstream_headers_spec.lua
# ---- hop-by-hop headers


def test_hop_by_hop_removed_from_request(up, sluice_factory):
    s = start(up, sluice_factory)
    h = upstream_headers(s, [("Connection", "X-Foo, X-Bar"),
                             ("Keep-Alive", "timeout=5, max=1000"),
                             ("Proxy", "Remove-Me"),  # httpoxy
                             ("Proxy-Connection", "close"),
                             ("Proxy-Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
                             ("TE", "trailers, deflate;q=0.5"),
                             ("Upgrade", "example/1, foo/2"),
                             ("X-Foo", "Remove-Me"), ("X-Bar", "Remove-Me"),
                             ("X-Foo-Bar", "Keep-Me"), ("Close", "Keep-Me")])
    for name in ("keep-alive", "proxy", "proxy-connection", "proxy-authenticate",
                 "proxy-authorization", "upgrade", "x-foo", "x-bar"):
        assert name not in h, (name, h)
    assert h["te"] == "trailers"  # trailers are kept
    assert h["x-foo-bar"] == "Keep-Me"
    assert h["close"] == "Keep-Me"


def test_hop_by_hop_removed_from_response(up, sluice_factory):
    s = start(up, sluice_factory)
    r = get(s, "/hop-by-hop")
    assert r.status == 200 and r.body == b"hello"
    for name in ("Keep-Alive", "Proxy-Authenticate", "Trailer", "Upgrade"):
        assert not r.has(name), (name, r.headers)
    assert r.header("Transfer-Encoding") == "chunked"


def test_trailer_kept_when_requested(up, sluice_factory):
    s = start(up, sluice_factory)
    r = get(s, "/hop-by-hop", [("TE", "trailers")])
    assert r.status == 200 and r.body == b"hello"
    assert r.header_all("Trailer") == ["Expires"]
    # the rest stays hop-by-hop
    assert not r.has("Proxy-Authenticate") and not r.has("Upgrade")


def test_upgrade_kept_when_upgrading(up, sluice_factory):
    s = start(up, sluice_factory)
    h = upstream_headers(s, [("Connection", "keep-alive, Upgrade"), ("Upgrade", "websocket")],
                         path="/get")
    assert h["connection"] == "keep-alive, Upgrade"
    assert h["upgrade"] == "websocket"


# ---- default configuration (no trusted_ips)

CLIENT_FWD = [("X-Real-IP", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.1"),
              ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "example.com"),
              ("X-Forwarded-Port", "80"), ("X-Forwarded-Path", "/replaced")]


@pytest.mark.parametrize("conf", [None, {"trusted_ips": "10.0.0.1"}], ids=["default", "untrusted"])
def test_forwarded_headers_added(up, sluice_factory, conf):
    s = start(up, sluice_factory, conf)
    h = upstream_headers(s)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(s.port)
    assert h["x-forwarded-path"] == "/"
    assert "x-forwarded-prefix" not in h


@pytest.mark.parametrize("conf", [None, {"trusted_ips": "10.0.0.1"}], ids=["default", "untrusted"])
def test_forwarded_headers_replaced_when_untrusted(up, sluice_factory, conf):
    s = start(up, sluice_factory, conf)
    h = upstream_headers(s, CLIENT_FWD)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"  # appended, trusted or not
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(s.port)
    assert h["x-forwarded-path"] == "/"


@pytest.mark.parametrize("conf", [None, {"trusted_ips": "10.0.0.1"}], ids=["default", "untrusted"])
def test_forwarded_prefix_untrusted(up, sluice_factory, conf):
    s = start(up, sluice_factory, conf)
    h = upstream_headers(s, path="/foo/status/200", host="x.test")
    assert h["x-forwarded-prefix"] == "/foo"
    h = upstream_headers(s, [("X-Forwarded-Prefix", "/replaced")], path="/foo", host="x.test")
    assert h["x-forwarded-prefix"] == "/foo"
    assert "x-forwarded-prefix" not in upstream_headers(s, path="/status/200", host="x.test")
    assert "x-forwarded-prefix" not in upstream_headers(s, path="/", host="x.test")
    h = upstream_headers(s, [("X-Forwarded-Prefix", "/replaced")], path="/status/200",
                         host="x.test")
    assert "x-forwarded-prefix" not in h


def test_downstream_host_preserved(up, sluice_factory):
    s = start(up, sluice_factory)
    h = upstream_headers(s, host="preserved.test")
    assert h["host"] == "preserved.test"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "preserved.test"
    assert h["x-forwarded-path"] == "/"
    assert h["x-forwarded-port"] == str(s.port)
    h = upstream_headers(s, CLIENT_FWD[:5], host="preserved.test")
    assert h["host"] == "preserved.test"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "preserved.test"
    assert h["x-forwarded-port"] == str(s.port)
    assert h["x-forwarded-path"] == "/"


def test_downstream_host_discarded(up, sluice_factory):
    s = start(up, sluice_factory)
    for extra in ([], CLIENT_FWD[:5]):
        h = upstream_headers(s, extra)
        assert h["host"] == "127.0.0.1:%d" % up.port
        assert h["x-real-ip"] == "127.0.0.1"
        assert h["x-forwarded-for"] == ("10.0.0.1, 127.0.0.1" if extra else "127.0.0.1")
        assert h["x-forwarded-proto"] == "http"
        assert h["x-forwarded-host"] == "headers-inspect.test"
        assert h["x-forwarded-port"] == str(s.port)
        assert h["x-forwarded-path"] == "/"


# ---- trusted_ips = 127.0.0.1 (real_ip_header X-Real-IP, not recursive)


def test_trusted_forwarded_headers_added(up, sluice_factory):
    s = start(up, sluice_factory, {"trusted_ips": "127.0.0.1"})
    h = upstream_headers(s)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(s.port)
    assert h["x-forwarded-path"] == "/"


def test_trusted_forwarded_headers_forwarded(up, sluice_factory):
    s = start(up, sluice_factory, {"trusted_ips": "127.0.0.1"})
    assert upstream_headers(s, [("X-Real-IP", "10.0.0.1")])["x-real-ip"] == "10.0.0.1"
    h = upstream_headers(s, [("X-Forwarded-For", "10.0.0.1")])
    assert h["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert upstream_headers(s, [("X-Forwarded-Proto", "https")])["x-forwarded-proto"] == "https"
    h = upstream_headers(s, [("X-Forwarded-Host", "example.com")])
    assert h["x-forwarded-host"] == "example.com"
    assert upstream_headers(s, [("X-Forwarded-Port", "80")])["x-forwarded-port"] == "80"
    h = upstream_headers(s, [("X-Forwarded-Path", "/original-path")])
    assert h["x-forwarded-path"] == "/original-path"
    for path in ("/foo/status/200", "/status/200"):
        h = upstream_headers(s, [("x-forwarded-prefix", "/preserved")], path=path, host="x.test")
        assert h["x-forwarded-prefix"] == "/preserved"


def test_real_ip_header_first_line_only(up, sluice_factory):
    """nginx's realip reads only the first line of a real_ip_header other than X-Forwarded-For
    (ngx_http_realip_handler); X-Forwarded-For lines are one list, the last address wins."""
    s = start(up, sluice_factory, {"trusted_ips": "127.0.0.1"})
    h = upstream_headers(s, [("X-Real-IP", "10.0.0.1"), ("X-Real-IP", "10.0.0.2")])
    assert h["x-real-ip"] == "10.0.0.1"
    s = start(up, sluice_factory, {"trusted_ips": "127.0.0.1", "real_ip_header": "X-Client-IP"})
    h = upstream_headers(s, [("X-Client-IP", "10.0.0.3, 10.0.0.4"), ("X-Client-IP", "10.0.0.5")])
    assert h["x-real-ip"] == "10.0.0.4"
    s = start(up, sluice_factory, {"trusted_ips": "127.0.0.1", "real_ip_header": "X-Forwarded-For"})
    h = upstream_headers(s, [("X-Forwarded-For", "10.0.0.6"), ("X-Forwarded-For", "10.0.0.7")])
    assert h["x-real-ip"] == "10.0.0.7"


# ---- real_ip_header = X-Forwarded-For, real_ip_recursive = on

RECURSIVE = {"real_ip_header": "X-Forwarded-For", "real_ip_recursive": "on"}
XFF = "127.0.0.1, 10.0.0.1, 192.168.0.1, 127.0.0.1, 172.16.0.1"
XFF_PORTS = "127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18"


def test_recursive_trusted(up, sluice_factory):
    s = start(up, sluice_factory, dict(RECURSIVE, trusted_ips="127.0.0.1,172.16.0.1,192.168.0.1"))
    h = upstream_headers(s)
    assert h["x-real-ip"] == "127.0.0.1" and h["x-forwarded-for"] == "127.0.0.1"
    h = upstream_headers(s, [("X-Forwarded-For", XFF), ("X-Real-IP", "10.0.0.2")])
    assert h["x-real-ip"] == "10.0.0.1"
    assert h["x-forwarded-for"] == XFF + ", 127.0.0.1"
    h = upstream_headers(s, [("X-Forwarded-For", XFF_PORTS), ("X-Real-IP", "10.0.0.2"),
                             ("X-Forwarded-Port", "14")])
    assert h["x-real-ip"] == "10.0.0.1"
    assert h["x-forwarded-for"] == XFF_PORTS + ", 127.0.0.1"
    assert h["x-forwarded-port"] == "14"


def test_recursive_untrusted(up, sluice_factory):
    s = start(up, sluice_factory, dict(RECURSIVE, trusted_ips="10.0.0.1,172.16.0.1,192.168.0.1"))
    h = upstream_headers(s)
    assert h["x-real-ip"] == "127.0.0.1" and h["x-forwarded-for"] == "127.0.0.1"
    xff = "10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1"
    h = upstream_headers(s, [("X-Forwarded-For", xff), ("X-Real-IP", "10.0.0.2")])
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == xff + ", 127.0.0.1"
    for extra in ([("X-Forwarded-Port", "14")], []):
        h = upstream_headers(s, [("X-Forwarded-For", XFF_PORTS), ("X-Real-IP", "10.0.0.2")] + extra)
        assert h["x-real-ip"] == "127.0.0.1"
        assert h["x-forwarded-for"] == XFF_PORTS + ", 127.0.0.1"
        assert h["x-forwarded-port"] == str(s.port)


# ---- real_ip_header = proxy_protocol

PP = {"real_ip_header": "proxy_protocol", "real_ip_recursive": "on",
      "proxy_listen": "127.0.0.1:{port} proxy_protocol"}


def pp_request(s, extra=""):
    raw = ("PROXY TCP4 192.168.0.1 127.0.0.1 56324 %d\r\nGET / HTTP/1.1\r\n"
           "Host: headers-inspect.test\r\nConnection: close\r\n%s\r\n" % (s.port, extra)).encode()
    r = get(s, raw=raw)
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)["headers"]


def test_proxy_protocol_trusted(up, sluice_factory):
    s = start(up, sluice_factory, dict(PP, trusted_ips="127.0.0.1,172.16.0.1,192.168.0.1"))
    h = pp_request(s)
    assert h["x-real-ip"] == "192.168.0.1"
    assert h["x-forwarded-for"] == "192.168.0.1"
    assert h["x-forwarded-port"] == str(s.port)
    xff = "10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1"
    h = pp_request(s, "X-Real-IP: 10.0.0.2\r\nX-Forwarded-For: %s\r\n" % xff)
    assert h["x-real-ip"] == "192.168.0.1"
    assert h["x-forwarded-for"] == xff + ", 127.0.0.1"  # the connecting peer, not the PP source
    h = pp_request(s, "X-Real-IP: 10.0.0.2\r\nX-Forwarded-For: %s\r\nX-Forwarded-Port: 14\r\n"
                   % XFF_PORTS)
    assert h["x-real-ip"] == "192.168.0.1"
    assert h["x-forwarded-for"] == XFF_PORTS + ", 127.0.0.1"
    assert h["x-forwarded-port"] == "14"


def test_proxy_protocol_untrusted(up, sluice_factory):
    s = start(up, sluice_factory, dict(PP, trusted_ips="10.0.0.1,172.16.0.1,192.168.0.1"))
    h = pp_request(s)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-port"] == str(s.port)
    xff = "10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1"
    h = pp_request(s, "X-Real-IP: 10.0.0.2\r\nX-Forwarded-For: %s\r\n" % xff)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == xff + ", 127.0.0.1"
    h = pp_request(s, "X-Real-IP: 10.0.0.2\r\nX-Forwarded-For: %s\r\nX-Forwarded-Port: 14\r\n"
                   % XFF_PORTS)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-port"] == str(s.port)


# ============================================================== 14-server_tokens_spec.lua

LAT_UP, LAT_PROXY, LAT_RESP = ("X-Sluice-Upstream-Latency", "X-Sluice-Proxy-Latency",
                               "X-Sluice-Response-Latency")


def proxied(s):
    r = get(s, "/get")
    assert r.status == 200
    return r


@pytest.fixture
def start404(up, sluice_factory):
    """start404(conf) -> (instance with Kong's routes, instance whose routes never match)."""
    def make(conf=None):
        a = start(up, sluice_factory, conf)
        b = sluice_factory(kong(service("mock", up.port,
                                        [{"name": "h", "hosts": ["headers-inspect.test"]}])), conf)
        return a, b
    return make


def miss(s):
    r = get(s, "/get", host="404.test")
    assert r.status == 404
    return r


@pytest.mark.parametrize("headers,via,server_404", [
    (None, True, True),
    ("Via", True, False),
    ("Server", False, True),
    ("server_tokens", True, True),
    ("off", False, False),
    ("server_tokens, X-Sluice-Proxy-Latency", True, True),
    ("server_tokens, off, X-Sluice-Proxy-Latency", True, True),  # "off" not first: ignored
    ("serVer_TokEns, x-sLuice-pRoXy-lAtency", True, True),  # case-insensitive
])
def test_server_and_via(start404, headers, via, server_404):
    a, b = start404({"headers": headers} if headers else None)
    r = proxied(a)
    assert r.header_all("Server") == [UP_SERVER]  # the upstream's, never replaced
    assert r.header_all("Via") == ([VIA] if via else [])
    r = miss(b)
    assert r.header_all("Server") == ([SERVER] if server_404 else [])
    assert not r.has("Via")


@pytest.mark.parametrize("headers,proxied_want,miss_want", [
    (None, {LAT_UP, LAT_PROXY}, {LAT_RESP}),
    ("latency_tokens", {LAT_UP, LAT_PROXY}, {LAT_RESP}),
    ("X-Sluice-Upstream-Latency", {LAT_UP}, set()),
    ("X-Sluice-Proxy-Latency", {LAT_PROXY}, set()),
    ("X-Sluice-Response-Latency", set(), {LAT_RESP}),
    ("off", set(), set()),
    ("server_tokens, X-Sluice-Proxy-Latency", {LAT_PROXY}, set()),
    ("server_tokens, off, X-Sluice-Proxy-Latency", {LAT_PROXY}, set()),
])
def test_latency_headers(start404, headers, proxied_want, miss_want):
    a, b = start404({"headers": headers} if headers else None)
    r = proxied(a)
    assert {n for n in (LAT_UP, LAT_PROXY, LAT_RESP) if r.has(n)} == proxied_want
    r = miss(b)
    assert {n for n in (LAT_UP, LAT_PROXY, LAT_RESP) if r.has(n)} == miss_want


@pytest.mark.parametrize("code", [400, 404, 408, 411, 412, 413, 414, 417, 494, 500, 502, 503, 504])
def test_upstream_error_status_passes_through(up, sluice_factory, code):
    """An upstream's own error response is proxied as it is (no error page), with the latency
    headers of a proxied response."""
    s = start(up, sluice_factory)
    r = get(s, "/status/%d" % code, host="headers-inspect.test")
    assert r.status == code
    assert r.body == b"upstream says %d" % code
    assert r.has(LAT_UP) and r.has(LAT_PROXY) and not r.has(LAT_RESP)
    assert r.header_all("Server") == [UP_SERVER]
    assert r.header_all("Via") == [VIA]


def test_latency_headers_on_502(up, sluice_factory):
    from lib.ports import closed_port
    s = sluice_factory(kong(service("dead", closed_port(), [{"name": "d", "hosts": ["502.test"]}],
                                    retries=0)))
    r = get(s, "/get", host="502.test")
    assert r.status == 502
    assert {n for n in (LAT_UP, LAT_PROXY, LAT_RESP) if r.has(n)} == {LAT_UP, LAT_PROXY}


OWN = [("X-Sluice-Upstream-Latency", "999"), ("X-Sluice-Proxy-Latency", "998"),
       ("X-Sluice-Upstream-Status", "299"), ("X-Sluice-Request-Id", "f" * 32),
       ("X-Sluice-Response-Latency", "997")]


@pytest.mark.parametrize("headers,replaced", [
    ("latency_tokens, X-Sluice-Request-Id, X-Sluice-Upstream-Status",
     ["X-Sluice-Upstream-Latency", "X-Sluice-Proxy-Latency", "X-Sluice-Upstream-Status",
      "X-Sluice-Request-Id"]),
    ("X-Sluice-Proxy-Latency", ["X-Sluice-Proxy-Latency"]),
    ("off", []),
])
def test_upstream_own_headers_replaced(up, sluice_factory, headers, replaced):
    """Kong's header_filter sets its headers (ngx.header[name] = value): an upstream's header of
    the same name (another gateway's) is replaced, not repeated; one Kong does not set on a
    proxied response (Response-Latency), or has turned off, passes through."""
    up.route("/own", U.respond(200, OWN + [("Server", UP_SERVER)], b"ok"))
    s = start(up, sluice_factory, {"headers": headers})
    r = get(s, "/own")
    assert r.status == 200 and r.body == b"ok"
    for name, value in OWN:
        got = r.header_all(name)
        if name in replaced:
            assert len(got) == 1 and got[0] != value, (name, r.headers)
        else:
            assert got == [value], (name, r.headers)


# ============================================================== 08-uri_encoding_spec.lua


@pytest.mark.parametrize("target,host,want", [
    # #1975: the query is not encoded again
    ("/get?limit=25&where=%7B%22or%22:%5B%7B%22name%22:%7B%22like%22:%22%25bac%25%22%7D%7D%5D%7D",
     "headers-inspect.test",
     "/get?limit=25&where=%7B%22or%22:%5B%7B%22name%22:%7B%22like%22:%22%25bac%25%22%7D%7D%5D%7D"),
    ("/request?param=1.2.3", "headers-inspect.test", "/request?param=1.2.3"),  # #1480
    ("/request?param=abc%7Cdef", "headers-inspect.test", "/request?param=abc%7Cdef"),  # #749
    ("/request/foo%2Fbar", "headers-inspect.test", "/request/foo%2Fbar"),  # #688
    ("/request/auth%7C123", "headers-inspect.test", "/request/auth%7C123"),  # #2512, hosts
    ("/request/auth%7C123", "x.test", "/request/auth%7C123"),  # #2512, paths
    ("/foo/request/auth%7C123", "x.test", "/request/auth%7C123"),  # #2512, strip_path
])
def test_uri_encoding(up, sluice_factory, target, host, want):
    s = start(up, sluice_factory)
    r = get(s, target, host=host)
    assert r.status == 200
    assert json.loads(r.body)["target"] == want


# ---- port_maps (03-upstream_headers_spec "with port maps")


def test_port_maps_translate_forwarded_port_and_route_port(up, sluice_factory):
    """Behind a container's port mapping (port_maps = 80:<listener>), the upstream is told the
    port the client used, and a route host "h:80" matches a Host without a port as it would on
    port 80 (Kong's ctx.host_port). A Host naming a port still wins."""
    mapped = service("mapped", up.port, [{"name": "mapped", "hosts": ["mapped.test:80"],
                                          "strip_path": False}], path="/mapped")
    s = sluice_factory(kong(service("mock", up.port, routes()), mapped),
                       {"port_maps": "80:{port}, 443:1"})
    assert upstream_headers(s)["x-forwarded-port"] == "80"
    r = get(s, "/m", host="mapped.test")
    assert r.status == 200 and json.loads(r.body)["path"] == "/mapped/m"
    r = get(s, "/m", host="mapped.test:%d" % s.port)  # the root route, not the mapped one
    assert r.status == 200 and json.loads(r.body)["path"] == "/m"
    # a trusted client's own X-Forwarded-Port still passes through untouched
    t = sluice_factory(kong(service("mock", up.port, routes())),
                       {"port_maps": "80:{port}", "trusted_ips": "127.0.0.1"})
    assert upstream_headers(t, headers=[("X-Forwarded-Port", "8443")])["x-forwarded-port"] == "8443"
