# SPDX-License-Identifier: Apache-2.0
"""Kong's nested declarative forms (kong/db/schema/others/declarative_config.lua), through the three
loaders: a declarative_config file (`sluice start`, `config parse`), POST /config in DB-less mode,
and `config db_import`.

Kong nests every table in each table its foreign keys reference (nest_foreign_relationships): a
certificate nests the services and upstreams whose `client_certificate` it is (services with their
routes, upstreams with their targets) and its snis. A nested entry may name its parent again in
its foreign field: any value naming an entity of the file passes flatten()'s second validation,
and populate_references() then gives the entry its enclosing parent whatever it named; a string
naming nothing is the first pass's `value must be null`, an {id = <uuid>} naming nothing an invalid
reference. A `client_certificate` is an id string or {id = ...}, on https services only."""

import os
import uuid

import pytest
import requests

from lib import upstream as U
from lib.certs import self_signed
from lib.sluice import Sluice, cli, dump_yaml, kong, without_hint

T = 10
NS = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")  # Kong's declarative id namespace
CID = "11111111-1111-4111-8111-111111111111"
UNKNOWN = "22222222-2222-4222-8222-222222222222"


def sid(name):
    return str(uuid.uuid5(uuid.uuid5(NS, "services"), name))


@pytest.fixture(scope="module")
def pems():
    return self_signed("leaf.test")


@pytest.fixture
def ups(upstream_factory):
    """Two upstreams answering their own name: which service a route reached."""
    return {n: upstream_factory(U.respond(200, body=n.encode())) for n in ("a", "b")}


def nested_doc(pems, ups, in_cert_url=None):
    """Every nested form at once. <in_cert_url>: the URL of the service nested in the certificate
    without naming it (http in DB-less mode, where Kong does not check it; db_import's upsert
    refuses a client certificate on http)."""
    a = "http://127.0.0.1:%d" % ups["a"].port
    b = "http://127.0.0.1:%d" % ups["b"].port
    tls = "https://127.0.0.1:9"
    return {
        "_format_version": "3.0",
        "certificates": [{
            "id": CID, "cert": pems[0], "key": pems[1], "snis": ["n.test"],
            "services": [
                {"name": "in-cert", "url": in_cert_url or a,
                 "routes": [{"name": "r-in-cert", "paths": ["/in-cert"]}]},
                # naming the parent again: as {id: ...} and as the bare id
                {"name": "cc-record", "url": tls, "client_certificate": {"id": CID}},
                {"name": "cc-string", "url": tls, "client_certificate": CID}],
            "upstreams": [{"name": "u.test", "client_certificate": CID,
                           "targets": [{"target": "10.0.0.1:80"}]}],
        }],
        "services": [
            # a nested route naming another service of the file belongs to its parent all the same
            {"name": "a", "url": a, "routes": [{"name": "r-a", "paths": ["/a"], "service": "b"}]},
            {"name": "b", "url": b,
             "routes": [{"name": "r-b", "paths": ["/b"], "service": {"id": sid("a")}}]},
            {"name": "top-cc", "url": tls, "client_certificate": {"id": CID}},
            {"name": "top-cc-string", "url": tls, "client_certificate": CID}],
    }


def write(tmp_path, name, doc):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(dump_yaml(doc))
    return path


def check_dbless(s):
    """The nested services and routes are served, each route by its enclosing service."""
    assert requests.get(s.url("/in-cert"), timeout=T).text == "a"
    assert requests.get(s.url("/a"), timeout=T).text == "a"
    assert requests.get(s.url("/b"), timeout=T).text == "b"
    a = s.admin_url("").rstrip("/")
    routes = {r["name"]: r for r in requests.get(a + "/routes", timeout=T).json()["data"]}
    assert routes["r-in-cert"]["service"] == {"id": sid("in-cert")}
    assert routes["r-a"]["service"] == {"id": sid("a")}
    assert routes["r-b"]["service"] == {"id": sid("b")}
    names = sorted(x["name"] for x in requests.get(a + "/services", timeout=T).json()["data"])
    assert names == ["a", "b", "cc-record", "cc-string", "in-cert", "top-cc", "top-cc-string"]


