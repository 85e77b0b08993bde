# SPDX-License-Identifier: Apache-2.0
"""POST /config with a JSON body that is the declarative document itself: the Admin API hands the
tree it parsed to the loader instead of the loader parsing the text again (sl_declarative_opts
.parsed). Whatever the document, that must answer exactly what the loader's own parse of the same
text answers, which the same bytes posted as YAML (JSON is YAML) and as a {"config": text} wrapper
still go through: status, entities, Kong's error bodies (nested and flattened), the served text and
the configuration hash."""

import hashlib
import json
import re

import requests

from lib.sluice import kong

T = 10

VALID = {
    "_format_version": "3.0",
    "services": [
        {"name": "s1", "url": "https://example.com:8443/base", "retries": 3, "tags": ["a"],
         "routes": [
             {"name": "r1", "paths": ["/a", "~/r/(?<x>\\d+)$"], "methods": ["GET"],
              "hosts": ["a.example.com", "*.wild.com"], "headers": {"x-foo": ["bar"]},
              "regex_priority": 2.0},
             {"name": "r2", "protocols": ["tcp", "tls"], "snis": ["a.com"],
              "sources": [{"ip": "10.0.0.0/8"}, {"port": 1234}, {"port": 80, "ip": "1.2.3.4"}],
              "destinations": [{"ip": "2.2.2.2", "port": 9000}]}]},
        {"name": "s2", "host": "up1", "protocol": "grpc", "connect_timeout": 1000.0},
    ],
    "upstreams": [
        {"name": "up1", "hash_on": "header", "hash_on_header": "x-user", "slots": 100,
         "healthchecks": {"passive": {"unhealthy": {"http_failures": 2}},
                          "active": {"type": "https", "healthy": {"http_statuses": [200]}},
                          "threshold": 1.5},
         "targets": [{"target": "1.2.3.4:80", "weight": 50}, {"target": "example.com"}]},
    ],
    "consumers": [{"username": "bob", "custom_id": "c1"}, {"custom_id": "c2"}],
    "routes": [{"name": "r3", "service": "s2", "paths": ["/g"], "protocols": ["grpc"]}],
}

# invalid documents whose keys repeat, shadow or nearly match field names, at the top, in nested
# records and in arrays of records, in and out of schema order
INVALID = [
    {"_format_version": "3.0",
     "services": [{"name": "x", "host": 5, "hosts": ["h"], "": 1, "retrie": 2, "port": "80",
                   "routes": [{"paths": ["/p"], "protocols": ["tcp"], "path": "/x",
                               "sources": [{"ip": "1.2.3.4", "ipp": 1, "port": "x"},
                                           {"port": 70000, "sources": []}, 5],
                               "destinations": [{"": "", "ip": "nope"}]}]}]},
    {"_format_version": "3.0",
     "upstreams": [{"name": "u", "zz": 1,
                    "healthchecks": {"active": {"healthy": {"healthy": 1, "interval": "x",
                                                            "http_statuses": [1, 200]},
                                                "active": {}, "type": "udp"},
                                     "passive": {"unhealthy": {"timeouts": -1}},
                                     "threshold": "x", "healthchecks": 2},
                    "targets": [{"target": "", "weight": 70000, "target ": "a"}]}]},
    {"_format_version": "3.0",
     "consumers": [{"tags": ["t"], "custom_id": 5, "username": ""}, {"usernam": "a"}],
     "routes": [{"name": "r", "service": "nope", "paths": ["/x"], "name ": 1}]},
]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stable(text):
    # timestamps are the load's own second; everything else (ids are UUIDv5) must match
    return re.sub(r'"(created_at|updated_at)":\s*[0-9.]+', r'"\1":0', text)


def _post(a, body, ctype, query=""):
    r = requests.post(a + "/config" + query, data=body, headers={"Content-Type": ctype},
                      timeout=T)
    return r.status_code, _stable(r.text)


def _served(a):
    cfg = requests.get(a + "/config", timeout=T).json()["config"]
    status = requests.get(a + "/status", timeout=T).json()
    return cfg, status.get("configuration_hash")


def test_json_body_answers_what_the_loader_parse_answers(sluice_factory):
    s = sluice_factory(kong(), conf={"admin_listen": "auto"})
    a = s.admin_url("").rstrip("/")
    for doc in [VALID] + INVALID:
        text = json.dumps(doc)
        for query in ("", "?flatten_errors=1"):
            via_json = _post(a, text, "application/json", query)
            served_json = _served(a)
            via_yaml = _post(a, text, "application/yaml", query)
            served_yaml = _served(a)
            via_wrap = _post(a, json.dumps({"config": text}), "application/json", query)
            assert via_json == via_yaml == via_wrap, (query, text)
            assert served_json == served_yaml, text
            if doc is VALID:
                assert via_json[0] == 201
                # the configuration hash is the raw body's
                assert served_json[1] == hashlib.md5(text.encode()).hexdigest()
                assert UUID.search(via_json[1])
            else:
                assert via_json[0] == 400


def test_the_201_body_and_the_export_carry_every_byte_back(sluice_factory):
    """POST /config's 201 body and GET /config's export are written as text entity by entity
    (src/admin/endpoints.c), the export escaped into its "config" string as it is dumped: values
    with quotes, backslashes, a tab, UTF-8 and U+2028 come back as they went in, and the export
    loads back to the same entities."""
    s = sluice_factory(kong(), conf={"admin_listen": "auto"})
    route = {"name": "r\u00e9", "paths": ["~/users/(?<id>\\d+)/\"q\""],
             "headers": {"x-v": ["~*^v[0-9]+$", "a\tb"]}, "tags": ["t\u2028u", "x\\y"]}
    doc = {"_format_version": "3.0",
           "services": [{"name": "s", "url": "http://127.0.0.1:9/", "routes": [route]}]}
    r = requests.post(s.admin_url("/config"), json=doc, timeout=T)
    assert r.status_code == 201, r.text
    (got,) = r.json()["routes"].values()
    assert (got["name"], got["paths"], got["headers"], got["tags"]) == (
        route["name"], route["paths"], route["headers"], route["tags"])
    (svc,) = r.json()["services"].values()
    assert got["service"] == {"id": svc["id"]}

    r = requests.get(s.admin_url("/config"), timeout=T)
    assert r.status_code == 200
    exported = json.loads(r.json()["config"])
    (er,) = exported["routes"]
    assert (er["name"], er["paths"], er["headers"], er["tags"]) == (
        route["name"], route["paths"], route["headers"], route["tags"])
    # it loads back, and serves the same route
    r = requests.post(s.admin_url("/config"), data={"config": r.json()["config"]}, timeout=T)
    assert r.status_code == 201, r.text
    assert list(r.json()["routes"]) == [got["id"]]
