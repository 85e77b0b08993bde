# SPDX-License-Identifier: Apache-2.0
"""More of Kong's proxy integration specs (spec/02-integration/05-proxy/), their cases that need no
plugin, TLS termination, balancer or stream proxy, through the real binary:
01-proxy_spec (proxy listeners), 33-request-id-header_spec and 33-request-id_spec (X-Kong-Request-Id
is X-Sluice-Request-Id; `headers_upstream`; the request id in the error log), 35-via_spec,
14-upstream-status-header_spec (X-Sluice-Upstream-Status), 27-unbuffered_spec (the four
request_buffering/response_buffering routes with large bodies both ways), 05-dns_spec (retries
against a server that drops every connection) and 12-error_default_type_spec.

Covered by other suites and not repeated: 02-real_ip_spec's X-Forwarded-For/Port/Proto
(test_headers_kong_spec.py), 32-query-params_spec's bare "?" (test_routing.py
test_trailing_question_mark_preserved), 05-dns_spec's unresolvable host (test_dns.py
test_nxdomain_503_fast_then_recovers), `headers = off` and `headers = X-Sluice-Request-Id` on the
client side (test_headers.py), 24-buffered_spec's 502 on a dead upstream (test_upstream_failures.py).
"""

import hashlib
import json
import re
import time

import pytest

from lib import upstream as U
from lib.ports import closed_port, free_port
from lib.rawhttp import RawConn, raw_upstream, request_bytes
from lib.sluice import cli, kong, listening_ports, service

T = 10
RID = re.compile(r"^[0-9a-f]{32}$")
VIA = "1.1 sluice/0.1.0"
MSG_404 = "no Route matched with those values"
MSG_504 = "The upstream server is timing out"


def routes(**kw):
    return [dict({"paths": ["/"], "strip_path": False}, **kw)]


def get(s, target="/", host="example.test", headers=(), method="GET", body=None):
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes(method, target, host=host, headers=list(headers), body=body))
        return c.read_response(head_request=method == "HEAD")


def echo_headers(r):
    assert r.status == 200, (r.status, r.body[:300])
    return json.loads(r.body)["headers"]


def check_conf(tmp_path, text):
    path = tmp_path / "check.conf"
    path.write_text(text)
    return cli("check", str(path))


# ---- 01-proxy_spec: "Proxy interface listeners" -----------------------------------------------


def test_proxy_listen_off_opens_no_proxy_listener(tmp_path, sluice_factory):
    """"disabled": proxy_listen = off, the Admin API on. The process listens on the Admin API's
    port only (Kong's nginx.conf has no proxy server block)."""
    s = sluice_factory(kong(), {"proxy_listen": "off", "admin_listen": "127.0.0.1:{port}"})
    r = get(s, "/")
    assert r.status == 200 and json.loads(r.body)["tagline"] == "Welcome to kong"
    assert listening_ports(s.pid) == {s.port}


def test_proxy_listen_multiple(sluice_factory):
    """"multiple": two proxy_listen entries; each answers (404: nothing is configured)."""
    other = free_port()
    s = sluice_factory(kong(), {"proxy_listen": "127.0.0.1:{port}, 127.0.0.1:%d" % other})
    assert listening_ports(s.pid) == {s.port, other}
    for port in (s.port, other):
        with RawConn("127.0.0.1", port, timeout=T) as c:
            c.send(request_bytes("GET", "/"))
            r = c.read_response()
        assert r.status == 404
        assert json.loads(r.body)["message"] == MSG_404


# ---- 33-request-id-header_spec: "X-Kong-Request-Id header" --------------------------------------


@pytest.fixture
def rid_routes(upstream):
    return kong(service("s", upstream.port, [{"hosts": ["request_id"]}]))


