# SPDX-License-Identifier: Apache-2.0
"""Routing through a real Sluice (kong.md §3.1-3.4): prefix and regex paths, hosts (wildcards, ports),
methods, headers (plain and ~* regex), priorities, multi-path routes, strip_path and the v0
path_handling table, preserve_host, query strings and path normalisation.

Every route has its own service whose path is /<route-name>, so the path the echo upstream receives
names the route that matched (strip_path true → /<name><rest>)."""

import json

import pytest
import requests

from lib.rawhttp import RawConn, parse_one, raw, request_bytes
from lib.sluice import kong
from lib.upstream import Upstream

T = 5  # seconds, every request


def R(name, **fields):
    """A service named <name> with path /<name> holding one route named <name>."""
    return {"name": name, "path": "/" + name, "route": dict(fields, name=name)}


ROUTES = [
    R("prefix", paths=["/foo"]),
    R("regex", paths=[r"~/items/\d+$"]),
    R("host", hosts=["example.com"]),
    R("wild-suffix", hosts=["*.wild.test"]),
    R("wild-prefix", hosts=["wildprefix.*"]),
    R("method", paths=["/m"], methods=["POST", "PUT"]),
    R("header", paths=["/h"], headers={"x-version": ["v1", "V2"]}),
    R("header-regex", paths=["/h"], headers={"x-rx": [r"~*^ab+c$"]}),
    R("short", paths=["/p"]),
    R("long", paths=["/p/long"]),
    R("hostpath", paths=["/hp"], hosts=["hp.test"]),
    R("pathonly", paths=["/hp"]),
    R("rx-over", paths=[r"~/pri/r"]),
    R("prefix-under", paths=["/pri/r/longer/prefix"]),
    R("rxprio-low", paths=[r"~/rp/\w+"], regex_priority=1),
    R("rxprio-high", paths=[r"~/rp/a\w*"], regex_priority=10),
    R("hdr1", paths=["/hc"], headers={"x-a": ["1"]}),
    R("hdr2", paths=["/hc"], headers={"x-a": ["1"], "x-b": ["2"]}),
    R("plainhost", hosts=["exact.pri.test"], paths=["/ph"]),
    R("wildhost", hosts=["*.pri.test"], paths=["/ph"]),
    R("multi", paths=["/mp1", "/mp2/x"]),
    R("nostrip", paths=["/ns"], strip_path=False),
    R("admin", paths=["/admin"], strip_path=False),
    R("public", paths=["/public"], strip_path=False),
    # prefix paths in Kong's decoded form (Kong refuses "/caf%C3%A9": non-normalized path)
    R("cafe", paths=["/caf\u00e9"]),
    R("brace", paths=["/x{y}"]),
    R("space", paths=["/sp ace"]),
    # regex paths run on Kong's decoded path, whatever spelling the client sent
    R("rxbrace", paths=[r"~/rb/\{x$"]),
    R("rxutf8", paths=["~/ru/caf\u00e9$"]),
    R("rxspace", paths=[r"~/rsp/[a-z ]+$"]),
    R("rxstrip", paths=[r"~/rst/[^/]+"]),
    # '$' ends the path only: a regex route must not take a path that ends in %0A
    R("rxend", paths=[r"~/rend/\d+$"]),
    R("rend-prefix", paths=["/rend"]),
    # Kong's regexes are Rust's: '.' is one character and \w a Unicode word character
    R("rxdot", paths=[r"~/rdot/.$"]),
    R("rxword", paths=[r"~/rword/\w+$"]),
    R("runi-prefix", paths=["/r"]),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from lib.sluice import Sluice
    up = Upstream().start()
    services = []
    for r in ROUTES:
        services.append({"name": "svc-" + r["name"],
                         "url": "http://127.0.0.1:%d%s" % (up.port, r["path"]),
                         "routes": [r["route"]]})
    s = Sluice(tmp_path_factory.mktemp("routing"), "", start=False)
    # Host routes with a port need the listener port, known once the instance object exists.
    doc = kong(*services)
    doc["services"].append({"name": "svc-hostport",
                            "url": "http://127.0.0.1:%d/hostport" % up.port,
                            "routes": [{"name": "hostport",
                                        "hosts": ["porty.test:%d" % s.port]}]})
    doc["services"].append({"name": "svc-hostport-other",
                            "url": "http://127.0.0.1:%d/hostportother" % up.port,
                            "routes": [{"name": "hostport-other", "hosts": ["porty2.test:1"]}]})
    s.write_kong(doc)
    s.start()
    yield s, up
    s.stop()
    up.stop()


def get(s, path, method="GET", host=None, headers=None):
    h = dict(headers or {})
    if host:
        h["Host"] = host
    return requests.request(method, s.url(path), headers=h, timeout=T)


def routed(s, path, **kw):
    """(status, path seen by the upstream or None)."""
    r = get(s, path, **kw)
    if r.status_code == 200 and r.headers.get("Content-Type") == "application/json":
        try:
            return r.status_code, r.json()["path"]
        except (ValueError, KeyError):
            pass
    return r.status_code, None


def raw_routed(s, target):
    """(status, path the upstream saw or None) for <target> sent as is on a raw socket."""
    data = raw("127.0.0.1", s.port, request_bytes("GET", target, headers=[("Connection", "close")]),
               timeout=T)
    r = parse_one(data)
    return r.status, json.loads(r.body)["path"] if r.status == 200 else None


# ------------------------------------------------------------------------------- paths


@pytest.mark.parametrize("path,expect", [
    ("/foo", "/prefix"),
    ("/foo/bar", "/prefix/bar"),
    ("/foobar", "/prefix/bar"),      # prefix match; v0 inserts a '/' after the service path
    ("/fo", None),
])
def test_prefix_path(env, path, expect):
    s, _ = env
    st, p = routed(s, path)
    if expect is None:
        assert st == 404
    else:
        assert (st, p) == (200, expect)


@pytest.mark.parametrize("path,expect", [
    ("/items/42", "/regex"),
    ("/items/abc", None),
    ("/x/items/42", None),          # anchored at the start
    ("/items/42/more", None),       # the regex has its own '$'
])
def test_regex_path(env, path, expect):
    s, _ = env
    st, p = routed(s, path)
    if expect is None:
        assert st == 404, p
    else:
        assert (st, p) == (200, expect)


def test_no_route_is_404(env):
    s, _ = env
    assert routed(s, "/nothing/here")[0] == 404


# ------------------------------------------------------------------------------- hosts


@pytest.mark.parametrize("host,expect", [
    ("example.com", "/host/z"),
    ("EXAMPLE.com", "/host/z"),           # case-insensitive
    ("example.com:8080", "/host/z"),      # port ignored when the route host has none
    ("other.com", None),
    ("a.wild.test", "/wild-suffix/z"),
    ("a.b.wild.test", "/wild-suffix/z"),  # any depth
    ("wild.test", None),
    ("wildprefix.org", "/wild-prefix/z"),
    ("wildprefix.co.uk", "/wild-prefix/z"),
])
def test_hosts(env, host, expect):
    s, _ = env
    st, p = routed(s, "/z", host=host)
    if expect is None:
        assert st == 404, p
    else:
        assert (st, p) == (200, expect)


def test_host_with_port(env):
    s, _ = env
    assert routed(s, "/z", host="porty.test:%d" % s.port) == (200, "/hostport/z")
    assert routed(s, "/z", host="porty.test") == (200, "/hostport/z")
    assert routed(s, "/z", host="porty2.test")[0] == 404


def test_host_with_port_uses_host_header_port_then_listener_port(env):
    # Kong (router/fields.lua, net.dst.port): a route host "h:p" matches http.host == h and a port
    # that is the Host header's when it has one, the listener's otherwise (test_host_with_port).
    s, _ = env
    assert routed(s, "/z", host="porty2.test:1") == (200, "/hostportother/z")
    assert routed(s, "/z", host="porty.test:1")[0] == 404
    assert routed(s, "/z", host="porty2.test:%d" % s.port)[0] == 404


def test_no_host_header_matches_only_hostless_routes(env):
    s, _ = env
    # HTTP/1.0 without Host: only routes without hosts can match.
    data = raw("127.0.0.1", s.port, b"GET /foo/x HTTP/1.0\r\n\r\n", timeout=T)
    r = parse_one(data)
    assert r.status == 200 and json.loads(r.body)["path"] == "/prefix/x"
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"GET /z HTTP/1.0\r\n\r\n")
        assert c.read_response().status == 404


