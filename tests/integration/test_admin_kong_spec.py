# SPDX-License-Identifier: Apache-2.0
"""Kong's own Admin API specs for services and routes (spec/02-integration/04-admin_api,
09-routes_routes_spec and 10-services_routes_spec), rewritten against Sluice on its default SQLite
store: the cases the other admin suites do not cover. Each case runs with the body encodings Kong
runs it with (JSON, form-urlencoded with `a[]=`/`a.b=` keys, multipart where Kong does)."""

import uuid

import pytest
import requests

from lib.sluice import Sluice, kong

T = 15  # generous: the suite may share the machine with sanitizer runs

UNRESOLVED = ("the foreign key cannot be resolved with '{name=\"%s\"}' for an existing "
              "'services' entity")


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """One Sluice on SQLite for the module; every test makes its own, uniquely named entities."""
    s = Sluice(tmp_path_factory.mktemp("kongspec"), kong(),
               conf={"database": "sqlite", "declarative_config": None, "admin_listen": "auto"},
               name="kongspec")
    yield s.admin_url("").rstrip("/")
    s.stop()


def send(a, method, path, body=None, enc="json"):
    """<body> as JSON, as a form (lists become repeated `k[]=` keys, dicts `k.sub=` keys, None an
    empty value: Kong's form conventions) or as multipart parts with the same keys."""
    if enc == "json":
        return requests.request(method, a + path, json=body, timeout=T)
    pairs = []

    def flat(prefix, v):
        if isinstance(v, dict):
            for k, sub in v.items():
                flat("%s.%s" % (prefix, k), sub)
        elif isinstance(v, list):
            for sub in v:
                pairs.append((prefix + "[]", sub))
        else:
            pairs.append((prefix, "" if v is None else str(v).lower() if isinstance(v, bool)
                          else str(v)))
    for k, v in (body or {}).items():
        flat(k, v)
    if enc == "form":
        return requests.request(method, a + path, data=pairs, timeout=T)
    return requests.request(method, a + path, files=[(k, (None, v)) for k, v in pairs],
                            timeout=T)


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def new_service(a, **fields):
    body = {"host": "example.com"}
    body.update(fields)
    r = requests.post(a + "/services", json=body, timeout=T)
    assert r.status_code == 201, r.text
    return r.json()


def new_route(a, **fields):
    body = {"paths": ["/" + uuid.uuid4().hex[:8]]}
    body.update(fields)
    r = requests.post(a + "/routes", json=body, timeout=T)
    assert r.status_code == 201, r.text
    return r.json()


ENCODINGS = ["json", "form", "multipart"]


# ---- POST /routes: a service referenced by name (kong/db/dao resolve_foreign) ------------------

@pytest.mark.parametrize("enc", ENCODINGS)
def test_route_references_its_service_by_name(admin, enc):
    svc = new_service(admin, name=uniq("byname"))
    r = send(admin, "POST", "/routes", {"protocols": ["http"], "methods": ["GET", "POST", "PATCH"],
                                        "hosts": ["foo.api.com", "bar.api.com"],
                                        "paths": ["/foo", "/bar"],
                                        "service": {"name": svc["name"]}}, enc)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["service"] == {"id": svc["id"]}
    assert body["hosts"] == ["foo.api.com", "bar.api.com"] and body["paths"] == ["/foo", "/bar"]
    assert body["methods"] == ["GET", "POST", "PATCH"]
    # stored as the id: the service's routes list it
    listed = requests.get(admin + "/services/%s/routes" % svc["name"], timeout=T).json()["data"]
    assert [x["id"] for x in listed] == [body["id"]]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_route_with_an_unknown_service_name_is_unresolved(admin, enc):
    r = send(admin, "POST", "/routes", {"methods": ["GET"], "service": {"name": "non-existing"}},
             enc)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "code": 13, "name": "foreign keys unresolved",
        "message": "foreign key unresolved (service.name: %s)" % (UNRESOLVED % "non-existing"),
        "fields": {"service": {"name": UNRESOLVED % "non-existing"}}}


@pytest.mark.parametrize("enc", ["json", "form"])
def test_patch_and_put_resolve_the_service_by_name(admin, enc):
    svc = new_service(admin, name=uniq("patchname"))
    rt = new_route(admin)
    r = send(admin, "PATCH", "/routes/" + rt["id"], {"service": {"name": svc["name"]}}, enc)
    assert r.status_code == 200, r.text
    assert r.json()["service"] == {"id": svc["id"]}
    name = uniq("putroute")
    r = send(admin, "PUT", "/routes/" + name, {"paths": ["/p"], "service": {"name": svc["name"]}},
             enc)
    assert r.status_code == 200, r.text
    assert r.json()["service"] == {"id": svc["id"]} and r.json()["name"] == name
    r = send(admin, "PATCH", "/routes/" + rt["id"], {"service": {"name": "nope-nope"}}, enc)
    assert r.status_code == 400 and r.json()["code"] == 13
    assert requests.get(admin + "/routes/" + rt["id"], timeout=T).json()["service"] == \
        {"id": svc["id"]}