def test_request_id_downstream_default(rid_routes, sluice_factory):
    """"(downstream) with default configuration": "contains the expected value" and "should be
    populated when no API matched" (a 404 carries one too, the one its body names)."""
    s = sluice_factory(rid_routes)
    r = get(s, "/", host="request_id")
    assert r.status == 200 and RID.match(r.header("X-Sluice-Request-Id"))
    r = get(s, "/", host="404.test", headers=[("Accept", "application/json")])
    assert r.status == 404
    body = json.loads(r.body)
    assert body["message"] == MSG_404
    assert RID.match(r.header("X-Sluice-Request-Id"))
    assert body["request_id"] == r.header("X-Sluice-Request-Id")


def test_request_id_upstream_default(rid_routes, sluice_factory):
    """"(upstream) default configuration": "contains the expected value" (the id the client is
    given) and "overwrites client value if any"."""
    s = sluice_factory(rid_routes)
    r = get(s, "/anything", host="request_id")
    h = echo_headers(r)
    assert RID.match(h["x-sluice-request-id"])
    assert h["x-sluice-request-id"] == r.header("X-Sluice-Request-Id")
    r = get(s, "/anything", host="request_id", headers=[("X-Sluice-Request-Id", "client_value")])
    h = echo_headers(r)
    assert RID.match(h["x-sluice-request-id"]) and h["x-sluice-request-id"] != "client_value"


@pytest.mark.parametrize("value", ["X-Sluice-Request-Id", "x-sluice-request-id"])
def test_request_id_upstream_headers_upstream_set(rid_routes, sluice_factory, value):
    """"is injected with configuration [headers_upstream=X-Kong-Request-Id]"."""
    s = sluice_factory(rid_routes, {"headers_upstream": value})
    assert RID.match(echo_headers(get(s, "/", host="request_id"))["x-sluice-request-id"])


def test_request_id_upstream_headers_upstream_off(rid_routes, upstream, sluice_factory):
    """"is not injected with configuration [headers_upstream=off]": no id upstream, not even the
    client's (Kong's proxy_set_header with an empty value); the client still gets its id."""
    s = sluice_factory(rid_routes, {"headers_upstream": "off"})
    r = get(s, "/", host="request_id")
    assert "x-sluice-request-id" not in echo_headers(r)
    assert RID.match(r.header("X-Sluice-Request-Id"))
    r = get(s, "/", host="request_id", headers=[("X-Sluice-Request-Id", "client_value")])
    assert "x-sluice-request-id" not in echo_headers(r)
    assert upstream.last().header_all("X-Sluice-Request-Id") == []


def test_headers_upstream_values_checked(tmp_path):
    """Kong's conf_loader check: `headers_upstream: invalid entry '%s'`; `off` and the request id
    header (any case) are the valid entries."""
    out = check_conf(tmp_path, "headers_upstream = X-Sluice-Request-Id, Via\n")
    assert out.returncode != 0
    assert "headers_upstream: invalid entry 'Via'" in out.stdout + out.stderr
    for ok in ("off", "X-SLUICE-REQUEST-ID", "off, X-Sluice-Request-Id"):
        out = check_conf(tmp_path, "headers_upstream = %s\n" % ok)
        assert out.returncode == 0, (ok, out.stdout, out.stderr)


# ---- 33-request-id_spec: "Request ID error log tests" ------------------------------------------


def test_error_log_names_the_request_id(sluice_factory):
    """"generates a new request ID when neither opentelemetry nor correlation-id are configured"
    and "logs a request ID in the output of runtime errors": an error logged while serving a
    request ends in request_id: "<id>", the id the client got, a new one whatever the client sent
    as Kong-Request-ID, X-Sluice-Request-Id or traceparent."""
    s = sluice_factory(kong(service("dead", closed_port(), [{"hosts": ["no_plugins"]}],
                                    retries=0)))
    rid = "0123456789abcdef0123456789abcdef"
    r = get(s, "/", host="no_plugins",
            headers=[("Kong-Request-ID", rid), ("X-Sluice-Request-Id", rid),
                     ("traceparent", "00-%s-00f067aa0ba902b7-01" % rid)])
    assert r.status == 502
    got = r.header("X-Sluice-Request-Id")
    assert RID.match(got) and got != rid
    deadline = time.monotonic() + 5
    found = []
    while not found and time.monotonic() < deadline:
        found = re.findall(r'connect\(\) failed.*, request_id: "([0-9a-f]+)"', s.error_log())
        time.sleep(0.05)
    assert found == [got], s.error_log()[-2000:]


