# SPDX-License-Identifier: Apache-2.0
"""`sluice config db_export` / `db_import` carry every core entity the store holds (Kong's
kong/db/declarative/export.lua and import.lua, kong/db/schema/others/declarative_config.lua):
services, routes, consumers, certificates, snis, ca_certificates, upstreams and targets. The export
is Kong's declarative 3.0 document (one list per table, `_transform: false`, foreign keys as bare
ids, nulls kept) written readable by its owner only (it holds private keys); the import validates
every entity with the Admin API's schema engine, accepts Kong's nested forms, and upserts by id (as
Kong's load_into_db) all or nothing. A file db_import refuses is refused by DB-less too."""

import json
import os
import stat
import uuid

import pytest
import requests

from lib.certs import self_signed
from lib.sluice import Sluice, cli, dump_yaml, kong

T = 10
NS = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")  # Kong's declarative id namespace
TABLES = ("ca_certificates", "certificates", "consumers", "services", "routes", "snis",
          "upstreams", "targets")


@pytest.fixture(scope="module")
def pems():
    return {"leaf": self_signed("leaf.test"), "other": self_signed("other.test"),
            "ca": self_signed("ca.test", ca=True)}


def node(tmp_path, start=True):
    return Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                          "admin_listen": "auto"}, start=start)


def run(s, *args):
    return cli(*args, "-c", s.conf_path, "-p", s.prefix)


def write(tmp_path, name, doc):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else dump_yaml(doc))
    return path


def post(a, path, body):
    r = requests.post(a + path, json=body, timeout=T)
    assert r.status_code == 201, (path, r.text)
    return r.json()


def everything(s):
    """Every row of every table through the Admin API, by table and id."""
    a = s.admin_url("").rstrip("/")
    out = {}
    for t in TABLES:
        if t == "targets":
            rows = []
            for u in out["upstreams"].values():
                rows += requests.get(a + "/upstreams/%s/targets/all" % u["id"],
                                     timeout=T).json()["data"]
        else:
            rows = requests.get(a + "/" + t, timeout=T).json()["data"]
        out[t] = {r["id"]: r for r in rows}
    return out


def export(s, tmp_path, name):
    path = os.path.join(str(tmp_path), name)
    r = run(s, "config", "db_export", path)
    assert r.returncode == 0, r.stderr
    with open(path) as f:
        text = f.read()
    return path, text, json.loads(text)


def test_round_trip_keeps_every_entity(tmp_path, pems):
    s = node(tmp_path)
    a = s.admin_url("").rstrip("/")
    try:
        ca = post(a, "/ca_certificates", {"cert": pems["ca"][0], "tags": ["t1"]})
        cert = post(a, "/certificates", {"cert": pems["leaf"][0], "key": pems["leaf"][1],
                                         "snis": ["b.test", "a.test"], "tags": ["t2"]})
        svc = post(a, "/services", {"name": "svc", "protocol": "https", "host": "127.0.0.1",
                                    "port": 9,
                                    "client_certificate": {"id": cert["id"]},
                                    "ca_certificates": [ca["id"]], "tls_verify": True,
                                    "tags": ["t3"]})
        post(a, "/services/svc/routes", {"name": "r", "paths": ["/r"], "hosts": ["x.test"]})
        post(a, "/consumers", {"username": "bob", "custom_id": "c-1", "tags": ["t4"]})
        post(a, "/consumers", {"custom_id": "c-2"})
        up = post(a, "/upstreams", {"name": "up.test", "slots": 100,
                                    "client_certificate": {"id": cert["id"]}})
        post(a, "/upstreams/up.test/targets", {"target": "10.0.0.1:80", "weight": 7})
        post(a, "/upstreams/up.test/targets", {"target": "h.test"})
        before = everything(s)
    finally:
        s.stop()
    assert all(len(before[t]) > 0 for t in TABLES), {t: len(before[t]) for t in TABLES}

    path, text, doc = export(s, tmp_path, "kong.yml")
    # it holds a private key: readable by its owner only
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert doc["_format_version"] == "3.0" and doc["_transform"] is False
    assert [k for k in doc if not k.startswith("_")] == list(TABLES)
    # Kong's export: the foreign keys as bare ids, the nulls kept
    assert doc["routes"][0]["service"] == svc["id"]
    assert doc["services"][0]["client_certificate"] == cert["id"]
    assert doc["upstreams"][0]["client_certificate"] == cert["id"]
    assert {x["certificate"] for x in doc["snis"]} == {cert["id"]}
    assert {x["upstream"] for x in doc["targets"]} == {up["id"]}
    assert doc["services"][0]["path"] is None and "cert_alt" in doc["certificates"][0]
    assert doc["certificates"][0]["key"] == pems["leaf"][1]

    r = run(s, "migrations", "reset", "-y")
    assert r.returncode == 0, r.stderr
    assert run(s, "migrations", "bootstrap").returncode == 0
    r = run(s, "config", "db_import", path)
    assert r.returncode == 0 and "import successful" in r.stdout, r.stderr

    s.start()
    try:
        after = everything(s)
    finally:
        s.stop()
    assert after == before
    # a second export writes the same file
    _, text2, _ = export(s, tmp_path, "again.yml")
    assert text2 == text
    # and an existing file is never overwritten
    r = run(s, "config", "db_export", path)
    assert r.returncode != 0 and "already exists" in r.stderr


