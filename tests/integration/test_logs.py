# SPDX-License-Identifier: Apache-2.0
"""Access log (combined and json, one line per request, injection-safe) and error log."""

import json
import os
import re
import time

import requests

from lib.ports import closed_port
from lib.rawhttp import RawConn, request_bytes
from lib.sluice import kong, service

T = 5
COMBINED = re.compile(r'^(\S+) - (\S+) \[([^\]]+)\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+) '
                      r'"([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)"(.*)$')


def wait_lines(s, n, timeout=3.0):
    deadline = time.monotonic() + timeout
    lines = s.access_lines()
    while len(lines) < n and time.monotonic() < deadline:
        time.sleep(0.02)
        lines = s.access_lines()
    return lines


def _routes():
    return [{"name": "all", "paths": ["/"], "strip_path": False}]


def test_combined_access_log(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, _routes())),
                       {"proxy_access_log_format": "combined"})
    ids = []
    with requests.Session() as sess:
        for i in range(5):
            r = sess.get(s.url("/log/%d?x=%d" % (i, i)), headers={"Referer": "http://ref/%d" % i,
                                                                  "User-Agent": "ua-%d" % i},
                         timeout=T)
            assert r.status_code == 200
            ids.append((r.headers["X-Sluice-Request-Id"], len(r.content)))
    lines = wait_lines(s, 5)
    assert len(lines) == 5, lines
    for i, line in enumerate(lines):
        m = COMBINED.match(line)
        assert m, line
        assert m.group(1) == "127.0.0.1"
        assert m.group(4) == "GET /log/%d?x=%d HTTP/1.1" % (i, i)
        assert m.group(5) == "200"
        assert int(m.group(6)) == ids[i][1]
        assert m.group(7) == "http://ref/%d" % i
        assert m.group(8) == "ua-%d" % i
        assert ids[i][0] in m.group(9)


def test_json_access_log(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, _routes())),
                       {"proxy_access_log_format": "json"})
    r1 = requests.post(s.url("/j/1"), data=b"12345", timeout=T)
    r2 = requests.get(s.url("/j/2"), headers={"Host": "nomatch.test"}, timeout=T)
    lines = wait_lines(s, 2)
    assert len(lines) == 2, lines
    a, b = (json.loads(l) for l in lines)
    assert a["method"] == "POST" and a["uri"] == "/j/1" and a["status"] == 200
    assert a["request_id"] == r1.headers["X-Sluice-Request-Id"]
    assert a["client_ip"] == "127.0.0.1"
    assert b["status"] == r2.status_code
    assert b["request_id"] == r2.headers["X-Sluice-Request-Id"]


def test_generated_responses_are_logged(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/only"]}]),
                            service("dead", closed_port(), [{"paths": ["/dead"]}], retries=0)))
    assert requests.get(s.url("/nope"), timeout=T).status_code == 404
    assert requests.get(s.url("/dead"), timeout=T).status_code == 502
    lines = wait_lines(s, 2)
    assert len(lines) == 2
    assert '"GET /nope HTTP/1.1" 404 ' in lines[0]
    assert '"GET /dead HTTP/1.1" 502 ' in lines[1]


def test_access_log_injection_escaped(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, _routes())))
    evil_ua = 'x" 200 0 "-" "forged'
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/inj", headers=[("User-Agent", evil_ua),
                                                      ("Referer", "a\xffb")]))
        assert c.read_response().status == 200
    lines = wait_lines(s, 1)
    assert len(lines) == 1
    m = COMBINED.match(lines[0])
    assert m, lines[0]
    assert m.group(8) != "forged" and "forged" in m.group(8)
    assert '\\"' in lines[0] or "\\x22" in lines[0]


def test_access_log_json_injection_valid(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, _routes())),
                       {"proxy_access_log_format": "json"})
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(request_bytes("GET", "/inj", headers=[("User-Agent", 'q"}\\,{"a":1')]))
        assert c.read_response().status == 200
    lines = wait_lines(s, 1)
    assert len(lines) == 1
    assert json.loads(lines[0])["user_agent"] == 'q"}\\,{"a":1'