# ------------------------------------------------------------------------------- methods, headers


def test_methods(env):
    s, _ = env
    assert routed(s, "/m", method="POST") == (200, "/method")
    assert routed(s, "/m", method="PUT") == (200, "/method")
    assert routed(s, "/m", method="GET")[0] == 404
    assert routed(s, "/m", method="DELETE")[0] == 404


@pytest.mark.parametrize("headers,expect", [
    ({"X-Version": "v1"}, "/header"),
    ({"X-Version": "V1"}, "/header"),      # values compared case-insensitively
    ({"X-Version": "v2"}, "/header"),
    ({"X-Version": "v3"}, None),
    ({}, None),
    ({"X-Rx": "abbbc"}, "/header-regex"),
    ({"X-Rx": "ABC"}, "/header-regex"),    # ~* is case-insensitive
    ({"X-Rx": "ac"}, None),
    ({"X-Rx": "abcd"}, None),
])
def test_headers(env, headers, expect):
    s, _ = env
    st, p = routed(s, "/h", headers=headers)
    if expect is None:
        assert st == 404, p
    else:
        assert (st, p) == (200, expect)


def test_header_repeated_any_value_matches(env):
    s, _ = env
    data = raw("127.0.0.1", s.port, b"GET /h HTTP/1.1\r\nHost: x\r\nX-Version: nope\r\n"
               b"X-Version: v2\r\nConnection: close\r\n\r\n", timeout=T)
    r = parse_one(data)
    assert r.status == 200 and json.loads(r.body)["path"] == "/header"


