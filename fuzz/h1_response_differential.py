#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Differential check of how Sluice and nginx 1.22 (what Kong runs on) handle odd UPSTREAM
RESPONSES. Not part of `make test`: it needs Debian's /usr/sbin/nginx and takes a few minutes.

A scripted raw upstream answers each case with exact bytes, then keeps or closes the connection
as the case says. The same request goes through three proxies in front of it:

  ng-off  nginx, proxy_pass to an upstream{} with keepalive, proxy_http_version 1.1,
          proxy_set_header Connection "", proxy_buffering off
  ng-on   the same with proxy_buffering on (Kong's default)
  sluice  Sluice, database = off, one service to the upstream, route paths ["/"]

For each (case, method) and each proxy it records what the client gets: the status, the body
bytes, whether the response is cleanly framed or aborted, bytes after it on the client connection,
whether a probe request sent next on the same client connection gets its own answer, and whether
the upstream connection of the case is reused for that probe. Then it compares Sluice with
nginx and sorts the differences:

  (a) Sluice may desync: bytes after the response, a wrong probe answer, or an upstream
      connection reused after a response whose framing was ambiguous or that left bytes behind
  (b) Sluice answers 502 (or aborts the body) where nginx passes the response through cleanly
  (c) Sluice passes what nginx refuses with 502
  (d) another difference (body, clean/aborted, reuse, forwarded X- headers)

Usage (from the repository root):
  /usr/bin/python3 fuzz/h1_response_differential.py [--sluice build/sluice] [--case SUBSTR ...]
        [--json out.json] [--all] [--nginx /usr/sbin/nginx] [--workdir /tmp/h1-respdiff]
--all prints every case, not only the differing ones. The exit status is 1 when a class (a)
difference or a desync of Sluice was found, else 0. Nothing outside --workdir is touched: nginx
runs from its own config with its own prefix, pid, temp paths and logs.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))

from lib.sluice import Sluice, kong, service  # noqa: E402
from lib.ports import free_port  # noqa: E402

READ_TIMEOUT = 1.0  # the proxies' upstream read timeout, seconds
CLIENT_WAIT = 3.5  # how long the client waits for a response
AFTER_WAIT = 0.25  # how long the client waits for stray bytes after a complete response
PROBE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Probe: 1\r\n\r\nprobe"

# ---- cases -------------------------------------------------------------------------------------
#
# A case: (id, method, actions, after, note). actions: bytes to send, or ("sleep", s), ("close",)
# or ("reset",). after: "keep" (serve the next request on the connection) or "close". Flags in
# note: "ambig" marks a response whose framing is ambiguous or that leaves bytes on the upstream
# connection (reusing that connection is a class (a) finding).

CRLF = b"\r\n"
OK = b"Content-Length: 5\r\n\r\nhello"
SMUG = b"HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 0\r\n\r\n"


def h11(*lines, body=b"hello", status=b"200 OK", version=b"HTTP/1.1"):
    """A response with the given header lines (bytes, without CRLF) and a CRLF-terminated head."""
    return version + b" " + status + CRLF + b"".join(ln + CRLF for ln in lines) + CRLF + body


def chunked(*chunks_raw):
    """A chunked 200 whose body bytes are given raw (already chunk-coded)."""
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(chunks_raw)


CASES = []


def case(cid, actions, after="keep", method="GET", note=""):
    if isinstance(actions, bytes):
        actions = [actions]
    CASES.append((cid, method, actions, after, note))


# status lines
case("baseline", h11(b"Content-Length: 5"))
case("status-http10", h11(b"Content-Length: 5", version=b"HTTP/1.0"))
case("status-http10-ka", h11(b"Content-Length: 5", b"Connection: keep-alive", version=b"HTTP/1.0"))
case("status-http10-close", h11(b"Content-Length: 5", version=b"HTTP/1.0"), after="close")
case("status-http12", h11(b"Content-Length: 5", version=b"HTTP/1.2"))
case("status-http20", h11(b"Content-Length: 5", version=b"HTTP/2.0"))
case("status-http09", h11(b"Content-Length: 5", version=b"HTTP/0.9"))
case("status-lower-proto", h11(b"Content-Length: 5", version=b"http/1.1"))
case("status-no-reason", h11(b"Content-Length: 5", status=b"200"))
case("status-no-reason-sp", h11(b"Content-Length: 5", status=b"200 "))
case("status-reason-utf8", h11(b"Content-Length: 5", status="200 Größe".encode()))
case("status-reason-tab", h11(b"Content-Length: 5", status=b"200 O\tK"))
case("status-reason-ctl", h11(b"Content-Length: 5", status=b"200 O\x01K"))
case("status-reason-nul", h11(b"Content-Length: 5", status=b"200 O\x00K"))
case("status-reason-del", h11(b"Content-Length: 5", status=b"200 O\x7fK"))
case("status-two-sp", h11(b"Content-Length: 5", status=b" 200 OK"))
case("status-tab-sep", b"HTTP/1.1\t200 OK\r\nContent-Length: 5\r\n\r\nhello")
case("status-2-digits", h11(b"Content-Length: 5", status=b"20 OK"))
case("status-4-digits", h11(b"Content-Length: 5", status=b"2000 OK"))
case("status-099", h11(b"Content-Length: 5", status=b"099 Low"))
case("status-letters", h11(b"Content-Length: 5", status=b"2x0 OK"))
for code in (b"201 Created", b"299 X", b"302 Found", b"399 X", b"404 Not Found", b"499 X",
             b"500 Internal", b"503 Busy", b"599 X", b"600 X", b"699 X", b"999 X"):
    case("status-" + code[:3].decode(), h11(b"Content-Length: 5", status=code))
