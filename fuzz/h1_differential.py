#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Differential audit of Sluice's HTTP/1.1 request handling against nginx (Kong runs on nginx, so
nginx's accept/reject decision on a client request is what Kong users see).

It starts, on 127.0.0.1 with kernel-chosen ports:
- recording upstreams: raw-socket servers that keep every byte they receive, frame the requests
  leniently and answer each with 200 (one recorder per side and slot, so nothing is attributed to
  the wrong case);
- nginx (Debian's /usr/sbin/nginx, single process, its own prefix, pid, temp paths and logs under
  --workdir): one server block per slot, `proxy_pass` to that slot's recorder with
  `proxy_http_version 1.1` and `proxy_request_buffering off` (so a chunked body goes upstream
  chunked, as Sluice sends it);
- Sluice (--sluice, default build/sluice), one instance per slot (`database = off`, a kong.yml with
  one service to the slot's recorder and a catch-all route `paths: ["/"]`).

Then it sends every request of a generated corpus, on a fresh connection, to nginx and to Sluice
at the same time, and compares what each answered (the status class of every response, or
closed without an answer, or still waiting) and what the upstream received (request line, Host,
Content-Length, Transfer-Encoding, body bytes). The corpus is built from valid seed requests (GET,
POST with Content-Length, chunked POST, pipelined pairs, absolute-form, HTTP/1.0) by structured
mutations; it is deterministic for a given --seed.

Every difference gets a class:
  a  Sluice forwarded a request that nginx did not (nginx refused it): smuggling/desync or bypass
  b  both forwarded, but the upstream received a different request line, framing or body
  c  nginx forwarded, Sluice refused (documented strictness is tagged "by-design: <why>")
  d  neither forwarded, but they answered differently (400 vs 501, answered vs still waiting ...)
Differences of the target that Sluice's path normalisation explains (dot segments, merged
slashes, decoded unreserved escapes: Kong forwards the normalised path too) are not counted, nor
is a body that has not ended when the case's bytes do (a Content-Length larger than the bytes
sent, a chunked body without its last chunk): Sluice reads a request body whole before it connects
(route request_buffering, Kong's default) while nginx here streams it, so nginx's upstream has
the head and Sluice's nothing yet, and both still wait for the rest.

A difference is tagged by-design when by_design() finds in the bytes sent (never in the case's
name) a rule Sluice keeps on purpose (docs/internals/http1-parser.md, hardening.md §1-3 and §7).
Each check models one rule of src/http/h1.c, chunked.c or path.c; pipelined requests are framed
as Sluice frames them, so a later request and a chunked body are checked where Sluice reads them.
Sluice answers 400 to all of these but the last group:
  request line  HTTP/0.9 (no version); SP before the method, two SP in a row, SP at the end;
                a version not HTTP/DIGIT.DIGIT (HTTP/1.10, HTTP/1.01, HTTP/11); '#' in the target;
                a target neither origin-form, http(s) absolute-form nor '*'; a backslash in the path
  header lines  a bare LF or CR; obs-fold; no colon; an empty name, SP/HTAB before the colon, a
                name byte outside RFC 9110 tchar; a CTL other than HTAB, or DEL, in a value; HTAB
                around the value of Host, Content-Length or Transfer-Encoding
  Host          (and an absolute-form authority) empty, a byte outside ALPHA DIGIT - . _ ~, an
                empty label (".a", "a..b"), a bad IPv6 literal, a port empty, not 1 to 5 digits
                or over 65535
  chunked body  a chunk-size without a hex digit or longer than 16 digits; SP/HTAB ending a size
                line or an extension; an extension not ;name[=token|quoted-string]; a size line
                over 4096 bytes; a chunk line or chunk data ended by a bare LF (or holding a bare
                CR); data not followed by CRLF (more bytes than the size)
  trailers      obs-fold, no colon, an empty or non-tchar name, SP/HTAB before the colon, CTL or
                DEL in a value, a bare LF, over 8192 bytes in all
  explained     "/../x" is forwarded as "/x" (nginx: 400); '_' or '~' in an absolute-form host is
                taken (nginx refuses it there); CONNECT (405); a path that is not UTF-8 once
                decoded (404, as Kong's router)

Run (not part of `make test`; Debian's python, standard library only):
  /usr/bin/python3 fuzz/h1_differential.py                      # the whole corpus, summary
  /usr/bin/python3 fuzz/h1_differential.py --list | less        # the corpus, without running it
  /usr/bin/python3 fuzz/h1_differential.py --only 123 -v        # one case, with both exchanges
  /usr/bin/python3 fuzz/h1_differential.py --grep 'chunk-size'  # the cases whose name matches
The full report (one JSON object per case: the bytes, both answers with their exact statuses,
the bytes each upstream received, the class and the by-design reasons) goes to
<workdir>/report.jsonl.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

from lib.sluice import Sluice  # noqa: E402  (tests/lib: starts a real Sluice process)
from lib.ports import free_port  # noqa: E402

CRLF = b"\r\n"

# ---- seeds -------------------------------------------------------------------------------------
#
# A request is a list of [kind, bytes] tokens, so that a mutation can aim at one part of it. Kinds:
#   method sp1 target sp2 version rl_eol            the request line
#   hname colon hval h_eol                          one header field (ows is part of hval)
#   end_eol                                         the empty line ending the head
#   body                                            Content-Length body bytes
#   csize cext c_eol cdata d_eol                    one chunk (cext may be empty)
#   last l_eol tname tcolon tval t_eol c_end        last chunk, trailers, final CRLF
#   sep                                             boundary between pipelined requests


def head_tokens(method, target, version, headers):
    t = [["method", method], ["sp1", b" "], ["target", target], ["sp2", b" "],
         ["version", version], ["rl_eol", CRLF]]
    for name, value in headers:
        t += [["hname", name], ["colon", b":"], ["hval", b" " + value], ["h_eol", CRLF]]
    t.append(["end_eol", CRLF])
    return t


def chunk_tokens(chunks, trailers=()):
    t = []
    for data in chunks:
        t += [["csize", b"%x" % len(data)], ["cext", b""], ["c_eol", CRLF], ["cdata", data],
              ["d_eol", CRLF]]
    t += [["last", b"0"], ["l_eol", CRLF]]
    for name, value in trailers:
        t += [["tname", name], ["tcolon", b":"], ["tval", b" " + value], ["t_eol", CRLF]]
    t.append(["c_end", CRLF])
    return t


HOST = (b"Host", b"example.com")
UA = (b"User-Agent", b"curl/7.88.1")
ACCEPT = (b"Accept", b"*/*")


def seed_get():
    return head_tokens(b"GET", b"/a/b?x=1&y=2", b"HTTP/1.1", [HOST, UA, ACCEPT])


def seed_post_cl():
    return head_tokens(b"POST", b"/post", b"HTTP/1.1",
                       [HOST, (b"Content-Type", b"text/plain"), (b"Content-Length", b"11")]) + \
        [["body", b"hello world"]]


def seed_post_chunked():
    return head_tokens(b"POST", b"/chunked", b"HTTP/1.1",
                       [HOST, (b"Transfer-Encoding", b"chunked")]) + \
        chunk_tokens([b"hello", b" world!"])


def seed_post_chunked_trailer():
    return head_tokens(b"POST", b"/trailer", b"HTTP/1.1",
                       [HOST, (b"Transfer-Encoding", b"chunked"), (b"TE", b"trailers")]) + \
        chunk_tokens([b"abcde"], [(b"X-Checksum", b"1234")])


def seed_absolute():
    return head_tokens(b"GET", b"http://example.com/abs?q=1", b"HTTP/1.1", [HOST, ACCEPT])


def seed_http10():
    return head_tokens(b"GET", b"/ten", b"HTTP/1.0", [HOST, UA])


def seed_http10_post():
    return head_tokens(b"POST", b"/ten-post", b"HTTP/1.0",
                       [HOST, (b"Content-Length", b"4")]) + [["body", b"ten!"]]


def seed_post_empty():
    return head_tokens(b"POST", b"/empty", b"HTTP/1.1", [HOST, (b"Content-Length", b"0")])


def seed_get_body():
    return head_tokens(b"GET", b"/get-body", b"HTTP/1.1", [HOST, (b"Content-Length", b"3")]) + \
        [["body", b"abc"]]


def second_request():
    return head_tokens(b"GET", b"/second", b"HTTP/1.1", [HOST])


def seed_pipe_get():
    return seed_get() + [["sep", b""]] + second_request()


def seed_pipe_cl():
    return seed_post_cl() + [["sep", b""]] + second_request()


def seed_pipe_chunked():
    return seed_post_chunked() + [["sep", b""]] + second_request()


SEEDS = {
    "get": seed_get,
    "post-cl": seed_post_cl,
    "chunked": seed_post_chunked,
    "chunked-trailer": seed_post_chunked_trailer,
    "absolute": seed_absolute,
    "http10": seed_http10,
    "http10-post": seed_http10_post,
    "post-empty": seed_post_empty,
    "get-body": seed_get_body,
    "pipe-get": seed_pipe_get,
    "pipe-cl": seed_pipe_cl,
    "pipe-chunked": seed_pipe_chunked,
}


def render(tokens):
    return b"".join(v for _, v in tokens)


def n_requests(tokens):
    return 1 + sum(1 for k, _ in tokens if k == "sep")


def first_request(tokens):
    out = []
    for k, v in tokens:
        if k == "sep":
            break
        out.append([k, v])
    return out


# ---- mutations ---------------------------------------------------------------------------------

SPECIAL = [b"\r", b"\n", b" ", b"\t", b"\x00", b"\x7f", b"\x80", b"\xa0", b"\xff", b"\x0b",
           b"\x0c", b":", b",", b";", b'"', b"\\"]
SPECIAL_NAMES = {b"\r": "CR", b"\n": "LF", b" ": "SP", b"\t": "HTAB", b"\x00": "NUL",
                 b"\x7f": "DEL", b"\x80": "x80", b"\xa0": "xA0", b"\xff": "xFF", b"\x0b": "VT",
                 b"\x0c": "FF", b":": "colon", b",": "comma", b";": "semicolon", b'"': "dquote",
                 b"\\": "backslash"}

# token kinds grouped by the part of the message they belong to
GROUPS = {
    "request-line": ("method", "sp1", "target", "sp2", "version", "rl_eol"),
    "header-name": ("hname", "colon"),
    "header-value": ("hval", "h_eol"),
    "chunk-framing": ("csize", "cext", "c_eol", "d_eol", "last", "l_eol", "c_end"),
    "trailer": ("tname", "tcolon", "tval", "t_eol"),
}


def copy_tokens(tokens):
    return [[k, v] for k, v in tokens]


def set_header(tokens, name, value, which=0):
    """Sets the value of the <which>-th header <name> of the first request (True if found)."""
    seen = 0
    for i, (k, v) in enumerate(tokens):
        if k == "sep":
            break
        if k == "hname" and v.lower() == name.lower():
            if seen == which:
                tokens[i + 2][1] = value
                return True
            seen += 1
    return False


def header_index(tokens, name):
    for i, (k, v) in enumerate(tokens):
        if k == "sep":
            break
        if k == "hname" and v.lower() == name.lower():
            return i
    return None


def add_header(tokens, name, value, raw=None):
    """Adds a header line to the first request, before its empty line (raw: the whole line)."""
    for i, (k, _) in enumerate(tokens):
        if k == "end_eol":
            line = [["raw", raw]] if raw is not None else \
                [["hname", name], ["colon", b":"], ["hval", value], ["h_eol", CRLF]]
            tokens[i:i] = line
            return tokens
    return tokens


def insert_header_before(tokens, before, name, value):
    """Adds a header line to the first request just before its header <before>."""
    i = header_index(tokens, before)
    tokens[i:i] = [["hname", name], ["colon", b":"], ["hval", value], ["h_eol", CRLF]]
    return tokens


def del_header(tokens, name):
    i = header_index(tokens, name)
    if i is not None:
        del tokens[i:i + 4]
    return tokens


def mutate_once(rng, tokens):
    """One single-byte mutation (insert, replace or delete) of one token; returns its name."""
    group = rng.choice(sorted(GROUPS))
    idx = [i for i, (k, _) in enumerate(tokens) if k in GROUPS[group]]
    if not idx:
        group = "request-line"
        idx = [i for i, (k, _) in enumerate(tokens) if k in GROUPS[group]]
    if rng.random() < 0.8:
        # most mutations aim at the first request: the second of a pair is the desync probe
        first_len = len(first_request(tokens))
        idx = [i for i in idx if i < first_len] or idx
    i = rng.choice(idx)
    kind, val = tokens[i]
    op = rng.choice(("insert", "insert", "replace", "delete"))
    if op == "delete" and not val:
        op = "insert"
    b = rng.choice(SPECIAL)
    if op == "insert":
        pos = rng.choice(sorted({0, len(val) // 2, len(val)}))
        new = val[:pos] + b + val[pos:]
    elif op == "replace":
        if not val:
            pos, new = 0, b
        else:
            pos = rng.randrange(len(val))
            new = val[:pos] + b + val[pos + 1:]
    else:
        pos = rng.randrange(len(val))
        new = val[:pos] + val[pos + 1:]
        b = val[pos:pos + 1]
    tokens[i][1] = new
    bname = SPECIAL_NAMES.get(b, repr(b)[2:-1])
    return "%s %s@%s[%d] (%s)" % (op, bname, kind, pos, group)


def byte_mutations(rng, n):
    """<n> random mutations of a seed: one byte-level change, a second one in a third of them."""
    out = []
    seed_names = sorted(SEEDS)
    for _ in range(n):
        sname = rng.choice(seed_names)
        tokens = SEEDS[sname]()
        names = [mutate_once(rng, tokens)]
        if rng.random() < 0.33:
            names.append(mutate_once(rng, tokens))
        out.append(("byte %s %s" % (sname, " + ".join(names)), tokens))
    return out


def structured_mutations():
    """Hand-picked mutations, every one in the corpus (no sampling)."""
    out = []

    def add(name, tokens):
        out.append((name, tokens))

    # -- the seeds themselves (the baseline: both must forward them the same way)
    for sname in sorted(SEEDS):
        add("seed %s" % sname, SEEDS[sname]())

    # -- Transfer-Encoding values and names
    te_values = [b"Chunked", b"CHUNKED", b"cHuNkEd", b"chunked ", b"\tchunked", b"chunked\t",
                 b"  chunked", b"chunked,", b",chunked", b"chunked, chunked", b"chunked,chunked",
                 b"identity, chunked", b"gzip, chunked", b"chunked, gzip", b"chunked;q=1",
                 b'"chunked"', b"chunk", b"chunked\x0b", b"\x0bchunked", b"\x0cchunked",
                 b"chunked\xa0", b"\xa0chunked", b"\x85chunked", b"xchunked", b"chunkedx",
                 b"identity", b"", b"chunked, identity", b"gzip", b"x-chunked"]
    for seed in ("chunked", "pipe-chunked"):
        for v in te_values:
            t = SEEDS[seed]()
            set_header(t, b"Transfer-Encoding", b" " + v)
            add("te-value %s %r" % (seed, v), t)
    te_names = [b"transfer-encoding", b"TRANSFER-ENCODING", b"Transfer-Encoding ",
                b"Transfer-Encoding\t", b" Transfer-Encoding", b"Transfer_Encoding",
                b"Transfer-Encoding\x0b", b"X-Transfer-Encoding", b"Transfer-Encodings",
                b"Transfer-\x00Encoding", b"Transfer Encoding"]
    for v in te_names:
        t = seed_pipe_chunked()
        t[header_index(t, b"Transfer-Encoding")][1] = v
        add("te-name %r" % v, t)
    # TE + CL, TE twice, TE in HTTP/1.0, TE on a GET
    t = seed_pipe_chunked()
    add("te+cl cl-first", add_header(t, b"Content-Length", b" 3"))
    add("te+cl te-last", insert_header_before(seed_pipe_chunked(), b"Transfer-Encoding",
                                              b"Content-Length", b" 3"))
    t = seed_pipe_chunked()
    add("te+cl cl=0", add_header(t, b"Content-Length", b" 0"))
    t = seed_pipe_chunked()
    add("te twice same", add_header(t, b"Transfer-Encoding", b" chunked"))
    t = seed_pipe_chunked()
    add("te twice identity", add_header(t, b"Transfer-Encoding", b" identity"))
    add("te twice gzip-first", insert_header_before(seed_pipe_chunked(), b"Transfer-Encoding",
                                                    b"Transfer-Encoding", b" gzip"))
    t = seed_pipe_chunked()
    t[4][1] = b"HTTP/1.0"
    add("te in http/1.0", t)
    t = seed_pipe_chunked()
    t[0][1] = b"GET"
    add("te on GET", t)

    # -- whitespace around the values that decide framing and routing (RFC 9110 OWS is SP or
    # HTAB; nginx strips only SP)
    for name, seed in ((b"Transfer-Encoding", "pipe-chunked"), (b"Content-Length", "pipe-cl"),
                       (b"Host", "pipe-get"), (b"Connection", "pipe-get"),
                       (b"Expect", "pipe-cl"), (b"Content-Type", "pipe-cl")):
        for ows in ((b"\t", b""), (b"", b"\t"), (b" \t", b""), (b"\t ", b" "), (b"", b" "),
                    (b"  ", b"  "), (b"", b"")):
            t = SEEDS[seed]()
            if header_index(t, name) is None:
                add_header(t, name, b" close" if name == b"Connection" else b" 100-continue")
            i = header_index(t, name)
            t[i + 2][1] = ows[0] + t[i + 2][1].strip(b" ") + ows[1]
            add("ows %s %r %r" % (name.decode(), ows[0], ows[1]), t)

    # -- Content-Length values, names, duplicates
    cl_values = [b"011", b"0011", b"+11", b"-11", b"11 ", b"\t11", b" 11", b"11,11", b"11, 11",
                 b"11 11", b"0xb", b"11.0", b"1e1", b"", b"00000000000000000000000011",
                 b"9223372036854775807", b"9223372036854775808", b"18446744073709551616",
                 b"18446744073709551627", b"4294967307", b"1" + b"0" * 40, b"11\x00", b"1_1",
                 b"11;", b'"11"', b"\xa011", b"11\x0b", b"5", b"20", b"0"]
    for seed in ("post-cl", "pipe-cl"):
        for v in cl_values:
            t = SEEDS[seed]()
            set_header(t, b"Content-Length", b" " + v)
            add("cl-value %s %r" % (seed, v), t)
    for v in (b"content-length", b"CONTENT-LENGTH", b"Content-Length ", b"Content_Length",
              b" Content-Length", b"Content-Length\t", b"Content-Lengt", b"Content-Length\x0b"):
        t = seed_pipe_cl()
        t[header_index(t, b"Content-Length")][1] = v
        add("cl-name %r" % v, t)
    t = seed_pipe_cl()
    add("cl twice same", add_header(t, b"Content-Length", b" 11"))
    t = seed_pipe_cl()
    add("cl twice different", add_header(t, b"Content-Length", b" 5"))
    t = seed_pipe_cl()
    add("cl twice 0 then 11", add_header(t, b"Content-Length", b" 0"))
    t = seed_pipe_get()
    add("cl on GET", add_header(t, b"Content-Length", b" 0"))
    t = seed_pipe_get()
    add("cl 5 on GET, 5 bytes", add_header(t, b"Content-Length", b" 5") + [["body", b"abcde"]])
    t = seed_pipe_get()
    t = add_header(t, b"Content-Length", b" 5")
    t.insert(len(first_request(t)), ["body", b"abcde"])
    add("cl 5 on GET then pipelined", t)

    # -- chunk-size lines
    size_variants = [b"05", b"0005", b"00000000000000005", b"000000000000000005", b"5 ", b" 5",
                     b"+5", b"-5", b"0x5", b"5\t", b"\t5", b"5\x00", b"5\x0b", b"x5", b"5x",
                     b"6", b"4", b"fffffffffffffffff", b"ffffffffffffffff", b"10000000000000005",
                     b"", b"5;", b"5\xff"]
    for v in size_variants:
        t = seed_pipe_chunked()
        t[[i for i, (k, _) in enumerate(t) if k == "csize"][0]][1] = v
        add("chunk-size %r" % v, t)
    t = seed_pipe_chunked()
    t = [["csize", b"A"] if k == "csize" and v == b"5" else [k, v] for k, v in t]
    t = [["cdata", b"helloworld"] if k == "cdata" and v == b"hello" else [k, v] for k, v in t]
    add("chunk-size uppercase hex", t)
    ext_variants = [b";a", b";a=b", b';a="b"', b" ;a=b", b"; a=b", b";a =b", b";a= b", b";a=b ",
                    b';a="b\\"c"', b';a="b', b";a=b;c=d", b";a=\x80", b';a="\x80"', b";\x00",
                    b";a=b\x00", b";a\tb", b";=b", b";a=", b";;", b";a=b,c", b";a=\"\"",
                    b";a=b\r", b";a=\nb", b";" + b"a" * 5000, b";a=" + b"b" * 3000,
                    b';a="\r\n"', b";a=\xff", b"; a"]
    for v in ext_variants:
        t = seed_pipe_chunked()
        t[[i for i, (k, _) in enumerate(t) if k == "cext"][0]][1] = v
        add("chunk-ext %r" % v, t)
    for v in (b"00", b"000", b"0000000000000000", b"00000000000000000", b"0;a=b", b"0 ",
              b"0\t", b";0", b"0x0", b"-0", b"+0"):
        t = seed_pipe_chunked()
        t[[i for i, (k, _) in enumerate(t) if k == "last"][0]][1] = v
        add("last-chunk %r" % v, t)
    # chunk data framing
    for name, new in (("data CRLF missing", b""), ("data LF only", b"\n"), ("data CR only", b"\r"),
                      ("data extra byte", b"X\r\n"), ("data CRLF doubled", b"\r\n\r\n"),
                      ("data SP CRLF", b" \r\n")):
        t = seed_pipe_chunked()
        t[[i for i, (k, _) in enumerate(t) if k == "d_eol"][0]][1] = new
        add("chunk %s" % name, t)
    for name, new in (("size LF only", b"\n"), ("size CR only", b"\r"), ("size CRCRLF", b"\r\r\n"),
                      ("size SP CRLF", b" \r\n")):
        t = seed_pipe_chunked()
        t[[i for i, (k, _) in enumerate(t) if k == "c_eol"][0]][1] = new
        add("chunk %s" % name, t)
    for name, new in (("end LF only", b"\n"), ("end missing", b""), ("end CR only", b"\r")):
        t = seed_pipe_chunked()
        t[[i for i, (k, _) in enumerate(t) if k == "c_end"][0]][1] = new
        add("chunk %s" % name, t)

    # -- trailers
    trailer_lines = [b"X-T: 1\r\n", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n",
                     b"Host: evil.example\r\n", b" obs-fold\r\n", b"X-T: 1\n", b"X-T 1\r\n",
                     b": x\r\n", b"X-T : 1\r\n", b"X-T: a\x00b\r\n", b"X-T:\r\n",
                     b"X-T: 1\r\n X-U: 2\r\n", b"X-T: \x80\r\n", b"X-T: a\rb\r\n",
                     b"X-T: " + b"a" * 9000 + b"\r\n", b"X-T: 1\r\nX-T: 2\r\n"]
    for line in trailer_lines:
        t = seed_pipe_chunked()
        i = [i for i, (k, _) in enumerate(t) if k == "c_end"][0]
        t.insert(i, ["raw", line])
        add("trailer %r" % line[:40], t)

    # -- request line
    for name, line in (("double SP after method", b"GET  /a HTTP/1.1"),
                       ("double SP before version", b"GET /a  HTTP/1.1"),
                       ("HTAB separators", b"GET\t/a\tHTTP/1.1"),
                       ("leading SP", b" GET /a HTTP/1.1"),
                       ("trailing SP", b"GET /a HTTP/1.1 "),
                       ("trailing HTAB", b"GET /a HTTP/1.1\t"),
                       ("HTTP/0.9", b"GET /a"), ("no target", b"GET HTTP/1.1"),
                       ("lowercase method", b"get /a HTTP/1.1"),
                       ("mixed-case method", b"GeT /a HTTP/1.1"),
                       ("method with digit", b"GET1 /a HTTP/1.1"),
                       ("method with dot", b"G.T /a HTTP/1.1"),
                       ("M-SEARCH", b"M-SEARCH /a HTTP/1.1"),
                       ("PROPFIND", b"PROPFIND /a HTTP/1.1"), ("PATCH", b"PATCH /a HTTP/1.1"),
                       ("_X method", b"_X /a HTTP/1.1"),
                       ("long method", b"A" * 40 + b" /a HTTP/1.1"),
                       ("OPTIONS *", b"OPTIONS * HTTP/1.1"), ("GET *", b"GET * HTTP/1.1"),
                       ("CONNECT", b"CONNECT example.com:443 HTTP/1.1"),
                       ("TRACE", b"TRACE /a HTTP/1.1"),
                       ("target without slash", b"GET a HTTP/1.1")):
        t = seed_pipe_get()
        t[0:6] = [["raw", line + CRLF]]
        add("request-line %s" % name, t)
    versions = [b"HTTP/1.0", b"HTTP/1.2", b"HTTP/1.9", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.10",
                b"HTTP/01.1", b"http/1.1", b"HTTP/1", b"HTTP/1.1x", b"HTTP/3", b"HTTP/3.0",
                b"HTTP/1.01", b"HTTP/9.9", b"HTTP/1.1.1", b"HTTPS/1.1", b"HTTP/ 1.1",
                b"HTTP/1." + b"1" * 30, b"HTTP/" + b"0" * 30 + b"1.1"]
    for v in versions:
        t = seed_pipe_get()
        t[4][1] = v
        add("version %r" % v, t)
    targets = [b"/a/../b", b"/%2e%2e/b", b"/a/./b", b"//a//b", b"/a%00b", b"/a%zz", b"/a%",
               b"/a%2fb", b"/a?b#c", b"/a#c", b"/a\x7f", b"/a\x80", b"/a\xc3\xa9", b'/?q="',
               b"/a\\b", b"/a|b", b"/a{b}", b"/a^b", b"/a`b", b"/a<b>", b"/a;b", b"/~a",
               b"/a?b?c", b"/?", b"/a%20b", b"/a%2Fb", b"/a%5cb", b"/a/..", b"/..", b"/../x",
               b"/a?x=%00", b"/a?x=\x01", b"/" + b"a" * 7000, b"/a[b]", b"/a@b", b"/a'b",
               b"/%41", b"/a%2e%2E/b", b"/a?%zz", b"/.well-known/x", b"/a%u0041",
               b"http://example.com/abs", b"HTTP://EXAMPLE.COM/abs", b"http://example.com",
               b"http://example.com?q", b"https://example.com/x", b"ftp://example.com/x",
               b"http:/example.com/x", b"http://a_b/x", b"http://a@b/x", b"http://a:99999/x",
               b"http://a:0/x", b"http://[::1]/x", b"http://[::1]:80/x", b"http://a:80:80/x",
               b"http:///x", b"http://a..b/x", b"http://a./x", b"http://-a/x", b"http://a-/x",
               b"http://A.b/x", b"http://a:/x", b"http://a%41/x", b"http://a~b/x",
               b"http://example.com:080/x", b"http://example.com#f", b"//example.com/x",
               b"example.com:80", b"http://e\\x/y", b"http://1.2.3.4/x", b"http://[::1/x"]
    for v in targets:
        t = seed_pipe_get()
        t[2][1] = v
        add("target %r" % v[:60], t)

    # -- Host values and Host presence
    hosts = [b"a_b", b"a..b", b".a", b"a.", b"a:1:2", b"a:99999", b"a:65535", b"a:65536", b"a:",
             b":80", b"[::1]", b"[::1]:80", b"[::1", b"::1", b"a b", b"a\\b", b"a/b", b"a@b",
             b"a%41", b"A.EXAMPLE.COM", b"1.2.3.4", b"a,b", b"", b"a" * 300, b"a\x80",
             b"a:080", b"a:0", b"a:00000080", b"a;b", b"a(b)", b"a*b", b"*", b"a~b", b"a!b",
             b"a$b", b"a'b", b"a+b", b"a=b", b"a&b", b"-a", b"a-", b"a.-b", b"[v1.x]",
             b"[::ffff:1.2.3.4]", b"[fe80::1%25eth0]", b"a:+80", b"a:8 0", b"example.com,evil"]
    for v in hosts:
        t = seed_pipe_get()
        set_header(t, b"Host", b" " + v)
        add("host %r" % v[:60], t)
    t = seed_pipe_get()
    add("host missing 1.1", del_header(t, b"Host"))
    t = seed_http10()
    add("host missing 1.0", del_header(t, b"Host"))
    t = seed_absolute()
    add("host missing absolute-form", del_header(t, b"Host"))
    t = seed_absolute()
    set_header(t, b"Host", b" other.example")
    add("host differs from absolute-form", t)

    # -- duplicated headers
    for name, v1, v2 in ((b"Host", b"example.com", b"example.com"),
                         (b"Host", b"example.com", b"evil.example"),
                         (b"Authorization", b"Basic YTpi", b"Basic YzpkI"),
                         (b"Expect", b"100-continue", b"100-continue"),
                         (b"Connection", b"keep-alive", b"close"), (b"X-Foo", b"1", b"2"),
                         (b"Cookie", b"a=1", b"b=2"), (b"Content-Type", b"a/b", b"c/d"),
                         (b"User-Agent", b"a", b"b"), (b"If-None-Match", b'"x"', b'"y"'),
                         (b"If-Modified-Since", b"Mon, 01 Jan 2024 00:00:00 GMT",
                          b"Tue, 02 Jan 2024 00:00:00 GMT"),
                         (b"If-Match", b'"x"', b'"y"'), (b"If-Range", b'"x"', b'"y"'),
                         (b"Range", b"bytes=0-1", b"bytes=2-3"),
                         (b"Content-Range", b"bytes 0-1/2", b"bytes 0-1/2"),
                         (b"Upgrade", b"websocket", b"h2c"), (b"Referer", b"/a", b"/b"),
                         (b"X-Forwarded-For", b"1.2.3.4", b"5.6.7.8")):
        t = seed_pipe_get()
        del_header(t, name)
        add_header(t, name, b" " + v1)
        add_header(t, name, b" " + v2)
        add("dup %s" % name.decode(), t)

    # -- header whitespace and syntax
    for name, raw in (("no OWS", b"X-A:b\r\n"), ("two SP", b"X-A:  b\r\n"),
                      ("trailing SP", b"X-A: b  \r\n"), ("HTAB OWS", b"X-A:\tb\t\r\n"),
                      ("SP before colon", b"X-A : b\r\n"), ("HTAB before colon", b"X-A\t: b\r\n"),
                      ("empty value", b"X-A:\r\n"), ("empty value SP", b"X-A: \r\n"),
                      ("no colon", b"X-A b\r\n"), ("empty name", b": b\r\n"),
                      ("obs-fold", b"X-A: b\r\n c\r\n"), ("obs-fold HTAB", b"X-A: b\r\n\tc\r\n"),
                      ("bare LF line", b"X-A: b\n"), ("bare CR in value", b"X-A: b\rc\r\n"),
                      ("NUL in value", b"X-A: b\x00c\r\n"), ("DEL in value", b"X-A: b\x7fc\r\n"),
                      ("VT in value", b"X-A: b\x0bc\r\n"),
                      ("obs-text value", b"X-A: \xe9t\xe9\r\n"),
                      ("UTF-8 value", b"X-A: \xc3\xa9\r\n"), ("quote value", b'X-A: "b"\r\n'),
                      ("name with dot", b"X.A: b\r\n"), ("name with slash", b"X/A: b\r\n"),
                      ("name with @", b"X@A: b\r\n"), ("name with {", b"X{A}: b\r\n"),
                      ("name 0x80", b"X\x80A: b\r\n"), ("name with DEL", b"X\x7fA: b\r\n"),
                      ("underscore name", b"X_A: b\r\n"), ("long name", b"X" * 300 + b": b\r\n"),
                      ("long value", b"X-A: " + b"b" * 7000 + b"\r\n"),
                      ("value with colon", b"X-A: b:c\r\n"), ("double colon", b"X-A:: b\r\n"),
                      ("NUL in name", b"X\x00A: b\r\n"), ("CR in name", b"X\rA: b\r\n"),
                      ("header line SP only", b" \r\n"), ("line CR CR LF", b"X-A: b\r\r\n")):
        t = seed_pipe_get()
        add("header %s" % name, add_header(t, None, None, raw=raw))
    t = seed_pipe_get()
    t.insert(6, ["raw", b" X-A: b\r\n"])
    add("header obs-fold right after request line", t)

    # -- line endings around the head
    for name, pre in (("leading CRLF", b"\r\n"), ("leading 2 CRLF", b"\r\n\r\n"),
                      ("leading LF", b"\n"), ("leading SP", b" "), ("leading NUL", b"\x00")):
        t = seed_pipe_get()
        t.insert(0, ["raw", pre])
        add("before request %s" % name, t)
    t = seed_pipe_get()
    for tok in t:
        if tok[0] in ("rl_eol", "h_eol", "end_eol"):
            tok[1] = b"\n"
    add("all bare LF", t)
    t = seed_pipe_get()
    t[[i for i, (k, _) in enumerate(t) if k == "end_eol"][0]][1] = b"\n"
    add("head ends LF", t)
    t = seed_pipe_get()
    t[[i for i, (k, _) in enumerate(t) if k == "end_eol"][0]][1] = b"\r\r\n"
    add("head ends CR CR LF", t)

    # -- Connection, Expect, Upgrade
    for name, value in ((b"Connection", b"close"), (b"Connection", b"Close"),
                        (b"Connection", b"keep-alive, close"), (b"Connection", b"upgrade"),
                        (b"Expect", b"100-continue"), (b"Expect", b"100-Continue"),
                        (b"Expect", b"200-ok"), (b"Expect", b""),
                        (b"Connection", b"X-A"), (b"Connection", b"Host"),
                        (b"Connection", b"Content-Length"),
                        (b"Connection", b"Transfer-Encoding")):
        for seed in ("pipe-get", "pipe-cl", "pipe-chunked"):
            t = SEEDS[seed]()
            add("%s %r %s" % (name.decode(), value, seed), add_header(t, name, b" " + value))
    t = seed_pipe_get()
    add_header(t, b"Connection", b" Upgrade")
    add("upgrade h2c", add_header(t, b"Upgrade", b" h2c"))
    t = seed_pipe_get()
    add_header(t, b"Connection", b" Upgrade")
    add("upgrade websocket without key", add_header(t, b"Upgrade", b" websocket"))
    # -- bodies without a length, and other methods
    for method in (b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"HEAD"):
        for version in (b"HTTP/1.1", b"HTTP/1.0"):
            add("%s %s without length" % (method.decode(), version.decode()),
                head_tokens(method, b"/m", version, [HOST]) + [["sep", b""]] + second_request())
    t = seed_post_empty() + [["body", b"xyz"]]
    add("cl 0 followed by bytes", t)
    t = seed_http10()
    add("http/1.0 keep-alive then pipelined", add_header(t, b"Connection", b" keep-alive") +
        [["sep", b""]] + head_tokens(b"GET", b"/second", b"HTTP/1.0", [HOST]))
    return out


def build_corpus(seed, n_random):
    rng = random.Random(seed)
    cases = structured_mutations() + byte_mutations(rng, n_random)
    seen, corpus = set(), []
    for name, tokens in cases:
        data = render(tokens)
        if data in seen:
            continue
        seen.add(data)
        corpus.append({"id": len(corpus), "name": name, "data": data,
                       "expect": n_requests(tokens)})
    return corpus


# ---- the recording upstream --------------------------------------------------------------------


def lenient_frame(buf, pos):
    """Frames one request the proxy sent: (request dict, end) or None when incomplete. Raises
    ValueError for bytes it cannot frame."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        if len(buf) - pos > 1 << 20:
            raise ValueError("head too long")
        return None
    lines = bytes(buf[pos:end]).split(b"\r\n")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("field without colon %r" % line)
        fields.append((name.strip().lower(), value.strip(b" \t")))

    def values(n):
        return [v for k, v in fields if k == n]

    req = {"line": lines[0], "host": values(b"host"), "cl": values(b"content-length"),
           "te": values(b"transfer-encoding"), "framing": "none", "body": b""}
    at = end + 4
    if req["te"]:
        if req["te"][-1].lower() != b"chunked":
            raise ValueError("coding %r" % req["te"])
        body = bytearray()
        p = at
        while True:
            eol = buf.find(b"\r\n", p)
            if eol < 0:
                return None
            size = int(bytes(buf[p:eol]).split(b";")[0].strip(), 16)
            p = eol + 2
            if size == 0:
                while True:
                    eol = buf.find(b"\r\n", p)
                    if eol < 0:
                        return None
                    line, p = bytes(buf[p:eol]), eol + 2
                    if not line:
                        break
                    req.setdefault("trailers", []).append(line)
                break
            if len(buf) < p + size + 2:
                return None
            body += buf[p:p + size]
            if buf[p + size:p + size + 2] != b"\r\n":
                raise ValueError("chunk data without CRLF")
            p += size + 2
        req["framing"], req["body"] = "chunked", bytes(body)
        return req, p
    if req["cl"]:
        n = int(req["cl"][0])
        if len(buf) < at + n:
            return None
        req["framing"], req["body"] = "length", bytes(buf[at:at + n])
        return req, at + n
    return req, at


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Recorder: yes\r\n\r\n"


class Recorder:
    """Raw-socket upstream: records every byte per connection, frames requests leniently, answers
    each with 200. Cases run one at a time per recorder; mark() starts a new case."""

    def __init__(self):
        self.lock = threading.Lock()
        self.conns = []  # {data, reqs (framed), err (could not frame), pos (end of the last)}
        self.offsets = {}
        self.nconns = 0
        self.last_activity = time.monotonic()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                conn = {"data": bytearray(), "reqs": [], "err": None, "pos": 0}
                self.conns.append(conn)
                self.last_activity = time.monotonic()
            threading.Thread(target=self._serve, args=(s, conn), daemon=True).start()

    def _serve(self, s, conn):
        s.settimeout(1.0)
        try:
            while not self.stopped:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    conn["data"] += chunk
                    self.last_activity = time.monotonic()
                while True:
                    try:
                        r = lenient_frame(conn["data"], conn["pos"])
                    except ValueError as e:
                        with self.lock:
                            conn["err"] = str(e)
                        return
                    if r is None:
                        break
                    with self.lock:
                        conn["reqs"].append(r[0])
                        conn["pos"] = r[1]
                    s.sendall(ANSWER)
        finally:
            s.close()

    def mark(self):
        with self.lock:
            self.offsets = {id(c): (len(c["data"]), len(c["reqs"])) for c in self.conns}

    def since(self):
        """(requests, raw bytes, framing errors) received since mark(). A request whose head
        arrived but whose body did not end (the proxy is still streaming it, or gave up) is
        reported with framing "incomplete": it was forwarded all the same."""
        with self.lock:
            reqs, raw, errs = [], b"", []
            for c in self.conns:
                b0, r0 = self.offsets.get(id(c), (0, 0))
                raw += bytes(c["data"][b0:])
                reqs += c["reqs"][r0:]
                rest = bytes(c["data"][max(b0, c["pos"]):])
                end = rest.find(b"\r\n\r\n")
                if c["err"] is None and end >= 0:
                    head = rest[:end].split(b"\r\n")
                    fields = [(n.strip().lower(), v.strip()) for n, _, v in
                              (line.partition(b":") for line in head[1:])]
                    reqs.append({"line": head[0],
                                 "host": [v for n, v in fields if n == b"host"],
                                 "cl": [v for n, v in fields if n == b"content-length"],
                                 "te": [v for n, v in fields if n == b"transfer-encoding"],
                                 "framing": "incomplete", "body": rest[end + 4:]})
                if c["err"] and (len(c["data"]) > b0 or id(c) not in self.offsets):
                    errs.append(c["err"])
            return reqs, raw, errs

    def settle(self, quiet=0.05, timeout=1.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                idle = time.monotonic() - self.last_activity
            if idle >= quiet:
                return
            time.sleep(0.01)

    def stop(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the client --------------------------------------------------------------------------------


def parse_responses(buf):
    """Frames the responses in <buf>: ([status, ...] of the final ones, end of the last one)."""
    statuses, pos = [], 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            return statuses, pos
        lines = buf[pos:end].split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            return statuses + ["garbage"], len(buf)
        status = int(m.group(1))
        fields = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            fields[k.strip().lower()] = v.strip()
        at = end + 4
        if 100 <= status < 200:
            pos = at
            continue
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            p = at
            while True:
                eol = buf.find(b"\r\n", p)
                if eol < 0:
                    return statuses, pos
                size = int(buf[p:eol].split(b";")[0], 16)
                p = eol + 2
                if size == 0:
                    tail = buf.find(b"\r\n", p)
                    if tail < 0:
                        return statuses, pos
                    p = tail + 2
                    break
                p += size + 2
                if p > len(buf):
                    return statuses, pos
            pos = p
        elif b"content-length" in fields:
            n = int(fields[b"content-length"])
            if len(buf) < at + n:
                return statuses, pos
            pos = at + n
        elif status in (204, 304):
            pos = at
        else:
            pos = len(buf)  # close-delimited
        statuses.append(status)


def exchange(port, data, expect, idle=0.4, linger=0.06, total=4.0):
    """Sends <data> on a fresh connection and reads the answers. Returns a dict: statuses (final
    responses, in order), closed (the server closed), waiting (it neither closed nor answered
    every request within <idle>), raw (what came back)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    buf = bytearray()
    closed = reset = False
    try:
        try:
            s.sendall(data)
        except OSError:
            reset = True
        t0 = last = time.monotonic()
        while not closed and not reset:
            statuses, _ = parse_responses(bytes(buf))
            now = time.monotonic()
            wait = linger if len(statuses) >= expect else idle
            if now - last >= wait or now - t0 >= total:
                break
            s.settimeout(max(0.005, min(wait - (now - last), total - (now - t0))))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                reset = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
            last = time.monotonic()
    finally:
        s.close()
    statuses, _ = parse_responses(bytes(buf))
    return {"statuses": statuses, "closed": closed or reset,
            "waiting": not (closed or reset) and len(statuses) < expect, "raw": bytes(buf)}


# ---- the two proxies ---------------------------------------------------------------------------

NGINX_CONF = """\
master_process off;
daemon off;
worker_processes 1;
error_log {work}/nginx-error.log info;
pid {work}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {work}/nginx-access.log;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    client_max_body_size 0;       # Kong: nginx_http_client_max_body_size = 0
    keepalive_timeout 60s;
{servers}
}}
"""

NGINX_SERVER = """\
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{up};
            proxy_http_version 1.1;
            proxy_request_buffering off;
        }}
    }}
"""


class Nginx:
    def __init__(self, work, slots):
        self.work = work
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
        self.ports = [free_port() for _ in slots]
        servers = "".join(NGINX_SERVER.format(port=p, up=rec.port)
                          for p, rec in zip(self.ports, slots))
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(work=work, servers=servers))
        self.err = open(os.path.join(work, "nginx-stderr.log"), "ab")
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", work, "-c", conf, "-e",
                                      os.path.join(work, "nginx-error.log")],
                                     stdout=self.err, stderr=self.err, stdin=subprocess.DEVNULL)
        wait_listen(self.ports, self.proc, "nginx")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def wait_listen(ports, proc, what):
    deadline = time.monotonic() + 10
    for p in ports:
        while True:
            if proc is not None and proc.poll() is not None:
                raise SystemExit("%s exited with %s" % (what, proc.returncode))
            try:
                socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("%s does not listen on %d" % (what, p))
                time.sleep(0.05)


def start_sluice(work, i, recorder):
    kong = {"_format_version": "3.0",
            "services": [{"name": "diff", "url": "http://127.0.0.1:%d" % recorder.port,
                          "routes": [{"name": "all", "paths": ["/"], "strip_path": False}]}]}
    return Sluice(work, kong, {"log_level": "notice"}, name="sluice-%d" % i)


# ---- comparison --------------------------------------------------------------------------------

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalise_path(path):
    """Sluice's (and Kong's) path normalisation as docs/internals/http1-parser.md states it, to
    compare nginx's raw forwarded target with Sluice's: decode unreserved escapes, uppercase the
    others, escape the raw bytes Kong's escape() would ("<>^`{|}, >= 0x80), remove dot segments, merge
    slashes. None when invalid."""
    out = bytearray()
    i = 0
    while i < len(path):
        c = path[i]
        if c == 0x25:
            h = path[i + 1:i + 3]
            if len(h) < 2 or not all(x in b"0123456789abcdefABCDEF" for x in h):
                return None
            v = int(h, 16)
            if v in UNRESERVED:
                out.append(v)
            else:
                out += b"%" + h.upper()
            i += 3
            continue
        if c in b'"<>^`{|}' or c >= 0x80:
            out += b"%%%02X" % c
        else:
            out.append(c)
        i += 1
    segs = []
    for seg in bytes(out).split(b"/")[1:]:
        if seg == b".":
            continue
        if seg == b"..":
            if segs:
                segs.pop()
            continue
        segs.append(seg)
    trailing = bytes(out).endswith((b"/", b"/.", b"/..")) and segs
    res = b"/" + b"/".join(s for s in segs if s)
    if trailing and not res.endswith(b"/"):
        res += b"/"
    return res


def norm_target(target):
    path, q, query = target.partition(b"?")
    if re.match(rb"(?i)https?://", path):
        path = b"/" + path.split(b"/", 3)[3] if path.count(b"/") >= 3 else b"/"
    n = normalise_path(path)
    return (n if n is not None else path) + q + query


def view(req, up_port):
    """What matters of one forwarded request, with the recorder's port written as PORT."""
    parts = req["line"].split(b" ")
    method, target = (parts + [b"", b""])[:2]
    host = [h.replace(b":%d" % up_port, b":PORT") for h in req["host"]]
    body_kind = req["framing"] if req["body"] or req["framing"] == "chunked" else "none"
    return {"method": method, "target": target, "host": host,
            "cl": [v for v in req["cl"] if v != b"0"], "te": req["te"],
            "framing": body_kind, "body": req["body"]}


def status_class(st):
    return st if isinstance(st, str) else "%dxx" % (st // 100)


def outcome(ex, reqs):
    classes = [status_class(s) for s in ex["statuses"]]
    if ex["waiting"]:
        classes.append("waiting")
    elif ex["closed"] and not ex["statuses"]:
        classes.append("closed")
    return classes


def compare(case, rn, rs):
    """Class (a, b, c, d or None) and a one-line reason for one case's two results."""
    vn = [view(r, rn["up"]) for r in rn["reqs"]]
    vs = [view(r, rs["up"]) for r in rs["reqs"]]
    on, os_ = outcome(rn["ex"], vn), outcome(rs["ex"], vs)
    if buffering_sluice(vn, vs, rs):
        vn = vn[:-1]  # not a refusal: both wait for the rest of that body
    skipped = nginx_only(vn, vs)
    if skipped is not None:
        # Sluice answered one of several pipelined requests itself (a 404 for a path that is not
        # UTF-8, say) and forwarded the others: pairing by position would compare the wrong ones
        return "c", "request %d forwarded by nginx only: %s" % (skipped + 1, short(vn[skipped]))
    for i in range(max(len(vn), len(vs))):
        a = vn[i] if i < len(vn) else None
        b = vs[i] if i < len(vs) else None
        if a is None:
            return "a", "request %d forwarded by Sluice only: %s" % (i + 1, short(b))
        if b is None:
            return "c", "request %d forwarded by nginx only: %s" % (i + 1, short(a))
        diffs = []
        incomplete = a["framing"] == "incomplete" and b["framing"] == "incomplete"
        for k in ("method", "host", "cl", "te", "framing", "body"):
            if incomplete and k in ("body", "cl", "te"):
                continue  # both still streaming a body: the bytes so far depend on timing
            if a[k] != b[k]:
                if k == "framing" and a["body"] == b["body"]:
                    continue  # chunked vs length of the same payload: both delimit it
                if k in ("cl", "te") and a["body"] == b["body"]:
                    continue  # the headers of that same re-framing
                diffs.append("%s %r != %r" % (k, a[k], b[k]))
        if a["target"] != b["target"] and norm_target(a["target"]) != b["target"]:
            diffs.append("target %r != %r" % (a["target"], b["target"]))
        if diffs:
            return "b", "request %d: %s" % (i + 1, "; ".join(diffs))
    if on != os_:
        return "d", "answers nginx %s, Sluice %s" % (on, os_)
    return None, ""


def buffering_sluice(vn, vs, rs):
    """Sluice reads a request body whole before it connects upstream (route request_buffering,
    Kong's default); nginx here streams it (proxy_request_buffering off). So a body that has not
    ended when the case's bytes do (a Content-Length larger than the bytes sent, a chunked body
    without its last chunk) reaches nginx's upstream in part and Sluice's not yet, while both wait
    for the rest: nginx's last request is incomplete, Sluice did not forward it and still waits."""
    return (rs["ex"]["waiting"] and len(vs) == len(vn) - 1 and
            vn[-1]["framing"] == "incomplete")


def same_request(a, b):
    return a["method"] == b["method"] and (a["target"] == b["target"] or
                                           norm_target(a["target"]) == b["target"])


def nginx_only(vn, vs):
    """When Sluice forwarded fewer requests than nginx and those are, in order, nginx's with some
    left out: the index of the first nginx request Sluice did not forward; else None."""
    if len(vs) >= len(vn):
        return None
    first, j = None, 0
    for i, a in enumerate(vn):
        if j < len(vs) and same_request(a, vs[j]):
            j += 1
        elif first is None:
            first = i
    return first if j == len(vs) else None


def short(v):
    return "%s %s body=%r" % (v["method"].decode("latin-1"), v["target"][:60].decode("latin-1"),
                              v["body"][:30])


def climbs_above_root(target):
    """A '..' segment (also as %2e%2e) with nothing left to remove: nginx answers 400, Sluice
    drops it (GET /../x is forwarded as /x)."""
    path = target.split(b"?", 1)[0]
    if re.match(rb"(?i)https?://", path):
        path = b"/" + path.split(b"/", 3)[3] if path.count(b"/") >= 3 else b"/"
    depth = 0
    for seg in re.sub(rb"(?i)%2e", b".", path).split(b"/")[1:]:
        if seg == b"..":
            if depth == 0:
                return True
            depth -= 1
        elif seg not in (b".", b""):
            depth += 1
    return False


def decoded_utf8(path):
    """Whether <path> is valid UTF-8 once its %XX escapes are decoded (invalid escapes are left)."""
    raw = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), path)
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---- by design: what Sluice refuses on purpose -------------------------------------------------
#
# by_design() names, for a case that differs, the rules its bytes break that Sluice keeps on purpose
# (docs/internals/http1-parser.md; shared hardening.md §1-3, §7), and the differences its design
# explains. Every check reads the bytes sent, never the case's name, and models one rule of
# src/http/h1.c, chunked.c or path.c, so each reason is a statement about those bytes.
# walk_requests() frames pipelined requests as Sluice does (Content-Length, chunked), so a later
# request's head and a chunked body are checked where Sluice reads them.

TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
HOST_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEXDIG = frozenset(b"0123456789ABCDEFabcdef")
TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
# RFC 9112 §7.1.1: BWS only around ';' and '='
CHUNK_EXT = rb"(?:[ \t]*;[ \t]*%s(?:[ \t]*=[ \t]*(?:%s|%s))?)*" % (TOKEN, TOKEN, QUOTED)
CHUNK_LINE_MAX = 4096  # SL_H1_CHUNK_LINE_MAX: a chunk-size line with its CR
TRAILER_MAX = 8192  # SL_H1_TRAILER_MAX: the trailer section with its final CRLF


def bare_lf_or_cr(b):
    """Only CRLF ends a line of a request (RFC 9112 §2.2 MAY read a bare LF; Sluice does not)."""
    return re.search(rb"(?<!\r)\n|\r(?!\n)", b) is not None


def request_line_flaw(line):
    """method SP target SP HTTP/DIGIT.DIGIT with one SP each (RFC 9112 §3, §2.3)."""
    if line[:1] == b" ":
        return "SP before the method"
    if b"  " in line:
        return "two SP in a row in the request line"
    if line[-1:] == b" ":
        return "SP at the end of the request line"
    words = line.split(b" ")
    if len(words) == 2:
        return "HTTP/0.9 (request line without a version)"
    if len(words) == 3 and not re.fullmatch(rb"HTTP/[0-9]\.[0-9]", words[2]):
        return "version not HTTP/DIGIT.DIGIT"
    return None


def host_flaw(v, what="Host"):
    """The first rule of h1.c's host_valid() that <v> breaks, else None: a DNS name or IPv4 of
    ALPHA DIGIT - . _ ~ without an empty label, or an IPv6 literal in brackets, then an optional
    port of 1 to 5 digits up to 65535 (a strict subset of RFC 3986's authority)."""
    if not v:
        return "empty " + what
    if v[:1] == b"[":
        close = v.find(b"]")
        if close <= 1:
            return what + " IPv6 literal unclosed or empty"
        if any(c not in HEXDIG and c not in b".:" for c in v[1:close]):
            return what + " IPv6 literal with a byte other than HEXDIG '.' ':'"
        if b":" not in v[1:close]:
            return what + " IPv6 literal without ':'"
        rest = v[close + 1:]
    else:
        name = v.split(b":", 1)[0]
        for i, c in enumerate(name):
            if c not in HOST_BYTES:
                return what + " byte outside ALPHA DIGIT - . _ ~"
            if c == 0x2E and (i == 0 or name[i - 1] == 0x2E):
                return what + " with an empty label"
        if not name:
            return what + " empty before ':'"
        rest = v[len(name):]
    if not rest:
        return None
    if rest[:1] != b":":
        return what + " with bytes after the IPv6 literal"
    port = rest[1:]
    if not port:
        return what + " port empty"
    if len(port) > 5 or not port.isdigit():
        return what + " port not 1 to 5 digits"
    return what + " port > 65535" if int(port) > 65535 else None


def target_flaw(line):
    """Request-target forms (h1.c parse_target) and the path normaliser's '\\' (path.c: Windows
    upstreams read it as '/')."""
    words = line.split(b" ")
    if len(words) != 3 or words[0] == b"CONNECT":
        return None
    target = words[1]
    if b"#" in target:
        return "'#' in target"  # a fragment is never sent (RFC 9112 §3.2)
    m = re.match(rb"(?i)https?://([^/?]*)", target)
    if m:
        flaw = host_flaw(m.group(1), "absolute-form authority")
        if flaw:
            return flaw
        path = target[m.end():]
    elif target[:1] == b"/":
        path = target
    elif target == b"*":
        return None if words[0] == b"OPTIONS" else "'*' target without OPTIONS"
    else:
        return "target not origin-form / http(s) absolute-form / '*'"
    if b"\\" in path.split(b"?", 1)[0]:
        return "'\\' in the target's path"
    return None


def field_line_flaw(line, what="header"):
    """A field line (without its CRLF) that is not tchar name ':' value of field-vchar, obs-text,
    SP and HTAB (RFC 9110 §5.1, §5.5; RFC 9112 §5.1, §5.2)."""
    if line[:1] in (b" ", b"\t"):
        return "obs-fold (%s line starting with SP/HTAB)" % what
    name, colon, value = line.partition(b":")
    if not colon:
        return "%s line without colon" % what
    if not name:
        return "empty %s name" % what
    if name[-1:] in (b" ", b"\t"):
        return "SP/HTAB before the colon of a %s" % what
    if any(c not in TCHAR for c in name):
        return "%s name byte outside RFC 9110 tchar" % what
    if 0x7F in value:
        return "DEL (0x7f) in a %s value" % what
    if any(c < 0x20 and c != 0x09 for c in value):
        return "CTL other than HTAB in a %s value" % what
    return None


def framing_value_htab(line):
    """HTAB in the whitespace around the value of Host, Content-Length or Transfer-Encoding: nginx
    strips only SP there, so the two would read the value differently."""
    name, _, value = line.partition(b":")
    if name.lower() not in (b"host", b"content-length", b"transfer-encoding"):
        return None
    ows = value[:len(value) - len(value.lstrip(b" \t"))] + value[len(value.rstrip(b" \t")):]
    return "HTAB around a Host/Content-Length/Transfer-Encoding value" if b"\t" in ows else None


def next_line(data, pos):
    """(the line at <pos> with its LF, where the next one starts), or (None, pos) without an LF."""
    lf = data.find(b"\n", pos)
    return (None, pos) if lf < 0 else (data[pos:lf + 1], lf + 1)


def line_end_flaw(line, what):
    if not line.endswith(b"\r\n"):
        return "%s ended by a bare LF" % what
    if b"\r" in line[:-2]:
        return "bare CR in a %s" % what
    return None


def chunk_size_flaw(line):
    """chunk-size [chunk-ext] CRLF as a request may send it (chunked.c, RFC 9112 §7.1)."""
    flaw = line_end_flaw(line, "chunk line")
    if flaw:
        return flaw
    body = line[:-2]
    if len(body) + 1 > CHUNK_LINE_MAX:
        return "chunk-size line over %d bytes" % CHUNK_LINE_MAX
    digits = re.match(rb"[0-9A-Fa-f]*", body).group()
    if not digits:
        return "chunk-size without a hex digit"
    if len(digits) > 16:
        return "chunk-size longer than 16 hex digits"
    ext = body[len(digits):]
    if re.fullmatch(CHUNK_EXT, ext):
        return None
    if re.fullmatch(CHUNK_EXT + rb"[ \t]+", ext):
        return "SP/HTAB ending a chunk-size or chunk-ext (BWS only around ';' and '=')"
    return "chunk-ext not ;name[=token|quoted-string]"


def trailer_flaw(data, pos):
    """The trailer section at <pos>: field lines with header strictness, then CRLF, at most
    TRAILER_MAX bytes. Returns (flaw, None), (None, end) or (None, None) when the bytes end."""
    start = pos
    while True:
        line, pos = next_line(data, pos)
        if line is None:
            return None, None
        if pos - start > TRAILER_MAX:
            return "trailer section over %d bytes" % TRAILER_MAX, None
        flaw = line_end_flaw(line, "trailer line")
        if flaw or line == b"\r\n":
            return flaw, None if flaw else pos
        flaw = field_line_flaw(line[:-2], "trailer")
        if flaw:
            return flaw, None


def chunked_flaw(data, pos):
    """Walks a chunked request body at <pos> with chunked.c's request rules. Returns (flaw, None)
    at the first rule broken, (None, end) after its final CRLF, (None, None) when the bytes end."""
    while True:
        line, pos = next_line(data, pos)
        if line is None:
            return None, None
        flaw = chunk_size_flaw(line)
        if flaw:
            return flaw, None
        size = int(re.match(rb"[0-9A-Fa-f]+", line).group(), 16)
        if size == 0:
            return trailer_flaw(data, pos)
        after = data[pos + size:pos + size + 2]
        if after == b"\r\n":
            pos += size + 2
        elif after in (b"", b"\r"):
            return None, None
        elif after[:1] == b"\n":
            return "chunk data ended by a bare LF", None
        else:
            return "chunk data not followed by CRLF (more bytes than its size)", None


def head_flaws(region, line, fields):
    """The flaws of one request head: <region> its bytes, <line> and <fields> split at CRLF."""
    flaws = ["bare LF/CR"] if bare_lf_or_cr(region) else []
    flaws += [request_line_flaw(line), target_flaw(line)]
    hosts = []
    for f in fields:
        flaws += [field_line_flaw(f), framing_value_htab(f)]
        name, _, value = f.partition(b":")
        if name.lower() == b"host":
            hosts.append(value.strip(b" \t"))
    if len(hosts) == 1:
        flaws.append(host_flaw(hosts[0]))
    return [f for f in flaws if f]


def body_end(data, head_end, fields):
    """Where the body after a head without flaws ends, as Sluice frames it: (flaw, end), end None
    when the bytes end first or Sluice refuses the framing headers (not modelled here)."""
    values = {}
    for f in fields:
        name, _, value = f.partition(b":")
        values.setdefault(name.lower(), []).append(value.strip(b" "))
    te, cl = values.get(b"transfer-encoding"), values.get(b"content-length")
    if te:
        if cl or [v.lower() for v in te] != [b"chunked"]:
            return None, None
        return chunked_flaw(data, head_end)
    if cl:
        if len(cl) != 1 or not cl[0].isdigit() or head_end + int(cl[0]) > len(data):
            return None, None
        return None, head_end + int(cl[0])
    return None, head_end


def walk_requests(data):
    """The flaws of the requests in <data>, read in order as Sluice reads them: the first request
    with a flaw (in its head or its chunked body) ends the walk, as it ends the connection."""
    pos = 0
    while pos < len(data):
        at = pos
        while data.startswith(b"\r\n", at):
            at += 2  # RFC 9112 §2.2: empty lines before a request line are skipped
        end = data.find(b"\r\n\r\n", at)
        if end < 0:
            return ["bare LF/CR"] if bare_lf_or_cr(data[pos:]) else []
        lines = data[at:end].split(b"\r\n")
        flaws = head_flaws(data[pos:end + 4], lines[0], lines[1:])
        if flaws:
            return flaws
        flaw, pos = body_end(data, end + 4, lines[1:])
        if flaw or pos is None:
            return [flaw] if flaw else []
    return []


def explained_differences(data):
    """Differences that Sluice's design states (http1-parser.md) and that are not a 400 for a
    broken syntax rule: a path normalised instead of refused, a host nginx refuses in one place
    only, a method refused with 405, a path refused with 404."""
    first_line = data.lstrip(b"\r\n").split(b"\n", 1)[0]
    reasons = []
    parts = first_line.rstrip(b"\r").split(b" ")
    if len(parts) >= 2 and climbs_above_root(parts[1]):
        reasons.append("/../x clamps to /x")
    m = re.match(rb"(?i)https?://([^/?]*)", parts[1] if len(parts) >= 2 else b"")
    if m and re.search(rb"[_~]", m.group(1)):
        # nginx refuses '_' and '~' in an absolute-form host but takes them in Host; Sluice
        # takes both (http1-parser.md): the authority is only routed on, as a Host header is
        reasons.append("'_' or '~' in absolute-form host")
    if parts and parts[0] == b"CONNECT":
        reasons.append("CONNECT 405")
    for line in re.split(rb"\r\n\r\n", data):
        # every request line of the case (pipelined ones too): Kong's router refuses a path that
        # is not UTF-8 once decoded (404 whatever the routes), and Sluice with it
        words = line.lstrip(b"\r\n").split(b"\r\n", 1)[0].split(b" ")
        if len(words) >= 2 and not decoded_utf8(words[1].split(b"?", 1)[0]):
            reasons.append("path not UTF-8 once decoded (404 as Kong)")
    return reasons


def by_design(case):
    """Why a difference in <case> is by design, as a sorted comma-separated list ('' if not)."""
    data = case["data"]
    return ", ".join(sorted(set(walk_requests(data) + explained_differences(data))))


# ---- driver ------------------------------------------------------------------------------------


class Slot:
    def __init__(self, work, i):
        self.rec_n = Recorder()
        self.rec_s = Recorder()
        self.sluice = start_sluice(work, i, self.rec_s)
        self.nginx_port = None  # set once nginx runs

    def run(self, case):
        res = {}

        def side(name, port, rec):
            rec.mark()
            ex = exchange(port, case["data"], case["expect"])
            rec.settle()
            reqs, raw, errs = rec.since()
            res[name] = {"ex": ex, "reqs": reqs, "raw": raw, "errs": errs, "up": rec.port}

        t = threading.Thread(target=side, args=("nginx", self.nginx_port, self.rec_n))
        t.start()
        side("sluice", self.sluice.port, self.rec_s)
        t.join()
        return res["nginx"], res["sluice"]


def jsonable(v):
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--random", type=int, default=3000, help="random mutations (default 3000)")
    ap.add_argument("--jobs", type=int, default=4, help="parallel slots (default 4)")
    ap.add_argument("--workdir", default="/tmp/h1-differential")
    ap.add_argument("--sluice", default=os.path.join(REPO, "build", "sluice"))
    ap.add_argument("--only", type=int, action="append", help="run only this case id")
    ap.add_argument("--grep", help="run only the cases whose name matches this regex")
    ap.add_argument("--list", action="store_true", help="print the corpus and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every differing case")
    args = ap.parse_args()

    corpus = build_corpus(args.seed, args.random)
    if args.list:
        for c in corpus:
            print("%5d %-60s %r" % (c["id"], c["name"][:60], c["data"][:120]))
        print("%d cases" % len(corpus))
        return 0
    if args.only:
        corpus = [c for c in corpus if c["id"] in args.only]
    if args.grep:
        corpus = [c for c in corpus if re.search(args.grep, c["name"])]

    os.environ["SLUICE_BIN"] = os.path.abspath(args.sluice)
    work = os.path.abspath(args.workdir)
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    slots, nginx = [], None
    try:
        for i in range(max(1, min(args.jobs, len(corpus)))):
            slots.append(Slot(work, i))
        nginx = Nginx(work, [s.rec_n for s in slots])
        for s, p in zip(slots, nginx.ports):
            s.nginx_port = p
        results = run_all(corpus, slots)
    finally:
        for s in slots:
            s.sluice.stop()
            s.rec_n.stop()
            s.rec_s.stop()
        if nginx:
            nginx.stop()
    return report(corpus, results, work, args.verbose)


def run_all(corpus, slots):
    queue = list(reversed(corpus))
    lock = threading.Lock()
    results = {}
    t0 = time.monotonic()

    def worker(slot):
        while True:
            with lock:
                if not queue:
                    return
                case = queue.pop()
            try:
                results[case["id"]] = slot.run(case)
            except Exception as e:  # reported, not fatal: one odd case must not hide the rest
                print("case %d (%s) failed: %r" % (case["id"], case["name"], e), flush=True)
                results[case["id"]] = None
            if not slot.sluice.alive():
                print("Sluice died on case %d: %s" % (case["id"], slot.sluice.logs()))
                os._exit(2)
            with lock:
                if len(results) % 250 == 0:
                    print("  %d/%d cases, %.0fs" % (len(results), len(corpus),
                                                    time.monotonic() - t0), flush=True)

    threads = [threading.Thread(target=worker, args=(s,)) for s in slots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("%d cases in %.0fs" % (len(results), time.monotonic() - t0))
    return results


def report(corpus, results, work, verbose):
    by_class = {}
    with open(os.path.join(work, "report.jsonl"), "w") as f:
        for case in corpus:
            if results.get(case["id"]) is None:
                by_class.setdefault("error", []).append(
                    {"id": case["id"], "name": case["name"], "data": case["data"],
                     "why": "the exchange failed", "by_design": "", "nginx": {"answer": []},
                     "sluice": {"answer": []}})
                continue
            rn, rs = results[case["id"]]
            cls, why = compare(case, rn, rs)
            design = by_design(case) if cls else ""
            rec = {"id": case["id"], "name": case["name"], "data": case["data"], "class": cls,
                   "why": why, "by_design": design,
                   "nginx": {"answer": outcome(rn["ex"], []), "statuses": rn["ex"]["statuses"],
                             "upstream": rn["raw"], "errors": rn["errs"]},
                   "sluice": {"answer": outcome(rs["ex"], []), "statuses": rs["ex"]["statuses"],
                              "upstream": rs["raw"], "errors": rs["errs"]}}
            f.write(json.dumps(jsonable(rec)) + "\n")
            if cls:
                key = cls + ("-by-design" if design else "")
                by_class.setdefault(key, []).append(rec)
    print("\n%-14s %6s  example" % ("class", "cases"))
    for key in sorted(by_class):
        ex = by_class[key][0]
        print("%-14s %6d  #%d %s: %s" % (key, len(by_class[key]), ex["id"], ex["name"][:50],
                                          ex["why"][:110]))
    same = len(corpus) - sum(len(v) for v in by_class.values())
    print("%-14s %6d" % ("same", same))
    if verbose:
        for key in sorted(by_class):
            print("\n== %s" % key)
            for r in by_class[key]:
                print("#%d %s\n   sent %r\n   %s\n   nginx %s  sluice %s%s" % (
                    r["id"], r["name"], r["data"][:200], r["why"][:300], r["nginx"]["answer"],
                    r["sluice"]["answer"], ("  [" + r["by_design"] + "]") if r["by_design"]
                    else ""))
    print("\nreport: %s" % os.path.join(work, "report.jsonl"))
    # a forwarded request nginx refuses, or a different framing upstream, needs a look
    return 1 if by_class.get("a") or by_class.get("b") or by_class.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