def test_access_log_json_keeps_utf8_and_escapes_other_bytes(upstream, sluice_factory):
    """Valid UTF-8 in a logged field reads back as the same text (nginx's escape=json keeps high
    bytes); a byte that is not part of a valid sequence becomes \\u00XX, so every line is valid
    UTF-8 JSON. The combined format escapes every high byte as \\xXX, as nginx's default."""
    ua = "café ☕ 𝄞".encode() + b" \xff \xed\xa0\x80 \xc0\xaf end"  # stray, surrogate, overlong
    raw = b"GET /utf HTTP/1.1\r\nHost: h\r\nUser-Agent: " + ua + b"\r\n\r\n"
    for fmt in ("json", "combined"):
        s = sluice_factory(kong(service("e", upstream.port, _routes())),
                           {"proxy_access_log_format": fmt})
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            c.send(raw)
            assert c.read_response().status == 200
        wait_lines(s, 1)
        with open(s.access_log_path, "rb") as f:
            line = f.read().splitlines()[0]
        text = line.decode("utf-8")  # strict: the line is valid UTF-8
        if fmt == "json":
            assert json.loads(text)["user_agent"] == (
                "café ☕ 𝄞 \u00ff \u00ed\u00a0\u0080 \u00c0\u00af end")
        else:
            assert "caf\\xC3\\xA9 \\xE2\\x98\\x95" in text and "\\xFF" in text


def test_access_log_off(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, _routes())), {"proxy_access_log": "off"})
    assert requests.get(s.url("/x"), timeout=T).status_code == 200
    default = os.path.join(s.prefix, "logs", "access.log")
    time.sleep(0.2)
    assert not os.path.exists(default) or os.path.getsize(default) == 0


def test_access_log_many_requests_one_line_each(upstream, sluice_factory):
    s = sluice_factory(kong(service("e", upstream.port, _routes())))
    with requests.Session() as sess:
        for i in range(100):
            assert sess.get(s.url("/n/%d" % i), timeout=T).status_code == 200
    lines = wait_lines(s, 100)
    assert len(lines) == 100
    assert all(COMBINED.match(l) for l in lines)


def test_error_log_exists_and_records_upstream_failure(sluice_factory):
    s = sluice_factory(kong(service("dead", closed_port(), [{"paths": ["/"]}], retries=0)))
    assert os.path.exists(s.error_log_path)
    # The "started" line is written just after the listeners open, which is when the factory
    # returns: a slow start (ASan, a loaded machine) may still be writing it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "started" not in s.error_log():
        time.sleep(0.05)
    before = s.error_log()
    assert "started" in before, "no start line in the error log: %r" % before
    assert requests.get(s.url("/x"), timeout=T).status_code == 502
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(s.error_log()) == len(before):
        time.sleep(0.05)
    after = s.error_log()
    assert len(after) > len(before), "no error log line for a refused upstream"
    assert re.search(r"\[(error|warn|crit)\]", after[len(before):]), after[len(before):]


def test_access_log_names_the_client_after_real_ip(upstream, sluice_factory):
    """nginx and Kong log $remote_addr, the address after real-IP processing: a trusted peer's
    real_ip_header names the client, for proxied and generated responses alike."""
    s = sluice_factory(kong(service("e", upstream.port, [{"paths": ["/in"]}])),
                       {"trusted_ips": "127.0.0.1", "real_ip_header": "X-Forwarded-For",
                        "proxy_access_log_format": "json"})
    r1 = requests.get(s.url("/in"), headers={"X-Forwarded-For": "5.6.7.8"}, timeout=T)
    r2 = requests.get(s.url("/none"), headers={"X-Forwarded-For": "5.6.7.9"}, timeout=T)
    assert (r1.status_code, r2.status_code) == (200, 404)
    assert upstream.last().header("X-Real-IP") == "5.6.7.8"
    lines = wait_lines(s, 2)
    assert [json.loads(l)["client_ip"] for l in lines] == ["5.6.7.8", "5.6.7.9"], lines


def test_rejected_request_is_logged_with_its_request_line(upstream, sluice_factory):
    """A head the parser refuses is logged with the request line it carried (nginx logs $request
    for a 400 too) and leaves an info line in the error log."""
    s = sluice_factory(kong(service("e", upstream.port, _routes())))
    with RawConn("127.0.0.1", s.port, timeout=T) as c:
        c.send(b"POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert c.read_response().status == 400
    lines = wait_lines(s, 1)
    assert len(lines) == 1 and '"POST /smuggle HTTP/1.1" 400 ' in lines[0], lines
    deadline = time.monotonic() + 2
    while "sent an invalid request head: answered 400" not in s.error_log():
        assert time.monotonic() < deadline, s.error_log()
        time.sleep(0.05)