# ------------------------------------------------------------------------------- priorities


@pytest.mark.parametrize("path,kw,expect", [
    ("/p/x", {}, "/short/x"),
    ("/p/long/x", {}, "/long/x"),                         # longer prefix wins
    ("/hp", {"host": "hp.test"}, "/hostpath"),            # more fields win
    ("/hp", {"host": "x.test"}, "/pathonly"),
    ("/pri/r/longer/prefix/x", {}, "/rx-over/longer/prefix/x"),  # regex beats any prefix
    ("/rp/abc", {}, "/rxprio-high"),                      # higher regex_priority
    ("/rp/zzz", {}, "/rxprio-low"),
    ("/hc", {"headers": {"X-A": "1", "X-B": "2"}}, "/hdr2"),  # more headers win
    ("/hc", {"headers": {"X-A": "1"}}, "/hdr1"),
    ("/ph", {"host": "exact.pri.test"}, "/plainhost"),    # plain host beats wildcard
    ("/ph", {"host": "other.pri.test"}, "/wildhost"),
])
def test_priority(env, path, kw, expect):
    s, _ = env
    assert routed(s, path, **kw) == (200, expect)


# ------------------------------------------------------------------------------- strip_path


@pytest.mark.parametrize("path,expect", [
    ("/mp1", "/multi"),
    ("/mp1/a", "/multi/a"),
    ("/mp2/x/b", "/multi/b"),
    ("/mp2/y", None),
])
def test_multi_path_route(env, path, expect):
    s, _ = env
    st, p = routed(s, path)
    if expect is None:
        assert st == 404, p
    else:
        assert (st, p) == (200, expect)


def test_strip_path_false(env):
    s, _ = env
    assert routed(s, "/ns/a/b") == (200, "/nostrip/ns/a/b")


# kong.md §3.3, v0 table: (service.path, route path, request, strip_path, upstream)
V0 = [
    ("/s", "/fv0", "/fv0/req", True, "/s/req"),
    ("/s", "/fv0", "/fv0req", True, "/s/req"),
    ("/s/", "/fv0", "/fv0/req", True, "/s/req"),
    ("/s", "/fv0", "/fv0", True, "/s"),
    ("/s", "/fv0/", "/fv0/", True, "/s/"),
    ("/s", "/fv0", "/fv0/req", False, "/s/fv0/req"),
    ("/s/", "/fv0", "/fv0/req", False, "/s/fv0/req"),
    (None, "/fv0", "/fv0/req", True, "/req"),
    (None, "/fv0", "/fv0/req", False, "/fv0/req"),
]


@pytest.fixture(scope="module")
def v0env(tmp_path_factory):
    from lib.sluice import Sluice
    up = Upstream().start()
    services = []
    # Each row twice: once as v0, once stored as v1, which Kong's traditional_compatible flavour
    # (Sluice's router) also joins as v0.
    for ph in ("v0", "v1"):
        for i, (spath, rpath, _, strip, _) in enumerate(V0):
            services.append({"name": "%s-%d" % (ph, i),
                             "url": "http://127.0.0.1:%d%s" % (up.port, spath or ""),
                             "routes": [{"name": "%sr-%d" % (ph, i), "paths": [rpath],
                                         "hosts": ["%s-%d.test" % (ph, i)], "strip_path": strip,
                                         "path_handling": ph}]})
    s = Sluice(tmp_path_factory.mktemp("v0"), kong(*services))
    yield s
    s.stop()
    up.stop()


