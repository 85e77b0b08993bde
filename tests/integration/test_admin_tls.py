# SPDX-License-Identifier: Apache-2.0
"""The Admin API over HTTPS (`ssl` entries of admin_listen, kong.md §2 and §8): the same HTTP/1.1
handling as the plain listener (bodies, the 10 MiB bound, keep-alive, pipelining), Kong's
self-signed default certificates under <prefix>/ssl (generated once, key 0600, reused),
admin_ssl_cert / admin_ssl_cert_key (Kong's comma lists, RSA + ECDSA), refusals with `Error:`,
plain HTTP sent to the TLS port, the handshake deadline, and ALPN as `openssl s_client` sees it."""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time
import warnings

import pytest
import requests
import urllib3

from lib import rawhttp
from lib.ports import free_port
from lib.sluice import Sluice, SluiceError, kong, port_open

T = 10
DEFAULT_SUBJECT = ((("countryName", "US"),), (("stateOrProvinceName", "California"),),
                   (("localityName", "San Francisco"),), (("organizationName", "Kong"),),
                   (("organizationalUnitName", "IT Department"),), (("commonName", "localhost"),))
DEFAULT_FILES = ("admin-kong-default.crt", "admin-kong-default.key",
                 "admin-kong-default-ecdsa.crt", "admin-kong-default-ecdsa.key")


@pytest.fixture(autouse=True)
def quiet_insecure_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


def two_ports(*avoid):
    ports = []
    while len(ports) < 2:
        p = free_port()
        if p not in ports and p not in avoid:
            ports.append(p)
    return ports


def wait_port(port, timeout=T):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.02)
    raise AssertionError("nothing listens on %d" % port)


class Admin:
    """A Sluice with a plain and an `ssl` admin listener."""

    def __init__(self, tmp_path, name="tls", database="sqlite", conf=None, start=True):
        self.plain_port, self.tls_port = two_ports()
        c = {"admin_listen": "127.0.0.1:%d, 127.0.0.1:%d http2 ssl reuseport backlog=16384"
                             % (self.plain_port, self.tls_port)}
        if database == "sqlite":
            c.update({"database": "sqlite", "declarative_config": None})
        c.update(conf or {})
        self.s = Sluice(tmp_path, kong(), conf=c, name=name, start=False)
        while self.s.port in (self.plain_port, self.tls_port):  # keep the proxy's port apart
            self.s.port = free_port()
            self.s.write_conf(proxy_listen="127.0.0.1:%d" % self.s.port)
        if start:
            self.start()

    def start(self):
        self.s.start()
        wait_port(self.plain_port)
        wait_port(self.tls_port)
        return self

    def stop(self):
        self.s.stop()

    @property
    def https(self):
        return "https://127.0.0.1:%d" % self.tls_port

    @property
    def http(self):
        return "http://127.0.0.1:%d" % self.plain_port

    @property
    def ssl_dir(self):
        return os.path.join(self.s.prefix, "ssl")


def client_ctx(cafile=None, **kw):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl.SSLContext(
        ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if not cafile:
        ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        if k == "ciphers":
            ctx.set_ciphers(v)
        elif k == "alpn":
            ctx.set_alpn_protocols(v)
        else:
            setattr(ctx, k, v)
    return ctx


def tls_connect(port, ctx=None, timeout=T):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return (ctx or client_ctx()).wrap_socket(raw, server_hostname="localhost")


def served_cert(port, ctx=None):
    """DER of the certificate the TLS listener sends."""
    with tls_connect(port, ctx) as s:
        return s.getpeercert(binary_form=True)


def sha256(der):
    return hashlib.sha256(der).hexdigest()


def file_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def openssl(*args, **kw):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60,
                          **kw)


@pytest.fixture
def certs(tmp_path):
    """A directory for the test's certificates and keys."""
    d = tmp_path / "certs"
    d.mkdir()
    return d


def with_pair(crt, key, **conf):
    """sluice.conf values serving the Admin API's TLS with <crt> and <key>."""
    conf.update(admin_ssl_cert=crt, admin_ssl_cert_key=key)
    return conf


