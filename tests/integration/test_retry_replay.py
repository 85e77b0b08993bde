# SPDX-License-Identifier: Apache-2.0
"""Request bodies across retries (kong.md §3.7): a retry replays every request byte the failed
attempt had queued (the head and the body bytes already taken from the client), on every later
attempt too, and a non-idempotent request whose body was partly sent is never retried.

The regression scenario needs an attempt whose connect() fails at once, not through the event loop,
between two attempts that reach the upstream. It runs in a private network namespace
(`unshare --net`, as root): there the service's host name gets two addresses from a stub DNS
server (tests/lib/dnsstub.py), 127.0.0.1 and 192.0.2.1 (TEST-NET-1), and the namespace has no
route but loopback, so connect() to 192.0.2.1 fails at once with ENETUNREACH. Sluice tries the
addresses in turn: 127.0.0.1 (reset mid-body), 192.0.2.1 (fails at once), 127.0.0.1 again. The
machine's own network and /etc/hosts are left untouched. This file is also the program run
inside the namespace (`python3 test_retry_replay.py --in-namespace DIR`)."""

import errno
import hashlib
import json
import os
import shutil
import socket
import subprocess
import struct
import sys
import threading
import time

import pytest

_TESTS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if _TESTS not in sys.path:  # run as a program inside the namespace, without conftest.py
    sys.path.insert(0, _TESTS)

from lib.dnsstub import DNSStub  # noqa: E402
from lib.ports import free_port  # noqa: E402
from lib.rawhttp import RawConn  # noqa: E402
from lib.rawserver import RawServer  # noqa: E402
from lib.sluice import Sluice, kong, service, sluice_bin  # noqa: E402

T = 10
# Streamed bodies: these tests replay what the connection buffer kept of a body still arriving (a
# buffered body is resent from its store: tests/integration/test_request_buffering.py).
STREAMED = [{"paths": ["/"], "strip_path": False, "request_buffering": False}]
HOST_NAME = "retry.sluice.test"
UNROUTABLE = "192.0.2.1"  # TEST-NET-1; the namespace routes nothing but loopback
BODY_LEN = 48 * 1024     # head + body stay under SL_PROXY_REPLAY_MAX (64 KiB): replayable
FIRST_PART = 16 * 1024   # sent before the failure; the rest only after it
RESET_AFTER = 8 * 1024   # body bytes the failing upstream connection reads before its reset


def body_of(n, seed):
    """n deterministic bytes, different for each seed."""
    block = hashlib.sha256(b"retry-replay-%d" % seed).digest()
    return (block * (n // len(block) + 1))[:n]


class FlakyUpstream(RawServer):
    """A raw upstream on 127.0.0.1. Connections for which fail(index) is true read the head and at
    least RESET_AFTER body bytes, then close with a reset and no response; the others read the whole
    request (waiting at most body_wait seconds for its body) and answer 200 with the length and
    SHA-256 of the body bytes they received, then close. Records one dict per connection."""

    def __init__(self, fail, body_wait=2.0):
        self.fail = fail
        self.body_wait = body_wait
        self.resets = threading.Semaphore(0)
        super().__init__(backlog=16)

    def new_record(self, index):
        return {"index": index, "body_len": 0}

    def serve(self, c, rec):
        c.settimeout(T)
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    rec["error"] = "closed before the head"
                    return
                buf += chunk
            head, body = buf.split(b"\r\n\r\n", 1)
            rec["head"] = head.decode("latin-1")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            rec["content_length"] = length
            if self.fail(rec["index"]):
                while len(body) < RESET_AFTER:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                rec["body_len"] = len(body)
                rec["reset"] = True
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                self.resets.release()
                return
            deadline = time.monotonic() + self.body_wait
            while len(body) < length and time.monotonic() < deadline:
                c.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = c.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                body += chunk
            rec["body_len"] = len(body)
            rec["sha256"] = hashlib.sha256(body).hexdigest()
            payload = json.dumps({"body_len": len(body), "sha256": rec["sha256"]}).encode()
            c.settimeout(T)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(payload), payload))
        except OSError as e:
            rec["error"] = repr(e)


def send_in_two_parts(conn, up, method, body, send_rest=True):
    """Sends the head and the first FIRST_PART body bytes, waits for the upstream to reset its
    connection (so those bytes were forwarded before the failure), then the rest of the body.
    Returns the response."""
    conn.send(b"%s /r HTTP/1.1\r\nHost: client.test\r\nContent-Length: %d\r\n\r\n"
              % (method.encode(), len(body)) + body[:FIRST_PART])
    assert up.resets.acquire(timeout=T), "the upstream saw no request to reset"
    time.sleep(0.3)  # let Sluice see the reset and start its retries before the rest comes
    if send_rest:
        conn.send(body[FIRST_PART:])
    return conn.read_response()


def check_full_body(r, body, what):
    """The response (from the upstream that answered) shows the whole body arrived, byte for byte."""
    assert r.status == 200, "%s: status %d: %r" % (what, r.status, r.body[:300])
    got = json.loads(r.body)
    assert got["body_len"] == len(body), \
        "%s: the upstream received %d of %d body bytes (%d lost in the retries)" % (
            what, got["body_len"], len(body), len(body) - got["body_len"])
    assert got["sha256"] == hashlib.sha256(body).hexdigest(), "%s: body corrupted" % what


