# SPDX-License-Identifier: Apache-2.0
"""Admin API specifics of certificates, SNIs and targets on the SQLite store (kong.md §1.6-1.8, §2.1;
Kong's kong/api/routes/certificates.lua and upstreams.lua, kong/db/dao/certificates.lua and
snis.lua): the `snis` shorthand and its errors, /certificates/{sni name}, the SNIs going with their
certificate, target lookups inside an upstream, /upstreams/{u}/targets/all, the disabled /targets
endpoints, millisecond timestamps, and persistence across a restart."""

import re
import uuid

import pytest
import requests

from lib.certs import self_signed
from lib.sluice import Sluice, kong

T = 10


@pytest.fixture(scope="module")
def pems():
    return {"one": self_signed("one.test"), "two": self_signed("two.test")}


def start(tmp_path, name="certs"):
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "admin_listen": "auto"}, name=name)
    return s, s.admin_url("").rstrip("/")


@pytest.fixture
def admin(tmp_path):
    s, a = start(tmp_path)
    yield a
    s.stop()


def body(pem, **extra):
    cert, key = pem
    d = {"cert": cert, "key": key}
    d.update(extra)
    return d


def all_snis(a):
    return sorted((x["name"], x["certificate"]["id"])
                  for x in requests.get(a + "/snis", timeout=T).json()["data"])


def certs(a):
    return requests.get(a + "/certificates", timeout=T).json()["data"]


# ---- certificates and the snis shorthand ----------------------------------------------------------

def test_post_creates_the_snis_and_every_read_lists_them(admin, pems):
    a = admin
    r = requests.post(a + "/certificates", json=body(pems["one"], snis=["b.test", "a.test"]),
                      timeout=T)
    assert r.status_code == 201, r.text
    cert = r.json()
    assert cert["snis"] == ["a.test", "b.test"]          # sorted, as the DAO returns it
    assert cert["cert"] == pems["one"][0] and cert["cert_alt"] is None
    assert all_snis(a) == [("a.test", cert["id"]), ("b.test", cert["id"])]
    by_id = requests.get(a + "/certificates/" + cert["id"], timeout=T)
    assert by_id.status_code == 200 and by_id.json() == cert
    for name in ("a.test", "b.test"):
        r = requests.get(a + "/certificates/" + name, timeout=T)
        assert r.status_code == 200 and r.json() == cert
    assert certs(a) == [cert]
    # no snis: an empty array, present in the body
    r = requests.post(a + "/certificates", json=body(pems["two"]), timeout=T)
    assert r.status_code == 201 and '"snis":[]' in r.text
    other = r.json()
    assert requests.get(a + "/certificates/" + other["id"], timeout=T).json()["snis"] == []
    assert sorted(c["id"] for c in certs(a)) == sorted([cert["id"], other["id"]])
    # form and multipart bodies: snis[]=, snis[n]=, a repeated key, a single value
    cert_pem, key_pem = pems["one"]
    r = requests.post(a + "/certificates", data=[("cert", cert_pem), ("key", key_pem),
                                                  ("snis[]", "f2.test"), ("snis[]", "f1.test")],
                      timeout=T)
    assert r.status_code == 201 and r.json()["snis"] == ["f1.test", "f2.test"], r.text
    r = requests.post(a + "/certificates", files={"cert": (None, cert_pem), "key": (None, key_pem),
                                                  "snis[1]": (None, "m1.test"),
                                                  "snis[2]": (None, "m2.test")}, timeout=T)
    assert r.status_code == 201 and r.json()["snis"] == ["m1.test", "m2.test"], r.text
    r = requests.post(a + "/certificates", data={"cert": cert_pem, "key": key_pem,
                                                 "snis": "single.test"}, timeout=T)
    assert r.status_code == 201 and r.json()["snis"] == ["single.test"], r.text
    # the nested SNI collection is the generic one
    r = requests.get(a + "/certificates/a.test/snis", timeout=T).json()
    assert sorted(x["name"] for x in r["data"]) == ["a.test", "b.test"]
    r = requests.post(a + "/certificates/a.test/snis", json={"name": "c.test"}, timeout=T)
    assert r.status_code == 201 and r.json()["certificate"] == {"id": cert["id"]}
    assert requests.get(a + "/certificates/c.test", timeout=T).json()["snis"] == \
        ["a.test", "b.test", "c.test"]
    # an SNI that exists, through the nested collection: Kong's 409
    r = requests.post(a + "/certificates/%s/snis" % other["id"], json={"name": "a.test"},
                      timeout=T)
    assert r.status_code == 409 and r.json()["name"] == "unique constraint violation"


