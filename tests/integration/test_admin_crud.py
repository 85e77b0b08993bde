# SPDX-License-Identifier: Apache-2.0
"""Admin API entity endpoints on the SQLite store (issue #3, kong.md §2.1-2.5): create, read, upsert,
merge and delete by id or endpoint key, nested paths, Kong's error bodies, pagination, tags, form
input, persistence across restarts, and read-your-writes on the proxy."""

import requests

from lib.sluice import Sluice, kong

T = 10


def start(tmp_path, name="crud"):
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "admin_listen": "auto"}, name=name)
    return s, s.admin_url("").rstrip("/")


def test_service_route_lifecycle_and_read_your_writes(tmp_path, upstream):
    s, a = start(tmp_path)
    try:
        r = requests.post(a + "/services", data={"name": "svc",
                                                 "url": "http://127.0.0.1:%d/base" % upstream.port},
                          timeout=T)
        assert r.status_code == 201, r.text
        svc = r.json()
        assert (svc["protocol"], svc["host"], svc["port"], svc["path"]) == \
            ("http", "127.0.0.1", upstream.port, "/base")
        assert svc["client_certificate"] is None and svc["enabled"] is True
        r = requests.post(a + "/services/svc/routes", data={"name": "rt", "paths[]": "/r"},
                          timeout=T)
        assert r.status_code == 201, r.text
        assert r.json()["service"] == {"id": svc["id"]}
        # the proxy serves a route created one request earlier
        p = requests.get(s.url("/r/x?q=1"), timeout=T)
        assert p.status_code == 200
        assert upstream.requests[-1].target == "/base/x?q=1"
        assert requests.get(a + "/routes/rt/service", timeout=T).json()["id"] == svc["id"]
        assert requests.get(a + "/services/%s/routes/rt" % svc["id"], timeout=T).status_code == 200
        # PATCH merges, PUT replaces (fields not given go back to defaults)
        r = requests.patch(a + "/services/svc", json={"retries": 2}, timeout=T)
        assert r.status_code == 200 and r.json()["retries"] == 2 and r.json()["path"] == "/base"
        r = requests.put(a + "/services/svc", json={"host": "127.0.0.1", "port": upstream.port},
                         timeout=T)
        assert r.status_code == 200
        body = r.json()
        assert body["id"] == svc["id"] and body["retries"] == 5 and body["path"] is None
        assert body["name"] == "svc"
        # delete order: the route first (services restrict), DELETE of a missing entity is 204
        r = requests.delete(a + "/services/svc", timeout=T)
        assert r.status_code == 400
        assert r.json()["message"] == "an existing 'routes' entity references this 'services' entity"
        assert requests.delete(a + "/routes/rt", timeout=T).status_code == 204
        assert requests.get(s.url("/r/x"), timeout=T).status_code == 404
        assert requests.delete(a + "/services/svc", timeout=T).status_code == 204
        assert requests.delete(a + "/services/svc", timeout=T).status_code == 204
        assert requests.get(a + "/services/svc", timeout=T).status_code == 404
    finally:
        s.stop()


def test_put_creates_by_name_and_by_uuid(tmp_path):
    s, a = start(tmp_path)
    try:
        r = requests.put(a + "/consumers/alice", json={"custom_id": "c1"}, timeout=T)
        assert r.status_code == 200 and r.json()["username"] == "alice"
        uid = "6a8f3e4c-1d2b-4c5e-9f00-112233445566"
        r = requests.put(a + "/consumers/" + uid, json={"username": "bob"}, timeout=T)
        assert r.status_code == 200 and r.json()["id"] == uid
        assert requests.get(a + "/consumers/bob", timeout=T).json()["id"] == uid
    finally:
        s.stop()