@pytest.mark.parametrize("ph", ["v0", "v1"])
@pytest.mark.parametrize("i", range(len(V0)))
def test_path_handling_v0_table(v0env, i, ph):
    spath, rpath, req, strip, want = V0[i]
    assert routed(v0env, req, host="%s-%d.test" % (ph, i)) == (200, want), V0[i]


def test_path_handling_v1_is_warned_about(v0env):
    """Kong's schema warning for v1 routes, logged once per configuration with the count."""
    log = v0env.stderr() + v0env.error_log()  # at start, before the error log opens: stderr
    assert "%d route(s) (first: v1r-0) have path_handling='v1'" % len(V0) in log
    assert "will not work under 'expressions' or 'traditional_compatible' router_flavor" in log


# ------------------------------------------------------------------------------- host, query, path


def test_preserve_host(upstream, sluice_factory):
    doc = kong({"name": "a", "url": "http://127.0.0.1:%d" % upstream.port,
                "routes": [{"name": "keep", "paths": ["/keep"], "preserve_host": True},
                           {"name": "drop", "paths": ["/drop"]}]})
    s = sluice_factory(doc)
    r = requests.get(s.url("/keep"), headers={"Host": "client.example:1234"}, timeout=T)
    assert r.status_code == 200
    assert r.json()["headers"]["host"] == "client.example:1234"
    r = requests.get(s.url("/drop"), headers={"Host": "client.example:1234"}, timeout=T)
    assert r.json()["headers"]["host"] == "127.0.0.1:%d" % upstream.port


def test_host_header_is_service_host_and_port(upstream, sluice_factory):
    # Without preserve_host the upstream gets the service host, with ":port" as it is not 80
    # (port 80 itself cannot be used by an unprivileged test upstream).
    s = sluice_factory(kong({"name": "a", "host": "127.0.0.1", "port": upstream.port,
                             "protocol": "http", "routes": [{"paths": ["/"]}]}))
    r = requests.get(s.url("/"), timeout=T)
    assert r.json()["headers"]["host"] == "127.0.0.1:%d" % upstream.port


@pytest.mark.parametrize("target,want_target", [
    ("/ns/q?a=1&b=%20x&c", "/nostrip/ns/q?a=1&b=%20x&c"),
    ("/ns/q?x=%2F..%2F&y=a+b", "/nostrip/ns/q?x=%2F..%2F&y=a+b"),
    ("/foo/bar?z=1", "/prefix/bar?z=1"),
])
def test_query_string_preserved(env, target, want_target):
    s, _ = env
    data = raw("127.0.0.1", s.port, request_bytes("GET", target, headers=[("Connection", "close")]),
               timeout=T)
    r = parse_one(data)
    assert r.status == 200, r
    assert json.loads(r.body)["target"] == want_target


def test_trailing_question_mark_preserved(env):
    s, _ = env
    r = parse_one(raw("127.0.0.1", s.port,
                      request_bytes("GET", "/ns/q?", headers=[("Connection", "close")]), timeout=T))
    assert r.status == 200
    assert json.loads(r.body)["target"] == "/nostrip/ns/q?"


@pytest.mark.parametrize("target,want", [
    ("/public/%2e%2e/admin", "/admin/admin"),
    ("/public/../admin", "/admin/admin"),
    ("/public/./x/../../admin/y", "/admin/admin/y"),
    ("/%61dmin/z", "/admin/admin/z"),          # %61 = 'a', unreserved: decoded before routing
    ("/public/%2E%2E/admin", "/admin/admin"),
    # Kong merges slashes before routing (kong/router/utils.lua strip_uri_args): "//admin" is
    # /admin, which an upstream that merges slashes would serve anyway
    ("//admin", "/admin/admin"),
    ("/public//..//admin//y", "/admin/admin/y"),
    ("//foo//bar", "/prefix/bar"),
])
def test_normalised_path_is_routed_and_forwarded(env, target, want):
    assert raw_routed(env[0], target) == (200, want)


