# SPDX-License-Identifier: Apache-2.0
"""The first part of the Admin API (issue #3) in DB-less mode: node endpoints, read-only services and
routes from the running configuration, Kong's 405 for writes, and POST/GET /config replacing the
whole configuration atomically (kong.md §2.2, §2.5, §6.2)."""

import json

import pytest
import requests

from lib.sluice import kong, service

T = 10


@pytest.fixture
def admin(upstream, sluice_factory):
    s = sluice_factory(kong(service("echo", upstream.port,
                                    [{"name": "r1", "paths": ["/one"], "tags": ["t1"]}],
                                    tags=["blue"])),
                       conf={"admin_listen": "auto"})
    return s, s.admin_url("").rstrip("/"), upstream


def test_root_reports_kong_level_and_sluice_version(admin):
    _, a, _ = admin
    r = requests.get(a + "/", timeout=T)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert body["version"].startswith("3.")
    assert body["sluice_version"] == "0.1.0"
    assert body["edition"] == "community"
    assert body["configuration"]["database"] == "off"
    assert "pg_password" not in json.dumps(body)


def test_status_counts_requests_and_reports_hash(admin):
    s, a, _ = admin
    before = requests.get(a + "/status", timeout=T).json()
    assert len(before["configuration_hash"]) == 32
    for _ in range(3):
        requests.get(s.url("/one"), timeout=T)
    after = requests.get(a + "/status", timeout=T).json()
    assert after["server"]["total_requests"] >= before["server"]["total_requests"] + 3


def test_services_and_routes_read_only(admin):
    _, a, _ = admin
    svcs = requests.get(a + "/services", timeout=T).json()
    assert svcs["next"] is None and len(svcs["data"]) == 1
    svc = svcs["data"][0]
    assert svc["name"] == "echo" and svc["path"] is None and svc["retries"] == 5
    assert requests.get(a + "/services/echo", timeout=T).json()["id"] == svc["id"]
    assert requests.get(a + "/services/" + svc["id"], timeout=T).json()["name"] == "echo"
    routes = requests.get(a + "/services/echo/routes", timeout=T).json()["data"]
    assert [r["name"] for r in routes] == ["r1"]
    assert routes[0]["service"] == {"id": svc["id"]}
    assert requests.get(a + "/routes/r1/service", timeout=T).json()["id"] == svc["id"]
    assert requests.get(a + "/routes/nope", timeout=T).status_code == 404
    assert requests.get(a + "/nowhere", timeout=T).json() == {"message": "Not found"}


def test_tag_filters(admin):
    _, a, _ = admin
    assert len(requests.get(a + "/services?tags=blue", timeout=T).json()["data"]) == 1
    assert len(requests.get(a + "/services?tags=red", timeout=T).json()["data"]) == 0
    assert len(requests.get(a + "/services?tags=red/blue", timeout=T).json()["data"]) == 1
    assert len(requests.get(a + "/services?tags=red,blue", timeout=T).json()["data"]) == 0


def test_invalid_size_and_offset(admin):
    _, a, _ = admin
    r = requests.get(a + "/services?size=0", timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 9, "name": "invalid size",
                        "message": "size must be an integer between 1 and 1000"}
    r = requests.get(a + "/services?offset=%25%25", timeout=T)
    assert r.status_code == 400 and r.json()["code"] == 7


def test_writes_are_405_in_dbless_mode(admin):
    _, a, _ = admin
    r = requests.post(a + "/services", data={"name": "x", "host": "h"}, timeout=T)
    assert r.status_code == 405
    assert r.json() == {"code": 12, "name": "operation unsupported",
                        "message": "cannot create 'services' entities when not using a database"}
    assert requests.delete(a + "/services/echo", timeout=T).status_code == 405
    assert requests.get(a + "/services/echo", timeout=T).status_code == 200


def test_options_and_cors(admin):
    _, a, _ = admin
    r = requests.options(a + "/services", headers={"Origin": "http://ui.test"}, timeout=T)
    assert r.status_code == 204
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Allow-Origin"] == "http://ui.test"


def test_post_config_replaces_everything(admin):
    s, a, up = admin
    assert requests.get(s.url("/one"), timeout=T).status_code == 200
    doc = {"_format_version": "3.0",
           "services": [{"name": "other", "url": "http://127.0.0.1:%d" % up.port,
                         "routes": [{"name": "two", "paths": ["/two"]}]}]}
    r = requests.post(a + "/config", json=doc, timeout=T)
    assert r.status_code == 201, r.text
    assert [x["name"] for x in r.json()["services"].values()] == ["other"]
    # read-your-writes: the very next proxied request sees the new configuration
    assert requests.get(s.url("/two"), timeout=T).status_code == 200
    assert requests.get(s.url("/one"), timeout=T).status_code == 404
    # the export loads back unchanged, and check_hash spots an unchanged config
    exported = requests.get(a + "/config", timeout=T).json()["config"]
    r = requests.post(a + "/config", data=exported, headers={"Content-Type": "application/yaml"},
                      timeout=T)
    assert r.status_code == 201, r.text
    r = requests.post(a + "/config?check_hash=1", data=exported,
                      headers={"Content-Type": "application/yaml"}, timeout=T)
    assert r.status_code == 304