def test_kong_error_bodies(tmp_path):
    s, a = start(tmp_path)
    try:
        r = requests.post(a + "/services", json={"port": 99999}, timeout=T)
        assert r.status_code == 400
        assert r.json() == {"code": 2, "name": "schema violation",
                            "message": "2 schema violations (host: required field missing; "
                                       "port: value should be between 0 and 65535)",
                            "fields": {"host": "required field missing",
                                       "port": "value should be between 0 and 65535"}}
        assert requests.post(a + "/services", json={"name": "x", "host": "h"},
                             timeout=T).status_code == 201
        r = requests.post(a + "/services", json={"name": "x", "host": "h"}, timeout=T)
        assert r.status_code == 409
        assert r.json()["message"] == "UNIQUE violation detected on '{name=\"x\"}'"
        missing = "00000000-0000-4000-8000-000000000000"
        r = requests.post(a + "/routes", json={"paths": ["/a"], "service": {"id": missing}},
                          timeout=T)
        assert r.status_code == 400 and r.json()["code"] == 4
        r = requests.post(a + "/consumers", json={}, timeout=T)
        assert r.status_code == 400
        assert r.json()["fields"]["@entity"] == [
            "at least one of these fields must be non-empty: 'custom_id', 'username'"]
        r = requests.post(a + "/services", data="{", headers={"Content-Type": "application/json"},
                          timeout=T)
        assert r.status_code == 400 and r.json() == {"message": "Cannot parse JSON body"}
        r = requests.post(a + "/services", data="x", headers={"Content-Type": "text/plain"},
                          timeout=T)
        assert r.status_code == 415
        assert requests.get(a + "/services?size=1001", timeout=T).json()["code"] == 9
        assert requests.get(a + "/schemas/nope", timeout=T).json() == \
            {"message": "No entity named 'nope'"}
        assert requests.get(a + "/schemas/routes", timeout=T).json()["fields"]
    finally:
        s.stop()


def test_pagination_walk_and_tags(tmp_path):
    s, a = start(tmp_path)
    try:
        for i in range(25):
            tags = ["even"] if i % 2 == 0 else ["odd"]
            r = requests.post(a + "/consumers", json={"username": "u%02d" % i, "tags": tags},
                              timeout=T)
            assert r.status_code == 201
        seen, url = [], a + "/consumers?size=10"
        while url:
            page = requests.get(url, timeout=T).json()
            seen += [c["username"] for c in page["data"]]
            url = a + page["next"] if page["next"] else None
        assert sorted(seen) == ["u%02d" % i for i in range(25)] and len(seen) == 25
        evens = requests.get(a + "/consumers?tags=even&size=100", timeout=T).json()["data"]
        assert len(evens) == 13
        both = requests.get(a + "/consumers?tags=even/odd", timeout=T).json()["data"]
        assert len(both) == 25
    finally:
        s.stop()


def test_survives_restart(tmp_path):
    s, a = start(tmp_path)
    requests.post(a + "/services", json={"name": "keep", "host": "example.com"}, timeout=T)
    s.stop()
    s.start()
    try:
        assert requests.get(a + "/services/keep", timeout=T).json()["host"] == "example.com"
    finally:
        s.stop()


def test_node_endpoints_with_a_database(tmp_path):
    s, a = start(tmp_path)
    try:
        st = requests.get(a + "/status", timeout=T).json()
        assert st["database"] == {"reachable": True}
        eps = requests.get(a + "/endpoints", timeout=T).json()["data"]
        assert "/services/{services}/routes" in eps and "/routes/{routes}/service" in eps
        assert eps == sorted(eps)
        assert requests.get(a + "/plugins/enabled", timeout=T).json() == {"enabled_plugins": []}
        r = requests.get(a + "/schemas/plugins/key-auth", timeout=T)
        assert r.status_code == 404 and r.json() == {"message": "No plugin named 'key-auth'"}
        r = requests.post(a + "/schemas/services/validate", json={"host": "example.com"},
                          timeout=T)
        assert r.status_code == 200
        assert r.json() == {"message": "schema validation successful"}
        r = requests.post(a + "/schemas/services/validate", json={"port": 1}, timeout=T)
        assert r.status_code == 400 and r.json()["fields"]["host"] == "required field missing"
        assert requests.get(a + "/services", timeout=T).json()["data"] == []  # nothing stored
        requests.put(a + "/consumers/carol", json={"custom_id": "c-9", "tags": ["vip"]},
                     timeout=T)
        r = requests.get(a + "/consumers?custom_id=c-9", timeout=T).json()
        assert [c["username"] for c in r["data"]] == ["carol"] and r["next"] is None
        assert requests.get(a + "/consumers?custom_id=", timeout=T).status_code == 400
        tags = requests.get(a + "/tags/vip", timeout=T).json()["data"]
        assert tags[0]["entity_name"] == "consumers" and tags[0]["tag"] == "vip"
    finally:
        s.stop()