def test_route_with_an_invalid_service_name_reports_the_name(admin):
    """A name the services schema refuses is not looked up: Kong reports it under service.name
    next to the route's own errors, instead of the missing id."""
    r = send(admin, "POST", "/routes", {"methods": ["GET"], "protocols": ["foo", "http"],
                                        "service": {"name": "\\o/"}})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == 2 and body["name"] == "schema violation"
    name_err = requests.post(admin + "/services", json={"name": "\\o/", "host": "h"},
                             timeout=T).json()["fields"]["name"]
    assert body["fields"]["service"] == {"name": name_err}
    assert body["message"].startswith("2 schema violations (protocols.1: ")
    assert body["message"].endswith("; service.name: %s)" % name_err)
    # without any key of the service, the id is what is missing (unchanged)
    for ref in ({"name": None}, {"protocol": "http"}):
        r = send(admin, "POST", "/routes", {"methods": ["GET"], "service": ref})
        assert r.status_code == 400
        assert r.json() == {"code": 2, "name": "schema violation",
                            "message": "schema violation (service.id: missing primary key)",
                            "fields": {"service": {"id": "missing primary key"}}}



# ---- /routes/{route}/service: the service through its route (endpoints.lua foreign entity) ----

@pytest.mark.parametrize("enc", ENCODINGS)
def test_patch_service_through_its_route(admin, enc):
    svc = new_service(admin, name=uniq("viaroute"), path="/")
    rt = new_route(admin, name=uniq("rt"), service={"id": svc["id"]})
    edited = "edited-" + svc["name"]
    for key in (rt["id"], rt["name"]):
        r = send(admin, "PATCH", "/routes/%s/service" % key,
                 {"name": edited, "host": "edited.example.com", "path": None}, enc)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["id"], body["name"], body["host"], body["path"]) == \
            (svc["id"], edited, "edited.example.com", None)
        assert requests.get(admin + "/services/" + svc["id"], timeout=T).json() == body
    # the url shorthand
    r = send(admin, "PATCH", "/routes/%s/service" % rt["id"],
             {"url": "http://edited2.com:1234/foo"}, enc)
    assert r.status_code == 200, r.text
    assert (r.json()["host"], r.json()["port"], r.json()["path"]) == ("edited2.com", 1234, "/foo")
    # invalid input is the service's schema violation
    r = send(admin, "PATCH", "/routes/%s/service" % rt["id"], {"connect_timeout": "foobar"}, enc)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "name": "schema violation",
                        "message": "schema violation (connect_timeout: expected an integer)",
                        "fields": {"connect_timeout": "expected an integer"}}
    # no such route; a route without a service
    r = send(admin, "PATCH", "/routes/%s/service" % uuid.uuid4(), {"name": "x"}, enc)
    assert r.status_code == 404 and r.json() == {"message": "Not found"}
    bare = new_route(admin)
    r = send(admin, "PATCH", "/routes/%s/service" % bare["id"], {"name": "x"}, enc)
    assert r.status_code == 404


@pytest.mark.parametrize("enc", ENCODINGS)
def test_put_service_through_its_route(admin, enc):
    svc = new_service(admin, name=uniq("putvia"), path="/", retries=2)
    rt = new_route(admin, name=uniq("rt"), service={"id": svc["id"]})
    edited = "edited-" + svc["name"]
    r = send(admin, "PUT", "/routes/%s/service" % rt["name"],
             {"name": edited, "host": "edited.example.com", "path": None}, enc)
    assert r.status_code == 200, r.text
    body = r.json()
    # a full replace of that same service: fields not given are back to their defaults
    assert (body["id"], body["name"], body["host"], body["retries"]) == \
        (svc["id"], edited, "edited.example.com", 5)
    r = send(admin, "PUT", "/routes/%s/service" % rt["id"], {"url": "http://edited2.com:1234/foo"},
             enc)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["host"], r.json()["port"], r.json()["path"]) == \
        (svc["id"], "edited2.com", 1234, "/foo")
    # the full replace still needs a host
    r = send(admin, "PUT", "/routes/%s/service" % rt["id"], {"connect_timeout": "foobar"}, enc)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "name": "schema violation",
                        "message": "2 schema violations (connect_timeout: expected an integer; "
                                   "host: required field missing)",
                        "fields": {"connect_timeout": "expected an integer",
                                   "host": "required field missing"}}
    r = send(admin, "PUT", "/routes/%s/service" % uuid.uuid4(), {"host": "edited.com"}, enc)
    assert r.status_code == 404


def test_put_service_through_a_route_without_one_creates_and_links_it(admin):
    rt = new_route(admin)
    assert rt["service"] is None
    r = send(admin, "PUT", "/routes/%s/service" % rt["id"], {"url": "http://httpbin.example"})
    assert r.status_code == 200, r.text
    svc = r.json()
    assert svc["host"] == "httpbin.example"
    assert requests.get(admin + "/services/" + svc["id"], timeout=T).json() == svc
    assert requests.get(admin + "/routes/" + rt["id"], timeout=T).json()["service"] == \
        {"id": svc["id"]}
    assert requests.get(admin + "/routes/%s/service" % rt["id"], timeout=T).json() == svc