# ---- without namespaces ------------------------------------------------------------------------

def test_put_body_replayed_on_retry(sluice_factory):
    # The first connection is reset mid-body; the retry (same address, connect completes through
    # the event loop) carries the head and every body byte again.
    up = FlakyUpstream(lambda i: i == 0)
    try:
        s = sluice_factory(kong(service("u", up.port, STREAMED,
                                        retries=2)))
        body = body_of(BODY_LEN, 1)
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            r = send_in_two_parts(c, up, "PUT", body)
        check_full_body(r, body, "PUT")
        assert len(up.conns) == 2, up.conns
        assert up.conns[0]["body_len"] >= RESET_AFTER
    finally:
        up.stop()


def test_post_partly_sent_is_not_retried(sluice_factory):
    # A POST whose body had started to reach the upstream is not idempotent: one attempt, 502.
    up = FlakyUpstream(lambda i: True)
    try:
        s = sluice_factory(kong(service("u", up.port, STREAMED,
                                        retries=3)))
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            r = send_in_two_parts(c, up, "POST", body_of(BODY_LEN, 2), send_rest=False)
        assert r.status == 502, (r.status, r.body[:300])
        time.sleep(0.5)
        assert len(up.conns) == 1, "a partly sent POST was retried: %r" % up.conns
        assert up.conns[0]["body_len"] >= RESET_AFTER
    finally:
        up.stop()


# ---- in a private network namespace ------------------------------------------------------------

def _namespace_unusable():
    """Why the namespace scenario cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root for unshare --net"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return "%s is not installed" % tool
    r = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if r.returncode != 0:
        return "unshare --net failed: %s" % r.stderr.strip()
    return None


def test_retries_replay_body_after_connect_fails_at_once(tmp_path):
    why = _namespace_unusable()
    if why:
        pytest.skip(why)
    env = dict(os.environ, SLUICE_BIN=sluice_bin())
    r = subprocess.run(["unshare", "--net", "--", sys.executable,
                        os.path.abspath(__file__), "--in-namespace", str(tmp_path)],
                       capture_output=True, text=True, timeout=90, env=env)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines, "scenario failed (rc %d)\n--- stdout ---\n%s\n" \
        "--- stderr ---\n%s" % (r.returncode, r.stdout[-4000:], r.stderr[-6000:])
    res = json.loads(lines[-1])
    if "skip" in res:
        pytest.skip(res["skip"])
    assert not res.get("sanitizer"), res["sanitizer"]
    assert not res.get("failure"), "%s\n--- sluice error log ---\n%s\n--- upstream ---\n%s" % (
        res["failure"], res.get("error_log", ""), json.dumps(res.get("conns"), indent=1))


def _setup_namespace():
    """Inside the fresh network namespace: loopback up and no other route; a stub DNS server
    answering HOST_NAME with 127.0.0.1 and UNROUTABLE. Returns (stub, None), or (None, why the
    scenario cannot run)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex((UNROUTABLE, free_port()))
    s.close()
    if err in (0, errno.EINPROGRESS):
        return None, "a non-blocking connect() to %s does not fail at once here (%d)" % (
            UNROUTABLE, err)
    dns = DNSStub().start()
    dns.set_a(HOST_NAME, ["127.0.0.1", UNROUTABLE], ttl=3600)
    return dns, None


def _namespace_scenario(tmpdir):
    dns, why = _setup_namespace()
    if why:
        return {"skip": why}
    # Every even connection is reset mid-body: each request fails once at 127.0.0.1, once at
    # UNROUTABLE (at once), then succeeds at 127.0.0.1.
    up = FlakyUpstream(lambda i: i % 2 == 0)
    doc = kong({"name": "u", "host": HOST_NAME, "port": up.port, "protocol": "http",
                "retries": 5, "routes": STREAMED})
    s = Sluice(tmpdir, doc, conf={"dns_resolver": dns.addr})
    res = {}
    try:
        with RawConn("127.0.0.1", s.port, timeout=T) as c:
            # Two requests on one client connection: the second must replay its own bytes, not
            # anything kept from the first.
            for seed in (3, 4):
                body = body_of(BODY_LEN, seed)
                r = send_in_two_parts(c, up, "PUT", body)
                check_full_body(r, body, "PUT #%d" % (seed - 2))
        if len(up.conns) != 4:
            raise AssertionError("expected 4 upstream connections, saw %d" % len(up.conns))
        log = s.error_log()
        if log.count("connect() failed") < 2:
            raise AssertionError("expected one connect() failure (%s) per request:\n%s" % (
                UNROUTABLE, log))
    except Exception as e:  # reported with the logs by the test in the parent process
        res["failure"] = "%s: %s" % (type(e).__name__, e)
    finally:
        s.stop(timeout=5)
        s.kill()
        up.stop()
        dns.stop()
    res["sanitizer"] = s.sanitizer_report()
    res["error_log"] = s.error_log()[-4000:]
    res["conns"] = [{k: v for k, v in rec.items() if k != "head"} for rec in up.conns]
    return res


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--in-namespace":
        print(json.dumps(_namespace_scenario(sys.argv[2])))
    else:
        sys.exit("usage: %s --in-namespace DIR (inside unshare --net)" % sys.argv[0])