def test_multipart_and_form_conventions(tmp_path):
    s, a = start(tmp_path)
    try:
        files = {"name": (None, "mp"), "host": (None, "example.com"), "port": (None, "8080"),
                 "tags[]": (None, "one")}
        r = requests.post(a + "/services", files=files, timeout=T)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["port"] == 8080 and body["tags"] == ["one"]
        # form: repeated keys make arrays, numbers and booleans inferred from the schema
        r = requests.post(a + "/services/mp/routes",
                          data=[("paths", "/a"), ("paths", "/b"), ("strip_path", "false"),
                                ("regex_priority", "3"), ("headers.x-env[]", "prod")],
                          timeout=T)
        assert r.status_code == 201, r.text
        rt = r.json()
        assert rt["paths"] == ["/a", "/b"] and rt["strip_path"] is False
        assert rt["regex_priority"] == 3 and rt["headers"] == {"x-env": ["prod"]}
    finally:
        s.stop()


def test_writes_through_the_mirror_stay_consistent(tmp_path, upstream):
    """Every write recompiles from the in-memory mirror of the store: a disabled service's routes
    leave the router, a failed write leaves the served configuration as it was, and what is served
    after many writes is what a restart (a full read of the store) serves."""
    s, a = start(tmp_path)
    try:
        url = "http://127.0.0.1:%d" % upstream.port
        assert requests.post(a + "/services", json={"name": "s", "url": url},
                             timeout=T).status_code == 201
        for i in range(20):
            r = requests.post(a + "/services/s/routes", json={"name": "r%d" % i,
                                                             "paths": ["/p%d" % i]}, timeout=T)
            assert r.status_code == 201, r.text
        assert requests.get(s.url("/p7"), timeout=T).status_code == 200
        # disabled: its routes leave the router; enabled again: back
        assert requests.patch(a + "/services/s", json={"enabled": False},
                              timeout=T).status_code == 200
        assert requests.get(s.url("/p7"), timeout=T).status_code == 404
        assert requests.patch(a + "/services/s", json={"enabled": True},
                              timeout=T).status_code == 200
        assert requests.get(s.url("/p7"), timeout=T).status_code == 200
        # a refused write (unique name) changes nothing that is served
        r = requests.post(a + "/services/s/routes", json={"name": "r3", "paths": ["/dup"]},
                          timeout=T)
        assert r.status_code == 409
        assert requests.get(s.url("/dup"), timeout=T).status_code == 404
        # move, rename and delete some routes
        assert requests.patch(a + "/routes/r1", json={"paths": ["/moved"]},
                              timeout=T).status_code == 200
        sid = requests.get(a + "/services/s", timeout=T).json()["id"]
        assert requests.put(a + "/routes/r2", json={"paths": ["/put"], "service": {"id": sid}},
                            timeout=T).status_code == 200
        assert requests.delete(a + "/routes/r5", timeout=T).status_code == 204
        served = {p: requests.get(s.url(p), timeout=T).status_code
                  for p in ["/p1", "/moved", "/p2", "/put", "/p5", "/p6", "/p19"]}
        assert served == {"/p1": 404, "/moved": 200, "/p2": 404, "/put": 200, "/p5": 404,
                          "/p6": 200, "/p19": 200}
        s.stop()
        s.start()
        after = {p: requests.get(s.url(p), timeout=T).status_code for p in served}
        assert after == served
    finally:
        s.stop()