def test_snis_errors_are_kongs_and_store_nothing(admin, pems):
    a = admin
    r = requests.post(a + "/certificates", json=body(pems["one"], snis=["taken.test"]), timeout=T)
    assert r.status_code == 201
    owner = r.json()["id"]
    before_certs, before_snis = certs(a), all_snis(a)

    r = requests.post(a + "/certificates",
                      json=body(pems["two"], snis=["n1.test", "n2.test", "n1.test"]), timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "name": "schema violation",
                        "message": "schema violation (snis: n1.test is duplicated)",
                        "fields": {"snis": "n1.test is duplicated"}}

    r = requests.post(a + "/certificates", json=body(pems["two"], snis=["new.test", "taken.test"]),
                      timeout=T)
    assert r.status_code == 400
    msg = "taken.test already associated with existing certificate '%s'" % owner
    assert r.json() == {"code": 2, "name": "schema violation",
                        "message": "schema violation (snis: %s)" % msg, "fields": {"snis": msg}}

    r = requests.post(a + "/certificates", json=body(pems["two"], snis=["*.wild.*"]), timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 10, "name": "invalid unique name",
                        "message": "only one wildcard must be specified"}

    r = requests.post(a + "/certificates", json=body(pems["two"], snis=[3]), timeout=T)
    assert r.status_code == 400 and r.json()["fields"] == {"snis": ["expected a string"]}
    r = requests.post(a + "/certificates", json=body(pems["two"], snis={"a": 1}), timeout=T)
    assert r.status_code == 400 and r.json()["fields"] == {"snis": "expected an array"}

    # a certificate the schema refuses never creates its SNIs
    cert_one, _ = pems["one"]
    _, key_two = pems["two"]
    r = requests.post(a + "/certificates",
                      json={"cert": cert_one, "key": key_two, "snis": ["mismatch.test"]}, timeout=T)
    assert r.status_code == 400
    assert r.json()["message"] == "schema violation (certificate does not match key)"
    assert certs(a) == before_certs and all_snis(a) == before_snis

    # /certificates/{sni}: unknown names, invalid names, unknown ids
    r = requests.get(a + "/certificates/doesnotexist.test", timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "SNI not found"}
    for m in ("PATCH", "DELETE"):
        r = requests.request(m, a + "/certificates/doesnotexist.test", json={}, timeout=T)
        assert r.status_code == 404 and r.json() == {"message": "SNI not found"}, m
    r = requests.get(a + "/certificates/doesnotexist.test/snis", timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "SNI not found"}
    r = requests.get(a + "/certificates/a.*.test", timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 10, "name": "invalid unique name",
                        "message": "wildcard must be leftmost or rightmost character"}
    r = requests.get(a + "/certificates/" + str(uuid.uuid4()), timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "Not found"}
    assert certs(a) == before_certs and all_snis(a) == before_snis