def make_pair(dirpath, stem, cn, kind="rsa"):
    """A self-signed certificate and key made with the openssl CLI; returns (crt, key)."""
    crt, key = os.path.join(dirpath, stem + ".crt"), os.path.join(dirpath, stem + ".key")
    newkey = "rsa:2048" if kind == "rsa" else "ec"
    extra = [] if kind == "rsa" else ["-pkeyopt", "ec_paramgen_curve:prime256v1"]
    r = openssl("req", "-x509", "-newkey", newkey, *extra, "-nodes", "-keyout", key, "-out", crt,
                "-days", "2", "-subj", "/O=Sluice Tests/CN=%s" % cn,
                "-addext", "subjectAltName=DNS:%s" % cn)
    assert r.returncode == 0, r.stderr
    return crt, key


def read_responses(sock, n, head_methods=()):
    """Reads until <n> complete responses arrived on <sock>; returns them."""
    buf = b""
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        got = rawhttp.parse_responses(buf, head_methods=head_methods) if buf else []
        if len(got) >= n and all(r.complete for r in got[:n]):
            return got[:n]
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return rawhttp.parse_responses(buf, head_methods=head_methods)


# --------------------------------------------------------------------------------------------------
# The same Admin API over HTTPS


def test_https_root_crud_bodies_and_keepalive(tmp_path):
    a = Admin(tmp_path)
    try:
        r = requests.get(a.https + "/", verify=False, timeout=T)
        assert r.status_code == 200, r.text
        assert r.json()["tagline"] == "Welcome to kong"
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        # a write over HTTPS, read back over HTTPS and over the plain listener
        r = requests.post(a.https + "/services", json={"name": "svc", "url": "http://example.com/p"},
                          verify=False, timeout=T)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        r = requests.get(a.https + "/services/svc", verify=False, timeout=T)
        assert r.status_code == 200 and r.json()["id"] == sid and r.json()["path"] == "/p"
        assert requests.get(a.http + "/services/svc", timeout=T).json()["id"] == sid
        # form bodies too
        r = requests.post(a.https + "/services/svc/routes", data={"name": "rt", "paths[]": "/r"},
                          verify=False, timeout=T)
        assert r.status_code == 201, r.text

        # keep-alive: several requests on one TLS connection, then two pipelined in one write
        with tls_connect(a.tls_port) as s:
            for i in range(5):
                s.sendall(b"GET /services/svc HTTP/1.1\r\nHost: x\r\n\r\n")
                (resp,) = read_responses(s, 1)
                assert resp.status == 200, i
                assert json.loads(resp.body)["id"] == sid
                assert resp.header("Connection") == "keep-alive"
            body = json.dumps({"name": "svc2", "host": "example.org"}).encode()
            s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s"
                      b"GET /services/svc2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                      % (len(body), body))
            got = read_responses(s, 2)
            assert [g.status for g in got] == [201, 200]
            assert json.loads(got[1].body)["host"] == "example.org"
            assert got[1].header("Connection") == "close"
            s.settimeout(5)
            assert s.recv(1) == b""  # closed after Connection: close (close_notify, then FIN)

        # a requests.Session reuses its one TLS connection
        with requests.Session() as sess:
            socks = set()
            for _ in range(4):
                r = sess.get(a.https + "/services/svc/routes", verify=False, timeout=T,
                             stream=True)
                socks.add(id(r.raw._connection.sock))
                assert r.json()["data"][0]["name"] == "rt"
            assert len(socks) == 1
    finally:
        a.stop()


def test_bodies_and_the_10mib_bound_match_the_plain_listener(tmp_path):
    a = Admin(tmp_path)
    try:
        # 3 MiB of JSON is read whole and validated (an unknown field), on both listeners alike
        big = {"name": "big", "host": "example.com", "junk": "x" * (3 * 1024 * 1024)}
        answers = []
        for base, verify in ((a.http, True), (a.https, False)):
            r = requests.post(base + "/services", json=big, verify=verify, timeout=30)
            answers.append((r.status_code, r.json()))
        assert answers[0] == answers[1]
        assert answers[1][0] == 400
        assert answers[1][1]["fields"] == {"junk": "unknown field"}
        # 9 MiB that is valid: the service is created over HTTPS
        ok = {"name": "nine", "host": "example.com", "tags": ["t"]}
        text = json.dumps(ok)
        padded = text[:-1] + " " * (9 * 1024 * 1024) + "}"
        r = requests.post(a.https + "/services", data=padded,
                          headers={"Content-Type": "application/json"}, verify=False, timeout=30)
        assert r.status_code == 201, r.text[:300]
        # a declared length over 10 MiB is refused before the body is read, as on plain TCP
        for port, wrap in ((a.plain_port, False), (a.tls_port, True)):
            raw = socket.create_connection(("127.0.0.1", port), timeout=T)
            s = client_ctx().wrap_socket(raw, server_hostname="localhost") if wrap else raw
            with s:
                s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                          b"\r\nContent-Length: %d\r\n\r\n{" % (10 * 1024 * 1024 + 1))
                (resp,) = read_responses(s, 1)
                assert resp.status == 413
                assert json.loads(resp.body) == {"message": "Payload too large"}
        # chunked bodies over TLS
        with tls_connect(a.tls_port) as s:
            body = json.dumps({"name": "chunky", "host": "example.net"}).encode()
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                              for i in range(0, len(body), 7))
            s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
            (resp,) = read_responses(s, 1)
            assert resp.status == 201, resp.body
        assert requests.get(a.https + "/services/chunky", verify=False,
                            timeout=T).status_code == 200
    finally:
        a.stop()