@pytest.mark.parametrize("target,want", [
    # Kong routes on the decoded path and forwards it re-escaped (kong/tools/uri.lua escape()):
    # every spelling of a route's decoded prefix reaches it, and the upstream gets one of them
    ("/caf%C3%A9", "/cafe"),
    ("/caf%c3%a9/menu", "/cafe/menu"),
    ("/caf%C3%A9s", "/cafe/s"),
    ("/x{y}/z", "/brace/z"),
    ("/x%7By%7d/z", "/brace/z"),
    ("/sp%20ace", "/space"),
    # not the route's prefix once decoded
    ("/caf%C3", None),
    ("/cafe", None),
    ("/x%7By", None),
])
def test_decoded_route_paths_match_every_spelling(env, target, want):
    assert raw_routed(env[0], target) == ((404, None) if want is None else (200, want))


@pytest.mark.parametrize("target,want", [
    ("/rb/{x", "/rxbrace"),
    ("/rb/%7Bx", "/rxbrace"),
    ("/rb/%7bx", "/rxbrace"),
    ("/ru/caf\xc3\xa9", "/rxutf8"),
    ("/ru/caf%C3%A9", "/rxutf8"),
    ("/rsp/a%20b", "/rxspace"),
    # the end of the match, found in the decoded path, strips the escaped one
    ("/rst/caf%C3%A9/menu", "/rxstrip/menu"),
    ("/rst/a%7Bb%7D/c%20d", "/rxstrip/c%20d"),
    # reserved escapes stay encoded for Kong's regexes too: %2F is not a '/'
    ("/rst/a%2Fb/c", "/rxstrip/c"),
])
def test_regex_paths_match_kongs_decoded_path(env, target, want):
    assert raw_routed(env[0], target) == (200, want)


@pytest.mark.parametrize("target,want", [
    ("/rend/42", "/rxend"),
    # the decoded path is "/rend/42\n": Kong's atc-router (Rust regex) reads '$' as the end of
    # the path only, so the regex route does not match and the prefix route takes the request;
    # PCRE's default '$' also matched before a final newline
    ("/rend/42%0A", "/rend-prefix/42%0A"),
    ("/rend/42%0a", "/rend-prefix/42%0A"),
    ("/rend/42%0A%0A", "/rend-prefix/42%0A%0A"),
])
def test_regex_dollar_is_the_end_of_the_path(env, target, want):
    assert raw_routed(env[0], target) == (200, want)


@pytest.mark.parametrize("target,want", [
    ("/rdot/a", "/rxdot"),
    ("/rdot/%C3%A9", "/rxdot"),         # é: one character of two bytes
    ("/rdot/%E2%82%AC", "/rxdot"),      # €: three bytes
    ("/rdot/ab", "/runi-prefix/dot/ab"),  # the /r prefix stripped
    ("/rword/caf%C3%A9", "/rxword"),
    ("/rword/%D0%B4%D0%B0", "/rxword"),  # Cyrillic
    ("/rword/a%20b", "/runi-prefix/word/a%20b"),
])
def test_regex_paths_have_unicode_semantics_as_kongs(env, target, want):
    assert raw_routed(env[0], target) == (200, want)


def test_raw_utf8_target_is_routed_and_forwarded_escaped(env):
    """nginx (so Kong) takes raw UTF-8 in a target, as curl sends it when given: it routes like its
    escaped spelling and leaves escaped, so the upstream never sees a raw byte >= 0x80 in the path
    (the query goes on as sent, as Kong's $args)."""
    s, up = env
    data = raw("127.0.0.1", s.port,
               request_bytes("GET", "/caf\xc3\xa9/m\xc3\xb8?q=\xc3\xa9", headers=[("Connection", "close")]),
               timeout=T)
    r = parse_one(data)
    assert r.status == 200, (r.status, r.body[:200])
    assert up.last().target == "/cafe/m%C3%B8?q=\xc3\xa9"


@pytest.mark.parametrize("target,want", [
    # Kong's router reads the decoded path, and atc-router refuses one that is not valid UTF-8
    # ("router returned an error: invalid utf-8 sequence ...", 404) before any route is tried
    ("/foo/caf%E9", None),            # Latin-1
    ("/foo/\xfc\x80\x80\x80\x80\xaf", None),
    ("/foo/%C0%AE", None),            # overlong
    ("/foo/%ED%A0%80", None),         # surrogate
    ("/foo/caf%C3%A9", "/prefix/caf%C3%A9"),
    ("/foo/%F0%9F%98%80", "/prefix/%F0%9F%98%80"),
])
def test_path_invalid_utf8_once_decoded_is_404(env, target, want):
    assert raw_routed(env[0], target) == ((404, None) if want is None else (200, want))