def file_with(pems, **extra):
    doc = {"_format_version": "3.0",
           "services": [{"name": "s1", "url": "http://127.0.0.1:9",
                         "routes": [{"name": "r1", "paths": ["/r1"]}]}],
           "consumers": [{"username": "ok"}],
           "certificates": [{"cert": pems["leaf"][0], "key": pems["leaf"][1],
                             "snis": ["ok.test"]}],
           "upstreams": [{"name": "u.test", "targets": [{"target": "10.0.0.2:80"}]}]}
    doc.update(extra)
    return doc


def exported_tables(s, tmp_path, name):
    _, _, doc = export(s, tmp_path, name)
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def test_invalid_entities_are_listed_and_nothing_is_inserted(tmp_path, pems):
    s = node(tmp_path, start=False)
    assert run(s, "migrations", "bootstrap").returncode == 0
    bad = file_with(pems)
    bad["consumers"].append({"username": 5})
    bad["certificates"].append({"cert": "not a certificate", "key": pems["leaf"][1]})
    bad["upstreams"][0]["targets"].append({"target": "10.0.0.3:80", "weight": 70000})
    bad["targets"] = [{"target": "10.0.0.4:80", "upstream": "nowhere.test"}]
    r = run(s, "config", "db_import", write(tmp_path, "bad.yml", bad))
    assert r.returncode != 0
    err = r.stderr
    assert "in 'consumers': in entry 2 of 'consumers': in 'username': expected a string" in err
    assert "in 'certificates': in entry 2 of 'certificates': in 'cert': invalid certificate" in err
    assert ("in 'upstreams': in entry 1 of 'upstreams': in 'targets': in entry 2 of 'targets': "
            "in 'weight': value should be between 0 and 65535") in err
    assert ("in 'targets': in '10.0.0.4:80': invalid reference 'upstream: nowhere.test' "
            "(no such entry in 'upstreams')") in err
    # nothing at all, not even the valid services and routes of the same file
    assert exported_tables(s, tmp_path, "after-bad.yml") == {}

    # a failure in the store (an upstream name another id holds) undoes the whole import
    first = {"_format_version": "3.0",
             "certificates": [{"cert": pems["other"][0], "key": pems["other"][1],
                               "snis": ["taken.test"]}],
             "upstreams": [{"id": str(uuid.uuid4()), "name": "taken.test"}]}
    r = run(s, "config", "db_import", write(tmp_path, "first.yml", first))
    assert r.returncode == 0, r.stderr
    before = exported_tables(s, tmp_path, "before.yml")
    clash = file_with(pems)
    clash["certificates"][0]["snis"].append("taken.test")  # upserted: moved to this certificate
    clash["upstreams"].append({"name": "taken.test"})  # id uuid5("taken.test"): a new row
    r = run(s, "config", "db_import", write(tmp_path, "clash.yml", clash))
    # the store refuses the upstream after the services, routes, consumers, certificates and
    # snis of the file were written
    assert r.returncode != 0, r.stderr
    assert "in 'upstreams': UNIQUE violation detected on '{name=\"taken.test\"}'" in r.stderr
    assert exported_tables(s, tmp_path, "after-clash.yml") == before