case("status-leading-crlf", CRLF + h11(b"Content-Length: 5"))
case("status-leading-sp", b" " + h11(b"Content-Length: 5"))
case("status-garbage", b"garbage\r\n\r\n", after="close")
case("status-http09-body", b"hello world", after="close")

# interim responses
case("1xx-100", b"HTTP/1.1 100 Continue\r\n\r\n" + h11(b"Content-Length: 5"))
case("1xx-102", b"HTTP/1.1 102 Processing\r\n\r\n" + h11(b"Content-Length: 5"))
case("1xx-103", b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" +
     h11(b"Content-Length: 5"))
case("1xx-100-x3", b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + h11(b"Content-Length: 5"))
case("1xx-102-103-100", b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
     b"Link: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" + h11(b"Content-Length: 5"))
case("1xx-100-delayed", [b"HTTP/1.1 100 Continue\r\n\r\n", ("sleep", 0.2),
                         h11(b"Content-Length: 5")])
case("1xx-150", b"HTTP/1.1 150 Custom\r\n\r\n" + h11(b"Content-Length: 5"))
case("1xx-199", b"HTTP/1.1 199 Custom\r\nX-A: 1\r\n\r\n" + h11(b"Content-Length: 5"))
case("1xx-100-http10", b"HTTP/1.0 100 Continue\r\n\r\n" + h11(b"Content-Length: 5"))
case("1xx-100-with-cl", b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n" +
     h11(b"Content-Length: 5"), note="ambig")
case("1xx-103-with-te", b"HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n" +
     h11(b"Content-Length: 5"), note="ambig")
case("1xx-100-only-close", b"HTTP/1.1 100 Continue\r\n\r\n", after="close")
case("1xx-100-x50", b"HTTP/1.1 100 Continue\r\n\r\n" * 50 + h11(b"Content-Length: 5"))
case("1xx-101-unasked", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
     b"Connection: Upgrade\r\n\r\n" + SMUG, note="ambig")
case("1xx-100-lf", b"HTTP/1.1 100 Continue\n\n" + h11(b"Content-Length: 5"))