def test_error_log_names_the_request_id_of_a_broken_body(upstream, sluice_factory):
    """The same for an error met after the response head went out (a truncated body)."""
    upstream.route("/cut", U.truncated_response(1000, 10))
    s = sluice_factory(kong(service("s", upstream.port, routes())))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/cut"))
        r = c.read_response()
    assert r.status == 200 and not r.complete
    got = r.header("X-Sluice-Request-Id")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and got not in s.error_log():
        time.sleep(0.05)
    assert re.search(r'prematurely closed connection while reading the response body of GET /cut'
                     r', request_id: "%s"' % got, s.error_log()), s.error_log()[-2000:]


# ---- 35-via_spec: "append Kong Gateway info to the 'Via' header" --------------------------------


def via_mock(req, conn):
    """Kong's http_mock /via: answers the Via it received, with a Via and a Server of its own."""
    conn.send(U.response(200, [("Server", "http-mock"), ("Via", "2 nginx, HTTP/1.1 http_mock"),
                               ("Content-type", "application/json")],
                         json.dumps({"via": req.header("via")})))


def test_via_in_both_directions(upstream, sluice_factory):
    """"HTTP/1.1 in both the inbound and outbound directions": the client's Via gets Sluice's
    appended on the way up, the upstream's Via gets it appended on the way down, and the
    upstream's Server is kept."""
    upstream.route("/via", via_mock)
    s = sluice_factory(kong(service("via_service", upstream.port,
                                    [{"name": "via_route", "hosts": ["test.via"],
                                      "paths": ["/get"]}], path="/via")))
    r = get(s, "/get", host="test.via", headers=[("Via", "1.1 dev")])
    assert r.status == 200
    assert json.loads(r.body) == {"via": "1.1 dev, " + VIA}
    assert r.header_all("Via") == ["2 nginx, HTTP/1.1 http_mock, " + VIA]
    assert r.header_all("Server") == ["http-mock"]


def test_via_names_the_client_protocol_and_only_proxied_responses(upstream, sluice_factory):
    """Kong's inbound Via carries the request's protocol version (handler.lua: protocol_version ..
    " " .. SERVER_HEADER): an HTTP/1.0 request goes up with "1.0 sluice/<ver>". A response Sluice
    writes itself (no route) has no Via (header_filter adds it only when ctx.KONG_PROXIED)."""
    s = sluice_factory(kong(service("s", upstream.port, [{"paths": ["/up"]}])))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/up", version="HTTP/1.0"))
        r = c.read_response()
    assert echo_headers(r)["via"] == "1.0 sluice/0.1.0"
    assert r.header_all("Via") == [VIA]
    r = get(s, "/elsewhere")
    assert r.status == 404 and not r.has("Via")


def test_via_on_errors_after_an_upstream_attempt(upstream, sluice_factory):
    """Kong sets ctx.KONG_PROXIED before its balancer runs ("we intent to proxy, though balancer
    may fail on that") and keeps it through the error page, so the 502 of a refused connection
    and the 504 of a timeout get the Via of a proxied response, as they get its latency headers
    (14-server_tokens_spec "should be returned with 502 errors (error_page executing)")."""
    upstream.route("/slow", U.delay(2.0))
    s = sluice_factory(kong(service("dead", closed_port(), [{"paths": ["/dead"]}], retries=0),
                            service("slow", upstream.port, [{"paths": ["/slow"],
                                                             "strip_path": False}],
                                    retries=0, read_timeout=100)))
    for path, code in (("/dead", 502), ("/slow", 504)):
        r = get(s, path)
        assert r.status == code
        assert r.header_all("Via") == [VIA], (path, r.headers)