def test_nested_and_top_level_forms(tmp_path, pems):
    s = node(tmp_path, start=False)
    cert_id = "11111111-1111-4111-8111-111111111111"
    doc = {"_format_version": "3.0",
           "certificates": [{"id": cert_id, "cert": pems["leaf"][0], "key": pems["leaf"][1],
                             "snis": ["n1.test", {"name": "n2.test", "tags": ["x"]}]},
                            {"cert": pems["other"][0], "key": pems["other"][1]}],
           "snis": [{"name": "top.test", "certificate": cert_id}],
           "upstreams": [{"name": "u1.test", "targets": [{"target": "10.0.0.1:81"},
                                                         {"target": "h.test", "weight": 3}]},
                         {"name": "u2.test"}],
           "targets": [{"target": "10.0.0.1:81", "upstream": "u2.test"}],
           "consumers": [{"username": "carol"}, {"custom_id": "only-custom"}],
           "services": [{"name": "s", "protocol": "https", "host": "127.0.0.1",
                         "client_certificate": {"id": cert_id}}]}
    r = run(s, "config", "db_import", write(tmp_path, "nested.yml", doc))
    assert r.returncode == 0, r.stderr
    s.start()
    try:
        got = everything(s)
    finally:
        s.stop()
    snis = {x["name"]: x for x in got["snis"].values()}
    assert sorted(snis) == ["n1.test", "n2.test", "top.test"]
    assert {x["certificate"]["id"] for x in snis.values()} == {cert_id}
    assert snis["n2.test"]["tags"] == ["x"]
    # ids: Kong's uuid5 of the endpoint key
    assert snis["n1.test"]["id"] == str(uuid.uuid5(uuid.uuid5(NS, "snis"), "n1.test"))
    ups = {u["name"]: u["id"] for u in got["upstreams"].values()}
    assert ups["u1.test"] == str(uuid.uuid5(uuid.uuid5(NS, "upstreams"), "u1.test"))
    targets = sorted((t["upstream"]["id"], t["target"], t["weight"])
                     for t in got["targets"].values())
    assert targets == sorted([(ups["u1.test"], "10.0.0.1:81", 100),
                              (ups["u1.test"], "h.test:8000", 3),
                              (ups["u2.test"], "10.0.0.1:81", 100)])
    assert got["certificates"][cert_id]["snis"] == ["n1.test", "n2.test", "top.test"]
    assert len(got["certificates"]) == 2
    names = {c["username"]: c for c in got["consumers"].values()}
    assert names["carol"]["id"] == str(uuid.uuid5(uuid.uuid5(NS, "consumers"), "carol"))
    assert [x["client_certificate"] for x in got["services"].values()] == [{"id": cert_id}]

    # the same file again gives the same ids: each row is replaced by itself, nothing is added
    r = run(s, "config", "db_import", write(tmp_path, "nested.yml", doc))
    assert r.returncode == 0, r.stderr
    s.start()
    try:
        again = everything(s)
    finally:
        s.stop()
    assert {t: sorted(again[t]) for t in TABLES} == {t: sorted(got[t]) for t in TABLES}


def test_dbless_refuses_what_db_import_refuses(tmp_path, pems):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"})
    a = s.admin_url("").rstrip("/")
    try:
        bad = file_with(pems)
        bad["consumers"].append({"username": "ok"})
        bad["snis"] = [{"name": "ok.test", "certificate": str(uuid.uuid4())}]
        r = requests.post(a + "/config", json=bad, timeout=T)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["name"] == "invalid declarative configuration"
        text = json.dumps(body)
        assert "uniqueness violation: 'consumers' entity with username set to 'ok'" in text, text
        assert "no such entry in 'certificates'" in text
        # the valid file is accepted (the data plane does not use these tables yet)
        r = requests.post(a + "/config", json=file_with(pems), timeout=T)
        assert r.status_code == 201, r.text
    finally:
        s.stop()
    r = run(s, "config", "db_import", write(tmp_path, "bad.yml", bad))
    assert r.returncode != 0 and "uniqueness violation" in r.stderr
