# SPDX-License-Identifier: Apache-2.0
"""Kong's own specs for certificates, SNIs, CA certificates, upstreams and targets, rewritten
against Sluice's Admin API on its default SQLite store:

- spec/02-integration/04-admin_api/06-certificates_routes_spec.lua
- spec/02-integration/04-admin_api/16-ca_certificates_routes_spec.lua
- spec/02-integration/04-admin_api/07-upstreams_routes_spec.lua
- spec/02-integration/04-admin_api/08-targets_routes_spec.lua (not the health endpoints: no
  balancer)
- spec/01-unit/01-db/01-schema/08-targets_spec.lua, 09-upstreams_spec.lua, 11-snis_spec.lua, through
  POST on the Admin API and its 400 bodies.

Each test names the `it(...)` it ports. Where the stored spec predates Kong 3.x the 3.x behaviour is
asserted (messages naming the value, targets unique per upstream with no history, weight up to
65535, hash_on's 3.x values). Cases Kong runs with `it_content_types` run with JSON, form-urlencoded
and multipart bodies. Certificates and keys are made per module with `cryptography`."""

import time
import uuid

import pytest
import requests

from lib.certs import self_signed
from lib.sluice import Sluice, kong

T = 15  # generous: the suite may share the machine with sanitizer runs
ENCODINGS = ["json", "form", "multipart"]


def start(tmp, name):
    s = Sluice(tmp, kong(), conf={"database": "sqlite", "declarative_config": None,
                                  "admin_listen": "auto"}, name=name)
    return s, s.admin_url("").rstrip("/")


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """One Sluice for the module; tests name their entities uniquely (Kong's get_name())."""
    s, a = start(tmp_path_factory.mktemp("entities"), "entities")
    yield a
    s.stop()


@pytest.fixture
def fresh(tmp_path):
    """A Sluice with an empty store, for the cases Kong runs after truncating the tables."""
    s, a = start(tmp_path, "fresh")
    yield a
    s.stop()


@pytest.fixture(scope="module")
def fx():
    """Kong's spec/fixtures/ssl.lua, made here: cert/key, cert_alt/key_alt (another pair), a CA,
    another CA, and an expired CA."""
    cert, key = self_signed("ssl-example.com", "rsa")
    cert_alt, key_alt = self_signed("ssl-alt.com")
    return {"cert": cert, "key": key, "cert_alt": cert_alt, "key_alt": key_alt,
            "cert_ca": self_signed("ca.test", ca=True)[0],
            "cert_ca2": self_signed("ca2.test", ca=True)[0],
            "cert_expired": self_signed("expired.test", ca=True, valid=(-30, -1))[0]}