def test_put_and_patch_replace_the_sni_set(admin, pems):
    a = admin
    r = requests.post(a + "/certificates", json=body(pems["one"], snis=["p1.test", "p2.test"]),
                      timeout=T)
    cert = r.json()
    cid = cert["id"]
    # PATCH without snis keeps them; with a list replaces them; with a string uses that name
    r = requests.patch(a + "/certificates/" + cid, json={"tags": ["t"]}, timeout=T)
    assert r.status_code == 200 and r.json()["snis"] == ["p1.test", "p2.test"]
    assert r.json()["tags"] == ["t"]
    r = requests.patch(a + "/certificates/p1.test", json={"snis": ["p3.test", "p1.test"]},
                       timeout=T)
    assert r.status_code == 200 and r.json()["snis"] == ["p1.test", "p3.test"]
    assert all_snis(a) == [("p1.test", cid), ("p3.test", cid)]
    r = requests.patch(a + "/certificates/" + cid, json={"snis": "p4.test"}, timeout=T)
    assert r.status_code == 200 and r.json()["snis"] == ["p4.test"]
    # an SNI kept across a replace is the same entity
    sni_id = requests.get(a + "/snis/p4.test", timeout=T).json()["id"]
    r = requests.patch(a + "/certificates/" + cid, json={"snis": ["p4.test", "p5.test"]},
                       timeout=T)
    assert r.json()["snis"] == ["p4.test", "p5.test"]
    assert requests.get(a + "/snis/p4.test", timeout=T).json()["id"] == sni_id
    # null clears
    r = requests.patch(a + "/certificates/" + cid, json={"snis": None}, timeout=T)
    assert r.status_code == 200 and r.json()["snis"] == [] and all_snis(a) == []
    r = requests.patch(a + "/certificates/" + str(uuid.uuid4()), json={"snis": ["x.test"]},
                       timeout=T)
    assert r.status_code == 404 and all_snis(a) == []

    # PUT /certificates/{new sni} with a list: a new certificate with that name added
    r = requests.put(a + "/certificates/q1.test", json=body(pems["two"], snis=["q2.test"]),
                     timeout=T)
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["snis"] == ["q1.test", "q2.test"] and q["id"] != cid
    assert requests.get(a + "/certificates/q2.test", timeout=T).json()["id"] == q["id"]
    # PUT /certificates/{known sni}: the same certificate, fully replaced, name kept
    r = requests.put(a + "/certificates/q1.test", json=body(pems["one"], snis=["q3.test"]),
                     timeout=T)
    assert r.status_code == 200 and r.json()["id"] == q["id"]
    assert r.json()["snis"] == ["q1.test", "q3.test"] and r.json()["cert"] == pems["one"][0]
    # the URL's name given in the list too is not doubled
    r = requests.put(a + "/certificates/q1.test",
                     json=body(pems["one"], snis=["q1.test", "q3.test"]), timeout=T)
    assert r.status_code == 200 and r.json()["snis"] == ["q1.test", "q3.test"]
    # Kong: a PUT without snis sets them to null, the URL's name included
    r = requests.put(a + "/certificates/" + q["id"], json=body(pems["one"]), timeout=T)
    assert r.status_code == 200 and r.json()["snis"] == []
    assert requests.get(a + "/certificates/q1.test", timeout=T).status_code == 404
    # PUT by a new UUID creates with that id
    new_id = str(uuid.uuid4())
    r = requests.put(a + "/certificates/" + new_id, json=body(pems["two"], snis=["u1.test"]),
                     timeout=T)
    assert r.status_code == 200 and r.json()["id"] == new_id and r.json()["snis"] == ["u1.test"]

    # errors on replace change nothing
    before = (certs(a), all_snis(a))
    r = requests.patch(a + "/certificates/" + cid, json={"snis": ["u1.test"]}, timeout=T)
    assert r.status_code == 400
    assert r.json()["fields"] == \
        {"snis": "u1.test already associated with existing certificate '%s'" % new_id}
    r = requests.patch(a + "/certificates/" + cid, json={"snis": ["d.test", "d.test"]}, timeout=T)
    assert r.status_code == 400 and r.json()["fields"] == {"snis": "d.test is duplicated"}
    cert_one, _ = pems["one"]
    _, key_two = pems["two"]
    r = requests.put(a + "/certificates/" + new_id,
                     json={"cert": cert_one, "key": key_two, "snis": ["z.test"]}, timeout=T)
    assert r.status_code == 400
    assert (certs(a), all_snis(a)) == before


def test_delete_takes_the_snis_along(admin, pems):
    a = admin
    c1 = requests.post(a + "/certificates", json=body(pems["one"], snis=["d1.test", "d2.test"]),
                       timeout=T).json()
    c2 = requests.post(a + "/certificates", json=body(pems["two"], snis=["d3.test"]),
                       timeout=T).json()
    r = requests.delete(a + "/certificates/d2.test", timeout=T)
    assert r.status_code == 204
    assert all_snis(a) == [("d3.test", c2["id"])]
    assert requests.get(a + "/certificates/" + c1["id"], timeout=T).status_code == 404
    # a certificate a service still uses cannot go, and keeps its SNIs
    r = requests.post(a + "/services", json={"name": "s", "host": "example.test",
                                             "protocol": "https",
                                             "client_certificate": {"id": c2["id"]}}, timeout=T)
    assert r.status_code == 201, r.text
    r = requests.delete(a + "/certificates/" + c2["id"], timeout=T)
    assert r.status_code == 400 and r.json()["code"] == 4
    assert all_snis(a) == [("d3.test", c2["id"])]
    assert requests.delete(a + "/services/s", timeout=T).status_code == 204
    assert requests.delete(a + "/certificates/" + c2["id"], timeout=T).status_code == 204
    assert all_snis(a) == [] and certs(a) == []
    # absent by id: 204, as every DELETE
    assert requests.delete(a + "/certificates/" + c2["id"], timeout=T).status_code == 204
    # /snis/{sni}/certificate is disabled in Kong
    requests.post(a + "/certificates", json=body(pems["one"], snis=["e1.test"]), timeout=T)
    r = requests.get(a + "/snis/e1.test/certificate", timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "Not found"}
    assert requests.get(a + "/snis/e1.test", timeout=T).status_code == 200