def test_rejected_config_changes_nothing(admin):
    s, a, up = admin
    bad = {"_format_version": "3.0",
           "services": [{"name": "x", "port": 99999, "routes": [{"paths": ["nope"]}]}]}
    r = requests.post(a + "/config", json=bad, timeout=T)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 14 and body["name"] == "invalid declarative configuration"
    svc_errors = body["fields"]["services"][0]
    assert svc_errors["host"] == "required field missing"
    assert svc_errors["port"] == "value should be between 0 and 65535"
    assert svc_errors["routes"][0]["paths"][0].startswith("should start with: /")
    assert requests.get(s.url("/one"), timeout=T).status_code == 200
    r = requests.post(a + "/config", data="{", headers={"Content-Type": "application/json"},
                      timeout=T)
    assert r.status_code == 400 and r.json() == {"message": "Cannot parse JSON body"}
    r = requests.post(a + "/config", data="x", headers={"Content-Type": "text/csv"}, timeout=T)
    assert r.status_code == 415


def test_post_config_flatten_errors(admin):
    _, a, _ = admin
    bad = {"_format_version": "3.0",
           "services": [{"name": "x", "port": 99999, "routes": [{"name": "rr", "paths": ["no"]}]}]}
    r = requests.post(a + "/config?flatten_errors=1", json=bad, timeout=T)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 14
    items = {(i["entity_type"], i["entity_name"]): i for i in body["flattened_errors"]}
    svc = items[("service", "x")]
    assert {"type": "field", "field": "host", "message": "required field missing"} in svc["errors"]
    route = items[("route", "rr")]
    assert route["errors"][0]["field"] == "paths.1"


def test_pushed_config_survives_a_restart(tmp_path, upstream):
    """Kong keeps a POST /config in LMDB (kong.md §6.2); Sluice keeps the accepted text verbatim in
    <prefix>/dbless.config (mode 0600: it may hold credentials) and serves it again after a restart
    when no declarative_config is set, with the same configuration hash."""
    import os
    import stat

    from lib.sluice import Sluice, dump_yaml

    s = Sluice(tmp_path, kong(), conf={"declarative_config": None, "admin_listen": "auto"})
    a = s.admin_url("").rstrip("/")
    assert requests.get(s.url("/kept"), timeout=T).status_code == 404
    text = dump_yaml(kong(service("kept", upstream.port, [{"name": "k", "paths": ["/kept"]}])))
    r = requests.post(a + "/config", data=text, headers={"Content-Type": "application/yaml"},
                      timeout=T)
    assert r.status_code == 201, r.text
    h = requests.get(a + "/status", timeout=T).json()["configuration_hash"]
    kept = os.path.join(s.prefix, "dbless.config")
    assert open(kept).read() == text
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    # a rejected configuration does not replace the kept one
    r = requests.post(a + "/config", json={"_format_version": "3.0", "services": [{"port": 1}]},
                      timeout=T)
    assert r.status_code == 400
    assert open(kept).read() == text

    s.stop()
    s.start()
    a = s.admin_url("").rstrip("/")
    assert requests.get(s.url("/kept/x"), timeout=T).status_code == 200
    assert requests.get(a + "/status", timeout=T).json()["configuration_hash"] == h
    r = requests.post(a + "/config?check_hash=1", data=text,
                      headers={"Content-Type": "application/yaml"}, timeout=T)
    assert r.status_code == 304
    s.stop()


def test_declarative_config_file_wins_over_the_kept_config(tmp_path, upstream):
    from lib.sluice import Sluice, dump_yaml

    s = Sluice(tmp_path, kong(service("file", upstream.port, [{"name": "f", "paths": ["/file"]}])),
               conf={"admin_listen": "auto"})
    a = s.admin_url("").rstrip("/")
    text = dump_yaml(kong(service("pushed", upstream.port, [{"name": "p", "paths": ["/pushed"]}])))
    r = requests.post(a + "/config", data=text, headers={"Content-Type": "application/yaml"},
                      timeout=T)
    assert r.status_code == 201
    assert requests.get(s.url("/pushed"), timeout=T).status_code == 200
    s.stop()
    s.start()
    assert requests.get(s.url("/file"), timeout=T).status_code == 200
    assert requests.get(s.url("/pushed"), timeout=T).status_code == 404
    s.stop()


def test_invalid_name_in_the_url_is_invalid_unique_name_not_404(admin):
    """As with a database (crud.c check_url_key), a URL key that is not a UUID is a name that
    Kong's select_by_name validates first: 400 code 10 with the validator's message, not 404. A
    valid name that names nothing stays 404."""
    _, a, _ = admin
    for path in ("/services/a%20b", "/services/a%20b/routes", "/services/echo/routes/a%20b",
                 "/routes/a%20b", "/routes/a%20b/service"):
        r = requests.get(a + path, timeout=T)
        assert r.status_code == 400, (path, r.text)
        body = r.json()
        assert body["code"] == 10 and body["name"] == "invalid unique name", (path, body)
        assert "a b" in body["message"], body
    svc = requests.get(a + "/services/echo", timeout=T).json()
    assert requests.get(a + "/services/other", timeout=T).status_code == 404
    assert requests.get(a + "/services/" + svc["id"], timeout=T).status_code == 200
    # writes are refused as before, whatever the key
    r = requests.patch(a + "/services/a%20b", json={}, timeout=T)
    assert r.status_code == 405 and r.json()["code"] == 12