def test_delete_and_post_on_the_service_of_a_route(admin):
    rt = new_route(admin, service={"id": new_service(admin)["id"]})
    r = requests.delete(admin + "/routes/%s/service" % rt["id"], timeout=T)
    assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}
    assert requests.delete(admin + "/routes/%s/service" % uuid.uuid4(), timeout=T).status_code \
        == 404
    assert requests.delete(admin + "/routes/in-existent-route/service", timeout=T).status_code \
        == 404
    # no POST handler on that path: 405 whether or not the route exists (lapis)
    for key in (rt["id"], uuid.uuid4()):
        r = requests.post(admin + "/routes/%s/service" % key, json={"host": "x"}, timeout=T)
        assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}


# ---- /services/{service}/routes/{route} -----------------------------------------------------

def test_nested_route_delete_put_and_patch(admin):
    s1, s2 = new_service(admin, name=uniq("s1")), new_service(admin, name=uniq("s2"))
    rt = new_route(admin, name=uniq("nested"), service={"id": s1["id"]})
    # DELETE of a route that is not there: the nested path looks it up first (404), unlike
    # DELETE /routes/{route} (204)
    r = requests.delete(admin + "/services/%s/routes/%s" % (s1["id"], uuid.uuid4()), timeout=T)
    assert r.status_code == 404 and r.json() == {"message": "Not found"}
    assert requests.delete(admin + "/services/%s/routes/%s" % (s1["name"], uniq("none")),
                           timeout=T).status_code == 404
    # PUT upserts the route with the URL's service, moving it from its former one
    r = requests.put(admin + "/services/%s/routes/%s" % (s2["name"], rt["name"]),
                     json={"paths": ["/moved"]}, timeout=T)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["service"], r.json()["paths"]) == \
        (rt["id"], {"id": s2["id"]}, ["/moved"])
    assert requests.get(admin + "/services/%s/routes" % s1["id"], timeout=T).json()["data"] == []
    # PATCH keeps a service named in the body (Kong only fills the URL's when none is given)
    r = requests.patch(admin + "/services/%s/routes/%s" % (s2["id"], rt["id"]),
                       json={"service": {"id": s1["id"]}}, timeout=T)
    assert r.status_code == 200, r.text
    assert r.json()["service"] == {"id": s1["id"]}
    # and on the wrong service the route is not found
    r = requests.patch(admin + "/services/%s/routes/%s" % (s2["id"], rt["id"]),
                       json={"paths": ["/x"]}, timeout=T)
    assert r.status_code == 404


# ---- pagination arguments -------------------------------------------------------------------

def test_invalid_size_messages(admin):
    """Kong first converts size with tonumber(): a value that is no number has its own message;
    a number out of range or not integral is the DAO's."""
    for path in ("/routes", "/services", "/services/%s/routes" % new_service(admin)["id"]):
        for size in ("x", "potato", "", "1O"):
            r = requests.get(admin + path, params={"size": size}, timeout=T)
            assert r.status_code == 400, (path, size)
            assert r.json() == {"code": 9, "name": "invalid size",
                                "message": "size must be a number"}, (path, size)
        for size in ("0", "1001", "1.5", "-3"):
            r = requests.get(admin + path, params={"size": size}, timeout=T)
            assert r.status_code == 400
            assert r.json() == {"code": 9, "name": "invalid size",
                                "message": "size must be an integer between 1 and 1000"}
        for size in ("3", " 3", "3.0", "0x3", "3e0"):
            r = requests.get(admin + path, params={"size": size}, timeout=T)
            assert r.status_code == 200, (size, r.text)


# ---- error bodies: element errors --------------------------------------------------------------

@pytest.mark.parametrize("enc", ["json", "form"])
def test_element_errors_end_at_the_last_invalid_element(admin, enc):
    """Kong's per-element errors are a Lua table by position, written by cjson as an array that
    stops at the last failing element: ["msg"] for the first of two protocols, [null, "msg"] for
    the second."""
    expected = requests.post(admin + "/services", json={"host": "h", "protocol": "foo"},
                             timeout=T).json()["fields"]["protocol"]
    want = {"code": 2, "name": "schema violation",
            "message": "schema violation (protocols.1: %s)" % expected,
            "fields": {"protocols": [expected]}}
    r = send(admin, "POST", "/routes", {"methods": ["GET"], "protocols": ["foo", "http"]}, enc)
    assert r.status_code == 400 and r.json() == want
    r = send(admin, "PUT", "/routes/" + str(uuid.uuid4()),
             {"methods": ["GET"], "protocols": ["foo", "http"]}, enc)
    assert r.status_code == 400 and r.json() == want
    r = send(admin, "POST", "/routes", {"methods": ["GET"], "protocols": ["http", "foo"]}, enc)
    assert r.status_code == 400
    assert r.json()["fields"] == {"protocols": [None, expected]}
    r = send(admin, "POST", "/schemas/routes/validate",
             {"methods": ["GET"], "protocols": ["foo", "http"]})
    assert r.status_code == 400 and r.json() == want