# ---- 14-upstream-status-header_spec: "X-Kong-Upstream-Status header" ----------------------------


def status_upstream(upstream):
    def h(req, conn):
        code = int(req.path.rsplit("/", 1)[1])
        conn.send(U.response(code, [("Content-Type", "text/plain")], b"status %d" % code))
    upstream.route("/status/", h)
    return kong(service("s", upstream.port, [{"paths": ["/status/200"], "strip_path": False},
                                             {"paths": ["/status/500"], "strip_path": False}]))


def test_upstream_status_with_tokens(upstream, sluice_factory):
    """"should be same as upstream status code" / "when no plugin changes status code"
    (headers = server_tokens,latency_tokens,x-sluice-upstream-status, case-insensitive)."""
    s = sluice_factory(status_upstream(upstream),
                       {"headers": "server_tokens,latency_tokens,x-sluice-upstream-status"})
    for code in (200, 500):
        r = get(s, "/status/%d" % code)
        assert r.status == code
        assert r.header_all("X-Sluice-Upstream-Status") == [str(code)]


def test_upstream_status_not_injected_by_default(upstream, sluice_factory):
    """"is not injected with default configuration"."""
    s = sluice_factory(status_upstream(upstream))
    r = get(s, "/status/200")
    assert r.status == 200 and not r.has("X-Sluice-Upstream-Status")


def test_upstream_status_of_a_failed_attempt(upstream, sluice_factory):
    """Kong's header_filter sets the header for every response of a request it proxied, from
    nginx's $upstream_status: the 502 of a refused connection, the 504 of a timeout."""
    upstream.route("/slow", U.delay(2.0))
    s = sluice_factory(kong(service("dead", closed_port(), [{"paths": ["/dead"]}], retries=1),
                            service("slow", upstream.port, [{"paths": ["/slow"],
                                                             "strip_path": False}],
                                    retries=0, read_timeout=100)),
                       {"headers": "X-Sluice-Upstream-Status"})
    for path, code in (("/dead", 502), ("/slow", 504)):
        r = get(s, path)
        assert r.status == code
        assert r.header_all("X-Sluice-Upstream-Status") == [str(code)], (path, r.headers)


def test_upstream_status_alone_and_not_on_short_circuits(upstream, sluice_factory):
    """"is injected with configuration [headers=X-Kong-Upstream-Status]"; and, as "short-circuited
    requests" ("empty when rejected by authentication plugin"), a response Sluice writes without
    reaching an upstream (no route) has none."""
    s = sluice_factory(status_upstream(upstream), {"headers": "X-Sluice-Upstream-Status"})
    r = get(s, "/status/200")
    assert r.status == 200 and r.header_all("X-Sluice-Upstream-Status") == ["200"]
    r = get(s, "/nowhere")
    assert r.status == 404 and not r.has("X-Sluice-Upstream-Status")


# ---- 27-unbuffered_spec: "HTTP 1.1 Chunked" ----------------------------------------------------

BUFFERING = [("/buffered", True, True), ("/unbuffered", False, False),
             ("/unbuffered-request", False, True), ("/unbuffered-response", True, False)]
CHUNK = b"%x\r\n" % 8192 + bytes(range(256)) * 32 + b"\r\n"  # 640 of them: 5 MiB


@pytest.fixture
def buffering(upstream, sluice_factory):
    upstream.route("/stream", U.chunked_response(8 * 1024 * 1024, chunk=16384))
    return sluice_factory(kong(service("s", upstream.port, [
        {"paths": [p], "request_buffering": rq, "response_buffering": rs}
        for p, rq, rs in BUFFERING])))