# line endings
case("lf-all", b"HTTP/1.1 200 OK\nContent-Length: 5\nX-A: a\n\nhello")
case("lf-all-http10-close", b"HTTP/1.0 200 OK\nContent-Type: text/plain\n\nhello", after="close")
case("lf-status-only", b"HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\nhello")
case("lf-one-header", b"HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 5\r\n\r\nhello")
case("lf-end-only", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\nhello")
case("lf-end-lf-crlf", b"HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello")
case("lf-cgi-style", b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n"
     b"Content-Type: text/html\n\nhello")
case("lf-chunked-head", b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\n\r\n")
case("lf-te-cl", b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5\n\n"
     b"5\r\nhello\r\n0\r\n\r\n", note="ambig")
case("lf-head-cl", b"HTTP/1.1 200 OK\nContent-Length: 5\n\n", method="HEAD")
case("cr-bare-in-value", h11(b"X-A: a\rb", b"Content-Length: 5"))
case("cr-bare-as-eol", b"HTTP/1.1 200 OK\rContent-Length: 5\r\n\r\nhello")
case("cr-cr-lf", b"HTTP/1.1 200 OK\r\r\nContent-Length: 5\r\n\r\nhello")
case("lf-then-cr-value", b"HTTP/1.1 200 OK\nX-A: a\r\rContent-Length: 5\n\nhello")

# header syntax
case("obs-fold", h11(b"X-A: a", b" b", b"Content-Length: 5"))
case("obs-fold-tab", h11(b"X-A: a", b"\tb", b"Content-Length: 5"))
case("obs-fold-first", h11(b" X-A: a", b"Content-Length: 5"))
case("obs-fold-cl", h11(b"X-A: a", b" Content-Length: 99", b"Content-Length: 5"), note="ambig")
case("no-colon", h11(b"X-A b", b"Content-Length: 5"))
case("sp-before-colon", h11(b"X-A : b", b"Content-Length: 5"))
case("tab-before-colon", h11(b"X-A\t: b", b"Content-Length: 5"))
case("sp-before-colon-cl", h11(b"Content-Length : 5"), note="ambig")
case("sp-before-colon-te", h11(b"Transfer-Encoding : chunked", b"Content-Length: 5"), note="ambig")
case("empty-name", h11(b": b", b"Content-Length: 5"))
case("name-at", h11(b"X@A: b", b"Content-Length: 5"))
case("name-sp-inside", h11(b"X A: b", b"Content-Length: 5"))
case("name-high-byte", h11(b"X-\xe9: b", b"Content-Length: 5"))
case("name-underscore", h11(b"X_A: b", b"Content-Length: 5"))
case("name-underscore-te", h11(b"Transfer_Encoding: chunked", b"Content-Length: 5"))
case("name-dot", h11(b"X.A: b", b"Content-Length: 5"))
case("value-nul", h11(b"X-A: a\x00b", b"Content-Length: 5"))
case("value-ctl-01", h11(b"X-A: a\x01b", b"Content-Length: 5"))
case("value-ctl-1f", h11(b"X-A: a\x1fb", b"Content-Length: 5"))
case("value-del", h11(b"X-A: a\x7fb", b"Content-Length: 5"))
case("value-high", h11("X-A: ä€".encode(), b"Content-Length: 5"))
case("value-latin1", h11(b"X-A: caf\xe9", b"Content-Length: 5"))
case("value-tab-inside", h11(b"X-A: a\tb", b"Content-Length: 5"))
case("value-ows", h11(b"X-A: \t a b \t", b"Content-Length: 5"))
case("value-empty", h11(b"X-A:", b"Content-Length: 5"))
case("value-vt", h11(b"X-A: a\x0bb", b"Content-Length: 5"))

# Content-Length
case("cl-dup-same", h11(b"Content-Length: 5", b"Content-Length: 5"))
case("cl-dup-diff", h11(b"Content-Length: 5", b"Content-Length: 7", body=b"hello!!"), note="ambig")
case("cl-dup-diff-rev", h11(b"Content-Length: 7", b"Content-Length: 5", body=b"hello!!"),
     note="ambig")
case("cl-list-same", h11(b"Content-Length: 5, 5"))
case("cl-list-1-1", h11(b"Content-Length: 1, 1", body=b"h"))
case("cl-list-diff", h11(b"Content-Length: 5, 7", body=b"hello!!"), note="ambig")
case("cl-leading-zeros", h11(b"Content-Length: 005"))
case("cl-plus", h11(b"Content-Length: +5"))
case("cl-minus", h11(b"Content-Length: -5"), after="close")
case("cl-hex", h11(b"Content-Length: 0x5"))
case("cl-sp-inside", h11(b"Content-Length: 5 5"), note="ambig")
case("cl-empty", h11(b"Content-Length:"), after="close")
case("cl-ows", h11(b"Content-Length: \t5 \t"))
case("cl-huge", h11(b"Content-Length: 99999999999999999999"), after="close")
case("cl-2^63", h11(b"Content-Length: 9223372036854775808"), after="close")
case("cl-zero-body", h11(b"Content-Length: 0", body=b"") + SMUG, note="ambig")
case("cl-zero", h11(b"Content-Length: 0", body=b""))

# Transfer-Encoding
case("te-cl", h11(b"Transfer-Encoding: chunked", b"Content-Length: 5",
                  body=b"5\r\nhello\r\n0\r\n\r\n"), note="ambig")
case("cl-te", h11(b"Content-Length: 5", b"Transfer-Encoding: chunked",
                  body=b"5\r\nhello\r\n0\r\n\r\n"), note="ambig")
case("te-cl-0-smuggle", h11(b"Transfer-Encoding: chunked", b"Content-Length: 0",
                            body=b"0\r\n\r\n" + SMUG), note="ambig")
case("te-gzip-close", h11(b"Transfer-Encoding: gzip", body=b"hello"), after="close")
case("te-gzip-keep", h11(b"Transfer-Encoding: gzip", body=b"hello"), note="ambig")
case("te-identity-close", h11(b"Transfer-Encoding: identity", body=b"hello"), after="close")
case("te-identity-cl", h11(b"Transfer-Encoding: identity", b"Content-Length: 5"))
case("te-chunked-upper", h11(b"Transfer-Encoding: CHUNKED", body=b"5\r\nhello\r\n0\r\n\r\n"))
case("te-chunked-mixed", h11(b"Transfer-Encoding: ChUnKeD", body=b"5\r\nhello\r\n0\r\n\r\n"))
case("te-chunked-ows", h11(b"Transfer-Encoding:   chunked  ", body=b"5\r\nhello\r\n0\r\n\r\n"))
case("te-chunked-tab", h11(b"Transfer-Encoding:\tchunked", body=b"5\r\nhello\r\n0\r\n\r\n"))
case("te-chunked-vt", h11(b"Transfer-Encoding: \x0bchunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
     note="ambig")
case("te-chunked-list-twice", h11(b"Transfer-Encoding: chunked, chunked",
                                  body=b"5\r\nhello\r\n0\r\n\r\n"), note="ambig")
case("te-two-headers", h11(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked",
                           body=b"5\r\nhello\r\n0\r\n\r\n"), note="ambig")
case("te-gzip-chunked", h11(b"Transfer-Encoding: gzip, chunked", body=b"5\r\nhello\r\n0\r\n\r\n"))
case("te-chunked-gzip", h11(b"Transfer-Encoding: chunked, gzip", body=b"5\r\nhello\r\n0\r\n\r\n"),
     after="close", note="ambig")
case("te-comma-chunked", h11(b"Transfer-Encoding: ,chunked", body=b"5\r\nhello\r\n0\r\n\r\n"))
case("te-xchunked", h11(b"Transfer-Encoding: xchunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
     after="close", note="ambig")
case("te-empty", h11(b"Transfer-Encoding:", b"Content-Length: 5"))
case("te-http10", h11(b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n",
                      version=b"HTTP/1.0"), note="ambig")
case("te-http10-close", h11(b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n",
                            version=b"HTTP/1.0"), after="close")
case("te-http10-ka", h11(b"Transfer-Encoding: chunked", b"Connection: keep-alive",
                         body=b"5\r\nhello\r\n0\r\n\r\n", version=b"HTTP/1.0"), note="ambig")
case("te-http10-cl", h11(b"Transfer-Encoding: chunked", b"Content-Length: 5",
                         body=b"5\r\nhello\r\n0\r\n\r\n", version=b"HTTP/1.0"), note="ambig")

# chunked bodies
case("ch-baseline", chunked(b"5\r\nhello\r\n0\r\n\r\n"))
case("ch-leading-zeros", chunked(b"0005\r\nhello\r\n000\r\n\r\n"))
case("ch-upper-hex", chunked(b"A\r\n0123456789\r\n0\r\n\r\n"))
case("ch-lower-hex", chunked(b"a\r\n0123456789\r\n0\r\n\r\n"))
case("ch-17-digits", chunked(b"00000000000000005\r\nhello\r\n0\r\n\r\n"))
case("ch-ext", chunked(b"5;foo=bar\r\nhello\r\n0\r\n\r\n"))
case("ch-ext-quoted", chunked(b"5;foo=\"b r\"\r\nhello\r\n0\r\n\r\n"))
case("ch-ext-bws", chunked(b"5 ; foo = bar\r\nhello\r\n0\r\n\r\n"))
case("ch-ext-bare", chunked(b"5;\r\nhello\r\n0\r\n\r\n"))
case("ch-ext-last", chunked(b"5\r\nhello\r\n0;x=y\r\n\r\n"))
case("ch-size-trailing-sp", chunked(b"5 \r\nhello\r\n0\r\n\r\n"))
case("ch-size-leading-sp", chunked(b" 5\r\nhello\r\n0\r\n\r\n"))
case("ch-size-0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"))
case("ch-size-plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n"))
case("ch-bare-lf-size", chunked(b"5\nhello\r\n0\r\n\r\n"))
case("ch-bare-lf-all", chunked(b"5\nhello\n0\n\n"))
case("ch-bare-lf-data", chunked(b"5\r\nhello\n0\r\n\r\n"))
case("ch-bare-lf-end", chunked(b"5\r\nhello\r\n0\r\n\n"))
case("ch-missing-final-crlf", chunked(b"5\r\nhello\r\n0\r\n"))
case("ch-missing-final-crlf-close", chunked(b"5\r\nhello\r\n0\r\n"), after="close")
case("ch-missing-last-chunk-close", chunked(b"5\r\nhello\r\n"), after="close")
case("ch-trailers", chunked(b"5\r\nhello\r\n0\r\nX-T: v\r\nX-U: w\r\n\r\n"))
case("ch-trailer-cl", chunked(b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n"))
case("ch-trailer-obs-fold", chunked(b"5\r\nhello\r\n0\r\nX-T: v\r\n w\r\n\r\n"))
case("ch-trailer-lf", chunked(b"5\r\nhello\r\n0\r\nX-T: v\n\r\n"))
case("ch-data-too-long", chunked(b"5\r\nhelloXX\r\n0\r\n\r\n"), note="ambig")
# one byte short, the last being CR: read as "hell\r" + a bare LF line end by nginx and Sluice; the
# message still ends where the upstream ended it, so reusing the connection is safe
case("ch-data-too-short", chunked(b"5\r\nhell\r\n0\r\n\r\n"))
case("ch-data-short-2", chunked(b"5\r\nhel\r\n0\r\n\r\n"), note="ambig")
case("ch-after-end-smuggle", chunked(b"5\r\nhello\r\n0\r\n\r\n" + SMUG), note="ambig")
case("ch-after-end-crlf", chunked(b"5\r\nhello\r\n0\r\n\r\n\r\n"), note="ambig")
case("ch-split-slow", [chunked(b"5\r\nhe"), ("sleep", 0.1), b"llo\r\n", ("sleep", 0.1),
                       b"0\r\n", ("sleep", 0.1), b"\r\n"])
case("ch-empty-body", chunked(b"0\r\n\r\n"))
case("ch-big-chunk", chunked(b"10000\r\n" + b"x" * 65536 + b"\r\n0\r\n\r\n"))

# body length against Content-Length, and no framing
case("cl-longer-keep", h11(b"Content-Length: 2", body=b"hello"), note="ambig")
case("cl-longer-smuggle", h11(b"Content-Length: 5") + SMUG, note="ambig")
case("cl-longer-delayed", [h11(b"Content-Length: 5"), ("sleep", 0.1), SMUG], note="ambig")
case("cl-longer-close", h11(b"Content-Length: 2", body=b"hello"), after="close")
case("cl-shorter-close", h11(b"Content-Length: 9", body=b"hello"), after="close")
case("cl-shorter-keep", h11(b"Content-Length: 9", body=b"hello"))
case("noframe-close", h11(b"X-A: a", body=b"hello"), after="close")
case("noframe-keep", h11(b"X-A: a", body=b"hello"))
case("noframe-ka-close", h11(b"Connection: keep-alive", body=b"hello"), after="close")
case("noframe-http10-close", h11(b"X-A: a", body=b"hello", version=b"HTTP/1.0"), after="close")
case("noframe-reset", [h11(b"X-A: a", body=b"hello"), ("sleep", 0.1), ("reset",)])
case("noframe-empty-close", h11(b"X-A: a", body=b""), after="close")

# bodyless statuses and HEAD
case("204-plain", h11(body=b"", status=b"204 No Content"))
case("204-body", h11(body=b"hello", status=b"204 No Content"), note="ambig")
case("204-cl", h11(b"Content-Length: 5", body=b"", status=b"204 No Content"))
case("204-cl-body", h11(b"Content-Length: 5", status=b"204 No Content"), note="ambig")
case("204-cl0", h11(b"Content-Length: 0", body=b"", status=b"204 No Content"))
case("204-te", h11(b"Transfer-Encoding: chunked", body=b"", status=b"204 No Content"))
case("204-te-body", h11(b"Transfer-Encoding: chunked", body=b"0\r\n\r\n", status=b"204 No Content"),
     note="ambig")
case("205-cl", h11(b"Content-Length: 5", status=b"205 Reset Content"))
case("304-plain", h11(b"ETag: \"x\"", body=b"", status=b"304 Not Modified"))
case("304-cl", h11(b"Content-Length: 5", body=b"", status=b"304 Not Modified"))
case("304-cl-body", h11(b"Content-Length: 5", status=b"304 Not Modified"), note="ambig")
case("304-te", h11(b"Transfer-Encoding: chunked", body=b"", status=b"304 Not Modified"))
case("head-cl", h11(b"Content-Length: 5", body=b""), method="HEAD")
case("head-cl0", h11(b"Content-Length: 0", body=b""), method="HEAD")
case("head-cl-body", h11(b"Content-Length: 5"), method="HEAD", note="ambig")
case("head-te", h11(b"Transfer-Encoding: chunked", body=b""), method="HEAD")
case("head-te-body", h11(b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
     method="HEAD", note="ambig")
case("head-noframe", h11(b"X-A: a", body=b""), method="HEAD")
case("head-noframe-close", h11(b"X-A: a", body=b""), method="HEAD", after="close")
case("head-cl-dup", h11(b"Content-Length: 5", b"Content-Length: 5", body=b""), method="HEAD")
case("head-te-cl", h11(b"Transfer-Encoding: chunked", b"Content-Length: 5", body=b""),
     method="HEAD", note="ambig")
case("head-cl-lf", b"HTTP/1.1 200 OK\nContent-Length: 5\n\n", method="HEAD")
case("head-404-cl", h11(b"Content-Length: 5", body=b"", status=b"404 Not Found"), method="HEAD")

# sizes
case("hdr-line-4k", h11(b"X-A: " + b"a" * 4090, b"Content-Length: 5"))
case("hdr-line-8k", h11(b"X-A: " + b"a" * 8180, b"Content-Length: 5"))
case("hdr-line-16k", h11(b"X-A: " + b"a" * 16380, b"Content-Length: 5"))
case("hdr-line-70k", h11(b"X-A: " + b"a" * 70000, b"Content-Length: 5"))
case("status-line-8k", h11(b"Content-Length: 5", status=b"200 " + b"r" * 8200))
case("hdrs-100", h11(*[b"X-H%d: v" % i for i in range(100)], b"Content-Length: 5"))
case("hdrs-200", h11(*[b"X-H%d: v" % i for i in range(200)], b"Content-Length: 5"))
case("hdrs-1001", h11(*[b"X-H%d: v" % i for i in range(1001)], b"Content-Length: 5"))
case("set-cookie-20", h11(*[b"Set-Cookie: c%d=v; Path=/" % i for i in range(20)],
                         b"Content-Length: 5"))
case("set-cookie-150", h11(*[b"Set-Cookie: c%d=v; Path=/" % i for i in range(150)],
                          b"Content-Length: 5"))
case("head-total-3k", h11(*[b"X-H%d: %s" % (i, b"v" * 100) for i in range(28)],
                          b"Content-Length: 5"))
case("head-total-6k", h11(*[b"X-H%d: %s" % (i, b"v" * 100) for i in range(58)],
                          b"Content-Length: 5"))

# Connection and hop-by-hop
case("conn-close-keepsock", h11(b"Content-Length: 5", b"Connection: close"), note="ambig")
case("conn-close", h11(b"Content-Length: 5", b"Connection: close"), after="close")
case("conn-close-upper", h11(b"Content-Length: 5", b"Connection: CLOSE"), note="ambig")
case("conn-ka-close-list", h11(b"Content-Length: 5", b"Connection: keep-alive, close"),
     note="ambig")
case("conn-two-headers", h11(b"Content-Length: 5", b"Connection: keep-alive",
                             b"Connection: close"), note="ambig")
case("conn-keep-alive-11", h11(b"Content-Length: 5", b"Connection: keep-alive",
                               b"Keep-Alive: timeout=5, max=100"))
case("conn-upgrade-200", h11(b"Content-Length: 5", b"Connection: upgrade", b"Upgrade: h2c"))
case("conn-names-header", h11(b"Content-Length: 5", b"Connection: X-A", b"X-A: secret",
                              b"X-B: b"))
case("conn-names-cl", h11(b"Content-Length: 5", b"Connection: Content-Length"))
case("conn-http10-none", h11(b"Content-Length: 5", version=b"HTTP/1.0"), note="ambig")
case("conn-proxy-connection", h11(b"Content-Length: 5", b"Proxy-Connection: keep-alive"))
case("conn-trailer-hdr", h11(b"Content-Length: 5", b"Trailer: X-T"))


# ---- the raw upstream --------------------------------------------------------------------------

class Upstream:
    """Accepts connections and serves requests on each: /case/<id>/... gets the case's bytes,
    anything else the probe response. Records (connection id, method, path) per request."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(128)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = {}
        self.log = []
        self.next_id = 0
        self.cases = {c[0]: c for c in CASES}
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                self.next_id += 1
                cid = self.next_id
                self.conns[cid] = s
            threading.Thread(target=self._serve, args=(s, cid), daemon=True).start()

    def _drop(self, s, cid, reset=False):
        with self.lock:
            self.conns.pop(cid, None)
        try:
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass

    def _serve(self, s, cid):
        buf = b""
        s.settimeout(30)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = s.recv(65536)
                    if not d:
                        self._drop(s, cid)
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                parts = head.split(b"\r\n", 1)[0].split(b" ")
                method, target = parts[0].decode(), parts[1].decode()
                with self.lock:
                    self.log.append((cid, method, target))
                seg = target.split("/")
                c = self.cases.get(seg[2]) if len(seg) > 2 and seg[1] == "case" else None
                if c is None:
                    s.sendall(PROBE)
                    continue
                for a in c[2]:
                    if isinstance(a, bytes):
                        s.sendall(a)
                    elif a[0] == "sleep":
                        time.sleep(a[1])
                    elif a[0] == "close":
                        self._drop(s, cid)
                        return
                    elif a[0] == "reset":
                        self._drop(s, cid, reset=True)
                        return
                if c[3] == "close":
                    self._drop(s, cid)
                    return
        except OSError:
            self._drop(s, cid)

    def reset(self):
        """Closes every connection (the proxies drop their idle pooled ones) and clears the log."""
        with self.lock:
            conns = list(self.conns.items())
            self.conns.clear()
            self.log = []
        for _, s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        time.sleep(0.05)

    def requests(self):
        with self.lock:
            return list(self.log)

    def stop(self):
        self.ls.close()
        self.reset()


# ---- the client: a lenient reader of what the proxy sends --------------------------------------

def parse_response(buf, head_request, eof):
    """One response at the start of buf. Returns None (need more) or a dict: status, reason,
    headers [(name, value)], body, framing (length/chunked/close/none), complete, end."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        if eof and buf:
            return {"status": None, "garbage": bytes(buf[:80]), "complete": False, "end": len(buf),
                    "headers": [], "body": b"", "framing": "garbage"}
        return None
    lines = buf[:i].split(b"\r\n")
    sl = lines[0].split(b" ", 2)
    try:
        status = int(sl[1])
    except (IndexError, ValueError):
        return {"status": None, "garbage": bytes(buf[:80]), "complete": False, "end": len(buf),
                "headers": [], "body": b"", "framing": "garbage"}
    headers = []
    for ln in lines[1:]:
        n, _, v = ln.partition(b":")
        headers.append((n.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
    low = {}
    for n, v in headers:
        low.setdefault(n.lower(), []).append(v)
    p = i + 4
    r = {"status": status, "reason": sl[2] if len(sl) > 2 else b"", "headers": headers}
    if head_request or status < 200 or status in (204, 304):
        r.update(body=b"", framing="none", complete=True, end=p)
        return r
    te = low.get("transfer-encoding")
    if te and te[-1].lower().strip().endswith("chunked"):
        body = bytearray()
        q = p
        while True:
            e = buf.find(b"\r\n", q)
            if e < 0:
                break
            try:
                size = int(buf[q:e].split(b";")[0].strip(), 16)
            except ValueError:
                r.update(body=bytes(body), framing="chunked", complete=False, end=len(buf),
                         bad_chunk=True)
                return r
            if size == 0:
                t = buf.find(b"\r\n\r\n", e)
                if t < 0:
                    break
                r.update(body=bytes(body), framing="chunked", complete=True, end=t + 4)
                return r
            if e + 2 + size + 2 > len(buf):
                break
            body += buf[e + 2:e + 2 + size]
            q = e + 2 + size + 2
        if not eof:
            return None
        r.update(body=bytes(body), framing="chunked", complete=False, end=len(buf))
        return r
    cl = low.get("content-length")
    if cl:
        try:
            n = int(cl[0])
        except ValueError:
            n = 0
        if len(buf) - p < n and not eof:
            return None
        r.update(body=bytes(buf[p:p + n]), framing="length", complete=len(buf) - p >= n,
                 end=min(len(buf), p + n))
        return r
    if not eof:
        return None
    r.update(body=bytes(buf[p:]), framing="close", complete=True, end=len(buf))
    return r


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.raw = bytearray()  # every byte received

    def fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.s.settimeout(left)
        try:
            d = self.s.recv(1 << 20)
        except socket.timeout:
            return False
        except ConnectionResetError:
            d = b""
            self.reset = True
        if not d:
            self.eof = True
        self.buf += d
        self.raw += d
        return True

    def response(self, head_request, wait):
        """The next final response (1xx counted in r["interim"]), or a dict with status None."""
        deadline = time.monotonic() + wait
        interim = []
        while True:
            r = parse_response(self.buf, head_request, self.eof)
            if r is not None and r.get("status") is not None and r["status"] < 200 and \
                    r["framing"] == "none":
                interim.append(r["status"])
                del self.buf[:r["end"]]
                continue
            if r is not None:
                del self.buf[:r["end"]]
                r["interim"] = interim
                return r
            if self.eof or not self.fill(deadline):
                if self.eof and not self.buf:
                    return {"status": None, "framing": "closed", "complete": False, "body": b"",
                            "headers": [], "interim": interim}
                if not self.eof:
                    return {"status": None, "framing": "timeout", "complete": False,
                            "body": bytes(self.buf), "headers": [], "interim": interim}

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def request(method, path):
    return ("%s %s HTTP/1.1\r\nHost: diff.test\r\nUser-Agent: respdiff\r\n\r\n" %
            (method, path)).encode()


def run_one(port, up, cid, method, run):
    """One case through one proxy: the outcome dict."""
    up.reset()
    path = "/case/%s/%d" % (cid, run)
    c = Client(port)
    c.s.sendall(request(method, path))
    r = c.response(method == "HEAD", CLIENT_WAIT)
    out = {"status": r["status"], "framing": r["framing"], "body": r["body"],
           "interim": r.get("interim", [])}
    clean = r["status"] is not None and r["complete"]
    if r.get("framing") == "close":
        clean = None  # cannot tell an abort from the end
    out["clean"] = clean
    out["hdrs"] = sorted((n.lower(), v) for n, v in r["headers"]
                         if n.lower().startswith("x-") and
                         not n.lower().startswith(("x-kong", "x-sluice")))
    out["n_set_cookie"] = sum(1 for n, _ in r["headers"] if n.lower() == "set-cookie")
    out["cl"] = [v for n, v in r["headers"] if n.lower() == "content-length"]
    out["te"] = [v for n, v in r["headers"] if n.lower() == "transfer-encoding"]
    out["reason"] = r.get("reason", b"")
    # stray bytes after the response on the client connection
    if not c.eof:
        end = time.monotonic() + AFTER_WAIT
        while c.fill(end):
            pass
    out["extra"] = bytes(c.buf)
    out["client_closed"] = c.eof
    out["raw"] = bytes(c.raw[:600])
    # the probe: on the same connection when it is still open and the response was clean
    same = not c.eof and clean is not False and not c.buf
    if not same:
        c.close()
        c = Client(port)
    try:
        c.s.sendall(request("GET", "/probe/%d" % run))
        p = c.response(False, CLIENT_WAIT)
    except OSError as e:
        p = {"status": None, "framing": "error %s" % e, "body": b"", "headers": []}
    c.close()
    probe_ok = p["status"] == 200 and p["body"] == b"probe" and \
        any(n.lower() == "x-probe" for n, _ in p["headers"])
    out["probe"] = "ok" if probe_ok else "BAD %s %r" % (p["status"], p["body"][:40])
    out["probe_same_conn"] = same
    reqs = up.requests()
    case_conns = [k for k, m, t in reqs if t == path]
    probe_conns = [k for k, m, t in reqs if t.startswith("/probe/")]
    out["tries"] = len(case_conns)
    out["reused"] = bool(probe_conns and probe_conns[0] in case_conns)
    return out


# ---- the proxies -------------------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
daemon off;
master_process on;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/client;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    upstream up {{
        server 127.0.0.1:{up};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{p_off};
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout {rt}s;
            proxy_send_timeout {rt}s;
            proxy_connect_timeout {rt}s;
        }}
    }}
    server {{
        listen 127.0.0.1:{p_on};
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
            proxy_read_timeout {rt}s;
            proxy_send_timeout {rt}s;
            proxy_connect_timeout {rt}s;
        }}
    }}
}}
"""


def wait_port(port, proc, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("%s does not listen on %d" % (what, port))


def start_nginx(binary, workdir, up_port):
    d = os.path.join(workdir, "nginx")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "tmp"))
    p_off, p_on = free_port(), free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, up=up_port, p_off=p_off, p_on=p_on,
                                  rt=int(READ_TIMEOUT)))
    proc = subprocess.Popen([binary, "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"))
    wait_port(p_off, proc, "nginx")
    wait_port(p_on, proc, "nginx")
    return proc, p_off, p_on


def stop_nginx(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- comparison --------------------------------------------------------------------------------

def short(o):
    if o is None:
        return "-"
    body = o["body"]
    b = body.decode("latin-1") if len(body) <= 12 else "%dB:%s" % (
        len(body), hashlib.sha256(body).hexdigest()[:6])
    clean = {True: "clean", False: "ABORT", None: "eof"}[o["clean"]]
    s = "%s %s %r" % (o["status"], clean, b)
    if o["reused"]:
        s += " reuse"
    if o["tries"] != 1:
        s += " tries=%d" % o["tries"]
    if o["extra"]:
        s += " EXTRA=%r" % o["extra"][:30]
    if o["probe"] != "ok":
        s += " PROBE:" + o["probe"]
    if o["interim"]:
        s += " 1xx=%s" % o["interim"]
    return s


def key(o):
    # a proxy's own error pages differ; their bodies are not compared
    body = None if o["status"] in (502, 504) else o["body"]
    return (o["status"], body, o["clean"], o["reused"])


def classify(note, sl, ng):
    """Classes of the difference between Sluice (sl) and nginx (ng, the buffering-off run)."""
    out = []
    desync = sl["extra"] or sl["probe"] != "ok"
    if desync or (sl["reused"] and "ambig" in note):
        out.append("a")
    ng_passes = ng["status"] not in (502, None) and ng["clean"] is not False and \
        not ng["extra"] and ng["probe"] == "ok"
    if ng_passes and (sl["status"] == 502 or sl["clean"] is False):
        out.append("b")
    if ng["status"] == 502 and sl["status"] != 502:
        out.append("c")
    if not out and (key(sl) != key(ng) or sl["hdrs"] != ng["hdrs"]):
        out.append("d")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sluice", default=os.path.join(REPO, "build", "sluice"))
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--workdir", default="/tmp/h1-respdiff")
    ap.add_argument("--case", action="append", default=[])
    ap.add_argument("--json")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--raw", type=int, default=0, metavar="N",
                    help="print the first N bytes each client received")
    args = ap.parse_args()

    cases = [c for c in CASES if not args.case or any(s in c[0] for s in args.case)]
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    os.makedirs(args.workdir, exist_ok=True)
    os.environ["SLUICE_BIN"] = os.path.abspath(args.sluice)
    up = Upstream()
    ng, p_off, p_on = start_nginx(args.nginx, args.workdir, up.port)
    sl_dir = os.path.join(args.workdir, "sluice")
    shutil.rmtree(sl_dir, ignore_errors=True)
    ms = int(READ_TIMEOUT * 1000)
    sl = Sluice(args.workdir, kong(service("up", up.port, [{"paths": ["/"]}], read_timeout=ms,
                                           write_timeout=ms, connect_timeout=ms)),
                conf={"log_level": "info"})
    proxies = [("ng-off", p_off), ("ng-on", p_on), ("sluice", sl.port)]
    results = []
    counts = {"a": [], "b": [], "c": [], "d": []}
    desync = []
    try:
        run = 0
        for cid, method, actions, after, note in cases:
            row = {"case": cid, "method": method, "after": after, "note": note}
            for name, port in proxies:
                run += 1
                row[name] = run_one(port, up, cid, method, run)
            for name, _ in proxies:
                o = row[name]
                if o["extra"] or o["probe"] != "ok":
                    desync.append((name, cid))
            cls = classify(note, row["sluice"], row["ng-off"])
            row["class"] = cls
            for k in cls:
                counts[k].append(cid)
            results.append(row)
            if cls or args.all:
                print("%-28s %-4s %-5s [%s]" % (cid, method, after, ",".join(cls) or "="))
                for name, _ in proxies:
                    o = row[name]
                    print("    %-7s %s%s" % (name, short(o),
                                             "" if name == "ng-off" or key(o) == key(row["ng-off"])
                                             else "   <>"))
                if row["sluice"]["hdrs"] != row["ng-off"]["hdrs"]:
                    print("    hdrs  ng-off %.150r\n          sluice %.150r" % (
                        row["ng-off"]["hdrs"][:4], row["sluice"]["hdrs"][:4]))
                if args.raw:
                    for name, _ in proxies:
                        print("    raw %-7s %r" % (name, row[name]["raw"][:args.raw]))
                sys.stdout.flush()
    finally:
        sl.stop()
        stop_nginx(ng)
        up.stop()
    print()
    print("cases: %d (x3 proxies = %d exchanges)" % (len(cases), 3 * len(cases)))
    for k, label in (("a", "Sluice may desync"), ("b", "Sluice fails, nginx passes"),
                     ("c", "Sluice passes, nginx 502"), ("d", "other difference")):
        print("(%s) %-26s %3d  %s" % (k, label, len(counts[k]), " ".join(counts[k])))
    print("desync (stray bytes or wrong probe answer): %s" % (desync or "none"))
    if args.json:
        def enc(o):
            return o.decode("latin-1") if isinstance(o, bytes) else str(o)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=enc)
    bad = counts["a"] or any(n == "sluice" for n, _ in desync)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