@pytest.mark.parametrize("path,name,value,want", [
    ("/hc", "X-A", "1", (200, "/hdr1")),
    ("/hp", "X-A", "caf\xc3\xa9", (200, "/pathonly")),  # valid UTF-8 (latin-1 wire spelling)
    ("/hp", "X-A", "caf\xe9", (404, None)),              # Latin-1 in a header some route reads
    ("/hp", "x-b", "\xc0\xae", (404, None)),            # overlong, any spelling of the name
    ("/hp", "X-Other", "caf\xe9", (200, "/pathonly")),   # no route reads X-Other
])
def test_routed_header_value_must_be_utf8(env, path, name, value, want):
    """Kong's router takes only UTF-8 values for the headers some route matches on (atc-router's
    context); any other byte sequence there is a router error, answered 404 whatever the route."""
    s, _ = env
    data = raw("127.0.0.1", s.port, request_bytes("GET", path, host="x.test",
                                                  headers=[(name, value), ("Connection", "close")]),
               timeout=T)
    r = parse_one(data)
    assert (r.status, json.loads(r.body)["path"] if r.status == 200 else None) == want


def test_bytes_kong_escapes_are_forwarded_escaped(env):
    """What Sluice forwards is Kong's escape(normalize(path)): "{", "|", "^" ... arrive as %XX
    whether the client sent them raw or escaped, and reserved bytes keep their spelling."""
    s, up = env
    for target in ("/foo/a{b}|c^d", "/foo/a%7bb%7D%7cc%5Ed"):
        data = raw("127.0.0.1", s.port,
                   request_bytes("GET", target, headers=[("Connection", "close")]), timeout=T)
        r = parse_one(data)
        assert r.status == 200, (target, r.status)
        assert up.last().target == "/prefix/a%7Bb%7D%7Cc%5Ed", up.last().target
    data = raw("127.0.0.1", s.port,
               request_bytes("GET", "/foo/[a]%5Bb%5D:@", headers=[("Connection", "close")]),
               timeout=T)
    assert parse_one(data).status == 200
    assert up.last().target == "/prefix/[a]%5Bb%5D:@"


def test_dot_segments_cannot_escape_root(env):
    s, _ = env
    data = raw("127.0.0.1", s.port,
               request_bytes("GET", "/../../admin", headers=[("Connection", "close")]), timeout=T)
    r = parse_one(data)
    # Either rejected as a bad request or clamped at the root and routed as /admin.
    assert r.status in (200, 400)
    if r.status == 200:
        assert json.loads(r.body)["path"] == "/admin/admin"


def test_encoded_slash_not_decoded(env):
    s, _ = env
    # %2F is reserved: it is not a path separator, so /public%2F..%2Fadmin stays under /public.
    data = raw("127.0.0.1", s.port, request_bytes("GET", "/public%2F..%2Fadmin",
                                                  headers=[("Connection", "close")]), timeout=T)
    r = parse_one(data)
    assert r.status in (200, 400)
    if r.status == 200:
        assert json.loads(r.body)["path"].startswith("/public/public")


def test_persistent_conn_mixed_routes(env):
    s, _ = env
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        for path, want in [("/foo/1", "/prefix/1"), ("/items/7", "/regex"), ("/nope", None),
                           ("/foo/2", "/prefix/2")]:
            c.send(request_bytes("GET", path))
            r = c.read_response()
            if want is None:
                assert r.status == 404
            else:
                assert r.status == 200 and json.loads(r.body)["path"] == want


def test_services_sharing_a_host_name_keep_their_ports(upstream_factory, sluice_factory):
    """A host name is resolved once per configuration build however many services name it
    (src/config/snapshot.c); each service still goes to its own port."""
    a, b = upstream_factory(), upstream_factory()
    doc = {"_format_version": "3.0", "services": [
        {"name": "a", "url": "http://localhost:%d" % a.port, "routes": [{"paths": ["/a"]}]},
        {"name": "b", "url": "http://localhost:%d" % b.port, "routes": [{"paths": ["/b"]}]},
        {"name": "c", "url": "http://127.0.0.1:%d/c-base" % b.port,
         "routes": [{"paths": ["/c"]}]},
    ]}
    s = sluice_factory(doc)
    for path, up in (("/a", a), ("/b", b), ("/a", a), ("/c", b)):
        before = len(up.requests)
        r = requests.get(s.url(path), timeout=T)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        assert len(up.requests) == before + 1, path