@pytest.mark.parametrize("path", [p for p, _, _ in BUFFERING])
def test_chunked_5mb_request_body_on_every_buffering_route(buffering, upstream, path):
    """"request latency" / "is calculated for buffered|unbuffered|unbuffered request|unbuffered
    response": a 5 MiB chunked POST (640 chunks of 8 KiB) gets 200 with the latency header, and
    the upstream gets every byte."""
    with RawConn("127.0.0.1", buffering.port, timeout=30) as c:
        c.send(request_bytes("POST", path + "/post", headers=[
            ("Transfer-Encoding", "chunked"), ("Content-Type", "application/octet-stream")]))
        for _ in range(640):
            c.send(CHUNK)
        c.send(b"0\r\n\r\n")
        r = c.read_response(timeout=30)
    assert r.status == 200
    assert re.fullmatch(r"\d+", r.header("X-Sluice-Proxy-Latency"))
    body = json.loads(r.body)
    data = (bytes(range(256)) * 32) * 640
    assert body["body_len"] == len(data)
    assert body["body_sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("path", [p for p, _, _ in BUFFERING])
def test_streamed_response_on_every_buffering_route(buffering, path):
    """"number of response chunks" / "is calculated for ...": a large chunked response (8 MiB)
    reaches the client whole on every route."""
    with RawConn("127.0.0.1", buffering.port, timeout=30) as c:
        c.send(request_bytes("GET", path + "/stream/1000"))
        r = c.read_response(timeout=30)
    assert r.status == 200 and r.complete
    assert hashlib.sha256(r.body).hexdigest() == U.pattern_sha256(8 * 1024 * 1024)


# ---- 05-dns_spec: "DNS" / "retries" ----------------------------------------------------------


def test_retries_against_a_server_that_drops_every_connection(sluice_factory):
    """"validates the number of retries": a server that accepts and closes every connection, a
    service with retries = 3: the client gets 502 after 1 + 3 connections."""
    tries = []

    def bad(c):
        tries.append(time.monotonic())
        c.close()
    ls = raw_upstream(bad)
    try:
        s = sluice_factory(kong(service("tests-retries", ls.getsockname()[1],
                                        [{"hosts": ["retries.com"]}], retries=3)))
        r = get(s, "/", host="retries.com")
        assert r.status == 502
        time.sleep(0.3)
        assert len(tries) == 4
    finally:
        ls.close()


# ---- 12-error_default_type_spec: "Proxy errors Content-Type" ------------------------------------

XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>%s</message>\n'
       '  <requestid>%s</requestid>\n</error>\n')
HTML = ('<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n'
        '  </head>\n  <body>\n    <h1>Error</h1>\n    <p>%s.</p>\n    <p>request_id: %s</p>\n'
        '  </body>\n</html>\n')
PLAIN = "%s\nrequest_id: %s\n"


def timing_out(upstream, sluice_factory, conf=None):
    """Kong's api-1 (a blackhole host, connect_timeout 1): every GET and HEAD ends in 504. Here the
    upstream answers after 2 s and read_timeout is 100 ms, without retries."""
    upstream.route("/", U.delay(2.0))
    return sluice_factory(kong(service("api-1", upstream.port, routes(methods=["GET", "HEAD"]),
                                       read_timeout=100, retries=0)), conf)


def expect_504(r, template=None, ctype=None):
    assert r.status == 504
    rid = r.header("X-Sluice-Request-Id")
    if template is not None:
        assert r.body.decode() == template % (MSG_504, rid)
    if ctype is not None:
        assert r.header("Content-Type") == ctype + "; charset=utf-8"
    return rid


def test_error_default_type_used_without_accept(upstream, sluice_factory):
    """"set via error_default_type": "no Accept header uses error_default_type" (text/html) and
    "HEAD request does not return a body"."""
    s = timing_out(upstream, sluice_factory, {"error_default_type": "text/html"})
    expect_504(get(s, "/"), HTML, "text/html")
    r = get(s, "/", method="HEAD")
    assert r.status == 504 and r.body == b""
    assert r.header("Content-Type") == "text/html; charset=utf-8"