def test_a_declarative_file_loads_the_nested_forms(tmp_path, pems, ups):
    doc = nested_doc(pems, ups)
    r = cli("config", "parse", write(tmp_path, "nested.yml", doc))
    assert r.returncode == 0 and "parse successful" in r.stdout, r.stderr
    s = Sluice(tmp_path, doc, conf={"admin_listen": "auto"})
    try:
        check_dbless(s)
    finally:
        s.stop()


def test_post_config_loads_the_nested_forms(tmp_path, pems, ups):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"})
    try:
        r = requests.post(s.admin_url("/config"), json=nested_doc(pems, ups), timeout=T)
        assert r.status_code == 201, r.text
        check_dbless(s)
    finally:
        s.stop()


def test_db_import_stores_the_nested_forms(tmp_path, pems, ups):
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "admin_listen": "auto"}, start=False)
    path = write(tmp_path, "nested.yml", nested_doc(pems, ups, "https://127.0.0.1:9"))
    for _ in range(2):  # and again: each row is replaced by itself
        r = cli("config", "db_import", path, "-c", s.conf_path, "-p", s.prefix)
        assert r.returncode == 0 and "import successful" in r.stdout, r.stderr
    s.start()
    try:
        a = s.admin_url("").rstrip("/")
        services = {x["name"]: x for x in requests.get(a + "/services", timeout=T).json()["data"]}
        assert {n: x["client_certificate"] for n, x in services.items()} == {
            "a": None, "b": None, "in-cert": {"id": CID}, "cc-record": {"id": CID},
            "cc-string": {"id": CID}, "top-cc": {"id": CID}, "top-cc-string": {"id": CID}}
        routes = {x["name"]: x for x in requests.get(a + "/routes", timeout=T).json()["data"]}
        assert {n: x["service"]["id"] for n, x in routes.items()} == {
            "r-in-cert": sid("in-cert"), "r-a": sid("a"), "r-b": sid("b")}
        up = requests.get(a + "/upstreams/u.test", timeout=T).json()
        assert up["client_certificate"] == {"id": CID}
        targets = requests.get(a + "/upstreams/u.test/targets", timeout=T).json()["data"]
        assert [t["target"] for t in targets] == ["10.0.0.1:80"]
        assert requests.get(a + "/certificates/" + CID, timeout=T).json()["snis"] == ["n.test"]
        assert requests.get(s.url("/a"), timeout=T).text == "a"
    finally:
        s.stop()


# ---- errors, in Kong's flattened format --------------------------------------------------------

def in_cert(pems, **fields):
    doc = {"_format_version": "3.0",
           "certificates": [dict({"id": CID, "cert": pems[0], "key": pems[1]}, **fields)]}
    return doc


def svc(name="s", **fields):
    return dict({"name": name, "url": "http://127.0.0.1:9"}, **fields)


CERT_SVC = "in 'certificates': in entry 1 of 'certificates': in 'services': in entry 1 of 'services'"

