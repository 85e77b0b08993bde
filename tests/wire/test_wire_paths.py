# SPDX-License-Identifier: Apache-2.0
"""Path normalisation matrix (issue #2 item 6; hardening.md §6, CVE-2021-27306) on the main
instance: route /admin → oracle A, / → oracle B, hosts authority.test → oracle C, all with
strip_path off.

For each input the test records which upstream received the request and the exact target it
received, and checks the invariant "the path used for routing == the path forwarded": the
forwarded path is a fixed point of normalisation (normalising it again changes nothing), and the
route that path selects is the upstream that received it. Inputs that cannot be normalised are
400s that reach no upstream."""

import re

import pytest

import wirelib as W

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def reference_normalise(path):
    """RFC 3986 §6.2.2 as Sluice documents it (src/http/path.h): decode unreserved escapes once,
    uppercase the hex of the others, merge runs of slashes (Kong), remove dot segments, keep
    everything else."""
    def esc(m):
        v = int(m.group(1), 16)
        return chr(v) if v in UNRESERVED else "%" + m.group(1).upper()
    decoded = re.sub(r"/{2,}", "/", re.sub(r"%([0-9A-Fa-f]{2})", esc, path))
    out = []
    segs = decoded.split("/")[1:]
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def route_of(path, host=None):
    if host == "authority.test":
        return "C"
    return "A" if path.startswith("/admin") else "B"


# (target, expected oracle, expected forwarded target); oracle None = 400 and 404 = no route
# matched, nothing forwarded in either case
M = [
    ("/admin", "A", "/admin"),
    ("/admin/", "A", "/admin/"),
    ("/admin/x", "A", "/admin/x"),
    ("/ADMIN", "B", "/ADMIN"),
    ("//admin", "A", "/admin"),
    ("/public//..//admin", "A", "/admin"),
    ("/admin//x", "A", "/admin/x"),
    ("/./admin", "A", "/admin"),
    ("/public/../admin", "A", "/admin"),
    ("/public/./../admin", "A", "/admin"),
    ("/public/%2e%2e/admin", "A", "/admin"),
    ("/public/%2E%2E/admin", "A", "/admin"),
    ("/public/.%2e/admin", "A", "/admin"),
    ("/public/%2e/../admin", "A", "/admin"),
    ("/%2e%2e/admin", "A", "/admin"),
    ("/../admin", "A", "/admin"),
    ("/../../admin", "A", "/admin"),
    ("/%61dmin", "A", "/admin"),
    ("/%61%64%6D%69%6e", "A", "/admin"),
    ("/public/%252e%252e/admin", "B", "/public/%252e%252e/admin"),
    ("/%252e%252e/admin", "B", "/%252e%252e/admin"),
    ("/admin%2f..%2fx", "A", "/admin%2F..%2Fx"),
    ("/admin/..%2fx", "A", "/admin/..%2Fx"),
    ("/%2fadmin", "B", "/%2Fadmin"),
    ("/public%2f..%2fadmin", "B", "/public%2F..%2Fadmin"),
    ("/admin;jsessionid=x", "A", "/admin;jsessionid=x"),
    ("/public/..;/admin", "B", "/public/..;/admin"),
    ("/admin%3b", "A", "/admin%3B"),
    ("/admin%5c", "A", "/admin%5C"),
    ("/admin%5c..%5cx", "A", "/admin%5C..%5Cx"),
    ("/admin%20", "A", "/admin%20"),
    # overlong "..": not UTF-8 once decoded, so Kong's router refuses it whatever the routes
    ("/%c0%ae%c0%ae/admin", 404, None),
    ("/admin/..", "B", "/"),
    ("/admin/../", "B", "/"),
    ("/admin/../public", "B", "/public"),
    ("/admin/.", "A", "/admin/"),
    ("/admin%3f/../x", "B", "/x"),
    ("/admin?x=/../y", "A", "/admin?x=/../y"),
    ("/admin?x=%2e%2e", "A", "/admin?x=%2e%2e"),
    ("/public?/admin", "B", "/public?/admin"),
    ("/public/..?q", "B", "/?q"),
    ("/admin%00", None, None),
    ("/admin%", None, None),
    ("/admin%2", None, None),
    ("/admin%zz", None, None),
    ("/admin\\x", None, None),
    ("/admin#x", None, None),
    ("/admin/%0d%0a", "A", "/admin/%0D%0A"),
]


def fetch(mn, target, host=b"h"):
    raw = b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
    resps, closed, pending, _ = W.exchange(mn.port, raw, close_wait=0.05)
    assert resps, "no response for %r (pending %r)" % (target, pending)
    mn.settle()
    got = {name: o.requests() for name, o in mn.oracles.items()}
    hits = [(name, r) for name, reqs in got.items() for r in reqs]
    return resps[0], hits


@pytest.mark.parametrize("target,oracle,forwarded", [pytest.param(*m, id=m[0]) for m in M])
def test_path_matrix(mn, target, oracle, forwarded):
    resp, hits = fetch(mn, target)
    if oracle is None or oracle == 404:
        assert resp.status == (oracle or 400) and resp.header("X-Oracle") is None, resp
        assert sum(o.total_bytes() for o in mn.oracles.values()) == 0
        return
    assert resp.status == 200, resp
    assert len(hits) == 1, hits
    name, req = hits[0]
    assert (name, req.target) == (oracle, forwarded)
    # the invariant, independently of the table: the forwarded path is already normal and
    # selects the upstream that received it
    assert reference_normalise(req.path) == req.path
    assert route_of(req.path) == name
    assert resp.header("X-Oracle") == name


@pytest.mark.parametrize("target,host,oracle,forwarded", [
    ("http://h/admin", b"h", "A", "/admin"),
    ("http://h/public/../admin", b"h", "A", "/admin"),
    ("http://h", b"h", "B", "/"),
    ("http://h?q=1", b"h", "B", "/?q=1"),
    ("HTTP://h/admin", b"h", "A", "/admin"),
    # the authority of an absolute-form target overrides Host (RFC 9112 §3.2.2)
    ("http://authority.test/admin", b"other.test", "C", "/admin"),
    ("http://other.test/admin", b"authority.test", "A", "/admin"),
    ("http://AUTHORITY.TEST./x", b"other.test", "C", "/x"),
])
def test_absolute_form(mn, target, host, oracle, forwarded):
    resp, hits = fetch(mn, target, host)
    assert resp.status == 200, resp
    assert [(n, r.target) for n, r in hits] == [(oracle, forwarded)]
    # Host towards the upstream is the service's, never the client's ambiguous pair
    assert hits[0][1].header("Host") == "127.0.0.1:%d" % mn.oracles[oracle].port


@pytest.mark.parametrize("host,oracle", [
    (b"authority.test", "C"),
    (b"AUTHORITY.test", "C"),
    (b"authority.test.", "C"),
    (b"authority.test:8000", "C"),
    (b"authority.tes", "B"),
    (b"xauthority.test", "B"),
])
def test_host_routing_normalised(mn, host, oracle):
    resp, hits = fetch(mn, "/x", host)
    assert resp.status == 200, resp
    assert [n for n, _ in hits] == [oracle]


def test_reference_normaliser_sanity():
    assert reference_normalise("/a/b/../c/./d/") == "/a/c/d/"
    assert reference_normalise("/%2e%2e/%41") == "/A"
    assert reference_normalise("/a/%2f") == "/a/%2F"
    assert reference_normalise("/..") == "/"
    assert reference_normalise("//a//../b//") == "/b/"
