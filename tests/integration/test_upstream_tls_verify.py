# SPDX-License-Identifier: Apache-2.0
"""An https service's TLS settings, as Kong applies them per service (kong/runloop/upstream_ssl.lua):

- tls_verify = true checks the upstream's chain against the service's ca_certificates (the system's
  store when it lists none) and its name against the Host sent upstream; tls_verify_depth bounds
  the chain (nginx's proxy_ssl_verify_depth, 1 when null).
- client_certificate is presented to an upstream that asks for one (mutual TLS).
- A ca_certificates or client_certificate id that names nothing answers 500: the request never goes
  out unverified, or without the certificate the service asks for.
- In the database the same holds, and a write to a CA certificate or a service takes effect at once.

Certificates are made on the spot (lib.certs): a root CA, an intermediate, leaves for localhost."""

import ssl
import uuid

import pytest
import requests

from lib.certs import issued, self_signed
from lib.sluice import Sluice, SluiceError, cli, kong, service, wait_until

T = 10


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A root CA, an intermediate it issued, and server certificates for localhost: one issued by
    the root, one by the intermediate (chain file: leaf then intermediate), one for another name.
    A client CA and a client certificate it issued. Paths of the server files, PEM texts of the
    rest."""
    d = tmp_path_factory.mktemp("pki")
    root, root_key = self_signed("Sluice Test Root", ca=True)
    inter, inter_key = issued("Sluice Test Intermediate", root, root_key, ca=True)
    leaf, leaf_key = issued("localhost", root, root_key)
    deep, deep_key = issued("localhost", inter, inter_key)
    other, other_key = issued("other.test", root, root_key)
    client_ca, client_ca_key = self_signed("Sluice Client CA", ca=True)
    client, client_key = issued("sluice-client", client_ca, client_ca_key)

    def pair(name, cert, key):
        (d / (name + ".pem")).write_text(cert)
        (d / (name + ".key")).write_text(key)
        return str(d / (name + ".pem")), str(d / (name + ".key"))

    (d / "client_ca.pem").write_text(client_ca)
    return {"root": root, "leaf": pair("leaf", leaf, leaf_key),
            "deep": pair("deep", deep + inter, deep_key),
            "other": pair("other", other, other_key),
            "client_ca_path": str(d / "client_ca.pem"), "client": client,
            "client_key": client_key}


def tls_upstream(upstream_factory, files, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return upstream_factory(tls=ctx)


def https_service(name, port, path, **fields):
    svc = service(name, port, [{"paths": [path]}], **fields)
    svc["url"] = "https://localhost:%d" % port
    return svc


ROOT_ID = "5d4f1b1e-6a59-4c5e-9a47-3f0d3c7a9b01"


def test_tls_verify_with_the_services_ca_certificates(pki, upstream_factory, sluice_factory):
    good = tls_upstream(upstream_factory, pki["leaf"])
    deep = tls_upstream(upstream_factory, pki["deep"])
    other = tls_upstream(upstream_factory, pki["other"])
    doc = kong(https_service("good", good.port, "/good", tls_verify=True,
                             ca_certificates=[ROOT_ID]),
               https_service("deep", deep.port, "/deep", tls_verify=True,
                             ca_certificates=[ROOT_ID]),
               https_service("shallow", deep.port, "/shallow", tls_verify=True,
                             tls_verify_depth=0, ca_certificates=[ROOT_ID], retries=0),
               https_service("other", other.port, "/other", tls_verify=True,
                             ca_certificates=[ROOT_ID], retries=0),
               https_service("system", good.port, "/system", tls_verify=True, retries=0))
    doc["ca_certificates"] = [{"id": ROOT_ID, "cert": pki["root"]}]
    s = sluice_factory(doc, {"admin_listen": "auto"})
    assert requests.get(s.url("/good"), timeout=T).status_code == 200
    svc = requests.get(s.admin_url("/services/good"), timeout=T).json()
    assert svc["ca_certificates"] == [ROOT_ID] and svc["tls_verify"] is True, svc
    # an intermediate between the leaf and the trusted root: within the default depth (1)
    assert requests.get(s.url("/deep"), timeout=T).status_code == 200
    assert len(good.requests) == 1 and len(deep.requests) == 1

    # tls_verify_depth 0 leaves no room for the intermediate
    assert requests.get(s.url("/shallow"), timeout=T).status_code == 502
    # a certificate for another name, however well issued
    assert requests.get(s.url("/other"), timeout=T).status_code == 502
    # no ca_certificates: the system's store, which has never heard of this root
    assert requests.get(s.url("/system"), timeout=T).status_code == 502
    assert len(deep.requests) == 1 and other.requests == [] and len(good.requests) == 1
    log = lambda: s.error_log()  # noqa: E731
    assert wait_until(lambda: "upstream SSL certificate verify error: (22: certificate chain "
                      "too long)" in log()), s.logs()
    assert "upstream SSL certificate verify error: (62: hostname mismatch)" in log()
    assert "upstream SSL certificate verify error: (20: unable to get local issuer " in log()


def test_client_certificate_for_an_upstream_that_asks_for_one(pki, upstream_factory,
                                                              sluice_factory):
    up = tls_upstream(upstream_factory, pki["leaf"], client_ca=pki["client_ca_path"])
    cert_id = str(uuid.uuid4())
    doc = kong(https_service("mtls", up.port, "/mtls", client_certificate={"id": cert_id}),
               https_service("anonymous", up.port, "/anon", retries=0))
    doc["certificates"] = [{"id": cert_id, "cert": pki["client"], "key": pki["client_key"]}]
    s = sluice_factory(doc, {"admin_listen": "auto"})
    r = requests.get(s.url("/mtls"), timeout=T)
    assert r.status_code == 200, r.text
    # the DB-less Admin API shows the reference as Kong does
    svc = requests.get(s.admin_url("/services/mtls"), timeout=T).json()
    assert svc["client_certificate"] == {"id": cert_id}, svc
    assert svc["ca_certificates"] is None
    assert len(up.requests) == 1
    # without one the upstream refuses the handshake (or, in TLS 1.3, the first record after it)
    assert requests.get(s.url("/anon"), timeout=T).status_code == 502
    assert len(up.requests) == 1
    assert wait_until(lambda: len(up.tls_errors) >= 1)
    # the key never reaches a log
    body = pki["client_key"].splitlines()[1]
    assert body not in s.error_log() and body not in s.stderr()


def test_a_ca_certificate_id_that_names_nothing_answers_500(pki, upstream_factory,
                                                            sluice_factory):
    up = tls_upstream(upstream_factory, pki["leaf"])
    missing = str(uuid.uuid4())
    doc = kong(https_service("lost", up.port, "/lost", tls_verify=True,
                             ca_certificates=[missing]))
    s = sluice_factory(doc)
    r = requests.get(s.url("/lost"), headers={"Accept": "application/json"}, timeout=T)
    assert r.status_code == 500, r.text
    assert r.json()["message"] == "An unexpected error occurred"
    assert up.connections == 0
    assert ("service lost: ca_certificates %s does not exist; its requests answer 500" % missing
            in s.stderr() + s.error_log())


def test_database_writes_to_ca_certificates_and_services_apply_at_once(pki, upstream_factory,
                                                                       sluice_factory):
    up = tls_upstream(upstream_factory, pki["leaf"])
    s = sluice_factory(kong(), {"database": "sqlite", "declarative_config": None,
                                "admin_listen": "auto"})
    a = s.admin_url("")
    r = requests.post(a + "/ca_certificates", json={"cert": pki["root"]}, timeout=T)
    assert r.status_code == 201, r.text
    ca_id = r.json()["id"]
    r = requests.post(a + "/services", json={"name": "svc", "url": "https://localhost:%d" % up.port,
                                             "tls_verify": True, "retries": 0,
                                             "ca_certificates": [ca_id]}, timeout=T)
    assert r.status_code == 201, r.text
    assert requests.post(a + "/services/svc/routes", json={"paths": ["/"]},
                         timeout=T).status_code == 201
    assert requests.get(s.url("/"), timeout=T).status_code == 200
    # the service stops trusting the root: the next request is refused
    assert requests.patch(a + "/services/svc", json={"ca_certificates": None},
                          timeout=T).status_code == 200
    assert requests.get(s.url("/"), timeout=T).status_code == 502
    assert requests.patch(a + "/services/svc", json={"ca_certificates": [ca_id]},
                          timeout=T).status_code == 200
    assert requests.get(s.url("/"), timeout=T).status_code == 200
    # the CA certificate replaced by another: the service's trust follows it
    other_root, _ = self_signed("Another Root", ca=True)
    assert requests.patch(a + "/ca_certificates/" + ca_id, json={"cert": other_root},
                          timeout=T).status_code == 200
    assert requests.get(s.url("/"), timeout=T).status_code == 502
    assert len(up.requests) == 2


# ------------------------------------------------------------------ sluice.conf defaults (kong.md §3.8)


def test_conf_defaults_verify_trust_and_client_certificate(pki, upstream_factory, sluice_factory,
                                                           tmp_path):
    """nginx_proxy_proxy_ssl_verify is tls_verify where a service leaves it null,
    lua_ssl_trusted_certificate what it trusts when it lists no ca_certificates, and client_ssl's
    pair the certificate a service without its own presents."""
    (tmp_path / "root.pem").write_text(pki["root"])
    (tmp_path / "client.pem").write_text(pki["client"])
    (tmp_path / "client.key").write_text(pki["client_key"])
    good = tls_upstream(upstream_factory, pki["leaf"])
    other = tls_upstream(upstream_factory, pki["other"])
    mtls = tls_upstream(upstream_factory, pki["leaf"], client_ca=pki["client_ca_path"])
    doc = kong(https_service("good", good.port, "/good"),
               https_service("other", other.port, "/other", retries=0),
               https_service("lax", other.port, "/lax", tls_verify=False),
               https_service("mtls", mtls.port, "/mtls"))
    s = sluice_factory(doc, {"nginx_proxy_proxy_ssl_verify": "on",
                             "lua_ssl_trusted_certificate": str(tmp_path / "root.pem"),
                             "client_ssl": "on",
                             "client_ssl_cert": str(tmp_path / "client.pem"),
                             "client_ssl_cert_key": str(tmp_path / "client.key")})
    assert requests.get(s.url("/good"), timeout=T).status_code == 200
    # verified by default now: a certificate for another name is refused...
    assert requests.get(s.url("/other"), timeout=T).status_code == 502
    assert other.requests == []
    # ...unless the service says tls_verify: false
    assert requests.get(s.url("/lax"), timeout=T).status_code == 200
    # the global client certificate, to an upstream that asks for one
    assert requests.get(s.url("/mtls"), timeout=T).status_code == 200
    assert len(mtls.requests) == 1 and mtls.tls_errors == []
    key_line = pki["client_key"].splitlines()[1]
    assert key_line not in s.error_log() + s.stderr()


def test_conf_trusted_certificate_replaces_the_system_store(pki, upstream_factory,
                                                            sluice_factory, tmp_path):
    """nginx_proxy_proxy_ssl_trusted_certificate is then the one trust store (nginx's
    proxy_ssl_trusted_certificate); without it lua_ssl_trusted_certificate's default `system`
    knows nothing of the test root."""
    (tmp_path / "root.pem").write_text(pki["root"])
    good = tls_upstream(upstream_factory, pki["leaf"])
    doc = kong(https_service("good", good.port, "/good", tls_verify=True, retries=0))
    s = sluice_factory(doc, {"nginx_proxy_proxy_ssl_trusted_certificate":
                             str(tmp_path / "root.pem")})
    assert requests.get(s.url("/good"), timeout=T).status_code == 200
    s2 = sluice_factory(doc)
    assert requests.get(s2.url("/good"), timeout=T).status_code == 502


@pytest.mark.parametrize("lines, message", [
    ("client_ssl = on\n", "client_ssl_cert must be specified"),
    ("client_ssl = on\nclient_ssl_cert = /nonexistent/c.pem\nclient_ssl_cert_key = /nonexistent/k",
     "client_ssl_cert: failed loading certificate from /nonexistent/c.pem"),
    ("lua_ssl_trusted_certificate = system, /nonexistent/ca.pem\n",
     "lua_ssl_trusted_certificate: no such file at /nonexistent/ca.pem"),
    ("nginx_proxy_proxy_ssl_trusted_certificate = /nonexistent/ca.pem\n",
     "nginx_proxy_proxy_ssl_trusted_certificate: no such file at /nonexistent/ca.pem"),
    ("nginx_proxy_proxy_ssl_verify = maybe\n", "nginx_proxy_proxy_ssl_verify is not a boolean"),
    ("nginx_proxy_proxy_ssl_verify_depth = 65\n",
     "nginx_proxy_proxy_ssl_verify_depth must be between 0 and 64"),
])
def test_conf_upstream_tls_errors(tmp_path, lines, message):
    p = tmp_path / "bad.conf"
    p.write_text("daemon = off\n" + lines)
    r = cli("check", p)
    assert r.returncode != 0 and r.stderr.startswith("Error:"), r.stderr
    assert message in r.stderr, r.stderr


def test_conf_trusted_certificate_size_limit(pki, tmp_path):
    """A PEM file sluice.conf names is read whole at start, up to 8 MiB (SL_UPSTREAM_TLS_MAX_PEM):
    at the limit Sluice starts, one byte more refuses the start with the file named."""
    limit = 8 * 1024 * 1024
    big = tmp_path / "big.pem"
    pem = pki["root"].encode()
    big.write_bytes(pem + b"\n" * (limit - len(pem)))
    conf = {"nginx_proxy_proxy_ssl_trusted_certificate": str(big)}
    s = Sluice(tmp_path, kong(), conf, name="at-limit")
    try:
        assert s.alive()
    finally:
        s.stop()
    big.write_bytes(pem + b"\n" * (limit + 1 - len(pem)))
    s = Sluice(tmp_path, kong(), conf, name="over-limit", start=False)
    with pytest.raises(SluiceError) as ei:
        s.start()
    assert s.returncode not in (None, 0)
    assert ("nginx_proxy_proxy_ssl_trusted_certificate: %s is larger than %d bytes" % (big, limit)
            in str(ei.value)), str(ei.value)


def test_reload_applies_the_conf_defaults(pki, upstream_factory, sluice_factory, tmp_path):
    (tmp_path / "root.pem").write_text(pki["root"])
    other = tls_upstream(upstream_factory, pki["other"])
    s = sluice_factory(kong(https_service("other", other.port, "/", retries=0)))
    assert requests.get(s.url("/"), timeout=T).status_code == 200
    s.write_conf(nginx_proxy_proxy_ssl_verify="on",
                 lua_ssl_trusted_certificate=str(tmp_path / "root.pem"))
    s.reload()
    assert wait_until(lambda: requests.get(s.url("/"), timeout=T).status_code == 502)
    # a reload whose file cannot be read keeps what runs, defaults included
    s.write_conf(lua_ssl_trusted_certificate="/nonexistent/ca.pem")
    s.reload()
    assert requests.get(s.url("/"), timeout=T).status_code == 502
    assert "keeping the running configuration" in s.error_log()


def test_reload_reads_the_system_store_again(pki, upstream_factory, sluice_factory, tmp_path):
    """lua_ssl_trusted_certificate = system (the default) is OpenSSL's default paths, here pointed
    at a bundle of our own through SSL_CERT_FILE / SSL_CERT_DIR. A running configuration keeps
    the store it loaded; a reload after the bundle changed (update-ca-certificates) loads it
    again, as an nginx reload re-reads proxy_ssl_trusted_certificate."""
    bundle = tmp_path / "system-bundle.pem"
    with open(pki["client_ca_path"]) as f:
        bundle.write_text(f.read())  # a CA that never issued the upstream's certificate
    empty_dir = tmp_path / "no-hashed-certs"
    empty_dir.mkdir()
    good = tls_upstream(upstream_factory, pki["leaf"])
    s = sluice_factory(kong(https_service("sys", good.port, "/", tls_verify=True, retries=0)),
                       env={"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(empty_dir)})
    assert requests.get(s.url("/"), timeout=T).status_code == 502
    assert good.requests == []
    bundle.write_text(pki["root"])
    # no reload yet: the store in force stays (and its handshakes keep failing)
    assert requests.get(s.url("/"), timeout=T).status_code == 502
    s.reload()
    assert wait_until(lambda: requests.get(s.url("/"), timeout=T).status_code == 200)
    assert len(good.requests) == 1
    # and back: a reload after the root left the bundle refuses the upstream again
    with open(pki["client_ca_path"]) as f:
        bundle.write_text(f.read())
    s.reload()
    assert wait_until(lambda: requests.get(s.url("/"), timeout=T).status_code == 502)
    assert len(good.requests) == 1


def test_verifying_against_an_empty_trust_store_is_said_at_load(pki, upstream_factory,
                                                                sluice_factory):
    """lua_ssl_trusted_certificate = off leaves a verifying service without ca_certificates
    nothing to trust (nginx without proxy_ssl_trusted_certificate): every handshake fails, and
    the load says so rather than leave it to the first 502."""
    good = tls_upstream(upstream_factory, pki["leaf"])
    doc = kong(https_service("strict", good.port, "/", tls_verify=True, retries=0))
    s = sluice_factory(doc, {"lua_ssl_trusted_certificate": "off"})
    assert requests.get(s.url("/"), timeout=T).status_code == 502
    assert good.requests == []
    assert ("1 https service(s) (first: strict) verify their upstream's certificate but trust no "
            "certificate" in s.stderr() + s.error_log())