def send(a, method, path, body=None, enc="json"):
    """<body> as JSON, as a form (lists become repeated `k[]=` keys, dicts `k.sub=` keys) or as
    multipart parts with the same keys; an empty multipart body is sent as Kong's spec client sends
    it: no part at all."""
    if enc == "json":
        return requests.request(method, a + path, json=body, timeout=T)
    pairs = []

    def flat(prefix, v):
        if isinstance(v, dict):
            for k, sub in v.items():
                flat("%s.%s" % (prefix, k), sub)
        elif isinstance(v, list):
            for sub in v:
                pairs.append((prefix + "[]", str(sub)))
        else:
            pairs.append((prefix, "" if v is None else str(v).lower() if isinstance(v, bool)
                          else str(v)))
    for k, v in (body or {}).items():
        flat(k, v)
    if enc == "form":
        return requests.request(method, a + path, data=pairs, timeout=T,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    if not pairs:
        return requests.request(method, a + path, data=b"", timeout=T, headers={
            "Content-Type": "multipart/form-data; boundary=8fd84e9444e3946c"})
    return requests.request(method, a + path, files=[(k, (None, v)) for k, v in pairs],
                            timeout=T)


_n = [0]


def get_name():
    """Kong's get_name(): nameNNNN.test, increasing, unique in the module."""
    _n[0] += 1
    return "name%04d-%s.test" % (_n[0], uuid.uuid4().hex[:6])


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def get(a, path):
    r = requests.get(a + path, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()


def all_pages(a, path):
    """Every row of a paginated collection."""
    rows, url = [], a + path
    while url:
        page = requests.get(url, timeout=T).json()
        rows += page["data"]
        url = a + page["next"] if page["next"] else None
    return rows


# ================================================================================================
# 06-certificates_routes_spec.lua
# ================================================================================================

def add_certificate(a, fx):
    """Kong's add_certificate(): a certificate with two new SNI names."""
    names = [get_name(), get_name()]
    r = requests.post(a + "/certificates", json={"cert": fx["cert"], "key": fx["key"],
                                                 "snis": names}, timeout=T)
    assert r.status_code == 201, r.text
    return r.json(), names


def certificates(a):
    return all_pages(a, "/certificates")


def test_certificates_get_retrieves_all_certificates_with_snis(fresh, fx):
    """describe /certificates GET: it("retrieves all certificates with snis")"""
    my_snis = ["my-sni-%03d.test" % i for i in range(1, 151)]
    r = requests.post(fresh + "/certificates", json={"cert": fx["cert"], "key": fx["key"],
                                                     "snis": my_snis}, timeout=T)
    assert r.status_code == 201, r.text
    data = get(fresh, "/certificates")["data"]
    assert len(data) == 1
    assert data[0]["cert"] == fx["cert"] and data[0]["key"] == fx["key"]
    assert data[0]["snis"] == my_snis


def test_certificates_post_duplicated_snis(admin, fx):
    """POST: it("returns a conflict when duplicated snis are present in the request")"""
    n1, n2 = get_name(), get_name()
    r = requests.post(admin + "/certificates", json={"cert": fx["cert"], "key": fx["key"],
                                                     "snis": [n1, n2, n1]}, timeout=T)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "schema violation (snis: %s is duplicated)" % n1
    # neither the certificate nor any SNI was added
    for c in certificates(admin):
        assert n1 not in c["snis"] and n2 not in c["snis"]


def test_certificates_post_pre_existing_sni(admin, fx):
    """POST: it("returns a conflict when a pre-existing sni is detected")"""
    n1, n2 = get_name(), get_name()
    r = requests.post(admin + "/certificates", json={"cert": fx["cert"], "key": fx["key"],
                                                     "snis": [n1]}, timeout=T)
    assert r.status_code == 201, r.text
    owner = r.json()["id"]
    r = requests.post(admin + "/certificates", json={"cert": fx["cert"], "key": fx["key"],
                                                     "snis": [n1, n2]}, timeout=T)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == \
        "schema violation (snis: %s already associated with existing certificate '%s')" % (n1,
                                                                                        owner)
    for c in certificates(admin):
        assert n2 not in c["snis"]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_certificates_post_creates_with_the_snis_pseudo_property(admin, fx, enc):
    """POST: it_content_types("creates a certificate and returns it with the snis
    pseudo-property"): snis[1]/snis[2] parts in multipart, snis[] in forms, an array in JSON."""
    n1, n2 = get_name(), get_name()
    if enc == "multipart":
        r = requests.post(admin + "/certificates", files={
            "cert": (None, fx["cert"]), "key": (None, fx["key"]), "snis[1]": (None, n1),
            "snis[2]": (None, n2)}, timeout=T)
    else:
        r = send(admin, "POST", "/certificates", {"cert": fx["cert"], "key": fx["key"],
                                                  "snis": [n1, n2]}, enc)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cert"] == fx["cert"] and body["key"] == fx["key"]
    assert body["snis"] == [n1, n2]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_certificates_post_returns_snis_as_empty_array(admin, fx, enc):
    """POST: it_content_types("returns snis as [] when none is set")"""
    r = send(admin, "POST", "/certificates", {"cert": fx["cert"], "key": fx["key"]}, enc)
    assert r.status_code == 201, r.text
    assert isinstance(r.json()["cert"], str) and isinstance(r.json()["key"], str)
    assert '"snis":[]' in r.text


def test_certificate_get_by_id_and_by_sni(admin, fx):
    """/certificates/cert_id_or_sni GET: it("retrieves a certificate by id"),
    it("retrieves a certificate by sni"), it("returns 404 for a random non-existing uuid"),
    it("returns 404 for a random non-existing sni")"""
    cert, names = add_certificate(admin, fx)
    by_id = get(admin, "/certificates/" + cert["id"])
    assert by_id["cert"] == fx["cert"] and by_id["snis"] == names
    one, two = get(admin, "/certificates/" + names[0]), get(admin, "/certificates/" + names[1])
    assert one["snis"] == names and one == two == by_id
    assert requests.get(admin + "/certificates/" + str(uuid.uuid4()),
                        timeout=T).status_code == 404
    assert requests.get(admin + "/certificates/doesntexist.com", timeout=T).status_code == 404


def test_certificate_put_creates_if_not_found(admin, fx):
    """PUT: it("creates if not found")"""
    n1, cid = get_name(), str(uuid.uuid4())
    r = requests.put(admin + "/certificates/" + cid, json={"cert": fx["cert"], "key": fx["key"],
                                                           "snis": [n1]}, timeout=T)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cert"] == fx["cert"] and body["snis"] == [n1] and body["id"] == cid
    assert get(admin, "/certificates/" + cid) == body


def test_certificate_put_creates_a_new_sni_when_provided_in_the_url(admin, fx):
    """PUT: it("creates a new sni when provided in the url") and its variant "(with sni duplicated
    in url and body)" """
    for dup in (False, True):
        n1, n2 = get_name(), get_name()
        r = requests.put(admin + "/certificates/" + n1, json={
            "cert": fx["cert"], "key": fx["key"], "snis": [n1, n2] if dup else [n2]}, timeout=T)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["cert"] == fx["cert"] and body["snis"] == [n1, n2]
        assert get(admin, "/certificates/" + body["id"]) == body


def test_certificate_put_upserts_if_found(admin, fx):
    """PUT: it("upserts if found"): the certificate is replaced and, without snis, left with
    none"""
    cert, names = add_certificate(admin, fx)
    r = requests.put(admin + "/certificates/" + cert["id"],
                     json={"cert": fx["cert_alt"], "key": fx["key_alt"]}, timeout=T)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cert"] == fx["cert_alt"] and body["key"] == fx["key_alt"]
    assert body["snis"] == [] and body["id"] == cert["id"]
    assert get(admin, "/certificates/" + cert["id"]) == body
    assert requests.get(admin + "/certificates/" + names[0], timeout=T).status_code == 404


def test_certificate_put_handles_invalid_input_and_mismatched_keys(admin, fx):
    """PUT: it("handles invalid input"), it("handles mismatched keys/certificates")"""
    r = requests.put(admin + "/certificates/" + str(uuid.uuid4()), json={}, timeout=T)
    assert r.status_code == 400
    assert r.json() == {
        "code": 2, "name": "schema violation",
        "message": "2 schema violations (cert: required field missing; "
                   "key: required field missing)",
        "fields": {"cert": "required field missing", "key": "required field missing"}}
    r = requests.post(admin + "/certificates", json={"cert": fx["cert"], "key": fx["key_alt"]},
                      timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "name": "schema violation",
                        "message": "schema violation (certificate does not match key)",
                        "fields": {"@entity": ["certificate does not match key"]}}


@pytest.mark.parametrize("enc", ENCODINGS)
def test_certificate_patch_updates_by_id_and_by_sni(admin, fx, enc):
    """PATCH: it_content_types("updates a certificate by cert id"),
    it_content_types("updates a certificate by sni")"""
    for by_sni in (False, True):
        cert, names = add_certificate(admin, fx)
        key = names[0] if by_sni else cert["id"]
        r = send(admin, "PATCH", "/certificates/" + key,
                 {"cert": fx["cert_alt"], "key": fx["key_alt"]}, enc)
        assert r.status_code == 200, r.text
        assert r.json()["cert"] == fx["cert_alt"] and r.json()["snis"] == names


@pytest.mark.parametrize("enc", ENCODINGS)
def test_certificate_patch_with_an_empty_body_returns_the_full_certificate(admin, fx, enc):
    """PATCH: it_content_types("update by id returns full certificate"),
    it_content_types("update by sni returns full certificate"). Kong's spec client sends an empty
    table as an empty body, also with multipart/form-data: no part is no field."""
    for by_sni in (False, True):
        cert, names = add_certificate(admin, fx)
        r = send(admin, "PATCH", "/certificates/" + (names[0] if by_sni else cert["id"]), {}, enc)
        assert r.status_code == 200, r.text
        # the PATCH sets updated_at to its own second: equal unless a second boundary fell
        # between the POST and the PATCH
        got = dict(r.json())
        assert cert["updated_at"] <= got.pop("updated_at") <= cert["updated_at"] + 2
        assert got == {k: v for k, v in cert.items() if k != "updated_at"}


def test_certificate_patch_returns_404_for_a_random_non_existing_id(admin, fx):
    """PATCH: it("returns 404 for a random non-existing id")"""
    n1 = get_name()
    r = requests.patch(admin + "/certificates/" + str(uuid.uuid4()), json={
        "cert": fx["cert"], "key": fx["key"], "snis": [n1]}, timeout=T)
    assert r.status_code == 404
    for c in certificates(admin):
        assert n1 not in c["snis"]


def test_certificate_patch_updates_the_snis(admin, fx):
    """PATCH: it("updates snis associated with a certificate")"""
    cert, _ = add_certificate(admin, fx)
    n1 = get_name()
    before = certificates(admin)
    r = requests.patch(admin + "/certificates/" + cert["id"], json={"snis": [n1]}, timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["snis"] == [n1]
    after = certificates(admin)
    assert len(after) == len(before)
    for old, new in zip(before, after):
        assert new["snis"] == ([n1] if new["id"] == cert["id"] else old["snis"])


def test_certificate_patch_without_snis_updates_only_the_certificate(admin, fx):
    """PATCH: it("updates only the certificate if no snis are specified")"""
    cert, names = add_certificate(admin, fx)
    r = requests.patch(admin + "/certificates/" + cert["id"],
                       json={"cert": fx["cert_alt"], "key": fx["key_alt"]}, timeout=T)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["snis"] == names and body["cert"] == fx["cert_alt"]
    assert body["key"] == fx["key_alt"]
    stored = get(admin, "/certificates/" + cert["id"])
    assert stored["cert"] == fx["cert_alt"] and stored["key"] == fx["key_alt"]


def test_certificate_patch_sni_conflicts_change_nothing(admin, fx):
    """PATCH: it("returns a conflict when duplicated snis are present in the request"),
    it("returns a conflict when a pre-existing sni present in the request is associated with
    another certificate")"""
    cert, _ = add_certificate(admin, fx)
    cert2, names2 = add_certificate(admin, fx)
    before = certificates(admin)
    n1 = get_name()
    r = requests.patch(admin + "/certificates/" + cert["id"], json={"snis": [n1, n1]}, timeout=T)
    assert r.status_code == 400
    assert r.json()["message"] == "schema violation (snis: %s is duplicated)" % n1
    r = requests.patch(admin + "/certificates/" + cert["id"], json={"snis": names2}, timeout=T)
    assert r.status_code == 400
    assert r.json()["message"] == ("schema violation (snis: %s already associated with existing "
                                   "certificate '%s')" % (names2[0], cert2["id"]))
    assert certificates(admin) == before


def test_certificate_patch_json_null_snis_deletes_them_all(admin, fx):
    """PATCH: it("deletes all snis from a certificate if snis field is JSON null")"""
    cert, names = add_certificate(admin, fx)
    before = certificates(admin)
    r = requests.patch(admin + "/certificates/" + cert["id"], json={"snis": None}, timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["snis"] == [] and '"snis":[]' in r.text
    after = certificates(admin)
    assert len(after) == len(before)
    for old, new in zip(before, after):
        assert new["snis"] == ([] if new["id"] == cert["id"] else old["snis"])
    for n in names:
        assert requests.get(admin + "/snis/" + n, timeout=T).status_code == 404


def test_certificate_delete_by_sni_and_by_id(admin, fx):
    """DELETE: it("deletes a certificate and all related snis"), it("deletes a certificate by
    id")"""
    before = certificates(admin)
    _, names = add_certificate(admin, fx)
    assert requests.delete(admin + "/certificates/" + names[0], timeout=T).status_code == 204
    assert certificates(admin) == before
    for n in names:
        assert requests.get(admin + "/snis/" + n, timeout=T).status_code == 404
    cert, _ = add_certificate(admin, fx)
    assert requests.delete(admin + "/certificates/" + cert["id"], timeout=T).status_code == 204
    assert certificates(admin) == before


def test_certificate_snis_post_errors_when_the_certificate_does_not_exist(admin):
    """/certificates/:certificate/snis POST errors: it("certificate doesn't exist")"""
    r = requests.post(admin + "/certificates/585e4c16-c656-11e6-8db9-5f512d8a12cd/snis",
                      json={"name": get_name()}, timeout=T)
    assert r.status_code == 404 and r.json()["message"] == "Not found"


@pytest.mark.parametrize("enc", ENCODINGS)
def test_certificate_snis_post_creates_an_sni(admin, fx, enc):
    """/certificates/:certificate/snis POST: it_content_types("creates a sni using a certificate
    id"), it_content_types("creates a sni using a sni to id the certificate")"""
    for by_sni in (False, True):
        cert, names = add_certificate(admin, fx)
        n1 = get_name()
        r = send(admin, "POST", "/certificates/%s/snis" % (names[0] if by_sni else cert["id"]),
                 {"name": n1}, enc)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == n1 and r.json()["certificate"]["id"] == cert["id"]


def test_certificate_snis_post_conflict_and_get_list(admin, fx):
    """/certificates/:certificate/snis: it("returns a conflict when an sni already exists"),
    GET it("retrieves a list of snis")"""
    cert, names = add_certificate(admin, fx)
    r = requests.post(admin + "/certificates/%s/snis" % cert["id"], json={"name": names[0]},
                      timeout=T)
    assert r.status_code == 409 and r.json()["name"] == "unique constraint violation"
    r = requests.post(admin + "/certificates", json={"cert": fx["cert"], "key": fx["key"]},
                      timeout=T)
    bare = r.json()
    n1 = get_name()
    r = requests.post(admin + "/snis", json={"name": n1, "certificate": {"id": bare["id"]}},
                      timeout=T)
    assert r.status_code == 201, r.text
    data = get(admin, "/certificates/%s/snis" % bare["id"])["data"]
    assert len(data) == 1
    assert data[0]["name"] == n1 and data[0]["certificate"]["id"] == bare["id"]


def test_snis_wildcards(admin, fx):
    """/snis/:name wildcard snis: POST it("creates with prefix wildcard"), it("creates with suffix
    wildcard"), it("rejects invalid SNIs"); GET it("retrieves a wildcard SNI using the name")"""
    cert, _ = add_certificate(admin, fx)
    for name in ("*." + get_name(), get_name() + ".*"):
        r = requests.post(admin + "/snis", json={"name": name,
                                                 "certificate": {"id": cert["id"]}}, timeout=T)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == name and r.json()["certificate"]["id"] == cert["id"]
    r = requests.post(admin + "/snis", json={"name": "*.wildcard.*",
                                             "certificate": {"id": cert["id"]}}, timeout=T)
    assert r.status_code == 400
    assert r.json()["fields"]["name"] == "only one wildcard must be specified"
    wild = "*." + get_name()
    r = requests.post(admin + "/snis", json={"name": wild, "certificate": {"id": cert["id"]}},
                      timeout=T)
    assert r.status_code == 201
    assert get(admin, "/snis/%2A." + wild[2:])["name"] == wild


def test_snis_get_by_name_and_by_id(admin, fx):
    """/snis/:name GET: it("retrieves a sni using the name"), it("retrieves a sni using the id")"""
    cert, names = add_certificate(admin, fx)
    body = get(admin, "/snis/" + names[0])
    assert body["name"] == names[0] and body["certificate"]["id"] == cert["id"]
    n1 = get_name()
    sni = requests.post(admin + "/snis", json={"name": n1, "certificate": {"id": cert["id"]}},
                        timeout=T).json()
    body = get(admin, "/snis/" + sni["id"])
    assert body["name"] == n1 and body["certificate"]["id"] == cert["id"]


def test_snis_put(admin, fx):
    """/snis/:name PUT: it("creates if not found"), it("updates if found"), it("handles invalid
    input")"""
    cert, _ = add_certificate(admin, fx)
    n1, sid = get_name(), str(uuid.uuid4())
    r = requests.put(admin + "/snis/" + sid, json={"certificate": {"id": cert["id"]}, "name": n1},
                     timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == n1 and get(admin, "/snis/" + sid) == r.json()
    n2 = get_name()
    r = requests.put(admin + "/snis/" + sid, json={"name": n2, "certificate": {"id": cert["id"]}},
                     timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == n2 and get(admin, "/snis/" + sid) == r.json()
    r = requests.put(admin + "/snis/" + str(uuid.uuid4()), json={}, timeout=T)
    assert r.status_code == 400
    assert r.json() == {
        "code": 2, "name": "schema violation",
        "message": "2 schema violations (certificate: required field missing; "
                   "name: required field missing)",
        "fields": {"certificate": "required field missing", "name": "required field missing"}}


def test_snis_patch_moves_an_sni_and_delete(admin, fx):
    """/snis/:name PATCH: it("updates a sni"); DELETE: it("deletes a sni")"""
    cert, names = add_certificate(admin, fx)
    r = requests.post(admin + "/certificates", json={"cert": fx["cert_alt"],
                                                     "key": fx["key_alt"]}, timeout=T)
    cert2 = r.json()
    r = requests.patch(admin + "/snis/" + names[0], json={"certificate": {"id": cert2["id"]}},
                       timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["certificate"]["id"] == cert2["id"]
    assert get(admin, "/certificates/" + cert["id"])["snis"] == [names[1]]
    assert get(admin, "/certificates/" + cert2["id"])["snis"] == [names[0]]
    n1 = get_name()
    requests.post(admin + "/snis", json={"name": n1, "certificate": {"id": cert["id"]}},
                  timeout=T)
    assert requests.delete(admin + "/snis/" + n1, timeout=T).status_code == 204
    assert requests.get(admin + "/snis/" + n1, timeout=T).status_code == 404


# ---- spec/01-unit/01-db/01-schema/11-snis_spec.lua, through POST /snis -------------------------

@pytest.mark.parametrize("name", ["valid.name", "foo.valid.name", "bar.foo.valid.name",
                                  "*.wildcard.com", "wildcard.*", "test.wildcard.*",
                                  "foo.test.wildcard.*", "*.test.wildcard.com"])
def test_sni_name_accepts_hostnames_and_wildcards(admin, fx, name):
    """11-snis_spec: it("accepts a hostname"), it("accepts wildcards")"""
    cert, _ = add_certificate(admin, fx)
    requests.delete(admin + "/snis/" + name.replace("*", "%2A"), timeout=T)
    r = requests.post(admin + "/snis", json={"name": name, "certificate": {"id": cert["id"]}},
                      timeout=T)
    assert r.status_code == 201, r.text
    assert requests.delete(admin + "/snis/" + r.json()["id"], timeout=T).status_code == 204


@pytest.mark.parametrize("name,err", [
    # it("rejects wrong wildcard placements")
    ("foo.*.com", "wildcard must be leftmost or rightmost character"),
    ("foo.*.wildcard.com", "wildcard must be leftmost or rightmost character"),
    # it("rejects multiple wildcards")
    ("*.example.*", "only one wildcard must be specified"),
    ("*.foo.*.wildcard.com", "only one wildcard must be specified"),
    ("*.*.wildcard.*", "only one wildcard must be specified"),
    # it("rejects wildcard with port"): one of Kong's three messages each
    ("*.wildcard.com:8000", "must not have a port"),
    ("wildcard.*:80", "wildcard must be leftmost or rightmost character"),
    ("test.wildcard.*:80", "wildcard must be leftmost or rightmost character"),
    ("test.wildcard.com:*", "invalid value: test.wildcard.com:wildcard"),
    # it("rejects a hostname with a port")
    ("valid.name:8000", "must not have a port"),
    ("foo.valid.name:443", "must not have a port"),
    # it("rejects a hostname with an IP")
    ("127.0.0.1", "must not be an IP"), ("10.0.0.1", "must not be an IP"),
    ("10.0.0.1:8001", "must not be an IP"), ("::1", "must not be an IP"),
    # it("rejects non-hostname values")
    ("example^com", "invalid value: example^com"),
])
def test_sni_name_rejections(admin, fx, name, err):
    """11-snis_spec: the name refusals, each as the 400 body of POST /snis"""
    cert, _ = add_certificate(admin, fx)
    r = requests.post(admin + "/snis", json={"name": name, "certificate": {"id": cert["id"]}},
                      timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "name": "schema violation",
                        "message": "schema violation (name: %s)" % err, "fields": {"name": err}}


# ================================================================================================
# 16-ca_certificates_routes_spec.lua
# ================================================================================================

NOT_CA = 'certificate does not appear to be a CA because it is missing the "CA" basic constraint'
EXPIRED = 'certificate expired, "Not After" time is in the past'


def test_ca_certificates_get(fresh, fx):
    """it("GET")"""
    assert get(fresh, "/ca_certificates")["data"] == []
    r = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca"]}, timeout=T)
    assert r.status_code == 201, r.text
    data = get(fresh, "/ca_certificates")["data"]
    assert len(data) == 1 and data[0]["cert"] == fx["cert_ca"]


def test_ca_certificates_post(fresh, fx):
    """POST: it("succeeds"), it("missing field"), it("non CA cert"), it("expired cert"),
    it("multiple certs")"""
    r = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca2"]}, timeout=T)
    assert r.status_code == 201, r.text
    for body, msg in (({}, "cert: required field missing"),
                      ({"cert": fx["cert"]}, NOT_CA),
                      ({"cert": fx["cert_expired"]}, EXPIRED),
                      ({"cert": fx["cert"] + "\n" + fx["cert"]},
                       "please submit only one certificate at a time")):
        r = requests.post(fresh + "/ca_certificates", json=body, timeout=T)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "schema violation (%s)" % msg
    assert len(get(fresh, "/ca_certificates")["data"]) == 1


def test_ca_certificates_delete_works(fresh, fx):
    """DELETE: it("works")"""
    ca = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca"]}, timeout=T).json()
    assert requests.delete(fresh + "/ca_certificates/" + ca["id"], timeout=T).status_code == 204
    assert get(fresh, "/ca_certificates")["data"] == []


def test_ca_certificates_delete_refused_while_a_service_references_it(fresh, fx):
    """DELETE: it("not allowed to delete if it is referenced by other entities") (Kong 3.x,
    kong/db/dao/ca_certificates.lua: 400 "referenced by others", code 19)"""
    ca = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca"]}, timeout=T).json()
    other = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca2"]},
                          timeout=T).json()
    r = requests.post(fresh + "/services", json={"url": "https://127.0.0.1:9443",
                                                 "ca_certificates": [other["id"], ca["id"]]},
                      timeout=T)
    assert r.status_code == 201, r.text
    service = r.json()
    r = requests.delete(fresh + "/ca_certificates/" + ca["id"], timeout=T)
    assert r.status_code == 400, r.text
    assert r.json() == {"code": 19, "name": "referenced by others",
                        "message": "ca certificate %s is still referenced by services (id = %s)"
                                   % (ca["id"], service["id"])}
    assert get(fresh, "/ca_certificates/" + ca["id"]) == ca
    # once no service references it, it goes; an unreferenced one always could
    r = requests.patch(fresh + "/services/" + service["id"],
                       json={"ca_certificates": [other["id"]]}, timeout=T)
    assert r.status_code == 200, r.text
    assert requests.delete(fresh + "/ca_certificates/" + ca["id"], timeout=T).status_code == 204
    assert requests.get(fresh + "/ca_certificates/" + ca["id"], timeout=T).status_code == 404
    assert requests.delete(fresh + "/ca_certificates/" + other["id"],
                           timeout=T).status_code == 400
    assert requests.delete(fresh + "/services/" + service["id"], timeout=T).status_code == 204
    assert requests.delete(fresh + "/ca_certificates/" + other["id"],
                           timeout=T).status_code == 204


def test_ca_certificates_patch(fresh, fx):
    """PATCH: it("non CA cert"), it("expired cert"), it("works") (updated_at moves on)"""
    ca = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca2"]},
                       timeout=T).json()
    for cert, msg in ((fx["cert"], NOT_CA), (fx["cert_expired"], EXPIRED)):
        r = requests.patch(fresh + "/ca_certificates/" + ca["id"], json={"cert": cert}, timeout=T)
        assert r.status_code == 400
        assert r.json()["message"] == "schema violation (%s)" % msg
    time.sleep(1.1)
    r = requests.patch(fresh + "/ca_certificates/" + ca["id"], json={"cert": fx["cert_ca"]},
                       timeout=T)
    assert r.status_code == 200, r.text
    assert ca["updated_at"] < r.json()["updated_at"] and r.json()["cert"] == fx["cert_ca"]


def test_ca_certificates_put(fresh, fx):
    """PUT: it("missing field"), it("non CA cert"), it("expired cert"), it("updates existing
    cert"), it("creates new cert when uuid does not exist")"""
    ca = requests.post(fresh + "/ca_certificates", json={"cert": fx["cert_ca2"]},
                       timeout=T).json()
    for body, msg in (({}, "cert: required field missing"), ({"cert": fx["cert"]}, NOT_CA),
                      ({"cert": fx["cert_expired"]}, EXPIRED)):
        r = requests.put(fresh + "/ca_certificates/" + ca["id"], json=body, timeout=T)
        assert r.status_code == 400
        assert r.json()["message"] == "schema violation (%s)" % msg
    r = requests.put(fresh + "/ca_certificates/" + ca["id"], json={"cert": fx["cert_ca"]},
                     timeout=T)
    assert r.status_code == 200, r.text
    data = get(fresh, "/ca_certificates")["data"]
    assert len(data) == 1 and data[0]["cert"] == fx["cert_ca"]
    assert requests.delete(fresh + "/ca_certificates/" + ca["id"], timeout=T).status_code == 204
    fixed = "123e4567-e89b-12d3-a456-426655440000"
    r = requests.put(fresh + "/ca_certificates/" + fixed, json={"cert": fx["cert_ca"]}, timeout=T)
    assert r.status_code == 200, r.text
    assert get(fresh, "/ca_certificates/" + fixed)["cert"] == fx["cert_ca"]


# ================================================================================================
# 07-upstreams_routes_spec.lua
# ================================================================================================

HOSTNAME = "Invalid name ('%s'); must be a valid hostname"
HASHES = "none, consumer, ip, header, cookie, path, query_arg, uri_capture"
BAD_HEADER = ("bad header name 'not a <> valid <> header name', allowed characters are A-Z, a-z, "
              "0-9, '_', and '-'")
BAD_COOKIE = ("bad cookie name 'not a <> valid <> cookie name', allowed characters are A-Z, a-z, "
              "0-9, '_', and '-'")
COND_HASH_ON = "failed conditional validation given value of field 'hash_on'"


@pytest.mark.parametrize("enc", ENCODINGS)
def test_upstreams_post_creates(admin, enc):
    """POST: it_content_types("creates an upstream with defaults"), ("creates an upstream without
    defaults"), ("creates an upstream with hash_on cookie parameters"), ("creates an upstream with
    2 header hashes"), ("creates an upstream with 65536 slots"), ("creates an upstream with host
    header")"""
    cases = [
        ({}, {"slots": 10000, "hash_on": "none", "hash_fallback": "none", "hash_on_header": None,
              "hash_fallback_header": None}),
        ({"slots": 10, "hash_on": "consumer", "hash_fallback": "ip",
          "hash_on_header": "HeaderName", "hash_fallback_header": "HeaderFallback"}, {}),
        ({"hash_on": "cookie", "hash_on_cookie": "CookieName1", "hash_on_cookie_path": "/foo"},
         {}),
        ({"slots": 10, "hash_on": "header", "hash_fallback": "header",
          "hash_on_header": "HeaderName1", "hash_fallback_header": "HeaderName2"}, {}),
        ({"slots": 65536}, {}),
        ({"host_header": "localhost"}, {"slots": 10000, "hash_on": "none",
                                        "hash_fallback": "none", "hash_on_header": None,
                                        "hash_fallback_header": None}),
    ]
    for fields, expect in cases:
        name = uniq("my.upstream")
        body = dict(fields, name=name)
        r = send(admin, "POST", "/upstreams", body, enc)
        assert r.status_code == 201, (fields, r.text)
        got = r.json()
        assert got["name"] == name and isinstance(got["created_at"], int)
        assert isinstance(got["id"], str)
        for k, v in dict(fields, **expect).items():
            assert got[k] == v, (k, got)


@pytest.mark.parametrize("enc", ENCODINGS)
def test_upstreams_post_handles_invalid_input(admin, enc):
    """POST errors: it_content_types("handles invalid input"), with 3.x's messages"""
    cases = [
        ({"slots": 50}, {"name": "required field missing"}),
        ({"name": "some invalid host name"}, {"name": HOSTNAME % "some invalid host name"}),
        ({"name": "my.upstream", "slots": 65537},
         {"slots": "value should be between 10 and 65536"}),
        ({"name": "my.upstream", "hash_on": "something that is invalid"},
         {"hash_on": "expected one of: " + HASHES}),
        ({"name": "my.upstream", "hash_on": "consumer",
          "hash_fallback": "something that is invalid"},
         {"@entity": [COND_HASH_ON],
          "hash_fallback": "expected one of: none, ip, header, cookie, path, query_arg, "
                           "uri_capture"}),
        ({"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "consumer"},
         {"@entity": [COND_HASH_ON],
          "hash_fallback": "expected one of: none, ip, header, cookie, path, query_arg, "
                           "uri_capture"}),
        ({"name": "my.upstream", "hash_on": "header", "hash_fallback": "consumer",
          "hash_on_header": "not a <> valid <> header name"}, {"hash_on_header": BAD_HEADER}),
        ({"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "header",
          "hash_fallback_header": "not a <> valid <> header name"},
         {"hash_fallback_header": BAD_HEADER}),
        ({"name": "my.upstream", "hash_on": "header", "hash_fallback": "header",
          "hash_on_header": "headername", "hash_fallback_header": "headername"},
         {"@entity": ["values of these fields must be distinct: 'hash_on_header', "
                      "'hash_fallback_header'"]}),
        ({"name": "my.upstream", "hash_on": "cookie", "hash_on_cookie": "cookiename",
          "hash_fallback": "header", "hash_fallback_header": "Cool-Header"},
         {"@entity": [COND_HASH_ON], "hash_fallback": "expected one of: none"}),
        ({"name": "my.upstream", "hash_on": "header", "hash_fallback": "header",
          "hash_fallback_header": "HeaderName"},
         {"@entity": [COND_HASH_ON], "hash_on_header": "required field missing"}),
        ({"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "header"},
         {"@entity": ["failed conditional validation given value of field 'hash_fallback'"],
          "hash_fallback_header": "required field missing"}),
        ({"name": "my.upstream", "hash_on": "cookie",
          "hash_on_cookie": "not a <> valid <> cookie name"}, {"hash_on_cookie": BAD_COOKIE}),
        ({"name": "my.upstream", "hash_on": "cookie", "hash_on_cookie": "hashme",
          "hash_on_cookie_path": "not a path"}, {"hash_on_cookie_path": "should start with: /"}),
        ({"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "cookie",
          "hash_on_cookie": "not a <> valid <> cookie name"}, {"hash_on_cookie": BAD_COOKIE}),
        ({"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "cookie",
          "hash_on_cookie": "my-cookie", "hash_on_cookie_path": "not a path"},
         {"hash_on_cookie_path": "should start with: /"}),
    ]
    for body, fields in cases:
        r = send(admin, "POST", "/upstreams", body, enc)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["name"] == "schema violation"
        assert r.json()["fields"] == fields, body
    assert requests.get(admin + "/upstreams/my.upstream", timeout=T).status_code == 404


def test_upstreams_post_handles_malformed_json(admin):
    """POST errors: it("handles malformed JSON body")"""
    r = requests.post(admin + "/upstreams", data='{"hello": "world"',
                      headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 400 and r.text == '{"message":"Cannot parse JSON body"}'


@pytest.mark.parametrize("enc", ENCODINGS)
def test_upstreams_post_returns_409_on_conflict(admin, enc):
    """POST errors: it_content_types("returns 409 on conflict")"""
    name = uniq("conflict.upstream")
    assert send(admin, "POST", "/upstreams", {"name": name}, enc).status_code == 201
    r = send(admin, "POST", "/upstreams", {"name": name}, enc)
    assert r.status_code == 409
    assert r.json()["name"] == "unique constraint violation"
    assert r.json()["fields"] == {"name": name}


@pytest.mark.parametrize("enc", ENCODINGS)
def test_upstreams_put(admin, enc):
    """PUT: it_content_types("creates if not exists"), it_content_types("replaces if exists")"""
    name = uniq("my-upstream")
    r = send(admin, "PUT", "/upstreams/" + name, {"created_at": 1461276890000}, enc)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["name"] == name and isinstance(got["created_at"], int)
    assert isinstance(got["id"], str) and isinstance(got["slots"], int)
    r = send(admin, "POST", "/upstreams", {"name": uniq("my-upstream"), "slots": 100}, enc)
    assert r.status_code == 201
    old = r.json()
    new_name = uniq("my-new-upstream")
    r = send(admin, "PUT", "/upstreams/" + old["id"], {"name": new_name, "slots": 123,
                                                       "created_at": old["created_at"]}, enc)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == new_name and r.json()["slots"] == 123
    assert r.json()["id"] == old["id"]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_upstreams_put_handles_invalid_input(admin, enc):
    """PUT errors: it_content_types("handles invalid input"). A URL key the name's validator
    refuses is Kong's "invalid unique name" (the DAO's upsert_by_name validates it first), its
    message the validator's."""
    r = send(admin, "PUT", "/upstreams/00000000-0000-0000-0000-000000000001", {}, enc)
    assert r.status_code == 400
    assert r.json()["message"] == "schema violation (name: required field missing)"
    r = send(admin, "PUT", "/upstreams/1.2.3.4", {"created_at": 1461276890000}, enc)
    assert r.status_code == 400
    assert r.json() == {"code": 10, "name": "invalid unique name",
                        "message": "Invalid name ('1.2.3.4'); no ip addresses allowed"}


def test_upstream_url_keys_are_validated_like_kongs_select_by_name(admin):
    """The other endpoints that read /upstreams/{name} go through the same select_by_name in Kong
    (endpoints.lua select_entity): an invalid name is 400 code 10 there too, not a missing
    upstream; a method the path does not serve stays 405."""
    u = requests.post(admin + "/upstreams", json={"name": uniq("keys.test")}, timeout=T).json()
    bad = {"code": 10, "name": "invalid unique name",
           "message": "Invalid name ('a.test:80'); no port allowed"}
    for m, path in (("GET", "/upstreams/a.test:80"), ("PATCH", "/upstreams/a.test:80"),
                    ("DELETE", "/upstreams/a.test:80"), ("GET", "/upstreams/a.test:80/targets"),
                    ("POST", "/upstreams/a.test:80/targets"),
                    ("GET", "/upstreams/a.test:80/targets/all"),
                    ("DELETE", "/upstreams/a.test:80/targets/h:1"),
                    ("GET", "/upstreams/a.test:80/client_certificate")):
        r = requests.request(m, admin + path, json={"target": "h:1"}, timeout=T)
        assert r.status_code == 400 and r.json() == bad, (m, path, r.text)
    assert requests.post(admin + "/upstreams/a.test:80", json={},
                         timeout=T).status_code == 405
    # a valid name that names nothing is still 404 (204 for DELETE)
    assert requests.get(admin + "/upstreams/nope.test", timeout=T).status_code == 404
    assert requests.delete(admin + "/upstreams/nope.test", timeout=T).status_code == 204
    assert get(admin, "/upstreams/" + u["name"])["id"] == u["id"]
    # the other entities' endpoint keys: a route by an invalid name
    r = requests.get(admin + "/routes/a%20b", timeout=T)
    assert r.status_code == 400 and r.json()["code"] == 10
    assert r.json()["name"] == "invalid unique name"


def test_upstreams_get(fresh):
    """GET: it("retrieves the first page"), it("paginates a set"), it("ignores filters"),
    it("ignores an invalid body"); empty results: it("data property is an empty array")"""
    assert get(fresh, "/upstreams") == {"data": [], "next": None}
    for i in range(10):
        assert requests.post(fresh + "/upstreams", json={"name": "u%d.test" % i},
                             timeout=T).status_code == 201
    assert len(get(fresh, "/upstreams")["data"]) == 10
    pages, offset = [], None
    for i in range(4):
        params = {"size": 3}
        if offset:
            params["offset"] = offset
        r = requests.get(fresh + "/upstreams", params=params, timeout=T)
        assert r.status_code == 200
        page = r.json()
        assert len(page["data"]) == (3 if i < 3 else 1)
        if pages:
            assert page != pages[-1]
        offset = page.get("offset")
        pages.append(page)
    assert offset is None
    assert requests.get(fresh + "/upstreams", params={"foo": "bar"}, timeout=T).status_code == 200
    r = requests.get(fresh + "/upstreams", data="this fails if decoded as json",
                     headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 200


def test_upstreams_delete(admin):
    """DELETE: it("by id"), it("by name"), it("after deleting its targets (regression test for
    #4317)"), it("can delete an upstream with targets"); it("returns 405 on invalid method")"""
    for by in ("id", "name"):
        u = requests.post(admin + "/upstreams", json={"name": uniq("my-upstream"), "slots": 100},
                          timeout=T).json()
        assert requests.delete(admin + "/upstreams/" + u[by], timeout=T).status_code == 204
        assert requests.get(admin + "/upstreams/" + u["id"], timeout=T).status_code == 404
    name = uniq("my-upstream")
    assert requests.post(admin + "/upstreams", json={"name": name, "slots": 100},
                         timeout=T).status_code == 201
    assert requests.post(admin + "/upstreams/%s/targets" % name, json={"target": "127.0.0.1:8000"},
                         timeout=T).status_code == 201
    assert requests.delete(admin + "/upstreams/%s/targets/127.0.0.1:8000" % name,
                           timeout=T).status_code == 204
    assert requests.get(admin + "/upstreams/" + name, timeout=T).status_code == 200
    assert requests.delete(admin + "/upstreams/" + name, timeout=T).status_code == 204
    name = uniq("my-upstream")
    u = requests.post(admin + "/upstreams", json={"name": name, "slots": 100}, timeout=T).json()
    assert requests.post(admin + "/upstreams/%s/targets" % name, json={"target": "127.0.0.1:8000"},
                         timeout=T).status_code == 201
    assert requests.delete(admin + "/upstreams/" + name, timeout=T).status_code == 204
    assert requests.get(admin + "/upstreams/%s/targets" % u["id"], timeout=T).status_code == 404
    r = requests.delete(admin + "/upstreams", headers={"Content-Type": "application/json"},
                        timeout=T)
    assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}


# ---- spec/01-unit/01-db/01-schema/09-upstreams_spec.lua, through POST /upstreams ---------------

def post_upstream(a, body):
    r = requests.post(a + "/upstreams", json=body, timeout=T)
    if r.status_code == 201:
        requests.delete(a + "/upstreams/" + r.json()["id"], timeout=T)
    return r


def test_upstream_schema_validates_and_refuses(admin):
    """09-upstreams_spec: it("validates a valid load upstream"), it("invalid name produces error"),
    it("invalid hash_on_cookie produces error"), the hash_on/hash_fallback rules, and
    describe("name attribute") it("requires a valid name with no port"), it("accepts valid
    names")"""
    r = post_upstream(admin, {"name": uniq("my_service"), "hash_on": "header",
                              "hash_on_header": "X-Balance", "hash_fallback": "cookie",
                              "hash_on_cookie": "a_cookie"})
    assert r.status_code == 201, r.text
    for name, msg in (("1234", HOSTNAME % "1234"), ("fafa fafa", HOSTNAME % "fafa fafa"),
                      ("192.168.0.1", "Invalid name ('192.168.0.1'); no ip addresses allowed"),
                      ("myserver:8000", "Invalid name ('myserver:8000'); no port allowed"),
                      ("123.123.123.123",
                       "Invalid name ('123.123.123.123'); no ip addresses allowed"),
                      ("\\\\bad\\\\////name////", HOSTNAME % "\\\\bad\\\\////name////"),
                      ("name:80", "Invalid name ('name:80'); no port allowed")):
        r = post_upstream(admin, {"name": name})
        assert r.status_code == 400 and r.json()["fields"] == {"name": msg}, name
    r = post_upstream(admin, {})
    assert r.status_code == 400 and r.json()["fields"] == {"name": "required field missing"}
    assert post_upstream(admin, {"name": uniq("valid.host.name")}).status_code == 201
    r = post_upstream(admin, {"name": "x", "hash_on_cookie": "a cookie"})
    assert r.status_code == 400 and "hash_on_cookie" in r.json()["fields"]
    # it("hash_on = 'header' makes hash_on_header required") and the others of the family
    for body, field in (({"hash_on": "header"}, "hash_on_header"),
                        ({"hash_fallback": "header"}, "hash_fallback_header"),
                        ({"hash_on": "cookie"}, "hash_on_cookie"),
                        ({"hash_fallback": "cookie"}, "hash_on_cookie"),
                        ({"hash_on": "none", "hash_fallback": "header"}, "hash_fallback"),
                        ({"hash_on": "cookie", "hash_fallback": "header"}, "hash_fallback"),
                        ({"hash_on": "consumer", "hash_fallback": "consumer"}, "hash_fallback"),
                        ({"hash_on": "ip", "hash_fallback": "ip"}, "hash_fallback")):
        r = post_upstream(admin, dict(body, name="x"))
        assert r.status_code == 400 and field in r.json()["fields"], (body, r.text)


def test_upstream_schema_produces_defaults(admin):
    """09-upstreams_spec: it("produces defaults")"""
    name = uniq("www.example.com")
    r = requests.post(admin + "/upstreams", json={"name": name}, timeout=T)
    assert r.status_code == 201
    u = r.json()
    assert len(u["id"]) == 36 and u["name"] == name
    assert u["hash_on"] == "none" and u["hash_fallback"] == "none"
    assert u["hash_on_cookie_path"] == "/" and u["slots"] == 10000
    hc = u["healthchecks"]
    active, passive = hc["active"], hc["passive"]
    assert {k: active[k] for k in ("type", "timeout", "concurrency", "http_path",
                                   "https_verify_certificate")} == {
        "type": "http", "timeout": 1, "concurrency": 10, "http_path": "/",
        "https_verify_certificate": True}
    assert active["healthy"] == {"interval": 0, "http_statuses": [200, 302], "successes": 0}
    assert active["unhealthy"] == {"interval": 0, "http_statuses": [429, 404, 500, 501, 502, 503,
                                                                    504, 505],
                                   "tcp_failures": 0, "timeouts": 0, "http_failures": 0}
    assert passive["type"] == "http"
    assert passive["healthy"] == {"http_statuses": [200, 201, 202, 203, 204, 205, 206, 207, 208,
                                                    226, 300, 301, 302, 303, 304, 305, 306, 307,
                                                    308], "successes": 0}
    assert passive["unhealthy"] == {"http_statuses": [429, 500, 503], "tcp_failures": 0,
                                    "timeouts": 0, "http_failures": 0}


SECONDS = "value should be between 0 and 65535"
POS_INTEGER = "value should be between 1 and 2147483648"
ZERO_INTEGER = "value should be between 0 and 255"
STATUS_CODE = "value should be between 100 and 999"
INTEGER = "expected an integer"
INVALID_HOST = "invalid value: "


def leaf(err):
    """Kong's walk down the first key of each level to the message."""
    while isinstance(err, (dict, list)):
        err = err[next(iter(err))] if isinstance(err, dict) else err[0]
    return err


@pytest.mark.parametrize("hc,msg", [
    ({"active": {"timeout": -1}}, SECONDS), ({"active": {"timeout": 1e+42}}, SECONDS),
    ({"active": {"concurrency": 0.5}}, INTEGER), ({"active": {"concurrency": 0}}, POS_INTEGER),
    ({"active": {"concurrency": -10}}, POS_INTEGER),
    ({"active": {"http_path": ""}}, "length must be at least 1"),
    ({"active": {"http_path": "ovo"}}, "should start with: /"),
    ({"active": {"https_sni": "127.0.0.1"}}, "must not be an IP"),
    ({"active": {"https_sni": "127.0.0.1:8080"}}, "must not be an IP"),
    ({"active": {"https_sni": "/example"}}, INVALID_HOST),
    ({"active": {"https_sni": ".example"}}, INVALID_HOST),
    ({"active": {"https_sni": "example:"}}, INVALID_HOST),
    ({"active": {"https_sni": "mock;bin"}}, INVALID_HOST),
    ({"active": {"https_sni": "example.com/org"}}, INVALID_HOST),
    ({"active": {"https_sni": "example-.org"}}, INVALID_HOST),
    ({"active": {"https_sni": "example.org-"}}, INVALID_HOST),
    ({"active": {"https_sni": "hello..example.com"}}, INVALID_HOST),
    ({"active": {"https_sni": "hello-.example.com"}}, INVALID_HOST),
    ({"active": {"https_sni": "example.com:1234"}}, "must not have a port"),
    ({"active": {"https_verify_certificate": "ovo"}}, "expected a boolean"),
    ({"active": {"healthy": {"interval": -1}}}, SECONDS),
    ({"active": {"healthy": {"interval": 1e+42}}}, SECONDS),
    ({"active": {"healthy": {"http_statuses": 404}}}, "expected an array"),
    ({"active": {"healthy": {"http_statuses": ["ovo"]}}}, INTEGER),
    ({"active": {"healthy": {"http_statuses": [-1]}}}, STATUS_CODE),
    ({"active": {"healthy": {"http_statuses": [99]}}}, STATUS_CODE),
    ({"active": {"healthy": {"http_statuses": [1000]}}}, STATUS_CODE),
    ({"active": {"healthy": {"http_statuses": [111.314]}}}, INTEGER),
    ({"active": {"healthy": {"successes": 0.5}}}, INTEGER),
    ({"active": {"healthy": {"successes": -1}}}, ZERO_INTEGER),
    ({"active": {"unhealthy": {"interval": -1}}}, SECONDS),
    ({"active": {"unhealthy": {"http_statuses": 404}}}, "expected an array"),
    ({"active": {"unhealthy": {"http_statuses": [99]}}}, STATUS_CODE),
    ({"active": {"unhealthy": {"tcp_failures": 0.5}}}, INTEGER),
    ({"active": {"unhealthy": {"tcp_failures": -1}}}, ZERO_INTEGER),
    ({"active": {"unhealthy": {"timeouts": -1}}}, ZERO_INTEGER),
    ({"active": {"unhealthy": {"http_failures": 0.5}}}, INTEGER),
    ({"passive": {"healthy": {"http_statuses": ["ovo"]}}}, INTEGER),
    ({"passive": {"healthy": {"successes": -1}}}, ZERO_INTEGER),
    ({"passive": {"unhealthy": {"http_statuses": [1000]}}}, STATUS_CODE),
    ({"passive": {"unhealthy": {"tcp_failures": -1}}}, ZERO_INTEGER),
    ({"passive": {"unhealthy": {"timeouts": 0.5}}}, INTEGER),
    ({"passive": {"unhealthy": {"http_failures": -1}}}, ZERO_INTEGER),
])
def test_upstream_healthchecks_rejects_invalid_configurations(admin, hc, msg):
    """09-upstreams_spec describe("healthchecks attribute"): it("rejects invalid
    configurations"), with 3.x's bounds (counters 0..255). Not "example." as https_sni: 3.x's
    normalize_ip takes an FQDN's trailing dot."""
    r = post_upstream(admin, {"name": uniq("x"), "healthchecks": hc})
    assert r.status_code == 400, r.text
    fields = r.json()["fields"]
    assert list(fields) == ["healthchecks"]
    assert leaf(fields).startswith(msg), fields


def test_upstream_healthchecks_accepts_the_correct_values(admin):
    """09-upstreams_spec describe("healthchecks attribute"): it("accepts inputs with the correct
    values")"""
    for hc in ({"active": {"timeout": 0.5}}, {"active": {"timeout": 1}},
               {"active": {"concurrency": 2}}, {"active": {"http_path": "/"}},
               {"active": {"http_path": "/test"}}, {"active": {"https_sni": "example.com"}},
               {"active": {"https_verify_certificate": False}},
               {"active": {"healthy": {"interval": 0}}},
               {"active": {"healthy": {"http_statuses": [200, 300]}}},
               {"active": {"healthy": {"successes": 2}}},
               {"active": {"unhealthy": {"interval": 0}}},
               {"active": {"unhealthy": {"http_statuses": [404]}}},
               {"active": {"unhealthy": {"tcp_failures": 3}}},
               {"active": {"unhealthy": {"timeouts": 9}}},
               {"active": {"unhealthy": {"http_failures": 2}}},
               {"passive": {"healthy": {"http_statuses": [200, 201]}}},
               {"passive": {"healthy": {"successes": 2}}},
               {"passive": {"unhealthy": {"http_statuses": [400, 500]}}},
               {"passive": {"unhealthy": {"tcp_failures": 8}}},
               {"passive": {"unhealthy": {"timeouts": 1}}},
               {"passive": {"unhealthy": {"http_failures": 2}}}):
        r = post_upstream(admin, {"name": uniq("x"), "healthchecks": hc})
        assert r.status_code == 201, (hc, r.text)


# ================================================================================================
# 08-targets_routes_spec.lua (Kong 3.x: unique per upstream, no history, weight 0..65535)
# ================================================================================================

def new_upstream(a, **fields):
    r = requests.post(a + "/upstreams", json=dict({"name": uniq("up") + ".test"}, **fields),
                      timeout=T)
    assert r.status_code == 201, r.text
    return r.json()


def test_targets_top_level_is_404(admin):
    """/targets: it("returns a 404")"""
    r = requests.get(admin + "/targets", timeout=T)
    assert r.status_code == 404 and r.json()["message"] == "Not found"


@pytest.mark.parametrize("enc", ENCODINGS)
def test_targets_post_creates(admin, enc):
    """POST: it_content_types("creates a target with defaults"), it_content_types("creates a
    target without defaults") (the path with Kong's trailing slash)"""
    up = new_upstream(admin, slots=10)
    r = send(admin, "POST", "/upstreams/%s/targets/" % up["name"], {"target": "mashape.com"}, enc)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["target"] == "mashape.com:8000" and t["weight"] == 100
    assert isinstance(t["created_at"], (int, float)) and isinstance(t["id"], str)
    r = send(admin, "POST", "/upstreams/%s/targets/" % up["name"],
             {"target": "mashape.com:123", "weight": 99}, enc)
    assert r.status_code == 201, r.text
    assert r.json()["target"] == "mashape.com:123" and r.json()["weight"] == 99


def test_targets_post_handles_malformed_json(admin):
    """POST errors: it("handles malformed JSON body")"""
    up = new_upstream(admin, slots=10)
    r = requests.post(admin + "/upstreams/%s/targets/" % up["name"], data='{"hello": "world"',
                      headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 400 and r.json() == {"message": "Cannot parse JSON body"}


@pytest.mark.parametrize("enc", ENCODINGS)
def test_targets_post_handles_invalid_input(admin, enc):
    """POST errors: it_content_types("handles invalid input") (weight_max 65535 in 3.x)"""
    up = new_upstream(admin, slots=10)
    path = "/upstreams/%s/targets/" % up["name"]
    for body, fields in (
            ({"weight": 0}, {"target": "required field missing"}),
            ({"target": "some invalid host name"},
             {"target": "Invalid target ('some invalid host name'); not a valid hostname or ip "
                        "address"}),
            ({"target": "mashape.com", "weight": 65536},
             {"weight": "value should be between 0 and 65535"})):
        r = send(admin, "POST", path, body, enc)
        assert r.status_code == 400, r.text
        assert r.json()["name"] == "schema violation" and r.json()["fields"] == fields
    assert get(admin, "/upstreams/%s/targets" % up["name"])["data"] == []


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_targets_collection_returns_405(admin, enc, method):
    """POST errors: it_content_types("returns 405 on " .. method)"""
    up = new_upstream(admin, slots=10)
    r = send(admin, method, "/upstreams/%s/targets/" % up["name"], {"target": "mashape.com"}, enc)
    assert r.status_code == 405


def test_targets_post_refuses_a_duplicate(admin):
    """Kong 3.x: a target is unique in its upstream; a second POST is 409 instead of the history
    entry the stored spec's it("cleans up old target entries") builds"""
    up = new_upstream(admin, slots=10)
    path = "/upstreams/%s/targets/" % up["name"]
    assert requests.post(admin + path, json={"target": "mashape.com:1111", "weight": 1},
                         timeout=T).status_code == 201
    r = requests.post(admin + path, json={"target": "mashape.com:1111", "weight": 2}, timeout=T)
    assert r.status_code == 409 and r.json()["code"] == 5
    assert [t["weight"] for t in get(admin, path)["data"]] == [1]


def test_targets_get_lists_every_target(admin):
    """GET: it("only shows active targets") as 3.x has it: every target (weight 0 too) once,
    with and without the trailing slash; empty results: it("data property is an empty array")"""
    up = new_upstream(admin)
    made = []
    for i, w in enumerate((10, 0, 10, 50)):
        r = requests.post(admin + "/upstreams/%s/targets" % up["name"],
                          json={"target": "api-%d:80" % i, "weight": w}, timeout=T)
        made.append(r.json()["id"])
    for append in ("", "/"):
        data = get(admin, "/upstreams/%s/targets%s" % (up["name"], append))["data"]
        assert sorted(t["id"] for t in data) == sorted(made)
    empty = new_upstream(admin)
    r = requests.get(admin + "/upstreams/%s/targets" % empty["name"], timeout=T)
    assert r.status_code == 200 and '"data":[]' in r.text


def test_targets_all(admin):
    """/upstreams/{upstream}/targets/all/ GET: it("retrieves the first page"), it("offset is a
    string"), it("paginates a set"), it("ingores filters"), it("ignores an invalid body"); empty
    results: it("data property is an empty array")"""
    up = new_upstream(admin)
    for i in range(1, 11):
        assert requests.post(admin + "/upstreams/%s/targets" % up["name"],
                             json={"target": "api-%d:80" % i, "weight": 100},
                             timeout=T).status_code == 201
    all_path = "/upstreams/%s/targets/all" % up["name"]
    assert len(get(admin, all_path)["data"]) == 10
    page = requests.get(admin + "/upstreams/%s/targets" % up["name"], params={"size": 3},
                        timeout=T).json()
    assert isinstance(page["offset"], str)
    pages, offset = [], None
    for i in range(4):
        params = {"size": 3}
        if offset:
            params["offset"] = offset
        page = requests.get(admin + all_path, params=params, timeout=T).json()
        assert len(page["data"]) == (3 if i < 3 else 1)
        if pages:
            assert page != pages[-1]
        offset = page.get("offset")
        pages.append(page)
    assert requests.get(admin + all_path, params={"foo": "bar"}, timeout=T).status_code == 200
    r = requests.get(admin + all_path, data="this fails if decoded as json",
                     headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 200
    empty = new_upstream(admin)
    r = requests.get(admin + "/upstreams/%s/targets/all" % empty["name"], timeout=T)
    assert r.status_code == 200 and r.json() == {"data": [], "next": None}
    assert '"data":[]' in r.text


def test_targets_delete_by_target_and_by_id(admin):
    """/upstreams/{upstream}/targets/{target} DELETE: it("acts as a sugar method to POST a target
    with 0 weight (by target)") and "(by id)", as Kong 3.x has them: the target is deleted"""
    for by in ("target", "id"):
        up = new_upstream(admin)
        path = "/upstreams/%s/targets" % up["name"]
        requests.post(admin + path, json={"target": "api-1:80", "weight": 10}, timeout=T)
        target = requests.post(admin + path, json={"target": "api-2:80", "weight": 10},
                               timeout=T).json()
        r = requests.delete(admin + "%s/%s" % (path, target[by]), timeout=T)
        assert r.status_code == 204
        assert [t["target"] for t in get(admin, path + "/all")["data"]] == ["api-1:80"]
        assert [t["target"] for t in get(admin, path)["data"]] == ["api-1:80"]


# ---- spec/01-unit/01-db/01-schema/08-targets_spec.lua, through POST ----------------------------

def test_target_schema_validates(admin):
    """08-targets_spec describe("targets.target"): it("validates")"""
    up = new_upstream(admin)
    path = "/upstreams/%s/targets" % up["name"]
    for t in ("valid.name", "valid.name:8080", "12.34.56.78", "1.2.3.4:123"):
        r = requests.post(admin + path, json={"target": t}, timeout=T)
        assert r.status_code == 201, (t, r.text)
    bad = "\\\\bad\\\\////name////"
    r = requests.post(admin + path, json={"target": bad}, timeout=T)
    assert r.status_code == 400
    assert r.json()["fields"] == {
        "target": "Invalid target ('%s'); not a valid hostname or ip address" % bad}