def test_regression_chunked_body_last_chunk_on_both_listeners(tmp_path):
    """The last (empty) chunk of a chunked body was copied from a NULL pointer (UBSan report in
    src/admin/server.c); it must be harmless on the plain and the TLS listener."""
    a = Admin(tmp_path)
    try:
        for port, wrap in ((a.plain_port, False), (a.tls_port, True)):
            raw = socket.create_connection(("127.0.0.1", port), timeout=T)
            s = client_ctx().wrap_socket(raw, server_hostname="localhost") if wrap else raw
            with s:
                body = json.dumps({"name": "c%d" % port, "host": "example.net"}).encode()
                s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"%x\r\n%s\r\n0;ext=1\r\n\r\n" % (len(body), body))
                (resp,) = read_responses(s, 1)
                assert resp.status == 201, resp.body
    finally:
        a.stop()


def test_dbless_admin_over_https(tmp_path):
    a = Admin(tmp_path, database="off")
    try:
        r = requests.get(a.https + "/status", verify=False, timeout=T)
        assert r.status_code == 200 and "configuration_hash" in r.json()
        r = requests.post(a.https + "/services", json={"host": "x"}, verify=False, timeout=T)
        assert r.status_code == 405
    finally:
        a.stop()


# --------------------------------------------------------------------------------------------------
# Certificates