@pytest.mark.parametrize("value,template,ctype", [
    ("application/json", None, "application/json"),
    ("application/xml", XML, "application/xml"),
    ("text/plain", PLAIN, "text/plain"),
], ids=["json", "xml", "plain"])
def test_error_default_type_values(upstream, sluice_factory, value, template, ctype):
    """Each of Kong's values gives its template when the request has no Accept."""
    s = timing_out(upstream, sluice_factory, {"error_default_type": value})
    r = get(s, "/")
    rid = expect_504(r, template, ctype)
    if template is None:
        assert json.loads(r.body) == {"message": MSG_504, "request_id": rid}


def test_error_default_type_loses_to_accept_and_content_type(upstream, sluice_factory):
    """Kong's error handler takes Accept, else the request's Content-Type, and only then
    error_default_type."""
    s = timing_out(upstream, sluice_factory, {"error_default_type": "text/html"})
    expect_504(get(s, "/", headers=[("Accept", "text/plain")]), PLAIN, "text/plain")
    expect_504(get(s, "/", headers=[("Content-Type", "application/xml")]), XML, "application/xml")


def test_error_default_type_leaves_kong_response_error_json(upstream, sluice_factory):
    """The 404 of no route is kong.response.error's, JSON by default whatever error_default_type
    says (it applies to the pages of kong/error_handlers.lua only)."""
    s = timing_out(upstream, sluice_factory, {"error_default_type": "text/html"})
    r = get(s, "/", method="POST", body=b"x")  # the route takes GET and HEAD only
    assert r.status == 404
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert json.loads(r.body)["message"] == MSG_404


def test_error_default_type_not_set(upstream, sluice_factory):
    """"not set explicitly": "default error_default_type = text/plain", and "Accept header
    modified Content-Type" for text/html, application/json and application/xml."""
    s = timing_out(upstream, sluice_factory)
    expect_504(get(s, "/"), PLAIN, "text/plain")
    expect_504(get(s, "/", headers=[("Accept", "text/html")]), HTML, "text/html")
    r = get(s, "/", headers=[("Accept", "application/json")])
    expect_504(r, None, "application/json")
    assert json.loads(r.body)["message"] == MSG_504
    expect_504(get(s, "/", headers=[("Accept", "application/xml")]), XML, "application/xml")


def test_error_accept_q_values(upstream, sluice_factory):
    """"with q-values": "defaults to 1 when q-value is not specified" and "picks highest q-value
    (json)" (Kong runs them with custom templates; the choice of type is the same)."""
    s = timing_out(upstream, sluice_factory)
    expect_504(get(s, "/", headers=[
        ("Accept", "application/json;q=0.9,text/html,text/plain;q=0.9")]), HTML, "text/html")
    r = get(s, "/", headers=[("Accept", "text/plain;q=0.7,application/json;q=0.8,text/html;q=0.5")])
    expect_504(r, None, "application/json")
    assert json.loads(r.body)["message"] == MSG_504


def test_error_default_type_values_checked(tmp_path):
    """Kong's enum check: anything else is refused with the list of values."""
    out = check_conf(tmp_path, "error_default_type = text/csv\n")
    assert out.returncode != 0
    assert ("error_default_type has an invalid value: 'text/csv' (application/json, "
            "application/xml, text/html, text/plain)") in out.stdout + out.stderr


def test_error_default_type_applied_by_reload(upstream, sluice_factory):
    """A reload applies a new error_default_type to the next request."""
    s = timing_out(upstream, sluice_factory)
    expect_504(get(s, "/"), PLAIN, "text/plain")
    s.write_conf(error_default_type="application/xml")
    s.reload()
    expect_504(get(s, "/"), XML, "application/xml")