def test_snis_survive_a_restart(tmp_path, pems):
    s, a = start(tmp_path, name="restart")
    r = requests.post(a + "/certificates", json=body(pems["one"], snis=["keep.test", "also.test"]),
                      timeout=T)
    assert r.status_code == 201
    cert = r.json()
    s.stop()
    s.start()
    try:
        r = requests.get(a + "/certificates/keep.test", timeout=T)
        assert r.status_code == 200 and r.json() == cert
        assert r.json()["snis"] == ["also.test", "keep.test"]
        assert certs(a) == [cert]
    finally:
        s.stop()


# ---- targets ---------------------------------------------------------------------------------------

TS = re.compile(r'"(created_at|updated_at)":(\d+(?:\.\d+)?)')


def test_targets_through_their_upstream(admin):
    a = admin
    up = requests.post(a + "/upstreams", json={"name": "up.test"}, timeout=T).json()
    other = requests.post(a + "/upstreams", json={"name": "other.test"}, timeout=T).json()
    r = requests.post(a + "/upstreams/up.test/targets", json={"target": "h1.test"}, timeout=T)
    assert r.status_code == 201, r.text
    t1 = r.json()
    assert t1["target"] == "h1.test:8000" and t1["weight"] == 100
    assert t1["upstream"] == {"id": up["id"]}
    # float seconds with millisecond precision, printed without binary noise
    stamps = TS.findall(r.text)
    assert [k for k, _ in stamps] == ["created_at", "updated_at"]
    for _, v in stamps:
        assert len(v.split(".")[1]) <= 3 if "." in v else True, r.text
    assert isinstance(t1["created_at"], (int, float)) and t1["created_at"] > 1.6e9

    # Kong 3.x: unique per upstream, POST only creates
    r = requests.post(a + "/upstreams/%s/targets" % up["id"], json={"target": "h1.test:8000"},
                      timeout=T)
    assert r.status_code == 409
    assert r.json() == {
        "code": 5, "name": "unique constraint violation",
        "message": "UNIQUE violation detected on '{target=\"h1.test:8000\",upstream={id=\"%s\"}}'"
                   % up["id"],
        "fields": {"target": "h1.test:8000", "upstream": {"id": up["id"]}}}
    # the same target under another upstream is fine
    r = requests.post(a + "/upstreams/other.test/targets", json={"target": "h1.test"}, timeout=T)
    assert r.status_code == 201
    t_other = r.json()

    # by "host:port" or id, inside its upstream only; the string is matched as stored
    for key in ("h1.test:8000", t1["id"]):
        r = requests.get(a + "/upstreams/up.test/targets/" + key, timeout=T)
        assert r.status_code == 200 and r.json() == t1, key
    assert requests.get(a + "/upstreams/up.test/targets/h1.test", timeout=T).status_code == 404
    r = requests.get(a + "/upstreams/up.test/targets/" + t_other["id"], timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "Not found"}
    assert requests.get(a + "/upstreams/nope.test/targets/h1.test:8000",
                        timeout=T).status_code == 404

    # PUT and PATCH both update (Kong's update_entity); absent targets are 404, never created
    r = requests.put(a + "/upstreams/up.test/targets/h1.test:8000", json={"weight": 5}, timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["weight"] == 5 and r.json()["target"] == "h1.test:8000"
    assert r.json()["id"] == t1["id"] and r.json()["created_at"] == t1["created_at"]
    r = requests.patch(a + "/upstreams/up.test/targets/" + t1["id"], json={"tags": ["x"]},
                       timeout=T)
    assert r.status_code == 200 and r.json()["weight"] == 5 and r.json()["tags"] == ["x"]
    for m in ("PUT", "PATCH", "DELETE"):
        r = requests.request(m, a + "/upstreams/up.test/targets/h9.test:8000", json={"weight": 1},
                             timeout=T)
        assert r.status_code == 404 and r.json() == {"message": "Not found"}, m
    requests.post(a + "/upstreams/up.test/targets", json={"target": "h2.test:81"}, timeout=T)
    r = requests.patch(a + "/upstreams/up.test/targets/h2.test:81", json={"target": "h1.test"},
                       timeout=T)
    assert r.status_code == 409 and r.json()["code"] == 5
    got = requests.get(a + "/upstreams/up.test/targets", timeout=T).json()["data"]
    assert sorted(t["target"] for t in got) == ["h1.test:8000", "h2.test:81"]
    r = requests.put(a + "/upstreams/up.test/targets", json={"target": "x"}, timeout=T)
    assert r.status_code == 405

    # DELETE: 204, then gone (the other upstream's target of the same name stays)
    r = requests.delete(a + "/upstreams/up.test/targets/h1.test:8000", timeout=T)
    assert r.status_code == 204
    assert requests.get(a + "/upstreams/up.test/targets/" + t1["id"], timeout=T).status_code == 404
    assert requests.get(a + "/upstreams/other.test/targets/h1.test:8000",
                        timeout=T).status_code == 200
    # deleting the upstream deletes its targets
    assert requests.delete(a + "/upstreams/other.test", timeout=T).status_code == 204
    assert requests.get(a + "/upstreams/%s/targets" % other["id"], timeout=T).status_code == 404


def test_targets_all_pages_and_disabled_paths(admin):
    a = admin
    up = requests.post(a + "/upstreams", json={"name": "many.test"}, timeout=T).json()
    made = set()
    for i in range(5):
        r = requests.post(a + "/upstreams/many.test/targets",
                          json={"target": "10.0.0.%d:80" % i, "weight": i}, timeout=T)
        assert r.status_code == 201
        made.add(r.json()["id"])
    seen, url, pages = [], a + "/upstreams/many.test/targets/all?size=2", 0
    while url:
        page = requests.get(url, timeout=T).json()
        pages += 1
        seen += [t["id"] for t in page["data"]]
        if page["next"]:
            assert page["next"].startswith("/upstreams/many.test/targets/all?offset=")
            assert page["offset"]
            url = a + page["next"] + "&size=2"
        else:
            assert "offset" not in page
            url = None
    assert pages == 3 and set(seen) == made and len(seen) == 5
    assert seen == sorted(seen)  # the store's raw order
    r = requests.get(a + "/upstreams/%s/targets/all" % up["id"], timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 5  # weight 0 included
    requests.post(a + "/upstreams", json={"name": "empty.test"}, timeout=T)
    r = requests.get(a + "/upstreams/empty.test/targets/all", timeout=T)
    assert r.status_code == 200 and r.json() == {"data": [], "next": None}
    assert requests.get(a + "/upstreams/nope.test/targets/all", timeout=T).status_code == 404
    assert requests.get(a + "/upstreams/many.test/targets/all?size=0",
                        timeout=T).json()["code"] == 9

    # Kong disables the top-level targets endpoints
    tid = sorted(made)[0]
    for m, path in (("GET", "/targets"), ("POST", "/targets"), ("GET", "/targets/" + tid),
                    ("PATCH", "/targets/" + tid), ("DELETE", "/targets/" + tid),
                    ("GET", "/targets/%s/upstream" % tid)):
        r = requests.request(m, a + path, json={"target": "x:1", "upstream": {"id": up["id"]}},
                             timeout=T)
        assert r.status_code == 404 and r.json() == {"message": "Not found"}, (m, path)
    assert len(requests.get(a + "/upstreams/many.test/targets", timeout=T).json()["data"]) == 5
    # health needs the load balancer: not served yet
    assert requests.get(a + "/upstreams/many.test/health", timeout=T).status_code == 404
    r = requests.put(a + "/upstreams/many.test/targets/10.0.0.1:80/healthy", timeout=T)
    assert r.status_code == 404
    eps = requests.get(a + "/endpoints", timeout=T).json()["data"]
    assert "/upstreams/{upstreams}/targets/all" in eps
    assert "/upstreams/{upstreams}/targets/{targets}" in eps
    assert "/targets" not in eps and "/snis/{snis}/certificate" not in eps
    assert "/certificates/{certificates}/snis" in eps and eps == sorted(eps)