ERRORS = {
    # a nested route's service naming nothing by id (by name it is the first pass's "value must
    # be null": test_declarative_kong_spec.py)
    "route-names-unknown-id": (
        lambda p: kong(svc(routes=[{"name": "r", "paths": ["/"], "service": {"id": UNKNOWN}}])),
        ["in 'routes': in 'r': invalid reference 'service: {\"id\":\"%s\"}' (no such entry in "
         "'services')" % UNKNOWN],
        {"routes": {"r": ["invalid reference 'service: {\"id\":\"%s\"}' (no such entry in "
                          "'services')" % UNKNOWN]}}),
    # a service nested in a certificate naming another certificate
    "cert-service-names-nothing": (
        lambda p: in_cert(p, services=[svc(url="https://127.0.0.1:9",
                                           client_certificate="nope")]),
        [CERT_SVC + ": in 'client_certificate': value must be null"],
        {"certificates": [{"services": [{"client_certificate": "value must be null"}]}]}),
    # the errors of entries nested two levels down
    "cert-service-route": (
        lambda p: in_cert(p, services=[svc(routes=[{"name": "r", "protocols": ["http"]}])]),
        [CERT_SVC + ": in 'routes': in entry 1 of 'routes': must set one of 'methods', "
         "'hosts', 'headers', 'paths' when 'protocols' is 'http'"],
        {"certificates": [{"services": [{"routes": [{"@entity": [
            "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is "
            "'http'"]}]}]}]}),
    "cert-upstream-target": (
        lambda p: in_cert(p, upstreams=[{"name": "u.test",
                                          "targets": [{"target": "10.0.0.1", "weight": 70000}]}]),
        ["in 'certificates': in entry 1 of 'certificates': in 'upstreams': in entry 1 of "
         "'upstreams': in 'targets': in entry 1 of 'targets': in 'weight': value should be "
         "between 0 and 65535"],
        {"certificates": [{"upstreams": [{"targets": [{
            "weight": "value should be between 0 and 65535"}]}]}]}),
    # Kong registers the certificates' services first: the top-level duplicate is reported
    "duplicate-name": (
        lambda p: dict(in_cert(p, services=[svc("dup", url="https://127.0.0.1:9")]),
                       services=[svc("dup")]),
        ["in 'services': in entry 1 of 'services': uniqueness violation: 'services' entity "
         "with name set to 'dup' already declared"],
        {"services": ["uniqueness violation: 'services' entity with name set to 'dup' already "
                      "declared"]}),
    # services' entity check: a client certificate on https (and tls) only
    "client-certificate-on-http": (
        lambda p: dict(in_cert(p), services=[svc(client_certificate=CID)]),
        ["in 'services': in entry 1 of 'services': in 'client_certificate': value must be null",
         "in 'services': in entry 1 of 'services': failed conditional validation given value "
         "of field 'protocol'"],
        {"services": [{"client_certificate": "value must be null", "@entity": [
            "failed conditional validation given value of field 'protocol'"]}]}),
}


@pytest.fixture(scope="module")
def dbless(tmp_path_factory):
    s = Sluice(tmp_path_factory.mktemp("nested"), kong(), conf={"admin_listen": "auto"},
               name="nested")
    yield s
    s.stop()


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_in_kongs_format(tmp_path, pems, dbless, case):
    make, lines, fields = ERRORS[case]
    doc = make(pems)
    path = write(tmp_path, "bad.yml", doc)
    r = cli("config", "parse", path)
    assert r.returncode != 0
    got = without_hint(r.stderr).splitlines()
    assert got[got.index("Error: Failed parsing:") + 1:] == lines
    r = requests.post(dbless.admin_url("/config"), json=doc, timeout=T)
    assert r.status_code == 400, r.text
    assert r.json()["fields"] == fields
    # db_import refuses it the same way, and imports nothing
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None},
               start=False)
    r = cli("config", "db_import", path, "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode != 0 and "\n".join(lines) in r.stderr, r.stderr


def test_db_import_refuses_a_service_in_a_certificate_on_http(tmp_path, pems):
    """Kong's flatten() gives a service nested in a certificate its client_certificate after
    validating it: DB-less mode takes it on http, but db_import's upsert validates the entity and
    refuses it (services' entity check), leaving the database untouched."""
    doc = in_cert(pems, services=[svc("plain")])
    path = write(tmp_path, "plain.yml", doc)
    assert cli("config", "parse", path).returncode == 0
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None},
               start=False)
    r = cli("config", "db_import", path, "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode != 0
    assert CERT_SVC + ": in 'client_certificate': value must be null" in r.stderr, r.stderr
    # refused while parsing: the database was not even bootstrapped
    assert cli("migrations", "list", "-c", s.conf_path, "-p", s.prefix).returncode == 3