def test_default_certificates_are_generated_private_and_reused(tmp_path):
    a = Admin(tmp_path, database="off")
    try:
        assert sorted(os.listdir(a.ssl_dir)) == sorted(DEFAULT_FILES)
        for name in DEFAULT_FILES:
            mode = stat.S_IMODE(os.stat(os.path.join(a.ssl_dir, name)).st_mode)
            if name.endswith(".key"):
                assert mode == 0o600, (name, oct(mode))
            else:
                assert mode & 0o022 == 0, (name, oct(mode))
        rsa = os.path.join(a.ssl_dir, "admin-kong-default.crt")
        ecdsa = os.path.join(a.ssl_dir, "admin-kong-default-ecdsa.crt")
        files = {sha256(file_der(rsa)): "rsa", sha256(file_der(ecdsa)): "ecdsa"}
        served = sha256(served_cert(a.tls_port))
        assert served in files
        # both pairs serve: a TLS 1.2 client that can only take one kind gets that one
        rsa_only = client_ctx(maximum_version=ssl.TLSVersion.TLSv1_2,
                              ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        ec_only = client_ctx(maximum_version=ssl.TLSVersion.TLSv1_2,
                             ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
        assert files[sha256(served_cert(a.tls_port, rsa_only))] == "rsa"
        assert files[sha256(served_cert(a.tls_port, ec_only))] == "ecdsa"
        # Kong's subject, checked by a client that trusts the generated file
        with tls_connect(a.tls_port, client_ctx(cafile=rsa, maximum_version=ssl.TLSVersion.TLSv1_2,
                                                ciphers="ECDHE-RSA-AES128-GCM-SHA256")) as s:
            cert = s.getpeercert()
        assert cert["subject"] == DEFAULT_SUBJECT
        assert cert["issuer"] == DEFAULT_SUBJECT
        assert "generated the default certificate" in a.s.stderr() + a.s.error_log()
        before = {n: open(os.path.join(a.ssl_dir, n), "rb").read() for n in DEFAULT_FILES}
        a.stop()

        a.start()  # the same prefix: nothing is regenerated
        after = {n: open(os.path.join(a.ssl_dir, n), "rb").read() for n in DEFAULT_FILES}
        assert after == before
        assert sha256(served_cert(a.tls_port, rsa_only)) == sha256(file_der(rsa))
        assert sha256(served_cert(a.tls_port, ec_only)) == sha256(file_der(ecdsa))
        assert served in files
        # the private keys never reach the logs
        logs = a.s.error_log() + a.s.stderr()
        for name in DEFAULT_FILES:
            if name.endswith(".key"):
                body = before[name].decode().splitlines()[1:-1]
                assert not any(line in logs for line in body)
        assert "PRIVATE KEY" not in logs
    finally:
        a.stop()


def test_no_certificate_is_made_without_an_ssl_listener(tmp_path):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"}, name="plain")
    try:
        assert requests.get(s.admin_url("/status"), timeout=T).status_code == 200
        assert not os.path.exists(os.path.join(s.prefix, "ssl"))
    finally:
        s.stop()


def test_configured_pair_is_served(tmp_path, certs):
    crt, key = make_pair(str(certs), "admin", "localhost")
    a = Admin(tmp_path, database="off",
              conf=with_pair(crt, key))
    try:
        with tls_connect(a.tls_port, client_ctx(cafile=crt)) as s:
            cert = s.getpeercert()
            assert s.selected_alpn_protocol() is None
        assert cert["subject"] == ((("organizationName", "Sluice Tests"),),
                                   (("commonName", "localhost"),))
        assert sha256(served_cert(a.tls_port)) == sha256(file_der(crt))
        # the verified request works end to end
        r = requests.get("https://localhost:%d/status" % a.tls_port, verify=crt, timeout=T)
        assert r.status_code == 200
        # no default certificate was generated
        assert not os.path.exists(a.ssl_dir)
    finally:
        a.stop()


def test_kong_list_format_rsa_and_ecdsa_pairs(tmp_path, certs):
    rcrt, rkey = make_pair(str(certs), "rsa", "rsa.sluice.test")
    ecrt, ekey = make_pair(str(certs), "ec", "ec.sluice.test", kind="ec")
    # relative paths are taken from the directory Sluice starts in, as Kong does
    rel = lambda p: os.path.relpath(p, str(tmp_path / "pair"))  # noqa: E731
    a = Admin(tmp_path, name="pair", database="off",
              conf={"admin_ssl_cert": "%s , %s" % (rel(rcrt), rel(ecrt)),
                    "admin_ssl_cert_key": "%s,%s" % (rel(rkey), rel(ekey))})
    try:
        rsa_only = client_ctx(maximum_version=ssl.TLSVersion.TLSv1_2,
                              ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        ec_only = client_ctx(maximum_version=ssl.TLSVersion.TLSv1_2,
                             ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
        assert sha256(served_cert(a.tls_port, rsa_only)) == sha256(file_der(rcrt))
        assert sha256(served_cert(a.tls_port, ec_only)) == sha256(file_der(ecrt))
    finally:
        a.stop()


def refused(tmp_path, name, conf):
    """Starts with <conf> (which must fail); returns stderr."""
    a = Admin(tmp_path, name=name, database="off", conf=conf, start=False)
    with pytest.raises(SluiceError):
        a.s.start()
    assert a.s.returncode not in (None, 0)
    return a


def test_mismatched_pair_refuses_to_start(tmp_path, certs):
    crt, _ = make_pair(str(certs), "one", "one.sluice.test")
    _, key2 = make_pair(str(certs), "two", "two.sluice.test")
    a = refused(tmp_path, "mismatch", with_pair(crt, key2))
    err = a.s.stderr()
    assert "Error: admin_ssl_cert_key: %s does not match the certificate in %s" % (key2, crt) \
        in err, err
    with open(key2) as f:
        body = f.read().splitlines()[1:-1]
    assert not any(line in err + a.s.error_log() for line in body)
    assert not port_open(a.tls_port) and not port_open(a.plain_port)


def test_unloadable_certificates_refuse_to_start(tmp_path, certs):
    crt, key = make_pair(str(certs), "ok", "ok.sluice.test")
    missing = str(certs / "nope.crt")
    a = refused(tmp_path, "missing", with_pair(missing, key))
    assert "Error: admin_ssl_cert: cannot open %s: No such file or directory" % missing \
        in a.s.stderr()
    garbage = str(certs / "garbage.key")
    with open(garbage, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n"
                "-----END PRIVATE KEY-----\n")
    a = refused(tmp_path, "garbage", with_pair(crt, garbage))
    err = a.s.stderr()
    assert "Error: admin_ssl_cert_key: failed loading key from %s" % garbage in err, err
    assert "c2VjcmV0" not in err + a.s.error_log()
    # Kong's conf_loader checks, only when an admin listener has `ssl`
    a = refused(tmp_path, "nokey", {"admin_ssl_cert": crt})
    assert "admin_ssl_cert_key must be specified" in a.s.stderr()
    a = refused(tmp_path, "counts", {"admin_ssl_cert": "%s,%s" % (crt, crt),
                                     "admin_ssl_cert_key": key})
    assert ("admin_ssl_cert was specified 2 times while admin_ssl_cert_key was specified 1 times"
            in a.s.stderr())
    a = refused(tmp_path, "pem", {"admin_ssl_cert": crt,
                                  "admin_ssl_cert_key": "-----BEGIN PRIVATE KEY-----abc"})
    assert "admin_ssl_cert_key: PEM content is not supported here" in a.s.stderr()
    assert "abc" not in a.s.stderr().replace("admin_ssl", "")


# --------------------------------------------------------------------------------------------------
# Misbehaving clients


def test_plain_http_to_the_tls_port_is_closed(tmp_path):
    a = Admin(tmp_path, database="off")
    try:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", a.tls_port), timeout=5) as s:
                s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
                t0 = time.monotonic()
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                assert time.monotonic() - t0 < 4
                assert b"HTTP/1.1 200" not in data
        assert a.s.alive()
        r = requests.get(a.https + "/status", verify=False, timeout=T)
        assert r.status_code == 200
        assert "http request" in a.s.error_log()
        # the plain listener is unaffected
        assert requests.get(a.http + "/status", timeout=T).status_code == 200
    finally:
        a.stop()


def test_handshake_is_bounded_by_client_header_timeout(tmp_path):
    a = Admin(tmp_path, database="off", conf={"client_header_timeout": "1s"})
    try:
        with socket.create_connection(("127.0.0.1", a.tls_port), timeout=6) as s:
            # a partial ClientHello, then silence
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            t0 = time.monotonic()
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            took = time.monotonic() - t0
        assert data == b""
        assert 0.5 < took < 4, took
        # The wait for the first request starts afresh after the handshake (nginx): a connection
        # that handshakes at 0.6 s and asks at 1.2 s is served, past the accept's 1 s deadline.
        raw = socket.create_connection(("127.0.0.1", a.tls_port), timeout=T)
        time.sleep(0.6)
        with client_ctx().wrap_socket(raw, server_hostname="localhost") as s:
            time.sleep(0.6)
            s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
            (resp,) = read_responses(s, 1)
            assert resp.status == 200
    finally:
        a.stop()


def test_garbage_and_resets_do_not_hurt(tmp_path):
    a = Admin(tmp_path, database="off")
    try:
        payloads = [b"\x16\x03\x01\xff\xff" + os.urandom(300), os.urandom(2000), b"\x00" * 10,
                    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]
        for p in payloads:
            with socket.create_connection(("127.0.0.1", a.tls_port), timeout=5) as s:
                try:
                    s.sendall(p)
                    s.recv(100)
                except OSError:
                    pass
        # a client that completes the handshake and vanishes mid-request
        s = tls_connect(a.tls_port)
        s.sendall(b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        s.close()  # Python sends no close_notify: the server sees a truncated TLS stream
        # a client that resets the TCP connection
        raw = socket.create_connection(("127.0.0.1", a.tls_port), timeout=5)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        raw.close()
        assert a.s.alive()
        assert requests.get(a.https + "/status", verify=False, timeout=T).status_code == 200
    finally:
        a.stop()


# --------------------------------------------------------------------------------------------------
# ALPN and the openssl CLI


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
def test_openssl_s_client_negotiates_http11(tmp_path):
    a = Admin(tmp_path, database="off")
    try:
        req = "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        for alpn in ("http/1.1", "h2,http/1.1"):
            r = openssl("s_client", "-connect", "127.0.0.1:%d" % a.tls_port, "-servername",
                        "localhost", "-alpn", alpn, "-ign_eof", input=req)
            assert "ALPN protocol: http/1.1" in r.stdout, r.stdout + r.stderr
            assert "HTTP/1.1 200 OK" in r.stdout
            assert "TLSv1.3" in r.stdout
        # no HTTP/2 on the Admin API: a client that offers only h2 is refused (as nginx does)
        r = openssl("s_client", "-connect", "127.0.0.1:%d" % a.tls_port, "-alpn", "h2",
                    input="")
        assert "no application protocol" in r.stdout + r.stderr
        # TLS 1.2 with Kong's intermediate ciphers; CBC suites are gone
        r = openssl("s_client", "-connect", "127.0.0.1:%d" % a.tls_port, "-tls1_2", "-cipher",
                    "ECDHE-RSA-AES256-GCM-SHA384", input="")
        assert "Cipher is ECDHE-RSA-AES256-GCM-SHA384" in r.stdout, r.stdout + r.stderr
        r = openssl("s_client", "-connect", "127.0.0.1:%d" % a.tls_port, "-tls1_2", "-cipher",
                    "ECDHE-RSA-AES128-SHA", input="")
        assert "Cipher is (NONE)" in r.stdout
        r = openssl("s_client", "-connect", "127.0.0.1:%d" % a.tls_port, "-tls1_1", input="")
        assert "Cipher is (NONE)" in r.stdout
        assert a.s.alive()
    finally:
        a.stop()


# ------------------------------------------------------------------------------- reload


def reload_admin(a, **conf):
    """Rewrites sluice.conf with <conf>, sends HUP, waits for the reload's notice line."""
    before = a.s.error_log().count("reload: configuration reloaded")
    a.s.write_conf(**conf)
    a.s.signal(signal.SIGHUP)
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        if a.s.error_log().count("reload: configuration reloaded") > before:
            return
        time.sleep(0.05)
    raise AssertionError(a.s.error_log()[-2000:])


def test_reload_rotates_the_admin_certificate_and_moves_listeners(tmp_path, certs):
    crt1, key1 = make_pair(str(certs), "one", "localhost")
    crt2, key2 = make_pair(str(certs), "two", "localhost")
    a = Admin(tmp_path, database="off", conf=with_pair(crt1, key1))
    try:
        assert sha256(served_cert(a.tls_port)) == sha256(file_der(crt1))
        kept = tls_connect(a.tls_port)  # opened before the reload: keeps its session
        kept.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(kept, 1)[0].status == 200
        plain = socket.create_connection(("127.0.0.1", a.plain_port), timeout=T)
        # same addresses, new certificate files: the rotation a renewal needs
        reload_admin(a, admin_ssl_cert=crt2, admin_ssl_cert_key=key2)
        assert sha256(served_cert(a.tls_port)) == sha256(file_der(crt2))
        kept.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(kept, 1)[0].status == 200
        # move the plain listener; the TLS one stays; open connections go on
        new_plain = free_port()
        reload_admin(a, admin_listen="127.0.0.1:%d, 127.0.0.1:%d ssl" % (new_plain, a.tls_port))
        assert requests.get("http://127.0.0.1:%d/status" % new_plain, timeout=T).status_code == 200
        assert not port_open(a.plain_port)
        plain.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(plain, 1)[0].status == 200
        assert sha256(served_cert(a.tls_port)) == sha256(file_der(crt2))
        plain.close()
        kept.close()
    finally:
        a.stop()


def test_reload_with_a_bad_admin_certificate_changes_nothing(tmp_path, certs):
    crt1, key1 = make_pair(str(certs), "one", "localhost")
    _, key2 = make_pair(str(certs), "two", "localhost")
    a = Admin(tmp_path, database="off", conf=with_pair(crt1, key1))
    try:
        before = a.s.error_log().count("reload: configuration reloaded")
        a.s.write_conf(admin_ssl_cert=crt1, admin_ssl_cert_key=key2, headers="off")
        a.s.signal(signal.SIGHUP)
        deadline = time.monotonic() + T
        while "keeping the running configuration" not in a.s.error_log():
            assert time.monotonic() < deadline, a.s.error_log()[-2000:]
            time.sleep(0.05)
        assert "does not match the certificate" in a.s.error_log()
        assert a.s.error_log().count("reload: configuration reloaded") == before
        assert sha256(served_cert(a.tls_port)) == sha256(file_der(crt1))
        assert requests.get(a.http + "/status", timeout=T).status_code == 200
    finally:
        a.stop()
